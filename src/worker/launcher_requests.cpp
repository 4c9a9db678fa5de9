/*
 * Manual runs (stagger_run_now) and retries of failed runs: runs that do not
 * come from the planner. Both are rows of job_stagger.job_run_details written
 * 'starting' before the launcher starts them (by the caller's transaction, or
 * by the launcher's own transaction that records the failed attempt), so a
 * restart loses none: the next launcher finds them in the table.
 *
 * The launcher looks for new rows when a stagger_run_now() transaction
 * committed (the shared counter run_requests, which also sets its latch),
 * after it planned a retry, and after start-up. A row it took up is
 * remembered by runid (`known`) until it is no longer 'starting'; the runs of
 * a previous launcher still going (adopted) are known from the start. A row
 * waits here until its instant (a retry's backoff; a manual run at once),
 * then it is checked against the job as it is now and joins the runs waiting
 * for a worker, whose worker applies the overlap policy, the exclusive group
 * and the cap at its instant, as for a slot.
 *
 * C-shaped PostgreSQL code like the rest of the launcher; the decisions are
 * core::PlanRetry / core::CheckRetry (src/core/retry.hpp: noexcept, plain
 * values, called directly like core::DecideDue). All SQL is
 * schema-qualified (see launcher_db.cpp).
 */
#include "core/retry.hpp"
#include "pg/guc.hpp"

extern "C" {
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
}

#include "worker/launcher_loop.hpp"
#include "worker/launcher_spi.hpp"
#include "worker/shared.hpp"

namespace js::worker {

namespace {

List *waiting = NIL;      /* DueRun* (KeepRunCopy chunks): taken up, their instant not come yet */
HTAB *known = nullptr;    /* runids taken up (or adopted) whose row may still be 'starting' */
uint64 seen_requests = 0; /* Shared()->run_requests when the table was last read */
bool rescan = false;      /* read the table at the next tick (a retry was planned; start-up) */
MemoryContext requests_cxt = nullptr;
Retry request_retry = {"starting manual runs and retries", 0, 0, 0, 0, 0, false, false};

struct KnownEntry {
	int64 runid;
};

void
Remember(int64 runid)
{
	if (known == nullptr) {
		HASHCTL ctl;
		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(int64);
		ctl.entrysize = sizeof(KnownEntry);
		ctl.hcxt = requests_cxt;
		known = hash_create("job_stagger requested runs", 64, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	(void)hash_search(known, &runid, HASH_ENTER, nullptr);
}

bool
Known(int64 runid)
{
	return known != nullptr && hash_search(known, &runid, HASH_FIND, nullptr) != nullptr;
}

using spi::Execute;

/* A text column; "" when NULL. */
char *
TextAt(HeapTuple t, TupleDesc desc, int col, MemoryContext mcxt)
{
	char *value = spi::Text(t, desc, col, mcxt);
	return value != nullptr ? value : MemoryContextStrdup(mcxt, "");
}

/* Every 'starting' manual run and retry (the caller keeps those it does not know yet). */
DueRun *
LoadRequested(MemoryContext mcxt, int *count)
{
	if (SPI_execute("SELECT d.runid, d.jobid, d.job_name, d.command, d.database, d.username, d.roleid,"
	                " d.scheduled_at, d.nominal_at, d.offset_seconds, d.stagger_enabled, d.effective_schedule,"
	                " d.triggered_by OPERATOR(pg_catalog.=) 'retry', d.attempt"
	                " FROM job_stagger.job_run_details d"
	                " WHERE d.status OPERATOR(pg_catalog.=) 'starting'"
	                " AND d.triggered_by OPERATOR(pg_catalog.=) ANY ('{manual,retry}'::pg_catalog.text[])"
	                " ORDER BY d.scheduled_at, d.runid",
	                true, 0) != SPI_OK_SELECT)
		elog(ERROR, "job_stagger: could not read the requested runs");
	*count = static_cast<int>(SPI_processed);
	DueRun *runs = static_cast<DueRun *>(MemoryContextAllocZero(mcxt, sizeof(DueRun) * (*count + 1)));
	TupleDesc desc = SPI_tuptable->tupdesc;
	for (uint64 i = 0; i < SPI_processed; i++) {
		HeapTuple t = SPI_tuptable->vals[i];
		DueRun *r = &runs[i];
		r->runid = spi::Int64(t, desc, 1);
		r->jobid = spi::Int64(t, desc, 2);
		r->job_name = TextAt(t, desc, 3, mcxt);
		r->command = TextAt(t, desc, 4, mcxt);
		r->database = TextAt(t, desc, 5, mcxt);
		r->username = TextAt(t, desc, 6, mcxt);
		bool isnull = false;
		Datum role = SPI_getbinval(t, desc, 7, &isnull);
		r->roleoid = isnull ? InvalidOid : DatumGetObjectId(role);
		r->fire_at = spi::Time(t, desc, 8, 0);
		r->nominal_at = spi::Time(t, desc, 9, 0);
		r->applied_offset = spi::Int32(t, desc, 10);
		r->stagger_enabled = spi::Bool(t, desc, 11);
		r->effective_schedule = TextAt(t, desc, 12, mcxt);
		r->kind = spi::Bool(t, desc, 13) ? kDueRetry : kDueManual;
		r->attempt = spi::Int32(t, desc, 14);
		r->exclusive_group = MemoryContextStrdup(mcxt, "");
	}
	return runs;
}

/*
 * The job of a requested run as it is now: false when it is gone. Fills the
 * run's settings (overlap, timeout, group); *active, *max_retries; *later_at:
 * the earliest later slot of the job already recorded, due at or before the
 * run's instant (DT_NOEND: none).
 */
bool
ReadJob(DueRun *run, MemoryContext mcxt, bool *active, int *max_retries, TimestampTz *later_at)
{
	Oid types[3] = {INT8OID, TIMESTAMPTZOID, TIMESTAMPTZOID};
	Datum values[3] = {Int64GetDatum(run->jobid), TimestampTzGetDatum(run->nominal_at),
	                   TimestampTzGetDatum(run->fire_at)};
	Execute("SELECT j.active, j.max_retries,"
	        " CASE WHEN j.overlap OPERATOR(pg_catalog.=) 'queue' THEN 1"
	        " WHEN j.overlap OPERATOR(pg_catalog.=) 'allow' THEN 2 ELSE 0 END,"
	        " COALESCE(LEAST(pg_catalog.ceil(EXTRACT(epoch FROM j.timeout) OPERATOR(pg_catalog.*) 1000), 2147483647),"
	        " 0)::pg_catalog.int4,"
	        " COALESCE(j.exclusive_group, ''), (j.group_policy OPERATOR(pg_catalog.=) 'wait')::pg_catalog.int4,"
	        " (SELECT pg_catalog.min(l.scheduled_at) FROM job_stagger.job_run_details l"
	        " WHERE l.jobid OPERATOR(pg_catalog.=) j.jobid AND l.nominal_at OPERATOR(pg_catalog.>) $2"
	        " AND l.triggered_by OPERATOR(pg_catalog.=) 'schedule' AND l.scheduled_at OPERATOR(pg_catalog.<=) $3)"
	        " FROM job_stagger.jobs j WHERE j.jobid OPERATOR(pg_catalog.=) $1",
	        3, types, values, nullptr, SPI_OK_SELECT);
	if (SPI_processed == 0)
		return false;
	HeapTuple t = SPI_tuptable->vals[0];
	TupleDesc desc = SPI_tuptable->tupdesc;
	*active = spi::Bool(t, desc, 1);
	*max_retries = spi::Int32(t, desc, 2);
	run->overlap = spi::Int32(t, desc, 3);
	run->timeout_ms = spi::Int32(t, desc, 4);
	run->exclusive_group = TextAt(t, desc, 5, mcxt);
	run->group_policy = spi::Int32(t, desc, 6);
	*later_at = spi::Time(t, desc, 7, DT_NOEND);
	return true;
}

void
CloseRun(int64 runid, const char *status, const char *message)
{
	(void)UpdateRunFinished(runid, status, message, 0, GetCurrentTimestamp(), 0);
}

const char *
VerdictMessage(core::RetryVerdict verdict, const DueRun *run, int max_retries, TimestampTz later_at)
{
	switch (verdict) {
	case core::RetryVerdict::kJobGone:
		return "skipped: the job was unscheduled before this retry began";
	case core::RetryVerdict::kInactive:
		return "skipped: the job was deactivated before this retry began";
	case core::RetryVerdict::kLimitLowered:
		return psprintf("skipped: the job's max_retries was lowered to %d before this retry (attempt %d) began",
		                max_retries, run->attempt);
	case core::RetryVerdict::kSuperseded: {
		char *due = pstrdup(timestamptz_to_str(run->fire_at));
		return psprintf("skipped: superseded by the job's next slot at %s (this retry was due at %s)",
		                timestamptz_to_str(later_at), due);
	}
	default:
		return nullptr;
	}
}

/* What the transaction decided for one requested run. */
enum RequestAction : int {
	kWait = 0, /* its instant has not come */
	kStart,    /* checked: joins `pending` once committed */
	kClosed,   /* recorded final (skipped, failed) */
};

struct RequestArgs {
	bool scan;
	TimestampTz upto;
	DueRun *runs; /* the waiting ones, then the ones read now */
	int nwaiting;
	int nruns;
	int *action;
	int64 *starting; /* runids still 'starting' (scan only) */
	int nstarting;
	MemoryContext cxt; /* the tick's */
};

/* Checks one requested run whose instant came against its job; decides start or close. */
int
CheckRequested(DueRun *run, MemoryContext mcxt)
{
	bool active = false;
	int max_retries = 0;
	TimestampTz later_at = DT_NOEND;
	bool exists = ReadJob(run, mcxt, &active, &max_retries, &later_at);
	if (run->kind == kDueRetry) {
		TimestampTz next_slot = exists && active ? NextSlotOf(run->jobid) : DT_NOEND;
		core::RetryVerdict verdict =
		    core::CheckRetry(exists, active, max_retries, run->attempt, run->fire_at, next_slot, later_at != DT_NOEND);
		if (verdict != core::RetryVerdict::kRun) {
			const char *message =
			    VerdictMessage(verdict, run, max_retries, later_at != DT_NOEND ? later_at : next_slot);
			CloseRun(run->runid, "skipped", message);
			ereport(LOG, (errmsg("job_stagger: retry run " INT64_FORMAT " (attempt %d) of job " INT64_FORMAT
			                     " does not run: %s",
			                     run->runid, run->attempt, run->jobid, message)));
			return kClosed;
		}
	} else if (!exists) {
		/* a manual run of an inactive job runs (that is what it is for); one of a deleted job cannot */
		CloseRun(run->runid, "skipped", "skipped: the job was unscheduled before this manual run began");
		return kClosed;
	}
	char *error = nullptr;
	if (!ResolveTarget(run, mcxt, &error)) {
		CloseRun(run->runid, "failed", error);
		return kClosed;
	}
	if (run->kind == kDueRetry)
		ereport(LOG,
		        (errmsg("job_stagger: retry run " INT64_FORMAT " (attempt %d) of job " INT64_FORMAT " \"%s\" starts",
		                run->runid, run->attempt, run->jobid, run->job_name)));
	return kStart;
}

void
RequestWork(void *arg)
{
	RequestArgs *a = static_cast<RequestArgs *>(arg);
	int nread = 0;
	DueRun *read = a->scan ? LoadRequested(a->cxt, &nread) : nullptr;
	/* the runs waiting here, then the rows this launcher does not know yet */
	DueRun *runs = static_cast<DueRun *>(MemoryContextAlloc(a->cxt, sizeof(DueRun) * (a->nwaiting + nread + 1)));
	memcpy(runs, a->runs, sizeof(DueRun) * a->nwaiting);
	int n = a->nwaiting;
	a->starting = static_cast<int64 *>(MemoryContextAlloc(a->cxt, sizeof(int64) * (nread + 1)));
	a->nstarting = 0;
	for (int i = 0; i < nread; i++) {
		a->starting[a->nstarting++] = read[i].runid;
		if (!Known(read[i].runid))
			runs[n++] = read[i];
	}
	a->runs = runs;
	a->nruns = n;
	a->action = static_cast<int *>(MemoryContextAllocZero(a->cxt, sizeof(int) * (n + 1)));
	for (int i = 0; i < n; i++)
		a->action[i] = runs[i].fire_at <= a->upto ? CheckRequested(&runs[i], a->cxt) : kWait;
}

/* After a scan: forget the runids whose rows are no longer 'starting' (they never are again). */
void
PruneKnown(const int64 *starting, int nstarting)
{
	if (known == nullptr)
		return;
	HTAB *still = nullptr;
	HASHCTL ctl;
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(int64);
	ctl.entrysize = sizeof(KnownEntry);
	ctl.hcxt = requests_cxt;
	still = hash_create("job_stagger requested runs", Max(nstarting, 64), &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	for (int i = 0; i < nstarting; i++)
		if (Known(starting[i]))
			(void)hash_search(still, &starting[i], HASH_ENTER, nullptr);
	hash_destroy(known);
	known = still;
}

} // namespace

void
StartRequests(const int64 *adopted, int nadopted)
{
	DropRequests();
	for (int i = 0; i < nadopted; i++)
		Remember(adopted[i]);
	seen_requests = pg_atomic_read_u64(&Shared()->run_requests);
	rescan = true;
}

void
DropRequests()
{
	if (requests_cxt == nullptr)
		requests_cxt = AllocSetContextCreate(TopMemoryContext, "job_stagger requests", ALLOCSET_SMALL_SIZES);
	list_free_deep(waiting);
	waiting = NIL;
	if (known != nullptr)
		hash_destroy(known);
	known = nullptr;
	rescan = false;
}

void
TakeRequestedRuns(TimestampTz now, TimestampTz upto)
{
	uint64 requests = pg_atomic_read_u64(&Shared()->run_requests);
	bool scan = rescan || requests != seen_requests;
	bool due = false;
	ListCell *lc;
	foreach (lc, waiting)
		due |= static_cast<DueRun *>(lfirst(lc))->fire_at <= upto;
	if ((!scan && !due) || !RetryDue(&request_retry, now))
		return;
	RequestArgs args = {};
	args.scan = scan;
	args.upto = upto;
	args.cxt = CurrentMemoryContext;
	args.nwaiting = list_length(waiting);
	args.runs = static_cast<DueRun *>(palloc(sizeof(DueRun) * (args.nwaiting + 1)));
	int i = 0;
	foreach (lc, waiting)
		args.runs[i++] = *static_cast<DueRun *>(lfirst(lc));
	bool was_rescan = rescan;
	rescan = false; /* a retry planned while this runs asks again */
	if (!TryWork(&request_retry, "job_stagger: starting manual runs and retries", RequestWork, &args,
	             "Manual runs and retries stay recorded as 'starting' and are taken up on the retry.")) {
		rescan |= was_rescan;
		return;
	}
	if (scan) {
		seen_requests = requests;
		PruneKnown(args.starting, args.nstarting);
	}
	/* The copies in args.runs point into the old chunks: keep the survivors first, then free the old list. */
	List *still = NIL;
	MemoryContext old = MemoryContextSwitchTo(requests_cxt);
	for (int k = 0; k < args.nruns; k++) {
		DueRun *run = &args.runs[k];
		Remember(run->runid);
		if (args.action[k] == kWait)
			still = lappend(still, KeepRunCopy(run));
		else if (args.action[k] == kStart) {
			run->start = true;
			QueueRecordedRun(run);
		}
	}
	MemoryContextSwitchTo(old);
	list_free_deep(waiting);
	waiting = still;
}

TimestampTz
NextRequestWake()
{
	if (Shared() != nullptr && pg_atomic_read_u64(&Shared()->run_requests) != seen_requests)
		return Max(GetCurrentTimestamp(), RetryAt(&request_retry));
	if (rescan)
		return Max(GetCurrentTimestamp(), RetryAt(&request_retry));
	TimestampTz wake = DT_NOEND;
	ListCell *lc;
	foreach (lc, waiting)
		wake = Min(wake, static_cast<DueRun *>(lfirst(lc))->fire_at);
	if (wake == DT_NOEND)
		return wake;
	return Max(wake - static_cast<int64>(js::pg::guc_prestart_lead_ms) * 1000, RetryAt(&request_retry));
}

void
PlanRetryAfter(int64 runid, TimestampTz ended_at)
{
	Oid types[1] = {INT8OID};
	Datum values[1] = {Int64GetDatum(runid)};
	Execute("SELECT d.attempt, d.triggered_by OPERATOR(pg_catalog.=) 'manual', d.nominal_at, d.jobid,"
	        " j.jobid IS NOT NULL, COALESCE(j.active, false), COALESCE(j.max_retries, 0),"
	        " COALESCE(pg_catalog.floor(EXTRACT(epoch FROM j.retry_delay) OPERATOR(pg_catalog.*) 1000000),"
	        " 0)::pg_catalog.int8, d.status, d.job_name"
	        " FROM job_stagger.job_run_details d LEFT JOIN job_stagger.jobs j ON j.jobid OPERATOR(pg_catalog.=) d.jobid"
	        " WHERE d.runid OPERATOR(pg_catalog.=) $1",
	        1, types, values, nullptr, SPI_OK_SELECT);
	if (SPI_processed == 0)
		return;
	HeapTuple t = SPI_tuptable->vals[0];
	TupleDesc desc = SPI_tuptable->tupdesc;
	int attempt = spi::Int32(t, desc, 1);
	bool manual = spi::Bool(t, desc, 2);
	TimestampTz nominal_at = spi::Time(t, desc, 3, 0);
	int64 jobid = spi::Int64(t, desc, 4);
	bool exists = spi::Bool(t, desc, 5);
	bool active = spi::Bool(t, desc, 6);
	int max_retries = spi::Int32(t, desc, 7);
	int64 delay_us = spi::Int64(t, desc, 8);
	char *status = SPI_getvalue(t, desc, 9);
	char *job_name = SPI_getvalue(t, desc, 10);
	if (ended_at == 0)
		ended_at = GetCurrentTimestamp();
	core::RetryPlan plan = core::PlanRetry(true, manual, attempt, max_retries, exists && active, ended_at, delay_us);
	if (!plan.retry)
		return;
	/* A later slot of the job already recorded, due at or before the retry, or its next one: the retry is superseded.
	 */
	Oid ltypes[3] = {INT8OID, TIMESTAMPTZOID, TIMESTAMPTZOID};
	Datum lvalues[3] = {Int64GetDatum(jobid), TimestampTzGetDatum(nominal_at), TimestampTzGetDatum(plan.at_us)};
	Execute("SELECT pg_catalog.min(l.scheduled_at) FROM job_stagger.job_run_details l"
	        " WHERE l.jobid OPERATOR(pg_catalog.=) $1 AND l.nominal_at OPERATOR(pg_catalog.>) $2"
	        " AND l.triggered_by OPERATOR(pg_catalog.=) 'schedule' AND l.scheduled_at OPERATOR(pg_catalog.<=) $3",
	        3, ltypes, lvalues, nullptr, SPI_OK_SELECT);
	TimestampTz later_at = spi::Time(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, DT_NOEND);
	TimestampTz next_slot = NextSlotOf(jobid);
	core::RetryVerdict verdict =
	    core::CheckRetry(true, true, max_retries, plan.attempt, plan.at_us, next_slot, later_at != DT_NOEND);
	char *due = pstrdup(timestamptz_to_str(plan.at_us));
	const char *message = nullptr;
	if (verdict == core::RetryVerdict::kSuperseded)
		message = psprintf("skipped: superseded by the job's next slot at %s (this retry would have been due at %s)",
		                   timestamptz_to_str(later_at != DT_NOEND ? later_at : next_slot), due);
	/* The retry's row: the slot's identity (nominal_at) and what it runs, as the attempt that failed recorded them. */
	Oid itypes[5] = {INT8OID, TIMESTAMPTZOID, INT4OID, TEXTOID, TEXTOID};
	char inulls[6] = "     ";
	Datum ivalues[5] = {Int64GetDatum(runid), TimestampTzGetDatum(plan.at_us), Int32GetDatum(plan.attempt),
	                    CStringGetTextDatum(message != nullptr ? "skipped" : "starting"),
	                    message != nullptr ? CStringGetTextDatum(message) : (Datum)0};
	if (message == nullptr)
		inulls[4] = 'n';
	Execute("INSERT INTO job_stagger.job_run_details (jobid, job_name, username, database, command, status,"
	        " return_message, scheduled_at, nominal_at, stagger_enabled, offset_seconds, effective_schedule,"
	        " triggered_by, ended_at, roleid, exclusive_group, attempt)"
	        " SELECT d.jobid, d.job_name, d.username, d.database, d.command, $4, $5, $2, d.nominal_at,"
	        " d.stagger_enabled, d.offset_seconds, d.effective_schedule, 'retry',"
	        " CASE WHEN $4 OPERATOR(pg_catalog.<>) 'starting' THEN pg_catalog.clock_timestamp() END,"
	        " d.roleid, d.exclusive_group, $3"
	        " FROM job_stagger.job_run_details d WHERE d.runid OPERATOR(pg_catalog.=) $1 RETURNING runid",
	        5, itypes, ivalues, inulls, SPI_OK_INSERT_RETURNING);
	int64 retry_runid = spi::Int64(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	if (message != nullptr) {
		ereport(LOG,
		        (errmsg("job_stagger: run " INT64_FORMAT " of job " INT64_FORMAT " \"%s\" %s (attempt %d); not "
		                "retried: the job's next slot comes first",
		                runid, jobid, job_name != nullptr ? job_name : "", status != nullptr ? status : "", attempt)));
		return;
	}
	ereport(LOG, (errmsg("job_stagger: run " INT64_FORMAT " of job " INT64_FORMAT " \"%s\" %s (attempt %d of %d); "
	                     "retry at %s (run " INT64_FORMAT ")",
	                     runid, jobid, job_name != nullptr ? job_name : "", status != nullptr ? status : "", attempt,
	                     max_retries + 1, due, retry_runid)));
	rescan = true;
}

} // namespace js::worker
