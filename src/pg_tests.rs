//! In-database tests (`cargo pgrx test`): the Rust functions as PostgreSQL calls them, on real
//! `jsonb` datums — deep nesting, huge documents, every value type of the binary format.

#[pgrx::pg_schema]
mod tests {
    use pgrx::prelude::*;

    fn validate(kind: &str, payload: &str) -> String {
        Spi::get_one::<String>(&format!(
            "select public.pilot_validate('{kind}', $j${payload}$j$::jsonb)::text"
        ))
        .expect("spi")
        .expect("not null")
    }

    #[pg_test]
    fn a_valid_contact_attempt_has_no_issues() {
        let payload = r#"{"pilot_cycle_id":"cycle-2026-q2","service_id":"svc-1",
            "recorded_by_org_id":"6F1C2E9A-0B7D-4C1E-9F3A-2B8D7E6C5A41",
            "entity_key_hash":"ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef0123456789",
            "attempt_channel":"phone","attempt_outcome":"connected",
            "attempted_at":"2026-06-01T10:00:00Z","resolved_at":"2026-06-01T12:05:00.123456+02:00",
            "outcome_notes_code":null}"#;
        assert_eq!(validate("contact_attempt", payload), "[]");
    }

    #[pg_test]
    fn issues_come_back_as_jsonb_with_paths_and_codes() {
        let out = validate(
            "service_scope",
            r#"{"notes":"secret-value","sla_tier":"gold","Extra Key":1}"#,
        );
        assert!(!out.contains("secret-value"), "{out}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        let items = v.as_array().unwrap();
        assert_eq!(items[0]["path"], "notes");
        assert_eq!(items[0]["code"], "disallowed_privacy_key");
        // jsonb key order: "notes"(5) < "sla_tier"(8) < "Extra Key"(9) — the unknown key is #2.
        assert_eq!(items[1]["code"], "invalid_enum");
        assert_eq!(items[1]["path"], "sla_tier");
        assert_eq!(items[2]["path"], "#2");
        assert_eq!(items[2]["code"], "unknown_key");
    }

    #[pg_test]
    fn a_forbidden_key_ten_thousand_levels_deep_is_found() {
        // Built inside PostgreSQL, which parses it with its own (non-recursive-limited) parser.
        let depth = 10_000;
        let paths = Spi::get_one::<Vec<String>>(&format!(
            "select public.pilot_disallowed_key_paths((repeat('{{\"a\":', {depth}) || '{{\"NoTeS\":1}}' || repeat('}}', {depth}))::jsonb)"
        ))
        .unwrap()
        .unwrap();
        // 10,001 segments: "a" is not a field name (#0), the key by its canonical name, and the
        // path cut to its depth and the last segments that fit in 512 bytes
        assert_eq!(paths.len(), 1);
        let rest = paths[0]
            .strip_prefix("#depth:10001.")
            .expect("the depth prefix");
        assert_eq!(
            rest,
            format!(
                "{}notes",
                "#0.".repeat((512 - "#depth:10001.".len() - "notes".len()) / 3)
            )
        );
        assert!(paths[0].len() <= 512);
    }

    #[pg_test]
    fn deep_arrays_are_walked_too() {
        let depth = 9_000;
        let paths = Spi::get_one::<Vec<String>>(&format!(
            "select public.pilot_disallowed_key_paths((repeat('[', {depth}) || '{{\"query\":1}}' || repeat(']', {depth}))::jsonb)"
        ))
        .unwrap()
        .unwrap();
        let rest = paths[0]
            .strip_prefix("#depth:9001.")
            .expect("the depth prefix");
        assert_eq!(
            rest,
            format!(
                "{}query",
                "0.".repeat((512 - "#depth:9001.".len() - "query".len()) / 2)
            )
        );
    }

    #[pg_test]
    fn every_jsonb_value_type_is_read() {
        let out = validate(
            "data_decay_audit",
            r#"{"pilot_cycle_id":1.5,"org_id":true,"service_id":false,"audited_at":null,
                "is_fatal":"yes","verification_mode":[],"fatal_error_category":{}}"#,
        );
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        let codes: Vec<(String, String)> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                (
                    i["path"].as_str().unwrap().to_string(),
                    i["code"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let expected: Vec<(String, String)> = [
            ("org_id", "wrong_type"),
            ("is_fatal", "wrong_type"),
            ("service_id", "wrong_type"),
            ("audited_at", "missing_key"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        // Document order is jsonb key order (by length): org_id, is_fatal, audited_at, service_id,
        // pilot_cycle_id, verification_mode, fatal_error_category.
        assert_eq!(codes[0], expected[0]);
        assert_eq!(codes[1], expected[1]);
        assert_eq!(codes[2], expected[2]);
        assert_eq!(codes[3], ("pilot_cycle_id".into(), "wrong_type".into()));
        assert_eq!(codes[4], ("verification_mode".into(), "wrong_type".into()));
        assert_eq!(
            codes[5],
            ("fatal_error_category".into(), "wrong_type".into())
        );
        assert_eq!(codes[6], expected[3]);
        assert_eq!(codes.len(), 7);
    }

    #[pg_test]
    fn a_number_beyond_f64_is_a_wrong_type() {
        let out = validate("contact_attempt", r#"{"resolved_at": 1e400}"#);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v[0]["path"], "resolved_at");
        assert_eq!(v[0]["code"], "wrong_type");
    }

    #[pg_test]
    fn a_root_scalar_is_a_wrong_type() {
        assert_eq!(
            validate("preference_fit", r#""just a string""#),
            r#"[{"code": "wrong_type", "path": "", "message": "the payload must be a JSON object"}]"#
        );
        assert!(validate("preference_fit", "null").len() > 2);
    }

    #[pg_test]
    fn large_documents_keep_every_path() {
        // 100,000 keys, every 1,000th of them forbidden.
        let paths = Spi::get_one::<Vec<String>>(
            "select public.pilot_disallowed_key_paths(
                 (select jsonb_object_agg(case when i % 1000 = 0 then 'Notes' || repeat(chr(173), i / 1000) else 'k' || i end, i)
                    from generate_series(1, 100000) i))",
        )
        .unwrap()
        .unwrap();
        assert_eq!(paths.len(), 100);
    }

    #[pg_test]
    fn oversized_payloads_are_refused_after_the_privacy_walk() {
        let out = Spi::get_one::<pgrx::JsonB>(
            "select public.pilot_validate('contact_attempt',
                 jsonb_build_object('message', 1, 'pad', repeat('x', 70000)))",
        )
        .unwrap()
        .unwrap();
        let items = out.0.as_array().unwrap().clone();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0]["code"], "disallowed_privacy_key");
        assert_eq!(items[1]["code"], "payload_too_large");
    }

    #[pg_test(error = "pilot_validate: unknown payload kind")]
    fn an_unknown_kind_is_an_error() {
        Spi::run("select public.pilot_validate('contact', '{}')").unwrap();
    }

    // -----------------------------------------------------------------------------------------
    // One source for the enums: Rust's KINDS (src/validate.rs). The tables' CHECKs, the recorders'
    // COMMENTs and the SQL registry of the kinds (sql/35_kinds.sql) are compared with it.

    /// One query's single `json` text result, parsed.
    fn json(query: &str) -> serde_json::Value {
        let text = Spi::get_one::<String>(query)
            .expect("spi")
            .expect("not null");
        serde_json::from_str(&text).expect("json")
    }

    /// The registry as (kind, table, recorder, takes a payload, the recorder's COMMENT).
    fn registry() -> Vec<(String, String, String, bool, String)> {
        let rows = json(
            "select json_agg(json_build_array(k.kind, k.table_name, k.recorder, k.payload,
                    obj_description(('public.' || k.recorder)::regprocedure, 'pg_proc')))::text
               from pilot_private.kinds() k",
        );
        rows.as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let s = |i: usize| r[i].as_str().unwrap_or_default().to_string();
                (s(0), s(1), s(2), r[3].as_bool().unwrap(), s(4))
            })
            .collect()
    }

    /// The enum fields of the payload kinds that write `table`, by column name.
    fn rust_enums_of_table(
        table: &str,
    ) -> std::collections::BTreeMap<&'static str, Vec<&'static str>> {
        let mut out = std::collections::BTreeMap::new();
        for (kind, t, ..) in registry() {
            if t != table {
                continue;
            }
            if let Some(k) = pilot_guardrails_core::validate::kind(&kind) {
                for f in k.fields {
                    if let pilot_guardrails_core::validate::Ty::Enum(values) = f.ty {
                        out.insert(f.name, values.to_vec());
                    }
                }
            }
        }
        out
    }

    /// `CHECK ((col = ANY (ARRAY['a'::text, 'b'::text])))` → (col, [a, b]); None for other CHECKs.
    fn enum_check(def: &str) -> Option<(String, Vec<String>)> {
        let rest = def.strip_prefix("CHECK ((")?;
        let (column, list) = rest.split_once(" = ANY (ARRAY[")?;
        let values = list
            .split(", ")
            .map(|v| {
                let v = v.trim_start_matches('\'');
                v[..v.find("'::text").expect("a text literal")].to_string()
            })
            .collect();
        Some((column.to_string(), values))
    }

    /// Every `"field" (a | b | c; prose)` of a COMMENT → (field, [a, b, c]): the list is the text
    /// inside the parentheses up to a `;`, each item's first word the value.
    fn comment_lists(comment: &str) -> Vec<(String, Vec<String>)> {
        let mut out = Vec::new();
        for (i, _) in comment.match_indices("\" (") {
            let name_start = comment[..i].rfind('"').unwrap() + 1;
            let inner = &comment[i + 3..];
            let inner = &inner[..inner.find(')').unwrap()];
            let list = inner.split(';').next().unwrap();
            if list.contains(" | ") {
                let values = list
                    .split(" | ")
                    .map(|v| v.split_whitespace().next().unwrap().to_string())
                    .collect();
                out.push((comment[name_start..i].to_string(), values));
            }
        }
        out
    }

    #[pg_test]
    fn the_sql_registry_has_exactly_the_rust_kinds() {
        let mut sql: Vec<String> = registry()
            .into_iter()
            .filter(|r| r.3)
            .map(|r| r.0)
            .collect();
        sql.sort();
        let mut rust: Vec<String> = pilot_guardrails_core::validate::KINDS
            .iter()
            .map(|k| k.name.to_string())
            .collect();
        rust.sort();
        assert_eq!(sql, rust);
        let validate_comment = Spi::get_one::<String>(
            "select obj_description('public.pilot_validate(text,jsonb)'::regprocedure, 'pg_proc')",
        )
        .unwrap()
        .unwrap();
        assert!(
            validate_comment.contains(&format!(
                "kind is one of {};",
                pilot_guardrails_core::validate::kind_names()
            )),
            "pilot_validate's COMMENT lists the kinds of KINDS"
        );
    }

    #[pg_test]
    fn every_enum_check_is_the_rust_enum() {
        let checks = json(
            "select json_agg(json_build_array(c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)))::text
               from pg_constraint c
              where c.contype = 'c'
                and c.conrelid in (select distinct ('public.' || k.table_name)::regclass from pilot_private.kinds() k)",
        );
        let mut compared = 0;
        let mut seen = std::collections::BTreeSet::new();
        for c in checks.as_array().unwrap() {
            let table = c[0].as_str().unwrap().trim_start_matches("public.");
            let Some((column, values)) = enum_check(c[2].as_str().unwrap()) else {
                continue;
            };
            let rust = rust_enums_of_table(table);
            if table == "pilot_metric_snapshots" && column == "metric_id" {
                continue; // not a payload field: pilot_recompute_metrics writes it
            }
            let expected = rust.get(column.as_str()).unwrap_or_else(|| {
                panic!("{table}.{column}: an enum CHECK for no enum field of KINDS")
            });
            assert_eq!(
                &values, expected,
                "{table}.{column}: the CHECK and KINDS differ"
            );
            seen.insert((table.to_string(), column));
            compared += 1;
        }
        // and the other way: every enum field of every kind has its CHECK
        for (_, table, ..) in registry() {
            for column in rust_enums_of_table(&table).keys() {
                assert!(
                    seen.contains(&(table.clone(), column.to_string())),
                    "{table}.{column}: an enum field of KINDS without its CHECK"
                );
            }
        }
        assert_eq!(compared, 10);
    }

    #[pg_test]
    fn every_enum_a_recorder_comment_lists_is_the_rust_enum() {
        let mut compared = 0;
        for (kind, _, recorder, payload, comment) in registry() {
            if !payload {
                continue;
            }
            let k = pilot_guardrails_core::validate::kind(&kind).unwrap();
            let lists = comment_lists(&comment);
            for f in k.fields {
                if let pilot_guardrails_core::validate::Ty::Enum(values) = f.ty {
                    let listed = lists
                        .iter()
                        .find(|(name, _)| name == f.name)
                        .unwrap_or_else(|| {
                            panic!("{recorder}: its COMMENT lists no values of {}", f.name)
                        });
                    assert_eq!(
                        listed.1, values,
                        "{recorder}: {} differs from KINDS",
                        f.name
                    );
                    compared += 1;
                }
            }
            for (name, _) in &lists {
                assert!(
                    k.fields.iter().any(|f| f.name == name && matches!(f.ty, pilot_guardrails_core::validate::Ty::Enum(_))),
                    "{recorder}: its COMMENT lists values for {name}, which is no enum field of {kind}"
                );
            }
        }
        assert_eq!(compared, 12);
    }
}
