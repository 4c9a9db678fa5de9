/*
 * job_stagger.concurrency_by_minute(): the rows of the job_stagger.concurrency
 * view. Reads the recorded run intervals the caller can see (row-level
 * security applies) through a cursor into plain arrays, then sweeps them in
 * core (one sort and one pass, instead of a window over every start and end
 * event in SQL). Reading, sweeping and returning rows all obey
 * statement_timeout and pg_cancel_backend.
 */
#include "core/concurrency.hpp"
#include "pg/bridge.hpp"

#include <algorithm>

extern "C" {
#include "postgres.h"

#include "access/xact.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
}

namespace {

constexpr long kFetchRows = 10000;
constexpr std::size_t kInitialRuns = 1024;

/* The intervals read so far (palloc'd in the function's memory context). */
struct RunBuffer {
	js::core::RunInterval *runs;
	std::size_t count;
	std::size_t capacity;
};

void
Append(RunBuffer *buf, TimestampTz start, TimestampTz end, bool staggered)
{
	if (buf->count == buf->capacity) {
		buf->capacity *= 2;
		buf->runs = static_cast<js::core::RunInterval *>(
		    repalloc_huge(buf->runs, sizeof(js::core::RunInterval) * buf->capacity));
	}
	/* TimestampTz counts microseconds from 2000-01-01 00:00 UTC, a minute boundary, as core expects. */
	buf->runs[buf->count++] = js::core::RunInterval{start, end, staggered};
}

/*
 * Runs that started and did not end before they started; a run still going
 * ends now() for the sweep. Infinite timestamps (written by hand) are left out.
 */
RunBuffer
ReadRuns()
{
	MemoryContext caller = CurrentMemoryContext;
	RunBuffer buf = {static_cast<js::core::RunInterval *>(
	                     MemoryContextAllocHuge(caller, sizeof(js::core::RunInterval) * kInitialRuns)),
	                 0, kInitialRuns};
	TimestampTz now = GetCurrentTransactionStartTimestamp();

	SPI_connect();
	SPIPlanPtr plan = SPI_prepare("SELECT started_at, ended_at, stagger_enabled FROM job_stagger.job_run_details"
	                              " WHERE started_at IS NOT NULL AND (ended_at IS NULL OR ended_at >= started_at)",
	                              0, nullptr);
	if (plan == nullptr)
		elog(ERROR, "job_stagger: could not plan the run history query: %s", SPI_result_code_string(SPI_result));
	Portal portal = SPI_cursor_open(nullptr, plan, nullptr, nullptr, true);
	for (;;) {
		SPI_cursor_fetch(portal, true, kFetchRows);
		if (SPI_processed == 0)
			break;
		TupleDesc desc = SPI_tuptable->tupdesc;
		for (uint64 i = 0; i < SPI_processed; i++) {
			HeapTuple tuple = SPI_tuptable->vals[i];
			bool start_null = false, end_null = false, mode_null = false;
			TimestampTz start = DatumGetTimestampTz(SPI_getbinval(tuple, desc, 1, &start_null));
			TimestampTz end = DatumGetTimestampTz(SPI_getbinval(tuple, desc, 2, &end_null));
			bool staggered = DatumGetBool(SPI_getbinval(tuple, desc, 3, &mode_null));
			if (end_null)
				end = std::max(start, now);
			if (TIMESTAMP_NOT_FINITE(start) || TIMESTAMP_NOT_FINITE(end))
				continue;
			Append(&buf, start, end, staggered);
		}
		SPI_freetuptable(SPI_tuptable);
		CHECK_FOR_INTERRUPTS();
	}
	SPI_cursor_close(portal);
	SPI_finish();
	return buf;
}

} // namespace

extern "C" {

PG_FUNCTION_INFO_V1(job_stagger_concurrency_by_minute);

/*
 * job_stagger.concurrency_by_minute() RETURNS TABLE(minute timestamptz,
 *   stagger_enabled boolean, runs bigint, peak_concurrency integer,
 *   worst_second timestamptz): one row per minute and stagger mode with runs.
 */
Datum
job_stagger_concurrency_by_minute(PG_FUNCTION_ARGS)
{
	RunBuffer buf = ReadRuns();
	js::core::MinuteConcurrency *rows = nullptr;
	std::size_t nrows = 0;
	js::pg::CallCore([&](const js::core::Interrupt &interrupt) {
		js::core::Cancellable<std::vector<js::core::MinuteConcurrency>> result =
		    js::core::ConcurrencyByMinute(buf.runs, buf.count, interrupt);
		if (result.cancelled)
			return false;
		rows = static_cast<js::core::MinuteConcurrency *>(
		    js::pg::PallocOrThrow(sizeof(js::core::MinuteConcurrency) * (result.value.size() + 1)));
		std::copy(result.value.begin(), result.value.end(), rows);
		nrows = result.value.size();
		return true;
	});
	pfree(buf.runs);

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	ReturnSetInfo *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
	for (std::size_t i = 0; i < nrows; i++) {
		CHECK_FOR_INTERRUPTS();
		const js::core::MinuteConcurrency &r = rows[i];
		for (bool staggered : {false, true}) {
			int64 runs = staggered ? r.runs_on : r.runs_off;
			if (runs == 0)
				continue;
			Datum values[5] = {TimestampTzGetDatum(r.minute_us), BoolGetDatum(staggered), Int64GetDatum(runs),
			                   Int32GetDatum(static_cast<int32>(std::min<int64>(r.peak, PG_INT32_MAX))),
			                   TimestampTzGetDatum(r.worst_second_us)};
			bool nulls[5] = {false, false, false, false, false};
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}
	return (Datum)0;
}

} // extern "C"
