/*
 * NextFire across DST and other UTC-offset changes.
 *
 * 2026 transitions used below:
 *  America/New_York  Mar 8 02:00 EST -> 03:00 EDT (07:00Z)   Nov 1 02:00 EDT -> 01:00 EST (06:00Z)
 *  Europe/Berlin     Mar 29 02:00 CET -> 03:00 CEST (01:00Z) Oct 25 03:00 CEST -> 02:00 CET (01:00Z)
 * Fixed-time jobs (hour field restricted): a gap time fires once at the
 * transition instant, a repeated time only at its first occurrence.
 * Elapsed-time jobs (hour field starting with '*'): gap times are skipped,
 * repeated times fire twice.
 */
#include "core/cron.hpp"

#include "cron_test_support.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace js::core::test {
namespace {

/* The fires of `text` strictly after `after`, `count` of them, formatted in the zone. */
std::vector<std::string>
Fires(const std::string &text, const TimeZone &zone, Instant after, int count)
{
	const CronSchedule s = MustParse(text);
	std::vector<std::string> out;
	for (int i = 0; i < count; i++) {
		const std::optional<Instant> next = NextFire(s, after, zone);
		if (!next)
			break;
		EXPECT_GT(*next, after);
		out.push_back(Format(*next, zone));
		after = *next;
	}
	return out;
}

using Strings = std::vector<std::string>;

class NewYork : public ::testing::Test {
protected:
	TimeZone zone_ = MustLoad("America/New_York");
};

TEST_F(NewYork, FixedTimeInSpringGapFiresOnceAtTransition)
{
	EXPECT_EQ(Fires("30 2 * * *", zone_, Local(zone_, 2026, 3, 7, 12), 3),
	          (Strings{"2026-03-08 03:00:00 -0400", "2026-03-09 02:30:00 -0400", "2026-03-10 02:30:00 -0400"}));
	EXPECT_EQ(*NextFire(MustParse("30 2 * * *"), Local(zone_, 2026, 3, 7, 12), zone_), Utc(2026, 3, 8, 7));
	/* several gap matches collapse into one fire */
	EXPECT_EQ(Fires("0,30 2 * * *", zone_, Local(zone_, 2026, 3, 8), 2),
	          (Strings{"2026-03-08 03:00:00 -0400", "2026-03-09 02:00:00 -0400"}));
	EXPECT_EQ(Fires("*/10 2 * * *", zone_, Local(zone_, 2026, 3, 8), 2),
	          (Strings{"2026-03-08 03:00:00 -0400", "2026-03-09 02:00:00 -0400"}));
	/* a gap match and a real 03:00 are the same instant: one fire */
	EXPECT_EQ(Fires("0 2,3 * * *", zone_, Local(zone_, 2026, 3, 8), 2),
	          (Strings{"2026-03-08 03:00:00 -0400", "2026-03-09 02:00:00 -0400"}));
	/* 6-field fixed time */
	EXPECT_EQ(Fires("15 30 2 * * *", zone_, Local(zone_, 2026, 3, 8), 2),
	          (Strings{"2026-03-08 03:00:00 -0400", "2026-03-09 02:30:15 -0400"}));
}

TEST_F(NewYork, ElapsedTimeSkipsSpringGap)
{
	EXPECT_EQ(Fires("*/15 * * * *", zone_, Local(zone_, 2026, 3, 8, 1, 30), 3),
	          (Strings{"2026-03-08 01:45:00 -0500", "2026-03-08 03:00:00 -0400", "2026-03-08 03:15:00 -0400"}));
	EXPECT_EQ(Fires("30 * * * *", zone_, Local(zone_, 2026, 3, 8, 1), 2),
	          (Strings{"2026-03-08 01:30:00 -0500", "2026-03-08 03:30:00 -0400"}));
	EXPECT_EQ(Fires("30 */2 * * *", zone_, Local(zone_, 2026, 3, 8, 1), 2),
	          (Strings{"2026-03-08 04:30:00 -0400", "2026-03-08 06:30:00 -0400"}));
}

TEST_F(NewYork, AfterAroundSpringTransition)
{
	const Instant transition = Utc(2026, 3, 8, 7);
	const TimeZone &z = zone_;
	EXPECT_EQ(NextFire(MustParse("30 2 * * *"), transition - 1, z), transition);
	EXPECT_EQ(NextFire(MustParse("30 2 * * *"), transition, z), Local(z, 2026, 3, 9, 2, 30));
	EXPECT_EQ(NextFire(MustParse("0 3 * * *"), transition - 1, z), transition);
	EXPECT_EQ(NextFire(MustParse("0 2,3 * * *"), transition, z), Local(z, 2026, 3, 9, 2));
	EXPECT_EQ(NextFire(MustParse("59 1 * * *"), transition - 61, z), transition - 60);
	EXPECT_EQ(NextFire(MustParse("* * * * * *"), transition - 1, z), transition);
	EXPECT_EQ(NextFire(MustParse("*/15 * * * *"), transition - 1, z), transition);
}

TEST_F(NewYork, FixedTimeInFallBackFiresAtFirstOccurrenceOnly)
{
	EXPECT_EQ(Fires("30 1 * * *", zone_, Local(zone_, 2026, 10, 31, 12), 3),
	          (Strings{"2026-11-01 01:30:00 -0400", "2026-11-02 01:30:00 -0500", "2026-11-03 01:30:00 -0500"}));
	EXPECT_EQ(Fires("0 30 1 * * *", zone_, Local(zone_, 2026, 10, 31, 12), 2),
	          (Strings{"2026-11-01 01:30:00 -0400", "2026-11-02 01:30:00 -0500"}));
	EXPECT_EQ(Fires("*/20 1 * * *", zone_, Local(zone_, 2026, 11, 1), 4),
	          (Strings{"2026-11-01 01:00:00 -0400", "2026-11-01 01:20:00 -0400", "2026-11-01 01:40:00 -0400",
	                   "2026-11-02 01:00:00 -0500"}));
}

TEST_F(NewYork, ElapsedTimeFiresAtBothOccurrences)
{
	EXPECT_EQ(Fires("*/15 * * * *", zone_, Local(zone_, 2026, 11, 1, 0, 50), 9),
	          (Strings{"2026-11-01 01:00:00 -0400", "2026-11-01 01:15:00 -0400", "2026-11-01 01:30:00 -0400",
	                   "2026-11-01 01:45:00 -0400", "2026-11-01 01:00:00 -0500", "2026-11-01 01:15:00 -0500",
	                   "2026-11-01 01:30:00 -0500", "2026-11-01 01:45:00 -0500", "2026-11-01 02:00:00 -0500"}));
	/* every fire is 15 real minutes after the previous one */
	const CronSchedule s = MustParse("*/15 * * * *");
	Instant t = Utc(2026, 11, 1, 4, 50);
	for (int i = 0; i < 12; i++) {
		const Instant next = *NextFire(s, t, zone_);
		EXPECT_EQ(next - t, i == 0 ? 600 : 900);
		t = next;
	}
}

TEST_F(NewYork, AfterInsideRepeatedHour)
{
	const Instant first_0140 = Utc(2026, 11, 1, 5, 40);  /* 01:40 EDT */
	const Instant second_0110 = Utc(2026, 11, 1, 6, 10); /* 01:10 EST */
	EXPECT_EQ(NextFire(MustParse("30 1 * * *"), first_0140, zone_), Utc(2026, 11, 2, 6, 30));
	EXPECT_EQ(NextFire(MustParse("45 1 * * *"), first_0140, zone_), Utc(2026, 11, 1, 5, 45));
	EXPECT_EQ(NextFire(MustParse("15 1 * * *"), first_0140, zone_), Utc(2026, 11, 2, 6, 15));
	EXPECT_EQ(NextFire(MustParse("30 1 * * *"), second_0110, zone_), Utc(2026, 11, 2, 6, 30));
	EXPECT_EQ(NextFire(MustParse("45 1 * * *"), second_0110, zone_), Utc(2026, 11, 2, 6, 45));
	EXPECT_EQ(NextFire(MustParse("0 2 * * *"), second_0110, zone_), Utc(2026, 11, 1, 7));
	EXPECT_EQ(NextFire(MustParse("*/15 * * * *"), second_0110, zone_), Utc(2026, 11, 1, 6, 15));
	EXPECT_EQ(NextFire(MustParse("15 * * * *"), first_0140, zone_), Utc(2026, 11, 1, 6, 15));
	/* exactly at the fall-back instant (01:00 EST, second occurrence) */
	EXPECT_EQ(NextFire(MustParse("0 1 * * *"), Utc(2026, 11, 1, 5, 59, 59), zone_), Utc(2026, 11, 2, 6));
	EXPECT_EQ(NextFire(MustParse("0 * * * *"), Utc(2026, 11, 1, 5, 59, 59), zone_), Utc(2026, 11, 1, 6));
}

TEST_F(NewYork, FarFutureTransitionsFollowTheRule)
{
	/* 2100: second Sunday of March is the 14th (cctz extends the zone's POSIX rule) */
	const auto gap = zone_.Zone().lookup(cctz::civil_second(2100, 3, 14, 2, 30, 0));
	ASSERT_EQ(gap.kind, cctz::time_zone::civil_lookup::SKIPPED);
	EXPECT_EQ(NextFire(MustParse("30 2 * * *"), Local(zone_, 2100, 3, 13, 12), zone_),
	          gap.trans.time_since_epoch().count());
}

class Berlin : public ::testing::Test {
protected:
	TimeZone zone_ = MustLoad("Europe/Berlin");
};

TEST_F(Berlin, SpringForward)
{
	EXPECT_EQ(Fires("30 2 * * *", zone_, Local(zone_, 2026, 3, 28, 12), 2),
	          (Strings{"2026-03-29 03:00:00 +0200", "2026-03-30 02:30:00 +0200"}));
	EXPECT_EQ(*NextFire(MustParse("30 2 * * *"), Local(zone_, 2026, 3, 28, 12), zone_), Utc(2026, 3, 29, 1));
	EXPECT_EQ(Fires("*/15 * * * *", zone_, Local(zone_, 2026, 3, 29, 1, 30), 3),
	          (Strings{"2026-03-29 01:45:00 +0100", "2026-03-29 03:00:00 +0200", "2026-03-29 03:15:00 +0200"}));
}

TEST_F(Berlin, FallBack)
{
	EXPECT_EQ(Fires("30 2 * * *", zone_, Local(zone_, 2026, 10, 24, 12), 2),
	          (Strings{"2026-10-25 02:30:00 +0200", "2026-10-26 02:30:00 +0100"}));
	EXPECT_EQ(Fires("*/30 * * * *", zone_, Utc(2026, 10, 24, 23, 50), 5),
	          (Strings{"2026-10-25 02:00:00 +0200", "2026-10-25 02:30:00 +0200", "2026-10-25 02:00:00 +0100",
	                   "2026-10-25 02:30:00 +0100", "2026-10-25 03:00:00 +0100"}));
}

/*
 * `0 * * * *` over the local year 2026 in Berlin: the local year starts and
 * ends at +01:00, so it lasts exactly 365 * 24 = 8760 real hours, and every
 * real hour starts at a local :00 (whole-hour offsets). Spring-forward drops
 * local 02:00 on March 29 (-1) and fall-back repeats local 02:00 on October
 * 25 (+1, elapsed-time job), so the job fires 8760 - 1 + 1 = 8760 times,
 * exactly 3600 s apart.
 */
TEST_F(Berlin, HourlyOverAWholeYear)
{
	const CronSchedule s = MustParse("0 * * * *");
	const Instant start = Local(zone_, 2026, 1, 1);
	const Instant end = Local(zone_, 2027, 1, 1);
	int count = 0;
	Instant previous = start - 3600;
	for (Instant t = start - 1;;) {
		const Instant next = *NextFire(s, t, zone_);
		if (next >= end)
			break;
		EXPECT_EQ(next - previous, 3600) << Format(next, zone_);
		previous = t = next;
		count++;
	}
	EXPECT_EQ(count, 8760);
}

/* A fixed-time daily job fires exactly once per local day, all year (365 times in 2026). */
TEST_F(Berlin, DailyFixedTimeOverAWholeYear)
{
	const CronSchedule s = MustParse("30 2 * * *");
	Instant t = Local(zone_, 2026, 1, 1) - 1;
	const Instant end = Local(zone_, 2027, 1, 1);
	int count = 0;
	while (true) {
		const Instant next = *NextFire(s, t, zone_);
		if (next >= end)
			break;
		EXPECT_GT(next, t);
		t = next;
		count++;
	}
	EXPECT_EQ(count, 365);
}

/*
 * Reference semantics from cctz civil lookups: every matching local time,
 * mapped by its kind (UNIQUE: the instant; SKIPPED: the transition instant
 * for fixed-time jobs, nothing otherwise; REPEATED: the first occurrence,
 * and the second too for elapsed-time jobs).
 */
std::set<Instant>
ReferenceFires(const CronSchedule &s, const cctz::time_zone &zone, cctz::civil_minute from, cctz::civil_minute to)
{
	CronSchedule any_second = s;
	any_second.seconds = ~std::uint64_t{0};
	std::set<Instant> fires;
	for (cctz::civil_minute m = from; m < to; ++m) {
		if (!MatchesCivil(any_second, cctz::civil_second(m)))
			continue;
		for (int sec = 0; sec < 60; sec++) {
			const cctz::civil_second cs = cctz::civil_second(m) + sec;
			if (!MatchesCivil(s, cs))
				continue;
			const cctz::time_zone::civil_lookup cl = zone.lookup(cs);
			if (cl.kind == cctz::time_zone::civil_lookup::SKIPPED) {
				if (!s.hour_wildcard)
					fires.insert(cl.trans.time_since_epoch().count());
				continue;
			}
			fires.insert(cl.pre.time_since_epoch().count());
			if (s.hour_wildcard)
				fires.insert(cl.post.time_since_epoch().count());
		}
	}
	return fires;
}

struct ReferenceCase {
	const char *zone;
	int year;
};

class ReferenceTest : public ::testing::TestWithParam<ReferenceCase> {};

/* NextFire, iterated over a year, gives exactly the reference fires, in several zones and schedules. */
TEST_P(ReferenceTest, MatchesCivilLookupSemantics)
{
	const TimeZone zone = MustLoad(GetParam().zone);
	const int year = GetParam().year;
	const char *const kTexts[] = {"30 2 * * *",        "0,30 2 * * *", "*/10 1-3 * * *", "0 0 * * *",
	                              "15 1 * * sun",      "0 2 * * *",    "*/15 * * * *",   "30 * * * *",
	                              "0 */2 * * *",       "45 23 * * *",  "0 12 * * *",     "0-59/20 */7 * * * *",
	                              "30 */20 1-2 * * *", "0 0 $ * *",    "15 2 1 * mon"};
	for (const char *text : kTexts) {
		const CronSchedule s = MustParse(text);
		const std::set<Instant> reference =
		    ReferenceFires(s, zone.Zone(), cctz::civil_minute(year - 1, 12, 30), cctz::civil_minute(year + 1, 1, 3));
		const Instant begin = Utc(year, 1, 1);
		const Instant end = Utc(year + 1, 1, 1);
		std::vector<Instant> expected(reference.upper_bound(begin), reference.lower_bound(end));
		std::vector<Instant> actual;
		for (Instant t = begin;;) {
			const std::optional<Instant> next = NextFire(s, t, zone);
			ASSERT_TRUE(next.has_value()) << text;
			if (*next >= end)
				break;
			actual.push_back(*next);
			t = *next;
		}
		ASSERT_EQ(actual.size(), expected.size()) << text << " in " << zone.Name();
		for (std::size_t i = 0; i < actual.size(); i++)
			ASSERT_EQ(Format(actual[i], zone), Format(expected[i], zone)) << text << " #" << i;
	}
}

/* Lord Howe moves by 30 minutes; Apia skipped 2011-12-30 entirely (offset +24h); Kolkata has no DST. */
INSTANTIATE_TEST_SUITE_P(Zones, ReferenceTest,
                         ::testing::Values(ReferenceCase{"America/New_York", 2026},
                                           ReferenceCase{"Europe/Berlin", 2026},
                                           ReferenceCase{"Australia/Lord_Howe", 2026},
                                           ReferenceCase{"Pacific/Apia", 2011}, ReferenceCase{"Asia/Kolkata", 2026},
                                           ReferenceCase{"UTC", 2028}));

TEST(SkippedDay, ApiaFixedTimeFiresAtTransition)
{
	const TimeZone apia = MustLoad("Pacific/Apia");
	/* 2011-12-29 24:00 (-10:00) jumped to 2011-12-31 00:00 (+14:00) */
	const auto skipped = apia.Zone().lookup(cctz::civil_second(2011, 12, 30, 12, 0, 0));
	ASSERT_EQ(skipped.kind, cctz::time_zone::civil_lookup::SKIPPED);
	EXPECT_EQ(Fires("0 12 * * *", apia, Local(apia, 2011, 12, 29, 13), 2),
	          (Strings{"2011-12-31 00:00:00 +1400", "2011-12-31 12:00:00 +1400"}));
	EXPECT_EQ(Fires("0 */12 * * *", apia, Local(apia, 2011, 12, 29, 13), 2),
	          (Strings{"2011-12-31 00:00:00 +1400", "2011-12-31 12:00:00 +1400"}));
	EXPECT_EQ(Fires("0 12 30 12 *", apia, Local(apia, 2011, 12, 1), 2),
	          (Strings{"2011-12-31 00:00:00 +1400", "2012-12-30 12:00:00 +1400"}));
}

} // namespace
} // namespace js::core::test
