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
