-- Registered cycles and cohorts (SPEC §14): codes can spell a person (Jane.Doe.555-1234 is a
-- valid code), so a pilot cycle and a cohort are registered first, by app admins, and every
-- pilot_cycle_id (and a preference-fit event's cohort) must name a registered one — a real foreign
-- key between pilot tables, ON DELETE RESTRICT. A cycle is a real thing with a start and an end.
-- Registered through pilot_register_cycle(jsonb) and pilot_register_cohort(jsonb) (70_recorders.sql);
-- read by any signed-in member of an organization and by admins; written by admins (50_policies.sql);
-- every registration audited (41_audit.sql).

create table public.pilot_cycles (
    id text primary key constraint id_is_code check (pilot_private.is_code(id)),
    starts_on date not null,
    ends_on date not null constraint ends_not_before_starts check (ends_on >= starts_on),
    created_at timestamptz not null default now(),
    created_by uuid
);
comment on table public.pilot_cycles is
$$Pilot: the registered pilot cycles, with their first and last day (SPEC §14).
Every pilot_cycle_id of the pilot tables names one of these. Register with pilot_register_cycle(); members of any organization read, app admins write.$$;

create table public.pilot_cohorts (
    id uuid primary key default gen_random_uuid(),
    pilot_cycle_id text not null constraint pilot_cycle_id_is_registered
        references public.pilot_cycles (id) on delete restrict,
    label text not null constraint label_is_code check (pilot_private.is_code(label)),
    created_at timestamptz not null default now(),
    created_by uuid,
    constraint pilot_cohorts_once unique (pilot_cycle_id, label)
);
comment on table public.pilot_cohorts is
$$Pilot: the registered cohorts of a cycle (SPEC §14); a preference-fit event names one.
Register with pilot_register_cohort(); members of any organization read, app admins write.$$;
