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

/* ---- faster validation and stagger_schedule in C (branch fastpath) ---- */
/*
 * The validation trigger and stagger_schedule() in C (src/pg/sql_validate.cpp):
 * as PL/pgSQL they ran several catalog queries per job written and were
 * planned again in every transaction, most of the cost of scheduling many
 * jobs. Same checks in the same order, same errors (messages, SQLSTATEs,
 * details, hints); the trigger definition, the function signatures, defaults,
 * comments and privileges stay. stagger_schedule keeps its INSERT ... ON
 * CONFLICT, now as a plan kept for the session.
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
