/*
 * verify_repair.c - the writes of a repairing pass (see verify.h for why
 * they are safe next to live indexing): rows written again through the
 * reindex writer (external_gte), tombstones for documents PostgreSQL does
 * not have, conditional deletes of documents ahead of PostgreSQL with the
 * short gc_deletes retry, and the refill of an index that is gone.
 */
#include "verify_int.h"

#include "bulk.h"
#include "digest.h"
#include "log.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define VF_AHEAD_TRIES 16    /* rewrite attempts while a delete's version blocks */
#define VF_AHEAD_WAIT_MS 250 /* between them (gc_deletes 1s, checked every ~250 ms) */

static void nap_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
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

/* Repair one leaf range from what diff_leaf found (see verify_int.h). */
sc_status vf_repair_leaf(sc_verifier *v, const vf_repairs *rp)
{
    sc_status st;
    /* stale documents behind the row: one write (a 409 means live
     * indexing wrote a newer version meanwhile: fine) */
    if ((st = write_rows(v, rp->fix, rp->nfix)) != SC_OK ||
        (st = write_raw(v, rp->orph, rp->norph, rp->ahead, rp->nahead)) != SC_OK)
        return st;
    /* missing rows and rows whose ahead document was just deleted: a
     * document deleted with DELETE (by hand, or just now) leaves its
     * version behind for index.gc_deletes (60 s by default), which
     * refuses the rewrite; scour never relies on those (its deletes are
     * tombstone documents), so the index gets a short gc_deletes and the
     * rewrite is retried until the version is forgotten */
    if (rp->nagain > 0) {
        int t;
        for (t = 0; t < VF_AHEAD_TRIES; t++) {
            int64_t newer = v->res->newer;
            if ((st = write_rows(v, rp->again, rp->nagain)) != SC_OK)
                return st;
            if (v->res->newer == newer)
                break;
            v->res->newer = newer; /* counted once, at the last try */
            if (t == 0 && (st = short_gc_deletes(v)) != SC_OK)
                return st;
            nap_ms(VF_AHEAD_WAIT_MS);
        }
    }
    return SC_OK;
}

/* Write every row of the channel into the copy's index (which was gone:
 * the writer creates it again). */
sc_status vf_refill(sc_verifier *v)
{
    sc_status st;
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
        sc_messages_free(rows, n);
        if (st != SC_OK)
            return st;
    }
    return SC_OK;
}
