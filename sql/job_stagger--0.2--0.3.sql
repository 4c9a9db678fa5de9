/* job_stagger--0.2--0.3.sql: jobs belong to role OIDs, least privilege, pinned search_path */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION job_stagger UPDATE TO '0.3'" to load this file. \quit

/*
 * Identity. A job runs as a role, identified by OID (jobs.roleid), not by
 * name: a role that is dropped and created again under the same name is a
 * different role and inherits none of the old one's jobs or history. The
 * username column stays as the name the job was given (for display); the
 * scheduler deactivates jobs whose role is gone and says so in the log.
 *
 * Existing rows: the OID of the role that now has the name; jobs whose role
 * no longer exists get roleid 0 and are deactivated.
 */
ALTER TABLE job_stagger.jobs ADD COLUMN roleid oid;
COMMENT ON COLUMN job_stagger.jobs.roleid IS
'OID of the role the job runs as (set from username when the job is written); 0 once that role was dropped';
ALTER TABLE job_stagger.job_run_details ADD COLUMN roleid oid;
COMMENT ON COLUMN job_stagger.job_run_details.roleid IS 'OID of the role the run ran as (the job''s roleid)';

/*
 * The role a job runs as, by OID. NULL for a role that does not exist.
 * (SQL-callable for the trigger below and the scheduler's messages.)
 */
CREATE FUNCTION job_stagger.role_id(role_name text)
RETURNS oid
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$ SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = role_name $fn$;
COMMENT ON FUNCTION job_stagger.role_id(text) IS 'OID of the role of that name, NULL if there is none';

SET LOCAL session_replication_role = replica; -- backfill without the validation triggers
UPDATE job_stagger.jobs j
   SET roleid = coalesce((SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) j.username), 0);
UPDATE job_stagger.jobs j SET active = false WHERE j.roleid OPERATOR(pg_catalog.=) 0;
UPDATE job_stagger.job_run_details d
   SET roleid = r.oid FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) d.username;
RESET session_replication_role;
ALTER TABLE job_stagger.jobs ALTER COLUMN roleid SET NOT NULL;

/*
 * Job names are unique per role (OID), so a new role that reuses a dropped
 * role's name can reuse its job names too; jobs of dropped roles (roleid 0)
 * are exempt.
 */
ALTER TABLE job_stagger.jobs DROP CONSTRAINT jobs_username_job_name_key;
CREATE UNIQUE INDEX jobs_roleid_job_name_key ON job_stagger.jobs (roleid, job_name)
    WHERE roleid OPERATOR(pg_catalog.<>) 0;

/*
 * History rows written directly (by a superuser: plain roles cannot insert)
 * without a roleid get the OID of the role that has their username now. The
 * scheduler always writes roleid, so the trigger never fires for its rows.
 */
CREATE FUNCTION job_stagger.run_roleid()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    NEW.roleid := job_stagger.role_id(NEW.username);
    RETURN NEW;
END
$fn$;
CREATE TRIGGER job_run_details_roleid BEFORE INSERT ON job_stagger.job_run_details
    FOR EACH ROW WHEN (NEW.roleid IS NULL) EXECUTE FUNCTION job_stagger.run_roleid();

/* Row-level security by OID: the caller's own jobs and runs. */
ALTER POLICY jobs_own ON job_stagger.jobs
    USING (roleid OPERATOR(pg_catalog.=) (SELECT r.oid FROM pg_catalog.pg_roles r
                                           WHERE r.rolname OPERATOR(pg_catalog.=) CURRENT_USER))
    WITH CHECK (roleid OPERATOR(pg_catalog.=) (SELECT r.oid FROM pg_catalog.pg_roles r
                                                WHERE r.rolname OPERATOR(pg_catalog.=) CURRENT_USER));
ALTER POLICY job_run_details_own ON job_stagger.job_run_details
    USING (roleid OPERATOR(pg_catalog.=) (SELECT r.oid FROM pg_catalog.pg_roles r
                                           WHERE r.rolname OPERATOR(pg_catalog.=) CURRENT_USER));

/*
 * Least privilege. Plain roles write only the columns a job is made of: not
 * jobid (so no role can take an id another role's next job gets), roleid,
 * owner or the timestamps. Run history is the scheduler's: roles read their
 * own rows and delete their own finished ones through job_stagger.own_finished_runs
 * (or stagger_delete_history), never rows the scheduler is still writing.
 * Explicit LOCK TABLE on the extension's tables is refused to non-superusers
 * by the library itself (see README, Security).
 */
REVOKE ALL ON job_stagger.jobs FROM PUBLIC;
GRANT SELECT, DELETE ON job_stagger.jobs TO PUBLIC;
GRANT INSERT (job_name, schedule, command, database, username, active, offset_seconds, overlap, timeout),
      UPDATE (job_name, schedule, command, database, username, active, offset_seconds, overlap, timeout)
   ON job_stagger.jobs TO PUBLIC;
REVOKE ALL ON job_stagger.job_run_details FROM PUBLIC;
GRANT SELECT ON job_stagger.job_run_details TO PUBLIC;

/*
 * The caller's own finished runs, deletable. Not security_invoker: the view
 * owner's rights reach the table, and the view's own condition (evaluated
 * for the calling role) limits them to the caller's finished rows, so a role
 * can never delete (or row-lock) a row the scheduler is still writing.
 */
CREATE VIEW job_stagger.own_finished_runs WITH (security_barrier = true) AS
SELECT d.runid, d.jobid, d.job_name, d.username, d.database, d.command, d.status, d.return_message,
       d.scheduled_at, d.nominal_at, d.started_at, d.ended_at, d.pid, d.stagger_enabled, d.offset_seconds,
       d.effective_schedule, d.triggered_by, d.roleid
  FROM job_stagger.job_run_details d
 WHERE d.roleid OPERATOR(pg_catalog.=) (SELECT r.oid FROM pg_catalog.pg_roles r
                                         WHERE r.rolname OPERATOR(pg_catalog.=) CURRENT_USER)
   AND d.status OPERATOR(pg_catalog.<>) ALL (ARRAY['starting', 'running']::text[]);
COMMENT ON VIEW job_stagger.own_finished_runs IS
'the calling role''s finished runs; DELETE from it (or stagger_delete_history) to clean up history';
REVOKE ALL ON job_stagger.own_finished_runs FROM PUBLIC;
GRANT SELECT, DELETE ON job_stagger.own_finished_runs TO PUBLIC;

CREATE FUNCTION stagger_delete_history(older_than interval DEFAULT '0 seconds', job_name text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_deleted bigint;
BEGIN
    IF older_than IS NULL OR older_than < interval '0' THEN
        RAISE EXCEPTION 'older_than must be a non-negative interval, got %', coalesce(older_than::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    DELETE FROM job_stagger.own_finished_runs r
     WHERE r.scheduled_at < now() - older_than
       AND (stagger_delete_history.job_name IS NULL OR r.job_name = stagger_delete_history.job_name);
    GET DIAGNOSTICS v_deleted = ROW_COUNT;
    RETURN v_deleted;
END
$fn$;
COMMENT ON FUNCTION stagger_delete_history(interval, text) IS
'delete the calling role''s finished runs due more than older_than ago (of one job, or all); returns how many';

/*
 * Validates every write to job_stagger.jobs, through the stagger_* functions
 * or directly: the same clear errors either way, nothing written on error.
 * Every column is checked for NULL before it is used; the role is kept as an
 * OID; jobid never changes.
 */
CREATE OR REPLACE FUNCTION job_stagger.jobs_validate()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_metadata_db text := current_setting('job_stagger.database_name', true);
    v_me oid := job_stagger.role_id(current_user);
    v_superuser boolean := (SELECT r.rolsuper FROM pg_roles r WHERE r.oid = v_me);
    v_role record;
    v_db record;
    v_column text;
BEGIN
    IF v_metadata_db IS NULL THEN
        RAISE EXCEPTION 'job_stagger is not loaded through shared_preload_libraries, so no scheduler would run this job'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Add job_stagger to shared_preload_libraries in postgresql.conf and restart the server.';
    END IF;
    IF current_database() <> v_metadata_db THEN
        RAISE EXCEPTION 'jobs can only be scheduled in database "%"', v_metadata_db
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Connect to database "' || v_metadata_db || '" (job_stagger.database_name); '
                         'a job can still run in this database through its database argument.';
    END IF;
    v_column := CASE WHEN NEW.job_name IS NULL THEN 'job_name'
                     WHEN NEW.schedule IS NULL THEN 'schedule'
                     WHEN NEW.command IS NULL THEN 'command'
                     WHEN NEW.database IS NULL THEN 'database'
                     WHEN NEW.username IS NULL THEN 'username'
                     WHEN NEW.active IS NULL THEN 'active'
                     WHEN NEW.overlap IS NULL THEN 'overlap' END;
    IF v_column = 'schedule' THEN
        RAISE EXCEPTION 'null value in column "schedule" of job_stagger.jobs'
            USING ERRCODE = 'not_null_violation', COLUMN = v_column,
                  HINT = 'Give a cron schedule, for example ''*/5 * * * *''.';
    ELSIF v_column IS NOT NULL THEN
        RAISE EXCEPTION 'null value in column "%" of job_stagger.jobs', v_column
            USING ERRCODE = 'not_null_violation', COLUMN = v_column;
    END IF;
    IF NEW.job_name !~ '\S' THEN
        RAISE EXCEPTION 'job name must not be empty' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NEW.command !~ '\S' THEN
        RAISE EXCEPTION 'command of job "%" must not be empty', NEW.job_name USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.jobid IS DISTINCT FROM OLD.jobid THEN
        RAISE EXCEPTION 'the jobid of a job cannot be changed' USING ERRCODE = 'feature_not_supported';
    END IF;
    IF TG_OP = 'INSERT' OR NEW.schedule IS DISTINCT FROM OLD.schedule THEN
        PERFORM job_stagger.check_schedule(NEW.schedule);
    END IF;
    /*
     * The role, by OID: resolved from username when the job is created, given
     * to another role, or (by a superuser) reactivated after its role was
     * dropped (the scheduler then set roleid to 0); kept otherwise, except
     * that a superuser may set it to 0.
     */
    IF TG_OP = 'INSERT' OR NEW.username IS DISTINCT FROM OLD.username
       OR (OLD.roleid = 0 AND NEW.active AND NOT OLD.active) THEN
        NEW.roleid := coalesce(job_stagger.role_id(NEW.username), 0);
        IF NEW.roleid IS DISTINCT FROM v_me AND NOT coalesce(v_superuser, false) THEN
            RAISE EXCEPTION 'permission denied to schedule a job as role "%"', NEW.username
                USING ERRCODE = 'insufficient_privilege',
                      HINT = 'Only superusers can schedule or move jobs to run as another role.';
        END IF;
    ELSIF NEW.roleid = 0 AND coalesce(v_superuser, false) THEN
        NULL; -- a superuser (the scheduler) detaches the job of a dropped role
    ELSE
        NEW.roleid := OLD.roleid;
    END IF;
    /* the role and database can run it (not checked for an inactive job detached from its dropped role) */
    IF TG_OP = 'INSERT'
       OR ((NEW.roleid <> 0 OR NEW.active)
           AND (NEW.roleid IS DISTINCT FROM OLD.roleid OR NEW.database IS DISTINCT FROM OLD.database
                OR (NEW.active AND NOT OLD.active))) THEN
        SELECT r.rolcanlogin INTO v_role FROM pg_roles r WHERE r.oid = NEW.roleid;
        IF NOT FOUND AND TG_OP = 'UPDATE' THEN
            RAISE EXCEPTION 'role "%" does not exist', NEW.username
                USING ERRCODE = 'undefined_object',
                      HINT = 'The role this job ran as was dropped. A superuser can give the job to an existing '
                             'role: stagger_alter_job(jobid, username => ''role'', active => true).';
        ELSIF NOT FOUND THEN
            RAISE EXCEPTION 'role "%" does not exist', NEW.username USING ERRCODE = 'undefined_object';
        END IF;
        IF NOT v_role.rolcanlogin THEN
            RAISE EXCEPTION 'role "%" cannot log in', NEW.username
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Job runs connect as their role, which needs the LOGIN attribute.';
        END IF;
        SELECT d.datallowconn INTO v_db FROM pg_database d WHERE d.datname = NEW.database;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'database "%" does not exist', NEW.database USING ERRCODE = 'invalid_catalog_name';
        END IF;
        IF NOT v_db.datallowconn THEN
            RAISE EXCEPTION 'database "%" does not allow connections', NEW.database
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        IF NOT has_database_privilege(NEW.roleid, NEW.database, 'CONNECT') THEN
            RAISE EXCEPTION 'role "%" has no CONNECT privilege on database "%"', NEW.username, NEW.database
                USING ERRCODE = 'insufficient_privilege';
        END IF;
    END IF;
    IF NEW.offset_seconds IS NULL THEN
        NEW.offset_seconds := job_stagger.spread_offset(NEW.schedule, NEW.jobid);
    END IF;
    IF TG_OP = 'INSERT' THEN
        NEW.owner := current_user;
        NEW.created_at := now();
    ELSE
        NEW.owner := OLD.owner;
        NEW.created_at := OLD.created_at;
    END IF;
    NEW.updated_at := now();
    RETURN NEW;
END
$fn$;

/* The job a name refers to: the caller's own, else the only visible one of that name. */
CREATE OR REPLACE FUNCTION job_stagger.job_id(job_name text)
RETURNS bigint
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_ids bigint[];
    v_me oid := job_stagger.role_id(current_user);
BEGIN
    SELECT array_agg(j.jobid ORDER BY j.jobid) INTO v_ids
      FROM job_stagger.jobs j WHERE j.job_name = job_id.job_name AND j.roleid = v_me;
    IF v_ids IS NULL THEN
        SELECT array_agg(j.jobid ORDER BY j.jobid) INTO v_ids
          FROM job_stagger.jobs j WHERE j.job_name = job_id.job_name;
    END IF;
    IF v_ids IS NULL THEN
        RAISE EXCEPTION 'job "%" does not exist', job_name USING ERRCODE = 'undefined_object';
    END IF;
    IF cardinality(v_ids) > 1 THEN
        RAISE EXCEPTION 'job name "%" is ambiguous: jobs % of different roles have it', job_name, v_ids
            USING ERRCODE = 'ambiguous_parameter', HINT = 'Pass the jobid instead of the name.';
    END IF;
    RETURN v_ids[1];
END
$fn$;

CREATE OR REPLACE FUNCTION job_stagger.configured_offset(job_name text)
RETURNS integer
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_offset integer;
    v_me oid := job_stagger.role_id(current_user);
BEGIN
    SELECT j.offset_seconds INTO v_offset FROM job_stagger.jobs j
     WHERE j.job_name = configured_offset.job_name
     ORDER BY (j.roleid = v_me) DESC, j.jobid
     LIMIT 1;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    RETURN coalesce((SELECT o.offset_seconds FROM job_stagger.offset_overrides() o
                      WHERE o.job_name = configured_offset.job_name), v_offset);
END
$fn$;

/* A job name is unique per role OID (jobs_roleid_job_name_key). */
CREATE OR REPLACE FUNCTION stagger_schedule(job_name text, schedule text, command text, offset_seconds integer DEFAULT NULL,
                                 database text DEFAULT current_database(), username text DEFAULT current_user,
                                 active boolean DEFAULT true)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
#variable_conflict use_column
DECLARE
    v_jobid bigint;
BEGIN
    IF stagger_schedule.schedule IS NULL THEN
        RAISE EXCEPTION 'schedule must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF stagger_schedule.offset_seconds IS NOT NULL AND stagger_schedule.offset_seconds NOT BETWEEN 0 AND 59 THEN
        RAISE EXCEPTION 'offset_seconds must be between 0 and 59, got %', stagger_schedule.offset_seconds
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO job_stagger.jobs AS j (job_name, schedule, command, database, username, active, offset_seconds)
    VALUES (stagger_schedule.job_name, stagger_schedule.schedule, stagger_schedule.command,
            coalesce(stagger_schedule.database, current_database()), coalesce(stagger_schedule.username, current_user),
            coalesce(stagger_schedule.active, true), stagger_schedule.offset_seconds)
    ON CONFLICT (roleid, job_name) WHERE roleid <> 0 DO UPDATE
       SET schedule = EXCLUDED.schedule, command = EXCLUDED.command, database = EXCLUDED.database,
           active = EXCLUDED.active,
           offset_seconds = coalesce(stagger_schedule.offset_seconds, j.offset_seconds)
    RETURNING j.jobid INTO v_jobid;
    RETURN v_jobid;
END
$fn$;
/*
 * C functions: STRICT (no NULL reaches C code), and a pinned search_path for
 * every one that is not IMMUTABLE (those may run SQL). The test
 * sql/hostile_calls.sql checks both for every function of the extension.
 */
ALTER FUNCTION job_stagger.spread_offset(text, bigint) STRICT;
ALTER FUNCTION job_stagger.spread_offset(text, bigint) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION stagger_next_runs(text, timestamptz, integer) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION job_stagger.wake_scheduler() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION job_stagger.jobs_changed() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION job_stagger.note_job(bigint, text, text, integer, boolean) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION job_stagger.note_job_deleted(bigint) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION job_stagger.offset_overrides() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION stagger_collisions() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION stagger_summary() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION job_stagger.collision_report(bigint[]) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION job_stagger.scheduler_status() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION job_stagger.concurrency_by_minute() SET search_path = pg_catalog, pg_temp;

/* Only the extension itself wakes the scheduler (job changes do it through their trigger). */
REVOKE EXECUTE ON FUNCTION job_stagger.wake_scheduler() FROM PUBLIC;

/*
 * 0.3 reads 5-field schedules exactly as pg_cron does: a few that 0.2
 * accepted are now errors (5/10, @DAILY, line breaks between fields) or never
 * fire (a day-of-week range ending in sun). Say so for every active job now,
 * rather than only in the scheduler's log later.
 */
DO $do$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT j.jobid, j.job_name, j.schedule, i.valid, i.error
               FROM job_stagger.jobs j CROSS JOIN LATERAL job_stagger.schedule_info(j.schedule) i
              WHERE j.active AND (NOT i.valid OR NOT i.can_fire)
              ORDER BY j.jobid LOOP
        RAISE WARNING '%', pg_catalog.format('job %s "%s": schedule "%s" %s', r.jobid, r.job_name, r.schedule,
                                             CASE WHEN r.valid THEN 'never fires'
                                                  ELSE 'is invalid: ' || r.error END)
            USING HINT = 'Version 0.3 reads schedules exactly as pg_cron does (see the CHANGELOG); change it with '
                         'stagger_alter_job(jobid, schedule => ...).';
    END LOOP;
END
$do$;

SELECT job_stagger.wake_scheduler();
