/* job_stagger--0.6--0.7.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION job_stagger UPDATE TO '0.7'" to load this file. \quit

/* ---- life cycle and packaging (branch lifecycle) ---- */
/*
 * pg_dump / pg_restore. jobs, offset_changes and their sequences are in the
 * dump (pg_extension_config_dump); the run history is not (README "Backup
 * and restore"). Restored rows carry a creation time before the restoring
 * transaction (a column plain roles cannot write; its default is the
 * transaction's start): jobs_validate keeps such jobs as written and resolves
 * roleid again from username (role OIDs differ between clusters), and this
 * trigger does the same for restored offset_changes rows (the optimiser's
 * own rows are written with changed_at = now(), and are left alone).
 */
CREATE FUNCTION job_stagger.offset_changes_restored()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    NEW.roleid := coalesce(job_stagger.role_id(NEW.username), 0);
    RETURN NEW;
END
$fn$;
CREATE TRIGGER offset_changes_restored BEFORE INSERT ON job_stagger.offset_changes
    FOR EACH ROW WHEN (NEW.changed_at OPERATOR(pg_catalog.<>) pg_catalog.transaction_timestamp())
    EXECUTE FUNCTION job_stagger.offset_changes_restored();
REVOKE EXECUTE ON FUNCTION job_stagger.offset_changes_restored() FROM PUBLIC;
/* ---- end life cycle and packaging ---- */
