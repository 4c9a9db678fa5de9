# Housekeeping never holds up the scheduler: with a big retention backlog
# whose purge is slow (an archiving trigger on the history here; a slow disk
# in life), every-second jobs keep starting at their second, and a fast
# shutdown in the middle of the purge ends the launcher at once (the purge
# statement is cancelled) without losing a slot.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use JobStagger::Test;

my $node = new_js_node('housekeeping', conf => "job_stagger.catchup_window = 0\n");

# 100,000 rows older than the retention, and a DELETE trigger that takes
# 50 ms a row: one purge batch of the old fixed size (1000 rows) would run
# for 50 s, the whole backlog for days.
$node->safe_psql('postgres', q{
	INSERT INTO job_stagger.job_run_details (jobid, job_name, username, database, command, status, scheduled_at,
	                                         nominal_at, started_at, ended_at, stagger_enabled, offset_seconds,
	                                         effective_schedule)
	SELECT 999, 'ancient', 'postgres', 'postgres', 'SELECT 1', 'succeeded', t, t, t, t, false, 0, '* * * * *'
	  FROM generate_series(1, 100000) i, LATERAL (SELECT now() - interval '30 days' + i * interval '1 s' AS t) x;
	CREATE TABLE public.archived (runid bigint);
	CREATE FUNCTION public.slow_archive() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN
	    INSERT INTO public.archived VALUES (OLD.runid);
	    PERFORM pg_sleep(0.05);
	    RETURN OLD;
	END $$;
	CREATE TRIGGER slow_archive BEFORE DELETE ON job_stagger.job_run_details
	    FOR EACH ROW WHEN (OLD.job_name = 'ancient') EXECUTE FUNCTION public.slow_archive();
	SELECT stagger_schedule('tick_' || i, '* * * * * *', 'SELECT 1') FROM generate_series(1, 2) i;
	ALTER SYSTEM SET job_stagger.history_retention = '1d';
	SELECT pg_reload_conf();
});
my $log_offset = -s $node->logfile;

# The purge starts 10 s after the reload (its interval); give it 15 s more.
wait_for($node, q{SELECT count(*) > 0 FROM public.archived}, 'the purge of the backlog is under way');
my $t0 = $node->safe_psql('postgres', q{SELECT date_trunc('second', now()) + interval '1 s'});
sleep 15;
my $t1 = $node->safe_psql('postgres', q{SELECT date_trunc('second', now()) - interval '2 s'});
my ($runs, $ok, $late, $slots, $purged) = query_row($node, qq{
	SELECT count(*), count(*) FILTER (WHERE status = 'succeeded'),
	       count(*) FILTER (WHERE started_at - scheduled_at > interval '3 s'),
	       2 * (extract(epoch FROM '$t1'::timestamptz - '$t0'::timestamptz)::int + 1),
	       (SELECT count(*) FROM public.archived)
	  FROM job_stagger.job_run_details
	 WHERE job_name LIKE 'tick_%' AND scheduled_at BETWEEN '$t0' AND '$t1'});
cmp_ok($purged, '>', 0, "rows purged while the jobs ran ($purged)");
is($runs, $slots, 'one row per job and second while the backlog is purged');
is($ok, $runs, 'every run succeeded');
is($late, 0, 'no run started more than 3 s after its second (the slow purge runs in slices between them)');
ok(!$node->log_contains(qr/history purge (failed|blocked)/, $log_offset),
	'slices cut off at the end of their window are not reported as failures');

# A fast shutdown while the launcher is inside a purge statement.
$node->poll_query_until('postgres', q{
	SELECT count(*) = 1 FROM pg_stat_activity
	 WHERE backend_type = 'job_stagger launcher' AND query = 'job_stagger: purging history' AND state = 'active'})
  or diag('did not catch the launcher purging; stopping anyway');
my $stop_started = time();
$node->stop('fast');
my $stop_took = time() - $stop_started;
cmp_ok($stop_took, '<', 15, sprintf('fast shutdown in the middle of a purge took %.1f s (a whole slow batch: 50 s)', $stop_took));
ok($node->log_contains(qr/job_stagger launcher shutting down/, $log_offset), 'the launcher exited through its shutdown path');

$node->start;
my $left = $node->safe_psql('postgres', q{SELECT count(*) FROM job_stagger.job_run_details WHERE job_name = 'ancient'});
cmp_ok($left, '>', 0, "the purge was cut short, not finished ($left rows left)");

# No slot lost across the stop: once the scheduler is back, every second of
# each job from its first run on has exactly one row (the seconds the server
# was down as skipped "missed"), and none is left open.
$node->safe_psql('postgres', q{DROP TRIGGER slow_archive ON job_stagger.job_run_details});
my $back = $node->safe_psql('postgres', q{SELECT now() + interval '3 s'});
wait_for($node, qq{SELECT count(*) >= 4 FROM job_stagger.job_run_details
                   WHERE job_name LIKE 'tick_%' AND scheduled_at > '$back' AND status = 'succeeded'},
	'jobs run again after the restart');
$node->safe_psql('postgres', q{SELECT stagger_unschedule('tick_' || i) FROM generate_series(1, 2) i});
wait_for($node, q{SELECT count(*) = 0 FROM job_stagger.job_run_details WHERE status IN ('starting', 'running')},
	'no run left open');
is($node->safe_psql('postgres', q{
	SELECT string_agg(format('%s: %s rows, %s seconds, %s distinct', job_name, n, secs, d), '; ')
	  FROM (SELECT job_name, count(*) AS n, count(DISTINCT scheduled_at) AS d,
	               extract(epoch FROM max(scheduled_at) - min(scheduled_at))::int + 1 AS secs
	          FROM job_stagger.job_run_details WHERE job_name LIKE 'tick_%' GROUP BY job_name) x
	 WHERE n <> secs OR d <> n}), '', 'exactly one row per job and second across the shutdown');

$node->stop;
done_testing();
