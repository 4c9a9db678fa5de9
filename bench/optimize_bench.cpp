/*
 * Google Benchmark of the load simulator and the offset optimiser over the
 * default horizon (one day, UTC) on a realistic mix: every minute, every 5
 * and 10 minutes, hourly, daily at various times, weekdays only, a few
 * 6-field and interval jobs; durations 1-60 s; one job in ten in one of
 * n/20 exclusive groups; random starting offsets.
 * Counters: group overlap / peak / overlap before and after and jobs moved
 * (optimiser), peak (simulator).
 */
#include "core/simulate.hpp"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

namespace {

using js::core::SimJob;

constexpr js::core::Instant kFrom = 1795867200; /* 2026-11-28 12:00:00 UTC */

/* One of the usual shapes, weighted roughly as a real job table is. */
std::string
MixedSchedule(std::mt19937 &rng)
{
	const std::string minute = std::to_string(rng() % 60);
	const std::string hour = std::to_string(rng() % 24);
	switch (rng() % 20) {
	case 0:
	case 1:
		return "* * * * *";
	case 2:
	case 3:
		return "*/5 * * * *";
	case 4:
	case 5:
		return "*/10 * * * *";
	case 6:
	case 7:
	case 8:
		return minute + " * * * *";
	case 9:
	case 10:
	case 11:
	case 12:
	case 13:
		return minute + " " + hour + " * * *";
	case 14:
	case 15:
		return minute + " " + hour + " * * 1-5";
	case 16:
		return "*/15 * * * *";
	case 17:
		return minute + " */2 * * *";
	case 18:
		return std::to_string(rng() % 60) + " */5 * * * *"; /* 6-field */
	default:
		return std::to_string(10 + 10 * (rng() % 5)) + " seconds";
	}
}

std::vector<SimJob>
MakeJobs(int n)
{
	std::mt19937 rng(42);
	std::vector<SimJob> jobs;
	const int groups = std::max(1, n / 20);
	for (int i = 0; i < n; i++) {
		SimJob job;
		job.jobid = i;
		job.name = "job" + std::to_string(i);
		job.schedule = js::core::ParseSchedule(MixedSchedule(rng)).schedule;
		job.offset = static_cast<int>(rng() % 60);
		job.duration_seconds = 1 + static_cast<int>(rng() % 60);
		if (rng() % 10 == 0)
			job.group = "g" + std::to_string(rng() % groups);
		jobs.push_back(job);
	}
	return jobs;
}

js::core::SimOptions
Options()
{
	js::core::SimOptions options;
	options.from = kFrom;
	return options;
}

void
BM_Optimize(benchmark::State &state)
{
	const std::vector<SimJob> jobs = MakeJobs(static_cast<int>(state.range(0)));
	js::core::OptimizeResult r;
	for (auto _ : state) {
		r = js::core::Optimize(jobs, Options());
		benchmark::DoNotOptimize(r.offsets.data());
	}
	state.counters["peak_before"] = r.peak_before;
	state.counters["peak_after"] = r.peak_after;
	state.counters["overlap_before"] = static_cast<double>(r.overlap_before);
	state.counters["overlap_after"] = static_cast<double>(r.overlap_after);
	state.counters["group_before"] = static_cast<double>(r.group_overlap_before);
	state.counters["group_after"] = static_cast<double>(r.group_overlap_after);
	state.counters["moved"] = r.moved;
}
BENCHMARK(BM_Optimize)->Arg(10)->Arg(100)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);

void
BM_Simulate(benchmark::State &state)
{
	const std::vector<SimJob> jobs = MakeJobs(static_cast<int>(state.range(0)));
	int peak = 0;
	for (auto _ : state) {
		const js::core::SimResult r = js::core::Simulate(jobs, Options());
		peak = r.peak;
		benchmark::DoNotOptimize(r.running.data());
	}
	state.counters["peak"] = peak;
}
BENCHMARK(BM_Simulate)->Arg(10)->Arg(100)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);

} // namespace
