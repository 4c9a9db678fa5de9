/*
 * Refuses non-superusers locks on job_stagger's tables that would block the
 * scheduler (see lock_guard.cpp). Plain C++: include before or after postgres.h.
 */
#pragma once

namespace js::pg {

/* Installs the ProcessUtility hook; call once from _PG_init. */
void InstallLockGuard();

} // namespace js::pg
