/*
 * stagger-ctl: the command-line tool of job_stagger. Shows the scheduler's
 * state, turns staggering on and off (waiting until the scheduler has applied
 * the change), runs the rollout checks, writes KPI and analysis reports and
 * draws the timeline of the last or next minutes.
 *
 * main() parses the command line, connects, dispatches, and is the only place
 * that prints errors and picks the exit code (see ctl_error.hpp).
 */
#include "ctl_commands.hpp"
#include "ctl_conn.hpp"
#include "ctl_error.hpp"
#include "ctl_options.hpp"

#include <iostream>

namespace js::ctl {

namespace {

constexpr const char *kVersion = "0.2";

void
PrintError(const CtlError &error)
{
	std::cerr << "stagger-ctl: " << error.what() << '\n';
	if (!error.Detail().empty()) {
		/* libpq and server details may span lines; indent each under the message. */
		std::string detail = error.Detail();
		std::string::size_type start = 0;
		while (start <= detail.size()) {
			std::string::size_type end = detail.find('\n', start);
			if (end == std::string::npos)
				end = detail.size();
			std::string line = detail.substr(start, end - start);
			/* libpq indents its own hints with a tab; keep the indentation even. */
			if (!line.empty() && line[0] == '\t')
				line.replace(0, 1, "  ");
			std::cerr << "  " << line << '\n';
			start = end + 1;
		}
	}
	if (!error.Hint().empty())
		std::cerr << "hint: " << error.Hint() << '\n';
}

int
Dispatch(const Options &options)
{
	Connection conn = Connection::Open(options.connect);
	const std::string &command = options.command;
	if (command == "status")
		return RunStatus(conn, options);
	if (command == "enable" || command == "disable")
		return RunToggle(conn, options, command == "enable");
	if (command == "check")
		return RunCheck(conn, options);
	if (command == "kpi")
		return RunKpi(conn, options);
	if (command == "timeline")
		return RunTimeline(conn, options);
	return RunReport(conn, options);
}

int
Main(int argc, char **argv)
{
	try {
		Options options = ParseOptions(argc, argv);
		if (options.help) {
			std::cout << (options.command.empty() ? UsageText() : CommandHelp(options.command));
			return kExitOk;
		}
		if (options.version) {
			std::cout << "stagger-ctl (job_stagger) " << kVersion << '\n';
			return kExitOk;
		}
		return Dispatch(options);
	} catch (const CtlError &error) {
		PrintError(error);
		return error.Code();
	} catch (const std::exception &error) {
		std::cerr << "stagger-ctl: " << error.what() << '\n';
		return kExitOther;
	}
}

} // namespace

} // namespace js::ctl

int
main(int argc, char **argv)
{
	return js::ctl::Main(argc, argv);
}
