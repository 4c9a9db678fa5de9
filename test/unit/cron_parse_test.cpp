/*
 * ParseSchedule: field syntax, masks, flags, macros, intervals, can_fire and
 * every error message (exact strings).
 */
#include "core/cron.hpp"
#include "core/stagger.hpp"

#include "cron_test_support.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <string>

namespace js::core::test {
namespace {

std::uint64_t
Bits(std::initializer_list<int> values)
{
	std::uint64_t mask = 0;
	for (int v : values)
		mask |= std::uint64_t{1} << v;
	return mask;
}

std::uint64_t
BitRange(int lo, int hi, int step = 1)
{
	std::uint64_t mask = 0;
	for (int v = lo; v <= hi; v += step)
		mask |= std::uint64_t{1} << v;
	return mask;
}

const std::uint64_t kSec0 = Bits({0});
const std::uint64_t kAllSeconds = BitRange(0, 59);
const std::uint64_t kAllMinutes = BitRange(0, 59);
const std::uint64_t kAllHours = BitRange(0, 23);
const std::uint64_t kAllDays = BitRange(1, 31);
const std::uint64_t kAllMonths = BitRange(1, 12);
const std::uint64_t kAllWeekdays = BitRange(0, 6);

/* Expected masks of a valid 5- or 6-field schedule. */
struct MaskCase {
	const char *text;
	std::uint64_t seconds;
	std::uint64_t minutes;
	std::uint64_t hours;
	std::uint64_t days_of_month;
	std::uint64_t months;
	std::uint64_t days_of_week;
	bool last_day = false;
};

void
PrintTo(const MaskCase &c, std::ostream *os)
{
	*os << '"' << c.text << '"';
}

class MaskTest : public ::testing::TestWithParam<MaskCase> {};

TEST_P(MaskTest, ParsesToMasks)
{
	const MaskCase &c = GetParam();
	const ParseResult r = ParseSchedule(c.text);
	ASSERT_TRUE(r.ok) << r.error;
	const CronSchedule &s = r.schedule;
	EXPECT_EQ(s.kind, ScheduleKind::kCron);
	EXPECT_EQ(s.seconds, c.seconds);
	EXPECT_EQ(s.minutes, c.minutes);
	EXPECT_EQ(s.hours, c.hours);
	EXPECT_EQ(s.days_of_month, c.days_of_month);
	EXPECT_EQ(s.months, c.months);
	EXPECT_EQ(s.days_of_week, c.days_of_week);
	EXPECT_EQ(s.last_day_of_month, c.last_day);
	EXPECT_TRUE(r.error.empty());
}

INSTANTIATE_TEST_SUITE_P(
    Fields, MaskTest,
    ::testing::Values(
        MaskCase{"* * * * *", kSec0, kAllMinutes, kAllHours, kAllDays, kAllMonths, kAllWeekdays},
        /* lower and upper bounds of every field */
        MaskCase{"0 0 1 1 0", kSec0, Bits({0}), Bits({0}), Bits({1}), Bits({1}), Bits({0})},
        MaskCase{"59 23 31 12 6", kSec0, Bits({59}), Bits({23}), Bits({31}), Bits({12}), Bits({6})},
        MaskCase{"0-59 0-23 1-31 1-12 0-7", kSec0, kAllMinutes, kAllHours, kAllDays, kAllMonths, kAllWeekdays},
        /* 7 is Sunday, alone and in ranges */
        MaskCase{"0 0 * * 7", kSec0, Bits({0}), Bits({0}), kAllDays, kAllMonths, Bits({0})},
        MaskCase{"0 0 * * 5-7", kSec0, Bits({0}), Bits({0}), kAllDays, kAllMonths, Bits({0, 5, 6})},
        MaskCase{"0 0 * * 0,7", kSec0, Bits({0}), Bits({0}), kAllDays, kAllMonths, Bits({0})},
        /* lists mixing values, ranges and steps */
        MaskCase{"1,2,3 4,6 1,15 6,12 1,3", kSec0, Bits({1, 2, 3}), Bits({4, 6}), Bits({1, 15}), Bits({6, 12}),
                 Bits({1, 3})},
        MaskCase{"1,5-7,*/20 * * * *", kSec0, Bits({0, 1, 5, 6, 7, 20, 40}), kAllHours, kAllDays, kAllMonths,
                 kAllWeekdays},
        MaskCase{"3,3,1-3 * * * *", kSec0, Bits({1, 2, 3}), kAllHours, kAllDays, kAllMonths, kAllWeekdays},
        /* steps: */
        MaskCase{"*/15 */5 */10 */3 */2", kSec0, Bits({0, 15, 30, 45}), Bits({0, 5, 10, 15, 20}), Bits({1, 11, 21, 31}),
                 Bits({1, 4, 7, 10}), Bits({0, 2, 4, 6})},
        MaskCase{"10-30/10 1-23/11 2-9/3 2-12/5 1-5/2", kSec0, Bits({10, 20, 30}), Bits({1, 12, 23}), Bits({2, 5, 8}),
                 Bits({2, 7, 12}), Bits({1, 3, 5})},
        /* steps as large as the field or larger select the start only (pg_cron) */
        MaskCase{"0 0 1 */12 *", kSec0, Bits({0}), Bits({0}), Bits({1}), Bits({1}), kAllWeekdays},
        MaskCase{"0 0 */31 * *", kSec0, Bits({0}), Bits({0}), Bits({1}), kAllMonths, kAllWeekdays},
        MaskCase{"0 0 1-31/31 * *", kSec0, Bits({0}), Bits({0}), Bits({1}), kAllMonths, kAllWeekdays},
        MaskCase{"0 0 1 1-12/12 *", kSec0, Bits({0}), Bits({0}), Bits({1}), Bits({1}), kAllWeekdays},
        MaskCase{"*/90 */24 */32 * */8", kSec0, Bits({0}), Bits({0}), Bits({1}), kAllMonths, Bits({0})},
        MaskCase{"*/60 * * * * *", Bits({0}), kAllMinutes, kAllHours, kAllDays, kAllMonths, kAllWeekdays},
        MaskCase{"1-5/10 2-3/2147483645 * * *", kSec0, Bits({1}), Bits({2}), kAllDays, kAllMonths, kAllWeekdays},
        MaskCase{"*/2147483647 * * * *", kSec0, Bits({0}), kAllHours, kAllDays, kAllMonths, kAllWeekdays},
        /* numbers read like C's atoi (pg_cron): 2^32 + n is n */
        MaskCase{"4294967296 4294967297 * * *", kSec0, Bits({0}), Bits({1}), kAllDays, kAllMonths, kAllWeekdays},
        MaskCase{"*/4294967306 1-4294967319 * * *", kSec0, BitRange(0, 59, 10), BitRange(1, 23), kAllDays, kAllMonths,
                 kAllWeekdays},
        /* reversed ranges select nothing (pg_cron); `sun` is 0, so `mon-sun` is reversed too */
        MaskCase{"5-1 23-0 31-1 dec-jan fri-mon", kSec0, 0, 0, 0, 0, 0},
        MaskCase{"0 0 1 * mon-sun", kSec0, Bits({0}), Bits({0}), Bits({1}), kAllMonths, 0},
        MaskCase{"30-10/5,7 * * * 1-0,3", kSec0, Bits({7}), kAllHours, kAllDays, kAllMonths, Bits({3})},
        /* text after a complete list is ignored up to the next space or tab (pg_cron) */
        MaskCase{"1.5 2;3 4_5 6:7 1-0.5", kSec0, Bits({1}), Bits({2}), Bits({4}), Bits({6}), 0},
        MaskCase{"*x ** *-5 */5/2 1-2-3", kSec0, kAllMinutes, kAllHours, kAllDays, Bits({1, 6, 11}), Bits({1, 2})},
        MaskCase{"1,5.9,7 * * * *\rfoo", kSec0, Bits({1, 5}), kAllHours, kAllDays, kAllMonths, kAllWeekdays},
        MaskCase{"*/59 */23 */30 */11 */7", kSec0, Bits({0, 59}), Bits({0, 23}), Bits({1, 31}), Bits({1, 12}),
                 Bits({0})},
        MaskCase{"*/1 * * * *", kSec0, kAllMinutes, kAllHours, kAllDays, kAllMonths, kAllWeekdays},
        /* names, any case, alone, in lists and ranges */
        MaskCase{"0 0 * JAN,Feb,mAr,apr,may,jun mon", kSec0, Bits({0}), Bits({0}), kAllDays, BitRange(1, 6), Bits({1})},
        MaskCase{"0 0 * jul,aug,sep,oct,nov,DEC sun,TUE,wed,thu,fri,sat", kSec0, Bits({0}), Bits({0}), kAllDays,
                 BitRange(7, 12), Bits({0, 2, 3, 4, 5, 6})},
        MaskCase{"0 0 * jan-mar mon-fri", kSec0, Bits({0}), Bits({0}), kAllDays, Bits({1, 2, 3}), BitRange(1, 5)},
        MaskCase{"0 0 * * fri-7", kSec0, Bits({0}), Bits({0}), kAllDays, kAllMonths, Bits({0, 5, 6})},
        MaskCase{"0 0 * * sun-sat", kSec0, Bits({0}), Bits({0}), kAllDays, kAllMonths, kAllWeekdays},
        MaskCase{"0 0 * * mon-7", kSec0, Bits({0}), Bits({0}), kAllDays, kAllMonths, kAllWeekdays},
        MaskCase{"0 0 * * sun-sun", kSec0, Bits({0}), Bits({0}), kAllDays, kAllMonths, Bits({0})},
        MaskCase{"0 0 * * sun-mon", kSec0, Bits({0}), Bits({0}), kAllDays, kAllMonths, Bits({0, 1})},
        MaskCase{"0 0 * * sat-SUN", kSec0, Bits({0}), Bits({0}), kAllDays, kAllMonths, 0},
        MaskCase{"0 0 * jan-dec/3 mon-7/2", kSec0, Bits({0}), Bits({0}), kAllDays, Bits({1, 4, 7, 10}),
                 Bits({1, 3, 5, 0})},
        MaskCase{"0 0 * 1-jun 1-fri", kSec0, Bits({0}), Bits({0}), kAllDays, BitRange(1, 6), BitRange(1, 5)},
        /* `$` (last day of the month), alone and in a list */
        MaskCase{"0 0 $ * *", kSec0, Bits({0}), Bits({0}), 0, kAllMonths, kAllWeekdays, true},
        MaskCase{"0 0 1,$ * *", kSec0, Bits({0}), Bits({0}), Bits({1}), kAllMonths, kAllWeekdays, true},
        MaskCase{"0 0 $,15 * *", kSec0, Bits({0}), Bits({0}), Bits({15}), kAllMonths, kAllWeekdays, true},
        /* whitespace: leading blank lines, `#` comment lines and blanks skipped; runs of spaces/tabs separate */
        MaskCase{"\n  */30\t* \t * *   *\r\n", kSec0, Bits({0, 30}), kAllHours, kAllDays, kAllMonths, kAllWeekdays},
        MaskCase{"# nightly\n \t# still a comment\n\n 5 4 * * *", kSec0, Bits({5}), Bits({4}), kAllDays, kAllMonths,
                 kAllWeekdays},
        /* 6-field form (ours): line breaks separate fields too */
        MaskCase{"1\n2 3 4 5 6\n", Bits({1}), Bits({2}), Bits({3}), Bits({4}), Bits({5}), Bits({6})},
        /* 6-field form: leading seconds */
        MaskCase{"* * * * * *", kAllSeconds, kAllMinutes, kAllHours, kAllDays, kAllMonths, kAllWeekdays},
        MaskCase{"15 */5 * * * *", Bits({15}), BitRange(0, 55, 5), kAllHours, kAllDays, kAllMonths, kAllWeekdays},
        MaskCase{"0-59/20,7 0 0 1 1 *", Bits({0, 7, 20, 40}), Bits({0}), Bits({0}), Bits({1}), Bits({1}), kAllWeekdays},
        MaskCase{"59 59 23 31 12 7", Bits({59}), Bits({59}), Bits({23}), Bits({31}), Bits({12}), Bits({0})},
        /* leading zeros are plain numbers */
        MaskCase{"05 007 01 01 00", kSec0, Bits({5}), Bits({7}), Bits({1}), Bits({1}), Bits({0})}));

/* Wildcard flags follow vixie cron: the field text starts with '*'. */
TEST(ParseFlags, WildcardFlagsFollowLeadingStar)
{
	CronSchedule s = MustParse("* * * * *");
	EXPECT_TRUE(s.hour_wildcard && s.dom_wildcard && s.dow_wildcard);
	s = MustParse("0 */2 */3 * */2");
	EXPECT_TRUE(s.hour_wildcard && s.dom_wildcard && s.dow_wildcard);
	s = MustParse("0 0-23 1-31 * 0-7");
	EXPECT_FALSE(s.hour_wildcard || s.dom_wildcard || s.dow_wildcard);
	s = MustParse("0 1 1 * 1");
	EXPECT_FALSE(s.hour_wildcard || s.dom_wildcard || s.dow_wildcard);
	s = MustParse("1 1,* $ * *,1");
	EXPECT_FALSE(s.hour_wildcard || s.dom_wildcard);
	EXPECT_TRUE(s.dow_wildcard);
	s = MustParse("0 1 2 3 4 5");
	EXPECT_TRUE(s.has_seconds_field);
	EXPECT_FALSE(s.hour_wildcard || s.dom_wildcard || s.dow_wildcard);
	s = MustParse("0 0 * 2 3 *");
	EXPECT_TRUE(s.hour_wildcard && s.dow_wildcard);
	EXPECT_FALSE(s.dom_wildcard);
}

TEST(ParseFields, FiveFieldTextAndSecondsFlag)
{
	CronSchedule s = MustParse("  */5\t*  * *\t* \n");
	EXPECT_FALSE(s.has_seconds_field);
	EXPECT_EQ(s.seconds, 1U);
	EXPECT_EQ(s.five_field_text, "*/5 * * * *");
	s = MustParse("15   */5 * * * MON-fri");
	EXPECT_TRUE(s.has_seconds_field);
	EXPECT_EQ(s.five_field_text, "*/5 * * * MON-fri");
	EXPECT_EQ(MustParse("0 0 1,$ jan *").five_field_text, "0 0 1,$ jan *");
	/* the fields as written up to the next blank (ignored text included), nothing after the fifth */
	EXPECT_EQ(MustParse("1.5 */2.x * * *\n").five_field_text, "1.5 */2.x * * *");
	EXPECT_EQ(MustParse("# c\n@daily trailing words").five_field_text, "0 0 * * *");
	EXPECT_EQ(MustParse("10 seconds").five_field_text, "");
	EXPECT_EQ(MustParse("@reboot").five_field_text, "");
}

/* What is read past for pg_cron compatibility is reported, so the caller can warn (never silent). */
TEST(ParseFields, IgnoredTextIsReported)
{
	using Strings = std::vector<std::string>;
	EXPECT_EQ(ParseSchedule("*/5 * * * *").ignored, Strings{});
	EXPECT_EQ(ParseSchedule("1.5 * * * *").ignored, Strings{"\".5\" after the minute field"});
	EXPECT_EQ(ParseSchedule("*x 0 * * 1-5!").ignored,
	          (Strings{"\"x\" after the minute field", "\"!\" after the day-of-week field"}));
	EXPECT_EQ(ParseSchedule("7 1.5 * * * *").ignored, Strings{"\".5\" after the minute field"});
	EXPECT_FALSE(ParseSchedule("7x * * * * *").ok); /* our 6-field form ignores nothing */
	EXPECT_EQ(ParseSchedule("@daily at noon").ignored, Strings{"\"at noon\" after @daily"});
	EXPECT_EQ(ParseSchedule("@reboot now").ignored, Strings{"\"now\" after @reboot"});
	EXPECT_EQ(ParseSchedule("@hourly").ignored, Strings{});
	EXPECT_EQ(ParseSchedule("1.5 * * *").ignored, Strings{}); /* an error: nothing to report */
}

struct MacroCase {
	const char *text;
	const char *expansion;
};

class MacroTest : public ::testing::TestWithParam<MacroCase> {};

/* A macro parses exactly like its expansion (masks, flags, can_fire) and keeps the expansion as text. */
TEST_P(MacroTest, ExpandsToFiveFields)
{
	const MacroCase &c = GetParam();
	const CronSchedule macro = MustParse(c.text);
	const CronSchedule plain = MustParse(c.expansion);
	EXPECT_EQ(macro.kind, ScheduleKind::kCron);
	EXPECT_FALSE(macro.has_seconds_field);
	EXPECT_EQ(macro.five_field_text, c.expansion);
	EXPECT_EQ(macro.seconds, plain.seconds);
	EXPECT_EQ(macro.minutes, plain.minutes);
	EXPECT_EQ(macro.hours, plain.hours);
	EXPECT_EQ(macro.days_of_month, plain.days_of_month);
	EXPECT_EQ(macro.months, plain.months);
	EXPECT_EQ(macro.days_of_week, plain.days_of_week);
	EXPECT_EQ(macro.hour_wildcard, plain.hour_wildcard);
	EXPECT_EQ(macro.dom_wildcard, plain.dom_wildcard);
	EXPECT_EQ(macro.dow_wildcard, plain.dow_wildcard);
	EXPECT_TRUE(macro.can_fire);
}

INSTANTIATE_TEST_SUITE_P(Macros, MacroTest,
                         ::testing::Values(MacroCase{"@yearly", "0 0 1 1 *"}, MacroCase{"@annually", "0 0 1 1 *"},
                                           MacroCase{"@monthly", "0 0 1 * *"}, MacroCase{"@weekly", "0 0 * * 0"},
                                           MacroCase{"@daily", "0 0 * * *"}, MacroCase{"@midnight", "0 0 * * *"},
                                           MacroCase{"@hourly", "0 * * * *"}, MacroCase{"  @daily\n", "0 0 * * *"},
                                           /* as in pg_cron, text after the macro is ignored */
                                           MacroCase{"@hourly 5 * * * *", "0 * * * *"},
                                           MacroCase{"\t@weekly\tx", "0 0 * * 0"}));

TEST(ParseMacros, RebootAndRestart)
{
	for (const char *text : {"@reboot", "@restart", " @restart\n", "@reboot now"}) {
		const ParseResult r = ParseSchedule(text);
		ASSERT_TRUE(r.ok) << text;
		EXPECT_EQ(r.schedule.kind, ScheduleKind::kReboot) << text;
	}
}

struct IntervalCase {
	const char *text;
	int seconds;
};

class IntervalTest : public ::testing::TestWithParam<IntervalCase> {};

TEST_P(IntervalTest, ParsesSeconds)
{
	const ParseResult r = ParseSchedule(GetParam().text);
	ASSERT_TRUE(r.ok) << r.error;
	EXPECT_EQ(r.schedule.kind, ScheduleKind::kInterval);
	EXPECT_EQ(r.schedule.interval_seconds, GetParam().seconds);
}

INSTANTIATE_TEST_SUITE_P(Intervals, IntervalTest,
                         ::testing::Values(IntervalCase{"10 seconds", 10}, IntervalCase{"1 second", 1},
                                           IntervalCase{"1 seconds", 1}, IntervalCase{"59 seconds", 59},
                                           IntervalCase{"30 SECONDS", 30}, IntervalCase{"5 Second", 5},
                                           IntervalCase{"10seconds", 10}, IntervalCase{"7 \t  seconds", 7},
                                           IntervalCase{"  45 seconds\n", 45}, IntervalCase{"007 seconds", 7}));

struct ErrorCase {
	const char *text;
	const char *error;
};

void
PrintTo(const ErrorCase &c, std::ostream *os)
{
	*os << '"' << c.text << '"';
}

class ErrorTest : public ::testing::TestWithParam<ErrorCase> {};

/* Errors: ok=false, the exact message, and nothing half-parsed in the schedule. */
TEST_P(ErrorTest, ReportsExactMessage)
{
	const ParseResult r = ParseSchedule(GetParam().text);
	EXPECT_FALSE(r.ok);
	EXPECT_EQ(r.error, GetParam().error);
	const CronSchedule empty;
	EXPECT_EQ(r.schedule.kind, empty.kind);
	EXPECT_EQ(r.schedule.minutes, 0U);
	EXPECT_EQ(r.schedule.hours, 0U);
	EXPECT_EQ(r.schedule.days_of_week, 0U);
	EXPECT_EQ(r.schedule.interval_seconds, 0);
	EXPECT_TRUE(r.schedule.five_field_text.empty());
}

INSTANTIATE_TEST_SUITE_P(
    Errors, ErrorTest,
    ::testing::Values(
        ErrorCase{"", "schedule is empty"}, ErrorCase{"  \t\n ", "schedule is empty"},
        ErrorCase{"*", "expected 5 or 6 fields, found 1"}, ErrorCase{"* * *", "expected 5 or 6 fields, found 3"},
        ErrorCase{"* * * *", "expected 5 or 6 fields, found 4"},
        ErrorCase{"* * * * * * *", "expected 5 or 6 fields, found 7"},
        ErrorCase{"5 * *", "expected 5 or 6 fields, found 3"},
        /* out of range, every field, both ends */
        ErrorCase{"60 * * * * *", "second value 60 out of range 0-59"},
        ErrorCase{"61 * * * *", "minute value 61 out of range 0-59"},
        ErrorCase{"60 * * * *", "minute value 60 out of range 0-59"},
        ErrorCase{"* 24 * * *", "hour value 24 out of range 0-23"},
        ErrorCase{"* * 0 * *", "day-of-month value 0 out of range 1-31"},
        ErrorCase{"* * 32 * *", "day-of-month value 32 out of range 1-31"},
        ErrorCase{"* * * 0 *", "month value 0 out of range 1-12"},
        ErrorCase{"* * * 13 *", "month value 13 out of range 1-12"},
        ErrorCase{"* * * * 8", "day-of-week value 8 out of range 0-7"},
        ErrorCase{"* * 1-32 * *", "day-of-month value 32 out of range 1-31"},
        ErrorCase{"70/5 * * * *", "minute value 70 out of range 0-59"},
        ErrorCase{"99999999999999999999 * * * *", "minute value 99999999999999999999 out of range 0-59"},
        ErrorCase{"* 1-99999999999999999999 * * *", "hour value 99999999999999999999 out of range 0-23"},
        /* steps */
        ErrorCase{"*/0 * * * *", "minute step must be at least 1"},
        ErrorCase{"0-59/0 * * * * *", "second step must be at least 1"},
        ErrorCase{"*/99999999999999999999 * * * *", "minute step 99999999999999999999 out of range 1-2147483647"},
        ErrorCase{"*/4294967296 * * * *", "minute step 4294967296 out of range 1-2147483647"},
        ErrorCase{"*/000 * * * *", "minute step must be at least 1"},
        ErrorCase{"* * */2147483647 * *", "day-of-month step 2147483647 too large for a range starting at 1"},
        ErrorCase{"59-59/2147483647 * * * *", "minute step 2147483647 too large for a range starting at 59"},
        ErrorCase{"*/jan * * * *", "invalid minute step \"jan\""},
        ErrorCase{"*/5x * * * *", "invalid minute step \"5x\""},
        /* a step needs a range or `*` (pg_cron) */
        ErrorCase{"5/10 * * * *", "minute step needs a range or *: write \"5-59/10\" instead of \"5/10\""},
        ErrorCase{"* * * jan/2 *", "month step needs a range or *: write \"jan-12/2\" instead of \"jan/2\""},
        ErrorCase{"1,5/10 * * * *", "minute step needs a range or *: write \"5-59/10\" instead of \"5/10\""},
        ErrorCase{"*/x * * * *", "invalid minute step \"x\""}, ErrorCase{"*/ * * * *", "invalid minute step \"\""},
        ErrorCase{"1/2/3 * * * *", "minute step needs a range or *: write \"1-59/2/3\" instead of \"1/2/3\""},
        ErrorCase{"*/-1 * * * *", "invalid minute step \"-1\""},
        /* garbage */
        ErrorCase{"1x * * * *", "invalid minute value \"1x\""},
        ErrorCase{"1-5x * * * *", "invalid minute value \"5x\""},
        ErrorCase{"* * * * funday", "invalid day-of-week value \"funday\""},
        ErrorCase{"* * * * monday", "invalid day-of-week value \"monday\""},
        ErrorCase{"* * * january *", "invalid month value \"january\""},
        ErrorCase{"1,,2 * * * *", "invalid minute value \"\""}, ErrorCase{"1, * * * *", "invalid minute value \"\""},
        ErrorCase{",1 * * * *", "invalid minute value \"\""}, ErrorCase{"* $ * * *", "invalid hour value \"$\""},
        ErrorCase{"$ * * * * *", "invalid second value \"$\""}, ErrorCase{"* * * $ *", "invalid month value \"$\""},
        ErrorCase{"* jan * * *", "invalid hour value \"jan\""},
        ErrorCase{"* * * * jan", "invalid day-of-week value \"jan\""},
        ErrorCase{"* * * mon *", "invalid month value \"mon\""},
        ErrorCase{"* * sun * *", "invalid day-of-month value \"sun\""},
        ErrorCase{"-5 * * * *", "invalid minute value \"-5\""}, ErrorCase{"5- * * * *", "invalid minute value \"5-\""},
        ErrorCase{"1-* * * * *", "invalid minute value \"*\""},
        ErrorCase{"1,.5 * * * *", "invalid minute value \".5\""},
        ErrorCase{"/5 * * * *", "invalid minute value \"/5\""}, ErrorCase{"+5 * * * *", "invalid minute value \"+5\""},
        ErrorCase{"\r* * * * *", "invalid minute value \"\r*\""},
        /* fields are separated by spaces or tabs, not line breaks (pg_cron) */
        ErrorCase{"* * * *\n*", "day-of-week field starts on a new line: separate the fields with spaces or tabs"},
        ErrorCase{"0\n0 * * *", "hour field starts on a new line: separate the fields with spaces or tabs"},
        ErrorCase{"* * $/2 * *", "invalid day-of-month value \"$/2\""},
        ErrorCase{"* * 1-$ * *", "invalid day-of-month value \"$\""},
        ErrorCase{"* * * * mo", "invalid day-of-week value \"mo\""},
        /* macros and intervals */
        ErrorCase{"@often", "unknown macro \"@often\""}, ErrorCase{"@", "unknown macro \"@\""},
        ErrorCase{"@DAILY", "unknown macro \"@DAILY\": macros are lower case (@daily)"},
        ErrorCase{"@Reboot", "unknown macro \"@Reboot\": macros are lower case (@reboot)"},
        ErrorCase{"@daily,", "unknown macro \"@daily,\""}, ErrorCase{"@daily\r", "unknown macro \"@daily\r\""},
        ErrorCase{"# only a comment", "schedule is empty"}, ErrorCase{"#\n\n  \t", "schedule is empty"},
        ErrorCase{"0 seconds", "interval must be 1 to 59 seconds, got 0"},
        ErrorCase{"60 seconds", "interval must be 1 to 59 seconds, got 60"},
        ErrorCase{"000 second", "interval must be 1 to 59 seconds, got 0"},
        ErrorCase{"99999999999999999999 seconds", "interval must be 1 to 59 seconds, got 99999999999999999999"},
        ErrorCase{"-5 seconds", "interval must be 1 to 59 seconds, got \"-5\""},
        ErrorCase{"five seconds", "interval must be 1 to 59 seconds, got \"five\""},
        ErrorCase{"5 minutes",
                  "unknown interval unit \"minutes\": only \"N seconds\" intervals exist, use cron fields for longer "
                  "periods"}));

struct CanFireCase {
	const char *text;
	bool can_fire;
};

class CanFireTest : public ::testing::TestWithParam<CanFireCase> {};

TEST_P(CanFireTest, StaticCheck)
{
	EXPECT_EQ(MustParse(GetParam().text).can_fire, GetParam().can_fire) << GetParam().text;
}

INSTANTIATE_TEST_SUITE_P(
    CanFire, CanFireTest,
    ::testing::Values(
        CanFireCase{"0 0 30 2 *", false}, CanFireCase{"0 0 31 2 *", false}, CanFireCase{"0 0 30,31 feb *", false},
        CanFireCase{"0 0 31 4,6,9,11 *", false}, CanFireCase{"0 0 31 apr,feb,jun *", false},
        CanFireCase{"0 0 30-31 2 */2", false}, CanFireCase{"15 0 0 30 2 *", false},
        /* a reversed range selects nothing */
        CanFireCase{"5-1 * * * *", false}, CanFireCase{"* 5-1 * * *", false}, CanFireCase{"* * * 5-1 *", false},
        CanFireCase{"5-1 * * * * *", false}, CanFireCase{"* * * * mon-sun", false}, CanFireCase{"* * 31-1 * *", false},
        CanFireCase{"* * 31-1 * mon-sun", false}, CanFireCase{"0 0 1 * mon-sun", true}, /* OR: day 1 still matches */
        CanFireCase{"0 0 31-1 * mon", true},
        /* possible after all */
        CanFireCase{"0 0 29 2 *", true}, CanFireCase{"0 0 31 * *", true}, CanFireCase{"0 0 31 2-4 *", true},
        CanFireCase{"0 0 $ 2 *", true}, CanFireCase{"0 0 30,$ 2 *", true}, CanFireCase{"0 0 */30 2 *", true},
        CanFireCase{"0 0 30 2 1", true},                                      /* dom OR dow: every Monday in February */
        CanFireCase{"0 0 29 2 1", true}, CanFireCase{"0 0 */28 2 */7", true}, /* Feb 29 on a Sunday */
        CanFireCase{"* * * * *", true}, CanFireCase{"@yearly", true}));

struct ReasonCase {
	const char *text;
	const char *reason;
};

class NeverFiresReasonTest : public ::testing::TestWithParam<ReasonCase> {};

TEST_P(NeverFiresReasonTest, SaysWhy)
{
	EXPECT_EQ(NeverFiresReason(MustParse(GetParam().text)), GetParam().reason);
}

INSTANTIATE_TEST_SUITE_P(
    Reasons, NeverFiresReasonTest,
    ::testing::Values(
        ReasonCase{"* * * * *", ""}, ReasonCase{"@reboot", ""}, ReasonCase{"0 0 1 * mon-sun", ""},
        ReasonCase{"5-1 * * * *", "The minute field selects no value: a reversed range such as 5-1 selects nothing."},
        ReasonCase{"5-1 * * * * *", "The second field selects no value: a reversed range such as 5-1 selects nothing."},
        ReasonCase{"* 5-1 * * *", "The hour field selects no value: a reversed range such as 5-1 selects nothing."},
        ReasonCase{"* * * dec-jan *",
                   "The month field selects no value: a reversed range such as 5-1 selects nothing."},
        ReasonCase{
            "0 0 * * mon-sun",
            "The day-of-week field selects no value: a reversed range such as mon-sun (sun is 0) selects nothing."},
        ReasonCase{
            "0 0 31 2 mon-sun",
            "The day-of-week field selects no value: a reversed range such as mon-sun (sun is 0) selects nothing."},
        ReasonCase{"0 0 31-1 * *",
                   "The day-of-month field selects no value: a reversed range such as 31-1 selects nothing."},
        ReasonCase{"0 0 30 2 *", "No month in the schedule has the day of the month it names."}));

TEST(ParseRobustness, NeverCrashesOnOddInput)
{
	/* Not a crash, not a hang; ok or a message. */
	for (const char *text :
	     {"\x01", "@", "$", "/", "-", ",", "* * * * * * * * * * * * * *", "*/", "1-", "@@", "seconds", " seconds",
	      "1 2 3 4 5 6 7 8", "\xff\xfe * * * *", "999999999999999999999999999"}) {
		const ParseResult r = ParseSchedule(text);
		EXPECT_EQ(r.ok, r.error.empty()) << text;
		EXPECT_FALSE(r.ok) << text;
	}
	EXPECT_EQ(ParseSchedule(std::string(5000, ',') + " * * * *").error, "schedule is longer than 999 characters");
	std::string many_items = "0";
	for (int i = 1; i < 300; i++)
		many_items += "," + std::to_string(i % 60);
	EXPECT_EQ(MustParse(many_items + " * * * *").minutes, kAllMinutes);
}

/* pg_cron rejects 1000 bytes or more; so do we, whatever the form. */
TEST(ParseRobustness, LengthLimit)
{
	EXPECT_TRUE(ParseSchedule("* * * * *" + std::string(990, ' ')).ok);
	EXPECT_EQ(ParseSchedule("* * * * *" + std::string(991, ' ')).error, "schedule is longer than 999 characters");
	EXPECT_TRUE(ParseSchedule(std::string(985, '0') + "1 * * * *").ok);
	EXPECT_EQ(ParseSchedule("@daily" + std::string(994, ' ')).error, "schedule is longer than 999 characters");
	/* a 6-field schedule may be 3 longer: a 5-field one of 999 staggered ("59 " before it) stays valid */
	const std::string five = std::string(990, '0') + "1 * * * *";
	ASSERT_TRUE(ParseSchedule(five).ok);
	EXPECT_TRUE(ParseSchedule("59 " + five).ok);
	EXPECT_EQ(ParseSchedule("59 0" + five).error, "schedule is longer than 1002 characters");
}

/* Found by the cron fuzz target: a valid 5-field schedule of 997 characters became invalid when staggered. */
TEST(ParseRobustness, LongScheduleStaysValidStaggered)
{
	std::string minutes = "8";
	while (minutes.size() < 989)
		minutes += ",7";
	const std::string five = minutes.substr(0, 989) + " * * * *";
	ASSERT_EQ(five.size(), 997U);
	const ParseResult r = ParseSchedule(five);
	ASSERT_TRUE(r.ok) << r.error;
	for (int offset : {0, 9, 17, 59}) {
		const ParseResult staggered = ParseSchedule(EffectiveScheduleText(r.schedule, five, offset, true));
		EXPECT_TRUE(staggered.ok) << offset << ": " << staggered.error;
	}
}

} // namespace
} // namespace js::core::test
