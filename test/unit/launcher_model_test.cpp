/*
 * The launcher's decisions on a fake clock (time is a parameter): due slots,
 * the catch-up window, the overlap skip of a run behind a late one, the
 * max_running_jobs cap with prestarted workers, staggering toggles, offset
 * changes and restarts. Every test checks that each slot of a job comes out
 * exactly once: none lost, none repeated.
 */
#include "core/launcher_model.hpp"
#include "core/run_slot_fsm.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace js::core {
namespace {

/* 2026-03-02 10:00:00 UTC, a Monday. */
constexpr Instant kT0 = 1772445600;
constexpr int kOverlapSkip = 0;

JobRow
Row(std::int64_t id, const std::string &schedule, int offset = 0, int overlap = kOverlapSkip)
{
	JobRow r;
	r.jobid = id;
	r.name = "job" + std::to_string(id);
	r.schedule = schedule;
	r.command = "SELECT 1";
	r.offset = offset;
	r.overlap = overlap;
	return r;
}

LauncherModel
Model(const std::vector<JobRow> &rows, Instant since, bool enabled = false, std::map<std::string, int> overrides = {})
{
	LauncherModel m;
	m.SetSettings(enabled, TimeZone::Utc(), std::move(overrides));
	std::vector<std::string> invalid;
	m.SetJobs(rows, since, &invalid);
	EXPECT_TRUE(invalid.empty());
	return m;
}

/* Nominal instants per job, with the slots a missed summary stands for expanded by count. */
struct Ledger {
	std::map<std::int64_t, std::vector<Instant>> nominals;
	std::map<std::int64_t, std::int64_t> missed;
	std::vector<Instant> fire_order;

	void
	Add(const std::vector<DueRunData> &due, Instant upto)
	{
		for (const DueRunData &d : due) {
			EXPECT_LE(d.slot.fire_at, upto) << "handed out before it was due";
			if (d.slot.kind == SlotKind::kMissed) {
				missed[d.slot.jobid] += d.slot.missed_count;
				if (d.slot.missed_count > 1)
					continue; /* a summary: its slots are counted, not listed */
			}
			nominals[d.slot.jobid].push_back(d.slot.nominal);
			fire_order.push_back(d.slot.fire_at);
		}
	}
};

/* Each nominal once, strictly increasing, spaced `step` apart from `first` on. */
void
ExpectContiguous(const std::vector<Instant> &nominals, Instant first, Instant step, std::size_t count)
{
	ASSERT_EQ(nominals.size(), count);
	for (std::size_t i = 0; i < nominals.size(); i++)
		EXPECT_EQ(nominals[i], first + static_cast<Instant>(i) * step) << "slot " << i;
}

/* Launcher ticks every second from `from` to `to` (inclusive), taking slots up to now + lead. */
void
RunTicks(LauncherModel &m, Ledger &ledger, Instant from, Instant to, Instant lead, std::int64_t catchup = 3600)
{
	for (Instant now = from; now <= to; now++)
		ledger.Add(m.TakeDue(now, now + lead, catchup), now + lead);
}

TEST(LauncherModel, DueSlotsComeOnceInFireOrder)
{
	LauncherModel m = Model({Row(1, "* * * * * *"), Row(2, "* * * * *"), Row(3, "*/7 * * * * *")}, kT0);
	Ledger ledger;
	RunTicks(m, ledger, kT0, kT0 + 180, 1);
	EXPECT_TRUE(std::is_sorted(ledger.fire_order.begin(), ledger.fire_order.end()));
	ExpectContiguous(ledger.nominals[1], kT0 + 1, 1, 181);
	ExpectContiguous(ledger.nominals[2], kT0 + 60, 60, 3);
	EXPECT_TRUE(ledger.missed.empty());
	EXPECT_EQ(m.NextFireAt(), kT0 + 182);
}

TEST(LauncherModel, PrestartLeadHandsSlotsOutEarlyButOnce)
{
	LauncherModel m = Model({Row(1, "* * * * * *")}, kT0);
	Ledger ledger;
	RunTicks(m, ledger, kT0, kT0 + 30, 5); /* a 5 s lead */
	ExpectContiguous(ledger.nominals[1], kT0 + 1, 1, 35);
}

TEST(LauncherModel, CatchUpWindowSplitsLateSlotsIntoRunAndMissed)
{
	/* Resumed from a watermark 100 s ago; slots more than 30 s late are missed, later ones run late. */
	LauncherModel m = Model({Row(1, "* * * * * *")}, kT0);
	std::vector<DueRunData> due = m.TakeDue(kT0 + 100, kT0 + 101, 30);
	std::int64_t missed = 0;
	std::vector<Instant> run;
	for (const DueRunData &d : due) {
		if (d.slot.kind == SlotKind::kMissed) {
			EXPECT_LT(d.slot.fire_at, kT0 + 70);
			missed += d.slot.missed_count;
		} else {
			EXPECT_GE(d.slot.fire_at, kT0 + 70);
			run.push_back(d.slot.nominal);
		}
	}
	EXPECT_EQ(missed, 69); /* kT0+1 .. kT0+69 */
	ExpectContiguous(run, kT0 + 70, 1, 32);
	/* the first kMaxMissedEntriesPerJob get an entry each, the rest one summary */
	EXPECT_EQ(
	    std::count_if(due.begin(), due.end(), [](const DueRunData &d) { return d.slot.kind == SlotKind::kMissed; }),
	    kMaxMissedEntriesPerJob + 1);
}

TEST(LauncherModel, ZeroCatchUpWindowRunsOnlyTheCurrentSecond)
{
	LauncherModel m = Model({Row(1, "* * * * * *")}, kT0);
	std::vector<DueRunData> due = m.TakeDue(kT0 + 5, kT0 + 5, 0);
	ASSERT_EQ(due.size(), 5u);
	for (int i = 0; i < 4; i++)
		EXPECT_EQ(due[i].slot.kind, SlotKind::kMissed);
	EXPECT_EQ(due[4].slot.kind, SlotKind::kRun);
	EXPECT_EQ(due[4].slot.fire_at, kT0 + 5);
}

TEST(LauncherModel, DecideDue)
{
	EXPECT_EQ(DecideDue(true, kOverlapSkip, false), DueAction::kRecordMissed);
	EXPECT_EQ(DecideDue(true, kOverlapAllow, true), DueAction::kRecordMissed);
	EXPECT_EQ(DecideDue(false, kOverlapSkip, false), DueAction::kStart);
	EXPECT_EQ(DecideDue(false, kOverlapSkip, true), DueAction::kSkipPreviousNotStarted);
	EXPECT_EQ(DecideDue(false, 1 /* queue */, true), DueAction::kSkipPreviousNotStarted);
	EXPECT_EQ(DecideDue(false, kOverlapAllow, true), DueAction::kStart);
	/* a late slot behind the job's catch-up run: one late run per job */
	EXPECT_EQ(DecideDue(false, kOverlapSkip, false, true), DueAction::kSkipCatchingUp);
	EXPECT_EQ(DecideDue(false, 1 /* queue */, false, true), DueAction::kSkipCatchingUp);
	EXPECT_EQ(DecideDue(false, kOverlapAllow, false, true), DueAction::kStart);
	EXPECT_EQ(DecideDue(true, kOverlapSkip, false, true), DueAction::kRecordMissed);
	/* waiting for a place wins over catching up (the message names the cause) */
	EXPECT_EQ(DecideDue(false, kOverlapSkip, true, true), DueAction::kSkipPreviousNotStarted);
}

TEST(LauncherModel, StaggerTogglesNeitherLoseNorRepeatASlot)
{
	LauncherModel m = Model({Row(1, "* * * * *", 20), Row(2, "*/5 * * * * *", 30)}, kT0);
	Ledger ledger;
	for (int minute = 0; minute < 12; minute++) {
		/* toggle at odd moments: second 10 of even minutes on, second 40 of odd minutes off */
		Instant start = kT0 + minute * 60;
		RunTicks(m, ledger, start, start + 9, 1);
		if (minute % 2 == 0)
			m.SetSettings(true, TimeZone::Utc(), {});
		RunTicks(m, ledger, start + 10, start + 39, 1);
		if (minute % 2 == 1)
			m.SetSettings(false, TimeZone::Utc(), {});
		RunTicks(m, ledger, start + 40, start + 59, 1);
	}
	/* the last slot may still be pending (fires at :20 of the next minute while staggered) */
	RunTicks(m, ledger, kT0 + 720, kT0 + 800, 1);
	std::vector<Instant> n1 = ledger.nominals[1];
	ASSERT_GE(n1.size(), 13u);
	ExpectContiguous(n1, kT0 + 60, 60, n1.size());
	/* 6-field schedules are never staggered: every 5 s, unaffected */
	ExpectContiguous(ledger.nominals[2], kT0 + 5, 5, 160);
}

TEST(LauncherModel, OffsetChangesNeitherLoseNorRepeatASlot)
{
	LauncherModel m = Model({Row(1, "* * * * *", 10)}, kT0, true);
	Ledger ledger;
	int offsets[] = {50, 0, 30, 5, 59, 20};
	for (int i = 0; i < 6; i++) {
		Instant start = kT0 + i * 60;
		RunTicks(m, ledger, start, start + 24, 1);
		m.SetSettings(true, TimeZone::Utc(), {{"job1", offsets[i]}}); /* job_stagger.offsets override */
		RunTicks(m, ledger, start + 25, start + 59, 1);
	}
	RunTicks(m, ledger, kT0 + 360, kT0 + 480, 1);
	std::vector<Instant> n = ledger.nominals[1];
	ASSERT_FALSE(n.empty());
	ExpectContiguous(n, n.front(), 60, n.size());
	EXPECT_EQ(n.front(), kT0); /* kT0 + 10 s is the first fire after since = kT0 */
	EXPECT_TRUE(std::is_sorted(ledger.fire_order.begin(), ledger.fire_order.end()));
}

TEST(LauncherModel, RestartResumesFromScheduledUntil)
{
	std::vector<JobRow> rows = {Row(1, "* * * * * *"), Row(2, "* * * * *", 40), Row(3, "*/3 * * * * *")};
	for (bool enabled : {false, true})
		for (Instant lead : {0, 1, 5}) {
			Ledger ledger;
			LauncherModel first = Model(rows, kT0, enabled);
			RunTicks(first, ledger, kT0, kT0 + 99, lead);
			Instant scheduled_until = kT0 + 99 + lead; /* written with the last batch */
			/* a fresh model (a restarted launcher) resumes from the watermark, 3 s later */
			LauncherModel second = Model(rows, scheduled_until, enabled);
			RunTicks(second, ledger, kT0 + 102, kT0 + 300, lead, 60);
			SCOPED_TRACE(testing::Message() << "enabled " << enabled << " lead " << lead);
			ExpectContiguous(ledger.nominals[1], kT0 + 1, 1, 300 + lead);
			ExpectContiguous(ledger.nominals[3], kT0 + 3, 3, (300 + lead) / 3);
			std::vector<Instant> n2 = ledger.nominals[2];
			ASSERT_FALSE(n2.empty());
			ExpectContiguous(n2, n2.front(), 60, n2.size());
			EXPECT_TRUE(ledger.missed.empty()); /* 3 s down, within the catch-up window */
		}
}

TEST(LauncherModel, RestartAfterALongGapRecordsMissedSlotsOnce)
{
	std::vector<JobRow> rows = {Row(1, "* * * * * *")};
	Ledger ledger;
	LauncherModel first = Model(rows, kT0);
	RunTicks(first, ledger, kT0, kT0 + 9, 1);
	LauncherModel second = Model(rows, kT0 + 10, false);
	RunTicks(second, ledger, kT0 + 500, kT0 + 520, 1, 60); /* down for ~490 s, window 60 s */
	EXPECT_EQ(ledger.missed[1], 439 - 11 + 1);             /* kT0+11 .. kT0+439: before now - 60 s */
	std::vector<Instant> listed = ledger.nominals[1];
	/* listed: 10 before the restart, 10 missed entries, then the late and on-time runs from kT0+440 */
	ASSERT_EQ(listed.size(), 10u + kMaxMissedEntriesPerJob + 82u);
	EXPECT_EQ(listed[20], kT0 + 440);
	EXPECT_TRUE(std::is_sorted(listed.begin(), listed.end()));
}

/*
 * The launcher and its workers on a fake clock in milliseconds: the model
 * hands slots out every 100 ms tick, DecideDue records them, workers start
 * by MayStartWorker and take a place by MayTakePlace, and run for
 * `duration_ms`. Outcomes per slot are collected.
 */
class FakeScheduler {
public:
	FakeScheduler(LauncherModel &model, int cap, int lead_ms, std::map<std::int64_t, int> duration_ms, int nslots = 48)
	    : model_(model), cap_(cap), lead_ms_(lead_ms), duration_ms_(std::move(duration_ms)), nslots_(nslots)
	{
	}

	void
	Run(std::int64_t from_ms, std::int64_t to_ms)
	{
		for (std::int64_t now = from_ms; now <= to_ms; now += 100)
			Step(now);
	}

	std::map<std::pair<std::int64_t, Instant>, std::vector<std::string>> outcomes; /* (job, nominal) -> what */
	int max_running = 0;
	int max_workers = 0;
	int late_starts = 0;

private:
	struct SimRun {
		std::int64_t jobid;
		Instant nominal;
		std::int64_t fire_ms;
		int overlap;
		RunSlotState state = RunSlotState::kWaiting;
		bool ready = false;
		std::int64_t end_ms = 0;
		std::int64_t seq = 0;
	};

	void
	Step(std::int64_t now)
	{
		Instant now_s = now / 1000;
		Instant upto = (now + lead_ms_) / 1000;
		std::vector<DueRunData> due = model_.TakeDue(now_s, upto, 10);
		std::vector<SimRun> batch;
		for (const DueRunData &d : due) {
			/* as launcher_loop.cpp: any run of the job still without a worker; a late one behind a late one */
			bool earlier_waiting = false, behind_catchup = false;
			for (const SimRun &p : pending_)
				earlier_waiting |= p.jobid == d.slot.jobid;
			for (const SimRun &p : batch)
				behind_catchup |= p.jobid == d.slot.jobid && p.fire_ms < now && d.slot.fire_at * 1000 < now;
			DueAction a = DecideDue(d.slot.kind == SlotKind::kMissed, d.job->overlap, earlier_waiting, behind_catchup);
			if (a == DueAction::kStart)
				batch.push_back(SimRun{d.slot.jobid, d.slot.nominal, d.slot.fire_at * 1000, d.job->overlap});
			else
				Record(d.slot.jobid, d.slot.nominal,
				       a == DueAction::kRecordMissed     ? "missed"
				       : a == DueAction::kSkipCatchingUp ? "skipped-catching-up"
				                                         : "skipped-not-started");
		}
		pending_.insert(pending_.end(), batch.begin(), batch.end());
		StartPending(now);
		Workers(now);
	}

	SlotCounts
	Counts(std::int64_t now) const
	{
		SlotCounts c;
		c.free = nslots_ - static_cast<int>(workers_.size());
		for (const SimRun &w : workers_) {
			c.running += w.state == RunSlotState::kRunning;
			c.awaiting_place += w.state == RunSlotState::kQueued && w.ready;
			c.late_starting += w.state == RunSlotState::kWaiting && w.fire_ms <= now;
		}
		return c;
	}

	void
	StartPending(std::int64_t now)
	{
		while (!pending_.empty() && MayStartWorker(Counts(now), cap_, pending_.front().fire_ms <= now)) {
			SimRun r = pending_.front();
			pending_.pop_front();
			r.seq = next_seq_++;
			workers_.push_back(r);
		}
		max_workers = std::max(max_workers, static_cast<int>(workers_.size()));
	}

	bool
	EarlierActive(const SimRun &me) const
	{
		for (const SimRun &w : workers_)
			if (&w != &me && w.jobid == me.jobid && w.fire_ms < me.fire_ms)
				return true;
		return false;
	}

	void
	Workers(std::int64_t now)
	{
		/* ends first: a place freed at this instant is free for the runs due now */
		for (auto it = workers_.begin(); it != workers_.end();) {
			if (it->state == RunSlotState::kRunning && it->end_ms <= now) {
				Record(it->jobid, it->nominal, "succeeded");
				it = workers_.erase(it);
			} else {
				++it;
			}
		}
		std::vector<SimRun *> order;
		for (SimRun &w : workers_)
			if ((w.state == RunSlotState::kWaiting || w.state == RunSlotState::kQueued) && w.fire_ms <= now)
				order.push_back(&w);
		std::sort(order.begin(), order.end(), [](const SimRun *a, const SimRun *b) {
			return a->fire_ms != b->fire_ms ? a->fire_ms < b->fire_ms : a->seq < b->seq;
		});
		std::set<const SimRun *> skipped;
		for (SimRun *w : order) {
			bool blocked = w->overlap != kOverlapAllow && EarlierActive(*w);
			if (blocked && w->state == RunSlotState::kWaiting && w->overlap == kOverlapSkip) {
				Record(w->jobid, w->nominal, "skipped-overlap");
				skipped.insert(w);
				continue;
			}
			int running = 0, ahead = 0;
			for (const SimRun &o : workers_) {
				running += o.state == RunSlotState::kRunning;
				ahead += &o != w && o.state == RunSlotState::kQueued && o.ready && o.fire_ms < w->fire_ms;
			}
			if (!blocked && MayTakePlace(running, ahead, cap_)) {
				EXPECT_TRUE(IsLegalTransition(w->state, RunSlotState::kRunning));
				w->state = RunSlotState::kRunning;
				w->end_ms = now + duration_ms_[w->jobid];
				late_starts += now > w->fire_ms;
			} else {
				w->state = RunSlotState::kQueued;
				w->ready = !blocked;
			}
		}
		workers_.erase(
		    std::remove_if(workers_.begin(), workers_.end(), [&](const SimRun &w) { return skipped.count(&w) > 0; }),
		    workers_.end());
		int running = 0;
		for (const SimRun &w : workers_)
			running += w.state == RunSlotState::kRunning;
		max_running = std::max(max_running, running);
	}

	void
	Record(std::int64_t jobid, Instant nominal, const std::string &what)
	{
		outcomes[{jobid, nominal}].push_back(what);
	}

	LauncherModel &model_;
	int cap_;
	int lead_ms_;
	std::map<std::int64_t, int> duration_ms_;
	int nslots_;
	std::deque<SimRun> pending_;
	std::vector<SimRun> workers_;
	std::int64_t next_seq_ = 0;
};

/* Every slot of each job from its first to `last` has exactly one outcome; returns the counts by outcome. */
std::map<std::string, int>
CheckEverySlotOnce(const FakeScheduler &s, const std::vector<std::int64_t> &jobs, Instant first, Instant last)
{
	std::map<std::string, int> by_what;
	for (std::int64_t job : jobs)
		for (Instant n = first; n <= last; n++) {
			auto it = s.outcomes.find({job, n});
			if (it == s.outcomes.end()) {
				ADD_FAILURE() << "job " << job << " slot " << n - kT0 << " lost";
				continue;
			}
			EXPECT_EQ(it->second.size(), 1u) << "job " << job << " slot " << n - kT0 << " repeated";
			by_what[it->second.front()]++;
		}
	return by_what;
}

TEST(LauncherModel, CapCountsRunsExecutingNotPrestartedWorkers)
{
	/* The scenario: max_running_jobs 2, prestart_lead_ms 5000, two every-second jobs. */
	LauncherModel m = Model({Row(1, "* * * * * *"), Row(2, "* * * * * *")}, kT0);
	FakeScheduler s(m, 2, 5000, {{1, 200}, {2, 200}});
	s.Run(kT0 * 1000, (kT0 + 60) * 1000);
	std::map<std::string, int> by_what = CheckEverySlotOnce(s, {1, 2}, kT0 + 1, kT0 + 59);
	EXPECT_EQ(by_what["succeeded"], 2 * 59) << "no slot is skipped for the cap";
	EXPECT_LE(s.max_running, 2);
	EXPECT_GE(s.max_workers, 10) << "five seconds of runs are prestarted";
	EXPECT_EQ(s.late_starts, 0);
}

TEST(LauncherModel, RunsBeyondTheCapWaitForAPlaceInDueOrder)
{
	/* three jobs, 2 places, 300 ms each: one run per second waits 300 ms, none is skipped */
	LauncherModel m = Model({Row(1, "* * * * * *", 0, kOverlapAllow), Row(2, "* * * * * *", 0, kOverlapAllow),
	                         Row(3, "* * * * * *", 0, kOverlapAllow)},
	                        kT0);
	FakeScheduler s(m, 2, 1000, {{1, 300}, {2, 300}, {3, 300}});
	s.Run(kT0 * 1000, (kT0 + 30) * 1000);
	std::map<std::string, int> by_what = CheckEverySlotOnce(s, {1, 2, 3}, kT0 + 1, kT0 + 29);
	EXPECT_EQ(by_what["succeeded"], 3 * 29);
	EXPECT_LE(s.max_running, 2);
	EXPECT_GE(s.late_starts, 29);
}

TEST(LauncherModel, SaturatedCapAccountsForEverySlot)
{
	/* demand far above the cap (4 jobs of 2.5 s each second, cap 1, overlap skip): every slot has one outcome */
	std::vector<JobRow> rows;
	std::map<std::int64_t, int> durations;
	for (int j = 1; j <= 4; j++) {
		rows.push_back(Row(j, "* * * * * *"));
		durations[j] = 2500;
	}
	LauncherModel m = Model(rows, kT0);
	FakeScheduler s(m, 1, 5000, durations);
	s.Run(kT0 * 1000, (kT0 + 60) * 1000);
	EXPECT_LE(s.max_running, 1);
	std::map<std::string, int> by_what = CheckEverySlotOnce(s, {1, 2, 3, 4}, kT0 + 1, kT0 + 50);
	EXPECT_GE(by_what["succeeded"], 15);
	EXPECT_EQ(by_what["missed"], 0);
	EXPECT_EQ(by_what["succeeded"] + by_what["skipped-overlap"] + by_what["skipped-not-started"] +
	              by_what["skipped-catching-up"],
	          200);
}

TEST(LauncherModel, OversubscribedCapKeepsWorkersBounded)
{
	/* overlap = allow, 2.5 s every second, cap 1: the backlog waits in the launcher, not in workers */
	LauncherModel m = Model({Row(1, "* * * * * *", 0, kOverlapAllow)}, kT0);
	FakeScheduler s(m, 1, 5000, {{1, 2500}});
	s.Run(kT0 * 1000, (kT0 + 60) * 1000);
	EXPECT_LE(s.max_running, 1);
	EXPECT_LE(s.max_workers, 5 + 2) << "the prestart window's runs, and one late run";
	for (const auto &[slot, what] : s.outcomes) {
		EXPECT_EQ(what.size(), 1u);
		EXPECT_EQ(what.front(), "succeeded") << "overlap = allow never skips";
	}
	EXPECT_GE(s.outcomes.size(), 20u);
}

TEST(LauncherModel, OverlapSkipAtTheInstantWhilePreviousRuns)
{
	/* one slow job, cap high: the worker skips at its instant while the previous run goes */
	LauncherModel m = Model({Row(1, "* * * * * *")}, kT0);
	FakeScheduler s(m, 32, 1000, {{1, 2500}});
	s.Run(kT0 * 1000, (kT0 + 20) * 1000);
	std::map<std::string, int> by_what = CheckEverySlotOnce(s, {1}, kT0 + 1, kT0 + 15);
	EXPECT_EQ(by_what["succeeded"] + by_what["skipped-overlap"], 15);
	EXPECT_GE(by_what["skipped-overlap"], 8);
	EXPECT_EQ(by_what["skipped-not-started"], 0);
}

/*
 * NextSlotOf: the fire instant of the job's next slot not handed out yet
 * (what decides whether a retry is superseded); it moves past each slot
 * handed out, includes the applied offset, and is nullopt for unknown jobs.
 */
TEST(LauncherModel, NextSlotOfFollowsTheHandedOutSlots)
{
	LauncherModel m = Model({Row(1, "*/5 * * * *", 20), Row(2, "@reboot")}, kT0, true);
	ASSERT_TRUE(m.NextSlotOf(1).has_value());
	EXPECT_EQ(*m.NextSlotOf(1), kT0 + 20); /* the 10:00 slot, staggered by 20 s */
	(void)m.TakeDue(kT0 + 20, kT0 + 20, 3600);
	EXPECT_EQ(*m.NextSlotOf(1), kT0 + 300 + 20);
	EXPECT_FALSE(m.NextSlotOf(2).has_value()); /* never fires on its own */
	EXPECT_FALSE(m.NextSlotOf(99).has_value());
}

} // namespace
} // namespace js::core
