-- SPEC §5 on the Supabase-shaped host: the legacy function (which trusted user_metadata) is
-- replaced, and the hardened one holds every rule.
\set ON_ERROR_STOP 1
\set QUIET 1
set client_min_messages = warning;
\i tests/fixtures/host_baseline.sql
\i tests/fixtures/snapshot.sql
create extension pgtap;

select plan(28);

-- Before: the legacy hole is real (so the tests below would notice if it came back).
select is(test_support.run_as('authenticated', '{"role":"authenticated","sub":"55555555-5555-4555-8555-555555555555","user_metadata":{"role":"admin"}}',
              $$select updated_count::text from public.bulk_update_service_status(array['svc-shelter'], 'L0')$$),
          '1', 'legacy: a user_metadata claim was enough to update services');
update services set verification_status = 'L2' where id = 'svc-shelter';

create extension pilot_guardrails;
select is((select count(*)::int from pg_proc where proname = 'bulk_update_service_status'), 1,
          'install replaced the legacy function: one bulk_update_service_status remains');
select ok(exists (select 1 from pg_depend d join pg_proc p on p.oid = d.objid
                   where p.proname = 'bulk_update_service_status' and d.deptype = 'e'),
          'and it is the extension''s');

\i tests/sql/include/bulk_update_cases.sql

-- The bulk updates above are in the audit trail, which the drop guard counts as pilot rows.
set pilot_guardrails.allow_data_loss = on;
drop extension pilot_guardrails;
select is((select count(*)::int from pg_proc where proname = 'bulk_update_service_status'), 0,
          'DROP EXTENSION removes the hardened function and does not bring the legacy one back');
select * from finish();
