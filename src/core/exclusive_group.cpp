#include "core/exclusive_group.hpp"

namespace js::core {

void
NoteGroupPeer(GroupBusy *busy, const GroupPeer &peer) noexcept
{
	bool ahead = peer.state == GroupPeerState::kExecuting || (peer.state == GroupPeerState::kQueued && peer.due_before);
	if (!ahead)
		return;
	bool executing = peer.state == GroupPeerState::kExecuting;
	bool better = !busy->busy || (executing && !busy->holder_executing) ||
	              (executing == busy->holder_executing && peer.runid < busy->holder_runid);
	busy->busy = true;
	if (better) {
		busy->holder_executing = executing;
		busy->holder_runid = peer.runid;
		busy->holder_jobid = peer.jobid;
	}
}

GroupDecision
DecideGroup(const GroupBusy &busy, GroupPolicy policy) noexcept
{
	if (!busy.busy)
		return GroupDecision::kStart;
	return policy == GroupPolicy::kWait ? GroupDecision::kWait : GroupDecision::kSkip;
}

bool
IsValidGroupName(const char *name, std::int64_t length) noexcept
{
	if (name == nullptr || length < 1 || length > kMaxGroupNameLength)
		return false;
	for (std::int64_t i = 0; i < length; i++) {
		char c = name[i];
		bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
		          c == ':' || c == '-';
		if (!ok)
			return false;
	}
	return true;
}

} // namespace js::core
