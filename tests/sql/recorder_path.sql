-- The recorders' success path opens no subtransaction (issue: the recorder at the cost of a plain
-- insert). An EXCEPTION clause in PL/pgSQL opens one on every call: storage is checked up front
-- instead (to_regclass, host_storage_problem), and PT501 still answers a missing table.
--   * statically: the functions of the extension with an EXCEPTION clause are exactly the list
--     below, none of them on a recorder's path;
--   * dynamically: the row a recorder writes carries the top transaction's xid (a write inside a
--     subtransaction carries the subtransaction's own).
\set ON_ERROR_STOP 1
\set QUIET 1
set client_min_messages = warning;
\i tests/fixtures/host_baseline.sql
\i tests/fixtures/snapshot.sql
create extension pgtap;
create extension pilot_guardrails;
\i tests/fixtures/cycles.sql

select plan(12);

select is((select string_agg(p.oid::regprocedure::text, ', ' order by p.oid::regprocedure::text)
             from pg_proc p join pg_depend d on d.objid = p.oid and d.deptype = 'e'
                  join pg_extension e on e.oid = d.refobjid and e.extname = 'pilot_guardrails'
            where p.prolang = (select oid from pg_language where lanname = 'plpgsql')
              and p.prosrc ~* '\mexception\M\s+when'),
          'pilot_cycle_scorecard(text,timestamp with time zone), pilot_metric_history(text,uuid), '
          || 'pilot_private.apply_service_status(text[],text,boolean,uuid), pilot_private.check_setting(text,text,boolean), '
          || 'pilot_private.user_is_admin(uuid), pilot_recompute_metrics(text,uuid), '
          || 'pilot_scorecard(text,uuid,timestamp with time zone,numeric,numeric), pilot_verify()',
          'the only functions with an EXCEPTION clause are these (bulk status update, settings, scorecards, verify): none is on a recorder''s path');

-- The idempotency claim reads its kind's row with kind_route(), generated from the registry: the same rows.
select is((select count(*) from pilot_private.kinds() k, pilot_private.kind_route(k.kind) r
            where (r.recorder, r.table_name, r.org_column, r.host_refs, r.payload)
                  is distinct from (split_part(k.recorder, '(', 1), k.table_name, k.org_column, k.host_refs, k.payload))
          + (select count(*) from pilot_private.kind_route('no_such_kind') r where r.recorder is not null or r.payload is not null),
          0::bigint, 'kind_route() is kinds() row for row, and null for an unknown kind');

begin;
select set_config('request.jwt.claims', '{"sub": "22222222-2222-4222-8222-222222222222", "role": "authenticated"}', true) \g /dev/null
set local role authenticated;
select pilot_record_contact_attempt('{"pilot_cycle_id": "cycle-1", "service_id": "svc-shelter",
    "recorded_by_org_id": "a0000000-0000-4000-8000-00000000000a",
    "entity_key_hash": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "attempt_channel": "phone", "attempt_outcome": "no_response", "attempted_at": "2026-06-01T10:00:00Z"}') ->> 'id' as attempt_id \gset
select pilot_record_referral('{"pilot_cycle_id": "cycle-1", "source_org_id": "a0000000-0000-4000-8000-00000000000a",
    "target_service_id": "svc-food", "created_at": "2026-06-01T10:00:00Z", "updated_at": "2026-06-01T10:00:00Z"}') ->> 'id' as referral_id \gset
reset role;
select is((select xmin::text from pilot_contact_attempt_events where id = :'attempt_id'),
          (pg_current_xact_id()::text::bigint % 4294967296)::text,
          'a contact attempt is written by the top transaction, not a subtransaction');
select is((select xmin::text from pilot_referral_events where id = :'referral_id'),
          (pg_current_xact_id()::text::bigint % 4294967296)::text,
          'so is a referral');
commit;

-- The stored row's server-set values (SPEC §7), set field by field where the payload leaves them
-- null (70_recorders.sql): a payload null is an absent field; id and created_at come from the
-- server unless the kind's payload carries them, a referral starts initiated, a decision's lists
-- start empty, created_by is the caller; the row returned is the row stored.
begin;
select set_config('request.jwt.claims', '{"sub": "11111111-1111-4111-8111-111111111111", "role": "authenticated"}', true) \g /dev/null
set local role authenticated;
select pilot_record_contact_attempt('{"pilot_cycle_id": "cycle-1", "service_id": "svc-shelter",
    "recorded_by_org_id": "a0000000-0000-4000-8000-00000000000a",
    "entity_key_hash": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "attempt_channel": "phone", "attempt_outcome": "no_response", "attempted_at": "2026-06-01T10:00:00Z",
    "resolved_at": null, "outcome_notes_code": null}') as attempt \gset
select pilot_record_referral('{"pilot_cycle_id": "cycle-1", "source_org_id": "a0000000-0000-4000-8000-00000000000a",
    "target_service_id": "svc-food", "created_at": "2026-06-01T10:00:00Z", "updated_at": "2026-06-01T10:00:00Z",
    "referral_state": null, "terminal_at": null}') as referral \gset
select pilot_record_integration_feasibility('{"decision": "go", "decision_date": "2026-06-01",
    "redline_checklist_version": "v1", "owners": ["ops"], "violations": null}') as decision \gset
select pilot_register_cycle('{"id": "cycle-rowtest", "starts_on": "2026-01-01", "ends_on": "2026-12-31"}') as cycle \gset
reset role;
select is((select jsonb_build_object('id', (a ->> 'id') ~ '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$',
                                     'created_at', (a ->> 'created_at')::timestamptz = now(),
                                     'resolved_at', a -> 'resolved_at', 'outcome_notes_code', a -> 'outcome_notes_code',
                                     'stored', (select to_jsonb(t) from pilot_contact_attempt_events t where t.id = (a ->> 'id')::uuid) = a)
             from (select :'attempt'::jsonb a) x),
          '{"id": true, "created_at": true, "resolved_at": null, "outcome_notes_code": null, "stored": true}'::jsonb,
          'a contact attempt: a random uuid and the transaction''s time from the server, payload nulls stored as null, returned as stored');
select is((select jsonb_build_object('referral_state', a -> 'referral_state', 'terminal_at', a -> 'terminal_at',
                                     'created_at', (a ->> 'created_at')::timestamptz = '2026-06-01T10:00:00Z',
                                     'stored', (select to_jsonb(t) from pilot_referral_events t where t.id = (a ->> 'id')::uuid) = a)
             from (select :'referral'::jsonb a) x),
          '{"referral_state": "initiated", "terminal_at": null, "created_at": true, "stored": true}'::jsonb,
          'a referral: initiated when the payload leaves the state null, and the payload''s created_at kept');
select is((select jsonb_build_object('violations', a -> 'violations', 'compensating_controls', a -> 'compensating_controls',
                                     'created_by', a -> 'created_by', 'created_at', (a ->> 'created_at')::timestamptz = now(),
                                     'stored', (select to_jsonb(t) from pilot_integration_feasibility_decisions t where t.id = (a ->> 'id')::uuid) = a)
             from (select :'decision'::jsonb a) x),
          '{"violations": [], "compensating_controls": [], "created_by": "11111111-1111-4111-8111-111111111111", "created_at": true, "stored": true}'::jsonb,
          'a decision: empty lists where the payload has none (or null), created_by the caller');
select is((select jsonb_build_object('id', a -> 'id', 'created_by', a -> 'created_by', 'created_at', (a ->> 'created_at')::timestamptz = now(),
                                     'stored', (select to_jsonb(t) from pilot_cycles t where t.id = a ->> 'id') = a)
             from (select :'cycle'::jsonb a) x),
          '{"id": "cycle-rowtest", "created_by": "11111111-1111-4111-8111-111111111111", "created_at": true, "stored": true}'::jsonb,
          'a cycle: its id from the payload, created_by the caller');
commit;

-- Missing storage still answers PT501, from the checks up front. (Renamed and back, not inside
-- BEGIN … ROLLBACK: on PostgreSQL 18 pgTAP's count of a rolled-back test is rolled back too.)
-- The editor records an attempt:
create function pg_temp.record_as_editor() returns text language sql as $f$
    select test_support.run_as('authenticated', '{"sub": "22222222-2222-4222-8222-222222222222"}',
    $$select pilot_record_contact_attempt('{"pilot_cycle_id": "cycle-1", "service_id": "svc-shelter",
        "recorded_by_org_id": "a0000000-0000-4000-8000-00000000000a",
        "entity_key_hash": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "attempt_channel": "phone", "attempt_outcome": "no_response", "attempted_at": "2026-06-01T10:00:00Z"}')$$)
$f$;
alter table pilot_contact_attempt_events rename to pilot_contact_attempt_events_away;
select is(pg_temp.record_as_editor(),
    'ERROR PT501: pilot storage missing: relation "public.pilot_contact_attempt_events" does not exist',
    'a renamed pilot table: PT501 naming it');
alter table pilot_contact_attempt_events_away rename to pilot_contact_attempt_events;
alter table public.organization_members rename column role to member_role;
select is(pg_temp.record_as_editor(),
    'ERROR PT501: pilot storage missing: column public.organization_members.role does not exist',
    'a host column renamed away: PT501 naming it');
alter table public.organization_members rename column member_role to role;
alter table public.services rename to services_away;
select is(pg_temp.record_as_editor(),
    'ERROR PT501: pilot storage missing: relation "public.services" does not exist',
    'the host''s services gone: PT501 naming it');
alter table public.services_away rename to services;

-- The registered-cycle check runs after step 3, as the caller, under pilot_cycles' row-level
-- security: a signed-in user of no organization gets the same 42501 for a registered cycle as for
-- an unregistered one, and cannot call the registry's route (a helper of the idempotency claim,
-- which runs as the owner).
select is(test_support.run_as('authenticated', '{"sub": "55555555-5555-4555-8555-555555555555"}',
    $$select pilot_record_service_scope('{"pilot_cycle_id": "cycle-1", "org_id": "a0000000-0000-4000-8000-00000000000a",
        "service_id": "svc-shelter", "sla_tier": "crisis"}')::text$$)
    || ' | ' || test_support.run_as('authenticated', '{"sub": "55555555-5555-4555-8555-555555555555"}',
    $$select pilot_record_service_scope('{"pilot_cycle_id": "no-such-cycle", "org_id": "a0000000-0000-4000-8000-00000000000a",
        "service_id": "svc-shelter", "sla_tier": "crisis"}')::text$$)
    || ' | ' || test_support.run_as('authenticated', '{"sub": "55555555-5555-4555-8555-555555555555"}',
    $$select pilot_private.kind_route('cycle')::text$$),
    'ERROR 42501: pilot_record_service_scope: not allowed: the caller is not a writer (owner, admin or editor) of the organization in org_id'
    || ' | ERROR 42501: pilot_record_service_scope: not allowed: the caller is not a writer (owner, admin or editor) of the organization in org_id'
    || ' | ERROR 42501: permission denied for function kind_route',
    'a recorder cannot be used to learn which cycles exist, and the registry''s route is not the callers''');

select * from finish();
