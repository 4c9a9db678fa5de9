/*
 * Staggering: how a job's second offset turns its schedule into the effective
 * one the scheduler fires at.
 *
 * Only 5-field cron schedules are staggered: they fire at most once a minute
 * at second 0, and an offset 0-59 moves every fire time into the same minute
 * (`*\/5 * * * *` with offset 25 -> `25 *\/5 * * * *`). A 6-field schedule
 * already names its second, and `N seconds` / @reboot have no minute to shift
 * within, so they are left as written.
 */
#pragma once

#include "core/cron.hpp"

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace js::core {

constexpr int kMinOffset = 0;
constexpr int kMaxOffset = 59;

inline bool
IsValidOffset(long long offset)
{
	return offset >= kMinOffset && offset <= kMaxOffset;
}

/* The shift in seconds applied to every fire time of the schedule. */
int AppliedOffset(const CronSchedule &schedule, int offset, bool enabled);

/*
 * The effective schedule as text: the 6-field form with the offset as the
 * seconds field when a shift applies, else `original` unchanged.
 */
std::string EffectiveScheduleText(const CronSchedule &schedule, const std::string &original, int offset, bool enabled);

/*
 * job_stagger.offsets: "job_a=15, job_b=30". Valid entries land in `offsets`;
 * every invalid entry (bad syntax, not a number, outside 0-59, a name given
 * twice) is left out with a message in `errors`, so one typo never breaks
 * the others.
 */
struct OffsetOverrides {
	std::map<std::string, int> offsets;
	std::vector<std::string> errors;
};

OffsetOverrides ParseOffsetOverrides(std::string_view text);

/* Names in `overrides` that are not in `job_names` (each such entry is ignored). */
std::vector<std::string> UnknownOverrideJobs(const std::map<std::string, int> &overrides,
                                             const std::vector<std::string> &job_names);

} // namespace js::core

#include "core/cpp_only.hpp"
