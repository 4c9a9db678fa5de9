# Without shared_preload_libraries: the extension still installs, the pure
# functions work, and scheduling says clearly why no job would run.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('no_preload');
$node->init;
$node->append_conf('postgresql.conf', "timezone = 'UTC'\n");
$node->start;

$node->safe_psql('postgres', 'CREATE EXTENSION job_stagger');
is($node->safe_psql('postgres', q{SELECT stagger_describe('15 */5 * * * *')}),
	'at second 15 of every 5th minute', 'cron functions work without preload');
is($node->safe_psql('postgres', q{SELECT count(*) FROM stagger_next_runs('* * * * * *', now(), 3)}),
	'3', 'stagger_next_runs works without preload');
is($node->safe_psql('postgres', q{SELECT launcher_pid IS NULL AND applied_enabled IS NULL FROM job_stagger.scheduler_status()}),
	't', 'scheduler_status says no scheduler');
my ($ret, $out, $err) = $node->psql('postgres', q{SELECT stagger_schedule('x', '* * * * *', 'SELECT 1')});
isnt($ret, 0, 'scheduling a job fails');
like($err, qr/job_stagger is not loaded through shared_preload_libraries, so no scheduler would run this job/,
	'with a clear reason');
like($err, qr/HINT:  Add job_stagger to shared_preload_libraries/, 'and what to do');
is($node->safe_psql('postgres', q{SELECT 1}), '1', 'the session survived (no FATAL)');

$node->stop;
done_testing();
