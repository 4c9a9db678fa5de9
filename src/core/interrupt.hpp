/*
 * Cancellation of long core work, without core knowing who asks.
 *
 * Collision analysis over many jobs, the concurrency sweep over many runs and
 * the like can take seconds. The caller hands core an Interrupt: a plain
 * function pointer that answers "should this work stop now?". Core polls it
 * every few hundred steps of its loops (InterruptCheck), so the cost is a
 * counter increment per step, and once it said stop, core unwinds its loops
 * and returns a Cancellable result with `cancelled` set and no value: a
 * partial result is never handed back as if it were complete.
 *
 * The poll function must be cheap, must not throw and must not unwind (in
 * job_stagger it only reads PostgreSQL's interrupt flags; the glue raises
 * the cancel error itself once core has returned: see src/pg/bridge.hpp).
 */
#pragma once

#include <cstdint>
#include <utility>

namespace js::core {

struct Interrupt {
	bool (*poll)(void *ctx) = nullptr; /* true: stop as soon as possible; nullptr: never stop */
	void *ctx = nullptr;
};

/* Polls an Interrupt every `stride` steps of a loop; once it said stop, it stays stopped. */
class InterruptCheck {
public:
	static constexpr std::uint32_t kDefaultStride = 256;

	explicit InterruptCheck(const Interrupt &interrupt, std::uint32_t stride = kDefaultStride)
	    : interrupt_(interrupt), stride_(stride == 0 ? 1 : stride)
	{
	}

	/* One step of work is done: true if the work must stop (polls on every stride-th step). */
	bool
	Step()
	{
		if (stopped_)
			return true;
		if (++steps_ < stride_)
			return false;
		return PollNow();
	}

	/* Polls now, whatever the count (between coarse pieces of work). */
	bool
	PollNow()
	{
		steps_ = 0;
		if (!stopped_ && interrupt_.poll != nullptr)
			stopped_ = interrupt_.poll(interrupt_.ctx);
		return stopped_;
	}

	bool
	Stopped() const
	{
		return stopped_;
	}

	/* The Interrupt polled, to hand on to nested work (which keeps its own count). */
	const Interrupt &
	Source() const
	{
		return interrupt_;
	}

private:
	Interrupt interrupt_;
	std::uint32_t stride_;
	std::uint32_t steps_ = 0;
	bool stopped_ = false;
};

/* The result of work the caller may interrupt: `value` is meaningful only when not `cancelled`. */
template <typename T> struct Cancellable {
	bool cancelled = false;
	T value{};
};

template <typename T>
Cancellable<T>
Completed(T value)
{
	return Cancellable<T>{false, std::move(value)};
}

template <typename T>
Cancellable<T>
Cancelled()
{
	return Cancellable<T>{true, T{}};
}

/* The value of work run without an Interrupt, which cannot have been cancelled. */
template <typename T>
T
Uninterrupted(Cancellable<T> result)
{
	return std::move(result.value);
}

} // namespace js::core

#include "core/cpp_only.hpp"
