#!/usr/bin/env bash
# SPEC §9, versions: the frozen 0.1.0 install script, with rows written, then ALTER EXTENSION
# pilot_guardrails UPDATE, ends in exactly the schema of a fresh install of the current version —
# compared over everything the extension installs (tests/fixtures/fingerprint.sql) — with every
# row intact. And the comparison is shown to catch a deliberately wrong upgrade script.
. "$(dirname "$0")/../lib/tap.sh"
extdir="$("$PG_BIN/pg_config" --sharedir)/extension"
current=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
trap 'rm -f "$extdir/pilot_guardrails--0.1.0--9.9.9-broken.sql"; for d in up_old up_new up_broken; do dropdb --if-exists "$d" >/dev/null 2>&1; done' EXIT

# The frozen release script, installed the way a user of 0.1.0 had it (cargo-pgrx only copies
# upgrade scripts, so the test installs the frozen full script itself).
install -m 644 sql/releases/pilot_guardrails--0.1.0.sql "$extdir/pilot_guardrails--0.1.0.sql"

prepare() { # <db> <version>
    createdb "$1"
    sql -d "$1" -f tests/fixtures/host_baseline.sql >/dev/null 2>&1
    sql -d "$1" -f tests/fixtures/snapshot.sql -f tests/fixtures/fingerprint.sql >/dev/null
    sql -d "$1" -c "create extension pilot_guardrails version '$2'" >/dev/null
}

prepare up_old 0.1.0
tap_is "$(sql -d up_old -c "select extversion from pg_extension where extname = 'pilot_guardrails'")" "0.1.0" "the frozen 0.1.0 script installs"
sql -d up_old -f tests/fixtures/pilot_rows.sql >/dev/null
sql -d up_old -c "select pilot_recompute_metrics('cycle-1', 'a0000000-0000-4000-8000-00000000000a')" >/dev/null
rows_before=$(sql -d up_old -c "select test_support.pilot_snapshot()::text")
sql -d up_old -c "alter extension pilot_guardrails update" >/dev/null
tap_is "$(sql -d up_old -c "select extversion from pg_extension where extname = 'pilot_guardrails'")" "$current" \
    "ALTER EXTENSION pilot_guardrails UPDATE reaches $current"

prepare up_new "$current"
sql -d up_old -c "select * from test_support.extension_fingerprint()" > "$CLUSTER_DIR/fp_old.txt"
sql -d up_new -c "select * from test_support.extension_fingerprint()" > "$CLUSTER_DIR/fp_new.txt"
tap_ok $([ "$(wc -l < "$CLUSTER_DIR/fp_new.txt")" -gt 300 ]; echo $?) \
    "the fingerprint covers the installed objects ($(wc -l < "$CLUSTER_DIR/fp_new.txt") lines)"
differences=$(diff "$CLUSTER_DIR/fp_old.txt" "$CLUSTER_DIR/fp_new.txt" | head -20)
tap_is "$differences" "" "0.1.0 upgraded is identical to a fresh $current: relations, columns, constraints, indexes, triggers, policies, ACLs, comments, functions, event triggers, extconfig"
tap_is "$(sql -d up_old -c "select test_support.pilot_snapshot()::text")" "$rows_before" "every pilot row is intact after the upgrade"
tap_is "$(sql -d up_old -c "select count(*) from pilot_verify() where not ok")" "0" "pilot_verify() is all ok after the upgrade"

# The comparison catches a wrong upgrade script: one that hooks the drop guard to the wrong event.
sed 's/^create event trigger pilot_guardrails_drop_guard_2_enforce.*$/create event trigger pilot_guardrails_drop_guard_2_enforce on ddl_command_end/' \
    "$extdir/pilot_guardrails--0.1.0--$current.sql" > "$extdir/pilot_guardrails--0.1.0--9.9.9-broken.sql"
prepare up_broken 0.1.0
sql -d up_broken -c "alter extension pilot_guardrails update to '9.9.9-broken'" >/dev/null
sql -d up_broken -c "select * from test_support.extension_fingerprint()" | sed 's/9\.9\.9-broken/'"$current"'/g' > "$CLUSTER_DIR/fp_broken.txt"
broken_diff=$(diff "$CLUSTER_DIR/fp_broken.txt" "$CLUSTER_DIR/fp_new.txt" | grep -c '^[<>]')
tap_ok $([ "$broken_diff" -gt 0 ]; echo $?) "a deliberately wrong upgrade script (drop guard on the wrong event) is caught: $broken_diff differing lines"
tap_done
