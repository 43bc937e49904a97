-- SPEC §2, incompatible host: pilot_bootstrap_host() refuses with one message naming every
-- problem and creates nothing; a function needing the missing piece answers PT501 naming it.
\set ON_ERROR_STOP 1
\set QUIET 1
set client_min_messages = warning;
create extension pgtap;
create extension pilot_guardrails;

create table public.services (id integer primary key, verification_status text, published boolean,
                              reviewed_by uuid, last_admin_review timestamptz, updated_at timestamptz);
create table public.organization_members (organization_id uuid, user_id uuid);
create function public.is_admin() returns text language sql as $$ select 'yes' $$;

select plan(9);

select row((select count(*) from pg_class), (select count(*) from pg_proc), (select count(*) from pg_namespace))::text as catalog_before \gset
select throws_ok('select pilot_bootstrap_host()', '55000',
    'pilot_bootstrap_host: the host is incompatible, nothing was created: '
    || 'public.services.id is integer, expected text; '
    || 'public.organization_members has no column role (text); '
    || 'public.is_admin() returns text, expected boolean',
    'the refusal names every problem in one message');
select is(row((select count(*) from pg_class), (select count(*) from pg_proc), (select count(*) from pg_namespace))::text,
          :'catalog_before', 'the refusal created nothing');
select hasnt_schema('auth', 'no auth schema was created');
select hasnt_table('public', 'organizations', 'no organizations table was created');
select hasnt_table('public', 'app_admins', 'no app_admins table was created');

select set_config('request.jwt.claims', '{"sub":"22222222-2222-4222-8222-222222222222"}', false);
select throws_ok('select pilot_private.member_orgs(true)', 'PT501',
                 'pilot storage missing: column public.organization_members.role does not exist',
                 'member_orgs() answers PT501 naming the missing column');
select throws_ok('select pilot_private.member_orgs(false)', 'PT501', null,
                 'even without the role filter, the incomplete table answers PT501 (checked before the query)');
select throws_ok($$select pilot_private.host_row_exists('service', 'svc-1')$$, 'PT501',
                 'pilot storage missing: public.services.id is integer, expected text',
                 'a services.id of the wrong type answers PT501 naming the column and both types');
select throws_ok('select pilot_private.is_admin()', 'PT501',
                 'pilot storage missing: relation "public.app_admins" does not exist',
                 'is_admin() answers PT501 naming the missing table');

select * from finish();
