-- The Rust functions (src/validate.rs, src/privacy.rs), declared by hand: they read the jsonb
-- datum's bytes directly instead of pgrx's serde round trip (SPEC §6, nesting).

create function public.pilot_validate(kind text, payload jsonb) returns jsonb
    language c immutable strict parallel safe
    set search_path = pg_catalog, pg_temp
    as 'MODULE_PATHNAME', 'pilot_validate';
comment on function public.pilot_validate(text, jsonb) is
$$Validate a pilot payload without writing anything.
Returns the list of issues, [] when the payload is valid: each issue is {"path", "code", "message"} and never quotes a payload value. kind is one of contact_attempt, referral, referral_update, integration_feasibility, connection, service_scope, service_status, data_decay_audit, preference_fit; any other kind raises 22023. Payloads over 65536 bytes are refused as the recorders refuse them, after the privacy walk has reported every forbidden key.$$;

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

-- Exact percentiles for M2 (src/math.rs): numeric, never float8 (SPEC §8).
create function pilot_private.percentiles(durations bigint[], ps int[]) returns text[]
    language c immutable strict parallel safe
    set search_path = pg_catalog, pg_temp
    as 'MODULE_PATHNAME', 'pilot_percentiles';
comment on function pilot_private.percentiles(bigint[], int[]) is
    'Exact linear-interpolation percentiles (as percentile_cont, but in numeric) of the durations, one per p; text for a numeric cast.';
