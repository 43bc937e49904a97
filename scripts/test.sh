#!/usr/bin/env bash
# Every test layer, from nothing installed: the README's test command, and what CI runs.
#   0. gates     cargo fmt --check, cargo clippy -D warnings on the whole workspace, no #[path]
#                modules, and the fuzz target builds (cargo fuzz build)
#   1. unit      `cargo test -p pilot_guardrails_core -p pilot_replay`: the pure core (validation, privacy walk,
#                jsonb reader, math), no PostgreSQL
#   2. pg        in-database #[pg_test]s via `cargo pgrx test`
#   3. sql       pgTAP files in tests/sql/ through pg_prove, each in a fresh database of a throwaway
#                cluster where the extension was installed with CREATE EXTENSION, as a user does it
#   4. replay    tests/postgrest_replay.rs: each endpoint as PostgREST calls it, status and database state
#   5. scenario  tests/scenarios/*.sh: what needs more than one database or session (backups, …)
# Exits non-zero on any failure; clusters are stopped and removed whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

scripts/setup.sh || { echo "setup failed"; exit 1; }

PASSED=0
FAILED=0
LOG_DIR=$(mktemp -d /var/tmp/pilot_guardrails-testlogs.XXXXXX)
PGRX_DATA_PARENT=$(mktemp -d /var/tmp/pilot_guardrails-pgrx.XXXXXX)
# cargo pgrx test runs its instance in $PGRX_DATA_PARENT/data/15-<pid>; an interrupted run can
# leave it up. Stop whatever is there before removing the data.
stop_pgrx_instances() {
    local d
    for d in "$PGRX_DATA_PARENT"/data/*/; do
        [ -f "$d/postmaster.pid" ] && as_postgres "$PG_BIN/pg_ctl" -D "$d" -m immediate -w stop >/dev/null 2>&1
    done
    return 0
}
cleanup() {
    cluster_stop
    stop_pgrx_instances
    rm -rf "$PGRX_DATA_PARENT"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

count_cargo() { # file → adds the "test result:" totals; a build failure counts as one failure
    local f=$1 p fl
    if ! grep -q '^test result:' "$f"; then FAILED=$((FAILED + 1)); return; fi
    p=$(grep '^test result:' "$f" | sed -E 's/.* ([0-9]+) passed.*/\1/' | awk '{s+=$1} END {print s+0}')
    fl=$(grep '^test result:' "$f" | sed -E 's/.* ([0-9]+) failed.*/\1/' | awk '{s+=$1} END {print s+0}')
    PASSED=$((PASSED + p)); FAILED=$((FAILED + fl))
}

count_tap() { # file → counts ok / not ok lines; a run with neither, or a bad plan, counts as a failure
    local f=$1 ok nok plan
    ok=$(grep -cE '^ *ok [0-9]+' "$f" || true)
    nok=$(grep -cE '^ *not ok [0-9]+' "$f" || true)
    plan=$(grep -oE '^ *1\.\.[0-9]+' "$f" | head -1 | sed 's/.*\.\.//' || true)
    PASSED=$((PASSED + ok)); FAILED=$((FAILED + nok))
    if [ $((ok + nok)) -eq 0 ] || { [ -n "$plan" ] && [ "$plan" -ne $((ok + nok)) ]; } || grep -q 'Dubious\|Parse errors\|ERROR:' "$f"; then
        FAILED=$((FAILED + 1))
        echo "  !! $(basename "$f"): incomplete run (see below)"; sed 's/^/     /' "$f" | tail -20
    fi
}

gate() { # gate <name> <command…>: one pass or one failure
    local name=$1; shift
    if "$@" >"$LOG_DIR/gate-$name.log" 2>&1; then
        PASSED=$((PASSED + 1)); printf '   %-40s ok\n' "$name"
    else
        FAILED=$((FAILED + 1)); printf '   %-40s FAILED\n' "$name"; tail -20 "$LOG_DIR/gate-$name.log" | sed 's/^/      /'
    fi
}
no_path_modules() { ! grep -rn '#\[path' src examples fuzz bench tests core; }

echo "== 0. gates"
gate "cargo fmt --check" cargo fmt --all --check
gate "cargo clippy -D warnings" cargo clippy --workspace --all-targets --quiet -- -D warnings
gate "no #[path] modules" no_path_modules
gate "cargo fuzz build" bash -c 'cd fuzz && cargo fuzz build -s none validate'

echo "== 1. unit tests (cargo test -p pilot_guardrails_core -p pilot_replay, no database)"
cargo test -p pilot_guardrails_core -p pilot_replay --quiet >"$LOG_DIR/unit.log" 2>&1 || true
count_cargo "$LOG_DIR/unit.log"
grep -E '^test result:|FAILED|panicked' "$LOG_DIR/unit.log" | sed 's/^/   /' || true

echo "== 2. in-database tests (cargo pgrx test)"
chown postgres: "$PGRX_DATA_PARENT"
cargo pgrx test pg15 pg_tests --runas postgres --pgdata "$PGRX_DATA_PARENT/data" >"$LOG_DIR/pg.log" 2>&1 || true
count_cargo "$LOG_DIR/pg.log"
grep -E '^test result:|FAILED|panicked|^error' "$LOG_DIR/pg.log" | sed 's/^/   /' || true
stop_pgrx_instances

echo "== 3. SQL-level tests (pgTAP, pg_prove) on an installed extension"
if install_extension; then
    cluster_start test
    for f in tests/sql/*.sql; do
        db=$(basename "$f" .sql)
        createdb "$db"
        pg_prove --verbose --dbname "$db" "$f" >"$LOG_DIR/$db.tap" 2>&1 || true
        count_tap "$LOG_DIR/$db.tap"
        printf '   %-40s %s\n' "$db" "$(grep -cE '^ *ok [0-9]+' "$LOG_DIR/$db.tap") ok, $(grep -cE '^ *not ok' "$LOG_DIR/$db.tap") not ok"
        grep -E '^ *not ok' -A6 "$LOG_DIR/$db.tap" | sed 's/^/      /' || true
    done

    echo "== 4. PostgREST replay (tests/postgrest_replay.rs, as the authenticator role)"
    createdb replay
    psql_q -d replay -f tests/fixtures/host_baseline.sql >/dev/null 2>&1
    psql_q -d replay -c "create extension pilot_guardrails"
    psql_q -d replay -f tests/fixtures/cycles.sql >/dev/null
    # The replay tests make many calls as one user within a minute: the rate limit is off here,
    # and the rate-limit test sets the limit it means.
    psql_q -d replay -c "select pilot_configure('recorder_calls_per_minute', '0')" >/dev/null
    PILOT_REPLAY_DSN="host=127.0.0.1 port=$PGPORT user=authenticator dbname=replay" \
    PILOT_ADMIN_DSN="host=127.0.0.1 port=$PGPORT user=postgres dbname=replay" \
        cargo test --test postgrest_replay -- --test-threads=1 >"$LOG_DIR/replay.log" 2>&1 || true
    count_cargo "$LOG_DIR/replay.log"
    grep -E '^test result:|FAILED|panicked' "$LOG_DIR/replay.log" | sed 's/^/   /' || true

    echo "== 5. scenarios (several databases or sessions)"
    for f in tests/scenarios/*.sh; do
        name=$(basename "$f" .sh)
        bash "$f" >"$LOG_DIR/$name.tap" 2>&1 || true
        count_tap "$LOG_DIR/$name.tap"
        printf '   %-40s %s\n' "$name" "$(grep -cE '^ *ok [0-9]+' "$LOG_DIR/$name.tap") ok, $(grep -cE '^ *not ok' "$LOG_DIR/$name.tap") not ok"
        grep -E '^ *not ok' -A6 "$LOG_DIR/$name.tap" | sed 's/^/      /' || true
    done
    cluster_stop
else
    echo "   build or install failed"; FAILED=$((FAILED + 1))
fi

if [ "$FAILED" -gt 0 ]; then echo "logs kept in $LOG_DIR"; else rm -rf "$LOG_DIR"; fi
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
