//! The C entry points: the functions `sql/10_rust_functions.sql` and `sql/85_drop_guard.sql`
//! declare by hand (`LANGUAGE c`), and nothing else of the extension touches a raw pointer.
//!
//! Why by hand rather than `#[pg_extern]`: pgrx's `JsonB` argument prints the datum to text and
//! re-parses it through `serde_json` (a 128-level recursion limit, and slow); these read the
//! detoasted `jsonb` bytes directly (`pilot_guardrails_core::jsonb`).
//!
//! What every entry point may rely on, from PostgreSQL's version-1 calling convention and the SQL
//! declarations (which the frozen release scripts keep stable):
//! - `fcinfo` is the valid call frame of this call, with exactly the declared arguments;
//! - each function is declared `STRICT` (so PostgreSQL never calls it with a null argument) unless
//!   its comment says otherwise;
//! - memory palloc'd here lives in the current memory context, which outlives the call.

use pgrx::pg_sys;
use pgrx::prelude::*;
use pilot_guardrails_core::issues::Issue;
use pilot_guardrails_core::jsonb::{encode_array_of_string_objects, JsonbReader};
use pilot_guardrails_core::{
    claims, drop_guard, headers, host, math, page, pseudonym, suppression, validate,
};

/// One version-1 C function: its `pg_finfo_<name>` record (PostgreSQL's `PG_FUNCTION_INFO_V1`)
/// and the function itself, exported unmangled and guarded (`#[pg_guard]`: a Rust panic becomes a
/// PostgreSQL error, a PostgreSQL error unwinds through Rust frames).
macro_rules! c_function {
    ($(#[$doc:meta])* $finfo:ident, fn $name:ident($fcinfo:ident) $body:block) => {
        #[unsafe(no_mangle)]
        #[doc(hidden)]
        pub extern "C" fn $finfo() -> &'static pg_sys::Pg_finfo_record {
            const V1: pg_sys::Pg_finfo_record = pg_sys::Pg_finfo_record { api_version: 1 };
            &V1
        }

        $(#[$doc])*
        ///
        /// # Safety
        /// Called by PostgreSQL's function manager only, as this module's invariants say.
        #[pg_guard]
        #[unsafe(no_mangle)]
        pub unsafe extern "C-unwind" fn $name(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
            // The body as a plain (safe) function: each unsafe operation in it has its own block.
            fn body($fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum $body
            body(fcinfo)
        }
    };
}

/// The argument `n`, a non-null `jsonb`, as its detoasted bytes (without the varlena header) and
/// the datum's size in bytes.
///
/// # Safety
/// `fcinfo` is a valid call frame whose argument `n` is a non-null `jsonb`.
unsafe fn jsonb_arg<'a>(fcinfo: pg_sys::FunctionCallInfo, n: usize) -> (&'a [u8], usize) {
    // SAFETY: the caller guarantees a valid frame with a non-null argument `n`.
    let datum = unsafe { pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, n) };
    // SAFETY: a non-null jsonb datum is a varlena; pg_detoast_datum returns it, or a palloc'd
    // detoasted copy, in the current memory context.
    let varlena = unsafe { pg_sys::pg_detoast_datum(datum.cast_mut_ptr()) };
    // SAFETY: `varlena` is a detoasted (untoasted, possibly short-header) varlena.
    let (data, len, size) = unsafe {
        (
            pgrx::vardata_any(varlena) as *const u8,
            pgrx::varsize_any_exhdr(varlena),
            pgrx::varsize_any(varlena),
        )
    };
    // SAFETY: `data` points at `len` initialised bytes that live as long as the memory context,
    // which outlives this call.
    (unsafe { std::slice::from_raw_parts(data, len) }, size)
}

/// The walks' interrupt check (SPEC §6): `statement_timeout` and cancellation stop them. A pending
/// interrupt raises a PostgreSQL error, which unwinds through the walk to `#[pg_guard]`.
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

/// The issue list as a `jsonb` datum, encoded directly in the binary format: no text rendering,
/// no `jsonb_in` re-parse.
fn issues_jsonb(issues: &[Issue]) -> pg_sys::Datum {
    // jsonb key order: "code" and "path" (4 bytes, bytewise), then "message".
    let items: Vec<[(&str, &str); 3]> = issues
        .iter()
        .map(|i| {
            [
                ("code", i.code.as_str()),
                ("path", i.path.as_str()),
                ("message", i.message.as_str()),
            ]
        })
        .collect();
    let body = encode_array_of_string_objects(&items);
    let total = body.len() + 4;
    // SAFETY: palloc returns `total` writable bytes in the current memory context (or raises an
    // error); the 4-byte varlena header and then the body fill them completely before the pointer
    // is handed to PostgreSQL as the result.
    unsafe {
        let ptr = pg_sys::palloc(total) as *mut u8;
        pgrx::set_varsize_4b(ptr as *mut pg_sys::varlena, total as i32);
        std::ptr::copy_nonoverlapping(body.as_ptr(), ptr.add(4), body.len());
        pg_sys::Datum::from(ptr)
    }
}

c_function!(
    /// `pilot_validate(kind text, payload jsonb) returns jsonb` (STRICT): the payload's issues.
    pg_finfo_pilot_validate,
    fn pilot_validate(fcinfo) {
        // SAFETY: argument 0 is declared `text` and is not null (STRICT).
        let kind_name: Option<&str> = unsafe { pgrx::fcinfo::pg_getarg(fcinfo, 0) };
        let Some(kind) = kind_name.and_then(validate::kind) else {
            ereport!(
                PgLogLevel::ERROR,
                PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                "pilot_validate: unknown payload kind",
                format!("valid kinds: {}", validate::kind_names())
            );
            unreachable!()
        };
        // SAFETY: argument 1 is declared `jsonb` and is not null (STRICT).
        let (bytes, size) = unsafe { jsonb_arg(fcinfo, 1) };
        let mut reader = JsonbReader::new(bytes);
        let issues = validate::validate(kind, size, &mut reader, &mut interrupt);
        if reader.malformed {
            malformed();
        }
        issues_jsonb(&issues)
    }
);

c_function!(
    /// `pilot_disallowed_key_paths(payload jsonb) returns text[]` (STRICT): every forbidden key's path.
    pg_finfo_pilot_disallowed_key_paths,
    fn pilot_disallowed_key_paths(fcinfo) {
        // SAFETY: argument 0 is declared `jsonb` and is not null (STRICT).
        let (bytes, _) = unsafe { jsonb_arg(fcinfo, 0) };
        let mut reader = JsonbReader::new(bytes);
        let paths = validate::disallowed_key_paths(&mut reader, &mut interrupt);
        if reader.malformed {
            malformed();
        }
        paths.into_datum().expect("an array datum")
    }
);

c_function!(
    /// `pilot_private.percentiles(values int8[], ps int4[]) returns text[]` (STRICT): exact
    /// percentiles (`core/src/math.rs`) of the non-null values, one per p; null entries when there
    /// are no values.
    pg_finfo_pilot_percentiles,
    fn pilot_percentiles(fcinfo) {
        // SAFETY: argument 0 is declared `int8[]` and is not null (STRICT).
        let values: Option<Vec<Option<i64>>> = unsafe { pgrx::fcinfo::pg_getarg(fcinfo, 0) };
        // SAFETY: argument 1 is declared `int4[]` and is not null (STRICT).
        let ps: Option<Vec<Option<i32>>> = unsafe { pgrx::fcinfo::pg_getarg(fcinfo, 1) };
        let mut values: Vec<i64> = values.unwrap_or_default().into_iter().flatten().collect();
        let out: Vec<Option<String>> = ps
            .unwrap_or_default()
            .into_iter()
            .map(|p| {
                p.and_then(|p| u32::try_from(p).ok())
                    .and_then(|p| math::percentile(&mut values, p))
            })
            .collect();
        out.into_datum().expect("an array datum")
    }
);

/// `f` of the bytes of a setting (PostgREST's `request.*`), or of None when it is not set.
fn with_setting_bytes<R>(name: &std::ffi::CStr, f: impl FnOnce(Option<&[u8]>) -> R) -> R {
    // SAFETY: a NUL-terminated name; with missing_ok the result is null or a NUL-terminated
    // string owned by the GUC machinery, valid until the setting changes — `f` reads it before
    // anything else runs, and keeps nothing of it but copies.
    let raw = unsafe { pg_sys::GetConfigOption(name.as_ptr(), true, false) };
    if raw.is_null() {
        return f(None);
    }
    // SAFETY: see above; a non-null value is a valid C string.
    f(Some(unsafe { std::ffi::CStr::from_ptr(raw) }.to_bytes()))
}

/// `f` of the text of a setting (invalid UTF-8 replaced), or of None when it is not set.
fn with_setting<R>(name: &std::ffi::CStr, f: impl FnOnce(Option<&str>) -> R) -> R {
    with_setting_bytes(name, |bytes| {
        f(bytes.map(String::from_utf8_lossy).as_deref())
    })
}

/// Claims texts up to this size are remembered with their subject (below); a longer one is parsed
/// on every call and not kept.
const CLAIMS_REMEMBERED_MAX: usize = 16 * 1024;

/// A claims text, as the setting held it, and the subject parsed from it.
type RememberedClaims = (Vec<u8>, Option<[u8; 16]>);

thread_local! {
    // The last claims text read (its bytes, as the setting holds them) and its subject: a recorder
    // call asks for the caller's id about ten times (uid(), and the caller key of every cached
    // answer) while the setting stays the same, and parsing it as JSON each time was about 1.4 %
    // of the call's instructions (callgrind). Compared byte for byte on every call, so a changed
    // setting is always parsed again.
    static CLAIMS: std::cell::RefCell<Option<RememberedClaims>> =
        const { std::cell::RefCell::new(None) };
}

/// The uuid of the `sub` claim of `request.jwt.claims`, or None (core/src/claims.rs).
fn claims_subject() -> Option<[u8; 16]> {
    with_setting_bytes(c"request.jwt.claims", |bytes| {
        let bytes = bytes?;
        CLAIMS.with(|cell| {
            if let Some((text, subject)) = cell.borrow().as_ref() {
                if text.as_slice() == bytes {
                    return *subject;
                }
            }
            let subject = claims::subject(&String::from_utf8_lossy(bytes));
            *cell.borrow_mut() =
                (bytes.len() <= CLAIMS_REMEMBERED_MAX).then(|| (bytes.to_vec(), subject));
            subject
        })
    })
}

c_function!(
    /// `pilot_private.uid() returns uuid` (no arguments, STABLE): the caller's user id, the uuid of
    /// the `sub` claim of `request.jwt.claims`; null when not signed in (core/src/claims.rs). Reads
    /// the setting itself: no SQL, no exception block, so no subtransaction on every call.
    pg_finfo_pilot_uid,
    fn pilot_uid(fcinfo) {
        match claims_subject() {
            Some(bytes) => pgrx::Uuid::from_bytes(bytes).into_datum().expect("a uuid datum"),
            // SAFETY: `fcinfo` is the valid call frame of this call.
            None => unsafe { pgrx::fcinfo::pg_return_null(fcinfo) },
        }
    }
);

// ---------------------------------------------------------------------------------------------
// The caller's admin flag and organizations, looked up once per statement (sql/20_identity.sql:
// is_admin() and member_orgs() read the host tables on a miss and remember what they read here).
// A recorder call asks them up to nine times — its own check, the idempotency claim's re-check, the
// policies of its INSERT and of the RETURNING — and each answer is the same within one statement.

/// "This statement of this caller": the backend's local transaction id (new for every
/// transaction, also inside a procedure that commits), the statement's start time (set for every
/// statement a client sends) and the uid of the claims, which a session may change at any time.
#[derive(Clone, Copy, PartialEq, Eq)]
struct CallerKey {
    lxid: u32,
    statement_start: i64,
    uid: [u8; 16],
}

/// What is remembered for one key: the admin flag, and the organizations (all, and those where the
/// caller writes) as the bytes of the `uuid[]` datums member_orgs() computed.
struct CallerEntry {
    key: CallerKey,
    admin: Option<bool>,
    orgs: Option<(Vec<u8>, Vec<u8>)>,
}

thread_local! {
    // A backend is one thread; the entry of the last statement only.
    static CALLER: std::cell::RefCell<Option<CallerEntry>> = const { std::cell::RefCell::new(None) };
}

/// The key of the running statement, or None when not signed in (nothing is remembered then).
fn caller_key() -> Option<CallerKey> {
    let uid = claims_subject()?;
    // SAFETY: MyProc is this backend's PGPROC, set up before any SQL runs; checked for null anyway.
    let lxid = unsafe {
        let proc_ = pg_sys::MyProc;
        if proc_.is_null() {
            return None;
        }
        #[cfg(any(feature = "pg15", feature = "pg16"))]
        let lxid = (*proc_).lxid;
        #[cfg(any(feature = "pg17", feature = "pg18"))]
        let lxid = (*proc_).vxid.lxid;
        lxid
    };
    // SAFETY: reads a backend-local timestamp.
    let statement_start = unsafe { pg_sys::GetCurrentStatementStartTimestamp() };
    Some(CallerKey {
        lxid,
        statement_start,
        uid,
    })
}

/// The entry for the running statement and caller (a stale one is dropped first).
fn with_entry<R>(f: impl FnOnce(&mut CallerEntry) -> R) -> Option<R> {
    caller_key().and_then(|key| with_entry_of(key, f))
}

/// The entry for `key` (a stale one is dropped first).
fn with_entry_of<R>(key: CallerKey, f: impl FnOnce(&mut CallerEntry) -> R) -> Option<R> {
    CALLER.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.as_ref().is_none_or(|e| e.key != key) {
            *slot = Some(CallerEntry {
                key,
                admin: None,
                orgs: None,
            });
        }
        slot.as_mut().map(f)
    })
}

/// `f` of the running statement's entry, when `me` (argument 0) names its caller; else nothing.
///
/// # Safety
/// `fcinfo` is a valid call frame whose argument 0 is a non-null `uuid`.
unsafe fn remember_for_caller(fcinfo: pg_sys::FunctionCallInfo, f: impl FnOnce(&mut CallerEntry)) {
    // SAFETY: the caller guarantees argument 0 is a non-null uuid.
    let me: Option<pgrx::Uuid> = unsafe { pgrx::fcinfo::pg_getarg(fcinfo, 0) };
    if let Some(key) = caller_key().filter(|k| me.is_some_and(|u| *u.as_bytes() == k.uid)) {
        with_entry_of(key, f);
    }
}

/// The bytes of the non-null varlena argument `n` (header included).
///
/// # Safety
/// `fcinfo` is a valid call frame whose argument `n` is a non-null varlena.
unsafe fn varlena_arg_bytes(fcinfo: pg_sys::FunctionCallInfo, n: usize) -> Vec<u8> {
    // SAFETY: the caller guarantees a valid frame with a non-null varlena argument `n`;
    // pg_detoast_datum returns it, or a palloc'd detoasted copy.
    unsafe {
        let datum = pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, n);
        let varlena = pg_sys::pg_detoast_datum(datum.cast_mut_ptr());
        std::slice::from_raw_parts(varlena as *const u8, pgrx::varsize_any(varlena)).to_vec()
    }
}

/// A copy of remembered varlena bytes as a datum in the current memory context.
fn varlena_datum(bytes: &[u8]) -> pg_sys::Datum {
    // SAFETY: palloc returns `bytes.len()` writable bytes (or raises an error), filled completely
    // with a varlena that was valid when it was remembered.
    unsafe {
        let ptr = pg_sys::palloc(bytes.len()) as *mut u8;
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), ptr, bytes.len());
        pg_sys::Datum::from(ptr)
    }
}

c_function!(
    /// `pilot_private.cached_is_admin() returns boolean` (no arguments, STABLE): what
    /// is_admin() remembered for this statement and caller; null when nothing is.
    pg_finfo_pilot_cached_is_admin,
    fn pilot_cached_is_admin(fcinfo) {
        match with_entry(|e| e.admin).flatten() {
            Some(admin) => admin.into_datum().expect("a boolean datum"),
            // SAFETY: `fcinfo` is the valid call frame of this call.
            None => unsafe { pgrx::fcinfo::pg_return_null(fcinfo) },
        }
    }
);

c_function!(
    /// `pilot_private.remember_is_admin(me uuid, admin boolean) returns void` (STRICT, VOLATILE,
    /// owner only): is_admin()'s answer for `me`, kept for the rest of the statement — only when
    /// `me` is still the caller.
    pg_finfo_pilot_remember_is_admin,
    fn pilot_remember_is_admin(fcinfo) {
        // SAFETY: STRICT: argument 0 is a non-null uuid, argument 1 a non-null boolean.
        let admin: Option<bool> = unsafe { pgrx::fcinfo::pg_getarg(fcinfo, 1) };
        // SAFETY: as above.
        unsafe { remember_for_caller(fcinfo, |e| e.admin = admin) };
        pg_sys::Datum::from(0)
    }
);

c_function!(
    /// `pilot_private.cached_member_orgs(writers_only boolean) returns uuid[]` (STRICT, STABLE):
    /// what member_orgs() remembered for this statement and caller; null when
    /// nothing is.
    pg_finfo_pilot_cached_member_orgs,
    fn pilot_cached_member_orgs(fcinfo) {
        // SAFETY: STRICT: argument 0 is a non-null boolean.
        let writers_only: bool = unsafe { pgrx::fcinfo::pg_getarg(fcinfo, 0) }.unwrap_or(false);
        let orgs = with_entry(|e| {
            e.orgs
                .as_ref()
                .map(|(all, writers)| varlena_datum(if writers_only { writers } else { all }))
        })
        .flatten();
        match orgs {
            Some(datum) => datum,
            // SAFETY: `fcinfo` is the valid call frame of this call.
            None => unsafe { pgrx::fcinfo::pg_return_null(fcinfo) },
        }
    }
);

c_function!(
    /// `pilot_private.remember_member_orgs(me uuid, orgs uuid[], writer_orgs uuid[]) returns void`
    /// (STRICT, VOLATILE, owner only): member_orgs()'s answers for `me`, kept for the rest of the
    /// statement — only when `me` is still the caller.
    pg_finfo_pilot_remember_member_orgs,
    fn pilot_remember_member_orgs(fcinfo) {
        // SAFETY: STRICT: argument 0 is a non-null uuid, arguments 1 and 2 non-null uuid[].
        unsafe {
            remember_for_caller(fcinfo, |e| {
                e.orgs = Some((varlena_arg_bytes(fcinfo, 1), varlena_arg_bytes(fcinfo, 2)))
            })
        };
        pg_sys::Datum::from(0)
    }
);

c_function!(
    /// `pilot_private.request_idempotency_key() returns text` (no arguments, STABLE): the
    /// Idempotency-Key header of `request.headers`, quotes stripped; null when absent; 22023 naming
    /// the header (or the setting) when malformed (core/src/headers.rs).
    pg_finfo_pilot_request_idempotency_key,
    fn pilot_request_idempotency_key(fcinfo) {
        match with_setting(c"request.headers", |h| headers::idempotency_key(h.unwrap_or(""))) {
            Ok(Some(key)) => key.into_datum().expect("a text datum"),
            // SAFETY: `fcinfo` is the valid call frame of this call.
            Ok(None) => unsafe { pgrx::fcinfo::pg_return_null(fcinfo) },
            Err(e) => {
                ereport!(PgLogLevel::ERROR, PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, e.message());
                unreachable!()
            }
        }
    }
);

c_function!(
    /// `pilot_private.request_digest(request text) returns text` (STRICT, IMMUTABLE): the SHA-256
    /// of the request's text in lower-case hex, as the idempotency claim keeps it (SPEC §10.2;
    /// core/src/headers.rs).
    pg_finfo_pilot_request_digest,
    fn pilot_request_digest(fcinfo) {
        // SAFETY: argument 0 is declared text, a varlena read as its bytes, and is not null (STRICT).
        let request: Option<&[u8]> = unsafe { pgrx::fcinfo::pg_getarg(fcinfo, 0) };
        headers::request_digest(request.unwrap_or_default())
            .into_datum()
            .expect("a text datum")
    }
);

// ---------------------------------------------------------------------------------------------
// The rate limit's setting (sql/65_rate_limit.sql), remembered in the backend until
// pilot_private.settings changes: every recorder call of a signed-in user needs it, and with the
// limit off (0) the recorder then skips count_recorder_call() altogether.
//
// Invalidation: a statement trigger on pilot_private.settings (pilot_settings_changed) queues a
// relcache invalidation of the table; PostgreSQL delivers it to this backend at its next command
// (its own change), at the end of the writer's transaction, committed or rolled back (every other
// backend: at its next transaction or lock), and the callback below forgets the value. The
// generation closes the race of a fill: count_recorder_call() takes the generation, reads the
// table, and remembers what it read under that generation; an invalidation in between (a change
// committed after the read's snapshot) bumps the generation and the stale value is not kept.

/// The remembered setting: the table it came from and its value, and the generation, bumped by
/// every relcache invalidation this backend processes.
struct RateLimitCache {
    generation: i64,
    value: Option<(pg_sys::Oid, i32)>,
}

thread_local! {
    static RATE_LIMIT: std::cell::RefCell<RateLimitCache> =
        const { std::cell::RefCell::new(RateLimitCache { generation: 0, value: None }) };
}

/// Registered once per backend by `_PG_init`: any relcache invalidation bumps the generation; one
/// of the remembered table (or of every relation) forgets the value.
#[pg_guard]
pub extern "C-unwind" fn rate_limit_relcache_callback(_arg: pg_sys::Datum, relid: pg_sys::Oid) {
    RATE_LIMIT.with(|cell| {
        let mut cache = cell.borrow_mut();
        cache.generation += 1;
        if cache
            .value
            .is_some_and(|(table, _)| relid == pg_sys::InvalidOid || relid == table)
        {
            cache.value = None;
        }
    });
}

c_function!(
    /// `pilot_private.cached_rate_limit() returns integer` (no arguments, VOLATILE): the
    /// recorder_calls_per_minute that count_recorder_call() remembered in this backend; null when
    /// nothing is (never read, or pilot_private.settings changed since).
    pg_finfo_pilot_cached_rate_limit,
    fn pilot_cached_rate_limit(fcinfo) {
        match RATE_LIMIT.with(|cell| cell.borrow().value) {
            Some((_, value)) => value.into_datum().expect("an integer datum"),
            // SAFETY: `fcinfo` is the valid call frame of this call.
            None => unsafe { pgrx::fcinfo::pg_return_null(fcinfo) },
        }
    }
);

c_function!(
    /// `pilot_private.rate_limit_generation() returns bigint` (no arguments, VOLATILE, owner
    /// only): the generation to pass to remember_rate_limit(), taken before the read.
    pg_finfo_pilot_rate_limit_generation,
    fn pilot_rate_limit_generation(_fcinfo) {
        RATE_LIMIT
            .with(|cell| cell.borrow().generation)
            .into_datum()
            .expect("a bigint datum")
    }
);

c_function!(
    /// `pilot_private.remember_rate_limit(generation bigint, settings regclass, value integer)
    /// returns void` (STRICT, VOLATILE, owner only): remembers `value`, read from `settings`,
    /// unless a relcache invalidation came in since `generation` was taken or the transaction
    /// reads under one snapshot (REPEATABLE READ or SERIALIZABLE).
    pg_finfo_pilot_remember_rate_limit,
    fn pilot_remember_rate_limit(fcinfo) {
        // SAFETY: STRICT: argument 0 is a non-null bigint, 1 a non-null regclass (an oid), 2 a
        // non-null integer.
        let (generation, table, value) = unsafe {
            (
                pgrx::fcinfo::pg_getarg::<i64>(fcinfo, 0),
                pgrx::fcinfo::pg_getarg::<pg_sys::Oid>(fcinfo, 1),
                pgrx::fcinfo::pg_getarg::<i32>(fcinfo, 2),
            )
        };
        // A read under a transaction snapshot (REPEATABLE READ, SERIALIZABLE) may predate a change
        // whose invalidation this backend has already processed: only a READ COMMITTED read, made
        // with a snapshot taken after the generation, is kept.
        // SAFETY: reads a backend-local global that PostgreSQL sets at transaction start.
        let read_committed =
            unsafe { pg_sys::XactIsoLevel } < pg_sys::XACT_REPEATABLE_READ as std::ffi::c_int;
        if let (true, Some(generation), Some(table), Some(value)) =
            (read_committed, generation, table, value)
        {
            RATE_LIMIT.with(|cell| {
                let mut cache = cell.borrow_mut();
                if cache.generation == generation {
                    cache.value = Some((table, value));
                }
            });
        }
        pg_sys::Datum::from(0)
    }
);

c_function!(
    /// `pilot_private.settings_changed() returns trigger` (a statement trigger of
    /// pilot_private.settings): queues a relcache invalidation of the table, so that every backend
    /// forgets the rate limit it remembered (above). PostgreSQL lets a C function returning
    /// `trigger` be called in SQL (by the owner only: no API role may execute it); it refuses.
    pg_finfo_pilot_settings_changed,
    fn pilot_settings_changed(fcinfo) {
        // SAFETY: `fcinfo` is the valid call frame of this call; when called as a trigger, its
        // context is the TriggerData of this firing, whose relation is open.
        unsafe {
            if !pgrx::trigger_support::called_as_trigger(fcinfo) {
                ereport!(
                    PgLogLevel::ERROR,
                    PgSqlErrorCode::ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED,
                    "settings_changed: not called as a trigger"
                );
            }
            let trigger = (*fcinfo).context as *mut pg_sys::TriggerData;
            pg_sys::CacheInvalidateRelcacheByRelid((*(*trigger).tg_relation).rd_id);
        }
        // A statement trigger's result is ignored, but must not be SQL null.
        pg_sys::Datum::from(0)
    }
);

/// A role that row-level security does not apply to: a superuser or a BYPASSRLS role.
fn bypasses_rls(role: pg_sys::Oid) -> bool {
    // SAFETY: both look the role up in the syscache; an unknown oid is simply not privileged.
    unsafe { pg_sys::superuser_arg(role) || pg_sys::has_bypassrls_privilege(role) }
}

c_function!(
    /// `pilot_private.is_backend() returns boolean` (no arguments, STABLE): whether the current
    /// user — inside SECURITY DEFINER code, the owner — is a superuser or BYPASSRLS (SPEC §7's
    /// backend roles). A syscache lookup instead of a query of pg_roles.
    pg_finfo_pilot_is_backend,
    fn pilot_is_backend(_fcinfo) {
        // SAFETY: the current user id of this backend.
        bypasses_rls(unsafe { pg_sys::GetUserId() })
            .into_datum()
            .expect("a boolean datum")
    }
);

c_function!(
    /// `pilot_private.acting_is_backend() returns boolean` (no arguments, STABLE): is_backend() of
    /// the role the session acts as — the SET ROLE in force, else the login role — which is the
    /// caller's also inside SECURITY DEFINER code.
    pg_finfo_pilot_acting_is_backend,
    fn pilot_acting_is_backend(_fcinfo) {
        // SAFETY: a NUL-terminated name; with missing_ok the result is null or a C string owned by
        // the GUC machinery, read at once.
        let role = unsafe { pg_sys::GetConfigOption(c"role".as_ptr(), true, false) };
        // SAFETY: `role` is null or a valid C string (above); get_role_oid with missing_ok answers
        // InvalidOid for an unknown name.
        let oid = if role.is_null() || unsafe { std::ffi::CStr::from_ptr(role) }.to_bytes() == b"none" {
            unsafe { pg_sys::GetSessionUserId() }
        } else {
            unsafe { pg_sys::get_role_oid(role, true) }
        };
        bypasses_rls(oid).into_datum().expect("a boolean datum")
    }
);

/// A count argument: null or negative counts as absent (the scorecard never produces either).
fn count(v: Option<i64>) -> Option<u64> {
    v.and_then(|n| u64::try_from(n).ok())
}

c_function!(
    /// `pilot_private.suppressed(k int4, metric_id text, numerator int8, denominator int8) returns
    /// boolean`, **not** STRICT (M2 has no numerator): whether the cell is suppressed under
    /// `core/src/suppression.rs`'s rule with min_cell_size k. An unknown metric id is 22023.
    pg_finfo_pilot_suppressed,
    fn pilot_suppressed(fcinfo) {
        // SAFETY: arguments 0–3 are declared int4, text, int8, int8; pg_getarg reads a null
        // argument as None.
        let (k, metric, numerator, denominator): (Option<i32>, Option<&str>, Option<i64>, Option<i64>) = unsafe {
            (
                pgrx::fcinfo::pg_getarg(fcinfo, 0),
                pgrx::fcinfo::pg_getarg(fcinfo, 1),
                pgrx::fcinfo::pg_getarg(fcinfo, 2),
                pgrx::fcinfo::pg_getarg(fcinfo, 3),
            )
        };
        let Some(rule) = metric.and_then(suppression::rule) else {
            ereport!(
                PgLogLevel::ERROR,
                PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                "pilot_private.suppressed: unknown metric id"
            );
            unreachable!()
        };
        let k = k.and_then(|k| u64::try_from(k).ok()).unwrap_or(0);
        suppression::suppressed(k, rule, count(numerator), count(denominator).unwrap_or(0))
            .into_datum()
            .expect("a boolean datum")
    }
);

c_function!(
    /// `pilot_private.complementary_suppression(k int4, numerators int8[], denominators int8[],
    /// primary boolean[]) returns boolean[]` (STRICT): the cells of one additive metric across
    /// organizations (in org_id order) that stay suppressed after complementary suppression.
    pg_finfo_pilot_complementary_suppression,
    fn pilot_complementary_suppression(fcinfo) {
        // SAFETY: argument 0 is declared int4 and is not null (STRICT).
        let k: Option<i32> = unsafe { pgrx::fcinfo::pg_getarg(fcinfo, 0) };
        // SAFETY: arguments 1 and 2 are declared int8[] and are not null (STRICT).
        let nums: Option<Vec<Option<i64>>> = unsafe { pgrx::fcinfo::pg_getarg(fcinfo, 1) };
        // SAFETY: as above.
        let dens: Option<Vec<Option<i64>>> = unsafe { pgrx::fcinfo::pg_getarg(fcinfo, 2) };
        // SAFETY: argument 3 is declared boolean[] and is not null (STRICT).
        let primary: Option<Vec<Option<bool>>> = unsafe { pgrx::fcinfo::pg_getarg(fcinfo, 3) };
        let (nums, dens, primary) = (
            nums.unwrap_or_default(),
            dens.unwrap_or_default(),
            primary.unwrap_or_default(),
        );
        if nums.len() != dens.len() || nums.len() != primary.len() {
            ereport!(
                PgLogLevel::ERROR,
                PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                "pilot_private.complementary_suppression: the arrays must have one entry per cell"
            );
        }
        let cells: Vec<(u64, u64)> = nums
            .iter()
            .zip(&dens)
            .map(|(n, d)| (count(*n).unwrap_or(0), count(*d).unwrap_or(0)))
            .collect();
        let primary: Vec<bool> = primary.iter().map(|p| p.unwrap_or(false)).collect();
        let k = k.and_then(|k| u64::try_from(k).ok()).unwrap_or(0);
        suppression::complementary(k, &cells, &primary, &mut interrupt)
            .into_datum()
            .expect("an array datum")
    }
);

c_function!(
    /// `pilot_private.is_code(value text, max_chars int4 default 100) returns boolean` (STRICT,
    /// IMMUTABLE): the CHECK of every code column (SPEC §3), `^[A-Za-z0-9][A-Za-z0-9_.:-]*$` within
    /// max_chars characters. In C because a CHECK runs it for every row written: as a SQL function
    /// with a SET clause it was parsed and planned again in every statement (39 µs a call).
    pg_finfo_pilot_is_code,
    fn pilot_is_code(fcinfo) {
        // SAFETY: argument 0 is declared text, a varlena read as its bytes, and is not null (STRICT).
        let value: Option<&[u8]> = unsafe { pgrx::fcinfo::pg_getarg(fcinfo, 0) };
        // SAFETY: argument 1 is declared int4 and is not null (STRICT).
        let max_chars: Option<i32> = unsafe { pgrx::fcinfo::pg_getarg(fcinfo, 1) };
        let ok = match (value, max_chars.and_then(|m| usize::try_from(m).ok())) {
            (Some(v), Some(m)) => validate::is_code_within(v, m),
            _ => false,
        };
        pg_sys::Datum::from(ok)
    }
);

c_function!(
    /// `pilot_private.hmac_k1(key bytea, client_hash text) returns text` (STRICT): the keyed
    /// pseudonym `k1:<HMAC-SHA-256 hex>` of the lower-cased client hash (SPEC §14).
    pg_finfo_pilot_hmac_k1,
    fn pilot_hmac_k1(fcinfo) {
        // SAFETY: argument 0 is declared bytea and is not null (STRICT).
        let key: Option<&[u8]> = unsafe { pgrx::fcinfo::pg_getarg(fcinfo, 0) };
        // SAFETY: argument 1 is declared text and is not null (STRICT).
        let value: Option<&str> = unsafe { pgrx::fcinfo::pg_getarg(fcinfo, 1) };
        pseudonym::keyed(key.unwrap_or_default(), value.unwrap_or_default())
            .into_datum()
            .expect("a text datum")
    }
);

c_function!(
    /// `pilot_private.strong_random_bytes(n int4) returns bytea` (STRICT, VOLATILE): n bytes from
    /// PostgreSQL's `pg_strong_random` (the pseudonym key, SPEC §14); 1 to 1024.
    pg_finfo_pilot_strong_random_bytes,
    fn pilot_strong_random_bytes(fcinfo) {
        // SAFETY: argument 0 is declared int4 and is not null (STRICT).
        let n: Option<i32> = unsafe { pgrx::fcinfo::pg_getarg(fcinfo, 0) };
        let Some(n) = n.and_then(|n| usize::try_from(n).ok()).filter(|n| (1..=1024).contains(n)) else {
            ereport!(
                PgLogLevel::ERROR,
                PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                "pilot_private.strong_random_bytes: n must be 1 to 1024"
            );
            unreachable!()
        };
        let mut buf = vec![0u8; n];
        // SAFETY: `buf` is `n` writable bytes, and pg_strong_random writes at most `len` of them.
        if !unsafe { pg_sys::pg_strong_random(buf.as_mut_ptr().cast(), n) } {
            ereport!(
                PgLogLevel::ERROR,
                PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
                "pilot_private.strong_random_bytes: no strong random source"
            );
        }
        buf.into_datum().expect("a bytea datum")
    }
);

/// The extension names of a `DROP EXTENSION` statement; empty for any other statement.
///
/// # Safety
/// `tree` is null or points at a valid parse tree node (an event trigger's `parsetree`).
unsafe fn drop_extension_names(tree: *mut pg_sys::Node) -> Vec<String> {
    let mut names = Vec::new();
    // SAFETY: `tree` is null or a valid node, so its tag can be read.
    if tree.is_null() || !unsafe { pgrx::is_a(tree, pg_sys::NodeTag::T_DropStmt) } {
        return names;
    }
    // SAFETY: the tag says `tree` is a DropStmt.
    let stmt = unsafe { &*(tree as *const pg_sys::DropStmt) };
    if stmt.removeType != pg_sys::ObjectType::OBJECT_EXTENSION {
        return names;
    }
    // SAFETY: for DROP EXTENSION, `objects` is a (possibly empty) List of String nodes, valid for
    // the statement's lifetime.
    let objects = unsafe { pgrx::PgList::<pg_sys::Node>::from_pg(stmt.objects) };
    for node in objects.iter_ptr() {
        // SAFETY: list elements are null or valid nodes.
        if node.is_null() || !unsafe { pgrx::is_a(node, pg_sys::NodeTag::T_String) } {
            continue;
        }
        // SAFETY: the tag says `node` is a String node; its `sval` is null or a C string.
        let sval = unsafe { (*(node as *const pg_sys::String)).sval };
        if !sval.is_null() {
            // SAFETY: a non-null `sval` is a NUL-terminated C string owned by the parse tree.
            names.push(
                unsafe { std::ffi::CStr::from_ptr(sval) }
                    .to_string_lossy()
                    .into_owned(),
            );
        }
    }
    names
}

c_function!(
    /// `pilot_private.drop_guard_inspect() returns event_trigger`, on `ddl_command_start` for
    /// `DROP EXTENSION`: reads the `DropStmt` in `EventTriggerData` and sets the transaction-local
    /// flag `pilot_guardrails.dropping_self` to `on` when this extension is among its objects,
    /// `off` otherwise. The enforcing trigger (PL/pgSQL, fired next by name order) acts on it.
    pg_finfo_pilot_drop_guard_inspect,
    fn pilot_drop_guard_inspect(fcinfo) {
        // SAFETY: `fcinfo` is a valid call frame; its context is null or a valid node.
        let context = unsafe { (*fcinfo).context };
        // SAFETY: as above, the tag of a non-null context can be read.
        if context.is_null() || !unsafe { pgrx::is_a(context, pg_sys::NodeTag::T_EventTriggerData) } {
            ereport!(
                PgLogLevel::ERROR,
                PgSqlErrorCode::ERRCODE_E_R_I_E_EVENT_TRIGGER_PROTOCOL_VIOLATED,
                "pilot_private.drop_guard_inspect() is an event trigger function"
            );
        }
        // SAFETY: the tag says the context is EventTriggerData, whose parse tree is null or valid.
        let names = unsafe {
            drop_extension_names((*(context as *const pg_sys::EventTriggerData)).parsetree)
        };
        let flag = if drop_guard::drop_targets_us(names.iter().map(String::as_str)) {
            c"on"
        } else {
            c"off"
        };
        // SAFETY: both strings are NUL-terminated constants; a user-settable placeholder GUC set
        // for the transaction, as SET LOCAL would.
        unsafe {
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
        }
        pg_sys::Datum::from(0)
    }
);

c_function!(
    /// `pilot_private.render_scorecard_page(card text, history text, organization text,
    /// min_cell_size int4) returns text` (STRICT, IMMUTABLE): the scorecard page (SPEC §13), one
    /// HTML5 document, from `pilot_scorecard`'s JSON and the history rows
    /// `[[metric_id, epoch, value, suppressed], …]` (`core/src/page.rs`).
    pg_finfo_pilot_render_scorecard_page,
    fn pilot_render_scorecard_page(fcinfo) {
        // SAFETY: arguments 0–2 are declared text and are not null (STRICT).
        let card: Option<&str> = unsafe { pgrx::fcinfo::pg_getarg(fcinfo, 0) };
        // SAFETY: as above.
        let history: Option<&str> = unsafe { pgrx::fcinfo::pg_getarg(fcinfo, 1) };
        // SAFETY: as above.
        let organization: Option<&str> = unsafe { pgrx::fcinfo::pg_getarg(fcinfo, 2) };
        // SAFETY: argument 3 is declared int4 and is not null (STRICT).
        let k: Option<i32> = unsafe { pgrx::fcinfo::pg_getarg(fcinfo, 3) };
        let html = match page::render(
            card.unwrap_or_default(),
            history.unwrap_or_default(),
            organization.unwrap_or_default(),
            i64::from(k.unwrap_or(0)),
            &mut interrupt,
        ) {
            Ok(html) => html,
            Err(page::RenderError::TooLarge) => {
                ereport!(
                    PgLogLevel::ERROR,
                    PgSqlErrorCode::ERRCODE_PROGRAM_LIMIT_EXCEEDED,
                    format!(
                        "pilot_private.render_scorecard_page: card and history may hold at most {} MiB of JSON",
                        page::MAX_INPUT_BYTES >> 20
                    )
                );
                unreachable!()
            }
            Err(page::RenderError::Json(_)) => {
                ereport!(
                    PgLogLevel::ERROR,
                    PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                    "pilot_private.render_scorecard_page: card and history must be JSON"
                );
                unreachable!()
            }
        };
        html.into_datum().expect("a text datum")
    }
);

c_function!(
    /// `pilot_private.host_storage_problem(table_name text) returns text` (STRICT, STABLE): what is
    /// missing or wrong in the host table `public.<table_name>` that a helper is about to read
    /// (`core/src/host.rs`), or null — from the syscaches, no query. The helpers raise PT501 with
    /// it; an unknown table name is 22023.
    pg_finfo_pilot_host_storage_problem,
    fn pilot_host_storage_problem(fcinfo) {
        // SAFETY: argument 0 is declared text and is not null (STRICT).
        let name: Option<&str> = unsafe { pgrx::fcinfo::pg_getarg(fcinfo, 0) };
        let Some(table) = host::table(name.unwrap_or_default()) else {
            ereport!(
                PgLogLevel::ERROR,
                PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                "pilot_private.host_storage_problem: not a host table the extension reads"
            );
            unreachable!()
        };
        let cstring = |s: &str| std::ffi::CString::new(s).expect("no NUL in a catalog name");
        let public = cstring("public");
        let relname = cstring(table.name);
        // SAFETY: NUL-terminated names; both lookups only read the syscaches (missing_ok: no error).
        let relid = unsafe {
            let nsp = pg_sys::get_namespace_oid(public.as_ptr(), true);
            if nsp == pg_sys::InvalidOid {
                pg_sys::InvalidOid
            } else {
                pg_sys::get_relname_relid(relname.as_ptr(), nsp)
            }
        };
        // The types the contract names, by oid: the usual call compares oids and formats nothing.
        let expected_oid = |ty: &str| match ty {
            "uuid" => pg_sys::UUIDOID,
            "text" => pg_sys::TEXTOID,
            _ => pg_sys::InvalidOid,
        };
        let column = |name: &str, expected: &str| {
            let attname = cstring(name);
            // SAFETY: `relid` is a relation's oid; get_attnum answers InvalidAttrNumber (0) for a
            // missing or dropped column; format_type_be returns a palloc'd NUL-terminated name.
            unsafe {
                let attnum = pg_sys::get_attnum(relid, attname.as_ptr());
                if attnum == 0 {
                    return host::Column::Missing;
                }
                let ty = pg_sys::get_atttype(relid, attnum);
                if ty == expected_oid(expected) {
                    return host::Column::Expected;
                }
                let name = pg_sys::format_type_be(ty);
                host::Column::Other(std::ffi::CStr::from_ptr(name).to_string_lossy().into_owned())
            }
        };
        match host::problem(table, relid != pg_sys::InvalidOid, column) {
            Some(problem) => problem.into_datum().expect("a text datum"),
            None => {
                // SAFETY: a STRICT function may return SQL NULL by setting isnull.
                unsafe { (*fcinfo).isnull = true };
                pg_sys::Datum::from(0)
            }
        }
    }
);
