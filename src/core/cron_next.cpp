/*
 * NextFire: the first fire instant strictly after a given instant, and the
 * TimeZone wrapper around cctz.
 *
 * The search runs in two layers. NextLocalMatch finds the first matching
 * local (civil) time at or after a local time, with bit-mask scans and
 * carries; it knows nothing about time zones. NextCronFire walks the zone's
 * offset segments (stretches between two transitions, where local time =
 * instant + constant offset) and applies the DST rules documented in
 * cron.hpp at segment boundaries.
 */
#include "core/cron.hpp"

#include "core/civil.hpp"

#include <algorithm>
#include <limits>

namespace js::core {
namespace {

/* The Gregorian calendar repeats every 400 years, so a schedule that can fire does so within 401 years. */
constexpr std::int64_t kMaxSearchYears = 401;
/* Defensive bound on offset segments visited by one call (real zones need at most a handful). */
constexpr int kMaxSegments = 1000;
/* Upper bound on how far two UTC offsets of a zone can differ (real zones: at most about 26 hours). */
constexpr std::int64_t kMaxOffsetSwing = 2 * kSecondsPerDay;
/* Supported instants: years 1 to 9999 (days from the Unix epoch, times seconds). */
constexpr Instant kMinInstant = DaysFromCivil(1, 1, 2) * kSecondsPerDay;
constexpr Instant kMaxInstant = DaysFromCivil(9999, 12, 31) * kSecondsPerDay;
constexpr int kLastMonth = 12;
constexpr std::uint32_t kWeekPattern = 0x7F;
constexpr int kDaysPerWeek = 7;

/* The first set bit at position >= from, or -1. */
inline int
NextBit(std::uint64_t mask, int from)
{
	if (from >= 64)
		return -1;
	const std::uint64_t rest = mask >> from;
	return rest == 0 ? -1 : from + __builtin_ctzll(rest);
}

/* Days of one month (bits 1..days_in_month) that match the day-of-month / day-of-week rule. */
inline std::uint32_t
DayMask(const CronSchedule &s, int days_in_month, std::int64_t first_day)
{
	const std::uint32_t existing = static_cast<std::uint32_t>((std::uint64_t{1} << (days_in_month + 1)) - 2);
	std::uint32_t dom = s.days_of_month & existing;
	if (s.last_day_of_month)
		dom |= std::uint32_t{1} << days_in_month;
	std::uint32_t dow = existing;
	if (s.days_of_week != kWeekPattern) {
		/* Rotate the weekday set so that bit k means "day k+1 of the month", then repeat it weekly. */
		const int w = WeekdayFromDays(first_day);
		const std::uint64_t week = ((s.days_of_week >> w) | (s.days_of_week << (kDaysPerWeek - w))) & kWeekPattern;
		const std::uint64_t month = week | week << 7 | week << 14 | week << 21 | week << 28;
		dow = static_cast<std::uint32_t>(month << 1) & existing;
	}
	if (!s.dom_wildcard && !s.dow_wildcard)
		return dom | dow;
	return dom & dow;
}

/* A broken-down local time being advanced; setting one field resets every smaller one. */
struct SearchCursor : CivilTime {
	void
	SetMonth(int m)
	{
		month = m;
		SetDay(1);
	}
	void
	SetDay(int d)
	{
		day = d;
		SetHour(0);
	}
	void
	SetHour(int h)
	{
		hour = h;
		SetMinute(0);
	}
	void
	SetMinute(int m)
	{
		minute = m;
		second = 0;
	}
};

/*
 * The first local time (local seconds) at or after `start` whose month, day,
 * hour, minute and second all match. Each step jumps to the next set bit of
 * one field and resets the smaller fields when it moves; running off the end
 * of a field carries into the next larger one.
 */
std::optional<std::int64_t>
NextLocalMatch(const CronSchedule &s, std::int64_t start)
{
	SearchCursor c;
	static_cast<CivilTime &>(c) = CivilFromLocalSeconds(start);
	const std::int64_t last_year = c.year + kMaxSearchYears;
	while (c.year <= last_year) {
		const int month = NextBit(s.months, c.month);
		if (month < 0 || c.month > kLastMonth) {
			c.year++;
			c.SetMonth(1);
			continue;
		}
		if (month != c.month)
			c.SetMonth(month);
		const std::int64_t first_day = DaysFromCivil(c.year, c.month, 1);
		const int day = NextBit(DayMask(s, DaysInMonth(c.year, c.month), first_day), c.day);
		if (day < 0) {
			c.SetMonth(c.month + 1);
			continue;
		}
		if (day != c.day)
			c.SetDay(day);
		const int hour = NextBit(s.hours, c.hour);
		if (hour < 0) {
			c.SetDay(c.day + 1);
			continue;
		}
		if (hour != c.hour)
			c.SetHour(hour);
		const int minute = NextBit(s.minutes, c.minute);
		if (minute < 0) {
			c.SetHour(c.hour + 1);
			continue;
		}
		if (minute != c.minute)
			c.SetMinute(minute);
		const int second = NextBit(s.seconds, c.second);
		if (second < 0) {
			c.SetMinute(c.minute + 1);
			continue;
		}
		return (first_day + c.day - 1) * kSecondsPerDay + c.hour * kSecondsPerHour + c.minute * kSecondsPerMinute +
		       second;
	}
	return std::nullopt;
}

cctz::time_point<cctz::seconds>
ToTimePoint(Instant t)
{
	return cctz::time_point<cctz::seconds>(cctz::seconds(t));
}

std::int64_t
LocalSeconds(const cctz::civil_second &cs)
{
	return DaysFromCivil(cs.year(), cs.month(), cs.day()) * kSecondsPerDay + cs.hour() * kSecondsPerHour +
	       cs.minute() * kSecondsPerMinute + cs.second();
}

/*
 * The offset segment containing instant t: its UTC offset, the instant it
 * ends (the next transition), and for fixed-time jobs the transition that
 * started it (the latest one at or before t), as local times.
 */
struct Segment {
	std::int64_t offset = 0;
	Instant end = std::numeric_limits<Instant>::max();
	bool has_start = false;
	Instant start = 0;
	std::int64_t start_from = 0; /* local time jumped from (pre-transition offset) */
	std::int64_t start_to = 0;   /* local time jumped to (post-transition offset) */
};

Segment
SegmentAt(const cctz::time_zone &zone, Instant t, bool want_start)
{
	Segment seg;
	seg.offset = zone.lookup(ToTimePoint(t)).offset;
	cctz::time_zone::civil_transition tr;
	if (zone.next_transition(ToTimePoint(t), &tr))
		seg.end = LocalSeconds(tr.from) - seg.offset;
	if (want_start && zone.prev_transition(ToTimePoint(t + 1), &tr)) {
		seg.has_start = true;
		seg.start_from = LocalSeconds(tr.from);
		seg.start_to = LocalSeconds(tr.to);
		seg.start = seg.start_to - seg.offset;
	}
	return seg;
}

/*
 * kCron: walk offset segments from after + 1. In a segment, local time is
 * instant + offset, so the first local match maps straight to an instant.
 * Fixed-time jobs (hour restricted) additionally:
 *  - after a backward transition, skip local times below the jumped-from
 *    time: those are second occurrences, already fired at the first;
 *  - at the instant of a forward transition, look at the skipped local
 *    times too: a match there fires at the transition instant.
 */
std::optional<Instant>
NextCronFire(const CronSchedule &s, Instant after, const cctz::time_zone &zone)
{
	if (after < kMinInstant || after >= kMaxInstant)
		return std::nullopt;
	const bool fixed_time = !s.hour_wildcard;
	Instant t = after + 1;
	for (int i = 0; i < kMaxSegments; i++) {
		const Segment seg = SegmentAt(zone, t, fixed_time);
		std::int64_t local_start = t + seg.offset;
		std::int64_t gap_end = std::numeric_limits<std::int64_t>::min();
		if (seg.has_start && seg.start_to < seg.start_from) {
			local_start = std::max(local_start, seg.start_from);
		} else if (seg.has_start && seg.start_to > seg.start_from && t == seg.start) {
			local_start = seg.start_from;
			gap_end = seg.start_to;
		}
		const std::optional<std::int64_t> local = NextLocalMatch(s, local_start);
		if (!local)
			return std::nullopt;
		if (*local < gap_end)
			return t;
		const Instant fire = *local - seg.offset;
		if (fire < seg.end)
			return fire <= kMaxInstant ? std::optional<Instant>(fire) : std::nullopt;
		/*
		 * No match in this segment. Local times before *local never match, so
		 * skip ahead to near it, but only once the skipped instants are far
		 * enough from t that their local times cannot fall below local_start.
		 */
		const Instant segment_start = t;
		t = seg.end;
		if (seg.end - segment_start >= 2 * kMaxOffsetSwing)
			t = std::max(t, fire - kMaxOffsetSwing);
		if (t > kMaxInstant)
			return std::nullopt;
	}
	return std::nullopt;
}

/* kInterval: the next multiple of n strictly after `after` (floor semantics, negative epochs too). */
std::optional<Instant>
NextIntervalFire(int n, Instant after)
{
	if (n <= 0 || after > std::numeric_limits<Instant>::max() - n)
		return std::nullopt;
	/* after + (n - floor_mod(after, n)), written so that no intermediate value overflows */
	Instant rem = after % n;
	if (rem < 0)
		rem += n;
	return after + (n - rem);
}

} // namespace

std::optional<TimeZone>
TimeZone::Load(const std::string &name)
{
	/* Names come from tables too (jobs.timezone): never a file path for cctz to open. */
	if (name.empty() || name.size() > 64 || name[0] == '/' || name[0] == '.' || name.find("..") != std::string::npos ||
	    name.find('\0') != std::string::npos)
		return std::nullopt;
	cctz::time_zone zone;
	if (!cctz::load_time_zone(name, &zone))
		return std::nullopt;
	return TimeZone(name, zone);
}

TimeZone
TimeZone::Utc()
{
	return TimeZone("UTC", cctz::utc_time_zone());
}

std::optional<Instant>
NextFire(const CronSchedule &schedule, Instant after, const TimeZone &tz)
{
	switch (schedule.kind) {
	case ScheduleKind::kReboot:
		return std::nullopt;
	case ScheduleKind::kInterval:
		return NextIntervalFire(schedule.interval_seconds, after);
	case ScheduleKind::kCron:
		break;
	}
	if (!schedule.can_fire)
		return std::nullopt;
	return NextCronFire(schedule, after, tz.Zone());
}

} // namespace js::core
