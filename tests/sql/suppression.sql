-- SPEC §11.1 small-cell suppression and §11.2 the cycle across organizations, on fixtures built for
-- the edges (k = min_cell_size = 11 unless said).
\set ON_ERROR_STOP 1
\set QUIET 1
set client_min_messages = warning;
\i tests/fixtures/host_baseline.sql
\i tests/fixtures/snapshot.sql
create extension pgtap;
create extension pilot_guardrails;
\i tests/fixtures/cycles.sql

select plan(42);

-- attempts(cycle, org, failed, total): `failed` failures among `total` attempts, distinct hashes.
create function pg_temp.attempts(cycle text, org uuid, failed int, total int) returns void language sql as $$
    insert into pilot_contact_attempt_events (pilot_cycle_id, service_id, recorded_by_org_id, entity_key_hash,
                                              attempt_channel, attempt_outcome, attempted_at)
    select cycle, 'svc-shelter', org, md5(cycle || org || i) || md5(i || cycle), 'phone',
           case when i <= failed then 'no_response' else 'connected' end, '2026-06-01T10:00:00Z'::timestamptz + i * interval '1 minute'
      from generate_series(1, total) i $$;
-- durations(cycle, n, org): n connections, each anchored to its own attempt, 60 s each.
create function pg_temp.durations(cycle text, n int, org uuid default 'a0000000-0000-4000-8000-00000000000a') returns void language sql as $$
    with a as (
        insert into pilot_contact_attempt_events (pilot_cycle_id, service_id, recorded_by_org_id, entity_key_hash,
                                                  attempt_channel, attempt_outcome, attempted_at)
        select cycle, 'svc-shelter', org, md5(cycle || org || i) || md5(i || cycle), 'phone', 'connected',
               '2026-06-01T10:00:00Z'
          from generate_series(1, n) i
        returning id, attempted_at)
    insert into pilot_connection_events (pilot_cycle_id, org_id, service_id, connected_at, contact_attempt_event_id)
    select cycle, org, 'svc-shelter', attempted_at + interval '60 seconds', id from a $$;
-- What a persona reads (PostgREST's way of setting identity), as jsonb text.
create function pg_temp.as_user(sub text, q text) returns jsonb language plpgsql as $$
declare r jsonb;
begin
    perform set_config('request.jwt.claims', json_build_object('role', 'authenticated', 'sub', sub)::text, true);
    perform set_config('role', 'authenticated', true);
    execute q into r;
    perform set_config('role', 'none', true);
    return r;
exception when others then
    perform set_config('role', 'none', true);
    return jsonb_build_object('error', sqlstate);
end $$;
create function pg_temp.card(sub text, cycle text, org text default 'a0000000-0000-4000-8000-00000000000a') returns jsonb language sql as $$
    select pg_temp.as_user(sub, format('select pilot_scorecard(%L, %L)', cycle, org)) $$;

select pg_temp.attempts('n0', 'a0000000-0000-4000-8000-00000000000a', 0, 20);
select pg_temp.attempts('n10', 'a0000000-0000-4000-8000-00000000000a', 10, 40);
select pg_temp.attempts('n11', 'a0000000-0000-4000-8000-00000000000a', 11, 40);
select pg_temp.attempts('d3', 'a0000000-0000-4000-8000-00000000000a', 37, 40);
select pg_temp.attempts('n4', 'a0000000-0000-4000-8000-00000000000a', 4, 40);
select pg_temp.durations('m2-10', 10);
select pg_temp.durations('m2-11', 11);
insert into pilot_data_decay_audits (pilot_cycle_id, org_id, service_id, audited_at, is_fatal, fatal_error_category, verification_mode)
select 'n0', 'a0000000-0000-4000-8000-00000000000a', 'svc-shelter', now(), i = 1,
       case when i = 1 then 'wrong_or_disconnected_phone' end, 'web_only'
  from generate_series(1, 3) i;
insert into pilot_service_scope (pilot_cycle_id, org_id, service_id, sla_tier)
values ('n0', 'a0000000-0000-4000-8000-00000000000a', 'svc-shelter', 'crisis');

\set viewer '33333333-3333-4333-8333-333333333333'
\set editor '22222222-2222-4222-8222-222222222222'
\set admin '11111111-1111-4111-8111-111111111111'

-- The rule at its edges, as a member of A reads pilot_scorecard.
select is(pg_temp.card(:'viewer', 'n0') -> 'metrics' -> 'M1',
          '{"value": 0, "numerator": 0, "denominator": 20, "suppressed": false}', 'numerator 0: shown');
select is(pg_temp.card(:'viewer', 'n10') -> 'metrics' -> 'M1',
          '{"value": null, "numerator": null, "denominator": null, "suppressed": true}', 'numerator 10: suppressed');
select is(pg_temp.card(:'viewer', 'n11') -> 'metrics' -> 'M1' -> 'numerator', '11', 'numerator 11: shown');
select is(pg_temp.card(:'viewer', 'd3') -> 'metrics' -> 'M1' -> 'suppressed', 'true', 'denominator − numerator 3: suppressed');
select is(pg_temp.card(:'viewer', 'n0') -> 'metrics' -> 'M5' -> 'suppressed', 'false', 'M5 0 of 20 hashes: shown');
select is(pg_temp.card(:'viewer', 'n10') -> 'metrics' -> 'M5' -> 'suppressed', 'false', 'M5 (0 of 40 hashes failed twice) is shown where only M1 is small');
select is(pg_temp.card(:'viewer', 'm2-10') -> 'metrics' -> 'M2_P50',
          '{"value": null, "numerator": null, "denominator": null, "suppressed": true}', 'M2 with 10 durations: suppressed');
select is(pg_temp.card(:'viewer', 'm2-11') -> 'metrics' -> 'M2_P90',
          '{"value": 60, "numerator": null, "denominator": 11, "suppressed": false}', 'M2 with 11 durations: shown');
select is(pg_temp.card(:'viewer', 'n0') -> 'metrics' -> 'M6',
          '{"value": 0.33333333333333333333, "numerator": 1, "denominator": 3, "suppressed": false}', 'M6 (1 of 3 audits): never suppressed');
select is(pg_temp.card(:'viewer', 'n0') -> 'metrics' -> 'M4' -> 'suppressed', 'false', 'M4 (1 scoped service): never suppressed');
select is((select count(*)::int from jsonb_each(pg_temp.card(:'viewer', 'n0') -> 'metrics') m where m.value ? 'suppressed'), 9,
          'every metric object carries "suppressed"');
select is(pilot_scorecard('n10', 'a0000000-0000-4000-8000-00000000000a') -> 'metrics' -> 'M1',
          '{"value": 0.25000000000000000000, "numerator": 10, "denominator": 40, "suppressed": false}', 'backend roles see raw numbers');

-- Gate 1: a suppressed metric makes its check false and is listed as insufficient data.
select is(pg_temp.as_user(:'viewer', $$select pilot_scorecard('n10', 'a0000000-0000-4000-8000-00000000000a', now(), 0.9, 1000) -> 'gate1'$$)
            -> 'failed_contact_rate_reduction_pass', 'false', 'Gate 1: the suppressed M1 check is false');
select ok(pg_temp.as_user(:'viewer', $$select pilot_scorecard('n10', 'a0000000-0000-4000-8000-00000000000a', now(), 0.9, 1000) -> 'gate1'$$)
            -> 'insufficient_data' ? 'failed_contact_rate_reduction_pass', '… and insufficient_data lists it');
select ok(not (pg_temp.as_user(:'viewer', $$select pilot_scorecard('n11', 'a0000000-0000-4000-8000-00000000000a', now(), 0.9, 1000) -> 'gate1'$$)
            -> 'insufficient_data' ? 'failed_contact_rate_reduction_pass'), 'a shown M1 is not insufficient data');
select is(pg_temp.as_user(:'viewer', $$select pilot_scorecard('n11', 'a0000000-0000-4000-8000-00000000000a', now(), 0.9, 1000) -> 'gate1'$$)
            -> 'failed_contact_rate_reduction_pass', 'true', '… and its check is computed (0.275 ≤ 0.7 × 0.9)');

-- The same cells suppressed in the recompute's return, the history and the cycle scorecard.
select is(pg_temp.as_user(:'editor', $$select pilot_recompute_metrics('n10', 'a0000000-0000-4000-8000-00000000000a') -> 'metrics' -> 'M1'$$),
          '{"value": null, "numerator": null, "denominator": null, "suppressed": true}', 'pilot_recompute_metrics returns M1 suppressed');
select is((select numerator from pilot_metric_snapshots where pilot_cycle_id = 'n10' and metric_id = 'M1'), 10::numeric,
          '… while the snapshot keeps the raw numbers');
select is(pg_temp.as_user(:'viewer', $$select to_jsonb(h) - 'calculated_at' from pilot_metric_history('n10', 'a0000000-0000-4000-8000-00000000000a') h where metric_id = 'M1'$$),
          '{"metric_id": "M1", "numerator": null, "suppressed": true, "denominator": null, "metric_value": null}',
          'pilot_metric_history suppresses the same cell');
select is(pg_temp.as_user(:'viewer', $$select to_jsonb(h) - 'calculated_at' from pilot_metric_history('n10', 'a0000000-0000-4000-8000-00000000000a') h where metric_id = 'M6'$$)
            -> 'suppressed', 'false', '… and shows M6');
select is((select to_jsonb(h) - 'calculated_at' from pilot_metric_history('n10', 'a0000000-0000-4000-8000-00000000000a') h where metric_id = 'M1'),
          '{"metric_id": "M1", "numerator": 10, "suppressed": false, "denominator": 40, "metric_value": 0.25000000000000000000}',
          'backend roles read the raw history');
select is(pg_temp.as_user(:'admin', $$select pilot_cycle_scorecard('n10') -> 'organizations' -> 0 -> 'metrics' -> 'M1'$$),
          '{"value": null, "numerator": null, "denominator": null, "suppressed": true}', 'pilot_cycle_scorecard suppresses the same cell');

-- k = 5 by an admin, k = 0 by the owner.
select is(pg_temp.as_user(:'admin', $$select pilot_configure('min_cell_size', '5') -> 'value'$$), '"5"', 'an admin sets k = 5');
select is(pg_temp.card(:'viewer', 'n10') -> 'metrics' -> 'M1' -> 'numerator', '10', 'k = 5: numerator 10 shown');
select is(pg_temp.card(:'viewer', 'n4') -> 'metrics' -> 'M1' -> 'suppressed', 'true', 'k = 5: numerator 4 suppressed');
select is(pg_temp.card(:'viewer', 'd3') -> 'metrics' -> 'M1' -> 'suppressed', 'true', 'k = 5: difference 3 still suppressed');
select is(pg_temp.card(:'viewer', 'm2-10') -> 'metrics' -> 'M2_P50' -> 'suppressed', 'false', 'k = 5: M2 with 10 durations shown');
select is(pilot_configure('min_cell_size', '0') -> 'value', '"0"', 'the owner turns suppression off');
select is((select count(*)::int from (values ('n10'), ('n4'), ('d3'), ('m2-10')) c(cycle), jsonb_each(pg_temp.card(:'viewer', c.cycle) -> 'metrics') m
            where (m.value ->> 'suppressed')::boolean), 0, 'k = 0: nothing suppressed');
select is(pilot_configure('min_cell_size', '11') -> 'value', '"11"', 'back to k = 11');

-- The cycle across organizations.
select pg_temp.attempts('cyc-3', 'a0000000-0000-4000-8000-00000000000a', 3, 40);
select pg_temp.attempts('cyc-3', 'b0000000-0000-4000-8000-00000000000b', 20, 50);
select pg_temp.attempts('cyc-3', 'c0000000-0000-4000-8000-00000000000c', 15, 60);
select pg_temp.attempts('cyc-2s', 'a0000000-0000-4000-8000-00000000000a', 2, 30);
select pg_temp.attempts('cyc-2s', 'b0000000-0000-4000-8000-00000000000b', 3, 30);
select pg_temp.attempts('cyc-2s', 'c0000000-0000-4000-8000-00000000000c', 30, 60);
insert into pilot_preference_fit_events (pilot_cycle_id, org_id, cohort_label, recorded_at, preferred_via_platform)
values ('cyc-3', '99999999-0000-4000-8000-000000000009', 'c1', now(), true);
select pg_temp.durations('cyc-2s', 3, 'a0000000-0000-4000-8000-00000000000a');
select pg_temp.durations('cyc-2s', 20, 'b0000000-0000-4000-8000-00000000000b');

create temp table cyc as select pg_temp.as_user(:'admin', $$select pilot_cycle_scorecard('cyc-3', '2026-07-01T00:00:00Z')$$) as c;
select is((select jsonb_agg(o -> 'org_id') from cyc, jsonb_array_elements(c -> 'organizations') o),
          '["99999999-0000-4000-8000-000000000009", "a0000000-0000-4000-8000-00000000000a", "b0000000-0000-4000-8000-00000000000b", "c0000000-0000-4000-8000-00000000000c"]',
          'every organization with a row of the cycle in any pilot table, by org_id');
select is((select jsonb_object_agg(o ->> 'org_id', o -> 'metrics' -> 'M1' -> 'suppressed') from cyc, jsonb_array_elements(c -> 'organizations') o),
          '{"99999999-0000-4000-8000-000000000009": false, "a0000000-0000-4000-8000-00000000000a": true, "b0000000-0000-4000-8000-00000000000b": false, "c0000000-0000-4000-8000-00000000000c": true}',
          'one organization small on M1 (3 of 40) takes a second with it: the smallest shown non-zero numerator (15 of 60)');
select is((select c -> 'total' -> 'metrics' -> 'M1' from cyc),
          '{"value": 0.25333333333333333333, "numerator": 38, "denominator": 150, "suppressed": false}', 'the total is shown');
select is((select c -> 'total' -> 'metrics' -> 'M7' -> 'suppressed' from cyc), 'true',
          'M7 total of 1 event: suppressed');
select is((select c -> 'total' -> 'metrics' -> 'M5' -> 'suppressed' from cyc), 'false',
          'M5 total shown while no organization''s M5 is small');
select is((select c ->> 'as_of' from cyc), '2026-07-01T00:00:00Z', 'as_of in UTC');
create temp table cyc2 as select pg_temp.as_user(:'admin', $$select pilot_cycle_scorecard('cyc-2s')$$) as c;
select is((select jsonb_agg(o -> 'metrics' -> 'M1' -> 'suppressed') from cyc2, jsonb_array_elements(c -> 'organizations') o),
          '[true, true, true]', 'two small cells summing to 5 (< k) take a third');
select is((select jsonb_agg(o -> 'metrics' -> 'M2_P50' -> 'suppressed') from cyc2, jsonb_array_elements(c -> 'organizations') o),
          '[true, false, false]', 'M2: 3 durations suppressed, 20 shown, none of C');
select is((select c -> 'total' -> 'metrics' -> 'M2_P50' -> 'suppressed' from cyc2), 'true',
          'the M2 total (23 durations) is suppressed because an organization''s cell is: percentiles are not sums');
select is(pg_temp.as_user(:'editor', $$select pilot_cycle_scorecard('cyc-3')$$), '{"error": "42501"}', 'a non-admin member gets 42501');
select is((select jsonb_agg(o -> 'metrics' -> 'M1' -> 'numerator') from jsonb_array_elements(pilot_cycle_scorecard('cyc-3') -> 'organizations') o),
          '[0, 3, 20, 15]', 'backend roles see raw numbers');
select is(pg_temp.as_user(:'admin', $$select pilot_cycle_scorecard('no-such-cycle')$$) - 'as_of',
          '{"total": {"metrics": {"M1": {"value": null, "numerator": 0, "suppressed": false, "denominator": 0}, "M3": {"value": null, "numerator": 0, "suppressed": false, "denominator": 0}, "M4": {"value": null, "numerator": 0, "suppressed": false, "denominator": 0}, "M5": {"value": null, "numerator": 0, "suppressed": false, "denominator": 0}, "M6": {"value": null, "numerator": 0, "suppressed": false, "denominator": 0}, "M7": {"value": null, "numerator": 0, "suppressed": false, "denominator": 0}, "M2_P50": {"value": null, "numerator": null, "suppressed": false, "denominator": 0}, "M2_P75": {"value": null, "numerator": null, "suppressed": false, "denominator": 0}, "M2_P90": {"value": null, "numerator": null, "suppressed": false, "denominator": 0}}}, "organizations": [], "pilot_cycle_id": "no-such-cycle"}',
          'a cycle without rows: no organizations, an empty total');

select * from finish();
