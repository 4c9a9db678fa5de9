# Routes by which a role could make the launcher (the bootstrap superuser) run
# its code, each reproduced against a real server: the role stays a plain
# role, none of its code runs in the launcher, and an unrelated role's
# every-second job keeps one succeeded row per slot throughout.
#  (a) the owner of job_stagger.database_name shadows now(), make_interval(),
#      round(), =, ... in a schema it puts first in the database's search_path,
#      and sets other session settings for the database;
#  (b) that owner adds public.*(numeric, integer) (an exact match that would
#      beat pg_catalog's numeric * numeric) and schedules a job;
#  (c) a role with CREATE on public adds public.make_interval(secs integer);
#  (d) another role reads a run's application_name.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use JobStagger::Test;
use Time::HiRes qw(usleep);

my $node = new_js_node('attacks', no_extension => 1, conf => q{
job_stagger.database_name = 'appdb'
job_stagger.pool_sample_interval = 1
job_stagger.kpi_interval = 2
job_stagger.history_retention = '1d'
job_stagger.enabled = on
job_stagger.auto_rollback = on
});
my $db = 'appdb';
my $boot = $node->safe_psql('postgres', q{SELECT current_user});

# The test's own sessions must not run the attackers' code either (they are
# superuser): they ignore whatever the database owner sets.
$ENV{PGOPTIONS} = join(' ', '-c search_path=pg_catalog', '-c statement_timeout=0', '-c role=none',
	'-c default_transaction_read_only=off', '-c exit_on_error=off', "-c session_authorization=$boot");

$node->safe_psql('postgres', q{
	CREATE ROLE dbowner LOGIN;
	CREATE ROLE creator LOGIN;
	CREATE ROLE victim LOGIN;
	CREATE ROLE spy LOGIN;
	CREATE DATABASE appdb OWNER dbowner;
});
$node->safe_psql($db, q{
	CREATE EXTENSION job_stagger;
	GRANT CREATE ON SCHEMA public TO creator;
	-- every call of an attacker's function leaves a row, whoever makes it
	CREATE TABLE public.calls (fn text, who text DEFAULT current_user, at timestamptz DEFAULT clock_timestamp());
	GRANT INSERT, SELECT ON public.calls TO PUBLIC;
	-- the victim's job runs in another database: appdb's owner decides the settings of sessions in appdb
	SELECT stagger_schedule('victim_tick', '* * * * * *', 'SELECT 1', database => 'postgres', username => 'victim');
	SELECT stagger_alter_job(jobid, overlap => 'allow', timeout => '10 seconds')
	  FROM job_stagger.jobs WHERE job_name = 'victim_tick';
});

sub sql { return $node->safe_psql($db, $_[0]); }

sub poll
{
	my ($sql, $what) = @_;
	ok($node->poll_query_until($db, $sql), $what) or diag("gave up waiting for: $sql");
}

sub launcher_pid
{
	return sql(q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'job_stagger launcher' AND datname IS NOT NULL});
}

# Terminates the launcher and waits for the next one (which connects afresh and
# gets the database's settings); returns when it has recorded new runs.
sub restart_launcher
{
	my $old = launcher_pid();
	sql(qq{SELECT pg_terminate_backend($old)});
	$node->poll_query_until($db, qq{
		SELECT count(*) = 1 FROM pg_stat_activity
		 WHERE backend_type = 'job_stagger launcher' AND datname IS NOT NULL AND pid <> $old})
	  or die 'the launcher did not come back';
	my $now = sql(q{SELECT clock_timestamp()});
	poll(qq{SELECT count(*) > 0 FROM job_stagger.job_run_details WHERE job_name = 'victim_tick' AND status = 'succeeded'
	         AND scheduled_at > '$now'}, 'the new launcher runs jobs');
}

# Waits for one round of every kind of housekeeping after $since: pool samples,
# KPI snapshots, and a purge of history planted before.
sub housekeeping_ran
{
	my ($since, $label) = @_;
	sql(q{
		INSERT INTO job_stagger.job_run_details (jobid, job_name, username, database, command, status, scheduled_at,
		    nominal_at, stagger_enabled, offset_seconds, effective_schedule, roleid)
		SELECT 0, 'ancient', 'victim', 'appdb', 'SELECT 1', 'succeeded', t, t, false, 0, '* * * * *', 0
		  FROM generate_series(now() - interval '3 days', now() - interval '2 days', interval '1 hour') t});
	poll(qq{SELECT count(*) >= 2 FROM job_stagger.pool_samples WHERE sampled_at > '$since'}, "$label: pool samples taken");
	poll(qq{SELECT count(*) >= 1 FROM job_stagger.kpi_snapshots WHERE taken_at > '$since'}, "$label: KPI snapshot taken");
	poll(q{SELECT count(*) = 0 FROM job_stagger.job_run_details WHERE job_name = 'ancient'}, "$label: old history purged");
}

# The attacker is still a plain role, none of the attackers' functions ran in
# the launcher (nor anywhere else), and the victim's job lost and repeated
# no slot.
sub assert_safe
{
	my ($label, @roles) = @_;
	my $list = join(',', map { "'$_'" } @roles);
	is(sql(qq{SELECT string_agg(rolname, ',') FROM pg_roles WHERE rolname IN ($list) AND rolsuper}), '',
		"$label: the attacker is not superuser");
	is(sql(q{SELECT coalesce(string_agg(DISTINCT fn || ' by ' || who, ', '), 'none') FROM public.calls}), 'none',
		"$label: no shadow function or operator was called");
	$node->poll_query_until($db, q{
		SELECT count(*) = 0 FROM job_stagger.job_run_details
		 WHERE job_name = 'victim_tick' AND status IN ('starting', 'running')
		   AND scheduled_at < clock_timestamp() - interval '5 seconds'});
	is(sql(q{
		SELECT count(*) = count(DISTINCT scheduled_at)
		   AND count(*) = extract(epoch FROM max(scheduled_at) - min(scheduled_at)) + 1
		   AND bool_and(status = 'succeeded')
		  FROM job_stagger.job_run_details
		 WHERE job_name = 'victim_tick' AND scheduled_at < clock_timestamp() - interval '5 seconds'}),
		't', "$label: the other role's every-second job has one succeeded row per slot");
}

poll(q{SELECT count(*) >= 3 FROM job_stagger.job_run_details WHERE job_name = 'victim_tick' AND status = 'succeeded'},
	'the victim\'s job runs');

# (b) The database owner's operator in public, with the default search_path.
$node->safe_psql($db, q{
	SET ROLE dbowner;
	CREATE FUNCTION public.pwn_mul(numeric, integer) RETURNS numeric LANGUAGE plpgsql CALLED ON NULL INPUT AS $$
	BEGIN
		INSERT INTO public.calls (fn) VALUES ('*(numeric, integer)');
		BEGIN EXECUTE 'ALTER ROLE dbowner SUPERUSER'; EXCEPTION WHEN OTHERS THEN NULL; END;
		RETURN $1 OPERATOR(pg_catalog.*) $2;
	END $$;
	CREATE OPERATOR public.* (LEFTARG = numeric, RIGHTARG = integer, FUNCTION = public.pwn_mul);
	CREATE FUNCTION public.pwn_div(numeric, integer) RETURNS numeric LANGUAGE plpgsql CALLED ON NULL INPUT AS $$
	BEGIN
		INSERT INTO public.calls (fn) VALUES ('/(numeric, integer)');
		BEGIN EXECUTE 'ALTER ROLE dbowner SUPERUSER'; EXCEPTION WHEN OTHERS THEN NULL; END;
		RETURN $1 OPERATOR(pg_catalog./) $2;
	END $$;
	CREATE OPERATOR public./ (LEFTARG = numeric, RIGHTARG = integer, FUNCTION = public.pwn_div);
	SELECT stagger_schedule('owner_job', '*/2 * * * * *', 'SELECT 1', database => 'postgres');
	SELECT stagger_alter_job('owner_job', timeout => '5 seconds');
});
my $since = sql(q{SELECT clock_timestamp()});
poll(q{SELECT count(*) > 0 FROM job_stagger.job_run_details WHERE job_name = 'owner_job' AND status = 'succeeded'},
	'(b) the owner\'s job runs');
restart_launcher();
housekeeping_ran($since, '(b)');
assert_safe('(b)', 'dbowner');

# (c) A role with CREATE on public: make_interval(secs integer) is an exact
#     match for the launcher's make_interval(secs => int4).
$node->safe_psql($db, q{
	SET ROLE creator;
	CREATE FUNCTION public.make_interval(secs integer) RETURNS interval LANGUAGE plpgsql AS $$
	BEGIN
		INSERT INTO public.calls (fn) VALUES ('make_interval(integer)');
		BEGIN EXECUTE 'ALTER ROLE creator SUPERUSER'; EXCEPTION WHEN OTHERS THEN NULL; END;
		RETURN pg_catalog.make_interval(secs => secs);
	END $$;
	GRANT EXECUTE ON FUNCTION public.make_interval(integer) TO PUBLIC;
});
$since = sql(q{SELECT clock_timestamp()});
housekeeping_ran($since, '(c)');
assert_safe('(c)', 'creator');

# (a) The database owner's schema first in the database's search_path, with
#     shadows of what the launcher calls, and hostile session settings.
$node->safe_psql($db, q{
	SET ROLE dbowner;
	CREATE SCHEMA evil;
	CREATE FUNCTION evil.pwn(fn text) RETURNS void LANGUAGE plpgsql AS $$
	BEGIN
		INSERT INTO public.calls (fn) VALUES (fn);
		BEGIN EXECUTE 'ALTER ROLE dbowner SUPERUSER'; EXCEPTION WHEN OTHERS THEN NULL; END;
	END $$;
	CREATE FUNCTION evil.now() RETURNS timestamptz LANGUAGE plpgsql AS
		$$ BEGIN PERFORM evil.pwn('now()'); RETURN pg_catalog.now(); END $$;
	CREATE FUNCTION evil.clock_timestamp() RETURNS timestamptz LANGUAGE plpgsql AS
		$$ BEGIN PERFORM evil.pwn('clock_timestamp()'); RETURN pg_catalog.clock_timestamp(); END $$;
	CREATE FUNCTION evil.make_interval(secs integer) RETURNS interval LANGUAGE plpgsql AS
		$$ BEGIN PERFORM evil.pwn('make_interval()'); RETURN pg_catalog.make_interval(secs => secs); END $$;
	CREATE FUNCTION evil.round(numeric, integer) RETURNS numeric LANGUAGE plpgsql AS
		$$ BEGIN PERFORM evil.pwn('round()'); RETURN pg_catalog.round($1, $2); END $$;
	CREATE FUNCTION evil.ceil(numeric) RETURNS numeric LANGUAGE plpgsql AS
		$$ BEGIN PERFORM evil.pwn('ceil()'); RETURN pg_catalog.ceil($1); END $$;
	CREATE FUNCTION evil.to_regprocedure(text) RETURNS regprocedure LANGUAGE plpgsql AS
		$$ BEGIN PERFORM evil.pwn('to_regprocedure()'); RETURN pg_catalog.to_regprocedure($1); END $$;
	CREATE FUNCTION evil.texteq(text, text) RETURNS boolean LANGUAGE plpgsql AS
		$$ BEGIN PERFORM evil.pwn('=(text, text)'); RETURN $1 OPERATOR(pg_catalog.=) $2; END $$;
	CREATE OPERATOR evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = evil.texteq);
	CREATE FUNCTION evil.int8eq(bigint, bigint) RETURNS boolean LANGUAGE plpgsql AS
		$$ BEGIN PERFORM evil.pwn('=(bigint, bigint)'); RETURN $1 OPERATOR(pg_catalog.=) $2; END $$;
	CREATE OPERATOR evil.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = evil.int8eq);
	CREATE FUNCTION evil.mul(numeric, integer) RETURNS numeric LANGUAGE plpgsql CALLED ON NULL INPUT AS
		$$ BEGIN PERFORM evil.pwn('*(numeric, integer) in evil'); RETURN $1 OPERATOR(pg_catalog.*) $2; END $$;
	CREATE OPERATOR evil.* (LEFTARG = numeric, RIGHTARG = integer, FUNCTION = evil.mul);
	CREATE FUNCTION evil.backend_type() RETURNS text LANGUAGE plpgsql AS
		$$ BEGIN PERFORM evil.pwn('pg_stat_activity'); RETURN 'client backend'; END $$;
	CREATE VIEW evil.pg_stat_activity AS SELECT evil.backend_type() AS backend_type;
	GRANT USAGE ON SCHEMA evil TO PUBLIC;
	ALTER DATABASE appdb SET search_path = evil, pg_catalog;
	ALTER DATABASE appdb SET statement_timeout = 1;
	ALTER DATABASE appdb SET default_transaction_read_only = on;
	ALTER DATABASE appdb SET default_transaction_isolation = serializable;
	ALTER DATABASE appdb SET exit_on_error = on;
	ALTER DATABASE appdb SET force_parallel_mode = on;
	ALTER DATABASE appdb SET session_authorization = dbowner;
});
my $log_offset = -s $node->logfile;
restart_launcher();
ok($node->log_contains(
		qr/LOG:  job_stagger launcher ignores settings of database "appdb" and its role: .*search_path.*session_authorization.*statement_timeout/,
		$log_offset),
	'(a) the launcher says which database settings it ignores');
$since = sql(q{SELECT clock_timestamp()});
$node->safe_psql($db, q{SET ROLE dbowner; SELECT stagger_schedule('owner_job2', '* * * * * *', 'SELECT 2', database => 'postgres')}); # a reload
housekeeping_ran($since, '(a)');
sleep(3);
assert_safe('(a)', 'dbowner', 'creator');
poll(q{SELECT count(*) > 0 FROM job_stagger.job_run_details WHERE job_name = 'owner_job2' AND status = 'succeeded'},
	'(a) jobs scheduled after the attack run');

# (d) What another role sees of a run: the job's id, not its name.
$node->safe_psql($db, q{
	SELECT stagger_schedule('secret_payroll_export', '* * * * * *', 'SELECT pg_sleep(3)', database => 'postgres',
	                        username => 'victim');
});
my $jobid = sql(q{SELECT jobid FROM job_stagger.jobs WHERE job_name = 'secret_payroll_export'});
{
	local $ENV{PGOPTIONS} = '-c search_path=pg_catalog';
	my $seen = '';
	for (my $i = 0; $i < 600 && $seen eq ''; $i++)
	{
		$seen = $node->safe_psql('postgres', q{
			SELECT string_agg(application_name, ',') FROM pg_stat_activity WHERE application_name LIKE 'job_stagger job%'},
			extra_params => [ '-U', 'spy' ]);
		usleep(100_000) if $seen eq '';
	}
	like($seen, qr/^job_stagger job \d+(,job_stagger job \d+)*$/, "(d) another role sees runs by job id only ($seen)");
	like($seen, qr/\bjob_stagger job $jobid\b/, '(d) ... the running job among them');
	is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE '%secret_payroll%'},
			extra_params => [ '-U', 'spy' ]),
		'0', '(d) no job name in any application_name');
}

# Control: the shadows do work when a superuser's session resolves them, so
# the assertions above are not vacuous.
$node->safe_psql($db, q{SET search_path = "$user", public; SELECT pg_catalog.make_interval(secs => 1), make_interval(secs => 1)});
$node->safe_psql($db, q{SET search_path = evil, pg_catalog; SELECT now()});
is(sql(q{SELECT string_agg(rolname, ',' ORDER BY rolname) FROM pg_roles WHERE rolname IN ('dbowner', 'creator') AND rolsuper}),
	'creator,dbowner', 'control: resolved by a superuser session, the shadows grant superuser');

$node->stop;
done_testing();
