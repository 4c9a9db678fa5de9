-- The upgrade path: a database created at version 0.1 keeps its jobs and run
-- history through ALTER EXTENSION job_stagger UPDATE, the concurrency view
-- gives the same rows before and after (0.2 computes it in C++), and the
-- updated extension has exactly the objects of a fresh install of the default
-- version. Runs last: it drops and re-creates the extension.
SET timezone = 'UTC';
SET datestyle = 'ISO';
\set VERBOSITY terse

-- The extension's objects with a digest of their definitions: member
-- functions, tables (columns), views and sequences, plus the indexes, policies
-- and triggers on its tables.
CREATE FUNCTION pg_temp.ext_objects() RETURNS TABLE(object text, digest text) LANGUAGE sql AS $$
SELECT pg_describe_object(d.classid, d.objid, 0),
       CASE WHEN d.classid = 'pg_proc'::regclass THEN md5(pg_get_functiondef(d.objid))
            WHEN c.relkind = 'v' THEN md5(pg_get_viewdef(c.oid) || coalesce(c.reloptions::text, ''))
            WHEN c.relkind IS NOT NULL THEN
                 md5(c.relkind::text || c.relrowsecurity::text ||
                     (SELECT coalesce(string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || ' ' ||
                                                 a.attnotnull::text || ' ' ||
                                                 coalesce(pg_get_expr(ad.adbin, ad.adrelid), ''), ', '
                                                 ORDER BY a.attnum), '')
                        FROM pg_attribute a
                        LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
                       WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped))
            ELSE 'other' END
  FROM pg_depend d
  LEFT JOIN pg_class c ON d.classid = 'pg_class'::regclass AND c.oid = d.objid
 WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
   AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'job_stagger')
UNION ALL
SELECT 'index ' || indexname, md5(indexdef) FROM pg_indexes WHERE schemaname = 'job_stagger'
UNION ALL
SELECT 'policy ' || tablename || '.' || policyname,
       md5(concat_ws(' ', permissive, roles::text, cmd, qual, with_check))
  FROM pg_policies WHERE schemaname = 'job_stagger'
UNION ALL
SELECT 'trigger ' || t.tgname, md5(pg_get_triggerdef(t.oid))
  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 WHERE c.relnamespace = 'job_stagger'::regnamespace AND NOT t.tgisinternal
$$;

-- a fresh install at the default version
SELECT extversion FROM pg_extension WHERE extname = 'job_stagger';
CREATE TEMP TABLE fresh_objects AS SELECT * FROM pg_temp.ext_objects();
-- every kind of object is compared
SELECT split_part(object, ' ', 1) AS kind, count(*) > 0 AS present FROM fresh_objects GROUP BY 1 ORDER BY 1;

-- two colliding jobs this session has seen (its job cache holds them) before the extension goes
SELECT stagger_schedule('ghost_a', '0 0 1 1 *', 'SELECT 1', 15) > 0 AS scheduled;
SELECT stagger_schedule('ghost_b', '0 0 1 1 *', 'SELECT 1', 15) > 0 AS scheduled;
SELECT job_a, job_b FROM stagger_collisions() WHERE job_a LIKE 'ghost\_%';

SET client_min_messages = warning;
DROP EXTENSION job_stagger CASCADE;
RESET client_min_messages;
CREATE EXTENSION job_stagger VERSION '0.1';
SELECT extversion FROM pg_extension WHERE extname = 'job_stagger';
SELECT to_regprocedure('job_stagger.concurrency_by_minute()') IS NULL AS no_sweep_function_in_0_1;

-- a job (never due during the test) and a history of known shape: three runs
-- at :00 with staggering off that overlap (peak 3 at 12:00:00), a run carried
-- into 12:01 beside a staggered one (peak 2 at 12:01:15), one staggered run
-- alone at 12:02:30, and one skipped slot (never started)
SELECT stagger_schedule('upgrade_kept', '0 0 1 1 *', 'SELECT 1', 15) > 0 AS scheduled;
CREATE FUNCTION pg_temp.at(s numeric) RETURNS timestamptz LANGUAGE sql IMMUTABLE
    AS $$ SELECT timestamptz '2023-05-01 12:00:00+00' + s * interval '1 second' $$;
INSERT INTO job_stagger.job_run_details
    (jobid, job_name, username, database, command, status, scheduled_at, nominal_at, started_at, ended_at,
     stagger_enabled, offset_seconds, effective_schedule)
SELECT j.jobid, j.job_name, j.username, j.database, j.command, v.status, pg_temp.at(v.due),
       pg_temp.at(floor(v.due / 60.0) * 60), pg_temp.at(v.started), pg_temp.at(v.ended), v.staggered,
       CASE WHEN v.staggered THEN 15 ELSE 0 END, j.schedule
  FROM job_stagger.jobs j,
       (VALUES ('succeeded',   0,   0.001,   3.0, false),
               ('succeeded',   0,   0.002,   2.0, false),
               ('failed',      0,   0.003,  78.0, false),
               ('succeeded',  75,  75.000,  80.0, true),
               ('succeeded', 150, 150.000, 151.0, true),
               ('skipped',   135,    NULL, 135.0, true)) v(status, due, started, ended, staggered)
 WHERE j.job_name = 'upgrade_kept';
-- a job whose role is dropped before the update (0.3 keeps jobs by role OID)
CREATE ROLE upgrade_gone LOGIN;
SELECT stagger_schedule('upgrade_orphan', '0 0 1 1 *', 'SELECT 1', 20, username => 'upgrade_gone') > 0 AS scheduled;
DROP ROLE upgrade_gone;
-- schedules 0.1 and 0.2 accepted that 0.3 (pg_cron-exact) rejects or never fires:
-- written around the validation (this library already judges them the 0.3 way)
SET session_replication_role = replica;
INSERT INTO job_stagger.jobs (job_name, schedule, command, offset_seconds)
VALUES ('upgrade_step', '5/10 * * * *', 'SELECT 1', 0), ('upgrade_weekdays', '0 9 * * mon-sun', 'SELECT 1', 0);
RESET session_replication_role;
CREATE TEMP TABLE concurrency_0_1 AS SELECT * FROM job_stagger.concurrency;
SELECT * FROM concurrency_0_1 ORDER BY minute, stagger_enabled;

-- Every version the scripts name has an update path to the default version,
-- and the default version is one of them: a release without its upgrade
-- script lists a row here.
WITH d AS (SELECT default_version AS v FROM pg_available_extensions WHERE name = 'job_stagger'),
     versions AS (SELECT source AS v FROM pg_extension_update_paths('job_stagger')
                  UNION SELECT target FROM pg_extension_update_paths('job_stagger'))
SELECT 'no update path to the default version' AS problem, versions.v AS version
  FROM versions, d
 WHERE versions.v <> d.v
   AND NOT EXISTS (SELECT FROM pg_extension_update_paths('job_stagger') p
                    WHERE p.source = versions.v AND p.target = d.v AND p.path IS NOT NULL)
UNION ALL
SELECT 'the default version has no script', d.v FROM d WHERE d.v NOT IN (SELECT v FROM versions);

-- Step by step along the path 0.1 -> ... -> default (ALTER EXTENSION ...
-- UPDATE TO each version), after each step: the jobs and runs kept, and
-- stagger_summary(), which works from the version whose columns this library
-- reads (0.5: exclusive_group) and before it fails on the missing column
-- (README "Install": update right after installing a new build).
CREATE TEMP TABLE upgrade_steps (step int, version text, jobs bigint, runs bigint, summary text);
DO $$
DECLARE
    v_path text[] := string_to_array((SELECT path FROM pg_extension_update_paths('job_stagger')
                                       WHERE source = '0.1'
                                         AND target = (SELECT default_version FROM pg_available_extensions
                                                        WHERE name = 'job_stagger')), '--');
    v_summary text;
    v_state text;
BEGIN
    FOR i IN 2 .. coalesce(array_length(v_path, 1), 0) LOOP
        EXECUTE format('ALTER EXTENSION job_stagger UPDATE TO %L', v_path[i]);
        BEGIN
            PERFORM stagger_summary();
            v_summary := 'works';
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS v_summary = MESSAGE_TEXT, v_state = RETURNED_SQLSTATE;
            v_summary := v_state || ': ' || v_summary;
        END;
        INSERT INTO upgrade_steps
        SELECT i - 1, extversion, (SELECT count(*) FROM job_stagger.jobs),
               (SELECT count(*) FROM job_stagger.job_run_details), v_summary
          FROM pg_extension WHERE extname = 'job_stagger';
    END LOOP;
END
$$;
-- every step reached its version and kept the 4 jobs and 6 runs
SELECT s.step, s.version, s.version = p.v AS reached, s.jobs = 4 AS jobs_kept, s.runs = 6 AS runs_kept, s.summary
  FROM upgrade_steps s
  LEFT JOIN unnest(string_to_array((SELECT path FROM pg_extension_update_paths('job_stagger') WHERE source = '0.1'
              AND target = (SELECT default_version FROM pg_available_extensions WHERE name = 'job_stagger')),
          '--')) WITH ORDINALITY AS p(v, ord) ON p.ord = s.step + 1
 ORDER BY s.step;
SELECT extversion = (SELECT default_version FROM pg_available_extensions WHERE name = 'job_stagger') AS at_default_version
  FROM pg_extension WHERE extname = 'job_stagger';

-- jobs and history are kept; they belong to their role's OID now, and the
-- job whose role is gone is inactive and belongs to none; every offset that
-- existed before 0.6 counts as chosen by a user (offset_pinned)
SELECT job_name, schedule, offset_seconds, offset_pinned, active,
       CASE roleid WHEN 0 THEN 'none' WHEN (SELECT oid FROM pg_roles WHERE rolname = current_user) THEN 'current_user'
                   ELSE 'other' END AS role
  FROM job_stagger.jobs ORDER BY jobid;
SELECT status, count(*), bool_and(roleid = (SELECT oid FROM pg_roles WHERE rolname = current_user)) AS role_set
  FROM job_stagger.job_run_details GROUP BY status ORDER BY status;
DELETE FROM job_stagger.jobs WHERE job_name IN ('upgrade_orphan', 'upgrade_step', 'upgrade_weekdays');
-- the same concurrency rows as 0.1 computed (no row differs either way)
(SELECT * FROM concurrency_0_1 EXCEPT ALL SELECT * FROM job_stagger.concurrency)
UNION ALL
(SELECT * FROM job_stagger.concurrency EXCEPT ALL SELECT * FROM concurrency_0_1);
SELECT count(*) AS rows_after_update FROM job_stagger.concurrency;

-- the same objects as a fresh install (no object missing, extra or different)
SELECT 'missing after update' AS problem, object FROM (SELECT * FROM fresh_objects EXCEPT SELECT * FROM pg_temp.ext_objects()) m
UNION ALL
SELECT 'extra after update', object FROM (SELECT * FROM pg_temp.ext_objects() EXCEPT SELECT * FROM fresh_objects) e
ORDER BY 1, 2;

-- the job cache of this session follows the re-created table: no job of the
-- dropped extension (ghost_a, ghost_b) is reported
SELECT job_a, job_b FROM stagger_collisions();
SELECT stagger_schedule('upgrade_other', '0 0 1 1 *', 'SELECT 1', 15) > 0 AS collides_only_with_upgrade_kept;

-- leave no job behind
SELECT stagger_unschedule('upgrade_kept') AND stagger_unschedule('upgrade_other') AS unscheduled;
DELETE FROM job_stagger.job_run_details WHERE job_name LIKE 'upgrade\_%';
