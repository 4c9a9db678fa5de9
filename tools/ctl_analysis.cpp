/*
 * stagger-ctl check and report: the rollout checks as PASS/FAIL (the exit
 * status says whether the rollout may go on) and the analysis views as one
 * readable report. The KPI snapshot is in ctl_kpi.cpp.
 */
#include "ctl_commands.hpp"

#include <iostream>

namespace js::ctl {

namespace {

/* The analysis views in report order, with the ordering that puts the interesting rows first. */
struct ReportView {
	const char *name;  /* in schema job_stagger */
	const char *title; /* heading */
	const char *order_by;
};

const ReportView kReportViews[] = {
    {"concurrency", "Concurrency per minute, latest first", "minute DESC, stagger_enabled"},
    {"duration_comparison", "Run durations in ms, staggering off vs on", "job_name"},
    {"success_rate", "Success rate", "job_name, stagger_enabled"},
    {"start_distribution", "Start second within the minute", "job_name, stagger_enabled, start_second"},
    {"overlaps", "Runs of different jobs executing at once, latest first", "overlap_start DESC, runid_a"},
    {"offset_verification", "Configured offsets against observed start seconds", "job_name"},
};

std::string
PassText(const Result &res, int row)
{
	if (res.IsNull(row, 1))
		return "UNKNOWN";
	return res.GetBool(row, 1) ? "PASS" : "FAIL";
}

} // namespace

void
RequireInterval(Connection &conn, const std::string &option, const std::string &text)
{
	std::optional<Result> res;
	try {
		res = conn.Exec("SELECT $1::interval > interval '0'", {text});
	} catch (const CtlError &error) {
		if (error.Code() != kExitOther)
			throw;
		throw CtlError(kExitUsage, "invalid " + option + " \"" + text + "\": " + error.what(), error.Detail(),
		               "Use an interval such as '30 minutes', '2 hours' or '1 day'.");
	}
	if (!res->GetBool(0, 0))
		throw CtlError(kExitUsage, "invalid " + option + " \"" + text + "\": the interval must be positive");
}

/* A check that is neither passed nor failed (NULL) counts as failed: the rollout must not go on blind. */
int
RunCheck(Connection &conn, const Options &options)
{
	conn.RequireExtension({"stagger_rollout_check"}, {});
	RequireInterval(conn, "--window", options.window);
	Result res =
	    conn.Exec("SELECT check_name, passed, detail FROM stagger_rollout_check($1::interval)", {options.window});
	Table table;
	table.AddColumn("result");
	table.AddColumn("check");
	table.AddColumn("detail");
	int failed = 0;
	for (int r = 0; r < res.Rows(); r++) {
		std::string result = PassText(res, r);
		failed += result != "PASS";
		table.AddRow({result, res.GetCell(r, 0), res.GetCell(r, 2)});
	}
	std::cout << "Rollout checks over the last " << options.window << " (database \"" << conn.Database() << "\")\n\n"
	          << FormatTable(table, false) << '\n';
	if (res.Rows() == 0)
		std::cout << "no checks were returned\n";
	else if (failed == 0)
		std::cout << "all " << res.Rows() << " checks passed\n";
	else
		std::cout << failed << " of " << res.Rows() << " checks FAILED\n";
	return failed == 0 ? kExitOk : kExitCheckFailed;
}

int
RunReport(Connection &conn, const Options &options)
{
	std::vector<std::string> relations;
	for (const ReportView &view : kReportViews)
		relations.push_back(std::string("job_stagger.") + view.name);
	conn.RequireExtension({}, relations);
	std::cout << "job_stagger analysis report, database \"" << conn.Database() << "\", at most " << options.limit
	          << " rows per view\n";
	for (const ReportView &view : kReportViews) {
		/* One row more than shown tells whether the view was cut. */
		std::string sql = std::string("SELECT * FROM job_stagger.") + view.name + " ORDER BY " + view.order_by +
		                  " LIMIT $1::bigint + 1";
		Result res = conn.Exec(sql, {std::to_string(options.limit)});
		Table table = res.ToTable();
		bool cut = table.rows.size() > static_cast<std::size_t>(options.limit);
		if (cut)
			table.rows.pop_back();
		std::cout << Heading(std::string(view.title) + " (job_stagger." + view.name + ")");
		if (table.rows.empty()) {
			std::cout << "  (no rows)\n";
			continue;
		}
		std::cout << FormatTable(table, false);
		if (cut)
			std::cout << "(first " << options.limit << " rows; more with --limit)\n";
		else
			std::cout << '(' << table.rows.size() << (table.rows.size() == 1 ? " row)\n" : " rows)\n");
	}
	return kExitOk;
}

} // namespace js::ctl
