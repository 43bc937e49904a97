-- SPEC §5 on vanilla PostgreSQL with pilot_bootstrap_host().
\set ON_ERROR_STOP 1
\set QUIET 1
set client_min_messages = warning;
\i tests/fixtures/snapshot.sql
create extension pgtap;
create extension pilot_guardrails;
select pilot_bootstrap_host() \gset
insert into organizations (id, name) values ('a0000000-0000-4000-8000-00000000000a', 'A');
insert into services (id, name, verification_status, org_id) values
    ('svc-shelter', 'Shelter', 'L2', 'a0000000-0000-4000-8000-00000000000a'),
    ('svc-food', 'Food', 'L1', 'a0000000-0000-4000-8000-00000000000a'),
    ('svc-legal', 'Legal', 'L3', 'a0000000-0000-4000-8000-00000000000a');
insert into app_admins (user_id) values ('11111111-1111-4111-8111-111111111111');
insert into organization_members (organization_id, user_id, role)
     values ('a0000000-0000-4000-8000-00000000000a', '22222222-2222-4222-8222-222222222222', 'editor');

select plan(24);
\i tests/sql/include/bulk_update_cases.sql
select * from finish();
