#include "core/retry.hpp"

#include <algorithm>

namespace js::core {

std::int64_t
RetryBackoffUs(std::int64_t delay_us, int attempt) noexcept
{
	delay_us = std::max<std::int64_t>(delay_us, 0);
	std::int64_t cap = std::max(kRetryMaxDelayUs, delay_us);
	std::int64_t wait = delay_us;
	/* doubling stops at the cap (no overflow: the cap is far below INT64_MAX / 2) */
	for (int n = 1; n < attempt && wait < cap; n++)
		wait *= 2;
	return std::min(wait, cap);
}

RetryPlan
PlanRetry(bool failed, bool manual, int attempt, int max_retries, bool job_active, std::int64_t ended_us,
          std::int64_t delay_us) noexcept
{
	RetryPlan plan;
	attempt = std::max(attempt, 1);
	if (!failed || manual || !job_active || attempt > std::min(max_retries, kMaxRetries))
		return plan;
	plan.retry = true;
	plan.attempt = attempt + 1;
	plan.at_us = ended_us + RetryBackoffUs(delay_us, attempt);
	return plan;
}

RetryVerdict
CheckRetry(bool job_exists, bool job_active, int max_retries, int attempt, std::int64_t at_us,
           std::int64_t next_slot_us, bool later_slot_first) noexcept
{
	if (!job_exists)
		return RetryVerdict::kJobGone;
	if (!job_active)
		return RetryVerdict::kInactive;
	if (attempt - 1 > max_retries)
		return RetryVerdict::kLimitLowered;
	if (later_slot_first || next_slot_us <= at_us)
		return RetryVerdict::kSuperseded;
	return RetryVerdict::kRun;
}

} // namespace js::core
