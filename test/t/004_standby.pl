# A standby runs nothing; once promoted, it schedules the jobs it replicated.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JobStagger::Test;

my $primary = new_js_node('primary', init => { allows_streaming => 1 });
$primary->safe_psql('postgres', q{
	CREATE TABLE beats (node text, at timestamptz DEFAULT clock_timestamp());
	SELECT stagger_schedule('beat', '* * * * * *',
	    'INSERT INTO beats (node) VALUES (CASE WHEN pg_is_in_recovery() THEN ''standby'' ELSE current_setting(''cluster_name'') END)');
	ALTER SYSTEM SET cluster_name = 'primary';
});
$primary->restart;
wait_for($primary, q{SELECT count(*) >= 2 FROM beats}, 'primary runs the job');

$primary->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->append_conf('postgresql.conf', "cluster_name = 'standby'\n");
$standby->start;
$primary->wait_for_catchup($standby);

sleep(2);
is($standby->safe_psql('postgres', q{SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'job_stagger%'}),
	'0', 'no scheduler process on a standby');
is($standby->safe_psql('postgres', q{SELECT count(*) FROM beats WHERE node <> 'primary'}),
	'0', 'nothing ran on the standby');

# Fail over: stop the primary, promote the standby.
$primary->stop;
$standby->promote;
wait_for($standby, q{SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'job_stagger launcher'},
	'the scheduler starts on promotion');
wait_for($standby, q{SELECT count(*) >= 2 FROM beats WHERE node = 'standby'}, 'the promoted standby runs the jobs');
is($standby->safe_psql('postgres', q{
	SELECT count(*) > 0 FROM job_stagger.job_run_details
	 WHERE job_name = 'beat' AND status = 'succeeded' AND scheduled_at > (SELECT min(at) FROM beats WHERE node = 'standby')}),
	't', 'run history continues on the promoted node');
is($standby->safe_psql('postgres', q{
	SELECT count(*) FROM job_stagger.job_run_details WHERE job_name = 'beat' AND status IN ('starting', 'running')
	   AND scheduled_at < (SELECT min(at) FROM beats WHERE node = 'standby') - interval '2 seconds'}),
	'0', 'runs in flight on the old primary were closed');

$standby->stop;
done_testing();
