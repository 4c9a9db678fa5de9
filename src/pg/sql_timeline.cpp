/*
 * The C side of stagger_timeline() (issue 12): the SQL function checks its
 * arguments, reads the runs (history) or the job durations (simulation), and
 * hands them here as arrays; these functions draw the picture with
 * js::core::RenderTimeline and return its rows.
 *
 *   job_stagger.timeline_picture(first_minute, minutes, jobids, names,
 *       starts, ends, statuses): runs given in seconds relative to
 *       first_minute, in any order; one row per jobid, named after its run
 *       with the greatest start, by name (bytewise) then jobid.
 *
 *   job_stagger.timeline_simulation(first_minute, minutes, jobids, seconds):
 *       the runs the simulator predicts for the active jobs the caller can
 *       see (offsets from job_stagger.offsets first, job_stagger.enabled and
 *       timezone of the session), each lasting its given whole seconds (1 if
 *       not given), by name.
 *
 * Minute labels are HH:MM of each minute in the session's TimeZone.
 */
#include "core/simulate.hpp"
#include "core/timeline.hpp"
#include "pg/bridge.hpp"
#include "pg/guc.hpp"
#include "pg/job_cache.hpp"
#include "pg/overrides.hpp"

#include <algorithm>
#include <cstring>
#include <map>
#include <string>
#include <tuple>
#include <vector>

extern "C" {
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
}

#include "pg/pg_time.hpp"

namespace {

/* One recorded run or skipped slot, as plain data. */
struct RunRow {
	int64 jobid;
	char *name;
	int32 start;
	int32 end;
	bool failed;
	bool skipped;
};

/* The picture's rows, palloc'd. */
struct Lines {
	char **lines;
	int count;
};

void
CheckMinutes(int32 minutes)
{
	if (minutes < 1 || minutes > js::core::kTimelineMaxMinutes)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("invalid minutes: %d", minutes),
		                errdetail("A timeline shows 1 to %d minutes: each minute takes 61 columns of every row.",
		                          js::core::kTimelineMaxMinutes)));
}

/* HH:MM of each minute from `first` on, in the session's time zone. */
char **
MinuteLabels(TimestampTz first, int minutes)
{
	if (TIMESTAMP_NOT_FINITE(first))
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("first_minute must be finite")));
	char **labels = static_cast<char **>(palloc(sizeof(char *) * minutes));
	for (int m = 0; m < minutes; m++) {
		struct pg_tm tm;
		fsec_t fsec;
		int tz;
		TimestampTz at = first + static_cast<TimestampTz>(m) * SECS_PER_MINUTE * USECS_PER_SEC;
		if (!IS_VALID_TIMESTAMP(at) || timestamp2tm(at, &tz, &tm, &fsec, NULL, NULL) != 0)
			ereport(ERROR, (errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE), errmsg("timestamp out of range")));
		labels[m] = psprintf("%02d:%02d", tm.tm_hour, tm.tm_min);
	}
	return labels;
}

/* The elements of a one-dimensional array argument (NULL elements flagged). */
int
Elements(ArrayType *arr, Oid type, Datum **elems, bool **nulls)
{
	int16 len;
	bool byval;
	char align;
	int n = 0;
	get_typlenbyvalalign(type, &len, &byval, &align);
	deconstruct_array(arr, type, len, byval, align, elems, nulls, &n);
	return n;
}

/* The runs from the array arguments 2-6; elements with a NULL are left out. */
RunRow *
ReadRunArrays(FunctionCallInfo fcinfo, int *count)
{
	Datum *ids, *names, *starts, *ends, *statuses;
	bool *ids_null, *names_null, *starts_null, *ends_null, *statuses_null;
	int n = Elements(PG_GETARG_ARRAYTYPE_P(2), INT8OID, &ids, &ids_null);
	if (Elements(PG_GETARG_ARRAYTYPE_P(3), TEXTOID, &names, &names_null) != n ||
	    Elements(PG_GETARG_ARRAYTYPE_P(4), INT4OID, &starts, &starts_null) != n ||
	    Elements(PG_GETARG_ARRAYTYPE_P(5), INT4OID, &ends, &ends_null) != n ||
	    Elements(PG_GETARG_ARRAYTYPE_P(6), TEXTOID, &statuses, &statuses_null) != n)
		ereport(ERROR, (errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR), errmsg("the run arrays differ in length")));
	RunRow *rows = static_cast<RunRow *>(palloc(sizeof(RunRow) * (n + 1)));
	*count = 0;
	for (int i = 0; i < n; i++) {
		CHECK_FOR_INTERRUPTS();
		if (ids_null[i] || names_null[i] || starts_null[i] || ends_null[i] || statuses_null[i])
			continue;
		char *status = TextDatumGetCString(statuses[i]);
		rows[(*count)++] =
		    RunRow{DatumGetInt64(ids[i]),
		           TextDatumGetCString(names[i]),
		           DatumGetInt32(starts[i]),
		           DatumGetInt32(ends[i]),
		           strcmp(status, "failed") == 0 || strcmp(status, "timed_out") == 0 || strcmp(status, "crashed") == 0,
		           strcmp(status, "skipped") == 0};
	}
	return rows;
}

/* One job's row while the runs are grouped. */
struct JobRows {
	int64 jobid;
	const RunRow *latest; /* names the row */
	std::vector<js::core::TimelineRun> runs;
};

/* The runs as one TimelineJob per jobid, by name then jobid (C++; false if cancelled). */
bool
GroupRuns(const RunRow *runs, int nruns, js::core::InterruptCheck &check, js::core::TimelineInput &input)
{
	std::map<int64, JobRows> jobs;
	for (int i = 0; i < nruns; i++) {
		if (check.Step())
			return false;
		const RunRow &r = runs[i];
		JobRows &job = jobs.try_emplace(r.jobid, JobRows{r.jobid, &r, {}}).first->second;
		if (r.start >= job.latest->start)
			job.latest = &r;
		job.runs.push_back(js::core::TimelineRun{r.start, r.end, r.failed, r.skipped});
	}
	std::vector<JobRows *> order;
	for (auto &entry : jobs)
		order.push_back(&entry.second);
	std::sort(order.begin(), order.end(), [](const JobRows *a, const JobRows *b) {
		int c = std::strcmp(a->latest->name, b->latest->name);
		return c != 0 ? c < 0 : a->jobid < b->jobid;
	});
	for (JobRows *job : order)
		input.jobs.push_back(js::core::TimelineJob{job->latest->name, std::move(job->runs)});
	return true;
}

/* The picture as palloc'd rows (C++; false if cancelled). */
bool
Render(js::core::TimelineInput &input, const js::core::Interrupt &interrupt, Lines *out)
{
	js::core::InterruptCheck check(interrupt);
	if (check.PollNow())
		return false;
	std::vector<std::string> lines = js::core::RenderTimeline(input);
	out->lines = static_cast<char **>(js::pg::PallocOrThrow(sizeof(char *) * lines.size()));
	for (const std::string &line : lines)
		out->lines[out->count++] = js::pg::PallocCopy(line);
	return true;
}

void
ReturnLines(FunctionCallInfo fcinfo, const Lines &lines)
{
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	ReturnSetInfo *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
	for (int i = 0; i < lines.count; i++) {
		Datum value = CStringGetTextDatum(lines.lines[i]);
		bool isnull = false;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &value, &isnull);
	}
}

/* Given durations by jobid: (jobid, seconds) pairs from the array arguments 2 and 3, sorted by jobid. */
int64 *
ReadDurations(FunctionCallInfo fcinfo, int *count)
{
	Datum *ids, *seconds;
	bool *ids_null, *seconds_null;
	int n = Elements(PG_GETARG_ARRAYTYPE_P(2), INT8OID, &ids, &ids_null);
	if (Elements(PG_GETARG_ARRAYTYPE_P(3), INT4OID, &seconds, &seconds_null) != n)
		ereport(ERROR, (errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR), errmsg("jobids and seconds differ in length")));
	int64 *pairs = static_cast<int64 *>(palloc(sizeof(int64) * 2 * (n + 1)));
	*count = 0;
	for (int i = 0; i < n; i++) {
		if (ids_null[i] || seconds_null[i])
			continue;
		pairs[2 * *count] = DatumGetInt64(ids[i]);
		pairs[2 * *count + 1] = DatumGetInt32(seconds[i]);
		(*count)++;
	}
	return pairs;
}

/* The jobs to simulate, by name then jobid, with offsets overridden and durations (C++). */
std::vector<js::core::SimJob>
SimJobs(const js::pg::JobMap &jobs, const js::pg::OverrideList &overrides, const int64 *durations, int ndurations,
        js::core::InterruptCheck &check)
{
	std::map<std::string, int> offsets;
	for (int i = 0; i < overrides.count; i++)
		offsets[overrides.names[i]] = overrides.offsets[i];
	std::map<int64, int64> seconds;
	for (int i = 0; i < ndurations; i++)
		seconds[durations[2 * i]] = durations[2 * i + 1];
	std::vector<js::core::SimJob> out;
	for (const auto &[jobid, job] : jobs) {
		if (check.Step())
			break;
		if (!job.schedule_ok)
			continue;
		js::core::SimJob sim;
		sim.jobid = jobid;
		sim.name = job.name;
		sim.schedule = job.schedule;
		sim.tz = job.tz;
		auto o = offsets.find(job.name);
		sim.offset = o != offsets.end() ? o->second : job.table_offset;
		auto d = seconds.find(jobid);
		sim.duration_seconds = static_cast<int>(
		    std::clamp<int64>(d != seconds.end() ? d->second : 1, 1, js::core::kMaxSimDurationSeconds));
		out.push_back(std::move(sim));
	}
	std::sort(out.begin(), out.end(), [](const js::core::SimJob &a, const js::core::SimJob &b) {
		return std::tie(a.name, a.jobid) < std::tie(b.name, b.jobid);
	});
	return out;
}

/* Each job's predicted run windows, in seconds relative to options.from (C++; false if cancelled). */
bool
SimulatedRows(const std::vector<js::core::SimJob> &jobs, const js::core::SimOptions &options,
              js::core::InterruptCheck &check, js::core::TimelineInput &input)
{
	for (const js::core::SimJob &job : jobs) {
		if (check.PollNow())
			return false;
		js::core::TimelineJob row{job.name, {}};
		for (const js::core::RunWindow &w : js::core::JobRuns(job, options))
			row.runs.push_back(js::core::TimelineRun{w.start - options.from, w.end - options.from, false, false});
		input.jobs.push_back(std::move(row));
	}
	return true;
}

} // namespace

extern "C" {

PG_FUNCTION_INFO_V1(job_stagger_timeline_picture);
PG_FUNCTION_INFO_V1(job_stagger_timeline_simulation);

/*
 * job_stagger.timeline_picture(first_minute timestamptz, minutes integer,
 *   jobids bigint[], names text[], starts integer[], ends integer[],
 *   statuses text[]) RETURNS SETOF text
 */
Datum
job_stagger_timeline_picture(PG_FUNCTION_ARGS)
{
	TimestampTz first = PG_GETARG_TIMESTAMPTZ(0);
	int32 minutes = PG_GETARG_INT32(1);
	CheckMinutes(minutes);
	char **labels = MinuteLabels(first, minutes);
	int nruns = 0;
	RunRow *runs = ReadRunArrays(fcinfo, &nruns);
	Lines lines = {nullptr, 0};

	js::pg::CallCore([&](const js::core::Interrupt &interrupt) {
		js::core::InterruptCheck check(interrupt);
		js::core::TimelineInput input;
		input.minutes = minutes;
		input.minute_labels.assign(labels, labels + minutes);
		if (!GroupRuns(runs, nruns, check, input))
			return false;
		return Render(input, interrupt, &lines);
	});
	ReturnLines(fcinfo, lines);
	return (Datum)0;
}

/*
 * job_stagger.timeline_simulation(first_minute timestamptz, minutes integer,
 *   jobids bigint[], seconds integer[]) RETURNS SETOF text
 */
Datum
job_stagger_timeline_simulation(PG_FUNCTION_ARGS)
{
	TimestampTz first = PG_GETARG_TIMESTAMPTZ(0);
	int32 minutes = PG_GETARG_INT32(1);
	CheckMinutes(minutes);
	char **labels = MinuteLabels(first, minutes);
	int ndurations = 0;
	int64 *durations = ReadDurations(fcinfo, &ndurations);
	js::pg::OverrideList overrides = js::pg::ReadSessionOverrides();
	const js::pg::JobMap &jobs = js::pg::ActiveJobs();
	const bool enabled = js::pg::guc_enabled;
	Lines lines = {nullptr, 0};

	js::pg::CallCore([&](const js::core::Interrupt &interrupt) {
		js::core::InterruptCheck check(interrupt);
		js::core::SimOptions options;
		options.tz = js::pg::CurrentTimeZone();
		options.from = js::pg::TimestampToInstant(first);
		options.horizon_seconds = static_cast<std::int64_t>(minutes) * js::core::kTimelineSecondsPerMinute;
		options.stagger_enabled = enabled;
		js::core::TimelineInput input;
		input.minutes = minutes;
		input.minute_labels.assign(labels, labels + minutes);
		std::vector<js::core::SimJob> sim = SimJobs(jobs, overrides, durations, ndurations, check);
		if (check.Stopped() || !SimulatedRows(sim, options, check, input))
			return false;
		return Render(input, interrupt, &lines);
	});
	ReturnLines(fcinfo, lines);
	return (Datum)0;
}

} /* extern "C" */
