-- SPEC §2 threat model on the Supabase-shaped host: the attacks of
-- tests/sql/include/security_attacks.sql, as a session acting as authenticated.
\set ON_ERROR_STOP 1
\set QUIET 1
set client_min_messages = warning;
\i tests/fixtures/host_baseline.sql
create extension pgtap;
create extension pilot_guardrails;
\i tests/fixtures/cycles.sql

select plan(21);
\i tests/sql/include/security_attacks.sql
select * from finish();
