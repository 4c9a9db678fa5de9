# Nothing is lost: a terminated or killed job backend is recorded as crashed,
# a server restart closes runs in flight, slots missed while the server was
# down are recorded, and the launcher itself comes back after a crash and
# adopts the runs still going.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use JobStagger::Test;

my $node = new_js_node('crash', conf => "job_stagger.catchup_window = 0\nrestart_after_crash = on\n");

# application_name of a run: 'job_stagger job <jobid>' (no job name).
sub appname_of
{
	my ($job) = @_;
	return $node->safe_psql('postgres', qq{SELECT 'job_stagger job ' || jobid FROM job_stagger.jobs WHERE job_name = '$job'});
}

sub pid_of
{
	my ($job) = @_;
	my $app = appname_of($job);
	$node->poll_query_until('postgres', qq{
		SELECT count(*) = 1 FROM pg_stat_activity WHERE application_name = '$app' AND state = 'active'})
	  or die "job $job is not running";
	return $node->safe_psql('postgres', qq{
		SELECT pid FROM pg_stat_activity WHERE application_name = '$app' AND state = 'active'});
}

# A job backend terminated with SIGTERM (pg_terminate_backend).
$node->safe_psql('postgres', q{SELECT stagger_schedule('victim', '* * * * * *', 'SELECT pg_sleep(60)')});
my $pid = pid_of('victim');
$node->safe_psql('postgres', qq{SELECT pg_terminate_backend($pid)});
wait_for($node, qq{SELECT count(*) = 1 FROM job_stagger.job_run_details WHERE pid = $pid AND status = 'crashed'},
	'terminated job backend is recorded as crashed');
like($node->safe_psql('postgres', qq{SELECT return_message FROM job_stagger.job_run_details WHERE pid = $pid}),
	qr/^job worker exited while running the command: terminating background worker .* due to administrator command$/,
	'crash message says what happened');
ok($node->safe_psql('postgres', q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'job_stagger launcher'}) == 1,
	'launcher unaffected');

# A job backend killed with SIGKILL: the postmaster restarts everything; the
# run is closed as crashed when the scheduler comes back.
$pid = pid_of('victim');
kill 'KILL', $pid;
wait_for($node, qq{SELECT count(*) = 1 FROM job_stagger.job_run_details WHERE pid = $pid AND status = 'crashed'},
	'killed job backend is recorded as crashed after crash recovery');
# The run was recorded 'running': its command may have committed before the
# crash, so it is not run again and its outcome is unknown. (Runs still
# 'starting' never began: they run again, see 019_promotion.pl.)
is($node->safe_psql('postgres', qq{SELECT return_message FROM job_stagger.job_run_details WHERE pid = $pid}),
	'the server stopped (shutdown, crash or failover) while the run was in progress: its outcome is unknown (the command may have committed)',
	'crash recovery message');
my $victim_app = appname_of('victim');
wait_for($node, qq{SELECT count(*) = 1 FROM pg_stat_activity WHERE application_name = '$victim_app'},
	'scheduling goes on after crash recovery');
$node->safe_psql('postgres', q{SELECT stagger_unschedule('victim')});
$node->poll_query_until('postgres', q{SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'job_stagger job'});
$node->safe_psql('postgres', qq{
	SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '$victim_app'});

# Unschedule while running: the run finishes and is recorded.
$node->safe_psql('postgres', q{SELECT stagger_schedule('leaving', '* * * * * *', 'SELECT pg_sleep(2)')});
$pid = pid_of('leaving');
$node->safe_psql('postgres', q{SELECT stagger_unschedule('leaving')});
wait_for($node, qq{SELECT status = 'succeeded' FROM job_stagger.job_run_details WHERE pid = $pid},
	'a run in progress when its job is unscheduled finishes and is recorded');

# Server restart while a run is in progress, with slots falling due while the
# server is down: the run is closed, each missed slot has a row.
$node->safe_psql('postgres', q{SELECT stagger_schedule('steady', '* * * * * *', 'SELECT pg_sleep(0.2)')});
$node->safe_psql('postgres', q{SELECT stagger_schedule('long', '* * * * * *', 'SELECT pg_sleep(60)')});
$pid = pid_of('long');
my $before = $node->safe_psql('postgres', q{SELECT max(scheduled_at) FROM job_stagger.job_run_details WHERE job_name = 'steady'});
$node->stop('fast');
sleep(4);
$node->start;
wait_for($node, qq{SELECT status = 'crashed' FROM job_stagger.job_run_details WHERE pid = $pid},
	'run in progress at shutdown is closed as crashed');
wait_for($node, q{
	SELECT count(*) > 0 FROM job_stagger.job_run_details
	 WHERE job_name = 'steady' AND status = 'skipped' AND return_message LIKE 'missed%'},
	'slots due while the server was down are recorded as missed');
wait_for($node, qq{SELECT count(*) >= 2 FROM job_stagger.job_run_details WHERE job_name = 'steady' AND status = 'succeeded' AND scheduled_at > '$before'::timestamptz + interval '4 seconds'},
	'the job runs again after the restart');
is($node->safe_psql('postgres', qq{
	SELECT count(*) = count(DISTINCT scheduled_at)
	   AND count(*) = extract(epoch FROM max(scheduled_at) - min(scheduled_at)) + 1
	  FROM job_stagger.job_run_details WHERE job_name = 'steady' AND status <> 'starting'}),
	't', 'across the restart every slot has exactly one row');
$node->safe_psql('postgres', q{SELECT stagger_unschedule('long')});

# The launcher itself crashes (ERROR exit) and restarts: runs in flight are
# adopted, not closed, and the schedule continues without gaps or repeats.
$node->safe_psql('postgres', q{ALTER SYSTEM SET job_stagger.catchup_window = 60; SELECT pg_reload_conf();});
$node->safe_psql('postgres', q{SELECT stagger_schedule('adopted', '* * * * * *', 'SELECT pg_sleep(3)')});
$pid = pid_of('adopted');
my $launcher = $node->safe_psql('postgres', q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'job_stagger launcher'});
$node->safe_psql('postgres', qq{SELECT pg_terminate_backend($launcher)});
wait_for($node, qq{
	SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'job_stagger launcher' AND pid <> $launcher},
	'launcher restarts after it died');
wait_for($node, qq{SELECT status = 'succeeded' FROM job_stagger.job_run_details WHERE pid = $pid},
	'a run adopted by the new launcher is recorded when it ends');
wait_for($node, qq{
	SELECT count(*) >= 3 FROM job_stagger.job_run_details WHERE job_name = 'steady' AND status = 'succeeded'
	   AND scheduled_at > (SELECT max(scheduled_at) FROM job_stagger.job_run_details WHERE pid = $pid)},
	'scheduling continues under the new launcher');
is($node->safe_psql('postgres', qq{
	SELECT count(*) = count(DISTINCT scheduled_at)
	   AND count(*) = extract(epoch FROM max(scheduled_at) - min(scheduled_at)) + 1
	  FROM job_stagger.job_run_details WHERE job_name = 'steady' AND status <> 'starting'}),
	't', 'a launcher restart loses and repeats no slot');

$node->stop;
done_testing();
