/*
 * stagger-ctl: aligned text tables (see ctl_table.hpp).
 */
#include "ctl_table.hpp"

#include <algorithm>
#include <sstream>

namespace js::ctl {

namespace {

std::vector<std::string>
SplitLines(const std::string &text)
{
	std::vector<std::string> lines;
	std::string::size_type start = 0;
	for (;;) {
		std::string::size_type end = text.find('\n', start);
		if (end == std::string::npos) {
			lines.push_back(text.substr(start));
			return lines;
		}
		lines.push_back(text.substr(start, end - start));
		start = end + 1;
	}
}

std::string
Pad(const std::string &text, std::size_t width, bool right)
{
	std::size_t used = DisplayWidth(text);
	std::string fill(width > used ? width - used : 0, ' ');
	return right ? fill + text : text + fill;
}

/* Each cell split into its lines, so that widths and heights are known before printing. */
using SplitRow = std::vector<std::vector<std::string>>;

SplitRow
SplitCells(const std::vector<Cell> &row, std::size_t ncols)
{
	SplitRow split(ncols, std::vector<std::string>{std::string()});
	for (std::size_t c = 0; c < ncols && c < row.size(); c++)
		if (row[c])
			split[c] = SplitLines(*row[c]);
	return split;
}

/*
 * One output line of a row: line `line` of each cell. A '+' after a cell says
 * the cell goes on, as psql marks it, so multi-line values stay readable.
 */
void
AppendRowLine(std::ostringstream &out, const Table &table, const SplitRow &cells,
              const std::vector<std::size_t> &widths, std::size_t line)
{
	std::string text;
	for (std::size_t c = 0; c < widths.size(); c++) {
		const std::vector<std::string> &lines = cells[c];
		std::string value = line < lines.size() ? lines[line] : std::string();
		bool more = line + 1 < lines.size();
		bool last_col = c + 1 == widths.size();
		text += c == 0 ? " " : "| ";
		text += Pad(value, widths[c], table.right_aligned[c] && lines.size() == 1);
		text += more ? "+" : (last_col ? "" : " ");
	}
	/* Like psql, no trailing blanks after the last column. */
	text.erase(text.find_last_not_of(' ') + 1);
	out << text << '\n';
}

} // namespace

void
Table::AddColumn(const std::string &header, bool right)
{
	headers.push_back(header);
	right_aligned.push_back(right);
}

std::size_t
DisplayWidth(const std::string &text)
{
	/* Count every byte that does not continue a UTF-8 sequence. */
	return std::count_if(text.begin(), text.end(),
	                     [](char ch) { return (static_cast<unsigned char>(ch) & 0xC0) != 0x80; });
}

std::string
FormatTable(const Table &table, bool row_count_footer)
{
	std::size_t ncols = table.headers.size();
	std::vector<SplitRow> rows;
	rows.reserve(table.rows.size());
	std::vector<std::size_t> widths(ncols);
	for (std::size_t c = 0; c < ncols; c++)
		widths[c] = DisplayWidth(table.headers[c]);
	for (const std::vector<Cell> &row : table.rows) {
		rows.push_back(SplitCells(row, ncols));
		for (std::size_t c = 0; c < ncols; c++)
			for (const std::string &line : rows.back()[c])
				widths[c] = std::max(widths[c], DisplayWidth(line));
	}

	std::ostringstream out;
	std::string header, rule;
	for (std::size_t c = 0; c < ncols; c++) {
		/* Headers are centred, as psql does. */
		std::size_t spare = widths[c] - DisplayWidth(table.headers[c]);
		std::string centred = std::string(spare / 2, ' ') + table.headers[c] + std::string(spare - spare / 2, ' ');
		header += (c == 0 ? " " : " | ") + centred;
		rule += (c == 0 ? "" : "+") + std::string(widths[c] + 2, '-');
	}
	header.erase(header.find_last_not_of(' ') + 1);
	out << header << '\n' << rule << '\n';
	for (const SplitRow &row : rows) {
		std::size_t height = 1;
		for (const std::vector<std::string> &cell : row)
			height = std::max(height, cell.size());
		for (std::size_t line = 0; line < height; line++)
			AppendRowLine(out, table, row, widths, line);
	}
	if (row_count_footer)
		out << '(' << table.rows.size() << (table.rows.size() == 1 ? " row)" : " rows)") << '\n';
	return out.str();
}

std::string
FormatPairs(const std::vector<std::pair<std::string, std::string>> &pairs, int indent)
{
	std::size_t width = 0;
	for (const auto &pair : pairs)
		width = std::max(width, DisplayWidth(pair.first));
	std::ostringstream out;
	std::string margin(indent, ' ');
	for (const auto &pair : pairs) {
		/* A multi-line value continues under its first line. */
		std::vector<std::string> lines = SplitLines(pair.second);
		out << margin << Pad(pair.first, width, false) << "  " << lines[0] << '\n';
		for (std::size_t i = 1; i < lines.size(); i++)
			out << margin << std::string(width + 2, ' ') << lines[i] << '\n';
	}
	return out.str();
}

} // namespace js::ctl
