-- SPEC §8: the scorecard against a fixture with hand-computed values (tests/fixtures/scorecard_rows.sql),
-- Gate 1 at, above and below each bound, access, snapshots and history.
\set ON_ERROR_STOP 1
\set QUIET 1
set client_min_messages = warning;
\i tests/fixtures/host_baseline.sql
\i tests/fixtures/snapshot.sql
create extension pgtap;
create extension pilot_guardrails;
\i tests/fixtures/cycles.sql
\i tests/fixtures/scorecard_rows.sql
-- This file checks SPEC §8's arithmetic on a small fixture: small-cell suppression (§11.1) is off
-- here (the owner may) and has its own tests (tests/sql/suppression.sql).
select pilot_configure('min_cell_size', '0') \gset

select plan(66);

create temp table card as
    select pilot_scorecard('sc', 'a0000000-0000-4000-8000-00000000000a', '2026-06-10T12:00:00Z') as c;
create function pg_temp.m(metric text) returns jsonb language sql as $$ select c -> 'metrics' -> metric from card $$;
create function pg_temp.r(num int, den int) returns jsonb language sql as $$
    select jsonb_build_object('value', case when den > 0 then num::numeric / den end, 'numerator', num, 'denominator', den,
                              'suppressed', false) $$;
create function pg_temp.p(v numeric, den int) returns jsonb language sql as $$
    select jsonb_build_object('value', v, 'numerator', null, 'denominator', den, 'suppressed', false) $$;

select is((select c - 'metrics' from card),
          '{"pilot_cycle_id": "sc", "org_id": "a0000000-0000-4000-8000-00000000000a", "as_of": "2026-06-10T12:00:00Z", "gate1": null}',
          'the envelope: cycle, org, as_of in UTC, gate1 null without baselines');
select is((select array_agg(k order by k) from card, jsonb_object_keys(c -> 'metrics') k),
          array['M1', 'M2_P50', 'M2_P75', 'M2_P90', 'M3', 'M4', 'M5', 'M6', 'M7'], 'every metric is present');
select is(pg_temp.m('M1'), pg_temp.r(4, 6), 'M1: 4 failed of 6 attempts (other cycles and organizations left out)');
select is(pg_temp.m('M2_P50'), pg_temp.p(3, 5), 'M2 P50 of {0,0,3,11,37} = 3 (10.5 s rounds to 11, 0.4 s to 0, 2.5 s to 3)');
select is(pg_temp.m('M2_P75'), pg_temp.p(11, 5), 'M2 P75 = 11');
select is(pg_temp.m('M2_P90'), pg_temp.p(26.6, 5), 'M2 P90 = 11 + 0.6 × 26 = 26.6 (negative and foreign-anchored connections left out)');
select is(pg_temp.m('M3'), pg_temp.r(2, 4), 'M3: 2 terminal of 4 referrals');
select is(pg_temp.m('M4'), pg_temp.r(4, 5), 'M4: 4 of 5 scoped services fresh at as_of (exactly 24/48/168 h count; 24 h + 1 µs does not)');
select is(pg_temp.m('M5'), pg_temp.r(1, 3), 'M5: 1 of 3 hashes failed twice (exactly one failure does not count)');
select is(pg_temp.m('M6'), pg_temp.r(1, 10), 'M6: 1 fatal of 10 audits');
select is(pg_temp.m('M7'), pg_temp.r(3, 4), 'M7: 3 of 4 preferred via the platform');
select ok((select (c -> 'metrics' -> 'M1' -> 'value') = '0.66666666666666666667'::jsonb from card), 'M1 is numerator::numeric / denominator, unchanged');

-- as_of moves only M4: an hour earlier, svc-clinic's check (24 h + 1 µs before the original as_of) is fresh.
select is(pilot_scorecard('sc', 'a0000000-0000-4000-8000-00000000000a', '2026-06-10T11:00:00Z') -> 'metrics' -> 'M4',
          pg_temp.r(5, 5), 'M4 at an earlier as_of: 5 of 5');
select is((pilot_scorecard('sc', 'a0000000-0000-4000-8000-00000000000a', '2026-06-10T11:00:00Z') -> 'metrics') - 'M4',
          (select (c -> 'metrics') - 'M4' from card), 'every other metric ignores as_of');
select is(pilot_scorecard('sc', 'a0000000-0000-4000-8000-00000000000a', '2026-06-02T00:00:00Z') -> 'metrics' -> 'M4',
          pg_temp.r(0, 5), 'checks after as_of are ignored (none before: 0 of 5)');
select is(pilot_scorecard('sc', 'a0000000-0000-4000-8000-00000000000a', '2026-06-10T12:00:00.5+02:00') ->> 'as_of',
          '2026-06-10T10:00:00.500000Z', 'as_of is echoed in UTC with its fraction when not zero');

-- Percentiles with 1 and 2 durations; P90 of {0, 37} is exactly 33.3 (percentile_cont says 33.300000000000004).
select is(pilot_scorecard('sc1', 'a0000000-0000-4000-8000-00000000000a') -> 'metrics' -> 'M2_P90', pg_temp.p(42, 1), 'one duration: every percentile is it');
select is(pilot_scorecard('sc2', 'a0000000-0000-4000-8000-00000000000a') -> 'metrics' -> 'M2_P50', pg_temp.p(18.5, 2), 'P50 of {0, 37} = 18.5');
select is(pilot_scorecard('sc2', 'a0000000-0000-4000-8000-00000000000a') -> 'metrics' -> 'M2_P75', pg_temp.p(27.75, 2), 'P75 of {0, 37} = 27.75');
select is(pilot_scorecard('sc2', 'a0000000-0000-4000-8000-00000000000a') -> 'metrics' -> 'M2_P90', '{"value": 33.3, "numerator": null, "denominator": 2, "suppressed": false}',
          'P90 of {0, 37} = 33.3 exactly');
select isnt((select percentile_cont(0.9) within group (order by x) from unnest(array[0, 37]) x)::text, '33.3',
            '(while percentile_cont would not say 33.3)');

-- Zero denominators are null, not zero.
select is(pilot_scorecard('empty', 'a0000000-0000-4000-8000-00000000000a') -> 'metrics',
          jsonb_build_object('M1', pg_temp.r(0, 0), 'M2_P50', pg_temp.p(null, 0), 'M2_P75', pg_temp.p(null, 0),
                             'M2_P90', pg_temp.p(null, 0), 'M3', pg_temp.r(0, 0), 'M4', pg_temp.r(0, 0),
                             'M5', pg_temp.r(0, 0), 'M6', pg_temp.r(0, 0), 'M7', pg_temp.r(0, 0)),
          'an empty cycle: every value null, every denominator 0');

-- Gate 1 with both baselines; at, above and below each bound; null metrics fail.
create function pg_temp.g(m1n int, m1d int, p50 numeric, m4n int, m4d int, m3n int, m3d int, m6n int, m6d int,
                          b1 numeric default 0.5, b2 numeric default 100) returns jsonb language sql as $$
    select pilot_private.gate1(jsonb_build_object('M1', pg_temp.r(m1n, m1d), 'M2_P50', pg_temp.p(p50, 1),
                                                  'M4', pg_temp.r(m4n, m4d), 'M3', pg_temp.r(m3n, m3d), 'M6', pg_temp.r(m6n, m6d)), b1, b2) $$;
select is(pg_temp.g(35, 100, 75, 70, 100, 50, 100, 10, 100),
          '{"failed_contact_rate_reduction_pass": true, "time_to_connection_reduction_pass": true, "freshness_sla_pass": true,
            "referral_capture_pass": true, "fatal_error_rate_pass": true, "passed_all": true, "insufficient_data": []}',
          'every metric exactly at its bound passes (30 %, 25 %, 0.70, 0.50, 0.10)');
select is(pg_temp.g(34, 100, 74.99, 71, 100, 51, 100, 9, 100) ->> 'passed_all', 'true', 'every metric just beyond its bound passes');
select is(pg_temp.g(36, 100, 75, 70, 100, 50, 100, 10, 100) ->> 'failed_contact_rate_reduction_pass', 'false', 'M1 reduced by 28 %: fails');
select is(pg_temp.g(36, 100, 75, 70, 100, 50, 100, 10, 100) ->> 'passed_all', 'false', '… and so does passed_all');
select is(pg_temp.g(7, 20, 75, 70, 100, 50, 100, 10, 100) ->> 'failed_contact_rate_reduction_pass', 'true', 'M1 7/20 = 0.35 against 0.5: exactly 30 %');
select is(pg_temp.g(0, 0, 75, 70, 100, 50, 100, 10, 100) ->> 'failed_contact_rate_reduction_pass', 'false', 'M1 null: fails');
select is(pg_temp.g(0, 0, 75, 70, 100, 0, 0, 10, 100) -> 'insufficient_data', '["failed_contact_rate_reduction_pass", "referral_capture_pass"]',
          '… and, with M3 null, both are listed as insufficient data (SPEC §11.1)');
select is(pg_temp.g(35, 100, 75, 70, 100, 50, 100, 10, 100, 0, 100) ->> 'failed_contact_rate_reduction_pass', 'false', 'M1 baseline 0: fails');
select is(pg_temp.g(35, 100, 75.01, 70, 100, 50, 100, 10, 100) ->> 'time_to_connection_reduction_pass', 'false', 'P50 reduced by 24.99 %: fails');
select is(pg_temp.g(35, 100, null, 70, 100, 50, 100, 10, 100) ->> 'time_to_connection_reduction_pass', 'false', 'P50 null: fails');
select is(pg_temp.g(35, 100, 75, 70, 100, 50, 100, 10, 100, 0.5, -5) ->> 'time_to_connection_reduction_pass', 'false', 'P50 baseline ≤ 0: fails');
select is(pg_temp.g(35, 100, 75, 69, 100, 50, 100, 10, 100) ->> 'freshness_sla_pass', 'false', 'M4 0.69: fails');
select is(pg_temp.g(35, 100, 75, 7, 10, 50, 100, 10, 100) ->> 'freshness_sla_pass', 'true', 'M4 7/10: passes');
select is(pg_temp.g(35, 100, 75, 0, 0, 50, 100, 10, 100) ->> 'freshness_sla_pass', 'false', 'M4 null: fails');
select is(pg_temp.g(35, 100, 75, 70, 100, 49, 100, 10, 100) ->> 'referral_capture_pass', 'false', 'M3 0.49: fails');
select is(pg_temp.g(35, 100, 75, 70, 100, 0, 0, 10, 100) ->> 'referral_capture_pass', 'false', 'M3 null: fails');
select is(pg_temp.g(35, 100, 75, 70, 100, 50, 100, 11, 100) ->> 'fatal_error_rate_pass', 'false', 'M6 0.11: fails');
select is(pg_temp.g(35, 100, 75, 70, 100, 50, 100, 1, 10) ->> 'fatal_error_rate_pass', 'true', 'M6 1/10: passes');
select is(pg_temp.g(35, 100, 75, 70, 100, 50, 100, 0, 0) ->> 'fatal_error_rate_pass', 'false', 'M6 null: fails');
select is(pilot_private.gate1('{}', 0.5, null), null, 'gate1 is null unless both baselines are given');
select throws_ok($$select pilot_scorecard('sc', 'a0000000-0000-4000-8000-00000000000a', '2026-06-10T12:00:00Z', 'NaN', 4)$$,
                 '22023', 'pilot_scorecard: baseline_failed_contact_rate must be a finite number', 'a NaN baseline is refused (22023)');
select throws_ok($$select pilot_scorecard('sc', 'a0000000-0000-4000-8000-00000000000a', '2026-06-10T12:00:00Z', 0.5, 'Infinity')$$,
                 '22023', 'pilot_scorecard: baseline_p50_seconds_to_connection must be a finite number', 'an infinite baseline is refused');
select throws_ok($$select pilot_scorecard('sc', 'a0000000-0000-4000-8000-00000000000a', '2026-06-10T12:00:00Z', '-Infinity', 4)$$,
                 '22023', null, 'a negative infinite baseline is refused');

-- Gate 1 on the fixture: M1 4/6 against 0.95 (−29.8 %): fails; P50 3 against 4 s (−25 %): passes;
-- M4 0.8, M3 0.5, M6 0.1: pass.
select is(pilot_scorecard('sc', 'a0000000-0000-4000-8000-00000000000a', '2026-06-10T12:00:00Z', 0.95, 4) -> 'gate1',
          '{"failed_contact_rate_reduction_pass": false, "time_to_connection_reduction_pass": true, "freshness_sla_pass": true,
            "referral_capture_pass": true, "fatal_error_rate_pass": true, "passed_all": false, "insufficient_data": []}', 'gate1 on the fixture');
select is(pilot_scorecard('sc', 'a0000000-0000-4000-8000-00000000000a', '2026-06-10T12:00:00Z', 0.96, 4) -> 'gate1' ->> 'passed_all',
          'true', 'with a baseline of 0.96 the M1 reduction is 30.6 %: all pass');

-- Access: members, admins, service_role; nobody else.
select is(test_support.run_as('authenticated', '{"sub":"33333333-3333-4333-8333-333333333333"}',
              $$select pilot_scorecard('sc', 'a0000000-0000-4000-8000-00000000000a', '2026-06-10T12:00:00Z') -> 'metrics'$$),
          (select (c -> 'metrics')::text from card), 'a viewer of A reads the same scorecard (RLS sees the same rows)');
select is(test_support.run_as('authenticated', '{"sub":"11111111-1111-4111-8111-111111111111"}',
              $$select pilot_scorecard('sc', 'a0000000-0000-4000-8000-00000000000a', '2026-06-10T12:00:00Z') -> 'metrics'$$),
          (select (c -> 'metrics')::text from card), 'an admin too');
select is(test_support.run_as('service_role', '{"role":"service_role"}',
              $$select pilot_scorecard('sc', 'a0000000-0000-4000-8000-00000000000a', '2026-06-10T12:00:00Z') -> 'metrics'$$),
          (select (c -> 'metrics')::text from card), 'and service_role');
select is(test_support.run_as('authenticated', '{"sub":"44444444-4444-4444-8444-444444444444"}',
              $$select pilot_scorecard('sc', 'a0000000-0000-4000-8000-00000000000a')::text$$),
          'ERROR 42501: pilot_scorecard: not allowed: the caller is not a member of the organization', 'a member of B gets 42501');
select is(test_support.run_as('authenticated', '{"sub":"55555555-5555-4555-8555-555555555555"}',
              $$select pilot_scorecard('sc', 'a0000000-0000-4000-8000-00000000000a')::text$$),
          'ERROR 42501: pilot_scorecard: not allowed: the caller is not a member of the organization', 'a non-member gets 42501');
select is(test_support.run_as('authenticated', '{}', $$select pilot_scorecard('sc', 'a0000000-0000-4000-8000-00000000000a')::text$$),
          'ERROR 42501: pilot_scorecard: not signed in (no user id in request.jwt.claims)', 'no user id: 42501');
select matches(test_support.run_as('anon', '{"role":"anon"}', $$select pilot_scorecard('sc', 'a0000000-0000-4000-8000-00000000000a')::text$$),
          '^ERROR 42501: permission denied for function pilot_scorecard', 'anon: no EXECUTE');
select is((select provolatile from pg_proc where proname = 'pilot_scorecard'), 's', 'pilot_scorecard is STABLE (PostgREST serves it on GET)');

-- Snapshots: writers and admins recompute; one calculated_at for the nine rows; history newest first.
select is(test_support.run_as('authenticated', '{"sub":"33333333-3333-4333-8333-333333333333"}',
              $$select pilot_recompute_metrics('sc', 'a0000000-0000-4000-8000-00000000000a')::text$$),
          'ERROR 42501: pilot_recompute_metrics: not allowed: the caller is not a writer (owner, admin or editor) of the organization',
          'a viewer cannot recompute');
select is(test_support.run_as('authenticated', '{"sub":"22222222-2222-4222-8222-222222222222"}',
              $$select pilot_recompute_metrics('sc', 'a0000000-0000-4000-8000-00000000000a') -> 'metrics' -> 'M6'$$),
          pg_temp.r(1, 10)::text, 'an editor recomputes and gets the scorecard back');
select is((select count(*)::int from pilot_metric_snapshots where pilot_cycle_id = 'sc'), 9, 'nine snapshot rows');
select is((select count(distinct calculated_at)::int from pilot_metric_snapshots where pilot_cycle_id = 'sc'), 1, 'with one calculated_at');
select is((select metric_value from pilot_metric_snapshots where pilot_cycle_id = 'sc' and metric_id = 'M2_P90'), 26.6, 'values stored as numeric');
select is((select numerator from pilot_metric_snapshots where pilot_cycle_id = 'sc' and metric_id = 'M2_P90'), null, 'M2 has no numerator');
update pilot_metric_snapshots set calculated_at = calculated_at - interval '1 day' where pilot_cycle_id = 'sc';
select pilot_recompute_metrics('sc', 'a0000000-0000-4000-8000-00000000000a') \gset
select is((select array_agg(distinct calculated_at::date < current_date) from (select * from pilot_metric_history('sc', 'a0000000-0000-4000-8000-00000000000a') limit 9) h),
          array[false], 'history: the newest calculation comes first');
select is((select count(*)::int from pilot_metric_history('sc', 'a0000000-0000-4000-8000-00000000000a')), 18, 'history holds both calculations');
select is(test_support.run_as('authenticated', '{"sub":"33333333-3333-4333-8333-333333333333"}',
              $$select count(*) from pilot_metric_history('sc', 'a0000000-0000-4000-8000-00000000000a')$$),
          '18', 'a viewer reads the history');
select is(test_support.run_as('authenticated', '{"sub":"44444444-4444-4444-8444-444444444444"}',
              $$select count(*) from pilot_metric_history('sc', 'a0000000-0000-4000-8000-00000000000a')$$),
          'ERROR 42501: pilot_metric_history: not allowed: the caller is not a member of the organization', 'a member of B does not');

-- Missing storage: PT501 naming it.
-- (Not inside BEGIN … ROLLBACK: on PostgreSQL 18, pgTAP's count of a test run in a rolled-back
-- transaction is rolled back with it.)
alter table pilot_data_decay_audits rename to pilot_data_decay_audits_away;
select throws_ok($$select pilot_scorecard('sc', 'a0000000-0000-4000-8000-00000000000a')$$, 'PT501', null, 'a missing source table answers PT501');
alter table pilot_data_decay_audits_away rename to pilot_data_decay_audits;

select * from finish();
