/*
 * The launcher's reads and writes of its catalog tables (SPI). C-shaped
 * PostgreSQL code: include after postgres.h. Every function must be called
 * between BeginWork() and EndWork(); strings handed out are allocated in the
 * context passed in, so they outlive the transaction.
 */
#pragma once

extern "C" {
#include "datatype/timestamp.h"
#include "utils/palloc.h"
}

namespace js::worker {

enum DueKind : int {
	kDueRun = 0, /* run on schedule */
	kDueReboot,  /* @reboot job at scheduler start */
	kDueMissed,  /* slot that fell due while nothing could run it: recorded as skipped */
	kDueManual,  /* stagger_run_now(): its row was written by the caller (launcher_requests.cpp) */
	kDueRetry,   /* a later attempt of a failed slot: its row was written when it was planned */
};

/* A run the launcher has to record and start (plain data: survives ereport). */
struct DueRun {
	DueKind kind;
	int64 jobid;
	int64 runid; /* 0 until inserted */
	TimestampTz fire_at;
	TimestampTz nominal_at;
	int applied_offset;
	bool stagger_enabled;
	int64 missed_count;
	TimestampTz missed_last;
	bool missed_lower_bound;
	char *job_name;
	char *command;
	char *database;
	char *username; /* display name of roleoid */
	char *effective_schedule;
	int overlap;
	int timeout_ms;
	char *exclusive_group; /* "" = none */
	int group_policy;      /* core::GroupPolicy */
	Oid dboid;
	Oid roleoid; /* the job's role (jobs.roleid) */
	/*
	 * job_stagger.max_starts_per_second: the start second reserved for this run
	 * (0: none), and when it starts if smoothing delayed it (0: at fire_at) with
	 * the delay smoothing added (recorded as job_run_details.start_delay).
	 */
	int64 smooth_second;
	TimestampTz start_at;
	int64 start_delay_us;
	bool start;        /* recorded as 'starting': queue for a worker once committed */
	bool role_dropped; /* set by ResolveTarget */
	int attempt;       /* job_run_details.attempt: 1 = the slot's own run (0 reads as 1) */
};

/* One row of job_stagger.jobs (active jobs only). */
struct JobRowData {
	int64 jobid;
	char *name;
	char *schedule;
	char *command;
	char *database;
	char *username; /* display name */
	Oid roleid;     /* the role the job runs as */
	int offset;
	int overlap;
	int timeout_ms;
	char *exclusive_group; /* "" = none */
	int group_policy;      /* core::GroupPolicy */
	char *timezone;        /* jobs.timezone; "" = job_stagger.timezone */
};

/* One pool sample; client_backends and conn_pool_pct are filled in by InsertPoolSample. */
struct PoolSample {
	bool stagger_enabled;
	int running_jobs;
	int peak_running_jobs;
	int max_running_jobs;
	double job_pool_pct;
	int client_backends;
	int max_connections;
	double conn_pool_pct;
};

void BeginWork(const char *activity);
void EndWork();

/* Is the extension installed in this database (tables present)? */
bool ExtensionInstalled();
/* The extension ExtensionInstalled() accepts from now on (InvalidOid: any), set by each start-up. */
void ExpectExtension(Oid extension);
Oid InstalledExtension();

/* Active jobs; *count set. */
JobRowData *LoadJobs(MemoryContext mcxt, int *count);

/*
 * Deactivates the jobs among `rows` whose role no longer exists (setting
 * roleid to 0, so no role ever runs them again until a superuser gives them
 * to one) and removes them from `rows`; returns the new count. The WARNING
 * per job is logged once the transaction commits (FlushDetachedJobs).
 */
int DetachDroppedRoleJobs(JobRowData *rows, int count);

/* Deactivates one job whose role `roleid` is gone (if it still has that role). */
void DetachJob(int64 jobid, Oid roleid, const char *job_name, const char *username);

/* After the transaction: logs the WARNINGs of the jobs it detached if it committed, forgets them if not. */
void FlushDetachedJobs(bool committed);

/*
 * Closes what a previous launcher or server life left open, except the
 * adopted runs: 'running' rows become 'succeeded' when their recorded
 * command_xid committed, else 'crashed' (before the commit, or outcome
 * unknown); 'starting' rows due before `late_before` become 'skipped'
 * (missed). Returns the number of crashed rows; *nsucceeded and *nmissed the
 * others. `server_restarted` picks the message. *crashed_runids (if asked):
 * the crashed rows, palloc'd, for their retries.
 */
int RecoverRuns(const int64 *adopted, int nadopted, bool server_restarted, TimestampTz late_before, int *nmissed,
                int *nsucceeded, int64 **crashed_runids = nullptr);

/*
 * The rows still 'starting' after RecoverRuns (not adopted), except manual
 * runs and retries (launcher_requests.cpp takes those up): their command
 * never began (the job worker's commit fence, runner.cpp), so they are run
 * now, reusing their row. Rows whose job is no longer active are closed as
 * skipped here and not returned. Allocated in `mcxt`; *count set.
 */
DueRun *LoadStartingRuns(const int64 *adopted, int nadopted, MemoryContext mcxt, int *count);

/* Every slot up to this instant was handed out (recorded with the runs in one transaction). */
bool ReadScheduledUntil(TimestampTz *until);
void WriteScheduledUntil(TimestampTz until);

/*
 * Resolves the run's database to an OID, checks its role (by OID) exists and
 * both can connect; on failure returns false with a message for the run row
 * (and run->role_dropped when the role no longer exists).
 */
bool ResolveTarget(DueRun *run, MemoryContext mcxt, char **error);

/* Inserts the run's row with the given status (runid filled in). */
void InsertRun(DueRun *run, const char *status, const char *message);
/*
 * A run's row gets its start and its outcome; false when the row is gone (a
 * TRUNCATE or DELETE of job_run_details while the run was going): the caller
 * then writes it again in full (ReinsertRun). `command_xid`: the command's
 * transaction id once it published it (0: none yet, the row's is kept); the
 * start is also recorded on a 'running' row (to add the id).
 */
bool UpdateRunStarted(int64 runid, TimestampTz started_at, int pid, uint64 command_xid);
bool UpdateRunFinished(int64 runid, const char *status, const char *message, TimestampTz started_at,
                       TimestampTz ended_at, int pid, uint64 command_xid = 0);
/* Writes the whole row of run `runid` again (same runid), as recorded plus what the worker reported. */
void ReinsertRun(const DueRun *run, int64 runid, const char *status, const char *message, TimestampTz started_at,
                 TimestampTz ended_at, int pid);
/* The same for a run this launcher holds no record of (adopted): the rest comes from the job's row. */
void ReinsertUnknownRun(int64 runid, int64 jobid, TimestampTz fire_at, const char *job_name, const char *status,
                        const char *message, TimestampTz started_at, TimestampTz ended_at, int pid);

/* Deletes the row of run `runid` (a succeeded run with job_stagger.log_successful_runs off). */
void DeleteRun(int64 runid);

void InsertPoolSample(PoolSample *sample);

/* Deletes up to `batch` rows older than the retention from each history table; the most deleted from one. */
int PurgeHistory(int retention_s, int batch);
/*
 * One batch of the per-job cap (jobs.history_limit): deletes at most `batch`
 * finished rows beyond the newest history_limit of the next jobs after
 * *cursor (advanced, 0 after the last job); *more when rows or jobs are left.
 */
int TrimJobHistories(int batch, int64 *cursor, bool *more);

/* stagger_kpi_snapshot() over the last interval, if the function exists. */
void TakeKpiSnapshot(int interval_s);

bool RollbackFunctionsInstalled();

/* The rollback triggers that fire over `window`, as one sentence (palloc'd), or NULL. */
char *FiredRollbackTriggers(const char *window);

} // namespace js::worker
