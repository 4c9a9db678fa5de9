/*
 * TimestampTz <-> core Instant (whole Unix seconds). PostgreSQL-side header:
 * include after postgres.h.
 */
#pragma once

extern "C" {
#include "datatype/timestamp.h"
}

namespace js::pg {

constexpr int64 kUnixToPgEpochSecs = static_cast<int64>(POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY;

/* Whole Unix seconds at or before ts (floor, also for instants before 2000). */
inline int64
TimestampToInstant(TimestampTz ts)
{
	int64 secs = ts / USECS_PER_SEC;
	if (ts % USECS_PER_SEC < 0)
		secs -= 1;
	return secs + kUnixToPgEpochSecs;
}

inline TimestampTz
InstantToTimestamp(int64 instant)
{
	return (instant - kUnixToPgEpochSecs) * USECS_PER_SEC;
}

} // namespace js::pg
