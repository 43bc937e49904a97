-- Retention windows that are enforced, with receipts (SPEC §11.3).
--
-- pilot_apply_retention(dry_run default true), for app admins and backend roles: for each pilot
-- table with a retention.<table> setting (42_settings.sql), the rows whose event time (the
-- registry's time column, 35_kinds.sql) is before now() − window are deleted, or only counted on a
-- dry run. Service scope has no event time and is kept. A connection whose anchor is deleted goes
-- with it (connections hold their anchors ON DELETE RESTRICT), counted under connections; the
-- terminal-referral rule guards updates, not deletes. A real run also purges expired idempotency
-- keys and past rate-limit counters. Every run, dry or not, writes one audit row: the receipt.
-- Schedule it daily with pg_cron (README, "Retention").

-- The privileged part: deletes as the owner (snapshots and the bookkeeping tables are not the
-- callers' to delete), after re-checking the caller.
create function pilot_private.apply_retention(v_dry_run boolean)
returns table (table_name text, cutoff timestamptz, rows bigint, dry_run boolean)
    language plpgsql volatile
    security definer
    set search_path = pg_catalog, pg_temp
as $$
declare
    t record;
    cutoffs jsonb := '{}';
    cut timestamptz;
    n bigint;
    receipt jsonb := '[]';
    conn_cut timestamptz;
    attempt_cut timestamptz;
    referral_cut timestamptz;
begin
    if not (pilot_private.acting_is_backend() or pilot_private.is_admin()) then
        raise exception using errcode = '42501',
            message = 'pilot_apply_retention: not allowed: app admins and backend roles only';
    end if;

    -- The cutoff of every table with a window and an event time.
    for t in select distinct k.table_name, k.time_column from pilot_private.kinds() k where k.time_column is not null loop
        cut := pg_catalog.now() - pilot_private.setting('retention.' || t.table_name)::interval;
        if cut is not null then
            cutoffs := cutoffs || pg_catalog.jsonb_build_object(t.table_name, cut);
        end if;
    end loop;
    conn_cut := (cutoffs ->> 'pilot_connection_events')::timestamptz;
    attempt_cut := (cutoffs ->> 'pilot_contact_attempt_events')::timestamptz;
    referral_cut := (cutoffs ->> 'pilot_referral_events')::timestamptz;

    -- Connections first: their own window, and those whose anchor goes.
    if conn_cut is not null or attempt_cut is not null or referral_cut is not null then
        if v_dry_run then
            select pg_catalog.count(*) into n from public.pilot_connection_events c
             where c.connected_at < conn_cut
                or exists (select 1 from public.pilot_contact_attempt_events a
                            where a.id = c.contact_attempt_event_id and a.attempted_at < attempt_cut)
                or exists (select 1 from public.pilot_referral_events r
                            where r.id = c.referral_event_id and r.created_at < referral_cut);
        else
            delete from public.pilot_connection_events c
             where c.connected_at < conn_cut
                or exists (select 1 from public.pilot_contact_attempt_events a
                            where a.id = c.contact_attempt_event_id and a.attempted_at < attempt_cut)
                or exists (select 1 from public.pilot_referral_events r
                            where r.id = c.referral_event_id and r.created_at < referral_cut);
            get diagnostics n = row_count;
        end if;
        table_name := 'pilot_connection_events'; cutoff := conn_cut; rows := n; dry_run := v_dry_run;
        receipt := receipt || pg_catalog.jsonb_build_object('table', table_name, 'cutoff', cutoff, 'rows', rows);
        return next;
    end if;

    -- Every other table with a window, by its event time.
    for t in select distinct k.table_name, k.time_column from pilot_private.kinds() k
              where k.time_column is not null and k.table_name <> 'pilot_connection_events'
                and cutoffs ? k.table_name order by k.table_name loop
        cut := (cutoffs ->> t.table_name)::timestamptz;
        if v_dry_run then
            execute pg_catalog.format('select pg_catalog.count(*) from public.%I where %I < $1', t.table_name, t.time_column)
               into n using cut;
        else
            execute pg_catalog.format('delete from public.%I where %I < $1', t.table_name, t.time_column) using cut;
            get diagnostics n = row_count;
        end if;
        table_name := t.table_name; cutoff := cut; rows := n; dry_run := v_dry_run;
        receipt := receipt || pg_catalog.jsonb_build_object('table', table_name, 'cutoff', cutoff, 'rows', rows);
        return next;
    end loop;

    -- The bookkeeping: expired idempotency keys, rate counters of past minutes.
    cut := pg_catalog.now() - pilot_private.setting('idempotency_window')::interval;
    if v_dry_run then
        select pg_catalog.count(*) into n from pilot_private.idempotency_keys k where k.created_at < cut;
    else
        delete from pilot_private.idempotency_keys k where k.created_at < cut;
        get diagnostics n = row_count;
    end if;
    table_name := 'pilot_private.idempotency_keys'; cutoff := cut; rows := n; dry_run := v_dry_run;
    receipt := receipt || pg_catalog.jsonb_build_object('table', table_name, 'cutoff', cutoff, 'rows', rows);
    return next;
    cut := pg_catalog.date_trunc('minute', pg_catalog.now());
    if v_dry_run then
        select pg_catalog.count(*) into n from pilot_private.rate_counters c where c.minute < cut;
    else
        delete from pilot_private.rate_counters c where c.minute < cut;
        get diagnostics n = row_count;
    end if;
    table_name := 'pilot_private.rate_counters'; cutoff := cut; rows := n; dry_run := v_dry_run;
    receipt := receipt || pg_catalog.jsonb_build_object('table', table_name, 'cutoff', cutoff, 'rows', rows);
    return next;

    perform pilot_private.write_audit('pilot_apply_retention', null,
                                      pg_catalog.jsonb_build_object('dry_run', v_dry_run, 'tables', receipt));
end
$$;
comment on function pilot_private.apply_retention(boolean) is
    'Privileged part of pilot_apply_retention: re-checks the caller (app admin or backend role), deletes or counts the rows past each retention window, purges expired idempotency keys and past rate counters, and audits the run.';

-- dry_run is both the argument and a result column (SPEC §11.3's signature): an INOUT parameter.
create function public.pilot_apply_retention(out table_name text, out cutoff timestamptz, out rows bigint,
                                             inout dry_run boolean default true)
returns setof record
    language plpgsql volatile
    set search_path = pg_catalog, pg_temp
as $$
begin
    if not pilot_private.is_backend() and pilot_private.uid() is null then
        raise exception using errcode = '42501', message = 'pilot_apply_retention: not signed in (no user id in request.jwt.claims)';
    end if;
    return query select * from pilot_private.apply_retention(coalesce(pilot_apply_retention.dry_run, true));
end
$$;
comment on function public.pilot_apply_retention(boolean) is
$$Enforce the retention windows (SPEC §11.3): POST /rpc/pilot_apply_retention {"dry_run": false}.
For each pilot table with a retention.<table> setting, the rows whose event time is before now() minus the window are deleted (dry_run, the default: only counted); connections of deleted anchors go with them; service scope is kept. A real run also purges expired idempotency keys and past rate counters. Returns one row per table: table_name, cutoff, rows, dry_run; every run is audited. App admins and backend roles only.$$;
