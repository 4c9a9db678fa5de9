/*
 * Exact comparison of two jobs' effective fire instants over the horizon.
 *
 * Internal to the collision analysis (collisions.hpp is the public API).
 */
#pragma once

#include "core/collision_horizon.hpp"
#include "core/fire_profile.hpp"

#include <cstdint>
#include <optional>

namespace js::core::collide {

struct PairHit {
	Instant first = 0;        /* earliest common fire instant in (from, end] */
	std::int64_t per_day = 0; /* common fire instants during the local day of `first` */
};

/*
 * The first common fire instant of two jobs within the horizon, with the
 * number of common instants on that local day; nullopt if they never meet
 * there. Cost: a few mask operations per candidate day; whole-day
 * enumeration (at most 1440 minutes) only when an interval job whose N does
 * not divide 60 is involved. If the horizon has sub-minute UTC offsets (local
 * mean time, before the 1970s) the pair is instead walked with NextFire, at
 * most 1,000,000 steps (a pair still apart after that counts as
 * collision-free).
 */
std::optional<PairHit> EvaluatePair(const FireProfile &a, const FireProfile &b, const ZoneHorizon &horizon,
                                    const DaySets &day_sets);

/*
 * The same for two jobs whose profiles were built in the contexts `za` and
 * `zb` (same `from`), possibly of different zones: they meet on real
 * instants (0 * * * * in Asia/Kolkata meets 30 * * * * in UTC). One context:
 * the plain EvaluatePair. An interval job is judged in the other job's
 * context (intervals ignore the zone). Two cron jobs of different zones:
 * the minutes of the day at which the sparser one fires regularly are
 * walked day by day (only days of its day set, only when their UTC minutes
 * and seconds can meet at all) and each is tested against the other's
 * rule at that instant; gap fires of both are tested one by one. `per_day`
 * counts the common instants in the local day of `first` in a's zone (the
 * cron job's zone when the other is an interval job); with `count` false
 * (only whether they meet matters) the cross-zone walk leaves it 0.
 */
std::optional<PairHit> EvaluatePair(const FireProfile &a, const ZoneContext &za, const FireProfile &b,
                                    const ZoneContext &zb, bool count = true);

} // namespace js::core::collide

#include "core/cpp_only.hpp"
