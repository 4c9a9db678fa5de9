/*
 * Shared memory set-up for the scheduler (PG15: request in shmem_request_hook,
 * initialise in shmem_startup_hook, both chained), the slot lock, the one
 * transition function of a run slot, and the read-only status copies for
 * SQL-facing code.
 */
#include "core/run_slot_fsm.hpp"
#include "worker/launcher.hpp"

extern "C" {
#include "postgres.h"

#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/shmem.h"
}

#include "worker/shared.hpp"

namespace js::worker {

static_assert(static_cast<int>(core::RunSlotState::kFree) == kSlotFree &&
                  static_cast<int>(core::RunSlotState::kClaimed) == kSlotClaimed &&
                  static_cast<int>(core::RunSlotState::kWaiting) == kSlotWaiting &&
                  static_cast<int>(core::RunSlotState::kQueued) == kSlotQueued &&
                  static_cast<int>(core::RunSlotState::kRunning) == kSlotRunning &&
                  static_cast<int>(core::RunSlotState::kDone) == kSlotDone && core::kRunSlotStateCount == kSlotDone + 1,
              "RunSlotState mirrors core::RunSlotState");

namespace {

constexpr const char *kShmemName = "job_stagger";
constexpr const char *kTrancheName = "job_stagger";

SharedState *shared_state = nullptr;
shmem_request_hook_type prev_shmem_request_hook = nullptr;
shmem_startup_hook_type prev_shmem_startup_hook = nullptr;

/* One slot per possible background worker: no more job workers can exist at once. */
Size
SharedSize()
{
	return add_size(offsetof(SharedState, slots), mul_size(sizeof(RunSlot), max_worker_processes));
}

void
ShmemRequest()
{
	if (prev_shmem_request_hook != nullptr)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(SharedSize());
	RequestNamedLWLockTranche(kTrancheName, 1);
}

void
ShmemStartup()
{
	bool found = false;

	if (prev_shmem_startup_hook != nullptr)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	shared_state = static_cast<SharedState *>(ShmemInitStruct(kShmemName, SharedSize(), &found));
	if (!found) {
		memset(shared_state, 0, SharedSize());
		shared_state->lock = &(GetNamedLWLockTranche(kTrancheName))->lock;
		ConditionVariableInit(&shared_state->slot_changed);
		pg_atomic_init_u64(&shared_state->jobs_generation, 1);
		pg_atomic_init_u64(&shared_state->run_requests, 1);
		shared_state->nslots = max_worker_processes;
	}
	LWLockRelease(AddinShmemInitLock);
}

/* Transitions refused while the lock was held, reported once it is released (no logging under the lock). */
struct RefusedTransition {
	int slotno;
	RunSlotState from;
	RunSlotState to;
	int64 runid;
};
constexpr int kMaxRefusedKept = 8;
RefusedTransition refused[kMaxRefusedKept];
int nrefused = 0;

} // namespace

void
LockSlots(LWLockMode mode)
{
	LWLockAcquire(shared_state->lock, mode);
}

void
UnlockSlots()
{
	LWLockRelease(shared_state->lock);
	int n = nrefused;
	nrefused = 0;
	for (int i = 0; i < n && i < kMaxRefusedKept; i++)
		ereport(WARNING, (errmsg("job_stagger: run slot %d (run " INT64_FORMAT ") cannot go from %s to %s; refused",
		                         refused[i].slotno, refused[i].runid, SlotStateName(refused[i].from),
		                         SlotStateName(refused[i].to)),
		                  errdetail("The slot keeps its state. This is a bug in job_stagger; please report it.")));
	if (n > kMaxRefusedKept)
		ereport(WARNING, (errmsg("job_stagger: %d more refused run slot transitions", n - kMaxRefusedKept)));
}

const char *
SlotStateName(RunSlotState state)
{
	return core::RunSlotStateName(static_cast<core::RunSlotState>(state));
}

bool
TransitionSlot(RunSlot *slot, RunSlotState to)
{
	Assert(LWLockHeldByMeInMode(shared_state->lock, LW_EXCLUSIVE));
	RunSlotState from = slot->state;
	bool legal = core::IsLegalTransition(static_cast<core::RunSlotState>(from), static_cast<core::RunSlotState>(to));
	Assert(legal);
	if (!legal) {
		if (nrefused < kMaxRefusedKept)
			refused[nrefused] = {static_cast<int>(slot - shared_state->slots), from, to, slot->spec.runid};
		nrefused++;
		return false;
	}
	slot->state = to;
	return true;
}

bool
SchedulerStatusSnapshot(SchedulerStatus *out)
{
	SharedState *sh = shared_state;
	memset(out, 0, sizeof(*out));
	if (sh == nullptr)
		return false;
	LockSlots(LW_SHARED);
	out->launcher_pid = sh->launcher_pid;
	out->launcher_started_at = sh->launcher_started_at;
	out->applied_enabled = sh->applied_enabled;
	out->settings_applied_at = sh->settings_applied_at;
	out->nslots = sh->nslots;
	for (int i = 0; i < sh->nslots; i++) {
		int state = sh->slots[i].state;
		if (state >= kSlotFree && state <= kSlotDone)
			out->count[state]++;
	}
	out->auto_rollback_at = sh->auto_rollback_at;
	memcpy(out->auto_rollback_reason, sh->auto_rollback_reason, kRunMessageSize);
	UnlockSlots();
	out->auto_rollback_reason[kRunMessageSize - 1] = '\0';
	return true;
}

void
RequestSharedMemory()
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = ShmemRequest;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = ShmemStartup;
}

SharedState *
Shared()
{
	return shared_state;
}

void
WakeLauncher()
{
	if (shared_state == nullptr)
		return;
	/* The latch is in the launcher's PGPROC, which outlives the launcher: a stale pointer is harmless. */
	Latch *latch = shared_state->launcher_latch;
	if (latch != nullptr)
		SetLatch(latch);
}

unsigned long long
NotifyJobsChanged()
{
	if (shared_state == nullptr)
		return 0;
	uint64 old = pg_atomic_fetch_add_u64(&shared_state->jobs_generation, 1);
	WakeLauncher();
	return old;
}

void
NotifyRunRequested()
{
	if (shared_state == nullptr)
		return;
	pg_atomic_fetch_add_u64(&shared_state->run_requests, 1);
	WakeLauncher();
}

} // namespace js::worker
