#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Soak: SOAK_JOBS (10,000) active jobs and well over 1,000 runs a minute for
# SOAK_MINUTES (10) minutes on one throwaway cluster (job_stagger only,
# staggering on), then a check that nothing was lost, repeated or left open.
#
# Jobs (command SELECT 1 each), offsets given explicitly (i % 60; (i / 60) % 60
# for the hourly ones, so that the ~150 jobs of one minute spread over it):
#   SOAK_SECOND_JOBS (8)   '* * * * * *'   every second (overlap allow)  480 runs/min
#   SOAK_MINUTE_JOBS (1000) '* * * * *'    every minute                 1000 runs/min
#   the rest (8992)        '<i % 60> * * * *'  hourly                   ~150 runs/min
#
# The check (exit 1 if it fails): the slots due in the window [w0, w0 +
# SOAK_MINUTES) are computed from each job's effective schedule
# (job_stagger.effective_schedule + stagger_next_runs) and compared with
# job_run_details: every due slot has exactly one row, no row is there for a
# slot that was not due, no run is left 'starting' or 'running', and the
# launcher's private memory (RssAnon) did not grow by more than 25 % (and
# 4 MB). Also reported: statuses, runs a minute, start lag p50/p95/p99/max
# over the whole soak, the launcher's CPU time per minute and its RSS at the
# start and the end.
#
# Environment: SOAK_MINUTES, SOAK_JOBS, SOAK_SECOND_JOBS, SOAK_MINUTE_JOBS,
# SOAK_MAX_RUNNING (job_stagger.max_running_jobs, 64), BENCH_SKIP_BUILD=1,
# BENCH_NICE. Output: bench/results/soak_<timestamp>.md (also printed) and
# the server log.
set -euo pipefail
# shellcheck disable=SC2034 # read by lib_bench.sh
BENCH_NAME=soak
# shellcheck source=lib_bench.sh
. "$(dirname "$0")/lib_bench.sh"

MINUTES=${SOAK_MINUTES:-10}
NJOBS=${SOAK_JOBS:-10000}
SECOND_JOBS=${SOAK_SECOND_JOBS:-8}
MINUTE_JOBS=${SOAK_MINUTE_JOBS:-1000}
MAXRUN=${SOAK_MAX_RUNNING:-64}
for v in $MINUTES $NJOBS $MAXRUN; do
	[[ $v =~ ^[1-9][0-9]*$ ]] || js_die "SOAK_MINUTES, SOAK_JOBS and SOAK_MAX_RUNNING must be positive integers, got '$v'"
done
for v in $SECOND_JOBS $MINUTE_JOBS; do
	[[ $v =~ ^[0-9]+$ ]] || js_die "SOAK_SECOND_JOBS and SOAK_MINUTE_JOBS must be integers, got '$v'"
done
[ $((SECOND_JOBS + MINUTE_JOBS)) -le "$NJOBS" ] || js_die "SOAK_SECOND_JOBS + SOAK_MINUTE_JOBS exceed SOAK_JOBS"

bench_traps
bench_prepare
js_log "starting a throwaway cluster"
js_cluster_start <<EOF
job_stagger.database_name = 'postgres'
job_stagger.enabled = on
job_stagger.max_running_jobs = $MAXRUN
max_worker_processes = $((MAXRUN + 16))
timezone = 'UTC'
shared_buffers = '256MB'
EOF
bench_js_ready soak

# Resident memory of a process, kB: total (VmRSS) and private (RssAnon).
rss_kb() { awk -v k="$2" '$1 == k":" { print $2 }' "/proc/$1/status"; }

bench_log "creating $NJOBS jobs ($SECOND_JOBS every second, $MINUTE_JOBS every minute, the rest hourly)"
t=$(bench_now)
bench_sql -q <<-SQL
	CREATE SCHEMA soak;
	INSERT INTO job_stagger.jobs (job_name, schedule, command, offset_seconds, overlap)
	SELECT format('soak_%s', i),
	       CASE WHEN i <= $SECOND_JOBS THEN '* * * * * *'
	            WHEN i <= $SECOND_JOBS + $MINUTE_JOBS THEN '* * * * *'
	            ELSE format('%s * * * *', i % 60) END,
	       'SELECT 1', CASE WHEN i <= $SECOND_JOBS THEN 0 WHEN i <= $SECOND_JOBS + $MINUTE_JOBS THEN i % 60
                        ELSE (i / 60) % 60 END,
	       CASE WHEN i <= $SECOND_JOBS THEN 'allow' ELSE 'skip' END
	  FROM generate_series(1, $NJOBS) i;
SQL
bench_log "created in $(bench_ms "$t" "$(bench_now)") ms"
# The window starts at the first full minute at least 10 s away (the launcher has loaded the jobs by then).
read -r W0 W1 < <(bench_sql -F' ' -c "SELECT extract(epoch FROM w0), extract(epoch FROM w0 + interval '$MINUTES min')
   FROM (SELECT date_trunc('minute', clock_timestamp() + interval '10 s') + interval '1 min' AS w0) x")
bench_log "soak window $(date -u -d "@${W0%.*}" +%H:%M:%S) - $(date -u -d "@${W1%.*}" +%H:%M:%S) ($MINUTES min)"
bench_sleep_until "$W0"

# Launcher CPU and memory once a minute.
declare -a CPU RSS ANON
CPU[0]=$(bench_cpu_ms "$LAUNCHER") RSS[0]=$(rss_kb "$LAUNCHER" VmRSS) ANON[0]=$(rss_kb "$LAUNCHER" RssAnon)
for m in $(seq 1 "$MINUTES"); do
	bench_sleep_until "$((${W0%.*} + 60 * m))"
	CPU[m]=$(bench_cpu_ms "$LAUNCHER") RSS[m]=$(rss_kb "$LAUNCHER" VmRSS) ANON[m]=$(rss_kb "$LAUNCHER" RssAnon)
	bench_log "minute $m: launcher CPU $((CPU[m] - CPU[m - 1])) ms, RSS ${RSS[m]} kB (anon ${ANON[m]} kB), $(bench_sql -c \
		"SELECT count(*) FROM job_stagger.job_run_details WHERE scheduled_at >= to_timestamp(${W0%.*} + 60 * ($m - 1))
		   AND scheduled_at < to_timestamp(${W0%.*} + 60 * $m)") runs"
done
[ "$(bench_backend_pid 'job_stagger launcher')" = "$LAUNCHER" ] || bench_warn "the launcher restarted during the soak"

bench_log "waiting for the runs due in the window to finish"
bench_wait_zero "SELECT count(*) FROM job_stagger.job_run_details
                  WHERE scheduled_at < to_timestamp($W1) AND status IN ('starting', 'running')" 120 || true
bench_log "computing the due slots from the schedules"
bench_sql -q <<-SQL
	CREATE TABLE soak.due AS
	SELECT j.jobid, t AS fire_at
	  FROM job_stagger.jobs j,
	       LATERAL stagger_next_runs(job_stagger.effective_schedule(j.schedule, j.offset_seconds, true),
	                                 to_timestamp($W0) - interval '1 microsecond',
	                                 CASE WHEN j.schedule = '* * * * * *' THEN 60 * $MINUTES + 2 ELSE $MINUTES + 2 END) t
	 WHERE j.job_name LIKE 'soak\_%' AND t < to_timestamp($W1);
	CREATE TABLE soak.runs AS
	SELECT r.* FROM job_stagger.job_run_details r
	 WHERE r.job_name LIKE 'soak\_%' AND r.scheduled_at >= to_timestamp($W0) AND r.scheduled_at < to_timestamp($W1);
	CREATE TABLE soak.result AS
	SELECT (SELECT count(*) FROM soak.due) AS due,
	       (SELECT count(*) FROM soak.runs) AS rows,
	       (SELECT count(*) FROM soak.due d WHERE NOT EXISTS
	           (SELECT FROM soak.runs r WHERE r.jobid = d.jobid AND r.scheduled_at = d.fire_at)) AS missing,
	       (SELECT count(*) FROM soak.runs r WHERE NOT EXISTS
	           (SELECT FROM soak.due d WHERE r.jobid = d.jobid AND r.scheduled_at = d.fire_at)) AS unexpected,
	       (SELECT count(*) FROM (SELECT FROM soak.runs GROUP BY jobid, scheduled_at HAVING count(*) > 1) x) AS duplicated,
	       (SELECT count(*) FROM job_stagger.job_run_details WHERE status IN ('starting', 'running')
	           AND scheduled_at < to_timestamp($W1)) AS open,
	       (SELECT string_agg(status || ' ' || n, ', ' ORDER BY n DESC)
	          FROM (SELECT status, count(*) AS n FROM soak.runs GROUP BY status) s) AS statuses;
SQL
read -r DUE ROWS MISSING UNEXPECTED DUPS OPEN < <(bench_sql -F' ' -c "SELECT due, rows, missing, unexpected, duplicated, open FROM soak.result")
CHECK=passed
REASONS=()
[ "$MISSING" = 0 ] || REASONS+=("$MISSING due slot(s) without a row")
[ "$UNEXPECTED" = 0 ] || REASONS+=("$UNEXPECTED row(s) for slots that were not due")
[ "$DUPS" = 0 ] || REASONS+=("$DUPS slot(s) with more than one row")
[ "$OPEN" = 0 ] || REASONS+=("$OPEN run(s) left starting/running")
[ "$DUE" -gt 0 ] || REASONS+=("no slot was due")
ANON_GROWTH=$((ANON[MINUTES] - ANON[0]))
if [ "$ANON_GROWTH" -gt 4096 ] && [ "$ANON_GROWTH" -gt $((ANON[0] / 4)) ]; then
	REASONS+=("launcher private memory grew from ${ANON[0]} kB to ${ANON[MINUTES]} kB")
fi
[ ${#REASONS[@]} -eq 0 ] || CHECK=FAILED
BENCH_LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

bench_log "summary"
{
	echo "# Soak: $NJOBS jobs for $MINUTES minutes ($(date -u '+%Y-%m-%d %H:%M UTC'))"
	echo
	bench_env_md
	echo "- load average at end: $BENCH_LOAD_END"
	echo "- job_stagger.enabled = on, job_stagger.max_running_jobs = $MAXRUN, max_worker_processes = $((MAXRUN + 16));"
	echo "  jobs: $SECOND_JOBS \`* * * * * *\` (overlap allow), $MINUTE_JOBS \`* * * * *\`, $((NJOBS - SECOND_JOBS - MINUTE_JOBS)) hourly \`<i % 60> * * * *\`;"
	echo "  offsets i % 60 (hourly: (i / 60) % 60, spread over their minute); command \`SELECT 1\`"
	echo "- window $(date -u -d "@${W0%.*}" '+%H:%M:%S') - $(date -u -d "@${W1%.*}" '+%H:%M:%S') UTC"
	echo
	echo "## Check: $CHECK"
	echo
	echo "| due slots (from the schedules) | rows | due without a row | rows not due | slots with > 1 row | left starting/running |"
	echo "| ---: | ---: | ---: | ---: | ---: | ---: |"
	echo "| $DUE | $ROWS | $MISSING | $UNEXPECTED | $DUPS | $OPEN |"
	echo
	for r in "${REASONS[@]}"; do echo "- $r"; done
	echo "Statuses: $(bench_sql -c "SELECT statuses FROM soak.result")"
	echo
	echo "## Runs and start lag"
	echo
	bench_sql -c "
	  SELECT format('%s runs in %s min (%s a minute); start lag (started_at - scheduled_at, ms): p50 %s, p95 %s, p99 %s, max %s',
	                count(*), $MINUTES, round(count(*)::numeric / $MINUTES),
	                round(percentile_cont(0.5) WITHIN GROUP (ORDER BY l)::numeric, 3),
	                round(percentile_cont(0.95) WITHIN GROUP (ORDER BY l)::numeric, 3),
	                round(percentile_cont(0.99) WITHIN GROUP (ORDER BY l)::numeric, 3), round(max(l)::numeric, 3))
	    FROM soak.runs, LATERAL (SELECT extract(epoch FROM started_at - scheduled_at) * 1000 AS l) x
	   WHERE started_at IS NOT NULL"
	echo
	echo "## Launcher (pid $LAUNCHER)"
	echo
	echo "VmRSS counts the shared buffers the launcher has touched (RssShmem) and grows until it has seen"
	echo "the pages it reads; RssAnon is its private memory (checked)."
	echo
	echo "| minute | CPU in the minute (utime + stime) | VmRSS | RssAnon |"
	echo "| ---: | ---: | ---: | ---: |"
	echo "| start | | ${RSS[0]} kB | ${ANON[0]} kB |"
	for m in $(seq 1 "$MINUTES"); do
		echo "| $m | $((CPU[m] - CPU[m - 1])) ms | ${RSS[m]} kB | ${ANON[m]} kB |"
	done
	bench_log_md
} >"$OUT"
cat "$OUT"
bench_log "written to ${OUT#"$JS_ROOT"/}"
[ "$CHECK" = passed ] || js_die "soak check failed: ${REASONS[*]}"
