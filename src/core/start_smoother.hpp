/*
 * Start smoothing (job_stagger.max_starts_per_second): at most `limit` runs
 * start in one second; the runs beyond it start in the next seconds that
 * still have room. Pure C++: the launcher keeps one StartSmoother and asks it
 * for each run it records, in due order (due instant, then jobid).
 *
 * Seconds are whole seconds on any epoch (the launcher uses PostgreSQL's).
 * A reservation is made when a run is recorded to start and given back
 * (Release) when that run is not recorded after all (its transaction rolled
 * back), so a second's count is exactly the runs handed that second: no
 * start is lost or counted twice.
 */
#pragma once

#include <cstdint>
#include <map>
#include <vector>

namespace js::core {

class StartSmoother {
public:
	/*
	 * The first second in [from, latest] that has fewer than `limit` starts,
	 * reserved; -1 (nothing reserved) when every second up to `latest` is
	 * full. `limit` <= 0: no limit, `from` (not counted).
	 */
	int64_t Reserve(int64_t from, int64_t latest, int limit);
	/* Gives back one start reserved in `second`. */
	void Release(int64_t second);
	/* Forgets the seconds before `second` (they are past: nothing starts there any more). */
	void ForgetBefore(int64_t second);
	/* Starts reserved in `second`. */
	int Count(int64_t second) const;
	/* Seconds with reservations (bounded by ForgetBefore). */
	std::size_t
	Seconds() const
	{
		return counts_.size();
	}

private:
	std::map<int64_t, int> counts_;
};

/* One run asking for a start second. */
struct StartRequest {
	int64_t due_second = 0;    /* the second its slot is due */
	int64_t jobid = 0;         /* tie-break among runs due in the same second */
	int64_t start_second = -1; /* out: when it starts; -1: no second free within max_delay */
};

/*
 * Assigns start seconds to a batch: in due order (due second, then jobid;
 * `requests` is sorted so), each run gets the first second at or after
 * max(due, now) with room, at most `max_delay` seconds after its due second
 * (job_stagger.catchup_window: later than that a slot does not start).
 * Returns how many runs were delayed (start later than max(due, now)).
 */
int PlanStarts(std::vector<StartRequest> &requests, StartSmoother &smoother, int limit, int64_t now_second,
               int64_t max_delay);

} // namespace js::core
