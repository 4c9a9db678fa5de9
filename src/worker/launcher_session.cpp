/*
 * The launcher's session: how it connects to job_stagger.database_name, and
 * what it refuses to inherit from that database.
 *
 * The launcher runs as the bootstrap superuser. Whatever a database owner (or
 * a role with CREATE on a schema) can put in its way must not decide what it
 * runs or whether it runs:
 *
 *  - Settings. A background worker gets the settings of ALTER DATABASE ... SET
 *    and ALTER ROLE ... SET like any session, and a non-superuser database
 *    owner may set every PGC_USERSET parameter for the database, among them
 *    search_path (name capture: a shadow now() in a schema listed before
 *    pg_catalog runs as superuser), session_authorization and role (the
 *    launcher would act as the owner), statement_timeout = 1,
 *    default_transaction_read_only = on, default_transaction_isolation =
 *    serializable, exit_on_error = on (every retried lock timeout would end
 *    the launcher), force_parallel_mode (parallel workers take the background
 *    worker slots job runs need). So, right after connecting, every setting
 *    that came from ALTER DATABASE/ROLE SET is put back to the server's value
 *    (what the launcher inherited from the postmaster before connecting),
 *    except job_stagger.* (superuser-only; the scheduler's own settings), and
 *    the settings below are pinned whatever the server says. Everything is
 *    set with PGC_S_OVERRIDE, which no later SET or reload can change.
 *  - Names. The pinned search_path is "pg_catalog, pg_temp" (pg_temp last, and
 *    it is never searched for functions and operators), and the launcher's
 *    SQL qualifies every function, operator, type and relation anyway
 *    (launcher_db.cpp): pinning is the guard, qualification the proof.
 *  - A missing database. Connecting to a database that does not exist is a
 *    FATAL error, and the postmaster would restart the launcher every second.
 *    Instead, a launcher that does not know the database exists connects to
 *    no database (shared catalogs only, like the logical replication
 *    launcher), looks it up in pg_database with a growing interval, logs once
 *    with a HINT, and exits with code 1 once it exists (the postmaster starts
 *    it again after bgw_restart_time, and that one connects).
 *
 * The job worker is different on purpose: a run's command gets the job
 * owner's own settings, as a session of that role would; the worker runs no
 * SQL of its own around the command.
 */
#include "pg/guc.hpp"

extern "C" {
#include "postgres.h"

#include "access/heapam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "utils/elog.h"
#include "utils/guc.h"
#include "utils/guc_tables.h"
#include "utils/memutils.h"
}

#include "worker/launcher_loop.hpp"
#include "worker/shared.hpp"

namespace js::worker {

namespace {

/* Settings pinned for the launcher whatever the server, database or role say. */
struct PinnedSetting {
	const char *name;
	const char *value;
};

/*
 * lock_timeout: no lock a user can hold (LOCK TABLE on a job_stagger table
 * they may update, a row lock) stalls the launcher; a blocked transaction is
 * retried, see launcher_work.cpp. statement_timeout: none, the only waits of
 * the launcher's short statements are lock waits.
 */
constexpr PinnedSetting kPinned[] = {
    {"search_path", "pg_catalog, pg_temp"},
    {"lock_timeout", kLauncherLockTimeout},
    {"statement_timeout", "0"},
    {"idle_in_transaction_session_timeout", "0"},
    {"idle_session_timeout", "0"},
    {"default_transaction_isolation", "read committed"},
    {"default_transaction_read_only", "off"},
    {"default_transaction_deferrable", "off"},
    {"session_replication_role", "origin"}, /* the jobs triggers fire for the launcher's updates too */
    {"exit_on_error", "off"},
    {"max_parallel_workers_per_gather", "0"}, /* no parallel workers: background worker slots are for runs */
    {"role", "none"},
};

/* Longest and first interval between two looks for a missing metadata database. */
constexpr long kDatabaseCheckFirstMs = 1000;
constexpr long kDatabaseCheckMaxMs = 30000;

/* The server's value of every parameter a database or role could override, taken before connecting. */
struct ServerSetting {
	char *name;
	char *value;
};
ServerSetting *server_settings = nullptr;
int nserver_settings = 0;

emit_log_hook_type prev_emit_log_hook = nullptr;

const char *
ServerValue(const char *name)
{
	for (int i = 0; i < nserver_settings; i++)
		if (strcmp(server_settings[i].name, name) == 0)
			return server_settings[i].value;
	return nullptr;
}

bool
FromDatabaseOrRole(GucSource source)
{
	return source == PGC_S_GLOBAL || source == PGC_S_DATABASE || source == PGC_S_USER || source == PGC_S_DATABASE_USER;
}

void
Pin(const char *name, const char *value)
{
	(void)set_config_option(name, value, PGC_SUSET, PGC_S_OVERRIDE, GUC_ACTION_SET, true, WARNING, false);
}

/*
 * Puts every setting that ALTER DATABASE/ROLE SET changed back to the
 * server's value; returns their names (for the log), or NULL.
 */
char *
RevertDatabaseSettings()
{
	StringInfoData names;
	initStringInfo(&names);
	struct config_generic **vars = get_guc_variables();
	int n = GetNumConfigOptions();
	for (int i = 0; i < n; i++) {
		struct config_generic *var = vars[i];
		if (!FromDatabaseOrRole(var->source) || strncmp(var->name, "job_stagger.", 12) == 0)
			continue;
		const char *value = nullptr;
		if (strcmp(var->name, "session_authorization") == 0)
			value = GetUserNameFromId(GetAuthenticatedUserId(), false);
		else
			value = ServerValue(var->name);
		if (value != nullptr)
			Pin(var->name, value);
		appendStringInfo(&names, "%s%s", names.len > 0 ? ", " : "", var->name);
	}
	return names.len > 0 ? names.data : nullptr;
}

/* While connecting: the FATAL "database does not exist" is replaced by the clear message of the next start. */
void
QuietMissingDatabase(ErrorData *edata)
{
	if (edata->elevel == FATAL && (edata->sqlerrcode == ERRCODE_UNDEFINED_DATABASE ||
	                               edata->sqlerrcode == ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE))
		edata->output_to_server = false;
	if (prev_emit_log_hook != nullptr)
		prev_emit_log_hook(edata);
}

void
SetDatabaseUnverified(bool unverified)
{
	SharedState *sh = Shared();
	LWLockAcquire(sh->lock, LW_EXCLUSIVE);
	sh->database_unverified = unverified;
	LWLockRelease(sh->lock);
}

/*
 * Why the launcher cannot connect to the metadata database now, or NULL if it
 * can. Without a database only the shared catalogs' heaps can be read (their
 * indexes need pg_class), so this scans pg_database like the autovacuum
 * launcher does.
 */
const char *
DatabaseProblem(const char *dbname)
{
	const char *problem = "does not exist";
	StartTransactionCommand();
	Relation rel = table_open(DatabaseRelationId, AccessShareLock);
	TableScanDesc scan = table_beginscan_catalog(rel, 0, nullptr);
	HeapTuple tuple;
	while ((tuple = heap_getnext(scan, ForwardScanDirection)) != nullptr) {
		Form_pg_database db = (Form_pg_database)GETSTRUCT(tuple);
		if (strcmp(NameStr(db->datname), dbname) != 0)
			continue;
		problem = db->datallowconn ? nullptr : "does not allow connections";
		break;
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();
	return problem;
}

} // namespace

void
SnapshotServerSettings()
{
	struct config_generic **vars = get_guc_variables();
	int n = GetNumConfigOptions();
	server_settings = static_cast<ServerSetting *>(MemoryContextAllocZero(TopMemoryContext, sizeof(ServerSetting) * n));
	for (int i = 0; i < n; i++) {
		struct config_generic *var = vars[i];
		if ((var->context != PGC_USERSET && var->context != PGC_SUSET) || (var->flags & GUC_CUSTOM_PLACEHOLDER))
			continue;
		const char *value = GetConfigOption(var->name, true, false);
		if (value == nullptr)
			continue;
		server_settings[nserver_settings].name = MemoryContextStrdup(TopMemoryContext, var->name);
		server_settings[nserver_settings].value = MemoryContextStrdup(TopMemoryContext, value);
		nserver_settings++;
	}
}

/*
 * Connects to job_stagger.database_name. The shared flag says whether the
 * database is in doubt: it is set before the attempt and cleared once
 * connected, so the start after a failed attempt checks first (no FATAL
 * every second) while a normal start connects at once.
 */
void
ConnectLauncher()
{
	SharedState *sh = Shared();
	if (sh == nullptr)
		ereport(FATAL, (errmsg("job_stagger must be loaded via shared_preload_libraries")));
	if (sh->database_unverified)
		WaitForDatabase();
	SnapshotServerSettings();
	SetDatabaseUnverified(true);
	prev_emit_log_hook = emit_log_hook;
	emit_log_hook = QuietMissingDatabase;
	BackgroundWorkerInitializeConnection(js::pg::guc_database_name, nullptr, 0);
	emit_log_hook = prev_emit_log_hook;
	SetDatabaseUnverified(false);
}

/* Right after connecting: drops what the database and role set, pins the launcher's settings (see above). */
void
PinLauncherSession()
{
	StartTransactionCommand();
	char *reverted = RevertDatabaseSettings();
	for (const PinnedSetting &p : kPinned)
		Pin(p.name, p.value);
	CommitTransactionCommand();
	if (reverted != nullptr)
		ereport(LOG, (errmsg("job_stagger launcher ignores settings of database \"%s\" and its role: %s",
		                     js::pg::guc_database_name, reverted),
		              errdetail("The launcher runs with the server's configuration; job runs still get their "
		                        "role's and database's settings.")));
}

/*
 * Without a database connection: waits, with a growing interval, until the
 * metadata database exists and accepts connections, then exits with code 1
 * so that the next start connects. Logs once.
 */
void
WaitForDatabase()
{
	BackgroundWorkerInitializeConnection(nullptr, nullptr, 0);
	pgstat_report_appname("job_stagger launcher");
	long interval_ms = kDatabaseCheckFirstMs;
	bool logged = false;
	for (;;) {
		const char *problem = DatabaseProblem(js::pg::guc_database_name);
		if (problem == nullptr)
			break;
		if (!logged)
			ereport(LOG,
			        (errmsg("job_stagger: database \"%s\" (job_stagger.database_name) %s; no jobs are scheduled",
			                js::pg::guc_database_name, problem),
			         errhint("Create the database (CREATE DATABASE %s; then CREATE EXTENSION job_stagger in it), or "
			                 "set job_stagger.database_name to an existing database and restart the server. The "
			                 "launcher looks again every %ld seconds at most.",
			                 js::pg::guc_database_name, kDatabaseCheckMaxMs / 1000)));
		else
			ereport(DEBUG1, (errmsg("job_stagger: database \"%s\" %s; next look in %ld ms", js::pg::guc_database_name,
			                        problem, interval_ms)));
		logged = true;
		(void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, interval_ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (ShutdownRequestPending)
			proc_exit(1);
		if (ConfigReloadPending) {
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		interval_ms = Min(interval_ms * 2, kDatabaseCheckMaxMs);
	}
	SetDatabaseUnverified(false);
	ereport(LOG, (errmsg("job_stagger: database \"%s\" is there now; the launcher restarts to connect to it",
	                     js::pg::guc_database_name)));
	proc_exit(1);
}

} // namespace js::worker
