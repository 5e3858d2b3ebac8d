/*
 * merge.c - parse per-cluster search answers and merge them into one page;
 * see merge.h. Merging is concatenate + sort rather than a k-way heap: the
 * inputs are at most (offset+limit) * clusters hits, and sorting makes the
 * result independent of whether each cluster really returned sorted hits.
 */
#include "merge.h"

#include <cjson/cJSON.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_EXACT_DOUBLE 9007199254740992.0 /* 2^53 */

/* A JSON id: decimal string, or an integer number small enough to be exact. */
static int json_id(const cJSON *v, uint64_t *out)
{
    if (cJSON_IsString(v) && v->valuestring != NULL)
        return sc_parse_u64(v->valuestring, out) == SC_OK;
    if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (d < 0 || d > MAX_EXACT_DOUBLE || floor(d) != d)
            return 0;
        *out = (uint64_t)d;
        return 1;
    }
    return 0;
}

void sc_cluster_result_clear(sc_cluster_result *r)
{
    if (r == NULL)
        return;
    free(r->hits);
    memset(r, 0, sizeof(*r));
}

static sc_status fail(sc_cluster_result *out, cJSON *root, sc_status st, char *err,
                      size_t errlen, const char *msg, long idx)
{
    if (idx >= 0)
        sc_seterr(err, errlen, "hit %ld: %s", idx, msg);
    else
        sc_seterr(err, errlen, "%s", msg);
    cJSON_Delete(root);
    sc_cluster_result_clear(out);
    out->failed = 1;
    return st;
}

sc_status sc_cluster_result_parse(const char *json, size_t len, sc_cluster_result *out,
                                  char *err, size_t errlen)
{
    cJSON *root, *hits, *arr, *total, *it, *shards;
    size_t n, i = 0;

    memset(out, 0, sizeof(*out));
    root = json ? cJSON_ParseWithLength(json, len) : NULL;
    if (root == NULL || !cJSON_IsObject(root))
        return fail(out, root, SC_EPROTO, err, errlen, "response is not a JSON object", -1);
    if (cJSON_GetObjectItemCaseSensitive(root, "error") != NULL)
        return fail(out, root, SC_EPROTO, err, errlen, "cluster returned an error", -1);
    hits = cJSON_GetObjectItemCaseSensitive(root, "hits");
    arr = cJSON_GetObjectItemCaseSensitive(hits, "hits");
    if (!cJSON_IsObject(hits) || !cJSON_IsArray(arr))
        return fail(out, root, SC_EPROTO, err, errlen, "no hits.hits array", -1);
    total = cJSON_GetObjectItemCaseSensitive(hits, "total");
    if (cJSON_IsObject(total)) {
        cJSON *val = cJSON_GetObjectItemCaseSensitive(total, "value");
        cJSON *rel = cJSON_GetObjectItemCaseSensitive(total, "relation");
        if (!cJSON_IsNumber(val) || val->valuedouble < 0)
            return fail(out, root, SC_EPROTO, err, errlen, "bad hits.total.value", -1);
        out->total = (uint64_t)val->valuedouble;
        out->total_gte = cJSON_IsString(rel) && strcmp(rel->valuestring, "gte") == 0;
    } else if (cJSON_IsNumber(total) && total->valuedouble >= 0) {
        out->total = (uint64_t)total->valuedouble; /* pre-7 shape */
    } else {
        return fail(out, root, SC_EPROTO, err, errlen, "no hits.total", -1);
    }
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "timed_out")))
        out->incomplete = 1;
    shards = cJSON_GetObjectItemCaseSensitive(root, "_shards");
    {
        cJSON *sf = cJSON_GetObjectItemCaseSensitive(shards, "failed");
        if (cJSON_IsNumber(sf) && sf->valuedouble > 0)
            out->incomplete = 1;
    }

    n = (size_t)cJSON_GetArraySize(arr);
    if (n > 0) {
        out->hits = calloc(n, sizeof(*out->hits));
        if (out->hits == NULL)
            return fail(out, root, SC_ENOMEM, err, errlen, "out of memory", -1);
    }
    cJSON_ArrayForEach(it, arr)
    {
        sc_hit *h = &out->hits[i];
        cJSON *src = cJSON_GetObjectItemCaseSensitive(it, "_source");
        cJSON *sc = cJSON_GetObjectItemCaseSensitive(it, "_score");
        cJSON *cid = cJSON_GetObjectItemCaseSensitive(src, "channel_id");
        if (!json_id(cJSON_GetObjectItemCaseSensitive(it, "_id"), &h->id) &&
            !json_id(cJSON_GetObjectItemCaseSensitive(src, "id"), &h->id))
            return fail(out, root, SC_EPROTO, err, errlen, "no usable _id or _source.id",
                        (long)i);
        if (cid != NULL && !cJSON_IsNull(cid) && !json_id(cid, &h->channel_id))
            return fail(out, root, SC_EPROTO, err, errlen,
                        "_source.channel_id is not an exact id (index ids as strings)",
                        (long)i);
        h->score = cJSON_IsNumber(sc) ? sc->valuedouble : 0.0;
        if (h->score != h->score) /* NaN would break the ordering */
            h->score = 0.0;
        i++;
    }
    out->n = i;
    cJSON_Delete(root);
    return SC_OK;
}

/* Ordering context for qsort_r. */
typedef struct order_ctx {
    sc_sort_by by;       /* timestamp or relevance */
    sc_sort_order order; /* direction for timestamp */
} order_ctx;

/* <0 when a ranks before b. */
static int rank_cmp(const void *pa, const void *pb, void *arg)
{
    const sc_hit *a = pa, *b = pb;
    const order_ctx *o = arg;
    if (o->by == SC_SORT_RELEVANCE) {
        if (a->score != b->score)
            return a->score > b->score ? -1 : 1;
        return a->id == b->id ? 0 : (a->id > b->id ? -1 : 1);
    }
    if (a->id == b->id)
        return 0;
    if (o->order == SC_ORDER_ASC)
        return a->id < b->id ? -1 : 1;
    return a->id > b->id ? -1 : 1;
}

/* By id, then best-ranked first, so duplicates sit together. */
static int id_then_rank(const void *pa, const void *pb, void *arg)
{
    const sc_hit *a = pa, *b = pb;
    if (a->id != b->id)
        return a->id < b->id ? -1 : 1;
    return rank_cmp(pa, pb, arg);
}

void sc_merge_page_clear(sc_merge_page *p)
{
    if (p == NULL)
        return;
    free(p->hits);
    memset(p, 0, sizeof(*p));
}

sc_status sc_merge(const sc_cluster_result *res, size_t k, sc_sort_by sort_by,
                   sc_sort_order order, size_t offset, size_t limit, sc_merge_page *out)
{
    order_ctx o = {sort_by, order};
    size_t all = 0, m = 0, u = 0;
    sc_hit *v = NULL;

    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < k; i++) {
        if (res[i].failed) {
            out->failed++;
            out->partial = 1;
            continue;
        }
        if (res[i].incomplete)
            out->partial = 1;
        if (res[i].total_gte)
            out->total_gte = 1;
        out->total += res[i].total;
        if (res[i].n > SIZE_MAX / sizeof(sc_hit) - all)
            return SC_ENOMEM;
        all += res[i].n;
    }
    if (all == 0 || limit == 0 || offset >= all)
        return SC_OK;
    v = malloc(all * sizeof(*v));
    if (v == NULL) {
        memset(out, 0, sizeof(*out));
        return SC_ENOMEM;
    }
    for (size_t i = 0; i < k; i++) {
        if (res[i].failed || res[i].n == 0)
            continue;
        memcpy(v + m, res[i].hits, res[i].n * sizeof(*v));
        m += res[i].n;
    }
    /* drop duplicate ids (a message seen by two clusters mid-migration) */
    qsort_r(v, m, sizeof(*v), id_then_rank, &o);
    for (size_t i = 0; i < m; i++)
        if (u == 0 || v[u - 1].id != v[i].id)
            v[u++] = v[i];
    qsort_r(v, u, sizeof(*v), rank_cmp, &o);
    if (offset >= u) {
        free(v);
        return SC_OK;
    }
    m = u - offset < limit ? u - offset : limit;
    memmove(v, v + offset, m * sizeof(*v));
    out->hits = v;
    out->n = m;
    return SC_OK;
}
