-- The registry of the kinds: one row per payload kind (and one for the metric snapshots, which
-- pilot_recompute_metrics writes without a payload), the registrations of cycles and cohorts
-- included (policy shape registry: not among the nine pilot tables of retention and verification). Everything that treats the pilot tables alike
-- derives from it instead of listing them again:
--   the recorders, generated (70_recorders.sql)     recorder name, organization column, host rows
--   the host-row triggers and backups (40_tables)    host references, pg_extension_config_dump
--   the policies (50_policies.sql)                   organization column, policy shape
--   pilot_verify() (88_verify.sql)                   tables, policy shape
--   the privileges (90_grants.sql)                   tables and recorders
-- The fields and enums of each payload kind have one source too: Rust's `KINDS`
-- (src/validate.rs); an in-database test (src/pg_tests.rs) compares every enum CHECK of these
-- tables and every enum list of a recorder's COMMENT with it, and this registry's kinds with its kinds.

create function pilot_private.kinds()
returns table (
    kind text,          -- the payload kind (pilot_validate's first argument), or metric_snapshot
    payload boolean,    -- the recorder takes a jsonb payload validated as this kind
    table_name text,    -- the pilot table it writes, in public
    org_column text,    -- the table's organization column (SPEC §3); null: no organization
    host_refs text[],   -- pairs (column, 'service' | 'organization') naming host rows (SPEC §2)
    time_column text,   -- the event time (SPEC §11.3); null: the table has none
    policy_shape text,  -- events | snapshots | decisions | registry (SPEC §4, §14)
    recorder text       -- the function that writes it, as its regprocedure text without schema
)
    language plpgsql immutable parallel safe
    set search_path = pg_catalog, pg_temp
as $$
begin
    -- PL/pgSQL, not SQL: a SQL function with a SET clause is never inlined and re-plans its body on
    -- every call (measured: 51 µs a lookup); PL/pgSQL keeps the plan of RETURN QUERY.
    return query values
        ('contact_attempt', true, 'pilot_contact_attempt_events', 'recorded_by_org_id',
         '{service_id,service,recorded_by_org_id,organization}'::text[], 'attempted_at', 'events',
         'pilot_record_contact_attempt(jsonb)'),
        ('referral', true, 'pilot_referral_events', 'source_org_id',
         '{target_service_id,service,source_org_id,organization}', 'created_at', 'events',
         'pilot_record_referral(jsonb)'),
        ('referral_update', true, 'pilot_referral_events', 'source_org_id',
         '{target_service_id,service,source_org_id,organization}', 'created_at', 'events',
         'pilot_update_referral(uuid,jsonb)'),
        ('integration_feasibility', true, 'pilot_integration_feasibility_decisions', null,
         '{}', 'created_at', 'decisions',
         'pilot_record_integration_feasibility(jsonb)'),
        ('connection', true, 'pilot_connection_events', 'org_id',
         '{service_id,service,org_id,organization}', 'connected_at', 'events',
         'pilot_record_connection(jsonb)'),
        ('service_scope', true, 'pilot_service_scope', 'org_id',
         '{service_id,service,org_id,organization}', null, 'events',
         'pilot_record_service_scope(jsonb)'),
        ('service_status', true, 'service_operational_status_events', 'org_id',
         '{service_id,service,org_id,organization}', 'checked_at', 'events',
         'pilot_record_service_status(jsonb)'),
        ('data_decay_audit', true, 'pilot_data_decay_audits', 'org_id',
         '{service_id,service,org_id,organization}', 'audited_at', 'events',
         'pilot_record_data_decay_audit(jsonb)'),
        ('preference_fit', true, 'pilot_preference_fit_events', 'org_id',
         '{org_id,organization}', 'recorded_at', 'events',
         'pilot_record_preference_fit(jsonb)'),
        ('metric_snapshot', false, 'pilot_metric_snapshots', 'org_id',
         '{org_id,organization}', 'calculated_at', 'snapshots',
         'pilot_recompute_metrics(text,uuid)'),
        -- SPEC §14: registrations, which the nine pilot tables name (38_cycles.sql)
        ('cycle', true, 'pilot_cycles', null, '{}', null, 'registry', 'pilot_register_cycle(jsonb)'),
        ('cohort', true, 'pilot_cohorts', null, '{}'::text[], null::text, 'registry', 'pilot_register_cohort(jsonb)');
end
$$;
comment on function pilot_private.kinds() is
    'The registry of the kinds (SPEC §3, §7): kind, table, organization column, host references, event time, policy shape and recorder. The recorders, host-row triggers, policies, backups, privileges and pilot_verify() derive from it.';

-- One kind's route for the idempotency claim (66_idempotency.sql, which runs as the owner; the
-- recorders have their kind's row as constants, 70_recorders.sql): its recorder (without the
-- argument list), table, organization column and host references, and whether it takes a payload;
-- all null for an unknown kind. Generated from the registry above as a CASE of constants: a lookup in kinds() itself materializes its twelve
-- rows on every call (measured: 33 µs a lookup, 9 µs here).
do $generate$
declare
    arms text;
begin
    select pg_catalog.string_agg(pg_catalog.format(
               'when %L then recorder := %L; table_name := %L; org_column := %L; host_refs := %L; payload := %L;',
               r.kind, pg_catalog.split_part(r.recorder, '(', 1), r.table_name, r.org_column, r.host_refs, r.payload),
               E'\n        ' order by r.kind)
      into arms
      from pilot_private.kinds() r;
    execute pg_catalog.format($create$
create function pilot_private.kind_route(v_kind text, out recorder text, out table_name text, out org_column text,
                                         out host_refs text[], out payload boolean)
    language plpgsql immutable parallel safe
    set search_path = pg_catalog, pg_temp
as $body$
begin
    case v_kind
        %s
        else null;
    end case;
end
$body$$create$, arms);
end
$generate$;
comment on function pilot_private.kind_route(text) is
    'One kind''s row of the registry (pilot_private.kinds()) as the idempotency claim uses it: recorder, table, organization column, host references, takes a payload; null for an unknown kind. Generated from kinds().';
