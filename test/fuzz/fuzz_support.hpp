/*
 * Shared by the libFuzzer targets: a broken promise of the code under test
 * aborts with the input, which libFuzzer then saves as a crash artifact.
 */
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace js::fuzz {

inline void
Require(bool condition, const char *what, std::string_view text)
{
	if (condition)
		return;
	std::fprintf(stderr, "broken promise: %s for input \"%.*s\"\n", what, static_cast<int>(text.size()), text.data());
	std::abort();
}

} // namespace js::fuzz
