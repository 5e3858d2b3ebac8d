/*
 * ingest_send.c - the delivery engine's sending half (see ingest.h): one
 * _bulk at a time per (cluster, index) destination from the front of its
 * queue, every item classified (accepted and 409 done, other 4xx dead
 * letters, the rest kept in order with a backoff), and re-routing of a
 * destination whose cluster cannot be written to.
 */
#include "ingest_int.h"

#include "log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Re-resolve the ops of a destination whose cluster cannot be written to:
 * the healer may have re-bound their channels. Ops whose binding moved are
 * queued at the new place. */
static void reroute(sc_ingest *g, size_t di)
{
    size_t i, n = g->dests[di].n, keep = 0;
    uint64_t *ch = calloc(n ? n : 1, sizeof *ch);
    sc_binding *b = calloc(n ? n : 1, sizeof *b);
    int *found = calloc(n ? n : 1, sizeof *found);
    char err[SC_ERRLEN];
    if (ch == NULL || b == NULL || found == NULL)
        goto out;
    for (i = 0; i < n; i++)
        ch[i] = g->dests[di].ops[i].channel_id;
    if (g->io.resolve(g->io.ctx, ch, n, b, found, err, sizeof err) != SC_OK)
        goto out;
    for (i = 0; i < n; i++) {
        ig_dest *d = &g->dests[di], *nd;
        ig_op op = d->ops[i];
        int same = strcmp(b[i].cluster, d->cluster) == 0 && strcmp(b[i].index, d->index) == 0;
        int prev = b[i].state == SC_BINDING_MOVING && strcmp(b[i].prev_cluster, d->cluster) == 0 &&
                   strcmp(b[i].prev_index, d->index) == 0;
        if (same || prev || !found[i]) {
            d->ops[keep++] = op;
            continue;
        }
        nd = ig_dest_get(g, b[i].cluster, b[i].index); /* may move g->dests */
        d = &g->dests[di];
        if (nd == NULL || ig_dest_push(nd, &op) != SC_OK) {
            d->ops[keep++] = op;
            continue;
        }
        op.e->ops_left--; /* dest_push counted it again */
        IG_LOG(info, g, "message %" PRIu64 " re-routed from %s to %s", op.id, d->cluster,
               b[i].cluster);
    }
    g->dests[di].n = keep;
out:
    free(ch);
    free(b);
    free(found);
}

/* Drop ops of parked entries from a destination. */
static void drop_parked(ig_dest *d)
{
    size_t i, keep = 0;
    for (i = 0; i < d->n; i++) {
        if (d->ops[i].e->parked) {
            d->ops[i].e->ops_left--;
            free(d->ops[i].doc);
        } else {
            d->ops[keep++] = d->ops[i];
        }
    }
    d->n = keep;
}

/* A request that did not work: count it, retry all k later. */
static void retry_later(sc_ingest *g, ig_dest *d, size_t k)
{
    sc_metric_add(g->m.errors, d->cluster, 1);
    sc_metric_add(g->m.retries, d->cluster, (double)k);
    ig_backoff(g, d);
}

/* Fill g->bulk from the front of d; returns the number of ops in it, or 0
 * after dropping a front op that cannot fit any request (dead-lettered). */
static size_t build_bulk(sc_ingest *g, ig_dest *d)
{
    size_t k;
    sc_bulk_reset(&g->bulk);
    for (k = 0; k < d->n && k < (size_t)g->batch_count; k++) {
        ig_op *o = &d->ops[k];
        if (k > 0 && sc_bulk_bytes(&g->bulk) + o->doc_len + 200 > g->batch_bytes)
            break;
        if (sc_bulk_add_index(&g->bulk, d->index, o->id, o->version, o->doc, o->doc_len) != SC_OK) {
            if (k == 0) { /* cannot even hold one: reject it */
                o->e->ops_left--;
                ig_entry_kill(o->e, "%s", "document does not fit a bulk request");
                free(o->doc);
                memmove(d->ops, d->ops + 1, (d->n - 1) * sizeof *d->ops);
                d->n--;
            }
            break;
        }
    }
    return k;
}

/* Settle the first k ops of d by the items of r: accepted and 409 are done,
 * other 4xx dead-letter their entry, the rest stay (in order) for a retry.
 * Returns how many stay. */
static size_t settle(sc_ingest *g, ig_dest *d, size_t k, const sc_bulk_result *r)
{
    size_t i, keep = 0, sent = 0;
    for (i = 0; i < k; i++) {
        ig_op *o = &d->ops[i];
        switch (r->items[i].cls) {
        case SC_BULK_OK:
        case SC_BULK_CONFLICT:
            sent++;
            o->e->ops_left--;
            free(o->doc);
            break;
        case SC_BULK_REJECT: {
            char det[SC_BULK_ERRTYPE_LEN + SC_BULK_REASON_LEN + 256];
            snprintf(det, sizeof det, "%s/%s: %d %s: %s", d->cluster, d->index, r->items[i].status,
                     r->items[i].error_type, r->items[i].reason);
            ig_entry_kill(o->e, "rejected by %s", det);
            IG_LOG(warn, g, "message %" PRIu64 " rejected by %s", o->id, det);
            o->e->ops_left--;
            free(o->doc);
            break;
        }
        case SC_BULK_RETRY:
        default:
            d->ops[keep++] = *o;
            break;
        }
    }
    ig_stage(g, "sent", (double)sent);
    memmove(d->ops + keep, d->ops + k, (d->n - k) * sizeof *d->ops);
    d->n = keep + (d->n - k);
    return keep;
}

/* Send one bulk from the front of destination di. 1 if something was sent
 * successfully (more may follow), 0 otherwise. */
static int flush_one(sc_ingest *g, size_t di)
{
    ig_dest *d = &g->dests[di];
    char why[SC_ERRLEN] = "";
    size_t k, keep;
    long http = 0;
    sc_status st;
    sc_bulk_result r;
    int64_t t0;
    drop_parked(d);
    if (d->n == 0)
        return 0;
    if (g->io.connect(g->io.ctx, d->cluster, why, sizeof why) != SC_OK) {
        sc_metric_add(g->m.errors, d->cluster, 1);
        reroute(g, di);
        d = &g->dests[di];
        sc_metric_add(g->m.retries, d->cluster, (double)d->n);
        IG_LOG(debug, g, "%s; %zu ops wait", why, d->n);
        ig_backoff(g, d);
        return 0;
    }
    if (!d->ensured) {
        if (g->io.ensure_index(g->io.ctx, d->cluster, d->index, why, sizeof why) != SC_OK) {
            IG_LOG(warn, g, "ensure index %s on %s: %s", d->index, d->cluster, why);
            retry_later(g, d, d->n);
            return 0;
        }
        d->ensured = 1;
    }
    if ((k = build_bulk(g, d)) == 0)
        return 1;
    t0 = sc_now_us();
    st = g->io.bulk(g->io.ctx, d->cluster, g->bulk.body.data, g->bulk.body.len, &g->resp, &http,
                    why, sizeof why);
    sc_metric_observe(g->m.bulk_secs, d->cluster, (double)(sc_now_us() - t0) / 1e6);
    if (st == SC_OK)
        st = sc_bulk_parse(g->resp.data, g->resp.len, k, &r, why, sizeof why);
    else
        memset(&r, 0, sizeof r);
    if (st != SC_OK) {
        /* whole request failed: everything retries (external versions make
         * a resend safe) */
        IG_LOG(warn, g, "bulk of %zu to %s/%s failed (http %ld): %s", k, d->cluster, d->index, http,
               why);
        sc_bulk_result_free(&r);
        retry_later(g, d, k);
        if (http == 404 || (http >= 400 && http < 500 && http != 429))
            d->ensured = 0;
        return 0;
    }
    keep = settle(g, d, k, &r);
    sc_bulk_result_free(&r);
    if (keep < k)
        d->dirty = 1; /* something was written: mark it with the next ack */
    if (keep > 0) {
        retry_later(g, d, keep);
        return 0;
    }
    d->backoff_ms = 0;
    d->next_ms = 0;
    return 1;
}

void sc_ingest_flush(sc_ingest *g)
{
    size_t i;
    for (i = 0; i < g->n_dests; i++) {
        int guard = 0;
        while (g->dests[i].n > 0 && g->dests[i].next_ms <= sc_now_ms() && guard++ < 64)
            if (!flush_one(g, i))
                break;
    }
}

int sc_ingest_ready(sc_ingest *g, int64_t *next_ms)
{
    size_t i;
    int ready = 0;
    int64_t now = sc_now_ms();
    *next_ms = INT64_MAX;
    for (i = 0; i < g->n_dests; i++) {
        if (g->dests[i].n == 0)
            continue;
        if (g->dests[i].next_ms <= now)
            ready = 1;
        else if (g->dests[i].next_ms < *next_ms)
            *next_ms = g->dests[i].next_ms;
    }
    return ready;
}
