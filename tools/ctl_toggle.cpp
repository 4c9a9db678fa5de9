/*
 * stagger-ctl enable / disable: ALTER SYSTEM SET job_stagger.enabled, reload,
 * then wait until job_stagger.scheduler_status() shows that the scheduler has
 * applied the new value after our change, so that "enabled" on screen means
 * the scheduler staggers now, not merely that a file was written.
 */
#include "ctl_commands.hpp"

#include <chrono>
#include <iostream>
#include <sstream>
#include <thread>

namespace js::ctl {

namespace {

/* How often scheduler_status() is read while waiting; one cheap query per poll. */
constexpr auto kPollInterval = std::chrono::milliseconds(10);

/* ALTER SYSTEM and pg_reload_conf() need a superuser unless granted (PG15 parameter privileges). */
void
RequireTogglePrivileges(Connection &conn)
{
	Result res = conn.Exec(R"sql(
		SELECT has_parameter_privilege('job_stagger.enabled', 'ALTER SYSTEM'),
		       has_function_privilege('pg_catalog.pg_reload_conf()', 'EXECUTE'))sql");
	if (res.GetBool(0, 0) && res.GetBool(0, 1))
		return;
	std::string user = conn.User();
	throw CtlError(kExitServer,
	               "permission denied: user \"" + user +
	                   "\" is not a superuser, and ALTER SYSTEM SET "
	                   "job_stagger.enabled needs one",
	               {},
	               "Connect as a superuser (-U postgres), or have one run: GRANT ALTER SYSTEM ON PARAMETER "
	               "job_stagger.enabled TO " +
	                   user + "; GRANT EXECUTE ON FUNCTION pg_reload_conf() TO " + user + ";");
}

/* Refuses to change anything when no scheduler would apply it; says why none runs. */
void
RequireScheduler(Connection &conn)
{
	Result res = conn.Exec("SELECT launcher_pid, pg_is_in_recovery() FROM job_stagger.scheduler_status()");
	if (res.IsNull(0, 0))
		throw SchedulerDownError(res.GetBool(0, 1), " job_stagger.enabled was not changed.");
}

/*
 * Polls until the scheduler reports `value` applied after `before` (server
 * clock, taken just before ALTER SYSTEM); returns milliseconds from `before`
 * to the scheduler's apply, as the scheduler stamped it.
 */
std::string
WaitApplied(Connection &conn, const std::string &value, const std::string &before, double timeout_s)
{
	auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
	for (;;) {
		Result res = conn.Exec(R"sql(
			SELECT launcher_pid,
			       applied_enabled = ($2 = 'on') AND settings_applied_at > $1::timestamptz,
			       round(extract(epoch FROM settings_applied_at - $1::timestamptz) * 1000),
			       CASE applied_enabled WHEN true THEN 'on' WHEN false THEN 'off' END
			  FROM job_stagger.scheduler_status())sql",
		                       {before, value});
		if (res.IsNull(0, 0))
			throw CtlError(kExitServer, "the scheduler stopped while applying job_stagger.enabled = " + value, {},
			               "The setting is written (postgresql.auto.conf) and applies when the scheduler is back; "
			               "check the server log.");
		if (res.GetBool(0, 1))
			return res.Get(0, 2);
		if (std::chrono::steady_clock::now() >= deadline) {
			std::ostringstream limit;
			limit << timeout_s;
			throw CtlError(kExitServer,
			               "timeout: the scheduler did not apply job_stagger.enabled = " + value + " within " +
			                   limit.str() + " s",
			               "ALTER SYSTEM and the reload went through; the scheduler still applies " +
			                   res.GetCell(0, 3).value_or("nothing") + ".",
			               "Check the server log and SELECT * FROM pg_file_settings WHERE name = "
			               "'job_stagger.enabled' (a -c option on the server command line overrides it); "
			               "wait longer with --timeout.");
		}
		std::this_thread::sleep_for(kPollInterval);
	}
}

} // namespace

int
RunToggle(Connection &conn, const Options &options, bool enable)
{
	conn.RequireExtension({"job_stagger.scheduler_status"}, {});
	RequireTogglePrivileges(conn);
	RequireScheduler(conn);
	std::string value = enable ? "on" : "off";
	std::string before = conn.Exec("SELECT clock_timestamp()").Get(0, 0);
	/* Two statements: ALTER SYSTEM cannot run inside the implicit transaction of a multi-statement query. */
	conn.Exec("ALTER SYSTEM SET job_stagger.enabled = " + value);
	conn.Exec("SELECT pg_reload_conf()");
	std::string ms = WaitApplied(conn, value, before, options.timeout_s);
	std::cout << "staggering " << (enable ? "enabled" : "disabled") << ": applied by the scheduler in " << ms
	          << " ms\n";
	return kExitOk;
}

} // namespace js::ctl
