\set i random(1, 1000000000)
INSERT INTO pilot_contact_attempt_events (pilot_cycle_id, service_id, recorded_by_org_id, entity_key_hash, attempt_channel, attempt_outcome, attempted_at) VALUES ('bench-insert', 'svc-1', 'a0000000-0000-4000-8000-00000000000a', md5(:i::text) || md5((:i + 1)::text), 'phone', 'connected', '2026-06-01T10:00:00Z');
