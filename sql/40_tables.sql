-- The pilot tables (SPEC §3), their invariants, indexes and host-row checks.
--
-- Every invariant lives in the table itself — CHECKs and triggers — because `authenticated`
-- writers can write these tables directly through PostgREST, not only through the recorders.
-- Codes only: no column can hold free text. References to host rows (services, organizations) are
-- not foreign keys (SPEC §2: the install is self-contained, and pg_restore loads data in name
-- order); an AFTER ROW constraint trigger checks them at write time instead.

-- Every pilot_cycle_id names a registered cycle (SPEC §14, 38_cycles.sql): a real foreign key
-- between pilot tables, ON DELETE RESTRICT. Its violation message names the column (the
-- constraint pilot_cycle_id_is_registered); row-level security on pilot_cycles keeps the value out
-- of its DETAIL for API roles, and the recorders check first, naming the field and no value.

-- ---------------------------------------------------------------------------------------------
-- §3.1 contact attempts.

create table public.pilot_contact_attempt_events (
    id uuid primary key default gen_random_uuid(),
    pilot_cycle_id text not null constraint pilot_cycle_id_is_code check (pilot_private.is_code(pilot_cycle_id))
        constraint pilot_cycle_id_is_registered references public.pilot_cycles (id) on delete restrict,
    service_id text not null constraint service_id_is_code check (pilot_private.is_code(service_id)),
    recorded_by_org_id uuid not null,
    -- k1: and 64 lowercase hex digits, written as a length and a repetition: PostgreSQL's regex engine
    -- matches the bounded {64} in about 8 µs a row, this form in about 1 µs (every insert checks it)
    entity_key_hash text constraint entity_key_hash_is_keyed
        check (pg_catalog.length(entity_key_hash) = 67 and entity_key_hash ~ '^k1:[0-9a-f]+$'),
    attempt_channel text not null constraint attempt_channel_valid
        check (attempt_channel in ('phone', 'website', 'email', 'in_person', 'referral')),
    attempt_outcome text not null constraint attempt_outcome_valid
        check (attempt_outcome in ('connected', 'disconnected_number', 'no_response', 'intake_unavailable',
                                   'invalid_routing', 'other_failure')),
    attempted_at timestamptz not null,
    resolved_at timestamptz constraint resolved_not_before_attempted check (resolved_at >= attempted_at),
    outcome_notes_code text constraint outcome_notes_code_valid
        check (outcome_notes_code in ('busy_signal', 'voicemail_only', 'eligibility_mismatch', 'hours_mismatch',
                                      'capacity_full', 'unknown_failure')),
    created_at timestamptz not null default now(),
    -- what a connection's composite foreign key points at (SPEC §3.5)
    constraint pilot_contact_attempt_events_anchor unique (id, pilot_cycle_id, recorded_by_org_id)
);
comment on table public.pilot_contact_attempt_events is
$$Pilot: how an attempt to reach a service turned out.
One row per attempt, recorded by a partner organization. Codes only. Write through pilot_record_contact_attempt(); members of the organization read, writers (owner, admin, editor) write, admins delete.$$;
comment on column public.pilot_contact_attempt_events.entity_key_hash is
    'Keyed pseudonym of the entity: k1: and the HMAC-SHA-256, under the database''s secret key, of the SHA-256 hex the client sent (SPEC §14). Repeat failures (M5) are counted per value.';
comment on column public.pilot_contact_attempt_events.service_id is 'Id of a row of public.services (checked on write).';
comment on column public.pilot_contact_attempt_events.recorded_by_org_id is 'Id of the recording organization (public.organizations, checked on write).';
create index pilot_contact_attempt_events_cycle_org_time
    on public.pilot_contact_attempt_events (pilot_cycle_id, recorded_by_org_id, attempted_at);

-- ---------------------------------------------------------------------------------------------
-- §3.2 referrals.

create table public.pilot_referral_events (
    id uuid primary key default gen_random_uuid(),
    pilot_cycle_id text not null constraint pilot_cycle_id_is_code check (pilot_private.is_code(pilot_cycle_id))
        constraint pilot_cycle_id_is_registered references public.pilot_cycles (id) on delete restrict,
    source_org_id uuid not null,
    target_service_id text not null constraint target_service_id_is_code check (pilot_private.is_code(target_service_id)),
    referral_state text not null default 'initiated' constraint referral_state_valid
        check (referral_state in ('initiated', 'connected', 'failed', 'client_withdrew', 'no_response_timeout')),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now() constraint updated_not_before_created check (updated_at >= created_at),
    terminal_at timestamptz constraint terminal_not_before_created check (terminal_at >= created_at),
    failure_reason_code text constraint failure_reason_code_valid
        check (failure_reason_code in ('disconnected_number', 'no_response', 'intake_closed', 'ineligible',
                                       'capacity_full', 'unknown_failure')),
    constraint terminal_state_needs_terminal_at check (referral_state = 'initiated' or terminal_at is not null),
    constraint initiated_has_no_failure_reason check (referral_state <> 'initiated' or failure_reason_code is null),
    constraint pilot_referral_events_anchor unique (id, pilot_cycle_id, source_org_id)
);
comment on table public.pilot_referral_events is
$$Pilot: a referral from a partner organization to a service, and where it ended.
States: initiated, then one terminal state (connected, failed, client_withdrew, no_response_timeout) that never changes again. Write through pilot_record_referral() and pilot_update_referral().$$;
comment on column public.pilot_referral_events.target_service_id is 'Id of a row of public.services (checked on write).';
comment on column public.pilot_referral_events.source_org_id is 'Id of the referring organization (public.organizations, checked on write).';
create index pilot_referral_events_cycle_org_time
    on public.pilot_referral_events (pilot_cycle_id, source_org_id, created_at);

-- ---------------------------------------------------------------------------------------------
-- §3.3 metric snapshots.

create table public.pilot_metric_snapshots (
    id uuid primary key default gen_random_uuid(),
    pilot_cycle_id text not null constraint pilot_cycle_id_is_code check (pilot_private.is_code(pilot_cycle_id))
        constraint pilot_cycle_id_is_registered references public.pilot_cycles (id) on delete restrict,
    org_id uuid not null,
    metric_id text not null constraint metric_id_valid
        check (metric_id in ('M1', 'M2_P50', 'M2_P75', 'M2_P90', 'M3', 'M4', 'M5', 'M6', 'M7')),
    metric_value numeric,
    numerator numeric constraint numerator_not_negative check (numerator >= 0),
    denominator numeric constraint denominator_not_negative check (denominator >= 0),
    calculated_at timestamptz not null default now()
);
comment on table public.pilot_metric_snapshots is
$$Pilot: stored scorecard values, one row per metric per calculation.
Written by pilot_recompute_metrics(); read with pilot_metric_history().$$;
create index pilot_metric_snapshots_cycle_org_time
    on public.pilot_metric_snapshots (pilot_cycle_id, org_id, calculated_at desc);

-- ---------------------------------------------------------------------------------------------
-- §3.4 integration feasibility decisions.

create table public.pilot_integration_feasibility_decisions (
    id uuid primary key default gen_random_uuid(),
    pilot_cycle_id text constraint pilot_cycle_id_is_code check (pilot_private.is_code(pilot_cycle_id))
        constraint pilot_cycle_id_is_registered references public.pilot_cycles (id) on delete restrict,
    decision text not null constraint decision_valid check (decision in ('go', 'conditional', 'blocked')),
    decision_date date not null,
    redline_checklist_version text not null
        constraint redline_checklist_version_is_code check (pilot_private.is_code(redline_checklist_version, 50)),
    violations text[] not null default '{}' constraint violations_are_codes check (pilot_private.are_codes(violations)),
    compensating_controls text[] not null default '{}'
        constraint compensating_controls_are_codes check (pilot_private.are_codes(compensating_controls)),
    owners text[] not null constraint owners_are_codes check (pilot_private.are_codes(owners))
        constraint at_least_one_owner check (pg_catalog.cardinality(owners) >= 1),
    created_at timestamptz not null default now(),
    created_by uuid,
    constraint go_has_no_violations check (decision <> 'go' or pg_catalog.cardinality(violations) = 0),
    constraint conditional_has_compensating_controls
        check (decision <> 'conditional' or pg_catalog.cardinality(compensating_controls) >= 1)
);
comment on table public.pilot_integration_feasibility_decisions is
$$Pilot: go / conditional / blocked decisions on integrating with a partner system, against a redline checklist version.
Admins only. Write through pilot_record_integration_feasibility(); created_by is the caller.$$;
create index pilot_integration_feasibility_decisions_date
    on public.pilot_integration_feasibility_decisions (decision_date desc);

-- ---------------------------------------------------------------------------------------------
-- §3.5 metric sources.

create table public.pilot_connection_events (
    id uuid primary key default gen_random_uuid(),
    pilot_cycle_id text not null constraint pilot_cycle_id_is_code check (pilot_private.is_code(pilot_cycle_id))
        constraint pilot_cycle_id_is_registered references public.pilot_cycles (id) on delete restrict,
    org_id uuid not null,
    service_id text not null constraint service_id_is_code check (pilot_private.is_code(service_id)),
    connected_at timestamptz not null,
    contact_attempt_event_id uuid,
    referral_event_id uuid,
    -- M2's duration, fixed at write time from the anchor (79_scorecard_counts.sql); not writable
    seconds_to_connection bigint,
    constraint exactly_one_anchor check (num_nonnulls(contact_attempt_event_id, referral_event_id) = 1),
    -- The anchor is an event of the same cycle and organization (SPEC §3.5), for direct writes and
    -- later updates of the anchor too. MATCH SIMPLE: the absent anchor (null) is not checked.
    constraint contact_attempt_anchor_same_cycle_and_org
        foreign key (contact_attempt_event_id, pilot_cycle_id, org_id)
        references public.pilot_contact_attempt_events (id, pilot_cycle_id, recorded_by_org_id) on delete restrict,
    constraint referral_anchor_same_cycle_and_org
        foreign key (referral_event_id, pilot_cycle_id, org_id)
        references public.pilot_referral_events (id, pilot_cycle_id, source_org_id) on delete restrict
);
comment on table public.pilot_connection_events is
$$Pilot: a person reached the service, anchored to the contact attempt or the referral that led there.
Source of M2 (seconds to connection). Write through pilot_record_connection().$$;
comment on column public.pilot_connection_events.seconds_to_connection is
    'Whole seconds from the anchor (the attempt''s attempted_at or the referral''s created_at) to connected_at, rounded half away from zero; null when negative. Set by the database on every write and when the anchor''s time moves; a value sent is ignored.';
create index pilot_connection_events_cycle_org_time on public.pilot_connection_events (pilot_cycle_id, org_id, connected_at);
create index pilot_connection_events_contact_attempt on public.pilot_connection_events (contact_attempt_event_id);
create index pilot_connection_events_referral on public.pilot_connection_events (referral_event_id);

create table public.pilot_service_scope (
    id uuid primary key default gen_random_uuid(),
    pilot_cycle_id text not null constraint pilot_cycle_id_is_code check (pilot_private.is_code(pilot_cycle_id))
        constraint pilot_cycle_id_is_registered references public.pilot_cycles (id) on delete restrict,
    org_id uuid not null,
    service_id text not null constraint service_id_is_code check (pilot_private.is_code(service_id)),
    sla_tier text not null constraint sla_tier_valid check (sla_tier in ('crisis', 'high_demand', 'standard')),
    constraint pilot_service_scope_once unique (pilot_cycle_id, org_id, service_id)
);
comment on table public.pilot_service_scope is
$$Pilot: the services an organization keeps fresh during a cycle, with their freshness SLA tier.
Source of M4's denominator. Recording a scoped service again updates its tier (pilot_record_service_scope()).$$;

create table public.service_operational_status_events (
    id uuid primary key default gen_random_uuid(),
    pilot_cycle_id text not null constraint pilot_cycle_id_is_code check (pilot_private.is_code(pilot_cycle_id))
        constraint pilot_cycle_id_is_registered references public.pilot_cycles (id) on delete restrict,
    org_id uuid not null,
    service_id text not null constraint service_id_is_code check (pilot_private.is_code(service_id)),
    checked_at timestamptz not null,
    status_code text not null constraint status_code_valid
        check (status_code in ('available', 'temporarily_unavailable', 'closed', 'unknown'))
);
comment on table public.service_operational_status_events is
$$Pilot: a check of a service's operational status.
The latest check per scoped service decides M4 (freshness SLA). Write through pilot_record_service_status().$$;
create index service_operational_status_events_latest
    on public.service_operational_status_events (pilot_cycle_id, org_id, service_id, checked_at desc);

create table public.pilot_data_decay_audits (
    id uuid primary key default gen_random_uuid(),
    pilot_cycle_id text not null constraint pilot_cycle_id_is_code check (pilot_private.is_code(pilot_cycle_id))
        constraint pilot_cycle_id_is_registered references public.pilot_cycles (id) on delete restrict,
    org_id uuid not null,
    service_id text not null constraint service_id_is_code check (pilot_private.is_code(service_id)),
    audited_at timestamptz not null,
    is_fatal boolean not null,
    fatal_error_category text constraint fatal_error_category_valid
        check (fatal_error_category in ('wrong_or_disconnected_phone', 'invalid_or_defunct_intake_path',
                                        'materially_incorrect_eligibility',
                                        'service_closed_or_unavailable_but_listed_available')),
    verification_mode text not null constraint verification_mode_valid
        check (verification_mode in ('web_only', 'web_plus_call', 'provider_confirmation')),
    constraint fatal_iff_category check (is_fatal = (fatal_error_category is not null))
);
comment on table public.pilot_data_decay_audits is
$$Pilot: an audit of a listing's accuracy; fatal errors (M6) name their category.
Write through pilot_record_data_decay_audit().$$;
create index pilot_data_decay_audits_cycle_org_time on public.pilot_data_decay_audits (pilot_cycle_id, org_id, audited_at);

create table public.pilot_preference_fit_events (
    id uuid primary key default gen_random_uuid(),
    pilot_cycle_id text not null constraint pilot_cycle_id_is_code check (pilot_private.is_code(pilot_cycle_id))
        constraint pilot_cycle_id_is_registered references public.pilot_cycles (id) on delete restrict,
    org_id uuid not null,
    cohort_label text not null constraint cohort_label_is_code check (pilot_private.is_code(cohort_label)),
    recorded_at timestamptz not null,
    preferred_via_platform boolean not null,
    -- a registered cohort of the event's cycle (SPEC §14)
    constraint cohort_label_is_registered foreign key (pilot_cycle_id, cohort_label)
        references public.pilot_cohorts (pilot_cycle_id, label) on delete restrict
);
comment on table public.pilot_preference_fit_events is
$$Pilot: whether a person in a cohort preferred reaching services through the platform (M7).
Write through pilot_record_preference_fit().$$;
create index pilot_preference_fit_events_cycle_org_time on public.pilot_preference_fit_events (pilot_cycle_id, org_id, recorded_at);

-- Organization first, for the read policies (50_policies.sql): `org = any (the caller's
-- organizations)` is an index condition here, and an admin's read_orgs() (20_identity.sql) skips
-- through it, one descent per organization. The organization is a uuid, at a fixed offset: tested
-- before the cycle (text) it costs less than it would as the second key of the cycle-first index.
do $org_indexes$
declare
    k record;
begin
    for k in select distinct r.table_name, r.org_column, r.time_column from pilot_private.kinds() r
              where r.policy_shape in ('events', 'snapshots') order by r.table_name loop
        execute pg_catalog.format('create index %I on public.%I (%I, pilot_cycle_id%s)',
                                  k.table_name || '_org_cycle' || case when k.time_column is null then '' else '_time' end,
                                  k.table_name, k.org_column, coalesce(', ' || pg_catalog.quote_ident(k.time_column), ''));
    end loop;
end
$org_indexes$;

-- ---------------------------------------------------------------------------------------------
-- Triggers.

-- Keyed pseudonyms (SPEC §14). The secret key: 32 bytes from pg_strong_random, made at install,
-- in a table no API role can read. A backup carries it (a config dump table), and a restore into a
-- fresh install adds the dump's row beside the one the install made: the earliest key wins, so a
-- restore keeps the original key and equal client hashes keep giving equal stored values.
create table pilot_private.pseudonym_keys (
    id uuid primary key default gen_random_uuid(),
    key bytea not null constraint key_is_32_bytes check (pg_catalog.length(key) = 32),
    created_at timestamptz not null default now()
);
comment on table pilot_private.pseudonym_keys is
    'The secret key of keyed pseudonyms (SPEC §14): the earliest row wins. Readable by no API role; a full dump carries it.';
alter table pilot_private.pseudonym_keys enable row level security;
insert into pilot_private.pseudonym_keys (key) values (pilot_private.strong_random_bytes(32));
select pg_catalog.pg_extension_config_dump('pilot_private.pseudonym_keys', '');

-- Before the CHECK: a plain 64-hex client hash (either case) is keyed, whoever writes it (the
-- recorders and direct writes alike). An already keyed k1: value is accepted only from roles that
-- row-level security does not apply to — how pg_restore (whose COPY fires row triggers) and
-- backend jobs load keyed rows without keying them twice; an API role sending one is refused
-- (22023). SECURITY DEFINER: it reads the key no API role may read.
create function pilot_private.key_entity_hash() returns trigger
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
begin
    if new.entity_key_hash is null then
        return new;
    -- 64 hex digits, as a length and a repetition (not {64}: see entity_key_hash_is_keyed)
    elsif pg_catalog.length(new.entity_key_hash) = 64 and new.entity_key_hash ~ '^[0-9A-Fa-f]+$' then
        new.entity_key_hash := (select pilot_private.hmac_k1(k.key, new.entity_key_hash)
                                  from pilot_private.pseudonym_keys k order by k.created_at, k.id limit 1);
    elsif new.entity_key_hash ~ '^k1:' and not pilot_private.acting_is_backend()
          and (tg_op = 'INSERT' or new.entity_key_hash is distinct from old.entity_key_hash) then
        raise exception using errcode = '22023',
            message = 'entity_key_hash: send the SHA-256 hex; an already keyed (k1:) value is accepted from backend roles only';
    end if;
    return new;
end
$$;
comment on function pilot_private.key_entity_hash() is
    'Keys a plain SHA-256 hex entity_key_hash as k1:HMAC-SHA-256 under the secret key; accepts k1: values from backend roles only (22023).';
create trigger pilot_key_entity_hash
    before insert or update of entity_key_hash on public.pilot_contact_attempt_events
    for each row execute function pilot_private.key_entity_hash();

-- A referral in a terminal state does not move again (SQLSTATE PT409, PostgREST 409).
create function pilot_private.referral_terminal_guard() returns trigger
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
begin
    if old.referral_state in ('connected', 'failed', 'client_withdrew', 'no_response_timeout') then
        raise exception using
            errcode = 'PT409',
            message = 'referral is already in a terminal state',
            detail = pg_catalog.format('state %s; a terminal referral does not change again', old.referral_state);
    end if;
    return new;
end
$$;
comment on function pilot_private.referral_terminal_guard() is
    'Refuses any update of a referral already in a terminal state (PT409).';
create trigger pilot_referral_terminal_guard
    before update on public.pilot_referral_events
    for each row execute function pilot_private.referral_terminal_guard();

-- Host rows named by a pilot row exist (SQLSTATE 23503, naming the column, never the value).
-- Arguments: pairs of (column, 'service' | 'organization'). AFTER ROW, so that row-level security
-- refuses an outsider (42501) before the outsider can learn whether a host row exists. Trusts the
-- roles row-level security trusts (superusers, BYPASSRLS): this is what lets pg_restore load pilot
-- rows before host rows.
create function pilot_private.check_host_refs() returns trigger
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
declare
    i int;
    col text;
    kind text;
    new_value text;
    row_new jsonb;
    row_old jsonb;
begin
    if pilot_private.is_backend() then
        return null;
    end if;
    row_new := pg_catalog.to_jsonb(new);
    if tg_op = 'UPDATE' then
        row_old := pg_catalog.to_jsonb(old);
    end if;
    for i in 0 .. tg_nargs - 1 by 2 loop
        col := tg_argv[i];
        kind := tg_argv[i + 1];
        new_value := row_new ->> col;
        continue when new_value is null;
        continue when row_old is not null and row_old ->> col is not distinct from new_value;
        if not pilot_private.host_row_exists(kind, new_value) then
            raise exception using
                errcode = '23503',
                message = pg_catalog.format('%s: no %s with this id exists (public.%s)', col, kind,
                                            case kind when 'service' then 'services' else 'organizations' end),
                detail = pg_catalog.format('table %s, column %s', tg_table_name, col);
        end if;
    end loop;
    return null;
end
$$;
comment on function pilot_private.check_host_refs() is
    'Constraint trigger: the services and organizations a pilot row names exist (23503 naming the column).';

-- One trigger per table that names host rows, from the registry (35_kinds.sql).
do $triggers$
declare
    t record;
begin
    for t in select distinct k.table_name, k.host_refs from pilot_private.kinds() k
              where pg_catalog.cardinality(k.host_refs) > 0 order by k.table_name loop
        execute pg_catalog.format(
            'create constraint trigger pilot_host_refs after insert or update on public.%I '
            'for each row execute function pilot_private.check_host_refs(%s)',
            t.table_name,
            pg_catalog.array_to_string(array(select pg_catalog.quote_literal(a) from pg_catalog.unnest(t.host_refs) a), ', '));
    end loop;
end
$triggers$;

-- ---------------------------------------------------------------------------------------------
-- Backups: pg_dump carries every pilot row from the first release on (SPEC §9).

-- One statement per table: pg_extension_config_dump updates the extension's catalog row each time.
do $backups$
declare
    t text;
begin
    for t in select distinct k.table_name from pilot_private.kinds() k order by k.table_name loop
        perform pg_catalog.pg_extension_config_dump(pg_catalog.format('public.%I', t)::regclass, '');
    end loop;
end
$backups$;
