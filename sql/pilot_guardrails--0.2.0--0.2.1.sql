-- pilot_guardrails 0.2.0 → 0.2.1: the security release (SPEC §2, §3.5, §5, §6, §8).
--
-- A hand-written delta: what changed since sql/releases/pilot_guardrails--0.2.0.sql, and nothing
-- else. A fresh install runs the concern files (sql/00_…–90_…); tests/scenarios/upgrade.sh proves
-- that 0.2.0 with rows, upgraded by this script, ends in exactly the schema of a fresh 0.2.1.
--   1. name resolution: every function of the extension searches pg_catalog, then pg_temp — last,
--      so that a temporary type or table of the caller never shadows a name of ours
--   2. triggers of others: bulk_update_service_status refuses while public.services carries a
--      trigger whose function an API role owns or that lives in a temporary schema
--   3. anchors: a connection's anchor is of the same cycle and organization, by composite foreign keys
--   4. Gate 1 refuses NaN and infinite baselines
--   5. pilot_verify(): search paths, exact ACLs, triggers of others
--   6. host objects a 0.2.0 pilot_bootstrap_host() created are repaired
--   7. privileges: exactly SPEC §2's matrix, as the last step
-- The Rust functions (bounded walks, paths without key text) change in the shared library only.

-- ---------------------------------------------------------------------------------------------
-- 1. Name resolution. search_path '' searches pg_temp *first* for types and relations.

do $search_path$
declare
    fn regprocedure;
begin
    for fn in
        select p.oid::regprocedure
          from pg_catalog.pg_depend d join pg_catalog.pg_proc p on p.oid = d.objid
         where d.classid = 'pg_catalog.pg_proc'::regclass and d.refclassid = 'pg_catalog.pg_extension'::regclass
           and d.refobjid = (select e.oid from pg_catalog.pg_extension e where e.extname = 'pilot_guardrails')
           and d.deptype = 'e'
    loop
        execute pg_catalog.format('alter function %s set search_path = pg_catalog, pg_temp', fn);
    end loop;
end
$search_path$;

-- ---------------------------------------------------------------------------------------------
-- 2. Triggers of others on public.services.

create function pilot_private.untrusted_triggers(rel regclass) returns text[]
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
begin
    return array(
        select t.tgname::text
          from pg_catalog.pg_trigger t
          join pg_catalog.pg_proc p on p.oid = t.tgfoid
          join pg_catalog.pg_namespace n on n.oid = p.pronamespace
          join pg_catalog.pg_roles o on o.oid = p.proowner
         where t.tgrelid = rel and t.tgenabled <> 'D'
           and (n.nspname like 'pg\_temp\_%' or n.nspname like 'pg\_toast\_temp\_%'
                or (not o.rolsuper
                    and exists (select 1 from pg_catalog.pg_roles api
                                 where api.rolname in ('anon', 'authenticated', 'service_role')
                                   and pg_catalog.pg_has_role(o.oid, api.oid, 'MEMBER'))))
         order by 1);
end
$$;
comment on function pilot_private.untrusted_triggers(regclass) is
    'Enabled triggers on a table whose function an API role (or a member of one) owns or that live in a temporary schema (SPEC §2).';
create or replace function pilot_private.apply_service_status(
    p_service_ids text[], p_verification_status text, p_published boolean, p_actor uuid
) returns table (updated_count int, failed_ids text[])
    language plpgsql volatile
    set search_path = pg_catalog, pg_temp
as $$
declare
    services constant regclass := pg_catalog.to_regclass('public.services');
    untrusted text[];
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
    return query
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
                       from input i where not exists (select 1 from updated d where d.id = i.id)), '{}');
exception
    when undefined_table or undefined_column or undefined_function then
        perform pilot_private.raise_storage_missing(sqlerrm);
end
$$;
comment on function pilot_private.apply_service_status(text[], text, boolean, uuid) is
    'Updates verification_status/published of services, reviewed_by = p_actor. Runs as its caller; refuses (42501) while public.services carries an untrusted trigger (SPEC §2).';
-- ---------------------------------------------------------------------------------------------
-- 3. Anchors: composite foreign keys (SPEC §3.5). The recorder checked this since 0.1.0; direct
-- writes did not. Adding the constraints checks every stored connection: an upgrade over a
-- connection whose anchor is of another cycle or organization stops here with 23503, naming the
-- constraint, and changes nothing.

alter table public.pilot_contact_attempt_events
    add constraint pilot_contact_attempt_events_anchor unique (id, pilot_cycle_id, recorded_by_org_id);
alter table public.pilot_referral_events
    add constraint pilot_referral_events_anchor unique (id, pilot_cycle_id, source_org_id);
alter table public.pilot_connection_events
    drop constraint pilot_connection_events_contact_attempt_event_id_fkey,
    drop constraint pilot_connection_events_referral_event_id_fkey,
    add constraint contact_attempt_anchor_same_cycle_and_org
        foreign key (contact_attempt_event_id, pilot_cycle_id, org_id)
        references public.pilot_contact_attempt_events (id, pilot_cycle_id, recorded_by_org_id) on delete restrict,
    add constraint referral_anchor_same_cycle_and_org
        foreign key (referral_event_id, pilot_cycle_id, org_id)
        references public.pilot_referral_events (id, pilot_cycle_id, source_org_id) on delete restrict;

-- ---------------------------------------------------------------------------------------------
-- 4. Gate 1: NaN and infinite baselines.

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
        'passed_all', ok[1] and ok[2] and ok[3] and ok[4] and ok[5]);
end
$$;
comment on function pilot_private.gate1(jsonb, numeric, numeric) is 'Gate 1 checks of a scorecard''s metrics (SPEC §8); null unless both baselines are given; a NaN or infinite baseline is refused (22023).';
-- ---------------------------------------------------------------------------------------------
-- 5. pilot_verify() and the privilege matrix it checks against.

create function pilot_private.privilege_matrix()
returns table (object_kind text, object_name text, grantee text, privileges text)
    language plpgsql immutable
    set search_path = pg_catalog, pg_temp
as $$
declare
    api constant text[] := array['authenticated', 'service_role'];
    -- Called as the caller: the policies, CHECKs, triggers, recorders and the scorecard.
    both_roles constant text[] := array[
        'public.pilot_validate(text,jsonb)',
        'public.pilot_disallowed_key_paths(jsonb)',
        'public.bulk_update_service_status(text[],text,boolean,uuid)',
        'public.pilot_record_contact_attempt(jsonb)',
        'public.pilot_record_referral(jsonb)',
        'public.pilot_update_referral(uuid,jsonb)',
        'public.pilot_record_integration_feasibility(jsonb)',
        'public.pilot_record_connection(jsonb)',
        'public.pilot_record_service_scope(jsonb)',
        'public.pilot_record_service_status(jsonb)',
        'public.pilot_record_data_decay_audit(jsonb)',
        'public.pilot_record_preference_fit(jsonb)',
        'public.pilot_scorecard(text,uuid,timestamp with time zone,numeric,numeric)',
        'public.pilot_recompute_metrics(text,uuid)',
        'public.pilot_metric_history(text,uuid)',
        'pilot_private.uid()',
        'pilot_private.is_backend()',
        'pilot_private.raise_storage_missing(text)',
        'pilot_private.is_admin()',
        'pilot_private.member_orgs(boolean)',
        'pilot_private.host_row_exists(text,text)',
        'pilot_private.is_code(text,integer)',
        'pilot_private.are_codes(text[],integer)',
        'pilot_private.validate(text,jsonb)',
        'pilot_private.check_caller_and_payload(text,text,jsonb)',
        'pilot_private.check_host_rows(text,jsonb)',
        'pilot_private.percentiles(bigint[],integer[])',
        'pilot_private.rate(bigint,bigint)',
        'pilot_private.scorecard_metrics(text,uuid,timestamp with time zone)',
        'pilot_private.gate1(jsonb,numeric,numeric)',
        'pilot_private.check_member(text,uuid,boolean)',
        'pilot_private.utc_text(timestamp with time zone)'];
    -- bulk_update_service_status (SPEC §5): the privileged part for signed-in users only, the
    -- backend path's helpers for backend roles only.
    authenticated_only constant text[] := array[
        'pilot_private.bulk_update_service_status_as_admin(text[],text,boolean,uuid)'];
    service_role_only constant text[] := array[
        'pilot_private.check_bulk_update_args(text[],text,boolean)',
        'pilot_private.apply_service_status(text[],text,boolean,uuid)',
        'pilot_private.user_is_admin(uuid)',
        'pilot_private.untrusted_triggers(regclass)',
        'pilot_private.privilege_matrix()',
        'public.pilot_verify()'];
    tables constant text[] := array[
        'public.pilot_contact_attempt_events', 'public.pilot_referral_events', 'public.pilot_metric_snapshots',
        'public.pilot_integration_feasibility_decisions', 'public.pilot_connection_events', 'public.pilot_service_scope',
        'public.service_operational_status_events', 'public.pilot_data_decay_audits', 'public.pilot_preference_fit_events'];
begin
    return query
        select 'function', f, r, 'EXECUTE' from pg_catalog.unnest(both_roles) f, pg_catalog.unnest(api) r
        union all
        select 'function', f, 'authenticated', 'EXECUTE' from pg_catalog.unnest(authenticated_only) f
        union all
        select 'function', f, 'service_role', 'EXECUTE' from pg_catalog.unnest(service_role_only) f
        -- Pilot tables: row-level security decides for authenticated; service_role bypasses it.
        -- Never TRUNCATE, TRIGGER or REFERENCES.
        union all
        select 'table', t, r, 'DELETE,INSERT,SELECT,UPDATE' from pg_catalog.unnest(tables) t, pg_catalog.unnest(api) r;
end
$$;
comment on function pilot_private.privilege_matrix() is
    'What anon, authenticated and service_role hold on each object of the extension (SPEC §2); nothing else is granted. Used by reset_privileges() and pilot_verify().';
create function pilot_private.reset_privileges() returns void
    language plpgsql volatile
    set search_path = pg_catalog, pg_temp
as $$
declare
    ext constant oid := (select e.oid from pg_catalog.pg_extension e where e.extname = 'pilot_guardrails');
    everyone constant text := 'public, anon, authenticated, service_role';
    obj record;
begin
    for obj in
        select p.oid::regprocedure as fn
          from pg_catalog.pg_depend d join pg_catalog.pg_proc p on p.oid = d.objid
         where d.classid = 'pg_catalog.pg_proc'::regclass and d.refclassid = 'pg_catalog.pg_extension'::regclass
           and d.refobjid = ext and d.deptype = 'e'
    loop
        execute pg_catalog.format('revoke all on function %s from %s', obj.fn, everyone);
    end loop;
    for obj in
        select c.oid::regclass as rel, c.relkind
          from pg_catalog.pg_depend d join pg_catalog.pg_class c on c.oid = d.objid
         where d.classid = 'pg_catalog.pg_class'::regclass and d.refclassid = 'pg_catalog.pg_extension'::regclass
           and d.refobjid = ext and d.deptype = 'e' and c.relkind in ('r', 'p', 'v', 'm', 'f', 'S')
    loop
        execute pg_catalog.format('revoke all on %s %s from %s',
                                  case when obj.relkind = 'S' then 'sequence' else 'table' end, obj.rel, everyone);
    end loop;
    -- Column privileges survive a table-level REVOKE ALL: revoke those too.
    for obj in
        select a.attrelid::regclass as rel, a.attname
          from pg_catalog.pg_depend d join pg_catalog.pg_attribute a on a.attrelid = d.objid
         where d.classid = 'pg_catalog.pg_class'::regclass and d.refclassid = 'pg_catalog.pg_extension'::regclass
           and d.refobjid = ext and d.deptype = 'e' and a.attnum > 0 and a.attacl is not null
    loop
        execute pg_catalog.format('revoke all (%I) on %s from %s', obj.attname, obj.rel, everyone);
    end loop;
    for obj in select * from pilot_private.privilege_matrix() m loop
        execute pg_catalog.format('grant %s on %s %s to %I', obj.privileges, obj.object_kind, obj.object_name, obj.grantee);
    end loop;
end
$$;
comment on function pilot_private.reset_privileges() is
    'Revokes every privilege of PUBLIC, anon, authenticated and service_role on the extension''s objects and grants privilege_matrix(). Last step of every install and upgrade script.';
create or replace function public.pilot_verify() returns table ("check" text, ok boolean, detail text)
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
declare
    expected_columns constant text[][] := array[
        ['pilot_contact_attempt_events', 'id,pilot_cycle_id,service_id,recorded_by_org_id,entity_key_hash,attempt_channel,attempt_outcome,attempted_at,resolved_at,outcome_notes_code,created_at'],
        ['pilot_referral_events', 'id,pilot_cycle_id,source_org_id,target_service_id,referral_state,created_at,updated_at,terminal_at,failure_reason_code'],
        ['pilot_metric_snapshots', 'id,pilot_cycle_id,org_id,metric_id,metric_value,numerator,denominator,calculated_at'],
        ['pilot_integration_feasibility_decisions', 'id,pilot_cycle_id,decision,decision_date,redline_checklist_version,violations,compensating_controls,owners,created_at,created_by'],
        ['pilot_connection_events', 'id,pilot_cycle_id,org_id,service_id,connected_at,contact_attempt_event_id,referral_event_id'],
        ['pilot_service_scope', 'id,pilot_cycle_id,org_id,service_id,sla_tier'],
        ['service_operational_status_events', 'id,pilot_cycle_id,org_id,service_id,checked_at,status_code'],
        ['pilot_data_decay_audits', 'id,pilot_cycle_id,org_id,service_id,audited_at,is_fatal,fatal_error_category,verification_mode'],
        ['pilot_preference_fit_events', 'id,pilot_cycle_id,org_id,cohort_label,recorded_at,preferred_via_platform']];
    -- table, policy, command (r a w d)
    expected_policies text[][];
    i int;
    t text;
    rel regclass;
    actual text;
    missing text;
    extra text;
    bad text;
    ext oid := (select e.oid from pg_catalog.pg_extension e where e.extname = 'pilot_guardrails');
begin
    expected_policies := array[]::text[][];
    for i in 1 .. 9 loop
        t := expected_columns[i][1];
        if t = 'pilot_integration_feasibility_decisions' then
            expected_policies := expected_policies || array[[t, 'pilot_admins_read', 'r'], [t, 'pilot_admins_insert', 'a'],
                                                            [t, 'pilot_admins_update', 'w'], [t, 'pilot_admins_delete', 'd']];
        elsif t = 'pilot_metric_snapshots' then
            expected_policies := expected_policies || array[[t, 'pilot_members_read', 'r'], [t, 'pilot_writers_insert', 'a'],
                                                            [t, 'pilot_admins_update', 'w'], [t, 'pilot_admins_delete', 'd']];
        else
            expected_policies := expected_policies || array[[t, 'pilot_members_read', 'r'], [t, 'pilot_writers_insert', 'a'],
                                                            [t, 'pilot_writers_update', 'w'], [t, 'pilot_admins_delete', 'd']];
        end if;
    end loop;

    for i in 1 .. 9 loop
        t := expected_columns[i][1];
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
          from pg_catalog.unnest(pg_catalog.string_to_array(expected_columns[i][2], ',')) x
         where x <> all (pg_catalog.string_to_array(actual, ','));
        select pg_catalog.string_agg(x, ',' order by x) into extra
          from pg_catalog.unnest(pg_catalog.string_to_array(actual, ',')) x
         where x <> all (pg_catalog.string_to_array(expected_columns[i][2], ','));
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
Checks every pilot table (present, row-level security enabled, columns exactly as specified, no privacy-forbidden column, nothing for anon), every expected policy (command and roles), the hardened bulk_update_service_status (invoker entry point, SECURITY DEFINER part, grants), the search path pg_catalog, pg_temp on every function, the privileges of PUBLIC, anon, authenticated and service_role (exactly the matrix), triggers the extension did not create on pilot tables, TRIGGER privilege and untrusted triggers on public.services, and the drop guard. For database owners and service_role.$$;
-- ---------------------------------------------------------------------------------------------
-- 6. Host objects. pilot_bootstrap_host() now creates them with pg_temp last, is_admin() as
-- SECURITY INVOKER, and host tables without TRIGGER, TRUNCATE or REFERENCES for API roles.

create function pilot_private.grant_host_table(rel text, anon_privs text, authenticated_privs text) returns void
    language plpgsql volatile
    set search_path = pg_catalog, pg_temp
as $$
begin
    execute pg_catalog.format('revoke all on table %s from public, anon, authenticated, service_role', rel);
    if anon_privs is not null then
        execute pg_catalog.format('grant %s on table %s to anon', anon_privs, rel);
    end if;
    execute pg_catalog.format('grant %s on table %s to authenticated', authenticated_privs, rel);
    execute pg_catalog.format('grant select, insert, update, delete on table %s to service_role', rel);
end
$$;
comment on function pilot_private.grant_host_table(text, text, text) is
    'pilot_bootstrap_host(): the privileges of a host table it creates, whatever the default privileges (owner only).';
create or replace function public.pilot_bootstrap_host() returns text[]
    language plpgsql volatile
    set search_path = pg_catalog, pg_temp
as $fn$
declare
    problems text[] := '{}';
    created text[] := '{}';
    -- table, column, expected type (format_type spelling)
    contract constant text[][] := array[
        ['organizations',        'id',                 'uuid'],
        ['services',             'id',                 'text'],
        ['services',             'verification_status','text'],
        ['services',             'published',          'boolean'],
        ['services',             'reviewed_by',        'uuid'],
        ['services',             'last_admin_review',  'timestamp with time zone'],
        ['services',             'updated_at',         'timestamp with time zone'],
        ['organization_members', 'organization_id',    'uuid'],
        ['organization_members', 'user_id',            'uuid'],
        ['organization_members', 'role',               'text'],
        ['app_admins',           'user_id',            'uuid']];
    -- schema, function, expected result type
    functions constant text[][] := array[
        ['auth',   'uid',      'uuid'],
        ['auth',   'role',     'text'],
        ['auth',   'jwt',      'jsonb'],
        ['public', 'is_admin', 'boolean']];
    i int;
    rel regclass;
    actual text;
    fn_oid oid;
begin
    -- 1. Check every existing object the contract names; collect all problems.
    for i in 1 .. pg_catalog.array_length(contract, 1) loop
        rel := pg_catalog.to_regclass('public.' || contract[i][1]);
        continue when rel is null;          -- missing: will be created
        select pg_catalog.format_type(a.atttypid, a.atttypmod) into actual
          from pg_catalog.pg_attribute a
         where a.attrelid = rel and a.attname = contract[i][2] and a.attnum > 0 and not a.attisdropped;
        if actual is null then
            problems := problems || pg_catalog.format('public.%s has no column %s (%s)',
                                                     contract[i][1], contract[i][2], contract[i][3]);
        elsif actual <> contract[i][3] then
            problems := problems || pg_catalog.format('public.%s.%s is %s, expected %s',
                                                     contract[i][1], contract[i][2], actual, contract[i][3]);
        end if;
    end loop;
    for i in 1 .. pg_catalog.array_length(functions, 1) loop
        select p.oid into fn_oid
          from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
         where n.nspname = functions[i][1] and p.proname = functions[i][2] and p.pronargs = 0;
        if fn_oid is not null
           and pg_catalog.format_type((select p.prorettype from pg_catalog.pg_proc p where p.oid = fn_oid), null)
               <> functions[i][3] then
            problems := problems || pg_catalog.format('%s.%s() returns %s, expected %s',
                functions[i][1], functions[i][2],
                pg_catalog.format_type((select p.prorettype from pg_catalog.pg_proc p where p.oid = fn_oid), null),
                functions[i][3]);
        end if;
        fn_oid := null;
    end loop;
    if pg_catalog.cardinality(problems) > 0 then
        raise exception using
            errcode = '55000',
            message = 'pilot_bootstrap_host: the host is incompatible, nothing was created: '
                      || pg_catalog.array_to_string(problems, '; '),
            hint = 'Fix or rename the objects named above, then call pilot_bootstrap_host() again.';
    end if;

    -- 2. Create what is missing, as Supabase defines it (auth helpers) or minimally (tables).
    if not exists (select 1 from pg_catalog.pg_namespace where nspname = 'auth') then
        create schema auth;
        grant usage on schema auth to anon, authenticated, service_role;
        created := created || 'schema auth'::text;
    end if;
    if not exists (select 1 from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
                    where n.nspname = 'auth' and p.proname = 'uid' and p.pronargs = 0) then
        create function auth.uid() returns uuid language sql stable set search_path = pg_catalog, pg_temp as $$
            select coalesce(
                nullif(current_setting('request.jwt.claim.sub', true), ''),
                (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
            )::uuid
        $$;
        comment on function auth.uid() is 'The sub claim of the request''s JWT (created by pilot_bootstrap_host, as Supabase defines it).';
        created := created || 'function auth.uid()'::text;
    end if;
    if not exists (select 1 from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
                    where n.nspname = 'auth' and p.proname = 'role' and p.pronargs = 0) then
        create function auth.role() returns text language sql stable set search_path = pg_catalog, pg_temp as $$
            select coalesce(
                nullif(current_setting('request.jwt.claim.role', true), ''),
                (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
            )::text
        $$;
        comment on function auth.role() is 'The role claim of the request''s JWT (created by pilot_bootstrap_host, as Supabase defines it).';
        created := created || 'function auth.role()'::text;
    end if;
    if not exists (select 1 from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
                    where n.nspname = 'auth' and p.proname = 'jwt' and p.pronargs = 0) then
        create function auth.jwt() returns jsonb language sql stable set search_path = pg_catalog, pg_temp as $$
            select coalesce(
                nullif(current_setting('request.jwt.claim', true), ''),
                nullif(current_setting('request.jwt.claims', true), '')
            )::jsonb
        $$;
        comment on function auth.jwt() is 'The request''s JWT claims (created by pilot_bootstrap_host, as Supabase defines it).';
        created := created || 'function auth.jwt()'::text;
    end if;

    if pg_catalog.to_regclass('public.organizations') is null then
        create table public.organizations (
            id uuid primary key default gen_random_uuid(),
            name text not null default '',
            created_at timestamptz not null default now(),
            updated_at timestamptz not null default now()
        );
        comment on table public.organizations is 'Partner organizations (minimal host table created by pilot_bootstrap_host).';
        alter table public.organizations enable row level security;
        create policy organizations_read on public.organizations for select to anon, authenticated using (true);
        perform pilot_private.grant_host_table('public.organizations', 'select', 'select');
        created := created || 'table public.organizations'::text;
    end if;
    if pg_catalog.to_regclass('public.services') is null then
        create table public.services (
            id text primary key,
            name text not null default '',
            org_id uuid references public.organizations (id) on delete set null,
            verification_status text not null default 'unverified',
            published boolean not null default true,
            reviewed_by uuid,
            last_admin_review timestamptz,
            created_at timestamptz not null default now(),
            updated_at timestamptz not null default now()
        );
        comment on table public.services is 'Directory services (minimal host table created by pilot_bootstrap_host).';
        alter table public.services enable row level security;
        create policy services_read on public.services for select to anon, authenticated using (published);
        perform pilot_private.grant_host_table('public.services', 'select', 'select');
        created := created || 'table public.services'::text;
    end if;
    if pg_catalog.to_regclass('public.organization_members') is null then
        create table public.organization_members (
            id uuid primary key default gen_random_uuid(),
            organization_id uuid not null references public.organizations (id) on delete cascade,
            user_id uuid not null,
            role text not null check (role in ('owner', 'admin', 'editor', 'viewer')),
            created_at timestamptz not null default now(),
            unique (organization_id, user_id)
        );
        comment on table public.organization_members is 'Staff of partner organizations (minimal host table created by pilot_bootstrap_host).';
        create index on public.organization_members (user_id);
        alter table public.organization_members enable row level security;
        create policy organization_members_own on public.organization_members for select to authenticated
            using (user_id = (select auth.uid()));
        perform pilot_private.grant_host_table('public.organization_members', null, 'select');
        created := created || 'table public.organization_members'::text;
    end if;
    if pg_catalog.to_regclass('public.app_admins') is null then
        create table public.app_admins (
            id uuid primary key default gen_random_uuid(),
            user_id uuid not null unique,
            created_at timestamptz not null default now()
        );
        comment on table public.app_admins is 'Application administrators (minimal host table created by pilot_bootstrap_host).';
        alter table public.app_admins enable row level security;
        create policy app_admins_own on public.app_admins for select to authenticated
            using (user_id = (select auth.uid()));
        perform pilot_private.grant_host_table('public.app_admins', null, 'select');
        created := created || 'table public.app_admins'::text;
    end if;
    if not exists (select 1 from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
                    where n.nspname = 'public' and p.proname = 'is_admin' and p.pronargs = 0) then
        -- SECURITY INVOKER over the policy and grant created above: it depends on nothing of the
        -- extension and runs no code as its owner.
        create function public.is_admin() returns boolean
            language sql stable security invoker set search_path = pg_catalog, pg_temp as $$
            select exists (select 1 from public.app_admins where user_id = (select auth.uid()))
        $$;
        comment on function public.is_admin() is 'True when the caller is in app_admins (created by pilot_bootstrap_host).';
        revoke execute on function public.is_admin() from public, anon;
        grant execute on function public.is_admin() to authenticated, service_role;
        created := created || 'function public.is_admin()'::text;
    end if;
    return created;
end
$fn$;
comment on function public.pilot_bootstrap_host() is
$$Create the host objects pilot_guardrails relies on, where missing (vanilla PostgreSQL only).
Creates auth.uid(), auth.role(), auth.jwt() as Supabase defines them, and minimal organizations, services, organization_members, app_admins and is_admin(), as ordinary objects (kept by pg_dump, left by DROP EXTENSION). Idempotent: returns what it created, {} when nothing was missing. Refuses with one message naming every incompatible object, creating nothing. Not executable by API roles.$$;
-- What a 0.2.0 bootstrap created is repaired in place: recognised by its exact definition (the md5
-- of its body, and search_path ''), so that a host's own functions — Supabase's auth.uid()
-- included — are never touched. These are not extension members: PostgreSQL refuses CREATE OR
-- REPLACE of them here, so ALTER makes them safe (is_admin() keeps its body, `auth.uid()` without
-- the `(select …)` wrapper, which a function body does not need). Host tables a 0.2.0 bootstrap
-- created (recognised by the comment it gave them) lose TRUNCATE, TRIGGER and REFERENCES, which
-- its `grant all … to service_role` and any default privileges gave API roles.
do $repair$
declare
    f record;
begin
    for f in
        select p.oid::regprocedure as fn, n.nspname || '.' || p.proname as name
          from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
         where p.pronargs = 0 and p.proconfig = array['search_path=""']
           and (n.nspname, p.proname, pg_catalog.md5(p.prosrc)) in (
               ('auth', 'uid', '3af8b5b8099aff4179b987ec6050b403'),
               ('auth', 'role', '83a992fa1e4452968e94a0f2f58ea7f3'),
               ('auth', 'jwt', '8b4eb7a2aba200657683612bbf8c5ea2'),
               ('public', 'is_admin', '639ae721e6fc97e690a96e091bb4853f'))
    loop
        execute pg_catalog.format('alter function %s set search_path = pg_catalog, pg_temp', f.fn);
        if f.name = 'public.is_admin' then
            execute pg_catalog.format('alter function %s security invoker', f.fn);
        end if;
    end loop;
    for f in
        select c.oid::regclass as rel
          from pg_catalog.pg_class c
         where c.relnamespace = 'public'::regnamespace and c.relkind = 'r'
           and c.relname in ('organizations', 'services', 'organization_members', 'app_admins')
           and pg_catalog.obj_description(c.oid, 'pg_class') like '%(minimal host table created by pilot\_bootstrap\_host).'
    loop
        execute pg_catalog.format('revoke truncate, trigger, references on %s from public, anon, authenticated, service_role', f.rel);
    end loop;
end
$repair$;

-- ---------------------------------------------------------------------------------------------
-- 7. Privileges, last (SPEC §2): revoke everything from PUBLIC and the API roles, grant the matrix.

select pilot_private.reset_privileges();
