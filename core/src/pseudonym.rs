//! Keyed pseudonyms (SPEC §14): `entity_key_hash` is stored as `k1:` and the HMAC-SHA-256, under
//! a 32-byte secret key of the database, of the lower-case SHA-256 hex the client sent.
//!
//! A plain SHA-256 of a phone number is reversed by hashing every 10-digit number; keyed with a
//! secret the data does not contain, it is not. Equal client hashes give equal stored values, so
//! M5 (repeat failures per entity) is unchanged.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The prefix of a keyed value: version 1 of the scheme.
pub const PREFIX: &str = "k1:";

/// `k1:` and 64 lower-case hex digits: HMAC-SHA-256(key, the lower-cased `client_hash`).
pub fn keyed(key: &[u8], client_hash: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(client_hash.to_ascii_lowercase().as_bytes());
    let digest = mac.finalize().into_bytes();
    let mut out = String::with_capacity(PREFIX.len() + 64);
    out.push_str(PREFIX);
    push_hex(&mut out, &digest);
    out
}

/// Appends `bytes` to `out` as lower-case hex digits.
pub(crate) fn push_hex(out: &mut String, bytes: &[u8]) {
    for &b in bytes {
        out.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        out.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
    }
}

/// Whether `value` is already in the keyed form.
pub fn is_keyed(value: &str) -> bool {
    value.len() == PREFIX.len() + 64
        && value.starts_with(PREFIX)
        && value[PREFIX.len()..]
            .bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_4231_test_case_2() {
        // HMAC-SHA-256 of "what do ya want for nothing?" under the key "Jefe".
        assert_eq!(
            keyed(b"Jefe", "what do ya want for nothing?"),
            "k1:5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn equal_hashes_in_any_case_give_equal_values_and_keys_matter() {
        let h = "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08";
        let key = [7u8; 32];
        assert_eq!(keyed(&key, h), keyed(&key, &h.to_ascii_lowercase()));
        assert_ne!(keyed(&key, h), keyed(&[8u8; 32], h));
        assert!(is_keyed(&keyed(&key, h)));
        assert!(!is_keyed(&h.to_ascii_lowercase()));
        assert!(!is_keyed(&keyed(&key, h).to_ascii_uppercase()));
    }
}
