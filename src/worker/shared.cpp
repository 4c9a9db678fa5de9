/*
 * Shared memory set-up for the scheduler (PG15: request in shmem_request_hook,
 * initialise in shmem_startup_hook, both chained).
 */
#include "worker/launcher.hpp"

extern "C" {
#include "postgres.h"

#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/shmem.h"
}

#include "worker/shared.hpp"

namespace js::worker {

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
		shared_state->nslots = max_worker_processes;
	}
	LWLockRelease(AddinShmemInitLock);
}

} // namespace

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

} // namespace js::worker
