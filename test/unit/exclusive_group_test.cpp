/*
 * Exclusive job groups: the fold of peers into GroupBusy, the decision per
 * policy, group names, and a small simulation of runs of one group arriving
 * at their instants and ending in random order, checking the invariant (never
 * two executing) and that waiters start in due order.
 */
#include "core/exclusive_group.hpp"
#include "core/report.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace js::core {
namespace {

using P = GroupPeerState;

GroupBusy
Fold(const std::vector<GroupPeer> &peers)
{
	GroupBusy busy;
	for (const GroupPeer &p : peers)
		NoteGroupPeer(&busy, p);
	return busy;
}

TEST(ExclusiveGroup, FreeGroupStartsWhateverThePolicy)
{
	GroupBusy busy = Fold({{P::kIdle, true, 1, 10}, {P::kQueued, false, 2, 11}});
	EXPECT_FALSE(busy.busy) << "not-yet-due, finished and later-due waiting slots are not in the way";
	EXPECT_EQ(DecideGroup(busy, GroupPolicy::kSkip), GroupDecision::kStart);
	EXPECT_EQ(DecideGroup(busy, GroupPolicy::kWait), GroupDecision::kStart);
}

TEST(ExclusiveGroup, ExecutingPeerMakesItBusyWhateverItsDueOrder)
{
	for (bool due_before : {false, true}) {
		GroupBusy busy = Fold({{P::kExecuting, due_before, 7, 3}});
		EXPECT_TRUE(busy.busy);
		EXPECT_TRUE(busy.holder_executing);
		EXPECT_EQ(busy.holder_runid, 7);
		EXPECT_EQ(busy.holder_jobid, 3);
		EXPECT_EQ(DecideGroup(busy, GroupPolicy::kSkip), GroupDecision::kSkip);
		EXPECT_EQ(DecideGroup(busy, GroupPolicy::kWait), GroupDecision::kWait);
	}
}

TEST(ExclusiveGroup, EarlierWaiterGoesFirst)
{
	GroupBusy busy = Fold({{P::kQueued, true, 4, 2}});
	EXPECT_TRUE(busy.busy);
	EXPECT_FALSE(busy.holder_executing);
	EXPECT_EQ(busy.holder_runid, 4);
	EXPECT_EQ(DecideGroup(busy, GroupPolicy::kWait), GroupDecision::kWait);
}

TEST(ExclusiveGroup, MessageNamesTheExecutingHolderBeforeWaiters)
{
	GroupBusy busy = Fold({{P::kQueued, true, 2, 1}, {P::kExecuting, false, 9, 5}, {P::kQueued, true, 1, 1}});
	EXPECT_TRUE(busy.holder_executing);
	EXPECT_EQ(busy.holder_runid, 9);
	busy = Fold({{P::kQueued, true, 6, 1}, {P::kQueued, true, 3, 2}});
	EXPECT_EQ(busy.holder_runid, 3) << "among waiters, the lowest runid";
}

TEST(ExclusiveGroup, GroupNames)
{
	for (const char *ok : {"a", "referrals", "Team-1.nightly:batch_2", "0"})
		EXPECT_TRUE(IsValidGroupName(ok, std::strlen(ok))) << ok;
	std::string longest(kMaxGroupNameLength, 'x');
	EXPECT_TRUE(IsValidGroupName(longest.c_str(), longest.size()));
	std::string too_long(kMaxGroupNameLength + 1, 'x');
	EXPECT_FALSE(IsValidGroupName(too_long.c_str(), too_long.size()));
	for (const char *bad : {"", " a", "a b", "grp\"", "a/b", "é", "a\n"})
		EXPECT_FALSE(IsValidGroupName(bad, std::strlen(bad))) << bad;
	EXPECT_FALSE(IsValidGroupName(nullptr, 0));
}

/*
 * Runs of one group, all policy wait, arriving (instant reached) and ending
 * in a random interleaving. Each arriving or woken run re-evaluates the group
 * as the worker does under the lock. Never two execute; starts follow due
 * order; everything eventually runs.
 */
TEST(ExclusiveGroup, SimulatedWaitersNeverOverlapAndStartInDueOrder)
{
	std::mt19937 rng(42);
	for (int round = 0; round < 200; round++) {
		const int n = 2 + static_cast<int>(rng() % 6);
		std::vector<P> state(n, P::kIdle); /* index = due order (runid) */
		std::vector<bool> arrived(n, false), done(n, false);
		std::vector<int> start_order;
		auto try_start = [&](int me) {
			GroupBusy busy;
			for (int j = 0; j < n; j++)
				if (j != me && !done[j])
					NoteGroupPeer(&busy, GroupPeer{state[j], j < me, j, 100 + j});
			if (DecideGroup(busy, GroupPolicy::kWait) == GroupDecision::kStart) {
				state[me] = P::kExecuting;
				start_order.push_back(me);
			} else {
				state[me] = P::kQueued;
			}
		};
		/* instants arrive in due order; ends come at random points in between */
		int next_arrival = 0;
		while (static_cast<int>(start_order.size()) < n || next_arrival < n) {
			int executing = -1;
			for (int j = 0; j < n; j++)
				if (state[j] == P::kExecuting && !done[j]) {
					ASSERT_EQ(executing, -1) << "two runs of the group execute at once";
					executing = j;
				}
			bool arrive = next_arrival < n && (executing < 0 || rng() % 2 == 0);
			if (arrive) {
				arrived[next_arrival] = true;
				try_start(next_arrival++);
			} else if (executing >= 0) {
				done[executing] = true;
				state[executing] = P::kIdle;
				for (int j = 0; j < n; j++) /* the broadcast wakes every waiter */
					if (state[j] == P::kQueued && !done[j])
						try_start(j);
			}
		}
		ASSERT_EQ(static_cast<int>(start_order.size()), n);
		for (int i = 0; i < n; i++)
			EXPECT_EQ(start_order[i], i) << "waiters start in due order";
	}
}

/* The summary's groups: keyed by role and name; warnings only for members of one group firing together. */
TEST(ExclusiveGroup, SummaryGroupsAreKeyedByRoleAndWarnOnSameSecond)
{
	std::vector<StaggerJobInput> inputs = {{1, "a", "30 * * * * *", 0, std::nullopt, ""},
	                                       {2, "b", "30 * * * * *", 0, std::nullopt, ""},
	                                       {3, "c", "30 * * * * *", 0, std::nullopt, ""},
	                                       {4, "d", "30 * * * * *", 0, std::nullopt, ""},
	                                       {5, "e", "40 * * * * *", 0, std::nullopt, ""}};
	const Instant now = 1'700'000'000;
	StaggerReport report = AnalyzeStagger(inputs, true, TimeZone::Utc(), now);
	SummaryInput summary = SummarizeStagger(report, true, TimeZone::Utc(), now);
	AddExclusiveGroups(report,
	                   {{1, 10, "alice", "g", "skip"},
	                    {2, 10, "alice", "g", "wait"},
	                    {3, 20, "bob", "g", "skip"},
	                    {5, 10, "alice", "g", "skip"}},
	                   &summary);
	ASSERT_EQ(summary.groups.size(), 2u);
	const SummaryGroup &alice = summary.groups[0];
	EXPECT_EQ(alice.role, "alice");
	ASSERT_EQ(alice.members.size(), 3u);
	EXPECT_EQ(alice.members[1].name, "b");
	EXPECT_EQ(alice.members[1].policy, "wait");
	EXPECT_EQ(alice.members[1].effective_schedule, "30 * * * * *");
	ASSERT_EQ(alice.same_second.size(), 1u) << "a and b fire together; e fires at :40";
	EXPECT_EQ(alice.same_second[0].name_a, "a");
	EXPECT_EQ(alice.same_second[0].name_b, "b");
	EXPECT_EQ(alice.same_second[0].second, 30);
	const SummaryGroup &bob = summary.groups[1];
	EXPECT_EQ(bob.role, "bob");
	ASSERT_EQ(bob.members.size(), 1u);
	EXPECT_TRUE(bob.same_second.empty()) << "c fires with a and b, but another role's group of that name is not its";
}

} // namespace
} // namespace js::core
