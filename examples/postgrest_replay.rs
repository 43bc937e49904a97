//! Replay HTTP requests against the database the way PostgREST would run them, and print what a
//! client would receive. Used by scripts/demo.sh.
//!
//!   cargo run --example postgrest_replay -- "<dsn of the authenticator role>" < requests.jsonl
//!
//! Each input line is a JSON object: {"label", "method": "POST"|"GET", "fn", "jwt" (optional),
//! "body" (POST) or "query" (GET, an object)}. Lines starting with '#' are skipped.

use pilot_replay::{Method, PostgRest, Request};
use serde_json::Value;
use std::io::BufRead;

fn main() {
    let dsn = std::env::args()
        .nth(1)
        .expect("usage: postgrest_replay <dsn> < requests.jsonl");
    let mut api = PostgRest::connect(&dsn, "public").expect("connect");
    for line in std::io::stdin().lock().lines() {
        let line = line.expect("stdin");
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let spec: Value = serde_json::from_str(&line).expect("a JSON request per line");
        let function = spec["fn"].as_str().expect("fn");
        let jwt = spec.get("jwt").cloned().filter(|j| !j.is_null());
        let who = jwt
            .as_ref()
            .map(|j| {
                format!(
                    "{} {}",
                    j["role"].as_str().unwrap_or("?"),
                    j["sub"].as_str().unwrap_or("")
                )
            })
            .unwrap_or_else(|| "no JWT (anon)".into());
        let req = if spec["method"] == "GET" {
            let query: Vec<(String, String)> = spec["query"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| {
                            (
                                k.clone(),
                                v.as_str()
                                    .map(String::from)
                                    .unwrap_or_else(|| v.to_string()),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            let q: Vec<(&str, &str)> = query
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            Request::get(function, jwt, &q)
        } else {
            Request::post(function, jwt, &spec["body"].to_string())
        };
        let resp = api.request(&req);
        let method = if req.method == Method::Get {
            "GET"
        } else {
            "POST"
        };
        println!("\n# {}", spec["label"].as_str().unwrap_or(""));
        println!("{method} /rpc/{function}   [{who}]");
        println!("HTTP {}", resp.status);
        println!(
            "{}",
            serde_json::to_string_pretty(&resp.body).unwrap_or_default()
        );
    }
}
