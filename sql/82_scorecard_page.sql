-- The scorecard as a page (SPEC §13). PostgREST (v12+) serves a function that returns a domain
-- named after a media type with that Content-Type when the request's Accept asks for it: GET
-- /rpc/pilot_scorecard_page?… with `Accept: text/html`. The domain lives in pilot_private so that
-- it cannot clash with a host's own "text/html" domain (PostgREST matches the name, not the
-- schema). The page is drawn by Rust (core/src/page.rs) from exactly what pilot_scorecard and
-- pilot_metric_history return to this caller: same access, same order of checks, same
-- suppression.

create domain pilot_private."text/html" as text;
comment on domain pilot_private."text/html" is
    'text/html: a function returning it is a PostgREST media type handler (Content-Type: text/html when Accept asks for it).';

create function pilot_private.render_scorecard_page(card text, history text, organization text, min_cell_size integer)
returns text
    language c immutable strict parallel safe
    set search_path = pg_catalog, pg_temp
    as 'MODULE_PATHNAME', 'pilot_render_scorecard_page';
comment on function pilot_private.render_scorecard_page(text, text, text, integer) is
    'The scorecard page (SPEC §13), one self-contained HTML5 document, from pilot_scorecard''s JSON and the history rows [[metric_id, epoch, value, suppressed], …]; every text HTML-escaped (core/src/page.rs).';

-- The organization's name for the page's heading, for those who may read its scorecard. SECURITY
-- DEFINER because the host's own policies on organizations may hide the row from its members;
-- the caller is checked here again (acting identity, as SECURITY DEFINER code must).
create function pilot_private.organization_name(org_id uuid) returns text
    language plpgsql stable
    security definer
    set search_path = pg_catalog, pg_temp
as $$
begin
    if not pilot_private.acting_is_backend() then
        if pilot_private.uid() is null then
            raise exception using errcode = '42501', message = 'pilot_scorecard_page: not signed in (no user id in request.jwt.claims)';
        end if;
        if not ($1 = any (pilot_private.member_orgs(false)) or pilot_private.is_admin()) then
            raise exception using errcode = '42501',
                message = 'pilot_scorecard_page: not allowed: the caller is not a member of the organization';
        end if;
    end if;
    perform pilot_private.raise_storage_missing(pilot_private.host_storage_problem('organizations'));
    return (select o.name::text from public.organizations o where o.id = $1);
end
$$;
comment on function pilot_private.organization_name(uuid) is
    'The name of an organization whose scorecard the caller may read (members, admins, backend roles); 42501 otherwise.';

create function public.pilot_scorecard_page(
    pilot_cycle_id text,
    org_id uuid,
    as_of timestamptz default now(),
    baseline_failed_contact_rate numeric default null,
    baseline_p50_seconds_to_connection numeric default null
) returns pilot_private."text/html"
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
declare
    -- pilot_scorecard's access check, validation and suppression, first and unchanged
    card constant jsonb := public.pilot_scorecard($1, $2, $3, $4, $5);
    history jsonb;
    headers jsonb := '[{"Content-Security-Policy": "default-src ''none''; style-src ''unsafe-inline''"},
                       {"X-Content-Type-Options": "nosniff"},
                       {"Cache-Control": "private, no-store"}]';
begin
    -- the newest 200,000 snapshots at the most (the renderer reads 16 MiB at the most; a chart
    -- draws one point per pixel column anyway)
    select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_array(
               h.metric_id, pg_catalog.date_part('epoch', h.calculated_at), h.metric_value, h.suppressed)), '[]')
      into history
      from (select * from public.pilot_metric_history($1, $2) limit 200000) h;
    -- PostgREST sends these headers with the response; earlier ones (a pre-request function's) stay.
    if pg_catalog.current_setting('response.headers', true) <> '' then
        headers := pg_catalog.current_setting('response.headers', true)::jsonb || headers;
    end if;
    perform pg_catalog.set_config('response.headers', headers::text, true);
    return pilot_private.render_scorecard_page(card::text, history::text,
                                               coalesce(pilot_private.organization_name($2), ''),
                                               pilot_private.cell_size(pilot_private.is_backend()));
end
$$;
comment on function public.pilot_scorecard_page(text, uuid, timestamptz, numeric, numeric) is
$$The scorecard as a page (SPEC §13): one self-contained HTML5 document (inline CSS and SVG, no script, no external resource).
GET /rpc/pilot_scorecard_page?pilot_cycle_id=…&org_id=… with Accept: text/html answers Content-Type: text/html and a Content-Security-Policy header. The nine metrics as cards (rates as percentages, seconds as h/min, numerator of denominator, "suppressed: fewer than k" for small cells), the Gate 1 checklist (pass / fail / insufficient data) when both baselines are given, and a line chart of each metric's snapshot history. Same access, checks and suppression as pilot_scorecard (401/403 otherwise). STABLE: callable with GET. A browser navigation sends no token: fetch it with the user's token and show it (iframe srcdoc).$$;
