/*
 * Load simulation and the offset optimiser (issue 12).
 *
 * The simulator predicts, second by second over a horizon, how many jobs are
 * running: every effective fire instant of a job (NextFire of its nominal
 * schedule plus AppliedOffset, see stagger.hpp) starts a run that occupies
 * the whole seconds [fire, fire + duration_seconds). A job's own runs never
 * count twice at one second (its overlap policy keeps them apart), so a job
 * contributes at most 1 to any second. Runs that started before the horizon
 * and are still going at its start count too (steady state).
 *
 * The optimiser chooses offsets 0-59 for the jobs whose offset it may move
 * (5-field cron schedules, not pinned), minimising lexicographically:
 *   1. seconds in which two jobs of one exclusive group run together,
 *   2. the peak number of jobs running at once,
 *   3. total overlap seconds (sum over seconds of max(0, running - 1)),
 *   4. movement: sum over jobs of the circular distance |new - current| (0-30),
 * and is deterministic for the same input. The current offsets are always a
 * candidate, so the result is never worse than them on (1, 2, 3).
 * docs/optimizer.md describes the model, the algorithm and its guarantees.
 *
 * Group overlap is summed over groups: a second in which two groups each have
 * two members running counts twice (each group's term is independent, which
 * keeps the optimiser's evaluation of one job local to its group).
 *
 * Pure and deterministic: time and zone are parameters.
 */
#pragma once

#include "core/cron.hpp"
#include "core/interrupt.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace js::core {

/* Simulate and Optimize clamp the horizon to this range and each duration to 1..kMaxSimDurationSeconds. */
constexpr std::int64_t kMinSimHorizonSeconds = 60;
constexpr std::int64_t kMaxSimHorizonSeconds = 31 * 86400;
constexpr std::int64_t kMaxSimDurationSeconds = 7 * 86400;

struct SimJob {
	std::int64_t jobid = 0;
	std::string name;
	CronSchedule schedule;      /* parsed nominal schedule */
	int offset = 0;             /* current configured offset 0-59 */
	int duration_seconds = 1;   /* predicted run time, whole seconds (>= 1; callers round p95 up) */
	bool pinned = false;        /* the optimiser keeps `offset` */
	std::string group;          /* exclusive group key, "" for none; callers qualify it by role ("16384/referrals") */
	std::optional<TimeZone> tz; /* the zone its schedule is read in; nullopt: SimOptions::tz */
};

struct SimOptions {
	TimeZone tz = TimeZone::Utc();        /* the default zone: jobs without one of their own */
	Instant from = 0;                     /* start of the horizon */
	std::int64_t horizon_seconds = 86400; /* length of the horizon (>= 60) */
	bool stagger_enabled = true;          /* offsets apply (as with job_stagger.enabled = on) */
	std::size_t max_pairs = 1000;         /* SimResult::pairs is cut off here */
};

/* Two jobs whose runs overlap in the horizon; index_a < index_b are positions in the input. */
struct SimPair {
	std::size_t index_a = 0;
	std::size_t index_b = 0;
	std::int64_t overlap_seconds = 0; /* seconds in which both run */
	Instant first_overlap = 0;        /* the first such second */
};

struct SimResult {
	std::vector<std::uint16_t> running; /* per second of the horizon: jobs running (capped at 65535) */
	int peak = 0;                       /* max of running */
	Instant peak_at = 0;                /* first second at which peak is reached (from if peak is 0) */
	std::int64_t overlap_seconds = 0;   /* sum of max(0, running - 1) */
	std::int64_t busy_seconds = 0;      /* seconds with running >= 1 */
	std::int64_t group_overlap_seconds =
	    0;                                /* seconds in which two jobs of one group run together (summed over groups) */
	std::array<int, 60> peak_by_second{}; /* max of running over the seconds with that second of the minute */
	std::array<double, 60> mean_by_second{}; /* mean of running over them */
	std::vector<SimPair> pairs;              /* overlapping pairs, sorted by (first_overlap, index_a, index_b) */
	bool pairs_truncated = false;            /* more than max_pairs pairs */
};

/* The zone a job's schedule is read in. */
inline const TimeZone &
SimZone(const SimJob &job, const SimOptions &options)
{
	return job.tz ? *job.tz : options.tz;
}

/* Whether the optimiser may move this schedule's offset (a 5-field cron schedule that can fire). */
bool OffsetMovable(const CronSchedule &schedule);

SimResult Simulate(const std::vector<SimJob> &jobs, const SimOptions &options);
Cancellable<SimResult> Simulate(const std::vector<SimJob> &jobs, const SimOptions &options, const Interrupt &interrupt);

/* The run windows [start, end) of one job that intersect [from, from + horizon_seconds), in order (merged). */
struct RunWindow {
	Instant start = 0;
	Instant end = 0;
};
std::vector<RunWindow> JobRuns(const SimJob &job, const SimOptions &options);

struct OptimizeResult {
	std::vector<int> offsets; /* per input job: the proposed offset (unchanged for pinned and unmovable jobs) */
	int peak_before = 0;
	int peak_after = 0;
	std::int64_t overlap_before = 0;
	std::int64_t overlap_after = 0;
	std::int64_t group_overlap_before = 0;
	std::int64_t group_overlap_after = 0;
	int moved = 0;      /* jobs whose offset changes */
	bool exact = false; /* the result is a proven optimum (small inputs) */
};

OptimizeResult Optimize(const std::vector<SimJob> &jobs, const SimOptions &options);
Cancellable<OptimizeResult> Optimize(const std::vector<SimJob> &jobs, const SimOptions &options,
                                     const Interrupt &interrupt);

} // namespace js::core

#include "core/cpp_only.hpp"
