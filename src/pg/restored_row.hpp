/*
 * The one rule for a job row restored by pg_restore: a superuser's INSERT that
 * sets created_at (a column plain roles cannot write) to another time than
 * its default, the transaction's start. Include after postgres.h.
 */
#pragma once

namespace js::pg {

/* created_at of the row being inserted (and whether it is NULL). */
bool RestoredJobRow(bool created_null, Datum created);

} // namespace js::pg
