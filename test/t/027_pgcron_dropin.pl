# job_stagger_pgcron as a drop-in for pg_cron 1.4: pg_cron's documented usage
# examples (its README: schedule named and unnamed, schedule_in_database,
# alter_job, unschedule by id and by name, the errors, cron.job and
# cron.job_run_details, the DELETE clean-up job) run side by side against a
# real pg_cron cluster and a job_stagger + job_stagger_pgcron cluster. Each
# step must give the same result, the same cron.job rows (jobids aside) and
# the same error text. Where pg_cron reports XX000 (internal_error) we report
# a specific SQLSTATE, listed in %our_sqlstate (README, "Coming from pg_cron").
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use JobStagger::Test;

my $cron = new_js_node(
	'real_pgcron',
	conf => "shared_preload_libraries = 'pg_cron,job_stagger'\ncron.database_name = 'postgres'\n"
	  . "cron.use_background_workers = on\n");    # no TCP connections in TAP clusters
$cron->safe_psql('postgres', 'CREATE EXTENSION pg_cron');

# The drop-in refuses to install where pg_cron is.
my ($ret, $out, $err) = $cron->psql('postgres', 'CREATE EXTENSION job_stagger_pgcron');
like($err, qr/ERROR:  job_stagger_pgcron cannot be installed while pg_cron is installed in database "postgres"/,
	'CREATE EXTENSION job_stagger_pgcron fails where pg_cron is installed');
like($err, qr/HINT:  Move the jobs with SELECT \* FROM stagger_import_pg_cron\(drop_after => true\), then DROP EXTENSION pg_cron/,
	'with a HINT saying how to move');
is($cron->safe_psql('postgres', q{SELECT count(*) FROM pg_extension WHERE extname = 'job_stagger_pgcron'}), '0',
	'nothing installed');

my $ours = new_js_node('dropin');
$ours->safe_psql('postgres', 'CREATE EXTENSION job_stagger_pgcron');

# Every function of the drop-in pins search_path and none is SECURITY DEFINER.
is($ours->safe_psql('postgres', q{
	SELECT count(*) FROM pg_proc p JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
	 WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'job_stagger_pgcron')
	   AND (p.prosecdef OR NOT coalesce('search_path=pg_catalog, pg_temp' = ANY (p.proconfig), false))}),
	'0', 'every drop-in function runs with the caller\'s rights and a pinned search_path');

for my $node ($cron, $ours)
{
	$node->safe_psql('postgres', q{
		CREATE DATABASE some_other_database;
		CREATE ROLE alice LOGIN;
		GRANT USAGE ON SCHEMA cron TO alice;
		CREATE TABLE events (event_time timestamptz);
		GRANT ALL ON events TO alice;
	});
}

# The interface a tool sees: functions (arguments, defaults, results,
# privileges) and the views' columns.
my $interface = q{
	SELECT string_agg(format('%s(%s) %s %s', p.proname, pg_get_function_arguments(p.oid), pg_get_function_result(p.oid),
	                         has_function_privilege('alice', p.oid, 'EXECUTE')), E'\n' ORDER BY 1)
	  FROM pg_proc p
	 WHERE p.pronamespace = 'cron'::regnamespace
	   AND p.proname IN ('schedule', 'schedule_in_database', 'unschedule', 'alter_job')
	UNION ALL
	SELECT string_agg(format('%s.%s %s', c.relname, a.attname, format_type(a.atttypid, a.atttypmod)), E'\n' ORDER BY c.relname, a.attnum)
	  FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
	 WHERE c.relnamespace = 'cron'::regnamespace AND c.relname IN ('job', 'job_run_details')
	UNION ALL
	SELECT string_agg(format('%s %s %s', c.relname, has_table_privilege('alice', c.oid, 'SELECT'),
	                         has_table_privilege('alice', c.oid, 'DELETE')), E'\n' ORDER BY 1)
	  FROM pg_class c WHERE c.relnamespace = 'cron'::regnamespace AND c.relname IN ('job', 'job_run_details')};
is($ours->safe_psql('postgres', $interface), $cron->safe_psql('postgres', $interface),
	'same functions, signatures, defaults, results, grants and view columns as pg_cron 1.4');

# --- the side-by-side steps ----------------------------------------------

# Where pg_cron says XX000 (internal_error), our SQLSTATE for that message.
my @our_sqlstate = (
	[ qr/^could not find valid entry for job/ => '42704' ],
	[ qr/^Job \S+ does not exist or you don't own it/ => '42704' ],
	[ qr/^\w+ can not be NULL$/ => '22004' ],
	[ qr/^role ".*" does not exist$/ => '42704' ],
	[ qr/^must be superuser to / => '42501' ],);

my (%id_cron, %id_ours);

# Runs one step on a node: {name} in the SQL is that node's jobid of the job
# remembered under that name. Returns "result" or "ERROR <sqlstate> <text>".
sub run_step
{
	my ($node, $ids, $sql) = @_;
	$sql =~ s/\{([\w-]+)\}/exists $ids->{$1} ? $ids->{$1} : die "no job $1"/ge;
	my ($r, $o, $e) = $node->psql('postgres', "\\set VERBOSITY verbose\n$sql");
	if ($e =~ /ERROR:  (\w{5}): (.*)/) { return "ERROR $1 $2"; }
	return $o;
}

# A step on both clusters: the same result, or the same error text; a jobid
# result is remembered under $remember on each side.
sub both
{
	my ($what, $sql, %opt) = @_;
	my $c = run_step($cron, \%id_cron, $sql);
	my $o = run_step($ours, \%id_ours, $sql);
	if ($opt{remember})
	{
		like($c, qr/^\d+$/, "$what: pg_cron returns a jobid");
		like($o, qr/^\d+$/, "$what: drop-in returns a jobid");
		$id_cron{ $opt{remember} } = $c;
		$id_ours{ $opt{remember} } = $o;
		return;
	}
	if ($opt{same_as})
	{
		is($c, $id_cron{ $opt{same_as} }, "$what: pg_cron returns the job's id again");
		is($o, $id_ours{ $opt{same_as} }, "$what: drop-in returns the job's id again");
		return;
	}
	# jobids differ: an error text names the job by its remembered name
	for my $pair ([ \$c, \%id_cron ], [ \$o, \%id_ours ])
	{
		my ($text, $ids) = @$pair;
		next unless $$text =~ /^ERROR/;
		for my $name (keys %$ids) { $$text =~ s/\b$ids->{$name}\b/{$name}/g; }
	}
	if (!$opt{error})
	{
		unlike($c, qr/^ERROR/, "$what: pg_cron runs it") or return;
	}
	if ($c =~ /^ERROR (\w{5}) (.*)$/)
	{
		my ($c_state, $c_text) = ($1, $2);
		my ($o_state, $o_text) = $o =~ /^ERROR (\w{5}) (.*)$/ ? ($1, $2) : ('none', $o);
		is($o_text, $c_text, "$what: same error text");
		my $want = $c_state;
		if ($c_state eq 'XX000')
		{
			($want) = map { $_->[1] } grep { $c_text =~ $_->[0] } @our_sqlstate;
			$want //= 'a listed SQLSTATE';
		}
		is($o_state, $want, "$what: SQLSTATE $want" . ($c_state ne $want ? " (pg_cron: $c_state)" : ''));
		return;
	}
	is($o, $c, "$what: same result");
}

# What a tool sees in cron.job, jobids and the node's port aside.
my $job_rows = q{
	SELECT string_agg(concat_ws('|', schedule, command, nodename, nodeport = current_setting('port')::int,
	                            database, username, active, coalesce(jobname, '<null>')), E'\n'
	                  ORDER BY jobname NULLS FIRST, schedule)
	  FROM cron.job};

# pg_cron README: "Delete old data on Saturday at 3:30am (GMT)"
both('unnamed job', q{SELECT cron.schedule('30 3 * * 6', $$DELETE FROM events WHERE event_time < now() - interval '1 week'$$)},
	remember => 'delete-old');
# "Vacuum every day at 10:00am (GMT)", then changed to 3:00am by name
both('named job', q{SELECT cron.schedule('nightly-vacuum', '0 10 * * *', 'VACUUM')}, remember => 'nightly-vacuum');
both('same name again updates the job', q{SELECT cron.schedule('nightly-vacuum', '0 3 * * *', 'VACUUM')},
	same_as => 'nightly-vacuum');
both('cron.job after schedule', $job_rows);
both('unschedule by name', q{SELECT cron.unschedule('nightly-vacuum')});
both('unschedule by id', q{SELECT cron.unschedule({delete-old})});
both('cron.job after unschedule', $job_rows);
both('unschedule a missing name', q{SELECT cron.unschedule('nightly-vacuum')}, error => 1);
both('unschedule a missing id', q{SELECT cron.unschedule(4242424242)}, error => 1);
both('unschedule NULL (STRICT)', q{SELECT cron.unschedule(NULL::bigint) IS NULL});

both('schedule_in_database', q{SELECT cron.schedule_in_database('weekly-vacuum', '0 4 * * 0', 'VACUUM', 'some_other_database')},
	remember => 'weekly-vacuum');
both('alter_job', q{SELECT cron.alter_job({weekly-vacuum}, schedule := '0 5 * * 0', active := false)});
both('alter_job database and command', q{SELECT cron.alter_job(job_id := {weekly-vacuum}, database := 'postgres', command := 'VACUUM ANALYZE')});
both('schedule_in_database on an existing name changes schedule and command only (pg_cron 1.4)',
	q{SELECT cron.schedule_in_database('weekly-vacuum', '0 6 * * 0', 'VACUUM FULL', 'some_other_database', NULL, true)},
	same_as => 'weekly-vacuum');
both('cron.job after alter_job', $job_rows);

# Errors
both('invalid schedule', q{SELECT cron.schedule('bad-minute', '61 * * * *', 'SELECT 1')}, error => 1);
both('invalid schedule, unnamed', q{SELECT cron.schedule('every minute', 'SELECT 1')}, error => 1);
both('alter_job with an invalid schedule', q{SELECT cron.alter_job({weekly-vacuum}, schedule := '* * *')}, error => 1);
both('alter_job of a missing job', q{SELECT cron.alter_job(4242424242, active := false)}, error => 1);
both('alter_job of NULL', q{SELECT cron.alter_job(NULL, active := false)}, error => 1);
both('alter_job to a missing role', q{SELECT cron.alter_job({weekly-vacuum}, username := 'no_such_role')}, error => 1);
both('alter_job to a missing database', q{SELECT cron.alter_job({weekly-vacuum}, database := 'no_such_db')}, error => 1);
both('schedule_in_database, missing database', q{SELECT cron.schedule_in_database('x', '* * * * *', 'SELECT 1', 'no_such_db')}, error => 1);
both('schedule_in_database, missing role', q{SELECT cron.schedule_in_database('x', '* * * * *', 'SELECT 1', 'postgres', 'no_such_role')}, error => 1);
both('NULL job name', q{SELECT cron.schedule(NULL, '* * * * *', 'SELECT 1')}, error => 1);
both('NULL schedule', q{SELECT cron.schedule('x', NULL, 'SELECT 1')}, error => 1);
both('NULL command', q{SELECT cron.schedule('x', '* * * * *', NULL)}, error => 1);
both('unnamed with NULL (STRICT)', q{SELECT cron.schedule(NULL, 'SELECT 1') IS NULL});
both('cron.job unchanged by the errors', $job_rows);

# A plain role: its own jobs only; schedule_in_database and alter_job are
# not granted to PUBLIC.
both('plain role schedules', q{SET ROLE alice; SELECT cron.schedule('alice-cleanup', '0 1 * * *', 'DELETE FROM events')},
	remember => 'alice-cleanup');
both('plain role sees its own jobs', "SET ROLE alice; $job_rows");
both('plain role: schedule_in_database not granted',
	q{SET ROLE alice; SELECT cron.schedule_in_database('a2', '* * * * *', 'SELECT 1', 'postgres')}, error => 1);
both('plain role: alter_job not granted', q{SET ROLE alice; SELECT cron.alter_job({alice-cleanup}, active := false)}, error => 1);
both('plain role: unschedule another role\'s job by name', q{SET ROLE alice; SELECT cron.unschedule('weekly-vacuum')}, error => 1);
for my $node ($cron, $ours)
{
	$node->safe_psql('postgres', q{
		GRANT EXECUTE ON FUNCTION cron.schedule_in_database(text, text, text, text, text, boolean) TO alice;
		GRANT EXECUTE ON FUNCTION cron.alter_job(bigint, text, text, text, text, boolean) TO alice;
	});
}
both('granted: schedule_in_database for another role',
	q{SET ROLE alice; SELECT cron.schedule_in_database('a2', '* * * * *', 'SELECT 1', 'postgres', 'postgres')}, error => 1);
both('granted: alter_job of another role\'s job', q{SET ROLE alice; SELECT cron.alter_job({weekly-vacuum}, active := true)}, error => 1);
both('granted: alter_job changing the role', q{SET ROLE alice; SELECT cron.alter_job({alice-cleanup}, username := 'postgres')}, error => 1);
both('granted: alter_job of its own job', q{SET ROLE alice; SELECT cron.alter_job({alice-cleanup}, schedule := '0 2 * * *')});
both('granted: schedule_in_database as itself', q{SET ROLE alice; SELECT cron.schedule_in_database('a3', '0 3 * * *', 'SELECT 3', 'postgres')},
	remember => 'a3');
both('superuser sees every job', $job_rows);
both('plain role unschedules its own job by name', q{SET ROLE alice; SELECT cron.unschedule('a3')});

# Runs: cron.job_run_details (pg_cron runs at minute boundaries, so this waits up to a minute).
both('job that succeeds', q{SELECT cron.schedule('every-minute', '* * * * *', 'SELECT 1')}, remember => 'every-minute');
both('job that fails', q{SELECT cron.schedule('failing', '* * * * *', 'SELECT 1/0')}, remember => 'failing');
both('alice\'s job', q{SET ROLE alice; SELECT cron.schedule('alice-minute', '* * * * *', 'SELECT 2')}, remember => 'alice-minute');
for my $pair ([ $cron, \%id_cron, 'pg_cron' ], [ $ours, \%id_ours, 'drop-in' ])
{
	my ($node, $ids, $who) = @$pair;
	wait_for($node, qq{
		SELECT count(DISTINCT jobid) = 3 FROM cron.job_run_details
		 WHERE jobid IN ($ids->{'every-minute'}, $ids->{failing}, $ids->{'alice-minute'}) AND status IN ('succeeded', 'failed')},
		"$who: runs of jobs scheduled through cron.schedule appear in cron.job_run_details");
	# stop them, and let any run still going end
	$node->safe_psql('postgres', qq{SELECT cron.unschedule($ids->{'every-minute'}), cron.unschedule($ids->{failing})});
	$node->safe_psql('postgres', qq{SET ROLE alice; SELECT cron.unschedule($ids->{'alice-minute'})});
	wait_for($node, q{SELECT count(*) = 0 FROM cron.job_run_details WHERE status NOT IN ('succeeded', 'failed')},
		"$who: no run still going");
}
my $run_rows = q{
	SELECT string_agg(DISTINCT format('%s|%s|%s|%s|%s|%s|%s|%s', r.database, r.username, r.command, r.status,
	                                  r.job_pid > 0, r.start_time <= r.end_time, r.end_time > now() - interval '5 minutes',
	                                  r.status = 'succeeded' OR r.return_message LIKE '%division by zero%'), E'\n')
	  FROM cron.job_run_details r};
both('cron.job_run_details rows', $run_rows);
both('plain role sees its own runs', "SET ROLE alice; $run_rows");
both('pg_cron\'s clean-up job deletes nothing recent',
	q{WITH d AS (DELETE FROM cron.job_run_details WHERE end_time < now() - interval '7 days' RETURNING 1) SELECT count(*) FROM d});
both('a plain role deletes only its own runs',
	q{SET ROLE alice; WITH d AS (DELETE FROM cron.job_run_details WHERE end_time < now() RETURNING username)
	  SELECT count(*) > 0, bool_and(username = 'alice') FROM d});
both('alice\'s runs are gone, the others are kept',
	q{SELECT count(*) FILTER (WHERE username = 'alice'), count(*) FILTER (WHERE username = 'postgres') > 0 FROM cron.job_run_details});
both('the clean-up job deletes the rest', q{WITH d AS (DELETE FROM cron.job_run_details WHERE end_time < now() + interval '1 minute' RETURNING 1)
	  SELECT count(*) > 0 FROM d});
both('cron.job_run_details is empty', q{SELECT count(*) FROM cron.job_run_details});
is($ours->safe_psql('postgres', q{SELECT count(*) FROM job_stagger.job_run_details WHERE status <> 'skipped'}), '0',
	'the DELETE removed job_stagger\'s history rows');

$cron->stop;
$ours->stop;
done_testing();
