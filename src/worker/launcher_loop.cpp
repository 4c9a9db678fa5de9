/*
 * The launcher's loop, its run slots and the job workers it starts.
 *
 * C-shaped PostgreSQL code: the frames here hold only plain data, so an ERROR
 * may unwind through them. Catalog work runs through TryWork
 * (launcher_work.cpp): an ERROR in it (a lock timeout, since users can lock
 * the job tables) aborts that transaction only, and what it was to record
 * stays in launcher memory for the retry. Any other ERROR ends the launcher;
 * the postmaster restarts it after bgw_restart_time, and the new launcher
 * adopts the runs still going.
 */
#include "core/launcher_model.hpp"
#include "pg/guc.hpp"

extern "C" {
#include "postgres.h"

#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/memutils.h"
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
 * Due runs whose recording transaction failed (one chunk each, in
 * launcher_cxt), with the watermark they were taken up to. While there are
 * any, no new slot is taken from the planner: the planner keeps them, and
 * hands them out (late, or as missed beyond job_stagger.catchup_window) once
 * the carried ones are recorded. So the carry stays one tick's worth however
 * long the block lasts.
 */
List *carry = NIL;
TimestampTz carry_upto = 0;
bool carry_has_reboot = false;
Retry record_retry = {"recording runs", 0, 0, 0, 0};
Retry reload_retry = {"loading jobs", 0, 0, 0, 0};
Retry startup_retry = {"start-up recovery", 0, 0, 0, 0};
/* Start-up recovery is done: worker reports are recorded at exit (RecordBeforeExit). */
bool scheduling = false;
/* pg_authid changed (a role dropped?): reload, which deactivates the jobs of dropped roles. */
bool roles_changed = false;

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
	const char *strings[5] = {run->job_name, run->command, run->database, run->username, run->effective_schedule};
	Size size = MAXALIGN(sizeof(DueRun));
	for (const char *s : strings)
		size += strlen(s) + 1;
	char *chunk = static_cast<char *>(MemoryContextAlloc(launcher_cxt, size));
	DueRun *copy = reinterpret_cast<DueRun *>(chunk);
	*copy = *run;
	char *p = chunk + MAXALIGN(sizeof(DueRun));
	char **targets[5] = {&copy->job_name, &copy->command, &copy->database, &copy->username, &copy->effective_schedule};
	for (int i = 0; i < 5; i++) {
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
		char *message = run->missed_count > 1
		                    ? psprintf("missed %s" INT64_FORMAT " slots from %s to %s: the scheduler was not running "
		                               "(server down or restarting), was blocked (see the server log) or the clock "
		                               "jumped",
		                               run->missed_lower_bound ? "at least " : "", run->missed_count,
		                               timestamptz_to_str(run->fire_at), timestamptz_to_str(run->missed_last))
		                    : pstrdup("missed: the scheduler was not running at this time (server down or restarting), "
		                              "was blocked (see the server log) or the clock jumped");
		InsertRun(run, "skipped", message);
		return;
	}
	if (action == core::DueAction::kSkipPreviousNotStarted) {
		InsertRun(run, "skipped",
		          "skipped: the previous run of this job has not started yet (every place under "
		          "job_stagger.max_running_jobs or every background worker is taken)");
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
	InsertRun(run, "starting", nullptr);
	run->start = true;
}

struct RecordArgs {
	const SlotEvent *events;
	int nevents;
	DueRun *due;
	int ndue;
	TimestampTz upto;
	TimestampTz now;
	bool installed;
};

/* Records the worker reports of a RecordArgs. */
void
RecordEvents(const RecordArgs *a)
{
	for (int i = 0; i < a->nevents; i++) {
		const SlotEvent *e = &a->events[i];
		/*
		 * A run whose worker ended before its command began, because the server
		 * is shutting down, stays 'starting': the next life (this server, or a
		 * promoted standby) runs it.
		 */
		if (ShutdownRequestPending && e->finished && e->started_at == 0 && e->result == kResultFailed)
			continue;
		if (e->finished)
			UpdateRunFinished(e->runid, ResultStatus(static_cast<RunResult>(e->result)),
			                  e->message[0] != '\0' ? e->message : nullptr, e->started_at, e->ended_at, e->pid,
			                  e->command_xid);
		else
			UpdateRunStarted(e->runid, e->started_at, e->pid, e->command_xid);
	}
}

/* The recording transaction's body: worker reports, due runs and the watermark. */
void
RecordWork(void *arg)
{
	RecordArgs *a = static_cast<RecordArgs *>(arg);
	a->installed = ExtensionInstalled();
	if (!a->installed)
		return;
	RecordEvents(a);
	a->now = GetCurrentTimestamp(); /* late or on time: judged inside the transaction, after the reports */
	for (int i = 0; i < a->ndue; i++)
		RecordDueRun(a->due, i, a->now);
	WriteScheduledUntil(a->upto);
}

/* Keeps a batch whose recording failed, for the retry (see `carry`). */
void
CarryBatch(DueRun *due, int ndue, TimestampTz upto)
{
	MemoryContext old = MemoryContextSwitchTo(launcher_cxt);
	for (int i = 0; i < ndue; i++) {
		due[i].runid = 0;
		due[i].start = false;
		due[i].role_dropped = false;
		carry_has_reboot |= due[i].kind == kDueReboot;
		carry = lappend(carry, KeepRun(&due[i]));
	}
	MemoryContextSwitchTo(old);
	carry_upto = Max(carry_upto, upto);
}

/* The carried runs as one batch in tick_cxt (strings still point into the carry). */
DueRun *
CarriedBatch(int *count)
{
	DueRun *due = static_cast<DueRun *>(MemoryContextAlloc(tick_cxt, sizeof(DueRun) * (list_length(carry) + 1)));
	int n = 0;
	ListCell *lc;
	foreach (lc, carry)
		due[n++] = *static_cast<DueRun *>(lfirst(lc));
	*count = n;
	return due;
}

/*
 * One transaction: worker reports, due runs and the watermark. Only after it
 * commits are the events acknowledged (their slots freed) and the new runs
 * queued for a worker; if it fails, the events stay in their slots and the
 * due runs are carried to the retry.
 */
RecordOutcome
RecordTick(const SlotEvent *events, int nevents, DueRun *due, int ndue, TimestampTz upto)
{
	RecordArgs args = {events, nevents, due, ndue, upto, GetCurrentTimestamp(), true};
	char *kept = psprintf("The launcher keeps %d due run(s) and %d worker report(s) in memory and records them on "
	                      "the retry: no slot is lost or repeated.",
	                      ndue, nevents);
	if (!TryWork(&record_retry, "job_stagger: recording runs", RecordWork, &args, kept)) {
		if (due != nullptr && carry == NIL)
			CarryBatch(due, ndue, upto);
		return kRecordFailed;
	}
	if (!args.installed)
		return kNotInstalled;
	MemoryContext old = MemoryContextSwitchTo(launcher_cxt);
	for (int i = 0; i < ndue; i++)
		if (due[i].start)
			pending = lappend(pending, KeepRun(&due[i]));
	MemoryContextSwitchTo(old);
	AcknowledgeEvents(events, nevents);
	for (int i = 0; i < nevents; i++)
		if (events[i].finished)
			WarnSlowRun(events[i].runid, events[i].job_name, events[i].started_at, events[i].ended_at);
	return kRecorded;
}

/* Retries the carried batch (with this tick's events); the carry is dropped once recorded. */
RecordOutcome
RecordCarry(const SlotEvent *events, int nevents)
{
	int ndue = 0;
	DueRun *due = CarriedBatch(&ndue);
	RecordOutcome outcome = RecordTick(events, nevents, due, ndue, carry_upto);
	if (outcome == kRecordFailed)
		return outcome;
	if (outcome == kRecorded && carry_has_reboot)
		Shared()->reboot_jobs_done = true;
	list_free_deep(carry);
	carry = NIL;
	carry_has_reboot = false;
	return outcome;
}

/* Starts waiting runs in fire order until slots or workers run out. */
void
StartPending()
{
	while (pending != NIL) {
		DueRun *run = static_cast<DueRun *>(linitial(pending));
		if (!StartRun(run))
			return;
		pending = list_delete_first(pending);
		pfree(run);
	}
}

struct StartupArgs {
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
	a->closed =
	    RecoverRuns(a->adopted, a->nadopted, Shared()->launcher_starts == 1, late_before, &a->missed, &a->recovered);
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
	seen_generation = pg_atomic_read_u64(&Shared()->jobs_generation);
	ReloadJobs(a->since);
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
	StartPending();
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
		RecordOutcome outcome = RecordTick(nullptr, 0, reboot, nreboot, args.since);
		/* A failed batch is carried; the flag is set once it is recorded (RecordCarry). */
		if (outcome == kRecorded || (outcome == kRecordFailed && nreboot == 0))
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
 * Records what is due: first a batch carried from a failed attempt (when its
 * retry is due), then, once nothing is carried, the slots due now.
 */
RecordOutcome
RecordDue(TimestampTz now, bool changed)
{
	int nevents = 0, ndue = 0;
	if (!RetryDue(&record_retry, now))
		return kRecordFailed; /* the last attempt failed; nothing new is taken before its retry */
	SlotEvent *events = CollectEvents(tick_cxt, &nevents, &running_now);
	if (carry != NIL) {
		RecordOutcome outcome = RecordCarry(events, nevents);
		if (outcome != kRecorded)
			return outcome;
		nevents = 0; /* acknowledged with the carried batch */
		changed = true;
	}
	TimestampTz upto = now + static_cast<int64>(js::pg::guc_prestart_lead_ms) * 1000;
	DueRun *due = TakeDueRuns(now, upto, false, tick_cxt, &ndue);
	if (nevents == 0 && ndue == 0 && !changed)
		return kRecorded;
	return RecordTick(events, nevents, due, ndue, upto);
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
	bool installed = MaybeReload(now, &changed);
	RecordOutcome outcome = installed ? RecordDue(now, changed) : kNotInstalled;
	if (outcome != kNotInstalled)
		StartPending();
	if (outcome == kRecorded)
		MonitorTick(now, running_now, js::pg::guc_enabled);
	MemoryContextSwitchTo(old);
	return outcome != kNotInstalled;
}

/* When the loop must wake next: the next slot, housekeeping, a deferred reload, a retry, waiting runs. */
TimestampTz
NextLoopWake()
{
	TimestampTz wake_at = Min(NextWakeAt(), NextMonitorAt());
	if (record_retry.failures > 0)
		wake_at = RetryAt(&record_retry); /* nothing is taken before the failed batch is recorded */
	if (pg_atomic_read_u64(&Shared()->jobs_generation) != seen_generation || roles_changed)
		wake_at = Min(wake_at, Max(last_reload_at + reload_interval, RetryAt(&reload_retry))); /* a deferred reload */
	if (pending != NIL)
		wake_at = Min(wake_at, GetCurrentTimestamp() + kBacklogPollMs * 1000);
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

/* Forgets runs waiting for a worker (their rows are closed as crashed at the next start-up). */
void
DropPending()
{
	scheduling = false;
	list_free_deep(pending);
	pending = NIL;
	list_free_deep(carry);
	carry = NIL;
}

void
RecordEventsWork(void *arg)
{
	RecordArgs *a = static_cast<RecordArgs *>(arg);
	if (ExtensionInstalled())
		RecordEvents(a);
}

} // namespace

void
RecordBeforeExit()
{
	if (!scheduling)
		return;
	int nevents = 0, running = 0;
	SlotEvent *events = CollectEvents(tick_cxt, &nevents, &running);
	if (nevents == 0)
		return;
	static Retry exit_retry = {"recording runs at exit", 0, 0, 0, 0};
	RecordArgs args = {events, nevents, nullptr, 0, 0, GetCurrentTimestamp(), true};
	if (TryWork(&exit_retry, "job_stagger: recording runs at exit", RecordEventsWork, &args,
	            "Runs recorded 'running' are closed as crashed by the next scheduler, runs still 'starting' are "
	            "run by it."))
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

	for (;;) {
		WaitForExtension();
		Startup();
		while (Tick())
			SleepUntil(NextLoopWake());
		ereport(LOG, (errmsg("job_stagger: extension dropped from database \"%s\"; scheduling stopped",
		                     js::pg::guc_database_name)));
		DropPending();
	}
}

} // namespace js::worker
