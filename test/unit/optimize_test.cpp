/*
 * The offset optimiser: the exact search against brute force over every
 * offset combination, pinned and unmovable jobs, groups, movement, the
 * heuristic's guarantees (never worse than the current offsets, determinism,
 * independence of input order) and the eight-job scenario of
 * bench/seed_scenario.sh against its hand-picked offsets.
 */
#include "core/simulate.hpp"

#include "sim_test_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <vector>

namespace js::core::test {
namespace {

constexpr std::int64_t kHour = 3600;

int
Distance(int a, int b)
{
	const int d = std::abs(a - b);
	return std::min(d, 60 - d);
}

/* (group overlap, peak, overlap, movement) of `offsets` for `jobs`. */
using Objective = std::tuple<std::int64_t, int, std::int64_t, int>;

Objective
ObjectiveOf(std::vector<SimJob> jobs, const std::vector<int> &offsets, const SimOptions &options)
{
	int movement = 0;
	for (std::size_t i = 0; i < jobs.size(); i++) {
		movement += Distance(jobs[i].offset, offsets[i]);
		jobs[i].offset = offsets[i];
	}
	const SimResult r = Simulate(jobs, options);
	return Objective{r.group_overlap_seconds, r.peak, r.overlap_seconds, movement};
}

/*
 * The best objective over every combination of offsets of the movable jobs,
 * from per-second occupancy tables (one per job and offset, from JobRuns).
 */
Objective
BruteForce(const std::vector<SimJob> &jobs, const SimOptions &options)
{
	const auto length = static_cast<std::size_t>(options.horizon_seconds);
	std::vector<std::size_t> movable;
	std::vector<std::vector<std::vector<char>>> busy(jobs.size());
	for (std::size_t i = 0; i < jobs.size(); i++) {
		const bool moves = !jobs[i].pinned && OffsetMovable(jobs[i].schedule);
		if (moves)
			movable.push_back(i);
		for (int o = 0; o < 60; o++) {
			SimJob job = jobs[i];
			job.offset = moves ? o : jobs[i].offset;
			std::vector<char> seconds(length, 0);
			for (const RunWindow &w : JobRuns(job, options))
				std::fill(seconds.begin() + (w.start - options.from), seconds.begin() + (w.end - options.from), 1);
			busy[i].push_back(seconds);
		}
	}
	Objective best{-1, 0, 0, 0};
	std::vector<int> pick(jobs.size(), 0);
	for (std::size_t i = 0; i < jobs.size(); i++)
		pick[i] = jobs[i].offset;
	std::size_t combos = 1;
	for (std::size_t k = 0; k < movable.size(); k++)
		combos *= 60;
	for (std::size_t c = 0; c < combos; c++) {
		std::size_t rest = c;
		int movement = 0;
		for (const std::size_t i : movable) {
			pick[i] = static_cast<int>(rest % 60);
			rest /= 60;
			movement += Distance(pick[i], jobs[i].offset);
		}
		std::int64_t group = 0;
		std::int64_t overlap = 0;
		int peak = 0;
		for (std::size_t t = 0; t < length; t++) {
			int running = 0;
			std::map<std::string, int> members;
			for (std::size_t i = 0; i < jobs.size(); i++)
				if (busy[i][static_cast<std::size_t>(pick[i])][t] != 0) {
					running++;
					if (!jobs[i].group.empty() && ++members[jobs[i].group] == 2)
						group++;
				}
			peak = std::max(peak, running);
			overlap += std::max(0, running - 1);
		}
		const Objective o{group, peak, overlap, movement};
		if (std::get<0>(best) < 0 || o < best)
			best = o;
	}
	return best;
}

void
ExpectExactOptimum(const std::vector<SimJob> &jobs, const SimOptions &options)
{
	const OptimizeResult r = Optimize(jobs, options);
	EXPECT_TRUE(r.exact);
	EXPECT_EQ(ObjectiveOf(jobs, r.offsets, options), BruteForce(jobs, options));
}

TEST(Optimize, TwoMovableJobsMatchBruteForce)
{
	const std::vector<SimJob> jobs{
	    SimJobOf("* * * * *", 10, 7, "", true), SimJobOf("* * * * *", 10, 20, "g"),
	    SimJobOf("*/2 * * * *", 10, 30, "g"),   SimJobOf("15 seconds", 0, 2),
	    SimJobOf("5 * * * * *", 0, 3),
	};
	ExpectExactOptimum(jobs, SimHorizon(600));
}

TEST(Optimize, ThreeMovableJobsMatchBruteForce)
{
	const std::vector<SimJob> jobs{
	    SimJobOf("* * * * *", 0, 25, "g"),
	    SimJobOf("* * * * *", 0, 25, "g"),
	    SimJobOf("* * * * *", 0, 15),
	    SimJobOf("20 seconds", 0, 4),
	};
	ExpectExactOptimum(jobs, SimHorizon(120));
}

TEST(Optimize, AGroupAlreadyOverlappingAbsorbsAnotherMember)
{
	/*
	 * Two pinned members overlap at 0-29, a third runs at 30-54: the fourth
	 * adds no group second only at offsets 0-10 and 55-59 (its 20 s then lie
	 * in 55-59 and in 0-29), and 55 overlaps the fewest seconds (15 s with two jobs).
	 */
	const std::vector<SimJob> jobs{
	    SimJobOf("* * * * *", 0, 30, "g", true),
	    SimJobOf("* * * * *", 0, 30, "g", true),
	    SimJobOf("* * * * *", 30, 25, "g", true),
	    SimJobOf("* * * * *", 40, 20, "g"),
	};
	const OptimizeResult r = Optimize(jobs, SimHorizon(kHour));
	EXPECT_EQ(r.offsets[3], 55);
	EXPECT_EQ(r.group_overlap_after, 30 * 60);
	ExpectExactOptimum(jobs, SimHorizon(180));
}

TEST(Optimize, RandomPairsMatchBruteForce)
{
	std::mt19937 rng(11);
	const char *schedules[] = {"* * * * *", "*/2 * * * *", "*/3 * * * *", "1 * * * *"};
	for (int round = 0; round < 6; round++) {
		std::vector<SimJob> jobs;
		for (int i = 0; i < 4; i++)
			jobs.push_back(SimJobOf(schedules[rng() % 4], static_cast<int>(rng() % 60),
			                        1 + static_cast<int>(rng() % 40), rng() % 3 == 0 ? "g" : "", i >= 2));
		SCOPED_TRACE(round);
		ExpectExactOptimum(jobs, SimHorizon(300));
	}
}

TEST(Optimize, PinnedAndUnmovableJobsKeepTheirOffsets)
{
	std::vector<SimJob> jobs{
	    SimJobOf("* * * * *", 0, 10, "", true), SimJobOf("* * * * *", 0, 10),   SimJobOf("0 * * * * *", 17, 10),
	    SimJobOf("10 seconds", 23, 1),          SimJobOf("@reboot", 41, 10),    SimJobOf("0 0 30 2 *", 5, 10),
	    SimJobOf("* * * * *", 0, 10, "", true), SimJobOf("*/5 * * * *", 0, 10),
	};
	const OptimizeResult r = Optimize(jobs, SimHorizon(kHour));
	for (const std::size_t i : {0, 2, 3, 4, 5, 6})
		EXPECT_EQ(r.offsets[i], jobs[i].offset) << i;
	EXPECT_NE(r.offsets[1], 0);
	EXPECT_NE(r.offsets[7], 0);
	EXPECT_TRUE(r.exact);
}

TEST(Optimize, GroupMembersAreKeptApart)
{
	/* Four members of one group, 10 s every minute: they fit side by side; an outsider may overlap. */
	std::vector<SimJob> jobs;
	for (int i = 0; i < 4; i++)
		jobs.push_back(SimJobOf("* * * * *", 0, 10, "g"));
	for (int i = 0; i < 4; i++)
		jobs.push_back(SimJobOf("* * * * *", 0, 12));
	const OptimizeResult r = Optimize(jobs, SimHorizon(kHour));
	EXPECT_FALSE(r.exact);
	EXPECT_GT(r.group_overlap_before, 0);
	EXPECT_EQ(r.group_overlap_after, 0);
	EXPECT_LE(r.peak_after, 2);
}

TEST(Optimize, OptimalInputIsReturnedUnchanged)
{
	const std::vector<SimJob> two{SimJobOf("* * * * *", 0, 5), SimJobOf("* * * * *", 30, 5)};
	const OptimizeResult r2 = Optimize(two, SimHorizon(kHour));
	EXPECT_EQ(r2.moved, 0);
	EXPECT_EQ(r2.offsets, (std::vector<int>{0, 30}));
	std::vector<SimJob> five;
	for (int i = 0; i < 5; i++)
		five.push_back(SimJobOf("* * * * *", 12 * i + 3, 5));
	const OptimizeResult r5 = Optimize(five, SimHorizon(kHour));
	EXPECT_EQ(r5.moved, 0);
	EXPECT_EQ(r5.peak_after, 1);
	EXPECT_EQ(r5.overlap_after, 0);
}

TEST(Optimize, DisabledStaggeringMovesNothing)
{
	SimOptions options = SimHorizon(kHour);
	options.stagger_enabled = false;
	const std::vector<SimJob> jobs{SimJobOf("* * * * *", 0, 5), SimJobOf("* * * * *", 0, 5)};
	const OptimizeResult r = Optimize(jobs, options);
	EXPECT_EQ(r.moved, 0);
	EXPECT_EQ(r.peak_before, 2);
	EXPECT_EQ(r.peak_after, 2);
}

std::vector<SimJob>
RandomJobs(std::mt19937 &rng, int n)
{
	const char *schedules[] = {"* * * * *",    "*/5 * * * *",  "*/10 * * * *", "0 * * * *",  "30 12 * * *",
	                           "15 * * * 1-5", "*/15 * * * *", "0 */2 * * *",  "20 seconds", "45 */2 * * * *"};
	const char *groups[] = {"", "", "", "a", "b"};
	std::vector<SimJob> jobs;
	for (int i = 0; i < n; i++) {
		SimJob job = SimJobOf(schedules[rng() % 10], static_cast<int>(rng() % 60), 1 + static_cast<int>(rng() % 30),
		                      groups[rng() % 5], rng() % 10 == 0);
		job.jobid = 1000 + i;
		jobs.push_back(job);
	}
	return jobs;
}

TEST(Optimize, NeverWorseThanTheCurrentOffsets)
{
	std::mt19937 rng(3);
	for (int round = 0; round < 8; round++) {
		const std::vector<SimJob> jobs = RandomJobs(rng, 10 + round * 5);
		const OptimizeResult r = Optimize(jobs, SimHorizon(6 * kHour));
		const Objective after = ObjectiveOf(jobs, r.offsets, SimHorizon(6 * kHour));
		EXPECT_LE(std::make_tuple(r.group_overlap_after, r.peak_after, r.overlap_after),
		          std::make_tuple(r.group_overlap_before, r.peak_before, r.overlap_before))
		    << round;
		EXPECT_EQ(std::get<0>(after), r.group_overlap_after);
		EXPECT_EQ(std::get<1>(after), r.peak_after);
		EXPECT_EQ(std::get<2>(after), r.overlap_after);
		int moved = 0;
		for (std::size_t i = 0; i < jobs.size(); i++)
			moved += r.offsets[i] != jobs[i].offset ? 1 : 0;
		EXPECT_EQ(r.moved, moved);
	}
}

/* The heuristic's result is a local optimum: no single job's offset change improves the objective. */
TEST(Optimize, NoSingleMoveImprovesTheHeuristicResult)
{
	std::mt19937 rng(21);
	for (int round = 0; round < 4; round++) {
		const std::vector<SimJob> jobs = RandomJobs(rng, 12);
		const SimOptions options = SimHorizon(2 * kHour);
		const OptimizeResult r = Optimize(jobs, options);
		ASSERT_FALSE(r.exact);
		const Objective found = ObjectiveOf(jobs, r.offsets, options);
		for (std::size_t i = 0; i < jobs.size(); i++) {
			if (jobs[i].pinned || !OffsetMovable(jobs[i].schedule))
				continue;
			std::vector<int> offsets = r.offsets;
			for (int o = 0; o < 60; o++) {
				offsets[i] = o;
				EXPECT_LE(found, ObjectiveOf(jobs, offsets, options)) << round << " job " << i << " offset " << o;
			}
		}
	}
}

TEST(Optimize, DeterministicAndIndependentOfInputOrder)
{
	std::mt19937 rng(5);
	std::vector<SimJob> jobs = RandomJobs(rng, 40);
	const OptimizeResult first = Optimize(jobs, SimHorizon(6 * kHour));
	EXPECT_EQ(Optimize(jobs, SimHorizon(6 * kHour)).offsets, first.offsets);
	std::map<std::int64_t, int> by_id;
	for (std::size_t i = 0; i < jobs.size(); i++)
		by_id[jobs[i].jobid] = first.offsets[i];
	std::shuffle(jobs.begin(), jobs.end(), rng);
	const OptimizeResult shuffled = Optimize(jobs, SimHorizon(6 * kHour));
	for (std::size_t i = 0; i < jobs.size(); i++)
		EXPECT_EQ(shuffled.offsets[i], by_id[jobs[i].jobid]) << jobs[i].jobid;
	EXPECT_EQ(shuffled.peak_after, first.peak_after);
	EXPECT_EQ(shuffled.overlap_after, first.overlap_after);
}

/* bench/seed_scenario.sh: the eight jobs with their hand-picked offsets and groups. */
std::vector<SimJob>
SeedScenario(const std::vector<int> &durations)
{
	struct Row {
		const char *name;
		const char *schedule;
		int offset;
		const char *group;
	};
	const Row rows[] = {
	    {"referral_tier2", "* * * * *", 0, "referrals"},
	    {"referral_tier3", "* * * * *", 15, "referrals"},
	    {"scheduled_notifications", "* * * * *", 30, "settlement"},
	    {"live_stats_sync", "* * * * *", 45, ""},
	    {"badge_auto_unlock", "*/5 * * * *", 5, ""},
	    {"prediction_matcher", "*/5 * * * *", 25, ""},
	    {"stuck_match_finisher", "*/10 * * * *", 10, ""},
	    {"telegram_settlement", "*/10 * * * *", 40, "settlement"},
	};
	std::vector<SimJob> jobs;
	for (std::size_t i = 0; i < 8; i++) {
		SimJob job = SimJobOf(rows[i].schedule, rows[i].offset, durations[i], rows[i].group);
		job.jobid = static_cast<std::int64_t>(i) + 1;
		job.name = rows[i].name;
		jobs.push_back(job);
	}
	return jobs;
}

void
ExpectAtLeastHandPicked(const std::vector<SimJob> &jobs)
{
	const SimOptions options = SimHorizon(86400);
	const SimResult hand = Simulate(jobs, options);
	const OptimizeResult r = Optimize(jobs, options);
	EXPECT_EQ(LoadOf(hand), Load(r.group_overlap_before, r.peak_before, r.overlap_before));
	EXPECT_LE(Load(r.group_overlap_after, r.peak_after, r.overlap_after), LoadOf(hand));
	EXPECT_EQ(r.group_overlap_after, 0);
	std::vector<SimJob> moved = jobs;
	for (std::size_t i = 0; i < jobs.size(); i++)
		moved[i].offset = r.offsets[i];
	EXPECT_EQ(LoadOf(Simulate(moved, options)), Load(r.group_overlap_after, r.peak_after, r.overlap_after));
}

TEST(Optimize, SeedScenarioShortRunsAtLeastAsGoodAsHandPicked)
{
	ExpectAtLeastHandPicked(SeedScenario({1, 2, 1, 2, 1, 1, 2, 1}));
}

TEST(Optimize, SeedScenarioLongRunsAtLeastAsGoodAsHandPicked)
{
	ExpectAtLeastHandPicked(SeedScenario({12, 20, 8, 15, 5, 18, 10, 20}));
}

/* From all offsets at 0 (the :00 storm), the optimiser finds what the hand-picked offsets achieve. */
TEST(Optimize, SeedScenarioFromTheStorm)
{
	for (const bool long_runs : {false, true}) {
		std::vector<SimJob> jobs = SeedScenario(long_runs ? std::vector<int>{12, 20, 8, 15, 5, 18, 10, 20}
		                                                  : std::vector<int>{1, 2, 1, 2, 1, 1, 2, 1});
		for (SimJob &job : jobs)
			job.offset = 0;
		const OptimizeResult r = Optimize(jobs, SimHorizon(86400));
		EXPECT_EQ(r.peak_before, 8);
		EXPECT_EQ(r.group_overlap_after, 0) << long_runs;
		/* Long runs: 626 run-seconds every 10 minutes, a mean above 1 running, so 2 is the least possible peak. */
		EXPECT_EQ(r.peak_after, long_runs ? 2 : 1);
		if (!long_runs) {
			EXPECT_EQ(r.overlap_after, 0);
		}
	}
}

/* Says stop from its `stop_at`-th poll on. */
struct StopAfter {
	int polls = 0;
	int stop_at = 0;
	static bool
	Poll(void *ctx)
	{
		auto *self = static_cast<StopAfter *>(ctx);
		return ++self->polls >= self->stop_at;
	}
};

TEST(Optimize, CancellationAtAnyPollReturnsNoResult)
{
	std::mt19937 rng(9);
	const std::vector<SimJob> jobs = RandomJobs(rng, 60);
	const SimOptions options = SimHorizon(6 * kHour);
	const OptimizeResult full = Optimize(jobs, options);
	const SimResult full_sim = Simulate(jobs, options);
	int cancelled = 0;
	for (int stop_at = 1; stop_at < 400; stop_at += 7) {
		StopAfter stop{0, stop_at};
		const Interrupt interrupt{&StopAfter::Poll, &stop};
		const Cancellable<OptimizeResult> r = Optimize(jobs, options, interrupt);
		if (r.cancelled) {
			cancelled++;
			EXPECT_TRUE(r.value.offsets.empty());
		} else {
			EXPECT_EQ(r.value.offsets, full.offsets) << stop_at;
		}
		StopAfter stop_sim{0, stop_at};
		const Cancellable<SimResult> s = Simulate(jobs, options, Interrupt{&StopAfter::Poll, &stop_sim});
		if (!s.cancelled) {
			EXPECT_EQ(s.value.running, full_sim.running) << stop_at;
		}
	}
	EXPECT_GT(cancelled, 0);
	StopAfter never{0, 1 << 30};
	const Cancellable<OptimizeResult> done = Optimize(jobs, options, Interrupt{&StopAfter::Poll, &never});
	EXPECT_FALSE(done.cancelled);
	EXPECT_GT(never.polls, 10);
	EXPECT_EQ(done.value.offsets, full.offsets);
}

} // namespace
} // namespace js::core::test
