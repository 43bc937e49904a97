-- The Rust functions (the pure core, core/src/; the C entry points in src/ffi.rs), declared by
-- hand: they read the jsonb datum's bytes directly instead of pgrx's serde round trip (SPEC §6,
-- nesting).

create function public.pilot_validate(kind text, payload jsonb) returns jsonb
    language c immutable strict parallel safe
    set search_path = pg_catalog, pg_temp
    as 'MODULE_PATHNAME', 'pilot_validate';
comment on function public.pilot_validate(text, jsonb) is
$$Validate a pilot payload without writing anything.
Returns the list of issues, [] when the payload is valid: each issue is {"path", "code", "message"} and never quotes a payload value. kind is one of contact_attempt, referral, referral_update, integration_feasibility, connection, service_scope, service_status, data_decay_audit, preference_fit, cycle, cohort; any other kind raises 22023. Payloads over 65536 bytes are refused as the recorders refuse them, after the privacy walk has reported every forbidden key.$$;

create function public.pilot_disallowed_key_paths(payload jsonb) returns text[]
    language c immutable strict parallel safe
    set search_path = pg_catalog, pg_temp
    as 'MODULE_PATHNAME', 'pilot_disallowed_key_paths';
comment on function public.pilot_disallowed_key_paths(jsonb) is
$$Every path at which a privacy-forbidden key occurs.
Keys query, query_text, message, user_text and notes are forbidden at any depth, compared after removing default-ignorable code points, NFKC and full case folding. Paths are dotted (meta.items.2.Notes); the list is complete, in document order.$$;

-- The same validator under a private name, for the recorders (search_path '' and schema-qualified,
-- independent of what a user does to the public entry point).
create function pilot_private.validate(kind text, payload jsonb) returns jsonb
    language c immutable strict parallel safe
    set search_path = pg_catalog, pg_temp
    as 'MODULE_PATHNAME', 'pilot_validate';
comment on function pilot_private.validate(text, jsonb) is 'pilot_validate() for the recorders.';

-- Exact percentiles for M2 (core/src/math.rs): numeric, never float8 (SPEC §8).
create function pilot_private.percentiles(durations bigint[], ps int[]) returns text[]
    language c immutable strict parallel safe
    set search_path = pg_catalog, pg_temp
    as 'MODULE_PATHNAME', 'pilot_percentiles';
comment on function pilot_private.percentiles(bigint[], int[]) is
    'Exact linear-interpolation percentiles (as percentile_cont, but in numeric) of the durations, one per p; text for a numeric cast.';

-- Small-cell suppression (SPEC §11, core/src/suppression.rs): the rule, and complementary
-- suppression across organizations. suppressed() is not STRICT: M2 has no numerator.
create function pilot_private.suppressed(k int, metric_id text, numerator bigint, denominator bigint) returns boolean
    language c immutable parallel safe
    set search_path = pg_catalog, pg_temp
    as 'MODULE_PATHNAME', 'pilot_suppressed';
comment on function pilot_private.suppressed(int, text, bigint, bigint) is
    'Whether a metric''s cell is suppressed with min_cell_size k (SPEC §11.1): a rate when its numerator, denominator or their difference is in 1..k-1, M2 when its denominator is; M4 and M6 never.';

create function pilot_private.complementary_suppression(k int, numerators bigint[], denominators bigint[], primary_suppressed boolean[])
returns boolean[]
    language c immutable strict parallel safe
    set search_path = pg_catalog, pg_temp
    as 'MODULE_PATHNAME', 'pilot_complementary_suppression';
comment on function pilot_private.complementary_suppression(int, bigint[], bigint[], boolean[]) is
    'Complementary suppression of one additive metric across organizations in org_id order (SPEC §11.2): which cells stay hidden so that no suppressed sum of numerators, denominators or differences is in 1..k-1.';

-- Keyed pseudonyms (SPEC §14, core/src/pseudonym.rs): the HMAC, and the key's random bytes.
create function pilot_private.hmac_k1(key bytea, client_hash text) returns text
    language c immutable strict parallel safe
    set search_path = pg_catalog, pg_temp
    as 'MODULE_PATHNAME', 'pilot_hmac_k1';
comment on function pilot_private.hmac_k1(bytea, text) is
    'k1: and the HMAC-SHA-256 (64 lower-case hex) under key of the lower-cased client hash (SPEC §14).';

create function pilot_private.strong_random_bytes(n int) returns bytea
    language c volatile strict
    set search_path = pg_catalog, pg_temp
    as 'MODULE_PATHNAME', 'pilot_strong_random_bytes';
comment on function pilot_private.strong_random_bytes(int) is 'n bytes (1 to 1024) from PostgreSQL''s pg_strong_random.';
