#!/usr/bin/env bash
# SPEC §4's reads as one index condition (sql/50_policies.sql, read_orgs in sql/20_identity.sql):
# the one case README names where an admin's statement does not see a row it would see a moment
# later. Another transaction moves a row to another organization while an admin's DELETE waits for
# it; PostgreSQL re-checks the moved row against the policy with the list the admin's statement
# began with. A move to a listed organization (public.organizations) is deleted; a move to an
# organization with no row and not listed is skipped, as a row that no longer matches a WHERE is,
# and the next statement sees it.
set -euo pipefail
. "$(dirname "$0")/../lib/tap.sh"
db=admin_move
trap 'dropdb --if-exists "$db" >/dev/null 2>&1' EXIT
createdb "$db"
sql -d "$db" -f tests/fixtures/host_baseline.sql >/dev/null
sql -d "$db" -c "create extension pilot_guardrails"
sql -d "$db" -f tests/fixtures/cycles.sql >/dev/null
sql -d "$db" -f tests/fixtures/pilot_rows.sql >/dev/null

row="c0000000-0000-4000-8000-000000000001"
as_admin="select set_config('role', 'authenticated', false),
                 set_config('request.jwt.claims', '{\"role\":\"authenticated\",\"sub\":\"11111111-1111-4111-8111-111111111111\"}', false)"

# move_during_delete <organization>: service_role moves the row to the organization and holds the
# transaction open until the admin's DELETE of the row waits for it, then commits. Prints the
# number of rows the admin's DELETE removed.
move_during_delete() {
    local to=$1 count
    PGAPPNAME=mover sql -d "$db" >/dev/null <<SQL &
begin;
set local role service_role;
update public.pilot_contact_attempt_events set recorded_by_org_id = '$to' where id = '$row';
reset role;  -- service_role would not see another role's wait events
do \$\$ begin
    for i in 1 .. 1500 loop  -- at most 30 s
        exit when exists (select 1 from pg_catalog.pg_stat_activity where application_name = 'admin' and wait_event_type = 'Lock');
        perform pg_catalog.pg_sleep(0.02);
        perform pg_catalog.pg_stat_clear_snapshot();  -- else pg_stat_activity is read once per transaction
    end loop;
end \$\$;
commit;
SQL
    local mover=$!
    # the mover's UPDATE holds the row once its DO loop runs
    until [ "$(sql -d "$db" -c "select count(*) from pg_stat_activity where application_name = 'mover' and query like 'do %'")" = 1 ]; do
        sleep 0.05
    done
    count=$(PGAPPNAME=admin sql -d "$db" -c "$as_admin" -c "with d as (delete from public.pilot_contact_attempt_events where id = '$row' returning 1) select count(*) from d" | tail -1)
    wait "$mover"
    echo "$count"
}

tap_is "$(move_during_delete b0000000-0000-4000-8000-00000000000b)" 1 \
    "an admin's DELETE waiting on a row moved to organization B (listed, no rows of its own) deletes it"
sql -d "$db" -c "insert into public.pilot_contact_attempt_events (id, pilot_cycle_id, service_id, recorded_by_org_id,
                     entity_key_hash, attempt_channel, attempt_outcome, attempted_at)
                 values ('$row', 'cycle-1', 'svc-shelter', 'a0000000-0000-4000-8000-00000000000a', repeat('ab', 32), 'phone',
                         'no_response', '2026-06-01T10:00:00Z')" >/dev/null
tap_is "$(sql -d "$db" -c "select recorded_by_org_id from pilot_contact_attempt_events where id = '$row'")" \
    a0000000-0000-4000-8000-00000000000a "(the row is back in A)"
tap_is "$(move_during_delete f0000000-0000-4000-8000-00000000000f)" 0 \
    "an admin's DELETE waiting on a row moved to an organization with no row and not in public.organizations skips it"
tap_is "$(sql -d "$db" -c "$as_admin" -c "select count(*) from public.pilot_contact_attempt_events where id = '$row'" | tail -1)" 1 \
    "the admin's next statement reads the moved row"
tap_is "$(sql -d "$db" -c "$as_admin" -c "with d as (delete from public.pilot_contact_attempt_events where id = '$row' returning 1) select count(*) from d" | tail -1)" 1 \
    "and deletes it"
tap_done
