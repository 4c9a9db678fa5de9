/*
 * job_stagger.offsets parsed into plain data for PostgreSQL code (plain C
 * types: may be included before postgres.h). Used by the launcher and by the
 * SQL functions, so both judge the setting the same way.
 */
#pragma once

namespace js::pg {

struct OverrideList {
	int count;     /* valid entries */
	char **names;  /* job names (palloc'd) */
	int *offsets;  /* their offsets */
	int nerrors;   /* invalid entries */
	char **errors; /* one message each */
};

/* Parses the setting (palloc'd result, never raises for bad input). */
OverrideList ParseOverrides(const char *text);

/* One WARNING per invalid entry: it is ignored and the job keeps its table offset. */
void WarnOverrideErrors(const OverrideList &list);

/* The session's job_stagger.offsets, parsed, with a WARNING per invalid entry (what the SQL functions judge by). */
OverrideList ReadSessionOverrides();

} // namespace js::pg
