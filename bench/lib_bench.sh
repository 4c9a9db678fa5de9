# shellcheck shell=bash source-path=SCRIPTDIR
# Shared helpers of the benchmarks in bench/ (on top of
# scripts/lib.sh). Source it; it defines functions and a few variables only.

# shellcheck source=../scripts/lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../scripts/lib.sh"

# a failing command inside $(...) fails the assignment too (set -e)
shopt -s inherit_errexit

BENCH_DIR=$JS_ROOT/bench
BENCH_RESULTS=$BENCH_DIR/results
BENCH_TS=$(date -u +%Y%m%dT%H%M%SZ)
BENCH_NAME=${BENCH_NAME:-bench}
BENCH_CLK_TCK=$(getconf CLK_TCK)

bench_log() { js_log "[$(date -u +%H:%M:%S)] $*"; }
bench_warn() { printf '\033[1;33mwarning: %s\033[0m\n' "$*" >&2; BENCH_WARNINGS+=("$*"); }
BENCH_WARNINGS=()

# Installs missing packages and builds/installs job_stagger, unless
# BENCH_SKIP_BUILD=1 (benchmark the job_stagger.so already installed, e.g.
# while the tree is in the middle of an edit and does not compile).
bench_prepare() {
	js_install_deps
	if [ "${BENCH_SKIP_BUILD:-0}" = 1 ]; then
		[ -f "$($PG_CONFIG --pkglibdir)/job_stagger.so" ] || js_die "BENCH_SKIP_BUILD=1 but job_stagger is not installed"
		bench_warn "BENCH_SKIP_BUILD=1: benchmarking the installed job_stagger.so, not a build of this tree"
		BENCH_BUILD="installed job_stagger.so of $(date -u -r "$($PG_CONFIG --pkglibdir)/job_stagger.so" '+%Y-%m-%d %H:%M UTC') (not built by this run)"
	else
		# what is built: the tree as it is now (other people may be editing it)
		local commit dirty
		commit=$(git -C "$JS_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
		dirty=$(git -C "$JS_ROOT" status --porcelain -- src sql Makefile 2>/dev/null | grep -c . || true)
		BENCH_BUILD="built from git $commit$([ "$dirty" -gt 0 ] && echo " + $dirty uncommitted change(s) in src/ sql/") at $(date -u '+%H:%M UTC')"
		js_build_install
	fi
}

# For the one-cluster benchmarks of SQL functions (views.sh, cancel.sh):
# bench_prepare, then a throwaway cluster whose metadata database is postgres,
# with the given shared_buffers.
bench_single_cluster() { # shared_buffers
	bench_prepare
	js_log "starting a throwaway cluster"
	js_cluster_start <<EOF
job_stagger.database_name = 'postgres'
timezone = 'UTC'
shared_buffers = '$1'
EOF
}

# No NOTICEs in the benchmark's output (job_stagger notices collisions of new jobs).
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"

# psql on the metadata database, unaligned, tuples only.
bench_sql() { js_psql -d postgres -At "$@"; }

# Seconds since the epoch, with fractions.
bench_now() { date +%s.%N; }

# Sleeps until the given epoch (seconds, may have fractions); returns at once if it is past.
bench_sleep_until() {
	local d
	d=$(awk -v t="$1" -v n="$(bench_now)" 'BEGIN { d = t - n; if (d < 0) d = 0; printf "%.3f", d }')
	sleep "$d"
}

# Milliseconds between two epochs.
bench_ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", (b - a) * 1000 }'; }

# CPU time (utime + stime, /proc/<pid>/stat) of a process in ms; the command
# name may contain spaces, so fields are counted after the last ')'.
bench_cpu_ms() {
	local stat rest
	stat=$(cat "/proc/$1/stat") || return 1
	rest=${stat##*) }
	# rest: state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime ...
	awk -v tck="$BENCH_CLK_TCK" '{ printf "%.0f", ($12 + $13) * 1000 / tck }' <<<"$rest"
}

# On-CPU time of a process in ms from /proc/<pid>/schedstat (ns resolution).
bench_sched_ms() {
	awk '{ printf "%.1f", $1 / 1e6 }' "/proc/$1/schedstat" 2>/dev/null || echo "n/a"
}

# Pid of the backend of the given backend_type in our cluster (empty if none).
bench_backend_pid() {
	bench_sql -c "SELECT pid FROM pg_stat_activity WHERE backend_type = '$1' ORDER BY backend_start LIMIT 1"
}

# Waits (up to $2 s, default 60) until a backend of type $1 shows in pg_stat_activity.
bench_wait_backend() {
	local deadline=$((SECONDS + ${2:-60}))
	while [ -z "$(bench_backend_pid "$1")" ]; do
		[ $SECONDS -lt $deadline ] || js_die "no '$1' process after ${2:-60} s (see the server log)"
		sleep 0.2
	done
}

# Waits (up to $2 s) until the SQL query $1 returns 0; warns and returns 1 on timeout.
bench_wait_zero() {
	local deadline=$((SECONDS + $2)) n
	while :; do
		n=$(bench_sql -c "$1")
		[ "$n" = 0 ] && return 0
		if [ $SECONDS -ge $deadline ]; then
			bench_warn "still $n after $2 s: $1"
			return 1
		fi
		sleep 0.2
	done
}

# Runs in progress (or backends of runs) of each system.
BENCH_JS_BUSY="SELECT (SELECT count(*) FROM job_stagger.job_run_details WHERE status IN ('starting', 'running'))
  + (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'job_stagger job')"
BENCH_CRON_BUSY="SELECT (SELECT count(*) FROM cron.job_run_details
                          WHERE status IN ('starting', 'connecting', 'sending', 'running'))
  + (SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pg_cron' OR backend_type = 'pg_cron')"

bench_wait_js_quiet() { bench_wait_zero "$BENCH_JS_BUSY" "${1:-60}"; }
bench_wait_cron_quiet() { bench_wait_zero "$BENCH_CRON_BUSY" "${1:-60}"; }

# Removes every job of both systems (API functions, one transaction each).
bench_unschedule_all() {
	bench_sql -c "SELECT count(stagger_unschedule(jobid)) FROM job_stagger.jobs" >/dev/null
	bench_sql -c "SELECT count(cron.unschedule(jobid)) FROM cron.job" >/dev/null
}

# Starts the throwaway cluster with both libraries preloaded; postgresql.conf
# lines come from stdin. cron.host is pointed at the cluster's socket directory
# (known only once the cluster exists, hence the restart), so pg_cron's libpq
# runs connect over the Unix socket. Creates both extensions and the bench
# schema, and waits for both launchers.
bench_cluster_start() {
	local conf
	conf=$(cat)
	# not through a pipe: js_cluster_start must run in this shell (it sets JS_TMP & co.)
	js_cluster_start <<-CONF
		shared_preload_libraries = 'job_stagger,pg_cron'
		job_stagger.database_name = 'postgres'
		cron.database_name = 'postgres'
		timezone = 'UTC'
		log_timezone = 'UTC'
		$conf
	CONF
	echo "cron.host = '$JS_TMP'" | js_as_pg tee -a "$JS_PGDATA/postgresql.conf" >/dev/null
	# pg_cron's launcher holds one socket per libpq run: with 1,000 runs at
	# once the usual soft limit of 1024 open files is too low, so the server
	# gets BENCH_OPEN_FILES (4096, if the hard limit allows)
	js_as_pg bash -c 'ulimit -n "$0" 2>/dev/null || true; exec "$@"' "${BENCH_OPEN_FILES:-4096}" \
		"$PG_BIN/pg_ctl" -D "$JS_PGDATA" -l "$JS_TMP/server.log" -w -t 60 restart >/dev/null ||
		{ cat "$JS_TMP/server.log" >&2; js_die "server did not restart"; }
	bench_sql -q <<-'SQL'
		CREATE EXTENSION job_stagger;
		CREATE EXTENSION pg_cron;
	SQL
	bench_schema
	bench_wait_backend 'job_stagger launcher'
	bench_wait_backend 'pg_cron launcher'
	BENCH_LOG_START=$(wc -l <"$JS_TMP/server.log")
	if [ -n "${BENCH_NICE:-}" ]; then
		# this cluster's postmaster and its children (the launchers among
		# them); every process the postmaster forks later inherits its value
		[[ $BENCH_NICE =~ ^-?[0-9]+$ ]] || js_die "BENCH_NICE must be a nice value such as -10"
		local pm
		pm=$(head -1 "$JS_PGDATA/postmaster.pid")
		# shellcheck disable=SC2046
		js_as_root renice -n "$BENCH_NICE" -p "$pm" $(pgrep -P "$pm") >/dev/null
	fi
}

# Schema "bench": phases, the runs of each phase, and their statistics.
bench_schema() {
	bench_sql -q <<-'SQL'
		CREATE SCHEMA bench;
		-- written by the commands of the benchmark jobs: when the SQL really ran
		CREATE TABLE bench.probe (tag text NOT NULL, t timestamptz NOT NULL DEFAULT clock_timestamp());
		-- one row per measured phase: one system, one job set, one time window
		CREATE TABLE bench.phases (
		    ord         serial,
		    phase       text PRIMARY KEY,
		    sys         text NOT NULL,          -- 'job_stagger' or 'pg_cron'
		    njobs       integer NOT NULL,
		    schedule    text NOT NULL,
		    unit        text NOT NULL,          -- 'minute' or 'second': what a fire instant is truncated to
		    jid_lo      bigint,                 -- jobids of the phase's jobs
		    jid_hi      bigint,
		    t0          timestamptz,            -- when the jobs were created
		    w0          timestamptz,            -- measured window: fire instants in [w0, w1)
		    w1          timestamptz,
		    expected    integer,                -- runs due in the window
		    other_runs  integer                 -- runs of the other system during the phase (must be 0)
		);
		-- every run of a phase whose fire instant is in its window
		CREATE TABLE bench.samples (
		    phase    text NOT NULL REFERENCES bench.phases,
		    due      timestamptz,               -- fire instant (NULL: pg_cron run that never started)
		    start_ts timestamptz,
		    end_ts   timestamptz,
		    status   text
		);
		CREATE FUNCTION bench.ms(x float8) RETURNS text LANGUAGE sql IMMUTABLE AS $$
		    SELECT CASE WHEN x IS NULL THEN 'n/a' WHEN abs(x) >= 100 THEN round(x::numeric, 1)::text
		                ELSE round(x::numeric, 3)::text END $$;
		CREATE FUNCTION bench.ratio(a float8, b float8) RETURNS text LANGUAGE sql IMMUTABLE AS $$
		    SELECT CASE WHEN a IS NULL OR b IS NULL THEN 'n/a'
		                WHEN b <= 0 THEN 'inf'
		                WHEN a / b >= 100 THEN round((a / b)::numeric)::text || 'x'
		                ELSE round((a / b)::numeric, 1)::text || 'x' END $$;
		CREATE VIEW bench.stats AS
		WITH lag AS (
		    SELECT s.*, extract(epoch FROM s.start_ts - s.due) * 1000 AS lag_ms FROM bench.samples s
		), ev AS (
		    SELECT phase, start_ts AS t, 1 AS d FROM bench.samples WHERE start_ts IS NOT NULL AND end_ts IS NOT NULL
		    UNION ALL
		    SELECT phase, end_ts, -1 FROM bench.samples WHERE start_ts IS NOT NULL AND end_ts IS NOT NULL
		), conc AS (  -- closed intervals: at equal instants a start counts before an end
		    SELECT phase, max(c) AS peak
		      FROM (SELECT phase, sum(d) OVER (PARTITION BY phase ORDER BY t, d DESC ROWS UNBOUNDED PRECEDING) AS c
		              FROM ev) x
		     GROUP BY phase
		), st AS (
		    SELECT phase, count(*) AS rows, count(start_ts) AS runs,
		           count(*) FILTER (WHERE status IS DISTINCT FROM 'succeeded') AS not_ok,
		           percentile_cont(0.50) WITHIN GROUP (ORDER BY lag_ms) AS p50,
		           percentile_cont(0.95) WITHIN GROUP (ORDER BY lag_ms) AS p95,
		           percentile_cont(0.99) WITHIN GROUP (ORDER BY lag_ms) AS p99,
		           min(lag_ms) AS min_lag, max(lag_ms) AS max_lag
		      FROM lag GROUP BY phase
		), statuses AS (
		    SELECT phase, string_agg(status || ' ' || n, ', ' ORDER BY n DESC) AS statuses
		      FROM (SELECT phase, coalesce(status, '?') AS status, count(*) AS n FROM bench.samples GROUP BY 1, 2) x
		     GROUP BY phase
		), probe AS (  -- when the command's first statement really ran, against the same fire instant
		    SELECT p.phase, count(*) AS n,
		           percentile_cont(0.50) WITHIN GROUP (ORDER BY l) AS p50,
		           percentile_cont(0.99) WITHIN GROUP (ORDER BY l) AS p99,
		           max(l) AS max
		      FROM bench.phases p
		      JOIN LATERAL (SELECT extract(epoch FROM b.t - date_trunc(p.unit, b.t)) * 1000 AS l
		                      FROM bench.probe b
		                     WHERE b.tag = p.phase AND date_trunc(p.unit, b.t) >= p.w0
		                       AND date_trunc(p.unit, b.t) < p.w1) x ON true
		     GROUP BY p.phase
		)
		SELECT p.ord, p.phase, p.sys, p.njobs, p.schedule, p.expected, p.other_runs,
		       coalesce(st.runs, 0) AS runs, coalesce(st.rows, 0) AS rows, coalesce(st.not_ok, 0) AS not_ok,
		       st.p50, st.p95, st.p99, st.min_lag, st.max_lag, coalesce(conc.peak, 0) AS peak, statuses.statuses,
		       probe.n AS probe_n, probe.p50 AS probe_p50, probe.p99 AS probe_p99, probe.max AS probe_max
		  FROM bench.phases p
		  LEFT JOIN st USING (phase) LEFT JOIN conc USING (phase) LEFT JOIN statuses USING (phase)
		  LEFT JOIN probe USING (phase);
	SQL
}

# Copies the runs of a phase whose fire instant is in its window into bench.samples.
bench_collect() { # phase
	bench_sql -q <<-SQL
		INSERT INTO bench.samples (phase, due, start_ts, end_ts, status)
		SELECT p.phase, r.scheduled_at, r.started_at, r.ended_at, r.status
		  FROM bench.phases p JOIN job_stagger.job_run_details r ON r.jobid BETWEEN p.jid_lo AND p.jid_hi
		 WHERE p.phase = '$1' AND p.sys = 'job_stagger' AND r.scheduled_at >= p.w0 AND r.scheduled_at < p.w1;
		-- pg_cron has no due instant: a run belongs to the minute in which it started
		INSERT INTO bench.samples (phase, due, start_ts, end_ts, status)
		SELECT p.phase, date_trunc(p.unit, r.start_time), r.start_time, r.end_time, r.status
		  FROM bench.phases p JOIN cron.job_run_details r ON r.jobid BETWEEN p.jid_lo AND p.jid_hi
		 WHERE p.phase = '$1' AND p.sys = 'pg_cron'
		   AND (r.start_time IS NULL
		        OR (date_trunc(p.unit, r.start_time) >= p.w0 AND date_trunc(p.unit, r.start_time) < p.w1));
	SQL
}

# Runs of the other system that started (or were due) since the phase's jobs were created.
bench_check_other() { # phase
	bench_sql -q <<-SQL
		UPDATE bench.phases p SET other_runs = CASE p.sys
		    WHEN 'job_stagger' THEN (SELECT count(*) FROM cron.job_run_details r
		                              WHERE r.start_time >= p.t0 OR r.end_time >= p.t0)
		    ELSE (SELECT count(*) FROM job_stagger.job_run_details r
		           WHERE coalesce(r.started_at, r.scheduled_at) >= p.t0) END
		 WHERE p.phase = '$1';
	SQL
	local n
	n=$(bench_sql -c "SELECT other_runs FROM bench.phases WHERE phase = '$1'")
	[ "$n" = 0 ] || bench_warn "phase $1: $n run(s) of the other system during the phase"
}

# Schedules n jobs of one system in one transaction, named <phase>_<i>;
# prints "<lo> <hi>", their jobids. $6 = overlap policy (job_stagger only).
bench_schedule_jobs() { # sys phase n schedule command [overlap]
	local sys=$1 phase=$2 n=$3 sched=$4 cmd=$5 overlap=${6:-}
	if [ "$sys" = job_stagger ]; then
		bench_sql -c "SELECT count(stagger_schedule(format('%s_%s', '$phase', i), '$sched', \$cmd\$$cmd\$cmd\$))
		                FROM generate_series(1, $n) i" >/dev/null
		[ -z "$overlap" ] ||
			bench_sql -c "SELECT count(stagger_alter_job(jobid, overlap => '$overlap')) FROM job_stagger.jobs
			                WHERE job_name ~ '^${phase}_[0-9]+\$'" >/dev/null
		bench_sql -F' ' -c "SELECT min(jobid), max(jobid) FROM job_stagger.jobs WHERE job_name ~ '^${phase}_[0-9]+\$'"
	else
		bench_sql -c "SELECT count(cron.schedule(format('%s_%s', '$phase', i), '$sched', \$cmd\$$cmd\$cmd\$))
		                FROM generate_series(1, $n) i" >/dev/null
		bench_sql -F' ' -c "SELECT min(jobid), max(jobid) FROM cron.job WHERE jobname ~ '^${phase}_[0-9]+\$'"
	fi
}

bench_unschedule_jobs() { # sys phase
	if [ "$1" = job_stagger ]; then
		bench_sql -c "SELECT count(stagger_unschedule(jobid)) FROM job_stagger.jobs WHERE job_name ~ '^${2}_[0-9]+\$'" >/dev/null
	else
		bench_sql -c "SELECT count(cron.unschedule(jobid)) FROM cron.job WHERE jobname ~ '^${2}_[0-9]+\$'" >/dev/null
	fi
}

# Finished runs of jobids lo..hi due at the given minute (epoch).
bench_finished_at() { # sys lo hi epoch
	if [ "$1" = job_stagger ]; then
		bench_sql -c "SELECT count(*) FROM job_stagger.job_run_details WHERE jobid BETWEEN $2 AND $3
		                AND scheduled_at = to_timestamp($4) AND status NOT IN ('starting', 'running')"
	else
		bench_sql -c "SELECT count(*) FROM cron.job_run_details WHERE jobid BETWEEN $2 AND $3
		                AND date_trunc('minute', start_time) = to_timestamp($4) AND status IN ('succeeded', 'failed')"
	fi
}

# One measured phase: n jobs of one system on one schedule, measured over a
# window of `count` fire instants (minutes, or seconds for kind "second").
# Before: nothing of either system is scheduled or running, and both launchers
# are up. The window starts at the first full minute (second) that is at least
# 5 s (3 s) after the jobs were committed, so the scheduler has picked them up.
# Minute phases end once the runs of the last minute have finished (at most
# 50 s after it); the jobs are then removed, their runs collected into
# bench.samples, and the other system checked for runs during the phase.
bench_phase() { # sys phase n schedule command kind count
	local sys=$1 phase=$2 n=$3 sched=$4 cmd=$5 kind=$6 count=$7 unit lo hi t0 w0 w1 last overlap=
	if [ "$kind" = second ]; then unit=second overlap=allow; else unit=minute; fi

	bench_wait_js_quiet 120 || true
	bench_wait_cron_quiet 120 || true
	[ "$(bench_sql -c "SELECT (SELECT count(*) FROM job_stagger.jobs) + (SELECT count(*) FROM cron.job)")" = 0 ] ||
		js_die "jobs left over from an earlier phase"
	bench_wait_backend 'job_stagger launcher' 30
	bench_wait_backend 'pg_cron launcher' 30

	t0=$(bench_sql -c "SELECT extract(epoch FROM clock_timestamp())")
	read -r lo hi < <(bench_schedule_jobs "$sys" "$phase" "$n" "$sched" "$cmd" "$overlap")
	if [ "$kind" = second ]; then
		read -r w0 w1 < <(bench_sql -F' ' -c "SELECT extract(epoch FROM w0), extract(epoch FROM w0 + interval '$count s')
		   FROM (SELECT date_trunc('second', clock_timestamp()) + interval '3 s' AS w0) x")
	else
		read -r w0 w1 < <(bench_sql -F' ' -c "SELECT extract(epoch FROM w0), extract(epoch FROM w0 + interval '$count min')
		   FROM (SELECT date_trunc('minute', clock_timestamp() + interval '5 s') + interval '1 min' AS w0) x")
	fi
	bench_sql -c "INSERT INTO bench.phases (phase, sys, njobs, schedule, unit, jid_lo, jid_hi, t0, w0, w1, expected)
	              VALUES ('$phase', '$sys', $n, '$sched', '$unit', $lo, $hi, to_timestamp($t0),
	                      to_timestamp($w0), to_timestamp($w1), $n * $count)"
	bench_log "$phase: $n jobs '$sched', window $(date -u -d "@${w0%.*}" +%H:%M:%S) - $(date -u -d "@${w1%.*}" +%H:%M:%S)"

	if [ "$kind" = second ]; then
		bench_sleep_until "$w1"
	else
		last=$(awk -v w="$w1" 'BEGIN { printf "%.0f", w - 60 }')
		bench_sleep_until "$((last + 1))"
		while [ "$(bench_finished_at "$sys" "$lo" "$hi" "$last")" -lt "$n" ]; do
			if awk -v l="$last" -v n="$(bench_now)" 'BEGIN { exit !(n > l + 50) }'; then
				bench_warn "$phase: not all $n runs of the last minute had finished 50 s after it"
				break
			fi
			sleep 0.5
		done
	fi
	bench_unschedule_jobs "$sys" "$phase"
	if [ "$sys" = job_stagger ]; then bench_wait_js_quiet 120 || true; else bench_wait_cron_quiet 120 || true; fi
	bench_collect "$phase"
	bench_check_other "$phase"
	bench_sql -c "SELECT format('    %s/%s runs, p50 %s ms, p99 %s ms, max %s ms, peak concurrency %s',
	                            runs, expected, bench.ms(p50), bench.ms(p99), bench.ms(max_lag), peak)
	                FROM bench.stats WHERE phase = '$phase'" >&2
}

# WARNING/ERROR/FATAL lines of the server log since the cluster was ready, as a markdown list of distinct
# messages with their counts (the log prefix is cut off).
bench_log_problems_md() {
	[ -n "${JS_TMP:-}" ] && [ -f "$JS_TMP/server.log" ] || return 0
	local lines
	lines=$(tail -n +"$((${BENCH_LOG_START:-0} + 1))" "$JS_TMP/server.log" | grep -E '(WARNING|ERROR|FATAL|PANIC):' |
		sed -E 's/^[0-9-]+ [0-9:.]+ [A-Z]+ \[[0-9]+\] //; s/[0-9]+/N/g' | sort | uniq -c | sort -rn | head -20 || true)
	if [ -z "$lines" ]; then
		echo "- none"
	else
		while read -r count msg; do echo "- ${count}x \`${msg}\`"; done <<<"$lines"
	fi
}

# The server log's warnings and errors and the run's warnings (markdown): the end of every results file.
bench_log_md() {
	echo
	echo "## Server log: warnings and errors (digits replaced by N)"
	echo
	bench_log_problems_md
	if [ ${#BENCH_WARNINGS[@]} -gt 0 ]; then
		echo
		echo "## Warnings"
		echo
		for w in "${BENCH_WARNINGS[@]}"; do echo "- $w"; done
	fi
}

# Once the throwaway cluster is up: the extension, the results file
# $BENCH_RESULTS/<name>_<ts>.md in OUT, the launcher's PID in LAUNCHER, the
# server log's length in BENCH_LOG_START (BENCH_NICE renices the server).
bench_js_ready() { # name
	bench_sql -q -c "CREATE EXTENSION job_stagger"
	if [ -n "${BENCH_NICE:-}" ]; then
		local pm
		pm=$(head -1 "$JS_PGDATA/postmaster.pid")
		# shellcheck disable=SC2046
		js_as_root renice -n "$BENCH_NICE" -p "$pm" $(pgrep -P "$pm") >/dev/null
	fi
	mkdir -p "$BENCH_RESULTS"
	OUT=$BENCH_RESULTS/$1_$BENCH_TS.md
	bench_wait_backend 'job_stagger launcher'
	LAUNCHER=$(bench_backend_pid 'job_stagger launcher')
	# shellcheck disable=SC2034 # read by bench_log_problems_md
	BENCH_LOG_START=$(wc -l <"$JS_TMP/server.log")
}

# The end of every results file: statuses per phase, server log problems, the run's warnings (markdown).
bench_outcomes_md() {
	echo "| phase | statuses | runs of the other system during the phase |"
	echo "| --- | --- | ---: |"
	bench_sql -c "SELECT format('| %s | %s | %s |', phase, coalesce(statuses, 'none'), other_runs) FROM bench.stats ORDER BY ord"
	bench_log_md
}

# Exit trap: keeps the server log next to the results, stops the cluster.
bench_cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	[ -z "${BENCH_EXTRA_CLEANUP:-}" ] || eval "$BENCH_EXTRA_CLEANUP" || true
	if [ -n "${JS_TMP:-}" ] && [ -f "$JS_TMP/server.log" ]; then
		mkdir -p "$BENCH_RESULTS"
		cp "$JS_TMP/server.log" "$BENCH_RESULTS/${BENCH_NAME}_${BENCH_TS}.server.log" 2>/dev/null || true
	fi
	js_cluster_stop
	exit "$rc"
}

bench_traps() {
	trap bench_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# Environment of the run, as markdown bullet lines.
bench_env_md() {
	echo "- host: $(nproc) CPUs, $(awk '/MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo) RAM, $(uname -sr)"
	echo "- load average at start: $BENCH_LOAD_START (other clusters on this machine add noise)"
	[ -z "${BENCH_NICE:-}" ] || echo "- BENCH_NICE=$BENCH_NICE: every process of the benchmark cluster (both systems alike) runs at nice $BENCH_NICE, to keep other workloads of the machine out of the numbers"
	echo "- PostgreSQL $(bench_sql -c 'SHOW server_version'); pg_cron $(bench_sql -c "SELECT extversion FROM pg_extension WHERE extname = 'pg_cron'") (Debian $(dpkg-query -W -f='${Version}' "postgresql-$PG_MAJOR-cron" 2>/dev/null)); job_stagger $(bench_sql -c "SELECT extversion FROM pg_extension WHERE extname = 'job_stagger'"), ${BENCH_BUILD:-unknown build}"
}
BENCH_LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
