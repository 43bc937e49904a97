-- SPEC §2: CREATE EXTENSION ... WITH SCHEMA extensions (Supabase's habit) still puts the API in
-- public and the helpers in pilot_private.
\set ON_ERROR_STOP 1
\set QUIET 1
set client_min_messages = warning;
create extension pgtap;
create schema extensions;
create extension pilot_guardrails with schema extensions;

select plan(5);
select is((select extnamespace::regnamespace::text from pg_extension where extname = 'pilot_guardrails'), 'extensions',
          'the extension is recorded in schema extensions');
select has_function('public', 'pilot_validate', array['text', 'jsonb'], 'pilot_validate is in public all the same');
select has_function('pilot_private', 'is_admin', 'helpers are in pilot_private');
select is((select count(*)::int from pg_proc where pronamespace = 'extensions'::regnamespace), 0,
          'nothing of the API lands in extensions');
select is(pilot_validate('service_scope', '{"notes": 1}') -> 0 ->> 'code', 'disallowed_privacy_key', 'and it works');
select * from finish();
