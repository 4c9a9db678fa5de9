/*
 * The load simulator: run windows per job (sim_model), the running count per
 * second by a difference array, group overlap by an event sweep per group,
 * and overlapping pairs by a sweep over run starts.
 */
#include "core/simulate.hpp"

#include "core/civil.hpp"
#include "core/sim_model.hpp"
#include "core/stagger.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <unordered_set>

namespace js::core {
namespace sim {
namespace {

constexpr int kMaxOffsetShift = 59;

/* Appends the raw bytes of a value to a key string. */
template <typename T>
void
AppendKey(std::string &key, const T &value)
{
	key.append(reinterpret_cast<const char *>(&value), sizeof(value));
}

/* Everything NextFire reads, so that equal keys mean equal fire lists. */
std::string
ScheduleKey(const CronSchedule &s)
{
	std::string key;
	AppendKey(key, s.kind);
	AppendKey(key, s.seconds);
	AppendKey(key, s.minutes);
	AppendKey(key, s.hours);
	AppendKey(key, s.days_of_month);
	AppendKey(key, s.months);
	AppendKey(key, s.days_of_week);
	const std::uint8_t flags = static_cast<std::uint8_t>(s.last_day_of_month | s.dom_wildcard << 1 |
	                                                     s.dow_wildcard << 2 | s.hour_wildcard << 3 | s.can_fire << 4);
	AppendKey(key, flags);
	AppendKey(key, s.interval_seconds);
	return key;
}

} // namespace

std::int64_t
ClampedDuration(const SimJob &job)
{
	return std::clamp<std::int64_t>(job.duration_seconds, 1, kMaxSimDurationSeconds);
}

Span
MakeSpan(const std::vector<SimJob> &jobs, const SimOptions &options)
{
	Span span;
	span.from = options.from;
	span.end = options.from + std::clamp(options.horizon_seconds, kMinSimHorizonSeconds, kMaxSimHorizonSeconds);
	std::int64_t longest = 1;
	for (const SimJob &job : jobs)
		longest = std::max(longest, ClampedDuration(job));
	span.lookback = longest + kMaxOffsetShift;
	return span;
}

const std::vector<Instant> *
FireMemo::Fires(const CronSchedule &schedule, const TimeZone &tz, InterruptCheck &check)
{
	std::string key = ScheduleKey(schedule) + '\0' + tz.Name(); /* one list per schedule and zone */
	const auto found = lists_.find(key);
	if (found != lists_.end())
		return &found->second;
	std::vector<Instant> fires;
	const Instant after = span_.from - span_.lookback;
	if (schedule.kind == ScheduleKind::kInterval && schedule.interval_seconds > 0) {
		const std::int64_t n = schedule.interval_seconds;
		for (Instant t = after - FloorMod(after, n) + n; t < span_.end; t += n)
			fires.push_back(t);
	} else if (schedule.kind == ScheduleKind::kCron && schedule.can_fire) {
		for (std::optional<Instant> next = NextFire(schedule, after, tz); next && *next < span_.end;
		     next = NextFire(schedule, *next, tz)) {
			fires.push_back(*next);
			if (check.Step())
				return nullptr;
		}
	}
	return &lists_.emplace(std::move(key), std::move(fires)).first->second;
}

void
MergedWindows(const std::vector<Instant> &fires, std::int64_t shift, std::int64_t duration, Instant clip_from,
              Instant clip_end, std::vector<RunWindow> &out)
{
	out.clear();
	/* Fires whose runs end by clip_from are skipped without a look (a long look-back makes them many). */
	const auto first = std::upper_bound(fires.begin(), fires.end(), clip_from - shift - duration);
	for (auto it = first; it != fires.end(); ++it) {
		const Instant fire = *it;
		const Instant start = std::max(fire + shift, clip_from);
		const Instant end = std::min(fire + shift + duration, clip_end);
		if (start >= end)
			continue;
		if (!out.empty() && start <= out.back().end)
			out.back().end = std::max(out.back().end, end);
		else
			out.push_back(RunWindow{start, end});
	}
}

std::int64_t
SecondsWithTwo(const std::vector<const std::vector<RunWindow> *> &lists)
{
	std::vector<std::pair<Instant, int>> events;
	for (const std::vector<RunWindow> *list : lists)
		for (const RunWindow &w : *list) {
			events.emplace_back(w.start, 1);
			events.emplace_back(w.end, -1);
		}
	std::sort(events.begin(), events.end());
	std::int64_t seconds = 0;
	int active = 0;
	for (std::size_t i = 0; i < events.size(); i++) {
		active += events[i].second;
		if (active >= 2 && i + 1 < events.size())
			seconds += events[i + 1].first - events[i].first;
	}
	return seconds;
}

} // namespace sim

namespace {

using sim::Span;

/* Per job, its merged run windows clipped to the horizon. */
bool
AllWindows(const std::vector<SimJob> &jobs, const SimOptions &options, const Span &span, InterruptCheck &check,
           std::vector<std::vector<RunWindow>> &windows)
{
	sim::FireMemo memo(span);
	windows.resize(jobs.size());
	for (std::size_t i = 0; i < jobs.size(); i++) {
		const std::vector<Instant> *fires = memo.Fires(jobs[i].schedule, SimZone(jobs[i], options), check);
		if (fires == nullptr || check.Step())
			return false;
		const int shift = AppliedOffset(jobs[i].schedule, jobs[i].offset, options.stagger_enabled);
		sim::MergedWindows(*fires, shift, sim::ClampedDuration(jobs[i]), span.from, span.end, windows[i]);
	}
	return true;
}

/* running, peak, peak_at, overlap, busy and the per-second-of-minute figures. */
void
FillRunning(const std::vector<std::vector<RunWindow>> &windows, const Span &span, SimResult &r)
{
	const std::int64_t length = span.end - span.from;
	std::vector<std::int32_t> diff(static_cast<std::size_t>(length) + 1, 0);
	for (const std::vector<RunWindow> &list : windows)
		for (const RunWindow &w : list) {
			diff[static_cast<std::size_t>(w.start - span.from)]++;
			diff[static_cast<std::size_t>(w.end - span.from)]--;
		}
	r.running.resize(static_cast<std::size_t>(length));
	r.peak_at = span.from;
	std::array<std::int64_t, kSecondsPerMinute> sums{};
	std::array<std::int64_t, kSecondsPerMinute> counts{};
	auto second = static_cast<std::size_t>(FloorMod(span.from, kSecondsPerMinute));
	std::int32_t running = 0;
	for (std::int64_t t = 0; t < length; t++) {
		running += diff[static_cast<std::size_t>(t)];
		r.running[static_cast<std::size_t>(t)] =
		    static_cast<std::uint16_t>(std::min<std::int32_t>(running, std::numeric_limits<std::uint16_t>::max()));
		if (running > r.peak) {
			r.peak = running;
			r.peak_at = span.from + t;
		}
		r.overlap_seconds += std::max(0, running - 1);
		r.busy_seconds += running >= 1 ? 1 : 0;
		r.peak_by_second[second] = std::max(r.peak_by_second[second], static_cast<int>(running));
		sums[second] += running;
		counts[second]++;
		second = second + 1 == kSecondsPerMinute ? 0 : second + 1;
	}
	for (std::size_t s = 0; s < sums.size(); s++)
		r.mean_by_second[s] = counts[s] == 0 ? 0.0 : static_cast<double>(sums[s]) / static_cast<double>(counts[s]);
}

std::int64_t
GroupOverlap(const std::vector<SimJob> &jobs, const std::vector<std::vector<RunWindow>> &windows)
{
	std::map<std::string, std::vector<const std::vector<RunWindow> *>> groups;
	for (std::size_t i = 0; i < jobs.size(); i++)
		if (!jobs[i].group.empty())
			groups[jobs[i].group].push_back(&windows[i]);
	std::int64_t seconds = 0;
	for (const auto &entry : groups)
		if (entry.second.size() >= 2)
			seconds += sim::SecondsWithTwo(entry.second);
	return seconds;
}

/* Seconds in which both merged, sorted lists have a window, and the first of them. */
void
PairOverlap(const std::vector<RunWindow> &a, const std::vector<RunWindow> &b, SimPair &pair)
{
	std::size_t i = 0;
	std::size_t j = 0;
	bool first = true;
	while (i < a.size() && j < b.size()) {
		const Instant lo = std::max(a[i].start, b[j].start);
		const Instant hi = std::min(a[i].end, b[j].end);
		if (lo < hi) {
			pair.overlap_seconds += hi - lo;
			if (first)
				pair.first_overlap = lo;
			first = false;
		}
		if (a[i].end < b[j].end)
			i++;
		else
			j++;
	}
}

/* Job indices bucketed by the horizon second at which one of their windows starts (or ends). */
struct Buckets {
	std::vector<std::uint32_t> head; /* bucket t holds items[head[t] .. head[t + 1]) */
	std::vector<std::uint32_t> items;
};

Buckets
BucketWindows(const std::vector<std::vector<RunWindow>> &windows, const Span &span, bool by_end)
{
	const auto length = static_cast<std::size_t>(span.end - span.from);
	Buckets b;
	b.head.assign(length + 2, 0);
	for (const std::vector<RunWindow> &list : windows)
		for (const RunWindow &w : list)
			b.head[static_cast<std::size_t>((by_end ? w.end : w.start) - span.from) + 1]++;
	for (std::size_t t = 1; t < b.head.size(); t++)
		b.head[t] += b.head[t - 1];
	b.items.resize(b.head.back());
	std::vector<std::uint32_t> fill(b.head.begin(), b.head.end() - 1);
	for (std::size_t job = 0; job < windows.size(); job++)
		for (const RunWindow &w : windows[job])
			b.items[fill[static_cast<std::size_t>((by_end ? w.end : w.start) - span.from)]++] =
			    static_cast<std::uint32_t>(job);
	return b;
}

/* The set of jobs running at the current second of the pair sweep. */
class ActiveSet {
public:
	explicit ActiveSet(std::size_t jobs) : position_(jobs, -1) {}
	void
	Add(std::uint32_t job)
	{
		position_[job] = static_cast<std::int64_t>(members_.size());
		members_.push_back(job);
	}
	void
	Remove(std::uint32_t job)
	{
		const std::int64_t at = position_[job];
		members_[static_cast<std::size_t>(at)] = members_.back();
		position_[members_.back()] = at;
		members_.pop_back();
		position_[job] = -1;
	}
	const std::vector<std::uint32_t> &
	Members() const
	{
		return members_;
	}

private:
	std::vector<std::int64_t> position_;
	std::vector<std::uint32_t> members_;
};

/* The pair sweep's state: pairs seen so far, the result being filled, and scratch. */
struct PairSweep {
	std::size_t max_pairs = 0;
	std::unordered_set<std::uint64_t> known;
	std::vector<std::uint32_t> starters; /* jobs starting a window at this second, sorted */
	std::vector<std::uint32_t> all;      /* those and the jobs already running, sorted */
	std::vector<char> starting;          /* per job: in `starters` */
};

/* Records one pair at second `at` unless seen before; false once the cut is reached. */
bool
AddPair(PairSweep &sweep, std::uint32_t a, std::uint32_t b, Instant at, SimResult &r)
{
	if (!sweep.known.insert(std::uint64_t{a} << 32 | b).second)
		return true;
	if (r.pairs.size() == sweep.max_pairs) {
		r.pairs_truncated = true;
		return false;
	}
	r.pairs.push_back(SimPair{a, b, 0, at});
	return true;
}

/*
 * The pairs whose first common second may be `at` (a starter with any
 * running job), enumerated in (a, b) order so that the cut keeps the first
 * ones: for a starter a every b > a, for a job already running only the
 * starters b > a. False once the cut is reached.
 */
bool
PairsAt(PairSweep &sweep, const std::vector<std::uint32_t> &running_before, Instant at, SimResult &r)
{
	std::sort(sweep.starters.begin(), sweep.starters.end());
	sweep.all = running_before;
	sweep.all.insert(sweep.all.end(), sweep.starters.begin(), sweep.starters.end());
	std::sort(sweep.all.begin(), sweep.all.end());
	for (const std::uint32_t s : sweep.starters)
		sweep.starting[s] = 1;
	bool more = true;
	for (std::size_t i = 0; i < sweep.all.size() && more; i++) {
		const std::uint32_t a = sweep.all[i];
		const std::vector<std::uint32_t> &partners = sweep.starting[a] != 0 ? sweep.all : sweep.starters;
		for (auto b = std::upper_bound(partners.begin(), partners.end(), a); b != partners.end() && more; ++b)
			more = AddPair(sweep, a, *b, at, r);
	}
	for (const std::uint32_t s : sweep.starters)
		sweep.starting[s] = 0;
	return more;
}

/*
 * Pairs in order of their first common second: a pair first overlaps where
 * one of its jobs starts a window while the other runs. The sweep stops at
 * the second in which the max_pairs-th pair appears (sorted by index within
 * the second); the overlap seconds of the kept pairs come from their lists.
 * Pairs exist exactly when some second has two jobs running.
 */
bool
FindPairs(const std::vector<std::vector<RunWindow>> &windows, const Span &span, std::size_t max_pairs,
          InterruptCheck &check, SimResult &r)
{
	if (r.overlap_seconds == 0 || max_pairs == 0) {
		r.pairs_truncated = r.overlap_seconds > 0;
		return true;
	}
	const Buckets starts = BucketWindows(windows, span, false);
	const Buckets ends = BucketWindows(windows, span, true);
	ActiveSet active(windows.size());
	PairSweep sweep;
	sweep.max_pairs = max_pairs;
	sweep.starting.assign(windows.size(), 0);
	const std::size_t length = static_cast<std::size_t>(span.end - span.from);
	for (std::size_t t = 0; t < length; t++) {
		for (std::uint32_t k = ends.head[t]; k < ends.head[t + 1]; k++)
			active.Remove(ends.items[k]);
		if (starts.head[t] == starts.head[t + 1])
			continue;
		sweep.starters.assign(starts.items.begin() + starts.head[t], starts.items.begin() + starts.head[t + 1]);
		if (!active.Members().empty() || sweep.starters.size() >= 2)
			if (!PairsAt(sweep, active.Members(), span.from + static_cast<Instant>(t), r))
				break;
		for (const std::uint32_t job : sweep.starters)
			active.Add(job);
		if (check.Step())
			return false;
	}
	for (SimPair &pair : r.pairs) {
		pair.overlap_seconds = 0;
		PairOverlap(windows[pair.index_a], windows[pair.index_b], pair);
		if (check.Step())
			return false;
	}
	return true;
}

} // namespace

bool
OffsetMovable(const CronSchedule &schedule)
{
	return schedule.kind == ScheduleKind::kCron && !schedule.has_seconds_field && schedule.can_fire;
}

std::vector<RunWindow>
JobRuns(const SimJob &job, const SimOptions &options)
{
	const Span span = sim::MakeSpan({job}, options);
	sim::FireMemo memo(span);
	InterruptCheck never(Interrupt{});
	std::vector<RunWindow> windows;
	const int shift = AppliedOffset(job.schedule, job.offset, options.stagger_enabled);
	sim::MergedWindows(*memo.Fires(job.schedule, SimZone(job, options), never), shift, sim::ClampedDuration(job),
	                   span.from, span.end, windows);
	return windows;
}

Cancellable<SimResult>
Simulate(const std::vector<SimJob> &jobs, const SimOptions &options, const Interrupt &interrupt)
{
	InterruptCheck check(interrupt);
	const Span span = sim::MakeSpan(jobs, options);
	std::vector<std::vector<RunWindow>> windows;
	if (!AllWindows(jobs, options, span, check, windows))
		return Cancelled<SimResult>();
	SimResult r;
	FillRunning(windows, span, r);
	r.group_overlap_seconds = GroupOverlap(jobs, windows);
	if (check.PollNow() || !FindPairs(windows, span, options.max_pairs, check, r))
		return Cancelled<SimResult>();
	return Completed(std::move(r));
}

SimResult
Simulate(const std::vector<SimJob> &jobs, const SimOptions &options)
{
	return Uninterrupted(Simulate(jobs, options, Interrupt{}));
}

} // namespace js::core
