# Scheduling many jobs in one statement gives each job what scheduling it
# alone would: the same offsets, the same collisions, and the same NOTICE
# texts (one statement shows the first 20 and counts the rest in one summary
# NOTICE); a NOTICE names at most 10 jobs; and a job without an offset is
# placed where observed run durations leave the minute free.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use JobStagger::Test;

my $node = new_js_node('bulk', conf => "job_stagger.max_running_jobs = 2\n");

my @schedules = ('* * * * *', '*/5 * * * *', '*/10 * * * *', '0 * * * *', '30 2 * * *', '15 */2 * * 1-5',
	'*/15 * * * * *', '@hourly', '0 0 * * 0', '5 seconds', '0 12 * 6 *', '*/7 3-5 * * *');
my $n = 300;
my $array = 'ARRAY[' . join(', ', map { "'$_'" } @schedules) . ']';
my $k = scalar @schedules;

# The jobs' offsets and their collisions with staggering on, as one text each.
sub state_of
{
	return $node->safe_psql('postgres', q{
		SET job_stagger.enabled = on;
		SELECT string_agg(job_name || '=' || offset_seconds, ',' ORDER BY jobid) FROM job_stagger.jobs;
		SELECT string_agg(job_a || '/' || job_b || '/' || second, ',' ORDER BY job_a, job_b)
		  FROM stagger_collisions();
	});
}

# NOTICE and HINT lines of psql's stderr.
sub notices
{
	my ($stderr) = @_;
	return grep { /^(NOTICE|HINT):/ } map { s/^psql:<stdin>:\d+: //r } split /\n/, $stderr;
}

# (a) One statement.
my ($ret, $out, $bulk_err) = ('', '', '');
$node->psql('postgres',
	"SELECT count(stagger_schedule('j' || i, ($array)[1 + i % $k], 'SELECT 1')) FROM generate_series(1, $n) i",
	stdout => \$out, stderr => \$bulk_err, on_error_die => 1);
is($out, $n, "$n jobs scheduled in one statement");
my $bulk_state = state_of();
my @bulk = notices($bulk_err);

# (b) The same jobs one statement each, in a fresh session after removing them.
$node->safe_psql('postgres', 'DELETE FROM job_stagger.jobs');
my $script = join('', map { "SELECT stagger_schedule('j$_', '$schedules[$_ % $k]', 'SELECT 1');\n" } 1 .. $n);
my $single_err = '';
$node->psql('postgres', $script, stdout => \$out, stderr => \$single_err, on_error_die => 1);
my $single_state = state_of();
my @single = notices($single_err);

is($bulk_state, $single_state, 'same offsets and collisions as one statement per job');
my @single_jobs = grep { /^NOTICE:  job "/ } @single;
my @bulk_jobs = grep { /^NOTICE:  job "/ } @bulk;
cmp_ok(scalar @single_jobs, '>', 20, 'more than 20 jobs collide when scheduled one by one')
  or diag($single_err);
is(scalar @bulk_jobs, 20, 'one statement shows 20 job NOTICEs');
is_deeply([ @bulk[0 .. 39] ], [ @single[0 .. 39] ], 'the first 20 NOTICEs and HINTs are the same texts');
my $more = scalar(@single_jobs) - 20;
like($bulk[40] // '', qr/^NOTICE:  $more more jobs written by this statement fire in the same second as other jobs once staggering is enabled$/,
	'then one summary with the exact number of further colliding jobs');
like($bulk[41] // '', qr/^HINT:  See SELECT \* FROM stagger_collisions\(\);$/, 'and where to see them');
is(scalar @bulk, 42, 'nothing more');

# (c) A NOTICE names at most 10 jobs.
$node->safe_psql('postgres', 'DELETE FROM job_stagger.jobs');
my $err = '';
$node->psql('postgres',
	q{INSERT INTO job_stagger.jobs (job_name, schedule, command, offset_seconds)
	  SELECT 'x' || i, '* * * * *', 'SELECT 1', 7 FROM generate_series(1, 12) i},
	stderr => \$err, on_error_die => 1);
like($err,
	qr/NOTICE:  job "x12" \(offset 7\) fires in the same second as "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10" and 1 more once staggering is enabled\n/,
	'a NOTICE names 10 jobs and counts the others');

# (d) Placement by observed durations: a job at :05 whose runs take 50 s
# covers :05-:54; a new job goes into the free seconds (55-59, 0-4), as far
# as possible from the busy seconds 0 and 5: 55. (By fire seconds alone it
# would be 32, halfway between 5 and 60.)
$node->safe_psql('postgres', 'DELETE FROM job_stagger.jobs');
$node->safe_psql('postgres', q{
	SELECT stagger_schedule('long', '* * * * *', 'SELECT 1', 5);
	INSERT INTO job_stagger.job_run_details (jobid, job_name, username, database, command, status, scheduled_at,
	                                         nominal_at, started_at, ended_at, stagger_enabled, offset_seconds,
	                                         effective_schedule)
	SELECT j.jobid, 'long', current_user, 'postgres', 'SELECT 1', 'succeeded', t, t, t, t + interval '50 s', true, 5,
	       '5 * * * * *'
	  FROM job_stagger.jobs j, generate_series(now() + interval '1 day', now() + interval '1 day 20 minutes',
	                                           interval '1 minute') t
	 WHERE j.job_name = 'long';
});
is($node->safe_psql('postgres', q{SELECT extract(epoch FROM estimate)::integer FROM job_stagger.job_durations()
	WHERE job_name = 'long'}), '50', 'the long job is estimated at 50 s');
$node->safe_psql('postgres', q{SELECT stagger_schedule('short', '* * * * *', 'SELECT 1')});
is($node->safe_psql('postgres', q{SELECT offset_seconds FROM job_stagger.jobs WHERE job_name = 'short'}), '55',
	'a new job avoids the seconds the long job runs in');
# A daily job never meets an every-5-minutes-at-:30 one's minute... but always meets every-minute jobs.
$node->safe_psql('postgres', q{SELECT stagger_schedule('daily', '0 3 * * *', 'SELECT 1')});
my $daily = $node->safe_psql('postgres', q{SELECT offset_seconds FROM job_stagger.jobs WHERE job_name = 'daily'});
ok($daily < 5 || ($daily > 55 && $daily <= 59), "a daily job also stays out of the long job's window (got $daily)");

$node->stop;
done_testing();
