# A job_stagger.database_name that does not exist: one LOG line with a HINT,
# then the launcher looks again with a growing interval (no FATAL error and
# restart every second); once the database exists, it connects and jobs run.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use JobStagger::Test;

my $node = new_js_node('missing_db', no_extension => 1, conf => "job_stagger.database_name = 'nosuchdb'\n");
sleep(10);
my $log = slurp_file($node->logfile);
my $logs = () = $log =~ /LOG:  job_stagger: database "nosuchdb" \(job_stagger\.database_name\) does not exist; no jobs are scheduled/g;
is($logs, 1, 'one LOG line says the database does not exist');
like($log, qr/HINT:  Create the database \(CREATE DATABASE nosuchdb; then CREATE EXTENSION job_stagger in it\), or set job_stagger\.database_name/,
	'with a HINT');
my $fatals = () = $log =~ /FATAL:  database "nosuchdb" does not exist/g;
is($fatals, 0, 'no FATAL error');
my $exits = () = $log =~ /background worker "job_stagger launcher" \(PID \d+\) exited with exit code 1/g;
cmp_ok($exits, '<=', 1, "the launcher is not restarted every second ($exits exits in 10 s)");
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'job_stagger launcher'}),
	'1', 'the launcher waits (connected to no database)');

$node->safe_psql('postgres', 'CREATE DATABASE nosuchdb');
$node->safe_psql('nosuchdb', q{
	CREATE EXTENSION job_stagger;
	SELECT stagger_schedule('tick', '* * * * * *', 'SELECT 1');
});
ok($node->poll_query_until('nosuchdb', q{
	SELECT count(*) > 0 FROM job_stagger.job_run_details WHERE job_name = 'tick' AND status = 'succeeded'}),
	'once the database exists, the launcher connects and jobs run');
ok($node->log_contains(qr/LOG:  job_stagger: database "nosuchdb" is there now; the launcher restarts to connect to it/),
	'the log says why the launcher restarts');

$node->stop;
done_testing();
