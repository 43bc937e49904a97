-- SPEC §14: registered cycles and cohorts — a code can spell a person, so cycles and cohorts are
-- registered by app admins first, and every write names a registered one (23503 naming the field,
-- never the value), through the recorders and through direct writes.
\set ON_ERROR_STOP 1
\set QUIET 1
set client_min_messages = warning;
\i tests/fixtures/host_baseline.sql
\i tests/fixtures/snapshot.sql
create extension pgtap;
create extension pilot_guardrails;

select plan(22);

-- The full error of a statement as an API role: SQLSTATE, message and DETAIL.
create function pg_temp.error_of(sub text, q text) returns text language plpgsql as $$
declare
    st text; msg text; det text;
begin
    perform set_config('request.jwt.claims', json_build_object('role', 'authenticated', 'sub', sub)::text, true);
    perform set_config('role', 'authenticated', true);
    begin
        execute q;
    exception when others then
        get stacked diagnostics st = returned_sqlstate, msg = message_text, det = pg_exception_detail;
    end;
    perform set_config('role', 'none', true);
    return coalesce(st || ': ' || msg || ' / ' || coalesce(det, ''), 'no error');
end $$;
\set admin '11111111-1111-4111-8111-111111111111'
\set editor '22222222-2222-4222-8222-222222222222'
\set nobody '55555555-5555-4555-8555-555555555555'

-- Registering: app admins only.
select is(test_support.as_user(:'editor', $$select pilot_register_cycle('{"id": "Jane.Doe.555-1234", "starts_on": "2026-04-01", "ends_on": "2026-06-30"}')::text$$),
          'error:42501: pilot_register_cycle: not allowed: cycles and cohorts are registered by app admins only', 'a writer may not register a cycle');
select is(pg_temp.error_of(:'editor', $$insert into pilot_cycles (id, starts_on, ends_on) values ('Jane.Doe.555-1234', '2026-04-01', '2026-06-30')$$),
          '42501: new row violates row-level security policy for table "pilot_cycles" / ', '… nor insert one directly');
select is(test_support.as_user(:'admin', $$select pilot_register_cycle('{"id": "q2", "starts_on": "2026-04-01", "ends_on": "2026-06-30"}') ->> 'id'$$),
          'q2', 'an app admin registers a cycle');
select is(test_support.as_user(:'admin', $$select pilot_register_cycle('{"id": "q3", "starts_on": "2026-07-01", "ends_on": "2026-06-30"}')::text$$),
          'error:22023: pilot_register_cycle: invalid payload (1 issue)', 'a cycle ending before it starts: 22023');
select is(test_support.as_user(:'admin', $$select pilot_register_cohort('{"pilot_cycle_id": "q2", "label": "walk-ins"}') ->> 'label'$$),
          'walk-ins', 'an app admin registers a cohort');
select is(test_support.as_user(:'admin', $$select pilot_register_cohort('{"pilot_cycle_id": "q9", "label": "walk-ins"}')::text$$),
          'error:23503: pilot_cycle_id: no registered pilot cycle with this id (public.pilot_cycles)', 'a cohort of an unregistered cycle: 23503');
select is((select string_agg(action || ' ' || target, ', ' order by at) from pilot_audit_events where action like 'pilot_register%' and actor is not null),
          'pilot_register_cycle q2, pilot_register_cohort ' || (select id::text from pilot_cohorts where label = 'walk-ins'), 'each registration is audited');
select is(test_support.as_user(:'editor', $$select string_agg(id, ',') from pilot_cycles$$), 'q2', 'a member of an organization reads the cycles');
select is(test_support.as_user(:'nobody', $$select count(*)::text from pilot_cycles$$), '0', 'a signed-in user of no organization reads none');

-- Recording into an unregistered cycle or cohort: 23503 naming the field, never the value.
select is(test_support.as_user(:'editor', $$select pilot_record_contact_attempt('{"pilot_cycle_id": "Jane.Doe.555-1234", "service_id": "svc-shelter",
              "recorded_by_org_id": "a0000000-0000-4000-8000-00000000000a", "entity_key_hash": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
              "attempt_channel": "phone", "attempt_outcome": "connected", "attempted_at": "2026-06-01T10:00:00Z"}')::text$$),
          'error:23503: pilot_cycle_id: no registered pilot cycle with this id (public.pilot_cycles)', 'a recorder refuses an unregistered cycle');
select is(test_support.as_user(:'editor', $$select pilot_record_preference_fit('{"pilot_cycle_id": "q2", "org_id": "a0000000-0000-4000-8000-00000000000a",
              "cohort_label": "JohnSmith_DOB_1980-01-01", "recorded_at": "2026-06-01T10:00:00Z", "preferred_via_platform": true}')::text$$),
          'error:23503: cohort_label: no registered cohort with this label in the cycle (public.pilot_cohorts)', 'and an unregistered cohort');
select is(test_support.as_user(:'editor', $$select pilot_record_preference_fit('{"pilot_cycle_id": "q2", "org_id": "a0000000-0000-4000-8000-00000000000a",
              "cohort_label": "walk-ins", "recorded_at": "2026-06-01T10:00:00Z", "preferred_via_platform": true}') ->> 'cohort_label'$$),
          'walk-ins', 'a registered cohort of the cycle is recorded');
select is(pg_temp.error_of(:'editor', $$insert into pilot_service_scope (pilot_cycle_id, org_id, service_id, sla_tier)
              values ('Jane.Doe.555-1234', 'a0000000-0000-4000-8000-00000000000a', 'svc-shelter', 'crisis')$$),
          '23503: insert or update on table "pilot_service_scope" violates foreign key constraint "pilot_cycle_id_is_registered" / Key is not present in table "pilot_cycles".',
          'a direct write into an unregistered cycle: 23503 naming the field, the value kept out of the DETAIL');
select is(pg_temp.error_of(:'editor', $$insert into pilot_preference_fit_events (pilot_cycle_id, org_id, cohort_label, recorded_at, preferred_via_platform)
              values ('q2', 'a0000000-0000-4000-8000-00000000000a', 'JohnSmith_DOB_1980-01-01', now(), true)$$),
          '23503: insert or update on table "pilot_preference_fit_events" violates foreign key constraint "cohort_label_is_registered" / Key is not present in table "pilot_cohorts".',
          'a direct write naming an unregistered cohort: 23503, no value');
-- PostgreSQL 18 reports a RESTRICT refusal as 23001 restrict_violation; 15-17 as 23503.
select throws_ok($$delete from pilot_cycles where id = 'q2'$$, case when current_setting('server_version_num')::int >= 180000 then '23001' else '23503' end, null,
                 'a cycle in use cannot be deleted (ON DELETE RESTRICT: 23503; 23001 on 18)');

-- Idempotent registration (SPEC §10.2: the registration functions honour the key too).
select set_config('request.headers', '{"idempotency-key": "reg-1"}', false) \gset
select is(test_support.as_user(:'admin', $$select pilot_register_cycle('{"id": "q4", "starts_on": "2026-10-01", "ends_on": "2026-12-31"}') ->> 'id'$$),
          'q4', 'a keyed registration');
select is(test_support.as_user(:'admin', $$select pilot_register_cycle('{"id": "q4", "starts_on": "2026-10-01", "ends_on": "2026-12-31"}') ->> 'id'$$),
          'q4', '… replayed: 200 with the registered cycle, not 409');
select is(test_support.as_user(:'admin', $$select pilot_register_cycle('{"id": "q5", "starts_on": "2026-10-01", "ends_on": "2026-12-31"}')::text$$),
          'error:PT422: pilot_register_cycle: idempotency key reused with a different request', '… another cycle under that key: 422');
select set_config('request.headers', '', false) \gset
select is((select count(*)::int from pilot_cycles where id in ('q4', 'q5')), 1, 'one cycle registered');

-- Keyed pseudonyms (SPEC §14): equal client hashes give equal stored values, recorder or direct write.
select is(test_support.as_user(:'editor', $$select pilot_record_contact_attempt('{"pilot_cycle_id": "q2", "service_id": "svc-shelter",
              "recorded_by_org_id": "a0000000-0000-4000-8000-00000000000a", "entity_key_hash": "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08",
              "attempt_channel": "phone", "attempt_outcome": "connected", "attempted_at": "2026-06-01T10:00:00Z"}') ->> 'entity_key_hash'$$),
          test_support.as_user(:'editor', $$with r as (insert into pilot_contact_attempt_events (pilot_cycle_id, service_id, recorded_by_org_id, entity_key_hash,
              attempt_channel, attempt_outcome, attempted_at) values ('q2', 'svc-shelter', 'a0000000-0000-4000-8000-00000000000a',
              '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08', 'phone', 'no_response', now()) returning entity_key_hash)
              select entity_key_hash from r$$),
          'the same client hash stores the same keyed value through a recorder and a direct write');
select is((select count(distinct entity_key_hash)::int from pilot_contact_attempt_events where pilot_cycle_id = 'q2'), 1,
          '… one pseudonym for M5');

select is((select count(*)::int from pilot_verify() where not ok), 0, 'pilot_verify() is all ok');

select * from finish();
