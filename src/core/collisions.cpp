/*
 * Public collision API on top of the per-job fire profiles and the exact
 * pair evaluation (fire_profile.hpp, collision_pair.hpp).
 */
#include "core/collisions.hpp"

#include "core/civil.hpp"
#include "core/collision_pair.hpp"
#include "core/fire_profile.hpp"
#include "core/stagger.hpp"

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <tuple>

namespace js::core {
namespace {

/*
 * The horizon, the shared day sets and one profile per job, built once per
 * call. Every loop over jobs or pairs steps `check`; once it stopped, the
 * loops end early and the public functions report the call as cancelled
 * (`profiles` may then be incomplete).
 */
struct Analysis {
	mutable collide::ZoneSet zones;
	std::vector<collide::FireProfile> profiles;
	std::vector<int> zone_of; /* parallel to profiles: index in `zones` */
	InterruptCheck &check;

	Analysis(const std::vector<CollisionJob> &jobs, bool stagger_enabled, const TimeZone &tz, Instant from,
	         InterruptCheck &interrupt_check)
	    : zones(tz, from), check(interrupt_check)
	{
		profiles.reserve(jobs.size());
		zone_of.reserve(jobs.size());
		for (const CollisionJob &job : jobs) {
			if (check.Step())
				return;
			const int z = zones.Index(job.tz);
			collide::ZoneContext &ctx = zones.At(z);
			profiles.push_back(
			    collide::BuildFireProfile(job.schedule, job.offset, stagger_enabled, ctx.horizon, ctx.day_sets));
			zone_of.push_back(z);
		}
	}

	/* A candidate's profile, in its zone (`zone` from zones.Index). */
	collide::FireProfile
	Profile(const CronSchedule &schedule, int offset, bool stagger_enabled, int zone) const
	{
		collide::ZoneContext &ctx = zones.At(zone);
		return collide::BuildFireProfile(schedule, offset, stagger_enabled, ctx.horizon, ctx.day_sets);
	}

	const collide::ZoneContext &
	Context(int zone) const
	{
		return zones.At(zone);
	}

	/* Job i against job j. */
	std::optional<collide::PairHit>
	Evaluate(std::size_t i, std::size_t j) const
	{
		return collide::EvaluatePair(profiles[i], Context(zone_of[i]), profiles[j], Context(zone_of[j]));
	}
	/* A candidate (profile in `zone`) against job j: whether they meet (no per-day count). */
	std::optional<collide::PairHit>
	Evaluate(const collide::FireProfile &candidate, int zone, std::size_t j) const
	{
		return collide::EvaluatePair(candidate, Context(zone), profiles[j], Context(zone_of[j]), false);
	}

	/* How many of the profiles `candidate` collides with; stops counting at `stop_at`. */
	int
	CountColliding(const collide::FireProfile &candidate, int zone, int stop_at) const
	{
		int count = 0;
		for (std::size_t j = 0; j < profiles.size(); j++)
			if (check.Step() || (Evaluate(candidate, zone, j) && ++count >= stop_at))
				break;
		return count;
	}

	std::uint64_t
	FiringSeconds(std::size_t i) const
	{
		const collide::ZoneContext &ctx = Context(zone_of[i]);
		return collide::FiringSeconds(profiles[i], ctx.horizon, ctx.day_sets);
	}
};

/* Buckets are (second, minute) pairs: jobs can only meet where both fire. */
constexpr int kBuckets = kSecondsOfMinute * 60;

/*
 * Compares the jobs of one bucket pairwise. A pair is handled only in the
 * bucket of its lowest common second and lowest common minute, which both
 * jobs are in, so each pair is compared exactly once.
 */
void
CompareBucket(const Analysis &analysis, const std::vector<std::size_t> &bucket, int second, int minute,
              std::vector<CollisionPair> &out)
{
	for (std::size_t x = 0; x < bucket.size(); x++) {
		const collide::FireProfile &a = analysis.profiles[bucket[x]];
		for (std::size_t y = x + 1; y < bucket.size(); y++) {
			if (analysis.check.Step())
				return;
			const collide::FireProfile &b = analysis.profiles[bucket[y]];
			if (__builtin_ctzll(a.bucket_seconds & b.bucket_seconds) != second ||
			    __builtin_ctzll(a.bucket_minutes & b.bucket_minutes) != minute)
				continue;
			const std::optional<collide::PairHit> hit = analysis.Evaluate(bucket[x], bucket[y]);
			if (!hit)
				continue;
			out.push_back(CollisionPair{bucket[x], bucket[y], static_cast<int>(FloorMod(hit->first, kSecondsOfMinute)),
			                            hit->first, hit->per_day});
		}
	}
}

} // namespace
/*
 * Bucketing by second and minute keeps the pairwise comparison small even
 * when staggering is off and every 5-field job shares second 0.
 */
Cancellable<std::vector<CollisionPair>>
FindCollisions(const std::vector<CollisionJob> &jobs, bool stagger_enabled, const TimeZone &tz, Instant from,
               const Interrupt &interrupt)
{
	InterruptCheck check(interrupt);
	const Analysis analysis(jobs, stagger_enabled, tz, from, check);
	if (check.Stopped())
		return Cancelled<std::vector<CollisionPair>>();
	std::vector<std::vector<std::size_t>> buckets(kBuckets);
	for (std::size_t i = 0; i < jobs.size(); i++) {
		const collide::FireProfile &p = analysis.profiles[i];
		for (std::uint64_t sec = p.bucket_seconds; sec != 0; sec &= sec - 1)
			for (std::uint64_t min = p.bucket_minutes; min != 0; min &= min - 1)
				buckets[static_cast<std::size_t>(__builtin_ctzll(sec) * 60 + __builtin_ctzll(min))].push_back(i);
	}
	std::vector<CollisionPair> out;
	for (int b = 0; b < kBuckets && !check.Stopped(); b++)
		CompareBucket(analysis, buckets[static_cast<std::size_t>(b)], b / 60, b % 60, out);
	if (check.Stopped())
		return Cancelled<std::vector<CollisionPair>>();
	std::sort(out.begin(), out.end(), [](const CollisionPair &l, const CollisionPair &r) {
		return std::tie(l.first_collision, l.index_a, l.index_b) < std::tie(r.first_collision, r.index_a, r.index_b);
	});
	return Completed(std::move(out));
}

std::vector<CollisionPair>
FindCollisions(const std::vector<CollisionJob> &jobs, bool stagger_enabled, const TimeZone &tz, Instant from)
{
	return Uninterrupted(FindCollisions(jobs, stagger_enabled, tz, from, Interrupt{}));
}

/*
 * Tries offsets in order of distance from `wanted` (the lower first on a
 * tie) and stops at the first collision-free one; the least colliding offset
 * is the first one met with the minimum count, hence also the closest.
 */
Cancellable<FreeOffset>
NearestFreeOffset(const std::vector<CollisionJob> &others, const CronSchedule &schedule, int wanted, const TimeZone &tz,
                  Instant from, const Interrupt &interrupt, const std::optional<TimeZone> &own_tz)
{
	constexpr bool kEnabled = true;
	InterruptCheck check(interrupt);
	Analysis analysis(others, kEnabled, tz, from, check);
	const int zone = analysis.zones.Index(own_tz);
	wanted = std::clamp(wanted, kMinOffset, kMaxOffset);
	/* Offsets only move 5-field cron schedules: for anything else every offset is the same as `wanted`. */
	const bool shiftable = AppliedOffset(schedule, kMaxOffset, kEnabled) != 0;
	FreeOffset result;
	result.least_colliding_count = std::numeric_limits<int>::max();
	for (int distance = 0; distance <= kMaxOffset && !check.Stopped(); distance++) {
		for (const int candidate : {wanted - distance, wanted + distance}) {
			if (candidate < kMinOffset || candidate > kMaxOffset || (distance == 0 && candidate != wanted))
				continue;
			const collide::FireProfile profile = analysis.Profile(schedule, candidate, kEnabled, zone);
			const int count = analysis.CountColliding(profile, zone, result.least_colliding_count);
			if (check.Stopped())
				return Cancelled<FreeOffset>();
			if (count < result.least_colliding_count) {
				result.least_colliding_offset = candidate;
				result.least_colliding_count = count;
			}
			if (count == 0) {
				result.free_offset = candidate;
				return Completed(result);
			}
		}
		if (!shiftable)
			break;
	}
	if (check.Stopped())
		return Cancelled<FreeOffset>();
	return Completed(result);
}

FreeOffset
NearestFreeOffset(const std::vector<CollisionJob> &others, const CronSchedule &schedule, int wanted, const TimeZone &tz,
                  Instant from, const std::optional<TimeZone> &own_tz)
{
	return Uninterrupted(NearestFreeOffset(others, schedule, wanted, tz, from, Interrupt{}, own_tz));
}

namespace {

/* Offsets ordered for spreading: least used second first, then farthest from any used one, then lowest. */
std::vector<int>
SpreadOrder(const std::array<int, kSecondsOfMinute> &load)
{
	std::array<int, kSecondsOfMinute> distance{};
	for (int c = 0; c < kSecondsOfMinute; c++) {
		distance[c] = kSecondsOfMinute;
		for (int s = 0; s < kSecondsOfMinute; s++)
			if (load[s] > 0) {
				const int d = std::abs(c - s);
				distance[c] = std::min(distance[c], std::min(d, kSecondsOfMinute - d));
			}
	}
	std::vector<int> order(kSecondsOfMinute);
	for (int c = 0; c < kSecondsOfMinute; c++)
		order[c] = c;
	std::stable_sort(order.begin(), order.end(), [&](int l, int r) {
		return std::make_tuple(load[l], -distance[l]) < std::make_tuple(load[r], -distance[r]);
	});
	return order;
}

} // namespace

Cancellable<int>
SpreadOffset(const std::vector<CollisionJob> &others, const CronSchedule &schedule, const TimeZone &tz, Instant from,
             const Interrupt &interrupt, const std::optional<TimeZone> &own_tz)
{
	constexpr bool kEnabled = true;
	if (AppliedOffset(schedule, kMaxOffset, kEnabled) == 0)
		return Completed(0);
	InterruptCheck check(interrupt);
	Analysis analysis(others, kEnabled, tz, from, check);
	const int zone = analysis.zones.Index(own_tz);
	std::array<int, kSecondsOfMinute> load{};
	load[0] = 1; /* second 0 is where everyone else's crons fire */
	for (std::size_t i = 0; i < analysis.profiles.size(); i++) {
		if (check.Step())
			break;
		const std::uint64_t seconds = analysis.FiringSeconds(i);
		for (int s = 0; s < kSecondsOfMinute; s++)
			load[s] += static_cast<int>(seconds >> s & 1U);
	}
	int best = 0, best_count = std::numeric_limits<int>::max();
	for (const int candidate : SpreadOrder(load)) {
		if (check.Stopped())
			break;
		const int count =
		    analysis.CountColliding(analysis.Profile(schedule, candidate, kEnabled, zone), zone, best_count);
		if (check.Stopped())
			break;
		if (count == 0)
			return Completed(candidate);
		if (count < best_count) {
			best = candidate;
			best_count = count;
		}
	}
	if (check.Stopped())
		return Cancelled<int>();
	return Completed(best);
}

int
SpreadOffset(const std::vector<CollisionJob> &others, const CronSchedule &schedule, const TimeZone &tz, Instant from,
             const std::optional<TimeZone> &own_tz)
{
	return Uninterrupted(SpreadOffset(others, schedule, tz, from, Interrupt{}, own_tz));
}

bool
ZoneHasSpringGaps(const TimeZone &tz, Instant from)
{
	const collide::ZoneHorizon horizon(tz, from);
	for (const collide::Transition &tr : horizon.Transitions())
		if (tr.offset_after > tr.offset_before)
			return true;
	return false;
}

namespace {

bool
Silent(const CronSchedule &s)
{
	return s.kind == ScheduleKind::kReboot || (s.kind == ScheduleKind::kCron && !s.can_fire);
}

} // namespace

bool
MightMeetPair(const CronSchedule &a, const CronSchedule &b, bool zone_has_gaps)
{
	if (Silent(a) || Silent(b))
		return false;
	if (a.kind == ScheduleKind::kInterval || b.kind == ScheduleKind::kInterval)
		return true;
	if (zone_has_gaps && (!a.hour_wildcard || !b.hour_wildcard))
		return true; /* a gap moves a fixed-time job to the transition instant */
	return (a.months & b.months) != 0 && (a.hours & b.hours) != 0 && (a.minutes & b.minutes) != 0;
}

bool
MightMeetPair(const CronSchedule &a, const collide::ZoneHorizon &za, bool a_gaps, const CronSchedule &b,
              const collide::ZoneHorizon &zb, bool b_gaps)
{
	if (Silent(a) || Silent(b))
		return false;
	if (a.kind == ScheduleKind::kInterval || b.kind == ScheduleKind::kInterval)
		return true;
	if ((a_gaps && !a.hour_wildcard) || (b_gaps && !b.hour_wildcard))
		return true; /* a gap moves a fixed-time job to the transition instant */
	return (collide::RotateMinutes(a.minutes, za.MinuteRotations()) &
	        collide::RotateMinutes(b.minutes, zb.MinuteRotations())) != 0;
}

std::vector<std::size_t>
MightMeet(const std::vector<CollisionJob> &others, const CronSchedule &schedule, const TimeZone &tz, Instant from,
          const std::optional<TimeZone> &own_tz)
{
	collide::ZoneSet zones(tz, from);
	const int mine = zones.Index(own_tz);
	std::vector<std::size_t> out;
	for (std::size_t i = 0; i < others.size(); i++) {
		const int theirs = zones.Index(others[i].tz);
		const collide::ZoneContext &a = zones.At(theirs);
		const collide::ZoneContext &b = zones.At(mine);
		const bool meet = theirs == mine
		                      ? MightMeetPair(others[i].schedule, schedule, b.gaps)
		                      : MightMeetPair(others[i].schedule, a.horizon, a.gaps, schedule, b.horizon, b.gaps);
		if (meet)
			out.push_back(i);
	}
	return out;
}

Cancellable<std::vector<std::size_t>>
CollidingJobs(const std::vector<CollisionJob> &others, const CronSchedule &schedule, int offset, bool stagger_enabled,
              const TimeZone &tz, Instant from, const Interrupt &interrupt, const std::optional<TimeZone> &own_tz)
{
	InterruptCheck check(interrupt);
	Analysis analysis(others, stagger_enabled, tz, from, check);
	const int zone = analysis.zones.Index(own_tz);
	const collide::FireProfile profile = analysis.Profile(schedule, offset, stagger_enabled, zone);
	std::vector<std::size_t> out;
	for (std::size_t i = 0; i < analysis.profiles.size() && !check.Step(); i++)
		if (analysis.Evaluate(profile, zone, i))
			out.push_back(i);
	if (check.Stopped())
		return Cancelled<std::vector<std::size_t>>();
	return Completed(std::move(out));
}

std::vector<std::size_t>
CollidingJobs(const std::vector<CollisionJob> &others, const CronSchedule &schedule, int offset, bool stagger_enabled,
              const TimeZone &tz, Instant from, const std::optional<TimeZone> &own_tz)
{
	return Uninterrupted(CollidingJobs(others, schedule, offset, stagger_enabled, tz, from, Interrupt{}, own_tz));
}

Cancellable<std::array<int, kSecondsOfMinute>>
SecondDistribution(const std::vector<CollisionJob> &jobs, bool stagger_enabled, const TimeZone &tz, Instant from,
                   const Interrupt &interrupt)
{
	InterruptCheck check(interrupt);
	const Analysis analysis(jobs, stagger_enabled, tz, from, check);
	std::array<int, kSecondsOfMinute> out{};
	for (std::size_t i = 0; i < analysis.profiles.size() && !check.Step(); i++) {
		const std::uint64_t seconds = analysis.FiringSeconds(i);
		for (int s = 0; s < kSecondsOfMinute; s++)
			if ((seconds >> s & 1U) != 0)
				out[static_cast<std::size_t>(s)]++;
	}
	if (check.Stopped())
		return Cancelled<std::array<int, kSecondsOfMinute>>();
	return Completed(out);
}

std::array<int, kSecondsOfMinute>
SecondDistribution(const std::vector<CollisionJob> &jobs, bool stagger_enabled, const TimeZone &tz, Instant from)
{
	return Uninterrupted(SecondDistribution(jobs, stagger_enabled, tz, from, Interrupt{}));
}

} // namespace js::core
