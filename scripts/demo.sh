#!/usr/bin/env bash
# The job_stagger demo: installs what is missing, builds and installs the
# extension, starts a throwaway PostgreSQL cluster (temp dir, free port on
# 127.0.0.1) with the library preloaded, shows the product working, and
# removes the cluster again (also on Ctrl-C).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

trap js_cluster_stop EXIT
trap 'exit 130' INT TERM

js_install_deps
js_build_install
js_log "starting a throwaway cluster"
js_cluster_start </dev/null
js_log "cluster on 127.0.0.1:$JS_PORT ($JS_PGDATA)"

demo_sql() { # title, SQL
	js_log "$1"
	echo "$2" | sed 's/^/    /'
	js_psql -d postgres -c "$2"
}

demo_sql "create the extension" "CREATE EXTENSION job_stagger;"
demo_sql "next fire times of pg_cron-style schedules" \
	"SELECT s AS schedule, stagger_describe(s) AS description,
       (SELECT string_agg(to_char(t, 'HH24:MI:SS'), ' ') FROM stagger_next_runs(s, '2026-01-15 10:02:30+00', 4) t) AS next_4_after_10_02_30
  FROM unnest(ARRAY['*/5 * * * *', '15 */5 * * * *', '0 3 * * *', '30 seconds', '0 9 * * mon-fri', '0 0 \$ * *']) s;"
demo_sql "daylight saving time: a 02:30 job in New York across the March gap" \
	"SET job_stagger.timezone = 'America/New_York';
SELECT t AS utc, t AT TIME ZONE 'America/New_York' AS new_york
  FROM stagger_next_runs('30 2 * * *', '2026-03-06 12:00+00', 3) t;"
demo_sql "bad input gets a clear error" "SELECT stagger_next_runs('61 * * * *');" || true

demo_sql "schedule jobs: every second, every 2 seconds (failing), a slow one" \
	"CREATE TABLE demo_ticks (at timestamptz DEFAULT clock_timestamp());
SELECT stagger_schedule('tick', '* * * * * *', 'INSERT INTO demo_ticks DEFAULT VALUES');
SELECT stagger_schedule('broken', '*/2 * * * * *', 'SELECT 1/0');
SELECT stagger_schedule('slow', '*/3 * * * * *', 'SELECT pg_sleep(4)');"
sleep 7
demo_sql "run history: each due slot has a row, started at its exact second" \
	"SELECT job_name, status, scheduled_at::time AS scheduled, round(extract(epoch FROM started_at - scheduled_at) * 1000, 3) AS lag_ms,
       round(extract(epoch FROM ended_at - started_at) * 1000, 1) AS ms, left(return_message, 48) AS message
  FROM job_stagger.job_run_details WHERE status <> 'starting' ORDER BY scheduled_at, job_name LIMIT 14;"
demo_sql "start lag over all runs so far" \
	"SELECT count(*) AS runs, round((percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM started_at - scheduled_at)) * 1000)::numeric, 3) AS p50_ms,
       round(max(extract(epoch FROM started_at - scheduled_at)) * 1000, 3) AS max_ms
  FROM job_stagger.job_run_details WHERE started_at IS NOT NULL;"
js_log "demo finished; the cluster is removed on exit"
