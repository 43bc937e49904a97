-- SPEC §2, vanilla PostgreSQL 15: CREATE EXTENSION on a fresh database, then pilot_bootstrap_host().
\set ON_ERROR_STOP 1
\set QUIET 1
set client_min_messages = warning;
create extension pgtap;
create extension pilot_guardrails;

select plan(33);

-- The install creates the API roles when missing, as Supabase defines them.
select ok(exists (select 1 from pg_roles where rolname = 'anon' and not rolcanlogin), 'role anon exists, NOLOGIN');
select ok(exists (select 1 from pg_roles where rolname = 'authenticated' and not rolcanlogin), 'role authenticated exists, NOLOGIN');
select ok(exists (select 1 from pg_roles where rolname = 'service_role' and rolbypassrls), 'role service_role exists, BYPASSRLS');

-- It creates its own objects only: no host table or function yet.
select has_function('public', 'pilot_validate', array['text', 'jsonb'], 'pilot_validate(text, jsonb) is in public');
select has_function('public', 'pilot_disallowed_key_paths', array['jsonb'], 'pilot_disallowed_key_paths(jsonb) is in public');
select has_schema('pilot_private', 'internal helpers live in pilot_private');
select hasnt_table('public', 'services', 'no services table before bootstrap');
select hasnt_table('public', 'organizations', 'no organizations table before bootstrap');
select hasnt_schema('auth', 'no auth schema before bootstrap');

-- Helpers reach host tables only when called: without them, an explicit PT501 naming the table.
select set_config('request.jwt.claims', '{"sub":"22222222-2222-4222-8222-222222222222","role":"authenticated"}', false);
select throws_ok('select pilot_private.is_admin()', 'PT501',
                 'pilot storage missing: relation "public.app_admins" does not exist',
                 'is_admin() without app_admins answers PT501 naming it');
select throws_ok('select pilot_private.member_orgs(true)', 'PT501',
                 'pilot storage missing: relation "public.organization_members" does not exist',
                 'member_orgs() without organization_members answers PT501 naming it');
select throws_ok($$select pilot_private.host_row_exists('service', 'svc-1')$$, 'PT501',
                 'pilot storage missing: relation "public.services" does not exist',
                 'host_row_exists() without services answers PT501 naming it');

-- Bootstrap provides the rest of the host contract.
select is(pilot_bootstrap_host(),
          array['schema auth', 'function auth.uid()', 'function auth.role()', 'function auth.jwt()',
                'table public.organizations', 'table public.services', 'table public.organization_members',
                'table public.app_admins', 'function public.is_admin()'],
          'pilot_bootstrap_host() creates every missing host object and says so');
select has_table('public', 'services', 'services exists after bootstrap');
select col_type_is('public', 'services', 'id', 'text', 'services.id is text');
select col_type_is('public', 'organization_members', 'role', 'text', 'organization_members.role is text');
select has_function('auth', 'uid', 'auth.uid() exists');
select has_function('public', 'is_admin', 'is_admin() exists');

-- They are ordinary objects, not extension members (pg_dump keeps them, DROP EXTENSION leaves them).
select is((select count(*)::int from pg_depend d
            where d.refclassid = 'pg_extension'::regclass
              and d.refobjid = (select oid from pg_extension where extname = 'pilot_guardrails')
              and d.deptype = 'e'
              and ((d.classid = 'pg_class'::regclass and d.objid in ('public.services'::regclass, 'public.organizations'::regclass,
                                                                     'public.organization_members'::regclass, 'public.app_admins'::regclass))
                or (d.classid = 'pg_proc'::regclass and d.objid in ('auth.uid()'::regprocedure, 'public.is_admin()'::regprocedure)))),
          0, 'bootstrapped objects are not extension members');

-- auth.uid()/role()/jwt() read request.jwt.claims as Supabase's do.
select is(auth.uid(), '22222222-2222-4222-8222-222222222222'::uuid, 'auth.uid() reads the sub claim');
select is(auth.role(), 'authenticated', 'auth.role() reads the role claim');
select is(auth.jwt() ->> 'sub', '22222222-2222-4222-8222-222222222222', 'auth.jwt() returns the claims');

-- A sub that is not a uuid counts as not signed in (the helpers never fail on it).
select set_config('request.jwt.claims', '{"sub":"not-a-uuid"}', false);
select is(pilot_private.uid(), null, 'a non-uuid sub is not signed in');
select set_config('request.jwt.claims', 'not json', false);
select is(pilot_private.uid(), null, 'claims that are not JSON are not signed in');
select set_config('request.jwt.claims', '{"sub":"22222222-2222-4222-8222-222222222222"}', false);

-- With the host tables, the helpers answer from them.
insert into organizations (id, name) values ('a0000000-0000-4000-8000-00000000000a', 'A');
insert into organization_members (organization_id, user_id, role)
     values ('a0000000-0000-4000-8000-00000000000a', '22222222-2222-4222-8222-222222222222', 'viewer');
select is(pilot_private.member_orgs(false), array['a0000000-0000-4000-8000-00000000000a'::uuid], 'member_orgs() lists the membership');
select is(pilot_private.member_orgs(true), '{}'::uuid[], 'a viewer is not a writer');
select is(pilot_private.is_admin(), false, 'not an admin');

-- Idempotent: a second call creates nothing and changes no catalog entry.
select row((select count(*) from pg_class), (select count(*) from pg_proc), (select count(*) from pg_policy),
           (select md5(string_agg(oid::text, ',' order by oid)) from pg_class))::text as catalog_before \gset
select is(pilot_bootstrap_host(), '{}'::text[], 'a second pilot_bootstrap_host() creates nothing');
select is(:'catalog_before',
          row((select count(*) from pg_class), (select count(*) from pg_proc), (select count(*) from pg_policy),
              (select md5(string_agg(oid::text, ',' order by oid)) from pg_class))::text,
          'the catalog is unchanged by the second call');

-- No API role may run it.
select ok(not has_function_privilege('anon', 'public.pilot_bootstrap_host()', 'execute')
          and not has_function_privilege('authenticated', 'public.pilot_bootstrap_host()', 'execute')
          and not has_function_privilege('service_role', 'public.pilot_bootstrap_host()', 'execute'),
          'pilot_bootstrap_host() is executable by no API role');

select is((select count(*)::int from pilot_verify() where not ok), 0, 'pilot_verify() is all ok on a fresh bootstrapped install');

-- DROP EXTENSION leaves the bootstrapped host in place, rows included.
drop extension pilot_guardrails;
select has_table('public', 'organizations', 'organizations survives DROP EXTENSION');
select is((select count(*)::int from organization_members), 1, 'host rows survive DROP EXTENSION');

select * from finish();
