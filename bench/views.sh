#!/usr/bin/env bash
# Speed of the analysis views and the rollout functions on a large run history.
#
# Starts a throwaway cluster that preloads job_stagger, creates the extension
# and writes BENCH_ROWS (1,000,000) rows of synthetic history into
# job_stagger.job_run_details with generate_series: BENCH_JOBS (50) jobs due
# every minute for BENCH_ROWS / BENCH_JOBS minutes (about two weeks) up to a
# minute ago, staggering off for the first half (all at :00, runs 35% longer,
# start lags up to 30 ms) and on for the second half (each job at its own
# second, lags under 0.3 ms). Durations: 40-1070 ms for most jobs, 1.7-6 s for
# every tenth; 0.5% skipped, 1% failed, 0.2% timed out (30 s), 0.1% crashed.
# Plus one pool sample a minute. Then VACUUM ANALYZE, as autovacuum would.
#
# For each view: SELECT count(*), the same over all columns (count(v.*): the
# planner may skip columns count(*) does not need), and a typical filtered
# query; then the rollout functions. Each is run BENCH_REPEAT (3) times and
# the median reported, in ms; statements are cut off after BENCH_TIMEOUT (300)
# seconds. Server settings are stock except shared_buffers (BENCH_SHARED_BUFFERS,
# 512MB) so that the history fits in memory.
#
# Environment: BENCH_ROWS, BENCH_JOBS, BENCH_REPEAT, BENCH_TIMEOUT,
# BENCH_SHARED_BUFFERS, BENCH_SKIP_BUILD=1 (use the installed build).
#
# Output: a markdown table, printed and written to
# bench/results/views_<timestamp>.md.
set -euo pipefail
. "$(dirname "$0")/lib_bench.sh"

ROWS=${BENCH_ROWS:-1000000}
JOBS=${BENCH_JOBS:-50}
REPEAT=${BENCH_REPEAT:-3}
TIMEOUT=${BENCH_TIMEOUT:-300}
SHARED_BUFFERS=${BENCH_SHARED_BUFFERS:-512MB}
for v in "$ROWS" "$JOBS" "$REPEAT" "$TIMEOUT"; do
	[[ $v =~ ^[1-9][0-9]*$ ]] || js_die "BENCH_ROWS, BENCH_JOBS, BENCH_REPEAT and BENCH_TIMEOUT must be positive integers, got '$v'"
done
MINUTES=$(((ROWS + JOBS - 1) / JOBS))
TS=$(date -u +%Y%m%dT%H%M%SZ)
RESULTS=$JS_ROOT/bench/results
OUT=$RESULTS/views_$TS.md

trap js_cluster_stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

bench_single_cluster "$SHARED_BUFFERS"
sql() { bench_sql "$@"; }

js_log "creating the extension and $JOBS jobs"
# The jobs exist for offset_verification; they fire on 1 January only.
sql <<SQL
CREATE EXTENSION job_stagger;
SELECT count(stagger_schedule('job_' || j, '0 0 1 1 *', 'SELECT 1', (j - 1) * 60 / $JOBS % 60))
  FROM generate_series(1, $JOBS) j;
SQL

js_log "writing $ROWS runs ($JOBS jobs x $MINUTES minutes) and $MINUTES pool samples"
t0=$(date +%s)
sql <<SQL
SELECT setseed(0.42);
INSERT INTO job_stagger.job_run_details
    (jobid, job_name, username, database, command, status, return_message, scheduled_at, nominal_at,
     started_at, ended_at, pid, stagger_enabled, offset_seconds, effective_schedule, roleid)
SELECT jobid, job_name, 'postgres', 'postgres', 'SELECT 1', st,
       CASE st WHEN 'succeeded' THEN 'SELECT 1' WHEN 'failed' THEN 'deadlock detected'
               WHEN 'skipped' THEN 'skipped: the previous run is still running'
               WHEN 'timed_out' THEN 'canceling statement due to statement timeout'
               ELSE 'the job backend terminated' END,
       due, nominal,
       CASE WHEN st <> 'skipped' THEN due + lag_ms * interval '1 ms' END,
       CASE WHEN st <> 'skipped' THEN due + (lag_ms + dur_ms) * interval '1 ms' ELSE due END,
       CASE WHEN st <> 'skipped' THEN 10000 + (m * $JOBS + j) % 50000 END,
       staggered, CASE WHEN staggered THEN offset_seconds ELSE 0 END,
       job_stagger.effective_schedule('* * * * *', offset_seconds, staggered),
       (SELECT oid FROM pg_roles WHERE rolname = 'postgres')
  FROM (SELECT x.*,
               nominal + CASE WHEN staggered THEN offset_seconds ELSE 0 END * interval '1 s' AS due,
               CASE WHEN r < 0.005 THEN 'skipped' WHEN r < 0.015 THEN 'failed' WHEN r < 0.017 THEN 'timed_out'
                    WHEN r < 0.018 THEN 'crashed' ELSE 'succeeded' END AS st,
               CASE WHEN staggered THEN 0.01 + random() * 0.3 ELSE 0.5 + random() * 30 END AS lag_ms,
               CASE WHEN r >= 0.015 AND r < 0.017 THEN 30000
                    ELSE base_ms * (0.6 + random()) * CASE WHEN staggered THEN 1 ELSE 1.35 END END AS dur_ms
          FROM (SELECT m, j, jb.jobid, jb.job_name, jb.offset_seconds,
                       CASE WHEN j % 10 = 0 THEN 2500 + 300 * (j / 10) ELSE 40 + 70 * (j % 10) END AS base_ms,
                       date_trunc('minute', now()) - ($MINUTES - m) * interval '1 minute' AS nominal,
                       m >= $MINUTES / 2 AS staggered, random() AS r
                  FROM generate_series(0, $MINUTES - 1) m
                 CROSS JOIN generate_series(1, $JOBS) j
                  JOIN job_stagger.jobs jb ON jb.job_name = 'job_' || j) x) y
 ORDER BY y.m, y.due, y.j
 LIMIT $ROWS;
INSERT INTO job_stagger.pool_samples (sampled_at, stagger_enabled, running_jobs, peak_running_jobs,
                                      max_running_jobs, job_pool_pct, client_backends, max_connections, conn_pool_pct)
SELECT t, staggered, 0, peak, 32, round(peak * 100.0 / 32, 1), conns, 100, conns
  FROM (SELECT date_trunc('minute', now()) - ($MINUTES - m) * interval '1 minute' + interval '59 s' AS t,
               m >= $MINUTES / 2 AS staggered,
               CASE WHEN m >= $MINUTES / 2 THEN 1 + (random() * 3)::int ELSE 32 END AS peak,
               CASE WHEN m >= $MINUTES / 2 THEN 5 + (random() * 4)::int ELSE 40 + (random() * 20)::int END AS conns
          FROM generate_series(0, $MINUTES - 1) m) s;
VACUUM ANALYZE job_stagger.job_run_details;
VACUUM ANALYZE job_stagger.pool_samples;
SQL
LOAD_SECONDS=$(($(date +%s) - t0))

# Median time (ms) of REPEAT runs of a query, and its row count ("timeout" if cut off).
time_query() { # sql
	local times=() t n out
	for _ in $(seq 1 "$REPEAT"); do
		if ! out=$(printf '\\timing on\n%s;\n' "$1" |
			js_psql -d postgres -At -v ON_ERROR_STOP=1 -c "SET statement_timeout = '${TIMEOUT}s'" -f - 2>&1); then
			grep -q 'statement timeout' <<<"$out" && { echo "timeout -"; return; }
			js_die "query failed: $1: $out"
		fi
		t=$(grep -o '^Time: [0-9.]*' <<<"$out" | tail -1 | cut -d' ' -f2)
		n=$(grep -v '^Time:' <<<"$out" | grep -v '^SET$' | grep -v '^Timing' | tail -1)
		times+=("$t")
	done
	printf '%s\n' "${times[@]}" | sort -n | awk -v n="$n" '{ a[NR] = $1 } END { printf "%.0f %s\n", a[int((NR + 1) / 2)], n }'
}

# view | filter for the typical query
VIEWS=(
	"concurrency|minute > now() - interval '1 hour'"
	"duration_comparison|job_name = 'job_7'"
	"success_rate|job_name = 'job_7'"
	"start_distribution|job_name = 'job_7'"
	"overlaps|overlap_start > now() - interval '1 hour'"
	"offset_verification|job_name = 'job_7'"
)
FUNCS=(
	"SELECT count(*) FROM stagger_rollout_check()"
	"SELECT count(*) FROM stagger_rollback_triggers()"
	"SELECT count(*) FROM stagger_rollout_check('1 day')"
	"SELECT (stagger_kpi_snapshot()).runs"
	"SELECT (stagger_kpi_snapshot('1 day')).runs"
)

mkdir -p "$RESULTS"
{
	echo "# job_stagger analysis views on $ROWS runs ($TS)"
	echo
	echo "- host: $(nproc) CPUs, $(awk '/MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo) RAM, load average at start $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "- PostgreSQL $(sql -c 'SHOW server_version'), shared_buffers $(sql -c 'SHOW shared_buffers'), work_mem $(sql -c 'SHOW work_mem'), jit $(sql -c 'SHOW jit'), max_parallel_workers_per_gather $(sql -c 'SHOW max_parallel_workers_per_gather')"
	echo "- history: $(sql -c 'SELECT count(*) FROM job_stagger.job_run_details') runs of $JOBS jobs over $MINUTES minutes, half with staggering off; table $(sql -c "SELECT pg_size_pretty(pg_table_size('job_stagger.job_run_details'))"), indexes $(sql -c "SELECT pg_size_pretty(pg_indexes_size('job_stagger.job_run_details'))"); written and vacuumed in ${LOAD_SECONDS} s"
	echo "- times: median of $REPEAT runs, ms (psql \\timing)"
	echo
	echo "| view | rows | count(*) | all columns | typical filter | rows | filtered |"
	echo "| --- | ---: | ---: | ---: | --- | ---: | ---: |"
} | tee "$OUT.tmp"

for entry in "${VIEWS[@]}"; do
	view=${entry%%|*} filter=${entry#*|}
	js_log "timing job_stagger.$view"
	read -r t_count n_all < <(time_query "SELECT count(*) FROM job_stagger.$view")
	read -r t_cols _ < <(time_query "SELECT count(v.*) FROM job_stagger.$view v")
	read -r t_filter n_filter < <(time_query "SELECT count(v.*) FROM job_stagger.$view v WHERE $filter")
	echo "| $view | $n_all | $t_count | $t_cols | \`$filter\` | $n_filter | $t_filter |" | tee -a "$OUT.tmp"
done
{
	echo
	echo "| function call | ms |"
	echo "| --- | ---: |"
} | tee -a "$OUT.tmp"
for q in "${FUNCS[@]}"; do
	js_log "timing $q"
	read -r t _ < <(time_query "$q")
	echo "| \`$q\` | $t |" | tee -a "$OUT.tmp"
done

mv "$OUT.tmp" "$OUT"
js_log "written to ${OUT#"$JS_ROOT"/}"
