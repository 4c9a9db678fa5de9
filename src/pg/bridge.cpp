/*
 * PostgreSQL side of the C++ error boundary (see bridge.hpp).
 */
#include "pg/bridge.hpp"

extern "C" {
#include "postgres.h"

#include "utils/memutils.h"
}

namespace js::pg {

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
