/*
 * Schedule validation shared by the SQL functions (PostgreSQL side; plain C
 * types in the interface, so it may be included before postgres.h).
 */
#pragma once

namespace js::pg {

/* ERROR "invalid schedule" with core's reason as the detail and a hint with valid examples. */
[[noreturn]] void RaiseInvalidSchedule(const char *schedule, const char *error);

/* ERROR if the schedule does not parse; NOTICE if it is valid but can never fire. */
void CheckSchedule(const char *schedule);

/* ERROR unless `zone` (a NUL-terminated name) is an IANA zone core::TimeZone loads (sql_validate.cpp). */
void CheckTimeZone(const char *zone);

} // namespace js::pg
