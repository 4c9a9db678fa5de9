/* job_stagger--0.5--0.6.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION job_stagger UPDATE TO '0.6'" to load this file. \quit

/* ---- observed durations (lead) ---- */
/*
 * How long each job the caller can see runs: p50 and p95 of its last 20
 * finished runs (succeeded, failed or timed out; skipped and crashed runs
 * have no duration), and the estimate the simulator, the optimiser and the
 * placement of new jobs use: the p95, or 1 second for a job with no finished
 * run yet (source 'default'). Row-level security applies to both tables, so a
 * plain role sees its own jobs and runs only.
 */
CREATE FUNCTION job_stagger.job_durations(OUT jobid bigint, OUT job_name text, OUT runs integer, OUT p50 interval,
                                          OUT p95 interval, OUT estimate interval, OUT source text)
RETURNS SETOF record
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
SELECT j.jobid, j.job_name, coalesce(h.runs, 0)::integer, h.p50, h.p95,
       coalesce(h.p95, interval '1 second'),
       CASE WHEN h.runs > 0 THEN 'history' ELSE 'default' END
  FROM job_stagger.jobs j
  LEFT JOIN LATERAL (
      SELECT count(*) AS runs,
             percentile_cont(0.5) WITHIN GROUP (ORDER BY last.d) AS p50,
             percentile_cont(0.95) WITHIN GROUP (ORDER BY last.d) AS p95
        FROM (SELECT r.ended_at - r.started_at AS d
                FROM job_stagger.job_run_details r
               WHERE r.jobid = j.jobid AND r.started_at IS NOT NULL AND r.ended_at IS NOT NULL
                 AND r.status IN ('succeeded', 'failed', 'timed_out')
               ORDER BY r.scheduled_at DESC
               LIMIT 20) last
      HAVING count(*) > 0) h ON true
 ORDER BY j.jobid
$fn$;
COMMENT ON FUNCTION job_stagger.job_durations() IS
'per job: p50 and p95 duration of its last 20 finished runs, and the estimate used for simulation and placement (p95, else 1 second)';

/* ---- bulk scheduling speed and load-aware placement (branch bulkspeed) ---- */
/*
 * The triggers that keep the backend's job cache in step (per row) and that
 * NOTICE collisions (per statement) run in C: each written job is judged
 * against the cache's fire index (jobs by schedule class and offset), so
 * scheduling 10,000 jobs costs about what the rows cost. The NOTICE keeps
 * its text; per top-level statement at most 20 job NOTICEs, each naming at
 * most 10 jobs ("and N more"), then one NOTICE with the number of further
 * colliding jobs. The trigger definitions stay; only their functions change
 * (C functions, search_path pinned like every function of the extension).
 */
CREATE OR REPLACE FUNCTION job_stagger.jobs_note_rows()
RETURNS trigger
AS 'MODULE_PATHNAME', 'job_stagger_jobs_note_rows'
LANGUAGE C
SET search_path = pg_catalog, pg_temp;
CREATE OR REPLACE FUNCTION job_stagger.jobs_inserted()
RETURNS trigger
AS 'MODULE_PATHNAME', 'job_stagger_jobs_notice_collisions'
LANGUAGE C
SET search_path = pg_catalog, pg_temp;
CREATE OR REPLACE FUNCTION job_stagger.jobs_updated()
RETURNS trigger
AS 'MODULE_PATHNAME', 'job_stagger_jobs_notice_collisions'
LANGUAGE C
SET search_path = pg_catalog, pg_temp;
/*
 * role_id() in C: as a SQL function over pg_roles it was planned again in
 * every transaction (the validation trigger calls it twice per job written).
 */
CREATE OR REPLACE FUNCTION job_stagger.role_id(role_name text)
RETURNS oid
AS 'MODULE_PATHNAME', 'job_stagger_role_id'
LANGUAGE C STABLE STRICT
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION job_stagger.spread_offset(text, bigint) IS
'the offset a job with this schedule gets when none is given: the least loaded second given the jobs that might fire in the same minute and their observed durations, then the fewest collisions';
/* ---- end bulk scheduling speed and load-aware placement ---- */
