#!/usr/bin/env bash
# Speed of the optimiser through SQL: stagger_simulate(), stagger_optimize()
# and stagger_optimize(apply => true) on N active jobs (BENCH_SIZES, "100 1000
# 5000"), side by side in one run on one throwaway cluster (job_stagger only).
#
# The jobs are a third each '* * * * *', '*/5 * * * *' and '0 * * * *', all
# at offset 0 and unpinned (the optimiser may move every one), every tenth in
# one of five exclusive groups; every seventh has a history of 20 runs of
# 1-30 s (the others 1 s). They are stored inactive so that the scheduler never
# runs them: each timed statement activates them in its own transaction, which
# is rolled back (apply included), so every repetition sees the same input.
# Each statement runs BENCH_REPEAT (5) times; the median is reported, in ms
# (clock_timestamp() around the statement inside the transaction).
#
# Environment: BENCH_SIZES, BENCH_REPEAT, BENCH_SKIP_BUILD=1 (use the installed build).
# Output: a markdown table, printed and written to bench/results/optimize_sql_<timestamp>.md.
set -euo pipefail
# shellcheck disable=SC2034 # read by lib_bench.sh
BENCH_NAME=optimize_sql
# shellcheck source=lib_bench.sh
. "$(dirname "$0")/lib_bench.sh"

SIZES=${BENCH_SIZES:-100 1000 5000}
REPEAT=${BENCH_REPEAT:-5}
for v in $SIZES $REPEAT; do
	[[ $v =~ ^[1-9][0-9]*$ ]] || js_die "BENCH_SIZES and BENCH_REPEAT must be positive integers, got '$v'"
done

trap js_cluster_stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
bench_single_cluster 256MB
bench_sql -q -c "CREATE EXTENSION job_stagger"
mkdir -p "$BENCH_RESULTS"
OUT=$BENCH_RESULTS/optimize_sql_$BENCH_TS.md
bench_sql -q -c "CREATE TABLE public.timings (n int, what text, ms numeric)"

# One timed statement on the N jobs, rolled back; its time goes to public.timings.
timed() { # n label statement
	local ms
	ms=$(bench_sql -q <<-SQL
		BEGIN;
		UPDATE job_stagger.jobs SET active = true;
		SELECT clock_timestamp() AS t0 \gset
		SELECT count(*) FROM $3 \g /dev/null
		SELECT round(extract(epoch FROM clock_timestamp() - :'t0') * 1000, 1);
		ROLLBACK;
	SQL
	)
	bench_sql -q -c "INSERT INTO public.timings VALUES ($1, '$2', $ms)"
}

for n in $SIZES; do
	js_log "$n jobs"
	bench_sql -q >/dev/null <<-SQL
		DELETE FROM job_stagger.job_run_details;
		DELETE FROM job_stagger.jobs;
		SELECT count(stagger_schedule('j' || i, (ARRAY['* * * * *', '*/5 * * * *', '0 * * * *'])[i % 3 + 1], 'SELECT 1', 0,
		                              active => false,
		                              exclusive_group => CASE WHEN i % 10 = 0 THEN 'g' || (i / 10) % 5 END))
		  FROM generate_series(1, $n) i;
		UPDATE job_stagger.jobs SET offset_pinned = false;
		INSERT INTO job_stagger.job_run_details
		    (jobid, job_name, username, database, command, status, scheduled_at, nominal_at, started_at, ended_at,
		     stagger_enabled, offset_seconds, effective_schedule)
		SELECT j.jobid, j.job_name, j.username, j.database, j.command, 'succeeded', t, t, t,
		       t + (1 + j.jobid % 30) * interval '1 s', true, 0, j.schedule
		  FROM job_stagger.jobs j, generate_series(timestamptz '2020-01-01', '2020-01-01 00:19', '1 minute') t
		 WHERE j.jobid % 7 = 0;
		ANALYZE job_stagger.jobs, job_stagger.job_run_details;
	SQL
	for _ in $(seq "$REPEAT"); do
		timed "$n" "stagger_simulate()" "stagger_simulate()"
		timed "$n" "stagger_optimize()" "stagger_optimize()"
		timed "$n" "stagger_optimize(apply => true)" "stagger_optimize(true)"
	done
done

{
	echo "# stagger_simulate / stagger_optimize through SQL ($BENCH_TS)"
	echo
	bench_env_md
	echo "- median of $REPEAT runs each, ms"
	echo
	echo "| jobs | stagger_simulate() | stagger_optimize() | stagger_optimize(apply => true) | optimize / simulate |"
	echo "| ---: | ---: | ---: | ---: | ---: |"
	bench_sql -c "
	  SELECT format('| %s | %s | %s | %s | %s |', n, s, o, a, round((o / nullif(s, 0))::numeric, 1))
	    FROM (SELECT n,
	                 round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) FILTER (WHERE what = 'stagger_simulate()')) AS s,
	                 round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) FILTER (WHERE what = 'stagger_optimize()')) AS o,
	                 round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)
	                       FILTER (WHERE what = 'stagger_optimize(apply => true)')) AS a
	            FROM public.timings GROUP BY n) x ORDER BY n"
} >"$OUT"
cat "$OUT"
js_log "written to ${OUT#"$JS_ROOT"/}"
