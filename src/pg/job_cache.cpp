/*
 * The backend's job cache (see job_cache.hpp). The C++ maps live in static
 * storage; frames that call SPI hold plain data only.
 */
#include "pg/job_cache.hpp"

#include "pg/bridge.hpp"

#include <memory>

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
};

std::unique_ptr<JobMap> cache;        /* the cached jobs (valid while `cache_loaded`) */
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
	const char *sql = last_nominal ? "SELECT j.jobid, j.job_name, j.schedule, j.offset_seconds,"
	                                 " (SELECT r.nominal_at FROM job_stagger.job_run_details r WHERE r.jobid = j.jobid"
	                                 "   ORDER BY r.scheduled_at DESC LIMIT 1),"
	                                 " j.exclusive_group, j.group_policy, j.username, j.roleid"
	                                 " FROM job_stagger.jobs j WHERE j.active ORDER BY j.jobid"
	                               : "SELECT jobid, job_name, schedule, offset_seconds, NULL::timestamptz,"
	                                 " NULL::text, NULL::text, NULL::text, 0::oid"
	                                 " FROM job_stagger.jobs WHERE active ORDER BY jobid";
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

/* One parsed entry (C++: call inside CallCpp). */
CachedJob
MakeEntry(int64 jobid, const char *name, const char *schedule, int offset)
{
	CachedJob job;
	job.jobid = jobid;
	job.name = name;
	job.schedule_text = schedule;
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
		CachedJob job = MakeEntry(rows.jobids[i], rows.names[i], rows.schedules[i], rows.offsets[i]);
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
	JobRows rows = ReadJobRows(false);
	/* Interrupted: raises with cache_loaded false, so the half-filled map is read again next time. */
	CallCore([&](const core::Interrupt &interrupt) {
		if (!cache)
			cache = std::make_unique<JobMap>();
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

void
CacheNoteWritten(std::int64_t jobid, const char *name, const char *schedule, int offset, bool active)
{
	touched_in_xact = true;
	if (!cache_loaded || GetUserId() != cache_user)
		return;
	CallCpp([&] {
		if (active)
			(*cache)[jobid] = MakeEntry(jobid, name, schedule, offset);
		else
			cache->erase(jobid);
	});
}

void
CacheNoteDeleted(std::int64_t jobid)
{
	touched_in_xact = true;
	if (!cache_loaded)
		return;
	CallCpp([&] { cache->erase(jobid); });
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
