-- The recorders: the decision record's endpoints as SQL/RPC functions (SPEC §7).
--
-- Every public recorder runs one body, written once in this file and generated per kind: the steps
-- below, then one write. What each kind writes, and where its organization and host references
-- are, comes from the registry of the kinds (35_kinds.sql). The special cases stay explicit in
-- that body: the referral update (step 4 and an UPDATE), the connection's anchor, the service
-- scope's upsert, the feasibility decision's created_by.
--
-- Each recorder whose only argument is the payload takes it as one *unnamed* jsonb parameter, so
-- PostgREST passes the whole request body: POST /rpc/pilot_record_contact_attempt with the event
-- as the body, exactly the record's endpoint shape. They run as the caller (SECURITY INVOKER):
-- row-level security stays the last line of defence, but the checks below run first so that a
-- refusal says what is missing. Order (SPEC §7), the first failure answering:
--   1. signed in (roles RLS applies to)          42501   (anon holds no EXECUTE at all)
--   2. payload valid (Rust, src/validate.rs)     22023   DETAIL: [{"path","code","message"}]
--   3. writer of the payload's organization      42501   (admins and backend roles pass)
--      the rate limit (65_rate_limit.sql)        PGRST → 429 with Retry-After (signed-in users)
--      the idempotency key (66_idempotency.sql)  PT422 another request, PT410 row gone; a replay
--                                                answers 200 with the row as stored now
--   4. referral updates: exists / not terminal   PT404 / PT409 / 22023 rule_violation
--   5. host rows named by the payload exist      23503
-- Whichever step first touches a missing relation answers PT501 naming it. Nothing is written
-- unless every step passed.

-- Step 4, referral updates only: the referral exists for that organization and is visible to the
-- caller (row-level security applies here), is not terminal, and the update is consistent with
-- the stored row. Locks the row; returns its id.
create function pilot_private.check_referral_update(fn text, referral_id uuid, payload jsonb) returns uuid
    language plpgsql volatile
    set search_path = pg_catalog, pg_temp
as $$
declare
    p record;
    cur record;
    problems jsonb := '[]';
begin
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
    return cur.id;
end
$$;
comment on function pilot_private.check_referral_update(text, uuid, jsonb) is
    'Recorder step 4 (SPEC §7), referral updates: the referral exists for the organization and is visible (PT404), is not terminal (PT409), and the update is consistent with it (22023 rule_violation). Locks the row.';

-- A connection's anchor: an event of the same cycle and organization, visible to the caller (the
-- composite foreign keys enforce it for direct writes; this answers 22023 with a path first).
create function pilot_private.check_connection_anchor(fn text, payload jsonb) returns void
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
declare
    r record;
    anchor_ok boolean;
begin
    select * into r from pg_catalog.jsonb_populate_record(null::public.pilot_connection_events, payload);
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
            message = fn || ': invalid payload (1 issue)',
            detail = pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object(
                'path', case when r.contact_attempt_event_id is not null then 'contact_attempt_event_id' else 'referral_event_id' end,
                'code', 'rule_violation',
                'message', 'the anchor must be an event of the same pilot cycle and organization'))::text;
    end if;
end
$$;
comment on function pilot_private.check_connection_anchor(text, jsonb) is
    'A connection''s anchor is an event of the same cycle and organization, visible to the caller (22023, code rule_violation).';

-- ---------------------------------------------------------------------------------------------
-- The recorders, one per kind of the registry (35_kinds.sql) that takes a payload: steps 1–5, then
-- one write, the stored row as jsonb. One body, written once below; each recorder is generated from
-- it with its kind's row of the registry as constants, so that a call runs one PL/pgSQL function
-- and looks nothing up to find its table (measured: a shared path behind thin entries cost two more
-- function calls, 9 and 12 µs, plus the search-path switch of each). Each keeps its name, its single
-- unnamed jsonb parameter (PostgREST passes the whole body; the referral update: referral_id and
-- payload) and its COMMENT below, which PostgREST's OpenAPI shows. Each pins READ COMMITTED
-- (PostgREST hoists the setting into the request's BEGIN): idempotent replays need it. PL/pgSQL,
-- not SQL: a SQL function with a SET clause is never inlined and plans its body again in every
-- statement that calls it. Every enum a COMMENT lists is compared with Rust's KINDS by an
-- in-database test.
do $recorders$
declare
    template constant text := $template$
create or replace function public.@recorder@(@arguments@) returns jsonb
    language plpgsql volatile
    set search_path = pg_catalog, pg_temp
    set default_transaction_isolation = 'read committed'
as $body$
declare
    -- the kind's row of the registry, as constants
    v_kind constant text := @kind@;
    fn constant text := @recorder_literal@;
    k_table constant text := @table@;
    k_org_column constant text := @org_column@;
    k_host_refs constant text[] := @host_refs@;
    v_payload constant jsonb := @payload@;
    v_referral_id constant uuid := @referral_id@;
    me uuid := pilot_private.uid();
    backend boolean := pilot_private.is_backend();
    issues jsonb;
    n int;
    i int;
    counted boolean;
    idem_key text;
    claim record;
    new_id text;
    target uuid;
    new_row record;
    stored jsonb;
begin
    -- Storage first, without an exception block (no subtransaction on the success path): the
    -- pilot tables this call reads or writes.
    if pg_catalog.to_regclass(@qualified_table@) is null then
        perform pilot_private.raise_storage_missing(pg_catalog.format('relation "public.%s" does not exist', k_table));
    end if;
    if v_kind <> 'cycle' and pg_catalog.to_regclass('public.pilot_cycles') is null then
        perform pilot_private.raise_storage_missing('relation "public.pilot_cycles" does not exist');
    end if;

    -- 1. signed in
    if not backend and me is null then
        raise exception using errcode = '42501',
            message = fn || ': not signed in (no user id in request.jwt.claims)';
    end if;

    -- 2. payload valid
    issues := pilot_private.validate(v_kind, coalesce(v_payload, 'null'::jsonb));
    n := pg_catalog.jsonb_array_length(issues);
    if n > 0 then
        raise exception using errcode = '22023',
            message = pg_catalog.format('%s: invalid payload (%s issue%s)', fn, n, case when n = 1 then '' else 's' end),
            detail = issues::text,
            hint = 'DETAIL lists every issue as {"path", "code", "message"}; see pilot_validate().';
    end if;

    -- 3. the right to write for the payload's organization (a kind without one: app admins only)
    if backend then
        null;
    elsif k_org_column is null then
        if not pilot_private.is_admin() then
            raise exception using errcode = '42501',
                message = fn || case v_kind when 'integration_feasibility'
                                    then ': not allowed: integration feasibility decisions are recorded by app admins only'
                                    else ': not allowed: cycles and cohorts are registered by app admins only' end;
        end if;
    elsif not ((v_payload ->> k_org_column)::uuid = any (pilot_private.member_orgs(writers_only => true))
               or pilot_private.is_admin()) then
        raise exception using errcode = '42501',
            message = pg_catalog.format(
                '%s: not allowed: the caller is not a writer (owner, admin or editor) of the organization in %s',
                fn, k_org_column);
    end if;

    -- The rate limit counts the calls of signed-in users (replays too); backend roles pass. With
    -- the limit off (0, remembered in the backend: 65_rate_limit.sql) there is nothing to count.
    -- (an assignment, not PERFORM: a simple expression, without an executor run of its own)
    if me is not null and pilot_private.cached_rate_limit() is distinct from 0 then
        counted := pilot_private.count_recorder_call();
    end if;

    -- The idempotency key, claimed before steps 4–5 (SPEC §10.2).
    idem_key := pilot_private.request_idempotency_key();
    if idem_key is not null then
        claim := pilot_private.claim_idempotency_key(
            v_kind, idem_key, (v_payload ->> k_org_column)::uuid,
            pilot_private.request_digest(v_payload::text || '|' || coalesce(v_referral_id::text, '')),
            case v_kind when 'referral_update' then v_referral_id::text when 'cycle' then v_payload ->> 'id' end);
        if claim.outcome = 'conflict' then
            raise exception using errcode = 'PT422',
                message = fn || ': idempotency key reused with a different request';
        elsif claim.outcome = 'replay' then
            execute pg_catalog.format('select pg_catalog.to_jsonb(t.*) from public.%I t where t.id::text = $1', k_table)
               into stored using claim.row_id;
            if stored is null then
                raise exception using errcode = 'PT410',
                    message = fn || ': the row this idempotency key recorded no longer exists';
            end if;
            return stored;
        end if;
        new_id := claim.row_id;
    end if;

    --<kinds referral_update>
    target := pilot_private.check_referral_update(fn, v_referral_id, v_payload);
    --</kinds>
    --<kinds connection>
    perform pilot_private.check_connection_anchor(fn, v_payload);
    --</kinds>
    -- 5. SPEC §14: the cycle, and a preference-fit event's cohort, are registered — checked before
    -- the foreign keys, so that the answer names the field and never the value. Read as the
    -- caller, under pilot_cycles' row-level security (only a writer gets this far).
    if v_kind <> 'cycle' and v_payload ->> 'pilot_cycle_id' is not null
       and not exists (select 1 from public.pilot_cycles c where c.id = v_payload ->> 'pilot_cycle_id') then
        raise exception using errcode = '23503',
            message = 'pilot_cycle_id: no registered pilot cycle with this id (public.pilot_cycles)';
    end if;
    --<kinds preference_fit>
    if not exists (select 1 from public.pilot_cohorts c
                    where c.pilot_cycle_id = v_payload ->> 'pilot_cycle_id' and c.label = v_payload ->> 'cohort_label') then
        raise exception using errcode = '23503',
            message = 'cohort_label: no registered cohort with this label in the cycle (public.pilot_cohorts)';
    end if;
    --</kinds>
    -- The services and organizations the payload names exist: for the roles row-level security
    -- applies to, the table's host-row trigger (40_tables.sql) makes this check with the same 23503
    -- in the same statement, before anything is written, so it is made here for backend roles only
    -- (whom the trigger trusts). Each lookup once per call.
    if backend then
        for i in 1 .. coalesce(pg_catalog.array_length(k_host_refs, 1), 0) by 2 loop
            continue when v_payload ->> k_host_refs[i] is null;
            if not pilot_private.host_row_exists(k_host_refs[i + 1], v_payload ->> k_host_refs[i]) then
                raise exception using errcode = '23503',
                    message = pg_catalog.format('%s: no %s with this id exists (public.%s)', k_host_refs[i], k_host_refs[i + 1],
                                                case k_host_refs[i + 1] when 'service' then 'services' else 'organizations' end);
            end if;
        end loop;
    end if;

    -- The row: the payload, whose null means absent, made by jsonb_populate_record into a variable
    -- (a simple expression; as `select * from jsonb_populate_record(...)` it was a function scan
    -- through a tuplestore, 9 µs more a call; keys a table lacks are ignored), then in each write
    -- arm the server-set values where the payload leaves them null (SPEC §7: id, created_at where
    -- the table has it, the defaults of optional fields) and created_by = the caller, and the row
    -- written whole, `(new_row).*`. Field by field rather than by merging jsonb objects: the merge
    -- (two jsonb_build_object, jsonb_strip_nulls, two concatenations) cost about 3 % of a contact
    -- attempt's request in instructions (callgrind, 87,000 of 3.02 million).
    case v_kind
    --<kinds contact_attempt>
    when 'contact_attempt' then
        new_row := pg_catalog.jsonb_populate_record(null::public.pilot_contact_attempt_events, v_payload);
        new_row.id := coalesce(new_row.id, new_id::uuid, pg_catalog.gen_random_uuid());
        new_row.created_at := coalesce(new_row.created_at, pg_catalog.now());
        insert into public.pilot_contact_attempt_events as t
        select (new_row).*
        returning pg_catalog.to_jsonb(t.*) into stored;
    --</kinds>
    --<kinds referral>
    when 'referral' then
        new_row := pg_catalog.jsonb_populate_record(null::public.pilot_referral_events, v_payload);
        new_row.id := coalesce(new_row.id, new_id::uuid, pg_catalog.gen_random_uuid());
        new_row.created_at := coalesce(new_row.created_at, pg_catalog.now());
        new_row.referral_state := coalesce(new_row.referral_state, 'initiated');
        insert into public.pilot_referral_events as t
        select (new_row).*
        returning pg_catalog.to_jsonb(t.*) into stored;
    --</kinds>
    --<kinds referral_update>
    when 'referral_update' then
        -- absent optional fields keep their stored value
        update public.pilot_referral_events as t
           set referral_state = p.referral_state, updated_at = p.updated_at,
               terminal_at = coalesce(p.terminal_at, t.terminal_at),
               failure_reason_code = coalesce(p.failure_reason_code, t.failure_reason_code)
          from pg_catalog.jsonb_populate_record(null::public.pilot_referral_events, v_payload) p
         where t.id = target
        returning pg_catalog.to_jsonb(t.*) into stored;
    --</kinds>
    --<kinds integration_feasibility>
    when 'integration_feasibility' then
        new_row := pg_catalog.jsonb_populate_record(null::public.pilot_integration_feasibility_decisions, v_payload);
        new_row.id := coalesce(new_row.id, new_id::uuid, pg_catalog.gen_random_uuid());
        new_row.created_at := coalesce(new_row.created_at, pg_catalog.now());
        new_row.violations := coalesce(new_row.violations, '{}');
        new_row.compensating_controls := coalesce(new_row.compensating_controls, '{}');
        new_row.created_by := me;
        insert into public.pilot_integration_feasibility_decisions as t
        select (new_row).*
        returning pg_catalog.to_jsonb(t.*) into stored;
    --</kinds>
    --<kinds connection>
    when 'connection' then
        new_row := pg_catalog.jsonb_populate_record(null::public.pilot_connection_events, v_payload);
        new_row.id := coalesce(new_row.id, new_id::uuid, pg_catalog.gen_random_uuid());
        insert into public.pilot_connection_events as t
        select (new_row).*
        returning pg_catalog.to_jsonb(t.*) into stored;
    --</kinds>
    --<kinds service_scope>
    when 'service_scope' then
        -- recording a scoped service again updates its tier
        new_row := pg_catalog.jsonb_populate_record(null::public.pilot_service_scope, v_payload);
        new_row.id := coalesce(new_row.id, new_id::uuid, pg_catalog.gen_random_uuid());
        insert into public.pilot_service_scope as t
        select (new_row).*
            on conflict (pilot_cycle_id, org_id, service_id) do update set sla_tier = excluded.sla_tier
        returning pg_catalog.to_jsonb(t.*) into stored;
    --</kinds>
    --<kinds service_status>
    when 'service_status' then
        new_row := pg_catalog.jsonb_populate_record(null::public.service_operational_status_events, v_payload);
        new_row.id := coalesce(new_row.id, new_id::uuid, pg_catalog.gen_random_uuid());
        insert into public.service_operational_status_events as t
        select (new_row).*
        returning pg_catalog.to_jsonb(t.*) into stored;
    --</kinds>
    --<kinds data_decay_audit>
    when 'data_decay_audit' then
        new_row := pg_catalog.jsonb_populate_record(null::public.pilot_data_decay_audits, v_payload);
        new_row.id := coalesce(new_row.id, new_id::uuid, pg_catalog.gen_random_uuid());
        insert into public.pilot_data_decay_audits as t
        select (new_row).*
        returning pg_catalog.to_jsonb(t.*) into stored;
    --</kinds>
    --<kinds preference_fit>
    when 'preference_fit' then
        new_row := pg_catalog.jsonb_populate_record(null::public.pilot_preference_fit_events, v_payload);
        new_row.id := coalesce(new_row.id, new_id::uuid, pg_catalog.gen_random_uuid());
        insert into public.pilot_preference_fit_events as t
        select (new_row).*
        returning pg_catalog.to_jsonb(t.*) into stored;
    --</kinds>
    --<kinds cycle>
    when 'cycle' then
        new_row := pg_catalog.jsonb_populate_record(null::public.pilot_cycles, v_payload);
        new_row.id := coalesce(new_row.id, new_id);
        new_row.created_at := coalesce(new_row.created_at, pg_catalog.now());
        new_row.created_by := me;
        insert into public.pilot_cycles as t
        select (new_row).*
        returning pg_catalog.to_jsonb(t.*) into stored;
    --</kinds>
    --<kinds cohort>
    when 'cohort' then
        new_row := pg_catalog.jsonb_populate_record(null::public.pilot_cohorts, v_payload);
        new_row.id := coalesce(new_row.id, new_id::uuid, pg_catalog.gen_random_uuid());
        new_row.created_at := coalesce(new_row.created_at, pg_catalog.now());
        new_row.created_by := me;
        insert into public.pilot_cohorts as t
        select (new_row).*
        returning pg_catalog.to_jsonb(t.*) into stored;
    --</kinds>
    end case;
    return stored;
end
$body$
$template$;
    r record;
    fill record;
    fn_source text;
    open_at int;
    body_at int;
    close_at int;
    open_tag constant text := '    --<kinds ';
    close_tag constant text := E'    --</kinds>\n';
begin
    for r in select k.* from pilot_private.kinds() k where k.payload order by k.kind loop
        fn_source := template;
        -- each placeholder with its text (no value holds an @)
        for fill in select * from (values
                ('@recorder@', pg_catalog.quote_ident(pg_catalog.split_part(r.recorder, '(', 1))),
                ('@arguments@', case r.kind when 'referral_update' then 'referral_id uuid, payload jsonb' else 'jsonb' end),
                ('@kind@', pg_catalog.quote_literal(r.kind)),
                ('@recorder_literal@', pg_catalog.quote_literal(pg_catalog.split_part(r.recorder, '(', 1))),
                ('@table@', pg_catalog.quote_literal(r.table_name)),
                ('@qualified_table@', pg_catalog.quote_literal('public.' || pg_catalog.quote_ident(r.table_name))),
                ('@org_column@', pg_catalog.quote_nullable(r.org_column)),
                ('@host_refs@', pg_catalog.quote_literal(r.host_refs::text)),
                ('@payload@', case r.kind when 'referral_update' then '$2' else '$1' end),
                ('@referral_id@', case r.kind when 'referral_update' then '$1' else 'null' end)) f(placeholder, value) loop
            fn_source := pg_catalog.replace(fn_source, fill.placeholder, fill.value);
        end loop;
        -- The blocks of other kinds go: a block `--<kinds a b>` … `--</kinds>` stays (without its
        -- two marker lines) only in a's and b's recorders, so a call no longer steps over the other
        -- kinds' special cases and write arms (measured on a small cluster: 1.0–1.3 % of a contact
        -- attempt's request); the tests `v_kind <> 'cycle'` stay in every body. Blocks do not
        -- nest: the first closing marker closes the first block.
        loop
            open_at := pg_catalog.strpos(fn_source, open_tag);
            exit when open_at = 0;
            body_at := open_at + pg_catalog.strpos(pg_catalog.substr(fn_source, open_at), E'\n');
            close_at := pg_catalog.strpos(fn_source, close_tag);
            if r.kind = any (pg_catalog.string_to_array(pg_catalog.split_part(
                   pg_catalog.substr(fn_source, open_at + pg_catalog.length(open_tag), body_at - open_at - pg_catalog.length(open_tag)),
                   '>', 1), ' ')) then
                fn_source := pg_catalog.substr(fn_source, 1, open_at - 1) || pg_catalog.substr(fn_source, body_at, close_at - body_at)
                             || pg_catalog.substr(fn_source, close_at + pg_catalog.length(close_tag));
            else
                fn_source := pg_catalog.substr(fn_source, 1, open_at - 1) || pg_catalog.substr(fn_source, close_at + pg_catalog.length(close_tag));
            end if;
        end loop;
        if pg_catalog.strpos(fn_source, pg_catalog.format('    when %L then', r.kind)) = 0 or pg_catalog.strpos(fn_source, '--</kinds>') > 0 then
            raise exception 'recorder of kind % generated without its write', r.kind;
        end if;
        execute fn_source;
    end loop;
end
$recorders$;

-- The recorders' COMMENTs.

comment on function public.pilot_record_contact_attempt(jsonb) is
$$Record how an attempt to reach a service turned out (POST events/contact-attempt).
The request body is the event: {"pilot_cycle_id", "service_id", "recorded_by_org_id", "entity_key_hash" (SHA-256 hex), "attempt_channel" (phone | website | email | in_person | referral), "attempt_outcome" (connected | disconnected_number | no_response | intake_unavailable | invalid_routing | other_failure), "attempted_at" (RFC 3339), optional "resolved_at", "outcome_notes_code" (busy_signal | voicemail_only | eligibility_mismatch | hours_mismatch | capacity_full | unknown_failure)}. Codes only; keys such as notes or query are refused anywhere. Returns the stored row. Errors: 400 invalid payload (details list every issue), 401 not signed in, 403 not a writer of recorded_by_org_id, 409 unknown service or organization, 501 storage missing. Every recorder honours an Idempotency-Key header (a replay answers 200 with the stored row; 422 when the key was used for another request, 410 when its row is gone) and the per-user rate limit (429 with Retry-After).$$;

comment on function public.pilot_record_referral(jsonb) is
$$Record a referral to a service (POST events/referral).
The request body is the referral: {"pilot_cycle_id", "source_org_id", "target_service_id", "created_at", "updated_at", optional "referral_state" (initiated | connected | failed | client_withdrew | no_response_timeout; initiated by default, the last four are terminal and need "terminal_at"), "terminal_at", "failure_reason_code" (disconnected_number | no_response | intake_closed | ineligible | capacity_full | unknown_failure; not while initiated)}. Returns the stored row with its id. Errors: 400, 401, 403 (not a writer of source_org_id), 409, 501. Every recorder honours an Idempotency-Key header (a replay answers 200 with the stored row; 422 when the key was used for another request, 410 when its row is gone) and the per-user rate limit (429 with Retry-After).$$;

comment on function public.pilot_update_referral(uuid, jsonb) is
$$Move a referral to its next state (PATCH events/referral/{id}).
payload: {"source_org_id" (the referral's organization), "referral_state" (initiated | connected | failed | client_withdrew | no_response_timeout), "updated_at" (not before the stored one), optional "terminal_at" (required for a terminal state), "failure_reason_code" (disconnected_number | no_response | intake_closed | ineligible | capacity_full | unknown_failure)}. Absent optional fields keep their stored value. A terminal referral never changes again. Errors: 400 invalid or inconsistent, 401, 403 (not a writer of source_org_id), 404 referral not found or not visible (also when source_org_id is not the referral's), 409 already terminal, 501. Every recorder honours an Idempotency-Key header (a replay answers 200 with the stored row; 422 when the key was used for another request, 410 when its row is gone) and the per-user rate limit (429 with Retry-After).$$;

comment on function public.pilot_record_integration_feasibility(jsonb) is
$$Record an integration feasibility decision (POST integration-feasibility). App admins only.
The request body: {"decision" (go | conditional | blocked), "decision_date" (YYYY-MM-DD), "redline_checklist_version" (code, at most 50), "owners" (codes, at least one), optional "violations", "compensating_controls" (codes), "pilot_cycle_id"}. go means no violations; conditional needs a compensating control. created_by is the caller. Errors: 400, 401, 403 (not an admin), 501. Every recorder honours an Idempotency-Key header (a replay answers 200 with the stored row; 422 when the key was used for another request, 410 when its row is gone) and the per-user rate limit (429 with Retry-After).$$;

comment on function public.pilot_record_connection(jsonb) is
$$Record that a person reached a service (source of M2, seconds to connection).
The request body: {"pilot_cycle_id", "org_id", "service_id", "connected_at", and exactly one of "contact_attempt_event_id" / "referral_event_id" — an event of the same cycle and organization}. Errors: 400, 401, 403, 409, 501. Every recorder honours an Idempotency-Key header (a replay answers 200 with the stored row; 422 when the key was used for another request, 410 when its row is gone) and the per-user rate limit (429 with Retry-After).$$;

comment on function public.pilot_record_service_scope(jsonb) is
$$Put a service in an organization's pilot scope with its freshness SLA tier (source of M4).
The request body: {"pilot_cycle_id", "org_id", "service_id", "sla_tier" (crisis 24 h | high_demand 48 h | standard 168 h)}. Recording the same (cycle, org, service) again updates its tier. Errors: 400, 401, 403, 409, 501. Every recorder honours an Idempotency-Key header (a replay answers 200 with the stored row; 422 when the key was used for another request, 410 when its row is gone) and the per-user rate limit (429 with Retry-After).$$;

comment on function public.pilot_record_service_status(jsonb) is
$$Record a check of a service's operational status (M4 counts the latest check per scoped service).
The request body: {"pilot_cycle_id", "org_id", "service_id", "checked_at", "status_code" (available | temporarily_unavailable | closed | unknown)}. Errors: 400, 401, 403, 409, 501. Every recorder honours an Idempotency-Key header (a replay answers 200 with the stored row; 422 when the key was used for another request, 410 when its row is gone) and the per-user rate limit (429 with Retry-After).$$;

comment on function public.pilot_record_data_decay_audit(jsonb) is
$$Record an audit of a listing's accuracy (source of M6, fatal error rate).
The request body: {"pilot_cycle_id", "org_id", "service_id", "audited_at", "is_fatal", "verification_mode" (web_only | web_plus_call | provider_confirmation), "fatal_error_category" (wrong_or_disconnected_phone | invalid_or_defunct_intake_path | materially_incorrect_eligibility | service_closed_or_unavailable_but_listed_available; exactly when is_fatal)}. Errors: 400, 401, 403, 409, 501. Every recorder honours an Idempotency-Key header (a replay answers 200 with the stored row; 422 when the key was used for another request, 410 when its row is gone) and the per-user rate limit (429 with Retry-After).$$;

comment on function public.pilot_record_preference_fit(jsonb) is
$$Record whether a person of a cohort preferred reaching services through the platform (source of M7).
The request body: {"pilot_cycle_id", "org_id", "cohort_label" (code), "recorded_at", "preferred_via_platform" (boolean)}. Errors: 400, 401, 403, 409, 501. Every recorder honours an Idempotency-Key header (a replay answers 200 with the stored row; 422 when the key was used for another request, 410 when its row is gone) and the per-user rate limit (429 with Retry-After).$$;

comment on function public.pilot_register_cycle(jsonb) is
$$Register a pilot cycle (SPEC §14): every pilot_cycle_id of the pilot tables must name a registered cycle. App admins only.
The request body: {"id" (code), "starts_on", "ends_on" (YYYY-MM-DD, not before starts_on)}. created_by is the caller; audited. Errors: 400, 401, 403 (not an admin), 409 (already registered), 501. Every recorder honours an Idempotency-Key header (a replay answers 200 with the stored row; 422 when the key was used for another request, 410 when its row is gone) and the per-user rate limit (429 with Retry-After).$$;

comment on function public.pilot_register_cohort(jsonb) is
$$Register a cohort of a pilot cycle (SPEC §14): a preference-fit event must name a registered cohort of its cycle. App admins only.
The request body: {"pilot_cycle_id" (a registered cycle), "label" (code)}. created_by is the caller; audited. Errors: 400, 401, 403 (not an admin), 409 (unknown cycle, or already registered), 501. Every recorder honours an Idempotency-Key header (a replay answers 200 with the stored row; 422 when the key was used for another request, 410 when its row is gone) and the per-user rate limit (429 with Retry-After).$$;
