-- Bench-only C functions (built with cargo feature "bench"; src/bench.rs). Loaded by scripts/bench.sh only.
create function bench_jsonschema_is_valid(jsonb) returns boolean language c immutable strict
    as '$libdir/pilot_guardrails', 'bench_jsonschema_is_valid';
create function bench_jsonschema_errors(jsonb) returns text[] language c immutable strict
    as '$libdir/pilot_guardrails', 'bench_jsonschema_errors';
create function bench_validate_serde(text, jsonb) returns jsonb language c immutable strict
    as '$libdir/pilot_guardrails', 'bench_validate_serde';
