/*
 * stagger-ctl kpi: takes a KPI snapshot (stagger_kpi_snapshot stores a row in
 * job_stagger.kpi_snapshots and returns it), prints it as a text report and
 * keeps the same text in <output-dir>/kpi_<YYYYmmdd_HHMMSS>.txt, so that
 * snapshots before and after a rollout step can be compared side by side.
 */
#include "ctl_commands.hpp"

#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

namespace js::ctl {

namespace {

/* Timestamps in the server's time zone, to the second: what the server log shows. */
constexpr const char *kKpiSql = R"sql(
	SELECT snapshot_id,
	       to_char(taken_at, 'YYYY-MM-DD HH24:MI:SS TZ') AS taken_at,
	       to_char(window_start, 'YYYY-MM-DD HH24:MI:SS TZ') AS window_start,
	       to_char(window_end, 'YYYY-MM-DD HH24:MI:SS TZ') AS window_end,
	       CASE stagger_enabled WHEN true THEN 'on' WHEN false THEN 'off' END AS stagger_enabled,
	       runs, slow_runs, error_rate_pct, skipped, peak_concurrency,
	       pool_avg_pct, pool_min_pct, pool_max_pct, conn_pool_avg_pct, conn_pool_max_pct,
	       durations, taken_by
	  FROM stagger_kpi_snapshot($1::interval))sql";

/* Named access to the snapshot row; NULL reads as "n/a" (e.g. no pool samples in the window). */
struct KpiRow {
	const Result &res;
	std::string
	operator[](const char *column) const
	{
		return res.GetCell(0, res.Column(column)).value_or("n/a");
	}
	std::string
	Pct(const char *column) const
	{
		std::string value = (*this)[column];
		return value == "n/a" ? value : value + " %";
	}
};

/* durations is {"job": {"runs": n, "mean_ms": x, "p95_ms": y}, ...}: one table row per job. */
std::string
DurationsText(Connection &conn, const std::string &durations)
{
	Result res = conn.Exec(R"sql(
		SELECT d.key AS job_name, (d.value ->> 'runs')::bigint AS runs, (d.value ->> 'mean_ms')::numeric AS mean_ms,
		       (d.value ->> 'p95_ms')::numeric AS p95_ms
		  FROM jsonb_each($1::jsonb) d ORDER BY d.key)sql",
	                       {durations});
	if (res.Rows() == 0)
		return "  no finished runs in the window\n";
	return FormatTable(res.ToTable(), false);
}

std::string
KpiText(Connection &conn, const KpiRow &row, const std::string &since)
{
	std::vector<std::pair<std::string, std::string>> pairs{
	    {"database", conn.Database()},
	    {"taken at", row["taken_at"] + (row["taken_by"] == "scheduler" ? " by the scheduler" : " on request")},
	    {"window", row["window_start"] + " .. " + row["window_end"] + " (last " + since + ")"},
	    {"staggering", row["stagger_enabled"]},
	    {"runs", row["runs"]},
	    {"error rate", row.Pct("error_rate_pct")},
	    {"slow runs", row["slow_runs"]},
	    {"skipped", row["skipped"]},
	    {"peak concurrency", row["peak_concurrency"] + " (most runs executing at once)"},
	    {"job pool",
	     "avg " + row.Pct("pool_avg_pct") + ", min " + row.Pct("pool_min_pct") + ", max " + row.Pct("pool_max_pct")},
	    {"connection pool", "avg " + row.Pct("conn_pool_avg_pct") + ", max " + row.Pct("conn_pool_max_pct")},
	};
	std::ostringstream out;
	out << "job_stagger KPI snapshot #" << row["snapshot_id"] << "\n\n"
	    << FormatPairs(pairs) << "\nDurations of finished runs per job (ms)\n"
	    << DurationsText(conn, row["durations"]);
	return out.str();
}

/* kpi_<YYYYmmdd_HHMMSS>.txt in local time; never overwrites an earlier report of the same second. */
std::filesystem::path
ReportPath(const std::string &dir, const std::string &snapshot_id)
{
	std::time_t now = std::time(nullptr);
	std::tm local{};
	localtime_r(&now, &local);
	char stamp[32];
	std::strftime(stamp, sizeof(stamp), "%Y%m%d_%H%M%S", &local);
	std::filesystem::path path = std::filesystem::path(dir) / ("kpi_" + std::string(stamp) + ".txt");
	if (std::filesystem::exists(path))
		path = std::filesystem::path(dir) / ("kpi_" + std::string(stamp) + "_" + snapshot_id + ".txt");
	return path;
}

std::filesystem::path
WriteReport(const std::string &dir, const std::string &snapshot_id, const std::string &text)
{
	std::error_code ec;
	std::filesystem::create_directories(dir, ec);
	if (ec)
		throw CtlError(kExitOther, "cannot create directory \"" + dir + "\": " + ec.message(), {},
		               "Choose another directory with --output-dir.");
	std::filesystem::path path = ReportPath(dir, snapshot_id);
	std::ofstream file(path);
	file << text;
	file.close();
	if (!file)
		throw CtlError(kExitOther, "cannot write \"" + path.string() + "\"", {},
		               "Choose another directory with --output-dir.");
	return path;
}

} // namespace

int
RunKpi(Connection &conn, const Options &options)
{
	conn.RequireExtension({"stagger_kpi_snapshot"}, {"job_stagger.kpi_snapshots"});
	RequireInterval(conn, "--since", options.since);
	Result res = conn.Exec(kKpiSql, {options.since});
	if (res.Rows() != 1)
		throw CtlError(kExitOther, "stagger_kpi_snapshot() returned " + std::to_string(res.Rows()) + " rows, not 1");
	KpiRow row{res};
	std::string text = KpiText(conn, row, options.since);
	std::filesystem::path path = WriteReport(options.output_dir, row["snapshot_id"], text);
	std::cout << text << "\nreport written to " << path.string() << '\n';
	return kExitOk;
}

} // namespace js::ctl
