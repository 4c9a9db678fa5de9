/*
 * Describe: an English sentence for a parsed schedule, built from the bit
 * masks (not the text), so every schedule that parses gets a description.
 *
 * Shape: <time of day> [<days>] [<months>], e.g. "at 02:30 on Monday through
 * Friday in January". The time part names the smallest unit first and
 * chains larger ones with "of" ("at second 15 of every 5th minute"); a few
 * exact clock times are listed as HH:MM.
 */
#include "core/cron.hpp"

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace js::core {
namespace {

constexpr std::array<const char *, 13> kMonthNames = {"",        "January",  "February", "March",  "April",
                                                      "May",     "June",     "July",     "August", "September",
                                                      "October", "November", "December"};
constexpr std::array<const char *, 8> kWeekdayNames = {"Sunday",   "Monday", "Tuesday",  "Wednesday",
                                                       "Thursday", "Friday", "Saturday", "Sunday"};
/* At most this many exact clock times are listed ("at 09:00 and 17:00"). */
constexpr std::size_t kMaxClockTimes = 6;
/* Consecutive values from this many on are written as a range ("1 through 5"). */
constexpr std::size_t kMinRunLength = 3;
constexpr std::uint8_t kAllWeekdays = 0x7F;
constexpr std::uint32_t kAllDaysOfMonth = 0xFFFFFFFE;

std::vector<int>
Values(std::uint64_t mask, int min, int max)
{
	std::vector<int> values;
	for (int v = min; v <= max; v++) {
		if ((mask >> v & 1U) != 0)
			values.push_back(v);
	}
	return values;
}

std::string
Ordinal(int n)
{
	const int tens = n % 100;
	const int ones = n % 10;
	const char *suffix = "th";
	if (tens < 11 || tens > 13)
		suffix = ones == 1 ? "st" : ones == 2 ? "nd" : ones == 3 ? "rd" : "th";
	return std::to_string(n) + suffix;
}

/* "a", "a and b", "a, b and c" (or "or" instead of "and"). */
std::string
JoinList(const std::vector<std::string> &items, const char *conjunction = "and")
{
	std::string out;
	for (std::size_t i = 0; i < items.size(); i++) {
		if (i > 0)
			out += (i + 1 == items.size()) ? std::string(" ") + conjunction + " " : ", ";
		out += items[i];
	}
	return out;
}

/* Sorted values as list items, runs of kMinRunLength or more as "a through b". */
template <typename Format>
std::vector<std::string>
RunItems(const std::vector<int> &values, Format format)
{
	std::vector<std::string> items;
	std::size_t i = 0;
	while (i < values.size()) {
		std::size_t j = i;
		while (j + 1 < values.size() && values[j + 1] == values[j] + 1)
			j++;
		if (j - i + 1 >= kMinRunLength) {
			items.push_back(format(values[i]) + " through " + format(values[j]));
		} else {
			for (std::size_t k = i; k <= j; k++)
				items.push_back(format(values[k]));
		}
		i = j + 1;
	}
	return items;
}

/* The common step of an arithmetic progression of 3+ values with step >= 2, or 0. */
int
ProgressionStep(const std::vector<int> &values)
{
	if (values.size() < kMinRunLength || values[1] - values[0] < 2)
		return 0;
	const int step = values[1] - values[0];
	for (std::size_t i = 2; i < values.size(); i++) {
		if (values[i] - values[i - 1] != step)
			return 0;
	}
	return step;
}

bool
IsEveryPhrase(const std::string &phrase)
{
	return phrase.rfind("every", 0) == 0;
}

/*
 * One field as a noun phrase: "every minute", "every 5th minute", "every
 * 10th minute from minute 5 through 45", "minute 5", "minutes 1 through 5
 * and 30". `extra` is one more list item (the last day of the month).
 */
std::string
UnitPhrase(std::uint64_t mask, int min, int max, const std::string &unit, const std::string &extra = "")
{
	const std::vector<int> values = Values(mask, min, max);
	const std::string with_extra = extra.empty() ? "" : " and " + extra;
	if (values.size() == static_cast<std::size_t>(max - min + 1))
		return "every " + unit + with_extra;
	if (const int step = ProgressionStep(values); step != 0) {
		std::string phrase = "every " + Ordinal(step) + " " + unit;
		if (values.front() != min || values.back() + step <= max)
			phrase +=
			    " from " + unit + " " + std::to_string(values.front()) + " through " + std::to_string(values.back());
		return phrase + with_extra;
	}
	std::vector<std::string> items = RunItems(values, [](int v) { return std::to_string(v); });
	const bool plural = values.size() > 1 || items.size() > 1;
	if (!extra.empty())
		items.push_back(extra);
	return unit + (plural ? "s " : " ") + JoinList(items);
}

std::string
TwoDigits(int v)
{
	return (v < 10 ? "0" : "") + std::to_string(v);
}

/* "at 03:00", "at 09:00 and 17:30:15": when seconds is one value and hours x minutes is a few exact times. */
bool
ClockTimes(const CronSchedule &s, std::string &out)
{
	const std::vector<int> seconds = Values(s.seconds, 0, 59);
	const std::vector<int> minutes = Values(s.minutes, 0, 59);
	const std::vector<int> hours = Values(s.hours, 0, 23);
	if (seconds.size() != 1 || minutes.size() * hours.size() > kMaxClockTimes)
		return false;
	std::vector<std::string> times;
	for (int h : hours) {
		for (int m : minutes) {
			std::string time = TwoDigits(h) + ":" + TwoDigits(m);
			if (seconds[0] != 0)
				time += ":" + TwoDigits(seconds[0]);
			times.push_back(time);
		}
	}
	out = "at " + JoinList(times);
	return true;
}

/*
 * The time of day, smallest unit first: seconds (unless just second 0),
 * then minutes and hours. A full larger unit is said ("of every hour")
 * only after a specific smaller one, where leaving it out would mislead.
 */
std::string
TimePhrase(const CronSchedule &s)
{
	std::string clock;
	if (ClockTimes(s, clock))
		return clock;
	std::vector<std::string> chain;
	if (s.seconds != 1)
		chain.push_back(UnitPhrase(s.seconds, 0, 59, "second"));
	const bool all_minutes = Values(s.minutes, 0, 59).size() == 60;
	if (!all_minutes || chain.empty() || !IsEveryPhrase(chain.back()))
		chain.push_back(UnitPhrase(s.minutes, 0, 59, "minute"));
	const bool all_hours = Values(s.hours, 0, 23).size() == 24;
	if (!all_hours || !IsEveryPhrase(chain.back()))
		chain.push_back(UnitPhrase(s.hours, 0, 23, "hour"));
	std::string out = IsEveryPhrase(chain.front()) ? "" : "at ";
	for (std::size_t i = 0; i < chain.size(); i++)
		out += (i > 0 ? " of " : "") + chain[i];
	return out;
}

/* Weekday names, with Sunday last when the set wraps the weekend (so "Friday through Sunday"). */
std::vector<std::string>
WeekdayItems(std::uint8_t days)
{
	const bool sunday_last = (days & 1U) != 0 && (days >> 6 & 1U) != 0;
	const std::uint64_t mask = sunday_last ? (days & ~1U) | 1U << 7 : days;
	return RunItems(Values(mask, 0, 7), [](int v) { return std::string(kWeekdayNames[v]); });
}

std::string
DayOfMonthPhrase(const CronSchedule &s)
{
	if (s.days_of_month == 0)
		return s.last_day_of_month ? "on the last day of the month" : "on no day of the month";
	return "on " + UnitPhrase(s.days_of_month, 1, 31, "day", s.last_day_of_month ? "the last day" : "") +
	       " of the month";
}

/* Day-of-month and day-of-week: "either" when both are restricted, "both" otherwise. */
std::string
DayPhrase(const CronSchedule &s)
{
	const bool all_dom = (s.days_of_month & kAllDaysOfMonth) == kAllDaysOfMonth;
	const bool all_dow = s.days_of_week == kAllWeekdays;
	if (!s.dom_wildcard && !s.dow_wildcard) {
		if (all_dom || all_dow)
			return "";
		if (s.days_of_week == 0) /* a reversed weekday range selects nothing: only the day of the month counts */
			return DayOfMonthPhrase(s);
		if (s.days_of_month == 0 && !s.last_day_of_month)
			return "on " + JoinList(WeekdayItems(s.days_of_week));
		return DayOfMonthPhrase(s) + " or on " + JoinList(WeekdayItems(s.days_of_week));
	}
	if (all_dom && all_dow)
		return "";
	if (s.days_of_week == 0)
		return "on no day of the week";
	if (all_dom)
		return "on " + JoinList(WeekdayItems(s.days_of_week));
	if (all_dow)
		return DayOfMonthPhrase(s);
	return DayOfMonthPhrase(s) + " if it is " + JoinList(WeekdayItems(s.days_of_week), "or");
}

std::string
MonthPhrase(const CronSchedule &s)
{
	const std::vector<int> months = Values(s.months, 1, 12);
	if (months.size() == 12)
		return "";
	return "in " + JoinList(RunItems(months, [](int v) { return std::string(kMonthNames[v]); }));
}

/* The first time or month field whose set is empty (a reversed range such as 5-1), or nullptr. */
const char *
EmptyUnit(const CronSchedule &s)
{
	if (s.seconds == 0)
		return "second";
	if (s.minutes == 0)
		return "minute";
	if (s.hours == 0)
		return "hour";
	if (s.months == 0)
		return "month";
	return nullptr;
}

} // namespace

std::string
Describe(const CronSchedule &schedule)
{
	switch (schedule.kind) {
	case ScheduleKind::kReboot:
		return "once when the scheduler starts";
	case ScheduleKind::kInterval:
		if (schedule.interval_seconds == 1)
			return "every second";
		return "every " + std::to_string(schedule.interval_seconds) + " seconds";
	case ScheduleKind::kCron:
		break;
	}
	if (const char *unit = EmptyUnit(schedule))
		return std::string("never: the ") + unit + " field selects nothing";
	std::string out = TimePhrase(schedule);
	for (const std::string &part : {DayPhrase(schedule), MonthPhrase(schedule)}) {
		if (!part.empty())
			out += " " + part;
	}
	if (!schedule.can_fire)
		out += " (never fires)";
	return out;
}

} // namespace js::core
