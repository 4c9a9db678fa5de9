/*
 * The optimiser's load profile: incremental placement and the one-pass
 * scoring of all 60 offsets of a job.
 */
#include "core/opt_profile.hpp"

#include <algorithm>
#include <tuple>

namespace js::core::opt {
namespace {

constexpr int kLastShift = kOffsets - 1;

/*
 * out[o] = max(out[o], max of v[o .. o + length - 1]) for o = 0..59, in
 * O(length + 60). A window of 60 seconds or more always holds v[59 ..
 * length - 1], so only the two 59-second ends differ between offsets;
 * shorter windows use a monotonic queue.
 */
void
SlidingMax(const std::int32_t *v, std::int64_t length, std::array<int, kOffsets> &out)
{
	if (length >= kOffsets) {
		std::int32_t middle = v[kLastShift];
		for (std::int64_t i = kLastShift; i < length; i++)
			middle = std::max(middle, v[i]);
		std::array<std::int32_t, kOffsets> head{}; /* head[o] = max v[o .. 58] */
		head[kLastShift] = middle;
		for (int o = kLastShift - 1; o >= 0; o--)
			head[o] = std::max(head[o + 1], v[o]);
		std::int32_t tail = middle; /* max v[length .. o + length - 1] folded in */
		for (int o = 0; o < kOffsets; o++) {
			if (o > 0)
				tail = std::max(tail, v[length + o - 1]);
			out[o] = std::max(out[o], std::max(head[o], tail));
		}
		return;
	}
	std::array<int, 2 * kOffsets> queue{};
	int head = 0;
	int tail = 0;
	const int n = static_cast<int>(length) + kLastShift;
	for (int i = 0; i < n; i++) {
		while (tail > head && v[queue[tail - 1]] <= v[i])
			tail--;
		queue[tail++] = i;
		if (queue[head] <= i - length)
			head++;
		if (i >= length - 1) {
			const int o = i - static_cast<int>(length) + 1;
			out[o] = std::max(out[o], v[queue[head]]);
		}
	}
}

/* out[o] += number of i in [o, o + length) with pred(v[i]), for o = 0..59. */
template <typename T, typename Pred>
void
SlidingCount(const T *v, std::int64_t length, Pred pred, std::array<std::int64_t, kOffsets> &out)
{
	std::int64_t count = 0;
	for (std::int64_t i = 0; i < length; i++)
		count += pred(v[i]) ? 1 : 0;
	out[0] += count;
	for (int o = 1; o < kOffsets; o++) {
		count += (pred(v[length + o - 1]) ? 1 : 0) - (pred(v[o - 1]) ? 1 : 0);
		out[o] += count;
	}
}

} // namespace

bool
Better(const OffsetScore &a, const OffsetScore &b)
{
	return std::tie(a.group, a.peak, a.overlap, a.movement) < std::tie(b.group, b.peak, b.overlap, b.movement);
}

int
CircularDistance(int a, int b)
{
	const int d = a > b ? a - b : b - a;
	return std::min(d, kOffsets - d);
}

Profile::Profile(const sim::Span &span, std::size_t jobs)
    : span_(span), base_(span.from - span.lookback - kOffsets),
      running_(static_cast<std::size_t>(span.end - span.from + 2 * (span.lookback + kOffsets)), -1),
      group_(running_.size(), 0), histogram_(jobs + 2, 0)
{
	std::fill(running_.begin() + static_cast<std::ptrdiff_t>(Index(span.from)),
	          running_.begin() + static_cast<std::ptrdiff_t>(Index(span.end)), 0);
	histogram_[0] = span.end - span.from;
}

void
Profile::Apply(const std::vector<RunWindow> &nominal, int shift, int delta)
{
	for (const RunWindow &w : nominal) {
		const Instant lo = std::max(w.start + shift, span_.from);
		const Instant hi = std::min(w.end + shift, span_.end);
		for (std::size_t i = lo < hi ? Index(lo) : 0, e = lo < hi ? Index(hi) : 0; i < e; i++) {
			std::int32_t &v = running_[i];
			histogram_[static_cast<std::size_t>(v)]--;
			if (delta < 0)
				v--;
			overlap_ += v >= 1 ? delta : 0;
			if (delta > 0)
				v++;
			histogram_[static_cast<std::size_t>(v)]++;
			peak_ = std::max(peak_, v);
		}
	}
	while (peak_ > 0 && histogram_[static_cast<std::size_t>(peak_)] == 0)
		peak_--;
}

/* Adds (1) or clears (-1) the saturated counts of the members' runs in the group scratch. */
void
Profile::MarkGroup(const std::vector<const OptJob *> &members, int delta)
{
	for (const OptJob *m : members)
		for (const RunWindow &w : m->nominal) {
			const Instant lo = std::max(w.start + m->shift, span_.from);
			const Instant hi = std::min(w.end + m->shift, span_.end);
			for (Instant t = lo; t < hi; t++) {
				std::uint8_t &g = group_[Index(t)];
				g = delta > 0 ? static_cast<std::uint8_t>(std::min(g + 1, 2)) : 0;
			}
		}
}

void
Profile::Evaluate(const OptJob &job, const std::vector<const OptJob *> &members,
                  std::array<OffsetScore, kOffsets> &scores)
{
	std::array<int, kOffsets> max_running;
	max_running.fill(-1);
	std::array<std::int64_t, kOffsets> overlap{};
	std::array<std::int64_t, kOffsets> group{};
	if (!members.empty())
		MarkGroup(members, 1);
	for (const RunWindow &w : job.nominal) {
		if (w.end + kLastShift <= span_.from || w.start >= span_.end)
			continue;
		const std::int32_t *v = running_.data() + Index(w.start);
		const std::int64_t length = w.end - w.start;
		SlidingMax(v, length, max_running);
		SlidingCount(
		    v, length, [](std::int32_t x) { return x >= 1; }, overlap);
		if (!members.empty())
			SlidingCount(
			    group_.data() + Index(w.start), length, [](std::uint8_t x) { return x == 1; }, group);
	}
	if (!members.empty())
		MarkGroup(members, -1);
	for (int o = 0; o < kOffsets; o++)
		scores[o] =
		    OffsetScore{group[o], std::max(peak_, max_running[o] + 1), overlap[o], CircularDistance(o, job.current)};
}

} // namespace js::core::opt
