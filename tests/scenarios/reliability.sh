#!/usr/bin/env bash
# The short form of scripts/soak.sh (SPEC §7 under load, issue "load-and-crash"): a few seconds of
# concurrent recording through the PostgREST replay, then one round with the postmaster killed by
# SIGKILL and restarted. Its own cluster (fsync on), so the suite's cluster is never killed.
set -euo pipefail
. "$(dirname "$0")/../lib/tap.sh"
cargo build --quiet --example soak 2>/dev/null || { echo "not ok 1 - the soak client builds"; echo "1..1"; exit 0; }
SOAK="$REPO_ROOT/target/debug/examples/soak"
CLUSTER_FSYNC=on cluster_start reliability
trap cluster_stop EXIT
createdb soak
sql -d soak -f tests/fixtures/host_baseline.sql >/dev/null 2>&1
sql -d soak -c "create extension pilot_guardrails" -f tests/fixtures/cycles.sql >/dev/null
# A load run, not a test of the rate limit: the limit is off (SPEC §10.3).
sql -d soak -c "select pilot_configure('recorder_calls_per_minute', '0')" >/dev/null
api="host=127.0.0.1 port=$PGPORT user=authenticator dbname=soak"
admin="host=127.0.0.1 port=$PGPORT user=postgres dbname=soak"

rc=0; out=$("$SOAK" "$api" "$admin" 4 4 soak-load load) || rc=$?
echo "# $out"
tap_is "$rc" "0" "load: 4 clients for 4 s, every refusal as the contract promises, stored rows = acknowledged rows exactly"
tap_ok $(echo "$out" | grep -q 'acknowledged_but_missing=0 stored_unacknowledged=0 half_written=0'; echo $?) "load: nothing missing, nothing extra, nothing half-written"

"$SOAK" "$api" "$admin" 4 8 soak-crash crash > "$CLUSTER_DIR/crash.out" &
client=$!
sleep 3
cluster_kill_postmaster
cluster_run start
rc=0; wait $client || rc=$?
out=$(cat "$CLUSTER_DIR/crash.out")
echo "# $out"
tap_is "$rc" "0" "crash: postmaster SIGKILLed mid-load and restarted; every acknowledged event present and intact, pilot_verify() ok"
tap_ok $(echo "$out" | grep -q 'acknowledged_but_missing=0 .*half_written=0 .*unexpected_errors=0'; echo $?) "crash: 0 acknowledged-but-missing, 0 half-written, 0 unexpected errors"
tap_ok $(echo "$out" | grep -qE 'interrupted=[1-9]'; echo $?) "crash: the clients did see the crash (some requests interrupted)"
tap_done
