-- Privileges, last (SPEC §2, §4, postgrest-contract.md §4–§5).
--
-- On Supabase, default privileges grant anon, authenticated and service_role everything the
-- installing role creates in `public`. So start from nothing: revoke every privilege on every
-- object of this extension from PUBLIC and from anon, then grant exactly what each role needs.
-- `anon` gets nothing at all; a SECURITY DEFINER function is never executable by it.

do $grants$
declare
    ext oid := (select e.oid from pg_catalog.pg_extension e where e.extname = 'pilot_guardrails');
    obj record;
begin
    for obj in
        select p.oid::regprocedure as fn
          from pg_catalog.pg_depend d join pg_catalog.pg_proc p on p.oid = d.objid
         where d.classid = 'pg_catalog.pg_proc'::regclass and d.refclassid = 'pg_catalog.pg_extension'::regclass
           and d.refobjid = ext and d.deptype = 'e'
    loop
        execute pg_catalog.format('revoke all on function %s from public, anon', obj.fn);
    end loop;
    for obj in
        select c.oid::regclass as rel
          from pg_catalog.pg_depend d join pg_catalog.pg_class c on c.oid = d.objid
         where d.classid = 'pg_catalog.pg_class'::regclass and d.refclassid = 'pg_catalog.pg_extension'::regclass
           and d.refobjid = ext and d.deptype = 'e' and c.relkind in ('r', 'p', 'v', 'S')
    loop
        execute pg_catalog.format('revoke all on %s from public, anon', obj.rel);
        execute pg_catalog.format('grant all on %s to service_role', obj.rel);
    end loop;
end
$grants$;

-- API functions: signed-in users and backend jobs.
grant execute on function public.pilot_validate(text, jsonb) to authenticated, service_role;
grant execute on function public.pilot_disallowed_key_paths(jsonb) to authenticated, service_role;

-- Helpers the policies, triggers and recorders call as the caller.
grant execute on function pilot_private.uid() to authenticated, service_role;
grant execute on function pilot_private.is_backend() to authenticated, service_role;
grant execute on function pilot_private.raise_storage_missing(text) to authenticated, service_role;
grant execute on function pilot_private.is_admin() to authenticated, service_role;
grant execute on function pilot_private.member_orgs(boolean) to authenticated, service_role;
grant execute on function pilot_private.host_row_exists(text, text) to authenticated, service_role;

-- CHECK constraints call these as the writing role.
grant execute on function pilot_private.is_code(text, int) to authenticated, service_role;
grant execute on function pilot_private.are_codes(text[], int) to authenticated, service_role;

-- Pilot tables: row-level security decides; anon has nothing (revoked above).
do $tables$
declare
    t text;
begin
    foreach t in array array['pilot_contact_attempt_events', 'pilot_referral_events', 'pilot_metric_snapshots',
                             'pilot_integration_feasibility_decisions', 'pilot_connection_events', 'pilot_service_scope',
                             'service_operational_status_events', 'pilot_data_decay_audits', 'pilot_preference_fit_events'] loop
        execute pg_catalog.format('grant select, insert, update, delete on public.%I to authenticated', t);
    end loop;
end
$tables$;

-- bulk_update_service_status (SPEC §5): the entry point for signed-in users and backend jobs; its
-- privileged part for signed-in users only; the backend path's helpers for backend roles only.
grant execute on function public.bulk_update_service_status(text[], text, boolean, uuid) to authenticated, service_role;
grant execute on function pilot_private.bulk_update_service_status_as_admin(text[], text, boolean, uuid) to authenticated;
grant execute on function pilot_private.check_bulk_update_args(text[], text, boolean) to service_role;
grant execute on function pilot_private.apply_service_status(text[], text, boolean, uuid) to service_role;
grant execute on function pilot_private.user_is_admin(uuid) to service_role;

-- Recorders (SPEC §7): signed-in users and backend jobs, never anon.
grant execute on function pilot_private.validate(text, jsonb) to authenticated, service_role;
grant execute on function pilot_private.check_caller_and_payload(text, text, jsonb) to authenticated, service_role;
grant execute on function pilot_private.check_host_rows(text, jsonb) to authenticated, service_role;
grant execute on function public.pilot_record_contact_attempt(jsonb) to authenticated, service_role;
grant execute on function public.pilot_record_referral(jsonb) to authenticated, service_role;
grant execute on function public.pilot_update_referral(uuid, jsonb) to authenticated, service_role;
grant execute on function public.pilot_record_integration_feasibility(jsonb) to authenticated, service_role;
grant execute on function public.pilot_record_connection(jsonb) to authenticated, service_role;
grant execute on function public.pilot_record_service_scope(jsonb) to authenticated, service_role;
grant execute on function public.pilot_record_service_status(jsonb) to authenticated, service_role;
grant execute on function public.pilot_record_data_decay_audit(jsonb) to authenticated, service_role;
grant execute on function public.pilot_record_preference_fit(jsonb) to authenticated, service_role;

-- Scorecard (SPEC §8).
grant execute on function pilot_private.percentiles(bigint[], int[]) to authenticated, service_role;
grant execute on function pilot_private.rate(bigint, bigint) to authenticated, service_role;
grant execute on function pilot_private.scorecard_metrics(text, uuid, timestamptz) to authenticated, service_role;
grant execute on function pilot_private.gate1(jsonb, numeric, numeric) to authenticated, service_role;
grant execute on function pilot_private.check_member(text, uuid, boolean) to authenticated, service_role;
grant execute on function pilot_private.utc_text(timestamptz) to authenticated, service_role;
grant execute on function public.pilot_scorecard(text, uuid, timestamptz, numeric, numeric) to authenticated, service_role;
grant execute on function public.pilot_recompute_metrics(text, uuid) to authenticated, service_role;
grant execute on function public.pilot_metric_history(text, uuid) to authenticated, service_role;

-- pilot_bootstrap_host() creates host objects: for the database owner, never for an API role.
revoke all on function public.pilot_bootstrap_host() from authenticated, service_role;
