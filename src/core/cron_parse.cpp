/*
 * ParseSchedule: pg_cron-compatible cron text (5 fields), a 6-field form with
 * a leading seconds field, @ macros and "N seconds" intervals.
 *
 * Every failure is reported as a ParseResult with a lowercase message naming
 * the field and the reason; nothing is thrown and nothing is half-parsed.
 */
#include "core/cron.hpp"

#include "core/civil.hpp"

#include <array>
#include <cctype>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace js::core {
namespace {

/* Numbers are saturated here while reading digits: enough to be out of every range, far from overflow. */
constexpr int kSaturatedNumber = 1000000;
constexpr int kMinIntervalSeconds = 1;
constexpr int kMaxIntervalSeconds = 59;
constexpr std::uint8_t kAllWeekdays = 0x7F;
constexpr int kSundayAlias = 7; /* day-of-week 7 is Sunday, like 0 */

constexpr std::array<std::string_view, 12> kMonthNames = {"jan", "feb", "mar", "apr", "may", "jun",
                                                          "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<std::string_view, 7> kWeekdayNames = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

/* What a field accepts. Names (3 letters, any case) map to name_base + index. */
struct FieldSpec {
	const char *name;
	int min;
	int max;
	const std::string_view *names;
	int name_count;
	int name_base;
	bool allow_last_day;
};

constexpr FieldSpec kSecondSpec{"second", 0, 59, nullptr, 0, 0, false};
constexpr FieldSpec kMinuteSpec{"minute", 0, 59, nullptr, 0, 0, false};
constexpr FieldSpec kHourSpec{"hour", 0, 23, nullptr, 0, 0, false};
constexpr FieldSpec kDayOfMonthSpec{"day-of-month", 1, 31, nullptr, 0, 0, true};
constexpr FieldSpec kMonthSpec{"month", 1, 12, kMonthNames.data(), 12, 1, false};
constexpr FieldSpec kDayOfWeekSpec{"day-of-week", 0, 7, kWeekdayNames.data(), 7, 0, false};

/* A parsed field: bit v set when value v matches, plus `$` for day-of-month. */
struct FieldMask {
	std::uint64_t bits = 0;
	bool last_day = false;
};

bool
IsSpace(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

bool
IsDigit(char c)
{
	return c >= '0' && c <= '9';
}

char
ToLower(char c)
{
	return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool
EqualsIgnoreCase(std::string_view a, std::string_view b)
{
	if (a.size() != b.size())
		return false;
	for (std::size_t i = 0; i < a.size(); i++) {
		if (ToLower(a[i]) != ToLower(b[i]))
			return false;
	}
	return true;
}

std::string_view
Trim(std::string_view text)
{
	while (!text.empty() && IsSpace(text.front()))
		text.remove_prefix(1);
	while (!text.empty() && IsSpace(text.back()))
		text.remove_suffix(1);
	return text;
}

/* Splits on runs of whitespace; `text` is already trimmed. */
std::vector<std::string_view>
SplitWords(std::string_view text)
{
	std::vector<std::string_view> words;
	std::size_t i = 0;
	while (i < text.size()) {
		while (i < text.size() && IsSpace(text[i]))
			i++;
		std::size_t start = i;
		while (i < text.size() && !IsSpace(text[i]))
			i++;
		if (i > start)
			words.push_back(text.substr(start, i - start));
	}
	return words;
}

/* Reads a non-empty run of digits, saturating instead of overflowing. */
bool
ParseDigits(std::string_view text, int &value)
{
	if (text.empty())
		return false;
	long long acc = 0;
	for (char c : text) {
		if (!IsDigit(c))
			return false;
		acc = acc * 10 + (c - '0');
		if (acc > kSaturatedNumber)
			acc = kSaturatedNumber;
	}
	value = static_cast<int>(acc);
	return true;
}

std::string
Quoted(std::string_view text)
{
	return "\"" + std::string(text) + "\"";
}

std::string
InvalidValue(const FieldSpec &spec, std::string_view text)
{
	return "invalid " + std::string(spec.name) + " value " + Quoted(text);
}

std::string
RangeText(const FieldSpec &spec)
{
	return std::to_string(spec.min) + "-" + std::to_string(spec.max);
}

/*
 * One value: a number in the field's range or, for month and day-of-week, a
 * 3-letter name.
 */
bool
ParseValue(std::string_view text, const FieldSpec &spec, int &value, std::string &error)
{
	if (ParseDigits(text, value)) {
		if (value < spec.min || value > spec.max) {
			error = std::string(spec.name) + " value " + std::string(text) + " out of range " + RangeText(spec);
			return false;
		}
		return true;
	}
	for (int i = 0; i < spec.name_count; i++) {
		if (EqualsIgnoreCase(text, spec.names[i])) {
			value = spec.name_base + i;
			return true;
		}
	}
	error = InvalidValue(spec, text);
	return false;
}

/* The n of "/n": at least 1 and at most the span of the field. */
bool
ParseStep(std::string_view text, const FieldSpec &spec, int &step, std::string &error)
{
	const std::string name(spec.name);
	if (!ParseDigits(text, step)) {
		error = "invalid " + name + " step " + Quoted(text);
		return false;
	}
	if (step == 0) {
		error = name + " step must be at least 1";
		return false;
	}
	if (step > spec.max - spec.min) {
		error = name + " step " + std::string(text) + " out of range 1-" + std::to_string(spec.max - spec.min);
		return false;
	}
	return true;
}

/* The base of a list item: `*`, `a` or `a-b`. A single value with a step runs to the field maximum. */
bool
ParseBase(std::string_view base, const FieldSpec &spec, bool has_step, int &lo, int &hi, std::string &error)
{
	if (base == "*") {
		lo = spec.min;
		hi = spec.max;
		return true;
	}
	const std::size_t dash = base.find('-');
	if (dash == std::string_view::npos) {
		if (!ParseValue(base, spec, lo, error))
			return false;
		hi = has_step ? spec.max : lo;
		return true;
	}
	const std::string_view first = base.substr(0, dash);
	const std::string_view last = base.substr(dash + 1);
	if (first.empty() || last.empty()) {
		error = InvalidValue(spec, base);
		return false;
	}
	if (!ParseValue(first, spec, lo, error) || !ParseValue(last, spec, hi, error))
		return false;
	/* The name `sun` ending a weekday range means 7, so that `mon-sun` is not reversed (`1-0` still is). */
	if (spec.max == kSundayAlias && hi == 0 && lo > 0 && !IsDigit(last.front()))
		hi = kSundayAlias;
	if (lo > hi) {
		error = std::string(spec.name) + " range " + std::string(base) + " is reversed";
		return false;
	}
	return true;
}

/* One comma-separated item: base with optional step, or `$` in day-of-month. */
bool
ParseItem(std::string_view item, const FieldSpec &spec, FieldMask &mask, std::string &error)
{
	if (item == "$" && spec.allow_last_day) {
		mask.last_day = true;
		return true;
	}
	const std::size_t slash = item.find('/');
	const bool has_step = slash != std::string_view::npos;
	const std::string_view base = item.substr(0, slash);
	if (base.empty() || (has_step && base == "$")) {
		error = InvalidValue(spec, item);
		return false;
	}
	int lo = 0;
	int hi = 0;
	int step = 1;
	if (!ParseBase(base, spec, has_step, lo, hi, error))
		return false;
	if (has_step && !ParseStep(item.substr(slash + 1), spec, step, error))
		return false;
	for (int v = lo; v <= hi; v += step)
		mask.bits |= std::uint64_t{1} << v;
	return true;
}

/* A whole field: a comma-separated list of items, none of them empty. */
bool
ParseField(std::string_view text, const FieldSpec &spec, FieldMask &mask, std::string &error)
{
	std::size_t start = 0;
	while (true) {
		const std::size_t comma = text.find(',', start);
		const std::string_view item = text.substr(start, comma == std::string_view::npos ? text.npos : comma - start);
		if (!ParseItem(item, spec, mask, error))
			return false;
		if (comma == std::string_view::npos)
			return true;
		start = comma + 1;
	}
}

/*
 * Whether a valid cron schedule can ever fire. Time-of-day fields and months
 * are never empty, and every date that exists falls on every weekday within
 * the 400-year Gregorian cycle, so the only impossible schedules are those
 * that AND a day-of-month set with months that never have such a day.
 */
bool
ComputeCanFire(const CronSchedule &s)
{
	if (!s.dom_wildcard && !s.dow_wildcard)
		return true; /* OR: any weekday in the set occurs in every month */
	if (s.last_day_of_month)
		return true;
	for (int month = 1; month <= 12; month++) {
		if ((s.months >> month & 1U) == 0)
			continue;
		const int max_day = month == 2 ? 29 : DaysInMonth(1, month);
		const std::uint32_t existing = static_cast<std::uint32_t>((std::uint64_t{1} << (max_day + 1)) - 2);
		if ((s.days_of_month & existing) != 0)
			return true;
	}
	return false;
}

ParseResult
Failure(std::string error)
{
	ParseResult result;
	result.error = std::move(error);
	return result;
}

/* Parses 5 or 6 whitespace-separated fields into a kCron schedule. */
ParseResult
ParseFields(const std::vector<std::string_view> &words)
{
	if (words.size() != 5 && words.size() != 6)
		return Failure("expected 5 or 6 fields, found " + std::to_string(words.size()));
	const bool has_seconds = words.size() == 6;
	const std::size_t first = has_seconds ? 1 : 0;
	const std::array<const FieldSpec *, 5> specs = {&kMinuteSpec, &kHourSpec, &kDayOfMonthSpec, &kMonthSpec,
	                                                &kDayOfWeekSpec};
	std::array<FieldMask, 5> masks{};
	FieldMask seconds;
	std::string error;
	if (has_seconds && !ParseField(words[0], kSecondSpec, seconds, error))
		return Failure(error);
	for (std::size_t i = 0; i < specs.size(); i++) {
		if (!ParseField(words[first + i], *specs[i], masks[i], error))
			return Failure(error);
	}
	ParseResult result;
	result.ok = true;
	CronSchedule &s = result.schedule;
	s.kind = ScheduleKind::kCron;
	s.has_seconds_field = has_seconds;
	s.seconds = has_seconds ? seconds.bits : 1;
	s.minutes = masks[0].bits;
	s.hours = static_cast<std::uint32_t>(masks[1].bits);
	s.days_of_month = static_cast<std::uint32_t>(masks[2].bits);
	s.last_day_of_month = masks[2].last_day;
	s.months = static_cast<std::uint16_t>(masks[3].bits);
	s.days_of_week = static_cast<std::uint8_t>((masks[4].bits | masks[4].bits >> kSundayAlias) & kAllWeekdays);
	s.hour_wildcard = words[first + 1].front() == '*';
	s.dom_wildcard = words[first + 2].front() == '*';
	s.dow_wildcard = words[first + 4].front() == '*';
	for (std::size_t i = first; i < words.size(); i++) {
		if (!s.five_field_text.empty())
			s.five_field_text += ' ';
		s.five_field_text += words[i];
	}
	s.can_fire = ComputeCanFire(s);
	return result;
}

/* @yearly, @daily, ... (any case) expand to 5-field text; @reboot/@restart is its own kind. */
ParseResult
ParseMacro(const std::vector<std::string_view> &words)
{
	struct Macro {
		std::string_view name;
		std::string_view expansion;
	};
	constexpr std::array<Macro, 7> kMacros = {{{"@yearly", "0 0 1 1 *"},
	                                           {"@annually", "0 0 1 1 *"},
	                                           {"@monthly", "0 0 1 * *"},
	                                           {"@weekly", "0 0 * * 0"},
	                                           {"@daily", "0 0 * * *"},
	                                           {"@midnight", "0 0 * * *"},
	                                           {"@hourly", "0 * * * *"}}};
	const std::string_view name = words[0];
	const bool reboot = EqualsIgnoreCase(name, "@reboot") || EqualsIgnoreCase(name, "@restart");
	const Macro *macro = nullptr;
	for (const Macro &m : kMacros) {
		if (EqualsIgnoreCase(name, m.name))
			macro = &m;
	}
	if (!reboot && macro == nullptr)
		return Failure("unknown macro " + Quoted(name));
	if (words.size() > 1)
		return Failure("unexpected text " + Quoted(words[1]) + " after macro " + Quoted(name));
	if (macro != nullptr)
		return ParseFields(SplitWords(macro->expansion));
	ParseResult result;
	result.ok = true;
	result.schedule.kind = ScheduleKind::kReboot;
	return result;
}

/* Recognises "N seconds" / "N second" (any case, optional whitespace); false if the text has another shape. */
bool
MatchInterval(std::string_view text, std::string_view &digits)
{
	std::size_t i = 0;
	while (i < text.size() && IsDigit(text[i]))
		i++;
	if (i == 0)
		return false;
	digits = text.substr(0, i);
	const std::string_view unit = Trim(text.substr(i));
	return EqualsIgnoreCase(unit, "seconds") || EqualsIgnoreCase(unit, "second");
}

ParseResult
ParseInterval(std::string_view digits)
{
	while (digits.size() > 1 && digits.front() == '0')
		digits.remove_prefix(1);
	int n = 0;
	ParseDigits(digits, n);
	if (n < kMinIntervalSeconds || n > kMaxIntervalSeconds)
		return Failure("interval must be 1 to 59 seconds, got " + std::string(digits));
	ParseResult result;
	result.ok = true;
	result.schedule.kind = ScheduleKind::kInterval;
	result.schedule.interval_seconds = n;
	return result;
}

/*
 * Two words that are not "N seconds" but look like an interval ("-5 seconds",
 * "5 minutes"): say what is wrong with the interval instead of counting fields.
 */
std::optional<ParseResult>
IntervalShapedError(const std::vector<std::string_view> &words)
{
	if (words.size() != 2 || words[1].empty())
		return std::nullopt;
	for (char c : words[1])
		if (!std::isalpha(static_cast<unsigned char>(c)))
			return std::nullopt;
	if (EqualsIgnoreCase(words[1], "seconds") || EqualsIgnoreCase(words[1], "second"))
		return Failure("interval must be 1 to 59 seconds, got " + Quoted(words[0]));
	return Failure("unknown interval unit " + Quoted(words[1]) +
	               ": only \"N seconds\" intervals exist, use cron fields for longer periods");
}

} // namespace

ParseResult
ParseSchedule(std::string_view text)
{
	text = Trim(text);
	if (text.empty())
		return Failure("schedule is empty");
	std::string_view digits;
	if (MatchInterval(text, digits))
		return ParseInterval(digits);
	const std::vector<std::string_view> words = SplitWords(text);
	if (words[0].front() == '@')
		return ParseMacro(words);
	if (std::optional<ParseResult> error = IntervalShapedError(words))
		return *error;
	return ParseFields(words);
}

} // namespace js::core
