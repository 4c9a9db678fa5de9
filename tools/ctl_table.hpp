/*
 * stagger-ctl: a small aligned-table formatter in the spirit of psql's
 * "aligned" output, so that every command prints results the way a
 * PostgreSQL user expects to read them.
 */
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace js::ctl {

using Cell = std::optional<std::string>; /* std::nullopt prints as an empty cell, as psql's NULL */

struct Table {
	std::vector<std::string> headers;
	std::vector<bool> right_aligned; /* per column; numbers are right-aligned as in psql */
	std::vector<std::vector<Cell>> rows;

	void AddColumn(const std::string &header, bool right = false);
	void
	AddRow(std::vector<Cell> row)
	{
		rows.push_back(std::move(row));
	}
};

/*
 * Renders the table: a header, a rule, one line per row (cells with newlines
 * continue on further lines marked with '+', like psql) and, with
 * row_count_footer, "(N rows)".
 */
std::string FormatTable(const Table &table, bool row_count_footer = true);

/* Renders label/value pairs as two aligned columns, each line indented. */
std::string FormatPairs(const std::vector<std::pair<std::string, std::string>> &pairs, int indent = 2);

/* Characters on screen of a UTF-8 string (code points; good enough for alignment). */
std::size_t DisplayWidth(const std::string &text);

} // namespace js::ctl
