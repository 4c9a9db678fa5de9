/*
 * The launcher's side of the shared run slots: claiming a slot and starting
 * its job worker, collecting what workers report, noticing workers that
 * vanished, and adopting the runs of a previous launcher. The slot states are
 * described in shared.hpp.
 *
 * C-shaped PostgreSQL code: plain data only in these frames. Nothing is
 * allocated while the slot lock is held: reports are copied into buffers
 * allocated once at start-up, and worker handles and payload segments are
 * released after the lock.
 */
#include "core/run_slot_fsm.hpp"
#include "pg/guc.hpp"

extern "C" {
#include "postgres.h"

#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
}

#include "worker/launcher_loop.hpp"
#include "worker/shared.hpp"

namespace js::worker {

namespace {

/* A claimed slot whose worker never reported for this long is given up as crashed. */
constexpr int64 kStuckClaimUsecs = 60 * USECS_PER_SEC;
/* Rate limit of the "cannot start a job worker" warning. */
constexpr int64 kWarnIntervalUsecs = 60 * USECS_PER_SEC;

/* Launcher-local knowledge about each shared run slot. */
struct SlotLocal {
	BackgroundWorkerHandle *handle; /* NULL for a slot adopted from a previous launcher */
	dsm_segment *payload;
};

/* A worker report as copied under the lock (no allocation there). */
struct RawEvent {
	int slot;
	uint32 generation;
	int64 runid;
	int64 jobid;
	TimestampTz fire_at;
	bool finished;
	RunResult result;
	TimestampTz started_at;
	TimestampTz ended_at;
	pid_t pid;
	uint64 command_xid;
	char message[kRunMessageSize];
};

MemoryContext slots_cxt = nullptr; /* the launcher's: worker handles live here */
SlotLocal *slot_local = nullptr;
RawEvent *raw_events = nullptr; /* one per slot, allocated once */
int *freed_slots = nullptr;     /* one per slot, allocated once */
TimestampTz last_start_warning = 0;

/* Marks a slot whose worker is gone without a word (stopped before connecting, or lost). */
void
MarkLostWorker(RunSlot *slot, const char *why)
{
	if (!TransitionSlot(slot, kSlotDone))
		return; /* reported at UnlockSlots(); the slot keeps its state */
	slot->result = slot->started_at != 0 ? kResultCrashed : kResultFailed;
	slot->ended_at = GetCurrentTimestamp();
	strlcpy(slot->message, why, kRunMessageSize);
}

/* Finds slots whose worker disappeared without reporting (caller holds the lock exclusively). */
void
DetectLostWorkers(SharedState *sh, TimestampTz now)
{
	for (int i = 0; i < sh->nslots; i++) {
		RunSlot *slot = &sh->slots[i];
		if (slot->state == kSlotFree || slot->state == kSlotDone)
			continue;
		pid_t pid = 0;
		if (slot_local[i].handle != nullptr) {
			if (GetBackgroundWorkerPid(slot_local[i].handle, &pid) == BGWH_STOPPED)
				MarkLostWorker(slot, slot->state == kSlotClaimed
				                         ? "job worker exited before it could start the run (see the server log)"
				                         : "job worker exited without reporting a result");
		} else if (slot->state == kSlotClaimed && now - slot->claimed_at > kStuckClaimUsecs) {
			MarkLostWorker(slot, "job worker never started (adopted from a previous launcher)");
		}
	}
}

/* The job name in a run's payload segment (mapped by the launcher that created it), or "". */
const char *
PayloadJobName(int slotno)
{
	dsm_segment *seg = slot_local[slotno].payload;
	if (seg == nullptr)
		return "";
	RunPayload *payload = static_cast<RunPayload *>(dsm_segment_address(seg));
	return payload->data + payload->command_len + 1;
}

} // namespace

void
InitSlots(MemoryContext mcxt)
{
	int nslots = Shared()->nslots;
	slots_cxt = mcxt;
	slot_local = static_cast<SlotLocal *>(MemoryContextAllocZero(mcxt, sizeof(SlotLocal) * nslots));
	raw_events = static_cast<RawEvent *>(
	    MemoryContextAllocExtended(mcxt, sizeof(RawEvent) * nslots, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO));
	freed_slots = static_cast<int *>(MemoryContextAllocZero(mcxt, sizeof(int) * nslots));
}

SlotEvent *
CollectEvents(MemoryContext mcxt, int *count, int *running)
{
	SharedState *sh = Shared();
	SlotEvent *events = static_cast<SlotEvent *>(MemoryContextAllocZero(mcxt, sizeof(SlotEvent) * sh->nslots));
	int n = 0;
	int running_now = 0;
	TimestampTz now = GetCurrentTimestamp();
	LockSlots(LW_EXCLUSIVE);
	DetectLostWorkers(sh, now);
	for (int i = 0; i < sh->nslots; i++) {
		RunSlot *slot = &sh->slots[i];
		bool finished = slot->state == kSlotDone;
		running_now += slot->state == kSlotRunning;
		/* a start to record, or the command's transaction id its commit waits for (runner.cpp, CommitFence) */
		bool report =
		    slot->state == kSlotRunning && (!slot->running_recorded || slot->command_xid != slot->xid_recorded);
		if (!finished && !report)
			continue;
		RawEvent *e = &raw_events[n++];
		e->slot = i;
		e->generation = slot->generation;
		e->runid = slot->spec.runid;
		e->finished = finished;
		e->result = slot->result;
		e->started_at = slot->started_at;
		e->ended_at = slot->ended_at;
		e->pid = slot->pid;
		e->jobid = slot->spec.jobid;
		e->fire_at = slot->spec.fire_at;
		e->command_xid = slot->command_xid;
		memcpy(e->message, slot->message, kRunMessageSize);
	}
	UnlockSlots();
	for (int i = 0; i < n; i++) {
		const RawEvent *raw = &raw_events[i];
		SlotEvent *e = &events[i];
		e->slot = raw->slot;
		e->generation = raw->generation;
		e->runid = raw->runid;
		e->jobid = raw->jobid;
		e->fire_at = raw->fire_at;
		e->finished = raw->finished;
		e->result = raw->result;
		e->message = MemoryContextStrdup(mcxt, raw->message);
		e->started_at = raw->started_at;
		e->ended_at = raw->ended_at;
		e->pid = raw->pid;
		e->command_xid = raw->command_xid;
		e->job_name = MemoryContextStrdup(mcxt, PayloadJobName(raw->slot)); /* our own mapping: no lock needed */
	}
	*count = n;
	*running = running_now;
	return events;
}

void
AcknowledgeEvents(const SlotEvent *events, int count)
{
	SharedState *sh = Shared();
	int nfreed = 0;
	LockSlots(LW_EXCLUSIVE);
	for (int i = 0; i < count; i++) {
		RunSlot *slot = &sh->slots[events[i].slot];
		if (slot->generation != events[i].generation)
			continue;
		if (!events[i].finished) {
			slot->running_recorded = true;
			slot->xid_recorded = events[i].command_xid;
			continue;
		}
		if (TransitionSlot(slot, kSlotFree))
			freed_slots[nfreed++] = events[i].slot;
	}
	UnlockSlots();
	/* The worker handles and payload segments are the launcher's own: released after the lock. */
	for (int i = 0; i < nfreed; i++) {
		SlotLocal *local = &slot_local[freed_slots[i]];
		if (local->handle != nullptr)
			pfree(local->handle);
		if (local->payload != nullptr)
			dsm_detach(local->payload);
		local->handle = nullptr;
		local->payload = nullptr;
	}
	ConditionVariableBroadcast(&sh->slot_changed);
}

namespace {

/* Creates the segment the worker reads its command and job name from. */
dsm_segment *
MakePayload(const DueRun *run)
{
	int32 command_len = strlen(run->command);
	int32 name_len = strlen(run->job_name);
	dsm_segment *seg =
	    dsm_create(offsetof(RunPayload, data) + command_len + name_len + 2, DSM_CREATE_NULL_IF_MAXSEGMENTS);
	if (seg == nullptr)
		return nullptr;
	RunPayload *payload = static_cast<RunPayload *>(dsm_segment_address(seg));
	payload->command_len = command_len;
	payload->job_name_len = name_len;
	memcpy(payload->data, run->command, command_len + 1);
	memcpy(payload->data + command_len + 1, run->job_name, name_len + 1);
	return seg;
}

/*
 * Claims a free slot for the run (caller holds the lock); -1 when none may be
 * had now (core::MayStartWorker: job_stagger.max_running_jobs counts runs
 * executing; workers started ahead of their instant only need a free slot).
 */
int
ClaimSlot(SharedState *sh, const DueRun *run, int cap, TimestampTz now)
{
	core::SlotCounts counts;
	int free_slot = -1;
	for (int i = 0; i < sh->nslots; i++) {
		const RunSlot *s = &sh->slots[i];
		if (s->state == kSlotFree && free_slot < 0)
			free_slot = i;
		counts.free += s->state == kSlotFree;
		counts.running += s->state == kSlotRunning;
		counts.awaiting_place += s->state == kSlotQueued && s->ready;
		counts.late_starting += (s->state == kSlotClaimed || s->state == kSlotWaiting) && s->spec.fire_at <= now;
	}
	/* a run delayed by job_stagger.max_starts_per_second starts (and queues) at its delayed instant */
	TimestampTz start_at = run->start_at != 0 ? run->start_at : run->fire_at;
	if (!core::MayStartWorker(counts, cap, start_at <= now))
		return -1;
	RunSlot *slot = &sh->slots[free_slot];
	uint32 generation = slot->generation + 1;
	memset(slot, 0, sizeof(RunSlot)); /* state stays kSlotFree */
	slot->generation = generation;
	if (!TransitionSlot(slot, kSlotClaimed))
		return -1;
	slot->spec.jobid = run->jobid;
	slot->spec.runid = run->runid;
	slot->spec.dboid = run->dboid;
	slot->spec.roleoid = run->roleoid;
	slot->spec.fire_at = start_at;
	slot->spec.overlap = static_cast<OverlapPolicy>(run->overlap);
	slot->spec.timeout_ms = run->timeout_ms;
	/* names are checked to fit (1..63 bytes) by the jobs trigger; a longer one would be cut, never overflow */
	strlcpy(slot->spec.exclusive_group, run->exclusive_group != nullptr ? run->exclusive_group : "",
	        sizeof(slot->spec.exclusive_group));
	slot->spec.group_policy = run->group_policy;
	slot->claimed_at = GetCurrentTimestamp();
	return free_slot;
}

/* The worker could not be started: give the slot back (a refused move leaves it to DetectLostWorkers). */
void
ReleaseClaim(int slotno)
{
	LockSlots(LW_EXCLUSIVE);
	(void)TransitionSlot(&Shared()->slots[slotno], kSlotFree);
	UnlockSlots();
}

void
WarnCannotStart(const char *why)
{
	TimestampTz now = GetCurrentTimestamp();
	if (now - last_start_warning < kWarnIntervalUsecs)
		return;
	last_start_warning = now;
	ereport(WARNING, (errmsg("job_stagger: cannot start a job worker now: %s", why),
	                  errhint("Runs wait until one is free. Raise max_worker_processes (restart) above "
	                          "job_stagger.max_running_jobs.")));
}

} // namespace

bool
StartRun(const DueRun *run)
{
	SharedState *sh = Shared();
	TimestampTz now = GetCurrentTimestamp();
	LockSlots(LW_EXCLUSIVE);
	int slotno = ClaimSlot(sh, run, js::pg::guc_max_running_jobs, now);
	uint32 generation = slotno >= 0 ? sh->slots[slotno].generation : 0;
	UnlockSlots();
	if (slotno < 0)
		return false;

	dsm_segment *seg = MakePayload(run);
	if (seg == nullptr) {
		ReleaseClaim(slotno);
		WarnCannotStart("no dynamic shared memory segment available");
		return false;
	}
	dsm_handle payload = dsm_segment_handle(seg);
	LockSlots(LW_EXCLUSIVE);
	sh->slots[slotno].spec.payload = payload;
	UnlockSlots();

	BackgroundWorker worker;
	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	worker.bgw_notify_pid = MyProcPid;
	worker.bgw_main_arg = Int32GetDatum(slotno);
	memcpy(worker.bgw_extra, &generation, sizeof(generation));
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "job_stagger");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "job_stagger_run_main");
	/* No job name: it would show in ps and pg_stat_activity.application_name to every role. */
	snprintf(worker.bgw_name, BGW_MAXLEN, "job_stagger job " INT64_FORMAT " run " INT64_FORMAT, run->jobid, run->runid);
	snprintf(worker.bgw_type, BGW_MAXLEN, "job_stagger job");

	BackgroundWorkerHandle *handle = nullptr;
	MemoryContext old = MemoryContextSwitchTo(slots_cxt);
	bool ok = RegisterDynamicBackgroundWorker(&worker, &handle);
	MemoryContextSwitchTo(old);
	if (!ok) {
		ReleaseClaim(slotno);
		dsm_detach(seg);
		WarnCannotStart("all background worker slots are in use (max_worker_processes)");
		return false;
	}
	slot_local[slotno].handle = handle;
	slot_local[slotno].payload = seg;
	return true;
}

int64 *
AdoptSlots(MemoryContext mcxt, int *count)
{
	SharedState *sh = Shared();
	int64 *runids = static_cast<int64 *>(MemoryContextAllocZero(mcxt, sizeof(int64) * (sh->nslots + 1)));
	int n = 0;
	for (int i = 0; i < sh->nslots; i++) {
		slot_local[i].handle = nullptr;
		slot_local[i].payload = nullptr;
	}
	LockSlots(LW_SHARED);
	for (int i = 0; i < sh->nslots; i++)
		if (sh->slots[i].state != kSlotFree)
			runids[n++] = sh->slots[i].spec.runid;
	UnlockSlots();
	*count = n;
	return runids;
}

} // namespace js::worker
