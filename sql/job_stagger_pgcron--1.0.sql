/* job_stagger_pgcron--1.0.sql: pg_cron 1.4's cron.* interface over job_stagger */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION job_stagger_pgcron" to load this file. \quit

/*
 * Tools written against pg_cron 1.4 (dashboards, migration scripts) call
 * cron.schedule and read cron.job / cron.job_run_details. Here these are thin
 * wrappers of the stagger_* functions and views of job_stagger's tables, all
 * with the caller's rights, so every validation and permission rule of
 * job_stagger applies (row-level security included). Signatures, defaults,
 * return values, grants and error texts are pg_cron 1.4's; where pg_cron
 * reports XX000 (internal_error) we report a specific SQLSTATE (README,
 * "Coming from pg_cron"). Both extensions own a schema cron, so they cannot
 * be installed in one database: say so clearly rather than "schema exists".
 */
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_extension e WHERE e.extname OPERATOR(pg_catalog.=) 'pg_cron') THEN
        RAISE EXCEPTION 'job_stagger_pgcron cannot be installed while pg_cron is installed in database "%"',
                        pg_catalog.current_database()
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'Both provide the schema cron and its functions cron.schedule, cron.unschedule and cron.alter_job.',
                  HINT = 'Move the jobs with SELECT * FROM stagger_import_pg_cron(drop_after => true), then '
                         'DROP EXTENSION pg_cron, then CREATE EXTENSION job_stagger_pgcron.';
    END IF;
END
$$;

CREATE SCHEMA cron;
COMMENT ON SCHEMA cron IS 'pg_cron 1.4''s interface over job_stagger (extension job_stagger_pgcron)';

/*
 * Unnamed jobs (cron.schedule(schedule, command)): job_stagger needs a name,
 * so such a job is named unnamed_<jobid>, and cron.job shows jobname NULL for
 * a job whose name is exactly that.
 */
CREATE FUNCTION cron.js_unnamed_job_name(jobid bigint)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$ SELECT 'unnamed_' OPERATOR(pg_catalog.||) jobid::pg_catalog.text $fn$;

/* pg_cron's "invalid schedule: <text>" (22023), with our parser's reason as DETAIL. */
CREATE FUNCTION cron.js_check_schedule(schedule text)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_info record;
BEGIN
    IF schedule IS NULL THEN
        RAISE EXCEPTION 'schedule can not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    v_info := job_stagger.schedule_info(schedule);
    IF NOT v_info.valid THEN
        RAISE EXCEPTION 'invalid schedule: %', schedule
            USING ERRCODE = 'invalid_parameter_value', DETAIL = v_info.error;
    END IF;
END
$fn$;

CREATE FUNCTION cron.schedule(schedule text, command text)
RETURNS bigint
LANGUAGE plpgsql STRICT
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_id bigint;
    v_level text := pg_catalog.current_setting('client_min_messages');
BEGIN
    PERFORM cron.js_check_schedule(schedule);
    /*
     * A unique name first (the jobid is not known before the insert), then
     * unnamed_<jobid>. The insert's NOTICEs would name the temporary name;
     * the rename reports under the real one.
     */
    PERFORM pg_catalog.set_config('client_min_messages', 'warning', true);
    v_id := pg_catalog.stagger_schedule('unnamed_' OPERATOR(pg_catalog.||) pg_catalog.gen_random_uuid()::pg_catalog.text,
                                        schedule, command);
    PERFORM pg_catalog.set_config('client_min_messages', v_level, true);
    UPDATE job_stagger.jobs j SET job_name = cron.js_unnamed_job_name(v_id) WHERE j.jobid OPERATOR(pg_catalog.=) v_id;
    RETURN v_id;
END
$fn$;
COMMENT ON FUNCTION cron.schedule(text, text) IS 'schedule a pg_cron job';

/*
 * Named jobs, as pg_cron 1.4: a name the calling role already has updates
 * that job's schedule and command only (database, role and active flag stay,
 * also through schedule_in_database); otherwise a new job.
 */
CREATE FUNCTION cron.js_schedule_named(job_name text, schedule text, command text, database text,
                                       username text, active boolean)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_id bigint;
    v_user text := coalesce(js_schedule_named.username, CURRENT_USER::pg_catalog.text);
BEGIN
    IF job_name IS NULL THEN
        RAISE EXCEPTION 'job_name can not be NULL' USING ERRCODE = 'null_value_not_allowed';
    ELSIF schedule IS NULL THEN
        RAISE EXCEPTION 'schedule can not be NULL' USING ERRCODE = 'null_value_not_allowed';
    ELSIF command IS NULL THEN
        RAISE EXCEPTION 'command can not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM cron.js_check_schedule(schedule);
    IF v_user OPERATOR(pg_catalog.<>) CURRENT_USER::pg_catalog.text
       AND NOT coalesce((SELECT r.rolsuper FROM pg_catalog.pg_roles r
                          WHERE r.rolname OPERATOR(pg_catalog.=) CURRENT_USER), false) THEN
        RAISE EXCEPTION 'must be superuser to create a job for another role' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF job_stagger.role_id(v_user) IS NULL THEN
        RAISE EXCEPTION 'role "%" does not exist', v_user USING ERRCODE = 'undefined_object';
    END IF;
    SELECT j.jobid INTO v_id FROM job_stagger.jobs j
     WHERE j.job_name OPERATOR(pg_catalog.=) js_schedule_named.job_name
       AND j.roleid OPERATOR(pg_catalog.=) job_stagger.role_id(v_user)
       AND j.roleid OPERATOR(pg_catalog.<>) 0;
    IF FOUND THEN
        PERFORM pg_catalog.stagger_alter_job(v_id, schedule => js_schedule_named.schedule,
                                             command => js_schedule_named.command);
        RETURN v_id;
    END IF;
    RETURN pg_catalog.stagger_schedule(job_name, schedule, command, NULL::integer,
                                       coalesce(js_schedule_named.database, pg_catalog.current_database()),
                                       v_user, coalesce(js_schedule_named.active, true));
END
$fn$;
COMMENT ON FUNCTION cron.js_schedule_named(text, text, text, text, text, boolean) IS
'cron.schedule(job_name, ...) and cron.schedule_in_database: create or update the named job';

CREATE FUNCTION cron.schedule_in_database(job_name text, schedule text, command text, database text,
                                          username text DEFAULT NULL, active boolean DEFAULT true)
RETURNS bigint
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $fn$ SELECT cron.js_schedule_named(job_name, schedule, command, database, username, active) $fn$;
COMMENT ON FUNCTION cron.schedule_in_database(text, text, text, text, text, boolean) IS 'schedule a pg_cron job';
-- as pg_cron: an administrator decides who may call it
REVOKE ALL ON FUNCTION cron.schedule_in_database(text, text, text, text, text, boolean) FROM PUBLIC;

CREATE FUNCTION cron.schedule(job_name text, schedule text, command text)
RETURNS bigint
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $fn$ SELECT cron.js_schedule_named(job_name, schedule, command, pg_catalog.current_database(), NULL, true) $fn$;
COMMENT ON FUNCTION cron.schedule(text, text, text) IS 'schedule a pg_cron job';

CREATE FUNCTION cron.unschedule(job_id bigint)
RETURNS boolean
LANGUAGE plpgsql STRICT
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    -- row-level security: a plain role finds only its own jobs
    IF NOT EXISTS (SELECT 1 FROM job_stagger.jobs j WHERE j.jobid OPERATOR(pg_catalog.=) job_id) THEN
        RAISE EXCEPTION 'could not find valid entry for job %', job_id USING ERRCODE = 'undefined_object';
    END IF;
    RETURN pg_catalog.stagger_unschedule(job_id);
END
$fn$;
COMMENT ON FUNCTION cron.unschedule(bigint) IS 'unschedule a pg_cron job';

-- pg_cron 1.4 declares the name argument as type name; by name means the calling role's job
CREATE FUNCTION cron.unschedule(job_name name)
RETURNS boolean
LANGUAGE plpgsql STRICT
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_id bigint;
BEGIN
    SELECT j.jobid INTO v_id FROM job_stagger.jobs j
     WHERE j.job_name OPERATOR(pg_catalog.=) unschedule.job_name::pg_catalog.text
       AND j.roleid OPERATOR(pg_catalog.=) job_stagger.role_id(CURRENT_USER::pg_catalog.text)
       AND j.roleid OPERATOR(pg_catalog.<>) 0;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'could not find valid entry for job ''%''', job_name USING ERRCODE = 'undefined_object';
    END IF;
    RETURN pg_catalog.stagger_unschedule(v_id);
END
$fn$;
COMMENT ON FUNCTION cron.unschedule(name) IS 'unschedule a pg_cron job';

CREATE FUNCTION cron.alter_job(job_id bigint, schedule text DEFAULT NULL, command text DEFAULT NULL,
                               database text DEFAULT NULL, username text DEFAULT NULL, active boolean DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF job_id IS NULL THEN
        RAISE EXCEPTION 'job_id can not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM job_stagger.jobs j WHERE j.jobid OPERATOR(pg_catalog.=) job_id) THEN
        RAISE EXCEPTION 'Job % does not exist or you don''t own it', job_id USING ERRCODE = 'undefined_object';
    END IF;
    IF schedule IS NOT NULL THEN
        PERFORM cron.js_check_schedule(schedule);
    END IF;
    IF username IS NOT NULL
       AND NOT coalesce((SELECT r.rolsuper FROM pg_catalog.pg_roles r
                          WHERE r.rolname OPERATOR(pg_catalog.=) CURRENT_USER), false) THEN
        RAISE EXCEPTION 'must be superuser to alter username' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF username IS NOT NULL AND job_stagger.role_id(username) IS NULL THEN
        RAISE EXCEPTION 'role "%" does not exist', username USING ERRCODE = 'undefined_object';
    END IF;
    PERFORM pg_catalog.stagger_alter_job(job_id, schedule => alter_job.schedule, command => alter_job.command,
                                         database => alter_job.database, username => alter_job.username,
                                         active => alter_job.active);
END
$fn$;
COMMENT ON FUNCTION cron.alter_job(bigint, text, text, text, text, boolean) IS
'Alter the job identified by job_id. Any option left as NULL will not be modified.';
-- as pg_cron: an administrator decides who may call it
REVOKE ALL ON FUNCTION cron.alter_job(bigint, text, text, text, text, boolean) FROM PUBLIC;

/*
 * pg_cron's cron.job, read-only, over job_stagger.jobs with the caller's
 * rights (security_invoker: a plain role sees its own jobs, as pg_cron's RLS).
 */
CREATE VIEW cron.job WITH (security_invoker = true) AS
SELECT j.jobid, j.schedule, j.command,
       'localhost'::pg_catalog.text AS nodename,
       pg_catalog.current_setting('port')::pg_catalog.int4 AS nodeport,
       j.database, j.username, j.active,
       CASE WHEN j.job_name OPERATOR(pg_catalog.=) cron.js_unnamed_job_name(j.jobid) THEN NULL
            ELSE j.job_name::pg_catalog.name END AS jobname
  FROM job_stagger.jobs j;
COMMENT ON VIEW cron.job IS 'pg_cron''s cron.job over job_stagger.jobs (read-only)';
GRANT SELECT ON cron.job TO PUBLIC;

/*
 * pg_cron's cron.job_run_details over job_stagger.job_run_details (caller's
 * rights). Statuses in pg_cron's words: timed_out and crashed are failed (the
 * return_message says which); skipped slots are not shown (pg_cron records no
 * row for a slot it does not run).
 */
CREATE VIEW cron.job_run_details WITH (security_invoker = true) AS
SELECT r.jobid, r.runid, r.pid AS job_pid, r.database, r.username, r.command,
       CASE WHEN r.status OPERATOR(pg_catalog.=) ANY (ARRAY['timed_out', 'crashed']::pg_catalog.text[]) THEN 'failed'
            ELSE r.status END AS status,
       r.return_message, r.started_at AS start_time, r.ended_at AS end_time
  FROM job_stagger.job_run_details r
 WHERE r.status OPERATOR(pg_catalog.<>) 'skipped';
COMMENT ON VIEW cron.job_run_details IS
'pg_cron''s cron.job_run_details over job_stagger.job_run_details: timed_out and crashed show as failed, skipped slots are left out; DELETE removes finished runs';
GRANT SELECT, DELETE ON cron.job_run_details TO PUBLIC;

/*
 * DELETE FROM cron.job_run_details (pg_cron's clean-up job): the caller's
 * rights reach the history only through job_stagger.own_finished_runs (its
 * own finished runs), or the table itself for a role that may delete from it
 * (a superuser). Runs still starting or running are kept (the scheduler is
 * writing them) and not counted.
 */
CREATE FUNCTION cron.job_run_details_delete()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF pg_catalog.has_table_privilege('job_stagger.job_run_details', 'DELETE') THEN
        DELETE FROM job_stagger.job_run_details r
         WHERE r.runid OPERATOR(pg_catalog.=) OLD.runid
           AND r.status OPERATOR(pg_catalog.<>) ALL (ARRAY['starting', 'running']::pg_catalog.text[]);
    ELSE
        DELETE FROM job_stagger.own_finished_runs r WHERE r.runid OPERATOR(pg_catalog.=) OLD.runid;
    END IF;
    IF FOUND THEN
        RETURN OLD;
    END IF;
    RETURN NULL;
END
$fn$;
CREATE TRIGGER job_run_details_delete INSTEAD OF DELETE ON cron.job_run_details
    FOR EACH ROW EXECUTE FUNCTION cron.job_run_details_delete();
