# Trust: long C++ work ends on pg_cancel_backend from another session and on
# pg_terminate_backend, and the cross-parameter setting rules behave at server
# start and across reloads (postgresql.conf is applied in file order).
# No timing is asserted (shared machines); bench/cancel.sh measures latency.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use JobStagger::Test;

# Both above the default critical threshold (90): accepted at start only if
# pool_warn_pct's hook sees pool_crit_pct's value from the file.
my $node = new_js_node('cancel', conf => qq{
job_stagger.pool_warn_pct = 95
job_stagger.pool_crit_pct = 99
});

is($node->safe_psql('postgres', q{SELECT current_setting('job_stagger.pool_warn_pct') || '/' ||
	current_setting('job_stagger.pool_crit_pct')}), '95/99',
	'a consistent pair from postgresql.conf is accepted at start, whatever the defaults');

# 1000 jobs firing every second of each Feb 29: every pair collides, analysing
# them takes seconds (never runs during the test).
$node->safe_psql('postgres', q{
	ALTER TABLE job_stagger.jobs DISABLE TRIGGER jobs_collisions_insert;
	INSERT INTO job_stagger.jobs (job_name, schedule, command, offset_seconds)
	SELECT 'leap_' || g, '* * * 29 2 *', 'SELECT 1', 0 FROM generate_series(1, 1000) g;
	ALTER TABLE job_stagger.jobs ENABLE TRIGGER jobs_collisions_insert;
});

# Runs $sql in a background session, waits until it is active, then calls
# $signal (pg_cancel_backend or pg_terminate_backend) on it from this session.
# Returns the background session's stderr.
sub interrupt_query
{
	my ($sql, $signal) = @_;
	my $bg = $node->background_psql('postgres', on_error_stop => 0);
	my $pid = $bg->query_safe('SELECT pg_backend_pid()');
	$bg->query_until(qr/started\n/, "\\echo started\n$sql;\n");
	$node->poll_query_until('postgres',
		"SELECT state = 'active' FROM pg_stat_activity WHERE pid = $pid AND query LIKE '%stagger%'")
	  or diag("the query did not start: $sql");
	usleep(300_000);    # well into the C++ work (reading the jobs takes milliseconds)
	$node->safe_psql('postgres', "SELECT $signal($pid)");
	my $stderr;
	if ($signal eq 'pg_cancel_backend')
	{
		my ($out, $ret) = $bg->query('SELECT 1');
		is($out, '1', "the session still works after the cancel: $sql");
		$stderr = $bg->{stderr};
		$bg->quit;
	}
	else
	{
		$bg->{run}->finish;
		$stderr = $bg->{stderr};
	}
	return $stderr;
}

for my $sql (
	q{SELECT count(*) FROM stagger_collisions()},
	q{SELECT length(stagger_summary())},
	q{SELECT count(*) FROM stagger_next_runs('* * * * * *', '2026-01-01 00:00+00', 31000000)})
{
	like(interrupt_query($sql, 'pg_cancel_backend'), qr/canceling statement due to user request/,
		"pg_cancel_backend ends $sql");
}
like(interrupt_query(q{SELECT valid FROM stagger_validate()}, 'pg_terminate_backend'),
	qr/terminating connection due to administrator command/, 'pg_terminate_backend ends stagger_validate()');
is($node->safe_psql('postgres', q{SELECT count(*) FROM job_stagger.jobs WHERE job_name LIKE 'leap\_%'}), '1000',
	'the server is fine');
$node->safe_psql('postgres', q{DELETE FROM job_stagger.jobs WHERE job_name LIKE 'leap\_%'});

# A reload applies the file in order: lowering both thresholds with the
# critical one listed first refuses it midway (the warning one is still 95);
# the second reload, with the warning threshold now lowered, applies it.
my $log_offset = -s $node->logfile;
$node->append_conf('postgresql.conf', qq{
job_stagger.pool_crit_pct = 50
job_stagger.pool_warn_pct = 40
});
$node->reload;
wait_for($node, q{SELECT current_setting('job_stagger.pool_warn_pct') = '40'}, 'first reload: warning threshold lowered');
is($node->safe_psql('postgres', q{SELECT current_setting('job_stagger.pool_crit_pct')}), '99',
	'first reload: critical threshold refused midway');
ok($node->wait_for_log(qr/invalid value for parameter "job_stagger.pool_crit_pct": 50.*\n.*DETAIL:  job_stagger.pool_crit_pct \(50\) must be at least job_stagger.pool_warn_pct \(95\)/,
		$log_offset), 'the refusal is logged with the reason');
$node->reload;
wait_for($node, q{SELECT current_setting('job_stagger.pool_crit_pct') = '50'}, 'second reload applies it');

# An inconsistent pair in the file at start: the refused one keeps its default
# and the server starts.
$node->append_conf('postgresql.conf', qq{
job_stagger.pool_warn_pct = 95
job_stagger.pool_crit_pct = 92
});
$log_offset = -s $node->logfile;
$node->restart;
is($node->safe_psql('postgres', q{SELECT current_setting('job_stagger.pool_warn_pct') || '/' ||
	current_setting('job_stagger.pool_crit_pct')}), '80/92', 'inconsistent pair at start: the refused one keeps its default');
ok($node->log_contains(qr/invalid value for parameter "job_stagger.pool_warn_pct": 95/, $log_offset),
	'and is logged');

$node->stop;
done_testing();
