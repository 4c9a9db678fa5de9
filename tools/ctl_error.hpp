/*
 * stagger-ctl: exit codes and the one error type every layer throws. main()
 * is the only place that prints errors, so each message reaches stderr in the
 * same shape ("stagger-ctl: <message>", indented detail, "hint: ...").
 */
#pragma once

#include <stdexcept>
#include <string>

namespace js::ctl {

/* Exit codes, documented in the usage text; scripts rely on them. */
enum ExitCode : int {
	kExitOk = 0,
	kExitCheckFailed = 1, /* a rollout check failed */
	kExitUsage = 2,       /* bad command line, including a bad interval or number */
	kExitServer = 3,      /* connection, server, privilege or extension problem */
	kExitOther = 4,       /* any other SQL error, or the report file cannot be written */
};

class CtlError : public std::runtime_error {
public:
	CtlError(ExitCode code, const std::string &message, std::string detail = {}, std::string hint = {})
	    : std::runtime_error(message), code_(code), detail_(std::move(detail)), hint_(std::move(hint))
	{
	}

	ExitCode
	Code() const
	{
		return code_;
	}
	const std::string &
	Detail() const
	{
		return detail_;
	}
	const std::string &
	Hint() const
	{
		return hint_;
	}

private:
	ExitCode code_;
	std::string detail_;
	std::string hint_;
};

/* A usage error: the caller prints the short usage hint with it. */
inline CtlError
UsageError(const std::string &message)
{
	return CtlError(kExitUsage, message, {}, "Try \"stagger-ctl --help\".");
}

} // namespace js::ctl
