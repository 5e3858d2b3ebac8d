/*
 * db.c - the PostgreSQL handle over libpq: connect, reconnect, run a
 * statement, and the parameter/column helpers every db_*.c file shares (see
 * db_int.h). See db.h for the contract and schemas/postgres/README.md for
 * the tables.
 *
 * Every statement is a constant sc_db_stmt in the file of its table
 * (db_message.c, db_chat.c, db_binding.c, db_job.c, db_verify.c, ...), with a
 * name unique across them, and is prepared lazily once per connection (its
 * address kept in db->prepared). db_run()
 * is the only place that talks to the server for statements: it prepares,
 * executes, and on a lost connection resets once and retries once.
 * All parameters are sent as text with explicit casts in the SQL; results are
 * read in text format.
 *
 * Not here: caching (binding.c), the readability rule's callers (router).
 */
#include "db_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- connection ---- */

static void db_seterr_msg(sc_db *db, const char *prefix, const char *msg)
{
    size_t n;
    sc_seterr(db->errstr, sizeof(db->errstr), "%s%s", prefix, msg != NULL ? msg : "");
    n = strlen(db->errstr);
    while (n > 0 && (db->errstr[n - 1] == '\n' || db->errstr[n - 1] == ' '))
        db->errstr[--n] = '\0';
}

/* libpq prints notices to stderr by default; library code must not print. */
static void notice_to_log(void *arg, const char *message)
{
    SC_UNUSED(arg);
    log_debug("postgres: %s", message);
}

static sc_status session_setup(sc_db *db)
{
    char sql[64];
    PGresult *r;
    snprintf(sql, sizeof(sql), "SET statement_timeout = %d", db->statement_timeout_ms);
    r = PQexec(db->conn, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        db_seterr_msg(db, "session setup: ", PQerrorMessage(db->conn));
        PQclear(r);
        return SC_ECONN;
    }
    PQclear(r);
    return SC_OK;
}

sc_db *sc_db_create_opts(const char *conninfo, int statement_timeout_ms, char *err, size_t errlen)
{
    /* dbname comes last and is expanded, so the caller's conninfo overrides
     * every default before it. */
    static const char *const keys[] = {
        "connect_timeout",     "keepalives",       "keepalives_idle",
        "keepalives_interval", "keepalives_count", "tcp_user_timeout",
        "application_name",    "dbname",           NULL};
    const char *vals[9] = {"5", "1", "5", "2", "3", "20000", "scour", NULL, NULL};
    sc_db *db;

    if (conninfo == NULL || statement_timeout_ms < 0) {
        sc_seterr(err, errlen, "db: conninfo missing or negative statement timeout");
        return NULL;
    }
    db = calloc(1, sizeof(*db));
    if (db == NULL) {
        sc_seterr(err, errlen, "db: out of memory");
        return NULL;
    }
    db->statement_timeout_ms = statement_timeout_ms;
    vals[7] = conninfo;
    db->conn = PQconnectdbParams(keys, vals, 1);
    if (db->conn == NULL) {
        sc_seterr(err, errlen, "db: out of memory");
        free(db);
        return NULL;
    }
    PQsetNoticeProcessor(db->conn, notice_to_log, NULL);
    if (PQstatus(db->conn) != CONNECTION_OK) {
        db_seterr_msg(db, "db: connect: ", PQerrorMessage(db->conn));
        sc_seterr(err, errlen, "%s", db->errstr);
        sc_db_free(db);
        return NULL;
    }
    if (session_setup(db) != SC_OK) {
        sc_seterr(err, errlen, "db: %s", db->errstr);
        sc_db_free(db);
        return NULL;
    }
    return db;
}

sc_db *sc_db_create(const char *conninfo, char *err, size_t errlen)
{
    return sc_db_create_opts(conninfo, SC_DB_DEFAULT_STATEMENT_TIMEOUT_MS, err, errlen);
}

void sc_db_free(sc_db *db)
{
    if (db == NULL)
        return;
    if (db->conn != NULL)
        PQfinish(db->conn);
    free(db->prepared);
    free(db);
}

const char *sc_db_errstr(const sc_db *db) { return db != NULL ? db->errstr : "no handle"; }

int sc_db_backend_pid(const sc_db *db)
{
    if (db == NULL || PQstatus(db->conn) != CONNECTION_OK)
        return 0;
    return PQbackendPID(db->conn);
}

uint64_t sc_db_reconnects(const sc_db *db) { return db != NULL ? db->reconnects : 0; }

static sc_status db_reset(sc_db *db)
{
    db->nprepared = 0;
    db->reconnects++;
    log_warn("db: connection lost, reconnecting");
    PQreset(db->conn);
    if (PQstatus(db->conn) != CONNECTION_OK) {
        db_seterr_msg(db, "reconnect: ", PQerrorMessage(db->conn));
        return SC_ECONN;
    }
    return session_setup(db);
}

/* Did this failure come from a broken connection (worth a reset)? */
static int conn_lost(const sc_db *db, const PGresult *r)
{
    const char *ss;
    if (PQstatus(db->conn) == CONNECTION_BAD)
        return 1;
    ss = r != NULL ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    if (ss == NULL)
        return r == NULL || PQresultStatus(r) == PGRES_FATAL_ERROR;
    /* 08xxx connection exception; 57P01-03 admin/crash shutdown, cannot connect now */
    return strncmp(ss, "08", 2) == 0 || strncmp(ss, "57P0", 4) == 0;
}

static sc_status status_of(const PGresult *r)
{
    const char *ss = r != NULL ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    if (ss == NULL)
        return SC_ERR;
    if (strcmp(ss, "57014") == 0)
        return SC_ETIMEOUT; /* query_canceled: statement_timeout */
    if (strncmp(ss, "22", 2) == 0 || strncmp(ss, "23", 2) == 0)
        return SC_EINVAL; /* data exception, integrity constraint */
    if (strcmp(ss, "40001") == 0 || strcmp(ss, "40P01") == 0)
        return SC_ECONFLICT;
    if (strncmp(ss, "08", 2) == 0 || strncmp(ss, "57P0", 4) == 0)
        return SC_ECONN;
    return SC_ERR;
}

static int result_ok(const PGresult *r)
{
    ExecStatusType s = PQresultStatus(r);
    return r != NULL && (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK);
}

/* Is statement d prepared on this connection? A linear scan: a connection
 * prepares a few dozen statements at most, and comparing pointers is cheap
 * next to a round trip. */
static int is_prepared(const sc_db *db, const sc_db_stmt *d)
{
    for (size_t i = 0; i < db->nprepared; i++)
        if (db->prepared[i] == d)
            return 1;
    return 0;
}

/* Room for one more entry in db->prepared. */
static sc_status reserve_prepared(sc_db *db)
{
    const sc_db_stmt **p;
    size_t cap;
    if (db->nprepared < db->cap_prepared)
        return SC_OK;
    cap = db->cap_prepared > 0 ? db->cap_prepared * 2 : 8;
    p = realloc(db->prepared, cap * sizeof(*p));
    if (p == NULL) {
        sc_seterr(db->errstr, sizeof(db->errstr), "out of memory");
        return SC_ENOMEM;
    }
    db->prepared = p;
    db->cap_prepared = cap;
    return SC_OK;
}

/* Prepare (if needed) and execute statement st with text params. On SC_OK
 * *out (if non-NULL) owns the result (PQclear); otherwise nothing is
 * returned and errstr is set. Resets a broken connection once and retries. */
sc_status db_run(sc_db *db, const sc_db_stmt *st, const char *const *params, PGresult **out)
{
    const sc_db_stmt *d = st;
    int reset_done = 0;
    PGresult *r;
    sc_status rc;

    if (out != NULL)
        *out = NULL;
    for (;;) {
        if (PQstatus(db->conn) != CONNECTION_OK) {
            if (reset_done) {
                db_seterr_msg(db, "connection lost again: ", PQerrorMessage(db->conn));
                return SC_ECONN;
            }
            reset_done = 1;
            if ((rc = db_reset(db)) != SC_OK)
                return rc;
        }
        r = NULL;
        if (!is_prepared(db, d)) {
            if ((rc = reserve_prepared(db)) != SC_OK)
                return rc;
            r = PQprepare(db->conn, d->name, d->sql, d->nparams, NULL);
            if (!result_ok(r))
                goto failed;
            PQclear(r);
            db->prepared[db->nprepared++] = d;
        }
        r = PQexecPrepared(db->conn, d->name, d->nparams, params, NULL, NULL, 0);
        if (result_ok(r)) {
            if (out != NULL)
                *out = r;
            else
                PQclear(r);
            return SC_OK;
        }
    failed:
        if (!reset_done && conn_lost(db, r)) {
            PQclear(r);
            reset_done = 1;
            if ((rc = db_reset(db)) != SC_OK)
                return rc;
            continue;
        }
        db_seterr_msg(db, "", r != NULL ? PQresultErrorMessage(r) : PQerrorMessage(db->conn));
        if (db->errstr[0] == '\0')
            db_seterr_msg(db, "", PQerrorMessage(db->conn));
        rc = conn_lost(db, r) ? SC_ECONN : status_of(r);
        PQclear(r);
        return rc;
    }
}

/* Rows affected by a command result. */
long cmd_rows(PGresult *r)
{
    const char *s = PQcmdTuples(r);
    return s != NULL && *s != '\0' ? strtol(s, NULL, 10) : 0;
}

/* ---- parameter and column helpers ---- */

const char *u64s(idbuf *b, uint64_t v)
{
    snprintf(b->s, sizeof(b->s), "%" PRIu64, v);
    return b->s;
}

const char *i64s(idbuf *b, int64_t v)
{
    snprintf(b->s, sizeof(b->s), "%" PRId64, v);
    return b->s;
}

/* "{1,2,3}" as a bigint[] literal. */
sc_status db_id_array(sc_buf *b, const uint64_t *ids, size_t n)
{
    if (sc_buf_puts(b, "{") != SC_OK)
        return SC_ENOMEM;
    for (size_t i = 0; i < n; i++)
        if (sc_buf_printf(b, "%s%" PRIu64, i > 0 ? "," : "", ids[i]) != SC_OK)
            return SC_ENOMEM;
    return sc_buf_puts(b, "}") == SC_OK ? SC_OK : SC_ENOMEM;
}

/* arr = a fresh bigint[] literal of ids (the caller frees arr either way);
 * SC_ENOMEM with the reason in db's errstr. */
sc_status id_array_param(sc_db *db, sc_buf *arr, const uint64_t *ids, size_t n)
{
    sc_buf_init(arr, 0);
    if (db_id_array(arr, ids, n) != SC_OK) {
        sc_seterr(db->errstr, sizeof(db->errstr), "out of memory");
        return SC_ENOMEM;
    }
    return SC_OK;
}

sc_status col_u64(sc_db *db, const PGresult *r, int row, int col, uint64_t *out)
{
    if (PQgetisnull(r, row, col)) {
        *out = 0;
        return SC_OK;
    }
    if (sc_parse_u64(PQgetvalue(r, row, col), out) != SC_OK) {
        sc_seterr(db->errstr, sizeof(db->errstr), "bad id '%s' in column %d",
                  PQgetvalue(r, row, col), col);
        return SC_EPROTO;
    }
    return SC_OK;
}

sc_status col_i64(sc_db *db, const PGresult *r, int row, int col, int64_t *out)
{
    const char *s = PQgetvalue(r, row, col);
    char *end = NULL;
    long long v;
    if (PQgetisnull(r, row, col)) {
        *out = 0;
        return SC_OK;
    }
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0') {
        sc_seterr(db->errstr, sizeof(db->errstr), "bad integer '%s' in column %d", s, col);
        return SC_EPROTO;
    }
    *out = (int64_t)v;
    return SC_OK;
}

sc_status col_int(sc_db *db, const PGresult *r, int row, int col, int *out)
{
    int64_t v;
    sc_status st = col_i64(db, r, row, col, &v);
    if (st == SC_OK && (v < INT32_MIN || v > INT32_MAX)) {
        sc_seterr(db->errstr, sizeof(db->errstr), "integer out of range in column %d", col);
        return SC_EPROTO;
    }
    *out = (int)v;
    return st;
}

int col_bool(const PGresult *r, int row, int col)
{
    return !PQgetisnull(r, row, col) && PQgetvalue(r, row, col)[0] == 't';
}

void col_str(const PGresult *r, int row, int col, char *dst, size_t cap)
{
    snprintf(dst, cap, "%s", PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col));
}

/* ---- the one-row lookup ---- */

sc_status read_u64(sc_db *db, const PGresult *r, void *out) { return col_u64(db, r, 0, 0, out); }

sc_status read_i64(sc_db *db, const PGresult *r, void *out) { return col_i64(db, r, 0, 0, out); }

/* Run statement st and read its first row with read into out: SC_OK, the
 * db_run or read status, or SC_ENOTFOUND when no row came back - with the
 * reason formatted from fmt, or (fmt NULL) errstr untouched for a caller
 * that works out why itself. */
sc_status db_one(sc_db *db, const sc_db_stmt *st, const char *const *params, db_row_fn read,
                 void *out, const char *fmt, ...)
{
    PGresult *r = NULL;
    sc_status rc = db_run(db, st, params, &r);
    if (rc == SC_OK && PQntuples(r) > 0) {
        rc = read(db, r, out);
    } else if (rc == SC_OK) {
        rc = SC_ENOTFOUND;
        if (fmt != NULL) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(db->errstr, sizeof(db->errstr), fmt, ap);
            va_end(ap);
        }
    }
    PQclear(r);
    return rc;
}

/* Every row's column 0 as ids; *out malloc'd or NULL when no rows. */
sc_status rows_to_ids(sc_db *db, const PGresult *r, uint64_t **out, size_t *n)
{
    int rows = PQntuples(r);
    uint64_t *ids = NULL;
    *out = NULL;
    *n = 0;
    if (rows == 0)
        return SC_OK;
    ids = malloc((size_t)rows * sizeof(*ids));
    if (ids == NULL) {
        sc_seterr(db->errstr, sizeof(db->errstr), "out of memory");
        return SC_ENOMEM;
    }
    for (int i = 0; i < rows; i++) {
        if (col_u64(db, r, i, 0, &ids[i]) != SC_OK) {
            free(ids);
            return SC_EPROTO;
        }
    }
    *out = ids;
    *n = (size_t)rows;
    return SC_OK;
}

/* "1,2,3" (array_to_string) into a malloc'd array. */
