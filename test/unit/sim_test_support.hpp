/*
 * Helpers shared by the simulator and optimiser unit tests: job builders and
 * the objective tuple they compare.
 */
#pragma once

#include "core/simulate.hpp"
#include "cron_test_support.hpp"

#include <cstdint>
#include <string>
#include <tuple>

namespace js::core::test {

/* 2026-11-28 12:00:00 UTC: a whole hour. */
constexpr Instant kSimFrom = 1795867200;

inline SimJob
SimJobOf(const std::string &text, int offset, int duration, const std::string &group = "", bool pinned = false)
{
	SimJob job;
	job.name = text;
	job.schedule = MustParse(text);
	job.offset = offset;
	job.duration_seconds = duration;
	job.group = group;
	job.pinned = pinned;
	return job;
}

inline SimOptions
SimHorizon(std::int64_t seconds, Instant from = kSimFrom)
{
	SimOptions options;
	options.from = from;
	options.horizon_seconds = seconds;
	return options;
}

/* (group overlap, peak, overlap): the part of the objective the optimiser must never make worse. */
using Load = std::tuple<std::int64_t, int, std::int64_t>;

inline Load
LoadOf(const SimResult &r)
{
	return Load{r.group_overlap_seconds, r.peak, r.overlap_seconds};
}

} // namespace js::core::test
