//! The scorecard as a page (SPEC §13): one self-contained HTML5 document from the scorecard and
//! its snapshot history. Inline CSS and inline SVG only — no script, no external resource, so it
//! renders under `Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'` — and
//! every text from the database is HTML-escaped.
//!
//! Inputs are what `public.pilot_scorecard_page` passes: the scorecard `jsonb` exactly as
//! `pilot_scorecard` returns it, the history as `[[metric_id, epoch_seconds, value, suppressed], …]`,
//! the organization's display name and k (`min_cell_size` for this caller, 0 when nothing is
//! suppressed). Each metric value is also written as `<data value="…">`, the number
//! `pilot_scorecard` returned, so that a reader (or a test) can compare the page with the JSON.

use serde_json::value::RawValue;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write;

/// How a metric's value reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A fraction shown as a percentage, with numerator / denominator.
    Rate,
    /// Seconds, shown in hours and minutes.
    Seconds,
}

impl Unit {
    /// A value in this unit as a person reads it.
    pub fn show(self, v: f64) -> String {
        match self {
            Unit::Rate => percent(v),
            Unit::Seconds => duration(v),
        }
    }
}

/// The nine metrics of SPEC §8, in the page's order: id, title, unit, what it measures.
pub const METRICS: [(&str, &str, Unit, &str); 9] = [
    (
        "M1",
        "Failed contact rate",
        Unit::Rate,
        "failed attempts of all contact attempts",
    ),
    (
        "M2_P50",
        "Time to connection, median",
        Unit::Seconds,
        "from first attempt or referral to connection",
    ),
    (
        "M2_P75",
        "Time to connection, 75th percentile",
        Unit::Seconds,
        "from first attempt or referral to connection",
    ),
    (
        "M2_P90",
        "Time to connection, 90th percentile",
        Unit::Seconds,
        "from first attempt or referral to connection",
    ),
    (
        "M3",
        "Referral completion capture",
        Unit::Rate,
        "referrals with a recorded outcome",
    ),
    (
        "M4",
        "Freshness SLA compliance",
        Unit::Rate,
        "scoped services checked within their window",
    ),
    (
        "M5",
        "Repeat failure rate",
        Unit::Rate,
        "people with two or more failed attempts",
    ),
    (
        "M6",
        "Data-decay fatal error rate",
        Unit::Rate,
        "audits that found a fatal error",
    ),
    (
        "M7",
        "Preference fit",
        Unit::Rate,
        "events where the platform was the preferred channel",
    ),
];

/// Gate 1's checks (SPEC §8): key in the scorecard's `gate1`, what it asks.
pub const GATE1: [(&str, &str); 5] = [
    (
        "failed_contact_rate_reduction_pass",
        "Failed contact rate reduced by at least 30 % from the baseline",
    ),
    (
        "time_to_connection_reduction_pass",
        "Median time to connection reduced by at least 25 % from the baseline",
    ),
    (
        "freshness_sla_pass",
        "Freshness SLA compliance at least 70 %",
    ),
    (
        "referral_capture_pass",
        "Referral completion capture at least 50 %",
    ),
    (
        "fatal_error_rate_pass",
        "Data-decay fatal error rate at most 10 %",
    ),
];

/// Text made safe for HTML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // C0 controls other than tab and line feed are not allowed in HTML text.
            c if (c as u32) < 0x20 && c != '\t' && c != '\n' => out.push('\u{fffd}'),
            '\u{7f}'..='\u{9f}' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// Seconds as a person reads them: "45 s", "12 min", "3 h 05 min", "2 d 4 h".
pub fn duration(seconds: f64) -> String {
    if !seconds.is_finite() {
        return "—".into();
    }
    let s = seconds.round().max(0.0) as u64;
    let m = (s + 30) / 60;
    if s < 60 {
        format!("{s} s")
    } else if m < 60 {
        format!("{m} min")
    } else if m < 24 * 60 {
        format!("{} h {:02} min", m / 60, m % 60)
    } else {
        let h = (s + 1800) / 3600;
        format!("{} d {} h", h / 24, h % 24)
    }
}

/// A fraction as a percentage with one decimal: 0.2131 → "21.3 %".
pub fn percent(fraction: f64) -> String {
    format!("{:.1} %", fraction * 100.0)
}

fn number(v: Option<&Value>) -> Option<f64> {
    v.and_then(Value::as_f64)
}

fn count(v: Option<&Value>) -> Option<String> {
    v.and_then(|v| match v {
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// A UTC day from epoch seconds: "2026-06-30".
fn day(epoch: f64) -> String {
    time::OffsetDateTime::from_unix_timestamp(epoch.floor() as i64)
        .map(|t| t.date().to_string())
        .unwrap_or_else(|_| "—".into())
}

const STYLE: &str = "\
:root{color-scheme:light;--ink:#1d2430;--muted:#5b6472;--line:#d6dbe3;--ok:#1f7a3f;--bad:#a12d2d;--na:#7a5b00;--accent:#2456a6}\
*{box-sizing:border-box}\
body{margin:0;padding:24px;font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:var(--ink);background:#f6f7f9}\
header{margin-bottom:20px}h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 10px}\
.meta{color:var(--muted);margin:0}\
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(250px,1fr));gap:12px;list-style:none;margin:0;padding:0}\
.card{background:#fff;border:1px solid var(--line);border-radius:8px;padding:12px 14px}\
.card h3{font-size:14px;margin:0;color:var(--muted);font-weight:600}\
.card .id{font-weight:400}\
.value{font-size:26px;font-weight:650;margin:4px 0 2px}\
.value.suppressed,.value.empty{font-size:16px;font-weight:600;color:var(--na)}\
.ratio,.what{color:var(--muted);font-size:13px;margin:0}\
.chart{margin-top:8px}.chart svg{display:block;width:100%;height:auto}\
.nohist{color:var(--muted);font-size:13px;font-style:italic;margin:8px 0 0}\
.axis{color:var(--muted);font-size:11px;margin:2px 0 0}\
.gate{background:#fff;border:1px solid var(--line);border-radius:8px;padding:8px 14px;list-style:none;margin:0}\
.gate li{display:flex;justify-content:space-between;gap:12px;padding:6px 0;border-bottom:1px solid var(--line)}\
.gate li:last-child{border-bottom:0}\
.pass{color:var(--ok);font-weight:650}.fail{color:var(--bad);font-weight:650}.insufficient{color:var(--na);font-weight:650}\
footer{margin-top:28px;color:var(--muted);font-size:12px}";

/// Each metric's value exactly as the scorecard's JSON text spells it (numeric's digits, which an
/// f64 would round): `{"M1": "0.66666666666666666667", …}`; null values are left out.
fn exact_values(card: &str) -> BTreeMap<String, String> {
    let top: BTreeMap<String, Box<RawValue>> = serde_json::from_str(card).unwrap_or_default();
    let Some(metrics) = top.get("metrics") else {
        return BTreeMap::new();
    };
    let metrics: BTreeMap<String, BTreeMap<String, Box<RawValue>>> =
        serde_json::from_str(metrics.get()).unwrap_or_default();
    metrics
        .into_iter()
        .filter_map(|(id, m)| m.get("value").map(|v| (id, v.get().to_string())))
        .filter(|(_, v)| v.starts_with(|c: char| c == '-' || c.is_ascii_digit()))
        .collect()
}

/// The most JSON text the renderer reads (scorecard and history together): a direct caller cannot
/// make it parse, hold and walk more. `pilot_scorecard_page` passes at most the newest 200,000
/// history rows (about 11 MiB).
pub const MAX_INPUT_BYTES: usize = 16 << 20;

/// Why there is no page.
#[derive(Debug)]
pub enum RenderError {
    /// The scorecard and history are more than [`MAX_INPUT_BYTES`].
    TooLarge,
    /// The scorecard or the history is not JSON.
    Json(serde_json::Error),
}

/// The page, from the scorecard's and the history's JSON text (what the database passes). History
/// rows that are not `[id, epoch, value|null, suppressed]` are ignored. `interrupt` is called every
/// 1,024 history rows (statement_timeout and cancellation stop the walk).
pub fn render(
    card: &str,
    history: &str,
    organization: &str,
    min_cell_size: i64,
    interrupt: &mut impl FnMut(),
) -> Result<String, RenderError> {
    if card.len() + history.len() > MAX_INPUT_BYTES {
        return Err(RenderError::TooLarge);
    }
    let parsed: Value = serde_json::from_str(card).map_err(RenderError::Json)?;
    let rows: Value = serde_json::from_str(history).map_err(RenderError::Json)?;
    Ok(draw(
        &parsed,
        &exact_values(card),
        &rows,
        organization,
        min_cell_size,
        interrupt,
    ))
}

fn draw(
    card: &Value,
    exact: &BTreeMap<String, String>,
    history: &Value,
    organization: &str,
    min_cell_size: i64,
    interrupt: &mut impl FnMut(),
) -> String {
    let cycle = text(card, "pilot_cycle_id");
    let as_of = text(card, "as_of");
    let org_name = if organization.is_empty() {
        text(card, "org_id")
    } else {
        organization
    };
    let mut out = String::with_capacity(16 * 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Pilot scorecard: {org} — {cycle}</title><style>{STYLE}</style></head><body>\
         <header><h1>Pilot scorecard: <span id=\"organization\">{org}</span></h1>\
         <p class=\"meta\">Cycle <span id=\"cycle\">{cycle}</span> · as of <time id=\"as-of\">{as_of}</time></p></header>",
        org = escape(org_name),
        cycle = escape(cycle),
        as_of = escape(as_of),
    );

    // Points of each metric's history, oldest first.
    let mut series: Vec<Vec<(f64, f64)>> = vec![Vec::new(); METRICS.len()];
    let mut hidden = vec![0usize; METRICS.len()];
    for (n, row) in history
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[])
        .iter()
        .enumerate()
    {
        if n % 1024 == 0 {
            interrupt();
        }
        let Some(r) = row.as_array() else { continue };
        let (Some(id), Some(t)) = (r.first().and_then(Value::as_str), number(r.get(1))) else {
            continue;
        };
        let Some(i) = METRICS.iter().position(|m| m.0 == id) else {
            continue;
        };
        match (
            number(r.get(2)),
            r.get(3).and_then(Value::as_bool).unwrap_or(false),
        ) {
            (Some(v), false) if v.is_finite() => series[i].push((t, v)),
            (_, true) => hidden[i] += 1,
            _ => {}
        }
    }
    for s in &mut series {
        s.sort_by(|a, b| a.0.total_cmp(&b.0));
    }

    out.push_str("<main><h2>Metrics</h2><ul class=\"cards\">");
    let metrics = card.get("metrics").unwrap_or(&Value::Null);
    for (i, (id, title, unit, what)) in METRICS.iter().enumerate() {
        let m = metrics.get(*id).unwrap_or(&Value::Null);
        let suppressed = m
            .get("suppressed")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let _ = write!(
            out,
            "<li class=\"card\" id=\"metric-{id}\"><h3>{title} <span class=\"id\">({id})</span></h3>"
        );
        let value = number(m.get("value"));
        if suppressed {
            let _ = write!(
                out,
                "<p class=\"value suppressed\">suppressed: fewer than {}</p><p class=\"what\">{}</p>",
                min_cell_size.max(0),
                escape(what)
            );
        } else if let Some(v) = value {
            let shown = unit.show(v);
            let _ = write!(
                out,
                "<p class=\"value\"><data value=\"{}\">{}</data></p>",
                escape(exact.get(*id).map(String::as_str).unwrap_or_default()),
                escape(&shown)
            );
            match (unit, count(m.get("numerator")), count(m.get("denominator"))) {
                (Unit::Rate, Some(n), Some(d)) => {
                    let _ = write!(out, "<p class=\"ratio\">{n} of {d}: {}</p>", escape(what));
                }
                (_, _, Some(d)) => {
                    let _ = write!(out, "<p class=\"ratio\">over {d}, {}</p>", escape(what));
                }
                _ => {
                    let _ = write!(out, "<p class=\"what\">{}</p>", escape(what));
                }
            }
        } else {
            let _ = write!(
                out,
                "<p class=\"value empty\">no data yet</p><p class=\"what\">{}</p>",
                escape(what)
            );
        }
        chart(&mut out, id, title, *unit, &series[i], hidden[i]);
        out.push_str("</li>");
    }
    out.push_str("</ul>");

    out.push_str("<h2>Gate 1</h2>");
    match card.get("gate1").filter(|g| g.is_object()) {
        None => out.push_str(
            "<p class=\"meta\" id=\"gate1\">Gate 1 is judged against baselines: give both \
             (failed contact rate and median seconds to connection) to see the checklist.</p>",
        ),
        Some(g) => {
            let insufficient: Vec<&str> = g
                .get("insufficient_data")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            out.push_str("<ul class=\"gate\" id=\"gate1\">");
            for (key, question) in GATE1 {
                let (class, word) = if insufficient.contains(&key) {
                    ("insufficient", "insufficient data")
                } else if g.get(key).and_then(Value::as_bool) == Some(true) {
                    ("pass", "pass")
                } else {
                    ("fail", "fail")
                };
                let _ = write!(
                    out,
                    "<li id=\"gate1-{key}\"><span>{}</span><span class=\"{class}\">{word}</span></li>",
                    escape(question)
                );
            }
            let (class, word) = if g.get("passed_all").and_then(Value::as_bool) == Some(true) {
                ("pass", "pass")
            } else if !insufficient.is_empty() {
                ("insufficient", "not passed: insufficient data")
            } else {
                ("fail", "fail")
            };
            let _ = write!(
                out,
                "<li id=\"gate1-passed_all\"><span><strong>Gate 1 overall</strong></span><span class=\"{class}\">{word}</span></li></ul>"
            );
        }
    }
    out.push_str(
        "</main><footer>pilot_guardrails · numbers computed in the database; small cells suppressed \
         (SPEC §11.1) · no script, no external resource</footer></body></html>\n",
    );
    out
}

/// One metric's line chart, or "no history yet".
fn chart(
    out: &mut String,
    id: &str,
    title: &str,
    unit: Unit,
    points: &[(f64, f64)],
    hidden: usize,
) {
    let note = if hidden > 0 {
        format!(
            " ({hidden} suppressed snapshot{} not drawn)",
            if hidden == 1 { "" } else { "s" }
        )
    } else {
        String::new()
    };
    if points.is_empty() {
        let _ = write!(out, "<p class=\"nohist\">no history yet{note}</p>");
        return;
    }
    const W: f64 = 300.0;
    const H: f64 = 80.0;
    const PAD: f64 = 4.0;
    let (t0, t1) = (points[0].0, points[points.len() - 1].0);
    let (lo, hi) = match unit {
        Unit::Rate => (
            0.0,
            1.0_f64.max(points.iter().map(|p| p.1).fold(0.0, f64::max)),
        ),
        Unit::Seconds => (0.0, points.iter().map(|p| p.1).fold(0.0, f64::max).max(1.0)),
    };
    let x = |t: f64| {
        if t1 > t0 {
            PAD + (t - t0) / (t1 - t0) * (W - 2.0 * PAD)
        } else {
            W / 2.0
        }
    };
    let y = |v: f64| H - PAD - (v - lo) / (hi - lo) * (H - 2.0 * PAD);
    let first = points[0];
    let last = points[points.len() - 1];
    let label = format!(
        "{title} ({id}): {} snapshots from {} to {}{note}",
        points.len(),
        day(first.0),
        day(last.0)
    );
    let _ = write!(
        out,
        "<div class=\"chart\"><svg viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"{l}\"><title>{l}</title>\
         <rect x=\"0\" y=\"0\" width=\"{W}\" height=\"{H}\" fill=\"#fbfcfd\" stroke=\"#d6dbe3\"/>",
        l = escape(&label)
    );
    if points.len() == 1 {
        let _ = write!(
            out,
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"#2456a6\"/>",
            x(first.0),
            y(first.1)
        );
    } else {
        // One point per pixel column (the newest snapshot of each): the chart, and the page, stay
        // small however many snapshots there are.
        let mut drawn: Vec<(f64, f64)> = Vec::with_capacity(points.len().min(W as usize + 1));
        for (t, v) in points {
            let p = (x(*t), y(*v));
            match drawn.last_mut() {
                Some(last) if last.0.floor() == p.0.floor() => *last = p,
                _ => drawn.push(p),
            }
        }
        out.push_str("<polyline fill=\"none\" stroke=\"#2456a6\" stroke-width=\"1.5\" points=\"");
        for (i, (px, py)) in drawn.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            let _ = write!(out, "{px:.1},{py:.1}");
        }
        out.push_str("\"/>");
    }
    let top = unit.show(hi);
    let _ = write!(
        out,
        "</svg><p class=\"axis\">{} – {} · scale 0 – {}{}</p></div>",
        day(first.0),
        day(last.0),
        escape(&top),
        escape(&note)
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn page(card: &Value, history: &Value, organization: &str, k: i64) -> String {
        render(
            &card.to_string(),
            &history.to_string(),
            organization,
            k,
            &mut || {},
        )
        .unwrap()
    }

    fn card(gate1: Value) -> Value {
        json!({
            "pilot_cycle_id": "cycle-2026-q2", "org_id": "a0000000-0000-4000-8000-00000000000a",
            "as_of": "2026-06-30T00:00:00+00:00",
            "metrics": {
                "M1": {"value": 0.2131147540983606, "numerator": 13, "denominator": 61, "suppressed": false},
                "M2_P50": {"value": 6420, "numerator": null, "denominator": 48, "suppressed": false},
                "M2_P75": {"value": 9000.5, "numerator": null, "denominator": 48, "suppressed": false},
                "M2_P90": {"value": 42, "numerator": null, "denominator": 48, "suppressed": false},
                "M3": {"value": null, "numerator": null, "denominator": null, "suppressed": true},
                "M4": {"value": 0.75, "numerator": 3, "denominator": 4, "suppressed": false},
                "M5": {"value": null, "numerator": 0, "denominator": 0, "suppressed": false},
                "M6": {"value": 0, "numerator": 0, "denominator": 12, "suppressed": false},
                "M7": {"value": 1, "numerator": 20, "denominator": 20, "suppressed": false}
            },
            "gate1": gate1
        })
    }

    #[test]
    fn every_metric_is_a_card_with_its_exact_value() {
        let page = page(&card(Value::Null), &json!([]), "North Shelter", 11);
        assert!(page.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
        for (id, ..) in METRICS {
            assert!(page.contains(&format!("id=\"metric-{id}\"")), "{id}");
        }
        assert!(page.contains("<data value=\"0.2131147540983606\">21.3 %</data>"));
        assert!(page.contains("13 of 61"));
        assert!(page.contains("<data value=\"6420\">1 h 47 min</data>"));
        assert!(page.contains("<data value=\"42\">42 s</data>"));
        assert!(page.contains("<data value=\"0.75\">75.0 %</data>"));
        assert!(page.contains("<data value=\"1\">100.0 %</data>"));
        assert!(
            page.contains("no data yet"),
            "a null value (zero denominator)"
        );
        assert!(page.contains("no history yet"));
        assert!(page.contains("give both"), "no checklist without baselines");
    }

    #[test]
    fn values_are_written_as_the_json_spells_them() {
        // numeric's 20 digits, which an f64 would round (serde_json reads this as ...666, not ...667)
        let card = r#"{"pilot_cycle_id": "c", "as_of": "t", "metrics": {"M1": {"value": 0.66666666666666666667, "numerator": 4, "denominator": 6, "suppressed": false}, "M4": {"value": null}}}"#;
        let page = render(card, "[]", "x", 11, &mut || {}).unwrap();
        assert!(
            page.contains("<data value=\"0.66666666666666666667\">66.7 %</data>"),
            "{page}"
        );
        assert!(matches!(
            render("{", "[]", "x", 11, &mut || {}),
            Err(RenderError::Json(_))
        ));
        assert!(matches!(
            render(card, "[", "x", 11, &mut || {}),
            Err(RenderError::Json(_))
        ));
    }

    #[test]
    fn a_suppressed_metric_shows_no_number() {
        let page = page(&card(Value::Null), &json!([]), "x", 11);
        let m3 = &page[page.find("id=\"metric-M3\"").unwrap()..];
        let m3 = &m3[..m3.find("</li>").unwrap()];
        assert!(m3.contains("suppressed: fewer than 11"), "{m3}");
        assert!(!m3.contains("<data"), "{m3}");
        assert!(
            !m3.chars()
                .any(|c| c.is_ascii_digit() && c != '1' && c != '3'),
            "{m3}"
        );
    }

    #[test]
    fn hostile_names_are_text() {
        let hostile = "<script>alert(1)</script>\"'&";
        let mut c = card(Value::Null);
        c["pilot_cycle_id"] = json!("<img src=x onerror=alert(2)>");
        c["as_of"] = json!("</time><script>");
        let page = page(&c, &json!([]), hostile, 11);
        assert!(!page.contains("<script"), "{page}");
        assert!(!page.contains("<img"), "{page}");
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;"));
        assert_eq!(
            escape("a\u{0}b\u{1b}c\u{85}"),
            "a\u{fffd}b\u{fffd}c\u{fffd}"
        );
    }

    #[test]
    fn the_page_is_self_contained() {
        let page = page(&card(json!({"passed_all": true})), &json!([]), "x", 11);
        for banned in [
            "<script", "src=", "href=", "url(", "@import", "<link", "<iframe", "<object",
        ] {
            assert!(!page.contains(banned), "{banned}");
        }
    }

    #[test]
    fn gate1_reads_pass_fail_and_insufficient_data() {
        let g = json!({
            "failed_contact_rate_reduction_pass": true, "time_to_connection_reduction_pass": false,
            "freshness_sla_pass": true, "referral_capture_pass": false, "fatal_error_rate_pass": true,
            "passed_all": false, "insufficient_data": ["referral_capture_pass"]
        });
        let page = page(&card(g), &json!([]), "x", 11);
        let item = |k: &str| {
            let s = &page[page.find(&format!("id=\"gate1-{k}\"")).unwrap()..];
            s[..s.find("</li>").unwrap()].to_string()
        };
        assert!(item("failed_contact_rate_reduction_pass").contains("class=\"pass\">pass<"));
        assert!(item("time_to_connection_reduction_pass").contains("class=\"fail\">fail<"));
        assert!(item("referral_capture_pass").contains(">insufficient data<"));
        assert!(item("passed_all").contains("not passed: insufficient data"));
    }

    #[test]
    fn history_draws_one_line_per_metric_oldest_first() {
        let day0 = 1_767_225_600.0; // 2026-01-01
        let mut rows = Vec::new();
        for d in (0..3).rev() {
            rows.push(json!([
                "M1",
                day0 + d as f64 * 86400.0,
                0.1 * (d + 1) as f64,
                false
            ]));
        }
        rows.push(json!(["M4", day0, null, true]));
        rows.push(json!(["M9", day0, 1, false]));
        rows.push(json!("garbage"));
        let page = page(&card(Value::Null), &Value::Array(rows), "x", 11);
        let m1 = &page[page.find("id=\"metric-M1\"").unwrap()..];
        let m1 = &m1[..m1.find("</li>").unwrap()];
        assert!(
            m1.contains("3 snapshots from 2026-01-01 to 2026-01-03"),
            "{m1}"
        );
        assert!(
            m1.contains("points=\"4.0,68.8 150.0,61.6 296.0,54.4\""),
            "{m1}"
        );
        let m4 = &page[page.find("id=\"metric-M4\"").unwrap()..];
        assert!(m4[..m4.find("</li>").unwrap()]
            .contains("no history yet (1 suppressed snapshot not drawn)"));
    }

    #[test]
    fn a_year_of_daily_snapshots_stays_under_100_kb() {
        let day0 = 1_767_225_600.0;
        let mut rows = Vec::new();
        for d in 0..365 {
            for (id, ..) in METRICS {
                rows.push(json!([
                    id,
                    day0 + d as f64 * 86400.0,
                    0.123456789 + d as f64 * 1e-3,
                    false
                ]));
            }
        }
        let page = page(&card(Value::Null), &Value::Array(rows), "x", 11);
        assert!(page.len() < 100 * 1024, "{} bytes", page.len());
        assert!(page.matches("<polyline").count() == 9);
    }

    #[test]
    fn a_long_history_is_bounded_in_size_and_interruptible() {
        // 200,000 snapshots of one metric, a minute apart: one point per pixel column is drawn
        let day0 = 1_767_225_600.0;
        let rows: Vec<Value> = (0..200_000)
            .map(|i| {
                json!([
                    "M1",
                    day0 + i as f64 * 60.0,
                    (i % 100) as f64 / 100.0,
                    false
                ])
            })
            .collect();
        let history = Value::Array(rows).to_string();
        let mut calls = 0;
        let page = render(
            &card(Value::Null).to_string(),
            &history,
            "x",
            11,
            &mut || calls += 1,
        )
        .unwrap();
        assert!(calls >= 195, "{calls} interrupt checks");
        let line = &page[page.find("<polyline").unwrap()..];
        let line = &line[..line.find("/>").unwrap()];
        assert!(
            line.matches(',').count() <= 300,
            "{} points",
            line.matches(',').count()
        );
        assert!(page.contains("200000 snapshots from"));
        assert!(page.len() < 100 * 1024, "{} bytes", page.len());
        // and more input than the bound is refused before it is read
        let big = format!("[{}0]", "0,".repeat(MAX_INPUT_BYTES / 2));
        assert!(matches!(
            render("{}", &big, "x", 11, &mut || {}),
            Err(RenderError::TooLarge)
        ));
    }

    #[test]
    fn durations_read_in_hours_and_minutes() {
        assert_eq!(duration(0.0), "0 s");
        assert_eq!(duration(59.4), "59 s");
        assert_eq!(duration(60.0), "1 min");
        assert_eq!(duration(3599.0), "1 h 00 min");
        assert_eq!(duration(3600.0), "1 h 00 min");
        assert_eq!(duration(7290.0), "2 h 02 min");
        assert_eq!(duration(86_400.0 * 2.0 + 3600.0 * 5.0), "2 d 5 h");
        assert_eq!(duration(f64::NAN), "—");
        assert_eq!(percent(0.2131), "21.3 %");
    }

    #[test]
    fn every_metric_of_the_page_has_a_suppression_rule() {
        for (id, ..) in METRICS {
            assert!(crate::suppression::rule(id).is_some(), "{id}");
        }
    }
}
