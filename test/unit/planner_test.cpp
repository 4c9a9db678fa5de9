/*
 * Planner: slots handed out in fire order, offsets and the stagger toggle
 * never lose or repeat a slot, missed slots after a gap, schedule changes.
 */
#include "core/planner.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace js::core {
namespace {

/* 2026-03-02 10:00:00 UTC, a Monday. */
constexpr Instant kT0 = 1772445600;

PlannerJob
Job(std::int64_t id, const std::string &text, int offset = 0)
{
	ParseResult parsed = ParseSchedule(text);
	EXPECT_TRUE(parsed.ok) << text << ": " << parsed.error;
	return PlannerJob{id, parsed.schedule, offset, std::nullopt};
}

PlannerSettings
Settings(bool enabled)
{
	PlannerSettings s;
	s.stagger_enabled = enabled;
	return s;
}

std::vector<Instant>
FireTimes(const std::vector<Slot> &slots, std::int64_t jobid)
{
	std::vector<Instant> out;
	for (const Slot &s : slots)
		if (s.jobid == jobid)
			out.push_back(s.fire_at);
	return out;
}

TEST(Planner, HandsOutSlotsInFireOrder)
{
	Planner p(Settings(false));
	p.SetJobs({Job(1, "* * * * *"), Job(2, "*/20 * * * * *"), Job(3, "0 * * * *")}, kT0);
	std::vector<Slot> due = p.TakeDue(kT0 + 60, kT0);
	std::vector<Instant> fires;
	for (const Slot &s : due)
		fires.push_back(s.fire_at);
	EXPECT_TRUE(std::is_sorted(fires.begin(), fires.end()));
	EXPECT_EQ(FireTimes(due, 1), (std::vector<Instant>{kT0 + 60}));
	EXPECT_EQ(FireTimes(due, 2), (std::vector<Instant>{kT0 + 20, kT0 + 40, kT0 + 60}));
	EXPECT_TRUE(FireTimes(due, 3).empty()); /* next hour */
	EXPECT_EQ(p.NextFireAt(), kT0 + 80);
}

TEST(Planner, SlotsAreStrictlyAfterSince)
{
	Planner p(Settings(false));
	p.SetJobs({Job(1, "* * * * * *")}, kT0);
	std::vector<Slot> due = p.TakeDue(kT0 + 3, kT0);
	EXPECT_EQ(FireTimes(due, 1), (std::vector<Instant>{kT0 + 1, kT0 + 2, kT0 + 3}));
	EXPECT_TRUE(p.TakeDue(kT0 + 3, kT0).empty()) << "a slot is handed out once";
}

TEST(Planner, OffsetShiftsFiveFieldJobsOnlyWhenEnabled)
{
	Planner p(Settings(true));
	p.SetJobs({Job(1, "*/5 * * * *", 25), Job(2, "10 */5 * * * *", 25), Job(3, "30 seconds", 25)}, kT0);
	std::vector<Slot> due = p.TakeDue(kT0 + 300, kT0);
	EXPECT_EQ(FireTimes(due, 1), (std::vector<Instant>{kT0 + 25}));
	EXPECT_EQ(FireTimes(due, 2), (std::vector<Instant>{kT0 + 10}));
	EXPECT_EQ(FireTimes(due, 3).size(), 10u);
	for (const Slot &s : due) {
		EXPECT_TRUE(s.stagger_enabled);
		EXPECT_EQ(s.applied_offset, s.jobid == 1 ? 25 : 0);
		EXPECT_EQ(s.fire_at, s.nominal + s.applied_offset);
	}
}

/* Minute of kT0 ran at :00 with staggering off; turned on at :05 with offset 20: no second run at :20. */
TEST(Planner, EnablingDoesNotRepeatTheCurrentMinute)
{
	Planner p(Settings(false));
	p.SetJobs({Job(1, "* * * * *", 20)}, kT0 - 1);
	EXPECT_EQ(FireTimes(p.TakeDue(kT0, kT0), 1), (std::vector<Instant>{kT0}));
	p.SetSettings(Settings(true));
	std::vector<Slot> due = p.TakeDue(kT0 + 59, kT0 + 5);
	EXPECT_TRUE(due.empty()) << "the :20 slot of a minute that already ran must not run";
	EXPECT_EQ(FireTimes(p.TakeDue(kT0 + 120, kT0 + 5), 1), (std::vector<Instant>{kT0 + 80}));
}

/* On at offset 20: the minute's :20 slot is pending at :05 when staggering is turned off: it runs once, at once. */
TEST(Planner, DisablingStillRunsThePendingSlotOnce)
{
	Planner p(Settings(true));
	p.SetJobs({Job(1, "* * * * *", 20)}, kT0 - 61);
	EXPECT_EQ(FireTimes(p.TakeDue(kT0 - 1, kT0 - 61), 1), (std::vector<Instant>{kT0 - 40}));
	p.SetSettings(Settings(false));
	std::vector<Slot> due = p.TakeDue(kT0 + 5, kT0 - 55);
	ASSERT_EQ(due.size(), 1u);
	EXPECT_EQ(due[0].nominal, kT0);
	EXPECT_EQ(due[0].fire_at, kT0) << "due now: runs immediately";
	EXPECT_EQ(due[0].kind, SlotKind::kRun);
	EXPECT_FALSE(due[0].stagger_enabled);
	EXPECT_EQ(FireTimes(p.TakeDue(kT0 + 60, kT0 + 5), 1), (std::vector<Instant>{kT0 + 60}));
}

/* Toggling back and forth many times over an hour: every minute (nominal slot) runs exactly once. */
TEST(Planner, TogglingNeverLosesOrRepeatsASlot)
{
	Planner p(Settings(false));
	p.SetJobs({Job(1, "* * * * *", 37), Job(2, "*/5 * * * *", 3), Job(3, "* * * * *", 0)}, kT0 - 1);
	std::map<std::int64_t, std::vector<Instant>> nominals;
	bool enabled = false;
	for (Instant now = kT0; now < kT0 + 3600; now += 7) {
		if (now % 13 == 0 || now % 29 == 0) {
			enabled = !enabled;
			p.SetSettings(Settings(enabled));
		}
		for (const Slot &s : p.TakeDue(now + 1, now - 60)) {
			EXPECT_EQ(s.kind, SlotKind::kRun);
			nominals[s.jobid].push_back(s.nominal);
		}
	}
	for (std::int64_t id : {1, 3}) {
		const std::vector<Instant> &n = nominals[id];
		std::set<Instant> unique(n.begin(), n.end());
		EXPECT_EQ(unique.size(), n.size()) << "job " << id << " repeated a slot";
		ASSERT_FALSE(n.empty());
		EXPECT_EQ(n.front(), kT0);
		for (std::size_t i = 1; i < n.size(); i++)
			EXPECT_EQ(n[i] - n[i - 1], 60) << "job " << id << " lost a slot";
	}
	EXPECT_EQ(nominals[2].size(), 12u);
}

TEST(Planner, OffsetChangeKeepsProgress)
{
	Planner p(Settings(true));
	p.SetJobs({Job(1, "* * * * *", 50)}, kT0 - 1);
	EXPECT_EQ(FireTimes(p.TakeDue(kT0 + 55, kT0), 1), (std::vector<Instant>{kT0 + 50}));
	p.SetJobs({Job(1, "* * * * *", 10)}, kT0 + 55);
	EXPECT_EQ(FireTimes(p.TakeDue(kT0 + 125, kT0 + 55), 1), (std::vector<Instant>{kT0 + 70}));
}

TEST(Planner, NewJobFiresAfterSinceEvenWithinTheCurrentMinute)
{
	Planner p(Settings(true));
	p.SetJobs({Job(1, "* * * * *", 20)}, kT0 + 5);
	EXPECT_EQ(p.NextFireAt(), kT0 + 20) << "created at :05 with offset 20: fires at :20 of this minute";
	p.SetJobs({Job(1, "* * * * *", 20), Job(2, "* * * * *", 20)}, kT0 + 21);
	EXPECT_EQ(p.PeekJob(2)->fire_at, kT0 + 80) << "created at :21: this minute's :20 is gone";
}

TEST(Planner, ScheduleChangeNeverRepeatsAnInstant)
{
	Planner p(Settings(false));
	p.SetJobs({Job(1, "* * * * * *")}, kT0);
	EXPECT_EQ(FireTimes(p.TakeDue(kT0 + 2, kT0), 1), (std::vector<Instant>{kT0 + 1, kT0 + 2}));
	/* new schedule, same instants reachable: the one already handed out is not handed out again */
	p.SetJobs({Job(1, "*/2 * * * * *")}, kT0 + 1);
	EXPECT_EQ(FireTimes(p.TakeDue(kT0 + 6, kT0), 1), (std::vector<Instant>{kT0 + 4, kT0 + 6}));
}

TEST(Planner, RemovedJobsStopFiring)
{
	Planner p(Settings(false));
	p.SetJobs({Job(1, "* * * * * *"), Job(2, "* * * * * *")}, kT0);
	p.SetJobs({Job(2, "* * * * * *")}, kT0);
	EXPECT_TRUE(FireTimes(p.TakeDue(kT0 + 5, kT0), 1).empty());
	EXPECT_EQ(p.JobCount(), 1u);
}

TEST(Planner, NeverFiringAndRebootJobsHaveNoSlots)
{
	Planner p(Settings(false));
	p.SetJobs({Job(1, "0 0 30 2 *"), Job(2, "@reboot")}, kT0);
	EXPECT_FALSE(p.NextFireAt().has_value());
	EXPECT_TRUE(p.TakeDue(kT0 + 86400 * 400, kT0).empty());
}

/* After a gap (server down), late slots are kMissed: ten entries, then one summary with the count. */
TEST(Planner, MissedSlotsAfterAGap)
{
	Planner p(Settings(false));
	p.SetJobs({Job(1, "* * * * * *"), Job(2, "0 * * * *")}, kT0);
	Instant now = kT0 + 3 * 3600;
	std::vector<Slot> due = p.TakeDue(now + 1, now - 60);
	int entries = 0;
	std::int64_t counted = 0, runs = 0;
	for (const Slot &s : due) {
		if (s.jobid != 1)
			continue;
		if (s.kind == SlotKind::kRun) {
			runs++;
			EXPECT_GE(s.fire_at, now - 60);
		} else if (s.missed_count == 1) {
			entries++;
		} else {
			counted += s.missed_count;
			EXPECT_EQ(s.last_fire_at, now - 61);
		}
	}
	EXPECT_EQ(entries, kMaxMissedEntriesPerJob);
	/* slots (kT0, now + 1]: those before now - 60 are late */
	EXPECT_EQ(entries + counted, 3 * 3600 - 61) << "every late slot is accounted for";
	EXPECT_EQ(runs, 62) << "slots within the catch-up window still run";
	EXPECT_EQ(FireTimes(due, 2).size(), 3u) << "hourly job: three missed hours";
}

TEST(Planner, HugeGapStopsCountingAtTheBound)
{
	Planner p(Settings(false));
	p.SetJobs({Job(1, "* * * * * *")}, kT0);
	Instant now = kT0 + 30 * 86400;
	std::vector<Slot> due = p.TakeDue(now, now - 10);
	ASSERT_FALSE(due.empty());
	const Slot &summary = due.back();
	EXPECT_EQ(summary.kind, SlotKind::kMissed);
	EXPECT_TRUE(summary.count_is_lower_bound);
	EXPECT_EQ(summary.missed_count, kMaxMissedCount);
	std::vector<Instant> runs;
	for (const Slot &s : due)
		if (s.kind == SlotKind::kRun)
			runs.push_back(s.fire_at);
	ASSERT_EQ(runs.size(), 11u) << "after the gap the job is back on schedule";
	EXPECT_EQ(runs.front(), now - 10);
	EXPECT_EQ(runs.back(), now);
}

/* A backward clock jump: the planner waits for the clock instead of repeating slots. */
TEST(Planner, BackwardClockJumpDoesNotRepeat)
{
	Planner p(Settings(false));
	p.SetJobs({Job(1, "* * * * * *")}, kT0);
	EXPECT_EQ(p.TakeDue(kT0 + 10, kT0).size(), 10u);
	EXPECT_TRUE(p.TakeDue(kT0 + 5, kT0 - 60).empty());
	EXPECT_EQ(p.NextFireAt(), kT0 + 11);
}

TEST(Planner, TimeZoneChangeKeepsProgress)
{
	Planner p(Settings(false));
	p.SetJobs({Job(1, "0 3 * * *")}, kT0);
	PlannerSettings berlin = Settings(false);
	berlin.tz = *TimeZone::Load("Europe/Berlin");
	p.SetSettings(berlin);
	/* 03:00 in Berlin on 2026-03-03 is 02:00 UTC */
	EXPECT_EQ(p.NextFireAt(), kT0 + 16 * 3600);
}

} // namespace
} // namespace js::core
