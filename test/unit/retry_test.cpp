#include "core/retry.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

namespace {

using js::core::CheckRetry;
using js::core::PlanRetry;
using js::core::RetryBackoffUs;
using js::core::RetryVerdict;

constexpr std::int64_t kSec = 1000 * 1000;
constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::max();

TEST(RetryBackoff, DoublesPerAttempt)
{
	EXPECT_EQ(RetryBackoffUs(1 * kSec, 1), 1 * kSec);
	EXPECT_EQ(RetryBackoffUs(1 * kSec, 2), 2 * kSec);
	EXPECT_EQ(RetryBackoffUs(1 * kSec, 3), 4 * kSec);
	EXPECT_EQ(RetryBackoffUs(60 * kSec, 4), 480 * kSec);
}

TEST(RetryBackoff, CappedAtAnHourOrTheDelay)
{
	EXPECT_EQ(RetryBackoffUs(60 * kSec, 7), 3600 * kSec);     /* 64 min -> 60 */
	EXPECT_EQ(RetryBackoffUs(1 * kSec, 100), 3600 * kSec);    /* no overflow with 100 attempts */
	EXPECT_EQ(RetryBackoffUs(86400 * kSec, 1), 86400 * kSec); /* a delay longer than the cap is the cap */
	EXPECT_EQ(RetryBackoffUs(86400 * kSec, 50), 86400 * kSec);
	EXPECT_EQ(RetryBackoffUs(-5, 3), 0);
}

TEST(PlanRetry, RetriesFailuresUpToMaxRetries)
{
	auto p = PlanRetry(true, false, 1, 3, true, 100 * kSec, 1 * kSec);
	EXPECT_TRUE(p.retry);
	EXPECT_EQ(p.attempt, 2);
	EXPECT_EQ(p.at_us, 101 * kSec);
	p = PlanRetry(true, false, 3, 3, true, 100 * kSec, 1 * kSec);
	EXPECT_TRUE(p.retry);
	EXPECT_EQ(p.attempt, 4);
	EXPECT_EQ(p.at_us, 104 * kSec);
	EXPECT_FALSE(PlanRetry(true, false, 4, 3, true, 100 * kSec, kSec).retry); /* 3 retries done */
}

TEST(PlanRetry, NoRetry)
{
	EXPECT_FALSE(PlanRetry(false, false, 1, 3, true, 0, kSec).retry);  /* succeeded or skipped */
	EXPECT_FALSE(PlanRetry(true, true, 1, 3, true, 0, kSec).retry);    /* manual run */
	EXPECT_FALSE(PlanRetry(true, false, 1, 0, true, 0, kSec).retry);   /* max_retries 0 */
	EXPECT_FALSE(PlanRetry(true, false, 1, 3, false, 0, kSec).retry);  /* job inactive */
	EXPECT_TRUE(PlanRetry(true, false, 1, 1000, true, 0, kSec).retry); /* clamped to 100, still retried */
	EXPECT_FALSE(PlanRetry(true, false, 101, 1000, true, 0, kSec).retry);
	EXPECT_EQ(PlanRetry(true, false, 0, 3, true, 0, kSec).attempt, 2); /* attempt 0 reads as 1 */
}

TEST(CheckRetry, Verdicts)
{
	EXPECT_EQ(CheckRetry(true, true, 3, 2, 10 * kSec, kNever, false), RetryVerdict::kRun);
	EXPECT_EQ(CheckRetry(true, true, 3, 4, 10 * kSec, 11 * kSec, false), RetryVerdict::kRun);
	EXPECT_EQ(CheckRetry(false, true, 3, 2, 10 * kSec, kNever, false), RetryVerdict::kJobGone);
	EXPECT_EQ(CheckRetry(true, false, 3, 2, 10 * kSec, kNever, false), RetryVerdict::kInactive);
	EXPECT_EQ(CheckRetry(true, true, 1, 3, 10 * kSec, kNever, false), RetryVerdict::kLimitLowered);
	EXPECT_EQ(CheckRetry(true, true, 0, 2, 10 * kSec, kNever, false), RetryVerdict::kLimitLowered);
	EXPECT_EQ(CheckRetry(true, true, 3, 2, 10 * kSec, 10 * kSec, false), RetryVerdict::kSuperseded);
	EXPECT_EQ(CheckRetry(true, true, 3, 2, 10 * kSec, 9 * kSec, false), RetryVerdict::kSuperseded);
	EXPECT_EQ(CheckRetry(true, true, 3, 2, 10 * kSec, kNever, true), RetryVerdict::kSuperseded);
}

} // namespace
