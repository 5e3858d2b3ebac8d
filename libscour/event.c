/*
 * event.c - the queue event (see event.h): the op names, clearing, and the
 * encoder that writes an event in the schema's form
 * (schemas/events/event.schema.json), for the publishers and the tools.
 *
 * Not here: parsing (event_parse.c, the gate, and event_fast.c, its fast
 * path), the message type (message.c), the Elasticsearch document (esdoc.c),
 * transport (queue.c). No I/O, no global state; every function is
 * thread-safe.
 */
#include "event_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* names                                                               */

const char *sc_op_str(sc_op op)
{
    switch (op) {
    case SC_OP_CREATE:
        return "create";
    case SC_OP_UPDATE:
        return "update";
    case SC_OP_DELETE:
        return "delete";
    }
    return "unknown";
}

/* ------------------------------------------------------------------ */
/* clearing                                                            */

void sc_event_clear(sc_event *ev)
{
    if (ev == NULL)
        return;
    sc_message_clear(&ev->msg);
    memset(ev, 0, sizeof(*ev));
}

/* ------------------------------------------------------------------ */
/* serialising                                                         */

/* Chain appends; jump to out on the first failure. */
#define PUT(expr)                   \
    do {                            \
        if ((st = (expr)) != SC_OK) \
            goto out;               \
    } while (0)

static sc_status put_id_str(sc_buf *b, const char *key, uint64_t v)
{
    return sc_buf_printf(b, ",\"%s\":\"%" PRIu64 "\"", key, v);
}

static const char *nz(const char *s) { return s ? s : ""; }

sc_status sc_event_to_json(const sc_event *ev, sc_buf *out)
{
    const sc_message *m;
    size_t start, i;
    sc_status st = SC_OK;
    if (ev == NULL || out == NULL)
        return SC_EINVAL;
    if (ev->op != SC_OP_CREATE && ev->op != SC_OP_UPDATE && ev->op != SC_OP_DELETE)
        return SC_EINVAL;
    m = &ev->msg;
    start = out->len;
    PUT(sc_buf_printf(out, "{\"op\":\"%s\",", sc_op_str(ev->op)));
    /* Versions a double cannot carry exactly travel as strings. */
    if (m->version <= MAX_EXACT_INT)
        PUT(sc_buf_printf(out, "\"version\":%" PRId64, m->version));
    else
        PUT(sc_buf_printf(out, "\"version\":\"%" PRId64 "\"", m->version));
    PUT(sc_buf_printf(out, ",\"message\":{\"id\":\"%" PRIu64 "\"", m->id));
    PUT(put_id_str(out, "channel_id", m->channel_id));
    if (m->guild_id != 0)
        PUT(put_id_str(out, "guild_id", m->guild_id));
    if (m->author_id != 0)
        PUT(put_id_str(out, "author_id", m->author_id));
    if (ev->op != SC_OP_DELETE) {
        PUT(sc_buf_printf(
            out, ",\"author_type\":\"%s\",\"content\":", sc_author_type_str(m->author_type)));
        PUT(sc_buf_json_str(out, nz(m->content)));
        PUT(sc_buf_puts(out, ",\"mentions\":["));
        for (i = 0; i < m->n_mentions; i++)
            PUT(sc_buf_printf(out, "%s\"%" PRIu64 "\"", i ? "," : "", m->mentions[i]));
        PUT(sc_buf_printf(out, "],\"mention_everyone\":%s,\"attachments\":[",
                          m->mention_everyone ? "true" : "false"));
        for (i = 0; i < m->n_attachments; i++) {
            const sc_attachment *a = &m->attachments[i];
            PUT(sc_buf_puts(out, i ? ",{\"filename\":" : "{\"filename\":"));
            PUT(sc_buf_json_str(out, nz(a->filename)));
            if (a->content_type != NULL) {
                PUT(sc_buf_puts(out, ",\"content_type\":"));
                PUT(sc_buf_json_str(out, a->content_type));
            }
            PUT(sc_buf_printf(out, ",\"size\":%" PRIu64 "}", a->size));
        }
        PUT(sc_buf_puts(out, "],\"embeds\":["));
        for (i = 0; i < m->n_embeds; i++) {
            const sc_embed *e = &m->embeds[i];
            const char *sep = "";
            PUT(sc_buf_puts(out, i ? ",{" : "{"));
            if (e->type != NULL) {
                PUT(sc_buf_puts(out, "\"type\":"));
                PUT(sc_buf_json_str(out, e->type));
                sep = ",";
            }
            if (e->provider != NULL) {
                PUT(sc_buf_printf(out, "%s\"provider\":", sep));
                PUT(sc_buf_json_str(out, e->provider));
                sep = ",";
            }
            if (e->url != NULL) {
                PUT(sc_buf_printf(out, "%s\"url\":", sep));
                PUT(sc_buf_json_str(out, e->url));
            }
            PUT(sc_buf_puts(out, "}"));
        }
        PUT(sc_buf_puts(out, "],\"sticker_ids\":["));
        for (i = 0; i < m->n_stickers; i++)
            PUT(sc_buf_printf(out, "%s\"%" PRIu64 "\"", i ? "," : "", m->sticker_ids[i]));
        PUT(sc_buf_printf(out, "],\"pinned\":%s", m->pinned ? "true" : "false"));
    }
    PUT(sc_buf_puts(out, "}}"));
out:
    if (st != SC_OK && out->data != NULL) {
        out->len = start;
        out->data[start] = '\0';
    }
    return st;
}
