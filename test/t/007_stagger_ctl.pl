# stagger-ctl, the command-line tool, against a real server: status, enable
# and disable (waiting for the scheduler to apply), the rollout checks, KPI
# and analysis reports, the timeline, and its errors and exit codes (2 usage, 3 connection,
# server or extension problem).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use JobStagger::Test;

my $node = new_js_node('ctl');
my $connstr = $node->connstr('postgres');

# Runs stagger-ctl (from PATH: the installed one); returns exit code, stdout, stderr.
sub ctl
{
	my ($args, %env) = @_;
	local %ENV = (%ENV, %env);
	my ($out, $err) = ('', '');
	IPC::Run::run([ 'stagger-ctl', @$args ], '>', \$out, '2>', \$err,
		IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
	return ($? >> 8, $out, $err);
}

# Runs stagger-ctl on the node's postgres database; checks the exit code.
sub ctl_ok
{
	my ($args, $code, $what) = @_;
	my ($rc, $out, $err) = ctl([ '-d', $connstr, @$args ]);
	is($rc, $code, "$what: exit code $code") or diag("stdout:\n$out\nstderr:\n$err");
	return ($out, $err);
}

# Usage.
my ($rc, $out, $err) = ctl(['--help']);
is($rc, 0, '--help exits 0');
like($out, qr/^Usage:\n  stagger-ctl .*<command>/m, '--help shows the usage');
like($out, qr/^  status$/m, '--help lists the commands');
($rc, $out, $err) = ctl([ 'check', '--help' ]);
like($out, qr/stagger-ctl \[-d CONNINFO\] check \[--window INTERVAL\]/, 'a command has its own --help');
($rc, $out, $err) = ctl([ '-d', $connstr, 'frobnicate' ]);
is($rc, 2, 'unknown command: exit code 2');
like($err, qr/^stagger-ctl: unknown command "frobnicate"\nhint: Try "stagger-ctl --help"\.$/m,
	'unknown command: message and hint');
($rc, $out, $err) = ctl([ '-d', $connstr, 'status', '--window', '1 hour' ]);
is($rc, 2, 'option of another command: exit code 2');
like($err, qr/option "--window" does not apply to command "status"/, 'option of another command: message');
($rc, $out, $err) = ctl([ '-d', $connstr, 'enable', '--timeout', 'soon' ]);
is($rc, 2, 'bad --timeout: exit code 2');

# status: the scheduler's pid, the setting at each stage, jobs, runs, summary.
$node->safe_psql('postgres', q{SELECT stagger_schedule('tick', '* * * * * *', 'SELECT 1')});
wait_for($node, q{SELECT count(*) >= 2 FROM job_stagger.job_run_details WHERE status = 'succeeded'}, 'tick runs');
my $pid = $node->safe_psql('postgres', 'SELECT launcher_pid FROM job_stagger.scheduler_status()');
($out, $err) = ctl_ok(['status'], 0, 'status');
my $extversion = $node->safe_psql('postgres', q{SELECT extversion FROM pg_extension WHERE extname = 'job_stagger'});
like($out, qr/^job_stagger \Q$extversion\E in database "postgres" as user "\w+"/, 'status: extension, database, user');
like($out, qr/state\s+running \(launcher pid $pid, started /, 'status: scheduler running with its pid');
like($out, qr/applied\s+off \(by the scheduler at /, 'status: the value the scheduler applied');
like($out, qr/=>\s+staggering is DISABLED and in effect/, 'status: no reload pending');
like($out, qr/active\s+1 of 1 jobs/, 'status: active jobs');
like($out, qr/^ succeeded \|\s+\d+$/m, 'status: runs of the last hour by status');
like($out, qr/== Summary \(stagger_summary\(\)\) ==\njob_stagger: staggering disabled/, 'status: the summary');
unlike($out, qr/NOTE: the jobs live in/, 'status: no note in job_stagger.database_name');

# enable / disable: applied by the scheduler before the command returns.
($out, $err) = ctl_ok(['enable'], 0, 'enable');
like($out, qr/^staggering enabled: applied by the scheduler in \d+ ms$/, 'enable: says how long the scheduler took');
is($node->safe_psql('postgres', 'SELECT applied_enabled FROM job_stagger.scheduler_status()'),
	't', 'enable: scheduler_status().applied_enabled is true when it returns');
($out, $err) = ctl_ok(['status'], 0, 'status after enable');
like($out, qr/=>\s+staggering is ENABLED and in effect/, 'status: enabled');

# A change written but not reloaded is a pending reload.
$node->safe_psql('postgres', 'ALTER SYSTEM SET job_stagger.enabled = off');
($out, $err) = ctl_ok(['status'], 0, 'status with a pending reload');
like($out, qr/configured\s+off \(in .*postgresql\.auto\.conf line \d+\)/, 'status: the configured value and its file');
like($out, qr/RELOAD PENDING: the config files say off but the server still runs with on/, 'status: reload pending');

($out, $err) = ctl_ok([ 'disable', '--timeout', '20' ], 0, 'disable');
like($out, qr/^staggering disabled: applied by the scheduler in \d+ ms$/, 'disable: says how long');
is($node->safe_psql('postgres', 'SELECT applied_enabled FROM job_stagger.scheduler_status()'),
	'f', 'disable: applied_enabled is false when it returns');

# enable needs ALTER SYSTEM: a plain user is told so, and nothing changes.
$node->safe_psql('postgres', 'CREATE ROLE plain LOGIN');
($rc, $out, $err) = ctl([ '-d', "$connstr user=plain", 'enable' ]);
is($rc, 3, 'enable as a non-superuser: exit code 3');
like($err, qr/permission denied: user "plain" is not a superuser, and ALTER SYSTEM SET job_stagger.enabled needs one/,
	'enable as a non-superuser: message');
like($err, qr/^hint: .*GRANT ALTER SYSTEM ON PARAMETER job_stagger.enabled TO plain/m,
	'enable as a non-superuser: hint');

# A scheduler that does not apply the change in time: the launcher is stopped (SIGSTOP) meanwhile.
kill 'STOP', $pid;
($rc, $out, $err) = ctl([ '-d', $connstr, 'enable', '--timeout', '0.5' ]);
kill 'CONT', $pid;
is($rc, 3, 'enable not applied in time: exit code 3');
like($err, qr/^stagger-ctl: timeout: the scheduler did not apply job_stagger.enabled = on within 0.5 s$/m,
	'enable not applied in time: message');
wait_for($node, 'SELECT applied_enabled FROM job_stagger.scheduler_status()', 'the launcher applies it once resumed');
ctl_ok(['disable'], 0, 'disable again');

# check: staggering off and no staggered history, so checks fail (exit 1).
($out, $err) = ctl_ok(['check'], 1, 'check on a fresh node');
like($out, qr/^ FAIL\s+\| stagger_enabled\s+\| job_stagger.enabled is off/m, 'check: a failed check shows as FAIL');
like($out, qr/^\d+ of 8 checks FAILED$/m, 'check: the count of failed checks');
($rc, $out, $err) = ctl([ '-d', $connstr, 'check', '--window', 'half an hour' ]);
is($rc, 2, 'check with a bad --window: exit code 2');
like($err, qr/^stagger-ctl: invalid --window "half an hour": invalid input syntax for type interval/m,
	"check with a bad --window: the server's message");

# A history of known shape, with staggering on (inactive jobs, so the scheduler adds no run):
# baseline 90 to 92 minutes ago with staggering off, the three jobs at :00 for 3 s (3 at once);
# the last 3 minutes staggered, each job at its own offset for 1 s (one at a time);
# pool samples at 50 and 62.5 % with staggering off, 6.3 and 12.5 % with it on.
ctl_ok(['enable'], 0, 'enable for the rollout');
$node->safe_psql('postgres', q{SELECT stagger_unschedule('tick')});
wait_for($node, q{SELECT NOT EXISTS (SELECT FROM job_stagger.job_run_details WHERE status IN ('starting', 'running'))},
	'no run in progress');
$node->safe_psql('postgres', q{
	DELETE FROM job_stagger.job_run_details;
	DELETE FROM job_stagger.pool_samples;
	SELECT stagger_schedule(j, '* * * * *', 'SELECT 1', offset_seconds => o, active => false)
	  FROM (VALUES ('ro_a', 10), ('ro_b', 20), ('ro_c', 30)) v(j, o);
	INSERT INTO job_stagger.job_run_details
		(jobid, job_name, username, database, command, status, scheduled_at, nominal_at, started_at, ended_at,
		 stagger_enabled, offset_seconds, effective_schedule)
	SELECT j.jobid, j.job_name, j.username, j.database, j.command, 'succeeded', d.due, n.nominal,
	       d.due + interval '1 ms', d.due + interval '1 ms' + d.dur, s.staggered,
	       CASE WHEN s.staggered THEN j.offset_seconds ELSE 0 END,
	       job_stagger.effective_schedule(j.schedule, j.offset_seconds, s.staggered)
	  FROM job_stagger.jobs j,
	       (VALUES (-92, false), (-91, false), (-90, false), (-3, true), (-2, true), (-1, true)) s(m, staggered),
	       LATERAL (SELECT date_trunc('minute', now()) + s.m * interval '1 minute' AS nominal) n,
	       LATERAL (SELECT n.nominal + CASE WHEN s.staggered THEN j.offset_seconds ELSE 0 END * interval '1 s' AS due,
	                       CASE WHEN s.staggered THEN interval '1 s' ELSE interval '3 s' END AS dur) d;
	INSERT INTO job_stagger.pool_samples (sampled_at, stagger_enabled, running_jobs, peak_running_jobs,
	                                      max_running_jobs, job_pool_pct, client_backends, max_connections,
	                                      conn_pool_pct)
	SELECT date_trunc('minute', now()) + m * interval '1 minute', staggered, 0, round(pct * 32 / 100), 32, pct,
	       conn, 100, conn
	  FROM (VALUES (-95, false, 50.0, 40), (-91, false, 62.5, 45), (-2, true, 6.3, 5), (-1, true, 12.5, 7))
	       v(m, staggered, pct, conn);
});
($out, $err) = ctl_ok([ 'check', '--window', '30 minutes' ], 0, 'check with a rollout as planned');
like($out, qr/^all 8 checks passed$/m, 'check: all passed');
unlike($out, qr/FAIL/, 'check: no FAIL');
like($out, qr/^ PASS\s+\| concurrency_reduced\s+\| peak concurrency 1 vs 3 baseline$/m,
	'check: a check with its detail');

# kpi: a snapshot of the last hour (the nine staggered runs), printed and written to a file.
my $dir = PostgreSQL::Test::Utils::tempdir() . '/reports';
($out, $err) = ctl_ok([ 'kpi', '--since', '1 hour', '--output-dir', $dir ], 0, 'kpi');
like($out, qr/^report written to (\Q$dir\E\/kpi_\d{8}_\d{6}\.txt)$/m, 'kpi: names the report file');
my ($file) = $out =~ /^report written to (.*)$/m;
ok(-f $file, 'kpi: the report file exists in --output-dir (created)');
my $report = -f $file ? slurp_file($file) : '';
like($report, qr/^job_stagger KPI snapshot #\d+$/m, 'kpi file: the snapshot');
like($report, qr/^  runs\s+9$/m, 'kpi file: the run count');
like($report, qr/^  peak concurrency\s+1 /m, 'kpi file: the peak concurrency');
like($report, qr/^ ro_b\s+\|\s+3 \|\s+1000.0 \|\s+1000.0$/m, 'kpi file: durations per job');
is($out, "$report\nreport written to $file\n", 'kpi: prints what it writes');
is($node->safe_psql('postgres', 'SELECT runs FROM job_stagger.kpi_snapshots ORDER BY snapshot_id DESC LIMIT 1'),
	'9', 'kpi: the snapshot is stored');
($rc, $out, $err) = ctl([ '-d', "$connstr user=plain", 'kpi', '--output-dir', $dir ]);
is($rc, 3, 'kpi as a plain user: exit code 3');
like($err, qr/^stagger-ctl: permission denied for function stagger_kpi_snapshot$/m, 'kpi as a plain user: message');

# report: the six views, each under its heading.
($out, $err) = ctl_ok([ 'report', '--limit', '2' ], 0, 'report');
for my $view (qw(concurrency duration_comparison success_rate start_distribution overlaps offset_verification))
{
	like($out, qr/^== .* \(job_stagger\.$view\) ==$/m, "report: heading of job_stagger.$view");
}
like($out, qr/^\s+minute\s+\| stagger_enabled \| runs \| peak_concurrency \|\s+worst_second\n-+\+/m,
	'report: a table with its header');
like($out, qr/\(job_stagger.concurrency\) ==\n.*\n.*\n \S+ \S+ +\| t /, 'report: latest minute first (staggered)');
like($out, qr/^\(first 2 rows; more with --limit\)$/m, 'report: --limit cuts a view and says so');

# timeline: the staggered runs above (the last 3 minutes, ro_a at :10, ro_b at :20, ro_c at :30,
# 1 s from 1 ms past the second: two seconds each). 5 minutes, so a minute turning meanwhile
# only shifts them; each minute of a job's row is idle or that one run.
($out, $err) = ctl_ok([ 'timeline', '--minutes', '5' ], 0, 'timeline');
my @lines = split /\n/, $out;
like($lines[0], qr/^job {17}(\|\d\d:\d\d     10   15   20   25   30   35   40   45   50   55   ){5}\|$/,
	'timeline: the ruler, five minutes with their times');
for my $job ([ 'ro_a', 10 ], [ 'ro_b', 20 ], [ 'ro_c', 30 ])
{
	my ($name, $at) = @$job;
	my ($row) = grep { /^\Q$name\E / } @lines;
	my @minutes = split /\|/, ($row // ''), -1;
	my $run = '.' x $at . '>#' . '.' x (58 - $at);
	my $runs = grep { $_ eq $run } @minutes[ 1 .. 5 ];
	my $idle = grep { $_ eq '.' x 60 } @minutes[ 1 .. 5 ];
	ok($runs >= 2 && $runs + $idle == 5, "timeline: $name runs at :$at for 2 s in each minute it ran")
	  or diag($out);
}
like($out, qr/^running {13}(\|(\.{10}11\.{8}11\.{8}11\.{28}|\.{60})){5}\|$/m,
	'timeline: the running row, one job at a time');
like($lines[-1], qr/^legend: /, 'timeline: ends with the legend');
($rc, $out, $err) = ctl([ '-d', "$connstr user=plain", 'timeline', '--minutes', '5' ]);
is($rc, 0, 'timeline as a plain user: exit code 0');
is(scalar(grep { /^ro_/ } split /\n/, $out), 0, "timeline as a plain user: not the others' jobs");
($rc, $out, $err) = ctl([ '-d', $connstr, 'timeline', '--minutes', '61' ]);
is($rc, 2, 'timeline --minutes 61: exit code 2');
like($err, qr/^stagger-ctl: invalid --minutes "61": expected a whole number from 1 to 60$/m,
	'timeline --minutes 61: message');
($rc, $out, $err) = ctl([ '-d', $connstr, 'timeline', '--source', 'future' ]);
is($rc, 2, 'timeline --source future: exit code 2');
($out, $err) = ctl_ok([ 'timeline', '--source', 'simulation', '--minutes', '2' ], 0, 'timeline --source simulation');
like($out, qr/^job {17}(\|\d\d:\d\d {5}10[ 0-9]{48}){2}\|\nrunning {13}(\|\.{60}){2}\|\nlegend: /,
	'timeline --source simulation: two minutes, no active job');
($rc, $out, $err) = ctl([ 'timeline', '--help' ]);
like($out, qr/stagger-ctl \[-d CONNINFO\] timeline \[--minutes N\] \[--source history\|simulation\]/,
	'timeline --help');

# Errors: a database without the extension, one that does not exist, wrong credentials.
$node->safe_psql('postgres', 'CREATE DATABASE nojs');
($rc, $out, $err) = ctl([ '-d', $node->connstr('nojs'), 'status' ]);
is($rc, 3, 'database without the extension: exit code 3');
like($err, qr/^stagger-ctl: job_stagger is not installed in database "nojs": run CREATE EXTENSION job_stagger$/m,
	'database without the extension: message');
like($err, qr/^hint: The jobs live in database "postgres" \(job_stagger.database_name\)/m,
	'database without the extension: hint names job_stagger.database_name');

# The extension in another database: status works there, and says where the jobs live.
$node->safe_psql('postgres', 'CREATE DATABASE other');
$node->safe_psql('other', 'CREATE EXTENSION job_stagger');
($rc, $out, $err) = ctl([ '-d', $node->connstr('other'), 'status' ]);
is($rc, 0, 'status in another database: exit code 0') or diag($err);
like($out, qr/^NOTE: the jobs live in database "postgres" \(job_stagger.database_name\), not in "other"/m,
	'status in another database: says it is not job_stagger.database_name');

($rc, $out, $err) = ctl([ '-d', $node->connstr('nosuchdb'), 'status' ]);
is($rc, 3, 'database that does not exist: exit code 3');
like($err, qr/^stagger-ctl: database "nosuchdb" does not exist$/m, 'database that does not exist: message');

# Password authentication for one role: its line goes first (the first matching line wins).
$node->safe_psql('postgres', q{CREATE ROLE alice LOGIN PASSWORD 'right'});
my $hba = slurp_file($node->data_dir . '/pg_hba.conf');
open(my $fh, '>', $node->data_dir . '/pg_hba.conf') or die "cannot write pg_hba.conf: $!";
print $fh "local all alice scram-sha-256\nhost all alice 127.0.0.1/32 scram-sha-256\n", $hba;
close($fh);
$node->reload;
($rc, $out, $err) = ctl([ '-d', "$connstr user=alice", 'status' ], PGPASSWORD => 'wrong');
is($rc, 3, 'wrong password: exit code 3');
like($err, qr/^stagger-ctl: authentication failed for user "alice"$/m, 'wrong password: message');
like($err, qr/password authentication failed for user "alice"/, "wrong password: libpq's message");
($rc, $out, $err) = ctl([ '-d', "$connstr user=alice", 'status' ], PGPASSWORD => 'right');
is($rc, 0, 'right password: status works') or diag($err);

# With PG* variables instead of -d, as psql.
($rc, $out, $err) = ctl(['status'], PGHOST => $node->host, PGPORT => $node->port, PGDATABASE => 'postgres');
is($rc, 0, 'connection from PGHOST/PGPORT/PGDATABASE') or diag($err);

# Server down.
$node->stop;
($rc, $out, $err) = ctl([ '-d', $connstr, 'status' ]);
is($rc, 3, 'server down: exit code 3');
like($err, qr/^stagger-ctl: cannot connect to the server/m, 'server down: message');
like($err, qr/connection to server on socket ".*" failed/, "server down: libpq's message");
like($err, qr/^hint: Is the server running locally with its socket in ".*" on port \d+\?$/m,
	'server down: asks whether the server runs there');

# No scheduler: no free background worker for the launcher (it cannot register).
$node->append_conf('postgresql.conf', 'max_worker_processes = 0');
$node->start;
($rc, $out, $err) = ctl([ '-d', $connstr, 'enable' ]);
is($rc, 3, 'enable without a scheduler: exit code 3');
like($err, qr/^stagger-ctl: no scheduler is running \(scheduler_status\(\).launcher_pid is NULL\)$/m,
	'enable without a scheduler: message');
like($err, qr/^hint: .*job_stagger.enabled was not changed\.$/m, 'enable without a scheduler: nothing changed');
($out, $err) = ctl_ok(['status'], 0, 'status without a scheduler');
like($out, qr/state\s+NOT RUNNING: no scheduler is running/, 'status without a scheduler: says so');

# The library not preloaded: it cannot be loaded later, so stagger-ctl must not call into it.
$node->append_conf('postgresql.conf', "shared_preload_libraries = ''");
$node->restart;
($rc, $out, $err) = ctl([ '-d', $connstr, 'status' ]);
is($rc, 3, 'library not preloaded: exit code 3');
like($err, qr/^stagger-ctl: no scheduler is running: job_stagger is not in shared_preload_libraries$/m,
	'library not preloaded: message');
$node->stop;

done_testing();
