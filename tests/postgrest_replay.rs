//! SPEC §7 end to end, as PostgREST serves it: each request is replayed with PostgREST's exact
//! protocol (tests/support/postgrest.rs) as the `authenticator` login role, and each case asserts
//! the HTTP status **and** the database state afterwards (row written or not).
//!
//! Needs a database with the host fixture and the extension installed: `scripts/test.sh` prepares
//! it and sets PILOT_REPLAY_DSN (authenticator) and PILOT_ADMIN_DSN (superuser). Without them the
//! tests are skipped with a message (they are not part of the plain `cargo test` layer).

use pilot_replay::{PostgRest, Request, Response};
use postgres::{Client, NoTls};
use serde_json::{json, Value};

const ORG_A: &str = "a0000000-0000-4000-8000-00000000000a";
const ORG_B: &str = "b0000000-0000-4000-8000-00000000000b";
const ADMIN: &str = "11111111-1111-4111-8111-111111111111";
const EDITOR_A: &str = "22222222-2222-4222-8222-222222222222";
const VIEWER_A: &str = "33333333-3333-4333-8333-333333333333";
const OWNER_B: &str = "44444444-4444-4444-8444-444444444444";
const NOBODY: &str = "55555555-5555-4555-8555-555555555555";
const SECRET: &str = "my-landlord-threatened-me-today";

fn user(sub: &str) -> Option<Value> {
    Some(json!({"role": "authenticated", "sub": sub, "aud": "authenticated"}))
}

struct Env {
    api: PostgRest,
    admin: Client,
}

fn env() -> Option<Env> {
    let (Ok(replay), Ok(admin)) = (
        std::env::var("PILOT_REPLAY_DSN"),
        std::env::var("PILOT_ADMIN_DSN"),
    ) else {
        eprintln!(
            "PILOT_REPLAY_DSN / PILOT_ADMIN_DSN not set: skipped (scripts/test.sh runs these)"
        );
        return None;
    };
    Some(Env {
        api: PostgRest::connect(&replay, "public").expect("connect as authenticator"),
        admin: Client::connect(&admin, NoTls).expect("connect as superuser"),
    })
}

impl Env {
    fn count(&mut self, sql: &str) -> i64 {
        self.admin.query_one(sql, &[]).expect("count").get(0)
    }
    fn post(&mut self, function: &str, jwt: Option<Value>, body: &Value) -> Response {
        self.api
            .request(&Request::post(function, jwt, &body.to_string()))
    }
}

fn contact(cycle: &str, org: &str, service: &str) -> Value {
    json!({
        "pilot_cycle_id": cycle, "service_id": service, "recorded_by_org_id": org,
        "entity_key_hash": "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08",
        "attempt_channel": "phone", "attempt_outcome": "no_response",
        "attempted_at": "2026-06-01T10:00:00Z", "resolved_at": "2026-06-01T10:05:00+00:00"
    })
}

/// Asserts the status, and that no error carries a Rust backtrace or source path (the server runs
/// with RUST_BACKTRACE=1 under scripts/test.sh).
fn assert_status(r: &Response, status: u16, what: &str) {
    assert_eq!(r.status, status, "{what}: got {} {}", r.status, r.body);
    let text = r.body.to_string();
    assert!(
        !text.contains("backtrace") && !text.contains(".rs:"),
        "{what}: a backtrace leaked: {text}"
    );
}

#[test]
fn contact_attempt_endpoint() {
    let Some(mut e) = env() else { return };
    e.admin
        .batch_execute(
            "delete from pilot_contact_attempt_events where pilot_cycle_id = 'replay-contact'",
        )
        .unwrap();
    let rows = |e: &mut Env| {
        e.count("select count(*) from pilot_contact_attempt_events where pilot_cycle_id = 'replay-contact'")
    };

    // 200: stored, returned with its id, the hash keyed (SPEC §14), and the transaction was READ WRITE.
    let r = e.post(
        "pilot_record_contact_attempt",
        user(EDITOR_A),
        &contact("replay-contact", ORG_A, "svc-shelter"),
    );
    assert_status(&r, 200, "editor records an attempt");
    assert_eq!(r.access_mode, "READ WRITE");
    let id = r.body["id"].as_str().expect("id").to_string();
    let keyed: String = e
        .admin
        .query_one(
            "select pilot_private.hmac_k1(k.key, '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08')
               from pilot_private.pseudonym_keys k order by k.created_at, k.id limit 1",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(keyed.starts_with("k1:") && keyed.len() == 67);
    assert_eq!(r.body["entity_key_hash"], keyed.as_str());
    assert_eq!(
        e.count(&format!(
            "select count(*) from pilot_contact_attempt_events where id = '{id}'"
        )),
        1
    );

    // 400: invalid payload, every issue in details, nothing written.
    let mut bad = contact("replay-contact", ORG_A, "svc-shelter");
    bad["attempt_channel"] = json!("pigeon");
    bad["attempted_at"] = json!("2026-06-01 10:00:00");
    let r = e.post("pilot_record_contact_attempt", user(EDITOR_A), &bad);
    assert_status(&r, 400, "invalid payload");
    assert_eq!(r.code(), Some("22023"));
    let details: Value = serde_json::from_str(r.body["details"].as_str().unwrap()).unwrap();
    // jsonb key order: attempted_at (12 characters) before attempt_channel (15).
    assert_eq!(details[0]["path"], "attempted_at");
    assert_eq!(details[0]["code"], "invalid_timestamp");
    assert_eq!(details[1]["path"], "attempt_channel");
    assert_eq!(details[1]["code"], "invalid_enum");
    assert_eq!(rows(&mut e), 1);

    // 400: a privacy key deep inside, reported by path and code, the secret nowhere in the response.
    let mut private = contact("replay-contact", ORG_A, "svc-shelter");
    private["meta"] = json!({"items": [{"Notes": SECRET}]});
    let r = e.post("pilot_record_contact_attempt", user(EDITOR_A), &private);
    assert_status(&r, 400, "privacy key");
    let details: Value = serde_json::from_str(r.body["details"].as_str().unwrap()).unwrap();
    // "meta" and "items" are not field names: shown by position; the key by its canonical name
    assert_eq!(
        details[0],
        json!({"path": "#0.#0.0.notes", "code": "disallowed_privacy_key",
                                  "message": "this key is not allowed anywhere in a pilot payload: it could carry raw user text"})
    );
    assert!(
        !r.body.to_string().contains(SECRET),
        "the secret leaked: {}",
        r.body
    );
    assert_eq!(rows(&mut e), 1);

    // 401: no JWT means the anon role, which holds no EXECUTE.
    let r = e.post(
        "pilot_record_contact_attempt",
        None,
        &contact("replay-contact", ORG_A, "svc-shelter"),
    );
    assert_status(&r, 401, "anon");
    assert_eq!(r.code(), Some("42501"));
    // 403: an authenticated token without a uuid sub.
    let r = e.post(
        "pilot_record_contact_attempt",
        Some(json!({"role": "authenticated", "sub": "not-a-uuid"})),
        &contact("replay-contact", ORG_A, "svc-shelter"),
    );
    assert_status(&r, 403, "no user id");
    // 403: a viewer (member without write rights), a non-member, a writer of another organization.
    for (who, sub) in [
        ("viewer", VIEWER_A),
        ("non-member", NOBODY),
        ("owner of B", OWNER_B),
    ] {
        let r = e.post(
            "pilot_record_contact_attempt",
            user(sub),
            &contact("replay-contact", ORG_A, "svc-shelter"),
        );
        assert_status(&r, 403, who);
        assert!(
            r.body["message"]
                .as_str()
                .unwrap()
                .contains("recorded_by_org_id"),
            "{}",
            r.body
        );
    }
    assert_eq!(rows(&mut e), 1);

    // 409: a service that does not exist.
    let r = e.post(
        "pilot_record_contact_attempt",
        user(EDITOR_A),
        &contact("replay-contact", ORG_A, "svc-nowhere"),
    );
    assert_status(&r, 409, "unknown service");
    assert_eq!(r.code(), Some("23503"));
    assert_eq!(
        r.body["message"],
        "service_id: no service with this id exists (public.services)"
    );
    assert_eq!(rows(&mut e), 1);

    // 200 for service_role (a backend job records for any organization).
    let r = e.post(
        "pilot_record_contact_attempt",
        Some(json!({"role": "service_role"})),
        &contact("replay-contact", ORG_B, "svc-food"),
    );
    assert_status(&r, 200, "service_role");
    assert_eq!(rows(&mut e), 2);

    // 501: the table is gone (renamed); nothing written anywhere, the caller told what is missing.
    e.admin
        .batch_execute(
            "alter table pilot_contact_attempt_events rename to pilot_contact_attempt_events_away",
        )
        .unwrap();
    let r = e.post(
        "pilot_record_contact_attempt",
        user(EDITOR_A),
        &contact("replay-contact", ORG_A, "svc-shelter"),
    );
    e.admin
        .batch_execute(
            "alter table pilot_contact_attempt_events_away rename to pilot_contact_attempt_events",
        )
        .unwrap();
    assert_status(&r, 501, "missing storage");
    assert_eq!(r.code(), Some("PT501"));
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .contains("pilot_contact_attempt_events"),
        "{}",
        r.body
    );
    assert_eq!(rows(&mut e), 2);
}

#[test]
fn referral_endpoints() {
    let Some(mut e) = env() else { return };
    e.admin
        .batch_execute("delete from pilot_referral_events where pilot_cycle_id = 'replay-ref'")
        .unwrap();
    let create = json!({"pilot_cycle_id": "replay-ref", "source_org_id": ORG_A, "target_service_id": "svc-food",
                        "created_at": "2026-06-01T10:00:00Z", "updated_at": "2026-06-01T10:00:00Z"});
    let r = e.post("pilot_record_referral", user(EDITOR_A), &create);
    assert_status(&r, 200, "create referral");
    assert_eq!(r.body["referral_state"], "initiated");
    let id = r.body["id"].as_str().unwrap().to_string();
    let state = |e: &mut Env| -> String {
        e.admin
            .query_one(&format!("select referral_state || ' ' || updated_at::text from pilot_referral_events where id = '{id}'"), &[])
            .unwrap()
            .get(0)
    };

    let update = |state: &str, at: &str| {
        json!({"referral_id": id, "payload": {
        "source_org_id": ORG_A, "referral_state": state, "updated_at": at, "terminal_at": at}})
    };

    // Invalid create, anon, viewer.
    let mut bad = create.clone();
    bad["referral_state"] = json!("failed"); // terminal without terminal_at
    assert_status(
        &e.post("pilot_record_referral", user(EDITOR_A), &bad),
        400,
        "terminal without terminal_at",
    );
    assert_status(
        &e.post("pilot_record_referral", None, &create),
        401,
        "anon create",
    );
    assert_status(
        &e.post("pilot_record_referral", user(VIEWER_A), &create),
        403,
        "viewer create",
    );
    assert_eq!(
        e.count("select count(*) from pilot_referral_events where pilot_cycle_id = 'replay-ref'"),
        1
    );

    // PATCH: named arguments (json_to_record path). Unknown id, other organization: 404.
    let unknown = json!({"referral_id": "00000000-0000-4000-8000-000000000000", "payload": {
        "source_org_id": ORG_A, "referral_state": "connected", "updated_at": "2026-06-02T10:00:00Z", "terminal_at": "2026-06-02T10:00:00Z"}});
    let r = e.post("pilot_update_referral", user(EDITOR_A), &unknown);
    assert_status(&r, 404, "unknown referral");
    assert_eq!(r.code(), Some("PT404"));
    let mut other = update("connected", "2026-06-02T10:00:00Z");
    other["payload"]["source_org_id"] = json!(ORG_B);
    assert_status(
        &e.post("pilot_update_referral", user(OWNER_B), &other),
        404,
        "another organization's referral",
    );
    assert_status(
        &e.post(
            "pilot_update_referral",
            user(OWNER_B),
            &update("connected", "2026-06-02T10:00:00Z"),
        ),
        403,
        "writer of B naming A",
    );
    assert_status(
        &e.post(
            "pilot_update_referral",
            user(VIEWER_A),
            &update("connected", "2026-06-02T10:00:00Z"),
        ),
        403,
        "viewer update",
    );
    assert_status(
        &e.post(
            "pilot_update_referral",
            None,
            &update("connected", "2026-06-02T10:00:00Z"),
        ),
        401,
        "anon update",
    );
    // Inconsistent with the stored row: updated_at before the stored one.
    let r = e.post(
        "pilot_update_referral",
        user(EDITOR_A),
        &update("connected", "2026-05-31T10:00:00Z"),
    );
    assert_status(&r, 400, "updated_at before the stored one");
    assert!(r.body["details"]
        .as_str()
        .unwrap()
        .contains("rule_violation"));
    assert_eq!(state(&mut e), "initiated 2026-06-01 10:00:00+00");

    // initiated → connected, then nothing moves it again.
    let r = e.post(
        "pilot_update_referral",
        user(EDITOR_A),
        &update("connected", "2026-06-02T10:00:00Z"),
    );
    assert_status(&r, 200, "connect");
    assert_eq!(r.body["referral_state"], "connected");
    assert_eq!(state(&mut e), "connected 2026-06-02 10:00:00+00");
    let r = e.post(
        "pilot_update_referral",
        user(EDITOR_A),
        &update("failed", "2026-06-03T10:00:00Z"),
    );
    assert_status(&r, 409, "terminal");
    assert_eq!(r.code(), Some("PT409"));
    let r = e.post(
        "pilot_update_referral",
        Some(json!({"role": "service_role"})),
        &update("client_withdrew", "2026-06-03T10:00:00Z"),
    );
    assert_status(&r, 409, "terminal, even for service_role");
    assert_eq!(state(&mut e), "connected 2026-06-02 10:00:00+00");

    // 501 when the referral table is missing.
    e.admin
        .batch_execute("alter table pilot_referral_events rename to pilot_referral_events_away")
        .unwrap();
    let r = e.post("pilot_record_referral", user(EDITOR_A), &create);
    e.admin
        .batch_execute("alter table pilot_referral_events_away rename to pilot_referral_events")
        .unwrap();
    assert_status(&r, 501, "missing referral storage");
    assert_eq!(
        e.count("select count(*) from pilot_referral_events where pilot_cycle_id = 'replay-ref'"),
        1
    );
}

#[test]
fn integration_feasibility_endpoint() {
    let Some(mut e) = env() else { return };
    e.admin.batch_execute("delete from pilot_integration_feasibility_decisions where redline_checklist_version = 'v2.1'").unwrap();
    let body = json!({"decision": "conditional", "decision_date": "2026-06-30", "redline_checklist_version": "v2.1",
                      "owners": ["platform-team"], "violations": ["R7"], "compensating_controls": ["C3"]});
    let rows = |e: &mut Env| {
        e.count("select count(*) from pilot_integration_feasibility_decisions where redline_checklist_version = 'v2.1'")
    };
    let r = e.post("pilot_record_integration_feasibility", user(ADMIN), &body);
    assert_status(&r, 200, "admin records a decision");
    assert_eq!(r.body["created_by"], ADMIN);
    assert_status(
        &e.post(
            "pilot_record_integration_feasibility",
            user(EDITOR_A),
            &body,
        ),
        403,
        "editor",
    );
    assert_status(
        &e.post("pilot_record_integration_feasibility", None, &body),
        401,
        "anon",
    );
    let mut go = body.clone();
    go["decision"] = json!("go");
    let r = e.post("pilot_record_integration_feasibility", user(ADMIN), &go);
    assert_status(&r, 400, "go with violations");
    assert_eq!(rows(&mut e), 1);
}

#[test]
fn hardened_bulk_update_over_http() {
    let Some(mut e) = env() else { return };
    let body =
        json!({"p_service_ids": ["svc-legal", "svc-unknown"], "p_verification_status": "L2"});
    let r = e.post("bulk_update_service_status", user(ADMIN), &body);
    assert_status(&r, 200, "admin");
    assert_eq!(
        r.body,
        json!([{"updated_count": 1, "failed_ids": ["svc-unknown"]}])
    );
    let forged =
        Some(json!({"role": "authenticated", "sub": NOBODY, "user_metadata": {"role": "admin"}}));
    assert_status(
        &e.post("bulk_update_service_status", forged, &body),
        403,
        "user_metadata admin",
    );
    assert_status(
        &e.post("bulk_update_service_status", None, &body),
        401,
        "anon",
    );
}

#[test]
fn get_runs_read_only() {
    let Some(mut e) = env() else { return };
    let r = e.api.request(&Request::get(
        "pilot_disallowed_key_paths",
        user(EDITOR_A),
        &[("payload", r#"{"query": 1}"#)],
    ));
    assert_status(&r, 200, "GET of an immutable function");
    assert_eq!(r.access_mode, "READ ONLY");
    assert_eq!(r.body, json!(["query"]));
    // A recorder over GET gets PostgREST's read-only transaction and cannot write: 25006 → 405.
    let r = e.api.request(&Request::get("pilot_update_referral", user(EDITOR_A), &[
        ("referral_id", "00000000-0000-4000-8000-000000000000"),
        ("payload", &json!({"source_org_id": ORG_A, "referral_state": "initiated", "updated_at": "2026-06-02T10:00:00Z"}).to_string()),
    ]));
    assert_eq!(r.access_mode, "READ ONLY");
    assert_status(&r, 405, "a writing function over GET");
    assert_eq!(r.code(), Some("25006"));
}

#[test]
fn scorecard_and_metric_sources() {
    let Some(mut e) = env() else { return };
    e.admin
        .batch_execute(
            "delete from pilot_connection_events where pilot_cycle_id = 'replay-m';
             delete from pilot_contact_attempt_events where pilot_cycle_id = 'replay-m';
             delete from pilot_service_scope where pilot_cycle_id = 'replay-m';",
        )
        .unwrap();
    let r = e.post(
        "pilot_record_contact_attempt",
        user(EDITOR_A),
        &contact("replay-m", ORG_A, "svc-shelter"),
    );
    assert_status(&r, 200, "anchor");
    let anchor = r.body["id"].as_str().unwrap().to_string();

    // A connection anchored in the same cycle and organization; then one whose anchor is another cycle's.
    let conn = json!({"pilot_cycle_id": "replay-m", "org_id": ORG_A, "service_id": "svc-shelter",
                      "connected_at": "2026-06-01T10:30:00Z", "contact_attempt_event_id": anchor});
    assert_status(
        &e.post("pilot_record_connection", user(EDITOR_A), &conn),
        200,
        "connection",
    );
    let mut foreign = conn.clone();
    foreign["pilot_cycle_id"] = json!("replay-other");
    let r = e.post("pilot_record_connection", user(EDITOR_A), &foreign);
    assert_status(&r, 400, "anchor of another cycle");
    assert!(r.body["details"]
        .as_str()
        .unwrap()
        .contains("contact_attempt_event_id"));
    assert_eq!(e.count("select count(*) from pilot_connection_events where contact_attempt_event_id is not null and pilot_cycle_id like 'replay-%'"), 1);

    // Scope: recording it again updates the tier.
    let scope = json!({"pilot_cycle_id": "replay-m", "org_id": ORG_A, "service_id": "svc-shelter", "sla_tier": "standard"});
    assert_status(
        &e.post("pilot_record_service_scope", user(EDITOR_A), &scope),
        200,
        "scope",
    );
    let mut again = scope.clone();
    again["sla_tier"] = json!("crisis");
    let r = e.post("pilot_record_service_scope", user(EDITOR_A), &again);
    assert_status(&r, 200, "scope again");
    assert_eq!(e.count("select count(*) from pilot_service_scope where pilot_cycle_id = 'replay-m' and sla_tier = 'crisis'"), 1);
    assert_eq!(
        e.count("select count(*) from pilot_service_scope where pilot_cycle_id = 'replay-m'"),
        1
    );

    // GET /rpc/pilot_scorecard: READ ONLY, named query parameters; M2 has the one 1800 s duration,
    // a cell of 1 that a member sees suppressed (SPEC §11.1) and a backend role sees raw.
    let q = [
        ("pilot_cycle_id", "replay-m"),
        ("org_id", ORG_A),
        ("as_of", "2026-06-02T00:00:00Z"),
    ];
    let r = e
        .api
        .request(&Request::get("pilot_scorecard", user(VIEWER_A), &q));
    assert_status(&r, 200, "scorecard over GET");
    assert_eq!(r.access_mode, "READ ONLY");
    assert_eq!(
        r.body["metrics"]["M2_P50"],
        json!({"value": null, "numerator": null, "denominator": null, "suppressed": true})
    );
    assert_eq!(r.body["metrics"]["M1"]["suppressed"], json!(true));
    assert_eq!(r.body["metrics"]["M4"]["suppressed"], json!(false));
    assert_eq!(r.body["as_of"], "2026-06-02T00:00:00Z");
    let raw = e.api.request(&Request::get(
        "pilot_scorecard",
        Some(json!({"role": "service_role"})),
        &q,
    ));
    assert_status(&raw, 200, "scorecard over GET as service_role");
    assert_eq!(
        raw.body["metrics"]["M2_P50"],
        json!({"value": 1800, "numerator": null, "denominator": 1, "suppressed": false})
    );
    assert_eq!(raw.body["metrics"]["M1"]["denominator"], json!(1));
    // Non-members: 403; no token: 401.
    assert_status(
        &e.api
            .request(&Request::get("pilot_scorecard", user(OWNER_B), &q)),
        403,
        "member of B",
    );
    assert_status(
        &e.api
            .request(&Request::get("pilot_scorecard", user(NOBODY), &q)),
        403,
        "non-member",
    );
    assert_status(
        &e.api.request(&Request::get("pilot_scorecard", None, &q)),
        401,
        "anon",
    );
    // POST works too (STABLE: READ ONLY transaction).
    let r = e.post(
        "pilot_scorecard",
        user(ADMIN),
        &json!({"pilot_cycle_id": "replay-m", "org_id": ORG_A}),
    );
    assert_status(&r, 200, "scorecard over POST");
    assert_eq!(r.access_mode, "READ ONLY");
}

/// `{"a": {"a": … {"a": null, "NOTES": 1} …, "NOTES": 1}, "NOTES": 1}`, `depth` levels, as JSON text:
/// the shape of the 0.2.0 crash (a forbidden key at every level; every path as deep as its level).
fn forbidden_at_every_level(depth: usize) -> String {
    let mut s = String::with_capacity(depth * 20);
    for _ in 0..depth {
        s.push_str("{\"a\": ");
    }
    s.push_str("null");
    for _ in 0..depth {
        // the 0.2.0 attack's key: "NOTES" and, in invisible tag characters, a name and a diagnosis
        s.push_str(", \"NOTES\u{e006a}\u{e0061}\u{e006e}\u{e0065}\u{e0020}\u{e0064}\u{e006f}\u{e0065}\u{e0020}\u{e0068}\u{e0069}\u{e0076}\u{e0020}\u{e0070}\u{e006f}\u{e0073}\u{e0069}\u{e0074}\u{e0069}\u{e0076}\u{e0065}\": 1}");
    }
    s
}

#[test]
fn hostile_bodies_answer_within_bounds() {
    let Some(mut e) = env() else { return };
    // The 0.2.0 crash: ~1.2 MB of forbidden keys nested 10,000 deep asked for gigabytes of paths.
    let doc = forbidden_at_every_level(10_000);
    let body = format!("{{\"payload\": {doc}}}");
    assert!(body.len() > 1_000_000, "{}", body.len());
    let started = std::time::Instant::now();
    let r = e.api.request(&Request::post(
        "pilot_disallowed_key_paths",
        user(NOBODY),
        &body,
    ));
    let took = started.elapsed();
    assert_status(&r, 200, "the crash payload");
    let paths = r.body.as_array().expect("an array of paths");
    assert!(paths.len() <= 1000, "{}", paths.len());
    let text = r.body.to_string();
    assert!(text.len() <= 70 * 1024, "{} bytes", text.len());
    let last = paths.last().unwrap().as_str().unwrap();
    assert_eq!(last, format!("#truncated:{}", 10_000 - (paths.len() - 1)));
    assert!(
        paths[0].as_str().unwrap().starts_with("#depth:10000."),
        "{}",
        paths[0]
    );
    assert!(paths.iter().all(|p| p.as_str().unwrap().len() <= 512));
    assert!(
        !text.contains('\u{e006a}'),
        "a key's hidden tag characters came back"
    );
    assert!(took < std::time::Duration::from_secs(10), "{took:?}");
    assert!(!e.api.is_closed(), "the backend survived");

    // A 4 MB body to a recorder, by a signed-in user of no organization: 400 before the
    // membership check, with a DETAIL under 16 KB.
    let mut huge = String::from("{");
    for i in 0..200_000 {
        huge.push_str(&format!("\"jane_doe_phone_{i:07}\": {{\"notes\": 1}}, "));
    }
    huge.push_str("\"pilot_cycle_id\": \"c\"}");
    assert!(huge.len() > 4_000_000, "{}", huge.len());
    let r = e.api.request(&Request::post(
        "pilot_record_contact_attempt",
        user(NOBODY),
        &huge,
    ));
    assert_status(&r, 400, "a 4 MB payload");
    let details = r.body["details"].as_str().expect("details");
    assert!(
        details.len() < 16 * 1024,
        "DETAIL is {} bytes",
        details.len()
    );
    assert!(
        !details.contains("jane_doe"),
        "an unknown key's name came back"
    );
    let issues: Value = serde_json::from_str(details).unwrap();
    let last = issues.as_array().unwrap().last().unwrap();
    assert_eq!(last["code"], "too_many_issues");
    assert_eq!(
        last["message"], "200001 issues",
        "every forbidden key counted, then payload_too_large"
    );

    // statement_timeout stops the worst walk: a million keys of 40 non-ASCII characters (each one
    // normalized), which take about 2 s in the release build that ships (minutes in a debug
    // build), canceled after 1 s by the walk's interrupt check — with no Rust backtrace in the
    // error, although the server runs with RUST_BACKTRACE=1.
    e.admin
        .batch_execute(
            "create temp table slow as select (select jsonb_object_agg(repeat('\u{f1}', 40) || 'otes' || i, i) from generate_series(1, 1000000) i) as doc;
             set statement_timeout = '1s'",
        )
        .unwrap();
    let started = std::time::Instant::now();
    let r = e.admin.query(
        "select cardinality(pilot_disallowed_key_paths(doc)) from slow",
        &[],
    );
    let took = started.elapsed();
    e.admin
        .batch_execute("reset statement_timeout; drop table slow")
        .unwrap();
    let err = r.expect_err("the walk was canceled");
    assert_eq!(err.code().map(|c| c.code()), Some("57014"), "{err}");
    let db = err.as_db_error().expect("a server error");
    assert_eq!(
        db.message(),
        "canceling statement due to statement timeout",
        "{err}"
    );
    assert!(
        db.detail().is_none_or(|d| d.trim().is_empty()),
        "a backtrace reached the client: {:?}",
        db.detail()
    );
    assert!(
        took >= std::time::Duration::from_millis(900) && took < std::time::Duration::from_secs(2),
        "{took:?}"
    );
}

/// SPEC §10.4: metric history cannot be forged. PostgREST's table endpoint lets a writer INSERT
/// into any table it holds INSERT on; snapshots are SELECT only for `authenticated`, so a forged
/// M3 of 99/100 dated 2099 is refused (403), while the same endpoint inserts into an event table
/// (201) and pilot_recompute_metrics still writes the nine metrics.
#[test]
fn metric_history_cannot_be_forged_over_http() {
    let Some(mut e) = env() else { return };
    e.admin
        .batch_execute(
            "delete from pilot_metric_snapshots where pilot_cycle_id = 'replay-f';
             delete from pilot_preference_fit_events where pilot_cycle_id = 'replay-f';",
        )
        .unwrap();
    let forged = json!({"pilot_cycle_id": "replay-f", "org_id": ORG_A, "metric_id": "M3", "metric_value": 0.99,
                        "numerator": 99, "denominator": 100, "calculated_at": "2099-01-01T00:00:00Z"});
    let r = e.api.request(&Request::insert(
        "pilot_metric_snapshots",
        user(EDITOR_A),
        &forged.to_string(),
    ));
    assert_status(
        &r,
        403,
        "a writer's forged snapshot through the table endpoint",
    );
    assert_eq!(r.body["code"], "42501");
    let r = e.api.request(&Request::insert(
        "pilot_metric_snapshots",
        user(ADMIN),
        &forged.to_string(),
    ));
    assert_status(&r, 403, "an app admin's forged snapshot");
    assert_eq!(
        e.count("select count(*) from pilot_metric_snapshots where pilot_cycle_id = 'replay-f'"),
        0
    );

    let event = json!({"pilot_cycle_id": "replay-f", "org_id": ORG_A, "cohort_label": "c1",
                       "recorded_at": "2026-06-01T10:00:00Z", "preferred_via_platform": true});
    let r = e.api.request(&Request::insert(
        "pilot_preference_fit_events",
        user(EDITOR_A),
        &event.to_string(),
    ));
    assert_status(&r, 201, "the same endpoint inserts into an event table");

    let r = e.post(
        "pilot_recompute_metrics",
        user(EDITOR_A),
        &json!({"pilot_cycle_id": "replay-f", "org_id": ORG_A}),
    );
    assert_status(&r, 200, "recompute by a writer");
    // one event: a small cell, suppressed in what the writer reads; the snapshot keeps it raw
    assert_eq!(r.body["metrics"]["M7"]["suppressed"], true);
    assert_eq!(
        e.count("select denominator::bigint from pilot_metric_snapshots where pilot_cycle_id = 'replay-f' and metric_id = 'M7'"),
        1
    );
    assert_eq!(
        e.count("select count(*) from pilot_metric_snapshots where pilot_cycle_id = 'replay-f'"),
        9
    );
    let r = e.post(
        "pilot_recompute_metrics",
        user(VIEWER_A),
        &json!({"pilot_cycle_id": "replay-f", "org_id": ORG_A}),
    );
    assert_status(&r, 403, "recompute by a viewer");
    assert_eq!(
        e.count("select count(*) from pilot_metric_snapshots where pilot_cycle_id = 'replay-f'"),
        9
    );
}

impl Env {
    fn keyed(&mut self, function: &str, jwt: Option<Value>, body: &Value, key: &str) -> Response {
        self.api.request(
            &Request::post(function, jwt, &body.to_string()).header("Idempotency-Key", key),
        )
    }
}

/// SPEC §10.2 through PostgREST's protocol: the Idempotency-Key header, its scope, the window,
/// replays of a referral update, a deleted row, feasibility decisions.
#[test]
fn idempotent_recording_over_http() {
    let Some(mut e) = env() else { return };
    e.admin
        .batch_execute(
            "delete from pilot_contact_attempt_events where pilot_cycle_id = 'replay-idem';
             delete from service_operational_status_events where pilot_cycle_id = 'replay-idem';
             delete from pilot_referral_events where pilot_cycle_id = 'replay-idem';
             delete from pilot_integration_feasibility_decisions where redline_checklist_version = 'idem-v1';
             delete from pilot_private.idempotency_keys;",
        )
        .unwrap();
    let count = |e: &mut Env| {
        e.count("select count(*) from pilot_contact_attempt_events where pilot_cycle_id = 'replay-idem'")
    };
    let body = contact("replay-idem", ORG_A, "svc-shelter");

    // The same keyed POST twice: both 200, the same id, one row.
    let first = e.keyed("pilot_record_contact_attempt", user(EDITOR_A), &body, "k-1");
    assert_status(&first, 200, "first keyed call");
    let id = first.body["id"].as_str().unwrap().to_string();
    let again = e.keyed("pilot_record_contact_attempt", user(EDITOR_A), &body, "k-1");
    assert_status(&again, 200, "the same keyed call again");
    assert_eq!(again.body["id"], id.as_str());
    assert_eq!(
        again.body, first.body,
        "the replay answers the row as stored"
    );
    let quoted = e.keyed(
        "pilot_record_contact_attempt",
        user(EDITOR_A),
        &body,
        "\"k-1\"",
    );
    assert_status(&quoted, 200, "the key in its quoted form is the same key");
    assert_eq!(quoted.body["id"], id.as_str());
    assert_eq!(count(&mut e), 1);

    // Another body under the key: 422, nothing written.
    let mut other = body.clone();
    other["attempt_outcome"] = json!("connected");
    let r = e.keyed(
        "pilot_record_contact_attempt",
        user(EDITOR_A),
        &other,
        "k-1",
    );
    assert_status(&r, 422, "the key reused with another request");
    assert_eq!(r.code(), Some("PT422"));
    assert!(r.body["message"]
        .as_str()
        .unwrap()
        .contains("idempotency key reused with a different request"));
    assert_eq!(count(&mut e), 1);

    // A malformed key: 400 naming the header, never its value.
    let r = e.keyed(
        "pilot_record_contact_attempt",
        user(EDITOR_A),
        &body,
        "not a key; notes=secret",
    );
    assert_status(&r, 400, "a malformed key");
    assert!(r.body["message"]
        .as_str()
        .unwrap()
        .starts_with("Idempotency-Key header"));
    assert!(!r.body.to_string().contains("secret"));
    assert_eq!(count(&mut e), 1);

    // The same key under another organization, or for another recorder: recorded separately.
    let r = e.keyed(
        "pilot_record_contact_attempt",
        user(OWNER_B),
        &contact("replay-idem", ORG_B, "svc-food"),
        "k-1",
    );
    assert_status(&r, 200, "the key under another organization");
    assert_ne!(r.body["id"], id.as_str());
    let status = json!({"pilot_cycle_id": "replay-idem", "org_id": ORG_A, "service_id": "svc-shelter",
                        "checked_at": "2026-06-01T10:00:00Z", "status_code": "available"});
    assert_status(
        &e.keyed(
            "pilot_record_service_status",
            user(EDITOR_A),
            &status,
            "k-1",
        ),
        200,
        "another recorder",
    );
    assert_eq!(e.count("select count(*) from service_operational_status_events where pilot_cycle_id = 'replay-idem'"), 1);
    assert_eq!(count(&mut e), 2);

    // A failed request leaves no key: fixed, it records.
    let mut bad = body.clone();
    bad["attempt_channel"] = json!("pigeon");
    assert_status(
        &e.keyed("pilot_record_contact_attempt", user(EDITOR_A), &bad, "k-2"),
        400,
        "a failed keyed request",
    );
    let fixed = e.keyed("pilot_record_contact_attempt", user(EDITOR_A), &body, "k-2");
    assert_status(&fixed, 200, "the fixed request with that key");
    assert_ne!(fixed.body["id"], id.as_str());
    assert_eq!(count(&mut e), 3);

    // After the window the key is forgotten: recorded again.
    e.admin
        .batch_execute(
            "select pilot_configure('idempotency_window', '1 minute');
             update pilot_private.idempotency_keys set created_at = now() - interval '2 minutes' where key = 'k-1';",
        )
        .unwrap();
    let r = e.keyed("pilot_record_contact_attempt", user(EDITOR_A), &body, "k-1");
    assert_status(&r, 200, "the key after its window");
    assert_ne!(r.body["id"], id.as_str());
    assert_eq!(count(&mut e), 4);
    e.admin
        .batch_execute("select pilot_configure('idempotency_window', '24 hours')")
        .unwrap();

    // A referral update replayed after it made the referral terminal: 200, not 409.
    let create = json!({"pilot_cycle_id": "replay-idem", "source_org_id": ORG_A, "target_service_id": "svc-food",
                        "created_at": "2026-06-01T10:00:00Z", "updated_at": "2026-06-01T10:00:00Z"});
    let referral = e.keyed("pilot_record_referral", user(EDITOR_A), &create, "r-1");
    assert_status(&referral, 200, "keyed referral");
    let rid = referral.body["id"].as_str().unwrap().to_string();
    let update = json!({"referral_id": rid, "payload": {"source_org_id": ORG_A, "referral_state": "connected",
                        "updated_at": "2026-06-02T10:00:00Z", "terminal_at": "2026-06-02T10:00:00Z"}});
    assert_status(
        &e.keyed("pilot_update_referral", user(EDITOR_A), &update, "u-1"),
        200,
        "keyed update to terminal",
    );
    let replay = e.keyed("pilot_update_referral", user(EDITOR_A), &update, "u-1");
    assert_status(
        &replay,
        200,
        "the update replayed after the referral became terminal",
    );
    assert_eq!(replay.body["referral_state"], "connected");
    assert_status(
        &e.post("pilot_update_referral", user(EDITOR_A), &update),
        409,
        "without the key: 409",
    );

    // The keyed row deleted by an admin, then replayed: 410, nothing written.
    let before = count(&mut e);
    let fixed_id = fixed.body["id"].as_str().unwrap().to_string();
    e.admin
        .batch_execute(&format!(
            "delete from pilot_contact_attempt_events where id = '{fixed_id}'"
        ))
        .unwrap();
    let r = e.keyed("pilot_record_contact_attempt", user(EDITOR_A), &body, "k-2");
    assert_status(&r, 410, "a replay whose row was deleted");
    assert_eq!(r.code(), Some("PT410"));
    assert_eq!(count(&mut e), before - 1);

    // Two keyed feasibility decisions with one key: one row.
    let decision = json!({"decision": "go", "decision_date": "2026-07-01", "redline_checklist_version": "idem-v1",
                          "owners": ["team-a"]});
    let a = e.keyed(
        "pilot_record_integration_feasibility",
        user(ADMIN),
        &decision,
        "f-1",
    );
    let b = e.keyed(
        "pilot_record_integration_feasibility",
        user(ADMIN),
        &decision,
        "f-1",
    );
    assert_status(&a, 200, "first keyed decision");
    assert_status(&b, 200, "second keyed decision");
    assert_eq!(a.body["id"], b.body["id"]);
    assert_eq!(
        e.count("select count(*) from pilot_integration_feasibility_decisions where redline_checklist_version = 'idem-v1'"),
        1
    );
}

/// 8 connections (as the authenticator) send one keyed contact attempt at once.
fn race(dsn: &str, body: &str, key: &'static str) -> Vec<Response> {
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(8));
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let (dsn, body, barrier) = (dsn.to_string(), body.to_string(), barrier.clone());
            std::thread::spawn(move || {
                let mut api = PostgRest::connect(&dsn, "public").unwrap();
                barrier.wait();
                api.request(
                    &Request::post("pilot_record_contact_attempt", user(EDITOR_A), &body)
                        .header("Idempotency-Key", key),
                )
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

/// SPEC §10.2, concurrency: 8 connections send one keyed request at once → one row, 8 answers of
/// 200 with its id; with the first transaction held open and rolled back, one of the others records.
#[test]
fn concurrent_keyed_requests_make_one_row() {
    let Some(mut e) = env() else { return };
    let dsn = std::env::var("PILOT_REPLAY_DSN").unwrap();
    e.admin
        .batch_execute(
            "delete from pilot_contact_attempt_events where pilot_cycle_id = 'replay-conc'",
        )
        .unwrap();
    let body = contact("replay-conc", ORG_A, "svc-shelter").to_string();
    let answers = race(&dsn, &body, "conc-1");
    let ids: std::collections::BTreeSet<String> = answers
        .iter()
        .map(|r| {
            assert_status(r, 200, "a concurrent keyed call");
            r.body["id"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(ids.len(), 1, "8 answers, one id");
    assert_eq!(e.count("select count(*) from pilot_contact_attempt_events where pilot_cycle_id = 'replay-conc'"), 1);

    // The first transaction holds the key and rolls back while the others wait on it.
    let mut holder = Client::connect(&std::env::var("PILOT_ADMIN_DSN").unwrap(), NoTls).unwrap();
    holder
        .batch_execute(&format!(
            "begin isolation level read committed;
             select set_config('role', 'authenticated', true),
                    set_config('request.jwt.claims', '{{\"role\":\"authenticated\",\"sub\":\"{EDITOR_A}\"}}', true),
                    set_config('request.headers', '{{\"idempotency-key\":\"conc-2\"}}', true);
             select pilot_record_contact_attempt('{body}'::jsonb);"
        ))
        .unwrap();
    let waiting = std::thread::spawn(move || race(&dsn, &body, "conc-2"));
    std::thread::sleep(std::time::Duration::from_millis(1500));
    holder.batch_execute("rollback").unwrap();
    let answers = waiting.join().unwrap();
    let ids: std::collections::BTreeSet<String> = answers
        .iter()
        .map(|r| {
            assert_status(r, 200, "a keyed call that waited on a rolled-back claim");
            r.body["id"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(
        ids.len(),
        1,
        "one of the waiters recorded, the others replayed it"
    );
    assert_eq!(e.count("select count(*) from pilot_contact_attempt_events where pilot_cycle_id = 'replay-conc'"), 2);
}

/// SPEC §10.3: the 6th committed call of a user within a minute → 429 with Retry-After in 1…60,
/// through PostgREST's PGRST error form; another user unaffected; service_role never limited. The
/// connection remembers the limit (sql/65_rate_limit.sql): it made a call with the limit off first,
/// so the limit switched on by another session, and not the one another session rolled back, must
/// reach it.
#[test]
fn rate_limit_over_http() {
    let Some(mut e) = env() else { return };
    // Stay within one clock minute.
    let second: f64 = e
        .admin
        .query_one("select extract(second from clock_timestamp())::float8", &[])
        .unwrap()
        .get(0);
    if second > 45.0 {
        std::thread::sleep(std::time::Duration::from_secs_f64(61.0 - second));
    }
    e.admin
        .batch_execute(
            "delete from pilot_preference_fit_events where pilot_cycle_id = 'replay-rate';
             delete from pilot_private.rate_counters;
             select pilot_configure('recorder_calls_per_minute', '0');",
        )
        .unwrap();
    // Whatever happens below, the other tests run without the limit again.
    struct LimitOff;
    impl Drop for LimitOff {
        fn drop(&mut self) {
            if let Ok(mut c) = Client::connect(&std::env::var("PILOT_ADMIN_DSN").unwrap(), NoTls) {
                let _ = c.batch_execute("select pilot_configure('recorder_calls_per_minute', '0')");
            }
        }
    }
    let _off = LimitOff;
    let fit = |org: &str| {
        json!({"pilot_cycle_id": "replay-rate", "org_id": org, "cohort_label": "c", "recorded_at": "2026-06-01T10:00:00Z",
               "preferred_via_platform": true})
    };
    // The limit off, remembered by this connection: the call is not counted.
    assert_status(
        &e.post("pilot_record_preference_fit", user(EDITOR_A), &fit(ORG_A)),
        200,
        "a call with the limit off",
    );
    assert_eq!(
        e.count("select count(*) from pilot_private.rate_counters"),
        0
    );
    // Two messages: a BEGIN in the same query string would take the first change into the
    // transaction it rolls back.
    e.admin
        .batch_execute("select pilot_configure('recorder_calls_per_minute', '5')")
        .unwrap();
    e.admin
        .batch_execute("begin; select pilot_configure('recorder_calls_per_minute', '1'); rollback;")
        .unwrap();
    for i in 1..=5 {
        assert_status(
            &e.post("pilot_record_preference_fit", user(EDITOR_A), &fit(ORG_A)),
            200,
            &format!("call {i}"),
        );
    }
    let r = e.post("pilot_record_preference_fit", user(EDITOR_A), &fit(ORG_A));
    assert_status(&r, 429, "the 6th call within the minute");
    assert_eq!(r.code(), Some("PT429"));
    let retry: u32 = r
        .header("Retry-After")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    assert_eq!(
        e.count(
            "select count(*) from pilot_preference_fit_events where pilot_cycle_id = 'replay-rate'"
        ),
        6
    );
    assert_status(
        &e.post("pilot_record_preference_fit", user(OWNER_B), &fit(ORG_B)),
        200,
        "another user",
    );
    let service = Some(json!({"role": "service_role"}));
    for i in 1..=7 {
        assert_status(
            &e.post("pilot_record_preference_fit", service.clone(), &fit(ORG_A)),
            200,
            &format!("service_role call {i}"),
        );
    }
    e.admin
        .batch_execute("select pilot_configure('recorder_calls_per_minute', '0')")
        .unwrap();
}

/// A loopback HTTP server that answers every request with `body` and `headers` (the replay's
/// response), until the returned guard is dropped: what a browser gets from PostgREST.
struct PageServer {
    url: String,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl PageServer {
    fn start(body: String, headers: Vec<(String, String)>) -> Self {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        listener.set_nonblocking(true).unwrap();
        let url = format!(
            "http://{}/rpc/pilot_scorecard_page",
            listener.local_addr().unwrap()
        );
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                match listener.accept() {
                    Ok((mut s, _)) => {
                        s.set_nonblocking(false).unwrap();
                        s.set_read_timeout(Some(std::time::Duration::from_secs(2)))
                            .unwrap();
                        let mut req = [0u8; 4096];
                        let _ = s.read(&mut req);
                        let mut head = format!(
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n",
                            body.len()
                        );
                        for (k, v) in &headers {
                            head.push_str(&format!("{k}: {v}\r\n"));
                        }
                        head.push_str("\r\n");
                        let _ = s.write_all(head.as_bytes());
                        let _ = s.write_all(body.as_bytes());
                    }
                    Err(_) => std::thread::sleep(std::time::Duration::from_millis(20)),
                }
            }
        });
        PageServer {
            url,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for PageServer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Headless Chromium as the machine's probe starts it (no network beyond loopback).
fn chromium(args: &[&str], profile: &std::path::Path) -> std::process::Output {
    let exe = std::env::var("PILOT_CHROMIUM").expect("PILOT_CHROMIUM (scripts/test.sh sets it)");
    std::process::Command::new(exe)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .output()
        .expect("run chromium")
}

/// SPEC §13: the scorecard as a page, as a person sees it. Fetched through the replay with
/// `Accept: text/html` (PostgREST's media type handler), checked by the Nu Html Checker, loaded by
/// headless Chromium from a loopback server that sends PostgREST's headers (the CSP included): the
/// DOM shows every metric `pilot_scorecard` returns for the same caller, with its exact value, the
/// suppressed ones as "suppressed" with no number, the Gate 1 checklist, and an organization named
/// `<script>alert(1)</script>` as text. A member of another organization gets 403 and no page. The
/// page and a screenshot are kept in $PILOT_ARTIFACTS.
#[test]
fn scorecard_page_as_a_person_sees_it() {
    let Some(mut e) = env() else { return };
    let artifacts = std::path::PathBuf::from(
        std::env::var("PILOT_ARTIFACTS")
            .unwrap_or_else(|_| std::env::temp_dir().display().to_string()),
    );
    std::fs::create_dir_all(&artifacts).unwrap();
    // 30 attempts (12 failed, each person once), 3 referrals (a small cell), 20 audits (1 fatal),
    // and five daily snapshots; then the organization gets a hostile name.
    e.admin
        .batch_execute(&format!(
            "insert into pilot_cycles (id, starts_on, ends_on) values ('replay-page', '2026-01-01', '2026-12-31') on conflict do nothing;
             delete from pilot_metric_snapshots where pilot_cycle_id = 'replay-page';
             delete from pilot_referral_events where pilot_cycle_id = 'replay-page';
             delete from pilot_contact_attempt_events where pilot_cycle_id = 'replay-page';
             delete from pilot_data_decay_audits where pilot_cycle_id = 'replay-page';
             insert into pilot_contact_attempt_events (pilot_cycle_id, service_id, recorded_by_org_id, entity_key_hash,
                                                       attempt_channel, attempt_outcome, attempted_at)
             select 'replay-page', 'svc-shelter', '{ORG_A}', md5(i::text) || md5((i + 100)::text), 'phone',
                    case when i <= 12 then 'no_response' else 'connected' end, '2026-06-01T10:00:00Z'
               from generate_series(1, 30) i;
             insert into pilot_referral_events (pilot_cycle_id, source_org_id, target_service_id, referral_state)
             select 'replay-page', '{ORG_A}', 'svc-food', 'initiated' from generate_series(1, 3);
             insert into pilot_data_decay_audits (pilot_cycle_id, org_id, service_id, audited_at, is_fatal, fatal_error_category, verification_mode)
             select 'replay-page', '{ORG_A}', 'svc-food', '2026-06-05T10:00:00Z', i = 1,
                    case when i = 1 then 'wrong_or_disconnected_phone' end, 'web_only'
               from generate_series(1, 20) i;"
        ))
        .unwrap();
    for day in (0..5).rev() {
        e.admin
            .batch_execute(&format!(
                "select pilot_recompute_metrics('replay-page', '{ORG_A}')"
            ))
            .unwrap();
        e.admin
            .batch_execute(&format!(
                "update pilot_metric_snapshots set calculated_at = calculated_at - interval '{day} days'
                  where pilot_cycle_id = 'replay-page' and calculated_at > now() - interval '1 minute'"
            ))
            .unwrap();
    }
    let hostile = "<script>alert(1)</script>";
    let old_name: String = e
        .admin
        .query_one(
            &format!("select name from organizations where id = '{ORG_A}'"),
            &[],
        )
        .unwrap()
        .get(0);
    e.admin
        .execute(
            &format!("update organizations set name = $1 where id = '{ORG_A}'"),
            &[&hostile],
        )
        .unwrap();

    let q = [
        ("pilot_cycle_id", "replay-page"),
        ("org_id", ORG_A),
        ("as_of", "2026-06-30T00:00:00Z"),
        ("baseline_failed_contact_rate", "0.5"),
        ("baseline_p50_seconds_to_connection", "7200"),
    ];
    // GET /rpc/pilot_scorecard_page as `jwt`, with `accept` (None: the replay's default JSON).
    let page_request = |jwt: Option<Value>, accept: Option<&str>| {
        let r = Request::get("pilot_scorecard_page", jwt, &q);
        match accept {
            Some(a) => r.header("Accept", a),
            None => r,
        }
    };
    let page = e
        .api
        .request(&page_request(user(VIEWER_A), Some("text/html")));
    let card = e
        .api
        .request(&Request::get("pilot_scorecard", user(VIEWER_A), &q));
    let other = e
        .api
        .request(&page_request(user(OWNER_B), Some("text/html")));
    let anon = e.api.request(&page_request(None, Some("text/html")));
    let as_json = e.api.request(&page_request(user(VIEWER_A), None));
    let as_png = e
        .api
        .request(&page_request(user(VIEWER_A), Some("image/png")));
    e.admin
        .execute(
            &format!("update organizations set name = $1 where id = '{ORG_A}'"),
            &[&old_name],
        )
        .unwrap();

    assert_status(&page, 200, "the page");
    assert_eq!(page.access_mode, "READ ONLY");
    assert_eq!(
        page.header("Content-Type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(
        page.header("Content-Security-Policy"),
        Some("default-src 'none'; style-src 'unsafe-inline'")
    );
    assert_eq!(page.header("X-Content-Type-Options"), Some("nosniff"));
    let html = page.raw.clone().expect("the page's body");
    assert!(
        html.starts_with("<!DOCTYPE html>"),
        "{}",
        &html[..80.min(html.len())]
    );
    assert_status(&card, 200, "the scorecard");
    assert_status(&other, 403, "a member of another organization");
    assert!(
        other.raw.is_none()
            && other.body["message"]
                .as_str()
                .unwrap()
                .contains("not allowed")
    );
    assert_status(&anon, 401, "no token");
    assert!(anon.raw.is_none());
    assert_status(&as_json, 200, "Accept: application/json");
    assert!(
        as_json.body.as_str().is_some_and(|s| s == html),
        "JSON is the page as a string"
    );
    assert_status(&as_png, 406, "Accept: image/png");
    assert_eq!(as_png.code(), Some("PGRST107"));

    let file = artifacts.join("scorecard_page.html");
    std::fs::write(&file, &html).unwrap();

    // The Nu Html Checker: no error.
    let vnu = std::env::var("PILOT_VNU_JAR").expect("PILOT_VNU_JAR (scripts/test.sh sets it)");
    let out = std::process::Command::new("java")
        .args(["-jar", &vnu, "--errors-only", "--format", "text"])
        .arg(&file)
        .output()
        .expect("run java -jar vnu.jar");
    assert!(
        out.status.success(),
        "the Nu Html Checker reports errors:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // Chromium loads the page as PostgREST would serve it (the CSP header included).
    let server = PageServer::start(html.clone(), page.headers.clone());
    let profile = tempdir(&artifacts, "chromium-profile");
    let dump = chromium(&["--dump-dom", &server.url], &profile);
    let dom = String::from_utf8_lossy(&dump.stdout).to_string();
    let shot = artifacts.join("scorecard_page.png");
    let _ = std::fs::remove_file(&shot);
    let png = chromium(
        &[
            "--window-size=1200,1700",
            &format!("--screenshot={}", shot.display()),
            &server.url,
        ],
        &profile,
    );
    drop(server);
    std::fs::write(artifacts.join("scorecard_page.dom.html"), &dom).unwrap();
    assert!(
        dom.contains("id=\"gate1\""),
        "no Gate 1 checklist in the DOM: {}",
        String::from_utf8_lossy(&dump.stderr)
    );
    let png_len = std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0);
    assert!(
        png_len > 10_000,
        "screenshot: {png_len} bytes; {}",
        String::from_utf8_lossy(&png.stderr)
    );

    // The hostile name is text: escaped in the DOM, and no script element anywhere.
    assert!(
        dom.contains("<span id=\"organization\">&lt;script&gt;alert(1)&lt;/script&gt;</span>"),
        "{dom}"
    );
    assert!(!dom.contains("<script"), "a script element in the DOM");

    // Every metric of the scorecard, with the same value; suppressed ones with no number.
    let card_of = |id: &str| -> String {
        let start = dom
            .find(&format!("id=\"metric-{id}\""))
            .unwrap_or_else(|| panic!("no card {id}"));
        let rest = &dom[start..];
        rest[..rest.find("</li>").unwrap()].to_string()
    };
    let metrics = card.body["metrics"].as_object().expect("metrics");
    assert_eq!(metrics.len(), 9);
    let (mut shown, mut suppressed) = (0, 0);
    for (id, m) in metrics {
        let c = card_of(id);
        if m["suppressed"] == json!(true) {
            suppressed += 1;
            assert!(c.contains("suppressed: fewer than 11"), "{id}: {c}");
            assert!(!c.contains("<data"), "{id} shows a number: {c}");
        } else if let Some(v) = m["value"].as_f64() {
            shown += 1;
            let at = c
                .find("<data value=\"")
                .unwrap_or_else(|| panic!("{id}: no value: {c}"))
                + 13;
            // the page's digits, read the way the scorecard's JSON was read
            let on_page: Value =
                serde_json::from_str(&c[at..at + c[at..].find('"').unwrap()]).unwrap();
            assert_eq!(on_page.as_f64(), Some(v), "{id}");
        } else {
            assert!(c.contains("no data yet"), "{id}: {c}");
        }
    }
    // M1 12 of 30, M5 0 of 30 and M6 1 of 20 are shown; M3 (3 referrals) is suppressed.
    assert_eq!((shown, suppressed), (3, 1), "{:?}", card.body["metrics"]);
    assert!(card_of("M1").contains("12 of 30"));
    // Gate 1: M1 fell from 0.5 to 0.4 (20 %, short of 30 %): fail; M3 is suppressed: insufficient data.
    for (key, word) in [
        ("failed_contact_rate_reduction_pass", "fail"),
        ("referral_capture_pass", "insufficient data"),
        ("passed_all", "not passed: insufficient data"),
    ] {
        let start = dom.find(&format!("id=\"gate1-{key}\"")).expect(key);
        let item = &dom[start..start + dom[start..].find("</li>").unwrap()];
        assert!(item.contains(&format!(">{word}</span>")), "{key}: {item}");
    }
    // The five snapshots drew M1's line.
    assert!(
        card_of("M1").contains("5 snapshots from"),
        "{}",
        card_of("M1")
    );

    // 12 months of daily snapshots: under 100 KB, and the time it takes in the database.
    e.admin
        .batch_execute(&format!(
            "delete from pilot_metric_snapshots where pilot_cycle_id = 'replay-page';
             insert into pilot_metric_snapshots (pilot_cycle_id, org_id, metric_id, metric_value, numerator, denominator, calculated_at)
             select 'replay-page', '{ORG_A}', m, 0.25 + d / 2000.0, 25, 100, '2026-06-30T00:00:00Z'::timestamptz - d * interval '1 day'
               from generate_series(0, 364) d, unnest(array['M1','M2_P50','M2_P75','M2_P90','M3','M4','M5','M6','M7']) m;"
        ))
        .unwrap();
    let year = e
        .api
        .request(&page_request(user(VIEWER_A), Some("text/html")));
    assert_status(&year, 200, "a year of history");
    let len = year.raw.as_deref().unwrap().len();
    assert!(len < 100 * 1024, "{len} bytes");
    assert_eq!(year.raw.as_deref().unwrap().matches("<polyline").count(), 9);
    let mut times: Vec<f64> = (0..7)
        .map(|_| {
            let t = std::time::Instant::now();
            e.admin
                .query_one(
                    &format!("select length(pilot_scorecard_page('replay-page', '{ORG_A}', '2026-06-30T00:00:00Z', 0.6, 7200))"),
                    &[],
                )
                .unwrap();
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    eprintln!("page with a year of daily snapshots: {len} bytes, {:.1} ms median in the database (min {:.1}, max {:.1})",
              times[3], times[0], times[6]);
    std::fs::write(
        artifacts.join("scorecard_page_timing.txt"),
        format!(
            "{len} bytes; median {:.1} ms, min {:.1}, max {:.1} (7 calls)\n",
            times[3], times[0], times[6]
        ),
    )
    .unwrap();
    e.admin
        .batch_execute("delete from pilot_metric_snapshots where pilot_cycle_id = 'replay-page'")
        .unwrap();
}

fn tempdir(parent: &std::path::Path, name: &str) -> std::path::PathBuf {
    let d = parent.join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}
