/*
 * db_verify.c - channel_verifications and the digest buckets verify compares
 * against the index. See db.h for the contract; digest.h for the digest.
 */
#include "db_int.h"

#include <inttypes.h>
#include <stdio.h>

#include "digest.h"

#include <stdlib.h>
#include <string.h>

/* $2 = k+1 increasing bounds; bucket i (0-based) = [$2[i+1], $2[i+2]) */
static const sc_db_stmt ST_VERIFY_BUCKETS = {
    "sc_verify_buckets", 4,
    "SELECT width_bucket(m.id, $2::bigint[]) - 1, count(*), coalesce(sum(" SC_DIGEST_SQL "), 0)"
    " FROM messages m WHERE m.channel_id = $1::bigint AND m.id >= $3::bigint AND m.id < "
    "$4::bigint"
    " GROUP BY 1"};

static const sc_db_stmt ST_VERIFY_MARK = {
    "sc_verify_mark", 4,
    "INSERT INTO channel_verifications (channel_id, verified_at, result, drift_docs, error)"
    " VALUES ($1::bigint, now(), $2::text, $3::bigint, $4::text)"
    " ON CONFLICT (channel_id) DO UPDATE SET verified_at = now(), claimed_at = NULL,"
    " result = EXCLUDED.result, drift_docs = EXCLUDED.drift_docs, error = EXCLUDED.error"};

/* claim: bound channels on the given clusters, never verified first, then
     * the longest-unverified, skipping those another sweep claimed less than
     * $3 s ago */
static const sc_db_stmt ST_VERIFY_NEXT = {
    "sc_verify_next", 3,
    "WITH pick AS (SELECT b.channel_id FROM channel_bindings b"
    "   LEFT JOIN channel_verifications v ON v.channel_id = b.channel_id"
    "   WHERE b.cluster = ANY ($2::text[])"
    "     AND (v.claimed_at IS NULL OR v.claimed_at < now() - make_interval(secs => $3::int))"
    "   ORDER BY v.verified_at ASC NULLS FIRST, b.channel_id LIMIT $1::int"
    "   FOR UPDATE OF b SKIP LOCKED)"
    " INSERT INTO channel_verifications (channel_id, claimed_at) SELECT channel_id, now() "
    "FROM pick"
    " ON CONFLICT (channel_id) DO UPDATE SET claimed_at = now()"
    " RETURNING channel_id"};

static const sc_db_stmt ST_VERIFY_PROGRESS = {
    "sc_verify_progress", 1,
    "SELECT count(*), count(v.verified_at),"
    " count(*) FILTER (WHERE v.verified_at >= now() - make_interval(secs => $1::int)),"
    " count(*) FILTER (WHERE v.result IN ('drift', 'repaired')"
    "   AND v.verified_at >= now() - make_interval(secs => $1::int)),"
    " count(*) FILTER (WHERE v.result = 'error'),"
    " coalesce((extract(epoch FROM min(v.verified_at)) * 1000)::bigint, 0),"
    " coalesce((extract(epoch FROM max(v.verified_at)) * 1000)::bigint, 0)"
    " FROM channel_bindings b LEFT JOIN channel_verifications v ON v.channel_id = "
    "b.channel_id"};

/* ---- verify ---- */

sc_status sc_db_verify_buckets(sc_db *db, uint64_t channel_id, const uint64_t *bounds, size_t k,
                               int64_t *counts, uint64_t *sums)
{
    idbuf a, lo, hi;
    sc_buf arr;
    const char *p[4];
    PGresult *r = NULL;
    sc_status st;
    int i, n;
    if (k == 0 || bounds == NULL || counts == NULL || sums == NULL) {
        sc_seterr(db->errstr, sizeof(db->errstr), "verify buckets: no buckets");
        return SC_EINVAL;
    }
    for (size_t j = 0; j < k; j++) {
        counts[j] = 0;
        sums[j] = 0;
        if (bounds[j] >= bounds[j + 1] || bounds[j + 1] > (uint64_t)INT64_MAX) {
            sc_seterr(db->errstr, sizeof(db->errstr), "verify buckets: bounds not increasing");
            return SC_EINVAL;
        }
    }
    sc_buf_init(&arr, 0);
    if (db_id_array(&arr, bounds, k + 1) != SC_OK) {
        sc_buf_free(&arr);
        return SC_ENOMEM;
    }
    p[0] = u64s(&a, channel_id);
    p[1] = arr.data;
    p[2] = u64s(&lo, bounds[0]);
    p[3] = u64s(&hi, bounds[k]);
    st = db_run(db, &ST_VERIFY_BUCKETS, p, &r);
    sc_buf_free(&arr);
    if (st != SC_OK) {
        PQclear(r);
        return st;
    }
    n = PQntuples(r);
    for (i = 0; i < n && st == SC_OK; i++) {
        int64_t b = 0, c = 0;
        uint64_t sum = 0;
        if ((st = col_i64(db, r, i, 0, &b)) != SC_OK || (st = col_i64(db, r, i, 1, &c)) != SC_OK ||
            (st = col_u64(db, r, i, 2, &sum)) != SC_OK)
            break;
        if (b < 0 || (size_t)b >= k) {
            sc_seterr(db->errstr, sizeof(db->errstr),
                      "verify buckets: bucket %" PRId64 " out of range", b);
            st = SC_EPROTO;
            break;
        }
        counts[b] = c;
        sums[b] = sum;
    }
    PQclear(r);
    return st;
}

sc_status sc_db_verify_mark(sc_db *db, uint64_t channel_id, const char *result, int64_t drift_docs,
                            const char *error)
{
    idbuf a, d;
    const char *p[4] = {u64s(&a, channel_id), result, i64s(&d, drift_docs),
                        error != NULL && *error ? error : NULL};
    PGresult *r = NULL;
    sc_status st;
    if (result == NULL) {
        sc_seterr(db->errstr, sizeof(db->errstr), "verify mark: no result");
        return SC_EINVAL;
    }
    st = db_run(db, &ST_VERIFY_MARK, p, &r);
    PQclear(r);
    return st;
}

sc_status sc_db_verify_next(sc_db *db, const char *const *clusters, size_t nclusters, int limit,
                            int claim_s, uint64_t **channels, size_t *n)
{
    idbuf l, c;
    sc_buf arr;
    const char *p[3];
    PGresult *r = NULL;
    sc_status st = SC_OK;
    size_t i;
    *channels = NULL;
    *n = 0;
    sc_buf_init(&arr, 0);
    /* a text[] literal: names are [A-Za-z0-9._-] (sc_cluster_name_ok), quoted anyway */
    if (sc_buf_puts(&arr, "{") != SC_OK)
        st = SC_ENOMEM;
    for (i = 0; st == SC_OK && i < nclusters; i++) {
        if (strpbrk(clusters[i], "\"\\{},") != NULL) {
            sc_seterr(db->errstr, sizeof(db->errstr), "verify next: bad cluster name");
            st = SC_EINVAL;
        } else if (sc_buf_printf(&arr, "%s\"%s\"", i ? "," : "", clusters[i]) != SC_OK) {
            st = SC_ENOMEM;
        }
    }
    if (st == SC_OK && sc_buf_puts(&arr, "}") != SC_OK)
        st = SC_ENOMEM;
    if (st != SC_OK) {
        sc_buf_free(&arr);
        return st;
    }
    p[0] = i64s(&l, limit);
    p[1] = arr.data;
    p[2] = i64s(&c, claim_s);
    st = db_run(db, &ST_VERIFY_NEXT, p, &r);
    sc_buf_free(&arr);
    if (st == SC_OK)
        st = rows_to_ids(db, r, channels, n);
    PQclear(r);
    return st;
}

sc_status sc_db_verify_progress(sc_db *db, int64_t window_s, sc_verify_progress *out)
{
    idbuf w;
    const char *p[1] = {i64s(&w, window_s)};
    PGresult *r = NULL;
    sc_status st;
    memset(out, 0, sizeof *out);
    st = db_run(db, &ST_VERIFY_PROGRESS, p, &r);
    if (st == SC_OK) {
        int64_t *cols[7] = {&out->channels,     &out->verified_ever, &out->verified_recent,
                            &out->drift_recent, &out->errors,        &out->oldest_ms,
                            &out->newest_ms};
        for (int c = 0; c < 7 && st == SC_OK; c++)
            st = col_i64(db, r, 0, c, cols[c]);
    }
    PQclear(r);
    return st;
}
