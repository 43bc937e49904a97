-- SPEC §4: the row-level security matrix, data-driven: personas × tables × {select, insert,
-- update, delete}. Identity is set exactly as PostgREST sets it (set_config('role', …, true),
-- set_config('request.jwt.claims', …, true)). Each cell asserts the real effect — rows seen, the
-- insert refused with 42501, the update or delete touching 0 rows or 1 — and is rolled back.
-- The expected outcome of each cell is derived from SPEC §4's table, written out below.
\set ON_ERROR_STOP 1
\set QUIET 1
set client_min_messages = warning;
\i tests/fixtures/host_baseline.sql
\i tests/fixtures/snapshot.sql
create extension pgtap;
create extension pilot_guardrails;
\i tests/fixtures/cycles.sql
\i tests/fixtures/pilot_rows.sql

create temp table personas (name text, role text, claims jsonb, anon bool, backend bool, admin bool, member_a bool, writer_a bool,
                             member_any bool);
insert into personas values
    ('anon',                 'anon',          '{"role":"anon"}', true, false, false, false, false, false),
    ('no membership',        'authenticated', '{"role":"authenticated","sub":"55555555-5555-4555-8555-555555555555"}', false, false, false, false, false, false),
    ('viewer of A',          'authenticated', '{"role":"authenticated","sub":"33333333-3333-4333-8333-333333333333"}', false, false, false, true, false, true),
    ('editor of A',          'authenticated', '{"role":"authenticated","sub":"22222222-2222-4222-8222-222222222222"}', false, false, false, true, true, true),
    ('owner of B on A rows', 'authenticated', '{"role":"authenticated","sub":"44444444-4444-4444-8444-444444444444"}', false, false, false, false, false, true),
    ('app admin',            'authenticated', '{"role":"authenticated","sub":"11111111-1111-4111-8111-111111111111"}', false, false, true, false, false, false),
    ('service_role',         'service_role',  '{"role":"service_role"}', false, true, false, false, false, false);
-- registered cycles and cohorts (SPEC §14) that nothing references, to update and delete
insert into pilot_cycles (id, starts_on, ends_on) values ('rls-victim', '2026-01-01', '2026-03-31');
insert into pilot_cohorts (id, pilot_cycle_id, label) values ('60000000-0000-4000-8000-000000000001', 'cycle-2', 'rls-victim');

-- shape: events | snapshots | decisions (SPEC §4); victim: the A row updated and deleted; insert: a new A row.
create temp table pilot_tables (name text, shape text, victim text, insert_sql text, a_rows bigint);
insert into pilot_tables values
    ('pilot_contact_attempt_events', 'events', 'c0000000-0000-4000-8000-000000000001',
     $$insert into public.pilot_contact_attempt_events (pilot_cycle_id, service_id, recorded_by_org_id, entity_key_hash,
         attempt_channel, attempt_outcome, attempted_at)
       values ('cycle-1', 'svc-shelter', 'a0000000-0000-4000-8000-00000000000a', repeat('ef', 32), 'email', 'connected', now())$$),
    ('pilot_referral_events', 'events', 'd0000000-0000-4000-8000-000000000001',
     $$insert into public.pilot_referral_events (pilot_cycle_id, source_org_id, target_service_id)
       values ('cycle-1', 'a0000000-0000-4000-8000-00000000000a', 'svc-legal')$$),
    ('pilot_connection_events', 'events', '10000000-0000-4000-8000-000000000001',
     $$insert into public.pilot_connection_events (pilot_cycle_id, org_id, service_id, connected_at, contact_attempt_event_id)
       values ('cycle-1', 'a0000000-0000-4000-8000-00000000000a', 'svc-shelter', now(), 'c0000000-0000-4000-8000-000000000001')$$),
    ('pilot_service_scope', 'events', '20000000-0000-4000-8000-000000000001',
     $$insert into public.pilot_service_scope (pilot_cycle_id, org_id, service_id, sla_tier)
       values ('cycle-1', 'a0000000-0000-4000-8000-00000000000a', 'svc-legal', 'standard')$$),
    ('service_operational_status_events', 'events', '30000000-0000-4000-8000-000000000001',
     $$insert into public.service_operational_status_events (pilot_cycle_id, org_id, service_id, checked_at, status_code)
       values ('cycle-1', 'a0000000-0000-4000-8000-00000000000a', 'svc-shelter', now(), 'closed')$$),
    ('pilot_data_decay_audits', 'events', '40000000-0000-4000-8000-000000000001',
     $$insert into public.pilot_data_decay_audits (pilot_cycle_id, org_id, service_id, audited_at, is_fatal,
         fatal_error_category, verification_mode)
       values ('cycle-1', 'a0000000-0000-4000-8000-00000000000a', 'svc-shelter', now(), true, 'wrong_or_disconnected_phone', 'web_plus_call')$$),
    ('pilot_preference_fit_events', 'events', '50000000-0000-4000-8000-000000000001',
     $$insert into public.pilot_preference_fit_events (pilot_cycle_id, org_id, cohort_label, recorded_at, preferred_via_platform)
       values ('cycle-1', 'a0000000-0000-4000-8000-00000000000a', 'cohort-b', now(), false)$$),
    ('pilot_metric_snapshots', 'snapshots', 'e0000000-0000-4000-8000-000000000001',
     $$insert into public.pilot_metric_snapshots (pilot_cycle_id, org_id, metric_id, metric_value)
       values ('cycle-1', 'a0000000-0000-4000-8000-00000000000a', 'M3', 1)$$),
    ('pilot_integration_feasibility_decisions', 'decisions', 'f0000000-0000-4000-8000-000000000001',
     $$insert into public.pilot_integration_feasibility_decisions (decision, decision_date, redline_checklist_version, owners)
       values ('go', '2026-07-01', 'v2', '{team-b}')$$),
    ('pilot_cycles', 'registry', null,
     $$insert into public.pilot_cycles (id, starts_on, ends_on) values ('rls-new', '2026-01-01', '2026-02-01')$$),
    ('pilot_cohorts', 'registry', '60000000-0000-4000-8000-000000000001',
     $$insert into public.pilot_cohorts (pilot_cycle_id, label) values ('cycle-2', 'rls-new')$$);

-- Every row of these tables belongs to organization A (pilot_rows.sql): count them.
do $$
declare
    r record;
    n bigint;
begin
    for r in select name from pilot_tables loop
        execute format('select count(*) from public.%I', r.name) into n;
        update pilot_tables set a_rows = n where name = r.name;
    end loop;
end
$$;

create temp table cells as
select p.name as persona, t.name as tbl, op,
       test_support.try_as(p.role, p.claims, op,
           case op
               when 'select' then format('select count(*) from public.%I', t.name)
               when 'insert' then t.insert_sql
               when 'update' then format('update public.%I set id = id where id::text = %L', t.name, coalesce(t.victim, 'rls-victim'))
               when 'delete' then format('delete from public.%I where id::text = %L', t.name, coalesce(t.victim, 'rls-victim'))
           end) as got,
       case
           when p.anon then 'error:42501'
           when op = 'select' and t.shape = 'registry' then
               case when p.backend or p.admin or p.member_any then 'rows:' || t.a_rows else 'rows:0' end
           -- registrations (SPEC §14): app admins write
           when t.shape = 'registry' and op = 'insert' then case when p.backend or p.admin then 'inserted' else 'error:42501' end
           when t.shape = 'registry' then case when p.backend or p.admin then 'rows:1' else 'rows:0' end
           when op = 'select' then
               case when p.backend or p.admin or (t.shape <> 'decisions' and p.member_a)
                    then 'rows:' || t.a_rows else 'rows:0' end
           -- snapshots (SPEC §10.4): authenticated holds SELECT only; pilot_recompute_metrics writes them
           when t.shape = 'snapshots' and op <> 'select' and not p.backend then 'error:42501'
           when op = 'insert' then
               case when p.backend or p.admin or (t.shape <> 'decisions' and p.writer_a) then 'inserted' else 'error:42501' end
           when op = 'update' then
               case when p.backend or p.admin or (t.shape = 'events' and p.writer_a) then 'rows:1' else 'rows:0' end
           when op = 'delete' then
               case when p.backend or p.admin then 'rows:1' else 'rows:0' end
       end as expected
  from personas p cross join pilot_tables t cross join unnest(array['select', 'insert', 'update', 'delete']) op;

select plan((select count(*)::int from cells) + 2);
select diag(format('RLS matrix: %s cells checked (%s personas x %s tables x 4 operations)',
                   (select count(*) from cells), (select count(*) from personas), (select count(*) from pilot_tables)));
select is(got, expected, format('%s / %s / %s', persona, tbl, op)) from cells order by tbl, op, persona;

-- The cells really ran against data: every table holds A rows, and nothing a cell did survived.
select is((select count(*)::int from cells where op = 'select' and expected = 'rows:0' and persona = 'service_role'), 0,
          'service_role sees rows in every table (the matrix is not vacuous)');
select is((select count(*)::int from public.pilot_contact_attempt_events), 2, 'the cells left no trace (rolled back)');

select * from finish();
