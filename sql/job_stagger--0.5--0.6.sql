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

/* ---- stagger_timeline (branch timeline) ---- */
/*
 * The picture of given runs, one character per second (see stagger_timeline):
 * runs in seconds relative to first_minute, in any order. One row per jobid,
 * named after its latest run (the greatest start), by name then jobid.
 */
CREATE FUNCTION job_stagger.timeline_picture(first_minute timestamptz, minutes integer, jobids bigint[],
                                             names text[], starts integer[], ends integer[], statuses text[])
RETURNS SETOF text
AS 'MODULE_PATHNAME', 'job_stagger_timeline_picture'
LANGUAGE C STRICT STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION job_stagger.timeline_picture(timestamptz, integer, bigint[], text[], integer[], integer[], text[]) IS
'the rows of stagger_timeline() for given runs (seconds relative to first_minute): one per jobid, by name';

/*
 * The picture of the runs the simulator predicts for the active jobs the
 * caller can see, each lasting its given whole seconds (1 if not given).
 */
CREATE FUNCTION job_stagger.timeline_simulation(first_minute timestamptz, minutes integer, jobids bigint[],
                                                seconds integer[])
RETURNS SETOF text
AS 'MODULE_PATHNAME', 'job_stagger_timeline_simulation'
LANGUAGE C STRICT STABLE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION job_stagger.timeline_simulation(timestamptz, integer, bigint[], integer[]) IS
'the rows of stagger_timeline(minutes, ''simulation''): predicted runs of the visible active jobs from first_minute on';

/*
 * A picture of whole minutes, one character per second, readable in a plain
 * terminal: a ruler, one row per job, the number of jobs running in each
 * second, and a legend.
 *   source 'history': the last `minutes` whole minutes before the current one,
 *     from the runs the caller can see (row-level security), jobs with a run
 *     or a skipped slot in them, by name; runs still going are drawn to the end.
 *   source 'simulation': the next `minutes` whole minutes as the simulator
 *     predicts them for the active jobs the caller can see, by name, each
 *     run lasting its job_durations() estimate rounded up to whole seconds.
 */
CREATE FUNCTION stagger_timeline(minutes integer DEFAULT 1, source text DEFAULT 'history')
RETURNS TABLE(line text)
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_minutes constant integer := minutes;
    v_source constant text := source;
    v_to timestamptz := date_trunc('minute', now());
    v_from timestamptz;
    v_epoch double precision;
    v_window integer;
BEGIN
    IF v_minutes IS NULL OR v_minutes < 1 OR v_minutes > 60 THEN
        RAISE EXCEPTION 'invalid minutes: %', coalesce(v_minutes::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'A timeline shows 1 to 60 minutes: each minute takes 61 columns of every row.';
    END IF;
    IF v_source IS NULL OR v_source NOT IN ('history', 'simulation') THEN
        RAISE EXCEPTION 'invalid source: %',
              CASE WHEN v_source IS NULL THEN 'NULL'
                   WHEN length(v_source) > 40 THEN quote_literal(left(v_source, 40)) || '...'
                   ELSE quote_literal(v_source) END
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use ''history'' (the last whole minutes) or ''simulation'' (the next whole minutes).';
    END IF;
    IF v_source = 'simulation' THEN
        /* durations: job_durations()'s estimate rounded up to whole seconds */
        RETURN QUERY
        SELECT p.picture
          FROM (SELECT coalesce(array_agg(d.jobid), '{}') AS jobids,
                       coalesce(array_agg(least(ceil(extract(epoch FROM d.estimate)), 2147483647)::integer), '{}')
                           AS seconds
                  FROM job_stagger.job_durations() d) a,
               job_stagger.timeline_simulation(v_to + interval '1 minute', v_minutes, a.jobids, a.seconds) p(picture);
        RETURN;
    END IF;
    v_from := v_to - make_interval(mins => v_minutes);
    v_epoch := date_part('epoch', v_from);
    v_window := 60 * v_minutes;
    /*
     * A run takes the seconds from its start's to its end's (at least one);
     * a skipped slot is its scheduled second. Runs due more than a day before
     * the picture are not read (the index on scheduled_at bounds the scan),
     * except those still going. No sorting here: timeline_picture groups the
     * runs by job and orders the jobs.
     */
    RETURN QUERY
    WITH runs AS (
        SELECT d.jobid, d.job_name, d.status,
               CASE WHEN d.status = 'skipped' THEN d.scheduled_at
                    ELSE coalesce(d.started_at, d.scheduled_at) END AS s_at,
               CASE WHEN d.status = 'skipped' THEN d.scheduled_at
                    WHEN d.ended_at IS NOT NULL THEN d.ended_at
                    WHEN d.status IN ('starting', 'running') THEN greatest(now(), coalesce(d.started_at, d.scheduled_at))
                    ELSE coalesce(d.started_at, d.scheduled_at) END AS e_at
          FROM job_stagger.job_run_details d
         WHERE d.scheduled_at < v_to
           AND (d.scheduled_at >= v_from - interval '1 day' OR d.status IN ('starting', 'running'))
    ), secs AS (
        SELECT r.jobid, r.job_name, r.status,
               greatest(-1, least(v_window, floor(date_part('epoch', r.s_at) - v_epoch)))::integer AS s,
               greatest(-1, least(v_window + 1, ceil(date_part('epoch', r.e_at) - v_epoch)))::integer AS e
          FROM runs r
         WHERE r.s_at < v_to AND (r.e_at >= v_from OR r.s_at >= v_from)
    ), arrays AS (
        SELECT coalesce(array_agg(x.jobid), '{}') AS jobids, coalesce(array_agg(x.job_name), '{}') AS names,
               coalesce(array_agg(x.s), '{}') AS starts, coalesce(array_agg(x.e), '{}') AS ends,
               coalesce(array_agg(x.status), '{}') AS statuses
          FROM secs x
    )
    SELECT p.picture
      FROM arrays a,
           job_stagger.timeline_picture(v_from, v_minutes, a.jobids, a.names, a.starts, a.ends, a.statuses) p(picture);
END
$fn$;
COMMENT ON FUNCTION stagger_timeline(integer, text) IS
'one text row per job, 60 characters per minute (> start, # running, x failed, s skipped, . idle), and the jobs running per second: the last whole minutes (history) or the next (simulation)';

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
 * The PL/pgSQL NOTICE the triggers called until now: nothing calls it any
 * more, and called directly it would still send one unbounded NOTICE per job.
 */
DROP FUNCTION job_stagger.notice_collisions(bigint[]);
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

/* ---- offset optimiser in SQL (branch sqlopt) ---- */
/*
 * Pinned offsets: offset_pinned is true when a user chose the job's offset
 * (stagger_schedule or stagger_set_offset with an offset, an INSERT or UPDATE
 * that sets offset_seconds), false when it was placed automatically (offset
 * NULL: spread over the minute) or moved by the optimiser. The optimiser
 * (stagger_optimize, job_stagger.auto_optimize) only moves unpinned jobs.
 * Rows that exist at the upgrade are pinned: nobody can tell whether a user
 * chose their offset. stagger_set_offset(job, NULL) unpins a job and places
 * it again; UPDATE job_stagger.jobs SET offset_pinned = false unpins it and
 * keeps its offset.
 */
ALTER TABLE job_stagger.jobs ADD COLUMN offset_pinned boolean NOT NULL DEFAULT true;
ALTER TABLE job_stagger.jobs ALTER COLUMN offset_pinned SET DEFAULT false;
COMMENT ON COLUMN job_stagger.jobs.offset_pinned IS
'true when a user chose offset_seconds: the optimiser never moves it (stagger_set_offset(job, NULL) unpins and places it again)';
GRANT UPDATE (offset_pinned) ON job_stagger.jobs TO PUBLIC;

/*
 * Sets offset_pinned on every write: INSERT pins when an offset was given;
 * UPDATE pins when offset_seconds changes (except in the optimiser's own
 * statement) and unpins when it is set to NULL (jobs_validate then places
 * the job). Fires before jobs_validate (BEFORE triggers fire in name order),
 * which fills a NULL offset.
 */
CREATE FUNCTION job_stagger.jobs_offset_pinned()
RETURNS trigger
AS 'MODULE_PATHNAME', 'job_stagger_jobs_offset_pinned'
LANGUAGE C
SET search_path = pg_catalog, pg_temp;
CREATE TRIGGER jobs_offset_pinned BEFORE INSERT OR UPDATE ON job_stagger.jobs
    FOR EACH ROW EXECUTE FUNCTION job_stagger.jobs_offset_pinned();

/* stagger_set_offset: an offset pins the job (even when it is unchanged); NULL unpins it and places it again. */
CREATE OR REPLACE FUNCTION stagger_set_offset(job_name text, offset_seconds integer)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
#variable_conflict use_column
BEGIN
    IF stagger_set_offset.offset_seconds NOT BETWEEN 0 AND 59 THEN
        RAISE EXCEPTION 'offset_seconds must be between 0 and 59, got %', stagger_set_offset.offset_seconds
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'NULL unpins the job and lets job_stagger place it (and stagger_optimize move it).';
    END IF;
    UPDATE job_stagger.jobs
       SET offset_seconds = stagger_set_offset.offset_seconds,
           offset_pinned = stagger_set_offset.offset_seconds IS NOT NULL
     WHERE jobid = job_stagger.job_id(stagger_set_offset.job_name);
END
$fn$;
COMMENT ON FUNCTION stagger_set_offset(text, integer) IS
'pin the second (0-59) at which a 5-field job fires when staggering is enabled; NULL unpins it and places it again';

/*
 * stagger_schedule pins a job updated with an explicit offset, even when the
 * offset is the same (offset_pinned = j.offset_pinned OR offset given, in its
 * ON CONFLICT update): see the C stagger_schedule of the fastpath section.
 */

/*
 * Every offset the optimiser changed: by stagger_optimize(apply => true) or
 * by the scheduler (job_stagger.auto_optimize), with the predicted peak and
 * overlap of all jobs it judged before and after. A plain role sees the rows
 * of its own jobs; the optimiser code writes them (a role can add rows only
 * for its own jobs, as itself, changed_by 'stagger_optimize').
 */
CREATE TABLE job_stagger.offset_changes (
    changeid        bigserial PRIMARY KEY,
    changed_at      timestamptz NOT NULL DEFAULT now(),
    jobid           bigint NOT NULL,
    job_name        text NOT NULL,
    username        text NOT NULL,
    roleid          oid NOT NULL,
    old_offset      integer NOT NULL,
    new_offset      integer NOT NULL,
    changed_by      text NOT NULL,
    changed_by_role text NOT NULL DEFAULT current_user,
    peak_before     integer,
    peak_after      integer,
    overlap_before  bigint,
    overlap_after   bigint,
    CONSTRAINT offset_changes_changed_by_check CHECK (changed_by IN ('stagger_optimize', 'auto_optimize'))
);
CREATE INDEX offset_changes_jobid_idx ON job_stagger.offset_changes (jobid, changed_at);
COMMENT ON TABLE job_stagger.offset_changes IS
'offsets moved by stagger_optimize(apply => true) and job_stagger.auto_optimize, with the predicted peak and overlap before and after';
COMMENT ON COLUMN job_stagger.offset_changes.changed_by IS 'stagger_optimize (a user applied it) or auto_optimize (the scheduler)';
COMMENT ON COLUMN job_stagger.offset_changes.peak_before IS
'predicted peak of jobs running at once (next 24 hours, all jobs the optimiser judged) with the old offsets';
SELECT pg_catalog.pg_extension_config_dump('job_stagger.offset_changes', '');
SELECT pg_catalog.pg_extension_config_dump('job_stagger.offset_changes_changeid_seq', '');
ALTER TABLE job_stagger.offset_changes ENABLE ROW LEVEL SECURITY;
CREATE POLICY offset_changes_own ON job_stagger.offset_changes
    USING (roleid OPERATOR(pg_catalog.=) (SELECT r.oid FROM pg_catalog.pg_roles r
                                           WHERE r.rolname OPERATOR(pg_catalog.=) CURRENT_USER))
    WITH CHECK (roleid OPERATOR(pg_catalog.=) (SELECT r.oid FROM pg_catalog.pg_roles r
                                                WHERE r.rolname OPERATOR(pg_catalog.=) CURRENT_USER)
                AND changed_by OPERATOR(pg_catalog.=) 'stagger_optimize'
                AND changed_by_role OPERATOR(pg_catalog.=) CURRENT_USER);
REVOKE ALL ON job_stagger.offset_changes FROM PUBLIC;
GRANT SELECT ON job_stagger.offset_changes TO PUBLIC;
GRANT INSERT (jobid, job_name, username, roleid, old_offset, new_offset, changed_by, changed_by_role, peak_before,
              peak_after, overlap_before, overlap_after) ON job_stagger.offset_changes TO PUBLIC;
GRANT USAGE ON SEQUENCE job_stagger.offset_changes_changeid_seq TO PUBLIC;

/*
 * The C functions are STRICT (as every C function of the extension); the
 * stagger_* wrappers turn a NULL argument into a clear error instead of an
 * empty result.
 */
CREATE FUNCTION job_stagger.simulate(proposed boolean, OUT second integer, OUT peak_running integer,
                                     OUT mean_running numeric, OUT starting text[])
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'job_stagger_simulate'
LANGUAGE C STRICT VOLATILE
SET search_path = pg_catalog, pg_temp;
CREATE FUNCTION job_stagger.simulate_totals(proposed boolean, OUT jobs integer, OUT peak integer,
                                            OUT peak_at timestamptz, OUT overlap_seconds bigint,
                                            OUT busy_seconds bigint, OUT group_overlap_seconds bigint,
                                            OUT horizon_start timestamptz, OUT horizon_end timestamptz)
RETURNS record
AS 'MODULE_PATHNAME', 'job_stagger_simulate_totals'
LANGUAGE C STRICT VOLATILE
SET search_path = pg_catalog, pg_temp;
CREATE FUNCTION job_stagger.optimize(apply boolean, OUT job_name text, OUT username text, OUT current_offset integer,
                                     OUT proposed_offset integer, OUT pinned boolean, OUT movable boolean,
                                     OUT peak_before integer, OUT peak_after integer, OUT overlap_before bigint,
                                     OUT overlap_after bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'job_stagger_optimize'
LANGUAGE C STRICT VOLATILE
SET search_path = pg_catalog, pg_temp;

CREATE FUNCTION job_stagger.require_flag(name text, value boolean)
RETURNS boolean
LANGUAGE plpgsql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF value IS NULL THEN
        RAISE EXCEPTION '% must not be NULL', name
            USING ERRCODE = 'null_value_not_allowed', HINT = 'Pass true or false.';
    END IF;
    RETURN value;
END
$fn$;

/*
 * The predicted load of the next 24 hours (from the next full minute), per
 * second of the minute, for the active jobs the caller can see: with their
 * configured offsets (job_stagger.offsets first, staggering as
 * job_stagger.enabled says) or, with proposed, the offsets stagger_optimize
 * would choose. Durations: job_stagger.job_durations() (p95, else 1 second).
 */
CREATE FUNCTION stagger_simulate(proposed boolean DEFAULT false)
RETURNS TABLE(second integer, peak_running integer, mean_running numeric, starting text[])
LANGUAGE sql
VOLATILE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT * FROM job_stagger.simulate(job_stagger.require_flag('proposed', proposed))
$fn$;
COMMENT ON FUNCTION stagger_simulate(boolean) IS
'predicted jobs running per second of the minute over the next 24 hours, with the current offsets or (proposed) the optimiser''s';

CREATE FUNCTION stagger_simulate_totals(proposed boolean DEFAULT false)
RETURNS TABLE(jobs integer, peak integer, peak_at timestamptz, overlap_seconds bigint, busy_seconds bigint,
              group_overlap_seconds bigint, horizon_start timestamptz, horizon_end timestamptz)
LANGUAGE sql
VOLATILE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT * FROM job_stagger.simulate_totals(job_stagger.require_flag('proposed', proposed))
$fn$;
COMMENT ON FUNCTION stagger_simulate_totals(boolean) IS
'the totals of stagger_simulate: jobs, peak (and when), overlap, busy and exclusive-group overlap seconds over the next 24 hours';

/*
 * The offsets the optimiser proposes for the active jobs the caller can see
 * (one row each); apply writes the changed ones (and offset_changes rows) in
 * the calling transaction.
 */
CREATE FUNCTION stagger_optimize(apply boolean DEFAULT false)
RETURNS TABLE(job_name text, username text, current_offset integer, proposed_offset integer, pinned boolean,
              movable boolean, peak_before integer, peak_after integer, overlap_before bigint, overlap_after bigint)
LANGUAGE sql
VOLATILE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT * FROM job_stagger.optimize(job_stagger.require_flag('apply', apply))
$fn$;
COMMENT ON FUNCTION stagger_optimize(boolean) IS
'offsets that lower the predicted peak and overlap of your jobs (pinned ones stay); apply => true writes the changed ones';
/* ---- end offset optimiser in SQL ---- */

/* ---- faster validation and stagger_schedule in C (branch fastpath) ---- */
/*
 * The validation trigger and stagger_schedule() in C (src/pg/sql_validate.cpp):
 * as PL/pgSQL they ran several catalog queries per job written and were
 * planned again in every transaction, most of the cost of scheduling many
 * jobs. Same checks in the same order, same errors (messages, SQLSTATEs,
 * details, hints); the trigger definition, the function signatures, defaults,
 * comments and privileges stay. stagger_schedule keeps its INSERT ... ON
 * CONFLICT (pinning an explicit offset, see the optimiser section), now as a
 * plan kept for the session.
 */
CREATE OR REPLACE FUNCTION job_stagger.jobs_validate()
RETURNS trigger
AS 'MODULE_PATHNAME', 'job_stagger_jobs_validate'
LANGUAGE C
SET search_path = pg_catalog, pg_temp;
CREATE OR REPLACE FUNCTION stagger_schedule(job_name text, schedule text, command text, offset_seconds integer DEFAULT NULL,
                                            database text DEFAULT current_database(), username text DEFAULT current_user,
                                            active boolean DEFAULT true, exclusive_group text DEFAULT NULL,
                                            group_policy text DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'job_stagger_stagger_schedule'
LANGUAGE C
SET search_path = pg_catalog, pg_temp;
/*
 * Four CHECK constraints repeated rules the validation trigger enforces
 * first, identically and with its own errors (a job name and a command with
 * a non-space character, an exclusive group of 1-63 of [A-Za-z0-9_.:-], a
 * group_policy of skip or wait): no write ever reached them with the trigger
 * on. PostgreSQL parses and plans every CHECK expression again for each
 * INSERT statement, which made them a third of the cost of a
 * stagger_schedule() call, so they go. The errors of direct table writes
 * stay those of the trigger. The constraints the trigger does not repeat
 * (offset_seconds 0-59, overlap, timeout) stay, with their errors.
 */
ALTER TABLE job_stagger.jobs
    DROP CONSTRAINT jobs_job_name_check,
    DROP CONSTRAINT jobs_command_check,
    DROP CONSTRAINT jobs_exclusive_group_check,
    DROP CONSTRAINT jobs_group_policy_check;
/*
 * The three that stay check their rules through one STRICT C function each
 * (a NULL still passes, as before): same names, same rules, same errors, a
 * fraction of the expression to read and plan for each INSERT.
 */
CREATE FUNCTION job_stagger.valid_offset(offset_seconds integer)
RETURNS boolean
AS 'MODULE_PATHNAME', 'job_stagger_valid_offset'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION job_stagger.valid_offset(integer) IS
'offset_seconds BETWEEN 0 AND 59 (the rule of the CHECK constraint jobs_offset_seconds_check)';
CREATE FUNCTION job_stagger.valid_overlap(overlap text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'job_stagger_valid_overlap'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION job_stagger.valid_overlap(text) IS
'overlap IN (''skip'', ''queue'', ''allow'') (the rule of the CHECK constraint jobs_overlap_check)';
CREATE FUNCTION job_stagger.valid_timeout(timeout interval)
RETURNS boolean
AS 'MODULE_PATHNAME', 'job_stagger_valid_timeout'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION job_stagger.valid_timeout(interval) IS
'timeout > interval ''0'' (the rule of the CHECK constraint jobs_timeout_check)';
ALTER TABLE job_stagger.jobs
    DROP CONSTRAINT jobs_offset_seconds_check,
    DROP CONSTRAINT jobs_overlap_check,
    DROP CONSTRAINT jobs_timeout_check,
    ADD CONSTRAINT jobs_offset_seconds_check CHECK (job_stagger.valid_offset(offset_seconds)),
    ADD CONSTRAINT jobs_overlap_check CHECK (job_stagger.valid_overlap(overlap)),
    ADD CONSTRAINT jobs_timeout_check CHECK (job_stagger.valid_timeout(timeout));
/* ---- end faster validation and stagger_schedule in C ---- */
