/*
 * merge.c - parse per-cluster search answers and merge them into one page;
 * see merge.h. Merging is concatenate + sort rather than a k-way heap: the
 * inputs are at most (offset+limit) * clusters hits, and sorting makes the
 * result independent of whether each cluster really returned sorted hits.
 *
 * Parsing has two paths that must agree: the fast one (jscan, no tree) takes
 * the usual well-formed success answer and gives up on anything else, and
 * the cJSON path then decides, with its checks and error messages. The
 * unit tests and tests/fuzz/fuzz_query.c hold the two to the same result.
 */
#include "merge.h"

#include "jscan.h"

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

static sc_status fail(sc_cluster_result *out, cJSON *root, sc_status st, char *err, size_t errlen,
                      const char *msg, long idx)
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

/* ---- fast path: -1 = give up (the caller clears *out), 0 = done ---- */

/* A hit's id-like value, as json_id reads it: *usable = 1 with *out set, or
 * 0 for a value that is no id (null, a bool, a fraction...). */
static int fs_id(sc_jscan *j, uint64_t *out, int *usable)
{
    const char *s;
    size_t n;
    int esc;
    double d;
    char tmp[32];
    int c = sc_js_peek(j);
    *usable = 0;
    if (c == '"') {
        if (sc_js_string(j, &s, &n, &esc) != 0 || esc || n >= sizeof(tmp))
            return -1;
        memcpy(tmp, s, n);
        tmp[n] = '\0';
        *usable = sc_parse_u64(tmp, out) == SC_OK;
        return 0;
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
        if (sc_js_number(j, &d) != 0)
            return -1;
        if (d >= 0 && d <= MAX_EXACT_DOUBLE && floor(d) == d) {
            *out = (uint64_t)d;
            *usable = 1;
        }
        return 0;
    }
    if (c == '{' || c == '[')
        return -1; /* odd enough to let cJSON look */
    return sc_js_skip(j, 1);
}

/* The next member of an object whose '{' was eaten: 1 at its closing brace,
 * 0 with the key in *k, *kn (unescaped keys only) and its ':' consumed, -1
 * otherwise. *first is 1 before the first member. */
static int fs_next_key(sc_jscan *j, int *first, const char **k, size_t *kn)
{
    int esc, r;
    if (*first) {
        *first = 0;
        if (sc_js_peek(j) == '}') {
            j->p++;
            return 1;
        }
    } else if ((r = sc_js_more(j, '}')) != 0) {
        return r;
    }
    if (sc_js_string(j, k, kn, &esc) != 0 || esc || sc_js_eat(j, ':') != 0)
        return -1;
    return 0;
}

/* One element of hits.hits into *h. */
static int fs_hit(sc_jscan *j, sc_hit *h)
{
    const char *k;
    size_t kn;
    int first = 1, r, seen = 0, bit;
    int id_ok = 0, sid_ok = 0, cid_present = 0, cid_ok = 0;
    uint64_t id = 0, sid = 0, cid = 0;
    double score = 0.0;
    enum { H_ID = 1, H_SCORE = 2, H_SOURCE = 4, S_ID = 8, S_CID = 16 };
    if (sc_js_eat(j, '{') != 0)
        return -1;
    while ((r = fs_next_key(j, &first, &k, &kn)) == 0) {
        bit = SC_JS_KEY(k, kn, "_id")       ? H_ID
              : SC_JS_KEY(k, kn, "_score")  ? H_SCORE
              : SC_JS_KEY(k, kn, "_source") ? H_SOURCE
                                            : 0;
        if (bit & seen)
            return -1; /* duplicate: cJSON takes the first; let it */
        seen |= bit;
        if (bit == H_ID) {
            if (fs_id(j, &id, &id_ok) != 0)
                return -1;
        } else if (bit == H_SCORE) {
            int c = sc_js_peek(j);
            if (c == '-' || (c >= '0' && c <= '9')) {
                if (sc_js_number(j, &score) != 0)
                    return -1;
            } else if (sc_js_skip(j, 2) != 0) {
                return -1;
            }
        } else if (bit == H_SOURCE) {
            int sfirst = 1;
            if (sc_js_peek(j) != '{')
                return -1;
            j->p++;
            while ((r = fs_next_key(j, &sfirst, &k, &kn)) == 0) {
                bit = SC_JS_KEY(k, kn, "id") ? S_ID : SC_JS_KEY(k, kn, "channel_id") ? S_CID : 0;
                if (bit & seen)
                    return -1;
                seen |= bit;
                if (bit == S_ID) {
                    if (fs_id(j, &sid, &sid_ok) != 0)
                        return -1;
                } else if (bit == S_CID) {
                    if (sc_js_peek(j) == 'n') {
                        if (sc_js_skip(j, 3) != 0)
                            return -1;
                    } else {
                        cid_present = 1;
                        if (fs_id(j, &cid, &cid_ok) != 0)
                            return -1;
                    }
                } else if (sc_js_skip(j, 3) != 0) {
                    return -1;
                }
            }
            if (r < 0)
                return -1;
        } else if (sc_js_skip(j, 2) != 0) {
            return -1;
        }
    }
    if (r < 0 || (!id_ok && !sid_ok) || (cid_present && !cid_ok))
        return -1; /* the cJSON path words the error */
    h->id = id_ok ? id : sid;
    h->channel_id = cid;
    h->score = score != score ? 0.0 : score;
    return 0;
}

/* hits.hits into out->hits / out->n. */
static int fs_hits_array(sc_jscan *j, sc_cluster_result *out)
{
    size_t cap = 0;
    int c = sc_js_open(j, '[');
    if (c != 0)
        return c > 0 ? 0 : -1;
    for (;;) {
        if (out->n == cap) {
            size_t nc = cap ? cap * 2 : 32;
            sc_hit *p = realloc(out->hits, nc * sizeof(*p));
            if (p == NULL)
                return -1;
            out->hits = p;
            cap = nc;
        }
        if (fs_hit(j, &out->hits[out->n]) != 0)
            return -1;
        out->n++;
        if ((c = sc_js_more(j, ']')) != 0)
            return c > 0 ? 0 : -1;
    }
}

/* A hit count both parsers accept: a whole-number-sized double from 0 to
 * 2^53 (beyond that it is not a count any engine sends, and the cast to
 * uint64_t would be undefined for values past 2^64). */
static int total_ok(double d) { return d >= 0 && d <= 9007199254740992.0; }

/* The "hits" object: total and the hits array. */
static int fs_hits(sc_jscan *j, sc_cluster_result *out)
{
    const char *k;
    size_t kn;
    int first = 1, r, have_total = 0, have_arr = 0, esc;
    double d;
    if (sc_js_eat(j, '{') != 0)
        return -1;
    while ((r = fs_next_key(j, &first, &k, &kn)) == 0) {
        if (SC_JS_KEY(k, kn, "total")) {
            int c = sc_js_peek(j), tfirst = 1, have_val = 0, have_rel = 0;
            if (have_total++)
                return -1;
            if (c != '{') {
                if (sc_js_number(j, &d) != 0 || !total_ok(d))
                    return -1;
                out->total = (uint64_t)d;
                continue;
            }
            j->p++;
            while ((r = fs_next_key(j, &tfirst, &k, &kn)) == 0) {
                if (SC_JS_KEY(k, kn, "value")) {
                    if (have_val++ || sc_js_number(j, &d) != 0 || !total_ok(d))
                        return -1;
                    out->total = (uint64_t)d;
                } else if (SC_JS_KEY(k, kn, "relation")) {
                    const char *s;
                    size_t n;
                    if (have_rel++)
                        return -1;
                    if (sc_js_peek(j) == '"') {
                        if (sc_js_string(j, &s, &n, &esc) != 0 || esc)
                            return -1;
                        out->total_gte = SC_JS_KEY(s, n, "gte");
                    } else if (sc_js_skip(j, 3) != 0) {
                        return -1;
                    }
                } else if (sc_js_skip(j, 3) != 0) {
                    return -1;
                }
            }
            if (r < 0 || !have_val)
                return -1;
        } else if (SC_JS_KEY(k, kn, "hits")) {
            if (have_arr++ || fs_hits_array(j, out) != 0)
                return -1;
        } else if (sc_js_skip(j, 2) != 0) {
            return -1;
        }
    }
    return r < 0 || !have_total || !have_arr ? -1 : 0;
}

int sc_cluster_result_parse_fast(const char *json, size_t len, sc_cluster_result *out)
{
    sc_jscan j = {json, json + len};
    const char *k;
    size_t kn;
    int first = 1, r, have_hits = 0, have_to = 0, have_sh = 0;
    if (sc_js_eat(&j, '{') != 0)
        return -1;
    while ((r = fs_next_key(&j, &first, &k, &kn)) == 0) {
        if (SC_JS_KEY(k, kn, "error")) {
            return -1;
        } else if (SC_JS_KEY(k, kn, "hits")) {
            if (have_hits++ || fs_hits(&j, out) != 0)
                return -1;
        } else if (SC_JS_KEY(k, kn, "timed_out")) {
            if (have_to++)
                return -1;
            if (sc_js_peek(&j) == 't') {
                if (sc_js_skip(&j, 1) != 0)
                    return -1;
                out->incomplete = 1;
            } else if (sc_js_skip(&j, 1) != 0) {
                return -1;
            }
        } else if (SC_JS_KEY(k, kn, "_shards")) {
            int sfirst = 1, have_failed = 0;
            if (have_sh++ || sc_js_eat(&j, '{') != 0)
                return -1;
            while ((r = fs_next_key(&j, &sfirst, &k, &kn)) == 0) {
                int c = sc_js_peek(&j);
                double d;
                if (SC_JS_KEY(k, kn, "failed")) {
                    if (have_failed++)
                        return -1;
                    if (c == '-' || (c >= '0' && c <= '9')) {
                        if (sc_js_number(&j, &d) != 0)
                            return -1;
                        out->incomplete |= d > 0;
                        continue;
                    } /* a failed that is no number counts as none */
                }
                if (sc_js_skip(&j, 2) != 0)
                    return -1;
            }
            if (r < 0)
                return -1;
        } else if (sc_js_skip(&j, 1) != 0) {
            return -1;
        }
    }
    if (r < 0 || !have_hits)
        return -1;
    sc_js_ws(&j);
    return j.p == j.end || *j.p == '\0' ? 0 : -1;
}

sc_status sc_cluster_result_parse(const char *json, size_t len, sc_cluster_result *out, char *err,
                                  size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (json != NULL && sc_cluster_result_parse_fast(json, len, out) == 0)
        return SC_OK;
    sc_cluster_result_clear(out);
    return sc_cluster_result_parse_cjson(json, len, out, err, errlen);
}

sc_status sc_cluster_result_parse_cjson(const char *json, size_t len, sc_cluster_result *out,
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
        if (!cJSON_IsNumber(val) || !total_ok(val->valuedouble))
            return fail(out, root, SC_EPROTO, err, errlen, "bad hits.total.value", -1);
        out->total = (uint64_t)val->valuedouble;
        out->total_gte = cJSON_IsString(rel) && strcmp(rel->valuestring, "gte") == 0;
    } else if (cJSON_IsNumber(total) && total_ok(total->valuedouble)) {
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
            return fail(out, root, SC_EPROTO, err, errlen, "no usable _id or _source.id", (long)i);
        if (cid != NULL && !cJSON_IsNull(cid) && !json_id(cid, &h->channel_id))
            return fail(out, root, SC_EPROTO, err, errlen,
                        "_source.channel_id is not an exact id (index ids as strings)", (long)i);
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

sc_status sc_merge(const sc_cluster_result *res, size_t k, sc_sort_by sort_by, sc_sort_order order,
                   size_t offset, size_t limit, sc_merge_page *out)
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
