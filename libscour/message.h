/*
 * message.h - the chat message as this project sees it, and the queue event
 * that carries it. This is the in-memory form of schemas/events/event.schema.json
 * and the source of the Elasticsearch document (schemas/elasticsearch/).
 *
 * Not here: storage (db.c), transport (queue.c), search (query.c).
 */
#ifndef SC_MESSAGE_H
#define SC_MESSAGE_H

#include "buf.h"
#include "sc.h"

#include <stdint.h>

/* Limits applied when parsing events from the outside. */
#define SC_MAX_CONTENT 8192      /* bytes of content */
#define SC_MAX_MENTIONS 100
#define SC_MAX_ATTACHMENTS 20
#define SC_MAX_EMBEDS 20
#define SC_MAX_STICKERS 5

typedef enum sc_op { SC_OP_CREATE = 1, SC_OP_UPDATE = 2, SC_OP_DELETE = 3 } sc_op;

typedef enum sc_author_type {
    SC_AUTHOR_USER = 0,
    SC_AUTHOR_BOT = 1,
    SC_AUTHOR_WEBHOOK = 2
} sc_author_type;

typedef struct sc_attachment {
    char *filename;     /* owned; e.g. "cat.png" */
    char *content_type; /* owned, may be NULL; e.g. "image/png" */
    uint64_t size;      /* bytes */
} sc_attachment;

typedef struct sc_embed {
    char *type;     /* owned, may be NULL: rich|image|video|gifv|article|link */
    char *provider; /* owned, may be NULL: provider name, e.g. "YouTube" */
    char *url;      /* owned, may be NULL */
} sc_embed;

typedef struct sc_message {
    uint64_t id;         /* snowflake; also the Elasticsearch _id */
    uint64_t channel_id;
    uint64_t guild_id;   /* 0 for a DM */
    uint64_t author_id;
    sc_author_type author_type;
    char *content;       /* owned, UTF-8, may be "" but never NULL after parse */
    uint64_t *mentions;  /* owned array of user ids */
    size_t n_mentions;
    int mention_everyone;
    sc_attachment *attachments; /* owned array */
    size_t n_attachments;
    sc_embed *embeds;    /* owned array */
    size_t n_embeds;
    uint64_t *sticker_ids; /* owned array */
    size_t n_stickers;
    int pinned;
    int64_t version;     /* per-message, strictly increasing across events */
    int deleted;         /* tombstone */
} sc_message;

typedef struct sc_event {
    sc_op op;
    sc_message msg;
} sc_event;

const char *sc_op_str(sc_op op);
const char *sc_author_type_str(sc_author_type t);
sc_status sc_author_type_parse(const char *s, sc_author_type *out) SC_MUST_USE;

/* Parse one event (JSON text, not necessarily NUL-terminated). Ids must be
 * decimal strings; version a positive integer (number or string). On error
 * returns SC_EINVAL and writes a reason naming the field into err.
 * On success *out owns heap memory: release with sc_event_clear(). */
sc_status sc_event_parse(const char *json, size_t len, sc_event *out, char *err,
                         size_t errlen) SC_MUST_USE;

/* Serialise an event in the schema's form (ids as strings). */
sc_status sc_event_to_json(const sc_event *ev, sc_buf *out) SC_MUST_USE;

/* Free what a message owns and zero it. NULL-safe. */
void sc_message_clear(sc_message *m);
void sc_event_clear(sc_event *ev);

/* Append the Elasticsearch document for m (one JSON object, no newline):
 * ids as numbers, content, derived has[] flags, link_hostnames (each host and
 * its parent domains down to two labels), attachment filenames/extensions,
 * embed types/providers, version, deleted, timestamp (ms). A deleted message
 * becomes a tombstone document {id, channel_id, guild_id?, author_id?, timestamp, version,
 * deleted:true}. */
sc_status sc_message_to_doc(const sc_message *m, sc_buf *out) SC_MUST_USE;

#endif
