/*
 * libFuzzer target: the job_stagger.offsets parser (core::ParseOffsetOverrides,
 * which the PostgreSQL wrapper in src/pg calls unchanged). Besides crashes
 * and sanitizer reports it checks the promises of stagger.hpp: every kept
 * offset is 0-59 under a non-empty name, and every entry is either kept or
 * reported (never both, never lost).
 */
#include "core/stagger.hpp"
#include "fuzz_support.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace {

using js::fuzz::Require;

/* Entries as the parser counts them: comma-separated pieces, ignoring a blank tail. */
std::size_t
CountEntries(std::string_view text)
{
	std::size_t entries = 0;
	while (text.find_first_not_of(" \t\n\r\f\v") != std::string_view::npos) {
		const std::size_t comma = text.find(',');
		entries++;
		text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
	}
	return entries;
}

} // namespace

extern "C" int
LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	const std::string_view text(reinterpret_cast<const char *>(data), size);
	const js::core::OffsetOverrides parsed = js::core::ParseOffsetOverrides(text);
	for (const auto &[name, offset] : parsed.offsets) {
		Require(!name.empty(), "a kept entry has a name", text);
		Require(js::core::IsValidOffset(offset), "a kept offset is 0-59", text);
	}
	for (const std::string &error : parsed.errors)
		Require(!error.empty(), "an error says something", text);
	Require(parsed.offsets.size() + parsed.errors.size() == CountEntries(text), "every entry kept or reported", text);
	return 0;
}
