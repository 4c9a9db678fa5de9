/*
 * Exclusive job groups: the decision a run takes at its fire instant when its
 * job belongs to a group (jobs.exclusive_group). Invariant: two runs of one
 * group (a group is a role's OID plus a name: jobs of different roles never
 * share one) never execute at the same time.
 *
 * The job worker folds every other run slot of the same role and group into
 * a GroupBusy under the slot lock, then asks DecideGroup(). A slot is ahead
 * of us when it executes, or waits to execute (QUEUED: for its group, its
 * job's previous run or a place under the cap) and is due before us. Waiting
 * runs thus start in due order (fire instant, then runid), and the earliest
 * waiter is blocked by executing runs only, so waits never form a cycle.
 *
 * Pure C++, no allocation: it runs while the slot lock is held.
 */
#pragma once

#include <cstdint>

namespace js::core {

/* jobs.group_policy as the launcher hands it to the worker. */
enum class GroupPolicy : int {
	kSkip = 0, /* the slot is recorded as skipped, naming the run that holds the group */
	kWait,     /* the run starts as soon as the group is free, in due order */
};

/* What another slot of the same role and group is doing. */
enum class GroupPeerState : int {
	kIdle = 0,  /* not yet at its instant (claimed, waiting) or finished: not in the way */
	kQueued,    /* past its instant, waiting to execute */
	kExecuting, /* running its command */
};

struct GroupPeer {
	GroupPeerState state = GroupPeerState::kIdle;
	bool due_before = false; /* due before us: earlier instant, or the same instant and a lower runid */
	std::int64_t runid = 0;
	std::int64_t jobid = 0;
};

/* The runs ahead of us in the group, folded (plain data: kept on the stack under the lock). */
struct GroupBusy {
	bool busy = false;
	bool holder_executing = false; /* the holder named in messages executes (else it waits ahead of us) */
	std::int64_t holder_runid = 0;
	std::int64_t holder_jobid = 0;
};

/* Adds one peer to `busy`. An executing holder is preferred for the message; then the lowest runid. */
void NoteGroupPeer(GroupBusy *busy, const GroupPeer &peer) noexcept;

enum class GroupDecision : int {
	kStart = 0, /* the group is free for us */
	kSkip,      /* busy, policy skip: record the slot as skipped */
	kWait,      /* busy, policy wait: wait (QUEUED, not counted against the cap) */
};

/* The decision for a run whose group is `busy` (after the same-job overlap decision let it through). */
GroupDecision DecideGroup(const GroupBusy &busy, GroupPolicy policy) noexcept;

/*
 * Is `name` a valid group name: 1..kMaxGroupNameLength bytes of
 * [A-Za-z0-9_.:-]? (The SQL trigger checks the same; the worker keeps the
 * name in a fixed buffer of kMaxGroupNameLength + 1 bytes.)
 */
constexpr int kMaxGroupNameLength = 63;
bool IsValidGroupName(const char *name, std::int64_t length) noexcept;

} // namespace js::core

#include "core/cpp_only.hpp"
