-- What a Supabase developer would write instead of the Rust validator: the same rules for the
-- contact_attempt kind in PL/pgSQL (a recursive privacy walk, strict keys, types, enums, codes,
-- UUIDs, timestamps, the hash, resolved_at ≥ attempted_at), returning the issue list as jsonb.
create or replace function bench_plpgsql_privacy_paths(doc jsonb, prefix text default '') returns text[]
    language plpgsql immutable as $$
declare
    out text[] := '{}';
    k text;
    v jsonb;
    i int;
    p text;
begin
    if jsonb_typeof(doc) = 'object' then
        for k, v in select * from jsonb_each(doc) loop
            p := case when prefix = '' then k else prefix || '.' || k end;
            if lower(k) in ('query', 'query_text', 'message', 'user_text', 'notes') then
                out := out || p;
            end if;
            if jsonb_typeof(v) in ('object', 'array') then
                out := out || bench_plpgsql_privacy_paths(v, p);
            end if;
        end loop;
    elsif jsonb_typeof(doc) = 'array' then
        for i in 0 .. jsonb_array_length(doc) - 1 loop
            v := doc -> i;
            if jsonb_typeof(v) in ('object', 'array') then
                out := out || bench_plpgsql_privacy_paths(v, case when prefix = '' then i::text else prefix || '.' || i end);
            end if;
        end loop;
    end if;
    return out;
end
$$;

create or replace function bench_plpgsql_validate(payload jsonb) returns jsonb
    language plpgsql immutable as $$
declare
    issues jsonb := '[]';
    p text;
    k text;
    v jsonb;
    allowed constant text[] := array['pilot_cycle_id', 'service_id', 'recorded_by_org_id', 'entity_key_hash', 'attempt_channel',
                                     'attempt_outcome', 'attempted_at', 'resolved_at', 'outcome_notes_code'];
    required constant text[] := array['pilot_cycle_id', 'service_id', 'recorded_by_org_id', 'entity_key_hash', 'attempt_channel',
                                      'attempt_outcome', 'attempted_at'];
    ts_re constant text := '^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:[0-5]\d(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$';
    t1 timestamptz;
    t2 timestamptz;
begin
    foreach p in array bench_plpgsql_privacy_paths(payload) loop
        issues := issues || jsonb_build_object('path', p, 'code', 'disallowed_privacy_key', 'message', 'not allowed');
    end loop;
    if jsonb_typeof(payload) <> 'object' then
        return issues || jsonb_build_object('path', '', 'code', 'wrong_type', 'message', 'must be an object');
    end if;
    for k, v in select * from jsonb_each(payload) loop
        continue when lower(k) in ('query', 'query_text', 'message', 'user_text', 'notes');
        if k <> all (allowed) then
            issues := issues || jsonb_build_object('path', k, 'code', 'unknown_key', 'message', 'unknown');
            continue;
        end if;
        continue when jsonb_typeof(v) = 'null';
        if jsonb_typeof(v) <> 'string' then
            issues := issues || jsonb_build_object('path', k, 'code', 'wrong_type', 'message', 'must be a string');
            continue;
        end if;
        if k in ('pilot_cycle_id', 'service_id') and not (v ->> 0 ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]*$' and length(v ->> 0) <= 100) then
            issues := issues || jsonb_build_object('path', k, 'code', 'invalid_code', 'message', 'must be a code');
        elsif k = 'recorded_by_org_id' and v ->> 0 !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then
            issues := issues || jsonb_build_object('path', k, 'code', 'invalid_uuid', 'message', 'must be a uuid');
        elsif k = 'entity_key_hash' and v ->> 0 !~* '^[0-9a-f]{64}$' then
            issues := issues || jsonb_build_object('path', k, 'code', 'invalid_hash', 'message', 'must be sha-256 hex');
        elsif k = 'attempt_channel' and v ->> 0 not in ('phone', 'website', 'email', 'in_person', 'referral') then
            issues := issues || jsonb_build_object('path', k, 'code', 'invalid_enum', 'message', 'not an allowed value');
        elsif k = 'attempt_outcome' and v ->> 0 not in ('connected', 'disconnected_number', 'no_response', 'intake_unavailable',
                                                         'invalid_routing', 'other_failure') then
            issues := issues || jsonb_build_object('path', k, 'code', 'invalid_enum', 'message', 'not an allowed value');
        elsif k = 'outcome_notes_code' and v ->> 0 not in ('busy_signal', 'voicemail_only', 'eligibility_mismatch', 'hours_mismatch',
                                                            'capacity_full', 'unknown_failure') then
            issues := issues || jsonb_build_object('path', k, 'code', 'invalid_enum', 'message', 'not an allowed value');
        elsif k in ('attempted_at', 'resolved_at') then
            begin
                if v ->> 0 !~ ts_re then
                    raise invalid_datetime_format;
                end if;
                perform (v ->> 0)::timestamptz;
            exception when others then
                issues := issues || jsonb_build_object('path', k, 'code', 'invalid_timestamp', 'message', 'must be RFC 3339');
            end;
        end if;
    end loop;
    foreach k in array required loop
        if payload -> k is null or jsonb_typeof(payload -> k) = 'null' then
            issues := issues || jsonb_build_object('path', k, 'code', 'missing_key', 'message', 'required');
        end if;
    end loop;
    begin
        t1 := (payload ->> 'attempted_at')::timestamptz;
        t2 := (payload ->> 'resolved_at')::timestamptz;
        if t2 < t1 then
            issues := issues || jsonb_build_object('path', 'resolved_at', 'code', 'rule_violation', 'message', 'before attempted_at');
        end if;
    exception when others then
        null;
    end;
    return issues;
end
$$;
