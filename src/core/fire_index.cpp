/*
 * The fire index (fire_index.hpp).
 */
#include "core/fire_index.hpp"

#include "core/collision_pair.hpp"
#include "core/stagger.hpp"

#include <algorithm>
#include <limits>

namespace js::core {

namespace {

constexpr bool kEnabled = true; /* offsets are being configured: judged with staggering enabled */

std::uint64_t
Key(int class_a, int offset_a, int class_b, int offset_b)
{
	std::uint64_t a = static_cast<std::uint64_t>(class_a) << 6 | static_cast<std::uint64_t>(offset_a);
	std::uint64_t b = static_cast<std::uint64_t>(class_b) << 6 | static_cast<std::uint64_t>(offset_b);
	if (a > b)
		std::swap(a, b);
	return a << 32 | b;
}

} // namespace

std::uint64_t
RunSecondsMask(std::uint64_t seconds, int duration)
{
	if (seconds == 0)
		return 0;
	if (duration >= kSecondsOfMinute)
		return collide::kAllSeconds;
	std::uint64_t window = 0;
	for (int k = 0; k < std::max(duration, 1); k++)
		window |= (seconds << k | seconds >> (kSecondsOfMinute - k)) & collide::kAllSeconds;
	return window;
}

FireIndex::FireIndex(const TimeZone &tz, Instant from) : zones_(tz, from) {}

int
FireIndex::ClassOf(const std::string &text, const CronSchedule &schedule, const std::optional<TimeZone> &tz)
{
	const int zone = zones_.Index(tz);
	/* the zone is part of the class: text, NUL, zone index */
	std::string key = text;
	key.push_back('\0');
	key += std::to_string(zone);
	auto it = class_ids_.find(key);
	if (it != class_ids_.end())
		return it->second;
	const int id = static_cast<int>(classes_.size());
	classes_.push_back(std::make_unique<Class>());
	classes_.back()->schedule = schedule;
	classes_.back()->zone = zone;
	class_ids_.emplace(std::move(key), id);
	return id;
}

const collide::FireProfile &
FireIndex::Profile(int class_id, int offset)
{
	Class &c = *classes_[static_cast<std::size_t>(class_id)];
	auto &slot = c.profiles[static_cast<std::size_t>(offset)];
	if (!slot) {
		collide::ZoneContext &ctx = zones_.At(c.zone);
		slot = std::make_unique<collide::FireProfile>(
		    collide::BuildFireProfile(c.schedule, offset, kEnabled, ctx.horizon, ctx.day_sets));
	}
	return *slot;
}

std::uint64_t
FireIndex::Firing(int class_id, int offset)
{
	Class &c = *classes_[static_cast<std::size_t>(class_id)];
	const auto o = static_cast<std::size_t>(offset);
	if (!c.firing_known[o]) {
		const collide::ZoneContext &ctx = Context(class_id);
		c.firing[o] = collide::FiringSeconds(Profile(class_id, offset), ctx.horizon, ctx.day_sets);
		c.firing_known[o] = true;
	}
	return c.firing[o];
}

bool
FireIndex::Collide(int class_a, int offset_a, int class_b, int offset_b)
{
	const std::uint64_t key = Key(class_a, offset_a, class_b, offset_b);
	auto it = collide_memo_.find(key);
	if (it != collide_memo_.end())
		return it->second;
	const collide::FireProfile &a = Profile(class_a, offset_a);
	const collide::FireProfile &b = Profile(class_b, offset_b);
	const bool hit = collide::EvaluatePair(a, Context(class_a), b, Context(class_b), false).has_value();
	collide_memo_.emplace(key, hit);
	return hit;
}

std::vector<int>
FireIndex::Candidates(int class_id)
{
	Class &mine = *classes_[static_cast<std::size_t>(class_id)];
	/* Classes only come: extend the remembered answers by the new ones. */
	const collide::ZoneContext &my_zone = zones_.At(mine.zone);
	for (; mine.meets_upto < classes_.size(); mine.meets_upto++) {
		const Class &other = *classes_[mine.meets_upto];
		const collide::ZoneContext &zone = zones_.At(other.zone);
		const bool meet = other.zone == mine.zone ? MightMeetPair(other.schedule, mine.schedule, zone.gaps)
		                                          : MightMeetPair(other.schedule, zone.horizon, zone.gaps,
		                                                          mine.schedule, my_zone.horizon, my_zone.gaps);
		if (meet)
			mine.meets.push_back(static_cast<int>(mine.meets_upto));
	}
	std::vector<int> out;
	for (const int c : mine.meets)
		if (classes_[static_cast<std::size_t>(c)]->size > 0)
			out.push_back(c);
	return out;
}

void
FireIndex::AddEntry(std::int64_t jobid, const Entry &entry)
{
	Class &c = *classes_[static_cast<std::size_t>(entry.class_id)];
	std::set<std::int64_t> &ids = c.members[entry.offset];
	if (ids.empty())
		for (int s = 0; s < kSecondsOfMinute; s++)
			if ((entry.firing >> s & 1U) != 0)
				c.at_second[static_cast<std::size_t>(s)] |= std::uint64_t{1} << entry.offset;
	ids.insert(jobid);
	c.size++;
	for (int s = 0; s < kSecondsOfMinute; s++) {
		c.load[static_cast<std::size_t>(s)] += static_cast<int>(entry.firing >> s & 1U);
		c.cover[static_cast<std::size_t>(s)] += static_cast<int>(entry.window >> s & 1U);
	}
	jobs_[jobid] = entry;
}

void
FireIndex::RemoveEntry(std::int64_t jobid, const Entry &entry)
{
	Class &c = *classes_[static_cast<std::size_t>(entry.class_id)];
	auto m = c.members.find(entry.offset);
	if (m != c.members.end()) {
		m->second.erase(jobid);
		if (m->second.empty()) {
			c.members.erase(m);
			for (int s = 0; s < kSecondsOfMinute; s++)
				c.at_second[static_cast<std::size_t>(s)] &= ~(std::uint64_t{1} << entry.offset);
		}
	}
	c.size--;
	for (int s = 0; s < kSecondsOfMinute; s++) {
		c.load[static_cast<std::size_t>(s)] -= static_cast<int>(entry.firing >> s & 1U);
		c.cover[static_cast<std::size_t>(s)] -= static_cast<int>(entry.window >> s & 1U);
	}
	jobs_.erase(jobid);
}

void
FireIndex::Upsert(std::int64_t jobid, const std::string &schedule_text, const CronSchedule &schedule, int offset,
                  int duration, const std::optional<TimeZone> &tz)
{
	Remove(jobid);
	Entry entry;
	entry.class_id = ClassOf(schedule_text, schedule, tz);
	entry.offset = std::clamp(offset, kMinOffset, kMaxOffset);
	entry.firing = Firing(entry.class_id, entry.offset);
	entry.window = RunSecondsMask(entry.firing, duration);
	AddEntry(jobid, entry);
}

void
FireIndex::Remove(std::int64_t jobid)
{
	auto it = jobs_.find(jobid);
	if (it != jobs_.end())
		RemoveEntry(jobid, Entry(it->second));
}

FireIndex::Excluded::Excluded(FireIndex &index, std::int64_t jobid) : index_(index), jobid_(jobid)
{
	auto it = index_.jobs_.find(jobid);
	if (it != index_.jobs_.end()) {
		had_ = true;
		entry_ = it->second;
		index_.RemoveEntry(jobid, entry_);
	}
}

FireIndex::Excluded::~Excluded()
{
	if (had_)
		index_.AddEntry(jobid_, entry_);
}

int
FireIndex::CountColliding(int class_id, int offset, const std::vector<int> &candidates, int stop_at,
                          std::vector<std::int64_t> *out)
{
	if (candidates.empty())
		return 0;
	/* Jobs can only meet at a second both fire at (exact with whole-minute UTC offsets in every zone). */
	const bool prefilter = zones_.AllWholeMinutes();
	/* A superset of the seconds this job fires at: a 5-field job fires only at its offset then. */
	const CronSchedule &schedule = classes_[static_cast<std::size_t>(class_id)]->schedule;
	const std::uint64_t mine = prefilter && schedule.kind == ScheduleKind::kCron && !schedule.has_seconds_field
	                               ? std::uint64_t{1} << offset
	                               : Firing(class_id, offset);
	int count = 0;
	for (const int c : candidates) {
		const Class &other = *classes_[static_cast<std::size_t>(c)];
		std::uint64_t offsets = 0; /* offsets of `other` with members firing at one of my seconds */
		if (prefilter) {
			for (std::uint64_t bits = mine; bits != 0; bits &= bits - 1)
				offsets |= other.at_second[static_cast<std::size_t>(__builtin_ctzll(bits))];
		} else {
			for (const auto &entry : other.members)
				offsets |= std::uint64_t{1} << entry.first;
		}
		for (; offsets != 0; offsets &= offsets - 1) {
			const int p = __builtin_ctzll(offsets);
			if (!Collide(class_id, offset, c, p))
				continue;
			const std::set<std::int64_t> &ids = other.members.at(p);
			count += static_cast<int>(ids.size());
			if (out != nullptr)
				out->insert(out->end(), ids.begin(), ids.end());
			else if (count >= stop_at)
				return count;
		}
	}
	if (out != nullptr)
		std::sort(out->begin(), out->end());
	return count;
}

std::vector<std::int64_t>
FireIndex::Colliding(const std::string &schedule_text, const CronSchedule &schedule, int offset, std::int64_t exclude,
                     const std::optional<TimeZone> &tz)
{
	Excluded guard(*this, exclude);
	const int id = ClassOf(schedule_text, schedule, tz);
	std::vector<std::int64_t> out;
	CountColliding(id, std::clamp(offset, kMinOffset, kMaxOffset), Candidates(id), std::numeric_limits<int>::max(),
	               &out);
	return out;
}

int
FireIndex::CollidingCount(const std::string &schedule_text, const CronSchedule &schedule, int offset,
                          std::int64_t exclude, int stop_at, const std::optional<TimeZone> &tz)
{
	Excluded guard(*this, exclude);
	const int id = ClassOf(schedule_text, schedule, tz);
	return CountColliding(id, std::clamp(offset, kMinOffset, kMaxOffset), Candidates(id), stop_at, nullptr);
}

/* The order and stopping rule of NearestFreeOffset (collisions.cpp). */
FreeOffset
FireIndex::NearestFree(const std::string &schedule_text, const CronSchedule &schedule, int wanted, std::int64_t exclude,
                       const std::optional<TimeZone> &tz)
{
	Excluded guard(*this, exclude);
	const int id = ClassOf(schedule_text, schedule, tz);
	const std::vector<int> candidates = Candidates(id);
	wanted = std::clamp(wanted, kMinOffset, kMaxOffset);
	const bool shiftable = AppliedOffset(schedule, kMaxOffset, kEnabled) != 0;
	FreeOffset result;
	result.least_colliding_count = std::numeric_limits<int>::max();
	for (int distance = 0; distance <= kMaxOffset; distance++) {
		for (const int candidate : {wanted - distance, wanted + distance}) {
			if (candidate < kMinOffset || candidate > kMaxOffset || (distance == 0 && candidate != wanted))
				continue;
			const int count = CountColliding(id, candidate, candidates, result.least_colliding_count, nullptr);
			if (count < result.least_colliding_count) {
				result.least_colliding_offset = candidate;
				result.least_colliding_count = count;
			}
			if (count == 0) {
				result.free_offset = candidate;
				return result;
			}
		}
		if (!shiftable)
			break;
	}
	return result;
}

int
FireIndex::Place(const std::string &schedule_text, const CronSchedule &schedule, int duration, std::int64_t exclude,
                 const std::optional<TimeZone> &tz)
{
	if (AppliedOffset(schedule, kMaxOffset, kEnabled) == 0)
		return 0;
	Excluded guard(*this, exclude);
	const int id = ClassOf(schedule_text, schedule, tz);
	const std::vector<int> candidates = Candidates(id);
	std::array<int, kSecondsOfMinute> cover{}, load{};
	for (const int c : candidates) {
		const Class &other = *classes_[static_cast<std::size_t>(c)];
		for (std::size_t s = 0; s < cover.size(); s++) {
			cover[s] += other.cover[s];
			load[s] += other.load[s];
		}
	}
	return PlaceOffset(cover, load, duration, [&](int o) {
		return CountColliding(id, o, candidates, std::numeric_limits<int>::max(), nullptr);
	});
}

} // namespace js::core
