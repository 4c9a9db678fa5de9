/*
 * The validation trigger of job_stagger.jobs (job_stagger.jobs_validate) and
 * stagger_schedule() in C. Both were PL/pgSQL: per job written they ran
 * several catalog queries, and every new transaction planned their
 * statements again, which dominated bulk scheduling. The checks, their order,
 * messages, SQLSTATEs, details and hints are those of the PL/pgSQL versions
 * (sql/job_stagger--0.4--0.5.sql); catalog facts come from the syscache.
 *
 * No C++ object with a destructor lives in these frames: most calls here may
 * raise a PostgreSQL error (longjmp).
 */
#include "pg/bridge.hpp"
#include "pg/guc.hpp"
#include "pg/job_cache.hpp"
#include "pg/sql_cron.hpp"

extern "C" {
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_database.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
}

#include "pg/restored_row.hpp"

namespace {

/* The columns the trigger reads or writes, by attribute number (1-based). */
struct JobColumns {
	int jobid, job_name, schedule, command, database, username, active, overlap, group_policy, exclusive_group, roleid,
	    offset_seconds, owner, created_at, updated_at, max_retries, retry_delay, timezone, history_limit;
};

int
Column(TupleDesc desc, const char *name)
{
	int attnum = SPI_fnumber(desc, name);
	if (attnum <= 0)
		ereport(ERROR, (errcode(ERRCODE_UNDEFINED_COLUMN),
		                errmsg("job_stagger.jobs_validate(): column \"%s\" of job_stagger.jobs not found", name)));
	return attnum;
}

JobColumns
FindColumns(TupleDesc desc)
{
	JobColumns c;
	c.jobid = Column(desc, "jobid");
	c.job_name = Column(desc, "job_name");
	c.schedule = Column(desc, "schedule");
	c.command = Column(desc, "command");
	c.database = Column(desc, "database");
	c.username = Column(desc, "username");
	c.active = Column(desc, "active");
	c.overlap = Column(desc, "overlap");
	c.group_policy = Column(desc, "group_policy");
	c.exclusive_group = Column(desc, "exclusive_group");
	c.roleid = Column(desc, "roleid");
	c.offset_seconds = Column(desc, "offset_seconds");
	c.owner = Column(desc, "owner");
	c.created_at = Column(desc, "created_at");
	c.updated_at = Column(desc, "updated_at");
	c.max_retries = Column(desc, "max_retries");
	c.retry_delay = Column(desc, "retry_delay");
	c.timezone = Column(desc, "timezone");
	c.history_limit = Column(desc, "history_limit");
	return c;
}

/* A row as arrays indexed by attribute number - 1. */
struct Row {
	Datum *values;
	bool *nulls;

	bool
	Null(int attnum) const
	{
		return nulls[attnum - 1];
	}
	Datum
	Get(int attnum) const
	{
		return values[attnum - 1];
	}
	text *
	Text(int attnum) const
	{
		return DatumGetTextPP(values[attnum - 1]);
	}
	char *
	Cstring(int attnum) const
	{
		return text_to_cstring(Text(attnum));
	}
	void
	Set(int attnum, Datum value)
	{
		values[attnum - 1] = value;
		nulls[attnum - 1] = false;
	}
};

Row
Deform(HeapTuple tuple, TupleDesc desc)
{
	Row row;
	row.values = static_cast<Datum *>(palloc(sizeof(Datum) * desc->natts));
	row.nulls = static_cast<bool *>(palloc(sizeof(bool) * desc->natts));
	heap_deform_tuple(tuple, desc, row.values, row.nulls);
	return row;
}

/* IS DISTINCT FROM for text (byte equality, as text's = with a deterministic collation). */
bool
TextDistinct(const Row &a, const Row &b, int attnum)
{
	if (a.Null(attnum) || b.Null(attnum))
		return a.Null(attnum) != b.Null(attnum);
	text *x = a.Text(attnum);
	text *y = b.Text(attnum);
	size_t len = VARSIZE_ANY_EXHDR(x);
	return len != VARSIZE_ANY_EXHDR(y) || memcmp(VARDATA_ANY(x), VARDATA_ANY(y), len) != 0;
}

bool
TextIs(text *t, const char *literal)
{
	size_t len = strlen(literal);
	return VARSIZE_ANY_EXHDR(t) == len && memcmp(VARDATA_ANY(t), literal, len) == 0;
}

/*
 * value ~ '\S': any printable ASCII character other than the space is not
 * white space in any locale; otherwise the regular expression decides, as
 * the PL/pgSQL check did (which characters are spaces depends on the locale).
 */
bool
HasNonSpace(text *t)
{
	const unsigned char *p = reinterpret_cast<const unsigned char *>(VARDATA_ANY(t));
	size_t len = VARSIZE_ANY_EXHDR(t);
	for (size_t i = 0; i < len; i++)
		if (p[i] > 0x20 && p[i] < 0x7f)
			return true;
	return DatumGetBool(
	    DirectFunctionCall2Coll(textregexeq, DEFAULT_COLLATION_OID, PointerGetDatum(t), CStringGetTextDatum("\\S")));
}

/* value ~ '^[A-Za-z0-9_.:-]+$' (a regular expression's ranges are by character code, so bytes decide). */
bool
IsGroupName(text *t)
{
	const char *p = VARDATA_ANY(t);
	size_t len = VARSIZE_ANY_EXHDR(t);
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = p[i];
		bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
		          c == ':' || c == '-';
		if (!ok)
			return false;
	}
	return true;
}

/* role_id(): the OID of the role of that name, InvalidOid if there is none. */
Oid
RoleId(text *name)
{
	if (VARSIZE_ANY_EXHDR(name) >= NAMEDATALEN) /* no role name is that long */
		return InvalidOid;
	return get_role_oid(text_to_cstring(name), true);
}

/* The database of that name (pg_database.datname = name), InvalidOid if there is none. */
Oid
DatabaseId(text *name)
{
	if (VARSIZE_ANY_EXHDR(name) >= NAMEDATALEN) /* no database name is that long */
		return InvalidOid;
	return get_database_oid(text_to_cstring(name), true);
}

/* ERROR unless this is the metadata database of a preloaded job_stagger (the first checks of the trigger). */
void
CheckMetadataDatabase()
{
	const char *metadata_db = GetConfigOption("job_stagger.database_name", true, false);
	if (metadata_db == nullptr)
		ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
		                errmsg("job_stagger is not loaded through shared_preload_libraries, so no scheduler would "
		                       "run this job"),
		                errhint("Add job_stagger to shared_preload_libraries in postgresql.conf and restart the "
		                        "server.")));
	char *current = get_database_name(MyDatabaseId);
	if (current == nullptr || strcmp(current, metadata_db) != 0)
		ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
		                errmsg("jobs can only be scheduled in database \"%s\"", metadata_db),
		                errhint("Connect to database \"%s\" (job_stagger.database_name); a job can still run in this "
		                        "database through its database argument.",
		                        metadata_db)));
}

/* The NOT NULL checks, in the order of the columns in the table. */
void
CheckNotNull(const Row &row, const JobColumns &c)
{
	struct {
		int attnum;
		const char *name;
	} const columns[] = {{c.job_name, "job_name"},       {c.schedule, "schedule"},
	                     {c.command, "command"},         {c.database, "database"},
	                     {c.username, "username"},       {c.active, "active"},
	                     {c.overlap, "overlap"},         {c.group_policy, "group_policy"},
	                     {c.max_retries, "max_retries"}, {c.retry_delay, "retry_delay"}};
	for (const auto &col : columns) {
		if (!row.Null(col.attnum))
			continue;
		if (col.attnum == c.schedule)
			ereport(ERROR, (errcode(ERRCODE_NOT_NULL_VIOLATION),
			                errmsg("null value in column \"schedule\" of job_stagger.jobs"),
			                err_generic_string(PG_DIAG_COLUMN_NAME, col.name),
			                errhint("Give a cron schedule, for example '*/5 * * * *'.")));
		ereport(ERROR, (errcode(ERRCODE_NOT_NULL_VIOLATION),
		                errmsg("null value in column \"%s\" of job_stagger.jobs", col.name),
		                err_generic_string(PG_DIAG_COLUMN_NAME, col.name)));
	}
}

/* An IANA zone name that core::TimeZone can load; a long or unknown name is refused without echoing all of it. */
void
CheckTimeZoneName(text *zone)
{
	const char *p = VARDATA_ANY(zone);
	size_t len = VARSIZE_ANY_EXHDR(zone);
	const char *hint = "Use an IANA time zone name such as 'UTC', 'Europe/Berlin' or 'Asia/Kolkata'; NULL (or '' in "
	                   "stagger_alter_job) follows job_stagger.timezone.";
	/* no path: cctz would read any file named by "../" or "/" (it fails to parse it, but should not read it) */
	bool path = len > 0 && (p[0] == '/' || p[0] == '.' || memmem(p, len, "..", 2) != nullptr);
	if (len == 0 || len > 64 || memchr(p, '\0', len) != nullptr || path) {
		bool cut = len > 32;
		int shown = cut ? pg_mbcharcliplen(p, (int)len, 32) : (int)len;
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
		                errmsg("invalid time zone \"%.*s%s\"", shown, p, cut ? "..." : ""),
		                path ? errdetail("A time zone name is not a file path.")
		                     : errdetail("A time zone name is 1 to 64 bytes long, got %d bytes.", (int)len),
		                errhint("%s", hint)));
	}
	char *name = text_to_cstring(zone);
	bool known = false;
	js::pg::CppError err;
	if (!js::pg::TryCpp([&] { known = js::core::TimeZone::Load(name).has_value(); }, &err))
		ereport(ERROR,
		        (errcode(ERRCODE_INTERNAL_ERROR), errmsg("could not load time zone \"%s\": %s", name, err.message)));
	if (!known)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("unknown time zone \"%s\"", name),
		                errdetail("\"%s\" is not a known IANA time zone.", name), errhint("%s", hint)));
}

/* max_retries, retry_delay, timezone and history_limit (0.7). */
void
CheckJobSettings(const Row &row, const JobColumns &c)
{
	int32 retries = DatumGetInt32(row.Get(c.max_retries));
	if (retries < 0 || retries > 100)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
		                errmsg("max_retries must be between 0 and 100, got %d", retries),
		                errhint("0 means a failed run is not tried again.")));
	Interval *delay = DatumGetIntervalP(row.Get(c.retry_delay));
	/* the bounds as values, not parsed for every row (interval comparison normalises days and months) */
	static Interval lo_value = {1000000, 0, 0}; /* 1 second */
	static Interval hi_value = {0, 1, 0};       /* 1 day */
	Interval *lo = &lo_value;
	Interval *hi = &hi_value;
	if (DatumGetBool(DirectFunctionCall2(interval_lt, IntervalPGetDatum(delay), IntervalPGetDatum(lo))) ||
	    DatumGetBool(DirectFunctionCall2(interval_gt, IntervalPGetDatum(delay), IntervalPGetDatum(hi))))
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
		                errmsg("retry_delay must be between 1 second and 1 day, got %s",
		                       DatumGetCString(DirectFunctionCall1(interval_out, IntervalPGetDatum(delay))))));
	if (!row.Null(c.timezone))
		CheckTimeZoneName(row.Text(c.timezone));
	if (!row.Null(c.history_limit) && DatumGetInt32(row.Get(c.history_limit)) < 1)
		ereport(ERROR,
		        (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
		         errmsg("history_limit must be at least 1, got %d", DatumGetInt32(row.Get(c.history_limit))),
		         errhint("NULL (or 0 in stagger_alter_job) keeps every run up to job_stagger.history_retention.")));
}

/* The checks of single values: name, command, exclusive group, policy. */
void
CheckValues(const Row &row, const JobColumns &c)
{
	if (!HasNonSpace(row.Text(c.job_name)))
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("job name must not be empty")));
	if (!HasNonSpace(row.Text(c.command)))
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
		                errmsg("command of job \"%s\" must not be empty", row.Cstring(c.job_name))));
	/* exclusive group: a short name, never echoed when it is long (it may be any size) */
	if (!row.Null(c.exclusive_group)) {
		text *group = row.Text(c.exclusive_group);
		size_t len = VARSIZE_ANY_EXHDR(group);
		if (len < 1 || len > 63)
			ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			                errmsg("exclusive group name must be 1 to 63 bytes long, got %d bytes", (int)len),
			                errhint("Use up to 63 ASCII letters, digits, \"_\", \".\", \":\" or \"-\". NULL means no "
			                        "group (stagger_alter_job(..., exclusive_group => '') leaves the group).")));
		if (!IsGroupName(group))
			ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			                errmsg("invalid exclusive group name \"%s\"", text_to_cstring(group)),
			                errdetail("A group name may contain only ASCII letters, digits, \"_\", \".\", \":\" and "
			                          "\"-\".")));
	}
	text *policy = row.Text(c.group_policy);
	if (!TextIs(policy, "skip") && !TextIs(policy, "wait")) {
		const char *p = VARDATA_ANY(policy);
		int len = VARSIZE_ANY_EXHDR(policy);
		/* at most 32 characters shown: left(policy, 32) || '...' */
		bool cut = len > 32;
		int shown = cut ? pg_mbcharcliplen(p, len, 32) : len;
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
		                errmsg("group_policy must be skip or wait, got \"%.*s%s\"", shown, p, cut ? "..." : "")));
	}
	CheckJobSettings(row, c);
}

/*
 * The role, by OID: resolved from username when the job is created, given to
 * another role, or (by a superuser) reactivated after its role was dropped
 * (the scheduler then set roleid to 0); kept otherwise, except that a
 * superuser may set it to 0.
 */
void
ResolveRole(Row &row, const Row *old, const JobColumns &c, Oid me, bool superuser)
{
	bool reactivated = old != nullptr && DatumGetObjectId(old->Get(c.roleid)) == InvalidOid &&
	                   DatumGetBool(row.Get(c.active)) && !DatumGetBool(old->Get(c.active));
	if (old == nullptr || TextDistinct(row, *old, c.username) || reactivated) {
		Oid role = RoleId(row.Text(c.username));
		row.Set(c.roleid, ObjectIdGetDatum(role));
		if (role != me && !superuser)
			ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			                errmsg("permission denied to schedule a job as role \"%s\"", row.Cstring(c.username)),
			                errhint("Only superusers can schedule or move jobs to run as another role.")));
	} else if (!row.Null(c.roleid) && DatumGetObjectId(row.Get(c.roleid)) == InvalidOid && superuser) {
		/* a superuser (the scheduler) detaches the job of a dropped role */
	} else {
		row.values[c.roleid - 1] = old->Get(c.roleid);
		row.nulls[c.roleid - 1] = old->Null(c.roleid);
	}
}

/* The role and database can run the job. */
void
CheckRoleAndDatabase(const Row &row, bool update, const JobColumns &c)
{
	Oid role = DatumGetObjectId(row.Get(c.roleid));
	HeapTuple authid = SearchSysCache1(AUTHOID, ObjectIdGetDatum(role));
	if (!HeapTupleIsValid(authid)) {
		if (update)
			ereport(ERROR,
			        (errcode(ERRCODE_UNDEFINED_OBJECT), errmsg("role \"%s\" does not exist", row.Cstring(c.username)),
			         errhint("The role this job ran as was dropped. A superuser can give the job to an existing "
			                 "role: stagger_alter_job(jobid, username => 'role', active => true).")));
		ereport(ERROR,
		        (errcode(ERRCODE_UNDEFINED_OBJECT), errmsg("role \"%s\" does not exist", row.Cstring(c.username))));
	}
	bool canlogin = reinterpret_cast<Form_pg_authid>(GETSTRUCT(authid))->rolcanlogin;
	ReleaseSysCache(authid);
	if (!canlogin)
		ereport(ERROR,
		        (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("role \"%s\" cannot log in", row.Cstring(c.username)),
		         errhint("Job runs connect as their role, which needs the LOGIN attribute.")));

	Oid database = DatabaseId(row.Text(c.database));
	HeapTuple dbtuple =
	    OidIsValid(database) ? SearchSysCache1(DATABASEOID, ObjectIdGetDatum(database)) : (HeapTuple) nullptr;
	if (!HeapTupleIsValid(dbtuple))
		ereport(ERROR, (errcode(ERRCODE_UNDEFINED_DATABASE),
		                errmsg("database \"%s\" does not exist", row.Cstring(c.database))));
	bool allowconn = reinterpret_cast<Form_pg_database>(GETSTRUCT(dbtuple))->datallowconn;
	ReleaseSysCache(dbtuple);
	if (!allowconn)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
		                errmsg("database \"%s\" does not allow connections", row.Cstring(c.database))));
	if (pg_database_aclcheck(database, role, ACL_CONNECT) != ACLCHECK_OK)
		ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
		                errmsg("role \"%s\" has no CONNECT privilege on database \"%s\"", row.Cstring(c.username),
		                       row.Cstring(c.database))));
}

/* Does this write need the role and database checked? (not for an inactive job detached from its dropped role) */
bool
NeedsRoleCheck(const Row &row, const Row *old, const JobColumns &c)
{
	if (old == nullptr)
		return true;
	Oid role = DatumGetObjectId(row.Get(c.roleid));
	bool active = DatumGetBool(row.Get(c.active));
	bool was_active = DatumGetBool(old->Get(c.active));
	if (row.Null(c.roleid)) /* cannot happen (ResolveRole keeps OLD's); as SQL: NULL <> 0 is not true */
		return active && (!old->Null(c.roleid) || TextDistinct(row, *old, c.database) || !was_active);
	bool role_changed = old->Null(c.roleid) || DatumGetObjectId(old->Get(c.roleid)) != role;
	return (role != InvalidOid || active) &&
	       (role_changed || TextDistinct(row, *old, c.database) || (active && !was_active));
}

const char *const kScheduleSql =
    "INSERT INTO job_stagger.jobs AS j (job_name, schedule, command, database, username, active, offset_seconds,"
    "                                   exclusive_group, group_policy, max_retries, retry_delay, timezone,"
    "                                   history_limit)"
    " VALUES ($1, $2, $3, coalesce($5, pg_catalog.current_database()), coalesce($6, CURRENT_USER),"
    "         coalesce($7, true), $4, nullif($8, ''), coalesce($9, 'skip'), coalesce($10, 0),"
    "         coalesce($11, pg_catalog.\"interval\" '1 minute'), nullif($12, ''), nullif($13, 0))"
    " ON CONFLICT (roleid, job_name) WHERE roleid OPERATOR(pg_catalog.<>) 0 DO UPDATE"
    "    SET schedule = EXCLUDED.schedule, command = EXCLUDED.command, database = EXCLUDED.database,"
    "        active = EXCLUDED.active,"
    "        offset_seconds = coalesce($4, j.offset_seconds),"
    "        offset_pinned = j.offset_pinned OR $4 IS NOT NULL,"
    "        exclusive_group = CASE WHEN $8 IS NULL THEN j.exclusive_group ELSE nullif($8, '') END,"
    "        group_policy = coalesce($9, j.group_policy),"
    "        max_retries = coalesce($10, j.max_retries),"
    "        retry_delay = coalesce($11, j.retry_delay),"
    "        timezone = CASE WHEN $12 IS NULL THEN j.timezone ELSE nullif($12, '') END,"
    "        history_limit = CASE WHEN $13 IS NULL THEN j.history_limit ELSE nullif($13, 0) END"
    " RETURNING j.jobid";

/* The plan of kScheduleSql, kept for the session (the plan cache re-plans it after DDL or for another role). */
SPIPlanPtr schedule_plan = nullptr;

} // namespace

namespace js::pg {

void
CheckTimeZone(const char *zone)
{
	CheckTimeZoneName(cstring_to_text(zone));
}

} // namespace js::pg

bool
js::pg::RestoredJobRow(bool created_null, Datum created)
{
	return !created_null && DatumGetTimestampTz(created) != GetCurrentTransactionStartTimestamp() && superuser();
}

extern "C" {

PG_FUNCTION_INFO_V1(job_stagger_jobs_validate);
PG_FUNCTION_INFO_V1(job_stagger_stagger_schedule);
PG_FUNCTION_INFO_V1(job_stagger_valid_offset);
PG_FUNCTION_INFO_V1(job_stagger_valid_overlap);
PG_FUNCTION_INFO_V1(job_stagger_valid_timeout);

/*
 * The rules of the CHECK constraints jobs_offset_seconds_check,
 * jobs_overlap_check and jobs_timeout_check as functions (STRICT: NULL passes
 * a CHECK, as before): PostgreSQL reads and plans every CHECK expression again
 * for each INSERT statement, and one call is a fraction of the expression
 * they were.
 */
/* job_stagger.valid_offset(integer): offset_seconds BETWEEN 0 AND 59 */
Datum
job_stagger_valid_offset(PG_FUNCTION_ARGS)
{
	int32 offset = PG_GETARG_INT32(0);
	PG_RETURN_BOOL(offset >= 0 && offset <= 59);
}

/* job_stagger.valid_overlap(text): overlap IN ('skip', 'queue', 'allow') */
Datum
job_stagger_valid_overlap(PG_FUNCTION_ARGS)
{
	text *overlap = PG_GETARG_TEXT_PP(0);
	PG_RETURN_BOOL(TextIs(overlap, "skip") || TextIs(overlap, "queue") || TextIs(overlap, "allow"));
}

/* job_stagger.valid_timeout(interval): timeout > interval '0' */
Datum
job_stagger_valid_timeout(PG_FUNCTION_ARGS)
{
	Interval *zero = static_cast<Interval *>(palloc0(sizeof(Interval)));
	return DirectFunctionCall2(interval_gt, PG_GETARG_DATUM(0), IntervalPGetDatum(zero));
}

/*
 * job_stagger.jobs_validate(): BEFORE INSERT OR UPDATE FOR EACH ROW on
 * job_stagger.jobs. Validates every write, through the stagger_* functions or
 * directly (the same clear errors either way, nothing written on error), sets
 * roleid, a spread offset when none is given, owner and the timestamps.
 */
Datum
job_stagger_jobs_validate(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
		                errmsg("job_stagger.jobs_validate() must be called as a trigger")));
	TriggerData *trig = reinterpret_cast<TriggerData *>(fcinfo->context);
	if (!TRIGGER_FIRED_FOR_ROW(trig->tg_event) || !TRIGGER_FIRED_BEFORE(trig->tg_event) ||
	    !(TRIGGER_FIRED_BY_INSERT(trig->tg_event) || TRIGGER_FIRED_BY_UPDATE(trig->tg_event)))
		ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
		                errmsg("job_stagger.jobs_validate() must be a BEFORE INSERT OR UPDATE row trigger")));
	bool update = TRIGGER_FIRED_BY_UPDATE(trig->tg_event);
	TupleDesc desc = RelationGetDescr(trig->tg_relation);
	JobColumns c = FindColumns(desc);
	Oid me = GetUserId();
	bool superuser = superuser_arg(me);

	Row row = Deform(update ? trig->tg_newtuple : trig->tg_trigtuple, desc);
	/*
	 * A restored row (pg_restore, or any superuser's INSERT that sets
	 * created_at, a column plain roles cannot write, to another time than
	 * its default, the transaction's start): kept as written (owner,
	 * times; roleid resolved again from username, as OIDs differ between
	 * clusters, or kept 0 for a job of a dropped role), and allowed in any
	 * database (a restored copy; jobs are scheduled only in the metadata
	 * database). Still validated.
	 */
	bool restored = !update && js::pg::RestoredJobRow(row.Null(c.created_at), row.Get(c.created_at));
	if (!restored)
		CheckMetadataDatabase();
	Row old_row = {};
	const Row *old = nullptr;
	if (update) {
		old_row = Deform(trig->tg_trigtuple, desc);
		old = &old_row;
	}
	CheckNotNull(row, c);
	CheckValues(row, c);
	if (update && (row.Null(c.jobid) != old->Null(c.jobid) ||
	               (!row.Null(c.jobid) && DatumGetInt64(row.Get(c.jobid)) != DatumGetInt64(old->Get(c.jobid)))))
		ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("the jobid of a job cannot be changed")));
	if (!update || TextDistinct(row, *old, c.schedule))
		js::pg::CheckSchedule(row.Cstring(c.schedule));
	bool detached = restored && !row.Null(c.roleid) && DatumGetObjectId(row.Get(c.roleid)) == InvalidOid &&
	                !DatumGetBool(row.Get(c.active));
	if (!detached) {
		ResolveRole(row, old, c, me, superuser);
		if (NeedsRoleCheck(row, old, c))
			CheckRoleAndDatabase(row, update, c);
	}
	if (row.Null(c.offset_seconds)) {
		/* job_stagger.spread_offset(schedule, jobid) */
		int64 exclude = row.Null(c.jobid) ? -1 : DatumGetInt64(row.Get(c.jobid));
		const char *zone = row.Null(c.timezone) ? nullptr : row.Cstring(c.timezone);
		row.Set(c.offset_seconds, Int32GetDatum(js::pg::SpreadOffset(row.Cstring(c.schedule), exclude, zone)));
	}
	Datum now = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	if (restored) {
		if (row.Null(c.owner))
			row.Set(c.owner, CStringGetTextDatum(GetUserNameFromId(me, false)));
		if (row.Null(c.updated_at))
			row.Set(c.updated_at, now);
		return PointerGetDatum(heap_form_tuple(desc, row.values, row.nulls));
	}
	if (!update) {
		row.Set(c.owner, CStringGetTextDatum(GetUserNameFromId(me, false)));
		row.Set(c.created_at, now);
	} else {
		row.values[c.owner - 1] = old->Get(c.owner);
		row.nulls[c.owner - 1] = old->Null(c.owner);
		row.values[c.created_at - 1] = old->Get(c.created_at);
		row.nulls[c.created_at - 1] = old->Null(c.created_at);
	}
	row.Set(c.updated_at, now);
	return PointerGetDatum(heap_form_tuple(desc, row.values, row.nulls));
}

/*
 * stagger_schedule(job_name, schedule, command, offset_seconds, database,
 * username, active, exclusive_group, group_policy, max_retries, retry_delay,
 * timezone, history_limit) RETURNS bigint: create a
 * job, or update the job of that name that runs as username (the same
 * INSERT ... ON CONFLICT as the PL/pgSQL version, through a kept plan).
 */
Datum
job_stagger_stagger_schedule(PG_FUNCTION_ARGS)
{
	constexpr int kArgs = 13;
	if (PG_NARGS() != kArgs)
		ereport(ERROR, (errcode(ERRCODE_INVALID_FUNCTION_DEFINITION),
		                errmsg("stagger_schedule() must be declared with %d arguments", kArgs)));
	if (PG_ARGISNULL(1))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("schedule must not be NULL")));
	if (!PG_ARGISNULL(3) && (PG_GETARG_INT32(3) < 0 || PG_GETARG_INT32(3) > 59))
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
		                errmsg("offset_seconds must be between 0 and 59, got %d", PG_GETARG_INT32(3))));

	Datum values[kArgs];
	char nulls[kArgs];
	for (int i = 0; i < kArgs; i++) {
		nulls[i] = PG_ARGISNULL(i) ? 'n' : ' ';
		values[i] = PG_ARGISNULL(i) ? (Datum)0 : PG_GETARG_DATUM(i);
	}
	SPI_connect();
	if (schedule_plan == nullptr) {
		Oid types[kArgs] = {TEXTOID, TEXTOID, TEXTOID, INT4OID,     TEXTOID, TEXTOID, BOOLOID,
		                    TEXTOID, TEXTOID, INT4OID, INTERVALOID, TEXTOID, INT4OID};
		SPIPlanPtr plan = SPI_prepare(kScheduleSql, kArgs, types);
		if (plan == nullptr)
			elog(ERROR, "stagger_schedule(): SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		if (SPI_keepplan(plan) != 0)
			elog(ERROR, "stagger_schedule(): SPI_keepplan failed");
		schedule_plan = plan;
	}
	int rc = SPI_execute_plan(schedule_plan, values, nulls, false, 0);
	if (rc != SPI_OK_INSERT_RETURNING)
		elog(ERROR, "stagger_schedule(): INSERT returned %s", SPI_result_code_string(rc));
	bool isnull = true;
	int64 jobid = 0;
	if (SPI_processed > 0) {
		Datum d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		if (!isnull)
			jobid = DatumGetInt64(d);
	}
	SPI_finish();
	if (isnull)
		PG_RETURN_NULL();
	PG_RETURN_INT64(jobid);
}

} /* extern "C" */
