#!/usr/bin/env bash
# The scorecard is exact under every kind of write (SPEC §8; its counts are maintained by triggers,
# sql/79_scorecard_counts.sql): 200 random writes — inserts of every source table, updates,
# re-keying, moved event times and anchors, rows moved to another organization or cycle, flipped
# flags, ended referrals, deletes, recorder calls as a writer under RLS, retention runs — in four
# segments with a pg_dump / pg_restore into a new database between them; after each write, and
# after each restore, pilot_scorecard of every (cycle, organization) and pilot_cycle_scorecard's
# total of each cycle are compared with the same metrics computed from the raw rows by plain
# queries (tests/fixtures/scorecard_reference.sql): 0 differences. Then 4 sessions × 50 writes at
# once; a race of three sessions on one anchor's time and its connections (without the anchor's
# FOR SHARE lock in set_seconds_to_connection, this and the concurrent segment fail); and rows
# loaded with the triggers off until pilot_rebuild_scorecard_counts().
set -euo pipefail
. "$(dirname "$0")/../lib/tap.sh"
work=$(mktemp -d)
dbs="exact_1"
trap 'rm -rf "$work"; for d in $dbs; do dropdb --if-exists "$d" >/dev/null 2>&1; done' EXIT
A=a0000000-0000-4000-8000-00000000000a
B=b0000000-0000-4000-8000-00000000000b
as_of=2026-06-30T00:00:00Z

db=exact_1
createdb "$db"
sql -d "$db" -f tests/fixtures/host_baseline.sql >/dev/null 2>&1
sql -d "$db" -c "create extension pilot_guardrails" -f tests/fixtures/scorecard_reference.sql >/dev/null
sql -d "$db" -c "insert into pilot_cycles (id, starts_on, ends_on) values ('ex-1', '2024-01-01', '2026-12-31'), ('ex-2', '2024-01-01', '2026-12-31');
                 insert into pilot_cohorts (pilot_cycle_id, label) values ('ex-1', 'cohort-x'), ('ex-2', 'cohort-x');" >/dev/null

total=0
for segment in 1 2 3 4; do
    out=$(sql -d "$db" -c "select count(*) || '|' || coalesce(string_agg(format('step %s (%s) %s/%s: scorecard %s, rows %s', step, op,
                                  pilot_cycle_id, org_id, scorecard, reference), '; '), '')
                             from test_support.random_writes($segment / 10.0, 50, '{ex-1,ex-2}', '{$A,$B}', '$as_of')")
    tap_is "${out%%|*}" 0 "segment $segment: 50 random writes, each followed by the scorecards against plain queries: no difference ${out#*|}"
    total=$((total + 50))
    if [ "$segment" -lt 4 ]; then
        next="exact_$((segment + 1))"
        dbs="$dbs $next"
        pg_dump -Fc -d "$db" -f "$work/$db.dump"
        createdb "$next"
        pg_restore --exit-on-error -d "$next" "$work/$db.dump" 2>"$work/restore.err" || true
        tap_is "$(cat "$work/restore.err")" "" "segment $segment: pg_dump / pg_restore into $next reports nothing"
        tap_is "$(sql -d "$next" -c "select count(*) from test_support.scorecard_differences('{ex-1,ex-2}', '{$A,$B}', '$as_of')")" 0 \
            "segment $segment: the restored database's scorecards equal the plain queries"
        db=$next
    fi
done
# Concurrent writers: four sessions at once, each write its own committed transaction; then the
# scorecards against the plain queries.
for w in 1 2 3 4; do
    sql -d "$db" -c "call test_support.concurrent_writes(0.$w$w, 50, '{ex-1,ex-2}', '{$A,$B}', '$as_of')" >"$work/writer-$w.out" 2>&1 &
done
wait
tap_is "$(cat "$work"/writer-*.out)" "" "4 concurrent sessions × 50 random writes ran (each refused write counted, none failed the session)"
refused=$(sql -d "$db" -c "select coalesce(sum(n), 0) from test_support.refused")
tap_diag "writes refused by a concurrent one: $refused of 200 ($(sql -d "$db" -c "select coalesce(string_agg(sqlstate || ' ×' || n, ', ' order by sqlstate), 'none') from (select sqlstate, sum(n) n from test_support.refused group by 1) x"))"
tap_ok $([ "$refused" -lt 100 ]; echo $?) "most concurrent writes went through ($refused of 200 refused)"
total=$((total + 200))
tap_is "$(sql -d "$db" -c "select count(*) from test_support.scorecard_differences('{ex-1,ex-2}', '{$A,$B}', '$as_of')")" 0 \
    "after the concurrent writers, every scorecard and both totals equal the plain queries"

# A race on one anchor: one session moves its time 150 times while two others add (and remove)
# connections to it; then every stored duration and every scorecard against the plain queries.
anchor=$(sql -d "$db" -c "insert into pilot_contact_attempt_events (pilot_cycle_id, service_id, recorded_by_org_id, attempt_channel,
                                                                   attempt_outcome, attempted_at)
                          values ('ex-1', 'svc-shelter', '$A', 'phone', 'connected', '2026-06-01T10:00:00Z') returning id")
sql -d "$db" -c "call test_support.race_anchor('$anchor', true, 150)" >"$work/race-1.out" 2>&1 &
sql -d "$db" -c "call test_support.race_anchor('$anchor', false, 75)" >"$work/race-2.out" 2>&1 &
sql -d "$db" -c "call test_support.race_anchor('$anchor', false, 75)" >"$work/race-3.out" 2>&1 &
wait
tap_is "$(cat "$work"/race-*.out)" "" "the race ran: 150 moves of one anchor against 150 connection writes, no error"
tap_is "$(sql -d "$db" -c "select test_support.stale_durations()")" 0 "after the race, every connection's seconds_to_connection is its anchor's"
tap_is "$(sql -d "$db" -c "select count(*) from test_support.scorecard_differences('{ex-1,ex-2}', '{$A,$B}', '$as_of')")" 0 \
    "after the race, every scorecard and both totals equal the plain queries"

# Rows loaded with the triggers off (as a bulk load may): the counts miss them until
# pilot_rebuild_scorecard_counts() rebuilds them from the rows.
sql -d "$db" -c "alter table pilot_contact_attempt_events disable trigger user;
                 insert into pilot_contact_attempt_events (pilot_cycle_id, service_id, recorded_by_org_id, entity_key_hash, attempt_channel,
                                                           attempt_outcome, attempted_at)
                 select 'ex-1', 'svc-shelter', '$A', 'k1:' || md5('bulk-' || i % 7) || md5('y'), 'phone', 'no_response', '$as_of'
                   from generate_series(1, 30) i;
                 alter table pilot_contact_attempt_events enable trigger user;" >/dev/null
tap_ok $([ "$(sql -d "$db" -c "select count(*) from test_support.scorecard_differences('{ex-1,ex-2}', '{$A,$B}', '$as_of')")" -gt 0 ]; echo $?) \
    "rows loaded with the triggers off are not counted yet"
sql -d "$db" -c "select pilot_rebuild_scorecard_counts()" >/dev/null
tap_is "$(sql -d "$db" -c "select count(*) from test_support.scorecard_differences('{ex-1,ex-2}', '{$A,$B}', '$as_of')")" 0 \
    "after pilot_rebuild_scorecard_counts(), every scorecard equals the plain queries again"

# The writes did write: every source table held rows of both cycles after some segment (each
# segment's database is kept until the end; deletes and retention may empty a table later).
reached=$(for d in $dbs; do
    sql -d "$d" -c "select distinct 'attempts ' || pilot_cycle_id from pilot_contact_attempt_events where pilot_cycle_id like 'ex-%'
                    union select distinct 'connections ' || pilot_cycle_id from pilot_connection_events where pilot_cycle_id like 'ex-%'
                    union select distinct 'referrals ' || pilot_cycle_id from pilot_referral_events where pilot_cycle_id like 'ex-%'
                    union select distinct 'scope ' || pilot_cycle_id from pilot_service_scope where pilot_cycle_id like 'ex-%'
                    union select distinct 'audits ' || pilot_cycle_id from pilot_data_decay_audits where pilot_cycle_id like 'ex-%'"
done | sort -u | tr '\n' ' ')
tap_is "$reached" "attempts ex-1 attempts ex-2 audits ex-1 audits ex-2 connections ex-1 connections ex-2 referrals ex-1 referrals ex-2 scope ex-1 scope ex-2 " \
       "the $total writes reached every source table of both cycles"
tap_ok $([ "$(sql -d "$db" -c "select count(*) from pilot_audit_events where action like '%retention%'")" -gt 0 ]; echo $?) \
    "retention ran among them (audited)"
tap_done
