/*
 * SQL functions of the stagger feature that work on single values:
 * job_stagger.effective_schedule (behind stagger_apply_cron) and
 * job_stagger.offset_overrides (job_stagger.offsets parsed, behind
 * stagger_offset). Collision analysis and the summary are in sql_collisions.cpp.
 */
#include "core/cron.hpp"
#include "core/stagger.hpp"
#include "pg/bridge.hpp"
#include "pg/guc.hpp"
#include "pg/overrides.hpp"

#include <string>

extern "C" {
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"
}

namespace js::pg {

OverrideList
ParseOverrides(const char *text)
{
	OverrideList out = {};
	CallCpp([&] {
		core::OffsetOverrides parsed = core::ParseOffsetOverrides(text != nullptr ? text : "");
		out.names = static_cast<char **>(PallocOrThrow(sizeof(char *) * (parsed.offsets.size() + 1)));
		out.offsets = static_cast<int *>(PallocOrThrow(sizeof(int) * (parsed.offsets.size() + 1)));
		for (const auto &[name, offset] : parsed.offsets) {
			out.names[out.count] = PallocCopy(name);
			out.offsets[out.count++] = offset;
		}
		out.errors = static_cast<char **>(PallocOrThrow(sizeof(char *) * (parsed.errors.size() + 1)));
		for (const std::string &e : parsed.errors)
			out.errors[out.nerrors++] = PallocCopy(e);
	});
	return out;
}

void
WarnOverrideErrors(const OverrideList &list)
{
	for (int i = 0; i < list.nerrors; i++)
		ereport(WARNING, (errmsg("job_stagger.offsets: %s", list.errors[i]),
		                  errdetail("The entry is ignored; the job keeps its offset from job_stagger.jobs.")));
}

OverrideList
ReadSessionOverrides()
{
	OverrideList list = ParseOverrides(guc_offsets);
	WarnOverrideErrors(list);
	return list;
}

} // namespace js::pg

extern "C" {

PG_FUNCTION_INFO_V1(job_stagger_effective_schedule);
PG_FUNCTION_INFO_V1(job_stagger_offset_overrides);

/*
 * job_stagger.effective_schedule(schedule text, offset_seconds integer, enabled boolean) RETURNS text
 * The 6-field form with the offset as seconds field for a 5-field cron when
 * enabled and offset > 0; the input unchanged otherwise (also when invalid).
 */
Datum
job_stagger_effective_schedule(PG_FUNCTION_ARGS)
{
	char *schedule = text_to_cstring(PG_GETARG_TEXT_PP(0));
	int32 offset = PG_GETARG_INT32(1);
	bool enabled = PG_GETARG_BOOL(2);
	char *result = schedule;

	js::pg::CallCpp([&] {
		js::core::ParseResult parsed = js::core::ParseSchedule(schedule);
		if (parsed.ok)
			result = js::pg::PallocCopy(
			    js::core::EffectiveScheduleText(parsed.schedule, schedule, static_cast<int>(offset), enabled));
	});
	PG_RETURN_TEXT_P(cstring_to_text(result));
}

/*
 * job_stagger.offset_overrides() RETURNS TABLE(job_name text, offset_seconds integer)
 * The valid entries of job_stagger.offsets; a WARNING for each invalid one.
 */
Datum
job_stagger_offset_overrides(PG_FUNCTION_ARGS)
{
	js::pg::OverrideList parsed = js::pg::ParseOverrides(js::pg::guc_offsets);

	js::pg::WarnOverrideErrors(parsed);
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	ReturnSetInfo *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
	for (int i = 0; i < parsed.count; i++) {
		Datum values[2] = {CStringGetTextDatum(parsed.names[i]), Int32GetDatum(parsed.offsets[i])};
		bool nulls[2] = {false, false};
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum)0;
}

} /* extern "C" */
