-- Run control of 0.7: stagger_run_now() and the history columns of retries.
-- Errors (NULL, unknown job, another role's job), the row a manual run writes
-- in the caller's transaction (a rollback leaves nothing), a committed manual
-- run that the scheduler runs, and the defaults and checks of
-- job_run_details.attempt / triggered_by. The jobs never fire on their own
-- (1 January).
SET timezone = 'UTC';
\set VERBOSITY terse

CREATE ROLE rc_alice LOGIN;
CREATE ROLE rc_bob LOGIN;
SELECT stagger_schedule('rc_job', '0 0 1 1 *', 'SELECT 1', username => 'rc_alice') AS alice_job \gset
SELECT stagger_schedule('rc_other', '0 0 1 1 *', 'SELECT 1', username => 'rc_bob', active => false) AS bob_job \gset

-- errors
SELECT stagger_run_now(NULL);
SELECT stagger_run_now(NULL::text);
SELECT stagger_run_now(NULL::bigint);
SELECT stagger_run_now('no_such_job');
SELECT stagger_run_now(-1::bigint);

SELECT set_config('rc.alice_job', :'alice_job', false) IS NOT NULL AS noted;
SET ROLE rc_bob;
-- another role's job does not exist for it, by name or by id
SELECT stagger_run_now('rc_job');
DO $$
BEGIN
    PERFORM stagger_run_now(current_setting('rc.alice_job')::bigint);
EXCEPTION WHEN undefined_object THEN
    RAISE NOTICE 'by id: %', replace(SQLERRM, current_setting('rc.alice_job'), 'N');
END
$$;
-- and it cannot write the history itself
INSERT INTO job_stagger.job_run_details (jobid, job_name, username, database, command, status, scheduled_at,
                                         nominal_at, stagger_enabled, offset_seconds, effective_schedule)
VALUES (:alice_job, 'rc_job', 'rc_alice', current_database(), 'SELECT 1', 'starting', now(), now(), false, 0, '');
RESET ROLE;

-- the row is written in the caller's transaction: visible to it at once, gone with a rollback
SET ROLE rc_alice;
BEGIN;
SELECT stagger_run_now('rc_job') AS runid \gset
SELECT runid = :runid AS same_run, job_name, username, status, triggered_by, attempt, nominal_at = scheduled_at AS nominal_is_request,
       return_message, offset_seconds, exclusive_group
  FROM job_stagger.job_run_details WHERE jobid = :alice_job;
-- a second call while the first is pending: a second run (the overlap policy decides at its instant)
SELECT stagger_run_now(:alice_job) > :runid AS second_run;
SELECT count(*) FROM job_stagger.job_run_details WHERE jobid = :alice_job;
ROLLBACK;
SELECT count(*) AS rows_after_rollback FROM job_stagger.job_run_details WHERE jobid = :alice_job;
-- a subtransaction rolled back takes its run with it
BEGIN;
SAVEPOINT s;
SELECT stagger_run_now('rc_job') > 0 AS requested;
ROLLBACK TO SAVEPOINT s;
SELECT count(*) AS rows_after_savepoint_rollback FROM job_stagger.job_run_details WHERE jobid = :alice_job;
COMMIT;
RESET ROLE;

-- a superuser may run any job, an inactive one too; committed, the scheduler runs it
SELECT stagger_run_now(:bob_job) AS bob_run \gset
DO $$
DECLARE
    v_status text;
BEGIN
    FOR i IN 1 .. 300 LOOP
        SELECT status INTO v_status FROM job_stagger.job_run_details
         WHERE runid = (SELECT max(runid) FROM job_stagger.job_run_details WHERE job_name = 'rc_other');
        EXIT WHEN v_status NOT IN ('starting', 'running');
        PERFORM pg_sleep(0.1);
        PERFORM pg_stat_clear_snapshot();
    END LOOP;
END
$$;
SELECT runid = :bob_run AS same_run, status, triggered_by, attempt, username, started_at IS NOT NULL AS started
  FROM job_stagger.job_run_details WHERE jobid = :bob_job;

-- history columns: attempt defaults to 1, triggered_by 'retry' is allowed, nonsense is not
INSERT INTO job_stagger.job_run_details (jobid, job_name, username, database, command, status, scheduled_at,
                                         nominal_at, stagger_enabled, offset_seconds, effective_schedule)
VALUES (-5, 'rc_manual_row', 'rc_alice', current_database(), 'SELECT 1', 'succeeded', now(), now(), false, 0, '')
RETURNING attempt, triggered_by;
INSERT INTO job_stagger.job_run_details (jobid, job_name, username, database, command, status, scheduled_at,
                                         nominal_at, stagger_enabled, offset_seconds, effective_schedule,
                                         triggered_by, attempt)
VALUES (-5, 'rc_manual_row', 'rc_alice', current_database(), 'SELECT 1', 'failed', now(), now(), false, 0, '',
        'retry', 2)
RETURNING attempt, triggered_by;
INSERT INTO job_stagger.job_run_details (jobid, job_name, username, database, command, status, scheduled_at,
                                         nominal_at, stagger_enabled, offset_seconds, effective_schedule,
                                         triggered_by)
VALUES (-5, 'rc_manual_row', 'rc_alice', current_database(), 'SELECT 1', 'failed', now(), now(), false, 0, '',
        'again');
INSERT INTO job_stagger.job_run_details (jobid, job_name, username, database, command, status, scheduled_at,
                                         nominal_at, stagger_enabled, offset_seconds, effective_schedule, attempt)
VALUES (-5, 'rc_manual_row', 'rc_alice', current_database(), 'SELECT 1', 'failed', now(), now(), false, 0, '', 0);
SELECT column_default, is_nullable FROM information_schema.columns
 WHERE table_schema = 'job_stagger' AND table_name = 'job_run_details' AND column_name = 'attempt';

-- clean up
DELETE FROM job_stagger.job_run_details WHERE jobid IN (-5, :alice_job, :bob_job);
SELECT stagger_unschedule(:alice_job), stagger_unschedule(:bob_job);
DROP ROLE rc_alice;
DROP ROLE rc_bob;
