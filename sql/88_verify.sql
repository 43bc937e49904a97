-- pilot_verify(): what SPEC §3–§5 promise about the installed objects, check by check. Read-only.
-- The expectations are written out here, independently of the code that creates the objects.

create function public.pilot_verify() returns table ("check" text, ok boolean, detail text)
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

