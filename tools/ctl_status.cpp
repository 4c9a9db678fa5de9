/*
 * stagger-ctl status, enable and disable: the scheduler's state as
 * job_stagger.scheduler_status() reports it from shared memory, and turning
 * job_stagger.enabled on or off with proof that the scheduler applied it.
 */
#include "ctl_commands.hpp"

#include <iostream>

namespace js::ctl {

namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

/* Timestamps to the millisecond in the server's time zone: what the server log shows. */
constexpr const char *kStatusSql = R"sql(
	SELECT s.launcher_pid,
	       to_char(s.launcher_started_at, 'YYYY-MM-DD HH24:MI:SS TZ') AS started,
	       date_trunc('second', clock_timestamp() - s.launcher_started_at)::text AS uptime,
	       CASE s.applied_enabled WHEN true THEN 'on' WHEN false THEN 'off' END AS applied,
	       to_char(s.settings_applied_at, 'YYYY-MM-DD HH24:MI:SS.MS TZ') AS applied_at,
	       s.running_runs, s.waiting_runs,
	       to_char(s.auto_rollback_at, 'YYYY-MM-DD HH24:MI:SS TZ') AS rollback_at, s.auto_rollback_reason,
	       pg_is_in_recovery() AS standby,
	       current_setting('job_stagger.enabled', true) AS loaded,
	       current_setting('job_stagger.database_name', true) AS home,
	       current_database(),
	       (SELECT extversion FROM pg_extension WHERE extname = 'job_stagger') AS extversion,
	       split_part(current_setting('server_version'), ' ', 1) AS server_version,
	       (SELECT source FROM pg_settings WHERE name = 'job_stagger.enabled') AS source,
	       (SELECT boot_val FROM pg_settings WHERE name = 'job_stagger.enabled') AS boot_val,
	       (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS superuser
	  FROM job_stagger.scheduler_status() s)sql";

/* The last valid job_stagger.enabled in the configuration files (what a reload would load). */
constexpr const char *kFileSettingSql = R"sql(
	SELECT CASE WHEN lower(setting) IN ('on', 'true', 'yes', '1') THEN 'on'
	            WHEN lower(setting) IN ('off', 'false', 'no', '0') THEN 'off' ELSE setting END,
	       sourcefile || ' line ' || sourceline
	  FROM pg_file_settings WHERE name = 'job_stagger.enabled' AND error IS NULL
	 ORDER BY seqno DESC LIMIT 1)sql";

/* Named access to the row of kStatusSql. */
struct StatusRow {
	const Result &res;
	Cell
	operator[](const char *column) const
	{
		return res.GetCell(0, res.Column(column));
	}
	std::string
	Text(const char *column) const
	{
		return (*this)[column].value_or("");
	}
	bool
	Flag(const char *column) const
	{
		return res.GetBool(0, res.Column(column));
	}
};

std::string
SchedulerState(const StatusRow &row)
{
	if (row["launcher_pid"])
		return "running (launcher pid " + row.Text("launcher_pid") + ", started " + row.Text("started") + ", up " +
		       row.Text("uptime") + ")";
	CtlError why = SchedulerDownError(row.Flag("standby"), "");
	return std::string("NOT RUNNING: ") + why.what() + "\n" + why.Hint();
}

void
PrintHeader(const StatusRow &row, const std::string &user)
{
	std::string db = row.Text("current_database");
	std::cout << "job_stagger " << row.Text("extversion") << " in database \"" << db << "\" as user \"" << user
	          << "\" (PostgreSQL " << row.Text("server_version") << ")\n";
	std::string home = row.Text("home");
	if (!home.empty() && home != db)
		std::cout << "NOTE: the jobs live in database \"" << home << "\" (job_stagger.database_name), not in \"" << db
		          << "\": the scheduler runs no job of this database's job table; use -d " << home << ".\n";
}

void
PrintScheduler(const StatusRow &row)
{
	Pairs pairs{{"state", SchedulerState(row)}};
	if (row["running_runs"])
		pairs.push_back({"runs now", row.Text("running_runs") + " running, " + row.Text("waiting_runs") +
		                                 " waiting for their instant or a free slot"});
	if (row["rollback_at"])
		pairs.push_back({"auto rollback", "staggering turned off automatically at " + row.Text("rollback_at") + ": " +
		                                      row.Text("auto_rollback_reason")});
	else if (row["running_runs"])
		pairs.push_back({"auto rollback", "none"});
	std::cout << Heading("Scheduler") << FormatPairs(pairs);
}

/*
 * What a reload would load: the last valid job_stagger.enabled in the config
 * files, else its default. "configured" is empty when pg_file_settings may
 * not be read; `where` says where the value comes from.
 */
void
ReadConfigured(Connection &conn, const StatusRow &row, std::string *configured, std::string *where)
{
	std::string source = row.Text("source");
	if (source != "default" && source != "configuration file") {
		*configured = row.Text("loaded");
		*where = "from the " + source + ", which overrides the config files";
		return;
	}
	std::optional<Result> file = conn.ExecIfAllowed(kFileSettingSql);
	if (!file) {
		*where = "reading pg_file_settings needs a superuser";
	} else if (file->Rows() == 0) {
		*configured = row.Text("boot_val");
		*where = "not set in the config files: the default";
	} else {
		*configured = file->Get(0, 0);
		*where = "in " + file->Get(0, 1);
	}
}

/* One line on whether what is configured is what the scheduler does. */
std::string
Verdict(const std::string &configured, const std::string &loaded, const std::string &applied)
{
	if (!configured.empty() && configured != loaded)
		return "RELOAD PENDING: the config files say " + configured + " but the server still runs with " + loaded +
		       ": SELECT pg_reload_conf(), or stagger-ctl " + (configured == "on" ? "enable" : "disable");
	if (applied.empty())
		return "staggering is configured " + loaded + "; no scheduler applies it";
	if (applied != loaded)
		return "APPLY PENDING: the scheduler has not applied " + loaded +
		       " yet (it does within milliseconds of a reload; if this lasts, check the server log)";
	return std::string("staggering is ") + (applied == "on" ? "ENABLED" : "DISABLED") + " and in effect";
}

/*
 * job_stagger.enabled at its three stages: in the configuration files, loaded
 * by the server (after the last reload), applied by the scheduler. A
 * difference between two stages is a pending reload or a pending apply.
 */
void
PrintStaggering(Connection &conn, const StatusRow &row)
{
	std::string configured, where;
	ReadConfigured(conn, row, &configured, &where);
	std::string loaded = row.Text("loaded");
	std::string applied = row.Text("applied");
	Pairs pairs{
	    {"configured", (configured.empty() ? "unknown" : configured) + " (" + where + ")"},
	    {"loaded", loaded + " (by the server at its last reload)"},
	    {"applied", applied.empty() ? "unknown (no scheduler has applied settings)"
	                                : applied + " (by the scheduler at " + row.Text("applied_at") + ")"},
	    {"=>", Verdict(configured, loaded, applied)},
	};
	std::cout << Heading("Staggering (job_stagger.enabled)") << FormatPairs(pairs);
}

void
PrintJobsAndRuns(Connection &conn, const StatusRow &row)
{
	Result jobs = conn.Exec("SELECT count(*) FILTER (WHERE active), count(*) FROM job_stagger.jobs");
	std::string seen = row.Flag("superuser") ? "" : " (row-level security: only this user's jobs)";
	std::cout << Heading("Jobs")
	          << FormatPairs({{"active", jobs.Get(0, 0) + " of " + jobs.Get(0, 1) + " jobs" + seen}});

	Result runs = conn.Exec(R"sql(
		SELECT status, count(*) AS runs FROM job_stagger.job_run_details
		 WHERE scheduled_at >= now() - interval '1 hour'
		 GROUP BY status
		 ORDER BY array_position(ARRAY['succeeded', 'failed', 'timed_out', 'crashed', 'skipped', 'running',
		                               'starting'], status), status)sql");
	std::cout << Heading("Runs in the last hour");
	if (runs.Rows() == 0) {
		std::cout << "  none\n";
		return;
	}
	long total = 0;
	for (int r = 0; r < runs.Rows(); r++)
		total += std::stol(runs.Get(r, 1));
	Table table = runs.ToTable();
	table.AddRow({std::string("total"), std::to_string(total)});
	std::cout << FormatTable(table, false);
}

} // namespace

CtlError
SchedulerDownError(bool standby, const std::string &consequence)
{
	if (standby)
		return CtlError(kExitServer, "no scheduler is running: this server is a standby", {},
		                "The scheduler runs on the primary (it starts on promotion)." + consequence);
	return CtlError(kExitServer, "no scheduler is running (scheduler_status().launcher_pid is NULL)", {},
	                "The launcher restarts by itself after a crash, and needs a free background worker "
	                "(max_worker_processes); check the server log." +
	                    consequence);
}

std::string
Heading(const std::string &title)
{
	return "\n== " + title + " ==\n";
}

int
RunStatus(Connection &conn, const Options &)
{
	conn.RequireExtension({"job_stagger.scheduler_status", "pg_catalog.stagger_summary"},
	                      {"job_stagger.jobs", "job_stagger.job_run_details"});
	Result res = conn.Exec(kStatusSql);
	StatusRow row{res};
	PrintHeader(row, conn.User());
	PrintScheduler(row);
	PrintStaggering(conn, row);
	PrintJobsAndRuns(conn, row);
	std::string summary = conn.Exec("SELECT stagger_summary()").Get(0, 0);
	if (!summary.empty() && summary.back() != '\n')
		summary += '\n';
	std::cout << Heading("Summary (stagger_summary())") << summary << std::flush;
	return kExitOk;
}

} // namespace js::ctl
