/*
 * Describe: English descriptions, table-driven.
 */
#include "core/cron.hpp"

#include "cron_test_support.hpp"

#include <gtest/gtest.h>

#include <ostream>

namespace js::core::test {
namespace {

struct DescribeCase {
	const char *text;
	const char *description;
};

void
PrintTo(const DescribeCase &c, std::ostream *os)
{
	*os << '"' << c.text << '"';
}

class DescribeTest : public ::testing::TestWithParam<DescribeCase> {};

TEST_P(DescribeTest, ReadsNaturally)
{
	EXPECT_EQ(Describe(MustParse(GetParam().text)), GetParam().description);
}

INSTANTIATE_TEST_SUITE_P(Required, DescribeTest,
                         ::testing::Values(DescribeCase{"15 */5 * * * *", "at second 15 of every 5th minute"},
                                           DescribeCase{"* * * * *", "every minute"},
                                           DescribeCase{"*/5 * * * *", "every 5th minute"},
                                           DescribeCase{"0 3 * * *", "at 03:00"},
                                           DescribeCase{"30 2 * * 1-5", "at 02:30 on Monday through Friday"},
                                           DescribeCase{"0 * * * *", "at minute 0 of every hour"},
                                           DescribeCase{"@reboot", "once when the scheduler starts"},
                                           DescribeCase{"10 seconds", "every 10 seconds"},
                                           DescribeCase{"* * * * * *", "every second"},
                                           DescribeCase{"0 0 1 * *", "at 00:00 on day 1 of the month"},
                                           DescribeCase{"0 0 $ * *", "at 00:00 on the last day of the month"},
                                           DescribeCase{"0 12 * jan,jul *", "at 12:00 in January and July"},
                                           DescribeCase{"0 0 1 * mon", "at 00:00 on day 1 of the month or on Monday"}));

INSTANTIATE_TEST_SUITE_P(
    TimeOfDay, DescribeTest,
    ::testing::Values(DescribeCase{"1 second", "every second"}, DescribeCase{"59 seconds", "every 59 seconds"},
                      DescribeCase{"0 9,17 * * *", "at 09:00 and 17:00"},
                      DescribeCase{"30 */6 * * *", "at 00:30, 06:30, 12:30 and 18:30"},
                      DescribeCase{"5,10 3 * * *", "at 03:05 and 03:10"}, DescribeCase{"30 0 3 * * *", "at 03:00:30"},
                      DescribeCase{"0 */2 * * *", "at minute 0 of every 2nd hour"},
                      DescribeCase{"0 9-17 * * *", "at minute 0 of hours 9 through 17"},
                      DescribeCase{"*/15 9-17 * * *", "every 15th minute of hours 9 through 17"},
                      DescribeCase{"* 3 * * *", "every minute of hour 3"},
                      DescribeCase{"0-30/10 * * * *", "every 10th minute from minute 0 through 30"},
                      DescribeCase{"5-59/15 * * * *", "every 15th minute from minute 5 through 50"},
                      DescribeCase{"1-5,30 * * * *", "at minutes 1 through 5 and 30 of every hour"},
                      DescribeCase{"*/30 * * * *", "at minutes 0 and 30 of every hour"},
                      DescribeCase{"0,1 * * * *", "at minutes 0 and 1 of every hour"},
                      DescribeCase{"7 1,2,3,4,5,6,7 * * *", "at minute 7 of hours 1 through 7"},
                      DescribeCase{"0 0,1,2,5,6,7,9 * * *", "at minute 0 of hours 0 through 2, 5 through 7 and 9"},
                      DescribeCase{"*/2 1,11,21 * * *", "every 2nd minute of every 10th hour from hour 1 through 21"},
                      DescribeCase{"*/10 * * * * *", "every 10th second"},
                      DescribeCase{"15 * * * * *", "at second 15 of every minute"},
                      DescribeCase{"0,30 * * * * *", "at seconds 0 and 30 of every minute"},
                      DescribeCase{"* */2 * * * *", "every second of every 2nd minute"},
                      DescribeCase{"* 5 * * * *", "every second of minute 5 of every hour"},
                      DescribeCase{"* * 3 * * *", "every second of hour 3"},
                      DescribeCase{"*/20 30 4 * * *", "every 20th second of minute 30 of hour 4"},
                      DescribeCase{"0 */5 * * * *", "every 5th minute"},
                      DescribeCase{"0 0 * * * *", "at minute 0 of every hour"},
                      DescribeCase{"@hourly", "at minute 0 of every hour"}, DescribeCase{"@daily", "at 00:00"},
                      DescribeCase{"0 12 * 1-12 *", "at 12:00"}));

INSTANTIATE_TEST_SUITE_P(
    Days, DescribeTest,
    ::testing::Values(
        DescribeCase{"0 0 */2 * *", "at 00:00 on every 2nd day of the month"},
        DescribeCase{"0 0 1,15 * *", "at 00:00 on days 1 and 15 of the month"},
        DescribeCase{"0 0 1-7 * *", "at 00:00 on days 1 through 7 of the month"},
        DescribeCase{"0 0 1,$ * *", "at 00:00 on day 1 and the last day of the month"},
        DescribeCase{"0 0 1,15,$ * *", "at 00:00 on days 1, 15 and the last day of the month"},
        DescribeCase{"0 0 */10,$ * *", "at 00:00 on every 10th day and the last day of the month"},
        DescribeCase{"0 0 2-30/2 * *", "at 00:00 on every 2nd day from day 2 through 30 of the month"},
        DescribeCase{"0 0 * * 0", "at 00:00 on Sunday"}, DescribeCase{"0 0 * * 7", "at 00:00 on Sunday"},
        DescribeCase{"@weekly", "at 00:00 on Sunday"},
        DescribeCase{"0 0 * * sat,sun", "at 00:00 on Saturday and Sunday"},
        DescribeCase{"0 0 * * fri-7", "at 00:00 on Friday through Sunday"},
        DescribeCase{"0 0 * * fri-sun", "at 00:00 on no day of the week (never fires)"},
        DescribeCase{"5-1 * * * *", "never: the minute field selects nothing"},
        DescribeCase{"0 0 1 * mon-sun", "at 00:00 on day 1 of the month"},
        DescribeCase{"0 0 31-1 * mon", "at 00:00 on Monday"},
        DescribeCase{"0 0 * * 0,3", "at 00:00 on Sunday and Wednesday"},
        DescribeCase{"0 0 * * */2", "at 00:00 on Tuesday, Thursday, Saturday and Sunday"},
        DescribeCase{"0 0 * * 1,3,5", "at 00:00 on Monday, Wednesday and Friday"},
        DescribeCase{"0 0 13 * fri", "at 00:00 on day 13 of the month or on Friday"},
        DescribeCase{"0 0 1,15 * sat,sun", "at 00:00 on days 1 and 15 of the month or on Saturday and Sunday"},
        DescribeCase{"0 0 */2 * mon", "at 00:00 on every 2nd day of the month if it is Monday"},
        DescribeCase{"0 0 13 * */7", "at 00:00 on day 13 of the month if it is Sunday"},
        DescribeCase{"0 0 1-7 * */2", "at 00:00 on days 1 through 7 of the month if it is Tuesday, Thursday, "
                                      "Saturday or Sunday"},
        DescribeCase{"0 0 1-31 * mon", "at 00:00"}, /* either: every day matches */
        DescribeCase{"0 0 * * 0-6", "at 00:00"}, DescribeCase{"0 0 * * 0-7", "at 00:00"}));

INSTANTIATE_TEST_SUITE_P(
    Months, DescribeTest,
    ::testing::Values(DescribeCase{"0 0 1 jan-mar *", "at 00:00 on day 1 of the month in January through March"},
                      DescribeCase{"0 0 1 */3 *", "at 00:00 on day 1 of the month in January, April, July and October"},
                      DescribeCase{"@yearly", "at 00:00 on day 1 of the month in January"},
                      DescribeCase{"0 0 $ 2 *", "at 00:00 on the last day of the month in February"},
                      DescribeCase{"*/5 * * dec *", "every 5th minute in December"},
                      DescribeCase{"0 9 * 6-8 mon-fri", "at 09:00 on Monday through Friday in June through August"},
                      DescribeCase{"0 0 30 2 *", "at 00:00 on day 30 of the month in February (never fires)"}));

} // namespace
} // namespace js::core::test
