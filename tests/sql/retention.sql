-- SPEC §11.3: retention windows that are enforced, with receipts.
\set ON_ERROR_STOP 1
\set QUIET 1
set client_min_messages = warning;
\i tests/fixtures/host_baseline.sql
\i tests/fixtures/snapshot.sql
create extension pgtap;
create extension pilot_guardrails;
\i tests/fixtures/cycles.sql

select plan(24);


-- Rows of organization A, old (past every window below) and recent, in every table.
\set a '''a0000000-0000-4000-8000-00000000000a'''
insert into pilot_contact_attempt_events (id, pilot_cycle_id, service_id, recorded_by_org_id, entity_key_hash, attempt_channel, attempt_outcome, attempted_at)
values ('c0000000-0000-4000-8000-000000000001', 'ret', 'svc-shelter', :a, repeat('a1', 32), 'phone', 'connected', now() - interval '400 days'),
       ('c0000000-0000-4000-8000-000000000002', 'ret', 'svc-shelter', :a, repeat('a2', 32), 'phone', 'no_response', now() - interval '10 days'),
       ('c0000000-0000-4000-8000-000000000003', 'ret', 'svc-shelter', :a, repeat('a3', 32), 'phone', 'connected', now() - interval '366 days');
insert into pilot_referral_events (id, pilot_cycle_id, source_org_id, target_service_id, referral_state, created_at, updated_at, terminal_at)
values ('d0000000-0000-4000-8000-000000000001', 'ret', :a, 'svc-food', 'connected', now() - interval '500 days', now() - interval '499 days', now() - interval '499 days'),
       ('d0000000-0000-4000-8000-000000000002', 'ret', :a, 'svc-food', 'initiated', now() - interval '5 days', now() - interval '5 days', null);
insert into pilot_connection_events (id, pilot_cycle_id, org_id, service_id, connected_at, contact_attempt_event_id, referral_event_id)
values ('10000000-0000-4000-8000-000000000001', 'ret', :a, 'svc-shelter', now() - interval '1 day', 'c0000000-0000-4000-8000-000000000001', null),
       ('10000000-0000-4000-8000-000000000002', 'ret', :a, 'svc-shelter', now() - interval '1 day', 'c0000000-0000-4000-8000-000000000002', null),
       ('10000000-0000-4000-8000-000000000003', 'ret', :a, 'svc-food', now() - interval '2 days', null, 'd0000000-0000-4000-8000-000000000001');
insert into pilot_service_scope (pilot_cycle_id, org_id, service_id, sla_tier) values ('ret', :a, 'svc-shelter', 'crisis');
insert into service_operational_status_events (pilot_cycle_id, org_id, service_id, checked_at, status_code)
select 'ret', :a::uuid, 'svc-shelter', now() - d * interval '1 day', 'available' from unnest(array[40, 31, 29, 1]) d;
insert into pilot_data_decay_audits (pilot_cycle_id, org_id, service_id, audited_at, is_fatal, verification_mode)
select 'ret', :a::uuid, 'svc-shelter', now() - d * interval '1 day', false, 'web_only' from unnest(array[90, 2]) d;
insert into pilot_preference_fit_events (pilot_cycle_id, org_id, cohort_label, recorded_at, preferred_via_platform)
select 'ret', :a::uuid, 'c1', now() - d * interval '1 day', true from unnest(array[60, 3]) d;
insert into pilot_metric_snapshots (pilot_cycle_id, org_id, metric_id, metric_value, calculated_at)
select 'ret', :a::uuid, 'M1', 0.5, now() - d * interval '1 day' from unnest(array[45, 1]) d;
insert into pilot_integration_feasibility_decisions (decision, decision_date, redline_checklist_version, owners, created_at)
select 'go', '2026-01-01', 'v1', '{team-a}', now() - d * interval '1 day' from unnest(array[100, 1]) d;
insert into pilot_private.idempotency_keys (recorder, org_id, key, request_digest, row_id, created_at)
values ('pilot_record_contact_attempt', :a, 'old', 'x', gen_random_uuid(), now() - interval '2 days'),
       ('pilot_record_contact_attempt', :a, 'new', 'x', gen_random_uuid(), now());
insert into pilot_private.rate_counters (user_id, minute, backend, calls)
values ('22222222-2222-4222-8222-222222222222', date_trunc('minute', now()) - interval '5 minutes', 1, 3),
       ('22222222-2222-4222-8222-222222222222', date_trunc('minute', now()), 1, 2);

-- The windows: the connections have none of their own (they go with their anchors).
select count(pilot_configure(s, w)) as configured from (values ('retention.pilot_contact_attempt_events', '365 days'),
    ('retention.pilot_referral_events', '365 days'), ('retention.service_operational_status_events', '30 days'),
    ('retention.pilot_data_decay_audits', '30 days'), ('retention.pilot_preference_fit_events', '30 days'),
    ('retention.pilot_metric_snapshots', '30 days'), ('retention.pilot_integration_feasibility_decisions', '30 days'),
    ('retention.pilot_service_scope', '1 day')) x(s, w) \gset

-- Every row as it was, to check the run row by row against a plain query.
create temp table before_run as
select 'pilot_contact_attempt_events' as t, id, attempted_at as at from pilot_contact_attempt_events
union all select 'pilot_referral_events', id, created_at from pilot_referral_events
union all select 'service_operational_status_events', id, checked_at from service_operational_status_events
union all select 'pilot_data_decay_audits', id, audited_at from pilot_data_decay_audits
union all select 'pilot_preference_fit_events', id, recorded_at from pilot_preference_fit_events
union all select 'pilot_metric_snapshots', id, calculated_at from pilot_metric_snapshots
union all select 'pilot_integration_feasibility_decisions', id, created_at from pilot_integration_feasibility_decisions;
create function pg_temp.now_ids(t text) returns uuid[] language plpgsql as $$
declare r uuid[];
begin
    execute format('select coalesce(array_agg(id order by id), ''{}'') from public.%I', t) into r;
    return r;
end $$;

select ok(exists (select 1 from pilot_verify() where "check" like 'no row is past its retention window%' and not ok),
          'pilot_verify() reports rows past their window before the run');
select is(split_part(test_support.as_user('22222222-2222-4222-8222-222222222222', $$select count(*)::text from pilot_apply_retention()$$), ':', 2), '42501',
          'a writer who is not an admin: 42501');
select is(split_part(test_support.as_user('22222222-2222-4222-8222-222222222222', $$select count(*)::text from pilot_private.apply_retention(false)$$), ':', 2), '42501',
          '… also through the privileged part');
select ok(not has_function_privilege('anon', 'pilot_apply_retention(boolean)', 'execute'), 'anon: no EXECUTE');

-- A dry run by an app admin: counts and cutoffs, nothing deleted, one audit row.
select set_config('request.jwt.claims', '{"role":"authenticated","sub":"11111111-1111-4111-8111-111111111111"}', false) \gset
set role authenticated;
create temp table dry as select * from pilot_apply_retention();
reset role;
select is((select jsonb_object_agg(table_name, rows) from dry),
          '{"pilot_referral_events": 1, "pilot_metric_snapshots": 1, "pilot_connection_events": 2, "pilot_data_decay_audits": 1, "pilot_preference_fit_events": 1, "pilot_contact_attempt_events": 2, "pilot_private.rate_counters": 1, "pilot_private.idempotency_keys": 1, "service_operational_status_events": 2, "pilot_integration_feasibility_decisions": 1}',
          'a dry run counts the rows past each window (connections of deleted anchors included)');
select ok((select bool_and(dry_run) from dry), '… says it is a dry run');
select ok((select bool_and(abs(extract(epoch from (now() - interval '365 days') - cutoff)) < 60) from dry
            where table_name in ('pilot_contact_attempt_events', 'pilot_referral_events')), '… with each table''s cutoff');
select is((select cutoff from dry where table_name = 'pilot_connection_events'), null, 'connections have no window of their own');
select ok(not exists (select 1 from dry where table_name = 'pilot_service_scope'), 'service scope has no event time: not touched');
select is((select count(*)::int from before_run), (select count(*)::int from before_run b
            where b.id = any (pg_temp.now_ids(b.t))), 'a dry run deletes nothing');
select is((select count(*)::int from pilot_private.idempotency_keys), 2, '… not even expired keys');
select is((select count(*)::int from pilot_audit_events where action = 'pilot_apply_retention' and (detail ->> 'dry_run')::boolean), 1,
          'one audit row for the dry run');
select set_config('request.jwt.claims', '', false) \gset

-- The real run, as service_role (a backend job).
set role service_role;
create temp table run as select * from pilot_apply_retention(dry_run => false);
reset role;
select is((select jsonb_object_agg(table_name, rows) from run), (select jsonb_object_agg(table_name, rows) from dry),
          'the real run deletes what the dry run counted');
select ok((select bool_and(not dry_run) from run), '… and says so');
select is((select array_agg(t || ' ' || id order by t, id) from before_run b where b.id = any (pg_temp.now_ids(b.t))),
          (select array_agg(t || ' ' || id order by t, id) from before_run b
            where b.at >= now() - case when b.t in ('pilot_contact_attempt_events', 'pilot_referral_events') then interval '365 days'
                                       else interval '30 days' end),
          'exactly the rows before each cutoff are gone, row by row');
select is(pg_temp.now_ids('pilot_connection_events'), array['10000000-0000-4000-8000-000000000002']::uuid[],
          'connections of deleted anchors are gone (one attempt, one terminal referral), the other stays');
select is((select count(*)::int from pilot_service_scope), 1, 'service scope is kept');
select is((select array_agg(key) from pilot_private.idempotency_keys), array['new'], 'expired idempotency keys are purged');
select is((select count(*)::int from pilot_private.rate_counters), 1, 'past rate counters are purged');
select is((select count(*)::int from pilot_audit_events where action = 'pilot_apply_retention'), 2, 'one audit row per run');
select is((select format('%s %s %s', coalesce(actor::text, 'null'), actor_role, detail -> 'dry_run') from pilot_audit_events
            where action = 'pilot_apply_retention' and not (detail ->> 'dry_run')::boolean),
          'null service_role false', '… the real run''s receipt names the backend role');
select is((select jsonb_array_length(detail -> 'tables') from pilot_audit_events
            where action = 'pilot_apply_retention' and not (detail ->> 'dry_run')::boolean), 10, '… and every table with its cutoff and rows');
select ok(exists (select 1 from pilot_verify() where "check" like 'no row is past its retention window%' and ok),
          'pilot_verify(): no row is past its window after the run');
select is((select count(*)::int from pilot_verify() where not ok), 0, 'pilot_verify() is all ok');

select * from finish();
