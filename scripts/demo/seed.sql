-- Demo data for scripts/demo.sh: two partner organizations, their staff, a few services, an app
-- admin, and PostgREST's login role. Runs after pilot_bootstrap_host() on a vanilla database.
insert into public.organizations (id, name) values
    ('a0000000-0000-4000-8000-00000000000a', 'Harbor Family Services'),
    ('b0000000-0000-4000-8000-00000000000b', 'Northside Food Bank');
insert into public.services (id, name, verification_status, org_id) values
    ('svc-shelter', 'Emergency shelter intake', 'L2', 'a0000000-0000-4000-8000-00000000000a'),
    ('svc-legal', 'Tenant legal aid', 'L3', 'a0000000-0000-4000-8000-00000000000a'),
    ('svc-food', 'Weekly food pantry', 'L1', 'b0000000-0000-4000-8000-00000000000b'),
    ('svc-benefits', 'Benefits screening', 'L1', 'b0000000-0000-4000-8000-00000000000b');
insert into public.organization_members (organization_id, user_id, role) values
    ('a0000000-0000-4000-8000-00000000000a', '22222222-2222-4222-8222-222222222222', 'editor'),
    ('b0000000-0000-4000-8000-00000000000b', '44444444-4444-4444-8444-444444444444', 'owner');
insert into public.app_admins (user_id) values ('11111111-1111-4111-8111-111111111111');
do $$
begin
    if not exists (select 1 from pg_roles where rolname = 'authenticator') then
        create role authenticator login noinherit;
    end if;
end
$$;
grant anon, authenticated, service_role to authenticator;

-- The pilot cycle and its cohorts are registered first (SPEC §14), as a backend job would.
set role service_role;
select set_config('request.jwt.claims', '{"role":"service_role"}', false);
select pilot_register_cycle('{"id": "cycle-2026-q2", "starts_on": "2026-04-01", "ends_on": "2026-06-30"}');
select count(pilot_register_cohort(jsonb_build_object('pilot_cycle_id', 'cycle-2026-q2', 'label', 'cohort-' || i)))
  from generate_series(0, 2) i;
reset role;
select set_config('request.jwt.claims', '', false);
