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

SELECT job_stagger.wake_scheduler();
