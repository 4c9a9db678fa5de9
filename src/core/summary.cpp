/*
 * FormatSummary: plain text for a DBA, built with std::string only (no
 * streams, so no locale can change a digit).
 */
#include "core/summary.hpp"

#include "core/civil.hpp"

#include <algorithm>
#include <cstdio>

namespace js::core {
namespace {

constexpr const char *kIndent = "  ";
constexpr const char *kColumnGap = "  ";

/* Display width of UTF-8 text: code points, not bytes (continuation bytes 10xxxxxx do not count). */
std::size_t
Width(const std::string &text)
{
	return static_cast<std::size_t>(
	    std::count_if(text.begin(), text.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

std::string
PadRight(const std::string &text, std::size_t width)
{
	return text + std::string(width - std::min(width, Width(text)), ' ');
}

std::string
PadLeft(const std::string &text, std::size_t width)
{
	return std::string(width - std::min(width, Width(text)), ' ') + text;
}

/* "1 job", "2 jobs". */
std::string
Count(std::int64_t n, const char *singular, const char *plural)
{
	return std::to_string(n) + " " + (n == 1 ? singular : plural);
}

std::string
NextFireText(const std::optional<Instant> &next)
{
	return next ? FormatUtcInstant(*next) : "none";
}

/* "  ... and 3 more pairs (SELECT * FROM stagger_collisions() lists all)" when a list was cut. */
void
AppendMore(std::size_t total, std::size_t shown, const char *what, const char *where, std::string &out)
{
	if (total > shown)
		out += std::string(kIndent) + "... and " + std::to_string(total - shown) + " more " + what + " (" + where +
		       " lists all)\n";
}

/* The job table: a header and one row per job, each column padded to its longest value. */
void
AppendJobTable(const std::vector<SummaryJobLine> &all_jobs, std::size_t max_lines, const std::string &default_zone,
               std::string &out)
{
	std::vector<SummaryJobLine> jobs(
	    all_jobs.begin(), all_jobs.begin() + static_cast<std::ptrdiff_t>(std::min(max_lines, all_jobs.size())));
	/* jobs of their own zone: the schedule column names the zone of every job */
	const bool zoned =
	    std::any_of(all_jobs.begin(), all_jobs.end(), [](const SummaryJobLine &job) { return !job.timezone.empty(); });
	if (zoned)
		for (SummaryJobLine &job : jobs)
			job.schedule += " (" + (job.timezone.empty() ? default_zone : job.timezone) + ")";
	const std::string headers[] = {"job", "schedule", "effective", "offset", "next fire (UTC)"};
	std::size_t widths[] = {Width(headers[0]), Width(headers[1]), Width(headers[2]), Width(headers[3])};
	for (const SummaryJobLine &job : jobs) {
		widths[0] = std::max(widths[0], Width(job.name));
		widths[1] = std::max(widths[1], Width(job.schedule));
		widths[2] = std::max(widths[2], Width(job.effective_schedule));
		widths[3] = std::max(widths[3], Width(std::to_string(job.offset)));
	}
	const auto row = [&](const std::string &name, const std::string &schedule, const std::string &effective,
	                     const std::string &offset, const std::string &next) {
		out += kIndent + PadRight(name, widths[0]) + kColumnGap + PadRight(schedule, widths[1]) + kColumnGap +
		       PadRight(effective, widths[2]) + kColumnGap + PadLeft(offset, widths[3]) + kColumnGap + next + "\n";
	};
	row(headers[0], headers[1], headers[2], headers[3], headers[4]);
	for (const SummaryJobLine &job : jobs)
		row(job.name, job.schedule, job.effective_schedule, std::to_string(job.offset), NextFireText(job.next_fire));
	AppendMore(all_jobs.size(), jobs.size(), "jobs", "SELECT stagger_summary()", out);
}

/* "distribution over the minute: :05 1 job, :20 2 jobs" (seconds without fires left out). */
void
AppendDistribution(const std::array<int, 60> &distribution, std::string &out)
{
	std::string list;
	for (std::size_t s = 0; s < distribution.size(); s++) {
		if (distribution[s] <= 0)
			continue;
		char second[8];
		std::snprintf(second, sizeof second, ":%02d", static_cast<int>(s));
		list += (list.empty() ? "" : ", ") + std::string(second) + " " + Count(distribution[s], "job", "jobs");
	}
	out += "distribution over the minute: " + (list.empty() ? std::string("none") : list) + "\n";
}

void
AppendCollisions(const std::vector<SummaryCollision> &collisions, std::size_t max_lines, std::string &out)
{
	if (collisions.empty()) {
		out += "collisions: collision-free\n";
		return;
	}
	out += "collisions: " + Count(static_cast<std::int64_t>(collisions.size()), "pair", "pairs") + "\n";
	const std::size_t shown = std::min(max_lines, collisions.size());
	for (std::size_t i = 0; i < shown; i++) {
		const SummaryCollision &c = collisions[i];
		out += std::string(kIndent) + c.name_a + " <-> " + c.name_b + " at second " + std::to_string(c.second) + ", " +
		       std::to_string(c.per_day) + " per day, first " + FormatUtcInstant(c.first_collision) + "\n";
	}
	AppendMore(collisions.size(), shown, "pairs", "SELECT * FROM stagger_collisions()", out);
}

/* "exclusive groups: N", a line per group with its members, a warning per pair of members firing together. */
void
AppendGroups(const std::vector<SummaryGroup> &groups, std::string &out)
{
	if (groups.empty())
		return;
	out +=
	    "exclusive groups: " + std::to_string(groups.size()) + " (runs of one group never execute at the same time)\n";
	for (const SummaryGroup &g : groups) {
		std::string members;
		for (const SummaryGroupMember &m : g.members)
			members += (members.empty() ? "" : ", ") + m.name + " [" + m.policy + "] at " + m.effective_schedule;
		out += std::string(kIndent) + g.name + " (role " + g.role + "): " + members + "\n";
		for (const SummaryCollision &c : g.same_second)
			out += std::string(kIndent) + "warning: " + c.name_a + " and " + c.name_b + " of group " + g.name +
			       " fire at the same second (second " + std::to_string(c.second) + ", " + std::to_string(c.per_day) +
			       " per day, first " + FormatUtcInstant(c.first_collision) +
			       "): each time one of them skips or waits for the other\n";
	}
}

} // namespace

std::string
FormatUtcInstant(Instant t)
{
	const CivilTime c = CivilFromLocalSeconds(t);
	char text[40];
	std::snprintf(text, sizeof text, "%04lld-%02d-%02d %02d:%02d:%02d", static_cast<long long>(c.year), c.month, c.day,
	              c.hour, c.minute, c.second);
	return text;
}

std::string
FormatSummary(const SummaryInput &input)
{
	std::string out = "job_stagger: ";
	if (input.stagger_enabled)
		out += "staggering enabled (time zone " + input.timezone + ")\n";
	else
		out += "staggering disabled (every 5-field job fires at second 0; time zone " + input.timezone + ")\n";
	if (input.auto_rollback_note)
		out += "note: " + *input.auto_rollback_note + "\n";
	out += Count(static_cast<std::int64_t>(input.jobs.size()), "active job", "active jobs") + "\n";
	if (!input.jobs.empty())
		AppendJobTable(input.jobs, input.max_job_lines, input.timezone, out);
	AppendDistribution(input.distribution, out);
	AppendCollisions(input.collisions, input.max_collision_lines, out);
	AppendGroups(input.groups, out);
	return out;
}

} // namespace js::core
