# Overlap policies (skip, queue, allow), per-job timeouts and the
# max_running_jobs cap, on jobs that really run.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use JobStagger::Test;

my $node = new_js_node('overlap');

# Overlapping runs of one job, as [started, ended] pairs in epoch seconds.
sub overlapping_pairs
{
	my ($job) = @_;
	return $node->safe_psql('postgres', qq{
		SELECT count(*) FROM job_stagger.job_run_details a JOIN job_stagger.job_run_details b
		    ON a.job_name = b.job_name AND a.runid < b.runid
		 WHERE a.job_name = '$job' AND a.started_at IS NOT NULL AND b.started_at IS NOT NULL
		   AND b.started_at < coalesce(a.ended_at, 'infinity') AND a.started_at < coalesce(b.ended_at, 'infinity')});
}

$node->safe_psql('postgres', q{
	SELECT stagger_schedule('slow_skip', '* * * * * *', 'SELECT pg_sleep(2.5)');
	SELECT stagger_schedule('slow_queue', '* * * * * *', 'SELECT pg_sleep(2.5)');
	SELECT stagger_alter_job('slow_queue', overlap => 'queue');
	SELECT stagger_schedule('slow_allow', '* * * * * *', 'SELECT pg_sleep(2.5)');
	SELECT stagger_alter_job('slow_allow', overlap => 'allow');
	SELECT stagger_schedule('too_long', '*/5 * * * * *', 'SELECT pg_sleep(30)');
	SELECT stagger_alter_job('too_long', timeout => '1 second');
});

wait_for($node, q{SELECT count(*) >= 3 FROM job_stagger.job_run_details WHERE job_name = 'slow_skip' AND status = 'succeeded'},
	'slow job with overlap skip completes runs');
$node->safe_psql('postgres', q{SELECT stagger_alter_job(j, active => false) FROM unnest(ARRAY['slow_skip', 'slow_queue', 'slow_allow']) j});
sleep(4); # let the last runs finish

# skip: the slots that came while a run was going are recorded, not dropped.
is(overlapping_pairs('slow_skip'), '0', 'skip: runs never overlap');
cmp_ok($node->safe_psql('postgres', q{
	SELECT count(*) FROM job_stagger.job_run_details
	 WHERE job_name = 'slow_skip' AND status = 'skipped' AND return_message LIKE 'skipped: the previous run (runid %) is still running'}),
	'>=', 4, 'skip: overlapping slots are recorded as skipped with the reason');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM job_stagger.job_run_details WHERE job_name = 'slow_skip' AND status IN ('starting', 'running')}),
	'0', 'skip: every slot has a final status');

# queue: one more run right after the current one, later slots skipped.
is(overlapping_pairs('slow_queue'), '0', 'queue: runs never overlap');
cmp_ok($node->safe_psql('postgres', q{
	SELECT count(*) FROM job_stagger.job_run_details WHERE job_name = 'slow_queue' AND status = 'skipped'
	   AND return_message LIKE 'skipped: a run is already queued behind run %'}),
	'>=', 2, 'queue: slots beyond the one queued run are skipped');
my ($queued, $gap) = query_row($node, q{
	SELECT count(*), max(extract(epoch FROM d.started_at - p.ended_at))
	  FROM job_stagger.job_run_details d
	  JOIN LATERAL (SELECT ended_at FROM job_stagger.job_run_details p
	                 WHERE p.job_name = d.job_name AND p.runid < d.runid AND p.status = 'succeeded'
	                 ORDER BY p.runid DESC LIMIT 1) p ON true
	 WHERE d.job_name = 'slow_queue' AND d.status = 'succeeded' AND d.started_at > d.scheduled_at + interval '1 second'});
cmp_ok($queued, '>=', 1, 'queue: queued runs happened');
cmp_ok($gap, '<', 0.5, 'queue: a queued run starts right after the previous one ended');

# allow: runs overlap.
cmp_ok(overlapping_pairs('slow_allow'), '>=', 2, 'allow: runs overlap');
is($node->safe_psql('postgres', q{SELECT count(*) FROM job_stagger.job_run_details WHERE job_name = 'slow_allow' AND status = 'skipped'}),
	'0', 'allow: nothing skipped');

# timeout
wait_for($node, q{SELECT count(*) >= 1 FROM job_stagger.job_run_details WHERE job_name = 'too_long' AND status = 'timed_out'},
	'a run over its timeout is timed_out');
my ($message, $duration) = query_row($node, q{
	SELECT return_message, extract(epoch FROM ended_at - started_at) FROM job_stagger.job_run_details
	 WHERE job_name = 'too_long' AND status = 'timed_out' ORDER BY runid LIMIT 1});
is($message, 'canceled: the run exceeded its timeout of 1000 ms', 'timeout message');
cmp_ok($duration, '<', 10, 'the run was canceled long before its 30 s sleep ended');
$node->safe_psql('postgres', q{SELECT stagger_unschedule('too_long')});

# max_running_jobs caps concurrent runs; the excess waits and is recorded.
$node->safe_psql('postgres', q{
	ALTER SYSTEM SET job_stagger.max_running_jobs = 2;
	SELECT pg_reload_conf();
	SELECT stagger_schedule('wide_' || i, '* * * * * *', 'SELECT pg_sleep(1.5)') FROM generate_series(1, 4) i;
});
my $max_seen = 0;
for (1 .. 40)
{
	my $n = $node->safe_psql('postgres', q{
		SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'job_stagger job' AND query LIKE '%pg_sleep(1.5)%'
		   AND state = 'active'});
	$max_seen = $n if $n > $max_seen;
	select(undef, undef, undef, 0.1);
}
cmp_ok($max_seen, '<=', 2, 'never more than max_running_jobs runs at once');
cmp_ok($max_seen, '>=', 1, 'runs do happen under the cap');
$node->safe_psql('postgres', q{DELETE FROM job_stagger.jobs WHERE job_name LIKE 'wide_%'});
wait_for($node, q{
	SELECT count(*) = 0 FROM job_stagger.job_run_details WHERE job_name LIKE 'wide_%' AND status IN ('starting', 'running')},
	'every slot waiting for a free run slot was resolved');
cmp_ok($node->safe_psql('postgres', q{
	SELECT count(*) FROM job_stagger.job_run_details WHERE job_name LIKE 'wide_%' AND status = 'succeeded'}),
	'>=', 4, 'capped jobs still ran');

$node->stop;
done_testing();
