/*
 * Retries of failed runs (jobs.max_retries, jobs.retry_delay): when the next
 * attempt of a slot is due, and whether a planned attempt still runs at its
 * instant. Attempt 1 is the slot's own run; attempt n+1 waits
 * retry_delay * 2^(n-1) after attempt n ended, at most
 * max(kRetryMaxDelayUs, retry_delay). No attempt runs once the job's next
 * regular slot has come: that slot is the job's next chance anyway.
 *
 * Pure C++ on plain values (microseconds), noexcept: the launcher calls it
 * from PostgreSQL frames.
 */
#pragma once

#include <cstdint>

namespace js::core {

/* Longest wait between two attempts (1 hour), unless retry_delay itself is longer. */
constexpr std::int64_t kRetryMaxDelayUs = 3600LL * 1000 * 1000;
/* jobs.max_retries is at most 100 (the validation trigger). */
constexpr int kMaxRetries = 100;

/* The wait after attempt `attempt` (1-based) ended: delay_us * 2^(attempt-1), capped. */
std::int64_t RetryBackoffUs(std::int64_t delay_us, int attempt) noexcept;

/* The next attempt of a slot, when one is due. */
struct RetryPlan {
	bool retry = false;
	int attempt = 0;        /* the attempt to plan (2 = the first retry) */
	std::int64_t at_us = 0; /* its instant: the end of the last attempt plus the backoff */
};

/*
 * After attempt `attempt` of a slot ended. `failed`: it ended failed,
 * timed_out or crashed. `manual`: a run started by stagger_run_now (not
 * retried: someone is there to see it). `job_active`, `max_retries` and
 * `delay_us`: the job as it is now.
 */
RetryPlan PlanRetry(bool failed, bool manual, int attempt, int max_retries, bool job_active, std::int64_t ended_us,
                    std::int64_t delay_us) noexcept;

enum class RetryVerdict {
	kRun,          /* start it */
	kJobGone,      /* the job was deleted */
	kInactive,     /* the job was deactivated */
	kLimitLowered, /* max_retries was lowered below this attempt */
	kSuperseded,   /* the job's next regular slot comes first */
};

/*
 * A planned attempt (`attempt` >= 2, due at `at_us`), checked when it is
 * planned and again at its instant. `next_slot_us`: fire instant of the job's
 * next slot the scheduler has not handed out yet (INT64_MAX: none);
 * `later_slot_first`: a later slot of the job was already handed out, due at
 * or before `at_us`.
 */
RetryVerdict CheckRetry(bool job_exists, bool job_active, int max_retries, int attempt, std::int64_t at_us,
                        std::int64_t next_slot_us, bool later_slot_first) noexcept;

} // namespace js::core

#include "core/cpp_only.hpp"
