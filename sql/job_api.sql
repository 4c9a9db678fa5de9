-- The job API: stagger_schedule / stagger_unschedule / stagger_alter_job, their
-- errors, and row-level security between roles. Schedules here never fire
-- during the test (1 January) or jobs are inactive, so the output is stable.
SET timezone = 'UTC';
SET datestyle = 'ISO';
\set VERBOSITY terse

SELECT stagger_schedule('nightly', '0 0 1 1 *', 'SELECT 1') AS nightly_id \gset
SELECT jobid = :nightly_id AS same_id, job_name, schedule, command, database = current_database() AS here,
       username = current_user AS mine, active, offset_seconds, overlap, timeout
  FROM job_stagger.jobs;
-- scheduling the same name again updates the job (pg_cron semantics), same id
SELECT stagger_schedule('nightly', '0 0 1 1 *', 'SELECT 2') = :nightly_id AS same_id;
SELECT command FROM job_stagger.jobs WHERE job_name = 'nightly';
-- offsets: kept when NULL, set when given
SELECT stagger_schedule('nightly', '0 0 1 1 *', 'SELECT 2', 30) = :nightly_id;
SELECT stagger_schedule('nightly', '0 0 1 1 *', 'SELECT 2') = :nightly_id;
SELECT offset_seconds FROM job_stagger.jobs WHERE job_name = 'nightly';

-- bad input: a clear error and nothing written
SELECT stagger_schedule('bad', '61 * * * *', 'SELECT 1');
SELECT stagger_schedule('bad', '0 0 1 1 *', 'SELECT 1', 60);
SELECT stagger_schedule('bad', '0 0 1 1 *', 'SELECT 1', -1);
SELECT stagger_schedule('', '0 0 1 1 *', 'SELECT 1');
SELECT stagger_schedule('  ', '0 0 1 1 *', 'SELECT 1');
SELECT stagger_schedule('bad', '0 0 1 1 *', '');
SELECT stagger_schedule('bad', '0 0 1 1 *', NULL);
SELECT stagger_schedule('bad', NULL, 'SELECT 1');
SELECT stagger_schedule(NULL, '0 0 1 1 *', 'SELECT 1');
SELECT stagger_schedule('bad', '0 0 1 1 *', 'SELECT 1', database => 'no_such_db');
SELECT stagger_schedule('bad', '0 0 1 1 *', 'SELECT 1', username => 'no_such_role');
SELECT stagger_schedule('bad', '0 0 1 1 *', 'SELECT 1', database => 'template0');
CREATE ROLE regress_nologin NOLOGIN;
SELECT stagger_schedule('bad', '0 0 1 1 *', 'SELECT 1', username => 'regress_nologin');
SELECT count(*) AS jobs_named_bad FROM job_stagger.jobs WHERE job_name = 'bad';
-- a schedule that never fires is accepted with a notice
SELECT stagger_schedule('never', '0 0 30 2 *', 'SELECT 1') > 0 AS created;

-- alter: NULL leaves a field unchanged
SELECT stagger_alter_job('nightly', schedule => '0 0 1 1 *', overlap => 'queue', timeout => '5 minutes');
SELECT schedule, command, overlap, timeout, active FROM job_stagger.jobs WHERE job_name = 'nightly';
SELECT stagger_alter_job('nightly', timeout => '0');
SELECT timeout FROM job_stagger.jobs WHERE job_name = 'nightly';
SELECT stagger_alter_job(:nightly_id, active => false);
SELECT active FROM job_stagger.jobs WHERE jobid = :nightly_id;
SELECT stagger_alter_job('nightly', overlap => 'sometimes');
SELECT stagger_alter_job('nightly', timeout => '-1 second');
SELECT stagger_alter_job('nightly', schedule => '* * * * * * *');
SELECT stagger_alter_job('no_such_job', active => true);
SELECT stagger_alter_job(-1, active => true);
-- direct writes to the table get the same validation
UPDATE job_stagger.jobs SET schedule = 'every day' WHERE job_name = 'nightly';
INSERT INTO job_stagger.jobs (job_name, schedule, command) VALUES ('direct', '*/0 * * * *', 'SELECT 1');
UPDATE job_stagger.jobs SET offset_seconds = 75 WHERE job_name = 'nightly';
-- owner and created_at are kept by the table, whatever a writer says
UPDATE job_stagger.jobs SET owner = 'someone_else' WHERE job_name = 'nightly';
SELECT owner = current_user AS owner_kept FROM job_stagger.jobs WHERE job_name = 'nightly';

-- unschedule
SELECT stagger_unschedule('never');
SELECT stagger_unschedule('never');
SELECT stagger_unschedule(-1);

-- jobs are scheduled in the metadata database only
CREATE DATABASE regress_other;
\c regress_other
CREATE EXTENSION job_stagger;
SELECT stagger_schedule('elsewhere', '0 0 1 1 *', 'SELECT 1');
\c contrib_regression
SET timezone = 'UTC';
SET datestyle = 'ISO';
\set VERBOSITY terse
-- ... but may run in any database
SELECT stagger_schedule('remote', '0 0 1 1 *', 'SELECT 1', database => 'regress_other') > 0 AS created;
DROP DATABASE regress_other;

-- Row-level security: each role sees and changes only its own jobs and runs
CREATE ROLE regress_alice LOGIN;
CREATE ROLE regress_bob LOGIN;
SET ROLE regress_alice;
SELECT stagger_schedule('report', '0 0 1 1 *', 'SELECT 1') > 0 AS alice_created;
SELECT job_name, username, owner FROM job_stagger.jobs ORDER BY jobid;
SELECT stagger_schedule('steal', '0 0 1 1 *', 'SELECT 1', username => 'regress_bob');
RESET ROLE;
SET ROLE regress_bob;
SELECT stagger_schedule('report', '0 0 1 1 *', 'SELECT 2') > 0 AS bob_created;
SELECT job_name, username, command FROM job_stagger.jobs ORDER BY jobid;
SELECT stagger_unschedule('nightly');
UPDATE job_stagger.jobs SET command = 'SELECT 666' WHERE username = 'regress_alice';
DELETE FROM job_stagger.jobs WHERE username = 'regress_alice';
INSERT INTO job_stagger.jobs (job_name, schedule, command, username) VALUES ('x', '0 0 1 1 *', 'SELECT 1', 'regress_alice');
SELECT count(*) AS bob_sees_runs_of_others FROM job_stagger.job_run_details WHERE username <> current_user;
RESET ROLE;
-- a superuser sees everything and may schedule jobs that run as another role
SELECT job_name, username, command FROM job_stagger.jobs WHERE job_name = 'report' ORDER BY username;
SELECT stagger_schedule('for_bob', '0 0 1 1 *', 'SELECT 3', username => 'regress_bob') > 0 AS created;
SELECT username, owner = current_user AS owner_is_me FROM job_stagger.jobs WHERE job_name = 'for_bob';
-- two roles' jobs of the same name: a superuser must say which
SELECT stagger_alter_job('report', active => false);
SET ROLE regress_bob;
SELECT stagger_alter_job('for_bob', active => false);
SELECT job_name, active FROM job_stagger.jobs ORDER BY job_name;
RESET ROLE;

-- clean up
DELETE FROM job_stagger.jobs;
DROP ROLE regress_alice, regress_bob, regress_nologin;
