/*
 * The run model shared by the simulator and the optimiser (internal to
 * simulate.cpp and optimize.cpp; simulate.hpp is the public API).
 *
 * Fire instants are computed once per distinct nominal schedule (NextFire
 * walks are the expensive part) and shared by every job with that schedule;
 * a job's effective instants are those shifted by its applied offset. Its
 * runs are then the merged windows [fire, fire + duration).
 */
#pragma once

#include "core/interrupt.hpp"
#include "core/simulate.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace js::core::sim {

/* The horizon and look-back of one simulation, after clamping the options. */
struct Span {
	Instant from = 0;
	Instant end = 0;           /* from + horizon */
	std::int64_t lookback = 0; /* max duration + 59: fires this far before `from` still matter */
};

/* The duration the model uses: at least 1 s, at most kMaxSimDurationSeconds. */
std::int64_t ClampedDuration(const SimJob &job);
/* The horizon of `options` and the look-back the longest of `jobs` needs. */
Span MakeSpan(const std::vector<SimJob> &jobs, const SimOptions &options);

/*
 * Nominal fire instants (before the offset) in (from - lookback, end), one
 * list per distinct schedule. Interval jobs fire at multiples of N, @reboot
 * and never-firing schedules not at all.
 */
class FireMemo {
public:
	explicit FireMemo(const Span &span) : span_(span) {}
	/* The list of `schedule` in `tz`, computed on first use; nullptr if interrupted while computing it. */
	const std::vector<Instant> *Fires(const CronSchedule &schedule, const TimeZone &tz, InterruptCheck &check);

private:
	Span span_;
	std::map<std::string, std::vector<Instant>> lists_;
};

/*
 * Merged windows of runs starting at fires[i] + shift and lasting `duration`,
 * clipped to [clip_from, clip_end) (windows that touch are merged too);
 * `fires` ascending.
 */
void MergedWindows(const std::vector<Instant> &fires, std::int64_t shift, std::int64_t duration, Instant clip_from,
                   Instant clip_end, std::vector<RunWindow> &out);

/* Seconds in which >= 2 of the given jobs' windows (each list merged and sorted) overlap. */
std::int64_t SecondsWithTwo(const std::vector<const std::vector<RunWindow> *> &lists);

} // namespace js::core::sim

#include "core/cpp_only.hpp"
