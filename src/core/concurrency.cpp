/*
 * Sweep over run starts and ends, both sorted, merged with ends first at
 * equal instants, except the ends of zero-length runs, which come after the
 * starts (see concurrency.hpp for the rules).
 */
#include "core/concurrency.hpp"

#include "core/civil.hpp"

#include <algorithm>
#include <functional>

namespace js::core {

namespace {

constexpr std::int64_t kUsPerSecond = 1000000;
constexpr std::int64_t kUsPerMinute = 60 * kUsPerSecond;
/* Sweep events between two polls of the caller's Interrupt (each is a few nanoseconds). */
constexpr std::uint32_t kSweepStride = 1U << 14;

/* Start of the unit (minute, second) that holds t, also before the epoch. */
std::int64_t
FloorTo(std::int64_t t, std::int64_t unit)
{
	return t - FloorMod(t, unit);
}

struct Start {
	std::int64_t t;
	bool staggered;
};

/* A zero-length run ends after the starts at its instant, so that it counts there. */
struct End {
	std::int64_t t;
	bool zero_length;
	bool
	operator<(const End &o) const
	{
		return t != o.t ? t < o.t : zero_length < o.zero_length;
	}
};

/* The minute being swept. */
struct Minute {
	MinuteConcurrency row;
	std::int64_t first_instant_level = 0; /* level after the events at the minute's first instant */
	std::int64_t start_level = -1;        /* highest level right after a start (-1: no start yet) */
	std::int64_t start_second_us = 0;     /* earliest instant's second reaching start_level */
};

void
Finish(const Minute &m, std::vector<MinuteConcurrency> &out)
{
	if (m.row.runs_off + m.row.runs_on == 0)
		return;
	MinuteConcurrency row = m.row;
	if (m.first_instant_level >= m.start_level) {
		row.peak = m.first_instant_level;
		row.worst_second_us = row.minute_us;
	} else {
		row.peak = m.start_level;
		row.worst_second_us = m.start_second_us;
	}
	out.push_back(row);
}

/* Elements sorted in one uninterrupted std::sort (a few milliseconds). */
constexpr std::size_t kSortChunk = std::size_t{1} << 16;

/*
 * std::sort in pieces the caller can interrupt: sorts chunks of kSortChunk,
 * then merges neighbours bottom-up, polling between pieces. The order of
 * equal elements may differ from one std::sort; the sweep does not depend on
 * it. False if interrupted (the range is then only partly sorted).
 */
template <typename T, typename Less>
bool
SortInterruptible(std::vector<T> &v, Less less, InterruptCheck &check)
{
	const std::size_t n = v.size();
	for (std::size_t lo = 0; lo < n; lo += kSortChunk) {
		std::sort(v.begin() + lo, v.begin() + std::min(n, lo + kSortChunk), less);
		if (check.PollNow())
			return false;
	}
	for (std::size_t width = kSortChunk; width < n; width *= 2)
		for (std::size_t lo = 0; lo + width < n; lo += 2 * width) {
			std::inplace_merge(v.begin() + lo, v.begin() + lo + width, v.begin() + std::min(n, lo + 2 * width), less);
			if (check.PollNow())
				return false;
		}
	return true;
}

} // namespace

std::vector<MinuteConcurrency>
ConcurrencyByMinute(const RunInterval *runs, std::size_t count)
{
	return Uninterrupted(ConcurrencyByMinute(runs, count, Interrupt{}));
}

Cancellable<std::vector<MinuteConcurrency>>
ConcurrencyByMinute(const RunInterval *runs, std::size_t count, const Interrupt &interrupt)
{
	InterruptCheck check(interrupt, kSweepStride);
	std::vector<Start> starts;
	std::vector<End> ends;
	starts.reserve(count);
	ends.reserve(count);
	for (std::size_t i = 0; i < count; i++) {
		const RunInterval &r = runs[i];
		if (r.end_us < r.start_us)
			continue;
		starts.push_back(Start{r.start_us, r.staggered});
		ends.push_back(End{r.end_us, r.end_us == r.start_us});
	}
	if (!SortInterruptible(
	        starts, [](const Start &a, const Start &b) { return a.t < b.t; }, check) ||
	    !SortInterruptible(ends, std::less<End>(), check))
		return Cancelled<std::vector<MinuteConcurrency>>();

	std::vector<MinuteConcurrency> out;
	Minute cur;
	bool have_minute = false;
	std::int64_t level = 0;
	std::size_t si = 0, ei = 0;
	while (si < starts.size() || ei < ends.size()) {
		if (check.Step())
			return Cancelled<std::vector<MinuteConcurrency>>();
		bool is_end = ei < ends.size() && (si == starts.size() || ends[ei].t < starts[si].t ||
		                                   (ends[ei].t == starts[si].t && !ends[ei].zero_length));
		std::int64_t t = is_end ? ends[ei].t : starts[si].t;
		std::int64_t minute = FloorTo(t, kUsPerMinute);
		if (!have_minute || minute != cur.row.minute_us) {
			if (have_minute)
				Finish(cur, out);
			cur = Minute{};
			cur.row.minute_us = minute;
			cur.first_instant_level = level; /* no event at the minute's first instant yet */
			have_minute = true;
		}
		if (is_end) {
			level -= 1;
			ei++;
		} else {
			level += 1;
			(starts[si].staggered ? cur.row.runs_on : cur.row.runs_off) += 1;
			if (level > cur.start_level) {
				cur.start_level = level;
				cur.start_second_us = FloorTo(t, kUsPerSecond);
			}
			si++;
		}
		if (t == minute)
			cur.first_instant_level = level;
	}
	if (have_minute)
		Finish(cur, out);
	return Completed(std::move(out));
}

} // namespace js::core
