/*
 * Included at the end of every src/core header. Core is pure C++ and must stay
 * independent of PostgreSQL: a PostgreSQL translation unit has to include core
 * headers *before* postgres.h, so that no PostgreSQL macro (elog, Assert,
 * palloc redefinitions, ...) leaks into core code.
 */
#ifdef POSTGRES_H
#error "src/core headers must be included before postgres.h (core knows nothing of PostgreSQL)"
#endif
