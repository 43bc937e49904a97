//! The caller's user id from PostgREST's `request.jwt.claims` (SPEC §2): the top-level `sub` claim
//! when it is a uuid, as Supabase's `auth.uid()` reads it. Anything else — no claims, claims that
//! are not a JSON object, a `sub` that is not a uuid — is "not signed in" (None), never an error:
//! the SQL version this replaces needed an exception block, that is a subtransaction on every call.

/// The uuid of the top-level `sub` claim, as 16 bytes. A repeated key counts by its last value, as
/// in `jsonb`; a document too deep for `serde_json`'s default limit is not a JWT's and gives None.
pub fn subject(claims: &str) -> Option<[u8; 16]> {
    let value: serde_json::Value = serde_json::from_str(claims).ok()?;
    parse_uuid(value.as_object()?.get("sub")?.as_str()?)
}

/// 8-4-4-4-12 hexadecimal digits, either case.
pub fn parse_uuid(s: &str) -> Option<[u8; 16]> {
    let b = s.as_bytes();
    if b.len() != 36 || [8, 13, 18, 23].iter().any(|&i| b[i] != b'-') {
        return None;
    }
    let mut out = [0u8; 16];
    let mut n = 0;
    let mut hi: Option<u8> = None;
    for (i, &c) in b.iter().enumerate() {
        if matches!(i, 8 | 13 | 18 | 23) {
            continue;
        }
        let d = (c as char).to_digit(16)? as u8;
        match hi.take() {
            None => hi = Some(d),
            Some(h) => {
                out[n] = h << 4 | d;
                n += 1;
            }
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sub_claim_when_it_is_a_uuid() {
        let id =
            subject(r#"{"role": "authenticated", "sub": "22222222-2222-4222-8222-22222222222A"}"#)
                .unwrap();
        assert_eq!(id[0], 0x22);
        assert_eq!(id[15], 0x2a);
        assert_eq!(
            subject(r#"{"sub": "a", "sub": "11111111-1111-4111-8111-111111111111"}"#).map(|b| b[0]),
            Some(0x11)
        );
    }

    #[test]
    fn anything_else_is_not_signed_in() {
        for claims in [
            "",
            "not json",
            r#"{"role": "anon"}"#,
            r#"{"sub": 42}"#,
            r#"{"sub": "not-a-uuid"}"#,
            r#"{"sub": "22222222-2222-4222-8222-2222222222222"}"#,
            r#"{"sub": "2222222g-2222-4222-8222-222222222222"}"#,
            r#"{"user_metadata": {"sub": "22222222-2222-4222-8222-222222222222"}}"#,
            r#"["sub", "22222222-2222-4222-8222-222222222222"]"#,
        ] {
            assert_eq!(subject(claims), None, "{claims}");
        }
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert_eq!(subject(&deep), None);
    }
}
