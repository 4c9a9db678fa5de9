/*
 * The run slot state machine: every (from, to) pair against the diagram,
 * written out here independently of the table in run_slot_fsm.cpp, and the
 * launcher's and the worker's decisions on slot counts.
 */
#include "core/run_slot_fsm.hpp"

#include <gtest/gtest.h>

#include <set>
#include <utility>

namespace js::core {
namespace {

using S = RunSlotState;

const S kAll[] = {S::kFree, S::kClaimed, S::kWaiting, S::kQueued, S::kRunning, S::kDone};

/* The diagram in run_slot_fsm.hpp / src/worker/shared.hpp / docs/scheduler.md. */
const std::set<std::pair<S, S>> kDiagram = {
    {S::kFree, S::kClaimed},                                                        /* launcher claims */
    {S::kClaimed, S::kFree},                                                        /* worker could not be started */
    {S::kClaimed, S::kWaiting},                                                     /* worker connected */
    {S::kClaimed, S::kDone},                                                        /* worker exited / lost before */
    {S::kWaiting, S::kRunning}, {S::kWaiting, S::kQueued}, {S::kWaiting, S::kDone}, /* instant; skip; exit */
    {S::kQueued, S::kRunning},  {S::kQueued, S::kDone},                             /* its turn; exit */
    {S::kRunning, S::kDone},                                                        /* result */
    {S::kDone, S::kFree},                                                           /* launcher recorded */
};

TEST(RunSlotFsm, EveryPairMatchesTheDiagram)
{
	int legal = 0;
	for (S from : kAll)
		for (S to : kAll) {
			bool expected = kDiagram.count({from, to}) > 0;
			EXPECT_EQ(IsLegalTransition(from, to), expected)
			    << RunSlotStateName(from) << " -> " << RunSlotStateName(to);
			legal += expected;
		}
	EXPECT_EQ(legal, 11);
}

TEST(RunSlotFsm, NoStateMovesToItself)
{
	for (S s : kAll)
		EXPECT_FALSE(IsLegalTransition(s, s)) << RunSlotStateName(s);
}

TEST(RunSlotFsm, EveryBusyStateCanEndAndOnlyDoneIsFreed)
{
	for (S s : {S::kClaimed, S::kWaiting, S::kQueued, S::kRunning})
		EXPECT_TRUE(IsLegalTransition(s, S::kDone)) << RunSlotStateName(s);
	for (S s : {S::kWaiting, S::kQueued, S::kRunning})
		EXPECT_FALSE(IsLegalTransition(s, S::kFree)) << "a run's outcome must be recorded before its slot is reused";
	EXPECT_FALSE(IsLegalTransition(S::kDone, S::kRunning)) << "a finished run never runs again";
}

TEST(RunSlotFsm, OutOfRangeStatesAreIllegal)
{
	EXPECT_FALSE(IsLegalTransition(static_cast<S>(-1), S::kFree));
	EXPECT_FALSE(IsLegalTransition(S::kFree, static_cast<S>(kRunSlotStateCount)));
	EXPECT_STREQ(RunSlotStateName(static_cast<S>(42)), "invalid");
}

TEST(RunSlotFsm, NamesAreDistinct)
{
	std::set<std::string> names;
	for (S s : kAll)
		names.insert(RunSlotStateName(s));
	EXPECT_EQ(names.size(), 6u);
	EXPECT_STREQ(RunSlotStateName(S::kQueued), "queued");
}

SlotCounts
Counts(int free, int running, int awaiting, int late = 0)
{
	SlotCounts c;
	c.free = free;
	c.running = running;
	c.awaiting_place = awaiting;
	c.late_starting = late;
	return c;
}

TEST(RunSlotFsm, PrestartedWorkersDoNotCountAgainstTheCap)
{
	/* cap 2, both places taken: a run 5 s ahead is still prestarted (the bug was a skip here). */
	EXPECT_TRUE(MayStartWorker(Counts(10, 2, 0), 2, false));
	/* ... but a run whose instant has passed would only wait for a place: it stays with the launcher. */
	EXPECT_FALSE(MayStartWorker(Counts(10, 2, 0), 2, true));
	EXPECT_TRUE(MayStartWorker(Counts(10, 1, 0), 2, true));
}

TEST(RunSlotFsm, NoNewWorkersWhileRunsWaitForAPlace)
{
	/* the cap is the bottleneck: no more workers pile up behind it */
	EXPECT_FALSE(MayStartWorker(Counts(10, 2, 1), 2, false));
	EXPECT_FALSE(MayStartWorker(Counts(10, 1, 1), 2, true));
	EXPECT_TRUE(MayStartWorker(Counts(10, 0, 1), 2, true));
}

TEST(RunSlotFsm, LateWorkersAboutToStartTakeTheirPlace)
{
	/* late runs already given a worker will take the places: no more late ones now */
	EXPECT_FALSE(MayStartWorker(Counts(10, 0, 0, 2), 2, true));
	EXPECT_TRUE(MayStartWorker(Counts(10, 0, 0, 1), 2, true));
	/* ... but they do not stop prestarting: at an instant, workers due then are briefly "late" */
	EXPECT_TRUE(MayStartWorker(Counts(10, 0, 0, 2), 2, false));
}

TEST(RunSlotFsm, NoFreeSlotNoWorker)
{
	EXPECT_FALSE(MayStartWorker(Counts(0, 0, 0), 32, false));
	EXPECT_FALSE(MayStartWorker(Counts(0, 0, 0), 32, true));
}

TEST(RunSlotFsm, PlacesGoInDueOrder)
{
	EXPECT_TRUE(MayTakePlace(1, 0, 2));
	EXPECT_FALSE(MayTakePlace(2, 0, 2));
	EXPECT_FALSE(MayTakePlace(1, 1, 2)) << "an earlier waiting run takes the one free place";
	EXPECT_TRUE(MayTakePlace(0, 1, 2));
}

} // namespace
} // namespace js::core
