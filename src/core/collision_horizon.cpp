/*
 * ZoneHorizon: the zone's offset changes around the collision horizon, and
 * every local day of it cut into pieces of constant UTC offset.
 */
#include "core/collision_horizon.hpp"

#include "core/civil.hpp"

#include <algorithm>

namespace js::core::collide {
namespace {

/* Transitions are listed this far beyond both ends of the horizon (offsets stay within about a day). */
constexpr std::int64_t kMarginSeconds = 3 * kSecondsPerDay;

cctz::time_point<cctz::seconds>
ToTimePoint(Instant t)
{
	return cctz::time_point<cctz::seconds>(cctz::seconds(t));
}

Instant
FromTimePoint(const cctz::time_point<cctz::seconds> &tp)
{
	return tp.time_since_epoch().count();
}

} // namespace

ZoneHorizon::ZoneHorizon(const TimeZone &tz, Instant from)
    : tz_(tz), from_(from), end_(from + kHorizonDays * kSecondsPerDay)
{
	LoadTransitions();
	first_day_ = LocalDayOf(from_) - 1;
	last_day_ = LocalDayOf(end_) + 1;
	const std::size_t days = static_cast<std::size_t>(last_day_ - first_day_ + 1);
	piece_start_.reserve(days + 1);
	plain_.assign(days, 0);
	plain_bits_.assign((days + 63) / 64, 0);
	for (std::int64_t day = first_day_; day <= last_day_; day++)
		AppendPieces(day);
	piece_start_.push_back(static_cast<std::uint32_t>(pieces_.size()));
}

/*
 * Lists the offset changes between kMarginSeconds before `from` and
 * kMarginSeconds after the end. cctz reports each as civil times (from ->
 * to); the instant is where the post-transition lookup of `to` says the
 * offset changes. Entries that keep the offset (abbreviation changes) are
 * dropped.
 */
void
ZoneHorizon::LoadTransitions()
{
	const cctz::time_zone &zone = tz_.Zone();
	const Instant start = from_ - kMarginSeconds;
	const Instant stop = end_ + kMarginSeconds;
	base_offset_ = zone.lookup(ToTimePoint(start)).offset;
	Instant t = start;
	cctz::time_zone::civil_transition tr;
	while (zone.next_transition(ToTimePoint(t), &tr)) {
		const Instant at = FromTimePoint(zone.lookup(tr.to).trans);
		if (at <= t || at > stop)
			break;
		Transition entry;
		entry.at = at;
		entry.offset_before = zone.lookup(ToTimePoint(at - 1)).offset;
		entry.offset_after = zone.lookup(ToTimePoint(at)).offset;
		if (entry.offset_before != entry.offset_after)
			transitions_.push_back(entry);
		t = at;
	}
	whole_minutes_ = base_offset_ % kSecondsPerMinute == 0;
	for (const Transition &change : transitions_)
		whole_minutes_ =
		    whole_minutes_ && change.at % kSecondsPerMinute == 0 && change.offset_after % kSecondsPerMinute == 0;
	const auto rotation = [](std::int64_t offset) {
		return std::uint64_t{1} << FloorMod(-FloorDiv(offset, kSecondsPerMinute), std::int64_t{60});
	};
	minute_rotations_ = rotation(base_offset_);
	distinct_offsets_.push_back(base_offset_);
	for (const Transition &change : transitions_) {
		minute_rotations_ |= rotation(change.offset_after);
		distinct_offsets_.push_back(change.offset_after);
	}
	std::sort(distinct_offsets_.begin(), distinct_offsets_.end());
	distinct_offsets_.erase(std::unique(distinct_offsets_.begin(), distinct_offsets_.end()), distinct_offsets_.end());
	if (!whole_minutes_)
		minute_rotations_ = (std::uint64_t{1} << 60) - 1;
}

/*
 * Cuts local day `day` into pieces: for each stretch of constant offset
 * (between two transitions), the local times of the day it covers. The
 * stretch after a backward transition first covers the repeated local
 * times again; that part becomes a piece of its own marked `repeat`.
 */
void
ZoneHorizon::AppendPieces(std::int64_t day)
{
	const std::int64_t day_lo = day * kSecondsPerDay;
	const std::int64_t day_hi = day_lo + kSecondsPerDay;
	const std::size_t first_piece = pieces_.size();
	piece_start_.push_back(static_cast<std::uint32_t>(first_piece));
	for (std::size_t i = 0; i <= transitions_.size(); i++) {
		const Transition *started_by = i == 0 ? nullptr : &transitions_[i - 1];
		const Instant seg_lo = started_by ? started_by->at : day_lo - kMarginSeconds;
		const Instant seg_hi = i < transitions_.size() ? transitions_[i].at : day_hi + kMarginSeconds;
		const std::int64_t offset = started_by ? started_by->offset_after : base_offset_;
		std::int64_t lo = std::max(seg_lo + offset, day_lo);
		const std::int64_t hi = std::min(seg_hi + offset, day_hi);
		if (lo >= hi)
			continue;
		if (started_by && started_by->offset_before > started_by->offset_after) {
			const std::int64_t repeat_hi = std::min(started_by->at + started_by->offset_before, hi);
			if (lo < repeat_hi) {
				pieces_.push_back(DayPiece{lo, repeat_hi, offset, true});
				lo = repeat_hi;
			}
		}
		if (lo < hi)
			pieces_.push_back(DayPiece{lo, hi, offset, false});
	}
	const std::size_t count = pieces_.size() - first_piece;
	const DayPiece &p = pieces_[first_piece];
	if (count == 1 && !p.repeat && p.local_lo == day_lo && p.local_hi == day_hi) {
		const std::size_t index = static_cast<std::size_t>(day - first_day_);
		plain_[index] = 1;
		plain_bits_[index / 64] |= std::uint64_t{1} << (index % 64);
	}
}

PieceRange
ZoneHorizon::Pieces(std::int64_t day) const
{
	const std::size_t index = static_cast<std::size_t>(day - first_day_);
	return PieceRange{pieces_.data() + piece_start_[index], pieces_.data() + piece_start_[index + 1]};
}

std::int64_t
ZoneHorizon::OffsetAt(Instant t) const
{
	const auto it = std::upper_bound(transitions_.begin(), transitions_.end(), t,
	                                 [](Instant value, const Transition &tr) { return value < tr.at; });
	return it == transitions_.begin() ? base_offset_ : std::prev(it)->offset_after;
}

std::int64_t
ZoneHorizon::LocalDayOf(Instant t) const
{
	return FloorDiv(t + OffsetAt(t), kSecondsPerDay);
}

bool
ZoneHorizon::InRepeatWindow(Instant t) const
{
	const auto it = std::upper_bound(transitions_.begin(), transitions_.end(), t,
	                                 [](Instant value, const Transition &tr) { return value < tr.at; });
	if (it == transitions_.begin())
		return false;
	const Transition &tr = *std::prev(it);
	return tr.offset_before > tr.offset_after && t < tr.at + (tr.offset_before - tr.offset_after);
}

} // namespace js::core::collide
