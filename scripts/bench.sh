#!/usr/bin/env bash
# Benchmarks, side by side in one run (not part of the test command). Builds in release mode with
# the bench-only library (bench/ext), starts its own throwaway cluster, and prints one table of ratios
# (medians of several rounds, with min–max), then the scorecard comparison of bench/scorecard.sh.
#   scripts/bench.sh [--rounds N] [--pgbench-seconds S] [--scorecard-scale X]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ROUNDS=5 PGB=10 SCALE=0.2
while [ $# -gt 0 ]; do
    case $1 in
        --rounds) ROUNDS=$2; shift 2 ;; --pgbench-seconds) PGB=$2; shift 2 ;; --scorecard-scale) SCALE=$2; shift 2 ;;
        *) echo "unknown option $1"; exit 2 ;;
    esac
done
n() { awk -v s="$SCALE" -v n="$1" 'BEGIN { printf "%d", s * n }'; }

scripts/setup.sh
echo "building (release; the bench-only functions are a library of their own, bench/ext)…"
install_extension --release
cargo build --quiet --release -p pilot_guardrails_bench
cargo build --quiet --release --example bench --example bench_scorecard
install -m 755 target/release/libpilot_guardrails_bench.so "$("$PG_BIN/pg_config" --pkglibdir)/pilot_guardrails_bench.so"
cluster_start bench
trap cluster_stop EXIT
psql_q -c "alter system set shared_buffers = '1GB'" -c "alter system set work_mem = '64MB'" \
       -c "alter system set max_wal_size = '4GB'" -c "alter system set jit = off" >/dev/null
cluster_run restart
createdb bench
export PGDATABASE=bench
{
    psql_q -c "create extension pilot_guardrails" -c "select pilot_bootstrap_host()"
    # Recording throughput, not the rate limit: off (the limit's own cost is measured separately).
    psql_q -c "select pilot_configure('recorder_calls_per_minute', '0')"
    psql_q -f scripts/demo/seed.sql
    psql_q -c "insert into pilot_cycles (id, starts_on, ends_on)
               select c, '2026-01-01', '2026-12-31' from unnest(array['bench-record', 'bench-insert', 'bench-server', 'bench-table']) c"
    psql_q -c "insert into services (id, name) select 'svc-' || s, 'S' from generate_series(0, 499) s"
    psql_q -f bench/functions.sql -f bench/plpgsql_validator.sql -f bench/corpus.sql -f bench/scorecard_data.sql
    # the event tables, from the registry of the kinds (sql/35_kinds.sql)
    event_tables=$(psql -X -At -c "select distinct table_name from pilot_private.kinds() where policy_shape = 'events' order by 1")
    for t in $event_tables; do
        psql_q -c "alter table $t disable trigger user"
    done
    psql_q -c "select bench_generate('cycle-100k', 100000)" -c "select bench_generate('scorecard-small', $(n 100000))" \
           -c "select bench_generate('scorecard-large', $(n 1000000))"
    for k in $(seq 1 10); do psql_q -c "select bench_generate('noise-$k', $(n 1000000))"; done
    for t in $event_tables; do
        psql_q -c "alter table $t enable trigger user"
    done
    # loaded with triggers off: the scorecard's maintained counts from the rows (79_scorecard_counts.sql)
    psql_q -c "select pilot_rebuild_scorecard_counts()"
    psql_q -c "vacuum analyze"
} >/dev/null

echo
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM, $(date -u +%Y-%m-%d);" \
     "PostgreSQL $(psql -X -At -c 'show server_version'), shared_buffers $(psql -X -At -c 'show shared_buffers'),"\
     "work_mem $(psql -X -At -c 'show work_mem'), jit off, fsync off; $ROUNDS rounds, pgbench ${PGB} s a run, one run a side each round"
echo
"$REPO_ROOT/target/release/examples/bench" "host=127.0.0.1 port=$PGPORT user=postgres dbname=bench" \
    "host=127.0.0.1 port=$PGPORT user=authenticator dbname=bench" "$ROUNDS" "$PGB" "$PGPORT" bench
echo
echo "scorecard: computed in the database vs the bare index scans it needs vs fetching the rows to a client"
echo "($(psql -X -At -c "select count(*) from pilot_contact_attempt_events") contact attempts in all; the measured cycles are among 10× as many rows of other cycles)"
echo
"$REPO_ROOT/target/release/examples/bench_scorecard" "host=127.0.0.1 port=$PGPORT user=postgres dbname=bench" "$ROUNDS" \
    scorecard-small scorecard-large
