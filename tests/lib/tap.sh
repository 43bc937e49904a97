# TAP helpers for scenario scripts (sourced). Each check prints "ok N - name" or "not ok N - name".
TAP_N=0
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
. scripts/lib.sh
tap_ok() { # tap_ok <status> <name>
    TAP_N=$((TAP_N + 1))
    if [ "$1" = 0 ]; then echo "ok $TAP_N - $2"; else echo "not ok $TAP_N - $2"; fi
}
tap_is() { # tap_is <got> <expected> <name>
    TAP_N=$((TAP_N + 1))
    if [ "$1" == "$2" ]; then echo "ok $TAP_N - $3"; else
        echo "not ok $TAP_N - $3"; echo "#   got:      $1"; echo "#   expected: $2"; fi
}
tap_diag() { echo "# $*"; }
tap_done() { echo "1..$TAP_N"; }
sql() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }
