-- The scorecard's maintained counts (SPEC §8): what lets pilot_scorecard answer in near-constant
-- time however many rows a cycle holds, exactly.
--
-- Every number of M1, M2, M3, M5, M6 and M7 is kept up to date by statement-level triggers with
-- transition tables on the five tables it comes from, whoever writes them: the recorders, direct
-- writes through PostgREST, retention, re-keying, and pg_restore (its COPY fires the triggers).
-- M4 is read from its rows (a few per scoped service, through its index).
--
--   scorecard_counts   per (cycle, organization, source, bucket): rows, and the flagged ones among
--                      them; rows with a null organization hold the whole cycle (pilot_cycle_scorecard's
--                      total: M2 and M5 are not sums of the organizations'). Written as deltas — one row per write statement and group, inserted,
--                      never updated — so concurrent writers of an organization never wait on a
--                      shared row. Now and then (1 statement in 64, and every DELETE) a writer folds
--                      the deltas of its (cycle, organization) and of its cycle into one compacted row per key,
--                      under a transaction-level advisory lock it only tries to take. Readers sum
--                      compacted rows and deltas: a READ ONLY reader never compacts.
--   scorecard_people   per (cycle, organization, entity_key_hash), and per (cycle, hash) with a null
--                      organization for the cycle's total: attempts and failures. It tells when a
--                      person crosses 0 → 1 attempts or 1 → 2 failures (M5); the crossings become
--                      deltas of scorecard_counts. Writers about the same person wait for each
--                      other on that person's row; nobody else does. A row whose attempts reach 0
--                      is deleted (retention leaves no hash behind).
--
-- Sources: 1 contact attempts (flagged: failed), 2 people (rows: distinct non-null hashes,
-- flagged: those with ≥ 2 failures), 3 referrals (flagged: terminal), 4 data-decay audits
-- (flagged: fatal), 5 preference-fit events (flagged: preferred via the platform), and M2's
-- histogram: 6 durations per block of 4,096 seconds (bucket: seconds / 4096), 8 per span of 64
-- seconds (seconds / 64), 7 per second. A percentile walks source 6 to the block holding its
-- rank, source 8 inside that block, source 7 inside that span (80_scorecard.sql).
--
-- A duration is fixed on the connection row when it is written (seconds_to_connection, computed
-- by a BEFORE trigger from the anchor, which it locks FOR SHARE) and recomputed when the anchor's
-- time moves (the anchor's UPDATE trigger touches its connections): the row always holds what
-- SPEC §8 defines. The tables are not config-dumped: a restore's COPY rebuilds them through the
-- triggers. Data loaded with triggers disabled: select pilot_rebuild_scorecard_counts().
-- Exact under READ COMMITTED writers (PostgREST's); compaction is skipped at other isolation
-- levels, and a REPEATABLE READ writer that meets a concurrent change of the same person fails
-- with 40001 rather than count wrong.

create table pilot_private.scorecard_counts (
    pilot_cycle_id text not null,
    -- null: the whole cycle (people counted once across organizations)
    org_id uuid,
    source smallint not null constraint source_known check (source between 1 and 8),
    bucket bigint not null default 0,
    n bigint not null,
    flagged bigint not null default 0,
    compacted boolean not null default false
);
comment on table pilot_private.scorecard_counts is
    'Maintained counts of the scorecard (sql/79_scorecard_counts.sql): per cycle, organization, source and bucket, rows and flagged rows, as compacted rows plus deltas. Members read their organization''s rows (row-level security); written by triggers only.';
create index scorecard_counts_key on pilot_private.scorecard_counts (pilot_cycle_id, org_id, source, bucket);
create unique index scorecard_counts_compacted
    on pilot_private.scorecard_counts (pilot_cycle_id, org_id, source, bucket) nulls not distinct where compacted;
alter table pilot_private.scorecard_counts enable row level security;
-- As the scorecard reads its sources: members of the organization and admins (backend roles
-- bypass row-level security). The cycle-wide rows (org_id null) are for admins.
create policy pilot_counts_select on pilot_private.scorecard_counts for select to authenticated
    using (org_id = any ((select coalesce(pilot_private.cached_member_orgs(false), pilot_private.member_orgs(writers_only => false)))::uuid[])
           or (select coalesce(pilot_private.cached_is_admin(), pilot_private.is_admin())));

create table pilot_private.scorecard_people (
    pilot_cycle_id text not null,
    org_id uuid,
    entity_key_hash text not null,
    attempts bigint not null,
    failures bigint not null,
    constraint scorecard_people_key unique nulls not distinct (pilot_cycle_id, org_id, entity_key_hash)
);
comment on table pilot_private.scorecard_people is
    'Per cycle, organization (null: the whole cycle) and entity_key_hash, attempts and failures: M5''s crossings (sql/79_scorecard_counts.sql). Readable by no API role; written by triggers only.';
alter table pilot_private.scorecard_people enable row level security;

-- Fold the deltas of one (cycle, organization) into its compacted rows; rows that fall to zero
-- go. Called by the counting triggers; skipped when another transaction is folding the same pair
-- or the transaction is not READ COMMITTED (its snapshot could miss committed deltas).
create function pilot_private.compact_scorecard_counts(v_cycle text, v_org uuid) returns void
    language plpgsql volatile
    set search_path = pg_catalog, pg_temp
as $$
declare
    sources smallint[];
    buckets bigint[];
begin
    if pg_catalog.current_setting('transaction_isolation') <> 'read committed'
       or not pg_catalog.pg_try_advisory_xact_lock(1347179588, pg_catalog.hashtext(v_cycle || '/' || coalesce(v_org::text, 'cycle'))) then
        return;
    end if;
    with moved as (
        delete from pilot_private.scorecard_counts c
         where c.pilot_cycle_id = v_cycle and (c.org_id = v_org or (v_org is null and c.org_id is null)) and not c.compacted
        returning c.source, c.bucket, c.n, c.flagged
    ), folded as (
        insert into pilot_private.scorecard_counts as c (pilot_cycle_id, org_id, source, bucket, n, flagged, compacted)
        select v_cycle, v_org, m.source, m.bucket, pg_catalog.sum(m.n), pg_catalog.sum(m.flagged), true
          from moved m group by m.source, m.bucket
        on conflict (pilot_cycle_id, org_id, source, bucket) where compacted
        do update set n = c.n + excluded.n, flagged = c.flagged + excluded.flagged
        returning c.source, c.bucket, c.n, c.flagged
    )
    select pg_catalog.array_agg(f.source), pg_catalog.array_agg(f.bucket) into sources, buckets
      from folded f where f.n = 0 and f.flagged = 0;
    if sources is not null then
        delete from pilot_private.scorecard_counts c
         using rows from (pg_catalog.unnest(sources), pg_catalog.unnest(buckets)) z(source, bucket)
         where c.pilot_cycle_id = v_cycle and (c.org_id = v_org or (v_org is null and c.org_id is null)) and c.compacted
           and c.source = z.source and c.bucket = z.bucket and c.n = 0 and c.flagged = 0;
    end if;
end
$$;
comment on function pilot_private.compact_scorecard_counts(text, uuid) is
    'Folds the deltas of one (cycle, organization) of scorecard_counts into compacted rows, under a try-only advisory lock, in READ COMMITTED only.';

-- Fold the (cycle, organization) pairs a write statement touched, and each cycle's whole-cycle
-- rows. The counting triggers call it for 1 statement in 64 (and every DELETE), so that deltas
-- stay few: a reader sums about 64 rows of deltas per pair at most, on average.
create function pilot_private.compact_scorecard_pairs(cycles text[], orgs uuid[]) returns void
    language plpgsql volatile
    set search_path = pg_catalog, pg_temp
as $$
begin
    perform pilot_private.compact_scorecard_counts(p.c, p.o)
       from (select distinct z.c, z.o from rows from (pg_catalog.unnest(cycles), pg_catalog.unnest(orgs)) z(c, o)
             union
             select distinct z.c, null::uuid from pg_catalog.unnest(cycles) z(c)) p;
end
$$;
comment on function pilot_private.compact_scorecard_pairs(text[], uuid[]) is
    'Compacts the given (cycle, organization) pairs of scorecard_counts and their cycles'' whole-cycle rows.';

-- Referrals (M3), data-decay audits (M6), preference fit (M7): rows and flagged rows per (cycle,
-- organization) of one source.
create function pilot_private.add_flag_counts(v_source smallint, cycles text[], orgs uuid[], signs int[], flags boolean[],
                                              op text) returns void
    language plpgsql volatile
    set search_path = pg_catalog, pg_temp
as $$
begin
    with d as (
        select z.c, z.o, pg_catalog.sum(z.s) as n, coalesce(pg_catalog.sum(z.s) filter (where z.f), 0) as flagged
          from rows from (pg_catalog.unnest(cycles), pg_catalog.unnest(orgs), pg_catalog.unnest(signs), pg_catalog.unnest(flags)) z(c, o, s, f)
         group by grouping sets ((z.c, z.o), (z.c))
    )
    insert into pilot_private.scorecard_counts (pilot_cycle_id, org_id, source, n, flagged)
    select d.c, d.o, v_source, d.n, d.flagged from d where d.n <> 0 or d.flagged <> 0;
    if op = 'DELETE' or pg_catalog.random() < 1.0 / 64 then
        perform pilot_private.compact_scorecard_pairs(cycles, orgs);
    end if;
end
$$;
comment on function pilot_private.add_flag_counts(smallint, text[], uuid[], integer[], boolean[], text) is
    'Adds signed rows of one source (3 referrals, 4 data-decay audits, 5 preference fit) to the maintained counts: rows and flagged rows.';

-- Connections (M2): signed durations, per block of 4,096 seconds (source 6), per span of 64
-- seconds (8) and per second (7).
create function pilot_private.add_duration_counts(cycles text[], orgs uuid[], seconds bigint[], signs int[], op text) returns void
    language plpgsql volatile
    set search_path = pg_catalog, pg_temp
as $$
begin
    with rows_ as (
        select * from rows from (pg_catalog.unnest(cycles), pg_catalog.unnest(orgs), pg_catalog.unnest(seconds), pg_catalog.unnest(signs)) z(c, o, sec, s) where z.sec is not null
    ), d as (
        select r.c, r.o, 6::smallint as source, r.sec / 4096 as bucket, pg_catalog.sum(r.s) as n
          from rows_ r group by grouping sets ((r.c, r.o, r.sec / 4096), (r.c, r.sec / 4096))
        union all
        select r.c, r.o, 8::smallint, r.sec / 64, pg_catalog.sum(r.s) from rows_ r group by grouping sets ((r.c, r.o, r.sec / 64), (r.c, r.sec / 64))
        union all
        select r.c, r.o, 7::smallint, r.sec, pg_catalog.sum(r.s) from rows_ r group by grouping sets ((r.c, r.o, r.sec), (r.c, r.sec))
    )
    insert into pilot_private.scorecard_counts (pilot_cycle_id, org_id, source, bucket, n)
    select d.c, d.o, d.source, d.bucket, d.n from d where d.n <> 0;
    if op = 'DELETE' or pg_catalog.random() < 1.0 / 64 then
        perform pilot_private.compact_scorecard_pairs(cycles, orgs);
    end if;
end
$$;
comment on function pilot_private.add_duration_counts(text[], uuid[], bigint[], integer[], text) is
    'Adds signed durations (seconds_to_connection) to the maintained counts: per block of 4,096 seconds, per span of 64 seconds, per second.';

-- ---------------------------------------------------------------------------------------------
-- The triggers. Statement-level, AFTER, with transition tables (one trigger per event: PostgreSQL
-- allows transition tables only on single-event triggers); SECURITY DEFINER, because no API role
-- writes the counts. They read nothing but the transition tables, except the anchors' UPDATE,
-- which touches the connections of anchors whose time moved so that their durations follow.

create function pilot_private.count_contact_attempts() returns trigger
    language plpgsql volatile
    security definer
    set search_path = pg_catalog, pg_temp
as $$
declare
    v_cycles text[];
    v_orgs uuid[];
    v_hashes text[];
    v_signs int[];
    v_failed boolean[];
    org_attempts bigint;
    org_failures bigint;
    cycle_attempts bigint;
    cycle_failures bigint;
begin
    -- PL/pgSQL plans a statement when it first runs it: old_rows is read only where it exists.
    if tg_op <> 'INSERT' then
        select pg_catalog.array_agg(r.pilot_cycle_id), pg_catalog.array_agg(r.recorded_by_org_id), pg_catalog.array_agg(r.entity_key_hash),
               pg_catalog.array_agg(-1), pg_catalog.array_agg(r.attempt_outcome <> 'connected')
          into v_cycles, v_orgs, v_hashes, v_signs, v_failed from old_rows r;
    end if;
    if tg_op <> 'DELETE' then
        select v_cycles || pg_catalog.array_agg(r.pilot_cycle_id), v_orgs || pg_catalog.array_agg(r.recorded_by_org_id),
               v_hashes || pg_catalog.array_agg(r.entity_key_hash), v_signs || pg_catalog.array_agg(1),
               v_failed || pg_catalog.array_agg(r.attempt_outcome <> 'connected')
          into v_cycles, v_orgs, v_hashes, v_signs, v_failed from new_rows r;
    end if;
    if tg_op = 'UPDATE' then
        -- connections follow their anchor's time (set_seconds_to_connection recomputes the duration)
        update public.pilot_connection_events x set seconds_to_connection = null
          from new_rows n join old_rows o on o.id = n.id
         where x.contact_attempt_event_id = n.id and n.attempted_at is distinct from o.attempted_at;
    end if;
    if tg_op = 'INSERT' and pg_catalog.cardinality(v_cycles) = 1 then
        -- One row inserted (a recorder call): the same counts in three plain statements. The
        -- person's cycle-wide row is locked before the organization's, as below (key order).
        if v_hashes[1] is not null then
            insert into pilot_private.scorecard_people as p (pilot_cycle_id, org_id, entity_key_hash, attempts, failures)
            values (v_cycles[1], null, v_hashes[1], 1, v_failed[1]::int)
            on conflict (pilot_cycle_id, org_id, entity_key_hash)
            do update set attempts = p.attempts + 1, failures = p.failures + excluded.failures
            returning p.attempts, p.failures into cycle_attempts, cycle_failures;
            insert into pilot_private.scorecard_people as p (pilot_cycle_id, org_id, entity_key_hash, attempts, failures)
            values (v_cycles[1], v_orgs[1], v_hashes[1], 1, v_failed[1]::int)
            on conflict (pilot_cycle_id, org_id, entity_key_hash)
            do update set attempts = p.attempts + 1, failures = p.failures + excluded.failures
            returning p.attempts, p.failures into org_attempts, org_failures;
        end if;
        insert into pilot_private.scorecard_counts (pilot_cycle_id, org_id, source, n, flagged)
        select v_cycles[1], x.o, x.source, x.n, x.flagged
          from (values (v_orgs[1], 1::smallint, 1, v_failed[1]::int),
                       (null, 1::smallint, 1, v_failed[1]::int),
                       (v_orgs[1], 2::smallint, (org_attempts = 1)::int, (v_failed[1] and org_failures = 2)::int),
                       (null, 2::smallint, (cycle_attempts = 1)::int, (v_failed[1] and cycle_failures = 2)::int)) x(o, source, n, flagged)
         where x.n <> 0 or x.flagged <> 0;
        if pg_catalog.random() < 1.0 / 64 then
            perform pilot_private.compact_scorecard_pairs(v_cycles, v_orgs);
        end if;
        return null;
    end if;
    -- One statement: M1's attempts and failures per (cycle, organization) and per cycle; M5's
    -- people in the organization and in the whole cycle (org null), whose crossings of 0 → 1
    -- attempts and 1 → 2 failures become deltas. People rows are locked in key order (no deadlock
    -- between two multi-row statements).
    with rows_ as (
        select * from rows from (pg_catalog.unnest(v_cycles), pg_catalog.unnest(v_orgs), pg_catalog.unnest(v_hashes),
                                 pg_catalog.unnest(v_signs), pg_catalog.unnest(v_failed)) z(c, o, h, s, f)
    ), per_org as (
        select r.c, r.o, pg_catalog.sum(r.s) as n, coalesce(pg_catalog.sum(r.s) filter (where r.f), 0) as flagged
          from rows_ r group by grouping sets ((r.c, r.o), (r.c))
    ), per_person as (
        select r.c, r.o, r.h, pg_catalog.sum(r.s) as da, coalesce(pg_catalog.sum(r.s) filter (where r.f), 0) as df
          from rows_ r where r.h is not null
         group by grouping sets ((r.c, r.o, r.h), (r.c, r.h))
    ), changed as (
        select * from per_person p where p.da <> 0 or p.df <> 0
    ), kept as (
        insert into pilot_private.scorecard_people as p (pilot_cycle_id, org_id, entity_key_hash, attempts, failures)
        select ch.c, ch.o, ch.h, ch.da, ch.df from changed ch order by ch.c, ch.o nulls first, ch.h
        on conflict (pilot_cycle_id, org_id, entity_key_hash)
        do update set attempts = p.attempts + excluded.attempts, failures = p.failures + excluded.failures
        returning p.pilot_cycle_id, p.org_id, p.entity_key_hash, p.attempts, p.failures
    ), crossed as (
        select k.pilot_cycle_id as c, k.org_id as o,
               pg_catalog.sum((k.attempts > 0)::int - (k.attempts - ch.da > 0)::int) as n,
               pg_catalog.sum((k.failures >= 2)::int - (k.failures - ch.df >= 2)::int) as flagged
          from kept k
          join changed ch on ch.c = k.pilot_cycle_id and ch.h = k.entity_key_hash and (ch.o is null) = (k.org_id is null)
                         and coalesce(ch.o, '00000000-0000-0000-0000-000000000000') = coalesce(k.org_id, '00000000-0000-0000-0000-000000000000')
         group by 1, 2
    )
    insert into pilot_private.scorecard_counts (pilot_cycle_id, org_id, source, n, flagged)
    select d.c, d.o, 1, d.n, d.flagged from per_org d where d.n <> 0 or d.flagged <> 0
    union all
    select x.c, x.o, 2, x.n, x.flagged from crossed x where x.n <> 0 or x.flagged <> 0;

    if tg_op <> 'INSERT' then
        -- people with no attempts left go (retention and deletes leave no hash behind)
        delete from pilot_private.scorecard_people p
         using (select distinct z.c, z.o, z.h from rows from (pg_catalog.unnest(v_cycles), pg_catalog.unnest(v_orgs),
                                                                pg_catalog.unnest(v_hashes)) z(c, o, h) where z.h is not null) z
         where p.pilot_cycle_id = z.c and (p.org_id = z.o or p.org_id is null) and p.entity_key_hash = z.h
           and p.attempts = 0;
    end if;
    if tg_op = 'DELETE' or pg_catalog.random() < 1.0 / 64 then
        perform pilot_private.compact_scorecard_pairs(v_cycles, v_orgs);
    end if;
    return null;
end
$$;
comment on function pilot_private.count_contact_attempts() is
    'Statement trigger of pilot_contact_attempt_events: keeps M1''s and M5''s maintained counts, and the durations of connections whose anchor time moved.';

create function pilot_private.count_referrals() returns trigger
    language plpgsql volatile
    security definer
    set search_path = pg_catalog, pg_temp
as $$
declare
    v_cycles text[];
    v_orgs uuid[];
    v_signs int[];
    v_flags boolean[];
begin
    if tg_op <> 'INSERT' then
        select pg_catalog.array_agg(r.pilot_cycle_id), pg_catalog.array_agg(r.source_org_id), pg_catalog.array_agg(-1),
               pg_catalog.array_agg(r.referral_state <> 'initiated')
          into v_cycles, v_orgs, v_signs, v_flags from old_rows r;
    end if;
    if tg_op <> 'DELETE' then
        select v_cycles || pg_catalog.array_agg(r.pilot_cycle_id), v_orgs || pg_catalog.array_agg(r.source_org_id),
               v_signs || pg_catalog.array_agg(1), v_flags || pg_catalog.array_agg(r.referral_state <> 'initiated')
          into v_cycles, v_orgs, v_signs, v_flags from new_rows r;
    end if;
    if tg_op = 'UPDATE' then
        update public.pilot_connection_events x set seconds_to_connection = null
          from new_rows n join old_rows o on o.id = n.id
         where x.referral_event_id = n.id and n.created_at is distinct from o.created_at;
    end if;
    perform pilot_private.add_flag_counts(3::smallint, v_cycles, v_orgs, v_signs, v_flags, tg_op);
    return null;
end
$$;
comment on function pilot_private.count_referrals() is
    'Statement trigger of pilot_referral_events: keeps M3''s maintained counts, and the durations of connections whose anchor time moved.';

-- Data-decay audits (M6) and preference fit (M7): one function for both tables, whose
-- organization column is org_id; the trigger's arguments name the source and the flag column.
create function pilot_private.count_flagged_rows() returns trigger
    language plpgsql volatile
    security definer
    set search_path = pg_catalog, pg_temp
as $$
declare
    v_source constant smallint := tg_argv[0]::smallint;
    flag_column constant text := tg_argv[1];
    v_cycles text[];
    v_orgs uuid[];
    v_signs int[];
    v_flags boolean[];
begin
    if tg_op <> 'INSERT' then
        select pg_catalog.array_agg(r.pilot_cycle_id), pg_catalog.array_agg(r.org_id), pg_catalog.array_agg(-1),
               pg_catalog.array_agg((pg_catalog.to_jsonb(r.*) ->> flag_column)::boolean)
          into v_cycles, v_orgs, v_signs, v_flags from old_rows r;
    end if;
    if tg_op <> 'DELETE' then
        select v_cycles || pg_catalog.array_agg(r.pilot_cycle_id), v_orgs || pg_catalog.array_agg(r.org_id),
               v_signs || pg_catalog.array_agg(1), v_flags || pg_catalog.array_agg((pg_catalog.to_jsonb(r.*) ->> flag_column)::boolean)
          into v_cycles, v_orgs, v_signs, v_flags from new_rows r;
    end if;
    perform pilot_private.add_flag_counts(v_source, v_cycles, v_orgs, v_signs, v_flags, tg_op);
    return null;
end
$$;
comment on function pilot_private.count_flagged_rows() is
    'Statement trigger of pilot_data_decay_audits (M6: is_fatal) and pilot_preference_fit_events (M7: preferred_via_platform): keeps their maintained counts; arguments: the source and the flag column.';

create function pilot_private.count_connections() returns trigger
    language plpgsql volatile
    security definer
    set search_path = pg_catalog, pg_temp
as $$
declare
    v_cycles text[];
    v_orgs uuid[];
    v_seconds bigint[];
    v_signs int[];
begin
    if tg_op <> 'INSERT' then
        select pg_catalog.array_agg(r.pilot_cycle_id), pg_catalog.array_agg(r.org_id), pg_catalog.array_agg(r.seconds_to_connection),
               pg_catalog.array_agg(-1)
          into v_cycles, v_orgs, v_seconds, v_signs from old_rows r;
    end if;
    if tg_op <> 'DELETE' then
        select v_cycles || pg_catalog.array_agg(r.pilot_cycle_id), v_orgs || pg_catalog.array_agg(r.org_id),
               v_seconds || pg_catalog.array_agg(r.seconds_to_connection), v_signs || pg_catalog.array_agg(1)
          into v_cycles, v_orgs, v_seconds, v_signs from new_rows r;
    end if;
    perform pilot_private.add_duration_counts(v_cycles, v_orgs, v_seconds, v_signs, tg_op);
    return null;
end
$$;
comment on function pilot_private.count_connections() is
    'Statement trigger of pilot_connection_events: keeps M2''s maintained durations.';

-- TRUNCATE (owners only; it has no transition table): the table's sources start from zero.
create function pilot_private.count_truncated() returns trigger
    language plpgsql volatile
    security definer
    set search_path = pg_catalog, pg_temp
as $$
declare
    sources constant smallint[] := tg_argv::smallint[];
begin
    delete from pilot_private.scorecard_counts c where c.source = any (sources);
    if 2 = any (sources) then
        delete from pilot_private.scorecard_people;
    end if;
    return null;
end
$$;
comment on function pilot_private.count_truncated() is
    'TRUNCATE trigger of the counted tables: removes the maintained counts of the sources given as arguments.';

-- A connection's duration, fixed when it is written and whenever its anchor's time moves (the
-- anchors' UPDATE triggers touch it): whole seconds from the anchor (same cycle and organization)
-- to connected_at, judged on the exact difference, then rounded half away from zero; null when
-- negative (SPEC §8: left out). The anchor is locked FOR SHARE until the writer commits, so a
-- concurrent change of the anchor's time either waits for this row or is seen by it. As the
-- caller: whoever may write the connection may lock its anchor (same organization).
create function pilot_private.set_seconds_to_connection() returns trigger
    language plpgsql volatile
    set search_path = pg_catalog, pg_temp
as $$
declare
    anchored_at timestamptz;
    d numeric;
begin
    if new.contact_attempt_event_id is not null then
        select a.attempted_at into anchored_at from public.pilot_contact_attempt_events a
         where a.id = new.contact_attempt_event_id and a.pilot_cycle_id = new.pilot_cycle_id and a.recorded_by_org_id = new.org_id
           for share;
    elsif new.referral_event_id is not null then
        select r.created_at into anchored_at from public.pilot_referral_events r
         where r.id = new.referral_event_id and r.pilot_cycle_id = new.pilot_cycle_id and r.source_org_id = new.org_id
           for share;
    end if;
    d := extract(epoch from new.connected_at) - extract(epoch from anchored_at);
    new.seconds_to_connection := case when d >= 0 then pg_catalog.round(d)::bigint end;
    return new;
end
$$;
comment on function pilot_private.set_seconds_to_connection() is
    'BEFORE trigger of pilot_connection_events: computes seconds_to_connection from the anchor (locked FOR SHARE); null when negative or without anchor.';

create trigger pilot_seconds_to_connection
    before insert or update on public.pilot_connection_events
    for each row execute function pilot_private.set_seconds_to_connection();

do $triggers$
declare
    t record;
begin
    for t in select * from (values ('pilot_contact_attempt_events', 'count_contact_attempts', '', '1, 2'),
                                   ('pilot_referral_events', 'count_referrals', '', '3'),
                                   ('pilot_data_decay_audits', 'count_flagged_rows', '4, is_fatal', '4'),
                                   ('pilot_preference_fit_events', 'count_flagged_rows', '5, preferred_via_platform', '5'),
                                   ('pilot_connection_events', 'count_connections', '', '6, 7, 8')) x(tbl, fn, args, sources) loop
        execute pg_catalog.format(
            'create trigger pilot_counts_insert after insert on public.%1$I referencing new table as new_rows '
            'for each statement execute function pilot_private.%2$I(%3$s)', t.tbl, t.fn, t.args);
        execute pg_catalog.format(
            'create trigger pilot_counts_update after update on public.%1$I referencing old table as old_rows new table as new_rows '
            'for each statement execute function pilot_private.%2$I(%3$s)', t.tbl, t.fn, t.args);
        execute pg_catalog.format(
            'create trigger pilot_counts_delete after delete on public.%1$I referencing old table as old_rows '
            'for each statement execute function pilot_private.%2$I(%3$s)', t.tbl, t.fn, t.args);
        execute pg_catalog.format(
            'create trigger pilot_counts_truncate after truncate on public.%1$I '
            'for each statement execute function pilot_private.count_truncated(%2$s)', t.tbl, t.sources);
    end loop;
end
$triggers$;

-- ---------------------------------------------------------------------------------------------
-- Rebuild, for data loaded with triggers disabled (ALTER TABLE … DISABLE TRIGGER, or
-- session_replication_role = replica): recompute every connection's duration, then every count,
-- from the rows. Writers wait (SHARE ROW EXCLUSIVE locks) until it commits. Backend roles only:
-- the privileged part re-checks the acting role, the public entry runs as the caller.
create function pilot_private.rebuild_scorecard_counts() returns jsonb
    language plpgsql volatile
    security definer
    set search_path = pg_catalog, pg_temp
as $$
declare
    durations bigint;
    counts bigint;
    people bigint;
begin
    if not pilot_private.acting_is_backend() then
        raise exception using errcode = '42501',
            message = 'pilot_rebuild_scorecard_counts: not allowed: database owners and service_role only';
    end if;
    lock table public.pilot_contact_attempt_events, public.pilot_referral_events, public.pilot_connection_events,
               public.pilot_data_decay_audits, public.pilot_preference_fit_events in share row exclusive mode;
    update public.pilot_connection_events c set seconds_to_connection = x.seconds
      from (select c2.id,
                   case when d >= 0 then pg_catalog.round(d)::bigint end as seconds
              from public.pilot_connection_events c2
              left join public.pilot_contact_attempt_events a
                     on a.id = c2.contact_attempt_event_id and a.pilot_cycle_id = c2.pilot_cycle_id and a.recorded_by_org_id = c2.org_id
              left join public.pilot_referral_events r
                     on r.id = c2.referral_event_id and r.pilot_cycle_id = c2.pilot_cycle_id and r.source_org_id = c2.org_id,
                   lateral (select extract(epoch from c2.connected_at) - extract(epoch from coalesce(a.attempted_at, r.created_at)) as d) e) x
     where x.id = c.id and c.seconds_to_connection is distinct from x.seconds;
    get diagnostics durations = row_count;
    delete from pilot_private.scorecard_counts;
    delete from pilot_private.scorecard_people;
    insert into pilot_private.scorecard_people (pilot_cycle_id, org_id, entity_key_hash, attempts, failures)
    select a.pilot_cycle_id, a.recorded_by_org_id, a.entity_key_hash, pg_catalog.count(*),
           pg_catalog.count(*) filter (where a.attempt_outcome <> 'connected')
      from public.pilot_contact_attempt_events a where a.entity_key_hash is not null
     group by grouping sets ((a.pilot_cycle_id, a.recorded_by_org_id, a.entity_key_hash), (a.pilot_cycle_id, a.entity_key_hash));
    get diagnostics people = row_count;
    insert into pilot_private.scorecard_counts (pilot_cycle_id, org_id, source, bucket, n, flagged, compacted)
    select a.pilot_cycle_id, a.recorded_by_org_id, 1, 0, pg_catalog.count(*), pg_catalog.count(*) filter (where a.attempt_outcome <> 'connected'), true
      from public.pilot_contact_attempt_events a group by grouping sets ((1, 2), (1))
    union all
    select p.pilot_cycle_id, p.org_id, 2, 0, pg_catalog.count(*), pg_catalog.count(*) filter (where p.failures >= 2), true
      from pilot_private.scorecard_people p group by 1, 2
    union all
    select r.pilot_cycle_id, r.source_org_id, 3, 0, pg_catalog.count(*), pg_catalog.count(*) filter (where r.referral_state <> 'initiated'), true
      from public.pilot_referral_events r group by grouping sets ((1, 2), (1))
    union all
    select d.pilot_cycle_id, d.org_id, 4, 0, pg_catalog.count(*), pg_catalog.count(*) filter (where d.is_fatal), true
      from public.pilot_data_decay_audits d group by grouping sets ((1, 2), (1))
    union all
    select f.pilot_cycle_id, f.org_id, 5, 0, pg_catalog.count(*), pg_catalog.count(*) filter (where f.preferred_via_platform), true
      from public.pilot_preference_fit_events f group by grouping sets ((1, 2), (1))
    union all
    select c.pilot_cycle_id, c.org_id, 6, c.seconds_to_connection / 4096, pg_catalog.count(*), 0, true
      from public.pilot_connection_events c where c.seconds_to_connection is not null group by grouping sets ((1, 2, 4), (1, 4))
    union all
    select c.pilot_cycle_id, c.org_id, 8, c.seconds_to_connection / 64, pg_catalog.count(*), 0, true
      from public.pilot_connection_events c where c.seconds_to_connection is not null group by grouping sets ((1, 2, 4), (1, 4))
    union all
    select c.pilot_cycle_id, c.org_id, 7, c.seconds_to_connection, pg_catalog.count(*), 0, true
      from public.pilot_connection_events c where c.seconds_to_connection is not null group by grouping sets ((1, 2, 4), (1, 4));
    get diagnostics counts = row_count;
    return pg_catalog.jsonb_build_object('durations_recomputed', durations, 'people', people, 'count_rows', counts);
end
$$;
comment on function pilot_private.rebuild_scorecard_counts() is
    'Privileged part of pilot_rebuild_scorecard_counts: re-checks that the acting role is a backend role, then rebuilds the maintained counts from the rows.';

create function public.pilot_rebuild_scorecard_counts() returns jsonb
    language plpgsql volatile
    set search_path = pg_catalog, pg_temp
as $$
begin
    if not pilot_private.is_backend() then
        raise exception using errcode = '42501',
            message = 'pilot_rebuild_scorecard_counts: not allowed: database owners and service_role only';
    end if;
    return pilot_private.rebuild_scorecard_counts();
end
$$;
comment on function public.pilot_rebuild_scorecard_counts() is
$$Recompute the scorecard's maintained counts (and every connection's seconds_to_connection) from the rows: for data loaded with triggers disabled. Writers wait until it commits. Returns {"durations_recomputed", "people", "count_rows"}. Database owners and service_role only.$$;
