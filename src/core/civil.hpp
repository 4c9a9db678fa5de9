/*
 * Proleptic Gregorian calendar arithmetic on plain integers.
 *
 * Local ("civil") times are handled as local seconds: the number of seconds
 * since 1970-01-01 00:00:00 as if the local clock were UTC. Converting an
 * instant to local seconds is then a single addition of the UTC offset, and
 * comparing civil times is comparing integers. The conversions below are the
 * usual era-based day-count formulas (400-year cycles of 146097 days); they
 * are exact for every year an int64 day count can hold without overflow, and
 * we only use them for years 1-9999.
 */
#pragma once

#include <cstdint>

namespace js::core {

constexpr std::int64_t kSecondsPerMinute = 60;
constexpr std::int64_t kSecondsPerHour = 3600;
constexpr std::int64_t kSecondsPerDay = 86400;
constexpr std::int64_t kDaysPerEra = 146097; /* days in 400 Gregorian years */
constexpr std::int64_t kYearsPerEra = 400;

/* A broken-down local time. month 1-12, day 1-31. */
struct CivilTime {
	std::int64_t year = 1970;
	int month = 1;
	int day = 1;
	int hour = 0;
	int minute = 0;
	int second = 0;
};

/* Floor division and modulo (the result of FloorMod has the sign of b > 0). */
constexpr std::int64_t
FloorDiv(std::int64_t a, std::int64_t b)
{
	std::int64_t q = a / b;
	return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

constexpr std::int64_t
FloorMod(std::int64_t a, std::int64_t b)
{
	return a - FloorDiv(a, b) * b;
}

constexpr bool
IsLeapYear(std::int64_t year)
{
	return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

constexpr int
DaysInMonth(std::int64_t year, int month)
{
	constexpr int kDays[13] = {0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	return (month == 2 && IsLeapYear(year)) ? 29 : kDays[month];
}

/* Days since 1970-01-01 of the given date (month 1-12, day 1-31). */
constexpr std::int64_t
DaysFromCivil(std::int64_t year, int month, int day)
{
	/* Count years from March so that the leap day is the last day of a year. */
	const std::int64_t y = month <= 2 ? year - 1 : year;
	const std::int64_t era = FloorDiv(y, kYearsPerEra);
	const std::int64_t year_of_era = y - era * kYearsPerEra;              /* 0-399 */
	const std::int64_t shifted_month = month > 2 ? month - 3 : month + 9; /* March = 0 */
	const std::int64_t day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
	const std::int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
	constexpr std::int64_t kEpochShift = 719468; /* days from 0000-03-01 to 1970-01-01 */
	return era * kDaysPerEra + day_of_era - kEpochShift;
}

/* Inverse of DaysFromCivil: sets year, month and day of `out`. */
constexpr void
CivilFromDays(std::int64_t days, CivilTime &out)
{
	constexpr std::int64_t kEpochShift = 719468;
	const std::int64_t z = days + kEpochShift;
	const std::int64_t era = FloorDiv(z, kDaysPerEra);
	const std::int64_t day_of_era = z - era * kDaysPerEra; /* 0-146096 */
	const std::int64_t year_of_era =
	    (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / (kDaysPerEra - 1)) / 365;
	const std::int64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
	const std::int64_t shifted_month = (5 * day_of_year + 2) / 153; /* March = 0 */
	out.day = static_cast<int>(day_of_year - (153 * shifted_month + 2) / 5 + 1);
	out.month = static_cast<int>(shifted_month < 10 ? shifted_month + 3 : shifted_month - 9);
	out.year = year_of_era + era * kYearsPerEra + (out.month <= 2 ? 1 : 0);
}

/* Day of the week of a day count, 0 = Sunday (1970-01-01 was a Thursday). */
constexpr int
WeekdayFromDays(std::int64_t days)
{
	constexpr std::int64_t kThursday = 4;
	return static_cast<int>(FloorMod(days + kThursday, 7));
}

/* Local seconds of a broken-down local time. */
constexpr std::int64_t
LocalSecondsFromCivil(const CivilTime &c)
{
	return DaysFromCivil(c.year, c.month, c.day) * kSecondsPerDay + c.hour * kSecondsPerHour +
	       c.minute * kSecondsPerMinute + c.second;
}

/* Broken-down local time of local seconds. */
constexpr CivilTime
CivilFromLocalSeconds(std::int64_t local)
{
	CivilTime c;
	const std::int64_t days = FloorDiv(local, kSecondsPerDay);
	std::int64_t rest = local - days * kSecondsPerDay;
	CivilFromDays(days, c);
	c.hour = static_cast<int>(rest / kSecondsPerHour);
	rest %= kSecondsPerHour;
	c.minute = static_cast<int>(rest / kSecondsPerMinute);
	c.second = static_cast<int>(rest % kSecondsPerMinute);
	return c;
}

} // namespace js::core

#include "core/cpp_only.hpp"
