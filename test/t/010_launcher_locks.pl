# No lock anyone holds on job_stagger's tables stops the launcher or costs a
# slot: a blocked transaction times out (lock_timeout), is retried with what it
# had to record kept in memory, and the runs start once recorded. A blocked job
# reload keeps the previous jobs firing. The launcher never restarts.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use JobStagger::Test;

my $node = new_js_node('locks');
$node->safe_psql('postgres', q{
	CREATE ROLE plain_a LOGIN;
	CREATE ROLE other_b LOGIN;
	SELECT stagger_schedule('b_tick', '* * * * * *', 'SELECT 1', username => 'other_b');
	SELECT stagger_alter_job(jobid, overlap => 'allow') FROM job_stagger.jobs WHERE job_name = 'b_tick';
	SET ROLE plain_a;
	SELECT stagger_schedule('a_job', '*/2 * * * * *', 'SELECT 2');
	SELECT stagger_schedule('a_later', '0 0 1 1 *', 'SELECT 3');
});

sub launcher_pid
{
	return $node->safe_psql('postgres', q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'job_stagger launcher'});
}

# Every slot of b_tick up to $until has exactly one row, and it succeeded.
sub b_tick_complete
{
	my ($until) = @_;
	$node->poll_query_until('postgres', qq{
		SELECT count(*) = 0 FROM job_stagger.job_run_details
		 WHERE job_name = 'b_tick' AND scheduled_at <= '$until' AND status IN ('starting', 'running')})
	  or diag('b_tick runs still unfinished');
	return $node->safe_psql('postgres', qq{
		SELECT count(*) = count(DISTINCT scheduled_at)
		   AND count(*) = extract(epoch FROM max(scheduled_at) - min(scheduled_at)) + 1
		   AND bool_and(status = 'succeeded')
		  FROM job_stagger.job_run_details WHERE job_name = 'b_tick' AND scheduled_at <= '$until'});
}

wait_for($node, q{SELECT count(*) >= 3 FROM job_stagger.job_run_details WHERE job_name = 'b_tick' AND status = 'succeeded'},
	'the every-second job runs');
my $pid = launcher_pid();
my $log_offset = -s $node->logfile;

# 1. A superuser holds ACCESS EXCLUSIVE on the run history for ~8 s, while the
#    plain role keeps its own jobs rows locked.
my $plain = $node->background_psql('postgres');
$plain->query_safe(q{SET ROLE plain_a; BEGIN; SELECT jobid FROM job_stagger.jobs FOR UPDATE});
my $locker = $node->background_psql('postgres');
$locker->query_safe('SET client_min_messages = warning');
$locker->query_safe(q{BEGIN; LOCK TABLE job_stagger.job_run_details IN ACCESS EXCLUSIVE MODE});
my $locked_at = $node->safe_psql('postgres', q{SELECT clock_timestamp()});
sleep(8);
$locker->query_safe(q{COMMIT});
$plain->query_safe(q{ROLLBACK});
my $released_at = $node->safe_psql('postgres', q{SELECT clock_timestamp()});
my $check_until = $node->safe_psql('postgres', qq{SELECT '$released_at'::timestamptz + interval '3 seconds'});

wait_for($node, qq{
	SELECT count(*) > 0 FROM job_stagger.job_run_details
	 WHERE job_name = 'b_tick' AND status = 'succeeded' AND scheduled_at > '$check_until'},
	'runs go on after the lock is released');
is(b_tick_complete($check_until), 't',
	'every slot of the other role\'s job has exactly one succeeded row, the locked seconds included');
cmp_ok($node->safe_psql('postgres', qq{
	SELECT count(*) FROM job_stagger.job_run_details
	 WHERE job_name = 'b_tick' AND scheduled_at BETWEEN '$locked_at' AND '$released_at'}),
	'>=', 6, 'the seconds under the lock were recorded (late), not skipped');
is($node->safe_psql('postgres', q{
	SELECT count(*) = count(DISTINCT scheduled_at)
	   AND count(*) = extract(epoch FROM max(scheduled_at) - min(scheduled_at)) / 2 + 1
	  FROM job_stagger.job_run_details WHERE job_name = 'a_job'}),
	't', 'the plain role\'s job: one row per slot (late ones skipped by its overlap policy)');
ok($node->log_contains(qr/WARNING:  job_stagger: recording runs blocked by a lock \(will retry\): canceling statement due to lock timeout/,
		$log_offset), 'the log says what was blocked and that it retries');
ok($node->log_contains(qr/DETAIL:  The launcher keeps \d+ (?:due run\(s\) in memory|worker report\(s\) in shared memory)/,
		$log_offset),
	'... and what it keeps');
ok($node->log_contains(qr/LOG:  job_stagger: recording runs succeeded after \d+ retries/, $log_offset),
	'the log says when it got through');
my $warnings = () = slurp_file($node->logfile, $log_offset) =~ /recording runs blocked by a lock/g;
cmp_ok($warnings, '<=', 2, "the WARNING is rate-limited ($warnings in 8 s)");
is(launcher_pid(), $pid, 'the launcher did not restart');

# 2. ACCESS EXCLUSIVE on the jobs table by a transaction that changed a job,
#    while the launcher is asked to reload: the old jobs keep firing, the
#    reload is retried and sees the change once the lock is gone.
$log_offset = -s $node->logfile;
$locker->query_safe(q{
	BEGIN;
	UPDATE job_stagger.jobs SET schedule = '* * * * * *' WHERE job_name = 'a_later';
	LOCK TABLE job_stagger.jobs IN ACCESS EXCLUSIVE MODE});
$locked_at = $node->safe_psql('postgres', q{SELECT clock_timestamp()});
$node->safe_psql('postgres', q{SELECT job_stagger.wake_scheduler()});
sleep(8);
my $during = $node->safe_psql('postgres', qq{
	SELECT count(*) FROM job_stagger.job_run_details WHERE job_name = 'b_tick' AND scheduled_at > '$locked_at'});
cmp_ok($during, '>=', 4, "the jobs kept firing while the reload was blocked ($during runs)");
$locker->query_safe(q{COMMIT});
$released_at = $node->safe_psql('postgres', q{SELECT clock_timestamp()});
wait_for($node, q{SELECT count(*) > 0 FROM job_stagger.job_run_details WHERE job_name = 'a_later' AND status = 'succeeded'},
	'the change made under the lock takes effect once it is released');
ok($node->log_contains(qr/WARNING:  job_stagger: loading jobs blocked by a lock \(will retry\)/, $log_offset),
	'the log says the reload was blocked and is retried');
ok($node->log_contains(qr/DETAIL:  The jobs as last loaded keep firing; the reload is retried/, $log_offset),
	'... and that the old jobs keep firing');
$check_until = $node->safe_psql('postgres', qq{SELECT '$released_at'::timestamptz + interval '2 seconds'});
wait_for($node, qq{
	SELECT count(*) > 0 FROM job_stagger.job_run_details
	 WHERE job_name = 'b_tick' AND status = 'succeeded' AND scheduled_at > '$check_until'},
	'runs go on');
is(b_tick_complete($check_until), 't', 'still exactly one succeeded row per slot');
is(launcher_pid(), $pid, 'the launcher did not restart');

$plain->quit;
$locker->quit;
$node->stop;
done_testing();
