/*
 * Helpers shared by the cron unit tests: building instants from civil times
 * with cctz (independently of the engine's own calendar math) and parsing
 * schedules that are expected to be valid.
 */
#pragma once

#include "core/cron.hpp"

#include <cctz/civil_time.h>
#include <cctz/time_zone.h>
#include <gtest/gtest.h>

#include <string>

namespace js::core::test {

/* The instant of a UTC civil time. */
inline Instant
Utc(int year, int month, int day, int hour = 0, int minute = 0, int second = 0)
{
	const cctz::civil_second cs(year, month, day, hour, minute, second);
	return cctz::convert(cs, cctz::utc_time_zone()).time_since_epoch().count();
}

/* The instant of a local civil time that exists exactly once in `zone`. */
inline Instant
Local(const TimeZone &zone, int year, int month, int day, int hour = 0, int minute = 0, int second = 0)
{
	const cctz::civil_second cs(year, month, day, hour, minute, second);
	const cctz::time_zone::civil_lookup cl = zone.Zone().lookup(cs);
	EXPECT_EQ(cl.kind, cctz::time_zone::civil_lookup::UNIQUE) << "not a unique local time";
	return cl.pre.time_since_epoch().count();
}

/* An instant as "2026-11-01 01:30:00 -0400" in `zone` (for readable failures). */
inline std::string
Format(Instant t, const TimeZone &zone)
{
	return cctz::format("%Y-%m-%d %H:%M:%S %z", cctz::time_point<cctz::seconds>(cctz::seconds(t)), zone.Zone());
}

/* Parses text that must be valid. */
inline CronSchedule
MustParse(const std::string &text)
{
	const ParseResult r = ParseSchedule(text);
	EXPECT_TRUE(r.ok) << text << ": " << r.error;
	return r.schedule;
}

inline TimeZone
MustLoad(const std::string &name)
{
	const std::optional<TimeZone> zone = TimeZone::Load(name);
	EXPECT_TRUE(zone.has_value()) << name;
	return zone ? *zone : TimeZone::Utc();
}

/* Slow reference matcher on a civil time (vixie day rule), written with cctz, independent of the engine. */
inline bool
MatchesCivil(const CronSchedule &s, const cctz::civil_second &cs)
{
	const cctz::civil_day day(cs);
	const bool last_day = cctz::civil_month(day) != cctz::civil_month(day + 1);
	const int weekday = (static_cast<int>(cctz::get_weekday(day)) + 1) % 7; /* cctz: Monday = 0 */
	const bool dom = (s.days_of_month >> cs.day() & 1U) != 0 || (s.last_day_of_month && last_day);
	const bool dow = (s.days_of_week >> weekday & 1U) != 0;
	const bool day_ok = (!s.dom_wildcard && !s.dow_wildcard) ? (dom || dow) : (dom && dow);
	return day_ok && (s.months >> cs.month() & 1U) != 0 && (s.hours >> cs.hour() & 1U) != 0 &&
	       (s.minutes >> cs.minute() & 1U) != 0 && (s.seconds >> cs.second() & 1U) != 0;
}

} // namespace js::core::test
