-- The validation corpus (scripts/bench.sh): 20,000 contact-attempt payloads, 75 % valid, 10 %
-- invalid in assorted ways, 10 % carrying a privacy key somewhere, 5 % large (400 extra keys).
-- Deterministic: no random().
create table corpus as
select i, case
    when i % 20 < 15 then v
    when i % 20 in (15, 16) then v || jsonb_build_object('attempt_channel', 'pigeon', 'attempted_at', '2026-06-01 10:00')
    when i % 20 = 17 then v || '{"resolved_at": "2026-05-01T00:00:00Z", "extra": 1}'
    when i % 20 in (18, 19) and i % 40 < 20 then v || jsonb_build_object('meta', jsonb_build_object('items', jsonb_build_array(1, jsonb_build_object('Notes', 'free text ' || i))))
    when i % 20 = 18 then v || jsonb_build_object('query', 'food near me ' || i)
    else v || (select jsonb_object_agg('k' || j, j) from generate_series(1, 400) j)
    end as payload
from (select i, jsonb_build_object(
        'pilot_cycle_id', 'cycle-2026-q2', 'service_id', 'svc-' || (i % 500),
        'recorded_by_org_id', 'a0000000-0000-4000-8000-00000000000a',
        'entity_key_hash', md5(i::text) || md5((i + 1)::text),
        'attempt_channel', (array['phone', 'website', 'email', 'in_person', 'referral'])[1 + i % 5],
        'attempt_outcome', (array['connected', 'no_response', 'disconnected_number'])[1 + i % 3],
        'attempted_at', '2026-06-01T10:00:00Z', 'resolved_at', '2026-06-01T12:05:00+02:00') as v
      from generate_series(1, 20000) i) s;

-- Documents for the privacy walk alone: 10, 1,000 and 100,000 keys, one forbidden key nested.
create table walk_docs as
select n, (select jsonb_object_agg('key_' || j, jsonb_build_object('v', j)) from generate_series(1, n) j)
          || jsonb_build_object('nested', jsonb_build_object('deeper', jsonb_build_array(jsonb_build_object('Notes', 1)))) as doc
  from unnest(array[10, 1000, 100000]) n;
