/*
 * The error boundary between C++ and PostgreSQL (read STYLE.md section 2).
 *
 * Two unwinding mechanisms must never cross: C++ exceptions (which run
 * destructors) and ereport(ERROR) (a siglongjmp that skips them). Every
 * SQL-callable function and worker entry point runs its C++ work through
 * CallCpp():
 *
 *   1. read arguments with PostgreSQL APIs into plain C values;
 *   2. CallCpp([&] { ... core work ... }): every exception is caught here and
 *      its message copied into a fixed buffer, with no PostgreSQL call inside
 *      the catch block; the lambda hands results back as plain values or as
 *      memory from PallocCopy() (which never raises);
 *   3. only after the C++ frames are gone, RaiseCppError() turns a caught
 *      exception into ereport(ERROR), and the caller builds Datums.
 *
 * Callers keep only trivially destructible locals in the frames between
 * CallCpp and the PG_TRY/sigsetjmp that catches PostgreSQL errors.
 *
 * Long core work is cancellable (statement_timeout, pg_cancel_backend,
 * termination): CallCore() hands the lambda PgInterrupt(), whose poll only
 * reads PostgreSQL's volatile interrupt flags (it never calls
 * CHECK_FOR_INTERRUPTS, which would longjmp over C++ frames). Core returns
 * early with a "cancelled" outcome, the lambda returns false, and once the
 * C++ frames are gone RaiseInterrupt() calls CHECK_FOR_INTERRUPTS(), which
 * raises the proper error ("canceling statement due to statement timeout").
 *
 * This header includes no PostgreSQL header: include it before postgres.h.
 */
#pragma once

#include "core/interrupt.hpp"

#include <cstddef>
#include <cstring>
#include <exception>
#include <new>
#include <string>

namespace js::pg {

constexpr std::size_t kCppErrorSize = 512;

/* What a caught exception left behind: plain data, safe to carry across longjmp. */
struct CppError {
	bool failed;
	bool out_of_memory;
	char message[kCppErrorSize];
};

inline void
SetCppError(CppError *err, const char *message) noexcept
{
	err->failed = true;
	std::strncpy(err->message, message, kCppErrorSize - 1);
	err->message[kCppErrorSize - 1] = '\0';
}

/* Runs fn; returns false and fills *err if it threw. Never throws, never calls PostgreSQL. */
template <typename Fn>
bool
TryCpp(Fn &&fn, CppError *err) noexcept
{
	err->failed = false;
	err->out_of_memory = false;
	err->message[0] = '\0';
	try {
		fn();
		return true;
	} catch (const std::bad_alloc &) {
		SetCppError(err, "out of memory");
		err->out_of_memory = true;
	} catch (const std::exception &e) {
		SetCppError(err, e.what());
	} catch (...) {
		SetCppError(err, "unknown C++ exception");
	}
	return false;
}

/* ereport(ERROR) for a caught exception (defined in bridge.cpp, which includes PostgreSQL). */
[[noreturn]] void RaiseCppError(const CppError &err);

/* TryCpp, then raise the error once the C++ frames have unwound. */
template <typename Fn>
void
CallCpp(Fn &&fn)
{
	CppError err;
	if (!TryCpp(fn, &err))
		RaiseCppError(err);
}

/* An Interrupt that says stop when a query cancel or a termination is pending and can be processed. */
core::Interrupt PgInterrupt();

/* After core stopped for PgInterrupt(): CHECK_FOR_INTERRUPTS() raises the pending error (call outside C++ frames). */
[[noreturn]] void RaiseInterrupt();

/*
 * CallCpp for core work that polls PgInterrupt(): fn(interrupt) returns false
 * when core reported "cancelled", and the pending cancel is raised once the
 * C++ frames are gone.
 */
template <typename Fn>
void
CallCore(Fn &&fn)
{
	CppError err;
	bool completed = false;
	const core::Interrupt interrupt = PgInterrupt();
	if (!TryCpp([&] { completed = fn(interrupt); }, &err))
		RaiseCppError(err);
	if (!completed)
		RaiseInterrupt();
}

/*
 * Copies a string into the current PostgreSQL memory context without ever
 * raising (throws std::bad_alloc instead, which CallCpp catches): safe inside
 * CallCpp.
 */
char *PallocCopy(const std::string &s);

/* Allocates n bytes (zeroed) in the current memory context; throws std::bad_alloc on failure. */
void *PallocOrThrow(std::size_t n);

} // namespace js::pg
