/*
 * SQL functions over the collision analysis: stagger_collisions(),
 * stagger_summary(), job_stagger.collision_report() (the NOTICE when a job is
 * written) and job_stagger.spread_offset() (the offset a new job gets).
 *
 * They read the active jobs the caller can see (row-level security applies),
 * with their configured offsets (job_stagger.offsets overrides first), and
 * judge them with the session's job_stagger.enabled and timezone.
 */
#include "core/collisions.hpp"
#include "core/report.hpp"
#include "pg/bridge.hpp"
#include "pg/guc.hpp"
#include "pg/overrides.hpp"

#include <map>
#include <string>

extern "C" {
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
}

#include "pg/pg_time.hpp"
#include "worker/shared.hpp"

namespace {

/* Above this many jobs in one statement, the NOTICE names collisions but computes no free offsets. */
constexpr int kMaxJobsWithFreeOffset = 50;
/* The summary is for reading: with staggering off, n jobs at :00 make n(n-1)/2 pairs. */
constexpr std::size_t kSummaryMaxCollisionLines = 20;

/* Active jobs as plain data (palloc'd in the caller's context). */
struct JobRows {
	int count;
	int64 *jobids;
	char **names;
	char **schedules;
	int *offsets;
	int64 *last_nominals; /* Unix seconds; with has_last_nominal */
	bool *has_last_nominal;
};

/*
 * Reads the active jobs visible to the caller; offsets are overrides first,
 * then table values. With `last_nominal`, also the nominal instant of each
 * job's latest run (what the summary's next fire comes after).
 */
JobRows
LoadActiveJobs(bool last_nominal = false)
{
	js::pg::OverrideList overrides = js::pg::ParseOverrides(js::pg::guc_offsets);
	js::pg::WarnOverrideErrors(overrides);
	MemoryContext caller = CurrentMemoryContext;
	JobRows rows = {};

	SPI_connect();
	const char *sql = last_nominal ? "SELECT j.jobid, j.job_name, j.schedule, j.offset_seconds,"
	                                 " (SELECT r.nominal_at FROM job_stagger.job_run_details r WHERE r.jobid = j.jobid"
	                                 "   ORDER BY r.scheduled_at DESC LIMIT 1)"
	                                 " FROM job_stagger.jobs j WHERE j.active ORDER BY j.jobid"
	                               : "SELECT jobid, job_name, schedule, offset_seconds, NULL::timestamptz"
	                                 " FROM job_stagger.jobs WHERE active ORDER BY jobid";
	if (SPI_execute(sql, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "job_stagger: could not read job_stagger.jobs");
	MemoryContext old = MemoryContextSwitchTo(caller);
	int n = static_cast<int>(SPI_processed);
	rows.jobids = static_cast<int64 *>(palloc0(sizeof(int64) * (n + 1)));
	rows.names = static_cast<char **>(palloc0(sizeof(char *) * (n + 1)));
	rows.schedules = static_cast<char **>(palloc0(sizeof(char *) * (n + 1)));
	rows.offsets = static_cast<int *>(palloc0(sizeof(int) * (n + 1)));
	rows.last_nominals = static_cast<int64 *>(palloc0(sizeof(int64) * (n + 1)));
	rows.has_last_nominal = static_cast<bool *>(palloc0(sizeof(bool) * (n + 1)));
	for (int i = 0; i < n; i++) {
		HeapTuple t = SPI_tuptable->vals[i];
		TupleDesc d = SPI_tuptable->tupdesc;
		bool isnull = false;
		rows.jobids[i] = DatumGetInt64(SPI_getbinval(t, d, 1, &isnull));
		rows.names[i] = pstrdup(SPI_getvalue(t, d, 2));
		rows.schedules[i] = pstrdup(SPI_getvalue(t, d, 3));
		rows.offsets[i] = DatumGetInt32(SPI_getbinval(t, d, 4, &isnull));
		Datum last = SPI_getbinval(t, d, 5, &isnull);
		rows.has_last_nominal[i] = !isnull;
		if (!isnull)
			rows.last_nominals[i] = js::pg::TimestampToInstant(DatumGetTimestampTz(last));
		for (int k = 0; k < overrides.count; k++)
			if (strcmp(overrides.names[k], rows.names[i]) == 0)
				rows.offsets[i] = overrides.offsets[k];
	}
	rows.count = n;
	MemoryContextSwitchTo(old);
	SPI_finish();
	return rows;
}

/* The rows as core input (C++: call inside CallCpp). */
std::vector<js::core::StaggerJobInput>
ToInputs(const JobRows &rows)
{
	std::vector<js::core::StaggerJobInput> inputs;
	inputs.reserve(rows.count);
	for (int i = 0; i < rows.count; i++) {
		js::core::StaggerJobInput in{rows.jobids[i], rows.names[i], rows.schedules[i], rows.offsets[i], std::nullopt};
		if (rows.has_last_nominal[i])
			in.last_nominal = rows.last_nominals[i];
		inputs.push_back(std::move(in));
	}
	return inputs;
}

int64
NowInstant()
{
	return js::pg::TimestampToInstant(GetCurrentTimestamp());
}

/* One colliding pair, flattened. */
struct PairRow {
	char *job_a;
	char *job_b;
	int second;
	int64 first;
	int64 per_day;
};

/* What collision_report() says about one job. */
struct JobReport {
	int64 jobid;
	char *name;
	int offset;
	int ncolliding;
	char **colliding;
	bool has_free;
	int free_offset;
	int least_offset;
	int least_count;
};

/* Free and least-colliding offsets of one job against the others (C++). */
void
FillFreeOffset(const std::vector<js::core::CollisionJob> &others, const js::core::CollisionJob &job,
               const js::core::TimeZone &tz, int64 now, JobReport &out)
{
	js::core::FreeOffset free = js::core::NearestFreeOffset(others, job.schedule, job.offset, tz, now);
	out.has_free = free.free_offset.has_value();
	out.free_offset = free.free_offset.value_or(0);
	out.least_offset = free.least_colliding_offset;
	out.least_count = free.least_colliding_count;
}

/* Copies names into a JobReport (C++). */
void
SetColliding(const std::vector<std::string> &names, JobReport &out)
{
	out.ncolliding = static_cast<int>(names.size());
	out.colliding = static_cast<char **>(js::pg::PallocOrThrow(sizeof(char *) * (names.size() + 1)));
	for (std::size_t k = 0; k < names.size(); k++)
		out.colliding[k] = js::pg::PallocCopy(names[k]);
}

/* Names of the jobs each job collides with: one pass over all pairs (for many jobs at once). */
std::map<int64, std::vector<std::string>>
CollidingByJob(const js::core::StaggerReport &report, const js::core::TimeZone &tz, int64 now)
{
	std::map<int64, std::vector<std::string>> out;
	for (const js::core::CollisionPair &p : js::core::FindCollisions(report.jobs, true, tz, now)) {
		out[report.jobs[p.index_a].jobid].push_back(report.jobs[p.index_b].name);
		out[report.jobs[p.index_b].jobid].push_back(report.jobs[p.index_a].name);
	}
	return out;
}

/*
 * For each requested job: the jobs it collides with, judged with staggering
 * enabled (offsets are being configured), and for up to
 * kMaxJobsWithFreeOffset jobs the nearest free offset. A few jobs are
 * checked one by one against the others; many at once in one pass.
 */
JobReport *
BuildJobReports(const JobRows &rows, const int64 *ids, int nids, int *count)
{
	JobReport *reports = nullptr;
	int64 now = NowInstant();
	js::pg::CallCpp([&] {
		js::core::TimeZone tz = js::pg::CurrentTimeZone();
		js::core::StaggerReport report = js::core::ParseStaggerJobs(ToInputs(rows));
		const bool one_by_one = nids <= kMaxJobsWithFreeOffset;
		std::map<int64, std::vector<std::string>> bulk;
		if (!one_by_one)
			bulk = CollidingByJob(report, tz, now);
		reports = static_cast<JobReport *>(js::pg::PallocOrThrow(sizeof(JobReport) * (nids + 1)));
		for (int r = 0; r < nids; r++) {
			std::size_t self = 0;
			while (self < report.jobs.size() && report.jobs[self].jobid != ids[r])
				self++;
			if (self == report.jobs.size())
				continue;
			const js::core::CollisionJob &job = report.jobs[self];
			JobReport &out = reports[(*count)++];
			out.jobid = job.jobid;
			out.name = js::pg::PallocCopy(job.name);
			out.offset = job.offset;
			if (!one_by_one) {
				SetColliding(bulk[job.jobid], out);
				continue;
			}
			std::vector<js::core::CollisionJob> others = report.jobs;
			others.erase(others.begin() + static_cast<std::ptrdiff_t>(self));
			std::vector<std::string> names;
			for (std::size_t k : js::core::CollidingJobs(others, job.schedule, job.offset, true, tz, now))
				names.push_back(others[k].name);
			SetColliding(names, out);
			if (!names.empty())
				FillFreeOffset(others, job, tz, now, out);
		}
	});
	return reports;
}

ArrayType *
TextArray(char **items, int n)
{
	Datum *elems = static_cast<Datum *>(palloc(sizeof(Datum) * (n + 1)));
	for (int i = 0; i < n; i++)
		elems[i] = CStringGetTextDatum(items[i]);
	return construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT);
}

/* "staggering was turned off automatically at ...: <reason>" if the scheduler rolled back, else NULL. */
char *
AutoRollbackNote()
{
	js::worker::SharedState *sh = js::worker::Shared();
	char *note = nullptr;
	if (sh == nullptr)
		return nullptr;
	LWLockAcquire(sh->lock, LW_SHARED);
	if (sh->auto_rollback_at != 0)
		note = psprintf("staggering was turned off automatically at %s (job_stagger.auto_rollback): %s",
		                timestamptz_to_str(sh->auto_rollback_at), sh->auto_rollback_reason);
	LWLockRelease(sh->lock);
	return note;
}

} // namespace

extern "C" {

PG_FUNCTION_INFO_V1(job_stagger_collisions);
PG_FUNCTION_INFO_V1(job_stagger_summary);
PG_FUNCTION_INFO_V1(job_stagger_collision_report);
PG_FUNCTION_INFO_V1(job_stagger_spread_offset);

/*
 * stagger_collisions() RETURNS TABLE(job_a text, job_b text, second integer,
 *   first_collision timestamptz, collisions_per_day bigint)
 */
Datum
job_stagger_collisions(PG_FUNCTION_ARGS)
{
	JobRows rows = LoadActiveJobs();
	bool enabled = js::pg::guc_enabled;
	int64 now = NowInstant();
	PairRow *pairs = nullptr;
	int npairs = 0;

	js::pg::CallCpp([&] {
		js::core::StaggerReport report =
		    js::core::AnalyzeStagger(ToInputs(rows), enabled, js::pg::CurrentTimeZone(), now);
		pairs = static_cast<PairRow *>(js::pg::PallocOrThrow(sizeof(PairRow) * (report.pairs.size() + 1)));
		for (const js::core::CollisionPair &p : report.pairs)
			pairs[npairs++] = PairRow{js::pg::PallocCopy(report.jobs[p.index_a].name),
			                          js::pg::PallocCopy(report.jobs[p.index_b].name), p.second, p.first_collision,
			                          p.collisions_per_day};
	});
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	ReturnSetInfo *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
	for (int i = 0; i < npairs; i++) {
		Datum values[5] = {
		    CStringGetTextDatum(pairs[i].job_a), CStringGetTextDatum(pairs[i].job_b), Int32GetDatum(pairs[i].second),
		    TimestampTzGetDatum(js::pg::InstantToTimestamp(pairs[i].first)), Int64GetDatum(pairs[i].per_day)};
		bool nulls[5] = {false, false, false, false, false};
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum)0;
}

/* stagger_summary() RETURNS text */
Datum
job_stagger_summary(PG_FUNCTION_ARGS)
{
	JobRows rows = LoadActiveJobs(true);
	bool enabled = js::pg::guc_enabled;
	int64 now = NowInstant();
	char *summary = nullptr;
	char *note = AutoRollbackNote();

	js::pg::CallCpp([&] {
		js::core::TimeZone tz = js::pg::CurrentTimeZone();
		js::core::StaggerReport report = js::core::AnalyzeStagger(ToInputs(rows), enabled, tz, now);
		js::core::SummaryInput input = js::core::SummarizeStagger(report, enabled, tz, now);
		input.max_collision_lines = kSummaryMaxCollisionLines;
		if (note != nullptr)
			input.auto_rollback_note = note;
		summary = js::pg::PallocCopy(js::core::FormatSummary(input));
	});
	PG_RETURN_TEXT_P(cstring_to_text(summary));
}

/*
 * job_stagger.collision_report(jobids bigint[]) RETURNS TABLE(jobid bigint,
 *   job_name text, offset_seconds integer, colliding text[], free_offset integer,
 *   least_colliding_offset integer, least_colliding_count integer)
 * Judged with staggering enabled; free offsets only for up to 50 jobs.
 */
Datum
job_stagger_collision_report(PG_FUNCTION_ARGS)
{
	ArrayType *arr = PG_GETARG_ARRAYTYPE_P(0);
	Datum *elems = nullptr;
	bool *elem_nulls = nullptr;
	int nids = 0;
	deconstruct_array(arr, INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &elems, &elem_nulls, &nids);
	int64 *ids = static_cast<int64 *>(palloc(sizeof(int64) * (nids + 1)));
	for (int i = 0; i < nids; i++)
		ids[i] = elem_nulls[i] ? -1 : DatumGetInt64(elems[i]);

	JobRows rows = LoadActiveJobs();
	int count = 0;
	JobReport *reports = BuildJobReports(rows, ids, nids, &count);

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	ReturnSetInfo *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
	for (int i = 0; i < count; i++) {
		const JobReport &r = reports[i];
		bool with_free = r.ncolliding > 0 && nids <= kMaxJobsWithFreeOffset;
		Datum values[7] = {Int64GetDatum(r.jobid),       CStringGetTextDatum(r.name),
		                   Int32GetDatum(r.offset),      PointerGetDatum(TextArray(r.colliding, r.ncolliding)),
		                   Int32GetDatum(r.free_offset), Int32GetDatum(r.least_offset),
		                   Int32GetDatum(r.least_count)};
		bool nulls[7] = {false, false, false, false, !(with_free && r.has_free), !with_free, !with_free};
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum)0;
}

/*
 * job_stagger.spread_offset(schedule text, exclude_jobid bigint) RETURNS integer
 * The offset a new job with this schedule gets: collision-free and spread
 * over the minute (0 for schedules offsets do not move, or invalid ones).
 */
Datum
job_stagger_spread_offset(PG_FUNCTION_ARGS)
{
	char *schedule = text_to_cstring(PG_GETARG_TEXT_PP(0));
	int64 exclude = PG_ARGISNULL(1) ? -1 : PG_GETARG_INT64(1);
	JobRows rows = LoadActiveJobs();
	int64 now = NowInstant();
	int offset = 0;

	js::pg::CallCpp([&] {
		js::core::ParseResult parsed = js::core::ParseSchedule(schedule);
		if (!parsed.ok)
			return;
		std::vector<js::core::StaggerJobInput> inputs = ToInputs(rows);
		std::vector<js::core::StaggerJobInput> others;
		for (const js::core::StaggerJobInput &in : inputs)
			if (in.jobid != exclude)
				others.push_back(in);
		offset = js::core::SpreadOffset(js::core::ParseStaggerJobs(others).jobs, parsed.schedule,
		                                js::pg::CurrentTimeZone(), now);
	});
	PG_RETURN_INT32(offset);
}

} /* extern "C" */
