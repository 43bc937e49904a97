//! pilot_guardrails: pilot instrumentation for a social-services directory on Supabase/PostgREST.
//!
//! The Rust side is pure logic — the payload validators, the privacy walk, the metric math — in the
//! pgrx-free crate `pilot_guardrails_core` (`core/`), plus this thin shell that hands PostgreSQL
//! datums to it (`ffi.rs`, the C entry points). Rust never runs SQL: every statement that
//! touches a relation lives in `sql/` (SPEC §7, `notes/pgrx-errors.md`), where PostgreSQL's own
//! SQLSTATEs and the `PTxxx` codes survive on their way to PostgREST.
//!
//! Where each rule of SPEC.md lives:
//! - §6 validation and privacy guard: `core/src/validate/`, `core/src/privacy.rs`,
//!   `core/src/issues.rs`, read from the binary `jsonb` by `core/src/jsonb.rs`;
//! - §2 host contract, §3 tables, §4 policies, §5 hardened function, §7 recorders: `sql/*.sql`,
//!   in the order `extension_sql_file!` lists them below.

use pgrx::prelude::*;

mod ffi;
#[cfg(any(test, feature = "pg_test"))]
mod pg_tests;

::pgrx::pg_module_magic!();

/// Loaded into a backend: no Rust backtrace may ever reach a client. pgrx's panic hook captures
/// one (`std::backtrace::Backtrace::capture`) for every PostgreSQL error that unwinds through Rust —
/// `statement_timeout` firing in a walk's interrupt check is one — and puts it in the error's
/// DETAIL whenever the server runs with `RUST_BACKTRACE` set. `RUST_LIB_BACKTRACE=0` takes
/// precedence over `RUST_BACKTRACE` for library captures only (panic messages in the server log
/// keep theirs), and the standard library reads it at the first capture in this process.
#[pg_guard]
pub extern "C-unwind" fn _PG_init() {
    // A backend is single-threaded, and nothing else reads the environment while this runs.
    std::env::set_var("RUST_LIB_BACKTRACE", "0");
    // SAFETY: _PG_init runs once per backend, in the backend's thread; the callback stays valid for
    // the life of the process (PostgreSQL never unloads a library); a backend has room for ten
    // relcache callbacks (MAX_RELCACHE_CALLBACKS) and this is this library's only one.
    unsafe {
        pg_sys::CacheRegisterRelcacheCallback(
            Some(ffi::rate_limit_relcache_callback),
            pg_sys::Datum::from(0),
        )
    };
}

// ---------------------------------------------------------------------------------------------
// Install script: the hand-written SQL, one concern per file, in dependency order. These files
// describe the current version; released versions are frozen in sql/releases/, and an installed
// older version reaches this one through the upgrade deltas sql/pilot_guardrails--A--B.sql.

extension_sql_file!("../sql/00_bootstrap.sql", name = "bootstrap", bootstrap);
extension_sql_file!(
    "../sql/10_rust_functions.sql",
    name = "rust_functions",
    requires = ["bootstrap"]
);
extension_sql_file!(
    "../sql/20_identity.sql",
    name = "identity",
    requires = ["rust_functions"]
);
extension_sql_file!(
    "../sql/30_host_bootstrap.sql",
    name = "host_bootstrap",
    requires = ["identity"]
);
extension_sql_file!(
    "../sql/35_kinds.sql",
    name = "kinds",
    requires = ["host_bootstrap"]
);
extension_sql_file!("../sql/37_codes.sql", name = "codes", requires = ["kinds"]);
extension_sql_file!(
    "../sql/38_cycles.sql",
    name = "cycles",
    requires = ["codes"]
);
extension_sql_file!(
    "../sql/40_tables.sql",
    name = "tables",
    requires = ["cycles"]
);
extension_sql_file!("../sql/41_audit.sql", name = "audit", requires = ["tables"]);
extension_sql_file!(
    "../sql/42_settings.sql",
    name = "settings",
    requires = ["audit"]
);
extension_sql_file!(
    "../sql/50_policies.sql",
    name = "policies",
    requires = ["settings"]
);
extension_sql_file!(
    "../sql/60_admin.sql",
    name = "admin",
    requires = ["policies"]
);
extension_sql_file!(
    "../sql/65_rate_limit.sql",
    name = "rate_limit",
    requires = ["admin"]
);
extension_sql_file!(
    "../sql/66_idempotency.sql",
    name = "idempotency",
    requires = ["rate_limit"]
);
extension_sql_file!(
    "../sql/70_recorders.sql",
    name = "recorders",
    requires = ["idempotency"]
);
extension_sql_file!(
    "../sql/78_suppression.sql",
    name = "suppression",
    requires = ["recorders"]
);
extension_sql_file!(
    "../sql/79_scorecard_counts.sql",
    name = "scorecard_counts",
    requires = ["suppression"]
);
extension_sql_file!(
    "../sql/80_scorecard.sql",
    name = "scorecard",
    requires = ["scorecard_counts"]
);
extension_sql_file!(
    "../sql/82_scorecard_page.sql",
    name = "scorecard_page",
    requires = ["scorecard"]
);
extension_sql_file!(
    "../sql/83_cycle_scorecard.sql",
    name = "cycle_scorecard",
    requires = ["scorecard_page"]
);
extension_sql_file!(
    "../sql/84_retention.sql",
    name = "retention",
    requires = ["cycle_scorecard"]
);
extension_sql_file!(
    "../sql/85_drop_guard.sql",
    name = "drop_guard",
    requires = ["retention"]
);
extension_sql_file!(
    "../sql/88_verify.sql",
    name = "verify",
    requires = ["drop_guard"]
);
// Privileges are always the last step (SPEC §2): every object above exists by then.
extension_sql_file!(
    "../sql/90_grants.sql",
    name = "grants",
    requires = ["verify"],
    finalize
);

/// Required by `cargo pgrx test`.
#[cfg(test)]
pub(crate) mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec![]
    }
}
