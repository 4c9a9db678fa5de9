/*
 * The collision NOTICE's per-statement budget (sql_notice.cpp): executor and
 * utility hooks that send the summary NOTICE when a top-level statement ends.
 */
#pragma once

namespace js::pg {

/* Call once from _PG_init. */
void InstallNoticeHooks();

} // namespace js::pg
