/*
 * A job's effective fire instants over the collision horizon, in a form that
 * makes pairs cheap to compare.
 *
 * A cron job fires at every local time whose day is in its day set and whose
 * hour, minute and second are in its masks (the seconds already shifted by
 * its stagger offset), except that a fixed-time job skips the repeated local
 * times after a backward transition; in addition a fixed-time job fires at
 * the instant of a forward transition (plus its offset) when one of its
 * local times falls into the skipped gap (a "gap fire", see NextFire). An
 * interval job fires at every multiple of N seconds.
 *
 * This model needs whole-minute UTC offsets over the horizon (true for every
 * zone since the 1970s): then the second of the minute is the same in local
 * time and in UTC, and a shift of 0-59 seconds never crosses an offset
 * change. Otherwise (ZoneHorizon::WholeMinuteOffsets() false) pairs are
 * compared by walking their fire instants instead (collision_pair.hpp).
 *
 * Internal to the collision analysis (collisions.hpp is the public API).
 */
#pragma once

#include "core/collision_horizon.hpp"
#include "core/cron.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace js::core::collide {

constexpr int kSecondsInMinute = 60;
constexpr std::uint64_t kAllSeconds = (std::uint64_t{1} << kSecondsInMinute) - 1;

/* Hours, minutes and seconds of the day as bit masks: the times of day h:m:s with all three bits set. */
struct TimeMasks {
	std::uint32_t hours = 0;
	std::uint64_t minutes = 0;
	std::uint64_t seconds = 0;

	bool
	Empty() const
	{
		return hours == 0 || minutes == 0 || seconds == 0;
	}
};

/* Number of matching times of day strictly below `second_of_day` (0-86400). */
std::int64_t CountTimesBefore(const TimeMasks &m, std::int64_t second_of_day);
/* The first matching time of day at or after `second_of_day`, or -1. */
std::int64_t FirstTimeAtOrAfter(const TimeMasks &m, std::int64_t second_of_day);
/* Whether a time of day matches. */
bool TimeMatches(const TimeMasks &m, std::int64_t second_of_day);

/*
 * Day sets (the days a schedule's month, day-of-month and day-of-week rule
 * accepts) as bitsets over the horizon's days, computed once per distinct
 * rule and shared by every job with that rule.
 */
class DaySets {
public:
	explicit DaySets(const ZoneHorizon &horizon);

	/* The id of the day set of `schedule` (a cron schedule). */
	int Intern(const CronSchedule &schedule);

	const std::uint64_t *
	Bits(int id) const
	{
		return storage_.data() + static_cast<std::size_t>(id) * words_;
	}
	std::size_t
	Words() const
	{
		return words_;
	}
	/* Whether `day` is in set `id` (false outside the horizon's days). */
	bool Contains(int id, std::int64_t day) const;
	/* Bit index of a day. */
	std::int64_t
	Index(std::int64_t day) const
	{
		return day - first_day_;
	}
	std::int64_t
	DayAt(std::int64_t index) const
	{
		return first_day_ + index;
	}
	std::int64_t
	DayCount() const
	{
		return last_day_ - first_day_ + 1;
	}

private:
	void Fill(const CronSchedule &schedule, std::uint64_t *bits) const;

	std::int64_t first_day_;
	std::int64_t last_day_;
	std::size_t words_;
	std::unordered_map<std::uint64_t, int> ids_;
	std::vector<std::uint64_t> storage_;
};

enum class FireKind : std::uint8_t {
	kSilent,   /* never fires (@reboot, impossible date) */
	kCron,     /* fires at local times, see above */
	kInterval, /* fires at multiples of `interval` seconds */
};

struct GapFire {
	Instant at = 0;
	std::int64_t day = 0; /* local day of `at` */
};

struct FireProfile {
	FireKind kind = FireKind::kSilent;
	const CronSchedule *schedule = nullptr; /* the nominal schedule (outlives the profile) */
	TimeMasks masks;                        /* kCron: effective local times of day */
	std::uint64_t nominal_seconds = 0;      /* kCron: seconds before the shift (gap matching) */
	bool fixed_time = false;                /* kCron: hour field restricted (DST rules of cron.hpp) */
	int day_set = -1;                       /* kCron: id in DaySets */
	int shift = 0;                          /* applied stagger offset */
	int interval = 0;                       /* kInterval: N */
	std::vector<GapFire> gap_fires;         /* kCron, fixed-time: in (from, end] */
	/*
	 * Seconds and UTC minutes of the hour at which the job may fire:
	 * supersets, used to bucket jobs. UTC (the local minutes rotated by the
	 * zone's MinuteRotations) so that jobs of different zones compare.
	 */
	std::uint64_t bucket_seconds = 0;
	std::uint64_t bucket_minutes = 0;
};

/* {(m + r) mod 60 : m in `minutes`, r in `rotations`}: local minutes of the hour as UTC minutes. */
std::uint64_t RotateMinutes(std::uint64_t minutes, std::uint64_t rotations);

/*
 * One zone's horizon with its day sets: what profiles of that zone's jobs
 * are built in. Profiles of one context compare with EvaluatePair(a, b,
 * horizon, day_sets); profiles of two contexts with the zoned EvaluatePair
 * (collision_pair.hpp).
 */
struct ZoneContext {
	ZoneHorizon horizon;
	DaySets day_sets;
	bool gaps = false; /* a spring-forward transition in the horizon */
	ZoneContext(const TimeZone &tz, Instant from);
	ZoneContext(const ZoneContext &) = delete;
	ZoneContext &operator=(const ZoneContext &) = delete;
};

/*
 * The zones of a set of jobs, one context each, made on first use: index 0
 * is the default zone (job_stagger.timezone), a job's own zone gets its own
 * index (a zone named like the default one is the default one).
 */
class ZoneSet {
public:
	ZoneSet(const TimeZone &default_tz, Instant from);
	/* The index of a job's zone (nullopt: the default). */
	int Index(const std::optional<TimeZone> &tz);
	ZoneContext &
	At(int index) const
	{
		return *contexts_[static_cast<std::size_t>(index)];
	}
	std::size_t
	Size() const
	{
		return contexts_.size();
	}
	/* Every zone so far has whole-minute offsets (seconds of the minute are the same in all of them). */
	bool AllWholeMinutes() const;

private:
	Instant from_;
	std::vector<std::unique_ptr<ZoneContext>> contexts_;
	std::unordered_map<std::string, int> ids_;
};

/* The profile of a job; `schedule` must outlive it (the profile keeps a pointer for NextFire walks). */
FireProfile BuildFireProfile(const CronSchedule &schedule, int offset, bool stagger_enabled, const ZoneHorizon &horizon,
                             DaySets &day_sets);

/* Whether the job fires at instant x through its regular local-time rule (gap fires not included). */
bool FiresRegularlyAt(const FireProfile &p, Instant x, const ZoneHorizon &horizon, const DaySets &day_sets);
/* Whether the job fires at instant x at all. */
bool FiresAt(const FireProfile &p, Instant x, const ZoneHorizon &horizon, const DaySets &day_sets);

/* The first effective fire instant strictly after t (NextFire plus the shift; interval jobs: next multiple). */
std::optional<Instant> NextEffectiveFire(const FireProfile &p, Instant t, const ZoneHorizon &horizon);

/* The seconds of the minute at which the job really fires within the horizon (exact). */
std::uint64_t FiringSeconds(const FireProfile &p, const ZoneHorizon &horizon, const DaySets &day_sets);

} // namespace js::core::collide

#include "core/cpp_only.hpp"
