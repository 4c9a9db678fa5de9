#!/usr/bin/env bash
# Speed of the job_stagger.job_status view with many jobs and a large history.
#
# Starts a throwaway cluster that preloads job_stagger, creates BENCH_JOBS
# (10,000) jobs in five zones (UTC, Asia/Kolkata, America/New_York,
# Europe/Berlin, America/St_Johns; they fire on 1 January only) and writes
# BENCH_ROWS (1,000,000) rows of synthetic history spread over them
# (succeeded, with 1% failed and 0.5% skipped), then VACUUM ANALYZE. Times,
# BENCH_REPEAT (5) times each, the median in ms:
#  - every column of every job (SELECT * FROM job_stagger.job_status);
#  - one job (WHERE jobid = ...);
#  - the scheduling columns only (jobid, timezone, next_fire: no history read).
#
# Environment: BENCH_JOBS, BENCH_ROWS, BENCH_REPEAT, BENCH_SKIP_BUILD=1 (use
# the installed build), PG_BIN.
# Output: a markdown table, printed and written to bench/results/job_status_<timestamp>.md.
set -euo pipefail
. "$(dirname "$0")/lib_bench.sh"

JOBS=${BENCH_JOBS:-10000}
ROWS=${BENCH_ROWS:-1000000}
REPEAT=${BENCH_REPEAT:-5}
for v in "$JOBS" "$ROWS" "$REPEAT"; do
	[[ $v =~ ^[1-9][0-9]*$ ]] || js_die "BENCH_JOBS, BENCH_ROWS and BENCH_REPEAT must be positive integers, got '$v'"
done
OUT=$BENCH_RESULTS/job_status_$BENCH_TS.md

trap js_cluster_stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

bench_single_cluster 512MB
sql() { bench_sql "$@"; }

bench_log "creating the extension and $JOBS jobs in five zones"
sql <<SQL
CREATE EXTENSION job_stagger;
-- direct inserts: the same validation trigger, without a collision NOTICE per job
INSERT INTO job_stagger.jobs (job_name, schedule, command, offset_seconds, timezone)
SELECT 'job_' || j, (j % 60) || ' ' || (j % 24) || ' 1 1 *', 'SELECT 1', j % 60,
       (ARRAY[NULL, 'Asia/Kolkata', 'America/New_York', 'Europe/Berlin', 'America/St_Johns'])[j % 5 + 1]
  FROM generate_series(1, $JOBS) j;
SQL

bench_log "writing $ROWS runs"
sql <<SQL
SELECT setseed(0.42);
INSERT INTO job_stagger.job_run_details
    (jobid, job_name, username, database, command, status, scheduled_at, nominal_at, started_at, ended_at,
     stagger_enabled, offset_seconds, effective_schedule, roleid)
SELECT j.jobid, j.job_name, j.username, j.database, j.command, st, due, due,
       CASE WHEN st <> 'skipped' THEN due END, CASE WHEN st <> 'skipped' THEN due + interval '1.5 s' ELSE due END,
       false, 0, j.schedule, j.roleid
  FROM (SELECT g, now() - (g % ($ROWS / $JOBS + 1)) * interval '1 hour' AS due,
               CASE WHEN random() < 0.01 THEN 'failed' WHEN random() < 0.005 THEN 'skipped' ELSE 'succeeded' END AS st
          FROM generate_series(1, $ROWS) g) r
  JOIN job_stagger.jobs j ON j.jobid = 1 + r.g % $JOBS;
VACUUM ANALYZE job_stagger.jobs, job_stagger.job_run_details;
SQL

# median of REPEAT runs of a query, in ms (server-side: EXPLAIN ANALYZE's execution time)
median_ms() {
	local q=$1 times=()
	for _ in $(seq "$REPEAT"); do
		times+=("$(sql -c "EXPLAIN (ANALYZE, TIMING OFF, SUMMARY ON) $q" | sed -n 's/^Execution Time: \([0-9.]*\) ms$/\1/p')")
	done
	printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { printf "%.1f", a[int((NR + 1) / 2)] }'
}

bench_log "timing"
all=$(median_ms "SELECT * FROM job_stagger.job_status")
one=$(median_ms "SELECT * FROM job_stagger.job_status WHERE jobid = $((JOBS / 2))")
sched=$(median_ms "SELECT jobid, timezone, next_fire FROM job_stagger.job_status")
rows=$(sql -c "SELECT count(*) FROM job_stagger.job_status")
check=$(sql -c "SELECT sum(runs) = $ROWS AND count(next_fire) = $JOBS FROM job_stagger.job_status")
[ "$check" = t ] || bench_warn "unexpected view content (sum of runs or next_fire count)"

mkdir -p "$BENCH_RESULTS"
{
	echo "# job_status: $JOBS jobs, $ROWS history rows ($BENCH_BUILD)"
	echo
	echo "| query | rows | median ms ($REPEAT runs) |"
	echo "| --- | ---: | ---: |"
	echo "| \`SELECT * FROM job_stagger.job_status\` | $rows | $all |"
	echo "| one job (\`WHERE jobid = ...\`) | 1 | $one |"
	echo "| \`SELECT jobid, timezone, next_fire\` (no history) | $rows | $sched |"
} | tee "$OUT"
