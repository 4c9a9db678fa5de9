/*
 * Exact collision analysis: which jobs fire at the same instant.
 *
 * Every job is read in its own zone (CollisionJob::tz, else the default
 * zone passed as `tz`), and jobs meet on real instants: `0 * * * *` in
 * Asia/Kolkata fires at :30 UTC and meets `30 * * * *` in UTC. A candidate
 * schedule passed on its own (NearestFreeOffset, SpreadOffset, CollidingJobs,
 * MightMeet) is read in `own_tz` (nullopt: the default zone).
 *
 * A job's effective fire instants are NextFire(nominal schedule) shifted by
 * AppliedOffset (stagger.hpp). Two jobs collide when those instants coincide
 * at least once in the horizon after `from`: judged on the real instants in
 * the given time zone, DST rules of cron.hpp included (a fixed-time job whose
 * local time falls into a spring-forward gap fires at the transition instant
 * and can meet a job it never meets on ordinary days).
 *
 * Cancellation: every function that loops over jobs or pairs has an
 * overload taking an Interrupt (interrupt.hpp), polled every few hundred
 * pairs or jobs; it returns a Cancellable whose value is empty when the poll
 * asked to stop. The overloads without one run to completion.
 *
 * Horizon: the kCollisionHorizonDays days (8 Julian years) after `from`. A
 * pair whose first common instant lies further out counts as collision-free;
 * 8 years cover every Feb-29-only schedule, also across 2100.
 *
 * Exact arithmetic needs whole-minute UTC offsets over the horizon (every
 * IANA zone since the 1970s). Older `from` values in a zone still on local
 * mean time fall back to walking each pair's fire instants (bounded, slow).
 */
#pragma once

#include "core/collision_horizon.hpp"
#include "core/cron.hpp"
#include "core/interrupt.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace js::core {

constexpr std::int64_t kCollisionHorizonDays = collide::kHorizonDays;
constexpr int kSecondsOfMinute = 60;

struct CollisionJob {
	std::int64_t jobid = 0;
	std::string name;
	CronSchedule schedule; /* parsed nominal schedule */
	int offset = 0;        /* 0-59 */
	/* the zone its schedule is read in; nullopt: the `tz` argument of the functions below (the default zone) */
	std::optional<TimeZone> tz;
};

/* One colliding pair; index_a < index_b are positions in the input. */
struct CollisionPair {
	std::size_t index_a = 0;
	std::size_t index_b = 0;
	int second = 0;                      /* second of the minute of first_collision */
	Instant first_collision = 0;         /* earliest common fire instant after `from` */
	std::int64_t collisions_per_day = 0; /* common instants in the local day holding first_collision */
};

/*
 * Every colliding pair, each once, sorted by (first_collision, index_a,
 * index_b). Jobs are bucketed by the seconds of the minute they can fire at
 * and only jobs sharing a bucket are compared, with mask and day-set
 * arithmetic (no fire-by-fire walk).
 */
std::vector<CollisionPair> FindCollisions(const std::vector<CollisionJob> &jobs, bool stagger_enabled,
                                          const TimeZone &tz, Instant from);
Cancellable<std::vector<CollisionPair>> FindCollisions(const std::vector<CollisionJob> &jobs, bool stagger_enabled,
                                                       const TimeZone &tz, Instant from, const Interrupt &interrupt);

struct FreeOffset {
	std::optional<int> free_offset; /* closest collision-free offset (ties: the lower) */
	int least_colliding_offset = 0; /* offset with the fewest colliding jobs (ties: closest, then lower) */
	int least_colliding_count = 0;
};

/*
 * The offset (0-59) closest to `wanted` at which a job with `schedule`
 * collides with none of `others`, judged with staggering enabled. Offsets do
 * not move a 6-field, interval or @reboot schedule, so for those the answer
 * is `wanted` itself (free or not).
 */
FreeOffset NearestFreeOffset(const std::vector<CollisionJob> &others, const CronSchedule &schedule, int wanted,
                             const TimeZone &tz, Instant from, const std::optional<TimeZone> &own_tz = std::nullopt);
Cancellable<FreeOffset> NearestFreeOffset(const std::vector<CollisionJob> &others, const CronSchedule &schedule,
                                          int wanted, const TimeZone &tz, Instant from, const Interrupt &interrupt,
                                          const std::optional<TimeZone> &own_tz = std::nullopt);

/*
 * The offset a new job should get so that jobs spread over the minute: a
 * collision-free offset (judged with staggering enabled) at the second the
 * fewest other jobs use, as far as possible from the busy seconds. Second 0
 * counts as busy (the rest of the world's crons fire there). Falls back to
 * the least colliding offset; 0 for schedules offsets do not move.
 */
int SpreadOffset(const std::vector<CollisionJob> &others, const CronSchedule &schedule, const TimeZone &tz,
                 Instant from, const std::optional<TimeZone> &own_tz = std::nullopt);
Cancellable<int> SpreadOffset(const std::vector<CollisionJob> &others, const CronSchedule &schedule, const TimeZone &tz,
                              Instant from, const Interrupt &interrupt,
                              const std::optional<TimeZone> &own_tz = std::nullopt);

/*
 * Indices of the jobs in `others` that could ever fire in the same second as
 * a job with `schedule` (a cheap superset, from the month, hour and minute
 * masks; interval jobs always, and in a zone with spring-forward gaps every
 * fixed-time job, since a gap moves it to the transition instant). Judging a
 * new job against this subset instead of all jobs keeps one check small.
 */
std::vector<std::size_t> MightMeet(const std::vector<CollisionJob> &others, const CronSchedule &schedule,
                                   const TimeZone &tz, Instant from,
                                   const std::optional<TimeZone> &own_tz = std::nullopt);
/* The test behind MightMeet for one pair of one zone; `zone_has_gaps` from ZoneHasSpringGaps(tz, from). */
bool MightMeetPair(const CronSchedule &a, const CronSchedule &b, bool zone_has_gaps);
/*
 * The same for two jobs of different zones: local hours and months do not
 * compare, so only the UTC minutes of the hour (the local minutes under
 * each zone's MinuteRotations) are; any fixed-time job of a zone with gaps
 * might meet anything.
 */
bool MightMeetPair(const CronSchedule &a, const collide::ZoneHorizon &za, bool a_gaps, const CronSchedule &b,
                   const collide::ZoneHorizon &zb, bool b_gaps);
/* Does the zone have a spring-forward transition in the collision horizon after `from`? */
bool ZoneHasSpringGaps(const TimeZone &tz, Instant from);

/* Indices (ascending) of the jobs in `others` that a job with `schedule` at `offset` collides with. */
std::vector<std::size_t> CollidingJobs(const std::vector<CollisionJob> &others, const CronSchedule &schedule,
                                       int offset, bool stagger_enabled, const TimeZone &tz, Instant from,
                                       const std::optional<TimeZone> &own_tz = std::nullopt);
Cancellable<std::vector<std::size_t>> CollidingJobs(const std::vector<CollisionJob> &others,
                                                    const CronSchedule &schedule, int offset, bool stagger_enabled,
                                                    const TimeZone &tz, Instant from, const Interrupt &interrupt,
                                                    const std::optional<TimeZone> &own_tz = std::nullopt);

/*
 * For each second of the minute, how many jobs have at least one effective
 * fire instant at that second within the horizon (interval jobs count at
 * every second they can hit; @reboot jobs nowhere).
 */
std::array<int, kSecondsOfMinute> SecondDistribution(const std::vector<CollisionJob> &jobs, bool stagger_enabled,
                                                     const TimeZone &tz, Instant from);
Cancellable<std::array<int, kSecondsOfMinute>> SecondDistribution(const std::vector<CollisionJob> &jobs,
                                                                  bool stagger_enabled, const TimeZone &tz,
                                                                  Instant from, const Interrupt &interrupt);

} // namespace js::core

#include "core/cpp_only.hpp"
