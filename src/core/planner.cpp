#include "core/planner.hpp"

#include "core/stagger.hpp"

namespace js::core {

namespace {

/* Bound on the loop that keeps a job's fire times strictly increasing (normally 0-1 steps). */
constexpr int kMaxCatchUpSteps = 100000;

/* True when two schedules fire at exactly the same instants (whatever their text). */
bool
SameFireTimes(const CronSchedule &a, const CronSchedule &b)
{
	return a.kind == b.kind && a.has_seconds_field == b.has_seconds_field && a.seconds == b.seconds &&
	       a.minutes == b.minutes && a.hours == b.hours && a.days_of_month == b.days_of_month && a.months == b.months &&
	       a.days_of_week == b.days_of_week && a.last_day_of_month == b.last_day_of_month &&
	       a.dom_wildcard == b.dom_wildcard && a.dow_wildcard == b.dow_wildcard && a.hour_wildcard == b.hour_wildcard &&
	       a.interval_seconds == b.interval_seconds;
}

} // namespace

/*
 * Computes the job's next nominal instant after its last one, skipping any
 * that would not fire strictly after the last fire instant handed out (this
 * is what makes a schedule change at the wrong moment unable to repeat a slot).
 */
void
Planner::Recompute(JobState &state) const
{
	state.shift = AppliedOffset(state.job.schedule, state.job.offset, settings_.stagger_enabled);
	state.next_nominal = NextFire(state.job.schedule, state.last_nominal, ZoneOf(state.job));
	for (int step = 0; state.next_nominal && state.has_last_fire && step < kMaxCatchUpSteps; step++) {
		if (*state.next_nominal + state.shift > state.last_fire_at)
			return;
		state.next_nominal = NextFire(state.job.schedule, *state.next_nominal, ZoneOf(state.job));
	}
	if (state.has_last_fire && state.next_nominal && *state.next_nominal + state.shift <= state.last_fire_at)
		state.next_nominal.reset(); /* defensive: cannot happen for a schedule that fires */
}

void
Planner::Push(const JobState &state)
{
	if (state.next_nominal)
		heap_.push(HeapEntry{*state.next_nominal + state.shift, state.job.jobid});
}

void
Planner::RebuildHeap()
{
	heap_ = {};
	for (const auto &[jobid, state] : jobs_)
		Push(state);
}

void
Planner::SetSettings(const PlannerSettings &settings)
{
	settings_ = settings;
	for (auto &[jobid, state] : jobs_)
		Recompute(state);
	RebuildHeap();
}

void
Planner::SetJobs(const std::vector<PlannerJob> &jobs, Instant since)
{
	std::unordered_map<std::int64_t, JobState> next;
	next.reserve(jobs.size());
	for (const PlannerJob &job : jobs) {
		JobState state;
		auto old = jobs_.find(job.jobid);
		bool keep = old != jobs_.end() && SameFireTimes(old->second.job.schedule, job.schedule) &&
		            ZoneOf(old->second.job).Name() == ZoneOf(job).Name();
		if (old != jobs_.end())
			state = old->second; /* keeps last_fire_at even when the schedule changed */
		state.job = job;
		if (!keep)
			state.last_nominal = since - AppliedOffset(job.schedule, job.offset, settings_.stagger_enabled);
		Recompute(state);
		next.emplace(job.jobid, std::move(state));
	}
	jobs_ = std::move(next);
	RebuildHeap();
}

std::optional<Instant>
Planner::NextFireAt() const
{
	if (heap_.empty())
		return std::nullopt;
	return heap_.top().fire_at;
}

Slot
Planner::MakeSlot(const JobState &state) const
{
	Slot slot;
	slot.jobid = state.job.jobid;
	slot.nominal = *state.next_nominal;
	slot.fire_at = slot.nominal + state.shift;
	slot.applied_offset = state.shift;
	slot.stagger_enabled = settings_.stagger_enabled;
	slot.last_fire_at = slot.fire_at;
	return slot;
}

std::optional<Slot>
Planner::PeekJob(std::int64_t jobid) const
{
	auto it = jobs_.find(jobid);
	if (it == jobs_.end() || !it->second.next_nominal)
		return std::nullopt;
	return MakeSlot(it->second);
}

void
Planner::Advance(JobState &state, Instant fire_at)
{
	state.last_nominal = *state.next_nominal;
	state.last_fire_at = fire_at;
	state.has_last_fire = true;
	Recompute(state);
	Push(state);
}

/*
 * Records a missed slot: the first kMaxMissedEntriesPerJob get an entry each,
 * later ones are counted in one summary. Returns true when counting stopped
 * and the job was moved past late_before (the caller must not advance it).
 */
bool
Planner::AddMissed(JobState &state, const Slot &slot, MissedRun &run, std::vector<Slot> &out, Instant late_before)
{
	if (run.entries < kMaxMissedEntriesPerJob) {
		out.push_back(slot);
		out.back().kind = SlotKind::kMissed;
		run.entries++;
		return false;
	}
	if (run.counted == 0) {
		run.summary = slot;
		run.summary.kind = SlotKind::kMissed;
	}
	run.counted++;
	run.summary.missed_count = run.counted;
	run.summary.last_fire_at = slot.fire_at;
	if (run.counted < kMaxMissedCount)
		return false;
	run.summary.count_is_lower_bound = true;
	state.last_nominal = late_before - state.shift - 1;
	state.last_fire_at = slot.fire_at;
	state.has_last_fire = true;
	Recompute(state);
	Push(state);
	return true;
}

std::vector<Slot>
Planner::TakeDue(Instant upto, Instant late_before)
{
	std::vector<Slot> out;
	std::map<std::int64_t, MissedRun> missed; /* ordered: summaries come out by jobid */
	while (!heap_.empty() && heap_.top().fire_at <= upto) {
		HeapEntry top = heap_.top();
		heap_.pop();
		JobState &state = jobs_.at(top.jobid);
		Slot slot = MakeSlot(state);
		if (slot.fire_at < late_before) {
			if (AddMissed(state, slot, missed[top.jobid], out, late_before))
				continue;
		} else {
			out.push_back(slot);
		}
		Advance(state, slot.fire_at);
	}
	for (auto &[jobid, run] : missed)
		if (run.counted > 0)
			out.push_back(run.summary);
	return out;
}

} // namespace js::core
