/*
 * Google Benchmark of the cron engine: NextFire for typical schedules in UTC
 * and two DST zones, and ParseSchedule. Each NextFire iteration feeds the
 * previous result back in, as the scheduler does, so the numbers are for a
 * realistic walk through time (crossing DST transitions in the DST zones).
 * items_per_second is the number of calls per second.
 */
#include "core/cron.hpp"

#include <benchmark/benchmark.h>

#include <array>
#include <cstdlib>
#include <string>

namespace {

constexpr js::core::Instant kStart = 1767225600; /* 2026-01-01T00:00:00Z */
constexpr js::core::Instant kWrapAfter = 10LL * 366 * 86400;

constexpr std::array<const char *, 6> kSchedules = {
    "*/5 * * * *", "0 3 * * *", "15 */5 * * * *", "0 0 1 * *", "0 9 * * mon-fri", "30 2 * * *",
};
constexpr std::array<const char *, 3> kZones = {"UTC", "Europe/Berlin", "America/New_York"};

/* NextFire(schedule kSchedules[range(0)], zone kZones[range(1)]), chained from one result to the next. */
void
BM_NextFire(benchmark::State &state)
{
	const char *text = kSchedules[static_cast<std::size_t>(state.range(0))];
	const char *zone_name = kZones[static_cast<std::size_t>(state.range(1))];
	const js::core::ParseResult parsed = js::core::ParseSchedule(text);
	const std::optional<js::core::TimeZone> zone = js::core::TimeZone::Load(zone_name);
	if (!parsed.ok || !zone) {
		state.SkipWithError("setup failed");
		return;
	}
	js::core::Instant t = kStart;
	for (auto _ : state) {
		const std::optional<js::core::Instant> next = js::core::NextFire(parsed.schedule, t, *zone);
		benchmark::DoNotOptimize(next);
		t = (next && *next - kStart < kWrapAfter) ? *next : kStart;
	}
	state.SetItemsProcessed(state.iterations());
	state.SetLabel(std::string(text) + " @ " + zone_name);
}
BENCHMARK(BM_NextFire)->ArgsProduct({{0, 1, 2, 3, 4, 5}, {0, 1, 2}});

/* NextFire from fixed pseudo-random instants (no chaining): the cost of a cold call. */
void
BM_NextFireRandomAfter(benchmark::State &state)
{
	const char *zone_name = kZones[static_cast<std::size_t>(state.range(0))];
	const js::core::ParseResult parsed = js::core::ParseSchedule("0 9 * * mon-fri");
	const std::optional<js::core::TimeZone> zone = js::core::TimeZone::Load(zone_name);
	if (!parsed.ok || !zone) {
		state.SkipWithError("setup failed");
		return;
	}
	std::uint64_t x = 88172645463325252ULL;
	for (auto _ : state) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		const js::core::Instant after = kStart + static_cast<js::core::Instant>(x % kWrapAfter);
		benchmark::DoNotOptimize(js::core::NextFire(parsed.schedule, after, *zone));
	}
	state.SetItemsProcessed(state.iterations());
	state.SetLabel(std::string("0 9 * * mon-fri @ ") + zone_name);
}
BENCHMARK(BM_NextFireRandomAfter)->DenseRange(0, 2);

/* Rare schedules (worst cases of the search): Feb 29, and Feb 1 or 29 falling on a Sunday (up to 40 years apart). */
void
BM_NextFireRare(benchmark::State &state)
{
	constexpr std::array<const char *, 2> kRare = {"0 0 29 2 *", "0 0 */28 2 */7"};
	const char *text = kRare[static_cast<std::size_t>(state.range(0))];
	const char *zone_name = kZones[static_cast<std::size_t>(state.range(1))];
	const js::core::ParseResult parsed = js::core::ParseSchedule(text);
	const std::optional<js::core::TimeZone> zone = js::core::TimeZone::Load(zone_name);
	if (!parsed.ok || !zone) {
		state.SkipWithError("setup failed");
		return;
	}
	js::core::Instant t = kStart;
	for (auto _ : state) {
		const std::optional<js::core::Instant> next = js::core::NextFire(parsed.schedule, t, *zone);
		benchmark::DoNotOptimize(next);
		t = (next && *next - kStart < 200 * kWrapAfter) ? *next : kStart;
	}
	state.SetItemsProcessed(state.iterations());
	state.SetLabel(std::string(text) + " @ " + zone_name);
}
BENCHMARK(BM_NextFireRare)->ArgsProduct({{0, 1}, {0, 1}});

/* ParseSchedule of a few typical texts, round-robin. */
void
BM_ParseSchedule(benchmark::State &state)
{
	constexpr std::array<const char *, 6> kTexts = {
	    "*/5 * * * *", "0 3 * * *", "15 */5 * * * *", "0 9 * * mon-fri", "@daily", "10 seconds",
	};
	std::size_t i = 0;
	for (auto _ : state) {
		benchmark::DoNotOptimize(js::core::ParseSchedule(kTexts[i]));
		i = (i + 1) % kTexts.size();
	}
	state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseSchedule);

} // namespace
