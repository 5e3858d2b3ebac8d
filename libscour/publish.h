/*
 * publish.h - the chat service's side of the pipeline: serialise message
 * events and append them to the Redis Stream the indexers read, optionally
 * writing the message row to PostgreSQL first (the publisher CLI and the
 * tests "play the chat service" this way).
 *
 * Not here: reading the stream (queue.h, indexer/), event validation beyond
 * what serialisation needs (message.h: sc_event_parse validates input).
 * Threading: one sc_publisher per thread (one Redis and one PG connection).
 */
#ifndef SC_PUBLISH_H
#define SC_PUBLISH_H

#include "event.h"
#include "queue.h"
#include "redis.h"
#include "sc.h"

typedef struct sc_publisher sc_publisher;

typedef struct sc_publisher_opts {
    sc_redis_opts redis; /* connection (strings copied) */
    const char *stream;  /* stream key (copied), required */
    int64_t maxlen;      /* XADD MAXLEN ~; 0 = queue default */
    const char *pg_dsn;  /* libpq conninfo, or NULL/"" for no database
                              (then sc_publish_message_and_event is SC_EINVAL) */
} sc_publisher_opts;

/* Create a publisher (Redis connects lazily; PG connects now when pg_dsn is
 * set). NULL with the reason in err. Free with sc_publisher_free. */
sc_publisher *sc_publisher_create(const sc_publisher_opts *o, char *err, size_t errlen);
/* NULL is a no-op. */
void sc_publisher_free(sc_publisher *p);
/* Detail of the last failure; never NULL. */
const char *sc_publisher_errstr(const sc_publisher *p);

/* Serialise ev (sc_event_to_json) and XADD it. id_out (may be NULL) gets
 * the stream id. SC_OK, SC_EINVAL (event cannot be serialised), or a queue
 * status (SC_ECONN: it may or may not have been added; publishing again is
 * safe because indexing is by version). */
sc_status sc_publish_event(sc_publisher *p, const sc_event *ev,
                           char id_out[SC_QUEUE_IDLEN]) SC_MUST_USE;

/* XADD an already-serialised payload as is (no validation; tests use it to
 * publish poison). */
sc_status sc_publish_raw(sc_publisher *p, const char *payload, size_t len) SC_MUST_USE;

/* Write the message row (sc_db_upsert_message; a replay of an older or
 * equal version is not an error) and then publish the event. SC_EINVAL
 * when the publisher has no database. */
sc_status sc_publish_message_and_event(sc_publisher *p, const sc_event *ev,
                                       char id_out[SC_QUEUE_IDLEN]) SC_MUST_USE;

#endif
