/*
 * db_int.h - what the db_*.c files share inside the library, and nothing
 * outside it includes: the handle's layout, the statement type, db_run() and
 * the parameter/column helpers. The public contract is db.h.
 *
 * A table's statements live in that table's file as
 *     static const sc_db_stmt ST_X = {"sc_x", nparams, "SQL"};
 * and run as db_run(db, &ST_X, params, &result). Names must be unique
 * across every file: they are the server-side prepared statement names.
 */
#ifndef SC_DB_INT_H
#define SC_DB_INT_H

#include "buf.h"
#include "db.h"
#include "log.h"

#include <libpq-fe.h>

/* One statement: constant, defined in its table's file. */
typedef struct sc_db_stmt {
    const char *name; /* server-side prepared statement name, unique */
    int nparams;      /* number of $n parameters */
    const char *sql;
} sc_db_stmt;

struct sc_db {
    PGconn *conn;                /* owned; the one connection of this handle */
    int statement_timeout_ms;    /* applied on every (re)connect */
    const sc_db_stmt **prepared; /* owned array of borrowed pointers: the
                                  * statements prepared on conn */
    size_t nprepared, cap_prepared;
    uint64_t reconnects;    /* automatic resets made so far */
    char errstr[SC_ERRLEN]; /* reason of the last failure */
};

/* Prepare st on this connection if it is not yet, and execute it with text
 * params (st->nparams of them). On SC_OK *out (if non-NULL) owns the result
 * (PQclear); otherwise nothing is returned and errstr is set. Resets a broken
 * connection once and retries once. */
sc_status db_run(sc_db *db, const sc_db_stmt *st, const char *const *params, PGresult **out);

/* Rows affected by a command result. */
long cmd_rows(PGresult *r);

/* A decimal uint64/int64 parameter with its NUL. */
typedef struct idbuf {
    char s[24];
} idbuf;

const char *u64s(idbuf *b, uint64_t v);
const char *i64s(idbuf *b, int64_t v);

/* Append "{1,2,3}", the bigint[] literal of ids, to b: SC_OK or SC_ENOMEM
 * (errstr untouched). */
sc_status db_id_array(sc_buf *b, const uint64_t *ids, size_t n);

/* arr = a fresh "{1,2,3}" bigint[] literal of ids (the caller frees arr with
 * sc_buf_free either way); SC_ENOMEM with the reason in db's errstr. */
sc_status id_array_param(sc_db *db, sc_buf *arr, const uint64_t *ids, size_t n);

/* Column readers: NULL reads as 0 / false / ""; a malformed value is
 * SC_EPROTO with the column named in errstr. */
sc_status col_u64(sc_db *db, const PGresult *r, int row, int col, uint64_t *out);
sc_status col_i64(sc_db *db, const PGresult *r, int row, int col, int64_t *out);
sc_status col_int(sc_db *db, const PGresult *r, int row, int col, int *out);
int col_bool(const PGresult *r, int row, int col);
void col_str(const PGresult *r, int row, int col, char *dst, size_t cap);

/* How db_one reads row 0 of a result into out. */
typedef sc_status (*db_row_fn)(sc_db *db, const PGresult *r, void *out);

/* db_row_fn for a single uint64_t / int64_t column 0. */
sc_status read_u64(sc_db *db, const PGresult *r, void *out);
sc_status read_i64(sc_db *db, const PGresult *r, void *out);

/* Run statement st and read its first row with read into out: SC_OK, the
 * db_run or read status, or SC_ENOTFOUND when no row came back - with the
 * reason formatted from fmt, or (fmt NULL) errstr untouched for a caller
 * that works out why itself. */
sc_status db_one(sc_db *db, const sc_db_stmt *st, const char *const *params, db_row_fn read,
                 void *out, const char *fmt, ...) SC_PRINTF(6, 7);

/* Every row's column 0 as ids; *out malloc'd (caller frees) or NULL when no
 * rows. */
sc_status rows_to_ids(sc_db *db, const PGresult *r, uint64_t **out, size_t *n);

#endif
