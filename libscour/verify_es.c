/*
 * verify_es.c - the search engine's side of verify (see verify.h): the one
 * _search request verify sends, the readers of its answers, a split's bucket
 * counts and digest sums (one filters aggregation), and the documents of a
 * leaf range listed by id. Reads only.
 */
#include "verify_int.h"

#include "digest.h"

#include <inttypes.h>
#include <stdlib.h>

/* POST /<index>/_search with v->body; the parsed answer in *out (cJSON_Delete).
 * A missing index is SC_ENOTFOUND. */
sc_status vf_search(sc_verifier *v, const char *index, cJSON **out)
{
    long http = 0;
    sc_status st;
    *out = NULL;
    v->res->es_requests++;
    st = es_search(v->es, index, v->body.data, &v->resp, &http);
    if (st != SC_OK) {
        sc_seterr(v->errstr, sizeof v->errstr, "search %s: %s", index, es_errstr(v->es));
        return st;
    }
    *out = cJSON_ParseWithLength(v->resp.data, v->resp.len);
    if (*out == NULL) {
        sc_seterr(v->errstr, sizeof v->errstr, "search %s: answer is not JSON", index);
        return SC_EPROTO;
    }
    return SC_OK;
}

const cJSON *vf_jget(const cJSON *o, const char *k)
{
    return cJSON_GetObjectItemCaseSensitive(o, k);
}

/* A JSON number that must be a non-negative integer below 2^53. */
int vf_json_u53(const cJSON *n, uint64_t *out)
{
    if (!cJSON_IsNumber(n) || n->valuedouble < 0 || n->valuedouble > 9007199254740992.0 ||
        n->valuedouble != (double)(uint64_t)n->valuedouble)
        return 0;
    *out = (uint64_t)n->valuedouble;
    return 1;
}

/* The engine's side of buckets b[0..k): one filters aggregation. */
sc_status vf_es_buckets(sc_verifier *v, vf_bucket *b, size_t k)
{
    cJSON *j = NULL;
    const cJSON *arr, *it;
    size_t i = 0;
    sc_status st;
    sc_buf_reset(&v->body);
    st = sc_buf_printf(
        &v->body,
        "{\"size\":0,\"track_total_hits\":false,\"query\":{\"bool\":{\"filter\":[{\"term\":"
        "{\"channel_id\":\"%" PRIu64 "\"}}],\"must_not\":[{\"term\":{\"digest\":%d}}]}},"
        "\"aggs\":{\"b\":{\"filters\":{\"filters\":[",
        v->channel, SC_DIGEST_ORPHAN);
    for (i = 0; st == SC_OK && i < k; i++)
        st = sc_buf_printf(
            &v->body, "%s{\"range\":{\"id\":{\"gte\":\"%" PRIu64 "\",\"lt\":\"%" PRIu64 "\"}}}",
            i ? "," : "", b[i].lo, b[i].hi);
    if (st == SC_OK)
        st = sc_buf_puts(&v->body, "]},\"aggs\":{\"s\":{\"sum\":{\"field\":\"digest\"}},"
                                   "\"m\":{\"missing\":{\"field\":\"digest\"}}}}}}");
    if (st != SC_OK)
        return SC_ENOMEM;
    if ((st = vf_search(v, v->index, &j)) != SC_OK)
        return st;
    arr = vf_jget(vf_jget(vf_jget(j, "aggregations"), "b"), "buckets");
    if (!cJSON_IsArray(arr) || (size_t)cJSON_GetArraySize(arr) != k) {
        cJSON_Delete(j);
        sc_seterr(v->errstr, sizeof v->errstr, "search %s: no filters buckets in the answer",
                  v->index);
        return SC_EPROTO;
    }
    i = 0;
    cJSON_ArrayForEach(it, arr)
    {
        uint64_t c = 0, s = 0, m = 0;
        const cJSON *sum = vf_jget(vf_jget(it, "s"), "value");
        if (!vf_json_u53(vf_jget(it, "doc_count"), &c) ||
            !vf_json_u53(vf_jget(vf_jget(it, "m"), "doc_count"), &m) ||
            (!cJSON_IsNull(sum) && !vf_json_u53(sum, &s) && c <= (uint64_t)SC_DIGEST_MAX_DOCS)) {
            cJSON_Delete(j);
            sc_seterr(v->errstr, sizeof v->errstr, "search %s: bad bucket in the answer", v->index);
            return SC_EPROTO;
        }
        b[i].es_count = (int64_t)c;
        b[i].es_sum = s;
        b[i].es_missing = (int64_t)m;
        i++;
    }
    cJSON_Delete(j);
    return SC_OK;
}

static int cmp_doc(const void *a, const void *b)
{
    uint64_t x = ((const vf_doc *)a)->id, y = ((const vf_doc *)b)->id;
    return x < y ? -1 : x > y;
}

static const cJSON *first_field(const cJSON *hit, const char *name)
{
    const cJSON *f = vf_jget(vf_jget(hit, "fields"), name);
    return cJSON_IsArray(f) ? cJSON_GetArrayItem(f, 0) : NULL;
}

/* Every document of the channel in [lo, hi), orphan tombstones included,
 * sorted by id. *out malloc'd (free()). */
sc_status vf_es_list(sc_verifier *v, uint64_t lo, uint64_t hi, vf_doc **out, size_t *n)
{
    cJSON *j = NULL;
    const cJSON *hits, *h;
    vf_doc *d;
    size_t k = 0;
    uint64_t total = 0;
    sc_status st;
    *out = NULL;
    *n = 0;
    sc_buf_reset(&v->body);
    if (sc_buf_printf(
            &v->body,
            "{\"size\":%d,\"_source\":false,\"version\":true,\"seq_no_primary_term\":true,"
            "\"track_total_hits\":true,\"docvalue_fields\":[\"version\",\"deleted\",\"digest\"],"
            "\"query\":{\"bool\":{\"filter\":[{\"term\":{\"channel_id\":\"%" PRIu64 "\"}},"
            "{\"range\":{\"id\":{\"gte\":\"%" PRIu64 "\",\"lt\":\"%" PRIu64 "\"}}}]}}}",
            VF_MAX_LIST, v->channel, lo, hi) != SC_OK)
        return SC_ENOMEM;
    if ((st = vf_search(v, v->index, &j)) != SC_OK)
        return st;
    hits = vf_jget(vf_jget(j, "hits"), "hits");
    if (!cJSON_IsArray(hits) ||
        !vf_json_u53(vf_jget(vf_jget(vf_jget(j, "hits"), "total"), "value"), &total)) {
        cJSON_Delete(j);
        sc_seterr(v->errstr, sizeof v->errstr, "search %s: no hits in the answer", v->index);
        return SC_EPROTO;
    }
    if (total > (uint64_t)cJSON_GetArraySize(hits)) {
        cJSON_Delete(j);
        sc_seterr(v->errstr, sizeof v->errstr,
                  "search %s: %" PRIu64 " documents in a range of %" PRIu64
                  " ids, more than one listing returns",
                  v->index, total, hi - lo);
        return SC_ERR;
    }
    d = calloc((size_t)cJSON_GetArraySize(hits) + 1, sizeof *d);
    if (d == NULL) {
        cJSON_Delete(j);
        return SC_ENOMEM;
    }
    cJSON_ArrayForEach(h, hits)
    {
        const cJSON *id = vf_jget(h, "_id"), *dg = first_field(h, "digest");
        uint64_t u = 0;
        vf_doc *x = &d[k];
        if (!cJSON_IsString(id) || sc_parse_u64(id->valuestring, &x->id) != SC_OK)
            continue; /* not one of ours */
        x->es_version = vf_json_u53(vf_jget(h, "_version"), &u) ? (int64_t)u : 0;
        x->version = vf_json_u53(first_field(h, "version"), &u) ? (int64_t)u : -1;
        x->deleted = cJSON_IsTrue(first_field(h, "deleted"));
        x->has_digest = vf_json_u53(dg, &x->digest);
        x->seq_no = vf_json_u53(vf_jget(h, "_seq_no"), &u) ? (int64_t)u : -1;
        x->primary_term = vf_json_u53(vf_jget(h, "_primary_term"), &u) ? (int64_t)u : -1;
        k++;
    }
    cJSON_Delete(j);
    qsort(d, k, sizeof *d, cmp_doc);
    *out = d;
    *n = k;
    return SC_OK;
}
