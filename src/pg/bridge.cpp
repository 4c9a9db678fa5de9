/*
 * PostgreSQL side of the C++ error boundary (see bridge.hpp).
 */
#include "pg/bridge.hpp"

extern "C" {
#include "postgres.h"

#include "miscadmin.h"
#include "utils/memutils.h"
}

namespace js::pg {

namespace {

/*
 * Core's poll: only reads the flags the signal handlers set (a statement
 * timeout sets QueryCancelPending too). Other pending interrupts (sinval
 * catch-up, parallel messages, ...) do not stop core work: processing them
 * raises no error. A cancel that cannot be processed now (interrupts held
 * off) does not stop it either, so that RaiseInterrupt() always raises.
 */
bool
PollPostgresInterrupts(void *)
{
	return InterruptPending && (QueryCancelPending || ProcDiePending) && INTERRUPTS_CAN_BE_PROCESSED();
}

} // namespace

core::Interrupt
PgInterrupt()
{
	return core::Interrupt{&PollPostgresInterrupts, nullptr};
}

void
RaiseInterrupt()
{
	CHECK_FOR_INTERRUPTS();
	/* Not reached when the poll said stop (the flags stay set until processed); kept as a safety net. */
	ereport(ERROR, (errcode(ERRCODE_QUERY_CANCELED), errmsg("canceling statement: job_stagger work was interrupted")));
	pg_unreachable();
}

void
RaiseCppError(const CppError &err)
{
	if (err.out_of_memory)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory in job_stagger")));
	ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("job_stagger internal error: %s", err.message)));
	pg_unreachable();
}

void *
PallocOrThrow(std::size_t n)
{
	/* NO_OOM: return NULL instead of longjmp'ing out of C++ frames. */
	void *p = palloc_extended(n, MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM | MCXT_ALLOC_ZERO);
	if (p == nullptr)
		throw std::bad_alloc();
	return p;
}

char *
PallocCopy(const std::string &s)
{
	char *p = static_cast<char *>(PallocOrThrow(s.size() + 1));
	std::memcpy(p, s.data(), s.size());
	p[s.size()] = '\0';
	return p;
}

} // namespace js::pg
