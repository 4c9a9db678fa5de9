/*
 * NextFire in UTC: every schedule shape, strictly-after semantics, leap
 * years, intervals (negative epochs, phase), never-firing schedules, range
 * limits, TimeZone::Load; plus a brute-force cross-check against a slow
 * second-by-second matcher written with cctz.
 */
#include "core/cron.hpp"

#include "cron_test_support.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <ostream>
#include <random>
#include <string>

namespace js::core::test {
namespace {

struct NextCase {
	const char *text;
	Instant after;
	Instant expected;
};

void
PrintTo(const NextCase &c, std::ostream *os)
{
	*os << '"' << c.text << "\" after " << Format(c.after, TimeZone::Utc());
}

class NextUtcTest : public ::testing::TestWithParam<NextCase> {};

TEST_P(NextUtcTest, FiresAtExpectedInstant)
{
	const NextCase &c = GetParam();
	const std::optional<Instant> next = NextFire(MustParse(c.text), c.after, TimeZone::Utc());
	ASSERT_TRUE(next.has_value());
	EXPECT_EQ(Format(*next, TimeZone::Utc()), Format(c.expected, TimeZone::Utc()));
}

/* 2026-01-01 is a Thursday. */
INSTANTIATE_TEST_SUITE_P(Shapes, NextUtcTest,
                         ::testing::Values(
                             /* every minute, strictly after */
                             NextCase{"* * * * *", Utc(2026, 1, 1), Utc(2026, 1, 1, 0, 1)},
                             NextCase{"* * * * *", Utc(2026, 1, 1, 0, 0, 30), Utc(2026, 1, 1, 0, 1)},
                             NextCase{"* * * * *", Utc(2026, 1, 1, 0, 0, 59), Utc(2026, 1, 1, 0, 1)},
                             NextCase{"* * * * *", Utc(2026, 12, 31, 23, 59), Utc(2027, 1, 1)},
                             /* every 5th minute */
                             NextCase{"*/5 * * * *", Utc(2026, 1, 1, 10, 2), Utc(2026, 1, 1, 10, 5)},
                             NextCase{"*/5 * * * *", Utc(2026, 1, 1, 10, 5), Utc(2026, 1, 1, 10, 10)},
                             NextCase{"*/5 * * * *", Utc(2026, 12, 31, 23, 58), Utc(2027, 1, 1)},
                             /* hourly, daily */
                             NextCase{"0 * * * *", Utc(2026, 1, 1, 10), Utc(2026, 1, 1, 11)},
                             NextCase{"@hourly", Utc(2026, 1, 1, 10, 59, 59), Utc(2026, 1, 1, 11)},
                             NextCase{"0 3 * * *", Utc(2026, 1, 1, 2, 59, 59), Utc(2026, 1, 1, 3)},
                             NextCase{"0 3 * * *", Utc(2026, 1, 1, 3), Utc(2026, 1, 2, 3)},
                             NextCase{"@daily", Utc(2026, 2, 28, 12), Utc(2026, 3, 1)},
                             /* weekly, weekdays */
                             NextCase{"@weekly", Utc(2026, 1, 1), Utc(2026, 1, 4)},
                             NextCase{"0 0 * * 7", Utc(2026, 1, 4), Utc(2026, 1, 11)},
                             NextCase{"0 9 * * mon-fri", Utc(2026, 1, 2, 9), Utc(2026, 1, 5, 9)},
                             NextCase{"0 9 * * mon-fri", Utc(2026, 1, 1, 8), Utc(2026, 1, 1, 9)},
                             NextCase{"0 0 * * fri-7", Utc(2026, 1, 4), Utc(2026, 1, 9)},
                             /* monthly, yearly, day 31 */
                             NextCase{"@monthly", Utc(2026, 1, 15), Utc(2026, 2, 1)},
                             NextCase{"0 0 1 * *", Utc(2026, 12, 1), Utc(2027, 1, 1)},
                             NextCase{"@yearly", Utc(2026, 1, 1), Utc(2027, 1, 1)},
                             NextCase{"@annually", Utc(2025, 12, 31, 23, 59, 59), Utc(2026, 1, 1)},
                             NextCase{"0 0 31 * *", Utc(2026, 1, 31), Utc(2026, 3, 31)},
                             NextCase{"0 12 * jan,jul *", Utc(2026, 1, 31, 12), Utc(2026, 7, 1, 12)},
                             /* 6-field: every second, at second 15 */
                             NextCase{"* * * * * *", Utc(2026, 1, 1), Utc(2026, 1, 1, 0, 0, 1)},
                             NextCase{"* * * * * *", Utc(2026, 12, 31, 23, 59, 59), Utc(2027, 1, 1)},
                             NextCase{"15 * * * * *", Utc(2026, 1, 1, 0, 0, 15), Utc(2026, 1, 1, 0, 1, 15)},
                             NextCase{"15 * * * * *", Utc(2026, 1, 1, 0, 0, 14), Utc(2026, 1, 1, 0, 0, 15)},
                             NextCase{"15 */5 * * * *", Utc(2026, 1, 1, 0, 0, 15), Utc(2026, 1, 1, 0, 5, 15)},
                             NextCase{"15 */5 * * * *", Utc(2026, 1, 1, 0, 57), Utc(2026, 1, 1, 1, 0, 15)},
                             NextCase{"*/20 30 4 * * *", Utc(2026, 1, 1, 4, 30, 40), Utc(2026, 1, 2, 4, 30)},
                             /* $ = last day of the month, leap years (2000 and 2028 leap, 2027 and 2100 not) */
                             NextCase{"0 0 $ * *", Utc(2026, 1, 31), Utc(2026, 2, 28)},
                             NextCase{"0 0 $ 2 *", Utc(2027, 1, 1), Utc(2027, 2, 28)},
                             NextCase{"0 0 $ 2 *", Utc(2027, 2, 28), Utc(2028, 2, 29)},
                             NextCase{"0 0 $ 2 *", Utc(2100, 1, 1), Utc(2100, 2, 28)},
                             NextCase{"0 0 $ 2 *", Utc(2000, 1, 1), Utc(2000, 2, 29)},
                             NextCase{"0 0 29 2 *", Utc(2026, 3, 1), Utc(2028, 2, 29)},
                             NextCase{"0 0 29 2 *", Utc(1999, 1, 1), Utc(2000, 2, 29)},
                             NextCase{"0 0 29 2 *", Utc(2096, 3, 1), Utc(2104, 2, 29)},
                             NextCase{"0 0 1,$ * *", Utc(2026, 4, 1), Utc(2026, 4, 30)},
                             /* dom/dow: both restricted = either; a field starting with * (even a step) = both */
                             NextCase{"0 0 1 * mon", Utc(2026, 1, 1), Utc(2026, 1, 5)},
                             NextCase{"0 0 1 * mon", Utc(2026, 1, 26), Utc(2026, 2, 1)},
                             NextCase{"0 0 13 * fri", Utc(2026, 1, 1), Utc(2026, 1, 2)},
                             NextCase{"0 0 */2 * mon", Utc(2026, 1, 1), Utc(2026, 1, 5)},
                             NextCase{"0 0 */2 * mon", Utc(2026, 1, 5), Utc(2026, 1, 19)},
                             NextCase{"0 0 13 * */7", Utc(2026, 1, 1), Utc(2026, 9, 13)},
                             NextCase{"0 0 1 * */2", Utc(2026, 1, 1), Utc(2026, 2, 1)},
                             /* Feb 1 or 29 on a Sunday (AND): 2032-02-01 is a Sunday */
                             NextCase{"0 0 */28 2 */7", Utc(2026, 2, 2), Utc(2032, 2, 1)}));

struct IntervalCase {
	int seconds;
	Instant after;
	Instant expected;
};

class NextIntervalTest : public ::testing::TestWithParam<IntervalCase> {};

TEST_P(NextIntervalTest, NextMultipleStrictlyAfter)
{
	const IntervalCase &c = GetParam();
	const CronSchedule s = MustParse(std::to_string(c.seconds) + " seconds");
	EXPECT_EQ(NextFire(s, c.after, TimeZone::Utc()), c.expected);
	/* The zone does not matter. */
	EXPECT_EQ(NextFire(s, c.after, MustLoad("America/New_York")), c.expected);
}

INSTANTIATE_TEST_SUITE_P(
    Intervals, NextIntervalTest,
    ::testing::Values(IntervalCase{10, 0, 10}, IntervalCase{10, 5, 10}, IntervalCase{10, 9, 10},
                      IntervalCase{10, 10, 20}, IntervalCase{10, -1, 0}, IntervalCase{10, -5, 0},
                      IntervalCase{10, -10, 0}, IntervalCase{10, -11, -10}, IntervalCase{7, 100, 105},
                      IntervalCase{7, 105, 112}, IntervalCase{7, -1, 0}, IntervalCase{7, -8, -7},
                      IntervalCase{7, -7, 0}, IntervalCase{1, 41, 42},
                      IntervalCase{59, Utc(2026, 1, 1), Utc(2026, 1, 1) + 59 - Utc(2026, 1, 1) % 59},
                      IntervalCase{1, std::numeric_limits<Instant>::min(), std::numeric_limits<Instant>::min() + 1}));

TEST(NextFire, IntervalPhaseIsEpochBased)
{
	const CronSchedule s = MustParse("7 seconds");
	Instant t = Utc(2026, 1, 1) - 100;
	for (int i = 0; i < 1000; i++) {
		const Instant next = *NextFire(s, t, TimeZone::Utc());
		EXPECT_GT(next, t);
		EXPECT_LE(next - t, 7);
		EXPECT_EQ(next % 7, 0);
		t = next - (i % 3); /* also ask from just before a fire */
	}
}

TEST(NextFire, RebootAndNeverFiringReturnNothingQuickly)
{
	EXPECT_FALSE(NextFire(MustParse("@reboot"), 0, TimeZone::Utc()).has_value());
	const auto start = std::chrono::steady_clock::now();
	for (const char *text : {"0 0 30 2 *", "0 0 31 4,6,9,11 *", "59 59 23 31 2 *"}) {
		const CronSchedule s = MustParse(text);
		for (int i = 0; i < 1000; i++)
			EXPECT_FALSE(NextFire(s, Utc(2026, 1, 1) + i, MustLoad("Europe/Berlin")).has_value()) << text;
	}
	EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
}

TEST(NextFire, OutOfRangeInstantsGiveNothing)
{
	const CronSchedule s = MustParse("* * * * *");
	constexpr Instant kMax = std::numeric_limits<Instant>::max();
	constexpr Instant kMin = std::numeric_limits<Instant>::min();
	EXPECT_FALSE(NextFire(s, kMax, TimeZone::Utc()).has_value());
	EXPECT_FALSE(NextFire(s, kMin, TimeZone::Utc()).has_value());
	EXPECT_FALSE(NextFire(MustParse("10 seconds"), kMax, TimeZone::Utc()).has_value());
	EXPECT_FALSE(NextFire(MustParse("10 seconds"), kMax - 9, TimeZone::Utc()).has_value());
	EXPECT_EQ(NextFire(MustParse("10 seconds"), kMax - 10, TimeZone::Utc()), kMax - 10 - (kMax - 10) % 10 + 10);
	EXPECT_EQ(NextFire(MustParse("10 seconds"), kMin, TimeZone::Utc()), kMin - kMin % 10);
	/* Year 9999 is the last supported year; year 1 the first. */
	EXPECT_EQ(NextFire(s, Utc(9999, 12, 30, 12), TimeZone::Utc()), Utc(9999, 12, 30, 12, 1));
	EXPECT_FALSE(NextFire(MustParse("@yearly"), Utc(9999, 6, 1), TimeZone::Utc()).has_value());
	EXPECT_EQ(NextFire(s, Utc(1, 6, 1), TimeZone::Utc()), Utc(1, 6, 1, 0, 1));
}

TEST(TimeZoneTest, LoadKnownAndUnknown)
{
	EXPECT_FALSE(TimeZone::Load("Mars/Olympus_Mons").has_value());
	EXPECT_FALSE(TimeZone::Load("").has_value());
	const std::optional<TimeZone> berlin = TimeZone::Load("Europe/Berlin");
	ASSERT_TRUE(berlin.has_value());
	EXPECT_EQ(berlin->Name(), "Europe/Berlin");
	EXPECT_EQ(TimeZone::Utc().Name(), "UTC");
	EXPECT_TRUE(TimeZone::Load("UTC").has_value());
}

/* Slow reference: the first instant after `after` whose UTC civil time matches, scanning minute by minute. */
Instant
ScanUtc(const CronSchedule &s, Instant after)
{
	CronSchedule any_second = s;
	any_second.seconds = ~std::uint64_t{0};
	const cctz::time_zone utc = cctz::utc_time_zone();
	Instant t = after + 1;
	while (true) {
		const cctz::civil_second cs = cctz::convert(cctz::time_point<cctz::seconds>(cctz::seconds(t)), utc);
		if (MatchesCivil(s, cs))
			return t;
		t = MatchesCivil(any_second, cs) ? t + 1 : t + 60 - cs.second();
	}
}

/* Brute force: NextFire(t) is the first second after t that matches, for random t and frequent schedules. */
TEST(NextFire, AgreesWithSecondBySecondScan)
{
	const char *const kTexts[] = {"*/7 */3 * * *",    "0 0 * * *",          "15,45 10-12 * * 1-5",
	                              "*/13 * * * * *",   "0 0 1,$ * *",        "30 4 */2 * sun",
	                              "5 5 13 * fri",     "0 0 * * */3",        "0 12 1-7 * mon",
	                              "* 0 * * * *",      "59 23 $ * *",        "20-59/15 0-6/2 * * *",
	                              "0 0 29,30,31 * *", "*/20 * 1 1,2,3 * *", "0 0 */10 * 6"};
	std::mt19937_64 rng(42);
	std::uniform_int_distribution<Instant> start(Utc(1999, 1, 1), Utc(2101, 1, 1));
	for (const char *text : kTexts) {
		const CronSchedule s = MustParse(text);
		for (int round = 0; round < 40; round++) {
			const Instant after = start(rng);
			EXPECT_EQ(NextFire(s, after, TimeZone::Utc()), ScanUtc(s, after)) << text << " after " << after;
		}
	}
}

} // namespace
} // namespace js::core::test
