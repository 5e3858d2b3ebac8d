/*
 * message.c - the chat message (message.h): names of its enums and freeing
 * what it owns. Parsing the queue event that carries a message is event_parse.c;
 * the Elasticsearch document built from it is esdoc.c.
 * No I/O, no global state; every function is thread-safe.
 */
#include "message.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* names                                                               */

const char *sc_author_type_str(sc_author_type t)
{
    switch (t) {
    case SC_AUTHOR_USER:
        return "user";
    case SC_AUTHOR_BOT:
        return "bot";
    case SC_AUTHOR_WEBHOOK:
        return "webhook";
    }
    return "unknown";
}

sc_status sc_author_type_parse(const char *s, sc_author_type *out)
{
    if (s == NULL || out == NULL)
        return SC_EINVAL;
    if (strcmp(s, "user") == 0)
        *out = SC_AUTHOR_USER;
    else if (strcmp(s, "bot") == 0)
        *out = SC_AUTHOR_BOT;
    else if (strcmp(s, "webhook") == 0)
        *out = SC_AUTHOR_WEBHOOK;
    else
        return SC_EINVAL;
    return SC_OK;
}

/* ------------------------------------------------------------------ */
/* clearing                                                            */

void sc_message_clear(sc_message *m)
{
    size_t i;
    if (m == NULL)
        return;
    free(m->content);
    free(m->mentions);
    if (m->attachments != NULL) {
        for (i = 0; i < m->n_attachments; i++) {
            free(m->attachments[i].filename);
            free(m->attachments[i].content_type);
        }
        free(m->attachments);
    }
    if (m->embeds != NULL) {
        for (i = 0; i < m->n_embeds; i++) {
            free(m->embeds[i].type);
            free(m->embeds[i].provider);
            free(m->embeds[i].url);
        }
        free(m->embeds);
    }
    free(m->sticker_ids);
    memset(m, 0, sizeof(*m));
}

void sc_messages_free(sc_message *m, size_t n)
{
    size_t i;
    if (m == NULL)
        return;
    for (i = 0; i < n; i++)
        sc_message_clear(&m[i]);
    free(m);
}
