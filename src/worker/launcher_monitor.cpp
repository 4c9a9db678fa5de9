/*
 * The launcher's housekeeping, run from its loop: pool samples (with the
 * peak number of runs since the previous sample, since a sample taken at a
 * random second would miss the :00 spike), warnings for slow runs and busy
 * pools, history retention in small batches, periodic KPI snapshots, and the
 * automatic rollback of staggering when a rollback trigger fires.
 *
 * C-shaped PostgreSQL code: plain data only in these frames.
 */
#include "pg/guc.hpp"

extern "C" {
#include "postgres.h"

#include <signal.h>

#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/parsenodes.h"
#include "postmaster/postmaster.h"
#include "utils/guc.h"
#include "utils/timestamp.h"
}

#include "worker/launcher_db.hpp"
#include "worker/launcher_loop.hpp"
#include "worker/shared.hpp"

namespace js::worker {

namespace {

/* Rows deleted per retention batch, and how often a batch runs while there is more to delete. */
constexpr int kPurgeBatchRows = 1000;
constexpr int64 kPurgeIntervalUsecs = 10 * USECS_PER_SEC;
/* Window the automatic rollback judges (the default of stagger_rollback_triggers). */
constexpr const char *kRollbackWindow = "30 minutes";

TimestampTz next_sample_at = 0;
TimestampTz next_purge_at = 0;
TimestampTz next_kpi_at = 0;
/* A failed housekeeping transaction is not repeated early: the next one is due at its usual time. */
Retry sample_retry = {"pool sample", 0, 0, 0, 0, 0, false, false};
Retry purge_retry = {"history purge", 0, 0, 0, 0, 0, false, false};
Retry kpi_retry = {"KPI snapshot", 0, 0, 0, 0, 0, false, false};

bool
Due(TimestampTz *next_at, TimestampTz now, int64 interval_usecs)
{
	if (*next_at == 0)
		*next_at = now + interval_usecs;
	if (now < *next_at)
		return false;
	*next_at = now + interval_usecs;
	return true;
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
CheckAutoRollback(bool applied_enabled)
{
	if (!js::pg::guc_auto_rollback || !applied_enabled || !RollbackFunctionsInstalled())
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
	PoolSample *s = static_cast<PoolSample *>(arg);
	InsertPoolSample(s);
	CheckAutoRollback(s->stagger_enabled);
}

void
PurgeWork(void *arg)
{
	*static_cast<int *>(arg) = PurgeHistory(js::pg::guc_history_retention_s, kPurgeBatchRows);
}

void
KpiWork(void *arg)
{
	TakeKpiSnapshot(js::pg::guc_kpi_interval_s);
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

} // namespace

/* The next instant some housekeeping is due (the loop wakes for it). */
TimestampTz
NextMonitorAt()
{
	TimestampTz next = next_sample_at;
	if (js::pg::guc_history_retention_s > 0 && next_purge_at != 0)
		next = Min(next, next_purge_at);
	if (js::pg::guc_kpi_interval_s > 0 && next_kpi_at != 0)
		next = Min(next, next_kpi_at);
	return next == 0 ? DT_NOEND : next;
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
 * Housekeeping that is due at `now`, each in its own short transaction:
 * a pool sample (and the auto-rollback check with it), a retention batch,
 * a KPI snapshot.
 */
void
MonitorTick(TimestampTz now, int running_now, bool applied_enabled)
{
	if (Due(&next_sample_at, now, static_cast<int64>(js::pg::guc_pool_sample_interval_s) * USECS_PER_SEC)) {
		PoolSample s = {};
		int peak = TakePeakRunning(running_now);
		s.stagger_enabled = applied_enabled;
		s.running_jobs = running_now;
		s.peak_running_jobs = peak;
		s.max_running_jobs = js::pg::guc_max_running_jobs;
		s.job_pool_pct = Pct(peak, s.max_running_jobs);
		s.max_connections = MaxConnections;
		if (TryWork(&sample_retry, "job_stagger: pool sample", SampleWork, &s, "This pool sample is skipped."))
			ReportSample(s);
	}
	if (js::pg::guc_history_retention_s > 0 && Due(&next_purge_at, now, kPurgeIntervalUsecs)) {
		int deleted = 0;
		if (TryWork(&purge_retry, "job_stagger: purging history", PurgeWork, &deleted,
		            "The next batch runs at the usual time.") &&
		    deleted >= kPurgeBatchRows)
			next_purge_at = now; /* more to delete: another batch at the next tick */
	}
	if (js::pg::guc_kpi_interval_s > 0 &&
	    Due(&next_kpi_at, now, static_cast<int64>(js::pg::guc_kpi_interval_s) * USECS_PER_SEC))
		(void)TryWork(&kpi_retry, "job_stagger: KPI snapshot", KpiWork, nullptr,
		              "The next snapshot is taken at the usual time.");
}

} // namespace js::worker
