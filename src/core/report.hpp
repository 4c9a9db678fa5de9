/*
 * The stagger report: the active jobs parsed once, their colliding pairs and
 * the summary text input, built the same way for stagger_summary(),
 * stagger_collisions() and the scheduler's log.
 */
#pragma once

#include "core/collisions.hpp"
#include "core/interrupt.hpp"
#include "core/summary.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace js::core {

struct StaggerJobInput {
	std::int64_t jobid = 0;
	std::string name;
	std::string schedule_text;
	int offset = 0; /* configured offset (override or table value) */
	/* nominal instant of the job's last slot handed out, if known: the next fire comes after it */
	std::optional<Instant> last_nominal;
	std::string timezone; /* jobs.timezone; "" = the default zone */
};

struct StaggerReport {
	std::vector<CollisionJob> jobs;                    /* the inputs whose schedule parses, in input order */
	std::vector<std::string> schedule_texts;           /* parallel to jobs */
	std::vector<std::optional<Instant>> last_nominals; /* parallel to jobs */
	std::vector<std::string> timezones;                /* parallel to jobs: own zone, "" = the default */
	std::vector<std::string> invalid;                  /* "name: reason" for inputs left out */
	std::vector<CollisionPair> pairs;                  /* indices into jobs (AnalyzeStagger only) */
};

/* Parses the jobs (no collision analysis). */
StaggerReport ParseStaggerJobs(const std::vector<StaggerJobInput> &inputs);
Cancellable<StaggerReport> ParseStaggerJobs(const std::vector<StaggerJobInput> &inputs, const Interrupt &interrupt);

/* Parses the jobs and finds the colliding pairs as of `now` (cancelled: no report at all). */
StaggerReport AnalyzeStagger(const std::vector<StaggerJobInput> &inputs, bool stagger_enabled, const TimeZone &tz,
                             Instant now);
Cancellable<StaggerReport> AnalyzeStagger(const std::vector<StaggerJobInput> &inputs, bool stagger_enabled,
                                          const TimeZone &tz, Instant now, const Interrupt &interrupt);

/*
 * The summary input of an analysed report: the offset column is the
 * configured offset, the effective column what the job fires at.
 */
SummaryInput SummarizeStagger(const StaggerReport &report, bool stagger_enabled, const TimeZone &tz, Instant now);
Cancellable<SummaryInput> SummarizeStagger(const StaggerReport &report, bool stagger_enabled, const TimeZone &tz,
                                           Instant now, const Interrupt &interrupt);

/* A job's exclusive group as the summary needs it (jobs without a group are left out). */
struct GroupMembership {
	std::int64_t jobid = 0;
	std::uint32_t roleid = 0; /* the group is (roleid, group) */
	std::string role;         /* display name */
	std::string group;
	std::string policy;
};

/*
 * Adds the exclusive groups to a summary made by SummarizeStagger from
 * `report`: each group (by role OID and name, in order of first member) with
 * its members' policies and effective schedules, and the report's colliding
 * pairs whose two jobs share a group. Members whose schedule does not parse
 * are left out (the report has no line for them).
 */
void AddExclusiveGroups(const StaggerReport &report, const std::vector<GroupMembership> &members,
                        SummaryInput *summary);

/*
 * The next effective fire instant after `now`, as the scheduler computes it:
 * the first slot whose nominal instant is after `last_nominal` (a slot already
 * handed out, e.g. at :00 before staggering was enabled, is not repeated) and
 * that fires after `now`. nullopt: never, or @reboot.
 */
std::optional<Instant> NextEffectiveFire(const CronSchedule &schedule, int offset, bool stagger_enabled,
                                         const TimeZone &tz, Instant now,
                                         std::optional<Instant> last_nominal = std::nullopt);

} // namespace js::core

#include "core/cpp_only.hpp"
