# Per-job time zones against the real scheduler (job_stagger.timezone = UTC):
# daily jobs written as the local time, in their own zone, of a minute T a
# little ahead (Asia/Kolkata +05:30, America/St_Johns -03:30,
# Asia/Kathmandu +05:45, and one in the default zone) each fire at the real
# instant T; the same local time read in UTC does not fire then. A job
# moved live to another zone with stagger_alter_job(timezone => ...) fires
# at its slot in the new zone, and a reload of job_stagger.timezone moves the
# jobs without a zone of their own only. job_status shows the zone, the next
# fire and the last run.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use JobStagger::Test;

my $node = new_js_node('job_timezones');

# T: the next minute at least 20 s away; T2 = T + 1 minute. Instants as epoch seconds.
my $now = $node->safe_psql('postgres', 'SELECT floor(extract(epoch FROM now()))::bigint');
my $t = (int($now / 60) + 1) * 60;
$t += 60 if $t - $now < 20;
my $t2 = $t + 60;

# "M H * * *" for an instant's local time in a zone (the server computes it, independently of job_stagger).
sub cron_at
{
	my ($epoch, $zone) = @_;
	return $node->safe_psql('postgres',
		"SELECT to_char(to_timestamp($epoch) AT TIME ZONE '$zone', 'FMMI FMHH24') || ' * * *'");
}

my %zoned = (
	tz_kolkata => 'Asia/Kolkata',
	tz_johns => 'America/St_Johns',
	tz_kathmandu => 'Asia/Kathmandu',);
for my $job (sort keys %zoned)
{
	my $cron = cron_at($t, $zoned{$job});
	$node->safe_psql('postgres',
		"SELECT stagger_schedule('$job', '$cron', 'SELECT 1', timezone => '$zoned{$job}')");
}
$node->safe_psql('postgres', "SELECT stagger_schedule('tz_default', '" . cron_at($t, 'UTC') . "', 'SELECT 1')");
# control: the Kolkata local time read in UTC is hours away
$node->safe_psql('postgres',
	"SELECT stagger_schedule('tz_kolkata_as_utc', '" . cron_at($t, 'Asia/Kolkata') . "', 'SELECT 1')");
# live: written for T2 in Kolkata, but first in New York (fires hours from now)
$node->safe_psql('postgres',
	    "SELECT stagger_schedule('tz_live', '"
	  . cron_at($t2, 'Asia/Kolkata')
	  . "', 'SELECT 1', timezone => 'America/New_York')");
# reload: written for T2 in Tokyo, following job_stagger.timezone (UTC: hours away)
$node->safe_psql('postgres', "SELECT stagger_schedule('tz_follows', '" . cron_at($t2, 'Asia/Tokyo') . "', 'SELECT 1')");

my $status = $node->safe_psql(
	'postgres', qq{
	SELECT string_agg(job_name || '=' || timezone || '\@' || (extract(epoch FROM next_fire)::bigint - $t), ' '
	                  ORDER BY job_name) FROM job_stagger.job_status});
note("job_status (next_fire - T): $status");
for my $job (sort keys %zoned)
{
	like($status, qr/\b$job=\Q$zoned{$job}\E\@0\b/, "job_status: $job in $zoned{$job}, next fire at T");
}
like($status, qr/\btz_default=UTC\@0\b/, 'job_status: a job without a zone follows job_stagger.timezone');
unlike($status, qr/\btz_live=[^ ]*\@(0|60)\b/, 'job_status: the New York job does not fire at T or T2');

# Live zone change: the next run moves to T2.
$node->safe_psql('postgres', "SELECT stagger_alter_job('tz_live', timezone => 'Asia/Kolkata')");
is( $node->safe_psql(
		'postgres',
		"SELECT timezone || '\@' || (extract(epoch FROM next_fire)::bigint - $t2) FROM job_stagger.job_status"
		  . " WHERE job_name = 'tz_live'"),
	'Asia/Kolkata@0',
	'stagger_alter_job(timezone): job_status shows the next fire at T2 in the new zone');

# Wait for T's runs.
wait_for(
	$node,
	"SELECT count(*) >= 4 FROM job_stagger.job_run_details WHERE scheduled_at = to_timestamp($t)"
	  . " AND status NOT IN ('starting', 'running')",
	'the runs due at T were recorded');

# Default zone change by reload, before T2: only the job without a zone moves.
$node->safe_psql('postgres', "ALTER SYSTEM SET job_stagger.timezone = 'Asia/Tokyo'");
$node->reload;
$node->poll_query_until('postgres', "SELECT current_setting('job_stagger.timezone') = 'Asia/Tokyo'")
  or die 'reload not seen';

my $at_t = $node->safe_psql(
	'postgres', qq{
	SELECT string_agg(job_name || ':' || status || ':' || (extract(epoch FROM scheduled_at)::bigint - $t), ' '
	                  ORDER BY job_name)
	  FROM job_stagger.job_run_details WHERE scheduled_at < to_timestamp($t2)});
note("runs before T2: $at_t");
for my $job ((sort keys %zoned), 'tz_default')
{
	like($at_t, qr/\b$job:succeeded:0\b/, "$job fired at the real instant T");
}
unlike($at_t, qr/\btz_kolkata_as_utc:/, 'the same local time read in UTC did not fire at T');
unlike($at_t, qr/\btz_live:/, 'tz_live did not fire before T2');

wait_for(
	$node,
	"SELECT count(*) >= 2 FROM job_stagger.job_run_details WHERE scheduled_at = to_timestamp($t2)"
	  . " AND status NOT IN ('starting', 'running')",
	'the runs due at T2 were recorded');
my $at_t2 = $node->safe_psql(
	'postgres', qq{
	SELECT string_agg(job_name || ':' || status, ' ' ORDER BY job_name)
	  FROM job_stagger.job_run_details WHERE scheduled_at = to_timestamp($t2)});
is($at_t2, 'tz_follows:succeeded tz_live:succeeded',
	'at T2: the job moved live to Kolkata and the job following the reloaded job_stagger.timezone');

# job_status after the runs: last run, counts, next fire a day later in each job's zone.
my $after = $node->safe_psql(
	'postgres', qq{
	SELECT string_agg(job_name || '=' || timezone || ',' || last_status || ',' || runs || ',' || successes
	                  || ',' || (floor(extract(epoch FROM last_start))::bigint - $t) || ','
	                  || (extract(epoch FROM next_fire)::bigint - $t), ' ' ORDER BY job_name)
	  FROM job_stagger.job_status WHERE job_name IN ('tz_kolkata', 'tz_johns', 'tz_follows')});
note("job_status after: $after");
like($after, qr/\btz_kolkata=Asia\/Kolkata,succeeded,1,1,0,86400\b/, 'job_status: tz_kolkata last run at T, next a day later');
like($after, qr/\btz_johns=America\/St_Johns,succeeded,1,1,0,86400\b/, 'job_status: tz_johns last run at T, next a day later');
like($after, qr/\btz_follows=Asia\/Tokyo,succeeded,1,1,60,86460\b/, 'job_status: tz_follows in the reloaded zone');

done_testing();
