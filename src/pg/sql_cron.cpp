/*
 * SQL functions over the cron engine: stagger_next_runs, stagger_describe and
 * job_stagger.schedule_info / job_stagger.check_schedule (used by the job API).
 *
 * Each follows the three phases of bridge.hpp: read arguments, run core inside
 * CallCpp, then build the result or raise the error.
 */
#include "pg/sql_cron.hpp"
#include "core/cron.hpp"
#include "core/report.hpp"
#include "pg/bridge.hpp"
#include "pg/guc.hpp"

#include <cctype>
#include <string>

extern "C" {
#include "postgres.h"

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
}

#include "pg/pg_time.hpp"

namespace {

/* Upper bound on stagger_next_runs(n): a year of every-second fire times. */
constexpr int kMaxNextRuns = 366 * 86400;
/* Fire instants computed per trip into C++ (about a millisecond of work) before interrupts are checked. */
constexpr int kNextRunsChunk = 4096;

/* Parse result flattened to plain values (palloc'd strings), safe to use after CallCpp. */
struct ParsedInfo {
	bool ok;
	char *error;      /* core's phrase, e.g. "minute value 61 out of range 0-59" */
	const char *kind; /* "cron", "interval" or "reboot" */
	int fields;       /* 5 or 6 for cron, 0 otherwise */
	bool can_fire;
	char *five_field_text; /* cron only, else NULL */
	char *never_fires;     /* why it never fires (a sentence), when !can_fire */
	char *ignored;         /* text read past, as pg_cron does ("\"x\" after the minute field; ..."), or NULL */
};

ParsedInfo
ParseToInfo(const char *text)
{
	ParsedInfo info = {};
	js::pg::CallCpp([&] {
		js::core::ParseResult r = js::core::ParseSchedule(text);
		info.ok = r.ok;
		if (!r.ok) {
			info.error = js::pg::PallocCopy(r.error);
			return;
		}
		const js::core::CronSchedule &s = r.schedule;
		switch (s.kind) {
		case js::core::ScheduleKind::kCron:
			info.kind = "cron";
			info.fields = s.has_seconds_field ? 6 : 5;
			info.five_field_text = js::pg::PallocCopy(s.five_field_text);
			break;
		case js::core::ScheduleKind::kInterval:
			info.kind = "interval";
			break;
		case js::core::ScheduleKind::kReboot:
			info.kind = "reboot";
			break;
		}
		info.can_fire = s.can_fire;
		info.never_fires = js::pg::PallocCopy(js::core::NeverFiresReason(s));
		std::string ignored;
		for (const std::string &phrase : r.ignored)
			ignored += (ignored.empty() ? "" : "; ") + phrase;
		if (!ignored.empty())
			info.ignored = js::pg::PallocCopy(ignored);
	});
	return info;
}

/*
 * The next fire instants strictly after `after` (at most `want`), into `out`;
 * fewer when the schedule stops firing. PostgreSQL side: runs core in
 * CallCpp.
 */
int
NextRunsChunk(const char *schedule, const char *zone, int64 after, int want, int64 *out)
{
	int count = 0;
	js::pg::CallCpp([&] {
		js::core::ParseResult r = js::core::ParseSchedule(schedule);
		/* `zone` was checked (CheckTimeZone); NULL: job_stagger.timezone */
		std::optional<js::core::TimeZone> own = zone != nullptr ? js::core::TimeZone::Load(zone) : std::nullopt;
		js::core::TimeZone tz = own ? *own : js::pg::CurrentTimeZone();
		int64 t = after;
		while (count < want) {
			std::optional<js::core::Instant> next = js::core::NextFire(r.schedule, t, tz);
			if (!next)
				break;
			out[count++] = *next;
			t = *next;
		}
	});
	return count;
}

} // namespace

namespace js::pg {

/* "minute value 61 out of range 0-59" -> "Minute value 61 out of range 0-59." */
static char *
ErrorSentence(const char *phrase)
{
	char *s = psprintf("%s.", phrase);
	s[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
	return s;
}

void
RaiseInvalidSchedule(const char *schedule, const char *error)
{
	ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("invalid schedule: \"%s\"", schedule),
	                errdetail("%s", ErrorSentence(error)),
	                errhint("Use 5 cron fields ('*/5 * * * *'), 6 with a leading seconds field ('15 */5 * * * *'), "
	                        "a macro ('@daily') or an interval ('30 seconds').")));
}

void
CheckSchedule(const char *schedule)
{
	ParsedInfo info = ParseToInfo(schedule);
	if (!info.ok)
		RaiseInvalidSchedule(schedule, info.error);
	if (!info.can_fire)
		ereport(NOTICE, (errmsg("schedule \"%s\" never fires", schedule), errdetail("%s", info.never_fires)));
	/* accepted for pg_cron compatibility, but never silently */
	if (info.ignored != nullptr)
		ereport(NOTICE, (errmsg("part of schedule \"%s\" is ignored", schedule),
		                 errdetail("Ignored as pg_cron ignores it: %s.", info.ignored),
		                 errhint("Remove it, or check that the schedule says what you mean.")));
}

} // namespace js::pg

extern "C" {

PG_FUNCTION_INFO_V1(job_stagger_next_runs);
PG_FUNCTION_INFO_V1(job_stagger_next_fire);
PG_FUNCTION_INFO_V1(job_stagger_describe);
PG_FUNCTION_INFO_V1(job_stagger_check_schedule);
PG_FUNCTION_INFO_V1(job_stagger_schedule_info);

/*
 * stagger_next_runs(schedule text, after timestamptz, n integer, timezone text DEFAULT '')
 *   RETURNS SETOF timestamptz
 * The next n fire instants strictly after `after`, in `timezone` ('':
 * job_stagger.timezone; the 0.1-0.6 declaration has no fourth argument).
 * Computed kNextRunsChunk at a time into a fixed buffer and appended to the
 * tuplestore (which spills to disk past work_mem), with
 * CHECK_FOR_INTERRUPTS() between chunks: memory stays bounded and a huge n
 * obeys statement_timeout and pg_cancel_backend.
 */
Datum
job_stagger_next_runs(PG_FUNCTION_ARGS)
{
	char *zone = PG_NARGS() > 3 ? text_to_cstring(PG_GETARG_TEXT_PP(3)) : nullptr;
	if (zone != nullptr && zone[0] == '\0')
		zone = nullptr;
	if (zone != nullptr)
		js::pg::CheckTimeZone(zone);
	char *schedule = text_to_cstring(PG_GETARG_TEXT_PP(0));
	TimestampTz after = PG_GETARG_TIMESTAMPTZ(1);
	int32 n = PG_GETARG_INT32(2);

	if (n < 0 || n > kMaxNextRuns)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("n must be between 0 and %d", kMaxNextRuns)));
	if (TIMESTAMP_NOT_FINITE(after))
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("after must be a finite timestamp")));
	js::pg::CheckSchedule(schedule);

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	ReturnSetInfo *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
	int64 *instants = static_cast<int64 *>(palloc(sizeof(int64) * kNextRunsChunk));
	int64 t = js::pg::TimestampToInstant(after);
	int done = 0;
	while (done < n) {
		CHECK_FOR_INTERRUPTS();
		int want = Min(n - done, kNextRunsChunk);
		int got = NextRunsChunk(schedule, zone, t, want, instants);
		for (int i = 0; i < got; i++) {
			Datum value = TimestampTzGetDatum(js::pg::InstantToTimestamp(instants[i]));
			bool isnull = false;
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &value, &isnull);
		}
		done += got;
		if (got < want)
			break; /* the schedule fires no more */
		t = instants[got - 1];
	}
	pfree(instants);
	return (Datum)0;
}

/*
 * job_stagger.next_fire(schedule text, offset_seconds integer, timezone text,
 *   last_nominal timestamptz, after timestamptz) RETURNS timestamptz (STRICT)
 * The next effective fire instant after `after` of a job with this schedule,
 * configured offset and zone ('': job_stagger.timezone), as the scheduler
 * computes it (core::NextEffectiveFire): the offset applies when
 * job_stagger.enabled is on and the schedule has 5 fields, and a slot whose
 * nominal instant is not after `last_nominal` (the job's last slot;
 * '-infinity': none) is not repeated. NULL when the job never fires on its
 * own (@reboot, an impossible date) and for input the scheduler would not
 * run (a schedule that does not parse, an offset outside 0-59, an unknown
 * zone, an infinite `after`): the job_status view calls it for every job and
 * must not fail.
 */
Datum
job_stagger_next_fire(PG_FUNCTION_ARGS)
{
	char *schedule = text_to_cstring(PG_GETARG_TEXT_PP(0));
	int32 offset = PG_GETARG_INT32(1);
	char *zone = text_to_cstring(PG_GETARG_TEXT_PP(2));
	if (zone[0] == '\0')
		zone = nullptr;
	TimestampTz last = PG_GETARG_TIMESTAMPTZ(3);
	bool has_last = !TIMESTAMP_NOT_FINITE(last);
	TimestampTz after = PG_GETARG_TIMESTAMPTZ(4);
	if (offset < 0 || offset > 59 || TIMESTAMP_NOT_FINITE(after))
		PG_RETURN_NULL();
	bool enabled = js::pg::guc_enabled;
	int64 after_s = js::pg::TimestampToInstant(after);
	int64 last_s = has_last ? js::pg::TimestampToInstant(last) : 0;
	bool found = false;
	int64 next = 0;
	js::pg::CallCpp([&] {
		js::core::ParseResult r = js::core::ParseSchedule(schedule);
		if (!r.ok)
			return;
		std::optional<js::core::TimeZone> tz =
		    zone != nullptr ? js::core::TimeZone::Load(zone) : std::optional(js::pg::CurrentTimeZone());
		if (!tz)
			return;
		std::optional<js::core::Instant> t = js::core::NextEffectiveFire(
		    r.schedule, offset, enabled, *tz, after_s, has_last ? std::optional(last_s) : std::nullopt);
		found = t.has_value();
		next = t.value_or(0);
	});
	if (!found)
		PG_RETURN_NULL();
	PG_RETURN_TIMESTAMPTZ(js::pg::InstantToTimestamp(next));
}

/* stagger_describe(schedule text) RETURNS text */
Datum
job_stagger_describe(PG_FUNCTION_ARGS)
{
	char *schedule = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char *description = nullptr;

	js::pg::CheckSchedule(schedule);
	js::pg::CallCpp([&] {
		js::core::ParseResult r = js::core::ParseSchedule(schedule);
		description = js::pg::PallocCopy(js::core::Describe(r.schedule));
	});
	PG_RETURN_TEXT_P(cstring_to_text(description));
}

/* job_stagger.check_schedule(schedule text) RETURNS void: ERROR if invalid, NOTICE if it never fires. */
Datum
job_stagger_check_schedule(PG_FUNCTION_ARGS)
{
	js::pg::CheckSchedule(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	PG_RETURN_VOID();
}

/*
 * job_stagger.schedule_info(schedule text, OUT valid boolean, OUT error text,
 *   OUT kind text, OUT fields integer, OUT can_fire boolean, OUT five_field_text text)
 * Never raises for bad input: callers (stagger_apply_cron) decide what invalid means.
 */
Datum
job_stagger_schedule_info(PG_FUNCTION_ARGS)
{
	ParsedInfo info = ParseToInfo(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	TupleDesc tupdesc;
	Datum values[6];
	bool nulls[6] = {false, false, false, false, false, false};

	if (get_call_result_type(fcinfo, nullptr, &tupdesc) != TYPEFUNC_COMPOSITE)
		ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("schedule_info must return a record")));
	tupdesc = BlessTupleDesc(tupdesc);

	values[0] = BoolGetDatum(info.ok);
	nulls[1] = info.error == nullptr;
	values[1] = nulls[1] ? (Datum)0 : CStringGetTextDatum(info.error);
	nulls[2] = info.kind == nullptr;
	values[2] = nulls[2] ? (Datum)0 : CStringGetTextDatum(info.kind);
	nulls[3] = info.fields == 0;
	values[3] = Int32GetDatum(info.fields);
	nulls[4] = !info.ok;
	values[4] = BoolGetDatum(info.can_fire);
	nulls[5] = info.five_field_text == nullptr;
	values[5] = nulls[5] ? (Datum)0 : CStringGetTextDatum(info.five_field_text);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

} /* extern "C" */
