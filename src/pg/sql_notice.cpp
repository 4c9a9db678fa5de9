/*
 * The NOTICE when written jobs collide (AFTER STATEMENT triggers on
 * job_stagger.jobs), and the row trigger's twin for statements: each new or
 * changed active job is judged against the backend's fire index
 * (job_cache.hpp), so a statement's jobs cost what their schedule classes
 * cost, not what all other jobs do.
 *
 * Not to flood the client: per top-level statement at most kMaxJobNotices
 * job NOTICEs, each naming at most kMaxNamesPerNotice colliding jobs ("and N
 * more"); the jobs past that are counted, and one summary NOTICE with their
 * number follows when the top-level statement ends (executor and utility
 * hooks track the nesting).
 */
#include "core/fire_index.hpp"
#include "pg/bridge.hpp"
#include "pg/guc.hpp"
#include "pg/job_cache.hpp"
#include "pg/notice.hpp"

#include <algorithm>
#include <string>
#include <vector>

extern "C" {
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
}

#include "pg/restored_row.hpp"

namespace {

constexpr int kMaxJobNotices = 20;
constexpr std::size_t kMaxNamesPerNotice = 10;

/* The NOTICE budget of the current top-level statement. */
struct Budget {
	LocalTransactionId lxid;
	TimestampTz statement;
	int shown;     /* job NOTICEs sent */
	int64 further; /* colliding jobs not shown */
};
Budget budget = {InvalidLocalTransactionId, 0, 0, 0};
int nesting = 0;

ExecutorRun_hook_type prev_run = nullptr;
ExecutorFinish_hook_type prev_finish = nullptr;
ExecutorEnd_hook_type prev_end = nullptr;
ProcessUtility_hook_type prev_utility = nullptr;

Budget &
CurrentBudget()
{
	if (budget.lxid != MyProc->lxid || budget.statement != GetCurrentStatementStartTimestamp())
		budget = Budget{MyProc->lxid, GetCurrentStatementStartTimestamp(), 0, 0};
	return budget;
}

const char *
WhenSuffix()
{
	return js::pg::guc_enabled ? "" : " once staggering is enabled";
}

/* At the end of a top-level statement: the jobs whose NOTICE was left out, in one line. */
void
EmitSummary()
{
	if (budget.further == 0 || budget.lxid != MyProc->lxid || budget.statement != GetCurrentStatementStartTimestamp())
		return;
	int64 further = budget.further;
	budget.further = 0;
	ereport(NOTICE, (errmsg(further == 1 ? "%lld more job written by this statement fires in the same second as "
	                                       "other jobs%s"
	                                     : "%lld more jobs written by this statement fire in the same second as "
	                                       "other jobs%s",
	                        static_cast<long long>(further), WhenSuffix()),
	                 errhint("See SELECT * FROM stagger_collisions();")));
}

void
NoticeExecutorRun(QueryDesc *query, ScanDirection direction, uint64 count, bool execute_once)
{
	nesting++;
	PG_TRY();
	{
		if (prev_run != nullptr)
			prev_run(query, direction, count, execute_once);
		else
			standard_ExecutorRun(query, direction, count, execute_once);
	}
	PG_FINALLY();
	{
		nesting--;
	}
	PG_END_TRY();
}

void
NoticeExecutorFinish(QueryDesc *query)
{
	nesting++;
	PG_TRY();
	{
		if (prev_finish != nullptr)
			prev_finish(query);
		else
			standard_ExecutorFinish(query);
	}
	PG_FINALLY();
	{
		nesting--;
	}
	PG_END_TRY();
}

void
NoticeExecutorEnd(QueryDesc *query)
{
	if (prev_end != nullptr)
		prev_end(query);
	else
		standard_ExecutorEnd(query);
	if (nesting == 0)
		EmitSummary();
}

void
NoticeUtility(PlannedStmt *pstmt, const char *query_string, bool read_only_tree, ProcessUtilityContext context,
              ParamListInfo params, QueryEnvironment *query_env, DestReceiver *dest, QueryCompletion *qc)
{
	nesting++;
	PG_TRY();
	{
		if (prev_utility != nullptr)
			prev_utility(pstmt, query_string, read_only_tree, context, params, query_env, dest, qc);
		else
			standard_ProcessUtility(pstmt, query_string, read_only_tree, context, params, query_env, dest, qc);
	}
	PG_FINALLY();
	{
		nesting--;
	}
	PG_END_TRY();
	if (nesting == 0)
		EmitSummary();
}

/* One row of a transition table. */
struct RowData {
	int64 jobid;
	bool active;
	int offset;
	char *schedule;
	char *timezone; /* "" = job_stagger.timezone */
};

/*
 * The rows of a transition table (palloc'd; NULL columns make a row inactive:
 * the table forbids them). skip_restored: leaves out rows created before this
 * transaction (restored by pg_restore, see jobs_validate), so a restore sends
 * no NOTICE.
 */
RowData *
ReadRows(Tuplestorestate *store, TupleDesc desc, int *count, bool skip_restored)
{
	*count = 0;
	if (store == nullptr)
		return nullptr;
	int n_jobid = SPI_fnumber(desc, "jobid"), n_active = SPI_fnumber(desc, "active");
	int n_offset = SPI_fnumber(desc, "offset_seconds"), n_schedule = SPI_fnumber(desc, "schedule");
	int n_zone = SPI_fnumber(desc, "timezone"); /* 0.7 */
	int n_created = SPI_fnumber(desc, "created_at");
	int capacity = 64;
	RowData *rows = static_cast<RowData *>(palloc(sizeof(RowData) * capacity));
	TupleTableSlot *slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	int pointer = tuplestore_alloc_read_pointer(store, EXEC_FLAG_REWIND);
	tuplestore_select_read_pointer(store, pointer);
	tuplestore_rescan(store);
	while (tuplestore_gettupleslot(store, true, false, slot)) {
		bool null_id = false, null_active = false, null_offset = false, null_schedule = false;
		Datum id = slot_getattr(slot, n_jobid, &null_id);
		Datum active = slot_getattr(slot, n_active, &null_active);
		Datum offset = slot_getattr(slot, n_offset, &null_offset);
		Datum schedule = slot_getattr(slot, n_schedule, &null_schedule);
		if (null_id)
			continue;
		if (skip_restored && n_created > 0) {
			bool null_created = false;
			Datum created = slot_getattr(slot, n_created, &null_created);
			if (js::pg::RestoredJobRow(null_created, created))
				continue;
		}
		if (*count == capacity) {
			capacity *= 2;
			rows = static_cast<RowData *>(repalloc(rows, sizeof(RowData) * capacity));
		}
		RowData &r = rows[(*count)++];
		r.jobid = DatumGetInt64(id);
		r.active = !null_active && DatumGetBool(active) && !null_offset && !null_schedule;
		r.offset = null_offset ? -1 : DatumGetInt32(offset);
		r.schedule = null_schedule ? pstrdup("") : TextDatumGetCString(schedule);
		bool null_zone = true;
		Datum zone = n_zone > 0 ? slot_getattr(slot, n_zone, &null_zone) : (Datum)0;
		r.timezone = null_zone ? pstrdup("") : TextDatumGetCString(zone);
	}
	ExecDropSingleTupleTableSlot(slot);
	return rows;
}

int
CompareRows(const void *a, const void *b)
{
	int64 x = static_cast<const RowData *>(a)->jobid, y = static_cast<const RowData *>(b)->jobid;
	return x < y ? -1 : (x > y ? 1 : 0);
}

/* jobids (ascending) of the written rows to judge: active ones, and for UPDATE only those newly active or moved. */
int64 *
JobsToJudge(TriggerData *trig, int *count)
{
	TupleDesc desc = RelationGetDescr(trig->tg_relation);
	int n_new = 0, n_old = 0;
	bool update = TRIGGER_FIRED_BY_UPDATE(trig->tg_event);
	RowData *fresh = ReadRows(trig->tg_newtable, desc, &n_new, !update);
	RowData *old = update ? ReadRows(trig->tg_oldtable, desc, &n_old, false) : nullptr;
	if (n_new > 1)
		qsort(fresh, n_new, sizeof(RowData), CompareRows);
	if (n_old > 1)
		qsort(old, n_old, sizeof(RowData), CompareRows);
	int64 *ids = static_cast<int64 *>(palloc(sizeof(int64) * (n_new + 1)));
	*count = 0;
	for (int i = 0; i < n_new; i++) {
		const RowData &n = fresh[i];
		if (!n.active)
			continue;
		if (old != nullptr) {
			RowData key = n;
			const RowData *o = static_cast<const RowData *>(bsearch(&key, old, n_old, sizeof(RowData), CompareRows));
			if (o == nullptr || (o->active && strcmp(o->schedule, n.schedule) == 0 && o->offset == n.offset &&
			                     strcmp(o->timezone, n.timezone) == 0))
				continue;
		}
		ids[(*count)++] = n.jobid;
	}
	return ids;
}

/* A job NOTICE's text and hint (palloc'd), or NULL when the job collides with none. */
struct JobNotice {
	char *message;
	char *hint;
};

/*
 * Judges one job (C++): fills `out` when it collides and is to be shown,
 * else only says whether it collides. The HINT names the nearest free offset
 * (as stagger_set_offset() would take it) or the least colliding one.
 */
bool
JudgeJob(js::core::FireIndex &index, const js::pg::JobMap &jobs, const std::map<std::string, int> &overrides,
         int64 jobid, bool show, JobNotice &out)
{
	auto it = jobs.find(jobid);
	if (it == jobs.end() || !it->second.schedule_ok)
		return false;
	const js::pg::CachedJob &job = it->second;
	auto o = overrides.find(job.name);
	const int offset = o != overrides.end() ? o->second : job.table_offset;
	if (!show)
		return index.CollidingCount(job.schedule_text, job.schedule, offset, jobid, 1, job.tz) > 0;
	const std::vector<std::int64_t> colliding = index.Colliding(job.schedule_text, job.schedule, offset, jobid, job.tz);
	if (colliding.empty())
		return false;
	std::string names;
	for (std::size_t k = 0; k < colliding.size() && k < kMaxNamesPerNotice; k++) {
		auto other = jobs.find(colliding[k]);
		names += (k > 0 ? ", \"" : "\"") + (other != jobs.end() ? other->second.name : std::string("?")) + "\"";
	}
	if (colliding.size() > kMaxNamesPerNotice)
		names += " and " + std::to_string(colliding.size() - kMaxNamesPerNotice) + " more";
	std::string message = "job \"" + job.name + "\" (offset " + std::to_string(offset) +
	                      ") fires in the same second as " + names + WhenSuffix();
	const bool shiftable = job.schedule.kind == js::core::ScheduleKind::kCron && !job.schedule.has_seconds_field;
	std::string hint;
	if (!shiftable) {
		hint = "Offsets move only 5-field schedules; change the seconds of this one instead.";
	} else {
		const js::core::FreeOffset free = index.NearestFree(job.schedule_text, job.schedule, offset, jobid, job.tz);
		if (free.free_offset) {
			hint = "The nearest free offset is " + std::to_string(*free.free_offset) + ": SELECT stagger_set_offset(" +
			       "%L" + ", " + std::to_string(*free.free_offset) + ");";
		} else {
			hint = "No offset is free for this schedule; offset " + std::to_string(free.least_colliding_offset) +
			       " collides with the fewest jobs (" + std::to_string(free.least_colliding_count) + ").";
		}
	}
	out.message = js::pg::PallocCopy(message);
	out.hint = js::pg::PallocCopy(hint);
	return true;
}

} // namespace

namespace js::pg {

void
InstallNoticeHooks()
{
	prev_run = ExecutorRun_hook;
	ExecutorRun_hook = NoticeExecutorRun;
	prev_finish = ExecutorFinish_hook;
	ExecutorFinish_hook = NoticeExecutorFinish;
	prev_end = ExecutorEnd_hook;
	ExecutorEnd_hook = NoticeExecutorEnd;
	prev_utility = ProcessUtility_hook;
	ProcessUtility_hook = NoticeUtility;
}

} // namespace js::pg

extern "C" {

PG_FUNCTION_INFO_V1(job_stagger_jobs_notice_collisions);

/*
 * AFTER INSERT / AFTER UPDATE statement trigger (transition tables new_rows,
 * and old_rows for UPDATE): a NOTICE for each written active job that fires
 * in the same second as another job once staggering is enabled.
 */
Datum
job_stagger_jobs_notice_collisions(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
		                errmsg("job_stagger.jobs_notice_collisions() must be called as a trigger")));
	TriggerData *trig = reinterpret_cast<TriggerData *>(fcinfo->context);
	if (!TRIGGER_FIRED_FOR_STATEMENT(trig->tg_event) || trig->tg_newtable == nullptr)
		ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
		                errmsg("job_stagger.jobs_notice_collisions() must be a statement trigger with a NEW TABLE")));
	int count = 0;
	int64 *ids = JobsToJudge(trig, &count);
	if (count == 0)
		return PointerGetDatum(nullptr);
	/* The statement's rows are visible to a cache (re)load from here on, as to a plpgsql trigger's queries. */
	CommandCounterIncrement();
	PushActiveSnapshot(GetTransactionSnapshot());
	js::pg::JudgeInputs &in = js::pg::PrepareJudgeInputs(nullptr);
	js::core::FireIndex &index = js::pg::ActiveFireIndex(in.overrides, in.overrides_text.c_str(), *in.tz, in.now);
	const js::pg::JobMap &jobs = js::pg::ActiveJobs();
	Budget &b = CurrentBudget();
	for (int i = 0; i < count; i++) {
		CHECK_FOR_INTERRUPTS();
		bool show = b.shown < kMaxJobNotices;
		bool collides = false;
		JobNotice notice = {nullptr, nullptr};
		js::pg::CallCpp([&] { collides = JudgeJob(index, jobs, in.overrides, ids[i], show, notice); });
		if (!collides)
			continue;
		if (!show) {
			b.further++;
			continue;
		}
		b.shown++;
		char *hint = notice.hint;
		if (strstr(hint, "%L") != nullptr) {
			/* the job name as a quoted literal, like format('%L') */
			auto job = jobs.find(ids[i]);
			const char *name = job != jobs.end() ? job->second.name.c_str() : "";
			char *at = strstr(hint, "%L");
			*at = '\0';
			hint = psprintf("%s%s%s", hint, quote_literal_cstr(name), at + 2);
		}
		ereport(NOTICE, (errmsg("%s", notice.message), errhint("%s", hint)));
	}
	PopActiveSnapshot();
	return PointerGetDatum(nullptr);
}

} /* extern "C" */
