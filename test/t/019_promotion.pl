# Promotion of a streaming standby: the slot the old primary had recorded
# 'starting' (prestarted, not yet begun) runs on the new primary instead of
# being closed as crashed; catching up does not skip the next slots; every slot
# has exactly one history row and at most one effect; with synchronous
# replication a slot has an effect exactly when its row says it ran.
# Cases: fast and immediate stop of the primary, synchronous and asynchronous
# replication, and an asynchronous standby that lags 3 s behind.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JobStagger::Test;

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
	$primary->backup('base');
	my $standby = PostgreSQL::Test::Cluster->new("s_$tag");
	$standby->init_from_backup($primary, 'base', has_streaming => 1);
	$standby->append_conf('postgresql.conf', "cluster_name = 's_$tag'\n");
	$standby->start;
	$primary->wait_for_catchup($standby);
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

run_case('fast', 1);
run_case('immediate', 1);
run_case('fast', 0);
run_case('immediate', 0);
run_case('immediate', 0, 1);

done_testing();
