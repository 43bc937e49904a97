#!/usr/bin/env bash
# SPEC §9, versions: each frozen release script (sql/releases/), with rows written, then ALTER
# EXTENSION pilot_guardrails UPDATE, ends in exactly the schema of a fresh install of the current
# version — compared over everything the extension installs (tests/fixtures/fingerprint.sql) —
# with every row intact. And the comparison is shown to catch a deliberately wrong upgrade script.
set -euo pipefail
. "$(dirname "$0")/../lib/tap.sh"
extdir="$("$PG_BIN/pg_config" --sharedir)/extension"
current=$(crate_version)
releases=$(ls sql/releases/ | sed -n 's/^pilot_guardrails--\([0-9.]*\)\.sql$/\1/p' | grep -vx "$current" | sort -V)
dbs=""
trap 'rm -f "$extdir"/pilot_guardrails--*--9.9.9-broken.sql; for d in $dbs up_new up_broken; do dropdb --if-exists "$d" >/dev/null 2>&1; done' EXIT

# What is installed (the package, the tarball, or scripts/lib.sh's install_extension) carries
# every frozen release script unchanged and every upgrade script, so a user of any release can
# install it or update from it.
for v in $releases; do
    tap_ok $(cmp -s "sql/releases/pilot_guardrails--$v.sql" "$extdir/pilot_guardrails--$v.sql"; echo $?) \
        "the installed files carry the frozen $v script, byte for byte"
done
for f in sql/pilot_guardrails--*--*.sql; do
    tap_ok $(cmp -s "$f" "$extdir/$(basename "$f")"; echo $?) "the installed files carry $(basename "$f")"
done

prepare() { # <db> <version>
    createdb "$1"
    sql -d "$1" -f tests/fixtures/host_baseline.sql >/dev/null 2>&1
    sql -d "$1" -f tests/fixtures/snapshot.sql -f tests/fixtures/fingerprint.sql >/dev/null
    sql -d "$1" -c "create extension pilot_guardrails version '$2'" >/dev/null
}

# A released version is frozen: while the crate's version is a released one, the install script it
# builds is exactly the frozen one (after the frozen file's own header of comment lines).
if [ -f "sql/releases/pilot_guardrails--$current.sql" ]; then
    tap_ok $(diff <(sed '1,/^\/\* <begin connected objects> \*\//{/^--/d}' "sql/releases/pilot_guardrails--$current.sql") \
                  "$extdir/pilot_guardrails--$current.sql" >/dev/null; echo $?) \
        "$current is released: the installed script is exactly sql/releases/pilot_guardrails--$current.sql"
fi

prepare up_new "$current"
sql -d up_new -c "select * from test_support.extension_fingerprint()" > "$CLUSTER_DIR/fp_new.txt"
tap_ok $([ "$(wc -l < "$CLUSTER_DIR/fp_new.txt")" -gt 300 ]; echo $?) \
    "the fingerprint covers the installed objects ($(wc -l < "$CLUSTER_DIR/fp_new.txt") lines)"

for v in $releases; do
    db="up_${v//./_}"
    dbs="$dbs $db"
    prepare "$db" "$v"
    tap_is "$(sql -d "$db" -c "select extversion from pg_extension where extname = 'pilot_guardrails'")" "$v" "the frozen $v script installs"
    sql -d "$db" -f tests/fixtures/pilot_rows.sql >/dev/null
    sql -d "$db" -c "select pilot_recompute_metrics('cycle-1', 'a0000000-0000-4000-8000-00000000000a')" >/dev/null
    rows_before=$(sql -d "$db" -c "select test_support.pilot_snapshot()::text")
    # every metric of the scorecard, without the keys 0.3.0 adds (suppressed; raw for the owner)
    card="select jsonb_object_agg(key, value - 'suppressed')::text
            from jsonb_each(pilot_scorecard('cycle-1', 'a0000000-0000-4000-8000-00000000000a', '2026-07-01') -> 'metrics')"
    card_before=$(sql -d "$db" -c "$card")
    attempts="select count(*) || ' ' || md5(string_agg(to_jsonb(a)::text, '|' order by a.id))
                from (select id, pilot_cycle_id, service_id, recorded_by_org_id, attempt_channel, attempt_outcome, attempted_at,
                             resolved_at, outcome_notes_code, created_at from pilot_contact_attempt_events) a"
    attempts_before=$(sql -d "$db" -c "$attempts")
    connections="select count(*) || ' ' || md5(string_agg(to_jsonb(c)::text, '|' order by c.id))
                   from (select id, pilot_cycle_id, org_id, service_id, connected_at, contact_attempt_event_id, referral_event_id
                           from pilot_connection_events) c"
    connections_before=$(sql -d "$db" -c "$connections")
    sql -d "$db" -c "alter extension pilot_guardrails update" >/dev/null
    tap_is "$(sql -d "$db" -c "select extversion from pg_extension where extname = 'pilot_guardrails'")" "$current" \
        "$v: ALTER EXTENSION pilot_guardrails UPDATE reaches $current"
    sql -d "$db" -c "select * from test_support.extension_fingerprint()" > "$CLUSTER_DIR/fp_$v.txt"
    differences=$(diff "$CLUSTER_DIR/fp_$v.txt" "$CLUSTER_DIR/fp_new.txt" | head -20 || true)
    tap_is "$differences" "" "$v upgraded is identical to a fresh $current: relations, columns, constraints, indexes, triggers, policies, ACLs, comments, functions, event triggers, extconfig"
    # The rows of every table the release had are intact — but the entity hashes, which 0.3.0 keys
    # (SPEC §14), and the connections' seconds_to_connection, which 0.3.0 adds; tables the upgrade
    # added start empty (the pseudonym key aside; the scorecard's counts are not dumped).
    tap_is "$(sql -d "$db" -c "select count(*) from pilot_contact_attempt_events where entity_key_hash !~ '^k1:[0-9a-f]{64}$'")" "0" \
        "$v: every entity hash is re-keyed"
    tap_is "$(sql -d "$db" -c "$card")" "$card_before" "$v: the scorecard is the same before and after (M5 included)"
    tap_is "$(sql -d "$db" -c "select jsonb_object_agg(key, value)::text from jsonb_each(test_support.pilot_snapshot())
                               where key in (select jsonb_object_keys('$rows_before'::jsonb))
                                 and key not in ('pilot_contact_attempt_events', 'pilot_connection_events')")" \
        "$(sql -d "$db" -c "select (('$rows_before'::jsonb) - 'pilot_contact_attempt_events' - 'pilot_connection_events')::text")" \
        "$v: every other pilot row is intact after the upgrade"
    tap_is "$(sql -d "$db" -c "$attempts")" "$attempts_before" "$v: every contact attempt is intact but for its keyed hash"
    tap_is "$(sql -d "$db" -c "$connections") $(sql -d "$db" -c "select count(*) from pilot_connection_events where seconds_to_connection is null")" \
        "$connections_before 0" "$v: every connection is intact, with its seconds_to_connection computed"
    tap_is "$(sql -d "$db" -c "select count(*) from jsonb_each_text(test_support.pilot_snapshot())
                               where key not in (select jsonb_object_keys('$rows_before'::jsonb))
                                 and key not in ('pilot_private.pseudonym_keys', 'pilot_cycles', 'pilot_cohorts', 'pilot_audit_events')
                                 and value not like '0 rows %'")" "0" \
        "$v: the tables the upgrade added start empty"
    # SPEC §14: the cycles and cohorts in use are registered — a cycle from the UTC dates of its first
    # and last event (the fixture's first is 2026-06-01; its snapshots were computed today) — and
    # each registration is audited.
    tap_is "$(sql -d "$db" -c "select string_agg(format('%s %s %s', id, starts_on, ends_on = (now() at time zone 'UTC')::date), ', ') from pilot_cycles")" \
        "cycle-1 2026-06-01 t" "$v: the cycle in use is registered with the dates of its first and last event"
    tap_is "$(sql -d "$db" -c "select string_agg(pilot_cycle_id || '/' || label, ', ' order by label) from pilot_cohorts")" "cycle-1/cohort-a" \
        "$v: the cohort in use is registered"
    tap_is "$(sql -d "$db" -c "select string_agg(action, ', ' order by action) from pilot_audit_events")" "pilot_register_cohort, pilot_register_cycle" \
        "$v: the upgrade's registrations are audited"
    tap_is "$(sql -d "$db" -c "select count(*) from pilot_verify() where not ok")" "0" "$v: pilot_verify() is all ok after the upgrade"
done

# 0.2.1 repairs the host functions a 0.2.0 pilot_bootstrap_host() created (pg_temp last,
# is_admin() SECURITY INVOKER) and the bootstrapped tables' grants, and leaves a host's own alone.
fns="select string_agg(format('%s %s %s', p.oid::regprocedure, p.prosecdef, p.proconfig), ', ' order by p.oid::regprocedure::text)
       from pg_proc p where p.oid in ('auth.uid()'::regprocedure, 'auth.role()'::regprocedure, 'auth.jwt()'::regprocedure, 'public.is_admin()'::regprocedure)"
dbs="$dbs up_boot"
createdb up_boot
sql -d up_boot -c "create extension pilot_guardrails version '0.2.0'" -c "select pilot_bootstrap_host()" >/dev/null
tap_is "$(sql -d up_boot -c "$fns")" 'auth.jwt() f {"search_path=\"\""}, auth.role() f {"search_path=\"\""}, auth.uid() f {"search_path=\"\""}, is_admin() t {"search_path=\"\""}' \
    "a 0.2.0 bootstrap created its host functions with search_path '' and is_admin() SECURITY DEFINER"
sql -d up_boot -c "alter extension pilot_guardrails update" >/dev/null
tap_is "$(sql -d up_boot -c "$fns")" 'auth.jwt() f {"search_path=pg_catalog, pg_temp"}, auth.role() f {"search_path=pg_catalog, pg_temp"}, auth.uid() f {"search_path=pg_catalog, pg_temp"}, is_admin() f {"search_path=pg_catalog, pg_temp"}' \
    "the upgrade repairs them: pg_temp last, is_admin() SECURITY INVOKER"
tap_is "$(sql -d up_boot -c "select count(*) from pilot_verify() where not ok")" "0" "pilot_verify() is all ok on the upgraded bootstrapped database (no TRIGGER on public.services left)"
tap_is "$(sql -d up_0_2_0 -c "select p.proconfig::text from pg_proc p where p.oid = 'auth.uid()'::regprocedure")" '{"search_path=\"\""}' \
    "the Supabase-shaped host's own auth.uid() is left as it was"

# The comparison catches a wrong upgrade script: one whose referral anchor cascades on delete.
last_delta=$(ls sql/pilot_guardrails--*--"$current".sql | sort -V | tail -1)
from=$(basename "$last_delta" | sed 's/^pilot_guardrails--\(.*\)--.*\.sql$/\1/')
{
    cat "$last_delta"
    echo "alter table public.pilot_connection_events drop constraint referral_anchor_same_cycle_and_org,"
    echo "    add constraint referral_anchor_same_cycle_and_org foreign key (referral_event_id, pilot_cycle_id, org_id)"
    echo "    references public.pilot_referral_events (id, pilot_cycle_id, source_org_id) on delete cascade;"
} > "$extdir/pilot_guardrails--$from--9.9.9-broken.sql"
tap_ok $(cmp -s "$last_delta" "$extdir/pilot_guardrails--$from--9.9.9-broken.sql"; [ $? = 1 ]; echo $?) "the broken script differs from $(basename "$last_delta")"
prepare up_broken "$from"
sql -d up_broken -c "alter extension pilot_guardrails update to '9.9.9-broken'" >/dev/null
sql -d up_broken -c "select * from test_support.extension_fingerprint()" | sed 's/9\.9\.9-broken/'"$current"'/g' > "$CLUSTER_DIR/fp_broken.txt"
broken_diff=$(diff "$CLUSTER_DIR/fp_broken.txt" "$CLUSTER_DIR/fp_new.txt" | grep -c '^[<>]' || true)
tap_ok $([ "$broken_diff" -gt 0 ]; echo $?) "a deliberately wrong upgrade script (an anchor that cascades) is caught: $broken_diff differing lines"
tap_done
