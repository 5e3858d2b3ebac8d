/*
 * db_int.h - what db.c lends the other files of the PostgreSQL client
 * (db_*.c, one concern each) so they share its connection handling: the
 * reconnect-once-and-retry of every statement and the error text kept in
 * the handle. Internal to libscour: programs include db.h only.
 */
#ifndef SC_DB_INT_H
#define SC_DB_INT_H

#include "db.h"

/* Run sql (nparams text parameters, explicit casts in the SQL) unprepared
 * and read every row's column 0 as an id. On SC_OK *out is malloc'd
 * (free()), NULL when *n is 0; on failure nothing is allocated and the
 * reason is in sc_db_errstr(db). */
sc_status sc_db_sql_ids(sc_db *db, const char *sql, int nparams, const char *const *params,
                        uint64_t **out, size_t *n) SC_MUST_USE;

#endif
