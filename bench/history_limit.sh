#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# How fast does jobs.history_limit trim a big history, and does it delay
# starts? One job with BENCH_ROWS (1,000,000) finished rows (recent: the age
# retention has nothing to do) gets history_limit = BENCH_LIMIT (100) while
# BENCH_JOBS (8) every-second jobs run; the launcher trims in its quiet-window
# slices. A statement trigger on job_stagger.job_run_details records every
# DELETE that removed rows (one per slice and table): slices, rows per
# slice, the span from the first slice to the last, and the start lag of the
# every-second jobs in a window of BENCH_WINDOW (30) s before and during the
# trim. (The trigger's transition table adds a little to each slice.)
#
# Environment: BENCH_ROWS, BENCH_LIMIT, BENCH_JOBS, BENCH_WINDOW, BENCH_SKIP_BUILD=1.
# Output: bench/results/history_limit_<timestamp>.md (also printed).
set -euo pipefail
# shellcheck disable=SC2034 # read by lib_bench.sh
BENCH_NAME=history_limit
# shellcheck source=lib_bench.sh
. "$(dirname "$0")/lib_bench.sh"

ROWS=${BENCH_ROWS:-1000000}
LIMIT=${BENCH_LIMIT:-100}
NJOBS=${BENCH_JOBS:-8}
WINDOW=${BENCH_WINDOW:-30}
for v in $ROWS $LIMIT $NJOBS $WINDOW; do
	[[ $v =~ ^[1-9][0-9]*$ ]] || js_die "BENCH_ROWS, BENCH_LIMIT, BENCH_JOBS and BENCH_WINDOW must be positive integers"
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
bench_js_ready history_limit

bench_sql -q <<-SQL
	CREATE SCHEMA bench;
	CREATE TABLE bench.slices (at timestamptz, n bigint);
	CREATE TABLE bench.windows (phase text, w0 timestamptz, w1 timestamptz);
	CREATE FUNCTION bench.note_slice() RETURNS trigger LANGUAGE plpgsql SET search_path = pg_catalog AS \$\$
	BEGIN
	    INSERT INTO bench.slices SELECT clock_timestamp(), n FROM (SELECT count(*) AS n FROM gone) c WHERE n > 0;
	    RETURN NULL;
	END \$\$;
	CREATE TRIGGER note_slice AFTER DELETE ON job_stagger.job_run_details REFERENCING OLD TABLE AS gone
	    FOR EACH STATEMENT EXECUTE FUNCTION bench.note_slice();
	SELECT stagger_schedule('capped', '0 3 * * *', 'SELECT 1', active => false);
	INSERT INTO job_stagger.job_run_details (jobid, job_name, username, database, command, status, scheduled_at,
	       nominal_at, started_at, ended_at, stagger_enabled, offset_seconds, effective_schedule, roleid)
	SELECT j.jobid, j.job_name, j.username, j.database, j.command, 'succeeded', t, t, t, t + interval '5 ms', false,
	       0, j.schedule, j.roleid
	  FROM job_stagger.jobs j, generate_series(1, $ROWS) i,
	       LATERAL (SELECT now() - interval '1 day' + i * interval '50 ms' AS t) x
	 WHERE j.job_name = 'capped';
	VACUUM ANALYZE job_stagger.job_run_details;
	INSERT INTO job_stagger.jobs (job_name, schedule, command, overlap)
	SELECT 'hl_' || i, '* * * * * *', 'SELECT 1', 'allow' FROM generate_series(1, $NJOBS) i;
SQL
CAPPED="SELECT count(*) FROM job_stagger.job_run_details WHERE job_name = 'capped'"

sleep 3
w0=$(bench_sql -c "SELECT clock_timestamp()")
sleep "$WINDOW"
bench_sql -c "INSERT INTO bench.windows VALUES ('before', '$w0', clock_timestamp())"
bench_log "history_limit = $LIMIT on a job with $(bench_sql -c "$CAPPED") rows"
t0=$(bench_sql -c "SELECT clock_timestamp()")
bench_sql -q -c "SELECT stagger_alter_job('capped', history_limit => $LIMIT)"
while [ "$(bench_sql -c "$CAPPED")" -gt "$LIMIT" ]; do
	sleep 0.5
	[ "$(bench_sql -c "SELECT clock_timestamp() - '$t0' > interval '30 minutes'")" = t ] && js_die "not trimmed within 30 min"
done
bench_sql -c "INSERT INTO bench.windows VALUES ('trimming', '$t0', clock_timestamp())"
bench_sql -c "SELECT count(stagger_unschedule(jobid)) FROM job_stagger.jobs WHERE job_name LIKE 'hl\\_%'" >/dev/null
bench_wait_js_quiet 60 || true
[ "$(bench_backend_pid 'job_stagger launcher')" = "$LAUNCHER" ] || bench_warn "the launcher restarted during the run"

{
	echo "# history_limit: trimming $ROWS rows to $LIMIT ($(date -u '+%Y-%m-%d %H:%M UTC'))"
	echo
	bench_env_md
	echo "- one job with $ROWS finished rows, history_limit set to $LIMIT; $NJOBS jobs \`* * * * * *\` run meanwhile"
	echo
	bench_sql -c "
	  SELECT format('rows left: %s; slices: %s; rows deleted: %s; rows per slice: median %s, max %s; '
	                'first slice %s s after the change, last slice %s s after it (trimming took %s s)',
	                ($CAPPED), count(*), sum(n), percentile_disc(0.5) WITHIN GROUP (ORDER BY n), max(n),
	                round(extract(epoch FROM min(at) - '$t0')::numeric, 1),
	                round(extract(epoch FROM max(at) - '$t0')::numeric, 1),
	                round(extract(epoch FROM max(at) - min(at))::numeric, 1))
	    FROM bench.slices WHERE at >= '$t0'"
	echo
	echo "| window | runs | not succeeded | start lag p50 ms | p99 ms | max ms |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: |"
	bench_sql -c "
	  SELECT format('| %s (%s s) | %s | %s | %s | %s | %s |', w.phase, round(extract(epoch FROM w.w1 - w.w0)),
	                count(r.runid), count(r.runid) FILTER (WHERE r.status <> 'succeeded'),
	                round(percentile_cont(0.5) WITHIN GROUP (ORDER BY l)::numeric, 3),
	                round(percentile_cont(0.99) WITHIN GROUP (ORDER BY l)::numeric, 3), round(max(l)::numeric, 3))
	    FROM bench.windows w
	    LEFT JOIN job_stagger.job_run_details r
	           ON r.job_name LIKE 'hl\\_%' AND r.scheduled_at >= w.w0 AND r.scheduled_at < w.w1
	    LEFT JOIN LATERAL (SELECT extract(epoch FROM r.started_at - r.scheduled_at) * 1000 AS l) x ON true
	   GROUP BY w.phase, w.w0, w.w1 ORDER BY w.w0"
	bench_log_md
} >"$OUT"
cat "$OUT"
bench_log "written to ${OUT#"$JS_ROOT"/}"
