/*
 * FormatSummary: exact text for an enabled collision-free set, a disabled
 * set with a collision and a note, and no jobs; FormatUtcInstant.
 */
#include "core/summary.hpp"

#include "cron_test_support.hpp"

#include <gtest/gtest.h>

#include <string>

namespace js::core::test {
namespace {

TEST(FormatSummary, EnabledCollisionFree)
{
	SummaryInput in;
	in.stagger_enabled = true;
	in.timezone = "UTC";
	in.jobs = {{"backup", "0 3 * * *", "45 0 3 * * *", 45, Utc(2026, 11, 29, 3, 0, 45), ""},
	           {"reports", "*/5 * * * *", "20 */5 * * * *", 20, Utc(2026, 11, 28, 12, 5, 20), ""},
	           {"hourly_sync", "0 * * * *", "5 0 * * * *", 5, Utc(2026, 11, 28, 13, 0, 5), ""},
	           {"on_start", "@reboot", "@reboot", 0, std::nullopt, ""}};
	in.distribution[5] = 1;
	in.distribution[20] = 1;
	in.distribution[45] = 1;
	EXPECT_EQ(FormatSummary(in), "job_stagger: staggering enabled (time zone UTC)\n"
	                             "4 active jobs\n"
	                             "  job          schedule     effective       offset  next fire (UTC)\n"
	                             "  backup       0 3 * * *    45 0 3 * * *        45  2026-11-29 03:00:45\n"
	                             "  reports      */5 * * * *  20 */5 * * * *      20  2026-11-28 12:05:20\n"
	                             "  hourly_sync  0 * * * *    5 0 * * * *          5  2026-11-28 13:00:05\n"
	                             "  on_start     @reboot      @reboot              0  none\n"
	                             "distribution over the minute: :05 1 job, :20 1 job, :45 1 job\n"
	                             "collisions: collision-free\n");
}

TEST(FormatSummary, DisabledWithCollisionsAndNote)
{
	SummaryInput in;
	in.stagger_enabled = false;
	in.timezone = "Europe/Berlin";
	in.auto_rollback_note = "staggering was turned off automatically after 3 failed runs";
	/* "vacuum_é" is 8 characters but 9 bytes: padding counts characters */
	in.jobs = {{"vacuum_é", "* * * * *", "* * * * *", 5, Utc(2026, 11, 28, 12, 3), ""},
	           {"b", "*/5 * * * *", "*/5 * * * *", 40, Utc(2026, 11, 28, 12, 5), ""},
	           {"c", "0 * * * *", "0 * * * *", 1, Utc(2026, 11, 28, 13), ""}};
	in.distribution[0] = 3;
	in.collisions = {{"vacuum_é", "b", 0, Utc(2026, 11, 28, 12, 5), 288},
	                 {"vacuum_é", "c", 0, Utc(2026, 11, 28, 13), 24}};
	EXPECT_EQ(FormatSummary(in),
	          "job_stagger: staggering disabled (every 5-field job fires at second 0; time zone Europe/Berlin)\n"
	          "note: staggering was turned off automatically after 3 failed runs\n"
	          "3 active jobs\n"
	          "  job       schedule     effective    offset  next fire (UTC)\n"
	          "  vacuum_é  * * * * *    * * * * *         5  2026-11-28 12:03:00\n"
	          "  b         */5 * * * *  */5 * * * *      40  2026-11-28 12:05:00\n"
	          "  c         0 * * * *    0 * * * *         1  2026-11-28 13:00:00\n"
	          "distribution over the minute: :00 3 jobs\n"
	          "collisions: 2 pairs\n"
	          "  vacuum_é <-> b at second 0, 288 per day, first 2026-11-28 12:05:00\n"
	          "  vacuum_é <-> c at second 0, 24 per day, first 2026-11-28 13:00:00\n");
}

TEST(FormatSummary, NoJobs)
{
	SummaryInput in;
	in.stagger_enabled = true;
	in.timezone = "America/New_York";
	EXPECT_EQ(FormatSummary(in), "job_stagger: staggering enabled (time zone America/New_York)\n"
	                             "0 active jobs\n"
	                             "distribution over the minute: none\n"
	                             "collisions: collision-free\n");
}

TEST(FormatSummary, SingularForms)
{
	SummaryInput in;
	in.stagger_enabled = true;
	in.timezone = "UTC";
	in.jobs = {{"a", "* * * * *", "7 * * * * *", 7, Utc(2026, 11, 28, 0, 1, 7), ""},
	           {"b", "7 seconds", "7 seconds", 123, Utc(2026, 11, 28, 0, 0, 3), ""}};
	in.distribution.fill(1);
	in.distribution[7] = 2;
	in.collisions = {{"a", "b", 7, Utc(2026, 11, 28, 0, 3, 7), 206}};
	const std::string text = FormatSummary(in);
	EXPECT_NE(text.find("2 active jobs\n"), std::string::npos);
	EXPECT_NE(text.find("  a    * * * * *  7 * * * * *       7  2026-11-28 00:01:07\n"), std::string::npos) << text;
	EXPECT_NE(text.find("  b    7 seconds  7 seconds       123  2026-11-28 00:00:03\n"), std::string::npos) << text;
	EXPECT_NE(text.find(":06 1 job, :07 2 jobs, :08 1 job"), std::string::npos);
	EXPECT_NE(text.find("collisions: 1 pair\n  a <-> b at second 7, 206 per day, first 2026-11-28 00:03:07\n"),
	          std::string::npos);
}

TEST(FormatUtcInstant, CivilTimeInUtc)
{
	EXPECT_EQ(FormatUtcInstant(0), "1970-01-01 00:00:00");
	EXPECT_EQ(FormatUtcInstant(Utc(2028, 2, 29, 23, 59, 59)), "2028-02-29 23:59:59");
	EXPECT_EQ(FormatUtcInstant(-1), "1969-12-31 23:59:59");
	EXPECT_EQ(FormatUtcInstant(Utc(2100, 3, 1, 0, 0, 5)), "2100-03-01 00:00:05");
}

} // namespace
} // namespace js::core::test

namespace js::core {
namespace {

TEST(FormatSummary, CutsLongListsForTheLog)
{
	SummaryInput in;
	in.stagger_enabled = true;
	in.timezone = "UTC";
	for (int i = 0; i < 5; i++)
		in.jobs.push_back(SummaryJobLine{"j" + std::to_string(i), "* * * * *", "7 * * * * *", 7, 1772445607, ""});
	in.distribution[7] = 5;
	for (int i = 1; i < 5; i++)
		in.collisions.push_back(SummaryCollision{"j0", "j" + std::to_string(i), 7, 1772445607, 1440});
	in.max_job_lines = 2;
	in.max_collision_lines = 1;
	EXPECT_EQ(FormatSummary(in), "job_stagger: staggering enabled (time zone UTC)\n"
	                             "5 active jobs\n"
	                             "  job  schedule   effective    offset  next fire (UTC)\n"
	                             "  j0   * * * * *  7 * * * * *       7  2026-03-02 10:00:07\n"
	                             "  j1   * * * * *  7 * * * * *       7  2026-03-02 10:00:07\n"
	                             "  ... and 3 more jobs (SELECT stagger_summary() lists all)\n"
	                             "distribution over the minute: :07 5 jobs\n"
	                             "collisions: 4 pairs\n"
	                             "  j0 <-> j1 at second 7, 1440 per day, first 2026-03-02 10:00:07\n"
	                             "  ... and 3 more pairs (SELECT * FROM stagger_collisions() lists all)\n");
}

TEST(FormatSummary, ExclusiveGroupsWithAWarning)
{
	SummaryInput in;
	in.stagger_enabled = true;
	in.timezone = "UTC";
	in.groups = {{"alice",
	              "referrals",
	              {{"nightly", "skip", "30 0 * * * *"}, {"refresh", "wait", "30 */5 * * * *"}},
	              {{"nightly", "refresh", 30, test::Utc(2026, 11, 29, 0, 0, 30), 1}}},
	             {"bob", "referrals", {{"other", "skip", "15 * * * * *"}}, {}}};
	std::string text = FormatSummary(in);
	EXPECT_NE(
	    text.find("exclusive groups: 2 (runs of one group never execute at the same time)\n"
	              "  referrals (role alice): nightly [skip] at 30 0 * * * *, refresh [wait] at 30 */5 * * * *\n"
	              "  warning: nightly and refresh of group referrals fire at the same second (second 30, 1 per day, "
	              "first 2026-11-29 00:00:30): each time one of them skips or waits for the other\n"
	              "  referrals (role bob): other [skip] at 15 * * * * *\n"),
	    std::string::npos)
	    << text;
	in.groups.clear();
	EXPECT_EQ(FormatSummary(in).find("exclusive groups"), std::string::npos) << "no groups: no section";
}

} // namespace
} // namespace js::core
