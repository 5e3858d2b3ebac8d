/*
 * db_binding.c - channel_bindings: where each channel is indexed, changed
 * only by compare-and-set on its generation. See db.h for the contract;
 * caching lives in binding.c.
 */
#include "db_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <string.h>

#define BINDING_COLS                                                          \
    "channel_id, cluster, index_name, state, coalesce(previous_cluster, '')," \
    " coalesce(previous_index, ''), generation, history_from"

static const sc_db_stmt ST_BINDING_GET = {"sc_binding_get", 1,
                                          "SELECT " BINDING_COLS
                                          " FROM channel_bindings WHERE channel_id = $1::bigint"};

static const sc_db_stmt ST_BINDING_INSERT = {
    "sc_binding_insert", 4,
    "INSERT INTO channel_bindings (channel_id, cluster, index_name, state)"
    " VALUES ($1::bigint, $2::text, $3::text, $4::text) ON CONFLICT (channel_id) DO NOTHING"};

static const sc_db_stmt ST_BINDING_UPDATE = {
    "sc_binding_update", 5,
    "UPDATE channel_bindings b SET"
    " previous_cluster = CASE WHEN b.cluster <> $2::text OR b.index_name <> $3::text"
    "   THEN b.cluster ELSE b.previous_cluster END,"
    " previous_index = CASE WHEN b.cluster <> $2::text OR b.index_name <> $3::text"
    "   THEN b.index_name ELSE b.previous_index END,"
    " cluster = $2::text, index_name = $3::text, state = $4::text,"
    " generation = b.generation + 1, updated_at = now()"
    " WHERE b.channel_id = $1::bigint AND b.generation = $5::int"
    " RETURNING " BINDING_COLS};

static const sc_db_stmt ST_BINDING_SET_HISTORY = {
    "sc_binding_set_history", 3,
    "UPDATE channel_bindings b SET history_from = $2::bigint,"
    " generation = b.generation + 1, updated_at = now()"
    " WHERE b.channel_id = $1::bigint AND b.generation = $3::int"
    " RETURNING " BINDING_COLS};

static const sc_db_stmt ST_BINDING_EXISTS = {
    "sc_binding_exists", 1, "SELECT 1 FROM channel_bindings WHERE channel_id = $1::bigint"};

static const sc_db_stmt ST_BINDINGS_ON_CLUSTER = {
    "sc_bindings_on_cluster", 1,
    "SELECT channel_id FROM channel_bindings WHERE cluster = $1::text ORDER BY channel_id"};

static const sc_db_stmt ST_BINDING_COUNTS = {
    "sc_binding_counts", 0,
    "SELECT cluster, count(*), count(*) FILTER (WHERE state = 'active'),"
    " count(*) FILTER (WHERE state = 'building'), count(*) FILTER (WHERE state = 'moving')"
    " FROM channel_bindings GROUP BY cluster ORDER BY cluster"};

/* ---- bindings ---- */

static sc_status row_to_binding(sc_db *db, const PGresult *r, int i, sc_binding *b)
{
    memset(b, 0, sizeof(*b));
    if (col_u64(db, r, i, 0, &b->channel_id) != SC_OK)
        return SC_EPROTO;
    col_str(r, i, 1, b->cluster, sizeof(b->cluster));
    col_str(r, i, 2, b->index, sizeof(b->index));
    if (sc_binding_state_parse(PQgetvalue(r, i, 3), &b->state) != SC_OK) {
        sc_seterr(db->errstr, sizeof(db->errstr),
                  "binding of channel %" PRIu64 ": unknown state '%.32s'", b->channel_id,
                  PQgetvalue(r, i, 3));
        return SC_EPROTO;
    }
    col_str(r, i, 4, b->prev_cluster, sizeof(b->prev_cluster));
    col_str(r, i, 5, b->prev_index, sizeof(b->prev_index));
    if (col_u64(db, r, i, 7, &b->history_from) != SC_OK)
        return SC_EPROTO;
    return col_int(db, r, i, 6, &b->generation);
}

static sc_status read_binding(sc_db *db, const PGresult *r, void *out)
{
    return row_to_binding(db, r, 0, out);
}

/* cluster/index must fit sc_binding's fields so a read-back is exact. */
static sc_status check_binding_args(sc_db *db, const char *cluster, const char *index,
                                    sc_binding_state state)
{
    sc_binding b;
    if (cluster == NULL || *cluster == '\0' || strlen(cluster) >= sizeof(b.cluster) ||
        index == NULL || *index == '\0' || strlen(index) >= sizeof(b.index) ||
        !sc_binding_state_valid(state)) {
        sc_seterr(db->errstr, sizeof(db->errstr),
                  "binding: empty or too long cluster/index, or bad state");
        return SC_EINVAL;
    }
    return SC_OK;
}

sc_status sc_db_binding_get(sc_db *db, uint64_t channel_id, sc_binding *out)
{
    idbuf a;
    const char *p[1] = {u64s(&a, channel_id)};
    return db_one(db, &ST_BINDING_GET, p, read_binding, out, "channel %" PRIu64 " has no binding",
                  channel_id);
}

sc_status sc_db_binding_insert_if_absent(sc_db *db, uint64_t channel_id, const char *cluster,
                                         const char *index, sc_binding_state state,
                                         sc_binding *winner)
{
    idbuf a;
    const char *p[4];
    sc_status st = check_binding_args(db, cluster, index, state);
    if (st != SC_OK)
        return st;
    p[0] = u64s(&a, channel_id);
    p[1] = cluster;
    p[2] = index;
    p[3] = sc_binding_state_str(state);
    /* Two statements on purpose: the SELECT takes a fresh snapshot, so it
     * sees a racer's row that our ON CONFLICT waited for. */
    if ((st = db_run(db, &ST_BINDING_INSERT, p, NULL)) != SC_OK)
        return st;
    st = sc_db_binding_get(db, channel_id, winner);
    if (st == SC_ENOTFOUND) {
        sc_seterr(db->errstr, sizeof(db->errstr),
                  "binding of channel %" PRIu64 " vanished right after insert", channel_id);
        st = SC_ECONFLICT;
    }
    return st;
}

/* Run compare-and-set statement `which` (params p, p[0] = the channel id)
 * and read back the row: SC_ECONFLICT on a stale generation, SC_ENOTFOUND
 * when the channel has no binding. */
static sc_status binding_cas(sc_db *db, const sc_db_stmt *which, const char *const *p,
                             uint64_t channel_id, int expected_generation, sc_binding *out)
{
    sc_binding tmp;
    sc_status st = db_one(db, which, p, read_binding, out != NULL ? out : &tmp, NULL);
    if (st != SC_ENOTFOUND)
        return st;
    /* nothing updated: no binding, or a stale generation */
    st = db_one(db, &ST_BINDING_EXISTS, p, read_u64, &tmp.channel_id,
                "channel %" PRIu64 " has no binding", channel_id);
    if (st == SC_OK) {
        sc_seterr(db->errstr, sizeof(db->errstr),
                  "binding of channel %" PRIu64 " changed: generation is no longer %d", channel_id,
                  expected_generation);
        st = SC_ECONFLICT;
    }
    return st;
}

sc_status sc_db_binding_update(sc_db *db, uint64_t channel_id, const char *cluster,
                               const char *index, sc_binding_state state, int expected_generation,
                               sc_binding *out)
{
    idbuf a, g;
    const char *p[5];
    sc_status st = check_binding_args(db, cluster, index, state);
    if (st != SC_OK)
        return st;
    p[0] = u64s(&a, channel_id);
    p[1] = cluster;
    p[2] = index;
    p[3] = sc_binding_state_str(state);
    p[4] = i64s(&g, expected_generation);
    return binding_cas(db, &ST_BINDING_UPDATE, p, channel_id, expected_generation, out);
}

sc_status sc_db_binding_set_history(sc_db *db, uint64_t channel_id, uint64_t history_from,
                                    int expected_generation, sc_binding *out)
{
    idbuf a, h, g;
    const char *p[3];
    if (history_from > INT64_MAX) {
        sc_seterr(db->errstr, sizeof(db->errstr), "binding: history_from out of range");
        return SC_EINVAL;
    }
    p[0] = u64s(&a, channel_id);
    p[1] = u64s(&h, history_from);
    p[2] = i64s(&g, expected_generation);
    return binding_cas(db, &ST_BINDING_SET_HISTORY, p, channel_id, expected_generation, out);
}

sc_status sc_db_bindings_on_cluster(sc_db *db, const char *cluster, uint64_t **channels, size_t *n)
{
    const char *p[1] = {cluster};
    PGresult *r = NULL;
    sc_status st;
    *channels = NULL;
    *n = 0;
    if (cluster == NULL) {
        sc_seterr(db->errstr, sizeof(db->errstr), "cluster is NULL");
        return SC_EINVAL;
    }
    st = db_run(db, &ST_BINDINGS_ON_CLUSTER, p, &r);
    if (st == SC_OK)
        st = rows_to_ids(db, r, channels, n);
    PQclear(r);
    return st;
}

sc_status sc_db_binding_counts(sc_db *db, sc_cluster_count **out, size_t *n)
{
    PGresult *r = NULL;
    sc_cluster_count *cc = NULL;
    int rows;
    sc_status st;
    *out = NULL;
    *n = 0;
    st = db_run(db, &ST_BINDING_COUNTS, NULL, &r);
    if (st != SC_OK)
        return st;
    rows = PQntuples(r);
    if (rows > 0 && (cc = calloc((size_t)rows, sizeof(*cc))) == NULL) {
        sc_seterr(db->errstr, sizeof(db->errstr), "out of memory");
        st = SC_ENOMEM;
    }
    for (int i = 0; st == SC_OK && i < rows; i++) {
        col_str(r, i, 0, cc[i].cluster, sizeof(cc[i].cluster));
        if (col_i64(db, r, i, 1, &cc[i].total) != SC_OK ||
            col_i64(db, r, i, 2, &cc[i].active) != SC_OK ||
            col_i64(db, r, i, 3, &cc[i].building) != SC_OK ||
            col_i64(db, r, i, 4, &cc[i].moving) != SC_OK)
            st = SC_EPROTO;
    }
    PQclear(r);
    if (st != SC_OK) {
        free(cc);
        return st;
    }
    *out = cc;
    *n = (size_t)rows;
    return SC_OK;
}
