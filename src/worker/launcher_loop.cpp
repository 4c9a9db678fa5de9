/*
 * The launcher's loop, its run slots and the job workers it starts.
 *
 * C-shaped PostgreSQL code: the frames here hold only plain data, so an ERROR
 * may unwind through them. Catalog work runs through TryWork
 * (launcher_work.cpp): an ERROR in it (a lock timeout, since users can lock
 * the job tables; a full disk; a trigger someone added) aborts that
 * transaction only, and what it was to record stays in memory for the retry:
 * worker reports in their run slots, due runs in `carry`. An ERROR outside
 * catalog work ends the launcher;
 * the postmaster restarts it after bgw_restart_time, and the new launcher
 * adopts the runs still going.
 */
#include "core/launcher_model.hpp"
#include "core/start_smoother.hpp"
#include "pg/bridge.hpp"
#include "pg/guc.hpp"

extern "C" {
#include "postgres.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
}

#include "worker/launcher_loop.hpp"
#include "worker/shared.hpp"

namespace js::worker {

static_assert(core::kOverlapAllow == kOverlapAllow, "core::DecideDue reads jobs.overlap as stored");

namespace {

/* While runs wait for a free slot, poll at least this often (worker exits also wake us). */
constexpr long kBacklogPollMs = 100;
/*
 * Job changes are re-read at most every 200 ms, and at most 5% of the time
 * (20 times the last reload's cost): a bulk load of thousands of jobs, one
 * transaction each, would otherwise re-read them all per commit.
 */
constexpr int64 kMinReloadIntervalUsecs = 200 * 1000;
constexpr int64 kReloadCostFactor = 20;

/* What a recording transaction reports back. */
enum RecordOutcome : int {
	kRecorded = 0,
	kRecordFailed, /* rolled back; retried */
	kNotInstalled, /* the extension was dropped */
};

MemoryContext launcher_cxt = nullptr;
MemoryContext tick_cxt = nullptr;
List *pending = NIL; /* DueRun* (one chunk each, in launcher_cxt): recorded, waiting for a worker */
uint64 seen_generation = 0;
TimestampTz last_reload_at = 0;
int64 reload_interval = kMinReloadIntervalUsecs;
int running_now = 0; /* runs executing at the last CollectEvents */
/*
 * Due runs not recorded yet (one chunk each, in launcher_cxt): their
 * recording transaction failed, or (on a retry, where every row is written in
 * its own subtransaction) their own row could not be written. They are not
 * fired; each attempt tries them again, with the slots due meanwhile. Beyond
 * job_stagger.catchup_window they become one 'skipped' ("missed ...") row per
 * job, so the carry stays bounded however long a table cannot be written.
 */
List *carry = NIL;
bool carry_has_reboot = false;
/*
 * Some row got through since recording began to fail: the table can be
 * written, only some rows cannot (a trigger or constraint rejecting them).
 * Then there is no backoff: the other jobs keep firing on time.
 */
bool streak_recorded_some = false;
Retry record_retry = {"recording runs", 0, 0, 0, 0, 0, false, false};
/* Worker reports (starts, outcomes) are recorded in a transaction of their own: a failing INSERT does not block them.
 */
Retry outcome_retry = {"recording run outcomes", 0, 0, 0, 0, 0, false, false};
/*
 * Runs recorded as 'starting' whose outcome is not recorded yet, by runid
 * (DueRun chunks in launcher_cxt): what is needed to write a run's row again
 * in full if it was deleted while the run was going.
 */
struct InFlight {
	int64 runid;
	DueRun *run;
};
HTAB *in_flight = nullptr;
/* Slots (index, generation) of runs going when the extension was dropped: their reports are not recorded. */
struct OrphanSlot {
	int slot;
	uint32 generation;
};
List *orphans = NIL;
Retry reload_retry = {"loading jobs", 0, 0, 0, 0, 0, false, false};
Retry startup_retry = {"start-up recovery", 0, 0, 0, 0, 0, false, false};
/* Reports of workers that ended before their command began are held back this long (HoldBackUnbegun). */
constexpr int64 kUnbegunGraceUsecs = 500 * 1000;
TimestampTz unbegun_held_until = 0; /* 0: none held back */
/* Start-up recovery is done: worker reports are recorded at exit (RecordBeforeExit). */
bool scheduling = false;
/* pg_authid changed (a role dropped?): reload, which deactivates the jobs of dropped roles. */
bool roles_changed = false;
/* Starts handed to each second (job_stagger.max_starts_per_second); C++, only through CallCpp. */
core::StartSmoother smoother;

void
NoteRolesChanged(Datum arg, int cacheid, uint32 hashvalue)
{
	roles_changed = true;
}

const char *
ResultStatus(RunResult result)
{
	switch (result) {
	case kResultSucceeded:
		return "succeeded";
	case kResultFailed:
		return "failed";
	case kResultTimedOut:
		return "timed_out";
	case kResultSkipped:
		return "skipped";
	default:
		return "crashed";
	}
}

/* Copies a DueRun and its strings into one chunk of launcher_cxt (freed with one pfree). */
DueRun *
KeepRun(const DueRun *run)
{
	constexpr int kStrings = 6;
	const char *strings[kStrings] = {
	    run->job_name,           run->command,
	    run->database,           run->username,
	    run->effective_schedule, run->exclusive_group != nullptr ? run->exclusive_group : ""};
	Size size = MAXALIGN(sizeof(DueRun));
	for (const char *s : strings)
		size += strlen(s) + 1;
	char *chunk = static_cast<char *>(MemoryContextAlloc(launcher_cxt, size));
	DueRun *copy = reinterpret_cast<DueRun *>(chunk);
	*copy = *run;
	char *p = chunk + MAXALIGN(sizeof(DueRun));
	char **targets[kStrings] = {&copy->job_name,           &copy->command,        &copy->database, &copy->username,
	                            &copy->effective_schedule, &copy->exclusive_group};
	for (int i = 0; i < kStrings; i++) {
		strcpy(p, strings[i]);
		*targets[i] = p;
		p += strlen(strings[i]) + 1;
	}
	return copy;
}

/*
 * Is a run of this job still waiting for a worker? (Runs ahead of their
 * instant get one at once unless the cap or the workers are exhausted.)
 */
bool
JobPending(int64 jobid)
{
	ListCell *lc;
	foreach (lc, pending) {
		if (static_cast<DueRun *>(lfirst(lc))->jobid == jobid)
			return true;
	}
	return false;
}

/*
 * The earlier run of the same job in this batch that starts late (the job's
 * catch-up run), or -1. Several late slots of a job make one late run; an
 * on-time slot is never skipped for a catch-up: its worker applies the
 * overlap policy at its instant, exactly.
 */
int
EarlierCatchUp(const DueRun *batch, int index, TimestampTz now)
{
	for (int i = 0; i < index; i++)
		if (batch[i].jobid == batch[index].jobid && batch[i].start && batch[i].fire_at < now)
			return i;
	return -1;
}

/*
 * job_stagger.max_starts_per_second: reserves the run's start second, the
 * first with room at or after its due second (or now, for a late run), at
 * most job_stagger.catchup_window after its slot; sets start_at and
 * start_delay_us when that is later. False when no second is free in the
 * window (the slot is then recorded as skipped, like a missed one).
 */
bool
SmoothStart(DueRun *run, TimestampTz now)
{
	run->smooth_second = 0;
	run->start_at = 0;
	run->start_delay_us = 0;
	int limit = js::pg::guc_max_starts_per_second;
	if (limit <= 0)
		return true;
	int64 due = run->fire_at / USECS_PER_SEC;
	int64 from = Max(due, now / USECS_PER_SEC);
	int64 latest = due + js::pg::guc_catchup_window_s;
	int64 second = -1;
	js::pg::CallCpp([&] { second = smoother.Reserve(from, latest, limit); });
	if (second < 0)
		return false;
	run->smooth_second = second;
	if (second > from) {
		run->start_at = Max(run->fire_at + (second - due) * USECS_PER_SEC, second * USECS_PER_SEC);
		run->start_delay_us = run->start_at - Max(run->fire_at, now);
	}
	return true;
}

/* Gives back the start second of a run that is not recorded to start after all (its row rolled back). */
void
UnsmoothStart(DueRun *run)
{
	if (run->smooth_second == 0)
		return;
	int64 second = run->smooth_second;
	js::pg::CallCpp([&] { smoother.Release(second); });
	run->smooth_second = 0;
	run->start_at = 0;
	run->start_delay_us = 0;
}

/*
 * Records due run `index` of the batch: missed and unresolvable ones are
 * final rows; the rest are marked to start (they join `pending` once the
 * transaction commits). What to do is core::DecideDue's call.
 */
void
RecordDueRun(DueRun *batch, int index, TimestampTz now)
{
	DueRun *run = &batch[index];
	char *error = nullptr;
	int catchup = run->kind == kDueMissed || run->fire_at >= now ? -1 : EarlierCatchUp(batch, index, now);
	core::DueAction action = core::DecideDue(run->kind == kDueMissed, run->overlap,
	                                         run->kind != kDueMissed && JobPending(run->jobid), catchup >= 0);
	if (action == core::DueAction::kRecordMissed) {
		/* timestamptz_to_str returns a static buffer: copy the first before the second overwrites it. */
		char *first = pstrdup(timestamptz_to_str(run->fire_at));
		char *message = run->missed_count > 1
		                    ? psprintf("missed %s" INT64_FORMAT " slots from %s to %s: the scheduler was not running "
		                               "(server down or restarting), was blocked (see the server log) or the clock "
		                               "jumped",
		                               run->missed_lower_bound ? "at least " : "", run->missed_count, first,
		                               timestamptz_to_str(run->missed_last))
		                    : pstrdup("missed: the scheduler was not running at this time (server down or restarting), "
		                              "was blocked (see the server log) or the clock jumped");
		InsertRun(run, "skipped", message);
		return;
	}
	if (action == core::DueAction::kSkipPreviousNotStarted) {
		InsertRun(run, "skipped",
		          "skipped: the previous run of this job has not started yet (every place under "
		          "job_stagger.max_running_jobs or every background worker is taken, or "
		          "job_stagger.max_starts_per_second delayed it)");
		return;
	}
	if (action == core::DueAction::kSkipCatchingUp) {
		InsertRun(run, "skipped",
		          psprintf("skipped: catching up: run " INT64_FORMAT " of an earlier late slot of this job runs now "
		                   "(one late run per job)",
		                   batch[catchup].runid));
		return;
	}
	if (!ResolveTarget(run, tick_cxt, &error)) {
		InsertRun(run, "failed", error);
		if (run->role_dropped)
			DetachJob(run->jobid, run->roleoid, run->job_name, run->username);
		return;
	}
	if (!SmoothStart(run, now)) {
		InsertRun(run, "skipped",
		          psprintf("skipped: job_stagger.max_starts_per_second (%d) left no start second free within "
		                   "job_stagger.catchup_window (%d s) of this slot",
		                   js::pg::guc_max_starts_per_second, js::pg::guc_catchup_window_s));
		return;
	}
	InsertRun(run, "starting", nullptr);
	run->start = true;
}

/* A hash table keyed by an int64 (runid, jobid) at the start of its entries, in `cxt`. */
HTAB *
Int64Hash(const char *name, Size entrysize, long size, MemoryContext cxt)
{
	HASHCTL ctl;
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(int64);
	ctl.entrysize = entrysize;
	ctl.hcxt = cxt;
	return hash_create(name, size, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

void
RememberInFlight(const DueRun *run)
{
	if (in_flight == nullptr)
		in_flight = Int64Hash("job_stagger runs in flight", sizeof(InFlight), 256, launcher_cxt);
	bool found = false;
	InFlight *entry = static_cast<InFlight *>(hash_search(in_flight, &run->runid, HASH_ENTER, &found));
	if (found)
		pfree(entry->run);
	entry->run = KeepRun(run);
}

DueRun *
FindInFlight(int64 runid)
{
	if (in_flight == nullptr)
		return nullptr;
	InFlight *entry = static_cast<InFlight *>(hash_search(in_flight, &runid, HASH_FIND, nullptr));
	return entry != nullptr ? entry->run : nullptr;
}

void
ForgetInFlight(int64 runid)
{
	if (in_flight == nullptr)
		return;
	bool found = false;
	InFlight *entry = static_cast<InFlight *>(hash_search(in_flight, &runid, HASH_FIND, &found));
	if (entry == nullptr)
		return;
	pfree(entry->run);
	hash_search(in_flight, &runid, HASH_REMOVE, nullptr);
}

/* A run whose row was written again, for the WARNING after commit. */
struct Rewritten {
	int64 runid;
	int64 jobid;
	const char *job_name;
	bool finished;
};

struct OutcomeArgs {
	const SlotEvent *events;
	int nevents;
	Rewritten *rewritten; /* nevents entries */
	int nrewritten;
	bool installed;
};

/*
 * Writes again in full the row of a run that is gone (TRUNCATE or DELETE of
 * job_run_details while the run was going): same runid, times and outcome.
 */
void
RewriteRun(OutcomeArgs *a, const SlotEvent *e, const char *status, const char *message, TimestampTz ended_at)
{
	const DueRun *run = FindInFlight(e->runid);
	if (run != nullptr)
		ReinsertRun(run, e->runid, status, message, e->started_at, ended_at, e->pid);
	else
		ReinsertUnknownRun(e->runid, e->jobid, e->fire_at, e->job_name, status, message, e->started_at, ended_at,
		                   e->pid);
	Rewritten *r = &a->rewritten[a->nrewritten++];
	r->runid = e->runid;
	r->jobid = e->jobid;
	r->job_name = run != nullptr ? run->job_name : e->job_name;
	r->finished = e->finished;
}

/* The outcome transaction's body: the starts and outcomes workers reported. */
void
OutcomeWork(void *arg)
{
	OutcomeArgs *a = static_cast<OutcomeArgs *>(arg);
	a->nrewritten = 0;
	a->installed = ExtensionInstalled();
	if (!a->installed)
		return;
	for (int i = 0; i < a->nevents; i++) {
		const SlotEvent *e = &a->events[i];
		/*
		 * A run whose worker ended before its command began, because the server
		 * is shutting down, stays 'starting': the next life (this server, or a
		 * promoted standby) runs it.
		 */
		if (ShutdownRequestPending && e->finished && e->started_at == 0 && e->result == kResultFailed)
			continue;
		if (e->finished) {
			const char *status = ResultStatus(static_cast<RunResult>(e->result));
			const char *message = e->message[0] != '\0' ? e->message : nullptr;
			/*
			 * job_stagger.log_successful_runs = off: the row kept the run across a
			 * restart while it went; now that it succeeded, it goes (a row already
			 * gone is not written again).
			 */
			if (e->result == kResultSucceeded && !js::pg::guc_log_successful_runs) {
				DeleteRun(e->runid);
				continue;
			}
			if (!UpdateRunFinished(e->runid, status, message, e->started_at, e->ended_at, e->pid, e->command_xid)) {
				RewriteRun(a, e, status, message, e->ended_at);
				(void)UpdateRunFinished(e->runid, status, message, e->started_at, e->ended_at, e->pid,
				                        e->command_xid); /* the rewritten row gets the command's transaction id */
			}
			if (e->result == kResultFailed || e->result == kResultTimedOut || e->result == kResultCrashed)
				PlanRetryAfter(e->runid, e->ended_at);
		} else if (!UpdateRunStarted(e->runid, e->started_at, e->pid, e->command_xid)) {
			RewriteRun(a, e, "running", nullptr, 0);
			(void)UpdateRunStarted(e->runid, e->started_at, e->pid, e->command_xid);
		}
	}
}

void
WarnRewritten(const Rewritten *r)
{
	ereport(WARNING,
	        (errmsg("job_stagger: the row of run " INT64_FORMAT " of job " INT64_FORMAT " \"%s\" was gone; written "
	                "again in full",
	                r->runid, r->jobid, r->job_name != nullptr ? r->job_name : ""),
	         errdetail("Its row in job_stagger.job_run_details was deleted while the run was %s, most likely by a "
	                   "TRUNCATE or DELETE of job_stagger.job_run_details.",
	                   r->finished ? "going" : "starting"),
	         errhint("To remove history, delete only finished runs (status NOT IN ('starting', 'running')); "
	                 "job_stagger.history_retention purges old rows by itself.")));
}

/*
 * Drops the reports of runs whose extension was dropped while they were
 * going (their rows went with it; their runids may be reused by the new
 * history table): acknowledged without recording. Returns the rest.
 */
SlotEvent *
DropOrphanEvents(SlotEvent *events, int *count)
{
	if (orphans == NIL)
		return events;
	SlotEvent *orphaned = static_cast<SlotEvent *>(palloc(sizeof(SlotEvent) * (*count + 1)));
	int norphaned = 0, kept = 0;
	for (int i = 0; i < *count; i++) {
		bool orphan = false;
		ListCell *lc;
		foreach (lc, orphans) {
			OrphanSlot *o = static_cast<OrphanSlot *>(lfirst(lc));
			if (o->slot == events[i].slot && o->generation == events[i].generation) {
				orphan = true;
				if (events[i].finished) {
					orphans = foreach_delete_current(orphans, lc);
					pfree(o);
				}
				break;
			}
		}
		if (orphan)
			orphaned[norphaned++] = events[i];
		else
			events[kept++] = events[i];
	}
	if (norphaned > 0)
		AcknowledgeEvents(orphaned, norphaned);
	*count = kept;
	return events;
}

/*
 * A worker ended before its command began (no start time) is not recorded
 * for kUnbegunGraceUsecs: at a fast shutdown the postmaster signals the job
 * workers before the launcher, and a worker may exit and report before our
 * own SIGTERM arrives. Recorded 'failed', that slot would be lost to the next
 * primary; held back, it stays 'starting' (OutcomeWork skips such reports
 * once the shutdown is known) and is run there. Its slot stays DONE
 * meanwhile; a real early end (a terminated worker, a failed connection) is
 * recorded a moment later.
 */
SlotEvent *
HoldBackUnbegun(SlotEvent *events, int *count, TimestampTz now)
{
	int kept = 0;
	for (int i = 0; i < *count; i++) {
		const SlotEvent *e = &events[i];
		if (e->finished && e->started_at == 0 && e->ended_at != 0 && now - e->ended_at < kUnbegunGraceUsecs) {
			unbegun_held_until = Max(unbegun_held_until, e->ended_at + kUnbegunGraceUsecs);
			continue;
		}
		events[kept++] = events[i];
	}
	*count = kept;
	return events;
}

/*
 * Records what workers reported, in a transaction of its own. Only once it
 * committed are the events acknowledged: until then each outcome stays in
 * its DONE slot in shared memory and is retried (with backoff) however long
 * the history cannot be written.
 */
RecordOutcome
RecordOutcomes(TimestampTz now)
{
	if (!RetryDue(&outcome_retry, now))
		return kRecordFailed;
	int nevents = 0;
	SlotEvent *events = CollectEvents(tick_cxt, &nevents, &running_now);
	events = DropOrphanEvents(events, &nevents);
	events = HoldBackUnbegun(events, &nevents, now);
	if (nevents == 0)
		return kRecorded;
	OutcomeArgs args = {events, nevents, static_cast<Rewritten *>(palloc(sizeof(Rewritten) * nevents)), 0, true};
	char *kept = psprintf("The launcher keeps %d worker report(s) in shared memory (their run slots) and records them "
	                      "on the retry: no outcome is lost.",
	                      nevents);
	if (!TryWork(&outcome_retry, "job_stagger: recording run outcomes", OutcomeWork, &args, kept))
		return kRecordFailed;
	if (!args.installed)
		return kNotInstalled;
	RetryNow(&record_retry); /* the history can be written again: carried rows need not wait out their backoff */
	AcknowledgeEvents(events, nevents);
	for (int i = 0; i < args.nrewritten; i++)
		WarnRewritten(&args.rewritten[i]);
	for (int i = 0; i < nevents; i++) {
		if (!events[i].finished)
			continue;
		ForgetInFlight(events[i].runid);
		WarnSlowRun(events[i].runid, events[i].job_name, events[i].started_at, events[i].ended_at);
	}
	return kRecorded;
}

struct RecordArgs {
	DueRun *due;
	int ndue;
	TimestampTz upto;
	TimestampTz now; /* set in the transaction: which due runs are late */
	bool per_row;    /* a retry: each row in its own subtransaction */
	bool *recorded;  /* per due run */
	int nrecorded;
	ErrorData *row_error; /* the first row that could not be written (per_row), in record_cxt */
	MemoryContext record_cxt;
	bool installed;
};

/* Is this error one that every row would hit alike (a lock wait, a cancel)? Then the whole attempt fails. */
bool
FailsEveryRow(const ErrorData *e)
{
	return e->sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE || e->sqlerrcode == ERRCODE_QUERY_CANCELED ||
	       e->sqlerrcode == ERRCODE_ADMIN_SHUTDOWN;
}

/* Records due run `index` in a subtransaction; false (row kept for later) if its row could not be written. */
bool
RecordDueRunAlone(RecordArgs *a, int index)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	volatile bool ok = true;
	BeginInternalSubTransaction(nullptr);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		RecordDueRun(a->due, index, a->now);
		ReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(a->record_cxt);
		ErrorData *e = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
		UnsmoothStart(&a->due[index]);
		if (FailsEveryRow(e))
			ReThrowError(e);
		a->due[index].start = false;
		a->due[index].runid = 0;
		if (a->row_error == nullptr)
			a->row_error = e;
		else
			FreeErrorData(e);
		ok = false;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
	CurrentResourceOwner = owner;
	return ok;
}

/*
 * The due runs' transaction: a row per due run and the watermark. On a
 * retry each row goes in its own subtransaction, so the rows that can be
 * written are (and their runs fire) while the others are kept. The
 * watermark moves only if some row got through: when nothing could be
 * written, a restarted launcher finds the gap and records it as missed.
 */
void
RecordWork(void *arg)
{
	RecordArgs *a = static_cast<RecordArgs *>(arg);
	a->installed = ExtensionInstalled();
	if (!a->installed)
		return;
	a->nrecorded = 0;
	a->now = GetCurrentTimestamp(); /* late or on time: judged inside the transaction */
	for (int i = 0; i < a->ndue; i++) {
		if (a->per_row)
			a->recorded[i] = RecordDueRunAlone(a, i);
		else {
			RecordDueRun(a->due, i, a->now);
			a->recorded[i] = true;
		}
		a->nrecorded += a->recorded[i];
	}
	if (a->nrecorded > 0 || a->ndue == 0)
		WriteScheduledUntil(a->upto);
}

/* Replaces the carry by the runs of `due` not recorded (flags cleared for the next attempt). */
void
CarryUnrecorded(DueRun *due, int ndue, const bool *recorded)
{
	List *next = NIL;
	MemoryContext old = MemoryContextSwitchTo(launcher_cxt);
	carry_has_reboot = false;
	for (int i = 0; i < ndue; i++) {
		if (recorded != nullptr && recorded[i])
			continue;
		due[i].runid = 0;
		due[i].start = false;
		due[i].role_dropped = false;
		due[i].smooth_second = 0; /* released when its row rolled back */
		due[i].start_at = 0;
		due[i].start_delay_us = 0;
		carry_has_reboot |= due[i].kind == kDueReboot;
		next = lappend(next, KeepRun(&due[i]));
	}
	MemoryContextSwitchTo(old);
	list_free_deep(carry); /* after the copies: the batch's strings may point into it */
	carry = next;
}

/*
 * The carried runs followed by `fresh`, as one batch in tick_cxt (strings
 * still point into the carry). A carried run now later than
 * job_stagger.catchup_window becomes a missed slot, merged with the job's
 * other missed ones into one row.
 */
DueRun *
BatchWithCarry(TimestampTz now, DueRun *fresh, int nfresh, int *count)
{
	DueRun *due =
	    static_cast<DueRun *>(MemoryContextAlloc(tick_cxt, sizeof(DueRun) * (list_length(carry) + nfresh + 1)));
	int n = 0;
	TimestampTz too_late = now - static_cast<int64>(js::pg::guc_catchup_window_s) * USECS_PER_SEC;
	HTAB *missed = nullptr; /* jobid -> index of the job's missed row in `due` */
	struct MissedAt {
		int64 jobid;
		int index;
	};
	ListCell *lc;
	foreach (lc, carry) {
		DueRun run = *static_cast<DueRun *>(lfirst(lc));
		if (run.kind == kDueRun && run.fire_at < too_late) {
			run.kind = kDueMissed;
			run.missed_count = 1;
			run.missed_last = run.fire_at;
			run.missed_lower_bound = false;
		}
		if (run.kind == kDueMissed) {
			if (missed == nullptr)
				missed = Int64Hash("job_stagger missed", sizeof(MissedAt), 64, tick_cxt);
			bool found = false;
			MissedAt *m = static_cast<MissedAt *>(hash_search(missed, &run.jobid, HASH_ENTER, &found));
			if (found) {
				DueRun *into = &due[m->index];
				into->missed_count += run.missed_count;
				into->missed_last = Max(into->missed_last, run.missed_last);
				into->missed_lower_bound |= run.missed_lower_bound;
				continue;
			}
			m->index = n;
		}
		due[n++] = run;
	}
	for (int i = 0; i < nfresh; i++)
		due[n++] = fresh[i];
	*count = n;
	return due;
}

/*
 * Records a batch of due runs (rows and watermark). Runs whose row got
 * through join `pending` (to start) once the transaction committed; the
 * others are carried to the next attempt. A failure of the whole transaction
 * backs off; rows left over while others got through are retried within a
 * second, so the jobs whose rows can be written keep firing.
 */
RecordOutcome
RecordBatch(DueRun *due, int ndue, TimestampTz upto)
{
	RecordArgs args = {};
	args.due = due;
	args.ndue = ndue;
	args.upto = upto;
	args.per_row = record_retry.failures > 0 || carry != NIL;
	args.recorded = static_cast<bool *>(palloc0(sizeof(bool) * (ndue + 1)));
	args.record_cxt = CurrentMemoryContext;
	args.installed = true;
	char *kept = psprintf("The launcher keeps %d due run(s) in memory and records them on the retry (they start "
	                      "once recorded; beyond job_stagger.catchup_window as skipped \"missed\" rows): no slot is "
	                      "lost or repeated.",
	                      ndue);
	ErrorData *error = nullptr;
	js::pg::CallCpp([&] { smoother.ForgetBefore(GetCurrentTimestamp() / USECS_PER_SEC - 1); });
	bool ok = RunWork("job_stagger: recording runs", RecordWork, &args, &error);
	if (!ok) /* rolled back: the start seconds it reserved are free again */
		for (int i = 0; i < ndue; i++)
			UnsmoothStart(&due[i]);
	if (!ok && !args.per_row && !FailsEveryRow(error)) {
		/* One row may be at fault (a trigger, a constraint): try each at once, so the others start on time. */
		FreeErrorData(error);
		for (int i = 0; i < ndue; i++) {
			due[i].start = false;
			due[i].runid = 0;
			due[i].role_dropped = false;
		}
		args.per_row = true;
		ok = RunWork("job_stagger: recording runs", RecordWork, &args, &error);
		if (!ok)
			for (int i = 0; i < ndue; i++)
				UnsmoothStart(&due[i]);
	}
	if (!ok) {
		RetryFailed(&record_retry, error, kept, false);
		FreeErrorData(error);
		CarryUnrecorded(due, ndue, nullptr);
		return kRecordFailed;
	}
	if (!args.installed)
		return kNotInstalled;
	MemoryContext old = MemoryContextSwitchTo(launcher_cxt);
	int ndelayed = 0;
	TimestampTz last_start = 0;
	for (int i = 0; i < ndue; i++) {
		if (!args.recorded[i] || !due[i].start)
			continue;
		pending = lappend(pending, KeepRun(&due[i]));
		RememberInFlight(&due[i]);
		if (due[i].start_delay_us > 0) {
			ndelayed++;
			last_start = Max(last_start, due[i].start_at);
		}
	}
	MemoryContextSwitchTo(old);
	if (ndelayed > 0)
		ereport(LOG, (errmsg("job_stagger: %d run(s) delayed by job_stagger.max_starts_per_second = %d; the last "
		                     "starts at %s",
		                     ndelayed, js::pg::guc_max_starts_per_second, timestamptz_to_str(last_start)),
		              errdetail("Each delay is in job_stagger.job_run_details.start_delay.")));
	bool had_reboot = carry_has_reboot;
	CarryUnrecorded(due, ndue, args.recorded);
	if (had_reboot && !carry_has_reboot)
		Shared()->reboot_jobs_done = true;
	if (args.nrecorded > 0)
		streak_recorded_some = true;
	if (args.row_error != nullptr) {
		char *kept_rows = psprintf("%d of %d due run(s) were recorded (and start); the launcher keeps the other %d in "
		                           "memory and tries them again (beyond job_stagger.catchup_window as skipped "
		                           "\"missed\" rows).",
		                           args.nrecorded, ndue, ndue - args.nrecorded);
		RetryFailed(&record_retry, args.row_error, kept_rows, streak_recorded_some);
		return streak_recorded_some ? kRecorded : kRecordFailed;
	}
	streak_recorded_some = false;
	RetrySucceeded(&record_retry);
	RetryNow(&outcome_retry); /* the history can be written again: no need to wait out the outcomes' backoff */
	return kRecorded;
}

/*
 * Starts waiting runs in fire order until slots or workers run out. A run
 * delayed by job_stagger.max_starts_per_second gets its worker
 * prestart_lead_ms before its delayed instant, not before (a long burst
 * would otherwise hold a worker per run); the loop polls pending runs.
 * Returns the earliest delayed instant it handed to a worker (DT_NOEND: none).
 */
TimestampTz
StartPending()
{
	TimestampTz prestart_until = GetCurrentTimestamp() + static_cast<int64>(js::pg::guc_prestart_lead_ms) * 1000;
	TimestampTz first_delayed = DT_NOEND;
	ListCell *lc;
	foreach (lc, pending) {
		DueRun *run = static_cast<DueRun *>(lfirst(lc));
		if (run->start_at > prestart_until)
			continue;
		if (!StartRun(run))
			break;
		if (run->start_at != 0)
			first_delayed = Min(first_delayed, run->start_at);
		pending = foreach_delete_current(pending, lc);
		pfree(run);
	}
	return first_delayed;
}

struct StartupArgs {
	uint64 generation; /* jobs_generation read before the transaction: a later change reloads */
	const int64 *adopted;
	int nadopted;
	TimestampTz now;
	TimestampTz since;
	int closed;
	int recovered; /* 'running' rows whose command had committed: succeeded */
	int missed;
	DueRun *resumed; /* rows left 'starting': run now (start set) or closed as failed */
	int nresumed;
};

/*
 * Start-up recovery's transaction: close runs of a previous life, take up the
 * ones that never began, read the watermark, load the jobs.
 */
void
StartupWork(void *arg)
{
	StartupArgs *a = static_cast<StartupArgs *>(arg);
	TimestampTz late_before = a->now - static_cast<int64>(js::pg::guc_catchup_window_s) * USECS_PER_SEC;
	int64 *crashed = nullptr;
	a->closed = RecoverRuns(a->adopted, a->nadopted, Shared()->launcher_starts == 1, late_before, &a->missed,
	                        &a->recovered, &crashed);
	a->resumed = LoadStartingRuns(a->adopted, a->nadopted, tick_cxt, &a->nresumed);
	for (int i = 0; i < a->nresumed; i++) {
		DueRun *run = &a->resumed[i];
		char *error = nullptr;
		if (run->kind == kDueReboot && !Shared()->reboot_jobs_done) {
			/* this start runs the @reboot jobs anew */
			UpdateRunFinished(run->runid, "skipped",
			                  "skipped: the server restarted before this @reboot run began; @reboot jobs run again "
			                  "at this start",
			                  0, GetCurrentTimestamp(), 0);
			run->start = false;
			continue;
		}
		run->start = ResolveTarget(run, tick_cxt, &error);
		if (run->start)
			continue;
		UpdateRunFinished(run->runid, "failed", error, 0, GetCurrentTimestamp(), 0);
		if (run->role_dropped)
			DetachJob(run->jobid, run->roleoid, run->job_name, run->username);
	}
	a->since = a->now;
	if (!ReadScheduledUntil(&a->since))
		a->since = a->now;
	seen_generation = a->generation;
	ReloadJobs(a->since);
	for (int i = 0; i < a->closed; i++) /* after the reload: a retry must not outlast the job's next slot */
		PlanRetryAfter(crashed[i], a->now);
	ExpectExtension(InstalledExtension());
}

/* Recovery after a (re)start (retried until it gets through), then the jobs and @reboot runs. */
void
Startup()
{
	StartupArgs args = {};
	args.adopted = AdoptSlots(tick_cxt, &args.nadopted);
	ApplySettings(true);
	for (;;) {
		args.now = GetCurrentTimestamp();
		/*
		 * Read before the transaction's snapshot: jobs written by a transaction
		 * that commits meanwhile (CREATE EXTENSION woke us, stagger_schedule
		 * commits right after) are then reloaded, not missed until the next change.
		 */
		args.generation = pg_atomic_read_u64(&Shared()->jobs_generation);
		if (TryWork(&startup_retry, "job_stagger: starting", StartupWork, &args,
		            "Scheduling starts once start-up recovery gets through."))
			break;
		SleepUntil(RetryAt(&startup_retry));
	}
	/* Runs that never began, in slot order ahead of everything due from now on. */
	int nrerun = 0;
	MemoryContext old = MemoryContextSwitchTo(launcher_cxt);
	for (int i = 0; i < args.nresumed; i++) {
		if (!args.resumed[i].start)
			continue;
		pending = lappend(pending, KeepRun(&args.resumed[i]));
		nrerun++;
	}
	MemoryContextSwitchTo(old);
	(void)StartPending();
	StartRequests(args.adopted, args.nadopted);
	scheduling = true;
	WarnUnknownOverrides();
	LogStaggerState();
	ereport(
	    LOG,
	    (errmsg("job_stagger launcher started in database \"%s\"", js::pg::guc_database_name),
	     errdetail("%d run(s) closed as crashed, %d as succeeded (their command had committed), %d run(s) that "
	               "had not begun run now, %d missed, %d adopted; scheduling resumes from %s.",
	               args.closed, args.recovered, nrerun, args.missed, args.nadopted, timestamptz_to_str(args.since))));

	if (!Shared()->reboot_jobs_done) {
		int nreboot = 0;
		DueRun *reboot = TakeDueRuns(args.now, args.now, true, tick_cxt, &nreboot);
		RecordOutcome outcome = RecordBatch(reboot, nreboot, args.since);
		/* Runs left unrecorded are carried; the flag is set once none is left (RecordBatch). */
		if (outcome != kNotInstalled && !carry_has_reboot)
			Shared()->reboot_jobs_done = true;
	}
}

struct ReloadArgs {
	TimestampTz since;
	bool installed;
};

void
ReloadWork(void *arg)
{
	ReloadArgs *a = static_cast<ReloadArgs *>(arg);
	a->installed = ExtensionInstalled();
	if (a->installed)
		ReloadJobs(a->since);
}

/*
 * Re-reads the jobs if they changed (at most every reload_interval). A failed
 * reload (job_stagger.jobs locked) keeps the previous jobs firing and is
 * retried. Returns false when the extension is gone; *changed when reloaded.
 */
bool
MaybeReload(TimestampTz now, bool *changed)
{
	uint64 generation = pg_atomic_read_u64(&Shared()->jobs_generation);
	if ((generation == seen_generation && !roles_changed) || now - last_reload_at < reload_interval ||
	    !RetryDue(&reload_retry, now))
		return true;
	last_reload_at = now;
	roles_changed = false;
	ReloadArgs args = {now, true};
	if (!TryWork(&reload_retry, "job_stagger: loading jobs", ReloadWork, &args,
	             "The jobs as last loaded keep firing; the reload is retried.")) {
		roles_changed = true; /* whatever asked for this reload still asks */
		return true;
	}
	seen_generation = generation;
	reload_interval = Max(kMinReloadIntervalUsecs, kReloadCostFactor * (GetCurrentTimestamp() - now));
	*changed = true;
	return args.installed;
}

/*
 * Records what workers reported (its own transaction), then the slots due
 * now together with the runs carried from attempts that could not record
 * them. After a failed attempt nothing new is taken before its retry: the
 * planner keeps those slots (late, or missed beyond the catch-up window).
 */
RecordOutcome
RecordDue(TimestampTz now, bool changed)
{
	RecordOutcome outcomes = RecordOutcomes(now);
	if (outcomes == kNotInstalled)
		return outcomes;
	if (!RetryDue(&record_retry, now))
		return kRecordFailed;
	int nfresh = 0, ndue = 0;
	TimestampTz upto = now + static_cast<int64>(js::pg::guc_prestart_lead_ms) * 1000;
	DueRun *fresh = TakeDueRuns(now, upto, false, tick_cxt, &nfresh);
	/* Rows left over are tried with every new slot, or else once per retry interval (not on every wake-up). */
	if (nfresh == 0 && !changed && record_retry.partial && now < record_retry.next_attempt)
		return outcomes;
	DueRun *due = carry != NIL ? BatchWithCarry(now, fresh, nfresh, &ndue) : fresh;
	if (carry == NIL)
		ndue = nfresh;
	if (ndue == 0 && !changed)
		return outcomes;
	RecordOutcome recorded = RecordBatch(due, ndue, upto);
	return recorded == kRecorded ? outcomes : recorded;
}

/*
 * A DROP EXTENSION is seen by the next transaction of the loop; with no job
 * due for a while the loop checks every kExtensionCheckUsecs (one catalog
 * lookup), so scheduling stops cleanly (one LOG) and a CREATE EXTENSION after
 * it starts afresh.
 */
constexpr int64 kExtensionCheckUsecs = 5 * USECS_PER_SEC;
TimestampTz extension_checked_at = 0;
Retry extension_retry = {"checking for the extension", 0, 0, 0, 0, 0, false, false};

void
ExtensionCheckWork(void *arg)
{
	*static_cast<bool *>(arg) = ExtensionInstalled();
}

/* false when the periodic check finds the extension dropped (a failed check says nothing). */
bool
ExtensionStillInstalled(TimestampTz now)
{
	if (now - extension_checked_at < kExtensionCheckUsecs)
		return true;
	extension_checked_at = now;
	bool installed = true;
	return !TryWork(&extension_retry, "job_stagger: checking for the extension", ExtensionCheckWork, &installed,
	                "Scheduling goes on; the check is retried.") ||
	       installed;
}

/* One pass of the loop; false when the extension disappeared. */
bool
Tick()
{
	bool changed = false;
	MemoryContextReset(tick_cxt);
	MemoryContext old = MemoryContextSwitchTo(tick_cxt);

	if (ConfigReloadPending) {
		ConfigReloadPending = false;
		ProcessConfigFile(PGC_SIGHUP);
		ApplySettings(false);
		WarnUnknownOverrides();
		LogStaggerState();
		changed = true;
	}
	TimestampTz now = GetCurrentTimestamp();
	bool installed = MaybeReload(now, &changed) && ExtensionStillInstalled(now);
	/* the fire instants this tick hands out start here (housekeeping keeps clear of them) */
	TimestampTz first_wake = installed ? NextWakeAt() : DT_NOEND;
	RecordOutcome outcome = installed ? RecordDue(now, changed) : kNotInstalled;
	/* delayed instants handed out now are fire instants too: housekeeping keeps clear of them */
	if (outcome != kNotInstalled) {
		TakeRequestedRuns(now, now + static_cast<int64>(js::pg::guc_prestart_lead_ms) * 1000);
		TimestampTz delayed = StartPending();
		if (delayed != DT_NOEND)
			first_wake = Min(first_wake, Min(now, delayed - static_cast<int64>(js::pg::guc_prestart_lead_ms) * 1000));
	}
	if (outcome == kRecorded)
		MonitorTick(now, running_now, js::pg::guc_enabled, first_wake, pending != NIL);
	MemoryContextSwitchTo(old);
	return outcome != kNotInstalled;
}

/* When the loop must wake next: the next slot, housekeeping, a deferred reload, a retry, waiting runs. */
TimestampTz
NextLoopWake()
{
	TimestampTz wake_at = Min(Min(NextWakeAt(), NextMonitorAt()), extension_checked_at + kExtensionCheckUsecs);
	if (record_retry.failures > 0 && !record_retry.partial)
		wake_at = RetryAt(&record_retry); /* nothing is taken before the failed batch is recorded */
	else if (record_retry.failures > 0)
		wake_at = Min(wake_at, RetryAt(&record_retry)); /* rows left over: again soon */
	if (outcome_retry.failures > 0)
		wake_at = Min(wake_at, RetryAt(&outcome_retry));
	if (pg_atomic_read_u64(&Shared()->jobs_generation) != seen_generation || roles_changed)
		wake_at = Min(wake_at, Max(last_reload_at + reload_interval, RetryAt(&reload_retry))); /* a deferred reload */
	if (pending != NIL)
		wake_at = Min(wake_at, GetCurrentTimestamp() + kBacklogPollMs * 1000);
	wake_at = Min(wake_at, NextRequestWake());
	if (unbegun_held_until != 0) {
		wake_at = Min(wake_at, unbegun_held_until);
		if (unbegun_held_until <= GetCurrentTimestamp())
			unbegun_held_until = 0;
	}
	return wake_at;
}

/* Exit callback. A FATAL may come while an LWLock is held: release them all before taking ours. */
void
ClearLauncher(int code, Datum arg)
{
	SharedState *sh = Shared();
	LWLockReleaseAll();
	LockSlots(LW_EXCLUSIVE);
	if (sh->launcher_pid == MyProcPid) {
		sh->launcher_latch = nullptr;
		sh->launcher_pid = 0;
	}
	UnlockSlots();
}

/*
 * The extension was dropped: forgets runs waiting for a worker or for their
 * row, and the runs in flight; the runs still going are orphaned (their
 * reports are dropped: their rows went with the extension, and the runids of
 * a new history table start again at 1). Returns how many are still going.
 */
int
DropPending()
{
	scheduling = false;
	list_free_deep(pending);
	pending = NIL;
	list_free_deep(carry);
	carry = NIL;
	carry_has_reboot = false;
	DropRequests();
	if (in_flight != nullptr) {
		HASH_SEQ_STATUS status;
		hash_seq_init(&status, in_flight);
		InFlight *entry;
		while ((entry = static_cast<InFlight *>(hash_seq_search(&status))) != nullptr)
			pfree(entry->run);
		hash_destroy(in_flight);
		in_flight = nullptr;
	}
	record_retry.failures = outcome_retry.failures = 0;
	record_retry.partial = false;
	streak_recorded_some = false;
	/* Slots of runs still going: copied under the lock into an array allocated before it (no palloc under it). */
	SharedState *sh = Shared();
	OrphanSlot *going_slots =
	    static_cast<OrphanSlot *>(MemoryContextAlloc(launcher_cxt, sizeof(OrphanSlot) * sh->nslots));
	int going = 0;
	LockSlots(LW_SHARED);
	for (int i = 0; i < sh->nslots; i++) {
		if (sh->slots[i].state == kSlotFree)
			continue;
		going_slots[going].slot = i;
		going_slots[going].generation = sh->slots[i].generation;
		going++;
	}
	UnlockSlots();
	MemoryContext old = MemoryContextSwitchTo(launcher_cxt);
	for (int i = 0; i < going; i++) {
		OrphanSlot *o = static_cast<OrphanSlot *>(palloc(sizeof(OrphanSlot)));
		*o = going_slots[i];
		orphans = lappend(orphans, o);
	}
	MemoryContextSwitchTo(old);
	pfree(going_slots);
	return going;
}

} // namespace

DueRun *
KeepRunCopy(const DueRun *run)
{
	return KeepRun(run);
}

void
QueueRecordedRun(const DueRun *run)
{
	MemoryContext old = MemoryContextSwitchTo(launcher_cxt);
	pending = lappend(pending, KeepRun(run));
	RememberInFlight(run);
	MemoryContextSwitchTo(old);
}

void
RecordBeforeExit()
{
	if (!scheduling)
		return;
	int nevents = 0, running = 0;
	SlotEvent *events = CollectEvents(tick_cxt, &nevents, &running);
	if (nevents == 0)
		return;
	events = DropOrphanEvents(events, &nevents);
	if (nevents == 0)
		return;
	static Retry exit_retry = {"recording runs at exit", 0, 0, 0, 0, 0, false, false};
	OutcomeArgs args = {events, nevents, static_cast<Rewritten *>(palloc(sizeof(Rewritten) * nevents)), 0, true};
	if (TryWork(&exit_retry, "job_stagger: recording runs at exit", OutcomeWork, &args,
	            "Runs recorded 'running' are closed as crashed by the next scheduler, runs still 'starting' are "
	            "run by it.") &&
	    args.installed)
		AcknowledgeEvents(events, nevents); /* a fence waiting for this start goes on at once */
}

MemoryContext
TickContext()
{
	return tick_cxt;
}

void
NoteSettingsApplied(bool enabled)
{
	SharedState *sh = Shared();
	LockSlots(LW_EXCLUSIVE);
	sh->applied_enabled = enabled;
	sh->settings_applied_at = GetCurrentTimestamp();
	sh->running_cap = js::pg::guc_max_running_jobs;
	UnlockSlots();
	ConditionVariableBroadcast(&sh->slot_changed); /* a raised cap lets waiting runs start */
}

void
RunLauncher()
{
	SharedState *sh = Shared();
	if (sh == nullptr)
		ereport(FATAL, (errmsg("job_stagger must be loaded via shared_preload_libraries")));
	launcher_cxt = AllocSetContextCreate(TopMemoryContext, "job_stagger launcher", ALLOCSET_DEFAULT_SIZES);
	tick_cxt = AllocSetContextCreate(launcher_cxt, "job_stagger tick", ALLOCSET_DEFAULT_SIZES);
	InitSlots(launcher_cxt);

	LockSlots(LW_EXCLUSIVE);
	sh->launcher_latch = MyLatch;
	sh->launcher_pid = MyProcPid;
	sh->launcher_started_at = GetCurrentTimestamp();
	sh->launcher_starts++;
	UnlockSlots();
	before_shmem_exit(ClearLauncher, 0);
	CacheRegisterSyscacheCallback(AUTHOID, NoteRolesChanged, 0);

	for (bool first = true;; first = false) {
		WaitForExtension(first);
		Startup();
		while (Tick())
			SleepUntil(NextLoopWake());
		int going = DropPending();
		ereport(LOG,
		        (errmsg("job_stagger: extension dropped from database \"%s\"; scheduling stopped",
		                js::pg::guc_database_name),
		         errdetail("The jobs and their history went with it; %d run(s) still going finish unrecorded.", going),
		         errhint("CREATE EXTENSION job_stagger in database \"%s\" starts scheduling again (no restart "
		                 "needed).",
		                 js::pg::guc_database_name)));
	}
}

} // namespace js::worker
