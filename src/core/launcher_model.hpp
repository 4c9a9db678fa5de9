/*
 * The launcher's in-memory model: the active jobs as read from
 * job_stagger.jobs, the Planner that decides when each fires, and the
 * launcher's pure decisions on what it hands out (run, catch up, record as
 * missed, skip behind a run still waiting). Pure C++ (no PostgreSQL headers),
 * unit-tested on a fake clock (test/unit/launcher_model_test.cpp): the
 * launcher (src/worker/launcher.cpp) fills it from SPI results and turns what
 * it hands out into run rows and job workers.
 */
#pragma once

#include "core/planner.hpp"
#include "core/report.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace js::core {

/* One active job as stored in job_stagger.jobs. */
struct JobRow {
	std::int64_t jobid = 0;
	std::string name;
	std::string schedule;
	std::string command;
	std::string database;
	std::string username;     /* display name; the job runs as roleid */
	std::uint32_t roleid = 0; /* OID of the role the job runs as */
	int offset = 0;
	int overlap = 0; /* OverlapPolicy (kOverlapAllow: runs may overlap) */
	int timeout_ms = 0;
	std::string exclusive_group; /* "" = none */
	int group_policy = 0;        /* GroupPolicy: 0 skip, 1 wait */
	std::string timezone;        /* jobs.timezone; "" = job_stagger.timezone */
};

/* jobs.overlap as stored: 0 skip, 1 queue, 2 allow (src/worker/shared.hpp mirrors it). */
constexpr int kOverlapAllow = 2;

/* A slot handed out by the planner, with what is needed to record and run it. */
struct DueRunData {
	const JobRow *job = nullptr; /* valid until the next SetJobs() */
	Slot slot;
	std::string effective_schedule;
	std::string timezone; /* the zone the slot was computed in (the job's own or the default) */
	bool reboot = false;
};

/* What the launcher does with one slot it takes. */
enum class DueAction {
	kRecordMissed,           /* a final 'skipped' row: it fell due while nothing could run it */
	kSkipPreviousNotStarted, /* a final 'skipped' row: an earlier run of the job waits for a place */
	kSkipCatchingUp,         /* a final 'skipped' row: a late slot behind the job's catch-up run */
	kStart,                  /* a 'starting' row, then a worker */
};

/*
 * `earlier_waiting`: an earlier run of the same job is still with the
 * launcher, without a worker (recorded by an earlier tick and not started:
 * the cap is the bottleneck, or no background worker is free).
 * `late_behind_catchup`: this slot is late and an earlier late slot of the
 * job in this batch already runs as its catch-up (several late slots make one
 * late run). Overlap skip and queue then record the slot as skipped at once;
 * overlap allow runs it. An on-time slot is never skipped for a catch-up: it
 * gets its own worker, which applies the overlap policy at the instant
 * (exactly, under the slot lock). Plain arguments and noexcept: the launcher
 * calls it from PostgreSQL frames.
 */
DueAction DecideDue(bool missed, int overlap, bool earlier_waiting, bool late_behind_catchup = false) noexcept;

class LauncherModel {
public:
	/* Settings from job_stagger.enabled / timezone / offsets; keeps every job's progress. */
	void SetSettings(bool stagger_enabled, const TimeZone &tz, std::map<std::string, int> overrides);

	/*
	 * Replaces the job set (see Planner::SetJobs). Rows with a schedule that no
	 * longer parses, or a zone that no longer loads, are left out and reported
	 * in `invalid`.
	 */
	void SetJobs(std::vector<JobRow> rows, Instant since, std::vector<std::string> *invalid);

	std::optional<Instant>
	NextFireAt() const
	{
		return planner_.NextFireAt();
	}
	/*
	 * Every slot firing up to `upto` (now + the prestart lead), in fire order.
	 * Slots more than `catchup_window_s` before `now` are kMissed (recorded as
	 * skipped "missed"); later ones run, late ones at once.
	 */
	std::vector<DueRunData> TakeDue(Instant now, Instant upto, std::int64_t catchup_window_s);

	/* Fire instant of the job's next slot not handed out yet (nullopt: not active, or never fires). */
	std::optional<Instant>
	NextSlotOf(std::int64_t jobid) const
	{
		std::optional<Slot> slot = planner_.PeekJob(jobid);
		return slot ? std::optional<Instant>(slot->fire_at) : std::nullopt;
	}

	/* One run per active @reboot job, firing at `now`. */
	std::vector<DueRunData> RebootRuns(Instant now) const;

	std::size_t
	JobCount() const
	{
		return jobs_.size();
	}
	/* The active jobs with their configured offsets, for the stagger report. */
	std::vector<StaggerJobInput> StaggerInputs() const;
	const TimeZone &
	Zone() const
	{
		return planner_.Settings().tz;
	}

	/* Jobs named in the offset overrides that are not active jobs. */
	std::vector<std::string> UnknownOverrides() const;
	bool
	StaggerEnabled() const
	{
		return planner_.Settings().stagger_enabled;
	}

private:
	struct Job {
		JobRow row;
		CronSchedule schedule;
		std::optional<TimeZone> tz; /* row.timezone loaded; nullopt: the default zone */
	};
	int OffsetOf(const JobRow &row) const;
	std::vector<PlannerJob> PlannerJobs() const;
	DueRunData MakeRun(const Job &job, const Slot &slot) const;

	Planner planner_;
	std::map<std::string, int> overrides_;
	std::unordered_map<std::int64_t, Job> jobs_;
	Instant last_since_ = 0;
};

} // namespace js::core

#include "core/cpp_only.hpp"
