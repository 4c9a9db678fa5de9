/* job_stagger--0.1.sql: second-precise, staggered job scheduler */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION job_stagger" to load this file. \quit

/*
 * Layout: tables, views and internal functions live in schema job_stagger;
 * the user-facing stagger_* functions are created in pg_catalog (the
 * extension's schema, see job_stagger.control) so that they are callable
 * unqualified whatever the search_path.
 */
CREATE SCHEMA job_stagger;
GRANT USAGE ON SCHEMA job_stagger TO PUBLIC;

------------------------------------------------------------------------------
-- Cron engine
------------------------------------------------------------------------------

CREATE FUNCTION stagger_next_runs(schedule text, after timestamptz DEFAULT now(), n integer DEFAULT 5)
RETURNS SETOF timestamptz
AS 'MODULE_PATHNAME', 'job_stagger_next_runs'
LANGUAGE C STRICT STABLE PARALLEL SAFE ROWS 5;
COMMENT ON FUNCTION stagger_next_runs(text, timestamptz, integer) IS
'the next n fire instants of a schedule strictly after a given instant, evaluated in job_stagger.timezone';

CREATE FUNCTION stagger_describe(schedule text)
RETURNS text
AS 'MODULE_PATHNAME', 'job_stagger_describe'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION stagger_describe(text) IS 'English description of a schedule';

CREATE FUNCTION job_stagger.check_schedule(schedule text)
RETURNS void
AS 'MODULE_PATHNAME', 'job_stagger_check_schedule'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION job_stagger.check_schedule(text) IS
'raises an error for an invalid schedule and a notice for one that never fires';

CREATE FUNCTION job_stagger.schedule_info(schedule text,
    OUT valid boolean, OUT error text, OUT kind text, OUT fields integer,
    OUT can_fire boolean, OUT five_field_text text)
RETURNS record
AS 'MODULE_PATHNAME', 'job_stagger_schedule_info'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION job_stagger.schedule_info(text) IS
'parse a schedule without raising: validity, error, kind (cron, interval, reboot) and field count';

CREATE FUNCTION job_stagger.spread_offset(schedule text, exclude_jobid bigint)
RETURNS integer
AS 'MODULE_PATHNAME', 'job_stagger_spread_offset'
LANGUAGE C STABLE;
COMMENT ON FUNCTION job_stagger.spread_offset(text, bigint) IS
'the offset a job with this schedule gets when none is given: collision-free, spread over the minute';

CREATE FUNCTION job_stagger.wake_scheduler()
RETURNS void
AS 'MODULE_PATHNAME', 'job_stagger_wake_scheduler'
LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION job_stagger.wake_scheduler() IS
'make the scheduler re-read jobs and settings when the current transaction commits';

CREATE FUNCTION job_stagger.jobs_changed()
RETURNS trigger
AS 'MODULE_PATHNAME', 'job_stagger_jobs_changed'
LANGUAGE C;

------------------------------------------------------------------------------
-- Jobs
------------------------------------------------------------------------------

CREATE TABLE job_stagger.jobs (
    jobid          bigserial PRIMARY KEY,
    job_name       text NOT NULL,
    schedule       text NOT NULL,
    command        text NOT NULL,
    database       text NOT NULL DEFAULT current_database(),
    username       text NOT NULL DEFAULT current_user,
    active         boolean NOT NULL DEFAULT true,
    offset_seconds integer NOT NULL,
    overlap        text NOT NULL DEFAULT 'skip',
    timeout        interval,
    owner          text NOT NULL DEFAULT current_user,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT jobs_job_name_check CHECK (job_name ~ '\S'),
    CONSTRAINT jobs_command_check CHECK (command ~ '\S'),
    CONSTRAINT jobs_offset_seconds_check CHECK (offset_seconds BETWEEN 0 AND 59),
    CONSTRAINT jobs_overlap_check CHECK (overlap IN ('skip', 'queue', 'allow')),
    CONSTRAINT jobs_timeout_check CHECK (timeout > interval '0'),
    CONSTRAINT jobs_username_job_name_key UNIQUE (username, job_name)
);
COMMENT ON TABLE job_stagger.jobs IS 'scheduled jobs; each user sees and changes only the jobs that run as them';
COMMENT ON COLUMN job_stagger.jobs.offset_seconds IS
'second (0-59) at which a 5-field job fires when staggering is enabled; chosen collision-free and spread over the minute when not given';
COMMENT ON COLUMN job_stagger.jobs.overlap IS 'when the previous run is still going: skip (default), queue (run once right after) or allow';
COMMENT ON COLUMN job_stagger.jobs.timeout IS 'runs longer than this are canceled and recorded as timed_out (NULL: no limit)';
COMMENT ON COLUMN job_stagger.jobs.owner IS 'role that created the job (the job runs as username)';

SELECT pg_catalog.pg_extension_config_dump('job_stagger.jobs', '');
SELECT pg_catalog.pg_extension_config_dump('job_stagger.jobs_jobid_seq', '');

/*
 * Validates every write to job_stagger.jobs, through the stagger_* functions
 * or directly: the same clear errors either way, nothing written on error.
 */
CREATE FUNCTION job_stagger.jobs_validate()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_metadata_db text := current_setting('job_stagger.database_name', true);
    v_superuser boolean := (SELECT rolsuper FROM pg_roles WHERE rolname = current_user);
    v_role record;
    v_db record;
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
    IF NEW.job_name IS NULL OR NEW.job_name !~ '\S' THEN
        RAISE EXCEPTION 'job name must not be empty' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NEW.command IS NULL OR NEW.command !~ '\S' THEN
        RAISE EXCEPTION 'command of job "%" must not be empty', NEW.job_name USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF TG_OP = 'INSERT' OR NEW.schedule IS DISTINCT FROM OLD.schedule THEN
        PERFORM job_stagger.check_schedule(NEW.schedule);
    END IF;
    IF TG_OP = 'INSERT' OR NEW.username IS DISTINCT FROM OLD.username
       OR NEW.database IS DISTINCT FROM OLD.database THEN
        IF NEW.username IS DISTINCT FROM current_user AND NOT v_superuser THEN
            RAISE EXCEPTION 'permission denied to schedule a job as role "%"', NEW.username
                USING ERRCODE = 'insufficient_privilege',
                      HINT = 'Only superusers can schedule or move jobs to run as another role.';
        END IF;
        SELECT rolcanlogin INTO v_role FROM pg_roles WHERE rolname = NEW.username;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'role "%" does not exist', NEW.username USING ERRCODE = 'undefined_object';
        END IF;
        IF NOT v_role.rolcanlogin THEN
            RAISE EXCEPTION 'role "%" cannot log in', NEW.username
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Job runs connect as their role, which needs the LOGIN attribute.';
        END IF;
        SELECT datallowconn INTO v_db FROM pg_database WHERE datname = NEW.database;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'database "%" does not exist', NEW.database USING ERRCODE = 'invalid_catalog_name';
        END IF;
        IF NOT v_db.datallowconn THEN
            RAISE EXCEPTION 'database "%" does not allow connections', NEW.database
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        IF NOT has_database_privilege(NEW.username, NEW.database, 'CONNECT') THEN
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

CREATE TRIGGER jobs_validate BEFORE INSERT OR UPDATE ON job_stagger.jobs
    FOR EACH ROW EXECUTE FUNCTION job_stagger.jobs_validate();
CREATE TRIGGER jobs_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON job_stagger.jobs
    FOR EACH STATEMENT EXECUTE FUNCTION job_stagger.jobs_changed();

/*
 * Each backend caches the parsed jobs for the collision checks (so
 * scheduling thousands of jobs is not quadratic); these keep its cache in step
 * with the rows it writes itself.
 */
CREATE FUNCTION job_stagger.note_job(jobid bigint, job_name text, schedule text, offset_seconds integer,
                                     active boolean)
RETURNS void
AS 'MODULE_PATHNAME', 'job_stagger_note_job'
LANGUAGE C STRICT VOLATILE;

CREATE FUNCTION job_stagger.note_job_deleted(jobid bigint)
RETURNS void
AS 'MODULE_PATHNAME', 'job_stagger_note_job_deleted'
LANGUAGE C STRICT VOLATILE;

CREATE FUNCTION job_stagger.jobs_note_rows()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM job_stagger.note_job_deleted(OLD.jobid);
        RETURN OLD;
    END IF;
    PERFORM job_stagger.note_job(NEW.jobid, NEW.job_name, NEW.schedule, NEW.offset_seconds, NEW.active);
    RETURN NEW;
END
$fn$;

CREATE TRIGGER jobs_note_rows AFTER INSERT OR UPDATE OR DELETE ON job_stagger.jobs
    FOR EACH ROW EXECUTE FUNCTION job_stagger.jobs_note_rows();

ALTER TABLE job_stagger.jobs ENABLE ROW LEVEL SECURITY;
CREATE POLICY jobs_own ON job_stagger.jobs
    USING (username = current_user) WITH CHECK (username = current_user);
GRANT SELECT, INSERT, UPDATE, DELETE ON job_stagger.jobs TO PUBLIC;
GRANT USAGE ON SEQUENCE job_stagger.jobs_jobid_seq TO PUBLIC;

------------------------------------------------------------------------------
-- Run history and scheduler state (written by the scheduler)
------------------------------------------------------------------------------

CREATE TABLE job_stagger.job_run_details (
    runid              bigserial PRIMARY KEY,
    jobid              bigint NOT NULL,
    job_name           text NOT NULL,
    username           text NOT NULL,
    database           text NOT NULL,
    command            text NOT NULL,
    status             text NOT NULL,
    return_message     text,
    scheduled_at       timestamptz NOT NULL,
    nominal_at         timestamptz NOT NULL,
    started_at         timestamptz,
    ended_at           timestamptz,
    pid                integer,
    stagger_enabled    boolean NOT NULL,
    offset_seconds     integer NOT NULL,
    effective_schedule text NOT NULL,
    triggered_by       text NOT NULL DEFAULT 'schedule',
    CONSTRAINT job_run_details_status_check CHECK
        (status IN ('starting', 'running', 'succeeded', 'failed', 'skipped', 'timed_out', 'crashed')),
    CONSTRAINT job_run_details_triggered_by_check CHECK (triggered_by IN ('schedule', 'reboot', 'manual'))
);
CREATE INDEX job_run_details_jobid_scheduled_at_idx ON job_stagger.job_run_details (jobid, scheduled_at);
CREATE INDEX job_run_details_scheduled_at_idx ON job_stagger.job_run_details (scheduled_at);
CREATE INDEX job_run_details_unfinished_idx ON job_stagger.job_run_details (runid)
    WHERE status IN ('starting', 'running');
COMMENT ON TABLE job_stagger.job_run_details IS 'one row per due slot of every job: its outcome and timing';
COMMENT ON COLUMN job_stagger.job_run_details.scheduled_at IS 'instant the run was due (effective schedule)';
COMMENT ON COLUMN job_stagger.job_run_details.nominal_at IS 'instant of the slot in the job''s own schedule (before any offset)';
COMMENT ON COLUMN job_stagger.job_run_details.offset_seconds IS 'offset applied to this run (0 when staggering was off)';

ALTER TABLE job_stagger.job_run_details ENABLE ROW LEVEL SECURITY;
CREATE POLICY job_run_details_own ON job_stagger.job_run_details USING (username = current_user);
GRANT SELECT, DELETE ON job_stagger.job_run_details TO PUBLIC;

CREATE TABLE job_stagger.scheduler_state (
    singleton       boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    scheduled_until timestamptz,
    launcher_pid    integer
);
COMMENT ON TABLE job_stagger.scheduler_state IS
'every slot due up to scheduled_until has its row in job_run_details (the scheduler resumes from there)';
GRANT SELECT ON job_stagger.scheduler_state TO PUBLIC;

------------------------------------------------------------------------------
-- Job API
------------------------------------------------------------------------------

/* The job a name refers to: the caller's own, else the only visible one of that name. */
CREATE FUNCTION job_stagger.job_id(job_name text)
RETURNS bigint
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_ids bigint[];
BEGIN
    SELECT array_agg(j.jobid ORDER BY j.jobid) INTO v_ids
      FROM job_stagger.jobs j WHERE j.job_name = job_id.job_name AND j.username = current_user;
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

CREATE FUNCTION stagger_schedule(job_name text, schedule text, command text, offset_seconds integer DEFAULT NULL,
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
    ON CONFLICT ON CONSTRAINT jobs_username_job_name_key DO UPDATE
       SET schedule = EXCLUDED.schedule, command = EXCLUDED.command, database = EXCLUDED.database,
           active = EXCLUDED.active,
           offset_seconds = coalesce(stagger_schedule.offset_seconds, j.offset_seconds)
    RETURNING j.jobid INTO v_jobid;
    RETURN v_jobid;
END
$fn$;
COMMENT ON FUNCTION stagger_schedule(text, text, text, integer, text, text, boolean) IS
'create a job, or update the job of that name that runs as username; returns its jobid';

CREATE FUNCTION stagger_unschedule(job_id bigint)
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    DELETE FROM job_stagger.jobs WHERE jobid = job_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'job % does not exist', job_id USING ERRCODE = 'undefined_object';
    END IF;
    RETURN true;
END
$fn$;

CREATE FUNCTION stagger_unschedule(job_name text)
RETURNS boolean
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $fn$ SELECT stagger_unschedule(job_stagger.job_id(job_name)) $fn$;
COMMENT ON FUNCTION stagger_unschedule(text) IS 'delete a job (a run in progress finishes and is recorded)';

CREATE FUNCTION stagger_alter_job(job_id bigint, schedule text DEFAULT NULL, command text DEFAULT NULL,
                                  database text DEFAULT NULL, username text DEFAULT NULL,
                                  active boolean DEFAULT NULL, overlap text DEFAULT NULL,
                                  timeout interval DEFAULT NULL)
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
                          ELSE stagger_alter_job.timeout END
     WHERE jobid = stagger_alter_job.job_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'job % does not exist', stagger_alter_job.job_id USING ERRCODE = 'undefined_object';
    END IF;
END
$fn$;

CREATE FUNCTION stagger_alter_job(job_name text, schedule text DEFAULT NULL, command text DEFAULT NULL,
                                  database text DEFAULT NULL, username text DEFAULT NULL,
                                  active boolean DEFAULT NULL, overlap text DEFAULT NULL,
                                  timeout interval DEFAULT NULL)
RETURNS void
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT stagger_alter_job(job_stagger.job_id(job_name), schedule, command, database, username, active,
                             overlap, timeout)
$fn$;
COMMENT ON FUNCTION stagger_alter_job(text, text, text, text, text, boolean, text, interval) IS
'change a job; NULL leaves a field unchanged, timeout ''0'' removes the limit';

------------------------------------------------------------------------------
-- Staggering: offsets and effective schedules
------------------------------------------------------------------------------

CREATE FUNCTION job_stagger.effective_schedule(schedule text, offset_seconds integer, enabled boolean)
RETURNS text
AS 'MODULE_PATHNAME', 'job_stagger_effective_schedule'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION job_stagger.effective_schedule(text, integer, boolean) IS
'the 6-field schedule a 5-field cron fires at with this offset when staggering is enabled; the input otherwise';

CREATE FUNCTION job_stagger.offset_overrides(OUT job_name text, OUT offset_seconds integer)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'job_stagger_offset_overrides'
LANGUAGE C STRICT STABLE;
COMMENT ON FUNCTION job_stagger.offset_overrides() IS
'valid entries of job_stagger.offsets (a WARNING for each invalid one)';

/*
 * The configured offset of a job (the caller's job of that name first): its
 * job_stagger.offsets override, else its table value; NULL for an unknown job.
 */
CREATE FUNCTION job_stagger.configured_offset(job_name text)
RETURNS integer
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_offset integer;
BEGIN
    SELECT j.offset_seconds INTO v_offset FROM job_stagger.jobs j
     WHERE j.job_name = configured_offset.job_name
     ORDER BY (j.username = current_user) DESC, j.jobid
     LIMIT 1;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    RETURN coalesce((SELECT o.offset_seconds FROM job_stagger.offset_overrides() o
                      WHERE o.job_name = configured_offset.job_name), v_offset);
END
$fn$;

CREATE FUNCTION stagger_offset(job_name text)
RETURNS integer
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT CASE WHEN current_setting('job_stagger.enabled')::boolean
                THEN coalesce(job_stagger.configured_offset($1), 0) ELSE 0 END
$fn$;
COMMENT ON FUNCTION stagger_offset(text) IS
'the offset (seconds) a job fires at: its override or table offset when staggering is enabled; 0 when disabled or unknown';

CREATE FUNCTION stagger_apply_cron(job_name text, cron text)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT job_stagger.effective_schedule($2, stagger_offset($1), current_setting('job_stagger.enabled')::boolean)
$fn$;
COMMENT ON FUNCTION stagger_apply_cron(text, text) IS
'a 5-field cron as the 6-field schedule the job fires at (offset as seconds field); unchanged when staggering is off, the offset is 0, the job unknown, or the cron not a valid 5-field one';

CREATE FUNCTION stagger_set_offset(job_name text, offset_seconds integer)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
#variable_conflict use_column
BEGIN
    IF stagger_set_offset.offset_seconds IS NULL OR stagger_set_offset.offset_seconds NOT BETWEEN 0 AND 59 THEN
        RAISE EXCEPTION 'offset_seconds must be between 0 and 59, got %',
            coalesce(stagger_set_offset.offset_seconds::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    UPDATE job_stagger.jobs SET offset_seconds = stagger_set_offset.offset_seconds
     WHERE jobid = job_stagger.job_id(stagger_set_offset.job_name);
END
$fn$;
COMMENT ON FUNCTION stagger_set_offset(text, integer) IS 'set the second (0-59) at which a 5-field job fires when staggering is enabled';

------------------------------------------------------------------------------
-- Staggering: collisions and the summary
------------------------------------------------------------------------------

CREATE FUNCTION stagger_collisions(OUT job_a text, OUT job_b text, OUT second integer,
                                   OUT first_collision timestamptz, OUT collisions_per_day bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'job_stagger_collisions'
LANGUAGE C STRICT STABLE;
COMMENT ON FUNCTION stagger_collisions() IS
'pairs of active jobs whose effective fire instants coincide at least once (in the next 8 years), judged on real fire times';

CREATE FUNCTION stagger_validate(OUT valid boolean, OUT collisions jsonb)
RETURNS record
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT count(*) = 0,
           coalesce(jsonb_agg(jsonb_build_object('job_a', c.job_a, 'job_b', c.job_b, 'second', c.second,
                                                 'first_collision', c.first_collision,
                                                 'collisions_per_day', c.collisions_per_day)
                              ORDER BY c.first_collision, c.job_a, c.job_b), '[]'::jsonb)
      FROM stagger_collisions() c
$fn$;
COMMENT ON FUNCTION stagger_validate() IS 'valid when no two active jobs fire in the same second; the collisions as jsonb';

CREATE FUNCTION stagger_summary()
RETURNS text
AS 'MODULE_PATHNAME', 'job_stagger_summary'
LANGUAGE C STRICT STABLE;
COMMENT ON FUNCTION stagger_summary() IS
'human-readable summary: staggering on or off, each job with its effective schedule, offset and next fire, the spread over the minute, collisions';

CREATE FUNCTION job_stagger.collision_report(jobids bigint[], OUT jobid bigint, OUT job_name text,
                                             OUT offset_seconds integer, OUT colliding text[],
                                             OUT free_offset integer, OUT least_colliding_offset integer,
                                             OUT least_colliding_count integer)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'job_stagger_collision_report'
LANGUAGE C STRICT STABLE;
COMMENT ON FUNCTION job_stagger.collision_report(bigint[]) IS
'for each job: the jobs it would fire with in the same second when staggering is enabled, and the nearest free offset';

/* NOTICE for every written job that collides: catch collisions when they are made, not in production. */
CREATE FUNCTION job_stagger.notice_collisions(jobids bigint[])
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    r record;
    v_when text := CASE WHEN current_setting('job_stagger.enabled')::boolean THEN ''
                        ELSE ' once staggering is enabled' END;
BEGIN
    IF cardinality(jobids) = 0 THEN
        RETURN;
    END IF;
    FOR r IN SELECT c.*, (i.kind = 'cron' AND i.fields = 5) AS shiftable
               FROM job_stagger.collision_report(jobids) c
               JOIN job_stagger.jobs j USING (jobid), job_stagger.schedule_info(j.schedule) i
              WHERE cardinality(c.colliding) > 0 ORDER BY c.jobid LOOP
        RAISE NOTICE '%', format('job "%s" (offset %s) fires in the same second as %s%s', r.job_name, r.offset_seconds,
                                 (SELECT string_agg(format('"%s"', n), ', ') FROM unnest(r.colliding) n), v_when)
            USING HINT = CASE
                WHEN NOT r.shiftable THEN
                    'Offsets move only 5-field schedules; change the seconds of this one instead.'
                WHEN r.free_offset IS NOT NULL THEN
                    format('The nearest free offset is %s: SELECT stagger_set_offset(%L, %s);',
                           r.free_offset, r.job_name, r.free_offset)
                WHEN r.least_colliding_offset IS NOT NULL THEN
                    format('No offset is free for this schedule; offset %s collides with the fewest jobs (%s).',
                           r.least_colliding_offset, r.least_colliding_count)
                ELSE 'See SELECT * FROM stagger_collisions();' END;
    END LOOP;
END
$fn$;

CREATE FUNCTION job_stagger.jobs_inserted()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    PERFORM job_stagger.notice_collisions(ARRAY(SELECT jobid FROM new_rows WHERE active ORDER BY jobid));
    RETURN NULL;
END
$fn$;

CREATE FUNCTION job_stagger.jobs_updated()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    PERFORM job_stagger.notice_collisions(ARRAY(
        SELECT n.jobid FROM new_rows n JOIN old_rows o USING (jobid)
         WHERE n.active AND (NOT o.active OR n.schedule <> o.schedule OR n.offset_seconds <> o.offset_seconds)
         ORDER BY n.jobid));
    RETURN NULL;
END
$fn$;

CREATE TRIGGER jobs_collisions_insert AFTER INSERT ON job_stagger.jobs
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION job_stagger.jobs_inserted();
CREATE TRIGGER jobs_collisions_update AFTER UPDATE ON job_stagger.jobs
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION job_stagger.jobs_updated();

------------------------------------------------------------------------------
-- Observability: scheduler status and pool samples
------------------------------------------------------------------------------

CREATE FUNCTION job_stagger.scheduler_status(OUT launcher_pid integer, OUT launcher_started_at timestamptz,
                                             OUT applied_enabled boolean, OUT settings_applied_at timestamptz,
                                             OUT running_runs integer, OUT waiting_runs integer,
                                             OUT auto_rollback_at timestamptz, OUT auto_rollback_reason text)
RETURNS record
AS 'MODULE_PATHNAME', 'job_stagger_scheduler_status'
LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION job_stagger.scheduler_status() IS
'the scheduler now: its pid, the job_stagger.enabled it has applied and when, runs going and waiting, automatic rollback';

CREATE TABLE job_stagger.pool_samples (
    sample_id         bigserial PRIMARY KEY,
    sampled_at        timestamptz NOT NULL,
    stagger_enabled   boolean NOT NULL,
    running_jobs      integer NOT NULL,
    peak_running_jobs integer NOT NULL,
    max_running_jobs  integer NOT NULL,
    job_pool_pct      numeric(5,1) NOT NULL,
    client_backends   integer NOT NULL,
    max_connections   integer NOT NULL,
    conn_pool_pct     numeric(5,1) NOT NULL
);
CREATE INDEX pool_samples_sampled_at_idx ON job_stagger.pool_samples (sampled_at);
COMMENT ON TABLE job_stagger.pool_samples IS
'pool use sampled by the scheduler every job_stagger.pool_sample_interval';
COMMENT ON COLUMN job_stagger.pool_samples.peak_running_jobs IS
'most job runs executing at once since the previous sample (the scheduler counts at every start)';
COMMENT ON COLUMN job_stagger.pool_samples.job_pool_pct IS 'peak_running_jobs / max_running_jobs, percent';
COMMENT ON COLUMN job_stagger.pool_samples.conn_pool_pct IS 'client_backends / max_connections, percent';
GRANT SELECT ON job_stagger.pool_samples TO PUBLIC;

------------------------------------------------------------------------------
-- Observability: analysis views, KPI snapshots, rollout checks
------------------------------------------------------------------------------

/*
 * Indexes for the views and checks below. A run executes during [started_at,
 * ended_at); a run without ended_at is still going and counts until now().
 * - started_at: filters on start times (the overlaps view's outer side);
 * - running: the few runs still going;
 * - run range (GiST): the runs executing at an instant (the overlaps join);
 *   greatest() keeps a run whose clock went backwards an empty range instead
 *   of an error in the scheduler's writes;
 * - job_name: per-job views read in group order, or filtered on one job;
 * - off: the latest runs with staggering off (the rollout baseline); no write
 *   cost once staggering is on.
 */
CREATE INDEX job_run_details_started_at_idx ON job_stagger.job_run_details (started_at)
    WHERE started_at IS NOT NULL;
CREATE INDEX job_run_details_running_idx ON job_stagger.job_run_details (started_at)
    WHERE started_at IS NOT NULL AND ended_at IS NULL;
CREATE INDEX job_run_details_run_range_idx ON job_stagger.job_run_details
    USING gist (tstzrange(started_at, greatest(started_at, coalesce(ended_at, 'infinity'))))
    WHERE started_at IS NOT NULL;
CREATE INDEX job_run_details_job_name_idx ON job_stagger.job_run_details (job_name, stagger_enabled)
    INCLUDE (started_at, ended_at, status);
CREATE INDEX job_run_details_off_scheduled_at_idx ON job_stagger.job_run_details (scheduled_at)
    WHERE NOT stagger_enabled;

/*
 * Concurrency per minute from one time-ordered stream of events: +1 at each
 * start, -1 at each end (ends first at equal instants: intervals are
 * half-open). The running sum over the stream is the number of runs executing
 * after each event; a minute's peak is reached at a start or at its first
 * instant, whose level is the net change of all earlier minutes plus that of
 * the events at that very instant. The highest level at a start and the first
 * second it occurs are packed into one integer, level * 64 + (63 - second),
 * whose maximum yields both. Minutes are UTC minutes (date_bin): the same as
 * date_trunc('minute') in every time zone with a whole-minute offset.
 */
CREATE VIEW job_stagger.concurrency WITH (security_invoker = true) AS
WITH ev AS (
    SELECT e.t, e.d, e.staggered, sum(e.d) OVER (ORDER BY e.t, e.d ROWS UNBOUNDED PRECEDING) AS level
      FROM (SELECT r.started_at AS t, 1 AS d, r.stagger_enabled AS staggered
              FROM job_stagger.job_run_details r
             WHERE r.started_at IS NOT NULL AND coalesce(r.ended_at, 'infinity') >= r.started_at
            UNION ALL
            SELECT r.ended_at, -1, NULL::boolean
              FROM job_stagger.job_run_details r
             WHERE r.started_at IS NOT NULL AND r.ended_at >= r.started_at
            UNION ALL
            SELECT greatest(r.started_at, now()), -1, NULL::boolean
              FROM job_stagger.job_run_details r
             WHERE r.started_at IS NOT NULL AND r.ended_at IS NULL) e
), minutes AS (
    SELECT x.minute, sum(x.d) AS net, coalesce(sum(x.d) FILTER (WHERE x.t = x.minute), 0) AS at_first,
           count(*) FILTER (WHERE x.d = 1 AND NOT x.staggered) AS runs_off,
           count(*) FILTER (WHERE x.d = 1 AND x.staggered) AS runs_on,
           max(x.level * 64 + 63 - floor(date_part('second', x.t))::integer) FILTER (WHERE x.d = 1) AS start_key
      FROM (SELECT date_bin('1 minute', ev.t, timestamptz '2000-01-01 00:00+00') AS minute, ev.* FROM ev) x
     GROUP BY x.minute
), carried AS (
    SELECT m.*, sum(m.net) OVER (ORDER BY m.minute ROWS UNBOUNDED PRECEDING) - m.net + m.at_first AS at_first_level,
           floor(m.start_key / 64.0)::integer AS start_level
      FROM minutes m
)
SELECT c.minute, s.stagger_enabled, s.runs,
       greatest(c.at_first_level, c.start_level)::integer AS peak_concurrency,
       CASE WHEN c.at_first_level >= c.start_level THEN c.minute
            ELSE c.minute + (63 - (c.start_key - 64 * c.start_level)) * interval '1 second' END AS worst_second
  FROM carried c
 CROSS JOIN LATERAL (VALUES (false, c.runs_off), (true, c.runs_on)) s(stagger_enabled, runs)
 WHERE s.runs > 0;
COMMENT ON VIEW job_stagger.concurrency IS
'per minute and stagger mode: runs started, the most runs (of any job) executing at once in that minute and the first second it was reached';

CREATE VIEW job_stagger.duration_comparison WITH (security_invoker = true) AS
WITH d AS (
    SELECT r.job_name, r.stagger_enabled, count(*) AS runs, avg(r.ended_at - r.started_at) AS mean,
           percentile_cont(ARRAY[0.5, 0.95]) WITHIN GROUP (ORDER BY r.ended_at - r.started_at) AS pct,
           max(r.ended_at - r.started_at) AS max
      FROM job_stagger.job_run_details r
     WHERE r.started_at IS NOT NULL AND r.ended_at IS NOT NULL
     GROUP BY r.job_name, r.stagger_enabled
), ms AS (
    SELECT d.job_name, d.stagger_enabled, d.runs, extract(epoch FROM d.mean) * 1000 AS mean,
           extract(epoch FROM d.pct[1]) * 1000 AS p50, extract(epoch FROM d.pct[2]) * 1000 AS p95,
           extract(epoch FROM d.max) * 1000 AS max
      FROM d
), j AS (
    SELECT ms.job_name,
           coalesce(max(ms.runs) FILTER (WHERE NOT ms.stagger_enabled), 0) AS runs_off,
           max(ms.mean) FILTER (WHERE NOT ms.stagger_enabled) AS mean_off,
           max(ms.p50) FILTER (WHERE NOT ms.stagger_enabled) AS p50_off,
           max(ms.p95) FILTER (WHERE NOT ms.stagger_enabled) AS p95_off,
           max(ms.max) FILTER (WHERE NOT ms.stagger_enabled) AS max_off,
           coalesce(max(ms.runs) FILTER (WHERE ms.stagger_enabled), 0) AS runs_on,
           max(ms.mean) FILTER (WHERE ms.stagger_enabled) AS mean_on,
           max(ms.p50) FILTER (WHERE ms.stagger_enabled) AS p50_on,
           max(ms.p95) FILTER (WHERE ms.stagger_enabled) AS p95_on,
           max(ms.max) FILTER (WHERE ms.stagger_enabled) AS max_on
      FROM ms
     GROUP BY ms.job_name
)
SELECT j.job_name,
       j.runs_off, round(j.mean_off, 1) AS mean_ms_off, round(j.p50_off, 1) AS p50_ms_off,
       round(j.p95_off, 1) AS p95_ms_off, round(j.max_off, 1) AS max_ms_off,
       j.runs_on, round(j.mean_on, 1) AS mean_ms_on, round(j.p50_on, 1) AS p50_ms_on,
       round(j.p95_on, 1) AS p95_ms_on, round(j.max_on, 1) AS max_ms_on,
       round((j.mean_on - j.mean_off) / nullif(j.mean_off, 0) * 100, 1) AS mean_change_pct,
       round((j.p95_on - j.p95_off) / nullif(j.p95_off, 0) * 100, 1) AS p95_change_pct
  FROM j;
COMMENT ON VIEW job_stagger.duration_comparison IS
'per job: durations (ms) of finished runs with staggering off and on, and the change in percent';

CREATE VIEW job_stagger.success_rate WITH (security_invoker = true) AS
SELECT r.job_name, r.stagger_enabled, count(*) AS runs,
       count(*) FILTER (WHERE r.status = 'succeeded') AS succeeded,
       count(*) FILTER (WHERE r.status = 'failed') AS failed,
       count(*) FILTER (WHERE r.status = 'skipped') AS skipped,
       count(*) FILTER (WHERE r.status = 'timed_out') AS timed_out,
       count(*) FILTER (WHERE r.status = 'crashed') AS crashed,
       round(100.0 * count(*) FILTER (WHERE r.status = 'succeeded')
             / nullif(count(*) FILTER (WHERE r.status NOT IN ('starting', 'running')), 0), 1) AS success_pct
  FROM job_stagger.job_run_details r
 GROUP BY r.job_name, r.stagger_enabled;
COMMENT ON VIEW job_stagger.success_rate IS
'per job and stagger mode: runs by outcome, and succeeded runs in percent of finished ones';

CREATE VIEW job_stagger.start_distribution WITH (security_invoker = true) AS
SELECT r.job_name, r.stagger_enabled, floor(date_part('second', r.started_at))::integer AS start_second,
       count(*) AS runs
  FROM job_stagger.job_run_details r
 WHERE r.started_at IS NOT NULL
 GROUP BY r.job_name, r.stagger_enabled, 3;
COMMENT ON VIEW job_stagger.start_distribution IS
'per job and stagger mode: runs started in each second (0-59) of the minute';

/*
 * Two intervals overlap exactly when the one that starts later (b) starts
 * while the other (a) is executing: for each run b, the runs executing at its
 * start are one lookup in the GiST index of run intervals (so a filter on
 * overlap_start, which is b's start, narrows the outer side). On equal starts
 * the higher runid is b, so every pair appears once.
 */
CREATE VIEW job_stagger.overlaps WITH (security_invoker = true) AS
SELECT CASE WHEN a.runid < b.runid THEN a.job_name ELSE b.job_name END AS job_a,
       least(a.runid, b.runid) AS runid_a,
       CASE WHEN a.runid < b.runid THEN b.job_name ELSE a.job_name END AS job_b,
       greatest(a.runid, b.runid) AS runid_b,
       b.started_at AS overlap_start,
       least(coalesce(a.ended_at, now()), coalesce(b.ended_at, now())) AS overlap_end,
       round(extract(epoch FROM least(coalesce(a.ended_at, now()), coalesce(b.ended_at, now())) - b.started_at)
             * 1000, 1) AS overlap_ms
  FROM job_stagger.job_run_details b
  JOIN job_stagger.job_run_details a
    ON tstzrange(a.started_at, greatest(a.started_at, coalesce(a.ended_at, 'infinity'))) @> b.started_at
   AND b.started_at < coalesce(a.ended_at, now())
   AND (b.started_at > a.started_at OR b.runid > a.runid)
   AND b.jobid <> a.jobid
 WHERE b.started_at IS NOT NULL AND a.started_at IS NOT NULL
   AND coalesce(b.ended_at, now()) > b.started_at;
COMMENT ON VIEW job_stagger.overlaps IS
'pairs of runs of different jobs that executed at the same time (runid_a < runid_b), with the shared interval';

CREATE VIEW job_stagger.offset_verification WITH (security_invoker = true) AS
SELECT j.job_name, job_stagger.configured_offset(j.job_name) AS configured_offset,
       count(r.runid) AS staggered_runs,
       coalesce(array_agg(DISTINCT floor(date_part('second', r.started_at))::integer
                          ORDER BY floor(date_part('second', r.started_at))::integer)
                    FILTER (WHERE r.runid IS NOT NULL), '{}') AS observed_start_seconds,
       round(100.0 * count(*) FILTER (WHERE floor(date_part('second', r.started_at)) = r.offset_seconds)
             / nullif(count(r.runid), 0), 1) AS on_offset_pct,
       round(extract(epoch FROM percentile_cont(0.5) WITHIN GROUP (ORDER BY r.started_at - r.scheduled_at))
             * 1000, 3) AS median_lag_ms,
       round(extract(epoch FROM max(r.started_at - r.scheduled_at)) * 1000, 3) AS max_lag_ms
  FROM job_stagger.jobs j
  LEFT JOIN job_stagger.job_run_details r
    ON r.jobid = j.jobid AND r.stagger_enabled AND r.started_at IS NOT NULL
 WHERE j.active
 GROUP BY j.jobid, j.job_name;
COMMENT ON VIEW job_stagger.offset_verification IS
'per active job: its configured offset against the start seconds observed with staggering on, and start lags (ms)';

GRANT SELECT ON job_stagger.concurrency, job_stagger.duration_comparison, job_stagger.success_rate,
    job_stagger.start_distribution, job_stagger.overlaps, job_stagger.offset_verification TO PUBLIC;

/*
 * The most runs executing at once among the runs due in [from_ts, to_ts]
 * (staggered: only runs with that stagger mode; NULL: all), and the first
 * instant it was reached; 0 and NULL when none of them started.
 */
CREATE FUNCTION job_stagger.window_peak(from_ts timestamptz, to_ts timestamptz, staggered boolean,
                                        OUT peak integer, OUT peak_at timestamptz)
RETURNS record
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
    WITH runs AS MATERIALIZED (
        SELECT r.started_at, coalesce(r.ended_at, greatest(r.started_at, now())) AS ended_at
          FROM job_stagger.job_run_details r
         WHERE r.scheduled_at BETWEEN from_ts AND to_ts
           AND (staggered IS NULL OR r.stagger_enabled = staggered)
           AND r.started_at IS NOT NULL AND (r.ended_at >= r.started_at OR r.ended_at IS NULL)
    ), lv AS (
        SELECT e.t, e.d, sum(e.d) OVER (ORDER BY e.t) AS level
          FROM (SELECT runs.started_at AS t, 1 AS d FROM runs
                UNION ALL SELECT runs.ended_at, -1 FROM runs) e
    )
    SELECT coalesce(max(lv.level), 0)::integer, min(lv.t) FILTER (WHERE lv.level = (SELECT max(level) FROM lv))
      FROM lv WHERE lv.d = 1
$fn$;
COMMENT ON FUNCTION job_stagger.window_peak(timestamptz, timestamptz, boolean) IS
'the most runs executing at once among the runs due in a window (of one stagger mode, or all when NULL), and when';

-- KPI snapshots

CREATE TABLE job_stagger.kpi_snapshots (
    snapshot_id       bigserial PRIMARY KEY,
    taken_at          timestamptz NOT NULL,
    window_start      timestamptz NOT NULL,
    window_end        timestamptz NOT NULL,
    stagger_enabled   boolean NOT NULL,
    runs              bigint NOT NULL,
    pool_avg_pct      numeric(5,1),
    pool_min_pct      numeric(5,1),
    pool_max_pct      numeric(5,1),
    conn_pool_avg_pct numeric(5,1),
    conn_pool_max_pct numeric(5,1),
    slow_runs         bigint,
    error_rate_pct    numeric(5,1),
    skipped           bigint NOT NULL,
    peak_concurrency  integer NOT NULL,
    durations         jsonb NOT NULL,
    taken_by          text NOT NULL,
    CONSTRAINT kpi_snapshots_taken_by_check CHECK (taken_by IN ('user', 'scheduler'))
);
CREATE INDEX kpi_snapshots_taken_at_idx ON job_stagger.kpi_snapshots (taken_at);
COMMENT ON TABLE job_stagger.kpi_snapshots IS
'key figures of the runs due and the pool samples taken in a window, stored by stagger_kpi_snapshot()';
COMMENT ON COLUMN job_stagger.kpi_snapshots.stagger_enabled IS 'job_stagger.enabled when the snapshot was taken';
COMMENT ON COLUMN job_stagger.kpi_snapshots.runs IS 'runs due in the window (one per due slot, any outcome)';
COMMENT ON COLUMN job_stagger.kpi_snapshots.pool_avg_pct IS 'average job_pool_pct of the pool samples of the window';
COMMENT ON COLUMN job_stagger.kpi_snapshots.slow_runs IS
'finished runs longer than job_stagger.slow_job_threshold_ms (NULL when the threshold is 0, i.e. off)';
COMMENT ON COLUMN job_stagger.kpi_snapshots.error_rate_pct IS 'failed, timed_out and crashed runs in percent of finished ones';
COMMENT ON COLUMN job_stagger.kpi_snapshots.peak_concurrency IS 'the most runs of the window executing at once';
COMMENT ON COLUMN job_stagger.kpi_snapshots.durations IS
'per job name: {"runs": finished runs with a duration, "mean_ms", "p95_ms"}';
COMMENT ON COLUMN job_stagger.kpi_snapshots.taken_by IS 'scheduler (every job_stagger.kpi_interval) or user';
/* instance-wide figures, job names of every role: for superusers and monitoring roles */
GRANT SELECT ON job_stagger.kpi_snapshots TO pg_monitor;

CREATE FUNCTION stagger_kpi_snapshot(since interval DEFAULT '6 hours')
RETURNS job_stagger.kpi_snapshots
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_end timestamptz := now();
    v_start timestamptz;
    v_slow_ms integer;
    v_row job_stagger.kpi_snapshots;
BEGIN
    IF since IS NULL OR since <= interval '0' THEN
        RAISE EXCEPTION 'since must be a positive interval, got %', coalesce(since::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    v_start := v_end - since;
    v_slow_ms := (SELECT s.setting::integer FROM pg_settings s WHERE s.name = 'job_stagger.slow_job_threshold_ms');
    INSERT INTO job_stagger.kpi_snapshots AS k
        (taken_at, window_start, window_end, stagger_enabled, runs, pool_avg_pct, pool_min_pct, pool_max_pct,
         conn_pool_avg_pct, conn_pool_max_pct, slow_runs, error_rate_pct, skipped, peak_concurrency, durations,
         taken_by)
    SELECT v_end, v_start, v_end, current_setting('job_stagger.enabled')::boolean,
           r.runs, p.pool_avg, p.pool_min, p.pool_max, p.conn_avg, p.conn_max,
           CASE WHEN v_slow_ms > 0 THEN r.slow END, r.error_rate, r.skipped,
           (job_stagger.window_peak(v_start, v_end, NULL)).peak, d.durations,
           CASE WHEN current_setting('application_name') = 'job_stagger launcher' THEN 'scheduler' ELSE 'user' END
      FROM (SELECT count(*) AS runs,
                   count(*) FILTER (WHERE x.ended_at - x.started_at > v_slow_ms * interval '1 ms') AS slow,
                   round(100.0 * count(*) FILTER (WHERE x.status IN ('failed', 'timed_out', 'crashed'))
                         / nullif(count(*) FILTER (WHERE x.status NOT IN ('starting', 'running')), 0), 1)
                       AS error_rate,
                   count(*) FILTER (WHERE x.status = 'skipped') AS skipped
              FROM job_stagger.job_run_details x
             WHERE x.scheduled_at BETWEEN v_start AND v_end) r,
           (SELECT round(avg(s.job_pool_pct), 1) AS pool_avg, min(s.job_pool_pct) AS pool_min,
                   max(s.job_pool_pct) AS pool_max, round(avg(s.conn_pool_pct), 1) AS conn_avg,
                   max(s.conn_pool_pct) AS conn_max
              FROM job_stagger.pool_samples s
             WHERE s.sampled_at BETWEEN v_start AND v_end) p,
           (SELECT coalesce(jsonb_object_agg(y.job_name, jsonb_build_object(
                       'runs', y.runs,
                       'mean_ms', round(extract(epoch FROM y.mean) * 1000, 1),
                       'p95_ms', round(extract(epoch FROM y.p95) * 1000, 1))), '{}')
                       AS durations
              FROM (SELECT x.job_name, count(*) AS runs, avg(x.ended_at - x.started_at) AS mean,
                           percentile_cont(0.95) WITHIN GROUP (ORDER BY x.ended_at - x.started_at) AS p95
                      FROM job_stagger.job_run_details x
                     WHERE x.scheduled_at BETWEEN v_start AND v_end
                       AND x.started_at IS NOT NULL AND x.ended_at IS NOT NULL
                     GROUP BY x.job_name) y) d
    RETURNING k.* INTO v_row;
    RETURN v_row;
END
$fn$;
COMMENT ON FUNCTION stagger_kpi_snapshot(interval) IS
'store and return the key figures (runs, pool use, errors, slow runs, peak concurrency, durations per job) of the last since';
REVOKE EXECUTE ON FUNCTION stagger_kpi_snapshot(interval) FROM PUBLIC;

-- Rollout checks and rollback triggers

/*
 * Everything the rollout checks and rollback triggers judge, measured once.
 * The window is [now() - window, now()]; a run belongs to it by scheduled_at,
 * a pool sample by sampled_at. The baseline is the most recent window-long
 * stretch with staggering off: [t - window, t] where t is the latest
 * scheduled_at of a run (sampled_at of a sample) with staggering off, and only
 * those runs (samples) count. In the window, the pool figures and the peak
 * concurrency are those of samples and runs with staggering on (what the
 * rollout is judged by, also in the minutes after it was switched on), the
 * errors and completions those of all runs.
 */
CREATE FUNCTION job_stagger.rollout_measures("window" interval,
    OUT enabled boolean, OUT scheduler_running boolean, OUT applied_enabled boolean,
    OUT runs bigint, OUT finished bigint, OUT succeeded bigint, OUT errors bigint,
    OUT staggered_finished bigint, OUT staggered_errors bigint,
    OUT six_field_runs bigint, OUT six_field_ok bigint,
    OUT staggered_started bigint, OUT off_offset bigint,
    OUT five_field_jobs bigint, OUT max_jobs_per_offset bigint, OUT max_runs_per_second bigint,
    OUT pool_samples bigint, OUT pool_avg numeric, OUT pool_max numeric,
    OUT peak integer, OUT peak_at timestamptz,
    OUT valid boolean, OUT collisions jsonb,
    OUT base_runs_to timestamptz, OUT base_finished bigint, OUT base_errors bigint,
    OUT base_peak integer, OUT base_samples_to timestamptz, OUT base_pool_avg numeric)
RETURNS record
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_window interval := $1;
    v_to timestamptz := now();
    v_from timestamptz;
BEGIN
    IF v_window IS NULL OR v_window <= interval '0' THEN
        RAISE EXCEPTION 'window must be a positive interval, got %', coalesce(v_window::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    v_from := v_to - v_window;
    enabled := current_setting('job_stagger.enabled')::boolean;
    SELECT st.launcher_pid IS NOT NULL, st.applied_enabled INTO scheduler_running, applied_enabled
      FROM job_stagger.scheduler_status() st;

    SELECT count(*), count(*) FILTER (WHERE r.status NOT IN ('starting', 'running')),
           count(*) FILTER (WHERE r.status = 'succeeded'),
           count(*) FILTER (WHERE r.status IN ('failed', 'timed_out', 'crashed')),
           count(*) FILTER (WHERE r.stagger_enabled AND r.status NOT IN ('starting', 'running')),
           count(*) FILTER (WHERE r.stagger_enabled AND r.status IN ('failed', 'timed_out', 'crashed')),
           count(*) FILTER (WHERE r.stagger_enabled AND r.started_at IS NOT NULL AND o.shifted),
           count(*) FILTER (WHERE r.stagger_enabled AND r.started_at IS NOT NULL AND o.shifted
                              AND floor(date_part('second', r.started_at)) <> r.offset_seconds)
      INTO runs, finished, succeeded, errors, staggered_finished, staggered_errors, staggered_started, off_offset
      FROM job_stagger.job_run_details r
      /* a run its offset applies to: it has one, or it is of a 5-field schedule (offset 0) */
     CROSS JOIN LATERAL (SELECT r.offset_seconds > 0
                                OR (job_stagger.schedule_info(r.effective_schedule)).fields = 5 AS shifted) o
     WHERE r.scheduled_at BETWEEN v_from AND v_to;

    /* staggered runs of (currently) 5-field jobs: the offset is the seconds field of what they ran on */
    SELECT count(*),
           count(*) FILTER (WHERE CASE WHEN e.fields = 6
                                       THEN split_part(r.effective_schedule, ' ', 1) = r.offset_seconds::text
                                       ELSE r.offset_seconds = 0 AND e.fields = 5 END)
      INTO six_field_runs, six_field_ok
      FROM job_stagger.job_run_details r
      JOIN job_stagger.jobs j ON j.jobid = r.jobid
     CROSS JOIN LATERAL job_stagger.schedule_info(j.schedule) s
     CROSS JOIN LATERAL job_stagger.schedule_info(r.effective_schedule) e
     WHERE r.scheduled_at BETWEEN v_from AND v_to AND r.stagger_enabled
       AND s.kind = 'cron' AND s.fields = 5;

    /* configured offsets: the job_stagger.offsets override, else the table's */
    SELECT count(*), coalesce(max(n), 0) INTO five_field_jobs, max_jobs_per_offset
      FROM (SELECT count(*) OVER (PARTITION BY coalesce(o.offset_seconds, j.offset_seconds)) AS n
              FROM job_stagger.jobs j
             CROSS JOIN LATERAL job_stagger.schedule_info(j.schedule) s
              LEFT JOIN job_stagger.offset_overrides() o ON o.job_name = j.job_name
             WHERE j.active AND s.kind = 'cron' AND s.fields = 5) x;
    SELECT max(n) INTO max_runs_per_second
      FROM (SELECT count(*) AS n FROM job_stagger.job_run_details r
             WHERE r.scheduled_at BETWEEN v_from AND v_to AND r.stagger_enabled AND r.started_at IS NOT NULL
               AND (r.offset_seconds > 0 OR (job_stagger.schedule_info(r.effective_schedule)).fields = 5)
             GROUP BY date_bin('1 second', r.started_at, timestamptz '2000-01-01 00:00+00')) x;

    SELECT count(*), avg(s.job_pool_pct), max(s.job_pool_pct) INTO pool_samples, pool_avg, pool_max
      FROM job_stagger.pool_samples s
     WHERE s.sampled_at BETWEEN v_from AND v_to AND s.stagger_enabled;

    SELECT p.peak, p.peak_at INTO peak, peak_at FROM job_stagger.window_peak(v_from, v_to, true) p;
    SELECT v.valid, v.collisions INTO valid, collisions FROM stagger_validate() v;

    base_runs_to := (SELECT max(r.scheduled_at) FROM job_stagger.job_run_details r WHERE NOT r.stagger_enabled);
    IF base_runs_to IS NOT NULL THEN
        SELECT count(*) FILTER (WHERE r.status NOT IN ('starting', 'running')),
               count(*) FILTER (WHERE r.status IN ('failed', 'timed_out', 'crashed'))
          INTO base_finished, base_errors
          FROM job_stagger.job_run_details r
         WHERE NOT r.stagger_enabled AND r.scheduled_at BETWEEN base_runs_to - v_window AND base_runs_to;
        base_peak := (job_stagger.window_peak(base_runs_to - v_window, base_runs_to, false)).peak;
    END IF;
    base_samples_to := (SELECT max(s.sampled_at) FROM job_stagger.pool_samples s WHERE NOT s.stagger_enabled);
    base_pool_avg := (SELECT avg(s.job_pool_pct) FROM job_stagger.pool_samples s
                       WHERE NOT s.stagger_enabled AND s.sampled_at BETWEEN base_samples_to - v_window AND base_samples_to);
END
$fn$;
COMMENT ON FUNCTION job_stagger.rollout_measures(interval) IS
'the figures behind stagger_rollout_check() and stagger_rollback_triggers(): the window and the staggering-off baseline';

CREATE FUNCTION stagger_rollout_check("window" interval DEFAULT '30 minutes')
RETURNS TABLE(check_name text, passed boolean, detail text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    m record;
    v_allowed bigint;
    v_pct numeric;
BEGIN
    m := job_stagger.rollout_measures($1);

    check_name := 'stagger_enabled';
    passed := m.enabled AND coalesce(m.applied_enabled, false);
    detail := format('job_stagger.enabled is %s; %s', CASE WHEN m.enabled THEN 'on' ELSE 'off' END,
                     CASE WHEN NOT coalesce(m.scheduler_running, false) THEN 'no scheduler is running'
                          WHEN m.applied_enabled IS NULL THEN 'the scheduler has not applied its settings yet'
                          ELSE 'the scheduler runs with staggering ' || CASE WHEN m.applied_enabled THEN 'on' ELSE 'off' END END);
    RETURN NEXT;

    check_name := 'six_field_applied';
    passed := m.six_field_runs > 0 AND m.six_field_ok = m.six_field_runs;
    detail := CASE WHEN m.six_field_runs = 0 THEN 'no data: no staggered runs of 5-field jobs in the window'
                   ELSE format('%s of %s staggered runs of 5-field jobs ran on a 6-field schedule with their offset as seconds',
                               m.six_field_ok, m.six_field_runs) END;
    RETURN NEXT;

    check_name := 'jobs_spread';
    v_allowed := greatest(1, ceil(m.five_field_jobs / 60.0)::bigint);
    passed := m.max_runs_per_second IS NOT NULL AND m.max_jobs_per_offset <= v_allowed
              AND m.max_runs_per_second <= v_allowed;
    detail := CASE WHEN m.max_runs_per_second IS NULL THEN 'no data: no staggered runs started in the window'
                   ELSE format('up to %s of %s active 5-field jobs share an offset, up to %s staggered runs started in the same second (allowed: %s)',
                               m.max_jobs_per_offset, m.five_field_jobs, m.max_runs_per_second, v_allowed) END;
    RETURN NEXT;

    check_name := 'pool_below_baseline';
    passed := m.pool_avg < m.base_pool_avg;
    detail := CASE WHEN m.pool_samples = 0 THEN 'no data: no pool samples with staggering on in the window'
                   WHEN m.base_pool_avg IS NULL THEN 'no baseline: no pool samples with staggering off'
                   ELSE format('pool %s%% avg vs %s%% baseline', round(m.pool_avg, 1), round(m.base_pool_avg, 1)) END;
    passed := coalesce(passed, false);
    RETURN NEXT;

    check_name := 'no_errors';
    passed := m.runs > 0 AND m.errors = 0;
    detail := CASE WHEN m.runs = 0 THEN 'no data: no runs in the window'
                   ELSE format('%s failed, timed out or crashed of %s runs', m.errors, m.runs) END;
    RETURN NEXT;

    check_name := 'no_collisions';
    passed := m.valid;
    detail := CASE WHEN m.valid THEN 'no two active jobs fire in the same second'
                   ELSE format('%s colliding pair(s) of active jobs, the first "%s" and "%s" at second %s',
                               jsonb_array_length(m.collisions), m.collisions -> 0 ->> 'job_a',
                               m.collisions -> 0 ->> 'job_b', m.collisions -> 0 ->> 'second') END;
    RETURN NEXT;

    check_name := 'completion_rate';
    v_pct := round(100.0 * m.succeeded / nullif(m.finished, 0), 1);
    passed := coalesce(v_pct > 90, false);
    detail := CASE WHEN m.finished = 0 THEN 'no data: no finished runs in the window'
                   ELSE format('%s%% of %s finished runs succeeded (needs more than 90%%)', v_pct, m.finished) END;
    RETURN NEXT;

    check_name := 'concurrency_reduced';
    passed := coalesce(m.peak_at IS NOT NULL AND m.peak < m.base_peak, false);
    detail := CASE WHEN m.peak_at IS NULL THEN 'no data: no staggered runs started in the window'
                   WHEN coalesce(m.base_peak, 0) = 0 THEN 'no baseline: no runs started with staggering off'
                   ELSE format('peak concurrency %s vs %s baseline', m.peak, m.base_peak) END;
    RETURN NEXT;
END
$fn$;
COMMENT ON FUNCTION stagger_rollout_check(interval) IS
'one row per rollout check of the last window against the latest staggering-off stretch: passed, and the measured values';

CREATE FUNCTION stagger_rollback_triggers("window" interval DEFAULT '30 minutes')
RETURNS TABLE(trigger_name text, fired boolean, measured text, threshold text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    m record;
    v_rate numeric;
    v_base numeric;
    v_share numeric;
BEGIN
    m := job_stagger.rollout_measures($1);

    trigger_name := 'error_rate_up';
    v_rate := 100.0 * m.staggered_errors / nullif(m.staggered_finished, 0);
    v_base := 100.0 * m.base_errors / nullif(m.base_finished, 0);
    fired := coalesce(v_rate - v_base > 5, false);
    measured := CASE WHEN v_rate IS NULL OR v_base IS NULL THEN 'no data'
                     ELSE format('%s%% of %s staggered runs vs %s%% baseline (%s%s points)', round(v_rate, 1),
                                 m.staggered_finished, round(v_base, 1), CASE WHEN v_rate >= v_base THEN '+' END,
                                 round(v_rate - v_base, 1)) END;
    threshold := 'more than +5.0 points';
    RETURN NEXT;

    trigger_name := 'pool_above_70';
    fired := coalesce(m.pool_max > 70, false);
    measured := CASE WHEN m.pool_samples = 0 THEN 'no data'
                     ELSE format('max %s%% of %s samples', m.pool_max, m.pool_samples) END;
    threshold := 'more than 70%';
    RETURN NEXT;

    trigger_name := 'jobs_off_offset';
    v_share := 100.0 * m.off_offset / nullif(m.staggered_started, 0);
    fired := coalesce(v_share > 5, false);
    measured := CASE WHEN v_share IS NULL THEN 'no data'
                     ELSE format('%s%% (%s of %s staggered runs)', round(v_share, 1), m.off_offset, m.staggered_started) END;
    threshold := 'more than 5%';
    RETURN NEXT;

    trigger_name := 'collisions';
    fired := NOT m.valid;
    measured := format('%s colliding pair(s)', jsonb_array_length(m.collisions));
    threshold := 'any';
    RETURN NEXT;

    trigger_name := 'concurrency_above_3';
    fired := m.peak > 3;
    measured := CASE WHEN m.peak_at IS NULL THEN 'no data'
                     ELSE format('peak concurrency %s', m.peak) END;
    threshold := 'more than 3';
    RETURN NEXT;
END
$fn$;
COMMENT ON FUNCTION stagger_rollback_triggers(interval) IS
'one row per rollback trigger over the staggered runs and samples of the last window: fired, measured value, threshold';

SELECT job_stagger.wake_scheduler();
