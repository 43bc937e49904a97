-- SPEC §9 operations on the Supabase-shaped host: pilot_verify() all ok, and each kind of check
-- shown failing once (inside rolled-back transactions); the drop guard.
\set ON_ERROR_STOP 1
\set QUIET 1
set client_min_messages = warning;
\i tests/fixtures/host_baseline.sql
create extension pgtap;
create extension pilot_guardrails;

select plan(24);

select is((select count(*)::int from pilot_verify() where not ok), 0, 'pilot_verify() is all ok on the host fixture');
select cmp_ok((select count(*)::int from pilot_verify()), '>=', 80, 'pilot_verify() reports one row per check (80+)');
select is((select provolatile from pg_proc where proname = 'pilot_verify'), 's', 'pilot_verify() is read-only (STABLE)');
select ok(not has_function_privilege('anon', 'pilot_verify()', 'execute') and has_function_privilege('service_role', 'pilot_verify()', 'execute'),
          'pilot_verify() is for service_role, not anon');

create function pg_temp.failing() returns text language sql as $$
    select coalesce(string_agg("check", ' | ' order by "check"), '') from pilot_verify() where not ok $$;

begin;
drop policy pilot_writers_insert on pilot_referral_events;
select is(pg_temp.failing(), 'policy pilot_writers_insert on pilot_referral_events (INSERT, TO authenticated)', 'a dropped policy is reported');
rollback;
begin;
alter policy pilot_members_read on pilot_service_scope to authenticated, anon;
select is(pg_temp.failing(), 'policy pilot_members_read on pilot_service_scope (SELECT, TO authenticated)', 'a policy with the wrong roles is reported');
rollback;
begin;
alter table pilot_contact_attempt_events disable row level security;
select is(pg_temp.failing(), 'row-level security enabled on pilot_contact_attempt_events', 'disabled RLS is reported');
rollback;
begin;
alter function pilot_private.is_admin() reset search_path;
select is(pg_temp.failing(), 'every function of the extension has search_path pg_catalog, pg_temp', 'a SECURITY DEFINER function without search_path is reported');
rollback;
begin;
alter function pilot_private.bulk_update_service_status_as_admin(text[], text, boolean, uuid) set search_path = public;
select is(pg_temp.failing(), 'every function of the extension has search_path pg_catalog, pg_temp | its privileged part is SECURITY DEFINER with search_path pg_catalog, pg_temp outside public', 'the hardened function''s search_path is checked');
rollback;
begin;
grant execute on function pilot_private.bulk_update_service_status_as_admin(text[], text, boolean, uuid) to anon;
select is(pg_temp.failing(), 'bulk_update_service_status grants: authenticated and service_role, never anon or PUBLIC | function privileges of PUBLIC, anon, authenticated and service_role are exactly the matrix | nothing anon can execute is SECURITY DEFINER',
          'an anon grant on the privileged part is reported three times');
rollback;
begin;
alter table pilot_referral_events add column "Notes" text;
select is(pg_temp.failing(), 'columns of pilot_referral_events are exactly the spec''s | no privacy-forbidden column in pilot_referral_events',
          'a column named like a privacy key is reported (and as outside the spec)');
select is((select detail from pilot_verify() where "check" = 'no privacy-forbidden column in pilot_referral_events'), 'forbidden: notes', '… by its canonical name');
rollback;
begin;
grant select on pilot_metric_snapshots to anon;
select is(pg_temp.failing(), 'anon holds no privilege on pilot_metric_snapshots | table privileges of PUBLIC, anon, authenticated and service_role are exactly the matrix (never TRUNCATE, TRIGGER, REFERENCES)',
          'an anon grant on a table is reported, also against the matrix');
rollback;
begin;
alter function public.bulk_update_service_status(text[], text, boolean, uuid) rename to bulk_update_service_status_gone;
select is(pg_temp.failing(), 'function privileges of PUBLIC, anon, authenticated and service_role are exactly the matrix | hardened public.bulk_update_service_status is installed, SECURITY INVOKER',
          'a missing hardened function is reported (and its renamed stand-in holds privileges the matrix does not give it)');
rollback;
begin;
alter event trigger pilot_guardrails_drop_guard_2_enforce disable;
select is(pg_temp.failing(), 'the drop guard is in place', 'a disabled drop guard is reported');
rollback;
begin;
alter table pilot_private.settings enable trigger settings_changed;
select is(pg_temp.failing(), 'the rate limit''s settings trigger is in place',
          'the settings trigger not enabled ALWAYS (a replica would skip it) is reported');
rollback;
begin;
alter table pilot_private.settings disable trigger settings_changed;
select is(pg_temp.failing(), 'the rate limit''s settings trigger is in place', 'a disabled settings trigger is reported');
rollback;
begin;
alter table pilot_preference_fit_events rename to pilot_preference_fit_events_old;
select is(pg_temp.failing(),
          'policy pilot_admins_delete on pilot_preference_fit_events (DELETE, TO authenticated) | '
          'policy pilot_members_read on pilot_preference_fit_events (SELECT, TO authenticated) | '
          'policy pilot_writers_insert on pilot_preference_fit_events (INSERT, TO authenticated) | '
          'policy pilot_writers_update on pilot_preference_fit_events (UPDATE, TO authenticated) | '
          'table privileges of PUBLIC, anon, authenticated and service_role are exactly the matrix (never TRUNCATE, TRIGGER, REFERENCES) | '
          'table public.pilot_preference_fit_events exists', 'a missing table is reported, with its policies and its privileges');
rollback;
select is(pg_temp.failing(), '', 'and after the rollbacks, all ok again');

-- The drop guard (registered cycles and cohorts count as pilot rows; loaded unaudited, as a restore).
set row_security = off;
insert into pilot_cycles (id, starts_on, ends_on) values ('c1', '2026-01-01', '2026-12-31');
insert into pilot_cohorts (pilot_cycle_id, label) values ('c1', 'c');
reset row_security;
insert into pilot_preference_fit_events (pilot_cycle_id, org_id, cohort_label, recorded_at, preferred_via_platform)
values ('c1', 'a0000000-0000-4000-8000-00000000000a', 'c', now(), true);
select throws_ok('drop extension pilot_guardrails', '2BP01',
                 'DROP EXTENSION pilot_guardrails refused: pilot tables hold rows (public.pilot_cohorts, public.pilot_cycles, public.pilot_preference_fit_events)',
                 'DROP EXTENSION is refused while a pilot table holds rows');
select throws_ok('drop extension if exists pg_trgm, pilot_guardrails cascade', '2BP01', null,
                 'also inside a list of extensions, with CASCADE');
select lives_ok('create extension pg_trgm; drop extension pg_trgm', 'dropping another extension keeps working while pilot rows exist');
begin;
set local pilot_guardrails.allow_data_loss = on;
select lives_ok('drop extension pilot_guardrails', 'allowed after SET pilot_guardrails.allow_data_loss = on');
rollback;
delete from pilot_preference_fit_events;
delete from pilot_cohorts;
delete from pilot_cycles;
select lives_ok('drop extension pilot_guardrails', 'allowed on an empty install');
select * from finish();
