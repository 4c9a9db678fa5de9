#!/usr/bin/env bash
# The job_stagger demo: installs what is missing, builds and installs the
# extension, starts a throwaway PostgreSQL cluster (temp dir, free port on
# 127.0.0.1) with the library preloaded, and shows the product doing its job:
# eight "every minute" jobs that all start at second :00, then the same jobs
# staggered over the minute after one live settings change. Takes about two
# to three minutes (it waits for real minute boundaries). The cluster is
# removed on exit, also on Ctrl-C.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

trap js_cluster_stop EXIT
trap 'exit 130' INT TERM

js_install_deps
js_build_install
js_log "starting a throwaway cluster"
js_cluster_start <<'EOF'
max_worker_processes = 24
job_stagger.pool_sample_interval = 5
EOF
js_log "cluster on 127.0.0.1:$JS_PORT ($JS_PGDATA)"

demo_sql() { # title, SQL
	js_log "$1"
	echo "$2" | sed 's/^/    /'
	echo "$2" | js_psql -d postgres -v SHOW_CONTEXT=never
}

# Sleeps until second $1 of the next minute that is at least $2 seconds away.
wait_for_second() {
	local now target
	now=$(date +%s.%N)
	target=$(awk -v n="$now" -v s="$1" -v a="$2" 'BEGIN { t = int(n / 60) * 60 + s; while (t < n + a) t += 60; print t }')
	js_log "waiting until second :$(printf %02d "$1") ($(awk -v t="$target" -v n="$now" 'BEGIN { printf "%d", t - n }') s)"
	sleep "$(awk -v t="$target" -v n="$now" 'BEGIN { print t - n }')"
}

# Start seconds and the peak number of runs executing at once, per mode.
RUN_STATS="SELECT CASE WHEN r.stagger_enabled THEN 'staggered' ELSE 'all at :00' END AS mode, count(*) AS runs,
       string_agg(DISTINCT to_char(r.started_at, ':SS'), ' ') AS start_seconds,
       max((SELECT count(*) FROM job_stagger.job_run_details o
             WHERE o.status = 'succeeded' AND o.started_at <= r.started_at AND o.ended_at > r.started_at)) AS peak_concurrent,
       round(avg(extract(epoch FROM r.ended_at - r.started_at))::numeric, 2) AS avg_seconds
  FROM job_stagger.job_run_details r WHERE r.status = 'succeeded'
 GROUP BY r.stagger_enabled ORDER BY r.stagger_enabled;"

demo_sql "create the extension" "CREATE EXTENSION job_stagger;"
demo_sql "the cron engine: pg_cron syntax plus a seconds field" \
	"SELECT s AS schedule, stagger_describe(s) AS description,
       (SELECT string_agg(to_char(t, 'HH24:MI:SS'), ' ') FROM stagger_next_runs(s, '2026-01-15 10:02:30+00', 3) t) AS next_3
  FROM unnest(ARRAY['*/5 * * * *', '15 */5 * * * *', '30 seconds', '0 9 * * mon-fri', '0 0 \$ * *']) s;"

demo_sql "eight jobs that all run every minute (each takes ~3 s)" \
	"CREATE TABLE report_cache (job text, refreshed_at timestamptz);
SELECT string_agg(stagger_schedule('refresh_' || i, '* * * * *',
           format('SELECT pg_sleep(3); INSERT INTO report_cache VALUES (%L, now())', 'refresh_' || i))::text, ', ') AS jobids
  FROM generate_series(1, 8) i;"
demo_sql "staggering is off: every job fires at second :00 (offsets were picked, unused)" "SELECT stagger_summary();"

wait_for_second 8 5
demo_sql "this minute, with staggering off" "$RUN_STATS"

demo_sql "turn staggering on, live" \
	"ALTER SYSTEM SET job_stagger.enabled = on;
SELECT pg_reload_conf();"
sleep 1
js_psql -d postgres -c "SELECT stagger_summary();"

wait_for_second 58 60
demo_sql "the next minute, staggered: same jobs, same work" "$RUN_STATS"
demo_sql "every run: start second, offset applied, effective schedule" \
	"SELECT job_name, stagger_enabled AS staggered, offset_seconds AS offset, effective_schedule,
       to_char(scheduled_at, 'HH24:MI:SS') AS scheduled, round(extract(epoch FROM started_at - scheduled_at) * 1e6) AS lag_us, status
  FROM job_stagger.job_run_details WHERE status <> 'starting' ORDER BY scheduled_at, job_name;"
demo_sql "the analysis views: concurrency per minute, offsets verified against real start seconds" \
	"SELECT minute, stagger_enabled, runs, peak_concurrency, worst_second FROM job_stagger.concurrency ORDER BY minute;
SELECT job_name, configured_offset, observed_start_seconds, on_offset_pct, median_lag_ms
  FROM job_stagger.offset_verification ORDER BY configured_offset;"
js_log "stagger-ctl check: the rollout checks over the last 2 minutes (exit code 1 if one fails)"
ctl() { PGHOST=127.0.0.1 PGPORT=$JS_PORT PGUSER=postgres PGDATABASE=postgres "$PG_BIN/stagger-ctl" "$@"; }
ctl check --window '2 minutes' || true
js_log "stagger-ctl kpi: a KPI snapshot, also written to a report file"
ctl kpi --since '5 minutes' --output-dir "$JS_TMP/reports" || true
demo_sql "collisions are judged on real fire times" \
	"SELECT * FROM stagger_validate();
SELECT stagger_set_offset('refresh_2', 30);
SELECT job_a, job_b, second, collisions_per_day FROM stagger_collisions();"
demo_sql "bad input gets a clear error" "SELECT stagger_schedule('oops', '*/0 * * * *', 'SELECT 1');" || true
js_log "demo finished; the cluster is removed on exit"
