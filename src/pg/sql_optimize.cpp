/*
 * SQL functions over the load simulator and the offset optimiser
 * (src/core/simulate.hpp): job_stagger.simulate() and simulate_totals()
 * (behind stagger_simulate and stagger_simulate_totals),
 * job_stagger.optimize() (behind stagger_optimize), the trigger that keeps
 * jobs.offset_pinned, and AutoOptimize() for the launcher.
 *
 * They read the active jobs the caller can see (row-level security applies:
 * a plain role judges and moves its own jobs only) with their durations from
 * job_stagger.job_durations(), apply job_stagger.offsets (those jobs count as
 * pinned) and judge them in the session's job_stagger.timezone. Exclusive
 * groups are keyed by the job's role OID and group name, as the scheduler
 * keys them.
 *
 * Three phases per function (bridge.hpp): SPI into palloc'd plain rows, core
 * in CallCore into palloc'd plain results, then tuples and writes.
 */
#include "pg/sql_optimize.hpp"
#include "core/apply_rule.hpp"
#include "core/simulate.hpp"
#include "core/stagger.hpp"
#include "pg/bridge.hpp"
#include "pg/guc.hpp"
#include "pg/job_cache.hpp"
#include "pg/overrides.hpp"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

extern "C" {
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
}

#include "pg/restored_row.hpp"

#include "pg/pg_time.hpp"

namespace {

/* stagger_simulate's `starting`: at most this many names, then "… N more". */
constexpr int kMaxStartingNames = 10;
/* Interval schedules: fire instants looked at for their seconds of the minute (one hour of 1-second fires). */
constexpr int kMaxIntervalFires = 3600;

/* Set while the optimiser's own UPDATE runs: the pinned trigger then keeps offset_pinned as written. */
bool optimizer_writing = false;

/* One active job as read (plain data). */
struct OptRow {
	int64 jobid;
	char *name;
	char *username;
	char *schedule;
	int table_offset;
	bool table_pinned;
	Oid roleid;
	char *group; /* nullptr: none */
	int duration;
	char *timezone; /* nullptr: job_stagger.timezone */
};

struct OptRows {
	OptRow *rows;
	int count;
};

/* Per row, what the optimiser says. */
struct OptOut {
	int current;
	int proposed;
	bool pinned;
	bool movable;
};

struct Totals {
	int jobs;
	int peak;
	int64 peak_at;
	int64 overlap;
	int64 busy;
	int64 group_overlap;
	int64 from;
	int64 horizon;
};

/* One second of the minute for stagger_simulate. */
struct SecondRow {
	int peak;
	double mean;
	int nnames;
	char **names;
	int more;
};

/*
 * The active jobs the current user can see, in jobid order, with their
 * estimated durations (whole seconds, at least 1). Fully qualified: the
 * launcher runs it too.
 */
OptRows
ReadOptRows()
{
	/* jobs.timezone since 0.7 of the SQL objects */
	const char *sql =
	    psprintf("SELECT j.jobid, j.job_name, j.username, j.schedule, j.offset_seconds, j.offset_pinned, j.roleid,"
	             " j.exclusive_group, pg_catalog.ceil(EXTRACT(epoch FROM d.estimate))::pg_catalog.int8, %s"
	             " FROM job_stagger.jobs j"
	             " LEFT JOIN job_stagger.job_durations() d ON d.jobid OPERATOR(pg_catalog.=) j.jobid"
	             " WHERE j.active ORDER BY j.jobid",
	             js::pg::JobsHaveTimezone() ? "j.timezone" : "NULL::pg_catalog.text");
	MemoryContext caller = CurrentMemoryContext;
	SPI_connect();
	if (SPI_execute(sql, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "job_stagger: could not read job_stagger.jobs");
	MemoryContext old = MemoryContextSwitchTo(caller);
	OptRows out = {};
	int n = static_cast<int>(SPI_processed);
	out.rows = static_cast<OptRow *>(palloc0(sizeof(OptRow) * (n + 1)));
	for (int i = 0; i < n; i++) {
		HeapTuple t = SPI_tuptable->vals[i];
		TupleDesc d = SPI_tuptable->tupdesc;
		bool isnull = false;
		OptRow &r = out.rows[i];
		r.jobid = DatumGetInt64(SPI_getbinval(t, d, 1, &isnull));
		r.name = pstrdup(SPI_getvalue(t, d, 2));
		r.username = pstrdup(SPI_getvalue(t, d, 3));
		r.schedule = pstrdup(SPI_getvalue(t, d, 4));
		r.table_offset = DatumGetInt32(SPI_getbinval(t, d, 5, &isnull));
		r.table_pinned = DatumGetBool(SPI_getbinval(t, d, 6, &isnull));
		r.roleid = DatumGetObjectId(SPI_getbinval(t, d, 7, &isnull));
		char *group = SPI_getvalue(t, d, 8);
		r.group = group != nullptr ? pstrdup(group) : nullptr;
		int64 secs = DatumGetInt64(SPI_getbinval(t, d, 9, &isnull));
		r.duration = static_cast<int>(isnull ? 1 : Max(1, Min(secs, js::core::kMaxSimDurationSeconds)));
		char *zone = SPI_getvalue(t, d, 10);
		r.timezone = zone != nullptr ? pstrdup(zone) : nullptr;
	}
	out.count = n;
	MemoryContextSwitchTo(old);
	SPI_finish();
	return out;
}

/* The next full minute: simulations start there, so every run of the horizon is still to come. */
int64
HorizonStart()
{
	int64 now = js::pg::TimestampToInstant(GetCurrentTimestamp());
	return (now + 59) / 60 * 60;
}

/* The simulator's input (C++): one SimJob per row with a parsable schedule; row_of maps back. */
struct SimInput {
	std::vector<js::core::SimJob> jobs;
	std::vector<int> row_of;
};

SimInput
BuildSimInput(const OptRows &in, const js::pg::OverrideList &overrides, OptOut *out)
{
	std::map<std::string, int> by_name;
	for (int i = 0; i < overrides.count; i++)
		by_name[overrides.names[i]] = overrides.offsets[i];
	SimInput sim;
	for (int i = 0; i < in.count; i++) {
		const OptRow &r = in.rows[i];
		auto o = by_name.find(r.name);
		js::core::ParseResult parsed = js::core::ParseSchedule(r.schedule);
		OptOut &slot = out[i];
		slot.current = o != by_name.end() ? o->second : r.table_offset;
		slot.proposed = slot.current;
		slot.pinned = r.table_pinned || o != by_name.end();
		slot.movable = parsed.ok && !slot.pinned && js::core::OffsetMovable(parsed.schedule);
		if (!parsed.ok)
			continue;
		js::core::SimJob job;
		job.jobid = r.jobid;
		job.name = r.name;
		job.schedule = parsed.schedule;
		job.offset = slot.current;
		job.duration_seconds = r.duration;
		job.pinned = !slot.movable;
		if (r.group != nullptr)
			job.group = std::to_string(r.roleid) + "/" + r.group;
		/* validated when written; a zone that no longer loads is read in the default zone */
		if (r.timezone != nullptr)
			job.tz = js::core::TimeZone::Load(r.timezone);
		sim.jobs.push_back(std::move(job));
		sim.row_of.push_back(i);
	}
	return sim;
}

js::core::SimOptions
MakeOptions(int64 from, bool enabled)
{
	js::core::SimOptions options;
	options.tz = js::pg::CurrentTimeZone();
	options.from = from;
	options.stagger_enabled = enabled;
	return options;
}

/* The optimiser over the input (C++); fills out[].proposed; false if cancelled. */
bool
OptimizeInto(SimInput &sim, const js::core::SimOptions &options, const js::core::Interrupt &interrupt, OptOut *out,
             js::core::OptimizeResult *result)
{
	js::core::Cancellable<js::core::OptimizeResult> r = js::core::Optimize(sim.jobs, options, interrupt);
	if (r.cancelled)
		return false;
	for (std::size_t k = 0; k < sim.jobs.size() && k < r.value.offsets.size(); k++)
		out[sim.row_of[k]].proposed = r.value.offsets[k];
	*result = std::move(r.value);
	return true;
}

/* Seconds of the minute (bits 0-59) at which the job's runs start within the horizon (C++). */
std::uint64_t
StartSeconds(const js::core::SimJob &job, const js::core::SimOptions &options)
{
	const js::core::CronSchedule &s = job.schedule;
	const js::core::Instant end = options.from + options.horizon_seconds;
	std::optional<js::core::Instant> next = js::core::NextFire(s, options.from - 1, options.tz);
	if (!next || *next >= end)
		return 0;
	if (s.kind == js::core::ScheduleKind::kCron && !s.has_seconds_field)
		return std::uint64_t{1} << js::core::AppliedOffset(s, job.offset, options.stagger_enabled);
	if (s.kind == js::core::ScheduleKind::kCron)
		return s.seconds;
	std::uint64_t bits = 0;
	for (int k = 0; next && *next < end && k < kMaxIntervalFires; k++) {
		bits |= std::uint64_t{1} << (((*next % 60) + 60) % 60);
		next = js::core::NextFire(s, *next, options.tz);
	}
	return bits;
}

/* The `starting` column: sorted names, at most kMaxStartingNames of them (C++). */
void
FillStarting(const SimInput &sim, const js::core::SimOptions &options, SecondRow *rows)
{
	std::vector<std::vector<std::string>> names(60);
	for (const js::core::SimJob &job : sim.jobs) {
		std::uint64_t bits = StartSeconds(job, options);
		for (int sec = 0; sec < 60; sec++)
			if (bits & (std::uint64_t{1} << sec))
				names[sec].push_back(job.name);
	}
	for (int sec = 0; sec < 60; sec++) {
		std::vector<std::string> &list = names[sec];
		std::sort(list.begin(), list.end());
		int shown = std::min<int>(static_cast<int>(list.size()), kMaxStartingNames);
		rows[sec].names = static_cast<char **>(js::pg::PallocOrThrow(sizeof(char *) * (shown + 1)));
		for (int k = 0; k < shown; k++)
			rows[sec].names[k] = js::pg::PallocCopy(list[k]);
		rows[sec].nnames = shown;
		rows[sec].more = static_cast<int>(list.size()) - shown;
	}
}

void
FillTotals(const js::core::SimResult &r, const js::core::SimOptions &options, int njobs, Totals *totals)
{
	*totals = Totals{njobs,          r.peak,
	                 r.peak_at,      r.overlap_seconds,
	                 r.busy_seconds, r.group_overlap_seconds,
	                 options.from,   options.horizon_seconds};
}

/*
 * The simulation for stagger_simulate and its totals: configured offsets
 * (staggering as job_stagger.enabled says) or, when proposed, the
 * optimiser's (staggering on). `seconds` may be nullptr.
 */
void
RunSimulation(const OptRows &in, const js::pg::OverrideList &overrides, bool proposed, SecondRow *seconds,
              Totals *totals)
{
	int64 from = HorizonStart();
	bool enabled = proposed || js::pg::guc_enabled;
	OptOut *out = static_cast<OptOut *>(palloc0(sizeof(OptOut) * (in.count + 1)));
	js::pg::CallCore([&](const js::core::Interrupt &interrupt) {
		SimInput sim = BuildSimInput(in, overrides, out);
		js::core::SimOptions options = MakeOptions(from, enabled);
		js::core::OptimizeResult optimized;
		if (proposed) {
			if (!OptimizeInto(sim, options, interrupt, out, &optimized))
				return false;
			for (std::size_t k = 0; k < sim.jobs.size(); k++)
				sim.jobs[k].offset = out[sim.row_of[k]].proposed;
		}
		js::core::Cancellable<js::core::SimResult> r = js::core::Simulate(sim.jobs, options, interrupt);
		if (r.cancelled)
			return false;
		FillTotals(r.value, options, static_cast<int>(sim.jobs.size()), totals);
		if (seconds != nullptr) {
			for (int sec = 0; sec < 60; sec++)
				seconds[sec] = SecondRow{r.value.peak_by_second[sec], r.value.mean_by_second[sec], 0, nullptr, 0};
			FillStarting(sim, options, seconds);
		}
		return true;
	});
}

/* The predicted figures, plain (an OptimizeResult owns a vector: it must not live across SPI or ereport). */
struct Prediction {
	int peak_before;
	int peak_after;
	int64 overlap_before;
	int64 overlap_after;
	int64 group_before;
	int64 group_after;
};

/* The optimiser's proposal for every row (staggering on, from the next full minute). */
Prediction
RunOptimizer(const OptRows &in, const js::pg::OverrideList &overrides, OptOut *out)
{
	int64 from = HorizonStart();
	Prediction p = {};
	js::pg::CallCore([&](const js::core::Interrupt &interrupt) {
		SimInput sim = BuildSimInput(in, overrides, out);
		js::core::OptimizeResult r;
		if (!OptimizeInto(sim, MakeOptions(from, true), interrupt, out, &r))
			return false;
		p = Prediction{r.peak_before,   r.peak_after,           r.overlap_before,
		               r.overlap_after, r.group_overlap_before, r.group_overlap_after};
		return true;
	});
	return p;
}

ArrayType *
Int8Array(const int64 *values, int n)
{
	Datum *elems = static_cast<Datum *>(palloc(sizeof(Datum) * (n + 1)));
	for (int i = 0; i < n; i++)
		elems[i] = Int64GetDatum(values[i]);
	return construct_array(elems, n, INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
}

ArrayType *
Int4Array(const int *values, int n)
{
	Datum *elems = static_cast<Datum *>(palloc(sizeof(Datum) * (n + 1)));
	for (int i = 0; i < n; i++)
		elems[i] = Int32GetDatum(values[i]);
	return construct_array(elems, n, INT4OID, sizeof(int32), true, TYPALIGN_INT);
}

/* The planned moves: jobs that may move and whose proposal differs (plain arrays). */
struct Moves {
	int64 *ids;
	int *olds;
	int *news;
	int count;
};

Moves
CollectMoves(const OptRows &in, const OptOut *out)
{
	Moves m = {static_cast<int64 *>(palloc(sizeof(int64) * (in.count + 1))),
	           static_cast<int *>(palloc(sizeof(int) * (in.count + 1))),
	           static_cast<int *>(palloc(sizeof(int) * (in.count + 1))), 0};
	for (int i = 0; i < in.count; i++)
		if (out[i].movable && out[i].proposed != out[i].current) {
			m.ids[m.count] = in.rows[i].jobid;
			m.olds[m.count] = out[i].current;
			m.news[m.count++] = out[i].proposed;
		}
	return m;
}

/*
 * One statement: the UPDATE of the moved jobs and their offset_changes rows.
 * Only rows still as read move (active, unpinned, same offset): a concurrent
 * change wins. With skip_locked (the launcher) rows someone holds a lock on
 * are left alone: a user can lock their own job row indefinitely.
 */
const char *
ApplySql(bool skip_locked)
{
	return psprintf(
	    "WITH c AS (SELECT * FROM ROWS FROM (pg_catalog.unnest($1::pg_catalog.int8[]),"
	    " pg_catalog.unnest($2::pg_catalog.int4[]), pg_catalog.unnest($3::pg_catalog.int4[]))"
	    " AS c(jobid, old_offset, new_offset)),"
	    " moved AS (UPDATE job_stagger.jobs j SET offset_seconds = c.new_offset, offset_pinned = false FROM c"
	    " WHERE j.jobid OPERATOR(pg_catalog.=) c.jobid AND j.offset_seconds OPERATOR(pg_catalog.=) c.old_offset"
	    " AND j.active AND NOT j.offset_pinned%s"
	    " RETURNING j.jobid, j.job_name, j.username, j.roleid, c.old_offset, c.new_offset)"
	    " INSERT INTO job_stagger.offset_changes (jobid, job_name, username, roleid, old_offset, new_offset,"
	    " changed_by, changed_by_role, peak_before, peak_after, overlap_before, overlap_after)"
	    " SELECT m.jobid, m.job_name, m.username, m.roleid, m.old_offset, m.new_offset, $4, CURRENT_USER,"
	    " $5, $6, $7, $8 FROM moved m ORDER BY m.jobid RETURNING job_name, username, old_offset, new_offset",
	    skip_locked ? " AND j.jobid OPERATOR(pg_catalog.=) ANY (SELECT l.jobid FROM job_stagger.jobs l"
	                  " WHERE l.jobid OPERATOR(pg_catalog.=) ANY ($1::pg_catalog.int8[]) FOR UPDATE SKIP LOCKED)"
	                : "");
}

/* A LOG line per move the statement returned (SPI still connected). */
void
LogMoves()
{
	for (uint64 i = 0; i < SPI_processed; i++) {
		HeapTuple t = SPI_tuptable->vals[i];
		TupleDesc d = SPI_tuptable->tupdesc;
		ereport(LOG,
		        (errmsg("job_stagger: auto_optimize moved job \"%s\" of role \"%s\" from offset %s to %s",
		                SPI_getvalue(t, d, 1), SPI_getvalue(t, d, 2), SPI_getvalue(t, d, 3), SPI_getvalue(t, d, 4))));
	}
}

/*
 * Moves the jobs whose proposal differs and records each move in
 * job_stagger.offset_changes (see ApplySql). Returns the number of jobs
 * moved; with `log` (the launcher), a LOG line each.
 */
int
ApplyMoves(const OptRows &in, const OptOut *out, const Prediction &p, const char *changed_by, bool skip_locked,
           bool log)
{
	Moves m = CollectMoves(in, out);
	if (m.count == 0)
		return 0;
	Oid types[8] = {INT8ARRAYOID, INT4ARRAYOID, INT4ARRAYOID, TEXTOID, INT4OID, INT4OID, INT8OID, INT8OID};
	Datum values[8] = {PointerGetDatum(Int8Array(m.ids, m.count)),
	                   PointerGetDatum(Int4Array(m.olds, m.count)),
	                   PointerGetDatum(Int4Array(m.news, m.count)),
	                   CStringGetTextDatum(changed_by),
	                   Int32GetDatum(p.peak_before),
	                   Int32GetDatum(p.peak_after),
	                   Int64GetDatum(p.overlap_before),
	                   Int64GetDatum(p.overlap_after)};
	const char *sql = ApplySql(skip_locked);
	SPI_connect();
	int rc = 0;
	optimizer_writing = true;
	PG_TRY();
	{
		rc = SPI_execute_with_args(sql, 8, types, values, nullptr, false, 0);
	}
	PG_FINALLY();
	{
		optimizer_writing = false;
	}
	PG_END_TRY();
	if (rc != SPI_OK_INSERT_RETURNING)
		elog(ERROR, "job_stagger: could not apply the optimised offsets (SPI result %d)", rc);
	int moved = static_cast<int>(SPI_processed);
	if (log)
		LogMoves();
	SPI_finish();
	if (moved < m.count)
		ereport(log ? LOG : NOTICE,
		        (errmsg("job_stagger: %d of %d proposed offset changes were not applied", m.count - moved, m.count),
		         errdetail("Those jobs were changed, pinned, deactivated or locked by another transaction "
		                   "since they were read.")));
	return moved;
}

js::pg::OverrideList
ReadOverrides(bool warn)
{
	return warn ? js::pg::ReadSessionOverrides() : js::pg::ParseOverrides(js::pg::guc_offsets);
}

/* auto_optimize's hysteresis (core/apply_rule.hpp): is the proposal clearly better? */
bool
WorthApplying(const Prediction &p)
{
	return js::core::ClearlyBetter(js::core::PredictedChange{p.group_before, p.group_after, p.peak_before, p.peak_after,
	                                                         p.overlap_before, p.overlap_after});
}

/* One tuple per row of stagger_simulate. */
void
PutSecondRows(FunctionCallInfo fcinfo, const SecondRow *rows)
{
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	ReturnSetInfo *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
	for (int sec = 0; sec < 60; sec++) {
		const SecondRow &r = rows[sec];
		int n = r.nnames + (r.more > 0 ? 1 : 0);
		Datum *names = static_cast<Datum *>(palloc(sizeof(Datum) * (n + 1)));
		for (int k = 0; k < r.nnames; k++)
			names[k] = CStringGetTextDatum(r.names[k]);
		if (r.more > 0)
			names[r.nnames] = CStringGetTextDatum(psprintf("… %d more", r.more));
		Datum mean = DirectFunctionCall3(numeric_in, CStringGetDatum(psprintf("%.3f", r.mean)),
		                                 ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
		Datum values[4] = {Int32GetDatum(sec), Int32GetDatum(r.peak), mean,
		                   PointerGetDatum(construct_array(names, n, TEXTOID, -1, false, TYPALIGN_INT))};
		bool nulls[4] = {false, false, false, false};
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

} // namespace

namespace js::pg {

bool
OptimizerInstalled()
{
	Oid nsp = get_namespace_oid("job_stagger", true);
	return OidIsValid(nsp) && OidIsValid(get_relname_relid("offset_changes", nsp));
}

int
AutoOptimize()
{
	OptRows in = ReadOptRows();
	if (in.count == 0)
		return 0;
	OverrideList overrides = ReadOverrides(false); /* the launcher warns about bad entries when it reloads */
	OptOut *out = static_cast<OptOut *>(palloc0(sizeof(OptOut) * (in.count + 1)));
	Prediction p = RunOptimizer(in, overrides, out);
	if (!WorthApplying(p))
		return 0;
	int moved = ApplyMoves(in, out, p, "auto_optimize", true, true);
	if (moved > 0)
		ereport(
		    LOG,
		    (errmsg("job_stagger: auto_optimize moved %d jobs: predicted peak %d -> %d, overlap seconds " INT64_FORMAT
		            " -> " INT64_FORMAT ", exclusive-group overlap seconds " INT64_FORMAT " -> " INT64_FORMAT,
		            moved, p.peak_before, p.peak_after, p.overlap_before, p.overlap_after, p.group_before,
		            p.group_after)));
	return moved;
}

} // namespace js::pg

extern "C" {

PG_FUNCTION_INFO_V1(job_stagger_simulate);
PG_FUNCTION_INFO_V1(job_stagger_simulate_totals);
PG_FUNCTION_INFO_V1(job_stagger_optimize);
PG_FUNCTION_INFO_V1(job_stagger_jobs_offset_pinned);

/* job_stagger.simulate(proposed boolean) RETURNS TABLE(second, peak_running, mean_running, starting) */
Datum
job_stagger_simulate(PG_FUNCTION_ARGS)
{
	bool proposed = PG_GETARG_BOOL(0);
	OptRows in = ReadOptRows();
	js::pg::OverrideList overrides = ReadOverrides(true);
	SecondRow *seconds = static_cast<SecondRow *>(palloc0(sizeof(SecondRow) * 60));
	Totals totals = {};
	RunSimulation(in, overrides, proposed, seconds, &totals);
	PutSecondRows(fcinfo, seconds);
	return (Datum)0;
}

/* job_stagger.simulate_totals(proposed boolean) RETURNS record */
Datum
job_stagger_simulate_totals(PG_FUNCTION_ARGS)
{
	bool proposed = PG_GETARG_BOOL(0);
	OptRows in = ReadOptRows();
	js::pg::OverrideList overrides = ReadOverrides(true);
	Totals t = {};
	RunSimulation(in, overrides, proposed, nullptr, &t);
	TupleDesc desc;
	if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "job_stagger: simulate_totals must return a record");
	desc = BlessTupleDesc(desc);
	Datum values[8] = {Int32GetDatum(t.jobs),
	                   Int32GetDatum(t.peak),
	                   TimestampTzGetDatum(js::pg::InstantToTimestamp(t.peak_at)),
	                   Int64GetDatum(t.overlap),
	                   Int64GetDatum(t.busy),
	                   Int64GetDatum(t.group_overlap),
	                   TimestampTzGetDatum(js::pg::InstantToTimestamp(t.from)),
	                   TimestampTzGetDatum(js::pg::InstantToTimestamp(t.from + t.horizon))};
	bool nulls[8] = {false, t.peak == 0, false, false, false, false, false, false};
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}

/*
 * job_stagger.optimize(apply boolean) RETURNS TABLE(job_name, username,
 *   current_offset, proposed_offset, pinned, movable, peak_before, peak_after,
 *   overlap_before, overlap_after)
 */
Datum
job_stagger_optimize(PG_FUNCTION_ARGS)
{
	bool apply = PG_GETARG_BOOL(0);
	OptRows in = ReadOptRows();
	js::pg::OverrideList overrides = ReadOverrides(true);
	OptOut *out = static_cast<OptOut *>(palloc0(sizeof(OptOut) * (in.count + 1)));
	Prediction p = {};
	if (in.count > 0)
		p = RunOptimizer(in, overrides, out);
	if (apply)
		(void)ApplyMoves(in, out, p, "stagger_optimize", false, false);

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	ReturnSetInfo *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
	for (int i = 0; i < in.count; i++) {
		CHECK_FOR_INTERRUPTS();
		const OptRow &r = in.rows[i];
		const OptOut &o = out[i];
		Datum values[10] = {CStringGetTextDatum(r.name),     CStringGetTextDatum(r.username),
		                    Int32GetDatum(o.current),        Int32GetDatum(o.proposed),
		                    BoolGetDatum(o.pinned),          BoolGetDatum(o.movable),
		                    Int32GetDatum(p.peak_before),    Int32GetDatum(p.peak_after),
		                    Int64GetDatum(p.overlap_before), Int64GetDatum(p.overlap_after)};
		bool nulls[10] = {false, false, false, false, false, false, false, false, false, false};
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum)0;
}

/*
 * BEFORE INSERT OR UPDATE row trigger on job_stagger.jobs (fires before
 * jobs_validate, which places a NULL offset): sets offset_pinned. INSERT:
 * pinned when an offset is given, except in a restored row (kept as written). UPDATE: an offset set to NULL unpins; a
 * changed offset pins, except in the optimiser's own statement; otherwise
 * offset_pinned stays as written.
 */
Datum
job_stagger_jobs_offset_pinned(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
		                errmsg("job_stagger.jobs_offset_pinned() must be called as a trigger")));
	TriggerData *td = reinterpret_cast<TriggerData *>(fcinfo->context);
	if (!TRIGGER_FIRED_BEFORE(td->tg_event) || !TRIGGER_FIRED_FOR_ROW(td->tg_event) ||
	    !(TRIGGER_FIRED_BY_INSERT(td->tg_event) || TRIGGER_FIRED_BY_UPDATE(td->tg_event)))
		ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
		                errmsg("job_stagger.jobs_offset_pinned() must fire BEFORE INSERT OR UPDATE FOR EACH ROW")));
	TupleDesc desc = td->tg_relation->rd_att;
	int offset_att = SPI_fnumber(desc, "offset_seconds");
	int pinned_att = SPI_fnumber(desc, "offset_pinned");
	if (offset_att <= 0 || pinned_att <= 0)
		ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
		                errmsg("job_stagger.jobs_offset_pinned() fired on a table without offset_pinned")));
	bool inserting = TRIGGER_FIRED_BY_INSERT(td->tg_event);
	HeapTuple tuple = inserting ? td->tg_trigtuple : td->tg_newtuple;
	bool offset_null = false;
	bool pinned_null = false;
	Datum offset = heap_getattr(tuple, offset_att, desc, &offset_null);
	bool pinned = DatumGetBool(heap_getattr(tuple, pinned_att, desc, &pinned_null)) && !pinned_null;
	if (inserting) {
		/* a restored row (created before this transaction, see jobs_validate) keeps its offset_pinned */
		int created_att = SPI_fnumber(desc, "created_at");
		bool created_null = true;
		Datum created = created_att > 0 ? heap_getattr(tuple, created_att, desc, &created_null) : (Datum)0;
		bool restored = js::pg::RestoredJobRow(created_null, created);
		if (!restored || pinned_null)
			pinned = !offset_null;
	} else if (offset_null) {
		pinned = false;
	} else {
		bool old_null = false;
		Datum old = heap_getattr(td->tg_trigtuple, offset_att, desc, &old_null);
		if ((old_null || DatumGetInt32(old) != DatumGetInt32(offset)) && !optimizer_writing)
			pinned = true;
	}
	Datum value = BoolGetDatum(pinned);
	bool isnull = false;
	return PointerGetDatum(heap_modify_tuple_by_cols(tuple, desc, 1, &pinned_att, &value, &isnull));
}

} /* extern "C" */
