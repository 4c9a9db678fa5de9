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

/* ---- run now and retries (branch runctl) ---- */
/*
 * Each attempt of a slot is its own row: attempt 1 is the slot's own run,
 * attempt n+1 (triggered_by 'retry') a retry after attempt n failed, timed out
 * or crashed; retries keep the slot's nominal_at, so (jobid, nominal_at,
 * attempt) names an attempt. triggered_by 'manual': stagger_run_now().
 */
ALTER TABLE job_stagger.job_run_details
    ADD COLUMN attempt integer NOT NULL DEFAULT 1,
    ADD CONSTRAINT job_run_details_attempt_check CHECK (attempt BETWEEN 1 AND 101),
    DROP CONSTRAINT job_run_details_triggered_by_check,
    ADD CONSTRAINT job_run_details_triggered_by_check
        CHECK (triggered_by IN ('schedule', 'reboot', 'manual', 'retry'));
COMMENT ON COLUMN job_stagger.job_run_details.attempt IS
'1: the slot''s own run (or a manual run); n+1: the retry after attempt n failed, timed out or crashed (triggered_by ''retry'', same nominal_at)';

/*
 * stagger_run_now(job_id): non-STRICT on purpose (a NULL is an error, not a
 * silent NULL); it writes the run's row as the bootstrap superuser around one
 * schema-qualified INSERT, after row-level security let the caller see the
 * job (src/pg/sql_run_now.cpp). Not SECURITY DEFINER: the check must be made
 * as the caller.
 */
CREATE FUNCTION stagger_run_now(job_id bigint)
RETURNS bigint
AS 'MODULE_PATHNAME', 'job_stagger_stagger_run_now'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION stagger_run_now(bigint) IS
'start a run of the job at once (at commit; overlap policy and exclusive group apply as for a slot); returns its runid in job_stagger.job_run_details';

CREATE FUNCTION stagger_run_now(job_name text)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF job_name IS NULL THEN
        RAISE EXCEPTION 'job_name must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    RETURN pg_catalog.stagger_run_now(job_stagger.job_id(job_name));
END
$fn$;
COMMENT ON FUNCTION stagger_run_now(text) IS
'start a run of the job of that name at once (at commit; overlap policy and exclusive group apply as for a slot); returns its runid in job_stagger.job_run_details';
/* ---- end run now and retries ---- */
