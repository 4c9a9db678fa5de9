/*
 * Google Benchmark of the collision analysis on realistic job sets:
 *  - mixed: daily, hourly, every-N-minute, weekly and monthly jobs with
 *    offsets spread over 0-59;
 *  - every_minute: every-minute jobs spread over the 60 offsets;
 *  - mixed+every_minute: 9,000 mixed jobs and 1,000 every-minute jobs (each
 *    every-minute job meets most jobs of its second).
 * Run in UTC, in America/New_York from the day before a spring-forward
 * change (the first candidate day of most pairs is then a transition day),
 * and with the jobs spread over five zones of their own (UTC default,
 * Asia/Kolkata, America/New_York, Europe/Berlin, America/St_Johns: most
 * pairs are then compared across zones).
 * Counters: pairs = colliding pairs found.
 */
#include "core/collisions.hpp"

#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

namespace {

using js::core::CollisionJob;

constexpr js::core::Instant kFrom = 1795867350;         /* 2026-11-28 12:02:30 UTC */
constexpr js::core::Instant kBeforeSpring = 1804982400; /* 2027-03-13 00:00:00 UTC, New York changes on the 14th */

js::core::CronSchedule
Parse(const std::string &text)
{
	return js::core::ParseSchedule(text).schedule;
}

/* One of the usual shapes, with a random minute / hour / interval. */
std::string
MixedSchedule(std::mt19937 &rng)
{
	const int minute = static_cast<int>(rng() % 60);
	const int hour = static_cast<int>(rng() % 24);
	static const int kSteps[] = {2, 5, 10, 15, 20, 30};
	switch (rng() % 6) {
	case 0:
	case 1:
		return std::to_string(minute) + " " + std::to_string(hour) + " * * *";
	case 2:
		return std::to_string(minute) + " * * * *";
	case 3:
		return "*/" + std::to_string(kSteps[rng() % 6]) + " * * * *";
	case 4:
		return std::to_string(minute) + " " + std::to_string(hour) + " * * " + std::to_string(rng() % 7);
	default:
		return std::to_string(minute) + " " + std::to_string(hour) + " " + std::to_string(1 + rng() % 28) + " * *";
	}
}

std::vector<CollisionJob>
MakeJobs(int mixed, int every_minute, bool zoned = false)
{
	static const char *const kZones[] = {"Asia/Kolkata", "America/New_York", "Europe/Berlin", "America/St_Johns"};
	std::mt19937 rng(42);
	std::vector<CollisionJob> jobs;
	for (int i = 0; i < mixed + every_minute; i++) {
		const std::string text = i < mixed ? MixedSchedule(rng) : "* * * * *";
		jobs.push_back(
		    CollisionJob{i, "job" + std::to_string(i), Parse(text), static_cast<int>(rng() % 60), std::nullopt});
		if (zoned && i % 5 != 0)
			jobs.back().tz = js::core::TimeZone::Load(kZones[i % 5 - 1]);
	}
	return jobs;
}

/*
 * FindCollisions(range(0) mixed + range(1) every-minute jobs), zone range(2):
 * 0 = UTC, 1 = New York, 2 = five zones (default UTC).
 */
void
BM_FindCollisions(benchmark::State &state)
{
	const std::vector<CollisionJob> jobs =
	    MakeJobs(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)), state.range(2) == 2);
	const bool new_york = state.range(2) == 1;
	const js::core::TimeZone tz =
	    new_york ? js::core::TimeZone::Load("America/New_York").value() : js::core::TimeZone::Utc();
	const js::core::Instant from = new_york ? kBeforeSpring : kFrom;
	std::size_t pairs = 0;
	for (auto _ : state) {
		const std::vector<js::core::CollisionPair> found = js::core::FindCollisions(jobs, true, tz, from);
		pairs = found.size();
		benchmark::DoNotOptimize(found.data());
	}
	state.counters["pairs"] = static_cast<double>(pairs);
	state.SetLabel(state.range(2) == 2 ? "five zones" : tz.Name());
}
BENCHMARK(BM_FindCollisions)
    ->Args({10000, 0, 0})
    ->Args({10000, 0, 1})
    ->Args({0, 1000, 0})
    ->Args({0, 1000, 1})
    ->Args({9000, 1000, 0})
    ->Args({9000, 1000, 1})
    ->Args({10000, 0, 2})
    ->Args({9000, 1000, 2})
    ->Unit(benchmark::kMillisecond);

/* NearestFreeOffset for a job firing every 5 minutes against 10,000 mixed jobs. */
void
BM_NearestFreeOffset(benchmark::State &state)
{
	const std::vector<CollisionJob> others = MakeJobs(10000, 0);
	const js::core::CronSchedule schedule = Parse("*/5 * * * *");
	for (auto _ : state) {
		const js::core::FreeOffset result =
		    js::core::NearestFreeOffset(others, schedule, 30, js::core::TimeZone::Utc(), kFrom);
		benchmark::DoNotOptimize(result);
	}
}
BENCHMARK(BM_NearestFreeOffset)->Unit(benchmark::kMillisecond);

/* SecondDistribution of 10,000 mixed jobs. */
void
BM_SecondDistribution(benchmark::State &state)
{
	const std::vector<CollisionJob> jobs = MakeJobs(10000, 0);
	for (auto _ : state) {
		const auto counts = js::core::SecondDistribution(jobs, true, js::core::TimeZone::Utc(), kFrom);
		benchmark::DoNotOptimize(counts);
	}
}
BENCHMARK(BM_SecondDistribution)->Unit(benchmark::kMillisecond);

} // namespace
