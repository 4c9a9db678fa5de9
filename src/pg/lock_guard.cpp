/*
 * No plain role can hold a lock on the extension's tables that blocks the
 * scheduler.
 *
 * PostgreSQL lets a role with UPDATE or DELETE on a table LOCK it in any
 * mode, and LOCK on a view locks the view's tables with the view owner's
 * rights. Roles may delete their own jobs, so LOCK TABLE job_stagger.jobs IN
 * ACCESS EXCLUSIVE MODE would stall every role's scheduling, and LOCK on a
 * deletable view over the history reaches job_run_details. This hook refuses
 * a non-superuser's LOCK in SHARE mode or stronger (the modes that conflict
 * with the scheduler's reads and writes) on any relation of schema
 * job_stagger before it is queued, and, whatever path a LOCK took, fails it
 * afterwards if this backend then holds such a lock on one of the schema's
 * tables (the (sub)transaction's abort releases it). No other statement a
 * non-owner may run takes such a lock on these tables.
 */
extern "C" {
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_namespace.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "tcop/utility.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
}

#include "pg/lock_guard.hpp"

namespace js::pg {

namespace {

ProcessUtility_hook_type prev_utility_hook = nullptr;

/* The lock modes that conflict with ROW EXCLUSIVE (the scheduler's writes) or ACCESS SHARE (its reads). */
constexpr LOCKMODE kBlockingModes[] = {ShareLock, ShareRowExclusiveLock, ExclusiveLock, AccessExclusiveLock};

/*
 * Schema job_stagger if it is the extension's in this database, else
 * InvalidOid (a role's own schema of that name is none of our business).
 */
Oid
ExtensionSchema()
{
	Oid nsp = get_namespace_oid("job_stagger", true);
	Oid ext = get_extension_oid("job_stagger", true);
	if (!OidIsValid(nsp) || !OidIsValid(ext) || getExtensionOfObject(NamespaceRelationId, nsp) != ext)
		return InvalidOid;
	return nsp;
}

bool
HoldsBlockingLock(Oid relid)
{
	LOCKTAG tag;
	SET_LOCKTAG_RELATION(tag, MyDatabaseId, relid);
	for (LOCKMODE mode : kBlockingModes) {
		if (LockHeldByMe(&tag, mode))
			return true;
	}
	return false;
}

/* The first table of the extension's schema this backend holds a blocking lock on, or InvalidOid. */
Oid
BlockingLockedTable()
{
	Oid nsp = ExtensionSchema();
	if (!OidIsValid(nsp))
		return InvalidOid;
	ScanKeyData key;
	ScanKeyInit(&key, Anum_pg_class_relnamespace, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(nsp));
	Relation rel = table_open(RelationRelationId, AccessShareLock);
	SysScanDesc scan = systable_beginscan(rel, InvalidOid, false, nullptr, 1, &key);
	Oid found = InvalidOid;
	HeapTuple tuple;
	while (!OidIsValid(found) && HeapTupleIsValid(tuple = systable_getnext(scan))) {
		Form_pg_class form = (Form_pg_class)GETSTRUCT(tuple);
		if (form->relkind == RELKIND_RELATION && HoldsBlockingLock(form->oid))
			found = form->oid;
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return found;
}

/* A LOCK of a non-superuser that could block the scheduler? */
LockStmt *
GuardedLock(PlannedStmt *pstmt)
{
	if (!IsA(pstmt->utilityStmt, LockStmt) || superuser())
		return nullptr;
	LockStmt *stmt = (LockStmt *)pstmt->utilityStmt;
	return stmt->mode >= ShareLock ? stmt : nullptr;
}

void
RefuseLock(Oid relid)
{
	ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
	                errmsg("permission denied to lock \"%s\" in this mode", get_rel_name(relid)),
	                errdetail("The job_stagger scheduler reads and writes the tables of schema job_stagger; only "
	                          "superusers may lock them in SHARE mode or stronger."),
	                errhint("Use ROW EXCLUSIVE MODE or a weaker mode.")));
}

/* Refuses before any lock is queued (a queued request would already block the scheduler behind it). */
void
CheckNamedRelations(LockStmt *stmt)
{
	Oid nsp = ExtensionSchema();
	if (!OidIsValid(nsp))
		return;
	ListCell *lc;
	foreach (lc, stmt->relations) {
		Oid relid = RangeVarGetRelid(lfirst_node(RangeVar, lc), NoLock, true);
		if (OidIsValid(relid) && get_rel_namespace(relid) == nsp)
			RefuseLock(relid);
	}
}

void
GuardUtility(PlannedStmt *pstmt, const char *query_string, bool read_only_tree, ProcessUtilityContext context,
             ParamListInfo params, QueryEnvironment *query_env, DestReceiver *dest, QueryCompletion *qc)
{
	LockStmt *lock = GuardedLock(pstmt);
	if (lock != nullptr)
		CheckNamedRelations(lock);
	if (prev_utility_hook != nullptr)
		prev_utility_hook(pstmt, query_string, read_only_tree, context, params, query_env, dest, qc);
	else
		standard_ProcessUtility(pstmt, query_string, read_only_tree, context, params, query_env, dest, qc);
	/* views (and anything else) that reached the tables indirectly */
	if (lock != nullptr) {
		Oid relid = BlockingLockedTable();
		if (OidIsValid(relid))
			RefuseLock(relid);
	}
}

} // namespace

void
InstallLockGuard()
{
	prev_utility_hook = ProcessUtility_hook;
	ProcessUtility_hook = GuardUtility;
}

} // namespace js::pg
