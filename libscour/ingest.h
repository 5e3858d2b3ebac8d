/*
 * ingest.h - the indexer's delivery engine: stream entries in, one _bulk
 * per (cluster, index) destination out, and an entry acked only when every
 * operation it produced is accepted (2xx or 409) or the entry was
 * dead-lettered. See docs/indexer.md for the design.
 *
 * The engine does no I/O of its own: it reaches the binder, the clusters
 * and the queue through sc_ingest_io, so unit tests drive it against a
 * fake (tests/unit/test_ingest.c) and the indexer against the real
 * backends (ingest_worker.c). Failed operations stay in memory on their
 * destination with a jittered exponential backoff; only they are sent
 * again. A destination whose cluster has no client (not live, credentials
 * unresolvable) waits and has its channels re-resolved, so only its
 * channels stall. When held bytes reach inflight_max and nothing can be
 * sent, the oldest held entries are parked: dropped from memory without an
 * ack, to come back later through the queue's redelivery.
 *
 * Threads: an sc_ingest is used by one thread.
 * Not here: reading the stream (ingest_worker.c), config, metrics server.
 */
#ifndef SC_INGEST_H
#define SC_INGEST_H

#include "binding.h"
#include "buf.h"
#include "metrics.h"
#include "queue.h"
#include "sc.h"

#include <signal.h>
#include <stdint.h>

/* Metric families the engine updates (owned by the program's registry;
 * any may be NULL). */
typedef struct sc_ingest_metrics {
    sc_metric *events; /* counter, label stage: read|parsed|bound|sent|acked|dead_lettered|parked */
    sc_metric *bulk_secs; /* histogram, label cluster: _bulk latency */
    sc_metric *errors;    /* counter, label cluster: failed bulk requests / items to retry */
    sc_metric *retries;   /* counter, label cluster: operations scheduled again */
    sc_metric *dead;      /* counter: entries written to the dead-letter stream */
    sc_metric *lag;       /* gauge: entries not yet delivered to the group (the worker's) */
    sc_metric *pending;   /* gauge: entries delivered but not acked (the worker's) */
    sc_metric *inflight;  /* gauge: event bytes read and not yet acked */
    sc_metric *redis_up;  /* gauge: 1 after a worker's read from the stream worked, 0 after one
                             failed (the indexer's /readyz); may be NULL */
} sc_ingest_metrics;

/* A destination that accepted writes (refresh on read); both borrowed
 * from the engine for the call. */
typedef struct sc_ingest_mark {
    const char *cluster;
    const char *index;
} sc_ingest_mark;

/* The engine's outputs. Every function gets ctx first; err (errlen bytes)
 * receives the reason of a failure. */
typedef struct sc_ingest_io {
    void *ctx; /* ref: the implementation's state */
    /* Bindings of n channels, assigning new ones (sc_binder_resolve with
     * assign = 1). A failure is retried with backoff until it works or
     * the engine is told to stop. */
    sc_status (*resolve)(void *ctx, const uint64_t *channels, size_t n, sc_binding *out, int *found,
                         char *err, size_t errlen);
    /* Times each of ids[0..n) was delivered (XPENDING); a failure counts as
     * unknown (0). */
    sc_status (*delivery_counts)(void *ctx, const char *const *ids, size_t n, int64_t *counts);
    /* SC_OK when cluster can be written to now; any error (not live, no
     * client) makes the destination wait and re-resolve its channels. */
    sc_status (*connect)(void *ctx, const char *cluster, char *err, size_t errlen);
    /* Create index on cluster unless it exists (es_ensure_index). */
    sc_status (*ensure_index)(void *ctx, const char *cluster, const char *index, char *err,
                              size_t errlen);
    /* POST an NDJSON _bulk body to cluster; resp gets the answer and *http
     * its status (0 without one). As es_bulk. */
    sc_status (*bulk)(void *ctx, const char *cluster, const char *body, size_t len, sc_buf *resp,
                      long *http, char *err, size_t errlen);
    /* Acknowledge ids[0..n) (XACK). On failure none counts as acked. */
    sc_status (*ack)(void *ctx, const char *const *ids, size_t n, char *err, size_t errlen);
    /* Write an entry to the dead-letter stream with its reason. */
    sc_status (*dead_letter)(void *ctx, const char *id, const char *payload, size_t len,
                             const char *reason, char *err, size_t errlen);
    /* Keep held ids[0..n) ours (XCLAIM ... JUSTID); may be NULL. */
    void (*touch)(void *ctx, const char *const *ids, size_t n);
    /* Refresh on read, may be NULL (then ack is used and nothing is
     * marked): set the dirty marks of marks[0..nm), the destinations that
     * accepted a _bulk since the last call, and acknowledge ids[0..n), in
     * one round trip (either n or nm may be 0). On failure nothing counts as
     * acked and the marks are sent again with the next call. */
    sc_status (*ack_mark)(void *ctx, const char *const *ids, size_t n,
                          const struct sc_ingest_mark *marks, size_t nm, char *err, size_t errlen);
} sc_ingest_io;

typedef struct sc_ingest_opts {
    const sc_ingest_io *io;            /* copied; every function but touch is required */
    const sc_ingest_metrics *metrics;  /* copied, may be NULL */
    const char *name;                  /* log context, e.g. "indexer[0]" (copied) */
    int batch_count;                   /* most actions per _bulk (>= 1) */
    uint64_t batch_bytes;              /* most bytes per _bulk (>= 1) */
    int retry_base_ms;                 /* first backoff (>= 1) */
    int retry_max_ms;                  /* backoff ceiling (>= retry_base_ms) */
    int64_t max_deliveries;            /* entries delivered more often are dead-lettered */
    uint64_t inflight_max;             /* held payload bytes that trigger parking (>= 1) */
    const volatile sig_atomic_t *stop; /* ref, may be NULL: stops the resolve retries */
} sc_ingest_opts;

typedef struct sc_ingest sc_ingest;

/* A new engine. NULL with the reason in err. Free with sc_ingest_free,
 * which drops whatever is still held (left pending in the queue). */
sc_ingest *sc_ingest_create(const sc_ingest_opts *o, char *err, size_t errlen);
void sc_ingest_free(sc_ingest *g);

/* Take a batch into memory: parse, resolve, queue the operations. The
 * payloads are taken over (qb's entries then have payload NULL; free qb as
 * usual). check_counts: look up delivery counts first (pending or claimed
 * reads) and dead-letter entries delivered more than max_deliveries times. */
void sc_ingest_take(sc_ingest *g, sc_queue_batch *qb, int check_counts);

/* Remove from qb the entries the engine already holds, and with after !=
 * NULL those with an id <= after (their payloads are freed). */
void sc_ingest_filter_known(sc_ingest *g, sc_queue_batch *qb, const char *after);

/* Non-zero if some destination may send now; *next_ms gets the earliest
 * later time one may (INT64_MAX when none waits). */
int sc_ingest_ready(sc_ingest *g, int64_t *next_ms);

/* Send what is due: one _bulk at a time per destination from the front of
 * its queue, classifying every item. */
void sc_ingest_flush(sc_ingest *g);

/* Dead-letter, then ack, the entries that are done; forget parked ones. */
void sc_ingest_complete(sc_ingest *g);

/* io->touch the held (not parked, not done) entries. */
void sc_ingest_touch(sc_ingest *g);

/* Park the oldest held entries until held bytes are under 3/4 of
 * inflight_max. */
void sc_ingest_park_oldest(sc_ingest *g);

/* Add the change of held bytes since the last call to the in-flight gauge. */
void sc_ingest_publish(sc_ingest *g);

/* Held payload bytes (not parked), entries in memory (parked included
 * until completed), and whether some destination has batch_count
 * operations waiting. */
uint64_t sc_ingest_inflight(const sc_ingest *g);
size_t sc_ingest_entries(const sc_ingest *g);
int sc_ingest_dest_full(const sc_ingest *g);

/* -1, 0 or 1 as stream id a ("ms-seq") sorts before, with or after b. */
int sc_ingest_id_cmp(const char *a, const char *b);

#endif
