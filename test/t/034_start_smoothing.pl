# job_stagger.max_starts_per_second: 12 jobs due in the same second with a
# limit of 4 start 4 in that second and 4 in each of the next two (earlier due
# first, then by jobid), each delay recorded in job_run_details.start_delay
# and counted in a LOG line; with 0 all 12 start in their second; the limit
# is changed live with pg_reload_conf(); it cannot be combined with a
# catch-up window of 0.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use JobStagger::Test;
use Time::HiRes qw(time);

my $node = new_js_node('start_smoothing', conf => q{
job_stagger.max_starts_per_second = 4
});
sub sql { return $node->safe_psql('postgres', $_[0]); }

sql(q{CREATE TABLE public.starts (job text, at timestamptz DEFAULT clock_timestamp())});

# Schedules 12 jobs "<prefix>_01".."<prefix>_12" for one instant 5-6 s from
# now (a 6-field cron: that second of that minute), waits until all ran,
# and returns the instant (epoch).
sub burst
{
	my ($prefix) = @_;
	my $at = int(time()) + 6;
	my @t = gmtime($at);
	for my $i (1 .. 12)
	{
		my $name = sprintf('%s_%02d', $prefix, $i);
		sql(qq{SELECT stagger_schedule('$name', '$t[0] $t[1] $t[2] * * *',
			\$\$INSERT INTO public.starts (job) VALUES ('$name')\$\$)});
	}
	wait_for($node, qq{SELECT count(*) = 12 FROM job_stagger.job_run_details
		WHERE job_name LIKE '${prefix}_%' AND status = 'succeeded'}, "$prefix: all 12 runs succeeded");
	return $at;
}

# "second after the slot: runs" of the burst, by started_at, and the recorded delays.
sub per_second
{
	my ($prefix, $at) = @_;
	return sql(qq{SELECT string_agg(d || ':' || n, ' ' ORDER BY d) FROM (
		SELECT floor(extract(epoch FROM started_at))::bigint - $at AS d, count(*) AS n
		  FROM job_stagger.job_run_details WHERE job_name LIKE '${prefix}_%' GROUP BY 1) s});
}

sub delays
{
	my ($prefix) = @_;
	return sql(qq{SELECT string_agg(coalesce(start_delay::text, '-'), ' ' ORDER BY jobid)
		FROM job_stagger.job_run_details WHERE job_name LIKE '${prefix}_%'});
}

# 1. Limit 4: 4 + 4 + 4, the first four jobs (by jobid) on time.
my $at = burst('a');
is(sql(q{SELECT count(DISTINCT scheduled_at) FROM job_stagger.job_run_details WHERE job_name LIKE 'a_%'}), '1',
	'one slot instant for all (scheduled_at is the slot)');
is(sql(qq{SELECT extract(epoch FROM min(scheduled_at))::bigint FROM job_stagger.job_run_details
	WHERE job_name LIKE 'a_%'}), $at, 'scheduled at the instant');
is(per_second('a', $at), '0:4 1:4 2:4', 'limit 4: four runs start in each of three seconds');
is(delays('a'), '- - - - 00:00:01 00:00:01 00:00:01 00:00:01 00:00:02 00:00:02 00:00:02 00:00:02',
	'start_delay recorded; ties go by jobid');
is(sql(q{SELECT count(*) FROM job_stagger.job_run_details WHERE job_name LIKE 'a_%'
	AND started_at < scheduled_at + coalesce(start_delay, interval '0')}), '0',
	'no run starts before its delayed instant');
ok($node->log_contains(qr/8 run\(s\) delayed by job_stagger.max_starts_per_second = 4/),
	'the delays are counted in a LOG line');

# 2. Off (0), applied live: all twelve in their second.
sql(q{ALTER SYSTEM SET job_stagger.max_starts_per_second = 0});
sql(q{SELECT pg_reload_conf()});
sleep(1);
$at = burst('b');
is(per_second('b', $at), '0:12', 'limit 0: all twelve start in their second');
is(sql(q{SELECT count(*) FROM job_stagger.job_run_details WHERE job_name LIKE 'b_%' AND start_delay IS NOT NULL}),
	'0', 'and none has a start_delay');

# 3. Changed live to 5: 5 + 5 + 2.
sql(q{ALTER SYSTEM SET job_stagger.max_starts_per_second = 5});
sql(q{SELECT pg_reload_conf()});
sleep(1);
$at = burst('c');
is(per_second('c', $at), '0:5 1:5 2:2', 'limit 5 after a reload: 5 + 5 + 2');

# 4. The check hook: a catch-up window of 0 would skip instead of delay.
my ($rc, $out, $err) = $node->psql('postgres', q{ALTER SYSTEM SET job_stagger.catchup_window = 0});
like($err, qr/max_starts_per_second \(5\) delays the runs beyond it/, 'catchup_window 0 refused while smoothing');
($rc, $out, $err) = $node->psql('postgres', q{ALTER SYSTEM SET job_stagger.max_starts_per_second = -1});
isnt($rc, 0, 'a negative limit is refused');

$node->stop;
done_testing();
