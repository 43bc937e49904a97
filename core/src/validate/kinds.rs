//! The nine payload kinds (SPEC §7): their fields, the enums of their values (the one source the
//! tables' CHECKs and the recorders' COMMENTs are tested against), and the cross-field rules.

use crate::issues::{IssueCode, Issues};
use time::OffsetDateTime;

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
    pub(crate) rules: fn(&Values<'_>, &mut Issues),
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
    // SPEC §14: registrations, by app admins (no organization).
    Kind {
        name: "cycle",
        fields: &[
            req("id", CODE),
            req("starts_on", Ty::Date),
            req("ends_on", Ty::Date),
        ],
        rules: |v, issues| {
            let date = |f| v.text(f).and_then(super::scalars::parse_date);
            if let (Some(starts), Some(ends)) = (date("starts_on"), date("ends_on")) {
                if ends < starts {
                    rule(issues, "ends_on", "ends_on must not be before starts_on");
                }
            }
        },
    },
    Kind {
        name: "cohort",
        fields: &[req("pilot_cycle_id", CODE), req("label", CODE)],
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
        IssueCode::RuleViolation,
        || message.to_string(),
    );
}

// Parsed field values, for the cross-field rules.

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Val<'a> {
    /// Absent or null.
    Absent,
    /// Present but invalid (already reported): rules that need it are skipped.
    Invalid,
    Text(&'a [u8]),
    Time(OffsetDateTime),
    Bool(bool),
    Items(usize),
}

pub(crate) const MAX_FIELDS: usize = 10;

/// The values of one payload's top-level fields, by the kind's field order.
pub struct Values<'a> {
    pub(crate) kind: &'static Kind,
    pub(crate) vals: [Val<'a>; MAX_FIELDS],
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
