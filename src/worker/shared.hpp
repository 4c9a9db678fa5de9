/*
 * Shared memory of the scheduler: the launcher's address, the job-change
 * counter and one RunSlot per job worker. PostgreSQL-side header: include
 * after postgres.h.
 *
 * A run slot goes through these states (launcher L, job worker W):
 *
 *   FREE --L claims--> CLAIMED --W connected--> WAITING --fire time--> RUNNING --W--> DONE --L recorded--> FREE
 *                                                   \--overlap=queue--> QUEUED --previous run ended--> RUNNING
 *                                                   \--overlap=skip, previous running--> DONE (skipped)
 *   any state --W exits early (ERROR/FATAL/terminated)--> DONE (failed/crashed, set by W's exit callback)
 *
 * The overlap decision is taken by the worker at the fire instant under the
 * lock, so it is exact even though workers start ahead of time.
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

enum RunSlotState : int {
	kSlotFree = 0,
	kSlotClaimed, /* launcher registered the worker; it has not connected yet */
	kSlotWaiting, /* connected, waiting for the fire instant */
	kSlotQueued,  /* overlap = queue: waiting for the job's previous run to end */
	kSlotRunning,
	kSlotDone, /* result set; the launcher records it and frees the slot */
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
};

struct RunSlot {
	/* set by the launcher when claiming */
	RunSlotState state;
	uint32 generation; /* bumped on every claim: a worker checks it still owns the slot */
	RunSpec spec;
	/* set by the worker */
	pid_t pid;
	TimestampTz started_at;
	TimestampTz ended_at;
	RunResult result;
	char message[kRunMessageSize];
	/* launcher bookkeeping */
	bool running_recorded;
	TimestampTz claimed_at;
};

struct SharedState {
	LWLock *lock; /* protects slots and launcher_latch */
	ConditionVariable slot_changed;
	Latch *launcher_latch;
	pid_t launcher_pid;
	pg_atomic_uint64 jobs_generation; /* bumped when a transaction that changed jobs commits */
	bool reboot_jobs_done;            /* @reboot jobs ran since the server started */
	bool applied_enabled;             /* job_stagger.enabled as the launcher last applied it */
	TimestampTz settings_applied_at;  /* when the launcher last applied the settings */
	TimestampTz launcher_started_at;
	int launcher_starts;          /* launchers started since shared memory was (re)initialised */
	bool database_unverified;     /* job_stagger.database_name may be missing: look before connecting */
	int peak_running;             /* most runs executing at once since the last pool sample (kept by the workers) */
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

/* Wakes the launcher (no-op without shared memory or launcher). */
void WakeLauncher();

} // namespace js::worker
