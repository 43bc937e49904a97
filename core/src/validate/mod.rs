//! Payload validation for the nine recorder kinds (SPEC §3, §6, §7), by concern:
//! - [`kinds`]: the kinds, their fields and enums, and the cross-field rules;
//! - [`scalars`]: one value against a field's type, and the issue messages;
//! - `path`: how a position in the document is shown;
//! - `walk`: the single streaming pass over the [`Event`] stream.

mod kinds;
mod path;
mod scalars;
mod walk;

pub use kinds::{
    kind, kind_names, Field, Kind, Ty, Values, ATTEMPT_CHANNELS, ATTEMPT_OUTCOMES, DECISIONS,
    FAILURE_REASON_CODES, FATAL_ERROR_CATEGORIES, KINDS, OUTCOME_NOTES_CODES, REFERRAL_STATES,
    SLA_TIERS, STATUS_CODES, TERMINAL_STATES, VERIFICATION_MODES,
};
pub use path::MAX_PATH_BYTES;
pub use scalars::{is_code, is_code_within, is_sha256_hex, is_uuid, parse_date, parse_timestamp};
pub use walk::INTERRUPT_EVERY;

use crate::events::Event;
use crate::issues::{Issue, IssueCode, MAX_ISSUES};
use walk::{run, Walk};

/// The biggest payload a recorder accepts, measured on the `jsonb` datum's bytes (SPEC §6).
/// Real events are well under 2 KiB; 64 KiB leaves room for long owner lists and nothing else.
pub const MAX_PAYLOAD_BYTES: usize = 64 * 1024;

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
        issues.other(String::new, IssueCode::PayloadTooLarge, || {
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
