/*
 * Collision analysis: pair cases from the design notes (offsets, 6-field
 * jobs, disabled staggering, @reboot, day rules, interval jobs, DST gaps and
 * repeated hours), NearestFreeOffset, CollidingJobs, SecondDistribution, and
 * a property test against brute-force enumeration of fire instants.
 */
#include "core/collisions.hpp"

#include "core/stagger.hpp"
#include "cron_test_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <ostream>
#include <random>
#include <string>
#include <vector>

namespace js::core::test {
namespace {

constexpr std::int64_t kDay = 86400;

CollisionJob
Job(const std::string &text, int offset)
{
	return CollisionJob{0, text, MustParse(text), offset, std::nullopt};
}

/* One pair: does it collide, and if so where first and how often that day. */
struct PairCase {
	const char *label;
	const char *a;
	int offset_a;
	const char *b;
	int offset_b;
	bool enabled;
	const char *zone;
	Instant from;
	bool collides;
	int second = 0; /* the rest only when collides */
	Instant first = 0;
	std::int64_t per_day = 0;
};

void
PrintTo(const PairCase &c, std::ostream *os)
{
	*os << c.label;
}

class PairTest : public ::testing::TestWithParam<PairCase> {};

TEST_P(PairTest, MatchesExpectation)
{
	const PairCase &c = GetParam();
	const std::vector<CollisionJob> jobs = {Job(c.a, c.offset_a), Job(c.b, c.offset_b)};
	const std::vector<CollisionPair> pairs = FindCollisions(jobs, c.enabled, MustLoad(c.zone), c.from);
	if (!c.collides) {
		EXPECT_TRUE(pairs.empty()) << "first " << Format(pairs[0].first_collision, TimeZone::Utc());
		return;
	}
	ASSERT_EQ(pairs.size(), 1U);
	EXPECT_EQ(pairs[0].index_a, 0U);
	EXPECT_EQ(pairs[0].index_b, 1U);
	EXPECT_EQ(pairs[0].second, c.second);
	EXPECT_EQ(Format(pairs[0].first_collision, TimeZone::Utc()), Format(c.first, TimeZone::Utc()));
	EXPECT_EQ(pairs[0].collisions_per_day, c.per_day);
}

const Instant kFrom = Utc(2026, 11, 28); /* a Saturday */
const Instant kNoon = Utc(2026, 11, 28, 12, 2, 30);

INSTANTIATE_TEST_SUITE_P(
    Cases, PairTest,
    ::testing::Values(
        PairCase{"hourly at :00 and :30, same offset", "0 * * * *", 5, "30 * * * *", 5, true, "UTC", kFrom, false},
        PairCase{"every minute and every 5 minutes, same offset", "* * * * *", 5, "*/5 * * * *", 5, true, "UTC", kNoon,
                 true, 5, Utc(2026, 11, 28, 12, 5, 5), 288},
        PairCase{"distinct offsets never meet", "* * * * *", 5, "*/5 * * * *", 6, true, "UTC", kNoon, false},
        PairCase{"disabled: offsets do not matter", "* * * * *", 5, "*/5 * * * *", 40, false, "UTC", kNoon, true, 0,
                 Utc(2026, 11, 28, 12, 5), 288},
        PairCase{"hourly meets every 15 minutes", "0 * * * *", 7, "*/15 * * * *", 7, true, "UTC", kNoon, true, 7,
                 Utc(2026, 11, 28, 13, 0, 7), 24},
        PairCase{"6-field never shifted, meets offset 15", "15 */5 * * * *", 30, "* * * * *", 15, true, "UTC", kNoon,
                 true, 15, Utc(2026, 11, 28, 12, 5, 15), 288},
        PairCase{"6-field vs offset 16", "15 */5 * * * *", 15, "* * * * *", 16, true, "UTC", kNoon, false},
        PairCase{"6-field vs disabled every minute", "0 */5 * * * *", 0, "* * * * *", 16, false, "UTC", kNoon, true, 0,
                 Utc(2026, 11, 28, 12, 5), 288},
        PairCase{"@reboot never collides", "@reboot", 0, "@reboot", 0, true, "UTC", kFrom, false},
        PairCase{"@reboot vs every minute", "@reboot", 0, "* * * * *", 0, false, "UTC", kFrom, false},
        PairCase{"Mondays vs the 1st: a Monday the 1st", "0 3 * * 1", 9, "0 3 1 * *", 9, true, "UTC", kFrom, true, 9,
                 Utc(2027, 2, 1, 3, 0, 9), 1},
        PairCase{"last day of month meets Feb 28 in a common year", "0 0 $ * *", 0, "0 0 28 2 *", 0, true, "UTC", kFrom,
                 true, 0, Utc(2027, 2, 28), 1},
        PairCase{"both day fields restricted: the 13th or a Friday", "0 0 13 * 5", 0, "0 0 * * 5", 0, true, "UTC",
                 kFrom, true, 0, Utc(2026, 12, 4), 1},
        PairCase{"different days of month", "0 3 1 * *", 0, "0 3 2 * *", 0, true, "UTC", kFrom, false},
        PairCase{"Feb 29 only", "0 0 29 2 *", 0, "0 0 * * *", 0, true, "UTC", kFrom, true, 0, Utc(2028, 2, 29), 1},
        PairCase{"10 seconds vs offset 5", "10 seconds", 0, "* * * * *", 5, true, "UTC", kNoon, false},
        PairCase{"10 seconds vs offset 20", "10 seconds", 0, "* * * * *", 20, true, "UTC", kNoon, true, 20,
                 Utc(2026, 11, 28, 12, 3, 20), 1440},
        PairCase{"10 seconds vs 15 seconds: every 30", "10 seconds", 0, "15 seconds", 0, true, "UTC", kNoon, true, 0,
                 Utc(2026, 11, 28, 12, 3), 2880},
        PairCase{"7 seconds vs 11 seconds: every 77", "7 seconds", 0, "11 seconds", 0, true, "UTC", kFrom, true,
                 static_cast<int>((kFrom / 77 + 1) * 77 % 60), (kFrom / 77 + 1) * 77, 1122},
        /* 60 m is a multiple of 7 every 7th minute; the epoch minute of kFrom is 3 modulo 7 */
        PairCase{"7 seconds vs every minute", "7 seconds", 0, "* * * * *", 0, true, "UTC", kFrom, true, 0,
                 kFrom + 4 * 60, 206},
        /* 60 m + 15 is a multiple of 45 when m is 1 modulo 3; the epoch minute of kFrom is 2 modulo 3 */
        PairCase{"45 seconds vs offset 15", "45 seconds", 0, "* * * * *", 15, true, "UTC", kFrom, true, 15,
                 kFrom + 2 * 60 + 15, 480},
        PairCase{"45 seconds vs offset 20", "45 seconds", 0, "* * * * *", 20, true, "UTC", kFrom, false},
        /* 86400 is 6 modulo 7: a daily instant is a multiple of 7 once a week */
        PairCase{"7 seconds vs a daily job", "7 seconds", 0, "0 3 * * *", 0, true, "UTC", kFrom, true, 0,
                 Utc(2026, 12, 2, 3), 1},
        PairCase{"DST gap: 02:30 remapped onto 03:00", "30 2 * * *", 0, "0 3 * * *", 0, false, "America/New_York",
                 kFrom, true, 0, Utc(2027, 3, 14, 7), 1},
        PairCase{"DST gap with equal offsets", "30 2 * * *", 12, "0 3 * * *", 12, true, "America/New_York", kFrom, true,
                 12, Utc(2027, 3, 14, 7, 0, 12), 1},
        PairCase{"DST gap, 6-field job fires at second 0", "15 30 2 * * *", 0, "0 3 * * *", 0, true, "America/New_York",
                 kFrom, true, 0, Utc(2027, 3, 14, 7), 1},
        PairCase{"DST gap: two gap times on the same instant", "30 2 * * *", 0, "15 2 * * *", 0, true,
                 "America/New_York", kFrom, true, 0, Utc(2027, 3, 14, 7), 1},
        PairCase{"no DST in UTC: 02:30 and 03:00 never meet", "30 2 * * *", 0, "0 3 * * *", 0, false, "UTC", kFrom,
                 false},
        PairCase{"elapsed jobs meet twice in the repeated hour", "30 * * * *", 0, "*/30 * * * *", 0, false,
                 "America/New_York", Utc(2026, 11, 1, 4), true, 0, Utc(2026, 11, 1, 4, 30), 25},
        PairCase{"fixed-time job fires once in the repeated hour", "30 1 * * *", 0, "30 * * * *", 0, false,
                 "America/New_York", Utc(2026, 11, 1, 4), true, 0, Utc(2026, 11, 1, 5, 30), 1},
        PairCase{"elapsed job skips the gap", "30 * * * *", 0, "30 2 * * *", 0, false, "America/New_York",
                 Utc(2026, 3, 8, 0), true, 0, Utc(2026, 3, 9, 6, 30), 1},
        PairCase{"every 30 minutes on the spring-forward day", "*/30 * * * *", 0, "0,30 * * * *", 0, false,
                 "America/New_York", Utc(2026, 3, 8, 4, 59), true, 0, Utc(2026, 3, 8, 5), 46},
        PairCase{"from at 23:59:50: first collision next day", "0 0 * * *", 0, "0 0 * * *", 0, false, "UTC",
                 Utc(2026, 11, 28, 23, 59, 50), true, 0, Utc(2026, 11, 29), 1},
        PairCase{"strictly after from", "0 0 * * *", 0, "0 0 * * *", 0, false, "UTC", Utc(2026, 11, 29), true, 0,
                 Utc(2026, 11, 30), 1}));

TEST(FindCollisions, ReportsEveryPairOnceSortedByFirstCollision)
{
	const std::vector<CollisionJob> jobs = {
	    Job("0 3 * * *", 20), Job("* * * * *", 20), Job("*/5 * * * *", 7),
	    Job("0 * * * *", 7),  Job("@reboot", 7),    Job("20 seconds", 0),
	};
	const std::vector<CollisionPair> pairs = FindCollisions(jobs, true, TimeZone::Utc(), kNoon);
	std::vector<std::string> got;
	for (const CollisionPair &p : pairs)
		got.push_back(std::to_string(p.index_a) + "-" + std::to_string(p.index_b) + " " +
		              Format(p.first_collision, TimeZone::Utc()) + " " + std::to_string(p.collisions_per_day));
	EXPECT_EQ(got, (std::vector<std::string>{
	                   "1-5 2026-11-28 12:03:20 +0000 1440",
	                   "2-3 2026-11-28 13:00:07 +0000 24",
	                   "0-1 2026-11-29 03:00:20 +0000 1",
	                   "0-5 2026-11-29 03:00:20 +0000 1",
	               }));
}

TEST(FindCollisions, ManyJobsSameOffsetAllMeetTheEveryMinuteJob)
{
	std::vector<CollisionJob> jobs = {Job("* * * * *", 30)};
	for (int i = 0; i < 50; i++)
		jobs.push_back(Job(std::to_string(i) + " " + std::to_string(i % 24) + " * * *", i == 7 ? 31 : 30));
	const std::vector<CollisionPair> pairs = FindCollisions(jobs, true, TimeZone::Utc(), kFrom);
	/* the every-minute job meets the 49 daily jobs at offset 30; daily jobs meet each other only at equal times */
	std::size_t with_first = 0;
	for (const CollisionPair &p : pairs) {
		EXPECT_EQ(p.second, 30);
		with_first += p.index_a == 0 ? 1 : 0;
	}
	EXPECT_EQ(with_first, 49U);
	EXPECT_EQ(pairs.size(), 49U);
}

TEST(FindCollisions, EmptyAndSingle)
{
	EXPECT_TRUE(FindCollisions({}, true, TimeZone::Utc(), kFrom).empty());
	EXPECT_TRUE(FindCollisions({Job("* * * * *", 0)}, true, TimeZone::Utc(), kFrom).empty());
}

TEST(FindCollisions, BeyondTheHorizonIsCollisionFree)
{
	/* Feb 29 that is a Monday: 2044 is the first one after 2026, more than 8 years away */
	const std::vector<CollisionJob> jobs = {Job("0 0 29 2 *", 0), Job("0 0 * * 1", 0)};
	EXPECT_TRUE(FindCollisions(jobs, true, TimeZone::Utc(), Utc(2026, 1, 1)).empty());
	const std::vector<CollisionPair> near = FindCollisions(jobs, true, TimeZone::Utc(), Utc(2040, 1, 1));
	ASSERT_EQ(near.size(), 1U);
	EXPECT_EQ(near[0].first_collision, Utc(2044, 2, 29));
}

class NearestFree : public ::testing::Test {
protected:
	static std::vector<CollisionJob>
	EveryMinuteAt(const std::vector<int> &offsets)
	{
		std::vector<CollisionJob> out;
		for (const int o : offsets)
			out.push_back(Job("* * * * *", o));
		return out;
	}
	CronSchedule five_minutes_ = MustParse("*/5 * * * *");
};

TEST_F(NearestFree, WantedFreeIsKept)
{
	const FreeOffset r = NearestFreeOffset(EveryMinuteAt({10, 11, 13}), five_minutes_, 20, TimeZone::Utc(), kFrom);
	EXPECT_EQ(r.free_offset, 20);
	EXPECT_EQ(r.least_colliding_offset, 20);
	EXPECT_EQ(r.least_colliding_count, 0);
}

TEST_F(NearestFree, WantedTakenGivesNearest)
{
	EXPECT_EQ(NearestFreeOffset(EveryMinuteAt({10, 11, 13}), five_minutes_, 11, TimeZone::Utc(), kFrom).free_offset,
	          12);
	EXPECT_EQ(NearestFreeOffset(EveryMinuteAt({10, 11, 12, 13}), five_minutes_, 11, TimeZone::Utc(), kFrom).free_offset,
	          9);
	EXPECT_EQ(NearestFreeOffset(EveryMinuteAt({0, 1, 2}), five_minutes_, 0, TimeZone::Utc(), kFrom).free_offset, 3);
	EXPECT_EQ(NearestFreeOffset(EveryMinuteAt({57, 58, 59}), five_minutes_, 59, TimeZone::Utc(), kFrom).free_offset,
	          56);
}

TEST_F(NearestFree, TiesGoToTheLowerOffset)
{
	EXPECT_EQ(NearestFreeOffset(EveryMinuteAt({20}), five_minutes_, 20, TimeZone::Utc(), kFrom).free_offset, 19);
}

TEST_F(NearestFree, OnlyRealCollisionsCount)
{
	/* an hourly job at minute 31 never meets a job firing every 5th minute; one at minute 30 does */
	std::vector<CollisionJob> others = {Job("31 * * * *", 20)};
	EXPECT_EQ(NearestFreeOffset(others, five_minutes_, 20, TimeZone::Utc(), kFrom).free_offset, 20);
	others = {Job("30 * * * *", 20)};
	EXPECT_EQ(NearestFreeOffset(others, five_minutes_, 20, TimeZone::Utc(), kFrom).free_offset, 19);
}

TEST_F(NearestFree, NoneFreeGivesLeastColliding)
{
	std::vector<int> offsets;
	for (int o = 0; o < 60; o++)
		offsets.push_back(o);
	offsets.push_back(30);
	offsets.push_back(31);
	offsets.push_back(29);
	offsets.push_back(28);
	const FreeOffset r = NearestFreeOffset(EveryMinuteAt(offsets), five_minutes_, 30, TimeZone::Utc(), kFrom);
	EXPECT_FALSE(r.free_offset.has_value());
	EXPECT_EQ(r.least_colliding_offset, 32); /* 28-31 meet 2 jobs each; 32 is the closest meeting only 1 */
	EXPECT_EQ(r.least_colliding_count, 1);
}

TEST_F(NearestFree, UnshiftableScheduleAnswersWanted)
{
	const CronSchedule six = MustParse("15 */5 * * * *");
	FreeOffset r = NearestFreeOffset(EveryMinuteAt({15}), six, 40, TimeZone::Utc(), kFrom);
	EXPECT_FALSE(r.free_offset.has_value());
	EXPECT_EQ(r.least_colliding_offset, 40);
	EXPECT_EQ(r.least_colliding_count, 1);
	r = NearestFreeOffset(EveryMinuteAt({16}), six, 40, TimeZone::Utc(), kFrom);
	EXPECT_EQ(r.free_offset, 40);
}

TEST(CollidingJobs, NamesTheJobsMet)
{
	const std::vector<CollisionJob> others = {Job("* * * * *", 5), Job("0 * * * *", 5), Job("0 * * * *", 6),
	                                          Job("5 seconds", 0), Job("@reboot", 5)};
	EXPECT_EQ(CollidingJobs(others, MustParse("*/5 * * * *"), 5, true, TimeZone::Utc(), kFrom),
	          (std::vector<std::size_t>{0, 1, 3}));
	EXPECT_EQ(CollidingJobs(others, MustParse("*/5 * * * *"), 6, true, TimeZone::Utc(), kFrom),
	          (std::vector<std::size_t>{2}));
	/* disabled: everything 5-field is at second 0 */
	EXPECT_EQ(CollidingJobs(others, MustParse("*/5 * * * *"), 6, false, TimeZone::Utc(), kFrom),
	          (std::vector<std::size_t>{0, 1, 2, 3}));
}

TEST(SecondDistribution, CountsJobsPerSecond)
{
	const std::vector<CollisionJob> jobs = {Job("* * * * *", 5),   Job("0 3 * * *", 20), Job("*/5 * * * *", 20),
	                                        Job("@reboot", 30),    Job("15 seconds", 0), Job("15,45 */5 * * * *", 0),
	                                        Job("0 0 30 2 *", 40), Job("0 0 29 2 *", 50)};
	std::array<int, 60> expected{};
	expected[5] = 1;
	expected[20] = 2;
	expected[0] = 1;  /* 15 seconds */
	expected[15] = 2; /* 15 seconds, 6-field */
	expected[30] = 1;
	expected[45] = 2;
	expected[50] = 1; /* Feb 29 is inside the horizon */
	EXPECT_EQ(SecondDistribution(jobs, true, TimeZone::Utc(), kFrom), expected);
	std::array<int, 60> disabled{};
	disabled[0] = 5;
	disabled[15] = 2;
	disabled[30] = 1;
	disabled[45] = 2;
	EXPECT_EQ(SecondDistribution(jobs, false, TimeZone::Utc(), kFrom), disabled);
}

TEST(SecondDistribution, GapFireSecondOfASixFieldJob)
{
	/* 02:30:15 on the spring-forward day fires at 03:00:00, second 0 */
	const std::vector<CollisionJob> jobs = {Job("15 30 2 14 3 *", 0)};
	const TimeZone ny = MustLoad("America/New_York");
	std::array<int, 60> seconds = SecondDistribution(jobs, true, ny, Utc(2027, 3, 1));
	EXPECT_EQ(seconds[0], 1);
	EXPECT_EQ(seconds[15], 1); /* other years: March 14 is an ordinary day */
	seconds = SecondDistribution({Job("15 30 2 8 3 *", 0)}, true, ny, Utc(2026, 3, 1));
	EXPECT_EQ(seconds[0], 1);
	EXPECT_EQ(seconds[15], 1);
}

/* Effective fire instants of a job in (lo, hi], one by one: NextFire plus the applied offset. */
std::vector<Instant>
BruteFires(const CollisionJob &job, bool enabled, const TimeZone &tz, Instant lo, Instant hi)
{
	std::vector<Instant> out;
	const CronSchedule &s = job.schedule;
	if (s.kind == ScheduleKind::kInterval) {
		const int n = s.interval_seconds;
		for (Instant t = lo - ((lo % n) + n) % n + n; t <= hi; t += n)
			out.push_back(t);
		return out;
	}
	const int shift = AppliedOffset(s, job.offset, enabled);
	Instant t = lo - shift;
	for (std::optional<Instant> next = NextFire(s, t, tz); next && *next + shift <= hi; next = NextFire(s, t, tz)) {
		out.push_back(*next + shift);
		t = *next;
	}
	return out;
}

cctz::civil_day
LocalDay(Instant t, const TimeZone &tz)
{
	return cctz::civil_day(cctz::convert(cctz::time_point<cctz::seconds>(cctz::seconds(t)), tz.Zone()));
}

/* A `from` up to three days before the zone's next offset change after `anchor` (or `anchor` itself in UTC). */
Instant
FromNearTransition(const TimeZone &tz, Instant anchor, std::mt19937 &rng)
{
	cctz::time_zone::civil_transition tr;
	const auto tp = cctz::time_point<cctz::seconds>(cctz::seconds(anchor));
	if (!tz.Zone().next_transition(tp, &tr))
		return anchor + static_cast<Instant>(rng() % kDay);
	const Instant at = tz.Zone().lookup(tr.to).trans.time_since_epoch().count();
	return at - static_cast<Instant>(rng() % (3 * kDay));
}

/*
 * A random small job set: FindCollisions must agree with the intersection of
 * the enumerated fire instants on each pair's first collision, its second
 * and that day's count, and report no pair that does not meet. Returns how
 * many pairs had their per-day count checked.
 */
int
CheckRandomSet(const TimeZone &tz, Instant from, std::mt19937 &rng)
{
	static const std::vector<std::string> kPool = {
	    "* * * * *",   "*/5 * * * *", "0 * * * *",      "30 * * * *",     "*/15 * * * *", "0 3 * * *",
	    "30 2 * * *",  "0 2 * * *",   "*/10 2 * * *",   "0,30 1 * * *",   "30 1 * * *",   "0 3 * * 0",
	    "0 0 1 * *",   "0 */2 * * *", "15 */5 * * * *", "*/20 * * * * *", "0 30 2 * * *", "30 0 3 * * *",
	    "10 seconds",  "15 seconds",  "7 seconds",      "45 seconds",     "@reboot",      "0 1 * * 0",
	    "59 23 * * *", "0 0 * * *",   "* 2 * * *",      "*/7 1-3 * * *",  "30 0 * * *",   "*/30 23 * * *",
	    "0 23 * * *",  "15 0 * * 0",  "0,30 0-2 * * *", "20 0 2 * * *",   "0 0 * * 6",    "45 1 * * *",
	    "8 seconds"};
	static const std::vector<int> kOffsets = {0, 0, 5, 15, 30, 45};
	const bool enabled = rng() % 4 != 0;
	std::vector<CollisionJob> jobs;
	const std::size_t count = 3 + rng() % 5;
	for (std::size_t i = 0; i < count; i++)
		jobs.push_back(Job(kPool[rng() % kPool.size()], kOffsets[rng() % kOffsets.size()]));
	const Instant lo = from - 2 * kDay;
	const Instant hi = from + 4 * kDay;
	std::vector<std::vector<Instant>> fires;
	for (const CollisionJob &job : jobs)
		fires.push_back(BruteFires(job, enabled, tz, lo, hi));
	std::map<std::pair<std::size_t, std::size_t>, CollisionPair> found;
	for (const CollisionPair &p : FindCollisions(jobs, enabled, tz, from))
		found[{p.index_a, p.index_b}] = p;
	int checked = 0;
	for (std::size_t a = 0; a < jobs.size(); a++) {
		for (std::size_t b = a + 1; b < jobs.size(); b++) {
			std::vector<Instant> common;
			std::set_intersection(fires[a].begin(), fires[a].end(), fires[b].begin(), fires[b].end(),
			                      std::back_inserter(common));
			const auto first = std::upper_bound(common.begin(), common.end(), from);
			const auto it = found.find({a, b});
			const std::string what = jobs[a].name + "/" + std::to_string(jobs[a].offset) + " vs " + jobs[b].name + "/" +
			                         std::to_string(jobs[b].offset) + " in " + tz.Name() + " from " + Format(from, tz) +
			                         (enabled ? "" : " (disabled)");
			if (first == common.end()) {
				if (it != found.end()) {
					EXPECT_GT(it->second.first_collision, hi) << what;
				}
				continue;
			}
			if (it == found.end()) {
				ADD_FAILURE() << what << " meet at " << Format(*first, tz);
				continue;
			}
			EXPECT_EQ(Format(it->second.first_collision, tz), Format(*first, tz)) << what;
			EXPECT_EQ(it->second.second, static_cast<int>(((*first % 60) + 60) % 60)) << what;
			if (*first > from + 2 * kDay)
				continue;
			const cctz::civil_day day = LocalDay(*first, tz);
			const auto same_day =
			    std::count_if(common.begin(), common.end(), [&](Instant t) { return LocalDay(t, tz) == day; });
			EXPECT_EQ(it->second.collisions_per_day, same_day) << what;
			checked++;
		}
	}
	return checked;
}

/* Random job sets around DST transitions of several zones (30-minute DST, transitions at midnight). */
TEST(FindCollisionsProperty, AgreesWithBruteForce)
{
	const std::vector<std::string> zones = {
	    "UTC", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "America/Santiago", "America/Havana"};
	std::mt19937 rng(20261128);
	int checked = 0;
	for (int trial = 0; trial < 300; trial++) {
		const TimeZone tz = MustLoad(zones[rng() % zones.size()]);
		checked += CheckRandomSet(tz, FromNearTransition(tz, Utc(2026, 1 + static_cast<int>(rng() % 12), 1), rng), rng);
	}
	EXPECT_GT(checked, 100);
}

/* Monrovia kept UTC-0:44:30 until 1972-01-07 00:44:30 UTC: local and UTC seconds differ, and a 44.5-minute gap. */
TEST(FindCollisionsProperty, SubMinuteOffsetsAgreeWithBruteForce)
{
	const TimeZone tz = MustLoad("Africa/Monrovia");
	std::mt19937 rng(1972);
	int checked = 0;
	for (int trial = 0; trial < 40; trial++)
		checked += CheckRandomSet(tz, Utc(1972, 1, 4) + static_cast<Instant>(rng() % (3 * kDay)), rng);
	EXPECT_GT(checked, 20);
}

} // namespace
} // namespace js::core::test

namespace js::core {
namespace {

CollisionJob
SpreadJob(std::int64_t id, const std::string &text, int offset)
{
	ParseResult parsed = ParseSchedule(text);
	EXPECT_TRUE(parsed.ok) << text;
	return CollisionJob{id, "job" + std::to_string(id), parsed.schedule, offset, std::nullopt};
}

/* New every-minute jobs get offsets one by one: they spread over the minute, avoiding :00, never colliding. */
TEST(SpreadOffset, SpreadsEveryMinuteJobsOverTheMinute)
{
	const Instant from = 1772445600;
	const TimeZone utc = TimeZone::Utc();
	std::vector<CollisionJob> jobs;
	std::vector<int> offsets;
	for (int i = 0; i < 8; i++) {
		CollisionJob job = SpreadJob(i, "* * * * *", 0);
		job.offset = SpreadOffset(jobs, job.schedule, utc, from);
		offsets.push_back(job.offset);
		jobs.push_back(job);
	}
	EXPECT_EQ(offsets, (std::vector<int>{30, 15, 45, 7, 22, 37, 52, 11}));
	EXPECT_TRUE(FindCollisions(jobs, true, utc, from).empty());
}

TEST(SpreadOffset, PrefersAFreeSecondOverAnEmptyButCollidingOne)
{
	const Instant from = 1772445600;
	const TimeZone utc = TimeZone::Utc();
	/* every second but :00 taken by an every-minute job: :00 is the only free offset */
	std::vector<CollisionJob> others;
	for (int s = 1; s < 60; s++)
		others.push_back(SpreadJob(s, "* * * * *", s));
	CollisionJob job = SpreadJob(100, "* * * * *", 0);
	EXPECT_EQ(SpreadOffset(others, job.schedule, utc, from), 0) << "only second 0 is free";
	others.push_back(SpreadJob(0, "* * * * *", 0));
	const int fallback = SpreadOffset(others, job.schedule, utc, from);
	EXPECT_EQ(CollidingJobs(others, job.schedule, fallback, true, utc, from).size(), 1u) << "least colliding";
}

TEST(SpreadOffset, JobsThatNeverMeetMayShareASecond)
{
	const Instant from = 1772445600;
	const TimeZone utc = TimeZone::Utc();
	std::vector<CollisionJob> others = {SpreadJob(1, "0 * * * *", 30)};
	/* an hourly job at minute 30 never meets the one at minute 0: the least used second is still preferred */
	const int offset = SpreadOffset(others, SpreadJob(2, "30 * * * *", 0).schedule, utc, from);
	EXPECT_NE(offset, 30);
	EXPECT_EQ(SpreadOffset({}, SpreadJob(3, "15 * * * * *", 0).schedule, utc, from), 0)
	    << "6-field: offsets do not apply";
	EXPECT_EQ(SpreadOffset({}, SpreadJob(4, "10 seconds", 0).schedule, utc, from), 0);
}

} // namespace
} // namespace js::core

namespace js::core {
namespace {

/* MightMeet is a superset: every job a new job really collides with is in it (DST zones included). */
TEST(MightMeet, IsASupersetOfTheRealCollisions)
{
	const std::vector<std::string> shapes = {"* * * * *", "*/5 * * * *", "0 * * * *",  "30 2 * * *",
	                                         "0 3 * * *", "15 10 * * 1", "7 seconds",  "10 */2 * * * *",
	                                         "0 0 1 * *", "45 23 * * *", "0 0 29 2 *", "@reboot"};
	for (const char *zone : {"UTC", "America/New_York", "Europe/Berlin"}) {
		const TimeZone tz = *TimeZone::Load(zone);
		const Instant from = 1772445600; /* 2026-03-02: spring-forward ahead in both DST zones */
		std::vector<CollisionJob> jobs;
		for (std::size_t i = 0; i < shapes.size(); i++)
			for (int offset : {0, 5, 30})
				jobs.push_back(CollisionJob{static_cast<std::int64_t>(jobs.size()), shapes[i],
				                            ParseSchedule(shapes[i]).schedule, offset, std::nullopt});
		for (std::size_t j = 0; j < jobs.size(); j++) {
			std::vector<CollisionJob> others = jobs;
			others.erase(others.begin() + static_cast<std::ptrdiff_t>(j));
			const std::vector<std::size_t> might = MightMeet(others, jobs[j].schedule, tz, from);
			for (std::size_t k : CollidingJobs(others, jobs[j].schedule, jobs[j].offset, true, tz, from))
				EXPECT_TRUE(std::find(might.begin(), might.end(), k) != might.end())
				    << zone << ": " << jobs[j].name << " meets " << others[k].name << " outside MightMeet";
		}
		EXPECT_TRUE(MightMeet(jobs, ParseSchedule("@reboot").schedule, tz, from).empty());
	}
	EXPECT_FALSE(MightMeetPair(ParseSchedule("0 3 * * *").schedule, ParseSchedule("30 4 * * *").schedule, false));
	EXPECT_TRUE(MightMeetPair(ParseSchedule("30 2 * * *").schedule, ParseSchedule("0 3 * * *").schedule, true));
}

} // namespace
} // namespace js::core
