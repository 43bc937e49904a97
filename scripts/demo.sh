#!/usr/bin/env bash
# The main job on an embedded default: build and install the extension, start a throwaway
# PostgreSQL cluster (15; `--pg 18` for PostgreSQL 18), create a database, CREATE EXTENSION
# pilot_guardrails, bootstrap the host contract, and show what was installed and how the privacy
# guard answers. Stops and removes its cluster at the end unless --keep is given.
#   ./scripts/demo.sh [--pg 15|18] [--keep]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

KEEP=0
MAJOR=15
while [ $# -gt 0 ]; do
    case $1 in
        --keep) KEEP=1 ;;
        --pg) MAJOR=${2:?--pg needs a major: ${PG_MAJORS[*]}}; shift ;;
        *) echo "usage: $0 [--pg ${PG_MAJORS[*]// /|}] [--keep]" >&2; exit 2 ;;
    esac
    shift
done
pg_home "$MAJOR" >/dev/null

scripts/setup.sh
use_pg "$MAJOR"
echo "== building and installing pilot_guardrails (release) into PostgreSQL $MAJOR, and the PostgREST replay client"
install_extension --release
cargo build --quiet --example postgrest_replay
cluster_start demo
if [ "$KEEP" = 0 ]; then trap cluster_stop EXIT; fi
createdb pilot_demo
export PGDATABASE=pilot_demo

run() { echo; echo "pilot_demo=# $*"; psql -X -v ON_ERROR_STOP=1 -c "$*"; }
titled() { echo; echo "== $1"; psql -X -v ON_ERROR_STOP=1 -c "$2"; }

run "create extension pilot_guardrails"
run "select pilot_bootstrap_host()"
run "select e.extname, e.extversion, e.extnamespace::regnamespace as schema from pg_extension e where e.extname = 'pilot_guardrails'"
run "select split_part(pg_describe_object(classid, objid, objsubid), ' ', 1) as kind, count(*) as installed,
            string_agg(split_part(pg_describe_object(classid, objid, objsubid), ' ', 2), ', ' order by 1) filter (where classid = 'pg_class'::regclass) as tables
       from pg_depend where refclassid = 'pg_extension'::regclass and deptype = 'e'
        and refobjid = (select oid from pg_extension where extname = 'pilot_guardrails') group by 1 order by 1"
run "select n.nspname as schema, p.proname as api_function, pg_get_function_identity_arguments(p.oid) as arguments,
            split_part(obj_description(p.oid, 'pg_proc'), E'\n', 1) as summary
       from pg_proc p join pg_namespace n on n.oid = p.pronamespace
       join pg_depend d on d.objid = p.oid and d.deptype = 'e' and d.refobjid = (select oid from pg_extension where extname = 'pilot_guardrails')
      where n.nspname = 'public' order by 2"
psql_q -f scripts/demo/seed.sql >/dev/null
echo
echo "== requests replayed exactly as PostgREST sends them (as the authenticator role)"
"$REPO_ROOT/target/debug/examples/postgrest_replay" "host=127.0.0.1 port=$PGPORT user=authenticator dbname=pilot_demo" \
    < scripts/demo/requests.jsonl
run "select 'contact attempts' as pilot_table, recorded_by_org_id as org, count(*) from pilot_contact_attempt_events group by 2
     union all select 'referrals', source_org_id, count(*) from pilot_referral_events group by 2"
run "select pilot_validate('contact_attempt', '{
        \"pilot_cycle_id\": \"cycle-2026-q2\", \"service_id\": \"svc-shelter\",
        \"recorded_by_org_id\": \"a0000000-0000-4000-8000-00000000000a\",
        \"entity_key_hash\": \"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\",
        \"attempt_channel\": \"phone\", \"attempt_outcome\": \"no_response\",
        \"attempted_at\": \"2026-06-01T10:00:00Z\"}') as issues_of_a_valid_payload"
run "select jsonb_pretty(pilot_validate('contact_attempt', '{
        \"pilot_cycle_id\": \"cycle 2026\", \"attempt_channel\": \"pigeon\",
        \"meta\": {\"items\": [1, 2, {\"Notes\": \"caller said her landlord ...\"}]},
        \"attempted_at\": \"2026-06-01 10:00\"}')) as issues"
run "select pilot_disallowed_key_paths('{\"query\": \"food near me\", \"a\": [{\"ＮＯＴＥＳ\": 1}, {\"meſſage\": 2}]}')"

echo
echo "== a quarter of sample activity for both organizations, through the recorders (as service_role)"
psql -X -v ON_ERROR_STOP=1 -f scripts/demo/sample_events.sql | grep -vE '^(SET|RESET)$'
for org in a0000000-0000-4000-8000-00000000000a b0000000-0000-4000-8000-00000000000b; do
    titled "scorecard of $org, cycle-2026-q2, as of 2026-06-30 (pilot_scorecard)" "with card as (select pilot_scorecard('cycle-2026-q2', '$org', '2026-06-30T00:00:00Z',
                                             baseline_failed_contact_rate => 0.45, baseline_p50_seconds_to_connection => 7200) as c)
         select (select name from organizations where id = '$org') as organization, m.key as metric,
                case m.key when 'M1' then 'failed contact rate' when 'M2_P50' then 'seconds to connection, p50'
                           when 'M2_P75' then 'seconds to connection, p75' when 'M2_P90' then 'seconds to connection, p90'
                           when 'M3' then 'referral completion capture' when 'M4' then 'freshness SLA compliance'
                           when 'M5' then 'repeat failure rate' when 'M6' then 'data-decay fatal error rate'
                           when 'M7' then 'preference fit' end as meaning,
                round((m.value ->> 'value')::numeric, 4) as value, m.value ->> 'numerator' as numerator, m.value ->> 'denominator' as denominator
           from card, jsonb_each(c -> 'metrics') m order by m.key"
    titled "Gate 1 against baselines: failed contact rate 0.45, p50 7200 s" "select g.key as gate_1_check, g.value as pass
           from jsonb_each(pilot_scorecard('cycle-2026-q2', '$org', '2026-06-30T00:00:00Z', 0.45, 7200) -> 'gate1') g
          order by g.key = 'passed_all', g.key"
done

echo
echo "== the scorecard as a page (pilot_scorecard_page), as a member of each organization sees it"
pages=$(mktemp -d /var/tmp/pilot_guardrails-demo-pages.XXXXXX)
chmod 755 "$pages"
for member in a0000000-0000-4000-8000-00000000000a:22222222-2222-4222-8222-222222222222 \
              b0000000-0000-4000-8000-00000000000b:44444444-4444-4444-8444-444444444444; do
    org=${member%%:*}; sub=${member#*:}
    psql -X -q -At -v ON_ERROR_STOP=1 -o "$pages/scorecard-$org.html" <<SQL
begin;
select set_config('request.jwt.claims', '{"role": "authenticated", "sub": "$sub"}', true) \g /dev/null
set local role authenticated;
select pilot_scorecard_page('cycle-2026-q2', '$org', '2026-06-30T00:00:00Z', 0.45, 7200);
commit;
SQL
    echo "page of $org: $pages/scorecard-$org.html ($(wc -c < "$pages/scorecard-$org.html") bytes; open it in a browser)"
done

if [ "$KEEP" = 1 ]; then
    echo
    echo "cluster kept: psql -h $PGHOST -p $PGPORT -U postgres pilot_demo   (stop: sudo -u postgres $PG_BIN/pg_ctl -D $CLUSTER_DIR/data stop)"
fi
echo
echo "demo finished"
