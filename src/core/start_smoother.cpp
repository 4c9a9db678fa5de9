#include "core/start_smoother.hpp"

#include <algorithm>

namespace js::core {

int64_t
StartSmoother::Reserve(int64_t from, int64_t latest, int limit)
{
	if (limit <= 0)
		return from;
	int64_t second = from;
	/* full seconds are consecutive map entries: walk them, never more than the map holds */
	for (auto it = counts_.lower_bound(from); it != counts_.end() && it->first == second && it->second >= limit; ++it)
		second++;
	if (second > latest)
		return -1;
	counts_[second]++;
	return second;
}

void
StartSmoother::Release(int64_t second)
{
	auto it = counts_.find(second);
	if (it == counts_.end())
		return;
	if (--it->second <= 0)
		counts_.erase(it);
}

void
StartSmoother::ForgetBefore(int64_t second)
{
	counts_.erase(counts_.begin(), counts_.lower_bound(second));
}

int
StartSmoother::Count(int64_t second) const
{
	auto it = counts_.find(second);
	return it == counts_.end() ? 0 : it->second;
}

int
PlanStarts(std::vector<StartRequest> &requests, StartSmoother &smoother, int limit, int64_t now_second,
           int64_t max_delay)
{
	std::stable_sort(requests.begin(), requests.end(), [](const StartRequest &a, const StartRequest &b) {
		return a.due_second != b.due_second ? a.due_second < b.due_second : a.jobid < b.jobid;
	});
	int delayed = 0;
	for (StartRequest &r : requests) {
		int64_t from = std::max(r.due_second, now_second);
		r.start_second = smoother.Reserve(from, r.due_second + max_delay, limit);
		delayed += r.start_second > from ? 1 : 0;
	}
	return delayed;
}

} // namespace js::core
