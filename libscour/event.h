/*
 * event.h - the queue event (schemas/events/event.schema.json): an op and
 * the message it carries, and its codec. sc_event_parse is the gate every
 * event from the queue goes through; what it refuses is dead-lettered with
 * its reason (see docs/indexer.md).
 *
 * Written in three files, so that the arrows run one way: event.c (the type,
 * its names, clearing, the encoder), event_fast.c (the fast path, which
 * needs only the type) and event_parse.c (the gate over both parsers).
 *
 * Not here: the message type (message.h), the Elasticsearch document
 * (esdoc.h), transport (queue.c).
 */
#ifndef SC_EVENT_H
#define SC_EVENT_H

#include "buf.h"
#include "message.h"
#include "sc.h"

#include <stddef.h>

typedef enum sc_op { SC_OP_CREATE = 1, SC_OP_UPDATE = 2, SC_OP_DELETE = 3 } sc_op;

typedef struct sc_event {
    sc_op op;
    sc_message msg; /* owned; release with sc_event_clear */
} sc_event;

/* "create", "update", "delete"; "unknown" otherwise. Static storage. */
const char *sc_op_str(sc_op op);

/* Parse one event (JSON text, not necessarily NUL-terminated, len bytes).
 * Ids must be decimal strings; version a positive integer (number or
 * string). Only whitespace may follow the JSON value, and the text may hold
 * no NUL byte (neither raw nor as \u0000 in a string), since the stored
 * content would be cut there. On error returns SC_EINVAL (SC_ENOMEM when
 * out of memory) and writes a reason naming the field into err.
 * On success *out owns heap memory: release with sc_event_clear(). */
sc_status sc_event_parse(const char *json, size_t len, sc_event *out, char *err,
                         size_t errlen) SC_MUST_USE;

/* sc_event_parse is these two: the allocation-light fast path (0 with *out
 * filled, or -1 leaving *out to be cleared: "not the common shape, let
 * cJSON decide"), then the cJSON parser with every check and message.
 * Both are exposed for the tests and the fuzz target that hold them to the
 * same answers (the fast path never accepts what the cJSON path refuses,
 * and accepts with the same fields). */
int sc_event_parse_fast(const char *json, size_t len, sc_event *out) SC_MUST_USE;
sc_status sc_event_parse_cjson(const char *json, size_t len, sc_event *out, char *err,
                               size_t errlen) SC_MUST_USE;

/* Append the event in the schema's form (ids as strings) to out. SC_EINVAL
 * for a bad op, SC_ENOMEM when out is full (out then unchanged). */
sc_status sc_event_to_json(const sc_event *ev, sc_buf *out) SC_MUST_USE;

/* Free what the event owns and zero it. NULL-safe. */
void sc_event_clear(sc_event *ev);

#endif
