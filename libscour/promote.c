/*
 * promote.c - big channels get an index of their own (see promote.h):
 * queueing a promotion, the automatic pass over the clusters' shared indices
 * and the listing of promoted channels. The job's target text and N-shard
 * schema are promote_job.c's; running the job is the reindex engine's.
 */
#include "promote.h"

#include "index_name.h"
#include "log.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIND_MAX 100 /* big channels taken from one cluster per pass */

sc_promote_check sc_promote_classify(const sc_binding *b, const char *base)
{
    if (b == NULL)
        return SC_PROMOTE_UNBOUND;
    if (b->state != SC_BINDING_ACTIVE)
        return SC_PROMOTE_BUSY;
    if (sc_index_name_is_channel(b->index, base, NULL))
        return SC_PROMOTE_ALREADY;
    return SC_PROMOTE_GO;
}

const char *sc_promote_check_str(sc_promote_check c)
{
    switch (c) {
    case SC_PROMOTE_GO:
        return "go";
    case SC_PROMOTE_UNBOUND:
        return "unbound";
    case SC_PROMOTE_ALREADY:
        return "already";
    case SC_PROMOTE_BUSY:
        return "busy";
    }
    return "?";
}

sc_status sc_promote_queue(const sc_promote_req *req, sc_promote_out *out, char *err, size_t errlen)
{
    char target[64];
    sc_job j;
    sc_status st;
    memset(out, 0, sizeof *out);
    if (req == NULL || req->db == NULL || req->binder == NULL || req->base == NULL ||
        sc_promote_target(req->channel_id, req->shards, target, sizeof target) != SC_OK) {
        sc_seterr(err, errlen, "promote: bad request (channel id, shards 1..%d)",
                  SC_PROMOTE_SHARDS_MAX);
        return SC_EINVAL;
    }
    st = sc_db_binding_get(req->db, req->channel_id, &out->binding);
    if (st == SC_ENOTFOUND) {
        out->check = SC_PROMOTE_UNBOUND;
        return SC_OK;
    }
    if (st != SC_OK) {
        sc_seterr(err, errlen, "binding of %" PRIu64 ": %s", req->channel_id,
                  sc_db_errstr(req->db));
        return st;
    }
    out->check = sc_promote_classify(&out->binding, req->base);
    if (out->check == SC_PROMOTE_GO) {
        /* a job already working on the channel (a move, a rebuild, another
         * promotion not yet started) goes first */
        st = sc_db_job_for_channel(req->db, req->channel_id, &j);
        if (st == SC_OK) {
            out->check = SC_PROMOTE_BUSY;
            out->job_id = j.id;
        } else if (st != SC_ENOTFOUND) {
            sc_seterr(err, errlen, "jobs of %" PRIu64 ": %s", req->channel_id,
                      sc_db_errstr(req->db));
            return st;
        }
    } else if (out->check == SC_PROMOTE_BUSY &&
               sc_db_job_for_channel(req->db, req->channel_id, &j) == SC_OK) {
        out->job_id = j.id;
    }
    if (out->check != SC_PROMOTE_GO)
        return SC_OK;
    if (sc_index_name_channel(req->base, req->channel_id, out->index, sizeof out->index, err,
                              errlen) != SC_OK)
        return SC_EINVAL;
    if (req->to != NULL && req->to[0] != '\0') {
        snprintf(out->cluster, sizeof out->cluster, "%s", req->to);
    } else {
        st =
            sc_binder_pick_free(req->binder, out->binding.cluster, (double)req->docs, out->cluster);
        if (st != SC_OK) {
            sc_seterr(err, errlen, "no cluster can take channel %" PRIu64 ": %s", req->channel_id,
                      sc_binder_errstr(req->binder));
            return st;
        }
    }
    st = sc_db_job_create(req->db, SC_PROMOTE_KIND, target, out->cluster, req->recent_days,
                          &out->job_id);
    if (st == SC_OK)
        st = sc_db_job_channels_add(req->db, out->job_id, &req->channel_id, 1);
    if (st != SC_OK) {
        sc_seterr(err, errlen, "queue the promotion of %" PRIu64 ": %s", req->channel_id,
                  sc_db_errstr(req->db));
        return st;
    }
    log_info("promote: channel %" PRIu64 " (%" PRId64 " documents on %s/%s): job %" PRId64
             " to %s/%s with %d shards",
             req->channel_id, req->docs, out->binding.cluster, out->binding.index, out->job_id,
             out->cluster, out->index, req->shards);
    return SC_OK;
}

sc_status sc_promote_find_big(es_client *es, const char *index, int64_t min_docs, size_t max,
                              sc_big_channel **out, size_t *n, char *err, size_t errlen)
{
    sc_buf q, resp;
    cJSON *j = NULL;
    const cJSON *buckets, *it;
    const char *scan;
    sc_status st;
    size_t k = 0, cap;
    *out = NULL;
    *n = 0;
    if (es == NULL || !es_index_name_ok(index, 0) || min_docs < 1 || max == 0) {
        sc_seterr(err, errlen, "promote: bad arguments to find big channels");
        return SC_EINVAL;
    }
    sc_buf_init(&q, 0);
    sc_buf_init(&resp, 0);
    /* size 0: no hits; terms on channel_id, only buckets past the
     * threshold, largest first */
    if (sc_buf_printf(&q,
                      "{\"size\":0,\"track_total_hits\":false,\"aggs\":{\"big\":{\"terms\":{"
                      "\"field\":\"channel_id\",\"min_doc_count\":%" PRId64
                      ",\"size\":%zu,\"order\":{\"_count\":\"desc\"}}}}}",
                      min_docs, max) != SC_OK) {
        st = SC_ENOMEM;
        goto out;
    }
    st = es_search(es, index, q.data, &resp, NULL);
    if (st != SC_OK) {
        sc_seterr(err, errlen, "%s", es_errstr(es));
        goto out;
    }
    j = cJSON_ParseWithLength(resp.data, resp.len);
    buckets = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "aggregations"),
                                         "big"),
        "buckets");
    if (!cJSON_IsArray(buckets)) {
        sc_seterr(err, errlen, "promote: %s: no terms buckets in the answer", index);
        st = SC_EPROTO;
        goto out;
    }
    cap = (size_t)cJSON_GetArraySize(buckets);
    if (cap > 0 && (*out = calloc(cap, sizeof **out)) == NULL) {
        st = SC_ENOMEM;
        goto out;
    }
    /* channel ids are 64-bit longs, which a double (cJSON) cannot hold
     * exactly: the keys are read from the text, the i-th "key": after
     * "buckets" being bucket i's (terms buckets hold no other "key") */
    scan = resp.data != NULL ? strstr(resp.data, "\"buckets\"") : NULL;
    cJSON_ArrayForEach(it, buckets)
    {
        const cJSON *key = cJSON_GetObjectItemCaseSensitive(it, "key");
        const cJSON *dc = cJSON_GetObjectItemCaseSensitive(it, "doc_count");
        char *end = NULL;
        unsigned long long id = 0;
        if (scan != NULL && (scan = strstr(scan, "\"key\":")) != NULL) {
            scan += 6;
            id = strtoull(scan, &end, 10);
            if (end == scan)
                id = 0;
        }
        if (!cJSON_IsNumber(key) || !cJSON_IsNumber(dc) || id == 0 ||
            (double)id - key->valuedouble > 1e4 || key->valuedouble - (double)id > 1e4)
            continue;
        (*out)[k].channel_id = (uint64_t)id;
        (*out)[k].docs = sc_i64_from_double(dc->valuedouble);
        k++;
    }
    *n = k;
    if (k == 0) {
        free(*out);
        *out = NULL;
    }
out:
    cJSON_Delete(j);
    sc_buf_free(&q);
    sc_buf_free(&resp);
    return st;
}

sc_status sc_promote_pass(const sc_promote_pass_opts *o, int *queued, char *err, size_t errlen)
{
    sc_cluster_info *infos = NULL;
    size_t ninfo = 0, i, k;
    sc_status st = SC_OK;
    int nq = 0;
    if (queued != NULL)
        *queued = 0;
    if (o == NULL || o->db == NULL || o->binder == NULL || o->rx == NULL || o->view == NULL ||
        o->base == NULL || o->min_docs < 1)
        return SC_EINVAL;
    if (sc_cluster_view_list(o->view, &infos, &ninfo) != SC_OK) {
        sc_seterr(err, errlen, "promote: cluster view unreadable");
        return SC_ERR;
    }
    for (i = 0; i < ninfo && st == SC_OK; i++) {
        es_client *es;
        sc_big_channel *big = NULL;
        size_t nbig = 0;
        char why[SC_ERRLEN];
        if (!infos[i].live)
            continue;
        if (sc_reindex_client(o->rx, infos[i].name, &es) != SC_OK)
            continue;
        st = sc_promote_find_big(es, o->base, o->min_docs, FIND_MAX, &big, &nbig, why, sizeof why);
        if (st != SC_OK) {
            if (st != SC_ENOTFOUND)
                log_warn("promote: %s: %s", infos[i].name, why);
            st = SC_OK;
            continue;
        }
        for (k = 0; k < nbig; k++) {
            sc_promote_req rq;
            sc_promote_out po;
            sc_binding b;
            /* only the copy the binding names counts: documents in a stale
             * copy, or one being moved away, are not the channel's size */
            if (sc_db_binding_get(o->db, big[k].channel_id, &b) != SC_OK ||
                strcmp(b.cluster, infos[i].name) != 0 || strcmp(b.index, o->base) != 0)
                continue;
            memset(&rq, 0, sizeof rq);
            rq.db = o->db;
            rq.binder = o->binder;
            rq.base = o->base;
            rq.channel_id = big[k].channel_id;
            rq.shards = o->shards;
            rq.docs = big[k].docs;
            rq.recent_days = o->recent_days;
            st = sc_promote_queue(&rq, &po, err, errlen);
            if (st == SC_ENOTFOUND) {
                log_warn("promote: channel %" PRIu64 ": %s", big[k].channel_id, err);
                st = SC_OK;
                break; /* no cluster at all: the next pass tries again */
            }
            if (st != SC_OK)
                break;
            if (po.check == SC_PROMOTE_GO)
                nq++;
        }
        free(big);
    }
    free(infos);
    if (queued != NULL)
        *queued = nq;
    return st;
}

/* Index names of base's channel indices on es, with shards and docs. */
static sc_status cat_channel_indices(es_client *es, const char *cluster, const char *base,
                                     sc_promoted **rows, size_t *n, size_t *cap)
{
    char path[400];
    sc_buf resp;
    cJSON *j;
    const cJSON *it;
    sc_status st;
    snprintf(path, sizeof path,
             "/_cat/indices/%s-ch-*?format=json&h=index,pri,docs.count&expand_wildcards=open",
             base);
    sc_buf_init(&resp, 0);
    st = es_request(es, "GET", path, NULL, 0, &resp, NULL);
    if (st != SC_OK) {
        sc_buf_free(&resp);
        return st;
    }
    j = cJSON_ParseWithLength(resp.data, resp.len);
    sc_buf_free(&resp);
    cJSON_ArrayForEach(it, j)
    {
        const cJSON *ix = cJSON_GetObjectItemCaseSensitive(it, "index");
        const cJSON *pri = cJSON_GetObjectItemCaseSensitive(it, "pri");
        const cJSON *dc = cJSON_GetObjectItemCaseSensitive(it, "docs.count");
        uint64_t ch;
        uint64_t v;
        sc_promoted *r;
        if (!cJSON_IsString(ix) || !sc_index_name_is_channel(ix->valuestring, base, &ch))
            continue;
        if (*n == *cap) {
            size_t nc = *cap ? *cap * 2 : 8;
            sc_promoted *g = realloc(*rows, nc * sizeof *g);
            if (g == NULL) {
                cJSON_Delete(j);
                return SC_ENOMEM;
            }
            *rows = g;
            *cap = nc;
        }
        r = &(*rows)[(*n)++];
        memset(r, 0, sizeof *r);
        r->channel_id = ch;
        snprintf(r->cluster, sizeof r->cluster, "%s", cluster);
        snprintf(r->index, sizeof r->index, "%s", ix->valuestring);
        r->shards = cJSON_IsString(pri) && sc_parse_u64(pri->valuestring, &v) == SC_OK ? (int)v : 0;
        r->docs =
            cJSON_IsString(dc) && sc_parse_u64(dc->valuestring, &v) == SC_OK ? (int64_t)v : -1;
        snprintf(r->state, sizeof r->state, "?");
    }
    cJSON_Delete(j);
    return SC_OK;
}

static int cmp_promoted(const void *a, const void *b)
{
    const sc_promoted *x = a, *y = b;
    int c = strcmp(x->cluster, y->cluster);
    if (c != 0)
        return c;
    return x->channel_id < y->channel_id ? -1 : x->channel_id > y->channel_id;
}

sc_status sc_promote_list(sc_cluster_view *view, sc_clients *clients, sc_db *db, const char *base,
                          sc_promoted **out, size_t *n)
{
    sc_cluster_info *infos = NULL;
    size_t ninfo = 0, i, cap = 0;
    sc_status st = SC_OK;
    *out = NULL;
    *n = 0;
    if (!es_index_name_ok(base, 0))
        return SC_EINVAL;
    if (sc_cluster_view_list(view, &infos, &ninfo) != SC_OK)
        return SC_OK; /* nothing to ask */
    for (i = 0; i < ninfo && st != SC_ENOMEM; i++) {
        es_client *es;
        if (!infos[i].live || sc_clients_get(clients, infos[i].name, &es) != SC_OK)
            continue;
        st = cat_channel_indices(es, infos[i].name, base, out, n, &cap);
    }
    free(infos);
    if (st == SC_ENOMEM) {
        free(*out);
        *out = NULL;
        *n = 0;
        return st;
    }
    if (*n > 1)
        qsort(*out, *n, sizeof **out, cmp_promoted);
    for (i = 0; db != NULL && i < *n; i++) {
        sc_promoted *r = &(*out)[i];
        sc_binding b;
        if (sc_db_binding_get(db, r->channel_id, &b) != SC_OK)
            continue;
        if (strcmp(b.cluster, r->cluster) == 0 && strcmp(b.index, r->index) == 0)
            snprintf(r->state, sizeof r->state, "%s", sc_binding_state_str(b.state));
        else
            snprintf(r->state, sizeof r->state, "stale");
    }
    if (*n == 0) {
        free(*out);
        *out = NULL;
    }
    return SC_OK;
}
