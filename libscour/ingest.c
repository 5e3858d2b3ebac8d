/*
 * ingest.c - the indexer's delivery engine; see ingest.h and
 * docs/indexer.md. Entries keep their payload until acked; every operation
 * an entry produced sits on its (cluster, index) destination until it is
 * accepted, rejected (dead letter) or its entry is parked. Sending the
 * _bulk requests is ingest_send.c's half; the shared state is ingest_int.h.
 */
#include "ingest_int.h"

#include "esdoc.h"
#include "event.h"
#include "log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* One entry of a batch being taken in (sc_ingest_take). */
typedef struct ig_item {
    ig_entry *e;        /* ref: its entry, NULL when out of memory */
    sc_event ev;        /* parsed event (owned until the take ends) */
    int parsed;         /* ev is valid and wanted */
    size_t slot;        /* index of its channel in the resolve arrays */
    int64_t deliveries; /* delivery count (check_counts), else 0 */
} ig_item;

void ig_stage(sc_ingest *g, const char *st, double n)
{
    if (n > 0)
        sc_metric_add(g->m.events, st, n);
}

static int stopped(const sc_ingest *g) { return g->stop != NULL && *g->stop; }

sc_ingest *sc_ingest_create(const sc_ingest_opts *o, char *err, size_t errlen)
{
    sc_ingest *g;
    const sc_ingest_io *io = o != NULL ? o->io : NULL;
    if (io == NULL || io->resolve == NULL || io->delivery_counts == NULL || io->connect == NULL ||
        io->ensure_index == NULL || io->bulk == NULL || io->ack == NULL ||
        io->dead_letter == NULL) {
        sc_seterr(err, errlen, "ingest: every io function but touch is required");
        return NULL;
    }
    if (o->batch_count < 1 || o->batch_bytes < 1 || o->retry_base_ms < 1 ||
        o->retry_max_ms < o->retry_base_ms || o->inflight_max < 1) {
        sc_seterr(err, errlen,
                  "ingest: batch_count, batch_bytes, retry_base_ms, inflight_max must be >= 1 "
                  "and retry_max_ms >= retry_base_ms");
        return NULL;
    }
    if ((g = calloc(1, sizeof *g)) == NULL) {
        sc_seterr(err, errlen, "ingest: out of memory");
        return NULL;
    }
    g->io = *io;
    if (o->metrics != NULL)
        g->m = *o->metrics;
    snprintf(g->name, sizeof g->name, "%s", o->name != NULL ? o->name : "ingest");
    g->batch_count = o->batch_count;
    g->batch_bytes = o->batch_bytes;
    g->retry_base_ms = o->retry_base_ms;
    g->retry_max_ms = o->retry_max_ms;
    g->max_deliveries = o->max_deliveries;
    g->inflight_max = o->inflight_max;
    g->stop = o->stop;
    g->rng = (unsigned)(sc_now_us() ^ (uintptr_t)g);
    sc_buf_init(&g->doc, 1u << 20);
    sc_buf_init(&g->resp, 0);
    sc_bulk_init(&g->bulk, g->batch_bytes + (1u << 20));
    return g;
}

/* ---------------------------------------------------------------- ids */

int sc_ingest_id_cmp(const char *a, const char *b)
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

/* A new entry; takes the payload over from qe (no copy of the bytes). */
static ig_entry *entry_new(sc_ingest *g, sc_queue_entry *qe)
{
    ig_entry *e = calloc(1, sizeof *e);
    if (e == NULL)
        return NULL;
    memcpy(e->id, qe->id, sizeof e->id);
    e->payload = qe->payload;
    e->len = qe->payload != NULL ? qe->len : 0;
    qe->payload = NULL;
    e->prev = g->tail;
    if (g->tail != NULL)
        g->tail->next = e;
    else
        g->head = e;
    g->tail = e;
    g->n_entries++;
    g->inflight += e->len;
    g->inflight_delta += (int64_t)e->len;
    return e;
}

static void entry_unlink_free(sc_ingest *g, ig_entry *e)
{
    if (e->prev != NULL)
        e->prev->next = e->next;
    else
        g->head = e->next;
    if (e->next != NULL)
        e->next->prev = e->prev;
    else
        g->tail = e->prev;
    g->n_entries--;
    if (!e->parked) {
        g->inflight -= e->len;
        g->inflight_delta -= (int64_t)e->len;
    }
    free(e->payload);
    free(e);
}

static void entry_park(sc_ingest *g, ig_entry *e)
{
    if (e->parked)
        return;
    e->parked = 1;
    g->inflight -= e->len;
    g->inflight_delta -= (int64_t)e->len;
}

void ig_entry_kill(ig_entry *e, const char *fmt, const char *detail)
{
    if (!e->dead) {
        e->dead = 1;
        snprintf(e->reason, sizeof e->reason, fmt, detail);
    }
}

/* --------------------------------------------------------- destinations */

ig_dest *ig_dest_get(sc_ingest *g, const char *cluster, const char *index)
{
    size_t i;
    ig_dest *d;
    for (i = 0; i < g->n_dests; i++)
        if (strcmp(g->dests[i].cluster, cluster) == 0 && strcmp(g->dests[i].index, index) == 0)
            return &g->dests[i];
    d = realloc(g->dests, (g->n_dests + 1) * sizeof *d);
    if (d == NULL)
        return NULL;
    g->dests = d;
    d = &g->dests[g->n_dests++];
    memset(d, 0, sizeof *d);
    snprintf(d->cluster, sizeof d->cluster, "%s", cluster);
    snprintf(d->index, sizeof d->index, "%s", index);
    return d;
}

sc_status ig_dest_push(ig_dest *d, const ig_op *op)
{
    if (d->n == d->cap) {
        size_t nc = d->cap ? d->cap * 2 : 64;
        ig_op *o = realloc(d->ops, nc * sizeof *o);
        if (o == NULL)
            return SC_ENOMEM;
        d->ops = o;
        d->cap = nc;
    }
    d->ops[d->n++] = *op;
    op->e->ops_left++;
    return SC_OK;
}

/* Queue the document in g->doc for m at (cluster, index). */
static sc_status add_op(sc_ingest *g, const char *cluster, const char *index, ig_entry *e,
                        const sc_message *m)
{
    ig_dest *d = ig_dest_get(g, cluster, index);
    ig_op op;
    if (d == NULL)
        return SC_ENOMEM;
    op.e = e;
    op.channel_id = m->channel_id;
    op.id = m->id;
    op.version = m->version;
    op.doc_len = g->doc.len;
    if ((op.doc = malloc(g->doc.len + 1)) == NULL)
        return SC_ENOMEM;
    memcpy(op.doc, g->doc.data, g->doc.len);
    op.doc[g->doc.len] = '\0';
    if (ig_dest_push(d, &op) != SC_OK) {
        free(op.doc);
        return SC_ENOMEM;
    }
    return SC_OK;
}

void ig_backoff(sc_ingest *g, ig_dest *d)
{
    int b = d->backoff_ms ? d->backoff_ms * 2 : g->retry_base_ms;
    if (b > g->retry_max_ms)
        b = g->retry_max_ms;
    d->backoff_ms = b;
    /* full jitter in [b/2, b] */
    d->next_ms = sc_now_ms() + b / 2 + (int64_t)(rand_r(&g->rng) % (unsigned)(b / 2 + 1));
}

/* ------------------------------------------------------------- take */

/* Resolve bindings, retrying while PG/Redis are down. SC_OK or, when the
 * engine is told to stop first, SC_ERR. */
static sc_status resolve_retry(sc_ingest *g, const uint64_t *ch, size_t n, sc_binding *b,
                               int *found)
{
    int delay = g->retry_base_ms;
    char err[SC_ERRLEN];
    for (;;) {
        err[0] = '\0';
        if (g->io.resolve(g->io.ctx, ch, n, b, found, err, sizeof err) == SC_OK)
            return SC_OK;
        IG_LOG(warn, g, "resolving %zu channels failed: %s; retrying in %d ms", n, err, delay);
        if (stopped(g))
            return SC_ERR;
        usleep((useconds_t)delay * 1000u);
        delay = delay * 2 > g->retry_max_ms ? g->retry_max_ms : delay * 2;
    }
}

/* Delivery counts of the batch into items (0 when unknown). */
static void take_counts(sc_ingest *g, const sc_queue_batch *qb, ig_item *items)
{
    size_t i, n = qb->n;
    const char **ids = calloc(n, sizeof *ids);
    int64_t *counts = calloc(n, sizeof *counts);
    if (ids != NULL && counts != NULL) {
        for (i = 0; i < n; i++)
            ids[i] = qb->entries[i].id;
        if (g->io.delivery_counts(g->io.ctx, ids, n, counts) == SC_OK)
            for (i = 0; i < n; i++)
                items[i].deliveries = counts[i];
    }
    free(ids);
    free(counts);
}

/* Queue the operations of a parsed item at its binding (two with a move). */
static void queue_item(sc_ingest *g, ig_item *it, const sc_binding *b)
{
    sc_buf_reset(&g->doc);
    if (sc_message_to_doc(&it->ev.msg, &g->doc) != SC_OK) {
        ig_entry_kill(it->e, "%s", "cannot build the document");
        return;
    }
    if (add_op(g, b->cluster, b->index, it->e, &it->ev.msg) != SC_OK) {
        ig_entry_kill(it->e, "%s", "out of memory");
        return;
    }
    if (b->state == SC_BINDING_MOVING && b->prev_cluster[0] != '\0' && b->prev_index[0] != '\0' &&
        (strcmp(b->prev_cluster, b->cluster) != 0 || strcmp(b->prev_index, b->index) != 0) &&
        add_op(g, b->prev_cluster, b->prev_index, it->e, &it->ev.msg) != SC_OK)
        ig_entry_kill(it->e, "%s", "out of memory");
}

void sc_ingest_take(sc_ingest *g, sc_queue_batch *qb, int check_counts)
{
    ig_item *items = NULL;
    uint64_t *ch = NULL;     /* distinct channels of the batch */
    sc_binding *bind = NULL; /* their bindings */
    int *found = NULL;
    size_t *htab = NULL, hmask = 0; /* channel -> 1 + index into ch, 0 = empty */
    size_t i, n = qb->n, nch = 0, nparsed = 0;
    char err[SC_ERRLEN];
    if (qb->n_gone > 0)
        IG_LOG(warn, g, "%zu pending entries were trimmed from the stream", qb->n_gone);
    if (n == 0)
        return;
    ig_stage(g, "read", (double)n);
    items = calloc(n, sizeof *items);
    ch = calloc(n, sizeof *ch);
    while (hmask + 1 < 2 * n)
        hmask = hmask * 2 + 1;
    htab = calloc(hmask + 1, sizeof *htab);
    if (items == NULL || ch == NULL || htab == NULL) {
        IG_LOG(error, g, "out of memory; %zu entries left pending", n);
        goto out;
    }
    if (check_counts)
        take_counts(g, qb, items);
    for (i = 0; i < n; i++) {
        sc_queue_entry *qe = &qb->entries[i];
        ig_item *it = &items[i];
        uint64_t c;
        size_t h;
        if ((it->e = entry_new(g, qe)) == NULL) {
            IG_LOG(error, g, "out of memory; entry %s left pending", qe->id);
            continue;
        }
        if (check_counts && it->deliveries > g->max_deliveries) {
            char d[64];
            snprintf(d, sizeof d, "%" PRId64, it->deliveries);
            ig_entry_kill(it->e, "delivered %s times, more than max_deliveries", d);
            continue;
        }
        if (it->e->payload == NULL) {
            ig_entry_kill(it->e, "%s", "entry has no 'e' field");
            continue;
        }
        if (sc_event_parse(it->e->payload, it->e->len, &it->ev, err, sizeof err) != SC_OK) {
            ig_entry_kill(it->e, "malformed event: %s", err);
            continue;
        }
        it->parsed = 1;
        nparsed++;
        /* a batch has few distinct channels: resolve each once */
        c = it->ev.msg.channel_id;
        h = (size_t)((c * 0x9E3779B97F4A7C15ull) >> 32) & hmask;
        while (htab[h] != 0 && ch[htab[h] - 1] != c)
            h = (h + 1) & hmask;
        if (htab[h] == 0) {
            ch[nch++] = c;
            htab[h] = nch;
        }
        it->slot = htab[h] - 1;
    }
    ig_stage(g, "parsed", (double)nparsed);
    /* sized by the distinct channels (a binding is ~400 bytes; a batch of
     * 1,000 entries has a few dozen channels) */
    bind = calloc(nch ? nch : 1, sizeof *bind);
    found = calloc(nch ? nch : 1, sizeof *found);
    if (bind == NULL || found == NULL) {
        IG_LOG(error, g, "out of memory; %zu entries left pending", n);
        for (i = 0; i < n; i++)
            if (items[i].e != NULL && items[i].parsed)
                entry_park(g, items[i].e);
        goto out;
    }
    if (nch > 0 && resolve_retry(g, ch, nch, bind, found) != SC_OK) {
        /* stopping with PG/Redis down: leave these pending for the next run */
        for (i = 0; i < n; i++)
            if (items[i].e != NULL && items[i].parsed)
                entry_park(g, items[i].e);
        goto out;
    }
    ig_stage(g, "bound", (double)nparsed);
    for (i = 0; i < n; i++)
        if (items[i].parsed)
            queue_item(g, &items[i], &bind[items[i].slot]);
out:
    if (items != NULL)
        for (i = 0; i < n; i++)
            if (items[i].parsed)
                sc_event_clear(&items[i].ev);
    free(items);
    free(ch);
    free(bind);
    free(found);
    free(htab);
}


/* --------------------------------------------------------- completion */

/* Acknowledge ids[0..n) and, with io->ack_mark, mark the dirty
 * destinations in the same round trip. */
static sc_status ack_and_mark(sc_ingest *g, const char **ids, size_t n, char *err, size_t errlen)
{
    sc_ingest_mark *marks;
    size_t nm = 0, i;
    sc_status st;
    if (g->io.ack_mark == NULL)
        return n > 0 ? g->io.ack(g->io.ctx, ids, n, err, errlen) : SC_OK;
    for (i = 0; i < g->n_dests; i++)
        nm += (size_t)g->dests[i].dirty;
    if (n == 0 && nm == 0)
        return SC_OK;
    if ((marks = calloc(nm ? nm : 1, sizeof *marks)) == NULL) {
        sc_seterr(err, errlen, "%s", "out of memory");
        return SC_ENOMEM;
    }
    for (i = 0, nm = 0; i < g->n_dests; i++)
        if (g->dests[i].dirty)
            marks[nm++] = (sc_ingest_mark){g->dests[i].cluster, g->dests[i].index};
    st = g->io.ack_mark(g->io.ctx, ids, n, marks, nm, err, errlen);
    free(marks);
    if (st == SC_OK)
        for (i = 0; i < g->n_dests; i++)
            g->dests[i].dirty = 0;
    return st;
}

void sc_ingest_complete(sc_ingest *g)
{
    ig_entry *e, *nx;
    const char **ids;
    ig_entry **done;
    size_t n = 0, i, cap = g->n_entries;
    double dead = 0;
    char err[SC_ERRLEN];
    if (cap == 0) {
        if (ack_and_mark(g, NULL, 0, err, sizeof err) != SC_OK) /* marks only */
            IG_LOG(warn, g, "dirty marks failed: %s", err);
        return;
    }
    ids = calloc(cap, sizeof *ids);
    done = calloc(cap, sizeof *done);
    if (ids == NULL || done == NULL)
        goto out;
    for (e = g->head; e != NULL; e = nx) {
        nx = e->next;
        if (e->ops_left > 0)
            continue;
        if (e->parked) {
            entry_unlink_free(g, e);
            continue;
        }
        if (e->dead == 1) {
            if (g->io.dead_letter(g->io.ctx, e->id, e->payload, e->payload ? e->len : 0, e->reason,
                                  err, sizeof err) != SC_OK) {
                IG_LOG(warn, g, "dead-letter %s failed: %s", e->id, err);
                continue; /* try again next round */
            }
            IG_LOG(info, g, "entry %s dead-lettered: %s", e->id, e->reason);
            e->dead = 2; /* written; do not write twice */
            dead++;
        }
        ids[n] = e->id;
        done[n++] = e;
    }
    if (dead > 0) {
        sc_metric_add(g->m.dead, NULL, dead);
        ig_stage(g, "dead_lettered", dead);
    }
    if (ack_and_mark(g, ids, n, err, sizeof err) != SC_OK) {
        if (n == 0) {
            IG_LOG(warn, g, "dirty marks failed: %s", err);
        } else {
            IG_LOG(warn, g, "XACK of %zu failed: %s", n, err);
            for (i = 0; i < n; i++) {
                if (done[i]->dead == 2) { /* already in the dead-letter stream */
                    done[i]->dead = 0;
                    done[i]->reason[0] = '\0';
                }
            }
        }
        goto out;
    }
    if (n > 0) {
        ig_stage(g, "acked", (double)n);
        for (i = 0; i < n; i++)
            entry_unlink_free(g, done[i]);
    }
out:
    free(ids);
    free(done);
}

void sc_ingest_touch(sc_ingest *g)
{
    ig_entry *e;
    const char **ids;
    size_t n = 0;
    if (g->io.touch == NULL || g->n_entries == 0)
        return;
    if ((ids = calloc(g->n_entries, sizeof *ids)) == NULL)
        return;
    for (e = g->head; e != NULL; e = e->next)
        if (!e->parked && e->ops_left > 0)
            ids[n++] = e->id;
    if (n > 0)
        g->io.touch(g->io.ctx, ids, n);
    free(ids);
}

void sc_ingest_park_oldest(sc_ingest *g)
{
    ig_entry *e;
    double n = 0;
    for (e = g->head; e != NULL && g->inflight > g->inflight_max * 3 / 4; e = e->next) {
        if (e->parked || e->ops_left == 0)
            continue;
        entry_park(g, e);
        n++;
    }
    if (n > 0) {
        IG_LOG(warn, g, "in-flight bytes full, %.0f held entries parked (left pending)", n);
        ig_stage(g, "parked", n);
    }
}

/* ------------------------------------------------------------ reading */

static int entry_known(const sc_ingest *g, const char *id)
{
    const ig_entry *e;
    for (e = g->head; e != NULL; e = e->next)
        if (!e->parked && strcmp(e->id, id) == 0)
            return 1;
    return 0;
}

void sc_ingest_filter_known(sc_ingest *g, sc_queue_batch *qb, const char *after)
{
    size_t i, keep = 0;
    for (i = 0; i < qb->n; i++) {
        sc_queue_entry *qe = &qb->entries[i];
        if ((after != NULL && sc_ingest_id_cmp(qe->id, after) <= 0) || entry_known(g, qe->id)) {
            free(qe->payload);
            continue;
        }
        qb->entries[keep++] = *qe;
    }
    qb->n = keep;
}

void sc_ingest_publish(sc_ingest *g)
{
    if (g->inflight_delta != 0) {
        sc_metric_add(g->m.inflight, NULL, (double)g->inflight_delta);
        g->inflight_delta = 0;
    }
}

uint64_t sc_ingest_inflight(const sc_ingest *g) { return g->inflight; }

size_t sc_ingest_entries(const sc_ingest *g) { return g->n_entries; }

int sc_ingest_dest_full(const sc_ingest *g)
{
    size_t i;
    for (i = 0; i < g->n_dests; i++)
        if (g->dests[i].n >= (size_t)g->batch_count)
            return 1;
    return 0;
}

void sc_ingest_free(sc_ingest *g)
{
    size_t i, j;
    if (g == NULL)
        return;
    while (g->head != NULL)
        entry_unlink_free(g, g->head);
    sc_ingest_publish(g);
    for (i = 0; i < g->n_dests; i++) {
        for (j = 0; j < g->dests[i].n; j++)
            free(g->dests[i].ops[j].doc);
        free(g->dests[i].ops);
    }
    free(g->dests);
    sc_buf_free(&g->doc);
    sc_buf_free(&g->resp);
    sc_bulk_free(&g->bulk);
    free(g);
}
