/*
 * libFuzzer target: the cron parser, then for what parses, Describe,
 * NeverFiresReason, NextFire in UTC and in zones with DST, and the staggered
 * (6-field) text built from the schedule. Besides crashes and sanitizer
 * reports, it checks the engine's own promises and aborts when one breaks:
 * ok exactly when there is no error, a fire time strictly after its instant,
 * none when can_fire is false, and a staggered text that parses back to the
 * same fields.
 */
#include "core/cron.hpp"
#include "core/stagger.hpp"
#include "fuzz_support.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

using js::core::CronSchedule;
using js::core::Instant;
using js::core::ParseResult;
using js::core::TimeZone;

using js::fuzz::Require;

const std::vector<TimeZone> &
Zones()
{
	static const std::vector<TimeZone> zones = [] {
		std::vector<TimeZone> out = {TimeZone::Utc()};
		for (const char *name : {"America/New_York", "Australia/Lord_Howe"}) {
			if (std::optional<TimeZone> zone = TimeZone::Load(name))
				out.push_back(*zone);
		}
		return out;
	}();
	return zones;
}

/* A staggered 5-field schedule must read back as the same fields at the offset's second. */
void
CheckStaggered(const CronSchedule &s, std::string_view text)
{
	constexpr int kOffset = 17;
	if (s.kind != js::core::ScheduleKind::kCron || s.has_seconds_field)
		return;
	const std::string staggered = js::core::EffectiveScheduleText(s, std::string(text), kOffset, true);
	const ParseResult again = js::core::ParseSchedule(staggered);
	Require(again.ok, "staggered text parses", text);
	const CronSchedule &t = again.schedule;
	Require(t.has_seconds_field && t.seconds == (std::uint64_t{1} << kOffset), "staggered seconds", text);
	Require(t.minutes == s.minutes && t.hours == s.hours && t.days_of_month == s.days_of_month &&
	            t.months == s.months && t.days_of_week == s.days_of_week &&
	            t.last_day_of_month == s.last_day_of_month && t.dom_wildcard == s.dom_wildcard &&
	            t.dow_wildcard == s.dow_wildcard && t.hour_wildcard == s.hour_wildcard,
	        "staggered fields", text);
}

void
CheckNextFire(const CronSchedule &s, std::string_view text, Instant after)
{
	for (const TimeZone &zone : Zones()) {
		std::optional<Instant> next = js::core::NextFire(s, after, zone);
		Require(!next || *next > after, "fire after the instant", text);
		Require(!next || s.kind != js::core::ScheduleKind::kCron || s.can_fire, "no fire when can_fire is false", text);
		if (next)
			next = js::core::NextFire(s, *next, zone);
	}
}

} // namespace

extern "C" int
LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	constexpr std::size_t kInstantBytes = 8;
	Instant after = 1798761600; /* 2027-01-01 */
	if (size >= kInstantBytes) {
		std::uint64_t raw = 0;
		for (std::size_t i = 0; i < kInstantBytes; i++)
			raw = raw << 8 | data[i];
		after = static_cast<Instant>(raw % (400ULL * 365 * 86400)) - 100LL * 365 * 86400; /* 1870-2270 */
	}
	const std::string_view text(reinterpret_cast<const char *>(data), size);
	const ParseResult r = js::core::ParseSchedule(text);
	Require(r.ok == r.error.empty(), "ok exactly when no error", text);
	if (!r.ok)
		return 0;
	Require(!js::core::Describe(r.schedule).empty(), "a description", text);
	Require(r.schedule.can_fire == js::core::NeverFiresReason(r.schedule).empty() ||
	            r.schedule.kind != js::core::ScheduleKind::kCron,
	        "a reason exactly when it never fires", text);
	CheckStaggered(r.schedule, text);
	CheckNextFire(r.schedule, text, after);
	return 0;
}
