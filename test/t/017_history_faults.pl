# Faults of the run history: nothing that ran is lost, and the launcher keeps
# running through them (no restart loop), says once what is wrong and how to
# fix it, and recovers by itself once the cause is gone.
#  1. TRUNCATE of job_run_details while runs are going: each run is written
#     again in full when it ends, with a WARNING.
#  2. A trigger a superuser added that rejects one job's rows: the other jobs
#     keep firing; the rejected slots are recorded once the trigger is gone.
#  3. A full file system under the history table (needs JS_SMALL_FS: a small
#     tmpfs owned by the server's OS user; scripts/test.sh mounts one as root).
#  4. DROP EXTENSION while runs are going, later CREATE EXTENSION again.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use JobStagger::Test;

my $node = new_js_node('history_faults');
# If the test dies, show the end of the server log (the TAP log directory may not survive the run).
$SIG{__DIE__} = sub {
	return if $^S;    # inside an eval
	my $log = eval { slurp_file($node->logfile) } // '';
	my @lines = split /\n/, $log;
	diag(join("\n", @lines[ ($#lines > 60 ? $#lines - 60 : 0) .. $#lines ]));
};
my $launcher_pid_sql = q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'job_stagger launcher'};
my $pid = $node->safe_psql('postgres', $launcher_pid_sql);
ok($pid =~ /^\d+$/, 'the launcher runs');

# Launcher lines of the server log since $offset matching $re.
sub count_log
{
	my ($offset, $re) = @_;
	my $log = slurp_file($node->logfile, $offset);
	my @hits = ($log =~ /$re/g);
	return scalar @hits;
}

# Every slot of job $name up to $until has exactly one row (consecutive
# seconds, no duplicate), and none is left open.
sub one_row_per_second
{
	my ($name, $until) = @_;
	$node->poll_query_until('postgres', qq{
		SELECT count(*) = 0 FROM job_stagger.job_run_details
		 WHERE job_name = '$name' AND scheduled_at <= '$until' AND status IN ('starting', 'running')})
	  or diag("$name: runs still unfinished");
	return $node->safe_psql('postgres', qq{
		SELECT count(*) = count(DISTINCT scheduled_at)
		   AND count(*) = extract(epoch FROM max(scheduled_at) - min(scheduled_at)) + 1
		  FROM job_stagger.job_run_details WHERE job_name = '$name' AND scheduled_at <= '$until'});
}

# 1. TRUNCATE while runs are going.
$node->safe_psql('postgres', q{
	CREATE TABLE public.ran (pid int, at timestamptz DEFAULT clock_timestamp());
	SELECT stagger_schedule('sleeper' || g, '* * * * * *',
	       $$SELECT pg_sleep(2.5); INSERT INTO public.ran (pid) VALUES (pg_backend_pid())$$)
	  FROM generate_series(1, 3) g;
	SELECT stagger_alter_job(jobid, overlap => 'allow') FROM job_stagger.jobs WHERE job_name LIKE 'sleeper%';
});
wait_for($node, q{SELECT count(*) >= 6 FROM job_stagger.job_run_details WHERE status = 'running'},
	'sleepers are running');
my $log_offset = -s $node->logfile;
my $truncated_at = $node->safe_psql('postgres',
	q{TRUNCATE job_stagger.job_run_details; SELECT clock_timestamp()});
sleep(4);
$node->safe_psql('postgres',
	q{SELECT stagger_alter_job(jobid, active => false) FROM job_stagger.jobs WHERE job_name LIKE 'sleeper%'});
wait_for($node, q{SELECT count(*) = 0 FROM job_stagger.job_run_details WHERE status IN ('starting', 'running')},
	'the sleepers finished');
is($node->safe_psql('postgres', qq{
	SELECT count(*) FROM public.ran r
	 WHERE r.at > '$truncated_at'
	   AND (SELECT count(*) FROM job_stagger.job_run_details d WHERE d.pid = r.pid AND d.status = 'succeeded') <> 1}),
	'0', 'every run that ended after the TRUNCATE has exactly one succeeded row');
my ($rewritten, $complete) = query_row($node, qq{
	SELECT count(*), count(*) FILTER (WHERE job_name LIKE 'sleeper%' AND command LIKE '%pg_sleep%'
	                                  AND username = 'postgres' AND database = 'postgres'
	                                  AND nominal_at = scheduled_at AND effective_schedule = '* * * * * *'
	                                  AND roleid = 'postgres'::regrole AND ended_at > started_at)
	  FROM job_stagger.job_run_details WHERE started_at < '$truncated_at'});
cmp_ok($rewritten, '>=', 3, 'runs going during the TRUNCATE have rows again');
is($complete, $rewritten, '... written in full (job, command, role, times)');
cmp_ok(count_log($log_offset,
		qr/WARNING:  job_stagger: the row of run \d+ of job \d+ "sleeper\d" was gone; written again in full/),
	'>=', $rewritten, 'one WARNING per run written again');
ok($node->log_contains(qr/DETAIL:  .*most likely by a TRUNCATE or DELETE of job_stagger.job_run_details/,
		$log_offset), '... naming the likely cause');

# 2. A trigger rejects one job's rows: the other job keeps firing. The jobs
# belong to two plain roles: one role's rows that cannot be written never
# stall another role's jobs.
$node->safe_psql('postgres', q{
	CREATE ROLE victim_role LOGIN;
	CREATE ROLE bystander_role LOGIN;
	SET ROLE victim_role;
	SELECT stagger_schedule('victim', '* * * * * *', 'SELECT 1');
	SET ROLE bystander_role;
	SELECT stagger_schedule('bystander', '* * * * * *', 'SELECT 2');
	RESET ROLE;
});
is($node->safe_psql('postgres', q{SELECT string_agg(job_name || ':' || username, ',' ORDER BY job_name)
	 FROM job_stagger.jobs WHERE job_name IN ('victim', 'bystander')}),
	'bystander:bystander_role,victim:victim_role', 'the two jobs belong to two plain roles');
wait_for($node, q{SELECT count(*) >= 2 FROM job_stagger.job_run_details WHERE job_name = 'victim' AND status = 'succeeded'},
	'victim runs');
$log_offset = -s $node->logfile;
$node->safe_psql('postgres', q{
	CREATE FUNCTION public.reject_victim() RETURNS trigger LANGUAGE plpgsql AS
	$$BEGIN IF NEW.job_name = 'victim' THEN RAISE EXCEPTION 'no rows for victim'; END IF; RETURN NEW; END$$;
	CREATE TRIGGER reject_victim BEFORE INSERT ON job_stagger.job_run_details
	    FOR EACH ROW EXECUTE FUNCTION public.reject_victim();
});
my $trigger_at = $node->safe_psql('postgres', q{SELECT clock_timestamp()});
sleep(6);
my $bystander_rows = $node->safe_psql('postgres', qq{
	SELECT count(*) FROM job_stagger.job_run_details
	 WHERE job_name = 'bystander' AND status = 'succeeded' AND scheduled_at > '$trigger_at'});
cmp_ok($bystander_rows, '>=', 4, 'the other job keeps firing while one job\'s rows are rejected');
$node->safe_psql('postgres', q{DROP TRIGGER reject_victim ON job_stagger.job_run_details});
my $dropped_at = $node->safe_psql('postgres', q{SELECT clock_timestamp()});
wait_for($node, qq{SELECT count(*) > 0 FROM job_stagger.job_run_details
	 WHERE job_name = 'victim' AND status = 'succeeded' AND scheduled_at > '$dropped_at'::timestamptz + interval '2 s'},
	'victim runs again once the trigger is gone');
my $until = $node->safe_psql('postgres', qq{SELECT '$dropped_at'::timestamptz + interval '1 s'});
is(one_row_per_second('victim', $until), 't', 'victim: exactly one row per slot, the rejected seconds included');
is(one_row_per_second('bystander', $until), 't', 'bystander: exactly one row per slot');
ok($node->log_contains(qr/WARNING:  job_stagger: recording runs failed \(will retry\): no rows for victim/, $log_offset),
	'the log names the failure');
ok($node->log_contains(qr/HINT:  A trigger or rule added to a job_stagger table raised this error/, $log_offset),
	'... and the fix');
cmp_ok(count_log($log_offset, qr/recording runs failed \(will retry\): no rows for victim/), '<=', 1,
	'... once, not per attempt');
ok($node->log_contains(qr/LOG:  job_stagger: recording runs succeeded after \d+ retries/, $log_offset),
	'one line when it recovers');
$node->safe_psql('postgres',
	q{SELECT stagger_alter_job(jobid, active => false) FROM job_stagger.jobs WHERE job_name IN ('victim', 'bystander')});

# 3. A full file system under the history table.
SKIP:
{
	my $fs = $ENV{JS_SMALL_FS};
	skip 'JS_SMALL_FS is not set (a small tmpfs the server can write; scripts/test.sh mounts one as root)', 12
	  unless defined $fs && -d $fs && -w $fs;
	my $ts = "$fs/ts_" . $node->port;
	mkdir $ts or die "mkdir $ts: $!";
	$node->safe_psql('postgres', qq{
		CREATE TABLESPACE small_fs LOCATION '$ts';
		ALTER TABLE job_stagger.job_run_details SET TABLESPACE small_fs;
		CREATE TABLE public.ticks (pid int);
		SELECT stagger_schedule('tick' || g, '* * * * * *', 'INSERT INTO public.ticks VALUES (pg_backend_pid())')
		  FROM generate_series(1, 2) g;
	});
	wait_for($node, q{SELECT count(*) >= 4 FROM job_stagger.job_run_details WHERE job_name LIKE 'tick%' AND status = 'succeeded'},
		'ticks run with the history on the small file system');
	$log_offset = -s $node->logfile;
	my $filler = "$fs/filler_" . $node->port;
	# Whatever happens below, free the space before the node is torn down (END blocks run last-defined first).
	eval q{END { unlink $filler if defined $filler && -e $filler; }};
	system("dd if=/dev/zero of=$filler bs=1M count=1024 >/dev/null 2>&1");
	my $filled_at = time();
	my $full = 0;
	for (1 .. 600)
	{
		$full = count_log($log_offset, qr/job_stagger: recording (?:runs|run outcomes) failed \(will retry\): .*No space left on device/);
		last if $full;
		usleep(100_000);
	}
	ok($full, 'the launcher says it cannot write the history: no space left');
	my $full_at = time();
	sleep(20);    # full for a while
	my $lines = count_log($log_offset, qr/WARNING:  job_stagger: recording (?:runs|run outcomes) failed/);
	my $restarts = count_log($log_offset, qr/background worker "job_stagger launcher" \(PID \d+\) exited/);
	my $minutes = (time() - $filled_at) / 60;
	diag(sprintf('full disk: %d launcher WARNING line(s), %d launcher restart(s) in %.1f min (%.1f lines/min, %.1f restarts/min)',
			$lines, $restarts, $minutes, $lines / $minutes, $restarts / $minutes));
	cmp_ok($lines, '<=', 3, 'the failure is logged once per kind of write, not every second');
	is($restarts, 0, 'the launcher does not restart');
	is($node->safe_psql('postgres', $launcher_pid_sql), $pid, '... same launcher process');
	ok($node->log_contains(qr/HINT:  The file system holding the table is full/, $log_offset), 'the HINT says what to do');
	unlink $filler or die "unlink $filler: $!";
	my $freed_at = $node->safe_psql('postgres', q{SELECT clock_timestamp()});
	wait_for($node, qq{SELECT count(*) > 0 FROM job_stagger.job_run_details
		 WHERE job_name = 'tick1' AND status = 'succeeded' AND scheduled_at > '$freed_at'::timestamptz + interval '2 s'},
		'jobs run again once space is back (no restart)');
	ok($node->log_contains(qr/LOG:  job_stagger: recording (?:runs|run outcomes) succeeded after \d+ retries/,
			$log_offset), 'one line when it recovers');
	$until = $node->safe_psql('postgres', qq{SELECT '$freed_at'::timestamptz + interval '1 s'});
	is(one_row_per_second('tick1', $until), 't', 'tick1: exactly one row per slot across the full disk');
	is(one_row_per_second('tick2', $until), 't', 'tick2: exactly one row per slot across the full disk');
	is($node->safe_psql('postgres', q{
		SELECT count(*) FROM public.ticks t
		 WHERE (SELECT count(*) FROM job_stagger.job_run_details d WHERE d.pid = t.pid AND d.status = 'succeeded') <> 1}),
		'0', 'every run that happened has its succeeded row (no outcome lost)');
	cmp_ok($node->safe_psql('postgres', qq{
		SELECT count(*) FROM job_stagger.job_run_details
		 WHERE job_name LIKE 'tick%' AND scheduled_at BETWEEN to_timestamp($full_at) AND '$freed_at'
		   AND (status = 'skipped' OR started_at > scheduled_at + interval '1 s')}),
		'>=', 10, 'the seconds without space are there: run late, or skipped (missed, or behind a late run)');
	is($node->safe_psql('postgres', $launcher_pid_sql), $pid, 'still the same launcher');
	$node->safe_psql('postgres',
		q{SELECT stagger_alter_job(jobid, active => false) FROM job_stagger.jobs WHERE job_name LIKE 'tick%'});
}

# 4. DROP EXTENSION while runs are going, then CREATE EXTENSION again.
$node->safe_psql('postgres', q{
	SELECT stagger_schedule('long', '* * * * * *', 'SELECT pg_sleep(3)');
	SELECT stagger_alter_job(jobid, overlap => 'allow') FROM job_stagger.jobs WHERE job_name = 'long';
});
wait_for($node, q{SELECT count(*) >= 2 FROM job_stagger.job_run_details WHERE job_name = 'long' AND status = 'running'},
	'long runs are going');
$log_offset = -s $node->logfile;
$node->safe_psql('postgres', q{DROP EXTENSION job_stagger});
sleep(5);
ok($node->log_contains(qr/LOG:  job_stagger: extension dropped from database "postgres"; scheduling stopped/, $log_offset),
	'the drop is logged');
ok($node->log_contains(qr/HINT:  CREATE EXTENSION job_stagger in database "postgres" starts scheduling again/, $log_offset),
	'... with what to do');
$node->safe_psql('postgres', q{
	CREATE EXTENSION job_stagger;
	SELECT stagger_schedule('after', '* * * * * *', 'SELECT 1');
});
my $created_at = $node->safe_psql('postgres', q{SELECT clock_timestamp()});
wait_for($node, q{SELECT count(*) >= 3 FROM job_stagger.job_run_details WHERE job_name = 'after' AND status = 'succeeded'},
	'scheduling resumes after CREATE EXTENSION, no restart needed');
is($node->safe_psql('postgres', $launcher_pid_sql), $pid, 'the same launcher process throughout');
is($node->safe_psql('postgres', q{SELECT count(*) FROM job_stagger.job_run_details WHERE job_name <> 'after'}),
	'0', 'runs of the dropped extension leave nothing in the new history');
is(count_log(0, qr/background worker "job_stagger launcher" \(PID \d+\) exited/), 0,
	'the launcher never exited during the whole test');

$node->stop;
done_testing();
