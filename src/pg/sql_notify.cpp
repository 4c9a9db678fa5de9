/*
 * Transaction bookkeeping for job changes.
 *
 * Waking the scheduler: a trigger on job_stagger.jobs marks the transaction;
 * only when it commits is the launcher woken (waking it earlier would let it
 * read the jobs before the change is visible), so job changes take effect
 * within milliseconds instead of at the next poll.
 *
 * The backend's job cache (job_cache.hpp) follows the rows written here and
 * learns at commit or abort whether it is still valid.
 */
#include "pg/job_cache.hpp"
#include "worker/launcher.hpp"

extern "C" {
#include "postgres.h"

#include "access/xact.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/rel.h"

namespace {

bool wake_at_commit = false;
bool callbacks_registered = false;

void
AtTransactionEnd(XactEvent event, void *arg)
{
	switch (event) {
	case XACT_EVENT_COMMIT:
	case XACT_EVENT_PARALLEL_COMMIT:
		if (wake_at_commit)
			js::pg::CacheCommitted(js::worker::NotifyJobsChanged());
		wake_at_commit = false;
		break;
	case XACT_EVENT_ABORT:
	case XACT_EVENT_PARALLEL_ABORT:
		js::pg::CacheAborted();
		wake_at_commit = false;
		break;
	default:
		break;
	}
}

void
AtSubtransactionEnd(SubXactEvent event, SubTransactionId sub, SubTransactionId parent, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB)
		js::pg::CacheAborted();
}

void
EnsureCallbacks()
{
	if (callbacks_registered)
		return;
	RegisterXactCallback(AtTransactionEnd, nullptr);
	RegisterSubXactCallback(AtSubtransactionEnd, nullptr);
	callbacks_registered = true;
}

} // namespace

PG_FUNCTION_INFO_V1(job_stagger_jobs_changed);
PG_FUNCTION_INFO_V1(job_stagger_wake_scheduler);
PG_FUNCTION_INFO_V1(job_stagger_note_job);
PG_FUNCTION_INFO_V1(job_stagger_note_job_deleted);
PG_FUNCTION_INFO_V1(job_stagger_jobs_note_rows);
PG_FUNCTION_INFO_V1(job_stagger_role_id);

/* Statement-level trigger on job_stagger.jobs. */
Datum
job_stagger_jobs_changed(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
		                errmsg("job_stagger.jobs_changed() must be called as a trigger")));
	EnsureCallbacks();
	if (TRIGGER_FIRED_BY_TRUNCATE(reinterpret_cast<TriggerData *>(fcinfo->context)->tg_event))
		js::pg::CacheInvalidate();
	wake_at_commit = true;
	return PointerGetDatum(nullptr);
}

/* job_stagger.wake_scheduler(): make the scheduler re-read jobs and settings once this transaction commits. */
Datum
job_stagger_wake_scheduler(PG_FUNCTION_ARGS)
{
	EnsureCallbacks();
	wake_at_commit = true;
	PG_RETURN_VOID();
}

/* job_stagger.note_job(jobid, job_name, schedule, offset_seconds, active): a row this backend wrote. */
Datum
job_stagger_note_job(PG_FUNCTION_ARGS)
{
	EnsureCallbacks();
	/* (0.2 signature, no zone: the next reload of the cache reads it) */
	js::pg::CacheNoteWritten(PG_GETARG_INT64(0), text_to_cstring(PG_GETARG_TEXT_PP(1)),
	                         text_to_cstring(PG_GETARG_TEXT_PP(2)), PG_GETARG_INT32(3), PG_GETARG_BOOL(4), nullptr);
	PG_RETURN_VOID();
}

/* job_stagger.note_job_deleted(jobid): a row this backend deleted. */
Datum
job_stagger_note_job_deleted(PG_FUNCTION_ARGS)
{
	EnsureCallbacks();
	js::pg::CacheNoteDeleted(PG_GETARG_INT64(0));
	PG_RETURN_VOID();
}

/*
 * Row-level AFTER trigger on job_stagger.jobs: keeps the job cache in step
 * with each row written (as note_job() and note_job_deleted() do), in C
 * because it runs once per row.
 */
Datum
job_stagger_jobs_note_rows(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
		                errmsg("job_stagger.jobs_note_rows() must be called as a trigger")));
	TriggerData *trig = reinterpret_cast<TriggerData *>(fcinfo->context);
	if (!TRIGGER_FIRED_FOR_ROW(trig->tg_event))
		ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
		                errmsg("job_stagger.jobs_note_rows() must be a row trigger")));
	EnsureCallbacks();
	TupleDesc desc = RelationGetDescr(trig->tg_relation);
	bool isnull = false;
	if (TRIGGER_FIRED_BY_DELETE(trig->tg_event)) {
		Datum jobid = heap_getattr(trig->tg_trigtuple, SPI_fnumber(desc, "jobid"), desc, &isnull);
		if (!isnull)
			js::pg::CacheNoteDeleted(DatumGetInt64(jobid));
		return PointerGetDatum(nullptr);
	}
	HeapTuple row = TRIGGER_FIRED_BY_UPDATE(trig->tg_event) ? trig->tg_newtuple : trig->tg_trigtuple;
	Datum jobid = heap_getattr(row, SPI_fnumber(desc, "jobid"), desc, &isnull);
	bool jobid_null = isnull;
	Datum offset = heap_getattr(row, SPI_fnumber(desc, "offset_seconds"), desc, &isnull);
	bool offset_null = isnull;
	Datum active = heap_getattr(row, SPI_fnumber(desc, "active"), desc, &isnull);
	bool active_null = isnull;
	char *name = SPI_getvalue(row, desc, SPI_fnumber(desc, "job_name"));
	char *schedule = SPI_getvalue(row, desc, SPI_fnumber(desc, "schedule"));
	/* jobs.timezone (0.7): NULL = job_stagger.timezone; absent before 0.7 */
	int zone_column = SPI_fnumber(desc, "timezone");
	char *zone_name = zone_column > 0 ? SPI_getvalue(row, desc, zone_column) : nullptr;
	/* The table's constraints forbid NULLs; note_job() is STRICT, so such a row was never noted either. */
	if (!jobid_null && !offset_null && !active_null && name != nullptr && schedule != nullptr)
		js::pg::CacheNoteWritten(DatumGetInt64(jobid), name, schedule, DatumGetInt32(offset), DatumGetBool(active),
		                         zone_name);
	return PointerGetDatum(nullptr);
}

/*
 * job_stagger.role_id(role_name text) RETURNS oid: the OID of the role of
 * that name, NULL if there is none (what pg_roles says, without planning a
 * query over that view in every transaction: the validation trigger calls it
 * for every job written).
 */
Datum
job_stagger_role_id(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0)) /* declared STRICT; this guards a changed declaration */
		PG_RETURN_NULL();
	text *name = PG_GETARG_TEXT_PP(0);
	/* no role name is that long (a longer key would be cut to NAMEDATALEN by the catalog lookup) */
	if (VARSIZE_ANY_EXHDR(name) >= NAMEDATALEN)
		PG_RETURN_NULL();
	Oid role = get_role_oid(text_to_cstring(name), true);
	if (!OidIsValid(role))
		PG_RETURN_NULL();
	PG_RETURN_OID(role);
}

} /* extern "C" */
