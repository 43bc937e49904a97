-- The rate limit remembered in the backend (sql/65_rate_limit.sql, src/ffi.rs): the recorders skip
-- count_recorder_call() when the remembered limit is 0. Attacks first: nobody but the owner plants
-- a limit (0 would switch the limit off for the caller); the trigger function runs only as a
-- trigger. Then the value never outlives a change of pilot_private.settings: the session's own
-- change, its rolled-back change, an invalidation that arrives while the table is being read
-- (the generation), and a read under a REPEATABLE READ snapshot. The change committed by another
-- session is tested through PostgREST's protocol (tests/postgrest_replay.rs, rate_limit_over_http).
\set ON_ERROR_STOP 1
\set QUIET 1
set client_min_messages = warning;
\i tests/fixtures/host_baseline.sql
create extension pgtap;
create extension pilot_guardrails;
\i tests/fixtures/cycles.sql

select plan(19);

\set editor '22222222-2222-4222-8222-222222222222'

create function pg_temp.as_user(sub text) returns void language sql as $$
    select set_config('request.jwt.claims', json_build_object('role', 'authenticated', 'sub', sub)::text, false);
    select null::void;
$$;
-- one recorder call of the editor, as authenticated: 'ok' or the SQLSTATE it failed with
create function pg_temp.call_recorder() returns text language plpgsql as $$
begin
    perform pilot_record_contact_attempt(jsonb_build_object(
        'pilot_cycle_id', 'cycle-1', 'service_id', 'svc-shelter', 'recorded_by_org_id', 'a0000000-0000-4000-8000-00000000000a',
        'entity_key_hash', repeat('ab', 32), 'attempt_channel', 'phone', 'attempt_outcome', 'connected',
        'attempted_at', '2026-06-01T10:00:00Z'));
    return 'ok';
exception when others then
    return sqlstate;
end
$$;
grant execute on function pg_temp.call_recorder() to authenticated;
select pg_temp.as_user(:'editor');

-- 1–3. Nobody but the owner remembers a limit or reads the generation.
set role authenticated;
select throws_ok($$select pilot_private.remember_rate_limit(pilot_private.rate_limit_generation(), 'pilot_private.settings', 0)$$,
                 '42501', null, 'authenticated cannot plant a limit of 0');
select throws_ok($$select pilot_private.remember_rate_limit(0, 'pilot_private.settings', 0)$$,
                 '42501', null, 'authenticated cannot plant a limit, whatever the generation');
reset role;
set role service_role;
select throws_ok($$select pilot_private.remember_rate_limit(0, 'pilot_private.settings', 0)$$,
                 '42501', null, 'service_role cannot plant a limit either');
reset role;
-- 4. The trigger function is a trigger function only (PostgreSQL lets a C function returning
-- trigger be called in SQL; it refuses).
select throws_ok($$select pilot_private.settings_changed()$$, '39P01', null,
                 'settings_changed() refuses a call outside a trigger, even by the owner');

-- 5–8. A call remembers the limit; the session's own change forgets it and the new one applies.
-- (Within one clock minute: the count of 5 must still be there at 8.)
select pg_sleep(61 - extract(second from clock_timestamp())) where extract(second from clock_timestamp()) > 50;
select pilot_configure('recorder_calls_per_minute', '2');
set role authenticated;
select is(pg_temp.call_recorder(), 'ok', 'a call under a limit of 2');
select is(pilot_private.cached_rate_limit(), 2, 'the call remembered the limit');
reset role;
select pilot_configure('recorder_calls_per_minute', '1');
select is(pilot_private.cached_rate_limit(), null, 'the session''s own change: nothing remembered');
set role authenticated;
select is(pg_temp.call_recorder(), 'PGRST', 'the second call of the minute is over the new limit of 1 (429)');
reset role;

-- 9–13. With the limit off the call is not counted; a change rolled back is forgotten with it.
select pilot_configure('recorder_calls_per_minute', '0');
delete from pilot_private.rate_counters;
set role authenticated;
select is(pg_temp.call_recorder(), 'ok', 'limit off: the call passes');
reset role;
select is((select count(*) from pilot_private.rate_counters), 0::bigint, 'limit off: nothing counted');
begin;
select pilot_configure('recorder_calls_per_minute', '1');
set local role authenticated;
select is(pg_temp.call_recorder(), 'ok', 'inside the transaction, the first call under 1');
rollback;
select is(pilot_private.cached_rate_limit(), null, 'rolled back: the limit of 1 is not remembered');
set role authenticated;
select is((select array[pg_temp.call_recorder(), pg_temp.call_recorder()]), array['ok', 'ok'],
          'after the rollback, the limit is off again');
reset role;

-- 14–16. An invalidation that comes in between the generation and the remembering (a change
-- committed after the read's snapshot) keeps the read value from being remembered.
select pilot_configure('recorder_calls_per_minute', '0');
select is(pilot_private.cached_rate_limit(), null, 'nothing remembered after a change');
create temp table generation as select pilot_private.rate_limit_generation() g;
analyze pilot_private.settings;  -- a relcache invalidation of the table
select pilot_private.remember_rate_limit((select g from generation), 'pilot_private.settings', 7);
select is(pilot_private.cached_rate_limit(), null, 'an invalidation since the generation: not remembered');
select pilot_private.remember_rate_limit(pilot_private.rate_limit_generation(), 'pilot_private.settings', 7);
select is(pilot_private.cached_rate_limit(), 7, 'the current generation: remembered');
-- 17. And a change of the table forgets it
update pilot_private.settings set value = value where setting = 'recorder_calls_per_minute';
select is(pilot_private.cached_rate_limit(), null, 'an UPDATE of the table, as the owner: forgotten');

-- 18–19. A read under a transaction snapshot is not remembered: a REPEATABLE READ transaction that
-- took its snapshot before a change (whose invalidation it processes at its next lock) would
-- otherwise keep the old value for the connection's later transactions.
begin isolation level repeatable read;
set local role authenticated;
select pg_temp.call_recorder() as rr_call \gset
commit;
select is(:'rr_call'::text, 'ok', 'a call in REPEATABLE READ (the limit off)');
select is(pilot_private.cached_rate_limit(), null, 'REPEATABLE READ: the limit read is not remembered, for later transactions either');

select * from finish();
