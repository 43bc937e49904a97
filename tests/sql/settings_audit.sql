-- SPEC §10.1 settings, §10.4 metric history that cannot be forged, §10.5 the audit trail.
-- Acts run as PostgREST runs them (set_config('role', …), request.jwt.claims) through pg_temp.act,
-- which commits what the act did unless told to roll it back; the checks then read as the owner.
\set ON_ERROR_STOP 1
\set QUIET 1
set client_min_messages = warning;
\i tests/fixtures/host_baseline.sql
\i tests/fixtures/snapshot.sql
create extension pgtap;
create extension pilot_guardrails;
\i tests/fixtures/cycles.sql
\i tests/fixtures/pilot_rows.sql

select plan(68);

-- Personas of the host fixture.
create temp table who (name text primary key, role text, sub text);
insert into who values
    ('admin', 'authenticated', '11111111-1111-4111-8111-111111111111'),
    ('editor', 'authenticated', '22222222-2222-4222-8222-222222222222'),
    ('viewer', 'authenticated', '33333333-3333-4333-8333-333333333333'),
    ('service', 'service_role', null),
    ('anon', 'anon', null);

-- Run p_sql as a persona; 'ok' or its one-value result, else 'error:<SQLSTATE>: <message>'.
-- With rollback, whatever the act wrote is undone (the act "rolls back").
create function pg_temp.act(persona text, p_sql text, rollback boolean default false) returns text
    language plpgsql as $$
declare
    w record;
    r text;
begin
    select * into w from who where name = persona;
    perform set_config('request.jwt.claims', json_build_object('role', w.role, 'sub', w.sub)::text, true);
    perform set_config('role', w.role, true);
    begin
        execute p_sql into r;
        if rollback then
            raise exception using errcode = 'TS002', message = coalesce(r, 'ok');
        end if;
    exception
        when sqlstate 'TS002' then
            perform set_config('role', 'none', true);
            return sqlerrm;
        when others then
            perform set_config('role', 'none', true);
            return 'error:' || sqlstate || ': ' || sqlerrm;
    end;
    perform set_config('role', 'none', true);
    return coalesce(r, 'ok');
end
$$;
create function pg_temp.audits(p_action text) returns bigint language sql as
    $$ select count(*) from pilot_audit_events where action = p_action $$;

-- ---------------------------------------------------------------------------------------------
-- Settings (§10.1)

select is(pg_temp.act('viewer', $$select jsonb_object_agg(setting, value)::text from pilot_settings()
                                   where setting in ('idempotency_window', 'recorder_calls_per_minute', 'min_cell_size')$$),
          '{"min_cell_size": "11", "idempotency_window": "24:00:00", "recorder_calls_per_minute": "120"}',
          'a signed-in viewer reads the defaults');
select is(pg_temp.act('viewer', $$select count(*)::text from pilot_settings() where setting like 'retention.%' and value is null$$),
          '9', 'retention.<table> for each of the nine pilot tables, none by default');
select is(pg_temp.act('anon', $$select count(*)::text from pilot_settings()$$)::text like 'error:42501%', true,
          'anon reads no settings');
select is((select count(*)::int from pilot_private.settings), 0, 'the table holds no defaults');

select is(pg_temp.act('admin', $$select pilot_configure('min_cell_size', ' 15 ')::text$$),
          '{"value": "15", "default": "11", "setting": "min_cell_size", "previous": "11"}',
          'an app admin changes min_cell_size');
select is((select jsonb_build_object('actor', actor, 'role', actor_role, 'target', target, 'detail', detail)::text
             from pilot_audit_events where action = 'pilot_configure'),
          '{"role": "authenticated", "actor": "11111111-1111-4111-8111-111111111111", "detail": {"new": "15", "old": "11", "setting": "min_cell_size"}, "target": "min_cell_size"}',
          '… and one audit row records the admin, the setting, old and new');
select is(pilot_private.setting('min_cell_size'), '15', 'the new value is read back');

select is(pg_temp.act('editor', $$select pilot_configure('min_cell_size', '20')::text$$),
          'error:42501: pilot_configure: not allowed: settings are changed by app admins and backend roles only',
          'a writer who is not an app admin: 42501');
select is(pg_temp.act('editor', $$select pilot_private.configure_setting('min_cell_size', '20')::text$$),
          'error:42501: pilot_configure: not allowed: settings are changed by app admins and backend roles only',
          '… also calling the privileged part directly');
select is(pg_temp.act('editor', $$select pilot_private.store_setting('min_cell_size', '20')::text$$) like 'error:42501%', true,
          '… and the storing helper is not executable by an API role');
select is(pg_temp.act('editor', $$select count(*)::text from pilot_private.settings$$) like 'error:42501%', true,
          '… nor is the settings table readable');
select is(pg_temp.audits('pilot_configure'), 1::bigint, 'refused changes leave no audit row');

select is(pg_temp.act('admin', $$select pilot_configure('min_cell_size', '1')$$),
          'error:22023: pilot_configure: min_cell_size must be an integer from 2 to 1000 (0 turns suppression off: a superuser or the extension''s owner only)',
          'min_cell_size 1: 22023 naming the setting');
select is(pg_temp.act('admin', $$select pilot_configure('min_cell_size', '1001')$$) like 'error:22023: pilot_configure: min_cell_size must be%', true, 'min_cell_size 1001: 22023');
select is(pg_temp.act('admin', $$select pilot_configure('min_cell_size', 'eleven')$$) like 'error:22023: pilot_configure: min_cell_size must be%', true, 'min_cell_size eleven: 22023');
select is(pg_temp.act('admin', $$select pilot_configure('min_cell_size', '0')$$) like 'error:22023: pilot_configure: min_cell_size must be%', true,
          'min_cell_size 0 refused for an app admin');
select is(pg_temp.act('service', $$select pilot_configure('min_cell_size', '0')$$) like 'error:22023: pilot_configure: min_cell_size must be%', true,
          '… and for service_role');
select is(pg_temp.act('admin', $$select pilot_configure('idempotency_window', '30 seconds')$$),
          'error:22023: pilot_configure: idempotency_window must be an interval from 1 minute to 30 days', 'idempotency_window under 1 minute: 22023');
select is(pg_temp.act('admin', $$select pilot_configure('idempotency_window', '31 days')$$) like 'error:22023: pilot_configure: idempotency_window%', true,
          'idempotency_window over 30 days: 22023');
select is(pg_temp.act('admin', $$select pilot_configure('recorder_calls_per_minute', '-1')$$) like 'error:22023: pilot_configure: recorder_calls_per_minute%', true,
          'a negative rate limit: 22023');
select is(pg_temp.act('admin', $$select pilot_configure('retention.pilot_referral_events', '12 hours')$$),
          'error:22023: pilot_configure: retention.pilot_referral_events must be an interval from 1 day, or none', 'retention under a day: 22023');
select is(pg_temp.act('admin', $$select pilot_configure('no_such_setting', '1')$$),
          'error:22023: pilot_configure: unknown setting ''no_such_setting''', 'an unknown setting: 22023 naming it');
select is(pg_temp.act('admin', $$select pilot_configure('retention.pilot_referral_events', '400 days')->>'value'$$), '400 days',
          'retention.pilot_referral_events 400 days');
select is(pg_temp.act('admin', $$select coalesce(pilot_configure('retention.pilot_referral_events', 'none')->>'value', 'none')$$), 'none',
          '… and back to none, which forgets the row');
select is((select array_agg(setting order by setting) from pilot_private.settings), array['min_cell_size'],
          'only changed settings are stored');
select is(pg_temp.act('service', $$select pilot_configure('recorder_calls_per_minute', '0')->>'value'$$), '0',
          'service_role turns the rate limit off');
select is((select format('%s %s', coalesce(actor::text, 'null'), actor_role) from pilot_audit_events
            where action = 'pilot_configure' and target = 'recorder_calls_per_minute'),
          'null service_role', '… audited with no actor and the backend role');

-- A session GUC of the same name changes nothing.
select set_config('pilot_guardrails.min_cell_size', '0', false), set_config('pilot.min_cell_size', '0', false);
select is(pg_temp.act('viewer', $$select value from pilot_settings() where setting = 'min_cell_size'$$), '15',
          'session GUCs named like the setting change nothing');

-- The owner (a superuser here) may turn suppression off; the invoker layer decides.
select is(pilot_configure('min_cell_size', '0') ->> 'value', '0', 'min_cell_size 0 by the extension''s owner');
select is(pilot_configure('min_cell_size', '11') ->> 'value', '11', '… and back to the default');
select is((select count(*)::int from pilot_private.settings where setting = 'min_cell_size'), 0, 'the default is not stored');
select is(pg_temp.audits('pilot_configure'), 6::bigint, 'every change audited: 6 changes, 6 rows');

-- ---------------------------------------------------------------------------------------------
-- Metric history that cannot be forged (§10.4)

select is(test_support.try_as('authenticated', '{"sub":"22222222-2222-4222-8222-222222222222"}', 'insert',
          $$insert into pilot_metric_snapshots (pilot_cycle_id, org_id, metric_id, metric_value, calculated_at)
            values ('cycle-1', 'a0000000-0000-4000-8000-00000000000a', 'M3', 0.99, '2099-01-01')$$),
          'error:42501', 'a writer''s INSERT of a snapshot: 42501');
select is(test_support.try_as('authenticated', '{"sub":"22222222-2222-4222-8222-222222222222"}', 'update',
          $$update pilot_metric_snapshots set metric_value = -5$$), 'error:42501', 'a writer''s UPDATE: 42501');
select is(test_support.try_as('authenticated', '{"sub":"22222222-2222-4222-8222-222222222222"}', 'delete',
          $$delete from pilot_metric_snapshots$$), 'error:42501', 'a writer''s DELETE: 42501');
select is(test_support.try_as('authenticated', '{"sub":"11111111-1111-4111-8111-111111111111"}', 'insert',
          $$insert into pilot_metric_snapshots (pilot_cycle_id, org_id, metric_id, metric_value)
            values ('cycle-1', 'a0000000-0000-4000-8000-00000000000a', 'M3', 0.99)$$),
          'error:42501', 'an app admin''s INSERT too');

select is(pg_temp.act('viewer', $$select pilot_recompute_metrics('cycle-1', 'a0000000-0000-4000-8000-00000000000a')::text$$),
          'error:42501: pilot_recompute_metrics: not allowed: the caller is not a writer (owner, admin or editor) of the organization',
          'a viewer may not recompute');
select is(pg_temp.act('viewer', $$select pilot_private.recompute_metrics('cycle-1', 'a0000000-0000-4000-8000-00000000000a')::text$$),
          'error:42501: pilot_recompute_metrics: not allowed: the caller is not a writer (owner, admin or editor) of the organization',
          '… nor through the privileged part directly');
select is(pg_temp.audits('pilot_recompute_metrics'), 0::bigint, 'refused recomputes leave no audit row');
select is(pg_temp.act('editor', $$select (pilot_recompute_metrics('cycle-1', 'a0000000-0000-4000-8000-00000000000a') -> 'metrics' -> 'M1')::text$$),
          '{"value": null, "numerator": null, "suppressed": true, "denominator": null}', 'a writer recomputes (and reads the small M1 cell suppressed)');
select is((select array_agg(metric_id order by metric_id) from pilot_metric_snapshots
            where id <> 'e0000000-0000-4000-8000-000000000001'),
          array['M1', 'M2_P50', 'M2_P75', 'M2_P90', 'M3', 'M4', 'M5', 'M6', 'M7'], '… nine snapshots written, one per metric');
select is((select count(distinct calculated_at)::int from pilot_metric_snapshots where id <> 'e0000000-0000-4000-8000-000000000001'), 1,
          '… with one calculated_at');
select is((select format('%s %s %s', actor, target, detail) from pilot_audit_events where action = 'pilot_recompute_metrics'),
          '22222222-2222-4222-8222-222222222222 cycle-1 {"org_id": "a0000000-0000-4000-8000-00000000000a", "pilot_cycle_id": "cycle-1"}',
          '… and one audit row (cycle, organization)');
select is(pg_temp.act('viewer', $$select count(*)::text from pilot_metric_history('cycle-1', 'a0000000-0000-4000-8000-00000000000a')$$),
          '10', 'a member reads the history (the fixture''s row and the nine new)');
select is(pg_temp.act('editor', $$select pilot_recompute_metrics('cycle-1', 'a0000000-0000-4000-8000-00000000000a')::text$$, true) <> '', true,
          'a recompute that rolls back …');
select is(pg_temp.audits('pilot_recompute_metrics'), 1::bigint, '… leaves no audit row');
select is(pg_temp.act('service', $$select (pilot_recompute_metrics('cycle-1', 'a0000000-0000-4000-8000-00000000000a') ? 'metrics')::text$$),
          'true', 'service_role recomputes');

-- ---------------------------------------------------------------------------------------------
-- The audit trail (§10.5)

select is(pg_temp.act('admin', $$select updated_count::text from bulk_update_service_status(array['svc-shelter', 'svc-none', 'svc-shelter'], 'L2')$$),
          '1', 'an admin''s bulk update');
select is((select format('%s %s %s', actor, actor_role, detail) from pilot_audit_events where action = 'bulk_update_service_status'),
          '11111111-1111-4111-8111-111111111111 authenticated {"ids": ["svc-shelter", "svc-none", "svc-shelter"], "published": null, "failed_ids": ["svc-none"], "acting_admin": "11111111-1111-4111-8111-111111111111", "updated_count": 1, "verification_status": "L2"}',
          '… one audit row: acting admin, ids, status, published, updated_count, failed_ids');
select is(pg_temp.act('service', $$select updated_count::text from bulk_update_service_status(array['svc-food'], null, true,
                                   '11111111-1111-4111-8111-111111111111')$$), '1', 'a backend bulk update naming the admin');
select is((select format('%s %s %s', coalesce(actor::text, 'null'), actor_role, detail ->> 'acting_admin') from pilot_audit_events
            where action = 'bulk_update_service_status' and actor is null),
          'null service_role 11111111-1111-4111-8111-111111111111', '… audited with no actor and the acting admin');
select is(pg_temp.act('service', $$select pilot_private.bulk_update_service_status_as_admin(array['svc-food'], null, true, null)::text$$) like 'error:42501%',
          true, 'service_role cannot use the signed-in path');
select is(pg_temp.act('admin', $$select pilot_private.bulk_update_service_status_as_backend(array['svc-food'], null, true, '11111111-1111-4111-8111-111111111111')::text$$) like 'error:42501%',
          true, 'a signed-in admin cannot use the backend path');
select is(pg_temp.act('admin', $$select updated_count::text from bulk_update_service_status(array['svc-legal'], 'L1')$$, true), '1',
          'a bulk update that rolls back …');
select is(pg_temp.audits('bulk_update_service_status'), 2::bigint, '… leaves no audit row');

select is(pg_temp.act('admin', $$select (pilot_record_integration_feasibility('{"decision": "go", "decision_date": "2026-07-01",
                                   "redline_checklist_version": "v3", "owners": ["team-a"]}') ->> 'decision')$$), 'go',
          'an admin records a feasibility decision');
select is((select format('%s %s', actor, detail ->> 'decision') from pilot_audit_events
            where action = 'pilot_record_integration_feasibility' and actor is not null),
          '11111111-1111-4111-8111-111111111111 go', '… one audit row naming the decision');
select is((select target from pilot_audit_events where action = 'pilot_record_integration_feasibility' and actor is not null),
          (select id::text from pilot_integration_feasibility_decisions where redline_checklist_version = 'v3'), '… by its id');

-- Append-only, for every role.
select is(test_support.try_as('authenticated', '{"sub":"11111111-1111-4111-8111-111111111111"}', 'update',
          $$update pilot_audit_events set action = 'pilot_configure'$$), 'error:42501', 'an app admin may not UPDATE the trail');
select is(test_support.try_as('authenticated', '{"sub":"11111111-1111-4111-8111-111111111111"}', 'delete',
          $$delete from pilot_audit_events$$), 'error:42501', '… nor DELETE');
select is(test_support.try_as('authenticated', '{"sub":"11111111-1111-4111-8111-111111111111"}', 'delete',
          $$truncate pilot_audit_events$$), 'error:42501', '… nor TRUNCATE');
select is(test_support.try_as('service_role', '{}', 'delete', $$delete from pilot_audit_events$$), 'error:42501',
          'service_role may not DELETE');
select is(test_support.try_as('service_role', '{}', 'delete', $$truncate pilot_audit_events$$), 'error:42501',
          '… nor TRUNCATE');
select throws_ok($$update pilot_audit_events set target = 'x'$$, '42501', 'pilot_audit_events is append-only: UPDATE refused',
                 'the owner''s UPDATE is refused by the ENABLE ALWAYS trigger');
select throws_ok($$truncate pilot_audit_events$$, '42501', 'pilot_audit_events is append-only: TRUNCATE refused',
                 '… and its TRUNCATE');
select is(test_support.try_as('authenticated', '{"sub":"22222222-2222-4222-8222-222222222222"}', 'select',
          $$select count(*) from pilot_audit_events$$), 'rows:0', 'a member who is not an admin reads no audit row');
select is(test_support.try_as('authenticated', '{"sub":"11111111-1111-4111-8111-111111111111"}', 'select',
          $$select count(*) from pilot_audit_events$$), 'rows:' || (select count(*) from pilot_audit_events),
          'an app admin reads them all');

select is((select count(*)::int from pilot_verify() where not ok), 0, 'pilot_verify() is all ok');

select * from finish();
