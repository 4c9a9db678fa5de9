/*
 * Module entry: the magic block and _PG_init.
 *
 * Parameters are always defined, so the SQL functions work in any backend;
 * shared memory and the scheduler worker exist only when the library is in
 * shared_preload_libraries.
 */
#include "pg/guc.hpp"
#include "pg/lock_guard.hpp"
#include "pg/notice.hpp"
#include "worker/launcher.hpp"

extern "C" {
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"

PG_MODULE_MAGIC;

PGDLLEXPORT void _PG_init(void);

void
_PG_init(void)
{
	js::pg::DefineGucs();
	js::pg::InstallLockGuard();
	js::pg::InstallNoticeHooks();

	/* pg_upgrade must not run jobs against a half-upgraded cluster. */
	if (IsBinaryUpgrade || !process_shared_preload_libraries_in_progress)
		return;

	js::worker::RequestSharedMemory();
	js::worker::RegisterLauncher();
}
} /* extern "C" */
