/*
 * Internal interface between the launcher's parts (PostgreSQL side: include
 * after postgres.h). launcher.cpp holds the C++ model and its conversions,
 * launcher_loop.cpp the loop, the run slots and the workers.
 */
#pragma once

extern "C" {
#include "datatype/timestamp.h"
#include "utils/palloc.h"
}

#include "worker/launcher_db.hpp"

namespace js::worker {

void WarnUnknownOverrides();
void LogStaggerState();
void NoteSettingsApplied(bool enabled);
MemoryContext TickContext();

void ApplySettings(bool log_always);
void ReloadJobs(TimestampTz since);
DueRun *TakeDueRuns(TimestampTz now, TimestampTz upto, bool reboot, MemoryContext mcxt, int *count);
TimestampTz NextWakeAt();
TimestampTz NextSlotOf(int64 jobid);
void SleepUntil(TimestampTz wake_at);
void WaitForExtension(bool announce);

/* What a worker reported, copied out of shared memory to be recorded (launcher_slots.cpp). */
struct SlotEvent {
	int slot;
	uint32 generation;
	int64 runid;
	bool finished;
	int result; /* RunResult */
	char *message;
	TimestampTz started_at;
	TimestampTz ended_at;
	int pid;
	uint64 command_xid; /* 0: the command has published none (yet) */
	char *job_name;     /* from the run's payload, for the slow-run warning */
	int64 jobid;        /* with fire_at: to write a run's row again if it is gone */
	TimestampTz fire_at;
};

/* The launcher-local slot state, in `mcxt` (the launcher's lifetime context). */
void InitSlots(MemoryContext mcxt);
/* Copies worker reports out of shared memory into `mcxt`; *running = runs executing now. */
SlotEvent *CollectEvents(MemoryContext mcxt, int *count, int *running);
/* After the events are committed: frees finished slots, remembers recorded starts. */
void AcknowledgeEvents(const SlotEvent *events, int count);
/* Starts the worker of one recorded run; false if no slot or worker could be had now. */
bool StartRun(const DueRun *run);
/* Adopts the runs a previous launcher left going; returns their runids (in `mcxt`). */
int64 *AdoptSlots(MemoryContext mcxt, int *count);

/* Session set-up (launcher_session.cpp). */
constexpr const char *kLauncherLockTimeout = "300ms";
void ConnectLauncher();
void PinLauncherSession();
[[noreturn]] void WaitForDatabase();

/*
 * Retried catalog work (launcher_work.cpp): one transaction that may fail
 * without ending the launcher. One Retry per kind of work keeps its streak of
 * failures, the next attempt and the rate limit of its log lines.
 */
struct Retry {
	const char *what; /* "recording runs", for the log */
	int failures;     /* in a row */
	TimestampTz first_failure;
	TimestampTz next_attempt;
	TimestampTz last_logged;
	int last_sqlerrcode; /* of the last logged failure: a different error is logged at once */
	bool partial;        /* the last attempt committed but left rows unrecorded: due again soon, no backoff */
	bool logged;         /* this streak was logged (then its end is too) */
};
using WorkFn = void (*)(void *arg);
bool TryWork(Retry *retry, const char *activity, WorkFn fn, void *arg, const char *kept);
/* The parts of TryWork: one transaction (on ERROR: *error, in the caller's context), then its bookkeeping. */
bool RunWork(const char *activity, WorkFn fn, void *arg, ErrorData **error);
void RetryFailed(Retry *retry, ErrorData *edata, const char *kept, bool partial);
void RetrySucceeded(Retry *retry);
/* A related write got through: the next attempt of a failing `retry` is due now (its streak goes on). */
void RetryNow(Retry *retry);
bool RetryDue(const Retry *retry, TimestampTz now);
TimestampTz RetryAt(const Retry *retry); /* DT_NOBEGIN when not failing */

/* Housekeeping (launcher_monitor.cpp). */
void WarnSlowRun(int64 runid, const char *job_name, TimestampTz started_at, TimestampTz ended_at);
/*
 * After the tick's recording and worker starts: at most one housekeeping
 * slice, in a quiet window. first_wake = NextWakeAt() before the tick took
 * its slots; backlog: runs are waiting for a free slot.
 */
void MonitorTick(TimestampTz now, int running_now, bool applied_enabled, TimestampTz first_wake, bool backlog);
TimestampTz NextMonitorAt();
/* An ERROR of a housekeeping slice that was cancelled on purpose (its window ended, or SIGTERM): not a failure. */
bool HousekeepingCancelled(int sqlerrcode);
/* The launcher's SIGTERM handler: the shutdown flag, and a cancel of a housekeeping statement in progress. */
void LauncherSigterm(SIGNAL_ARGS);
/* Logs and exits (code 1) if SIGTERM arrived (launcher.cpp). */
void ExitIfShutdownRequested();

/* launcher_loop.cpp: a copy of `run` in the launcher's context (one chunk); a recorded run joins `pending`. */
DueRun *KeepRunCopy(const DueRun *run);
void QueueRecordedRun(const DueRun *run);

/*
 * Manual runs and retries (launcher_requests.cpp): rows written 'starting'
 * by stagger_run_now() or by the launcher when it plans a retry, taken up at
 * their instant.
 */
/* After start-up recovery: forget what a previous life had, look for such rows now. */
void StartRequests(const int64 *adopted, int nadopted);
void DropRequests();
/* In the tick, after the due slots were recorded: new requests, and the ones whose instant came. */
void TakeRequestedRuns(TimestampTz now, TimestampTz upto);
TimestampTz NextRequestWake();
/* Inside a launcher transaction, after run `runid` ended failed, timed_out or crashed: plans its next attempt. */
void PlanRetryAfter(int64 runid, TimestampTz ended_at);

[[noreturn]] void RunLauncher();
/*
 * On SIGTERM, before the launcher exits: records what workers reported (runs
 * started, runs finished) in one last short transaction. Runs whose command
 * had not begun stay 'starting', for the next scheduler to run.
 */
void RecordBeforeExit();

} // namespace js::worker
