#!/usr/bin/env bash
# SPEC §9: sql/scripts/preflight.sql (before install: reports item by item, changes nothing, exits
# non-zero on a problem) and sql/scripts/verify.sql (after install: exits non-zero when a check fails).
set -euo pipefail
. "$(dirname "$0")/../lib/tap.sh"
trap 'for d in pf_empty pf_host pf_bad vf; do dropdb --if-exists "$d" >/dev/null 2>&1; done' EXIT

catalog="select md5(string_agg(x, ',' order by x)) from (
           select 'c' || oid from pg_class union all select 'p' || oid from pg_proc union all select 'n' || oid from pg_namespace
           union all select 'r' || oid || rolname from pg_roles union all select 'y' || oid from pg_policy
           union all select 'e' || oid from pg_extension union all select 'a' || coalesce(relacl::text, '') from pg_class) s(x)"

# The catalog fingerprint must be a real md5, never an empty string that would compare equal.
snapshot() { local v; v=$(sql -d "$1" -c "$catalog"); [ ${#v} -eq 32 ] && echo "$v" || echo "no snapshot of $1 ($RANDOM)"; }

preflight() { psql -X -v ON_ERROR_STOP=1 -d "$1" -f sql/scripts/preflight.sql > "$CLUSTER_DIR/preflight_$1.out" 2>&1; }

createdb pf_empty
before=$(snapshot pf_empty)
rc=0; preflight pf_empty || rc=$?
tap_is "$rc" "0" "preflight on an empty database: ready (exit 0)"
tap_ok $(grep -q 'public.services.id (text) *| will be created' "$CLUSTER_DIR/preflight_pf_empty.out"; echo $?) \
    "it says what pilot_bootstrap_host() will provide"
tap_is "$(snapshot pf_empty)" "$before" "and changes nothing in the catalog"

createdb pf_host
sql -d pf_host -f tests/fixtures/host_baseline.sql >/dev/null 2>&1
before=$(snapshot pf_host)
rc=0; preflight pf_host || rc=$?
tap_is "$rc" "0" "preflight on the Supabase-shaped host: ready"
tap_ok $(grep -q 'legacy public.bulk_update_service_status *| will be replaced' "$CLUSTER_DIR/preflight_pf_host.out"; echo $?) \
    "it reports that the legacy bulk_update_service_status will be replaced"
tap_ok $(grep -q 'public.services.id (text) *| ok' "$CLUSTER_DIR/preflight_pf_host.out"; echo $?) "and that the host tables are in place"
tap_is "$(snapshot pf_host)" "$before" "and changes nothing"

createdb pf_bad
sql -d pf_bad -c "create table services (id integer primary key); create table organization_members (organization_id uuid, user_id uuid);
                  create table pilot_service_scope (id int)" >/dev/null
before=$(snapshot pf_bad)
rc=0; preflight pf_bad || rc=$?
tap_ok $([ "$rc" -ne 0 ]; echo $?) "preflight on an incompatible host exits non-zero ($rc)"
tap_ok $(grep -q 'public.services.id (text) *| PROBLEM *| is integer' "$CLUSTER_DIR/preflight_pf_bad.out"; echo $?) "it names the wrong column type"
tap_ok $(grep -q 'public.organization_members.role (text) *| PROBLEM' "$CLUSTER_DIR/preflight_pf_bad.out"; echo $?) "the missing column"
tap_ok $(grep -q 'name free: public.pilot_service_scope *| PROBLEM' "$CLUSTER_DIR/preflight_pf_bad.out"; echo $?) "and the clashing table name"
tap_ok $(grep -q 'preflight: 8 problem(s)' "$CLUSTER_DIR/preflight_pf_bad.out"; echo $?) "counting 8 problems (one wrong type, six missing columns, one clashing name)"
tap_is "$(snapshot pf_bad)" "$before" "and changes nothing"

createdb vf
sql -d vf -f tests/fixtures/host_baseline.sql >/dev/null 2>&1
sql -d vf -c "create extension pilot_guardrails" >/dev/null
rc=0; psql -X -v ON_ERROR_STOP=1 -d vf -f sql/scripts/verify.sql > "$CLUSTER_DIR/verify_ok.out" 2>&1 || rc=$?
tap_is "$rc" "0" "verify.sql on a fresh install: exit 0"
tap_ok $(grep -q 'pilot_verify: all [0-9]* checks ok' "$CLUSTER_DIR/verify_ok.out"; echo $?) "and says all checks are ok"
sql -d vf -c "alter table pilot_referral_events disable row level security" >/dev/null
rc=0; psql -X -v ON_ERROR_STOP=1 -d vf -f sql/scripts/verify.sql > "$CLUSTER_DIR/verify_bad.out" 2>&1 || rc=$?
tap_ok $([ "$rc" -ne 0 ]; echo $?) "verify.sql exits non-zero when a check fails ($rc)"
tap_ok $(grep -q 'row-level security enabled on pilot_referral_events *| FAILED' "$CLUSTER_DIR/verify_bad.out"; echo $?) \
    "and shows the failing check first"
tap_done
