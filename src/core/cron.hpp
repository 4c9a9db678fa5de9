/*
 * Cron schedules: parsing (pg_cron-compatible 5-field syntax, a 6-field form
 * with a leading seconds field, macros, `N seconds` intervals) and fire-time
 * math in an IANA time zone.
 *
 * Pure C++: time comes in and goes out as plain epoch seconds, never as a
 * PostgreSQL type, so every rule here is unit-tested without a server.
 */
#pragma once

#include <cctz/time_zone.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace js::core {

/* An instant: whole seconds since the Unix epoch, UTC. */
using Instant = std::int64_t;

enum class ScheduleKind : std::uint8_t {
	kCron,     /* 5 fields (fires at second 0) or 6 fields (leading seconds field) */
	kInterval, /* "N seconds": fires when epoch % N == 0 (fixed phase, see README) */
	kReboot,   /* @reboot / @restart: once when the scheduler starts, never from NextFire */
};

/*
 * A parsed schedule. Field sets are bit masks (bit v set = value v matches).
 * The *_wildcard flags keep what vixie cron keys on: the text of the field
 * starting with '*' (so "*" and "*\/2" both count as unrestricted).
 */
struct CronSchedule {
	ScheduleKind kind = ScheduleKind::kCron;
	bool has_seconds_field = false;  /* 6-field form */
	std::uint64_t seconds = 0;       /* bits 0-59; 5-field form: only bit 0 */
	std::uint64_t minutes = 0;       /* bits 0-59 */
	std::uint32_t hours = 0;         /* bits 0-23 */
	std::uint32_t days_of_month = 0; /* bits 1-31 */
	std::uint16_t months = 0;        /* bits 1-12 */
	std::uint8_t days_of_week = 0;   /* bits 0-6, 0 = Sunday (7 is folded into 0) */
	bool last_day_of_month = false;  /* `$` in the day-of-month field */
	bool dom_wildcard = false;       /* day-of-month text starts with '*' */
	bool dow_wildcard = false;       /* day-of-week text starts with '*' */
	bool hour_wildcard = false;      /* hour text starts with '*': elapsed-time rules across DST */
	bool can_fire = true;            /* false for a valid schedule that never fires (0 0 30 2 *) */
	int interval_seconds = 0;        /* kInterval only: 1-59 */
	/*
	 * kCron only: the minute, hour, day-of-month, month and day-of-week fields
	 * as written (macros expanded, e.g. "@hourly" -> "0 * * * *"), joined by
	 * single spaces. The stagger code prefixes an offset to build a 6-field
	 * effective schedule from it.
	 */
	std::string five_field_text;
};

/*
 * Result of parsing. Expected failures (bad user input) are reported here,
 * never thrown. `error` is a lowercase phrase without a final period that
 * names the field and the reason, e.g. "minute value 61 out of range 0-59".
 */
struct ParseResult {
	bool ok = false;
	CronSchedule schedule;
	std::string error;
	/*
	 * On success: text that was read past and ignored, as pg_cron ignores it,
	 * one phrase each, e.g. "\".5\" after the minute field" (the caller warns).
	 */
	std::vector<std::string> ignored;
};

ParseResult ParseSchedule(std::string_view text);

/*
 * Why a valid schedule never fires (can_fire == false), as a sentence for a
 * NOTICE's detail; "" when it can fire.
 */
std::string NeverFiresReason(const CronSchedule &schedule);

/* An IANA time zone (cheap to copy: cctz shares loaded zones). */
class TimeZone {
public:
	/*
	 * "UTC", "Europe/Berlin", ...; nullopt if the zone is unknown, or the
	 * name is empty, longer than 64 bytes or looks like a path ("/…", ".…", "..").
	 */
	static std::optional<TimeZone> Load(const std::string &name);
	static TimeZone Utc();

	const std::string &
	Name() const
	{
		return name_;
	}
	const cctz::time_zone &
	Zone() const
	{
		return zone_;
	}

private:
	TimeZone(std::string name, cctz::time_zone zone) : name_(std::move(name)), zone_(zone) {}
	std::string name_;
	cctz::time_zone zone_;
};

/*
 * The first fire instant strictly after `after`, evaluated in `tz`; nullopt
 * when the schedule never fires (can_fire == false) or is @reboot.
 *
 * DST rules (vixie cron's, made exact):
 *  - hour field restricted (fixed-time job): a local time inside a
 *    spring-forward gap fires once, at the first instant after the gap; a
 *    local time in a fall-back repeated hour fires once, at its first
 *    occurrence.
 *  - hour field starting with '*' (elapsed-time job): local times in a gap do
 *    not exist and are skipped; local times in a repeated hour fire at both
 *    occurrences, so the job keeps its cadence in real time.
 * Interval schedules ignore the zone: they fire when epoch % N == 0.
 */
std::optional<Instant> NextFire(const CronSchedule &schedule, Instant after, const TimeZone &tz);

/* English description, e.g. "at second 15 of every 5th minute". */
std::string Describe(const CronSchedule &schedule);

} // namespace js::core

#include "core/cpp_only.hpp"
