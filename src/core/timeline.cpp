/*
 * RenderTimeline: the ASCII picture of a few minutes (see timeline.hpp).
 */
#include "core/timeline.hpp"

#include <algorithm>

namespace js::core {

namespace {

constexpr char kIdle = '.';
constexpr char kStart = '>';
constexpr char kRunning = '#';
constexpr char kFailed = 'x';
constexpr char kSkipped = 's';
constexpr char kSeparator = '|';
constexpr int kConcurrencyDigits = 9; /* '1'-'9', then '+' */
constexpr int kRulerStep = 5;
constexpr int kFirstRulerMark = 10; /* 0-9 hold the minute label */

/* Which mark wins when two meet in one second (higher wins). */
int
Rank(char c)
{
	switch (c) {
	case kFailed:
		return 4;
	case kSkipped:
		return 3;
	case kStart:
		return 2;
	case kRunning:
		return 1;
	default:
		return 0;
	}
}

/* One job's row while it is drawn: the marks, and the seconds in which it runs (an 's' can hide a '#'). */
struct Drawing {
	std::string marks;
	std::vector<bool> busy;
};

void
Put(std::string &marks, std::int64_t second, char c)
{
	if (second < 0 || second >= static_cast<std::int64_t>(marks.size()))
		return;
	char &cell = marks[static_cast<std::size_t>(second)];
	if (Rank(c) > Rank(cell))
		cell = c;
}

/* Draws one run: its start, running seconds and failure mark, cut to the picture. */
void
DrawRun(Drawing &d, const TimelineRun &run)
{
	const std::int64_t total = static_cast<std::int64_t>(d.marks.size());
	if (run.skipped) {
		Put(d.marks, run.start, kSkipped);
		return;
	}
	if (run.start >= total)
		return;
	const std::int64_t end = std::max(run.end, run.start + 1);
	const std::int64_t from = std::max<std::int64_t>(run.start, 0);
	const std::int64_t to = std::min(end, total);
	for (std::int64_t s = from; s < to; s++) {
		Put(d.marks, s, kRunning);
		d.busy[static_cast<std::size_t>(s)] = true;
	}
	Put(d.marks, run.start, kStart);
	if (run.failed)
		Put(d.marks, end - 1, kFailed);
}

Drawing
Draw(const std::vector<TimelineRun> &runs, int minutes)
{
	const std::size_t seconds = static_cast<std::size_t>(minutes) * kTimelineSecondsPerMinute;
	Drawing d{std::string(seconds, kIdle), std::vector<bool>(seconds, false)};
	for (const TimelineRun &run : runs)
		DrawRun(d, run);
	return d;
}

int
ClampMinutes(int minutes)
{
	return std::clamp(minutes, 1, kTimelineMaxMinutes);
}

/* The ruler of one minute: its label at 0, then the seconds 10, 15, ..., 55. */
std::string
Ruler(const std::string &label)
{
	std::string ruler(kTimelineSecondsPerMinute, ' ');
	std::string cut = TimelineName(label, kTimelineMaxLabelWidth);
	cut.erase(cut.find_last_not_of(' ') + 1);
	ruler.replace(0, cut.size(), cut);
	for (int s = kFirstRulerMark; s < kTimelineSecondsPerMinute; s += kRulerStep) {
		std::string mark = std::to_string(s);
		ruler.replace(static_cast<std::size_t>(s), mark.size(), mark);
	}
	return ruler;
}

/* A row: the name column, then each minute's 60 characters after a separator, and a closing one. */
std::string
Row(const std::string &name, const std::string &seconds, int minutes)
{
	std::string row = TimelineName(name, kTimelineNameWidth);
	row.reserve(row.size() + static_cast<std::size_t>(minutes) * (kTimelineSecondsPerMinute + 1) + 1);
	for (int m = 0; m < minutes; m++) {
		row += kSeparator;
		row.append(seconds, static_cast<std::size_t>(m) * kTimelineSecondsPerMinute, kTimelineSecondsPerMinute);
	}
	row += kSeparator;
	return row;
}

/* Bytes in the UTF-8 sequence this byte starts; 0 if it cannot start one (or is a control character). */
std::size_t
Utf8Length(unsigned char lead)
{
	if (lead < 0x20 || lead == 0x7F)
		return 0;
	if (lead < 0x80)
		return 1;
	if (lead >= 0xC2 && lead < 0xE0)
		return 2;
	if (lead >= 0xE0 && lead < 0xF0)
		return 3;
	if (lead >= 0xF0 && lead < 0xF5)
		return 4;
	return 0;
}

} // namespace

char
ConcurrencyChar(int n)
{
	if (n <= 0)
		return kIdle;
	if (n > kConcurrencyDigits)
		return '+';
	return static_cast<char>('0' + n);
}

/* Code points are copied whole; control characters and broken UTF-8 become '?', so a name cannot break a row. */
std::string
TimelineName(const std::string &name, int width)
{
	std::string out;
	int columns = 0;
	std::size_t i = 0;
	while (i < name.size() && columns < width) {
		const std::size_t len = Utf8Length(static_cast<unsigned char>(name[i]));
		bool valid = len > 0 && i + len <= name.size();
		for (std::size_t k = 1; valid && k < len; k++)
			valid = (static_cast<unsigned char>(name[i + k]) & 0xC0) == 0x80;
		if (valid)
			out.append(name, i, len);
		else
			out += '?';
		i += valid ? len : 1;
		columns++;
	}
	if (i < name.size() && width > 0) {
		/* cut: the last column says so */
		std::size_t back = out.size();
		do
			back--;
		while (back > 0 && (static_cast<unsigned char>(out[back]) & 0xC0) == 0x80);
		out.erase(back);
		out += '~';
	}
	out.append(static_cast<std::size_t>(std::max(0, width - columns)), ' ');
	return out;
}

std::string
TimelineMarks(const std::vector<TimelineRun> &runs, int minutes)
{
	return Draw(runs, ClampMinutes(minutes)).marks;
}

std::vector<std::string>
RenderTimeline(const TimelineInput &input)
{
	const int minutes = ClampMinutes(input.minutes);
	std::vector<std::string> rows;
	rows.reserve(input.jobs.size() + 3);

	std::string ruler;
	for (int m = 0; m < minutes; m++)
		ruler += Ruler(static_cast<std::size_t>(m) < input.minute_labels.size() ? input.minute_labels[m] : "");
	rows.push_back(Row("job", ruler, minutes));

	std::vector<int> running(static_cast<std::size_t>(minutes) * kTimelineSecondsPerMinute, 0);
	for (const TimelineJob &job : input.jobs) {
		Drawing d = Draw(job.runs, minutes);
		for (std::size_t s = 0; s < d.busy.size(); s++)
			running[s] += d.busy[s] ? 1 : 0;
		rows.push_back(Row(job.name, d.marks, minutes));
	}

	std::string counts;
	counts.reserve(running.size());
	for (int n : running)
		counts += ConcurrencyChar(n);
	rows.push_back(Row("running", counts, minutes));
	if (input.legend)
		rows.push_back("legend: > run starts  # running  x failed, timed out or crashed (last second)  s skipped  "
		               ". idle; running: jobs per second (+ for 10 or more)");
	return rows;
}

} // namespace js::core
