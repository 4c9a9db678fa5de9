#!/usr/bin/env bash
# Full disk under the run history: launcher restarts and launcher log lines
# per minute while the file system of job_stagger.job_run_details is full,
# how long recording takes to resume once space is back, and whether every
# due slot still has exactly one row. Uses the extension installed in PG_BIN
# (no build: install the version to measure first). Needs root (tmpfs mount).
#   BENCH_FULL_S   seconds the file system stays full (default 120)
#   BENCH_JOBS     every-second jobs (default 4)
set -euo pipefail
. "$(dirname "$0")/../scripts/lib.sh"

FULL_S=${BENCH_FULL_S:-120}
JOBS=${BENCH_JOBS:-4}
[ "$(id -u)" -eq 0 ] || js_die "run as root (mounts a tmpfs)"

SMALL=$(mktemp -d /tmp/job_stagger-fullbench.XXXXXX)
cleanup() {
	js_cluster_stop
	umount "$SMALL" 2>/dev/null || true
	rmdir "$SMALL" 2>/dev/null || true
}
trap cleanup EXIT
mount -t tmpfs -o size=16m,mode=0700 tmpfs "$SMALL"
chown postgres: "$SMALL"
mkdir "$SMALL/ts" && chown postgres: "$SMALL/ts"

js_cluster_start <<EOF
job_stagger.database_name = 'postgres'
max_worker_processes = 32
log_min_messages = info
EOF
js_psql -d postgres <<EOF
CREATE EXTENSION job_stagger;
CREATE TABLESPACE small_fs LOCATION '$SMALL/ts';
ALTER TABLE job_stagger.job_run_details SET TABLESPACE small_fs;
SET client_min_messages = warning;
SELECT stagger_schedule('tick' || g, '* * * * * *', 'SELECT 1') FROM generate_series(1, $JOBS) g;
EOF
sleep 5
log=$JS_TMP/server.log
offset=$(stat -c %s "$log")
js_log "filling the file system for ${FULL_S} s"
dd if=/dev/zero of="$SMALL/filler" bs=1M count=64 >/dev/null 2>&1 || true
sleep "$FULL_S"
rm -f "$SMALL/filler"
freed=$(date +%s.%N)
window=$(tail -c +"$((offset + 1))" "$log")
restarts=$(grep -c 'background worker "job_stagger launcher" (PID [0-9]*) exited' <<<"$window" || true)
lines=$(grep -E '^\S+ \S+ UTC \[[0-9]+\] (WARNING|LOG|ERROR|FATAL):  job_stagger' <<<"$window" | grep -vc 'job_stagger: run [0-9]* of job' || true)
# Recovery: the first slot after the space came back whose run started on time (< 1 s late).
recovered=""
for _ in $(seq 1 120); do
	recovered=$(js_psql -d postgres -At -c "SELECT round((extract(epoch FROM min(scheduled_at)) - $freed)::numeric, 1)
		FROM job_stagger.job_run_details WHERE status = 'succeeded' AND scheduled_at > to_timestamp($freed)
		 AND started_at < scheduled_at + interval '1 s'")
	[ -n "$recovered" ] && break
	sleep 1
done
# Every slot up to then is closed: exactly one row each.
for _ in $(seq 1 60); do
	[ "$(js_psql -d postgres -At -c "SELECT count(*) FROM job_stagger.job_run_details
		WHERE status IN ('starting', 'running') AND scheduled_at < to_timestamp($freed)")" = 0 ] && break
	sleep 1
done
# A "missed N slots from A to B" row stands for all of them.
check=$(js_psql -d postgres -At -c "SELECT count(*) FILTER (WHERE n <> 1) FROM (
	SELECT (SELECT count(*) FROM job_stagger.job_run_details d WHERE d.job_name = j.job_name
	         AND (d.scheduled_at = s OR d.scheduled_at < s AND d.status = 'skipped'
	              AND s <= substring(d.return_message FROM '^missed .* slots from .* to ([0-9-]+ [0-9:.]+[+-][0-9]+)')::timestamptz)) n
	  FROM (SELECT job_name, min(scheduled_at) lo FROM job_stagger.job_run_details GROUP BY 1) j,
	       generate_series(j.lo, date_trunc('second', to_timestamp($freed)), interval '1 s') s) x")
if [ "$check" != 0 ]; then
	js_psql -d postgres -c "SELECT job_name, s, n FROM (
	SELECT j.job_name, s, (SELECT count(*) FROM job_stagger.job_run_details d WHERE d.job_name = j.job_name
	         AND (d.scheduled_at = s OR d.scheduled_at < s AND d.status = 'skipped'
	              AND s <= substring(d.return_message FROM '^missed .* slots from .* to ([0-9-]+ [0-9:.]+[+-][0-9]+)')::timestamptz)) n
	  FROM (SELECT job_name, min(scheduled_at) lo FROM job_stagger.job_run_details GROUP BY 1) j,
	       generate_series(j.lo, date_trunc('second', to_timestamp($freed)), interval '1 s') s) x WHERE n <> 1 ORDER BY 1, 2 LIMIT 12"
	js_psql -d postgres -c "SELECT job_name, status, left(return_message, 90) m, count(*), min(scheduled_at), max(scheduled_at)
	  FROM job_stagger.job_run_details WHERE job_name = 'tick1' GROUP BY 1, 2, 3 ORDER BY 5"
fi
minutes=$(awk -v s="$FULL_S" 'BEGIN { printf "%.2f", s / 60 }')
echo
echo "| full for | launcher restarts | restarts/min | launcher log lines | lines/min | first on-time slot after space is back | slots without exactly one row |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
awk -v s="$FULL_S" -v r="$restarts" -v l="$lines" -v m="$minutes" -v rec="${recovered:-none}" -v c="$check" \
	'BEGIN { printf "| %d s | %d | %.1f | %d | %.1f | %s s | %s |\n", s, r, r / m, l, l / m, rec, c }'
