-- SPEC §2 threat model, run as an attacker would: a SQL session acting as `authenticated` (what the
-- authenticator login or a dashboard user can do), with claims it sets itself. Shared by
-- security_vanilla.sql, security_host.sql and security_default_privileges.sql. Expects the host
-- rows of organization A (a000…), service svc-shelter, admin 1111…, editor 2222… of A.
-- 21 tests.
--
-- The trap: in pg_temp, domains named uuid, text, jsonb, boolean and timestamptz whose CHECK calls
-- the attacker's function, and temporary tables named like the host and pilot relations. The
-- function writes down the role it runs as while `attack.armed` is on. 0.2.0 ran it as the
-- extension's owner (a superuser) through is_admin(); every call below must leave only
-- `authenticated` in that record.

\set admin '{"role":"authenticated","sub":"11111111-1111-4111-8111-111111111111"}'
\set editor '{"role":"authenticated","sub":"22222222-2222-4222-8222-222222222222"}'
\set nobody '{"role":"authenticated","sub":"55555555-5555-4555-8555-555555555555"}'

set role authenticated;
create temp table pwned (who pg_catalog.text, via pg_catalog.text);
create temp table outcome (label pg_catalog.text, result pg_catalog.text);
grant all on pg_temp.pwned, pg_temp.outcome to public;
-- Evidence that survives a rollback: an error after the attacker's code (0.2.0 answered PT501
-- right after running it) rolls a table row back, never a sequence's nextval.
create sequence pg_temp.ran_as_attacker;
create sequence pg_temp.ran_as_other_role;
grant all on sequence pg_temp.ran_as_attacker, pg_temp.ran_as_other_role to public;
create function pg_temp.pwn(v pg_catalog.text) returns pg_catalog.bool
    language plpgsql as $$
begin
    if pg_catalog.current_setting('attack.armed', true) = 'on' then
        if current_user = 'authenticated' then
            perform pg_catalog.nextval('pg_temp.ran_as_attacker'::pg_catalog.regclass);
        else
            perform pg_catalog.nextval('pg_temp.ran_as_other_role'::pg_catalog.regclass);
        end if;
        insert into pg_temp.pwned values (current_user, pg_catalog.current_setting('attack.via', true));
    end if;
    return true;
end
$$;
create domain pg_temp.uuid as pg_catalog.text check (pg_temp.pwn(value));
create domain pg_temp.text as pg_catalog.text check (pg_temp.pwn(value));
create domain pg_temp.jsonb as pg_catalog.jsonb check (pg_temp.pwn(value::pg_catalog.text));
create domain pg_temp.boolean as pg_catalog.bool check (pg_temp.pwn(value::pg_catalog.text));
create domain pg_temp.timestamptz as pg_catalog.timestamptz check (pg_temp.pwn(value::pg_catalog.text));
-- Relations named as the extension's code names them, filled to the attacker's advantage.
create temp table app_admins (user_id pg_catalog.text);
insert into pg_temp.app_admins values ('55555555-5555-4555-8555-555555555555');
create temp table organization_members (organization_id pg_catalog.text, user_id pg_catalog.text, role pg_catalog.text);
insert into pg_temp.organization_members values ('a0000000-0000-4000-8000-00000000000a', '55555555-5555-4555-8555-555555555555', 'owner');
create temp table services (id pg_catalog.text);
insert into pg_temp.services values ('svc-attacker');
create temp table organizations (id pg_catalog.text);
create temp table pilot_contact_attempt_events (id pg_catalog.text);
-- Each attempt runs as the attacker; its outcome (ok, or the SQLSTATE) is written down.
create function pg_temp.attempt(label pg_catalog.text, claims pg_catalog.text, q pg_catalog.text) returns void
    language plpgsql as $$
begin
    perform pg_catalog.set_config('request.jwt.claims', claims, false);
    perform pg_catalog.set_config('attack.via', label, false);
    begin
        execute q;
        insert into pg_temp.outcome values (label, 'ok');
    exception when others then
        insert into pg_temp.outcome values (label, sqlstate);
    end;
end
$$;

-- The trap is armed: the attacker's own cast, where pg_temp comes first, runs the function.
set attack.armed = on;
set search_path = '';
select pg_temp.attempt('control', '{}', $q$select '00000000-0000-4000-8000-000000000000'::uuid$q$);
reset search_path;
-- Through the policies (is_admin, member_orgs), as a member and as an outsider.
select pg_temp.attempt('policies: editor reads', :'editor', $q$select pg_catalog.count(*) from public.pilot_contact_attempt_events$q$);
select pg_temp.attempt('policies: outsider reads', :'nobody', $q$select pg_catalog.count(*) from public.pilot_referral_events$q$);
select pg_temp.attempt('policies: editor writes directly', :'editor', $q$insert into public.pilot_service_scope (pilot_cycle_id, org_id, service_id, sla_tier)
    values ('sec-1', 'a0000000-0000-4000-8000-00000000000a', 'svc-shelter', 'crisis')$q$);
-- Through a recorder (validation, membership, host rows), as a writer and as an outsider.
select pg_temp.attempt('recorder: editor', :'editor', $q$select public.pilot_record_contact_attempt('{"pilot_cycle_id": "sec-1", "service_id": "svc-shelter",
    "recorded_by_org_id": "a0000000-0000-4000-8000-00000000000a", "entity_key_hash": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "attempt_channel": "phone", "attempt_outcome": "no_response", "attempted_at": "2026-06-01T10:00:00Z"}'::pg_catalog.jsonb)$q$);
select pg_temp.attempt('recorder: outsider', :'nobody', $q$select public.pilot_record_contact_attempt('{"pilot_cycle_id": "sec-1", "service_id": "svc-attacker",
    "recorded_by_org_id": "a0000000-0000-4000-8000-00000000000a", "entity_key_hash": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "attempt_channel": "phone", "attempt_outcome": "no_response", "attempted_at": "2026-06-01T10:00:00Z"}'::pg_catalog.jsonb)$q$);
-- Through the scorecard and bulk_update_service_status (its SECURITY DEFINER part).
select pg_temp.attempt('scorecard: editor', :'editor', $q$select public.pilot_scorecard('sec-1', 'a0000000-0000-4000-8000-00000000000a', '2026-07-01T00:00:00Z', 0.5, 3600)$q$);
select pg_temp.attempt('recompute: editor', :'editor', $q$select public.pilot_recompute_metrics('sec-1', 'a0000000-0000-4000-8000-00000000000a')$q$);
select pg_temp.attempt('bulk update: admin', :'admin', $q$select * from public.bulk_update_service_status(array['svc-shelter'], 'L2')$q$);
select pg_temp.attempt('bulk update: outsider', :'nobody', $q$select * from public.bulk_update_service_status(array['svc-shelter'], 'L0')$q$);
select pg_temp.attempt('validate', :'nobody', $q$select public.pilot_validate('service_scope', '{"notes": 1}'), public.pilot_disallowed_key_paths('{"a": {"notes": 1}}')$q$);
-- 0.3.0's entry points and their SECURITY DEFINER parts, under the same trap.
select pg_temp.attempt('new: admin reads', :'admin', $q$select pg_catalog.count(*), pg_catalog.cardinality(pilot_private.read_orgs('pilot_contact_attempt_events'))
    from public.pilot_contact_attempt_events$q$);
select pg_temp.attempt('new: configure', :'admin', $q$select public.pilot_configure('min_cell_size', '12')$q$);
select pg_temp.attempt('new: settings', :'editor', $q$select pg_catalog.count(*) from public.pilot_settings()$q$);
select pg_temp.attempt('new: retention', :'admin', $q$select pg_catalog.count(*) from public.pilot_apply_retention()$q$);
select pg_temp.attempt('new: cycle scorecard', :'admin', $q$select public.pilot_cycle_scorecard('sec-1')$q$);
select pg_temp.attempt('new: history', :'editor', $q$select pg_catalog.count(*) from public.pilot_metric_history('sec-1', 'a0000000-0000-4000-8000-00000000000a')$q$);
select pg_temp.attempt('new: register cycle', :'admin', $q$select public.pilot_register_cycle('{"id": "sec-2", "starts_on": "2026-01-01", "ends_on": "2026-12-31"}')$q$);
select pg_temp.attempt('new: keyed recorder', :'editor', $q$select pg_catalog.set_config('request.headers', '{"idempotency-key": "sec-k"}', true),
    public.pilot_record_service_scope('{"pilot_cycle_id": "sec-1", "org_id": "a0000000-0000-4000-8000-00000000000a", "service_id": "svc-shelter", "sla_tier": "crisis"}')$q$);
select pg_temp.attempt('new: page', :'editor', $q$select pg_catalog.length(public.pilot_scorecard_page('sec-1', 'a0000000-0000-4000-8000-00000000000a', '2026-07-01T00:00:00Z', 0.5, 3600))$q$);
select pg_temp.attempt('new: page, outsider', :'nobody', $q$select pg_catalog.length(public.pilot_scorecard_page('sec-1', 'a0000000-0000-4000-8000-00000000000a'))$q$);
set attack.armed = off;
reset role;

select is((select count(*)::int from pg_temp.pwned where via = 'control' and who = 'authenticated'), 1,
          'the trap is armed: the attacker''s own cast under search_path '''' runs the attacker''s function');
select is((select format('%s call(s) as another role; recorded: %s', last_value,
                         (select string_agg(format('%s as %s', via, who), ', ' order by via) from pg_temp.pwned where who <> 'authenticated'))
             from pg_temp.ran_as_other_role where is_called),
          null, 'no attacker code ran as any other role, through any entry point below');
select is((select result from pg_temp.outcome where label = 'policies: editor reads'), 'ok', 'policies: the editor reads');
select is((select result from pg_temp.outcome where label = 'policies: outsider reads'), 'ok', 'policies: the outsider reads (nothing)');
select is((select result from pg_temp.outcome where label = 'policies: editor writes directly'), 'ok', 'policies: the editor writes directly');
select is((select result from pg_temp.outcome where label = 'recorder: editor'), 'ok', 'recorder: the editor records');
select is((select result from pg_temp.outcome where label = 'recorder: outsider'), '42501',
          'recorder: a temporary organization_members naming the outsider an owner grants nothing (42501)');
select is((select result from pg_temp.outcome where label = 'scorecard: editor'), 'ok', 'scorecard: computed');
select is((select result from pg_temp.outcome where label = 'recompute: editor'), 'ok', 'recompute: stored');
select is((select result from pg_temp.outcome where label = 'bulk update: admin'), 'ok', 'bulk update: the admin updates');
select is((select result from pg_temp.outcome where label = 'bulk update: outsider'), '42501',
          'bulk update: a temporary app_admins naming the outsider grants nothing (42501)');
select is((select result from pg_temp.outcome where label = 'validate'), 'ok', 'validation functions');
select is((select string_agg(label || ': ' || result, ', ' order by label) from pg_temp.outcome where label like 'new:%'),
          'new: admin reads: ok, new: configure: ok, new: cycle scorecard: ok, new: history: ok, new: keyed recorder: ok, new: page: ok, new: page, outsider: 42501, new: register cycle: ok, new: retention: ok, new: settings: ok',
          '0.3.0''s entry points (an admin''s read through read_orgs, settings, retention, cycle scorecard, history, registration, idempotency keys, the page) ran under the trap; an outsider gets no page');
select is((select count(*)::int from public.pilot_contact_attempt_events where pilot_cycle_id = 'sec-1'), 1,
          'exactly the editor''s attempt was stored');
select is((select count(*)::int from public.pilot_metric_snapshots where pilot_cycle_id = 'sec-1'), 9,
          'and the recomputed snapshots');

-- TRUNCATE, TRIGGER and REFERENCES are nobody's (SPEC §2's matrix), whatever the default privileges.
select is((select string_agg(format('%s %s', c.relname, r), ', ' order by 1)
             from pg_depend d join pg_class c on c.oid = d.objid,
                  unnest(array['anon', 'authenticated', 'service_role']) r, unnest(array['truncate', 'trigger', 'references']) p
            where d.refobjid = (select oid from pg_extension where extname = 'pilot_guardrails') and d.deptype = 'e'
              and d.classid = 'pg_class'::regclass and c.relkind = 'r' and has_table_privilege(r, c.oid, p)),
          null, 'no API role holds TRUNCATE, TRIGGER or REFERENCES on a pilot table');
set role authenticated;
select pg_temp.attempt('truncate', :'nobody', $q$truncate public.pilot_contact_attempt_events$q$);
create function pg_temp.spy() returns trigger language plpgsql as $$ begin return new; end $$;
select pg_temp.attempt('trigger on a pilot table', :'nobody',
    $q$create trigger spy after insert on public.pilot_contact_attempt_events for each row execute function pg_temp.spy()$q$);
reset role;
select is((select result from pg_temp.outcome where label = 'truncate'), '42501', 'TRUNCATE of a pilot table: 42501');
select is((select result from pg_temp.outcome where label = 'trigger on a pilot table'), '42501', 'a trigger on a pilot table: 42501');
select is((select count(*)::int from public.pilot_contact_attempt_events where pilot_cycle_id = 'sec-1'), 1, 'the rows are still there');

-- pilot_verify() fails when TRUNCATE is put back, and when a foreign trigger is attached (in a
-- transaction rolled back; the details are asserted afterwards, as pgTAP's record would roll back too).
begin;
grant truncate on public.pilot_contact_attempt_events to authenticated;
select detail as truncate_detail from pilot_verify() where "check" like 'table privileges of PUBLIC%' \gset
create function public.spy() returns trigger language plpgsql as $$ begin return new; end $$;
create trigger spy after insert on public.pilot_contact_attempt_events for each row execute function public.spy();
select detail as trigger_detail from pilot_verify() where "check" = 'no trigger on a pilot table that the extension did not create' \gset
rollback;
select is(:'truncate_detail'::pg_catalog.text,
          'wrong: public.pilot_contact_attempt_events: authenticated holds DELETE,INSERT,SELECT,TRUNCATE,UPDATE, expected DELETE,INSERT,SELECT,UPDATE',
          'pilot_verify() fails when TRUNCATE is granted back');
select is(:'trigger_detail'::pg_catalog.text, 'foreign triggers: spy on public.pilot_contact_attempt_events',
          'pilot_verify() fails on a trigger the extension did not create');
