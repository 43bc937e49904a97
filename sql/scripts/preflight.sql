-- Preflight: run against any database BEFORE installing pilot_guardrails. Reports, item by item,
-- whether SPEC §2's host contract holds, will be provided (by CREATE EXTENSION or by
-- pilot_bootstrap_host()), or is a PROBLEM; changes nothing (one read-only transaction, rolled
-- back). Exits non-zero when there is a problem:
--   psql -v ON_ERROR_STOP=1 -f sql/scripts/preflight.sql "<connection string>"
\set ON_ERROR_STOP 1
\pset footer off
begin transaction read only;

with
contract(tbl, col, typ) as (values
    ('organizations', 'id', 'uuid'),
    ('services', 'id', 'text'), ('services', 'verification_status', 'text'), ('services', 'published', 'boolean'),
    ('services', 'reviewed_by', 'uuid'), ('services', 'last_admin_review', 'timestamp with time zone'),
    ('services', 'updated_at', 'timestamp with time zone'),
    ('organization_members', 'organization_id', 'uuid'), ('organization_members', 'user_id', 'uuid'),
    ('organization_members', 'role', 'text'),
    ('app_admins', 'user_id', 'uuid')),
functions(nsp, fn, typ) as (values ('auth', 'uid', 'uuid'), ('auth', 'role', 'text'), ('auth', 'jwt', 'jsonb'),
                                   ('public', 'is_admin', 'boolean')),
ours(nsp, name) as (values ('public', 'pilot_contact_attempt_events'), ('public', 'pilot_referral_events'),
                           ('public', 'pilot_metric_snapshots'), ('public', 'pilot_integration_feasibility_decisions'),
                           ('public', 'pilot_connection_events'), ('public', 'pilot_service_scope'),
                           ('public', 'service_operational_status_events'), ('public', 'pilot_data_decay_audits'),
                           ('public', 'pilot_preference_fit_events')),
items(n, item, status, detail) as (
    select 1, 'PostgreSQL version', case when current_setting('server_version_num')::int >= 150000 then 'ok' else 'PROBLEM' end,
           current_setting('server_version')
    union all
    select 2, 'extension files installed',
           case when exists (select 1 from pg_available_extensions where name = 'pilot_guardrails') then 'ok' else 'PROBLEM' end,
           coalesce((select 'default version ' || default_version || coalesce(', installed ' || installed_version, '')
                       from pg_available_extensions where name = 'pilot_guardrails'),
                    'pilot_guardrails.control not found: build and install it (cargo pgrx install)')
    union all
    select 3, 'installing role is a superuser',
           case when (select rolsuper from pg_roles where rolname = current_user) then 'ok' else 'PROBLEM' end,
           current_user || ' (the extension creates event triggers and roles)'
    union all
    select 4, 'role ' || r,
           case when not exists (select 1 from pg_roles where rolname = r) then 'will be created'
                when r = 'service_role' and not (select rolbypassrls from pg_roles where rolname = r) then 'PROBLEM'
                else 'ok' end,
           case when not exists (select 1 from pg_roles where rolname = r) then 'CREATE EXTENSION creates it'
                when r = 'service_role' and not (select rolbypassrls from pg_roles where rolname = r)
                     then 'service_role exists without BYPASSRLS: backend jobs would be refused by row-level security'
                else 'exists' end
      from unnest(array['anon', 'authenticated', 'service_role']) r
    union all
    select 5, format('public.%s.%s (%s)', c.tbl, c.col, c.typ),
           case when to_regclass('public.' || c.tbl) is null then 'will be created'
                when a.typ is null then 'PROBLEM'
                when a.typ <> c.typ then 'PROBLEM'
                else 'ok' end,
           case when to_regclass('public.' || c.tbl) is null then 'table missing: select pilot_bootstrap_host() creates it'
                when a.typ is null then 'column missing: pilot_bootstrap_host() refuses and calls answer PT501'
                when a.typ <> c.typ then 'is ' || a.typ
                else 'present' end
      from contract c
      left join lateral (select format_type(at.atttypid, at.atttypmod) as typ from pg_attribute at
                          where at.attrelid = to_regclass('public.' || c.tbl) and at.attname = c.col
                            and at.attnum > 0 and not at.attisdropped) a on true
    union all
    select 6, format('%s.%s() returns %s', f.nsp, f.fn, f.typ),
           case when p.typ is null then 'will be created' when p.typ <> f.typ then 'PROBLEM' else 'ok' end,
           case when p.typ is null then 'missing: select pilot_bootstrap_host() creates it'
                when p.typ <> f.typ then 'returns ' || p.typ else 'present' end
      from functions f
      left join lateral (select format_type(pr.prorettype, null) as typ from pg_proc pr join pg_namespace ns on ns.oid = pr.pronamespace
                          where ns.nspname = f.nsp and pr.proname = f.fn and pr.pronargs = 0) p on true
    union all
    select 7, 'legacy public.bulk_update_service_status',
           case when to_regprocedure('public.bulk_update_service_status(text[],text,boolean,uuid)') is null then 'ok'
                when exists (select 1 from pg_depend d
                              where d.refobjid = to_regprocedure('public.bulk_update_service_status(text[],text,boolean,uuid)')
                                and d.deptype = 'n') then 'PROBLEM'
                else 'will be replaced' end,
           case when to_regprocedure('public.bulk_update_service_status(text[],text,boolean,uuid)') is null then 'absent'
                when exists (select 1 from pg_depend d
                              where d.refobjid = to_regprocedure('public.bulk_update_service_status(text[],text,boolean,uuid)')
                                and d.deptype = 'n') then 'other objects depend on it: the install cannot drop it'
                else 'present: the install replaces it with the hardened version (admins from app_admins only)' end
    union all
    select 8, 'name free: ' || o.nsp || '.' || o.name,
           case when to_regclass(o.nsp || '.' || o.name) is null then 'ok' else 'PROBLEM' end,
           case when to_regclass(o.nsp || '.' || o.name) is null then 'free'
                else 'a relation of this name exists (not the extension''s): the install would fail' end
      from ours o
     where not exists (select 1 from pg_extension where extname = 'pilot_guardrails')
    union all
    select 9, 'schema pilot_private free',
           case when not exists (select 1 from pg_namespace where nspname = 'pilot_private')
                     or exists (select 1 from pg_extension where extname = 'pilot_guardrails') then 'ok' else 'PROBLEM' end,
           case when exists (select 1 from pg_extension where extname = 'pilot_guardrails') then 'the extension is already installed'
                when exists (select 1 from pg_namespace where nspname = 'pilot_private') then 'a schema pilot_private exists'
                else 'free' end
    union all
    select 10, 'schema extensions', 'info',
           case when exists (select 1 from pg_namespace where nspname = 'extensions')
                then 'exists: CREATE EXTENSION pilot_guardrails WITH SCHEMA extensions works (the API still lands in public)'
                else 'absent: install with plain CREATE EXTENSION pilot_guardrails' end
)
-- The count of problems rides along in a transaction-local setting, read by the check below.
select item, status, detail
  from (select n, item, status, detail,
               set_config('pilot_guardrails.preflight_problems',
                          (count(*) filter (where status = 'PROBLEM') over ())::text, true) as counted
          from items) s
 order by n, item;

do $$
declare
    problems int := current_setting('pilot_guardrails.preflight_problems')::int;
begin
    if problems > 0 then
        raise exception 'preflight: % problem(s): see the items marked PROBLEM above', problems;
    end if;
    raise notice 'preflight: ready to install pilot_guardrails';
end
$$;
rollback;
