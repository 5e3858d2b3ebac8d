/*
 * verify.c - the verify/repair engine (see verify.h for what is compared
 * and how repair stays safe next to live indexing). Bucket sums on both
 * sides, recursive splitting of differing ranges, id lists at the leaves,
 * repair through the reindex writer. Never prints.
 */
#include "verify.h"

#include "bulk.h"
#include "digest.h"
#include "log.h"
#include "esdoc.h"
#include "message.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define VF_SPACE_END ((uint64_t)INT64_MAX) /* ids are in [0, VF_SPACE_END) */
#define VF_MAX_LIST 10000                  /* hits one listing may return */
#define VF_AHEAD_TRIES 16                  /* rewrite attempts while a delete's version blocks */
#define VF_AHEAD_WAIT_MS 250               /* between them (gc_deletes 1s, checked every ~250 ms) */

struct sc_verifier {
    sc_db *db;                         /* ref */
    sc_reindexer *rx;                  /* ref */
    sc_cluster_view *view;             /* ref */
    int repair;                        /* repair what is found */
    int fanout;                        /* buckets per split */
    int leaf;                          /* list ranges with at most this many docs */
    const volatile sig_atomic_t *stop; /* ref, may be NULL */
    /* per copy being compared */
    es_client *es;          /* ref: rx's client of the copy's cluster */
    const char *index;      /* ref: the copy's index */
    sc_verify_copy *copy;   /* ref: counters of the copy */
    sc_verify_result *res;  /* ref: the channel's result */
    uint64_t channel;       /* channel being verified */
    int writing;            /* this pass repairs */
    sc_buf body, resp;      /* scratch request/response */
    char gc_done[128];      /* index whose gc_deletes was shortened */
    char errstr[SC_ERRLEN]; /* last failure */
};

const char *sc_verify_outcome_str(sc_verify_outcome o)
{
    switch (o) {
    case SC_VERIFY_AGREE:
        return "agree";
    case SC_VERIFY_DRIFT:
        return "drift";
    case SC_VERIFY_REPAIRED:
        return "repaired";
    }
    return "?";
}

sc_verifier *sc_verifier_create(const sc_verify_opts *o, char *err, size_t errlen)
{
    sc_verifier *v;
    if (o == NULL || o->db == NULL || o->rx == NULL || o->view == NULL) {
        sc_seterr(err, errlen, "verify: db, rx and view are required");
        return NULL;
    }
    if ((o->fanout != 0 && (o->fanout < 2 || o->fanout > 64)) ||
        (o->leaf != 0 && (o->leaf < 1 || o->leaf > 5000))) {
        sc_seterr(err, errlen, "verify: fanout must be 2..64 and leaf 1..5000");
        return NULL;
    }
    v = calloc(1, sizeof *v);
    if (v == NULL) {
        sc_seterr(err, errlen, "verify: out of memory");
        return NULL;
    }
    v->db = o->db;
    v->rx = o->rx;
    v->view = o->view;
    v->repair = o->repair;
    v->fanout = o->fanout ? o->fanout : 16;
    v->leaf = o->leaf ? o->leaf : 100;
    v->stop = o->stop;
    sc_buf_init(&v->body, 0);
    sc_buf_init(&v->resp, 0);
    return v;
}

void sc_verifier_free(sc_verifier *v)
{
    if (v == NULL)
        return;
    sc_buf_free(&v->body);
    sc_buf_free(&v->resp);
    free(v);
}

const char *sc_verifier_errstr(const sc_verifier *v)
{
    return v != NULL ? v->errstr : "verify: no handle";
}

static int stopped(const sc_verifier *v) { return v->stop != NULL && *v->stop != 0; }

static void nap_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ------------------------------------------------------------ requests */

/* POST /<index>/_search with v->body; the parsed answer in *out (cJSON_Delete).
 * A missing index is SC_ENOTFOUND. */
static sc_status search(sc_verifier *v, const char *index, cJSON **out)
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

static const cJSON *jget(const cJSON *o, const char *k)
{
    return cJSON_GetObjectItemCaseSensitive(o, k);
}

/* A JSON number that must be a non-negative integer below 2^53. */
static int json_u53(const cJSON *n, uint64_t *out)
{
    if (!cJSON_IsNumber(n) || n->valuedouble < 0 || n->valuedouble > 9007199254740992.0 ||
        n->valuedouble != (double)(uint64_t)n->valuedouble)
        return 0;
    *out = (uint64_t)n->valuedouble;
    return 1;
}

/* Per bucket of one split, on both sides. */
typedef struct vf_bucket {
    uint64_t lo, hi;    /* ids [lo, hi) */
    int64_t pg_count;   /* rows */
    uint64_t pg_sum;    /* sum of their digests */
    int64_t es_count;   /* documents (orphan tombstones excluded) */
    uint64_t es_sum;    /* sum of their digests (exact when es_count <= SC_DIGEST_MAX_DOCS) */
    int64_t es_missing; /* documents without a digest */
} vf_bucket;

/* The engine's side of buckets b[0..k): one filters aggregation. */
static sc_status es_buckets(sc_verifier *v, vf_bucket *b, size_t k)
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
    if ((st = search(v, v->index, &j)) != SC_OK)
        return st;
    arr = jget(jget(jget(j, "aggregations"), "b"), "buckets");
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
        const cJSON *sum = jget(jget(it, "s"), "value");
        if (!json_u53(jget(it, "doc_count"), &c) ||
            !json_u53(jget(jget(it, "m"), "doc_count"), &m) ||
            (!cJSON_IsNull(sum) && !json_u53(sum, &s) && c <= (uint64_t)SC_DIGEST_MAX_DOCS)) {
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

static sc_status pg_buckets(sc_verifier *v, vf_bucket *b, size_t k)
{
    uint64_t bounds[65];
    int64_t counts[64];
    uint64_t sums[64];
    size_t i;
    sc_status st;
    for (i = 0; i < k; i++)
        bounds[i] = b[i].lo;
    bounds[k] = b[k - 1].hi;
    v->res->pg_queries++;
    st = sc_db_verify_buckets(v->db, v->channel, bounds, k, counts, sums);
    if (st != SC_OK) {
        sc_seterr(v->errstr, sizeof v->errstr, "postgres: %s", sc_db_errstr(v->db));
        return st;
    }
    for (i = 0; i < k; i++) {
        b[i].pg_count = counts[i];
        b[i].pg_sum = sums[i];
    }
    return SC_OK;
}

static int bucket_agrees(const vf_bucket *b)
{
    return b->pg_count == b->es_count && b->es_missing == 0 && b->es_count <= SC_DIGEST_MAX_DOCS &&
           b->pg_sum == b->es_sum;
}

/* ------------------------------------------------------------ leaves */

/* One document as listed by the engine. */
typedef struct vf_doc {
    uint64_t id;
    int64_t es_version; /* _version (the external version) */
    int64_t version;    /* the "version" field */
    int deleted;        /* the "deleted" field */
    int has_digest;     /* the "digest" field is there */
    uint64_t digest;    /* its value */
    int64_t seq_no;     /* for a conditional delete */
    int64_t primary_term;
} vf_doc;

static int cmp_doc(const void *a, const void *b)
{
    uint64_t x = ((const vf_doc *)a)->id, y = ((const vf_doc *)b)->id;
    return x < y ? -1 : x > y;
}

static const cJSON *first_field(const cJSON *hit, const char *name)
{
    const cJSON *f = jget(jget(hit, "fields"), name);
    return cJSON_IsArray(f) ? cJSON_GetArrayItem(f, 0) : NULL;
}

/* Every document of the channel in [lo, hi), orphan tombstones included,
 * sorted by id. *out malloc'd (free()). */
static sc_status es_list(sc_verifier *v, uint64_t lo, uint64_t hi, vf_doc **out, size_t *n)
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
    if ((st = search(v, v->index, &j)) != SC_OK)
        return st;
    hits = jget(jget(j, "hits"), "hits");
    if (!cJSON_IsArray(hits) || !json_u53(jget(jget(jget(j, "hits"), "total"), "value"), &total)) {
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
        const cJSON *id = jget(h, "_id"), *dg = first_field(h, "digest");
        uint64_t u = 0;
        vf_doc *x = &d[k];
        if (!cJSON_IsString(id) || sc_parse_u64(id->valuestring, &x->id) != SC_OK)
            continue; /* not one of ours */
        x->es_version = json_u53(jget(h, "_version"), &u) ? (int64_t)u : 0;
        x->version = json_u53(first_field(h, "version"), &u) ? (int64_t)u : -1;
        x->deleted = cJSON_IsTrue(first_field(h, "deleted"));
        x->has_digest = json_u53(dg, &x->digest);
        x->seq_no = json_u53(jget(h, "_seq_no"), &u) ? (int64_t)u : -1;
        x->primary_term = json_u53(jget(h, "_primary_term"), &u) ? (int64_t)u : -1;
        k++;
    }
    cJSON_Delete(j);
    qsort(d, k, sizeof *d, cmp_doc);
    *out = d;
    *n = k;
    return SC_OK;
}

static void free_rows(sc_message *m, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        sc_message_clear(&m[i]);
    free(m);
}

/* Tombstones at their own version, digest 0, for documents PostgreSQL does
 * not have; conditional deletes of documents ahead of PostgreSQL. Both as
 * one _bulk; the item results are counted. */
static sc_status write_raw(sc_verifier *v, const vf_doc *const *orph, size_t norph,
                           const vf_doc *const *ahead, size_t nahead)
{
    sc_bulk bulk;
    sc_bulk_result br;
    sc_buf doc;
    size_t i;
    long http = 0;
    char perr[SC_ERRLEN];
    sc_status st = SC_OK;
    if (norph + nahead == 0)
        return SC_OK;
    sc_bulk_init(&bulk, 0);
    bulk.gte = 1;
    sc_buf_init(&doc, 0);
    for (i = 0; i < norph && st == SC_OK; i++) {
        const vf_doc *d = orph[i];
        sc_buf_reset(&doc);
        st = sc_buf_printf(
            &doc,
            "{\"id\":\"%" PRIu64 "\",\"channel_id\":\"%" PRIu64 "\",\"timestamp\":%" PRId64
            ",\"version\":%" PRId64 ",\"deleted\":true,\"digest\":%d}",
            d->id, v->channel, sc_snowflake_to_ms(d->id), d->es_version, SC_DIGEST_ORPHAN);
        if (st == SC_OK)
            st = sc_bulk_add_index(&bulk, v->index, d->id, d->es_version, doc.data, doc.len);
    }
    for (i = 0; i < nahead && st == SC_OK; i++) {
        /* only the very document listed: a live write since then wins */
        st = sc_bulk_add_delete_if(&bulk, v->index, ahead[i]->id, ahead[i]->seq_no,
                                   ahead[i]->primary_term);
    }
    sc_buf_free(&doc);
    if (st != SC_OK) {
        sc_bulk_free(&bulk);
        return st;
    }
    v->res->es_requests++;
    st = es_bulk(v->es, bulk.body.data, bulk.body.len, &v->resp, &http);
    if (st == SC_OK)
        st = sc_bulk_parse(v->resp.data, v->resp.len, bulk.ops, &br, perr, sizeof perr);
    else
        snprintf(perr, sizeof perr, "%s", es_errstr(v->es));
    sc_bulk_free(&bulk);
    if (st != SC_OK) {
        sc_seterr(v->errstr, sizeof v->errstr, "repair bulk on %s: %s", v->index, perr);
        return st;
    }
    for (i = 0; i < br.n; i++) {
        if (br.items[i].cls == SC_BULK_OK)
            v->res->rewritten++;
        else if (br.items[i].cls == SC_BULK_CONFLICT)
            v->res->newer++;
        else
            log_warn("verify: channel %" PRIu64 ": %s: repair item %zu failed: %s: %s", v->channel,
                     v->index, i, br.items[i].error_type, br.items[i].reason);
    }
    sc_bulk_result_free(&br);
    return SC_OK;
}

/* index.gc_deletes = 1s on the copy's index (once per index per run). */
static sc_status short_gc_deletes(sc_verifier *v)
{
    static const char body[] = "{\"index\":{\"gc_deletes\":\"1s\"}}";
    char path[300];
    sc_status st;
    if (strcmp(v->gc_done, v->index) == 0)
        return SC_OK;
    snprintf(path, sizeof path, "/%s/_settings", v->index);
    v->res->es_requests++;
    st = es_request(v->es, "PUT", path, body, sizeof body - 1, NULL, NULL);
    if (st != SC_OK) {
        sc_seterr(v->errstr, sizeof v->errstr, "set gc_deletes on %s: %s", v->index,
                  es_errstr(v->es));
        return st;
    }
    snprintf(v->gc_done, sizeof v->gc_done, "%s", v->index);
    return SC_OK;
}

/* Write rows through the reindex writer (external_gte). */
static sc_status write_rows(sc_verifier *v, const sc_message *rows, size_t n)
{
    sc_reindex_result rr;
    sc_status st;
    if (n == 0)
        return SC_OK;
    memset(&rr, 0, sizeof rr);
    v->res->es_requests++;
    st = sc_reindex_write(v->rx, v->copy->cluster, v->index, rows, n, 1, &rr);
    v->res->rewritten += rr.written;
    v->res->newer += rr.conflicts;
    if (st != SC_OK)
        sc_seterr(v->errstr, sizeof v->errstr, "repair write on %s/%s: %s", v->copy->cluster,
                  v->index, sc_reindexer_errstr(v->rx));
    return st;
}

/* List [lo, hi) on both sides, count the drift, repair it when asked. */
static sc_status diff_leaf(sc_verifier *v, uint64_t lo, uint64_t hi)
{
    vf_doc *docs = NULL;
    sc_message *rows = NULL, *fix = NULL, *again = NULL;
    const vf_doc **orph = NULL, **ahead = NULL;
    size_t nd = 0, nr = 0, i = 0, k = 0, nfix = 0, norph = 0, nahead = 0, nagain = 0;
    sc_status st;

    /* the engine first: what it shows was in PostgreSQL before (rows are
     * written before their events), so a document ahead of the row read
     * after it is really ahead */
    if ((st = es_list(v, lo, hi, &docs, &nd)) != SC_OK)
        return st;
    v->res->pg_queries++;
    st = sc_db_page_messages(v->db, v->channel, lo > 0 ? lo - 1 : 0, hi, VF_MAX_LIST, &rows, &nr);
    if (st != SC_OK) {
        sc_seterr(v->errstr, sizeof v->errstr, "postgres: %s", sc_db_errstr(v->db));
        free(docs);
        return st;
    }
    v->res->listed += (int64_t)(nd + nr);
    if (v->writing) {
        fix = calloc(nr + 1, sizeof *fix);
        orph = calloc(nd + 1, sizeof *orph);
        ahead = calloc(nd + 1, sizeof *ahead);
        again = calloc(nr + 1, sizeof *again);
        if (fix == NULL || orph == NULL || ahead == NULL || again == NULL) {
            st = SC_ENOMEM;
            goto out;
        }
    }
    while (i < nr || k < nd) {
        if (k >= nd || (i < nr && rows[i].id < docs[k].id)) {
            v->copy->missing++;
            if (again != NULL)
                again[nagain++] = rows[i];
            i++;
        } else if (i >= nr || docs[k].id < rows[i].id) {
            if (!(docs[k].has_digest && docs[k].digest == SC_DIGEST_ORPHAN)) {
                v->copy->extra++;
                if (orph != NULL)
                    orph[norph++] = &docs[k];
            }
            k++;
        } else {
            const sc_message *m = &rows[i];
            const vf_doc *d = &docs[k];
            if (d->has_digest && d->digest == SC_DIGEST_ORPHAN) {
                v->copy->missing++; /* only an orphan tombstone: the row came later */
                if (again != NULL)
                    again[nagain++] = *m;
            } else if (!d->has_digest || d->digest != sc_digest(m->id, m->version, m->deleted) ||
                       d->version != m->version || d->deleted != (m->deleted != 0) ||
                       d->es_version != m->version) {
                v->copy->stale++;
                if (!d->has_digest)
                    v->copy->no_digest++;
                if (fix != NULL) {
                    if (d->es_version > m->version) {
                        ahead[nahead++] = d;
                        again[nagain++] = *m;
                    } else {
                        fix[nfix++] = *m;
                    }
                }
            }
            i++;
            k++;
        }
    }
    if (v->writing) {
        /* stale documents behind the row: one write (a 409 means live
         * indexing wrote a newer version meanwhile: fine) */
        if ((st = write_rows(v, fix, nfix)) != SC_OK ||
            (st = write_raw(v, orph, norph, ahead, nahead)) != SC_OK)
            goto out;
        /* missing rows and rows whose ahead document was just deleted: a
         * document deleted with DELETE (by hand, or just now) leaves its
         * version behind for index.gc_deletes (60 s by default), which
         * refuses the rewrite; scour never relies on those (its deletes are
         * tombstone documents), so the index gets a short gc_deletes and the
         * rewrite is retried until the version is forgotten */
        if (nagain > 0) {
            int t;
            for (t = 0; t < VF_AHEAD_TRIES; t++) {
                int64_t newer = v->res->newer;
                if ((st = write_rows(v, again, nagain)) != SC_OK)
                    goto out;
                if (v->res->newer == newer)
                    break;
                v->res->newer = newer; /* counted once, at the last try */
                if (t == 0 && (st = short_gc_deletes(v)) != SC_OK)
                    goto out;
                nap_ms(VF_AHEAD_WAIT_MS);
            }
        }
    }
out:
    free(fix);
    free(orph);
    free(ahead);
    free(again);
    free(docs);
    free_rows(rows, nr);
    return st;
}

/* ------------------------------------------------------------ ranges */

/* Compare [lo, hi) by buckets; open the differing ones. */
static sc_status compare_range(sc_verifier *v, uint64_t lo, uint64_t hi, int depth)
{
    vf_bucket b[64];
    size_t k, i;
    uint64_t width = hi - lo, step;
    sc_status st;
    if (stopped(v)) {
        sc_seterr(v->errstr, sizeof v->errstr, "interrupted");
        return SC_ERR;
    }
    k = width < (uint64_t)v->fanout ? (size_t)width : (size_t)v->fanout;
    step = width / k;
    memset(b, 0, sizeof b);
    for (i = 0; i < k; i++) {
        b[i].lo = lo + step * i;
        b[i].hi = i + 1 == k ? hi : lo + step * (i + 1);
    }
    if ((st = es_buckets(v, b, k)) != SC_OK || (st = pg_buckets(v, b, k)) != SC_OK)
        return st;
    if (depth == 0) {
        v->copy->pg_docs = v->copy->es_docs = 0;
        for (i = 0; i < k; i++) {
            v->copy->pg_docs += b[i].pg_count;
            v->copy->es_docs += b[i].es_count;
        }
    }
    for (i = 0; i < k; i++) {
        int64_t most = b[i].pg_count > b[i].es_count ? b[i].pg_count : b[i].es_count;
        if (bucket_agrees(&b[i]))
            continue;
        if (most <= v->leaf || b[i].hi - b[i].lo <= 1 || depth > 40)
            st = diff_leaf(v, b[i].lo, b[i].hi);
        else
            st = compare_range(v, b[i].lo, b[i].hi, depth + 1);
        if (st != SC_OK)
            return st;
    }
    return SC_OK;
}

/* Rows of the channel in PostgreSQL (for a copy whose index is gone). */
static sc_status pg_total(sc_verifier *v, int64_t *n)
{
    v->res->pg_queries++;
    if (sc_db_count_messages(v->db, v->channel, 0, n) != SC_OK) {
        sc_seterr(v->errstr, sizeof v->errstr, "postgres: %s", sc_db_errstr(v->db));
        return SC_ERR;
    }
    return SC_OK;
}

/* Compare one copy; index_missing copies count every row as missing, and
 * repair recreates the index through the writer. */
static sc_status compare_copy(sc_verifier *v, sc_verify_copy *c)
{
    sc_status st;
    int64_t before_m = c->missing, before_x = c->extra, before_s = c->stale;
    v->copy = c;
    v->index = c->index;
    st = sc_reindex_client(v->rx, c->cluster, &v->es);
    if (st != SC_OK) {
        sc_seterr(v->errstr, sizeof v->errstr, "cluster %s: %s", c->cluster,
                  sc_reindexer_errstr(v->rx));
        return st;
    }
    st = compare_range(v, 0, VF_SPACE_END, 0);
    if (st == SC_ENOTFOUND) {
        /* the index is gone: everything is missing */
        c->index_missing = 1;
        c->missing = before_m;
        c->extra = before_x;
        c->stale = before_s;
        if ((st = pg_total(v, &c->pg_docs)) != SC_OK)
            return st;
        c->missing += c->pg_docs;
        if (v->writing) {
            uint64_t cursor = 0;
            for (;;) {
                sc_message *rows = NULL;
                size_t n = 0;
                v->res->pg_queries++;
                if (sc_db_page_messages(v->db, v->channel, cursor, 0, 1000, &rows, &n) != SC_OK) {
                    sc_seterr(v->errstr, sizeof v->errstr, "postgres: %s", sc_db_errstr(v->db));
                    return SC_ERR;
                }
                if (n == 0)
                    break;
                cursor = rows[n - 1].id;
                st = write_rows(v, rows, n);
                free_rows(rows, n);
                if (st != SC_OK)
                    return st;
            }
        }
        return SC_OK;
    }
    return st;
}

/* ------------------------------------------------------------ stale copies */

static int is_bound_place(const sc_verify_result *r, const char *cluster, const char *index)
{
    int i;
    for (i = 0; i < r->n_copies; i++)
        if (strcmp(r->copies[i].cluster, cluster) == 0 && strcmp(r->copies[i].index, index) == 0)
            return 1;
    return 0;
}

/* Ask every live cluster which indices hold documents of the channel. */
static sc_status find_stale_copies(sc_verifier *v)
{
    sc_cluster_info *cl = NULL;
    size_t ncl = 0, i;
    sc_status st = sc_cluster_view_list(v->view, &cl, &ncl);
    if (st != SC_OK) {
        sc_seterr(v->errstr, sizeof v->errstr, "cluster view: %s", sc_status_str(st));
        return st;
    }
    for (i = 0; i < ncl; i++) {
        cJSON *j = NULL;
        const cJSON *it;
        if (!cl[i].live)
            continue;
        if (sc_reindex_client(v->rx, cl[i].name, &v->es) != SC_OK) {
            log_warn("verify: channel %" PRIu64 ": cluster %s not checked for stale copies: %s",
                     v->channel, cl[i].name, sc_reindexer_errstr(v->rx));
            continue;
        }
        sc_buf_reset(&v->body);
        if (sc_buf_printf(&v->body,
                          "{\"size\":0,\"query\":{\"term\":{\"channel_id\":\"%" PRIu64 "\"}},"
                          "\"aggs\":{\"i\":{\"terms\":{\"field\":\"_index\",\"size\":100}}}}",
                          v->channel) != SC_OK) {
            free(cl);
            return SC_ENOMEM;
        }
        st = search(v, "*", &j);
        if (st != SC_OK) {
            log_warn("verify: channel %" PRIu64 ": cluster %s not checked for stale copies: %s",
                     v->channel, cl[i].name, v->errstr);
            v->errstr[0] = '\0';
            continue;
        }
        cJSON_ArrayForEach(it, jget(jget(jget(j, "aggregations"), "i"), "buckets"))
        {
            const cJSON *key = jget(it, "key");
            uint64_t docs = 0;
            if (!cJSON_IsString(key) || !json_u53(jget(it, "doc_count"), &docs) || docs == 0 ||
                is_bound_place(v->res, cl[i].name, key->valuestring))
                continue;
            v->res->stale_copy_docs += (int64_t)docs;
            if (v->res->n_stale_copies < SC_VERIFY_MAX_STALE) {
                sc_verify_stale_copy *s = &v->res->stale_copies[v->res->n_stale_copies++];
                snprintf(s->cluster, sizeof s->cluster, "%s", cl[i].name);
                snprintf(s->index, sizeof s->index, "%s", key->valuestring);
                s->docs = (int64_t)docs;
            }
            if (v->writing) {
                int64_t del = 0;
                v->res->es_requests++;
                if (sc_reindex_purge_copy(v->rx, v->channel, cl[i].name, key->valuestring, &del) ==
                    SC_OK)
                    v->res->purged += del;
                else
                    log_warn("verify: channel %" PRIu64 ": stale copy on %s/%s not purged: %s",
                             v->channel, cl[i].name, key->valuestring, sc_reindexer_errstr(v->rx));
            }
        }
        cJSON_Delete(j);
    }
    free(cl);
    return SC_OK;
}

/* ------------------------------------------------------------ channel */

/* One pass over every copy and the stale copies; writing = repair. */
static sc_status one_pass(sc_verifier *v, sc_verify_result *r, int writing)
{
    int i;
    sc_status st;
    v->writing = writing;
    for (i = 0; i < r->n_copies; i++) {
        sc_verify_copy *c = &r->copies[i];
        c->missing = c->extra = c->stale = c->no_digest = 0;
        c->index_missing = 0;
        if ((st = compare_copy(v, c)) != SC_OK)
            return st;
    }
    r->n_stale_copies = 0;
    r->stale_copy_docs = 0;
    return find_stale_copies(v);
}

static int64_t drift_of(const sc_verify_result *r)
{
    int64_t d = r->stale_copy_docs;
    int i;
    for (i = 0; i < r->n_copies; i++)
        d += r->copies[i].missing + r->copies[i].extra + r->copies[i].stale;
    return d;
}

static void sum_drift(sc_verify_result *r)
{
    int i;
    r->missing = r->extra = r->stale = r->no_digest = 0;
    for (i = 0; i < r->n_copies; i++) {
        r->missing += r->copies[i].missing;
        r->extra += r->copies[i].extra;
        r->stale += r->copies[i].stale;
        r->no_digest += r->copies[i].no_digest;
    }
}

/* Refresh every copy's index so the next pass sees every write. */
static void refresh_copies(sc_verifier *v, sc_verify_result *r)
{
    int i;
    for (i = 0; i < r->n_copies; i++) {
        es_client *es;
        if (sc_reindex_client(v->rx, r->copies[i].cluster, &es) == SC_OK) {
            r->es_requests++;
            if (es_refresh(es, r->copies[i].index) != SC_OK)
                log_debug("verify: refresh %s/%s: %s", r->copies[i].cluster, r->copies[i].index,
                          es_errstr(es));
        }
    }
}

sc_status sc_verify_channel(sc_verifier *v, uint64_t channel_id, sc_verify_result *out)
{
    sc_binding b;
    sc_status st;
    int64_t t0 = sc_now_ms();
    int i;
    if (v == NULL || out == NULL)
        return SC_EINVAL;
    memset(out, 0, sizeof *out);
    v->errstr[0] = '\0';
    v->res = out;
    v->channel = channel_id;
    out->channel_id = channel_id;
    out->pg_queries++;
    st = sc_db_binding_get(v->db, channel_id, &b);
    if (st == SC_ENOTFOUND) {
        int64_t n = 0;
        if ((st = pg_total(v, &n)) != SC_OK)
            return st;
        if (n == 0) {
            sc_seterr(v->errstr, sizeof v->errstr,
                      "channel %" PRIu64 " has no binding and no messages", channel_id);
            return SC_ENOTFOUND;
        }
        /* rows nobody indexes: all missing (a reindex binds and builds it) */
        out->missing = n;
        out->outcome = SC_VERIFY_DRIFT;
        out->elapsed_ms = sc_now_ms() - t0;
        return SC_OK;
    }
    if (st != SC_OK) {
        sc_seterr(v->errstr, sizeof v->errstr, "binding of %" PRIu64 ": %s", channel_id,
                  sc_db_errstr(v->db));
        return st;
    }
    out->bound = 1;
    snprintf(out->state, sizeof out->state, "%s", sc_binding_state_str(b.state));
    snprintf(out->copies[0].cluster, sizeof out->copies[0].cluster, "%s", b.cluster);
    snprintf(out->copies[0].index, sizeof out->copies[0].index, "%s", b.index);
    out->n_copies = 1;
    if (b.state == SC_BINDING_MOVING && b.prev_cluster[0] != '\0' &&
        (strcmp(b.prev_cluster, b.cluster) != 0 || strcmp(b.prev_index, b.index) != 0)) {
        snprintf(out->copies[1].cluster, sizeof out->copies[1].cluster, "%s", b.prev_cluster);
        snprintf(out->copies[1].index, sizeof out->copies[1].index, "%s", b.prev_index);
        out->n_copies = 2;
    }

    if ((st = one_pass(v, out, 0)) != SC_OK)
        goto out;
    if (drift_of(out) > 0) {
        /* confirm: writes of the last refresh interval are not visible yet */
        refresh_copies(v, out);
        if ((st = one_pass(v, out, 0)) != SC_OK)
            goto out;
    }
    sum_drift(out);
    if (drift_of(out) == 0) {
        out->outcome = SC_VERIFY_AGREE;
    } else if (!v->repair) {
        out->outcome = SC_VERIFY_DRIFT;
    } else {
        sc_verify_result check;
        if ((st = one_pass(v, out, 1)) != SC_OK)
            goto out;
        sum_drift(out); /* what the repair pass found (and fixed) */
        refresh_copies(v, out);
        /* the second pass counts into a scratch result: the drift reported is
         * what was found, the outcome what is left */
        check = *out;
        v->res = &check;
        for (i = 0; i < check.n_copies; i++)
            check.copies[i].missing = check.copies[i].extra = check.copies[i].stale = 0;
        st = one_pass(v, &check, 0);
        v->res = out;
        out->es_requests = check.es_requests;
        out->pg_queries = check.pg_queries;
        out->listed = check.listed;
        if (st != SC_OK)
            goto out;
        out->outcome = drift_of(&check) == 0 ? SC_VERIFY_REPAIRED : SC_VERIFY_DRIFT;
        for (i = 0; i < out->n_copies; i++) {
            out->copies[i].pg_docs = check.copies[i].pg_docs;
            out->copies[i].es_docs = check.copies[i].es_docs;
        }
        if (out->outcome == SC_VERIFY_DRIFT)
            log_warn("verify: channel %" PRIu64 ": %" PRId64 " documents still differ after repair",
                     channel_id, drift_of(&check));
    }
out:
    out->elapsed_ms = sc_now_ms() - t0;
    v->res = NULL;
    return st;
}
