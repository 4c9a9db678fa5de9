#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Start lag of job_stagger versus pg_cron: how late after its due instant a
# scheduled job really starts, with N jobs sharing the same schedule.
#
# One throwaway cluster preloads both libraries. For each N in BENCH_JOBS it
# runs N jobs '* * * * *' for BENCH_MINUTES minute boundaries under job_stagger
# (staggering off: all at :00), then the same under pg_cron (job_stagger jobs
# removed first, and the other way round), so the numbers come from the same
# server minutes apart. Then, job_stagger only, BENCH_SECOND_JOBS jobs on the
# 6-field every-second schedule '* * * * * *' for BENCH_SECOND_WINDOW seconds.
#
# Each job's command is
#     INSERT INTO bench.probe (tag) VALUES ('<phase>'); SELECT pg_sleep(BENCH_SLEEP)
# start lag = job_run_details.started_at - scheduled_at (job_stagger) and
#             start_time - date_trunc('minute', start_time) (pg_cron);
# the probe row's clock_timestamp() gives a second, system-independent view:
# when the command's SQL really ran (the "in-command lag").
#
# Runtime with the defaults: about 14-15 minutes (under a minute of setup and
# alignment to the next minute, 1 min every-second phase, then 2 systems x 2 N
# x 3 minutes). BENCH_QUICK=1: about 4 minutes (N = 4 16, one minute each,
# a 20 s every-second phase).
#
# Environment (defaults in brackets):
#   BENCH_JOBS           job counts to compare            ["8 100"; quick "4 16"]
#   BENCH_MINUTES        minute boundaries per phase       [3; quick 1]
#   BENCH_SECOND_JOBS    jobs of the every-second phase    [8; quick 4]
#   BENCH_SECOND_WINDOW  seconds of the every-second phase [60; quick 20]
#   BENCH_SLEEP          pg_sleep() of each command, s     [0.05]
#   BENCH_MAX_RUNNING    job_stagger.max_running_jobs = cron.max_running_jobs
#                        [largest N + 28, so that neither cap queues runs]
#   BENCH_CRON_BGW       1: pg_cron with cron.use_background_workers = on [0: libpq
#                        connections over the cluster's Unix socket]
#   BENCH_NICE           e.g. -10: the cluster's processes (both systems alike) run
#                        at that nice value, against noise from other work [unset]
#   BENCH_SKIP_BUILD     1: use the installed job_stagger.so, do not build [0]
#   BENCH_QUICK          1: smoke run
#
# Output: a markdown summary in bench/results/start_lag_<timestamp>.md (also
# printed), and the server log next to it.
set -euo pipefail
# shellcheck disable=SC2034 # read by lib_bench.sh
BENCH_NAME=start_lag
# shellcheck source=lib_bench.sh
. "$(dirname "$0")/lib_bench.sh"

QUICK=${BENCH_QUICK:-0}
if [ "$QUICK" = 1 ]; then
	JOBS=${BENCH_JOBS:-"4 16"} MINUTES=${BENCH_MINUTES:-1}
	SECOND_JOBS=${BENCH_SECOND_JOBS:-4} SECOND_WINDOW=${BENCH_SECOND_WINDOW:-20}
else
	JOBS=${BENCH_JOBS:-"8 100"} MINUTES=${BENCH_MINUTES:-3}
	SECOND_JOBS=${BENCH_SECOND_JOBS:-8} SECOND_WINDOW=${BENCH_SECOND_WINDOW:-60}
fi
SLEEP=${BENCH_SLEEP:-0.05}
CRON_BGW=${BENCH_CRON_BGW:-0}

for v in $JOBS $MINUTES $SECOND_JOBS $SECOND_WINDOW; do
	[[ $v =~ ^[1-9][0-9]*$ ]] || js_die "job counts, minutes and windows must be positive integers, got '$v'"
done
[[ $SLEEP =~ ^[0-9]+(\.[0-9]+)?$ ]] || js_die "BENCH_SLEEP must be a number of seconds, got '$SLEEP'"
MAXJOBS=$SECOND_JOBS
for n in $JOBS; do [ "$n" -gt "$MAXJOBS" ] && MAXJOBS=$n; done
MAXRUN=${BENCH_MAX_RUNNING:-$((MAXJOBS + 28))}
if [ "$CRON_BGW" = 1 ]; then CRON_MODE="background workers"; CRON_BGW_CONF=on; else
	CRON_MODE="libpq connections over the Unix socket"; CRON_BGW_CONF=off; fi

bench_traps
bench_prepare
mkdir -p "$BENCH_RESULTS"
OUT=$BENCH_RESULTS/start_lag_$BENCH_TS.md

bench_log "starting a throwaway cluster with job_stagger and pg_cron preloaded"
bench_cluster_start <<-CONF
	job_stagger.enabled = off
	job_stagger.max_running_jobs = $MAXRUN
	cron.max_running_jobs = $MAXRUN
	cron.use_background_workers = $CRON_BGW_CONF
	max_worker_processes = $((MAXRUN + 16))
	max_connections = $((MAXRUN + 50))
CONF
bench_log "cluster on 127.0.0.1:$JS_PORT ($JS_PGDATA)"

cmd() { echo "INSERT INTO bench.probe (tag) VALUES ('$1'); SELECT pg_sleep($SLEEP)"; }
# The every-second phase first: it fits in the wait for the first full minute.
bench_phase job_stagger "job_stagger_every_second_$SECOND_JOBS" "$SECOND_JOBS" '* * * * * *' \
	"$(cmd "job_stagger_every_second_$SECOND_JOBS")" second "$SECOND_WINDOW"
for n in $JOBS; do
	bench_phase job_stagger "job_stagger_$n" "$n" '* * * * *' "$(cmd "job_stagger_$n")" minute "$MINUTES"
	bench_phase pg_cron "pg_cron_$n" "$n" '* * * * *' "$(cmd "pg_cron_$n")" minute "$MINUTES"
done
BENCH_LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

bench_log "summary"
{
	echo "# Start lag: job_stagger vs pg_cron ($(date -u '+%Y-%m-%d %H:%M UTC'))"
	echo
	bench_env_md
	echo "- load average at end: $BENCH_LOAD_END"
	echo "- one cluster, both libraries preloaded; job_stagger.enabled = off (every 5-field job at :00);"
	echo "  job_stagger.max_running_jobs = cron.max_running_jobs = $MAXRUN, max_worker_processes = $((MAXRUN + 16)),"
	echo "  max_connections = $((MAXRUN + 50)); pg_cron runs through $CRON_MODE; synchronous_commit and fsync on (defaults)"
	echo "- command of every job: \`INSERT INTO bench.probe (tag) VALUES ('<phase>'); SELECT pg_sleep($SLEEP)\`"
	echo "- phases run one after another; during each phase the other system has no job and no run"
	echo
	echo "## Start lag (ms)"
	echo
	echo "job_stagger: started_at - scheduled_at; pg_cron: start_time - date_trunc('minute', start_time)."
	echo "Peak concurrency: the largest number of runs whose [start, end] intervals overlap."
	echo
	echo "| system | jobs | schedule | window | runs / due | not succeeded | min | p50 | p95 | p99 | max | peak concurrency |"
	echo "| --- | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	bench_sql -c "SELECT format('| %s | %s | \`%s\` | %s | %s / %s | %s | %s | %s | %s | %s | %s | %s |',
	                            s.sys, s.njobs, s.schedule,
	                            CASE WHEN p.unit = 'second' THEN '$SECOND_WINDOW s' ELSE '$MINUTES min' END,
	                            s.runs, s.expected, s.not_ok, bench.ms(s.min_lag), bench.ms(s.p50), bench.ms(s.p95),
	                            bench.ms(s.p99),
	                            bench.ms(s.max_lag), s.peak)
	                FROM bench.stats s JOIN bench.phases p USING (phase)
	               ORDER BY p.unit, s.njobs, s.sys"
	echo
	echo "## pg_cron / job_stagger ratio (same N, same schedule)"
	echo
	echo "| jobs | p50 ratio | p99 ratio | in-command p50 ratio | in-command p99 ratio |"
	echo "| ---: | ---: | ---: | ---: | ---: |"
	bench_sql -c "SELECT format('| %s | %s | %s | %s | %s |', j.njobs, bench.ratio(c.p50, j.p50), bench.ratio(c.p99, j.p99),
	                            bench.ratio(c.probe_p50, j.probe_p50), bench.ratio(c.probe_p99, j.probe_p99))
	                FROM bench.stats j JOIN bench.stats c ON c.njobs = j.njobs AND c.schedule = j.schedule
	               WHERE j.sys = 'job_stagger' AND c.sys = 'pg_cron' ORDER BY j.njobs"
	echo
	echo "## In-command lag (ms)"
	echo
	echo "clock_timestamp() of the probe INSERT (the command's first statement) minus the fire instant"
	echo "(the probe's time truncated to the minute, or second): when the job's SQL really ran."
	echo
	echo "| system | jobs | schedule | samples | p50 | p99 | max |"
	echo "| --- | ---: | --- | ---: | ---: | ---: | ---: |"
	bench_sql -c "SELECT format('| %s | %s | \`%s\` | %s | %s | %s | %s |', s.sys, s.njobs, s.schedule,
	                            coalesce(s.probe_n, 0), bench.ms(s.probe_p50), bench.ms(s.probe_p99), bench.ms(s.probe_max))
	                FROM bench.stats s JOIN bench.phases p USING (phase)
	               ORDER BY p.unit, s.njobs, s.sys"
	echo
	echo "## Run outcomes"
	echo
	bench_outcomes_md
} >"$OUT"
cat "$OUT"
bench_log "written to ${OUT#"$JS_ROOT"/}"
