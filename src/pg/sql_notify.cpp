/*
 * Waking the scheduler when jobs change. A trigger on job_stagger.jobs marks
 * the transaction; only when it commits is the launcher woken (waking it
 * earlier would let it read the jobs before the change is visible), so job
 * changes take effect within milliseconds instead of at the next poll.
 */
#include "worker/launcher.hpp"

extern "C" {
#include "postgres.h"

#include "access/xact.h"
#include "commands/trigger.h"
#include "fmgr.h"

namespace {

bool wake_at_commit = false;
bool callback_registered = false;

void
WakeAtCommit(XactEvent event, void *arg)
{
	switch (event) {
	case XACT_EVENT_COMMIT:
	case XACT_EVENT_PARALLEL_COMMIT:
		if (wake_at_commit)
			js::worker::NotifyJobsChanged();
		wake_at_commit = false;
		break;
	case XACT_EVENT_ABORT:
	case XACT_EVENT_PARALLEL_ABORT:
		wake_at_commit = false;
		break;
	default:
		break;
	}
}

void
MarkTransaction()
{
	if (!callback_registered) {
		RegisterXactCallback(WakeAtCommit, nullptr);
		callback_registered = true;
	}
	wake_at_commit = true;
}

} // namespace

PG_FUNCTION_INFO_V1(job_stagger_jobs_changed);
PG_FUNCTION_INFO_V1(job_stagger_wake_scheduler);

/* Statement-level trigger on job_stagger.jobs. */
Datum
job_stagger_jobs_changed(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
		                errmsg("job_stagger.jobs_changed() must be called as a trigger")));
	MarkTransaction();
	return PointerGetDatum(nullptr);
}

/* job_stagger.wake_scheduler(): make the scheduler re-read jobs and settings once this transaction commits. */
Datum
job_stagger_wake_scheduler(PG_FUNCTION_ARGS)
{
	MarkTransaction();
	PG_RETURN_VOID();
}

} /* extern "C" */
