-- Identity and authorization helpers (SPEC §2, §4), and the host-row check (SPEC §2, §3).
--
-- These are what the policies call. They are PL/pgSQL on purpose: a LANGUAGE sql body is checked
-- when it is created (and fails where the host tables do not exist yet, e.g. during a restore),
-- and a BEGIN ATOMIC body records a dependency on them. PL/pgSQL resolves `public.app_admins` and
-- `public.organization_members` only when called, so the install stays self-contained.
--
-- A host relation, column or function that is missing at call time is answered with SQLSTATE
-- PT501 naming it (PostgREST: HTTP 501) — never a silent skip.

-- The caller's user id: the `sub` claim of `request.jwt.claims`, as Supabase's auth.uid() reads
-- it. Null when not signed in — including a `sub` that is not a uuid, or claims that are not JSON.
-- Rust (src/ffi.rs, core/src/claims.rs): it reads the setting itself, with no exception block — a
-- PL/pgSQL version needed one (claims that are not JSON), i.e. a subtransaction on every call, and
-- it is called several times per recorder call and by every policy.
create function pilot_private.uid() returns uuid
    language c stable parallel safe
    set search_path = pg_catalog, pg_temp
    as 'MODULE_PATHNAME', 'pilot_uid';
comment on function pilot_private.uid() is
    'The caller''s user id from request.jwt.claims ->> ''sub''; null when absent or not a uuid.';

-- Backend callers: roles that row-level security does not apply to (superusers, BYPASSRLS roles
-- such as service_role). SECURITY INVOKER, so current_user is the caller.
create function pilot_private.is_backend() returns boolean
    language c stable parallel safe
    set search_path = pg_catalog, pg_temp
    as 'MODULE_PATHNAME', 'pilot_is_backend';
comment on function pilot_private.is_backend() is
    'True for roles row-level security does not apply to (superuser or BYPASSRLS, e.g. service_role): backend jobs.';

-- The role the session acts as: the SET ROLE in force (PostgREST's set_config('role', …)), else
-- the login role. Unlike current_user, it is the caller's role inside SECURITY DEFINER code too,
-- and a session can only set it to a role it is a member of.
create function pilot_private.acting_role() returns text
    language plpgsql stable parallel safe
    set search_path = pg_catalog, pg_temp
as $$
declare
    r text := pg_catalog.current_setting('role');
begin
    return case when r is null or r = 'none' then session_user::text else r end;
end
$$;
comment on function pilot_private.acting_role() is
    'The role the session acts as (SET ROLE, else the login role); the caller''s role inside SECURITY DEFINER code too.';

-- is_backend() for SECURITY DEFINER code, where current_user is the owner: the acting role is a
-- superuser or BYPASSRLS (service_role).
create function pilot_private.acting_is_backend() returns boolean
    language c stable parallel safe
    set search_path = pg_catalog, pg_temp
    as 'MODULE_PATHNAME', 'pilot_acting_is_backend';
comment on function pilot_private.acting_is_backend() is
    'True when the acting role (SET ROLE, else the login role) is a superuser or BYPASSRLS: is_backend() for SECURITY DEFINER code.';

-- Raise PT501 for a host object missing at call time: with what an exception handler caught, or
-- with what host_storage_problem() found. STRICT: with null (nothing is missing) it does nothing,
-- so a helper checks its table in one statement.
create function pilot_private.raise_storage_missing(what text) returns void
    language plpgsql immutable strict
    set search_path = pg_catalog, pg_temp
as $$
begin
    raise exception using
        errcode = 'PT501',
        message = 'pilot storage missing: ' || what,
        hint = 'On vanilla PostgreSQL run select pilot_bootstrap_host(); on Supabase, restore the directory schema.';
end
$$;
comment on function pilot_private.raise_storage_missing(text) is
    'Raises SQLSTATE PT501 (PostgREST: 501) naming a missing table, column or function; does nothing with null.';

-- What is missing or wrong in a host table a helper reads (core/src/host.rs), from the syscaches:
-- the helpers check before their query and raise PT501 with it (raise_storage_missing does nothing
-- with null), instead of catching the error in an exception block (a subtransaction on every
-- call). A table dropped while a call runs can still answer PostgreSQL's own error.
create function pilot_private.host_storage_problem(table_name text) returns text
    language c stable strict parallel safe
    set search_path = pg_catalog, pg_temp
    as 'MODULE_PATHNAME', 'pilot_host_storage_problem';
comment on function pilot_private.host_storage_problem(text) is
    'What is missing or wrong in public.<table_name> (a host table the helpers read: app_admins, organization_members, services, organizations), or null.';

-- The caller's admin flag and organizations are read once per statement: is_admin() and
-- member_orgs() look at public.app_admins and public.organization_members on the first call of a
-- statement and remember the answer in the backend (src/ffi.rs), keyed by the transaction, the
-- statement's start and the uid of the claims; the calls after it — a recorder call makes up to
-- nine: its own check, the idempotency claim's re-check, the policies of its INSERT and RETURNING —
-- answer from memory. A change to the host tables committed while a statement runs is seen by the
-- next statement. The policies ask the cache first, coalesce(cached_is_admin(), is_admin()), which
-- spares a PL/pgSQL call per policy: the cached_ functions answer only what the caller's own lookup
-- found in this statement, and every API role may call them. Only the owner (the SECURITY DEFINER
-- lookups) may call the remember_ functions: a caller who could remember an answer could make
-- themselves an admin.
create function pilot_private.cached_is_admin() returns boolean
    language c stable
    set search_path = pg_catalog, pg_temp
    as 'MODULE_PATHNAME', 'pilot_cached_is_admin';
comment on function pilot_private.cached_is_admin() is
    'What is_admin() remembered for this statement and caller; null when nothing is. The policies ask it before is_admin().';
create function pilot_private.remember_is_admin(me uuid, admin boolean) returns void
    language c volatile strict
    set search_path = pg_catalog, pg_temp
    as 'MODULE_PATHNAME', 'pilot_remember_is_admin';
comment on function pilot_private.remember_is_admin(uuid, boolean) is
    'is_admin()''s answer for me, kept for the rest of the statement while me is the caller. Owner only.';
create function pilot_private.cached_member_orgs(writers_only boolean) returns uuid[]
    language c stable strict
    set search_path = pg_catalog, pg_temp
    as 'MODULE_PATHNAME', 'pilot_cached_member_orgs';
comment on function pilot_private.cached_member_orgs(boolean) is
    'What member_orgs() remembered for this statement and caller; null when nothing is. The policies ask it before member_orgs().';
create function pilot_private.remember_member_orgs(me uuid, orgs uuid[], writer_orgs uuid[]) returns void
    language c volatile strict
    set search_path = pg_catalog, pg_temp
    as 'MODULE_PATHNAME', 'pilot_remember_member_orgs';
comment on function pilot_private.remember_member_orgs(uuid, uuid[], uuid[]) is
    'member_orgs()''s answers for me (all organizations, those where me writes), kept for the rest of the statement while me is the caller. Owner only.';

-- Is the caller an app admin (a row in public.app_admins)? The claims alone never make an admin.
create function pilot_private.is_admin() returns boolean
    language plpgsql stable
    security definer
    set search_path = pg_catalog, pg_temp
as $$
declare
    admin boolean := pilot_private.cached_is_admin();
    me uuid;
begin
    if admin is not null then
        return admin;
    end if;
    me := pilot_private.uid();
    if me is null then
        return false;
    end if;
    if pilot_private.host_storage_problem('app_admins') is not null then  -- (see host_row_exists)
        perform pilot_private.raise_storage_missing(pilot_private.host_storage_problem('app_admins'));
    end if;
    admin := exists (select 1 from public.app_admins a where a.user_id = me);
    perform pilot_private.remember_is_admin(me, admin);
    return admin;
end
$$;
comment on function pilot_private.is_admin() is
    'True when the caller''s uid is in public.app_admins (read once per statement). Call as (select pilot_private.is_admin()) in policies.';

-- The organizations the caller belongs to; with writers_only, those where the role is owner,
-- admin or editor. Empty when not signed in. Both lists, and is_admin()'s answer, are read in one
-- query, once per statement: every statement that reads a pilot table asks both (read_orgs), and
-- a recorder call's check asks for the writer's organizations first.
create function pilot_private.member_orgs(writers_only boolean default false) returns uuid[]
    language plpgsql stable
    security definer
    set search_path = pg_catalog, pg_temp
as $$
declare
    orgs uuid[] := pilot_private.cached_member_orgs(coalesce(writers_only, true));
    me uuid;
    writer_orgs uuid[];
    admin boolean;
begin
    if orgs is not null then
        return orgs;
    end if;
    me := pilot_private.uid();
    if me is null then
        return '{}';
    end if;
    if pilot_private.host_storage_problem('organization_members') is not null then  -- (see host_row_exists)
        perform pilot_private.raise_storage_missing(pilot_private.host_storage_problem('organization_members'));
    end if;
    if pilot_private.host_storage_problem('app_admins') is not null then
        perform pilot_private.raise_storage_missing(pilot_private.host_storage_problem('app_admins'));
    end if;
    select coalesce(pg_catalog.array_agg(m.organization_id), '{}'),
           coalesce(pg_catalog.array_agg(m.organization_id) filter (where m.role in ('owner', 'admin', 'editor')), '{}'),
           exists (select 1 from public.app_admins a where a.user_id = me)
      into orgs, writer_orgs, admin
      from public.organization_members m
     where m.user_id = me;
    perform pilot_private.remember_member_orgs(me, orgs, writer_orgs);
    perform pilot_private.remember_is_admin(me, admin);
    return case when coalesce(writers_only, true) then writer_orgs else orgs end;
end
$$;
comment on function pilot_private.member_orgs(boolean) is
    'Organizations the caller is a member of (writers_only: owner, admin or editor), read once per statement. Call as (select pilot_private.member_orgs(...)) in policies.';

-- The organizations whose rows of a pilot table the caller reads (SPEC §4: "admin or member"), as
-- one array, so that a read policy is a single `org = any (array)`: an index condition on the
-- table's organization-first index (40_tables.sql), where "member or admin" as an OR is a filter
-- run on every row (measured: a member reading 100,000 rows at 0.78–0.88× service_role as a filter,
-- 0.94–0.96× as the index condition). A member: their organizations, as member_orgs(). An admin:
-- every organization a row the statement sees or writes can name, under the statement's snapshot —
-- every one of public.organizations (a new row's, which the snapshot does not see yet) and every
-- one the table's rows name (a skip scan of that index: one descent per organization).
-- The caller picks only the table, and only a pilot table with an organization column is read.
create function pilot_private.read_orgs(table_name text) returns uuid[]
    language plpgsql stable
    security definer
    set search_path = pg_catalog, pg_temp
as $$
declare
    org_column text;
    orgs uuid[];
begin
    select k.org_column into org_column
      from pilot_private.kinds() k
     where k.table_name = read_orgs.table_name and k.org_column is not null
     limit 1;
    if org_column is null then
        raise exception using errcode = '22023', message = 'read_orgs: not a pilot table with an organization column';
    end if;
    orgs := pilot_private.member_orgs(writers_only => false);  -- and is_admin()'s answer, remembered
    if not coalesce(pilot_private.cached_is_admin(), pilot_private.is_admin()) then
        return orgs;
    end if;
    if pilot_private.host_storage_problem('organizations') is not null then  -- (see host_row_exists)
        perform pilot_private.raise_storage_missing(pilot_private.host_storage_problem('organizations'));
    end if;
    execute pg_catalog.format(
        'with recursive o (org) as ('
        '    (select t.%1$I from public.%2$I t order by t.%1$I limit 1)'
        '    union all'
        '    select (select t.%1$I from public.%2$I t where t.%1$I > o.org order by t.%1$I limit 1) from o where o.org is not null) '
        'select coalesce(pg_catalog.array_agg(x.org), ''{}'') '
        '  from (select o.org from o where o.org is not null union select h.id from public.organizations h) x',
        org_column, read_orgs.table_name) into orgs;
    return orgs;
end
$$;
comment on function pilot_private.read_orgs(text) is
    'The organizations whose rows of the pilot table the caller reads: a member''s own; for an admin, every organization of public.organizations and of the table''s rows. The read policies test org = any ((select pilot_private.read_orgs(''<table>''))).';

-- Does a host row exist? Sees every row, whatever the host's own policies hide from the caller.
create function pilot_private.host_row_exists(kind text, id text) returns boolean
    language plpgsql stable
    security definer
    set search_path = pg_catalog, pg_temp
as $$
begin
    -- The storage check as an IF, whose condition is a simple expression: a bare PERFORM would run
    -- the executor once more on every call (about 1 µs), and this runs twice for every row written.
    if kind = 'service' then
        if pilot_private.host_storage_problem('services') is not null then
            perform pilot_private.raise_storage_missing(pilot_private.host_storage_problem('services'));
        end if;
        return exists (select 1 from public.services s where s.id = host_row_exists.id);
    elsif kind = 'organization' then
        if pilot_private.host_storage_problem('organizations') is not null then
            perform pilot_private.raise_storage_missing(pilot_private.host_storage_problem('organizations'));
        end if;
        return exists (select 1 from public.organizations o where o.id = host_row_exists.id::uuid);
    end if;
    raise exception using errcode = '22023', message = 'host_row_exists: unknown kind';
end
$$;
comment on function pilot_private.host_row_exists(text, text) is
    'True when public.services (kind service) or public.organizations (kind organization) holds the id.';
