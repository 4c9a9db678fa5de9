/*
 * RenderTimeline: exact rows for runs, failures and skipped slots, cut-off
 * runs at both edges, the concurrency row, several minutes, names (long,
 * UTF-8, control characters) and column alignment.
 */
#include "core/timeline.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace js::core::test {
namespace {

/* A row's 60 * minutes second characters (separators and name removed). */
std::string
Seconds(const std::string &row)
{
	std::string out;
	for (std::size_t i = kTimelineNameWidth; i < row.size(); i++)
		if (row[i] != '|')
			out += row[i];
	return out;
}

std::string
Idle(int n)
{
	return std::string(static_cast<std::size_t>(n), '.');
}

TEST(TimelineMarks, RunStartRunningAndEnd)
{
	/* [5, 8): start at 5, running 6 and 7 */
	EXPECT_EQ(TimelineMarks({{5, 8, false, false}}, 1), Idle(5) + ">##" + Idle(52));
	/* a failed run ends in x at its last second */
	EXPECT_EQ(TimelineMarks({{5, 8, true, false}}, 1), Idle(5) + ">#x" + Idle(52));
	/* a run shorter than a second takes its start second; failed, x wins */
	EXPECT_EQ(TimelineMarks({{0, 0, false, false}}, 1), ">" + Idle(59));
	EXPECT_EQ(TimelineMarks({{0, 1, true, false}}, 1), "x" + Idle(59));
	/* a skipped slot */
	EXPECT_EQ(TimelineMarks({{59, 59, false, true}}, 1), Idle(59) + "s");
}

TEST(TimelineMarks, CutAtTheEdges)
{
	/* began before the picture: no start mark */
	EXPECT_EQ(TimelineMarks({{-10, 3, false, false}}, 1), "###" + Idle(57));
	/* still going at its end: no x */
	EXPECT_EQ(TimelineMarks({{58, 1000, true, false}}, 1), Idle(58) + ">#");
	/* wholly outside */
	EXPECT_EQ(TimelineMarks({{-10, -2, true, false}, {60, 70, false, false}, {-1, -1, false, true}}, 1), Idle(60));
	/* extreme values do not overflow */
	EXPECT_EQ(TimelineMarks({{INT64_MIN, INT64_MAX, true, false}}, 1), std::string(60, '#'));
	EXPECT_EQ(TimelineMarks({{INT64_MAX, INT64_MAX, true, false}}, 1), Idle(60));
}

TEST(TimelineMarks, MarksThatMeet)
{
	/* a slot skipped while the previous run still runs shows s; a run ending where the next starts shows x */
	EXPECT_EQ(TimelineMarks({{0, 10, false, false}, {5, 5, false, true}}, 1), ">####s####" + Idle(50));
	EXPECT_EQ(TimelineMarks({{0, 3, true, false}, {2, 4, false, false}}, 1), ">#x#" + Idle(56));
	EXPECT_EQ(TimelineMarks({{0, 3, false, false}, {2, 4, false, false}}, 1), ">#>#" + Idle(56));
}

TEST(TimelineMarks, MinutesClamped)
{
	EXPECT_EQ(TimelineMarks({}, 0).size(), 60u);
	EXPECT_EQ(TimelineMarks({}, 2).size(), 120u);
	EXPECT_EQ(TimelineMarks({}, 1000).size(), 3600u);
}

TEST(ConcurrencyChar, DigitsThenPlus)
{
	EXPECT_EQ(ConcurrencyChar(0), '.');
	EXPECT_EQ(ConcurrencyChar(1), '1');
	EXPECT_EQ(ConcurrencyChar(9), '9');
	EXPECT_EQ(ConcurrencyChar(10), '+');
	EXPECT_EQ(ConcurrencyChar(65535), '+');
}

TEST(TimelineName, PaddedCutAndSanitised)
{
	EXPECT_EQ(TimelineName("backup", 8), "backup  ");
	EXPECT_EQ(TimelineName("exactly8", 8), "exactly8");
	EXPECT_EQ(TimelineName("longer_name", 8), "longer_~");
	EXPECT_EQ(TimelineName("a\nb\tc\x7f", 8), "a?b?c?  ");
	/* UTF-8 counts one column per code point and is never cut inside one */
	EXPECT_EQ(TimelineName("caf\xc3\xa9", 5), "caf\xc3\xa9 ");
	EXPECT_EQ(TimelineName("\xc3\xa9\xc3\xa9\xc3\xa9", 2), "\xc3\xa9~");
	/* broken UTF-8 */
	EXPECT_EQ(TimelineName("\xff\xc3", 3), "?? ");
	EXPECT_EQ(TimelineName("", 3), "   ");
}

TEST(RenderTimeline, OneMinuteExact)
{
	TimelineInput in;
	in.minutes = 1;
	in.minute_labels = {"12:03"};
	in.jobs = {{"backup", {{4, 8, true, false}}}, {"report", {{7, 10, false, false}, {20, 20, false, true}}}};
	std::vector<std::string> rows = RenderTimeline(in);
	ASSERT_EQ(rows.size(), 5u);
	EXPECT_EQ(rows[0], "job                 |12:03     10   15   20   25   30   35   40   45   50   55   |");
	EXPECT_EQ(rows[1], "backup              |....>##x....................................................|");
	EXPECT_EQ(rows[2], "report              |.......>##..........s.......................................|");
	EXPECT_EQ(rows[3], "running             |....111211..................................................|");
	EXPECT_EQ(rows[4].rfind("legend: ", 0), 0u);
}

TEST(RenderTimeline, ConcurrencyCountsEachJobOnceAndSkippedRunning)
{
	TimelineInput in;
	in.legend = false;
	for (int j = 0; j < 12; j++)
		in.jobs.push_back({"j" + std::to_string(j), {{0, 2 + j, false, false}, {1, 3, false, false}}});
	/* the slot skipped during a run still counts the job as running */
	in.jobs.push_back({"skipper", {{0, 5, false, false}, {2, 2, false, true}}});
	std::vector<std::string> rows = RenderTimeline(in);
	ASSERT_EQ(rows.size(), 15u);
	/* second 0: 13 jobs; 4: 9 of j + skipper = 10; 5: j4..j11 = 8 (skipper done) */
	EXPECT_EQ(Seconds(rows[14]).substr(0, 16), "+++++87654321...");
	EXPECT_EQ(Seconds(rows[13]).substr(0, 6), ">#s##.");
}

TEST(RenderTimeline, SeveralMinutesAligned)
{
	TimelineInput in;
	in.minutes = 3;
	in.minute_labels = {"23:59", "00:00"}; /* a missing label stays blank */
	in.jobs = {{"a_very_long_job_name_indeed", {{55, 65, false, false}}}, {"x", {{179, 179, false, false}}}};
	std::vector<std::string> rows = RenderTimeline(in);
	ASSERT_EQ(rows.size(), 5u);
	const std::size_t width = kTimelineNameWidth + 3 * 61 + 1;
	for (std::size_t r = 0; r < 4; r++) {
		EXPECT_EQ(rows[r].size(), width) << r;
		for (int m = 0; m <= 3; m++)
			EXPECT_EQ(rows[r][kTimelineNameWidth + m * 61], '|') << r << " " << m;
	}
	EXPECT_EQ(rows[0].substr(kTimelineNameWidth, 8), "|23:59  ");
	EXPECT_EQ(rows[0].substr(kTimelineNameWidth + 61, 8), "|00:00  ");
	EXPECT_EQ(rows[0].substr(kTimelineNameWidth + 122, 12), "|          1");
	EXPECT_EQ(rows[1].substr(0, kTimelineNameWidth), "a_very_long_job_nam~");
	EXPECT_EQ(Seconds(rows[1]), Idle(55) + ">#########" + Idle(115));
	EXPECT_EQ(Seconds(rows[2]), Idle(179) + ">");
	EXPECT_EQ(Seconds(rows[3]), Idle(55) + "1111111111" + Idle(114) + "1");
}

TEST(RenderTimeline, NoJobs)
{
	TimelineInput in;
	in.minute_labels = {"a label far too long"};
	std::vector<std::string> rows = RenderTimeline(in);
	ASSERT_EQ(rows.size(), 3u);
	EXPECT_EQ(rows[0], "job                 |a label ~ 10   15   20   25   30   35   40   45   50   55   |");
	EXPECT_EQ(Seconds(rows[1]), Idle(60));
}

} // namespace
} // namespace js::core::test
