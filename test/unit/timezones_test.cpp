/*
 * Per-job time zones (issue 13): each job's schedule is read in its own zone
 * by the planner, and jobs of different zones are compared on their real
 * instants by the collision analysis, the fire index, the placement and the
 * simulator. Expected instants were computed independently (Python zoneinfo)
 * and are written out as UTC civil times.
 */
#include "core/collisions.hpp"
#include "core/fire_index.hpp"
#include "core/planner.hpp"
#include "core/report.hpp"
#include "core/simulate.hpp"
#include "core/stagger.hpp"
#include "cron_test_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace js::core::test {
namespace {

PlannerJob
ZonedJob(std::int64_t id, const std::string &text, const char *zone, int offset = 0)
{
	PlannerJob job{id, MustParse(text), offset, std::nullopt};
	if (zone != nullptr)
		job.tz = MustLoad(zone);
	return job;
}

std::map<std::int64_t, std::vector<Instant>>
FiresByJob(const std::vector<Slot> &slots)
{
	std::map<std::int64_t, std::vector<Instant>> out;
	for (const Slot &s : slots)
		out[s.jobid].push_back(s.fire_at);
	return out;
}

bool
Has(const std::vector<Instant> &fires, Instant t)
{
	return std::find(fires.begin(), fires.end(), t) != fires.end();
}

/* NextFire iterated in one zone: the fires of (from, upto]. */
std::vector<Instant>
Iterated(const std::string &text, const TimeZone &tz, Instant from, Instant upto)
{
	std::vector<Instant> out;
	const CronSchedule s = MustParse(text);
	for (std::optional<Instant> t = NextFire(s, from, tz); t && *t <= upto; t = NextFire(s, *t, tz))
		out.push_back(*t);
	return out;
}

/*
 * One planner, default zone UTC, with fixed-time and elapsed-time jobs in
 * Europe/Berlin, America/New_York, Asia/Kolkata (+05:30, no DST),
 * Australia/Lord_Howe (+10:30/+11:00: a 30-minute DST shift) and UTC, from
 * March to November 2026: every DST change of the four zones with DST. Each
 * job's slots are its schedule read in its own zone, DST rules included.
 */
TEST(PerJobZone, PlannerFiresEachJobInItsZoneAcrossDst)
{
	const Instant from = Utc(2026, 3, 1);
	const Instant upto = Utc(2026, 11, 3);
	struct Case {
		std::int64_t id;
		const char *text;
		const char *zone; /* nullptr: the default zone (UTC) */
	};
	const std::vector<Case> cases = {
	    {1, "30 2 * * *", "Europe/Berlin"},
	    {2, "30 2 * * *", "America/New_York"},
	    {3, "30 2 * * *", "Asia/Kolkata"},
	    {4, "15 2 * * *", "Australia/Lord_Howe"},
	    {5, "30 2 * * *", nullptr},
	    {6, "30 * * * *", "Europe/Berlin"},
	    {7, "30 1 * * *", "America/New_York"},
	    {8, "30 * * * *", "America/New_York"},
	    {9, "45 * * * *", "Australia/Lord_Howe"},
	    {10, "45 1 * * *", "Australia/Lord_Howe"},
	};
	Planner p;
	std::vector<PlannerJob> jobs;
	for (const Case &c : cases)
		jobs.push_back(ZonedJob(c.id, c.text, c.zone));
	p.SetJobs(jobs, from);
	std::map<std::int64_t, std::vector<Instant>> fires = FiresByJob(p.TakeDue(upto, from));

	for (const Case &c : cases) /* each job: its schedule iterated in its own zone */
		EXPECT_EQ(fires[c.id], Iterated(c.text, MustLoad(c.zone != nullptr ? c.zone : "UTC"), from, upto)) << c.id;

	/* Berlin 02:30: an ordinary day, the spring-forward day (gap: once, right after it), the next day */
	EXPECT_TRUE(Has(fires[1], Utc(2026, 3, 28, 1, 30)));
	EXPECT_TRUE(Has(fires[1], Utc(2026, 3, 29, 1, 0)));
	EXPECT_TRUE(Has(fires[1], Utc(2026, 3, 30, 0, 30)));
	/* Berlin fall back (02:30 twice on 2026-10-25): the fixed-time job once, the elapsed-time job twice */
	EXPECT_TRUE(Has(fires[1], Utc(2026, 10, 25, 0, 30)));
	EXPECT_FALSE(Has(fires[1], Utc(2026, 10, 25, 1, 30)));
	EXPECT_TRUE(Has(fires[6], Utc(2026, 10, 25, 0, 30)));
	EXPECT_TRUE(Has(fires[6], Utc(2026, 10, 25, 1, 30)));
	/* New York 02:30 around 2026-03-08, 01:30 on 2026-11-01 (repeated) */
	EXPECT_TRUE(Has(fires[2], Utc(2026, 3, 7, 7, 30)));
	EXPECT_TRUE(Has(fires[2], Utc(2026, 3, 8, 7, 0)));
	EXPECT_TRUE(Has(fires[2], Utc(2026, 3, 9, 6, 30)));
	EXPECT_TRUE(Has(fires[7], Utc(2026, 11, 1, 5, 30)));
	EXPECT_FALSE(Has(fires[7], Utc(2026, 11, 1, 6, 30)));
	EXPECT_TRUE(Has(fires[8], Utc(2026, 11, 1, 5, 30)));
	EXPECT_TRUE(Has(fires[8], Utc(2026, 11, 1, 6, 30)));
	/* Kolkata: 02:30 IST is 21:00 UTC the day before, every day */
	EXPECT_TRUE(Has(fires[3], Utc(2026, 3, 27, 21, 0)));
	for (std::size_t i = 1; i < fires[3].size(); i++)
		EXPECT_EQ(fires[3][i] - fires[3][i - 1], 86400);
	/* Lord Howe spring forward 2026-10-04 02:00 -> 02:30: 02:15 fires at 02:30 LHDT */
	EXPECT_TRUE(Has(fires[4], Utc(2026, 10, 2, 15, 45)));
	EXPECT_TRUE(Has(fires[4], Utc(2026, 10, 3, 15, 30)));
	EXPECT_TRUE(Has(fires[4], Utc(2026, 10, 4, 15, 15)));
	/* Lord Howe fall back 2026-04-05 02:00 -> 01:30: 01:45 twice; once for the fixed-time job */
	EXPECT_TRUE(Has(fires[10], Utc(2026, 4, 4, 14, 45)));
	EXPECT_FALSE(Has(fires[10], Utc(2026, 4, 4, 15, 15)));
	EXPECT_TRUE(Has(fires[9], Utc(2026, 4, 4, 14, 45)));
	EXPECT_TRUE(Has(fires[9], Utc(2026, 4, 4, 15, 15)));
	/* the UTC job: 02:30 UTC every day */
	for (const Instant t : fires[5])
		EXPECT_EQ(t % 86400, 2 * 3600 + 30 * 60);
}

/* A job's own zone changing is a schedule change: first slot after `since`, none repeated. */
TEST(PerJobZone, OwnZoneChangeStartsAfterSinceAndRepeatsNothing)
{
	const Instant t0 = Utc(2026, 3, 2, 9, 59, 59);
	Planner p;
	p.SetJobs({ZonedJob(1, "0 * * * *", nullptr)}, Utc(2026, 3, 2, 9, 30));
	/* handed out ahead of time (prestart lead): the 10:00 UTC slot */
	std::vector<Slot> due = p.TakeDue(Utc(2026, 3, 2, 10), t0);
	ASSERT_EQ(due.size(), 1U);
	EXPECT_EQ(due[0].fire_at, Utc(2026, 3, 2, 10));
	/* Etc/GMT-1 (UTC+1) has the same :00 instants: the 10:00 slot must not come again */
	p.SetJobs({ZonedJob(1, "0 * * * *", "Etc/GMT-1")}, t0);
	ASSERT_TRUE(p.PeekJob(1));
	EXPECT_EQ(p.PeekJob(1)->fire_at, Utc(2026, 3, 2, 11));
	/* now Kolkata: :00 IST is :30 UTC */
	p.SetJobs({ZonedJob(1, "0 * * * *", "Asia/Kolkata")}, Utc(2026, 3, 2, 10, 5));
	EXPECT_EQ(p.PeekJob(1)->fire_at, Utc(2026, 3, 2, 10, 30));
	/* the same zone again (by name) keeps the progress */
	p.TakeDue(Utc(2026, 3, 2, 10, 30), Utc(2026, 3, 2, 10, 30));
	p.SetJobs({ZonedJob(1, "0 * * * *", "Asia/Kolkata")}, Utc(2026, 3, 2, 10, 31));
	EXPECT_EQ(p.PeekJob(1)->fire_at, Utc(2026, 3, 2, 11, 30));

	/* a daily job whose new zone's slot of today lies between its last run and now: not run late */
	Planner q;
	q.SetJobs({ZonedJob(2, "0 9 * * *", nullptr)}, Utc(2026, 3, 2, 8));
	ASSERT_EQ(q.TakeDue(Utc(2026, 3, 2, 9), Utc(2026, 3, 2, 9)).size(), 1U);
	q.SetJobs({ZonedJob(2, "0 9 * * *", "America/New_York")}, Utc(2026, 3, 2, 15));
	EXPECT_EQ(q.PeekJob(2)->fire_at, Utc(2026, 3, 3, 14)); /* not 2026-03-02 14:00 UTC, already past */
}

/* A new default zone moves exactly the jobs without a zone of their own. */
TEST(PerJobZone, DefaultZoneChangeMovesOnlyJobsWithoutOwnZone)
{
	const Instant t0 = Utc(2026, 3, 2, 0, 0);
	Planner p;
	p.SetJobs({ZonedJob(1, "0 9 * * *", nullptr), ZonedJob(2, "0 9 * * *", "Asia/Kolkata")}, t0);
	EXPECT_EQ(p.PeekJob(1)->fire_at, Utc(2026, 3, 2, 9));
	EXPECT_EQ(p.PeekJob(2)->fire_at, Utc(2026, 3, 2, 3, 30));
	PlannerSettings settings;
	settings.tz = MustLoad("America/New_York");
	p.SetSettings(settings);
	EXPECT_EQ(p.PeekJob(1)->fire_at, Utc(2026, 3, 2, 14)); /* 09:00 EST */
	EXPECT_EQ(p.PeekJob(2)->fire_at, Utc(2026, 3, 2, 3, 30));
	/* SetJobs with the same rows after the settings change keeps both (LauncherModel does this) */
	p.SetJobs({ZonedJob(1, "0 9 * * *", nullptr), ZonedJob(2, "0 9 * * *", "Asia/Kolkata")}, t0 + 60);
	EXPECT_EQ(p.PeekJob(1)->fire_at, Utc(2026, 3, 2, 14));
	EXPECT_EQ(p.PeekJob(2)->fire_at, Utc(2026, 3, 2, 3, 30));
}

CollisionJob
CJob(std::int64_t id, const std::string &text, const char *zone, int offset = 0)
{
	CollisionJob job{id, text, MustParse(text), offset, std::nullopt};
	if (zone != nullptr)
		job.tz = MustLoad(zone);
	return job;
}

/* Jobs of different zones meet on real instants. */
TEST(CrossZoneCollisions, RealInstants)
{
	const TimeZone utc = TimeZone::Utc();
	const Instant from = Utc(2026, 1, 10, 12, 10);
	{
		/* 0 * * * * at +05:30 fires at :30 UTC */
		const std::vector<CollisionJob> jobs = {CJob(1, "0 * * * *", "Asia/Kolkata"), CJob(2, "30 * * * *", nullptr),
		                                        CJob(3, "0 * * * *", nullptr)};
		const std::vector<CollisionPair> pairs = FindCollisions(jobs, false, utc, from);
		ASSERT_EQ(pairs.size(), 1U);
		EXPECT_EQ(pairs[0].index_a, 0U);
		EXPECT_EQ(pairs[0].index_b, 1U);
		EXPECT_EQ(pairs[0].first_collision, Utc(2026, 1, 10, 12, 30));
		EXPECT_EQ(pairs[0].collisions_per_day, 24);
		/* read in one zone (the old behaviour) they would be 1 and 3 instead */
		const std::vector<CollisionJob> same = {CJob(1, "0 * * * *", nullptr), CJob(2, "30 * * * *", nullptr),
		                                        CJob(3, "0 * * * *", nullptr)};
		ASSERT_EQ(FindCollisions(same, false, utc, from).size(), 1U);
		EXPECT_EQ(FindCollisions(same, false, utc, from)[0].index_b, 2U);
	}
	{
		/* Kathmandu +05:45: 15 past local is 30 past UTC; the default zone may be any */
		const std::vector<CollisionJob> jobs = {CJob(1, "15 * * * *", "Asia/Kathmandu"), CJob(2, "30 * * * *", "UTC")};
		const std::vector<CollisionPair> pairs = FindCollisions(jobs, false, MustLoad("Europe/Berlin"), from);
		ASSERT_EQ(pairs.size(), 1U);
		EXPECT_EQ(pairs[0].first_collision, Utc(2026, 1, 10, 12, 30));
	}
	{
		/* Lord Howe: :00 local meets :30 UTC only on standard time (+10:30), from 2026-04-04 15:00 UTC on */
		const std::vector<CollisionJob> jobs = {CJob(1, "0 * * * *", "Australia/Lord_Howe"),
		                                        CJob(2, "30 * * * *", nullptr)};
		const std::vector<CollisionPair> pairs = FindCollisions(jobs, false, utc, from);
		ASSERT_EQ(pairs.size(), 1U);
		EXPECT_EQ(pairs[0].first_collision, Utc(2026, 4, 4, 15, 30));
	}
	{
		/* a spring-forward gap fire (New York 02:30 -> 07:00 UTC on 2026-03-08) meets a UTC 07:00 job that day only */
		const std::vector<CollisionJob> jobs = {CJob(1, "30 2 * * *", "America/New_York"),
		                                        CJob(2, "0 7 * * *", nullptr)};
		const std::vector<CollisionPair> pairs = FindCollisions(jobs, false, utc, from);
		ASSERT_EQ(pairs.size(), 1U);
		EXPECT_EQ(pairs[0].first_collision, Utc(2026, 3, 8, 7));
		EXPECT_EQ(pairs[0].collisions_per_day, 1);
	}
	{
		/* offsets count on real instants too */
		const std::vector<CollisionJob> jobs = {CJob(1, "0 * * * *", "Asia/Kolkata", 20),
		                                        CJob(2, "30 * * * *", nullptr, 20)};
		EXPECT_EQ(FindCollisions(jobs, true, utc, from).size(), 1U);
		EXPECT_TRUE(FindCollisions(jobs, false, utc, from).size() == 1U); /* both at second 0 when off */
		const std::vector<CollisionJob> apart = {CJob(1, "0 * * * *", "Asia/Kolkata", 20),
		                                         CJob(2, "30 * * * *", nullptr, 21)};
		EXPECT_TRUE(FindCollisions(apart, true, utc, from).empty());
	}
}

/* The placement and the nearest free offset see jobs of other zones. */
TEST(CrossZoneCollisions, PlacementAndFreeOffset)
{
	const TimeZone utc = TimeZone::Utc();
	const Instant from = Utc(2026, 1, 10, 12, 10);
	const std::optional<TimeZone> kolkata = MustLoad("Asia/Kolkata");
	const std::vector<CollisionJob> others = {CJob(1, "30 * * * *", nullptr, 30)};
	const CronSchedule hourly = MustParse("0 * * * *");
	/* a Kolkata :00 job at offset 30 meets the UTC :30 job; in UTC it would not */
	EXPECT_EQ(CollidingJobs(others, hourly, 30, true, utc, from, kolkata), (std::vector<std::size_t>{0}));
	EXPECT_TRUE(CollidingJobs(others, hourly, 30, true, utc, from).empty());
	const FreeOffset free = NearestFreeOffset(others, hourly, 30, utc, from, kolkata);
	ASSERT_TRUE(free.free_offset);
	EXPECT_EQ(*free.free_offset, 29);
	EXPECT_NE(SpreadOffset(others, hourly, utc, from, kolkata), 30);
	/* MightMeet keeps the cross-zone candidate (its local minutes differ) */
	EXPECT_EQ(MightMeet(others, hourly, utc, from, kolkata), (std::vector<std::size_t>{0}));
	EXPECT_TRUE(MightMeet(others, hourly, utc, from).empty());
	/* the fire index gives the same answers, and places the Kolkata job away from :30 */
	FireIndex index(utc, from);
	index.Upsert(1, "30 * * * *", MustParse("30 * * * *"), 30, 1);
	EXPECT_EQ(index.Colliding("0 * * * *", hourly, 30, -1, kolkata), (std::vector<std::int64_t>{1}));
	EXPECT_TRUE(index.Colliding("0 * * * *", hourly, 30, -1).empty());
	EXPECT_NE(index.Place("0 * * * *", hourly, 1, -1, kolkata), 30);
}

/* ---- random mixed-zone cases against a plainly written reference ---- */

const char *const kZones[] = {nullptr,          "Asia/Kolkata",        "America/New_York", "Europe/Berlin",
                              "Asia/Kathmandu", "Australia/Lord_Howe", "America/St_Johns"};
const char *const kTexts[] = {"* * * * *",  "*/5 * * * *",  "0 * * * *",      "30 * * * *",  "15,45 * * * *",
                              "30 2 * * *", "0 7 * * *",    "45 1 * * *",     "0 3 * * 0",   "*/20 * * * * *",
                              "10 seconds", "0 12 * * 1-5", "15 */2 * * *",   "0 0 1 * *",   "@reboot",
                              "0 0 31 4 *", "30 */3 * * *", "5,35 * * * * *", "0 9,21 * * *"};

/* A job as the reference sees it: its schedule, applied offset and zone. */
struct RefJob {
	CronSchedule schedule;
	int shift = 0;
	TimeZone tz = TimeZone::Utc();
};

std::optional<Instant>
RefNext(const RefJob &j, Instant t)
{
	const std::optional<Instant> n = NextFire(j.schedule, t - j.shift, j.tz);
	return n ? std::optional<Instant>(*n + j.shift) : std::nullopt;
}

bool
RefFiresAt(const RefJob &j, Instant x)
{
	return RefNext(j, x - 1) == x;
}

/* The first common instant in (from, until], leapfrogging the two jobs' fire instants. */
std::optional<Instant>
RefFirst(const RefJob &a, const RefJob &b, Instant from, Instant until)
{
	Instant t = from;
	for (;;) {
		const std::optional<Instant> ta = RefNext(a, t);
		if (!ta || *ta > until)
			return std::nullopt;
		const std::optional<Instant> tb = RefNext(b, *ta - 1);
		if (!tb || *tb > until)
			return std::nullopt;
		if (*tb == *ta)
			return ta;
		t = *tb - 1;
	}
}

/* Common instants on a's local day of `x`. */
std::int64_t
RefPerDay(const RefJob &a, const RefJob &b, Instant x)
{
	const cctz::civil_day day =
	    cctz::civil_day(cctz::convert(cctz::time_point<cctz::seconds>(cctz::seconds(x)), a.tz.Zone()));
	const Instant lo = cctz::convert(cctz::civil_second(day), a.tz.Zone()).time_since_epoch().count() - 7200;
	std::int64_t count = 0;
	for (std::optional<Instant> t = RefNext(a, lo); t && *t < lo + 30 * 3600; t = RefNext(a, *t)) {
		const cctz::civil_day d =
		    cctz::civil_day(cctz::convert(cctz::time_point<cctz::seconds>(cctz::seconds(*t)), a.tz.Zone()));
		if (d == day && RefFiresAt(b, *t))
			count++;
	}
	return count;
}

/*
 * FindCollisions on random jobs in mixed zones (and the 30-minute-DST zone
 * around its transitions) against the reference over a 12-day window: a pair
 * the analysis says first meets within the window must be the reference's
 * first common instant (and per-day count); no other pair may meet in it.
 */
TEST(CrossZoneCollisions, MatchesPlainReferenceOnRandomMixedZones)
{
	const TimeZone utc = TimeZone::Utc();
	for (const Instant from : {Utc(2026, 3, 6, 23, 17), Utc(2026, 4, 1, 3, 2), Utc(2026, 9, 30, 11, 59)}) {
		std::mt19937 rng(static_cast<unsigned>(from));
		std::uniform_int_distribution<std::size_t> zone(0, std::size(kZones) - 1);
		std::uniform_int_distribution<std::size_t> text(0, std::size(kTexts) - 1);
		std::uniform_int_distribution<int> offset(0, 3);
		std::vector<CollisionJob> jobs;
		for (int i = 0; i < 40; i++)
			jobs.push_back(CJob(i + 1, kTexts[text(rng)], kZones[zone(rng)], offset(rng)));
		for (const bool enabled : {true, false}) {
			const std::vector<CollisionPair> pairs = FindCollisions(jobs, enabled, utc, from);
			std::map<std::pair<std::size_t, std::size_t>, const CollisionPair *> found;
			for (const CollisionPair &p : pairs)
				found[{p.index_a, p.index_b}] = &p;
			const Instant until = from + 12 * 86400;
			int checked = 0, met = 0;
			for (std::size_t a = 0; a < jobs.size(); a++) {
				for (std::size_t b = a + 1; b < jobs.size(); b++) {
					const RefJob ra{jobs[a].schedule, AppliedOffset(jobs[a].schedule, jobs[a].offset, enabled),
					                jobs[a].tz ? *jobs[a].tz : utc};
					const RefJob rb{jobs[b].schedule, AppliedOffset(jobs[b].schedule, jobs[b].offset, enabled),
					                jobs[b].tz ? *jobs[b].tz : utc};
					const std::optional<Instant> want = RefFirst(ra, rb, from, until);
					auto it = found.find({a, b});
					const std::string what = jobs[a].name + " (" + ra.tz.Name() + ") / " + jobs[b].name + " (" +
					                         rb.tz.Name() + ") from " + Format(from, utc);
					checked++;
					if (!want) {
						EXPECT_TRUE(it == found.end() || it->second->first_collision > until) << what;
						continue;
					}
					met++;
					ASSERT_TRUE(it != found.end()) << what << " meet at " << Format(*want, utc);
					EXPECT_EQ(it->second->first_collision, *want) << what;
					EXPECT_EQ(it->second->collisions_per_day, RefPerDay(ra, rb, *want)) << what;
				}
			}
			EXPECT_GT(met, 20) << "the random set must have meeting pairs";
			EXPECT_EQ(checked, 40 * 39 / 2);
		}
	}
}

/* The fire index against the pairwise functions, jobs in mixed zones (as test/unit/fire_index_test.cpp in one). */
TEST(CrossZoneCollisions, FireIndexMatchesPairwiseOnMixedZones)
{
	const TimeZone utc = TimeZone::Utc();
	const Instant from = Utc(2026, 3, 28, 22, 0); /* Berlin springs forward in a few hours */
	std::mt19937 rng(13);
	std::uniform_int_distribution<std::size_t> zone(0, std::size(kZones) - 1);
	std::uniform_int_distribution<std::size_t> text(0, std::size(kTexts) - 1);
	std::uniform_int_distribution<int> offset(0, 4);
	std::uniform_int_distribution<int> duration(1, 90);
	std::vector<CollisionJob> jobs;
	FireIndex index(utc, from);
	for (int i = 0; i < 60; i++) {
		jobs.push_back(CJob(i + 1, kTexts[text(rng)], kZones[zone(rng)], offset(rng)));
		index.Upsert(jobs.back().jobid, jobs.back().name, jobs.back().schedule, jobs.back().offset, duration(rng),
		             jobs.back().tz);
	}
	for (int q = 0; q < 40; q++) {
		const CollisionJob mine = CJob(100 + q, kTexts[text(rng)], kZones[zone(rng)], q % 5);
		const std::int64_t exclude = q % 2 == 0 ? 1 + q : -1;
		std::vector<CollisionJob> all;
		for (const CollisionJob &j : jobs)
			if (j.jobid != exclude)
				all.push_back(j);
		std::vector<CollisionJob> others;
		for (std::size_t k : MightMeet(all, mine.schedule, utc, from, mine.tz))
			others.push_back(all[k]);
		std::vector<std::int64_t> want;
		for (std::size_t k : CollidingJobs(others, mine.schedule, mine.offset, true, utc, from, mine.tz))
			want.push_back(others[k].jobid);
		/* MightMeet is a superset: the candidates give what all jobs give */
		std::vector<std::int64_t> want_all;
		for (std::size_t k : CollidingJobs(all, mine.schedule, mine.offset, true, utc, from, mine.tz))
			want_all.push_back(all[k].jobid);
		EXPECT_EQ(want, want_all) << mine.name;
		const std::string what = mine.name + " in " + (mine.tz ? mine.tz->Name() : "UTC");
		EXPECT_EQ(index.Colliding(mine.name, mine.schedule, mine.offset, exclude, mine.tz), want) << what;
		const FreeOffset w = NearestFreeOffset(others, mine.schedule, mine.offset, utc, from, mine.tz);
		const FreeOffset g = index.NearestFree(mine.name, mine.schedule, mine.offset, exclude, mine.tz);
		EXPECT_EQ(g.free_offset, w.free_offset) << what;
		EXPECT_EQ(g.least_colliding_offset, w.least_colliding_offset) << what;
	}
}

/* The simulator reads each job in its zone: runs of :00 jobs in Kolkata and UTC never overlap. */
TEST(PerJobZone, SimulateWithMixedZones)
{
	SimOptions options;
	options.from = Utc(2026, 1, 10);
	options.horizon_seconds = 86400;
	options.stagger_enabled = false;
	const auto job = [](std::int64_t id, const char *text, const char *zone) {
		SimJob j;
		j.jobid = id;
		j.name = text;
		j.schedule = MustParse(text);
		j.duration_seconds = 600;
		if (zone != nullptr)
			j.tz = MustLoad(zone);
		return j;
	};
	const SimResult apart = Simulate({job(1, "0 * * * *", "Asia/Kolkata"), job(2, "0 * * * *", nullptr)}, options);
	EXPECT_EQ(apart.peak, 1);
	EXPECT_EQ(apart.overlap_seconds, 0);
	const SimResult together = Simulate({job(1, "0 * * * *", "Asia/Kolkata"), job(2, "30 * * * *", nullptr)}, options);
	EXPECT_EQ(together.peak, 2);
	EXPECT_EQ(together.overlap_seconds, 24 * 600);
	EXPECT_EQ(together.peak_at, Utc(2026, 1, 10, 0, 30));
	/* JobRuns (the timeline's simulation) too */
	const std::vector<RunWindow> runs = JobRuns(job(1, "0 9 * * *", "Asia/Kolkata"), options);
	ASSERT_EQ(runs.size(), 1U);
	EXPECT_EQ(runs[0].start, Utc(2026, 1, 10, 3, 30));
}

/* The report reads each job in its zone: next fire and the zone in the summary. */
TEST(PerJobZone, SummaryNamesZonesAndNextFires)
{
	const TimeZone utc = TimeZone::Utc();
	const Instant now = Utc(2026, 1, 10, 12, 10);
	std::vector<StaggerJobInput> inputs = {{1, "kol", "0 * * * *", 0, std::nullopt, "Asia/Kolkata"},
	                                       {2, "utc", "30 * * * *", 0, std::nullopt, ""},
	                                       {3, "bad", "0 * * * *", 0, std::nullopt, "Mars/Olympus"}};
	const StaggerReport report = AnalyzeStagger(inputs, false, utc, now);
	ASSERT_EQ(report.jobs.size(), 2U);
	ASSERT_EQ(report.invalid.size(), 1U);
	EXPECT_EQ(report.invalid[0], "bad: unknown time zone \"Mars/Olympus\"");
	ASSERT_EQ(report.pairs.size(), 1U);
	const SummaryInput summary = SummarizeStagger(report, false, utc, now);
	ASSERT_EQ(summary.jobs.size(), 2U);
	EXPECT_EQ(summary.jobs[0].next_fire, Utc(2026, 1, 10, 12, 30));
	EXPECT_EQ(summary.jobs[0].timezone, "Asia/Kolkata");
	const std::string text = FormatSummary(summary);
	EXPECT_NE(text.find("0 * * * * (Asia/Kolkata)"), std::string::npos) << text;
	EXPECT_NE(text.find("30 * * * * (UTC)"), std::string::npos) << text;
}

/* Zone names that are paths are refused before cctz could open a file. */
TEST(PerJobZone, PathLikeZoneNamesAreRefused)
{
	EXPECT_FALSE(TimeZone::Load("/etc/passwd"));
	EXPECT_FALSE(TimeZone::Load("../../etc/passwd"));
	EXPECT_FALSE(TimeZone::Load("Europe/../../etc"));
	EXPECT_FALSE(TimeZone::Load(""));
	EXPECT_TRUE(TimeZone::Load("America/St_Johns"));
}

} // namespace
} // namespace js::core::test
