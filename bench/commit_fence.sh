#!/usr/bin/env bash
# Cost of the commit fence (src/worker/runner.cpp): a job's first commit waits
# until the launcher has committed the run's 'running' row, so that a row left
# 'starting' by a crash or a promotion proves the command never committed.
#
# Starts a throwaway cluster (server defaults: fsync and synchronous_commit on)
# and BENCH_FENCE_JOBS (2) jobs for BENCH_FENCE_SECONDS (40) s, every second,
# then every 2 seconds. Each command is three transactions:
#   BEGIN; INSERT t0; COMMIT; BEGIN; INSERT t1; COMMIT; INSERT t2
# each INSERT stamping clock_timestamp(). t1 - t0 is the first commit (it waits
# at the fence when the launcher has not recorded the start yet), t2 - t1 the
# second (never waits): the same trivial commit, side by side in the same runs.
# Also reported: started_at to the first statement (the start is not delayed),
# and the run duration (ended_at - started_at). The same number of jobs with a
# one-transaction command (INSERT t3) measure the wait for the command's
# transaction id (0.4, command_xid): its only commit publishes the id and waits
# until the launcher has recorded it; ended_at - t3 (the commit and the
# worker's report) is compared with ended_at - t2 of the three-transaction
# command, whose last commit publishes nothing (an earlier one wrote).
# Medians and p99, in ms.
#
# Environment: BENCH_FENCE_JOBS, BENCH_FENCE_SECONDS, BENCH_SKIP_BUILD=1, PG_BIN.
# Output: a markdown table, printed and written to bench/results/commit_fence_<timestamp>.md.
set -euo pipefail
BENCH_NAME=commit_fence
. "$(dirname "$0")/lib_bench.sh"

JOBS=${BENCH_FENCE_JOBS:-2}
SECS=${BENCH_FENCE_SECONDS:-40}
for v in "$JOBS" "$SECS"; do
	[[ $v =~ ^[1-9][0-9]*$ ]] || js_die "BENCH_FENCE_JOBS and BENCH_FENCE_SECONDS must be positive integers, got '$v'"
done
OUT=$BENCH_RESULTS/commit_fence_$BENCH_TS.md
bench_traps
bench_single_cluster "128MB"

bench_sql -q <<SQL
CREATE EXTENSION job_stagger;
CREATE TABLE fence (pid int, k int, t timestamptz DEFAULT clock_timestamp());
SQL
# Two phases one after the other: every second (the launcher prestarts the next
# second's runs at the very instant these start, so the fence also waits for
# that work) and every 2 seconds (the launcher is idle at the instant).
for sched in '* * * * * *' '*/2 * * * * *'; do
	bench_sql -q <<SQL
SELECT count(stagger_schedule('fence_' || i, '$sched',
    'BEGIN; INSERT INTO fence (pid, k) VALUES (pg_backend_pid(), 0); COMMIT;
     BEGIN; INSERT INTO fence (pid, k) VALUES (pg_backend_pid(), 1); COMMIT;
     INSERT INTO fence (pid, k) VALUES (pg_backend_pid(), 2)'))
  FROM generate_series(1, $JOBS) i;
SELECT count(stagger_schedule('fence_one_' || i, '$sched', 'INSERT INTO fence (pid, k) VALUES (pg_backend_pid(), 3)'))
  FROM generate_series(1, $JOBS) i;
SQL
	bench_log "2 x $JOBS jobs '$sched' for $SECS s"
	sleep "$SECS"
	bench_sql -c "SELECT count(stagger_unschedule(jobid)) FROM job_stagger.jobs" >/dev/null
	bench_wait_js_quiet 60 || true
done

mkdir -p "$BENCH_RESULTS"
{
	echo "# Commit fence: cost of the first commit of a job ($BENCH_TS)"
	echo
	bench_env_md
	echo "- $JOBS jobs of each kind per phase, $SECS s each; commands: BEGIN; INSERT; COMMIT; BEGIN; INSERT; COMMIT; INSERT and a single INSERT (each INSERT stamps clock_timestamp())"
	echo
	echo "| schedule | measure | runs | p50 ms | p99 ms |"
	echo "| --- | --- | ---: | ---: | ---: |"
	bench_sql <<-'SQL'
		WITH r AS (
		    SELECT d.effective_schedule AS sched, d.started_at, d.ended_at,
		           max(f.t) FILTER (WHERE f.k = 0) AS t0, max(f.t) FILTER (WHERE f.k = 1) AS t1,
		           max(f.t) FILTER (WHERE f.k = 2) AS t2, max(f.t) FILTER (WHERE f.k = 3) AS t3
		      FROM job_stagger.job_run_details d JOIN fence f ON f.pid = d.pid AND f.t >= d.started_at
		     WHERE d.status = 'succeeded' GROUP BY d.runid, d.effective_schedule, d.started_at, d.ended_at
		), m (sched, ord, what, v) AS (
		    SELECT sched, 1, 'first commit (fenced): t1 - t0', t1 - t0 FROM r
		    UNION ALL SELECT sched, 2, 'second commit (not fenced): t2 - t1', t2 - t1 FROM r
		    UNION ALL SELECT sched, 3, 'start to first statement: t0 - started_at', t0 - started_at FROM r
		    UNION ALL SELECT sched, 4, 'run: ended_at - started_at', ended_at - started_at FROM r WHERE t0 IS NOT NULL
		    UNION ALL SELECT sched, 5, 'last commit, publishes nothing (3 transactions): ended_at - t2', ended_at - t2 FROM r
		    UNION ALL SELECT sched, 6, 'only commit, waits for its xid to be recorded: ended_at - t3', ended_at - t3 FROM r
		    UNION ALL SELECT sched, 7, 'run (one INSERT): ended_at - started_at', ended_at - started_at FROM r WHERE t3 IS NOT NULL
		)
		SELECT format('| `%s` | %s | %s | %s | %s |', sched, what, count(*),
		              round((extract(epoch FROM percentile_cont(0.5) WITHIN GROUP (ORDER BY v)) * 1000)::numeric, 3),
		              round((extract(epoch FROM percentile_cont(0.99) WITHIN GROUP (ORDER BY v)) * 1000)::numeric, 3))
		  FROM m WHERE v IS NOT NULL GROUP BY sched, ord, what ORDER BY sched DESC, ord;
	SQL
	echo
	echo "## Server log: warnings and errors (digits replaced by N)"
	echo
	bench_log_problems_md
} | tee "$OUT"
