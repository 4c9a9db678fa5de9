/*
 * The launcher's housekeeping, run from its loop: pool samples (with the
 * peak number of runs since the previous sample, since a sample taken at a
 * random second would miss the :00 spike), warnings for slow runs and busy
 * pools, history retention in small batches (by age, and per job beyond its
 * history_limit), periodic KPI snapshots, the
 * automatic rollback of staggering when a rollback trigger fires, and the
 * periodic re-optimisation of offsets (job_stagger.auto_optimize).
 *
 * C-shaped PostgreSQL code: plain data only in these frames.
 */
#include "pg/guc.hpp"
#include "pg/sql_optimize.hpp"

extern "C" {
#include "postgres.h"

#include <signal.h>

#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/parsenodes.h"
#include "postmaster/interrupt.h"
#include "postmaster/postmaster.h"
#include "utils/guc.h"
#include "utils/timeout.h"
#include "utils/timestamp.h"
}

#include "worker/launcher_db.hpp"
#include "worker/launcher_loop.hpp"
#include "worker/shared.hpp"

namespace js::worker {

namespace {

/*
 * Housekeeping runs in slices, one per loop pass, never between a due slot
 * and its worker start (the loop records and starts due runs first) and only
 * in a quiet window: it ends kQuietBeforeUsecs before the next wake-up for a
 * slot (fire instant - prestart_lead_ms) and before any fire instant already
 * handed to a worker, and starts kQuietAfterUsecs after such an instant, so
 * workers released at their instant do not share the CPU with a purge. A
 * slice is bounded by its window (a timeout cancels its statement), and a
 * SIGTERM cancels it at once (LauncherSigterm).
 */
constexpr int64 kQuietBeforeUsecs = 50 * 1000;
constexpr int64 kQuietAfterUsecs = 100 * 1000;
/* A slice that would get less than this is not started. */
constexpr int64 kMinSliceUsecs = 10 * 1000;
/* What a purge slice aims at, and at most takes; the launcher purges at most half of the time. */
constexpr int64 kPurgeTargetUsecs = 50 * 1000;
constexpr int64 kPurgeMaxUsecs = 250 * 1000;
/* Rows per table and purge slice: the first guess, and the bounds of its adaptation. */
constexpr int kPurgeFirstRows = 1000;
constexpr int kPurgeMinRows = 1;
constexpr int kPurgeMaxRows = 20000;
/* How often a purge runs once nothing is left to delete. */
constexpr int64 kPurgeIntervalUsecs = 10 * USECS_PER_SEC;
/* While runs wait for a free slot the loop polls every 100 ms: a slice must not hold that up. */
constexpr int64 kBacklogSliceUsecs = 80 * 1000;
/*
 * A one-statement chore (sample, rollback check, KPI snapshot) whose last
 * run took longer than any window so far runs anyway once it is this late,
 * right after a tick (the largest window; workers are started
 * prestart_lead_ms ahead, so only what exceeds that delays a start).
 */
constexpr int64 kMaxDeferUsecs = 60 * USECS_PER_SEC;
/* Window the automatic rollback judges (the default of stagger_rollback_triggers). */
constexpr const char *kRollbackWindow = "30 minutes";

enum ChoreKind : int { kChoreSample = 0, kChoreRollback, kChoreKpi, kChorePurge, kChoreOptimize, kChores };

struct Chore {
	Retry retry; /* a failed chore is not repeated early: the next one is due at its usual time */
	const char *activity;
	const char *kept;
	TimestampTz due_at;         /* 0: not scheduled yet */
	TimestampTz not_before;     /* deferred until a quiet window opens */
	TimestampTz deferred_since; /* 0: not deferred */
	int64 cost_usecs;           /* how long it took last time (a cancelled one: at least its window) */
};

Chore chores[kChores] = {
    {{"pool sample", 0, 0, 0, 0, 0, false, false},
     "job_stagger: pool sample",
     "This pool sample is skipped.",
     0,
     0,
     0,
     5000},
    {{"auto-rollback check", 0, 0, 0, 0, 0, false, false},
     "job_stagger: auto-rollback check",
     "The check runs after the next sample.",
     0,
     0,
     0,
     20000},
    {{"KPI snapshot", 0, 0, 0, 0, 0, false, false},
     "job_stagger: KPI snapshot",
     "The next snapshot is taken at the usual time.",
     0,
     0,
     0,
     50000},
    {{"history purge", 0, 0, 0, 0, 0, false, false},
     "job_stagger: purging history",
     "The next batch runs at the usual time.",
     0,
     0,
     0,
     kPurgeTargetUsecs},
    {{"offset optimisation", 0, 0, 0, 0, 0, false, false},
     "job_stagger: optimising offsets",
     "Offsets stay as they are until the next job_stagger.auto_optimize_interval.",
     0,
     0,
     0,
     50000},
};

/*
 * The purge alternates between two phases, each slice its own transaction:
 * the age-based retention (job_stagger.history_retention) and the per-job
 * cap (jobs.history_limit), so a slow one never holds back the other. Per
 * phase: its pace, learnt from its slices (how long a row, of the busiest
 * table, takes to delete), and whether it has more to do.
 */
enum PurgePhase : int { kPurgeAge = 0, kPurgeTrim, kPurgePhases };
double purge_usecs_per_row[kPurgePhases] = {static_cast<double>(kPurgeTargetUsecs) / kPurgeFirstRows,
                                            static_cast<double>(kPurgeTargetUsecs) / kPurgeFirstRows};
bool purge_more[kPurgePhases] = {false, false};
int purge_phase = kPurgeAge;
int purge_rows = kPurgeFirstRows;
int64 trim_cursor = 0;         /* the per-job cap goes through the jobs with a limit in jobid order */
bool rollback_enabled = false; /* staggering as applied when the sample that scheduled the check was taken */

/* Fire instants handed to workers and not yet passed, as merged spans (ascending). */
struct FireSpan {
	TimestampTz from;
	TimestampTz to;
};
constexpr int kMaxFireSpans = 32;
FireSpan fire_spans[kMaxFireSpans];
int nfire_spans = 0;

/* Set while a slice runs, read by the SIGTERM handler and TryWork. */
volatile sig_atomic_t slice_running = false;
TimestampTz slice_deadline = 0;

void
NoteFireSpan(TimestampTz from, TimestampTz to, TimestampTz now)
{
	int kept = 0;
	for (int i = 0; i < nfire_spans; i++)
		if (fire_spans[i].to + kQuietAfterUsecs > now)
			fire_spans[kept++] = fire_spans[i];
	nfire_spans = kept;
	if (nfire_spans > 0 && from <= fire_spans[nfire_spans - 1].to + kQuietBeforeUsecs + kQuietAfterUsecs) {
		fire_spans[nfire_spans - 1].to = Max(fire_spans[nfire_spans - 1].to, to);
		return;
	}
	if (nfire_spans == kMaxFireSpans) { /* full: widen the last span (only ever more careful) */
		fire_spans[nfire_spans - 1].to = Max(fire_spans[nfire_spans - 1].to, to);
		return;
	}
	fire_spans[nfire_spans++] = {from, to};
}

/*
 * The end of the quiet window that contains `now` (a slice must be over by
 * then), or `now` itself when a fire instant is too close; *resume_at is
 * then when the next window opens.
 */
TimestampTz
QuietUntil(TimestampTz now, bool backlog, TimestampTz *resume_at)
{
	TimestampTz until = DT_NOEND;
	TimestampTz wake = NextWakeAt();
	if (wake != DT_NOEND)
		until = wake - kQuietBeforeUsecs;
	*resume_at = 0;
	for (int i = 0; i < nfire_spans; i++) {
		const FireSpan &s = fire_spans[i];
		if (now >= s.from - kQuietBeforeUsecs && now < s.to + kQuietAfterUsecs) {
			*resume_at = s.to + kQuietAfterUsecs;
			return now;
		}
		if (s.from - kQuietBeforeUsecs > now)
			until = Min(until, s.from - kQuietBeforeUsecs);
	}
	if (backlog)
		until = Min(until, now + kBacklogSliceUsecs);
	if (until <= now)
		*resume_at = now + kQuietBeforeUsecs + kQuietAfterUsecs; /* the tick at the wake-up reopens it */
	return until;
}

double
Pct(int part, int whole)
{
	return whole > 0 ? 100.0 * part / whole : 0.0;
}

/* LOG line and WARNINGs for one pool sample. */
void
ReportSample(const PoolSample &s)
{
	if (js::pg::guc_log_pool)
		ereport(LOG, (errmsg("job_stagger pool: %d running (peak %d) of %d job slots (%.1f%%), %d of %d connections "
		                     "(%.1f%%), staggering %s",
		                     s.running_jobs, s.peak_running_jobs, s.max_running_jobs, s.job_pool_pct, s.client_backends,
		                     s.max_connections, s.conn_pool_pct, s.stagger_enabled ? "on" : "off")));
	double worst = Max(s.job_pool_pct, s.conn_pool_pct);
	const char *which = s.job_pool_pct >= s.conn_pool_pct ? "job slots" : "connections";
	if (worst > js::pg::guc_pool_crit_pct)
		ereport(WARNING, (errmsg("job_stagger: CRITICAL pool use %.1f%% of %s (above job_stagger.pool_crit_pct %d%%)",
		                         worst, which, js::pg::guc_pool_crit_pct)));
	else if (worst > js::pg::guc_pool_warn_pct)
		ereport(WARNING, (errmsg("job_stagger: pool use %.1f%% of %s (above job_stagger.pool_warn_pct %d%%)", worst,
		                         which, js::pg::guc_pool_warn_pct)));
}

/*
 * Turns staggering off for good: ALTER SYSTEM SET job_stagger.enabled = off
 * and a reload (what pg_reload_conf() does), so the decision survives a
 * restart and every session sees it. Must run inside a transaction.
 */
void
AlterSystemDisableStaggering()
{
	AlterSystemStmt *stmt = makeNode(AlterSystemStmt);
	VariableSetStmt *set = makeNode(VariableSetStmt);
	A_Const *value = makeNode(A_Const);
	value->val.sval.type = T_String;
	value->val.sval.sval = pstrdup("off");
	value->location = -1;
	set->kind = VAR_SET_VALUE;
	set->name = pstrdup("job_stagger.enabled");
	set->args = list_make1(value);
	stmt->setstmt = set;
	AlterSystemSetConfigFile(stmt);
	if (kill(PostmasterPid, SIGHUP) != 0)
		ereport(WARNING, (errmsg("job_stagger: could not signal the postmaster to reload: %m")));
}

/* With job_stagger.auto_rollback: stop staggering when a rollback trigger fires. */
void
RollbackWork(void *arg)
{
	if (!RollbackFunctionsInstalled())
		return;
	char *reason = FiredRollbackTriggers(kRollbackWindow);
	if (reason == nullptr)
		return;
	AlterSystemDisableStaggering();
	SharedState *sh = Shared();
	LWLockAcquire(sh->lock, LW_EXCLUSIVE);
	sh->auto_rollback_at = GetCurrentTimestamp();
	strlcpy(sh->auto_rollback_reason, reason, kRunMessageSize);
	LWLockRelease(sh->lock);
	ereport(WARNING,
	        (errmsg("job_stagger: staggering turned off automatically (job_stagger.auto_rollback)"),
	         errdetail("Rollback trigger fired: %s.", reason),
	         errhint("ALTER SYSTEM SET job_stagger.enabled = on; SELECT pg_reload_conf(); to stagger again.")));
}

void
SampleWork(void *arg)
{
	InsertPoolSample(static_cast<PoolSample *>(arg));
}

void
PurgeWork(void *arg)
{
	if (purge_phase == kPurgeAge) {
		*static_cast<int *>(arg) = PurgeHistory(js::pg::guc_history_retention_s, purge_rows);
		purge_more[kPurgeAge] = *static_cast<int *>(arg) >= purge_rows;
		return;
	}
	int64 cursor = trim_cursor;
	bool more = false;
	*static_cast<int *>(arg) = TrimJobHistories(purge_rows, &cursor, &more);
	trim_cursor = cursor; /* only reached when the statement got through (a rollback keeps the old cursor) */
	purge_more[kPurgeTrim] = more;
}

/* With job_stagger.auto_optimize: move unpinned jobs when the optimiser predicts a lower peak (0.6 databases). */
void
OptimizeWork(void *arg)
{
	if (js::pg::OptimizerInstalled())
		(void)js::pg::AutoOptimize();
}

void
KpiWork(void *arg)
{
	TakeKpiSnapshot(js::pg::guc_kpi_interval_s);
}

/* A chore and its argument, run by InstalledWork. */
struct ChoreCall {
	WorkFn fn;
	void *arg;
};

/*
 * Every chore does nothing once the extension is dropped (or dropped and
 * created again): the loop's own check (Tick) then stops scheduling. One
 * check here, in the slice's transaction, for all chores.
 */
void
InstalledWork(void *arg)
{
	ChoreCall *call = static_cast<ChoreCall *>(arg);
	if (ExtensionInstalled())
		call->fn(call->arg);
}

/* The peak number of runs executing at once since the last call; starts the next period at `running_now`. */
int
TakePeakRunning(int running_now)
{
	SharedState *sh = Shared();
	LWLockAcquire(sh->lock, LW_EXCLUSIVE);
	int peak = Max(sh->peak_running, running_now);
	sh->peak_running = running_now;
	LWLockRelease(sh->lock);
	return peak;
}

/*
 * One slice: the chore's transaction, its statements cancelled at `deadline`
 * (0: none) or by a SIGTERM. Returns false if it failed or was cancelled
 * (*cancelled then). Exits the launcher if a shutdown was requested.
 */
bool
RunSlice(Chore *c, WorkFn fn, void *arg, TimestampTz deadline, bool *cancelled)
{
	ExitIfShutdownRequested();
	TimestampTz start = GetCurrentTimestamp();
	slice_deadline = deadline;
	slice_running = true;
	if (deadline != 0)
		enable_timeout_at(STATEMENT_TIMEOUT, deadline);
	ChoreCall call = {fn, arg};
	bool ok = TryWork(&c->retry, c->activity, InstalledWork, &call, c->kept);
	/* no cancel of ours may reach a statement after the slice */
	HOLD_INTERRUPTS();
	if (deadline != 0)
		disable_timeout(STATEMENT_TIMEOUT, false);
	slice_running = false;
	QueryCancelPending = false;
	RESUME_INTERRUPTS();
	ExitIfShutdownRequested();
	int64 took = GetCurrentTimestamp() - start;
	*cancelled = !ok && deadline != 0 && GetCurrentTimestamp() >= deadline;
	c->cost_usecs = *cancelled ? Max(c->cost_usecs * 2, took) : took;
	return ok;
}

/* Which chore is due first (kChores: none). */
int
DueChore(TimestampTz now)
{
	int best = kChores;
	for (int i = 0; i < kChores; i++)
		if (chores[i].due_at != 0 && chores[i].due_at <= now && chores[i].not_before <= now &&
		    RetryDue(&chores[i].retry, now) && (best == kChores || chores[i].due_at < chores[best].due_at))
			best = i;
	return best;
}

/* Schedules the chores that are on (first run one interval from now, as before). */
void
ScheduleChores(TimestampTz now)
{
	int64 sample_every = static_cast<int64>(js::pg::guc_pool_sample_interval_s) * USECS_PER_SEC;
	int64 kpi_every = static_cast<int64>(js::pg::guc_kpi_interval_s) * USECS_PER_SEC;
	if (chores[kChoreSample].due_at == 0)
		chores[kChoreSample].due_at = now + sample_every;
	/* always on: with history_retention 0 it still trims jobs with a history_limit */
	if (chores[kChorePurge].due_at == 0)
		chores[kChorePurge].due_at = now + kPurgeIntervalUsecs;
	if (js::pg::guc_kpi_interval_s <= 0)
		chores[kChoreKpi].due_at = 0;
	else if (chores[kChoreKpi].due_at == 0)
		chores[kChoreKpi].due_at = now + kpi_every;
	if (!js::pg::guc_auto_optimize)
		chores[kChoreOptimize].due_at = 0;
	else if (chores[kChoreOptimize].due_at == 0)
		chores[kChoreOptimize].due_at = now + static_cast<int64>(js::pg::guc_auto_optimize_interval_s) * USECS_PER_SEC;
}

/* Runs chore `k` in a slice ending at `until`; reschedules it. */
void
RunChore(int k, TimestampTz now, TimestampTz until, int running_now, bool applied_enabled)
{
	Chore *c = &chores[k];
	bool cancelled = false;
	TimestampTz deadline = until == DT_NOEND ? 0 : until;
	switch (k) {
	case kChoreSample: {
		PoolSample s = {};
		int peak = TakePeakRunning(running_now);
		s.stagger_enabled = applied_enabled;
		s.running_jobs = running_now;
		s.peak_running_jobs = peak;
		s.max_running_jobs = js::pg::guc_max_running_jobs;
		s.job_pool_pct = Pct(peak, s.max_running_jobs);
		s.max_connections = MaxConnections;
		c->due_at = now + static_cast<int64>(js::pg::guc_pool_sample_interval_s) * USECS_PER_SEC;
		if (RunSlice(c, SampleWork, &s, deadline, &cancelled))
			ReportSample(s);
		if (js::pg::guc_auto_rollback && applied_enabled) {
			rollback_enabled = applied_enabled;
			chores[kChoreRollback].due_at = now;
		}
		break;
	}
	case kChoreRollback:
		c->due_at = 0; /* scheduled by the next sample */
		/*
		 * Not while job_stagger.log_successful_runs is off: the triggers' error
		 * rate and concurrency would see only the runs kept (no successes).
		 */
		if (js::pg::guc_auto_rollback && rollback_enabled && js::pg::guc_log_successful_runs)
			(void)RunSlice(c, RollbackWork, nullptr, deadline, &cancelled);
		break;
	case kChoreKpi:
		c->due_at = now + static_cast<int64>(js::pg::guc_kpi_interval_s) * USECS_PER_SEC;
		(void)RunSlice(c, KpiWork, nullptr, deadline, &cancelled);
		if (cancelled)
			c->due_at = now; /* it did not fit: again in a larger window (or once overdue) */
		break;
	case kChoreOptimize:
		/* a failure is logged by TryWork and retried at the next interval */
		c->due_at = now + static_cast<int64>(js::pg::guc_auto_optimize_interval_s) * USECS_PER_SEC;
		(void)RunSlice(c, OptimizeWork, nullptr, deadline, &cancelled);
		if (cancelled)
			c->due_at = now; /* it did not fit: again in a larger window (or once overdue) */
		break;
	case kChorePurge: {
		int deleted = 0;
		int phase = purge_phase;
		double &pace = purge_usecs_per_row[phase];
		/* as many rows as fit the slice at the pace learnt so far */
		int64 window = deadline == 0 ? kPurgeMaxUsecs : Min(kPurgeMaxUsecs, until - now);
		purge_rows =
		    static_cast<int>(Max(static_cast<double>(kPurgeMinRows),
		                         Min(static_cast<double>(kPurgeMaxRows), Min(window, kPurgeTargetUsecs) / pace)));
		c->due_at = now + kPurgeIntervalUsecs;
		bool ok = RunSlice(c, PurgeWork, &deleted, GetCurrentTimestamp() + window, &cancelled);
		int64 took = Max(c->cost_usecs, 100);
		if (cancelled)
			pace = Max(pace * 4, static_cast<double>(took) / purge_rows);
		else if (ok && deleted > 0)
			pace = static_cast<double>(took) / deleted;
		if (!ok)
			purge_more[phase] = cancelled; /* cut off: more to do; failed: at the usual time */
		purge_phase = (phase + 1) % kPurgePhases;
		/* more to delete: the next slice after a pause as long as this one (at most half of the time) */
		if (purge_more[kPurgeAge] || purge_more[kPurgeTrim])
			c->due_at = GetCurrentTimestamp() + took;
		break;
	}
	default:
		break;
	}
}

} // namespace

/* The next instant some housekeeping is due (the loop wakes for it). */
TimestampTz
NextMonitorAt()
{
	TimestampTz next = DT_NOEND;
	for (int i = 0; i < kChores; i++)
		if (chores[i].due_at != 0)
			next = Min(next, Max(Max(chores[i].due_at, chores[i].not_before), RetryAt(&chores[i].retry)));
	return next;
}

bool
HousekeepingCancelled(int sqlerrcode)
{
	return slice_running && sqlerrcode == ERRCODE_QUERY_CANCELED &&
	       (ShutdownRequestPending || (slice_deadline != 0 && GetCurrentTimestamp() >= slice_deadline));
}

void
LauncherSigterm(SIGNAL_ARGS)
{
	int save_errno = errno;
	ShutdownRequestPending = true;
	/* housekeeping is the launcher's only long work: cancel its statement */
	if (slice_running) {
		QueryCancelPending = true;
		InterruptPending = true;
	}
	SetLatch(MyLatch);
	errno = save_errno;
}

void
WarnSlowRun(int64 runid, const char *job_name, TimestampTz started_at, TimestampTz ended_at)
{
	if (js::pg::guc_slow_job_threshold_ms <= 0 || started_at == 0 || ended_at == 0)
		return;
	int64 ms = (ended_at - started_at) / 1000;
	if (ms > js::pg::guc_slow_job_threshold_ms)
		ereport(WARNING, (errmsg("job_stagger: run " INT64_FORMAT " of job \"%s\" took " INT64_FORMAT " ms", runid,
		                         job_name, ms),
		                  errdetail("job_stagger.slow_job_threshold_ms is %d.", js::pg::guc_slow_job_threshold_ms)));
}

/*
 * Housekeeping, after the tick has recorded and started what is due: at most
 * one slice (its own short transaction) of a chore that is due: a pool
 * sample, the auto-rollback check, a KPI snapshot, a retention batch, an
 * offset optimisation.
 * `first_wake` is NextWakeAt() before the tick took its slots: the fire
 * instants it handed out lie in [first_wake + lead, now + lead].
 */
void
MonitorTick(TimestampTz now, int running_now, bool applied_enabled, TimestampTz first_wake, bool backlog)
{
	int64 lead = static_cast<int64>(js::pg::guc_prestart_lead_ms) * 1000;
	if (first_wake != DT_NOEND && first_wake <= now)
		NoteFireSpan(first_wake + lead, now + lead, now);
	ScheduleChores(now);
	now = GetCurrentTimestamp();
	int k = DueChore(now);
	if (k == kChores)
		return;
	TimestampTz resume_at = 0;
	TimestampTz until = QuietUntil(now, backlog, &resume_at);
	Chore *c = &chores[k];
	/* a purge batch or an optimisation (seconds for many jobs) is never run whole over a fire instant */
	bool overdue =
	    c->deferred_since != 0 && now - c->deferred_since > kMaxDeferUsecs && k != kChorePurge && k != kChoreOptimize;
	int64 need = k == kChorePurge ? kMinSliceUsecs : Max(kMinSliceUsecs, c->cost_usecs * 3 / 2);
	if (until != DT_NOEND && until - now < need) {
		if (c->deferred_since == 0)
			c->deferred_since = now;
		if (!overdue || until <= now) {
			/* not now: when the window reopens (the loop wakes for it) */
			c->not_before = resume_at != 0 ? resume_at : now + kQuietAfterUsecs;
			return;
		}
		until = DT_NOEND; /* overdue: run it whole in this window */
	}
	c->deferred_since = 0;
	c->not_before = 0;
	RunChore(k, now, until, running_now, applied_enabled);
}

} // namespace js::worker
