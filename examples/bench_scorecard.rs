//! bench/scorecard.sh's measuring half: for each cycle, times (median of several rounds, with
//! min–max) the scorecard against (a) the bare index scans it needs and (b) fetching the same rows
//! to a client and computing the metrics there, as the original system did. One run, side by side.
//!
//!   cargo run --release --example bench_scorecard -- "<superuser dsn>" <rounds> <cycle>...

use postgres::{Client, NoTls};
use std::collections::HashMap;
use std::time::{Duration, Instant};

const ORG: &str = "a0000000-0000-4000-8000-00000000000a";

fn median(mut v: Vec<Duration>) -> (f64, f64, f64) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    (ms(v[v.len() / 2]), ms(v[0]), ms(v[v.len() - 1]))
}

/// Two measurements side by side: `rounds` rounds of one execution each, in alternating order
/// (A B, B A, …), so that the machine's drift between seconds falls on both alike.
fn time_pair<F: FnMut(&mut Client), G: FnMut(&mut Client)>(
    client: &mut Client,
    rounds: usize,
    mut f: F,
    mut g: G,
) -> ((f64, f64, f64), (f64, f64, f64)) {
    f(client); // warm-up
    g(client);
    let (mut a, mut b) = (vec![], vec![]);
    for round in 0..rounds {
        for side in [round % 2, 1 - round % 2] {
            let t = Instant::now();
            if side == 0 {
                f(client);
                a.push(t.elapsed());
            } else {
                g(client);
                b.push(t.elapsed());
            }
        }
    }
    (median(a), median(b))
}

fn time<F: FnMut(&mut Client)>(client: &mut Client, rounds: usize, mut f: F) -> (f64, f64, f64) {
    f(client); // warm-up
    median(
        (0..rounds)
            .map(|_| {
                let t = Instant::now();
                f(client);
                t.elapsed()
            })
            .collect(),
    )
}

/// The original system's way: fetch every row of the cycle and organization, compute in the client.
fn client_side(c: &mut Client, cycle: &str) -> (usize, f64) {
    let attempts = c
        .query("select id::text, attempt_outcome, entity_key_hash, extract(epoch from attempted_at)::float8
                  from pilot_contact_attempt_events where pilot_cycle_id = $1 and recorded_by_org_id = $2::text::uuid",
               &[&cycle, &ORG]).unwrap();
    let referrals = c
        .query("select id::text, referral_state, extract(epoch from created_at)::float8
                  from pilot_referral_events where pilot_cycle_id = $1 and source_org_id = $2::text::uuid", &[&cycle, &ORG]).unwrap();
    let connections = c
        .query("select extract(epoch from connected_at)::float8, contact_attempt_event_id::text, referral_event_id::text
                  from pilot_connection_events where pilot_cycle_id = $1 and org_id = $2::text::uuid", &[&cycle, &ORG]).unwrap();
    let scope = c.query("select service_id, sla_tier from pilot_service_scope where pilot_cycle_id = $1 and org_id = $2::text::uuid",
                        &[&cycle, &ORG]).unwrap();
    let checks = c.query("select service_id, extract(epoch from checked_at)::float8 from service_operational_status_events
                           where pilot_cycle_id = $1 and org_id = $2::text::uuid", &[&cycle, &ORG]).unwrap();
    let audits = c.query("select is_fatal from pilot_data_decay_audits where pilot_cycle_id = $1 and org_id = $2::text::uuid",
                         &[&cycle, &ORG]).unwrap();
    let prefs = c.query("select preferred_via_platform from pilot_preference_fit_events where pilot_cycle_id = $1 and org_id = $2::text::uuid",
                        &[&cycle, &ORG]).unwrap();
    // M1, M5
    let mut failed = 0usize;
    let mut per_hash: HashMap<String, usize> = HashMap::new();
    let mut anchor_time: HashMap<String, f64> = HashMap::new();
    for r in &attempts {
        let outcome: &str = r.get(1);
        let fail = outcome != "connected";
        failed += fail as usize;
        if let Some(h) = r.get::<_, Option<String>>(2) {
            *per_hash.entry(h).or_default() += fail as usize;
        }
        anchor_time.insert(r.get(0), r.get(3));
    }
    let m1 = failed as f64 / attempts.len().max(1) as f64;
    let m5 = per_hash.values().filter(|f| **f >= 2).count() as f64 / per_hash.len().max(1) as f64;
    // M3, M2
    let terminal = referrals
        .iter()
        .filter(|r| r.get::<_, &str>(1) != "initiated")
        .count();
    for r in &referrals {
        anchor_time.insert(r.get(0), r.get(2));
    }
    let mut durations: Vec<i64> = connections
        .iter()
        .filter_map(|r| {
            let anchor: Option<String> = r.get::<_, Option<String>>(1).or(r.get(2));
            let at = anchor_time.get(&anchor?)?;
            let d = r.get::<_, f64>(0) - at;
            (d >= 0.0).then(|| d.round() as i64)
        })
        .collect();
    let p50 = pilot_percentile(&mut durations, 50);
    // M4 at 2026-06-30
    let as_of = 1_782_777_600.0_f64;
    let mut latest: HashMap<String, f64> = HashMap::new();
    for r in &checks {
        let t: f64 = r.get(1);
        if t <= as_of {
            let e = latest.entry(r.get(0)).or_insert(f64::MIN);
            if t > *e {
                *e = t;
            }
        }
    }
    let fresh = scope
        .iter()
        .filter(|r| {
            let window = match r.get::<_, &str>(1) {
                "crisis" => 24.0,
                "high_demand" => 48.0,
                _ => 168.0,
            } * 3600.0;
            latest
                .get(r.get::<_, &str>(0))
                .is_some_and(|t| as_of - t <= window)
        })
        .count();
    let m6 =
        audits.iter().filter(|r| r.get::<_, bool>(0)).count() as f64 / audits.len().max(1) as f64;
    let m7 =
        prefs.iter().filter(|r| r.get::<_, bool>(0)).count() as f64 / prefs.len().max(1) as f64;
    let rows = attempts.len()
        + referrals.len()
        + connections.len()
        + scope.len()
        + checks.len()
        + audits.len()
        + prefs.len();
    (
        rows,
        m1 + m5 + terminal as f64 + p50 + fresh as f64 + m6 + m7,
    )
}

fn pilot_percentile(v: &mut [i64], p: u64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_unstable();
    let pos = p as f64 / 100.0 * (v.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    v[lo] as f64 + (v[hi] - v[lo]) as f64 * (pos - lo as f64)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let dsn = args.next().expect("dsn");
    let rounds: usize = args.next().expect("rounds").parse().expect("a number");
    let cycles: Vec<String> = args.collect();
    let mut c = Client::connect(&dsn, NoTls).expect("connect");
    c.batch_execute("set jit = off").unwrap();
    println!("| cycle | rows of the cycle | scorecard ms (median, min–max) | cycle scorecard ms | bare index scans ms | client fetch + compute ms | client / scorecard | scorecard / bare scans | cycle / one organization |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut medians = vec![];
    for cycle in &cycles {
        // one organization's scorecard and the cycle across its organizations (SPEC §11.2: every
        // organization's scorecard and the total), alternating, 4 × rounds rounds (each takes ms)
        let (card, cycle_card) = time_pair(
            &mut c,
            rounds * 4,
            |c| {
                c.query_one("select pilot_scorecard($1, $2::text::uuid, '2026-06-30T00:00:00Z', 0.3, 3600)::text", &[cycle, &ORG]).unwrap();
            },
            |c| {
                c.query_one(
                    "select pilot_cycle_scorecard($1, '2026-06-30T00:00:00Z')::text",
                    &[cycle],
                )
                .unwrap();
            },
        );
        let bare = time(&mut c, rounds, |c| {
            for t in [
                "pilot_contact_attempt_events:recorded_by_org_id",
                "pilot_referral_events:source_org_id",
                "pilot_connection_events:org_id",
                "pilot_service_scope:org_id",
                "service_operational_status_events:org_id",
                "pilot_data_decay_audits:org_id",
                "pilot_preference_fit_events:org_id",
            ] {
                let (table, col) = t.split_once(':').unwrap();
                c.query_one(&format!("select count(*) from {table} where pilot_cycle_id = $1 and {col} = $2::text::uuid"), &[cycle, &ORG])
                    .unwrap();
            }
        });
        let mut rows = 0;
        let client = time(&mut c, rounds, |c| {
            rows = client_side(c, cycle).0;
        });
        println!(
            "| {cycle} | {rows} | {:.1} ({:.1}–{:.1}) | {:.1} ({:.1}–{:.1}) | {:.1} ({:.1}–{:.1}) | {:.1} ({:.1}–{:.1}) | {:.1}× | {:.2}× | {:.2}× |",
            card.0, card.1, card.2, cycle_card.0, cycle_card.1, cycle_card.2, bare.0, bare.1, bare.2, client.0, client.1, client.2,
            client.0 / card.0, card.0 / bare.0, cycle_card.0 / card.0
        );
        medians.push((cycle.clone(), rows, card.0));
    }
    if let (Some(first), Some(last)) = (medians.first(), medians.last()) {
        println!();
        println!(
            "growth of the scorecard's median from {} ({} rows) to {} ({} rows): {:.2}× for {:.1}× the rows",
            first.0, first.1, last.0, last.1, last.2 / first.2, last.1 as f64 / first.1.max(1) as f64
        );
    }
}
