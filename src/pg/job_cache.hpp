/*
 * A backend's cache of the active jobs it can see, parsed, for the functions
 * that judge one job against all others (the offset a new job gets, the
 * NOTICE when a written job collides) and the collision functions.
 *
 * Without it every stagger_schedule() re-read and re-parsed every job, so
 * scheduling 10,000 jobs was quadratic (minutes). The cache is kept in step
 * with the rows this backend writes (AFTER ROW triggers) and is valid while
 * the shared job-change counter shows no other session's commit (ours bumps
 * it too, and is accounted for). Without shared memory (not preloaded) it is
 * simply re-read on every call.
 *
 * Include before postgres.h (C++ types); the functions are PostgreSQL code.
 */
#pragma once

#include "core/cron.hpp"
#include "core/fire_index.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace js::pg {

/* A job's exclusive group (read for the summary only). */
struct GroupOfJob {
	std::string name;
	std::string policy;
	std::string username;
	std::uint32_t roleid = 0;
};

struct CachedJob {
	std::int64_t jobid = 0;
	std::string name;
	std::string schedule_text;
	bool schedule_ok = false;
	core::CronSchedule schedule;
	int table_offset = 0;
	std::string timezone;                      /* jobs.timezone; "" = job_stagger.timezone */
	std::optional<core::TimeZone> tz;          /* `timezone` loaded; nullopt: the default zone */
	std::optional<core::Instant> last_nominal; /* only from LoadJobsForSummary() */
	std::optional<GroupOfJob> group;           /* only from ActiveJobsWithLastRun() */
};

using JobMap = std::map<std::int64_t, CachedJob>;

/* Whether job_stagger.jobs has the timezone column (SQL objects 0.7 or later; this library serves older ones). */
bool JobsHaveTimezone();

/*
 * The active jobs visible to the current user, by jobid: the cache when it is
 * still valid, else re-read with SPI. May raise; the map is valid until the
 * next call of any function here.
 */
const JobMap &ActiveJobs();

/*
 * The active jobs with the nominal instant of each one's latest run and their
 * exclusive groups (always read, never cached).
 */
const JobMap &ActiveJobsWithLastRun();

/*
 * The cached jobs as a fire index (fire_index.hpp), offsets overridden by
 * `overrides` (job_stagger.offsets parsed; `overrides_text` identifies it),
 * each with its observed duration, over the horizon from the start of the
 * current minute in `tz`. Made from ActiveJobs() when that was re-read, the
 * minute, zone or overrides changed, and kept in step with written rows
 * otherwise. Valid until the next call of any function here. May raise.
 */
core::FireIndex &ActiveFireIndex(const std::map<std::string, int> &overrides, const char *overrides_text,
                                 const core::TimeZone &tz, core::Instant now);

/*
 * What a judgement of one job needs besides the index, kept in static
 * storage (a PostgreSQL error must not skip destructors of C++ locals):
 * job_stagger.offsets parsed (WARNINGs for bad entries), the zone, the
 * current instant, and `schedule` parsed (empty when NULL).
 */
struct JudgeInputs {
	std::map<std::string, int> overrides;
	std::string overrides_text;
	std::optional<core::TimeZone> tz;
	core::Instant now = 0;
	core::ParseResult parsed;
};
JudgeInputs &PrepareJudgeInputs(const char *schedule);

/*
 * A job's observed duration for placement, in whole seconds rounded up (at
 * least 1): job_stagger.job_durations()'s estimate, read when the cache is
 * loaded; 1 for a job without finished runs or unknown.
 */
int JobDurationSeconds(std::int64_t jobid);

/*
 * job_stagger.spread_offset(): the offset a job with this schedule gets when
 * none is given (0 for an invalid schedule); `exclude` is its own jobid (-1:
 * none); `zone_name` the job's own zone (NULL or "": job_stagger.timezone).
 * Defined in sql_collisions.cpp. May raise.
 */
int SpreadOffset(const char *schedule, std::int64_t exclude, const char *zone_name = nullptr);

/* Keep the cache in step with rows this backend wrote (AFTER ROW triggers). */
void CacheNoteWritten(std::int64_t jobid, const char *name, const char *schedule, int offset, bool active,
                      const char *zone_name);
void CacheNoteDeleted(std::int64_t jobid);
void CacheInvalidate();

/* A transaction that changed jobs committed; `old_generation` is the counter before its own bump. */
void CacheCommitted(std::uint64_t old_generation);
/* A transaction or subtransaction aborted. */
void CacheAborted();

} // namespace js::pg
