/*
 * A unit of the launcher's catalog work that may fail and is retried: one
 * transaction, run in a plain C frame under PG_TRY. An ERROR (a lock timeout
 * on a table a user has locked, a statement cancelled, ...) aborts the
 * transaction and returns false instead of ending the launcher; the caller
 * keeps what the transaction was to record and tries again after a short,
 * growing delay. Lines are rate-limited: one WARNING when a streak of
 * failures begins, one per kLogIntervalUsecs while it lasts, one LOG when it
 * ends.
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

constexpr long kRetryFirstMs = 250;
constexpr long kRetryMaxMs = 4000;
constexpr int64 kLogIntervalUsecs = 30 * USECS_PER_SEC;

long
Backoff(int failures)
{
	long ms = kRetryFirstMs;
	for (int i = 1; i < failures && ms < kRetryMaxMs; i++)
		ms *= 2;
	return Min(ms, kRetryMaxMs);
}

/* The WARNING for a failed attempt (the first of a streak, then every kLogIntervalUsecs). */
void
ReportFailure(Retry *retry, ErrorData *edata, const char *kept, long backoff_ms, TimestampTz now)
{
	if (retry->failures > 1 && now - retry->last_logged < kLogIntervalUsecs)
		return;
	retry->last_logged = now;
	bool lock = edata->sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE;
	/* A lock wait while a statement is parsed leaves the statement in internalquery, not in the context. */
	const char *where = edata->context;
	if (where == nullptr && edata->internalquery != nullptr)
		where = psprintf("SQL statement \"%s\"", edata->internalquery);
	ereport(WARNING,
	        (errmsg("job_stagger: %s %s (will retry): %s", retry->what, lock ? "blocked by a lock" : "failed",
	                edata->message != nullptr ? edata->message : "unknown error"),
	         errdetail("%s Attempt %d; the next one in %ld ms at the earliest.%s%s", kept, retry->failures, backoff_ms,
	                   where != nullptr ? " While running: " : "", where != nullptr ? where : ""),
	         lock ? errhint("A session holds a conflicting lock on a job_stagger table (see pg_locks); the launcher "
	                        "waits at most lock_timeout (%d ms) for a lock.",
	                        LockTimeout)
	              : 0));
}

} // namespace

bool
RetryDue(const Retry *retry, TimestampTz now)
{
	return retry->failures == 0 || now >= retry->next_attempt;
}

TimestampTz
RetryAt(const Retry *retry)
{
	return retry->failures == 0 ? DT_NOBEGIN : retry->next_attempt;
}

/*
 * Runs fn(arg) between BeginWork and EndWork. On ERROR: aborts the
 * transaction, logs (rate-limited), schedules the next attempt and returns
 * false. `kept` is a sentence for the log: what the caller keeps, what happens next.
 */
bool
TryWork(Retry *retry, const char *activity, WorkFn fn, void *arg, const char *kept)
{
	MemoryContext caller_cxt = CurrentMemoryContext;
	volatile bool ok = true;
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
		ErrorData *edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		MemoryContextSwitchTo(caller_cxt);
		pgstat_report_activity(STATE_IDLE, nullptr);
		RESUME_INTERRUPTS();
		/* a housekeeping slice cancelled on purpose is no failure: the caller takes it up again */
		if (!HousekeepingCancelled(edata->sqlerrcode)) {
			TimestampTz now = GetCurrentTimestamp();
			if (retry->failures++ == 0)
				retry->first_failure = now;
			long backoff_ms = Backoff(retry->failures);
			retry->next_attempt = now + backoff_ms * 1000;
			ReportFailure(retry, edata, kept, backoff_ms, now);
		}
		FreeErrorData(edata);
		ok = false;
	}
	PG_END_TRY();
	FlushDetachedJobs(ok);
	if (ok && retry->failures > 0) {
		long secs = 0;
		int usecs = 0;
		TimestampDifference(retry->first_failure, GetCurrentTimestamp(), &secs, &usecs);
		ereport(LOG, (errmsg("job_stagger: %s succeeded after %d retries (%ld.%01d s)", retry->what, retry->failures,
		                     secs, usecs / 100000)));
		retry->failures = 0;
	}
	return ok;
}

} // namespace js::worker
