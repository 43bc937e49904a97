-- SPEC §13 through SQL: pilot_scorecard_page returns the "text/html" domain of pilot_private (a
-- PostgREST media type handler), is STABLE, has pilot_scorecard's access and suppression, sets
-- the CSP through response.headers (keeping headers set before it), and its SECURITY DEFINER part
-- (the organization's name) answers only those who may read the scorecard.
\set ON_ERROR_STOP 1
\set QUIET 1
set client_min_messages = warning;
\i tests/fixtures/host_baseline.sql
\i tests/fixtures/snapshot.sql
create extension pgtap;
create extension pilot_guardrails;
\i tests/fixtures/cycles.sql
\i tests/fixtures/scorecard_rows.sql

select plan(18);

select is((select format('%s.%s %s', n.nspname, t.typname, t.typtype)
             from pg_proc p join pg_type t on t.oid = p.prorettype join pg_namespace n on n.oid = t.typnamespace
            where p.oid = 'public.pilot_scorecard_page(text,uuid,timestamptz,numeric,numeric)'::regprocedure),
          'pilot_private.text/html d', 'returns the domain pilot_private."text/html" (PostgREST matches its name)');
select is((select format_type(typbasetype, null) from pg_type where typname = 'text/html' and typnamespace = 'pilot_private'::regnamespace),
          'text', 'over text');
select is((select provolatile::text from pg_proc where oid = 'public.pilot_scorecard_page(text,uuid,timestamptz,numeric,numeric)'::regprocedure),
          's', 'STABLE: PostgREST serves it on GET');
select ok(obj_description('public.pilot_scorecard_page(text,uuid,timestamptz,numeric,numeric)'::regprocedure, 'pg_proc') like 'The scorecard as a page%',
          'its COMMENT is the OpenAPI description');
select ok(obj_description((select oid from pg_type where typname = 'text/html' and typnamespace = 'pilot_private'::regnamespace), 'pg_type') is not null,
          'the domain has a COMMENT');
select is(array[has_function_privilege('anon', 'public.pilot_scorecard_page(text,uuid,timestamptz,numeric,numeric)', 'execute'),
                has_function_privilege('authenticated', 'public.pilot_scorecard_page(text,uuid,timestamptz,numeric,numeric)', 'execute'),
                has_function_privilege('service_role', 'public.pilot_scorecard_page(text,uuid,timestamptz,numeric,numeric)', 'execute')],
          array[false, true, true], 'EXECUTE: authenticated and service_role, not anon');

-- As a member of A (a viewer), then as others.
select is(test_support.run_as('authenticated', '{"sub":"33333333-3333-4333-8333-333333333333"}',
              $$select left(pilot_scorecard_page('sc', 'a0000000-0000-4000-8000-00000000000a', '2026-06-10T12:00:00Z'), 15)$$),
          '<!DOCTYPE html>', 'a member gets the page');
select is(test_support.run_as('authenticated', '{"sub":"33333333-3333-4333-8333-333333333333"}',
              $$select (regexp_match(pilot_scorecard_page('sc', 'a0000000-0000-4000-8000-00000000000a', '2026-06-10T12:00:00Z'),
                                     'id="organization">([^<]*)<'))[1]$$),
          'Harbor Family Services', 'with the organization''s name, read by its SECURITY DEFINER part');
select is(test_support.run_as('authenticated', '{"sub":"33333333-3333-4333-8333-333333333333"}',
              $$select (select count(*) from regexp_matches(pilot_scorecard_page('sc', 'a0000000-0000-4000-8000-00000000000a', '2026-06-10T12:00:00Z'),
                                                             'suppressed: fewer than 11', 'g'))::text$$),
          (select count(*)::text from jsonb_each(test_support.run_as('authenticated', '{"sub":"33333333-3333-4333-8333-333333333333"}',
              $$select pilot_scorecard('sc', 'a0000000-0000-4000-8000-00000000000a', '2026-06-10T12:00:00Z') -> 'metrics'$$)::jsonb) m
            where m.value -> 'suppressed' = 'true'),
          'as many cards read "suppressed: fewer than 11" as pilot_scorecard suppresses for the same caller');
select is(test_support.run_as('authenticated', '{"sub":"44444444-4444-4444-8444-444444444444"}',
              $$select pilot_scorecard_page('sc', 'a0000000-0000-4000-8000-00000000000a')$$),
          'ERROR 42501: pilot_scorecard: not allowed: the caller is not a member of the organization',
          'a member of B: 42501 from pilot_scorecard''s own check, first (403)');
select is(test_support.run_as('authenticated', '{}', $$select pilot_scorecard_page('sc', 'a0000000-0000-4000-8000-00000000000a')$$),
          'ERROR 42501: pilot_scorecard: not signed in (no user id in request.jwt.claims)', 'not signed in: 42501');
select is(test_support.run_as('authenticated', '{"sub":"44444444-4444-4444-8444-444444444444"}',
              $$select pilot_private.organization_name('a0000000-0000-4000-8000-00000000000a')$$),
          'ERROR 42501: pilot_scorecard_page: not allowed: the caller is not a member of the organization',
          'its SECURITY DEFINER part, called directly by a member of B: 42501, no name');

-- Its renderer, called directly in a SQL session acting as authenticated with more than it reads:
-- refused before any of it is parsed (the page function passes at most 200,000 history rows).
select is(test_support.run_as('authenticated', '{"sub":"33333333-3333-4333-8333-333333333333"}',
              $$select pilot_private.render_scorecard_page('{}', '[' || repeat('0,', 9000000) || '0]', '', 11)$$),
          'ERROR 54000: pilot_private.render_scorecard_page: card and history may hold at most 16 MiB of JSON',
          'the renderer refuses more than 16 MiB of JSON (54000)');

-- response.headers: the CSP, after what a pre-request function set.
select is(test_support.run_as('authenticated', '{"sub":"33333333-3333-4333-8333-333333333333"}',
              $$select pilot_scorecard_page('sc', 'a0000000-0000-4000-8000-00000000000a') is not null
                       and current_setting('response.headers') =
                           '[{"Content-Security-Policy": "default-src ''none''; style-src ''unsafe-inline''"}, {"X-Content-Type-Options": "nosniff"}, {"Cache-Control": "private, no-store"}]'$$),
          'true', 'response.headers: Content-Security-Policy, nosniff, no caching');
select is(test_support.run_as('authenticated', '{"sub":"33333333-3333-4333-8333-333333333333"}',
              $$select set_config('response.headers', '[{"Access-Control-Allow-Origin": "https://app.example"}]', true) is not null
                       and pilot_scorecard_page('sc', 'a0000000-0000-4000-8000-00000000000a') is not null
                       and (current_setting('response.headers')::jsonb -> 0) = '{"Access-Control-Allow-Origin": "https://app.example"}'
                       and jsonb_array_length(current_setting('response.headers')::jsonb) = 4$$),
          'true', 'headers set before it are kept');

-- The page is drawn from the same numbers: the owner (no suppression) sees M1's exact value.
select is((regexp_match(pilot_scorecard_page('sc', 'a0000000-0000-4000-8000-00000000000a', '2026-06-10T12:00:00Z'),
                        'id="metric-M1".*?<data value="([^"]*)"'))[1]::float8,
          (pilot_scorecard('sc', 'a0000000-0000-4000-8000-00000000000a', '2026-06-10T12:00:00Z') -> 'metrics' -> 'M1' ->> 'value')::float8,
          'the owner''s page holds M1''s value as pilot_scorecard returns it');
select is((regexp_match(pilot_scorecard_page('sc', 'a0000000-0000-4000-8000-00000000000a', '2026-06-10T12:00:00Z', 0.9, 100),
                        'id="gate1-passed_all">(.*?)</li>'))[1] is not null, true, 'with baselines: the Gate 1 checklist');
select is(pilot_scorecard_page('sc', 'a0000000-0000-4000-8000-00000000000a') ~ '<script|src=|href=', false,
          'no script, no external resource');

select * from finish();
