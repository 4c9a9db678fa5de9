/*
 * job_stagger.scheduler_status(): what the scheduler is doing right now, read
 * from shared memory (for stagger-ctl and monitoring): whether it runs, which
 * settings it has applied, how many runs are going, and any automatic
 * rollback. It reads the run slots only through the read-only status API
 * (SchedulerStatusSnapshot, src/worker/shared.hpp), never the shared structs.
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
	js::worker::SchedulerStatus st;
	TupleDesc tupdesc;
	Datum values[8] = {};
	bool nulls[8] = {true, true, true, true, true, true, true, true};

	if (get_call_result_type(fcinfo, nullptr, &tupdesc) != TYPEFUNC_COMPOSITE)
		ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("scheduler_status must return a record")));
	tupdesc = BlessTupleDesc(tupdesc);
	/* A copy taken under the slot lock; the Datums are built after it is released. */
	if (js::worker::SchedulerStatusSnapshot(&st)) {
		bool launcher = st.launcher_pid != 0;
		values[0] = Int32GetDatum(st.launcher_pid);
		nulls[0] = !launcher;
		values[1] = TimestampTzGetDatum(st.launcher_started_at);
		nulls[1] = !launcher;
		values[2] = BoolGetDatum(st.applied_enabled);
		values[3] = TimestampTzGetDatum(st.settings_applied_at);
		nulls[2] = nulls[3] = st.settings_applied_at == 0;
		values[4] = Int32GetDatum(st.count[js::worker::kSlotRunning]);
		values[5] = Int32GetDatum(st.count[js::worker::kSlotClaimed] + st.count[js::worker::kSlotWaiting] +
		                          st.count[js::worker::kSlotQueued]);
		nulls[4] = nulls[5] = false;
		values[6] = TimestampTzGetDatum(st.auto_rollback_at);
		values[7] = CStringGetTextDatum(st.auto_rollback_reason);
		nulls[6] = nulls[7] = st.auto_rollback_at == 0;
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

} /* extern "C" */
