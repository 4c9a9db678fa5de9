# pg_dump -Fc / pg_restore of the metadata database keeps every job as it was
# (all columns of job_stagger.jobs, whatever columns later versions add: the
# offsets, whether they are pinned, the per-job settings, owner and times),
# the jobid sequence and job_stagger.offset_changes; the run history is left
# out (it is not part of the extension's dump) and can be kept with a second
# pg_dump -t (README "Backup and restore"). Restored into a new database of
# the same cluster and into a new cluster where the roles have other OIDs
# (roleid is resolved again from username), with no error and no NOTICE, and
# the scheduler of the new cluster runs the restored jobs.
use strict;
use warnings;
use IPC::Run;
use PostgreSQL::Test::Utils;
use Test::More;
use JobStagger::Test;

# Runs a client program; returns (exit code, stdout, stderr).
sub run_prog
{
	my @cmd = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run(\@cmd, '>', \$out, '2>', \$err);
	return ($? >> 8, $out, $err);
}

# Every job, all columns, roleid shown as the role's name (OIDs differ between clusters).
my $jobs_sql = q{
	SELECT jsonb_set(to_jsonb(j) - 'roleid', '{role}', to_jsonb(coalesce(r.rolname, '(role ' || j.roleid || ')')))
	  FROM job_stagger.jobs j LEFT JOIN pg_roles r ON r.oid = j.roleid ORDER BY j.jobid};
my $changes_sql = q{
	SELECT jsonb_set(to_jsonb(c) - 'roleid', '{role}', to_jsonb(coalesce(r.rolname, '(role ' || c.roleid || ')')))
	  FROM job_stagger.offset_changes c LEFT JOIN pg_roles r ON r.oid = c.roleid ORDER BY c.changeid};
my $seq_sql = q{SELECT last_value, is_called FROM job_stagger.jobs_jobid_seq};

my $src = new_js_node('src', conf => "job_stagger.enabled = on\n");
$src->safe_psql('postgres', q{
	CREATE ROLE alice LOGIN;
	CREATE ROLE bob LOGIN;
	CREATE DATABASE work;
	CREATE TABLE ticks (job text, who text DEFAULT current_user, at timestamptz DEFAULT clock_timestamp());
	GRANT INSERT ON ticks TO PUBLIC;
	SELECT stagger_schedule('pinned', '*/5 * * * *', 'SELECT 1', offset_seconds => 17);
	SELECT stagger_schedule('placed', '*/5 * * * *', 'SELECT 2');
	SELECT stagger_schedule('settings', '* * * * *', 'SELECT pg_sleep(1)');
	SELECT stagger_alter_job('settings', overlap => 'allow', timeout => '45 seconds');
	SELECT stagger_schedule('grouped_a', '*/10 * * * *', 'SELECT 3', exclusive_group => 'nightly', group_policy => 'wait');
	SELECT stagger_schedule('grouped_b', '*/10 * * * *', 'SELECT 4', exclusive_group => 'nightly');
	SELECT stagger_schedule('paused', '0 3 * * *', 'SELECT 5', active => false);
	SELECT stagger_schedule('other_db', '0 4 * * *', 'SELECT 6', database => 'work');
	SELECT stagger_schedule('gone', '0 5 * * *', 'SELECT 7');
	SELECT stagger_unschedule('gone');
	SET ROLE alice;
	SELECT stagger_schedule('tick', '* * * * * *', $$INSERT INTO ticks (job) VALUES ('tick')$$);
	SELECT stagger_schedule('hourly', '0 * * * *', 'SELECT 8');
	RESET ROLE;
	SET ROLE bob;
	SELECT stagger_schedule('hourly', '30 * * * *', 'SELECT 9');
	RESET ROLE;
});
# Two unpinned jobs on one second, for the optimiser to move one (an offset_changes row).
$src->safe_psql('postgres', q{
	UPDATE job_stagger.jobs SET offset_seconds = 17 WHERE job_name = 'placed';
	UPDATE job_stagger.jobs SET offset_pinned = false WHERE job_name = 'placed';
	UPDATE job_stagger.jobs SET offset_seconds = 17, timeout = NULL WHERE job_name = 'settings';
	UPDATE job_stagger.jobs SET offset_pinned = false, timeout = '45 seconds' WHERE job_name = 'settings';
	UPDATE job_stagger.jobs SET offset_pinned = false WHERE job_name = 'pinned';
	SELECT stagger_optimize(apply => true);
	UPDATE job_stagger.jobs SET offset_pinned = true WHERE job_name = 'pinned';
	SET ROLE alice;
	SELECT stagger_schedule('quarter', '*/15 * * * *', 'SELECT 11', offset_seconds => 40);
	SELECT stagger_schedule('half', '*/30 * * * *', 'SELECT 12', offset_seconds => 40);
	UPDATE job_stagger.jobs SET offset_pinned = false WHERE job_name IN ('quarter', 'half');
	SELECT stagger_optimize(apply => true);
});
wait_for($src, q{SELECT count(*) >= 2 FROM job_stagger.job_run_details WHERE job_name = 'tick' AND status = 'succeeded'},
	'the source has run history');
my $src_jobs = $src->safe_psql('postgres', $jobs_sql);
my $src_changes = $src->safe_psql('postgres', $changes_sql);
my $src_seq = $src->safe_psql('postgres', $seq_sql);
is($src->safe_psql('postgres', q{SELECT count(DISTINCT offset_pinned) FROM job_stagger.jobs}), '2',
	'the source has pinned and unpinned jobs');
is($src->safe_psql('postgres', q{SELECT string_agg(DISTINCT username, ',' ORDER BY username) FROM job_stagger.offset_changes}),
	'alice,postgres', 'the source has offset changes (stagger_optimize) of two roles');

my $dump = $PostgreSQL::Test::Utils::tmp_check . '/src.dump';
my ($rc, $out, $err) = run_prog('pg_dump', '-Fc', '-h', $src->host, '-p', $src->port, '-d', 'postgres', '-f', $dump);
is($rc, 0, 'pg_dump -Fc succeeds');
is($err, '', '... silently');
# The history, kept separately (README): it is not in the extension's dump.
my $history = $PostgreSQL::Test::Utils::tmp_check . '/history.copy';
$src->safe_psql('postgres', qq{COPY job_stagger.job_run_details TO '$history'});
my $src_runs = $src->safe_psql('postgres', qq{SELECT count(*) FROM job_stagger.job_run_details});

# 1. A new database in the same cluster (not the metadata database: its jobs are data there, not scheduled).
$src->safe_psql('postgres', q{CREATE DATABASE copy});
($rc, $out, $err) = run_prog('pg_restore', '-h', $src->host, '-p', $src->port, '-d', 'copy', $dump);
is($rc, 0, 'pg_restore into a new database of the same cluster succeeds');
is($err, '', '... with no error, WARNING or NOTICE');
is($src->safe_psql('copy', $jobs_sql), $src_jobs, 'every job comes back identical, all columns');
is($src->safe_psql('copy', $seq_sql), $src_seq, 'the jobid sequence continues where it was');
is($src->safe_psql('copy', $changes_sql), $src_changes, 'offset_changes comes back identical');
is($src->safe_psql('copy', q{SELECT count(*) FROM job_stagger.job_run_details}), '0',
	'the history is left out of the dump');

# 2. A new cluster: roles created in another order (other OIDs), restored into a new database that is its
# job_stagger.database_name.
my $dst = new_js_node('dst', no_extension => 1, conf => "job_stagger.database_name = 'jobs'\njob_stagger.enabled = on\n");
$dst->safe_psql('postgres', q{
	CREATE ROLE unrelated;
	CREATE ROLE bob LOGIN;
	CREATE ROLE alice LOGIN;
	CREATE DATABASE work;
	CREATE DATABASE jobs;
});
isnt($dst->safe_psql('postgres', q{SELECT oid FROM pg_roles WHERE rolname = 'alice'}),
	$src->safe_psql('postgres', q{SELECT oid FROM pg_roles WHERE rolname = 'alice'}),
	'alice has another OID in the new cluster');
($rc, $out, $err) = run_prog('pg_restore', '-h', $dst->host, '-p', $dst->port, '-d', 'jobs', $dump);
is($rc, 0, 'pg_restore into a new cluster succeeds');
is($err, '', '... with no error, WARNING or NOTICE');
is($dst->safe_psql('jobs', $jobs_sql), $src_jobs, 'every job comes back identical, roleid resolved from username');
is($dst->safe_psql('jobs', q{SELECT count(*) FROM job_stagger.jobs j JOIN pg_roles r ON r.oid = j.roleid AND r.rolname = j.username}),
	$src->safe_psql('postgres', q{SELECT count(*) FROM job_stagger.jobs}), 'every roleid is the OID of its username');
is($dst->safe_psql('jobs', $changes_sql), $src_changes, 'offset_changes comes back, roleid resolved from username');
is($dst->safe_psql('jobs', $seq_sql), $src_seq, 'the jobid sequence continues where it was');
is($dst->safe_psql('jobs', q{
	SET ROLE alice; SELECT string_agg(job_name, ',' ORDER BY job_name) FROM job_stagger.jobs}), 'half,hourly,quarter,tick',
	'alice sees her own jobs (row-level security by the new OID)');

# The history, restored on top (README), with the roleids of this cluster and its sequence.
$dst->safe_psql('jobs', qq{
	BEGIN;
	COPY job_stagger.job_run_details FROM '$history';
	UPDATE job_stagger.job_run_details d SET roleid = r.oid FROM pg_roles r
	 WHERE r.rolname = d.username AND d.roleid IS DISTINCT FROM r.oid;
	SELECT setval('job_stagger.job_run_details_runid_seq', max(runid)) FROM job_stagger.job_run_details;
	COMMIT;
});
is($dst->safe_psql('jobs', q{
	SELECT count(*) FROM job_stagger.job_run_details j JOIN pg_roles r ON r.oid = j.roleid AND r.rolname = j.username}),
	$src_runs, 'the history comes back, with the roleids of the new cluster');

# The restored jobs run (no restart: the launcher waited for the database and the extension). Jobs keep
# their database column: they ran in 'postgres', whose tables are now in 'jobs'.
$dst->safe_psql('jobs', q{UPDATE job_stagger.jobs SET database = 'jobs' WHERE database = 'postgres'});
my $restored_at = $dst->safe_psql('jobs', q{SELECT clock_timestamp()});
ok($dst->poll_query_until('jobs', qq{SELECT count(*) >= 2 FROM ticks WHERE job = 'tick' AND who = 'alice' AND at > '$restored_at'}),
	'the scheduler of the new cluster runs the restored jobs');
is($dst->safe_psql('jobs', q{
	SELECT count(*) FROM (SELECT runid FROM job_stagger.job_run_details GROUP BY runid HAVING count(*) > 1) d}),
	'0', 'new runs follow the restored ones (no runid twice)');
cmp_ok($dst->safe_psql('jobs', qq{SELECT count(*) FROM job_stagger.job_run_details WHERE started_at < '$restored_at'}),
	'>=', 2, 'the restored history is there');
like($dst->safe_psql('jobs', q{SELECT stagger_summary()}), qr/\S/, 'stagger_summary() works');
my ($last_jobid) = split(/\|/, $src_seq);
is($dst->safe_psql('jobs', q{SELECT stagger_schedule('new', '0 6 * * *', 'SELECT 10')}), $last_jobid + 1,
	'a new job gets the next jobid (none reused, also not the unscheduled one\'s)');
is($dst->safe_psql('jobs', q{SELECT count(*) FROM job_stagger.jobs}),
	$src->safe_psql('postgres', q{SELECT count(*) FROM job_stagger.jobs}) + 1, 'nothing is duplicated');

$src->stop;
$dst->stop;
done_testing();
