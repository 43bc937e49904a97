-- SPEC §2, §4, postgrest-contract.md §4–§5 on the host fixture, whose default privileges grant
-- anon everything new in public: anon holds nothing of the extension's tables, and nothing of the
-- extension that anon can execute is SECURITY DEFINER; every SECURITY DEFINER function has a fixed
-- search_path; policies use the (select ...) form and only pilot_private helpers.
\set ON_ERROR_STOP 1
\set QUIET 1
set client_min_messages = warning;
\i tests/fixtures/host_baseline.sql
create extension pgtap;
create extension pilot_guardrails;

select plan(11);

create temp view ext_members as
select d.classid, d.objid from pg_depend d
 where d.refclassid = 'pg_extension'::regclass and d.deptype = 'e'
   and d.refobjid = (select oid from pg_extension where extname = 'pilot_guardrails');

select is((select count(*)::int from ext_members m join pg_class c on c.oid = m.objid
            where m.classid = 'pg_class'::regclass and c.relkind = 'r'), 18,
          'eighteen tables: the nine pilot tables, registered cycles and cohorts, the audit trail, the settings, rate counters, idempotency keys, the pseudonym key and the scorecard''s maintained counts and people');
select is((select array_agg(c.relname::text order by c.relname)
             from ext_members m join pg_class c on c.oid = m.objid
            where m.classid = 'pg_class'::regclass and c.relkind = 'r'
              and (has_table_privilege('anon', c.oid, 'select, insert, update, delete, truncate, references, trigger')
                   or has_any_column_privilege('anon', c.oid, 'select, insert, update, references'))),
          null, 'anon holds no privilege on any pilot table, despite the default privileges');
select is((select array_agg(c.relname::text order by c.relname)
             from ext_members m join pg_class c on c.oid = m.objid
            where m.classid = 'pg_class'::regclass and c.relkind = 'r' and not c.relrowsecurity),
          null, 'row-level security is enabled on every pilot table');
select is((select array_agg(p.oid::regprocedure::text order by 1)
             from ext_members m join pg_proc p on p.oid = m.objid
            where m.classid = 'pg_proc'::regclass and p.prosecdef and has_function_privilege('anon', p.oid, 'execute')),
          null, 'nothing anon can execute is SECURITY DEFINER');
select is((select array_agg(p.oid::regprocedure::text order by 1)
             from ext_members m join pg_proc p on p.oid = m.objid
            where m.classid = 'pg_proc'::regclass and has_function_privilege('anon', p.oid, 'execute')),
          null, 'anon can execute no function of the extension at all');
select is((select array_agg(p.oid::regprocedure::text order by 1)
             from ext_members m join pg_proc p on p.oid = m.objid
            where m.classid = 'pg_proc'::regclass and p.prosecdef
              and not coalesce('search_path=pg_catalog, pg_temp' = any (p.proconfig), false)),
          null, 'every SECURITY DEFINER function has search_path pg_catalog, pg_temp');
select is((select array_agg(p.oid::regprocedure::text order by 1)
             from ext_members m join pg_proc p on p.oid = m.objid
            where m.classid = 'pg_proc'::regclass and p.prosecdef and p.pronamespace = 'public'::regnamespace),
          null, 'no SECURITY DEFINER function in the exposed schema public');
select is((select array_agg(format('%s.%s', tablename, policyname) order by 1) from pg_policies
            where tablename like any (array['pilot%', 'service_operational%'])
              and (coalesce(qual, '') || coalesce(with_check, '')) ~ '(auth\.|public\.|(^|[^._a-z])is_admin\(|organization_members|app_admins)'),
          null, 'policies never name a host table, auth.* or the host''s is_admin()');
select is((select array_agg(format('%s.%s', tablename, policyname) order by 1) from pg_policies
            where tablename like any (array['pilot%', 'service_operational%'])
              and ((coalesce(qual, '') || coalesce(with_check, '')) ~ 'pilot_private\.(is_admin|member_orgs|uid)\('
                   and (coalesce(qual, '') || coalesce(with_check, '')) !~ '\( SELECT (COALESCE\()?pilot_private\.'
                   or roles <> '{authenticated}')),
          null, 'policies are TO authenticated and call helpers as (select ...)');
select is((select array_agg(r order by r) from unnest(array['anon', 'authenticated', 'service_role']) r
            where has_function_privilege(r, 'public.pilot_bootstrap_host()', 'execute')),
          null, 'pilot_bootstrap_host() is executable by no API role on the host fixture');
select is((select array_agg(format('%s %s', p.proname, r) order by 1)
             from pg_proc p cross join unnest(array['anon', 'authenticated', 'service_role']) r
            where p.pronamespace = 'public'::regnamespace and p.proname like 'pilot_record%'
              and has_function_privilege(r, p.oid, 'execute') <> (r <> 'anon')),
          null, 'every recorder: EXECUTE for authenticated and service_role, none for anon (despite default privileges)');
select * from finish();
