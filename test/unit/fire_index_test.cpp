/*
 * The fire index against the pairwise functions it replaces on the hot path
 * (CollidingJobs and NearestFreeOffset over the MightMeet candidates), on
 * random job sets in zones with and without DST; and the placement rule
 * (PlaceOffset) on hand-made loads, plus FireIndex::Place against a
 * brute-force evaluation of the rule.
 */
#include "core/fire_index.hpp"

#include "core/collisions.hpp"
#include "core/stagger.hpp"
#include "cron_test_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <vector>

namespace js::core::test {
namespace {

const char *const kSchedules[] = {"* * * * *",      "*/5 * * * *", "*/10 * * * *",    "0 * * * *",      "30 2 * * *",
                                  "15 */2 * * 1-5", "0 0 * * 0",   "0 0 * * 1",       "30 2 1 * *",     "*/7 3-5 * * *",
                                  "0 12 29 2 *",    "@reboot",     "*/15 * * * * *",  "5,35 * * * * *", "10 seconds",
                                  "0 0 31 4 *",     "0 3 * * *",   "15,45 1-3 * * *", "0 2 * * *",      "30 1 * * 0"};

struct RandomJob {
	std::int64_t jobid;
	std::string text;
	int offset;
	int duration;
};

std::vector<RandomJob>
RandomJobs(std::mt19937 &rng, int n)
{
	std::uniform_int_distribution<std::size_t> pick(0, std::size(kSchedules) - 1);
	std::uniform_int_distribution<int> offset(0, 59);
	std::uniform_int_distribution<int> small_offset(0, 4); /* crowd a few seconds so that jobs collide */
	std::uniform_int_distribution<int> duration(1, 90);
	std::vector<RandomJob> jobs;
	for (int i = 0; i < n; i++)
		jobs.push_back(
		    RandomJob{i + 1, kSchedules[pick(rng)], i % 3 == 0 ? offset(rng) : small_offset(rng), duration(rng)});
	return jobs;
}

/* The jobs other than `exclude` that might meet `schedule`, as the pairwise functions take them. */
std::vector<CollisionJob>
Others(const std::vector<RandomJob> &jobs, const CronSchedule &schedule, std::int64_t exclude, const TimeZone &tz,
       Instant from)
{
	std::vector<CollisionJob> all;
	for (const RandomJob &j : jobs)
		if (j.jobid != exclude)
			all.push_back(CollisionJob{j.jobid, j.text, MustParse(j.text), j.offset, std::nullopt});
	std::vector<CollisionJob> out;
	for (std::size_t k : MightMeet(all, schedule, tz, from))
		out.push_back(all[k]);
	return out;
}

void
CheckAgainstPairwise(const char *zone, Instant from, unsigned seed)
{
	std::mt19937 rng(seed);
	const TimeZone tz = MustLoad(zone);
	const std::vector<RandomJob> jobs = RandomJobs(rng, 60);
	FireIndex index(tz, from);
	for (const RandomJob &j : jobs)
		index.Upsert(j.jobid, j.text, MustParse(j.text), j.offset, j.duration);
	std::uniform_int_distribution<std::size_t> pick(0, std::size(kSchedules) - 1);
	for (int q = 0; q < 25; q++) {
		const std::string text = kSchedules[pick(rng)];
		const CronSchedule schedule = MustParse(text);
		const int offset = q % 5;
		const std::int64_t exclude = q % 2 == 0 ? 1 + q : -1;
		const std::vector<CollisionJob> others = Others(jobs, schedule, exclude, tz, from);
		std::vector<std::int64_t> expected;
		for (std::size_t k : CollidingJobs(others, schedule, offset, true, tz, from))
			expected.push_back(others[k].jobid);
		EXPECT_EQ(index.Colliding(text, schedule, offset, exclude), expected) << zone << " " << text << " @" << offset;
		const FreeOffset want = NearestFreeOffset(others, schedule, offset, tz, from);
		const FreeOffset got = index.NearestFree(text, schedule, offset, exclude);
		EXPECT_EQ(got.free_offset, want.free_offset) << zone << " " << text;
		EXPECT_EQ(got.least_colliding_offset, want.least_colliding_offset) << zone << " " << text;
		if (!want.free_offset) {
			EXPECT_EQ(got.least_colliding_count, want.least_colliding_count) << zone << " " << text;
		}
	}
	EXPECT_EQ(index.Size(), jobs.size()); /* exclusions put back */
}

TEST(FireIndex, MatchesPairwiseUtc)
{
	for (unsigned seed = 1; seed <= 4; seed++)
		CheckAgainstPairwise("UTC", 1767225600 /* 2026-01-01 */, seed);
}

TEST(FireIndex, MatchesPairwiseWithDst)
{
	for (unsigned seed = 5; seed <= 7; seed++)
		CheckAgainstPairwise("Europe/Berlin", 1774742400 /* 2026-03-29, a spring-forward day */, seed);
}

TEST(FireIndex, RemoveAndReplace)
{
	const TimeZone tz = MustLoad("UTC");
	FireIndex index(tz, 1767225600);
	const CronSchedule every = MustParse("* * * * *");
	index.Upsert(1, "* * * * *", every, 7, 1);
	index.Upsert(2, "* * * * *", every, 7, 1);
	EXPECT_EQ(index.Colliding("* * * * *", every, 7, -1), (std::vector<std::int64_t>{1, 2}));
	index.Upsert(2, "* * * * *", every, 8, 1);
	EXPECT_EQ(index.Colliding("* * * * *", every, 7, -1), (std::vector<std::int64_t>{1}));
	EXPECT_EQ(index.Colliding("* * * * *", every, 8, 2), (std::vector<std::int64_t>{}));
	index.Remove(1);
	EXPECT_EQ(index.Colliding("* * * * *", every, 7, -1), (std::vector<std::int64_t>{}));
	EXPECT_EQ(index.Size(), 1U);
}

TEST(RunWindow, WrapsAndSaturates)
{
	EXPECT_EQ(RunSecondsMask(std::uint64_t{1} << 58, 3), (std::uint64_t{1} << 58 | std::uint64_t{1} << 59 | 1U));
	EXPECT_EQ(RunSecondsMask(1U, 1), 1U);
	EXPECT_EQ(RunSecondsMask(1U, 60), (std::uint64_t{1} << 60) - 1);
	EXPECT_EQ(RunSecondsMask(0U, 5), 0U);
}

using Seconds = std::array<int, kSecondsOfMinute>;

TEST(PlaceOffset, EmptyMinuteAvoidsSecondZeroAndSpreads)
{
	const Seconds none{};
	/* all free: second 0 is busy, so the farthest second from it: 30 */
	EXPECT_EQ(PlaceOffset(none, none, 1, [](int) { return 0; }), 30);
	Seconds load{};
	load[30] = 1;
	Seconds cover = load;
	/* 0 and 30 busy: 15 and 45 are farthest; the lower wins */
	EXPECT_EQ(PlaceOffset(cover, load, 1, [](int) { return 0; }), 15);
}

TEST(PlaceOffset, LongRunsKeepTheirWindowFree)
{
	Seconds load{}, cover{};
	/* one job at second 10 running 30 s covers 10-39 */
	load[10] = 1;
	for (int s = 10; s < 40; s++)
		cover[static_cast<std::size_t>(s)] = 1;
	/* a 15 s job fits only where its whole window is free: offsets 40-45 (45 + 15 = 60 wraps to 0) */
	const int o = PlaceOffset(cover, load, 15, [](int) { return 0; });
	EXPECT_GE(o, 40);
	EXPECT_LE(o, 45);
	/* second 0 is busy: among 40-45, the farthest from seconds 0 and 10 */
	EXPECT_EQ(o, 40);
}

TEST(PlaceOffset, CoverBeforeExactCollisions)
{
	Seconds load{}, cover{};
	for (int s = 0; s < kSecondsOfMinute; s++)
		cover[static_cast<std::size_t>(s)] = load[static_cast<std::size_t>(s)] = 2;
	cover[20] = load[20] = 1; /* least covered, though it collides */
	EXPECT_EQ(PlaceOffset(cover, load, 1, [](int o) { return o == 20 ? 1 : 0; }), 20);
	/* all equally covered: the collision decides */
	cover[20] = load[20] = 2;
	EXPECT_EQ(PlaceOffset(cover, load, 1, [](int o) { return o < 59 ? 1 : 0; }), 59);
}

/* The rule written out plainly: lexicographic (peak, colliding, busy, -distance, offset). */
int
PlainRule(const Seconds &cover, const Seconds &load, int duration, const std::vector<int> &colliding)
{
	Seconds busy = load;
	busy[0] += 1;
	std::vector<std::tuple<int, int, int, int, int>> keys;
	for (int o = 0; o < kSecondsOfMinute; o++) {
		int peak = 0;
		for (int k = 0; k < std::clamp(duration, 1, kSecondsOfMinute); k++)
			peak = std::max(peak, cover[static_cast<std::size_t>((o + k) % kSecondsOfMinute)]);
		int distance = kSecondsOfMinute;
		for (int s = 0; s < kSecondsOfMinute; s++)
			if (busy[static_cast<std::size_t>(s)] > 0)
				distance = std::min(distance, std::min(std::abs(o - s), kSecondsOfMinute - std::abs(o - s)));
		keys.emplace_back(peak, colliding[static_cast<std::size_t>(o)], busy[static_cast<std::size_t>(o)], -distance,
		                  o);
	}
	return std::get<4>(*std::min_element(keys.begin(), keys.end()));
}

TEST(PlaceOffset, MatchesThePlainRule)
{
	std::mt19937 rng(7);
	std::uniform_int_distribution<int> small(0, 3), sparse(0, 9), dur(1, 70);
	for (int round = 0; round < 2000; round++) {
		Seconds cover{}, load{};
		std::vector<int> colliding(kSecondsOfMinute);
		for (std::size_t s = 0; s < cover.size(); s++) {
			load[s] = sparse(rng) == 0 ? small(rng) : 0;
			cover[s] = load[s] + (round % 2 == 0 ? small(rng) : 0);
			colliding[s] = small(rng) == 0 ? small(rng) : 0;
		}
		const int duration = dur(rng);
		EXPECT_EQ(PlaceOffset(cover, load, duration, [&](int o) { return colliding[static_cast<std::size_t>(o)]; }),
		          PlainRule(cover, load, duration, colliding))
		    << "round " << round;
	}
}

/* FireIndex::Place against the rule evaluated from the pairwise functions. */
TEST(FireIndex, PlaceMatchesBruteForce)
{
	for (const char *zone : {"UTC", "Europe/Berlin"}) {
		const TimeZone tz = MustLoad(zone);
		const Instant from = 1774742400;
		std::mt19937 rng(42);
		const std::vector<RandomJob> jobs = RandomJobs(rng, 50);
		FireIndex index(tz, from);
		for (const RandomJob &j : jobs)
			index.Upsert(j.jobid, j.text, MustParse(j.text), j.offset, j.duration);
		for (const char *text : {"* * * * *", "*/5 * * * *", "0 3 * * *", "30 2 * * *", "15 */2 * * 1-5"}) {
			for (int duration : {1, 7, 30, 75}) {
				const CronSchedule schedule = MustParse(text);
				Seconds cover{}, load{};
				std::vector<CollisionJob> others;
				for (const RandomJob &j : jobs) {
					const CollisionJob cj{j.jobid, j.text, MustParse(j.text), j.offset, std::nullopt};
					if (MightMeet({cj}, schedule, tz, from).empty())
						continue;
					others.push_back(cj);
					const Seconds dist = SecondDistribution({cj}, true, tz, from);
					std::uint64_t firing = 0;
					for (int s = 0; s < kSecondsOfMinute; s++)
						if (dist[static_cast<std::size_t>(s)] > 0)
							firing |= std::uint64_t{1} << s;
					const std::uint64_t window = RunSecondsMask(firing, j.duration);
					for (int s = 0; s < kSecondsOfMinute; s++) {
						load[static_cast<std::size_t>(s)] += static_cast<int>(firing >> s & 1U);
						cover[static_cast<std::size_t>(s)] += static_cast<int>(window >> s & 1U);
					}
				}
				const int want = PlaceOffset(cover, load, duration, [&](int o) {
					return static_cast<int>(CollidingJobs(others, schedule, o, true, tz, from).size());
				});
				EXPECT_EQ(index.Place(text, schedule, duration, -1), want) << zone << " " << text << " " << duration;
			}
		}
	}
}

} // namespace
} // namespace js::core::test
