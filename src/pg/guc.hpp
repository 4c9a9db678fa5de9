/*
 * job_stagger.* configuration parameters. Plain C types only, so both core
 * callers and PostgreSQL glue can include this before postgres.h.
 */
#pragma once

#include "core/cron.hpp"

namespace js::pg {

/* Scheduler placement and capacity (scheduler issue). */
extern char *guc_database_name;       /* job_stagger.database_name: the metadata database */
extern int guc_max_running_jobs;      /* job_stagger.max_running_jobs */
extern int guc_prestart_lead_ms;      /* job_stagger.prestart_lead_ms: start a run's worker this early */
extern int guc_catchup_window_s;      /* job_stagger.catchup_window: slots later than this are missed, not run */
extern int guc_max_starts_per_second; /* job_stagger.max_starts_per_second: 0 = no limit */

/* Schedule evaluation and staggering. */
extern char *guc_timezone;               /* job_stagger.timezone: IANA zone schedules are evaluated in */
extern bool guc_enabled;                 /* job_stagger.enabled: apply per-job second offsets */
extern char *guc_offsets;                /* job_stagger.offsets: 'job_a=15, job_b=30' overrides */
extern bool guc_auto_optimize;           /* job_stagger.auto_optimize: the scheduler re-optimises offsets */
extern int guc_auto_optimize_interval_s; /* job_stagger.auto_optimize_interval */

/* Observability and rollout. */
extern int guc_pool_sample_interval_s; /* job_stagger.pool_sample_interval */
extern bool guc_log_pool;              /* job_stagger.log_pool: a LOG line per pool sample */
extern int guc_pool_warn_pct;          /* job_stagger.pool_warn_pct */
extern int guc_pool_crit_pct;          /* job_stagger.pool_crit_pct */
extern int guc_slow_job_threshold_ms;  /* job_stagger.slow_job_threshold_ms: WARNING per longer run, 0 = off */
extern int guc_history_retention_s;    /* job_stagger.history_retention: 0 = keep forever */
extern int guc_kpi_interval_s;         /* job_stagger.kpi_interval: 0 = off */
extern bool guc_auto_rollback;         /* job_stagger.auto_rollback */
extern bool guc_log_successful_runs;   /* job_stagger.log_successful_runs: off deletes succeeded rows */

/* Defines every parameter and reserves the prefix (called from _PG_init). */
void DefineGucs();

/* The zone named by job_stagger.timezone (C++: call inside CallCpp). */
core::TimeZone CurrentTimeZone();

} // namespace js::pg
