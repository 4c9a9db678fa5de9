# A job belongs to its role's OID: when the role is dropped the launcher
# deactivates the job and says so; a new role created under the same name
# inherits nothing, until a superuser gives it the job explicitly.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use JobStagger::Test;

my $node = new_js_node('dropped');
$node->safe_psql('postgres', q{
	CREATE TABLE ticks (who text DEFAULT current_user, at timestamptz DEFAULT clock_timestamp());
	CREATE ROLE role_c LOGIN;
	GRANT INSERT ON ticks TO role_c;
	SET ROLE role_c;
	SELECT stagger_schedule('c_tick', '* * * * * *', 'INSERT INTO ticks DEFAULT VALUES');
});
my ($jobid, $old_oid) = query_row($node, q{
	SELECT j.jobid, j.roleid FROM job_stagger.jobs j WHERE job_name = 'c_tick'});
wait_for($node, q{SELECT count(*) >= 2 FROM ticks WHERE who = 'role_c'}, 'the role\'s job runs');
my $log_offset = -s $node->logfile;

$node->safe_psql('postgres', q{DROP OWNED BY role_c; DROP ROLE role_c});
my $dropped_at = $node->safe_psql('postgres', q{SELECT clock_timestamp()});
wait_for($node, qq{SELECT NOT active AND roleid = 0 FROM job_stagger.jobs WHERE jobid = $jobid},
	'the job of the dropped role is deactivated (and detached from its OID)');
ok($node->log_contains(
		qr/WARNING:  job_stagger: job $jobid "c_tick" deactivated: its role "role_c" \(OID $old_oid\) was dropped/,
		$log_offset),
	'one WARNING names the job, the role and its OID');
ok($node->log_contains(qr/HINT:  A superuser can give the job to an existing role: SELECT stagger_alter_job\($jobid, username => 'role_name', active => true\);/,
		$log_offset),
	'with a HINT how to give it to another role');
my $warnings = () = slurp_file($node->logfile, $log_offset) =~ /job $jobid "c_tick" deactivated/g;
is($warnings, 1, 'the WARNING is logged once');
is($node->safe_psql('postgres', qq{
	SELECT count(*) FROM job_stagger.job_run_details
	 WHERE jobid = $jobid AND scheduled_at > '$dropped_at'::timestamptz + interval '2 seconds'
	   AND NOT (status = 'failed' AND return_message LIKE 'role "role_c" (OID $old_oid) no longer exists%')}),
	'0', 'no run after the drop (a slot due meanwhile is recorded as failed)');

# A new role under the old name.
$node->safe_psql('postgres', q{CREATE ROLE role_c LOGIN; GRANT INSERT ON ticks TO role_c});
my $new_oid = $node->safe_psql('postgres', q{SELECT oid FROM pg_roles WHERE rolname = 'role_c'});
isnt($new_oid, $old_oid, 'the new role_c is another role');
my $created_at = $node->safe_psql('postgres', q{SELECT clock_timestamp()});
sleep(4);
is($node->safe_psql('postgres', qq{SELECT count(*) FROM ticks WHERE at > '$created_at'}), '0',
	'nothing runs as the new role_c');
is($node->safe_psql('postgres', qq{SELECT count(*) FROM job_stagger.job_run_details WHERE roleid = $new_oid}), '0',
	'no run is recorded for the new role_c');
is($node->safe_psql('postgres', q{
	SET ROLE role_c;
	SELECT (SELECT count(*) FROM job_stagger.jobs) + (SELECT count(*) FROM job_stagger.job_run_details)}),
	'0', 'the new role_c sees none of the old role\'s jobs or runs');

# The HINT works: a superuser gives the job to the new role explicitly.
$node->safe_psql('postgres', qq{SELECT stagger_alter_job(${jobid}::bigint, username => 'role_c', active => true)});
wait_for($node, qq{SELECT count(*) > 0 FROM ticks WHERE who = 'role_c' AND at > '$created_at'},
	'given to the new role by a superuser, the job runs as that role');
is($node->safe_psql('postgres', qq{SELECT roleid FROM job_stagger.jobs WHERE jobid = $jobid}), $new_oid,
	'the job now belongs to the new role\'s OID');

$node->stop;
done_testing();
