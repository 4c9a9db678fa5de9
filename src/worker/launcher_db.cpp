/*
 * SPI access of the launcher to job_stagger.jobs, job_run_details and
 * scheduler_state. Plain C-shaped code: no C++ object lives in these frames,
 * so an ERROR may unwind through them safely (to the launcher's TryWork,
 * which aborts the transaction and retries).
 *
 * Names: the launcher runs as the bootstrap superuser, so none of its SQL may
 * resolve a name a user controls. Its search_path is pinned to
 * "pg_catalog, pg_temp" (launcher_session.cpp), and on top of that every
 * relation, function, operator and type below is schema-qualified:
 * pg_catalog.now(), OPERATOR(pg_catalog.=), pg_catalog.int4,
 * job_stagger.jobs. A function or operator with an exact-match signature in
 * a schema earlier in the path would otherwise win over pg_catalog's (for
 * example public.*(numeric, integer) over the implicit cast to numeric *
 * numeric, or public.make_interval(secs integer)). What is left unqualified
 * resolves without the search_path: the SQL-standard forms EXTRACT, COALESCE,
 * GREATEST, LEAST, CASE (searched), IS NULL, and ORDER BY (the type's default
 * btree operator class); column defaults, constraints and triggers are stored
 * as OIDs. Never add an unqualified name here.
 */
extern "C" {
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_database.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "pgstat.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/xid8.h"
}

#include "worker/launcher_db.hpp"
#include "worker/launcher_spi.hpp"

namespace js::worker {

namespace {

Datum
TextOrNull(const char *s, char *nulls, int i)
{
	nulls[i] = s == nullptr ? 'n' : ' ';
	return s == nullptr ? (Datum)0 : CStringGetTextDatum(s);
}

/* A time or pid the worker reported: 0 means none (SQL NULL). */
Datum
TimeOrNull(TimestampTz t, char *nulls, int i)
{
	nulls[i] = t == 0 ? 'n' : ' ';
	return TimestampTzGetDatum(t);
}

Datum
PidOrNull(int pid, char *nulls, int i)
{
	nulls[i] = pid == 0 ? 'n' : ' ';
	return Int32GetDatum(pid);
}

/* The command's transaction id the worker published: 0 means none yet (SQL NULL). */
Datum
XidOrNull(uint64 xid, char *nulls, int i)
{
	nulls[i] = xid == 0 ? 'n' : ' ';
	return FullTransactionIdGetDatum(FullTransactionIdFromU64(xid));
}

using spi::Execute;

} // namespace

void
BeginWork(const char *activity)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, activity);
}

void
EndWork()
{
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_stat(true);
	pgstat_report_activity(STATE_IDLE, nullptr);
}

namespace {
/* The extension the launcher's current scheduling life started with. */
Oid expected_extension = InvalidOid;
} // namespace

void
ExpectExtension(Oid extension)
{
	expected_extension = extension;
}

Oid
InstalledExtension()
{
	return get_extension_oid("job_stagger", true);
}

/*
 * The extension is there (with its tables), and is the one scheduling started
 * with: a DROP and CREATE EXTENSION between two transactions of the launcher
 * is a drop too, so no run of the old extension reaches the new history.
 */
bool
ExtensionInstalled()
{
	Oid extension = get_extension_oid("job_stagger", true);
	if (!OidIsValid(extension) || (OidIsValid(expected_extension) && extension != expected_extension))
		return false;
	Oid nsp = get_namespace_oid("job_stagger", true);
	return OidIsValid(nsp) && OidIsValid(get_relname_relid("jobs", nsp)) &&
	       OidIsValid(get_relname_relid("job_run_details", nsp));
}

JobRowData *
LoadJobs(MemoryContext mcxt, int *count)
{
	/* jobs.timezone since 0.7 of the SQL objects (before ALTER EXTENSION UPDATE every job has the default) */
	Oid relid = get_relname_relid("jobs", get_namespace_oid("job_stagger", false));
	bool zones = get_attnum(relid, "timezone") != InvalidAttrNumber;
	const char *sql = psprintf(
	    "SELECT jobid, job_name, schedule, command, database, username, roleid, offset_seconds,"
	    " CASE WHEN overlap OPERATOR(pg_catalog.=) 'queue' THEN 1"
	    " WHEN overlap OPERATOR(pg_catalog.=) 'allow' THEN 2 ELSE 0 END,"
	    " COALESCE(LEAST(pg_catalog.ceil(EXTRACT(epoch FROM timeout) OPERATOR(pg_catalog.*) 1000), 2147483647),"
	    " 0)::pg_catalog.int4,"
	    " COALESCE(exclusive_group, ''), (group_policy OPERATOR(pg_catalog.=) 'wait')::pg_catalog.int4,"
	    " %s FROM job_stagger.jobs WHERE active ORDER BY jobid",
	    zones ? "COALESCE(timezone, '')" : "''::pg_catalog.text");
	if (SPI_execute(sql, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "job_stagger: could not read job_stagger.jobs");
	*count = static_cast<int>(SPI_processed);
	JobRowData *rows = static_cast<JobRowData *>(MemoryContextAllocZero(mcxt, sizeof(JobRowData) * (*count + 1)));
	TupleDesc desc = SPI_tuptable->tupdesc;
	for (uint64 i = 0; i < SPI_processed; i++) {
		HeapTuple t = SPI_tuptable->vals[i];
		JobRowData *r = &rows[i];
		r->jobid = spi::Int64(t, desc, 1);
		r->name = spi::Text(t, desc, 2, mcxt);
		r->schedule = spi::Text(t, desc, 3, mcxt);
		r->command = spi::Text(t, desc, 4, mcxt);
		r->database = spi::Text(t, desc, 5, mcxt);
		r->username = spi::Text(t, desc, 6, mcxt);
		r->roleid = spi::ObjectId(t, desc, 7);
		r->offset = spi::Int32(t, desc, 8);
		r->overlap = spi::Int32(t, desc, 9);
		r->timeout_ms = spi::Int32(t, desc, 10);
		r->exclusive_group = spi::Text(t, desc, 11, mcxt);
		r->group_policy = spi::Int32(t, desc, 12);
		r->timezone = spi::Text(t, desc, 13, mcxt);
	}
	return rows;
}

namespace {

/* A job deactivated because its role was dropped, to be logged once the transaction commits. */
struct DetachedJob {
	int64 jobid;
	Oid roleid;
	char *job_name;
	char *username;
};

MemoryContext detached_cxt = nullptr;
List *detached = NIL;

bool
RoleExists(Oid roleid)
{
	return OidIsValid(roleid) && SearchSysCacheExists1(AUTHOID, ObjectIdGetDatum(roleid));
}

} // namespace

void
DetachJob(int64 jobid, Oid roleid, const char *job_name, const char *username)
{
	Oid types[2] = {INT8OID, OIDOID};
	Datum values[2] = {Int64GetDatum(jobid), ObjectIdGetDatum(roleid)};
	Execute("UPDATE job_stagger.jobs SET active = false, roleid = 0"
	        " WHERE jobid OPERATOR(pg_catalog.=) $1 AND roleid OPERATOR(pg_catalog.=) $2 AND active",
	        2, types, values, nullptr, SPI_OK_UPDATE);
	if (SPI_processed == 0)
		return; /* already done, or given to another role meanwhile */
	if (detached_cxt == nullptr)
		detached_cxt = AllocSetContextCreate(TopMemoryContext, "job_stagger detached jobs", ALLOCSET_SMALL_SIZES);
	MemoryContext old = MemoryContextSwitchTo(detached_cxt);
	DetachedJob *d = static_cast<DetachedJob *>(palloc(sizeof(DetachedJob)));
	d->jobid = jobid;
	d->roleid = roleid;
	d->job_name = pstrdup(job_name);
	d->username = pstrdup(username);
	detached = lappend(detached, d);
	MemoryContextSwitchTo(old);
}

int
DetachDroppedRoleJobs(JobRowData *rows, int count)
{
	int kept = 0;
	for (int i = 0; i < count; i++) {
		if (RoleExists(rows[i].roleid))
			rows[kept++] = rows[i];
		else
			DetachJob(rows[i].jobid, rows[i].roleid, rows[i].name, rows[i].username);
	}
	return kept;
}

void
FlushDetachedJobs(bool committed)
{
	ListCell *lc;
	foreach (lc, detached) {
		const DetachedJob *d = static_cast<const DetachedJob *>(lfirst(lc));
		if (committed)
			ereport(
			    WARNING,
			    (errmsg("job_stagger: job " INT64_FORMAT " \"%s\" deactivated: its role \"%s\" (OID %u) was dropped",
			            d->jobid, d->job_name, d->username, d->roleid),
			     errdetail("The job keeps its rows but runs as no role: a role created later under the same name "
			               "is a different role and runs nothing of it."),
			     errhint("A superuser can give the job to an existing role: SELECT stagger_alter_job(" INT64_FORMAT
			             ", username => 'role_name', active => true);",
			             d->jobid)));
	}
	detached = NIL;
	if (detached_cxt != nullptr)
		MemoryContextReset(detached_cxt);
}

namespace {

/* The adopted runids as a bigint[] Datum. */
Datum
RunidArray(const int64 *runids, int n)
{
	Datum *elems = static_cast<Datum *>(palloc(sizeof(Datum) * (n + 1)));
	for (int i = 0; i < n; i++)
		elems[i] = Int64GetDatum(runids[i]);
	return PointerGetDatum(construct_array(elems, n, INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

} // namespace

int
RecoverRuns(const int64 *adopted, int nadopted, bool server_restarted, TimestampTz late_before, int *nmissed,
            int *nsucceeded, int64 **crashed_runids)
{
	const char *who = server_restarted ? "the server stopped (shutdown, crash or failover)" : "the scheduler restarted";
	Oid types[6] = {INT8ARRAYOID, TEXTOID, TEXTOID, TIMESTAMPTZOID, TEXTOID, TEXTOID};
	Datum values[6] = {
	    RunidArray(adopted, nadopted),
	    CStringGetTextDatum(server_restarted ? "the server stopped (shutdown, crash or failover) while the run was in "
	                                           "progress: its outcome is unknown (the command may have committed)"
	                                         : "the job worker was lost when the scheduler restarted"),
	    CStringGetTextDatum(psprintf("missed: the run had not begun when %s, and its slot is now more than "
	                                 "job_stagger.catchup_window late",
	                                 who)),
	    TimestampTzGetDatum(late_before),
	    CStringGetTextDatum(psprintf("the command committed (transaction %%s); its end was recorded after %s",
	                                 server_restarted ? "the server stopped" : "the scheduler restarted")),
	    CStringGetTextDatum(server_restarted ? "the server stopped (shutdown, crash or failover) before the command "
	                                           "committed"
	                                         : "the job worker was lost before the command committed")};
	/*
	 * 'running' means the command may have begun, and even committed. When the
	 * command's only writing transaction was recorded (command_xid: the commit
	 * fence, runner.cpp, made it reach the history before the commit did), its
	 * fate decides: committed -> 'succeeded', aborted -> 'crashed' with nothing
	 * done. A transaction still 'in progress' cannot be from a previous life
	 * (prepared transactions are not recorded): aborted. An id too old for
	 * pg_xact_status (NULL), or none recorded: outcome unknown. Ids at or past
	 * the next one would make pg_xact_status fail: never expected, treated as
	 * unknown. ended_at is the recovery time, as for 'crashed' rows: the real end
	 * is not known.
	 * 'starting' means it never began (the commit fence: a command commits only
	 * after its 'running' row did), so it is run now, or missed when too late.
	 */
	Execute("WITH fate AS (SELECT d.runid, CASE WHEN d.command_xid OPERATOR(pg_catalog.<)"
	        " pg_catalog.pg_snapshot_xmax(pg_catalog.pg_current_snapshot())"
	        " THEN pg_catalog.pg_xact_status(d.command_xid) END AS xact"
	        " FROM job_stagger.job_run_details d"
	        " WHERE d.status OPERATOR(pg_catalog.=) 'running' AND d.runid OPERATOR(pg_catalog.<>) ALL ($1))"
	        " UPDATE job_stagger.job_run_details d"
	        " SET status = CASE WHEN f.xact OPERATOR(pg_catalog.=) 'committed' THEN 'succeeded' ELSE 'crashed' END,"
	        " ended_at = pg_catalog.now(),"
	        " return_message = CASE WHEN f.xact OPERATOR(pg_catalog.=) 'committed'"
	        " THEN pg_catalog.format($5, d.command_xid)"
	        " WHEN f.xact OPERATOR(pg_catalog.=) ANY ('{aborted,in progress}'::pg_catalog.text[]) THEN $6"
	        " ELSE $2 END"
	        " FROM fate f WHERE d.runid OPERATOR(pg_catalog.=) f.runid"
	        " RETURNING d.status OPERATOR(pg_catalog.=) 'succeeded', d.runid",
	        6, types, values, nullptr, SPI_OK_UPDATE_RETURNING);
	int crashed = 0;
	*nsucceeded = 0;
	if (crashed_runids != nullptr)
		*crashed_runids = static_cast<int64 *>(palloc(sizeof(int64) * (SPI_processed + 1)));
	for (uint64 i = 0; i < SPI_processed; i++) {
		bool isnull = false;
		bool succeeded = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
		*nsucceeded += succeeded ? 1 : 0;
		if (!succeeded && crashed_runids != nullptr)
			(*crashed_runids)[crashed] = spi::Int64(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
		crashed += succeeded ? 0 : 1;
	}
	Execute("UPDATE job_stagger.job_run_details SET status = 'skipped', ended_at = pg_catalog.now(),"
	        " return_message = $3"
	        " WHERE status OPERATOR(pg_catalog.=) 'starting' AND runid OPERATOR(pg_catalog.<>) ALL ($1)"
	        " AND scheduled_at OPERATOR(pg_catalog.<) $4",
	        6, types, values, nullptr, SPI_OK_UPDATE);
	*nmissed = static_cast<int>(SPI_processed);
	return crashed;
}

DueRun *
LoadStartingRuns(const int64 *adopted, int nadopted, MemoryContext mcxt, int *count)
{
	Oid types[1] = {INT8ARRAYOID};
	Datum values[1] = {RunidArray(adopted, nadopted)};
	Execute("UPDATE job_stagger.job_run_details d SET status = 'skipped', ended_at = pg_catalog.now(),"
	        " return_message = 'skipped: the job was unscheduled or deactivated before this run began'"
	        " WHERE status OPERATOR(pg_catalog.=) 'starting' AND runid OPERATOR(pg_catalog.<>) ALL ($1)"
	        " AND triggered_by OPERATOR(pg_catalog.<>) ALL ('{manual,retry}'::pg_catalog.text[])"
	        " AND NOT EXISTS (SELECT FROM job_stagger.jobs j"
	        " WHERE j.jobid OPERATOR(pg_catalog.=) d.jobid AND j.active)",
	        1, types, values, nullptr, SPI_OK_UPDATE);
	Execute("SELECT d.runid, d.jobid, d.job_name, d.command, d.database, d.username, COALESCE(d.roleid, j.roleid),"
	        " d.scheduled_at, d.nominal_at, d.offset_seconds, d.stagger_enabled, d.effective_schedule,"
	        " d.triggered_by OPERATOR(pg_catalog.=) 'reboot',"
	        " CASE WHEN j.overlap OPERATOR(pg_catalog.=) 'queue' THEN 1"
	        " WHEN j.overlap OPERATOR(pg_catalog.=) 'allow' THEN 2 ELSE 0 END,"
	        " COALESCE(LEAST(pg_catalog.ceil(EXTRACT(epoch FROM j.timeout) OPERATOR(pg_catalog.*) 1000), 2147483647),"
	        " 0)::pg_catalog.int4,"
	        " COALESCE(j.exclusive_group, ''), (j.group_policy OPERATOR(pg_catalog.=) 'wait')::pg_catalog.int4"
	        " FROM job_stagger.job_run_details d JOIN job_stagger.jobs j ON j.jobid OPERATOR(pg_catalog.=) d.jobid"
	        " WHERE d.status OPERATOR(pg_catalog.=) 'starting' AND d.runid OPERATOR(pg_catalog.<>) ALL ($1)"
	        " AND d.triggered_by OPERATOR(pg_catalog.<>) ALL ('{manual,retry}'::pg_catalog.text[])"
	        " ORDER BY d.scheduled_at, d.runid",
	        1, types, values, nullptr, SPI_OK_SELECT);
	*count = static_cast<int>(SPI_processed);
	DueRun *runs = static_cast<DueRun *>(MemoryContextAllocZero(mcxt, sizeof(DueRun) * (*count + 1)));
	TupleDesc desc = SPI_tuptable->tupdesc;
	for (uint64 i = 0; i < SPI_processed; i++) {
		HeapTuple t = SPI_tuptable->vals[i];
		DueRun *r = &runs[i];
		bool isnull = false;
		r->runid = spi::Int64(t, desc, 1);
		r->jobid = spi::Int64(t, desc, 2);
		r->job_name = spi::Text(t, desc, 3, mcxt);
		r->command = spi::Text(t, desc, 4, mcxt);
		r->database = spi::Text(t, desc, 5, mcxt);
		r->username = spi::Text(t, desc, 6, mcxt);
		r->roleoid = spi::ObjectId(t, desc, 7);
		r->fire_at = DatumGetTimestampTz(SPI_getbinval(t, desc, 8, &isnull));
		r->nominal_at = DatumGetTimestampTz(SPI_getbinval(t, desc, 9, &isnull));
		r->applied_offset = spi::Int32(t, desc, 10);
		r->stagger_enabled = DatumGetBool(SPI_getbinval(t, desc, 11, &isnull));
		r->effective_schedule = spi::Text(t, desc, 12, mcxt);
		r->kind = DatumGetBool(SPI_getbinval(t, desc, 13, &isnull)) ? kDueReboot : kDueRun;
		r->overlap = spi::Int32(t, desc, 14);
		r->timeout_ms = spi::Int32(t, desc, 15);
		r->exclusive_group = spi::Text(t, desc, 16, mcxt);
		r->group_policy = spi::Int32(t, desc, 17);
		r->attempt = 1;
	}
	return runs;
}

bool
ReadScheduledUntil(TimestampTz *until)
{
	bool isnull = true;
	if (SPI_execute("SELECT scheduled_until FROM job_stagger.scheduler_state", true, 1) != SPI_OK_SELECT)
		elog(ERROR, "job_stagger: could not read job_stagger.scheduler_state");
	if (SPI_processed == 0)
		return false;
	Datum d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		return false;
	*until = DatumGetTimestampTz(d);
	return true;
}

void
WriteScheduledUntil(TimestampTz until)
{
	Oid types[2] = {TIMESTAMPTZOID, INT4OID};
	Datum values[2] = {TimestampTzGetDatum(until), Int32GetDatum(MyProcPid)};
	const char *sql = "INSERT INTO job_stagger.scheduler_state AS s (singleton, scheduled_until, launcher_pid)"
	                  " VALUES (true, $1, $2) ON CONFLICT (singleton) DO UPDATE"
	                  " SET scheduled_until = GREATEST(s.scheduled_until, $1), launcher_pid = $2";
	Execute(sql, 2, types, values, nullptr, SPI_OK_INSERT);
}

/*
 * Checks the job's role (by OID: a role created later under the same name is
 * another role) exists, may log in and connect: the job worker would
 * otherwise die with a FATAL error.
 */
static bool
CheckRole(DueRun *run, MemoryContext mcxt, char **error)
{
	HeapTuple tuple = SearchSysCache1(AUTHOID, ObjectIdGetDatum(run->roleoid));
	if (!HeapTupleIsValid(tuple)) {
		run->role_dropped = true;
		*error = MemoryContextStrdup(
		    mcxt, psprintf("role \"%s\" (OID %u) no longer exists: the job was deactivated (a superuser can give it "
		                   "to another role with stagger_alter_job(" INT64_FORMAT ", username => 'role_name', "
		                   "active => true))",
		                   run->username, run->roleoid, run->jobid));
		return false;
	}
	Form_pg_authid role = (Form_pg_authid)GETSTRUCT(tuple);
	bool can_login = role->rolcanlogin;
	char *name = pstrdup(NameStr(role->rolname));
	ReleaseSysCache(tuple);
	if (!can_login) {
		*error = MemoryContextStrdup(
		    mcxt, psprintf("role \"%s\" is not permitted to log in (job runs connect as their role)", name));
		return false;
	}
	if (pg_database_aclcheck(run->dboid, run->roleoid, ACL_CONNECT) != ACLCHECK_OK) {
		*error = MemoryContextStrdup(
		    mcxt, psprintf("role \"%s\" has no CONNECT privilege on database \"%s\"", name, run->database));
		return false;
	}
	return true;
}

bool
ResolveTarget(DueRun *run, MemoryContext mcxt, char **error)
{
	run->dboid = get_database_oid(run->database, true);
	if (!OidIsValid(run->dboid)) {
		*error = MemoryContextStrdup(mcxt, psprintf("database \"%s\" does not exist", run->database));
		return false;
	}
	HeapTuple tuple = SearchSysCache1(DATABASEOID, ObjectIdGetDatum(run->dboid));
	if (HeapTupleIsValid(tuple)) {
		bool allow = ((Form_pg_database)GETSTRUCT(tuple))->datallowconn;
		ReleaseSysCache(tuple);
		if (!allow) {
			*error = MemoryContextStrdup(mcxt, psprintf("database \"%s\" does not allow connections", run->database));
			return false;
		}
	}
	return CheckRole(run, mcxt, error);
}

namespace {

/*
 * Inserts a row of `run` with the given status: a new row (runid from the
 * sequence, ended_at now when final) when runid is 0, else the row of a run
 * whose row is gone, written again with that runid and the times the worker
 * reported.
 */
int64
InsertRow(const DueRun *run, int64 runid, const char *status, const char *message, TimestampTz started_at,
          TimestampTz ended_at, int pid)
{
	constexpr int kArgs = 21; /* and $22, start_delay, when the run was delayed */
	Oid types[kArgs + 1] = {INT8OID, TEXTOID,        TEXTOID,        TEXTOID,    TEXTOID,        TEXTOID,
	                        TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID, BOOLOID,    INT4OID,        TEXTOID,
	                        TEXTOID, BOOLOID,        OIDOID,         INT8OID,    TIMESTAMPTZOID, TIMESTAMPTZOID,
	                        INT4OID, TEXTOID,        INT4OID,        INTERVALOID};
	Datum values[kArgs + 1];
	char nulls[kArgs + 2];
	memset(nulls, ' ', kArgs + 1);
	nulls[kArgs + 1] = '\0';
	bool terminal = strcmp(status, "starting") != 0 && strcmp(status, "running") != 0;
	values[0] = Int64GetDatum(run->jobid);
	values[1] = TextOrNull(run->job_name, nulls, 1);
	values[2] = TextOrNull(run->username, nulls, 2);
	values[3] = TextOrNull(run->database, nulls, 3);
	values[4] = TextOrNull(run->command, nulls, 4);
	values[5] = CStringGetTextDatum(status);
	values[6] = TextOrNull(message, nulls, 6);
	values[7] = TimestampTzGetDatum(run->fire_at);
	values[8] = TimestampTzGetDatum(run->nominal_at);
	values[9] = BoolGetDatum(run->stagger_enabled);
	values[10] = Int32GetDatum(run->applied_offset);
	values[11] = TextOrNull(run->effective_schedule, nulls, 11);
	values[12] = CStringGetTextDatum(run->kind == kDueReboot   ? "reboot"
	                                 : run->kind == kDueManual ? "manual"
	                                 : run->kind == kDueRetry  ? "retry"
	                                                           : "schedule");
	values[13] = BoolGetDatum(terminal);
	values[14] = ObjectIdGetDatum(run->roleoid);
	values[15] = Int64GetDatum(runid);
	nulls[15] = runid == 0 ? 'n' : ' ';
	values[16] = TimeOrNull(started_at, nulls, 16);
	values[17] = TimeOrNull(ended_at, nulls, 17);
	values[18] = PidOrNull(pid, nulls, 18);
	bool grouped = run->exclusive_group != nullptr && run->exclusive_group[0] != '\0';
	values[19] = TextOrNull(grouped ? run->exclusive_group : nullptr, nulls, 19);
	values[20] = Int32GetDatum(Max(run->attempt, 1));
	/* start_delay only when smoothing delayed the run */
	Interval delay = {};
	delay.time = run->start_delay_us;
	values[21] = IntervalPGetDatum(&delay);
	bool delayed = run->start_delay_us > 0;
	char *sql = psprintf(
	    "INSERT INTO job_stagger.job_run_details (runid, jobid, job_name, username, database, command,"
	    " status, return_message, scheduled_at, nominal_at, stagger_enabled, offset_seconds,"
	    " effective_schedule, triggered_by, started_at, ended_at, pid, roleid, exclusive_group, attempt%s)"
	    " VALUES (COALESCE($16, pg_catalog.nextval('job_stagger.job_run_details_runid_seq'::pg_catalog.regclass)),"
	    " $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $17,"
	    " COALESCE($18, CASE WHEN $14 THEN pg_catalog.clock_timestamp() END), $19, $15, $20, $21%s) RETURNING runid",
	    delayed ? ", start_delay" : "", delayed ? ", $22" : "");
	Execute(sql, delayed ? kArgs + 1 : kArgs, types, values, nulls, SPI_OK_INSERT_RETURNING);
	return spi::Int64(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
}

} // namespace

void
InsertRun(DueRun *run, const char *status, const char *message)
{
	run->runid = InsertRow(run, 0, status, message, 0, 0, 0);
}

void
ReinsertRun(const DueRun *run, int64 runid, const char *status, const char *message, TimestampTz started_at,
            TimestampTz ended_at, int pid)
{
	(void)InsertRow(run, runid, status, message, started_at, ended_at, pid);
}

void
ReinsertUnknownRun(int64 runid, int64 jobid, TimestampTz fire_at, const char *job_name, const char *status,
                   const char *message, TimestampTz started_at, TimestampTz ended_at, int pid)
{
	constexpr int kArgs = 9;
	Oid types[kArgs] = {INT8OID, INT8OID,        TIMESTAMPTZOID, TEXTOID, TEXTOID,
	                    TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID, INT4OID};
	Datum values[kArgs];
	char nulls[kArgs + 1];
	memset(nulls, ' ', kArgs);
	nulls[kArgs] = '\0';
	values[0] = Int64GetDatum(runid);
	values[1] = Int64GetDatum(jobid);
	values[2] = TimestampTzGetDatum(fire_at);
	values[3] = TextOrNull(job_name, nulls, 3);
	values[4] = CStringGetTextDatum(status);
	values[5] = TextOrNull(message, nulls, 5);
	values[6] = TimeOrNull(started_at, nulls, 6);
	values[7] = TimeOrNull(ended_at, nulls, 7);
	values[8] = PidOrNull(pid, nulls, 8);
	/* What the launcher did not keep (a run adopted from a previous launcher) comes from the job as it is now. */
	const char *sql =
	    "INSERT INTO job_stagger.job_run_details (runid, jobid, job_name, username, database, command,"
	    " status, return_message, scheduled_at, nominal_at, stagger_enabled, offset_seconds,"
	    " effective_schedule, triggered_by, started_at, ended_at, pid, roleid, exclusive_group)"
	    " SELECT $1, $2, COALESCE(j.job_name, $4, ''), COALESCE(j.username, ''), COALESCE(j.database, ''),"
	    " COALESCE(j.command, ''), $5, $6, $3, $3, false, 0, COALESCE(j.schedule, ''), 'schedule', $7, $8,"
	    " $9, COALESCE(j.roleid, 0), j.exclusive_group"
	    " FROM (SELECT) AS one LEFT JOIN job_stagger.jobs j ON j.jobid OPERATOR(pg_catalog.=) $2";
	Execute(sql, kArgs, types, values, nulls, SPI_OK_INSERT);
}

bool
UpdateRunStarted(int64 runid, TimestampTz started_at, int pid, uint64 command_xid)
{
	Oid types[4] = {INT8OID, TIMESTAMPTZOID, INT4OID, XID8OID};
	char nulls[5] = "    ";
	Datum values[4] = {Int64GetDatum(runid), TimestampTzGetDatum(started_at), Int32GetDatum(pid),
	                   XidOrNull(command_xid, nulls, 3)};
	const char *sql = "UPDATE job_stagger.job_run_details SET status = 'running', started_at = $2, pid = $3,"
	                  " command_xid = COALESCE($4, command_xid)"
	                  " WHERE runid OPERATOR(pg_catalog.=) $1"
	                  " AND status OPERATOR(pg_catalog.=) ANY ('{starting,running}'::pg_catalog.text[])";
	Execute(sql, 4, types, values, nulls, SPI_OK_UPDATE);
	if (SPI_processed > 0)
		return true;
	Execute("SELECT 1 FROM job_stagger.job_run_details WHERE runid OPERATOR(pg_catalog.=) $1", 1, types, values,
	        nullptr, SPI_OK_SELECT);
	return SPI_processed > 0;
}

bool
UpdateRunFinished(int64 runid, const char *status, const char *message, TimestampTz started_at, TimestampTz ended_at,
                  int pid, uint64 command_xid)
{
	Oid types[7] = {INT8OID, TEXTOID, TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID, INT4OID, XID8OID};
	Datum values[7];
	char nulls[8] = "       ";
	values[0] = Int64GetDatum(runid);
	values[1] = CStringGetTextDatum(status);
	values[2] = TextOrNull(message, nulls, 2);
	values[3] = TimeOrNull(started_at, nulls, 3);
	values[4] = TimestampTzGetDatum(ended_at);
	values[5] = PidOrNull(pid, nulls, 5);
	values[6] = XidOrNull(command_xid, nulls, 6);
	const char *sql = "UPDATE job_stagger.job_run_details SET status = $2, return_message = $3,"
	                  " started_at = COALESCE($4, started_at), ended_at = $5, pid = COALESCE($6, pid),"
	                  " command_xid = COALESCE($7, command_xid)"
	                  " WHERE runid OPERATOR(pg_catalog.=) $1";
	Execute(sql, 7, types, values, nulls, SPI_OK_UPDATE);
	return SPI_processed > 0;
}

void
DeleteRun(int64 runid)
{
	Oid types[1] = {INT8OID};
	Datum values[1] = {Int64GetDatum(runid)};
	Execute("DELETE FROM job_stagger.job_run_details WHERE runid OPERATOR(pg_catalog.=) $1", 1, types, values, nullptr,
	        SPI_OK_DELETE);
}

void
InsertPoolSample(PoolSample *sample)
{
	Oid types[6] = {BOOLOID, INT4OID, INT4OID, INT4OID, FLOAT8OID, INT4OID};
	Datum values[6] = {BoolGetDatum(sample->stagger_enabled),    Int32GetDatum(sample->running_jobs),
	                   Int32GetDatum(sample->peak_running_jobs), Int32GetDatum(sample->max_running_jobs),
	                   Float8GetDatum(sample->job_pool_pct),     Int32GetDatum(sample->max_connections)};
	const char *sql = "INSERT INTO job_stagger.pool_samples (sampled_at, stagger_enabled, running_jobs,"
	                  " peak_running_jobs, max_running_jobs, job_pool_pct, client_backends, max_connections,"
	                  " conn_pool_pct)"
	                  " SELECT pg_catalog.now(), $1, $2, $3, $4, pg_catalog.round($5::pg_catalog.numeric, 1), c.n, $6,"
	                  " pg_catalog.round((100.0 OPERATOR(pg_catalog.*) c.n) OPERATOR(pg_catalog./) $6, 1)"
	                  " FROM (SELECT pg_catalog.count(*)::pg_catalog.int4 AS n FROM pg_catalog.pg_stat_activity"
	                  " WHERE backend_type OPERATOR(pg_catalog.=) 'client backend') c"
	                  " RETURNING client_backends, conn_pool_pct::pg_catalog.float8";
	Execute(sql, 6, types, values, nullptr, SPI_OK_INSERT_RETURNING);
	bool isnull = false;
	sample->client_backends = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	sample->conn_pool_pct = DatumGetFloat8(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
}

/*
 * Deletes one batch of rows of `table` whose `column` is older than the
 * retention. Rows someone holds a lock on are skipped (SKIP LOCKED): the
 * purge never waits for a row lock, and takes them in a later batch.
 */
static int
PurgeTable(const char *table, const char *key, const char *column, const char *extra, int retention_s, int batch)
{
	Oid types[2] = {INT4OID, INT4OID};
	Datum values[2] = {Int32GetDatum(retention_s), Int32GetDatum(batch)};
	char *sql = psprintf("DELETE FROM %s WHERE %s OPERATOR(pg_catalog.=) ANY (SELECT %s FROM %s"
	                     " WHERE %s OPERATOR(pg_catalog.<)"
	                     " (pg_catalog.now() OPERATOR(pg_catalog.-) pg_catalog.make_interval(secs => $1))%s"
	                     " ORDER BY %s LIMIT $2 FOR UPDATE SKIP LOCKED)",
	                     table, key, key, table, column, extra, column);
	Execute(sql, 2, types, values, nullptr, SPI_OK_DELETE);
	return static_cast<int>(SPI_processed);
}

/* Has job_stagger.<table> this column? (The library may be newer than the installed extension version.) */
static bool
ColumnExists(const char *table, const char *column)
{
	Oid relid = get_relname_relid(table, get_namespace_oid("job_stagger", false));
	return OidIsValid(relid) && get_attnum(relid, column) != InvalidAttrNumber;
}

/*
 * Deletes one batch of finished runs of jobs with a history_limit beyond
 * their newest history_limit finished rows (newest by scheduled_at, then
 * runid), among the next kTrimJobs such jobs after *cursor (by jobid): the
 * cost of a slice is bounded however many jobs have a limit. Per job, one
 * index probe finds the oldest row to keep (the history_limit-th newest);
 * only rows older than it are locked, and rows someone holds a lock on are
 * skipped. A 'starting' or 'running' row is never deleted and does not count.
 */
int
TrimJobHistories(int batch, int64 *cursor, bool *more)
{
	constexpr int kTrimJobs = 64;
	*more = false;
	if (!ColumnExists("jobs", "history_limit"))
		return 0;
	Oid types[3] = {INT8OID, INT4OID, INT8OID};
	Datum values[3] = {Int64GetDatum(*cursor), Int32GetDatum(kTrimJobs), 0};
	Execute("SELECT jobid FROM job_stagger.jobs WHERE history_limit IS NOT NULL AND jobid OPERATOR(pg_catalog.>) $1"
	        " ORDER BY jobid LIMIT $2",
	        2, types, values, nullptr, SPI_OK_SELECT);
	int njobs = static_cast<int>(SPI_processed);
	if (njobs == 0) {
		*cursor = 0;
		return 0;
	}
	int64 last = spi::Int64(SPI_tuptable->vals[njobs - 1], SPI_tuptable->tupdesc, 1);
	values[1] = Int32GetDatum(batch);
	values[2] = Int64GetDatum(last);
	const char *sql =
	    "DELETE FROM job_stagger.job_run_details WHERE runid OPERATOR(pg_catalog.=) ANY (SELECT x.runid"
	    " FROM job_stagger.jobs j"
	    " CROSS JOIN LATERAL (SELECT k.scheduled_at, k.runid FROM job_stagger.job_run_details k"
	    " WHERE k.jobid OPERATOR(pg_catalog.=) j.jobid"
	    " AND k.status OPERATOR(pg_catalog.<>) ALL ('{starting,running}'::pg_catalog.text[])"
	    " ORDER BY k.scheduled_at DESC, k.runid DESC OFFSET j.history_limit OPERATOR(pg_catalog.-) 1 LIMIT 1) keep"
	    " CROSS JOIN LATERAL (SELECT d.runid FROM job_stagger.job_run_details d"
	    " WHERE d.jobid OPERATOR(pg_catalog.=) j.jobid"
	    " AND d.status OPERATOR(pg_catalog.<>) ALL ('{starting,running}'::pg_catalog.text[])"
	    " AND d.scheduled_at OPERATOR(pg_catalog.<=) keep.scheduled_at"
	    " AND (d.scheduled_at OPERATOR(pg_catalog.<) keep.scheduled_at OR d.runid OPERATOR(pg_catalog.<) keep.runid)"
	    " ORDER BY d.scheduled_at LIMIT $2 FOR UPDATE OF d SKIP LOCKED) x"
	    " WHERE j.history_limit IS NOT NULL AND j.jobid OPERATOR(pg_catalog.>) $1"
	    " AND j.jobid OPERATOR(pg_catalog.<=) $3 LIMIT $2)";
	Execute(sql, 3, types, values, nullptr, SPI_OK_DELETE);
	int deleted = static_cast<int>(SPI_processed);
	if (deleted >= batch) {
		*more = true; /* these jobs again */
		return deleted;
	}
	*more = njobs == kTrimJobs;
	*cursor = *more ? last : 0;
	return deleted;
}

int
PurgeHistory(int retention_s, int batch)
{
	if (retention_s <= 0)
		return 0;
	int most = PurgeTable("job_stagger.job_run_details", "runid", "scheduled_at",
	                      " AND status OPERATOR(pg_catalog.<>) ALL ('{starting,running}'::pg_catalog.text[])",
	                      retention_s, batch);
	most = Max(most, PurgeTable("job_stagger.pool_samples", "sample_id", "sampled_at", "", retention_s, batch));
	if (OidIsValid(get_relname_relid("kpi_snapshots", get_namespace_oid("job_stagger", false))))
		most = Max(most, PurgeTable("job_stagger.kpi_snapshots", "snapshot_id", "taken_at", "", retention_s, batch));
	return most;
}

/* Is the function (by regprocedure text) there? */
static bool
FunctionExists(const char *signature)
{
	Oid types[1] = {TEXTOID};
	Datum values[1] = {CStringGetTextDatum(signature)};
	Execute("SELECT pg_catalog.to_regprocedure($1) IS NOT NULL", 1, types, values, nullptr, SPI_OK_SELECT);
	bool isnull = false;
	return DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

void
TakeKpiSnapshot(int interval_s)
{
	if (!FunctionExists("pg_catalog.stagger_kpi_snapshot(pg_catalog.interval)"))
		return;
	Oid types[1] = {INT4OID};
	Datum values[1] = {Int32GetDatum(interval_s)};
	Execute("SELECT pg_catalog.stagger_kpi_snapshot(pg_catalog.make_interval(secs => $1))", 1, types, values, nullptr,
	        SPI_OK_SELECT);
}

bool
RollbackFunctionsInstalled()
{
	return FunctionExists("pg_catalog.stagger_rollback_triggers(pg_catalog.interval)");
}

char *
FiredRollbackTriggers(const char *window)
{
	Oid types[1] = {TEXTOID};
	Datum values[1] = {CStringGetTextDatum(window)};
	Execute("SELECT pg_catalog.string_agg(pg_catalog.format('%s (measured %s, threshold %s)', trigger_name, measured,"
	        " threshold), '; ') FROM pg_catalog.stagger_rollback_triggers($1::pg_catalog.interval) WHERE fired",
	        1, types, values, nullptr, SPI_OK_SELECT);
	char *reason = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	return reason != nullptr ? pstrdup(reason) : nullptr;
}

} // namespace js::worker
