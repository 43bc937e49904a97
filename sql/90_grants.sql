-- Privileges, last (SPEC §2's matrix, §4, postgrest-contract.md §4–§5).
--
-- On Supabase, default privileges grant anon, authenticated and service_role everything the
-- installing role creates in `public` — TRUNCATE (which ignores row-level security), TRIGGER and
-- REFERENCES included — and re-grant on every CREATE, never on ALTER. So every install and every
-- upgrade script ends the same way: revoke everything from PUBLIC and the three API roles on every
-- table, sequence and function of the extension, then grant back exactly the matrix below.
-- pilot_verify() compares the installed ACLs with the same matrix, exactly.

-- The matrix: what each API role holds on each object of the extension; everything not listed is
-- held by nobody but the owner. Functions are named by their regprocedure text.
create function pilot_private.privilege_matrix()
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

-- Revoke everything from PUBLIC and the API roles, then grant the matrix. Run by every install and
-- upgrade script as its last step; owner only.
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

select pilot_private.reset_privileges();
