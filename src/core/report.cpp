#include "core/report.hpp"

#include "core/stagger.hpp"

#include <cstdint>
#include <map>
#include <utility>

namespace js::core {

std::optional<Instant>
NextEffectiveFire(const CronSchedule &schedule, int offset, bool stagger_enabled, const TimeZone &tz, Instant now,
                  std::optional<Instant> last_nominal)
{
	const int shift = AppliedOffset(schedule, offset, stagger_enabled);
	Instant after = now - shift;
	if (last_nominal && *last_nominal > after)
		after = *last_nominal;
	std::optional<Instant> nominal = NextFire(schedule, after, tz);
	if (!nominal)
		return std::nullopt;
	return *nominal + shift;
}

Cancellable<StaggerReport>
ParseStaggerJobs(const std::vector<StaggerJobInput> &inputs, const Interrupt &interrupt)
{
	InterruptCheck check(interrupt);
	StaggerReport report;
	for (const StaggerJobInput &in : inputs) {
		if (check.Step())
			return Cancelled<StaggerReport>();
		ParseResult parsed = ParseSchedule(in.schedule_text);
		if (!parsed.ok) {
			report.invalid.push_back(in.name + ": " + parsed.error);
			continue;
		}
		std::optional<TimeZone> tz;
		if (!in.timezone.empty()) {
			tz = TimeZone::Load(in.timezone);
			if (!tz) {
				report.invalid.push_back(in.name + ": unknown time zone \"" + in.timezone + "\"");
				continue;
			}
		}
		report.jobs.push_back(CollisionJob{in.jobid, in.name, parsed.schedule, in.offset, std::move(tz)});
		report.schedule_texts.push_back(in.schedule_text);
		report.last_nominals.push_back(in.last_nominal);
		report.timezones.push_back(in.timezone);
	}
	return Completed(std::move(report));
}

StaggerReport
ParseStaggerJobs(const std::vector<StaggerJobInput> &inputs)
{
	return Uninterrupted(ParseStaggerJobs(inputs, Interrupt{}));
}

Cancellable<StaggerReport>
AnalyzeStagger(const std::vector<StaggerJobInput> &inputs, bool stagger_enabled, const TimeZone &tz, Instant now,
               const Interrupt &interrupt)
{
	Cancellable<StaggerReport> report = ParseStaggerJobs(inputs, interrupt);
	if (report.cancelled)
		return report;
	Cancellable<std::vector<CollisionPair>> pairs =
	    FindCollisions(report.value.jobs, stagger_enabled, tz, now, interrupt);
	if (pairs.cancelled)
		return Cancelled<StaggerReport>();
	report.value.pairs = std::move(pairs.value);
	return report;
}

StaggerReport
AnalyzeStagger(const std::vector<StaggerJobInput> &inputs, bool stagger_enabled, const TimeZone &tz, Instant now)
{
	return Uninterrupted(AnalyzeStagger(inputs, stagger_enabled, tz, now, Interrupt{}));
}

Cancellable<SummaryInput>
SummarizeStagger(const StaggerReport &report, bool stagger_enabled, const TimeZone &tz, Instant now,
                 const Interrupt &interrupt)
{
	InterruptCheck check(interrupt);
	SummaryInput s;
	s.stagger_enabled = stagger_enabled;
	s.timezone = tz.Name();
	for (std::size_t i = 0; i < report.jobs.size(); i++) {
		if (check.Step())
			return Cancelled<SummaryInput>();
		const CollisionJob &job = report.jobs[i];
		s.jobs.push_back(SummaryJobLine{
		    job.name, report.schedule_texts[i],
		    EffectiveScheduleText(job.schedule, report.schedule_texts[i], job.offset, stagger_enabled), job.offset,
		    NextEffectiveFire(job.schedule, job.offset, stagger_enabled, job.tz ? *job.tz : tz, now,
		                      report.last_nominals[i]),
		    job.tz ? job.tz->Name() : std::string()});
	}
	Cancellable<std::array<int, kSecondsOfMinute>> distribution =
	    SecondDistribution(report.jobs, stagger_enabled, tz, now, interrupt);
	if (distribution.cancelled)
		return Cancelled<SummaryInput>();
	s.distribution = distribution.value;
	for (const CollisionPair &p : report.pairs) {
		if (check.Step())
			return Cancelled<SummaryInput>();
		s.collisions.push_back(SummaryCollision{report.jobs[p.index_a].name, report.jobs[p.index_b].name, p.second,
		                                        p.first_collision, p.collisions_per_day});
	}
	return Completed(std::move(s));
}

SummaryInput
SummarizeStagger(const StaggerReport &report, bool stagger_enabled, const TimeZone &tz, Instant now)
{
	return Uninterrupted(SummarizeStagger(report, stagger_enabled, tz, now, Interrupt{}));
}

} // namespace js::core

namespace js::core {

void
AddExclusiveGroups(const StaggerReport &report, const std::vector<GroupMembership> &members, SummaryInput *summary)
{
	std::map<std::int64_t, const GroupMembership *> by_job;
	for (const GroupMembership &m : members)
		by_job[m.jobid] = &m;
	std::map<std::pair<std::uint32_t, std::string>, std::size_t> group_index;
	std::vector<std::size_t> job_group(report.jobs.size(), SIZE_MAX);
	for (std::size_t i = 0; i < report.jobs.size() && i < summary->jobs.size(); i++) {
		auto m = by_job.find(report.jobs[i].jobid);
		if (m == by_job.end())
			continue;
		const GroupMembership &g = *m->second;
		auto [it, added] = group_index.emplace(std::make_pair(g.roleid, g.group), summary->groups.size());
		if (added)
			summary->groups.push_back(SummaryGroup{g.role, g.group, {}, {}});
		job_group[i] = it->second;
		summary->groups[it->second].members.push_back(
		    SummaryGroupMember{report.jobs[i].name, g.policy, summary->jobs[i].effective_schedule});
	}
	for (const CollisionPair &p : report.pairs) {
		std::size_t g = job_group[p.index_a];
		if (g != SIZE_MAX && g == job_group[p.index_b])
			summary->groups[g].same_second.push_back(SummaryCollision{report.jobs[p.index_a].name,
			                                                          report.jobs[p.index_b].name, p.second,
			                                                          p.first_collision, p.collisions_per_day});
	}
}

} // namespace js::core
