#include "core/start_smoother.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <vector>

using js::core::PlanStarts;
using js::core::StartRequest;
using js::core::StartSmoother;

namespace {

std::vector<StartRequest>
Burst(int n, int64_t due, int64_t first_jobid = 1)
{
	std::vector<StartRequest> v;
	for (int i = 0; i < n; i++)
		v.push_back({due, first_jobid + i, -1});
	return v;
}

std::map<int64_t, int>
PerSecond(const std::vector<StartRequest> &v)
{
	std::map<int64_t, int> m;
	for (const StartRequest &r : v)
		m[r.start_second]++;
	return m;
}

} // namespace

TEST(StartSmoother, TwelveRunsWithLimitFourTakeThreeSeconds)
{
	std::vector<StartRequest> v = Burst(12, 100);
	std::shuffle(v.begin(), v.end(), std::mt19937(7));
	StartSmoother s;
	EXPECT_EQ(PlanStarts(v, s, 4, 99, 60), 8);
	EXPECT_EQ(PerSecond(v), (std::map<int64_t, int>{{100, 4}, {101, 4}, {102, 4}}));
	/* ties go by jobid: jobs 1-4 at :00, 5-8 at :01, 9-12 at :02 */
	for (const StartRequest &r : v)
		EXPECT_EQ(r.start_second, 100 + (r.jobid - 1) / 4) << "job " << r.jobid;
}

TEST(StartSmoother, ZeroLimitIsOff)
{
	std::vector<StartRequest> v = Burst(50, 100);
	StartSmoother s;
	EXPECT_EQ(PlanStarts(v, s, 0, 99, 60), 0);
	EXPECT_EQ(PerSecond(v), (std::map<int64_t, int>{{100, 50}}));
	EXPECT_EQ(s.Seconds(), 0u) << "nothing is counted while off";
}

TEST(StartSmoother, EarlierDueFirstThenJobid)
{
	/* second 100 is full; a run due at 100 (job 9) goes before one due at 101 (job 1) */
	StartSmoother s;
	std::vector<StartRequest> v = {{101, 1, -1}, {100, 9, -1}, {100, 3, -1}};
	PlanStarts(v, s, 1, 99, 60);
	EXPECT_EQ(v[0].jobid, 3);
	EXPECT_EQ(v[0].start_second, 100);
	EXPECT_EQ(v[1].jobid, 9);
	EXPECT_EQ(v[1].start_second, 101);
	EXPECT_EQ(v[2].jobid, 1);
	EXPECT_EQ(v[2].start_second, 102);
}

TEST(StartSmoother, LaterBatchesSeeEarlierReservations)
{
	StartSmoother s;
	std::vector<StartRequest> a = Burst(6, 100);
	PlanStarts(a, s, 4, 99, 60);
	std::vector<StartRequest> b = Burst(3, 101, 100);
	PlanStarts(b, s, 4, 100, 60);
	EXPECT_EQ(s.Count(100), 4);
	EXPECT_EQ(s.Count(101), 4);
	EXPECT_EQ(s.Count(102), 1);
	EXPECT_EQ(PerSecond(b), (std::map<int64_t, int>{{101, 2}, {102, 1}}));
}

TEST(StartSmoother, BurstLongerThanAMinuteIsBoundedByMaxDelay)
{
	StartSmoother s;
	std::vector<StartRequest> v = Burst(400, 1000);
	int delayed = PlanStarts(v, s, 5, 999, 60);
	std::map<int64_t, int> per = PerSecond(v);
	/* 61 seconds (due second + 60) of 5 starts; the other 95 get no second */
	EXPECT_EQ(per[-1], 400 - 61 * 5);
	for (int64_t sec = 1000; sec <= 1060; sec++)
		EXPECT_EQ(per[sec], 5) << sec;
	EXPECT_EQ(per.size(), 62u);
	EXPECT_EQ(delayed, 61 * 5 - 5);
	/* without the bound (a long catch-up window) every run gets a second: 80 seconds */
	StartSmoother t;
	std::vector<StartRequest> w = Burst(400, 1000);
	PlanStarts(w, t, 5, 999, 3600);
	EXPECT_EQ(std::max_element(w.begin(), w.end(), [](auto &x, auto &y) { return x.start_second < y.start_second; })
	              ->start_second,
	          1079);
	EXPECT_EQ(t.Seconds(), 80u);
}

TEST(StartSmoother, LateRunsStartNowNotInThePast)
{
	StartSmoother s;
	std::vector<StartRequest> v = Burst(3, 100);
	EXPECT_EQ(PlanStarts(v, s, 2, 130, 60), 1); /* late: from 130; only the third is delayed by smoothing */
	EXPECT_EQ(PerSecond(v), (std::map<int64_t, int>{{130, 2}, {131, 1}}));
	std::vector<StartRequest> w = Burst(1, 100, 50);
	PlanStarts(w, s, 2, 200, 60); /* beyond the window: no second */
	EXPECT_EQ(w[0].start_second, -1);
}

TEST(StartSmoother, ReleaseGivesTheStartBackExactlyOnce)
{
	StartSmoother s;
	EXPECT_EQ(s.Reserve(10, 100, 2), 10);
	EXPECT_EQ(s.Reserve(10, 100, 2), 10);
	EXPECT_EQ(s.Reserve(10, 100, 2), 11);
	s.Release(10); /* that run's transaction rolled back */
	EXPECT_EQ(s.Count(10), 1);
	EXPECT_EQ(s.Reserve(10, 100, 2), 10);
	EXPECT_EQ(s.Reserve(10, 100, 2), 11);
	EXPECT_EQ(s.Count(11), 2);
	s.Release(50); /* nothing there: no effect */
	s.Release(11);
	s.Release(11);
	s.Release(11);
	EXPECT_EQ(s.Count(11), 0);
	EXPECT_EQ(s.Reserve(10, 10, 2), -1) << "second 10 full and no later second allowed";
	EXPECT_EQ(s.Count(10), 2);
}

TEST(StartSmoother, ForgetBeforeDropsPastSeconds)
{
	StartSmoother s;
	for (int i = 0; i < 10; i++)
		s.Reserve(100, 1000, 1);
	EXPECT_EQ(s.Seconds(), 10u);
	s.ForgetBefore(105);
	EXPECT_EQ(s.Seconds(), 5u);
	EXPECT_EQ(s.Count(104), 0);
	EXPECT_EQ(s.Count(105), 1);
}

/*
 * The smoother with job_stagger.max_running_jobs, on a fake clock: runs
 * released at their start second take a place under the cap or wait for one
 * in due order (what the workers do). Every run starts exactly once, never
 * before its second, never above the cap, and no second releases more runs
 * than the limit.
 */
TEST(StartSmoother, WithTheRunningCap)
{
	struct Run {
		int64_t due, jobid, start_second, duration, started = -1;
	};
	for (int cap : {1, 3, 8, 100}) {
		for (int limit : {1, 4, 7}) {
			std::mt19937 rng(cap * 31 + limit);
			StartSmoother s;
			std::vector<Run> runs;
			/* ticks of a fake launcher: each second a few runs fall due, every 20 s a storm */
			for (int64_t t = 0; t < 120; t++) {
				std::vector<StartRequest> batch;
				int n = (t % 20 == 0) ? 25 : static_cast<int>(rng() % 3);
				for (int i = 0; i < n; i++)
					batch.push_back({t, static_cast<int64_t>(runs.size() + batch.size()), -1});
				s.ForgetBefore(t);
				PlanStarts(batch, s, limit, t, 3600);
				for (const StartRequest &r : batch)
					runs.push_back({r.due_second, r.jobid, r.start_second, 1 + static_cast<int64_t>(rng() % 4)});
			}
			std::map<int64_t, int> released;
			for (const Run &r : runs) {
				ASSERT_GE(r.start_second, r.due);
				released[r.start_second]++;
			}
			for (auto [sec, n] : released)
				EXPECT_LE(n, limit) << "second " << sec;
			/* the workers: a place under the cap, waiting ones in due order (start second, then jobid) */
			std::vector<Run *> order;
			for (Run &r : runs)
				order.push_back(&r);
			std::sort(order.begin(), order.end(), [](Run *a, Run *b) {
				return a->start_second != b->start_second ? a->start_second < b->start_second : a->jobid < b->jobid;
			});
			int64_t horizon = 100000;
			std::size_t next = 0;
			std::vector<Run *> running;
			for (int64_t t = 0; t < horizon && next < order.size(); t++) {
				running.erase(std::remove_if(running.begin(), running.end(),
				                             [t](Run *r) { return r->started + r->duration <= t; }),
				              running.end());
				while (next < order.size() && order[next]->start_second <= t &&
				       static_cast<int>(running.size()) < cap) {
					order[next]->started = t;
					running.push_back(order[next++]);
				}
				ASSERT_LE(static_cast<int>(running.size()), cap);
			}
			int started = 0;
			for (const Run &r : runs) {
				EXPECT_GE(r.started, r.start_second) << "cap " << cap << " limit " << limit;
				started += r.started >= 0;
			}
			EXPECT_EQ(started, static_cast<int>(runs.size())) << "cap " << cap << " limit " << limit;
		}
	}
}
