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
 * This header includes no PostgreSQL header: include it before postgres.h.
 */
#pragma once

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

/*
 * Copies a string into the current PostgreSQL memory context without ever
 * raising (throws std::bad_alloc instead, which CallCpp catches): safe inside
 * CallCpp.
 */
char *PallocCopy(const std::string &s);

/* Allocates n bytes (zeroed) in the current memory context; throws std::bad_alloc on failure. */
void *PallocOrThrow(std::size_t n);

} // namespace js::pg
