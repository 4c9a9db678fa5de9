/*
 * The scheduler's plan: which job fires next, and at which instant.
 *
 * Every job has a *nominal* schedule (its own cron) and an *applied offset*
 * (its stagger offset when staggering is on, see stagger.hpp). A slot's
 * identity is its nominal instant; it fires at nominal + applied offset.
 * The planner remembers, per job, the last nominal instant it handed out, so
 * that changing the offset or toggling staggering never loses or repeats a
 * slot: a job whose minute already ran at :00 does not run again at :20 after
 * staggering is turned on, and a pending :20 slot still runs (at once) after
 * it is turned off.
 *
 * Pure and deterministic: time is always passed in. The launcher keeps one
 * Planner for its lifetime and asks TakeDue() for the slots to start.
 */
#pragma once

#include "core/cron.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <queue>
#include <unordered_map>
#include <vector>

namespace js::core {

struct PlannerJob {
	std::int64_t jobid = 0;
	CronSchedule schedule;
	int offset = 0; /* configured offset 0-59 (table value or override) */
	/* the job's own zone (jobs.timezone); nullopt: PlannerSettings::tz (job_stagger.timezone) */
	std::optional<TimeZone> tz;
};

struct PlannerSettings {
	bool stagger_enabled = false;
	TimeZone tz = TimeZone::Utc();
};

enum class SlotKind : std::uint8_t {
	kRun,    /* start a run */
	kMissed, /* fell due while nothing could run it (server down, clock jump): record, do not run */
};

struct Slot {
	std::int64_t jobid = 0;
	SlotKind kind = SlotKind::kRun;
	Instant nominal = 0;    /* the job's own fire instant: the slot's identity */
	Instant fire_at = 0;    /* nominal + applied_offset */
	int applied_offset = 0; /* 0 unless staggering applies to this job */
	bool stagger_enabled = false;
	/* kMissed only: how many slots this entry stands for (> 1 for the summary of a long gap) */
	std::int64_t missed_count = 1;
	Instant last_fire_at = 0; /* kMissed summary: fire instant of the last slot it stands for */
	bool count_is_lower_bound = false;
};

/* At most this many missed slots of one job get an entry each; the rest are summarised in one. */
constexpr int kMaxMissedEntriesPerJob = 10;
/* Counting stops here (a year-long gap of an every-second job is not enumerated). */
constexpr std::int64_t kMaxMissedCount = 100000;

class Planner {
public:
	explicit Planner(PlannerSettings settings = {}) : settings_(std::move(settings)) {}

	/*
	 * New settings; every job keeps its progress (last nominal instant handed
	 * out). A new default zone moves only the jobs without a zone of their own.
	 */
	void SetSettings(const PlannerSettings &settings);
	const PlannerSettings &
	Settings() const
	{
		return settings_;
	}

	/*
	 * Replaces the job set. Jobs whose fire times are unchanged keep their
	 * progress (an offset change keeps it too); new jobs, and jobs whose
	 * schedule or effective zone changed, get their first slot strictly after
	 * `since`. A job never fires twice at the same instant. (A change of the
	 * settings' zone, SetSettings, instead keeps the progress of the jobs
	 * that follow it, as it always did.)
	 */
	void SetJobs(const std::vector<PlannerJob> &jobs, Instant since);

	/* The earliest instant a slot fires, if any job will ever fire. */
	std::optional<Instant> NextFireAt() const;

	/*
	 * Hands out every slot with fire_at <= upto, in fire order, and advances
	 * the jobs past them. Slots with fire_at < late_before are kMissed.
	 */
	std::vector<Slot> TakeDue(Instant upto, Instant late_before);

	std::size_t
	JobCount() const
	{
		return jobs_.size();
	}

	/* The zone a job's schedule is read in: its own, else the settings' zone. */
	const TimeZone &
	ZoneOf(const PlannerJob &job) const
	{
		return job.tz ? *job.tz : settings_.tz;
	}

	/* The next slot of a job (nullopt: unknown job or it never fires). */
	std::optional<Slot> PeekJob(std::int64_t jobid) const;

private:
	struct JobState {
		PlannerJob job;
		int shift = 0;
		Instant last_nominal = 0; /* nominal instant of the last slot handed out (or the start point) */
		Instant last_fire_at = 0; /* fire instant of the last slot handed out; fire times only grow */
		bool has_last_fire = false;
		std::optional<Instant> next_nominal;
	};
	struct HeapEntry {
		Instant fire_at;
		std::int64_t jobid;
		bool
		operator>(const HeapEntry &o) const
		{
			return fire_at != o.fire_at ? fire_at > o.fire_at : jobid > o.jobid;
		}
	};
	struct MissedRun {
		int entries = 0;          /* missed slots that got an entry of their own */
		std::int64_t counted = 0; /* missed slots after those, stood for by `summary` */
		Slot summary;
	};

	void Recompute(JobState &state) const;
	void Push(const JobState &state);
	void RebuildHeap();
	Slot MakeSlot(const JobState &state) const;
	void Advance(JobState &state, Instant fire_at);
	bool AddMissed(JobState &state, const Slot &slot, MissedRun &run, std::vector<Slot> &out, Instant late_before);

	PlannerSettings settings_;
	std::unordered_map<std::int64_t, JobState> jobs_;
	std::priority_queue<HeapEntry, std::vector<HeapEntry>, std::greater<HeapEntry>> heap_;
};

} // namespace js::core

#include "core/cpp_only.hpp"
