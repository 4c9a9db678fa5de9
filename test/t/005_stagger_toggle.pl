# End to end: toggle job_stagger.enabled live (ALTER SYSTEM + reload) while
# 5-field jobs run, and check from job_run_details the start seconds before
# and after, and that no slot was lost or run twice across the toggles.
#
#   minute M1  staggering off: a, b, c run at :00; turned on at :05 -> no rerun at :10/:20/:40
#   minute M2  on: a at :10, b at :20, c at :40 ... turned off at :15, b and c still pending
#              -> b and c run once, at once
#   minute M3  off: a, b, c at :00
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);
use JobStagger::Test;

my $node = new_js_node('toggle');

# Sleeps until second $s of the next minute that is at least $min_ahead seconds away.
sub sleep_until_second_of_minute
{
	my ($s, $min_ahead) = @_;
	my $now = time();
	my $target = int($now / 60) * 60 + $s;
	$target += 60 while $target < $now + $min_ahead;
	usleep(int(($target - $now) * 1_000_000));
	return $target;
}

# Toggles staggering live and waits until the launcher has applied it.
sub set_enabled
{
	my ($on) = @_;
	my $log_offset = -s $node->logfile;
	my $value = $on ? 'on' : 'off';
	my $state = $on ? 'enabled' : 'disabled';
	$node->safe_psql('postgres', "ALTER SYSTEM SET job_stagger.enabled = $value; SELECT pg_reload_conf();");
	$node->wait_for_log(qr/job_stagger: staggering is $state/, $log_offset);
	$node->wait_for_log(qr/job_stagger summary:\n\s*job_stagger: staggering $state/, $log_offset);
}

$node->safe_psql('postgres', q{
	SELECT stagger_schedule('a', '* * * * *', 'SELECT 1', 11);
	SELECT stagger_schedule('b', '* * * * *', 'SELECT 1', 20);
	SELECT stagger_schedule('c', '* * * * *', 'SELECT 1', 40);
});

# Overrides without writing the table: a moves from 11 to 10; the invalid entry
# for c and the unknown job are logged and ignored, the reload goes through.
my $log_offset = -s $node->logfile;
$node->safe_psql('postgres', q{ALTER SYSTEM SET job_stagger.offsets = 'a=10, c=abc, ghost=3'; SELECT pg_reload_conf();});
$node->wait_for_log(qr/job_stagger summary:/, $log_offset);
ok($node->log_contains(qr/WARNING:  job_stagger.offsets: offset of job "c" is not a number: "abc"/, $log_offset),
	'invalid override logged as a WARNING');
ok($node->log_contains(qr/WARNING:  job_stagger.offsets: no active job named "ghost"/, $log_offset),
	'override of an unknown job logged as a WARNING');
ok($node->log_contains(qr/a\s+\* \* \* \* \*\s+\* \* \* \* \*\s+10 /, $log_offset),
	'summary logged on reload with each job, its effective schedule and offset');

# M1: wait for a minute that starts with the jobs in place, then toggle on at :05.
my $m1 = sleep_until_second_of_minute(5, 3) - 5;
set_enabled(1);
my $m2 = $m1 + 60;
sleep_until_second_of_minute(15, 20) == $m2 + 15 or die 'test timing slipped';
set_enabled(0);
my $m3 = $m2 + 60;
sleep_until_second_of_minute(5, 1);
wait_for($node, qq{
	SELECT count(*) = 3 FROM job_stagger.job_run_details WHERE nominal_at = to_timestamp($m3) AND status = 'succeeded'},
	'third minute ran');

my $rows = $node->safe_psql('postgres', qq{
	SELECT job_name, extract(epoch FROM nominal_at)::bigint - $m1, extract(epoch FROM scheduled_at)::bigint - $m1,
	       floor(extract(epoch FROM started_at))::bigint - $m1, stagger_enabled, offset_seconds, effective_schedule, status
	  FROM job_stagger.job_run_details
	 WHERE nominal_at BETWEEN to_timestamp($m1) AND to_timestamp($m3)
	 ORDER BY nominal_at, job_name});
my @rows = map { [ split /\|/ ] } split /\n/, $rows;
my %by = map { ("$_->[0]\@$_->[1]" => $_) } @rows;

is(scalar(@rows), 9, 'three minutes x three jobs: nine runs, one per slot');
for my $job (qw(a b c))
{
	for my $minute (0, 60, 120)
	{
		ok(exists $by{"$job\@$minute"}, "job $job has its slot of minute +$minute");
	}
}
my %offset = (a => 10, b => 20, c => 40);

# M1: all at :00 with staggering off; enabling at :05 did not run them again.
for my $job (qw(a b c))
{
	my $r = $by{"$job\@0"};
	is("$r->[2] $r->[4] $r->[5] $r->[6] $r->[7]", '0 f 0 * * * * * succeeded', "M1: $job at :00, unstaggered");
}
# M2: a at its offset (staggering on); b and c were pending when it was turned off at :15 and ran then, once.
{
	my $r = $by{'a@60'};
	is("$r->[2] $r->[3] $r->[4] $r->[5] $r->[6]", '70 70 t 10 10 * * * * *', 'M2: a at :10 with its offset applied');
	for my $job (qw(b c))
	{
		$r = $by{"$job\@60"};
		ok($r->[3] >= 75 && $r->[3] < 60 + $offset{$job}, "M2: pending slot of $job ran once after the toggle off (second $r->[3])");
		is("$r->[4] $r->[5] $r->[7]", 'f 0 succeeded', "M2: $job ran unstaggered");
	}
}
# M3: all at :00 again.
for my $job (qw(a b c))
{
	my $r = $by{"$job\@120"};
	is("$r->[2] $r->[3] $r->[4]", '120 120 f', "M3: $job at :00");
}
is($node->safe_psql('postgres', qq{
	SELECT count(*) FROM job_stagger.job_run_details WHERE nominal_at > to_timestamp($m1 - 1) AND nominal_at <= to_timestamp($m3)
	 GROUP BY job_name, nominal_at HAVING count(*) > 1}), '', 'no slot ran twice');

$node->stop;
done_testing();
