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

/* out[o] += v[o] + ... + v[o + length - 1], for o = 0..59. */
void
SlidingSum(const std::int32_t *v, std::int64_t length, std::array<std::int64_t, kOffsets> &out)
{
	std::int64_t sum = 0;
	for (std::int64_t i = 0; i < length; i++)
		sum += v[i];
	out[0] += sum;
	for (int o = 1; o < kOffsets; o++) {
		sum += v[length + o - 1] - v[o - 1];
		out[o] += sum;
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

Profile::Profile(const sim::Span &span)
    : span_(span), base_(span.from - span.lookback - kOffsets),
      running_(static_cast<std::size_t>(span.end - span.from + 2 * (span.lookback + kOffsets)), -1),
      group_(running_.size(), 0)
{
	std::fill(running_.begin() + static_cast<std::ptrdiff_t>(Index(span.from)),
	          running_.begin() + static_cast<std::ptrdiff_t>(Index(span.end)), 0);
	at_peak_ = span.end - span.from;
}

/* Calls fn(pointer, count) for each window of a job at `shift` clipped to the horizon. */
template <typename Fn>
void
Profile::ForEachSpan(const std::vector<RunWindow> &nominal, int shift, Fn fn)
{
	for (const RunWindow &w : nominal) {
		const Instant lo = std::max(w.start + shift, span_.from);
		const Instant hi = std::min(w.end + shift, span_.end);
		if (lo < hi)
			fn(running_.data() + Index(lo), hi - lo);
	}
}

void
Profile::Apply(const std::vector<RunWindow> &nominal, int shift, int delta)
{
	if (delta > 0)
		Add(nominal, shift);
	else
		Remove(nominal, shift);
}

/*
 * The loops are branch-free so that they vectorise. The peak is kept with
 * the number of seconds at it, so only the removal of the last of them
 * rescans the horizon.
 */
void
Profile::Add(const std::vector<RunWindow> &nominal, int shift)
{
	std::int32_t high = 0;
	ForEachSpan(nominal, shift, [&](std::int32_t *v, std::int64_t n) {
		std::int32_t busy = 0;
		for (std::int64_t i = 0; i < n; i++) {
			busy += v[i] >= 1 ? 1 : 0;
			v[i] += 1;
			high = std::max(high, v[i]);
		}
		overlap_ += busy;
	});
	if (high < peak_ || high == 0)
		return;
	if (high > peak_) {
		peak_ = high;
		at_peak_ = 0;
	}
	const std::int32_t peak = peak_;
	ForEachSpan(nominal, shift, [&](std::int32_t *v, std::int64_t n) {
		std::int32_t at = 0;
		for (std::int64_t i = 0; i < n; i++)
			at += v[i] == peak ? 1 : 0;
		at_peak_ += at;
	});
}

void
Profile::Remove(const std::vector<RunWindow> &nominal, int shift)
{
	const std::int32_t peak = peak_;
	ForEachSpan(nominal, shift, [&](std::int32_t *v, std::int64_t n) {
		std::int32_t busy = 0;
		std::int32_t at = 0;
		for (std::int64_t i = 0; i < n; i++) {
			busy += v[i] >= 2 ? 1 : 0;
			at += v[i] == peak ? 1 : 0;
			v[i] -= 1;
		}
		overlap_ -= busy;
		at_peak_ -= at;
	});
	if (at_peak_ > 0 || peak_ == 0)
		return;
	const std::int32_t *v = running_.data() + Index(span_.from);
	const std::int64_t n = span_.end - span_.from;
	std::int32_t high = 0; /* locals, so that the loops vectorise */
	for (std::int64_t i = 0; i < n; i++)
		high = std::max(high, v[i]);
	std::int64_t at = 0;
	for (std::int64_t i = 0; i < n; i++)
		at += v[i] == high ? 1 : 0;
	peak_ = high;
	at_peak_ = at;
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

/* Scores the folded windows of one length (see Evaluate) and resets the folds. */
void
Profile::Flush(std::int64_t length, Folds &f)
{
	if (length == 0)
		return;
	const auto n = static_cast<std::size_t>(length + kLastShift);
	SlidingMax(f.max_running.data(), length, f.scores_max);
	SlidingSum(f.busy.data(), length, f.scores_overlap);
	SlidingSum(f.group.data(), length, f.scores_group);
	std::fill(f.max_running.begin(), f.max_running.begin() + static_cast<std::ptrdiff_t>(n), -1);
	std::fill(f.busy.begin(), f.busy.begin() + static_cast<std::ptrdiff_t>(n), 0);
	std::fill(f.group.begin(), f.group.begin() + static_cast<std::ptrdiff_t>(n), 0);
}

/*
 * All windows of one length L are folded onto L + 59 seconds before the
 * sliding passes: the maximum over the job's windows of the maximum over a
 * window moved by o is the sliding maximum of the element-wise maximum of
 * the windows' neighbourhoods (and likewise for the counts, with sums). The
 * fold is a vectorisable pass over each window, and the sliding passes run
 * once per distinct length (usually one: the job's duration).
 */
void
Profile::Evaluate(const OptJob &job, const std::vector<const OptJob *> &members,
                  std::array<OffsetScore, kOffsets> &scores)
{
	Folds &f = folds_;
	f.scores_max.fill(-1);
	f.scores_overlap.fill(0);
	f.scores_group.fill(0);
	if (!members.empty())
		MarkGroup(members, 1);
	std::int64_t length = 0;
	for (const RunWindow &w : job.nominal) {
		if (w.end + kLastShift <= span_.from || w.start >= span_.end)
			continue;
		if (w.end - w.start != length) {
			Flush(length, f);
			length = w.end - w.start;
			const auto n = static_cast<std::size_t>(length + kLastShift);
			if (f.max_running.size() < n) {
				f.max_running.resize(n, -1);
				f.busy.resize(n, 0);
				f.group.resize(n, 0);
			}
		}
		const std::int32_t *v = running_.data() + Index(w.start);
		const std::uint8_t *g = group_.data() + Index(w.start);
		std::int32_t *fm = f.max_running.data();
		std::int32_t *fb = f.busy.data();
		for (std::int64_t k = 0, n = length + kLastShift; k < n; k++) {
			fm[k] = std::max(fm[k], v[k]);
			fb[k] += v[k] >= 1 ? 1 : 0;
		}
		if (!members.empty()) {
			std::int32_t *fg = f.group.data();
			for (std::int64_t k = 0, n = length + kLastShift; k < n; k++)
				fg[k] += g[k] == 1 ? 1 : 0;
		}
	}
	Flush(length, f);
	if (!members.empty())
		MarkGroup(members, -1);
	for (int o = 0; o < kOffsets; o++)
		scores[o] = OffsetScore{f.scores_group[o], std::max(peak_, f.scores_max[o] + 1), f.scores_overlap[o],
		                        CircularDistance(o, job.current)};
}

} // namespace js::core::opt
