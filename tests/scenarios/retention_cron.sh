#!/usr/bin/env bash
# SPEC §11.3: retention scheduled daily with pg_cron (Debian's postgresql-15-cron, loaded through
# shared_preload_libraries), the job's command run once, over 1,000,000 expired rows: they are
# gone, the fresh ones stay, the run is audited, and the time it took is reported.
set -euo pipefail
. "$(dirname "$0")/../lib/tap.sh"
if [ ! -f "$("$PG_BIN/pg_config" --pkglibdir)/pg_cron.so" ]; then
    echo "1..0 # SKIP no pg_cron for PostgreSQL $PG_MAJOR here (Debian 12 packages it for 15 only)"; exit 0
fi
CLUSTER_EXTRA_OPTS="-c shared_preload_libraries=pg_cron -c cron.database_name=cron_db" cluster_start retention
trap cluster_stop EXIT
createdb cron_db
sql -d cron_db -f tests/fixtures/host_baseline.sql >/dev/null 2>&1
sql -d cron_db -c "create extension pilot_guardrails" -c "create extension pg_cron" -f tests/fixtures/cycles.sql >/dev/null

# 1,000,000 contact attempts two years old and 10 from yesterday, already keyed (triggers off for
# the load: a backend bulk load, as pg_restore would do it).
sql -d cron_db -c "set session_replication_role = replica;
    insert into pilot_contact_attempt_events (pilot_cycle_id, service_id, recorded_by_org_id, entity_key_hash,
                                              attempt_channel, attempt_outcome, attempted_at)
    select 'old', 'svc-shelter', 'a0000000-0000-4000-8000-00000000000a', 'k1:' || md5(i::text) || md5((i + 1)::text), 'phone',
           'connected', now() - interval '730 days' + i * interval '1 second'
      from generate_series(1, 1000000) i;
    insert into pilot_contact_attempt_events (pilot_cycle_id, service_id, recorded_by_org_id, entity_key_hash,
                                              attempt_channel, attempt_outcome, attempted_at)
    select 'fresh', 'svc-shelter', 'a0000000-0000-4000-8000-00000000000a', 'k1:' || md5(i::text) || md5(i::text), 'phone',
           'connected', now() - interval '1 day'
      from generate_series(1, 10) i;" -c "vacuum analyze pilot_contact_attempt_events" >/dev/null
sql -d cron_db -c "select pilot_configure('retention.pilot_contact_attempt_events', '365 days')" >/dev/null

# README's schedule, verbatim: daily at 03:17.
sql -d cron_db -c "select cron.schedule('pilot-retention', '17 3 * * *', \$\$select * from pilot_apply_retention(dry_run => false)\$\$)" >/dev/null
tap_is "$(sql -d cron_db -c "select format('%s|%s|%s|%s|%s', jobname, schedule, database, username, active) from cron.job")" \
    "pilot-retention|17 3 * * *|cron_db|postgres|t" "pg_cron holds the daily job for this database"
command=$(sql -d cron_db -c "select command from cron.job where jobname = 'pilot-retention'")
start=$(date +%s%N)
out=$(sql -d cron_db -c "$command" | grep '^pilot_contact_attempt_events|')
ms=$((($(date +%s%N) - start) / 1000000))
echo "# the job's command over 1,000,000 expired rows: ${ms} ms"
tap_ok $(echo "$out" | grep -q '|1000000|f$'; echo $?) "the job's command deletes the 1,000,000 expired rows ($out)"
tap_is "$(sql -d cron_db -c "select count(*) from pilot_contact_attempt_events")" "10" "the 10 fresh rows stay"
tap_is "$(sql -d cron_db -c "select count(*) from pilot_audit_events where action = 'pilot_apply_retention' and actor_role = 'postgres'")" "1" \
    "the run is audited: its receipt"
tap_ok $([ "$ms" -lt 120000 ]; echo $?) "the run completes in under 2 minutes (${ms} ms)"
tap_done
