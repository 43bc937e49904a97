//! Payload validation for the nine recorder kinds (SPEC §3, §6, §7), as one streaming walk.
//!
//! A single pass over the [`Event`] stream does three things at once: the privacy walk (every key
//! at every depth), the strict field checks of the top-level object, and the bookkeeping the
//! cross-field rules need afterwards. No recursion: depth costs one `Vec` entry per level.

use crate::events::Event;
use crate::issues::{Issue, Issues, MAX_ISSUES};
use crate::privacy::forbidden_key;
use time::format_description::well_known::Rfc3339;
use time::{Date, Month, OffsetDateTime};

/// The biggest payload a recorder accepts, measured on the `jsonb` datum's bytes (SPEC §6).
/// Real events are well under 2 KiB; 64 KiB leaves room for long owner lists and nothing else.
pub const MAX_PAYLOAD_BYTES: usize = 64 * 1024;

/// The shape a field's value must have.
#[derive(Debug, Clone, Copy)]
pub enum Ty {
    /// A code (SPEC §3): `^[A-Za-z0-9][A-Za-z0-9_.:-]*$`, at most this many characters.
    Code(usize),
    Uuid,
    Timestamp,
    /// `YYYY-MM-DD`.
    Date,
    /// SHA-256 in hex: 64 hexadecimal characters, either case.
    Sha256Hex,
    Enum(&'static [&'static str]),
    Bool,
    /// An array of codes of at most `max` characters, with at least `min_items` elements.
    Codes {
        max: usize,
        min_items: usize,
    },
}

#[derive(Debug)]
pub struct Field {
    pub name: &'static str,
    pub ty: Ty,
    pub required: bool,
}

/// A payload kind: its fields and the rules that relate them.
pub struct Kind {
    pub name: &'static str,
    pub fields: &'static [Field],
    rules: fn(&Values<'_>, &mut Issues),
}

impl std::fmt::Debug for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

const fn req(name: &'static str, ty: Ty) -> Field {
    Field {
        name,
        ty,
        required: true,
    }
}
const fn opt(name: &'static str, ty: Ty) -> Field {
    Field {
        name,
        ty,
        required: false,
    }
}
const CODE: Ty = Ty::Code(100);

pub const ATTEMPT_CHANNELS: &[&str] = &["phone", "website", "email", "in_person", "referral"];
pub const ATTEMPT_OUTCOMES: &[&str] = &[
    "connected",
    "disconnected_number",
    "no_response",
    "intake_unavailable",
    "invalid_routing",
    "other_failure",
];
pub const OUTCOME_NOTES_CODES: &[&str] = &[
    "busy_signal",
    "voicemail_only",
    "eligibility_mismatch",
    "hours_mismatch",
    "capacity_full",
    "unknown_failure",
];
pub const REFERRAL_STATES: &[&str] = &[
    "initiated",
    "connected",
    "failed",
    "client_withdrew",
    "no_response_timeout",
];
pub const FAILURE_REASON_CODES: &[&str] = &[
    "disconnected_number",
    "no_response",
    "intake_closed",
    "ineligible",
    "capacity_full",
    "unknown_failure",
];
pub const DECISIONS: &[&str] = &["go", "conditional", "blocked"];
pub const SLA_TIERS: &[&str] = &["crisis", "high_demand", "standard"];
pub const STATUS_CODES: &[&str] = &["available", "temporarily_unavailable", "closed", "unknown"];
pub const FATAL_ERROR_CATEGORIES: &[&str] = &[
    "wrong_or_disconnected_phone",
    "invalid_or_defunct_intake_path",
    "materially_incorrect_eligibility",
    "service_closed_or_unavailable_but_listed_available",
];
pub const VERIFICATION_MODES: &[&str] = &["web_only", "web_plus_call", "provider_confirmation"];

pub static KINDS: &[Kind] = &[
    Kind {
        name: "contact_attempt",
        fields: &[
            req("pilot_cycle_id", CODE),
            req("service_id", CODE),
            req("recorded_by_org_id", Ty::Uuid),
            req("entity_key_hash", Ty::Sha256Hex),
            req("attempt_channel", Ty::Enum(ATTEMPT_CHANNELS)),
            req("attempt_outcome", Ty::Enum(ATTEMPT_OUTCOMES)),
            req("attempted_at", Ty::Timestamp),
            opt("resolved_at", Ty::Timestamp),
            opt("outcome_notes_code", Ty::Enum(OUTCOME_NOTES_CODES)),
        ],
        rules: |v, issues| not_before(v, issues, "resolved_at", "attempted_at"),
    },
    Kind {
        name: "referral",
        fields: &[
            req("pilot_cycle_id", CODE),
            req("source_org_id", Ty::Uuid),
            req("target_service_id", CODE),
            req("created_at", Ty::Timestamp),
            req("updated_at", Ty::Timestamp),
            opt("referral_state", Ty::Enum(REFERRAL_STATES)),
            opt("terminal_at", Ty::Timestamp),
            opt("failure_reason_code", Ty::Enum(FAILURE_REASON_CODES)),
        ],
        rules: |v, issues| {
            not_before(v, issues, "updated_at", "created_at");
            not_before(v, issues, "terminal_at", "created_at");
            referral_state_rules(v, issues, true);
        },
    },
    Kind {
        name: "referral_update",
        fields: &[
            req("source_org_id", Ty::Uuid),
            req("referral_state", Ty::Enum(REFERRAL_STATES)),
            req("updated_at", Ty::Timestamp),
            opt("terminal_at", Ty::Timestamp),
            opt("failure_reason_code", Ty::Enum(FAILURE_REASON_CODES)),
        ],
        rules: |v, issues| referral_state_rules(v, issues, false),
    },
    Kind {
        name: "integration_feasibility",
        fields: &[
            req("decision", Ty::Enum(DECISIONS)),
            req("decision_date", Ty::Date),
            req("redline_checklist_version", Ty::Code(50)),
            req(
                "owners",
                Ty::Codes {
                    max: 100,
                    min_items: 1,
                },
            ),
            opt(
                "violations",
                Ty::Codes {
                    max: 100,
                    min_items: 0,
                },
            ),
            opt(
                "compensating_controls",
                Ty::Codes {
                    max: 100,
                    min_items: 0,
                },
            ),
            // Not in SPEC §7's field list, but §3 gives every table a pilot_cycle_id: accepted, optional.
            opt("pilot_cycle_id", CODE),
        ],
        rules: |v, issues| match v.text("decision") {
            Some(b"go") if v.items("violations").unwrap_or(0) > 0 => rule(
                issues,
                "violations",
                "a \"go\" decision must list no violations",
            ),
            Some(b"conditional")
                if !v.is_invalid("compensating_controls")
                    && v.items("compensating_controls").unwrap_or(0) == 0 =>
            {
                rule(
                    issues,
                    "compensating_controls",
                    "a \"conditional\" decision needs at least one compensating control",
                )
            }
            _ => {}
        },
    },
    Kind {
        name: "connection",
        fields: &[
            req("pilot_cycle_id", CODE),
            req("org_id", Ty::Uuid),
            req("service_id", CODE),
            req("connected_at", Ty::Timestamp),
            opt("contact_attempt_event_id", Ty::Uuid),
            opt("referral_event_id", Ty::Uuid),
        ],
        rules: |v, issues| {
            let anchors = v.is_present("contact_attempt_event_id") as u8
                + v.is_present("referral_event_id") as u8;
            if anchors != 1 {
                rule(
                    issues,
                    "",
                    "exactly one of contact_attempt_event_id and referral_event_id is required",
                )
            }
        },
    },
    Kind {
        name: "service_scope",
        fields: &[
            req("pilot_cycle_id", CODE),
            req("org_id", Ty::Uuid),
            req("service_id", CODE),
            req("sla_tier", Ty::Enum(SLA_TIERS)),
        ],
        rules: |_, _| {},
    },
    Kind {
        name: "service_status",
        fields: &[
            req("pilot_cycle_id", CODE),
            req("org_id", Ty::Uuid),
            req("service_id", CODE),
            req("checked_at", Ty::Timestamp),
            req("status_code", Ty::Enum(STATUS_CODES)),
        ],
        rules: |_, _| {},
    },
    Kind {
        name: "data_decay_audit",
        fields: &[
            req("pilot_cycle_id", CODE),
            req("org_id", Ty::Uuid),
            req("service_id", CODE),
            req("audited_at", Ty::Timestamp),
            req("is_fatal", Ty::Bool),
            req("verification_mode", Ty::Enum(VERIFICATION_MODES)),
            opt("fatal_error_category", Ty::Enum(FATAL_ERROR_CATEGORIES)),
        ],
        rules: |v, issues| match (v.boolean("is_fatal"), v.is_present("fatal_error_category")) {
            (Some(true), false) if !v.is_invalid("fatal_error_category") => rule(
                issues,
                "fatal_error_category",
                "a fatal audit needs a fatal_error_category",
            ),
            (Some(false), true) => rule(
                issues,
                "fatal_error_category",
                "a non-fatal audit must not have a fatal_error_category",
            ),
            _ => {}
        },
    },
    Kind {
        name: "preference_fit",
        fields: &[
            req("pilot_cycle_id", CODE),
            req("org_id", Ty::Uuid),
            req("cohort_label", CODE),
            req("recorded_at", Ty::Timestamp),
            req("preferred_via_platform", Ty::Bool),
        ],
        rules: |_, _| {},
    },
];

/// Find a kind by name.
pub fn kind(name: &str) -> Option<&'static Kind> {
    KINDS.iter().find(|k| k.name == name)
}

/// The valid kind names, comma-separated (for the error naming them).
pub fn kind_names() -> String {
    KINDS.iter().map(|k| k.name).collect::<Vec<_>>().join(", ")
}

pub const TERMINAL_STATES: &[&str] = &[
    "connected",
    "failed",
    "client_withdrew",
    "no_response_timeout",
];

fn referral_state_rules(v: &Values<'_>, issues: &mut Issues, default_initiated: bool) {
    let state = match v.text("referral_state") {
        Some(s) => s,
        None if default_initiated && !v.is_present("referral_state") => b"initiated".as_slice(),
        None => return,
    };
    if TERMINAL_STATES.iter().any(|t| t.as_bytes() == state)
        && !v.is_present("terminal_at")
        && !v.is_invalid("terminal_at")
    {
        rule(
            issues,
            "terminal_at",
            "a terminal referral_state needs terminal_at",
        );
    }
    if state == b"initiated" && v.is_present("failure_reason_code") {
        rule(
            issues,
            "failure_reason_code",
            "an initiated referral must not have a failure_reason_code",
        );
    }
}

fn not_before(v: &Values<'_>, issues: &mut Issues, later: &'static str, earlier: &'static str) {
    if let (Some(a), Some(b)) = (v.time(later), v.time(earlier)) {
        if a < b {
            rule(
                issues,
                later,
                &format!("{later} must not be before {earlier}"),
            );
        }
    }
}

fn rule(issues: &mut Issues, path: &'static str, message: &str) {
    issues.other(
        || path.to_string(),
        "rule_violation",
        || message.to_string(),
    );
}

// ---------------------------------------------------------------------------------------------
// Parsed field values, for the cross-field rules.

#[derive(Debug, Clone, Copy, PartialEq)]
enum Val<'a> {
    /// Absent or null.
    Absent,
    /// Present but invalid (already reported): rules that need it are skipped.
    Invalid,
    Text(&'a [u8]),
    Time(OffsetDateTime),
    Bool(bool),
    Items(usize),
}

const MAX_FIELDS: usize = 10;

/// The values of one payload's top-level fields, by the kind's field order.
pub struct Values<'a> {
    kind: &'static Kind,
    vals: [Val<'a>; MAX_FIELDS],
}

impl<'a> Values<'a> {
    fn get(&self, name: &str) -> Val<'a> {
        match self.kind.fields.iter().position(|f| f.name == name) {
            Some(i) => self.vals[i],
            None => Val::Absent,
        }
    }
    fn is_present(&self, name: &str) -> bool {
        !matches!(self.get(name), Val::Absent)
    }
    fn is_invalid(&self, name: &str) -> bool {
        matches!(self.get(name), Val::Invalid)
    }
    fn text(&self, name: &str) -> Option<&'a [u8]> {
        match self.get(name) {
            Val::Text(t) => Some(t),
            _ => None,
        }
    }
    fn time(&self, name: &str) -> Option<OffsetDateTime> {
        match self.get(name) {
            Val::Time(t) => Some(t),
            _ => None,
        }
    }
    fn boolean(&self, name: &str) -> Option<bool> {
        match self.get(name) {
            Val::Bool(b) => Some(b),
            _ => None,
        }
    }
    fn items(&self, name: &str) -> Option<usize> {
        match self.get(name) {
            Val::Items(n) => Some(n),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Scalar checks.

/// `^[A-Za-z0-9][A-Za-z0-9_.:-]*$`
pub fn is_code(s: &[u8]) -> bool {
    match s.split_first() {
        Some((first, rest)) => {
            first.is_ascii_alphanumeric()
                && rest
                    .iter()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b':' | b'-'))
        }
        None => false,
    }
}

/// 8-4-4-4-12 hexadecimal digits, either case.
pub fn is_uuid(s: &[u8]) -> bool {
    s.len() == 36
        && s.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

pub fn is_sha256_hex(s: &[u8]) -> bool {
    s.len() == 64 && s.iter().all(u8::is_ascii_hexdigit)
}

fn two_digits(s: &[u8], at: usize) -> Option<u8> {
    match (s.get(at), s.get(at + 1)) {
        (Some(a @ b'0'..=b'9'), Some(b @ b'0'..=b'9')) => Some((a - b'0') * 10 + (b - b'0')),
        _ => None,
    }
}

/// RFC 3339 with the restrictions of SPEC §6: separator `T`, seconds ≤ 59, at most 6 fractional
/// digits, `Z` or `±hh:mm`. `time`'s RFC 3339 parser does the calendar work but is more lenient
/// (lower-case `t`/`z`, leap seconds, 9 fractional digits), so those are checked here first. Also
/// refused: year 0000 and offsets beyond ±15:59, which PostgreSQL's `timestamptz` does not accept.
pub fn parse_timestamp(s: &[u8]) -> Option<OffsetDateTime> {
    if s.len() < 20 || s.get(10) != Some(&b'T') || s.starts_with(b"0000") {
        return None;
    }
    if two_digits(s, 17)? > 59 {
        return None;
    }
    let mut i = 19;
    if s[i] == b'.' {
        i += 1;
        let start = i;
        while i < s.len() && s[i].is_ascii_digit() {
            i += 1;
        }
        if i == start || i - start > 6 {
            return None;
        }
    }
    match &s[i..] {
        b"Z" => {}
        [b'+' | b'-', _, _, b':', _, _] => {
            if two_digits(s, i + 1)? > 15 || two_digits(s, i + 4)? > 59 {
                return None;
            }
        }
        _ => return None,
    }
    OffsetDateTime::parse(std::str::from_utf8(s).ok()?, &Rfc3339).ok()
}

/// `YYYY-MM-DD`, a real calendar date, year 0001 or later.
pub fn parse_date(s: &[u8]) -> Option<Date> {
    if s.len() != 10 || s[4] != b'-' || s[7] != b'-' {
        return None;
    }
    let year = two_digits(s, 0)? as i32 * 100 + two_digits(s, 2)? as i32;
    let month = Month::try_from(two_digits(s, 5)?).ok()?;
    let day = two_digits(s, 8)?;
    if year < 1 {
        return None;
    }
    Date::from_calendar_date(year, month, day).ok()
}

fn enum_list(values: &[&str]) -> String {
    values.join(", ")
}

/// Check one scalar against a (non-array) field type. Returns the parsed value or reports.
fn check_scalar<'a>(
    ty: Ty,
    ev: Event<'a>,
    issues: &mut Issues,
    path: &dyn Fn() -> String,
) -> Val<'a> {
    let bad = |issues: &mut Issues, code: &'static str, msg: &dyn Fn() -> String| {
        issues.other(path, code, msg);
        Val::Invalid
    };
    match (ty, ev) {
        (_, Event::Null) => Val::Absent,
        (Ty::Bool, Event::Bool(b)) => Val::Bool(b),
        (Ty::Bool, _) => bad(issues, "wrong_type", &|| "must be true or false".into()),
        (Ty::Codes { .. }, _) => bad(issues, "wrong_type", &|| "must be an array of codes".into()),
        (_, Event::String(s)) => match ty {
            Ty::Code(max) => {
                if !is_code(s) {
                    bad(issues, "invalid_code", &|| {
                        "must be a code: letters, digits and _ . : - only, starting with a letter or digit".into()
                    })
                } else if s.len() > max {
                    bad(issues, "too_long", &|| {
                        format!("must be at most {max} characters")
                    })
                } else {
                    Val::Text(s)
                }
            }
            Ty::Uuid => {
                if is_uuid(s) {
                    Val::Text(s)
                } else {
                    bad(issues, "invalid_uuid", &|| {
                        "must be a UUID (8-4-4-4-12 hexadecimal digits)".into()
                    })
                }
            }
            Ty::Sha256Hex => {
                if is_sha256_hex(s) {
                    Val::Text(s)
                } else {
                    bad(issues, "invalid_hash", &|| {
                        "must be a SHA-256 hash: 64 hexadecimal characters".into()
                    })
                }
            }
            Ty::Timestamp => match parse_timestamp(s) {
                Some(t) => Val::Time(t),
                None => bad(issues, "invalid_timestamp", &|| {
                    "must be an RFC 3339 timestamp with a time zone, e.g. 2026-06-30T14:05:00Z"
                        .into()
                }),
            },
            Ty::Date => match parse_date(s) {
                Some(_) => Val::Text(s),
                None => bad(issues, "invalid_date", &|| {
                    "must be a date as YYYY-MM-DD".into()
                }),
            },
            Ty::Enum(values) => {
                if values.iter().any(|v| v.as_bytes() == s) {
                    Val::Text(s)
                } else {
                    bad(issues, "invalid_enum", &|| {
                        format!("must be one of: {}", enum_list(values))
                    })
                }
            }
            Ty::Bool | Ty::Codes { .. } => unreachable!("handled above"),
        },
        (_, _) => bad(issues, "wrong_type", &|| "must be a string".into()),
    }
}

// ---------------------------------------------------------------------------------------------
// The walk.

/// One step of a path, as shown (SPEC §6). A key name is user data, so only names that are not:
/// a forbidden key by its canonical name, a field name of the payload's kind, and otherwise the
/// key's 0-based position in its object's `jsonb` key order.
#[derive(Clone, Copy)]
enum Seg {
    Name(&'static str),
    Key(usize),
    Index(usize),
}

/// Paths longer than this are shown as `#depth:<d>.` and their last segments that fit.
pub const MAX_PATH_BYTES: usize = 512;

fn digits(mut n: usize) -> usize {
    let mut d = 1;
    while n >= 10 {
        n /= 10;
        d += 1;
    }
    d
}

impl Seg {
    fn len(self) -> usize {
        match self {
            Seg::Name(n) => n.len(),
            Seg::Key(pos) => 1 + digits(pos),
            Seg::Index(i) => digits(i),
        }
    }

    fn push_to(self, out: &mut String) {
        use std::fmt::Write;
        let _ = match self {
            Seg::Name(n) => out.write_str(n),
            Seg::Key(pos) => write!(out, "#{pos}"),
            Seg::Index(i) => write!(out, "{i}"),
        };
    }
}

/// The current position in the document, with its rendered length kept up to date, so that a
/// path is rendered in at most [`MAX_PATH_BYTES`] of work however deep it is.
#[derive(Default)]
struct Path {
    segs: Vec<Seg>,
    /// Rendered length: segments plus the dots between them.
    bytes: usize,
}

impl Path {
    fn push(&mut self, seg: Seg) {
        self.bytes += seg.len() + usize::from(!self.segs.is_empty());
        self.segs.push(seg);
    }

    fn pop(&mut self) {
        if let Some(seg) = self.segs.pop() {
            self.bytes -= seg.len() + usize::from(!self.segs.is_empty());
        }
    }

    fn render(&self) -> String {
        let mut out = String::with_capacity(self.bytes.min(MAX_PATH_BYTES));
        let from = if self.bytes <= MAX_PATH_BYTES {
            0
        } else {
            use std::fmt::Write;
            let _ = write!(out, "#depth:{}", self.segs.len());
            // Take segments from the end while `.segment` still fits.
            let mut used = out.len();
            let mut from = self.segs.len();
            while from > 0 && used + 1 + self.segs[from - 1].len() <= MAX_PATH_BYTES {
                from -= 1;
                used += 1 + self.segs[from].len();
            }
            out.push('.');
            from
        };
        for (n, seg) in self.segs[from..].iter().enumerate() {
            if n > 0 {
                out.push('.');
            }
            seg.push_to(&mut out);
        }
        out
    }
}

/// The field names shown as written in `pilot_disallowed_key_paths`: those of every kind.
fn any_field_name(key: &[u8]) -> Option<&'static str> {
    KINDS
        .iter()
        .flat_map(|k| k.fields.iter())
        .map(|f| f.name)
        .find(|n| n.as_bytes() == key)
}

struct Level {
    object: bool,
    count: usize,
}

struct Walk<'a> {
    kind: Option<&'static Kind>,
    /// Whose field names paths show as written: the payload's kind, or every kind.
    names: Option<&'static Kind>,
    levels: Vec<Level>,
    path: Path,
    issues: Issues,
    vals: [Val<'a>; MAX_FIELDS],
    /// The field the next top-level value belongs to (None: unknown or forbidden key).
    field: Option<usize>,
    /// While inside a top-level array field: (field index, all elements valid so far). The
    /// element count is the array level's own `count`.
    array_field: Option<(usize, bool)>,
    root_object: bool,
}

impl<'a> Walk<'a> {
    fn new(kind: Option<&'static Kind>, names: Option<&'static Kind>, keep: usize) -> Self {
        Walk {
            kind,
            names,
            levels: Vec::with_capacity(8),
            path: Path::default(),
            issues: Issues::new(keep),
            vals: [Val::Absent; MAX_FIELDS],
            field: None,
            array_field: None,
            root_object: false,
        }
    }

    /// A value starts at the current position: give it its path segment when inside an array.
    fn value_start(&mut self) {
        if let Some(level) = self.levels.last_mut() {
            if !level.object {
                self.path.push(Seg::Index(level.count));
                level.count += 1;
            }
        }
    }

    fn value_done(&mut self) {
        if !self.levels.is_empty() {
            self.path.pop();
        }
    }

    fn report(&mut self, code: &'static str, message: impl FnOnce() -> String) {
        let path = &self.path;
        self.issues.other(|| path.render(), code, message);
    }

    fn event(&mut self, ev: Event<'a>) {
        let depth = self.levels.len();
        match ev {
            Event::Key(key) => {
                // A key outside an object cannot come from a well-formed document: ignore it
                // rather than trust the stream (the jsonb reader reports malformed input).
                let Some(level) = self.levels.last_mut().filter(|l| l.object) else {
                    return;
                };
                let pos = level.count;
                level.count += 1;
                let forbidden = forbidden_key(key);
                // The key's field in `names` — the payload's kind whenever `kind` is set — found
                // once, for the path segment and for the field checks below.
                let field = self
                    .names
                    .and_then(|k| k.fields.iter().position(|f| f.name.as_bytes() == key));
                // How the key is shown in paths (SPEC §6): never its own text unless it is a
                // forbidden key (by canonical name) or a field name.
                let shown = forbidden.or_else(|| match self.names {
                    Some(k) => field.map(|i| k.fields[i].name),
                    None => any_field_name(key),
                });
                self.path.push(shown.map_or(Seg::Key(pos), Seg::Name));
                if forbidden.is_some() {
                    let path = &self.path;
                    self.issues.privacy(|| path.render());
                }
                if depth == 1 && self.root_object {
                    if let Some(kind) = self.kind {
                        self.field = None;
                        debug_assert!(self.names.is_some_and(|n| std::ptr::eq(n, kind)));
                        if forbidden.is_none() {
                            match field {
                                Some(i) => self.field = Some(i),
                                None => self.report("unknown_key", || {
                                    "this key is not part of the payload".into()
                                }),
                            }
                        }
                    }
                }
            }
            Event::BeginObject | Event::BeginArray => {
                let object = ev == Event::BeginObject;
                self.value_start();
                if let Some(kind) = self.kind {
                    if depth == 0 {
                        self.root_object = object;
                        if !object {
                            self.report("wrong_type", || {
                                "the payload must be a JSON object".into()
                            });
                        }
                    } else if depth == 1 && self.root_object {
                        if let Some(i) = self.field.take() {
                            match (kind.fields[i].ty, object) {
                                (Ty::Codes { .. }, false) => self.array_field = Some((i, true)),
                                (Ty::Codes { .. }, true) => {
                                    self.report("wrong_type", || {
                                        "must be an array of codes".into()
                                    });
                                    self.vals[i] = Val::Invalid;
                                }
                                (Ty::Bool, _) => {
                                    self.report("wrong_type", || "must be true or false".into());
                                    self.vals[i] = Val::Invalid;
                                }
                                _ => {
                                    self.report("wrong_type", || "must be a string".into());
                                    self.vals[i] = Val::Invalid;
                                }
                            }
                        }
                    } else if depth == 2 {
                        if let Some((_, ok)) = self.array_field.as_mut() {
                            *ok = false;
                            self.report("wrong_type", || "must be a code (a string)".into());
                        }
                    }
                }
                self.levels.push(Level { object, count: 0 });
            }
            Event::EndObject | Event::EndArray => {
                let Some(level) = self.levels.pop() else {
                    return;
                };
                if self.levels.len() == 1 && !level.object {
                    if let (Some((i, ok)), Some(kind)) = (self.array_field.take(), self.kind) {
                        let n = level.count;
                        let min = match kind.fields[i].ty {
                            Ty::Codes { min_items, .. } => min_items,
                            _ => 0,
                        };
                        self.vals[i] = if ok { Val::Items(n) } else { Val::Invalid };
                        if n < min {
                            self.report("too_few_items", || {
                                format!("must hold at least {min} item(s)")
                            });
                            self.vals[i] = Val::Invalid;
                        }
                    }
                }
                self.value_done();
            }
            scalar => {
                self.value_start();
                if let Some(kind) = self.kind {
                    if depth == 0 {
                        self.report("wrong_type", || "the payload must be a JSON object".into());
                    } else if depth == 1 && self.root_object {
                        if let Some(i) = self.field.take() {
                            let path = &self.path;
                            self.vals[i] =
                                check_scalar(kind.fields[i].ty, scalar, &mut self.issues, &|| {
                                    path.render()
                                });
                        }
                    } else if depth == 2 {
                        if let Some((i, ok)) = self.array_field.as_mut() {
                            let max = match kind.fields[*i].ty {
                                Ty::Codes { max, .. } => max,
                                _ => 100,
                            };
                            let elem = match scalar {
                                Event::Null => Event::Number, // a null element is a wrong type, not absent
                                other => other,
                            };
                            let path = &self.path;
                            if check_scalar(Ty::Code(max), elem, &mut self.issues, &|| {
                                path.render()
                            }) == Val::Invalid
                            {
                                *ok = false;
                            }
                        }
                    }
                }
                self.value_done();
            }
        }
    }

    fn finish(mut self) -> Issues {
        if let (Some(kind), true) = (self.kind, self.root_object) {
            for (i, f) in kind.fields.iter().enumerate() {
                if f.required && self.vals[i] == Val::Absent {
                    self.issues.other(
                        || f.name.to_string(),
                        "missing_key",
                        || "this key is required".into(),
                    );
                }
            }
            let values = Values {
                kind,
                vals: self.vals,
            };
            (kind.rules)(&values, &mut self.issues);
        }
        self.issues
    }
}

/// The walks call `interrupt` once per this many events: inside PostgreSQL it is
/// `check_for_interrupts!`, so `statement_timeout` and cancellation stop any input (SPEC §6).
/// It may unwind (a PostgreSQL error); the walks hold nothing that needs more than a drop.
pub const INTERRUPT_EVERY: usize = 4096;

fn run<'a>(
    walk: &mut Walk<'a>,
    events: impl Iterator<Item = Event<'a>>,
    interrupt: &mut dyn FnMut(),
) {
    for (n, ev) in events.enumerate() {
        if n % INTERRUPT_EVERY == 0 {
            interrupt();
        }
        walk.event(ev);
    }
}

/// Validate a payload of `kind`. `size` is the payload's size in bytes (the `jsonb` datum); over
/// [`MAX_PAYLOAD_BYTES`] only the privacy walk runs and a `payload_too_large` issue follows its
/// findings. Returns the issues as reported (at most [`MAX_ISSUES`] and
/// [`crate::issues::MAX_ISSUES_JSON_BYTES`]).
pub fn validate<'a>(
    kind: &'static Kind,
    size: usize,
    events: impl Iterator<Item = Event<'a>>,
    interrupt: &mut dyn FnMut(),
) -> Vec<Issue> {
    let too_large = size > MAX_PAYLOAD_BYTES;
    let mut walk = Walk::new(
        if too_large { None } else { Some(kind) },
        Some(kind),
        MAX_ISSUES,
    );
    run(&mut walk, events, interrupt);
    let mut issues = walk.finish();
    if too_large {
        issues.other(String::new, "payload_too_large", || {
            format!("the payload is {size} bytes; recorders accept at most {MAX_PAYLOAD_BYTES}")
        });
    }
    issues.finish()
}

/// `pilot_disallowed_key_paths` lists at most this many elements (the last one `#truncated:<N>`
/// when cut) and at most this many bytes of path text (SPEC §6).
pub const MAX_KEY_PATHS: usize = 1000;
pub const MAX_KEY_PATHS_BYTES: usize = 64 * 1024;

/// Every path at which a forbidden key occurs, in document order, within [`MAX_KEY_PATHS`] and
/// [`MAX_KEY_PATHS_BYTES`] (one byte per element counted on top of its text); when cut, the last
/// element is `#truncated:<N>`, N the paths left out.
pub fn disallowed_key_paths<'a>(
    events: impl Iterator<Item = Event<'a>>,
    interrupt: &mut dyn FnMut(),
) -> Vec<String> {
    let mut walk = Walk::new(None, None, MAX_KEY_PATHS);
    run(&mut walk, events, interrupt);
    let issues = walk.finish();
    let total = issues.total();
    let mut paths = issues.into_privacy_paths();
    let bytes = |paths: &[String]| paths.iter().map(|p| p.len() + 1).sum::<usize>();
    if total <= MAX_KEY_PATHS && bytes(&paths) <= MAX_KEY_PATHS_BYTES {
        return paths;
    }
    // Keep the longest prefix that leaves room for the marker ("#truncated:" and at most 20 digits).
    let budget = MAX_KEY_PATHS_BYTES - ("#truncated:".len() + 20 + 1);
    let mut used = 0;
    let keep = paths
        .iter()
        .take(MAX_KEY_PATHS - 1)
        .take_while(|p| {
            used += p.len() + 1;
            used <= budget
        })
        .count();
    paths.truncate(keep);
    paths.push(format!("#truncated:{}", total - keep));
    paths
}

#[cfg(test)]
mod tests;
