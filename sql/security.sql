-- What a plain role may do with the extension's tables, and what it may not:
-- job ids, role OIDs and history are the scheduler's; no role can lock the
-- tables against the scheduler; a job belongs to its role's OID, so a new
-- role that reuses a dropped role's name inherits nothing.
SET timezone = 'UTC';
\set VERBOSITY terse
-- What every role may do with each relation of the extension, from the
-- catalog (a new table, view or grant shows up here): table-level privileges
-- of PUBLIC, column-level ones, and whether row-level security applies.
SELECT c.relname, c.relkind, c.relrowsecurity AS rls, coalesce(array_to_string(c.reloptions, ','), '') AS options,
       coalesce((SELECT string_agg(a.privilege_type, ', ' ORDER BY a.privilege_type)
                   FROM aclexplode(c.relacl) a WHERE a.grantee = 0), '') AS public_may,
       coalesce((SELECT string_agg(DISTINCT p.privilege_type, ', ')
                   FROM pg_attribute at, aclexplode(at.attacl) p
                  WHERE at.attrelid = c.oid AND p.grantee = 0), '') AS public_may_on_columns
  FROM pg_class c
 WHERE c.relnamespace = 'job_stagger'::regnamespace AND c.relkind IN ('r', 'v', 'S', 'p')
 ORDER BY c.relname;
-- per-role data is behind row-level security or a view that filters by role:
-- every table PUBLIC may read has RLS, except the ones without per-role data
SELECT c.relname AS readable_without_rls
  FROM pg_class c
 WHERE c.relnamespace = 'job_stagger'::regnamespace AND c.relkind = 'r' AND NOT c.relrowsecurity
   AND has_table_privilege('public', c.oid, 'SELECT')
 ORDER BY 1;

CREATE ROLE sec_a LOGIN;
CREATE ROLE sec_b LOGIN;

SET ROLE sec_a;
SELECT stagger_schedule('a_job', '0 0 1 1 *', 'SELECT 1', 5) > 0 AS scheduled;
-- ids, role OIDs, owners and timestamps are not writable
INSERT INTO job_stagger.jobs (jobid, job_name, schedule, command) VALUES (999999, 'x', '0 0 1 1 *', 'SELECT 1');
UPDATE job_stagger.jobs SET jobid = 999999 WHERE job_name = 'a_job';
UPDATE job_stagger.jobs SET roleid = 10 WHERE job_name = 'a_job';
UPDATE job_stagger.jobs SET owner = 'postgres' WHERE job_name = 'a_job';
INSERT INTO job_stagger.jobs (job_name, schedule, command, created_at) VALUES ('x', '0 0 1 1 *', 'SELECT 1', now());
-- nor is the role a job runs as, except to oneself
UPDATE job_stagger.jobs SET username = 'sec_b' WHERE job_name = 'a_job';
SELECT stagger_schedule('a_other', '0 0 1 1 *', 'SELECT 1', username => 'sec_b');
-- the columns a job is made of are
UPDATE job_stagger.jobs SET command = 'SELECT 2', overlap = 'queue' WHERE job_name = 'a_job';
SELECT job_name, command, overlap, roleid = 'sec_a'::regrole AS runs_as_sec_a FROM job_stagger.jobs;
RESET ROLE;

-- history: read your own, delete your own finished runs only, through the view
INSERT INTO job_stagger.job_run_details
    (jobid, job_name, username, database, command, status, scheduled_at, nominal_at, stagger_enabled,
     offset_seconds, effective_schedule)
SELECT j.jobid, j.job_name, j.username, j.database, j.command, s.status, t.at, t.at, false, 0, j.schedule
  FROM job_stagger.jobs j,
       (VALUES ('succeeded'), ('failed'), ('running'), ('starting')) s(status),
       (VALUES (timestamptz '2024-01-01 00:00+00'), (timestamptz '2024-06-01 00:00+00')) t(at)
 WHERE j.job_name = 'a_job';
SELECT count(*) = 8 AND bool_and(roleid = 'sec_a'::regrole) AS role_filled_in FROM job_stagger.job_run_details;
SET ROLE sec_b;
SELECT count(*) AS runs_sec_b_sees FROM job_stagger.job_run_details;
SELECT count(*) AS finished_runs_sec_b_sees FROM job_stagger.own_finished_runs;
SELECT stagger_delete_history() AS deleted_by_sec_b;
RESET ROLE;
SET ROLE sec_a;
DELETE FROM job_stagger.job_run_details;
TRUNCATE job_stagger.job_run_details;
UPDATE job_stagger.job_run_details SET status = 'succeeded';
SELECT runid FROM job_stagger.job_run_details FOR UPDATE;
SELECT status, count(*) FROM job_stagger.own_finished_runs GROUP BY 1 ORDER BY 1;
SELECT stagger_delete_history(older_than => '1 year', job_name => 'a_job') AS deleted_older_than_a_year;
SELECT stagger_delete_history(older_than => '-1 day');
SELECT stagger_delete_history(job_name => 'a_job') AS deleted;
DELETE FROM job_stagger.own_finished_runs;
-- the runs the scheduler is still writing stay
SELECT status, count(*) FROM job_stagger.job_run_details GROUP BY 1 ORDER BY 1;
RESET ROLE;

-- no lock that blocks the scheduler: not on the tables, not through a view
SET ROLE sec_a;
BEGIN;
LOCK TABLE job_stagger.jobs IN ACCESS EXCLUSIVE MODE;
ROLLBACK;
BEGIN;
LOCK TABLE job_stagger.jobs IN SHARE MODE;
ROLLBACK;
BEGIN;
LOCK TABLE job_stagger.job_run_details IN EXCLUSIVE MODE;
ROLLBACK;
BEGIN;
LOCK TABLE job_stagger.own_finished_runs IN ACCESS EXCLUSIVE MODE;
ROLLBACK;
RESET ROLE;
GRANT CREATE ON SCHEMA public TO sec_a;
SET ROLE sec_a;
CREATE VIEW public.sec_a_runs AS SELECT * FROM job_stagger.own_finished_runs;
BEGIN;
LOCK TABLE public.sec_a_runs IN ACCESS EXCLUSIVE MODE;
ROLLBACK;
-- the refused lock is gone with the subtransaction that took it
BEGIN;
SAVEPOINT s;
LOCK TABLE public.sec_a_runs IN ACCESS EXCLUSIVE MODE;
ROLLBACK TO SAVEPOINT s;
SELECT count(*) AS strong_locks_held FROM pg_locks
 WHERE pid = pg_backend_pid() AND relation = 'job_stagger.job_run_details'::regclass
   AND mode IN ('ShareLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock');
COMMIT;
-- weak modes are fine
BEGIN;
LOCK TABLE job_stagger.jobs IN ROW EXCLUSIVE MODE;
LOCK TABLE job_stagger.job_run_details IN ACCESS SHARE MODE;
COMMIT;
DROP VIEW public.sec_a_runs;
RESET ROLE;
REVOKE CREATE ON SCHEMA public FROM sec_a;
-- a superuser may
BEGIN;
LOCK TABLE job_stagger.jobs IN ACCESS EXCLUSIVE MODE;
COMMIT;

-- a role's own schema named job_stagger, in a database without the extension, is none of its business
\c postgres
GRANT CREATE ON DATABASE postgres TO sec_a;
SET ROLE sec_a;
CREATE SCHEMA job_stagger;
CREATE TABLE job_stagger.mine (x integer);
BEGIN;
LOCK TABLE job_stagger.mine IN ACCESS EXCLUSIVE MODE;
COMMIT;
DROP TABLE job_stagger.mine;
DROP SCHEMA job_stagger;
RESET ROLE;
REVOKE CREATE ON DATABASE postgres FROM sec_a;
\c contrib_regression
SET timezone = 'UTC';

-- a job belongs to its role's OID: after DROP ROLE, a new role of that name inherits nothing
CREATE ROLE sec_c LOGIN;
SET ROLE sec_c;
SELECT stagger_schedule('c_job', '0 0 1 1 *', 'SELECT 1', 9) > 0 AS scheduled;
RESET ROLE;
INSERT INTO job_stagger.job_run_details
    (jobid, job_name, username, database, command, status, scheduled_at, nominal_at, stagger_enabled,
     offset_seconds, effective_schedule)
SELECT j.jobid, j.job_name, j.username, j.database, j.command, 'succeeded', now(), now(), false, 0, j.schedule
  FROM job_stagger.jobs j WHERE j.job_name = 'c_job';
DROP ROLE sec_c;
CREATE ROLE sec_c LOGIN;
SET ROLE sec_c;
SELECT count(*) AS jobs_new_sec_c_sees FROM job_stagger.jobs;
SELECT count(*) AS runs_new_sec_c_sees FROM job_stagger.job_run_details;
SELECT stagger_unschedule('c_job');
-- the same job name is free for the new role: a new job, not the old one
SELECT stagger_schedule('c_job', '0 0 1 1 *', 'SELECT 2', 9) > 0 AS scheduled;
SELECT job_name, command FROM job_stagger.jobs;
RESET ROLE;
SELECT job_name, command, username, roleid = 'sec_c'::regrole AS new_role FROM job_stagger.jobs
 WHERE job_name = 'c_job' ORDER BY jobid;
-- reactivating the dropped role's job is refused until a superuser gives it to a role
UPDATE job_stagger.jobs SET active = false, roleid = 0
 WHERE job_name = 'c_job' AND NOT roleid = 'sec_c'::regrole;
SET ROLE sec_a;
UPDATE job_stagger.jobs SET active = true WHERE job_name = 'c_job';
RESET ROLE;
UPDATE job_stagger.jobs SET active = true, username = 'no_such_role' WHERE job_name = 'c_job' AND roleid = 0;
SELECT stagger_alter_job(jobid, username => 'sec_b', active => true) FROM job_stagger.jobs
 WHERE job_name = 'c_job' AND roleid = 0;
SELECT job_name, username, active, roleid = 'sec_b'::regrole AS given_to_sec_b FROM job_stagger.jobs
 WHERE username = 'sec_b';

-- clean up
DELETE FROM job_stagger.jobs WHERE username IN ('sec_a', 'sec_b', 'sec_c');
DELETE FROM job_stagger.job_run_details WHERE username IN ('sec_a', 'sec_b', 'sec_c');
DROP ROLE sec_a;
DROP ROLE sec_b;
DROP ROLE sec_c;
