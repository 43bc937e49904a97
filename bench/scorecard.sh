#!/usr/bin/env bash
# Scorecard benchmark (not part of the tests). One run, side by side: the scorecard against (a) the
# bare index scans it needs and (b) fetching the same rows to a client and computing there; and how
# its time grows from 100k to 1M contact attempts. Noise: 10× as many rows in other cycles.
#   bench/scorecard.sh [--scale S] [--rounds N]     (S = 1.0: a 1,000,000-attempt cycle)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
SCALE=1.0
ROUNDS=5
while [ $# -gt 0 ]; do
    case $1 in --scale) SCALE=$2; shift 2 ;; --rounds) ROUNDS=$2; shift 2 ;; *) echo "unknown $1"; exit 2 ;; esac
done
n() { awk -v s="$SCALE" -v n="$1" 'BEGIN { printf "%d", s * n }'; }

scripts/setup.sh
install_extension --release
cargo build --quiet --release --example bench_scorecard
cluster_start bench
trap cluster_stop EXIT
psql_q -c "alter system set shared_buffers = '2GB'" -c "alter system set work_mem = '64MB'" \
       -c "alter system set max_wal_size = '8GB'" -c "alter system set jit = off" >/dev/null
as_postgres "$PG_BIN/pg_ctl" -D "$CLUSTER_DIR/data" -w restart -m fast >/dev/null
createdb bench
export PGDATABASE=bench
psql_q -c "create extension pilot_guardrails" -c "select pilot_bootstrap_host()" >/dev/null
psql_q -c "insert into organizations (id, name) values ('a0000000-0000-4000-8000-00000000000a', 'A')" \
       -c "insert into services (id, name) select 'svc-' || s, 'S' from generate_series(0, 499) s" >/dev/null
psql_q -f bench/scorecard_data.sql >/dev/null
t0=$(date +%s)
# the event tables, from the registry of the kinds (sql/35_kinds.sql)
event_tables=$(psql -X -At -c "select distinct table_name from pilot_private.kinds() where policy_shape = 'events' order by 1")
for t in $event_tables; do
    psql_q -c "alter table $t disable trigger user" >/dev/null
done
psql_q -c "select bench_generate('cycle-100k', $(n 100000))" -c "select bench_generate('cycle-250k', $(n 250000))" \
       -c "select bench_generate('cycle-500k', $(n 500000))" -c "select bench_generate('cycle-1m', $(n 1000000))" >/dev/null
for k in $(seq 1 10); do psql_q -c "select bench_generate('noise-$k', $(n 1000000))" >/dev/null; done
for t in $event_tables; do
    psql_q -c "alter table $t enable trigger user" >/dev/null
done
# loaded with triggers off: the scorecard's maintained counts from the rows (79_scorecard_counts.sql)
psql_q -c "select pilot_rebuild_scorecard_counts()" >/dev/null
psql_q -c "vacuum analyze" >/dev/null
total=$(psql -X -At -c "select count(*) from pilot_contact_attempt_events")
main=$(psql -X -At -c "select count(*) from pilot_contact_attempt_events where pilot_cycle_id like 'cycle-%'")
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); PostgreSQL $(psql -X -At -c 'show server_version');" \
     "shared_buffers $(psql -X -At -c 'show shared_buffers'), work_mem $(psql -X -At -c 'show work_mem'), jit off"
echo "data: $total contact attempts ($main in the measured cycles, the rest noise in 10 other cycles), loaded in $(( $(date +%s) - t0 )) s"
echo
"$REPO_ROOT/target/release/examples/bench_scorecard" "host=127.0.0.1 port=$PGPORT user=postgres dbname=bench" "$ROUNDS" \
    cycle-100k cycle-250k cycle-500k cycle-1m
