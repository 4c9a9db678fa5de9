# The scheduler's own monitoring: pool samples with the peak of concurrent
# runs, LOG and WARNING lines for busy pools and slow runs, history retention
# in batches, scheduled KPI snapshots and the automatic rollback.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use JobStagger::Test;

my $node = new_js_node('monitoring', conf => q{
job_stagger.pool_sample_interval = 1
job_stagger.log_pool = on
job_stagger.pool_warn_pct = 40
job_stagger.pool_crit_pct = 70
job_stagger.max_running_jobs = 4
job_stagger.slow_job_threshold_ms = 500
});
my $log_offset = -s $node->logfile;

# Three overlapping 1.5 s runs every second: peak 3 of 4 slots.
$node->safe_psql('postgres', q{
	SELECT stagger_schedule('busy_' || i, '* * * * * *', 'SELECT pg_sleep(1.5)') FROM generate_series(1, 3) i;
	SELECT stagger_alter_job('busy_' || i, overlap => 'allow') FROM generate_series(1, 3) i;
});
wait_for($node, q{SELECT count(*) >= 3 FROM job_stagger.pool_samples WHERE peak_running_jobs >= 3},
	'pool samples record the peak of concurrent runs');
my ($peak, $max, $pct) = query_row($node, q{
	SELECT max(peak_running_jobs), max(max_running_jobs), max(job_pool_pct) FROM job_stagger.pool_samples});
cmp_ok($peak, '<=', 4, 'peak never above max_running_jobs');
is($max, '4', 'sample stores max_running_jobs');
is($pct, sprintf('%.1f', 100 * $peak / 4), 'job_pool_pct = peak / max_running_jobs');
is($node->safe_psql('postgres', q{
	SELECT bool_and(client_backends >= 0 AND max_connections > 0
	                AND conn_pool_pct = round(100.0 * client_backends / max_connections, 1))
	  FROM job_stagger.pool_samples}),
	't', 'samples count client backends against max_connections');
ok($node->log_contains(qr/LOG:  job_stagger pool: \d+ running \(peak \d+\) of 4 job slots/, $log_offset),
	'a LOG line per sample with job_stagger.log_pool');
ok($node->log_contains(qr/WARNING:  job_stagger: CRITICAL pool use 75\.0% of job slots/, $log_offset),
	'critical WARNING above job_stagger.pool_crit_pct');
wait_for($node, q{SELECT true}, 'log flushed');
ok($node->log_contains(qr/WARNING:  job_stagger: run \d+ of job "busy_\d" took 15\d\d ms/, $log_offset),
	'slow runs are logged as a WARNING');
$node->safe_psql('postgres', q{DELETE FROM job_stagger.jobs WHERE job_name LIKE 'busy_%'});

# Retention: rows older than job_stagger.history_retention disappear in batches, newer ones stay.
$node->safe_psql('postgres', q{
	INSERT INTO job_stagger.job_run_details (jobid, job_name, username, database, command, status, scheduled_at,
	                                         nominal_at, started_at, ended_at, stagger_enabled, offset_seconds,
	                                         effective_schedule)
	SELECT 999, 'ancient', 'postgres', 'postgres', 'SELECT 1', 'succeeded', t, t, t, t + interval '1 second', false, 0,
	       '* * * * *'
	  FROM generate_series(now() - interval '3 days', now() - interval '2 days', interval '10 seconds') t;
	INSERT INTO job_stagger.pool_samples (sampled_at, stagger_enabled, running_jobs, peak_running_jobs,
	                                      max_running_jobs, job_pool_pct, client_backends, max_connections, conn_pool_pct)
	SELECT t, false, 0, 0, 4, 0, 1, 100, 1 FROM generate_series(now() - interval '3 days', now() - interval '2 days', interval '1 minute') t;
	ALTER SYSTEM SET job_stagger.history_retention = '1d';
	SELECT pg_reload_conf();
});
cmp_ok($node->safe_psql('postgres', q{SELECT count(*) FROM job_stagger.job_run_details WHERE job_name = 'ancient'}),
	'>', 8000, 'old history in place');
wait_for($node, q{
	SELECT (SELECT count(*) FROM job_stagger.job_run_details WHERE job_name = 'ancient') = 0
	   AND (SELECT count(*) FROM job_stagger.pool_samples WHERE sampled_at < now() - interval '1 day') = 0},
	'history and samples older than the retention are purged');
cmp_ok($node->safe_psql('postgres', q{SELECT count(*) FROM job_stagger.job_run_details WHERE job_name LIKE 'busy_%'}),
	'>', 0, 'recent history is kept');

$node->stop;
done_testing();
