/*
 * Fire profiles: time-of-day mask arithmetic, day sets over the horizon, and
 * per-job profiles including gap fires at forward DST transitions.
 */
#include "core/fire_profile.hpp"

#include "core/civil.hpp"
#include "core/stagger.hpp"

#include <algorithm>
#include <numeric>

namespace js::core::collide {
namespace {

constexpr int kHoursInDay = 24;
constexpr int kMinutesInHour = 60;
constexpr int kMonthsInYear = 12;
constexpr int kDaysPerWeek = 7;
/* FiringSeconds walks at most this many fires of a job whose days are all irregular. */
constexpr int kMaxSecondsWalk = 200000;

/* Bits 0..n-1. */
inline std::uint64_t
LowBits(std::int64_t n)
{
	return n >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << n) - 1;
}

inline int
PopCount(std::uint64_t v)
{
	return __builtin_popcountll(v);
}

/* The first set bit at position >= from (below `limit`), or -1. */
inline int
NextBit(std::uint64_t mask, int from, int limit)
{
	if (from >= limit)
		return -1;
	const std::uint64_t rest = (mask & LowBits(limit)) >> from;
	return rest == 0 ? -1 : from + __builtin_ctzll(rest);
}

/* Whether the local times [lo, hi) hold a time matching the masks on a day of the day set. */
bool
HitsLocalRange(const TimeMasks &masks, int day_set, const DaySets &day_sets, std::int64_t lo, std::int64_t hi)
{
	for (std::int64_t day = FloorDiv(lo, kSecondsPerDay); day * kSecondsPerDay < hi; day++) {
		if (!day_sets.Contains(day_set, day))
			continue;
		const std::int64_t day_lo = day * kSecondsPerDay;
		const std::int64_t from = std::max(lo, day_lo) - day_lo;
		const std::int64_t to = std::min(hi, day_lo + kSecondsPerDay) - day_lo;
		if (CountTimesBefore(masks, to) > CountTimesBefore(masks, from))
			return true;
	}
	return false;
}

/*
 * Gap fires of a fixed-time job: at each forward transition whose skipped
 * local times hold one of the job's (nominal) times, the job fires once at
 * the transition instant, shifted by its offset.
 */
void
AddGapFires(FireProfile &p, const ZoneHorizon &horizon, const DaySets &day_sets)
{
	const TimeMasks nominal{p.masks.hours, p.masks.minutes, p.nominal_seconds};
	for (const Transition &tr : horizon.Transitions()) {
		if (tr.offset_after <= tr.offset_before)
			continue;
		const Instant at = tr.at + p.shift;
		if (at <= horizon.From() || at > horizon.End())
			continue;
		if (!HitsLocalRange(nominal, p.day_set, day_sets, tr.at + tr.offset_before, tr.at + tr.offset_after))
			continue;
		p.gap_fires.push_back(GapFire{at, horizon.LocalDayOf(at)});
		p.bucket_seconds |= std::uint64_t{1} << FloorMod(at, kSecondsInMinute);
		p.bucket_minutes |= std::uint64_t{1} << FloorMod(FloorDiv(at + horizon.OffsetAt(at), kSecondsInMinute), 60);
	}
}

/* The seconds of the job's fires in the horizon, fire by fire (bounded; past the bound, the mask is assumed). */
std::uint64_t
WalkFiringSeconds(const FireProfile &p, const ZoneHorizon &horizon)
{
	std::uint64_t seconds = 0;
	Instant t = horizon.From();
	for (int steps = 0; steps < kMaxSecondsWalk; steps++) {
		const std::optional<Instant> next = NextEffectiveFire(p, t, horizon);
		if (!next || *next > horizon.End())
			return seconds;
		seconds |= std::uint64_t{1} << FloorMod(*next, kSecondsInMinute);
		t = *next;
	}
	return seconds | p.bucket_seconds;
}

} // namespace

std::int64_t
CountTimesBefore(const TimeMasks &m, std::int64_t second_of_day)
{
	if (second_of_day <= 0)
		return 0;
	const std::int64_t per_minute = PopCount(m.seconds & kAllSeconds);
	const std::int64_t per_hour = PopCount(m.minutes & LowBits(kMinutesInHour)) * per_minute;
	if (second_of_day >= kSecondsPerDay)
		return PopCount(m.hours & LowBits(kHoursInDay)) * per_hour;
	const std::int64_t hour = second_of_day / kSecondsPerHour;
	const std::int64_t minute = second_of_day % kSecondsPerHour / kSecondsPerMinute;
	const std::int64_t second = second_of_day % kSecondsPerMinute;
	std::int64_t count = PopCount(m.hours & LowBits(hour)) * per_hour;
	if ((m.hours >> hour & 1U) != 0) {
		count += PopCount(m.minutes & LowBits(minute)) * per_minute;
		if ((m.minutes >> minute & 1U) != 0)
			count += PopCount(m.seconds & LowBits(second));
	}
	return count;
}

std::int64_t
FirstTimeAtOrAfter(const TimeMasks &m, std::int64_t second_of_day)
{
	if (second_of_day >= kSecondsPerDay)
		return -1;
	const int hour0 = static_cast<int>(second_of_day / kSecondsPerHour);
	const int minute0 = static_cast<int>(second_of_day % kSecondsPerHour / kSecondsPerMinute);
	const int second0 = static_cast<int>(second_of_day % kSecondsPerMinute);
	for (int h = NextBit(m.hours, hour0, kHoursInDay); h >= 0; h = NextBit(m.hours, h + 1, kHoursInDay)) {
		const int first_minute = h == hour0 ? minute0 : 0;
		for (int mi = NextBit(m.minutes, first_minute, kMinutesInHour); mi >= 0;
		     mi = NextBit(m.minutes, mi + 1, kMinutesInHour)) {
			const int s = NextBit(m.seconds, (h == hour0 && mi == minute0) ? second0 : 0, kSecondsInMinute);
			if (s >= 0)
				return h * kSecondsPerHour + mi * kSecondsPerMinute + s;
		}
	}
	return -1;
}

bool
TimeMatches(const TimeMasks &m, std::int64_t second_of_day)
{
	const std::int64_t hour = second_of_day / kSecondsPerHour;
	const std::int64_t minute = second_of_day % kSecondsPerHour / kSecondsPerMinute;
	const std::int64_t second = second_of_day % kSecondsPerMinute;
	return (m.hours >> hour & 1U) != 0 && (m.minutes >> minute & 1U) != 0 && (m.seconds >> second & 1U) != 0;
}

DaySets::DaySets(const ZoneHorizon &horizon)
    : first_day_(horizon.FirstDay()), last_day_(horizon.LastDay()),
      words_(static_cast<std::size_t>((horizon.LastDay() - horizon.FirstDay() + 1 + 63) / 64))
{
}

/* Ids are keyed by the day rule only (months, days of month and week, `$`, and the two wildcard flags). */
int
DaySets::Intern(const CronSchedule &s)
{
	const std::uint64_t key = std::uint64_t{s.days_of_month} | std::uint64_t{s.months} << 32 |
	                          std::uint64_t{s.days_of_week} << 45 | std::uint64_t{s.last_day_of_month} << 52 |
	                          std::uint64_t{s.dom_wildcard} << 53 | std::uint64_t{s.dow_wildcard} << 54;
	const auto found = ids_.find(key);
	if (found != ids_.end())
		return found->second;
	const int id = static_cast<int>(ids_.size());
	storage_.resize(storage_.size() + words_, 0);
	Fill(s, storage_.data() + static_cast<std::size_t>(id) * words_);
	ids_.emplace(key, id);
	return id;
}

/*
 * Sets the bits of the days the rule accepts, month by month. The day rule
 * is vixie cron's: when both day fields are restricted a day matches either,
 * otherwise it must match both.
 */
void
DaySets::Fill(const CronSchedule &s, std::uint64_t *bits) const
{
	CivilTime c;
	CivilFromDays(first_day_, c);
	std::int64_t year = c.year;
	int month = c.month;
	const bool either = !s.dom_wildcard && !s.dow_wildcard;
	for (std::int64_t month_start = DaysFromCivil(year, month, 1); month_start <= last_day_;) {
		const int days_in_month = DaysInMonth(year, month);
		if ((s.months >> month & 1U) != 0) {
			const int first_weekday = WeekdayFromDays(month_start);
			for (int d = 1; d <= days_in_month; d++) {
				const std::int64_t index = month_start + d - 1 - first_day_;
				if (index < 0 || month_start + d - 1 > last_day_)
					continue;
				const bool dom = (s.days_of_month >> d & 1U) != 0 || (s.last_day_of_month && d == days_in_month);
				const bool dow = (s.days_of_week >> ((first_weekday + d - 1) % kDaysPerWeek) & 1U) != 0;
				if (either ? (dom || dow) : (dom && dow))
					bits[index / 64] |= std::uint64_t{1} << (index % 64);
			}
		}
		month_start += days_in_month;
		if (++month > kMonthsInYear) {
			month = 1;
			year++;
		}
	}
}

bool
DaySets::Contains(int id, std::int64_t day) const
{
	if (id < 0 || day < first_day_ || day > last_day_)
		return false;
	const std::int64_t index = day - first_day_;
	return (Bits(id)[index / 64] >> (index % 64) & 1U) != 0;
}

FireProfile
BuildFireProfile(const CronSchedule &schedule, int offset, bool stagger_enabled, const ZoneHorizon &horizon,
                 DaySets &day_sets)
{
	FireProfile p;
	if (schedule.kind == ScheduleKind::kInterval && schedule.interval_seconds > 0) {
		p.kind = FireKind::kInterval;
		p.interval = schedule.interval_seconds;
		const int step = std::gcd(p.interval, kSecondsInMinute);
		for (int s = 0; s < kSecondsInMinute; s += step)
			p.bucket_seconds |= std::uint64_t{1} << s;
		p.bucket_minutes = kAllSeconds; /* every minute: same 60-bit mask */
		return p;
	}
	if (schedule.kind != ScheduleKind::kCron || !schedule.can_fire)
		return p;
	p.kind = FireKind::kCron;
	p.schedule = &schedule;
	p.shift = AppliedOffset(schedule, offset, stagger_enabled);
	p.nominal_seconds = schedule.seconds & kAllSeconds;
	p.masks = TimeMasks{schedule.hours, schedule.minutes, (p.nominal_seconds << p.shift) & kAllSeconds};
	p.fixed_time = !schedule.hour_wildcard;
	p.day_set = day_sets.Intern(schedule);
	p.bucket_seconds = p.masks.seconds;
	p.bucket_minutes = p.masks.minutes;
	if (p.fixed_time)
		AddGapFires(p, horizon, day_sets);
	p.bucket_minutes = RotateMinutes(p.bucket_minutes, horizon.MinuteRotations());
	if (!horizon.WholeMinuteOffsets()) {
		p.bucket_seconds = kAllSeconds; /* local seconds are not UTC seconds */
		p.bucket_minutes = kAllSeconds;
	}
	return p;
}

std::uint64_t
RotateMinutes(std::uint64_t minutes, std::uint64_t rotations)
{
	if (rotations == 1)
		return minutes;
	std::uint64_t out = 0;
	for (; rotations != 0; rotations &= rotations - 1) {
		const int r = __builtin_ctzll(rotations);
		out |= r == 0 ? minutes : ((minutes << r) | (minutes >> (kSecondsInMinute - r))) & kAllSeconds;
	}
	return out;
}

ZoneContext::ZoneContext(const TimeZone &tz, Instant from) : horizon(tz, from), day_sets(horizon)
{
	for (const Transition &tr : horizon.Transitions())
		gaps = gaps || tr.offset_after > tr.offset_before;
}

ZoneSet::ZoneSet(const TimeZone &default_tz, Instant from) : from_(from)
{
	contexts_.push_back(std::make_unique<ZoneContext>(default_tz, from));
	ids_.emplace(default_tz.Name(), 0);
}

int
ZoneSet::Index(const std::optional<TimeZone> &tz)
{
	if (!tz)
		return 0;
	auto it = ids_.find(tz->Name());
	if (it != ids_.end())
		return it->second;
	const int id = static_cast<int>(contexts_.size());
	contexts_.push_back(std::make_unique<ZoneContext>(*tz, from_));
	ids_.emplace(tz->Name(), id);
	return id;
}

bool
ZoneSet::AllWholeMinutes() const
{
	return std::all_of(contexts_.begin(), contexts_.end(),
	                   [](const std::unique_ptr<ZoneContext> &c) { return c->horizon.WholeMinuteOffsets(); });
}

bool
FiresRegularlyAt(const FireProfile &p, Instant x, const ZoneHorizon &horizon, const DaySets &day_sets)
{
	switch (p.kind) {
	case FireKind::kSilent:
		return false;
	case FireKind::kInterval:
		return FloorMod(x, p.interval) == 0;
	case FireKind::kCron:
		break;
	}
	const std::int64_t local = x + horizon.OffsetAt(x);
	const std::int64_t day = FloorDiv(local, kSecondsPerDay);
	if (!day_sets.Contains(p.day_set, day) || !TimeMatches(p.masks, local - day * kSecondsPerDay))
		return false;
	return !(p.fixed_time && horizon.InRepeatWindow(x));
}

bool
FiresAt(const FireProfile &p, Instant x, const ZoneHorizon &horizon, const DaySets &day_sets)
{
	if (FiresRegularlyAt(p, x, horizon, day_sets))
		return true;
	return std::any_of(p.gap_fires.begin(), p.gap_fires.end(), [x](const GapFire &g) { return g.at == x; });
}

/*
 * A cron job whose day set holds a plain day well inside the horizon fires
 * at every second of its mask that day. Otherwise (its days are all at the
 * edges or on transition days) its fires are walked one by one.
 */
std::optional<Instant>
NextEffectiveFire(const FireProfile &p, Instant t, const ZoneHorizon &horizon)
{
	if (p.kind == FireKind::kInterval)
		return t - FloorMod(t, p.interval) + p.interval;
	if (p.kind != FireKind::kCron)
		return std::nullopt;
	const std::optional<Instant> next = NextFire(*p.schedule, t - p.shift, horizon.Zone());
	return next ? std::optional<Instant>(*next + p.shift) : std::nullopt;
}

std::uint64_t
FiringSeconds(const FireProfile &p, const ZoneHorizon &horizon, const DaySets &day_sets)
{
	if (p.kind != FireKind::kCron)
		return p.kind == FireKind::kInterval ? p.bucket_seconds : 0;
	if (!horizon.WholeMinuteOffsets())
		return WalkFiringSeconds(p, horizon);
	constexpr std::int64_t kEdgeDays = 3;
	const std::uint64_t *days = day_sets.Bits(p.day_set);
	const std::vector<std::uint64_t> &plain = horizon.PlainBits();
	const std::int64_t lo = kEdgeDays;
	const std::int64_t hi = day_sets.DayCount() - kEdgeDays; /* exclusive */
	for (std::int64_t w = lo / 64; w * 64 < hi; w++) {
		std::uint64_t both = days[w] & plain[static_cast<std::size_t>(w)];
		if (w * 64 < lo)
			both &= ~LowBits(lo - w * 64);
		if ((w + 1) * 64 > hi)
			both &= LowBits(hi - w * 64);
		if (both != 0)
			return p.bucket_seconds; /* the mask plus the seconds of gap fires */
	}
	return WalkFiringSeconds(p, horizon);
}

} // namespace js::core::collide
