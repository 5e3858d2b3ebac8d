/*
 * fuzz_event.c - fuzz target for the queue event parser and the document
 * builder (libscour/event_parse.c, event_fast.c, esdoc.c), the code that
 * takes outside input first.
 *
 * Built with clang -fsanitize=fuzzer -DSC_LIBFUZZER it is a libFuzzer
 * target; without SC_LIBFUZZER it has its own main() that runs the target
 * over each file named on the command line, so gcc (or a plain replay of a
 * crash file) builds and runs it too. See tests/fuzz/README.md.
 *
 * Beyond "no crash, no leak, no UB", it checks invariants and aborts when
 * one breaks: on every input the fast parser and the cJSON path are run
 * apart (as fuzz_query does for the response parser): sc_event_parse and
 * the cJSON reference agree on the status and the reason, and when the fast
 * path accepts, the cJSON path accepts too with equal fields; a rejection
 * always carries a reason; an accepted input holds no NUL byte; an
 * accepted event serialises, re-parses to the same event and serialises to
 * the same bytes; its Elasticsearch document is valid JSON.
 */
#include "buf.h"
#include "replay.h"
#include "esdoc.h"
#include "event.h"
#include "sc.h"

#include <cJSON.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_event: invariant broken: %s\n", what);
        abort();
    }
}

static int str_eq(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Every field of two parsed events, deep. */
static int events_equal(const sc_event *x, const sc_event *y)
{
    const sc_message *a = &x->msg, *b = &y->msg;
    if (x->op != y->op || a->id != b->id || a->channel_id != b->channel_id ||
        a->guild_id != b->guild_id || a->author_id != b->author_id ||
        a->author_type != b->author_type || !str_eq(a->content, b->content) ||
        a->mention_everyone != b->mention_everyone || a->pinned != b->pinned ||
        a->version != b->version || a->deleted != b->deleted || a->n_mentions != b->n_mentions ||
        a->n_attachments != b->n_attachments || a->n_embeds != b->n_embeds ||
        a->n_stickers != b->n_stickers)
        return 0;
    for (size_t i = 0; i < a->n_mentions; i++)
        if (a->mentions[i] != b->mentions[i])
            return 0;
    for (size_t i = 0; i < a->n_stickers; i++)
        if (a->sticker_ids[i] != b->sticker_ids[i])
            return 0;
    for (size_t i = 0; i < a->n_attachments; i++)
        if (!str_eq(a->attachments[i].filename, b->attachments[i].filename) ||
            !str_eq(a->attachments[i].content_type, b->attachments[i].content_type) ||
            a->attachments[i].size != b->attachments[i].size)
            return 0;
    for (size_t i = 0; i < a->n_embeds; i++)
        if (!str_eq(a->embeds[i].type, b->embeds[i].type) ||
            !str_eq(a->embeds[i].provider, b->embeds[i].provider) ||
            !str_eq(a->embeds[i].url, b->embeds[i].url))
            return 0;
    return 1;
}

/* The fast parser against the cJSON path, on the same bytes. */
static void compare_paths(const uint8_t *data, size_t size, sc_status st, const char *err,
                          const sc_event *ev)
{
    sc_event fast, ref;
    char err2[SC_ERRLEN] = "";
    int f = sc_event_parse_fast((const char *)data, size, &fast);
    sc_status st2 = sc_event_parse_cjson((const char *)data, size, &ref, err2, sizeof(err2));
    check(st == st2 && strcmp(err, err2) == 0,
          "sc_event_parse and the cJSON path agree on the status and the reason");
    if (f == 0)
        check(st2 == SC_OK && events_equal(&fast, &ref),
              "what the fast path accepts the cJSON path accepts, with equal fields");
    if (st == SC_OK)
        check(events_equal(ev, &ref), "sc_event_parse and the cJSON path give equal fields");
    sc_event_clear(&fast);
    sc_event_clear(&ref);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sc_event ev, again;
    sc_buf json, json2, doc;
    char err[SC_ERRLEN] = "";
    cJSON *parsed;
    sc_status st;

    st = sc_event_parse((const char *)data, size, &ev, err, sizeof(err));
    compare_paths(data, size, st, err, &ev);
    if (st != SC_OK) {
        check(st == SC_EINVAL || st == SC_ENOMEM, "parse status");
        check(err[0] != '\0', "rejection without a reason");
        sc_event_clear(&ev); /* must be safe after a failed parse */
        return 0;
    }

    check(size == 0 || memchr(data, '\0', size) == NULL, "an accepted event holds no NUL byte");
    sc_buf_init(&json, 0);
    sc_buf_init(&json2, 0);
    sc_buf_init(&doc, 0);

    check(sc_event_to_json(&ev, &json) == SC_OK, "serialise");
    check(sc_event_parse(json.data, json.len, &again, err, sizeof(err)) == SC_OK,
          "re-parse of own output");
    check(again.op == ev.op && again.msg.id == ev.msg.id && again.msg.version == ev.msg.version &&
              again.msg.deleted == ev.msg.deleted,
          "round trip keeps identity");
    check(sc_event_to_json(&again, &json2) == SC_OK, "serialise again");
    check(json.len == json2.len && memcmp(json.data, json2.data, json.len) == 0,
          "serialisation is a fixed point");

    check(sc_message_to_doc(&ev.msg, &doc) == SC_OK, "build document");
    parsed = cJSON_ParseWithLength(doc.data, doc.len);
    check(parsed != NULL && cJSON_IsObject(parsed), "document is a JSON object");
    cJSON_Delete(parsed);

    sc_buf_free(&json);
    sc_buf_free(&json2);
    sc_buf_free(&doc);
    sc_event_clear(&again);
    sc_event_clear(&ev);
    return 0;
}

#ifndef SC_LIBFUZZER
int main(int argc, char **argv) { return sc_fuzz_replay("fuzz_event", argc, argv); }
#endif
