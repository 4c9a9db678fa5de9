#!/usr/bin/env bash
# Cancel latency: how soon long-running job_stagger functions end once
# statement_timeout fires or pg_cancel_backend() is sent, while they are busy
# in C++ (core polls the cancel flags; see src/pg/bridge.hpp).
#
# Starts a throwaway cluster that preloads job_stagger, creates BENCH_JOBS
# (600) jobs firing every second of each Feb 29 (every pair collides, so the
# collision functions take seconds; they never run) and BENCH_RUNS (2,000,000)
# rows of synthetic run history for job_stagger.concurrency. For each workload
# it first times one uninterrupted run (D, what a cancel used to wait for),
# then, BENCH_REPEAT (5) times each:
#  - statement_timeout set to 50% and to 85% of D (later phases: the
#    concurrency view reads the history first, then sorts and sweeps in C++):
#    latency = end of the statement minus (its start + the timeout);
#  - pg_cancel_backend() from another session 50% of D after the start:
#    latency = end of the statement minus the instant of the cancel call.
# The end of the statement is the query_start of the next statement of the
# cancelled session (psql sends it at once), the other instants come from
# clock_timestamp(), all on the server's clock. Reported: median and max, in ms.
#
# Environment: BENCH_JOBS, BENCH_RUNS, BENCH_REPEAT, BENCH_SKIP_BUILD=1 (use
# the installed build), PG_BIN (PostgreSQL binaries, default Debian's 15).
# Output: a markdown table, printed and written to bench/results/cancel_<timestamp>.md.
set -euo pipefail
. "$(dirname "$0")/lib_bench.sh"

JOBS=${BENCH_JOBS:-600}
RUNS=${BENCH_RUNS:-2000000}
REPEAT=${BENCH_REPEAT:-5}
for v in "$JOBS" "$RUNS" "$REPEAT"; do
	[[ $v =~ ^[1-9][0-9]*$ ]] || js_die "BENCH_JOBS, BENCH_RUNS and BENCH_REPEAT must be positive integers, got '$v'"
done
TS=$(date -u +%Y%m%dT%H%M%SZ)
RESULTS=$JS_ROOT/bench/results
OUT=$RESULTS/cancel_$TS.md

BG_PID= # the background psql, started by us
cleanup() {
	if [ -n "$BG_PID" ]; then kill "$BG_PID" 2>/dev/null || true; fi
	js_cluster_stop
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

bench_single_cluster "256MB"
sql() { bench_sql "$@"; }

js_log "creating $JOBS jobs and $RUNS history rows"
sql <<SQL
CREATE EXTENSION job_stagger;
ALTER TABLE job_stagger.jobs DISABLE TRIGGER jobs_collisions_insert;
INSERT INTO job_stagger.jobs (job_name, schedule, command, offset_seconds)
SELECT 'leap_' || g, '* * * 29 2 *', 'SELECT 1', 0 FROM generate_series(1, $JOBS) g;
ALTER TABLE job_stagger.jobs ENABLE TRIGGER jobs_collisions_insert;
INSERT INTO job_stagger.job_run_details
    (jobid, job_name, username, database, command, status, return_message, scheduled_at, nominal_at,
     started_at, ended_at, stagger_enabled, offset_seconds, effective_schedule)
SELECT j.jobid, j.job_name, 'postgres', 'postgres', 'SELECT 1', 'succeeded', 'SELECT 1', t, t,
       t + random() * interval '30 ms', t + random() * interval '20 s', g % 2 = 0, 0, '* * * * *'
  FROM generate_series(1, $RUNS) g
  JOIN job_stagger.jobs j ON j.job_name = 'leap_' || (1 + g % 50),
       LATERAL (SELECT date_trunc('minute', now()) - (g / 50) * interval '1 minute'
                       + (g % 50) * interval '1 s' AS t) x;
VACUUM ANALYZE job_stagger.job_run_details;
SQL

WORKLOADS=(
	"stagger_next_runs, n = 31,000,000|SELECT count(*) FROM stagger_next_runs('* * * * * *', '2026-01-01 00:00+00', 31000000)"
	"stagger_collisions()|SELECT count(*) FROM stagger_collisions()"
	"stagger_validate()|SELECT valid FROM stagger_validate()"
	"stagger_summary()|SELECT length(stagger_summary())"
	"collision_report(all jobs)|SELECT count(*) FROM job_stagger.collision_report(ARRAY(SELECT jobid FROM job_stagger.jobs))"
	"job_stagger.concurrency|SELECT count(*) FROM job_stagger.concurrency"
)

# Duration of one uninterrupted run, in ms.
full_ms() { # sql
	printf '\\timing on\n%s;\n' "$1" | sql -f - | grep -o '^Time: [0-9.]*' | tail -1 | cut -d' ' -f2
}

# Starts $1 in a background session and sets BG_PID (the psql), BG_BACKEND
# (its backend pid) and BG_START (epoch s, just before the statement). The
# session then runs pg_sleep(600), whose query_start marks the end of the
# statement; stop_bg ends it.
start_bg() { # sql [timeout_ms]
	local setting="" out=$JS_TMP/bg.out
	[ -n "${2:-}" ] && setting="SET statement_timeout = $2;"
	rm -f "$out" # never read the previous run's output
	printf 'SELECT pg_backend_pid();\n%s\nSELECT extract(epoch FROM clock_timestamp());\n%s;\nSELECT pg_sleep(600);\n' \
		"$setting" "$1" | js_psql -v ON_ERROR_STOP=0 -d postgres -At -f - >"$out" 2>&1 &
	BG_PID=$!
	local n deadline=$((SECONDS + 60))
	while :; do
		n=$(grep -cE '^[0-9.]+$' "$out" 2>/dev/null) || n=${n:-0}
		[ "$n" -ge 2 ] && break
		[ $SECONDS -lt $deadline ] || js_die "the background session did not start: $(cat "$out" 2>/dev/null)"
		sleep 0.002
	done
	read -r BG_BACKEND BG_START <<<"$(grep -E '^[0-9.]+$' "$out" | head -2 | tr '\n' ' ')"
}

# Waits until the background backend has finished the measured statement;
# prints when (epoch s), or -1 if the session is gone (the cancel hit pg_sleep).
wait_end() {
	local end="" deadline=$((SECONDS + 600))
	while [ -z "$end" ]; do
		[ $SECONDS -lt $deadline ] || js_die "backend $BG_BACKEND did not finish its statement"
		sleep 0.005
		end=$(sql -c "SELECT coalesce((SELECT extract(epoch FROM query_start) FROM pg_stat_activity
		                                WHERE pid = $BG_BACKEND AND query LIKE 'SELECT pg_sleep(600)%'),
		                              CASE WHEN NOT EXISTS (SELECT FROM pg_stat_activity WHERE pid = $BG_BACKEND)
		                                   THEN -1 END)")
	done
	echo "$end"
}

stop_bg() {
	sql -c "SET client_min_messages = error" -c "SELECT pg_terminate_backend($BG_BACKEND)" >/dev/null
	wait "$BG_PID" 2>/dev/null || true
	BG_PID=
}

# Latency of statement_timeout = $2 ms on $1 (ms); empty if the statement was not cut off.
timeout_latency() { # sql timeout_ms
	local end
	start_bg "$1" "$2"
	end=$(wait_end)
	stop_bg
	grep -q 'statement timeout' "$JS_TMP/bg.out" || { bench_warn_once "not cut off by the timeout: $1"; return; }
	awk -v s="$BG_START" -v e="$end" -v t="$2" 'BEGIN { printf "%.1f\n", (e - s) * 1000 - t }'
}

# Latency of pg_cancel_backend sent $2 ms after the start of $1 (ms); empty if it missed.
cancel_latency() { # sql delay_ms
	local sent end
	start_bg "$1"
	sleep "$(awk -v s="$BG_START" -v d="$2" -v n="$(date +%s.%N)" 'BEGIN { x = s + d / 1000 - n; if (x < 0) x = 0; printf "%.3f", x }')"
	sent=$(sql -c "SELECT extract(epoch FROM clock_timestamp()) FROM (SELECT pg_cancel_backend($BG_BACKEND)) c")
	end=$(wait_end)
	[ "$end" = -1 ] || stop_bg
	grep -q 'canceling statement due to user request' "$JS_TMP/bg.out" && [ "$end" != -1 ] ||
		{ bench_warn_once "the cancel missed the statement: $1"; return; }
	awk -v s="$sent" -v e="$end" 'BEGIN { printf "%.1f\n", (e - s) * 1000 }'
}

bench_warn_once() { printf 'warning: %s\n' "$*" >&2; }

# "median max" of numbers on stdin ("n/a n/a" if none).
median_max() {
	grep -E '^-?[0-9.]+$' | sort -n |
		awk '{ a[NR] = $1 } END { if (NR == 0) print "n/a n/a"; else printf "%.1f %.1f", a[int((NR + 1) / 2)], a[NR] }'
}

mkdir -p "$RESULTS"
{
	echo "# Cancel latency ($(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores)"
	echo
	echo "$JOBS jobs firing every second of Feb 29 (every pair collides), $RUNS history rows;"
	echo "median / max of $REPEAT tries, ms. D: one uninterrupted run (what a cancel used to wait for)."
	echo
	echo "| workload | D (ms) | statement_timeout = D/2: latency | statement_timeout = 0.85 D | pg_cancel_backend at D/2 |"
	echo "| --- | ---: | ---: | ---: | ---: |"
} >"$OUT"
for w in "${WORKLOADS[@]}"; do
	name=${w%%|*}
	query=${w#*|}
	js_log "$name"
	d=$(full_ms "$query")
	half=$(awk -v d="$d" 'BEGIN { h = int(d / 2); printf "%d", h < 1 ? 1 : h }')
	late=$(awk -v d="$d" 'BEGIN { h = int(d * 0.85); printf "%d", h < 1 ? 1 : h }')
	t_lat=$(for _ in $(seq 1 "$REPEAT"); do timeout_latency "$query" "$half"; done | median_max)
	l_lat=$(for _ in $(seq 1 "$REPEAT"); do timeout_latency "$query" "$late"; done | median_max)
	c_lat=$(for _ in $(seq 1 "$REPEAT"); do cancel_latency "$query" "$half"; done | median_max)
	read -r t_med t_max <<<"$t_lat"
	read -r l_med l_max <<<"$l_lat"
	read -r c_med c_max <<<"$c_lat"
	printf '| %s | %.0f | %s / %s | %s / %s | %s / %s |\n' "$name" "$d" "$t_med" "$t_max" "$l_med" "$l_max" \
		"$c_med" "$c_max" >>"$OUT"
done
echo
cat "$OUT"
