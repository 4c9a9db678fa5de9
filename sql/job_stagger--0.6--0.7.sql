/* job_stagger--0.6--0.7.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION job_stagger UPDATE TO '0.7'" to load this file. \quit

/* ---- coming from pg_cron (branch pgcron) ---- */
/*
 * stagger_import_pg_cron: copies the pg_cron jobs the caller can see (cron.job
 * has row-level security: a plain role sees its own) into job_stagger, in the
 * caller's transaction. Each job goes through stagger_schedule in its own
 * subtransaction, so every validation and permission rule applies; a job
 * job_stagger cannot take is reported `refused` and left in pg_cron. Only the
 * error classes validation raises are caught (data, integrity, database,
 * access/undefined object): anything else (a cancel, a lock timeout, a failing
 * user trigger) aborts the whole import. pg_cron is read with dynamic SQL, as
 * it may be absent; it is recognised by its extension, not by a cron.job
 * relation (job_stagger_pgcron has a cron.job view of our own jobs).
 */
CREATE FUNCTION stagger_import_pg_cron(drop_after boolean DEFAULT false)
RETURNS TABLE(pg_cron_jobid bigint, job_name text, outcome text, detail text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_js_db text := pg_catalog.current_setting('job_stagger.database_name', true);
    v_cron_db text;
    v_hint text;
    v_job record;
    v_name text;
    v_try integer;
    v_active_imported integer := 0;
    v_dropped integer := 0;
    v_state text;
    v_msg text;
BEGIN
    IF drop_after IS NULL THEN
        RAISE EXCEPTION 'drop_after must be true or false, not NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    BEGIN
        v_cron_db := pg_catalog.current_setting('cron.database_name', true);
    EXCEPTION WHEN insufficient_privilege THEN
        v_cron_db := NULL; -- pg_cron hides it from plain roles
    END;
    v_hint := pg_catalog.format('pg_cron''s jobs live in the database named by cron.database_name (%s), '
                                'job_stagger''s in the one named by job_stagger.database_name (%s): run the import '
                                'in a database where both extensions are created.',
                                coalesce(v_cron_db, 'not set or not visible'), coalesce(v_js_db, 'not set'));
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension e WHERE e.extname OPERATOR(pg_catalog.=) 'pg_cron')
       OR pg_catalog.to_regclass('cron.job') IS NULL THEN
        RAISE EXCEPTION 'pg_cron is not installed in database "%": there is no cron.job to import from',
                        pg_catalog.current_database()
            USING ERRCODE = 'undefined_table', HINT = v_hint;
    END IF;
    IF v_js_db IS DISTINCT FROM pg_catalog.current_database() THEN
        RAISE EXCEPTION 'jobs can only be imported in database "%"', coalesce(v_js_db, '(job_stagger.database_name not set)')
            USING ERRCODE = 'object_not_in_prerequisite_state', HINT = v_hint;
    END IF;

    FOR v_job IN EXECUTE
        'SELECT j.jobid::pg_catalog.int8 AS jobid, j.jobname::pg_catalog.text AS jobname, '
        '       j.schedule::pg_catalog.text AS schedule, j.command::pg_catalog.text AS command, '
        '       j.database::pg_catalog.text AS database, j.username::pg_catalog.text AS username, '
        '       j.active::pg_catalog.bool AS active '
        '  FROM cron.job j ORDER BY j.jobid'
    LOOP
        pg_cron_jobid := v_job.jobid;
        outcome := 'imported';
        detail := NULL;
        IF coalesce(v_job.jobname, '') OPERATOR(pg_catalog.=) '' THEN
            v_name := 'pg_cron_' OPERATOR(pg_catalog.||) v_job.jobid::text;
            detail := pg_catalog.format('unnamed pg_cron job %s imported as "%s"', v_job.jobid, v_name);
        ELSE
            v_name := v_job.jobname;
        END IF;
        -- A job of that name already runs as that role here: take a new name.
        v_try := 0;
        job_name := v_name;
        WHILE EXISTS (SELECT 1 FROM job_stagger.jobs s
                       WHERE s.job_name OPERATOR(pg_catalog.=) stagger_import_pg_cron.job_name
                         AND s.roleid OPERATOR(pg_catalog.=) job_stagger.role_id(v_job.username)
                         AND s.roleid OPERATOR(pg_catalog.<>) 0) LOOP
            v_try := v_try OPERATOR(pg_catalog.+) 1;
            job_name := v_name OPERATOR(pg_catalog.||) '_pg_cron_' OPERATOR(pg_catalog.||) v_job.jobid::text
                        OPERATOR(pg_catalog.||) CASE WHEN v_try OPERATOR(pg_catalog.>) 1
                                                     THEN '_' OPERATOR(pg_catalog.||) v_try::text ELSE '' END;
        END LOOP;
        IF v_try OPERATOR(pg_catalog.>) 0 THEN
            outcome := 'renamed';
            detail := pg_catalog.format('job "%s" of role "%s" already exists in job_stagger: imported as "%s"',
                                        v_name, v_job.username, job_name);
        END IF;
        BEGIN
            PERFORM pg_catalog.stagger_schedule(job_name, v_job.schedule, v_job.command, NULL::integer,
                                                v_job.database, v_job.username, v_job.active);
        EXCEPTION WHEN data_exception OR integrity_constraint_violation OR invalid_catalog_name
                       OR syntax_error_or_access_rule_violation THEN
            GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_msg = MESSAGE_TEXT;
            outcome := 'refused';
            detail := v_msg OPERATOR(pg_catalog.||) ' (SQLSTATE ' OPERATOR(pg_catalog.||) v_state
                      OPERATOR(pg_catalog.||) '); left in pg_cron';
            job_name := v_name;
            RETURN NEXT;
            CONTINUE;
        END;
        IF v_job.active THEN
            v_active_imported := v_active_imported OPERATOR(pg_catalog.+) 1;
        END IF;
        IF drop_after THEN
            EXECUTE 'SELECT cron.unschedule($1::pg_catalog.int8)' USING v_job.jobid;
            v_dropped := v_dropped OPERATOR(pg_catalog.+) 1;
            detail := coalesce(detail OPERATOR(pg_catalog.||) '; ', '') OPERATOR(pg_catalog.||)
                      'unscheduled from pg_cron';
        END IF;
        RETURN NEXT;
    END LOOP;
    IF NOT drop_after AND v_active_imported OPERATOR(pg_catalog.>) 0 THEN
        RAISE WARNING 'pg_cron and job_stagger now both run the % active imported job(s)', v_active_imported
            USING HINT = 'Import with stagger_import_pg_cron(drop_after => true), or stop them in pg_cron with '
                         'cron.alter_job(jobid, active := false) or cron.unschedule(jobid).';
    END IF;
END
$fn$;
COMMENT ON FUNCTION stagger_import_pg_cron(boolean) IS
'copy the pg_cron jobs the caller sees (cron.job) into job_stagger in one transaction; one row per pg_cron job with outcome imported, renamed or refused; drop_after unschedules the imported ones from pg_cron';
/* ---- end coming from pg_cron ---- */
