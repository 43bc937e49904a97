#!/usr/bin/env bash
# Everything the demo, the tests and the benchmarks need, on a fresh Debian 12 machine as root.
# Idempotent and quiet when there is nothing to do.
set -euo pipefail

PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
PACKAGES=(postgresql-15 postgresql-server-dev-15 postgresql-contrib clang libclang-dev sudo
          postgresql-15-pgtap libtap-parser-sourcehandler-pgtap-perl pkg-config postgresql-15-cron)

[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"

missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! cargo pgrx --version 2>/dev/null | grep -q ' 0\.18\.0$'; then
    echo "setup: installing cargo-pgrx 0.18.0 (about 10 minutes)"
    cargo install cargo-pgrx --version 0.18.0 --locked --quiet
fi

# The fuzz target must keep building (scripts/test.sh: `cargo fuzz build`); -s none on this stable toolchain.
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "setup: installing cargo-fuzz (about 1 minute)"
    cargo install cargo-fuzz --locked --quiet
fi

if ! grep -qs "pg15 = \"$PG_CONFIG\"" "${PGRX_HOME:-$HOME/.pgrx}/config.toml"; then
    echo "setup: cargo pgrx init --pg15 $PG_CONFIG"
    cargo pgrx init --pg15 "$PG_CONFIG" >/dev/null
fi
