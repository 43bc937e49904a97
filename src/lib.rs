//! pilot_guardrails: pilot instrumentation for a social-services directory on Supabase/PostgREST.
//!
//! The Rust side is pure logic — the payload validators, the privacy walk, the metric math — plus
//! this thin shell that hands PostgreSQL datums to it. Rust never runs SQL: every statement that
//! touches a relation lives in `sql/` (SPEC §7, `notes/pgrx-errors.md`), where PostgreSQL's own
//! SQLSTATEs and the `PTxxx` codes survive on their way to PostgREST.
//!
//! Where each rule of SPEC.md lives:
//! - §6 validation and privacy guard: `validate.rs`, `privacy.rs`, `issues.rs`, read from the
//!   binary `jsonb` by `jsonb.rs` (events in `events.rs`);
//! - §2 host contract, §3 tables, §4 policies, §5 hardened function, §7 recorders: `sql/*.sql`,
//!   in the order `extension_sql_file!` lists them below.

use pgrx::prelude::*;

/// `PG_FUNCTION_INFO_V1` for the hand-declared C entry points (shell below, bench.rs).
macro_rules! finfo_v1 {
    ($name:ident) => {
        #[unsafe(no_mangle)]
        #[doc(hidden)]
        pub extern "C" fn $name() -> &'static pgrx::pg_sys::Pg_finfo_record {
            const V1: pgrx::pg_sys::Pg_finfo_record =
                pgrx::pg_sys::Pg_finfo_record { api_version: 1 };
            &V1
        }
    };
}

#[cfg(feature = "bench")]
mod bench;
pub mod drop_guard;
pub mod events;
pub mod issues;
pub mod jsonb;
pub mod math;
pub mod privacy;
pub mod validate;

::pgrx::pg_module_magic!();

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
extension_sql_file!(
    "../sql/40_tables.sql",
    name = "tables",
    requires = ["kinds"]
);
extension_sql_file!(
    "../sql/50_policies.sql",
    name = "policies",
    requires = ["tables"]
);
extension_sql_file!(
    "../sql/60_admin.sql",
    name = "admin",
    requires = ["policies"]
);
extension_sql_file!(
    "../sql/70_recorders.sql",
    name = "recorders",
    requires = ["admin"]
);
extension_sql_file!(
    "../sql/80_scorecard.sql",
    name = "scorecard",
    requires = ["recorders"]
);
extension_sql_file!(
    "../sql/85_drop_guard.sql",
    name = "drop_guard",
    requires = ["scorecard"]
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

// ---------------------------------------------------------------------------------------------
// C entry points. They are declared by hand in `sql/10_rust_functions.sql` rather than through
// `#[pg_extern]`, because pgrx's `JsonB` argument re-parses the document through `serde_json`
// (128-level recursion limit, and slow): these read the detoasted `jsonb` bytes directly.

mod shell {
    use crate::{jsonb::JsonbReader, validate};
    use pgrx::pg_sys;
    use pgrx::prelude::*;

    /// The argument `n` (a non-null `jsonb`) as its detoasted bytes and its datum size.
    ///
    /// # Safety
    /// `fcinfo` must be a valid call whose argument `n` is a non-null `jsonb`. The returned slice
    /// lives in the current memory context, which outlives the call.
    unsafe fn jsonb_arg<'a>(fcinfo: pg_sys::FunctionCallInfo, n: usize) -> (&'a [u8], usize) {
        unsafe {
            let datum = pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, n);
            let varlena = pg_sys::pg_detoast_datum(datum.cast_mut_ptr());
            let len = pgrx::varsize_any_exhdr(varlena);
            let data = pgrx::vardata_any(varlena) as *const u8;
            (
                std::slice::from_raw_parts(data, len),
                pgrx::varsize_any(varlena),
            )
        }
    }

    /// The walks' interrupt check (SPEC §6): `statement_timeout` and cancellation stop them. A
    /// pending interrupt raises a PostgreSQL error, which unwinds through the walk to `#[pg_guard]`.
    fn interrupt() {
        pgrx::check_for_interrupts!();
    }

    fn malformed() -> ! {
        ereport!(
            PgLogLevel::ERROR,
            PgSqlErrorCode::ERRCODE_DATA_CORRUPTED,
            "pilot_guardrails: a jsonb value could not be read"
        );
        unreachable!()
    }

    /// The issue list as a `jsonb` datum, encoded directly in the binary format
    /// (`jsonb::encode_array_of_string_objects`): no text rendering, no `jsonb_in` re-parse.
    fn issues_jsonb(issues: &[crate::issues::Issue]) -> pg_sys::Datum {
        // jsonb key order: "code" and "path" (4 bytes, bytewise), then "message".
        let items: Vec<[(&str, &str); 3]> = issues
            .iter()
            .map(|i| {
                [
                    ("code", i.code),
                    ("path", i.path.as_str()),
                    ("message", i.message.as_str()),
                ]
            })
            .collect();
        let body = crate::jsonb::encode_array_of_string_objects(&items);
        let total = body.len() + 4;
        // SAFETY: palloc'd, fully written (header + body), handed to PostgreSQL as the result.
        unsafe {
            let ptr = pg_sys::palloc(total) as *mut u8;
            pgrx::set_varsize_4b(ptr as *mut pg_sys::varlena, total as i32);
            std::ptr::copy_nonoverlapping(body.as_ptr(), ptr.add(4), body.len());
            pg_sys::Datum::from(ptr)
        }
    }

    finfo_v1!(pg_finfo_pilot_validate);
    /// `pilot_validate(kind text, payload jsonb) returns jsonb` (STRICT): the payload's issues.
    #[pg_guard]
    #[unsafe(no_mangle)]
    pub unsafe extern "C-unwind" fn pilot_validate(
        fcinfo: pg_sys::FunctionCallInfo,
    ) -> pg_sys::Datum {
        unsafe {
            let kind_name: &str = pgrx::fcinfo::pg_getarg(fcinfo, 0)
                .expect("pilot_validate is STRICT: kind is not null");
            let Some(kind) = validate::kind(kind_name) else {
                ereport!(
                    PgLogLevel::ERROR,
                    PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                    "pilot_validate: unknown payload kind",
                    format!("valid kinds: {}", validate::kind_names())
                );
                unreachable!()
            };
            let (bytes, size) = jsonb_arg(fcinfo, 1);
            let mut reader = JsonbReader::new(bytes);
            let issues = validate::validate(kind, size, &mut reader, &mut interrupt);
            if reader.malformed {
                malformed();
            }
            issues_jsonb(&issues)
        }
    }

    finfo_v1!(pg_finfo_pilot_disallowed_key_paths);
    /// `pilot_disallowed_key_paths(payload jsonb) returns text[]` (STRICT): every forbidden key's path.
    #[pg_guard]
    #[unsafe(no_mangle)]
    pub unsafe extern "C-unwind" fn pilot_disallowed_key_paths(
        fcinfo: pg_sys::FunctionCallInfo,
    ) -> pg_sys::Datum {
        unsafe {
            let (bytes, _) = jsonb_arg(fcinfo, 0);
            let mut reader = JsonbReader::new(bytes);
            let paths = validate::disallowed_key_paths(&mut reader, &mut interrupt);
            if reader.malformed {
                malformed();
            }
            paths.into_datum().expect("an array datum")
        }
    }

    finfo_v1!(pg_finfo_pilot_percentiles);
    /// `pilot_private.percentiles(values int8[], ps int4[]) returns text[]` (STRICT): exact
    /// percentiles (src/math.rs) of the non-null values, one per p; null entries when no values.
    #[pg_guard]
    #[unsafe(no_mangle)]
    pub unsafe extern "C-unwind" fn pilot_percentiles(
        fcinfo: pg_sys::FunctionCallInfo,
    ) -> pg_sys::Datum {
        unsafe {
            let values: Vec<Option<i64>> = pgrx::fcinfo::pg_getarg(fcinfo, 0).unwrap_or_default();
            let ps: Vec<Option<i32>> = pgrx::fcinfo::pg_getarg(fcinfo, 1).unwrap_or_default();
            let mut values: Vec<i64> = values.into_iter().flatten().collect();
            let out: Vec<Option<String>> = ps
                .into_iter()
                .map(|p| {
                    p.and_then(|p| u32::try_from(p).ok())
                        .and_then(|p| crate::math::percentile(&mut values, p))
                })
                .collect();
            out.into_datum().expect("an array datum")
        }
    }

    finfo_v1!(pg_finfo_pilot_drop_guard_inspect);
    /// `pilot_private.drop_guard_inspect() returns event_trigger`, on `ddl_command_start` for
    /// `DROP EXTENSION`: reads the `DropStmt` in `EventTriggerData` and sets the transaction-local
    /// flag `pilot_guardrails.dropping_self` to `on` when this extension is among its objects, `off`
    /// otherwise. The enforcing trigger (PL/pgSQL, fired next by name order) acts on the flag.
    #[pg_guard]
    #[unsafe(no_mangle)]
    pub unsafe extern "C-unwind" fn pilot_drop_guard_inspect(
        fcinfo: pg_sys::FunctionCallInfo,
    ) -> pg_sys::Datum {
        unsafe {
            let context = (*fcinfo).context;
            if context.is_null() || !pgrx::is_a(context, pg_sys::NodeTag::T_EventTriggerData) {
                ereport!(
                    PgLogLevel::ERROR,
                    PgSqlErrorCode::ERRCODE_E_R_I_E_EVENT_TRIGGER_PROTOCOL_VIOLATED,
                    "pilot_private.drop_guard_inspect() is an event trigger function"
                );
            }
            let data = context as *mut pg_sys::EventTriggerData;
            let tree = (*data).parsetree;
            let mut names: Vec<String> = Vec::new();
            if !tree.is_null() && pgrx::is_a(tree, pg_sys::NodeTag::T_DropStmt) {
                let stmt = tree as *mut pg_sys::DropStmt;
                if (*stmt).removeType == pg_sys::ObjectType::OBJECT_EXTENSION {
                    let objects = pgrx::PgList::<pg_sys::Node>::from_pg((*stmt).objects);
                    for node in objects.iter_ptr() {
                        if !node.is_null() && pgrx::is_a(node, pg_sys::NodeTag::T_String) {
                            let s = (*(node as *mut pg_sys::String)).sval;
                            if !s.is_null() {
                                names.push(
                                    std::ffi::CStr::from_ptr(s).to_string_lossy().into_owned(),
                                );
                            }
                        }
                    }
                }
            }
            let flag = if crate::drop_guard::drop_targets_us(names.iter().map(String::as_str)) {
                c"on"
            } else {
                c"off"
            };
            pg_sys::set_config_option(
                c"pilot_guardrails.dropping_self".as_ptr(),
                flag.as_ptr(),
                pg_sys::GucContext::PGC_USERSET,
                pg_sys::GucSource::PGC_S_SESSION,
                pg_sys::GucAction::GUC_ACTION_LOCAL,
                true,
                0,
                false,
            );
            pg_sys::Datum::from(0)
        }
    }
}

#[cfg(any(test, feature = "pg_test"))]
mod pg_tests;

/// Required by `cargo pgrx test`.
#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec![]
    }
}
