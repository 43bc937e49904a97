-- Row-level security (SPEC §4), written once and generated for every table.
--
-- Policies call only the extension's own helpers in pilot_private — never a host table,
-- auth.uid() or is_admin() — so the install stays self-contained (SPEC §2). Each helper call is
-- wrapped in (select ...) so PostgreSQL evaluates it once per statement (an initPlan), not per row.
--
--   shape     select           insert                     update                  delete
--   events    admin or member  admin or writer            admin or writer (both)  admin
--   snapshots admin or member  admin or writer            admin                   admin
--   decisions admin            admin, created_by null     admin                   admin
--                              or the caller
-- "member": a row of organization_members for the row's organization and the caller; "writer": a
-- member whose role is owner, admin or editor; "admin": the caller is in app_admins. anon gets no
-- policy (and no privilege); service_role bypasses RLS as on Supabase.

do $policies$
declare
    tables constant text[][] := array[
        -- table                                    organization column   shape
        ['pilot_contact_attempt_events',            'recorded_by_org_id', 'events'],
        ['pilot_referral_events',                   'source_org_id',      'events'],
        ['pilot_connection_events',                 'org_id',             'events'],
        ['pilot_service_scope',                     'org_id',             'events'],
        ['service_operational_status_events',       'org_id',             'events'],
        ['pilot_data_decay_audits',                 'org_id',             'events'],
        ['pilot_preference_fit_events',             'org_id',             'events'],
        ['pilot_metric_snapshots',                  'org_id',             'snapshots'],
        ['pilot_integration_feasibility_decisions', null,                 'decisions']];
    admin constant text := '(select pilot_private.is_admin())';
    member text;
    writer text;
    t text;
    shape text;
    i int;
begin
    for i in 1 .. pg_catalog.array_length(tables, 1) loop
        t := tables[i][1];
        shape := tables[i][3];
        if tables[i][2] is not null then
            member := pg_catalog.format('%I = any ((select pilot_private.member_orgs(writers_only => false))::uuid[])', tables[i][2]);
            writer := pg_catalog.format('%I = any ((select pilot_private.member_orgs(writers_only => true))::uuid[])', tables[i][2]);
        end if;

        execute pg_catalog.format('alter table public.%I enable row level security', t);

        if shape = 'decisions' then
            execute pg_catalog.format('create policy pilot_admins_read on public.%I for select to authenticated using (%s)', t, admin);
            execute pg_catalog.format(
                'create policy pilot_admins_insert on public.%I for insert to authenticated '
                'with check (%s and (created_by is null or created_by = (select pilot_private.uid())))', t, admin);
        else
            execute pg_catalog.format('create policy pilot_members_read on public.%I for select to authenticated using (%s or %s)',
                                      t, admin, member);
            execute pg_catalog.format('create policy pilot_writers_insert on public.%I for insert to authenticated with check (%s or %s)',
                                      t, admin, writer);
        end if;

        if shape = 'events' then
            execute pg_catalog.format(
                'create policy pilot_writers_update on public.%I for update to authenticated using (%s or %s) with check (%s or %s)',
                t, admin, writer, admin, writer);
        else
            execute pg_catalog.format(
                'create policy pilot_admins_update on public.%I for update to authenticated using (%s) with check (%s)', t, admin, admin);
        end if;

        execute pg_catalog.format('create policy pilot_admins_delete on public.%I for delete to authenticated using (%s)', t, admin);
    end loop;
end
$policies$;
