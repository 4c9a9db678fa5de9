/*
 * The scheduler's entry points for _PG_init and the SQL functions. Plain C++
 * interface (no PostgreSQL types): may be included before postgres.h.
 */
#pragma once

namespace js::worker {

/* Installs the shmem request/startup hooks (only while preloading). */
void RequestSharedMemory();

/* Registers the launcher background worker (only while preloading). */
void RegisterLauncher();

/*
 * A transaction that changed jobs committed: bump the generation and wake the
 * launcher. Returns the generation before the bump (0 without shared memory).
 */
unsigned long long NotifyJobsChanged();

/* A transaction that asked for a manual run (stagger_run_now) committed: wake the launcher to take it up. */
void NotifyRunRequested();

} // namespace js::worker
