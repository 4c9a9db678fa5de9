/*
 * Property test of the cron engine: random seeded schedules and random
 * instants (many near DST transitions), in UTC, America/New_York,
 * Europe/Berlin and Australia/Lord_Howe (30-minute DST shift).
 *
 * For each case, the test builds the schedule text and, independently of the
 * parser, the value set of every field (plain loops over the item it wrote).
 * It then checks that
 *  - ParseSchedule gives exactly those sets and flags, and
 *  - NextFire equals the first fire found by scanning every second after
 *    the instant, each second judged by a matcher written here: vixie /
 *    pg_cron's day rule (both day fields restricted: either matches;
 *    otherwise both) plus the DST rules of cron.hpp, stated per instant.
 *
 * Seed: JS_CRON_PROPERTY_SEED (printed); bounded to a few seconds.
 */
#include "core/cron.hpp"

#include "cron_test_support.hpp"

#include <cctz/civil_time.h>
#include <cctz/time_zone.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <random>
#include <string>
#include <vector>

namespace js::core::test {
namespace {

constexpr std::uint64_t kDefaultSeed = 20261129;
constexpr int kCasesPerZone = 150;
constexpr int kFiresPerCase = 3;
/* How far the second-by-second scan looks; NextFire beyond it only has to be beyond it too. */
constexpr Instant kScanHorizon = 36 * 3600;

/* A field as the generator wrote it: its text and the values it selects, derived by the test. */
struct GenField {
	std::string text;
	std::vector<bool> values; /* index = value */
	bool last_day = false;
	bool starts_with_star = false;
};

struct FieldRange {
	int min;
	int max;
	const char *const *names; /* names[v - min], or nullptr */
};

const char *const kMonthNames[] = {"jan", "Feb", "MAR", "apr", "May", "jun", "JUL", "aug", "sep", "Oct", "nov", "dec"};
const char *const kDayNames[] = {"sun", "Mon", "TUE", "wed", "thu", "Fri", "sat"};

class Generator {
public:
	explicit Generator(std::uint64_t seed) : rng_(seed) {}

	int
	Uniform(int lo, int hi)
	{
		return std::uniform_int_distribution<int>(lo, hi)(rng_);
	}

	std::mt19937_64 &
	Rng()
	{
		return rng_;
	}

	/* A value as text: a number, or a name where the field has names (sometimes). */
	std::string
	ValueText(const FieldRange &r, int v)
	{
		const int name_count = r.max == 7 ? 7 : 12; /* day-of-week 7 has no name */
		if (r.names != nullptr && v - r.min < name_count && Uniform(0, 2) == 0)
			return r.names[v - r.min];
		return std::to_string(v);
	}

	/* One list item; marks the values it selects. Biased towards fields that fire often. */
	std::string
	Item(const FieldRange &r, GenField &f)
	{
		const int kind = Uniform(0, 9);
		if (kind <= 2) {
			const int step = kind == 0 ? 1 : Uniform(1, r.max - r.min + 2);
			for (int v = r.min; v <= r.max; v += step)
				f.values[v] = true;
			return kind == 0 ? "*" : "*/" + std::to_string(step);
		}
		const int a = Uniform(r.min, r.max);
		if (kind <= 4) {
			f.values[a] = true;
			return ValueText(r, a);
		}
		const int b = kind == 9 ? Uniform(r.min, r.max) : Uniform(a, r.max); /* kind 9: maybe reversed */
		const int step = Uniform(0, 1) == 0 ? 1 : Uniform(1, r.max - r.min + 3);
		for (int v = a; v <= b; v += step) /* a reversed range selects nothing */
			f.values[v] = true;
		std::string text = ValueText(r, a) + "-" + ValueText(r, b);
		return step == 1 && Uniform(0, 1) == 0 ? text : text + "/" + std::to_string(step);
	}

	GenField
	Field(const FieldRange &r, bool allow_last_day)
	{
		GenField f;
		f.values.assign(r.max + 1, false);
		const int items = Uniform(1, 3);
		for (int i = 0; i < items; i++) {
			if (i > 0)
				f.text += ",";
			if (allow_last_day && Uniform(0, 9) == 0) {
				f.text += "$";
				f.last_day = true;
				continue;
			}
			f.text += Item(r, f);
		}
		f.starts_with_star = f.text.front() == '*';
		return f;
	}

private:
	std::mt19937_64 rng_;
};

/* The schedule as the test sees it: field sets and flags, derived from the generated items. */
struct Expected {
	std::string text;
	bool has_seconds = false;
	GenField second, minute, hour, dom, month, dow;
};

Expected
RandomSchedule(Generator &g)
{
	Expected e;
	e.has_seconds = g.Uniform(0, 3) == 0;
	if (e.has_seconds)
		e.second = g.Field({0, 59, nullptr}, false);
	else {
		e.second.values.assign(60, false);
		e.second.values[0] = true;
	}
	/* Bias: hours and days often unrestricted, so that fires are near and the scan stays short. */
	e.minute = g.Field({0, 59, nullptr}, false);
	e.hour = g.Uniform(0, 1) == 0 ? g.Field({0, 23, nullptr}, false) : GenField{"*", std::vector<bool>(24, true)};
	if (e.hour.text == "*")
		e.hour.starts_with_star = true;
	e.dom = g.Uniform(0, 1) == 0 ? g.Field({1, 31, nullptr}, true) : GenField{"*", std::vector<bool>(32, true)};
	e.dom.values[0] = false;
	if (e.dom.text == "*")
		e.dom.starts_with_star = true;
	e.month = g.Uniform(0, 2) == 0 ? g.Field({1, 12, kMonthNames}, false) : GenField{"*", std::vector<bool>(13, true)};
	e.month.values[0] = false;
	e.dow = g.Uniform(0, 1) == 0 ? g.Field({0, 7, kDayNames}, false) : GenField{"*", std::vector<bool>(8, true)};
	if (e.month.text == "*")
		e.month.starts_with_star = true;
	if (e.dow.text == "*")
		e.dow.starts_with_star = true;
	if (e.dow.values[7])
		e.dow.values[0] = true; /* 7 is Sunday */
	for (const GenField *f : {&e.second, &e.minute, &e.hour, &e.dom, &e.month, &e.dow}) {
		if (f == &e.second && !e.has_seconds)
			continue;
		e.text += (e.text.empty() ? "" : " ") + f->text;
	}
	return e;
}

std::uint64_t
MaskOf(const GenField &f, int max)
{
	std::uint64_t mask = 0;
	for (int v = 0; v <= max && v < static_cast<int>(f.values.size()); v++)
		if (f.values[v])
			mask |= std::uint64_t{1} << v;
	return mask;
}

/* The local-time matcher: plain field lookups and vixie's day rule. */
bool
MatchesLocal(const Expected &e, const cctz::civil_second &cs)
{
	const cctz::civil_day day(cs);
	const bool last_day = cctz::civil_month(day + 1) != cctz::civil_month(day);
	const int weekday = (static_cast<int>(cctz::get_weekday(day)) + 1) % 7; /* cctz: Monday = 0 */
	const bool dom = e.dom.values[cs.day()] || (e.dom.last_day && last_day);
	const bool dow = e.dow.values[weekday];
	const bool day_ok = (e.dom.starts_with_star || e.dow.starts_with_star) ? (dom && dow) : (dom || dow);
	return day_ok && e.month.values[cs.month()] && e.hour.values[cs.hour()] && e.minute.values[cs.minute()] &&
	       e.second.values[cs.second()];
}

/*
 * Whether the schedule fires at instant t, stated per instant:
 *  - elapsed-time jobs (hour field starts with '*') fire whenever the local
 *    time matches (so twice in a repeated hour, never in a gap);
 *  - fixed-time jobs fire at the first instant showing a matching local
 *    time, and at the instant right after a gap if a skipped local time matched.
 */
bool
FiresAt(const Expected &e, const cctz::time_zone &zone, Instant t, const cctz::civil_second &local,
        const cctz::civil_second &before)
{
	if (e.hour.starts_with_star)
		return MatchesLocal(e, local);
	if (MatchesLocal(e, local) && zone.lookup(local).pre.time_since_epoch().count() == t)
		return true;
	for (cctz::civil_second skipped = before + 1; skipped < local; ++skipped) {
		if (MatchesLocal(e, skipped))
			return true;
	}
	return false;
}

cctz::civil_second
LocalTime(const cctz::time_zone &zone, Instant t)
{
	return cctz::convert(cctz::time_point<cctz::seconds>(cctz::seconds(t)), zone);
}

/* The first fire in (after, after + kScanHorizon], scanning every second; after + kScanHorizon + 1 if none. */
Instant
ScanFirstFire(const Expected &e, const cctz::time_zone &zone, Instant after)
{
	cctz::civil_second before = LocalTime(zone, after);
	for (Instant t = after + 1; t <= after + kScanHorizon; t++) {
		const cctz::civil_second local = LocalTime(zone, t);
		if (FiresAt(e, zone, t, local, before))
			return t;
		before = local;
	}
	return after + kScanHorizon + 1;
}

/* A random instant in 2024-2031, half of them within a day and a half of a UTC-offset change. */
Instant
RandomInstant(Generator &g, const cctz::time_zone &zone)
{
	const Instant base = Utc(2024, 1, 1) + static_cast<Instant>(g.Rng()() % (8ULL * 365 * 86400));
	cctz::time_zone::civil_transition tr;
	if (g.Uniform(0, 1) == 0 || !zone.next_transition(cctz::time_point<cctz::seconds>(cctz::seconds(base)), &tr))
		return base;
	const Instant transition = zone.lookup(tr.from).pre.time_since_epoch().count();
	return transition + g.Uniform(-36 * 3600, 36 * 3600);
}

void
ExpectParsedAsDerived(const Expected &e, const CronSchedule &s)
{
	EXPECT_EQ(s.has_seconds_field, e.has_seconds) << e.text;
	EXPECT_EQ(s.seconds, MaskOf(e.second, 59)) << e.text;
	EXPECT_EQ(s.minutes, MaskOf(e.minute, 59)) << e.text;
	EXPECT_EQ(s.hours, MaskOf(e.hour, 23)) << e.text;
	EXPECT_EQ(s.days_of_month, MaskOf(e.dom, 31)) << e.text;
	EXPECT_EQ(s.last_day_of_month, e.dom.last_day) << e.text;
	EXPECT_EQ(s.months, MaskOf(e.month, 12)) << e.text;
	EXPECT_EQ(s.days_of_week, MaskOf(e.dow, 6)) << e.text;
	EXPECT_EQ(s.hour_wildcard, e.hour.starts_with_star) << e.text;
	EXPECT_EQ(s.dom_wildcard, e.dom.starts_with_star) << e.text;
	EXPECT_EQ(s.dow_wildcard, e.dow.starts_with_star) << e.text;
}

std::uint64_t
Seed()
{
	const char *env = std::getenv("JS_CRON_PROPERTY_SEED");
	return env != nullptr && *env != '\0' ? std::strtoull(env, nullptr, 10) : kDefaultSeed;
}

class CronProperty : public ::testing::TestWithParam<const char *> {};

TEST_P(CronProperty, NextFireEqualsSecondBySecondScan)
{
	const std::uint64_t seed = Seed() ^ std::hash<std::string>{}(GetParam());
	std::cout << "[ seed     ] JS_CRON_PROPERTY_SEED=" << Seed() << " (zone " << GetParam() << ")\n";
	Generator g(seed);
	const TimeZone zone = MustLoad(GetParam());
	int checked = 0;
	for (int i = 0; i < kCasesPerZone; i++) {
		const Expected e = RandomSchedule(g);
		const ParseResult parsed = ParseSchedule(e.text);
		ASSERT_TRUE(parsed.ok) << e.text << ": " << parsed.error;
		ExpectParsedAsDerived(e, parsed.schedule);
		Instant after = RandomInstant(g, zone.Zone());
		for (int k = 0; k < kFiresPerCase; k++) {
			const std::optional<Instant> next = NextFire(parsed.schedule, after, zone);
			const Instant scanned = ScanFirstFire(e, zone.Zone(), after);
			checked++;
			if (scanned > after + kScanHorizon) {
				EXPECT_TRUE(!next || *next > after + kScanHorizon)
				    << e.text << " after " << Format(after, zone) << ": engine " << Format(*next, zone)
				    << ", scan found nothing within the horizon";
				break;
			}
			ASSERT_TRUE(next.has_value()) << e.text << " after " << Format(after, zone);
			ASSERT_EQ(*next, scanned) << e.text << " after " << Format(after, zone) << ": engine "
			                          << Format(*next, zone) << ", scan " << Format(scanned, zone) << " (seed "
			                          << Seed() << ")";
			after = *next;
		}
	}
	RecordProperty("checked_fires", checked);
}

INSTANTIATE_TEST_SUITE_P(Zones, CronProperty,
                         ::testing::Values("UTC", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe"));

} // namespace
} // namespace js::core::test
