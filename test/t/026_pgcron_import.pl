# stagger_import_pg_cron() against a real pg_cron 1.4 (Debian
# postgresql-15-cron) in a cluster that preloads both schedulers: every kind
# of pg_cron job (named, unnamed, N seconds, inactive, other database, other
# role, a name that exists in job_stagger, jobs job_stagger must refuse),
# one transaction (a forced error leaves nothing imported and nothing
# unscheduled), drop_after, a plain role importing only its own jobs, and an
# imported job running under job_stagger.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use JobStagger::Test;

my $node = new_js_node(
	'pgcron_import',
	conf => "shared_preload_libraries = 'pg_cron,job_stagger'\ncron.database_name = 'postgres'\n");
my $port = $node->port;

# No pg_cron in this database: a clear error saying where each scheduler keeps its jobs.
$node->safe_psql('postgres', 'CREATE DATABASE otherdb');
$node->safe_psql('otherdb', 'CREATE EXTENSION job_stagger');
my ($ret, $out, $err) = $node->psql('otherdb', 'SELECT * FROM stagger_import_pg_cron()');
like($err, qr/ERROR:  pg_cron is not installed in database "otherdb": there is no cron.job to import from/,
	'no cron.job here: clear error');
like($err, qr/HINT:  pg_cron's jobs live in the database named by cron.database_name \(postgres\), job_stagger's in the one named by job_stagger.database_name \(postgres\)/,
	'the HINT names both databases');
$node->safe_psql('otherdb', 'DROP EXTENSION job_stagger');

$node->safe_psql('postgres', qq{
	CREATE EXTENSION pg_cron;
	CREATE ROLE alice LOGIN;
	CREATE ROLE bob LOGIN;
	GRANT USAGE ON SCHEMA cron TO alice, bob;
	CREATE TABLE imported_ticks (at timestamptz DEFAULT clock_timestamp(), who text DEFAULT current_user);
	GRANT INSERT ON imported_ticks TO PUBLIC;
	SELECT cron.schedule('nightly', '0 3 * * *', 'VACUUM');                                   -- clashes below
	SELECT cron.schedule('*/5 * * * *', 'SELECT 1');                                          -- unnamed
	-- pg_cron 1.4 has no "N seconds" (1.5 has); a superuser can still write such a row
	INSERT INTO cron.job (schedule, command, jobname, nodeport)
	     VALUES ('2 seconds', 'INSERT INTO imported_ticks DEFAULT VALUES', 'ticker', $port);
	SELECT cron.schedule_in_database('paused', '0 4 * * *', 'SELECT 4', 'postgres', 'postgres', false);
	SELECT cron.schedule_in_database('in_other', '0 5 * * *', 'SELECT 5', 'otherdb');
	SELECT cron.schedule_in_database('alice_job', '0 6 * * *', 'SELECT 6', 'postgres', 'alice');
	INSERT INTO cron.job (schedule, command, database, jobname, nodeport)
	     VALUES ('0 7 * * *', 'SELECT 7', 'no_such_db', 'lost_db', $port);
	SELECT cron.schedule('empty_cmd', '0 8 * * *', '');                                       -- pg_cron takes it
	SELECT cron.schedule_in_database('bob_job', '0 9 * * *', 'SELECT 9', 'postgres', 'bob');
	SELECT stagger_schedule('nightly', '0 1 * * *', 'SELECT 0');
});
my %id = map { split /\|/ }
  split /\n/, $node->safe_psql('postgres', q{SELECT coalesce(jobname, 'unnamed') || '|' || jobid FROM cron.job});
is(scalar keys %id, 9, 'nine pg_cron jobs');

# A forced error mid-import (a user trigger that fails on one job with an
# error class validation never raises) aborts everything: nothing imported,
# nothing unscheduled.
$node->safe_psql('postgres', q{
	CREATE FUNCTION public.fail_on_alice() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN
	    IF NEW.job_name = 'alice_job' THEN RAISE EXCEPTION 'forced failure'; END IF;
	    RETURN NEW;
	END $$;
	CREATE TRIGGER fail_on_alice BEFORE INSERT ON job_stagger.jobs FOR EACH ROW EXECUTE FUNCTION public.fail_on_alice();
});
($ret, $out, $err) = $node->psql('postgres', 'SELECT * FROM stagger_import_pg_cron(drop_after => true)');
like($err, qr/ERROR:  forced failure/, 'an unexpected error aborts the import');
is($node->safe_psql('postgres', 'SELECT string_agg(job_name, \',\') FROM job_stagger.jobs'), 'nightly',
	'nothing was imported');
is($node->safe_psql('postgres', 'SELECT count(*) FROM cron.job'), '9', 'nothing was unscheduled from pg_cron');
$node->safe_psql('postgres', 'DROP TRIGGER fail_on_alice ON job_stagger.jobs');

# A plain role sees (cron.job's row-level security) and imports only its own job.
($ret, $out, $err) = $node->psql('postgres', 'SELECT * FROM stagger_import_pg_cron(drop_after => true)',
	extra_params => [ '-U', 'bob' ]);
is($ret, 0, 'a plain role may import') or diag($err);
is($out, "$id{bob_job}|bob_job|imported|unscheduled from pg_cron", 'bob imports exactly his own job');
is($node->safe_psql('postgres', q{SELECT string_agg(job_name || ':' || username, ',') FROM job_stagger.jobs WHERE roleid = 'bob'::regrole}),
	'bob_job:bob', 'as himself');
is($node->safe_psql('postgres', q{SELECT count(*) FROM cron.job WHERE username = 'bob'}), '0',
	'and unscheduled it from pg_cron');
is($node->safe_psql('postgres', 'SELECT count(*) FROM cron.job'), '8', 'nobody else\'s pg_cron job was touched');

# The superuser imports all, first without drop_after (rolled back).
my $expected = join("\n",
	"$id{nightly}|nightly_pg_cron_$id{nightly}|renamed|job \"nightly\" of role \"postgres\" already exists in job_stagger: imported as \"nightly_pg_cron_$id{nightly}\"",
	"$id{unnamed}|pg_cron_$id{unnamed}|imported|unnamed pg_cron job $id{unnamed} imported as \"pg_cron_$id{unnamed}\"",
	"$id{ticker}|ticker|imported|",
	"$id{paused}|paused|imported|",
	"$id{in_other}|in_other|imported|",
	"$id{alice_job}|alice_job|imported|",
	"$id{lost_db}|lost_db|refused|database \"no_such_db\" does not exist (SQLSTATE 3D000); left in pg_cron",
	"$id{empty_cmd}|empty_cmd|refused|command of job \"empty_cmd\" must not be empty (SQLSTATE 22023); left in pg_cron");
($ret, $out, $err) = $node->psql('postgres', 'BEGIN; SELECT * FROM stagger_import_pg_cron() ORDER BY 1; ROLLBACK;');
is($out, $expected, 'one row per pg_cron job: imported, renamed, refused with the reason');
like($err, qr/WARNING:  pg_cron and job_stagger now both run the 5 active imported job\(s\)\nHINT:  Import with stagger_import_pg_cron\(drop_after => true\), or stop them in pg_cron with cron.alter_job\(jobid, active := false\)/,
	'without drop_after: one WARNING that both schedulers run them, with a HINT');
is(scalar(() = $err =~ /WARNING/g), 1, 'exactly one WARNING');

# For real, with drop_after: exactly the imported ones leave pg_cron.
($ret, $out, $err) = $node->psql('postgres', 'SELECT pg_cron_jobid, job_name, outcome FROM stagger_import_pg_cron(drop_after => true) ORDER BY 1');
(my $short = $expected) =~ s/^(\d+\|[^|]*\|[^|]*)\|.*$/$1/mg;
is($out, $short, 'the same outcomes with drop_after');
unlike($err, qr/WARNING/, 'no WARNING with drop_after');
is($node->safe_psql('postgres', 'SELECT string_agg(jobname, \',\' ORDER BY jobid) FROM cron.job'),
	'lost_db,empty_cmd', 'drop_after unscheduled exactly the imported jobs; the refused stay in pg_cron');
is($node->safe_psql('postgres', q{
	SELECT string_agg(concat_ws(':', job_name, schedule, command, database, username, active, offset_pinned,
	                            coalesce(timezone, '-')), E'\n' ORDER BY job_name)
	  FROM job_stagger.jobs}),
	join("\n",
		"alice_job:0 6 * * *:SELECT 6:postgres:alice:t:f:GMT",
		"bob_job:0 9 * * *:SELECT 9:postgres:bob:t:f:GMT",
		"in_other:0 5 * * *:SELECT 5:otherdb:postgres:t:f:GMT",
		"nightly:0 1 * * *:SELECT 0:postgres:postgres:t:f:-",
		"nightly_pg_cron_$id{nightly}:0 3 * * *:VACUUM:postgres:postgres:t:f:GMT",
		"paused:0 4 * * *:SELECT 4:postgres:postgres:f:f:GMT",
		"pg_cron_$id{unnamed}:*/5 * * * *:SELECT 1:postgres:postgres:t:f:GMT",
		"ticker:2 seconds:INSERT INTO imported_ticks DEFAULT VALUES:postgres:postgres:t:f:GMT"),
	'job_stagger.jobs: name, schedule, command, database, role and active flag copied; offsets placed, not pinned; pg_cron 1.4\'s zone (GMT)');
is($node->safe_psql('postgres', q{SELECT roleid = 'alice'::regrole FROM job_stagger.jobs WHERE job_name = 'alice_job'}),
	't', 'another role\'s job runs as that role');

# A second import has nothing left but the refused ones.
is($node->safe_psql('postgres', 'SELECT string_agg(outcome, \',\') FROM stagger_import_pg_cron()'),
	'refused,refused', 'a second import finds only the refused jobs');

# The imported "2 seconds" job (pg_cron 1.4 never ran it) runs under job_stagger.
wait_for($node, q{SELECT count(*) >= 2 FROM job_stagger.job_run_details WHERE job_name = 'ticker' AND status = 'succeeded'},
	'an imported job runs under job_stagger');
is($node->safe_psql('postgres', 'SELECT count(*) > 0 FROM imported_ticks'), 't', 'and its command did its work');

$node->stop;
done_testing();
