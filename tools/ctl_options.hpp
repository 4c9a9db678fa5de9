/*
 * stagger-ctl: the command line (commands, options, help texts).
 */
#pragma once

#include "ctl_conn.hpp"

#include <string>

namespace js::ctl {

struct Options {
	std::string command;                /* empty with --help or --version alone */
	ConnectParams connect;              /* -d, -h, -p, -U */
	double timeout_s = 10;              /* enable/disable: how long to wait for the scheduler */
	std::string window = "30 minutes";  /* check */
	std::string since = "6 hours";      /* kpi */
	std::string output_dir = "reports"; /* kpi */
	long limit = 20;                    /* report: rows per view */
	int minutes = 1;                    /* timeline */
	std::string source = "history";     /* timeline: history or simulation */
	bool help = false;
	bool version = false;
};

/* Parses argv; throws a usage CtlError (exit 2) on anything it does not understand. */
Options ParseOptions(int argc, char **argv);

/* The full usage text, or the help of one command. */
std::string UsageText();
std::string CommandHelp(const std::string &command);

} // namespace js::ctl
