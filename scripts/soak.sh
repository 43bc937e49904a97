#!/usr/bin/env bash
# Reliability suite, long form (not part of the test command; tests/scenarios/reliability.sh is
# its short form inside it).
#   1. load:  N clients (default 8) for T seconds (default 60) recording valid, invalid and
#             privacy-violating payloads through the PostgREST replay; stored rows must equal the
#             acknowledged ones exactly, every refusal must carry the promised SQLSTATE.
#   2. crash: the same load while the postmaster is SIGKILLed (rounds 1 and 3) or one backend is
#             (round 2); every acknowledged event must be present and intact, pilot_verify() ok.
#             A SIGKILL leaves the operating system's page cache intact: this proves crash safety
#             of PostgreSQL and the extension, not that fsync reaches the disk.
#   3. fuzz:  cargo fuzz (libFuzzer, -s none on this stable toolchain) on the pure validator,
#             the privacy walk and the binary jsonb reader, for a bounded time.
#   scripts/soak.sh [--clients N] [--seconds T] [--fuzz-seconds F]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
CLIENTS=8 SECONDS_=60 FUZZ=60
while [ $# -gt 0 ]; do
    case $1 in
        --clients) CLIENTS=$2; shift 2 ;; --seconds) SECONDS_=$2; shift 2 ;; --fuzz-seconds) FUZZ=$2; shift 2 ;;
        *) echo "unknown option $1"; exit 2 ;;
    esac
done

scripts/setup.sh
install_extension --release
cargo build --quiet --release --example soak
SOAK="$REPO_ROOT/target/release/examples/soak"
CLUSTER_FSYNC=on cluster_start soak
trap cluster_stop EXIT
createdb soak
psql_q -d soak -f tests/fixtures/host_baseline.sql >/dev/null 2>&1
psql_q -d soak -c "create extension pilot_guardrails" -f tests/fixtures/cycles.sql
# Every pilot row names a registered cycle (SPEC §14): the cycles of this run.
psql_q -d soak -c "insert into pilot_cycles (id, starts_on, ends_on)
                   select c, '2026-01-01', '2026-12-31' from unnest(array['soak-load', 'soak-crash-1', 'soak-crash-2', 'soak-crash-3']) c
                   on conflict do nothing" >/dev/null
# A load run, not a test of the rate limit: the limit is off (SPEC §10.3).
psql_q -d soak -c "select pilot_configure('recorder_calls_per_minute', '0')" >/dev/null
api="host=127.0.0.1 port=$PGPORT user=authenticator dbname=soak"
admin="host=127.0.0.1 port=$PGPORT user=postgres dbname=soak"
failed=0

echo "== load: $CLIENTS clients, $SECONDS_ s"
"$SOAK" "$api" "$admin" "$CLIENTS" "$SECONDS_" soak-load load || failed=1

for round in 1 2 3; do
    if [ "$round" = 2 ]; then what="one backend SIGKILLed (the postmaster resets every session)"; else what="postmaster SIGKILLed, restarted"; fi
    echo "== crash round $round: $what"
    "$SOAK" "$api" "$admin" "$CLIENTS" "$SECONDS_" "soak-crash-$round" crash > "$CLUSTER_DIR/crash.out" &
    client=$!
    sleep $((SECONDS_ / 3))
    if [ "$round" = 2 ]; then
        victim=$(psql -X -At -d soak -c "select pid from pg_stat_activity where usename = 'authenticator' and state is not null limit 1")
        kill -9 "$victim"
    else
        cluster_kill_postmaster
        cluster_run start
    fi
    wait $client || failed=1
    cat "$CLUSTER_DIR/crash.out"
done

echo "== fuzz: $FUZZ s"
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked --quiet
fi
(cd fuzz && cargo fuzz run -s none validate -- -max_total_time="$FUZZ" -rss_limit_mb=4096 2>&1 | tail -3) || failed=1

if [ "$failed" = 0 ]; then echo "soak: all promises held"; else echo "soak: a promise was broken (see above)"; fi
exit "$failed"
