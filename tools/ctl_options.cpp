/*
 * stagger-ctl: command-line parsing and help (see ctl_options.hpp). Options
 * may come before or after the command; each command accepts only its own
 * options, so a misplaced one is reported instead of silently ignored.
 */
#include "ctl_options.hpp"

#include "ctl_error.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <map>
#include <set>
#include <vector>

namespace js::ctl {

namespace {

/* stagger_timeline() draws 60 columns per minute: at most an hour. */
constexpr long kMaxTimelineMinutes = 60;

struct CommandInfo {
	const char *synopsis;
	const char *description;
	std::set<std::string> options; /* long names besides the connection options */
};

/* In the order the usage text lists them. */
const std::vector<std::pair<std::string, CommandInfo>> &
Commands()
{
	static const std::vector<std::pair<std::string, CommandInfo>> commands = {
	    {"status",
	     {"status",
	      "Show whether the scheduler runs, job_stagger.enabled as configured and as applied by the\n"
	      "scheduler (and whether a reload is pending), active jobs, the last hour's runs by status,\n"
	      "and stagger_summary().",
	      {}}},
	    {"enable",
	     {"enable [--timeout SECONDS]",
	      "Turn staggering on: ALTER SYSTEM SET job_stagger.enabled = on, reload, and wait until the\n"
	      "scheduler has applied it (default --timeout 10). Needs a superuser (ALTER SYSTEM).",
	      {"timeout"}}},
	    {"disable",
	     {"disable [--timeout SECONDS]",
	      "Turn staggering off: ALTER SYSTEM SET job_stagger.enabled = off, reload, and wait until the\n"
	      "scheduler has applied it (default --timeout 10). Needs a superuser (ALTER SYSTEM).",
	      {"timeout"}}},
	    {"check",
	     {"check [--window INTERVAL]",
	      "Run the rollout checks, stagger_rollout_check(window) (default --window '30 minutes'), and\n"
	      "print PASS/FAIL per check. Exit status 1 if any check failed.",
	      {"window"}}},
	    {"kpi",
	     {"kpi [--since INTERVAL] [--output-dir DIR]",
	      "Take a KPI snapshot over the last INTERVAL, stagger_kpi_snapshot(since) (default --since\n"
	      "'6 hours'), print it and write it to DIR/kpi_<YYYYmmdd_HHMMSS>.txt (default --output-dir\n"
	      "reports, created if missing).",
	      {"since", "output-dir"}}},
	    {"report",
	     {"report [--limit N]",
	      "Print the analysis views: job_stagger.concurrency, duration_comparison, success_rate,\n"
	      "start_distribution, overlaps and offset_verification, at most N rows each (default 20).",
	      {"limit"}}},
	    {"timeline",
	     {"timeline [--minutes N] [--source history|simulation]",
	      "Draw stagger_timeline(N, source): one row per job with one character per second (> run\n"
	      "starts, # running, x failed/timed out/crashed, s skipped, . idle) and the number of jobs\n"
	      "running in each second. --source history (default): the last N whole minutes from the run\n"
	      "history; simulation: the next N whole minutes as the simulator predicts them. N is 1 to 60\n"
	      "(default 1). Times are in the session's time zone (PGTZ sets it).",
	      {"minutes", "source"}}},
	};
	return commands;
}

const CommandInfo *
FindCommand(const std::string &name)
{
	for (const auto &[command, info] : Commands())
		if (command == name)
			return &info;
	return nullptr;
}

double
ParseSeconds(const std::string &text)
{
	char *end = nullptr;
	errno = 0;
	double value = std::strtod(text.c_str(), &end);
	if (text.empty() || *end != '\0' || errno != 0 || !std::isfinite(value) || value <= 0)
		throw UsageError("invalid --timeout \"" + text + "\": expected a positive number of seconds");
	return value;
}

long
ParseLimit(const std::string &text)
{
	char *end = nullptr;
	errno = 0;
	long value = std::strtol(text.c_str(), &end, 10);
	if (text.empty() || *end != '\0' || errno != 0 || value <= 0)
		throw UsageError("invalid --limit \"" + text + "\": expected a positive whole number");
	return value;
}

int
ParseMinutes(const std::string &text)
{
	char *end = nullptr;
	errno = 0;
	long value = std::strtol(text.c_str(), &end, 10);
	if (text.empty() || *end != '\0' || errno != 0 || value < 1 || value > kMaxTimelineMinutes)
		throw UsageError("invalid --minutes \"" + text + "\": expected a whole number from 1 to 60");
	return static_cast<int>(value);
}

std::string
ParseSource(const std::string &text)
{
	if (text != "history" && text != "simulation")
		throw UsageError("invalid --source \"" + text + "\": expected history or simulation");
	return text;
}

/* Stores the value of one option (long name, without dashes). */
void
SetOption(Options &options, const std::string &name, const std::string &value)
{
	if (name == "dbname")
		options.connect.dbname = value;
	else if (name == "host")
		options.connect.host = value;
	else if (name == "port")
		options.connect.port = value;
	else if (name == "username")
		options.connect.user = value;
	else if (name == "timeout")
		options.timeout_s = ParseSeconds(value);
	else if (name == "window")
		options.window = value;
	else if (name == "since")
		options.since = value;
	else if (name == "output-dir")
		options.output_dir = value;
	else if (name == "limit")
		options.limit = ParseLimit(value);
	else if (name == "minutes")
		options.minutes = ParseMinutes(value);
	else if (name == "source")
		options.source = ParseSource(value);
}

/*
 * Splits "--name=value", "--name value", "-d value" and "-dvalue" into the
 * long name and its value; advances `i` past a separate value.
 */
std::pair<std::string, std::string>
ReadOption(int argc, char **argv, int &i)
{
	static const std::set<std::string> with_value = {"dbname", "host",       "port",  "username", "timeout", "window",
	                                                 "since",  "output-dir", "limit", "minutes",  "source"};
	static const std::map<char, std::string> short_names = {
	    {'d', "dbname"}, {'h', "host"}, {'p', "port"}, {'U', "username"}};
	std::string arg = argv[i];
	std::string name, value;
	bool has_value = false;
	if (arg.rfind("--", 0) == 0) {
		std::string::size_type eq = arg.find('=');
		name = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
		has_value = eq != std::string::npos;
		if (has_value)
			value = arg.substr(eq + 1);
	} else if (arg == "-?") {
		name = "help";
	} else if (arg == "-V") {
		name = "version";
	} else if (arg.size() >= 2 && short_names.count(arg[1]) != 0) {
		name = short_names.at(arg[1]);
		has_value = arg.size() > 2;
		value = arg.substr(2);
	} else {
		throw UsageError("unknown option \"" + arg + "\"");
	}
	if (name != "help" && name != "version" && with_value.count(name) == 0)
		throw UsageError("unknown option \"" + arg + "\"");
	if (with_value.count(name) != 0 && !has_value) {
		if (i + 1 >= argc)
			throw UsageError("option \"" + arg + "\" needs a value");
		value = argv[++i];
	} else if (with_value.count(name) == 0 && has_value) {
		throw UsageError("option \"--" + name + "\" takes no value");
	}
	return {name, value};
}

} // namespace

Options
ParseOptions(int argc, char **argv)
{
	Options options;
	std::vector<std::string> given;
	bool only_args = false;
	for (int i = 1; i < argc; i++) {
		std::string arg = argv[i];
		if (only_args || arg.empty() || arg[0] != '-' || arg == "-") {
			if (!options.command.empty())
				throw UsageError("unexpected argument \"" + arg + "\" after command \"" + options.command + "\"");
			options.command = arg;
			continue;
		}
		if (arg == "--") {
			only_args = true;
			continue;
		}
		auto [name, value] = ReadOption(argc, argv, i);
		if (name == "help")
			options.help = true;
		else if (name == "version")
			options.version = true;
		else
			given.push_back(name);
		SetOption(options, name, value);
	}
	if (options.command.empty()) {
		if (options.help || options.version)
			return options;
		throw UsageError("no command given");
	}
	static const std::set<std::string> connection_options = {"dbname", "host", "port", "username"};
	const CommandInfo *command = FindCommand(options.command);
	if (command == nullptr)
		throw UsageError("unknown command \"" + options.command + "\"");
	for (const std::string &name : given)
		if (connection_options.count(name) == 0 && command->options.count(name) == 0)
			throw CtlError(kExitUsage,
			               "option \"--" + name + "\" does not apply to command \"" + options.command + "\"", {},
			               "Try \"stagger-ctl " + options.command + " --help\".");
	return options;
}

std::string
UsageText()
{
	std::string text = "stagger-ctl controls and reports on job_stagger, the staggering job scheduler in PostgreSQL.\n"
	                   "\n"
	                   "Usage:\n"
	                   "  stagger-ctl [-d CONNINFO] <command> [command options]\n"
	                   "\n"
	                   "Commands:\n";
	for (const auto &[name, info] : Commands())
		text += "  " + std::string(info.synopsis) + "\n";
	text += "\n"
	        "Connection options (as psql; otherwise PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD, ...):\n"
	        "  -d, --dbname=CONNINFO    database name, connection string ('host=db1 dbname=postgres')\n"
	        "                           or URI (postgresql://user@db1:5432/postgres)\n"
	        "  -h, --host=HOST          server host or socket directory\n"
	        "  -p, --port=PORT          server port\n"
	        "  -U, --username=USER      user name\n"
	        "\n"
	        "Other options:\n"
	        "  -?, --help               show this help; \"stagger-ctl <command> --help\" shows a command's\n"
	        "  -V, --version            show the version\n"
	        "\n"
	        "The jobs live in the database named by job_stagger.database_name (default postgres): connect there.\n"
	        "\n"
	        "Exit status:\n"
	        "  0  success\n"
	        "  1  a rollout check failed (check)\n"
	        "  2  usage error (including an invalid --window, --since, --timeout, --limit, --minutes or\n"
	        "     --source)\n"
	        "  3  connection, server, privilege or extension problem (server down, wrong credentials,\n"
	        "     missing database or extension, scheduler not running or not applying a setting in time)\n"
	        "  4  any other SQL error, or the KPI report file cannot be written\n";
	return text;
}

std::string
CommandHelp(const std::string &command)
{
	const CommandInfo &info = *FindCommand(command);
	return "Usage:\n  stagger-ctl [-d CONNINFO] " + std::string(info.synopsis) + "\n\n" + info.description +
	       "\n\nSee \"stagger-ctl --help\" for the connection options and exit status.\n";
}

} // namespace js::ctl
