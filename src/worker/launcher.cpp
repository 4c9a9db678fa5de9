/*
 * The launcher: one background worker, connected to job_stagger.database_name,
 * that decides when each job fires and starts a job worker per run.
 *
 * Loop (see docs/scheduler.md): sleep on the latch until the next fire
 * instant minus job_stagger.prestart_lead_ms (or a job change, a reload, a
 * worker event); then, in one transaction, record what workers reported and
 * insert a 'starting' row for every slot now due, together with the
 * scheduled_until watermark; then start a worker per new run. Workers connect
 * early and wait for their exact fire instant themselves.
 *
 * C++ state (the model) lives in static storage and is only touched through
 * CallCpp; everything between it and SPI is plain data (launcher_db.hpp).
 */
#include "worker/launcher.hpp"
#include "core/launcher_model.hpp"
#include "core/report.hpp"
#include "core/stagger.hpp"
#include "pg/bridge.hpp"
#include "pg/guc.hpp"
#include "pg/overrides.hpp"

#include <memory>

extern "C" {
#include "postgres.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
}

#include "pg/pg_time.hpp"
#include "worker/launcher_db.hpp"
#include "worker/launcher_loop.hpp"
#include "worker/shared.hpp"

namespace js::worker {

namespace {

/* Longest sleep: wall-clock jumps and lost wake-ups are noticed within this. */
constexpr long kMaxSleepMs = 5000;
/*
 * Poll interval while waiting for CREATE EXTENSION in the metadata database:
 * 1 s doubling to 10 s, so a DROP and CREATE EXTENSION in quick succession
 * (a reinstall) costs a second, a long wait next to nothing.
 */
constexpr long kWaitExtensionFirstMs = 1000;
constexpr long kWaitExtensionMaxMs = 10000;
constexpr int kLauncherRestartSecs = 1;
/* Log output stays readable with thousands of jobs: the rest is in stagger_summary(). */
constexpr std::size_t kLogMaxJobLines = 50;
constexpr std::size_t kLogMaxCollisionLines = 20;
constexpr int kLogMaxCollisionWarnings = 100;

using core::DueRunData;
using core::JobRow;
using core::LauncherModel;

std::unique_ptr<LauncherModel> model;

} // namespace

void
RegisterLauncher()
{
	BackgroundWorker worker;
	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished; /* never on a standby; starts on promotion */
	worker.bgw_restart_time = kLauncherRestartSecs;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "job_stagger");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "job_stagger_launcher_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "job_stagger launcher");
	snprintf(worker.bgw_type, BGW_MAXLEN, "job_stagger launcher");
	RegisterBackgroundWorker(&worker);
}

/* The model, created on first use (C++: call inside CallCpp). */
LauncherModel &
Model()
{
	if (!model)
		model = std::make_unique<LauncherModel>();
	return *model;
}

void
WarnUnknownOverrides()
{
	char **names = nullptr;
	int count = 0;
	js::pg::CallCpp([&] {
		std::vector<std::string> unknown = Model().UnknownOverrides();
		names = static_cast<char **>(js::pg::PallocOrThrow(sizeof(char *) * (unknown.size() + 1)));
		for (const std::string &n : unknown)
			names[count++] = js::pg::PallocCopy(n);
	});
	for (int i = 0; i < count; i++)
		ereport(WARNING, (errmsg("job_stagger.offsets: no active job named \"%s\"", names[i]),
		                  errdetail("The entry is ignored.")));
}

/* What the scheduler logs about staggering, as plain data. */
struct StaggerLog {
	char *summary;
	int npairs;
	char **pairs; /* "jobs "a" and "b" fire in the same second (:05, 288 times a day, first ...)" */
};

/* Summary and collisions of the jobs as the scheduler runs them (C++ inside CallCpp). */
static StaggerLog
BuildStaggerLog(bool enabled, int64 now)
{
	StaggerLog log = {nullptr, 0, nullptr};
	js::pg::CallCpp([&] {
		core::StaggerReport report = core::AnalyzeStagger(Model().StaggerInputs(), enabled, Model().Zone(), now);
		core::SummaryInput summary = core::SummarizeStagger(report, enabled, Model().Zone(), now);
		summary.max_job_lines = kLogMaxJobLines;
		summary.max_collision_lines = kLogMaxCollisionLines;
		log.summary = js::pg::PallocCopy(core::FormatSummary(summary));
		log.pairs = static_cast<char **>(js::pg::PallocOrThrow(sizeof(char *) * (report.pairs.size() + 1)));
		for (const core::CollisionPair &p : report.pairs)
			log.pairs[log.npairs++] =
			    js::pg::PallocCopy("jobs \"" + report.jobs[p.index_a].name + "\" and \"" + report.jobs[p.index_b].name +
			                       "\" fire in the same second (:" + (p.second < 10 ? "0" : "") +
			                       std::to_string(p.second) + ", " + std::to_string(p.collisions_per_day) +
			                       " times a day, first " + core::FormatUtcInstant(p.first_collision) + " UTC)");
	});
	return log;
}

/*
 * At start-up and on every reload: the summary at LOG (each job's schedule
 * and effective schedule), and a WARNING per colliding pair while staggering
 * is enabled (while it is off every 5-field job shares second 0: one line).
 */
void
LogStaggerState()
{
	bool enabled = js::pg::guc_enabled;
	StaggerLog log = BuildStaggerLog(enabled, js::pg::TimestampToInstant(GetCurrentTimestamp()));
	ereport(LOG, (errmsg("job_stagger summary:\n%s", log.summary)));
	if (!enabled) {
		if (log.npairs > 0)
			ereport(LOG,
			        (errmsg("job_stagger: %d pairs of jobs fire in the same second while staggering is disabled",
			                log.npairs),
			         errhint("SET job_stagger.enabled = on (ALTER SYSTEM, reload) spreads them over the minute.")));
		return;
	}
	for (int i = 0; i < log.npairs && i < kLogMaxCollisionWarnings; i++)
		ereport(WARNING, (errmsg("job_stagger: %s", log.pairs[i]),
		                  errhint("SELECT * FROM stagger_collisions() lists all; stagger_set_offset() moves a job.")));
	if (log.npairs > kLogMaxCollisionWarnings)
		ereport(WARNING,
		        (errmsg("job_stagger: %d more colliding pairs not logged", log.npairs - kLogMaxCollisionWarnings)));
}

/* Applies the job_stagger.* settings to the model; logs what changed. */
void
ApplySettings(bool log_always)
{
	static bool applied = false;
	static bool last_enabled = false;
	bool enabled = js::pg::guc_enabled;
	js::pg::OverrideList overrides = js::pg::ParseOverrides(js::pg::guc_offsets);
	js::pg::WarnOverrideErrors(overrides);

	js::pg::CallCpp([&] {
		std::map<std::string, int> map;
		for (int i = 0; i < overrides.count; i++)
			map[overrides.names[i]] = overrides.offsets[i];
		Model().SetSettings(enabled, js::pg::CurrentTimeZone(), std::move(map));
	});
	if (log_always || !applied || last_enabled != enabled)
		ereport(LOG, (errmsg("job_stagger: staggering is %s", enabled ? "enabled" : "disabled"),
		              errdetail("Time zone %s, %d offset override(s).", js::pg::guc_timezone, overrides.count)));
	applied = true;
	last_enabled = enabled;
	NoteSettingsApplied(enabled);
}

/*
 * Re-reads active jobs; new and changed jobs get their first slot after
 * `since`. Jobs whose role was dropped are deactivated, not scheduled.
 */
void
ReloadJobs(TimestampTz since)
{
	MemoryContext mcxt = TickContext();
	int count = 0;
	JobRowData *rows = LoadJobs(mcxt, &count);
	count = DetachDroppedRoleJobs(rows, count);
	int64 since_secs = js::pg::TimestampToInstant(since);
	char *invalid = nullptr;

	js::pg::CallCpp([&] {
		std::vector<JobRow> jobs;
		jobs.reserve(count);
		for (int i = 0; i < count; i++) {
			const JobRowData &r = rows[i];
			jobs.push_back(JobRow{r.jobid, r.name, r.schedule, r.command, r.database, r.username, r.roleid, r.offset,
			                      r.overlap, r.timeout_ms, r.exclusive_group, r.group_policy, r.timezone});
		}
		std::vector<std::string> bad;
		Model().SetJobs(std::move(jobs), since_secs, &bad);
		std::string joined;
		for (const std::string &b : bad)
			joined += (joined.empty() ? "" : "; ") + b;
		if (!joined.empty())
			invalid = js::pg::PallocCopy(joined);
	});
	if (invalid != nullptr)
		ereport(WARNING,
		        (errmsg("job_stagger: jobs with an invalid schedule are not scheduled"), errdetail("%s", invalid)));
}

/* Converts what the model hands out into DueRun records in `mcxt`. */
static DueRun *
ToDueRuns(const std::vector<DueRunData> &data, MemoryContext mcxt)
{
	auto *runs = static_cast<DueRun *>(js::pg::PallocOrThrow(sizeof(DueRun) * (data.size() + 1)));
	for (std::size_t i = 0; i < data.size(); i++) {
		const DueRunData &d = data[i];
		DueRun &r = runs[i];
		r.kind = d.reboot ? kDueReboot : d.slot.kind == core::SlotKind::kMissed ? kDueMissed : kDueRun;
		r.jobid = d.slot.jobid;
		r.fire_at = js::pg::InstantToTimestamp(d.slot.fire_at);
		r.nominal_at = js::pg::InstantToTimestamp(d.slot.nominal);
		r.applied_offset = d.slot.applied_offset;
		r.stagger_enabled = d.slot.stagger_enabled;
		r.missed_count = d.slot.missed_count;
		r.missed_last = js::pg::InstantToTimestamp(d.slot.last_fire_at);
		r.missed_lower_bound = d.slot.count_is_lower_bound;
		r.job_name = js::pg::PallocCopy(d.job->name);
		r.command = js::pg::PallocCopy(d.job->command);
		r.database = js::pg::PallocCopy(d.job->database);
		r.username = js::pg::PallocCopy(d.job->username);
		r.roleoid = d.job->roleid;
		r.effective_schedule = js::pg::PallocCopy(d.effective_schedule);
		r.overlap = d.job->overlap;
		r.timeout_ms = d.job->timeout_ms;
		r.exclusive_group = js::pg::PallocCopy(d.job->exclusive_group);
		r.group_policy = d.job->group_policy;
		r.attempt = 1;
	}
	(void)mcxt;
	return runs;
}

/* Slots due up to `upto` (and @reboot runs when `reboot`), as DueRuns allocated in `mcxt`. */
DueRun *
TakeDueRuns(TimestampTz now, TimestampTz upto, bool reboot, MemoryContext mcxt, int *count)
{
	DueRun *runs = nullptr;
	int64 upto_secs = js::pg::TimestampToInstant(upto);
	int64 now_secs = js::pg::TimestampToInstant(now);
	MemoryContext old = MemoryContextSwitchTo(mcxt);
	js::pg::CallCpp([&] {
		std::vector<DueRunData> data =
		    reboot ? Model().RebootRuns(now_secs) : Model().TakeDue(now_secs, upto_secs, js::pg::guc_catchup_window_s);
		runs = ToDueRuns(data, mcxt);
		*count = static_cast<int>(data.size());
	});
	MemoryContextSwitchTo(old);
	return runs;
}

/* Fire instant of the job's next slot not handed out yet; DT_NOEND when none (not active, never fires). */
TimestampTz
NextSlotOf(int64 jobid)
{
	std::optional<int64> next;
	js::pg::CallCpp([&] { next = Model().NextSlotOf(jobid); });
	return next ? js::pg::InstantToTimestamp(*next) : DT_NOEND;
}

/* The next instant the launcher must wake for (DT_NOEND if no job will fire). */
TimestampTz
NextWakeAt()
{
	std::optional<int64> next;
	js::pg::CallCpp([&] { next = Model().NextFireAt(); });
	if (!next)
		return DT_NOEND;
	return js::pg::InstantToTimestamp(*next) - static_cast<int64>(js::pg::guc_prestart_lead_ms) * 1000;
}

/*
 * SIGTERM (server shutdown, pg_terminate_backend) sets a flag the loop checks
 * after every sleep and every housekeeping slice: the launcher then logs and
 * exits with code 1 (the postmaster restarts it after a pg_terminate_backend,
 * not at shutdown) instead of dying with a FATAL message. Its scheduling
 * transactions are short; a housekeeping statement in progress is cancelled
 * by the signal (LauncherSigterm), so it never waits long for the flag.
 */
void
ExitIfShutdownRequested()
{
	if (!ShutdownRequestPending)
		return;
	RecordBeforeExit();
	ereport(LOG, (errmsg("job_stagger launcher shutting down")));
	proc_exit(1);
}

/* Sleeps until `wake_at` (capped), a latch set, or a signal. */
void
SleepUntil(TimestampTz wake_at)
{
	TimestampTz now = GetCurrentTimestamp();
	long timeout_ms = kMaxSleepMs;
	if (wake_at != DT_NOEND) {
		long secs = 0;
		int usecs = 0;
		if (wake_at <= now)
			timeout_ms = 0;
		else {
			TimestampDifference(now, wake_at, &secs, &usecs);
			timeout_ms = Min(kMaxSleepMs, secs * 1000 + (usecs + 999) / 1000);
		}
	}
	if (timeout_ms > 0)
		(void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, timeout_ms, PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
	CHECK_FOR_INTERRUPTS();
	ExitIfShutdownRequested();
}

static void
CheckExtensionWork(void *arg)
{
	*static_cast<bool *>(arg) = ExtensionInstalled();
}

/*
 * Blocks until CREATE EXTENSION job_stagger has been run in this database.
 * announce: one LOG with a HINT when it is not there (not after a DROP
 * EXTENSION, whose LOG said the same); nothing more while it waits.
 */
void
WaitForExtension(bool announce)
{
	static Retry retry = {"checking for the extension", 0, 0, 0, 0, 0, false, false};
	bool logged = !announce;
	ExpectExtension(InvalidOid); /* any extension created from now on starts a new life */
	long wait_ms = kWaitExtensionFirstMs;
	for (;;) {
		bool installed = false;
		if (TryWork(&retry, "job_stagger: checking for the extension", CheckExtensionWork, &installed,
		            "Scheduling starts once the check gets through.") &&
		    installed)
			return;
		if (!logged)
			ereport(LOG, (errmsg("job_stagger: waiting for CREATE EXTENSION job_stagger in database \"%s\"",
			                     js::pg::guc_database_name),
			              errhint("Run CREATE EXTENSION job_stagger in database \"%s\" (job_stagger.database_name); "
			                      "scheduling starts within 10 seconds, no restart needed.",
			                      js::pg::guc_database_name)));
		logged = true;
		(void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, wait_ms, PG_WAIT_EXTENSION);
		wait_ms = Min(wait_ms * 2, kWaitExtensionMaxMs);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		ExitIfShutdownRequested();
		if (ConfigReloadPending) {
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
	}
}

} // namespace js::worker

extern "C" {

PGDLLEXPORT void job_stagger_launcher_main(Datum main_arg);

void
job_stagger_launcher_main(Datum main_arg)
{
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, js::worker::LauncherSigterm);
	BackgroundWorkerUnblockSignals();
	js::worker::ConnectLauncher();
	js::worker::PinLauncherSession();
	/* The name also as a setting: SQL called by the scheduler can tell who runs it. */
	SetConfigOption("application_name", "job_stagger launcher", PGC_USERSET, PGC_S_SESSION);
	pgstat_report_appname("job_stagger launcher");
	js::worker::RunLauncher();
}

} /* extern "C" */
