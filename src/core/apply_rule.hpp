/*
 * When job_stagger.auto_optimize applies a proposal (issue 12): the
 * scheduler re-optimises every interval, so a proposal that is only a little
 * better would move jobs back and forth for nothing. It applies one only when
 * it is clearly better, in the optimiser's own order (simulate.hpp):
 *   1. fewer seconds with two jobs of one exclusive group running together;
 *   2. as many, and a strictly lower peak;
 *   3. the same peak, and at least kMinOverlapCutPercent % fewer overlap
 *      seconds (none: nothing to gain).
 * A worse figure earlier in the order is never outweighed by a later one.
 */
#pragma once

#include <cstdint>

namespace js::core {

constexpr int kMinOverlapCutPercent = 10;

/* The predicted figures of the current offsets (before) and of the proposal (after). */
struct PredictedChange {
	std::int64_t group_before = 0;
	std::int64_t group_after = 0;
	int peak_before = 0;
	int peak_after = 0;
	std::int64_t overlap_before = 0;
	std::int64_t overlap_after = 0;
};

bool ClearlyBetter(const PredictedChange &change);

} // namespace js::core

#include "core/cpp_only.hpp"
