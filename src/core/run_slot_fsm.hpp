/*
 * The life of a run slot (one job worker's place in shared memory) as a
 * state machine: the states, the legal transitions, and the decisions taken
 * on slot counts (may the launcher start a worker, may a waiting run take a
 * place under job_stagger.max_running_jobs). Pure C++: the PostgreSQL side
 * (src/worker/shared.hpp) mirrors the enum and moves every slot through
 * TransitionSlot(), which asks IsLegalTransition().
 *
 *   FREE --launcher claims--> CLAIMED --worker connected--> WAITING --instant, a place free--> RUNNING --> DONE
 *     ^                          |                            |  \--instant, previous run going or cap full--> QUEUED
 *     |                          |                            \--overlap = skip, previous run going--> DONE (skipped)
 *     +--worker not started------+                 QUEUED --previous run ended and a place free--> RUNNING
 *     +--launcher recorded------------------------------------------------------------------------- DONE
 *   CLAIMED, WAITING, QUEUED, RUNNING --worker exits without a result / is lost--> DONE (failed/crashed)
 */
#pragma once

namespace js::core {

enum class RunSlotState : int {
	kFree = 0,
	kClaimed, /* the launcher registered the worker; it has not connected yet */
	kWaiting, /* connected, waiting for the fire instant */
	kQueued,  /* instant passed: waits for the job's previous run to end or a place under the cap */
	kRunning, /* executing the command: what job_stagger.max_running_jobs counts */
	kDone,    /* result set; the launcher records it and frees the slot */
};

constexpr int kRunSlotStateCount = 6;

/* "free", "claimed", ... (for messages). */
const char *RunSlotStateName(RunSlotState state);

/* Is `from` -> `to` a move the diagram above allows? (`from` == `to` is never one.) */
bool IsLegalTransition(RunSlotState from, RunSlotState to);

/* Slots by what they hold, as counted under the slot lock. */
struct SlotCounts {
	int free = 0;
	int running = 0;        /* executing: counted against the cap */
	int awaiting_place = 0; /* QUEUED only for a place under the cap */
	int late_starting = 0;  /* CLAIMED/WAITING past their instant: each takes a place as it gets there */
};

/*
 * May the launcher start a worker for a recorded run now? It needs a free
 * slot. A run whose instant has passed would execute at once, so it waits in
 * the launcher while the cap is full (counting the runs that wait for a place
 * or are about to take one). A run ahead of its instant is prestarted while
 * no run waits for a place: prestarted workers are bounded by the free slots,
 * not by the cap, and stop being added once the cap is the bottleneck.
 */
bool MayStartWorker(const SlotCounts &counts, int cap, bool instant_passed);

/*
 * May a run at or past its instant start executing? `ready_ahead`: runs
 * waiting for a place that are due before it (they go first).
 */
bool MayTakePlace(int running, int ready_ahead, int cap);

} // namespace js::core

#include "core/cpp_only.hpp"
