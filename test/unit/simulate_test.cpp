/*
 * The load simulator on hand-computed cases: offsets, merged windows of one
 * job, runs spilling into the horizon, peak and per-second figures, pairs and
 * their cut-off, groups, disabled staggering, 6-field / interval / @reboot
 * jobs, a DST change, and a property check against a second-by-second count.
 */
#include "core/simulate.hpp"

#include "sim_test_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <tuple>
#include <vector>

namespace js::core::test {
namespace {

constexpr std::int64_t kHour = 3600;

TEST(Simulate, TwoEveryMinuteJobsAtOneOffsetOverlapFiveSecondsAMinute)
{
	const std::vector<SimJob> jobs{SimJobOf("* * * * *", 0, 5), SimJobOf("* * * * *", 0, 5)};
	const SimResult r = Simulate(jobs, SimHorizon(kHour));
	ASSERT_EQ(r.running.size(), static_cast<std::size_t>(kHour));
	EXPECT_EQ(r.peak, 2);
	EXPECT_EQ(r.peak_at, kSimFrom);
	EXPECT_EQ(r.overlap_seconds, 5 * 60);
	EXPECT_EQ(r.busy_seconds, 5 * 60);
	EXPECT_EQ(r.group_overlap_seconds, 0);
	for (int s = 0; s < 60; s++) {
		EXPECT_EQ(r.peak_by_second[s], s < 5 ? 2 : 0) << s;
		EXPECT_DOUBLE_EQ(r.mean_by_second[s], s < 5 ? 2.0 : 0.0) << s;
	}
	EXPECT_EQ(r.running[0], 2);
	EXPECT_EQ(r.running[4], 2);
	EXPECT_EQ(r.running[5], 0);
	EXPECT_EQ(r.running[60], 2);
	ASSERT_EQ(r.pairs.size(), 1U);
	EXPECT_EQ(r.pairs[0].index_a, 0U);
	EXPECT_EQ(r.pairs[0].index_b, 1U);
	EXPECT_EQ(r.pairs[0].overlap_seconds, 5 * 60);
	EXPECT_EQ(r.pairs[0].first_overlap, kSimFrom);
	EXPECT_FALSE(r.pairs_truncated);
}

TEST(Simulate, OffsetsThirtySecondsApartNeverOverlap)
{
	const std::vector<SimJob> jobs{SimJobOf("* * * * *", 0, 5), SimJobOf("* * * * *", 30, 5)};
	const SimResult r = Simulate(jobs, SimHorizon(kHour));
	EXPECT_EQ(r.peak, 1);
	EXPECT_EQ(r.overlap_seconds, 0);
	EXPECT_EQ(r.busy_seconds, 10 * 60);
	EXPECT_TRUE(r.pairs.empty());
	EXPECT_EQ(r.peak_by_second[30], 1);
	EXPECT_EQ(r.peak_by_second[29], 0);
	EXPECT_DOUBLE_EQ(r.mean_by_second[34], 1.0);
}

TEST(Simulate, DisabledStaggeringIgnoresOffsets)
{
	const std::vector<SimJob> jobs{SimJobOf("* * * * *", 0, 5), SimJobOf("* * * * *", 30, 5)};
	SimOptions options = SimHorizon(kHour);
	options.stagger_enabled = false;
	const SimResult r = Simulate(jobs, options);
	EXPECT_EQ(r.peak, 2);
	EXPECT_EQ(r.overlap_seconds, 5 * 60);
	EXPECT_EQ(r.peak_by_second[0], 2);
	EXPECT_EQ(r.peak_by_second[30], 0);
}

TEST(Simulate, OneJobsOwnRunsCountOnce)
{
	/* 90 s runs every minute: each run overlaps the next, the job still counts 1. */
	const SimJob job = SimJobOf("* * * * *", 0, 90);
	const SimResult r = Simulate({job}, SimHorizon(kHour));
	EXPECT_EQ(r.peak, 1);
	EXPECT_EQ(r.overlap_seconds, 0);
	EXPECT_EQ(r.busy_seconds, kHour);
	const std::vector<RunWindow> runs = JobRuns(job, SimHorizon(kHour));
	ASSERT_EQ(runs.size(), 1U);
	EXPECT_EQ(runs[0].start, kSimFrom);
	EXPECT_EQ(runs[0].end, kSimFrom + kHour);
}

TEST(Simulate, RunsStartedBeforeTheHorizonSpillIn)
{
	/* Fires at 11:59:30 and 12:59:30, 60 s each: the first covers 12:00:00-12:00:29. */
	const SimJob job = SimJobOf("59 * * * *", 30, 60);
	const std::vector<RunWindow> runs = JobRuns(job, SimHorizon(kHour));
	ASSERT_EQ(runs.size(), 2U);
	EXPECT_EQ(runs[0].start, kSimFrom);
	EXPECT_EQ(runs[0].end, kSimFrom + 30);
	EXPECT_EQ(runs[1].start, kSimFrom + kHour - 30);
	EXPECT_EQ(runs[1].end, kSimFrom + kHour);
	const SimResult r = Simulate({job, SimJobOf("0 * * * *", 10, 5)}, SimHorizon(kHour));
	EXPECT_EQ(r.busy_seconds, 60);
	EXPECT_EQ(r.peak, 2);
	EXPECT_EQ(r.peak_at, kSimFrom + 10);
	EXPECT_EQ(r.overlap_seconds, 5);
	ASSERT_EQ(r.pairs.size(), 1U);
	EXPECT_EQ(r.pairs[0].first_overlap, kSimFrom + 10);
}

TEST(Simulate, RunsLongerThanTheHorizonLookBackFar)
{
	/* A daily 11:00 job running 2 days: the runs of the last two days cover a whole day from 12:00. */
	const SimJob job = SimJobOf("0 11 * * *", 0, 2 * 86400);
	const std::vector<RunWindow> runs = JobRuns(job, SimHorizon(86400));
	ASSERT_EQ(runs.size(), 1U);
	EXPECT_EQ(runs[0].start, kSimFrom);
	EXPECT_EQ(runs[0].end, kSimFrom + 86400);
	/* Durations are clamped to kMaxSimDurationSeconds: a weekly job "running" 30 days covers 7 days. */
	const SimJob weekly = SimJobOf("0 12 * * 6", 0, 30 * 86400); /* 2026-11-28 is a Saturday */
	const std::vector<RunWindow> week = JobRuns(weekly, SimHorizon(14 * 86400));
	ASSERT_EQ(week.size(), 1U);
	EXPECT_EQ(week[0].start, kSimFrom);
	EXPECT_EQ(week[0].end, kSimFrom + 14 * 86400);
	/* Unclamped, the Nov 1 run would last until Dec 1 and the Dec 1 run past the horizon's end (Dec 29). */
	const SimJob monthly = SimJobOf("0 12 1 * *", 0, 30 * 86400);
	const std::vector<RunWindow> month = JobRuns(monthly, SimHorizon(31 * 86400));
	ASSERT_EQ(month.size(), 1U);
	EXPECT_EQ(month[0].start, Utc(2026, 12, 1, 12));
	EXPECT_EQ(month[0].end, Utc(2026, 12, 8, 12));
}

TEST(Simulate, EmptyInputAndClampedHorizon)
{
	const SimResult empty = Simulate({}, SimHorizon(10));
	EXPECT_EQ(empty.running.size(), static_cast<std::size_t>(kMinSimHorizonSeconds));
	EXPECT_EQ(empty.peak, 0);
	EXPECT_EQ(empty.peak_at, kSimFrom);
	EXPECT_EQ(empty.busy_seconds, 0);
	EXPECT_EQ(Simulate({}, SimHorizon(400 * 86400)).running.size(), static_cast<std::size_t>(kMaxSimHorizonSeconds));
	const OptimizeResult none = Optimize({}, SimHorizon(kHour));
	EXPECT_TRUE(none.offsets.empty());
	EXPECT_TRUE(none.exact);
	EXPECT_EQ(none.moved, 0);
}

TEST(Simulate, PeakAtIsTheFirstSecondOfThePeak)
{
	/* Jobs 0 and 1 overlap at 25-29 of even minutes; job 2 joins them at 12:04:25 only. */
	const std::vector<SimJob> jobs{SimJobOf("*/2 * * * *", 20, 10), SimJobOf("* * * * *", 25, 10),
	                               SimJobOf("4 * * * *", 24, 3)};
	const SimResult r = Simulate(jobs, SimHorizon(kHour));
	EXPECT_EQ(r.peak, 3);
	EXPECT_EQ(r.peak_at, kSimFrom + 4 * 60 + 25);
	EXPECT_EQ(r.peak_by_second[25], 3);
	EXPECT_EQ(r.peak_by_second[33], 1);
}

TEST(Simulate, PairsAreSortedAndCutOff)
{
	std::vector<SimJob> jobs;
	for (int i = 0; i < 4; i++)
		jobs.push_back(SimJobOf("* * * * *", i == 3 ? 2 : 0, 5));
	SimOptions options = SimHorizon(kHour);
	SimResult all = Simulate(jobs, options);
	ASSERT_EQ(all.pairs.size(), 6U);
	EXPECT_FALSE(all.pairs_truncated);
	/* Pairs among 0-2 first overlap at 12:00:00, pairs with job 3 at 12:00:02 (3 s a minute). */
	const std::vector<std::pair<std::size_t, std::size_t>> order{{0, 1}, {0, 2}, {1, 2}, {0, 3}, {1, 3}, {2, 3}};
	for (std::size_t k = 0; k < order.size(); k++) {
		EXPECT_EQ(all.pairs[k].index_a, order[k].first) << k;
		EXPECT_EQ(all.pairs[k].index_b, order[k].second) << k;
		EXPECT_EQ(all.pairs[k].first_overlap, kSimFrom + (k < 3 ? 0 : 2)) << k;
		EXPECT_EQ(all.pairs[k].overlap_seconds, (k < 3 ? 5 : 3) * 60) << k;
	}
	options.max_pairs = 4;
	const SimResult cut = Simulate(jobs, options);
	ASSERT_EQ(cut.pairs.size(), 4U);
	EXPECT_TRUE(cut.pairs_truncated);
	EXPECT_EQ(cut.pairs[3].index_b, 3U);
	EXPECT_EQ(cut.pairs[3].overlap_seconds, 3 * 60);
	options.max_pairs = 6;
	EXPECT_FALSE(Simulate(jobs, options).pairs_truncated);
}

TEST(Simulate, GroupOverlapCountsMembersOfOneGroupOnly)
{
	const std::vector<SimJob> jobs{SimJobOf("* * * * *", 0, 5, "g1"), SimJobOf("* * * * *", 3, 5, "g1"),
	                               SimJobOf("* * * * *", 0, 5, "g2"), SimJobOf("* * * * *", 0, 5)};
	const SimResult r = Simulate(jobs, SimHorizon(kHour));
	/* g1 members share seconds 3-4 of each minute; g2 has one member; "" is no group. */
	EXPECT_EQ(r.group_overlap_seconds, 2 * 60);
	EXPECT_EQ(r.peak, 4);
	/* Two groups overlapping in the same seconds count once each. */
	const std::vector<SimJob> two{SimJobOf("* * * * *", 0, 5, "a"), SimJobOf("* * * * *", 0, 5, "a"),
	                              SimJobOf("* * * * *", 0, 5, "b"), SimJobOf("* * * * *", 0, 5, "b")};
	EXPECT_EQ(Simulate(two, SimHorizon(kHour)).group_overlap_seconds, 2 * 5 * 60);
}

TEST(Simulate, SixFieldIntervalAndRebootJobs)
{
	/* Offsets do not move a 6-field job; an interval job fires at multiples of N; @reboot never. */
	const SimJob six = SimJobOf("30 * * * * *", 10, 2);
	const std::vector<RunWindow> six_runs = JobRuns(six, SimHorizon(kHour));
	ASSERT_EQ(six_runs.size(), 60U);
	EXPECT_EQ(six_runs[0].start, kSimFrom + 30);
	const SimJob interval = SimJobOf("20 seconds", 7, 1);
	const std::vector<RunWindow> interval_runs = JobRuns(interval, SimHorizon(kHour));
	ASSERT_EQ(interval_runs.size(), 180U);
	for (const RunWindow &w : interval_runs)
		EXPECT_EQ(w.start % 20, 0);
	const SimJob reboot = SimJobOf("@reboot", 0, 5);
	EXPECT_TRUE(JobRuns(reboot, SimHorizon(kHour)).empty());
	const SimResult r = Simulate({six, interval, reboot}, SimHorizon(kHour));
	EXPECT_EQ(r.busy_seconds, 60 * 2 + 180);
	EXPECT_EQ(r.overlap_seconds, 0);
	EXPECT_FALSE(OffsetMovable(six.schedule));
	EXPECT_FALSE(OffsetMovable(interval.schedule));
	EXPECT_FALSE(OffsetMovable(reboot.schedule));
	EXPECT_FALSE(OffsetMovable(MustParse("0 0 30 2 *")));
	EXPECT_TRUE(OffsetMovable(MustParse("*/5 * * * *")));
}

TEST(Simulate, SpringForwardInNewYork)
{
	/* 2027-03-14 02:00 EST -> 03:00 EDT (07:00 UTC). */
	const TimeZone ny = TimeZone::Load("America/New_York").value();
	SimOptions options = SimHorizon(2 * 86400, Local(ny, 2027, 3, 13));
	options.tz = ny;
	/* Fixed time 02:30: 07:30 UTC on the 13th; on the 14th in the gap, so at the transition. */
	const std::vector<RunWindow> daily = JobRuns(SimJobOf("30 2 * * *", 15, 1), options);
	ASSERT_EQ(daily.size(), 2U);
	EXPECT_EQ(daily[0].start, Utc(2027, 3, 13, 7, 30, 15));
	EXPECT_EQ(daily[1].start, Utc(2027, 3, 14, 7, 0, 15));
	/* Elapsed time: every 30 minutes of real time, 96 runs in 48 real hours (47 local hours pass). */
	const std::vector<RunWindow> half_hourly = JobRuns(SimJobOf("*/30 * * * *", 0, 1), options);
	EXPECT_EQ(half_hourly.size(), 96U);
	const SimResult r = Simulate({SimJobOf("30 2 * * *", 15, 1), SimJobOf("0 * * * *", 15, 1)}, options);
	/* The gap run meets the 03:00 EDT hourly run. */
	EXPECT_EQ(r.overlap_seconds, 1);
	ASSERT_EQ(r.pairs.size(), 1U);
	EXPECT_EQ(r.pairs[0].first_overlap, Utc(2027, 3, 14, 7, 0, 15));
}

/* Every overlapping pair by comparing JobRuns second by second, sorted as Simulate sorts them. */
std::vector<SimPair>
BrutePairs(const std::vector<SimJob> &jobs, const SimOptions &options)
{
	std::vector<std::vector<char>> busy;
	for (const SimJob &job : jobs) {
		busy.emplace_back(static_cast<std::size_t>(options.horizon_seconds), 0);
		for (const RunWindow &w : JobRuns(job, options))
			for (Instant t = w.start; t < w.end; t++)
				busy.back()[static_cast<std::size_t>(t - options.from)] = 1;
	}
	std::vector<SimPair> pairs;
	for (std::size_t a = 0; a < jobs.size(); a++)
		for (std::size_t b = a + 1; b < jobs.size(); b++) {
			SimPair pair{a, b, 0, 0};
			for (std::size_t t = busy[a].size(); t-- > 0;)
				if (busy[a][t] != 0 && busy[b][t] != 0) {
					pair.overlap_seconds++;
					pair.first_overlap = options.from + static_cast<Instant>(t);
				}
			if (pair.overlap_seconds > 0)
				pairs.push_back(pair);
		}
	std::sort(pairs.begin(), pairs.end(), [](const SimPair &x, const SimPair &y) {
		return std::tie(x.first_overlap, x.index_a, x.index_b) < std::tie(y.first_overlap, y.index_a, y.index_b);
	});
	return pairs;
}

/* Simulate's pairs, complete and cut at a few sizes, against BrutePairs. */
void
ExpectPairs(const std::vector<SimJob> &jobs, SimOptions options)
{
	const std::vector<SimPair> expected = BrutePairs(jobs, options);
	for (const std::size_t cut : {std::size_t{0}, std::size_t{1}, std::size_t{3}, std::size_t{1000}}) {
		options.max_pairs = cut;
		const SimResult r = Simulate(jobs, options);
		EXPECT_EQ(r.pairs_truncated, expected.size() > cut);
		ASSERT_EQ(r.pairs.size(), std::min(cut, expected.size()));
		for (std::size_t k = 0; k < r.pairs.size(); k++) {
			EXPECT_EQ(r.pairs[k].index_a, expected[k].index_a) << k;
			EXPECT_EQ(r.pairs[k].index_b, expected[k].index_b) << k;
			EXPECT_EQ(r.pairs[k].first_overlap, expected[k].first_overlap) << k;
			EXPECT_EQ(r.pairs[k].overlap_seconds, expected[k].overlap_seconds) << k;
		}
	}
}

/* Random job sets against a plain second-by-second count of JobRuns. */
TEST(Simulate, MatchesASecondBySecondCount)
{
	std::mt19937 rng(7);
	const char *schedules[] = {"* * * * *", "*/5 * * * *", "*/2 * * * *", "7 * * * *", "15 seconds", "10 * * * * *"};
	for (int round = 0; round < 20; round++) {
		std::vector<SimJob> jobs;
		const int n = 2 + static_cast<int>(rng() % 6);
		for (int i = 0; i < n; i++)
			jobs.push_back(SimJobOf(schedules[rng() % 6], static_cast<int>(rng() % 60),
			                        1 + static_cast<int>(rng() % 120), rng() % 2 == 0 ? "g" : ""));
		const SimOptions options = SimHorizon(2 * kHour, kSimFrom + static_cast<Instant>(rng() % 100));
		std::vector<int> count(2 * kHour, 0);
		std::vector<int> group(2 * kHour, 0);
		for (const SimJob &job : jobs)
			for (const RunWindow &w : JobRuns(job, options))
				for (Instant t = w.start; t < w.end; t++) {
					count[static_cast<std::size_t>(t - options.from)]++;
					group[static_cast<std::size_t>(t - options.from)] += job.group.empty() ? 0 : 1;
				}
		const SimResult r = Simulate(jobs, options);
		std::int64_t overlap = 0;
		std::int64_t group_overlap = 0;
		for (std::size_t t = 0; t < count.size(); t++) {
			ASSERT_EQ(r.running[t], count[t]) << round << " " << t;
			overlap += std::max(0, count[t] - 1);
			group_overlap += group[t] >= 2 ? 1 : 0;
		}
		EXPECT_EQ(r.overlap_seconds, overlap);
		EXPECT_EQ(r.group_overlap_seconds, group_overlap);
		EXPECT_EQ(r.peak, *std::max_element(count.begin(), count.end()));
		ExpectPairs(jobs, options);
	}
}

} // namespace
} // namespace js::core::test
