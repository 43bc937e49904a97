//! The drop guard's pure part (SPEC §9): does a `DROP EXTENSION` name this extension?
//!
//! The event trigger that reads the parse tree lives in `lib.rs` (`pilot_drop_guard_inspect`); it
//! only sets the session flag `pilot_guardrails.dropping_self`. Whether the pilot tables hold rows,
//! and whether the caller allowed data loss, is decided by PL/pgSQL
//! (`pilot_private.drop_guard_enforce`, in `sql/pilot_guardrails--0.1.0--0.2.0.sql`): Rust runs no SQL.

pub const EXTENSION_NAME: &str = "pilot_guardrails";

/// True when `names` (the objects of a `DROP EXTENSION`) include this extension.
pub fn drop_targets_us<'a>(names: impl IntoIterator<Item = &'a str>) -> bool {
    names.into_iter().any(|n| n == EXTENSION_NAME)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_this_extension_among_others() {
        assert!(drop_targets_us(["pilot_guardrails"]));
        assert!(drop_targets_us(["postgis", "pilot_guardrails"]));
        assert!(!drop_targets_us(["postgis"]));
        assert!(!drop_targets_us(["pilot_guardrails2", "PILOT_GUARDRAILS"]));
        assert!(!drop_targets_us([]));
    }
}
