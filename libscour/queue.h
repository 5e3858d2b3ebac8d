/*
 * queue.h - the message event stream: a Redis Stream written by producers
 * (XADD) and read by indexer workers through one consumer group
 * (XREADGROUP), with acknowledgement, reclaiming of entries held by dead
 * consumers (XAUTOCLAIM), delivery counts, a dead-letter stream and lag
 * metrics. Delivery is at-least-once: an entry stays in the group's pending
 * list until acked, so a crash between read and ack redelivers it.
 *
 * Each entry has one field "e" holding the event payload (JSON, but this
 * module treats it as opaque bytes). Dead-lettered entries go to a second
 * stream with fields e, reason, src_id, ts.
 *
 * Trimming: XADD uses MAXLEN ~ maxlen (default 10,000,000, far above any
 * expected backlog). Redis trims by length only and ignores the pending
 * list, so an entry that is still pending can be trimmed away if the backlog
 * ever exceeds maxlen; such entries come back from read_pending/autoclaim
 * as "gone" ids (acked here, reported to the caller) instead of payloads.
 *
 * Not here: parsing the payload (message.h), indexing (indexer/).
 * Threading: one handle (one Redis connection) per thread.
 */
#ifndef SC_QUEUE_H
#define SC_QUEUE_H

#include "redis.h"
#include "sc.h"

#include <stddef.h>
#include <stdint.h>

#define SC_QUEUE_IDLEN 32 /* bytes for a stream id "<ms>-<seq>" + NUL */
#define SC_QUEUE_DEFAULT_MAXLEN 10000000LL
#define SC_QUEUE_DEFAULT_BLOCK_MS 2000
#define SC_QUEUE_DEFAULT_COUNT 100
#define SC_QUEUE_FIELD "e" /* stream field carrying the payload */

typedef struct sc_queue_opts {
    sc_redis_opts redis;     /* connection; see redis.h (strings copied) */
    const char *stream;      /* borrowed, copied; stream key, required */
    const char *group;       /* borrowed, copied; consumer group, required */
    const char *consumer;    /* borrowed, copied; this consumer's name, required
                                (stable per worker so it finds its own pending
                                entries after a restart) */
    int64_t maxlen;          /* XADD MAXLEN ~ N; 0 means 10,000,000 */
    const char *dead_stream; /* borrowed, copied; NULL means "<stream>:dead" */
    int block_ms;            /* default BLOCK for sc_queue_read; 0 means 2000 */
    int count;               /* default COUNT for reads; 0 means 100 */
} sc_queue_opts;

/* One stream entry handed to a consumer. */
typedef struct sc_queue_entry {
    char id[SC_QUEUE_IDLEN]; /* stream id, e.g. "1700000000000-0" */
    char *payload;           /* owned by the batch; the whole value of field
                                "e" plus a trailing NUL (not counted in len);
                                NULL when the entry has no "e" field (not
                                written by us: dead-letter it) */
    size_t len;              /* payload bytes (may contain NULs) */
} sc_queue_entry;

/* What one read returns. Zero-initialise before the first use; release with
 * sc_queue_batch_free (reads free and overwrite a previous batch). */
typedef struct sc_queue_batch {
    sc_queue_entry *entries;      /* owned; n entries, stream order */
    size_t n;                     /* number of entries */
    char (*gone)[SC_QUEUE_IDLEN]; /* owned; ids that were pending but whose
                                     entries no longer exist (trimmed or
                                     XDEL'd); already removed from the pending
                                     list, nothing to process */
    size_t n_gone;                /* number of gone ids */
} sc_queue_batch;

typedef struct sc_queue sc_queue;

/* Allocate a handle (copies every string); does not connect. NULL on bad
 * options (missing stream/group/consumer, negative numbers) or out of
 * memory, with the reason in err. Release with sc_queue_free. */
sc_queue *sc_queue_create(const sc_queue_opts *o, char *err, size_t errlen);
/* NULL is a no-op. */
void sc_queue_free(sc_queue *q);
/* Detail of the last failure; never NULL. */
const char *sc_queue_errstr(const sc_queue *q);
/* The handle's Redis connection (borrowed; valid until sc_queue_free), for
 * maintenance such as deleting streams in tests. */
sc_redis *sc_queue_redis(sc_queue *q);
/* Names after defaults (static inside the handle). */
const char *sc_queue_stream(const sc_queue *q);
const char *sc_queue_dead_stream(const sc_queue *q);

/* XGROUP CREATE <stream> <group> 0 MKSTREAM; an existing group is SC_OK.
 * Reads call this by themselves when Redis answers NOGROUP. */
sc_status sc_queue_ensure_group(sc_queue *q) SC_MUST_USE;

/* XADD <stream> MAXLEN ~ maxlen * e <payload>. id_out (may be NULL) gets the
 * new id. Not resent after a broken connection (SC_ECONN: the entry may or
 * may not have been added; publishing again is safe for consumers that
 * apply events by version). */
sc_status sc_queue_publish(sc_queue *q, const void *payload, size_t len,
                           char id_out[SC_QUEUE_IDLEN]) SC_MUST_USE;
/* n XADDs in one pipeline, in order. ids_out (may be NULL) gets n ids.
 * SC_OK only if all were added; otherwise errstr names the first failure and
 * any prefix may have been added (same at-least-once note as above). */
sc_status sc_queue_publish_many(sc_queue *q, const void *const *payloads, const size_t *lens,
                                size_t n, char (*ids_out)[SC_QUEUE_IDLEN]) SC_MUST_USE;

/* XREADGROUP GROUP g c COUNT n [BLOCK ms] STREAMS s >: new entries, which
 * become pending for this consumer. count <= 0 uses opts.count; block_ms < 0
 * uses opts.block_ms; block_ms == 0 does not block (never BLOCK 0, which
 * would wait forever). The socket timeout for this call is block_ms plus the
 * command timeout. SC_OK with out->n == 0 when nothing arrived in time. */
sc_status sc_queue_read(sc_queue *q, int count, int block_ms, sc_queue_batch *out) SC_MUST_USE;
/* This consumer's own pending entries from the start (XREADGROUP ... 0), for
 * recovery after a restart. Acked entries leave the list, so calling again
 * after acking returns the next ones; unacked ones come back every time.
 * Pending ids whose entries were trimmed are acked and listed in out->gone. */
sc_status sc_queue_read_pending(sc_queue *q, int count, sc_queue_batch *out) SC_MUST_USE;

/* XACK <stream> <group> ids... in one command. acked (may be NULL) gets how
 * many were pending. Idempotent. */
sc_status sc_queue_ack(sc_queue *q, const char *const *ids, size_t n, int64_t *acked) SC_MUST_USE;

/* XAUTOCLAIM <stream> <group> <consumer> min_idle_ms start COUNT count:
 * take over entries other consumers have held for at least min_idle_ms.
 * start_id_inout holds the scan cursor ("0-0" to start) and receives the
 * next one ("0-0" when the whole pending list was scanned). Entries Redis
 * reports deleted are listed in out->gone (Redis 7 already dropped them from
 * the pending list; a nil entry from older servers is acked here). Each
 * claimed entry's delivery count goes up by one. Not resent after a broken
 * connection (claimed entries stay pending for a later claim). */
sc_status sc_queue_autoclaim(sc_queue *q, int64_t min_idle_ms, int count,
                             char start_id_inout[SC_QUEUE_IDLEN], sc_queue_batch *out) SC_MUST_USE;

/* Delivery count of each id in the group's pending list (pipelined
 * XPENDING <stream> <group> <id> <id> 1). counts_out[i] = 0 when ids[i] is
 * not pending. Idempotent. */
sc_status sc_queue_delivery_counts(sc_queue *q, const char *const *ids, size_t n,
                                   int64_t *counts_out) SC_MUST_USE;

/* XADD to the dead-letter stream: e=<payload> reason=<reason> src_id=<id>
 * ts=<wall ms>. The caller acks entry_id afterwards. payload may be NULL
 * (len 0). Not resent after a broken connection. */
sc_status sc_queue_dead_letter(sc_queue *q, const char *entry_id, const void *payload, size_t len,
                               const char *reason) SC_MUST_USE;

/* From XINFO GROUPS: *lag = entries not yet delivered to the group (-1 when
 * Redis cannot tell, e.g. after deletions), *pending = delivered but not
 * acked. Either pointer may be NULL. SC_ENOTFOUND when the stream or group
 * does not exist. */
sc_status sc_queue_lag(sc_queue *q, int64_t *lag, int64_t *pending) SC_MUST_USE;
/* XLEN of the dead-letter stream (0 when absent). */
sc_status sc_queue_dead_count(sc_queue *q, int64_t *n) SC_MUST_USE;

/* Free what a batch owns and zero it. NULL is a no-op. */
void sc_queue_batch_free(sc_queue_batch *b);

/* Reply parsing, exposed for unit tests. Append the entries of a stream
 * entry array ([[id, [field, value, ...]] | nil, ...]) to out: an entry with
 * a nil field list goes to out->gone. SC_EPROTO (reason in err) on any other
 * shape; out is left as it was on failure. The payloads are taken out of
 * arr, not copied (their str becomes NULL; free arr as usual). */
sc_status sc_queue_parse_entries(redisReply *arr, sc_queue_batch *out, char *err,
                                 size_t errlen) SC_MUST_USE;

#endif
