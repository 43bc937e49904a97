-- Settings (SPEC §10.1): the knobs of idempotency, the rate limit, suppression and retention.
--
-- Settings are rows, never session GUCs: nothing a caller sets in its own session changes them.
-- The defaults and bounds live in code (setting_definitions); the table holds only the settings
-- that were changed, so a restore into a fresh install does not collide with rows the install
-- made. No API role reads or writes the table: pilot_settings() reads it, pilot_configure()
-- changes it (app admins and backend roles), and every change is audited (41_audit.sql).

-- Every setting, its default, type and bounds — or only the one named by v_setting, without reading
-- the registry unless it is a retention.<table>, which exists for each pilot table of the registry
-- of the kinds (35_kinds.sql): the recorders read recorder_calls_per_minute on every call.
create function pilot_private.setting_definitions(v_setting text default null)
returns table (setting text, default_value text, value_type text, min_value text, max_value text, description text)
    language plpgsql immutable parallel safe
    set search_path = pg_catalog, pg_temp
as $$
begin
    -- PL/pgSQL for its cached plan (see pilot_private.kinds()).
    return query select * from (values
        ('idempotency_window', '24:00:00', 'interval', '1 minute', '30 days',
         'How long an idempotency key is remembered.'),
        ('recorder_calls_per_minute', '120', 'integer', '0', '1000000',
         'Recorder calls per signed-in user per clock minute, over all recorders; 0 = no limit.'),
        ('min_cell_size', '11', 'integer', '2', '1000',
         'k of small-cell suppression; 0 (suppression off) only by a superuser or the extension''s owner.'))
        d(name, dflt, kind, lo, hi, about)
     where v_setting is null or d.name = v_setting;
    if v_setting is null or v_setting like 'retention.%' then
        return query
            select 'retention.' || t.table_name, null::text, 'interval'::text, '1 day'::text, null::text,
                   'How long rows of public.' || t.table_name || ' are kept (by their event time); none: forever.'
              from (select distinct k.table_name from pilot_private.kinds() k where k.policy_shape <> 'registry') t
             where v_setting is null or 'retention.' || t.table_name = v_setting;
    end if;
end
$$;
comment on function pilot_private.setting_definitions(text) is
    'Every setting of SPEC §10.1 with its default, type and bounds: the defaults live here, in code.';

create table pilot_private.settings (
    setting text primary key,
    value text not null,
    changed_at timestamptz not null default now(),
    changed_by uuid
);
comment on table pilot_private.settings is
    'The settings that were changed from their defaults (SPEC §10.1). Readable by no API role: pilot_settings() and pilot_configure().';
alter table pilot_private.settings enable row level security;
select pg_catalog.pg_extension_config_dump('pilot_private.settings', '');

-- A setting's value now: the stored one, else its default (null: none). SECURITY DEFINER, so that
-- the recorders and outputs, running as their callers, can read it.
create function pilot_private.setting(p_setting text) returns text
    language plpgsql stable
    security definer
    set search_path = pg_catalog, pg_temp
as $$
declare
    v text;
begin
    select s.value into v from pilot_private.settings s where s.setting = p_setting;
    if found then
        return v;
    end if;
    return (select d.default_value from pilot_private.setting_definitions(p_setting) d);
end
$$;
comment on function pilot_private.setting(text) is
    'A setting''s value: the changed one, else its default (null: none).';

-- Every setting with its value, default and whether it was changed.
create function pilot_private.read_settings()
returns table (setting text, value text, default_value text, changed boolean, description text)
    language plpgsql stable
    security definer
    set search_path = pg_catalog, pg_temp
as $$
begin
    return query
        select d.setting, coalesce(s.value, d.default_value), d.default_value, s.setting is not null, d.description
          from pilot_private.setting_definitions() d
          left join pilot_private.settings s on s.setting = d.setting
         order by d.setting;
end
$$;
comment on function pilot_private.read_settings() is 'Every setting with its value, default and whether it was changed.';

-- A value for a setting, checked against its type and bounds and written in canonical form;
-- null for "none" (retention only). 22023 naming the setting, never echoing the value.
create function pilot_private.check_setting(p_setting text, p_value text, allow_off boolean) returns text
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
declare
    d record;
    iv interval;
    n bigint;
begin
    select * into d from pilot_private.setting_definitions(p_setting) x;
    if not found then
        raise exception using errcode = '22023',
            message = pg_catalog.format('pilot_configure: unknown setting %s', pg_catalog.left(pg_catalog.quote_literal(p_setting), 120)),
            hint = 'select setting from pilot_settings() lists them.';
    end if;
    if d.value_type = 'interval' then
        if d.default_value is null and pg_catalog.lower(pg_catalog.btrim(p_value)) = 'none' then
            return null;
        end if;
        begin
            iv := p_value::interval;
        exception when others then
            iv := null;
        end;
        if iv is null or iv < d.min_value::interval or iv > coalesce(d.max_value::interval, iv) then
            raise exception using errcode = '22023',
                message = pg_catalog.format('pilot_configure: %s must be an interval from %s%s%s', p_setting, d.min_value,
                                            coalesce(' to ' || d.max_value, ''),
                                            case when d.default_value is null then ', or none' else '' end);
        end if;
        return iv::text;
    end if;
    if p_value !~ '^\s*[0-9]{1,9}\s*$' then
        n := null;
    else
        n := p_value::bigint;
    end if;
    if n is null or not (n between d.min_value::bigint and d.max_value::bigint or (allow_off and n = 0)) then
        raise exception using errcode = '22023',
            message = pg_catalog.format('pilot_configure: %s must be an integer from %s to %s%s', p_setting, d.min_value,
                                        d.max_value,
                                        case when p_setting = 'min_cell_size'
                                             then ' (0 turns suppression off: a superuser or the extension''s owner only)'
                                             else '' end);
    end if;
    return n::text;
end
$$;
comment on function pilot_private.check_setting(text, text, boolean) is
    'Checks a setting''s value against its type and bounds (22023 naming the setting); returns it in canonical form, null for none.';

-- Store a checked value (or forget it: back to the default) and audit the change, as the caller.
-- Executable by no API role: pilot_configure's paths call it.
create function pilot_private.store_setting(p_setting text, p_value text) returns jsonb
    language plpgsql volatile
    set search_path = pg_catalog, pg_temp
as $$
declare
    old_value text := pilot_private.setting(p_setting);
    default_value text := (select d.default_value from pilot_private.setting_definitions(p_setting) d);
begin
    if p_value is not distinct from default_value then
        delete from pilot_private.settings s where s.setting = p_setting;
    else
        insert into pilot_private.settings as s (setting, value, changed_at, changed_by)
        values (p_setting, p_value, pg_catalog.now(),
                case when pilot_private.acting_is_backend() then null else pilot_private.uid() end)
            on conflict (setting) do update
           set value = excluded.value, changed_at = excluded.changed_at, changed_by = excluded.changed_by;
    end if;
    perform pilot_private.write_audit('pilot_configure', p_setting,
                                      pg_catalog.jsonb_build_object('setting', p_setting, 'old', old_value, 'new', p_value));
    return pg_catalog.jsonb_build_object('setting', p_setting, 'value', p_value, 'previous', old_value,
                                         'default', default_value);
end
$$;
comment on function pilot_private.store_setting(text, text) is
    'Stores a checked setting (forgets it when it equals the default) and audits the change. No API role executes it.';

-- The privileged part of pilot_configure, for app admins and backend roles: checks the caller and
-- the value itself (min_cell_size 0 is never accepted here), so calling it directly grants nothing.
create function pilot_private.configure_setting(p_setting text, p_value text) returns jsonb
    language plpgsql volatile
    security definer
    set search_path = pg_catalog, pg_temp
as $$
begin
    if not (pilot_private.acting_is_backend() or pilot_private.is_admin()) then
        raise exception using errcode = '42501',
            message = 'pilot_configure: not allowed: settings are changed by app admins and backend roles only';
    end if;
    return pilot_private.store_setting(p_setting, pilot_private.check_setting(p_setting, p_value, false));
end
$$;
comment on function pilot_private.configure_setting(text, text) is
    'Privileged part of pilot_configure: app admins and backend roles; never min_cell_size 0.';

create function public.pilot_settings()
returns table (setting text, value text, default_value text, changed boolean, description text)
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
begin
    if not pilot_private.is_backend() and pilot_private.uid() is null then
        raise exception using errcode = '42501', message = 'pilot_settings: not signed in (no user id in request.jwt.claims)';
    end if;
    return query select * from pilot_private.read_settings();
end
$$;
comment on function public.pilot_settings() is
$$The pilot's settings (SPEC §10.1): idempotency_window, recorder_calls_per_minute, min_cell_size and retention.<table> for each pilot table, with value, default and whether changed.
Signed-in users and backend roles. Change them with pilot_configure(setting, value).$$;

-- Whoever may set min_cell_size to 0 is decided here, in the invoker layer: inside SECURITY
-- DEFINER code current_user is always the owner.
create function public.pilot_configure(setting text, value text) returns jsonb
    language plpgsql volatile
    set search_path = pg_catalog, pg_temp
as $$
declare
    privileged boolean := coalesce((select r.rolsuper from pg_catalog.pg_roles r where r.rolname = current_user), false)
                          or current_user = (select e.extowner::regrole::text from pg_catalog.pg_extension e
                                              where e.extname = 'pilot_guardrails');
begin
    if not pilot_private.is_backend() and pilot_private.uid() is null then
        raise exception using errcode = '42501', message = 'pilot_configure: not signed in (no user id in request.jwt.claims)';
    end if;
    if privileged then
        return pilot_private.store_setting($1, pilot_private.check_setting($1, $2, true));
    end if;
    return pilot_private.configure_setting($1, $2);
end
$$;
comment on function public.pilot_configure(text, text) is
$$Change a setting (SPEC §10.1): pilot_configure('min_cell_size', '11'). App admins and backend roles (403 otherwise); a bad name or value is 400 naming the setting. Intervals as PostgreSQL reads them ('24 hours'); retention.<table> also 'none'. min_cell_size 0 (suppression off) only by a superuser or the extension's owner. Every change is audited. Returns {"setting", "value", "previous", "default"}.$$;
