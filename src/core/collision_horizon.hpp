/*
 * The stretch of time the collision analysis looks at, and how local days of
 * one time zone map to instants inside it.
 *
 * Most local days are "plain": every local time of the day exists exactly
 * once, with one UTC offset, so a set of local times maps one-to-one onto
 * instants. A day touched by a UTC-offset change is split into pieces, each a
 * range of local times with one offset; the piece right after a backward
 * transition holds the second occurrence of repeated local times, where
 * fixed-time jobs do not fire (see NextFire in cron.hpp).
 *
 * Internal to the collision analysis (collisions.hpp is the public API).
 */
#pragma once

#include "core/cron.hpp"

#include <cstdint>
#include <vector>

namespace js::core::collide {

/*
 * Collisions are searched in the 2922 days (8 Julian years) after `from`:
 * enough to meet a Feb-29-only schedule across a skipped leap year (2100).
 * A pair whose first common fire instant lies further out is reported as
 * collision-free.
 */
constexpr std::int64_t kHorizonDays = 2922;

/* A change of UTC offset at instant `at` (the first instant with the new offset). */
struct Transition {
	Instant at = 0;
	std::int64_t offset_before = 0;
	std::int64_t offset_after = 0;
};

/* Local times [local_lo, local_hi) of one day, mapped to instants by `instant = local - offset`. */
struct DayPiece {
	std::int64_t local_lo = 0;
	std::int64_t local_hi = 0;
	std::int64_t offset = 0;
	bool repeat = false; /* second occurrence after a backward transition */
};

struct PieceRange {
	const DayPiece *first = nullptr;
	const DayPiece *last = nullptr;
	const DayPiece *
	begin() const
	{
		return first;
	}
	const DayPiece *
	end() const
	{
		return last;
	}
};

class ZoneHorizon {
public:
	/* The horizon (from, from + kHorizonDays days] in `tz`. */
	ZoneHorizon(const TimeZone &tz, Instant from);

	const TimeZone &
	Zone() const
	{
		return tz_;
	}
	Instant
	From() const
	{
		return from_;
	}
	Instant
	End() const
	{
		return end_;
	}
	/* Local days (days since 1970-01-01) covered, with a day of margin on both sides. */
	std::int64_t
	FirstDay() const
	{
		return first_day_;
	}
	std::int64_t
	LastDay() const
	{
		return last_day_;
	}
	bool
	InDays(std::int64_t day) const
	{
		return day >= first_day_ && day <= last_day_;
	}

	/* UTC offset in effect at instant t (t within the horizon, give or take a few days). */
	std::int64_t OffsetAt(Instant t) const;
	std::int64_t LocalDayOf(Instant t) const;
	/* Whether t lies in [T, T + delta) after a backward transition T of delta seconds. */
	bool InRepeatWindow(Instant t) const;

	bool
	IsPlainDay(std::int64_t day) const
	{
		return plain_[static_cast<std::size_t>(day - first_day_)] != 0;
	}
	/* Offset of a plain day (every local time of it). */
	std::int64_t
	PlainOffset(std::int64_t day) const
	{
		return Pieces(day).first->offset;
	}
	/* The pieces of a day in [FirstDay, LastDay], in instant order. */
	PieceRange Pieces(std::int64_t day) const;

	/* Offset changes from a few days before `from` to a few days after the end. */
	const std::vector<Transition> &
	Transitions() const
	{
		return transitions_;
	}

	/*
	 * Whether every UTC offset and transition instant in the horizon is a
	 * whole minute (every zone since the 1970s). Then local and UTC agree on
	 * the second of the minute; otherwise callers fall back to exact
	 * per-instant checks.
	 */
	bool
	WholeMinuteOffsets() const
	{
		return whole_minutes_;
	}

	/*
	 * The rotations r (bit r set) that take a local minute of the hour m to
	 * the UTC minute (m + r) mod 60, one per UTC offset in the horizon: bit 0
	 * alone in a whole-hour zone, bit 30 in Asia/Kolkata, bits 0 and 30 in
	 * Australia/Lord_Howe. Every bit when an offset is not whole minutes.
	 */
	std::uint64_t
	MinuteRotations() const
	{
		return minute_rotations_;
	}
	/* The distinct UTC offsets (seconds) in effect in the horizon, ascending. */
	const std::vector<std::int64_t> &
	DistinctOffsets() const
	{
		return distinct_offsets_;
	}

	/* Plain days as a bitset over [FirstDay, LastDay] (bit i = day FirstDay + i). */
	const std::vector<std::uint64_t> &
	PlainBits() const
	{
		return plain_bits_;
	}

private:
	void LoadTransitions();
	void AppendPieces(std::int64_t day);

	TimeZone tz_;
	Instant from_ = 0;
	Instant end_ = 0;
	std::int64_t first_day_ = 0;
	std::int64_t last_day_ = 0;
	std::int64_t base_offset_ = 0; /* offset before the first listed transition */
	bool whole_minutes_ = true;
	std::uint64_t minute_rotations_ = 0;
	std::vector<std::int64_t> distinct_offsets_;
	std::vector<Transition> transitions_;
	std::vector<DayPiece> pieces_;
	std::vector<std::uint32_t> piece_start_; /* per day, index into pieces_; one extra entry at the end */
	std::vector<std::uint8_t> plain_;
	std::vector<std::uint64_t> plain_bits_;
};

} // namespace js::core::collide

#include "core/cpp_only.hpp"
