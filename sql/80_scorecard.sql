-- The scorecard, computed inside the database (SPEC §8).
--
-- One (pilot_cycle_id, org_id); every source restricted to that cycle and organization, read as
-- the caller (row-level security applies) after an explicit membership check. Set-based SQL over
-- the (pilot_cycle_id, organization, time) indexes; percentiles exact in numeric (Rust,
-- src/math.rs). A rate is numerator::numeric / denominator, null when the denominator is 0.

-- {"value": num/den or null, "numerator": num, "denominator": den}
create function pilot_private.rate(num bigint, den bigint) returns jsonb
    language sql immutable parallel safe
    set search_path = pg_catalog, pg_temp
    return pg_catalog.jsonb_build_object(
        'value', case when den > 0 then num::numeric / den end, 'numerator', num, 'denominator', den);
comment on function pilot_private.rate(bigint, bigint) is 'A metric object; the value is null when the denominator is 0.';

-- The values of M2 at the given 0-based ranks of the sorted durations (null past the end), from
-- the maintained histogram: the running sum over blocks of 4,096 seconds finds a rank's block,
-- the running sum over that block's 64 spans of 64 seconds its span, the running sum over the
-- span's seconds its value — at most (blocks + 64 + 64) rows a rank, however many connections
-- there are. v_org null: every organization of the cycle.
create function pilot_private.durations_at_ranks(v_cycle text, v_org uuid, ranks bigint[]) returns bigint[]
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
    set plan_cache_mode = force_custom_plan
as $$
begin
    return (
    with blocks as (
        select x.bucket, pg_catalog.sum(x.n) over (order by x.bucket) - x.n as before, x.n
          from (select c.bucket, pg_catalog.sum(c.n) as n
                  from pilot_private.scorecard_counts c
                 where c.pilot_cycle_id = v_cycle and (c.org_id = v_org or (v_org is null and c.org_id is null)) and c.source = 6
                 group by c.bucket) x
    )
    select pg_catalog.array_agg(f.second order by r.ord)
      from pg_catalog.unnest(ranks) with ordinality r(rank, ord)
      left join blocks b on r.rank >= b.before and r.rank < b.before + b.n
      left join lateral (
            select y.bucket as span, r.rank - b.before - y.before as within
              from (select x.bucket, pg_catalog.sum(x.n) over (order by x.bucket) - x.n as before, x.n
                      from (select c.bucket, pg_catalog.sum(c.n) as n
                              from pilot_private.scorecard_counts c
                             where c.pilot_cycle_id = v_cycle and (c.org_id = v_org or (v_org is null and c.org_id is null)) and c.source = 8
                               and c.bucket between b.bucket * 64 and b.bucket * 64 + 63
                             group by c.bucket) x) y
             where r.rank - b.before >= y.before and r.rank - b.before < y.before + y.n) s on true
      left join lateral (
            select y.bucket as second
              from (select x.bucket, pg_catalog.sum(x.n) over (order by x.bucket) - x.n as before, x.n
                      from (select c.bucket, pg_catalog.sum(c.n) as n
                              from pilot_private.scorecard_counts c
                             where c.pilot_cycle_id = v_cycle and (c.org_id = v_org or (v_org is null and c.org_id is null)) and c.source = 7
                               and c.bucket between s.span * 64 and s.span * 64 + 63
                             group by c.bucket) x) y
             where s.within >= y.before and s.within < y.before + y.n) f on true);
end
$$;
comment on function pilot_private.durations_at_ranks(text, uuid, bigint[]) is
    'M2: the durations at the given 0-based ranks of one cycle and organization (null: all of them), from the maintained histogram, read as the caller.';

-- M1, M2, M3, M5, M6 and M7 of one cycle and organization (null: every organization of the
-- cycle, people counted once), raw, from the maintained counts (79_scorecard_counts.sql), read as
-- the caller (row-level security applies to them as to the rows).
create function pilot_private.counted_metrics(v_cycle text, v_org uuid) returns jsonb
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
    set plan_cache_mode = force_custom_plan
as $$
declare
    t record;
    ranks bigint[] := '{}';
    rems int[] := '{}';
    vals bigint[];
    p numeric[] := '{}';
    steps bigint;
    i int;
begin
    -- sources 1-6; v_org null: the cycle-wide rows (org_id null)
    select coalesce(pg_catalog.sum(c.n) filter (where c.source = 1), 0)::bigint as attempts,
           coalesce(pg_catalog.sum(c.flagged) filter (where c.source = 1), 0)::bigint as failures,
           coalesce(pg_catalog.sum(c.n) filter (where c.source = 2), 0)::bigint as people,
           coalesce(pg_catalog.sum(c.flagged) filter (where c.source = 2), 0)::bigint as repeat_people,
           coalesce(pg_catalog.sum(c.n) filter (where c.source = 3), 0)::bigint as referrals,
           coalesce(pg_catalog.sum(c.flagged) filter (where c.source = 3), 0)::bigint as terminal,
           coalesce(pg_catalog.sum(c.n) filter (where c.source = 4), 0)::bigint as audits,
           coalesce(pg_catalog.sum(c.flagged) filter (where c.source = 4), 0)::bigint as fatal,
           coalesce(pg_catalog.sum(c.n) filter (where c.source = 5), 0)::bigint as fits,
           coalesce(pg_catalog.sum(c.flagged) filter (where c.source = 5), 0)::bigint as preferred,
           coalesce(pg_catalog.sum(c.n) filter (where c.source = 6), 0)::bigint as durations
      into t
      from pilot_private.scorecard_counts c
     where c.pilot_cycle_id = v_cycle and (c.org_id = v_org or (v_org is null and c.org_id is null)) and c.source between 1 and 6;

    -- M2: the p-th percentile sits at p·(n − 1)/100: the value at rank p·(n − 1) div 100, plus
    -- (p·(n − 1) mod 100)/100 of the gap to the next one (core/src/math.rs, on those two values)
    if t.durations > 0 then
        foreach steps in array array[50 * (t.durations - 1), 75 * (t.durations - 1), 90 * (t.durations - 1)] loop
            ranks := ranks || array[steps / 100, steps / 100 + case when steps % 100 > 0 then 1 else 0 end];
            rems := rems || (steps % 100)::int;
        end loop;
        vals := pilot_private.durations_at_ranks(v_cycle, v_org, ranks);
        for i in 1 .. 3 loop
            p := p || (pilot_private.percentiles(array[vals[2 * i - 1], vals[2 * i]], array[rems[i]]))[1]::numeric;
        end loop;
    end if;

    return pg_catalog.jsonb_build_object(
        'M1', pilot_private.rate(t.failures, t.attempts),
        'M2_P50', pg_catalog.jsonb_build_object('value', p[1], 'numerator', null, 'denominator', t.durations),
        'M2_P75', pg_catalog.jsonb_build_object('value', p[2], 'numerator', null, 'denominator', t.durations),
        'M2_P90', pg_catalog.jsonb_build_object('value', p[3], 'numerator', null, 'denominator', t.durations),
        'M3', pilot_private.rate(t.terminal, t.referrals),
        'M5', pilot_private.rate(t.repeat_people, t.people),
        'M6', pilot_private.rate(t.fatal, t.audits),
        'M7', pilot_private.rate(t.preferred, t.fits));
end
$$;
comment on function pilot_private.counted_metrics(text, uuid) is
    'M1, M2, M3, M5, M6 and M7 of one cycle and organization (null: all of them) as raw metric objects, from the maintained counts, read as the caller.';

-- M4 of one cycle and organization (null: all of them) at as_of, raw, from its rows: one index
-- probe per scoped service for its latest check, read as the caller.
create function pilot_private.freshness_metric(v_cycle text, v_org uuid, v_as_of timestamptz) returns jsonb
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
    set plan_cache_mode = force_custom_plan
as $$
begin
    return (
    select pilot_private.rate(
               pg_catalog.count(*) filter (
                   where latest.checked_at is not null
                     and extract(epoch from v_as_of) - extract(epoch from latest.checked_at)
                         <= case s.sla_tier when 'crisis' then 24 when 'high_demand' then 48 else 168 end * 3600),
               pg_catalog.count(*))
      from public.pilot_service_scope s
      left join lateral (
            select e.checked_at from public.service_operational_status_events e
             where e.pilot_cycle_id = s.pilot_cycle_id and e.org_id = s.org_id and e.service_id = s.service_id
               and e.checked_at <= v_as_of
             order by e.checked_at desc limit 1) latest on true
     where s.pilot_cycle_id = v_cycle and (v_org is null or s.org_id = v_org));
end
$$;
comment on function pilot_private.freshness_metric(text, uuid, timestamptz) is
    'M4 of one cycle and organization (null: all of them) at as_of as a raw metric object, from the scope and status rows, read as the caller.';

-- The metrics as one jsonb object {"M1": {"value", "numerator", "denominator"}, ...}; raw (the
-- callers publish them through present_metrics). v_org null: every organization of the cycle
-- (the cycle scorecard's total; a connection's anchor is still of its own organization).
create function pilot_private.scorecard_metrics(v_cycle text, v_org uuid, v_as_of timestamptz) returns jsonb
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
begin
    -- the metrics' tables — the registry's event tables (35_kinds.sql) — are there (PT501 naming
    -- the first one missing, SPEC §7), though only M4's are read: the counts of a table gone would
    -- describe rows nobody can see
    perform pilot_private.raise_storage_missing(
        (select pg_catalog.format('relation "public.%s" does not exist', k.table_name)
           from (select distinct r.table_name from pilot_private.kinds() r where r.policy_shape = 'events') k
          where pg_catalog.to_regclass('public.' || pg_catalog.quote_ident(k.table_name)) is null
          order by k.table_name limit 1));
    return pilot_private.counted_metrics(v_cycle, v_org)
        || pg_catalog.jsonb_build_object('M4', pilot_private.freshness_metric(v_cycle, v_org, v_as_of));
end
$$;
comment on function pilot_private.scorecard_metrics(text, uuid, timestamptz) is
    'M1-M7 of one cycle and organization (null: all of them) as raw {"value","numerator","denominator"} objects (SPEC §8): M4 from its rows, the rest from the maintained counts (79_scorecard_counts.sql), read as the caller.';

-- Gate 1 (SPEC §8), compared without division; a baseline ≤ 0 or a null metric fails its check.
create function pilot_private.gate1(metrics jsonb, baseline_failed_contact_rate numeric,
                                    baseline_p50_seconds_to_connection numeric) returns jsonb
    language plpgsql immutable
    set search_path = pg_catalog, pg_temp
as $$
declare
    m1_num numeric := (metrics -> 'M1' ->> 'numerator')::numeric;
    m1_den numeric := (metrics -> 'M1' ->> 'denominator')::numeric;
    p50 numeric := (metrics -> 'M2_P50' ->> 'value')::numeric;
    result jsonb;
    ok boolean[];
begin
    -- numeric admits NaN and ±Infinity, and NaN compares above every number: refuse them (22023)
    -- rather than let a check pass on them.
    if baseline_failed_contact_rate in ('NaN', 'Infinity', '-Infinity') then
        raise exception using errcode = '22023',
            message = 'pilot_scorecard: baseline_failed_contact_rate must be a finite number';
    end if;
    if baseline_p50_seconds_to_connection in ('NaN', 'Infinity', '-Infinity') then
        raise exception using errcode = '22023',
            message = 'pilot_scorecard: baseline_p50_seconds_to_connection must be a finite number';
    end if;
    if baseline_failed_contact_rate is null or baseline_p50_seconds_to_connection is null then
        return null;
    end if;
    ok := array[
        -- M1 reduced ≥ 30 %: baseline − num/den ≥ 0.30 · baseline
        coalesce(baseline_failed_contact_rate > 0 and m1_den > 0
                 and baseline_failed_contact_rate * m1_den - m1_num >= 0.30 * baseline_failed_contact_rate * m1_den, false),
        -- M2 p50 reduced ≥ 25 %
        coalesce(baseline_p50_seconds_to_connection > 0
                 and baseline_p50_seconds_to_connection - p50 >= 0.25 * baseline_p50_seconds_to_connection, false),
        -- M4 ≥ 0.70
        coalesce((metrics -> 'M4' ->> 'denominator')::numeric > 0
                 and (metrics -> 'M4' ->> 'numerator')::numeric >= 0.70 * (metrics -> 'M4' ->> 'denominator')::numeric, false),
        -- M3 ≥ 0.50
        coalesce((metrics -> 'M3' ->> 'denominator')::numeric > 0
                 and (metrics -> 'M3' ->> 'numerator')::numeric >= 0.50 * (metrics -> 'M3' ->> 'denominator')::numeric, false),
        -- M6 ≤ 0.10: 10 · fatal ≤ audits
        coalesce((metrics -> 'M6' ->> 'denominator')::numeric > 0
                 and 10 * (metrics -> 'M6' ->> 'numerator')::numeric <= (metrics -> 'M6' ->> 'denominator')::numeric, false)];
    return pg_catalog.jsonb_build_object(
        'failed_contact_rate_reduction_pass', ok[1],
        'time_to_connection_reduction_pass', ok[2],
        'freshness_sla_pass', ok[3],
        'referral_capture_pass', ok[4],
        'fatal_error_rate_pass', ok[5],
        'passed_all', ok[1] and ok[2] and ok[3] and ok[4] and ok[5],
        -- SPEC §11.1: "failed" and "not enough data" read differently
        'insufficient_data', (select coalesce(pg_catalog.jsonb_agg(c.check_key order by c.ord), '[]'::jsonb)
                                from (values (1, 'failed_contact_rate_reduction_pass', 'M1'),
                                             (2, 'time_to_connection_reduction_pass', 'M2_P50'),
                                             (3, 'freshness_sla_pass', 'M4'),
                                             (4, 'referral_capture_pass', 'M3'),
                                             (5, 'fatal_error_rate_pass', 'M6')) c(ord, check_key, metric_id)
                               where metrics -> c.metric_id ->> 'value' is null));
end
$$;
comment on function pilot_private.gate1(jsonb, numeric, numeric) is 'Gate 1 checks of a scorecard''s metrics (SPEC §8); null unless both baselines are given; a NaN or infinite baseline is refused (22023). A check whose metric is null or suppressed is false and listed in insufficient_data (SPEC §11.1).';

-- Who may read a cycle's metrics: members of the organization, admins, backend roles (42501).
create function pilot_private.check_member(fn text, org uuid, writers_only boolean) returns void
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
begin
    if pilot_private.is_backend() then
        return;
    end if;
    if pilot_private.uid() is null then
        raise exception using errcode = '42501', message = fn || ': not signed in (no user id in request.jwt.claims)';
    end if;
    if not (org = any (pilot_private.member_orgs(writers_only)) or pilot_private.is_admin()) then
        raise exception using errcode = '42501',
            message = pg_catalog.format('%s: not allowed: the caller is not a %s of the organization', fn,
                                        case when writers_only then 'writer (owner, admin or editor)' else 'member' end);
    end if;
end
$$;
comment on function pilot_private.check_member(text, uuid, boolean) is
    'Raises 42501 unless the caller is a member (or writer) of the organization, an admin, or a backend role.';

-- UTC, YYYY-MM-DDTHH:MM:SS[.ffffff]Z, the fraction only when it is not zero.
create function pilot_private.utc_text(t timestamptz) returns text
    language sql immutable parallel safe
    set search_path = pg_catalog, pg_temp
    return pg_catalog.to_char(t at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
        || case when pg_catalog.date_part('microseconds', t)::bigint % 1000000 <> 0
                then '.' || pg_catalog.to_char(t at time zone 'UTC', 'US') else '' end
        || 'Z';
comment on function pilot_private.utc_text(timestamptz) is 'A timestamp as YYYY-MM-DDTHH:MM:SS[.ffffff]Z in UTC.';

create function public.pilot_scorecard(
    pilot_cycle_id text,
    org_id uuid,
    as_of timestamptz default now(),
    baseline_failed_contact_rate numeric default null,
    baseline_p50_seconds_to_connection numeric default null
) returns jsonb
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
declare
    metrics jsonb;
begin
    perform pilot_private.check_member('pilot_scorecard', $2, false);
    metrics := pilot_private.present_metrics(pilot_private.scorecard_metrics($1, $2, $3), pilot_private.is_backend());
    return pg_catalog.jsonb_build_object(
        'pilot_cycle_id', $1,
        'org_id', $2,
        'as_of', pilot_private.utc_text($3),
        'metrics', metrics,
        'gate1', pilot_private.gate1(metrics, $4, $5));
exception
    when undefined_table or undefined_column or undefined_function then
        perform pilot_private.raise_storage_missing(sqlerrm);
end
$$;
comment on function public.pilot_scorecard(text, uuid, timestamptz, numeric, numeric) is
$$The pilot scorecard of one cycle and organization, computed live (GET metrics/scorecard).
Returns {"pilot_cycle_id", "org_id", "as_of", "metrics": {"M1" failed contact rate, "M2_P50"/"M2_P75"/"M2_P90" seconds to connection, "M3" referral completion capture, "M4" freshness SLA compliance at as_of, "M5" repeat failure rate, "M6" data-decay fatal error rate, "M7" preference fit: each {"value", "numerator", "denominator", "suppressed"}}, "gate1"}. Small cells (counts of 1 to min_cell_size - 1) are suppressed: value, numerator and denominator null, "suppressed": true. gate1 is null unless both baselines are given; it lists checks without enough data in "insufficient_data". Members of the organization, admins and service_role (raw numbers) only (401/403 otherwise). STABLE: callable with GET.$$;

-- The privileged part of pilot_recompute_metrics: the only writer of pilot_metric_snapshots
-- (SPEC §10.4; no API role but service_role holds INSERT on it). It re-checks the caller — a
-- backend role, or a signed-in writer of the organization or app admin — computes the scorecard
-- itself and writes all nine metrics with one calculated_at, audited in the same transaction.
create function pilot_private.recompute_metrics(v_cycle text, v_org uuid) returns jsonb
    language plpgsql volatile
    security definer
    set search_path = pg_catalog, pg_temp
as $$
declare
    card jsonb;
    v_at timestamptz := pg_catalog.now();
begin
    if not pilot_private.acting_is_backend() then
        if pilot_private.uid() is null then
            raise exception using errcode = '42501',
                message = 'pilot_recompute_metrics: not signed in (no user id in request.jwt.claims)';
        end if;
        if not (v_org = any (pilot_private.member_orgs(writers_only => true)) or pilot_private.is_admin()) then
            raise exception using errcode = '42501',
                message = 'pilot_recompute_metrics: not allowed: the caller is not a writer (owner, admin or editor) of the organization';
        end if;
    end if;
    card := public.pilot_scorecard(v_cycle, v_org, v_at);
    insert into public.pilot_metric_snapshots (pilot_cycle_id, org_id, metric_id, metric_value, numerator, denominator, calculated_at)
    select v_cycle, v_org, m.key, (m.value ->> 'value')::numeric, (m.value ->> 'numerator')::numeric,
           (m.value ->> 'denominator')::numeric, v_at
      from pg_catalog.jsonb_each(card -> 'metrics') m;
    perform pilot_private.write_audit('pilot_recompute_metrics', v_cycle,
                                      pg_catalog.jsonb_build_object('pilot_cycle_id', v_cycle, 'org_id', v_org));
    return card;
end
$$;
comment on function pilot_private.recompute_metrics(text, uuid) is
    'Privileged part of pilot_recompute_metrics, the only writer of snapshots: re-checks the caller (backend role, writer of the organization or app admin), computes the scorecard itself, writes nine snapshots and one audit row.';

create function public.pilot_recompute_metrics(pilot_cycle_id text, org_id uuid) returns jsonb
    language plpgsql volatile
    set search_path = pg_catalog, pg_temp
as $$
declare
    card jsonb;
begin
    perform pilot_private.check_member('pilot_recompute_metrics', $2, true);
    card := pilot_private.recompute_metrics($1, $2);
    -- the snapshots hold raw numbers; what the caller reads is suppressed (SPEC §11.1)
    return pg_catalog.jsonb_set(card, '{metrics}', pilot_private.present_metrics(card -> 'metrics', pilot_private.is_backend()));
exception
    when undefined_table or undefined_column or undefined_function then
        perform pilot_private.raise_storage_missing(sqlerrm);
end
$$;
comment on function public.pilot_recompute_metrics(text, uuid) is
$$Compute the scorecard now and store its nine metrics as snapshots with one calculated_at; returns the scorecard.
The only way snapshots are written: metric history cannot be forged through the table. Writers of the organization, admins and service_role only; audited.$$;

create function public.pilot_metric_history(pilot_cycle_id text, org_id uuid)
returns table (metric_id text, calculated_at timestamptz, metric_value numeric, numerator numeric, denominator numeric,
               suppressed boolean)
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
declare
    k constant int := pilot_private.cell_size(pilot_private.is_backend());
begin
    perform pilot_private.check_member('pilot_metric_history', $2, false);
    -- snapshots hold raw numbers; suppression applies as they are read (SPEC §11.1)
    return query
        select s.metric_id, s.calculated_at,
               case when x.hidden then null else s.metric_value end,
               case when x.hidden then null else s.numerator end,
               case when x.hidden then null else s.denominator end,
               x.hidden
          from public.pilot_metric_snapshots s,
               lateral (select pilot_private.suppressed(k, s.metric_id, s.numerator::bigint, s.denominator::bigint) as hidden) x
         where s.pilot_cycle_id = $1 and s.org_id = $2
         order by s.calculated_at desc, s.metric_id;
exception
    when undefined_table or undefined_column or undefined_function then
        perform pilot_private.raise_storage_missing(sqlerrm);
end
$$;
comment on function public.pilot_metric_history(text, uuid) is
$$Stored metric snapshots of one cycle and organization, newest first.
Same access as pilot_scorecard; small cells are suppressed as in pilot_scorecard (value, numerator and denominator null, suppressed true), backend roles read raw numbers.$$;
