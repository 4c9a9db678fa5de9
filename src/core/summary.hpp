/*
 * The human-readable summary behind stagger_summary(): the jobs with their
 * effective schedules and next fire times, how fires spread over the
 * seconds of the minute, and the colliding pairs.
 *
 * A pure formatter: every value comes in through SummaryInput, instants are
 * printed in UTC with civil.hpp, so the text depends neither on the
 * machine's locale nor on its time zone.
 */
#pragma once

#include "core/cron.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace js::core {

struct SummaryJobLine {
	std::string name;
	std::string schedule;           /* as written */
	std::string effective_schedule; /* EffectiveScheduleText */
	int offset = 0;
	std::optional<Instant> next_fire; /* nullopt: never fires on its own (@reboot, impossible date) */
	std::string timezone;             /* the job's own zone; "" = the summary's zone */
};

struct SummaryCollision {
	std::string name_a;
	std::string name_b;
	int second = 0;
	Instant first_collision = 0;
	std::int64_t per_day = 0;
};

/* A member of an exclusive group: its name, policy and what it fires at. */
struct SummaryGroupMember {
	std::string name;
	std::string policy;             /* skip or wait */
	std::string effective_schedule; /* EffectiveScheduleText */
};

/* An exclusive group (one role's), and the pairs of its members that fire at the same second. */
struct SummaryGroup {
	std::string role;
	std::string name;
	std::vector<SummaryGroupMember> members;
	std::vector<SummaryCollision> same_second;
};

struct SummaryInput {
	bool stagger_enabled = false;
	std::string timezone;
	std::optional<std::string> auto_rollback_note; /* printed as "note: ..." when set */
	std::vector<SummaryJobLine> jobs;
	std::array<int, 60> distribution{}; /* SecondDistribution */
	std::vector<SummaryCollision> collisions;
	std::vector<SummaryGroup> groups; /* exclusive groups, printed when there are any */
	/* Lines listed at most (the rest is counted in an "... and N more" line), for log output. */
	std::size_t max_job_lines = SIZE_MAX;
	std::size_t max_collision_lines = SIZE_MAX;
};

/*
 * The summary, one line per '\n':
 *   job_stagger: staggering enabled (time zone UTC)
 *   2 active jobs
 *     job     schedule   effective     offset  next fire (UTC)
 *     backup  0 3 * * *  45 0 3 * * *      45  2026-11-29 03:00:45
 *     ...
 *   distribution over the minute: :05 1 job, :45 1 job
 *   collisions: collision-free        (or "collisions: 2 pairs" and a line per pair)
 *   exclusive groups: 1               (only when there are groups)
 *     referrals (role alice): nightly [skip] at 30 0 * * * *, refresh [wait] at 45 0 3 * * *
 *     warning: ...                    (a line per pair of members firing at the same second)
 * When some job has a zone of its own, every schedule is followed by the
 * zone it is read in, e.g. "0 9 * * * (Asia/Kolkata)", "* * * * * (UTC)".
 * Columns are padded to their longest value (counted in UTF-8 characters).
 */
std::string FormatSummary(const SummaryInput &input);

/* An instant as "YYYY-MM-DD HH:MM:SS" in UTC. */
std::string FormatUtcInstant(Instant t);

} // namespace js::core

#include "core/cpp_only.hpp"
