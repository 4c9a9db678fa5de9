#!/usr/bin/env bash
# Failover evidence for job_stagger in a real HA pair, on 127.0.0.1 only.
#
#   test/ha/failover.sh --streaming   plain streaming replication (pg_basebackup -R,
#                                     pg_ctl promote): fast and immediate stop of the
#                                     primary, each with async and synchronous replication
#   test/ha/failover.sh --patroni     etcd + two PostgreSQL nodes under Patroni:
#                                     patronictl switchover, then a hard failover (kill -9
#                                     of the leader's Patroni and postmaster), with
#                                     synchronous_mode off and on
#
# Every-second jobs on the leader insert (job, node = its port, slot, clock second)
# into an effects table; samplers poll both nodes twice a second. Per scenario it
# prints one "ha-result:" line (gap to the first run on the new leader, slots lost,
# rerun, duplicated) and one "ha-check:" line per assertion, and ends with
# "N passed, N failed". See test/ha/README.md for the checks and the semantics.
#
# Needs root or the postgres OS user (servers run as postgres). Uses PG_BIN
# (scripts/lib.sh) for initdb/pg_ctl and as Patroni's bin_dir. Everything lives in
# one temp dir, removed on exit; every process it starts is stopped by PID.
# Knobs: JS_HA_RUN (seconds of jobs before the switch, 5), JS_HA_AFTER (seconds
# after it, 8), JS_HA_STOP_AT (fraction of a second at which the primary is
# stopped or killed, 0.02: just after the runs of that second), JS_HA_LAG
# (seconds the async standby is cut off before the stop, 3), JS_HA_MAX_GAP
# (allowed seconds to the first run on the new leader, 10), JS_HA_SCENARIOS
# (glob of streaming scenarios, "fast/*"), JS_HA_INJECT=1 (plant violations:
# every check must fail), JS_HA_STRICT=1 (ignore known_failures), JS_HA_KEEP=1
# (keep the temp dir).
# shellcheck disable=SC2154 # PORT_n1, REST_n2, PATRONI_PID_n1 … are set through eval
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"

MODE=${1:-}
RUN_S=${JS_HA_RUN:-5}
AFTER_S=${JS_HA_AFTER:-8}
LAG_S=${JS_HA_LAG:-3}
MAX_GAP=${JS_HA_MAX_GAP:-10}
JOBS=3
export PGOPTIONS='-c client_min_messages=warning'

PASSED=0
FAILED=0
PIDS=()         # background processes we started (samplers, etcd, patroni)
DATADIRS=()     # data dirs whose postmaster we may have to stop
T=

cleanup() {
	local p d
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for d in "${DATADIRS[@]}"; do
		if [ -f "$d/postmaster.pid" ]; then
			js_as_pg "$PG_BIN/pg_ctl" -D "$d" -m immediate -w stop >/dev/null 2>&1 || true
		fi
	done
	sleep 0.5
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
	if [ -n "$T" ] && [ "${JS_HA_KEEP:-0}" != 1 ]; then rm -rf "$T"; fi
	[ -n "$T" ] && [ "${JS_HA_KEEP:-0}" = 1 ] && echo "kept $T" >&2
	true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Sleeps until JS_HA_STOP_AT (0.02) s past the next second: the runs of that
# second have just committed their effect, their outcome is not recorded yet.
sleep_to_fraction() {
	sleep "$(awk -v n="$(date +%s.%N)" -v f="${JS_HA_STOP_AT:-0.02}" 'BEGIN { printf "%.3f", int(n) + 1 + f - n }')"
}

# Runs a long-lived command as the cluster owner in this process (exec, no
# runuser parent), so that $! is its own PID and kill -9 reaches it.
exec_as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		cd / # the caller's directory may be unreadable for postgres (see js_as_pg)
		exec setpriv --reuid=postgres --regid=postgres --init-groups -- env HOME="$T" "$@"
	else
		exec "$@"
	fi
}

# Checks that fail on purpose until a known bug is fixed: "scenario glob: check
# name" lines in test/ha/known_failures (JS_HA_STRICT=1 ignores the list).
KNOWN_FILE=$(dirname "$0")/known_failures
KNOWN=0
is_known() { # check name
	local line
	[ "${JS_HA_STRICT:-0}" = 1 ] && return 1
	[ -f "$KNOWN_FILE" ] || return 1
	while IFS= read -r line; do
		case "$line" in '' | '#'*) continue ;; esac
		# shellcheck disable=SC2053 # the scenario part is a glob
		[[ "$SCEN" == ${line%%: *} ]] && [ "${line#*: }" = "$1" ] && return 0
	done <"$KNOWN_FILE"
	return 1
}

check() { # name, ok (0/1), detail
	if [ "$2" -eq 1 ]; then
		PASSED=$((PASSED + 1))
		if is_known "$1"; then
			echo "ha-check: ok     $SCEN: $1 ($3) [listed in known_failures: passes now]"
		else
			echo "ha-check: ok     $SCEN: $1 ($3)"
		fi
	elif is_known "$1"; then
		KNOWN=$((KNOWN + 1))
		echo "ha-check: KNOWN  $SCEN: $1 ($3)"
	else
		FAILED=$((FAILED + 1))
		echo "ha-check: FAILED $SCEN: $1 ($3)"
	fi
}

q() { # port, sql -> unaligned tuples
	js_as_pg "$PG_BIN/psql" -X -At -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$1" -U postgres -d postgres -c "$2"
}

wait_sql() { # port, boolean sql, seconds, what
	local i
	for i in $(seq 1 $(($3 * 5))); do
		[ "$(q "$1" "$2" 2>/dev/null || true)" = t ] && return 0
		sleep 0.2
	done
	echo "gave up waiting ($4): $2" >&2
	return 1
}

# Samples a node twice a second: epoch, in recovery?, job_stagger processes.
start_sampler() { # port, node name, file
	(
		while :; do
			r=$(q "$1" "SELECT pg_is_in_recovery(), count(*) FROM pg_stat_activity WHERE backend_type LIKE 'job_stagger%'" 2>/dev/null) &&
				echo "$2|$(date -u '+%Y-%m-%d %H:%M:%S.%N+00')|$r" >>"$3"
			sleep 0.5
		done
	) &
	PIDS+=($!)
}

# The schema and jobs on the leader. The effect of a run names its node (the
# port: Patroni gives both nodes the same cluster_name) and its slot: the oldest
# due, unfinished run of the job without an effect yet (so a late catch-up run
# is counted for its own slot, not the second it ran in); sec is the clock second.
setup_jobs() { # port
	local i sql="SET client_min_messages = warning;
CREATE EXTENSION job_stagger;
CREATE TABLE effects (job text, node text, slot timestamptz, sec timestamptz, at timestamptz DEFAULT clock_timestamp());"
	for i in $(seq 1 $JOBS); do
		sql+="
SELECT stagger_schedule('tick$i', '* * * * * *', \$\$INSERT INTO effects (job, node, slot, sec)
SELECT 'tick$i', current_setting('port'), (SELECT min(d.scheduled_at) FROM job_stagger.job_run_details d
  WHERE d.job_name = 'tick$i' AND d.status IN ('starting', 'running') AND d.scheduled_at <= clock_timestamp()
    AND NOT EXISTS (SELECT 1 FROM effects e WHERE e.job = 'tick$i' AND e.slot = d.scheduled_at)),
  date_trunc('second', clock_timestamp())\$\$);"
	done
	q "$1" "$sql" >/dev/null
}

# pg_ctl start that shows the server log's end when the server does not come up.
pg_start() { # datadir, log file, pg_ctl arguments...
	local d=$1 log=$2
	shift 2
	js_as_pg "$PG_BIN/pg_ctl" -D "$d" -l "$log" -w -t 60 "$@" start >/dev/null || {
		echo "--- end of $log" >&2
		tail -n 20 "$log" >&2 || true
		return 1
	}
}

# Effects of a stopped node's data dir as it is on disk (what really ran there,
# replicated or not): started on a spare port without the library, read, stopped.
postmortem() { # datadir, output file
	local port
	port=$(js_free_port)
	rm -f "$1/standby.signal" "$1/recovery.signal"
	pg_start "$1" "$1/../postmortem.log" -o "-p $port -c shared_preload_libraries='' -c synchronous_standby_names='' -c hot_standby=on -c archive_mode=off"
	q "$port" "COPY (SELECT job, node, slot, sec, at FROM effects) TO STDOUT" >"$2"
	js_as_pg "$PG_BIN/pg_ctl" -D "$1" -m fast -w stop >/dev/null
}

# Loads the samples, the post-mortem effects and the events into the final
# leader and checks one phase [from, to] whose switch happened at event_at, new
# leader port new_node.
analyse() { # port, from, to, event_at, promoted_at, new_node, sync(0/1), old_effects_file or ''
	local port=$1 from=$2 to=$3 ev=$4 promo=$5 newn=$6 sync=$7 old=$8 out
	[ "${JS_HA_INJECT:-0}" = 1 ] && inject "$port" "$to" "$promo" "$newn"
	q "$port" "CREATE TABLE IF NOT EXISTS ha_samples (node text, at timestamptz, in_recovery boolean, procs int);
CREATE TABLE IF NOT EXISTS ha_old (job text, node text, slot timestamptz, sec timestamptz, at timestamptz);
TRUNCATE ha_samples, ha_old;" >/dev/null
	cat "$T"/samples.* 2>/dev/null | js_as_pg "$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres \
		-c "COPY ha_samples FROM STDIN (DELIMITER '|')"
	[ -n "$old" ] && [ -s "$old" ] && js_as_pg "$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres \
		-c "COPY ha_old FROM STDIN" <"$old"
	out=$(js_as_pg "$PG_BIN/psql" -X -At -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d postgres \
		-v from="$from" -v to="$to" -v ev="$ev" -v promo="$promo" -v newn="$newn" <<'SQL'
WITH eff AS (SELECT job, node, coalesce(slot, sec) AS slot, sec, at FROM effects),
due AS (
	SELECT j.job, s AS slot
	  FROM (SELECT job_name AS job, min(scheduled_at) AS first FROM job_stagger.job_run_details GROUP BY job_name) j,
	       generate_series(greatest(j.first, date_trunc('second', :'from'::timestamptz)), date_trunc('second', :'to'::timestamptz), '1 second') s),
hist AS (
	SELECT d.job, d.slot, count(h.runid) AS n, min(h.status) AS status, min(h.return_message) AS msg
	  FROM due d LEFT JOIN job_stagger.job_run_details h ON h.job_name = d.job AND h.scheduled_at = d.slot
	 GROUP BY d.job, d.slot),
per AS (
	SELECT h.*, (SELECT count(*) FROM eff e WHERE e.job = h.job AND e.slot = h.slot) AS effects,
	       (SELECT count(DISTINCT node) FROM eff e WHERE e.job = h.job AND e.slot = h.slot) AS nodes,
	       EXISTS (SELECT 1 FROM ha_old o WHERE o.job = h.job AND coalesce(o.slot, o.sec) = h.slot) AS ran_old,
	       EXISTS (SELECT 1 FROM ha_old o WHERE o.job = h.job AND coalesce(o.slot, o.sec) = h.slot
	                  AND NOT EXISTS (SELECT 1 FROM eff e WHERE e.job = o.job AND e.slot = coalesce(o.slot, o.sec) AND e.node = o.node)) AS unreplicated
	  FROM hist h),
samples AS (
	SELECT s.*, lead(in_recovery) OVER (PARTITION BY node ORDER BY at) AS next_rec,
	       lead(at) OVER (PARTITION BY node ORDER BY at) AS next_at FROM ha_samples s)
SELECT concat_ws(' ',
	'slots=' || count(*),
	'history_not_one=' || count(*) FILTER (WHERE n <> 1),
	'no_effect=' || count(*) FILTER (WHERE effects = 0),
	'lost_succeeded=' || count(*) FILTER (WHERE effects = 0 AND status = 'succeeded'),
	'lost_skipped=' || count(*) FILTER (WHERE effects = 0 AND status = 'skipped'),
	'lost_crashed=' || count(*) FILTER (WHERE effects = 0 AND status = 'crashed'),
	'lost_other=' || count(*) FILTER (WHERE effects = 0 AND status NOT IN ('succeeded', 'skipped', 'crashed')),
	'effect_not_succeeded=' || count(*) FILTER (WHERE effects > 0 AND status IS DISTINCT FROM 'succeeded'),
	'crashed_with_effect=' || count(*) FILTER (WHERE effects > 0 AND status = 'crashed'),
	'skipped_with_effect=' || count(*) FILTER (WHERE effects > 0 AND status = 'skipped'),
	'never_ran=' || count(*) FILTER (WHERE effects = 0 AND NOT ran_old),
	'after_promo_not_run=' || count(*) FILTER (WHERE effects = 0 AND slot >= :'promo'::timestamptz),
	'after_promo_statuses=' || coalesce((SELECT string_agg(st || ':' || c, ',') FROM (SELECT coalesce(status, 'none') st, count(*) c FROM per
	                            WHERE effects = 0 AND slot >= :'promo'::timestamptz GROUP BY 1 ORDER BY 1) x), '-'),
	'dup_same_slot=' || count(*) FILTER (WHERE effects > 1),
	'both_nodes=' || count(*) FILTER (WHERE nodes > 1),
	'ran_old=' || count(*) FILTER (WHERE ran_old),
	'unreplicated=' || count(*) FILTER (WHERE unreplicated),
	'rerun=' || count(*) FILTER (WHERE unreplicated AND effects > 0),
	'unreplicated_recorded_as=' || coalesce((SELECT string_agg(st || ':' || c, ',') FROM (SELECT coalesce(status, 'none') st, count(*) c FROM per WHERE unreplicated GROUP BY 1 ORDER BY 1) x), '-'),
	'open=' || (SELECT count(*) FROM job_stagger.job_run_details WHERE status IN ('starting', 'running') AND scheduled_at <= :'to'::timestamptz),
	'late=' || (SELECT count(*) FROM eff WHERE slot <> sec AND slot BETWEEN :'from' AND :'to'),
	'replica_procs=' || (SELECT count(*) FROM ha_samples WHERE in_recovery AND procs > 0),
	'replica_runs=' || (SELECT count(*) FROM eff e WHERE EXISTS (SELECT 1 FROM samples s WHERE s.node = e.node
	                     AND s.in_recovery AND s.next_rec AND e.at > s.at AND e.at < s.next_at)),
	'gap=' || coalesce((SELECT round(extract(epoch FROM min(at) - :'promo'::timestamptz)::numeric, 2)::text
	                      FROM eff WHERE node = :'newn' AND at > :'ev'::timestamptz), 'none'),
	'outage=' || coalesce((SELECT round(extract(epoch FROM
	                        (SELECT min(at) FROM eff WHERE node = :'newn' AND at > :'ev'::timestamptz)
	                      - (SELECT max(at) FROM eff WHERE node <> :'newn' AND at <= :'ev'::timestamptz))::numeric, 2)::text), 'none'),
	'statuses=' || (SELECT string_agg(coalesce(status, 'none') || ':' || c, ',') FROM (SELECT status, count(*) c FROM per GROUP BY 1 ORDER BY 1) x))
  FROM per;
SQL
	)
	echo "ha-result: $SCEN $out"
	# Details of slots that break a rule (for the report).
	js_as_pg "$PG_BIN/psql" -X -At -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -v from="$from" -v to="$to" <<'SQL' | sed -n "1,12s|^|ha-detail: $SCEN |p"
SELECT h.job_name, to_char(h.scheduled_at, 'HH24:MI:SS'), h.status, left(coalesce(h.return_message, ''), 90),
       (SELECT string_agg(e.node || '@' || to_char(e.at, 'SS.MS'), ' ') FROM effects e WHERE e.job = h.job_name AND coalesce(e.slot, e.sec) = h.scheduled_at)
  FROM job_stagger.job_run_details h
 WHERE h.scheduled_at BETWEEN :'from' AND :'to' AND h.status <> 'succeeded'
 ORDER BY h.scheduled_at, h.job_name;
SQL
	local v
	zero() { # 1 when every named value is 0
		local k
		for k in "$@"; do [ "$(val "$k")" = 0 ] || { echo 0 && return; }; done
		echo 1
	}
	val() { sed -n "s/.*[ ]$1=\([^ ]*\).*/\1/p" <<<" $out"; }
	check "no job runs on a replica" "$(zero replica_runs replica_procs)" \
		"effects while a replica: $(val replica_runs), samples with a job_stagger process on a replica: $(val replica_procs)"
	v=$(val gap)
	check "jobs run on the new leader within ${MAX_GAP}s" "$(awk -v g="$v" -v m="$MAX_GAP" 'BEGIN { print (g != "none" && g <= m) ? 1 : 0 }')" \
		"first run ${v}s after the promotion"
	check "no slot runs on both nodes" "$(zero both_nodes dup_same_slot)" \
		"slots with effects on 2 nodes: $(val both_nodes), slots with 2+ effects: $(val dup_same_slot)"
	check "every due slot has exactly one history row" "$(zero history_not_one)" \
		"$(val slots) slots, $(val history_not_one) without exactly one row"
	check "no slot without effect is recorded succeeded" "$(zero lost_succeeded)" \
		"$(val no_effect) slots without effect: $(val lost_skipped) skipped, $(val lost_crashed) crashed, $(val lost_other) other, $(val lost_succeeded) succeeded"
	check "no 'crashed' row for a slot whose effect survived" "$(zero crashed_with_effect)" \
		"$(val crashed_with_effect) crashed, $(val skipped_with_effect) skipped with an effect"
	check "every slot due after the promotion runs" "$(zero after_promo_not_run)" \
		"$(val after_promo_not_run) not run: $(val after_promo_statuses)"
	check "no open starting/running row at the end" "$(zero open)" "$(val open) open"
	if [ "$sync" = 1 ]; then
		check "exactly once (synchronous): effect <=> succeeded" \
			"$(zero effect_not_succeeded lost_succeeded rerun)" \
			"effects without succeeded row: $(val effect_not_succeeded), succeeded without effect: $(val lost_succeeded), reruns of unreplicated runs: $(val rerun)"
	fi
	RESULTS+=("$SCEN gap=$(val gap)s outage=$(val outage)s slots=$(val slots) no_effect=$(val no_effect) (skipped $(val lost_skipped), crashed $(val lost_crashed)) lost=$(val never_ran) effect_not_succeeded=$(val effect_not_succeeded) unreplicated=$(val unreplicated) rerun=$(val rerun) duplicated=$(val both_nodes) late=$(val late)")
}
RESULTS=()

# JS_HA_INJECT=1: plants one violation of each rule in the final leader's data
# before the analysis, to show that every check can fail.
inject() { # port, to, promoted_at, new node
	js_log "injecting violations (JS_HA_INJECT=1)"
	q "$1" "-- a run on the new leader while it was still a replica
INSERT INTO effects VALUES ('tick1', '$4', NULL, date_trunc('second', '$3'::timestamptz - interval '1.5 s'), '$3'::timestamptz - interval '1.5 s');
-- the same slot on the other node
INSERT INTO effects SELECT job, 'other', slot, sec, at FROM effects WHERE node = '$4' AND job = 'tick1' ORDER BY at LIMIT 1;
-- a slot without its history row, a succeeded run without its effect, an open row
DELETE FROM job_stagger.job_run_details WHERE runid = (SELECT max(runid) FROM job_stagger.job_run_details
  WHERE job_name = 'tick2' AND status = 'succeeded' AND scheduled_at < '$2'::timestamptz - interval '2 s');
DELETE FROM effects WHERE (job, slot) IN (SELECT job_name, max(scheduled_at) FROM job_stagger.job_run_details
  WHERE job_name = 'tick3' AND status = 'succeeded' AND scheduled_at < '$2'::timestamptz - interval '2 s' GROUP BY 1);
UPDATE job_stagger.job_run_details SET status = 'running' WHERE runid = (SELECT max(runid) FROM job_stagger.job_run_details
  WHERE job_name = 'tick1' AND status = 'succeeded' AND scheduled_at < '$2'::timestamptz - interval '3 s');
" >/dev/null
}

# When a data dir last ended recovery: the newest timeline history file.
promoted_at() { # datadir
	local f
	f=$(ls -t "$1"/pg_wal/*.history | sed -n 1p)
	date -u -d "@$(stat -c %.9Y "$f")" '+%Y-%m-%d %H:%M:%S.%N+00'
}

pg_conf_common() { # port, node name
	cat <<EOF
listen_addresses = '127.0.0.1'
port = $1
unix_socket_directories = '$T'
cluster_name = '$2'
shared_preload_libraries = 'job_stagger'
job_stagger.database_name = 'postgres'
max_worker_processes = 24
max_wal_senders = 4
timezone = 'UTC'
log_line_prefix = '%m [%p] %b '
EOF
}

# ---------------------------------------------------------------- streaming
streaming_scenario() { # fast|immediate, async|sync
	local stop=$1 rep=$2 dir pa pb a b t_ev t_end old=""
	SCEN="streaming/$stop/$rep"
	js_log "scenario $SCEN"
	dir=$T/$stop-$rep
	js_as_pg mkdir -p "$dir"
	a=$dir/a b=$dir/b
	pa=$(js_free_port)
	js_as_pg cp -a "$T/template" "$a"
	pg_conf_common "$pa" a | js_as_pg tee -a "$a/postgresql.conf" >/dev/null
	DATADIRS+=("$a" "$b")
	pg_start "$a" "$dir/a.log"
	setup_jobs "$pa"
	wait_sql "$pa" "SELECT count(DISTINCT job) = $JOBS FROM effects" 20 "jobs run on the primary"

	pb=$(js_free_port)
	js_as_pg "$PG_BIN/pg_basebackup" -h 127.0.0.1 -p "$pa" -U postgres -D "$b" -R -X stream -c fast
	pg_conf_common "$pb" b | js_as_pg tee -a "$b/postgresql.conf" >/dev/null
	pg_start "$b" "$dir/b.log"
	wait_sql "$pa" "SELECT count(*) = 1 FROM pg_stat_replication WHERE application_name = 'b' AND state = 'streaming'" 30 "standby streams"
	if [ "$rep" = sync ]; then
		q "$pa" "ALTER SYSTEM SET synchronous_standby_names = 'b'" && q "$pa" "SELECT pg_reload_conf()" >/dev/null
		wait_sql "$pa" "SELECT sync_state = 'sync' FROM pg_stat_replication WHERE application_name = 'b'" 30 "standby is synchronous"
	fi
	rm -f "$T"/samples.*
	start_sampler "$pa" "$pa" "$T/samples.a"
	start_sampler "$pb" "$pb" "$T/samples.b"
	sleep "$RUN_S"
	if [ "$rep" = async ]; then
		# The lag window: the standby stops receiving WAL for LAG_S seconds
		# before the primary goes down (a slow or cut network).
		q "$pb" "ALTER SYSTEM SET primary_conninfo = ''" && q "$pb" "SELECT pg_reload_conf()" >/dev/null
		sleep "$LAG_S"
	fi
	sleep_to_fraction
	t_ev=$(date -u '+%Y-%m-%d %H:%M:%S.%N+00')
	js_as_pg "$PG_BIN/pg_ctl" -D "$a" -m "$stop" -w stop >/dev/null
	js_as_pg "$PG_BIN/pg_ctl" -D "$b" -w -t 60 promote >/dev/null
	sleep "$AFTER_S"
	t_end=$(date -u -d '-2 seconds' '+%Y-%m-%d %H:%M:%S+00')
	kill "${PIDS[-1]}" "${PIDS[-2]}" 2>/dev/null || true
	old=$dir/old_effects
	postmortem "$a" "$old"
	analyse "$pb" "1970-01-01" "$t_end" "$t_ev" "$(promoted_at "$b")" "$pb" "$([ "$rep" = sync ] && echo 1 || echo 0)" "$old"
	js_as_pg "$PG_BIN/pg_ctl" -D "$b" -m fast -w stop >/dev/null
}

run_streaming() {
	js_log "streaming replication: template cluster"
	js_as_pg "$PG_BIN/initdb" -D "$T/template" -U postgres -A trust --no-sync >"$T/initdb.log" 2>&1 ||
		{ cat "$T/initdb.log" >&2; js_die "initdb failed"; }
	local stop rep
	for stop in fast immediate; do
		for rep in async sync; do
			# JS_HA_SCENARIOS: a glob to run some of them ("fast/*").
			# shellcheck disable=SC2053 # a glob on purpose
			[[ "$stop/$rep" == ${JS_HA_SCENARIOS:-*} ]] || continue
			streaming_scenario "$stop" "$rep"
		done
	done
}

# ------------------------------------------------------------------ patroni
patroni_conf() { # name, pg port, rest port, etcd port, sync (true/false)
	cat <<EOF
scope: js_ha
name: $1
log:
  level: WARNING
restapi:
  listen: 127.0.0.1:$3
  connect_address: 127.0.0.1:$3
etcd3:
  hosts: 127.0.0.1:$4
bootstrap:
  dcs:
    ttl: 20
    loop_wait: 1
    retry_timeout: 5
    maximum_lag_on_failover: 104857600
    synchronous_mode: $5
    postgresql:
      use_pg_rewind: true
      parameters:
        shared_preload_libraries: job_stagger
        job_stagger.database_name: postgres
        max_worker_processes: 24
        wal_log_hints: 'on'
        timezone: UTC
  initdb:
    - auth: trust
    - encoding: UTF8
postgresql:
  listen: 127.0.0.1:$2
  connect_address: 127.0.0.1:$2
  data_dir: $T/$1
  bin_dir: $PG_BIN
  pgpass: $T/pgpass.$1
  authentication:
    superuser:
      username: postgres
      password: postgres
    replication:
      username: postgres
      password: postgres
    rewind:
      username: postgres
      password: postgres
  parameters:
    unix_socket_directories: $T
    log_line_prefix: '%m [%p] %b '
  pg_hba:
    - local all all trust
    - host all all 127.0.0.1/32 trust
    - host replication all 127.0.0.1/32 trust
EOF
}

start_patroni() { # name
	(exec_as_pg patroni "$T/$1.yml" >>"$T/$1.patroni.log" 2>&1) &
	PIDS+=($!)
	disown $! # no "Killed" line from bash after the kill -9
	eval "PATRONI_PID_$1=$!"
}

leader_of() { # -> name of the leader (via the REST API of either node)
	local n
	for n in n1 n2; do
		if curl -fsS "http://127.0.0.1:$(eval echo "\$REST_$n")/primary" >/dev/null 2>&1; then
			echo "$n"
			return 0
		fi
	done
	return 1
}

wait_leader() { # name, seconds
	local i
	for i in $(seq 1 $(($2 * 2))); do
		[ "$(leader_of || true)" = "$1" ] && q "$(eval echo "\$PORT_$1")" "SELECT NOT pg_is_in_recovery()" 2>/dev/null | grep -qx t && return 0
		sleep 0.5
	done
	echo "no leader $1 after $2 s" >&2
	return 1
}

wait_replica() { # name, seconds
	local i p
	p=$(eval echo "\$PORT_$1")
	for i in $(seq 1 $(($2 * 2))); do
		[ "$(q "$p" "SELECT pg_is_in_recovery()" 2>/dev/null || true)" = t ] &&
			curl -fsS "http://127.0.0.1:$(eval echo "\$REST_$1")/replica" >/dev/null 2>&1 && return 0
		sleep 0.5
	done
	echo "$1 is no replica after $2 s" >&2
	return 1
}

patroni_cluster() { # on|off (synchronous_mode)
	local sm=$1 ep pp n t_sw t_fo t_end t_sw_promo t_fo_promo t_fo_from t_sw_to pid p old="" sync
	sync=$([ "$sm" = on ] && echo 1 || echo 0)
	js_log "Patroni cluster, synchronous_mode $sm"
	rm -rf "${T:?}"/n1 "${T:?}"/n2 "${T:?}"/n2.dead "${T:?}"/etcd "$T"/samples.* "$T"/old_effects
	ep=$(js_free_port)
	pp=$(js_free_port)
	(exec_as_pg etcd --name e1 --data-dir "$T/etcd" --listen-client-urls "http://127.0.0.1:$ep" \
		--advertise-client-urls "http://127.0.0.1:$ep" --listen-peer-urls "http://127.0.0.1:$pp" \
		--initial-advertise-peer-urls "http://127.0.0.1:$pp" --initial-cluster "e1=http://127.0.0.1:$pp" \
		>"$T/etcd.log" 2>&1) &
	PIDS+=($!)
	ETCD_PID=$!
	for _ in $(seq 1 50); do curl -fsS "http://127.0.0.1:$ep/health" >/dev/null 2>&1 && break; sleep 0.2; done
	for n in n1 n2; do
		eval "PORT_$n=$(js_free_port)"
		eval "REST_$n=$(js_free_port)"
		patroni_conf "$n" "$(eval echo "\$PORT_$n")" "$(eval echo "\$REST_$n")" "$ep" \
			"$([ "$sm" = on ] && echo true || echo false)" | js_as_pg tee "$T/$n.yml" >/dev/null
		DATADIRS+=("$T/$n")
	done
	start_patroni n1
	wait_leader n1 60
	setup_jobs "$PORT_n1"
	start_patroni n2
	wait_replica n2 90
	if [ "$sm" = on ]; then
		wait_sql "$PORT_n1" "SELECT count(*) = 1 FROM pg_stat_replication WHERE sync_state = 'sync'" 60 "n2 is synchronous"
	fi
	start_sampler "$PORT_n1" "$PORT_n1" "$T/samples.n1"
	start_sampler "$PORT_n2" "$PORT_n2" "$T/samples.n2"
	wait_sql "$PORT_n1" "SELECT count(DISTINCT job) = $JOBS FROM effects" 20 "jobs run on the leader"
	sleep "$RUN_S"

	SCEN="patroni/sync-$sm/switchover"
	js_log "scenario $SCEN"
	t_sw=$(date -u '+%Y-%m-%d %H:%M:%S.%N+00')
	js_as_pg patronictl -c "$T/n1.yml" switchover --leader n1 --candidate n2 --force >"$T/switchover.log" 2>&1 ||
		cat "$T/switchover.log" >&2
	wait_leader n2 60
	t_sw_promo=$(promoted_at "$T/n2")
	wait_replica n1 90 || true
	sleep "$AFTER_S"

	SCEN="patroni/sync-$sm/failover"
	js_log "scenario $SCEN (kill -9 of n2's Patroni and postmaster)"
	if [ "$sm" = on ]; then
		wait_sql "$PORT_n2" "SELECT count(*) = 1 FROM pg_stat_replication WHERE sync_state = 'sync'" 60 "n1 is synchronous"
	fi
	sleep_to_fraction
	t_fo=$(date -u '+%Y-%m-%d %H:%M:%S.%N+00')
	# Slots from 2 s before the kill belong to the failover: their outcome may
	# not be recorded yet (the launcher records it on its next tick).
	t_fo_from=$(date -u -d '-2 seconds' '+%Y-%m-%d %H:%M:%S+00')
	t_sw_to=$(date -u -d '-3 seconds' '+%Y-%m-%d %H:%M:%S+00')
	pid=$(head -1 "$T/n2/postmaster.pid")
	kill -9 "$PATRONI_PID_n2" "$pid"
	# The node is gone: its backends die with it (a job may not commit after).
	for p in $(pgrep -P "$pid" || true); do kill -9 "$p" 2>/dev/null || true; done
	wait_leader n1 90
	t_fo_promo=$(promoted_at "$T/n1")
	sleep "$AFTER_S"
	t_end=$(date -u -d '-2 seconds' '+%Y-%m-%d %H:%M:%S+00')
	kill "${PIDS[-1]}" "${PIDS[-2]}" 2>/dev/null || true
	# What the dead node really ran: its data dir as it was at the crash.
	js_as_pg cp -a "$T/n2" "$T/n2.dead"
	DATADIRS+=("$T/n2.dead")
	old=$T/old_effects
	postmortem "$T/n2.dead" "$old"

	SCEN="patroni/sync-$sm/switchover"
	analyse "$PORT_n1" "1970-01-01" "$t_sw_to" "$t_sw" "$t_sw_promo" "$PORT_n2" "$sync" ""
	SCEN="patroni/sync-$sm/failover"
	analyse "$PORT_n1" "$t_fo_from" "$t_end" "$t_fo" "$t_fo_promo" "$PORT_n1" "$sync" "$old"

	# Stop everything of this cluster, by PID.
	kill "$PATRONI_PID_n1" 2>/dev/null || true
	for _ in $(seq 1 40); do kill -0 "$PATRONI_PID_n1" 2>/dev/null || break; sleep 0.5; done
	js_as_pg "$PG_BIN/pg_ctl" -D "$T/n1" -m fast -w stop >/dev/null 2>&1 || true
	kill "$ETCD_PID" 2>/dev/null || true
	wait "$ETCD_PID" 2>/dev/null || true
}

run_patroni() {
	command -v patroni >/dev/null && command -v etcd >/dev/null ||
		js_die "patroni and etcd are missing (scripts/test.sh --ha installs them)"
	patroni_cluster off
	patroni_cluster on
}

# -------------------------------------------------------------------- main
case "$MODE" in
--streaming | --patroni) ;;
*) js_die "usage: $0 --streaming | --patroni" ;;
esac
T=$(mktemp -d /tmp/job_stagger-ha.XXXXXX)
[ "$(id -u)" -eq 0 ] && chown postgres: "$T"
if [ "$MODE" = --streaming ]; then run_streaming; else run_patroni; fi
echo
js_log "failover results (${MODE#--})"
printf '%s\n' "${RESULTS[@]}"
echo "ha: $PASSED passed, $FAILED failed, $KNOWN known failures (test/ha/known_failures)"
[ "$FAILED" -eq 0 ]
