/* job_stagger--0.4--0.5.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION job_stagger UPDATE TO '0.5'" to load this file. \quit

/* ---- exclusive job groups (branch groups) ---- */
/*
 * Two runs of jobs in one exclusive group never execute at the same time. A
 * group is the job's role (roleid) plus its name: jobs of different roles
 * never share a group, so no role can stall another role's jobs by naming
 * its group. The job worker decides at the fire instant, under the slot lock
 * (src/worker/runner.cpp): a slot whose group is busy is skipped
 * (group_policy 'skip') or waits for the group, in due order ('wait').
 */
ALTER TABLE job_stagger.jobs
    ADD COLUMN exclusive_group text,
    ADD COLUMN group_policy text NOT NULL DEFAULT 'skip',
    ADD CONSTRAINT jobs_exclusive_group_check CHECK (exclusive_group ~ '^[A-Za-z0-9_.:-]{1,63}$'),
    ADD CONSTRAINT jobs_group_policy_check CHECK (group_policy IN ('skip', 'wait'));
COMMENT ON COLUMN job_stagger.jobs.exclusive_group IS
'exclusive group (1-63 of [A-Za-z0-9_.:-]; NULL: none): runs of the role''s jobs in one group never execute at the same time';
COMMENT ON COLUMN job_stagger.jobs.group_policy IS
'when the exclusive group is busy at a slot: skip (default: recorded as skipped, naming the run holding it) or wait (start when it is free, in due order)';

/* Plain roles write the new columns like the other columns a job is made of. */
GRANT INSERT (exclusive_group, group_policy), UPDATE (exclusive_group, group_policy) ON job_stagger.jobs TO PUBLIC;

/* The group each run was subject to, as the scheduler recorded it (the overlaps view checks exclusivity with it). */
ALTER TABLE job_stagger.job_run_details ADD COLUMN exclusive_group text;
COMMENT ON COLUMN job_stagger.job_run_details.exclusive_group IS
'the exclusive group of the job when this run was recorded (NULL: none); the group belongs to roleid';

/*
 * Validates every write to job_stagger.jobs (0.3's checks, plus the
 * exclusive group and its policy).
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
                     WHEN NEW.overlap IS NULL THEN 'overlap'
                     WHEN NEW.group_policy IS NULL THEN 'group_policy' END;
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
    /* exclusive group: a short name, never echoed when it is long (it may be any size) */
    IF NEW.exclusive_group IS NOT NULL AND octet_length(NEW.exclusive_group) NOT BETWEEN 1 AND 63 THEN
        RAISE EXCEPTION 'exclusive group name must be 1 to 63 bytes long, got % bytes', octet_length(NEW.exclusive_group)
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use up to 63 ASCII letters, digits, "_", ".", ":" or "-". NULL means no group '
                         '(stagger_alter_job(..., exclusive_group => '''') leaves the group).';
    END IF;
    IF NEW.exclusive_group !~ '^[A-Za-z0-9_.:-]+$' THEN
        RAISE EXCEPTION 'invalid exclusive group name "%"', NEW.exclusive_group
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'A group name may contain only ASCII letters, digits, "_", ".", ":" and "-".';
    END IF;
    IF NEW.group_policy NOT IN ('skip', 'wait') THEN
        RAISE EXCEPTION 'group_policy must be skip or wait, got "%"',
            CASE WHEN octet_length(NEW.group_policy) <= 32 THEN NEW.group_policy
                 ELSE left(NEW.group_policy, 32) || '...' END
            USING ERRCODE = 'invalid_parameter_value';
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
/*
 * stagger_schedule and stagger_alter_job take exclusive_group and
 * group_policy: NULL leaves them unchanged (a new job: no group, policy
 * skip), '' leaves the group. A new signature: the old functions are
 * dropped, the new ones get the same settings (search_path; EXECUTE stays
 * PUBLIC's default, as before) and comments.
 */
DROP FUNCTION stagger_schedule(text, text, text, integer, text, text, boolean);
CREATE FUNCTION stagger_schedule(job_name text, schedule text, command text, offset_seconds integer DEFAULT NULL,
                                 database text DEFAULT current_database(), username text DEFAULT current_user,
                                 active boolean DEFAULT true, exclusive_group text DEFAULT NULL,
                                 group_policy text DEFAULT NULL)
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
    INSERT INTO job_stagger.jobs AS j (job_name, schedule, command, database, username, active, offset_seconds,
                                       exclusive_group, group_policy)
    VALUES (stagger_schedule.job_name, stagger_schedule.schedule, stagger_schedule.command,
            coalesce(stagger_schedule.database, current_database()), coalesce(stagger_schedule.username, current_user),
            coalesce(stagger_schedule.active, true), stagger_schedule.offset_seconds,
            nullif(stagger_schedule.exclusive_group, ''), coalesce(stagger_schedule.group_policy, 'skip'))
    ON CONFLICT (roleid, job_name) WHERE roleid <> 0 DO UPDATE
       SET schedule = EXCLUDED.schedule, command = EXCLUDED.command, database = EXCLUDED.database,
           active = EXCLUDED.active,
           offset_seconds = coalesce(stagger_schedule.offset_seconds, j.offset_seconds),
           exclusive_group = CASE WHEN stagger_schedule.exclusive_group IS NULL THEN j.exclusive_group
                                  ELSE nullif(stagger_schedule.exclusive_group, '') END,
           group_policy = coalesce(stagger_schedule.group_policy, j.group_policy)
    RETURNING j.jobid INTO v_jobid;
    RETURN v_jobid;
END
$fn$;
COMMENT ON FUNCTION stagger_schedule(text, text, text, integer, text, text, boolean, text, text) IS
'create a job, or update the job of that name that runs as username; returns its jobid';

DROP FUNCTION stagger_alter_job(text, text, text, text, text, boolean, text, interval);
DROP FUNCTION stagger_alter_job(bigint, text, text, text, text, boolean, text, interval);
CREATE FUNCTION stagger_alter_job(job_id bigint, schedule text DEFAULT NULL, command text DEFAULT NULL,
                                  database text DEFAULT NULL, username text DEFAULT NULL,
                                  active boolean DEFAULT NULL, overlap text DEFAULT NULL,
                                  timeout interval DEFAULT NULL, exclusive_group text DEFAULT NULL,
                                  group_policy text DEFAULT NULL)
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
           group_policy = coalesce(stagger_alter_job.group_policy, group_policy)
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
                                  group_policy text DEFAULT NULL)
RETURNS void
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT stagger_alter_job(job_stagger.job_id(job_name), schedule, command, database, username, active,
                             overlap, timeout, exclusive_group, group_policy)
$fn$;
COMMENT ON FUNCTION stagger_alter_job(text, text, text, text, text, boolean, text, interval, text, text) IS
'change a job; NULL leaves a field unchanged, timeout ''0'' removes the limit, exclusive_group '''' leaves the group';

/*
 * job_stagger.overlaps gets a last column: the exclusive group both runs were
 * subject to (same role, same group), else NULL. A non-NULL row is a run of
 * the group that executed while another did: a violation of exclusivity.
 */
CREATE OR REPLACE VIEW job_stagger.overlaps WITH (security_invoker = true) AS
SELECT CASE WHEN a.runid < b.runid THEN a.job_name ELSE b.job_name END AS job_a,
       least(a.runid, b.runid) AS runid_a,
       CASE WHEN a.runid < b.runid THEN b.job_name ELSE a.job_name END AS job_b,
       greatest(a.runid, b.runid) AS runid_b,
       b.started_at AS overlap_start,
       least(coalesce(a.ended_at, now()), coalesce(b.ended_at, now())) AS overlap_end,
       round(extract(epoch FROM least(coalesce(a.ended_at, now()), coalesce(b.ended_at, now())) - b.started_at)
             * 1000, 1) AS overlap_ms,
       CASE WHEN a.roleid = b.roleid AND a.exclusive_group = b.exclusive_group THEN a.exclusive_group END
           AS exclusive_group
  FROM job_stagger.job_run_details b
  JOIN job_stagger.job_run_details a
    ON tstzrange(a.started_at, greatest(a.started_at, coalesce(a.ended_at, 'infinity'))) @> b.started_at
   AND b.started_at < coalesce(a.ended_at, now())
   AND (b.started_at > a.started_at OR b.runid > a.runid)
   AND b.jobid <> a.jobid
 WHERE b.started_at IS NOT NULL AND a.started_at IS NOT NULL
   AND coalesce(b.ended_at, now()) > b.started_at;
COMMENT ON VIEW job_stagger.overlaps IS
'pairs of runs of different jobs that executed at the same time (runid_a < runid_b), with the shared interval; exclusive_group is set when both runs were in one exclusive group (a violation)';
/* ---- end exclusive job groups ---- */

SELECT job_stagger.wake_scheduler();
