/*
 * Reading SPI result columns and running one statement, for the launcher's
 * SQL (launcher_db.cpp, launcher_requests.cpp). C-shaped PostgreSQL code:
 * include after postgres.h and executor/spi.h. A NULL reads as 0 / false /
 * the given default.
 */
#pragma once

namespace js::worker::spi {

inline char *
Text(HeapTuple tuple, TupleDesc desc, int col, MemoryContext mcxt) /* NULL: nullptr */
{
	char *value = SPI_getvalue(tuple, desc, col);
	return value == nullptr ? nullptr : MemoryContextStrdup(mcxt, value);
}

inline Datum
Value(HeapTuple tuple, TupleDesc desc, int col, bool *isnull)
{
	*isnull = false;
	return SPI_getbinval(tuple, desc, col, isnull);
}

inline int64
Int64(HeapTuple tuple, TupleDesc desc, int col)
{
	bool isnull;
	Datum d = Value(tuple, desc, col, &isnull);
	return isnull ? 0 : DatumGetInt64(d);
}

inline int32
Int32(HeapTuple tuple, TupleDesc desc, int col)
{
	bool isnull;
	Datum d = Value(tuple, desc, col, &isnull);
	return isnull ? 0 : DatumGetInt32(d);
}

inline Oid
ObjectId(HeapTuple tuple, TupleDesc desc, int col)
{
	bool isnull;
	Datum d = Value(tuple, desc, col, &isnull);
	return isnull ? InvalidOid : DatumGetObjectId(d);
}

inline bool
Bool(HeapTuple tuple, TupleDesc desc, int col)
{
	bool isnull;
	Datum d = Value(tuple, desc, col, &isnull);
	return !isnull && DatumGetBool(d);
}

inline TimestampTz
Time(HeapTuple tuple, TupleDesc desc, int col, TimestampTz absent)
{
	bool isnull;
	Datum d = Value(tuple, desc, col, &isnull);
	return isnull ? absent : DatumGetTimestampTz(d);
}

/* One statement with parameters; any other result than `expected` is an ERROR naming the statement. */
inline void
Execute(const char *sql, int nargs, Oid *types, Datum *values, const char *nulls, int expected)
{
	int rc = SPI_execute_with_args(sql, nargs, types, values, nulls, false, 0);
	if (rc != expected)
		elog(ERROR, "job_stagger: SPI_execute_with_args failed (%d) for: %s", rc, sql);
}

} // namespace js::worker::spi
