-- The validation trigger and stagger_schedule() in C (0.6): what the
-- PL/pgSQL versions did, plus what the C versions had to define anew.
SET timezone = 'UTC';
\set VERBOSITY terse

-- The CHECK constraints left on job_stagger.jobs: the ones for name,
-- command, exclusive group and group policy are gone (the trigger enforces
-- those rules first, with its own errors; PostgreSQL re-planned every CHECK
-- for each INSERT statement).
SELECT conname, pg_get_constraintdef(oid) AS definition
  FROM pg_constraint WHERE conrelid = 'job_stagger.jobs'::regclass AND contype = 'c' ORDER BY conname;

-- Direct writes still get the trigger's errors for those rules.
INSERT INTO job_stagger.jobs (job_name, schedule, command) VALUES (E' \t\n', '0 0 1 1 *', 'SELECT 1');
INSERT INTO job_stagger.jobs (job_name, schedule, command) VALUES ('fp_blank', '0 0 1 1 *', E'\r\n ');
INSERT INTO job_stagger.jobs (job_name, schedule, command, exclusive_group) VALUES ('fp_g', '0 0 1 1 *', 'SELECT 1', '');
INSERT INTO job_stagger.jobs (job_name, schedule, command, exclusive_group) VALUES ('fp_g', '0 0 1 1 *', 'SELECT 1', 'a/b');
INSERT INTO job_stagger.jobs (job_name, schedule, command, group_policy) VALUES ('fp_g', '0 0 1 1 *', 'SELECT 1', 'Skip');
SELECT stagger_schedule('fp_one', '0 0 1 1 *', 'SELECT 1', 7) > 0 AS created;
UPDATE job_stagger.jobs SET job_name = ' ' WHERE job_name = 'fp_one';
UPDATE job_stagger.jobs SET command = '' WHERE job_name = 'fp_one';
UPDATE job_stagger.jobs SET exclusive_group = repeat('g', 64) WHERE job_name = 'fp_one';
-- a long policy is shown cut to its first 32 characters, as left() cuts it
DO $$
DECLARE
    v_policy text;
    v_message text;
BEGIN
    FOREACH v_policy IN ARRAY ARRAY[repeat('x', 32), repeat('y', 33), repeat('é', 40), 'a' || repeat('ü', 31) || 'b'] LOOP
        BEGIN
            UPDATE job_stagger.jobs SET group_policy = v_policy WHERE job_name = 'fp_one';
        EXCEPTION WHEN invalid_parameter_value THEN
            GET STACKED DIAGNOSTICS v_message = MESSAGE_TEXT;
        END;
        IF v_message IS DISTINCT FROM format('group_policy must be skip or wait, got "%s"',
               CASE WHEN octet_length(v_policy) <= 32 THEN v_policy ELSE left(v_policy, 32) || '...' END) THEN
            RAISE WARNING 'policy %: %', v_policy, v_message;
        END IF;
    END LOOP;
END
$$;
-- the constraints that stay keep their errors
UPDATE job_stagger.jobs SET offset_seconds = 60 WHERE job_name = 'fp_one';
UPDATE job_stagger.jobs SET overlap = 'never' WHERE job_name = 'fp_one';
UPDATE job_stagger.jobs SET timeout = '-1 s' WHERE job_name = 'fp_one';

-- A name or command counts as blank exactly when it has no match of '\S'
-- (the C check falls back to the regular expression for characters whose
-- class depends on the locale).
DO $$
DECLARE
    v_text text;
    v_accepted boolean;
BEGIN
    FOREACH v_text IN ARRAY ARRAY[E'\x1c', E'\x1f', E'\x7f', E'\x01', E'\x0b\x0c', ' x ', E'\t.'] LOOP
        BEGIN
            PERFORM stagger_schedule(v_text, '0 0 1 1 *', 'SELECT 1');
            v_accepted := true;
        EXCEPTION WHEN invalid_parameter_value THEN
            v_accepted := false;
        END;
        IF v_accepted IS DISTINCT FROM (v_text ~ '\S') THEN
            RAISE WARNING 'name % accepted: %, regular expression says %', convert_to(v_text, 'UTF8'), v_accepted, v_text ~ '\S';
        END IF;
    END LOOP;
END
$$;
-- stagger_schedule keeps its INSERT's plan for the session: it still works
-- after the table changes, and updates the job of that name on conflict.
SELECT stagger_schedule('fp_plan', '0 0 1 1 *', 'SELECT 1') AS jobid \gset
ALTER TABLE job_stagger.jobs ADD COLUMN fp_extra integer;
SELECT stagger_schedule('fp_plan', '0 0 2 1 *', 'SELECT 2') = :jobid AS same_job;
ALTER TABLE job_stagger.jobs DROP COLUMN fp_extra;
SELECT stagger_schedule('fp_plan', '0 0 3 1 *', 'SELECT 3', 12) = :jobid AS same_job;
SELECT schedule, command, offset_seconds FROM job_stagger.jobs WHERE jobid = :jobid;
-- and its arguments' NULLs mean what they meant
SELECT stagger_schedule('fp_plan', '0 0 3 1 *', 'SELECT 3', NULL, NULL, NULL, NULL, NULL, NULL) = :jobid AS same_job;
SELECT database = current_database() AS db, username = current_user AS me, active, offset_seconds, group_policy
  FROM job_stagger.jobs WHERE jobid = :jobid;
SELECT stagger_schedule('fp_plan', NULL, 'SELECT 3');
SELECT stagger_schedule('fp_plan', '0 0 3 1 *', 'SELECT 3', -1);

-- the kept plan is planned again for another role (row-level security,
-- roleid): a plain role in the same session gets its own job of that name
CREATE ROLE regress_fp_plain LOGIN;
CREATE ROLE regress_fp_other LOGIN;
SET ROLE regress_fp_plain;
SELECT stagger_schedule('fp_plan', '0 0 4 1 *', 'SELECT 4') <> :jobid AS own_job;
SELECT job_name, schedule, username = current_user AS mine FROM job_stagger.jobs ORDER BY jobid;
SELECT stagger_schedule('fp_plan', '0 0 4 1 *', 'SELECT 4', username => 'regress_fp_other');
RESET ROLE;
SELECT job_name, schedule, command FROM job_stagger.jobs WHERE job_name = 'fp_plan' ORDER BY jobid;

-- clean up
DELETE FROM job_stagger.jobs;
DROP ROLE regress_fp_plain, regress_fp_other;
