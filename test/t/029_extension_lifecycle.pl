# The extension's life cycle without a restart: a fresh cluster that preloads
# the library but has no CREATE EXTENSION yet (one LOG with a HINT, then
# silence), CREATE EXTENSION (jobs fire), DROP EXTENSION (scheduling stops with
# one LOG, no error loop), CREATE EXTENSION again (jobs fire), all with the
# same launcher process. (017_history_faults.pl drops it while runs are going.)
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use JobStagger::Test;

my $quiet_seconds = 20;
my $node = new_js_node('lifecycle', no_extension => 1);
my $launcher_pid_sql = q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'job_stagger launcher'};
ok($node->poll_query_until('postgres', "SELECT count(*) = 1 FROM ($launcher_pid_sql) l"), 'the launcher runs');
my $pid = $node->safe_psql('postgres', $launcher_pid_sql);

# Log lines about job_stagger from an offset, without the statements of this test.
sub launcher_lines
{
	my ($offset) = @_;
	my @lines = grep { /job_stagger/ && !/statement: / } split /\n/, slurp_file($node->logfile, $offset);
	return @lines;
}

# 1. Fresh cluster: said once, clearly.
ok($node->poll_query_until('postgres', q{SELECT true}), 'server up');
sleep($quiet_seconds);
my $log = slurp_file($node->logfile);
my $waiting = () = $log =~ /LOG:  job_stagger: waiting for CREATE EXTENSION job_stagger in database "postgres"/g;
is($waiting, 1, "the launcher says once in $quiet_seconds s that the extension is not created yet");
like($log,
	qr/HINT:  Run CREATE EXTENSION job_stagger in database "postgres" \(job_stagger.database_name\); scheduling starts within 10 seconds, no restart needed\./,
	'... with a HINT what to do');
unlike($log, qr/(ERROR|WARNING|FATAL):.*job_stagger/, 'no error or warning while it waits');
cmp_ok(scalar(launcher_lines(0)), '<=', 3, "at most 3 job_stagger log lines in $quiet_seconds s");

# 2. CREATE EXTENSION: a job fires, no restart.
$node->safe_psql('postgres', q{
	CREATE EXTENSION job_stagger;
	CREATE TABLE ticks (phase text, at timestamptz DEFAULT clock_timestamp());
	SELECT stagger_schedule('tick', '* * * * * *', $$INSERT INTO ticks VALUES ('first')$$);
});
wait_for($node, q{SELECT count(*) >= 2 FROM ticks WHERE phase = 'first'}, 'CREATE EXTENSION: the job fires');

# 3. DROP EXTENSION: stops cleanly, one LOG, no loop.
my $offset = -s $node->logfile;
$node->safe_psql('postgres', q{DROP EXTENSION job_stagger});
my $dropped_at = $node->safe_psql('postgres', q{SELECT clock_timestamp()});
sleep($quiet_seconds);
$log = slurp_file($node->logfile, $offset);
my $drops = () = $log =~ /LOG:  job_stagger: extension dropped from database "postgres"; scheduling stopped/g;
is($drops, 1, 'DROP EXTENSION: one LOG');
like($log, qr/HINT:  CREATE EXTENSION job_stagger in database "postgres" starts scheduling again/, '... with a HINT');
unlike($log, qr/waiting for CREATE EXTENSION/, '... and not the start-up LOG again');
unlike($log, qr/(ERROR|WARNING|FATAL):/, "no error or warning in $quiet_seconds s after the drop");
my @lines = launcher_lines($offset);
cmp_ok(scalar(@lines), '<=', 4, "at most 4 job_stagger log lines in $quiet_seconds s after the drop")
  or diag(join("\n", @lines));
is($node->safe_psql('postgres', qq{SELECT count(*) FROM ticks WHERE at > '$dropped_at'::timestamptz + interval '1 second'}),
	'0', 'nothing runs after the drop');

# 4. CREATE EXTENSION again: resumes, same launcher.
$node->safe_psql('postgres', q{
	CREATE EXTENSION job_stagger;
	SELECT stagger_schedule('tick', '* * * * * *', $$INSERT INTO ticks VALUES ('again')$$);
});
wait_for($node, q{SELECT count(*) >= 2 FROM ticks WHERE phase = 'again'}, 'CREATE EXTENSION again: the job fires');

# 5. Quick drop / create cycles, then a job still fires.
for my $i (1 .. 3)
{
	$node->safe_psql('postgres', q{DROP EXTENSION job_stagger; CREATE EXTENSION job_stagger;});
}
$node->safe_psql('postgres', q{SELECT stagger_schedule('tick', '* * * * * *', $$INSERT INTO ticks VALUES ('cycles')$$)});
wait_for($node, q{SELECT count(*) >= 2 FROM ticks WHERE phase = 'cycles'}, 'after three drop/create cycles the job fires');
is($node->safe_psql('postgres', $launcher_pid_sql), $pid, 'the same launcher process throughout');
$log = slurp_file($node->logfile);
unlike($log, qr/background worker "job_stagger launcher" \(PID \d+\) exited/, 'the launcher never exited');
unlike($log, qr/ERROR:.*job_stagger/, 'no job_stagger ERROR in the whole log');
# Each quick cycle is a drop to the launcher (the extension's OID changed), so no run of a dropped
# extension is written into the new history ("the row of run N ... was gone; written again").
unlike($log, qr/WARNING:.*job_stagger/, 'no job_stagger WARNING in the whole log');

$node->stop;
done_testing();
