# Promotion of a streaming standby: the slot the old primary had recorded
# 'starting' (prestarted, not yet begun) runs on the new primary instead of
# being closed as crashed; catching up does not skip the next slots; every slot
# has exactly one history row and at most one effect; with synchronous
# replication a slot has an effect exactly when its row says it ran.
# Cases: fast and immediate stop of the primary, synchronous and asynchronous
# replication, and an asynchronous standby that lags 3 s behind. xid_case: a
# run whose command committed but whose end the old primary never recorded is
# 'succeeded' on the new one (its command_xid committed), and a 'running' row
# whose recorded transaction aborted is 'crashed' ("before the command
# committed").
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JobStagger::Test;

# A streaming standby of $primary, named s_$tag, started and caught up.
sub start_standby
{
	my ($primary, $tag) = @_;
	$primary->backup('base');
	my $standby = PostgreSQL::Test::Cluster->new("s_$tag");
	$standby->init_from_backup($primary, 'base', has_streaming => 1);
	$standby->append_conf('postgresql.conf', "cluster_name = 's_$tag'\n");
	$standby->start;
	$primary->wait_for_catchup($standby);
	return $standby;
}

sub run_case
{
	my ($mode, $sync, $lag) = @_;
	my $tag = $mode . ($sync ? '_sync' : '_async') . ($lag ? '_lag' : '');
	my $primary = new_js_node("p_$tag", init => { allows_streaming => 1 },
		conf => "job_stagger.catchup_window = 60\ncluster_name = 'p_$tag'\n");
	# One effect row per run: the node it ran on, the worker's pid (matched with
	# the run's history row) and the clock.
	$primary->safe_psql('postgres', q{
		CREATE TABLE effects (node text, pid int, at timestamptz DEFAULT clock_timestamp());
		SELECT stagger_schedule('tick_a', '* * * * * *',
		    'INSERT INTO effects (node, pid) VALUES (current_setting(''cluster_name''), pg_backend_pid())');
		SELECT stagger_schedule('tick_b', '* * * * * *',
		    'INSERT INTO effects (node, pid) VALUES (current_setting(''cluster_name''), pg_backend_pid())');
	});
	my $standby = start_standby($primary, $tag);
	if ($sync)
	{
		$primary->safe_psql('postgres', qq{ALTER SYSTEM SET synchronous_standby_names = 's_$tag'; SELECT pg_reload_conf();});
		wait_for($primary, q{SELECT count(*) = 1 FROM pg_stat_replication WHERE sync_state = 'sync'},
			"$tag: standby is synchronous");
	}
	wait_for($primary, q{SELECT count(*) >= 6 FROM effects}, "$tag: primary runs the jobs");
	if ($lag)
	{
		# An asynchronous standby that lags: it stops receiving WAL while the
		# primary runs on for 3 s. Those slots' rows and effects are lost with
		# the primary; the new primary plans them again from the replicated
		# watermark.
		$standby->safe_psql('postgres', q{ALTER SYSTEM SET primary_conninfo = ''; SELECT pg_reload_conf();});
		wait_for($standby, q{SELECT count(*) = 0 FROM pg_stat_wal_receiver}, "$tag: the standby stopped receiving");
		my $before = $primary->safe_psql('postgres', q{SELECT count(*) FROM effects});
		sleep(3);
		cmp_ok($primary->safe_psql('postgres', q{SELECT count(*) FROM effects}), '>', $before,
			"$tag: the primary ran slots the standby does not get");
	}

	# Stop mid-second, once the runs of this second are recorded as ended: the
	# next second's are recorded 'starting' (prestarted) and wait for their
	# instant. (A run recorded 'running' at the stop has an unknown outcome:
	# see docs/scheduler.md, "Failover".)
	for (my $try = 0;; $try++)
	{
		sleep_until_second(0.4);
		last if $primary->safe_psql('postgres', q{
			SELECT count(*) = 0 AND extract(milliseconds FROM clock_timestamp())::int % 1000 < 700
			  FROM job_stagger.job_run_details WHERE status = 'running'}) eq 't';
		die "runs of every second stay 'running'" if $try > 20;
	}
	$primary->stop($mode);
	my $starting = $standby->safe_psql('postgres',
		q{SELECT string_agg(runid::text, ',') FROM job_stagger.job_run_details WHERE status = 'starting'});
	ok($starting ne '', "$tag: the old primary left prestarted runs 'starting' ($starting)");
	$starting = '0' if $starting eq '';
	# The failover takes a few seconds: the first batch of the new primary has
	# late slots to catch up and on-time ones.
	sleep(3);
	$standby->promote;
	wait_for($standby, q{SELECT count(*) >= 6 FROM effects WHERE node LIKE 's_%'}, "$tag: the promoted node runs the jobs");
	$standby->safe_psql('postgres', q{SELECT stagger_unschedule('tick_a'); SELECT stagger_unschedule('tick_b');});
	wait_for($standby, q{SELECT count(*) = 0 FROM job_stagger.job_run_details WHERE status IN ('starting', 'running')},
		"$tag: every run is closed");

	is($standby->safe_psql('postgres', qq{
		SELECT string_agg(runid || ' ' || status || ': ' || coalesce(return_message, ''), '; ')
		  FROM job_stagger.job_run_details WHERE runid IN ($starting) AND status <> 'succeeded'}),
		'', "$tag: runs left 'starting' by the old primary ran on the new one");
	is($standby->safe_psql('postgres', qq{
		SELECT count(*) FROM job_stagger.job_run_details d JOIN effects e ON e.pid = d.pid AND e.node LIKE 's_%'
		 WHERE d.runid IN ($starting)}),
		$standby->safe_psql('postgres', qq{SELECT count(*) FROM job_stagger.job_run_details WHERE runid IN ($starting)}),
		"$tag: each of them has its effect on the new primary");
	is($standby->safe_psql('postgres', q{
		SELECT string_agg(runid || ' ' || scheduled_at, '; ') FROM job_stagger.job_run_details
		 WHERE return_message LIKE '%has not started yet%' OR return_message LIKE '%had not started%'}),
		'', "$tag: no slot is skipped or crashed because an earlier one had not started");
	is($standby->safe_psql('postgres', q{
		SELECT string_agg(job_name, ', ') FROM (
		  SELECT job_name FROM job_stagger.job_run_details GROUP BY job_name
		  HAVING count(*) <> count(DISTINCT scheduled_at)
		      OR count(*) <> extract(epoch FROM max(scheduled_at) - min(scheduled_at)) + 1) bad}),
		'', "$tag: every slot has exactly one history row, none is missing");

	# Effects on the surviving node, matched to runs by the worker's pid (the
	# run of the latest start before the effect).
	$standby->safe_psql('postgres', q{
		CREATE TABLE matched AS
		SELECT e.*, (SELECT d.runid FROM job_stagger.job_run_details d
		              WHERE d.pid = e.pid AND d.started_at <= e.at ORDER BY d.started_at DESC LIMIT 1) AS runid
		  FROM effects e});
	is($standby->safe_psql('postgres', q{SELECT count(*) FROM matched WHERE runid IS NULL}),
		'0', "$tag: every effect belongs to a recorded run");
	is($standby->safe_psql('postgres', q{
		SELECT count(*) FROM (SELECT d.jobid, d.scheduled_at FROM matched m JOIN job_stagger.job_run_details d USING (runid)
		 GROUP BY 1, 2 HAVING count(*) > 1) twice}),
		'0', "$tag: no slot has more than one effect");
	is($standby->safe_psql('postgres', q{
		SELECT string_agg(runid || ' ' || status, '; ') FROM job_stagger.job_run_details d
		 WHERE status = 'succeeded' AND NOT EXISTS (SELECT FROM matched m WHERE m.runid = d.runid)}),
		'', "$tag: every succeeded run has its effect");
	my $with_effect_not_ok = $standby->safe_psql('postgres', q{
		SELECT string_agg(d.runid || ' ' || d.status, '; ') FROM matched m JOIN job_stagger.job_run_details d USING (runid)
		 WHERE d.status <> 'succeeded'});
	if ($sync)
	{
		is($with_effect_not_ok, '', "$tag: every run with an effect is recorded as succeeded");
	}
	else
	{
		# Asynchronous: a run recorded 'running' whose end did not reach the
		# standby is 'crashed' (outcome unknown) and may have its effect.
		is($standby->safe_psql('postgres', q{
			SELECT string_agg(d.runid || ' ' || d.status, '; ') FROM matched m JOIN job_stagger.job_run_details d USING (runid)
			 WHERE d.status NOT IN ('succeeded', 'crashed')}),
			'', "$tag: no run with an effect is recorded as skipped or failed");
	}
	$standby->stop;
}

# The window between a command's commit and the launcher recording its end,
# made deterministic: on the old primary only (cluster_name p_...), a trigger
# holds the launcher inside the transaction that records the end of a run of
# job xid_tick (pg_sleep), so the run stays 'running' there with its command
# committed (and replicated: synchronous standby). The primary then stops
# immediately (within the fence's 10 s, before the next run's commit gives up
# waiting for its 'running' row). The aborted branch is a 'running' row whose
# command_xid is a transaction that rolled back (the real window, between the
# fence and the commit record, cannot be hit on purpose), next to one without
# command_xid (outcome unknown, as before).
sub xid_case
{
	my $tag = 'xid';
	my $primary = new_js_node("p_$tag", init => { allows_streaming => 1 },
		conf => "job_stagger.catchup_window = 60\ncluster_name = 'p_$tag'\n");
	$primary->safe_psql('postgres', q{
		CREATE TABLE effects (node text, pid int, xid xid8 DEFAULT pg_current_xact_id(),
		                      at timestamptz DEFAULT clock_timestamp());
		CREATE FUNCTION hold_end() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF current_setting('cluster_name') LIKE 'p\_%' AND OLD.status = 'running' AND NEW.status <> 'running'
			   AND NEW.job_name = 'xid_tick' THEN
				PERFORM pg_sleep(600);
			END IF;
			RETURN NEW;
		END $$;
		CREATE TRIGGER hold_end BEFORE UPDATE ON job_stagger.job_run_details
		    FOR EACH ROW EXECUTE FUNCTION hold_end();
	});
	my $standby = start_standby($primary, $tag);
	$primary->safe_psql('postgres', qq{ALTER SYSTEM SET synchronous_standby_names = 's_$tag'; SELECT pg_reload_conf();});
	wait_for($primary, q{SELECT count(*) = 1 FROM pg_stat_replication WHERE sync_state = 'sync'},
		"$tag: standby is synchronous");

	# 'running' rows of a previous life: one whose transaction rolled back, one with none recorded.
	my $aborted = $primary->safe_psql('postgres', q{
		BEGIN; INSERT INTO effects (node) VALUES ('rolled back'); SELECT pg_current_xact_id(); ROLLBACK;});
	$primary->safe_psql('postgres', qq{
		INSERT INTO job_stagger.job_run_details (jobid, job_name, username, database, command, status,
		    scheduled_at, nominal_at, started_at, stagger_enabled, offset_seconds, effective_schedule, command_xid)
		SELECT 0, name, current_user, 'postgres', 'SELECT 1', 'running', now(), now(), now(), false, 0, '0 0 1 1 *', x
		  FROM (VALUES ('crafted_aborted', '$aborted'::xid8), ('crafted_unknown', NULL)) v(name, x)});

	$primary->safe_psql('postgres', q{
		SELECT stagger_schedule('xid_tick', '* * * * * *',
		    'INSERT INTO effects (node, pid) VALUES (current_setting(''cluster_name''), pg_backend_pid())')});
	wait_for($primary, q{
		SELECT count(*) = 1 FROM job_stagger.job_run_details d
		 WHERE job_name = 'xid_tick' AND status = 'running'
		   AND EXISTS (SELECT FROM effects e WHERE e.xid = d.command_xid)},
		"$tag: a run's command committed and its end is not recorded on the primary");
	my $held = $primary->safe_psql('postgres', q{
		SELECT runid FROM job_stagger.job_run_details WHERE job_name = 'xid_tick' AND status = 'running'
		   AND command_xid IS NOT NULL});
	is($standby->safe_psql('postgres', qq{
		SELECT status FROM job_stagger.job_run_details d WHERE runid = $held
		   AND EXISTS (SELECT FROM effects e WHERE e.xid = d.command_xid)}),
		'running', "$tag: the standby has the command's commit and the 'running' row with its transaction id");
	$primary->stop('immediate');
	$standby->promote;
	wait_for($standby, qq{SELECT count(*) = 0 FROM job_stagger.job_run_details
		 WHERE status = 'running' AND (runid = $held OR job_name LIKE 'crafted%')},
		"$tag: the promoted node closes the runs of the old primary");
	wait_for($standby, q{SELECT count(*) >= 3 FROM effects WHERE node LIKE 's_%'}, "$tag: the promoted node runs the job");
	$standby->safe_psql('postgres', q{SELECT stagger_unschedule('xid_tick')});
	wait_for($standby, q{SELECT count(*) = 0 FROM job_stagger.job_run_details WHERE status IN ('starting', 'running')},
		"$tag: every run is closed");

	my ($status, $message) = query_row($standby, qq{
		SELECT status, return_message FROM job_stagger.job_run_details WHERE runid = $held});
	is($status, 'succeeded', "$tag: the run whose command committed is succeeded");
	like($message, qr/^the command committed \(transaction \d+\); its end was recorded after the server stopped$/,
		"$tag: ... and says why");
	is($standby->safe_psql('postgres', q{
		SELECT string_agg(job_name || ' ' || status || ': ' || return_message, '; ' ORDER BY job_name)
		  FROM job_stagger.job_run_details WHERE job_name LIKE 'crafted%'}),
		'crafted_aborted crashed: the server stopped (shutdown, crash or failover) before the command committed; '
		  . 'crafted_unknown crashed: the server stopped (shutdown, crash or failover) while the run was in progress: '
		  . 'its outcome is unknown (the command may have committed)',
		"$tag: a recorded transaction that aborted is 'crashed' before the commit; none recorded: outcome unknown");
	# Exactly once with synchronous replication: an effect if and only if the
	# run is 'succeeded', matched by transaction id.
	is($standby->safe_psql('postgres', q{
		SELECT count(*) FROM effects e WHERE NOT EXISTS (SELECT FROM job_stagger.job_run_details d
		  WHERE d.job_name = 'xid_tick' AND d.status = 'succeeded' AND d.command_xid = e.xid)}),
		'0', "$tag: every effect belongs to a succeeded run");
	is($standby->safe_psql('postgres', q{
		SELECT string_agg(runid || ' ' || status, '; ') FROM job_stagger.job_run_details d
		 WHERE job_name = 'xid_tick' AND status = 'succeeded'
		   AND NOT EXISTS (SELECT FROM effects e WHERE e.xid = d.command_xid)}),
		'', "$tag: every succeeded run has its effect (and its command_xid)");
	is($standby->safe_psql('postgres', q{
		SELECT string_agg(job_name, ', ') FROM (
		  SELECT job_name FROM job_stagger.job_run_details WHERE job_name = 'xid_tick' GROUP BY job_name
		  HAVING count(*) <> count(DISTINCT scheduled_at)) bad}),
		'', "$tag: no slot has two rows");
	$standby->stop;
}

xid_case();
run_case('fast', 1);
run_case('immediate', 1);
run_case('fast', 0);
run_case('immediate', 0);
run_case('immediate', 0, 1);

done_testing();
