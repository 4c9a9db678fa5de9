/* job_stagger--0.6--0.7.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION job_stagger UPDATE TO '0.7'" to load this file. \quit

/* ---- per-job settings: retries, time zone, history cap (lead) ---- */
/*
 * Four per-job settings, validated by the C trigger job_stagger.jobs_validate()
 * like every other column (same errors through stagger_schedule,
 * stagger_alter_job or a direct write):
 * - max_retries 0-100 (0: a failed run is not retried) and retry_delay
 *   (1 second to 1 day): a failed, timed-out or crashed run is tried again
 *   after retry_delay, doubling per attempt up to a cap;
 * - timezone: the IANA zone the job's schedule is read in (NULL: the zone of
 *   job_stagger.timezone);
 * - history_limit: the most run rows kept for the job (NULL: no per-job cap,
 *   only job_stagger.history_retention).
 * A plain role may write them for its own jobs (column privileges).
 */
ALTER TABLE job_stagger.jobs
    ADD COLUMN max_retries integer NOT NULL DEFAULT 0,
    ADD COLUMN retry_delay interval NOT NULL DEFAULT interval '1 minute',
    ADD COLUMN timezone text,
    ADD COLUMN history_limit integer;
COMMENT ON COLUMN job_stagger.jobs.max_retries IS
'how many times a failed, timed-out or crashed run is tried again (0-100; 0: never)';
COMMENT ON COLUMN job_stagger.jobs.retry_delay IS
'wait before the first retry (1 second to 1 day); each further retry waits twice as long, up to a cap';
COMMENT ON COLUMN job_stagger.jobs.timezone IS
'IANA time zone the schedule is read in (NULL: job_stagger.timezone)';
COMMENT ON COLUMN job_stagger.jobs.history_limit IS
'most run rows kept for this job, newest first (NULL: no per-job cap; job_stagger.history_retention still applies)';
GRANT INSERT (max_retries, retry_delay, timezone, history_limit),
      UPDATE (max_retries, retry_delay, timezone, history_limit) ON job_stagger.jobs TO PUBLIC;

DROP FUNCTION stagger_schedule(text, text, text, integer, text, text, boolean, text, text);
CREATE FUNCTION stagger_schedule(job_name text, schedule text, command text, offset_seconds integer DEFAULT NULL,
                                 database text DEFAULT current_database(), username text DEFAULT current_user,
                                 active boolean DEFAULT true, exclusive_group text DEFAULT NULL,
                                 group_policy text DEFAULT NULL, max_retries integer DEFAULT NULL,
                                 retry_delay interval DEFAULT NULL, timezone text DEFAULT NULL,
                                 history_limit integer DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'job_stagger_stagger_schedule'
LANGUAGE C
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION stagger_schedule(text, text, text, integer, text, text, boolean, text, text, integer, interval,
                                     text, integer) IS
'create a job, or update the job of that name that runs as username; returns its jobid (NULL settings: the default for a new job, unchanged for an existing one)';

DROP FUNCTION stagger_alter_job(text, text, text, text, text, boolean, text, interval, text, text);
DROP FUNCTION stagger_alter_job(bigint, text, text, text, text, boolean, text, interval, text, text);
CREATE FUNCTION stagger_alter_job(job_id bigint, schedule text DEFAULT NULL, command text DEFAULT NULL,
                                  database text DEFAULT NULL, username text DEFAULT NULL,
                                  active boolean DEFAULT NULL, overlap text DEFAULT NULL,
                                  timeout interval DEFAULT NULL, exclusive_group text DEFAULT NULL,
                                  group_policy text DEFAULT NULL, max_retries integer DEFAULT NULL,
                                  retry_delay interval DEFAULT NULL, timezone text DEFAULT NULL,
                                  history_limit integer DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
#variable_conflict use_column
BEGIN
    IF stagger_alter_job.overlap IS NOT NULL AND stagger_alter_job.overlap NOT IN ('skip', 'queue', 'allow') THEN
        RAISE EXCEPTION 'overlap must be skip, queue or allow, got "%"', stagger_alter_job.overlap
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF stagger_alter_job.timeout < interval '0' THEN
        RAISE EXCEPTION 'timeout must not be negative, got %', stagger_alter_job.timeout
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    UPDATE job_stagger.jobs
       SET schedule = coalesce(stagger_alter_job.schedule, schedule),
           command = coalesce(stagger_alter_job.command, command),
           database = coalesce(stagger_alter_job.database, database),
           username = coalesce(stagger_alter_job.username, username),
           active = coalesce(stagger_alter_job.active, active),
           overlap = coalesce(stagger_alter_job.overlap, overlap),
           timeout = CASE WHEN stagger_alter_job.timeout IS NULL THEN timeout
                          WHEN stagger_alter_job.timeout = interval '0' THEN NULL
                          ELSE stagger_alter_job.timeout END,
           exclusive_group = CASE WHEN stagger_alter_job.exclusive_group IS NULL THEN exclusive_group
                                  ELSE nullif(stagger_alter_job.exclusive_group, '') END,
           group_policy = coalesce(stagger_alter_job.group_policy, group_policy),
           max_retries = coalesce(stagger_alter_job.max_retries, max_retries),
           retry_delay = coalesce(stagger_alter_job.retry_delay, retry_delay),
           timezone = CASE WHEN stagger_alter_job.timezone IS NULL THEN timezone
                           ELSE nullif(stagger_alter_job.timezone, '') END,
           history_limit = CASE WHEN stagger_alter_job.history_limit IS NULL THEN history_limit
                                ELSE nullif(stagger_alter_job.history_limit, 0) END
     WHERE jobid = stagger_alter_job.job_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'job % does not exist', stagger_alter_job.job_id USING ERRCODE = 'undefined_object';
    END IF;
END
$fn$;
CREATE FUNCTION stagger_alter_job(job_name text, schedule text DEFAULT NULL, command text DEFAULT NULL,
                                  database text DEFAULT NULL, username text DEFAULT NULL,
                                  active boolean DEFAULT NULL, overlap text DEFAULT NULL,
                                  timeout interval DEFAULT NULL, exclusive_group text DEFAULT NULL,
                                  group_policy text DEFAULT NULL, max_retries integer DEFAULT NULL,
                                  retry_delay interval DEFAULT NULL, timezone text DEFAULT NULL,
                                  history_limit integer DEFAULT NULL)
RETURNS void
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT stagger_alter_job(job_stagger.job_id(job_name), schedule, command, database, username, active,
                             overlap, timeout, exclusive_group, group_policy, max_retries, retry_delay, timezone,
                             history_limit)
$fn$;
COMMENT ON FUNCTION stagger_alter_job(bigint, text, text, text, text, boolean, text, interval, text, text, integer,
                                      interval, text, integer) IS
'change a job; NULL leaves a field unchanged, timeout ''0'' removes the limit, exclusive_group '''' leaves the group, timezone '''' follows job_stagger.timezone again, history_limit 0 removes the cap';
COMMENT ON FUNCTION stagger_alter_job(text, text, text, text, text, boolean, text, interval, text, text, integer,
                                      interval, text, integer) IS
'change a job; NULL leaves a field unchanged, timeout ''0'' removes the limit, exclusive_group '''' leaves the group, timezone '''' follows job_stagger.timezone again, history_limit 0 removes the cap';
/* ---- end per-job settings ---- */

/* ---- per-job time zones and job status (branch tz) ---- */
/*
 * Every job's schedule is read in its own zone (jobs.timezone, else
 * job_stagger.timezone) by the scheduler, the collision checks and the
 * analyses (C code). SQL: stagger_next_runs() takes a zone, next_fire()
 * computes a job's next effective fire instant, and job_stagger.job_status
 * shows each job's state at a glance.
 */
DROP FUNCTION stagger_next_runs(text, timestamptz, integer);
CREATE FUNCTION stagger_next_runs(schedule text, after timestamptz DEFAULT now(), n integer DEFAULT 5,
                                  timezone text DEFAULT '')
RETURNS SETOF timestamptz
AS 'MODULE_PATHNAME', 'job_stagger_next_runs'
LANGUAGE C STRICT STABLE PARALLEL SAFE ROWS 5
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION stagger_next_runs(text, timestamptz, integer, text) IS
'the next n fire instants of a schedule strictly after a given instant, evaluated in timezone ('''': job_stagger.timezone)';

CREATE FUNCTION job_stagger.next_fire(schedule text, offset_seconds integer, timezone text,
                                      last_nominal timestamptz, after timestamptz DEFAULT now())
RETURNS timestamptz
AS 'MODULE_PATHNAME', 'job_stagger_next_fire'
LANGUAGE C STRICT STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION job_stagger.next_fire(text, integer, text, timestamptz, timestamptz) IS
'the next effective fire instant after "after" of a job with this schedule, configured offset and zone ('''': job_stagger.timezone) whose last slot was last_nominal (''-infinity'': none), as the scheduler computes it (offset applied when job_stagger.enabled); NULL when it never fires or the input is invalid';

/*
 * One row per job the caller can see (security_invoker: row-level security
 * of jobs and job_run_details applies). The history columns count the kept
 * rows of job_run_details, one per row (a slot retried in several attempts
 * counts once per attempt row): runs = every row (skipped and in-progress
 * ones included), successes = succeeded, failures = failed, timed_out or
 * crashed. The last run is the latest row by scheduled_at (one backward
 * probe of the (jobid, scheduled_at) index per job).
 */
CREATE VIEW job_stagger.job_status WITH (security_invoker = true) AS
WITH settings AS (
    SELECT coalesce(pg_catalog.current_setting('job_stagger.enabled', true)::boolean, false) AS enabled,
           coalesce(pg_catalog.current_setting('job_stagger.timezone', true), 'UTC') AS zone
), overrides AS (
    SELECT DISTINCT ON (o.job_name) o.job_name, o.offset_seconds
      FROM job_stagger.offset_overrides() WITH ORDINALITY AS o(job_name, offset_seconds, n)
     ORDER BY o.job_name, o.n DESC
), history AS (
    -- counted per (job, status) first: one hash lookup per row, the status tests per group
    SELECT c.jobid,
           pg_catalog.sum(c.n)::bigint AS runs,
           coalesce(pg_catalog.sum(c.n) FILTER (WHERE c.status OPERATOR(pg_catalog.=) 'succeeded'), 0)::bigint
               AS successes,
           coalesce(pg_catalog.sum(c.n) FILTER (WHERE c.status OPERATOR(pg_catalog.=)
                                                    ANY ('{failed,timed_out,crashed}')), 0)::bigint AS failures,
           coalesce(pg_catalog.sum(c.n) FILTER (WHERE c.status OPERATOR(pg_catalog.=) 'running'), 0)::bigint
               AS running
      FROM (SELECT r.jobid, r.status, pg_catalog.count(*) AS n
              FROM job_stagger.job_run_details r
             GROUP BY r.jobid, r.status) c
     GROUP BY c.jobid
)
SELECT j.jobid, j.job_name, j.username, j.database, j.schedule,
       job_stagger.effective_schedule(j.schedule, coalesce(ov.offset_seconds, j.offset_seconds), s.enabled)
           AS effective_schedule,
       coalesce(ov.offset_seconds, j.offset_seconds) AS offset_seconds,
       coalesce(j.timezone, s.zone) AS timezone,
       j.active,
       CASE WHEN j.active THEN job_stagger.next_fire(j.schedule, coalesce(ov.offset_seconds, j.offset_seconds),
                                                     coalesce(j.timezone, s.zone),
                                                     coalesce(l.nominal_at, '-infinity'),
                                                     pg_catalog.now()) END AS next_fire,
       l.started_at AS last_start,
       l.status AS last_status,
       l.ended_at OPERATOR(pg_catalog.-) l.started_at AS last_duration,
       coalesce(h.runs, 0) AS runs,
       coalesce(h.successes, 0) AS successes,
       coalesce(h.failures, 0) AS failures,
       coalesce(h.running, 0) AS running_now
  FROM job_stagger.jobs j
 CROSS JOIN settings s
  LEFT JOIN overrides ov ON ov.job_name OPERATOR(pg_catalog.=) j.job_name
  LEFT JOIN history h ON h.jobid OPERATOR(pg_catalog.=) j.jobid
  LEFT JOIN LATERAL (
        SELECT r.status, r.started_at, r.ended_at, r.nominal_at
          FROM job_stagger.job_run_details r
         WHERE r.jobid OPERATOR(pg_catalog.=) j.jobid
         ORDER BY r.scheduled_at DESC
         LIMIT 1) l ON true;
COMMENT ON VIEW job_stagger.job_status IS
'per job: schedule, effective schedule, offset, the zone applied, next effective fire instant (NULL when inactive), the last run, and counts over the kept history (one per run row); row-level security applies';
GRANT SELECT ON job_stagger.job_status TO PUBLIC;
/* ---- end per-job time zones and job status ---- */
