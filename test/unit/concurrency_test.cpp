/*
 * ConcurrencyByMinute: the stampede at :00 against staggered starts, runs
 * carried over from earlier minutes, ends before starts at equal instants,
 * tie rules for the worst second, and a randomized check against a direct
 * count.
 */
#include "core/concurrency.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <vector>

namespace js::core::test {
namespace {

constexpr std::int64_t kSec = 1000000;
constexpr std::int64_t kMin = 60 * kSec;
/* 2026-11-28 12:00:00 UTC in Unix microseconds. */
constexpr std::int64_t kNoon = INT64_C(1796644800) * kSec;

RunInterval
Interval(std::int64_t start_us, std::int64_t end_us, bool staggered = false)
{
	return RunInterval{start_us, end_us, staggered};
}

TEST(ConcurrencyByMinute, NoRunsNoRows)
{
	EXPECT_TRUE(ConcurrencyByMinute({}).empty());
}

TEST(ConcurrencyByMinute, EightRunsAtSecondZeroPeakAtTheMinute)
{
	std::vector<RunInterval> runs;
	for (int i = 0; i < 8; i++)
		runs.push_back(Interval(kNoon + i * 1000, kNoon + 2 * kSec + i * 1000));
	auto rows = ConcurrencyByMinute(runs);
	ASSERT_EQ(rows.size(), 1u);
	EXPECT_EQ(rows[0].minute_us, kNoon);
	EXPECT_EQ(rows[0].runs_off, 8);
	EXPECT_EQ(rows[0].runs_on, 0);
	EXPECT_EQ(rows[0].peak, 8);
	/* the first start is at the minute's first instant, the last 7 ms later: still second 0 */
	EXPECT_EQ(rows[0].worst_second_us, kNoon);
}

TEST(ConcurrencyByMinute, StaggeredRunsPeakOneAtTheFirstStart)
{
	std::vector<RunInterval> runs;
	for (int s : {7, 11, 15, 22, 30, 37, 45, 52})
		runs.push_back(Interval(kNoon + s * kSec + 300, kNoon + (s + 2) * kSec, true));
	auto rows = ConcurrencyByMinute(runs);
	ASSERT_EQ(rows.size(), 1u);
	EXPECT_EQ(rows[0].runs_on, 8);
	EXPECT_EQ(rows[0].runs_off, 0);
	EXPECT_EQ(rows[0].peak, 1);
	EXPECT_EQ(rows[0].worst_second_us, kNoon + 7 * kSec);
}

TEST(ConcurrencyByMinute, RunCarriedOverFromTheMinuteBefore)
{
	/* A runs 12:00:50-12:01:30; B starts 12:01:10: two at once in minute 12:01, at second 10. */
	auto rows = ConcurrencyByMinute(
	    {Interval(kNoon + 50 * kSec, kNoon + 90 * kSec), Interval(kNoon + 70 * kSec, kNoon + 75 * kSec)});
	ASSERT_EQ(rows.size(), 2u);
	EXPECT_EQ(rows[0].minute_us, kNoon);
	EXPECT_EQ(rows[0].peak, 1);
	EXPECT_EQ(rows[0].worst_second_us, kNoon + 50 * kSec);
	EXPECT_EQ(rows[1].minute_us, kNoon + kMin);
	EXPECT_EQ(rows[1].runs_off, 1);
	EXPECT_EQ(rows[1].peak, 2);
	EXPECT_EQ(rows[1].worst_second_us, kNoon + 70 * kSec);
}

TEST(ConcurrencyByMinute, CarriedRunsCountAtTheMinuteStart)
{
	/* Three long runs from the minute before are still going at 12:01:00; one more starts at :20
	   after two of them ended: the peak of 12:01 is 3, at the minute's start. */
	auto rows = ConcurrencyByMinute(
	    {Interval(kNoon + 10 * kSec, kNoon + 65 * kSec), Interval(kNoon + 11 * kSec, kNoon + 66 * kSec),
	     Interval(kNoon + 12 * kSec, kNoon + 100 * kSec), Interval(kNoon + 80 * kSec, kNoon + 81 * kSec)});
	ASSERT_EQ(rows.size(), 2u);
	EXPECT_EQ(rows[1].minute_us, kNoon + kMin);
	EXPECT_EQ(rows[1].runs_off, 1);
	EXPECT_EQ(rows[1].peak, 3);
	EXPECT_EQ(rows[1].worst_second_us, kNoon + kMin);
}

TEST(ConcurrencyByMinute, MinutesWithoutStartsHaveNoRow)
{
	auto rows = ConcurrencyByMinute({Interval(kNoon, kNoon + 5 * kMin + kSec)});
	ASSERT_EQ(rows.size(), 1u);
	EXPECT_EQ(rows[0].minute_us, kNoon);
}

TEST(ConcurrencyByMinute, EndsCountBeforeStartsAtTheSameInstant)
{
	/* A ends exactly when B starts: never two at once. */
	auto rows = ConcurrencyByMinute({Interval(kNoon, kNoon + 5 * kSec), Interval(kNoon + 5 * kSec, kNoon + 9 * kSec)});
	ASSERT_EQ(rows.size(), 1u);
	EXPECT_EQ(rows[0].peak, 1);
	EXPECT_EQ(rows[0].worst_second_us, kNoon);
}

TEST(ConcurrencyByMinute, RunEndingAtTheMinuteStartIsNotCarried)
{
	auto rows =
	    ConcurrencyByMinute({Interval(kNoon + 30 * kSec, kNoon + kMin), Interval(kNoon + kMin, kNoon + kMin + kSec)});
	ASSERT_EQ(rows.size(), 2u);
	EXPECT_EQ(rows[1].peak, 1);
	EXPECT_EQ(rows[1].worst_second_us, kNoon + kMin);
}

TEST(ConcurrencyByMinute, TieWithTheMinuteStartGoesToTheMinuteStart)
{
	/* One run carried into 12:01 ends at :05; another starts at :30: level 1 both times. */
	auto rows = ConcurrencyByMinute(
	    {Interval(kNoon + 50 * kSec, kNoon + 65 * kSec), Interval(kNoon + 90 * kSec, kNoon + 95 * kSec)});
	ASSERT_EQ(rows.size(), 2u);
	EXPECT_EQ(rows[1].peak, 1);
	EXPECT_EQ(rows[1].worst_second_us, kNoon + kMin);
}

TEST(ConcurrencyByMinute, EarliestSecondReachingThePeak)
{
	/* Two at once from :10.5 and again from :40: the worst second is :10. */
	auto rows = ConcurrencyByMinute(
	    {Interval(kNoon + 10 * kSec, kNoon + 20 * kSec), Interval(kNoon + 10 * kSec + kSec / 2, kNoon + 12 * kSec),
	     Interval(kNoon + 40 * kSec, kNoon + 50 * kSec), Interval(kNoon + 41 * kSec, kNoon + 42 * kSec)});
	ASSERT_EQ(rows.size(), 1u);
	EXPECT_EQ(rows[0].peak, 2);
	EXPECT_EQ(rows[0].worst_second_us, kNoon + 10 * kSec);
}

TEST(ConcurrencyByMinute, ModesCountedApartPeakShared)
{
	auto rows =
	    ConcurrencyByMinute({Interval(kNoon, kNoon + kSec, false), Interval(kNoon + 5 * kSec, kNoon + 6 * kSec, true),
	                         Interval(kNoon + 5 * kSec, kNoon + 7 * kSec, true)});
	ASSERT_EQ(rows.size(), 1u);
	EXPECT_EQ(rows[0].runs_off, 1);
	EXPECT_EQ(rows[0].runs_on, 2);
	EXPECT_EQ(rows[0].peak, 2);
	EXPECT_EQ(rows[0].worst_second_us, kNoon + 5 * kSec);
}

TEST(ConcurrencyByMinute, BackwardsIntervalsAreIgnoredZeroLengthRunsCount)
{
	auto rows = ConcurrencyByMinute({Interval(kNoon + 5 * kSec, kNoon), Interval(kNoon + 8 * kSec, kNoon + 8 * kSec)});
	ASSERT_EQ(rows.size(), 1u);
	EXPECT_EQ(rows[0].runs_off, 1);
	EXPECT_EQ(rows[0].peak, 1);
	EXPECT_EQ(rows[0].worst_second_us, kNoon + 8 * kSec);
}

TEST(ConcurrencyByMinute, InstantsBeforeTheEpochFloorToTheirMinute)
{
	auto rows = ConcurrencyByMinute({Interval(-90 * kSec + 1, -80 * kSec)});
	ASSERT_EQ(rows.size(), 1u);
	EXPECT_EQ(rows[0].minute_us, -2 * kMin);
	EXPECT_EQ(rows[0].worst_second_us, -90 * kSec);
}

/* Runs executing at t: started at or before t and not yet ended, zero-length runs at t included
   if `with_zero_length`. */
std::int64_t
LevelAt(const std::vector<RunInterval> &runs, std::int64_t t, bool with_zero_length)
{
	std::int64_t level = 0;
	for (const RunInterval &r : runs)
		level += r.start_us <= t && (r.end_us > t || (with_zero_length && r.end_us == t && r.start_us == t));
	return level;
}

TEST(ConcurrencyByMinute, MatchesADirectCountOnRandomRuns)
{
	std::mt19937_64 rng(20261128);
	for (int round = 0; round < 200; round++) {
		std::vector<RunInterval> runs;
		int n = 1 + static_cast<int>(rng() % 40);
		for (int i = 0; i < n; i++) {
			/* starts on a coarse grid so that equal instants happen often */
			std::int64_t start = kNoon + static_cast<std::int64_t>(rng() % 600) * (kSec / 2);
			std::int64_t len = static_cast<std::int64_t>(rng() % 200) * (kSec / 2); /* 0.5% zero-length */
			runs.push_back(Interval(start, start + len, rng() % 2 == 0));
		}
		std::map<std::int64_t, MinuteConcurrency> expected;
		for (const RunInterval &r : runs) {
			std::int64_t m = kNoon + (r.start_us - kNoon) / kMin * kMin;
			MinuteConcurrency &row = expected[m];
			row.minute_us = m;
			(r.staggered ? row.runs_on : row.runs_off) += 1;
		}
		for (auto &[m, row] : expected) {
			std::int64_t best = LevelAt(runs, m, false), best_t = m;
			std::vector<std::int64_t> starts;
			for (const RunInterval &r : runs)
				if (r.start_us >= m && r.start_us < m + kMin)
					starts.push_back(r.start_us);
			std::sort(starts.begin(), starts.end());
			for (std::int64_t s : starts)
				if (LevelAt(runs, s, true) > best) {
					best = LevelAt(runs, s, true);
					best_t = s;
				}
			row.peak = best;
			row.worst_second_us = best_t - (best_t - kNoon) % kSec;
		}
		auto rows = ConcurrencyByMinute(runs);
		ASSERT_EQ(rows.size(), expected.size()) << "round " << round;
		std::size_t i = 0;
		for (const auto &[m, row] : expected) {
			EXPECT_EQ(rows[i].minute_us, m) << "round " << round;
			EXPECT_EQ(rows[i].runs_off, row.runs_off) << "round " << round;
			EXPECT_EQ(rows[i].runs_on, row.runs_on) << "round " << round;
			EXPECT_EQ(rows[i].peak, row.peak) << "round " << round << " minute " << (m - kNoon) / kMin;
			EXPECT_EQ(rows[i].worst_second_us, row.worst_second_us) << "round " << round;
			i++;
		}
	}
}

} // namespace
} // namespace js::core::test
