/*
 * The offset optimiser as the scheduler runs it (job_stagger.auto_optimize):
 * plain C types only, so the launcher can include it after postgres.h.
 */
#pragma once

namespace js::pg {

/*
 * Re-optimises the offsets of all active jobs the current user can see (the
 * launcher: every role's jobs; exclusive groups stay per role) and applies
 * the proposal when it improves the prediction enough (see README,
 * job_stagger.auto_optimize): fewer exclusive-group overlap seconds, or as
 * many and a strictly lower peak, or the same peak and at least 10 % fewer
 * overlap seconds. Logs and records every change (changed_by
 * 'auto_optimize'). Returns the number of jobs moved. Must run inside a
 * transaction with SPI usable; may raise (the caller logs and retries).
 */
int AutoOptimize();

/* Whether this database has the 0.6 optimiser objects (offset_changes, offset_pinned). */
bool OptimizerInstalled();

} // namespace js::pg
