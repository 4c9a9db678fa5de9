#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Does housekeeping delay starts? Start lag of every-second jobs without and
# with a retention backlog of BENCH_ROWS (1,000,000) history rows to purge,
# one after the other on one throwaway cluster (job_stagger only).
#
#   phase "without": BENCH_JOBS (8) jobs '* * * * * *' (overlap allow, command
#                    SELECT 1) for BENCH_WINDOW (120) seconds, nothing to purge;
#   then BENCH_ROWS rows older than job_stagger.history_retention (14 days,
#                    the default) are inserted into job_stagger.job_run_details;
#   phase "with":    the same jobs for BENCH_WINDOW seconds from the moment the
#                    launcher has started purging (or until the backlog is gone).
#
# Start lag = started_at - scheduled_at (the worker stamps started_at when it
# is released at its instant). Also: the launcher's CPU time in each window,
# rows purged in the window and the purge rate.
#
# max_worker_processes = BENCH_JOBS + 24, so that every run gets a worker.
# Environment: BENCH_JOBS, BENCH_WINDOW, BENCH_ROWS, BENCH_SKIP_BUILD=1 (use
# the installed job_stagger.so), BENCH_NICE (see bench/README.md).
# Output: bench/results/housekeeping_<timestamp>.md (also printed) and the server log.
set -euo pipefail
# shellcheck disable=SC2034 # read by lib_bench.sh
BENCH_NAME=housekeeping
# shellcheck source=lib_bench.sh
. "$(dirname "$0")/lib_bench.sh"

NJOBS=${BENCH_JOBS:-8}
WINDOW=${BENCH_WINDOW:-120}
ROWS=${BENCH_ROWS:-1000000}
for v in $NJOBS $WINDOW $ROWS; do
	[[ $v =~ ^[1-9][0-9]*$ ]] || js_die "BENCH_JOBS, BENCH_WINDOW and BENCH_ROWS must be positive integers, got '$v'"
done

bench_traps
bench_prepare
js_log "starting a throwaway cluster"
js_cluster_start <<EOF
job_stagger.database_name = 'postgres'
max_worker_processes = $((NJOBS + 24))
timezone = 'UTC'
shared_buffers = '256MB'
EOF
bench_js_ready housekeeping

bench_sql -q <<-SQL
	CREATE SCHEMA bench;
	CREATE TABLE bench.windows (phase text PRIMARY KEY, ord int, w0 timestamptz, w1 timestamptz,
	                            backlog0 bigint, backlog1 bigint, cpu_ms bigint);
	INSERT INTO job_stagger.jobs (job_name, schedule, command, overlap)
	SELECT 'hk_' || i, '* * * * * *', 'SELECT 1', 'allow' FROM generate_series(1, $NJOBS) i;
SQL
BACKLOG="SELECT count(*) FROM job_stagger.job_run_details WHERE job_name = 'ancient'"

# One measured window of WINDOW s (ends early once the backlog is gone, if there was one).
window() { # phase ord
	local w0 c0 b0 b1 w1
	w0=$(bench_sql -c "SELECT extract(epoch FROM date_trunc('second', clock_timestamp()) + interval '1 s')")
	bench_sleep_until "$w0"
	c0=$(bench_cpu_ms "$LAUNCHER") b0=$(bench_sql -c "$BACKLOG")
	bench_log "$1: $WINDOW s from $(date -u -d "@${w0%.*}" +%H:%M:%S), backlog $b0 rows"
	local end=$((${w0%.*} + WINDOW))
	while [ "$(date +%s)" -lt "$end" ]; do
		sleep 1
		if [ "$b0" -gt 0 ] && [ "$(bench_sql -c "$BACKLOG")" = 0 ]; then
			bench_log "$1: backlog purged, window ends"
			break
		fi
	done
	w1=$(date +%s) b1=$(bench_sql -c "$BACKLOG")
	bench_sql -c "INSERT INTO bench.windows VALUES ('$1', $2, to_timestamp($w0), to_timestamp($w1), $b0, $b1,
	              $(($(bench_cpu_ms "$LAUNCHER") - c0)))"
}

sleep 3
window without 1

bench_log "inserting $ROWS history rows older than the retention (14 days)"
t_ins=$(bench_now)
bench_sql -q <<-SQL
	INSERT INTO job_stagger.job_run_details (jobid, job_name, username, database, command, status, scheduled_at,
	                                         nominal_at, started_at, ended_at, stagger_enabled, offset_seconds,
	                                         effective_schedule)
	SELECT 999999, 'ancient', 'postgres', 'postgres', 'SELECT 1', 'succeeded', t, t, t, t + interval '5 ms', false, 0,
	       '* * * * * *'
	  FROM generate_series(1, $ROWS) i, LATERAL (SELECT now() - interval '15 days' - i * interval '1 s' AS t) x;
	CHECKPOINT;
SQL
bench_log "inserted in $(bench_ms "$t_ins" "$(bench_now)") ms; waiting for the purge to start"
t_purge=$(bench_now)
while [ "$(bench_sql -c "$BACKLOG")" -ge "$ROWS" ]; do
	sleep 0.5
	awk -v a="$t_purge" -v n="$(bench_now)" 'BEGIN { exit !(n - a > 60) }' && js_die "no purge within 60 s"
done
window with 2
bench_sql -c "SELECT count(stagger_unschedule(jobid)) FROM job_stagger.jobs" >/dev/null
bench_wait_js_quiet 60 || true
[ "$(bench_backend_pid 'job_stagger launcher')" = "$LAUNCHER" ] || bench_warn "the launcher restarted during the run"
BENCH_LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

bench_log "summary"
{
	echo "# Housekeeping: start lag with and without a purge backlog ($(date -u '+%Y-%m-%d %H:%M UTC'))"
	echo
	bench_env_md
	echo "- load average at end: $BENCH_LOAD_END"
	echo "- $NJOBS jobs \`* * * * * *\` (overlap allow, \`SELECT 1\`), windows of up to $WINDOW s, one after the other;"
	echo "  max_worker_processes = $((NJOBS + 24)), other settings default (prestart_lead_ms 1000, history_retention 14 days)"
	echo "  backlog: $ROWS rows of job_run_details older than job_stagger.history_retention (14 days)"
	echo
	echo "Start lag = started_at - scheduled_at, ms. Launcher CPU: utime + stime over the window."
	echo
	echo "| phase | window | runs / due | not succeeded | p50 | p95 | p99 | max | launcher CPU | rows purged in window |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	bench_sql -c "
	  SELECT format('| %s | %s s | %s / %s | %s | %s | %s | %s | %s | %s ms | %s |', w.phase,
	                extract(epoch FROM w.w1 - w.w0)::int, count(r.runid),
	                $NJOBS * extract(epoch FROM w.w1 - w.w0)::int,
	                count(r.runid) FILTER (WHERE r.status IS DISTINCT FROM 'succeeded'),
	                round(percentile_cont(0.5) WITHIN GROUP (ORDER BY l)::numeric, 3),
	                round(percentile_cont(0.95) WITHIN GROUP (ORDER BY l)::numeric, 3),
	                round(percentile_cont(0.99) WITHIN GROUP (ORDER BY l)::numeric, 3),
	                round(max(l)::numeric, 3), w.cpu_ms, w.backlog0 - w.backlog1)
	    FROM bench.windows w
	    LEFT JOIN job_stagger.job_run_details r
	           ON r.job_name LIKE 'hk\\_%' AND r.scheduled_at >= w.w0 AND r.scheduled_at < w.w1
	    LEFT JOIN LATERAL (SELECT extract(epoch FROM r.started_at - r.scheduled_at) * 1000 AS l) x ON true
	   GROUP BY w.phase, w.ord, w.w0, w.w1, w.cpu_ms, w.backlog0, w.backlog1 ORDER BY w.ord"
	echo
	bench_sql -c "
	  SELECT format('p99 with / without: %s; p50 with / without: %s; purge rate in the window: %s rows/s',
	                round((max(p99) FILTER (WHERE phase = 'with') / nullif(max(p99) FILTER (WHERE phase = 'without'), 0))::numeric, 2),
	                round((max(p50) FILTER (WHERE phase = 'with') / nullif(max(p50) FILTER (WHERE phase = 'without'), 0))::numeric, 2),
	                max(rate) FILTER (WHERE phase = 'with'))
	    FROM (SELECT w.phase,
	                 percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM r.started_at - r.scheduled_at)) AS p99,
	                 percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM r.started_at - r.scheduled_at)) AS p50,
	                 round((w.backlog0 - w.backlog1) / extract(epoch FROM w.w1 - w.w0)) AS rate
	            FROM bench.windows w JOIN job_stagger.job_run_details r
	              ON r.job_name LIKE 'hk\\_%' AND r.scheduled_at >= w.w0 AND r.scheduled_at < w.w1
	           GROUP BY w.phase, w.w0, w.w1, w.backlog0, w.backlog1) s"
	bench_log_md
} >"$OUT"
cat "$OUT"
bench_log "written to ${OUT#"$JS_ROOT"/}"
