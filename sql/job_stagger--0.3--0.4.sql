/* job_stagger--0.3--0.4.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION job_stagger UPDATE TO '0.4'" to load this file. \quit

/* ---- command_xid (branch xid): exactly once across a crash or a failover ---- */
/*
 * The top-level transaction id of the run's command, recorded by the
 * scheduler before that transaction commits (the job worker's commit fence
 * waits for it; WAL is replayed in order, so any copy of the database that has
 * the command's commit has this value). A 'running' row left by a server that
 * stopped is then closed by what pg_xact_status() says of it: committed ->
 * 'succeeded', aborted -> 'crashed'. NULL when the command wrote nothing, or
 * when it wrote in more than one transaction (CALL/DO with COMMIT, several
 * statements with COMMIT between them): then such a row stays "outcome
 * unknown". Plain roles read it with the rest of their rows (SELECT only).
 */
ALTER TABLE job_stagger.job_run_details ADD COLUMN command_xid xid8;
COMMENT ON COLUMN job_stagger.job_run_details.command_xid IS
'Top-level transaction id of the command''s only writing transaction, recorded before it commits (NULL: the command wrote nothing, or in several transactions)';
/* ---- end command_xid ---- */
