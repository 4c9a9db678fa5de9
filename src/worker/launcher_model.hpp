/*
 * The launcher's in-memory model: the active jobs as read from
 * job_stagger.jobs, and the Planner that decides when each fires. Pure C++
 * (no PostgreSQL headers): the launcher fills it from SPI results and turns
 * what it hands out into run rows and job workers.
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

namespace js::worker {

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
	int overlap = 0; /* OverlapPolicy */
	int timeout_ms = 0;
};

/* A slot handed out by the planner, with what is needed to record and run it. */
struct DueRunData {
	const JobRow *job = nullptr; /* valid until the next SetJobs() */
	core::Slot slot;
	std::string effective_schedule;
	bool reboot = false;
};

class LauncherModel {
public:
	/* Settings from job_stagger.enabled / timezone / offsets; keeps every job's progress. */
	void SetSettings(bool stagger_enabled, const core::TimeZone &tz, std::map<std::string, int> overrides);

	/*
	 * Replaces the job set (see Planner::SetJobs). Rows with a schedule that no
	 * longer parses are left out and reported in `invalid`.
	 */
	void SetJobs(std::vector<JobRow> rows, core::Instant since, std::vector<std::string> *invalid);

	std::optional<core::Instant>
	NextFireAt() const
	{
		return planner_.NextFireAt();
	}
	std::vector<DueRunData> TakeDue(core::Instant upto, core::Instant late_before);

	/* One run per active @reboot job, firing at `now`. */
	std::vector<DueRunData> RebootRuns(core::Instant now) const;

	std::size_t
	JobCount() const
	{
		return jobs_.size();
	}
	/* The active jobs with their configured offsets, for the stagger report. */
	std::vector<core::StaggerJobInput> StaggerInputs() const;
	const core::TimeZone &
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
		core::CronSchedule schedule;
	};
	int OffsetOf(const JobRow &row) const;
	std::vector<core::PlannerJob> PlannerJobs() const;
	DueRunData MakeRun(const Job &job, const core::Slot &slot) const;

	core::Planner planner_;
	std::map<std::string, int> overrides_;
	std::unordered_map<std::int64_t, Job> jobs_;
	core::Instant last_since_ = 0;
};

} // namespace js::worker
