/*
 * The job worker: one dynamic background worker per run, connected to the
 * job's database as the job's role. It connects ahead of time, waits for the
 * exact fire instant, applies the overlap policy, runs the command the way a
 * client's simple query would (each statement top-level, several statements
 * in one implicit transaction, so VACUUM works), and leaves the outcome in its
 * run slot for the launcher to record.
 *
 * C-shaped PostgreSQL code (no C++ objects): errors unwind freely here.
 * The slot moves only through TransitionSlot(); a refused move means the
 * launcher gave the slot up, and the worker leaves.
 */
#include "core/exclusive_group.hpp"
#include "core/run_slot_fsm.hpp"
#include "pg/guc.hpp"

extern "C" {
#include "postgres.h"

#include <errno.h>
#include <sched.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "access/xact.h"
#include "miscadmin.h"
#include "parser/analyze.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "tcop/pquery.h"
#include "tcop/tcopprot.h"
#include "tcop/utility.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/portal.h"
#include "utils/ps_status.h"
#include "utils/snapmgr.h"
#include "utils/timeout.h"
#include "utils/timestamp.h"

PGDLLEXPORT void job_stagger_run_main(Datum main_arg);
}

#include "pg/pg_time.hpp"
#include "worker/shared.hpp"

namespace js::worker {

namespace {

/* Sleep on the latch until this close to the fire instant, then the final approach. */
constexpr int64 kFinalApproachUsecs = 1000;
/* The commit fence waits at most this long for the launcher to record the run as running. */
constexpr long kCommitFenceTimeoutMs = 10000;

/* What this worker knows about its run (copied out of the slot). */
struct RunInfo {
	int slotno;
	uint32 generation;
	RunSpec spec;
	char *command;
};

RunInfo run;
char last_error[kRunMessageSize];
emit_log_hook_type prev_emit_log_hook = nullptr;
volatile sig_atomic_t run_timed_out = false;

RunSlot *
MySlot()
{
	return &Shared()->slots[run.slotno];
}

/* Keeps the text of the last ERROR/FATAL, so a worker that dies still explains why. */
void
CaptureError(ErrorData *edata)
{
	if (edata->elevel >= ERROR && edata->message != nullptr)
		strlcpy(last_error, edata->message, sizeof(last_error));
	if (prev_emit_log_hook != nullptr)
		prev_emit_log_hook(edata);
}

/* Sets the slot's final state (caller holds the lock); false if the move was refused. */
bool
FinishLocked(RunSlot *slot, RunResult result, const char *message)
{
	if (!TransitionSlot(slot, kSlotDone))
		return false;
	slot->result = result;
	slot->ended_at = GetCurrentTimestamp();
	strlcpy(slot->message, message != nullptr ? message : "", kRunMessageSize);
	return true;
}

void
Finish(RunResult result, const char *message)
{
	SharedState *sh = Shared();
	LockSlots(LW_EXCLUSIVE);
	RunSlot *slot = MySlot();
	if (slot->generation == run.generation && slot->state != kSlotDone)
		(void)FinishLocked(slot, result, message);
	UnlockSlots();
	ConditionVariableBroadcast(&sh->slot_changed);
	WakeLauncher();
}

/*
 * Exit callback: a worker that leaves without a result (FATAL, terminated)
 * records why. A FATAL may come while an LWLock is held (ours included):
 * release them all before taking the slot lock, or we would wait on ourselves.
 */
void
RunnerExit(int code, Datum arg)
{
	SharedState *sh = Shared();
	LWLockReleaseAll();
	LockSlots(LW_EXCLUSIVE);
	RunSlot *slot = MySlot();
	bool mine = slot->generation == run.generation && slot->state != kSlotDone && slot->state != kSlotFree;
	if (mine) {
		bool started = slot->state == kSlotRunning; /* a QUEUED run never executed */
		char message[kRunMessageSize];
		snprintf(message, sizeof(message), "job worker exited %s: %s",
		         started ? "while running the command" : "before running the command",
		         last_error[0] != '\0' ? last_error : "no error was reported (see the server log)");
		mine = FinishLocked(slot, started ? kResultCrashed : kResultFailed, message);
	}
	UnlockSlots();
	if (mine) {
		ConditionVariableBroadcast(&sh->slot_changed);
		WakeLauncher();
	}
}

/* Timeout handler: mark the run as timed out and cancel the running statement. */
void
RunTimeoutHandler()
{
	run_timed_out = true;
	kill(MyProcPid, SIGINT);
}

/* Copies the run's parameters from its slot; false if the slot was reused meanwhile. */
bool
ReadSlot(int slotno, uint32 generation)
{
	run.slotno = slotno;
	run.generation = generation;
	LockSlots(LW_SHARED);
	RunSlot *slot = MySlot();
	bool ok = slot->generation == generation && slot->state == kSlotClaimed;
	if (ok)
		run.spec = slot->spec;
	UnlockSlots();
	return ok;
}

/* Reads the command from the launcher's segment into this process. */
void
ReadPayload()
{
	dsm_segment *seg = dsm_attach(run.spec.payload);
	if (seg == nullptr)
		ereport(ERROR, (errmsg("job_stagger: run payload is gone (launcher restarted before this run started)")));
	RunPayload *payload = static_cast<RunPayload *>(dsm_segment_address(seg));
	run.command = MemoryContextStrdup(TopMemoryContext, payload->data);
	dsm_detach(seg);
}

/* A run became RUNNING: keep the peak for the next pool sample (caller holds the lock). */
void
NotePeakLocked(SharedState *sh)
{
	int running = 0;
	for (int i = 0; i < sh->nslots; i++)
		running += sh->slots[i].state == kSlotRunning;
	sh->peak_running = Max(sh->peak_running, running);
}

/* Connected: CLAIMED -> WAITING. False if the slot is no longer ours (the launcher gave it up). */
bool
EnterWaiting()
{
	LockSlots(LW_EXCLUSIVE);
	RunSlot *slot = MySlot();
	/* a slow worker may find its claim given up (DONE): not an illegal move, just not ours any more */
	bool ok = slot->generation == run.generation && slot->state == kSlotClaimed && TransitionSlot(slot, kSlotWaiting);
	if (ok)
		slot->pid = MyProcPid;
	UnlockSlots();
	return ok;
}

/* Other runs waiting for the same instant (caller need not hold the lock: an estimate is enough). */
int
RunsAtSameInstant()
{
	SharedState *sh = Shared();
	int n = 0;
	for (int i = 0; i < sh->nslots; i++) {
		const RunSlot *s = &sh->slots[i];
		n += i != run.slotno && s->spec.fire_at == run.spec.fire_at &&
		     (s->state == kSlotClaimed || s->state == kSlotWaiting);
	}
	return n;
}

/*
 * The last stretch before the instant. With no more runs due at once than
 * CPUs, spin: wake-up
 * latency is then a few microseconds. With many runs due at once, spinning
 * would steal the CPU the others need, so sleep on an absolute timer instead:
 * the kernel wakes everyone at the instant (with timer slack set to 1 us).
 */
void
FinalApproach(TimestampTz fire_at)
{
	static const long cpus = Max(sysconf(_SC_NPROCESSORS_ONLN), 1L);
	if (RunsAtSameInstant() + 1 <= cpus) {
		while (GetCurrentTimestamp() < fire_at)
			sched_yield();
		return;
	}
	struct timespec ts;
	int64 unix_usecs = fire_at + js::pg::kUnixToPgEpochSecs * USECS_PER_SEC;
	ts.tv_sec = unix_usecs / USECS_PER_SEC;
	ts.tv_nsec = (unix_usecs % USECS_PER_SEC) * 1000;
	while (clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &ts, nullptr) == EINTR)
		CHECK_FOR_INTERRUPTS();
}

/* Sleeps on the latch (interruptible) until just before the fire instant, then the final approach. */
void
WaitForFireTime(TimestampTz fire_at)
{
	for (;;) {
		CHECK_FOR_INTERRUPTS();
		TimestampTz now = GetCurrentTimestamp();
		if (now >= fire_at)
			return;
		int64 remaining = fire_at - now;
		if (remaining < kFinalApproachUsecs + 1000)
			break;
		long ms = (remaining - kFinalApproachUsecs) / 1000; /* at least 1: WaitLatch sleeps whole milliseconds */
		(void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
	FinalApproach(fire_at);
	CHECK_FOR_INTERRUPTS();
}

/* Is this slot's run due before ours (fire order, then run order)? */
bool
DueBefore(const RunSlot *s)
{
	return s->spec.fire_at < run.spec.fire_at ||
	       (s->spec.fire_at == run.spec.fire_at && s->spec.runid < run.spec.runid);
}

/* The job's earlier run that is still active (EarlierRunActive's finding). */
struct EarlierRun {
	int64 runid;
	RunSlotState state;
	bool waiting_group; /* QUEUED for its exclusive group */
	bool queued_exists; /* a run of the job (earlier or later) is QUEUED */
};

/* An earlier run of the same job still active? (caller holds the lock) */
bool
EarlierRunActive(SharedState *sh, EarlierRun *earlier)
{
	bool active = false;
	earlier->queued_exists = false;
	for (int i = 0; i < sh->nslots; i++) {
		RunSlot *s = &sh->slots[i];
		if (i == run.slotno || s->spec.jobid != run.spec.jobid || s->state == kSlotFree || s->state == kSlotDone)
			continue;
		if (s->state == kSlotQueued)
			earlier->queued_exists = true;
		if (DueBefore(s)) {
			active = true;
			earlier->runid = s->spec.runid;
			earlier->state = s->state;
			earlier->waiting_group = s->waiting_group;
		}
	}
	return active;
}

/* The overlap policy's view: is an earlier run of the job in the way? (caller holds the lock) */
bool
OverlapBusy(SharedState *sh, EarlierRun *earlier)
{
	return run.spec.overlap != kOverlapAllow && EarlierRunActive(sh, earlier);
}

/*
 * The runs ahead of us in our exclusive group (caller holds the lock): other
 * slots of the same role and group name that execute, or wait to and are due
 * before us (core/exclusive_group.hpp). Jobs of different roles never share a
 * group: one role cannot stall another's jobs by naming its group.
 */
core::GroupBusy
GroupBusyLocked(SharedState *sh)
{
	core::GroupBusy busy;
	if (run.spec.exclusive_group[0] == '\0')
		return busy;
	for (int i = 0; i < sh->nslots; i++) {
		const RunSlot *s = &sh->slots[i];
		if (i == run.slotno || s->spec.roleoid != run.spec.roleoid ||
		    strcmp(s->spec.exclusive_group, run.spec.exclusive_group) != 0)
			continue;
		/* The job's own runs are ordered by its overlap policy (queue: run after it), unless it allows overlaps. */
		if (s->spec.jobid == run.spec.jobid && run.spec.overlap != kOverlapAllow)
			continue;
		core::GroupPeerState state = s->state == kSlotRunning  ? core::GroupPeerState::kExecuting
		                             : s->state == kSlotQueued ? core::GroupPeerState::kQueued
		                                                       : core::GroupPeerState::kIdle;
		core::NoteGroupPeer(&busy, core::GroupPeer{state, DueBefore(s), s->spec.runid, s->spec.jobid});
	}
	return busy;
}

/*
 * Another run of this job already waiting for its group? (caller holds the
 * lock) Only reachable with overlap = allow (skip and queue stop at the
 * earlier run first): at most one run per job waits for a group, as with
 * overlap = queue, so waiting workers cannot pile up.
 */
bool
JobWaitingForGroup(SharedState *sh, int64 *waiting_runid)
{
	for (int i = 0; i < sh->nslots; i++) {
		const RunSlot *s = &sh->slots[i];
		if (i != run.slotno && s->spec.jobid == run.spec.jobid && s->state == kSlotQueued && s->waiting_group) {
			*waiting_runid = s->spec.runid;
			return true;
		}
	}
	return false;
}

/* job_stagger.max_running_jobs as the launcher applied it (our own setting before it did). */
int
RunningCap(SharedState *sh)
{
	return sh->running_cap > 0 ? sh->running_cap : js::pg::guc_max_running_jobs;
}

enum StartOutcome : int {
	kStarted = 0, /* RUNNING, started_at set */
	kWaitingTurn, /* QUEUED: behind the job's previous run, its busy group, or for a place under the cap */
	kSlotLost,    /* the slot is no longer ours */
};

/* When this run first found its group busy (0: never); reported with the run's message. */
TimestampTz group_wait_since = 0;

/*
 * At or after the instant, under the lock: start executing if no earlier run
 * of the job blocks us (`overlap_busy`), our exclusive group is free
 * (`group_busy`) and the cap has a place for us (runs waiting for a place
 * that are due earlier go first); else wait QUEUED. A run waiting for its
 * job or its group is not `ready`: it does not count as wanting a place.
 */
StartOutcome
TryStartLocked(SharedState *sh, bool overlap_busy, bool group_busy)
{
	RunSlot *slot = MySlot();
	if (slot->generation != run.generation)
		return kSlotLost;
	bool blocked = overlap_busy || group_busy;
	if (group_busy && group_wait_since == 0)
		group_wait_since = GetCurrentTimestamp();
	if (!blocked) {
		int running = 0, ready_ahead = 0;
		for (int i = 0; i < sh->nslots; i++) {
			const RunSlot *s = &sh->slots[i];
			running += s->state == kSlotRunning;
			ready_ahead += i != run.slotno && s->state == kSlotQueued && s->ready && DueBefore(s);
		}
		if (core::MayTakePlace(running, ready_ahead, RunningCap(sh))) {
			if (!TransitionSlot(slot, kSlotRunning))
				return kSlotLost;
			slot->ready = false;
			slot->waiting_group = false;
			slot->started_at = GetCurrentTimestamp();
			NotePeakLocked(sh);
			return kStarted;
		}
	}
	if (slot->state != kSlotQueued && !TransitionSlot(slot, kSlotQueued))
		return kSlotLost;
	slot->ready = !blocked;
	slot->waiting_group = group_busy;
	return kWaitingTurn;
}

/* The overlap policy's skip message (the job's earlier run is in the way). */
void
FormatOverlapSkip(const EarlierRun &earlier, char *message)
{
	if (run.spec.overlap == kOverlapQueue)
		snprintf(message, kRunMessageSize, "skipped: a run is already queued behind run " INT64_FORMAT, earlier.runid);
	else if (earlier.state == kSlotRunning)
		snprintf(message, kRunMessageSize, "skipped: the previous run (runid " INT64_FORMAT ") is still running",
		         earlier.runid);
	else if (earlier.state == kSlotQueued && earlier.waiting_group)
		snprintf(message, kRunMessageSize,
		         "skipped: the previous run (runid " INT64_FORMAT
		         ") has not finished (it is queued, waiting for exclusive group \"%s\")",
		         earlier.runid, run.spec.exclusive_group);
	else
		snprintf(message, kRunMessageSize,
		         "skipped: the previous run (runid " INT64_FORMAT ") has not finished (it is %s%s)", earlier.runid,
		         SlotStateName(earlier.state),
		         earlier.state == kSlotQueued ? ", waiting for a place under job_stagger.max_running_jobs" : "");
}

/* The group policy's skip message (another run of the group is in the way). */
void
FormatGroupSkip(const core::GroupBusy &group, char *message)
{
	snprintf(message, kRunMessageSize,
	         "skipped: exclusive group \"%s\" is busy: run " INT64_FORMAT " of job " INT64_FORMAT " is %s",
	         run.spec.exclusive_group, group.holder_runid, group.holder_jobid,
	         group.holder_executing ? "running" : "waiting to run before this one");
}

/* Records the slot as skipped with `message` (caller holds the lock, which this releases). */
void
SkipAndUnlock(SharedState *sh, const char *message)
{
	bool finished = FinishLocked(MySlot(), kResultSkipped, message);
	UnlockSlots();
	ConditionVariableCancelSleep();
	if (finished) {
		ConditionVariableBroadcast(&sh->slot_changed);
		WakeLauncher();
	}
}

/*
 * Applies the overlap policy, the exclusive group and the cap at the fire
 * instant. Returns true with the slot RUNNING and started_at set (maybe after
 * waiting QUEUED), or false (the run finished as skipped, or the slot is no
 * longer ours).
 */
bool
ClaimStart()
{
	SharedState *sh = Shared();
	EarlierRun earlier = {0, kSlotFree, false, false};
	char message[kRunMessageSize];

	ConditionVariablePrepareToSleep(&sh->slot_changed); /* no wake-up is lost between a check and the sleep */
	LockSlots(LW_EXCLUSIVE);
	if (MySlot()->generation != run.generation) {
		UnlockSlots();
		ConditionVariableCancelSleep();
		return false;
	}
	bool busy = OverlapBusy(sh, &earlier);
	if (busy && (run.spec.overlap == kOverlapSkip || earlier.queued_exists)) {
		FormatOverlapSkip(earlier, message);
		SkipAndUnlock(sh, message);
		return false;
	}
	core::GroupBusy group = GroupBusyLocked(sh);
	core::GroupDecision decision = core::DecideGroup(group, static_cast<core::GroupPolicy>(run.spec.group_policy));
	int64 waiting = 0;
	if (decision == core::GroupDecision::kSkip) {
		FormatGroupSkip(group, message);
		SkipAndUnlock(sh, message);
		return false;
	}
	if (decision == core::GroupDecision::kWait && JobWaitingForGroup(sh, &waiting)) {
		snprintf(message, kRunMessageSize,
		         "skipped: run " INT64_FORMAT " of this job is already waiting for exclusive group \"%s\"", waiting,
		         run.spec.exclusive_group);
		SkipAndUnlock(sh, message);
		return false;
	}
	StartOutcome outcome = TryStartLocked(sh, busy, decision == core::GroupDecision::kWait);
	UnlockSlots();

	/* Queued: behind the job's previous run (overlap = queue), its busy group (wait), or for a place under the cap. */
	while (outcome == kWaitingTurn) {
		ConditionVariableSleep(&sh->slot_changed, PG_WAIT_EXTENSION);
		LockSlots(LW_EXCLUSIVE);
		busy = OverlapBusy(sh, &earlier);
		outcome = TryStartLocked(sh, busy, GroupBusyLocked(sh).busy);
		UnlockSlots();
	}
	ConditionVariableCancelSleep();
	return outcome == kStarted;
}

/* Appends how long the run waited for its exclusive group, if it did, to its message. */
void
NoteGroupWait(char *message)
{
	if (group_wait_since == 0)
		return;
	LockSlots(LW_SHARED);
	const RunSlot *slot = MySlot();
	TimestampTz started_at = slot->generation == run.generation ? slot->started_at : group_wait_since;
	UnlockSlots();
	double waited = Max(started_at - group_wait_since, 0) / (double)USECS_PER_SEC;
	size_t used = strlen(message);
	snprintf(message + used, kRunMessageSize - used, " (waited %.1f s for exclusive group \"%s\")", waited,
	         run.spec.exclusive_group);
}

/*
 * The commit fence: the command's first commit (or PREPARE TRANSACTION) waits
 * until the launcher has committed this run's 'running' row. WAL is replayed
 * in order, so any copy of the database that has the command's effects also
 * has that row: a row still 'starting' after a crash or a promotion proves the
 * command never committed anything, and the next scheduler may run it again
 * (launcher_db.cpp, RecoverRuns).
 *
 * The command's last commit, when it is the only one of the command that
 * wrote (has a transaction id), also publishes that id in the slot and waits
 * until the launcher has committed it in the run's row (command_xid): then
 * any copy that has the commit has the id, and the next scheduler closes a
 * 'running' row by the transaction's fate (committed: 'succeeded'). A command
 * that wrote in several transactions (CALL/DO with COMMIT, statements with
 * COMMIT between them) publishes none: a committed first transaction would
 * not say whether the rest committed.
 *
 * Only the start's wait and the id's wait are paid, each only for what remains
 * of a launcher's recording transaction. If the launcher cannot record for
 * kCommitFenceTimeoutMs (blocked, history not writable, gone), the commit
 * proceeds with one LOG line: a crash then may run that slot twice, or leave
 * its outcome unknown.
 */
bool commit_fence_passed = false;
bool final_commit = false;  /* set by ExecuteCommand just before the command's last commit */
bool earlier_write = false; /* an earlier transaction of the command had a transaction id */

/* Waits until the launcher recorded the start and, if `xid` (not 0), the command's transaction id. */
void
WaitForRunningRecorded(uint64 xid)
{
	SharedState *sh = Shared();
	TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), kCommitFenceTimeoutMs);
	bool recorded = false;
	if (xid != 0) {
		LockSlots(LW_EXCLUSIVE);
		RunSlot *slot = MySlot();
		if (slot->generation == run.generation)
			slot->command_xid = xid;
		UnlockSlots();
		WakeLauncher();
	}
	ConditionVariablePrepareToSleep(&sh->slot_changed);
	for (;;) {
		LockSlots(LW_SHARED);
		const RunSlot *slot = MySlot();
		recorded =
		    slot->generation != run.generation || (slot->running_recorded && (xid == 0 || slot->xid_recorded == xid));
		UnlockSlots();
		long left = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);
		if (recorded || left <= 0)
			break;
		(void)ConditionVariableTimedSleep(&sh->slot_changed, left, PG_WAIT_EXTENSION);
	}
	ConditionVariableCancelSleep();
	if (!recorded)
		ereport(LOG, (errmsg("job_stagger: run " INT64_FORMAT " commits before the scheduler recorded it as running",
		                     run.spec.runid),
		              errdetail("The scheduler did not record the start%s within %ld ms; if the server stops before it "
		                        "does, the next scheduler may run this slot again or not know its outcome.",
		                        xid != 0 ? " and the command's transaction id" : "", kCommitFenceTimeoutMs)));
}

void
CommitFence(XactEvent event, void *arg)
{
	if (event != XACT_EVENT_PRE_COMMIT && event != XACT_EVENT_PARALLEL_PRE_COMMIT && event != XACT_EVENT_PRE_PREPARE)
		return;
	FullTransactionId fxid = GetTopFullTransactionIdIfAny();
	bool wrote = FullTransactionIdIsValid(fxid);
	/* A prepared transaction's fate is decided later: not published. */
	bool publish = wrote && final_commit && !earlier_write && event == XACT_EVENT_PRE_COMMIT;
	earlier_write |= wrote;
	if (commit_fence_passed && !publish)
		return;
	WaitForRunningRecorded(publish ? U64FromFullTransactionId(fxid) : 0);
	commit_fence_passed = true;
}

/* "SELECT 3", "INSERT 0 1", "VACUUM": what psql would print for the statement. */
void
FormatCompletion(const QueryCompletion *qc, char *buf, size_t size)
{
	const char *tag = GetCommandTagName(qc->commandTag);
	if (!command_tag_display_rowcount(qc->commandTag))
		strlcpy(buf, tag, size);
	else if (qc->commandTag == CMDTAG_INSERT)
		snprintf(buf, size, "%s 0 " UINT64_FORMAT, tag, qc->nprocessed);
	else
		snprintf(buf, size, "%s " UINT64_FORMAT, tag, qc->nprocessed);
}

/* Plans and runs one statement in an unnamed portal, discarding its output. */
void
RunStatement(RawStmt *stmt, const char *sql, CommandTag tag, QueryCompletion *qc)
{
	bool snapshot_set = false;
	if (analyze_requires_snapshot(stmt)) {
		PushActiveSnapshot(GetTransactionSnapshot());
		snapshot_set = true;
	}
	List *queries = pg_analyze_and_rewrite_fixedparams(stmt, sql, nullptr, 0, nullptr);
	List *plans = pg_plan_queries(queries, sql, CURSOR_OPT_PARALLEL_OK, nullptr);
	if (snapshot_set)
		PopActiveSnapshot();
	CHECK_FOR_INTERRUPTS();

	Portal portal = CreatePortal("", true, true);
	portal->visible = false;
	PortalDefineQuery(portal, nullptr, sql, tag, plans, nullptr);
	PortalStart(portal, nullptr, 0, InvalidSnapshot);
	int16 format = 0;
	PortalSetResultFormat(portal, 1, &format);
	DestReceiver *receiver = CreateDestReceiver(DestNone);
	(void)PortalRun(portal, FETCH_ALL, true, true, receiver, receiver, qc);
	receiver->rDestroy(receiver);
	PortalDrop(portal, false);
}

/*
 * Runs the command like a simple query: one statement runs top-level in its
 * own transaction; several run in one implicit transaction, with COMMIT or
 * ROLLBACK inside them ending it as in psql -c.
 */
void
ExecuteCommand(const char *sql, char *completion, size_t size)
{
	MemoryContext cmd_cxt = AllocSetContextCreate(TopMemoryContext, "job_stagger command", ALLOCSET_DEFAULT_SIZES);
	bool xact_started = true;
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	debug_query_string = sql;
	pgstat_report_activity(STATE_RUNNING, sql);

	MemoryContext old = MemoryContextSwitchTo(cmd_cxt);
	List *stmts = pg_parse_query(sql);
	MemoryContextSwitchTo(old);
	bool implicit_block = list_length(stmts) > 1;
	completion[0] = '\0';

	ListCell *lc;
	foreach (lc, stmts) {
		RawStmt *stmt = lfirst_node(RawStmt, lc);
		CommandTag tag = CreateCommandTag(stmt->stmt);
		QueryCompletion qc;
		set_ps_display(GetCommandTagName(tag));
		if (!xact_started) {
			SetCurrentStatementStartTimestamp();
			StartTransactionCommand();
			xact_started = true;
		}
		if (implicit_block)
			BeginImplicitTransactionBlock();
		CHECK_FOR_INTERRUPTS();
		InitializeQueryCompletion(&qc);
		old = MemoryContextSwitchTo(cmd_cxt);
		RunStatement(stmt, sql, tag, &qc);
		MemoryContextSwitchTo(old);
		FormatCompletion(&qc, completion, size);
		if (lnext(stmts, lc) == nullptr) {
			if (implicit_block)
				EndImplicitTransactionBlock();
			final_commit = true;
			CommitTransactionCommand();
			xact_started = false;
		} else if (IsA(stmt->stmt, TransactionStmt)) {
			CommitTransactionCommand();
			xact_started = false;
		} else {
			CommandCounterIncrement();
		}
	}
	final_commit = true;
	if (xact_started)
		CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, nullptr);
	debug_query_string = nullptr;
}

/* Runs the command with the job's timeout; fills in the result. */
RunResult
Execute(char *message)
{
	TimeoutId timeout_id = RegisterTimeout(USER_TIMEOUT, RunTimeoutHandler);
	volatile RunResult result = kResultSucceeded;
	MemoryContext old = CurrentMemoryContext;
	if (run.spec.timeout_ms > 0)
		enable_timeout_after(timeout_id, run.spec.timeout_ms);
	PG_TRY();
	{
		ExecuteCommand(run.command, message, kRunMessageSize);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(old);
		ErrorData *edata = CopyErrorData();
		EmitErrorReport();
		FlushErrorState();
		AbortOutOfAnyTransaction();
		if (run_timed_out) {
			result = kResultTimedOut;
			snprintf(message, kRunMessageSize, "canceled: the run exceeded its timeout of %d ms", run.spec.timeout_ms);
		} else {
			result = kResultFailed;
			strlcpy(message, edata->message != nullptr ? edata->message : "unknown error", kRunMessageSize);
		}
		pgstat_report_activity(STATE_IDLE, nullptr);
	}
	PG_END_TRY();
	if (run.spec.timeout_ms > 0)
		disable_timeout(timeout_id, false);
	return result;
}

/*
 * application_name shows the job by id only ("job_stagger job 42"): every
 * role can read pg_stat_activity.application_name, and a job's name is its
 * owner's business. Set before the command, as a session setting, so the
 * command may change it.
 */
void
ReportIdentity()
{
	char appname[NAMEDATALEN];
	snprintf(appname, sizeof(appname), "job_stagger job " INT64_FORMAT, run.spec.jobid);
	SetConfigOption("application_name", appname, PGC_USERSET, PGC_S_SESSION);
	pgstat_report_appname(appname);
}

} // namespace

} // namespace js::worker

extern "C" {

void
job_stagger_run_main(Datum main_arg)
{
	using namespace js::worker;
	uint32 generation = 0;
	memcpy(&generation, MyBgworkerEntry->bgw_extra, sizeof(generation));

	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	if (Shared() == nullptr || !ReadSlot(DatumGetInt32(main_arg), generation))
		proc_exit(0); /* the launcher gave the slot up before we started */
	prev_emit_log_hook = emit_log_hook;
	emit_log_hook = CaptureError;
	before_shmem_exit(RunnerExit, 0);

	ReadPayload();
	(void)prctl(PR_SET_TIMERSLACK, 1000UL); /* 1 us: wake at the fire instant, not up to 50 us after */
	BackgroundWorkerInitializeConnectionByOid(run.spec.dboid, run.spec.roleoid, 0);
	ReportIdentity();
	if (!EnterWaiting())
		proc_exit(0); /* the launcher gave the slot up meanwhile */
	WaitForFireTime(run.spec.fire_at);
	if (!ClaimStart())
		proc_exit(0);
	WakeLauncher();

	char message[kRunMessageSize];
	RegisterXactCallback(CommitFence, nullptr);
	RunResult result = Execute(message);
	NoteGroupWait(message);
	Finish(result, message);
	proc_exit(0);
}

} /* extern "C" */
