/*
 * message.h - the chat message as this project sees it: the in-memory form
 * of the "message" of schemas/events/event.schema.json, of a PostgreSQL
 * messages row and the source of the Elasticsearch document.
 *
 * Not here: the queue event and its codec (event.h), the Elasticsearch
 * document (esdoc.h), storage (db.c), transport (queue.c), search (query.c).
 */
#ifndef SC_MESSAGE_H
#define SC_MESSAGE_H

#include "sc.h"

#include <stdint.h>

/* Limits applied when parsing events from the outside. */
#define SC_MAX_CONTENT 8192 /* bytes of content */
#define SC_MAX_MENTIONS 100
#define SC_MAX_ATTACHMENTS 20
#define SC_MAX_EMBEDS 20
#define SC_MAX_STICKERS 5

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
    uint64_t id; /* snowflake; also the Elasticsearch _id */
    uint64_t channel_id;
    uint64_t guild_id; /* 0 for a DM */
    uint64_t author_id;
    sc_author_type author_type;
    char *content;      /* owned, UTF-8, may be "" but never NULL after parse */
    uint64_t *mentions; /* owned array of user ids */
    size_t n_mentions;
    int mention_everyone;
    sc_attachment *attachments; /* owned array */
    size_t n_attachments;
    sc_embed *embeds; /* owned array */
    size_t n_embeds;
    uint64_t *sticker_ids; /* owned array */
    size_t n_stickers;
    int pinned;
    int64_t version; /* per-message, strictly increasing across events */
    int deleted;     /* tombstone */
} sc_message;

/* "user", "bot", "webhook"; "unknown" otherwise. Static storage. */
const char *sc_author_type_str(sc_author_type t);
sc_status sc_author_type_parse(const char *s, sc_author_type *out) SC_MUST_USE;

/* Free what a message owns and zero it. NULL-safe. */
void sc_message_clear(sc_message *m);
/* Clear m[0..n) and free the array itself (an array of messages as
 * sc_db_page_messages returns it). NULL-safe. */
void sc_messages_free(sc_message *m, size_t n);

#endif
