#!/usr/bin/env bash
# Builds the Debian package (debian/, dpkg-buildpackage -us -uc -b) in a copy
# of the tree outside the checkout, checks its file list, installs it with
# dpkg -x into a clean, relocated copy of the system's PostgreSQL 15 (with
# every job_stagger file removed, so nothing of a `make install` is used, and
# the system's packages stay as they are), starts a cluster that preloads the
# library, runs CREATE EXTENSION job_stagger and waits for a job to fire.
# Prints "deb-check: ..." lines and "deb: N passed, N failed"; exits non-zero
# on a failure. Called by scripts/test.sh (also: scripts/test.sh --deb-only).
# Needs root or sudo (the cluster runs as postgres); the build dependencies
# are installed by scripts/test.sh (JS_DEB_PACKAGES).
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"

PASSED=0
FAILED=0
check() { # name, command...
	local name=$1
	shift
	if "$@"; then
		echo "deb-check: ok $name"
		PASSED=$((PASSED + 1))
	else
		echo "deb-check: FAILED $name"
		FAILED=$((FAILED + 1))
	fi
}

W=$(mktemp -d /tmp/job_stagger-deb.XXXXXX)
chmod 755 "$W" # the cluster's owner (postgres) must reach the PostgreSQL copy in it
cleanup() {
	js_cluster_stop
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# 1. Build, from a copy with no build outputs (dpkg-buildpackage writes ../*.deb).
version=$(dpkg-parsechangelog -l "$JS_ROOT/debian/changelog" -S Version)
src=$W/build/job-stagger-${version%-*}
mkdir -p "$src"
(cd "$JS_ROOT" && tar --exclude=.git --exclude=./build --exclude='./build-*' --exclude=./tmp_check --exclude=./results \
	--exclude='*.o' --exclude='*.so' --exclude='*.d' --exclude='*.bc' --exclude=./stagger-ctl --exclude=./log -cf - .) |
	tar -C "$src" -xf -
js_log "dpkg-buildpackage -us -uc -b -j$(nproc) (in $src)"
start=$(date +%s)
if ! (cd "$src" && dpkg-buildpackage -us -uc -b -j"$(nproc)" >"$W/build.log" 2>&1); then
	tail -n 40 "$W/build.log"
	js_die "dpkg-buildpackage failed"
fi
echo "deb-build: $(($(date +%s) - start)) s"
deb=$(ls "$W"/build/postgresql-"$PG_MAJOR"-job-stagger_"$version"_*.deb)
echo "deb-file: $(basename "$deb")"

# 2. Its file list: everything `make install` installs, stagger-ctl and the docs.
dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|' >"$W/files"
has() { grep -qx "$1" "$W/files"; }
check "library" has "/usr/lib/postgresql/$PG_MAJOR/lib/job_stagger.so"
for f in "$JS_ROOT"/*.control "$JS_ROOT"/sql/job_stagger*--*.sql; do
	check "$(basename "$f")" has "/usr/share/postgresql/$PG_MAJOR/extension/$(basename "$f")"
done
check "stagger-ctl" has "/usr/lib/postgresql/$PG_MAJOR/bin/stagger-ctl"
doc=/usr/share/doc/postgresql-$PG_MAJOR-job-stagger
check "README" grep -qE "^$doc/README.md(.gz)?$" "$W/files"
check "CHANGELOG" grep -qE "^$doc/changelog(.gz)?$" "$W/files"
check "docs/scheduler.md" grep -qE "^$doc/scheduler.md(.gz)?$" "$W/files"
check "copyright" has "$doc/copyright"
check "depends on postgresql-$PG_MAJOR and libcctz" \
	bash -c "dpkg-deb -f '$deb' Depends | grep -q 'postgresql-$PG_MAJOR' && dpkg-deb -f '$deb' Depends | grep -q libcctz"

# 3. A clean PostgreSQL: a relocated copy of the system's, without job_stagger, plus the package.
R=$W/pg
mkdir -p "$R/usr/lib/postgresql" "$R/usr/share/postgresql"
cp -a "/usr/lib/postgresql/$PG_MAJOR" "$R/usr/lib/postgresql/"
cp -a "/usr/share/postgresql/$PG_MAJOR" "$R/usr/share/postgresql/"
rm -f "$R/usr/lib/postgresql/$PG_MAJOR/lib/job_stagger"* "$R/usr/lib/postgresql/$PG_MAJOR/bin/stagger-ctl" \
	"$R/usr/share/postgresql/$PG_MAJOR/extension/job_stagger"*
rm -rf "$R/usr/lib/postgresql/$PG_MAJOR/lib/bitcode/job_stagger"*
check "the copy has no job_stagger before the package" \
	bash -c "! find '$R' -name 'job_stagger*' | grep -q ."
dpkg -x "$deb" "$R"
PG_BIN=$R/usr/lib/postgresql/$PG_MAJOR/bin

# 4. A cluster that preloads the packaged library: CREATE EXTENSION, a job fires.
js_cluster_start <<-EOF
	job_stagger.database_name = 'postgres'
	EOF
default_version=$(sed -n "s/^default_version = '\(.*\)'/\1/p" "$R/usr/share/postgresql/$PG_MAJOR/extension/job_stagger.control")
js_psql -d postgres -c "CREATE EXTENSION job_stagger" >/dev/null
check "CREATE EXTENSION job_stagger (version $default_version)" \
	test "$(js_psql -At -d postgres -c "SELECT extversion FROM pg_extension WHERE extname = 'job_stagger'")" = "$default_version"
js_psql -d postgres >/dev/null <<-'SQL'
	CREATE TABLE deb_ticks (at timestamptz DEFAULT clock_timestamp());
	SELECT stagger_schedule('deb_tick', '* * * * * *', 'INSERT INTO deb_ticks DEFAULT VALUES');
	SQL
fired() {
	for _ in $(seq 1 30); do
		[ "$(js_psql -At -d postgres -c "SELECT count(*) >= 2 FROM deb_ticks")" = t ] && return 0
		sleep 1
	done
	return 1
}
check "a job fires" fired
check "the launcher runs" \
	test "$(js_psql -At -d postgres -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'job_stagger launcher'")" = 1
check "stagger-ctl of the package runs" \
	bash -c "PGHOST=127.0.0.1 PGPORT=$JS_PORT PGUSER=postgres PGDATABASE=postgres '$PG_BIN/stagger-ctl' --help >/dev/null"

echo "deb: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
