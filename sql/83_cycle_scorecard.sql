-- The cycle across organizations (SPEC §11.2): pilot_cycle_scorecard(pilot_cycle_id, as_of).
--
-- Every organization with at least one row of the cycle in any pilot table is listed (so "total
-- minus the listed ones" leaks nothing), each as pilot_scorecard computes it, and the total over
-- all rows of the cycle. Primary suppression on every cell (78_suppression.sql); then, for the
-- additive quantities of M1, M3 and M7 (numerators, denominators and their differences count
-- disjoint events per organization), complementary suppression in Rust
-- (pilot_private.complementary_suppression): while the suppressed cells of a quantity sum to
-- 1 … k−1, one more shown organization is suppressed, the smallest in that quantity (ties: the
-- lowest org_id). M2 and M5 totals are not sums (percentiles; people counted once across
-- organizations): the total is suppressed whenever any organization's cell is. M4 and M6 are
-- never suppressed.

-- The organizations of a cycle, in org_id order: every organization column of the registry. A
-- skip scan per table over its (pilot_cycle_id, organization, …) index — one index probe per
-- organization, however many rows each has. Generated from the registry of the kinds (35_kinds.sql)
-- as a static query, so that PL/pgSQL keeps its plan — a generic one: PostgreSQL's plan cache would
-- otherwise keep planning this union of recursive queries for each cycle (measured: 2.5 ms a call,
-- of which 0.9 ms running it).
do $generate$
declare
    q text;
begin
    select pg_catalog.string_agg(pg_catalog.format(
               '(with recursive s(o) as ('
               '(select t.%1$I from public.%2$I t where t.pilot_cycle_id = v_cycle order by t.%1$I limit 1) '
               'union all select (select t.%1$I from public.%2$I t where t.pilot_cycle_id = v_cycle and t.%1$I > s.o '
               'order by t.%1$I limit 1) from s where s.o is not null) select s.o from s where s.o is not null)',
               k.org_column, k.table_name), E'\n        union ' order by k.table_name)
      into q
      from (select distinct r.table_name, r.org_column from pilot_private.kinds() r where r.org_column is not null) k;
    execute pg_catalog.format($create$
create or replace function pilot_private.cycle_organizations(v_cycle text) returns uuid[]
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
    set plan_cache_mode = force_generic_plan
as $body$
begin
    return (select coalesce(pg_catalog.array_agg(x.o order by x.o), '{}') from (
        %s) x(o));
end
$body$$create$, q);
end
$generate$;
comment on function pilot_private.cycle_organizations(text) is
    'Every organization with at least one row of the cycle in any pilot table, in org_id order, read as the caller (a skip scan over each table''s cycle and organization index).';

-- Its statements' plans are generic: each depends on the cycle only through parameters, and the
-- plan cache would otherwise re-plan the per-metric statements on every call (measured: 3.0 ms of
-- this function's own time a call, 1.5 ms with generic plans).
create function public.pilot_cycle_scorecard(pilot_cycle_id text, as_of timestamptz default now()) returns jsonb
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
    set plan_cache_mode = force_generic_plan
as $$
declare
    raw constant boolean := pilot_private.is_backend();
    k int;
    orgs uuid[];
    n int;
    cards jsonb[] := '{}';
    total jsonb;
    per_org jsonb[];
    total_out jsonb := '{}';
    metric text;
    nums bigint[];
    dens bigint[];
    prim boolean[];
    hidden boolean[];
    i int;
begin
    if not raw then
        if pilot_private.uid() is null then
            raise exception using errcode = '42501', message = 'pilot_cycle_scorecard: not signed in (no user id in request.jwt.claims)';
        end if;
        if not pilot_private.is_admin() then
            raise exception using errcode = '42501',
                message = 'pilot_cycle_scorecard: not allowed: app admins and backend roles only';
        end if;
    end if;
    k := pilot_private.cell_size(raw);
    orgs := pilot_private.cycle_organizations($1);
    n := pg_catalog.cardinality(orgs);
    for i in 1 .. n loop
        cards := cards || pilot_private.scorecard_metrics($1, orgs[i], $2);
    end loop;
    -- the total: M4 (scoped services, each of one organization) sums the organizations'; the rest
    -- from the cycle's counts (M2 and M5 are not sums)
    total := pilot_private.counted_metrics($1, null) || pg_catalog.jsonb_build_object('M4', pilot_private.rate(
        (select coalesce(pg_catalog.sum((cards[j] -> 'M4' ->> 'numerator')::bigint), 0) from pg_catalog.generate_series(1, n) j)::bigint,
        (select coalesce(pg_catalog.sum((cards[j] -> 'M4' ->> 'denominator')::bigint), 0) from pg_catalog.generate_series(1, n) j)::bigint));
    per_org := pg_catalog.array_fill('{}'::jsonb, array[n]);

    foreach metric in array array['M1', 'M2_P50', 'M2_P75', 'M2_P90', 'M3', 'M4', 'M5', 'M6', 'M7'] loop
        nums := array(select (cards[j] -> metric ->> 'numerator')::bigint from pg_catalog.generate_series(1, n) j order by j);
        dens := array(select (cards[j] -> metric ->> 'denominator')::bigint from pg_catalog.generate_series(1, n) j order by j);
        prim := array(select pilot_private.suppressed(k, metric, nums[j], dens[j]) from pg_catalog.generate_series(1, n) j order by j);
        if metric in ('M1', 'M3', 'M7') then
            hidden := pilot_private.complementary_suppression(k, nums, dens, prim);
        else
            hidden := prim;
        end if;
        for i in 1 .. n loop
            per_org[i] := per_org[i] || pg_catalog.jsonb_build_object(metric, pilot_private.shown(cards[i] -> metric, hidden[i]));
        end loop;
        total_out := total_out || pg_catalog.jsonb_build_object(metric, pilot_private.shown(total -> metric,
            pilot_private.suppressed(k, metric, (total -> metric ->> 'numerator')::bigint, (total -> metric ->> 'denominator')::bigint)
            or (metric in ('M2_P50', 'M2_P75', 'M2_P90', 'M5') and true = any (prim))));
    end loop;

    return pg_catalog.jsonb_build_object(
        'pilot_cycle_id', $1,
        'as_of', pilot_private.utc_text($2),
        'organizations', coalesce((select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('org_id', orgs[j], 'metrics', per_org[j]) order by j)
                                     from pg_catalog.generate_series(1, n) j), '[]'::jsonb),
        'total', pg_catalog.jsonb_build_object('metrics', total_out));
exception
    when undefined_table or undefined_column or undefined_function then
        perform pilot_private.raise_storage_missing(sqlerrm);
end
$$;
comment on function public.pilot_cycle_scorecard(text, timestamptz) is
$$The pilot cycle across organizations (SPEC §11.2): GET /rpc/pilot_cycle_scorecard?pilot_cycle_id=…
Returns {"pilot_cycle_id", "as_of", "organizations": [{"org_id", "metrics": {…}}, …] (every organization with a row of the cycle, by org_id), "total": {"metrics": {…}}}, each metric as pilot_scorecard gives it with "suppressed". Small cells are suppressed, and more cells where the total minus the shown ones would reveal a small count. App admins and backend roles (raw numbers) only; 401/403 otherwise. STABLE: callable with GET.$$;
