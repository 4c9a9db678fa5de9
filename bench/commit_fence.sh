#!/usr/bin/env bash
# Cost of the commit fence (src/worker/runner.cpp): a job's first commit waits
# until the launcher has committed the run's 'running' row, so that a row left
# 'starting' by a crash or a promotion proves the command never committed.
#
# Starts a throwaway cluster (server defaults: fsync and synchronous_commit on)
# and BENCH_FENCE_JOBS (2) every-second jobs for BENCH_FENCE_SECONDS (60) s.
# Each command is three statements with a COMMIT between them:
#   INSERT t0; COMMIT; INSERT t1; COMMIT; INSERT t2
# each INSERT stamping clock_timestamp(). t1 - t0 is the first commit (it waits
# at the fence when the launcher has not recorded the start yet), t2 - t1 the
# second (never waits): the same trivial commit, side by side in the same runs.
# Also reported: started_at to the first statement (the start is not delayed),
# and the run duration (ended_at - started_at). Medians and p99, in ms.
#
# Environment: BENCH_FENCE_JOBS, BENCH_FENCE_SECONDS, BENCH_SKIP_BUILD=1, PG_BIN.
# Output: a markdown table, printed and written to bench/results/commit_fence_<timestamp>.md.
set -euo pipefail
BENCH_NAME=commit_fence
. "$(dirname "$0")/lib_bench.sh"

JOBS=${BENCH_FENCE_JOBS:-2}
SECS=${BENCH_FENCE_SECONDS:-60}
for v in "$JOBS" "$SECS"; do
	[[ $v =~ ^[1-9][0-9]*$ ]] || js_die "BENCH_FENCE_JOBS and BENCH_FENCE_SECONDS must be positive integers, got '$v'"
done
OUT=$BENCH_RESULTS/commit_fence_$BENCH_TS.md
bench_traps
bench_single_cluster "128MB"

bench_sql -q <<SQL
CREATE EXTENSION job_stagger;
CREATE TABLE fence (pid int, k int, t timestamptz DEFAULT clock_timestamp());
SELECT count(stagger_schedule('fence_' || i, '* * * * * *',
    'INSERT INTO fence (pid, k) VALUES (pg_backend_pid(), 0); COMMIT;
     INSERT INTO fence (pid, k) VALUES (pg_backend_pid(), 1); COMMIT;
     INSERT INTO fence (pid, k) VALUES (pg_backend_pid(), 2)'))
  FROM generate_series(1, $JOBS) i;
SQL
bench_log "$JOBS every-second jobs for $SECS s"
sleep "$SECS"
bench_sql -c "SELECT count(stagger_unschedule(jobid)) FROM job_stagger.jobs" >/dev/null
bench_wait_js_quiet 60 || true

mkdir -p "$BENCH_RESULTS"
{
	echo "# Commit fence: cost of the first commit of a job ($BENCH_TS)"
	echo
	bench_env_md
	echo "- $JOBS every-second jobs, $SECS s; command: INSERT; COMMIT; INSERT; COMMIT; INSERT (each stamps clock_timestamp())"
	echo
	echo "| measure | runs | p50 ms | p99 ms |"
	echo "| --- | ---: | ---: | ---: |"
	bench_sql <<-'SQL'
		WITH r AS (
		    SELECT d.started_at, d.ended_at,
		           max(f.t) FILTER (WHERE f.k = 0) AS t0, max(f.t) FILTER (WHERE f.k = 1) AS t1,
		           max(f.t) FILTER (WHERE f.k = 2) AS t2
		      FROM job_stagger.job_run_details d JOIN fence f ON f.pid = d.pid AND f.t >= d.started_at
		     WHERE d.status = 'succeeded' GROUP BY d.runid, d.started_at, d.ended_at
		), m (ord, what, v) AS (
		    SELECT 1, 'first commit (fenced): t1 - t0', t1 - t0 FROM r
		    UNION ALL SELECT 2, 'second commit (not fenced): t2 - t1', t2 - t1 FROM r
		    UNION ALL SELECT 3, 'start to first statement: t0 - started_at', t0 - started_at FROM r
		    UNION ALL SELECT 4, 'run: ended_at - started_at', ended_at - started_at FROM r
		)
		SELECT format('| %s | %s | %s | %s |', what, count(*),
		              round((extract(epoch FROM percentile_cont(0.5) WITHIN GROUP (ORDER BY v)) * 1000)::numeric, 3),
		              round((extract(epoch FROM percentile_cont(0.99) WITHIN GROUP (ORDER BY v)) * 1000)::numeric, 3))
		  FROM m GROUP BY ord, what ORDER BY ord;
	SQL
	echo
	echo "## Server log: warnings and errors (digits replaced by N)"
	echo
	bench_log_problems_md
} | tee "$OUT"
