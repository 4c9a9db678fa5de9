/*
 * The optimiser's incremental load profile (internal to optimize.cpp).
 *
 * A job is held as its merged run windows at shift 0 ("nominal" windows,
 * not clipped); at offset o it occupies those windows moved by o seconds,
 * clipped to the horizon. The profile keeps the running count of the placed
 * jobs per second on a timeline padded on both sides (padding seconds hold
 * -1, so they never raise a peak or an overlap), its peak and its total
 * overlap. Evaluate scores all 60
 * offsets of one unplaced job in one pass over its windows: sliding maxima
 * for the peak, sliding counts for the overlap and the group term.
 */
#pragma once

#include "core/sim_model.hpp"

#include <array>
#include <cstdint>
#include <vector>

namespace js::core::opt {

constexpr int kOffsets = 60;

/* One job as the optimiser sees it. */
struct OptJob {
	std::size_t index = 0;          /* position in the input */
	std::vector<RunWindow> nominal; /* merged windows at shift 0, unclipped */
	std::int64_t weight = 0;        /* run seconds in the horizon (greedy order) */
	std::int64_t cost = 0;          /* work of one Evaluate (the exact search's budget) */
	int group = -1;                 /* dense id of its group with >= 2 members, else -1 */
	bool movable = false;           /* the optimiser chooses its offset */
	int current = 0;                /* input offset */
	int shift = 0;                  /* placed shift (movable: the offset) */
	bool placed = false;
};

/* The score of one offset of one job against the placed others (objective terms it changes). */
struct OffsetScore {
	std::int64_t group = 0;   /* group-overlap seconds it adds */
	int peak = 0;             /* peak of the profile with the job there */
	std::int64_t overlap = 0; /* overlap seconds it adds */
	int movement = 0;         /* circular distance from its input offset */
};

bool Better(const OffsetScore &a, const OffsetScore &b);
int CircularDistance(int a, int b);

class Profile {
public:
	explicit Profile(const sim::Span &span);

	/* Adds (delta 1) or removes (delta -1) a job's runs at `shift`. */
	void Apply(const std::vector<RunWindow> &nominal, int shift, int delta);
	int
	Peak() const
	{
		return peak_;
	}
	std::int64_t
	Overlap() const
	{
		return overlap_;
	}
	/* Scores of offsets 0-59 for `job` (not placed); `members` are the placed others of its group. */
	void Evaluate(const OptJob &job, const std::vector<const OptJob *> &members,
	              std::array<OffsetScore, kOffsets> &scores);

private:
	std::size_t
	Index(Instant t) const
	{
		return static_cast<std::size_t>(t - base_);
	}
	void MarkGroup(const std::vector<const OptJob *> &members, int delta);
	template <typename Fn> void ForEachSpan(const std::vector<RunWindow> &nominal, int shift, Fn fn);
	void Add(const std::vector<RunWindow> &nominal, int shift);
	void Remove(const std::vector<RunWindow> &nominal, int shift);

	/* Evaluate's scratch: windows of one length folded onto length + 59 seconds, and the scores so far. */
	struct Folds {
		std::vector<std::int32_t> max_running; /* element-wise max of the running counts */
		std::vector<std::int32_t> busy;        /* how many windows see running >= 1 there */
		std::vector<std::int32_t> group;       /* how many see exactly one other group member */
		std::array<int, kOffsets> scores_max{};
		std::array<std::int64_t, kOffsets> scores_overlap{};
		std::array<std::int64_t, kOffsets> scores_group{};
	};
	static void Flush(std::int64_t length, Folds &f);

	sim::Span span_;
	Instant base_;
	std::vector<std::int32_t> running_; /* -1 outside the horizon */
	std::vector<std::uint8_t> group_;   /* scratch: placed other group members running, saturated at 2 */
	Folds folds_;
	int peak_ = 0;
	std::int64_t at_peak_ = 0; /* seconds at peak_ */
	std::int64_t overlap_ = 0;
};

} // namespace js::core::opt

#include "core/cpp_only.hpp"
