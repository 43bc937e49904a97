//! The `Idempotency-Key` request header (SPEC §10.2), read from PostgREST's `request.headers`
//! setting: a JSON object of the request's headers, names lower-cased (postgrest-contract.md). SQL
//! callers set the same setting. Read here, without SQL: the recorders ask once per call, and the
//! PL/pgSQL version (a `jsonb` cast and two regular expressions) cost more than the rest of the
//! claim. The request's digest, which tells a replay from another request under the same key, is
//! made here too: SHA-256 in Rust (PostgreSQL's `sha256()` goes through OpenSSL's EVP set-up on
//! every call, and needs the text converted to `bytea` and the result to hex).

use sha2::{Digest, Sha256};

/// Why a header cannot be used. The messages name the header or the setting, never a value.
#[derive(Debug, PartialEq, Eq)]
pub enum HeaderError {
    /// The setting is not JSON (PostgREST always sets JSON; a SQL caller may not).
    NotJson,
    /// The header is not 1–255 characters of `[A-Za-z0-9._:-]`, optionally in one pair of double
    /// quotes (the IETF draft's structured-field string), or not a string at all.
    Malformed,
}

impl HeaderError {
    pub fn message(&self) -> &'static str {
        match self {
            HeaderError::NotJson => "request.headers: must be a JSON object of the request's headers",
            HeaderError::Malformed => {
                "Idempotency-Key header: must be 1 to 255 characters of A-Z, a-z, 0-9, \".\", \"_\", \":\", \"-\", optionally in double quotes"
            }
        }
    }
}

/// The key of the `idempotency-key` header, quotes stripped; None when the setting is empty, is
/// not an object, or has no such header (or a JSON null). A repeated name counts by its last
/// value, as in `jsonb`.
pub fn idempotency_key(headers: &str) -> Result<Option<String>, HeaderError> {
    if headers.is_empty() {
        return Ok(None);
    }
    let value: serde_json::Value =
        serde_json::from_str(headers).map_err(|_| HeaderError::NotJson)?;
    let Some(found) = value.as_object().and_then(|o| o.get("idempotency-key")) else {
        return Ok(None);
    };
    match found {
        serde_json::Value::Null => Ok(None),
        serde_json::Value::String(k) => {
            let inner = match k.strip_prefix('"').and_then(|k| k.strip_suffix('"')) {
                Some(inner) => inner,
                None => k.as_str(),
            };
            if (1..=255).contains(&inner.len())
                && inner
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
            {
                Ok(Some(inner.to_string()))
            } else {
                Err(HeaderError::Malformed)
            }
        }
        _ => Err(HeaderError::Malformed),
    }
}

/// The digest of a request as the idempotency claim keeps it: the SHA-256 of `request` (the
/// recorder's payload text and its other arguments), 64 lower-case hex digits.
pub fn request_digest(request: &[u8]) -> String {
    let mut out = String::with_capacity(64);
    crate::pseudonym::push_hex(&mut out, &Sha256::digest(request));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_digest_is_sha256_hex() {
        // FIPS 180-2's examples: SHA-256 of "abc" and of the empty string.
        assert_eq!(
            request_digest(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            request_digest(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn keys() {
        assert_eq!(idempotency_key(""), Ok(None));
        assert_eq!(idempotency_key("{}"), Ok(None));
        assert_eq!(idempotency_key("[1]"), Ok(None));
        assert_eq!(idempotency_key(r#"{"idempotency-key": null}"#), Ok(None));
        assert_eq!(idempotency_key(r#"{"Idempotency-Key": "a"}"#), Ok(None));
        assert_eq!(
            idempotency_key(r#"{"idempotency-key": "ab-1.2_3:4"}"#),
            Ok(Some("ab-1.2_3:4".into()))
        );
        assert_eq!(
            idempotency_key(r#"{"idempotency-key": "\"q\""}"#),
            Ok(Some("q".into()))
        );
        assert_eq!(
            idempotency_key(r#"{"idempotency-key": "a", "idempotency-key": "b"}"#),
            Ok(Some("b".into()))
        );
        let max = "k".repeat(255);
        assert_eq!(
            idempotency_key(&format!(r#"{{"idempotency-key": "{max}"}}"#)),
            Ok(Some(max.clone()))
        );
        assert_eq!(
            idempotency_key(&format!(r#"{{"idempotency-key": "\"{max}\""}}"#)),
            Ok(Some(max))
        );
    }

    #[test]
    fn refused() {
        for bad in [
            r#"{"idempotency-key": ""}"#,
            r#"{"idempotency-key": "\"\""}"#,
            r#"{"idempotency-key": "\""}"#,
            r#"{"idempotency-key": "a b"}"#,
            r#"{"idempotency-key": "é"}"#,
            r#"{"idempotency-key": "\"a"}"#,
            r#"{"idempotency-key": "a\n"}"#,
            r#"{"idempotency-key": 12}"#,
            r#"{"idempotency-key": ["a"]}"#,
        ] {
            assert_eq!(idempotency_key(bad), Err(HeaderError::Malformed), "{bad}");
        }
        assert_eq!(
            idempotency_key(&format!(r#"{{"idempotency-key": "{}"}}"#, "k".repeat(256))),
            Err(HeaderError::Malformed)
        );
        assert_eq!(idempotency_key("{"), Err(HeaderError::NotJson));
    }
}
