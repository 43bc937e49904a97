-- The per-user rate limit of the recorders (SPEC §10.3).
--
-- Recorder calls of a signed-in user that commit are counted per clock minute; a call over
-- recorder_calls_per_minute (42_settings.sql; 0 = off) is refused with HTTP 429 and Retry-After,
-- through PostgREST's PGRST error form. Backend roles are never limited.
--
-- No shared per-user row: each backend (connection) counts in its own row per user and minute,
-- so one user's concurrent calls never wait on each other (measured on an upserted per-user row:
-- 8 concurrent clients of one user fell from 12,000 to 3,300 inserts/s). The sum over a user's
-- rows of the minute sees committed calls and the caller's own: it may overshoot by the calls in
-- flight at the same moment. A refused call rolls back, its count with it.

create table pilot_private.rate_counters (
    user_id uuid not null,
    minute timestamptz not null,
    backend int not null,
    calls int not null,
    constraint rate_counters_shard primary key (user_id, minute, backend)
);
comment on table pilot_private.rate_counters is
    'Recorder calls per signed-in user, clock minute and backend (SPEC §10.3). Readable by no API role; past minutes are purged by pilot_apply_retention.';
alter table pilot_private.rate_counters enable row level security;

-- The limit, remembered in the backend (src/ffi.rs) until pilot_private.settings changes: the
-- recorders skip count_recorder_call() when it is 0, and count_recorder_call() reads the table only
-- when nothing is remembered. A statement trigger on the table queues a relcache invalidation that
-- every backend processes at its next transaction (the writer's own: at its next command, and at
-- its rollback), which forgets the value. Only the owner may remember a value: a caller who could
-- would switch the limit off for themselves.
create function pilot_private.cached_rate_limit() returns integer
    language c volatile
    set search_path = pg_catalog, pg_temp
    as 'MODULE_PATHNAME', 'pilot_cached_rate_limit';
comment on function pilot_private.cached_rate_limit() is
    'The recorder_calls_per_minute this backend remembered (count_recorder_call() reads it), or null: never read, or pilot_private.settings changed since.';
create function pilot_private.rate_limit_generation() returns bigint
    language c volatile
    set search_path = pg_catalog, pg_temp
    as 'MODULE_PATHNAME', 'pilot_rate_limit_generation';
comment on function pilot_private.rate_limit_generation() is
    'How many relcache invalidations this backend has processed: taken before reading the limit, passed to remember_rate_limit(). Owner only.';
create function pilot_private.remember_rate_limit(generation bigint, settings regclass, value integer) returns void
    language c volatile strict
    set search_path = pg_catalog, pg_temp
    as 'MODULE_PATHNAME', 'pilot_remember_rate_limit';
comment on function pilot_private.remember_rate_limit(bigint, regclass, integer) is
    'Remembers the limit read from settings, unless an invalidation came in since generation or the transaction is REPEATABLE READ or SERIALIZABLE (its snapshot may predate a change). Owner only.';
create function pilot_private.settings_changed() returns trigger
    language c
    set search_path = pg_catalog, pg_temp
    as 'MODULE_PATHNAME', 'pilot_settings_changed';
comment on function pilot_private.settings_changed() is
    'Statement trigger of pilot_private.settings: every backend forgets the rate limit it remembered.';
create trigger settings_changed after insert or update or delete or truncate on pilot_private.settings
    for each statement execute function pilot_private.settings_changed();
-- also while replication (session_replication_role = replica) writes the table
alter table pilot_private.settings enable always trigger settings_changed;
comment on trigger settings_changed on pilot_private.settings is
    'Every backend forgets the rate limit it remembered (cached_rate_limit()).';

-- Count this call of the signed-in caller, or refuse it (PGRST → 429 with Retry-After).
create function pilot_private.count_recorder_call() returns boolean
    language plpgsql volatile
    security definer
    set search_path = pg_catalog, pg_temp
as $$
declare
    me uuid;
    lim int := pilot_private.cached_rate_limit();
    generation bigint;
    m constant timestamptz := pg_catalog.date_trunc('minute', pg_catalog.now());
    n bigint;
begin
    if lim is null then
        -- setting()'s answer, read here (this function is the owner's too), and remembered
        generation := pilot_private.rate_limit_generation();
        lim := coalesce((select s.value from pilot_private.settings s where s.setting = 'recorder_calls_per_minute'),
                        (select d.default_value from pilot_private.setting_definitions('recorder_calls_per_minute') d))::int;
        perform pilot_private.remember_rate_limit(generation, 'pilot_private.settings'::regclass, lim);
    end if;
    -- the limit first: when it is off, nothing else is looked up
    if lim = 0 then
        return false;
    end if;
    me := pilot_private.uid();
    if me is null or pilot_private.acting_is_backend() then
        return false;
    end if;
    -- One statement: count this call in this backend's row, and add the other backends' calls of
    -- this user in this minute. Over the limit, the error rolls the count back with everything else.
    with mine as (
        insert into pilot_private.rate_counters as c (user_id, minute, backend, calls)
        values (me, m, pg_catalog.pg_backend_pid(), 1)
            on conflict on constraint rate_counters_shard do update set calls = c.calls + 1
        returning c.calls)
    select (select mine.calls from mine)
           + coalesce((select pg_catalog.sum(c.calls) from pilot_private.rate_counters c
                        where c.user_id = me and c.minute = m and c.backend <> pg_catalog.pg_backend_pid()), 0)
      into n;
    if n > lim then
        raise sqlstate 'PGRST' using
            message = pg_catalog.jsonb_build_object(
                'code', 'PT429',
                'message', pg_catalog.format('rate limit: at most %s recorder calls per minute per user', lim),
                'hint', 'Retry after the number of seconds in Retry-After.')::text,
            detail = pg_catalog.jsonb_build_object(
                'status', 429,
                'headers', pg_catalog.jsonb_build_object('Retry-After', greatest(1, least(60,
                    pg_catalog.ceil(pg_catalog.date_part('epoch', m + interval '1 minute' - pg_catalog.now()))::int))::text))::text;
    end if;
    return true;
end
$$;
comment on function pilot_private.count_recorder_call() is
    'True when it counted this recorder call: counts a recorder call of the signed-in caller in its backend''s row, or refuses it over recorder_calls_per_minute: SQLSTATE PGRST, HTTP 429 with Retry-After (SPEC §10.3).';
