-- pilot_bootstrap_host(): the host contract of SPEC §2 for a vanilla PostgreSQL.
--
-- On a Supabase database of the directory app everything below already exists and this function
-- is not needed. On vanilla PostgreSQL, one call after CREATE EXTENSION creates whatever part of
-- the contract is missing, as ordinary objects (not extension members: pg_dump keeps them and
-- DROP EXTENSION leaves them). It first checks every existing object it relies on; on any
-- incompatibility it refuses with one message naming every problem, and creates nothing.

-- Privileges of a host table the bootstrap creates: whatever the default privileges granted is
-- revoked first (Supabase's grant TRIGGER, TRUNCATE and REFERENCES to the API roles: SPEC §2,
-- triggers of others), then anon and authenticated get what is given, service_role reads and writes.
create function pilot_private.grant_host_table(rel text, anon_privs text, authenticated_privs text) returns void
    language plpgsql volatile
    set search_path = pg_catalog, pg_temp
as $$
begin
    execute pg_catalog.format('revoke all on table %s from public, anon, authenticated, service_role', rel);
    if anon_privs is not null then
        execute pg_catalog.format('grant %s on table %s to anon', anon_privs, rel);
    end if;
    execute pg_catalog.format('grant %s on table %s to authenticated', authenticated_privs, rel);
    execute pg_catalog.format('grant select, insert, update, delete on table %s to service_role', rel);
end
$$;
comment on function pilot_private.grant_host_table(text, text, text) is
    'pilot_bootstrap_host(): the privileges of a host table it creates, whatever the default privileges (owner only).';

create function public.pilot_bootstrap_host() returns text[]
    language plpgsql volatile
    set search_path = pg_catalog, pg_temp
as $fn$
declare
    problems text[] := '{}';
    created text[] := '{}';
    -- table, column, expected type (format_type spelling)
    contract constant text[][] := array[
        ['organizations',        'id',                 'uuid'],
        ['services',             'id',                 'text'],
        ['services',             'verification_status','text'],
        ['services',             'published',          'boolean'],
        ['services',             'reviewed_by',        'uuid'],
        ['services',             'last_admin_review',  'timestamp with time zone'],
        ['services',             'updated_at',         'timestamp with time zone'],
        ['organization_members', 'organization_id',    'uuid'],
        ['organization_members', 'user_id',            'uuid'],
        ['organization_members', 'role',               'text'],
        ['app_admins',           'user_id',            'uuid']];
    -- schema, function, expected result type
    functions constant text[][] := array[
        ['auth',   'uid',      'uuid'],
        ['auth',   'role',     'text'],
        ['auth',   'jwt',      'jsonb'],
        ['public', 'is_admin', 'boolean']];
    i int;
    rel regclass;
    actual text;
    fn_oid oid;
begin
    -- 1. Check every existing object the contract names; collect all problems.
    for i in 1 .. pg_catalog.array_length(contract, 1) loop
        rel := pg_catalog.to_regclass('public.' || contract[i][1]);
        continue when rel is null;          -- missing: will be created
        select pg_catalog.format_type(a.atttypid, a.atttypmod) into actual
          from pg_catalog.pg_attribute a
         where a.attrelid = rel and a.attname = contract[i][2] and a.attnum > 0 and not a.attisdropped;
        if actual is null then
            problems := problems || pg_catalog.format('public.%s has no column %s (%s)',
                                                     contract[i][1], contract[i][2], contract[i][3]);
        elsif actual <> contract[i][3] then
            problems := problems || pg_catalog.format('public.%s.%s is %s, expected %s',
                                                     contract[i][1], contract[i][2], actual, contract[i][3]);
        end if;
    end loop;
    for i in 1 .. pg_catalog.array_length(functions, 1) loop
        select p.oid into fn_oid
          from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
         where n.nspname = functions[i][1] and p.proname = functions[i][2] and p.pronargs = 0;
        if fn_oid is not null
           and pg_catalog.format_type((select p.prorettype from pg_catalog.pg_proc p where p.oid = fn_oid), null)
               <> functions[i][3] then
            problems := problems || pg_catalog.format('%s.%s() returns %s, expected %s',
                functions[i][1], functions[i][2],
                pg_catalog.format_type((select p.prorettype from pg_catalog.pg_proc p where p.oid = fn_oid), null),
                functions[i][3]);
        end if;
        fn_oid := null;
    end loop;
    if pg_catalog.cardinality(problems) > 0 then
        raise exception using
            errcode = '55000',
            message = 'pilot_bootstrap_host: the host is incompatible, nothing was created: '
                      || pg_catalog.array_to_string(problems, '; '),
            hint = 'Fix or rename the objects named above, then call pilot_bootstrap_host() again.';
    end if;

    -- 2. Create what is missing, as Supabase defines it (auth helpers) or minimally (tables).
    if not exists (select 1 from pg_catalog.pg_namespace where nspname = 'auth') then
        create schema auth;
        grant usage on schema auth to anon, authenticated, service_role;
        created := created || 'schema auth'::text;
    end if;
    if not exists (select 1 from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
                    where n.nspname = 'auth' and p.proname = 'uid' and p.pronargs = 0) then
        create function auth.uid() returns uuid language sql stable set search_path = pg_catalog, pg_temp as $$
            select coalesce(
                nullif(current_setting('request.jwt.claim.sub', true), ''),
                (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
            )::uuid
        $$;
        comment on function auth.uid() is 'The sub claim of the request''s JWT (created by pilot_bootstrap_host, as Supabase defines it).';
        created := created || 'function auth.uid()'::text;
    end if;
    if not exists (select 1 from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
                    where n.nspname = 'auth' and p.proname = 'role' and p.pronargs = 0) then
        create function auth.role() returns text language sql stable set search_path = pg_catalog, pg_temp as $$
            select coalesce(
                nullif(current_setting('request.jwt.claim.role', true), ''),
                (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
            )::text
        $$;
        comment on function auth.role() is 'The role claim of the request''s JWT (created by pilot_bootstrap_host, as Supabase defines it).';
        created := created || 'function auth.role()'::text;
    end if;
    if not exists (select 1 from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
                    where n.nspname = 'auth' and p.proname = 'jwt' and p.pronargs = 0) then
        create function auth.jwt() returns jsonb language sql stable set search_path = pg_catalog, pg_temp as $$
            select coalesce(
                nullif(current_setting('request.jwt.claim', true), ''),
                nullif(current_setting('request.jwt.claims', true), '')
            )::jsonb
        $$;
        comment on function auth.jwt() is 'The request''s JWT claims (created by pilot_bootstrap_host, as Supabase defines it).';
        created := created || 'function auth.jwt()'::text;
    end if;

    if pg_catalog.to_regclass('public.organizations') is null then
        create table public.organizations (
            id uuid primary key default gen_random_uuid(),
            name text not null default '',
            created_at timestamptz not null default now(),
            updated_at timestamptz not null default now()
        );
        comment on table public.organizations is 'Partner organizations (minimal host table created by pilot_bootstrap_host).';
        alter table public.organizations enable row level security;
        create policy organizations_read on public.organizations for select to anon, authenticated using (true);
        perform pilot_private.grant_host_table('public.organizations', 'select', 'select');
        created := created || 'table public.organizations'::text;
    end if;
    if pg_catalog.to_regclass('public.services') is null then
        create table public.services (
            id text primary key,
            name text not null default '',
            org_id uuid references public.organizations (id) on delete set null,
            verification_status text not null default 'unverified',
            published boolean not null default true,
            reviewed_by uuid,
            last_admin_review timestamptz,
            created_at timestamptz not null default now(),
            updated_at timestamptz not null default now()
        );
        comment on table public.services is 'Directory services (minimal host table created by pilot_bootstrap_host).';
        alter table public.services enable row level security;
        create policy services_read on public.services for select to anon, authenticated using (published);
        perform pilot_private.grant_host_table('public.services', 'select', 'select');
        created := created || 'table public.services'::text;
    end if;
    if pg_catalog.to_regclass('public.organization_members') is null then
        create table public.organization_members (
            id uuid primary key default gen_random_uuid(),
            organization_id uuid not null references public.organizations (id) on delete cascade,
            user_id uuid not null,
            role text not null check (role in ('owner', 'admin', 'editor', 'viewer')),
            created_at timestamptz not null default now(),
            unique (organization_id, user_id)
        );
        comment on table public.organization_members is 'Staff of partner organizations (minimal host table created by pilot_bootstrap_host).';
        create index on public.organization_members (user_id);
        alter table public.organization_members enable row level security;
        create policy organization_members_own on public.organization_members for select to authenticated
            using (user_id = (select auth.uid()));
        perform pilot_private.grant_host_table('public.organization_members', null, 'select');
        created := created || 'table public.organization_members'::text;
    end if;
    if pg_catalog.to_regclass('public.app_admins') is null then
        create table public.app_admins (
            id uuid primary key default gen_random_uuid(),
            user_id uuid not null unique,
            created_at timestamptz not null default now()
        );
        comment on table public.app_admins is 'Application administrators (minimal host table created by pilot_bootstrap_host).';
        alter table public.app_admins enable row level security;
        create policy app_admins_own on public.app_admins for select to authenticated
            using (user_id = (select auth.uid()));
        perform pilot_private.grant_host_table('public.app_admins', null, 'select');
        created := created || 'table public.app_admins'::text;
    end if;
    if not exists (select 1 from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
                    where n.nspname = 'public' and p.proname = 'is_admin' and p.pronargs = 0) then
        -- SECURITY INVOKER over the policy and grant created above: it depends on nothing of the
        -- extension and runs no code as its owner.
        create function public.is_admin() returns boolean
            language sql stable security invoker set search_path = pg_catalog, pg_temp as $$
            select exists (select 1 from public.app_admins where user_id = (select auth.uid()))
        $$;
        comment on function public.is_admin() is 'True when the caller is in app_admins (created by pilot_bootstrap_host).';
        revoke execute on function public.is_admin() from public, anon;
        grant execute on function public.is_admin() to authenticated, service_role;
        created := created || 'function public.is_admin()'::text;
    end if;
    return created;
end
$fn$;
comment on function public.pilot_bootstrap_host() is
$$Create the host objects pilot_guardrails relies on, where missing (vanilla PostgreSQL only).
Creates auth.uid(), auth.role(), auth.jwt() as Supabase defines them, and minimal organizations, services, organization_members, app_admins and is_admin(), as ordinary objects (kept by pg_dump, left by DROP EXTENSION). Idempotent: returns what it created, {} when nothing was missing. Refuses with one message naming every incompatible object, creating nothing. Not executable by API roles.$$;
