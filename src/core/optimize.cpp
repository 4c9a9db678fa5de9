/*
 * The offset optimiser (docs/optimizer.md): exhaustive search over the
 * movable jobs' offsets when there are few of them, else greedy placement
 * plus local search, twice (from scratch and from the current offsets); the
 * best candidate by the exact simulation wins, the current offsets included.
 */
#include "core/simulate.hpp"

#include "core/opt_profile.hpp"
#include "core/sim_model.hpp"
#include "core/stagger.hpp"

#include <algorithm>
#include <map>
#include <tuple>

namespace js::core {
namespace {

using opt::kOffsets;
using opt::OffsetScore;
using opt::OptJob;
using Scores = std::array<OffsetScore, kOffsets>;

/* Movable jobs searched exhaustively: always up to kExactAlways, up to kExactMax within kExactBudget. */
constexpr std::size_t kExactAlways = 2;
constexpr std::size_t kExactMax = 3;
constexpr std::int64_t kExactBudget = 40'000'000;
/* Local-search passes over all movable jobs per candidate. */
constexpr int kMaxPasses = 4;

/* The optimiser's view of the input: windows, weights, groups, and the search order. */
struct Model {
	sim::Span span;
	std::vector<OptJob> jobs;
	std::vector<std::size_t> order; /* movable jobs, heaviest first */
	std::vector<std::vector<std::size_t>> groups;
};

std::int64_t
ClippedLength(const std::vector<RunWindow> &nominal, const sim::Span &span)
{
	std::int64_t seconds = 0;
	for (const RunWindow &w : nominal)
		seconds += std::max<std::int64_t>(0, std::min(w.end, span.end) - std::max(w.start, span.from));
	return seconds;
}

void
AssignGroups(const std::vector<SimJob> &input, Model &m)
{
	std::map<std::string, std::vector<std::size_t>> by_name;
	for (std::size_t i = 0; i < input.size(); i++)
		if (!input[i].group.empty())
			by_name[input[i].group].push_back(i);
	for (const auto &entry : by_name) {
		if (entry.second.size() < 2)
			continue;
		for (const std::size_t i : entry.second)
			m.jobs[i].group = static_cast<int>(m.groups.size());
		m.groups.push_back(entry.second);
	}
}

/* Order: weight descending, then jobid, name and input position (independent of input order for distinct ids). */
void
SortOrder(const std::vector<SimJob> &input, Model &m)
{
	for (const OptJob &j : m.jobs)
		if (j.movable)
			m.order.push_back(j.index);
	std::sort(m.order.begin(), m.order.end(), [&](std::size_t a, std::size_t b) {
		return std::make_tuple(-m.jobs[a].weight, input[a].jobid, std::cref(input[a].name), a) <
		       std::make_tuple(-m.jobs[b].weight, input[b].jobid, std::cref(input[b].name), b);
	});
}

bool
BuildModel(const std::vector<SimJob> &input, const SimOptions &options, InterruptCheck &check, Model &m)
{
	m.span = sim::MakeSpan(input, options);
	sim::FireMemo memo(m.span);
	m.jobs.resize(input.size());
	for (std::size_t i = 0; i < input.size(); i++) {
		const SimJob &in = input[i];
		OptJob &j = m.jobs[i];
		const std::vector<Instant> *fires = memo.Fires(in.schedule, SimZone(in, options), check);
		if (fires == nullptr || check.Step())
			return false;
		/* Clipped only where no offset can bring a second into the horizon. */
		sim::MergedWindows(*fires, 0, sim::ClampedDuration(in), m.span.from - kOffsets, m.span.end + kOffsets,
		                   j.nominal);
		j.index = i;
		j.current = in.offset;
		j.movable = options.stagger_enabled && !in.pinned && OffsetMovable(in.schedule) && IsValidOffset(in.offset);
		j.shift = AppliedOffset(in.schedule, in.offset, options.stagger_enabled);
		j.weight = ClippedLength(j.nominal, m.span);
		j.cost = 0;
		for (const RunWindow &w : j.nominal)
			j.cost += w.end - w.start + kOffsets;
	}
	AssignGroups(input, m);
	SortOrder(input, m);
	return true;
}

/* The search state: the profile of the placed jobs. */
class Search {
public:
	Search(Model &m) : m_(m), profile_(m.span)
	{
		for (OptJob &j : m_.jobs)
			if (!j.movable)
				Place(j, j.shift);
	}

	void
	Place(OptJob &j, int shift)
	{
		j.shift = shift;
		j.placed = true;
		profile_.Apply(j.nominal, shift, 1);
	}
	void
	Remove(OptJob &j)
	{
		profile_.Apply(j.nominal, j.shift, -1);
		j.placed = false;
	}
	void
	Evaluate(const OptJob &j, Scores &scores)
	{
		members_.clear();
		if (j.group >= 0)
			for (const std::size_t i : m_.groups[static_cast<std::size_t>(j.group)])
				if (i != j.index && m_.jobs[i].placed)
					members_.push_back(&m_.jobs[i]);
		profile_.Evaluate(j, members_, scores);
	}
	const opt::Profile &
	Profile() const
	{
		return profile_;
	}

private:
	Model &m_;
	opt::Profile profile_;
	std::vector<const OptJob *> members_;
};

/* The best offset in `scores`: `prefer` (if >= 0) unless another is strictly better, else the lowest best. */
int
BestOffset(const Scores &scores, int prefer)
{
	int best = prefer >= 0 ? prefer : 0;
	for (int o = 0; o < kOffsets; o++)
		if (Better(scores[static_cast<std::size_t>(o)], scores[static_cast<std::size_t>(best)]))
			best = o;
	return best;
}

/* Greedy placement (when `greedy`) or the current offsets, then local-search passes; the offsets found. */
bool
Heuristic(Model &m, bool greedy, InterruptCheck &check, std::vector<int> &offsets)
{
	for (OptJob &j : m.jobs)
		j.placed = false;
	Search search(m);
	Scores scores;
	for (const std::size_t i : m.order) {
		OptJob &j = m.jobs[i];
		if (greedy) {
			search.Evaluate(j, scores);
			search.Place(j, BestOffset(scores, -1));
		} else {
			search.Place(j, j.current);
		}
		if (check.Step())
			return false;
	}
	for (int pass = 0; pass < kMaxPasses; pass++) {
		bool changed = false;
		for (const std::size_t i : m.order) {
			OptJob &j = m.jobs[i];
			const int was = j.shift;
			search.Remove(j);
			search.Evaluate(j, scores);
			search.Place(j, BestOffset(scores, was));
			changed = changed || j.shift != was;
			if (check.Step())
				return false;
		}
		if (!changed)
			break;
	}
	offsets.resize(m.jobs.size());
	for (const OptJob &j : m.jobs)
		offsets[j.index] = j.movable ? j.shift : j.current;
	return true;
}

/* Totals of one complete assignment, as the exhaustive search compares them. */
struct Total {
	std::int64_t group = 0;
	int peak = 0;
	std::int64_t overlap = 0;
	int movement = 0;
	bool
	operator<(const Total &o) const
	{
		return std::tie(group, peak, overlap, movement) < std::tie(o.group, o.peak, o.overlap, o.movement);
	}
};

/* Exhaustive search over the movable jobs m.order[level..]; `group`/`movement` accumulate the placed ones. */
class Exhaustive {
public:
	Exhaustive(Model &m, InterruptCheck &check) : m_(m), search_(m), check_(check), levels_(m.order.size()) {}

	bool
	Run()
	{
		best_.group = -1;
		current_.resize(m_.order.size());
		return m_.order.empty() || Level(0, 0, 0);
	}
	/* Offsets of the best assignment (first found in search order among equals). */
	std::vector<int>
	Offsets() const
	{
		std::vector<int> offsets;
		for (const OptJob &j : m_.jobs)
			offsets.push_back(j.current);
		for (std::size_t k = 0; k < m_.order.size(); k++)
			offsets[m_.order[k]] = best_offsets_[k];
		return offsets;
	}

private:
	bool
	Level(std::size_t level, std::int64_t group, int movement)
	{
		OptJob &j = m_.jobs[m_.order[level]];
		search_.Evaluate(j, levels_[level]);
		if (check_.Step())
			return false;
		for (int o = 0; o < kOffsets; o++) {
			const OffsetScore &s = levels_[level][static_cast<std::size_t>(o)];
			current_[level] = o;
			if (level + 1 == m_.order.size()) {
				const Total t{group + s.group, s.peak, search_.Profile().Overlap() + s.overlap, movement + s.movement};
				if (best_.group < 0 || t < best_) {
					best_ = t;
					best_offsets_ = current_;
				}
				continue;
			}
			search_.Place(j, o);
			const bool ok = Level(level + 1, group + s.group, movement + s.movement);
			search_.Remove(j);
			if (!ok)
				return false;
		}
		return true;
	}

	Model &m_;
	Search search_;
	InterruptCheck &check_;
	std::vector<Scores> levels_;
	std::vector<int> current_;
	std::vector<int> best_offsets_;
	Total best_;
};

/* Whether the exhaustive search fits: few movable jobs, and 60^(k-1) evaluations within the budget. */
bool
ExactFits(const Model &m)
{
	const std::size_t k = m.order.size();
	if (k <= kExactAlways)
		return true;
	if (k > kExactMax)
		return false;
	std::int64_t cost = 0;
	for (const std::size_t i : m.order)
		cost += m.jobs[i].cost;
	return cost * kOffsets * kOffsets <= kExactBudget;
}

struct Judged {
	std::vector<int> offsets;
	SimResult sim;
	int movement = 0;
};

/* The exact figures of an assignment; false if interrupted. */
bool
Judge(const std::vector<SimJob> &input, const SimOptions &options, const Interrupt &interrupt, std::vector<int> offsets,
      Judged &out)
{
	std::vector<SimJob> jobs = input;
	out.movement = 0;
	for (std::size_t i = 0; i < jobs.size(); i++) {
		out.movement += opt::CircularDistance(jobs[i].offset, offsets[i]);
		jobs[i].offset = offsets[i];
	}
	SimOptions quiet = options;
	quiet.max_pairs = 0; /* pairs are not needed */
	Cancellable<SimResult> sim = Simulate(jobs, quiet, interrupt);
	if (sim.cancelled)
		return false;
	out.offsets = std::move(offsets);
	out.sim = std::move(sim.value);
	return true;
}

bool
Worse(const Judged &a, const Judged &b)
{
	return std::make_tuple(a.sim.group_overlap_seconds, a.sim.peak, a.sim.overlap_seconds, a.movement) >
	       std::make_tuple(b.sim.group_overlap_seconds, b.sim.peak, b.sim.overlap_seconds, b.movement);
}

/* Candidate offsets: the exhaustive optimum, or the two heuristic runs. */
bool
Candidates(Model &m, InterruptCheck &check, std::vector<std::vector<int>> &out, bool &exact)
{
	exact = ExactFits(m);
	if (exact) {
		Exhaustive search(m, check);
		if (!search.Run())
			return false;
		if (!m.order.empty())
			out.push_back(search.Offsets());
		return true;
	}
	for (const bool greedy : {false, true}) {
		std::vector<int> offsets;
		if (!Heuristic(m, greedy, check, offsets))
			return false;
		out.push_back(std::move(offsets));
	}
	return true;
}

} // namespace

Cancellable<OptimizeResult>
Optimize(const std::vector<SimJob> &jobs, const SimOptions &options, const Interrupt &interrupt)
{
	InterruptCheck check(interrupt);
	Model model;
	std::vector<std::vector<int>> candidates;
	bool exact = false;
	if (!BuildModel(jobs, options, check, model) || !Candidates(model, check, candidates, exact))
		return Cancelled<OptimizeResult>();
	std::vector<int> current;
	for (const SimJob &j : jobs)
		current.push_back(j.offset);
	Judged before;
	if (!Judge(jobs, options, interrupt, current, before))
		return Cancelled<OptimizeResult>();
	Judged best = before;
	for (std::vector<int> &offsets : candidates) {
		Judged judged;
		if (!Judge(jobs, options, interrupt, std::move(offsets), judged))
			return Cancelled<OptimizeResult>();
		if (Worse(best, judged))
			best = std::move(judged);
	}
	OptimizeResult r;
	r.offsets = best.offsets;
	r.peak_before = before.sim.peak;
	r.peak_after = best.sim.peak;
	r.overlap_before = before.sim.overlap_seconds;
	r.overlap_after = best.sim.overlap_seconds;
	r.group_overlap_before = before.sim.group_overlap_seconds;
	r.group_overlap_after = best.sim.group_overlap_seconds;
	for (std::size_t i = 0; i < jobs.size(); i++)
		r.moved += r.offsets[i] != jobs[i].offset ? 1 : 0;
	r.exact = exact;
	return Completed(std::move(r));
}

OptimizeResult
Optimize(const std::vector<SimJob> &jobs, const SimOptions &options)
{
	return Uninterrupted(Optimize(jobs, options, Interrupt{}));
}

} // namespace js::core
