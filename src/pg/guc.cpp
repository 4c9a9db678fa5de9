/*
 * Definitions of the job_stagger.* configuration parameters.
 *
 * Parameters that change what the scheduler does are PGC_SUSET: the scheduler
 * follows the server-wide value (postgresql.conf, ALTER SYSTEM + reload),
 * while a superuser may SET them in a session to preview their effect with
 * stagger_next_runs(), stagger_apply_cron() or stagger_summary().
 *
 * Check hooks reject values that cannot work, with a DETAIL saying why and a
 * HINT saying what would. Two rules relate two parameters (pool_crit_pct >=
 * pool_warn_pct; history_retention >= kpi_interval when both are on). A hook
 * only sees the other parameter's value at the time: its current value, or,
 * while the library is being loaded and the other one is not defined yet, its
 * value from the configuration files. A reload applies the files in order,
 * so moving both parameters of a pair past each other in one reload can be
 * refused midway (LOG "invalid value", that one keeps its old value); a
 * second reload then applies it. README.md (Configuration) says so.
 */
#include "pg/guc.hpp"
#include "core/cron.hpp"
#include "pg/bridge.hpp"

#include <climits>
#include <cstring>
#include <stdexcept>
#include <string>

extern "C" {
#include "postgres.h"

#include "miscadmin.h"
#include "utils/guc.h"
}

namespace js::pg {

char *guc_database_name = nullptr;
int guc_max_running_jobs = 32;
int guc_prestart_lead_ms = 1000;
int guc_catchup_window_s = 60;
int guc_max_starts_per_second = 0;
char *guc_timezone = nullptr;
bool guc_enabled = false;
char *guc_offsets = nullptr;
int guc_pool_sample_interval_s = 60;
bool guc_log_pool = false;
int guc_pool_warn_pct = 80;
int guc_pool_crit_pct = 90;
int guc_slow_job_threshold_ms = 2000;
int guc_history_retention_s = 14 * 86400;
int guc_kpi_interval_s = 6 * 3600;
bool guc_auto_rollback = false;
bool guc_log_successful_runs = true;
bool guc_auto_optimize = false;
int guc_auto_optimize_interval_s = 3600;

namespace {

constexpr int kMaxRunningJobsLimit = 10000;
constexpr int kMaxPrestartLeadMs = 10000;
constexpr int kMaxCatchupWindowS = 86400;
constexpr int kDefaultCatchupWindowS = 60;
constexpr int kMaxStartsPerSecondLimit = 10000;
constexpr int kDefaultPoolWarnPct = 80;
constexpr int kDefaultPoolCritPct = 90;
constexpr int kDefaultHistoryRetentionS = 14 * 86400;
constexpr int kDefaultKpiIntervalS = 6 * 3600;

/*
 * The value of another integer parameter as a check hook can see it: its
 * current value once defined, its value from the configuration files while
 * it is still a placeholder, else `fallback` (its default). Units are parsed
 * with `flags` (GUC_UNIT_S, ...). Reads only, never raises.
 */
int
OtherInt(const char *name, int flags, int fallback)
{
	const char *text = GetConfigOption(name, true, false);
	int value = fallback;
	if (text == nullptr || !parse_int(text, &value, flags, nullptr))
		return fallback; /* unset, or a placeholder its own hook will reject */
	return value;
}

/* A database name the scheduler can connect to: not empty, shorter than NAMEDATALEN. */
bool
CheckDatabaseName(char **newval, void **extra, GucSource source)
{
	const char *name = *newval;
	if (name == nullptr || name[0] == '\0') {
		GUC_check_errdetail("job_stagger.database_name must name the database that holds the job tables.");
		GUC_check_errhint("Set it to an existing database, for example 'postgres' (the default).");
		return false;
	}
	if (strlen(name) >= NAMEDATALEN) {
		GUC_check_errdetail("Database names are at most %d bytes long; this one has %zu.", NAMEDATALEN - 1,
		                    strlen(name));
		GUC_check_errhint("Use the exact name of an existing database.");
		return false;
	}
	return true;
}

/* The critical pool threshold must not be below the warning one (else "critical" comes first). */
bool
PoolPairOk(int warn, int crit)
{
	if (crit >= warn)
		return true;
	GUC_check_errdetail("job_stagger.pool_crit_pct (%d) must be at least job_stagger.pool_warn_pct (%d).", crit, warn);
	GUC_check_errhint("Change job_stagger.pool_warn_pct first when lowering both, or job_stagger.pool_crit_pct first "
	                  "when raising both, with a reload in between (ALTER SYSTEM, then SELECT pg_reload_conf()).");
	return false;
}

bool
CheckPoolWarnPct(int *newval, void **extra, GucSource source)
{
	return source == PGC_S_DEFAULT ||
	       PoolPairOk(*newval, OtherInt("job_stagger.pool_crit_pct", 0, kDefaultPoolCritPct));
}

bool
CheckPoolCritPct(int *newval, void **extra, GucSource source)
{
	return source == PGC_S_DEFAULT ||
	       PoolPairOk(OtherInt("job_stagger.pool_warn_pct", 0, kDefaultPoolWarnPct), *newval);
}

/*
 * A KPI snapshot summarises the last kpi_interval of run history: history
 * kept for less than that would be purged out from under it (0 = off / keep).
 */
bool
RetentionPairOk(int retention_s, int kpi_s)
{
	if (retention_s == 0 || kpi_s == 0 || retention_s >= kpi_s)
		return true;
	GUC_check_errdetail("job_stagger.history_retention (%d s) is shorter than job_stagger.kpi_interval (%d s): each "
	                    "KPI snapshot covers the last kpi_interval of run history, which would be partly purged.",
	                    retention_s, kpi_s);
	GUC_check_errhint("Keep history at least as long as job_stagger.kpi_interval, shorten or turn off (0) "
	                  "job_stagger.kpi_interval first, or keep history forever (0).");
	return false;
}

bool
CheckHistoryRetention(int *newval, void **extra, GucSource source)
{
	return source == PGC_S_DEFAULT ||
	       RetentionPairOk(*newval, OtherInt("job_stagger.kpi_interval", GUC_UNIT_S, kDefaultKpiIntervalS));
}

bool
CheckKpiInterval(int *newval, void **extra, GucSource source)
{
	return source == PGC_S_DEFAULT ||
	       RetentionPairOk(OtherInt("job_stagger.history_retention", GUC_UNIT_S, kDefaultHistoryRetentionS), *newval);
}

/*
 * Start smoothing delays a run at most job_stagger.catchup_window (a slot
 * later than that does not start): with a window of 0 every run beyond the
 * limit would be skipped instead of delayed.
 */
bool
SmoothingPairOk(int per_second, int catchup_s)
{
	if (per_second == 0 || catchup_s >= 1)
		return true;
	GUC_check_errdetail("job_stagger.max_starts_per_second (%d) delays the runs beyond it by up to "
	                    "job_stagger.catchup_window, which is 0: they would be skipped instead of delayed.",
	                    per_second);
	GUC_check_errhint("Set job_stagger.catchup_window to at least 1s first (the default is 60s), or leave "
	                  "job_stagger.max_starts_per_second at 0 (off).");
	return false;
}

bool
CheckMaxStartsPerSecond(int *newval, void **extra, GucSource source)
{
	return source == PGC_S_DEFAULT ||
	       SmoothingPairOk(*newval, OtherInt("job_stagger.catchup_window", GUC_UNIT_S, kDefaultCatchupWindowS));
}

bool
CheckCatchupWindow(int *newval, void **extra, GucSource source)
{
	return source == PGC_S_DEFAULT || SmoothingPairOk(OtherInt("job_stagger.max_starts_per_second", 0, 0), *newval);
}

/* Accepts only time zones the cron engine can load (IANA names). */
bool
CheckTimezone(char **newval, void **extra, GucSource source)
{
	const char *name = *newval;
	bool known = false;
	CppError err;

	if (name == nullptr)
		return false;
	if (!TryCpp([&] { known = core::TimeZone::Load(name).has_value(); }, &err)) {
		GUC_check_errdetail("%s", err.message);
		return false;
	}
	if (!known) {
		GUC_check_errdetail("\"%s\" is not a known IANA time zone.", name);
		GUC_check_errhint("Use a name such as 'UTC', 'Europe/Berlin' or 'America/New_York'.");
		return false;
	}
	return true;
}

void
DefineSchedulerGucs()
{
	/*
	 * A PGC_POSTMASTER parameter can only be defined while preloading (later it
	 * would be a FATAL error); without preload there is no scheduler to place.
	 */
	if (process_shared_preload_libraries_in_progress)
		DefineCustomStringVariable("job_stagger.database_name", "Database that holds the job_stagger job tables.",
		                           "The scheduler connects to this database; jobs may target any database.",
		                           &guc_database_name, "postgres", PGC_POSTMASTER, 0, CheckDatabaseName, nullptr,
		                           nullptr);
	DefineCustomIntVariable("job_stagger.max_running_jobs", "Maximum number of job runs executing at once.",
	                        "Workers started ahead of their instant do not count. A run due while the limit is "
	                        "reached waits and starts when a run ends. Each run uses one background worker: keep "
	                        "max_worker_processes above this value.",
	                        &guc_max_running_jobs, 32, 1, kMaxRunningJobsLimit, PGC_SIGHUP, 0, nullptr, nullptr,
	                        nullptr);
	DefineCustomIntVariable("job_stagger.prestart_lead_ms",
	                        "How long before its instant a run's worker is started, to absorb connection time.",
	                        "The worker connects early and waits, then starts the command exactly on time.",
	                        &guc_prestart_lead_ms, 1000, 0, kMaxPrestartLeadMs, PGC_SIGHUP, GUC_UNIT_MS, nullptr,
	                        nullptr, nullptr);
	DefineCustomIntVariable("job_stagger.catchup_window",
	                        "How late a slot may still start, after a restart or stall of the scheduler.",
	                        "Slots that fell due longer ago (server down, clock jump) are recorded as skipped "
	                        "instead of run.",
	                        &guc_catchup_window_s, kDefaultCatchupWindowS, 0, kMaxCatchupWindowS, PGC_SIGHUP,
	                        GUC_UNIT_S, CheckCatchupWindow, nullptr, nullptr);
	DefineCustomIntVariable("job_stagger.max_starts_per_second", "Most runs started in one second (0: no limit).",
	                        "Runs due beyond it start in the next seconds with room, earlier due first, at most "
	                        "job_stagger.catchup_window late; each delay is recorded in "
	                        "job_run_details.start_delay.",
	                        &guc_max_starts_per_second, 0, 0, kMaxStartsPerSecondLimit, PGC_SIGHUP, 0,
	                        CheckMaxStartsPerSecond, nullptr, nullptr);
}

void
DefineStaggerGucs()
{
	DefineCustomStringVariable("job_stagger.timezone", "Time zone in which job schedules are evaluated.", nullptr,
	                           &guc_timezone, "UTC", PGC_SUSET, 0, CheckTimezone, nullptr, nullptr);
	DefineCustomBoolVariable("job_stagger.enabled", "Run 5-field jobs at their per-job second offsets.",
	                         "Off: every 5-field job runs at second 0 of its minute.", &guc_enabled, false, PGC_SUSET,
	                         0, nullptr, nullptr, nullptr);
	DefineCustomStringVariable("job_stagger.offsets", "Per-job offset overrides, as 'job_a=15, job_b=30'.",
	                           "Invalid entries are ignored with a WARNING; the job keeps its table offset.",
	                           &guc_offsets, "", PGC_SUSET, 0, nullptr, nullptr, nullptr);
	/* below a minute only for tests: each pass simulates a day of every active job */
	constexpr int kMinAutoOptimizeIntervalS = 10;
	DefineCustomBoolVariable("job_stagger.auto_optimize", "Re-optimise job offsets automatically.",
	                         "The scheduler runs the offset optimiser over all active jobs every "
	                         "job_stagger.auto_optimize_interval and moves unpinned jobs when the predicted peak "
	                         "improves.",
	                         &guc_auto_optimize, false, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
	DefineCustomIntVariable("job_stagger.auto_optimize_interval", "How often the scheduler re-optimises offsets.",
	                        "Used while job_stagger.auto_optimize is on. Values below 1 minute are meant for tests.",
	                        &guc_auto_optimize_interval_s, 3600, kMinAutoOptimizeIntervalS, INT_MAX / 1000, PGC_SIGHUP,
	                        GUC_UNIT_S, nullptr, nullptr, nullptr);
}

void
DefineObservabilityGucs()
{
	constexpr int kMaxSeconds = INT_MAX / 1000;
	DefineCustomIntVariable("job_stagger.pool_sample_interval", "How often the scheduler samples pool use.",
	                        "Each sample stores running jobs (and the peak since the last sample) against "
	                        "job_stagger.max_running_jobs, and client backends against max_connections.",
	                        &guc_pool_sample_interval_s, 60, 1, kMaxSeconds, PGC_SIGHUP, GUC_UNIT_S, nullptr, nullptr,
	                        nullptr);
	DefineCustomBoolVariable("job_stagger.log_pool", "Log a line for every pool sample.", nullptr, &guc_log_pool, false,
	                         PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
	DefineCustomIntVariable("job_stagger.pool_warn_pct", "Pool use (percent) above which a sample is a WARNING.",
	                        nullptr, &guc_pool_warn_pct, kDefaultPoolWarnPct, 0, 100, PGC_SIGHUP, 0, CheckPoolWarnPct,
	                        nullptr, nullptr);
	DefineCustomIntVariable(
	    "job_stagger.pool_crit_pct", "Pool use (percent) above which a sample is a critical WARNING.", nullptr,
	    &guc_pool_crit_pct, kDefaultPoolCritPct, 0, 100, PGC_SIGHUP, 0, CheckPoolCritPct, nullptr, nullptr);
	DefineCustomIntVariable("job_stagger.slow_job_threshold_ms", "Runs longer than this are logged as a WARNING.",
	                        "0 turns the warning off.", &guc_slow_job_threshold_ms, 2000, 0, INT_MAX, PGC_SIGHUP,
	                        GUC_UNIT_MS, nullptr, nullptr, nullptr);
	DefineCustomIntVariable("job_stagger.history_retention", "How long run history and samples are kept.",
	                        "Older rows are purged by the scheduler in small batches; 0 keeps everything.",
	                        &guc_history_retention_s, kDefaultHistoryRetentionS, 0, INT_MAX, PGC_SIGHUP, GUC_UNIT_S,
	                        CheckHistoryRetention, nullptr, nullptr);
	DefineCustomIntVariable("job_stagger.kpi_interval", "How often the scheduler stores a KPI snapshot.",
	                        "0 turns automatic snapshots off.", &guc_kpi_interval_s, kDefaultKpiIntervalS, 0,
	                        kMaxSeconds, PGC_SIGHUP, GUC_UNIT_S, CheckKpiInterval, nullptr, nullptr);
	DefineCustomBoolVariable("job_stagger.auto_rollback",
	                         "Stop staggering automatically when a rollback trigger fires.",
	                         "The scheduler sets job_stagger.enabled = off (ALTER SYSTEM) and logs why.",
	                         &guc_auto_rollback, false, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
	DefineCustomBoolVariable("job_stagger.log_successful_runs", "Keep the rows of runs that succeeded.",
	                         "Off: a succeeded run's row is deleted when its outcome is recorded; failures, skips, "
	                         "timeouts and crashes are kept. The row exists while the run starts and runs.",
	                         &guc_log_successful_runs, true, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
}

} // namespace

core::TimeZone
CurrentTimeZone()
{
	/* The check hook accepted the name, so only a zone file removed since can fail. */
	auto zone = core::TimeZone::Load(guc_timezone != nullptr ? guc_timezone : "UTC");
	if (!zone)
		throw std::runtime_error(std::string("time zone \"") + guc_timezone + "\" can no longer be loaded");
	return *zone;
}

void
DefineGucs()
{
	DefineSchedulerGucs();
	DefineStaggerGucs();
	DefineObservabilityGucs();
	MarkGUCPrefixReserved("job_stagger");
}

} // namespace js::pg
