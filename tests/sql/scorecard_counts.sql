-- The scorecard's maintained counts (sql/79_scorecard_counts.sql): who can read and write them,
-- seconds_to_connection fixed by the database, TRUNCATE, compaction, the rebuild. Exactness under
-- random and concurrent writes is tests/scenarios/scorecard_exactness.sh.
\set ON_ERROR_STOP 1
\set QUIET 1
set client_min_messages = warning;
-- The counting triggers compact 1 write statement in 64 at random (and every DELETE); test 21 needs
-- the writes before it — the fixture's rows among them — to leave deltas, so the session's random
-- sequence is fixed before the first write.
select setseed(0.25) \g /dev/null
\i tests/fixtures/host_baseline.sql
\i tests/fixtures/snapshot.sql
create extension pgtap;
create extension pilot_guardrails;
\i tests/fixtures/cycles.sql
\i tests/fixtures/scorecard_rows.sql
select pilot_configure('min_cell_size', '0') \gset

select plan(31);

create function pg_temp.card(v_org uuid) returns jsonb language sql as $$
    select pilot_scorecard('sc', v_org, '2026-06-10T12:00:00Z') -> 'metrics' $$;
create temp table before_ as select pg_temp.card('a0000000-0000-4000-8000-00000000000a') as m;

-- Who reads and writes them, in a SQL session acting as authenticated (PostgREST exposes neither
-- schema's tables: pilot_private is not in db-schemas).
select is(test_support.run_as('authenticated', '{"sub":"33333333-3333-4333-8333-333333333333"}',
              $$select count(distinct org_id)::text from pilot_private.scorecard_counts$$),
          '1', 'a viewer of A reads the counts of A only (row-level security)');
select is(test_support.run_as('authenticated', '{"sub":"33333333-3333-4333-8333-333333333333"}',
              $$select count(*)::text from pilot_private.scorecard_counts where org_id is distinct from 'a0000000-0000-4000-8000-00000000000a'$$),
          '0', 'nothing of B and no cycle-wide row (people across organizations) for a member of A');
select is(test_support.run_as('authenticated', '{"sub":"55555555-5555-4555-8555-555555555555"}',
              $$select count(*)::text from pilot_private.scorecard_counts$$),
          '0', 'a signed-in user of no organization reads nothing');
select is(test_support.run_as('authenticated', '{"sub":"11111111-1111-4111-8111-111111111111"}',
              $$select (count(*) > 0)::text from pilot_private.scorecard_counts where org_id is null$$),
          'true', 'an admin reads the cycle-wide rows');
-- The readers are callable in SQL as authenticated, and read as the caller: an outsider learns nothing.
select is(test_support.run_as('authenticated', '{"sub":"44444444-4444-4444-8444-444444444444"}',
              $$select pilot_private.counted_metrics('sc', 'a0000000-0000-4000-8000-00000000000a') -> 'M1' ->> 'denominator'$$),
          '0', 'the owner of B calling counted_metrics for A directly: 0 attempts (row-level security on the counts)');
select is(test_support.run_as('authenticated', '{"sub":"44444444-4444-4444-8444-444444444444"}',
              $$select pilot_private.durations_at_ranks('sc', 'a0000000-0000-4000-8000-00000000000a', '{0,1,2}')::text$$),
          '{NULL,NULL,NULL}', 'nor any duration of A');
select is(test_support.run_as('authenticated', '{"sub":"44444444-4444-4444-8444-444444444444"}',
              $$select pilot_private.counted_metrics('sc', null) -> 'M5' ->> 'denominator'$$),
          '0', 'nor the cycle-wide people count (admins only)');
select is(test_support.run_as('authenticated', '{"sub":"22222222-2222-4222-8222-222222222222"}',
              $$insert into pilot_private.scorecard_counts (pilot_cycle_id, org_id, source, n) values ('sc', 'a0000000-0000-4000-8000-00000000000a', 1, 1000)$$),
          'ERROR 42501: permission denied for table scorecard_counts', 'a writer of A cannot forge a count');
select is(test_support.run_as('authenticated', '{"sub":"22222222-2222-4222-8222-222222222222"}',
              $$delete from pilot_private.scorecard_counts$$),
          'ERROR 42501: permission denied for table scorecard_counts', 'nor delete one');
select is(test_support.run_as('authenticated', '{"sub":"22222222-2222-4222-8222-222222222222"}',
              $$select count(*)::text from pilot_private.scorecard_people$$),
          'ERROR 42501: permission denied for table scorecard_people', 'nobody but the owner reads the people (hashes per organization)');
select is(test_support.run_as('service_role', '{"role":"service_role"}',
              $$select count(*)::text from pilot_private.scorecard_people$$),
          'ERROR 42501: permission denied for table scorecard_people', 'not even service_role');
select is(test_support.run_as('authenticated', '{"sub":"11111111-1111-4111-8111-111111111111"}',
              $$select public.pilot_rebuild_scorecard_counts()::text$$),
          'ERROR 42501: permission denied for function pilot_rebuild_scorecard_counts', 'an admin cannot run the rebuild (backend roles only)');
select is(test_support.run_as('authenticated', '{"sub":"11111111-1111-4111-8111-111111111111"}',
              $$select pilot_private.rebuild_scorecard_counts()::text$$),
          'ERROR 42501: permission denied for function rebuild_scorecard_counts', 'nor its privileged part, called directly');
select is(test_support.run_as('authenticated', '{"sub":"11111111-1111-4111-8111-111111111111"}',
              $$select pilot_private.compact_scorecard_counts('sc', 'a0000000-0000-4000-8000-00000000000a')::text$$),
          'ERROR 42501: permission denied for function compact_scorecard_counts', 'nor the compaction');
select is(test_support.run_as('authenticated', '{"sub":"22222222-2222-4222-8222-222222222222"}',
              $$select pilot_private.add_flag_counts(3::smallint, '{sc}', '{a0000000-0000-4000-8000-00000000000a}', '{1000}', '{true}', 'INSERT')::text$$),
          'ERROR 42501: permission denied for function add_flag_counts', 'nor the helpers the triggers call');

-- A writer's direct writes through the table (PostgREST's table endpoint) are counted, and the
-- duration a client sends is not taken.
select is(test_support.run_as('authenticated', '{"sub":"22222222-2222-4222-8222-222222222222"}',
              $$insert into pilot_connection_events (pilot_cycle_id, org_id, service_id, connected_at, referral_event_id, seconds_to_connection)
                values ('sc', 'a0000000-0000-4000-8000-00000000000a', 'svc-food', '2026-06-01T09:01:40Z', 'b1000000-0000-4000-8000-000000000004', 1)
                returning seconds_to_connection::text$$),
          '100', 'seconds_to_connection is computed from the anchor (100 s), not the 1 sent');
select is(pg_temp.card('a0000000-0000-4000-8000-00000000000a') -> 'M2_P50' -> 'denominator', '6', 'the writer''s connection counts at once: 6 durations');
select is(test_support.run_as('authenticated', '{"sub":"22222222-2222-4222-8222-222222222222"}',
              $$update pilot_connection_events set seconds_to_connection = 5 where referral_event_id = 'b1000000-0000-4000-8000-000000000004'
                returning seconds_to_connection::text$$),
          '100', 'an update cannot set it either');
update pilot_referral_events set created_at = created_at - interval '1 hour' where id = 'b1000000-0000-4000-8000-000000000004';
select is((select seconds_to_connection from pilot_connection_events where referral_event_id = 'b1000000-0000-4000-8000-000000000004'),
          3700::bigint, 'the anchor''s time moves 1 h earlier: its connection''s duration follows (3,700 s)');
update pilot_referral_events set created_at = created_at + interval '1 hour' where id = 'b1000000-0000-4000-8000-000000000004';
delete from pilot_connection_events where referral_event_id = 'b1000000-0000-4000-8000-000000000004';
select is(pg_temp.card('a0000000-0000-4000-8000-00000000000a'), (select m from before_), 'after it is deleted the scorecard is as before');

-- Compaction: deltas fold into one row per key; the scorecard does not change.
select ok((select count(*) from pilot_private.scorecard_counts where not compacted and pilot_cycle_id = 'sc') > 0,
          'the writes above left deltas');
select pilot_private.compact_scorecard_counts('sc', 'a0000000-0000-4000-8000-00000000000a');
select is((select count(*)::int from pilot_private.scorecard_counts
            where pilot_cycle_id = 'sc' and org_id = 'a0000000-0000-4000-8000-00000000000a' and not compacted), 0,
          'compaction folds every delta of (sc, A)');
select is((select count(*)::int from (select source, bucket from pilot_private.scorecard_counts
                                        where pilot_cycle_id = 'sc' and org_id = 'a0000000-0000-4000-8000-00000000000a'
                                        group by 1, 2 having count(*) > 1) x), 0, 'one row per key after it');
select is((select count(*)::int from pilot_private.scorecard_counts where n = 0 and flagged = 0 and compacted), 0,
          'keys that fell to zero are gone (the deleted connection''s second)');
select is(pg_temp.card('a0000000-0000-4000-8000-00000000000a'), (select m from before_), 'and the scorecard is unchanged');

-- Retention and deletes leave no hash behind.
delete from pilot_connection_events where pilot_cycle_id = 'sc';
delete from pilot_contact_attempt_events where pilot_cycle_id = 'sc';
select is((select count(*)::int from pilot_private.scorecard_people where pilot_cycle_id = 'sc'), 0,
          'every attempt of sc deleted: no person of sc is kept');
select is(pg_temp.card('a0000000-0000-4000-8000-00000000000a') -> 'M5', '{"value": null, "numerator": 0, "denominator": 0, "suppressed": false}',
          'and M5 is 0 of 0');

-- TRUNCATE (owners only) empties the table's sources.
truncate pilot_preference_fit_events;
select is(pg_temp.card('a0000000-0000-4000-8000-00000000000a') -> 'M7' -> 'denominator', '0', 'TRUNCATE: M7 counts nothing');

-- Rows loaded with the triggers off are missed until the rebuild, which restores every count.
alter table pilot_data_decay_audits disable trigger user;
insert into pilot_data_decay_audits (pilot_cycle_id, org_id, service_id, audited_at, is_fatal, fatal_error_category, verification_mode)
select 'sc', 'a0000000-0000-4000-8000-00000000000a', 'svc-food', '2026-06-01', true, 'wrong_or_disconnected_phone', 'web_only'
  from generate_series(1, 5);
alter table pilot_data_decay_audits enable trigger user;
select is(pg_temp.card('a0000000-0000-4000-8000-00000000000a') -> 'M6' -> 'denominator', '10', 'loaded with triggers off: not counted (10 audits)');
select is(pilot_rebuild_scorecard_counts() ->> 'people', '2', 'the rebuild: 2 people rows left (cycle other, by A and across organizations)');
select is(pg_temp.card('a0000000-0000-4000-8000-00000000000a') -> 'M6', '{"value": 0.4, "numerator": 6, "denominator": 15, "suppressed": false}',
          'after it: 6 fatal of 15 audits');

select * from finish();
