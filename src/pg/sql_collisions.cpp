/*
 * SQL functions over the collision analysis: stagger_collisions(),
 * stagger_summary(), job_stagger.collision_report() (each job's colliding jobs
 * and free offset; the write-time NOTICE is sql_notice.cpp) and
 * job_stagger.spread_offset() (the offset a new job gets).
 *
 * They read the active jobs the caller can see (row-level security applies),
 * with their configured offsets (job_stagger.offsets overrides first), and
 * judge them with the session's job_stagger.enabled and timezone.
 */
#include "core/collisions.hpp"
#include "core/report.hpp"
#include "pg/bridge.hpp"
#include "pg/guc.hpp"
#include "pg/job_cache.hpp"
#include "pg/overrides.hpp"

#include <map>
#include <string>

extern "C" {
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
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

/* Offset overrides by job name (C++). */
std::map<std::string, int>
OverrideMap(const js::pg::OverrideList &list)
{
	std::map<std::string, int> map;
	for (int i = 0; i < list.count; i++)
		map[list.names[i]] = list.offsets[i];
	return map;
}

/* The jobs as core input for the report functions, offsets overridden (C++; stops early once `check` stopped). */
std::vector<js::core::StaggerJobInput>
ToInputs(const js::pg::JobMap &jobs, const js::pg::OverrideList &list, js::core::InterruptCheck &check)
{
	std::map<std::string, int> overrides = OverrideMap(list);
	std::vector<js::core::StaggerJobInput> inputs;
	inputs.reserve(jobs.size());
	for (const auto &[jobid, job] : jobs) {
		if (check.Step())
			break;
		auto o = overrides.find(job.name);
		inputs.push_back(js::core::StaggerJobInput{jobid, job.name, job.schedule_text,
		                                           o != overrides.end() ? o->second : job.table_offset,
		                                           job.last_nominal, job.timezone});
	}
	return inputs;
}

/* The jobs that belong to an exclusive group (C++). */
std::vector<js::core::GroupMembership>
GroupMemberships(const js::pg::JobMap &jobs)
{
	std::vector<js::core::GroupMembership> out;
	for (const auto &[jobid, job] : jobs)
		if (job.group)
			out.push_back(js::core::GroupMembership{jobid, job.group->roleid, job.group->username, job.group->name,
			                                        job.group->policy});
	return out;
}

/* The parsed jobs, offsets overridden, leaving out `exclude` and unparsable ones (C++; stops early as above). */
std::vector<js::core::CollisionJob>
ToCollisionJobs(const js::pg::JobMap &jobs, const js::pg::OverrideList &list, int64 exclude,
                js::core::InterruptCheck &check)
{
	std::map<std::string, int> overrides = OverrideMap(list);
	std::vector<js::core::CollisionJob> out;
	out.reserve(jobs.size());
	for (const auto &[jobid, job] : jobs) {
		if (check.Step())
			break;
		if (jobid == exclude || !job.schedule_ok)
			continue;
		auto o = overrides.find(job.name);
		out.push_back(js::core::CollisionJob{jobid, job.name, job.schedule,
		                                     o != overrides.end() ? o->second : job.table_offset, job.tz});
	}
	return out;
}

/*
 * The jobs that might meet `schedule` (a small subset, see MightMeet), taken
 * straight from the cache without copying the others (C++; stops early once
 * `check` stopped).
 */
std::vector<js::core::CollisionJob>
Candidates(const js::pg::JobMap &jobs, const std::map<std::string, int> &overrides, const js::core::CollisionJob &mine,
           const js::core::TimeZone &tz, int64 now, js::core::InterruptCheck &check)
{
	std::vector<js::core::CollisionJob> all;
	for (const auto &[jobid, job] : jobs) {
		if (check.Step())
			break;
		if (jobid == mine.jobid || !job.schedule_ok)
			continue;
		auto o = overrides.find(job.name);
		all.push_back(js::core::CollisionJob{jobid, job.name, job.schedule,
		                                     o != overrides.end() ? o->second : job.table_offset, job.tz});
	}
	std::vector<js::core::CollisionJob> out;
	for (std::size_t k : js::core::MightMeet(all, mine.schedule, tz, now, mine.tz))
		out.push_back(std::move(all[k]));
	return out;
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

/* Free and least-colliding offsets of one job against the others (C++); false if cancelled. */
bool
FillFreeOffset(const std::vector<js::core::CollisionJob> &others, const js::core::CollisionJob &job,
               const js::core::TimeZone &tz, int64 now, const js::core::Interrupt &interrupt, JobReport &out)
{
	js::core::Cancellable<js::core::FreeOffset> result =
	    js::core::NearestFreeOffset(others, job.schedule, job.offset, tz, now, interrupt, job.tz);
	if (result.cancelled)
		return false;
	const js::core::FreeOffset &free = result.value;
	out.has_free = free.free_offset.has_value();
	out.free_offset = free.free_offset.value_or(0);
	out.least_offset = free.least_colliding_offset;
	out.least_count = free.least_colliding_count;
	return true;
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

/* Names of the jobs each job collides with: one pass over all pairs (for many jobs at once); false if cancelled. */
bool
CollidingByJob(const std::vector<js::core::CollisionJob> &jobs, const js::core::TimeZone &tz, int64 now,
               js::core::InterruptCheck &check, std::map<int64, std::vector<std::string>> &out)
{
	js::core::Cancellable<std::vector<js::core::CollisionPair>> pairs =
	    js::core::FindCollisions(jobs, true, tz, now, check.Source());
	for (const js::core::CollisionPair &p : pairs.value) {
		if (check.Step())
			break;
		out[jobs[p.index_a].jobid].push_back(jobs[p.index_b].name);
		out[jobs[p.index_b].jobid].push_back(jobs[p.index_a].name);
	}
	return !pairs.cancelled && !check.Stopped();
}

/* One job against the others that might meet it: colliding names and free offsets (C++); false if cancelled. */
bool
ReportOne(const js::pg::JobMap &map, const std::map<std::string, int> &overrides, const js::core::CollisionJob &job,
          const js::core::TimeZone &tz, int64 now, js::core::InterruptCheck &check, JobReport &out)
{
	const js::core::Interrupt &interrupt = check.Source();
	std::vector<js::core::CollisionJob> others = Candidates(map, overrides, job, tz, now, check);
	js::core::Cancellable<std::vector<std::size_t>> colliding =
	    js::core::CollidingJobs(others, job.schedule, job.offset, true, tz, now, interrupt, job.tz);
	if (check.Stopped() || colliding.cancelled)
		return false;
	std::vector<std::string> names;
	for (std::size_t k : colliding.value)
		names.push_back(others[k].name);
	SetColliding(names, out);
	return names.empty() || FillFreeOffset(others, job, tz, now, interrupt, out);
}

/*
 * For each requested job: the jobs it collides with, judged with staggering
 * enabled (offsets are being configured), and for up to
 * kMaxJobsWithFreeOffset jobs the nearest free offset. A few jobs are
 * checked one by one against the jobs that might meet them; many at once in
 * one pass over all pairs.
 */
JobReport *
BuildJobReports(const js::pg::JobMap &map, const js::pg::OverrideList &list, const int64 *ids, int nids, int *count)
{
	JobReport *reports = nullptr;
	int64 now = NowInstant();
	js::pg::CallCore([&](const js::core::Interrupt &interrupt) {
		js::core::InterruptCheck check(interrupt);
		js::core::TimeZone tz = js::pg::CurrentTimeZone();
		std::map<std::string, int> overrides = OverrideMap(list);
		const bool one_by_one = nids <= kMaxJobsWithFreeOffset;
		std::map<int64, std::vector<std::string>> bulk;
		if (!one_by_one && !CollidingByJob(ToCollisionJobs(map, list, -1, check), tz, now, check, bulk))
			return false;
		reports = static_cast<JobReport *>(js::pg::PallocOrThrow(sizeof(JobReport) * (nids + 1)));
		for (int r = 0; r < nids; r++) {
			if (check.Step())
				return false;
			auto it = map.find(ids[r]);
			if (it == map.end() || !it->second.schedule_ok)
				continue;
			const js::pg::CachedJob &cached = it->second;
			auto o = overrides.find(cached.name);
			js::core::CollisionJob job{cached.jobid, cached.name, cached.schedule,
			                           o != overrides.end() ? o->second : cached.table_offset, cached.tz};
			JobReport &out = reports[(*count)++];
			out.jobid = job.jobid;
			out.name = js::pg::PallocCopy(job.name);
			out.offset = job.offset;
			if (one_by_one) {
				if (!ReportOne(map, overrides, job, tz, now, check, out))
					return false;
			} else {
				SetColliding(bulk[job.jobid], out);
			}
		}
		return !check.Stopped();
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
	js::worker::SchedulerStatus st; /* a copy: nothing is allocated under the slot lock */
	if (!js::worker::SchedulerStatusSnapshot(&st) || st.auto_rollback_at == 0)
		return nullptr;
	return psprintf("staggering was turned off automatically at %s (job_stagger.auto_rollback): %s",
	                timestamptz_to_str(st.auto_rollback_at), st.auto_rollback_reason);
}

} // namespace

namespace js::pg {

int
SpreadOffset(const char *schedule, std::int64_t exclude, const char *zone_name)
{
	JudgeInputs &in = PrepareJudgeInputs(schedule);
	if (!in.parsed.ok)
		return 0;
	core::FireIndex &index = ActiveFireIndex(in.overrides, in.overrides_text.c_str(), *in.tz, in.now);
	int duration = JobDurationSeconds(exclude);
	int offset = 0;
	CallCpp([&] {
		/* validated by the caller (the jobs trigger); one that does not load is read in the default zone */
		const std::optional<core::TimeZone> own =
		    zone_name != nullptr && zone_name[0] != '\0' ? core::TimeZone::Load(zone_name) : std::nullopt;
		offset = index.Place(schedule, in.parsed.schedule, duration, exclude, own);
	});
	return offset;
}

} // namespace js::pg

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
	js::pg::OverrideList overrides = js::pg::ReadSessionOverrides();
	const js::pg::JobMap &rows = js::pg::ActiveJobs();
	bool enabled = js::pg::guc_enabled;
	int64 now = NowInstant();
	PairRow *pairs = nullptr;
	int npairs = 0;

	js::pg::CallCore([&](const js::core::Interrupt &interrupt) {
		js::core::InterruptCheck check(interrupt);
		std::vector<js::core::StaggerJobInput> inputs = ToInputs(rows, overrides, check);
		if (check.Stopped())
			return false;
		js::core::Cancellable<js::core::StaggerReport> analysed =
		    js::core::AnalyzeStagger(inputs, enabled, js::pg::CurrentTimeZone(), now, interrupt);
		if (analysed.cancelled)
			return false;
		const js::core::StaggerReport &report = analysed.value;
		pairs = static_cast<PairRow *>(js::pg::PallocOrThrow(sizeof(PairRow) * (report.pairs.size() + 1)));
		for (const js::core::CollisionPair &p : report.pairs) {
			if (check.Step())
				return false;
			pairs[npairs++] = PairRow{js::pg::PallocCopy(report.jobs[p.index_a].name),
			                          js::pg::PallocCopy(report.jobs[p.index_b].name), p.second, p.first_collision,
			                          p.collisions_per_day};
		}
		return true;
	});
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	ReturnSetInfo *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
	for (int i = 0; i < npairs; i++) {
		CHECK_FOR_INTERRUPTS();
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
	js::pg::OverrideList overrides = js::pg::ReadSessionOverrides();
	const js::pg::JobMap &rows = js::pg::ActiveJobsWithLastRun();
	bool enabled = js::pg::guc_enabled;
	int64 now = NowInstant();
	char *summary = nullptr;
	char *note = AutoRollbackNote();

	js::pg::CallCore([&](const js::core::Interrupt &interrupt) {
		js::core::InterruptCheck check(interrupt);
		js::core::TimeZone tz = js::pg::CurrentTimeZone();
		std::vector<js::core::StaggerJobInput> inputs = ToInputs(rows, overrides, check);
		if (check.Stopped())
			return false;
		js::core::Cancellable<js::core::StaggerReport> report =
		    js::core::AnalyzeStagger(inputs, enabled, tz, now, interrupt);
		if (report.cancelled)
			return false;
		js::core::Cancellable<js::core::SummaryInput> summarized =
		    js::core::SummarizeStagger(report.value, enabled, tz, now, interrupt);
		if (summarized.cancelled)
			return false;
		js::core::SummaryInput &input = summarized.value;
		js::core::AddExclusiveGroups(report.value, GroupMemberships(rows), &input);
		input.max_collision_lines = kSummaryMaxCollisionLines;
		if (note != nullptr)
			input.auto_rollback_note = note;
		summary = js::pg::PallocCopy(js::core::FormatSummary(input));
		return true;
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

	js::pg::OverrideList overrides = js::pg::ReadSessionOverrides();
	const js::pg::JobMap &rows = js::pg::ActiveJobs();
	int count = 0;
	JobReport *reports = BuildJobReports(rows, overrides, ids, nids, &count);

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	ReturnSetInfo *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
	for (int i = 0; i < count; i++) {
		CHECK_FOR_INTERRUPTS();
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
	if (PG_ARGISNULL(0)) /* the SQL declaration is STRICT; this guards a changed one */
		PG_RETURN_NULL();
	char *schedule = text_to_cstring(PG_GETARG_TEXT_PP(0));
	int64 exclude = PG_ARGISNULL(1) ? -1 : PG_GETARG_INT64(1);
	PG_RETURN_INT32(js::pg::SpreadOffset(schedule, exclude));
}

} /* extern "C" */
