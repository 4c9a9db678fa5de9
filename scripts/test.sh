#!/usr/bin/env bash
# Runs every job_stagger test on this machine, from nothing:
#   1. installs missing Debian packages, builds and installs the extension;
#   2. clang-format check, META.json check (test/check_meta.pl), GoogleTest
#      unit tests of src/core (CMake + ctest);
#   3. pg_regress suite and TAP integration tests (make installcheck), each on a
#      temporary instance that pg_regress / PostgreSQL::Test::Cluster starts
#      with shared_preload_libraries = 'job_stagger';
#   4. failover of a streaming standby (test/ha/failover.sh --streaming);
#   5. libFuzzer targets (make fuzz), JS_FUZZ_SECONDS per target (default 20;
#      --long-fuzz: 600);
#   6. with --ha: failover in a Patroni cluster (etcd + two nodes; installs the
#      Debian packages patroni and etcd-server; test/ha/failover.sh --patroni);
#   7. with --soak: the soak tier (bench/soak.sh: 10,000 jobs for
#      SOAK_MINUTES, default 10, then the exactly-one-row-per-slot check);
#   8. the Debian package (test/deb/test.sh: dpkg-buildpackage in a copy of
#      the tree, file list, installed into a clean PostgreSQL copy, CREATE
#      EXTENSION, a job fires; about 1 to 3 minutes, it compiles again).
#      --deb-only runs this step alone (after installing its dependencies).
# Also, as root: the postgres commands run from a mode-0700 directory print no
# "could not change directory" (scripts/lib.sh js_as_pg).
# Flags combine: scripts/test.sh --long-fuzz --ha --soak.
# Works as root (the server parts then run as the postgres OS user) or as a
# normal user with sudo. Prints pass/fail counts; exits non-zero on any failure.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

SUMMARY=()
FAILED=0

record() { # name passed failed [known failures]
	SUMMARY+=("$(printf '%-10s %4s passed, %s failed%s' "$1" "$2" "$3" "${4:+ ($4 known failures)}")")
	[ "$3" -eq 0 ] || FAILED=1
}

run_unit() {
	js_log "unit tests (GoogleTest via ctest)"
	local build=$JS_ROOT/build log
	cmake -S "$JS_ROOT" -B "$build" -DJS_WERROR=ON >/dev/null
	cmake --build "$build" -j2 >/dev/null
	log=$(ctest --test-dir "$build" --output-on-failure 2>&1) || true
	echo "$log" | tail -n 5
	local total failed
	total=$(echo "$log" | sed -n 's/.*tests passed, \([0-9]*\) tests failed out of \([0-9]*\).*/\2/p')
	failed=$(echo "$log" | sed -n 's/.*tests passed, \([0-9]*\) tests failed out of.*/\1/p')
	[ -n "$total" ] || { echo "$log"; total=0; failed=1; }
	record unit $((total - failed)) "$failed"
}

# make installcheck must run as a user initdb accepts: as root, from a copy of
# the tree owned by postgres (so the checkout keeps its owner).
installcheck_dir() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "$JS_ROOT"
		return
	fi
	local dir
	dir=$(mktemp -d /tmp/job_stagger-check.XXXXXX)
	(cd "$JS_ROOT" && tar --exclude=.git --exclude=./build --exclude=./build-fuzz --exclude=./tmp_check --exclude=./results -cf - .) |
		tar -C "$dir" -xf -
	chown -R postgres: "$dir"
	echo "$dir"
}

# pg_regress: "All 5 tests passed." or "2 of 5 tests failed."
run_regress() {
	local dir=$1 log status=0
	js_log "regression tests (make installcheck)"
	log=$(js_as_pg make -C "$dir" PG_CONFIG="$PG_CONFIG" installcheck 2>&1) || status=$?
	echo "$log" | grep -E '^(test |ok |not ok |     )|tests (passed|failed)' || true
	if [ $status -ne 0 ]; then
		[ -f "$dir/regression.diffs" ] && cat "$dir/regression.diffs"
		echo "$log" | tail -n 20
		[ -f "$dir/tmp_check/log/postmaster.log" ] && tail -n 60 "$dir/tmp_check/log/postmaster.log"
	fi
	local total failed
	failed=$(echo "$log" | sed -n 's/.* \([0-9]*\) of \([0-9]*\) tests failed.*/\1/p' | head -1)
	total=$(echo "$log" | sed -n 's/.* \([0-9]*\) of \([0-9]*\) tests failed.*/\2/p' | head -1)
	if [ -z "$total" ]; then
		total=$(echo "$log" | sed -n 's/.*All \([0-9]*\) tests passed.*/\1/p' | head -1)
		failed=0
	fi
	[ -n "$total" ] || { total=0; failed=1; }
	[ $status -eq 0 ] || [ "$failed" -gt 0 ] || failed=1
	record regress $((total - failed)) "$failed"
}

# prove: "Files=3, Tests=41, ..." and "Failed 2/41 subtests"
run_tap() {
	local dir=$1 log status=0 small_fs=""
	js_log "TAP integration tests (make tapcheck)"
	# A 16 MB tmpfs for the full-disk test (test/t/017_history_faults.pl; it skips without one).
	if [ "$(id -u)" -eq 0 ] && small_fs=$(mktemp -d /tmp/job_stagger-smallfs.XXXXXX) &&
		mount -t tmpfs -o size=16m,mode=0700 tmpfs "$small_fs" && chown postgres: "$small_fs"; then
		export JS_SMALL_FS=$small_fs
	fi
	# Two files at a time (JS_TAP_JOBS=1: one): they mostly wait for the clock, and it halves the
	# wall time (32 files: 629 s instead of 1177 s, same machine and tree).
	log=$(js_as_pg make -C "$dir" PG_CONFIG="$PG_CONFIG" TAP_JOBS="${JS_TAP_JOBS:-2}" tapcheck 2>&1) || status=$?
	if [ -n "${JS_SMALL_FS:-}" ]; then
		umount "$JS_SMALL_FS" && rmdir "$JS_SMALL_FS"
		unset JS_SMALL_FS
	fi
	echo "$log" | grep -E '^(test/t/|t/|Files=|Result|#   Failed)' || true
	if [ $status -ne 0 ]; then
		echo "$log" | tail -n 40
		for f in "$dir"/tmp_check/log/*; do
			[ -f "$f" ] && { echo "--- $f"; tail -n 80 "$f"; }
		done
	fi
	local total failed died
	total=$(echo "$log" | sed -n 's/^Files=[0-9]*, Tests=\([0-9]*\),.*/\1/p' | tail -1)
	failed=$(echo "$log" | sed -n 's/.*Failed \([0-9]*\)\/[0-9]* subtests.*/\1/p' | awk '{s+=$1} END {print s+0}')
	died=$(echo "$log" | grep -c 'Wstat: .*Tests: 0 ' || true) # test files that died before any test
	[ -n "$total" ] || total=0
	failed=$((failed + died))
	[ $status -eq 0 ] || [ "$failed" -gt 0 ] || failed=1 # failed without a count
	record tap $((total - failed + died)) "$failed"
}

# make fuzz: one "fuzz-result: <name> passed|failed ..." line per target.
run_fuzz() {
	local seconds=${JS_FUZZ_SECONDS:-20} log status=0
	js_log "fuzzing (make fuzz, ${seconds}s per target)"
	log=$(make -C "$JS_ROOT" -s PG_CONFIG="$PG_CONFIG" fuzz FUZZ_SECONDS="$seconds" 2>&1) || status=$?
	echo "$log" | grep '^fuzz-result:' || true
	local passed failed
	passed=$(echo "$log" | grep -c '^fuzz-result: [a-z_]* passed' || true)
	failed=$(echo "$log" | grep -c '^fuzz-result: [a-z_]* failed' || true)
	if [ $status -ne 0 ]; then
		echo "$log" | grep -v '^fuzz-result:' | tail -n 60
		[ "$failed" -gt 0 ] || failed=1 # did not build or run
	fi
	record fuzz "$passed" "$failed"
}

# test/ha/failover.sh: "ha: N passed, N failed, N known failures ..."
run_ha() { # --streaming | --patroni, summary name
	local log status=0 passed failed known
	js_log "failover (test/ha/failover.sh $1)"
	log=$(PG_BIN=$PG_BIN bash "$JS_ROOT/test/ha/failover.sh" "$1" 2>&1) || status=$?
	echo "$log" | grep -E '^(ha-result|ha-check: (FAILED|KNOWN)|ha: )' || true
	[ $status -eq 0 ] || echo "$log" | grep -vE '^(ha-result|ha-check|ha-detail)' | tail -n 30
	read -r passed failed known < <(sed -n 's/^ha: \([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) known.*/\1 \2 \3/p' <<<"$log") || true
	if [ -z "${passed:-}" ]; then
		record "$2" 0 1 # died before its summary (its output is above)
	else
		[ $status -eq 0 ] || [ "$failed" -gt 0 ] || failed=1
		[ "$known" = 0 ] && known=
		record "$2" "$passed" "$failed" "$known"
	fi
}

# bench/soak.sh exits non-zero when its check fails (its report says why).
run_soak() {
	js_log "soak (bench/soak.sh, ${SOAK_MINUTES:-10} min)"
	if bash "$JS_ROOT/bench/soak.sh"; then
		record soak 1 0
	else
		record soak 0 1
	fi
}

# test/deb/test.sh: "deb: N passed, N failed"
run_deb() {
	local log status=0 passed failed
	js_log "Debian package (test/deb/test.sh)"
	log=$(PG_BIN=$PG_BIN bash "$JS_ROOT/test/deb/test.sh" 2>&1) || status=$?
	echo "$log" | grep -E '^(deb-build|deb-file|deb-check: FAILED|deb: )' || true
	read -r passed failed < <(sed -n 's/^deb: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' <<<"$log") || true
	if [ -z "${passed:-}" ]; then
		echo "$log" | tail -n 40
		record deb 0 1 # died before its summary
	else
		[ $status -eq 0 ] || [ "$failed" -gt 0 ] || failed=1
		record deb "$passed" "$failed"
	fi
}

run_format_check() {
	js_log "format check (clang-format)"
	if make -C "$JS_ROOT" -s format-check >/dev/null 2>&1; then
		record format 1 0
	else
		make -C "$JS_ROOT" -s format-check 2>&1 | head -20 || true
		record format 0 1
	fi
}

run_meta_check() {
	js_log "META.json (PGXN Meta Spec 1.0.0, agreement with the control file)"
	local out checks="" failed=""
	out=$(perl "$JS_ROOT/test/check_meta.pl" "$JS_ROOT" 2>&1) || true
	printf '%s\n' "$out" | grep -v '^meta:' || true
	read -r checks failed < <(sed -n 's/^meta: \([0-9]*\) checks, \([0-9]*\) failed$/\1 \2/p' <<<"$out") || true
	if [ -z "$checks" ]; then
		record meta 0 1 # the checker died before its summary (its output is above)
	else
		record meta $((checks - failed)) "$failed"
	fi
}

# As root from a directory postgres cannot read (a checkout under /root, mode
# 0700): js_as_pg and js_cluster_start must print no 'could not change
# directory' (every command run as postgres runs from /; see lib.sh).
run_first_contact() {
	js_log "first contact: the postgres commands from a mode-0700 directory"
	if [ "$(id -u)" -ne 0 ]; then
		echo "skipped: not root (only root runs commands as another user)"
		return
	fi
	local dir out failed=0
	dir=$(mktemp -d /tmp/job_stagger-private.XXXXXX) # mktemp: mode 0700, owner root
	out=$(
		cd "$dir" || exit 1
		js_as_pg "$PG_BIN/pg_ctl" --version 2>&1 >/dev/null
		js_cluster_start </dev/null 2>&1
		cat "$JS_TMP/initdb.log" "$JS_TMP/server.log"
		js_cluster_stop 2>&1
	) || failed=1
	rmdir "$dir"
	if grep -E 'could not (change directory|identify current directory)|Permission denied' <<<"$out"; then
		failed=1
	fi
	record contact $((1 - failed)) "$failed"
}

main() {
	local ha=0 soak=0 deb_only=0 arg
	for arg in "$@"; do
		case "$arg" in
		--long-fuzz) JS_FUZZ_SECONDS=${JS_FUZZ_SECONDS:-600} ;;
		--ha) ha=1 ;;
		--soak) soak=1 ;;
		--deb-only) deb_only=1 ;;
		*) js_die "unknown option $arg (use --long-fuzz, --ha, --soak, --deb-only)" ;;
		esac
	done
	js_install_deps
	js_install_deps --no-install-recommends -- "${JS_DEB_PACKAGES[@]}"
	[ $ha -eq 0 ] || js_install_deps --no-install-recommends -- "${JS_HA_PACKAGES[@]}"
	if [ $deb_only -eq 1 ]; then
		run_deb
		summary
		return
	fi
	js_build_install
	run_first_contact
	run_format_check
	run_meta_check
	run_unit
	local dir
	dir=$(installcheck_dir)
	run_regress "$dir"
	run_tap "$dir"
	[ "$dir" = "$JS_ROOT" ] || rm -rf "$dir"
	run_ha --streaming ha-stream
	run_fuzz
	[ $ha -eq 0 ] || run_ha --patroni ha-patroni
	[ $soak -eq 0 ] || run_soak
	run_deb
	summary
}

summary() {
	echo
	js_log "summary"
	printf '%s\n' "${SUMMARY[@]}"
	if [ $FAILED -ne 0 ]; then
		echo "FAILED"
		exit 1
	fi
	echo "ALL TESTS PASSED"
}

main "$@"
