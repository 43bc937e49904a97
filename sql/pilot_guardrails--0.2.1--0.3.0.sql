-- pilot_guardrails 0.2.1 → 0.3.0 (in development: every change after the security release lands here).
--
-- A hand-written delta: what changed since sql/releases/pilot_guardrails--0.2.1.sql, and nothing
-- else. The concern files (sql/00_…–90_…) describe the current version; tests/scenarios/upgrade.sh
-- proves that every frozen release with rows, upgraded through the deltas, ends in exactly the
-- schema of a fresh install.
--   1. the registry of the kinds, pilot_private.kinds() (35_kinds.sql)
--   2. the recorders: one body, generated per kind from the registry (70_recorders.sql); the enum
--      lists of their COMMENTs in one form, compared with Rust's KINDS by a test
--   3. the acting role, for SECURITY DEFINER code (20_identity.sql)
--   4a. the tables of registered cycles and cohorts (38_cycles.sql, SPEC §14; filled in 6e)
--   4. the audit trail of privileged acts (41_audit.sql, SPEC §10.5), registrations included
--   5. settings (42_settings.sql, SPEC §10.1); the rate limit (65_rate_limit.sql, §10.3) and
--      idempotency keys (66_idempotency.sql, §10.2), claimed by the recorders, and
--      the recorders pinning READ COMMITTED
--   6. metric history that cannot be forged: snapshots written by pilot_recompute_metrics'
--      privileged part only (50_policies.sql, 80_scorecard.sql, SPEC §10.4)
--   6b. small-cell suppression (78_suppression.sql, 83_cycle_scorecard.sql, SPEC §11.1–§11.2):
--      every output but backend roles'; pilot_metric_history gains suppressed (dropped and
--      re-created); pilot_cycle_scorecard
--   6c. retention with receipts: pilot_apply_retention (84_retention.sql, SPEC §11.3)
--   6d. keyed pseudonyms: the secret key, existing hashes re-keyed, the keying trigger (SPEC §14)
--   6e. registered cycles and cohorts (38_cycles.sql, SPEC §14): those in use registered, then
--      the foreign keys
--   7. bulk_update_service_status audited on both paths (60_admin.sql)
--   8. the drop guard counts the audit trail, not the settings (85_drop_guard.sql)
--   9. the privilege matrix and pilot_verify() (90_grants.sql, 88_verify.sql)
--   9c. the scorecard's maintained counts (79_scorecard_counts.sql): seconds_to_connection on
--      connections, the counts built from the rows there, the scorecard reading them
--   9d. reads as one index condition: read_orgs() and the organization-first indexes, then every
--      policy re-created, the read policies testing org = any (read_orgs(…))
--  10. privileges: exactly SPEC §2's matrix, as the last step
-- Host-row triggers and backups of the nine tables are generated from the registry into exactly
-- the objects 0.2.1 has: nothing to change for them here.

-- ---------------------------------------------------------------------------------------------
-- 1. The registry of the kinds.

create function pilot_private.kinds()
returns table (
    kind text,          -- the payload kind (pilot_validate's first argument), or metric_snapshot
    payload boolean,    -- the recorder takes a jsonb payload validated as this kind
    table_name text,    -- the pilot table it writes, in public
    org_column text,    -- the table's organization column (SPEC §3); null: no organization
    host_refs text[],   -- pairs (column, 'service' | 'organization') naming host rows (SPEC §2)
    time_column text,   -- the event time (SPEC §11.3); null: the table has none
    policy_shape text,  -- events | snapshots | decisions | registry (SPEC §4, §14)
    recorder text       -- the function that writes it, as its regprocedure text without schema
)
    language plpgsql immutable parallel safe
    set search_path = pg_catalog, pg_temp
as $$
begin
    -- PL/pgSQL, not SQL: a SQL function with a SET clause is never inlined and re-plans its body on
    -- every call (measured: 51 µs a lookup); PL/pgSQL keeps the plan of RETURN QUERY.
    return query values
        ('contact_attempt', true, 'pilot_contact_attempt_events', 'recorded_by_org_id',
         '{service_id,service,recorded_by_org_id,organization}'::text[], 'attempted_at', 'events',
         'pilot_record_contact_attempt(jsonb)'),
        ('referral', true, 'pilot_referral_events', 'source_org_id',
         '{target_service_id,service,source_org_id,organization}', 'created_at', 'events',
         'pilot_record_referral(jsonb)'),
        ('referral_update', true, 'pilot_referral_events', 'source_org_id',
         '{target_service_id,service,source_org_id,organization}', 'created_at', 'events',
         'pilot_update_referral(uuid,jsonb)'),
        ('integration_feasibility', true, 'pilot_integration_feasibility_decisions', null,
         '{}', 'created_at', 'decisions',
         'pilot_record_integration_feasibility(jsonb)'),
        ('connection', true, 'pilot_connection_events', 'org_id',
         '{service_id,service,org_id,organization}', 'connected_at', 'events',
         'pilot_record_connection(jsonb)'),
        ('service_scope', true, 'pilot_service_scope', 'org_id',
         '{service_id,service,org_id,organization}', null, 'events',
         'pilot_record_service_scope(jsonb)'),
        ('service_status', true, 'service_operational_status_events', 'org_id',
         '{service_id,service,org_id,organization}', 'checked_at', 'events',
         'pilot_record_service_status(jsonb)'),
        ('data_decay_audit', true, 'pilot_data_decay_audits', 'org_id',
         '{service_id,service,org_id,organization}', 'audited_at', 'events',
         'pilot_record_data_decay_audit(jsonb)'),
        ('preference_fit', true, 'pilot_preference_fit_events', 'org_id',
         '{org_id,organization}', 'recorded_at', 'events',
         'pilot_record_preference_fit(jsonb)'),
        ('metric_snapshot', false, 'pilot_metric_snapshots', 'org_id',
         '{org_id,organization}', 'calculated_at', 'snapshots',
         'pilot_recompute_metrics(text,uuid)'),
        -- SPEC §14: registrations, which the nine pilot tables name (38_cycles.sql)
        ('cycle', true, 'pilot_cycles', null, '{}', null, 'registry', 'pilot_register_cycle(jsonb)'),
        ('cohort', true, 'pilot_cohorts', null, '{}'::text[], null::text, 'registry', 'pilot_register_cohort(jsonb)');
end
$$;
comment on function pilot_private.kinds() is
    'The registry of the kinds (SPEC §3, §7): kind, table, organization column, host references, event time, policy shape and recorder. The recorders, host-row triggers, policies, backups, privileges and pilot_verify() derive from it.';

-- ---------------------------------------------------------------------------------------------
-- 2. The recorders: each runs one generated body (the checks of steps 1–5 are in it).

drop function pilot_private.check_caller_and_payload(text, text, jsonb);
drop function pilot_private.check_host_rows(text, jsonb);
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

-- ---------------------------------------------------------------------------------------------
-- 3. The acting role.

-- uid() in Rust: no exception block, no subtransaction per call (issue: recorder performance).
create or replace function pilot_private.uid() returns uuid
    language c stable parallel safe
    set search_path = pg_catalog, pg_temp
    as 'MODULE_PATHNAME', 'pilot_uid';
comment on function pilot_private.uid() is
    'The caller''s user id from request.jwt.claims ->> ''sub''; null when absent or not a uuid.';

create or replace function pilot_private.is_backend() returns boolean
    language c stable parallel safe
    set search_path = pg_catalog, pg_temp
    as 'MODULE_PATHNAME', 'pilot_is_backend';
comment on function pilot_private.is_backend() is
    'True for roles row-level security does not apply to (superuser or BYPASSRLS, e.g. service_role): backend jobs.';

create function pilot_private.acting_role() returns text
    language plpgsql stable parallel safe
    set search_path = pg_catalog, pg_temp
as $$
declare
    r text := pg_catalog.current_setting('role');
begin
    return case when r is null or r = 'none' then session_user::text else r end;
end
$$;
comment on function pilot_private.acting_role() is
    'The role the session acts as (SET ROLE, else the login role); the caller''s role inside SECURITY DEFINER code too.';

create function pilot_private.acting_is_backend() returns boolean
    language c stable parallel safe
    set search_path = pg_catalog, pg_temp
    as 'MODULE_PATHNAME', 'pilot_acting_is_backend';
comment on function pilot_private.acting_is_backend() is
    'True when the acting role (SET ROLE, else the login role) is a superuser or BYPASSRLS: is_backend() for SECURITY DEFINER code.';

-- ---------------------------------------------------------------------------------------------
-- 4a. The tables of registered cycles and cohorts (38_cycles.sql, whole; filled in 6e).

create table public.pilot_cycles (
    id text primary key constraint id_is_code check (pilot_private.is_code(id)),
    starts_on date not null,
    ends_on date not null constraint ends_not_before_starts check (ends_on >= starts_on),
    created_at timestamptz not null default now(),
    created_by uuid
);
comment on table public.pilot_cycles is
$$Pilot: the registered pilot cycles, with their first and last day (SPEC §14).
Every pilot_cycle_id of the pilot tables names one of these. Register with pilot_register_cycle(); members of any organization read, app admins write.$$;

create table public.pilot_cohorts (
    id uuid primary key default gen_random_uuid(),
    pilot_cycle_id text not null constraint pilot_cycle_id_is_registered
        references public.pilot_cycles (id) on delete restrict,
    label text not null constraint label_is_code check (pilot_private.is_code(label)),
    created_at timestamptz not null default now(),
    created_by uuid,
    constraint pilot_cohorts_once unique (pilot_cycle_id, label)
);
comment on table public.pilot_cohorts is
$$Pilot: the registered cohorts of a cycle (SPEC §14); a preference-fit event names one.
Register with pilot_register_cohort(); members of any organization read, app admins write.$$;

-- ---------------------------------------------------------------------------------------------
-- 4. The audit trail (41_audit.sql, whole).

create table public.pilot_audit_events (
    id uuid primary key default gen_random_uuid(),
    at timestamptz not null default now(),
    actor uuid,
    actor_role text not null,
    action text not null constraint action_valid
        check (action in ('bulk_update_service_status', 'pilot_record_integration_feasibility', 'pilot_register_cycle',
                          'pilot_register_cohort', 'pilot_configure', 'pilot_apply_retention', 'pilot_recompute_metrics')),
    target text,
    detail jsonb not null default '{}'
);
comment on table public.pilot_audit_events is
$$Pilot: the audit trail of privileged acts, append-only (SPEC §10.5).
One row per act, written in the act's own transaction: bulk_update_service_status, integration feasibility decisions, cycle and cohort registrations, pilot_configure, pilot_apply_retention, pilot_recompute_metrics. actor is the signed-in user (null for a backend role), actor_role the role the session acted as. App admins and backend roles read it; nobody updates or deletes it.$$;
comment on column public.pilot_audit_events.action is 'The act: the name of the function that performed it.';
comment on column public.pilot_audit_events.target is 'What the act was about: an id, a setting name, a cycle (codes and ids only).';
comment on column public.pilot_audit_events.detail is 'Codes, ids and counts of the act (never a payload value).';
create index pilot_audit_events_at on public.pilot_audit_events (at desc);

alter table public.pilot_audit_events enable row level security;
create policy pilot_admins_read on public.pilot_audit_events for select to authenticated
    using ((select pilot_private.is_admin()));

-- Append-only, for every role: UPDATE, DELETE (row triggers) and TRUNCATE (a statement trigger).
create function pilot_private.audit_append_only() returns trigger
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
begin
    raise exception using errcode = '42501',
        message = pg_catalog.format('pilot_audit_events is append-only: %s refused', tg_op);
end
$$;
comment on function pilot_private.audit_append_only() is
    'Trigger: refuses UPDATE, DELETE and TRUNCATE of pilot_audit_events for every role (42501).';
create trigger pilot_audit_append_only before update or delete on public.pilot_audit_events
    for each row execute function pilot_private.audit_append_only();
create trigger pilot_audit_no_truncate before truncate on public.pilot_audit_events
    for each statement execute function pilot_private.audit_append_only();
alter table public.pilot_audit_events enable always trigger pilot_audit_append_only;
alter table public.pilot_audit_events enable always trigger pilot_audit_no_truncate;

-- One audit row, as the caller: executable by no API role (only the acts' SECURITY DEFINER code,
-- running as the owner, and the owner itself).
create function pilot_private.write_audit(action text, target text, detail jsonb) returns void
    language plpgsql volatile
    set search_path = pg_catalog, pg_temp
as $$
begin
    insert into public.pilot_audit_events (actor, actor_role, action, target, detail)
    values (case when pilot_private.acting_is_backend() then null else pilot_private.uid() end,
            pilot_private.acting_role(), write_audit.action, write_audit.target, coalesce(write_audit.detail, '{}'));
end
$$;
comment on function pilot_private.write_audit(text, text, jsonb) is
    'Writes one audit row as its caller. No API role may execute it: only the acts'' own SECURITY DEFINER code calls it.';

-- Acts that are rows — integration feasibility decisions, registered cycles and cohorts — are
-- audited whoever writes them (the recorder, or a direct INSERT of an admin through PostgREST): an
-- AFTER INSERT trigger, SECURITY DEFINER so that it may write the row the inserting role may not,
-- its action the trigger's argument. Rows loaded with row_security off are not acts but restores:
-- pg_restore sets it (and brings the dump's own audit rows); a role that row-level security
-- applies to cannot write with it off, so no API user can skip the audit this way.
create function pilot_private.audit_insert() returns trigger
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
begin
    if pg_catalog.current_setting('row_security') = 'off' then
        return null;
    end if;
    perform pilot_private.write_audit(tg_argv[0], new.id::text,
        pg_catalog.jsonb_build_object('id', new.id)
        || pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object('decision', pg_catalog.to_jsonb(new) -> 'decision')));
    return null;
end
$$;
comment on function pilot_private.audit_insert() is
    'Trigger: one audit row per inserted row of an audited act (SPEC §10.5), the action its argument: the id, and a decision''s code.';
create trigger pilot_audit_decision after insert on public.pilot_integration_feasibility_decisions
    for each row execute function pilot_private.audit_insert('pilot_record_integration_feasibility');
create trigger pilot_audit_registration after insert on public.pilot_cycles
    for each row execute function pilot_private.audit_insert('pilot_register_cycle');
create trigger pilot_audit_registration after insert on public.pilot_cohorts
    for each row execute function pilot_private.audit_insert('pilot_register_cohort');

select pg_catalog.pg_extension_config_dump('public.pilot_audit_events', '');

-- ---------------------------------------------------------------------------------------------
-- 5. Settings (42_settings.sql, whole).

-- Every setting, its default, type and bounds — or only the one named by v_setting, without reading
-- the registry unless it is a retention.<table>, which exists for each pilot table of the registry
-- of the kinds (35_kinds.sql): the recorders read recorder_calls_per_minute on every call.
create function pilot_private.setting_definitions(v_setting text default null)
returns table (setting text, default_value text, value_type text, min_value text, max_value text, description text)
    language plpgsql immutable parallel safe
    set search_path = pg_catalog, pg_temp
as $$
begin
    -- PL/pgSQL for its cached plan (see pilot_private.kinds()).
    return query select * from (values
        ('idempotency_window', '24:00:00', 'interval', '1 minute', '30 days',
         'How long an idempotency key is remembered.'),
        ('recorder_calls_per_minute', '120', 'integer', '0', '1000000',
         'Recorder calls per signed-in user per clock minute, over all recorders; 0 = no limit.'),
        ('min_cell_size', '11', 'integer', '2', '1000',
         'k of small-cell suppression; 0 (suppression off) only by a superuser or the extension''s owner.'))
        d(name, dflt, kind, lo, hi, about)
     where v_setting is null or d.name = v_setting;
    if v_setting is null or v_setting like 'retention.%' then
        return query
            select 'retention.' || t.table_name, null::text, 'interval'::text, '1 day'::text, null::text,
                   'How long rows of public.' || t.table_name || ' are kept (by their event time); none: forever.'
              from (select distinct k.table_name from pilot_private.kinds() k where k.policy_shape <> 'registry') t
             where v_setting is null or 'retention.' || t.table_name = v_setting;
    end if;
end
$$;
comment on function pilot_private.setting_definitions(text) is
    'Every setting of SPEC §10.1 with its default, type and bounds: the defaults live here, in code.';

create table pilot_private.settings (
    setting text primary key,
    value text not null,
    changed_at timestamptz not null default now(),
    changed_by uuid
);
comment on table pilot_private.settings is
    'The settings that were changed from their defaults (SPEC §10.1). Readable by no API role: pilot_settings() and pilot_configure().';
alter table pilot_private.settings enable row level security;
select pg_catalog.pg_extension_config_dump('pilot_private.settings', '');

-- A setting's value now: the stored one, else its default (null: none). SECURITY DEFINER, so that
-- the recorders and outputs, running as their callers, can read it.
create function pilot_private.setting(p_setting text) returns text
    language plpgsql stable
    security definer
    set search_path = pg_catalog, pg_temp
as $$
declare
    v text;
begin
    select s.value into v from pilot_private.settings s where s.setting = p_setting;
    if found then
        return v;
    end if;
    return (select d.default_value from pilot_private.setting_definitions(p_setting) d);
end
$$;
comment on function pilot_private.setting(text) is
    'A setting''s value: the changed one, else its default (null: none).';

-- Every setting with its value, default and whether it was changed.
create function pilot_private.read_settings()
returns table (setting text, value text, default_value text, changed boolean, description text)
    language plpgsql stable
    security definer
    set search_path = pg_catalog, pg_temp
as $$
begin
    return query
        select d.setting, coalesce(s.value, d.default_value), d.default_value, s.setting is not null, d.description
          from pilot_private.setting_definitions() d
          left join pilot_private.settings s on s.setting = d.setting
         order by d.setting;
end
$$;
comment on function pilot_private.read_settings() is 'Every setting with its value, default and whether it was changed.';

-- A value for a setting, checked against its type and bounds and written in canonical form;
-- null for "none" (retention only). 22023 naming the setting, never echoing the value.
create function pilot_private.check_setting(p_setting text, p_value text, allow_off boolean) returns text
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
declare
    d record;
    iv interval;
    n bigint;
begin
    select * into d from pilot_private.setting_definitions(p_setting) x;
    if not found then
        raise exception using errcode = '22023',
            message = pg_catalog.format('pilot_configure: unknown setting %s', pg_catalog.left(pg_catalog.quote_literal(p_setting), 120)),
            hint = 'select setting from pilot_settings() lists them.';
    end if;
    if d.value_type = 'interval' then
        if d.default_value is null and pg_catalog.lower(pg_catalog.btrim(p_value)) = 'none' then
            return null;
        end if;
        begin
            iv := p_value::interval;
        exception when others then
            iv := null;
        end;
        if iv is null or iv < d.min_value::interval or iv > coalesce(d.max_value::interval, iv) then
            raise exception using errcode = '22023',
                message = pg_catalog.format('pilot_configure: %s must be an interval from %s%s%s', p_setting, d.min_value,
                                            coalesce(' to ' || d.max_value, ''),
                                            case when d.default_value is null then ', or none' else '' end);
        end if;
        return iv::text;
    end if;
    if p_value !~ '^\s*[0-9]{1,9}\s*$' then
        n := null;
    else
        n := p_value::bigint;
    end if;
    if n is null or not (n between d.min_value::bigint and d.max_value::bigint or (allow_off and n = 0)) then
        raise exception using errcode = '22023',
            message = pg_catalog.format('pilot_configure: %s must be an integer from %s to %s%s', p_setting, d.min_value,
                                        d.max_value,
                                        case when p_setting = 'min_cell_size'
                                             then ' (0 turns suppression off: a superuser or the extension''s owner only)'
                                             else '' end);
    end if;
    return n::text;
end
$$;
comment on function pilot_private.check_setting(text, text, boolean) is
    'Checks a setting''s value against its type and bounds (22023 naming the setting); returns it in canonical form, null for none.';

-- Store a checked value (or forget it: back to the default) and audit the change, as the caller.
-- Executable by no API role: pilot_configure's paths call it.
create function pilot_private.store_setting(p_setting text, p_value text) returns jsonb
    language plpgsql volatile
    set search_path = pg_catalog, pg_temp
as $$
declare
    old_value text := pilot_private.setting(p_setting);
    default_value text := (select d.default_value from pilot_private.setting_definitions(p_setting) d);
begin
    if p_value is not distinct from default_value then
        delete from pilot_private.settings s where s.setting = p_setting;
    else
        insert into pilot_private.settings as s (setting, value, changed_at, changed_by)
        values (p_setting, p_value, pg_catalog.now(),
                case when pilot_private.acting_is_backend() then null else pilot_private.uid() end)
            on conflict (setting) do update
           set value = excluded.value, changed_at = excluded.changed_at, changed_by = excluded.changed_by;
    end if;
    perform pilot_private.write_audit('pilot_configure', p_setting,
                                      pg_catalog.jsonb_build_object('setting', p_setting, 'old', old_value, 'new', p_value));
    return pg_catalog.jsonb_build_object('setting', p_setting, 'value', p_value, 'previous', old_value,
                                         'default', default_value);
end
$$;
comment on function pilot_private.store_setting(text, text) is
    'Stores a checked setting (forgets it when it equals the default) and audits the change. No API role executes it.';

-- The privileged part of pilot_configure, for app admins and backend roles: checks the caller and
-- the value itself (min_cell_size 0 is never accepted here), so calling it directly grants nothing.
create function pilot_private.configure_setting(p_setting text, p_value text) returns jsonb
    language plpgsql volatile
    security definer
    set search_path = pg_catalog, pg_temp
as $$
begin
    if not (pilot_private.acting_is_backend() or pilot_private.is_admin()) then
        raise exception using errcode = '42501',
            message = 'pilot_configure: not allowed: settings are changed by app admins and backend roles only';
    end if;
    return pilot_private.store_setting(p_setting, pilot_private.check_setting(p_setting, p_value, false));
end
$$;
comment on function pilot_private.configure_setting(text, text) is
    'Privileged part of pilot_configure: app admins and backend roles; never min_cell_size 0.';

create function public.pilot_settings()
returns table (setting text, value text, default_value text, changed boolean, description text)
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
begin
    if not pilot_private.is_backend() and pilot_private.uid() is null then
        raise exception using errcode = '42501', message = 'pilot_settings: not signed in (no user id in request.jwt.claims)';
    end if;
    return query select * from pilot_private.read_settings();
end
$$;
comment on function public.pilot_settings() is
$$The pilot's settings (SPEC §10.1): idempotency_window, recorder_calls_per_minute, min_cell_size and retention.<table> for each pilot table, with value, default and whether changed.
Signed-in users and backend roles. Change them with pilot_configure(setting, value).$$;

-- Whoever may set min_cell_size to 0 is decided here, in the invoker layer: inside SECURITY
-- DEFINER code current_user is always the owner.
create function public.pilot_configure(setting text, value text) returns jsonb
    language plpgsql volatile
    set search_path = pg_catalog, pg_temp
as $$
declare
    privileged boolean := coalesce((select r.rolsuper from pg_catalog.pg_roles r where r.rolname = current_user), false)
                          or current_user = (select e.extowner::regrole::text from pg_catalog.pg_extension e
                                              where e.extname = 'pilot_guardrails');
begin
    if not pilot_private.is_backend() and pilot_private.uid() is null then
        raise exception using errcode = '42501', message = 'pilot_configure: not signed in (no user id in request.jwt.claims)';
    end if;
    if privileged then
        return pilot_private.store_setting($1, pilot_private.check_setting($1, $2, true));
    end if;
    return pilot_private.configure_setting($1, $2);
end
$$;
comment on function public.pilot_configure(text, text) is
$$Change a setting (SPEC §10.1): pilot_configure('min_cell_size', '11'). App admins and backend roles (403 otherwise); a bad name or value is 400 naming the setting. Intervals as PostgreSQL reads them ('24 hours'); retention.<table> also 'none'. min_cell_size 0 (suppression off) only by a superuser or the extension's owner. Every change is audited. Returns {"setting", "value", "previous", "default"}.$$;

-- ---------------------------------------------------------------------------------------------
-- 5b. The rate limit (65_rate_limit.sql, whole) and idempotency keys (66_idempotency.sql, whole).

create table pilot_private.rate_counters (
    user_id uuid not null,
    minute timestamptz not null,
    backend int not null,
    calls int not null,
    constraint rate_counters_shard primary key (user_id, minute, backend)
);
comment on table pilot_private.rate_counters is
    'Recorder calls per signed-in user, clock minute and backend (SPEC §10.3). Readable by no API role; past minutes are purged by pilot_apply_retention.';
alter table pilot_private.rate_counters enable row level security;

-- The limit, remembered in the backend (src/ffi.rs) until pilot_private.settings changes: the
-- recorders skip count_recorder_call() when it is 0, and count_recorder_call() reads the table only
-- when nothing is remembered. A statement trigger on the table queues a relcache invalidation that
-- every backend processes at its next transaction (the writer's own: at its next command, and at
-- its rollback), which forgets the value. Only the owner may remember a value: a caller who could
-- would switch the limit off for themselves.
create function pilot_private.cached_rate_limit() returns integer
    language c volatile
    set search_path = pg_catalog, pg_temp
    as 'MODULE_PATHNAME', 'pilot_cached_rate_limit';
comment on function pilot_private.cached_rate_limit() is
    'The recorder_calls_per_minute this backend remembered (count_recorder_call() reads it), or null: never read, or pilot_private.settings changed since.';
create function pilot_private.rate_limit_generation() returns bigint
    language c volatile
    set search_path = pg_catalog, pg_temp
    as 'MODULE_PATHNAME', 'pilot_rate_limit_generation';
comment on function pilot_private.rate_limit_generation() is
    'How many relcache invalidations this backend has processed: taken before reading the limit, passed to remember_rate_limit(). Owner only.';
create function pilot_private.remember_rate_limit(generation bigint, settings regclass, value integer) returns void
    language c volatile strict
    set search_path = pg_catalog, pg_temp
    as 'MODULE_PATHNAME', 'pilot_remember_rate_limit';
comment on function pilot_private.remember_rate_limit(bigint, regclass, integer) is
    'Remembers the limit read from settings, unless an invalidation came in since generation or the transaction is REPEATABLE READ or SERIALIZABLE (its snapshot may predate a change). Owner only.';
create function pilot_private.settings_changed() returns trigger
    language c
    set search_path = pg_catalog, pg_temp
    as 'MODULE_PATHNAME', 'pilot_settings_changed';
comment on function pilot_private.settings_changed() is
    'Statement trigger of pilot_private.settings: every backend forgets the rate limit it remembered.';
create trigger settings_changed after insert or update or delete or truncate on pilot_private.settings
    for each statement execute function pilot_private.settings_changed();
-- also while replication (session_replication_role = replica) writes the table
alter table pilot_private.settings enable always trigger settings_changed;
comment on trigger settings_changed on pilot_private.settings is
    'Every backend forgets the rate limit it remembered (cached_rate_limit()).';

-- Count this call of the signed-in caller, or refuse it (PGRST → 429 with Retry-After).
create function pilot_private.count_recorder_call() returns boolean
    language plpgsql volatile
    security definer
    set search_path = pg_catalog, pg_temp
as $$
declare
    me uuid;
    lim int := pilot_private.cached_rate_limit();
    generation bigint;
    m constant timestamptz := pg_catalog.date_trunc('minute', pg_catalog.now());
    n bigint;
begin
    if lim is null then
        -- setting()'s answer, read here (this function is the owner's too), and remembered
        generation := pilot_private.rate_limit_generation();
        lim := coalesce((select s.value from pilot_private.settings s where s.setting = 'recorder_calls_per_minute'),
                        (select d.default_value from pilot_private.setting_definitions('recorder_calls_per_minute') d))::int;
        perform pilot_private.remember_rate_limit(generation, 'pilot_private.settings'::regclass, lim);
    end if;
    -- the limit first: when it is off, nothing else is looked up
    if lim = 0 then
        return false;
    end if;
    me := pilot_private.uid();
    if me is null or pilot_private.acting_is_backend() then
        return false;
    end if;
    -- One statement: count this call in this backend's row, and add the other backends' calls of
    -- this user in this minute. Over the limit, the error rolls the count back with everything else.
    with mine as (
        insert into pilot_private.rate_counters as c (user_id, minute, backend, calls)
        values (me, m, pg_catalog.pg_backend_pid(), 1)
            on conflict on constraint rate_counters_shard do update set calls = c.calls + 1
        returning c.calls)
    select (select mine.calls from mine)
           + coalesce((select pg_catalog.sum(c.calls) from pilot_private.rate_counters c
                        where c.user_id = me and c.minute = m and c.backend <> pg_catalog.pg_backend_pid()), 0)
      into n;
    if n > lim then
        raise sqlstate 'PGRST' using
            message = pg_catalog.jsonb_build_object(
                'code', 'PT429',
                'message', pg_catalog.format('rate limit: at most %s recorder calls per minute per user', lim),
                'hint', 'Retry after the number of seconds in Retry-After.')::text,
            detail = pg_catalog.jsonb_build_object(
                'status', 429,
                'headers', pg_catalog.jsonb_build_object('Retry-After', greatest(1, least(60,
                    pg_catalog.ceil(pg_catalog.date_part('epoch', m + interval '1 minute' - pg_catalog.now()))::int))::text))::text;
    end if;
    return true;
end
$$;
comment on function pilot_private.count_recorder_call() is
    'True when it counted this recorder call: counts a recorder call of the signed-in caller in its backend''s row, or refuses it over recorder_calls_per_minute: SQLSTATE PGRST, HTTP 429 with Retry-After (SPEC §10.3).';

create table pilot_private.idempotency_keys (
    recorder text not null,
    org_id uuid,
    key text not null,
    request_digest text not null,
    row_id text not null,
    created_at timestamptz not null default now(),
    constraint idempotency_keys_scope unique nulls not distinct (recorder, org_id, key)
);
comment on table pilot_private.idempotency_keys is
    'Idempotency keys of recorder calls (SPEC §10.2): scope, a digest of the request, the recorded row''s id. Readable by no API role.';
-- For pilot_apply_retention's purge. BRIN: the keys arrive in created_at order, and a BRIN entry is
-- not touched by most inserts (measured: a B-tree here cost each keyed recorder call 9 µs).
create index idempotency_keys_created_at on pilot_private.idempotency_keys using brin (created_at);
alter table pilot_private.idempotency_keys enable row level security;

-- The Idempotency-Key of this request, or null. 1–255 characters of [A-Za-z0-9._:-], optionally
-- in one pair of double quotes (the IETF draft's structured-field string); anything else is 22023
-- naming the header, never its value. Read in Rust (core/src/headers.rs), without SQL.
create function pilot_private.request_idempotency_key() returns text
    language c stable
    set search_path = pg_catalog, pg_temp
    as 'MODULE_PATHNAME', 'pilot_request_idempotency_key';
comment on function pilot_private.request_idempotency_key() is
    'The request''s Idempotency-Key header (request.headers), quotes stripped; null when absent; 22023 naming the header when malformed.';

-- Claim a key for a recorder call (the table is readable by no API role, hence SECURITY DEFINER).
-- Re-checks that the caller may write for the organization; the row id is made here — but for a
-- referral update (the referral's) and a cycle registration (the cycle's code), which the request,
-- and so its digest, names. Returns claimed (record with row_id), replay (return the row row_id)
-- or conflict (another request under this key).
create function pilot_private.claim_idempotency_key(v_kind text, v_key text, v_org uuid, v_digest text, v_row_id text,
                                                    out outcome text, out row_id text)
    language plpgsql volatile
    security definer
    set search_path = pg_catalog, pg_temp
as $$
declare
    route record := pilot_private.kind_route(v_kind);
    fn text := case when route.payload then route.recorder end;
    held record;
begin
    if fn is null then
        raise exception using errcode = '22023', message = 'claim_idempotency_key: unknown kind';
    end if;
    -- the recorder's own check looked these up in this statement: asked from the cache first
    if not pilot_private.acting_is_backend()
       and not ((v_org is not null
                 and v_org = any (coalesce(pilot_private.cached_member_orgs(true), pilot_private.member_orgs(writers_only => true))))
                or coalesce(pilot_private.cached_is_admin(), pilot_private.is_admin())) then
        raise exception using errcode = '42501',
            message = fn || ': not allowed: the caller may not write for this organization';
    end if;
    insert into pilot_private.idempotency_keys as k (recorder, org_id, key, request_digest, row_id, created_at)
    values (fn, v_org, v_key, v_digest, coalesce(v_row_id, pg_catalog.gen_random_uuid()::text), pg_catalog.now())
        on conflict on constraint idempotency_keys_scope do update
       set request_digest = excluded.request_digest, row_id = excluded.row_id, created_at = excluded.created_at
     where k.created_at < pg_catalog.now() - pilot_private.setting('idempotency_window')::interval
    returning k.row_id into row_id;
    if row_id is not null then
        outcome := 'claimed';
        return;
    end if;
    select k.request_digest, k.row_id into held
      from pilot_private.idempotency_keys k
     where k.recorder = fn and k.org_id is not distinct from v_org and k.key = v_key;
    if held.request_digest is distinct from v_digest then
        outcome := 'conflict';
    else
        outcome := 'replay';
        row_id := held.row_id;
    end if;
end
$$;
comment on function pilot_private.claim_idempotency_key(text, text, uuid, text, text) is
    'Claims an idempotency key for a recorder call (SPEC §10.2): claimed with the new row''s id, replay with the recorded row''s id, or conflict. Re-checks the caller.';

-- ---------------------------------------------------------------------------------------------
-- 6. Snapshots: read only for authenticated; pilot_recompute_metrics' privileged part writes them.

drop policy pilot_writers_insert on public.pilot_metric_snapshots;
drop policy pilot_admins_update on public.pilot_metric_snapshots;
drop policy pilot_admins_delete on public.pilot_metric_snapshots;

create function pilot_private.recompute_metrics(v_cycle text, v_org uuid) returns jsonb
    language plpgsql volatile
    security definer
    set search_path = pg_catalog, pg_temp
as $$
declare
    card jsonb;
    v_at timestamptz := pg_catalog.now();
begin
    if not pilot_private.acting_is_backend() then
        if pilot_private.uid() is null then
            raise exception using errcode = '42501',
                message = 'pilot_recompute_metrics: not signed in (no user id in request.jwt.claims)';
        end if;
        if not (v_org = any (pilot_private.member_orgs(writers_only => true)) or pilot_private.is_admin()) then
            raise exception using errcode = '42501',
                message = 'pilot_recompute_metrics: not allowed: the caller is not a writer (owner, admin or editor) of the organization';
        end if;
    end if;
    card := public.pilot_scorecard(v_cycle, v_org, v_at);
    insert into public.pilot_metric_snapshots (pilot_cycle_id, org_id, metric_id, metric_value, numerator, denominator, calculated_at)
    select v_cycle, v_org, m.key, (m.value ->> 'value')::numeric, (m.value ->> 'numerator')::numeric,
           (m.value ->> 'denominator')::numeric, v_at
      from pg_catalog.jsonb_each(card -> 'metrics') m;
    perform pilot_private.write_audit('pilot_recompute_metrics', v_cycle,
                                      pg_catalog.jsonb_build_object('pilot_cycle_id', v_cycle, 'org_id', v_org));
    return card;
end
$$;
comment on function pilot_private.recompute_metrics(text, uuid) is
    'Privileged part of pilot_recompute_metrics, the only writer of snapshots: re-checks the caller (backend role, writer of the organization or app admin), computes the scorecard itself, writes nine snapshots and one audit row.';

create or replace function public.pilot_recompute_metrics(pilot_cycle_id text, org_id uuid) returns jsonb
    language plpgsql volatile
    set search_path = pg_catalog, pg_temp
as $$
declare
    card jsonb;
begin
    perform pilot_private.check_member('pilot_recompute_metrics', $2, true);
    card := pilot_private.recompute_metrics($1, $2);
    -- the snapshots hold raw numbers; what the caller reads is suppressed (SPEC §11.1)
    return pg_catalog.jsonb_set(card, '{metrics}', pilot_private.present_metrics(card -> 'metrics', pilot_private.is_backend()));
exception
    when undefined_table or undefined_column or undefined_function then
        perform pilot_private.raise_storage_missing(sqlerrm);
end
$$;
comment on function public.pilot_recompute_metrics(text, uuid) is
$$Compute the scorecard now and store its nine metrics as snapshots with one calculated_at; returns the scorecard.
The only way snapshots are written: metric history cannot be forged through the table. Writers of the organization, admins and service_role only; audited.$$;

-- ---------------------------------------------------------------------------------------------
-- 6b. Small-cell suppression (SPEC §11): the Rust rule, the published metrics, the cycle scorecard.

create function pilot_private.suppressed(k int, metric_id text, numerator bigint, denominator bigint) returns boolean
    language c immutable parallel safe
    set search_path = pg_catalog, pg_temp
    as 'MODULE_PATHNAME', 'pilot_suppressed';
comment on function pilot_private.suppressed(int, text, bigint, bigint) is
    'Whether a metric''s cell is suppressed with min_cell_size k (SPEC §11.1): a rate when its numerator, denominator or their difference is in 1..k-1, M2 when its denominator is; M4 and M6 never.';

create function pilot_private.complementary_suppression(k int, numerators bigint[], denominators bigint[], primary_suppressed boolean[])
returns boolean[]
    language c immutable strict parallel safe
    set search_path = pg_catalog, pg_temp
    as 'MODULE_PATHNAME', 'pilot_complementary_suppression';
comment on function pilot_private.complementary_suppression(int, bigint[], bigint[], boolean[]) is
    'Complementary suppression of one additive metric across organizations in org_id order (SPEC §11.2): which cells stay hidden so that no suppressed sum of numerators, denominators or differences is in 1..k-1.';

create function pilot_private.shown(cell jsonb, hidden boolean) returns jsonb
    language sql immutable parallel safe
    set search_path = pg_catalog, pg_temp
    return case when hidden
                then '{"value": null, "numerator": null, "denominator": null, "suppressed": true}'::jsonb
                else cell || '{"suppressed": false}'::jsonb end;
comment on function pilot_private.shown(jsonb, boolean) is
    'A metric object as published: with "suppressed": false, or value, numerator and denominator null and "suppressed": true.';

-- k for the caller: min_cell_size, or 0 (nothing suppressed) for backend roles.
create function pilot_private.cell_size(raw boolean) returns int
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
begin
    return case when raw then 0 else pilot_private.setting('min_cell_size')::int end;
end
$$;
comment on function pilot_private.cell_size(boolean) is 'k of small-cell suppression for the caller: min_cell_size, 0 when raw (backend roles).';

-- The metrics object of a scorecard as published (primary suppression).
create function pilot_private.present_metrics(metrics jsonb, raw boolean) returns jsonb
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
declare
    k constant int := pilot_private.cell_size(raw);
begin
    return (select pg_catalog.jsonb_object_agg(m.key, pilot_private.shown(m.value,
                       pilot_private.suppressed(k, m.key, (m.value ->> 'numerator')::bigint, (m.value ->> 'denominator')::bigint)))
              from pg_catalog.jsonb_each(metrics) m);
end
$$;
comment on function pilot_private.present_metrics(jsonb, boolean) is
    'A scorecard''s metrics as published: small cells suppressed (SPEC §11.1) unless raw (backend roles).';

create or replace function pilot_private.scorecard_metrics(v_cycle text, v_org uuid, v_as_of timestamptz) returns jsonb
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
begin
    -- the metrics' tables — the registry's event tables (35_kinds.sql) — are there (PT501 naming
    -- the first one missing, SPEC §7), though only M4's are read: the counts of a table gone would
    -- describe rows nobody can see
    perform pilot_private.raise_storage_missing(
        (select pg_catalog.format('relation "public.%s" does not exist', k.table_name)
           from (select distinct r.table_name from pilot_private.kinds() r where r.policy_shape = 'events') k
          where pg_catalog.to_regclass('public.' || pg_catalog.quote_ident(k.table_name)) is null
          order by k.table_name limit 1));
    return pilot_private.counted_metrics(v_cycle, v_org)
        || pg_catalog.jsonb_build_object('M4', pilot_private.freshness_metric(v_cycle, v_org, v_as_of));
end
$$;
comment on function pilot_private.scorecard_metrics(text, uuid, timestamptz) is
    'M1-M7 of one cycle and organization (null: all of them) as raw {"value","numerator","denominator"} objects (SPEC §8): M4 from its rows, the rest from the maintained counts (79_scorecard_counts.sql), read as the caller.';

create or replace function pilot_private.gate1(metrics jsonb, baseline_failed_contact_rate numeric,
                                    baseline_p50_seconds_to_connection numeric) returns jsonb
    language plpgsql immutable
    set search_path = pg_catalog, pg_temp
as $$
declare
    m1_num numeric := (metrics -> 'M1' ->> 'numerator')::numeric;
    m1_den numeric := (metrics -> 'M1' ->> 'denominator')::numeric;
    p50 numeric := (metrics -> 'M2_P50' ->> 'value')::numeric;
    result jsonb;
    ok boolean[];
begin
    -- numeric admits NaN and ±Infinity, and NaN compares above every number: refuse them (22023)
    -- rather than let a check pass on them.
    if baseline_failed_contact_rate in ('NaN', 'Infinity', '-Infinity') then
        raise exception using errcode = '22023',
            message = 'pilot_scorecard: baseline_failed_contact_rate must be a finite number';
    end if;
    if baseline_p50_seconds_to_connection in ('NaN', 'Infinity', '-Infinity') then
        raise exception using errcode = '22023',
            message = 'pilot_scorecard: baseline_p50_seconds_to_connection must be a finite number';
    end if;
    if baseline_failed_contact_rate is null or baseline_p50_seconds_to_connection is null then
        return null;
    end if;
    ok := array[
        -- M1 reduced ≥ 30 %: baseline − num/den ≥ 0.30 · baseline
        coalesce(baseline_failed_contact_rate > 0 and m1_den > 0
                 and baseline_failed_contact_rate * m1_den - m1_num >= 0.30 * baseline_failed_contact_rate * m1_den, false),
        -- M2 p50 reduced ≥ 25 %
        coalesce(baseline_p50_seconds_to_connection > 0
                 and baseline_p50_seconds_to_connection - p50 >= 0.25 * baseline_p50_seconds_to_connection, false),
        -- M4 ≥ 0.70
        coalesce((metrics -> 'M4' ->> 'denominator')::numeric > 0
                 and (metrics -> 'M4' ->> 'numerator')::numeric >= 0.70 * (metrics -> 'M4' ->> 'denominator')::numeric, false),
        -- M3 ≥ 0.50
        coalesce((metrics -> 'M3' ->> 'denominator')::numeric > 0
                 and (metrics -> 'M3' ->> 'numerator')::numeric >= 0.50 * (metrics -> 'M3' ->> 'denominator')::numeric, false),
        -- M6 ≤ 0.10: 10 · fatal ≤ audits
        coalesce((metrics -> 'M6' ->> 'denominator')::numeric > 0
                 and 10 * (metrics -> 'M6' ->> 'numerator')::numeric <= (metrics -> 'M6' ->> 'denominator')::numeric, false)];
    return pg_catalog.jsonb_build_object(
        'failed_contact_rate_reduction_pass', ok[1],
        'time_to_connection_reduction_pass', ok[2],
        'freshness_sla_pass', ok[3],
        'referral_capture_pass', ok[4],
        'fatal_error_rate_pass', ok[5],
        'passed_all', ok[1] and ok[2] and ok[3] and ok[4] and ok[5],
        -- SPEC §11.1: "failed" and "not enough data" read differently
        'insufficient_data', (select coalesce(pg_catalog.jsonb_agg(c.check_key order by c.ord), '[]'::jsonb)
                                from (values (1, 'failed_contact_rate_reduction_pass', 'M1'),
                                             (2, 'time_to_connection_reduction_pass', 'M2_P50'),
                                             (3, 'freshness_sla_pass', 'M4'),
                                             (4, 'referral_capture_pass', 'M3'),
                                             (5, 'fatal_error_rate_pass', 'M6')) c(ord, check_key, metric_id)
                               where metrics -> c.metric_id ->> 'value' is null));
end
$$;
comment on function pilot_private.gate1(jsonb, numeric, numeric) is 'Gate 1 checks of a scorecard''s metrics (SPEC §8); null unless both baselines are given; a NaN or infinite baseline is refused (22023). A check whose metric is null or suppressed is false and listed in insufficient_data (SPEC §11.1).';

create or replace function public.pilot_scorecard(
    pilot_cycle_id text,
    org_id uuid,
    as_of timestamptz default now(),
    baseline_failed_contact_rate numeric default null,
    baseline_p50_seconds_to_connection numeric default null
) returns jsonb
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
declare
    metrics jsonb;
begin
    perform pilot_private.check_member('pilot_scorecard', $2, false);
    metrics := pilot_private.present_metrics(pilot_private.scorecard_metrics($1, $2, $3), pilot_private.is_backend());
    return pg_catalog.jsonb_build_object(
        'pilot_cycle_id', $1,
        'org_id', $2,
        'as_of', pilot_private.utc_text($3),
        'metrics', metrics,
        'gate1', pilot_private.gate1(metrics, $4, $5));
exception
    when undefined_table or undefined_column or undefined_function then
        perform pilot_private.raise_storage_missing(sqlerrm);
end
$$;
comment on function public.pilot_scorecard(text, uuid, timestamptz, numeric, numeric) is
$$The pilot scorecard of one cycle and organization, computed live (GET metrics/scorecard).
Returns {"pilot_cycle_id", "org_id", "as_of", "metrics": {"M1" failed contact rate, "M2_P50"/"M2_P75"/"M2_P90" seconds to connection, "M3" referral completion capture, "M4" freshness SLA compliance at as_of, "M5" repeat failure rate, "M6" data-decay fatal error rate, "M7" preference fit: each {"value", "numerator", "denominator", "suppressed"}}, "gate1"}. Small cells (counts of 1 to min_cell_size - 1) are suppressed: value, numerator and denominator null, "suppressed": true. gate1 is null unless both baselines are given; it lists checks without enough data in "insufficient_data". Members of the organization, admins and service_role (raw numbers) only (401/403 otherwise). STABLE: callable with GET.$$;

-- pilot_metric_history gains its suppressed column: a changed signature, dropped and re-created.
drop function public.pilot_metric_history(text, uuid);
create function public.pilot_metric_history(pilot_cycle_id text, org_id uuid)
returns table (metric_id text, calculated_at timestamptz, metric_value numeric, numerator numeric, denominator numeric,
               suppressed boolean)
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
declare
    k constant int := pilot_private.cell_size(pilot_private.is_backend());
begin
    perform pilot_private.check_member('pilot_metric_history', $2, false);
    -- snapshots hold raw numbers; suppression applies as they are read (SPEC §11.1)
    return query
        select s.metric_id, s.calculated_at,
               case when x.hidden then null else s.metric_value end,
               case when x.hidden then null else s.numerator end,
               case when x.hidden then null else s.denominator end,
               x.hidden
          from public.pilot_metric_snapshots s,
               lateral (select pilot_private.suppressed(k, s.metric_id, s.numerator::bigint, s.denominator::bigint) as hidden) x
         where s.pilot_cycle_id = $1 and s.org_id = $2
         order by s.calculated_at desc, s.metric_id;
exception
    when undefined_table or undefined_column or undefined_function then
        perform pilot_private.raise_storage_missing(sqlerrm);
end
$$;
comment on function public.pilot_metric_history(text, uuid) is
$$Stored metric snapshots of one cycle and organization, newest first.
Same access as pilot_scorecard; small cells are suppressed as in pilot_scorecard (value, numerator and denominator null, suppressed true), backend roles read raw numbers.$$;

-- The organizations of a cycle, in org_id order: every organization column of the registry. A
-- skip scan per table over its (pilot_cycle_id, organization, …) index — one index probe per
-- organization, however many rows each has. Generated from the registry of the kinds (35_kinds.sql)
-- as a static query, so that PL/pgSQL keeps its plan.
do $generate$
declare
    q text;
begin
    select pg_catalog.string_agg(pg_catalog.format(
               '(with recursive s(o) as ('
               '(select t.%1$I from public.%2$I t where t.pilot_cycle_id = v_cycle order by t.%1$I limit 1) '
               'union all select (select t.%1$I from public.%2$I t where t.pilot_cycle_id = v_cycle and t.%1$I > s.o '
               'order by t.%1$I limit 1) from s where s.o is not null) select s.o from s where s.o is not null)',
               k.org_column, k.table_name), E'\n        union ' order by k.table_name)
      into q
      from (select distinct r.table_name, r.org_column from pilot_private.kinds() r where r.org_column is not null) k;
    execute pg_catalog.format($create$
create or replace function pilot_private.cycle_organizations(v_cycle text) returns uuid[]
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
    set plan_cache_mode = force_generic_plan
as $body$
begin
    return (select coalesce(pg_catalog.array_agg(x.o order by x.o), '{}') from (
        %s) x(o));
end
$body$$create$, q);
end
$generate$;
comment on function pilot_private.cycle_organizations(text) is
    'Every organization with at least one row of the cycle in any pilot table, in org_id order, read as the caller (a skip scan over each table''s cycle and organization index).';

create function public.pilot_cycle_scorecard(pilot_cycle_id text, as_of timestamptz default now()) returns jsonb
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
    set plan_cache_mode = force_generic_plan
as $$
declare
    raw constant boolean := pilot_private.is_backend();
    k int;
    orgs uuid[];
    n int;
    cards jsonb[] := '{}';
    total jsonb;
    per_org jsonb[];
    total_out jsonb := '{}';
    metric text;
    nums bigint[];
    dens bigint[];
    prim boolean[];
    hidden boolean[];
    i int;
begin
    if not raw then
        if pilot_private.uid() is null then
            raise exception using errcode = '42501', message = 'pilot_cycle_scorecard: not signed in (no user id in request.jwt.claims)';
        end if;
        if not pilot_private.is_admin() then
            raise exception using errcode = '42501',
                message = 'pilot_cycle_scorecard: not allowed: app admins and backend roles only';
        end if;
    end if;
    k := pilot_private.cell_size(raw);
    orgs := pilot_private.cycle_organizations($1);
    n := pg_catalog.cardinality(orgs);
    for i in 1 .. n loop
        cards := cards || pilot_private.scorecard_metrics($1, orgs[i], $2);
    end loop;
    -- the total: M4 (scoped services, each of one organization) sums the organizations'; the rest
    -- from the cycle's counts (M2 and M5 are not sums)
    total := pilot_private.counted_metrics($1, null) || pg_catalog.jsonb_build_object('M4', pilot_private.rate(
        (select coalesce(pg_catalog.sum((cards[j] -> 'M4' ->> 'numerator')::bigint), 0) from pg_catalog.generate_series(1, n) j)::bigint,
        (select coalesce(pg_catalog.sum((cards[j] -> 'M4' ->> 'denominator')::bigint), 0) from pg_catalog.generate_series(1, n) j)::bigint));
    per_org := pg_catalog.array_fill('{}'::jsonb, array[n]);

    foreach metric in array array['M1', 'M2_P50', 'M2_P75', 'M2_P90', 'M3', 'M4', 'M5', 'M6', 'M7'] loop
        nums := array(select (cards[j] -> metric ->> 'numerator')::bigint from pg_catalog.generate_series(1, n) j order by j);
        dens := array(select (cards[j] -> metric ->> 'denominator')::bigint from pg_catalog.generate_series(1, n) j order by j);
        prim := array(select pilot_private.suppressed(k, metric, nums[j], dens[j]) from pg_catalog.generate_series(1, n) j order by j);
        if metric in ('M1', 'M3', 'M7') then
            hidden := pilot_private.complementary_suppression(k, nums, dens, prim);
        else
            hidden := prim;
        end if;
        for i in 1 .. n loop
            per_org[i] := per_org[i] || pg_catalog.jsonb_build_object(metric, pilot_private.shown(cards[i] -> metric, hidden[i]));
        end loop;
        total_out := total_out || pg_catalog.jsonb_build_object(metric, pilot_private.shown(total -> metric,
            pilot_private.suppressed(k, metric, (total -> metric ->> 'numerator')::bigint, (total -> metric ->> 'denominator')::bigint)
            or (metric in ('M2_P50', 'M2_P75', 'M2_P90', 'M5') and true = any (prim))));
    end loop;

    return pg_catalog.jsonb_build_object(
        'pilot_cycle_id', $1,
        'as_of', pilot_private.utc_text($2),
        'organizations', coalesce((select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('org_id', orgs[j], 'metrics', per_org[j]) order by j)
                                     from pg_catalog.generate_series(1, n) j), '[]'::jsonb),
        'total', pg_catalog.jsonb_build_object('metrics', total_out));
exception
    when undefined_table or undefined_column or undefined_function then
        perform pilot_private.raise_storage_missing(sqlerrm);
end
$$;
comment on function public.pilot_cycle_scorecard(text, timestamptz) is
$$The pilot cycle across organizations (SPEC §11.2): GET /rpc/pilot_cycle_scorecard?pilot_cycle_id=…
Returns {"pilot_cycle_id", "as_of", "organizations": [{"org_id", "metrics": {…}}, …] (every organization with a row of the cycle, by org_id), "total": {"metrics": {…}}}, each metric as pilot_scorecard gives it with "suppressed". Small cells are suppressed, and more cells where the total minus the shown ones would reveal a small count. App admins and backend roles (raw numbers) only; 401/403 otherwise. STABLE: callable with GET.$$;

-- ---------------------------------------------------------------------------------------------
-- 6c. Retention with receipts (84_retention.sql, whole; SPEC §11.3).

-- The privileged part: deletes as the owner (snapshots and the bookkeeping tables are not the
-- callers' to delete), after re-checking the caller.
create function pilot_private.apply_retention(v_dry_run boolean)
returns table (table_name text, cutoff timestamptz, rows bigint, dry_run boolean)
    language plpgsql volatile
    security definer
    set search_path = pg_catalog, pg_temp
as $$
declare
    t record;
    cutoffs jsonb := '{}';
    cut timestamptz;
    n bigint;
    receipt jsonb := '[]';
    conn_cut timestamptz;
    attempt_cut timestamptz;
    referral_cut timestamptz;
begin
    if not (pilot_private.acting_is_backend() or pilot_private.is_admin()) then
        raise exception using errcode = '42501',
            message = 'pilot_apply_retention: not allowed: app admins and backend roles only';
    end if;

    -- The cutoff of every table with a window and an event time.
    for t in select distinct k.table_name, k.time_column from pilot_private.kinds() k where k.time_column is not null loop
        cut := pg_catalog.now() - pilot_private.setting('retention.' || t.table_name)::interval;
        if cut is not null then
            cutoffs := cutoffs || pg_catalog.jsonb_build_object(t.table_name, cut);
        end if;
    end loop;
    conn_cut := (cutoffs ->> 'pilot_connection_events')::timestamptz;
    attempt_cut := (cutoffs ->> 'pilot_contact_attempt_events')::timestamptz;
    referral_cut := (cutoffs ->> 'pilot_referral_events')::timestamptz;

    -- Connections first: their own window, and those whose anchor goes.
    if conn_cut is not null or attempt_cut is not null or referral_cut is not null then
        if v_dry_run then
            select pg_catalog.count(*) into n from public.pilot_connection_events c
             where c.connected_at < conn_cut
                or exists (select 1 from public.pilot_contact_attempt_events a
                            where a.id = c.contact_attempt_event_id and a.attempted_at < attempt_cut)
                or exists (select 1 from public.pilot_referral_events r
                            where r.id = c.referral_event_id and r.created_at < referral_cut);
        else
            delete from public.pilot_connection_events c
             where c.connected_at < conn_cut
                or exists (select 1 from public.pilot_contact_attempt_events a
                            where a.id = c.contact_attempt_event_id and a.attempted_at < attempt_cut)
                or exists (select 1 from public.pilot_referral_events r
                            where r.id = c.referral_event_id and r.created_at < referral_cut);
            get diagnostics n = row_count;
        end if;
        table_name := 'pilot_connection_events'; cutoff := conn_cut; rows := n; dry_run := v_dry_run;
        receipt := receipt || pg_catalog.jsonb_build_object('table', table_name, 'cutoff', cutoff, 'rows', rows);
        return next;
    end if;

    -- Every other table with a window, by its event time.
    for t in select distinct k.table_name, k.time_column from pilot_private.kinds() k
              where k.time_column is not null and k.table_name <> 'pilot_connection_events'
                and cutoffs ? k.table_name order by k.table_name loop
        cut := (cutoffs ->> t.table_name)::timestamptz;
        if v_dry_run then
            execute pg_catalog.format('select pg_catalog.count(*) from public.%I where %I < $1', t.table_name, t.time_column)
               into n using cut;
        else
            execute pg_catalog.format('delete from public.%I where %I < $1', t.table_name, t.time_column) using cut;
            get diagnostics n = row_count;
        end if;
        table_name := t.table_name; cutoff := cut; rows := n; dry_run := v_dry_run;
        receipt := receipt || pg_catalog.jsonb_build_object('table', table_name, 'cutoff', cutoff, 'rows', rows);
        return next;
    end loop;

    -- The bookkeeping: expired idempotency keys, rate counters of past minutes.
    cut := pg_catalog.now() - pilot_private.setting('idempotency_window')::interval;
    if v_dry_run then
        select pg_catalog.count(*) into n from pilot_private.idempotency_keys k where k.created_at < cut;
    else
        delete from pilot_private.idempotency_keys k where k.created_at < cut;
        get diagnostics n = row_count;
    end if;
    table_name := 'pilot_private.idempotency_keys'; cutoff := cut; rows := n; dry_run := v_dry_run;
    receipt := receipt || pg_catalog.jsonb_build_object('table', table_name, 'cutoff', cutoff, 'rows', rows);
    return next;
    cut := pg_catalog.date_trunc('minute', pg_catalog.now());
    if v_dry_run then
        select pg_catalog.count(*) into n from pilot_private.rate_counters c where c.minute < cut;
    else
        delete from pilot_private.rate_counters c where c.minute < cut;
        get diagnostics n = row_count;
    end if;
    table_name := 'pilot_private.rate_counters'; cutoff := cut; rows := n; dry_run := v_dry_run;
    receipt := receipt || pg_catalog.jsonb_build_object('table', table_name, 'cutoff', cutoff, 'rows', rows);
    return next;

    perform pilot_private.write_audit('pilot_apply_retention', null,
                                      pg_catalog.jsonb_build_object('dry_run', v_dry_run, 'tables', receipt));
end
$$;
comment on function pilot_private.apply_retention(boolean) is
    'Privileged part of pilot_apply_retention: re-checks the caller (app admin or backend role), deletes or counts the rows past each retention window, purges expired idempotency keys and past rate counters, and audits the run.';

-- dry_run is both the argument and a result column (SPEC §11.3's signature): an INOUT parameter.
create function public.pilot_apply_retention(out table_name text, out cutoff timestamptz, out rows bigint,
                                             inout dry_run boolean default true)
returns setof record
    language plpgsql volatile
    set search_path = pg_catalog, pg_temp
as $$
begin
    if not pilot_private.is_backend() and pilot_private.uid() is null then
        raise exception using errcode = '42501', message = 'pilot_apply_retention: not signed in (no user id in request.jwt.claims)';
    end if;
    return query select * from pilot_private.apply_retention(coalesce(pilot_apply_retention.dry_run, true));
end
$$;
comment on function public.pilot_apply_retention(boolean) is
$$Enforce the retention windows (SPEC §11.3): POST /rpc/pilot_apply_retention {"dry_run": false}.
For each pilot table with a retention.<table> setting, the rows whose event time is before now() minus the window are deleted (dry_run, the default: only counted); connections of deleted anchors go with them; service scope is kept. A real run also purges expired idempotency keys and past rate counters. Returns one row per table: table_name, cutoff, rows, dry_run; every run is audited. App admins and backend roles only.$$;

-- ---------------------------------------------------------------------------------------------
-- 6d. Keyed pseudonyms (SPEC §14): the key, then the existing rows re-keyed before the keying
-- trigger exists (the old lower-casing trigger leaves a k1: value as it is), then the trigger.

create function pilot_private.hmac_k1(key bytea, client_hash text) returns text
    language c immutable strict parallel safe
    set search_path = pg_catalog, pg_temp
    as 'MODULE_PATHNAME', 'pilot_hmac_k1';
comment on function pilot_private.hmac_k1(bytea, text) is
    'k1: and the HMAC-SHA-256 (64 lower-case hex) under key of the lower-cased client hash (SPEC §14).';

create function pilot_private.strong_random_bytes(n int) returns bytea
    language c volatile strict
    set search_path = pg_catalog, pg_temp
    as 'MODULE_PATHNAME', 'pilot_strong_random_bytes';
comment on function pilot_private.strong_random_bytes(int) is 'n bytes (1 to 1024) from PostgreSQL''s pg_strong_random.';

create table pilot_private.pseudonym_keys (
    id uuid primary key default gen_random_uuid(),
    key bytea not null constraint key_is_32_bytes check (pg_catalog.length(key) = 32),
    created_at timestamptz not null default now()
);
comment on table pilot_private.pseudonym_keys is
    'The secret key of keyed pseudonyms (SPEC §14): the earliest row wins. Readable by no API role; a full dump carries it.';
alter table pilot_private.pseudonym_keys enable row level security;
insert into pilot_private.pseudonym_keys (key) values (pilot_private.strong_random_bytes(32));
select pg_catalog.pg_extension_config_dump('pilot_private.pseudonym_keys', '');

-- Before the CHECK: a plain 64-hex client hash (either case) is keyed, whoever writes it (the
-- recorders and direct writes alike). An already keyed k1: value is accepted only from roles that
-- row-level security does not apply to — how pg_restore (whose COPY fires row triggers) and
-- backend jobs load keyed rows without keying them twice; an API role sending one is refused
-- (22023). SECURITY DEFINER: it reads the key no API role may read.
create function pilot_private.key_entity_hash() returns trigger
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
begin
    if new.entity_key_hash is null then
        return new;
    -- 64 hex digits, as a length and a repetition (not {64}: see entity_key_hash_is_keyed)
    elsif pg_catalog.length(new.entity_key_hash) = 64 and new.entity_key_hash ~ '^[0-9A-Fa-f]+$' then
        new.entity_key_hash := (select pilot_private.hmac_k1(k.key, new.entity_key_hash)
                                  from pilot_private.pseudonym_keys k order by k.created_at, k.id limit 1);
    elsif new.entity_key_hash ~ '^k1:' and not pilot_private.acting_is_backend()
          and (tg_op = 'INSERT' or new.entity_key_hash is distinct from old.entity_key_hash) then
        raise exception using errcode = '22023',
            message = 'entity_key_hash: send the SHA-256 hex; an already keyed (k1:) value is accepted from backend roles only';
    end if;
    return new;
end
$$;
comment on function pilot_private.key_entity_hash() is
    'Keys a plain SHA-256 hex entity_key_hash as k1:HMAC-SHA-256 under the secret key; accepts k1: values from backend roles only (22023).';
alter table public.pilot_contact_attempt_events drop constraint entity_key_hash_is_sha256_hex;
update public.pilot_contact_attempt_events
   set entity_key_hash = (select pilot_private.hmac_k1(k.key, entity_key_hash)
                            from pilot_private.pseudonym_keys k order by k.created_at, k.id limit 1)
 where entity_key_hash is not null;
alter table public.pilot_contact_attempt_events
    add constraint entity_key_hash_is_keyed check (pg_catalog.length(entity_key_hash) = 67 and entity_key_hash ~ '^k1:[0-9a-f]+$');
drop trigger pilot_lowercase_entity_key_hash on public.pilot_contact_attempt_events;
drop function pilot_private.lowercase_entity_key_hash();
create trigger pilot_key_entity_hash
    before insert or update of entity_key_hash on public.pilot_contact_attempt_events
    for each row execute function pilot_private.key_entity_hash();
comment on column public.pilot_contact_attempt_events.entity_key_hash is
    'Keyed pseudonym of the entity: k1: and the HMAC-SHA-256, under the database''s secret key, of the SHA-256 hex the client sent (SPEC §14). Repeat failures (M5) are counted per value.';

-- ---------------------------------------------------------------------------------------------
-- 6e. Registered cycles and cohorts (SPEC §14): the tables, the cycles and cohorts already in use
-- registered (UTC dates of a cycle's first and last event; none dated: today, both ends), then the
-- foreign keys every pilot_cycle_id (and a preference-fit event's cohort) now has.

select pg_catalog.pg_extension_config_dump('public.pilot_cohorts', '');
select pg_catalog.pg_extension_config_dump('public.pilot_cycles', '');

do $registry_policies$
declare
    admin constant text := '(select pilot_private.is_admin())';
    t text;
begin
    for t in select distinct k.table_name from pilot_private.kinds() k where k.policy_shape = 'registry' order by 1 loop
        execute pg_catalog.format('alter table public.%I enable row level security', t);
        execute pg_catalog.format(
            'create policy pilot_members_read on public.%I for select to authenticated '
            'using (%s or pg_catalog.cardinality((select pilot_private.member_orgs(writers_only => false))) > 0)', t, admin);
        execute pg_catalog.format('create policy pilot_admins_insert on public.%I for insert to authenticated with check (%s)', t, admin);
        execute pg_catalog.format(
            'create policy pilot_admins_update on public.%I for update to authenticated using (%s) with check (%s)', t, admin, admin);
        execute pg_catalog.format('create policy pilot_admins_delete on public.%I for delete to authenticated using (%s)', t, admin);
    end loop;
end
$registry_policies$;

do $register_cycles_in_use$
declare
    q text;
begin
    select pg_catalog.string_agg(pg_catalog.format('select pilot_cycle_id as c, %s as t from public.%I where pilot_cycle_id is not null',
                                                   coalesce(pg_catalog.quote_ident(k.time_column), 'null::timestamptz'), k.table_name),
                                 ' union all ' order by k.table_name)
      into q
      from (select distinct r.table_name, r.time_column from pilot_private.kinds() r where r.policy_shape <> 'registry') k;
    execute pg_catalog.format(
        'insert into public.pilot_cycles (id, starts_on, ends_on)
         select c, coalesce(pg_catalog.min(t at time zone ''UTC'')::date, (pg_catalog.now() at time zone ''UTC'')::date),
                   coalesce(pg_catalog.max(t at time zone ''UTC'')::date, (pg_catalog.now() at time zone ''UTC'')::date)
           from (%s) x group by c', q);
end
$register_cycles_in_use$;
insert into public.pilot_cohorts (pilot_cycle_id, label)
select distinct f.pilot_cycle_id, f.cohort_label from public.pilot_preference_fit_events f;

do $foreign_keys$
declare
    t text;
begin
    for t in select distinct k.table_name from pilot_private.kinds() k where k.policy_shape <> 'registry' order by 1 loop
        execute pg_catalog.format(
            'alter table public.%I add constraint pilot_cycle_id_is_registered foreign key (pilot_cycle_id) '
            'references public.pilot_cycles (id) on delete restrict', t);
    end loop;
end
$foreign_keys$;
alter table public.pilot_preference_fit_events add constraint cohort_label_is_registered
    foreign key (pilot_cycle_id, cohort_label) references public.pilot_cohorts (pilot_cycle_id, label) on delete restrict;

-- pilot_validate knows the two new kinds.
comment on function public.pilot_validate(text, jsonb) is
$$Validate a pilot payload without writing anything.
Returns the list of issues, [] when the payload is valid: each issue is {"path", "code", "message"} and never quotes a payload value. kind is one of contact_attempt, referral, referral_update, integration_feasibility, connection, service_scope, service_status, data_decay_audit, preference_fit, cycle, cohort; any other kind raises 22023. Payloads over 65536 bytes are refused as the recorders refuse them, after the privacy walk has reported every forbidden key.$$;

-- ---------------------------------------------------------------------------------------------
-- 7. bulk_update_service_status: both paths run the update as the owner and audit it.

create or replace function pilot_private.apply_service_status(
    p_service_ids text[], p_verification_status text, p_published boolean, p_actor uuid
) returns table (updated_count int, failed_ids text[])
    language plpgsql volatile
    set search_path = pg_catalog, pg_temp
as $$
declare
    services constant regclass := pg_catalog.to_regclass('public.services');
    untrusted text[];
    n int;
    failed text[];
begin
    if services is null then
        perform pilot_private.raise_storage_missing('relation "public.services" does not exist');
    end if;
    untrusted := pilot_private.untrusted_triggers(services);
    if pg_catalog.cardinality(untrusted) > 0 then
        raise exception using errcode = '42501',
            message = 'bulk_update_service_status: refused: public.services has a trigger whose function an API role owns or that lives in a temporary schema: '
                      || pg_catalog.array_to_string(untrusted, ', '),
            hint = 'Drop or disable the trigger, and revoke trigger on public.services from anon, authenticated, service_role.';
    end if;
    with input as (
        select u.id, pg_catalog.min(u.ord) as ord
          from pg_catalog.unnest(p_service_ids) with ordinality as u(id, ord)
         group by u.id
    ), updated as (
        update public.services s
           set verification_status = coalesce(p_verification_status, s.verification_status),
               published = coalesce(p_published, s.published),
               reviewed_by = p_actor,
               last_admin_review = pg_catalog.now(),
               updated_at = pg_catalog.now()
          from input i
         where s.id = i.id
     returning s.id
    )
    select (select pg_catalog.count(*) from updated)::int,
           coalesce((select pg_catalog.array_agg(i.id order by i.ord)
                       from input i where not exists (select 1 from updated d where d.id = i.id)), '{}')
      into n, failed;
    perform pilot_private.write_audit('bulk_update_service_status', null, pg_catalog.jsonb_build_object(
        'acting_admin', p_actor, 'ids', p_service_ids, 'verification_status', p_verification_status,
        'published', p_published, 'updated_count', n, 'failed_ids', failed));
    return query select n, failed;
exception
    when undefined_table or undefined_column or undefined_function then
        perform pilot_private.raise_storage_missing(sqlerrm);
end
$$;
comment on function pilot_private.apply_service_status(text[], text, boolean, uuid) is
    'Updates verification_status/published of services, reviewed_by = p_actor, and writes its audit row. Called by the privileged parts only; refuses (42501) while public.services carries an untrusted trigger (SPEC §2).';

create function pilot_private.bulk_update_service_status_as_backend(
    p_service_ids text[], p_verification_status text, p_published boolean, p_admin_user_id uuid
) returns table (updated_count int, failed_ids text[])
    language plpgsql volatile
    security definer
    set search_path = pg_catalog, pg_temp
as $$
begin
    if not pilot_private.acting_is_backend() then
        raise exception using errcode = '42501',
            message = 'bulk_update_service_status: not a backend role';
    end if;
    perform pilot_private.check_bulk_update_args(p_service_ids, p_verification_status, p_published);
    if p_admin_user_id is null then
        raise exception using errcode = '42501',
            message = 'bulk_update_service_status: a backend caller must name the acting admin in p_admin_user_id';
    end if;
    if not pilot_private.user_is_admin(p_admin_user_id) then
        raise exception using errcode = '42501',
            message = 'bulk_update_service_status: p_admin_user_id is not an app admin (public.app_admins)';
    end if;
    return query select * from pilot_private.apply_service_status(p_service_ids, p_verification_status, p_published, p_admin_user_id);
end
$$;
comment on function pilot_private.bulk_update_service_status_as_backend(text[], text, boolean, uuid) is
    'Privileged part of bulk_update_service_status for backend roles: the acting admin is p_admin_user_id, who must be in app_admins.';

create or replace function public.bulk_update_service_status(
    p_service_ids text[],
    p_verification_status text default null,
    p_published boolean default null,
    p_admin_user_id uuid default null
) returns table (updated_count int, failed_ids text[])
    language plpgsql volatile
    security invoker
    set search_path = pg_catalog, pg_temp
as $$
begin
    if pilot_private.is_backend() then
        return query select * from pilot_private.bulk_update_service_status_as_backend(
            p_service_ids, p_verification_status, p_published, p_admin_user_id);
    else
        return query select * from pilot_private.bulk_update_service_status_as_admin(
            p_service_ids, p_verification_status, p_published, p_admin_user_id);
    end if;
end
$$;
comment on function public.bulk_update_service_status(text[], text, boolean, uuid) is
$$Set verification_status and/or published on up to 1000 services at once (app admins only).
Admins are the rows of app_admins — never a JWT claim a user can set. p_admin_user_id, when given, must be the caller; reviewed_by is the caller. Backend jobs (service_role) must name the acting admin in p_admin_user_id. p_verification_status is L0, L1, L2 or L3. Returns how many services were updated and the ids (in input order) that matched none. Errors: 42501 not an admin, 22023 bad arguments.$$;

-- ---------------------------------------------------------------------------------------------
-- 8. The drop guard.

create or replace function pilot_private.drop_guard_enforce() returns event_trigger
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
declare
    t regclass;
    has_rows boolean;
    holding text[] := '{}';
begin
    if coalesce(pg_catalog.current_setting('pilot_guardrails.dropping_self', true), 'off') <> 'on' then
        return;
    end if;
    if pg_catalog.lower(coalesce(pg_catalog.current_setting('pilot_guardrails.allow_data_loss', true), 'off'))
           in ('on', 'true', 'yes', '1') then
        return;
    end if;
    -- The pilot tables and the audit trail (public); not the settings and other internals.
    for t in select c.oid::regclass
               from pg_catalog.pg_extension e, pg_catalog.unnest(e.extconfig) x(rel)
               join pg_catalog.pg_class c on c.oid = x.rel
              where e.extname = 'pilot_guardrails' and c.relnamespace = 'public'::regnamespace
              order by c.relname loop
        execute pg_catalog.format('select exists (select 1 from %s)', t) into has_rows;
        if has_rows then
            holding := holding || t::text;
        end if;
    end loop;
    if pg_catalog.cardinality(holding) > 0 then
        raise exception using
            errcode = '2BP01',
            message = 'DROP EXTENSION pilot_guardrails refused: pilot tables hold rows ('
                      || pg_catalog.array_to_string(holding, ', ') || ')',
            detail = 'Dropping the extension drops these tables and every pilot event in them.',
            hint = 'Export the rows first (pg_dump --data-only --table=''public.pilot_*'' --table=public.service_operational_status_events), '
                   'then SET pilot_guardrails.allow_data_loss = on in this session and drop again.';
    end if;
end
$$;
comment on function pilot_private.drop_guard_enforce() is
    'Event trigger (DROP EXTENSION): refuses to drop pilot_guardrails while pilot tables hold rows, unless pilot_guardrails.allow_data_loss is on.';

-- ---------------------------------------------------------------------------------------------
-- 9. The privilege matrix and pilot_verify().

create or replace function pilot_private.privilege_matrix()
returns table (object_kind text, object_name text, grantee text, privileges text)
    language plpgsql immutable
    set search_path = pg_catalog, pg_temp
as $$
declare
    api constant text[] := array['authenticated', 'service_role'];
    -- Called as the caller: the policies, CHECKs, triggers, recorders and the scorecard. The
    -- recorders and the pilot tables come from the registry of the kinds (35_kinds.sql).
    both_roles constant text[] := array[
        'public.pilot_validate(text,jsonb)',
        'public.pilot_disallowed_key_paths(jsonb)',
        'public.bulk_update_service_status(text[],text,boolean,uuid)',
        'public.pilot_scorecard(text,uuid,timestamp with time zone,numeric,numeric)',
        'public.pilot_metric_history(text,uuid)',
        'public.pilot_scorecard_page(text,uuid,timestamp with time zone,numeric,numeric)',
        'pilot_private.render_scorecard_page(text,text,text,integer)',
        'pilot_private.organization_name(uuid)',
        'public.pilot_settings()',
        'public.pilot_configure(text,text)',
        'pilot_private.acting_role()',
        'pilot_private.acting_is_backend()',
        'pilot_private.setting_definitions(text)',
        'pilot_private.setting(text)',
        'pilot_private.read_settings()',
        'pilot_private.configure_setting(text,text)',
        'pilot_private.recompute_metrics(text,uuid)',
        'public.pilot_cycle_scorecard(text,timestamp with time zone)',
        'public.pilot_apply_retention(boolean)',
        'pilot_private.apply_retention(boolean)',
        'pilot_private.suppressed(integer,text,bigint,bigint)',
        'pilot_private.complementary_suppression(integer,bigint[],bigint[],boolean[])',
        'pilot_private.shown(jsonb,boolean)',
        'pilot_private.cell_size(boolean)',
        'pilot_private.present_metrics(jsonb,boolean)',
        'pilot_private.cycle_organizations(text)',
        'pilot_private.count_recorder_call()',
        'pilot_private.cached_rate_limit()',
        'pilot_private.request_idempotency_key()',
        'pilot_private.request_digest(text)',
        'pilot_private.claim_idempotency_key(text,text,uuid,text,text)',
        'pilot_private.uid()',
        'pilot_private.is_backend()',
        'pilot_private.raise_storage_missing(text)',
        'pilot_private.is_admin()',
        'pilot_private.member_orgs(boolean)',
        'pilot_private.read_orgs(text)',
        'pilot_private.cached_is_admin()',
        'pilot_private.cached_member_orgs(boolean)',
        'pilot_private.host_row_exists(text,text)',
        'pilot_private.is_code(text,integer)',
        'pilot_private.are_codes(text[],integer)',
        'pilot_private.validate(text,jsonb)',
        'pilot_private.kinds()',
        'pilot_private.check_referral_update(text,uuid,jsonb)',
        'pilot_private.check_connection_anchor(text,jsonb)',
        'pilot_private.percentiles(bigint[],integer[])',
        'pilot_private.rate(bigint,bigint)',
        'pilot_private.scorecard_metrics(text,uuid,timestamp with time zone)',
        'pilot_private.durations_at_ranks(text,uuid,bigint[])',
        'pilot_private.counted_metrics(text,uuid)',
        'pilot_private.freshness_metric(text,uuid,timestamp with time zone)',
        'pilot_private.gate1(jsonb,numeric,numeric)',
        'pilot_private.check_member(text,uuid,boolean)',
        'pilot_private.utc_text(timestamp with time zone)'];
    -- bulk_update_service_status (SPEC §5): the privileged part for signed-in users only, the
    -- backend path's helpers for backend roles only.
    authenticated_only constant text[] := array[
        'pilot_private.bulk_update_service_status_as_admin(text[],text,boolean,uuid)'];
    service_role_only constant text[] := array[
        'pilot_private.bulk_update_service_status_as_backend(text[],text,boolean,uuid)',
        'pilot_private.untrusted_triggers(regclass)',
        'pilot_private.privilege_matrix()',
        'public.pilot_verify()',
        'public.pilot_rebuild_scorecard_counts()',
        'pilot_private.rebuild_scorecard_counts()'];
begin
    return query
        select 'function', f, r, 'EXECUTE' from pg_catalog.unnest(both_roles) f, pg_catalog.unnest(api) r
        union all
        select 'function', 'public.' || k.recorder, r, 'EXECUTE' from pilot_private.kinds() k, pg_catalog.unnest(api) r
        union all
        select 'function', f, 'authenticated', 'EXECUTE' from pg_catalog.unnest(authenticated_only) f
        union all
        select 'function', f, 'service_role', 'EXECUTE' from pg_catalog.unnest(service_role_only) f
        -- Pilot tables: row-level security decides for authenticated; service_role bypasses it.
        -- Never TRUNCATE, TRIGGER or REFERENCES.
        union all
        -- Snapshots: SELECT for authenticated, written by pilot_recompute_metrics only (SPEC §10.4).
        select distinct 'table', 'public.' || k.table_name, r,
               case when k.policy_shape = 'snapshots' and r = 'authenticated' then 'SELECT' else 'DELETE,INSERT,SELECT,UPDATE' end
          from pilot_private.kinds() k, pg_catalog.unnest(api) r
        -- The audit trail: read only (row-level security: app admins), append-only (SPEC §10.5).
        union all
        select 'table', 'public.pilot_audit_events', r, 'SELECT' from pg_catalog.unnest(api) r
        -- The scorecard's maintained counts: read by the scorecard as the caller (row-level
        -- security: members of the organization, admins), written by triggers only.
        union all
        select 'table', 'pilot_private.scorecard_counts', r, 'SELECT' from pg_catalog.unnest(api) r;
end
$$;
comment on function pilot_private.privilege_matrix() is
    'What anon, authenticated and service_role hold on each object of the extension (SPEC §2); nothing else is granted. Used by reset_privileges() and pilot_verify().';

create or replace function public.pilot_verify() returns table ("check" text, ok boolean, detail text)
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
declare
    -- The exact columns of each pilot table (SPEC §3), written out here, independently of the
    -- tables; which tables there are, and the shape of their policies, come from the registry.
    expected_columns constant jsonb := '{
        "pilot_contact_attempt_events": "id,pilot_cycle_id,service_id,recorded_by_org_id,entity_key_hash,attempt_channel,attempt_outcome,attempted_at,resolved_at,outcome_notes_code,created_at",
        "pilot_referral_events": "id,pilot_cycle_id,source_org_id,target_service_id,referral_state,created_at,updated_at,terminal_at,failure_reason_code",
        "pilot_metric_snapshots": "id,pilot_cycle_id,org_id,metric_id,metric_value,numerator,denominator,calculated_at",
        "pilot_integration_feasibility_decisions": "id,pilot_cycle_id,decision,decision_date,redline_checklist_version,violations,compensating_controls,owners,created_at,created_by",
        "pilot_connection_events": "id,pilot_cycle_id,org_id,service_id,connected_at,contact_attempt_event_id,referral_event_id,seconds_to_connection",
        "pilot_service_scope": "id,pilot_cycle_id,org_id,service_id,sla_tier",
        "service_operational_status_events": "id,pilot_cycle_id,org_id,service_id,checked_at,status_code",
        "pilot_data_decay_audits": "id,pilot_cycle_id,org_id,service_id,audited_at,is_fatal,fatal_error_category,verification_mode",
        "pilot_preference_fit_events": "id,pilot_cycle_id,org_id,cohort_label,recorded_at,preferred_via_platform",
        "pilot_cycles": "id,starts_on,ends_on,created_at,created_by",
        "pilot_cohorts": "id,pilot_cycle_id,label,created_at,created_by"}';
    -- the policies of each shape (SPEC §4): name, command (r a w d)
    shape_policies constant jsonb := '{
        "events":    [["pilot_members_read", "r"], ["pilot_writers_insert", "a"], ["pilot_writers_update", "w"], ["pilot_admins_delete", "d"]],
        "snapshots": [["pilot_members_read", "r"]],
        "decisions": [["pilot_admins_read", "r"], ["pilot_admins_insert", "a"], ["pilot_admins_update", "w"], ["pilot_admins_delete", "d"]],
        "registry":  [["pilot_members_read", "r"], ["pilot_admins_insert", "a"], ["pilot_admins_update", "w"], ["pilot_admins_delete", "d"]]}';
    -- table, policy, command
    expected_policies text[][];
    tables text[];
    i int;
    t text;
    rel regclass;
    actual text;
    missing text;
    extra text;
    bad text;
    ext oid := (select e.oid from pg_catalog.pg_extension e where e.extname = 'pilot_guardrails');
begin
    select pg_catalog.array_agg(k.table_name order by k.table_name),
           pg_catalog.array_agg(array[k.table_name, p ->> 0, p ->> 1] order by k.table_name, p ->> 1)
      into tables, expected_policies
      from (select distinct r.table_name, r.policy_shape from pilot_private.kinds() r) k,
           pg_catalog.jsonb_array_elements(shape_policies -> k.policy_shape) p;
    select pg_catalog.array_agg(x order by x) into tables from (select distinct pg_catalog.unnest(tables) x) u;

    "check" := 'the registry of the kinds names exactly the nine pilot tables, the cycles and the cohorts';
    ok := tables = (select pg_catalog.array_agg(x order by x) from pg_catalog.jsonb_object_keys(expected_columns) x);
    detail := case when ok then 'as specified' else 'registry: ' || pg_catalog.array_to_string(tables, ', ') end;
    return next;

    foreach t in array tables loop
        rel := pg_catalog.to_regclass('public.' || pg_catalog.quote_ident(t));
        "check" := 'table public.' || t || ' exists';
        ok := rel is not null;
        detail := case when ok then 'present' else 'missing' end;
        return next;
        continue when rel is null;

        "check" := 'row-level security enabled on ' || t;
        select c.relrowsecurity into ok from pg_catalog.pg_class c where c.oid = rel;
        detail := case when ok then 'enabled' else 'DISABLED: every signed-in user could read and write every row' end;
        return next;

        "check" := 'columns of ' || t || ' are exactly the spec''s';
        select pg_catalog.string_agg(a.attname::text, ',' order by a.attname) into actual
          from pg_catalog.pg_attribute a where a.attrelid = rel and a.attnum > 0 and not a.attisdropped;
        select pg_catalog.string_agg(x, ',' order by x) into missing
          from pg_catalog.unnest(pg_catalog.string_to_array(expected_columns ->> t, ',')) x
         where x <> all (pg_catalog.string_to_array(actual, ','));
        select pg_catalog.string_agg(x, ',' order by x) into extra
          from pg_catalog.unnest(pg_catalog.string_to_array(actual, ',')) x
         where x <> all (pg_catalog.string_to_array(expected_columns ->> t, ','));
        ok := missing is null and extra is null;
        detail := case when ok then 'as specified'
                       else pg_catalog.concat_ws('; ', 'missing: ' || missing, 'not in the spec: ' || extra) end;
        return next;

        "check" := 'no privacy-forbidden column in ' || t;
        select pg_catalog.array_to_string(public.pilot_disallowed_key_paths(pg_catalog.jsonb_object_agg(a.attname, 1)), ', ')
          into bad
          from pg_catalog.pg_attribute a where a.attrelid = rel and a.attnum > 0 and not a.attisdropped;
        ok := coalesce(bad, '') = '';
        detail := case when ok then 'none' else 'forbidden: ' || bad end;
        return next;

        "check" := 'anon holds no privilege on ' || t;
        ok := not (pg_catalog.has_table_privilege('anon', rel, 'select, insert, update, delete, truncate, references, trigger')
                   or pg_catalog.has_any_column_privilege('anon', rel, 'select, insert, update, references'));
        detail := case when ok then 'none' else 'anon has a privilege on this table' end;
        return next;
    end loop;

    for i in 1 .. pg_catalog.array_length(expected_policies, 1) loop
        "check" := pg_catalog.format('policy %s on %s (%s, TO authenticated)', expected_policies[i][2], expected_policies[i][1],
                                     case expected_policies[i][3] when 'r' then 'SELECT' when 'a' then 'INSERT'
                                                                   when 'w' then 'UPDATE' else 'DELETE' end);
        select pg_catalog.format('%s %s', p.polcmd, p.polroles::regrole[]::text) into actual
          from pg_catalog.pg_policy p
         where p.polrelid = pg_catalog.to_regclass('public.' || expected_policies[i][1]) and p.polname = expected_policies[i][2];
        ok := coalesce(actual = expected_policies[i][3] || ' {authenticated}', false);
        detail := case when actual is null then 'missing' when ok then 'present' else 'wrong command or roles: ' || actual end;
        return next;
    end loop;

    -- SPEC §14: every pilot_cycle_id names a registered cycle.
    "check" := 'every pilot_cycle_id references pilot_cycles (registered cycles)';
    select pg_catalog.string_agg(c.relname::text, ', ' order by c.relname) into bad
      from pg_catalog.pg_class c
      join pg_catalog.pg_attribute a on a.attrelid = c.oid and a.attname = 'pilot_cycle_id' and not a.attisdropped
     where c.relnamespace = 'public'::regnamespace and c.relname::text = any (tables)
       and not exists (select 1 from pg_catalog.pg_constraint k
                        where k.conrelid = c.oid and k.contype = 'f'
                          and k.confrelid = pg_catalog.to_regclass('public.pilot_cycles') and k.conkey = array[a.attnum]);
    ok := bad is null;
    detail := coalesce('no foreign key in: ' || bad, 'all registered');
    return next;

    -- SPEC §10.4: snapshots have no write policy (privileges refuse authenticated anyway).
    "check" := 'no write policy on pilot_metric_snapshots (pilot_recompute_metrics writes them)';
    select pg_catalog.string_agg(p.polname::text, ', ' order by p.polname) into bad
      from pg_catalog.pg_policy p
     where p.polrelid = pg_catalog.to_regclass('public.pilot_metric_snapshots') and p.polcmd <> 'r';
    ok := bad is null;
    detail := coalesce('write policies: ' || bad, 'none');
    return next;

    -- SPEC §10.5: the audit trail.
    rel := pg_catalog.to_regclass('public.pilot_audit_events');
    "check" := 'the audit trail public.pilot_audit_events exists with row-level security (app admins read)';
    select pg_catalog.format('%s %s', c.relrowsecurity,
                             (select pg_catalog.string_agg(p.polname || ':' || p.polcmd::text, ',' order by p.polname)
                                from pg_catalog.pg_policy p where p.polrelid = c.oid))
      into actual from pg_catalog.pg_class c where c.oid = rel;
    ok := coalesce(actual = 't pilot_admins_read:r', false);
    detail := coalesce(actual, 'missing');
    return next;

    "check" := 'the audit trail is append-only: UPDATE, DELETE and TRUNCATE refused by ENABLE ALWAYS triggers';
    select pg_catalog.string_agg(pg_catalog.format('%s %s', t.tgname, t.tgenabled), ', ' order by t.tgname) into actual
      from pg_catalog.pg_trigger t where t.tgrelid = rel and not t.tgisinternal
       and t.tgfoid = 'pilot_private.audit_append_only()'::regprocedure;
    ok := coalesce(actual = 'pilot_audit_append_only A, pilot_audit_no_truncate A', false);
    detail := coalesce(actual, 'missing');
    return next;

    -- SPEC §10.2: idempotent replays need READ COMMITTED, which the recorders pin for PostgREST.
    "check" := 'every recorder pins default_transaction_isolation = read committed';
    select pg_catalog.string_agg(k.recorder, ', ' order by k.recorder) into bad
      from pilot_private.kinds() k
     where k.payload
       and not coalesce((select 'default_transaction_isolation=read committed' = any (p.proconfig)
                           from pg_catalog.pg_proc p
                          where p.oid = pg_catalog.to_regprocedure('public.' || k.recorder)), false);
    ok := bad is null;
    detail := coalesce('not pinned: ' || bad, 'all pinned');
    return next;

    -- SPEC §11.1: small-cell suppression is on (0 turns it off: the owner's deliberate choice).
    "check" := 'small-cell suppression is on (min_cell_size at least 2)';
    actual := pilot_private.setting('min_cell_size');
    ok := actual::int >= 2;
    detail := case when ok then 'min_cell_size ' || actual
                   else 'OFF: min_cell_size 0, every output shows counts of 1 to 10' end;
    return next;

    -- SPEC §11.3: is every row past its retention window gone?
    "check" := 'no row is past its retention window (pilot_apply_retention has run)';
    bad := null;
    for t, actual in select distinct k.table_name, k.time_column from pilot_private.kinds() k where k.time_column is not null loop
        continue when pilot_private.setting('retention.' || t) is null
                   or pg_catalog.to_regclass('public.' || pg_catalog.quote_ident(t)) is null;
        execute pg_catalog.format('select exists (select 1 from public.%I where %I < $1)', t, actual)
           into ok using pg_catalog.now() - pilot_private.setting('retention.' || t)::interval;
        if ok then
            bad := pg_catalog.concat_ws(', ', bad, t);
        end if;
    end loop;
    ok := bad is null;
    detail := coalesce('rows past their window in: ' || bad || '; run select * from pilot_apply_retention(false)', 'none');
    return next;

    -- SPEC §14: the pseudonym key.
    "check" := 'a 32-byte pseudonym key exists (entity hashes are stored keyed)';
    select pg_catalog.count(*)::text into actual from pilot_private.pseudonym_keys k where pg_catalog.length(k.key) = 32;
    ok := actual::int >= 1;
    detail := case when ok then actual || ' key(s); the earliest is used' else 'missing: recorders cannot key entity hashes' end;
    return next;

    -- SPEC §10.1: settings are rows; only known settings with valid values.
    "check" := 'every stored setting is a known setting with a valid value';
    bad := null;
    for t in select s.setting from pilot_private.settings s loop
        begin
            perform pilot_private.check_setting(t, (select s.value from pilot_private.settings s where s.setting = t), true);
        exception when invalid_parameter_value then
            bad := pg_catalog.concat_ws(', ', bad, pg_catalog.left(pg_catalog.quote_literal(t), 120));
        end;
    end loop;
    ok := bad is null;
    detail := coalesce('invalid: ' || bad, 'all valid');
    return next;

    "check" := 'hardened public.bulk_update_service_status is installed, SECURITY INVOKER';
    select pg_catalog.format('%s member:%s', p.prosecdef,
                             exists (select 1 from pg_catalog.pg_depend d where d.objid = p.oid and d.deptype = 'e' and d.refobjid = ext))
      into actual
      from pg_catalog.pg_proc p
     where p.oid = pg_catalog.to_regprocedure('public.bulk_update_service_status(text[],text,boolean,uuid)');
    ok := coalesce(actual = 'f member:t', false);
    detail := case when ok then 'present' when actual is null then 'missing' else 'not the extension''s hardened function: ' || actual end;
    return next;

    "check" := 'its privileged part is SECURITY DEFINER with search_path pg_catalog, pg_temp outside public';
    select pg_catalog.format('%s %s %s', p.pronamespace::regnamespace, p.prosecdef, p.proconfig) into actual
      from pg_catalog.pg_proc p
     where p.oid = pg_catalog.to_regprocedure('pilot_private.bulk_update_service_status_as_admin(text[],text,boolean,uuid)');
    ok := coalesce(actual = 'pilot_private t {"search_path=pg_catalog, pg_temp"}', false);
    detail := coalesce(actual, 'missing');
    return next;

    "check" := 'bulk_update_service_status grants: authenticated and service_role, never anon or PUBLIC';
    bad := null;
    select pg_catalog.string_agg(x, ', ') into bad from (
        select pg_catalog.format('%s: %s', f, r) as x
          from pg_catalog.unnest(array['public.bulk_update_service_status(text[],text,boolean,uuid)',
                                       'pilot_private.bulk_update_service_status_as_admin(text[],text,boolean,uuid)']) f,
               pg_catalog.unnest(array['anon', 'authenticated', 'service_role']) r
         where pg_catalog.to_regprocedure(f) is not null
           and pg_catalog.has_function_privilege(r, pg_catalog.to_regprocedure(f), 'execute')
               <> case when r = 'anon' then false
                       when f like 'pilot_private%' then r = 'authenticated'
                       else true end
        union all
        select pg_catalog.format('%s: PUBLIC', f)
          from pg_catalog.unnest(array['public.bulk_update_service_status(text[],text,boolean,uuid)',
                                       'pilot_private.bulk_update_service_status_as_admin(text[],text,boolean,uuid)']) f
         where exists (select 1 from pg_catalog.pg_proc p, pg_catalog.aclexplode(p.proacl) a
                        where p.oid = pg_catalog.to_regprocedure(f) and a.grantee = 0 and a.privilege_type = 'EXECUTE')) s;
    ok := bad is null;
    detail := coalesce('wrong: ' || bad, 'as specified');
    return next;

    "check" := 'nothing anon can execute is SECURITY DEFINER';
    select pg_catalog.string_agg(p.oid::regprocedure::text, ', ' order by 1) into bad
      from pg_catalog.pg_depend d join pg_catalog.pg_proc p on p.oid = d.objid
     where d.refobjid = ext and d.deptype = 'e' and d.classid = 'pg_catalog.pg_proc'::regclass and p.prosecdef
       and pg_catalog.has_function_privilege('anon', p.oid, 'execute');
    ok := bad is null;
    detail := coalesce('executable by anon: ' || bad, 'none');
    return next;

    -- SPEC §2, name resolution: pg_temp last on every function, SECURITY DEFINER or not (an invoker
    -- helper called from definer code runs as the owner too).
    "check" := 'every function of the extension has search_path pg_catalog, pg_temp';
    select pg_catalog.string_agg(p.oid::regprocedure::text, ', ' order by 1) into bad
      from pg_catalog.pg_depend d join pg_catalog.pg_proc p on p.oid = d.objid
     where d.refobjid = ext and d.deptype = 'e' and d.classid = 'pg_catalog.pg_proc'::regclass
       and not coalesce('search_path=pg_catalog, pg_temp' = any (p.proconfig), false);
    ok := bad is null;
    detail := coalesce('another or no search_path: ' || bad, 'all fixed');
    return next;

    -- SPEC §2, privileges: the ACLs of PUBLIC and the API roles are exactly the matrix.
    "check" := 'function privileges of PUBLIC, anon, authenticated and service_role are exactly the matrix';
    select pg_catalog.string_agg(x, '; ' order by x) into bad from (
        select pg_catalog.format('%s: %s holds %s, expected %s', f.fn, f.name,
                                 coalesce(f.held, 'nothing'), coalesce(f.expected, 'nothing')) as x
          from (select p.oid::regprocedure::text as fn, g.name,
                       (select 'EXECUTE' from pg_catalog.aclexplode(coalesce(p.proacl, pg_catalog.acldefault('f', p.proowner))) a
                         where a.grantee = g.oid and a.privilege_type = 'EXECUTE') as held,
                       (select m.privileges from pilot_private.privilege_matrix() m
                         where m.object_kind = 'function' and m.object_name = p.oid::regprocedure::text and m.grantee = g.name) as expected
                  from pg_catalog.pg_depend d join pg_catalog.pg_proc p on p.oid = d.objid,
                       (select 0::oid as oid, 'PUBLIC' as name union all
                        select r.oid, r.rolname::text from pg_catalog.pg_roles r
                         where r.rolname in ('anon', 'authenticated', 'service_role')) g
                 where d.refobjid = ext and d.deptype = 'e' and d.classid = 'pg_catalog.pg_proc'::regclass) f
         where f.held is distinct from f.expected) s;
    ok := bad is null;
    detail := coalesce('wrong: ' || bad, 'as specified');
    return next;

    "check" := 'table privileges of PUBLIC, anon, authenticated and service_role are exactly the matrix (never TRUNCATE, TRIGGER, REFERENCES)';
    select pg_catalog.string_agg(x, '; ' order by x) into bad from (
        select pg_catalog.format('%s: %s holds %s, expected %s', f.rel, f.name,
                                 coalesce(f.held, 'nothing'), coalesce(f.expected, 'nothing')) as x
          from (select c.oid::regclass::text as rel, g.name,
                       (select pg_catalog.string_agg(a.privilege_type, ',' order by a.privilege_type)
                          from pg_catalog.aclexplode(coalesce(c.relacl, pg_catalog.acldefault('r', c.relowner))) a
                         where a.grantee = g.oid) as held,
                       (select m.privileges from pilot_private.privilege_matrix() m
                         where m.object_kind = 'table' and m.object_name = c.oid::regclass::text and m.grantee = g.name) as expected
                  from pg_catalog.pg_depend d join pg_catalog.pg_class c on c.oid = d.objid,
                       (select 0::oid as oid, 'PUBLIC' as name union all
                        select r.oid, r.rolname::text from pg_catalog.pg_roles r
                         where r.rolname in ('anon', 'authenticated', 'service_role')) g
                 where d.refobjid = ext and d.deptype = 'e' and d.classid = 'pg_catalog.pg_class'::regclass
                   and c.relkind in ('r', 'p', 'v', 'm', 'f', 'S')) f
         where f.held is distinct from f.expected
        union all
        select pg_catalog.format('%s.%s: column privileges %s', a.attrelid::regclass, a.attname, a.attacl)
          from pg_catalog.pg_depend d join pg_catalog.pg_attribute a on a.attrelid = d.objid
         where d.refobjid = ext and d.deptype = 'e' and d.classid = 'pg_catalog.pg_class'::regclass
           and a.attnum > 0 and a.attacl is not null) s;
    ok := bad is null;
    detail := coalesce('wrong: ' || bad, 'as specified');
    return next;

    -- SPEC §2, triggers of others: a trigger function runs as whoever writes, a superuser included.
    "check" := 'no trigger on a pilot table that the extension did not create';
    select pg_catalog.string_agg(pg_catalog.format('%s on %s', t.tgname, t.tgrelid::regclass), ', ' order by 1) into bad
      from pg_catalog.pg_depend d join pg_catalog.pg_trigger t on t.tgrelid = d.objid
     where d.refobjid = ext and d.deptype = 'e' and d.classid = 'pg_catalog.pg_class'::regclass and not t.tgisinternal
       and not exists (select 1 from pg_catalog.pg_depend f
                        where f.classid = 'pg_catalog.pg_proc'::regclass and f.objid = t.tgfoid
                          and f.refobjid = ext and f.deptype = 'e');
    ok := bad is null;
    detail := coalesce('foreign triggers: ' || bad, 'none');
    return next;

    "check" := 'no API role holds TRIGGER on public.services';
    if pg_catalog.to_regclass('public.services') is null then
        ok := true;
        detail := 'public.services does not exist';
    else
        select pg_catalog.string_agg(r, ', ' order by r) into bad
          from pg_catalog.unnest(array['anon', 'authenticated', 'service_role']) r
         where pg_catalog.has_table_privilege(r, 'public.services'::regclass, 'trigger');
        ok := bad is null;
        detail := coalesce('held by ' || bad || ': revoke trigger on public.services from anon, authenticated, service_role', 'none');
    end if;
    return next;

    "check" := 'no trigger on public.services whose function an API role owns or that lives in a temporary schema';
    bad := pg_catalog.array_to_string(pilot_private.untrusted_triggers('public.services'), ', ');
    ok := coalesce(bad, '') = '';
    detail := case when ok then 'none' else 'bulk_update_service_status refuses while these are enabled: ' || bad end;
    return next;

    "check" := 'the rate limit''s settings trigger is in place';
    select pg_catalog.string_agg(pg_catalog.format('%s %s %s', t.tgname, t.tgenabled, t.tgfoid::regproc::text), ', ' order by t.tgname)
      into actual
      from pg_catalog.pg_trigger t where t.tgrelid = 'pilot_private.settings'::regclass and not t.tgisinternal;
    ok := coalesce(actual = 'settings_changed A pilot_private.settings_changed', false);
    detail := case when ok then 'none'
                   else 'connections may go on with a rate limit they remembered: ' || coalesce(actual, 'no trigger') end;
    return next;

    "check" := 'the drop guard is in place';
    select pg_catalog.string_agg(pg_catalog.format('%s %s', e.evtname, e.evtenabled), ', ' order by e.evtname) into actual
      from pg_catalog.pg_event_trigger e where e.evtname like 'pilot_guardrails_drop_guard_%';
    ok := coalesce(actual = 'pilot_guardrails_drop_guard_1_inspect O, pilot_guardrails_drop_guard_2_enforce O', false);
    detail := coalesce(actual, 'missing');
    return next;
end
$$;
comment on function public.pilot_verify() is
$$Read-only verification of the installed pilot objects, one row per check.
Checks every pilot table (present, row-level security enabled, columns exactly as specified, no privacy-forbidden column, nothing for anon), every expected policy (command and roles), no write policy on snapshots, the append-only audit trail, the stored settings, the hardened bulk_update_service_status (invoker entry point, SECURITY DEFINER part, grants), the search path pg_catalog, pg_temp on every function, the privileges of PUBLIC, anon, authenticated and service_role (exactly the matrix), triggers the extension did not create on pilot tables, TRIGGER privilege and untrusted triggers on public.services, the rate limit's settings trigger, and the drop guard. For database owners and service_role.$$;

-- ---------------------------------------------------------------------------------------------
-- 9b. The scorecard as a page (SPEC §13): sql/82_scorecard_page.sql.

-- The scorecard as a page (SPEC §13). PostgREST (v12+) serves a function that returns a domain
-- named after a media type with that Content-Type when the request's Accept asks for it: GET
-- /rpc/pilot_scorecard_page?… with `Accept: text/html`. The domain lives in pilot_private so that
-- it cannot clash with a host's own "text/html" domain (PostgREST matches the name, not the
-- schema). The page is drawn by Rust (core/src/page.rs) from exactly what pilot_scorecard and
-- pilot_metric_history return to this caller: same access, same order of checks, same
-- suppression.

create domain pilot_private."text/html" as text;
comment on domain pilot_private."text/html" is
    'text/html: a function returning it is a PostgREST media type handler (Content-Type: text/html when Accept asks for it).';

create function pilot_private.render_scorecard_page(card text, history text, organization text, min_cell_size integer)
returns text
    language c immutable strict parallel safe
    set search_path = pg_catalog, pg_temp
    as 'MODULE_PATHNAME', 'pilot_render_scorecard_page';
comment on function pilot_private.render_scorecard_page(text, text, text, integer) is
    'The scorecard page (SPEC §13), one self-contained HTML5 document, from pilot_scorecard''s JSON and the history rows [[metric_id, epoch, value, suppressed], …]; every text HTML-escaped (core/src/page.rs).';

-- The organization's name for the page's heading, for those who may read its scorecard. SECURITY
-- DEFINER because the host's own policies on organizations may hide the row from its members;
-- the caller is checked here again (acting identity, as SECURITY DEFINER code must).
create function pilot_private.organization_name(org_id uuid) returns text
    language plpgsql stable
    security definer
    set search_path = pg_catalog, pg_temp
as $$
begin
    if not pilot_private.acting_is_backend() then
        if pilot_private.uid() is null then
            raise exception using errcode = '42501', message = 'pilot_scorecard_page: not signed in (no user id in request.jwt.claims)';
        end if;
        if not ($1 = any (pilot_private.member_orgs(false)) or pilot_private.is_admin()) then
            raise exception using errcode = '42501',
                message = 'pilot_scorecard_page: not allowed: the caller is not a member of the organization';
        end if;
    end if;
    perform pilot_private.raise_storage_missing(pilot_private.host_storage_problem('organizations'));
    return (select o.name::text from public.organizations o where o.id = $1);
end
$$;
comment on function pilot_private.organization_name(uuid) is
    'The name of an organization whose scorecard the caller may read (members, admins, backend roles); 42501 otherwise.';

create function public.pilot_scorecard_page(
    pilot_cycle_id text,
    org_id uuid,
    as_of timestamptz default now(),
    baseline_failed_contact_rate numeric default null,
    baseline_p50_seconds_to_connection numeric default null
) returns pilot_private."text/html"
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
declare
    -- pilot_scorecard's access check, validation and suppression, first and unchanged
    card constant jsonb := public.pilot_scorecard($1, $2, $3, $4, $5);
    history jsonb;
    headers jsonb := '[{"Content-Security-Policy": "default-src ''none''; style-src ''unsafe-inline''"},
                       {"X-Content-Type-Options": "nosniff"},
                       {"Cache-Control": "private, no-store"}]';
begin
    -- the newest 200,000 snapshots at the most (the renderer reads 16 MiB at the most; a chart
    -- draws one point per pixel column anyway)
    select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_array(
               h.metric_id, pg_catalog.date_part('epoch', h.calculated_at), h.metric_value, h.suppressed)), '[]')
      into history
      from (select * from public.pilot_metric_history($1, $2) limit 200000) h;
    -- PostgREST sends these headers with the response; earlier ones (a pre-request function's) stay.
    if pg_catalog.current_setting('response.headers', true) <> '' then
        headers := pg_catalog.current_setting('response.headers', true)::jsonb || headers;
    end if;
    perform pg_catalog.set_config('response.headers', headers::text, true);
    return pilot_private.render_scorecard_page(card::text, history::text,
                                               coalesce(pilot_private.organization_name($2), ''),
                                               pilot_private.cell_size(pilot_private.is_backend()));
end
$$;
comment on function public.pilot_scorecard_page(text, uuid, timestamptz, numeric, numeric) is
$$The scorecard as a page (SPEC §13): one self-contained HTML5 document (inline CSS and SVG, no script, no external resource).
GET /rpc/pilot_scorecard_page?pilot_cycle_id=…&org_id=… with Accept: text/html answers Content-Type: text/html and a Content-Security-Policy header. The nine metrics as cards (rates as percentages, seconds as h/min, numerator of denominator, "suppressed: fewer than k" for small cells), the Gate 1 checklist (pass / fail / insufficient data) when both baselines are given, and a line chart of each metric's snapshot history. Same access, checks and suppression as pilot_scorecard (401/403 otherwise). STABLE: callable with GET. A browser navigation sends no token: fetch it with the user's token and show it (iframe srcdoc).$$;

create or replace function pilot_private.raise_storage_missing(what text) returns void
    language plpgsql immutable strict
    set search_path = pg_catalog, pg_temp
as $$
begin
    raise exception using
        errcode = 'PT501',
        message = 'pilot storage missing: ' || what,
        hint = 'On vanilla PostgreSQL run select pilot_bootstrap_host(); on Supabase, restore the directory schema.';
end
$$;
comment on function pilot_private.raise_storage_missing(text) is
    'Raises SQLSTATE PT501 (PostgREST: 501) naming a missing table, column or function; does nothing with null.';

create or replace function pilot_private.host_storage_problem(table_name text) returns text
    language c stable strict parallel safe
    set search_path = pg_catalog, pg_temp
    as 'MODULE_PATHNAME', 'pilot_host_storage_problem';
comment on function pilot_private.host_storage_problem(text) is
    'What is missing or wrong in public.<table_name> (a host table the helpers read: app_admins, organization_members, services, organizations), or null.';

-- The caller's admin flag and organizations are read once per statement: is_admin() and
-- member_orgs() look at public.app_admins and public.organization_members on the first call of a
-- statement and remember the answer in the backend (src/ffi.rs), keyed by the transaction, the
-- statement's start and the uid of the claims; the calls after it — a recorder call makes up to
-- nine: its own check, the idempotency claim's re-check, the policies of its INSERT and RETURNING —
-- answer from memory. A change to the host tables committed while a statement runs is seen by the
-- next statement. The policies ask the cache first, coalesce(cached_is_admin(), is_admin()), which
-- spares a PL/pgSQL call per policy: the cached_ functions answer only what the caller's own lookup
-- found in this statement, and every API role may call them. Only the owner (the SECURITY DEFINER
-- lookups) may call the remember_ functions: a caller who could remember an answer could make
-- themselves an admin.
create function pilot_private.cached_is_admin() returns boolean
    language c stable
    set search_path = pg_catalog, pg_temp
    as 'MODULE_PATHNAME', 'pilot_cached_is_admin';
comment on function pilot_private.cached_is_admin() is
    'What is_admin() remembered for this statement and caller; null when nothing is. The policies ask it before is_admin().';
create function pilot_private.remember_is_admin(me uuid, admin boolean) returns void
    language c volatile strict
    set search_path = pg_catalog, pg_temp
    as 'MODULE_PATHNAME', 'pilot_remember_is_admin';
comment on function pilot_private.remember_is_admin(uuid, boolean) is
    'is_admin()''s answer for me, kept for the rest of the statement while me is the caller. Owner only.';
create function pilot_private.cached_member_orgs(writers_only boolean) returns uuid[]
    language c stable strict
    set search_path = pg_catalog, pg_temp
    as 'MODULE_PATHNAME', 'pilot_cached_member_orgs';
comment on function pilot_private.cached_member_orgs(boolean) is
    'What member_orgs() remembered for this statement and caller; null when nothing is. The policies ask it before member_orgs().';
create function pilot_private.remember_member_orgs(me uuid, orgs uuid[], writer_orgs uuid[]) returns void
    language c volatile strict
    set search_path = pg_catalog, pg_temp
    as 'MODULE_PATHNAME', 'pilot_remember_member_orgs';
comment on function pilot_private.remember_member_orgs(uuid, uuid[], uuid[]) is
    'member_orgs()''s answers for me (all organizations, those where me writes), kept for the rest of the statement while me is the caller. Owner only.';

create or replace function pilot_private.is_admin() returns boolean
    language plpgsql stable
    security definer
    set search_path = pg_catalog, pg_temp
as $$
declare
    admin boolean := pilot_private.cached_is_admin();
    me uuid;
begin
    if admin is not null then
        return admin;
    end if;
    me := pilot_private.uid();
    if me is null then
        return false;
    end if;
    if pilot_private.host_storage_problem('app_admins') is not null then  -- (see host_row_exists)
        perform pilot_private.raise_storage_missing(pilot_private.host_storage_problem('app_admins'));
    end if;
    admin := exists (select 1 from public.app_admins a where a.user_id = me);
    perform pilot_private.remember_is_admin(me, admin);
    return admin;
end
$$;
comment on function pilot_private.is_admin() is
    'True when the caller''s uid is in public.app_admins (read once per statement). Call as (select pilot_private.is_admin()) in policies.';

create or replace function pilot_private.member_orgs(writers_only boolean default false) returns uuid[]
    language plpgsql stable
    security definer
    set search_path = pg_catalog, pg_temp
as $$
declare
    orgs uuid[] := pilot_private.cached_member_orgs(coalesce(writers_only, true));
    me uuid;
    writer_orgs uuid[];
    admin boolean;
begin
    if orgs is not null then
        return orgs;
    end if;
    me := pilot_private.uid();
    if me is null then
        return '{}';
    end if;
    if pilot_private.host_storage_problem('organization_members') is not null then  -- (see host_row_exists)
        perform pilot_private.raise_storage_missing(pilot_private.host_storage_problem('organization_members'));
    end if;
    if pilot_private.host_storage_problem('app_admins') is not null then
        perform pilot_private.raise_storage_missing(pilot_private.host_storage_problem('app_admins'));
    end if;
    select coalesce(pg_catalog.array_agg(m.organization_id), '{}'),
           coalesce(pg_catalog.array_agg(m.organization_id) filter (where m.role in ('owner', 'admin', 'editor')), '{}'),
           exists (select 1 from public.app_admins a where a.user_id = me)
      into orgs, writer_orgs, admin
      from public.organization_members m
     where m.user_id = me;
    perform pilot_private.remember_member_orgs(me, orgs, writer_orgs);
    perform pilot_private.remember_is_admin(me, admin);
    return case when coalesce(writers_only, true) then writer_orgs else orgs end;
end
$$;
comment on function pilot_private.member_orgs(boolean) is
    'Organizations the caller is a member of (writers_only: owner, admin or editor), read once per statement. Call as (select pilot_private.member_orgs(...)) in policies.';

create or replace function pilot_private.host_row_exists(kind text, id text) returns boolean
    language plpgsql stable
    security definer
    set search_path = pg_catalog, pg_temp
as $$
begin
    -- The storage check as an IF, whose condition is a simple expression: a bare PERFORM would run
    -- the executor once more on every call (about 1 µs), and this runs twice for every row written.
    if kind = 'service' then
        if pilot_private.host_storage_problem('services') is not null then
            perform pilot_private.raise_storage_missing(pilot_private.host_storage_problem('services'));
        end if;
        return exists (select 1 from public.services s where s.id = host_row_exists.id);
    elsif kind = 'organization' then
        if pilot_private.host_storage_problem('organizations') is not null then
            perform pilot_private.raise_storage_missing(pilot_private.host_storage_problem('organizations'));
        end if;
        return exists (select 1 from public.organizations o where o.id = host_row_exists.id::uuid);
    end if;
    raise exception using errcode = '22023', message = 'host_row_exists: unknown kind';
end
$$;
comment on function pilot_private.host_row_exists(text, text) is
    'True when public.services (kind service) or public.organizations (kind organization) holds the id.';

-- ---------------------------------------------------------------------------------------------
-- 9c. The scorecard's maintained counts (79_scorecard_counts.sql, whole): connections gain
-- seconds_to_connection; the counts are built from the rows already there.

alter table public.pilot_connection_events add column seconds_to_connection bigint;
comment on column public.pilot_connection_events.seconds_to_connection is
    'Whole seconds from the anchor (the attempt''s attempted_at or the referral''s created_at) to connected_at, rounded half away from zero; null when negative. Set by the database on every write and when the anchor''s time moves; a value sent is ignored.';

-- The scorecard's maintained counts (SPEC §8): what lets pilot_scorecard answer in near-constant
-- time however many rows a cycle holds, exactly.
--
-- Every number of M1, M2, M3, M5, M6 and M7 is kept up to date by statement-level triggers with
-- transition tables on the five tables it comes from, whoever writes them: the recorders, direct
-- writes through PostgREST, retention, re-keying, and pg_restore (its COPY fires the triggers).
-- M4 is read from its rows (a few per scoped service, through its index).
--
--   scorecard_counts   per (cycle, organization, source, bucket): rows, and the flagged ones among
--                      them; rows with a null organization hold the whole cycle (pilot_cycle_scorecard's
--                      total: M2 and M5 are not sums of the organizations'). Written as deltas — one row per write statement and group, inserted,
--                      never updated — so concurrent writers of an organization never wait on a
--                      shared row. Now and then (1 statement in 64, and every DELETE) a writer folds
--                      the deltas of its (cycle, organization) and of its cycle into one compacted row per key,
--                      under a transaction-level advisory lock it only tries to take. Readers sum
--                      compacted rows and deltas: a READ ONLY reader never compacts.
--   scorecard_people   per (cycle, organization, entity_key_hash), and per (cycle, hash) with a null
--                      organization for the cycle's total: attempts and failures. It tells when a
--                      person crosses 0 → 1 attempts or 1 → 2 failures (M5); the crossings become
--                      deltas of scorecard_counts. Writers about the same person wait for each
--                      other on that person's row; nobody else does. A row whose attempts reach 0
--                      is deleted (retention leaves no hash behind).
--
-- Sources: 1 contact attempts (flagged: failed), 2 people (rows: distinct non-null hashes,
-- flagged: those with ≥ 2 failures), 3 referrals (flagged: terminal), 4 data-decay audits
-- (flagged: fatal), 5 preference-fit events (flagged: preferred via the platform), and M2's
-- histogram: 6 durations per block of 4,096 seconds (bucket: seconds / 4096), 8 per span of 64
-- seconds (seconds / 64), 7 per second. A percentile walks source 6 to the block holding its
-- rank, source 8 inside that block, source 7 inside that span (80_scorecard.sql).
--
-- A duration is fixed on the connection row when it is written (seconds_to_connection, computed
-- by a BEFORE trigger from the anchor, which it locks FOR SHARE) and recomputed when the anchor's
-- time moves (the anchor's UPDATE trigger touches its connections): the row always holds what
-- SPEC §8 defines. The tables are not config-dumped: a restore's COPY rebuilds them through the
-- triggers. Data loaded with triggers disabled: select pilot_rebuild_scorecard_counts().
-- Exact under READ COMMITTED writers (PostgREST's); compaction is skipped at other isolation
-- levels, and a REPEATABLE READ writer that meets a concurrent change of the same person fails
-- with 40001 rather than count wrong.

create table pilot_private.scorecard_counts (
    pilot_cycle_id text not null,
    -- null: the whole cycle (people counted once across organizations)
    org_id uuid,
    source smallint not null constraint source_known check (source between 1 and 8),
    bucket bigint not null default 0,
    n bigint not null,
    flagged bigint not null default 0,
    compacted boolean not null default false
);
comment on table pilot_private.scorecard_counts is
    'Maintained counts of the scorecard (sql/79_scorecard_counts.sql): per cycle, organization, source and bucket, rows and flagged rows, as compacted rows plus deltas. Members read their organization''s rows (row-level security); written by triggers only.';
create index scorecard_counts_key on pilot_private.scorecard_counts (pilot_cycle_id, org_id, source, bucket);
create unique index scorecard_counts_compacted
    on pilot_private.scorecard_counts (pilot_cycle_id, org_id, source, bucket) nulls not distinct where compacted;
alter table pilot_private.scorecard_counts enable row level security;
-- As the scorecard reads its sources: members of the organization and admins (backend roles
-- bypass row-level security). The cycle-wide rows (org_id null) are for admins.
create policy pilot_counts_select on pilot_private.scorecard_counts for select to authenticated
    using (org_id = any ((select coalesce(pilot_private.cached_member_orgs(false), pilot_private.member_orgs(writers_only => false)))::uuid[])
           or (select coalesce(pilot_private.cached_is_admin(), pilot_private.is_admin())));

create table pilot_private.scorecard_people (
    pilot_cycle_id text not null,
    org_id uuid,
    entity_key_hash text not null,
    attempts bigint not null,
    failures bigint not null,
    constraint scorecard_people_key unique nulls not distinct (pilot_cycle_id, org_id, entity_key_hash)
);
comment on table pilot_private.scorecard_people is
    'Per cycle, organization (null: the whole cycle) and entity_key_hash, attempts and failures: M5''s crossings (sql/79_scorecard_counts.sql). Readable by no API role; written by triggers only.';
alter table pilot_private.scorecard_people enable row level security;

-- Fold the deltas of one (cycle, organization) into its compacted rows; rows that fall to zero
-- go. Called by the counting triggers; skipped when another transaction is folding the same pair
-- or the transaction is not READ COMMITTED (its snapshot could miss committed deltas).
create function pilot_private.compact_scorecard_counts(v_cycle text, v_org uuid) returns void
    language plpgsql volatile
    set search_path = pg_catalog, pg_temp
as $$
declare
    sources smallint[];
    buckets bigint[];
begin
    if pg_catalog.current_setting('transaction_isolation') <> 'read committed'
       or not pg_catalog.pg_try_advisory_xact_lock(1347179588, pg_catalog.hashtext(v_cycle || '/' || coalesce(v_org::text, 'cycle'))) then
        return;
    end if;
    with moved as (
        delete from pilot_private.scorecard_counts c
         where c.pilot_cycle_id = v_cycle and (c.org_id = v_org or (v_org is null and c.org_id is null)) and not c.compacted
        returning c.source, c.bucket, c.n, c.flagged
    ), folded as (
        insert into pilot_private.scorecard_counts as c (pilot_cycle_id, org_id, source, bucket, n, flagged, compacted)
        select v_cycle, v_org, m.source, m.bucket, pg_catalog.sum(m.n), pg_catalog.sum(m.flagged), true
          from moved m group by m.source, m.bucket
        on conflict (pilot_cycle_id, org_id, source, bucket) where compacted
        do update set n = c.n + excluded.n, flagged = c.flagged + excluded.flagged
        returning c.source, c.bucket, c.n, c.flagged
    )
    select pg_catalog.array_agg(f.source), pg_catalog.array_agg(f.bucket) into sources, buckets
      from folded f where f.n = 0 and f.flagged = 0;
    if sources is not null then
        delete from pilot_private.scorecard_counts c
         using rows from (pg_catalog.unnest(sources), pg_catalog.unnest(buckets)) z(source, bucket)
         where c.pilot_cycle_id = v_cycle and (c.org_id = v_org or (v_org is null and c.org_id is null)) and c.compacted
           and c.source = z.source and c.bucket = z.bucket and c.n = 0 and c.flagged = 0;
    end if;
end
$$;
comment on function pilot_private.compact_scorecard_counts(text, uuid) is
    'Folds the deltas of one (cycle, organization) of scorecard_counts into compacted rows, under a try-only advisory lock, in READ COMMITTED only.';

-- Fold the (cycle, organization) pairs a write statement touched, and each cycle's whole-cycle
-- rows. The counting triggers call it for 1 statement in 64 (and every DELETE), so that deltas
-- stay few: a reader sums about 64 rows of deltas per pair at most, on average.
create function pilot_private.compact_scorecard_pairs(cycles text[], orgs uuid[]) returns void
    language plpgsql volatile
    set search_path = pg_catalog, pg_temp
as $$
begin
    perform pilot_private.compact_scorecard_counts(p.c, p.o)
       from (select distinct z.c, z.o from rows from (pg_catalog.unnest(cycles), pg_catalog.unnest(orgs)) z(c, o)
             union
             select distinct z.c, null::uuid from pg_catalog.unnest(cycles) z(c)) p;
end
$$;
comment on function pilot_private.compact_scorecard_pairs(text[], uuid[]) is
    'Compacts the given (cycle, organization) pairs of scorecard_counts and their cycles'' whole-cycle rows.';

-- Referrals (M3), data-decay audits (M6), preference fit (M7): rows and flagged rows per (cycle,
-- organization) of one source.
create function pilot_private.add_flag_counts(v_source smallint, cycles text[], orgs uuid[], signs int[], flags boolean[],
                                              op text) returns void
    language plpgsql volatile
    set search_path = pg_catalog, pg_temp
as $$
begin
    with d as (
        select z.c, z.o, pg_catalog.sum(z.s) as n, coalesce(pg_catalog.sum(z.s) filter (where z.f), 0) as flagged
          from rows from (pg_catalog.unnest(cycles), pg_catalog.unnest(orgs), pg_catalog.unnest(signs), pg_catalog.unnest(flags)) z(c, o, s, f)
         group by grouping sets ((z.c, z.o), (z.c))
    )
    insert into pilot_private.scorecard_counts (pilot_cycle_id, org_id, source, n, flagged)
    select d.c, d.o, v_source, d.n, d.flagged from d where d.n <> 0 or d.flagged <> 0;
    if op = 'DELETE' or pg_catalog.random() < 1.0 / 64 then
        perform pilot_private.compact_scorecard_pairs(cycles, orgs);
    end if;
end
$$;
comment on function pilot_private.add_flag_counts(smallint, text[], uuid[], integer[], boolean[], text) is
    'Adds signed rows of one source (3 referrals, 4 data-decay audits, 5 preference fit) to the maintained counts: rows and flagged rows.';

-- Connections (M2): signed durations, per block of 4,096 seconds (source 6), per span of 64
-- seconds (8) and per second (7).
create function pilot_private.add_duration_counts(cycles text[], orgs uuid[], seconds bigint[], signs int[], op text) returns void
    language plpgsql volatile
    set search_path = pg_catalog, pg_temp
as $$
begin
    with rows_ as (
        select * from rows from (pg_catalog.unnest(cycles), pg_catalog.unnest(orgs), pg_catalog.unnest(seconds), pg_catalog.unnest(signs)) z(c, o, sec, s) where z.sec is not null
    ), d as (
        select r.c, r.o, 6::smallint as source, r.sec / 4096 as bucket, pg_catalog.sum(r.s) as n
          from rows_ r group by grouping sets ((r.c, r.o, r.sec / 4096), (r.c, r.sec / 4096))
        union all
        select r.c, r.o, 8::smallint, r.sec / 64, pg_catalog.sum(r.s) from rows_ r group by grouping sets ((r.c, r.o, r.sec / 64), (r.c, r.sec / 64))
        union all
        select r.c, r.o, 7::smallint, r.sec, pg_catalog.sum(r.s) from rows_ r group by grouping sets ((r.c, r.o, r.sec), (r.c, r.sec))
    )
    insert into pilot_private.scorecard_counts (pilot_cycle_id, org_id, source, bucket, n)
    select d.c, d.o, d.source, d.bucket, d.n from d where d.n <> 0;
    if op = 'DELETE' or pg_catalog.random() < 1.0 / 64 then
        perform pilot_private.compact_scorecard_pairs(cycles, orgs);
    end if;
end
$$;
comment on function pilot_private.add_duration_counts(text[], uuid[], bigint[], integer[], text) is
    'Adds signed durations (seconds_to_connection) to the maintained counts: per block of 4,096 seconds, per span of 64 seconds, per second.';

-- ---------------------------------------------------------------------------------------------
-- The triggers. Statement-level, AFTER, with transition tables (one trigger per event: PostgreSQL
-- allows transition tables only on single-event triggers); SECURITY DEFINER, because no API role
-- writes the counts. They read nothing but the transition tables, except the anchors' UPDATE,
-- which touches the connections of anchors whose time moved so that their durations follow.

create function pilot_private.count_contact_attempts() returns trigger
    language plpgsql volatile
    security definer
    set search_path = pg_catalog, pg_temp
as $$
declare
    v_cycles text[];
    v_orgs uuid[];
    v_hashes text[];
    v_signs int[];
    v_failed boolean[];
    org_attempts bigint;
    org_failures bigint;
    cycle_attempts bigint;
    cycle_failures bigint;
begin
    -- PL/pgSQL plans a statement when it first runs it: old_rows is read only where it exists.
    if tg_op <> 'INSERT' then
        select pg_catalog.array_agg(r.pilot_cycle_id), pg_catalog.array_agg(r.recorded_by_org_id), pg_catalog.array_agg(r.entity_key_hash),
               pg_catalog.array_agg(-1), pg_catalog.array_agg(r.attempt_outcome <> 'connected')
          into v_cycles, v_orgs, v_hashes, v_signs, v_failed from old_rows r;
    end if;
    if tg_op <> 'DELETE' then
        select v_cycles || pg_catalog.array_agg(r.pilot_cycle_id), v_orgs || pg_catalog.array_agg(r.recorded_by_org_id),
               v_hashes || pg_catalog.array_agg(r.entity_key_hash), v_signs || pg_catalog.array_agg(1),
               v_failed || pg_catalog.array_agg(r.attempt_outcome <> 'connected')
          into v_cycles, v_orgs, v_hashes, v_signs, v_failed from new_rows r;
    end if;
    if tg_op = 'UPDATE' then
        -- connections follow their anchor's time (set_seconds_to_connection recomputes the duration)
        update public.pilot_connection_events x set seconds_to_connection = null
          from new_rows n join old_rows o on o.id = n.id
         where x.contact_attempt_event_id = n.id and n.attempted_at is distinct from o.attempted_at;
    end if;
    if tg_op = 'INSERT' and pg_catalog.cardinality(v_cycles) = 1 then
        -- One row inserted (a recorder call): the same counts in three plain statements. The
        -- person's cycle-wide row is locked before the organization's, as below (key order).
        if v_hashes[1] is not null then
            insert into pilot_private.scorecard_people as p (pilot_cycle_id, org_id, entity_key_hash, attempts, failures)
            values (v_cycles[1], null, v_hashes[1], 1, v_failed[1]::int)
            on conflict (pilot_cycle_id, org_id, entity_key_hash)
            do update set attempts = p.attempts + 1, failures = p.failures + excluded.failures
            returning p.attempts, p.failures into cycle_attempts, cycle_failures;
            insert into pilot_private.scorecard_people as p (pilot_cycle_id, org_id, entity_key_hash, attempts, failures)
            values (v_cycles[1], v_orgs[1], v_hashes[1], 1, v_failed[1]::int)
            on conflict (pilot_cycle_id, org_id, entity_key_hash)
            do update set attempts = p.attempts + 1, failures = p.failures + excluded.failures
            returning p.attempts, p.failures into org_attempts, org_failures;
        end if;
        insert into pilot_private.scorecard_counts (pilot_cycle_id, org_id, source, n, flagged)
        select v_cycles[1], x.o, x.source, x.n, x.flagged
          from (values (v_orgs[1], 1::smallint, 1, v_failed[1]::int),
                       (null, 1::smallint, 1, v_failed[1]::int),
                       (v_orgs[1], 2::smallint, (org_attempts = 1)::int, (v_failed[1] and org_failures = 2)::int),
                       (null, 2::smallint, (cycle_attempts = 1)::int, (v_failed[1] and cycle_failures = 2)::int)) x(o, source, n, flagged)
         where x.n <> 0 or x.flagged <> 0;
        if pg_catalog.random() < 1.0 / 64 then
            perform pilot_private.compact_scorecard_pairs(v_cycles, v_orgs);
        end if;
        return null;
    end if;
    -- One statement: M1's attempts and failures per (cycle, organization) and per cycle; M5's
    -- people in the organization and in the whole cycle (org null), whose crossings of 0 → 1
    -- attempts and 1 → 2 failures become deltas. People rows are locked in key order (no deadlock
    -- between two multi-row statements).
    with rows_ as (
        select * from rows from (pg_catalog.unnest(v_cycles), pg_catalog.unnest(v_orgs), pg_catalog.unnest(v_hashes),
                                 pg_catalog.unnest(v_signs), pg_catalog.unnest(v_failed)) z(c, o, h, s, f)
    ), per_org as (
        select r.c, r.o, pg_catalog.sum(r.s) as n, coalesce(pg_catalog.sum(r.s) filter (where r.f), 0) as flagged
          from rows_ r group by grouping sets ((r.c, r.o), (r.c))
    ), per_person as (
        select r.c, r.o, r.h, pg_catalog.sum(r.s) as da, coalesce(pg_catalog.sum(r.s) filter (where r.f), 0) as df
          from rows_ r where r.h is not null
         group by grouping sets ((r.c, r.o, r.h), (r.c, r.h))
    ), changed as (
        select * from per_person p where p.da <> 0 or p.df <> 0
    ), kept as (
        insert into pilot_private.scorecard_people as p (pilot_cycle_id, org_id, entity_key_hash, attempts, failures)
        select ch.c, ch.o, ch.h, ch.da, ch.df from changed ch order by ch.c, ch.o nulls first, ch.h
        on conflict (pilot_cycle_id, org_id, entity_key_hash)
        do update set attempts = p.attempts + excluded.attempts, failures = p.failures + excluded.failures
        returning p.pilot_cycle_id, p.org_id, p.entity_key_hash, p.attempts, p.failures
    ), crossed as (
        select k.pilot_cycle_id as c, k.org_id as o,
               pg_catalog.sum((k.attempts > 0)::int - (k.attempts - ch.da > 0)::int) as n,
               pg_catalog.sum((k.failures >= 2)::int - (k.failures - ch.df >= 2)::int) as flagged
          from kept k
          join changed ch on ch.c = k.pilot_cycle_id and ch.h = k.entity_key_hash and (ch.o is null) = (k.org_id is null)
                         and coalesce(ch.o, '00000000-0000-0000-0000-000000000000') = coalesce(k.org_id, '00000000-0000-0000-0000-000000000000')
         group by 1, 2
    )
    insert into pilot_private.scorecard_counts (pilot_cycle_id, org_id, source, n, flagged)
    select d.c, d.o, 1, d.n, d.flagged from per_org d where d.n <> 0 or d.flagged <> 0
    union all
    select x.c, x.o, 2, x.n, x.flagged from crossed x where x.n <> 0 or x.flagged <> 0;

    if tg_op <> 'INSERT' then
        -- people with no attempts left go (retention and deletes leave no hash behind)
        delete from pilot_private.scorecard_people p
         using (select distinct z.c, z.o, z.h from rows from (pg_catalog.unnest(v_cycles), pg_catalog.unnest(v_orgs),
                                                                pg_catalog.unnest(v_hashes)) z(c, o, h) where z.h is not null) z
         where p.pilot_cycle_id = z.c and (p.org_id = z.o or p.org_id is null) and p.entity_key_hash = z.h
           and p.attempts = 0;
    end if;
    if tg_op = 'DELETE' or pg_catalog.random() < 1.0 / 64 then
        perform pilot_private.compact_scorecard_pairs(v_cycles, v_orgs);
    end if;
    return null;
end
$$;
comment on function pilot_private.count_contact_attempts() is
    'Statement trigger of pilot_contact_attempt_events: keeps M1''s and M5''s maintained counts, and the durations of connections whose anchor time moved.';

create function pilot_private.count_referrals() returns trigger
    language plpgsql volatile
    security definer
    set search_path = pg_catalog, pg_temp
as $$
declare
    v_cycles text[];
    v_orgs uuid[];
    v_signs int[];
    v_flags boolean[];
begin
    if tg_op <> 'INSERT' then
        select pg_catalog.array_agg(r.pilot_cycle_id), pg_catalog.array_agg(r.source_org_id), pg_catalog.array_agg(-1),
               pg_catalog.array_agg(r.referral_state <> 'initiated')
          into v_cycles, v_orgs, v_signs, v_flags from old_rows r;
    end if;
    if tg_op <> 'DELETE' then
        select v_cycles || pg_catalog.array_agg(r.pilot_cycle_id), v_orgs || pg_catalog.array_agg(r.source_org_id),
               v_signs || pg_catalog.array_agg(1), v_flags || pg_catalog.array_agg(r.referral_state <> 'initiated')
          into v_cycles, v_orgs, v_signs, v_flags from new_rows r;
    end if;
    if tg_op = 'UPDATE' then
        update public.pilot_connection_events x set seconds_to_connection = null
          from new_rows n join old_rows o on o.id = n.id
         where x.referral_event_id = n.id and n.created_at is distinct from o.created_at;
    end if;
    perform pilot_private.add_flag_counts(3::smallint, v_cycles, v_orgs, v_signs, v_flags, tg_op);
    return null;
end
$$;
comment on function pilot_private.count_referrals() is
    'Statement trigger of pilot_referral_events: keeps M3''s maintained counts, and the durations of connections whose anchor time moved.';

-- Data-decay audits (M6) and preference fit (M7): one function for both tables, whose
-- organization column is org_id; the trigger's arguments name the source and the flag column.
create function pilot_private.count_flagged_rows() returns trigger
    language plpgsql volatile
    security definer
    set search_path = pg_catalog, pg_temp
as $$
declare
    v_source constant smallint := tg_argv[0]::smallint;
    flag_column constant text := tg_argv[1];
    v_cycles text[];
    v_orgs uuid[];
    v_signs int[];
    v_flags boolean[];
begin
    if tg_op <> 'INSERT' then
        select pg_catalog.array_agg(r.pilot_cycle_id), pg_catalog.array_agg(r.org_id), pg_catalog.array_agg(-1),
               pg_catalog.array_agg((pg_catalog.to_jsonb(r.*) ->> flag_column)::boolean)
          into v_cycles, v_orgs, v_signs, v_flags from old_rows r;
    end if;
    if tg_op <> 'DELETE' then
        select v_cycles || pg_catalog.array_agg(r.pilot_cycle_id), v_orgs || pg_catalog.array_agg(r.org_id),
               v_signs || pg_catalog.array_agg(1), v_flags || pg_catalog.array_agg((pg_catalog.to_jsonb(r.*) ->> flag_column)::boolean)
          into v_cycles, v_orgs, v_signs, v_flags from new_rows r;
    end if;
    perform pilot_private.add_flag_counts(v_source, v_cycles, v_orgs, v_signs, v_flags, tg_op);
    return null;
end
$$;
comment on function pilot_private.count_flagged_rows() is
    'Statement trigger of pilot_data_decay_audits (M6: is_fatal) and pilot_preference_fit_events (M7: preferred_via_platform): keeps their maintained counts; arguments: the source and the flag column.';

create function pilot_private.count_connections() returns trigger
    language plpgsql volatile
    security definer
    set search_path = pg_catalog, pg_temp
as $$
declare
    v_cycles text[];
    v_orgs uuid[];
    v_seconds bigint[];
    v_signs int[];
begin
    if tg_op <> 'INSERT' then
        select pg_catalog.array_agg(r.pilot_cycle_id), pg_catalog.array_agg(r.org_id), pg_catalog.array_agg(r.seconds_to_connection),
               pg_catalog.array_agg(-1)
          into v_cycles, v_orgs, v_seconds, v_signs from old_rows r;
    end if;
    if tg_op <> 'DELETE' then
        select v_cycles || pg_catalog.array_agg(r.pilot_cycle_id), v_orgs || pg_catalog.array_agg(r.org_id),
               v_seconds || pg_catalog.array_agg(r.seconds_to_connection), v_signs || pg_catalog.array_agg(1)
          into v_cycles, v_orgs, v_seconds, v_signs from new_rows r;
    end if;
    perform pilot_private.add_duration_counts(v_cycles, v_orgs, v_seconds, v_signs, tg_op);
    return null;
end
$$;
comment on function pilot_private.count_connections() is
    'Statement trigger of pilot_connection_events: keeps M2''s maintained durations.';

-- TRUNCATE (owners only; it has no transition table): the table's sources start from zero.
create function pilot_private.count_truncated() returns trigger
    language plpgsql volatile
    security definer
    set search_path = pg_catalog, pg_temp
as $$
declare
    sources constant smallint[] := tg_argv::smallint[];
begin
    delete from pilot_private.scorecard_counts c where c.source = any (sources);
    if 2 = any (sources) then
        delete from pilot_private.scorecard_people;
    end if;
    return null;
end
$$;
comment on function pilot_private.count_truncated() is
    'TRUNCATE trigger of the counted tables: removes the maintained counts of the sources given as arguments.';

-- A connection's duration, fixed when it is written and whenever its anchor's time moves (the
-- anchors' UPDATE triggers touch it): whole seconds from the anchor (same cycle and organization)
-- to connected_at, judged on the exact difference, then rounded half away from zero; null when
-- negative (SPEC §8: left out). The anchor is locked FOR SHARE until the writer commits, so a
-- concurrent change of the anchor's time either waits for this row or is seen by it. As the
-- caller: whoever may write the connection may lock its anchor (same organization).
create function pilot_private.set_seconds_to_connection() returns trigger
    language plpgsql volatile
    set search_path = pg_catalog, pg_temp
as $$
declare
    anchored_at timestamptz;
    d numeric;
begin
    if new.contact_attempt_event_id is not null then
        select a.attempted_at into anchored_at from public.pilot_contact_attempt_events a
         where a.id = new.contact_attempt_event_id and a.pilot_cycle_id = new.pilot_cycle_id and a.recorded_by_org_id = new.org_id
           for share;
    elsif new.referral_event_id is not null then
        select r.created_at into anchored_at from public.pilot_referral_events r
         where r.id = new.referral_event_id and r.pilot_cycle_id = new.pilot_cycle_id and r.source_org_id = new.org_id
           for share;
    end if;
    d := extract(epoch from new.connected_at) - extract(epoch from anchored_at);
    new.seconds_to_connection := case when d >= 0 then pg_catalog.round(d)::bigint end;
    return new;
end
$$;
comment on function pilot_private.set_seconds_to_connection() is
    'BEFORE trigger of pilot_connection_events: computes seconds_to_connection from the anchor (locked FOR SHARE); null when negative or without anchor.';

create trigger pilot_seconds_to_connection
    before insert or update on public.pilot_connection_events
    for each row execute function pilot_private.set_seconds_to_connection();

do $triggers$
declare
    t record;
begin
    for t in select * from (values ('pilot_contact_attempt_events', 'count_contact_attempts', '', '1, 2'),
                                   ('pilot_referral_events', 'count_referrals', '', '3'),
                                   ('pilot_data_decay_audits', 'count_flagged_rows', '4, is_fatal', '4'),
                                   ('pilot_preference_fit_events', 'count_flagged_rows', '5, preferred_via_platform', '5'),
                                   ('pilot_connection_events', 'count_connections', '', '6, 7, 8')) x(tbl, fn, args, sources) loop
        execute pg_catalog.format(
            'create trigger pilot_counts_insert after insert on public.%1$I referencing new table as new_rows '
            'for each statement execute function pilot_private.%2$I(%3$s)', t.tbl, t.fn, t.args);
        execute pg_catalog.format(
            'create trigger pilot_counts_update after update on public.%1$I referencing old table as old_rows new table as new_rows '
            'for each statement execute function pilot_private.%2$I(%3$s)', t.tbl, t.fn, t.args);
        execute pg_catalog.format(
            'create trigger pilot_counts_delete after delete on public.%1$I referencing old table as old_rows '
            'for each statement execute function pilot_private.%2$I(%3$s)', t.tbl, t.fn, t.args);
        execute pg_catalog.format(
            'create trigger pilot_counts_truncate after truncate on public.%1$I '
            'for each statement execute function pilot_private.count_truncated(%2$s)', t.tbl, t.sources);
    end loop;
end
$triggers$;

-- ---------------------------------------------------------------------------------------------
-- Rebuild, for data loaded with triggers disabled (ALTER TABLE … DISABLE TRIGGER, or
-- session_replication_role = replica): recompute every connection's duration, then every count,
-- from the rows. Writers wait (SHARE ROW EXCLUSIVE locks) until it commits. Backend roles only:
-- the privileged part re-checks the acting role, the public entry runs as the caller.
create function pilot_private.rebuild_scorecard_counts() returns jsonb
    language plpgsql volatile
    security definer
    set search_path = pg_catalog, pg_temp
as $$
declare
    durations bigint;
    counts bigint;
    people bigint;
begin
    if not pilot_private.acting_is_backend() then
        raise exception using errcode = '42501',
            message = 'pilot_rebuild_scorecard_counts: not allowed: database owners and service_role only';
    end if;
    lock table public.pilot_contact_attempt_events, public.pilot_referral_events, public.pilot_connection_events,
               public.pilot_data_decay_audits, public.pilot_preference_fit_events in share row exclusive mode;
    update public.pilot_connection_events c set seconds_to_connection = x.seconds
      from (select c2.id,
                   case when d >= 0 then pg_catalog.round(d)::bigint end as seconds
              from public.pilot_connection_events c2
              left join public.pilot_contact_attempt_events a
                     on a.id = c2.contact_attempt_event_id and a.pilot_cycle_id = c2.pilot_cycle_id and a.recorded_by_org_id = c2.org_id
              left join public.pilot_referral_events r
                     on r.id = c2.referral_event_id and r.pilot_cycle_id = c2.pilot_cycle_id and r.source_org_id = c2.org_id,
                   lateral (select extract(epoch from c2.connected_at) - extract(epoch from coalesce(a.attempted_at, r.created_at)) as d) e) x
     where x.id = c.id and c.seconds_to_connection is distinct from x.seconds;
    get diagnostics durations = row_count;
    delete from pilot_private.scorecard_counts;
    delete from pilot_private.scorecard_people;
    insert into pilot_private.scorecard_people (pilot_cycle_id, org_id, entity_key_hash, attempts, failures)
    select a.pilot_cycle_id, a.recorded_by_org_id, a.entity_key_hash, pg_catalog.count(*),
           pg_catalog.count(*) filter (where a.attempt_outcome <> 'connected')
      from public.pilot_contact_attempt_events a where a.entity_key_hash is not null
     group by grouping sets ((a.pilot_cycle_id, a.recorded_by_org_id, a.entity_key_hash), (a.pilot_cycle_id, a.entity_key_hash));
    get diagnostics people = row_count;
    insert into pilot_private.scorecard_counts (pilot_cycle_id, org_id, source, bucket, n, flagged, compacted)
    select a.pilot_cycle_id, a.recorded_by_org_id, 1, 0, pg_catalog.count(*), pg_catalog.count(*) filter (where a.attempt_outcome <> 'connected'), true
      from public.pilot_contact_attempt_events a group by grouping sets ((1, 2), (1))
    union all
    select p.pilot_cycle_id, p.org_id, 2, 0, pg_catalog.count(*), pg_catalog.count(*) filter (where p.failures >= 2), true
      from pilot_private.scorecard_people p group by 1, 2
    union all
    select r.pilot_cycle_id, r.source_org_id, 3, 0, pg_catalog.count(*), pg_catalog.count(*) filter (where r.referral_state <> 'initiated'), true
      from public.pilot_referral_events r group by grouping sets ((1, 2), (1))
    union all
    select d.pilot_cycle_id, d.org_id, 4, 0, pg_catalog.count(*), pg_catalog.count(*) filter (where d.is_fatal), true
      from public.pilot_data_decay_audits d group by grouping sets ((1, 2), (1))
    union all
    select f.pilot_cycle_id, f.org_id, 5, 0, pg_catalog.count(*), pg_catalog.count(*) filter (where f.preferred_via_platform), true
      from public.pilot_preference_fit_events f group by grouping sets ((1, 2), (1))
    union all
    select c.pilot_cycle_id, c.org_id, 6, c.seconds_to_connection / 4096, pg_catalog.count(*), 0, true
      from public.pilot_connection_events c where c.seconds_to_connection is not null group by grouping sets ((1, 2, 4), (1, 4))
    union all
    select c.pilot_cycle_id, c.org_id, 8, c.seconds_to_connection / 64, pg_catalog.count(*), 0, true
      from public.pilot_connection_events c where c.seconds_to_connection is not null group by grouping sets ((1, 2, 4), (1, 4))
    union all
    select c.pilot_cycle_id, c.org_id, 7, c.seconds_to_connection, pg_catalog.count(*), 0, true
      from public.pilot_connection_events c where c.seconds_to_connection is not null group by grouping sets ((1, 2, 4), (1, 4));
    get diagnostics counts = row_count;
    return pg_catalog.jsonb_build_object('durations_recomputed', durations, 'people', people, 'count_rows', counts);
end
$$;
comment on function pilot_private.rebuild_scorecard_counts() is
    'Privileged part of pilot_rebuild_scorecard_counts: re-checks that the acting role is a backend role, then rebuilds the maintained counts from the rows.';

create function public.pilot_rebuild_scorecard_counts() returns jsonb
    language plpgsql volatile
    set search_path = pg_catalog, pg_temp
as $$
begin
    if not pilot_private.is_backend() then
        raise exception using errcode = '42501',
            message = 'pilot_rebuild_scorecard_counts: not allowed: database owners and service_role only';
    end if;
    return pilot_private.rebuild_scorecard_counts();
end
$$;
comment on function public.pilot_rebuild_scorecard_counts() is
$$Recompute the scorecard's maintained counts (and every connection's seconds_to_connection) from the rows: for data loaded with triggers disabled. Writers wait until it commits. Returns {"durations_recomputed", "people", "count_rows"}. Database owners and service_role only.$$;

select public.pilot_rebuild_scorecard_counts();

create or replace function pilot_private.durations_at_ranks(v_cycle text, v_org uuid, ranks bigint[]) returns bigint[]
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
    set plan_cache_mode = force_custom_plan
as $$
begin
    return (
    with blocks as (
        select x.bucket, pg_catalog.sum(x.n) over (order by x.bucket) - x.n as before, x.n
          from (select c.bucket, pg_catalog.sum(c.n) as n
                  from pilot_private.scorecard_counts c
                 where c.pilot_cycle_id = v_cycle and (c.org_id = v_org or (v_org is null and c.org_id is null)) and c.source = 6
                 group by c.bucket) x
    )
    select pg_catalog.array_agg(f.second order by r.ord)
      from pg_catalog.unnest(ranks) with ordinality r(rank, ord)
      left join blocks b on r.rank >= b.before and r.rank < b.before + b.n
      left join lateral (
            select y.bucket as span, r.rank - b.before - y.before as within
              from (select x.bucket, pg_catalog.sum(x.n) over (order by x.bucket) - x.n as before, x.n
                      from (select c.bucket, pg_catalog.sum(c.n) as n
                              from pilot_private.scorecard_counts c
                             where c.pilot_cycle_id = v_cycle and (c.org_id = v_org or (v_org is null and c.org_id is null)) and c.source = 8
                               and c.bucket between b.bucket * 64 and b.bucket * 64 + 63
                             group by c.bucket) x) y
             where r.rank - b.before >= y.before and r.rank - b.before < y.before + y.n) s on true
      left join lateral (
            select y.bucket as second
              from (select x.bucket, pg_catalog.sum(x.n) over (order by x.bucket) - x.n as before, x.n
                      from (select c.bucket, pg_catalog.sum(c.n) as n
                              from pilot_private.scorecard_counts c
                             where c.pilot_cycle_id = v_cycle and (c.org_id = v_org or (v_org is null and c.org_id is null)) and c.source = 7
                               and c.bucket between s.span * 64 and s.span * 64 + 63
                             group by c.bucket) x) y
             where s.within >= y.before and s.within < y.before + y.n) f on true);
end
$$;
comment on function pilot_private.durations_at_ranks(text, uuid, bigint[]) is
    'M2: the durations at the given 0-based ranks of one cycle and organization (null: all of them), from the maintained histogram, read as the caller.';

create or replace function pilot_private.counted_metrics(v_cycle text, v_org uuid) returns jsonb
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
    set plan_cache_mode = force_custom_plan
as $$
declare
    t record;
    ranks bigint[] := '{}';
    rems int[] := '{}';
    vals bigint[];
    p numeric[] := '{}';
    steps bigint;
    i int;
begin
    -- sources 1-6; v_org null: the cycle-wide rows (org_id null)
    select coalesce(pg_catalog.sum(c.n) filter (where c.source = 1), 0)::bigint as attempts,
           coalesce(pg_catalog.sum(c.flagged) filter (where c.source = 1), 0)::bigint as failures,
           coalesce(pg_catalog.sum(c.n) filter (where c.source = 2), 0)::bigint as people,
           coalesce(pg_catalog.sum(c.flagged) filter (where c.source = 2), 0)::bigint as repeat_people,
           coalesce(pg_catalog.sum(c.n) filter (where c.source = 3), 0)::bigint as referrals,
           coalesce(pg_catalog.sum(c.flagged) filter (where c.source = 3), 0)::bigint as terminal,
           coalesce(pg_catalog.sum(c.n) filter (where c.source = 4), 0)::bigint as audits,
           coalesce(pg_catalog.sum(c.flagged) filter (where c.source = 4), 0)::bigint as fatal,
           coalesce(pg_catalog.sum(c.n) filter (where c.source = 5), 0)::bigint as fits,
           coalesce(pg_catalog.sum(c.flagged) filter (where c.source = 5), 0)::bigint as preferred,
           coalesce(pg_catalog.sum(c.n) filter (where c.source = 6), 0)::bigint as durations
      into t
      from pilot_private.scorecard_counts c
     where c.pilot_cycle_id = v_cycle and (c.org_id = v_org or (v_org is null and c.org_id is null)) and c.source between 1 and 6;

    -- M2: the p-th percentile sits at p·(n − 1)/100: the value at rank p·(n − 1) div 100, plus
    -- (p·(n − 1) mod 100)/100 of the gap to the next one (core/src/math.rs, on those two values)
    if t.durations > 0 then
        foreach steps in array array[50 * (t.durations - 1), 75 * (t.durations - 1), 90 * (t.durations - 1)] loop
            ranks := ranks || array[steps / 100, steps / 100 + case when steps % 100 > 0 then 1 else 0 end];
            rems := rems || (steps % 100)::int;
        end loop;
        vals := pilot_private.durations_at_ranks(v_cycle, v_org, ranks);
        for i in 1 .. 3 loop
            p := p || (pilot_private.percentiles(array[vals[2 * i - 1], vals[2 * i]], array[rems[i]]))[1]::numeric;
        end loop;
    end if;

    return pg_catalog.jsonb_build_object(
        'M1', pilot_private.rate(t.failures, t.attempts),
        'M2_P50', pg_catalog.jsonb_build_object('value', p[1], 'numerator', null, 'denominator', t.durations),
        'M2_P75', pg_catalog.jsonb_build_object('value', p[2], 'numerator', null, 'denominator', t.durations),
        'M2_P90', pg_catalog.jsonb_build_object('value', p[3], 'numerator', null, 'denominator', t.durations),
        'M3', pilot_private.rate(t.terminal, t.referrals),
        'M5', pilot_private.rate(t.repeat_people, t.people),
        'M6', pilot_private.rate(t.fatal, t.audits),
        'M7', pilot_private.rate(t.preferred, t.fits));
end
$$;
comment on function pilot_private.counted_metrics(text, uuid) is
    'M1, M2, M3, M5, M6 and M7 of one cycle and organization (null: all of them) as raw metric objects, from the maintained counts, read as the caller.';

create or replace function pilot_private.freshness_metric(v_cycle text, v_org uuid, v_as_of timestamptz) returns jsonb
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
    set plan_cache_mode = force_custom_plan
as $$
begin
    return (
    select pilot_private.rate(
               pg_catalog.count(*) filter (
                   where latest.checked_at is not null
                     and extract(epoch from v_as_of) - extract(epoch from latest.checked_at)
                         <= case s.sla_tier when 'crisis' then 24 when 'high_demand' then 48 else 168 end * 3600),
               pg_catalog.count(*))
      from public.pilot_service_scope s
      left join lateral (
            select e.checked_at from public.service_operational_status_events e
             where e.pilot_cycle_id = s.pilot_cycle_id and e.org_id = s.org_id and e.service_id = s.service_id
               and e.checked_at <= v_as_of
             order by e.checked_at desc limit 1) latest on true
     where s.pilot_cycle_id = v_cycle and (v_org is null or s.org_id = v_org));
end
$$;
comment on function pilot_private.freshness_metric(text, uuid, timestamptz) is
    'M4 of one cycle and organization (null: all of them) at as_of as a raw metric object, from the scope and status rows, read as the caller.';

-- ---------------------------------------------------------------------------------------------
-- 9d. Reads as one index condition: read_orgs() (20_identity.sql) and the organization-first
-- indexes (40_tables.sql), which the read policies below use.

-- The organizations whose rows of a pilot table the caller reads (SPEC §4: "admin or member"), as
-- one array, so that a read policy is a single `org = any (array)`: an index condition on the
-- table's organization-first index (40_tables.sql), where "member or admin" as an OR is a filter
-- run on every row (measured: a member reading 100,000 rows at 0.78–0.88× service_role as a filter,
-- 0.94–0.96× as the index condition). A member: their organizations, as member_orgs(). An admin:
-- every organization a row the statement sees or writes can name, under the statement's snapshot —
-- every one of public.organizations (a new row's, which the snapshot does not see yet) and every
-- one the table's rows name (a skip scan of that index: one descent per organization).
-- The caller picks only the table, and only a pilot table with an organization column is read.
create function pilot_private.read_orgs(table_name text) returns uuid[]
    language plpgsql stable
    security definer
    set search_path = pg_catalog, pg_temp
as $$
declare
    org_column text;
    orgs uuid[];
begin
    select k.org_column into org_column
      from pilot_private.kinds() k
     where k.table_name = read_orgs.table_name and k.org_column is not null
     limit 1;
    if org_column is null then
        raise exception using errcode = '22023', message = 'read_orgs: not a pilot table with an organization column';
    end if;
    orgs := pilot_private.member_orgs(writers_only => false);  -- and is_admin()'s answer, remembered
    if not coalesce(pilot_private.cached_is_admin(), pilot_private.is_admin()) then
        return orgs;
    end if;
    if pilot_private.host_storage_problem('organizations') is not null then  -- (see host_row_exists)
        perform pilot_private.raise_storage_missing(pilot_private.host_storage_problem('organizations'));
    end if;
    execute pg_catalog.format(
        'with recursive o (org) as ('
        '    (select t.%1$I from public.%2$I t order by t.%1$I limit 1)'
        '    union all'
        '    select (select t.%1$I from public.%2$I t where t.%1$I > o.org order by t.%1$I limit 1) from o where o.org is not null) '
        'select coalesce(pg_catalog.array_agg(x.org), ''{}'') '
        '  from (select o.org from o where o.org is not null union select h.id from public.organizations h) x',
        org_column, read_orgs.table_name) into orgs;
    return orgs;
end
$$;
comment on function pilot_private.read_orgs(text) is
    'The organizations whose rows of the pilot table the caller reads: a member''s own; for an admin, every organization of public.organizations and of the table''s rows. The read policies test org = any ((select pilot_private.read_orgs(''<table>''))).';

-- Organization first, for the read policies (50_policies.sql): `org = any (the caller's
-- organizations)` is an index condition here, and an admin's read_orgs() (20_identity.sql) skips
-- through it, one descent per organization. The organization is a uuid, at a fixed offset: tested
-- before the cycle (text) it costs less than it would as the second key of the cycle-first index.
do $org_indexes$
declare
    k record;
begin
    for k in select distinct r.table_name, r.org_column, r.time_column from pilot_private.kinds() r
              where r.policy_shape in ('events', 'snapshots') order by r.table_name loop
        execute pg_catalog.format('create index %I on public.%I (%I, pilot_cycle_id%s)',
                                  k.table_name || '_org_cycle' || case when k.time_column is null then '' else '_time' end,
                                  k.table_name, k.org_column, coalesce(', ' || pg_catalog.quote_ident(k.time_column), ''));
    end loop;
end
$org_indexes$;

-- 9d, continued. The policies ask the statement's lookups first; reads test one index condition,
-- writes the caller's first organization as a scalar before the others (50_policies.sql's block,
-- whole, after dropping every policy it creates; the audit trail's).

do $drop_policies$
declare
    p record;
begin
    for p in select pol.polname, c.relname
               from pg_catalog.pg_policy pol join pg_catalog.pg_class c on c.oid = pol.polrelid
              where c.relnamespace = 'public'::regnamespace
                and c.relname in (select r.table_name from pilot_private.kinds() r) loop
        execute pg_catalog.format('drop policy %I on public.%I', p.polname, p.relname);
    end loop;
end
$drop_policies$;

do $policies$
declare
    admin constant text := '(select coalesce(pilot_private.cached_is_admin(), pilot_private.is_admin()))';
    -- the row's organization column (%I) is one the caller writes for (owner, admin or editor)
    writer_of constant text :=
        '(%1$I = (select (coalesce(pilot_private.cached_member_orgs(true), pilot_private.member_orgs(writers_only => true)))[1]) '
        'or %1$I = any ((select nullif((coalesce(pilot_private.cached_member_orgs(true), '
        'pilot_private.member_orgs(writers_only => true)))[2:], ''{}''))::uuid[]))';
    writer text;
    t text;
    shape text;
    k record;
begin
    -- table, organization column and shape from the registry of the kinds (35_kinds.sql)
    for k in select distinct r.table_name, r.org_column, r.policy_shape from pilot_private.kinds() r order by r.table_name loop
        t := k.table_name;
        shape := k.policy_shape;
        if k.org_column is not null then
            writer := pg_catalog.format(writer_of, k.org_column);
        end if;

        execute pg_catalog.format('alter table public.%I enable row level security', t);

        if shape = 'registry' then
            -- SPEC §14: any signed-in member of an organization reads cycles and cohorts
            execute pg_catalog.format(
                'create policy pilot_members_read on public.%I for select to authenticated '
                'using (pg_catalog.cardinality((select coalesce(pilot_private.cached_member_orgs(false), '
                'pilot_private.member_orgs(writers_only => false)))) > 0 or %s)', t, admin);
            execute pg_catalog.format('create policy pilot_admins_insert on public.%I for insert to authenticated with check (%s)', t, admin);
        elsif shape = 'decisions' then
            execute pg_catalog.format('create policy pilot_admins_read on public.%I for select to authenticated using (%s)', t, admin);
            execute pg_catalog.format(
                'create policy pilot_admins_insert on public.%I for insert to authenticated '
                'with check (%s and (created_by is null or created_by = (select pilot_private.uid())))', t, admin);
        else
            -- one index condition (20_identity.sql's read_orgs): the caller's organizations, all for
            -- an admin; a non-admin's from the statement's lookups when it made them
            execute pg_catalog.format(
                'create policy pilot_members_read on public.%I for select to authenticated '
                'using (%I = any ((select coalesce(case when not pilot_private.cached_is_admin() '
                'then pilot_private.cached_member_orgs(false) end, pilot_private.read_orgs(%L)))::uuid[]))',
                t, k.org_column, t);
        end if;
        -- Snapshots are read only: pilot_recompute_metrics' privileged part writes them (SPEC §10.4).
        continue when shape = 'snapshots';

        if shape = 'events' then
            execute pg_catalog.format('create policy pilot_writers_insert on public.%I for insert to authenticated with check (%s or %s)',
                                      t, writer, admin);
            execute pg_catalog.format(
                'create policy pilot_writers_update on public.%I for update to authenticated using (%s or %s) with check (%s or %s)',
                t, writer, admin, writer, admin);
        else
            execute pg_catalog.format(
                'create policy pilot_admins_update on public.%I for update to authenticated using (%s) with check (%s)', t, admin, admin);
        end if;

        execute pg_catalog.format('create policy pilot_admins_delete on public.%I for delete to authenticated using (%s)', t, admin);
    end loop;
end
$policies$;

drop policy pilot_admins_read on public.pilot_audit_events;
create policy pilot_admins_read on public.pilot_audit_events for select to authenticated
    using ((select coalesce(pilot_private.cached_is_admin(), pilot_private.is_admin())));

-- ---------------------------------------------------------------------------------------------
-- 9e. The code CHECK in Rust (37_codes.sql): same rule, no SQL function planned per statement.

create or replace function pilot_private.is_code(value text, max_chars int default 100) returns boolean
    language c immutable strict parallel safe
    set search_path = pg_catalog, pg_temp
    as 'MODULE_PATHNAME', 'pilot_is_code';

-- ---------------------------------------------------------------------------------------------
-- 9f. The registry's row of one kind for the recorders (35_kinds.sql).

-- One kind's route for the idempotency claim (66_idempotency.sql, which runs as the owner; the
-- recorders have their kind's row as constants, 70_recorders.sql): its recorder (without the
-- argument list), table, organization column and host references, and whether it takes a payload;
-- all null for an unknown kind. Generated from the registry above as a CASE of constants: a lookup in kinds() itself materializes its twelve
-- rows on every call (measured: 33 µs a lookup, 9 µs here).
do $generate$
declare
    arms text;
begin
    select pg_catalog.string_agg(pg_catalog.format(
               'when %L then recorder := %L; table_name := %L; org_column := %L; host_refs := %L; payload := %L;',
               r.kind, pg_catalog.split_part(r.recorder, '(', 1), r.table_name, r.org_column, r.host_refs, r.payload),
               E'\n        ' order by r.kind)
      into arms
      from pilot_private.kinds() r;
    execute pg_catalog.format($create$
create function pilot_private.kind_route(v_kind text, out recorder text, out table_name text, out org_column text,
                                         out host_refs text[], out payload boolean)
    language plpgsql immutable parallel safe
    set search_path = pg_catalog, pg_temp
as $body$
begin
    case v_kind
        %s
        else null;
    end case;
end
$body$$create$, arms);
end
$generate$;
comment on function pilot_private.kind_route(text) is
    'One kind''s row of the registry (pilot_private.kinds()) as the idempotency claim uses it: recorder, table, organization column, host references, takes a payload; null for an unknown kind. Generated from kinds().';

create function pilot_private.request_digest(request text) returns text
    language c immutable strict parallel safe
    set search_path = pg_catalog, pg_temp
    as 'MODULE_PATHNAME', 'pilot_request_digest';
comment on function pilot_private.request_digest(text) is
    'SHA-256 of a recorder request''s text in lower-case hex: what the idempotency claim keeps to tell a replay from another request.';

-- ---------------------------------------------------------------------------------------------
-- 10. Privileges, last (SPEC §2).

select pilot_private.reset_privileges();
