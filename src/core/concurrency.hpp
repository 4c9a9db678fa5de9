/*
 * Concurrency of recorded runs per minute: the sweep behind the
 * job_stagger.concurrency view. Runs are intervals in microseconds since an
 * epoch that falls on a minute boundary (the Unix epoch, or PostgreSQL's
 * 2000-01-01 00:00 UTC); a minute is [m, m + 60 s) on that scale (UTC minutes).
 */
#pragma once

#include "core/interrupt.hpp"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace js::core {

struct RunInterval {
	std::int64_t start_us = 0;
	std::int64_t end_us = 0; /* >= start_us; a run still going ends "now" */
	bool staggered = false;
};

struct MinuteConcurrency {
	std::int64_t minute_us = 0;       /* start of the minute */
	std::int64_t runs_off = 0;        /* runs started in the minute with staggering off */
	std::int64_t runs_on = 0;         /* ... and on */
	std::int64_t peak = 0;            /* most runs executing at once in the minute */
	std::int64_t worst_second_us = 0; /* the first whole second at which `peak` was reached */
};

/*
 * One entry per minute in which at least one run started, in minute order.
 * Sweep rules: at equal instants, ends count before starts (a run ending at
 * 12:00:05 and one starting then do not overlap), except that a zero-length
 * run counts at its instant. The peak of a minute is the
 * level just after the events at its first instant (runs carried over from
 * earlier minutes included), or the highest level right after a start inside
 * the minute, whichever is higher; its second is the minute's start in the
 * first case (ties included), else the earliest second of a start that reached
 * it. Intervals with end_us < start_us are ignored.
 */
std::vector<MinuteConcurrency> ConcurrencyByMinute(const RunInterval *runs, std::size_t count);
/* The same, polling `interrupt` while sorting and sweeping (cancelled: no rows at all). */
Cancellable<std::vector<MinuteConcurrency>> ConcurrencyByMinute(const RunInterval *runs, std::size_t count,
                                                                const Interrupt &interrupt);

inline std::vector<MinuteConcurrency>
ConcurrencyByMinute(const std::vector<RunInterval> &runs)
{
	return ConcurrencyByMinute(runs.data(), runs.size());
}

} // namespace js::core

#include "core/cpp_only.hpp"
