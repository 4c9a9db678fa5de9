#include "core/report.hpp"

#include "core/stagger.hpp"

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

StaggerReport
ParseStaggerJobs(const std::vector<StaggerJobInput> &inputs)
{
	StaggerReport report;
	for (const StaggerJobInput &in : inputs) {
		ParseResult parsed = ParseSchedule(in.schedule_text);
		if (!parsed.ok) {
			report.invalid.push_back(in.name + ": " + parsed.error);
			continue;
		}
		report.jobs.push_back(CollisionJob{in.jobid, in.name, parsed.schedule, in.offset});
		report.schedule_texts.push_back(in.schedule_text);
		report.last_nominals.push_back(in.last_nominal);
	}
	return report;
}

StaggerReport
AnalyzeStagger(const std::vector<StaggerJobInput> &inputs, bool stagger_enabled, const TimeZone &tz, Instant now)
{
	StaggerReport report = ParseStaggerJobs(inputs);
	report.pairs = FindCollisions(report.jobs, stagger_enabled, tz, now);
	return report;
}

SummaryInput
SummarizeStagger(const StaggerReport &report, bool stagger_enabled, const TimeZone &tz, Instant now)
{
	SummaryInput s;
	s.stagger_enabled = stagger_enabled;
	s.timezone = tz.Name();
	for (std::size_t i = 0; i < report.jobs.size(); i++) {
		const CollisionJob &job = report.jobs[i];
		s.jobs.push_back(SummaryJobLine{
		    job.name, report.schedule_texts[i],
		    EffectiveScheduleText(job.schedule, report.schedule_texts[i], job.offset, stagger_enabled), job.offset,
		    NextEffectiveFire(job.schedule, job.offset, stagger_enabled, tz, now, report.last_nominals[i])});
	}
	s.distribution = SecondDistribution(report.jobs, stagger_enabled, tz, now);
	for (const CollisionPair &p : report.pairs)
		s.collisions.push_back(SummaryCollision{report.jobs[p.index_a].name, report.jobs[p.index_b].name, p.second,
		                                        p.first_collision, p.collisions_per_day});
	return s;
}

} // namespace js::core
