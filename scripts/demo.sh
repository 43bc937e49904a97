#!/usr/bin/env bash
# The main job on an embedded default: build and install the extension, start a throwaway
# PostgreSQL 15 cluster, create a database, CREATE EXTENSION pilot_guardrails, bootstrap the host
# contract, and show what was installed and how the privacy guard answers.
# Stops and removes its cluster at the end unless --keep is given.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

KEEP=0
[ "${1:-}" = "--keep" ] && KEEP=1

scripts/setup.sh
echo "== building and installing pilot_guardrails (release)"
install_extension --release
cluster_start demo
if [ "$KEEP" = 0 ]; then trap cluster_stop EXIT; fi
createdb pilot_demo
export PGDATABASE=pilot_demo

run() { echo; echo "pilot_demo=# $*"; psql -X -v ON_ERROR_STOP=1 -c "$*"; }

run "create extension pilot_guardrails"
run "select pilot_bootstrap_host()"
run "select e.extname, e.extversion, e.extnamespace::regnamespace as schema from pg_extension e where e.extname = 'pilot_guardrails'"
run "select pg_describe_object(classid, objid, objsubid) as installed_object
       from pg_depend where refclassid = 'pg_extension'::regclass and deptype = 'e'
        and refobjid = (select oid from pg_extension where extname = 'pilot_guardrails') order by 1"
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

if [ "$KEEP" = 1 ]; then
    echo
    echo "cluster kept: psql -h $PGHOST -p $PGPORT -U postgres pilot_demo   (stop: pg_ctl -D $CLUSTER_DIR/data stop)"
fi
echo
echo "demo finished"
