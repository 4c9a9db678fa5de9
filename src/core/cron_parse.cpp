/*
 * ParseSchedule: cron text exactly as pg_cron 1.4 reads it (5 fields), plus
 * our extensions: a 6-field form with a leading seconds field, `$` (last day
 * of the month) in the day-of-month field and "N seconds" intervals.
 *
 * pg_cron compatibility is exact on purpose, quirks included: every schedule
 * pg_cron accepts is accepted with the same fire times (test/t/014_pgcron_diff.pl
 * checks this against the real pg_cron). Its rules, learned by running it:
 *  - at most 999 characters; leading blank lines and `#` comment lines are
 *    skipped; fields are separated by spaces or tabs (not line breaks);
 *  - a field is a comma-separated list of `*`, `a` or `a-b`, each optionally
 *    with `/step` (`*` and ranges only, not `a/step`); numbers read like C's
 *    atoi (so 4294967296 is 0); names (jan, mon, ...) in any case, `sun` is 0;
 *  - what follows a complete list up to the next space or tab is ignored
 *    (`1.5` is minute 1, `*x` is `*`), and so is everything after the fifth
 *    field and after a macro's name;
 *  - a reversed range (`5-1`, `mon-sun`) selects nothing; a step larger than
 *    the field selects only the start (`*\/90` is minute 0);
 *  - macros are lower case.
 * Every failure is reported as a ParseResult with a lowercase message naming
 * the field and the reason; nothing is thrown and nothing is half-parsed.
 */
#include "core/cron.hpp"

#include "core/civil.hpp"

#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace js::core {
namespace {

/* pg_cron rejects schedules of 1000 bytes or more. */
constexpr std::size_t kMaxScheduleLength = 999;
/*
 * A 6-field schedule (ours) may be longer by what staggering puts before a
 * 5-field one ("59 "): every valid 5-field schedule must stay valid staggered.
 */
constexpr std::size_t kSecondsPrefixLength = 3;
constexpr int kMinIntervalSeconds = 1;
constexpr int kMaxIntervalSeconds = 59;
constexpr std::uint8_t kAllWeekdays = 0x7F;
constexpr int kSundayAlias = 7; /* day-of-week 7 is Sunday, like 0 */
constexpr std::int64_t kIntMax = std::numeric_limits<std::int32_t>::max();
constexpr int kFiveFields = 5;
constexpr int kSixFields = 6;

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

/* Any whitespace: used only for the "N seconds" form, which pg_cron 1.4 does not have. */
bool
IsSpace(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* pg_cron's field separators. */
bool
IsBlank(char c)
{
	return c == ' ' || c == '\t';
}

/* Where ignored text after a field's list stops: a separator or a line break. */
bool
IsFieldEnd(char c)
{
	return IsBlank(c) || c == '\n';
}

bool
IsDigit(char c)
{
	return c >= '0' && c <= '9';
}

bool
IsAlpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool
IsAlnum(char c)
{
	return IsDigit(c) || IsAlpha(c);
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

/* Splits on runs of spaces, tabs and line breaks (the characters that end a field). */
std::vector<std::string_view>
SplitWords(std::string_view text)
{
	std::vector<std::string_view> words;
	std::size_t i = 0;
	while (i < text.size()) {
		while (i < text.size() && IsFieldEnd(text[i]))
			i++;
		std::size_t start = i;
		while (i < text.size() && !IsFieldEnd(text[i]))
			i++;
		if (i > start)
			words.push_back(text.substr(start, i - start));
	}
	return words;
}

/*
 * Skips what pg_cron skips before a schedule: blank lines and `#` comment
 * lines, then spaces and tabs.
 */
std::string_view
SkipLeadingLines(std::string_view text)
{
	while (true) {
		while (!text.empty() && IsBlank(text.front()))
			text.remove_prefix(1);
		if (text.empty() || (text.front() != '\n' && text.front() != '#'))
			return text;
		const std::size_t newline = text.find('\n');
		text = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
	}
}

/*
 * The value C's atoi gives a run of digits on LP64: strtol (saturating at
 * LONG_MAX) truncated to 32 bits. pg_cron reads every number this way.
 */
std::int64_t
AtoiValue(std::string_view digits)
{
	constexpr std::uint64_t kLongMax = std::numeric_limits<std::int64_t>::max();
	constexpr std::uint64_t kLow32 = 0xFFFFFFFFULL;
	constexpr std::int64_t kTwoTo32 = std::int64_t{1} << 32;
	std::uint64_t acc = 0;
	for (char c : digits) {
		const std::uint64_t digit = static_cast<std::uint64_t>(c - '0');
		acc = acc > (kLongMax - digit) / 10 ? kLongMax : acc * 10 + digit;
	}
	const std::int64_t low = static_cast<std::int64_t>(acc & kLow32);
	return low > kIntMax ? low - kTwoTo32 : low;
}

std::string
Quoted(std::string_view text)
{
	return "\"" + std::string(text) + "\"";
}

std::string
RangeText(const FieldSpec &spec)
{
	return std::to_string(spec.min) + "-" + std::to_string(spec.max);
}

/* Reads one field's text left to right. `end` is where the field's characters stop. */
struct Cursor {
	std::string_view text;
	std::size_t pos = 0;

	bool
	AtEnd() const
	{
		return pos >= text.size();
	}
	char
	Peek() const
	{
		return AtEnd() ? '\0' : text[pos];
	}
	/* The rest of the current list item, for messages. */
	std::string_view
	ItemRest() const
	{
		std::size_t end = pos;
		while (end < text.size() && text[end] != ',' && !IsFieldEnd(text[end]))
			end++;
		return text.substr(pos, end - pos);
	}
	std::string_view
	AlnumRun()
	{
		const std::size_t start = pos;
		while (!AtEnd() && IsAlnum(text[pos]))
			pos++;
		return text.substr(start, pos - start);
	}
};

std::string
InvalidValue(const FieldSpec &spec, std::string_view text)
{
	return "invalid " + std::string(spec.name) + " value " + Quoted(text);
}

/* One value: a run of letters and digits that is a name of the field or a number (range not checked). */
bool
ReadValue(Cursor &c, const FieldSpec &spec, std::int64_t &value, std::string_view &text, std::string &error)
{
	const std::string_view rest = c.ItemRest();
	text = c.AlnumRun();
	if (text.empty()) {
		error = InvalidValue(spec, rest);
		return false;
	}
	for (int i = 0; i < spec.name_count; i++) {
		if (EqualsIgnoreCase(text, spec.names[i])) {
			value = spec.name_base + i;
			return true;
		}
	}
	for (char ch : text) {
		if (!IsDigit(ch)) {
			error = InvalidValue(spec, text);
			return false;
		}
	}
	value = AtoiValue(text);
	return true;
}

bool
CheckInRange(const FieldSpec &spec, std::int64_t value, std::string_view text, std::string &error)
{
	if (value >= spec.min && value <= spec.max)
		return true;
	error = std::string(spec.name) + " value " + std::string(text) + " out of range " + RangeText(spec);
	return false;
}

/* The n of "/n": digits only (no names), at least 1 once read like atoi. */
bool
ReadStep(Cursor &c, const FieldSpec &spec, std::int64_t &step, std::string &error)
{
	const std::string name(spec.name);
	const std::string_view rest = c.ItemRest();
	const std::string_view text = c.AlnumRun();
	bool digits = !text.empty();
	for (char ch : text)
		digits = digits && IsDigit(ch);
	if (!digits) {
		error = "invalid " + name + " step " + Quoted(text.empty() ? rest : text);
		return false;
	}
	step = AtoiValue(text);
	if (step == 0 && text.find_first_not_of('0') == std::string_view::npos) {
		error = name + " step must be at least 1";
		return false;
	}
	if (step <= 0) {
		error = name + " step " + std::string(text) + " out of range 1-" + std::to_string(kIntMax);
		return false;
	}
	return true;
}

/*
 * Sets lo, lo+step, ... up to hi. A reversed range sets nothing. pg_cron
 * counts in a C int, so a first step past INT_MAX fails there: so here.
 */
bool
SetRange(const FieldSpec &spec, std::int64_t lo, std::int64_t hi, std::int64_t step, FieldMask &mask,
         std::string &error)
{
	if (lo <= hi && lo + step > kIntMax) {
		error = std::string(spec.name) + " step " + std::to_string(step) + " too large for a range starting at " +
		        std::to_string(lo);
		return false;
	}
	for (std::int64_t v = lo; v <= hi; v += step)
		mask.bits |= std::uint64_t{1} << v;
	return true;
}

/* A value or a range `a-b`. A step after a single value is an error (`5/10`), as in pg_cron. */
bool
ParseValueOrRange(Cursor &c, const FieldSpec &spec, std::int64_t &lo, std::int64_t &hi, std::string &error)
{
	const std::string_view item = c.ItemRest();
	std::string_view lo_text;
	if (!ReadValue(c, spec, lo, lo_text, error))
		return false;
	if (c.Peek() == '/') {
		if (!CheckInRange(spec, lo, lo_text, error))
			return false;
		error = std::string(spec.name) + " step needs a range or *: write \"" + std::string(lo_text) + "-" +
		        std::to_string(spec.max) + std::string(c.ItemRest()) + "\" instead of " + Quoted(item);
		return false;
	}
	if (c.Peek() != '-') {
		hi = lo;
		return CheckInRange(spec, lo, lo_text, error);
	}
	c.pos++;
	std::string_view hi_text;
	if (!ReadValue(c, spec, hi, hi_text, error)) {
		if (hi_text.empty() && c.ItemRest().empty())
			error = InvalidValue(spec, item); /* "5-": say which item */
		return false;
	}
	return CheckInRange(spec, lo, lo_text, error) && CheckInRange(spec, hi, hi_text, error);
}

/* One list item: `*`, `a` or `a-b`, with an optional step; or `$` in day-of-month (our extension). */
bool
ParseItem(Cursor &c, const FieldSpec &spec, FieldMask &mask, std::string &error)
{
	if (c.Peek() == '$' && spec.allow_last_day) {
		c.pos++;
		if (!c.AtEnd() && c.Peek() != ',' && !IsFieldEnd(c.Peek())) {
			error = InvalidValue(spec, "$" + std::string(c.ItemRest()));
			return false;
		}
		mask.last_day = true;
		return true;
	}
	std::int64_t lo = spec.min;
	std::int64_t hi = spec.max;
	std::int64_t step = 1;
	const bool star = c.Peek() == '*';
	if (star)
		c.pos++;
	else if (!ParseValueOrRange(c, spec, lo, hi, error))
		return false;
	if (c.Peek() == '/') {
		c.pos++;
		if (!ReadStep(c, spec, step, error))
			return false;
	}
	return SetRange(spec, lo, hi, step, mask, error);
}

/*
 * A whole field from c.pos: a comma-separated list, then anything up to the
 * next space, tab or line break (ignored, as pg_cron ignores it).
 */
bool
ParseField(Cursor &c, const FieldSpec &spec, FieldMask &mask, std::string &error, std::string_view &ignored)
{
	while (true) {
		if (!ParseItem(c, spec, mask, error))
			return false;
		if (c.Peek() != ',' || c.AtEnd())
			break;
		c.pos++;
	}
	const std::size_t list_end = c.pos;
	while (!c.AtEnd() && !IsFieldEnd(c.Peek()))
		c.pos++;
	ignored = c.text.substr(list_end, c.pos - list_end);
	return true;
}

std::string
IgnoredAfter(std::string_view text, const std::string &what)
{
	return Quoted(text) + " after " + what;
}

/*
 * Whether a valid cron schedule can ever fire. Every date that exists falls
 * on every weekday within the 400-year Gregorian cycle, so a schedule fires
 * unless a set is empty (a reversed range selects nothing) or the
 * day-of-month set meets only days the chosen months do not have.
 */
bool
ComputeCanFire(const CronSchedule &s)
{
	if (s.seconds == 0 || s.minutes == 0 || s.hours == 0 || s.months == 0)
		return false;
	bool dom_possible = s.last_day_of_month;
	for (int month = 1; month <= 12 && !dom_possible; month++) {
		if ((s.months >> month & 1U) == 0)
			continue;
		const int max_day = month == 2 ? 29 : DaysInMonth(1, month);
		const std::uint32_t existing = static_cast<std::uint32_t>((std::uint64_t{1} << (max_day + 1)) - 2);
		dom_possible = (s.days_of_month & existing) != 0;
	}
	const bool dow_possible = s.days_of_week != 0;
	if (!s.dom_wildcard && !s.dow_wildcard)
		return dom_possible || dow_possible;
	return dom_possible && dow_possible;
}

/* Whether the day-of-month set (or `$`) meets a day that some chosen month has. */
bool
DayOfMonthPossible(const CronSchedule &s)
{
	CronSchedule dom_only = s;
	dom_only.dom_wildcard = true;
	dom_only.days_of_week = kAllWeekdays;
	return ComputeCanFire(dom_only);
}

std::string
EmptyFieldReason(const char *field, const char *example)
{
	return std::string("The ") + field + " field selects no value: a reversed range such as " + example +
	       " selects nothing.";
}

ParseResult
Failure(std::string error)
{
	ParseResult result;
	result.error = std::move(error);
	return result;
}

/* The field specs in the order of the text. */
std::vector<const FieldSpec *>
Specs(bool has_seconds)
{
	std::vector<const FieldSpec *> specs = {&kMinuteSpec, &kHourSpec, &kDayOfMonthSpec, &kMonthSpec, &kDayOfWeekSpec};
	if (has_seconds)
		specs.insert(specs.begin(), &kSecondSpec);
	return specs;
}

/* Fills the schedule from the parsed masks and the fields' texts. */
ParseResult
BuildSchedule(bool has_seconds, const std::vector<FieldMask> &masks, const std::vector<std::string_view> &texts)
{
	const std::size_t first = has_seconds ? 1 : 0;
	ParseResult result;
	result.ok = true;
	CronSchedule &s = result.schedule;
	s.kind = ScheduleKind::kCron;
	s.has_seconds_field = has_seconds;
	s.seconds = has_seconds ? masks[0].bits : 1;
	s.minutes = masks[first].bits;
	s.hours = static_cast<std::uint32_t>(masks[first + 1].bits);
	s.days_of_month = static_cast<std::uint32_t>(masks[first + 2].bits);
	s.last_day_of_month = masks[first + 2].last_day;
	s.months = static_cast<std::uint16_t>(masks[first + 3].bits);
	const std::uint64_t dow = masks[first + 4].bits;
	s.days_of_week = static_cast<std::uint8_t>((dow | dow >> kSundayAlias) & kAllWeekdays);
	s.hour_wildcard = texts[first + 1].front() == '*';
	s.dom_wildcard = texts[first + 2].front() == '*';
	s.dow_wildcard = texts[first + 4].front() == '*';
	for (std::size_t i = first; i < texts.size(); i++) {
		if (!s.five_field_text.empty())
			s.five_field_text += ' ';
		s.five_field_text += texts[i];
	}
	s.can_fire = ComputeCanFire(s);
	return result;
}

/*
 * Parses 5 or 6 fields from the start of `text`, field by field as pg_cron
 * does. Between fields only spaces and tabs are skipped (the 6-field form,
 * ours, also takes line breaks); after the last field the rest is ignored.
 */
ParseResult
ParseFields(std::string_view text, bool has_seconds)
{
	const std::vector<const FieldSpec *> specs = Specs(has_seconds);
	std::vector<FieldMask> masks(specs.size());
	std::vector<std::string_view> texts(specs.size());
	Cursor c{text, 0};
	std::string error;
	std::vector<std::string> ignored;
	for (std::size_t i = 0; i < specs.size(); i++) {
		while (!c.AtEnd() && (IsBlank(c.Peek()) || (has_seconds && c.Peek() == '\n')))
			c.pos++;
		if (c.Peek() == '\n')
			return Failure(std::string(specs[i]->name) +
			               " field starts on a new line: separate the fields with spaces or tabs");
		const std::size_t start = c.pos;
		std::string_view skipped;
		if (!ParseField(c, *specs[i], masks[i], error, skipped))
			return Failure(error);
		texts[i] = text.substr(start, c.pos - start);
		if (!skipped.empty())
			ignored.push_back(IgnoredAfter(skipped, std::string("the ") + specs[i]->name + " field"));
	}
	ParseResult result = BuildSchedule(has_seconds, masks, texts);
	result.ignored = std::move(ignored);
	return result;
}

/*
 * @yearly, @daily, ... expand to 5-field text; @reboot/@restart is its own
 * kind. As in pg_cron, the name ends at a space, tab or line break, is lower
 * case, and whatever follows it is ignored.
 */
ParseResult
ParseMacro(std::string_view text)
{
	struct Macro {
		std::string_view name;
		std::string_view expansion;
	};
	constexpr std::array<Macro, 9> kMacros = {{{"@yearly", "0 0 1 1 *"},
	                                           {"@annually", "0 0 1 1 *"},
	                                           {"@monthly", "0 0 1 * *"},
	                                           {"@weekly", "0 0 * * 0"},
	                                           {"@daily", "0 0 * * *"},
	                                           {"@midnight", "0 0 * * *"},
	                                           {"@hourly", "0 * * * *"},
	                                           {"@reboot", ""},
	                                           {"@restart", ""}}};
	std::size_t end = 0;
	while (end < text.size() && !IsFieldEnd(text[end]))
		end++;
	const std::string_view name = text.substr(0, end);
	const std::string_view rest = Trim(text.substr(end));
	for (const Macro &m : kMacros) {
		if (name != m.name)
			continue;
		ParseResult result;
		if (!m.expansion.empty()) {
			result = ParseFields(m.expansion, false);
		} else {
			result.ok = true;
			result.schedule.kind = ScheduleKind::kReboot;
		}
		if (!rest.empty())
			result.ignored.push_back(IgnoredAfter(rest, std::string(m.name)));
		return result;
	}
	for (const Macro &m : kMacros) {
		if (EqualsIgnoreCase(name, m.name))
			return Failure("unknown macro " + Quoted(name) + ": macros are lower case (" + std::string(m.name) + ")");
	}
	return Failure("unknown macro " + Quoted(name));
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
	constexpr std::size_t kMaxDigits = 2;
	const int n = digits.size() > kMaxDigits ? 0 : static_cast<int>(AtoiValue(digits));
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
		if (!IsAlpha(c))
			return std::nullopt;
	if (EqualsIgnoreCase(words[1], "seconds") || EqualsIgnoreCase(words[1], "second"))
		return Failure("interval must be 1 to 59 seconds, got " + Quoted(words[0]));
	return Failure("unknown interval unit " + Quoted(words[1]) +
	               ": only \"N seconds\" intervals exist, use cron fields for longer periods");
}

} // namespace

std::string
NeverFiresReason(const CronSchedule &s)
{
	if (s.kind != ScheduleKind::kCron || s.can_fire)
		return "";
	const std::array<std::pair<std::uint64_t, const char *>, 4> times = {
	    {{s.seconds, "second"}, {s.minutes, "minute"}, {s.hours, "hour"}, {s.months, "month"}}};
	for (const auto &[mask, field] : times) {
		if (mask == 0)
			return EmptyFieldReason(field, "5-1");
	}
	if (s.days_of_week == 0 && (s.dom_wildcard || s.dow_wildcard || !DayOfMonthPossible(s)))
		return EmptyFieldReason("day-of-week", "mon-sun (sun is 0)");
	if (s.days_of_month == 0 && !s.last_day_of_month)
		return EmptyFieldReason("day-of-month", "31-1");
	return "No month in the schedule has the day of the month it names.";
}

ParseResult
ParseSchedule(std::string_view text)
{
	const bool six_words = SplitWords(SkipLeadingLines(text)).size() == kSixFields;
	const std::size_t limit = kMaxScheduleLength + (six_words ? kSecondsPrefixLength : 0);
	if (text.size() > limit)
		return Failure("schedule is longer than " + std::to_string(limit) + " characters");
	text = SkipLeadingLines(text);
	if (Trim(text).empty())
		return Failure("schedule is empty");
	std::string_view digits;
	if (MatchInterval(Trim(text), digits))
		return ParseInterval(digits);
	if (text.front() == '@')
		return ParseMacro(text);
	const std::vector<std::string_view> words = SplitWords(text);
	if (std::optional<ParseResult> error = IntervalShapedError(words))
		return *error;
	if (words.size() < kFiveFields || words.size() > kSixFields)
		return Failure("expected 5 or 6 fields, found " + std::to_string(words.size()));
	return ParseFields(text, words.size() == kSixFields);
}

} // namespace js::core
