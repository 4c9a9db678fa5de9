/*
 * job_stagger.scheduler_status(): what the scheduler is doing right now, read
 * from shared memory (for stagger-ctl and monitoring): whether it runs, which
 * settings it has applied, how many runs are going, and any automatic
 * rollback.
 */
extern "C" {
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
}

#include "worker/shared.hpp"

extern "C" {

PG_FUNCTION_INFO_V1(job_stagger_scheduler_status);

/*
 * job_stagger.scheduler_status(OUT launcher_pid integer, OUT launcher_started_at timestamptz,
 *   OUT applied_enabled boolean, OUT settings_applied_at timestamptz, OUT running_runs integer,
 *   OUT waiting_runs integer, OUT auto_rollback_at timestamptz, OUT auto_rollback_reason text)
 * NULLs when the library is not preloaded; launcher_pid NULL when no launcher runs.
 */
Datum
job_stagger_scheduler_status(PG_FUNCTION_ARGS)
{
	js::worker::SharedState *sh = js::worker::Shared();
	TupleDesc tupdesc;
	Datum values[8] = {};
	bool nulls[8] = {true, true, true, true, true, true, true, true};

	if (get_call_result_type(fcinfo, nullptr, &tupdesc) != TYPEFUNC_COMPOSITE)
		ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("scheduler_status must return a record")));
	tupdesc = BlessTupleDesc(tupdesc);
	if (sh != nullptr) {
		int running = 0, waiting = 0;
		LWLockAcquire(sh->lock, LW_SHARED);
		for (int i = 0; i < sh->nslots; i++) {
			js::worker::RunSlotState state = sh->slots[i].state;
			running += state == js::worker::kSlotRunning;
			waiting += state == js::worker::kSlotClaimed || state == js::worker::kSlotWaiting ||
			           state == js::worker::kSlotQueued;
		}
		bool launcher = sh->launcher_pid != 0;
		values[0] = Int32GetDatum(sh->launcher_pid);
		nulls[0] = !launcher;
		values[1] = TimestampTzGetDatum(sh->launcher_started_at);
		nulls[1] = !launcher;
		values[2] = BoolGetDatum(sh->applied_enabled);
		values[3] = TimestampTzGetDatum(sh->settings_applied_at);
		nulls[2] = nulls[3] = sh->settings_applied_at == 0;
		values[4] = Int32GetDatum(running);
		values[5] = Int32GetDatum(waiting);
		nulls[4] = nulls[5] = false;
		values[6] = TimestampTzGetDatum(sh->auto_rollback_at);
		values[7] = CStringGetTextDatum(sh->auto_rollback_reason);
		nulls[6] = nulls[7] = sh->auto_rollback_at == 0;
		LWLockRelease(sh->lock);
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

} /* extern "C" */
