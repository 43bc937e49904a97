-- The hardened bulk_update_service_status (SPEC §5).
--
-- The legacy version on Supabase hosts decided who is an admin from
-- auth.jwt() -> 'user_metadata' ->> 'role' — a claim users can set on themselves. This one asks
-- public.app_admins, through pilot_private.is_admin(), and nothing else.
--
-- Layout, per Supabase's security guidance:
--   public.bulk_update_service_status              SECURITY INVOKER, what PostgREST serves: routes
--   pilot_private.bulk_update_service_status_as_admin  SECURITY DEFINER, search_path pg_catalog, pg_temp: signed-in admins
--   pilot_private.bulk_update_service_status_as_backend  SECURITY DEFINER: backend roles, naming the acting admin
--   pilot_private.apply_service_status             the update itself, after refusing triggers of others
--                                                  on public.services (SPEC §2), and its audit row
--                                                  (SPEC §10.5); called by the two privileged parts only
-- A backend job (service_role or any BYPASSRLS role) has no user id: it names the acting admin in
-- p_admin_user_id. Both paths run the update as the owner, so that the audit row — which no API
-- role may write — is written by the act itself, in its transaction.

-- PostgreSQL refuses CREATE OR REPLACE of a non-member function in an extension script: drop the
-- legacy one first. DROP EXTENSION does not bring it back — on purpose.
drop function if exists public.bulk_update_service_status(text[], text, boolean, uuid);

-- Argument rules, shared by both paths (22023).
create function pilot_private.check_bulk_update_args(
    p_service_ids text[], p_verification_status text, p_published boolean
) returns void
    language plpgsql immutable
    set search_path = pg_catalog, pg_temp
as $$
begin
    if p_service_ids is null or pg_catalog.cardinality(p_service_ids) not between 1 and 1000 then
        raise exception using errcode = '22023',
            message = 'bulk_update_service_status: p_service_ids must hold 1 to 1000 ids';
    end if;
    if pg_catalog.array_position(p_service_ids, null) is not null then
        raise exception using errcode = '22023',
            message = 'bulk_update_service_status: p_service_ids must not contain null';
    end if;
    if p_verification_status is not null and p_verification_status not in ('L0', 'L1', 'L2', 'L3') then
        raise exception using errcode = '22023',
            message = 'bulk_update_service_status: p_verification_status must be one of L0, L1, L2, L3';
    end if;
    if p_verification_status is null and p_published is null then
        raise exception using errcode = '22023',
            message = 'bulk_update_service_status: give p_verification_status, p_published or both';
    end if;
end
$$;
comment on function pilot_private.check_bulk_update_args(text[], text, boolean) is
    'Argument rules of bulk_update_service_status (22023).';

-- Triggers of others (SPEC §2): a trigger function runs as whoever writes — as the owner, when the
-- writer is SECURITY DEFINER code. The enabled triggers on rel whose function is owned by an API
-- role (or a role that can act as one, such as PostgREST's authenticator) or lives in a temporary
-- schema, by name. Superusers own what they own on purpose; they are never counted.
create function pilot_private.untrusted_triggers(rel regclass) returns text[]
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
begin
    return array(
        select t.tgname::text
          from pg_catalog.pg_trigger t
          join pg_catalog.pg_proc p on p.oid = t.tgfoid
          join pg_catalog.pg_namespace n on n.oid = p.pronamespace
          join pg_catalog.pg_roles o on o.oid = p.proowner
         where t.tgrelid = rel and t.tgenabled <> 'D'
           and (n.nspname like 'pg\_temp\_%' or n.nspname like 'pg\_toast\_temp\_%'
                or (not o.rolsuper
                    and exists (select 1 from pg_catalog.pg_roles api
                                 where api.rolname in ('anon', 'authenticated', 'service_role')
                                   and pg_catalog.pg_has_role(o.oid, api.oid, 'MEMBER'))))
         order by 1);
end
$$;
comment on function pilot_private.untrusted_triggers(regclass) is
    'Enabled triggers on a table whose function an API role (or a member of one) owns or that live in a temporary schema (SPEC §2).';

-- The update itself and its audit row. Duplicates count once; failed ids keep input order.
create function pilot_private.apply_service_status(
    p_service_ids text[], p_verification_status text, p_published boolean, p_actor uuid
) returns table (updated_count int, failed_ids text[])
    language plpgsql volatile
    set search_path = pg_catalog, pg_temp
as $$
declare
    services constant regclass := pg_catalog.to_regclass('public.services');
    untrusted text[];
    n int;
    failed text[];
begin
    if services is null then
        perform pilot_private.raise_storage_missing('relation "public.services" does not exist');
    end if;
    untrusted := pilot_private.untrusted_triggers(services);
    if pg_catalog.cardinality(untrusted) > 0 then
        raise exception using errcode = '42501',
            message = 'bulk_update_service_status: refused: public.services has a trigger whose function an API role owns or that lives in a temporary schema: '
                      || pg_catalog.array_to_string(untrusted, ', '),
            hint = 'Drop or disable the trigger, and revoke trigger on public.services from anon, authenticated, service_role.';
    end if;
    with input as (
        select u.id, pg_catalog.min(u.ord) as ord
          from pg_catalog.unnest(p_service_ids) with ordinality as u(id, ord)
         group by u.id
    ), updated as (
        update public.services s
           set verification_status = coalesce(p_verification_status, s.verification_status),
               published = coalesce(p_published, s.published),
               reviewed_by = p_actor,
               last_admin_review = pg_catalog.now(),
               updated_at = pg_catalog.now()
          from input i
         where s.id = i.id
     returning s.id
    )
    select (select pg_catalog.count(*) from updated)::int,
           coalesce((select pg_catalog.array_agg(i.id order by i.ord)
                       from input i where not exists (select 1 from updated d where d.id = i.id)), '{}')
      into n, failed;
    perform pilot_private.write_audit('bulk_update_service_status', null, pg_catalog.jsonb_build_object(
        'acting_admin', p_actor, 'ids', p_service_ids, 'verification_status', p_verification_status,
        'published', p_published, 'updated_count', n, 'failed_ids', failed));
    return query select n, failed;
exception
    when undefined_table or undefined_column or undefined_function then
        perform pilot_private.raise_storage_missing(sqlerrm);
end
$$;
comment on function pilot_private.apply_service_status(text[], text, boolean, uuid) is
    'Updates verification_status/published of services, reviewed_by = p_actor, and writes its audit row. Called by the privileged parts only; refuses (42501) while public.services carries an untrusted trigger (SPEC §2).';

-- Does this user id belong to an app admin? (The backend path's check of p_admin_user_id.)
create function pilot_private.user_is_admin(p_user_id uuid) returns boolean
    language plpgsql stable
    security definer
    set search_path = pg_catalog, pg_temp
as $$
begin
    return exists (select 1 from public.app_admins a where a.user_id = p_user_id);
exception
    when undefined_table or undefined_column or undefined_function then
        perform pilot_private.raise_storage_missing(sqlerrm);
end
$$;
comment on function pilot_private.user_is_admin(uuid) is 'True when the given user id is in public.app_admins.';

-- The privileged part: for signed-in admins. Checks everything itself, so calling it directly
-- grants nothing the public entry point would not.
create function pilot_private.bulk_update_service_status_as_admin(
    p_service_ids text[], p_verification_status text, p_published boolean, p_admin_user_id uuid
) returns table (updated_count int, failed_ids text[])
    language plpgsql volatile
    security definer
    set search_path = pg_catalog, pg_temp
as $$
declare
    me uuid := pilot_private.uid();
begin
    if me is null then
        raise exception using errcode = '42501',
            message = 'bulk_update_service_status: not signed in';
    end if;
    perform pilot_private.check_bulk_update_args(p_service_ids, p_verification_status, p_published);
    if not pilot_private.is_admin() then
        raise exception using errcode = '42501',
            message = 'bulk_update_service_status: the caller is not an app admin (public.app_admins)';
    end if;
    if p_admin_user_id is not null and p_admin_user_id <> me then
        raise exception using errcode = '42501',
            message = 'bulk_update_service_status: p_admin_user_id must be the caller';
    end if;
    return query select * from pilot_private.apply_service_status(p_service_ids, p_verification_status, p_published, me);
end
$$;
comment on function pilot_private.bulk_update_service_status_as_admin(text[], text, boolean, uuid) is
    'Privileged part of bulk_update_service_status: signed-in app admins only; reviewed_by is the caller.';

-- The privileged part for backend roles (service_role): they have no user id and name the acting
-- admin, who must be in app_admins. Checks everything itself.
create function pilot_private.bulk_update_service_status_as_backend(
    p_service_ids text[], p_verification_status text, p_published boolean, p_admin_user_id uuid
) returns table (updated_count int, failed_ids text[])
    language plpgsql volatile
    security definer
    set search_path = pg_catalog, pg_temp
as $$
begin
    if not pilot_private.acting_is_backend() then
        raise exception using errcode = '42501',
            message = 'bulk_update_service_status: not a backend role';
    end if;
    perform pilot_private.check_bulk_update_args(p_service_ids, p_verification_status, p_published);
    if p_admin_user_id is null then
        raise exception using errcode = '42501',
            message = 'bulk_update_service_status: a backend caller must name the acting admin in p_admin_user_id';
    end if;
    if not pilot_private.user_is_admin(p_admin_user_id) then
        raise exception using errcode = '42501',
            message = 'bulk_update_service_status: p_admin_user_id is not an app admin (public.app_admins)';
    end if;
    return query select * from pilot_private.apply_service_status(p_service_ids, p_verification_status, p_published, p_admin_user_id);
end
$$;
comment on function pilot_private.bulk_update_service_status_as_backend(text[], text, boolean, uuid) is
    'Privileged part of bulk_update_service_status for backend roles: the acting admin is p_admin_user_id, who must be in app_admins.';

create function public.bulk_update_service_status(
    p_service_ids text[],
    p_verification_status text default null,
    p_published boolean default null,
    p_admin_user_id uuid default null
) returns table (updated_count int, failed_ids text[])
    language plpgsql volatile
    security invoker
    set search_path = pg_catalog, pg_temp
as $$
begin
    if pilot_private.is_backend() then
        return query select * from pilot_private.bulk_update_service_status_as_backend(
            p_service_ids, p_verification_status, p_published, p_admin_user_id);
    else
        return query select * from pilot_private.bulk_update_service_status_as_admin(
            p_service_ids, p_verification_status, p_published, p_admin_user_id);
    end if;
end
$$;
comment on function public.bulk_update_service_status(text[], text, boolean, uuid) is
$$Set verification_status and/or published on up to 1000 services at once (app admins only).
Admins are the rows of app_admins — never a JWT claim a user can set. p_admin_user_id, when given, must be the caller; reviewed_by is the caller. Backend jobs (service_role) must name the acting admin in p_admin_user_id. p_verification_status is L0, L1, L2 or L3. Returns how many services were updated and the ids (in input order) that matched none. Errors: 42501 not an admin, 22023 bad arguments.$$;
