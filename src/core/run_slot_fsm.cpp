#include "core/run_slot_fsm.hpp"

namespace js::core {

namespace {

constexpr int
Bit(RunSlotState s)
{
	return 1 << static_cast<int>(s);
}

/* For each state, the states it may move to (one bit per target). */
constexpr int kLegalTargets[kRunSlotStateCount] = {
    /* kFree    */ Bit(RunSlotState::kClaimed),
    /* kClaimed */ Bit(RunSlotState::kWaiting) | Bit(RunSlotState::kDone) | Bit(RunSlotState::kFree),
    /* kWaiting */ Bit(RunSlotState::kRunning) | Bit(RunSlotState::kQueued) | Bit(RunSlotState::kDone),
    /* kQueued  */ Bit(RunSlotState::kRunning) | Bit(RunSlotState::kDone),
    /* kRunning */ Bit(RunSlotState::kDone),
    /* kDone    */ Bit(RunSlotState::kFree),
};

bool
Valid(RunSlotState s)
{
	return static_cast<int>(s) >= 0 && static_cast<int>(s) < kRunSlotStateCount;
}

} // namespace

const char *
RunSlotStateName(RunSlotState state)
{
	switch (state) {
	case RunSlotState::kFree:
		return "free";
	case RunSlotState::kClaimed:
		return "claimed";
	case RunSlotState::kWaiting:
		return "waiting";
	case RunSlotState::kQueued:
		return "queued";
	case RunSlotState::kRunning:
		return "running";
	case RunSlotState::kDone:
		return "done";
	}
	return "invalid";
}

bool
IsLegalTransition(RunSlotState from, RunSlotState to)
{
	return Valid(from) && Valid(to) && (kLegalTargets[static_cast<int>(from)] & Bit(to)) != 0;
}

bool
MayStartWorker(const SlotCounts &counts, int cap, bool instant_passed)
{
	if (counts.free <= 0)
		return false;
	if (counts.running + counts.awaiting_place + counts.late_starting < cap)
		return true;
	return !instant_passed && counts.awaiting_place == 0;
}

bool
MayTakePlace(int running, int ready_ahead, int cap)
{
	return running + ready_ahead < cap;
}

} // namespace js::core
