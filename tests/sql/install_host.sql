-- SPEC §2 on a Supabase-shaped host (tests/fixtures/host_baseline.sql): the extension uses the
-- host's objects as they are and never harms them.
\set ON_ERROR_STOP 1
\set QUIET 1
set client_min_messages = warning;
\i tests/fixtures/host_baseline.sql
\i tests/fixtures/snapshot.sql
create extension pgtap;
create temp table snap as select test_support.host_snapshot() as before;

create extension pilot_guardrails;

select plan(12);

select is((select count(*)::int from pg_class where relname = 'services' and relkind = 'r'), 1,
          'exactly one services table exists after install');
select is((select count(*)::int from pg_class where relname = 'organizations' and relkind = 'r'), 1,
          'exactly one organizations table exists after install');
select is(test_support.host_snapshot() - 'functions', (select before - 'functions' from snap),
          'host rows, policies, grants, columns and RLS flags are unchanged by CREATE EXTENSION');
select is(test_support.host_snapshot() -> 'functions', (select before -> 'functions' from snap),
          'auth.uid(), auth.role(), auth.jwt() and is_admin() are unchanged');
select is(pilot_bootstrap_host(), '{}'::text[], 'on a complete host, pilot_bootstrap_host() has nothing to create');

-- The helpers read the host's own tables, whatever its policies hide from the caller.
select set_config('request.jwt.claims', '{"sub":"22222222-2222-4222-8222-222222222222","role":"authenticated"}', false);
set role authenticated;
select is(pilot_private.member_orgs(true), array['a0000000-0000-4000-8000-00000000000a'::uuid],
          'an editor of A is a writer of A (read through the host table)');
select ok(pilot_private.host_row_exists('service', 'svc-clinic'),
          'an unpublished service exists for the host-row check, though host RLS hides it from the caller');
select is((select count(*)::int from public.services where id = 'svc-clinic'), 0, '(host RLS does hide it from the caller)');
reset role;
select set_config('request.jwt.claims', '{"sub":"11111111-1111-4111-8111-111111111111","role":"authenticated"}', false);
select ok(pilot_private.is_admin(), 'the app admin is an admin');
select set_config('request.jwt.claims', '{"sub":"55555555-5555-4555-8555-555555555555","role":"authenticated","user_metadata":{"role":"admin"}}', false);
select ok(not pilot_private.is_admin(), 'a user_metadata claim does not make an admin');

drop extension pilot_guardrails;
select is(test_support.host_snapshot() - 'functions', (select before - 'functions' from snap),
          'DROP EXTENSION leaves every host table, row, policy and grant in place');
select hasnt_schema('pilot_private', 'DROP EXTENSION removes pilot_private');

select * from finish();
