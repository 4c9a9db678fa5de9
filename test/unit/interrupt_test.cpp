/*
 * Cancellation of long core work (interrupt.hpp): InterruptCheck polls every
 * stride steps and stays stopped; every interruptible function, stopped after
 * k polls, reports `cancelled` with an empty value, and once the poll never
 * says stop (or says it too late to matter) returns exactly what the
 * uninterrupted overload returns. Polls stay rare next to the work done.
 */
#include "core/collisions.hpp"
#include "core/concurrency.hpp"
#include "core/interrupt.hpp"
#include "core/report.hpp"
#include "cron_test_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace js::core::test {
namespace {

/* A poll that says stop from its `stop_at`-th call on (0: never), counting calls. */
struct CountingPoll {
	std::int64_t stop_at = 0;
	std::int64_t calls = 0;

	static bool
	Poll(void *ctx)
	{
		auto *self = static_cast<CountingPoll *>(ctx);
		self->calls++;
		return self->stop_at > 0 && self->calls >= self->stop_at;
	}

	Interrupt
	AsInterrupt()
	{
		return Interrupt{&CountingPoll::Poll, this};
	}
};

const Instant kFrom = Utc(2026, 11, 28, 12, 2, 30);

/* Every-minute jobs at a few offsets and hourly jobs: many colliding pairs with staggering off. */
std::vector<CollisionJob>
ManyJobs(int n)
{
	std::vector<CollisionJob> jobs;
	for (int i = 0; i < n; i++) {
		const std::string text = i % 3 == 0 ? "* * * * *" : std::to_string(i % 60) + " * * * *";
		jobs.push_back(CollisionJob{i, "job" + std::to_string(i), MustParse(text), i % 7, std::nullopt});
	}
	return jobs;
}

bool
SamePairs(const std::vector<CollisionPair> &a, const std::vector<CollisionPair> &b)
{
	return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const CollisionPair &x, const CollisionPair &y) {
		return x.index_a == y.index_a && x.index_b == y.index_b && x.second == y.second &&
		       x.first_collision == y.first_collision && x.collisions_per_day == y.collisions_per_day;
	});
}

TEST(InterruptCheck, PollsEveryStrideStepsAndStaysStopped)
{
	CountingPoll poll{3};
	InterruptCheck check(poll.AsInterrupt(), 4);
	for (int i = 0; i < 11; i++)
		EXPECT_FALSE(check.Step()) << "step " << i;
	EXPECT_EQ(poll.calls, 2);
	EXPECT_TRUE(check.Step()) << "third poll, twelfth step";
	EXPECT_TRUE(check.Stopped());
	EXPECT_TRUE(check.Step());
	EXPECT_TRUE(check.PollNow());
	EXPECT_EQ(poll.calls, 3) << "no poll once stopped";
}

TEST(InterruptCheck, WithoutPollNeverStops)
{
	InterruptCheck check(Interrupt{}, 1);
	for (int i = 0; i < 1000; i++)
		ASSERT_FALSE(check.Step());
	EXPECT_FALSE(check.PollNow());
}

TEST(Interrupt, FindCollisionsStoppedAfterKPollsIsCancelledAndEmpty)
{
	const std::vector<CollisionJob> jobs = ManyJobs(600);
	const std::vector<CollisionPair> full = FindCollisions(jobs, false, TimeZone::Utc(), kFrom);
	ASSERT_GT(full.size(), 10000U);
	for (const std::int64_t k : {1, 2, 5, 50}) {
		CountingPoll poll{k};
		const auto r = FindCollisions(jobs, false, TimeZone::Utc(), kFrom, poll.AsInterrupt());
		EXPECT_TRUE(r.cancelled) << "k = " << k;
		EXPECT_TRUE(r.value.empty()) << "k = " << k << ": a cancelled call returns no partial pairs";
		EXPECT_EQ(poll.calls, k) << "stops at the first poll that says so";
	}
	CountingPoll never;
	const auto r = FindCollisions(jobs, false, TimeZone::Utc(), kFrom, never.AsInterrupt());
	EXPECT_FALSE(r.cancelled);
	EXPECT_TRUE(SamePairs(r.value, full));
	/* One poll per 256 pairs compared: far fewer polls than pairs found, the check costs nothing. */
	EXPECT_GT(never.calls, 100);
	EXPECT_LT(never.calls * 10, static_cast<std::int64_t>(full.size()));
}

/* For every k, the result is either cancelled and empty or the complete answer. */
TEST(Interrupt, FindCollisionsIsAllOrNothingForEveryK)
{
	const std::vector<CollisionJob> jobs = ManyJobs(90);
	const std::vector<CollisionPair> full = FindCollisions(jobs, false, TimeZone::Utc(), kFrom);
	bool completed = false;
	for (std::int64_t k = 1; !completed && k < 10000; k++) {
		CountingPoll poll{k};
		const auto r = FindCollisions(jobs, false, TimeZone::Utc(), kFrom, poll.AsInterrupt());
		if (r.cancelled) {
			ASSERT_TRUE(r.value.empty()) << "k = " << k;
		} else {
			ASSERT_TRUE(SamePairs(r.value, full)) << "k = " << k;
			completed = true;
		}
	}
	EXPECT_TRUE(completed);
}

TEST(Interrupt, FreeAndSpreadOffsetsCollidingJobsAndDistribution)
{
	const std::vector<CollisionJob> others = ManyJobs(3000);
	const CronSchedule every_minute = MustParse("* * * * *");
	CountingPoll stop{1};
	EXPECT_TRUE(NearestFreeOffset(others, every_minute, 3, TimeZone::Utc(), kFrom, stop.AsInterrupt()).cancelled);
	stop = CountingPoll{1};
	EXPECT_TRUE(SpreadOffset(others, every_minute, TimeZone::Utc(), kFrom, stop.AsInterrupt()).cancelled);
	stop = CountingPoll{1};
	const auto colliding = CollidingJobs(others, every_minute, 3, true, TimeZone::Utc(), kFrom, stop.AsInterrupt());
	EXPECT_TRUE(colliding.cancelled);
	EXPECT_TRUE(colliding.value.empty());
	stop = CountingPoll{1};
	const auto distribution = SecondDistribution(others, true, TimeZone::Utc(), kFrom, stop.AsInterrupt());
	EXPECT_TRUE(distribution.cancelled);
	EXPECT_EQ(distribution.value, (std::array<int, kSecondsOfMinute>{})) << "no partial counts";

	CountingPoll never;
	const auto free = NearestFreeOffset(others, every_minute, 3, TimeZone::Utc(), kFrom, never.AsInterrupt());
	ASSERT_FALSE(free.cancelled);
	const FreeOffset expected = NearestFreeOffset(others, every_minute, 3, TimeZone::Utc(), kFrom);
	EXPECT_EQ(free.value.free_offset, expected.free_offset);
	EXPECT_EQ(free.value.least_colliding_offset, expected.least_colliding_offset);
	const auto spread = SpreadOffset(others, every_minute, TimeZone::Utc(), kFrom, never.AsInterrupt());
	ASSERT_FALSE(spread.cancelled);
	EXPECT_EQ(spread.value, SpreadOffset(others, every_minute, TimeZone::Utc(), kFrom));
	const auto all = CollidingJobs(others, every_minute, 3, true, TimeZone::Utc(), kFrom, never.AsInterrupt());
	ASSERT_FALSE(all.cancelled);
	EXPECT_EQ(all.value, CollidingJobs(others, every_minute, 3, true, TimeZone::Utc(), kFrom));
}

TEST(Interrupt, AnalyzeAndSummarizeStagger)
{
	std::vector<StaggerJobInput> inputs;
	for (int i = 0; i < 400; i++)
		inputs.push_back(StaggerJobInput{i, "job" + std::to_string(i), i % 2 ? "* * * * *" : "*/5 * * * *", 0, {}, ""});
	for (const std::int64_t k : {1, 3}) {
		CountingPoll poll{k};
		const auto r = AnalyzeStagger(inputs, false, TimeZone::Utc(), kFrom, poll.AsInterrupt());
		EXPECT_TRUE(r.cancelled) << "k = " << k;
		EXPECT_TRUE(r.value.jobs.empty() && r.value.pairs.empty()) << "k = " << k;
	}
	CountingPoll never;
	const auto report = AnalyzeStagger(inputs, false, TimeZone::Utc(), kFrom, never.AsInterrupt());
	ASSERT_FALSE(report.cancelled);
	EXPECT_EQ(report.value.pairs.size(), 400U * 399U / 2U) << "every pair meets at :00";

	CountingPoll stop{2};
	const auto summary = SummarizeStagger(report.value, false, TimeZone::Utc(), kFrom, stop.AsInterrupt());
	EXPECT_TRUE(summary.cancelled);
	EXPECT_TRUE(summary.value.jobs.empty() && summary.value.collisions.empty());
	const auto complete = SummarizeStagger(report.value, false, TimeZone::Utc(), kFrom, never.AsInterrupt());
	ASSERT_FALSE(complete.cancelled);
	EXPECT_EQ(complete.value.collisions.size(), report.value.pairs.size());
	EXPECT_EQ(FormatSummary(complete.value),
	          FormatSummary(SummarizeStagger(report.value, false, TimeZone::Utc(), kFrom)));
}

/* Random runs, enough for several sort chunks and merges. */
std::vector<RunInterval>
ManyRuns(std::size_t n)
{
	constexpr std::int64_t kSec = 1000000;
	const std::int64_t noon = kFrom * kSec;
	std::mt19937_64 rng(9);
	std::vector<RunInterval> runs;
	for (std::size_t i = 0; i < n; i++) {
		const std::int64_t start = noon + static_cast<std::int64_t>(rng() % (86400 * 4)) * (kSec / 4);
		runs.push_back(RunInterval{start, start + static_cast<std::int64_t>(rng() % 120) * kSec, rng() % 2 == 0});
	}
	return runs;
}

bool
SameRows(const std::vector<MinuteConcurrency> &a, const std::vector<MinuteConcurrency> &b)
{
	return std::equal(a.begin(), a.end(), b.begin(), b.end(),
	                  [](const MinuteConcurrency &x, const MinuteConcurrency &y) {
		                  return x.minute_us == y.minute_us && x.runs_off == y.runs_off && x.runs_on == y.runs_on &&
		                         x.peak == y.peak && x.worst_second_us == y.worst_second_us;
	                  });
}

TEST(Interrupt, ConcurrencySweepStopsInSortAndInSweep)
{
	const std::vector<RunInterval> runs = ManyRuns(300000);
	for (const std::int64_t k : {1, 4, 9, 40}) {
		CountingPoll poll{k};
		const auto r = ConcurrencyByMinute(runs.data(), runs.size(), poll.AsInterrupt());
		EXPECT_TRUE(r.cancelled) << "k = " << k;
		EXPECT_TRUE(r.value.empty()) << "k = " << k;
	}
	CountingPoll never;
	const auto r = ConcurrencyByMinute(runs.data(), runs.size(), never.AsInterrupt());
	ASSERT_FALSE(r.cancelled);
	EXPECT_LT(never.calls, 200) << "polls are rare";

	/* The chunked sort gives the same rows as for input already in order (one chunk-sorted run). */
	std::vector<RunInterval> sorted = runs;
	std::sort(sorted.begin(), sorted.end(),
	          [](const RunInterval &a, const RunInterval &b) { return a.start_us < b.start_us; });
	EXPECT_TRUE(SameRows(r.value, ConcurrencyByMinute(sorted)));
	EXPECT_GT(r.value.size(), 1000U);
}

} // namespace
} // namespace js::core::test
