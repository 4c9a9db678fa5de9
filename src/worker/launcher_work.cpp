/*
 * A unit of the launcher's catalog work that may fail and is retried: one
 * transaction, run in a plain C frame under PG_TRY. An ERROR (a lock timeout
 * on a table a user has locked, a statement cancelled, ...) aborts the
 * transaction and returns false instead of ending the launcher; the caller
 * keeps what the transaction was to record and tries again after a short,
 * growing delay (lock waits: 250 ms doubling to 4 s; anything else, such
 * as a full disk: 1 s doubling to 10 s). Lines are rate-limited: one WARNING
 * with a HINT when a streak of failures begins (or its error changes), a
 * reminder every kLogIntervalUsecs while it lasts, one LOG when it ends.
 *
 * C-shaped PostgreSQL code: no C++ object lives in these frames.
 */
extern "C" {
#include "postgres.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/proc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
}

#include "worker/launcher_db.hpp"
#include "worker/launcher_loop.hpp"

namespace js::worker {

namespace {

/* Lock waits are short: retried soon. Anything else (a full disk, a failing trigger) backs off further. */
constexpr long kLockRetryFirstMs = 250;
constexpr long kLockRetryMaxMs = 4000;
constexpr long kRetryFirstMs = 1000;
constexpr long kRetryMaxMs = 10000; /* an attempt costs next to nothing; recovery within 10 s */
/* A rows-left-over attempt (some rows recorded, some not) is repeated this soon: the rest keeps firing. */
constexpr long kPartialRetryMs = 1000;
/* While a streak lasts, the same failure is logged again only this often (a new kind of error at once). */
constexpr int64 kLogIntervalUsecs = 5 * 60 * USECS_PER_SEC;

long
Backoff(int failures, bool lock)
{
	long ms = lock ? kLockRetryFirstMs : kRetryFirstMs;
	long max_ms = lock ? kLockRetryMaxMs : kRetryMaxMs;
	for (int i = 1; i < failures && ms < max_ms; i++)
		ms *= 2;
	return Min(ms, max_ms);
}

/* What to do about the error, by its SQLSTATE (NULL when there is nothing specific to say). */
const char *
FailureHint(const ErrorData *edata)
{
	int code = edata->sqlerrcode;
	if (code == ERRCODE_LOCK_NOT_AVAILABLE)
		return psprintf("A session holds a conflicting lock on a job_stagger table (see pg_locks); the launcher "
		                "waits at most lock_timeout (%d ms) for a lock.",
		                LockTimeout);
	if (ERRCODE_TO_CATEGORY(code) == ERRCODE_INSUFFICIENT_RESOURCES)
		return "The file system holding the table is full (or out of quota): free space there, or move the table "
		       "(ALTER TABLE job_stagger.job_run_details SET TABLESPACE ...). The launcher keeps running and "
		       "records what it kept once it can write again.";
	if (code == ERRCODE_RAISE_EXCEPTION || (edata->context != nullptr && strstr(edata->context, "PL/pgSQL") != nullptr))
		return "A trigger or rule added to a job_stagger table raised this error: list them with SELECT tgname, "
		       "tgrelid::regclass FROM pg_trigger WHERE tgrelid IN ('job_stagger.job_run_details'::regclass, "
		       "'job_stagger.scheduler_state'::regclass) AND NOT tgisinternal; and fix or drop the one at fault.";
	if (ERRCODE_TO_CATEGORY(code) == ERRCODE_INTEGRITY_CONSTRAINT_VIOLATION)
		return "A constraint added to a job_stagger table rejects the scheduler's rows: drop or fix it "
		       "(\\d job_stagger.job_run_details in psql).";
	if (code == ERRCODE_UNDEFINED_TABLE || code == ERRCODE_UNDEFINED_COLUMN || code == ERRCODE_UNDEFINED_FUNCTION)
		return "An object of the extension is missing or was changed by hand: ALTER EXTENSION job_stagger UPDATE, "
		       "or DROP and CREATE EXTENSION job_stagger (that drops the jobs and their history).";
	return nullptr;
}

/* The WARNING for a failed attempt (the first of a streak, a new kind of error, then every kLogIntervalUsecs). */
void
ReportFailure(Retry *retry, ErrorData *edata, const char *kept, long backoff_ms, TimestampTz now)
{
	/* Also across streaks: a table that flaps between full and not is not logged every time. */
	if (edata->sqlerrcode == retry->last_sqlerrcode && now - retry->last_logged < kLogIntervalUsecs)
		return;
	retry->last_logged = now;
	retry->logged = true;
	retry->last_sqlerrcode = edata->sqlerrcode;
	bool lock = edata->sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE;
	/* A lock wait while a statement is parsed leaves the statement in internalquery, not in the context. */
	const char *where = edata->context;
	if (where == nullptr && edata->internalquery != nullptr)
		where = psprintf("SQL statement \"%s\"", edata->internalquery);
	const char *hint = FailureHint(edata);
	ereport(WARNING,
	        (errmsg("job_stagger: %s %s (will retry): %s", retry->what, lock ? "blocked by a lock" : "failed",
	                edata->message != nullptr ? edata->message : "unknown error"),
	         errdetail("%s Attempt %d; the next one in %ld ms at the earliest; while this lasts the same error is "
	                   "logged again at most every %d minutes.%s%s",
	                   kept, retry->failures, backoff_ms, static_cast<int>(kLogIntervalUsecs / USECS_PER_SEC / 60),
	                   where != nullptr ? " While running: " : "", where != nullptr ? where : ""),
	         hint != nullptr ? errhint("%s", hint) : 0));
}

} // namespace

bool
RetryDue(const Retry *retry, TimestampTz now)
{
	return retry->failures == 0 || retry->partial || now >= retry->next_attempt;
}

TimestampTz
RetryAt(const Retry *retry)
{
	return retry->failures == 0 ? DT_NOBEGIN : retry->next_attempt;
}

bool
RunWork(const char *activity, WorkFn fn, void *arg, ErrorData **error)
{
	MemoryContext caller_cxt = CurrentMemoryContext;
	volatile bool ok = true;
	*error = nullptr;
	PG_TRY();
	{
		BeginWork(activity);
		fn(arg);
		EndWork();
	}
	PG_CATCH();
	{
		HOLD_INTERRUPTS();
		MemoryContextSwitchTo(caller_cxt);
		*error = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		MemoryContextSwitchTo(caller_cxt);
		pgstat_report_activity(STATE_IDLE, nullptr);
		RESUME_INTERRUPTS();
		ok = false;
	}
	PG_END_TRY();
	FlushDetachedJobs(ok);
	return ok;
}

void
RetryFailed(Retry *retry, ErrorData *edata, const char *kept, bool partial)
{
	TimestampTz now = GetCurrentTimestamp();
	if (retry->failures++ == 0) {
		retry->first_failure = now;
		retry->logged = false;
	}
	retry->partial = partial;
	long backoff_ms =
	    partial ? kPartialRetryMs : Backoff(retry->failures, edata->sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE);
	retry->next_attempt = now + backoff_ms * 1000;
	ReportFailure(retry, edata, kept, backoff_ms, now);
}

void
RetryNow(Retry *retry)
{
	if (retry->failures > 0 && !retry->partial)
		retry->next_attempt = Min(retry->next_attempt, GetCurrentTimestamp());
}

void
RetrySucceeded(Retry *retry)
{
	if (retry->failures == 0)
		return;
	long secs = 0;
	int usecs = 0;
	TimestampDifference(retry->first_failure, GetCurrentTimestamp(), &secs, &usecs);
	if (retry->logged) /* a streak that was not logged ends quietly too */
		ereport(LOG, (errmsg("job_stagger: %s succeeded after %d retries (%ld.%01d s)", retry->what, retry->failures,
		                     secs, usecs / 100000)));
	retry->failures = 0;
	retry->partial = false;
	retry->logged = false;
}

/*
 * Runs fn(arg) between BeginWork and EndWork. On ERROR: aborts the
 * transaction, logs (rate-limited), schedules the next attempt and returns
 * false. `kept` is a sentence for the log: what the caller keeps, what happens next.
 */
bool
TryWork(Retry *retry, const char *activity, WorkFn fn, void *arg, const char *kept)
{
	ErrorData *edata = nullptr;
	if (RunWork(activity, fn, arg, &edata)) {
		RetrySucceeded(retry);
		return true;
	}
	/* a housekeeping slice cancelled on purpose is no failure: the caller takes it up again */
	if (!HousekeepingCancelled(edata->sqlerrcode))
		RetryFailed(retry, edata, kept, false);
	FreeErrorData(edata);
	return false;
}

} // namespace js::worker
