-- The drop guard (SPEC §9): DROP EXTENSION pilot_guardrails refuses while pilot tables hold rows,
-- unless pilot_guardrails.allow_data_loss is on in the session.
--
-- The drop guard. Two ddl_command_start event triggers on DROP EXTENSION, fired in name order:
--   1_inspect (Rust) reads the DropStmt and sets pilot_guardrails.dropping_self = on | off;
--   2_enforce (PL/pgSQL) refuses when it is on, pilot tables hold rows and data loss is not allowed.
-- A sql_drop trigger owned by the extension would not fire when the extension itself is dropped,
-- and the command tag alone does not say which extension is being dropped.

create function pilot_private.drop_guard_inspect() returns event_trigger
    language c
    set search_path = pg_catalog, pg_temp
    as 'MODULE_PATHNAME', 'pilot_drop_guard_inspect';
comment on function pilot_private.drop_guard_inspect() is
    'Event trigger (DROP EXTENSION): sets pilot_guardrails.dropping_self to on when the statement drops pilot_guardrails.';

create function pilot_private.drop_guard_enforce() returns event_trigger
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
declare
    t regclass;
    has_rows boolean;
    holding text[] := '{}';
begin
    if coalesce(pg_catalog.current_setting('pilot_guardrails.dropping_self', true), 'off') <> 'on' then
        return;
    end if;
    if pg_catalog.lower(coalesce(pg_catalog.current_setting('pilot_guardrails.allow_data_loss', true), 'off'))
           in ('on', 'true', 'yes', '1') then
        return;
    end if;
    -- The pilot tables and the audit trail (public); not the settings and other internals.
    for t in select c.oid::regclass
               from pg_catalog.pg_extension e, pg_catalog.unnest(e.extconfig) x(rel)
               join pg_catalog.pg_class c on c.oid = x.rel
              where e.extname = 'pilot_guardrails' and c.relnamespace = 'public'::regnamespace
              order by c.relname loop
        execute pg_catalog.format('select exists (select 1 from %s)', t) into has_rows;
        if has_rows then
            holding := holding || t::text;
        end if;
    end loop;
    if pg_catalog.cardinality(holding) > 0 then
        raise exception using
            errcode = '2BP01',
            message = 'DROP EXTENSION pilot_guardrails refused: pilot tables hold rows ('
                      || pg_catalog.array_to_string(holding, ', ') || ')',
            detail = 'Dropping the extension drops these tables and every pilot event in them.',
            hint = 'Export the rows first (pg_dump --data-only --table=''public.pilot_*'' --table=public.service_operational_status_events), '
                   'then SET pilot_guardrails.allow_data_loss = on in this session and drop again.';
    end if;
end
$$;
comment on function pilot_private.drop_guard_enforce() is
    'Event trigger (DROP EXTENSION): refuses to drop pilot_guardrails while pilot tables hold rows, unless pilot_guardrails.allow_data_loss is on.';

create event trigger pilot_guardrails_drop_guard_1_inspect on ddl_command_start
    when tag in ('DROP EXTENSION') execute function pilot_private.drop_guard_inspect();
create event trigger pilot_guardrails_drop_guard_2_enforce on ddl_command_start
    when tag in ('DROP EXTENSION') execute function pilot_private.drop_guard_enforce();

