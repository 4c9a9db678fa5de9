# Exclusive job groups (0.5): two runs of jobs in one group never execute at
# the same time. Policy skip records the slot as skipped, naming the run that
# holds the group; policy wait starts the run as soon as the group is free,
# with its real start. A group belongs to the jobs' role: another role's job
# in a group of the same name is never skipped or delayed by it. Leaving the
# group lets the runs overlap again. A job's own earlier run is its overlap
# policy's business (queue: run after it). The jobs belong to two plain roles.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use JobStagger::Test;

my $node = new_js_node('exclusive_groups');

# Each run logs when its command ran (clock_timestamp(), inside the run).
$node->safe_psql('postgres', q{
	CREATE ROLE grp_a LOGIN;
	CREATE ROLE grp_b LOGIN;
	CREATE TABLE public.grp_log (job text, started timestamptz, ended timestamptz);
	GRANT INSERT ON public.grp_log TO grp_a, grp_b;
});

sub command
{
	my ($job, $secs) = @_;
	return "INSERT INTO public.grp_log SELECT '$job', s, clock_timestamp() "
	  . "FROM (SELECT clock_timestamp() AS s, pg_sleep($secs)) x";
}

sub schedule
{
	my ($role, $job, $cron, $secs, $group, $policy) = @_;
	return "SET ROLE $role; SELECT stagger_schedule('$job', '$cron', \$\$" . command($job, $secs)
	  . "\$\$, exclusive_group => '$group', group_policy => '$policy'); RESET ROLE;";
}

# Rows of a query, for diagnostics.
sub report
{
	my ($where) = @_;
	return $node->safe_psql('postgres', qq{
		SELECT string_agg(runid || ' ' || job_name || ' ' || status || ' due ' || scheduled_at || ' started '
		                  || coalesce(started_at::text, '-') || ' ended ' || coalesce(ended_at::text, '-') || ': '
		                  || coalesce(return_message, ''), E'\n' ORDER BY scheduled_at, runid)
		  FROM job_stagger.job_run_details WHERE $where});
}

# Deactivates every job and waits until each slot has a final status.
sub stop_jobs
{
	$node->safe_psql('postgres', q{UPDATE job_stagger.jobs SET active = false});
	wait_for($node, q{SELECT count(*) = 0 FROM job_stagger.job_run_details WHERE status IN ('starting', 'running')},
		'every slot has a final status');
}

# Pairs of logged commands of jobs $ja and $jb that executed at the same time
# (by their own clocks); with $ja = $jb, pairs of two runs of that job.
sub overlapping_runs
{
	my ($ja, $jb) = @_;
	return $node->safe_psql('postgres', qq{
		SELECT count(*) FROM public.grp_log a JOIN public.grp_log b
		    ON a.job = '$ja' AND b.job = '$jb' AND a.started < b.ended AND b.started < a.ended
		   AND (a.job <> b.job OR a.started < b.started)});
}

# All jobs in one transaction: one reload gives every job the same first slot.
# a: skip group g1 of grp_a; b: wait group g2 of grp_a; d: grp_b's jobs in
# groups of the same names, firing at the same instants.
$node->safe_psql('postgres', 'BEGIN; '
	  . schedule('grp_a', 'skip_1', '*/3 * * * * *', 1.5, 'g1', 'skip')
	  . schedule('grp_a', 'skip_2', '*/3 * * * * *', 1.5, 'g1', 'skip')
	  . schedule('grp_a', 'wait_1', '*/4 * * * * *', 1, 'g2', 'wait')
	  . schedule('grp_a', 'wait_2', '*/4 * * * * *', 1, 'g2', 'wait')
	  . schedule('grp_b', 'other_1', '*/3 * * * * *', 1.5, 'g1', 'skip')
	  . schedule('grp_b', 'other_2', '*/4 * * * * *', 1, 'g2', 'wait')
	  . 'COMMIT;');
is($node->safe_psql('postgres', q{
	SELECT string_agg(job_name || ':' || username || ':' || exclusive_group || ':' || group_policy, ',' ORDER BY job_name)
	  FROM job_stagger.jobs}),
	'other_1:grp_b:g1:skip,other_2:grp_b:g2:wait,skip_1:grp_a:g1:skip,skip_2:grp_a:g1:skip,'
	  . 'wait_1:grp_a:g2:wait,wait_2:grp_a:g2:wait',
	'six jobs of two plain roles in groups of the same two names');

sleep(14);
my $stop_at = $node->safe_psql('postgres', q{SELECT clock_timestamp()});
stop_jobs();
# the slots judged: due before the stop (none cut short by the deactivation)
my $judged = "scheduled_at < '$stop_at'::timestamptz - interval '2 s'";

# (a) policy skip: per slot exactly one of the group runs, the other is
# skipped, naming the group and the run holding it.
my $skip_slots = $node->safe_psql('postgres', qq{
	SELECT count(DISTINCT scheduled_at) FROM job_stagger.job_run_details
	 WHERE job_name IN ('skip_1', 'skip_2') AND $judged});
cmp_ok($skip_slots, '>=', 3, "skip group: $skip_slots slots judged");
is($node->safe_psql('postgres', qq{
	SELECT count(*) FROM (
	  SELECT scheduled_at, count(*) FILTER (WHERE status = 'succeeded') AS ok,
	         count(*) FILTER (WHERE status = 'skipped') AS skipped
	    FROM job_stagger.job_run_details WHERE job_name IN ('skip_1', 'skip_2') AND $judged
	   GROUP BY scheduled_at) s WHERE ok <> 1 OR skipped <> 1}),
	'0', 'skip group: per slot one run succeeded and one was skipped')
  or diag(report("job_name IN ('skip_1', 'skip_2')"));
is($node->safe_psql('postgres', qq{
	SELECT count(*) FROM job_stagger.job_run_details s
	  JOIN job_stagger.job_run_details h
	    ON h.runid = substring(s.return_message FROM 'run ([0-9]+) of job')::bigint
	   AND h.jobid = substring(s.return_message FROM 'of job ([0-9]+) is running')::bigint
	 WHERE s.job_name IN ('skip_1', 'skip_2') AND s.status = 'skipped' AND s.$judged
	   AND s.return_message LIKE 'skipped: exclusive group "g1" is busy: run % of job % is running'
	   AND h.scheduled_at = s.scheduled_at AND h.jobid <> s.jobid AND h.status = 'succeeded'}),
	$skip_slots, 'each skip names the group and the run of the other job that held it')
  or diag(report("job_name IN ('skip_1', 'skip_2')"));

# (b) policy wait: nothing skipped; per slot one run waited, started after the
# holder ended, and says so in its message.
my $wait_slots = $node->safe_psql('postgres', qq{
	SELECT count(DISTINCT scheduled_at) FROM job_stagger.job_run_details
	 WHERE job_name IN ('wait_1', 'wait_2') AND $judged});
cmp_ok($wait_slots, '>=', 3, "wait group: $wait_slots slots judged");
is($node->safe_psql('postgres', qq{
	SELECT count(*) FROM job_stagger.job_run_details
	 WHERE job_name IN ('wait_1', 'wait_2') AND $judged AND status <> 'succeeded'}),
	'0', 'wait group: no run skipped') or diag(report("job_name IN ('wait_1', 'wait_2')"));
is($node->safe_psql('postgres', qq{
	SELECT count(*) FROM job_stagger.job_run_details w
	  JOIN job_stagger.job_run_details h ON h.scheduled_at = w.scheduled_at AND h.jobid <> w.jobid
	   AND h.job_name IN ('wait_1', 'wait_2')
	 WHERE w.job_name IN ('wait_1', 'wait_2') AND w.$judged
	   AND w.return_message LIKE 'INSERT 0 1 (waited % s for exclusive group "g2")'
	   AND h.return_message = 'INSERT 0 1'
	   AND w.started_at >= h.ended_at AND w.started_at - w.scheduled_at >= interval '0.9 s'}),
	$wait_slots, 'per slot the waiter started after the holder ended, with its delay recorded')
  or diag(report("job_name IN ('wait_1', 'wait_2')"));

# (c) no two runs of one group overlapped: by the commands' own clocks, and in
# the product's overlaps view (which does list the cross-role overlaps).
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM public.grp_log a JOIN public.grp_log b
	    ON a.job < b.job AND a.started < b.ended AND b.started < a.ended
	 WHERE (a.job LIKE 'skip_%' AND b.job LIKE 'skip_%') OR (a.job LIKE 'wait_%' AND b.job LIKE 'wait_%')}),
	'0', 'no two commands of one group ran at the same time');
is($node->safe_psql('postgres', q{SELECT count(*) FROM job_stagger.overlaps WHERE exclusive_group IS NOT NULL}),
	'0', 'the overlaps view shows no violation');
cmp_ok($node->safe_psql('postgres', q{
	SELECT count(*) FROM job_stagger.overlaps WHERE job_a LIKE 'other_%' OR job_b LIKE 'other_%'}),
	'>', 0, '... and lists the overlaps of the other role\'s jobs with the group (exclusive_group NULL)');

# (d) the other role's jobs, in groups of the same names, were never skipped or delayed.
is($node->safe_psql('postgres', qq{
	SELECT count(*) FROM job_stagger.job_run_details
	 WHERE job_name LIKE 'other_%' AND $judged
	   AND (status <> 'succeeded' OR return_message LIKE '%exclusive group%'
	        OR started_at - scheduled_at > interval '0.5 s')}),
	'0', 'grp_b\'s jobs are never skipped or delayed by grp_a\'s groups of the same names')
  or diag(report("job_name LIKE 'other_%'"));
cmp_ok($node->safe_psql('postgres', qq{
	SELECT count(*) FROM job_stagger.job_run_details WHERE job_name LIKE 'other_%' AND $judged}),
	'>=', 6, '... which ran at every slot');

# grp_b sees and changes none of grp_a's jobs or groups.
is($node->safe_psql('postgres', q{
	SET ROLE grp_b;
	SELECT count(*) FROM job_stagger.jobs WHERE username = 'grp_a'}), '0', 'grp_b does not see grp_a\'s jobs');
my ($rc, $out, $err) = $node->psql('postgres', q{
	SET ROLE grp_b; SELECT stagger_alter_job(jobid, exclusive_group => '') FROM (SELECT 0::bigint AS jobid) x
	  WHERE false UNION ALL SELECT stagger_alter_job((SELECT jobid FROM job_stagger.jobs WHERE job_name = 'other_1'), exclusive_group => 'g1')});
is($rc, 0, 'grp_b changes its own job');
($rc, $out, $err) = $node->psql('postgres', q{
	SET ROLE grp_b; UPDATE job_stagger.jobs SET exclusive_group = NULL WHERE username = 'grp_a' RETURNING jobid});
is($out, '', 'grp_b cannot take grp_a\'s jobs out of their group');

# (e) leaving the group: the two skip jobs overlap again, nothing skipped.
$node->safe_psql('postgres', q{DELETE FROM public.grp_log});
my $left_at = $node->safe_psql('postgres', q{
	BEGIN;
	SET ROLE grp_a;
	SELECT stagger_alter_job('skip_1', exclusive_group => '', active => true);
	SELECT stagger_alter_job('skip_2', exclusive_group => '', active => true);
	RESET ROLE;
	COMMIT;
	SELECT clock_timestamp()});
$left_at = (split /\n/, $left_at)[-1];
is($node->safe_psql('postgres', q{
	SELECT string_agg(coalesce(exclusive_group, 'none') || ':' || group_policy, ',') FROM job_stagger.jobs
	 WHERE job_name IN ('skip_1', 'skip_2')}), 'none:skip,none:skip', 'both jobs left the group (policy kept)');
sleep(8);
$stop_at = $node->safe_psql('postgres', q{SELECT clock_timestamp()});
stop_jobs();
$judged = "scheduled_at > '$left_at'::timestamptz AND scheduled_at < '$stop_at'::timestamptz - interval '2 s'";
is($node->safe_psql('postgres', qq{
	SELECT count(*) FILTER (WHERE status <> 'succeeded') FROM job_stagger.job_run_details
	 WHERE job_name IN ('skip_1', 'skip_2') AND $judged}),
	'0', 'out of the group: no slot skipped') or diag(report("job_name IN ('skip_1', 'skip_2')"));
cmp_ok(overlapping_runs('skip_1', 'skip_2'),
	'>=', 1, 'out of the group: their runs overlap again');

# (f) with job_stagger.max_running_jobs = 2: the cap counts executing runs
# only, so a run waiting for its group holds no place; the group stays
# exclusive and the cap is kept.
$node->safe_psql('postgres', q{ALTER SYSTEM SET job_stagger.max_running_jobs = 2});
$node->safe_psql('postgres', q{SELECT pg_reload_conf()});
$node->safe_psql('postgres', q{DELETE FROM public.grp_log});
wait_for($node, q{SELECT current_setting('job_stagger.max_running_jobs') = '2'}, 'cap of 2 applied');
sleep(1);
my $cap_from = $node->safe_psql('postgres', 'BEGIN; '
	  . schedule('grp_a', 'capw_1', '*/5 * * * * *', 2, 'g3', 'wait')
	  . schedule('grp_a', 'capw_2', '*/5 * * * * *', 2, 'g3', 'wait')
	  . schedule('grp_a', 'capn_1', '*/5 * * * * *', 0.5, '', 'skip')
	  . schedule('grp_a', 'capn_2', '*/5 * * * * *', 0.5, '', 'skip')
	  . 'COMMIT; SELECT clock_timestamp();');
$cap_from = (split /\n/, $cap_from)[-1];
sleep(13);
$stop_at = $node->safe_psql('postgres', q{SELECT clock_timestamp()});
stop_jobs();
$judged = "scheduled_at > '$cap_from'::timestamptz AND scheduled_at < '$stop_at'::timestamptz - interval '3 s'";
cmp_ok($node->safe_psql('postgres', qq{
	SELECT count(DISTINCT scheduled_at) FROM job_stagger.job_run_details WHERE job_name LIKE 'cap%' AND $judged}),
	'>=', 2, 'cap: slots judged');
is($node->safe_psql('postgres', qq{
	SELECT count(*) FROM job_stagger.job_run_details WHERE job_name LIKE 'cap%' AND $judged AND status <> 'succeeded'}),
	'0', 'cap: nothing skipped') or diag(report("job_name LIKE 'cap%'"));
is(overlapping_runs('capw_1', 'capw_2'),
	'0', 'cap: the group stays exclusive');
cmp_ok($node->safe_psql('postgres', q{
	SELECT coalesce(max((SELECT count(*) FROM public.grp_log b WHERE b.started <= a.started AND b.ended > a.started)), 0)
	  FROM public.grp_log a}), '<=', 2, 'cap: at most 2 runs executed at once');
is($node->safe_psql('postgres', qq{
	SELECT count(*) FROM job_stagger.job_run_details
	 WHERE job_name LIKE 'capn_%' AND $judged AND started_at - scheduled_at > interval '1.2 s'}),
	'0', 'cap: the ungrouped runs got their places (the group waiter took none)')
  or diag(report("job_name LIKE 'cap%'"));

# (g) overlap = allow with group_policy = wait: the job's own runs are kept
# apart by the group, and at most one run of the job waits for it (further
# slots are skipped), so waiting workers cannot pile up.
$node->safe_psql('postgres', q{DELETE FROM public.grp_log});
my $allow_from = $node->safe_psql('postgres', 'BEGIN; '
	  . schedule('grp_a', 'allow_1', '* * * * * *', 2.5, 'g4', 'wait')
	  . q{SET ROLE grp_a; SELECT stagger_alter_job('allow_1', overlap => 'allow'); RESET ROLE;}
	  . 'COMMIT; SELECT clock_timestamp();');
$allow_from = (split /\n/, $allow_from)[-1];
sleep(9);
stop_jobs();
is(overlapping_runs('allow_1', 'allow_1'),
	'0', 'allow + wait: the job\'s own runs never overlap');
cmp_ok($node->safe_psql('postgres', qq{
	SELECT count(*) FROM job_stagger.job_run_details WHERE job_name = 'allow_1' AND scheduled_at > '$allow_from'
	   AND status = 'skipped' AND return_message LIKE 'skipped: run % of this job is already waiting for exclusive group "g4"'}),
	'>=', 2, 'allow + wait: slots while a run of the job waits are skipped') or diag(report("job_name = 'allow_1'"));
cmp_ok($node->safe_psql('postgres', qq{
	SELECT count(*) FROM job_stagger.job_run_details WHERE job_name = 'allow_1' AND scheduled_at > '$allow_from'
	   AND status = 'succeeded' AND return_message LIKE '%(waited % s for exclusive group "g4")'}),
	'>=', 1, 'allow + wait: a run waited for the group and says so') or diag(report("job_name = 'allow_1'"));

# (h) overlap = queue with group_policy = skip: the job's own earlier run is
# the overlap policy's business, not the group's: the next slot queues behind
# it (and runs), it is not skipped as "group busy" by its own job.
$node->safe_psql('postgres', q{DELETE FROM public.grp_log});
my $queue_from = $node->safe_psql('postgres', 'BEGIN; '
	  . schedule('grp_a', 'queue_1', '* * * * * *', 1.5, 'g5', 'skip')
	  . q{SET ROLE grp_a; SELECT stagger_alter_job('queue_1', overlap => 'queue'); RESET ROLE;}
	  . 'COMMIT; SELECT clock_timestamp();');
$queue_from = (split /\n/, $queue_from)[-1];
sleep(8);
stop_jobs();
is($node->safe_psql('postgres', qq{
	SELECT count(*) FROM job_stagger.job_run_details WHERE job_name = 'queue_1' AND scheduled_at > '$queue_from'
	   AND return_message LIKE '%exclusive group%'}),
	'0', 'queue + skip: no slot is skipped for the group its own run holds') or diag(report("job_name = 'queue_1'"));
cmp_ok($node->safe_psql('postgres', qq{
	SELECT count(*) FROM job_stagger.job_run_details WHERE job_name = 'queue_1' AND scheduled_at > '$queue_from'
	   AND status = 'succeeded' AND started_at - scheduled_at > interval '0.3 s'}),
	'>=', 1, 'queue + skip: a slot queued behind the job\'s running run and ran') or diag(report("job_name = 'queue_1'"));
is(overlapping_runs('queue_1', 'queue_1'),
	'0', 'queue + skip: the job\'s own runs never overlap');

$node->stop;
done_testing();
