//! Fuzz the pure validator, the privacy walk and the binary jsonb reader (SPEC §6):
//! no panic, no forbidden key accepted, no payload value in an issue.
//!
//!   cargo fuzz run -s none validate -- -max_total_time=60
#![no_main]

use libfuzzer_sys::fuzz_target;
use pilot_guardrails_core::events::testing::{events_of, OwnedEvent};
use pilot_guardrails_core::{issues, jsonb, privacy, validate};
use serde_json::Value;

const SECRET: &str = "S3cr3t-Value-Nobody-Should-See";

fn count_forbidden(value: &Value) -> usize {
    let mut n = 0;
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        match v {
            Value::Array(a) => stack.extend(a.iter()),
            Value::Object(m) => {
                for (k, v) in m {
                    n += privacy::is_forbidden_key(k.as_bytes()) as usize;
                    stack.push(v);
                }
            }
            _ => {}
        }
    }
    n
}

fuzz_target!(|data: &[u8]| {
    // 1. Arbitrary bytes as a binary jsonb datum: the reader must stop, never panic.
    let mut reader = jsonb::JsonbReader::new(data);
    let _ = validate::validate(
        validate::kind("contact_attempt").unwrap(),
        data.len(),
        &mut reader,
        &mut || {},
    );

    // 2. Arbitrary JSON documents, with a secret planted under a forbidden key and an unknown key.
    let Ok(mut doc) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    if let Value::Object(m) = &mut doc {
        m.insert("Notes".into(), Value::String(SECRET.into()));
        m.insert("unexpected field".into(), Value::String(SECRET.into()));
    }
    let evs = events_of(&doc);
    let paths = validate::disallowed_key_paths(evs.iter().map(OwnedEvent::borrow), &mut || {});
    let reported = match paths.last().and_then(|p| p.strip_prefix("#truncated:")) {
        Some(n) => paths.len() - 1 + n.parse::<usize>().expect("a count"),
        None => paths.len(),
    };
    assert_eq!(
        reported,
        count_forbidden(&doc),
        "every forbidden key is reported or counted, once"
    );
    assert!(
        paths.len() <= validate::MAX_KEY_PATHS
            && paths.iter().all(|p| p.len() <= validate::MAX_PATH_BYTES)
    );
    assert!(
        paths.iter().all(|p| !p.contains("unexpected")),
        "a key name that is not a field name leaked"
    );
    for kind in validate::KINDS {
        let issues = validate::validate(
            kind,
            data.len(),
            evs.iter().map(OwnedEvent::borrow),
            &mut || {},
        );
        assert!(issues.len() <= issues::MAX_ISSUES);
        let rendered = issues::to_json(&issues);
        assert!(
            !rendered.contains(SECRET),
            "a payload value leaked into an issue"
        );
        if !paths.is_empty() {
            assert_eq!(
                issues[0].code, "disallowed_privacy_key",
                "privacy issues come first"
            );
            assert!(!issues.is_empty());
        }
    }
    std::mem::forget(doc); // serde_json's Drop recurses on deep documents
});
