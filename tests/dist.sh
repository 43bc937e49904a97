#!/usr/bin/env bash
# SPEC §12: what scripts/package.sh wrote into dist/ is what a user should get. The Debian package
# holds files only under Debian's PostgreSQL 15 paths (and its doc directory) and depends on
# postgresql-15; both tarballs hold lib/ and extension/ under one top directory; every package
# carries this version's install script, every upgrade script and every frozen release script;
# an unreleased version is labelled ~dev; SHA256SUMS verifies. (Installing and using the packages
# is what the layers after this one do.)
set -euo pipefail
. "$(dirname "$0")/lib/tap.sh"

version=$(crate_version)
pkg_version=$(package_version)
deb="dist/postgresql-15-pilot-guardrails_${pkg_version}_amd64.deb"
tap_is "$(cd dist && ls | sort | tr '\n' ' ')" \
    "SHA256SUMS pilot_guardrails-$pkg_version-pg15-linux-x86_64.tar.gz pilot_guardrails-$pkg_version-pg18-linux-x86_64.tar.gz postgresql-15-pilot-guardrails_${pkg_version}_amd64.deb " \
    "dist/ holds the .deb for 15, a tarball for 15 and for 18, and SHA256SUMS (version $pkg_version)"
tap_ok $(cd dist && sha256sum --quiet -c SHA256SUMS >/dev/null 2>&1; echo $?) "SHA256SUMS verifies"
tap_is "$(cd dist && sed 's/^[0-9a-f]*  //' SHA256SUMS | sort | tr '\n' ' ')" \
    "$(cd dist && ls | grep -v SHA256SUMS | sort | tr '\n' ' ')" "SHA256SUMS names every package"

# The files every package must carry in its extension directory.
expected_ext=$( {
    echo pilot_guardrails.control
    echo "pilot_guardrails--$version.sql"
    for f in sql/releases/pilot_guardrails--*.sql; do basename "$f"; done
    for f in sql/pilot_guardrails--*--*.sql; do basename "$f"; done
} | sort -u | tr '\n' ' ')

# The .deb: fields, then every path.
tap_is "$(dpkg-deb -f "$deb" Package Version Architecture Depends | tr '\n' '|')" \
    "Package: postgresql-15-pilot-guardrails|Version: $pkg_version|Architecture: amd64|Depends: postgresql-15|" \
    "the .deb's control fields: name, version ($pkg_version), amd64, Depends: postgresql-15"
allowed='^\./usr/lib/postgresql/15/lib/[^/]+$|^\./usr/share/postgresql/15/extension/[^/]+$|^\./usr/share/doc/postgresql-15-pilot-guardrails/[^/]+$'
allowed_dirs='^\./(usr/(lib/(postgresql/(15/(lib/)?)?)?|share/(postgresql/(15/(extension/)?)?|doc/(postgresql-15-pilot-guardrails/)?)?)?)?$'
paths=$(dpkg-deb -c "$deb" | awk '{print $1 " " $6}')
stray=$(echo "$paths" | while read -r mode path; do
    case $mode in
        d*) [[ $path =~ $allowed_dirs ]] || echo "$path" ;;
        -*) [[ $path =~ $allowed ]] || echo "$path" ;;
        *) echo "$path (not a file)" ;;
    esac
done)
tap_is "$stray" "" "dpkg-deb -c: every path is under /usr/lib/postgresql/15/lib, /usr/share/postgresql/15/extension or /usr/share/doc ($(echo "$paths" | grep -c '^-') files)"
tap_is "$(dpkg-deb -c "$deb" | awk '{print $6}' | sed -n 's|^\./usr/share/postgresql/15/extension/||p' | grep . | sort | tr '\n' ' ')" \
    "$expected_ext" "the .deb carries the control file, the $version script, every upgrade and every frozen release script"
tap_is "$(dpkg-deb -c "$deb" | awk '{print $6}' | sed -n 's|^\./usr/lib/postgresql/15/lib/||p' | grep .)" "pilot_guardrails.so" \
    "the .deb carries the library in PostgreSQL 15's pkglibdir"
tap_is "$(dpkg-deb -c "$deb" | awk '{print $2}' | sort -u)" "root/root" "the .deb's files belong to root"

# The tarballs.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for major in 15 18; do
    tarball="dist/pilot_guardrails-$pkg_version-pg$major-linux-x86_64.tar.gz"
    top="pilot_guardrails-$pkg_version-pg$major"
    tap_is "$(tar -tzf "$tarball" | grep -v "^$top/" || true)" "" "pg$major tarball: everything is under $top/"
    tap_is "$(tar -tzf "$tarball" | sed -n "s|^$top/extension/||p" | grep . | sort | tr '\n' ' ')" "$expected_ext" \
        "pg$major tarball: extension/ carries the control file, the $version script, every upgrade and frozen release script"
    tap_is "$(tar -tzf "$tarball" | sed -n "s|^$top/lib/||p" | grep .)" "pilot_guardrails.so" "pg$major tarball: lib/pilot_guardrails.so"
    mkdir -p "$work/$major" && tar -xzf "$tarball" -C "$work/$major"
    for f in sql/releases/pilot_guardrails--*.sql sql/pilot_guardrails--*--*.sql; do
        [ "$(basename "$f")" = "pilot_guardrails--$version.sql" ] && continue
        cmp -s "$f" "$work/$major/$top/extension/$(basename "$f")" || echo "differs: $(basename "$f")"
    done > "$work/cmp$major"
    tap_is "$(cat "$work/cmp$major")" "" "pg$major tarball: the frozen and upgrade scripts are the repository's, byte for byte"
done
if cmp -s "$work/15/pilot_guardrails-$pkg_version-pg15/lib/pilot_guardrails.so" \
          "$work/18/pilot_guardrails-$pkg_version-pg18/lib/pilot_guardrails.so"; then r=1; else r=0; fi
tap_ok $r "the PostgreSQL 15 and 18 libraries are different builds"
mkdir -p "$work/deb" && dpkg-deb -x "$deb" "$work/deb"
same=$(for f in "$work/15/pilot_guardrails-$pkg_version-pg15"/extension/* "$work/15/pilot_guardrails-$pkg_version-pg15"/lib/*; do
    case $f in */lib/*) d=usr/lib/postgresql/15/lib ;; *) d=usr/share/postgresql/15/extension ;; esac
    cmp -s "$f" "$work/deb/$d/$(basename "$f")" || echo "differs: $(basename "$f")"
done)
tap_is "$same" "" "the .deb's files are the PostgreSQL 15 tarball's files"
tap_done
