-- Small-cell suppression of what leaves an organization (SPEC §11.1): scorecards, the return of
-- pilot_recompute_metrics, metric history, the cycle scorecard and the page.
--
-- k = min_cell_size (42_settings.sql, default 11). The rule lives in Rust (core/src/suppression.rs,
-- pilot_private.suppressed): a rate is suppressed when its numerator, denominator or their
-- difference is in 1 … k−1; M2 when its denominator (durations counted) is; M4 and M6 never.
-- Every metric object carries "suppressed"; a suppressed one shows value, numerator and
-- denominator null. Backend roles see raw numbers; snapshots store raw numbers (suppression
-- applies when they are read). Threat model and known limits: README, "Outputs safe to share".

-- One published cell: as computed with "suppressed": false, or the suppressed object.
create function pilot_private.shown(cell jsonb, hidden boolean) returns jsonb
    language sql immutable parallel safe
    set search_path = pg_catalog, pg_temp
    return case when hidden
                then '{"value": null, "numerator": null, "denominator": null, "suppressed": true}'::jsonb
                else cell || '{"suppressed": false}'::jsonb end;
comment on function pilot_private.shown(jsonb, boolean) is
    'A metric object as published: with "suppressed": false, or value, numerator and denominator null and "suppressed": true.';

-- k for the caller: min_cell_size, or 0 (nothing suppressed) for backend roles.
create function pilot_private.cell_size(raw boolean) returns int
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
begin
    return case when raw then 0 else pilot_private.setting('min_cell_size')::int end;
end
$$;
comment on function pilot_private.cell_size(boolean) is 'k of small-cell suppression for the caller: min_cell_size, 0 when raw (backend roles).';

-- The metrics object of a scorecard as published (primary suppression).
create function pilot_private.present_metrics(metrics jsonb, raw boolean) returns jsonb
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
declare
    k constant int := pilot_private.cell_size(raw);
begin
    return (select pg_catalog.jsonb_object_agg(m.key, pilot_private.shown(m.value,
                       pilot_private.suppressed(k, m.key, (m.value ->> 'numerator')::bigint, (m.value ->> 'denominator')::bigint)))
              from pg_catalog.jsonb_each(metrics) m);
end
$$;
comment on function pilot_private.present_metrics(jsonb, boolean) is
    'A scorecard''s metrics as published: small cells suppressed (SPEC §11.1) unless raw (backend roles).';
