-- pilot_guardrails install, part 0: the roles and the private schema (SPEC §2, §4).
--
-- The install is self-contained: nothing in this script names a host table or host function,
-- because pg_dump restores CREATE EXTENSION before any of the host's objects. Host objects are
-- reached only when a function runs (see 20_identity.sql).
--
-- Every object is schema-qualified: `CREATE EXTENSION ... WITH SCHEMA extensions` (Supabase's
-- habit) must put the API in `public` all the same.

-- The API roles are cluster-wide, not extension members; Supabase has them, vanilla PostgreSQL not.
do $roles$
begin
    if not exists (select 1 from pg_catalog.pg_roles where rolname = 'anon') then
        create role anon nologin;
    end if;
    if not exists (select 1 from pg_catalog.pg_roles where rolname = 'authenticated') then
        create role authenticated nologin;
    end if;
    if not exists (select 1 from pg_catalog.pg_roles where rolname = 'service_role') then
        create role service_role nologin bypassrls;
    end if;
end
$roles$;

-- Internal helpers live here: PostgREST exposes `public` (and whatever is configured), never this.
create schema pilot_private;
comment on schema pilot_private is
    'pilot_guardrails internals: row-level security helpers and privileged parts. Not exposed by PostgREST; never call directly.';
revoke all on schema pilot_private from public;
grant usage on schema pilot_private to authenticated, service_role;
