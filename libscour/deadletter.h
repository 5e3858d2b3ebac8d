/*
 * deadletter.h - reading and replaying the dead-letter stream that the
 * indexer writes (sc_queue_dead_letter: fields e=<payload> reason=<why>
 * src_id=<original entry id> ts=<wall ms>). Used by the console: list the
 * newest entries, replay one or all of them back onto the event stream.
 *
 * A replay is XADD of the kept payload to the event stream, then XDEL of the
 * dead-letter entry: if the process dies between the two the event is in
 * both streams and a second replay sends it twice, which the indexer's
 * external versions make harmless (at least once, never lost).
 *
 * Not here: why an entry was dead-lettered (libscour/ingest.c) or the
 * stream's consumer group (queue.c).
 */
#ifndef SC_DEADLETTER_H
#define SC_DEADLETTER_H

#include "queue.h"
#include "sc.h"

#include <stddef.h>
#include <stdint.h>

/* One dead-letter entry. */
typedef struct sc_dead_entry {
    char id[SC_QUEUE_IDLEN];     /* id in the dead-letter stream */
    char src_id[SC_QUEUE_IDLEN]; /* id it had in the event stream ("" if unknown) */
    int64_t ts_ms;               /* when it was dead-lettered (Unix ms, 0 if unknown) */
    char *reason;                /* owned; "" when absent */
    char *payload;               /* owned; NUL-terminated; NULL when the entry has none */
    size_t payload_len;          /* bytes of payload */
} sc_dead_entry;

/* The newest entries, newest first: at most count (1..1000), strictly older
 * than before_id when it is non-NULL and non-empty. *out is malloc'd, free it
 * with sc_dead_entries_free; NULL when *n is 0. SC_EINVAL for a bad count or
 * id (not "<ms>-<seq>"), else a Redis error. Every failure writes its reason
 * to err (the same for the functions below). */
sc_status sc_dead_list(sc_queue *q, const char *before_id, int count, sc_dead_entry **out,
                       size_t *n, char *err, size_t errlen) SC_MUST_USE;
void sc_dead_entries_free(sc_dead_entry *e, size_t n);

/* Replay entry id: publish its payload to the event stream (new id in
 * new_id, may be NULL), then delete it from the dead-letter stream.
 * SC_ENOTFOUND when there is no such entry, SC_EINVAL for a malformed id or
 * an entry without payload (it stays), else a Redis error. */
sc_status sc_dead_replay(sc_queue *q, const char *id, char new_id[SC_QUEUE_IDLEN], char *err,
                         size_t errlen) SC_MUST_USE;

/* Replay every entry, oldest first, in pages. *replayed counts the entries
 * published again, *skipped those left because they have no payload. On a
 * Redis error the entries replayed so far stay replayed. */
sc_status sc_dead_replay_all(sc_queue *q, int64_t *replayed, int64_t *skipped, char *err,
                             size_t errlen) SC_MUST_USE;

/* 1 when s is a stream id "<digits>-<digits>" that fits SC_QUEUE_IDLEN. */
int sc_dead_id_ok(const char *s);

#endif
