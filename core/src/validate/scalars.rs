//! Checks of one scalar value against a field's type (SPEC §3, §6): codes, UUIDs, hashes, RFC 3339
//! timestamps, dates, enums — and the messages of the issues they report.

use super::kinds::{Ty, Val};
use crate::events::Event;
use crate::issues::{IssueCode, Issues};
use time::format_description::well_known::Rfc3339;
use time::{Date, Month, OffsetDateTime};

/// `^[A-Za-z0-9][A-Za-z0-9_.:-]*$`
#[inline]
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

/// A code of at most `max_chars` characters (SPEC §3): the CHECK of every code column. Codes are
/// ASCII, so characters are bytes.
#[inline]
pub fn is_code_within(s: &[u8], max_chars: usize) -> bool {
    s.len() <= max_chars && is_code(s)
}

/// 8-4-4-4-12 hexadecimal digits, either case.
#[inline]
pub fn is_uuid(s: &[u8]) -> bool {
    s.len() == 36
        && s.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

#[inline]
pub fn is_sha256_hex(s: &[u8]) -> bool {
    s.len() == 64 && s.iter().all(u8::is_ascii_hexdigit)
}

#[inline]
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

/// The messages of `wrong_type` issues, in one place: what a value of `ty` must be.
pub(crate) fn expected(ty: Ty) -> &'static str {
    match ty {
        Ty::Bool => "must be true or false",
        Ty::Codes { .. } => "must be an array of codes",
        _ => "must be a string",
    }
}

/// An element of an array of codes that is not a string.
pub(crate) const EXPECTED_CODE_ELEMENT: &str = "must be a code (a string)";

/// The payload itself is not an object.
pub(crate) const EXPECTED_OBJECT: &str = "the payload must be a JSON object";

/// Check one scalar against a (non-array) field type. Returns the parsed value or reports.
#[inline]
pub(crate) fn check_scalar<'a>(
    ty: Ty,
    ev: Event<'a>,
    issues: &mut Issues,
    path: &dyn Fn() -> String,
) -> Val<'a> {
    let bad = |issues: &mut Issues, code: IssueCode, msg: &dyn Fn() -> String| {
        issues.other(path, code, msg);
        Val::Invalid
    };
    match (ty, ev) {
        (_, Event::Null) => Val::Absent,
        (Ty::Bool, Event::Bool(b)) => Val::Bool(b),
        (Ty::Bool | Ty::Codes { .. }, _) => {
            bad(issues, IssueCode::WrongType, &|| expected(ty).into())
        }
        (_, Event::String(s)) => match ty {
            Ty::Code(max) => {
                if !is_code(s) {
                    bad(issues, IssueCode::InvalidCode, &|| {
                        "must be a code: letters, digits and _ . : - only, starting with a letter or digit".into()
                    })
                } else if s.len() > max {
                    bad(issues, IssueCode::TooLong, &|| {
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
                    bad(issues, IssueCode::InvalidUuid, &|| {
                        "must be a UUID (8-4-4-4-12 hexadecimal digits)".into()
                    })
                }
            }
            Ty::Sha256Hex => {
                if is_sha256_hex(s) {
                    Val::Text(s)
                } else {
                    bad(issues, IssueCode::InvalidHash, &|| {
                        "must be a SHA-256 hash: 64 hexadecimal characters".into()
                    })
                }
            }
            Ty::Timestamp => match parse_timestamp(s) {
                Some(t) => Val::Time(t),
                None => bad(issues, IssueCode::InvalidTimestamp, &|| {
                    "must be an RFC 3339 timestamp with a time zone, e.g. 2026-06-30T14:05:00Z"
                        .into()
                }),
            },
            Ty::Date => match parse_date(s) {
                Some(_) => Val::Text(s),
                None => bad(issues, IssueCode::InvalidDate, &|| {
                    "must be a date as YYYY-MM-DD".into()
                }),
            },
            Ty::Enum(values) => {
                if values.iter().any(|v| v.as_bytes() == s) {
                    Val::Text(s)
                } else {
                    bad(issues, IssueCode::InvalidEnum, &|| {
                        format!("must be one of: {}", values.join(", "))
                    })
                }
            }
            Ty::Bool | Ty::Codes { .. } => unreachable!("handled above"),
        },
        (_, _) => bad(issues, IssueCode::WrongType, &|| expected(ty).into()),
    }
}
