//! Validation issues: what went wrong and where, never with a value from the payload (SPEC §6).

/// At most this many issues are reported; the last slot then says how many there were.
pub const MAX_ISSUES: usize = 100;

/// The reported list, as JSON text (a recorder's error DETAIL), stays within this many bytes —
/// under 16 KB however many issues a payload has and however deep they are (SPEC §6).
pub const MAX_ISSUES_JSON_BYTES: usize = 16_000;

/// The fixed vocabulary of issue codes (README, "Issue codes"): every issue carries one of these,
/// never a string written at the place that reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IssueCode {
    DisallowedPrivacyKey,
    UnknownKey,
    MissingKey,
    WrongType,
    InvalidEnum,
    InvalidCode,
    InvalidUuid,
    InvalidHash,
    InvalidTimestamp,
    InvalidDate,
    TooLong,
    TooFewItems,
    RuleViolation,
    PayloadTooLarge,
    TooManyIssues,
}

impl IssueCode {
    /// Every code, in README's order.
    pub const ALL: [IssueCode; 15] = [
        IssueCode::DisallowedPrivacyKey,
        IssueCode::UnknownKey,
        IssueCode::MissingKey,
        IssueCode::WrongType,
        IssueCode::InvalidEnum,
        IssueCode::InvalidCode,
        IssueCode::InvalidUuid,
        IssueCode::InvalidHash,
        IssueCode::InvalidTimestamp,
        IssueCode::InvalidDate,
        IssueCode::TooLong,
        IssueCode::TooFewItems,
        IssueCode::RuleViolation,
        IssueCode::PayloadTooLarge,
        IssueCode::TooManyIssues,
    ];

    /// The code as it appears in an issue's `"code"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            IssueCode::DisallowedPrivacyKey => "disallowed_privacy_key",
            IssueCode::UnknownKey => "unknown_key",
            IssueCode::MissingKey => "missing_key",
            IssueCode::WrongType => "wrong_type",
            IssueCode::InvalidEnum => "invalid_enum",
            IssueCode::InvalidCode => "invalid_code",
            IssueCode::InvalidUuid => "invalid_uuid",
            IssueCode::InvalidHash => "invalid_hash",
            IssueCode::InvalidTimestamp => "invalid_timestamp",
            IssueCode::InvalidDate => "invalid_date",
            IssueCode::TooLong => "too_long",
            IssueCode::TooFewItems => "too_few_items",
            IssueCode::RuleViolation => "rule_violation",
            IssueCode::PayloadTooLarge => "payload_too_large",
            IssueCode::TooManyIssues => "too_many_issues",
        }
    }
}

/// Tests and callers compare a code with its text: `issue.code == "wrong_type"`.
impl PartialEq<&str> for IssueCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// One problem found in a payload. `path` is the dotted path (SPEC §6), `code` comes from a fixed
/// vocabulary (README, "Issue codes") and `message` is written by us: neither ever holds a payload value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub path: String,
    pub code: IssueCode,
    pub message: String,
}

/// Collects issues in the reported order: privacy issues first, then the others as found.
/// Only the first [`MAX_ISSUES`] of each group are materialised; the rest are counted.
pub struct Issues {
    privacy: Vec<Issue>,
    other: Vec<Issue>,
    privacy_total: usize,
    other_total: usize,
    keep: usize,
}

impl Issues {
    /// `keep` bounds how many issues of each group are stored (`usize::MAX` keeps all).
    pub fn new(keep: usize) -> Self {
        Issues {
            privacy: Vec::new(),
            other: Vec::new(),
            privacy_total: 0,
            other_total: 0,
            keep,
        }
    }

    /// True when the next privacy issue would be stored (so its path is worth rendering).
    pub fn keeps_privacy(&self) -> bool {
        self.privacy.len() < self.keep
    }

    pub fn keeps_other(&self) -> bool {
        self.other.len() < self.keep
    }

    pub fn privacy(&mut self, path: impl FnOnce() -> String) {
        self.privacy_total += 1;
        if self.keeps_privacy() {
            self.privacy.push(Issue {
                path: path(),
                code: IssueCode::DisallowedPrivacyKey,
                message: "this key is not allowed anywhere in a pilot payload: it could carry raw user text".into(),
            });
        }
    }

    pub fn other(
        &mut self,
        path: impl FnOnce() -> String,
        code: IssueCode,
        message: impl FnOnce() -> String,
    ) {
        self.other_total += 1;
        if self.keeps_other() {
            self.other.push(Issue {
                path: path(),
                code,
                message: message(),
            });
        }
    }

    pub fn total(&self) -> usize {
        self.privacy_total + self.other_total
    }

    /// Paths of every privacy issue (for `pilot_disallowed_key_paths`, built with `keep = usize::MAX`).
    pub fn into_privacy_paths(self) -> Vec<String> {
        self.privacy.into_iter().map(|i| i.path).collect()
    }

    /// The reported list: at most [`MAX_ISSUES`] entries and [`MAX_ISSUES_JSON_BYTES`] of JSON
    /// text; when cut, the last entry is `too_many_issues` with the total found.
    pub fn finish(self) -> Vec<Issue> {
        let total = self.total();
        let mut all: Vec<Issue> = self.privacy;
        all.extend(self.other);
        let sizes: Vec<usize> = all.iter().map(json_len).collect();
        if total <= MAX_ISSUES
            && 2 + sizes.iter().map(|n| n + 2).sum::<usize>() <= MAX_ISSUES_JSON_BYTES
        {
            return all;
        }
        let last = Issue {
            path: String::new(),
            code: IssueCode::TooManyIssues,
            message: format!("{total} issues"),
        };
        let mut used = 2 + json_len(&last);
        let mut keep = 0;
        while keep < sizes.len()
            && keep < MAX_ISSUES - 1
            && used + sizes[keep] + 2 <= MAX_ISSUES_JSON_BYTES
        {
            used += sizes[keep] + 2;
            keep += 1;
        }
        all.truncate(keep);
        all.push(last);
        all
    }
}

/// The length of an issue in [`to_json`]'s rendering (also `jsonb`'s text output, whatever its
/// key order), measured by rendering it: the escaping rules stay in one place.
fn json_len(issue: &Issue) -> usize {
    to_json(std::slice::from_ref(issue)).len() - "[]".len()
}

/// Render issues as the JSON array carried in DETAIL and returned by `pilot_validate`.
pub fn to_json(issues: &[Issue]) -> String {
    let mut out = String::with_capacity(2 + issues.len() * 96);
    out.push('[');
    for (n, issue) in issues.iter().enumerate() {
        if n > 0 {
            out.push_str(", ");
        }
        out.push_str("{\"path\": ");
        push_json_string(&mut out, &issue.path);
        out.push_str(", \"code\": ");
        push_json_string(&mut out, issue.code.as_str());
        out.push_str(", \"message\": ");
        push_json_string(&mut out, &issue.message);
        out.push('}');
    }
    out.push(']');
    out
}

pub fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn more_than_max_issues_end_in_too_many_issues() {
        let mut issues = Issues::new(MAX_ISSUES);
        for _ in 0..3 {
            issues.privacy(|| "a".into());
        }
        for i in 0..200 {
            issues.other(|| format!("x{i}"), IssueCode::UnknownKey, || "m".into());
        }
        let list = issues.finish();
        assert_eq!(list.len(), MAX_ISSUES);
        assert_eq!(list[0].code, "disallowed_privacy_key");
        assert_eq!(list[3].path, "x0");
        assert_eq!(list[99].code, "too_many_issues");
        assert_eq!(list[99].message, "203 issues");
        assert_eq!(list[99].path, "");
    }

    #[test]
    fn exactly_max_issues_are_not_cut() {
        let mut issues = Issues::new(MAX_ISSUES);
        for i in 0..MAX_ISSUES {
            issues.other(|| format!("x{i}"), IssueCode::UnknownKey, || "m".into());
        }
        let list = issues.finish();
        assert_eq!(list.len(), MAX_ISSUES);
        assert_eq!(list[99].path, "x99");
    }

    #[test]
    fn the_list_stays_within_its_byte_budget() {
        let mut issues = Issues::new(MAX_ISSUES);
        for _ in 0..500 {
            issues.privacy(|| "x".repeat(500));
        }
        let list = issues.finish();
        let json = to_json(&list);
        assert!(json.len() <= MAX_ISSUES_JSON_BYTES, "{}", json.len());
        assert!(
            list.len() < MAX_ISSUES,
            "the byte budget cuts first here: {}",
            list.len()
        );
        assert_eq!(list.last().unwrap().code, "too_many_issues");
        assert_eq!(list.last().unwrap().message, "500 issues");
        // what the budget counts is the length of jsonb's own text output of an entry
        let one = Issue {
            path: "a\"b".into(),
            code: IssueCode::UnknownKey,
            message: "é".into(),
        };
        assert_eq!(
            json_len(&one),
            r#"{"code": "unknown_key", "path": "a\"b", "message": "é"}"#.len()
        );
    }

    #[test]
    fn json_escapes_control_characters_and_quotes() {
        let list = vec![Issue {
            path: "a\"b\\c\u{1}".into(),
            code: IssueCode::UnknownKey,
            message: "é".into(),
        }];
        assert_eq!(
            to_json(&list),
            r#"[{"path": "a\"b\\c\u0001", "code": "unknown_key", "message": "é"}]"#
        );
    }
}
