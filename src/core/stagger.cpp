#include "core/stagger.hpp"

#include <algorithm>
#include <cctype>
#include <set>

namespace js::core {

int
AppliedOffset(const CronSchedule &schedule, int offset, bool enabled)
{
	if (!enabled || schedule.kind != ScheduleKind::kCron || schedule.has_seconds_field || !IsValidOffset(offset))
		return 0;
	return offset;
}

std::string
EffectiveScheduleText(const CronSchedule &schedule, const std::string &original, int offset, bool enabled)
{
	int shift = AppliedOffset(schedule, offset, enabled);
	if (shift == 0)
		return original;
	return std::to_string(shift) + " " + schedule.five_field_text;
}

namespace {

std::string_view
Trim(std::string_view s)
{
	while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
		s.remove_prefix(1);
	while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
		s.remove_suffix(1);
	return s;
}

/* Parses one "name=offset" entry; returns an error message or "" on success. */
std::string
ParseOverrideEntry(std::string_view entry, std::string *name, int *offset)
{
	std::size_t eq = entry.find('=');
	if (eq == std::string_view::npos)
		return "entry \"" + std::string(entry) + "\" is not job_name=offset";
	*name = std::string(Trim(entry.substr(0, eq)));
	std::string_view value = Trim(entry.substr(eq + 1));
	if (name->empty())
		return "entry \"" + std::string(entry) + "\" has no job name";
	bool digits = !value.empty() && value.size() <= 9 &&
	              std::all_of(value.begin() + (value[0] == '-' ? 1 : 0), value.end(),
	                          [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }) &&
	              value != "-";
	if (!digits)
		return "offset of job \"" + *name + "\" is not a number: \"" + std::string(value) + "\"";
	long long parsed = std::stoll(std::string(value));
	if (!IsValidOffset(parsed))
		return "offset of job \"" + *name + "\" out of range 0-59: " + std::string(value);
	*offset = static_cast<int>(parsed);
	return "";
}

} // namespace

OffsetOverrides
ParseOffsetOverrides(std::string_view text)
{
	OffsetOverrides out;
	std::set<std::string> seen;
	while (!Trim(text).empty()) {
		std::size_t comma = text.find(',');
		std::string_view entry = Trim(text.substr(0, comma));
		text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
		if (entry.empty()) {
			out.errors.push_back("empty entry (two commas in a row)");
			continue;
		}
		std::string name;
		int offset = 0;
		std::string error = ParseOverrideEntry(entry, &name, &offset);
		if (error.empty() && !seen.insert(name).second)
			error = "job \"" + name + "\" is given more than once; only its first offset is used";
		if (!error.empty())
			out.errors.push_back(error);
		else
			out.offsets[name] = offset;
	}
	return out;
}

std::vector<std::string>
UnknownOverrideJobs(const std::map<std::string, int> &overrides, const std::vector<std::string> &job_names)
{
	std::set<std::string> known(job_names.begin(), job_names.end());
	std::vector<std::string> unknown;
	for (const auto &[name, offset] : overrides)
		if (known.count(name) == 0)
			unknown.push_back(name);
	return unknown;
}

} // namespace js::core
