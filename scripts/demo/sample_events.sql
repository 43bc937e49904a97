-- A quarter of plausible pilot activity for both demo organizations, recorded through the
-- recorders as a backend job would (service_role), deterministic (no random()).
set role service_role;
select set_config('request.jwt.claims', '{"role":"service_role"}', false);

select count(pilot_record_contact_attempt(jsonb_build_object(
           'pilot_cycle_id', 'cycle-2026-q2', 'service_id', svc, 'recorded_by_org_id', org,
           'entity_key_hash', encode(sha256(('person-' || (i % 37))::bytea), 'hex'),
           'attempt_channel', (array['phone', 'website', 'email', 'in_person', 'referral'])[1 + i % 5],
           'attempt_outcome', case when i % 10 < 7 then 'connected'
                                   else (array['disconnected_number', 'no_response', 'intake_unavailable'])[1 + i % 3] end,
           'attempted_at', to_char(timestamptz '2026-04-01T08:00:00Z' + i * interval '97 minutes', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))))
       as contact_attempts
  from generate_series(1, 120) i,
       lateral (values (case when i % 2 = 0 then 'a0000000-0000-4000-8000-00000000000a' else 'b0000000-0000-4000-8000-00000000000b' end,
                        case when i % 2 = 0 then 'svc-shelter' else 'svc-food' end)) o(org, svc);

-- Connections for the connected attempts, 20 minutes to 3 hours later.
select count(pilot_record_connection(jsonb_build_object(
           'pilot_cycle_id', a.pilot_cycle_id, 'org_id', a.recorded_by_org_id, 'service_id', a.service_id,
           'connected_at', to_char(a.attempted_at + ((20 + (extract(minute from a.attempted_at)::int * 3)) * interval '1 minute'),
                                   'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
           'contact_attempt_event_id', a.id))) as connections
  from pilot_contact_attempt_events a where a.attempt_outcome = 'connected' and a.pilot_cycle_id = 'cycle-2026-q2';

select count(pilot_record_referral(jsonb_build_object(
           'pilot_cycle_id', 'cycle-2026-q2', 'source_org_id', org, 'target_service_id', 'svc-legal',
           'referral_state', case when i % 3 = 0 then 'initiated' else 'connected' end,
           'created_at', '2026-05-01T09:00:00Z', 'updated_at', '2026-05-02T09:00:00Z',
           'terminal_at', case when i % 3 <> 0 then '2026-05-02T09:00:00Z' end))) as referrals
  from generate_series(1, 30) i,
       lateral (values (case when i % 2 = 0 then 'a0000000-0000-4000-8000-00000000000a' else 'b0000000-0000-4000-8000-00000000000b' end)) o(org);

select count(pilot_record_service_scope(jsonb_build_object('pilot_cycle_id', 'cycle-2026-q2', 'org_id', org, 'service_id', svc, 'sla_tier', tier)))
       as scoped_services
  from (values ('a0000000-0000-4000-8000-00000000000a', 'svc-shelter', 'crisis'), ('a0000000-0000-4000-8000-00000000000a', 'svc-legal', 'standard'),
               ('b0000000-0000-4000-8000-00000000000b', 'svc-food', 'high_demand'), ('b0000000-0000-4000-8000-00000000000b', 'svc-benefits', 'standard')) s(org, svc, tier);

select count(pilot_record_service_status(jsonb_build_object('pilot_cycle_id', 'cycle-2026-q2', 'org_id', org, 'service_id', svc,
                                                            'checked_at', at, 'status_code', 'available'))) as status_checks
  from (values ('a0000000-0000-4000-8000-00000000000a', 'svc-shelter', '2026-06-29T20:00:00Z'), ('a0000000-0000-4000-8000-00000000000a', 'svc-legal', '2026-06-20T09:00:00Z'),
               ('b0000000-0000-4000-8000-00000000000b', 'svc-food', '2026-06-29T09:00:00Z'), ('b0000000-0000-4000-8000-00000000000b', 'svc-benefits', '2026-06-01T09:00:00Z')) s(org, svc, at);

select count(pilot_record_data_decay_audit(jsonb_build_object('pilot_cycle_id', 'cycle-2026-q2', 'org_id', org, 'service_id', svc,
           'audited_at', '2026-06-15T10:00:00Z', 'is_fatal', i % 12 = 0, 'verification_mode', 'web_plus_call',
           'fatal_error_category', case when i % 12 = 0 then 'wrong_or_disconnected_phone' end))) as audits
  from generate_series(1, 24) i,
       lateral (values (case when i % 2 = 0 then 'a0000000-0000-4000-8000-00000000000a' else 'b0000000-0000-4000-8000-00000000000b' end,
                        case when i % 2 = 0 then 'svc-shelter' else 'svc-food' end)) o(org, svc);

select count(pilot_record_preference_fit(jsonb_build_object('pilot_cycle_id', 'cycle-2026-q2', 'org_id', org, 'cohort_label', 'cohort-' || (i % 3),
           'recorded_at', '2026-06-15T10:00:00Z', 'preferred_via_platform', i % 4 <> 0))) as preference_events
  from generate_series(1, 40) i,
       lateral (values (case when i % 2 = 0 then 'a0000000-0000-4000-8000-00000000000a' else 'b0000000-0000-4000-8000-00000000000b' end)) o(org);
reset role;
