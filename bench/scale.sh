#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Scale of job_stagger versus pg_cron, on one throwaway cluster that preloads
# both libraries:
#
# (a) Many idle jobs. BENCH_SCALE_JOBS (10,000) jobs that cannot fire during
#     the run (minute i % 60, hour (i / 60) % 24, day 1 of a month five months
#     away). For each system: the time to schedule them with its API in one
#     transaction, and with one autocommit statement each (psql -f), with the
#     launcher's CPU time meanwhile until it is idle again; each of these two
#     steps is cut off after BENCH_SCHEDULE_LIMIT s (120) and then reported as
#     "> limit" (a cut-off per-statement step is completed with one plain
#     INSERT, so that the next step has all the jobs). Then the launcher's CPU
#     time (utime + stime from /proc/<pid>/stat, and on-CPU time from
#     /proc/<pid>/schedstat) over BENCH_IDLE_SECONDS (60) with the jobs loaded,
#     next to the other launcher with no job at all; and the cost of
#     scheduling one more job (API latency, launcher CPU in the next 3 s).
# (b) Bursts. For each N in BENCH_BURST_JOBS ("200 1000"): N jobs '* * * * *'
#     due in the same second, one minute boundary per system; command
#         INSERT INTO bench.probe (tag) VALUES ('<phase>'); SELECT pg_sleep(0.5)
#     How many started, start lag p50/p95/p99/max (max = time until the last
#     one started), peak concurrency, outcomes, and what the server log
#     complains about. Caps are raised (for the largest N) so that neither
#     system queues by configuration: job_stagger.max_running_jobs =
#     cron.max_running_jobs = N + 50, max_worker_processes = N + 60,
#     max_connections = N + 100.
#
# (c) Bulk scheduling. BENCH_BULK_JOBS (10,000) jobs with each system's API,
#     side by side in the same run, for each of {one statement (`SELECT
#     count(f(...)) FROM generate_series`), one autocommit statement each
#     (psql -f)} x {sparse (the idle jobs of (a)), frequent (the schedules of
#     issue 12: '* * * * *', '*/5 * * * *', '*/10 * * * *', '0 * * * *',
#     '30 2 * * *', '15 */2 * * 1-5', job i gets number 1 + i % 6)}; both
#     tables emptied (TRUNCATE) and both launchers idle before each case;
#     NOTICEs are sent (client_min_messages = notice, output discarded), as a
#     new user would get them. A case with frequent jobs starts early in a
#     minute so that none of its jobs fires before it is removed again.
#     BENCH_BULK_REPEAT (1; quick: 3) runs per case, median reported; each run
#     cut off after BENCH_SCHEDULE_LIMIT s.
#
# Runtime with the defaults: 8 to 12 minutes: about 7.5 min of fixed cost (2 x
# 60 s idle windows, 4 burst minutes, alignment to minute boundaries, pg_cron's
# scheduling) plus job_stagger's scheduling steps, at most 2 x 120 s; plus
# (c), about 3-5 minutes (mostly the autocommit cases, which wait for a
# commit each, and the alignment of the frequent cases to a minute).
# BENCH_SCALE_IDLE=0 skips (a), BENCH_SCALE_BURST=0 skips (b),
# BENCH_SCALE_BULK=0 skips (c); BENCH_SCALE_BULK_ONLY=1 runs (c) only.
# BENCH_QUICK=1: 1,000 jobs, 15 s idle windows, 30 s limit, 40-job bursts
# (about 3-4 min).
#
# Environment: BENCH_SCALE_JOBS, BENCH_IDLE_SECONDS, BENCH_SCHEDULE_LIMIT,
# BENCH_BURST_JOBS (a list of burst sizes), BENCH_BURST_SLEEP (0.5),
# BENCH_BULK_JOBS, BENCH_BULK_REPEAT,
# BENCH_SCALE_IDLE=0 (skip (a)), BENCH_CRON_BGW=1 (pg_cron with
# background workers instead of libpq connections), BENCH_NICE=-10 (the
# cluster's processes, both systems alike, at that nice value, against noise
# from other work), BENCH_SKIP_BUILD=1, BENCH_QUICK=1.
#
# Output: a markdown summary in bench/results/scale_<timestamp>.md (also
# printed), and the server log next to it.
set -euo pipefail
# shellcheck disable=SC2034 # read by lib_bench.sh
BENCH_NAME=scale
# shellcheck source=lib_bench.sh
. "$(dirname "$0")/lib_bench.sh"

QUICK=${BENCH_QUICK:-0}
if [ "$QUICK" = 1 ]; then
	NJOBS=${BENCH_SCALE_JOBS:-1000} IDLE=${BENCH_IDLE_SECONDS:-15} BURST=${BENCH_BURST_JOBS:-40}
	LIMIT=${BENCH_SCHEDULE_LIMIT:-30} BULK_JOBS=${BENCH_BULK_JOBS:-1000} BULK_REPEAT=${BENCH_BULK_REPEAT:-3}
else
	NJOBS=${BENCH_SCALE_JOBS:-10000} IDLE=${BENCH_IDLE_SECONDS:-60} BURST=${BENCH_BURST_JOBS:-"200 1000"}
	LIMIT=${BENCH_SCHEDULE_LIMIT:-120} BULK_JOBS=${BENCH_BULK_JOBS:-10000} BULK_REPEAT=${BENCH_BULK_REPEAT:-1}
fi
SCALE_BURST=${BENCH_SCALE_BURST:-1}
SCALE_BULK=${BENCH_SCALE_BULK:-1}
if [ "${BENCH_SCALE_BULK_ONLY:-0}" = 1 ]; then
	SCALE_IDLE=0 SCALE_BURST=0 SCALE_BULK=1
fi
BURST_SLEEP=${BENCH_BURST_SLEEP:-0.5}
CRON_BGW=${BENCH_CRON_BGW:-0}
SCALE_IDLE=${SCALE_IDLE:-${BENCH_SCALE_IDLE:-1}}
for v in $NJOBS $IDLE $BURST $LIMIT $BULK_JOBS $BULK_REPEAT; do
	[[ $v =~ ^[1-9][0-9]*$ ]] || js_die "job counts and seconds must be positive integers, got '$v'"
done
[[ $BURST_SLEEP =~ ^[0-9]+(\.[0-9]+)?$ ]] || js_die "BENCH_BURST_SLEEP must be a number of seconds"
MAXBURST=0
for n in $BURST; do [ "$n" -gt "$MAXBURST" ] && MAXBURST=$n; done
MAXRUN=$((MAXBURST + 50))
if [ "$CRON_BGW" = 1 ]; then CRON_MODE="background workers"; CRON_BGW_CONF=on; else
	CRON_MODE="libpq connections over the Unix socket"; CRON_BGW_CONF=off; fi
# A month five months away: the idle jobs cannot fire during the run.
IDLE_MONTH=$(((10#$(date -u +%m) + 4) % 12 + 1))

bench_traps
bench_prepare
mkdir -p "$BENCH_RESULTS"
OUT=$BENCH_RESULTS/scale_$BENCH_TS.md
WORK=$(mktemp -d /tmp/job_stagger_bench.XXXXXX)
chmod 755 "$WORK"
# shellcheck disable=SC2034 # read by bench_cleanup
BENCH_EXTRA_CLEANUP="rm -rf $WORK"
declare -A R # results, by <js|cron>_<what>

bench_log "starting a throwaway cluster with job_stagger and pg_cron preloaded"
bench_cluster_start <<-CONF
	job_stagger.enabled = off
	job_stagger.max_running_jobs = $MAXRUN
	cron.max_running_jobs = $MAXRUN
	cron.use_background_workers = $CRON_BGW_CONF
	max_worker_processes = $((MAXBURST + 60))
	max_connections = $((MAXBURST + 100))
CONF
bench_log "cluster on 127.0.0.1:$JS_PORT ($JS_PGDATA)"
JS_PID=$(bench_backend_pid 'job_stagger launcher')
CRON_PID=$(bench_backend_pid 'pg_cron launcher')

# ---------------------------------------------------------------- (a) idle jobs

# SQL expressions of job i's name, schedule and command.
IDLE_NAME="format('idle_%s', i)"
IDLE_SCHED="format('%s %s 1 $IDLE_MONTH *', i % 60, (i / 60) % 24)"
IDLE_CMD="'SELECT 1'"

# Runs one SQL statement, canceled after LIMIT s (statement_timeout); prints
# its elapsed seconds, or "> LIMIT s (canceled)".
timed_sql() { # sql
	local a b
	a=$(bench_now)
	if PGOPTIONS="$PGOPTIONS -c statement_timeout=${LIMIT}s" bench_sql -c "$1" >/dev/null 2>"$WORK/err"; then
		b=$(bench_now)
		awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f s", b - a }'
	elif grep -q 'statement timeout' "$WORK/err"; then
		echo "> $LIMIT s (canceled)"
	else
		cat "$WORK/err" >&2
		return 1
	fi
}

# Waits until the process is idle (under 1% of a core, i.e. < 5 ms of CPU per
# 0.5 s, for 2 s; at most 600 s); prints how long after the call it was last
# busier than that (s, 0.5 s resolution).
settle() { # pid
	local start last now still=0 busy=0
	start=$(bench_now)
	last=$(bench_sched_ms "$1")
	while [ "$still" -lt 4 ]; do
		sleep 0.5
		now=$(bench_sched_ms "$1")
		if awk -v a="$last" -v b="$now" 'BEGIN { exit !(b - a < 5) }'; then
			still=$((still + 1))
		else
			still=0 busy=$(awk -v a="$start" -v n="$(bench_now)" 'BEGIN { printf "%.1f", n - a }')
		fi
		last=$now
		if awk -v a="$start" -v n="$(bench_now)" 'BEGIN { exit !(n - a > 600) }'; then
			bench_warn "process $1 still busy 600 s later"
			break
		fi
	done
	echo "$busy"
}

# SQL printing one "SELECT <fn>(name, schedule, command);" line per idle job.
idle_jobs_sql() { # schedule-function
	echo "SELECT format('SELECT $1(%L, %L, %L);', $IDLE_NAME, $IDLE_SCHED, 'SELECT 1') FROM generate_series(1, $NJOBS) i"
}

# One system: schedule NJOBS in one transaction and remove them again;
# schedule them with one autocommit statement each (the launcher's CPU
# meanwhile); measure both launchers over IDLE s; the cost of one more job;
# remove the jobs. Each scheduling step is cut off after LIMIT s. Results go
# to R[<js|cron>_<what>].
idle_phase() { # sys
	local sys=$1 key fn unschedule_sql count_sql pid other_pid type file
	if [ "$sys" = job_stagger ]; then
		key=js fn=stagger_schedule pid=$JS_PID other_pid=$CRON_PID type='job_stagger launcher'
		unschedule_sql="SELECT count(stagger_unschedule(jobid)) FROM job_stagger.jobs"
		count_sql="SELECT count(*) FROM job_stagger.jobs"
	else
		key=cron fn=cron.schedule pid=$CRON_PID other_pid=$JS_PID type='pg_cron launcher'
		unschedule_sql="SELECT count(cron.unschedule(jobid)) FROM cron.job"
		count_sql="SELECT count(*) FROM cron.job"
	fi

	bench_log "$sys: scheduling $NJOBS idle jobs in one transaction"
	R[${key}_bulk]=$(timed_sql "SELECT count($fn($IDLE_NAME, $IDLE_SCHED, $IDLE_CMD)) FROM generate_series(1, $NJOBS) i")
	settle "$pid" >/dev/null
	if [ "$(bench_sql -c "$count_sql")" = "$NJOBS" ]; then
		R[${key}_unsched]=$(timed_sql "$unschedule_sql")
		settle "$pid" >/dev/null
	else
		R[${key}_unsched]="n/a"
	fi

	bench_log "$sys: scheduling $NJOBS idle jobs, one autocommit statement each (psql -f, at most $LIMIT s)"
	file=$WORK/schedule_$key.sql
	bench_sql -c "$(idle_jobs_sql "$fn")" >"$file"
	local cpu0 sch0 t0 t1 psql_pid done_jobs
	cpu0=$(bench_cpu_ms "$pid") sch0=$(bench_sched_ms "$pid") t0=$(bench_now)
	"$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$JS_PORT" -U postgres -d postgres -At -f "$file" >/dev/null &
	psql_pid=$!
	while kill -0 "$psql_pid" 2>/dev/null &&
		awk -v a="$t0" -v n="$(bench_now)" -v l="$LIMIT" 'BEGIN { exit !(n - a < l) }'; do
		sleep 0.2
	done
	t1=$(bench_now)
	if kill -0 "$psql_pid" 2>/dev/null; then
		kill "$psql_pid"
		wait "$psql_pid" || true
		bench_wait_zero "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()" 60 || true
		done_jobs=$(bench_sql -c "$count_sql")
		R[${key}_each]="> $LIMIT s ($done_jobs of $NJOBS done, $(awk -v n="$done_jobs" -v l="$LIMIT" 'BEGIN { printf "%.0f", n / l }') jobs/s)"
	else
		wait "$psql_pid" || js_die "$sys: scheduling with psql -f failed"
		R[${key}_each]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f s", b - a }')
	fi
	R[${key}_settle]=$(settle "$pid")
	R[${key}_loadcpu]=$(($(bench_cpu_ms "$pid") - cpu0))
	R[${key}_loadsched]=$(awk -v a="$sch0" -v b="$(bench_sched_ms "$pid")" 'BEGIN { printf "%.0f", b - a }')
	done_jobs=$(bench_sql -c "$count_sql")
	if [ "$done_jobs" -lt "$NJOBS" ]; then
		# cut off: add the rest with one plain INSERT (explicit offsets, so the
		# table triggers do not look for a free second per job)
		bench_log "$sys: adding the other $((NJOBS - done_jobs)) jobs in one statement for the idle measurement"
		if [ "$sys" = job_stagger ]; then
			bench_sql -c "INSERT INTO job_stagger.jobs (job_name, schedule, command, offset_seconds)
			              SELECT $IDLE_NAME, $IDLE_SCHED, $IDLE_CMD, 0 FROM generate_series(1, $NJOBS) i
			              ON CONFLICT DO NOTHING" >/dev/null
		else
			bench_sql -c "SELECT count($fn($IDLE_NAME, $IDLE_SCHED, $IDLE_CMD)) FROM generate_series($done_jobs + 1, $NJOBS) i" >/dev/null
		fi
		settle "$pid" >/dev/null
		R[${key}_topped]=1
	fi
	[ "$(bench_sql -c "$count_sql")" = "$NJOBS" ] || js_die "$sys: expected $NJOBS jobs"

	bench_log "$sys: launcher CPU over $IDLE s with $NJOBS jobs loaded"
	local runs0 runs1 c0 s0 o0 os0
	runs0=$(bench_sql -c "SELECT (SELECT count(*) FROM job_stagger.job_run_details) + (SELECT count(*) FROM cron.job_run_details)")
	c0=$(bench_cpu_ms "$pid") s0=$(bench_sched_ms "$pid") o0=$(bench_cpu_ms "$other_pid") os0=$(bench_sched_ms "$other_pid")
	sleep "$IDLE"
	R[${key}_idle]=$(($(bench_cpu_ms "$pid") - c0))
	R[${key}_idlesched]=$(awk -v a="$s0" -v b="$(bench_sched_ms "$pid")" 'BEGIN { printf "%.1f", b - a }')
	R[${key}_other]=$(($(bench_cpu_ms "$other_pid") - o0))
	R[${key}_othersched]=$(awk -v a="$os0" -v b="$(bench_sched_ms "$other_pid")" 'BEGIN { printf "%.1f", b - a }')
	runs1=$(bench_sql -c "SELECT (SELECT count(*) FROM job_stagger.job_run_details) + (SELECT count(*) FROM cron.job_run_details)")
	[ "$runs0" = "$runs1" ] || bench_warn "$sys idle window: $((runs1 - runs0)) run(s) recorded, expected none"
	[ "$(bench_backend_pid "$type")" = "$pid" ] || bench_warn "$sys: the launcher restarted during the measurement"

	bench_log "$sys: one more job with $NJOBS loaded"
	s0=$(bench_sched_ms "$pid")
	R[${key}_one]=$(timed_sql "SELECT $fn('idle_extra', '0 0 1 $IDLE_MONTH *', 'SELECT 1')")
	sleep 3
	R[${key}_onecpu]=$(awk -v a="$s0" -v b="$(bench_sched_ms "$pid")" 'BEGIN { printf "%.1f", b - a }')

	bench_sql -c "$unschedule_sql" >/dev/null
	settle "$pid" >/dev/null
}

if [ "$SCALE_IDLE" != 0 ]; then
	idle_phase job_stagger
	idle_phase pg_cron
fi

# ---------------------------------------------------------------- (b) burst

burst_cmd() { echo "INSERT INTO bench.probe (tag) VALUES ('$1'); SELECT pg_sleep($BURST_SLEEP)"; }
if [ "$SCALE_BURST" != 0 ]; then
	for n in $BURST; do
		bench_phase job_stagger "job_stagger_burst_$n" "$n" '* * * * *' "$(burst_cmd "job_stagger_burst_$n")" minute 1
		bench_phase pg_cron "pg_cron_burst_$n" "$n" '* * * * *' "$(burst_cmd "pg_cron_burst_$n")" minute 1
	done
fi

# ---------------------------------------------------------------- (c) bulk scheduling

BULK_FREQUENT="(ARRAY['* * * * *', '*/5 * * * *', '*/10 * * * *', '0 * * * *', '30 2 * * *', '15 */2 * * 1-5'])[1 + i % 6]"

# Empties both job tables and waits until both launchers are idle.
bulk_reset() {
	bench_sql -c "TRUNCATE job_stagger.jobs; TRUNCATE cron.job" >/dev/null
	settle "$JS_PID" >/dev/null
	settle "$CRON_PID" >/dev/null
}

# Frequent jobs would fire at the next minute boundary: start the case only
# when at least $1 s of the minute are left, so that it ends (and its jobs are
# removed) before the boundary.
bulk_align() { # seconds needed
	local sec
	sec=$((10#$(date -u +%S)))
	if [ $((60 - sec)) -lt "$1" ]; then
		sleep $((61 - sec))
	fi
}

# One run of one case; prints its seconds, or "> LIMIT" when cut off.
bulk_run() { # sys kind mode
	local fn sched a b psql_pid
	if [ "$1" = job_stagger ]; then fn=stagger_schedule; else fn=cron.schedule; fi
	if [ "$2" = frequent ]; then sched=$BULK_FREQUENT; else sched=$IDLE_SCHED; fi
	if [ "$3" = statement ]; then
		[ "$2" = sparse ] || bulk_align 20
		a=$(bench_now)
		if ! PGOPTIONS="$PGOPTIONS -c client_min_messages=notice -c statement_timeout=${LIMIT}s" bench_sql \
			-c "SELECT count($fn('s' || i, $sched, 'SELECT 1')) FROM generate_series(1, $BULK_JOBS) i" \
			>/dev/null 2>"$WORK/bulk_err"; then
			grep -q 'statement timeout' "$WORK/bulk_err" || { cat "$WORK/bulk_err" >&2; return 1; }
			echo "> $LIMIT"
			return 0
		fi
		b=$(bench_now)
	else
		bench_sql -c "SELECT format('SELECT $fn(%L, %L, %L);', 's' || i, $sched, 'SELECT 1')
		              FROM generate_series(1, $BULK_JOBS) i" >"$WORK/bulk.sql"
		[ "$2" = sparse ] || bulk_align $((BULK_JOBS * 53 / 10000 + 5 > 58 ? 58 : BULK_JOBS * 53 / 10000 + 5))
		a=$(bench_now)
		PGOPTIONS="$PGOPTIONS -c client_min_messages=notice" "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 \
			-p "$JS_PORT" -U postgres -d postgres -At -f "$WORK/bulk.sql" >/dev/null 2>"$WORK/bulk_err" &
		psql_pid=$!
		while kill -0 "$psql_pid" 2>/dev/null &&
			awk -v a="$a" -v n="$(bench_now)" -v l="$LIMIT" 'BEGIN { exit !(n - a < l) }'; do
			sleep 0.05
		done
		b=$(bench_now)
		if kill -0 "$psql_pid" 2>/dev/null; then
			kill "$psql_pid"
			wait "$psql_pid" || true
			echo "> $LIMIT"
			return 0
		fi
		wait "$psql_pid" || { cat "$WORK/bulk_err" >&2; return 1; }
	fi
	bench_sql -c "TRUNCATE job_stagger.jobs; TRUNCATE cron.job" >/dev/null
	awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", b - a }'
}

# Median of the runs ("> LIMIT" sorts last).
bulk_median() { printf '%s\n' "$@" | sed 's/^> /9999 /' | sort -n | awk '{ v[NR] = $0 } END { m = v[int((NR + 1) / 2)]; sub(/^9999 /, "> ", m); print m }'; }

RUNS_SQL="SELECT (SELECT count(*) FROM job_stagger.job_run_details) + (SELECT count(*) FROM cron.job_run_details)"
if [ "$SCALE_BULK" != 0 ]; then
	bulk_reset
	bulk_runs0=$(bench_sql -c "$RUNS_SQL")
	for kind in sparse frequent; do
		for mode in statement autocommit; do
			declare -a js_runs=() cron_runs=()
			for ((r = 1; r <= BULK_REPEAT; r++)); do
				for sys in job_stagger pg_cron; do
					bench_log "bulk: $BULK_JOBS $kind jobs, $mode, $sys (run $r of $BULK_REPEAT)"
					bulk_reset
					t=$(bulk_run "$sys" "$kind" "$mode") || js_die "bulk: $sys $kind $mode failed"
					if [ "$sys" = job_stagger ]; then js_runs+=("$t"); else cron_runs+=("$t"); fi
				done
			done
			R[bulk_js_${kind}_$mode]=$(bulk_median "${js_runs[@]}")
			R[bulk_cron_${kind}_$mode]=$(bulk_median "${cron_runs[@]}")
			R[bulk_runs_${kind}_$mode]="${js_runs[*]} | ${cron_runs[*]}"
		done
	done
	bulk_reset
	runs=$(($(bench_sql -c "$RUNS_SQL") - bulk_runs0))
	[ "$runs" = 0 ] || bench_warn "bulk: $runs run(s) of the scheduled jobs recorded, expected none"
fi
BENCH_LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- report

bench_log "summary"
{
	echo "# Scale: job_stagger vs pg_cron ($(date -u '+%Y-%m-%d %H:%M UTC'))"
	echo
	bench_env_md
	echo "- load average at end: $BENCH_LOAD_END"
	echo "- one cluster, both libraries preloaded; job_stagger.enabled = off; job_stagger.max_running_jobs ="
	echo "  cron.max_running_jobs = $MAXRUN, max_worker_processes = $((MAXBURST + 60)), max_connections = $((MAXBURST + 100))"
	echo "  (so that both can run $MAXBURST at once); open files of the server (soft limit): $(awk '/Max open files/ { print $4 }' "/proc/$(head -1 "$JS_PGDATA/postmaster.pid")/limits");"
	echo "  pg_cron runs through $CRON_MODE; CPU times in ms (stat: utime + stime, 10 ms ticks; schedstat: on-CPU time)"
	echo
	if [ "$SCALE_IDLE" != 0 ]; then
		echo "## (a) $NJOBS idle jobs"
		echo
		echo "Jobs \`<i % 60> <(i / 60) % 24> 1 $IDLE_MONTH *\` (never due during the run), command \`SELECT 1\`."
		echo
		echo "| | job_stagger | pg_cron |"
		echo "| --- | ---: | ---: |"
		echo "| schedule $NJOBS jobs in one transaction (\`SELECT f(...) FROM generate_series\`) | ${R[js_bulk]} | ${R[cron_bulk]} |"
		echo "| unschedule them in one transaction | ${R[js_unsched]} | ${R[cron_unsched]} |"
		echo "| schedule $NJOBS jobs, one autocommit statement each (\`psql -f\`) | ${R[js_each]} | ${R[cron_each]} |"
		echo "| launcher CPU meanwhile, until idle again (stat / schedstat) | ${R[js_loadcpu]} / ${R[js_loadsched]} ms | ${R[cron_loadcpu]} / ${R[cron_loadsched]} ms |"
		echo "| launcher still busy this long after the last statement | ${R[js_settle]} s | ${R[cron_settle]} s |"
		echo "| **launcher CPU over $IDLE s with $NJOBS jobs (stat / schedstat)** | **${R[js_idle]} / ${R[js_idlesched]} ms** | **${R[cron_idle]} / ${R[cron_idlesched]} ms** |"
		echo "| launcher CPU over $IDLE s with no job at all (during the other system's window; stat / schedstat) | ${R[cron_other]} / ${R[cron_othersched]} ms | ${R[js_other]} / ${R[js_othersched]} ms |"
		echo "| schedule one more job with $NJOBS loaded | ${R[js_one]} | ${R[cron_one]} |"
		echo "| launcher CPU in the 3 s after that job (schedstat) | ${R[js_onecpu]} ms | ${R[cron_onecpu]} ms |"
		echo
		echo "Scheduling steps are cut off after $LIMIT s (BENCH_SCHEDULE_LIMIT)."
		[ -z "${R[js_topped]:-}${R[cron_topped]:-}" ] ||
			echo "A cut-off per-statement step was completed with one plain INSERT (explicit offsets) before the idle measurement."
		echo
	else
		echo "(a) skipped (BENCH_SCALE_IDLE=0)"
		echo
	fi
	if [ "$SCALE_BURST" != 0 ]; then
		echo "## (b) Bursts: N jobs due in the same second (N = $BURST)"
		echo
		echo "Jobs \`* * * * *\`, one minute boundary per system, command"
		echo "\`INSERT INTO bench.probe (tag) VALUES ('<phase>'); SELECT pg_sleep($BURST_SLEEP)\`. Start lag: job_stagger"
		echo "started_at - scheduled_at; pg_cron start_time - date_trunc('minute', start_time). The max is the time"
		echo "until the last run started. In-command: clock_timestamp() of the INSERT minus the minute."
		echo
		echo "| system | N | started / due | not succeeded | first | p50 | p95 | p99 | max (last started) | peak concurrency | in-command p50 | in-command max |"
		echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
		bench_sql -c "SELECT format('| %s | %s | %s / %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |', sys, njobs, runs, expected,
		                            not_ok, bench.ms(min_lag), bench.ms(p50), bench.ms(p95), bench.ms(p99), bench.ms(max_lag),
		                            peak, bench.ms(probe_p50), bench.ms(probe_max))
		                FROM bench.stats ORDER BY ord"
		echo
		# the outcomes table of bench_outcomes_md; the log and warnings sections come last
		echo "| phase | statuses | runs of the other system during the phase |"
		echo "| --- | --- | ---: |"
		bench_sql -c "SELECT format('| %s | %s | %s |', phase, coalesce(statuses, 'none'), other_runs) FROM bench.stats ORDER BY ord"
		echo
	else
		echo "(b) skipped (BENCH_SCALE_BURST=0)"
		echo
	fi
	if [ "$SCALE_BULK" != 0 ]; then
		echo "## (c) Bulk scheduling: $BULK_JOBS jobs"
		echo
		echo "Sparse: the jobs of (a). Frequent: job i gets \`$BULK_FREQUENT\` (issue 12)."
		echo "Both tables emptied and both launchers idle before each run; NOTICEs sent (client_min_messages = notice)."
		echo "Seconds, median of $BULK_REPEAT run(s) per case (runs: job_stagger | pg_cron); ratio = job_stagger / pg_cron."
		echo
		echo "| schedules | how | job_stagger | pg_cron | ratio | runs |"
		echo "| --- | --- | ---: | ---: | ---: | --- |"
		for kind in sparse frequent; do
			for mode in statement autocommit; do
				echo "| $kind | $( [ "$mode" = statement ] && echo "one statement" || echo "autocommit, one statement per job (psql -f)") | ${R[bulk_js_${kind}_$mode]} s | ${R[bulk_cron_${kind}_$mode]} s | $(awk -v a="${R[bulk_js_${kind}_$mode]}" -v b="${R[bulk_cron_${kind}_$mode]}" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "n/a" }') | ${R[bulk_runs_${kind}_$mode]} |"
			done
		done
		echo
	fi
	bench_log_md
} >"$OUT"
cat "$OUT"
bench_log "written to ${OUT#"$JS_ROOT"/}"
