/*
 * stagger_run_now(job_id bigint) RETURNS bigint: a run of the caller's job at
 * once (the text overload, in SQL, resolves a name with job_stagger.job_id()).
 *
 * The run is a row of job_stagger.job_run_details, status 'starting',
 * triggered_by 'manual', written in the caller's transaction: a rollback
 * leaves nothing to run, and a committed request survives any restart (the
 * launcher takes up 'starting' manual rows, launcher_requests.cpp). At commit
 * the shared counter run_requests is bumped and the launcher's latch set, so
 * the run starts within milliseconds; its worker applies the overlap policy,
 * the exclusive group and the cap at its instant, like a slot's.
 *
 * Who may: the job must be visible to the caller through the row-level
 * security of job_stagger.jobs (its own jobs; a superuser sees all). PUBLIC
 * may only read the history, so the row is written as the bootstrap
 * superuser: the user id is switched (SECURITY_LOCAL_USERID_CHANGE, a
 * restricted operation) around this one schema-qualified INSERT, whose values
 * come from the job row and from this function, never from the caller's SQL.
 * An ERROR in it aborts the (sub)transaction, which restores the user id.
 */
extern "C" {
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
}

#include "worker/launcher.hpp"

extern "C" {

namespace {

static bool run_now_wake_at_commit = false;
static bool run_now_callback_registered = false;

static void
RunNowAtTransactionEnd(XactEvent event, void *arg)
{
	switch (event) {
	case XACT_EVENT_COMMIT:
	case XACT_EVENT_PARALLEL_COMMIT:
		if (run_now_wake_at_commit)
			js::worker::NotifyRunRequested();
		run_now_wake_at_commit = false;
		break;
	case XACT_EVENT_ABORT:
	case XACT_EVENT_PARALLEL_ABORT:
		run_now_wake_at_commit = false;
		break;
	default:
		break;
	}
}

} // namespace

PG_FUNCTION_INFO_V1(job_stagger_stagger_run_now);

Datum
job_stagger_stagger_run_now(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("job_id must not be NULL")));
	int64 jobid = PG_GETARG_INT64(0);
	Oid caller = GetUserId();
	char *caller_name = GetUserNameFromId(caller, false);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "job_stagger: SPI_connect failed");
	/* As the caller: row-level security decides which jobs it may run. */
	Oid types[3] = {INT8OID, TEXTOID, TIMESTAMPTZOID};
	Datum values[3] = {Int64GetDatum(jobid), CStringGetTextDatum(psprintf("manual run requested by %s", caller_name)),
	                   TimestampTzGetDatum(GetCurrentTimestamp())};
	if (SPI_execute_with_args("SELECT 1 FROM job_stagger.jobs j WHERE j.jobid OPERATOR(pg_catalog.=) $1", 1, types,
	                          values, nullptr, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "job_stagger: could not read job_stagger.jobs");
	if (SPI_processed == 0)
		ereport(ERROR, (errcode(ERRCODE_UNDEFINED_OBJECT), errmsg("job " INT64_FORMAT " does not exist", jobid),
		                errhint("stagger_run_now runs your own jobs (a superuser's: any job); see job_stagger.jobs.")));

	Oid save_userid = InvalidOid;
	int save_sec = 0;
	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(BOOTSTRAP_SUPERUSERID,
	                       save_sec | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
	int rc = SPI_execute_with_args(
	    "INSERT INTO job_stagger.job_run_details (jobid, job_name, username, database, command, status,"
	    " return_message, scheduled_at, nominal_at, stagger_enabled, offset_seconds, effective_schedule,"
	    " triggered_by, roleid, exclusive_group, attempt)"
	    " SELECT j.jobid, j.job_name, j.username, j.database, j.command, 'starting', $2, $3, $3, false, 0,"
	    " j.schedule, 'manual', j.roleid, j.exclusive_group, 1"
	    " FROM job_stagger.jobs j WHERE j.jobid OPERATOR(pg_catalog.=) $1 RETURNING runid",
	    3, types, values, nullptr, false, 0);
	SetUserIdAndSecContext(save_userid, save_sec);
	if (rc != SPI_OK_INSERT_RETURNING)
		elog(ERROR, "job_stagger: could not record the manual run (%d)", rc);
	if (SPI_processed == 0) /* deleted since we read it */
		ereport(ERROR, (errcode(ERRCODE_UNDEFINED_OBJECT), errmsg("job " INT64_FORMAT " does not exist", jobid)));
	bool isnull = false;
	int64 runid = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();

	if (!run_now_callback_registered) {
		RegisterXactCallback(RunNowAtTransactionEnd, nullptr);
		run_now_callback_registered = true;
	}
	run_now_wake_at_commit = true;
	PG_RETURN_INT64(runid);
}

} /* extern "C" */
