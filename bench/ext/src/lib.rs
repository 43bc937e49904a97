//! Bench-only functions for scripts/bench.sh, in a library of their own (`pilot_guardrails_bench.so`,
//! never part of the shipped extension), declared by `bench/functions.sql`:
//! - `bench_jsonschema_is_valid(jsonb) → bool` and `bench_jsonschema_errors(jsonb) → text[]`: JSON
//!   Schema validation with the `jsonschema` crate (the engine supabase/pg_jsonschema wraps), its
//!   input read the way pg_jsonschema reads it (pgrx `JsonB`: text, then `serde_json`), against a
//!   schema equivalent to the `contact_attempt` rules;
//! - `bench_validate_serde(kind text, jsonb) → jsonb`: our validator fed through that same serde
//!   round trip instead of the binary `jsonb` reader, to measure the difference.

use pgrx::prelude::*;
use pgrx::JsonB;
use pilot_guardrails_core::{events::testing::events_of, issues, validate};
use serde_json::{json, Value};
use std::sync::OnceLock;

::pgrx::pg_module_magic!();

fn schema() -> &'static jsonschema::Validator {
    static V: OnceLock<jsonschema::Validator> = OnceLock::new();
    V.get_or_init(|| {
        let code = json!({"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_.:-]*$", "maxLength": 100});
        let ts = json!({"type": "string", "pattern": "^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:[0-5]\\d(\\.\\d{1,6})?(Z|[+-]\\d{2}:\\d{2})$"});
        let s = json!({
            "$defs": {"noPrivacy": {
                "propertyNames": {"not": {"pattern": "(?i)^(query|query_text|message|user_text|notes)$"}},
                "additionalProperties": {"$ref": "#/$defs/noPrivacy"},
                "items": {"$ref": "#/$defs/noPrivacy"}}},
            "allOf": [{"$ref": "#/$defs/noPrivacy"}],
            "type": "object",
            "additionalProperties": false,
            "required": ["pilot_cycle_id", "service_id", "recorded_by_org_id", "entity_key_hash", "attempt_channel",
                         "attempt_outcome", "attempted_at"],
            "properties": {
                "pilot_cycle_id": code, "service_id": code,
                "recorded_by_org_id": {"type": "string", "pattern": "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"},
                "entity_key_hash": {"type": "string", "pattern": "^[0-9a-fA-F]{64}$"},
                "attempt_channel": {"enum": ["phone", "website", "email", "in_person", "referral"]},
                "attempt_outcome": {"enum": ["connected", "disconnected_number", "no_response", "intake_unavailable", "invalid_routing", "other_failure"]},
                "attempted_at": ts, "resolved_at": {"anyOf": [ts, {"type": "null"}]},
                "outcome_notes_code": {"enum": ["busy_signal", "voicemail_only", "eligibility_mismatch", "hours_mismatch", "capacity_full", "unknown_failure", null]}
            }
        });
        jsonschema::validator_for(&s).expect("a valid schema")
    })
}

#[pg_extern(immutable, strict)]
fn bench_jsonschema_is_valid(doc: JsonB) -> bool {
    schema().is_valid(&doc.0)
}

#[pg_extern(immutable, strict)]
fn bench_jsonschema_errors(doc: JsonB) -> Vec<String> {
    schema()
        .iter_errors(&doc.0)
        .map(|e| e.to_string())
        .collect()
}

#[pg_extern(immutable, strict)]
fn bench_validate_serde(kind: &str, doc: JsonB) -> JsonB {
    let evs = events_of(&doc.0);
    let size = serde_json::to_string(&doc.0).map(|s| s.len()).unwrap_or(0);
    let found = validate::validate(
        validate::kind(kind).expect("kind"),
        size,
        evs.iter().map(|e| e.borrow()),
        &mut || {},
    );
    JsonB(serde_json::from_str(&issues::to_json(&found)).unwrap_or(Value::Null))
}
