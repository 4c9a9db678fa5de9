/*
 * Shared memory of the scheduler: the launcher's address, the job-change
 * counter and one RunSlot per job worker. PostgreSQL-side header: include
 * after postgres.h.
 *
 * A run slot is a state machine (launcher L, job worker W); the legal moves
 * are one table, src/core/run_slot_fsm.*, and every move goes through
 * TransitionSlot():
 *
 *   FREE --L claims--> CLAIMED --W connected--> WAITING --instant, a place free--> RUNNING --W--> DONE
 *   CLAIMED --L could not start W--> FREE;  DONE --L recorded--> FREE
 *   WAITING --instant: previous run going (overlap = queue) or max_running_jobs full--> QUEUED
 *   QUEUED --previous run ended, a place free--> RUNNING
 *   WAITING --overlap = skip, previous run going--> DONE (skipped)
 *   WAITING --exclusive group busy: group_policy = wait--> QUEUED (waiting_group); = skip--> DONE (skipped)
 *   CLAIMED/WAITING/QUEUED/RUNNING --W exits early (ERROR/FATAL/terminated) or is lost--> DONE (failed/crashed)
 *
 * The overlap, exclusive-group and cap decisions are taken by the worker at
 * the fire instant under the lock, so they are exact even though workers
 * start ahead of time.
 * job_stagger.max_running_jobs counts RUNNING slots only.
 */
#pragma once

extern "C" {
#include "datatype/timestamp.h"
#include "port/atomics.h"
#include "storage/condition_variable.h"
#include "storage/dsm.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/spin.h"
}

namespace js::worker {

/* Mirrors core::RunSlotState (checked in shared.cpp). */
enum RunSlotState : int {
	kSlotFree = 0,
	kSlotClaimed, /* launcher registered the worker; it has not connected yet */
	kSlotWaiting, /* connected, waiting for the fire instant */
	kSlotQueued,  /* instant passed: waiting for the job's previous run to end, or a place under the cap */
	kSlotRunning, /* executing: counted against job_stagger.max_running_jobs */
	kSlotDone,    /* result set; the launcher records it and frees the slot */
};

enum RunResult : int {
	kResultNone = 0,
	kResultSucceeded,
	kResultFailed,
	kResultTimedOut,
	kResultSkipped,
	kResultCrashed,
};

enum OverlapPolicy : int {
	kOverlapSkip = 0,
	kOverlapQueue,
	kOverlapAllow,
};

constexpr int kRunMessageSize = 1024;
constexpr int kGroupNameSize = 64; /* core::kMaxGroupNameLength + 1 */

/* What the launcher hands a run when it claims a slot (the worker keeps a copy). */
struct RunSpec {
	int64 jobid;
	int64 runid;
	Oid dboid;
	Oid roleoid;
	TimestampTz fire_at;
	OverlapPolicy overlap;
	int timeout_ms; /* 0 = none */
	dsm_handle payload;
	char exclusive_group[kGroupNameSize]; /* jobs.exclusive_group; "" = none. The group is (roleoid, name) */
	int group_policy;                     /* core::GroupPolicy: 0 skip, 1 wait */
};

struct RunSlot {
	/* set by the launcher when claiming */
	RunSlotState state;
	uint32 generation; /* bumped on every claim: a worker checks it still owns the slot */
	RunSpec spec;
	/* set by the worker */
	bool ready;         /* QUEUED only for a place under the cap (no earlier run of its job is going) */
	bool waiting_group; /* QUEUED (also) because its exclusive group is busy */
	pid_t pid;
	TimestampTz started_at;
	TimestampTz ended_at;
	RunResult result;
	char message[kRunMessageSize];
	uint64 command_xid; /* the command's only writing transaction, published before it commits (0: none yet) */
	/* launcher bookkeeping */
	bool running_recorded;
	uint64 xid_recorded; /* the command_xid the launcher committed in the run's row (0: none) */
	TimestampTz claimed_at;
};

struct SharedState {
	LWLock *lock; /* protects slots and launcher_latch */
	ConditionVariable slot_changed;
	Latch *launcher_latch;
	pid_t launcher_pid;
	pg_atomic_uint64 jobs_generation; /* bumped when a transaction that changed jobs commits */
	pg_atomic_uint64 run_requests;    /* bumped when a transaction that called stagger_run_now() commits */
	bool reboot_jobs_done;            /* @reboot jobs ran since the server started */
	bool applied_enabled;             /* job_stagger.enabled as the launcher last applied it */
	TimestampTz settings_applied_at;  /* when the launcher last applied the settings */
	TimestampTz launcher_started_at;
	int launcher_starts;          /* launchers started since shared memory was (re)initialised */
	bool database_unverified;     /* job_stagger.database_name may be missing: look before connecting */
	int peak_running;             /* most runs executing at once since the last pool sample (kept by the workers) */
	int running_cap;              /* job_stagger.max_running_jobs as the launcher last applied it (0: not yet) */
	TimestampTz auto_rollback_at; /* when the scheduler last turned staggering off by itself (0: never) */
	char auto_rollback_reason[kRunMessageSize];
	int nslots;
	RunSlot slots[FLEXIBLE_ARRAY_MEMBER];
};

/* The payload a worker reads from its dynamic shared memory segment. */
struct RunPayload {
	int32 command_len;
	int32 job_name_len;
	char data[FLEXIBLE_ARRAY_MEMBER]; /* command '\0' job_name '\0' */
};

/* Shared state, or NULL when the library was not preloaded. */
SharedState *Shared();

/*
 * The slot lock. No memory may be allocated while it is held (copy into
 * buffers allocated before, as SchedulerStatusSnapshot does): an out-of-memory
 * ERROR there would leave every worker and session waiting on it.
 * UnlockSlots() also reports the transitions TransitionSlot() refused while it
 * was held (their WARNING is deferred until the lock is free).
 */
void LockSlots(LWLockMode mode);
void UnlockSlots();

/*
 * Moves a slot to `to` (caller holds the lock exclusively). An illegal move
 * (see core/run_slot_fsm.hpp) fails an assertion in cassert builds; otherwise
 * it is refused: the slot keeps its state, a WARNING naming the slot and both
 * states follows at UnlockSlots(), and false is returned for the caller to
 * handle.
 */
bool TransitionSlot(RunSlot *slot, RunSlotState to);

/* "free", "claimed", ... */
const char *SlotStateName(RunSlotState state);

/*
 * The scheduler as SQL-facing code sees it. Code outside src/worker reads the
 * shared state only through this copy, never the shared structs.
 */
struct SchedulerStatus {
	pid_t launcher_pid; /* 0: no launcher */
	TimestampTz launcher_started_at;
	bool applied_enabled;
	TimestampTz settings_applied_at; /* 0: never */
	int nslots;
	int count[kSlotDone + 1];     /* slots per RunSlotState */
	TimestampTz auto_rollback_at; /* 0: never */
	char auto_rollback_reason[kRunMessageSize];
};

/* Fills *out (a copy taken under the lock, nothing allocated); false when the library was not preloaded. */
bool SchedulerStatusSnapshot(SchedulerStatus *out);

/* Wakes the launcher (no-op without shared memory or launcher). */
void WakeLauncher();

} // namespace js::worker
