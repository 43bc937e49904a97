//! Unit and property tests of the validators and the privacy walk (no database needed).

use super::*;
use crate::events::testing::{events_of, OwnedEvent};
use crate::events::Event;
use proptest::prelude::*;
use serde_json::{json, Value};
use time::OffsetDateTime;

fn run(kind_name: &str, payload: &Value) -> Vec<Issue> {
    let evs = events_of(payload);
    validate(
        kind(kind_name).expect("kind"),
        100,
        evs.iter().map(OwnedEvent::borrow),
        &mut || {},
    )
}

fn pairs(issues: &[Issue]) -> Vec<(String, &'static str)> {
    issues
        .iter()
        .map(|i| (i.path.clone(), i.code.as_str()))
        .collect()
}

fn p(path: &str, code: &'static str) -> (String, &'static str) {
    (path.to_string(), code)
}

fn paths(payload: &Value) -> Vec<String> {
    let evs = events_of(payload);
    disallowed_key_paths(evs.iter().map(OwnedEvent::borrow), &mut || {})
}

const ORG: &str = "6f1c2e9a-0b7d-4c1e-9f3a-2b8d7e6c5a41";
const HASH: &str = "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789";

fn valid(kind_name: &str) -> Value {
    match kind_name {
        "contact_attempt" => json!({
            "pilot_cycle_id": "cycle-2026-q2", "service_id": "svc-1", "recorded_by_org_id": ORG,
            "entity_key_hash": HASH, "attempt_channel": "phone", "attempt_outcome": "no_response",
            "attempted_at": "2026-06-01T10:00:00Z", "resolved_at": "2026-06-01T10:05:00Z",
            "outcome_notes_code": "voicemail_only"}),
        "referral" => json!({
            "pilot_cycle_id": "c1", "source_org_id": ORG, "target_service_id": "svc-2",
            "created_at": "2026-06-01T10:00:00Z", "updated_at": "2026-06-01T10:00:00Z"}),
        "referral_update" => json!({
            "source_org_id": ORG, "referral_state": "connected", "updated_at": "2026-06-02T10:00:00Z",
            "terminal_at": "2026-06-02T10:00:00Z"}),
        "integration_feasibility" => json!({
            "decision": "conditional", "decision_date": "2026-06-30", "redline_checklist_version": "v1.2",
            "owners": ["team-a"], "violations": ["R7"], "compensating_controls": ["C1"]}),
        "connection" => json!({
            "pilot_cycle_id": "c1", "org_id": ORG, "service_id": "s", "connected_at": "2026-06-01T11:00:00Z",
            "contact_attempt_event_id": ORG}),
        "service_scope" => {
            json!({"pilot_cycle_id": "c1", "org_id": ORG, "service_id": "s", "sla_tier": "crisis"})
        }
        "service_status" => json!({
            "pilot_cycle_id": "c1", "org_id": ORG, "service_id": "s", "checked_at": "2026-06-01T11:00:00Z",
            "status_code": "available"}),
        "data_decay_audit" => json!({
            "pilot_cycle_id": "c1", "org_id": ORG, "service_id": "s", "audited_at": "2026-06-01T11:00:00Z",
            "is_fatal": true, "verification_mode": "web_only",
            "fatal_error_category": "wrong_or_disconnected_phone"}),
        "preference_fit" => json!({
            "pilot_cycle_id": "c1", "org_id": ORG, "cohort_label": "cohort-a", "recorded_at": "2026-06-01T11:00:00Z",
            "preferred_via_platform": false}),
        "cycle" => {
            json!({"id": "cycle-2026-q2", "starts_on": "2026-04-01", "ends_on": "2026-06-30"})
        }
        "cohort" => json!({"pilot_cycle_id": "cycle-2026-q2", "label": "cohort-a"}),
        other => panic!("no sample for {other}"),
    }
}

#[test]
fn a_cycle_ends_on_or_after_its_start() {
    assert!(run(
        "cycle",
        &with(
            "cycle",
            json!({"ends_on": "2026-04-01", "starts_on": "2026-04-01"})
        )
    )
    .is_empty());
    assert_eq!(
        pairs(&run(
            "cycle",
            &with("cycle", json!({"ends_on": "2026-03-31"}))
        )),
        vec![p("ends_on", "rule_violation")]
    );
    assert_eq!(
        pairs(&run(
            "cycle",
            &with("cycle", json!({"id": "Jane Doe 555-1234"}))
        )),
        vec![p("id", "invalid_code")]
    );
}

fn with(kind_name: &str, changes: Value) -> Value {
    let mut v = valid(kind_name);
    for (k, val) in changes.as_object().unwrap() {
        if val == &json!("<absent>") {
            v.as_object_mut().unwrap().remove(k);
        } else {
            v[k] = val.clone();
        }
    }
    v
}

#[test]
fn every_kind_has_a_valid_sample() {
    for k in KINDS {
        assert_eq!(run(k.name, &valid(k.name)), vec![], "{}", k.name);
    }
}

#[test]
fn unknown_kind_is_none() {
    assert!(kind("contact").is_none());
    assert!(kind_names().contains("preference_fit"));
}

#[test]
fn missing_required_keys_are_listed_in_field_order() {
    let issues = run("contact_attempt", &json!({}));
    assert_eq!(
        pairs(&issues),
        vec![
            p("pilot_cycle_id", "missing_key"),
            p("service_id", "missing_key"),
            p("recorded_by_org_id", "missing_key"),
            p("entity_key_hash", "missing_key"),
            p("attempt_channel", "missing_key"),
            p("attempt_outcome", "missing_key"),
            p("attempted_at", "missing_key"),
        ]
    );
}

#[test]
fn null_means_absent() {
    assert_eq!(
        run(
            "contact_attempt",
            &with("contact_attempt", json!({"resolved_at": null}))
        ),
        vec![]
    );
    assert_eq!(
        pairs(&run(
            "contact_attempt",
            &with("contact_attempt", json!({"attempted_at": null}))
        )),
        vec![p("attempted_at", "missing_key")]
    );
}

#[test]
fn unknown_keys_are_refused_and_never_named() {
    let issues = run(
        "service_scope",
        &with(
            "service_scope",
            json!({"extra": 1, "Weird Key!": 2, "jane_doe_phone_5551234": 3}),
        ),
    );
    // jsonb order: extra(5), org_id(6), sla_tier(8), Weird Key!(10), service_id(10), pilot_cycle_id(14), jane_doe…(22)
    assert_eq!(
        pairs(&issues),
        vec![
            p("#0", "unknown_key"),
            p("#3", "unknown_key"),
            p("#6", "unknown_key")
        ]
    );
}

#[test]
fn key_positions_follow_jsonb_order() {
    // Keys sorted: "b"(1) "aa"(2) "Ab c"(4) "org_id"(6): field names are shown, the others by position.
    let issues = run(
        "service_scope",
        &json!({"aa": 1, "b": 2, "Ab c": 3, "org_id": {"x": 1, "sla_tier": 2}}),
    );
    let shown: Vec<_> = issues
        .iter()
        .filter(|i| i.code != "missing_key")
        .map(|i| i.path.clone())
        .collect();
    assert_eq!(shown, vec!["#0", "#1", "#2", "org_id"]);
    // a field name is shown at any depth, as it is a name of the contract, not of the caller
    let v = json!({"a": {"sla_tier": {"notes": 1}}});
    let issues = run("service_scope", &v);
    assert_eq!(issues[0].path, "#0.sla_tier.notes");
}

#[test]
fn only_the_kinds_field_names_are_shown() {
    // referral_event_id is a field of connection, not of service_scope
    let v = json!({"referral_event_id": {"notes": 1}});
    assert_eq!(run("service_scope", &v)[0].path, "#0.notes");
    assert_eq!(run("connection", &v)[0].path, "referral_event_id.notes");
    // pilot_disallowed_key_paths shows the field names of every kind
    assert_eq!(paths(&v), vec!["referral_event_id.notes"]);
}

#[test]
fn wrong_types() {
    let issues = run(
        "data_decay_audit",
        &with(
            "data_decay_audit",
            json!({"is_fatal": "true", "org_id": 5, "service_id": ["s"], "audited_at": {}}),
        ),
    );
    assert_eq!(
        pairs(&issues),
        vec![
            p("org_id", "wrong_type"),
            p("is_fatal", "wrong_type"),
            p("audited_at", "wrong_type"),
            p("service_id", "wrong_type"),
        ]
    );
}

#[test]
fn enums() {
    let issues = run(
        "contact_attempt",
        &with(
            "contact_attempt",
            json!({"attempt_channel": "Phone", "outcome_notes_code": "other"}),
        ),
    );
    assert_eq!(
        pairs(&issues),
        vec![
            p("attempt_channel", "invalid_enum"),
            p("outcome_notes_code", "invalid_enum")
        ]
    );
    assert!(issues[0]
        .message
        .contains("phone, website, email, in_person, referral"));
}

#[test]
fn codes_and_lengths() {
    let long = "a".repeat(101);
    let issues = run(
        "contact_attempt",
        &with(
            "contact_attempt",
            json!({"pilot_cycle_id": long, "service_id": "has space"}),
        ),
    );
    assert_eq!(
        pairs(&issues),
        vec![
            p("service_id", "invalid_code"),
            p("pilot_cycle_id", "too_long")
        ]
    );
    assert!(run(
        "contact_attempt",
        &with(
            "contact_attempt",
            json!({"pilot_cycle_id": "a".repeat(100)})
        )
    )
    .is_empty());
    for bad in ["", "-a", "_a", ".a", "a b", "a/b", "é", "a\n"] {
        assert_eq!(
            pairs(&run(
                "service_scope",
                &with("service_scope", json!({"service_id": bad}))
            )),
            vec![p("service_id", "invalid_code")],
            "{bad:?}"
        );
    }
    for good in ["a", "0", "A.b:c-d_e", "svc-123"] {
        assert!(
            run(
                "service_scope",
                &with("service_scope", json!({"service_id": good}))
            )
            .is_empty(),
            "{good}"
        );
    }
    // redline_checklist_version: at most 50.
    let v = with(
        "integration_feasibility",
        json!({"redline_checklist_version": "v".repeat(51)}),
    );
    assert_eq!(
        pairs(&run("integration_feasibility", &v)),
        vec![p("redline_checklist_version", "too_long")]
    );
    let v = with(
        "integration_feasibility",
        json!({"redline_checklist_version": "v".repeat(50)}),
    );
    assert!(run("integration_feasibility", &v).is_empty());
}

#[test]
fn uuids_in_any_case_but_canonical_form() {
    assert!(run(
        "service_scope",
        &with("service_scope", json!({"org_id": ORG.to_uppercase()}))
    )
    .is_empty());
    for bad in [
        "6f1c2e9a0b7d4c1e9f3a2b8d7e6c5a41",
        "{6f1c2e9a-0b7d-4c1e-9f3a-2b8d7e6c5a41}",
        "6f1c2e9a-0b7d-4c1e-9f3a-2b8d7e6c5a4g",
        "",
    ] {
        assert_eq!(
            pairs(&run(
                "service_scope",
                &with("service_scope", json!({"org_id": bad}))
            )),
            vec![p("org_id", "invalid_uuid")]
        );
    }
}

#[test]
fn hashes() {
    assert!(run(
        "contact_attempt",
        &with(
            "contact_attempt",
            json!({"entity_key_hash": HASH.to_uppercase()})
        )
    )
    .is_empty());
    for bad in [&HASH[1..], "g".repeat(64).as_str(), &format!("{HASH}0")] {
        assert_eq!(
            pairs(&run(
                "contact_attempt",
                &with("contact_attempt", json!({"entity_key_hash": bad}))
            )),
            vec![p("entity_key_hash", "invalid_hash")]
        );
    }
}

#[test]
fn timestamps_follow_rfc3339_strictly() {
    for good in [
        "2026-06-01T10:00:00Z",
        "2026-06-01T10:00:00.5Z",
        "2026-06-01T10:00:00.123456Z",
        "2026-06-01T10:00:00+02:00",
        "2026-06-01T10:00:00-15:59",
        "2024-02-29T23:59:59Z",
        "0001-01-01T00:00:00Z",
    ] {
        assert!(parse_timestamp(good.as_bytes()).is_some(), "{good}");
    }
    for bad in [
        "2026-06-01t10:00:00Z",         // lower-case separator
        "2026-06-01 10:00:00Z",         // space separator
        "2026-06-01T10:00:00z",         // lower-case z
        "2026-06-01T10:00:00",          // no zone
        "2026-06-01T23:59:60Z",         // leap second
        "2026-06-01T10:00:00.1234567Z", // 7 fractional digits
        "2026-06-01T10:00:00.Z",        // empty fraction
        "2026-06-01T10:00:00+0200",     // offset without colon
        "2026-06-01T10:00:00+16:00",    // beyond PostgreSQL's range
        "2026-02-30T10:00:00Z",         // no such day
        "2026-06-01T24:00:00Z",
        "0000-01-01T00:00:00Z",
        "2026-06-01",
        "",
    ] {
        assert!(parse_timestamp(bad.as_bytes()).is_none(), "{bad}");
    }
    let issues = run(
        "contact_attempt",
        &with(
            "contact_attempt",
            json!({"attempted_at": "2026-06-01t10:00:00Z"}),
        ),
    );
    assert_eq!(pairs(&issues), vec![p("attempted_at", "invalid_timestamp")]);
}

#[test]
fn dates() {
    assert!(parse_date(b"2026-06-30").is_some());
    for bad in [
        "2026-6-30",
        "2026-06-31",
        "0000-01-01",
        "2026-06-30T00:00:00Z",
        "20260630",
    ] {
        assert!(parse_date(bad.as_bytes()).is_none(), "{bad}");
    }
}

#[test]
fn contact_attempt_resolved_not_before_attempted() {
    let v = with(
        "contact_attempt",
        json!({"resolved_at": "2026-06-01T09:59:59.999999Z"}),
    );
    assert_eq!(
        pairs(&run("contact_attempt", &v)),
        vec![p("resolved_at", "rule_violation")]
    );
    // Same instant in another zone is fine.
    let v = with(
        "contact_attempt",
        json!({"resolved_at": "2026-06-01T12:00:00+02:00"}),
    );
    assert!(run("contact_attempt", &v).is_empty());
}

#[test]
fn referral_rules() {
    let v = with("referral", json!({"updated_at": "2026-05-31T10:00:00Z"}));
    assert_eq!(
        pairs(&run("referral", &v)),
        vec![p("updated_at", "rule_violation")]
    );
    let v = with("referral", json!({"referral_state": "failed"}));
    assert_eq!(
        pairs(&run("referral", &v)),
        vec![p("terminal_at", "rule_violation")]
    );
    let v = with(
        "referral",
        json!({"referral_state": "failed", "terminal_at": "2026-05-01T00:00:00Z"}),
    );
    assert_eq!(
        pairs(&run("referral", &v)),
        vec![p("terminal_at", "rule_violation")]
    );
    let v = with("referral", json!({"failure_reason_code": "ineligible"}));
    assert_eq!(
        pairs(&run("referral", &v)),
        vec![p("failure_reason_code", "rule_violation")]
    );
    let v = with(
        "referral",
        json!({"referral_state": "failed", "terminal_at": "2026-06-02T00:00:00Z", "failure_reason_code": "ineligible"}),
    );
    assert!(run("referral", &v).is_empty());
    // An invalid terminal_at is reported once, not also as missing.
    let v = with(
        "referral",
        json!({"referral_state": "failed", "terminal_at": "yesterday"}),
    );
    assert_eq!(
        pairs(&run("referral", &v)),
        vec![p("terminal_at", "invalid_timestamp")]
    );
}

#[test]
fn referral_update_rules() {
    let v = with("referral_update", json!({"terminal_at": "<absent>"}));
    assert_eq!(
        pairs(&run("referral_update", &v)),
        vec![p("terminal_at", "rule_violation")]
    );
    let v = with(
        "referral_update",
        json!({"referral_state": "initiated", "terminal_at": "<absent>", "failure_reason_code": "no_response"}),
    );
    assert_eq!(
        pairs(&run("referral_update", &v)),
        vec![p("failure_reason_code", "rule_violation")]
    );
    let v = with("referral_update", json!({"referral_state": "<absent>"}));
    assert_eq!(
        pairs(&run("referral_update", &v)),
        vec![p("referral_state", "missing_key")]
    );
}

#[test]
fn integration_feasibility_rules() {
    let v = with("integration_feasibility", json!({"decision": "go"}));
    assert_eq!(
        pairs(&run("integration_feasibility", &v)),
        vec![p("violations", "rule_violation")]
    );
    let v = with(
        "integration_feasibility",
        json!({"decision": "go", "violations": []}),
    );
    assert!(run("integration_feasibility", &v).is_empty());
    let v = with(
        "integration_feasibility",
        json!({"compensating_controls": []}),
    );
    assert_eq!(
        pairs(&run("integration_feasibility", &v)),
        vec![p("compensating_controls", "rule_violation")]
    );
    let v = with(
        "integration_feasibility",
        json!({"compensating_controls": "<absent>"}),
    );
    assert_eq!(
        pairs(&run("integration_feasibility", &v)),
        vec![p("compensating_controls", "rule_violation")]
    );
    let v = with("integration_feasibility", json!({"owners": []}));
    assert_eq!(
        pairs(&run("integration_feasibility", &v)),
        vec![p("owners", "too_few_items")]
    );
    let v = with(
        "integration_feasibility",
        json!({"owners": ["ok", 3, "bad code", null, ["x"]]}),
    );
    assert_eq!(
        pairs(&run("integration_feasibility", &v)),
        vec![
            p("owners.1", "wrong_type"),
            p("owners.2", "invalid_code"),
            p("owners.3", "wrong_type"),
            p("owners.4", "wrong_type")
        ]
    );
    let v = with("integration_feasibility", json!({"owners": "team-a"}));
    assert_eq!(
        pairs(&run("integration_feasibility", &v)),
        vec![p("owners", "wrong_type")]
    );
    let v = with(
        "integration_feasibility",
        json!({"decision_date": "2026-02-30"}),
    );
    assert_eq!(
        pairs(&run("integration_feasibility", &v)),
        vec![p("decision_date", "invalid_date")]
    );
}

#[test]
fn connection_needs_exactly_one_anchor() {
    let v = with(
        "connection",
        json!({"contact_attempt_event_id": "<absent>"}),
    );
    assert_eq!(pairs(&run("connection", &v)), vec![p("", "rule_violation")]);
    let v = with("connection", json!({"referral_event_id": ORG}));
    assert_eq!(pairs(&run("connection", &v)), vec![p("", "rule_violation")]);
    let v = with(
        "connection",
        json!({"contact_attempt_event_id": "<absent>", "referral_event_id": ORG}),
    );
    assert!(run("connection", &v).is_empty());
}

#[test]
fn data_decay_fatal_iff_category() {
    let v = with(
        "data_decay_audit",
        json!({"fatal_error_category": "<absent>"}),
    );
    assert_eq!(
        pairs(&run("data_decay_audit", &v)),
        vec![p("fatal_error_category", "rule_violation")]
    );
    let v = with("data_decay_audit", json!({"is_fatal": false}));
    assert_eq!(
        pairs(&run("data_decay_audit", &v)),
        vec![p("fatal_error_category", "rule_violation")]
    );
    let v = with(
        "data_decay_audit",
        json!({"is_fatal": false, "fatal_error_category": null}),
    );
    assert!(run("data_decay_audit", &v).is_empty());
}

#[test]
fn privacy_issues_come_first_and_are_reported_once() {
    let v = json!({"aaa": 1, "meta": {"items": [0, 1, {"Notes": "x"}]}, "query": "secret", "sla_tier": "x"});
    let issues = run("service_scope", &v);
    assert_eq!(
        pairs(&issues)[..3],
        [
            p("#1.#0.2.notes", "disallowed_privacy_key"),
            p("query", "disallowed_privacy_key"),
            p("#0", "unknown_key")
        ]
    );
    // "query" is not also an unknown key.
    assert_eq!(issues.iter().filter(|i| i.path == "query").count(), 1);
}

#[test]
fn forbidden_keys_are_shown_by_their_canonical_name() {
    let v = json!({"ＮＯＴＥＳ": 1, "a": [{"meſſage": 2}, {"no\u{00AD}tes": 3}], "Weird": {"USER_TEXT": 4}});
    assert_eq!(
        paths(&v),
        vec!["#0.0.message", "#0.1.notes", "#1.user_text", "notes"]
    );
    // a name and a diagnosis hidden in invisible tag characters after "notes" do not come back
    let hidden: String = "notes"
        .chars()
        .chain(
            "jane doe hiv"
                .chars()
                .map(|c| char::from_u32(0xE0000 + c as u32).unwrap()),
        )
        .collect();
    let v = json!({hidden: 1});
    assert_eq!(paths(&v), vec!["notes"]);
    let issues = run("service_scope", &v);
    assert_eq!(issues[0].path, "notes");
    assert!(crate::issues::to_json(&issues).is_ascii());
}

#[test]
fn look_alikes_are_not_privacy_issues() {
    let v = json!({"notes_code": 1, "queries": {"message_id": 2}, "usertext": 3});
    assert!(paths(&v).is_empty());
}

#[test]
fn too_many_issues_are_cut_at_one_hundred() {
    let mut obj = serde_json::Map::new();
    for i in 0..150 {
        obj.insert(format!("k{i:03}"), json!(1));
    }
    obj.insert("notes".into(), json!(1));
    let issues = run("service_scope", &Value::Object(obj));
    assert_eq!(issues.len(), 100);
    assert_eq!(issues[0].code, "disallowed_privacy_key");
    assert_eq!(issues[99].code, "too_many_issues");
    // 1 privacy + 150 unknown + 4 missing.
    assert_eq!(issues[99].message, "155 issues");
}

#[test]
fn oversized_payloads_get_privacy_findings_then_payload_too_large() {
    let v = json!({"message": "secret", "bogus": 1});
    let evs = events_of(&v);
    let issues = validate(
        kind("contact_attempt").unwrap(),
        MAX_PAYLOAD_BYTES + 1,
        evs.iter().map(OwnedEvent::borrow),
        &mut || {},
    );
    assert_eq!(
        pairs(&issues),
        vec![
            p("message", "disallowed_privacy_key"),
            p("", "payload_too_large")
        ]
    );
    let issues = validate(
        kind("contact_attempt").unwrap(),
        MAX_PAYLOAD_BYTES,
        evs.iter().map(OwnedEvent::borrow),
        &mut || {},
    );
    assert!(issues.iter().any(|i| i.code == "unknown_key"));
}

#[test]
fn a_root_that_is_not_an_object() {
    assert_eq!(
        pairs(&run("service_scope", &json!([{"notes": 1}]))),
        vec![p("0.notes", "disallowed_privacy_key"), p("", "wrong_type")]
    );
    assert_eq!(
        pairs(&run("service_scope", &json!(3))),
        vec![p("", "wrong_type")]
    );
}

#[test]
fn a_very_deep_document_does_not_overflow_the_stack() {
    let mut v = json!({"query_text": 1});
    for i in 0..20_000 {
        // Built by hand: `json!` would serialize (recursively) the value it wraps.
        v = if i % 2 == 0 {
            Value::Array(vec![v])
        } else {
            let mut m = serde_json::Map::new();
            m.insert("a".into(), v);
            Value::Object(m)
        };
    }
    let found = paths(&v);
    // serde_json's own Drop recurses; leak the value rather than risk the test thread's stack
    // (also when an assertion below fails and unwinds).
    std::mem::forget(v);
    assert_eq!(found.len(), 1);
    // 20,001 segments: longer than 512 bytes, so shown as its depth and the last segments that fit
    let rest = found[0]
        .strip_prefix("#depth:20001.")
        .expect("the depth prefix");
    assert!(
        rest.ends_with(".#0.0.query_text"),
        "{}",
        &rest[rest.len() - 40..]
    );
    assert!(
        found[0].len() <= MAX_PATH_BYTES && found[0].len() > MAX_PATH_BYTES - 4,
        "{}",
        found[0].len()
    );
}

// ---------------------------------------------------------------------------------------------
// Properties.

fn arb_key() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z_][a-z0-9_]{0,10}",
        "[A-Za-z0-9 ._-]{1,12}",
        Just("notes_code".to_string()),
        Just("queries".to_string()),
    ]
    .prop_filter("not forbidden", |k| {
        !crate::privacy::is_forbidden_key(k.as_bytes())
    })
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(|n| json!(n)),
        "[ -~]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(arb_key(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn forbidden_spelling() -> impl Strategy<Value = String> {
    (0..5usize, prop::collection::vec(any::<bool>(), 10), 0..3u8).prop_map(|(i, upper, trick)| {
        let base = crate::privacy::FORBIDDEN_KEYS[i];
        let mut s: String = base
            .chars()
            .zip(upper.iter().cycle())
            .map(|(c, u)| if *u { c.to_ascii_uppercase() } else { c })
            .collect();
        match trick {
            1 => s.insert(1, '\u{00AD}'),
            2 => {
                s = s
                    .chars()
                    .map(|c| {
                        if c.is_ascii_alphabetic() {
                            char::from_u32(c as u32 - 0x21 + 0xFF01).unwrap()
                        } else {
                            c
                        }
                    })
                    .collect()
            }
            _ => {}
        }
        s
    })
}

/// Plant `key` somewhere in `doc`, following `route` (indices choose children), and return the path.
fn plant(doc: &mut Value, route: &[usize], key: String) -> String {
    let mut node = &mut *doc;
    let mut segs: Vec<String> = Vec::new();
    for r in route {
        let next_is_some = match &*node {
            Value::Array(a) => !a.is_empty(),
            Value::Object(m) => !m.is_empty(),
            _ => false,
        };
        if !next_is_some {
            break;
        }
        match node {
            Value::Array(a) => {
                let i = r % a.len();
                segs.push(i.to_string());
                node = &mut a[i];
            }
            Value::Object(m) => {
                let mut keys: Vec<String> = m.keys().cloned().collect();
                keys.sort_by(|a, b| crate::events::jsonb_key_order(a.as_bytes(), b.as_bytes()));
                let k = keys[r % keys.len()].clone();
                node = m.get_mut(&k).unwrap();
                segs.push(k);
            }
            _ => unreachable!(),
        }
    }
    if !node.is_object() {
        *node = json!({});
    }
    node.as_object_mut()
        .unwrap()
        .insert(key, json!("planted-secret"));
    // Render the expected path with the final object's key order.
    let mut out = Vec::new();
    let mut cursor: &Value = &*doc;
    for s in &segs {
        match cursor {
            Value::Array(a) => {
                out.push(s.clone());
                cursor = &a[s.parse::<usize>().unwrap()];
            }
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort_by(|a, b| crate::events::jsonb_key_order(a.as_bytes(), b.as_bytes()));
                let pos = keys.iter().position(|k| *k == s).unwrap();
                let shown = KINDS
                    .iter()
                    .flat_map(|k| k.fields.iter())
                    .any(|f| f.name == s);
                out.push(if shown { s.clone() } else { format!("#{pos}") });
                cursor = &m[s];
            }
            _ => unreachable!(),
        }
    }
    out.into_iter()
        .chain(std::iter::once(String::new()))
        .collect::<Vec<_>>()
        .join(".")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn a_planted_forbidden_key_is_reported_at_its_exact_path(
        mut doc in arb_json(), route in prop::collection::vec(any::<usize>(), 0..6), key in forbidden_spelling()
    ) {
        let prefix = plant(&mut doc, &route, key.clone());
        let canonical = crate::privacy::forbidden_key(key.as_bytes()).expect("a forbidden spelling");
        let expected = format!("{prefix}{canonical}");
        prop_assert_eq!(paths(&doc), vec![expected]);
    }

    #[test]
    fn random_valid_payloads_validate_clean(
        which in 0..KINDS.len(), cycle in "[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}", upper in any::<bool>(),
        secs in 0i64..4_000_000_000, frac in prop::option::of(0u32..1_000_000), offset_min in -959i32..959
    ) {
        let k = &KINDS[which];
        let mut v = valid(k.name);
        let ts = {
            let t = OffsetDateTime::from_unix_timestamp(secs).unwrap();
            let (h, m) = (offset_min.abs() / 60, offset_min.abs() % 60);
            let off = time::UtcOffset::from_hms((offset_min.signum() * h) as i8, (offset_min.signum() * m) as i8, 0).unwrap();
            let t = t.to_offset(off);
            let frac = frac.map(|f| format!(".{f:06}")).unwrap_or_default();
            let zone = if offset_min == 0 { "Z".to_string() } else { format!("{}{:02}:{:02}", if offset_min < 0 { '-' } else { '+' }, h, m) };
            format!("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{frac}{zone}", t.year(), t.month() as u8, t.day(), t.hour(), t.minute(), t.second())
        };
        let obj = v.as_object_mut().unwrap();
        if obj.contains_key("pilot_cycle_id") { obj.insert("pilot_cycle_id".into(), json!(cycle)); }
        for f in ["attempted_at", "created_at", "connected_at", "checked_at", "audited_at", "recorded_at"] {
            if obj.contains_key(f) { obj.insert(f.into(), json!(ts.clone())); }
        }
        for f in ["resolved_at", "updated_at"] {
            if obj.contains_key(f) { obj.insert(f.into(), json!(ts.clone())); }
        }
        if obj.contains_key("terminal_at") && k.name == "referral_update" { obj.insert("terminal_at".into(), json!(ts.clone())); }
        for f in ["org_id", "recorded_by_org_id", "source_org_id"] {
            if obj.contains_key(f) && upper { obj.insert(f.into(), json!(ORG.to_uppercase())); }
        }
        prop_assert_eq!(run(k.name, &v), vec![]);
    }

    #[test]
    fn no_payload_value_ever_appears_in_an_issue(
        which in 0..KINDS.len(), secret in "[A-Za-z]{12,20}", field in 0..10usize, forbidden in forbidden_spelling()
    ) {
        let k = &KINDS[which];
        let mut v = valid(k.name);
        let f = k.fields[field % k.fields.len()].name;
        let obj = v.as_object_mut().unwrap();
        obj.insert(f.into(), json!(format!("{secret} with spaces")));
        obj.insert(forbidden, json!(secret.clone()));
        obj.insert("unexpected".into(), json!({"deep": [secret.clone()]}));
        let issues = run(k.name, &v);
        prop_assert!(issues.len() >= 2);
        let rendered = crate::issues::to_json(&issues);
        prop_assert!(!rendered.contains(&secret), "{}", rendered);
    }
}

#[test]
fn a_malformed_event_stream_is_not_a_panic() {
    // Found by the fuzzer: a damaged jsonb header made the reader emit a key outside any object.
    let evs = [
        Event::Key(b"notes"),
        Event::EndObject,
        Event::EndArray,
        Event::String(b"x"),
        Event::Key(b"query"),
    ];
    let issues = validate(
        kind("service_scope").unwrap(),
        10,
        evs.iter().copied(),
        &mut || {},
    );
    assert_eq!(issues[0].code, "wrong_type");
    assert!(disallowed_key_paths(evs.iter().copied(), &mut || {}).is_empty());
}

#[test]
fn the_jsonb_reader_refuses_contradictory_headers() {
    // count 1, object + array + scalar flags all set: malformed, not a raw scalar.
    let bytes = [0x01, 0x00, 0x00, 0x70, 0x10, 0, 0, 0, b'r', b'e'];
    let mut reader = crate::jsonb::JsonbReader::new(&bytes);
    let _ = validate(kind("service_scope").unwrap(), 10, &mut reader, &mut || {});
    assert!(reader.malformed);
}

// ---------------------------------------------------------------------------------------------
// Bounds (SPEC §6): output capped in entries and bytes, work interruptible, paths at most 512 bytes.

/// `{"notes": 1, "a": {"notes": 1, "a": {…}}}` nested `depth` levels deep, as events.
fn nested_forbidden(depth: usize) -> Vec<OwnedEvent> {
    let mut evs = Vec::new();
    for _ in 0..depth {
        evs.extend([OwnedEvent::BeginObject, OwnedEvent::Key(b"a".to_vec())]);
    }
    evs.extend([
        OwnedEvent::BeginObject,
        OwnedEvent::Key(b"notes".to_vec()),
        OwnedEvent::Number,
        OwnedEvent::EndObject,
    ]);
    for _ in 0..depth {
        evs.push(OwnedEvent::EndObject);
    }
    evs
}

/// The 0.2.0 crash payload's shape: a forbidden key at every one of `depth` levels.
fn forbidden_at_every_level(depth: usize) -> Vec<OwnedEvent> {
    let mut evs = Vec::new();
    for _ in 0..depth {
        // jsonb order: "a" (1 byte) before "notes" (5 bytes), so the deep branch comes first
        evs.extend([OwnedEvent::BeginObject, OwnedEvent::Key(b"a".to_vec())]);
    }
    evs.push(OwnedEvent::Null);
    for _ in 0..depth {
        evs.extend([
            OwnedEvent::Key(b"NOTES".to_vec()),
            OwnedEvent::Number,
            OwnedEvent::EndObject,
        ]);
    }
    evs
}

#[test]
fn the_crash_payload_answers_within_the_caps() {
    let evs = forbidden_at_every_level(10_000);
    let found = disallowed_key_paths(evs.iter().map(OwnedEvent::borrow), &mut || {});
    assert_eq!(found.len(), MAX_KEY_PATHS.min(found.len()));
    assert!(found.len() <= MAX_KEY_PATHS);
    let bytes: usize = found.iter().map(|p| p.len() + 1).sum();
    assert!(bytes <= MAX_KEY_PATHS_BYTES, "{bytes}");
    let last = found.last().unwrap();
    assert_eq!(last, &format!("#truncated:{}", 10_000 - (found.len() - 1)));
    assert!(found[..found.len() - 1]
        .iter()
        .all(|p| p.len() <= MAX_PATH_BYTES && p.ends_with("notes")));
    let issues = validate(
        kind("service_scope").unwrap(),
        4 << 20,
        evs.iter().map(OwnedEvent::borrow),
        &mut || {},
    );
    let json = crate::issues::to_json(&issues);
    assert!(
        json.len() <= crate::issues::MAX_ISSUES_JSON_BYTES,
        "{}",
        json.len()
    );
    assert_eq!(issues.last().unwrap().code, "too_many_issues");
    assert_eq!(issues.last().unwrap().message, "10001 issues");
}

#[test]
fn few_paths_are_not_cut() {
    let found = disallowed_key_paths(
        forbidden_at_every_level(3).iter().map(OwnedEvent::borrow),
        &mut || {},
    );
    assert_eq!(found, vec!["#0.#0.notes", "#0.notes", "notes"]);
    let found = disallowed_key_paths(
        nested_forbidden(2).iter().map(OwnedEvent::borrow),
        &mut || {},
    );
    assert_eq!(found, vec!["#0.#0.notes"]);
}

#[test]
fn a_path_of_exactly_512_bytes_is_shown_whole() {
    // "#0." is 3 bytes; 169 levels + "notes" = 169 * 3 + 5 = 512
    let found = disallowed_key_paths(
        nested_forbidden(169).iter().map(OwnedEvent::borrow),
        &mut || {},
    );
    assert_eq!(found[0].len(), 512);
    assert!(found[0].starts_with("#0.#0."));
    let found = disallowed_key_paths(
        nested_forbidden(170).iter().map(OwnedEvent::borrow),
        &mut || {},
    );
    assert!(
        found[0].starts_with("#depth:171.#0."),
        "{}",
        &found[0][..20]
    );
    assert!(found[0].len() <= 512);
}

#[test]
fn the_walks_call_the_interrupt_check() {
    let evs = forbidden_at_every_level(10_000);
    let mut calls = 0;
    disallowed_key_paths(evs.iter().map(OwnedEvent::borrow), &mut || calls += 1);
    assert_eq!(calls, evs.len().div_ceil(INTERRUPT_EVERY));
    // an interrupt unwinds out of the walk (as a PostgreSQL error does through pgrx)
    let stopped = std::panic::catch_unwind(|| {
        validate(
            kind("service_scope").unwrap(),
            10,
            evs.iter().map(OwnedEvent::borrow),
            &mut || panic!("canceled"),
        )
    });
    assert!(stopped.is_err());
}

#[test]
fn the_code_check_of_the_columns() {
    // the CHECK of every code column (pilot_private.is_code): the rule and the length limit
    for (value, max, ok) in [
        ("svc-1", 100, true),
        ("a", 1, true),
        ("A0_.:-", 6, true),
        ("A0_.:-", 5, false),
        ("", 100, false),
        ("_leading", 100, false),
        ("-leading", 100, false),
        ("a b", 100, false),
        ("caf\u{e9}", 100, false),
        ("line\n", 100, false),
        ("x", 0, false),
    ] {
        assert_eq!(
            super::is_code_within(value.as_bytes(), max),
            ok,
            "{value:?} within {max}"
        );
    }
    assert!(super::is_code_within("x".repeat(100).as_bytes(), 100));
    assert!(!super::is_code_within("x".repeat(101).as_bytes(), 100));
}
