-- Synthetic pilot data for bench/scorecard.sh. bench_generate(cycle, n) writes, for organization A:
-- n contact attempts (30 % failed, ~n/5 distinct hashes), n/5 referrals (2/3 terminal), n/10
-- connections anchored on attempts, 500 scoped services with 10 status checks each, n/100 audits
-- and n/100 preference events. Set-based, triggers off (a bulk load by the owner, as pg_restore does).
create or replace function bench_generate(cycle text, n int) returns void language plpgsql as $$
declare
    org constant uuid := 'a0000000-0000-4000-8000-00000000000a';
    t0 constant timestamptz := '2026-04-01T00:00:00Z';
begin
    -- the cycle and its cohorts are registered first (SPEC §14)
    insert into pilot_cycles (id, starts_on, ends_on) values (cycle, '2026-01-01', '2026-12-31') on conflict do nothing;
    insert into pilot_cohorts (pilot_cycle_id, label) select cycle, 'cohort-' || c from generate_series(0, 3) c on conflict do nothing;
    insert into pilot_contact_attempt_events (pilot_cycle_id, service_id, recorded_by_org_id, entity_key_hash,
                                              attempt_channel, attempt_outcome, attempted_at)
    select cycle, 'svc-' || (i % 500), org, 'k1:' || md5((i % greatest(n / 5, 1))::text) || md5(cycle || (i % greatest(n / 5, 1))),
           (array['phone', 'website', 'email', 'in_person', 'referral'])[1 + i % 5],
           case when i % 10 < 7 then 'connected' else (array['no_response', 'disconnected_number', 'other_failure'])[1 + i % 3] end,
           t0 + i * interval '7 seconds'
      from generate_series(1, n) i;
    insert into pilot_referral_events (pilot_cycle_id, source_org_id, target_service_id, referral_state, created_at, updated_at, terminal_at)
    select cycle, org, 'svc-' || (i % 500), case when i % 3 = 0 then 'initiated' else 'connected' end,
           t0 + i * interval '30 seconds', t0 + i * interval '30 seconds' + interval '1 day',
           case when i % 3 <> 0 then t0 + i * interval '30 seconds' + interval '1 day' end
      from generate_series(1, n / 5) i;
    insert into pilot_connection_events (pilot_cycle_id, org_id, service_id, connected_at, contact_attempt_event_id)
    select a.pilot_cycle_id, a.recorded_by_org_id, a.service_id,
           a.attempted_at + ((extract(epoch from a.attempted_at)::bigint % 7200) * interval '1 second'), a.id
      from pilot_contact_attempt_events a
     where a.pilot_cycle_id = cycle and a.attempt_outcome = 'connected'
     limit n / 10;
    insert into pilot_service_scope (pilot_cycle_id, org_id, service_id, sla_tier)
    select cycle, org, 'svc-' || s, (array['crisis', 'high_demand', 'standard'])[1 + s % 3] from generate_series(0, 499) s;
    insert into service_operational_status_events (pilot_cycle_id, org_id, service_id, checked_at, status_code)
    select cycle, org, 'svc-' || s, timestamptz '2026-06-30T00:00:00Z' - (s % 200 + k * 24) * interval '1 hour', 'available'
      from generate_series(0, 499) s, generate_series(0, 9) k;
    insert into pilot_data_decay_audits (pilot_cycle_id, org_id, service_id, audited_at, is_fatal, fatal_error_category, verification_mode)
    select cycle, org, 'svc-' || (i % 500), t0 + i * interval '1 hour', i % 13 = 0,
           case when i % 13 = 0 then 'wrong_or_disconnected_phone' end, 'web_only'
      from generate_series(1, greatest(n / 100, 1)) i;
    insert into pilot_preference_fit_events (pilot_cycle_id, org_id, cohort_label, recorded_at, preferred_via_platform)
    select cycle, org, 'cohort-' || (i % 4), t0 + i * interval '1 hour', i % 3 <> 0
      from generate_series(1, greatest(n / 100, 1)) i;
end
$$;
