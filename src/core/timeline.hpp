/*
 * The picture of a few minutes, one character per second (issue 12,
 * stagger_timeline()): a header row with a ruler, one row per job, a row
 * with the number of jobs running in each second, and a legend.
 *
 *   job                 |12:03     10   15   20   25   30   35   40   45   50   55   |
 *   backup              |....>###x...................................................|
 *   report              |.......>##..........s.......................................|
 *   running             |....11112111................................................|
 *
 * Each minute is a '|' and 60 characters, so the columns of every row line up
 * in a plain terminal: the output is ASCII except for job names, which are
 * cut to kTimelineNameWidth code points, with control characters replaced.
 *
 * Input times are whole seconds relative to the start of the first minute.
 * A run occupies the seconds [start, end) (at least its start second): '>'
 * marks its start second, '#' the others, and a run that failed, timed out or
 * crashed ends in 'x' at its last second. A skipped slot is an 's' at its
 * scheduled second. Parts outside the picture are cut off (a run that began
 * before it has no '>'). When marks meet in one second, the more telling wins:
 * x, then s, then >, then #.
 *
 * Pure and deterministic: the caller supplies the minute labels (e.g. "12:03"
 * in the session's time zone).
 */
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace js::core {

constexpr int kTimelineSecondsPerMinute = 60;
constexpr int kTimelineMaxMinutes = 60;   /* 60 columns per minute: 60 minutes make rows of 3,681 characters */
constexpr int kTimelineNameWidth = 20;    /* the first column */
constexpr int kTimelineMaxLabelWidth = 9; /* a minute label is cut to fit before the "10" mark */

struct TimelineRun {
	std::int64_t start = 0; /* first second, relative to the first minute */
	std::int64_t end = 0;   /* one past the last second; end <= start means the start second only */
	bool failed = false;    /* failed, timed out or crashed: 'x' at the last second */
	bool skipped = false;   /* a skipped slot: 's' at start, and no running seconds */
};

struct TimelineJob {
	std::string name;
	std::vector<TimelineRun> runs;
};

struct TimelineInput {
	int minutes = 1;                        /* 1..kTimelineMaxMinutes (clamped) */
	std::vector<std::string> minute_labels; /* one per minute; missing ones stay blank */
	std::vector<TimelineJob> jobs;          /* in display order */
	bool legend = true;                     /* end with a legend row */
};

/* The rows of the picture: header, one per job, "running", then the legend if asked. */
std::vector<std::string> RenderTimeline(const TimelineInput &input);

/* The per-second characters of one job's row (minutes * 60 of them, no separators). */
std::string TimelineMarks(const std::vector<TimelineRun> &runs, int minutes);

/* The character for n jobs running in one second: '.' for 0, '1'-'9', '+' for 10 or more. */
char ConcurrencyChar(int n);

/* The name cut or padded to exactly `width` display columns (counting UTF-8 code points). */
std::string TimelineName(const std::string &name, int width);

} // namespace js::core

#include "core/cpp_only.hpp"
