-- SPEC §2 on a host whose default privileges (Supabase's, tests/fixtures/default_privileges.sql)
-- were set before the host tables and the extension were created, and not revoked afterwards:
-- the attacks of tests/sql/include/security_attacks.sql, then triggers of others on public.services.
\set ON_ERROR_STOP 1
\set QUIET 1
set client_min_messages = warning;
\i tests/fixtures/default_privileges.sql
\set keep_supabase_grants 1
\i tests/fixtures/host_baseline.sql
create extension pgtap;
create extension pilot_guardrails;
\i tests/fixtures/cycles.sql

select plan(35);
select is((select string_agg(r, ', ' order by r) from unnest(array['anon', 'authenticated', 'service_role']) r
            where has_table_privilege(r, 'public.services', 'trigger')),
          'anon, authenticated, service_role', 'the fixture is as Supabase leaves it: API roles hold TRIGGER on public.services');
select is((select string_agg(p.oid::regprocedure::text, ', ') from pg_depend d join pg_proc p on p.oid = d.objid
            where d.refobjid = (select oid from pg_extension where extname = 'pilot_guardrails') and d.deptype = 'e'
              and (has_function_privilege('anon', p.oid, 'execute'))),
          null, 'anon executes nothing of the extension, whatever the default privileges');
select is((select "check" || ': ' || detail from pilot_verify() where not ok), 
          'no API role holds TRIGGER on public.services: held by anon, authenticated, service_role: revoke trigger on public.services from anon, authenticated, service_role',
          'pilot_verify(): all ok but the host''s TRIGGER grant on public.services, which it reports');

\i tests/sql/include/security_attacks.sql

-- Triggers of others: the attacker attaches a trigger to public.services, with a function it owns
-- (in public, where Supabase lets it create) and with one in its temporary schema. The trigger
-- would run as whoever writes: as the owner, inside the SECURITY DEFINER part of the bulk update.
set role authenticated;
create function public.evil() returns trigger language plpgsql as $$
begin
    insert into pg_temp.pwned values (current_user, 'services trigger');
    return new;
end
$$;
create trigger evil after update on public.services for each row execute function public.evil();
reset role;
set role authenticated;
set attack.armed = on;
select pg_temp.attempt('bulk update under a foreign trigger', :'admin', $q$select * from public.bulk_update_service_status(array['svc-shelter'], 'L1')$q$);
select pg_temp.attempt('message', :'admin', $q$do $d$ begin perform public.bulk_update_service_status(array['svc-shelter'], 'L1');
    exception when others then insert into pg_temp.outcome values ('refusal', sqlerrm); end $d$$q$);
set attack.armed = off;
reset role;
select is((select result from pg_temp.outcome where label = 'bulk update under a foreign trigger'), '42501',
          'the admin''s bulk update refuses (42501) while public.services carries the attacker''s trigger');
select is((select result from pg_temp.outcome where label = 'refusal'),
          'bulk_update_service_status: refused: public.services has a trigger whose function an API role owns or that lives in a temporary schema: evil',
          'naming the trigger');
select is((select count(*)::int from pg_temp.pwned where via = 'services trigger'), 0, 'the trigger never ran');
select is((select verification_status from public.services where id = 'svc-shelter'), 'L2', 'nothing was updated');
select is((select detail from pilot_verify() where "check" like 'no trigger on public.services%'),
          'bulk_update_service_status refuses while these are enabled: evil', 'pilot_verify() fails on the trigger');
-- A backend job (service_role) refuses too: the trigger would run as service_role.
set role service_role;
select pg_temp.attempt('backend bulk update under a foreign trigger', '{"role":"service_role"}',
    $q$select * from public.bulk_update_service_status(array['svc-shelter'], 'L1', p_admin_user_id => '11111111-1111-4111-8111-111111111111')$q$);
reset role;
select is((select result from pg_temp.outcome where label = 'backend bulk update under a foreign trigger'), '42501',
          'a backend job''s bulk update refuses too');

-- The same with the trigger function in the attacker's temporary schema.
drop trigger evil on public.services;
set role authenticated;
create function pg_temp.evil() returns trigger language plpgsql as $$
begin
    insert into pg_temp.pwned values (current_user, 'services trigger');
    return new;
end
$$;
select pg_temp.attempt('temporary trigger function', :'nobody',
    $q$create trigger evil_temp after update on public.services for each row execute function pg_temp.evil()$q$);
select pg_temp.attempt('bulk update under a temporary trigger', :'admin', $q$select * from public.bulk_update_service_status(array['svc-shelter'], 'L1')$q$);
reset role;
select is((select result from pg_temp.outcome where label = 'temporary trigger function'), 'ok',
          'with TRIGGER on public.services, the attacker attaches a trigger whose function is in pg_temp');
select is((select result from pg_temp.outcome where label = 'bulk update under a temporary trigger'), '42501',
          'the admin''s bulk update refuses (42501)');

-- Without the triggers, it works again, and the trigger functions never ran.
drop trigger evil_temp on public.services;
set role authenticated;
select pg_temp.attempt('bulk update, no foreign trigger', :'admin', $q$select * from public.bulk_update_service_status(array['svc-shelter'], 'L1')$q$);
reset role;
select is((select result from pg_temp.outcome where label = 'bulk update, no foreign trigger'), 'ok', 'without the triggers, the update runs');
select is((select verification_status from public.services where id = 'svc-shelter'), 'L1', 'and is applied');
select is((select last_value from pg_temp.ran_as_other_role where is_called), null, 'no attacker code ran as another role');
select * from finish();
