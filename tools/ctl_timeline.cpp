/*
 * stagger-ctl timeline: the rows of stagger_timeline(minutes, source), as
 * they are (one character per second, readable in a plain terminal).
 */
#include "ctl_commands.hpp"

#include <iostream>

namespace js::ctl {

int
RunTimeline(Connection &conn, const Options &options)
{
	conn.RequireExtension({"stagger_timeline"}, {});
	Result res = conn.Exec("SELECT line FROM stagger_timeline($1::integer, $2::text)",
	                       {std::to_string(options.minutes), options.source});
	for (int r = 0; r < res.Rows(); r++)
		std::cout << res.Get(r, 0) << '\n';
	return kExitOk;
}

} // namespace js::ctl
