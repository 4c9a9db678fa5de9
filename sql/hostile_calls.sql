-- Every function of the extension, found in the catalog (pg_depend on the
-- extension), survives any argument: called with all-NULL arguments, with
-- empty strings, with 1 MB strings and with extreme numbers, as a plain role
-- and as a superuser, each call ends with a result or a clean ERROR. A server
-- crash ends this test; an internal error (XX000) or an unexpected error
-- class is listed below. A new function is covered without editing this file.
--
-- It also checks the two rules that keep user names out of privileged code:
-- every function that is not an IMMUTABLE C function has search_path pinned
-- to pg_catalog, pg_temp, and every C function is STRICT (stagger_schedule,
-- whose NULL arguments mean "the default", checks each for NULL instead).
SET timezone = 'UTC';
\set VERBOSITY terse

-- the rules, from the catalog
SELECT p.oid::regprocedure AS unpinned_function
  FROM pg_proc p JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
 WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'job_stagger')
   AND NOT (p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'c') AND p.provolatile = 'i')
   AND NOT coalesce('search_path=pg_catalog, pg_temp' = ANY (p.proconfig), false)
 ORDER BY 1;
SELECT p.oid::regprocedure AS non_strict_c_function
  FROM pg_proc p JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
 WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'job_stagger')
   AND p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'c') AND NOT p.proisstrict
   AND p.prorettype <> 'trigger'::regtype
   -- NULL arguments have a meaning here (the default); it checks PG_ARGISNULL for each
   AND p.oid <> 'stagger_schedule(text,text,text,integer,text,text,boolean,text,text,integer,interval,text,integer)'::regprocedure
   -- a NULL job is an error here, not a silent NULL (a run that did not happen must not look like one)
   AND p.oid <> 'stagger_run_now(bigint)'::regprocedure
 ORDER BY 1;
-- SECURITY DEFINER is not used
SELECT count(*) AS security_definer_functions
  FROM pg_proc p JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
 WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'job_stagger') AND p.prosecdef;

CREATE ROLE hostile_plain LOGIN;
GRANT CREATE ON SCHEMA public TO hostile_plain;

-- One argument value per type and kind of call.
CREATE FUNCTION public.hostile_arg(t regtype, kind text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
SELECT CASE
    WHEN kind = 'null' THEN 'NULL::' || t::text
    WHEN t IN ('text'::regtype, 'name'::regtype, 'character varying'::regtype) THEN
        CASE kind WHEN 'empty' THEN quote_literal('')
                  WHEN 'huge' THEN 'repeat(''*/5 '', 262144)'
                  ELSE quote_literal('* * * * *') END
    WHEN t = 'text[]'::regtype THEN CASE kind WHEN 'huge' THEN 'array_fill(repeat(''x'', 1048576), ARRAY[1])' ELSE '''{}''::text[]' END
    WHEN t IN ('integer'::regtype, 'smallint'::regtype) THEN
        CASE kind WHEN 'empty' THEN '0' WHEN 'huge' THEN '2147483647' ELSE '-1' END || '::' || t::text
    WHEN t = 'bigint'::regtype THEN
        CASE kind WHEN 'empty' THEN '0' WHEN 'huge' THEN '9223372036854775807' ELSE '-1' END || '::bigint'
    WHEN t = 'bigint[]'::regtype THEN
        CASE kind WHEN 'huge' THEN 'ARRAY(SELECT generate_series(1, 100000)::bigint)' ELSE '''{}''::bigint[]' END
    WHEN t = 'boolean'::regtype THEN 'true'
    WHEN t = 'interval'::regtype THEN
        CASE kind WHEN 'empty' THEN '''0''::interval' WHEN 'huge' THEN '''178000000 years''::interval'
                  ELSE '''-1 day''::interval' END
    WHEN t = 'timestamp with time zone'::regtype THEN
        CASE kind WHEN 'empty' THEN '''-infinity''::timestamptz' WHEN 'huge' THEN '''294276-12-31''::timestamptz'
                  ELSE '''infinity''::timestamptz' END
    ELSE 'NULL::' || t::text END
$$;

-- Calls every function of the extension with each kind of arguments; returns
-- the outcomes that are not a result or a clean error.
CREATE FUNCTION public.hostile_calls(OUT fn text, OUT kind text, OUT state text, OUT message text)
RETURNS SETOF record
LANGUAGE plpgsql AS $$
DECLARE
    f record;
    k text;
    v_sql text;
    v_state text;
    v_msg text;
BEGIN
    FOR f IN
        SELECT p.oid::regprocedure::text AS sig, p.proname, n.nspname, p.proargtypes::regtype[] AS types
          FROM pg_proc p
          JOIN pg_namespace n ON n.oid = p.pronamespace
          JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
         WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'job_stagger')
         ORDER BY 2
    LOOP
        FOREACH k IN ARRAY ARRAY['null', 'empty', 'huge', 'edge'] LOOP
            -- in FROM, and every row turned into text: the call cannot be optimized away
            v_sql := format('SELECT count(x::text) FROM %I.%I(%s) x', f.nspname, f.proname,
                            coalesce((SELECT string_agg(public.hostile_arg(t, k), ', ' ORDER BY o)
                                        FROM unnest(f.types) WITH ORDINALITY u(t, o)), ''));
            BEGIN
                EXECUTE v_sql;
            EXCEPTION WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_msg = MESSAGE_TEXT;
                -- clean errors: bad input (22, 42, 23, P0), privileges, canceled by the timeout,
                -- prerequisite state (55), program limits (54), trigger protocol (39), feature (0A)
                IF left(v_state, 2) NOT IN ('22', '23', '42', '54', '55', '39', '0A', 'P0')
                   AND v_state NOT IN ('57014') THEN
                    fn := f.sig; kind := k; state := v_state; message := left(v_msg, 200);
                    RETURN NEXT;
                END IF;
                IF v_msg ~* 'cache lookup failed|unexpected|invalid memory alloc|unrecognized' THEN
                    fn := f.sig; kind := k; state := v_state; message := left(v_msg, 200);
                    RETURN NEXT;
                END IF;
            END;
        END LOOP;
    END LOOP;
END
$$;

-- how many functions are covered (more than the 0.2 set)
SELECT count(*) >= 40 AS all_functions_found
  FROM pg_depend d
 WHERE d.classid = 'pg_proc'::regclass AND d.deptype = 'e'
   AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'job_stagger');

SET statement_timeout = '5s';
SET client_min_messages = error;
-- as a plain role
SET ROLE hostile_plain;
SELECT * FROM public.hostile_calls();
RESET ROLE;
-- as superuser
SELECT * FROM public.hostile_calls();
RESET client_min_messages;
RESET statement_timeout;

-- the server is still up, and no job was created by the calls
SELECT count(*) AS jobs_left FROM job_stagger.jobs;

-- a job inserted without a schedule: a clean error that names the column
SET ROLE hostile_plain;
INSERT INTO job_stagger.jobs(job_name, command) VALUES ('x', 'select 1');
INSERT INTO job_stagger.jobs(job_name, schedule) VALUES ('x', '* * * * *');
INSERT INTO job_stagger.jobs(schedule, command) VALUES ('* * * * *', 'select 1');
SELECT job_stagger.spread_offset(NULL, NULL);
RESET ROLE;

DROP FUNCTION public.hostile_calls();
DROP FUNCTION public.hostile_arg(regtype, text);
REVOKE CREATE ON SCHEMA public FROM hostile_plain;
DROP ROLE hostile_plain;
