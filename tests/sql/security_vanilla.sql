-- SPEC §2 threat model on vanilla PostgreSQL with pilot_bootstrap_host(): the attacks of
-- tests/sql/include/security_attacks.sql, and the host functions the bootstrap created.
\set ON_ERROR_STOP 1
\set QUIET 1
set client_min_messages = warning;
create extension pgtap;
create extension pilot_guardrails;
\i tests/fixtures/cycles.sql
select pilot_bootstrap_host() \gset
insert into organizations (id, name) values ('a0000000-0000-4000-8000-00000000000a', 'A');
insert into services (id, name, verification_status, org_id) values ('svc-shelter', 'Shelter', 'L2', 'a0000000-0000-4000-8000-00000000000a');
insert into app_admins (user_id) values ('11111111-1111-4111-8111-111111111111');
insert into organization_members (organization_id, user_id, role)
     values ('a0000000-0000-4000-8000-00000000000a', '22222222-2222-4222-8222-222222222222', 'editor');

select plan(26);
\i tests/sql/include/security_attacks.sql

-- The host functions the bootstrap created: pg_temp last, is_admin() SECURITY INVOKER.
select is((select string_agg(format('%s %s %s', p.oid::regprocedure, p.prosecdef, p.proconfig), ', ' order by p.oid::regprocedure::text)
             from pg_proc p where p.oid in ('auth.uid()'::regprocedure, 'auth.role()'::regprocedure,
                                            'auth.jwt()'::regprocedure, 'public.is_admin()'::regprocedure)),
          'auth.jwt() f {"search_path=pg_catalog, pg_temp"}, auth.role() f {"search_path=pg_catalog, pg_temp"}, '
          'auth.uid() f {"search_path=pg_catalog, pg_temp"}, is_admin() f {"search_path=pg_catalog, pg_temp"}'::pg_catalog.text,
          'bootstrapped host functions: SECURITY INVOKER, search_path pg_catalog, pg_temp');
set role authenticated;
set attack.armed = on;
select pg_temp.attempt('host is_admin: admin', :'admin', $q$insert into pg_temp.outcome select 'is_admin says', public.is_admin()::pg_catalog.text$q$);
select pg_temp.attempt('host is_admin: outsider', :'nobody', $q$insert into pg_temp.outcome select 'is_admin says for nobody', public.is_admin()::pg_catalog.text$q$);
select pg_temp.attempt('host auth.uid', :'editor', $q$select auth.uid(), auth.role(), auth.jwt()$q$);
set attack.armed = off;
reset role;
select is((select last_value from pg_temp.ran_as_other_role where is_called), null,
          'the host functions ran no attacker code as another role');
select is((select result from pg_temp.outcome where label = 'is_admin says'), 'true', 'is_admin() as invoker: true for the admin');
select is((select result from pg_temp.outcome where label = 'is_admin says for nobody'), 'false',
          'and false for the outsider, whatever a temporary app_admins says');
select is((select result from pg_temp.outcome where label = 'host auth.uid'), 'ok', 'auth.uid(), auth.role(), auth.jwt()');
select * from finish();
