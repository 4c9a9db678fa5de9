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
/* ---- coming from pg_cron (branch pgcron) ---- */
/*
 * stagger_import_pg_cron: copies the pg_cron jobs the caller can see (cron.job
 * has row-level security: a plain role sees its own) into job_stagger, in the
 * caller's transaction. Each job goes through stagger_schedule in its own
 * subtransaction, so every validation and permission rule applies; a job
 * job_stagger cannot take is reported `refused` and left in pg_cron. Only the
 * error classes validation raises are caught (data, integrity, database,
 * access/undefined object): anything else (a cancel, a lock timeout, a failing
 * user trigger) aborts the whole import. pg_cron is read with dynamic SQL, as
 * it may be absent; it is recognised by its extension, not by a cron.job
 * relation (job_stagger_pgcron has a cron.job view of our own jobs).
 */
CREATE FUNCTION stagger_import_pg_cron(drop_after boolean DEFAULT false)
RETURNS TABLE(pg_cron_jobid bigint, job_name text, outcome text, detail text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_js_db text := pg_catalog.current_setting('job_stagger.database_name', true);
    v_cron_db text;
    v_cron_tz text;
    v_hint text;
    v_job record;
    v_name text;
    v_try integer;
    v_active_imported integer := 0;
    v_dropped integer := 0;
    v_state text;
    v_msg text;
BEGIN
    IF drop_after IS NULL THEN
        RAISE EXCEPTION 'drop_after must be true or false, not NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    BEGIN
        v_cron_db := pg_catalog.current_setting('cron.database_name', true);
    EXCEPTION WHEN insufficient_privilege THEN
        v_cron_db := NULL; -- pg_cron hides it from plain roles
    END;
    /*
     * The zone pg_cron reads schedules in: cron.timezone (pg_cron 1.5+), GMT
     * before. Each imported job keeps it, so it fires at the same instants
     * whatever job_stagger.timezone is.
     */
    BEGIN
        v_cron_tz := pg_catalog.current_setting('cron.timezone', true);
    EXCEPTION WHEN insufficient_privilege THEN
        v_cron_tz := NULL;
    END;
    v_cron_tz := coalesce(NULLIF(v_cron_tz, ''), 'GMT');
    v_hint := pg_catalog.format('pg_cron''s jobs live in the database named by cron.database_name (%s), '
                                'job_stagger''s in the one named by job_stagger.database_name (%s): run the import '
                                'in a database where both extensions are created.',
                                coalesce(v_cron_db, 'not set or not visible'), coalesce(v_js_db, 'not set'));
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension e WHERE e.extname OPERATOR(pg_catalog.=) 'pg_cron')
       OR pg_catalog.to_regclass('cron.job') IS NULL THEN
        RAISE EXCEPTION 'pg_cron is not installed in database "%": there is no cron.job to import from',
                        pg_catalog.current_database()
            USING ERRCODE = 'undefined_table', HINT = v_hint;
    END IF;
    IF v_js_db IS DISTINCT FROM pg_catalog.current_database() THEN
        RAISE EXCEPTION 'jobs can only be imported in database "%"', coalesce(v_js_db, '(job_stagger.database_name not set)')
            USING ERRCODE = 'object_not_in_prerequisite_state', HINT = v_hint;
    END IF;

    FOR v_job IN EXECUTE
        'SELECT j.jobid::pg_catalog.int8 AS jobid, j.jobname::pg_catalog.text AS jobname, '
        '       j.schedule::pg_catalog.text AS schedule, j.command::pg_catalog.text AS command, '
        '       j.database::pg_catalog.text AS database, j.username::pg_catalog.text AS username, '
        '       j.active::pg_catalog.bool AS active '
        '  FROM cron.job j ORDER BY j.jobid'
    LOOP
        pg_cron_jobid := v_job.jobid;
        outcome := 'imported';
        detail := NULL;
        IF coalesce(v_job.jobname, '') OPERATOR(pg_catalog.=) '' THEN
            v_name := 'pg_cron_' OPERATOR(pg_catalog.||) v_job.jobid::text;
            detail := pg_catalog.format('unnamed pg_cron job %s imported as "%s"', v_job.jobid, v_name);
        ELSE
            v_name := v_job.jobname;
        END IF;
        -- A job of that name already runs as that role here: take a new name.
        v_try := 0;
        job_name := v_name;
        WHILE EXISTS (SELECT 1 FROM job_stagger.jobs s
                       WHERE s.job_name OPERATOR(pg_catalog.=) stagger_import_pg_cron.job_name
                         AND s.roleid OPERATOR(pg_catalog.=) job_stagger.role_id(v_job.username)
                         AND s.roleid OPERATOR(pg_catalog.<>) 0) LOOP
            v_try := v_try OPERATOR(pg_catalog.+) 1;
            job_name := v_name OPERATOR(pg_catalog.||) '_pg_cron_' OPERATOR(pg_catalog.||) v_job.jobid::text
                        OPERATOR(pg_catalog.||) CASE WHEN v_try OPERATOR(pg_catalog.>) 1
                                                     THEN '_' OPERATOR(pg_catalog.||) v_try::text ELSE '' END;
        END LOOP;
        IF v_try OPERATOR(pg_catalog.>) 0 THEN
            outcome := 'renamed';
            detail := pg_catalog.format('job "%s" of role "%s" already exists in job_stagger: imported as "%s"',
                                        v_name, v_job.username, job_name);
        END IF;
        BEGIN
            PERFORM pg_catalog.stagger_schedule(job_name, v_job.schedule, v_job.command, NULL::integer,
                                                v_job.database, v_job.username, v_job.active,
                                                timezone => v_cron_tz);
        EXCEPTION WHEN data_exception OR integrity_constraint_violation OR invalid_catalog_name
                       OR syntax_error_or_access_rule_violation THEN
            GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_msg = MESSAGE_TEXT;
            outcome := 'refused';
            detail := v_msg OPERATOR(pg_catalog.||) ' (SQLSTATE ' OPERATOR(pg_catalog.||) v_state
                      OPERATOR(pg_catalog.||) '); left in pg_cron';
            job_name := v_name;
            RETURN NEXT;
            CONTINUE;
        END;
        IF v_job.active THEN
            v_active_imported := v_active_imported OPERATOR(pg_catalog.+) 1;
        END IF;
        IF drop_after THEN
            EXECUTE 'SELECT cron.unschedule($1::pg_catalog.int8)' USING v_job.jobid;
            v_dropped := v_dropped OPERATOR(pg_catalog.+) 1;
            detail := coalesce(detail OPERATOR(pg_catalog.||) '; ', '') OPERATOR(pg_catalog.||)
                      'unscheduled from pg_cron';
        END IF;
        RETURN NEXT;
    END LOOP;
    IF NOT drop_after AND v_active_imported OPERATOR(pg_catalog.>) 0 THEN
        RAISE WARNING 'pg_cron and job_stagger now both run the % active imported job(s)', v_active_imported
            USING HINT = 'Import with stagger_import_pg_cron(drop_after => true), or stop them in pg_cron with '
                         'cron.alter_job(jobid, active := false) or cron.unschedule(jobid).';
    END IF;
END
$fn$;
COMMENT ON FUNCTION stagger_import_pg_cron(boolean) IS
'copy the pg_cron jobs the caller sees (cron.job) into job_stagger in one transaction; one row per pg_cron job with outcome imported, renamed or refused; drop_after unschedules the imported ones from pg_cron';
/* ---- end coming from pg_cron ---- */


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


/* ---- history settings and start smoothing (branch history) ---- */
/*
 * job_stagger.max_starts_per_second: a run the launcher started later than
 * its slot because more runs were due in that second than the limit records
 * the delay it added (NULL: not delayed). scheduled_at stays the slot's
 * instant; started_at is when the command began.
 */
ALTER TABLE job_stagger.job_run_details ADD COLUMN start_delay interval;
COMMENT ON COLUMN job_stagger.job_run_details.start_delay IS
'how much later than its slot the run was released because of job_stagger.max_starts_per_second (NULL: not delayed)';
/* ---- end history settings and start smoothing ---- */


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

/* ---- life cycle and packaging (branch lifecycle) ---- */
/*
 * pg_dump / pg_restore. jobs, offset_changes and their sequences are in the
 * dump (pg_extension_config_dump); the run history is not (README "Backup
 * and restore"). Restored rows carry a creation time before the restoring
 * transaction (a column plain roles cannot write; its default is the
 * transaction's start): jobs_validate keeps such jobs as written and resolves
 * roleid again from username (role OIDs differ between clusters), and this
 * trigger does the same for restored offset_changes rows (the optimiser's
 * own rows are written with changed_at = now(), and are left alone).
 */
CREATE FUNCTION job_stagger.offset_changes_restored()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    NEW.roleid := coalesce(job_stagger.role_id(NEW.username), 0);
    RETURN NEW;
END
$fn$;
CREATE TRIGGER offset_changes_restored BEFORE INSERT ON job_stagger.offset_changes
    FOR EACH ROW WHEN (NEW.changed_at OPERATOR(pg_catalog.<>) pg_catalog.transaction_timestamp())
    EXECUTE FUNCTION job_stagger.offset_changes_restored();
REVOKE EXECUTE ON FUNCTION job_stagger.offset_changes_restored() FROM PUBLIC;
/* ---- end life cycle and packaging ---- */
