/*
 * An index of jobs by schedule class (distinct schedule text and zone) and offset,
 * for judging one new or changed job against all others without visiting
 * them one by one: the jobs it collides with, the nearest free offset, and
 * the offset a new job gets (Place).
 *
 * Exact: every answer equals the one of the pairwise functions of
 * collisions.hpp (CollidingJobs, NearestFreeOffset over the MightMeet
 * candidates, staggering enabled) for the same horizon start, because
 * whether two jobs collide depends only on their schedules and offsets. The
 * index evaluates that once per (class, offset) pair and remembers it, and
 * keeps per class the number of jobs firing at each second and the number
 * whose run window covers it.
 *
 * Jobs of different zones are judged on their real instants (collision_pair.hpp):
 * a class is a schedule read in one zone, so `0 * * * *` in UTC and in
 * Asia/Kolkata are two classes. The `tz` argument of the methods is the
 * job's own zone (nullopt: the index's default zone).
 *
 * The horizon is fixed when the index is made; its owner makes a new one for
 * another `from` or default zone.
 */
#pragma once

#include "core/collision_horizon.hpp"
#include "core/collisions.hpp"
#include "core/cron.hpp"
#include "core/fire_profile.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace js::core {

/*
 * The placement rule for a job without an offset, given per second s of the
 * minute: `cover[s]`, how many jobs that might meet it run during s (their
 * window [fire second, fire second + duration) modulo 60); `load[s]`, how
 * many fire at s; and `colliding(o)`, how many it collides with at offset o.
 * Chooses o minimising (a) the largest cover over its own window
 * [o, o + duration), (b) colliding(o), (c) load[o] with second 0 counted
 * busy, (d) closeness to a busy second, (e) o. `colliding` is only asked for
 * offsets still tied after (a).
 */
template <typename CollidingFn>
int PlaceOffset(const std::array<int, kSecondsOfMinute> &cover, const std::array<int, kSecondsOfMinute> &load,
                int duration, CollidingFn colliding);

/* The window mask of a job firing at `seconds` (a bit set of the minute) that runs `duration` seconds. */
std::uint64_t RunSecondsMask(std::uint64_t seconds, int duration);

class FireIndex {
public:
	FireIndex(const TimeZone &tz, Instant from);
	FireIndex(const FireIndex &) = delete;
	FireIndex &operator=(const FireIndex &) = delete;

	Instant
	From() const
	{
		return zones_.At(0).horizon.From();
	}
	/* The default zone's name. */
	const std::string &
	ZoneName() const
	{
		return zones_.At(0).horizon.Zone().Name();
	}
	std::size_t
	Size() const
	{
		return jobs_.size();
	}

	/* Adds or replaces a job; `duration` in seconds (at least 1; 60 and more cover the whole minute). */
	void Upsert(std::int64_t jobid, const std::string &schedule_text, const CronSchedule &schedule, int offset,
	            int duration, const std::optional<TimeZone> &tz = std::nullopt);
	void Remove(std::int64_t jobid);

	/* The jobs (jobids ascending) a job with `schedule` at `offset` collides with, `exclude` left out. */
	std::vector<std::int64_t> Colliding(const std::string &schedule_text, const CronSchedule &schedule, int offset,
	                                    std::int64_t exclude, const std::optional<TimeZone> &tz = std::nullopt);
	/* How many of those there are, counting up to `stop_at` at most. */
	int CollidingCount(const std::string &schedule_text, const CronSchedule &schedule, int offset, std::int64_t exclude,
	                   int stop_at, const std::optional<TimeZone> &tz = std::nullopt);
	/* NearestFreeOffset against the jobs other than `exclude`. */
	FreeOffset NearestFree(const std::string &schedule_text, const CronSchedule &schedule, int wanted,
	                       std::int64_t exclude, const std::optional<TimeZone> &tz = std::nullopt);
	/* The offset a job without one gets (PlaceOffset over the jobs other than `exclude`); 0 for unshiftable ones. */
	int Place(const std::string &schedule_text, const CronSchedule &schedule, int duration, std::int64_t exclude,
	          const std::optional<TimeZone> &tz = std::nullopt);

private:
	struct Class {
		CronSchedule schedule;
		int zone = 0; /* index in zones_ */
		std::array<std::unique_ptr<collide::FireProfile>, kSecondsOfMinute> profiles;
		std::array<std::uint64_t, kSecondsOfMinute> firing{};    /* FiringSeconds per offset */
		std::array<bool, kSecondsOfMinute> firing_known{};       /* firing[o] computed */
		std::map<int, std::set<std::int64_t>> members;           /* by offset */
		std::array<int, kSecondsOfMinute> load{};                /* members firing at each second */
		std::array<int, kSecondsOfMinute> cover{};               /* members running during each second */
		std::array<std::uint64_t, kSecondsOfMinute> at_second{}; /* per second: offsets with members firing there */
		std::size_t size = 0;
		std::vector<int> meets;     /* classes that might meet this one (MightMeetPair), among ... */
		std::size_t meets_upto = 0; /* ... the first meets_upto classes */
	};
	struct Entry {
		int class_id = 0;
		int offset = 0;
		std::uint64_t window = 0;
		std::uint64_t firing = 0;
	};

	/* Removes `exclude` for the duration of one question and puts it back. */
	class Excluded {
	public:
		Excluded(FireIndex &index, std::int64_t jobid);
		~Excluded();
		Excluded(const Excluded &) = delete;
		Excluded &operator=(const Excluded &) = delete;

	private:
		FireIndex &index_;
		std::int64_t jobid_;
		bool had_ = false;
		Entry entry_;
	};

	int ClassOf(const std::string &text, const CronSchedule &schedule, const std::optional<TimeZone> &tz);
	const collide::ZoneContext &
	Context(int class_id) const
	{
		return zones_.At(classes_[static_cast<std::size_t>(class_id)]->zone);
	}
	const collide::FireProfile &Profile(int class_id, int offset);
	std::uint64_t Firing(int class_id, int offset);
	bool Collide(int class_a, int offset_a, int class_b, int offset_b);
	/* Non-empty classes that might meet `class_id`. */
	std::vector<int> Candidates(int class_id);
	/* Colliding jobs of (class_id, offset) among `candidates`, counting only (or also listing into `out`). */
	int CountColliding(int class_id, int offset, const std::vector<int> &candidates, int stop_at,
	                   std::vector<std::int64_t> *out);
	void AddEntry(std::int64_t jobid, const Entry &entry);
	void RemoveEntry(std::int64_t jobid, const Entry &entry);

	collide::ZoneSet zones_;
	std::vector<std::unique_ptr<Class>> classes_;
	std::unordered_map<std::string, int> class_ids_;
	std::unordered_map<std::int64_t, Entry> jobs_;
	std::unordered_map<std::uint64_t, bool> collide_memo_;
};

template <typename CollidingFn>
int
PlaceOffset(const std::array<int, kSecondsOfMinute> &cover, const std::array<int, kSecondsOfMinute> &load, int duration,
            CollidingFn colliding)
{
	const int span = duration < 1 ? 1 : (duration > kSecondsOfMinute ? kSecondsOfMinute : duration);
	std::array<int, kSecondsOfMinute> peak{};
	int best_peak = -1;
	for (int o = 0; o < kSecondsOfMinute; o++) {
		int m = cover[static_cast<std::size_t>(o)];
		for (int k = 1; k < span; k++)
			m = std::max(m, cover[static_cast<std::size_t>((o + k) % kSecondsOfMinute)]);
		peak[static_cast<std::size_t>(o)] = m;
		if (best_peak < 0 || m < best_peak)
			best_peak = m;
	}
	std::array<int, kSecondsOfMinute> busy = load;
	busy[0] += 1; /* second 0 is where everyone else's crons fire */
	/* circular distance to the nearest busy second: one sweep each way around the minute, twice */
	std::array<int, kSecondsOfMinute> distance{};
	distance.fill(kSecondsOfMinute);
	for (int pass = 0, d = kSecondsOfMinute; pass < 2 * kSecondsOfMinute; pass++) {
		const auto c = static_cast<std::size_t>(pass % kSecondsOfMinute);
		d = busy[c] > 0 ? 0 : std::min(d + 1, kSecondsOfMinute);
		distance[c] = std::min(distance[c], d);
	}
	for (int pass = 2 * kSecondsOfMinute - 1, d = kSecondsOfMinute; pass >= 0; pass--) {
		const auto c = static_cast<std::size_t>(pass % kSecondsOfMinute);
		d = busy[c] > 0 ? 0 : std::min(d + 1, kSecondsOfMinute);
		distance[c] = std::min(distance[c], d);
	}
	int best = -1, best_colliding = 0;
	for (int o = 0; o < kSecondsOfMinute; o++) {
		const auto u = static_cast<std::size_t>(o);
		if (peak[u] != best_peak)
			continue;
		const int n = colliding(o);
		if (best >= 0) {
			const auto b = static_cast<std::size_t>(best);
			if (n > best_colliding ||
			    (n == best_colliding && (busy[u] > busy[b] || (busy[u] == busy[b] && distance[u] <= distance[b]))))
				continue;
		}
		best = o;
		best_colliding = n;
	}
	return best;
}

} // namespace js::core

#include "core/cpp_only.hpp"
