/*
 * worker.c - one indexer worker thread: read events from the consumer
 * group, resolve channel bindings, send one _bulk per (cluster, index), and
 * ack an entry only when every operation it produced is accepted (2xx or
 * 409) or the entry was dead-lettered. See docs/indexer.md.
 *
 * Each worker owns its Redis (queue), PostgreSQL, binder and es_client
 * handles. Failed operations stay in memory on their destination with a
 * jittered exponential backoff; the entry stays pending in Redis (and is
 * "touched" with XCLAIM JUSTID so no other consumer claims it) until they
 * succeed. When held bytes reach this worker's share of inflight_bytes_max
 * and nothing can be sent, the oldest held entries are parked: dropped from
 * memory without ack, to come back later through XAUTOCLAIM.
 *
 * Not here: config, signals, metrics server (main.c).
 */
#include "indexer.h"

#include "binding.h"
#include "bulk.h"
#include "clients.h"
#include "db.h"
#include "es.h"
#include "log.h"
#include "esdoc.h"
#include "event.h"
#include "queue.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SHUTDOWN_GRACE_MS 15000 /* how long a stopping worker keeps retrying */

/* One stream entry in flight. */
typedef struct ix_entry {
    char id[SC_QUEUE_IDLEN];  /* stream id */
    char *payload;            /* owned copy of the payload, may be NULL */
    size_t len;               /* payload bytes */
    int ops_left;             /* operations not yet accepted or given up */
    int dead;                 /* dead-letter it (reason set) */
    int parked;               /* dropped from memory, not acked */
    char reason[800];         /* dead-letter reason */
    struct ix_entry *next;    /* in-flight list, read order */
    struct ix_entry *prev;
} ix_entry;

/* One index operation waiting for its destination. */
typedef struct ix_op {
    ix_entry *e;              /* ref: the entry it came from */
    uint64_t channel_id;      /* for re-resolving a gone cluster */
    uint64_t id;              /* message id = _id */
    int64_t version;          /* external version */
    char *doc;                /* owned, one-line JSON */
    size_t doc_len;
} ix_op;

/* A (cluster, index) destination with its queue of operations. */
typedef struct ix_dest {
    char cluster[SC_CLUSTER_NAME_MAX];
    char index[128];
    ix_op *ops;               /* owned array, oldest first */
    size_t n, cap;
    int ensured;              /* es_ensure_index succeeded once */
    int backoff_ms;           /* current backoff; 0 after a success */
    int64_t next_ms;          /* earliest time to send (monotonic ms) */
} ix_dest;

typedef struct ix_worker {
    const ix_shared *sh;
    const sc_config *cfg;
    int index;
    sc_queue *q;              /* owned */
    sc_db *db;                /* owned */
    sc_redis *redis;          /* owned, for the binder */
    sc_binder *binder;        /* owned */
    ix_dest *dests;           /* owned array */
    size_t n_dests;
    sc_clients *clients;      /* owned: es_client per cluster */
    ix_entry *head, *tail;    /* in-flight entries */
    size_t n_entries;
    uint64_t inflight;        /* payload bytes of live (not parked) entries */
    uint64_t inflight_max;    /* this worker's share */
    int64_t inflight_delta;   /* change of inflight not yet added to the gauge
                                 (published once per loop, not per entry) */
    char last_seen[SC_QUEUE_IDLEN]; /* pending drain: highest id handled */
    int pending_done;         /* start-up pending drain finished */
    char claim_cursor[SC_QUEUE_IDLEN];
    int64_t next_claim_ms;
    int64_t next_touch_ms;
    int64_t next_lag_ms;
    unsigned int rng;
    sc_buf doc;               /* scratch */
    sc_bulk bulk;             /* scratch */
    sc_buf resp;              /* scratch */
    char consumer[300];
} ix_worker;

static void stage(ix_worker *w, const char *st, double n)
{
    if (n > 0)
        sc_metric_add(w->sh->m->events, st, n);
}

/* Add the accumulated change of held bytes to the in-flight gauge. */
static void publish_inflight(ix_worker *w)
{
    if (w->inflight_delta != 0) {
        sc_metric_add(w->sh->m->inflight, NULL, (double)w->inflight_delta);
        w->inflight_delta = 0;
    }
}

/* ---------------------------------------------------------------- ids */

/* Compare stream ids "ms-seq". */
static int id_cmp(const char *a, const char *b)
{
    unsigned long long am = 0, as = 0, bm = 0, bs = 0;
    sscanf(a, "%llu-%llu", &am, &as);
    sscanf(b, "%llu-%llu", &bm, &bs);
    if (am != bm)
        return am < bm ? -1 : 1;
    if (as != bs)
        return as < bs ? -1 : 1;
    return 0;
}

/* ------------------------------------------------------------ entries */

/* A new in-flight entry; takes the payload over from qe (qe->payload is
 * NULL afterwards: no copy of the event bytes). */
static ix_entry *entry_new(ix_worker *w, sc_queue_entry *qe)
{
    ix_entry *e = calloc(1, sizeof *e);
    if (e == NULL)
        return NULL;
    memcpy(e->id, qe->id, sizeof e->id);
    e->payload = qe->payload; /* NUL-terminated by the queue */
    e->len = qe->payload != NULL ? qe->len : 0;
    qe->payload = NULL;
    e->prev = w->tail;
    if (w->tail != NULL)
        w->tail->next = e;
    else
        w->head = e;
    w->tail = e;
    w->n_entries++;
    w->inflight += e->len;
    w->inflight_delta += (int64_t)e->len;
    return e;
}

static void entry_unlink_free(ix_worker *w, ix_entry *e)
{
    if (e->prev != NULL)
        e->prev->next = e->next;
    else
        w->head = e->next;
    if (e->next != NULL)
        e->next->prev = e->prev;
    else
        w->tail = e->prev;
    w->n_entries--;
    if (!e->parked) {
        w->inflight -= e->len;
        w->inflight_delta -= (int64_t)e->len;
    }
    free(e->payload);
    free(e);
}

static void entry_kill(ix_entry *e, const char *fmt, const char *detail)
{
    if (!e->dead) {
        e->dead = 1;
        snprintf(e->reason, sizeof e->reason, fmt, detail);
    }
}

/* --------------------------------------------------------- destinations */

static ix_dest *dest_get(ix_worker *w, const char *cluster, const char *index)
{
    size_t i;
    ix_dest *d;
    for (i = 0; i < w->n_dests; i++)
        if (strcmp(w->dests[i].cluster, cluster) == 0 && strcmp(w->dests[i].index, index) == 0)
            return &w->dests[i];
    d = realloc(w->dests, (w->n_dests + 1) * sizeof *d);
    if (d == NULL)
        return NULL;
    w->dests = d;
    d = &w->dests[w->n_dests++];
    memset(d, 0, sizeof *d);
    snprintf(d->cluster, sizeof d->cluster, "%s", cluster);
    snprintf(d->index, sizeof d->index, "%s", index);
    return d;
}

/* Append an op (takes ownership of doc). */
static sc_status dest_push(ix_dest *d, ix_entry *e, uint64_t channel, uint64_t id, int64_t version, char *doc,
                           size_t doc_len)
{
    if (d->n == d->cap) {
        size_t nc = d->cap ? d->cap * 2 : 64;
        ix_op *o = realloc(d->ops, nc * sizeof *o);
        if (o == NULL)
            return SC_ENOMEM;
        d->ops = o;
        d->cap = nc;
    }
    d->ops[d->n].e = e;
    d->ops[d->n].channel_id = channel;
    d->ops[d->n].id = id;
    d->ops[d->n].version = version;
    d->ops[d->n].doc = doc;
    d->ops[d->n].doc_len = doc_len;
    d->n++;
    e->ops_left++;
    return SC_OK;
}

static sc_status add_op(ix_worker *w, const char *cluster, const char *index, ix_entry *e, const sc_message *m)
{
    ix_dest *d = dest_get(w, cluster, index);
    char *doc;
    if (d == NULL)
        return SC_ENOMEM;
    doc = malloc(w->doc.len + 1);
    if (doc == NULL)
        return SC_ENOMEM;
    memcpy(doc, w->doc.data, w->doc.len);
    doc[w->doc.len] = '\0';
    if (dest_push(d, e, m->channel_id, m->id, m->version, doc, w->doc.len) != SC_OK) {
        free(doc);
        return SC_ENOMEM;
    }
    return SC_OK;
}

static void backoff(ix_worker *w, ix_dest *d)
{
    int b = d->backoff_ms ? d->backoff_ms * 2 : w->cfg->retry_base_ms;
    if (b > w->cfg->retry_max_ms)
        b = w->cfg->retry_max_ms;
    d->backoff_ms = b;
    /* full jitter in [b/2, b] */
    d->next_ms = sc_now_ms() + b / 2 + (int64_t)(rand_r(&w->rng) % (unsigned)(b / 2 + 1));
}

/* ------------------------------------------------------------- clients */

static es_client *conn_get(ix_worker *w, const char *cluster, char *why, size_t whylen)
{
    es_client *es;
    if (sc_clients_get(w->clients, cluster, &es) != SC_OK) {
        sc_seterr(why, whylen, "%s", sc_clients_errstr(w->clients));
        return NULL;
    }
    return es;
}

/* ------------------------------------------------------------ ingest */

/* Resolve bindings, retrying while PG/Redis are down. SC_OK or, when the
 * worker is told to stop first, SC_ERR. */
static sc_status resolve_retry(ix_worker *w, const uint64_t *ch, size_t n, sc_binding *b, int *found)
{
    int delay = w->cfg->retry_base_ms;
    for (;;) {
        sc_status st = sc_binder_resolve(w->binder, ch, n, 1, b, found);
        if (st == SC_OK)
            return SC_OK;
        log_warn("indexer[%d]: resolving %zu channels failed: %s; retrying in %d ms", w->index, n,
                 sc_binder_errstr(w->binder), delay);
        if (*w->sh->stop)
            return SC_ERR;
        usleep((useconds_t)delay * 1000u);
        delay = delay * 2 > w->cfg->retry_max_ms ? w->cfg->retry_max_ms : delay * 2;
    }
}

/* Take a batch into memory: parse, resolve, queue the operations.
 * check_counts: look up delivery counts (pending/claimed reads). */
static void ingest(ix_worker *w, sc_queue_batch *qb, int check_counts)
{
    ix_entry **es = NULL;
    sc_event *ev = NULL;
    int *ok = NULL, *found = NULL;
    uint64_t *ch = NULL;
    sc_binding *bind = NULL;
    int64_t *counts = NULL;
    size_t *slot = NULL, *htab = NULL, hmask = 0;
    size_t i, n = qb->n, nch = 0, nparsed = 0;
    char err[SC_ERRLEN];
    if (qb->n_gone > 0)
        log_warn("indexer[%d]: %zu pending entries were trimmed from the stream", w->index, qb->n_gone);
    if (n == 0)
        return;
    stage(w, "read", (double)n);
    es = calloc(n, sizeof *es);
    ev = calloc(n, sizeof *ev);
    ok = calloc(n, sizeof *ok);
    found = calloc(n, sizeof *found);
    ch = calloc(n, sizeof *ch);
    bind = calloc(n, sizeof *bind);
    counts = calloc(n, sizeof *counts);
    slot = calloc(n, sizeof *slot);
    while (hmask + 1 < 2 * n)
        hmask = hmask * 2 + 1;
    htab = calloc(hmask + 1, sizeof *htab);
    if (es == NULL || ev == NULL || ok == NULL || found == NULL || ch == NULL || bind == NULL || counts == NULL ||
        slot == NULL || htab == NULL) {
        log_error("indexer[%d]: out of memory; %zu entries left pending", w->index, n);
        goto out;
    }
    if (check_counts) {
        const char **ids = calloc(n, sizeof *ids);
        if (ids != NULL) {
            for (i = 0; i < n; i++)
                ids[i] = qb->entries[i].id;
            if (sc_queue_delivery_counts(w->q, ids, n, counts) != SC_OK)
                memset(counts, 0, n * sizeof *counts);
            free(ids);
        }
    }
    for (i = 0; i < n; i++) {
        sc_queue_entry *qe = &qb->entries[i];
        es[i] = entry_new(w, qe);
        if (es[i] == NULL) {
            log_error("indexer[%d]: out of memory; entry %s left pending", w->index, qe->id);
            continue;
        }
        if (check_counts && counts[i] > w->cfg->max_deliveries) {
            char d[64];
            snprintf(d, sizeof d, "%" PRId64, counts[i]);
            entry_kill(es[i], "delivered %s times, more than max_deliveries", d);
            continue;
        }
        if (es[i]->payload == NULL) {
            entry_kill(es[i], "%s", "entry has no 'e' field");
            continue;
        }
        if (sc_event_parse(es[i]->payload, es[i]->len, &ev[i], err, sizeof err) != SC_OK) {
            entry_kill(es[i], "malformed event: %s", err);
            continue;
        }
        ok[i] = 1;
        nparsed++;
        {
            /* a batch has few distinct channels: resolve each once
             * (htab: open addressing, 1 + index into ch, 0 = empty) */
            uint64_t c = ev[i].msg.channel_id;
            size_t h = (size_t)((c * 0x9E3779B97F4A7C15ull) >> 32) & hmask;
            while (htab[h] != 0 && ch[htab[h] - 1] != c)
                h = (h + 1) & hmask;
            if (htab[h] == 0) {
                ch[nch++] = c;
                htab[h] = nch;
            }
            slot[i] = htab[h] - 1;
        }
    }
    stage(w, "parsed", (double)nparsed);
    if (nch > 0 && resolve_retry(w, ch, nch, bind, found) != SC_OK) {
        /* stopping with PG/Redis down: leave these pending for the next run */
        for (i = 0; i < n; i++)
            if (es[i] != NULL && ok[i] && !es[i]->parked) {
                es[i]->parked = 1;
                w->inflight -= es[i]->len;
                w->inflight_delta -= (int64_t)es[i]->len;
            }
        goto out;
    }
    stage(w, "bound", (double)nparsed);
    for (i = 0; i < n; i++) {
        const sc_binding *b;
        if (!ok[i])
            continue;
        b = &bind[slot[i]];
        sc_buf_reset(&w->doc);
        if (sc_message_to_doc(&ev[i].msg, &w->doc) != SC_OK) {
            entry_kill(es[i], "%s", "cannot build the document");
            continue;
        }
        if (add_op(w, b->cluster, b->index, es[i], &ev[i].msg) != SC_OK) {
            entry_kill(es[i], "%s", "out of memory");
            continue;
        }
        if (b->state == SC_BINDING_MOVING && b->prev_cluster[0] != '\0' && b->prev_index[0] != '\0' &&
            (strcmp(b->prev_cluster, b->cluster) != 0 || strcmp(b->prev_index, b->index) != 0)) {
            if (add_op(w, b->prev_cluster, b->prev_index, es[i], &ev[i].msg) != SC_OK)
                entry_kill(es[i], "%s", "out of memory");
        }
    }
out:
    if (ev != NULL)
        for (i = 0; i < n; i++)
            sc_event_clear(&ev[i]);
    free(es);
    free(ev);
    free(ok);
    free(found);
    free(ch);
    free(bind);
    free(counts);
    free(slot);
    free(htab);
}

/* ------------------------------------------------------------- flush */

/* Re-resolve the ops of a destination whose cluster left the view: the
 * healer may have re-bound their channels. Ops whose binding moved are
 * re-queued at the new place. */
static void reroute(ix_worker *w, size_t di)
{
    size_t i, n = w->dests[di].n, keep = 0;
    uint64_t *ch = calloc(n ? n : 1, sizeof *ch);
    sc_binding *b = calloc(n ? n : 1, sizeof *b);
    int *found = calloc(n ? n : 1, sizeof *found);
    if (ch == NULL || b == NULL || found == NULL)
        goto out;
    for (i = 0; i < n; i++)
        ch[i] = w->dests[di].ops[i].channel_id;
    if (sc_binder_resolve(w->binder, ch, n, 1, b, found) != SC_OK)
        goto out;
    for (i = 0; i < n; i++) {
        ix_dest *d = &w->dests[di];
        ix_op op = d->ops[i];
        int same = strcmp(b[i].cluster, d->cluster) == 0 && strcmp(b[i].index, d->index) == 0;
        int prev = b[i].state == SC_BINDING_MOVING && strcmp(b[i].prev_cluster, d->cluster) == 0 &&
                   strcmp(b[i].prev_index, d->index) == 0;
        if (same || prev || !found[i]) {
            d->ops[keep++] = op;
            continue;
        }
        {
            ix_dest *nd = dest_get(w, b[i].cluster, b[i].index); /* may move w->dests */
            d = &w->dests[di];
            if (nd == NULL || dest_push(nd, op.e, op.channel_id, op.id, op.version, op.doc, op.doc_len) != SC_OK) {
                d->ops[keep++] = op;
                continue;
            }
            op.e->ops_left--; /* dest_push counted it again */
            log_info("indexer[%d]: message %" PRIu64 " re-routed from %s to %s", w->index, op.id, d->cluster,
                     b[i].cluster);
        }
    }
    w->dests[di].n = keep;
out:
    free(ch);
    free(b);
    free(found);
}

/* Drop ops of parked entries from a destination. */
static void drop_parked(ix_dest *d)
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

/* Send one bulk from the front of destination di. 1 if something was sent
 * successfully (more may follow), 0 otherwise. */
static int flush_one(ix_worker *w, size_t di)
{
    ix_dest *d = &w->dests[di];
    char why[SC_ERRLEN] = "";
    es_client *es;
    size_t i, k = 0, keep;
    long http = 0;
    sc_status st;
    sc_bulk_result r;
    int64_t t0;
    int any_retry = 0;
    drop_parked(d);
    if (d->n == 0)
        return 0;
    es = conn_get(w, d->cluster, why, sizeof why);
    if (es == NULL) {
        sc_metric_add(w->sh->m->errors, d->cluster, 1);
        reroute(w, di);
        d = &w->dests[di];
        sc_metric_add(w->sh->m->retries, d->cluster, (double)d->n);
        log_debug("indexer[%d]: %s; %zu ops wait", w->index, why, d->n);
        backoff(w, d);
        return 0;
    }
    if (!d->ensured) {
        st = es_ensure_index(es, d->index, w->sh->schema_json);
        if (st != SC_OK) {
            log_warn("indexer[%d]: ensure index %s on %s: %s", w->index, d->index, d->cluster, es_errstr(es));
            sc_metric_add(w->sh->m->errors, d->cluster, 1);
            sc_metric_add(w->sh->m->retries, d->cluster, (double)d->n);
            backoff(w, d);
            return 0;
        }
        d->ensured = 1;
    }
    sc_bulk_reset(&w->bulk);
    for (k = 0; k < d->n && k < (size_t)w->cfg->batch_count; k++) {
        ix_op *o = &d->ops[k];
        if (k > 0 && sc_bulk_bytes(&w->bulk) + o->doc_len + 200 > w->cfg->batch_bytes)
            break;
        if (sc_bulk_add_index(&w->bulk, d->index, o->id, o->version, o->doc, o->doc_len) != SC_OK) {
            if (k == 0) { /* cannot even hold one: reject it */
                o->e->ops_left--;
                entry_kill(o->e, "%s", "document does not fit a bulk request");
                free(o->doc);
                memmove(d->ops, d->ops + 1, (d->n - 1) * sizeof *d->ops);
                d->n--;
                return 1;
            }
            break;
        }
    }
    t0 = sc_now_us();
    st = es_bulk(es, w->bulk.body.data, w->bulk.body.len, &w->resp, &http);
    sc_metric_observe(w->sh->m->bulk_secs, d->cluster, (double)(sc_now_us() - t0) / 1e6);
    if (st == SC_OK)
        st = sc_bulk_parse(w->resp.data, w->resp.len, k, &r, why, sizeof why);
    else {
        memset(&r, 0, sizeof r);
        snprintf(why, sizeof why, "%s", es_errstr(es));
    }
    if (st != SC_OK) {
        /* whole request failed: everything retries (external versions make
         * a resend safe) */
        log_warn("indexer[%d]: bulk of %zu to %s/%s failed (http %ld): %s", w->index, k, d->cluster, d->index, http,
                 why);
        sc_bulk_result_free(&r);
        sc_metric_add(w->sh->m->errors, d->cluster, 1);
        sc_metric_add(w->sh->m->retries, d->cluster, (double)k);
        backoff(w, d);
        if (http == 404 || (http >= 400 && http < 500 && http != 429))
            d->ensured = 0;
        return 0;
    }
    keep = 0;
    {
        size_t sent = 0;
        ix_op *rest = d->ops;
        for (i = 0; i < k; i++) {
            ix_op *o = &d->ops[i];
            switch (r.items[i].cls) {
            case SC_BULK_OK:
            case SC_BULK_CONFLICT:
                sent++;
                o->e->ops_left--;
                free(o->doc);
                break;
            case SC_BULK_REJECT: {
                char det[SC_BULK_ERRTYPE_LEN + SC_BULK_REASON_LEN + 256];
                snprintf(det, sizeof det, "%s/%s: %d %s: %s", d->cluster, d->index, r.items[i].status,
                         r.items[i].error_type, r.items[i].reason);
                entry_kill(o->e, "rejected by %s", det);
                log_warn("indexer[%d]: message %" PRIu64 " rejected by %s", w->index, o->id, det);
                o->e->ops_left--;
                free(o->doc);
                break;
            }
            case SC_BULK_RETRY:
            default:
                any_retry = 1;
                rest[keep++] = *o;
                break;
            }
        }
        stage(w, "sent", (double)sent);
        if (any_retry) {
            sc_metric_add(w->sh->m->errors, d->cluster, 1);
            sc_metric_add(w->sh->m->retries, d->cluster, (double)keep);
        }
        memmove(d->ops + keep, d->ops + k, (d->n - k) * sizeof *d->ops);
        d->n = keep + (d->n - k);
    }
    sc_bulk_result_free(&r);
    if (any_retry) {
        backoff(w, d);
        return 0;
    }
    d->backoff_ms = 0;
    d->next_ms = 0;
    return 1;
}

static void flush_all(ix_worker *w)
{
    size_t i;
    for (i = 0; i < w->n_dests; i++) {
        int guard = 0;
        while (w->dests[i].n > 0 && w->dests[i].next_ms <= sc_now_ms() && guard++ < 64)
            if (!flush_one(w, i))
                break;
    }
}

/* --------------------------------------------------------- completion */

static void complete(ix_worker *w)
{
    ix_entry *e, *nx;
    const char **ids;
    ix_entry **done;
    size_t n = 0, i, cap = w->n_entries;
    double dead = 0;
    if (cap == 0)
        return;
    ids = calloc(cap, sizeof *ids);
    done = calloc(cap, sizeof *done);
    if (ids == NULL || done == NULL)
        goto out;
    for (e = w->head; e != NULL; e = nx) {
        nx = e->next;
        if (e->ops_left > 0)
            continue;
        if (e->parked) {
            entry_unlink_free(w, e);
            continue;
        }
        if (e->dead) {
            if (sc_queue_dead_letter(w->q, e->id, e->payload, e->payload ? e->len : 0, e->reason) != SC_OK) {
                log_warn("indexer[%d]: dead-letter %s failed: %s", w->index, e->id, sc_queue_errstr(w->q));
                continue; /* try again next round */
            }
            log_info("indexer[%d]: entry %s dead-lettered: %s", w->index, e->id, e->reason);
            e->dead = 2; /* written; do not write twice */
            dead++;
        }
        ids[n] = e->id;
        done[n++] = e;
    }
    if (dead > 0) {
        sc_metric_add(w->sh->m->dead, NULL, dead);
        stage(w, "dead_lettered", dead);
    }
    if (n > 0) {
        if (sc_queue_ack(w->q, ids, n, NULL) != SC_OK) {
            log_warn("indexer[%d]: XACK of %zu failed: %s", w->index, n, sc_queue_errstr(w->q));
            for (i = 0; i < n; i++) {
                if (done[i]->dead == 2) { /* already in the dead-letter stream */
                    done[i]->dead = 0;
                    done[i]->reason[0] = '\0';
                }
            }
            goto out;
        }
        stage(w, "acked", (double)n);
        for (i = 0; i < n; i++)
            entry_unlink_free(w, done[i]);
    }
out:
    free(ids);
    free(done);
}

/* Keep our held entries ours: XCLAIM ... 0 id... JUSTID resets their idle
 * time without raising the delivery count, so XAUTOCLAIM elsewhere leaves
 * them alone while we retry. */
static void touch_held(ix_worker *w)
{
    ix_entry *e;
    const char **argv;
    size_t n = 0, cap = w->n_entries + 7;
    redisReply *rep = NULL;
    argv = calloc(cap, sizeof *argv);
    if (argv == NULL)
        return;
    argv[n++] = "XCLAIM";
    argv[n++] = sc_queue_stream(w->q);
    argv[n++] = w->cfg->group;
    argv[n++] = w->consumer;
    argv[n++] = "0";
    for (e = w->head; e != NULL; e = e->next)
        if (!e->parked && e->ops_left > 0)
            argv[n++] = e->id;
    if (n > 5) {
        argv[n++] = "JUSTID";
        if (sc_redis_command_argv_ex(sc_queue_redis(w->q), SC_REDIS_IDEMPOTENT, 0, (int)n, argv, NULL, &rep) ==
            SC_OK)
            freeReplyObject(rep);
        else
            log_warn("indexer[%d]: XCLAIM JUSTID: %s", w->index, sc_redis_errstr(sc_queue_redis(w->q)));
    }
    free(argv);
}

/* Inflight full and nothing can be sent: park the oldest held entries. */
static void park_oldest(ix_worker *w)
{
    ix_entry *e;
    double n = 0;
    for (e = w->head; e != NULL && w->inflight > w->inflight_max * 3 / 4; e = e->next) {
        if (e->parked || e->ops_left == 0)
            continue;
        e->parked = 1;
        w->inflight -= e->len;
        w->inflight_delta -= (int64_t)e->len;
        n++;
    }
    if (n > 0) {
        log_warn("indexer[%d]: in-flight bytes full, %.0f held entries parked (left pending)", w->index, n);
        stage(w, "parked", n);
    }
}

static int ready_ops(ix_worker *w, int64_t *next_ms)
{
    size_t i;
    int ready = 0;
    int64_t now = sc_now_ms();
    *next_ms = INT64_MAX;
    for (i = 0; i < w->n_dests; i++) {
        if (w->dests[i].n == 0)
            continue;
        if (w->dests[i].next_ms <= now)
            ready = 1;
        else if (w->dests[i].next_ms < *next_ms)
            *next_ms = w->dests[i].next_ms;
    }
    return ready;
}

static int entry_known(ix_worker *w, const char *id)
{
    ix_entry *e;
    for (e = w->head; e != NULL; e = e->next)
        if (!e->parked && strcmp(e->id, id) == 0)
            return 1;
    return 0;
}

/* Remove from qb the entries we already hold (ownership stays with qb). */
static void filter_known(ix_worker *w, sc_queue_batch *qb, const char *after)
{
    size_t i, keep = 0;
    for (i = 0; i < qb->n; i++) {
        sc_queue_entry *qe = &qb->entries[i];
        if ((after != NULL && id_cmp(qe->id, after) <= 0) || entry_known(w, qe->id)) {
            free(qe->payload);
            continue;
        }
        qb->entries[keep++] = *qe;
    }
    qb->n = keep;
}

/* Payload bytes of a batch. */
static uint64_t batch_bytes(const sc_queue_batch *qb)
{
    uint64_t n = 0;
    size_t i;
    for (i = 0; i < qb->n; i++)
        n += qb->entries[i].len;
    return n;
}

/* One read step: start-up pending drain, periodic autoclaim, or new
 * entries with linger. */
static void read_step(ix_worker *w, int64_t wait_ms)
{
    sc_queue_batch qb;
    int64_t now = sc_now_ms(), t0;
    size_t got = 0;
    uint64_t bytes = 0;
    memset(&qb, 0, sizeof qb);
    if (!w->pending_done) {
        if (sc_queue_read_pending(w->q, w->cfg->batch_count, &qb) != SC_OK) {
            log_warn("indexer[%d]: read pending: %s", w->index, sc_queue_errstr(w->q));
            usleep(200 * 1000);
            return;
        }
        filter_known(w, &qb, w->last_seen[0] ? w->last_seen : NULL);
        if (qb.n == 0) {
            w->pending_done = 1;
            log_info("indexer[%d]: own pending entries processed", w->index);
        } else {
            snprintf(w->last_seen, sizeof w->last_seen, "%s", qb.entries[qb.n - 1].id);
            ingest(w, &qb, 1);
        }
        sc_queue_batch_free(&qb);
        return;
    }
    if (now >= w->next_claim_ms) {
        if (sc_queue_autoclaim(w->q, w->cfg->claim_idle_ms, w->cfg->batch_count, w->claim_cursor, &qb) == SC_OK) {
            filter_known(w, &qb, NULL);
            if (qb.n > 0)
                log_info("indexer[%d]: claimed %zu idle entries", w->index, qb.n);
            ingest(w, &qb, 1);
        } else {
            log_warn("indexer[%d]: autoclaim: %s", w->index, sc_queue_errstr(w->q));
        }
        sc_queue_batch_free(&qb);
        if (strcmp(w->claim_cursor, "0-0") == 0)
            w->next_claim_ms = now + (w->cfg->claim_idle_ms / 2 > 1000 ? w->cfg->claim_idle_ms / 2 : 1000);
        return;
    }
    if (sc_queue_read(w->q, w->cfg->batch_count, (int)wait_ms, &qb) != SC_OK) {
        log_warn("indexer[%d]: read: %s", w->index, sc_queue_errstr(w->q));
        usleep(200 * 1000);
        return;
    }
    got = qb.n;
    bytes = batch_bytes(&qb);
    ingest(w, &qb, 0);
    sc_queue_batch_free(&qb);
    /* linger: fill the batch up to batch_count / batch_bytes or linger_ms */
    t0 = sc_now_ms();
    while (got > 0 && got < (size_t)w->cfg->batch_count && bytes < w->cfg->batch_bytes &&
           w->inflight < w->inflight_max && !*w->sh->stop) {
        int64_t left = w->cfg->linger_ms - (sc_now_ms() - t0);
        size_t i;
        for (i = 0; i < w->n_dests; i++)
            if (w->dests[i].n >= (size_t)w->cfg->batch_count)
                left = 0;
        if (left <= 0)
            break;
        if (sc_queue_read(w->q, w->cfg->batch_count - (int)got, (int)left, &qb) != SC_OK || qb.n == 0) {
            sc_queue_batch_free(&qb);
            break;
        }
        got += qb.n;
        bytes += batch_bytes(&qb);
        ingest(w, &qb, 0);
        sc_queue_batch_free(&qb);
    }
}

static void update_lag(ix_worker *w)
{
    int64_t lag = 0, pend = 0;
    if (sc_queue_lag(w->q, &lag, &pend) == SC_OK) {
        sc_metric_set(w->sh->m->lag, NULL, (double)lag);
        sc_metric_set(w->sh->m->pending, NULL, (double)pend);
    }
}

/* ------------------------------------------------------------ lifecycle */

static int worker_open(ix_worker *w, const ix_shared *sh, int index, char *err, size_t errlen)
{
    const sc_config *c = sh->cfg;
    sc_queue_opts qo;
    sc_redis_opts ro;
    sc_binder_opts bo;
    sc_clients_opts co;
    es_opts eo;
    char dead[300];
    memset(w, 0, sizeof *w);
    w->sh = sh;
    w->cfg = c;
    w->index = index;
    w->rng = (unsigned)(sc_now_us() ^ (index * 7919));
    snprintf(w->consumer, sizeof w->consumer, "%s-%d", sh->consumer_base, index);
    snprintf(w->claim_cursor, sizeof w->claim_cursor, "0-0");
    w->inflight_max = c->inflight_bytes_max / (uint64_t)c->workers;
    if (w->inflight_max < c->batch_bytes)
        w->inflight_max = c->batch_bytes;
    memset(&ro, 0, sizeof ro);
    ro.host = c->redis_host;
    ro.port = c->redis_port;
    ro.password = c->redis_password;
    memset(&qo, 0, sizeof qo);
    qo.redis = ro;
    qo.stream = c->stream;
    qo.group = c->group;
    qo.consumer = w->consumer;
    qo.maxlen = c->stream_maxlen;
    qo.dead_stream = sc_config_dead_stream(c, dead, sizeof dead);
    qo.block_ms = c->read_block_ms;
    qo.count = c->batch_count;
    w->q = sc_queue_create(&qo, err, errlen);
    if (w->q == NULL)
        return -1;
    if (sc_queue_ensure_group(w->q) != SC_OK) {
        sc_seterr(err, errlen, "consumer group: %s", sc_queue_errstr(w->q));
        return -1;
    }
    w->redis = sc_redis_create(&ro, err, errlen);
    if (w->redis == NULL)
        return -1;
    w->db = sc_db_create(c->pg_dsn, err, errlen);
    if (w->db == NULL)
        return -1;
    memset(&bo, 0, sizeof bo);
    bo.ns = c->namespace;
    bo.index_name = c->index_name;
    bo.cache_ttl_s = c->binding_cache_ttl_s;
    bo.redis = w->redis;
    bo.db = w->db;
    bo.view = sh->view;
    w->binder = sc_binder_create(&bo, err, errlen);
    if (w->binder == NULL)
        return -1;
    sc_clients_base_opts(c, &eo);
    memset(&co, 0, sizeof co);
    co.base = &eo;
    co.view = sh->view;
    w->clients = sc_clients_create(&co, err, errlen);
    if (w->clients == NULL)
        return -1;
    sc_buf_init(&w->doc, 1u << 20);
    sc_buf_init(&w->resp, 0);
    sc_bulk_init(&w->bulk, c->batch_bytes + (1u << 20));
    return 0;
}

static void worker_close(ix_worker *w)
{
    size_t i, j;
    while (w->head != NULL)
        entry_unlink_free(w, w->head);
    if (w->sh != NULL)
        publish_inflight(w);
    for (i = 0; i < w->n_dests; i++) {
        for (j = 0; j < w->dests[i].n; j++)
            free(w->dests[i].ops[j].doc);
        free(w->dests[i].ops);
    }
    free(w->dests);
    sc_clients_free(w->clients);
    sc_binder_free(w->binder);
    sc_db_free(w->db);
    sc_redis_free(w->redis);
    sc_queue_free(w->q);
    sc_buf_free(&w->doc);
    sc_buf_free(&w->resp);
    sc_bulk_free(&w->bulk);
}

void *ix_worker_main(void *arg)
{
    ix_worker_arg *a = arg;
    ix_worker w;
    int64_t stop_deadline = 0;
    if (worker_open(&w, a->sh, a->index, a->err, sizeof a->err) != 0) {
        a->failed = 1;
        *a->sh->stop = 1; /* the process cannot run short of a worker */
        worker_close(&w);
        return NULL;
    }
    log_info("indexer[%d]: consumer %s on stream %s group %s", a->index, w.consumer, a->sh->cfg->stream,
             a->sh->cfg->group);
    for (;;) {
        int64_t now = sc_now_ms(), next_retry;
        int ready;
        if (*a->sh->stop) {
            if (stop_deadline == 0)
                stop_deadline = now + SHUTDOWN_GRACE_MS;
            if (w.head == NULL)
                break;
            if (now >= stop_deadline) {
                log_warn("indexer[%d]: stopping with %zu entries unfinished (left pending)", a->index,
                         w.n_entries);
                break;
            }
        }
        ready = ready_ops(&w, &next_retry);
        if (!*a->sh->stop && w.inflight < w.inflight_max) {
            int64_t wait = ready ? 0 : w.cfg->read_block_ms;
            if (!ready && next_retry != INT64_MAX && next_retry - now < wait)
                wait = next_retry - now > 0 ? next_retry - now : 0;
            read_step(&w, wait);
        } else if (!ready) {
            if (!*a->sh->stop && w.inflight >= w.inflight_max)
                park_oldest(&w);
            else
                usleep(20 * 1000);
        }
        flush_all(&w);
        complete(&w);
        now = sc_now_ms();
        if (now >= w.next_touch_ms) {
            touch_held(&w);
            w.next_touch_ms = now + w.cfg->claim_idle_ms / 3;
        }
        publish_inflight(&w);
        if (a->index == 0 && now >= w.next_lag_ms) {
            update_lag(&w);
            w.next_lag_ms = now + 1000;
        }
    }
    worker_close(&w);
    return NULL;
}
