//! The privacy guard's key test (SPEC §6).
//!
//! A key is forbidden when, after removing default-ignorable code points, the full case folding of
//! its NFKC normalization equals one of [`FORBIDDEN_KEYS`]. ASCII keys — nearly all keys — take a
//! fast path that allocates nothing: for ASCII, NFKC is the identity, no code point is
//! default-ignorable, and case folding is lower-casing.

use caseless::Caseless;
use unicode_normalization::UnicodeNormalization;

/// The keys that must never reach the database, because they carry raw user text.
pub const FORBIDDEN_KEYS: [&str; 5] = ["query", "query_text", "message", "user_text", "notes"];

/// True when `key` (raw UTF-8 bytes as stored in `jsonb`) names a forbidden field.
pub fn is_forbidden_key(key: &[u8]) -> bool {
    forbidden_key(key).is_some()
}

/// A forbidden key longer than this many code points, default-ignorable ones aside, cannot exist:
/// normalization never maps a code point to nothing, and a composition yields a non-ASCII
/// character, so a key that folds to one of the five (ASCII, at most 10 letters) has at most 10
/// code points that are not default-ignorable. The bound keeps the work on a huge key to one scan,
/// with no allocation beyond this many characters.
const MAX_SIGNIFICANT_CHARS: usize = 64;

/// The canonical name of the forbidden field `key` names (one of [`FORBIDDEN_KEYS`]), if any.
/// Paths show this name, never the key as written (SPEC §6): the rest of a key is user data.
#[inline]
pub fn forbidden_key(key: &[u8]) -> Option<&'static str> {
    if key.is_ascii() {
        // 5 ("query", "notes") ..= 10 ("query_text") bytes.
        if key.len() < 5 || key.len() > 10 {
            return None;
        }
        return FORBIDDEN_KEYS
            .iter()
            .copied()
            .find(|f| f.as_bytes().eq_ignore_ascii_case(key));
    }
    let text = String::from_utf8_lossy(key);
    let mut stripped = String::new();
    let mut significant = 0;
    for c in text.chars().filter(|c| !is_default_ignorable(*c)) {
        significant += 1;
        if significant > MAX_SIGNIFICANT_CHARS {
            return None;
        }
        stripped.push(c);
    }
    // NFKC, then full case folding; the result is compared with the (already folded) forbidden keys.
    let folded: String = stripped.nfkc().default_case_fold().collect();
    FORBIDDEN_KEYS.iter().copied().find(|f| *f == folded)
}

/// Unicode's Default_Ignorable_Code_Point property (DerivedCoreProperties.txt, Unicode 15).
pub fn is_default_ignorable(c: char) -> bool {
    matches!(c as u32,
        0x00AD | 0x034F | 0x061C | 0x115F..=0x1160 | 0x17B4..=0x17B5 | 0x180B..=0x180F
        | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x206F | 0x3164 | 0xFE00..=0xFE0F
        | 0xFEFF | 0xFFA0 | 0xFFF0..=0xFFF8 | 0x1BCA0..=0x1BCA3 | 0x1D173..=0x1D17A
        | 0xE0000..=0xE0FFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_five_keys_in_any_case() {
        for k in [
            "query",
            "QUERY",
            "Query_Text",
            "message",
            "MeSsAgE",
            "user_text",
            "USER_TEXT",
            "notes",
            "Notes",
        ] {
            assert!(is_forbidden_key(k.as_bytes()), "{k}");
        }
    }

    #[test]
    fn unicode_spellings_are_caught() {
        for k in [
            "ＮＯＴＥＳ",           // fullwidth: NFKC maps to ASCII
            "meſſage",              // long s: NFKC maps to 's'
            "no\u{00AD}tes",        // soft hyphen: default-ignorable
            "n\u{200B}otes",        // zero-width space
            "\u{FEFF}query",        // byte order mark
            "QUERY\u{E0001}",       // language tag
            "query\u{FE0F}",        // variation selector
            "ｑｕｅｒｙ＿ｔｅｘｔ", // fullwidth underscore too
            "NOTE\u{017F}",         // long s upper case context
            "user_te\u{1D431}t",    // mathematical bold x: NFKC maps to 'x'
            "MESSAGE\u{034F}",      // combining grapheme joiner
            "notes\u{180B}",        // Mongolian free variation selector
        ] {
            assert!(is_forbidden_key(k.as_bytes()), "{k:?}");
        }
    }

    #[test]
    fn look_alikes_are_not_forbidden() {
        for k in [
            "notes_code",
            "queries",
            "note",
            "messages",
            "user",
            "text",
            "query text",
            "query-text",
            "nötes",
            "quer",
            "outcome_notes_code",
            "",
            "notesnotes",
            "ποτες",
            "no tes",
        ] {
            assert!(!is_forbidden_key(k.as_bytes()), "{k:?}");
        }
    }

    #[test]
    fn the_canonical_name_is_what_was_matched() {
        assert_eq!(forbidden_key("NOTES".as_bytes()), Some("notes"));
        assert_eq!(
            forbidden_key("notes\u{E0041}\u{E0042}".as_bytes()),
            Some("notes")
        );
        assert_eq!(
            forbidden_key("ｑｕｅｒｙ＿ｔｅｘｔ".as_bytes()),
            Some("query_text")
        );
        assert_eq!(forbidden_key(b"notes_code"), None);
    }

    #[test]
    fn a_huge_key_is_one_scan() {
        // a million zero-width spaces around the name: still the name
        let padded = format!("no{}tes", "\u{200B}".repeat(1_000_000));
        assert_eq!(forbidden_key(padded.as_bytes()), Some("notes"));
        // a million significant characters: not a forbidden key, answered without normalizing them
        let long = "é".repeat(1_000_000);
        assert_eq!(forbidden_key(long.as_bytes()), None);
    }

    #[test]
    fn invalid_utf8_is_not_a_panic() {
        assert!(!is_forbidden_key(&[0xff, 0xfe, b'n']));
    }
}
