# History settings: job_stagger.log_successful_runs = off keeps only what
# went wrong (a succeeded run's row is removed once its outcome is recorded,
# but exists while the run starts and runs), and is switched back on live;
# jobs.history_limit trims a job's finished rows to its newest N in the
# retention slices, never touching an unfinished row or another job.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use JobStagger::Test;

my $node = new_js_node('history_settings', conf => q{
job_stagger.log_successful_runs = off
job_stagger.history_retention = 0
});
sub sql { return $node->safe_psql('postgres', $_[0]); }

sql(q{CREATE TABLE public.ticks (job text, at timestamptz DEFAULT clock_timestamp())});

# 1. Off: succeeded rows go, failures and crashes stay.
sql(q{SELECT stagger_schedule('ok_1s', '1 seconds', $$INSERT INTO public.ticks VALUES ('ok')$$)});
sql(q{SELECT stagger_schedule('fail_1s', '1 seconds', 'SELECT 1/0')});
sql(q{SELECT stagger_schedule('crash_2s', '2 seconds', 'SELECT pg_terminate_backend(pg_backend_pid())')});
sql(q{SELECT stagger_schedule('slow_ok', '5 seconds',
	$$INSERT INTO public.ticks VALUES ('slow'); SELECT pg_sleep(2)$$)});

# While a succeeding run goes, its row is there (it is what survives a restart).
wait_for($node, q{SELECT count(*) > 0 FROM job_stagger.job_run_details
	WHERE job_name = 'slow_ok' AND status = 'running'}, 'a succeeding run has its row while it runs');
my $slow_runid = sql(q{SELECT runid FROM job_stagger.job_run_details
	WHERE job_name = 'slow_ok' AND status = 'running'});
wait_for($node, qq{SELECT count(*) = 0 FROM job_stagger.job_run_details WHERE runid = $slow_runid},
	'its row is removed once it succeeded');

sleep(5);
sql(q{SELECT stagger_alter_job(job_name, active => false) FROM job_stagger.jobs});
wait_for($node, q{SELECT count(*) = 0 FROM job_stagger.job_run_details WHERE status IN ('starting', 'running')},
	'every run ended');

cmp_ok(sql(q{SELECT count(*) FROM public.ticks WHERE job = 'ok'}), '>=', 4, 'the succeeding job ran');
is(sql(q{SELECT count(*) FROM job_stagger.job_run_details WHERE status = 'succeeded'}), '0',
	'no succeeded row is left');
cmp_ok(sql(q{SELECT count(*) FROM job_stagger.job_run_details WHERE job_name = 'fail_1s' AND status = 'failed'}),
	'>=', 4, 'the failing job keeps its rows');
is(sql(q{SELECT count(*) FROM job_stagger.job_run_details WHERE job_name = 'fail_1s' AND status <> 'failed'}),
	'0', 'and only failed ones');
cmp_ok(sql(q{SELECT count(*) FROM job_stagger.job_run_details WHERE job_name = 'crash_2s' AND status = 'crashed'}),
	'>=', 2, 'a crash is still recorded');

# 2. On again, live: succeeded rows are kept from the reload on.
sql(q{ALTER SYSTEM SET job_stagger.log_successful_runs = on});
sql(q{SELECT pg_reload_conf()});
sleep(1);
sql(q{SELECT stagger_alter_job('ok_1s', active => true)});
wait_for($node, q{SELECT count(*) >= 3 FROM job_stagger.job_run_details
	WHERE job_name = 'ok_1s' AND status = 'succeeded'}, 'switched on live: succeeded rows are kept again');
sql(q{SELECT stagger_alter_job('ok_1s', active => false)});

# 3. history_limit: the newest N finished rows of the job stay; an unfinished one
# (however old) is never removed; other jobs are untouched. Retention is 0 here:
# the per-job cap works without it.
sql(q{SELECT stagger_schedule('capped', '0 3 * * *', 'SELECT 1', active => false)});
sql(q{SELECT stagger_schedule('uncapped', '0 3 * * *', 'SELECT 1', active => false)});
sql(q{
	INSERT INTO job_stagger.job_run_details (jobid, job_name, username, database, command, status,
	       scheduled_at, nominal_at, started_at, ended_at, stagger_enabled, offset_seconds, effective_schedule, roleid)
	SELECT j.jobid, j.job_name, j.username, j.database, j.command,
	       CASE WHEN i % 7 = 0 THEN 'failed' ELSE 'succeeded' END,
	       t, t, t, t + interval '1 second', false, 0, j.schedule, j.roleid
	  FROM job_stagger.jobs j, generate_series(1, 500) i,
	       LATERAL (SELECT timestamptz '2026-01-01' + i * interval '1 minute' AS t) s
	 WHERE j.job_name IN ('capped', 'uncapped');
	INSERT INTO job_stagger.job_run_details (jobid, job_name, username, database, command, status,
	       scheduled_at, nominal_at, started_at, stagger_enabled, offset_seconds, effective_schedule, roleid)
	SELECT jobid, job_name, username, database, command, 'running',
	       timestamptz '2025-12-31', timestamptz '2025-12-31', timestamptz '2025-12-31', false, 0, schedule, roleid
	  FROM job_stagger.jobs WHERE job_name = 'capped';
});
my $expected_oldest = sql(q{SELECT min(scheduled_at) FROM (SELECT scheduled_at FROM job_stagger.job_run_details
	WHERE job_name = 'capped' AND status <> 'running' ORDER BY scheduled_at DESC LIMIT 10) s});
sql(q{SELECT stagger_alter_job('capped', history_limit => 10)});
wait_for($node, q{SELECT count(*) = 10 FROM job_stagger.job_run_details
	WHERE job_name = 'capped' AND status <> 'running'}, 'history_limit trims the job to its newest 10 finished rows');
is(sql(q{SELECT min(scheduled_at) FROM job_stagger.job_run_details WHERE job_name = 'capped' AND status <> 'running'}),
	$expected_oldest, 'the newest ones are kept');
is(sql(q{SELECT count(*) FROM job_stagger.job_run_details WHERE job_name = 'capped' AND status = 'running'}), '1',
	'the unfinished row is kept, however old');
is(sql(q{SELECT count(*) FROM job_stagger.job_run_details WHERE job_name = 'uncapped'}), '500',
	'a job without history_limit is untouched');
is(sql(q{SELECT count(*) FROM job_stagger.job_run_details WHERE job_name = 'fail_1s' AND status = 'failed'}) >= 4
	  ? 'kept' : 'trimmed', 'kept', 'other jobs keep their rows');

# Raising the cap keeps what is left; removing it (0) stops trimming.
sql(q{SELECT stagger_alter_job('capped', history_limit => 0)});
sql(q{
	INSERT INTO job_stagger.job_run_details (jobid, job_name, username, database, command, status,
	       scheduled_at, nominal_at, stagger_enabled, offset_seconds, effective_schedule, roleid)
	SELECT jobid, job_name, username, database, command, 'skipped', t, t, false, 0, schedule, roleid
	  FROM job_stagger.jobs, generate_series(timestamptz '2025-06-01', timestamptz '2025-06-01' + interval '19 minutes',
	       interval '1 minute') t WHERE job_name = 'capped';
});
sleep(12);    # more than a purge interval (10 s)
is(sql(q{SELECT count(*) FROM job_stagger.job_run_details WHERE job_name = 'capped' AND status <> 'running'}), '30',
	'history_limit 0 removes the cap');

$node->stop;
done_testing();
