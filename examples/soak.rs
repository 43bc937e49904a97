//! Load and crash client for scripts/soak.sh and tests/scenarios/reliability.sh.
//!
//! N clients record contact attempts through the PostgREST replay (as PostgREST would: the
//! authenticator role, one transaction per request) for T seconds: 70 % valid, 20 % invalid, 10 %
//! carrying a privacy key. Every response is classified against the error contract. Afterwards the
//! stored rows are compared with what the clients saw acknowledged.
//!
//!   soak <api dsn> <admin dsn> <clients> <seconds> <cycle> <load|crash>
//!
//! In `load` mode the stored rows must equal the acknowledged ones exactly. In `crash` mode (the
//! caller kills the server meanwhile) every acknowledged event must be present and intact; events
//! whose commit was in flight when the server died may be stored without an acknowledgement.
//! Prints one line of `key=value` figures; exits 1 when a promise is broken.

use pilot_replay::{PostgRest, Request};
use postgres::{Client, NoTls};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const ORG_A: &str = "a0000000-0000-4000-8000-00000000000a";
const EDITOR_A: &str = "22222222-2222-4222-8222-222222222222";
const SECRET: &str = "the-caller-told-us-something-private";

#[derive(Default)]
struct Tally {
    requests: u64,
    acknowledged: HashMap<String, Value>,
    refused_as_promised: u64,
    interrupted: u64,
    reconnects: u64,
    unexpected: Vec<String>,
}

fn payload(cycle: &str, client: usize, i: u64) -> (Value, &'static str) {
    let mut p = json!({
        "pilot_cycle_id": cycle, "service_id": "svc-shelter", "recorded_by_org_id": ORG_A,
        "entity_key_hash": format!("{:064x}", (client as u64) << 40 | (i % 997)),
        "attempt_channel": "phone", "attempt_outcome": if i.is_multiple_of(3) { "no_response" } else { "connected" },
        "attempted_at": format!("2026-06-{:02}T{:02}:{:02}:{:02}Z", 1 + (i % 28), i % 24, (i / 24) % 60, client % 60),
    });
    match i % 10 {
        7 | 8 => {
            p["attempt_channel"] = json!("carrier-pigeon");
            (p, "invalid_enum")
        }
        9 => {
            p["context"] = json!({"items": [{"Notes": SECRET}]});
            (p, "disallowed_privacy_key")
        }
        _ => (p, ""),
    }
}

fn interrupted(status: u16, code: Option<&str>) -> bool {
    status == 503
        || code.is_some_and(|c| c.starts_with("08") || c.starts_with("57P") || c == "PGRST000")
}

fn run_client(
    dsn: String,
    cycle: String,
    id: usize,
    deadline: Instant,
    stop: Arc<AtomicBool>,
) -> Tally {
    let mut t = Tally::default();
    let mut api: Option<PostgRest> = None;
    let mut i = 0u64;
    while Instant::now() < deadline && !stop.load(Ordering::Relaxed) {
        let conn = match api.as_mut() {
            Some(a) if !a.is_closed() => a,
            _ => match PostgRest::connect(&dsn, "public") {
                Ok(a) => {
                    t.reconnects += 1;
                    api.insert(a)
                }
                Err(_) => {
                    api = None;
                    std::thread::sleep(Duration::from_millis(100));
                    continue;
                }
            },
        };
        let (body, expected_issue) = payload(&cycle, id, i);
        i += 1;
        t.requests += 1;
        let jwt = json!({"role": "authenticated", "sub": EDITOR_A});
        let r = conn.request(&Request::post(
            "pilot_record_contact_attempt",
            Some(jwt),
            &body.to_string(),
        ));
        let code = r.code().map(str::to_string);
        if interrupted(r.status, code.as_deref()) {
            t.interrupted += 1;
            continue;
        }
        let text = r.body.to_string();
        match (expected_issue, r.status) {
            ("", 200) => {
                let row_id = r.body["id"].as_str().unwrap_or_default().to_string();
                t.acknowledged.insert(row_id, r.body.clone());
            }
            (issue, 400)
                if !issue.is_empty()
                    && code.as_deref() == Some("22023")
                    && text.contains(issue)
                    && !text.contains(SECRET) =>
            {
                t.refused_as_promised += 1;
            }
            _ => t.unexpected.push(format!(
                "{} {}",
                r.status,
                text.chars().take(300).collect::<String>()
            )),
        }
    }
    t
}

fn main() {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let [api_dsn, admin_dsn, clients, seconds, cycle, mode] = a.as_slice() else {
        eprintln!("usage: soak <api dsn> <admin dsn> <clients> <seconds> <cycle> <load|crash>");
        std::process::exit(2);
    };
    let clients: usize = clients.parse().expect("clients");
    let deadline = Instant::now() + Duration::from_secs(seconds.parse().expect("seconds"));
    let stop = Arc::new(AtomicBool::new(false));
    let handles: Vec<_> = (0..clients)
        .map(|id| {
            let (dsn, cycle, stop) = (api_dsn.clone(), cycle.clone(), stop.clone());
            std::thread::spawn(move || run_client(dsn, cycle, id, deadline, stop))
        })
        .collect();
    let mut total = Tally::default();
    for h in handles {
        let t = h.join().expect("client thread");
        total.requests += t.requests;
        total.refused_as_promised += t.refused_as_promised;
        total.interrupted += t.interrupted;
        total.reconnects += t.reconnects;
        total.unexpected.extend(t.unexpected);
        total.acknowledged.extend(t.acknowledged);
    }

    // The server may still be coming back from a crash: wait for it.
    let mut admin = loop {
        match Client::connect(admin_dsn, NoTls) {
            Ok(c) => break c,
            Err(_) if Instant::now() < deadline + Duration::from_secs(60) => {
                std::thread::sleep(Duration::from_millis(200))
            }
            Err(e) => panic!("the server did not come back: {e}"),
        }
    };
    let stored: HashMap<String, Value> = admin
        .query("select id::text, to_jsonb(t)::text from pilot_contact_attempt_events t where pilot_cycle_id = $1", &[cycle])
        .expect("stored rows")
        .into_iter()
        .map(|r| (r.get::<_, String>(0), serde_json::from_str(r.get::<_, &str>(1)).unwrap_or(Value::Null)))
        .collect();
    let missing = total
        .acknowledged
        .keys()
        .filter(|id| !stored.contains_key(*id))
        .count();
    let unacknowledged = stored
        .keys()
        .filter(|id| !total.acknowledged.contains_key(*id))
        .count();
    let half_written = total
        .acknowledged
        .iter()
        .filter(|(id, row)| stored.get(*id).is_some_and(|s| s != *row))
        .count();
    let verify_failed: i64 = admin
        .query_one("select count(*) from pilot_verify() where not ok", &[])
        .expect("verify")
        .get(0);

    println!(
        "mode={mode} clients={clients} requests={} acknowledged={} stored={} acknowledged_but_missing={missing} \
         stored_unacknowledged={unacknowledged} half_written={half_written} refused_as_promised={} interrupted={} \
         reconnects={} unexpected_errors={} verify_failed={verify_failed}",
        total.requests, total.acknowledged.len(), stored.len(), total.refused_as_promised, total.interrupted,
        total.reconnects, total.unexpected.len()
    );
    for u in total.unexpected.iter().take(5) {
        println!("unexpected: {u}");
    }
    let broken = missing > 0
        || half_written > 0
        || !total.unexpected.is_empty()
        || verify_failed > 0
        || total.acknowledged.is_empty()
        || (mode == "load" && (unacknowledged > 0 || total.interrupted > 0));
    std::process::exit(broken as i32);
}
