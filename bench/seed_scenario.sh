#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# The seed scenario: the workload job_stagger was built for. Eight periodic
# jobs of a betting app (referral rewards, notifications, live statistics,
# badges, prediction matching, match finishing, settlements) that all fired at
# :00 and fought over CPU, I/O, row locks and the app's connection pool, while
# the app's API kept serving requests. The old system promised: peak pool
# utilisation from 85-95 % to under 40 %, mean job duration 30 % shorter, lock
# skips down 80 %, at most 1-2 jobs running at once instead of 8.
#
# One throwaway cluster (job_stagger and pg_cron preloaded side by side), a
# generated data set (bench/seed/data.sql, 6-8 s; also the reset before every
# phase, then VACUUM ANALYZE + CHECKPOINT), the eight job bodies
# (bench/seed/jobs/<name>.sql, each about 0.5-2 s alone: measured and printed
# first), and steady API traffic (pgbench at a fixed rate, bench/seed/api.sql)
# during every phase. Phases, one system with jobs at a time:
#   A  job_stagger, staggering off: every job at :00
#   B  job_stagger, staggering on, the offsets of the issue
#   C  job_stagger, staggering on, the optimiser's offsets: B's jobs, kept
#      (inactive) with their history, unpinned (stagger_set_offset(job,
#      NULL)) and moved by stagger_optimize(apply => true) from the durations
#      B observed (job_stagger.job_durations())
#   D  pg_cron, every job at :00
# Exclusive groups: referral_tier2/referral_tier3 ('referrals') and
# scheduled_notifications/telegram_settlement ('settlement') never run
# together. job_stagger: exclusive_group + group_policy 'skip'; pg_cron has no
# groups, so those commands start with pg_try_advisory_xact_lock(<group key>)
# and raise 'lock skip: group <g> busy' when it is taken (as the old system
# did; counted as skips, not failures).
#
# Measured per phase from the product's history (job_stagger.job_run_details,
# cron.job_run_details), the pgbench log and a pg_stat_activity sampler
# (every 250 ms): concurrency, durations, runs/skips, pool utilisation, API
# latency; ratios between the phases, the issue's targets (B vs A), the group
# exclusivity check, and a picture (gnuplot SVG): mean running jobs and API
# p95 per second of the minute for A, B, C and D.
#
# Usage: bench/seed_scenario.sh [--quick]       (as root, or with sudo)
#   full:    10-minute windows starting at minute boundaries, ~45 min (33 measured with three phases, plus phase C)
#   --quick (or BENCH_QUICK=1): 1-minute windows, every job '* * * * *', ~6 min (measured)
#
# Environment (defaults in brackets):
#   SEED_MINUTES      window length per phase, minutes [10; quick 1]
#   SEED_POOL_SIZE    the app's connection pool shared by API and jobs [12 =
#                     8 jobs + 4 API clients]
#   SEED_API_RATE     pgbench --rate, transactions/s [60]
#   SEED_API_CLIENTS  pgbench clients [4]
#   SEED_SCALE        data set multiplier (integer) [1]
#   BENCH_SKIP_BUILD  1: use the installed job_stagger.so [0]
#   BENCH_NICE        as the other benches [unset]
#   PG_BIN            PostgreSQL binaries [/usr/lib/postgresql/15/bin]
#
# Output: bench/results/seed_<ts>.md (also printed), seed_<ts>.svg, the
# server log; full mode also copies the SVG to docs/seed_scenario.svg.
set -euo pipefail
# shellcheck disable=SC2034 # read by lib_bench.sh
BENCH_NAME=seed
# shellcheck source=lib_bench.sh
. "$(dirname "$0")/lib_bench.sh"

QUICK=${BENCH_QUICK:-0}
for a in "$@"; do
	case $a in
	--quick) QUICK=1 ;;
	-h | --help) sed -n '3,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) js_die "unknown argument '$a' (try --help)" ;;
	esac
done
if [ "$QUICK" = 1 ]; then MINUTES=${SEED_MINUTES:-1}; else MINUTES=${SEED_MINUTES:-10}; fi
POOL=${SEED_POOL_SIZE:-12}
RATE=${SEED_API_RATE:-60}
CLIENTS=${SEED_API_CLIENTS:-4}
SCALE=${SEED_SCALE:-1}
for v in "$MINUTES" "$POOL" "$RATE" "$CLIENTS" "$SCALE"; do
	[[ $v =~ ^[1-9][0-9]*$ ]] || js_die "SEED_* values must be positive integers, got '$v'"
done
SEED=$BENCH_DIR/seed
WINDOW=$((MINUTES * 60))

# name, schedule, offset (s), exclusive group
JOBS=(
	"referral_tier2 * * * * * 0 referrals"
	"referral_tier3 * * * * * 15 referrals"
	"scheduled_notifications * * * * * 30 settlement"
	"live_stats_sync * * * * * 45 -"
	"badge_auto_unlock */5 * * * * 5 -"
	"prediction_matcher */5 * * * * 25 -"
	"stuck_match_finisher */10 * * * * 10 -"
	"telegram_settlement */10 * * * * 40 settlement"
)
# the fields of one JOBS entry: NAME SCHED OFFSET GROUP (quick: every minute)
job_fields() {
	local -a f
	read -ra f <<<"$1"
	NAME=${f[0]} SCHED="${f[1]} ${f[2]} ${f[3]} ${f[4]} ${f[5]}" OFFSET=${f[6]} GROUP=${f[7]}
	[ "$QUICK" = 1 ] && SCHED='* * * * *'
	return 0
}
# advisory lock keys of the groups under pg_cron
group_key() { case $1 in referrals) echo 4201 ;; settlement) echo 4202 ;; esac; }

PGBENCH_PID='' SAMPLER_PID='' SLEEP_PID=''
# shellcheck disable=SC2016 # evaluated by bench_cleanup
BENCH_EXTRA_CLEANUP='for p in $PGBENCH_PID $SAMPLER_PID $SLEEP_PID; do kill "$p" 2>/dev/null || true; done'
# Sleeps until an epoch in the background and waits for it, so that a TERM or
# INT sent to this script alone runs the exit trap at once (bash runs traps
# only once a foreground command has ended).
seed_sleep_until() {
	local d
	d=$(awk -v t="$1" -v n="$(bench_now)" 'BEGIN { d = t - n; if (d < 0) d = 0; printf "%.3f", d }')
	sleep "$d" &
	SLEEP_PID=$!
	wait "$SLEEP_PID"
	SLEEP_PID=''
}
bench_traps
bench_prepare
js_install_deps --no-install-recommends -- gnuplot-nox
mkdir -p "$BENCH_RESULTS"
OUT=$BENCH_RESULTS/seed_$BENCH_TS.md
SVG=$BENCH_RESULTS/seed_$BENCH_TS.svg

bench_log "starting a throwaway cluster with job_stagger and pg_cron preloaded"
bench_cluster_start <<-CONF
	job_stagger.enabled = off
	job_stagger.pool_sample_interval = '5s'
	job_stagger.slow_job_threshold_ms = 10000
	job_stagger.max_running_jobs = 16
	cron.max_running_jobs = 16
	max_worker_processes = 40
	max_connections = 60
CONF
bench_log "cluster on 127.0.0.1:$JS_PORT ($JS_PGDATA)"
bench_sql -q -f "$SEED/report.sql"
PGB=$PG_BIN/pgbench

reset_data() {
	local t0
	t0=$(bench_now)
	bench_sql -q -v scale="$SCALE" -f "$SEED/data.sql"
	bench_sql -q -c "VACUUM ANALYZE" -c "CHECKPOINT"
	bench_ms "$t0" "$(bench_now)"
}

bench_log "generating the data set (scale $SCALE)"
GEN_MS=$(reset_data)
DATA_DESC=$(bench_sql -c "SELECT string_agg(format('%s %s', relname, n_live_tup), ', ' ORDER BY relname)
                            FROM pg_stat_user_tables WHERE schemaname = 'app' AND n_live_tup > 0")
DATA_MB=$(bench_sql -c "SELECT round(sum(pg_total_relation_size(oid)) / 1048576.0) FROM pg_class
                         WHERE relnamespace = 'app'::regnamespace AND relkind = 'r'")
bench_log "  $GEN_MS ms: $DATA_DESC ($DATA_MB MB with indexes)"

# Calibration: each job's body alone (psql, one simple query: one transaction, as both systems run it), twice.
bench_log "calibration: each job alone, twice"
declare -A SOLO
for j in "${JOBS[@]}"; do
	job_fields "$j"
	body=$(cat "$SEED/jobs/$NAME.sql")
	ms=()
	for _ in 1 2; do
		t0=$(bench_now)
		bench_sql -q -c "$body" >/dev/null
		ms+=("$(bench_ms "$t0" "$(bench_now)")")
	done
	SOLO[$NAME]="${ms[0]} / ${ms[1]}"
	bench_log "  $NAME: ${ms[0]} ms, ${ms[1]} ms"
done

# Job commands. pg_cron: the group's advisory lock first (the old system's way).
command_for() { # sys name group
	local body
	body=$(cat "$SEED/jobs/$2.sql")
	if [ "$1" = pg_cron ] && [ "$3" != - ]; then
		printf "DO \$g\$ BEGIN IF NOT pg_try_advisory_xact_lock(%s) THEN RAISE EXCEPTION 'lock skip: group %% busy', '%s'; END IF; END \$g\$;\n%s" \
			"$(group_key "$3")" "$3" "$body"
	else
		printf '%s' "$body"
	fi
}

schedule_jobs() { # phase sys
	local j cmd
	for j in "${JOBS[@]}"; do
		job_fields "$j"
		cmd=$(command_for "$2" "$NAME" "$GROUP")
		if [ "$2" = job_stagger ]; then
			bench_sql -q -v name="$NAME" -v sched="$SCHED" -v off="$OFFSET" -v cmd="$cmd" -v grp="$GROUP" -v ph="$1" \
				<<<"INSERT INTO seed.jobmap SELECT :'ph', stagger_schedule(:'name', :'sched', :'cmd', offset_seconds => :off), :'name', :'grp'"
			[ "$GROUP" = - ] ||
				bench_sql -q -v name="$NAME" -v grp="$GROUP" \
					<<<"SELECT stagger_alter_job(:'name', exclusive_group => :'grp', group_policy => 'skip')" >/dev/null
		else
			bench_sql -q -v name="$NAME" -v sched="$SCHED" -v cmd="$cmd" -v grp="$GROUP" -v ph="$1" \
				<<<"INSERT INTO seed.jobmap SELECT :'ph', cron.schedule(:'name', :'sched', :'cmd'), :'name', :'grp'"
		fi
	done
}

# The fire seconds (of the minute) of a phase's slots.
fire_seconds() { # staggered(0/1/table)
	local j
	if [ "$1" = 0 ]; then echo 0; return; fi
	if [ "$1" = table ]; then bench_sql -c "SELECT DISTINCT offset_seconds FROM job_stagger.jobs"; return; fi
	for j in "${JOBS[@]}"; do job_fields "$j"; echo "$OFFSET"; done
}

# The window's start: the first whole second, at least 8 s from now, with no
# slot in the 6 s before it (the jobs are created 5 s before the window, so
# that no slot falls between their creation and the window, and they are
# removed 1.5 s before its end, which is the same second of the minute).
# Full mode: a minute boundary.
window_start() { # staggered(0/1)
	local now w s ok secs
	secs=$(fire_seconds "$1")
	now=$(date +%s)
	w=$((now + 8))
	while :; do
		if [ "$QUICK" != 1 ] && [ $((w % 60)) != 0 ]; then w=$((w + 1)); continue; fi
		ok=1
		for s in $secs; do
			for d in 1 2 3 4 5 6; do [ $(((w - d) % 60)) = "$s" ] && ok=0; done
		done
		[ $ok = 1 ] && break
		w=$((w + 1))
	done
	echo "$w"
}

# pg_stat_activity as SQL text for "a run of either system still executing".
BUSY="SELECT (SELECT count(*) FROM job_stagger.job_run_details WHERE status IN ('starting', 'running'))
  + (SELECT count(*) FROM cron.job_run_details WHERE status IN ('starting', 'connecting', 'sending', 'running'))
  + (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'job_stagger job' OR application_name = 'pg_cron')"

# Phase C's offsets: B's jobs (inactive, with B's history) unpinned and moved
# by the optimiser, in one transaction that leaves them inactive; the
# optimiser's rows go to seed.optimized for the report.
optimize_kept_jobs() {
	bench_sql -q >/dev/null <<-'SQL'
		BEGIN;
		SELECT count(stagger_alter_job(jobid, active => true)) FROM job_stagger.jobs;
		CREATE TABLE seed.durations AS SELECT * FROM job_stagger.job_durations();
		CREATE TABLE seed.predicted AS SELECT 'B' AS phase, * FROM stagger_simulate_totals();
		SELECT count(stagger_set_offset(job_name, NULL)) FROM job_stagger.jobs;
		CREATE TABLE seed.optimized AS SELECT * FROM stagger_optimize(apply => true);
		INSERT INTO seed.predicted SELECT 'C', * FROM stagger_simulate_totals();
		SELECT count(stagger_alter_job(jobid, active => false)) FROM job_stagger.jobs;
		COMMIT;
	SQL
	bench_sql -c "SELECT format('  optimiser: %s -> %s (peak), %s -> %s (overlap s, next 24 h); offsets %s', max(peak_before),
	                            max(peak_after), max(overlap_before), max(overlap_after),
	                            string_agg(job_name || ' ' || current_offset || '->' || proposed_offset, ', ' ORDER BY job_name))
	                FROM seed.optimized" >&2
}

run_phase() { # phase sys staggered(0/1) label [keep: B keeps its jobs for C; kept: C reuses them]
	local phase=$1 sys=$2 stag=$3 label=$4 mode=${5:-} w0 w1 ms logdir
	bench_log "phase $phase: $label"
	if [ "$mode" = kept ]; then
		[ "$(bench_sql -c "SELECT count(*) FILTER (WHERE active) || '/' || count(*) FROM job_stagger.jobs")" = "0/${#JOBS[@]}" ] ||
			js_die "phase $phase expects the ${#JOBS[@]} inactive jobs of the previous phase"
	else
		[ "$(bench_sql -c "SELECT (SELECT count(*) FROM job_stagger.jobs) + (SELECT count(*) FROM cron.job)")" = 0 ] ||
			js_die "jobs left over from an earlier phase"
	fi
	bench_wait_zero "$BUSY" 120 || true
	ms=$(reset_data)
	bench_log "  data reset in $ms ms"
	if [ "$sys" = job_stagger ]; then
		bench_sql -q -c "ALTER SYSTEM SET job_stagger.enabled = $([ "$stag" = 1 ] && echo on || echo off)" -c "SELECT pg_reload_conf()" >/dev/null
		bench_sql -q -c "DO \$\$ BEGIN FOR i IN 1..100 LOOP
		    EXIT WHEN (job_stagger.scheduler_status()).applied_enabled = $([ "$stag" = 1 ] && echo true || echo false);
		    PERFORM pg_sleep(0.1); END LOOP; END \$\$"
		[ "$(bench_sql -c "SELECT (job_stagger.scheduler_status()).applied_enabled")" = "$([ "$stag" = 1 ] && echo t || echo f)" ] ||
			bench_warn "phase $phase: the scheduler has not applied job_stagger.enabled"
	fi
	bench_wait_backend 'job_stagger launcher' 30
	bench_wait_backend 'pg_cron launcher' 30

	if [ "$mode" = kept ]; then
		optimize_kept_jobs
		w0=$(window_start table)
	else
		w0=$(window_start "$stag")
	fi
	w1=$((w0 + WINDOW))
	bench_sql -q -c "INSERT INTO seed.phases (phase, sys, label, w0, w1, pool)
	                 VALUES ('$phase', '$sys', '$label', to_timestamp($w0), to_timestamp($w1), $POOL)"
	bench_log "  window $(date -u -d "@$w0" +%H:%M:%S) - $(date -u -d "@$w1" +%H:%M:%S)"
	seed_sleep_until $((w0 - 5))
	if [ "$mode" = kept ]; then
		bench_sql -q -v ph="$phase" <<<"INSERT INTO seed.jobmap SELECT :'ph', m.jobid, m.job_name, m.grp FROM seed.jobmap m
		                                  WHERE m.jobid IN (SELECT jobid FROM job_stagger.jobs)"
		bench_sql -q -c "SELECT count(stagger_alter_job(jobid, active => true)) FROM job_stagger.jobs" >/dev/null
	else
		schedule_jobs "$phase" "$sys"
	fi
	# the sampler ends by itself at w1; pgbench runs from ~w0 - 1 s to ~w1 + 1 s
	"$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$JS_PORT" -U postgres -d postgres -c "CALL seed.sample_pool(to_timestamp($w1))" &
	SAMPLER_PID=$!
	logdir=$JS_TMP/api_$phase
	mkdir -p "$logdir"
	seed_sleep_until $((w0 - 1))
	PGAPPNAME=seed_api "$PGB" -h 127.0.0.1 -p "$JS_PORT" -U postgres -n -f "$SEED/api.sql" -c "$CLIENTS" -j 1 \
		-R "$RATE" -T $((WINDOW + 2)) -l --log-prefix="$logdir/api" postgres >"$logdir/pgbench.out" 2>&1 &
	PGBENCH_PID=$!
	seed_sleep_until "$(awk -v w="$w1" 'BEGIN { printf "%.1f", w - 1.5 }')"
	if [ "$mode" = keep ]; then
		bench_sql -q -c "SELECT count(stagger_alter_job(jobid, active => false)) FROM job_stagger.jobs" >/dev/null
	elif [ "$sys" = job_stagger ]; then
		bench_sql -q -c "SELECT count(stagger_unschedule(jobid)) FROM job_stagger.jobs" >/dev/null
	else
		bench_sql -q -c "SELECT count(cron.unschedule(jobid)) FROM cron.job" >/dev/null
	fi
	wait "$PGBENCH_PID" || { cat "$logdir/pgbench.out" >&2; bench_warn "phase $phase: pgbench failed"; }
	PGBENCH_PID=
	wait "$SAMPLER_PID" || true
	SAMPLER_PID=
	bench_wait_zero "$BUSY" 300 || true

	# the runs due in the window, from the system's own history
	if [ "$sys" = job_stagger ]; then
		bench_sql -q -c "INSERT INTO seed.runs
		    SELECT '$phase', r.job_name, r.scheduled_at, r.started_at, r.ended_at,
		           CASE WHEN r.status = 'skipped' THEN 'skipped' WHEN r.status = 'succeeded' THEN 'ran' ELSE 'failed' END,
		           r.status, r.return_message
		      FROM job_stagger.job_run_details r JOIN seed.jobmap m ON m.phase = '$phase' AND m.jobid = r.jobid
		     WHERE r.scheduled_at >= to_timestamp($w0) AND r.scheduled_at < to_timestamp($w1)"
	else
		# no due instant in pg_cron: a run belongs to the minute in which it started
		bench_sql -q -c "INSERT INTO seed.runs
		    SELECT '$phase', m.job_name, date_trunc('minute', r.start_time), r.start_time, r.end_time,
		           CASE WHEN r.return_message LIKE '%lock skip: group%' THEN 'skipped'
		                WHEN r.status = 'succeeded' THEN 'ran' ELSE 'failed' END,
		           r.status, r.return_message
		      FROM cron.job_run_details r JOIN seed.jobmap m ON m.phase = '$phase' AND m.jobid = r.jobid
		     WHERE r.start_time >= to_timestamp($w0) AND r.start_time < to_timestamp($w1)"
	fi
	# the API log: one file per pgbench process (-j 1)
	cat "$logdir"/api.* >"$logdir/all.log" 2>/dev/null || true
	bench_sql -q -c "TRUNCATE seed.api_raw" -c "\\copy seed.api_raw FROM '$logdir/all.log' WITH (DELIMITER ' ')" \
		-c "INSERT INTO seed.api SELECT '$phase', to_timestamp(epoch + us / 1e6 - lat_us / 1e6), lat_us / 1000.0 FROM seed.api_raw
		     WHERE to_timestamp(epoch + us / 1e6 - lat_us / 1e6) >= to_timestamp($w0)
		       AND to_timestamp(epoch + us / 1e6 - lat_us / 1e6) < to_timestamp($w1)"
	bench_sql -c "SELECT format('  runs %s, skips %s, failed %s, peak concurrency %s, mean duration %s s, API p95 %s ms (:00-:14 %s ms)',
	                            runs, skips, failed, peak_conc, seed.r(mean_dur), seed.r(api_p95, 1), seed.r(api_p95_early, 1))
	                FROM seed.summary WHERE phase = '$phase'" >&2
}

# job_stagger's exclusive groups (merged from branch 'groups')
bench_sql -c "SELECT 1 FROM pg_proc WHERE proname = 'stagger_alter_job' AND 'exclusive_group' = ANY (proargnames)" | grep -q 1 ||
	js_die "this job_stagger has no exclusive groups (stagger_alter_job(..., exclusive_group => ...))"

run_phase A job_stagger 0 "job_stagger, staggering off (every job at :00)"
run_phase B job_stagger 1 "job_stagger, staggering on (the offsets of the issue)" keep
run_phase C job_stagger 1 "job_stagger, staggering on (offsets placed and optimised from phase B durations)" kept
run_phase D pg_cron 0 "pg_cron (every job at :00, groups by advisory lock)"
BENCH_LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# the product's own pool samples for A, B and C (peak since the previous sample, against max_running_jobs)
JS_POOL=$(bench_sql -c "SELECT string_agg(x, '; ' ORDER BY phase)
                          FROM (SELECT p.phase, format('%s: max %s %%, mean %s %% (%s samples)', p.phase, max(s.job_pool_pct),
                                                       round(avg(s.job_pool_pct), 1), count(*)) AS x
                                  FROM seed.phases p JOIN job_stagger.pool_samples s ON s.sampled_at >= p.w0 AND s.sampled_at < p.w1
                                 WHERE p.sys = 'job_stagger' GROUP BY p.phase) y")
# the product's own check: overlapping runs of one exclusive group (0.5)
JS_OVERLAPS=$(bench_sql -c "SELECT count(*) FROM job_stagger.overlaps WHERE exclusive_group IS NOT NULL")

# The picture: per second of the minute, mean running jobs and API p95, A / B / C / D.
C_OFFSETS=$(bench_sql -c "SELECT string_agg(DISTINCT ':' || lpad(proposed_offset::text, 2, '0'), ' ') FROM seed.optimized")
bench_log "drawing $SVG"
DAT=$BENCH_RESULTS/seed_$BENCH_TS.dat  # the numbers behind the picture
bench_sql -F' ' -c "SELECT s, coalesce(round(a.jobs::numeric, 3)::text, '?'), coalesce(round(b.jobs::numeric, 3)::text, '?'),
                           coalesce(round(d.jobs::numeric, 3)::text, '?'), coalesce(round(a.p95::numeric, 2)::text, '?'),
                           coalesce(round(b.p95::numeric, 2)::text, '?'), coalesce(round(d.p95::numeric, 2)::text, '?'),
                           coalesce(round(c.jobs::numeric, 3)::text, '?'), coalesce(round(c.p95::numeric, 2)::text, '?')
                      FROM generate_series(0, 59) s
                      LEFT JOIN seed.by_second a ON a.phase = 'A' AND a.sec = s
                      LEFT JOIN seed.by_second b ON b.phase = 'B' AND b.sec = s
                      LEFT JOIN seed.by_second c ON c.phase = 'C' AND c.sec = s
                      LEFT JOIN seed.by_second d ON d.phase = 'D' AND d.sec = s ORDER BY s" >"$DAT"
# one panel per phase, one above the other: bars = mean running jobs (left
# axis), line = API p95 (right axis, log); the same scales in every panel
JOBS_MAX=$(awk '{ for (i = 2; i <= 8; i++) if (i != 5 && i != 6 && i != 7 && $i != "?" && $i > m) m = $i } END { print (m < 1 ? 1 : int(m) + 1) }' "$DAT")
gnuplot <<-GP
	set terminal svg size 900,1080 dynamic noenhanced font "sans,12" background "white"
	set output "$SVG"
	set multiplot layout 4,1 title "8 jobs, $MINUTES-min windows$([ "$QUICK" = 1 ] && echo ' (quick: all every minute)'), API $RATE tps; by second of the minute"
	set xrange [-0.5:59.5]
	set xtics 0,5,59
	set yrange [0:$JOBS_MAX]
	set ytics nomirror
	set ylabel "mean running jobs"
	set y2range [1:200]
	set logscale y2
	set y2tics nomirror
	set y2label "API p95 (ms)"
	set grid xtics ytics
	set key top right
	set style fill solid 0.5 noborder
	set boxwidth 0.8
	set lmargin 9
	set rmargin 9
	set title "A: job_stagger, staggering off (every job at :00)"
	plot "$DAT" using 1:2 with boxes lc rgb "#d62728" title "running jobs", \\
	     "$DAT" using 1:5 axes x1y2 with linespoints pt 7 ps 0.4 lc rgb "#444444" title "API p95"
	set title "B: job_stagger, staggered (offsets :00 :05 :10 :15 :25 :30 :40 :45)"
	plot "$DAT" using 1:3 with boxes lc rgb "#2ca02c" title "running jobs", \\
	     "$DAT" using 1:6 axes x1y2 with linespoints pt 7 ps 0.4 lc rgb "#444444" title "API p95"
	set title "C: job_stagger, offsets placed and optimised from B's durations ($C_OFFSETS)"
	plot "$DAT" using 1:8 with boxes lc rgb "#9467bd" title "running jobs", \\
	     "$DAT" using 1:9 axes x1y2 with linespoints pt 7 ps 0.4 lc rgb "#444444" title "API p95"
	set title "D: pg_cron (every job at :00)"
	set xlabel "second of the minute"
	plot "$DAT" using 1:4 with boxes lc rgb "#1f77b4" title "running jobs", \\
	     "$DAT" using 1:7 axes x1y2 with linespoints pt 7 ps 0.4 lc rgb "#444444" title "API p95"
	unset multiplot
GP
if [ "$QUICK" != 1 ] && [ "$MINUTES" = 10 ]; then cp "$SVG" "$JS_ROOT/docs/seed_scenario.svg"; fi

bench_log "summary"
{
	echo "# Seed scenario: eight jobs, job_stagger vs pg_cron ($(date -u '+%Y-%m-%d %H:%M UTC'))"
	echo
	bench_env_md
	echo "- load average at end: $BENCH_LOAD_END; commit $(git -C "$JS_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
	if [ "$QUICK" = 1 ]; then
		echo "- **quick mode**: $MINUTES-minute windows and **every job on \`* * * * *\`** (the 5- and 10-minute jobs would not fire in a"
		echo "  minute); the windows start wherever the previous phase left off (any 60 consecutive seconds hold exactly one slot"
		echo "  of an every-minute job); the numbers are a smoke test, not the result"
	else
		echo "- $MINUTES-minute windows starting at a minute boundary (10 minutes hold one \`*/10\` and two \`*/5\` slots)"
	fi
	echo "- data set (bench/seed/data.sql, scale $SCALE, generated in $GEN_MS ms, ${DATA_MB} MB): $DATA_DESC;"
	echo "  restored before every phase (regenerated, then VACUUM ANALYZE and CHECKPOINT)"
	echo "- API traffic: pgbench \`-n -R $RATE -c $CLIENTS -j 1\`, bench/seed/api.sql (read a user, a wallet, a match's"
	echo "  statistics, insert a prediction, update the user's last_seen), the whole window; latency from the scheduled start"
	echo "- pool: the app's connection pool of SEED_POOL_SIZE = $POOL connections shared by API and jobs; utilisation ="
	echo "  (API sessions not idle + job sessions active) / $POOL, sampled from pg_stat_activity every 250 ms"
	echo "- concurrency: runs executing at once, from the run history (skips excluded); mean = total run time / window"
	echo "- exclusive groups: referral_tier2 + referral_tier3 ('referrals'), scheduled_notifications + telegram_settlement"
	echo "  ('settlement'); job_stagger: \`exclusive_group\`, \`group_policy => 'skip'\`; pg_cron: \`pg_try_advisory_xact_lock\`"
	echo "  and \`RAISE EXCEPTION 'lock skip: group % busy'\` (recorded failed, counted as a skip)"
	echo
	echo "## Jobs"
	echo
	echo "| job | schedule | offset (B) | offset (C) | group | alone (ms, two runs) |"
	echo "| --- | --- | ---: | ---: | --- | ---: |"
	for j in "${JOBS[@]}"; do
		job_fields "$j"
		echo "| $NAME | \`$SCHED\` | $OFFSET | $(bench_sql -v n="$NAME" <<<"SELECT proposed_offset FROM seed.optimized WHERE job_name = :'n'") | $GROUP | ${SOLO[$NAME]} |"
	done
	echo
	echo "Phase C: B's jobs after \`stagger_set_offset(job, NULL)\` (unpinned, placed again) and"
	echo "\`stagger_optimize(apply => true)\`, judged on the durations B recorded (\`job_stagger.job_durations()\`):"
	echo
	echo "| job | B's p95 (s) | estimate (s) | optimiser: offset before -> after |"
	echo "| --- | ---: | ---: | --- |"
	bench_sql -c "SELECT format('| %s | %s | %s | %s -> %s |', o.job_name, round(extract(epoch FROM d.p95)::numeric, 2),
	                            ceil(extract(epoch FROM d.estimate)), o.current_offset, o.proposed_offset)
	                FROM seed.optimized o JOIN seed.durations d USING (job_name) ORDER BY o.job_name"
	echo
	echo "(\"before\": the offset placement gave the unpinned job from B's durations; \"after\": the optimiser's.)"
	echo "Predicted over the next 24 hours by \`stagger_simulate_totals()\` with these durations:"
	echo
	echo "| offsets | peak | overlap (s) | exclusive-group overlap (s) |"
	echo "| --- | ---: | ---: | ---: |"
	bench_sql -c "SELECT format('| %s | %s | %s | %s |', CASE phase WHEN 'B' THEN 'B (hand-picked)' ELSE 'C (placed + optimised)' END,
	                            peak, overlap_seconds, group_overlap_seconds) FROM seed.predicted ORDER BY phase"
	echo
	for ph in $(bench_sql -c "SELECT phase FROM seed.phases ORDER BY ord"); do
		echo "## Phase $(bench_sql -c "SELECT phase || ': ' || label FROM seed.phases WHERE phase = '$ph'")"
		echo
		bench_sql -c "SELECT format('window %s - %s UTC; peak concurrency **%s**, mean %s; pool utilisation peak **%s %%**, mean %s %%;'
		                            ' failed runs %s; API: %s transactions, p50 %s ms, p95 %s ms, p95 in :00-:14 %s ms, in :15-:59 %s ms',
		                            to_char(p.w0, 'HH24:MI:SS'), to_char(p.w1, 'HH24:MI:SS'), s.peak_conc, seed.r(s.mean_conc),
		                            seed.r(s.pool_peak, 0), seed.r(s.pool_mean, 1), s.failed, s.api_n, seed.r(s.api_p50, 1),
		                            seed.r(s.api_p95, 1), seed.r(s.api_p95_early, 1), seed.r(s.api_p95_rest, 1))
		                FROM seed.summary s JOIN seed.phases p USING (phase) WHERE phase = '$ph'"
		echo
		echo "| job | runs | skips | failed | mean (s) | p95 (s) | |"
		echo "| --- | ---: | ---: | ---: | ---: | ---: | --- |"
		bench_sql -c "SELECT format('| %s | %s | %s | %s | %s | %s | %s |', job_name, runs, skips, failed, seed.r(mean_s), seed.r(p95_s),
		                            CASE WHEN runs = 0 AND skips > 0 THEN '**starved**: every slot skipped' ELSE '' END)
		                FROM seed.per_job WHERE phase = '$ph' ORDER BY job_name"
		echo "| **all** | $(bench_sql -c "SELECT format('%s | %s | %s | %s | |', runs, skips, failed, seed.r(mean_dur))
		                                      FROM seed.summary WHERE phase = '$ph'") |"
		echo
	done
	echo "## Side by side"
	echo
	echo "| | A | B | C | D | B/A | C/A | C/B | A/D | B/D |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	bench_sql <<-'SQL'
		WITH s AS (SELECT phase, peak_conc::float8 AS peak_conc, mean_conc, mean_dur, runs::float8 AS runs, skips::float8 AS skips,
		                  failed::float8 AS failed, pool_peak, pool_mean, api_p95, api_p95_early, api_p95_rest FROM seed.summary),
		k(ord, name, dig) AS (VALUES (1, 'peak concurrency', 0), (2, 'mean concurrency', 2), (3, 'mean job duration (s)', 2),
		                             (4, 'runs', 0), (5, 'skips', 0), (6, 'failed runs', 0), (7, 'pool utilisation peak (%)', 0),
		                             (8, 'pool utilisation mean (%)', 1), (9, 'API p95 (ms)', 1), (10, 'API p95 in :00-:14 (ms)', 1),
		                             (11, 'API p95 in :15-:59 (ms)', 1)),
		v AS (SELECT k.ord, s.phase, (ARRAY[s.peak_conc, s.mean_conc, s.mean_dur, s.runs, s.skips, s.failed, s.pool_peak,
		                                    s.pool_mean, s.api_p95, s.api_p95_early, s.api_p95_rest]::float8[])[k.ord] AS x
		        FROM k, s),
		m AS (SELECT k.ord, k.name, k.dig, a.x AS a, b.x AS b, c.x AS c, d.x AS d
		        FROM k LEFT JOIN v a ON a.ord = k.ord AND a.phase = 'A' LEFT JOIN v b ON b.ord = k.ord AND b.phase = 'B'
		               LEFT JOIN v c ON c.ord = k.ord AND c.phase = 'C' LEFT JOIN v d ON d.ord = k.ord AND d.phase = 'D')
		SELECT format('| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |', name, seed.r(a, dig), seed.r(b, dig), seed.r(c, dig),
		              seed.r(d, dig), seed.ratio(b, a), seed.ratio(c, a), seed.ratio(c, b), seed.ratio(a, d), seed.ratio(b, d))
		  FROM m ORDER BY ord;
	SQL
	echo
	echo "job_stagger's own pool samples (\`job_stagger.pool_samples.job_pool_pct\`: peak job runs since the previous"
	echo "sample against \`max_running_jobs\` = 16, every 5 s): ${JS_POOL:-none}."
	echo
	echo "## Targets of the issue (B against A; C: the optimiser against the hand-picked offsets)"
	echo
	echo "| target | measured | |"
	echo "| --- | --- | --- |"
	bench_sql <<-'SQL'
		WITH a AS (SELECT * FROM seed.summary WHERE phase = 'A'), b AS (SELECT * FROM seed.summary WHERE phase = 'B')
		SELECT format('| peak concurrency <= 2 | %s (A: %s) | %s |', b.peak_conc, a.peak_conc, CASE WHEN b.peak_conc <= 2 THEN 'pass' ELSE '**fail**' END)
		  FROM a, b
		UNION ALL
		SELECT format('| mean job duration >= 20 %% shorter | %s s vs %s s: %s %% shorter | %s |', seed.r(b.mean_dur), seed.r(a.mean_dur),
		              seed.r(100 * (1 - b.mean_dur / nullif(a.mean_dur, 0)), 0),
		              CASE WHEN b.mean_dur <= 0.8 * a.mean_dur THEN 'pass' ELSE '**fail**' END)
		  FROM a, b
		UNION ALL
		SELECT format('| skips >= 50 %% fewer | %s vs %s | %s |', b.skips, a.skips,
		              CASE WHEN a.skips = 0 THEN 'n/a (no skips in A)' WHEN b.skips <= 0.5 * a.skips THEN 'pass' ELSE '**fail**' END)
		  FROM a, b
		UNION ALL
		SELECT format('| API p95 in :00-:14 within 2x of :15-:59 | %s ms vs %s ms (%sx) | %s |', seed.r(b.api_p95_early, 1),
		              seed.r(b.api_p95_rest, 1), seed.ratio(b.api_p95_early, b.api_p95_rest),
		              CASE WHEN b.api_p95_early <= 2 * b.api_p95_rest THEN 'pass' ELSE '**fail**' END)
		  FROM a, b
		UNION ALL
		SELECT format('| C: predicted group overlap, peak and overlap <= B''s (hand-picked) | group %s -> %s s, peak %s -> %s, overlap %s -> %s s (next 24 h) | %s |',
		              b.group_overlap_seconds, c.group_overlap_seconds, b.peak, c.peak, b.overlap_seconds, c.overlap_seconds,
		              CASE WHEN (c.group_overlap_seconds, c.peak, c.overlap_seconds) <= (b.group_overlap_seconds, b.peak, b.overlap_seconds)
		                   THEN 'pass' ELSE '**fail**' END)
		  FROM seed.predicted b, seed.predicted c WHERE b.phase = 'B' AND c.phase = 'C'
		UNION ALL
		SELECT format('| C: measured peak concurrency <= 2 | %s (B: %s) | %s |', c.peak_conc, b.peak_conc,
		              CASE WHEN c.peak_conc <= 2 THEN 'pass' ELSE '**fail**' END)
		  FROM b, (SELECT * FROM seed.summary WHERE phase = 'C') c;
	SQL
	echo
	echo "## Exclusivity"
	echo
	echo "Overlapping runs of the two jobs of one group (from each system's history; must be 0):"
	echo
	echo "| phase | referrals | settlement |"
	echo "| --- | ---: | ---: |"
	bench_sql -c "SELECT format('| %s | %s | %s |', p.phase,
	                            coalesce((SELECT n_overlaps FROM seed.group_overlaps o WHERE o.phase = p.phase AND o.grp = 'referrals'), 0),
	                            coalesce((SELECT n_overlaps FROM seed.group_overlaps o WHERE o.phase = p.phase AND o.grp = 'settlement'), 0))
	                FROM seed.phases p ORDER BY p.ord"
	echo
	echo "\`job_stagger.overlaps\` rows between the jobs of one group (phases A, B and C): $JS_OVERLAPS."
	echo
	echo "Skip messages:"
	echo
	SKIPS=$(bench_sql -c "SELECT format('- %s, %s: %s x \`%s\`', phase, job_name, count(*), msg)
	                        FROM (SELECT phase, job_name, regexp_replace(split_part(coalesce(message, ''), E'\\n', 1), '[0-9]+', 'N', 'g') AS msg
	                                FROM seed.runs WHERE status = 'skipped') x
	                       GROUP BY phase, job_name, msg ORDER BY phase, job_name")
	echo "${SKIPS:-- none}"
	echo
	echo "## Picture"
	echo
	echo "\`$(basename "$SVG")\`: one panel per phase (A, B, C, D, one above the other), per second of the minute: the"
	echo "mean number of running jobs (bars) and the API p95 latency (line, right axis, log scale)."
	echo
	echo "## Run outcomes (raw statuses)"
	echo
	bench_sql -c "SELECT format('- %s: %s', phase, string_agg(raw || ' ' || n, ', ' ORDER BY n DESC))
	                FROM (SELECT phase, raw, count(*) AS n FROM seed.runs GROUP BY 1, 2) x GROUP BY phase ORDER BY phase"
	bench_log_md
} >"$OUT"
cat "$OUT"
bench_log "written to ${OUT#"$JS_ROOT"/} and ${SVG#"$JS_ROOT"/}"
