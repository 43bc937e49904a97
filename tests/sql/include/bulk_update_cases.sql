-- SPEC §5 cases of the hardened bulk_update_service_status, shared by the host-fixture run and the
-- vanilla run. Expects: services svc-shelter, svc-food, svc-legal; admin 1111…; editor 2222… of A;
-- 5555… with no membership. Identity set as PostgREST sets it (test_support.run_as).
-- 24 tests.
\set admin '{"role":"authenticated","sub":"11111111-1111-4111-8111-111111111111"}'
\set editor '{"role":"authenticated","sub":"22222222-2222-4222-8222-222222222222"}'
\set metadata_admin '{"role":"authenticated","sub":"55555555-5555-4555-8555-555555555555","user_metadata":{"role":"admin"}}'
\set call 'select updated_count || '' '' || failed_ids::text from public.bulk_update_service_status'

select is(test_support.run_as('authenticated', :'admin', :'call' || $$(array['svc-food', 'svc-legal'], 'L3')$$),
          '2 {}', 'an admin updates two services');
select is((select string_agg(format('%s %s %s', id, verification_status, reviewed_by), ', ' order by id)
             from services where id in ('svc-food', 'svc-legal')),
          'svc-food L3 11111111-1111-4111-8111-111111111111, svc-legal L3 11111111-1111-4111-8111-111111111111',
          'their status is set and reviewed_by is the caller');
select ok((select bool_and(last_admin_review > now() - interval '1 minute') from services where id in ('svc-food', 'svc-legal')),
          'last_admin_review is stamped');
select is(test_support.run_as('authenticated', :'admin', :'call' || $$(array['svc-food'], p_published => false, p_admin_user_id => '11111111-1111-4111-8111-111111111111')$$),
          '1 {}', 'p_admin_user_id equal to the caller is accepted');
select is((select published from services where id = 'svc-food'), false, 'published alone can be set');

select is(test_support.run_as('authenticated', :'editor', :'call' || $$(array['svc-food'], 'L0')$$),
          'ERROR 42501: bulk_update_service_status: the caller is not an app admin (public.app_admins)', 'a non-admin gets 42501');
select is(test_support.run_as('authenticated', :'metadata_admin', :'call' || $$(array['svc-food'], 'L0')$$),
          'ERROR 42501: bulk_update_service_status: the caller is not an app admin (public.app_admins)',
          'user_metadata.role = admin grants nothing');
select is((select verification_status from services where id = 'svc-food'), 'L3', '(and nothing changed)');
select is(test_support.run_as('authenticated', '{"role":"authenticated"}', :'call' || $$(array['svc-food'], 'L0')$$),
          'ERROR 42501: bulk_update_service_status: not signed in', 'no sub claim: 42501');
select matches(test_support.run_as('anon', '{"role":"anon"}', :'call' || $$(array['svc-food'], 'L0')$$),
          '^ERROR 42501: permission denied for function bulk_update_service_status', 'anon cannot execute it');
select is(test_support.run_as('authenticated', :'admin', :'call' || $$(array['svc-food'], 'L1', p_admin_user_id => '22222222-2222-4222-8222-222222222222')$$),
          'ERROR 42501: bulk_update_service_status: p_admin_user_id must be the caller', 'an actor other than the caller: 42501');

select is(test_support.run_as('authenticated', :'admin', :'call' || $$(array[]::text[], 'L1')$$),
          'ERROR 22023: bulk_update_service_status: p_service_ids must hold 1 to 1000 ids', '0 ids: 22023');
select is(test_support.run_as('authenticated', :'admin', :'call' || $$((select array_agg('s' || i) from generate_series(1, 1001) i), 'L1')$$),
          'ERROR 22023: bulk_update_service_status: p_service_ids must hold 1 to 1000 ids', '1001 ids: 22023');
select is(test_support.run_as('authenticated', :'admin',
              $$select updated_count || ' ' || md5(failed_ids::text) from public.bulk_update_service_status(
                  (select array_agg('s' || i) from generate_series(1, 1000) i), 'L1')$$),
          '0 ' || md5((select array_agg('s' || i order by i) from generate_series(1, 1000) i)::text),
          '1000 ids are accepted (all reported as failed, in order)');
select is(test_support.run_as('authenticated', :'admin', :'call' || $$(array['svc-food', null], 'L1')$$),
          'ERROR 22023: bulk_update_service_status: p_service_ids must not contain null', 'a null id: 22023');
select is(test_support.run_as('authenticated', :'admin', :'call' || $$(array['svc-food'], 'L4')$$),
          'ERROR 22023: bulk_update_service_status: p_verification_status must be one of L0, L1, L2, L3', 'an unknown status: 22023');
select is(test_support.run_as('authenticated', :'admin', :'call' || $$(array['svc-food'])$$),
          'ERROR 22023: bulk_update_service_status: give p_verification_status, p_published or both', 'neither field: 22023');
select is(test_support.run_as('authenticated', :'admin', :'call' || $$(array['svc-food', 'svc-food', 'svc-food'], 'L2')$$),
          '1 {}', 'duplicate ids count once');
select is(test_support.run_as('authenticated', :'admin', :'call' || $$(array['zz-missing', 'svc-food', 'aa-missing', 'zz-missing', 'mm'], 'L2')$$),
          '1 {zz-missing,aa-missing,mm}', 'failed_ids lists unmatched ids once, in input order');

-- Backend jobs (service_role): no user id, so they name the acting admin.
select is(test_support.run_as('service_role', '{"role":"service_role"}', :'call' || $$(array['svc-legal'], 'L1')$$),
          'ERROR 42501: bulk_update_service_status: a backend caller must name the acting admin in p_admin_user_id',
          'service_role without p_admin_user_id: 42501');
select is(test_support.run_as('service_role', '{"role":"service_role"}', :'call' || $$(array['svc-legal'], 'L1', p_admin_user_id => '22222222-2222-4222-8222-222222222222')$$),
          'ERROR 42501: bulk_update_service_status: p_admin_user_id is not an app admin (public.app_admins)',
          'service_role naming a non-admin: 42501');
select is(test_support.run_as('service_role', '{"role":"service_role"}', :'call' || $$(array['svc-legal'], 'L1', p_admin_user_id => '11111111-1111-4111-8111-111111111111')$$),
          '1 {}', 'service_role naming an admin succeeds');
select is((select reviewed_by::text from services where id = 'svc-legal'), '11111111-1111-4111-8111-111111111111',
          'reviewed_by is the named admin');

-- Shape: the privileged part is SECURITY DEFINER with search_path pg_catalog, pg_temp outside public; the entry
-- point is SECURITY INVOKER; neither anon nor PUBLIC can execute the privileged part.
select is((select string_agg(format('%s %s %s anon:%s public:%s', p.pronamespace::regnamespace, p.prosecdef,
                                  array_to_string(p.proconfig, ','), has_function_privilege('anon', p.oid, 'execute'),
                                  exists (select 1 from aclexplode(p.proacl) a where a.grantee = 0 and a.privilege_type = 'EXECUTE')),
                           ' | ' order by p.prosecdef)
             from pg_proc p where p.proname in ('bulk_update_service_status', 'bulk_update_service_status_as_admin')),
          'public f search_path=pg_catalog, pg_temp anon:f public:f | pilot_private t search_path=pg_catalog, pg_temp anon:f public:f',
          'entry point SECURITY INVOKER in public; privileged part SECURITY DEFINER, search_path pg_catalog, pg_temp, in pilot_private; no anon or PUBLIC EXECUTE');
