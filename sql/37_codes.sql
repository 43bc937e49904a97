-- Codes (SPEC §3): every text value that is not an enum is a code, ^[A-Za-z0-9][A-Za-z0-9_.:-]*$
-- within its length limit. Free text has no column to land in.

-- A code (SPEC §3): ^[A-Za-z0-9][A-Za-z0-9_.:-]*$ within max_chars characters. In Rust
-- (core/src/validate/scalars.rs, the validator's own test): every CHECK of a code column calls it
-- for every row written, and a SQL function with a SET clause is parsed and planned again in each
-- statement (measured: 39 µs a call; two per contact attempt).
create function pilot_private.is_code(value text, max_chars int default 100) returns boolean
    language c immutable strict parallel safe
    set search_path = pg_catalog, pg_temp
    as 'MODULE_PATHNAME', 'pilot_is_code';
comment on function pilot_private.is_code(text, int) is
    'True when value is a code: ^[A-Za-z0-9][A-Za-z0-9_.:-]*$ within max_chars characters (SPEC §3).';

-- Every element of a one-dimensional array is a code (no nulls).
create function pilot_private.are_codes(items text[], max_chars int default 100) returns boolean
    language sql immutable strict parallel safe
    set search_path = pg_catalog, pg_temp
    return coalesce(pg_catalog.array_ndims(items), 1) = 1
       and not exists (select 1 from pg_catalog.unnest(items) as x(v)
                        where v is null or not pilot_private.is_code(v, max_chars));
comment on function pilot_private.are_codes(text[], int) is
    'True when items is one-dimensional and every element is a code (SPEC §3).';
