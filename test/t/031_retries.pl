# Retries (jobs.max_retries, retry_delay) against a real scheduler. Each job
# fires once a day, a few seconds from now (6-field cron), except the one
# that shows a retry superseded by the job's next slot (every 5 s):
# - flaky fails twice, then succeeds: attempts 1..3 of one slot (same
#   nominal_at), failed/failed/succeeded, schedule/retry/retry, each waiting
#   at least retry_delay * 2^(n-1) after the previous one ended;
# - slow times out once (a timeout counts), then succeeds;
# - never has max_retries 0: one failed row, no retry;
# - every5 fails every time with retry_delay 3 s: the second retry would come
#   after the next slot, so it is recorded skipped ("superseded");
# - paused is deactivated while its retry waits: the retry does not run;
# - phoenix's retry is planned, then the launcher is terminated: the new
#   launcher runs it at its time, once.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use JobStagger::Test;

my $node = new_js_node('retries');

$node->safe_psql('postgres', q{
	CREATE SEQUENCE public.flaky_seq;
	CREATE SEQUENCE public.slow_seq;
	CREATE SEQUENCE public.phoenix_seq;
});

# A 6-field cron that fires once a day, $ahead seconds from now.
sub once_cron
{
	my ($ahead) = @_;
	return $node->safe_psql('postgres',
		qq{SELECT to_char(now() + interval '$ahead s', 'FMSS FMMI FMHH24') || ' * * *'});
}

sub report
{
	return $node->safe_psql('postgres', q{
		SELECT string_agg(runid || ' ' || job_name || ' #' || attempt || ' ' || triggered_by || ' ' || status
		                  || ' nominal ' || nominal_at || ' due ' || scheduled_at || ' started '
		                  || coalesce(started_at::text, '-') || ' ended ' || coalesce(ended_at::text, '-') || ': '
		                  || coalesce(return_message, ''), E'\n' ORDER BY job_name, runid)
		  FROM job_stagger.job_run_details});
}

# the slot of the once-a-day jobs: at least 3 s ahead, away from a second boundary
sleep_until_second(0.3);
my $cron = once_cron(3);
$node->safe_psql('postgres', qq{
	BEGIN;
	SELECT stagger_schedule('flaky', '$cron',
	    \$\$SELECT 1 / (nextval('public.flaky_seq') > 2)::int\$\$,
	    max_retries => 3, retry_delay => '1 s');
	SELECT stagger_schedule('slow', '$cron',
	    \$\$SELECT pg_sleep(CASE WHEN nextval('public.slow_seq') = 1 THEN 5 ELSE 0 END)\$\$,
	    max_retries => 2, retry_delay => '1 s');
	SELECT stagger_alter_job('slow', timeout => '1 s');
	SELECT stagger_schedule('never', '$cron', 'SELECT 1 / 0', max_retries => 0, retry_delay => '1 s');
	SELECT stagger_schedule('paused', '$cron', 'SELECT 1 / 0', max_retries => 3, retry_delay => '4 s');
	SELECT stagger_schedule('phoenix', '$cron',
	    \$\$SELECT 1 / (nextval('public.phoenix_seq') > 1)::int\$\$,
	    max_retries => 1, retry_delay => '4 s');
	COMMIT;
});

# paused: deactivated while its retry waits; phoenix: launcher terminated while its retry waits
wait_for($node, q{SELECT count(*) = 2 FROM job_stagger.job_run_details
	WHERE job_name IN ('paused', 'phoenix') AND attempt = 2 AND status = 'starting'}, 'retries planned');
$node->safe_psql('postgres', q{SELECT stagger_alter_job('paused', active => false)});
my $launcher = $node->safe_psql('postgres',
	q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'job_stagger launcher'});
$node->safe_psql('postgres', "SELECT pg_terminate_backend($launcher)");
wait_for($node, qq{SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'job_stagger launcher'
	AND pid <> $launcher}, 'a new launcher started');

wait_for($node, q{SELECT count(*) = 0 FROM job_stagger.job_run_details WHERE status IN ('starting', 'running')
	AND job_name IN ('flaky', 'slow', 'never', 'paused', 'phoenix')}, 'the once-a-day jobs are done');
sleep 3; # no further retry comes

sub attempts
{
	my ($job) = @_;
	return $node->safe_psql('postgres', qq{
		SELECT string_agg(attempt || ':' || triggered_by || ':' || status, ' ' ORDER BY attempt)
		  FROM job_stagger.job_run_details WHERE job_name = '$job'});
}

is(attempts('flaky'), '1:schedule:failed 2:retry:failed 3:retry:succeeded',
	'a job failing twice: attempts 1..3, the third succeeds');
is($node->safe_psql('postgres', q{SELECT count(DISTINCT nominal_at) FROM job_stagger.job_run_details
	WHERE job_name = 'flaky'}), '1', 'retries keep the slot\'s nominal_at');
# backoff: attempt n+1 is due retry_delay * 2^(n-1) after attempt n ended, and does not start before it is due
is($node->safe_psql('postgres', q{
	SELECT bool_and(b.scheduled_at - a.ended_at >= interval '1 s' * 2 ^ (a.attempt - 1)
	                AND b.scheduled_at - a.ended_at < interval '1 s' * 2 ^ (a.attempt - 1) + interval '0.1 s'
	                AND b.started_at >= b.scheduled_at AND b.started_at - b.scheduled_at < interval '1 s')
	  FROM job_stagger.job_run_details a JOIN job_stagger.job_run_details b
	    ON a.job_name = 'flaky' AND b.job_name = 'flaky' AND b.attempt = a.attempt + 1}), 't',
	'attempts are spaced by the backoff (1 s, then 2 s) and start when due');
is(attempts('slow'), '1:schedule:timed_out 2:retry:succeeded', 'a timeout counts as a failure');
is(attempts('never'), '1:schedule:failed', 'max_retries 0: no retry');
is($node->safe_psql('postgres', q{SELECT attempts || ': ' || return_message FROM (
	SELECT string_agg(attempt || ':' || triggered_by || ':' || status, ' ' ORDER BY attempt) AS attempts,
	       max(return_message) FILTER (WHERE attempt = 2) AS return_message
	  FROM job_stagger.job_run_details WHERE job_name = 'paused') x}),
	'1:schedule:failed 2:retry:skipped: skipped: the job was deactivated before this retry began',
	'the retry of a job deactivated meanwhile does not run');
is(attempts('phoenix'), '1:schedule:failed 2:retry:succeeded', 'a planned retry survives a launcher restart');
is($node->safe_psql('postgres', q{SELECT count(*) FROM job_stagger.job_run_details b
	JOIN job_stagger.job_run_details a ON a.job_name = 'phoenix' AND a.attempt = 1
	WHERE b.job_name = 'phoenix' AND b.attempt = 2 AND b.started_at >= b.scheduled_at
	  AND b.scheduled_at - a.ended_at >= interval '4 s'}), '1', '... and runs at its time');

# superseded: every 5 s, always failing, retry_delay 3 s: attempt 2 at +3 s, attempt 3 would be at +9 s
$node->safe_psql('postgres', q{SELECT stagger_schedule('every5', '*/5 * * * * *', 'SELECT 1 / 0', max_retries => 3,
	retry_delay => '3 s')});
wait_for($node, q{SELECT count(*) > 0 FROM job_stagger.job_run_details WHERE job_name = 'every5' AND attempt = 3},
	'a third attempt of every5 is recorded');
$node->safe_psql('postgres', q{SELECT stagger_alter_job('every5', active => false)});
wait_for($node, q{SELECT count(*) = 0 FROM job_stagger.job_run_details WHERE status IN ('starting', 'running')},
	'every run ended');
like($node->safe_psql('postgres', q{SELECT status || ': ' || return_message FROM job_stagger.job_run_details
	WHERE job_name = 'every5' AND attempt = 3 ORDER BY runid LIMIT 1}),
	qr/^skipped: skipped: superseded by the job's next slot at /, 'a retry after the next slot is superseded');
is($node->safe_psql('postgres', q{SELECT count(*) FROM job_stagger.job_run_details r
	WHERE r.job_name = 'every5' AND r.started_at IS NOT NULL AND r.attempt > 1
	  AND EXISTS (SELECT FROM job_stagger.job_run_details s WHERE s.job_name = 'every5' AND s.attempt = 1
	              AND s.nominal_at > r.nominal_at AND s.scheduled_at <= r.started_at)}), '0',
	'no retry ran once the next slot had come');

ok($node->log_contains(qr/job_stagger: run \d+ of job \d+ "flaky" failed \(attempt 1 of 4\); retry at /),
	'a LOG line per planned retry');
ok($node->log_contains(qr/job_stagger: retry run \d+ \(attempt 2\) of job \d+ "flaky" starts/),
	'a LOG line when a retry starts');

diag(report()) if !Test::More->builder->is_passing;
$node->stop;
done_testing();
