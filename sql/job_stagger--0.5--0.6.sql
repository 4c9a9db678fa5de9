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
