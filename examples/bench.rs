//! scripts/bench.sh's measuring half: every comparison side by side in one run, medians of several
//! rounds with min–max, printed as one Markdown table of throughputs and ratios.
//!
//!   bench <superuser dsn> <authenticator dsn> <rounds> <pgbench seconds>

use postgres::{Client, NoTls};
use std::process::Command;
use std::time::Instant;

struct Stat {
    median: f64,
    min: f64,
    max: f64,
}

fn stat(mut v: Vec<f64>) -> Stat {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    Stat {
        median: v[v.len() / 2],
        min: v[0],
        max: v[v.len() - 1],
    }
}

/// Throughput (units per second) of `sql`, which processes `units` units, over `rounds` rounds.
fn throughput(c: &mut Client, rounds: usize, units: f64, sql: &str) -> Stat {
    c.query(sql, &[]).expect(sql); // warm-up (and caches)
    stat(
        (0..rounds)
            .map(|_| {
                let t = Instant::now();
                c.query(sql, &[]).expect(sql);
                units / t.elapsed().as_secs_f64()
            })
            .collect(),
    )
}

/// Two queries side by side: `samples` samples of each, `reps` executions a sample, the two in
/// alternating order (A B, B A, …) so that neither always runs first and the machine's drift
/// between minutes falls on both; each side's setup (its role) runs before its sample, untimed.
/// Returns each side's throughput and the ratio A / B of each sample's adjacent pair (the two
/// samples of a pair run within a second of each other: drift between pairs cancels in the ratio).
fn side_by_side(
    c: &mut Client,
    samples: usize,
    reps: usize,
    sides: [(&str, &str); 2],
) -> ([Stat; 2], Stat) {
    for (setup, sql) in sides {
        c.batch_execute(setup).expect(setup);
        c.query(sql, &[]).expect(sql); // warm-up (and caches)
    }
    let mut out = [vec![], vec![]];
    for sample in 0..samples {
        for i in [sample % 2, 1 - sample % 2] {
            let (setup, sql) = sides[i];
            c.batch_execute(setup).expect(setup);
            let t = Instant::now();
            for _ in 0..reps {
                c.query(sql, &[]).expect(sql);
            }
            out[i].push(reps as f64 / t.elapsed().as_secs_f64());
        }
    }
    let paired = out[0].iter().zip(&out[1]).map(|(a, b)| a / b).collect();
    let [a, b] = out;
    ([stat(a), stat(b)], stat(paired))
}

fn fmt(s: &Stat) -> String {
    let f = |x: f64| {
        if x >= 100.0 {
            format!("{:.0}", x)
        } else {
            format!("{:.2}", x)
        }
    };
    format!("{} ({}–{})", f(s.median), f(s.min), f(s.max))
}

/// A row whose ratio is the median of the paired ratios (min–max), not the ratio of the medians.
fn row_paired(what: &str, ours: &Stat, other_name: &str, other: &Stat, unit: &str, paired: &Stat) {
    println!(
        "| {what} | {} | {other_name}: {} | {unit} | **{:.2}×** ({:.2}–{:.2}) |",
        fmt(ours),
        fmt(other),
        paired.median,
        paired.min,
        paired.max
    );
}

fn row(what: &str, ours: &Stat, other_name: &str, other: &Stat, unit: &str) {
    println!(
        "| {what} | {} | {other_name}: {} | {unit} | **{:.2}×** |",
        fmt(ours),
        fmt(other),
        ours.median / other.median
    );
}

/// pgbench against the bench cluster: the same options for every run but the clients, the role
/// and the script.
struct Pgbench<'a> {
    seconds: &'a str,
    port: &'a str,
    db: &'a str,
}

impl Pgbench<'_> {
    /// pgbench's report of `scripts` run by `clients` clients as `user`.
    fn run(&self, clients: &str, user: &str, scripts: &[&str]) -> String {
        let mut cmd = Command::new("/usr/lib/postgresql/15/bin/pgbench");
        cmd.args([
            "-n",
            "-M",
            "simple",
            "-c",
            clients,
            "-j",
            "2",
            "-T",
            self.seconds,
        ])
        .args(["-h", "127.0.0.1", "-p", self.port, "-U", user]);
        for script in scripts {
            cmd.args(["-f", script]);
        }
        let out = cmd.arg(self.db).output().expect("pgbench");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if !out.status.success() || !text.contains("tps = ") {
            panic!(
                "pgbench failed: {}{}",
                text,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        text
    }

    /// Transactions per second of `script` run by `clients` clients as `user`.
    fn tps(&self, clients: &str, user: &str, script: &str) -> f64 {
        let text = self.run(clients, user, &[script]);
        text.lines()
            .find_map(|l| {
                l.strip_prefix("tps = ")
                    .and_then(|r| r.split_whitespace().next())
                    .and_then(|n| n.parse().ok())
            })
            .expect("pgbench's tps")
    }

    /// Both scripts in one run, each transaction picking one at random (equal weights): each
    /// script's mean latency in ms, in the order given. The two share every moment of the run, so
    /// the machine's drift between minutes cannot favour either.
    fn mixed_latency_ms(&self, clients: &str, user: &str, scripts: [&str; 2]) -> [f64; 2] {
        let text = self.run(
            clients,
            user,
            &[&format!("{}@1", scripts[0]), &format!("{}@1", scripts[1])],
        );
        // per script: "SQL script N: <file>" then " - latency average = X ms"
        let mut latency = vec![];
        let mut in_script = false;
        for l in text.lines() {
            if l.starts_with("SQL script ") {
                in_script = true;
            } else if in_script {
                if let Some(r) = l.trim_start().strip_prefix("- latency average = ") {
                    latency.push(r.split_whitespace().next().unwrap().parse::<f64>().unwrap());
                    in_script = false;
                }
            }
        }
        assert_eq!(latency.len(), 2, "pgbench's per-script latencies: {text}");
        [latency[0], latency[1]]
    }
}

fn main() {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let [admin_dsn, api_dsn, rounds, seconds, port, db] = a.as_slice() else {
        panic!(
            "usage: bench <admin dsn> <authenticator dsn> <rounds> <pgbench seconds> <port> <db>"
        )
    };
    let _ = api_dsn;
    let rounds: usize = rounds.parse().unwrap();
    let bench = Pgbench { seconds, port, db };
    let mut c = Client::connect(admin_dsn, NoTls).expect("connect");
    c.batch_execute("set jit = off").unwrap();
    let n: i64 = c
        .query_one("select count(*) from corpus", &[])
        .unwrap()
        .get(0);
    let n = n as f64;

    println!("| comparison | pilot_guardrails (median, min–max) | alternative (median, min–max) | unit | ratio |");
    println!("|---|---:|---:|---|---:|");

    // 1. Validation of the 20,000-payload corpus.
    // Detoast and look at every payload's root, nothing more: the floor under any validator.
    let read = throughput(
        &mut c,
        rounds,
        n,
        "select count(*) from corpus where jsonb_typeof(payload) = 'object'",
    );
    let ours = throughput(
        &mut c,
        rounds,
        n,
        "select count(*) from corpus where pilot_validate('contact_attempt', payload) = '[]'",
    );
    let serde = throughput(
        &mut c,
        rounds,
        n,
        "select count(*) from corpus where bench_validate_serde('contact_attempt', payload) = '[]'",
    );
    let js_bool = throughput(
        &mut c,
        rounds,
        n,
        "select count(*) from corpus where bench_jsonschema_is_valid(payload)",
    );
    let js_err = throughput(
        &mut c,
        rounds,
        n,
        "select count(*) from corpus where cardinality(bench_jsonschema_errors(payload)) = 0",
    );
    let plpgsql = throughput(
        &mut c,
        rounds,
        n,
        "select count(*) from corpus where bench_plpgsql_validate(payload) = '[]'",
    );
    println!("| reading the corpus alone (detoast + root type, no validation) | {} | — | payloads/s | — |", fmt(&read));
    row("validation, every issue listed: binary jsonb walk vs the same validator through pgrx's text + serde_json", &ours, "serde", &serde, "payloads/s");
    row(
        "validation vs JSON Schema (jsonschema crate, pg_jsonschema's engine), boolean matcher",
        &ours,
        "jsonschema is_valid",
        &js_bool,
        "payloads/s",
    );
    row(
        "validation vs JSON Schema, error-list API",
        &ours,
        "jsonschema errors",
        &js_err,
        "payloads/s",
    );
    row(
        "validation vs the same rules in PL/pgSQL",
        &ours,
        "PL/pgSQL",
        &plpgsql,
        "payloads/s",
    );
    let agree: Vec<i64> = [
        "select count(*) from corpus where pilot_validate('contact_attempt', payload) = '[]'",
        "select count(*) from corpus where bench_jsonschema_is_valid(payload)",
        "select count(*) from corpus where bench_plpgsql_validate(payload) = '[]'",
    ]
    .iter()
    .map(|q| c.query_one(*q, &[]).unwrap().get(0))
    .collect();

    // 2. Privacy walk alone.
    for (keys, reps) in [(10, 4000), (1000, 200), (100000, 3)] {
        let ours = throughput(&mut c, rounds, reps as f64,
            &format!("select count(pilot_disallowed_key_paths(doc)) from walk_docs, generate_series(1, {reps}) where n = {keys}"));
        let plpgsql = throughput(&mut c, rounds, reps as f64,
            &format!("select count(bench_plpgsql_privacy_paths(doc)) from walk_docs, generate_series(1, {reps}) where n = {keys}"));
        row(
            &format!("privacy walk, {keys} keys: Rust vs recursive PL/pgSQL"),
            &ours,
            "PL/pgSQL",
            &plpgsql,
            "documents/s",
        );
    }

    // 3. Recording through PostgREST's protocol as `authenticated`: the recorder vs what a user
    // would pick instead, PostgREST's table endpoint (POST /pilot_contact_attempt_events, the same
    // row, INSERT under row-level security with the same framing); the owner's bare INSERT is
    // printed as a floor.
    // Every round (the machine drifts between minutes): the two sides back to back, in alternating
    // order, so that neither always runs first; and the two mixed in one run, each transaction one
    // of them at random, whose per-script latencies share every moment of the run.
    let (mut rec, mut table, mut ins) = (vec![], vec![], vec![]);
    let (mut rec_mixed, mut table_mixed) = (vec![], vec![]);
    for round in 0..rounds {
        // and both in one run: per request, drift-free
        let [r, t] = bench.mixed_latency_ms(
            "2",
            "authenticator",
            ["bench/pgbench_record.sql", "bench/pgbench_table_insert.sql"],
        );
        rec_mixed.push(1000.0 / r);
        table_mixed.push(1000.0 / t);
        if round % 2 == 0 {
            table.push(bench.tps("2", "authenticator", "bench/pgbench_table_insert.sql"));
            rec.push(bench.tps("2", "authenticator", "bench/pgbench_record.sql"));
        } else {
            rec.push(bench.tps("2", "authenticator", "bench/pgbench_record.sql"));
            table.push(bench.tps("2", "authenticator", "bench/pgbench_table_insert.sql"));
        }
        ins.push(bench.tps("2", "postgres", "bench/pgbench_insert.sql"));
    }
    let (rec, table, ins) = (stat(rec), stat(table), stat(ins));
    row("recording through PostgREST's protocol, pgbench 2 clients: recorder vs PostgREST's table endpoint (INSERT under RLS, same row, same framing)", &rec, "table endpoint", &table, "transactions/s");
    row(
        "the same two in one pgbench run, each transaction one of them at random: per request (1 / mean latency)",
        &stat(rec_mixed),
        "table endpoint",
        &stat(table_mixed),
        "requests/s a client",
    );
    row(
        "(floor) the same recorder vs a bare INSERT by the owner (no RLS, no PostgREST framing)",
        &rec,
        "owner INSERT",
        &ins,
        "transactions/s",
    );

    // 3b. Server-side recorder time (SPEC §10.2, §10.3): N calls by one signed-in writer, one
    // transaction each (a DO loop that commits), with the rate limit on (high, never reached) vs
    // off, and with an Idempotency-Key per call; against the same writer's INSERT under RLS.
    // Short blocks, many rounds, the four sides in a rotating order: this machine's speed drifts
    // by tens of percent within a minute (one run's blocks of 2,000 calls ranged 1,334–2,215
    // calls/s for one side), so each side gets a sample from every part of the run.
    let per_call = |c: &mut Client, limit: &str, key: bool, insert: bool| -> f64 {
        let calls = 1000;
        c.batch_execute(&format!(
            "select pilot_configure('recorder_calls_per_minute', '{limit}');
             select set_config('request.jwt.claims', '{{\"role\":\"authenticated\",\"sub\":\"22222222-2222-4222-8222-222222222222\"}}', false);
             set role authenticated"
        ))
        .unwrap();
        let body = if insert {
            "insert into pilot_contact_attempt_events (pilot_cycle_id, service_id, recorded_by_org_id, entity_key_hash,
                 attempt_channel, attempt_outcome, attempted_at)
             values ('bench-server', 'svc-1', 'a0000000-0000-4000-8000-00000000000a', md5(g::text || r) || md5(r || g::text),
                     'phone', 'connected', '2026-06-01T10:00:00Z')"
                .to_string()
        } else {
            format!(
                "{} perform pilot_record_contact_attempt(jsonb_build_object('pilot_cycle_id', 'bench-server', 'service_id', 'svc-1',
                     'recorded_by_org_id', 'a0000000-0000-4000-8000-00000000000a', 'entity_key_hash', md5(g::text || r) || md5(r || g::text),
                     'attempt_channel', 'phone', 'attempt_outcome', 'connected', 'attempted_at', '2026-06-01T10:00:00Z'))",
                if key {
                    "perform set_config('request.headers', format('{\"idempotency-key\":\"%s-%s\"}', r, g), false);"
                } else {
                    "perform set_config('request.headers', '{}', false);"
                }
            )
        };
        let t = Instant::now();
        c.batch_execute(&format!(
            "do $$ declare r text := md5(clock_timestamp()::text); begin
                 for g in 1..{calls} loop {body}; commit; end loop; end $$"
        ))
        .unwrap();
        let us = t.elapsed().as_secs_f64() * 1e6 / calls as f64;
        c.batch_execute("reset role; select set_config('request.headers', '{}', false)")
            .unwrap();
        us
    };
    let (mut off, mut on, mut keyed, mut insert) = (vec![], vec![], vec![], vec![]);
    for round in 0..rounds * 4 {
        for side in 0..4 {
            match (round + side) % 4 {
                0 => off.push(per_call(&mut c, "0", false, false)),
                1 => on.push(per_call(&mut c, "1000000", false, false)),
                2 => keyed.push(per_call(&mut c, "1000000", true, false)),
                _ => insert.push(per_call(&mut c, "0", false, true)),
            }
        }
    }
    c.batch_execute("select pilot_configure('recorder_calls_per_minute', '0')")
        .unwrap();
    let (off, on, keyed, insert) = (stat(off), stat(on), stat(keyed), stat(insert));
    let inv = |s: &Stat| Stat {
        median: 1e6 / s.median,
        min: 1e6 / s.max,
        max: 1e6 / s.min,
    };
    row(
        "recorder, server side, one writer: rate limit on (never reached) vs off",
        &inv(&on),
        "limit off",
        &inv(&off),
        "calls/s",
    );
    row(
        "recorder, server side: an Idempotency-Key per call and the limit on vs neither",
        &inv(&keyed),
        "neither",
        &inv(&off),
        "calls/s",
    );
    row(
        "recorder, server side, limit and keys on vs the same writer's INSERT under RLS",
        &inv(&keyed),
        "INSERT",
        &inv(&insert),
        "calls/s",
    );

    // 3c. 8 concurrent clients of one user (SPEC §10.3: the limit never makes them wait on each
    // other): recorder throughput with the limit on (high) vs off.
    let (mut lim_on, mut lim_off) = (vec![], vec![]);
    for _ in 0..rounds.min(3) {
        for (limit, out) in [("1000000", &mut lim_on), ("0", &mut lim_off)] {
            c.batch_execute(&format!(
                "select pilot_configure('recorder_calls_per_minute', '{limit}')"
            ))
            .unwrap();
            out.push(bench.tps("8", "authenticator", "bench/pgbench_record.sql"));
        }
    }
    c.batch_execute("select pilot_configure('recorder_calls_per_minute', '0')")
        .unwrap();
    row(
        "8 concurrent clients of one user (pgbench): rate limit on (never reached) vs off",
        &stat(lim_on),
        "limit off",
        &stat(lim_off),
        "transactions/s",
    );

    // 4. Row-level security on reads: a member vs service_role reading one cycle's rows, 20 ×
    // rounds samples of 5 scans in alternating order (a sample takes about 70 ms); the ratio is the
    // median of the adjacent pairs' ratios.
    let q = "select count(*), max(attempted_at) from pilot_contact_attempt_events where pilot_cycle_id = 'cycle-100k'";
    let member_role = "reset role; select set_config('request.jwt.claims', '{\"role\":\"authenticated\",\"sub\":\"22222222-2222-4222-8222-222222222222\"}', false); set role authenticated";
    let ([member, service], paired) = side_by_side(
        &mut c,
        rounds * 20,
        5,
        [(member_role, q), ("reset role; set role service_role", q)],
    );
    c.batch_execute("reset role").unwrap();
    row_paired(
        "reading a 100k-row cycle: member under RLS vs service_role (bypasses RLS); ratio: median (min–max) of the paired samples",
        &member,
        "service_role",
        &service,
        "scans/s",
        &paired,
    );

    // 4b. What any row-level test costs this scan, as the owner (no RLS), against the same scan
    // without it: the cheapest per-row filter PostgreSQL evaluates (IS NOT NULL of a NOT NULL
    // column, always true), and the policy's membership test as a plain filter (the organization
    // against an initPlan, with an initPlan boolean for the admin's arm). A policy tested as a
    // filter costs at least the first; between runs the machine's noise can still put the
    // member's ratio above it.
    let owner = "reset role";
    let floor_q = format!("{q} and recorded_by_org_id is not null");
    let filter_q = format!(
        "{q} and (recorded_by_org_id = (select 'a0000000-0000-4000-8000-00000000000a'::uuid) or (select false))"
    );
    for (what, sql) in [
        ("(floor) the same scan as the owner: the cheapest per-row filter (IS NOT NULL, always true) vs none", floor_q.as_str()),
        ("(floor) the same scan as the owner: the policy's organization test as a plain filter vs none", filter_q.as_str()),
    ] {
        let ([with, without], paired) =
            side_by_side(&mut c, rounds * 20, 5, [(owner, sql), (owner, q)]);
        row_paired(what, &with, "no filter", &without, "scans/s", &paired);
    }

    // 5. The scorecard page (SPEC §13) with 12 months of daily snapshots: the HTML page vs the same
    // scorecard and history as JSON (what a client would fetch to draw it itself), as a member.
    c.batch_execute(
        "insert into pilot_cycles (id, starts_on, ends_on) values ('bench-page', '2026-01-01', '2026-12-31') on conflict do nothing;
         delete from pilot_metric_snapshots where pilot_cycle_id = 'bench-page';
         insert into pilot_metric_snapshots (pilot_cycle_id, org_id, metric_id, metric_value, numerator, denominator, calculated_at)
         select 'bench-page', 'a0000000-0000-4000-8000-00000000000a', m, 0.25 + d / 2000.0, 25, 100,
                '2026-06-30T00:00:00Z'::timestamptz - d * interval '1 day'
           from generate_series(0, 364) d, unnest(array['M1','M2_P50','M2_P75','M2_P90','M3','M4','M5','M6','M7']) m",
    )
    .unwrap();
    let ([page, json], _) = side_by_side(
        &mut c,
        rounds * 4,
        1,
        [
            (member_role, "select length(pilot_scorecard_page('bench-page', 'a0000000-0000-4000-8000-00000000000a', '2026-06-30T00:00:00Z', 0.5, 3600))"),
            (member_role, "select length(pilot_scorecard('bench-page', 'a0000000-0000-4000-8000-00000000000a', '2026-06-30T00:00:00Z', 0.5, 3600)::text),
                (select length(json_agg(h)::text) from pilot_metric_history('bench-page', 'a0000000-0000-4000-8000-00000000000a') h)"),
        ],
    );
    let bytes: i32 = c
        .query_one(
            "select length(pilot_scorecard_page('bench-page', 'a0000000-0000-4000-8000-00000000000a', '2026-06-30T00:00:00Z', 0.5, 3600))",
            &[],
        )
        .unwrap()
        .get(0);
    c.batch_execute("reset role").unwrap();
    row(
        &format!("scorecard page, 12 months of daily snapshots ({bytes} bytes of HTML), as a member: page vs the same scorecard and history as JSON"),
        &page,
        "JSON",
        &json,
        "requests/s",
    );
    println!(
        "scorecard page in the database: {:.1} ms median ({:.1}–{:.1})",
        1e3 / page.median,
        1e3 / page.max,
        1e3 / page.min
    );

    println!();
    println!("valid payloads found in the corpus (agreement check): pilot_validate {}, jsonschema {}, PL/pgSQL {} of {}",
             agree[0], agree[1], agree[2], n);
}
