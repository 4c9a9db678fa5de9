# The offset optimiser against a running scheduler (0.6).
#  (a) stagger_optimize(apply => true) by a plain role while every-minute jobs
#      run: its own unpinned jobs move, another role's do not; every job keeps
#      exactly one row per minute slot (none lost or doubled), and each moved
#      job's runs after the apply start at its new second.
#  (b) job_stagger.auto_optimize with a 10 s interval: the launcher moves the
#      unpinned jobs of both roles that still share a second with others,
#      logs and records each move (changed_by 'auto_optimize'), leaves the
#      pinned job alone, and then stops moving (no further improvement).
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use JobStagger::Test;

my $node = new_js_node('optimize', conf => q{
job_stagger.enabled = on
});
my $boot = $node->safe_psql('postgres', q{SELECT current_user});

sub sql { return $node->safe_psql('postgres', $_[0]); }

# Waits until the wall clock is inside [from, to) seconds of a minute.
sub wait_second_between
{
	my ($from, $to) = @_;
	$node->poll_query_until('postgres',
		qq{SELECT extract(second FROM clock_timestamp()) >= $from AND extract(second FROM clock_timestamp()) < $to})
	  or die "clock never reached second $from";
}

# Jobs of two plain roles, all at second 10 of every minute: alice's a1..a3
# and bob's b1 unpinned, bob's b2 pinned.
sql(q{
	CREATE ROLE opt_alice LOGIN;
	CREATE ROLE opt_bob LOGIN;
	SET ROLE opt_alice;
	SELECT stagger_schedule('a' || i, '* * * * *', 'SELECT 1', 10) FROM generate_series(1, 3) i;
	UPDATE job_stagger.jobs SET offset_pinned = false;
	SET ROLE opt_bob;
	SELECT stagger_schedule('b1', '* * * * *', 'SELECT 1', 10);
	SELECT stagger_schedule('b2', '* * * * *', 'SELECT 1', 10);
	UPDATE job_stagger.jobs SET offset_pinned = false WHERE job_name = 'b1';
	RESET ROLE;
});
is(sql(q{SELECT string_agg(job_name || ':' || offset_seconds || ':' || offset_pinned, ',' ORDER BY job_name)
           FROM job_stagger.jobs}),
	'a1:10:false,a2:10:false,a3:10:false,b1:10:false,b2:10:true', 'five jobs at second 10, only b2 pinned');

# (a) apply by alice, well away from second 10, after every job ran once
wait_for($node, q{SELECT count(DISTINCT jobid) = 5 FROM job_stagger.job_run_details WHERE status = 'succeeded'},
	'every job ran once at second 10');
wait_second_between(25, 45);
my $applied_at = sql(q{SELECT clock_timestamp()});
my $applied = sql(q{SET ROLE opt_alice; SELECT count(*) FROM stagger_optimize(true) WHERE proposed_offset <> current_offset});
cmp_ok($applied, '>=', 2, "alice's apply moved $applied of her three jobs");
my %offset = map { split /:/ } split /,/,
  sql(q{SELECT string_agg(job_name || ':' || offset_seconds, ',') FROM job_stagger.jobs});
is(sql(q{SELECT count(DISTINCT offset_seconds) FROM job_stagger.jobs WHERE job_name LIKE 'a%'}),
	'3', "alice's jobs now fire at three different seconds");
is(sql(q{SELECT count(*) FROM job_stagger.jobs WHERE job_name LIKE 'a%' AND offset_pinned}),
	'0', 'moved jobs stay unpinned');
is("$offset{b1},$offset{b2}", '10,10', "bob's jobs did not move");
is(sql(q{SELECT string_agg(job_name || ':' || old_offset || ':' || new_offset || ':' || changed_by || ':' || changed_by_role,
                           ',' ORDER BY job_name) FROM job_stagger.offset_changes}),
	join(',', map { "$_:10:$offset{$_}:stagger_optimize:opt_alice" } grep { $offset{$_} != 10 } qw(a1 a2 a3)),
	'one offset_changes row per moved job');
is(sql(q{SET ROLE opt_bob; SELECT count(*) FROM job_stagger.offset_changes}), '0', "bob sees none of alice's changes");

# the next slot of each moved job runs at its new second
for my $job (grep { $offset{$_} != 10 } qw(a1 a2 a3))
{
	wait_for($node, qq{SELECT count(*) > 0 FROM job_stagger.job_run_details
	                    WHERE job_name = '$job' AND status = 'succeeded' AND scheduled_at > '$applied_at'},
		"$job ran after the apply");
	is(sql(qq{SELECT string_agg(DISTINCT extract(second FROM scheduled_at)::int::text, ',')
	            FROM job_stagger.job_run_details WHERE job_name = '$job' AND scheduled_at > '$applied_at'}),
		$offset{$job}, "$job: every run after the apply at its new second $offset{$job}");
}

# (b) the scheduler re-optimises all roles' jobs every 10 s
my $log_offset = -s $node->logfile;
sql(q{ALTER SYSTEM SET job_stagger.auto_optimize = on; ALTER SYSTEM SET job_stagger.auto_optimize_interval = '10s';
      SELECT pg_reload_conf();});
wait_for($node, q{SELECT count(*) > 0 FROM job_stagger.offset_changes WHERE changed_by = 'auto_optimize'},
	'the scheduler moved jobs');
my $auto_at = sql(q{SELECT max(changed_at) FROM job_stagger.offset_changes});
$node->wait_for_log(qr/job_stagger: auto_optimize moved \d+ jobs: predicted peak \d+ -> \d+/, $log_offset);
my $auto_rows = sql(q{SELECT string_agg(job_name || ':' || changed_by_role, ',' ORDER BY job_name)
                        FROM job_stagger.offset_changes WHERE changed_by = 'auto_optimize'});
like($auto_rows, qr/^([ab]\d:\Q$boot\E,?)+$/, "auto moves recorded as the scheduler's ($auto_rows)");
for my $job (split /,/, $auto_rows)
{
	$job =~ s/:.*//;
	ok($node->log_contains(qr/LOG:  job_stagger: auto_optimize moved job "$job" of role "opt_\w+" from offset \d+ to \d+/,
			$log_offset),
		"LOG line for $job");
}
like($auto_rows, qr/\bb1:/, "bob's unpinned job moved");
is(sql(q{SELECT offset_seconds || ':' || offset_pinned FROM job_stagger.jobs WHERE job_name = 'b2'}),
	'10:true', 'the pinned job stayed');
is(sql(q{SELECT count(DISTINCT offset_seconds) FROM job_stagger.jobs}), '5', 'all five jobs at different seconds');
is(sql(q{SELECT peak FROM stagger_simulate_totals()}), '1', 'predicted peak 1');
is(sql(q{SET ROLE opt_bob; SELECT string_agg(DISTINCT username, ',') FROM job_stagger.offset_changes}),
	'opt_bob', 'bob sees only the changes of his jobs');

# nothing left to improve: two more intervals move nothing
my $changes = sql(q{SELECT count(*) FROM job_stagger.offset_changes});
sleep(25);
is(sql(q{SELECT count(*) FROM job_stagger.offset_changes}), $changes, 'no further moves (hysteresis)');

# every job: one row per minute slot, consecutive minutes, none doubled
my $stop_at = sql(q{SELECT clock_timestamp()});
sql(q{UPDATE job_stagger.jobs SET active = false});
wait_for($node, q{SELECT count(*) = 0 FROM job_stagger.job_run_details WHERE status IN ('starting', 'running')},
	'every slot has a final status');
is(sql(q{SELECT count(*) FROM (SELECT jobid, nominal_at FROM job_stagger.job_run_details
                                GROUP BY 1, 2 HAVING count(*) > 1) d}), '0', 'no slot doubled');
is(sql(q{SELECT count(*) FROM (SELECT jobid, count(*) AS n,
                                      extract(epoch FROM max(nominal_at) - min(nominal_at)) / 60 + 1 AS span
                                 FROM job_stagger.job_run_details GROUP BY jobid) s WHERE n <> span}),
	'0', 'no slot lost (one row for every minute between the first and the last)');
is(sql(qq{SELECT count(*) FROM job_stagger.job_run_details
           WHERE status <> 'succeeded' AND scheduled_at < '$stop_at'::timestamptz - interval '2 s'}),
	'0', 'every run due before the stop succeeded')
  or diag(sql(q{SELECT string_agg(job_name || ' ' || status || ' ' || scheduled_at || ' ' || coalesce(return_message, ''),
                                  E'\n') FROM job_stagger.job_run_details WHERE status <> 'succeeded'}));
is(sql(q{SELECT count(*) FROM job_stagger.job_run_details r JOIN job_stagger.offset_changes c USING (jobid)
          WHERE r.scheduled_at > c.changed_at + interval '61 s'
            AND extract(second FROM r.scheduled_at) <> (SELECT o.offset_seconds FROM job_stagger.jobs o WHERE o.jobid = r.jobid)
            AND c.changeid = (SELECT max(changeid) FROM job_stagger.offset_changes l WHERE l.jobid = r.jobid)}),
	'0', 'after its last move every run of a job is at its final second');

$node->stop;
done_testing();
