/*
 * ingest_worker.c - one indexer worker thread: read events from the
 * consumer group (start-up pending drain, periodic XAUTOCLAIM, new entries
 * with linger) into the delivery engine, and implement the engine's
 * outputs over the real backends. See ingest_worker.h and docs/indexer.md.
 */
#include "ingest_worker.h"

#include "binding.h"
#include "clients.h"
#include "db.h"
#include "es.h"
#include "index_name.h"
#include "log.h"
#include "promote.h"
#include "queue.h"
#include "redis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SHUTDOWN_GRACE_MS 15000 /* how long a stopping worker keeps retrying */

/* Log with the worker's context ("indexer[0]: ..."). */
#define W_LOG(lvl, w, fmt, ...) log_##lvl("indexer[%d]: " fmt, (w)->index, __VA_ARGS__)

typedef struct ix_worker {
    const sc_ingest_worker_opts *o;    /* ref */
    const sc_config *cfg;              /* ref */
    int index;                         /* worker number */
    sc_queue *q;                       /* owned */
    sc_db *db;                         /* owned */
    sc_redis *redis;                   /* owned, for the binder */
    sc_binder *binder;                 /* owned */
    sc_clients *clients;               /* owned: es_client per cluster */
    sc_ingest *eng;                    /* owned: the delivery engine */
    uint64_t inflight_max;             /* this worker's share of inflight_bytes_max */
    char last_seen[SC_QUEUE_IDLEN];    /* pending drain: highest id handled */
    int pending_done;                  /* start-up pending drain finished */
    char claim_cursor[SC_QUEUE_IDLEN]; /* XAUTOCLAIM cursor */
    int64_t next_claim_ms;             /* next autoclaim pass */
    int64_t next_touch_ms;             /* next XCLAIM JUSTID of held entries */
    int64_t next_lag_ms;               /* next lag gauge update (worker 0) */
    char consumer[320];                /* our consumer name */
} ix_worker;

static int stopping(const ix_worker *w) { return *w->o->stop != 0; }

/* ------------------------------------------------------ engine outputs */

static sc_status io_resolve(void *ctx, const uint64_t *ch, size_t n, sc_binding *out, int *found,
                            char *err, size_t errlen)
{
    ix_worker *w = ctx;
    sc_status st = sc_binder_resolve(w->binder, ch, n, 1, out, found);
    if (st != SC_OK)
        sc_seterr(err, errlen, "%s", sc_binder_errstr(w->binder));
    return st;
}

static sc_status io_counts(void *ctx, const char *const *ids, size_t n, int64_t *counts)
{
    ix_worker *w = ctx;
    return sc_queue_delivery_counts(w->q, ids, n, counts);
}

static sc_status io_connect(void *ctx, const char *cluster, char *err, size_t errlen)
{
    ix_worker *w = ctx;
    es_client *es;
    sc_status st = sc_clients_get(w->clients, cluster, &es);
    if (st != SC_OK)
        sc_seterr(err, errlen, "%s", sc_clients_errstr(w->clients));
    return st;
}

static sc_status io_ensure(void *ctx, const char *cluster, const char *index, char *err,
                           size_t errlen)
{
    ix_worker *w = ctx;
    es_client *es;
    char *schema = NULL;
    sc_status st = sc_clients_get(w->clients, cluster, &es);
    /* a promoted channel's own index (rebound by self-healing before its
     * rebuild made the index) gets its shards, as reindex makes it */
    if (st == SC_OK && sc_index_name_is_channel(index, w->o->cfg->index_name, NULL) &&
        (schema = sc_promote_schema(w->o->schema_json, w->o->cfg->big_channel_shards)) == NULL) {
        sc_seterr(err, errlen, "index schema with shards: out of memory");
        return SC_ENOMEM;
    }
    if (st == SC_OK &&
        (st = es_ensure_index(es, index, schema != NULL ? schema : w->o->schema_json)) != SC_OK)
        sc_seterr(err, errlen, "%s", es_errstr(es));
    else if (st != SC_OK)
        sc_seterr(err, errlen, "%s", sc_clients_errstr(w->clients));
    free(schema);
    return st;
}

static sc_status io_bulk(void *ctx, const char *cluster, const char *body, size_t len, sc_buf *resp,
                         long *http, char *err, size_t errlen)
{
    ix_worker *w = ctx;
    es_client *es;
    sc_status st = sc_clients_get(w->clients, cluster, &es);
    if (st == SC_OK && (st = es_bulk(es, body, len, resp, http)) != SC_OK)
        sc_seterr(err, errlen, "%s", es_errstr(es));
    else if (st != SC_OK)
        sc_seterr(err, errlen, "%s", sc_clients_errstr(w->clients));
    return st;
}

static sc_status io_ack(void *ctx, const char *const *ids, size_t n, char *err, size_t errlen)
{
    ix_worker *w = ctx;
    sc_status st = sc_queue_ack(w->q, ids, n, NULL);
    if (st != SC_OK)
        sc_seterr(err, errlen, "%s", sc_queue_errstr(w->q));
    return st;
}

static sc_status io_dead(void *ctx, const char *id, const char *payload, size_t len,
                         const char *reason, char *err, size_t errlen)
{
    ix_worker *w = ctx;
    sc_status st = sc_queue_dead_letter(w->q, id, payload, len, reason);
    if (st != SC_OK)
        sc_seterr(err, errlen, "%s", sc_queue_errstr(w->q));
    return st;
}

/* Keep our held entries ours: XCLAIM ... 0 id... JUSTID resets their idle
 * time without raising the delivery count, so XAUTOCLAIM elsewhere leaves
 * them alone while we retry. */
static void io_touch(void *ctx, const char *const *ids, size_t n)
{
    ix_worker *w = ctx;
    const char **argv;
    size_t i, k = 0;
    redisReply *rep = NULL;
    if ((argv = calloc(n + 7, sizeof *argv)) == NULL)
        return;
    argv[k++] = "XCLAIM";
    argv[k++] = sc_queue_stream(w->q);
    argv[k++] = w->cfg->group;
    argv[k++] = w->consumer;
    argv[k++] = "0";
    for (i = 0; i < n; i++)
        argv[k++] = ids[i];
    argv[k++] = "JUSTID";
    if (sc_redis_command_argv_ex(sc_queue_redis(w->q), SC_REDIS_IDEMPOTENT, 0, (int)k, argv, NULL,
                                 &rep) == SC_OK)
        freeReplyObject(rep);
    else
        W_LOG(warn, w, "XCLAIM JUSTID: %s", sc_redis_errstr(sc_queue_redis(w->q)));
    free(argv);
}

/* ------------------------------------------------------------- reading */

/* Payload bytes of a batch. */
static uint64_t batch_bytes(const sc_queue_batch *qb)
{
    uint64_t n = 0;
    size_t i;
    for (i = 0; i < qb->n; i++)
        n += qb->entries[i].len;
    return n;
}

/* The start-up drain of our own pending entries, one batch per call. */
static void read_own_pending(ix_worker *w)
{
    sc_queue_batch qb;
    memset(&qb, 0, sizeof qb);
    if (sc_queue_read_pending(w->q, w->cfg->batch_count, &qb) != SC_OK) {
        W_LOG(warn, w, "read pending: %s", sc_queue_errstr(w->q));
        usleep(200 * 1000);
        return;
    }
    sc_ingest_filter_known(w->eng, &qb, w->last_seen[0] ? w->last_seen : NULL);
    if (qb.n == 0) {
        w->pending_done = 1;
        W_LOG(info, w, "%s", "own pending entries processed");
    } else {
        snprintf(w->last_seen, sizeof w->last_seen, "%s", qb.entries[qb.n - 1].id);
        sc_ingest_take(w->eng, &qb, 1);
    }
    sc_queue_batch_free(&qb);
}

/* One XAUTOCLAIM step over entries idle for claim_idle_ms. */
static void claim_idle(ix_worker *w, int64_t now)
{
    sc_queue_batch qb;
    memset(&qb, 0, sizeof qb);
    if (sc_queue_autoclaim(w->q, w->cfg->claim_idle_ms, w->cfg->batch_count, w->claim_cursor,
                           &qb) == SC_OK) {
        sc_ingest_filter_known(w->eng, &qb, NULL);
        if (qb.n > 0)
            W_LOG(info, w, "claimed %zu idle entries", qb.n);
        sc_ingest_take(w->eng, &qb, 1);
    } else {
        W_LOG(warn, w, "autoclaim: %s", sc_queue_errstr(w->q));
    }
    sc_queue_batch_free(&qb);
    if (strcmp(w->claim_cursor, "0-0") == 0)
        w->next_claim_ms =
            now + (w->cfg->claim_idle_ms / 2 > 1000 ? w->cfg->claim_idle_ms / 2 : 1000);
}

/* One read step: start-up pending drain, periodic autoclaim, or new
 * entries with linger. */
static void read_step(ix_worker *w, int64_t wait_ms)
{
    sc_queue_batch qb;
    int64_t now = sc_now_ms(), t0;
    size_t got = 0;
    uint64_t bytes = 0;
    if (!w->pending_done) {
        read_own_pending(w);
        return;
    }
    if (now >= w->next_claim_ms) {
        claim_idle(w, now);
        return;
    }
    memset(&qb, 0, sizeof qb);
    if (sc_queue_read(w->q, w->cfg->batch_count, (int)wait_ms, &qb) != SC_OK) {
        W_LOG(warn, w, "read: %s", sc_queue_errstr(w->q));
        usleep(200 * 1000);
        return;
    }
    got = qb.n;
    bytes = batch_bytes(&qb);
    sc_ingest_take(w->eng, &qb, 0);
    sc_queue_batch_free(&qb);
    /* linger: fill the batch up to batch_count / batch_bytes or linger_ms */
    t0 = sc_now_ms();
    while (got > 0 && got < (size_t)w->cfg->batch_count && bytes < w->cfg->batch_bytes &&
           sc_ingest_inflight(w->eng) < w->inflight_max && !stopping(w)) {
        int64_t left = w->cfg->linger_ms - (sc_now_ms() - t0);
        if (sc_ingest_dest_full(w->eng))
            left = 0;
        if (left <= 0)
            break;
        if (sc_queue_read(w->q, w->cfg->batch_count - (int)got, (int)left, &qb) != SC_OK ||
            qb.n == 0) {
            sc_queue_batch_free(&qb);
            break;
        }
        got += qb.n;
        bytes += batch_bytes(&qb);
        sc_ingest_take(w->eng, &qb, 0);
        sc_queue_batch_free(&qb);
    }
}

static void update_lag(ix_worker *w)
{
    int64_t lag = 0, pend = 0;
    if (w->o->metrics != NULL && sc_queue_lag(w->q, &lag, &pend) == SC_OK) {
        sc_metric_set(w->o->metrics->lag, NULL, (double)lag);
        sc_metric_set(w->o->metrics->pending, NULL, (double)pend);
    }
}

/* ------------------------------------------------------------ lifecycle */

static sc_status worker_open(ix_worker *w, const sc_ingest_worker_opts *o, char *err, size_t errlen)
{
    const sc_config *c = o->cfg;
    sc_queue_opts qo;
    sc_redis_opts ro;
    sc_binder_opts bo;
    sc_clients_opts co;
    sc_ingest_opts go;
    es_opts eo;
    char dead[300], name[64];
    static const sc_ingest_io io = {
        .resolve = io_resolve,
        .delivery_counts = io_counts,
        .connect = io_connect,
        .ensure_index = io_ensure,
        .bulk = io_bulk,
        .ack = io_ack,
        .dead_letter = io_dead,
        .touch = io_touch,
    };
    sc_ingest_io wio = io;
    memset(w, 0, sizeof *w);
    w->o = o;
    w->cfg = c;
    w->index = o->index;
    snprintf(w->consumer, sizeof w->consumer, "%s", o->consumer);
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
    if ((w->q = sc_queue_create(&qo, err, errlen)) == NULL)
        return SC_ECONN;
    if (sc_queue_ensure_group(w->q) != SC_OK) {
        sc_seterr(err, errlen, "consumer group: %s", sc_queue_errstr(w->q));
        return SC_ECONN;
    }
    if ((w->redis = sc_redis_create(&ro, err, errlen)) == NULL)
        return SC_ECONN;
    if ((w->db = sc_db_create(c->pg_dsn, err, errlen)) == NULL)
        return SC_ECONN;
    memset(&bo, 0, sizeof bo);
    bo.ns = c->namespace;
    bo.index_name = c->index_name;
    bo.cache_ttl_s = c->binding_cache_ttl_s;
    bo.redis = w->redis;
    bo.db = w->db;
    bo.view = o->view;
    if ((w->binder = sc_binder_create(&bo, err, errlen)) == NULL)
        return SC_ERR;
    sc_clients_base_opts(c, &eo);
    memset(&co, 0, sizeof co);
    co.base = &eo;
    co.view = o->view;
    if ((w->clients = sc_clients_create(&co, err, errlen)) == NULL)
        return SC_ENOMEM;
    wio.ctx = w;
    snprintf(name, sizeof name, "indexer[%d]", o->index);
    memset(&go, 0, sizeof go);
    go.io = &wio;
    go.metrics = o->metrics;
    go.name = name;
    go.batch_count = c->batch_count;
    go.batch_bytes = c->batch_bytes;
    go.retry_base_ms = c->retry_base_ms;
    go.retry_max_ms = c->retry_max_ms;
    go.max_deliveries = c->max_deliveries;
    go.inflight_max = w->inflight_max;
    go.stop = o->stop;
    if ((w->eng = sc_ingest_create(&go, err, errlen)) == NULL)
        return SC_EINVAL;
    return SC_OK;
}

static void worker_close(ix_worker *w)
{
    sc_ingest_free(w->eng);
    sc_clients_free(w->clients);
    sc_binder_free(w->binder);
    sc_db_free(w->db);
    sc_redis_free(w->redis);
    sc_queue_free(w->q);
}

sc_status sc_ingest_worker_run(const sc_ingest_worker_opts *o, char *err, size_t errlen)
{
    ix_worker w;
    int64_t stop_deadline = 0;
    sc_status st;
    if ((st = worker_open(&w, o, err, errlen)) != SC_OK) {
        worker_close(&w);
        return st;
    }
    W_LOG(info, &w, "consumer %s on stream %s group %s", w.consumer, o->cfg->stream, o->cfg->group);
    for (;;) {
        int64_t now = sc_now_ms(), next_retry;
        int ready;
        uint64_t held;
        if (stopping(&w)) {
            if (stop_deadline == 0)
                stop_deadline = now + SHUTDOWN_GRACE_MS;
            if (sc_ingest_entries(w.eng) == 0)
                break;
            if (now >= stop_deadline) {
                W_LOG(warn, &w, "stopping with %zu entries unfinished (left pending)",
                      sc_ingest_entries(w.eng));
                break;
            }
        }
        ready = sc_ingest_ready(w.eng, &next_retry);
        held = sc_ingest_inflight(w.eng);
        if (!stopping(&w) && held < w.inflight_max) {
            int64_t wait = ready ? 0 : w.cfg->read_block_ms;
            if (!ready && next_retry != INT64_MAX && next_retry - now < wait)
                wait = next_retry - now > 0 ? next_retry - now : 0;
            read_step(&w, wait);
        } else if (!ready) {
            if (!stopping(&w) && held >= w.inflight_max)
                sc_ingest_park_oldest(w.eng);
            else
                usleep(20 * 1000);
        }
        sc_ingest_flush(w.eng);
        sc_ingest_complete(w.eng);
        now = sc_now_ms();
        if (now >= w.next_touch_ms) {
            sc_ingest_touch(w.eng);
            w.next_touch_ms = now + w.cfg->claim_idle_ms / 3;
        }
        sc_ingest_publish(w.eng);
        if (w.index == 0 && now >= w.next_lag_ms) {
            update_lag(&w);
            w.next_lag_ms = now + 1000;
        }
    }
    worker_close(&w);
    return SC_OK;
}
