/*
 * The backend's job cache (see job_cache.hpp). The C++ maps live in static
 * storage; frames that call SPI hold plain data only.
 */
#include "pg/job_cache.hpp"

#include "pg/bridge.hpp"
#include "pg/guc.hpp"
#include "pg/overrides.hpp"

#include <map>
#include <memory>
#include <unordered_map>

extern "C" {
#include "postgres.h"

#include "catalog/namespace.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
}

#include "pg/pg_time.hpp"
#include "worker/shared.hpp"

namespace js::pg {

namespace {

/* Active jobs as plain data (palloc'd in the caller's context). */
struct JobRows {
	int count;
	int64 *jobids;
	char **names;
	char **schedules;
	int *offsets;
	bool *has_last_nominal;
	int64 *last_nominals; /* Unix seconds */
	char **groups;        /* exclusive group, NULL: none (summary only) */
	char **policies;
	char **usernames;
	Oid *roleids;
	char **timezones; /* "" = job_stagger.timezone */
};

std::unique_ptr<JobMap> cache;                                    /* the cached jobs (valid while `cache_loaded`) */
std::unique_ptr<std::unordered_map<std::int64_t, int>> durations; /* seconds, jobs with history (with `cache`) */
/* The fire index over `cache` (ActiveFireIndex), and what it was made for. */
std::unique_ptr<core::FireIndex> fire_index;
std::map<std::string, int> index_overrides;
std::string index_overrides_text;
uint64 cache_loads = 0; /* bumped whenever `cache` is re-read */
uint64 index_load = 0;
std::unique_ptr<JobMap> summary_jobs; /* ActiveJobsWithLastRun()'s result */
bool cache_loaded = false;
uint64 cache_generation = 0;
Oid cache_user = InvalidOid;
Oid cache_relid = InvalidOid; /* job_stagger.jobs when loaded: a dropped and re-created extension has a new one */
bool touched_in_xact = false;

/* Reads the active jobs the caller can see (row-level security applies), in jobid order. */
JobRows
ReadJobRows(bool last_nominal)
{
	MemoryContext caller = CurrentMemoryContext;
	JobRows rows = {};
	/* jobs.timezone since 0.7 of the SQL objects (this library also serves older ones until they are updated) */
	const bool zones = JobsHaveTimezone();
	const char *sql = last_nominal
	                      ? (zones ? "SELECT j.jobid, j.job_name, j.schedule, j.offset_seconds,"
	                                 " (SELECT r.nominal_at FROM job_stagger.job_run_details r WHERE r.jobid = j.jobid"
	                                 "   ORDER BY r.scheduled_at DESC LIMIT 1),"
	                                 " j.exclusive_group, j.group_policy, j.username, j.roleid, j.timezone"
	                                 " FROM job_stagger.jobs j WHERE j.active ORDER BY j.jobid"
	                               : "SELECT j.jobid, j.job_name, j.schedule, j.offset_seconds,"
	                                 " (SELECT r.nominal_at FROM job_stagger.job_run_details r WHERE r.jobid = j.jobid"
	                                 "   ORDER BY r.scheduled_at DESC LIMIT 1),"
	                                 " j.exclusive_group, j.group_policy, j.username, j.roleid, NULL::text"
	                                 " FROM job_stagger.jobs j WHERE j.active ORDER BY j.jobid")
	                      : (zones ? "SELECT jobid, job_name, schedule, offset_seconds, NULL::timestamptz,"
	                                 " NULL::text, NULL::text, NULL::text, 0::oid, timezone"
	                                 " FROM job_stagger.jobs WHERE active ORDER BY jobid"
	                               : "SELECT jobid, job_name, schedule, offset_seconds, NULL::timestamptz,"
	                                 " NULL::text, NULL::text, NULL::text, 0::oid, NULL::text"
	                                 " FROM job_stagger.jobs WHERE active ORDER BY jobid");
	SPI_connect();
	if (SPI_execute(sql, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "job_stagger: could not read job_stagger.jobs");
	MemoryContext old = MemoryContextSwitchTo(caller);
	int n = static_cast<int>(SPI_processed);
	rows.jobids = static_cast<int64 *>(palloc0(sizeof(int64) * (n + 1)));
	rows.names = static_cast<char **>(palloc0(sizeof(char *) * (n + 1)));
	rows.schedules = static_cast<char **>(palloc0(sizeof(char *) * (n + 1)));
	rows.offsets = static_cast<int *>(palloc0(sizeof(int) * (n + 1)));
	rows.has_last_nominal = static_cast<bool *>(palloc0(sizeof(bool) * (n + 1)));
	rows.last_nominals = static_cast<int64 *>(palloc0(sizeof(int64) * (n + 1)));
	rows.groups = static_cast<char **>(palloc0(sizeof(char *) * (n + 1)));
	rows.policies = static_cast<char **>(palloc0(sizeof(char *) * (n + 1)));
	rows.usernames = static_cast<char **>(palloc0(sizeof(char *) * (n + 1)));
	rows.roleids = static_cast<Oid *>(palloc0(sizeof(Oid) * (n + 1)));
	rows.timezones = static_cast<char **>(palloc0(sizeof(char *) * (n + 1)));
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
			rows.last_nominals[i] = TimestampToInstant(DatumGetTimestampTz(last));
		char *zone = SPI_getvalue(t, d, 10); /* NULL for a NULL value */
		rows.timezones[i] = pstrdup(zone != nullptr ? zone : "");
		char *group = SPI_getvalue(t, d, 6); /* NULL for a NULL value */
		if (group != nullptr) {
			rows.groups[i] = pstrdup(group);
			rows.policies[i] = pstrdup(SPI_getvalue(t, d, 7));
			rows.usernames[i] = pstrdup(SPI_getvalue(t, d, 8));
			rows.roleids[i] = DatumGetObjectId(SPI_getbinval(t, d, 9, &isnull));
		}
	}
	rows.count = n;
	MemoryContextSwitchTo(old);
	SPI_finish();
	return rows;
}

/* Observed durations of jobs with history (jobid, whole seconds >= 1) as plain data. */
struct DurationRows {
	int count;
	int64 *jobids;
	int *seconds;
};

/* job_stagger.job_durations() of the jobs with finished runs (none before version 0.6 of the SQL objects). */
DurationRows
ReadDurations()
{
	MemoryContext caller = CurrentMemoryContext;
	DurationRows rows = {};
	SPI_connect();
	const char *sql = "SELECT d.jobid, greatest(1, ceil(extract(epoch FROM d.estimate)))::integer"
	                  " FROM job_stagger.job_durations() d WHERE d.source = 'history'";
	bool have = SPI_execute("SELECT pg_catalog.to_regprocedure('job_stagger.job_durations()') IS NOT NULL", true, 1) ==
	                SPI_OK_SELECT &&
	            SPI_processed == 1 && SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1)[0] == 't';
	if (have) {
		if (SPI_execute(sql, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "job_stagger: could not read job_stagger.job_durations()");
		MemoryContext old = MemoryContextSwitchTo(caller);
		int n = static_cast<int>(SPI_processed);
		rows.jobids = static_cast<int64 *>(palloc0(sizeof(int64) * (n + 1)));
		rows.seconds = static_cast<int *>(palloc0(sizeof(int) * (n + 1)));
		for (int i = 0; i < n; i++) {
			bool isnull = false;
			rows.jobids[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
			Datum d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull);
			rows.seconds[i] = isnull ? 1 : DatumGetInt32(d);
		}
		rows.count = n;
		MemoryContextSwitchTo(old);
	}
	SPI_finish();
	return rows;
}

/* The effective offset of a cached job under `index_overrides` (C++). */
int
EffectiveOffset(const CachedJob &job)
{
	auto o = index_overrides.find(job.name);
	return o != index_overrides.end() ? o->second : job.table_offset;
}

int
DurationOf(std::int64_t jobid)
{
	if (!durations)
		return 1;
	auto it = durations->find(jobid);
	return it != durations->end() ? it->second : 1;
}

/* One parsed entry (C++: call inside CallCpp). */
CachedJob
MakeEntry(int64 jobid, const char *name, const char *schedule, int offset, const char *zone_name)
{
	CachedJob job;
	job.jobid = jobid;
	job.name = name;
	job.schedule_text = schedule;
	job.timezone = zone_name != nullptr ? zone_name : "";
	/* validated when written; a zone that no longer loads is read in the default zone */
	if (!job.timezone.empty())
		job.tz = core::TimeZone::Load(job.timezone);
	core::ParseResult parsed = core::ParseSchedule(schedule);
	job.schedule_ok = parsed.ok;
	job.schedule = parsed.schedule;
	job.table_offset = offset;
	return job;
}

/* Builds a map from rows (C++ inside CallCore); false if interrupted (the map is then incomplete). */
bool
FillMap(JobMap &map, const JobRows &rows, const core::Interrupt &interrupt)
{
	core::InterruptCheck check(interrupt);
	map.clear();
	for (int i = 0; i < rows.count; i++) {
		if (check.Step())
			return false;
		CachedJob job = MakeEntry(rows.jobids[i], rows.names[i], rows.schedules[i], rows.offsets[i], rows.timezones[i]);
		if (rows.has_last_nominal[i])
			job.last_nominal = rows.last_nominals[i];
		if (rows.groups[i] != nullptr)
			job.group = GroupOfJob{rows.groups[i], rows.policies[i], rows.usernames[i], rows.roleids[i]};
		map.emplace(job.jobid, std::move(job));
	}
	return true;
}

uint64
CurrentGeneration(bool *available)
{
	worker::SharedState *sh = worker::Shared();
	*available = sh != nullptr;
	return sh != nullptr ? pg_atomic_read_u64(&sh->jobs_generation) : 0;
}

/* The OID of job_stagger.jobs (InvalidOid if the extension is not there). */
Oid
JobsRelid()
{
	Oid nsp = get_namespace_oid("job_stagger", true);
	return OidIsValid(nsp) ? get_relname_relid("jobs", nsp) : InvalidOid;
}

} // namespace

bool
JobsHaveTimezone()
{
	Oid nsp = get_namespace_oid("job_stagger", true);
	Oid relid = OidIsValid(nsp) ? get_relname_relid("jobs", nsp) : InvalidOid;
	return OidIsValid(relid) && get_attnum(relid, "timezone") != InvalidAttrNumber;
}

const JobMap &
ActiveJobs()
{
	bool shared = false;
	uint64 generation = CurrentGeneration(&shared);
	Oid relid = JobsRelid();
	if (cache && cache_loaded && shared && generation == cache_generation && GetUserId() == cache_user &&
	    relid == cache_relid)
		return *cache;
	cache_loaded = false;
	cache_loads++;
	JobRows rows = ReadJobRows(false);
	DurationRows observed = ReadDurations();
	/* Interrupted: raises with cache_loaded false, so the half-filled map is read again next time. */
	CallCore([&](const core::Interrupt &interrupt) {
		if (!cache)
			cache = std::make_unique<JobMap>();
		durations = std::make_unique<std::unordered_map<std::int64_t, int>>();
		for (int i = 0; i < observed.count; i++)
			(*durations)[observed.jobids[i]] = observed.seconds[i];
		return FillMap(*cache, rows, interrupt);
	});
	cache_loaded = shared;
	cache_generation = generation;
	cache_user = GetUserId();
	cache_relid = relid;
	return *cache;
}

const JobMap &
ActiveJobsWithLastRun()
{
	JobRows rows = ReadJobRows(true);
	CallCore([&](const core::Interrupt &interrupt) {
		if (!summary_jobs)
			summary_jobs = std::make_unique<JobMap>();
		return FillMap(*summary_jobs, rows, interrupt);
	});
	return *summary_jobs;
}

core::FireIndex &
ActiveFireIndex(const std::map<std::string, int> &overrides, const char *overrides_text, const core::TimeZone &tz,
                core::Instant now)
{
	const JobMap &jobs = ActiveJobs();
	const core::Instant from = now - ((now % 60) + 60) % 60;
	if (fire_index && index_load == cache_loads && cache_loaded && fire_index->From() == from &&
	    fire_index->ZoneName() == tz.Name() && index_overrides_text == overrides_text)
		return *fire_index;
	/* Interrupted: raises with the index gone, so it is made again next time. */
	fire_index.reset();
	CallCore([&](const core::Interrupt &interrupt) {
		core::InterruptCheck check(interrupt);
		index_overrides = overrides;
		index_overrides_text = overrides_text;
		auto index = std::make_unique<core::FireIndex>(tz, from);
		for (const auto &[jobid, job] : jobs) {
			if (check.Step())
				return false;
			if (job.schedule_ok)
				index->Upsert(jobid, job.schedule_text, job.schedule, EffectiveOffset(job), DurationOf(jobid), job.tz);
		}
		fire_index = std::move(index);
		return true;
	});
	index_load = cache_loads;
	return *fire_index;
}

JudgeInputs &
PrepareJudgeInputs(const char *schedule)
{
	static JudgeInputs in;
	OverrideList list = ReadSessionOverrides();
	const char *text = guc_offsets != nullptr ? guc_offsets : "";
	core::Instant now = TimestampToInstant(GetCurrentTimestamp());
	CallCpp([&] {
		if (in.overrides_text != text || in.overrides.size() != static_cast<std::size_t>(list.count)) {
			in.overrides.clear();
			for (int i = 0; i < list.count; i++)
				in.overrides[list.names[i]] = list.offsets[i];
			in.overrides_text = text;
		}
		const char *zone = guc_timezone != nullptr ? guc_timezone : "UTC";
		if (!in.tz || in.tz->Name() != zone)
			in.tz = CurrentTimeZone();
		in.now = now;
		in.parsed = schedule != nullptr ? core::ParseSchedule(schedule) : core::ParseResult{};
	});
	return in;
}

int
JobDurationSeconds(std::int64_t jobid)
{
	return DurationOf(jobid);
}

void
CacheNoteWritten(std::int64_t jobid, const char *name, const char *schedule, int offset, bool active,
                 const char *zone_name)
{
	touched_in_xact = true;
	if (!cache_loaded || GetUserId() != cache_user)
		return;
	CallCpp([&] {
		if (active) {
			CachedJob &job = (*cache)[jobid] = MakeEntry(jobid, name, schedule, offset, zone_name);
			if (fire_index) {
				if (job.schedule_ok)
					fire_index->Upsert(jobid, job.schedule_text, job.schedule, EffectiveOffset(job), DurationOf(jobid),
					                   job.tz);
				else
					fire_index->Remove(jobid);
			}
		} else {
			cache->erase(jobid);
			if (fire_index)
				fire_index->Remove(jobid);
		}
	});
}

void
CacheNoteDeleted(std::int64_t jobid)
{
	touched_in_xact = true;
	if (!cache_loaded)
		return;
	CallCpp([&] {
		cache->erase(jobid);
		if (fire_index)
			fire_index->Remove(jobid);
	});
}

void
CacheInvalidate()
{
	cache_loaded = false;
}

void
CacheCommitted(std::uint64_t old_generation)
{
	/* Our own bump keeps the cache valid, unless another commit came in between. */
	if (cache_loaded && old_generation == cache_generation)
		cache_generation = old_generation + 1;
	else
		cache_loaded = false;
	touched_in_xact = false;
}

void
CacheAborted()
{
	if (touched_in_xact)
		cache_loaded = false;
	touched_in_xact = false;
}

} // namespace js::pg
