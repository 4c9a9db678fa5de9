# stagger_timeline() against the real scheduler: jobs at staggered offsets
# with pg_sleep durations run for a whole minute, and the history picture of
# that minute shows each run at its second, as long as it ran, the failure as
# an 'x', and one job at a time in the running row. The checks are shown to
# reject a picture one second off. The simulation of the next minute shows
# the same jobs at their offsets for their estimated durations.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use JobStagger::Test;

my $node = new_js_node('timeline', conf => "job_stagger.enabled = on\n");

# name, offset, command, seconds it sleeps
my @jobs = (
	[ 'tl_a', 5, 'SELECT pg_sleep(2)', 2 ],
	[ 'tl_b', 20, 'SELECT pg_sleep(4)', 4 ],
	[ 'tl_c', 40, 'SELECT pg_sleep(1)', 1 ],
	[ 'tl_fail', 50, 'SELECT 1/0', 0 ],);
for my $job (@jobs)
{
	my ($name, $offset, $command) = @$job;
	$node->safe_psql('postgres', "SELECT stagger_schedule('$name', '* * * * *', '$command', $offset)");
}

# A whole minute in which every job has run and finished.
wait_for(
	$node, q{
	SELECT count(DISTINCT jobid) = 4 FROM job_stagger.job_run_details
	 WHERE scheduled_at >= date_trunc('minute', now()) - interval '1 minute'
	   AND scheduled_at < date_trunc('minute', now()) AND status NOT IN ('starting', 'running')},
	'every job ran in the last whole minute');

# The picture, and where the recorded runs of the same minute started (one transaction: one now()).
my $out = $node->safe_psql(
	'postgres', q{
	BEGIN;
	SELECT line FROM stagger_timeline(1);
	SELECT job_name || '=' || (floor(extract(epoch FROM started_at)) - extract(epoch FROM date_trunc('minute', now()))
	                           + 60)::int
	  FROM job_stagger.job_run_details
	 WHERE scheduled_at >= date_trunc('minute', now()) - interval '1 minute' AND scheduled_at < date_trunc('minute', now())
	 ORDER BY 1;
	COMMIT;});
note($out);
my @lines = split /\n/, $out;
my %started = map { split /=/ } grep { /^tl_\w+=-?\d+$/ } @lines;
my %row = map { /^(\S+)\s+\|(.{60})\|$/ ? ($1 => $2) : () } @lines;

# Whether a minute's 60 characters are one run: its start mark at $at, then
# running for $seconds or one more (the run ends past its last whole second),
# ending in $end_mark if it failed; idle everywhere else.
sub one_run
{
	my ($chunk, $at, $seconds, $failed) = @_;
	return 0 unless defined $chunk && length($chunk) == 60;
	for my $len ($seconds, $seconds + 1)
	{
		next if $len < 1;
		my $run = $len == 1 ? ($failed ? 'x' : '>') : '>' . '#' x ($len - 2) . ($failed ? 'x' : '#');
		return 1 if $chunk eq '.' x $at . $run . '.' x (60 - $at - $len);
	}
	return 0;
}

is(join(',', sort keys %row), 'job,running,tl_a,tl_b,tl_c,tl_fail', 'the ruler, one row per job and the running row')
  or diag($out);
like($lines[0], qr/^job {17}\|\d\d:\d\d     10   15   20   25   30   35   40   45   50   55   \|$/, 'the ruler');
for my $job (@jobs)
{
	my ($name, $offset, undef, $seconds) = @$job;
	is($started{$name}, $offset, "$name: recorded start in second $offset of the minute");
	ok(one_run($row{$name}, $offset, $seconds, $name eq 'tl_fail'),
		"$name: drawn from second $offset for $seconds s" . ($name eq 'tl_fail' ? ' (x: failed)' : ''))
	  or diag("$name |$row{$name}|");
	# the same checks reject a picture one second late or early
	my $late = '.' . substr($row{$name} // '', 0, 59);
	my $early = substr($row{$name} // '', 1) . '.';
	ok(!one_run($late, $offset, $seconds, $name eq 'tl_fail') && !one_run($early, $offset, $seconds, $name eq 'tl_fail'),
		"$name: the check rejects the row one second off");
}

# The running row: per second, the jobs whose row is not idle there; staggered, never two.
my $expected = '';
for my $s (0 .. 59)
{
	my $n = grep { substr($row{ $_->[0] } // '', $s, 1) =~ /[>#x]/ } @jobs;
	$expected .= $n == 0 ? '.' : $n;
}
is($row{running}, $expected, 'the running row counts the jobs running in each second');
unlike($row{running} // '', qr/[2-9+]/, 'staggered: one job at a time');

# The simulation of the next minute: each job at its offset, for its job_durations() estimate
# rounded up to whole seconds (failures are not predicted).
$out = $node->safe_psql(
	'postgres', q{
	BEGIN;
	SELECT line FROM stagger_timeline(1, 'simulation');
	SELECT job_name || '=' || ceil(extract(epoch FROM estimate))::int FROM job_stagger.job_durations();
	SELECT 'next=' || to_char(date_trunc('minute', now()) + interval '1 minute', 'HH24:MI');
	COMMIT;});
note($out);
@lines = split /\n/, $out;
my %estimate = map { split /=/ } grep { /^\w+=[\d:]+$/ } @lines;
%row = map { /^(\S+)\s+\|(.{60})\|$/ ? ($1 => $2) : () } @lines;
like($lines[0], qr/^job {17}\|\Q$estimate{next}\E     10/, 'simulation: the ruler starts at the next minute');
for my $job (@jobs)
{
	my ($name, $offset) = @$job;
	my $len = $estimate{$name} // 0;
	my $run = '>' . '#' x ($len - 1);
	is($row{$name}, '.' x $offset . $run . '.' x (60 - $offset - $len),
		"simulation: $name from second $offset for its estimate of $len s");
}
ok($estimate{tl_b} >= 4 && $estimate{tl_b} <= 5, 'simulation: tl_b is estimated from its runs of 4 s');

$node->stop;
done_testing();
