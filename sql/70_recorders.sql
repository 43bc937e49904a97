-- The recorders: the decision record's endpoints as SQL/RPC functions (SPEC §7).
--
-- Each recorder whose only argument is the payload takes it as one *unnamed* jsonb parameter, so
-- PostgREST passes the whole request body: POST /rpc/pilot_record_contact_attempt with the event
-- as the body, exactly the record's endpoint shape. They run as the caller (SECURITY INVOKER):
-- row-level security stays the last line of defence, but the checks below run first so that a
-- refusal says what is missing. Order (SPEC §7), the first failure answering:
--   1. signed in (roles RLS applies to)          42501   (anon holds no EXECUTE at all)
--   2. payload valid (Rust, src/validate.rs)     22023   DETAIL: [{"path","code","message"}]
--   3. writer of the payload's organization      42501   (admins and backend roles pass)
--   4. referral updates: exists / not terminal   PT404 / PT409 / 22023 rule_violation
--   5. host rows named by the payload exist      23503
-- Whichever step first touches a missing relation answers PT501 naming it. Nothing is written
-- unless every step passed.

-- Steps 1–3, shared by every recorder. Returns the caller's user id (null for backend roles).
create function pilot_private.check_caller_and_payload(fn text, kind text, payload jsonb) returns uuid
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
declare
    me uuid := pilot_private.uid();
    backend boolean := pilot_private.is_backend();
    issues jsonb;
    n int;
    org_field text;
    org uuid;
begin
    -- 1. signed in
    if not backend and me is null then
        raise exception using errcode = '42501',
            message = fn || ': not signed in (no user id in request.jwt.claims)';
    end if;

    -- 2. payload valid
    issues := pilot_private.validate(kind, coalesce(payload, 'null'::jsonb));
    n := pg_catalog.jsonb_array_length(issues);
    if n > 0 then
        raise exception using errcode = '22023',
            message = pg_catalog.format('%s: invalid payload (%s issue%s)', fn, n, case when n = 1 then '' else 's' end),
            detail = issues::text,
            hint = 'DETAIL lists every issue as {"path", "code", "message"}; see pilot_validate().';
    end if;

    -- 3. the right to write for the payload's organization
    if backend then
        return me;
    end if;
    if kind = 'integration_feasibility' then
        if not pilot_private.is_admin() then
            raise exception using errcode = '42501',
                message = fn || ': not allowed: integration feasibility decisions are recorded by app admins only';
        end if;
        return me;
    end if;
    org_field := case kind
        when 'contact_attempt' then 'recorded_by_org_id'
        when 'referral' then 'source_org_id'
        when 'referral_update' then 'source_org_id'
        else 'org_id' end;
    org := (payload ->> org_field)::uuid;
    if not (org = any (pilot_private.member_orgs(writers_only => true)) or pilot_private.is_admin()) then
        raise exception using errcode = '42501',
            message = pg_catalog.format(
                '%s: not allowed: the caller is not a writer (owner, admin or editor) of the organization in %s',
                fn, org_field);
    end if;
    return me;
end
$$;
comment on function pilot_private.check_caller_and_payload(text, text, jsonb) is
    'Recorder steps 1-3 (SPEC §7): signed in, payload valid (22023 with the issue list), writer of the payload''s organization.';

-- Step 5: the services and organizations the payload names exist (all callers, backends too).
create function pilot_private.check_host_rows(kind text, payload jsonb) returns void
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
declare
    refs text[];
    i int;
begin
    refs := case kind
        when 'contact_attempt' then array['service_id', 'service', 'recorded_by_org_id', 'organization']
        when 'referral' then array['target_service_id', 'service', 'source_org_id', 'organization']
        when 'referral_update' then array['source_org_id', 'organization']
        when 'preference_fit' then array['org_id', 'organization']
        when 'integration_feasibility' then array[]::text[]
        else array['service_id', 'service', 'org_id', 'organization'] end;
    for i in 1 .. coalesce(pg_catalog.array_length(refs, 1), 0) by 2 loop
        if not pilot_private.host_row_exists(refs[i + 1], payload ->> refs[i]) then
            raise exception using errcode = '23503',
                message = pg_catalog.format('%s: no %s with this id exists (public.%s)', refs[i], refs[i + 1],
                                            case refs[i + 1] when 'service' then 'services' else 'organizations' end);
        end if;
    end loop;
end
$$;
comment on function pilot_private.check_host_rows(text, jsonb) is
    'Recorder step 5 (SPEC §7): the services and organizations a payload names exist (23503 naming the field).';

-- ---------------------------------------------------------------------------------------------

create function public.pilot_record_contact_attempt(jsonb) returns jsonb
    language plpgsql volatile
    set search_path = pg_catalog, pg_temp
as $$
declare
    payload constant jsonb := $1;
    stored jsonb;
begin
    perform pilot_private.check_caller_and_payload('pilot_record_contact_attempt', 'contact_attempt', payload);
    perform pilot_private.check_host_rows('contact_attempt', payload);
    insert into public.pilot_contact_attempt_events as t
           (pilot_cycle_id, service_id, recorded_by_org_id, entity_key_hash, attempt_channel, attempt_outcome,
            attempted_at, resolved_at, outcome_notes_code)
    select r.pilot_cycle_id, r.service_id, r.recorded_by_org_id, r.entity_key_hash, r.attempt_channel, r.attempt_outcome,
           r.attempted_at, r.resolved_at, r.outcome_notes_code
      from pg_catalog.jsonb_populate_record(null::public.pilot_contact_attempt_events, payload) r
    returning pg_catalog.to_jsonb(t.*) into stored;
    return stored;
exception
    when undefined_table or undefined_column or undefined_function then
        perform pilot_private.raise_storage_missing(sqlerrm);
end
$$;
comment on function public.pilot_record_contact_attempt(jsonb) is
$$Record how an attempt to reach a service turned out (POST events/contact-attempt).
The request body is the event: {"pilot_cycle_id", "service_id", "recorded_by_org_id", "entity_key_hash" (SHA-256 hex), "attempt_channel" (phone | website | email | in_person | referral), "attempt_outcome" (connected | disconnected_number | no_response | intake_unavailable | invalid_routing | other_failure), "attempted_at" (RFC 3339), optional "resolved_at", "outcome_notes_code" (busy_signal | voicemail_only | eligibility_mismatch | hours_mismatch | capacity_full | unknown_failure)}. Codes only; keys such as notes or query are refused anywhere. Returns the stored row. Errors: 400 invalid payload (details list every issue), 401 not signed in, 403 not a writer of recorded_by_org_id, 409 unknown service or organization, 501 storage missing.$$;

create function public.pilot_record_referral(jsonb) returns jsonb
    language plpgsql volatile
    set search_path = pg_catalog, pg_temp
as $$
declare
    payload constant jsonb := $1;
    stored jsonb;
begin
    perform pilot_private.check_caller_and_payload('pilot_record_referral', 'referral', payload);
    perform pilot_private.check_host_rows('referral', payload);
    insert into public.pilot_referral_events as t
           (pilot_cycle_id, source_org_id, target_service_id, referral_state, created_at, updated_at, terminal_at,
            failure_reason_code)
    select r.pilot_cycle_id, r.source_org_id, r.target_service_id, coalesce(r.referral_state, 'initiated'), r.created_at,
           r.updated_at, r.terminal_at, r.failure_reason_code
      from pg_catalog.jsonb_populate_record(null::public.pilot_referral_events, payload) r
    returning pg_catalog.to_jsonb(t.*) into stored;
    return stored;
exception
    when undefined_table or undefined_column or undefined_function then
        perform pilot_private.raise_storage_missing(sqlerrm);
end
$$;
comment on function public.pilot_record_referral(jsonb) is
$$Record a referral to a service (POST events/referral).
The request body is the referral: {"pilot_cycle_id", "source_org_id", "target_service_id", "created_at", "updated_at", optional "referral_state" (initiated by default; connected | failed | client_withdrew | no_response_timeout are terminal and need "terminal_at"), "terminal_at", "failure_reason_code" (disconnected_number | no_response | intake_closed | ineligible | capacity_full | unknown_failure; not while initiated)}. Returns the stored row with its id. Errors: 400, 401, 403 (not a writer of source_org_id), 409, 501.$$;

create function public.pilot_update_referral(referral_id uuid, payload jsonb) returns jsonb
    language plpgsql volatile
    set search_path = pg_catalog, pg_temp
as $$
declare
    fn constant text := 'pilot_update_referral';
    p record;
    cur record;
    stored jsonb;
    problems jsonb := '[]';
begin
    perform pilot_private.check_caller_and_payload(fn, 'referral_update', payload);

    -- 4. the referral exists for that organization and is visible to the caller (RLS applies here)
    select r.* into cur
      from public.pilot_referral_events r
     where r.id = referral_id and r.source_org_id = (payload ->> 'source_org_id')::uuid
       for update;
    if not found then
        raise exception using errcode = 'PT404', message = fn || ': referral not found';
    end if;
    if cur.referral_state <> 'initiated' then
        raise exception using errcode = 'PT409', message = fn || ': referral is already in a terminal state',
            detail = pg_catalog.format('state %s; a terminal referral does not change again', cur.referral_state);
    end if;
    select * into p from pg_catalog.jsonb_populate_record(null::public.pilot_referral_events, payload);
    if p.updated_at < cur.updated_at then
        problems := problems || pg_catalog.jsonb_build_object('path', 'updated_at', 'code', 'rule_violation',
            'message', 'updated_at must not be before the stored updated_at');
    end if;
    if p.updated_at < cur.created_at then
        problems := problems || pg_catalog.jsonb_build_object('path', 'updated_at', 'code', 'rule_violation',
            'message', 'updated_at must not be before the referral''s created_at');
    end if;
    if coalesce(p.terminal_at, cur.terminal_at) < cur.created_at then
        problems := problems || pg_catalog.jsonb_build_object('path', 'terminal_at', 'code', 'rule_violation',
            'message', 'terminal_at must not be before the referral''s created_at');
    end if;
    if pg_catalog.jsonb_array_length(problems) > 0 then
        raise exception using errcode = '22023',
            message = pg_catalog.format('%s: the update is inconsistent with the stored referral (%s issue%s)', fn,
                                        pg_catalog.jsonb_array_length(problems),
                                        case when pg_catalog.jsonb_array_length(problems) = 1 then '' else 's' end),
            detail = problems::text;
    end if;

    perform pilot_private.check_host_rows('referral_update', payload);
    update public.pilot_referral_events as t
       set referral_state = p.referral_state,
           updated_at = p.updated_at,
           terminal_at = coalesce(p.terminal_at, t.terminal_at),
           failure_reason_code = coalesce(p.failure_reason_code, t.failure_reason_code)
     where t.id = cur.id
    returning pg_catalog.to_jsonb(t.*) into stored;
    return stored;
exception
    when undefined_table or undefined_column or undefined_function then
        perform pilot_private.raise_storage_missing(sqlerrm);
end
$$;
comment on function public.pilot_update_referral(uuid, jsonb) is
$$Move a referral to its next state (PATCH events/referral/{id}).
payload: {"source_org_id" (the referral's organization), "referral_state", "updated_at" (not before the stored one), optional "terminal_at" (required for a terminal state), "failure_reason_code"}. Absent optional fields keep their stored value. A terminal referral never changes again. Errors: 400 invalid or inconsistent, 401, 403 (not a writer of source_org_id), 404 referral not found or not visible (also when source_org_id is not the referral's), 409 already terminal, 501.$$;

create function public.pilot_record_integration_feasibility(jsonb) returns jsonb
    language plpgsql volatile
    set search_path = pg_catalog, pg_temp
as $$
declare
    payload constant jsonb := $1;
    me uuid;
    stored jsonb;
begin
    me := pilot_private.check_caller_and_payload('pilot_record_integration_feasibility', 'integration_feasibility', payload);
    insert into public.pilot_integration_feasibility_decisions as t
           (pilot_cycle_id, decision, decision_date, redline_checklist_version, violations, compensating_controls, owners,
            created_by)
    select r.pilot_cycle_id, r.decision, r.decision_date, r.redline_checklist_version, coalesce(r.violations, '{}'),
           coalesce(r.compensating_controls, '{}'), r.owners, me
      from pg_catalog.jsonb_populate_record(null::public.pilot_integration_feasibility_decisions, payload) r
    returning pg_catalog.to_jsonb(t.*) into stored;
    return stored;
exception
    when undefined_table or undefined_column or undefined_function then
        perform pilot_private.raise_storage_missing(sqlerrm);
end
$$;
comment on function public.pilot_record_integration_feasibility(jsonb) is
$$Record an integration feasibility decision (POST integration-feasibility). App admins only.
The request body: {"decision" (go | conditional | blocked), "decision_date" (YYYY-MM-DD), "redline_checklist_version" (code, at most 50), "owners" (codes, at least one), optional "violations", "compensating_controls" (codes), "pilot_cycle_id"}. go means no violations; conditional needs a compensating control. created_by is the caller. Errors: 400, 401, 403 (not an admin), 501.$$;

-- ---------------------------------------------------------------------------------------------
-- Metric sources (SPEC §3.5).

create function public.pilot_record_connection(jsonb) returns jsonb
    language plpgsql volatile
    set search_path = pg_catalog, pg_temp
as $$
declare
    payload constant jsonb := $1;
    r record;
    anchor_ok boolean;
    stored jsonb;
begin
    perform pilot_private.check_caller_and_payload('pilot_record_connection', 'connection', payload);
    select * into r from pg_catalog.jsonb_populate_record(null::public.pilot_connection_events, payload);
    -- The anchor: same cycle and organization, visible to the caller.
    if r.contact_attempt_event_id is not null then
        anchor_ok := exists (select 1 from public.pilot_contact_attempt_events a
                              where a.id = r.contact_attempt_event_id and a.pilot_cycle_id = r.pilot_cycle_id
                                and a.recorded_by_org_id = r.org_id);
    else
        anchor_ok := exists (select 1 from public.pilot_referral_events a
                              where a.id = r.referral_event_id and a.pilot_cycle_id = r.pilot_cycle_id
                                and a.source_org_id = r.org_id);
    end if;
    if not anchor_ok then
        raise exception using errcode = '22023',
            message = 'pilot_record_connection: invalid payload (1 issue)',
            detail = pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object(
                'path', case when r.contact_attempt_event_id is not null then 'contact_attempt_event_id' else 'referral_event_id' end,
                'code', 'rule_violation',
                'message', 'the anchor must be an event of the same pilot cycle and organization'))::text;
    end if;
    perform pilot_private.check_host_rows('connection', payload);
    insert into public.pilot_connection_events as t
           (pilot_cycle_id, org_id, service_id, connected_at, contact_attempt_event_id, referral_event_id)
    values (r.pilot_cycle_id, r.org_id, r.service_id, r.connected_at, r.contact_attempt_event_id, r.referral_event_id)
    returning pg_catalog.to_jsonb(t.*) into stored;
    return stored;
exception
    when undefined_table or undefined_column or undefined_function then
        perform pilot_private.raise_storage_missing(sqlerrm);
end
$$;
comment on function public.pilot_record_connection(jsonb) is
$$Record that a person reached a service (source of M2, seconds to connection).
The request body: {"pilot_cycle_id", "org_id", "service_id", "connected_at", and exactly one of "contact_attempt_event_id" / "referral_event_id" — an event of the same cycle and organization}. Errors: 400, 401, 403, 409, 501.$$;

create function public.pilot_record_service_scope(jsonb) returns jsonb
    language plpgsql volatile
    set search_path = pg_catalog, pg_temp
as $$
declare
    payload constant jsonb := $1;
    stored jsonb;
begin
    perform pilot_private.check_caller_and_payload('pilot_record_service_scope', 'service_scope', payload);
    perform pilot_private.check_host_rows('service_scope', payload);
    insert into public.pilot_service_scope as t (pilot_cycle_id, org_id, service_id, sla_tier)
    select r.pilot_cycle_id, r.org_id, r.service_id, r.sla_tier
      from pg_catalog.jsonb_populate_record(null::public.pilot_service_scope, payload) r
        on conflict (pilot_cycle_id, org_id, service_id) do update set sla_tier = excluded.sla_tier
    returning pg_catalog.to_jsonb(t.*) into stored;
    return stored;
exception
    when undefined_table or undefined_column or undefined_function then
        perform pilot_private.raise_storage_missing(sqlerrm);
end
$$;
comment on function public.pilot_record_service_scope(jsonb) is
$$Put a service in an organization's pilot scope with its freshness SLA tier (source of M4).
The request body: {"pilot_cycle_id", "org_id", "service_id", "sla_tier" (crisis 24 h | high_demand 48 h | standard 168 h)}. Recording the same (cycle, org, service) again updates its tier. Errors: 400, 401, 403, 409, 501.$$;

create function public.pilot_record_service_status(jsonb) returns jsonb
    language plpgsql volatile
    set search_path = pg_catalog, pg_temp
as $$
declare
    payload constant jsonb := $1;
    stored jsonb;
begin
    perform pilot_private.check_caller_and_payload('pilot_record_service_status', 'service_status', payload);
    perform pilot_private.check_host_rows('service_status', payload);
    insert into public.service_operational_status_events as t (pilot_cycle_id, org_id, service_id, checked_at, status_code)
    select r.pilot_cycle_id, r.org_id, r.service_id, r.checked_at, r.status_code
      from pg_catalog.jsonb_populate_record(null::public.service_operational_status_events, payload) r
    returning pg_catalog.to_jsonb(t.*) into stored;
    return stored;
exception
    when undefined_table or undefined_column or undefined_function then
        perform pilot_private.raise_storage_missing(sqlerrm);
end
$$;
comment on function public.pilot_record_service_status(jsonb) is
$$Record a check of a service's operational status (M4 counts the latest check per scoped service).
The request body: {"pilot_cycle_id", "org_id", "service_id", "checked_at", "status_code" (available | temporarily_unavailable | closed | unknown)}. Errors: 400, 401, 403, 409, 501.$$;

create function public.pilot_record_data_decay_audit(jsonb) returns jsonb
    language plpgsql volatile
    set search_path = pg_catalog, pg_temp
as $$
declare
    payload constant jsonb := $1;
    stored jsonb;
begin
    perform pilot_private.check_caller_and_payload('pilot_record_data_decay_audit', 'data_decay_audit', payload);
    perform pilot_private.check_host_rows('data_decay_audit', payload);
    insert into public.pilot_data_decay_audits as t
           (pilot_cycle_id, org_id, service_id, audited_at, is_fatal, fatal_error_category, verification_mode)
    select r.pilot_cycle_id, r.org_id, r.service_id, r.audited_at, r.is_fatal, r.fatal_error_category, r.verification_mode
      from pg_catalog.jsonb_populate_record(null::public.pilot_data_decay_audits, payload) r
    returning pg_catalog.to_jsonb(t.*) into stored;
    return stored;
exception
    when undefined_table or undefined_column or undefined_function then
        perform pilot_private.raise_storage_missing(sqlerrm);
end
$$;
comment on function public.pilot_record_data_decay_audit(jsonb) is
$$Record an audit of a listing's accuracy (source of M6, fatal error rate).
The request body: {"pilot_cycle_id", "org_id", "service_id", "audited_at", "is_fatal", "verification_mode" (web_only | web_plus_call | provider_confirmation), "fatal_error_category" exactly when is_fatal (wrong_or_disconnected_phone | invalid_or_defunct_intake_path | materially_incorrect_eligibility | service_closed_or_unavailable_but_listed_available)}. Errors: 400, 401, 403, 409, 501.$$;

create function public.pilot_record_preference_fit(jsonb) returns jsonb
    language plpgsql volatile
    set search_path = pg_catalog, pg_temp
as $$
declare
    payload constant jsonb := $1;
    stored jsonb;
begin
    perform pilot_private.check_caller_and_payload('pilot_record_preference_fit', 'preference_fit', payload);
    perform pilot_private.check_host_rows('preference_fit', payload);
    insert into public.pilot_preference_fit_events as t (pilot_cycle_id, org_id, cohort_label, recorded_at, preferred_via_platform)
    select r.pilot_cycle_id, r.org_id, r.cohort_label, r.recorded_at, r.preferred_via_platform
      from pg_catalog.jsonb_populate_record(null::public.pilot_preference_fit_events, payload) r
    returning pg_catalog.to_jsonb(t.*) into stored;
    return stored;
exception
    when undefined_table or undefined_column or undefined_function then
        perform pilot_private.raise_storage_missing(sqlerrm);
end
$$;
comment on function public.pilot_record_preference_fit(jsonb) is
$$Record whether a person of a cohort preferred reaching services through the platform (source of M7).
The request body: {"pilot_cycle_id", "org_id", "cohort_label" (code), "recorded_at", "preferred_via_platform" (boolean)}. Errors: 400, 401, 403, 409, 501.$$;
