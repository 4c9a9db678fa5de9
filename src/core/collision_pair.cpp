/*
 * Pair evaluation. Two jobs meet at an instant when both fire there:
 *  - regularly: the instant's local time is in both jobs' local-time sets
 *    (the common masks on a common day), outside a repeat window when a
 *    fixed-time job is involved, and, for an interval job, a multiple of N;
 *  - or through a gap fire of one of them (a handful of instants, checked
 *    one by one).
 * Candidate days are walked in order (common days of the two day sets plus
 * the days of gap fires); the first day with a common instant after `from`
 * gives the answer, and that day's count. Horizons with sub-minute UTC
 * offsets (local mean time) use WalkPair instead.
 */
#include "core/collision_pair.hpp"

#include "core/civil.hpp"

#include <algorithm>
#include <bitset>
#include <iterator>
#include <limits>
#include <numeric>
#include <vector>

namespace js::core::collide {
namespace {

constexpr int kHoursInDay = 24;
constexpr int kMinutesInHour = 60;
constexpr std::int64_t kMinutesPerDay = 1440;
/* WalkPair: leapfrog steps before giving up, and fires enumerated per job and day. */
constexpr std::size_t kMaxWalkSteps = 1000000;

inline std::uint64_t
LowBits(std::int64_t n)
{
	return n >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << n) - 1;
}

/* {(v + r) mod n : v in mask} for a mask of n bits and 0 <= r < n. */
inline std::uint64_t
RotateUp(std::uint64_t mask, int r, int n)
{
	if (r == 0)
		return mask;
	return ((mask << r) | (mask >> (n - r))) & LowBits(n);
}

/* Seconds s (0-59) of a minute starting at instant `minute_start` for which minute_start + s is a multiple of n. */
std::uint64_t
MultipleSeconds(Instant minute_start, int n)
{
	std::uint64_t mask = 0;
	for (std::int64_t s = FloorMod(-minute_start, n); s < kSecondsInMinute; s += n)
		mask |= std::uint64_t{1} << s;
	return mask;
}

/* What two jobs have in common, prepared once per pair. */
struct PairSpec {
	const FireProfile *a = nullptr;
	const FireProfile *b = nullptr;
	TimeMasks masks;                       /* common local times of day */
	bool regular = false;                  /* regular common fires are possible */
	bool skip_repeat = false;              /* a fixed-time job is involved */
	int modulus = 1;                       /* > 1: instants must also be multiples of it */
	const std::uint64_t *days_a = nullptr; /* nullptr: every day */
	const std::uint64_t *days_b = nullptr;
	/* modulus > 1, quick test for plain days: see ResidueAllows */
	int residue_mod = 1;
	std::uint64_t residue_targets = 0;
	std::uint64_t residue_times = 0;
};

struct DayResult {
	std::int64_t count = 0;
	std::optional<Instant> first;

	void
	Offer(Instant t)
	{
		if (!first || t < *first)
			first = t;
	}
};

class PairWalk {
public:
	PairWalk(const PairSpec &spec, const ZoneHorizon &horizon, const DaySets &day_sets)
	    : spec_(spec), horizon_(horizon), day_sets_(day_sets)
	{
	}
	std::optional<PairHit> Run() const;

private:
	std::int64_t NextCommonDay(std::int64_t index) const;
	bool ResidueAllows(std::int64_t day) const;
	DayResult EvaluateDay(std::int64_t day) const;
	void AddPiece(std::int64_t day, const DayPiece &piece, DayResult &out) const;
	void AddPieceModulus(std::int64_t day, const DayPiece &piece, DayResult &out) const;
	void AddGapFires(std::int64_t day, DayResult &out) const;

	const PairSpec &spec_;
	const ZoneHorizon &horizon_;
	const DaySets &day_sets_;
};

/* The first day index >= index that is in both day sets, or -1. */
std::int64_t
PairWalk::NextCommonDay(std::int64_t index) const
{
	const std::int64_t count = day_sets_.DayCount();
	for (std::int64_t w = index / 64; w * 64 < count; w++) {
		const std::size_t i = static_cast<std::size_t>(w);
		std::uint64_t both =
		    (spec_.days_a ? spec_.days_a[i] : ~std::uint64_t{0}) & (spec_.days_b ? spec_.days_b[i] : ~std::uint64_t{0});
		if (w * 64 < index)
			both &= ~LowBits(index - w * 64);
		if (both != 0) {
			const std::int64_t found = w * 64 + __builtin_ctzll(both);
			return found < count ? found : -1;
		}
	}
	return -1;
}

/*
 * For an interval job with N not dividing 60 against a cron job on a plain
 * day with offset o: u = 60 * (1440 d + 60 h + m - o / 60) + s is a multiple
 * of N iff g = gcd(N, 60) divides s and 60 h + m is congruent, modulo
 * N' = N / g, to a target depending on s, minus (1440 d - o / 60). Targets
 * and the cron job's (60 h + m) residues are precomputed as bit masks, so a
 * day is rejected with one rotation instead of a walk over its minutes.
 */
bool
PairWalk::ResidueAllows(std::int64_t day) const
{
	if (spec_.residue_mod <= 1)
		return true;
	const std::int64_t offset = horizon_.PlainOffset(day);
	if (offset % kSecondsPerMinute != 0)
		return true;
	const int n = spec_.residue_mod;
	const int k = static_cast<int>(FloorMod(day * kMinutesPerDay - offset / kSecondsPerMinute, n));
	return (RotateUp(spec_.residue_targets, (n - k) % n, n) & spec_.residue_times) != 0;
}

/* Regular common fires of a piece: closed-form counts on the masks, first one after `from`. */
void
PairWalk::AddPiece(std::int64_t day, const DayPiece &piece, DayResult &out) const
{
	const std::int64_t day_lo = day * kSecondsPerDay;
	out.count +=
	    CountTimesBefore(spec_.masks, piece.local_hi - day_lo) - CountTimesBefore(spec_.masks, piece.local_lo - day_lo);
	const std::int64_t lowest = std::max(piece.local_lo, horizon_.From() + piece.offset + 1);
	if (lowest >= piece.local_hi)
		return;
	const std::int64_t sod = FirstTimeAtOrAfter(spec_.masks, lowest - day_lo);
	if (sod < 0 || day_lo + sod >= piece.local_hi)
		return;
	const Instant t = day_lo + sod - piece.offset;
	if (t <= horizon_.End())
		out.Offer(t);
}

/* Regular common fires of a piece when instants must also be multiples of the modulus: minute by minute. */
void
PairWalk::AddPieceModulus(std::int64_t day, const DayPiece &piece, DayResult &out) const
{
	const std::int64_t day_lo = day * kSecondsPerDay;
	const std::int64_t lo = piece.local_lo - day_lo;
	const std::int64_t hi = piece.local_hi - day_lo;
	for (int h = 0; h < kHoursInDay; h++) {
		if ((spec_.masks.hours >> h & 1U) == 0 || (h + 1) * kSecondsPerHour <= lo || h * kSecondsPerHour >= hi)
			continue;
		for (int m = 0; m < kMinutesInHour; m++) {
			const std::int64_t minute_lo = h * kSecondsPerHour + m * kSecondsPerMinute;
			if ((spec_.masks.minutes >> m & 1U) == 0 || minute_lo + kSecondsPerMinute <= lo || minute_lo >= hi)
				continue;
			const Instant minute_start = day_lo + minute_lo - piece.offset;
			std::uint64_t seconds = spec_.masks.seconds & MultipleSeconds(minute_start, spec_.modulus);
			if (lo > minute_lo)
				seconds &= ~LowBits(lo - minute_lo);
			if (hi < minute_lo + kSecondsPerMinute)
				seconds &= LowBits(hi - minute_lo);
			out.count += __builtin_popcountll(seconds);
			const std::int64_t after = horizon_.From() - minute_start + 1; /* first second past `from` */
			if (after > 0)
				seconds &= after >= kSecondsInMinute ? 0 : ~LowBits(after);
			if (seconds != 0 && minute_start + __builtin_ctzll(seconds) <= horizon_.End())
				out.Offer(minute_start + __builtin_ctzll(seconds));
		}
	}
}

/* Gap fires of either job on this day that the other job also fires at (and that are not regular for both). */
void
PairWalk::AddGapFires(std::int64_t day, DayResult &out) const
{
	if (spec_.a->gap_fires.empty() && spec_.b->gap_fires.empty())
		return;
	std::vector<Instant> candidates;
	for (const FireProfile *p : {spec_.a, spec_.b})
		for (const GapFire &g : p->gap_fires)
			if (g.day == day)
				candidates.push_back(g.at);
	std::sort(candidates.begin(), candidates.end());
	candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
	for (const Instant x : candidates) {
		if (!FiresAt(*spec_.a, x, horizon_, day_sets_) || !FiresAt(*spec_.b, x, horizon_, day_sets_))
			continue;
		if (FiresRegularlyAt(*spec_.a, x, horizon_, day_sets_) && FiresRegularlyAt(*spec_.b, x, horizon_, day_sets_))
			continue; /* already counted with the regular fires */
		out.count++;
		out.Offer(x);
	}
}

/* Every common fire instant of one local day: its count, and the first one in (from, end]. */
DayResult
PairWalk::EvaluateDay(std::int64_t day) const
{
	DayResult out;
	const std::int64_t index = day_sets_.Index(day);
	const auto in = [index](const std::uint64_t *bits) {
		return bits == nullptr || (bits[index / 64] >> (index % 64) & 1U) != 0;
	};
	if (spec_.regular && in(spec_.days_a) && in(spec_.days_b)) {
		for (const DayPiece &piece : horizon_.Pieces(day)) {
			if (piece.repeat && spec_.skip_repeat)
				continue;
			if (spec_.modulus > 1)
				AddPieceModulus(day, piece, out);
			else
				AddPiece(day, piece, out);
		}
	}
	AddGapFires(day, out);
	return out;
}

/* Walks candidate days in order until one has a common instant after `from`. */
std::optional<PairHit>
PairWalk::Run() const
{
	std::vector<std::int64_t> gap_days;
	for (const FireProfile *p : {spec_.a, spec_.b})
		for (const GapFire &g : p->gap_fires)
			gap_days.push_back(g.day);
	std::sort(gap_days.begin(), gap_days.end());
	std::size_t next_gap = 0;
	std::int64_t index = 0;
	for (;;) {
		const std::int64_t common = spec_.regular ? NextCommonDay(index) : -1;
		while (next_gap < gap_days.size() && day_sets_.Index(gap_days[next_gap]) < index)
			next_gap++;
		const std::int64_t gap = next_gap < gap_days.size() ? day_sets_.Index(gap_days[next_gap]) : -1;
		if (common < 0 && gap < 0)
			return std::nullopt;
		const std::int64_t chosen = common < 0 ? gap : (gap < 0 ? common : std::min(common, gap));
		const std::int64_t day = day_sets_.DayAt(chosen);
		index = chosen + 1;
		if (chosen != gap && spec_.modulus > 1 && horizon_.IsPlainDay(day) && !ResidueAllows(day))
			continue;
		const DayResult result = EvaluateDay(day);
		if (result.first)
			return PairHit{*result.first, result.count};
	}
}

/* Residue masks of an interval job (n seconds) against a cron job's common masks; see ResidueAllows. */
void
PrepareResidues(PairSpec &spec, int n)
{
	const int g = std::gcd(n, kSecondsInMinute);
	const int reduced = n / g;
	if (reduced == 1)
		return;
	spec.modulus = n;
	if (reduced >= 64)
		return; /* no room for residue masks (N > 59 is not a pg_cron interval): full day checks */
	spec.residue_mod = reduced;
	const int step = (kSecondsInMinute / g) % reduced;
	int inverse = 1;
	while (step * inverse % reduced != 1)
		inverse++;
	for (int s = 0; s < kSecondsInMinute; s += g)
		if ((spec.masks.seconds >> s & 1U) != 0)
			spec.residue_targets |= std::uint64_t{1} << FloorMod(-(s / g) * inverse, reduced);
	std::uint64_t minute_residues = 0;
	for (int m = 0; m < kMinutesInHour; m++)
		if ((spec.masks.minutes >> m & 1U) != 0)
			minute_residues |= std::uint64_t{1} << (m % reduced);
	for (int h = 0; h < kHoursInDay; h++)
		if ((spec.masks.hours >> h & 1U) != 0)
			spec.residue_times |= RotateUp(minute_residues, h * kMinutesInHour % reduced, reduced);
}

/* Multiples of lcm(N1, N2): the first after `from`, and how many fall in its local day. */
std::optional<PairHit>
EvaluateIntervals(const FireProfile &a, const FireProfile &b, const ZoneHorizon &horizon)
{
	const std::int64_t step = std::lcm(std::int64_t{a.interval}, std::int64_t{b.interval});
	const Instant first = horizon.From() - FloorMod(horizon.From(), step) + step;
	if (first > horizon.End())
		return std::nullopt;
	std::int64_t per_day = 0;
	for (const DayPiece &piece : horizon.Pieces(horizon.LocalDayOf(first))) {
		const Instant lo = piece.local_lo - piece.offset;
		const Instant hi = piece.local_hi - piece.offset;
		per_day += FloorDiv(hi - 1, step) - FloorDiv(lo - 1, step);
	}
	return PairHit{first, per_day};
}

/* The effective fire instants of a job in [lo, hi), at most kMaxWalkSteps of them. */
std::vector<Instant>
FiresBetween(const FireProfile &p, Instant lo, Instant hi, const ZoneHorizon &horizon)
{
	std::vector<Instant> out;
	for (std::optional<Instant> t = NextEffectiveFire(p, lo - 1, horizon); t && *t < hi && out.size() < kMaxWalkSteps;
	     t = NextEffectiveFire(p, *t, horizon))
		out.push_back(*t);
	return out;
}

/*
 * Fallback for zones with sub-minute UTC offsets in the horizon (local mean
 * time, before the 1970s), where the mask model does not hold: leapfrog the
 * two jobs' fire instants with NextFire until they meet, then enumerate the
 * local day of the meeting. Bounded by kMaxWalkSteps: a pair still apart
 * after that many steps counts as collision-free.
 */
std::optional<PairHit>
WalkPair(const FireProfile &a, const ZoneHorizon &ha, const FireProfile &b, const ZoneHorizon &hb)
{
	const ZoneHorizon &horizon = ha; /* per_day: the local day in a's zone */
	Instant t = horizon.From();
	for (std::size_t step = 0; step < kMaxWalkSteps; step++) {
		const std::optional<Instant> ta = NextEffectiveFire(a, t, horizon);
		if (!ta || *ta > horizon.End())
			return std::nullopt;
		const std::optional<Instant> tb = NextEffectiveFire(b, *ta - 1, hb);
		if (!tb || *tb > horizon.End())
			return std::nullopt;
		if (*tb == *ta) {
			const std::int64_t day = horizon.LocalDayOf(*ta);
			Instant lo = std::numeric_limits<Instant>::max();
			Instant hi = std::numeric_limits<Instant>::min();
			for (const DayPiece &piece : horizon.Pieces(day)) {
				lo = std::min(lo, piece.local_lo - piece.offset);
				hi = std::max(hi, piece.local_hi - piece.offset);
			}
			const std::vector<Instant> fires_a = FiresBetween(a, lo, hi, horizon);
			const std::vector<Instant> fires_b = FiresBetween(b, lo, hi, hb);
			std::vector<Instant> common;
			std::set_intersection(fires_a.begin(), fires_a.end(), fires_b.begin(), fires_b.end(),
			                      std::back_inserter(common));
			const auto per_day =
			    std::count_if(common.begin(), common.end(), [&](Instant x) { return horizon.LocalDayOf(x) == day; });
			return PairHit{*ta, per_day};
		}
		t = *tb - 1;
	}
	return std::nullopt;
}

/*
 * Two cron jobs of different zones (both with whole-minute offsets): see the
 * zoned EvaluatePair in collision_pair.hpp.
 */
class CrossWalk {
public:
	CrossWalk(const FireProfile &a, const ZoneContext &za, const FireProfile &b, const ZoneContext &zb, bool count)
	    : a_(a), za_(za), b_(b), zb_(zb), seconds_(a.masks.seconds & b.masks.seconds), count_(count)
	{
	}

	std::optional<PairHit>
	Run() const
	{
		std::optional<Instant> first = FirstGapHit();
		/*
		 * Regular fires meet only at common seconds and UTC minutes of the
		 * day (supersets: the local times under every offset of the horizon);
		 * this keeps pairs that never meet (daily jobs at other UTC times) off the walk.
		 */
		constexpr std::uint32_t kAllHours = (1U << 24) - 1;
		const bool restricted = a_.masks.hours != kAllHours && b_.masks.hours != kAllHours;
		if (seconds_ != 0 && (a_.bucket_minutes & b_.bucket_minutes) != 0 &&
		    (!restricted || (UtcMinutesOfDay(a_, za_.horizon) & UtcMinutesOfDay(b_, zb_.horizon)).any())) {
			const bool a_sparser = FiresPerDay(a_) <= FiresPerDay(b_);
			const std::optional<Instant> regular =
			    a_sparser ? FirstRegular(a_, za_, b_, zb_, first) : FirstRegular(b_, zb_, a_, za_, first);
			if (regular && (!first || *regular < *first))
				first = regular;
		}
		if (!first)
			return std::nullopt;
		return PairHit{*first, count_ ? CountDay(za_.horizon.LocalDayOf(*first)) : 0};
	}

private:
	using DayMinutes = std::bitset<kMinutesPerDay>;

	/* The UTC minutes of the day at which a job may fire regularly: its local times under each offset. */
	static DayMinutes
	UtcMinutesOfDay(const FireProfile &p, const ZoneHorizon &horizon)
	{
		DayMinutes local;
		const DayMinutes minutes(p.masks.minutes);
		for (std::uint32_t hours = p.masks.hours; hours != 0; hours &= hours - 1)
			local |= minutes << static_cast<std::size_t>(__builtin_ctz(hours) * kMinutesInHour);
		DayMinutes out;
		for (const std::int64_t offset : horizon.DistinctOffsets()) {
			const auto k = static_cast<std::size_t>(FloorMod(-FloorDiv(offset, kSecondsPerMinute), kMinutesPerDay));
			out |= k == 0 ? local : (local << k) | (local >> (kMinutesPerDay - k));
		}
		return out;
	}

	static std::int64_t
	FiresPerDay(const FireProfile &p)
	{
		return __builtin_popcount(p.masks.hours) * __builtin_popcountll(p.masks.minutes);
	}

	/*
	 * Calls fn(minute_start) for each minute at which `s` fires regularly on
	 * local day `day`, in order, skipping pieces and hours that end at or
	 * before the instant `after`; stops when fn returns false.
	 */
	template <typename Fn>
	static bool
	ForEachMinute(const FireProfile &s, const ZoneContext &zs, std::int64_t day, Instant after, Fn fn)
	{
		const std::int64_t day_lo = day * kSecondsPerDay;
		for (const DayPiece &piece : zs.horizon.Pieces(day)) {
			if ((piece.repeat && s.fixed_time) || piece.local_hi - piece.offset <= after)
				continue;
			for (std::uint32_t hours = s.masks.hours; hours != 0; hours &= hours - 1) {
				const int h = __builtin_ctz(hours);
				const std::int64_t hour_lo = day_lo + h * kSecondsPerHour;
				if (hour_lo + kSecondsPerHour <= piece.local_lo || hour_lo >= piece.local_hi ||
				    hour_lo + kSecondsPerHour - piece.offset <= after)
					continue;
				for (std::uint64_t minutes = s.masks.minutes; minutes != 0; minutes &= minutes - 1) {
					const std::int64_t local = hour_lo + __builtin_ctzll(minutes) * kSecondsPerMinute;
					if (local < piece.local_lo || local >= piece.local_hi)
						continue;
					if (!fn(local - piece.offset))
						return false;
				}
			}
		}
		return true;
	}

	/* The first common second of the minute starting at `minute_start` that lies after `from`, or -1. */
	int
	FirstSecond(Instant minute_start) const
	{
		std::uint64_t seconds = seconds_;
		const std::int64_t after = za_.horizon.From() - minute_start + 1;
		if (after > 0)
			seconds &= after >= kSecondsInMinute ? 0 : ~LowBits(after);
		return seconds == 0 ? -1 : __builtin_ctzll(seconds);
	}

	/* The first instant in (from, min(end, bound)) where `s` (walked) and `o` (tested) both fire regularly. */
	std::optional<Instant>
	FirstRegular(const FireProfile &s, const ZoneContext &zs, const FireProfile &o, const ZoneContext &zo,
	             std::optional<Instant> bound) const
	{
		const std::int64_t limit = bound ? *bound : zs.horizon.End() + 1;
		const std::uint64_t *days = zs.day_sets.Bits(s.day_set);
		const std::int64_t count = zs.day_sets.DayCount();
		const Instant from = zs.horizon.From();
		/* days before the one holding `from` end before it */
		const std::int64_t start = zs.day_sets.Index(zs.horizon.LocalDayOf(from)) - 1;
		for (std::int64_t w = std::max<std::int64_t>(start, 0) / 64; w * 64 < count; w++) {
			for (std::uint64_t bits = days[static_cast<std::size_t>(w)]; bits != 0; bits &= bits - 1) {
				const std::int64_t index = w * 64 + __builtin_ctzll(bits);
				if (index >= count)
					break;
				if (index < start)
					continue;
				std::optional<Instant> found;
				bool past = false;
				ForEachMinute(s, zs, zs.day_sets.DayAt(index), from, [&](Instant minute_start) {
					if (minute_start >= limit) {
						past = true;
						return false;
					}
					const int second = FirstSecond(minute_start);
					if (second < 0 || minute_start + second >= limit)
						return true;
					if (!FiresRegularlyAt(o, minute_start + second, zo.horizon, zo.day_sets))
						return true;
					found = minute_start + second;
					return false;
				});
				if (found)
					return found;
				if (past)
					return std::nullopt;
			}
		}
		return std::nullopt;
	}

	bool
	BothFire(Instant x) const
	{
		return FiresAt(a_, x, za_.horizon, za_.day_sets) && FiresAt(b_, x, zb_.horizon, zb_.day_sets);
	}
	bool
	BothRegular(Instant x) const
	{
		return FiresRegularlyAt(a_, x, za_.horizon, za_.day_sets) && FiresRegularlyAt(b_, x, zb_.horizon, zb_.day_sets);
	}

	std::vector<Instant>
	GapCandidates() const
	{
		std::vector<Instant> out;
		for (const FireProfile *p : {&a_, &b_})
			for (const GapFire &g : p->gap_fires)
				out.push_back(g.at);
		std::sort(out.begin(), out.end());
		out.erase(std::unique(out.begin(), out.end()), out.end());
		return out;
	}

	std::optional<Instant>
	FirstGapHit() const
	{
		for (const Instant x : GapCandidates())
			if (BothFire(x))
				return x;
		return std::nullopt;
	}

	/*
	 * Common instants on a's local day `day`: the regular fire minutes of the
	 * sparser job within the instants of that day, each tested against the
	 * other's rule, plus gap fires.
	 */
	std::int64_t
	CountDay(std::int64_t day) const
	{
		std::int64_t count = 0;
		Instant lo = std::numeric_limits<Instant>::max();
		Instant hi = std::numeric_limits<Instant>::min();
		for (const DayPiece &piece : za_.horizon.Pieces(day)) {
			lo = std::min(lo, piece.local_lo - piece.offset);
			hi = std::max(hi, piece.local_hi - piece.offset);
		}
		if (seconds_ != 0) {
			const bool a_sparser = FiresPerDay(a_) <= FiresPerDay(b_);
			const FireProfile &s = a_sparser ? a_ : b_;
			const ZoneContext &zs = a_sparser ? za_ : zb_;
			const FireProfile &o = a_sparser ? b_ : a_;
			const ZoneContext &zo = a_sparser ? zb_ : za_;
			const int lowest = __builtin_ctzll(seconds_);
			for (std::int64_t d = zs.horizon.LocalDayOf(lo); d <= zs.horizon.LocalDayOf(hi - 1); d++) {
				if (!zs.horizon.InDays(d) || !zs.day_sets.Contains(s.day_set, d))
					continue;
				ForEachMinute(s, zs, d, std::numeric_limits<Instant>::min(), [&](Instant minute_start) {
					if (minute_start >= lo && minute_start < hi &&
					    FiresRegularlyAt(o, minute_start + lowest, zo.horizon, zo.day_sets))
						count += __builtin_popcountll(seconds_);
					return true;
				});
			}
		}
		for (const Instant x : GapCandidates())
			if (za_.horizon.LocalDayOf(x) == day && BothFire(x) && !BothRegular(x))
				count++;
		return count;
	}

	const FireProfile &a_;
	const ZoneContext &za_;
	const FireProfile &b_;
	const ZoneContext &zb_;
	std::uint64_t seconds_;
	bool count_; /* fill PairHit::per_day */
};

} // namespace

std::optional<PairHit>
EvaluatePair(const FireProfile &a, const FireProfile &b, const ZoneHorizon &horizon, const DaySets &day_sets)
{
	if (a.kind == FireKind::kSilent || b.kind == FireKind::kSilent || (a.bucket_seconds & b.bucket_seconds) == 0)
		return std::nullopt;
	if (a.kind == FireKind::kInterval && b.kind == FireKind::kInterval)
		return EvaluateIntervals(a, b, horizon);
	if (!horizon.WholeMinuteOffsets())
		return WalkPair(a, horizon, b, horizon);
	PairSpec spec;
	spec.a = &a;
	spec.b = &b;
	if (a.kind == FireKind::kCron && b.kind == FireKind::kCron) {
		spec.masks = TimeMasks{a.masks.hours & b.masks.hours, a.masks.minutes & b.masks.minutes,
		                       a.masks.seconds & b.masks.seconds};
		spec.skip_repeat = a.fixed_time || b.fixed_time;
		spec.days_a = day_sets.Bits(a.day_set);
		spec.days_b = day_sets.Bits(b.day_set);
	} else {
		const FireProfile &cron = a.kind == FireKind::kCron ? a : b;
		const FireProfile &interval = a.kind == FireKind::kCron ? b : a;
		spec.masks = cron.masks;
		spec.skip_repeat = cron.fixed_time;
		spec.days_a = day_sets.Bits(cron.day_set);
		spec.masks.seconds &= interval.bucket_seconds; /* multiples of gcd(N, 60) */
		PrepareResidues(spec, interval.interval);
	}
	spec.regular = !spec.masks.Empty();
	if (!spec.regular && a.gap_fires.empty() && b.gap_fires.empty())
		return std::nullopt;
	return PairWalk(spec, horizon, day_sets).Run();
}

} // namespace js::core::collide

namespace js::core::collide {

std::optional<PairHit>
EvaluatePair(const FireProfile &a, const ZoneContext &za, const FireProfile &b, const ZoneContext &zb, bool count)
{
	if (&za == &zb)
		return EvaluatePair(a, b, za.horizon, za.day_sets);
	if (a.kind == FireKind::kSilent || b.kind == FireKind::kSilent || (a.bucket_seconds & b.bucket_seconds) == 0)
		return std::nullopt;
	if (a.kind == FireKind::kInterval)
		return EvaluatePair(a, b, zb.horizon, zb.day_sets);
	if (b.kind == FireKind::kInterval)
		return EvaluatePair(a, b, za.horizon, za.day_sets);
	if (!za.horizon.WholeMinuteOffsets() || !zb.horizon.WholeMinuteOffsets())
		return WalkPair(a, za.horizon, b, zb.horizon);
	return CrossWalk(a, za, b, zb, count).Run();
}

} // namespace js::core::collide
