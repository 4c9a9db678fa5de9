# job_stagger.max_running_jobs counts runs executing, not the workers that
# were started ahead of time (prestart_lead_ms) and only wait for their
# instant: with a cap of 2, a 5 s lead and two every-second jobs, no slot is
# skipped and at most 2 runs execute at once. A run that reaches its instant
# while the cap is full waits and starts when a run ends, with its real start.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use JobStagger::Test;

my $node = new_js_node('run_cap', conf => qq{
job_stagger.max_running_jobs = 2
job_stagger.prestart_lead_ms = 5000
});

# Each run writes when it started and ended executing (clock_timestamp()).
$node->safe_psql('postgres', q{
	CREATE TABLE public.cap_log (job text, started timestamptz, ended timestamptz);
});

sub command
{
	my ($job, $secs) = @_;
	return "INSERT INTO public.cap_log SELECT '$job', s, clock_timestamp() "
	  . "FROM (SELECT clock_timestamp() AS s, pg_sleep($secs)) x";
}

# Most runs executing at one moment among the given jobs: the number of
# intervals covering any run's start.
sub max_concurrent
{
	my ($like) = @_;
	return $node->safe_psql('postgres', qq{
		SELECT coalesce(max(n), 0) FROM (
		  SELECT (SELECT count(*) FROM public.cap_log b
		           WHERE b.job LIKE '$like' AND b.started <= a.started AND b.ended > a.started) AS n
		    FROM public.cap_log a WHERE a.job LIKE '$like') c});
}

# Runs the jobs for a while, then stops them and waits until every slot has a final row.
sub run_jobs
{
	my ($like, $secs) = @_;
	sleep($secs);
	$node->safe_psql('postgres', qq{SELECT stagger_alter_job(job_name, active => false)
		FROM job_stagger.jobs WHERE job_name LIKE '$like'});
	wait_for($node, qq{SELECT count(*) = 0 FROM job_stagger.job_run_details
		WHERE job_name LIKE '$like' AND status IN ('starting', 'running')},
		"$like: every slot has a final status");
}

sub skipped_report
{
	my ($like) = @_;
	return $node->safe_psql('postgres', qq{
		SELECT string_agg(job_name || ' ' || scheduled_at || ': ' || return_message, E'\n' ORDER BY runid)
		  FROM job_stagger.job_run_details WHERE job_name LIKE '$like' AND status <> 'succeeded'});
}

# Every slot of each job, from its first to its last, is there exactly once and succeeded.
sub slots_complete
{
	my ($like, $what) = @_;
	my $bad = $node->safe_psql('postgres', qq{
		SELECT count(*) FROM (
		  SELECT job_name, count(*) AS n, count(DISTINCT scheduled_at) AS d,
		         count(*) FILTER (WHERE status = 'succeeded') AS ok,
		         extract(epoch FROM max(scheduled_at) - min(scheduled_at))::int + 1 AS span
		    FROM job_stagger.job_run_details WHERE job_name LIKE '$like' GROUP BY job_name) s
		 WHERE n <> d OR ok <> n OR span <> n OR n < 5});
	is($bad, '0', $what) or diag(skipped_report($like));
}

# 1. The issue's scenario: two every-second jobs, short runs.
$node->safe_psql('postgres', 'SELECT stagger_schedule(' . "'pair_$_', '* * * * * *', \$\$"
	  . command("pair_$_", 0.2) . "\$\$)") for (1, 2);
run_jobs('pair_%', 12);
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM job_stagger.job_run_details WHERE job_name LIKE 'pair_%' AND status = 'skipped'}),
	'0', 'cap 2, lead 5 s, two every-second jobs: no slot is skipped')
  or diag(skipped_report('pair_%'));
slots_complete('pair_%', 'every slot of both jobs ran once, none lost or repeated');
cmp_ok(max_concurrent('pair_%'), '<=', 2, 'at most 2 runs execute at once');

# 2. Three jobs due each second, 2 places: one run per second waits for a
# place (it already holds a worker) and starts when a run ends.
$node->safe_psql('postgres', 'SELECT stagger_schedule(' . "'trio_$_', '* * * * * *', \$\$"
	  . command("trio_$_", 0.3) . "\$\$)") for (1, 2, 3);
$node->safe_psql('postgres', q{SELECT stagger_alter_job(job_name, overlap => 'allow')
	FROM job_stagger.jobs WHERE job_name LIKE 'trio_%'});
run_jobs('trio_%', 10);
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM job_stagger.job_run_details WHERE job_name LIKE 'trio_%' AND status = 'skipped'}),
	'0', 'three jobs, cap 2: no slot is skipped for the cap')
  or diag(skipped_report('trio_%'));
slots_complete('trio_%', 'every slot of the three jobs ran once');
cmp_ok(max_concurrent('trio_%'), '<=', 2, 'never more than 2 of the three execute at once');
# The waiting run is recorded with its real start: after its instant, once another run ended.
my ($late, $after_end) = query_row($node, q{
	SELECT count(*),
	       count(*) FILTER (WHERE EXISTS (
	         SELECT 1 FROM job_stagger.job_run_details e
	          WHERE e.job_name LIKE 'trio_%' AND e.runid <> d.runid
	            AND e.ended_at BETWEEN d.scheduled_at AND d.started_at))
	  FROM job_stagger.job_run_details d
	 WHERE d.job_name LIKE 'trio_%' AND d.started_at > d.scheduled_at + interval '150 ms'});
cmp_ok($late, '>=', 3, 'runs that found the cap full waited and started late');
is($after_end, $late, 'each waiting run started only after another run ended');

$node->stop;
done_testing();
