-- The audit trail of privileged acts (SPEC §10.5): pilot_audit_events, append-only.
--
-- Who holds what: app admins read it (row-level security), backend roles read it; no API role
-- holds INSERT, UPDATE, DELETE or TRUNCATE, and an ENABLE ALWAYS trigger refuses UPDATE, DELETE
-- and TRUNCATE for every other role too — the owner included. A superuser can still disable a
-- trigger or drop the table: the trail protects against API roles and mistakes, not against
-- the database's superuser (README, "Audit trail").
--
-- There is no entry point that writes an audit row. pilot_private.write_audit runs with the
-- privileges of its caller and no API role may execute it: only the acts' own SECURITY DEFINER
-- code calls it, in the same transaction as the act — so an act that rolls back leaves no row,
-- and an act that commits always has one. Codes, ids and counts only, never a payload value.

create table public.pilot_audit_events (
    id uuid primary key default gen_random_uuid(),
    at timestamptz not null default now(),
    actor uuid,
    actor_role text not null,
    action text not null constraint action_valid
        check (action in ('bulk_update_service_status', 'pilot_record_integration_feasibility', 'pilot_register_cycle',
                          'pilot_register_cohort', 'pilot_configure', 'pilot_apply_retention', 'pilot_recompute_metrics')),
    target text,
    detail jsonb not null default '{}'
);
comment on table public.pilot_audit_events is
$$Pilot: the audit trail of privileged acts, append-only (SPEC §10.5).
One row per act, written in the act's own transaction: bulk_update_service_status, integration feasibility decisions, cycle and cohort registrations, pilot_configure, pilot_apply_retention, pilot_recompute_metrics. actor is the signed-in user (null for a backend role), actor_role the role the session acted as. App admins and backend roles read it; nobody updates or deletes it.$$;
comment on column public.pilot_audit_events.action is 'The act: the name of the function that performed it.';
comment on column public.pilot_audit_events.target is 'What the act was about: an id, a setting name, a cycle (codes and ids only).';
comment on column public.pilot_audit_events.detail is 'Codes, ids and counts of the act (never a payload value).';
create index pilot_audit_events_at on public.pilot_audit_events (at desc);

alter table public.pilot_audit_events enable row level security;
create policy pilot_admins_read on public.pilot_audit_events for select to authenticated
    using ((select coalesce(pilot_private.cached_is_admin(), pilot_private.is_admin())));

-- Append-only, for every role: UPDATE, DELETE (row triggers) and TRUNCATE (a statement trigger).
create function pilot_private.audit_append_only() returns trigger
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
begin
    raise exception using errcode = '42501',
        message = pg_catalog.format('pilot_audit_events is append-only: %s refused', tg_op);
end
$$;
comment on function pilot_private.audit_append_only() is
    'Trigger: refuses UPDATE, DELETE and TRUNCATE of pilot_audit_events for every role (42501).';
create trigger pilot_audit_append_only before update or delete on public.pilot_audit_events
    for each row execute function pilot_private.audit_append_only();
create trigger pilot_audit_no_truncate before truncate on public.pilot_audit_events
    for each statement execute function pilot_private.audit_append_only();
alter table public.pilot_audit_events enable always trigger pilot_audit_append_only;
alter table public.pilot_audit_events enable always trigger pilot_audit_no_truncate;

-- One audit row, as the caller: executable by no API role (only the acts' SECURITY DEFINER code,
-- running as the owner, and the owner itself).
create function pilot_private.write_audit(action text, target text, detail jsonb) returns void
    language plpgsql volatile
    set search_path = pg_catalog, pg_temp
as $$
begin
    insert into public.pilot_audit_events (actor, actor_role, action, target, detail)
    values (case when pilot_private.acting_is_backend() then null else pilot_private.uid() end,
            pilot_private.acting_role(), write_audit.action, write_audit.target, coalesce(write_audit.detail, '{}'));
end
$$;
comment on function pilot_private.write_audit(text, text, jsonb) is
    'Writes one audit row as its caller. No API role may execute it: only the acts'' own SECURITY DEFINER code calls it.';

-- Acts that are rows — integration feasibility decisions, registered cycles and cohorts — are
-- audited whoever writes them (the recorder, or a direct INSERT of an admin through PostgREST): an
-- AFTER INSERT trigger, SECURITY DEFINER so that it may write the row the inserting role may not,
-- its action the trigger's argument. Rows loaded with row_security off are not acts but restores:
-- pg_restore sets it (and brings the dump's own audit rows); a role that row-level security
-- applies to cannot write with it off, so no API user can skip the audit this way.
create function pilot_private.audit_insert() returns trigger
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
begin
    if pg_catalog.current_setting('row_security') = 'off' then
        return null;
    end if;
    perform pilot_private.write_audit(tg_argv[0], new.id::text,
        pg_catalog.jsonb_build_object('id', new.id)
        || pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object('decision', pg_catalog.to_jsonb(new) -> 'decision')));
    return null;
end
$$;
comment on function pilot_private.audit_insert() is
    'Trigger: one audit row per inserted row of an audited act (SPEC §10.5), the action its argument: the id, and a decision''s code.';
create trigger pilot_audit_decision after insert on public.pilot_integration_feasibility_decisions
    for each row execute function pilot_private.audit_insert('pilot_record_integration_feasibility');
create trigger pilot_audit_registration after insert on public.pilot_cycles
    for each row execute function pilot_private.audit_insert('pilot_register_cycle');
create trigger pilot_audit_registration after insert on public.pilot_cohorts
    for each row execute function pilot_private.audit_insert('pilot_register_cohort');

select pg_catalog.pg_extension_config_dump('public.pilot_audit_events', '');
