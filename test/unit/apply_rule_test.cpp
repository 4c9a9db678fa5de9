#include "core/apply_rule.hpp"

#include <gtest/gtest.h>

namespace {

using js::core::ClearlyBetter;
using js::core::PredictedChange;

PredictedChange
Change(std::int64_t group_before, std::int64_t group_after, int peak_before, int peak_after,
       std::int64_t overlap_before, std::int64_t overlap_after)
{
	return PredictedChange{group_before, group_after, peak_before, peak_after, overlap_before, overlap_after};
}

TEST(ApplyRule, LowerPeakIsEnough)
{
	EXPECT_TRUE(ClearlyBetter(Change(0, 0, 3, 2, 100, 100)));
	EXPECT_TRUE(ClearlyBetter(Change(0, 0, 3, 2, 100, 120))); /* the peak comes first */
}

TEST(ApplyRule, SamePeakNeedsTenPercentLessOverlap)
{
	EXPECT_TRUE(ClearlyBetter(Change(0, 0, 2, 2, 1000, 900)));
	EXPECT_FALSE(ClearlyBetter(Change(0, 0, 2, 2, 1000, 901)));
	EXPECT_FALSE(ClearlyBetter(Change(0, 0, 2, 2, 1000, 1000)));
	EXPECT_TRUE(ClearlyBetter(Change(0, 0, 2, 2, 10, 9)));
	EXPECT_FALSE(ClearlyBetter(Change(0, 0, 2, 2, 9, 9)));
	EXPECT_FALSE(ClearlyBetter(Change(0, 0, 1, 1, 0, 0))); /* nothing to gain */
}

TEST(ApplyRule, HigherPeakNever)
{
	EXPECT_FALSE(ClearlyBetter(Change(0, 0, 2, 3, 1000, 0)));
}

TEST(ApplyRule, GroupOverlapComesFirst)
{
	EXPECT_TRUE(ClearlyBetter(Change(60, 0, 2, 3, 100, 500)));
	EXPECT_FALSE(ClearlyBetter(Change(0, 60, 3, 1, 500, 0)));
	EXPECT_TRUE(ClearlyBetter(Change(60, 30, 2, 2, 100, 100)));
}

TEST(ApplyRule, LargeCountsDoNotOverflow)
{
	constexpr std::int64_t kDay = 86400;
	constexpr std::int64_t kJobs = 100000;
	EXPECT_TRUE(ClearlyBetter(Change(0, 0, 5, 5, kDay * kJobs, kDay * kJobs / 2)));
}

} // namespace
