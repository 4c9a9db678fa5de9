/*
 * stagger-ctl: the commands. Each returns the process exit code, or throws a
 * CtlError that main() prints.
 */
#pragma once

#include "ctl_conn.hpp"
#include "ctl_options.hpp"

#include <string>

namespace js::ctl {

int RunStatus(Connection &conn, const Options &options);
int RunToggle(Connection &conn, const Options &options, bool enable);
int RunCheck(Connection &conn, const Options &options);
int RunKpi(Connection &conn, const Options &options);
int RunReport(Connection &conn, const Options &options);
int RunTimeline(Connection &conn, const Options &options);

/* Why no scheduler runs (a standby, or the launcher is down), with `consequence` appended to the hint. */
CtlError SchedulerDownError(bool standby, const std::string &consequence);

/* "== title ==" and a blank line before it, so the sections of a report stand out. */
std::string Heading(const std::string &title);

/*
 * Makes sure `text` is a valid interval for `option` (--window, --since),
 * reporting the server's own message as a usage error if it is not.
 */
void RequireInterval(Connection &conn, const std::string &option, const std::string &text);

} // namespace js::ctl
