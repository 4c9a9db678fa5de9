# stagger_run_now() against a real scheduler: a manual run of an every-hour
# job starts within a second of the commit and is the row whose id the call
# returned (matched by the worker's pid); the overlap policy skips it while a
# run goes (recorded, reason visible); an exclusive group skips it while a
# member runs; a plain role runs its own jobs and not another role's; a
# rolled-back call runs nothing; a job deleted before the run starts gets a
# skipped row; a launcher terminated between the call and the start does not
# lose the run, and it runs exactly once.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use JobStagger::Test;

my $node = new_js_node('run_now');

$node->safe_psql('postgres', q{
	CREATE ROLE rn_a LOGIN;
	CREATE ROLE rn_b LOGIN;
	CREATE TABLE public.rn_log (job text, pid integer, started timestamptz, ended timestamptz);
	GRANT INSERT ON public.rn_log TO rn_a, rn_b;
});

sub command
{
	my ($job, $secs) = @_;
	return "INSERT INTO public.rn_log SELECT '$job', pg_backend_pid(), s, clock_timestamp() "
	  . "FROM (SELECT clock_timestamp() AS s, pg_sleep($secs)) x";
}

sub schedule
{
	my ($role, $job, $secs, $extra) = @_;
	$extra //= '';
	$node->safe_psql('postgres', "SET ROLE $role; SELECT stagger_schedule('$job', '0 * * * *', \$\$"
		  . command($job, $secs) . "\$\$$extra)");
}

sub run_now
{
	my ($role, $job) = @_;
	return $node->safe_psql('postgres', "SET ROLE $role; SELECT stagger_run_now('$job')");
}

sub final
{
	my ($runid) = @_;
	wait_for($node, qq{SELECT status NOT IN ('starting', 'running') FROM job_stagger.job_run_details
		WHERE runid = $runid}, "run $runid ended");
}

sub report
{
	return $node->safe_psql('postgres', q{
		SELECT string_agg(runid || ' ' || job_name || ' ' || triggered_by || ' ' || status || ' due ' || scheduled_at
		                  || ' started ' || coalesce(started_at::text, '-') || ': ' || coalesce(return_message, ''),
		                  E'\n' ORDER BY runid) FROM job_stagger.job_run_details});
}

schedule('rn_a', 'hourly', 0);
schedule('rn_a', 'long', 3);
schedule('rn_a', 'grp_1', 3, ", exclusive_group => 'g'");
schedule('rn_a', 'grp_2', 0, ", exclusive_group => 'g'");
schedule('rn_b', 'b_job', 0);

# 1. an every-hour job runs now: within a second, and the returned row is the run
my $r1 = run_now('rn_a', 'hourly');
final($r1);
is($node->safe_psql('postgres', qq{
	SELECT d.status || ' ' || d.triggered_by || ' ' || d.attempt || ' ' || (d.started_at - d.scheduled_at < interval '1 s')
	       || ' ' || (SELECT count(*) FROM public.rn_log l WHERE l.job = 'hourly' AND l.pid = d.pid)
	  FROM job_stagger.job_run_details d WHERE d.runid = $r1}),
	'succeeded manual 1 true 1', 'run now: the returned run started within a second, succeeded, and is the one that ran');
is($node->safe_psql('postgres', q{SELECT count(*) FROM job_stagger.job_run_details WHERE job_name = 'hourly'}),
	'1', 'only the manual run (the schedule is untouched)');

# 2. overlap skip: a second manual run while the first still runs is recorded skipped, naming it
my $l1 = run_now('rn_a', 'long');
wait_for($node, qq{SELECT status = 'running' FROM job_stagger.job_run_details WHERE runid = $l1}, 'long run going');
my $l2 = run_now('rn_a', 'long');
final($l2);
is($node->safe_psql('postgres', qq{SELECT status || ': ' || return_message FROM job_stagger.job_run_details
	WHERE runid = $l2}), "skipped: skipped: the previous run (runid $l1) is still running",
	'overlap skip: the manual run is recorded skipped with the reason');
final($l1);
is($node->safe_psql('postgres', qq{SELECT status FROM job_stagger.job_run_details WHERE runid = $l1}), 'succeeded',
	'the first run went on');

# 3. exclusive group: grp_2 skipped while grp_1 holds group g
my $g1 = run_now('rn_a', 'grp_1');
wait_for($node, qq{SELECT status = 'running' FROM job_stagger.job_run_details WHERE runid = $g1}, 'grp_1 going');
my $g2 = run_now('rn_a', 'grp_2');
final($g2);
like($node->safe_psql('postgres', qq{SELECT status || ': ' || return_message FROM job_stagger.job_run_details
	WHERE runid = $g2}), qr/^skipped: skipped: exclusive group "g" is busy: run $g1 of job \d+ is running/,
	'exclusive group respected by a manual run');
final($g1);

# 4. roles: rn_b cannot run rn_a's job (by name or id), runs its own
my ($ret, $out, $err) = $node->psql('postgres', "SET ROLE rn_b; SELECT stagger_run_now('hourly')");
like($err, qr/job "hourly" does not exist/, "a plain role cannot run another role's job by name");
my $hourly_id = $node->safe_psql('postgres', q{SELECT jobid FROM job_stagger.jobs WHERE job_name = 'hourly'});
($ret, $out, $err) = $node->psql('postgres', "SET ROLE rn_b; SELECT stagger_run_now(${hourly_id}::bigint)");
like($err, qr/job $hourly_id does not exist/, "nor by id");
my $b1 = run_now('rn_b', 'b_job');
final($b1);
is($node->safe_psql('postgres', qq{SELECT status || ' ' || username FROM job_stagger.job_run_details
	WHERE runid = $b1}), 'succeeded rn_b', 'a plain role runs its own job');

# 5. rollback: nothing runs
$node->safe_psql('postgres', q{SET ROLE rn_b; BEGIN; SELECT stagger_run_now('b_job'); ROLLBACK;});
sleep 2;
is($node->safe_psql('postgres', q{SELECT count(*) FROM job_stagger.job_run_details WHERE job_name = 'b_job'}) . ' '
	  . $node->safe_psql('postgres', q{SELECT count(*) FROM public.rn_log WHERE job = 'b_job'}),
	'1 1', 'a rolled-back stagger_run_now runs nothing');

# 6. the job is deleted before its run starts: recorded skipped
schedule('rn_b', 'doomed', 0);
my $d1 = $node->safe_psql('postgres',
	q{SET ROLE rn_b; BEGIN; SELECT stagger_run_now('doomed'); SELECT stagger_unschedule('doomed') \g /dev/null
	  COMMIT;});
final($d1);
is($node->safe_psql('postgres', qq{SELECT status || ': ' || return_message FROM job_stagger.job_run_details
	WHERE runid = $d1}), 'skipped: skipped: the job was unscheduled before this manual run began',
	'a job deleted before its manual run started: skipped');

# 7. the launcher is terminated between the call and the start: the run happens, once
my $launcher = $node->safe_psql('postgres',
	q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'job_stagger launcher'});
my $k1 = $node->safe_psql('postgres', qq{
	BEGIN;
	SET ROLE rn_a;
	SELECT stagger_run_now('hourly');
	RESET ROLE;
	SELECT pg_terminate_backend($launcher) \\g /dev/null
	DO \$\$ BEGIN
	    FOR i IN 1 .. 100 LOOP
	        EXIT WHEN NOT EXISTS (SELECT FROM pg_stat_activity WHERE pid = $launcher);
	        PERFORM pg_sleep(0.05);
	        PERFORM pg_stat_clear_snapshot();
	    END LOOP;
	END \$\$;
	SELECT count(*) FROM pg_stat_activity WHERE pid = $launcher \\g /dev/null
	COMMIT;});
wait_for($node, qq{SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'job_stagger launcher'
	AND pid <> $launcher}, 'a new launcher started');
final($k1);
sleep 2;
is($node->safe_psql('postgres', qq{
	SELECT d.status || ' ' || (SELECT count(*) FROM public.rn_log l WHERE l.job = 'hourly' AND l.pid = d.pid)
	       || ' ' || (SELECT count(*) FROM public.rn_log l WHERE l.job = 'hourly')
	       || ' ' || (SELECT count(*) FROM job_stagger.job_run_details WHERE job_name = 'hourly')
	  FROM job_stagger.job_run_details d WHERE d.runid = $k1}),
	'succeeded 1 2 2', 'a launcher restart between the call and the start: the run happens exactly once');

diag(report()) if !Test::More->builder->is_passing;
$node->stop;
done_testing();
