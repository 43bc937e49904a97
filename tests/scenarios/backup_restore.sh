#!/usr/bin/env bash
# SPEC §2, §9 "Backups": pg_dump of a database using the extension restores into an empty
# database with every host and pilot row, and a working extension — although pg_dump restores
# CREATE EXTENSION before any of the host's tables. Checked on the Supabase-shaped host fixture
# and on a bootstrapped vanilla database.
set -euo pipefail
. "$(dirname "$0")/../lib/tap.sh"
work=$(mktemp -d /var/tmp/pilot_guardrails-dump.XXXXXX)
trap 'rm -rf "$work"; for d in bk_host bk_host_restored bk_vanilla bk_vanilla_restored; do dropdb --if-exists "$d" >/dev/null 2>&1; done' EXIT

snapshot="select (test_support.host_snapshot())::text"
# every pilot row; the pseudonym key table is checked on its own (a restore adds its own key beside the dump's)
pilot="select (test_support.pilot_snapshot() - 'pilot_private.pseudonym_keys')::text"

round_trip() { # <label> <source db>
    local label=$1 src=$2 dst="$2_restored"
    local rc=0
    pg_dump -Fc -d "$src" -f "$work/$src.dump" || rc=$?
    tap_ok $rc "$label: pg_dump succeeds"
    # The dump puts CREATE EXTENSION before the host's tables (the reason for SPEC §2's first rule).
    local ext_pos tbl_pos
    ext_pos=$(pg_restore -l "$work/$src.dump" | grep -n ' EXTENSION - pilot_guardrails' | head -1 | cut -d: -f1)
    tbl_pos=$(pg_restore -l "$work/$src.dump" | grep -n ' TABLE public services ' | head -1 | cut -d: -f1)
    tap_ok $([ -n "$ext_pos" ] && [ -n "$tbl_pos" ] && [ "$ext_pos" -lt "$tbl_pos" ]; echo $?) \
        "$label: the dump creates the extension (entry $ext_pos) before the services table (entry $tbl_pos)"
    createdb "$dst"
    rc=0
    pg_restore --exit-on-error -d "$dst" "$work/$src.dump" 2>"$work/$src.err" || rc=$?
    tap_ok $rc "$label: pg_restore into an empty database succeeds"
    tap_is "$(cat "$work/$src.err")" "" "$label: pg_restore reports nothing"
    tap_is "$(sql -d "$dst" -c "$snapshot")" "$(sql -d "$src" -c "$snapshot")" \
        "$label: every host row, policy, grant and column is back, identical"
    tap_is "$(sql -d "$dst" -c "$pilot")" "$(sql -d "$src" -c "$pilot")" \
        "$label: every pilot row is back, identical (all nine tables)"
    tap_ok $([ "$(sql -d "$src" -c "select count(*) from pilot_connection_events")" -gt 0 ]; echo $?) \
        "$label: (the source had pilot rows, foreign keys between pilot tables included)"
    tap_is "$(sql -d "$dst" -c "select extversion from pg_extension where extname = 'pilot_guardrails'")" \
        "$(sql -d "$src" -c "select extversion from pg_extension where extname = 'pilot_guardrails'")" \
        "$label: the extension is restored at the same version"
    tap_is "$(sql -d "$dst" -c "select pilot_disallowed_key_paths('{\"a\":[{\"Notes\":1}]}')::text")" '{#0.0.notes}' \
        "$label: the restored extension works"
    # SPEC §14: the restore keeps the original key (the earliest wins over the one CREATE EXTENSION
    # made), so keyed rows are not keyed twice and a hash recorded after the restore keys as before.
    local probe="begin; insert into pilot_contact_attempt_events (pilot_cycle_id, service_id, recorded_by_org_id, entity_key_hash,
                    attempt_channel, attempt_outcome, attempted_at)
                 values ('cycle-1', 'svc-shelter', 'a0000000-0000-4000-8000-00000000000a', repeat('5A', 32), 'phone', 'connected', now())
                 returning entity_key_hash; rollback;"
    tap_is "$(sql -d "$dst" -c "$probe" | grep '^k1:')" "$(sql -d "$src" -c "$probe" | grep '^k1:')" \
        "$label: a client hash recorded after the restore gets the same keyed value as before it"
    tap_is "$(sql -d "$dst" -c "select count(*) from pilot_private.pseudonym_keys")" "2" \
        "$label: the restored database holds the dump's key beside its own, and uses the earliest"
    tap_is "$(sql -d "$dst" -c "select set_config('request.jwt.claims', '{\"sub\":\"22222222-2222-4222-8222-222222222222\"}', false); select pilot_private.member_orgs(true)::text" | tail -1)" \
        '{a0000000-0000-4000-8000-00000000000a}' "$label: the restored helpers read the restored host tables"
}

createdb bk_host
sql -d bk_host -f tests/fixtures/host_baseline.sql >/dev/null
sql -d bk_host -f tests/fixtures/snapshot.sql >/dev/null
sql -d bk_host -c "create extension pilot_guardrails" -f tests/fixtures/cycles.sql >/dev/null
sql -d bk_host -f tests/fixtures/pilot_rows.sql >/dev/null
round_trip "host fixture" bk_host

createdb bk_vanilla
sql -d bk_vanilla -f tests/fixtures/snapshot.sql >/dev/null
sql -d bk_vanilla -c "create extension pilot_guardrails; select pilot_bootstrap_host();" -f tests/fixtures/cycles.sql >/dev/null
sql -d bk_vanilla -c "insert into organizations (id, name) values ('a0000000-0000-4000-8000-00000000000a', 'A');
                      insert into services (id, name, org_id) values ('svc-1', 'S', 'a0000000-0000-4000-8000-00000000000a');
                      insert into organization_members (organization_id, user_id, role)
                           values ('a0000000-0000-4000-8000-00000000000a', '22222222-2222-4222-8222-222222222222', 'editor');
                      insert into services (id, name) values ('svc-shelter', 'Shelter'), ('svc-food', 'Food');" >/dev/null
sql -d bk_vanilla -f tests/fixtures/pilot_rows.sql >/dev/null
round_trip "bootstrapped vanilla" bk_vanilla

tap_done
