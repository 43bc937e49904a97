#!/usr/bin/env bash
# What users install (SPEC §12), into dist/:
#   postgresql-15-pilot-guardrails_<version>_amd64.deb   Debian/PGDG layout, Depends: postgresql-15
#   pilot_guardrails-<version>-pg<major>-linux-x86_64.tar.gz   for 15 and 18: lib/, extension/
#   SHA256SUMS
# Every package carries the install script of this version, every upgrade script and every frozen
# release script, so `CREATE EXTENSION … VERSION` and `ALTER EXTENSION … UPDATE` work from it. A
# version not frozen in sql/releases/ is unreleased, and the packages say so: 0.3.0~dev.
# Builds with `cargo pgrx package` (release profile) per major; it mirrors pg_config's absolute
# paths, which this script maps. Archives are reproducible for one commit (SOURCE_DATE_EPOCH).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

scripts/setup.sh

pkg_version=$(package_version)
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
export SOURCE_DATE_EPOCH

work=target/package
rm -rf "$work" dist
mkdir -p "$work" dist

# tar_gz <archive> <dir> <name>: a reproducible archive of <dir>/<name>.
tar_gz() {
    tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" \
        -C "$2" -cf - "$3" | gzip -9 -n > "$1"
}

for major in "${PG_MAJORS[@]}"; do
    use_pg "$major"
    echo "package: building for PostgreSQL $major ($("$PG_BIN/pg_config" --version))"
    cargo pgrx package --pg-config "$PG_BIN/pg_config" --out-dir "$work/pgrx-pg$major" >"$work/pgrx-pg$major.log" 2>&1 \
        || { tail -30 "$work/pgrx-pg$major.log"; exit 1; }
    built="$work/pgrx-pg$major"
    name="pilot_guardrails-$pkg_version-pg$major"
    stage="$work/tar-pg$major/$name"
    mkdir -p "$stage/lib" "$stage/extension"
    install -m 755 "$built$("$PG_BIN/pg_config" --pkglibdir)/pilot_guardrails.so" "$stage/lib/"
    install -m 644 "$built$("$PG_BIN/pg_config" --sharedir)"/extension/pilot_guardrails* "$stage/extension/"
    install_release_scripts "$stage/extension"
    install -m 644 README.md CHANGELOG.md "$stage/"
    tar_gz "dist/$name-linux-x86_64.tar.gz" "$work/tar-pg$major" "$name"
done

# The Debian package for PostgreSQL 15, from the same files as the PostgreSQL 15 tarball.
# (None for 18: Debian 12 has no postgresql-18 to depend on, install into and test against.)
deb_name=postgresql-15-pilot-guardrails
root="$work/deb"
from="$work/tar-pg15/pilot_guardrails-$pkg_version-pg15"
doc="$root/usr/share/doc/$deb_name"
mkdir -p "$root/DEBIAN" "$root/usr/lib/postgresql/15/lib" "$root/usr/share/postgresql/15/extension" "$doc"
install -m 755 "$from"/lib/* "$root/usr/lib/postgresql/15/lib/"
install -m 644 "$from"/extension/* "$root/usr/share/postgresql/15/extension/"
gzip -9 -n -c CHANGELOG.md > "$doc/changelog.gz"
gzip -9 -n -c README.md > "$doc/README.md.gz"
cat > "$doc/copyright" <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: pilot_guardrails

Files: *
Copyright: the pilot_guardrails authors
License: Apache-2.0
 On Debian systems, the full text of the Apache License 2.0 is in
 /usr/share/common-licenses/Apache-2.0.
EOF
chmod 644 "$doc"/*
cat > "$root/DEBIAN/control" <<EOF
Package: $deb_name
Version: $pkg_version
Architecture: amd64
Maintainer: pilot_guardrails team <pilot-guardrails@localhost>
Depends: postgresql-15
Section: database
Priority: optional
Installed-Size: $(du -sk --exclude=DEBIAN "$root" | cut -f1)
Description: PostgreSQL 15 extension: pilot instrumentation for a social-services directory
 Outcome event tables, privacy-guarded recording functions, metrics computed
 inside the database and authorization guardrails, for a directory served by
 Supabase/PostgREST. Install with CREATE EXTENSION pilot_guardrails.
EOF
find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
dpkg-deb --root-owner-group -Zxz --build "$root" "dist/${deb_name}_${pkg_version}_amd64.deb" >/dev/null

(cd dist && sha256sum -- *.deb *.tar.gz > SHA256SUMS)
echo "package: dist/ ($pkg_version)"
(cd dist && ls -l -- * | awk '{printf "  %9d  %s\n", $5, $9}')
