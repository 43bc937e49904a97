-- SPEC §6 through SQL, on a server running with RUST_BACKTRACE=1: the two Rust functions, their
-- attributes, the unknown-kind error (22023 with a clean DETAIL), and hostile inputs.
\set ON_ERROR_STOP 1
\set QUIET 1
set client_min_messages = warning;
create extension pgtap;
create extension pilot_guardrails;
\i tests/fixtures/cycles.sql

select plan(16);

select is((select string_agg(format('%s %s %s %s', p.proname, p.provolatile, p.proisstrict, p.proparallel), ', ' order by p.proname)
             from pg_proc p where p.proname in ('pilot_validate', 'pilot_disallowed_key_paths') and p.pronamespace = 'public'::regnamespace),
          'pilot_disallowed_key_paths i t s, pilot_validate i t s', 'both are IMMUTABLE, STRICT, PARALLEL SAFE');
select is(pilot_validate('contact_attempt', null), null, 'STRICT: null in, null out');

-- Unknown kind: 22023 naming the valid kinds, and nothing else in DETAIL (no Rust backtrace).
create function pg_temp.error_of(sql text) returns text language plpgsql as $$
declare st text; msg text; det text; hint text;
begin
    execute sql;
    return 'no error';
exception when others then
    get stacked diagnostics st = returned_sqlstate, msg = message_text, det = pg_exception_detail, hint = pg_exception_hint;
    return format('%s | %s | %s | %s', st, msg, det, hint);
end $$;
select is(pg_temp.error_of($$select pilot_validate('contact', '{}')$$),
          '22023 | pilot_validate: unknown payload kind | valid kinds: contact_attempt, referral, referral_update, integration_feasibility, connection, service_scope, service_status, data_decay_audit, preference_fit, cycle, cohort | ',
          'an unknown kind is 22023 naming the valid kinds, with a clean DETAIL and no hint');

-- Hostile inputs: the backend survives each, and answers exactly.
select ok((select p[1] like '#depth:10002.%' and octet_length(p[1]) between 500 and 512
                   and right(repeat('#0.0.', 5000) || '#0.query', octet_length(p[1]) - 13) = substr(p[1], 14)
                   and cardinality(p) = 1
              from (select pilot_disallowed_key_paths((repeat('{"a":[', 5000) || '{"x":{"QUERY":1}}' || repeat(']}', 5000))::jsonb) p) x),
          'a forbidden key 10,000 levels deep: its depth and the last segments that fit in 512 bytes, keys by position, the forbidden one by its canonical name');
select is(pilot_validate('service_scope', (repeat('[', 5000) || repeat(']', 5000))::jsonb) -> 0 ->> 'code', 'wrong_type',
          'an array 5,000 levels deep (under the size limit) is just a wrong_type payload');
select is(pilot_validate('contact_attempt', '{"resolved_at": 1e400}') -> 0, '{"path": "resolved_at", "code": "wrong_type", "message": "must be a string"}',
          '1e400 is a wrong_type issue');
select is(pilot_disallowed_key_paths('{"ＮＯＴＥＳ": 1, "meſſage": 2, "no\u00adtes": 3, "notes_code": 4, "queries": 5}'),
          array['notes', 'message', 'notes'], 'Unicode spellings are caught (in jsonb key order) and shown by canonical name, look-alikes are not');
select is(pilot_validate('service_scope', '{"Bad Key": 1}') -> 0 ->> 'path', '#0',
          'a key that does not look like an identifier is shown by position');
select is(pilot_validate('service_scope', (select jsonb_object_agg('k' || i, i) from generate_series(1, 500) i)) -> 99,
          '{"path": "", "code": "too_many_issues", "message": "504 issues"}', 'more than 100 issues end in too_many_issues');

-- 100,000 keys and a 50 MB document: answered correctly, in well under a second of walking each.
create temp table big as
    select (select jsonb_object_agg('k' || i, i) from generate_series(1, 100000) i) || '{"zz": {"User_Text": 1}}' as keys100k,
           jsonb_build_object('pad', (select jsonb_agg(repeat('x', 1000)) from generate_series(1, 50000)), 'notes', 'secret') as doc50mb;
select ok((select octet_length(doc50mb::text) > 50000000 from big), '(the document really is over 50 MB)');
select is((select pilot_disallowed_key_paths(keys100k) from big), array['#9.user_text'], '100,000 keys: the one forbidden key is found');
select is((select jsonb_path_query_array(pilot_validate('service_scope', doc50mb), '$[*].path') || jsonb_path_query_array(pilot_validate('service_scope', doc50mb), '$[*].code') from big),
          '["notes", "", "disallowed_privacy_key", "payload_too_large"]'::jsonb, '50 MB: the privacy finding, then payload_too_large');
select ok(not (select pilot_validate('service_scope', doc50mb)::text like '%secret%' from big), 'and never the value');
create temp table timing as select clock_timestamp() as t0;
select count(*) from (select pilot_validate('service_scope', keys100k), pilot_disallowed_key_paths(doc50mb) from big, generate_series(1, 3)) s \gset
select ok((select clock_timestamp() - t0 < interval '5 seconds' from timing), 'three walks of each take well under 5 seconds');
select isnt(pilot_validate('service_scope', (select keys100k from big)), null, 'the backend is alive and answering');
select is(pilot_validate('preference_fit', '{"pilot_cycle_id":"c1","org_id":"6F1C2E9A-0B7D-4C1E-9F3A-2B8D7E6C5A41","cohort_label":"c","recorded_at":"2026-06-01T10:00:00.123456-03:30","preferred_via_platform":true}'),
          '[]', 'a valid payload after all that');
select * from finish();
