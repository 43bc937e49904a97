-- Bench-only C functions (bench/ext, the library pilot_guardrails_bench.so). Loaded by scripts/bench.sh only.
create function bench_jsonschema_is_valid(jsonb) returns boolean language c immutable strict
    as '$libdir/pilot_guardrails_bench', 'bench_jsonschema_is_valid_wrapper';
create function bench_jsonschema_errors(jsonb) returns text[] language c immutable strict
    as '$libdir/pilot_guardrails_bench', 'bench_jsonschema_errors_wrapper';
create function bench_validate_serde(text, jsonb) returns jsonb language c immutable strict
    as '$libdir/pilot_guardrails_bench', 'bench_validate_serde_wrapper';
