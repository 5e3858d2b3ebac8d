/*
 * verify_compare.c - comparing one copy with PostgreSQL (see verify.h):
 * bucket counts and sums on both sides, splitting the differing buckets,
 * and at the leaves the id-by-id diff into missing, extra and stale
 * documents. What a repairing pass found goes to verify_repair.c.
 */
#include "verify_int.h"

#include "digest.h"

#include <stdlib.h>
#include <string.h>

static int stopped(const sc_verifier *v) { return v->stop != NULL && *v->stop != 0; }

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
    if ((st = vf_es_list(v, lo, hi, &docs, &nd)) != SC_OK)
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
        vf_repairs rp = {fix, nfix, orph, norph, ahead, nahead, again, nagain};
        st = vf_repair_leaf(v, &rp);
    }
out:
    free(fix);
    free(orph);
    free(ahead);
    free(again);
    free(docs);
    sc_messages_free(rows, nr);
    return st;
}

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
    if ((st = vf_es_buckets(v, b, k)) != SC_OK || (st = pg_buckets(v, b, k)) != SC_OK)
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
sc_status vf_pg_total(sc_verifier *v, int64_t *n)
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
sc_status vf_compare_copy(sc_verifier *v, sc_verify_copy *c)
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
        if ((st = vf_pg_total(v, &c->pg_docs)) != SC_OK)
            return st;
        c->missing += c->pg_docs;
        if (v->writing)
            return vf_refill(v);
        return SC_OK;
    }
    return st;
}
