#include "core/launcher_model.hpp"

#include "core/stagger.hpp"

#include <algorithm>

namespace js::core {

int
LauncherModel::OffsetOf(const JobRow &row) const
{
	auto it = overrides_.find(row.name);
	return it != overrides_.end() ? it->second : row.offset;
}

std::vector<PlannerJob>
LauncherModel::PlannerJobs() const
{
	std::vector<PlannerJob> out;
	out.reserve(jobs_.size());
	for (const auto &[jobid, job] : jobs_) {
		if (job.schedule.kind == ScheduleKind::kReboot)
			continue;
		PlannerJob pj;
		pj.jobid = jobid;
		pj.schedule = job.schedule;
		pj.offset = OffsetOf(job.row);
		pj.tz = job.tz;
		out.push_back(std::move(pj));
	}
	return out;
}

void
LauncherModel::SetSettings(bool stagger_enabled, const TimeZone &tz, std::map<std::string, int> overrides)
{
	overrides_ = std::move(overrides);
	PlannerSettings settings;
	settings.stagger_enabled = stagger_enabled;
	settings.tz = tz;
	planner_.SetSettings(settings);
	/* Overrides change offsets only: every job keeps its progress. */
	planner_.SetJobs(PlannerJobs(), last_since_);
}

void
LauncherModel::SetJobs(std::vector<JobRow> rows, Instant since, std::vector<std::string> *invalid)
{
	jobs_.clear();
	for (JobRow &row : rows) {
		ParseResult parsed = ParseSchedule(row.schedule);
		if (!parsed.ok) {
			if (invalid != nullptr)
				invalid->push_back(row.name + ": " + parsed.error);
			continue;
		}
		std::optional<TimeZone> tz;
		if (!row.timezone.empty()) {
			tz = TimeZone::Load(row.timezone);
			if (!tz) {
				if (invalid != nullptr)
					invalid->push_back(row.name + ": unknown time zone \"" + row.timezone + "\"");
				continue;
			}
		}
		std::int64_t jobid = row.jobid;
		jobs_.emplace(jobid, Job{std::move(row), std::move(parsed.schedule), std::move(tz)});
	}
	last_since_ = since;
	planner_.SetJobs(PlannerJobs(), since);
}

DueRunData
LauncherModel::MakeRun(const Job &job, const Slot &slot) const
{
	DueRunData run;
	run.job = &job.row;
	run.slot = slot;
	run.effective_schedule =
	    EffectiveScheduleText(job.schedule, job.row.schedule, OffsetOf(job.row), planner_.Settings().stagger_enabled);
	run.timezone = job.tz ? job.tz->Name() : planner_.Settings().tz.Name();
	return run;
}

std::vector<DueRunData>
LauncherModel::TakeDue(Instant now, Instant upto, std::int64_t catchup_window_s)
{
	std::vector<DueRunData> out;
	for (const Slot &slot : planner_.TakeDue(upto, now - catchup_window_s)) {
		auto it = jobs_.find(slot.jobid);
		if (it != jobs_.end())
			out.push_back(MakeRun(it->second, slot));
	}
	return out;
}

DueAction
DecideDue(bool missed, int overlap, bool earlier_waiting, bool late_behind_catchup) noexcept
{
	if (missed)
		return DueAction::kRecordMissed;
	if (overlap == kOverlapAllow)
		return DueAction::kStart;
	if (earlier_waiting)
		return DueAction::kSkipPreviousNotStarted;
	if (late_behind_catchup)
		return DueAction::kSkipCatchingUp;
	return DueAction::kStart;
}

std::vector<DueRunData>
LauncherModel::RebootRuns(Instant now) const
{
	std::vector<DueRunData> out;
	for (const auto &[jobid, job] : jobs_) {
		if (job.schedule.kind != ScheduleKind::kReboot)
			continue;
		Slot slot;
		slot.jobid = jobid;
		slot.nominal = now;
		slot.fire_at = now;
		slot.stagger_enabled = planner_.Settings().stagger_enabled;
		DueRunData run = MakeRun(job, slot);
		run.reboot = true;
		out.push_back(std::move(run));
	}
	return out;
}

std::vector<StaggerJobInput>
LauncherModel::StaggerInputs() const
{
	std::vector<StaggerJobInput> inputs;
	inputs.reserve(jobs_.size());
	for (const auto &[jobid, job] : jobs_)
		inputs.push_back(
		    StaggerJobInput{jobid, job.row.name, job.row.schedule, OffsetOf(job.row), std::nullopt, job.row.timezone});
	std::sort(inputs.begin(), inputs.end(),
	          [](const StaggerJobInput &a, const StaggerJobInput &b) { return a.jobid < b.jobid; });
	return inputs;
}

std::vector<std::string>
LauncherModel::UnknownOverrides() const
{
	std::vector<std::string> names;
	names.reserve(jobs_.size());
	for (const auto &[jobid, job] : jobs_)
		names.push_back(job.row.name);
	return UnknownOverrideJobs(overrides_, names);
}

} // namespace js::core
