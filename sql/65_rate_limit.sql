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

-- Count this call of the signed-in caller, or refuse it (PGRST → 429 with Retry-After).
create function pilot_private.count_recorder_call() returns boolean
    language plpgsql volatile
    security definer
    set search_path = pg_catalog, pg_temp
as $$
declare
    me uuid;
    -- setting()'s answer, read here (this function is the owner's too): one call fewer per recorder call
    lim int := coalesce((select s.value from pilot_private.settings s where s.setting = 'recorder_calls_per_minute'),
                        (select d.default_value from pilot_private.setting_definitions('recorder_calls_per_minute') d))::int;
    m constant timestamptz := pg_catalog.date_trunc('minute', pg_catalog.now());
    n bigint;
begin
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
