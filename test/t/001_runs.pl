# Jobs really run: at the right second, as their role, failures recorded,
# changes picked up without a restart, one history row per due slot.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use JobStagger::Test;

my $node = new_js_node('runs');
$node->safe_psql('postgres', q{
	CREATE TABLE ticks (at timestamptz DEFAULT clock_timestamp(), who text DEFAULT current_user);
	CREATE ROLE job_runner LOGIN;
	GRANT INSERT ON ticks TO job_runner;
	SELECT stagger_schedule('tick', '* * * * * *', 'INSERT INTO ticks DEFAULT VALUES', username => 'job_runner');
	SELECT stagger_schedule('boom', '*/2 * * * * *', 'SELECT 1/0');
	SELECT stagger_schedule('at_15_45', '15,45 * * * * *', 'SELECT 42');
	SELECT stagger_schedule('on_start', '@reboot', 'INSERT INTO ticks (who) VALUES (''reboot'')');
});

wait_for($node, q{SELECT count(*) >= 5 FROM job_stagger.job_run_details WHERE job_name = 'tick' AND status = 'succeeded'},
	'every-second job runs');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM job_stagger.job_run_details
	 WHERE job_name = 'tick' AND status = 'succeeded' AND date_trunc('second', started_at) <> scheduled_at}),
	'0', 'every run started within the second it was scheduled for');
is($node->safe_psql('postgres', q{SELECT string_agg(DISTINCT who, ',') FROM ticks WHERE who <> 'reboot'}),
	'job_runner', 'the command runs as the job role');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM job_stagger.job_run_details
	 WHERE job_name = 'tick' AND scheduled_at <> date_trunc('second', scheduled_at)}),
	'0', 'fire instants are whole seconds');

wait_for($node, q{SELECT count(*) >= 2 FROM job_stagger.job_run_details WHERE job_name = 'boom' AND status = 'failed'},
	'failing job is recorded');
is($node->safe_psql('postgres', q{
	SELECT DISTINCT return_message || ' ' || (extract(second FROM scheduled_at)::int % 2)
	  FROM job_stagger.job_run_details WHERE job_name = 'boom' AND status = 'failed'}),
	'division by zero 0', 'failure keeps the error text; */2 fires at even seconds');
is($node->safe_psql('postgres', q{SELECT count(*) FROM job_stagger.job_run_details WHERE job_name = 'tick' AND status = 'failed'}),
	'0', 'a failing job does not disturb the others');

is($node->safe_psql('postgres', q{SELECT count(*) FROM ticks WHERE who = 'reboot'}), '0',
	'@reboot job does not run when created, only when the scheduler starts');

wait_for($node, q{SELECT count(*) >= 1 FROM job_stagger.job_run_details WHERE job_name = 'at_15_45' AND status = 'succeeded'},
	'6-field job at seconds 15 and 45 runs');
is($node->safe_psql('postgres', q{
	SELECT bool_and(extract(second FROM scheduled_at) IN (15, 45) AND date_trunc('second', started_at) = scheduled_at
	                AND return_message = 'SELECT 1')
	  FROM job_stagger.job_run_details WHERE job_name = 'at_15_45' AND status = 'succeeded'}),
	't', '6-field job starts at its second and records the command tag');

# Runs are visible in pg_stat_activity while they run.
$node->safe_psql('postgres', q{SELECT stagger_schedule('sleeper', '* * * * * *', 'SELECT pg_sleep(3)')});
wait_for($node, q{
	SELECT count(*) > 0 FROM pg_stat_activity
	 WHERE backend_type = 'job_stagger job' AND query LIKE '%pg_sleep(3)%'
	   AND application_name = 'job_stagger job ' || (SELECT jobid FROM job_stagger.jobs WHERE job_name = 'sleeper')},
	'a running job shows in pg_stat_activity with backend type and application_name');
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'job_stagger launcher'}),
	'1', 'one launcher');

# A new job takes effect at once: its first slot is at most a couple of seconds away.
my $created = $node->safe_psql('postgres', q{
	SELECT extract(epoch FROM clock_timestamp()) FROM (SELECT stagger_schedule('late_comer', '* * * * * *', 'SELECT 1')) s});
wait_for($node, q{SELECT count(*) > 0 FROM job_stagger.job_run_details WHERE job_name = 'late_comer' AND status = 'succeeded'},
	'a job scheduled while the scheduler runs is picked up');
cmp_ok($node->safe_psql('postgres', q{
	SELECT extract(epoch FROM min(scheduled_at)) FROM job_stagger.job_run_details WHERE job_name = 'late_comer'}) - $created,
	'<=', 3, 'first run of a new job within seconds of its creation');

# Unschedule: no slot after it, and the history keeps what ran.
my $removed = $node->safe_psql('postgres', q{
	SELECT extract(epoch FROM clock_timestamp()) FROM (SELECT stagger_unschedule('tick')) s});
sleep(3);
is($node->safe_psql('postgres', qq{
	SELECT count(*) FROM job_stagger.job_run_details
	 WHERE job_name = 'tick' AND scheduled_at > to_timestamp($removed) + interval '2 seconds'}),
	'0', 'no run after unschedule (beyond the slots already handed out)');

# Deactivate and alter: changes take effect without a restart.
$node->safe_psql('postgres', q{SELECT stagger_alter_job('boom', active => false)});
my $deactivated = $node->safe_psql('postgres', q{SELECT extract(epoch FROM clock_timestamp())});
$node->safe_psql('postgres', q{SELECT stagger_alter_job('at_15_45', schedule => '* * * * * *')});
sleep(3);
is($node->safe_psql('postgres', qq{
	SELECT count(*) FROM job_stagger.job_run_details
	 WHERE job_name = 'boom' AND scheduled_at > to_timestamp($deactivated) + interval '2 seconds'}),
	'0', 'inactive job does not run');
cmp_ok($node->safe_psql('postgres', qq{
	SELECT count(*) FROM job_stagger.job_run_details
	 WHERE job_name = 'at_15_45' AND scheduled_at > to_timestamp($deactivated) + interval '1 second'}),
	'>=', 1, 'altered schedule is used at once');

# Each due slot exactly once, and none missing: the late_comer job has one row
# for every second between its first and its last run.
is($node->safe_psql('postgres', q{
	SELECT count(*) = count(DISTINCT scheduled_at)
	   AND count(*) = extract(epoch FROM max(scheduled_at) - min(scheduled_at)) + 1
	  FROM job_stagger.job_run_details WHERE job_name = 'late_comer' AND status <> 'starting'}),
	't', 'one row per due slot, no gaps, no duplicates');

# The database of a job is dropped: its slots are recorded 'failed' (no
# worker is started), one row each, and the scheduler goes on with the rest.
$node->safe_psql('postgres', q{
	CREATE DATABASE doomed;
	SELECT stagger_schedule('in_doomed', '* * * * * *', 'SELECT 1', database => 'doomed');
});
wait_for($node, q{SELECT count(*) >= 1 FROM job_stagger.job_run_details WHERE job_name = 'in_doomed' AND status = 'succeeded'},
	'a job runs in its own database');
$node->safe_psql('postgres', 'DROP DATABASE doomed WITH (FORCE)');
my $dropped = $node->safe_psql('postgres', 'SELECT extract(epoch FROM clock_timestamp())');
wait_for($node, qq{SELECT count(*) >= 2 FROM job_stagger.job_run_details
	 WHERE job_name = 'in_doomed' AND status = 'failed' AND scheduled_at > to_timestamp($dropped) + interval '1 second'},
	'slots of a job whose database was dropped are recorded failed');
like($node->safe_psql('postgres', qq{SELECT return_message FROM job_stagger.job_run_details
	 WHERE job_name = 'in_doomed' AND status = 'failed' ORDER BY runid DESC LIMIT 1}),
	qr/doomed/, 'the failure names the database');
is($node->safe_psql('postgres', qq{
	SELECT count(*) = count(DISTINCT scheduled_at) FROM job_stagger.job_run_details WHERE job_name = 'in_doomed'}),
	't', 'one row per slot of the job whose database was dropped');
cmp_ok($node->safe_psql('postgres', qq{SELECT count(*) FROM job_stagger.job_run_details
	 WHERE job_name = 'late_comer' AND status = 'succeeded' AND scheduled_at > to_timestamp($dropped) + interval '1 second'}),
	'>=', 1, 'the other jobs go on');
$node->safe_psql('postgres', q{SELECT stagger_unschedule('in_doomed')});

# @reboot jobs run once when the server (and with it the scheduler) starts.
$node->restart;
wait_for($node, q{SELECT count(*) = 1 FROM ticks WHERE who = 'reboot'}, '@reboot job ran at start');
is($node->safe_psql('postgres', q{SELECT status, triggered_by FROM job_stagger.job_run_details WHERE job_name = 'on_start'}),
	'succeeded|reboot', '@reboot run is recorded once');

$node->stop;
done_testing();
