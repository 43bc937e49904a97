-- Row-level security (SPEC §4), written once and generated for every table.
--
-- Policies call only the extension's own helpers in pilot_private — never a host table,
-- auth.uid() or is_admin() — so the install stays self-contained (SPEC §2). Each helper call is
-- wrapped in (select ...) so PostgreSQL evaluates it once per statement (an initPlan), not per row,
-- and asks first what this statement already looked up (cached_is_admin, cached_member_orgs in
-- 20_identity.sql): a recorder call's INSERT and RETURNING reuse its own check's lookups.
--
-- Reads (events and snapshots): one test, `org = any ((select pilot_private.read_orgs('<table>')))`
-- — the caller's organizations, or for an admin every organization a row can name. PostgreSQL uses
-- it as an index condition on the table's organization-first index (40_tables.sql), so a member's
-- read tests no row the index did not already choose; "member or admin" as an OR cannot be an index
-- condition and is tested on every row. Every statement that reads looks up app_admins once (an
-- admin who is also a member reads everything). Two things follow for admins, both in README:
-- wherever the planner does not use an index with the organization, the test compares each row
-- with every organization; and a row that another transaction moves, while an admin's UPDATE or
-- DELETE waits for it, to an organization that had no row and was not in public.organizations when
-- the admin's statement began is skipped by that statement, as a row that no longer matches is.
-- Writes keep "writer or admin" as an OR: the membership test first, as the caller's first
-- organization as a scalar, then the others as an array (null when there are none), and the admin
-- test an initPlan evaluated only when a row needs it.
--
--   shape     select           insert                     update                  delete
--   events    admin or member  admin or writer            admin or writer (both)  admin
--   snapshots admin or member  none: pilot_recompute_metrics writes them (SPEC §10.4)
--   decisions admin            admin, created_by null     admin                   admin
--                              or the caller
--   registry  admin or member  admin                      admin                   admin
--             of any org
-- "member": a row of organization_members for the row's organization and the caller; "writer": a
-- member whose role is owner, admin or editor; "admin": the caller is in app_admins. anon gets no
-- policy (and no privilege); service_role bypasses RLS as on Supabase.

do $policies$
declare
    admin constant text := '(select coalesce(pilot_private.cached_is_admin(), pilot_private.is_admin()))';
    -- the row's organization column (%I) is one the caller writes for (owner, admin or editor)
    writer_of constant text :=
        '(%1$I = (select (coalesce(pilot_private.cached_member_orgs(true), pilot_private.member_orgs(writers_only => true)))[1]) '
        'or %1$I = any ((select nullif((coalesce(pilot_private.cached_member_orgs(true), '
        'pilot_private.member_orgs(writers_only => true)))[2:], ''{}''))::uuid[]))';
    writer text;
    t text;
    shape text;
    k record;
begin
    -- table, organization column and shape from the registry of the kinds (35_kinds.sql)
    for k in select distinct r.table_name, r.org_column, r.policy_shape from pilot_private.kinds() r order by r.table_name loop
        t := k.table_name;
        shape := k.policy_shape;
        if k.org_column is not null then
            writer := pg_catalog.format(writer_of, k.org_column);
        end if;

        execute pg_catalog.format('alter table public.%I enable row level security', t);

        if shape = 'registry' then
            -- SPEC §14: any signed-in member of an organization reads cycles and cohorts
            execute pg_catalog.format(
                'create policy pilot_members_read on public.%I for select to authenticated '
                'using (pg_catalog.cardinality((select coalesce(pilot_private.cached_member_orgs(false), '
                'pilot_private.member_orgs(writers_only => false)))) > 0 or %s)', t, admin);
            execute pg_catalog.format('create policy pilot_admins_insert on public.%I for insert to authenticated with check (%s)', t, admin);
        elsif shape = 'decisions' then
            execute pg_catalog.format('create policy pilot_admins_read on public.%I for select to authenticated using (%s)', t, admin);
            execute pg_catalog.format(
                'create policy pilot_admins_insert on public.%I for insert to authenticated '
                'with check (%s and (created_by is null or created_by = (select pilot_private.uid())))', t, admin);
        else
            -- one index condition (20_identity.sql's read_orgs): the caller's organizations, all for
            -- an admin; a non-admin's from the statement's lookups when it made them
            execute pg_catalog.format(
                'create policy pilot_members_read on public.%I for select to authenticated '
                'using (%I = any ((select coalesce(case when not pilot_private.cached_is_admin() '
                'then pilot_private.cached_member_orgs(false) end, pilot_private.read_orgs(%L)))::uuid[]))',
                t, k.org_column, t);
        end if;
        -- Snapshots are read only: pilot_recompute_metrics' privileged part writes them (SPEC §10.4).
        continue when shape = 'snapshots';

        if shape = 'events' then
            execute pg_catalog.format('create policy pilot_writers_insert on public.%I for insert to authenticated with check (%s or %s)',
                                      t, writer, admin);
            execute pg_catalog.format(
                'create policy pilot_writers_update on public.%I for update to authenticated using (%s or %s) with check (%s or %s)',
                t, writer, admin, writer, admin);
        else
            execute pg_catalog.format(
                'create policy pilot_admins_update on public.%I for update to authenticated using (%s) with check (%s)', t, admin, admin);
        end if;

        execute pg_catalog.format('create policy pilot_admins_delete on public.%I for delete to authenticated using (%s)', t, admin);
    end loop;
end
$policies$;
