/*
 * test_message.c - unit tests for event.c, event_parse.c and esdoc.c: queue event parsing (every
 * rejection class names its field), event serialisation round trips, the
 * Elasticsearch document (has[] flags, link_hostnames, extensions,
 * tombstones, escaping), snowflake time, and a fixed list of hostile inputs
 * that must neither crash nor leak (run under ASan/UBSan).
 * Links only message.c, the event files, esdoc.c and the common basics; needs no servers.
 */
#include "testlib.h"

#include <cJSON.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "digest.h"
#include "esdoc.h"
#include "event.h"
#include "sc.h"

/* A create event using every field, ids above 2^53, and an unknown field. */
static const char *FULL_CREATE =
    "{\"op\":\"create\",\"version\":1,\"trace\":\"abc\",\"message\":{"
    "\"id\":\"1234567890123456789\",\"channel_id\":\"987654321098765432\","
    "\"guild_id\":\"111111111111111111\",\"author_id\":\"9007199254740993\","
    "\"author_type\":\"bot\",\"content\":\"hello https://Foo.Bar.com/x\","
    "\"mentions\":[\"9007199254740993\",\"2\"],\"mention_everyone\":true,"
    "\"attachments\":[{\"filename\":\"Cat.PNG\",\"content_type\":\"image/png\",\"size\":1234},"
    "{\"filename\":\"notes\",\"size\":0}],"
    "\"embeds\":[{\"type\":\"video\",\"provider\":\"YouTube\","
    "\"url\":\"https://www.YouTube.com/watch?v=1\"},{\"type\":\"rich\"}],"
    "\"sticker_ids\":[\"5\"],\"pinned\":true,\"future_field\":{\"x\":[1,2,{\"y\":null}]}}}";

/* ------------------------------------------------------------------ */
/* helpers                                                             */

/* Parse text that is not NUL-terminated (exact-size heap copy, so ASan
 * catches any read past len). */
static sc_status parse_exact(const char *json, size_t len, sc_event *ev, char *err, size_t errlen)
{
    char *copy = malloc(len ? len : 1);
    sc_status st;
    assert_non_null(copy);
    if (len)
        memcpy(copy, json, len);
    st = sc_event_parse(copy, len, ev, err, errlen);
    free(copy);
    return st;
}

static void parse_ok(const char *json, sc_event *ev)
{
    char err[SC_ERRLEN] = "";
    sc_status st = parse_exact(json, strlen(json), ev, err, sizeof(err));
    if (st != SC_OK)
        fail_msg("parse failed: %s (input %s)", err, json);
}

/* The parse must fail with SC_EINVAL and an error containing want. */
static void expect_err(const char *json, const char *want)
{
    sc_event ev;
    char err[SC_ERRLEN] = "";
    sc_status st = parse_exact(json, strlen(json), &ev, err, sizeof(err));
    if (st != SC_EINVAL)
        fail_msg("expected SC_EINVAL for %s, got %d", json, (int)st);
    if (strstr(err, want) == NULL)
        fail_msg("error \"%s\" does not mention \"%s\" (input %s)", err, want, json);
    /* a failed parse leaves *out zeroed and safe to clear */
    assert_null(ev.msg.content);
    assert_int_equal(ev.msg.n_attachments, 0);
    sc_event_clear(&ev);
}

/* A create event around a message body fragment. */
static char *wrap(const char *body)
{
    sc_buf b;
    sc_buf_init(&b, 0);
    assert_int_equal(sc_buf_printf(&b, "{\"op\":\"create\",\"version\":1,\"message\":{%s}}", body),
                     SC_OK);
    return sc_buf_steal(&b);
}

static const char *BASE = "\"id\":\"10\",\"channel_id\":\"20\",\"author_id\":\"30\"";

static void expect_body_err(const char *body_rest, const char *want)
{
    sc_buf b;
    char *j;
    sc_buf_init(&b, 0);
    assert_int_equal(sc_buf_printf(&b, "%s,%s", BASE, body_rest), SC_OK);
    j = wrap(b.data);
    expect_err(j, want);
    free(j);
    sc_buf_free(&b);
}

/* Build the document for m and parse it back (fails the test when it is not JSON). */
static cJSON *doc_of(const sc_message *m, char **text)
{
    sc_buf b;
    cJSON *d;
    sc_buf_init(&b, 0);
    assert_int_equal(sc_message_to_doc(m, &b), SC_OK);
    assert_non_null(b.data);
    d = cJSON_Parse(b.data);
    if (d == NULL)
        fail_msg("document is not JSON: %s", b.data);
    if (text)
        *text = sc_buf_steal(&b);
    sc_buf_free(&b);
    return d;
}

/* Document for a create event whose message body is BASE plus rest. */
static cJSON *doc_from_body(const char *rest, char **text)
{
    sc_buf b;
    sc_event ev;
    char *j;
    cJSON *d;
    sc_buf_init(&b, 0);
    assert_int_equal(sc_buf_printf(&b, "%s,%s", BASE, rest), SC_OK);
    j = wrap(b.data);
    parse_ok(j, &ev);
    d = doc_of(&ev.msg, text);
    sc_event_clear(&ev);
    free(j);
    sc_buf_free(&b);
    return d;
}

static int arr_has(const cJSON *doc, const char *key, const char *val)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(doc, key), *el;
    cJSON_ArrayForEach(el, a)
    {
        if (cJSON_IsString(el) && strcmp(el->valuestring, val) == 0)
            return 1;
    }
    return 0;
}

static int arr_len(const cJSON *doc, const char *key)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(doc, key);
    assert_true(cJSON_IsArray(a));
    return cJSON_GetArraySize(a);
}

static void assert_msg_equal(const sc_message *a, const sc_message *b)
{
    size_t i;
    assert_true(a->id == b->id);
    assert_true(a->channel_id == b->channel_id);
    assert_true(a->guild_id == b->guild_id);
    assert_true(a->author_id == b->author_id);
    assert_int_equal(a->author_type, b->author_type);
    assert_string_equal(a->content, b->content);
    assert_int_equal(a->n_mentions, b->n_mentions);
    for (i = 0; i < a->n_mentions; i++)
        assert_true(a->mentions[i] == b->mentions[i]);
    assert_int_equal(a->mention_everyone, b->mention_everyone);
    assert_int_equal(a->n_attachments, b->n_attachments);
    for (i = 0; i < a->n_attachments; i++) {
        assert_string_equal(a->attachments[i].filename, b->attachments[i].filename);
        if (a->attachments[i].content_type == NULL)
            assert_null(b->attachments[i].content_type);
        else
            assert_string_equal(a->attachments[i].content_type, b->attachments[i].content_type);
        assert_true(a->attachments[i].size == b->attachments[i].size);
    }
    assert_int_equal(a->n_embeds, b->n_embeds);
    for (i = 0; i < a->n_embeds; i++) {
        const char *x[3] = {a->embeds[i].type, a->embeds[i].provider, a->embeds[i].url};
        const char *y[3] = {b->embeds[i].type, b->embeds[i].provider, b->embeds[i].url};
        int k;
        for (k = 0; k < 3; k++) {
            if (x[k] == NULL)
                assert_null(y[k]);
            else
                assert_string_equal(x[k], y[k]);
        }
    }
    assert_int_equal(a->n_stickers, b->n_stickers);
    for (i = 0; i < a->n_stickers; i++)
        assert_true(a->sticker_ids[i] == b->sticker_ids[i]);
    assert_int_equal(a->pinned, b->pinned);
    assert_true(a->version == b->version);
    assert_int_equal(a->deleted, b->deleted);
}

static void round_trip(const char *json)
{
    sc_event a, b;
    sc_buf out;
    char err[SC_ERRLEN];
    parse_ok(json, &a);
    sc_buf_init(&out, 0);
    assert_int_equal(sc_event_to_json(&a, &out), SC_OK);
    if (sc_event_parse(out.data, out.len, &b, err, sizeof(err)) != SC_OK)
        fail_msg("re-parse of %s failed: %s", out.data, err);
    assert_int_equal(a.op, b.op);
    assert_msg_equal(&a.msg, &b.msg);
    sc_event_clear(&a);
    sc_event_clear(&b);
    sc_buf_free(&out);
}

/* ------------------------------------------------------------------ */
/* parsing                                                             */

static void test_parse_full_create(void **state)
{
    sc_event ev;
    (void)state;
    parse_ok(FULL_CREATE, &ev);
    assert_int_equal(ev.op, SC_OP_CREATE);
    assert_true(ev.msg.id == 1234567890123456789ULL);
    assert_true(ev.msg.channel_id == 987654321098765432ULL);
    assert_true(ev.msg.guild_id == 111111111111111111ULL);
    assert_true(ev.msg.author_id == 9007199254740993ULL); /* 2^53 + 1: not a double */
    assert_int_equal(ev.msg.author_type, SC_AUTHOR_BOT);
    assert_string_equal(ev.msg.content, "hello https://Foo.Bar.com/x");
    assert_int_equal(ev.msg.n_mentions, 2);
    assert_true(ev.msg.mentions[0] == 9007199254740993ULL);
    assert_true(ev.msg.mentions[1] == 2);
    assert_true(ev.msg.mention_everyone);
    assert_int_equal(ev.msg.n_attachments, 2);
    assert_string_equal(ev.msg.attachments[0].filename, "Cat.PNG");
    assert_string_equal(ev.msg.attachments[0].content_type, "image/png");
    assert_true(ev.msg.attachments[0].size == 1234);
    assert_null(ev.msg.attachments[1].content_type);
    assert_int_equal(ev.msg.n_embeds, 2);
    assert_string_equal(ev.msg.embeds[0].provider, "YouTube");
    assert_null(ev.msg.embeds[1].url);
    assert_int_equal(ev.msg.n_stickers, 1);
    assert_true(ev.msg.sticker_ids[0] == 5);
    assert_true(ev.msg.pinned);
    assert_true(ev.msg.version == 1);
    assert_false(ev.msg.deleted);
    sc_event_clear(&ev);
    /* cleared means zeroed; clearing twice is harmless */
    assert_null(ev.msg.content);
    assert_int_equal(ev.msg.n_mentions, 0);
    sc_event_clear(&ev);
}

static void test_parse_minimal_update_and_defaults(void **state)
{
    sc_event ev;
    (void)state;
    parse_ok("{\"op\":\"update\",\"version\":\"42\",\"message\":{\"id\":\"10\","
             "\"channel_id\":\"20\",\"guild_id\":null,\"author_id\":\"30\",\"content\":\"\","
             "\"embeds\":null}}",
             &ev);
    assert_int_equal(ev.op, SC_OP_UPDATE);
    assert_true(ev.msg.version == 42); /* version as a decimal string */
    assert_true(ev.msg.guild_id == 0); /* DM */
    assert_int_equal(ev.msg.author_type, SC_AUTHOR_USER);
    assert_non_null(ev.msg.content);
    assert_string_equal(ev.msg.content, "");
    assert_int_equal(ev.msg.n_mentions + ev.msg.n_attachments + ev.msg.n_embeds + ev.msg.n_stickers,
                     0);
    assert_false(ev.msg.pinned);
    assert_false(ev.msg.mention_everyone);
    sc_event_clear(&ev);

    /* largest version, only expressible as a string */
    parse_ok("{\"op\":\"update\",\"version\":\"9223372036854775807\",\"message\":{\"id\":\"10\","
             "\"channel_id\":\"20\",\"author_id\":\"30\",\"content\":\"x\"}}",
             &ev);
    assert_true(ev.msg.version == INT64_MAX);
    sc_event_clear(&ev);

    /* not NUL-terminated, trailing whitespace allowed */
    {
        const char *j = "{\"op\":\"update\",\"version\":7,\"message\":{\"id\":\"10\","
                        "\"channel_id\":\"20\",\"author_id\":\"30\",\"content\":\"x\"}}  \n";
        char err[SC_ERRLEN];
        assert_int_equal(parse_exact(j, strlen(j), &ev, err, sizeof(err)), SC_OK);
        assert_true(ev.msg.version == 7);
        sc_event_clear(&ev);
        /* a length that cuts the text short is truncated JSON */
        assert_int_equal(parse_exact(j, 30, &ev, err, sizeof(err)), SC_EINVAL);
        assert_non_null(strstr(err, "invalid JSON"));
    }
}

static void test_parse_delete(void **state)
{
    sc_event ev;
    (void)state;
    parse_ok("{\"op\":\"delete\",\"version\":3,\"message\":{\"id\":\"1234567890123456789\","
             "\"channel_id\":\"20\",\"guild_id\":\"40\"}}",
             &ev);
    assert_int_equal(ev.op, SC_OP_DELETE);
    assert_true(ev.msg.deleted);
    assert_true(ev.msg.id == 1234567890123456789ULL);
    assert_true(ev.msg.guild_id == 40);
    assert_true(ev.msg.author_id == 0);
    assert_true(ev.msg.version == 3);
    assert_non_null(ev.msg.content);
    sc_event_clear(&ev);

    /* other fields of a delete are ignored, even ill-typed ones */
    parse_ok("{\"op\":\"delete\",\"version\":4,\"message\":{\"id\":\"10\",\"channel_id\":\"20\","
             "\"content\":5,\"mentions\":\"x\"}}",
             &ev);
    assert_true(ev.msg.deleted);
    sc_event_clear(&ev);

    expect_err("{\"op\":\"delete\",\"version\":3,\"message\":{\"id\":\"10\"}}",
               "message.channel_id: required");
    expect_err("{\"op\":\"delete\",\"version\":3,\"message\":{\"channel_id\":\"10\"}}",
               "message.id: required");
}

static void test_parse_rejects_envelope(void **state)
{
    (void)state;
    expect_err("[1,2]", "event: expected a JSON object");
    expect_err("{\"op\":\"create\"", "event: invalid JSON");
    expect_err("{\"version\":1,\"message\":{}}", "op: required");
    expect_err("{\"op\":1,\"version\":1,\"message\":{}}", "op: expected a string");
    expect_err("{\"op\":\"upsert\",\"version\":1,\"message\":{}}", "op: unknown value");
    expect_err("{\"op\":\"CREATE\",\"version\":1,\"message\":{}}", "op: unknown value");
    expect_err("{\"op\":\"create\",\"message\":{}}", "version: required");
    expect_err("{\"op\":\"create\",\"version\":0,\"message\":{}}", "version:");
    expect_err("{\"op\":\"create\",\"version\":-1,\"message\":{}}", "version:");
    expect_err("{\"op\":\"create\",\"version\":1.5,\"message\":{}}", "version:");
    expect_err("{\"op\":\"create\",\"version\":1e300,\"message\":{}}", "version:");
    /* 2^53 as a number may be a rounded 2^53+1: only exact numbers are taken */
    expect_err("{\"op\":\"create\",\"version\":9007199254740993,\"message\":{}}", "decimal string");
    expect_err("{\"op\":\"create\",\"version\":\"0\",\"message\":{}}", "version: must be >= 1");
    expect_err("{\"op\":\"create\",\"version\":\"1x\",\"message\":{}}", "version:");
    expect_err("{\"op\":\"create\",\"version\":\"-3\",\"message\":{}}", "version:");
    expect_err("{\"op\":\"create\",\"version\":\"9223372036854775808\",\"message\":{}}",
               "version:");
    expect_err("{\"op\":\"create\",\"version\":true,\"message\":{}}", "version:");
    expect_err("{\"op\":\"create\",\"version\":1}", "message: required");
    expect_err("{\"op\":\"create\",\"version\":1,\"message\":[]}", "message: expected an object");
    expect_err("{\"op\":\"create\",\"version\":1,\"message\":{}} x", "event: trailing data");
}

static void test_parse_rejects_ids(void **state)
{
    char *j;
    (void)state;
    j = wrap(
        "\"id\":\"10\",\"channel_id\":987654321098765432,\"author_id\":\"30\",\"content\":\"\"");
    expect_err(j, "message.channel_id: expected a decimal string, got a number");
    expect_err(j, "precision");
    free(j);
    j = wrap("\"channel_id\":\"20\",\"author_id\":\"30\",\"content\":\"\"");
    expect_err(j, "message.id: required field is missing");
    free(j);
    j = wrap("\"id\":\"10\",\"channel_id\":\"20\",\"content\":\"\"");
    expect_err(j, "message.author_id: required field is missing");
    free(j);
    j = wrap("\"id\":null,\"channel_id\":\"20\",\"author_id\":\"30\",\"content\":\"\"");
    expect_err(j, "message.id: required field is missing");
    free(j);
    j = wrap("\"id\":\"0\",\"channel_id\":\"20\",\"author_id\":\"30\",\"content\":\"\"");
    expect_err(j, "message.id: id 0");
    free(j);
    j = wrap("\"id\":\"12a\",\"channel_id\":\"20\",\"author_id\":\"30\",\"content\":\"\"");
    expect_err(j, "message.id: expected a decimal string");
    free(j);
    j = wrap("\"id\":\"-5\",\"channel_id\":\"20\",\"author_id\":\"30\",\"content\":\"\"");
    expect_err(j, "message.id: expected a decimal string");
    free(j);
    j = wrap("\"id\":\" 5\",\"channel_id\":\"20\",\"author_id\":\"30\",\"content\":\"\"");
    expect_err(j, "message.id: expected a decimal string");
    free(j);
    j = wrap("\"id\":\"\",\"channel_id\":\"20\",\"author_id\":\"30\",\"content\":\"\"");
    expect_err(j, "message.id: expected a decimal string");
    free(j);
    j = wrap("\"id\":\"05\",\"channel_id\":\"20\",\"author_id\":\"30\",\"content\":\"\"");
    expect_err(j, "message.id: expected a decimal string without leading zeros");
    free(j);
    j = wrap("\"id\":\"99999999999999999999\",\"channel_id\":\"20\",\"author_id\":\"30\","
             "\"content\":\"\"");
    expect_err(j, "message.id: id out of range");
    free(j);
    j = wrap("\"id\":\"9223372036854775808\",\"channel_id\":\"20\",\"author_id\":\"30\","
             "\"content\":\"\"");
    expect_err(j, "message.id: id out of range");
    free(j);
    j = wrap("\"id\":\"10\",\"channel_id\":\"20\",\"author_id\":\"30\",\"guild_id\":true,"
             "\"content\":\"\"");
    expect_err(j, "message.guild_id: expected a decimal string");
    free(j);
    j = wrap("\"id\":\"10\",\"channel_id\":\"20\",\"author_id\":\"30\",\"guild_id\":\"0\","
             "\"content\":\"\"");
    expect_err(j, "message.guild_id: id 0");
    free(j);
}

static void test_parse_rejects_fields_and_limits(void **state)
{
    sc_buf b;
    size_t i;
    (void)state;
    expect_body_err("\"author_type\":\"admin\",\"content\":\"\"", "message.author_type: unknown");
    expect_body_err("\"author_type\":1,\"content\":\"\"", "message.author_type: expected");
    expect_body_err("\"pinned\":false", "message.content: required");
    expect_body_err("\"content\":7", "message.content: expected a string");
    expect_body_err("\"content\":\"a\\u00e9\xff\"", "message.content: not valid UTF-8");
    expect_body_err("\"content\":\"\xc0\xaf\"", "message.content: not valid UTF-8"); /* overlong */
    expect_body_err("\"content\":\"\xed\xa0\x80\"",
                    "message.content: not valid UTF-8"); /* surrogate */
    expect_body_err("\"content\":\"\",\"mention_everyone\":\"yes\"",
                    "message.mention_everyone: expected true or false");
    expect_body_err("\"content\":\"\",\"pinned\":1", "message.pinned: expected true or false");
    expect_body_err("\"content\":\"\",\"mentions\":\"1\"", "message.mentions: expected an array");
    expect_body_err("\"content\":\"\",\"mentions\":[\"1\",\"2\",3]",
                    "message.mentions[2]: expected a decimal string, got a number");
    expect_body_err("\"content\":\"\",\"sticker_ids\":[\"x\"]", "message.sticker_ids[0]:");
    expect_body_err("\"content\":\"\",\"attachments\":{}",
                    "message.attachments: expected an array");
    expect_body_err("\"content\":\"\",\"attachments\":[5]",
                    "message.attachments[0]: expected an object");
    expect_body_err("\"content\":\"\",\"attachments\":[{\"size\":1}]",
                    "message.attachments[0].filename: required");
    expect_body_err("\"content\":\"\",\"attachments\":[{\"filename\":\"a\"},{\"filename\":\"b\","
                    "\"size\":-1}]",
                    "message.attachments[1].size:");
    expect_body_err("\"content\":\"\",\"attachments\":[{\"filename\":\"a\",\"content_type\":3}]",
                    "message.attachments[0].content_type: expected a string");
    expect_body_err("\"content\":\"\",\"embeds\":[{},{\"url\":5}]",
                    "message.embeds[1].url: expected a string");

    /* content: exactly the limit passes, one byte more fails */
    sc_buf_init(&b, 0);
    assert_int_equal(sc_buf_puts(&b, "\"content\":\""), SC_OK);
    for (i = 0; i < SC_MAX_CONTENT; i++)
        assert_int_equal(sc_buf_puts(&b, "a"), SC_OK);
    assert_int_equal(sc_buf_puts(&b, "\""), SC_OK);
    {
        sc_buf full;
        char *j;
        sc_event ev;
        sc_buf_init(&full, 0);
        assert_int_equal(sc_buf_printf(&full, "%s,%s", BASE, b.data), SC_OK);
        j = wrap(full.data);
        parse_ok(j, &ev);
        assert_int_equal(strlen(ev.msg.content), SC_MAX_CONTENT);
        sc_event_clear(&ev);
        free(j);
        sc_buf_free(&full);
    }
    b.len--; /* drop the closing quote, add one byte */
    assert_int_equal(sc_buf_puts(&b, "b\""), SC_OK);
    expect_body_err(b.data, "message.content: longer than 8192 bytes");
    /* 8192 bytes counted in bytes, not characters: 2731 x 3-byte CJK = 8193 */
    sc_buf_reset(&b);
    assert_int_equal(sc_buf_puts(&b, "\"content\":\""), SC_OK);
    for (i = 0; i < 2731; i++)
        assert_int_equal(sc_buf_puts(&b, "\xe6\xbc\xa2"), SC_OK);
    assert_int_equal(sc_buf_puts(&b, "\""), SC_OK);
    expect_body_err(b.data, "message.content: longer than");

    /* list limits */
    {
        struct {
            const char *key;
            size_t max;
            const char *item;
        } lim[] = {
            {"mentions", SC_MAX_MENTIONS, "\"1\""},
            {"sticker_ids", SC_MAX_STICKERS, "\"1\""},
            {"attachments", SC_MAX_ATTACHMENTS, "{\"filename\":\"a.png\"}"},
            {"embeds", SC_MAX_EMBEDS, "{\"type\":\"rich\"}"},
        };
        size_t l;
        for (l = 0; l < sizeof(lim) / sizeof(lim[0]); l++) {
            char want[64];
            sc_buf_reset(&b);
            assert_int_equal(sc_buf_printf(&b, "\"content\":\"\",\"%s\":[", lim[l].key), SC_OK);
            for (i = 0; i <= lim[l].max; i++)
                assert_int_equal(sc_buf_printf(&b, "%s%s", i ? "," : "", lim[l].item), SC_OK);
            assert_int_equal(sc_buf_puts(&b, "]"), SC_OK);
            snprintf(want, sizeof(want), "message.%s: more than %zu items", lim[l].key, lim[l].max);
            expect_body_err(b.data, want);
            /* exactly at the limit is accepted */
            {
                char *p = strrchr(b.data, ','), *j;
                sc_buf full;
                sc_event ev;
                *p = ']';
                p[1] = '\0';
                sc_buf_init(&full, 0);
                assert_int_equal(sc_buf_printf(&full, "%s,%s", BASE, b.data), SC_OK);
                j = wrap(full.data);
                parse_ok(j, &ev);
                sc_event_clear(&ev);
                free(j);
                sc_buf_free(&full);
            }
        }
    }
    sc_buf_free(&b);
}

/* Reject with SC_EINVAL and a reason containing want: the text of n bytes
 * (it may hold NUL bytes), through the public parser and both paths. */
static void expect_err_n(const char *json, size_t n, const char *want)
{
    sc_event ev;
    char err[SC_ERRLEN] = "";
    char *copy = malloc(n);
    assert_non_null(copy);
    memcpy(copy, json, n);
    assert_int_equal(sc_event_parse_fast(copy, n, &ev), -1); /* never taken fast */
    sc_event_clear(&ev);
    if (sc_event_parse_cjson(copy, n, &ev, err, sizeof err) != SC_EINVAL ||
        strstr(err, want) == NULL)
        fail_msg("cJSON path: \"%s\" does not mention \"%s\"", err, want);
    err[0] = '\0';
    if (sc_event_parse(copy, n, &ev, err, sizeof err) != SC_EINVAL || strstr(err, want) == NULL)
        fail_msg("parse: \"%s\" does not mention \"%s\"", err, want);
    assert_null(ev.msg.content);
    free(copy);
}

/* NUL bytes: the content would be cut at one (C strings), and the schema
 * allows only whitespace after the value, so an event holding a NUL -
 * raw after the value, raw inside a string, or \u0000 in a string - is
 * refused with its reason (the indexer dead-letters it). */
static void test_parse_rejects_nul(void **state)
{
    /* the common shape (fast path) and one with a mention (cJSON path) */
    static const char fast[] = "{\"op\":\"create\",\"version\":1,\"message\":{\"id\":\"10\","
                               "\"channel_id\":\"20\",\"author_id\":\"30\",\"content\":\"hi\"}}";
    static const char slow[] = "{\"op\":\"create\",\"version\":1,\"message\":{\"id\":\"10\","
                               "\"channel_id\":\"20\",\"author_id\":\"30\",\"content\":\"hi\","
                               "\"mentions\":[\"5\"]}}";
    const char *bodies[] = {fast, slow};
    char buf[512];
    sc_event ev;
    (void)state;
    for (size_t b = 0; b < 2; b++) {
        size_t n = strlen(bodies[b]);
        /* accepted as is, and with trailing whitespace */
        parse_ok(bodies[b], &ev);
        sc_event_clear(&ev);
        /* {valid}\0garbage, {valid}\0 and {valid} \0 */
        memcpy(buf, bodies[b], n);
        memcpy(buf + n, "\0garbage", 8);
        expect_err_n(buf, n + 8, "trailing data after the JSON value");
        expect_err_n(buf, n + 8, "(a NUL byte)");
        expect_err_n(buf, n + 1, "(a NUL byte)");
        buf[n] = ' ';
        buf[n + 1] = '\0';
        expect_err_n(buf, n + 2, "trailing data after the JSON value at byte");
    }
    /* \u0000 inside the content, alone, in the middle, after other escapes */
    expect_err("{\"op\":\"create\",\"version\":1,\"message\":{\"id\":\"10\",\"channel_id\":\"20\","
               "\"author_id\":\"30\",\"content\":\"abc\\u0000def\"}}",
               "a string holds \\u0000 (a NUL character) at byte");
    expect_err("{\"op\":\"create\",\"version\":1,\"message\":{\"id\":\"10\",\"channel_id\":\"20\","
               "\"author_id\":\"30\",\"content\":\"\\n\\\"\\u0000\"}}",
               "\\u0000");
    /* ... in any string: an attachment's filename, a key, an unknown field */
    expect_err("{\"op\":\"create\",\"version\":1,\"message\":{\"id\":\"10\",\"channel_id\":\"20\","
               "\"author_id\":\"30\",\"content\":\"x\",\"attachments\":[{\"filename\":\"a\\u0000."
               "png\"}]}}",
               "\\u0000");
    expect_err("{\"op\":\"create\",\"version\":1,\"x\\u0000\":1,\"message\":{\"id\":\"10\","
               "\"channel_id\":\"20\",\"author_id\":\"30\",\"content\":\"x\"}}",
               "\\u0000");
    expect_err("{\"op\":\"create\",\"version\":1,\"extra\":\"\\u0000\",\"message\":{\"id\":\"10\","
               "\"channel_id\":\"20\",\"author_id\":\"30\",\"content\":\"x\"}}",
               "\\u0000");
    /* a raw NUL byte inside the content */
    {
        static const char raw[] =
            "{\"op\":\"create\",\"version\":1,\"message\":{\"id\":\"10\","
            "\"channel_id\":\"20\",\"author_id\":\"30\",\"content\":\"a\0b\"}}";
        sc_event e2;
        char err[SC_ERRLEN];
        assert_int_equal(parse_exact(raw, sizeof raw - 1, &e2, err, sizeof err), SC_EINVAL);
        assert_string_equal(err, "event: NUL byte at byte 95");
        sc_event_clear(&e2);
    }
    /* an escaped backslash before "u0000" is just text, and \u0001 is fine */
    parse_ok("{\"op\":\"create\",\"version\":1,\"message\":{\"id\":\"10\",\"channel_id\":\"20\","
             "\"author_id\":\"30\",\"content\":\"a\\\\u0000b\\u0001\"}}",
             &ev);
    assert_string_equal(ev.msg.content, "a\\u0000b\x01");
    sc_event_clear(&ev);
}

/* The fast path reads non-empty mentions, sticker_ids, attachments and
 * embeds itself (the indexer parses every event; a cJSON tree for each one
 * that had any was a sixth of its instructions) with the same fields as the
 * cJSON path, and gives anything unusual in them to the cJSON path. */
static void test_parse_fast_arrays(void **state)
{
    static const char *taken[] = {
        NULL, /* FULL_CREATE */
        "{\"op\":\"create\",\"version\":2,\"message\":{\"id\":\"10\",\"channel_id\":\"20\","
        "\"author_id\":\"30\",\"content\":\"a\\nb\",\"attachments\":[{\"filename\":\"a\\\"b.txt\","
        "\"content_type\":null,\"size\":null,\"x\":[{}]}],\"embeds\":[{},{\"url\":\"https://x.y/\","
        "\"type\":null}],\"mentions\":[],\"sticker_ids\":null}}",
        "{\"op\":\"delete\",\"version\":3,\"message\":{\"id\":\"10\",\"channel_id\":\"20\","
        "\"mentions\":[\"7\"],\"attachments\":[{\"filename\":\"f\"}]}}",
        "{\"message\":{\"id\":\"10\",\"channel_id\":\"20\",\"author_id\":\"30\",\"content\":\"\","
        "\"sticker_ids\":[\"1\",\"9223372036854775807\"]},\"version\":\"4\",\"op\":\"update\"}",
    };
    static const char *given_up[] = {
        "\"attachments\":[{\"filename\":\"a\",\"filename\":\"b\"}]",
        "\"attachments\":[{\"filename\":\"a\",\"size\":1.5}]",
        "\"attachments\":[{\"filename\":\"a\",\"size\":\"3\"}]",
        "\"attachments\":[{\"size\":3}]",
        "\"attachments\":[{}]",
        "\"attachments\":[\"a\"]",
        "\"attachments\":[{\"filename\":\"\\u00e9\"}]",
        "\"embeds\":[{\"url\":7}]",
        "\"mentions\":[1]",
        "\"mentions\":[\"0\"]",
        "\"mentions\":[\"9223372036854775808\"]",
        "\"mentions\":[\"5\",]",
        "\"sticker_ids\":{}",
    };
    char buf[1024];
    size_t i;
    (void)state;
    for (i = 0; i < sizeof(taken) / sizeof(taken[0]); i++) {
        const char *json = taken[i] ? taken[i] : FULL_CREATE;
        sc_event fast, ref;
        char err[SC_ERRLEN];
        if (sc_event_parse_fast(json, strlen(json), &fast) != 0)
            fail_msg("not taken by the fast path: %s", json);
        assert_int_equal(sc_event_parse_cjson(json, strlen(json), &ref, err, sizeof err), SC_OK);
        assert_int_equal(fast.op, ref.op);
        assert_msg_equal(&fast.msg, &ref.msg);
        sc_event_clear(&fast);
        sc_event_clear(&ref);
    }
    for (i = 0; i < sizeof(given_up) / sizeof(given_up[0]); i++) {
        sc_event fast, ref, ev;
        char e1[SC_ERRLEN] = "", e2[SC_ERRLEN] = "";
        sc_status s1, s2;
        snprintf(buf, sizeof buf,
                 "{\"op\":\"create\",\"version\":1,\"message\":{%s,\"content\":\"c\",%s}}", BASE,
                 given_up[i]);
        if (sc_event_parse_fast(buf, strlen(buf), &fast) != -1)
            fail_msg("taken by the fast path: %s", buf);
        sc_event_clear(&fast);
        s1 = sc_event_parse(buf, strlen(buf), &ev, e1, sizeof e1);
        s2 = sc_event_parse_cjson(buf, strlen(buf), &ref, e2, sizeof e2);
        assert_int_equal(s1, s2);
        assert_string_equal(e1, e2);
        if (s1 == SC_OK)
            assert_msg_equal(&ev.msg, &ref.msg);
        sc_event_clear(&ev);
        sc_event_clear(&ref);
    }
}

static void test_parse_error_buffer_edge(void **state)
{
    sc_event ev;
    char tiny[8];
    (void)state;
    /* NULL/short error buffers are fine; the message is truncated */
    assert_int_equal(sc_event_parse("[]", 2, &ev, NULL, 0), SC_EINVAL);
    assert_int_equal(sc_event_parse("[]", 2, &ev, tiny, sizeof(tiny)), SC_EINVAL);
    assert_int_equal(strlen(tiny), sizeof(tiny) - 1);
    assert_int_equal(sc_event_parse(NULL, 0, &ev, tiny, sizeof(tiny)), SC_EINVAL);
    assert_int_equal(sc_event_parse("", 0, &ev, NULL, 0), SC_EINVAL);
    sc_event_clear(&ev);
    sc_event_clear(NULL);
    sc_message_clear(NULL);
}

/* ------------------------------------------------------------------ */
/* names                                                               */

static void test_names(void **state)
{
    sc_author_type t = SC_AUTHOR_USER;
    (void)state;
    assert_string_equal(sc_op_str(SC_OP_CREATE), "create");
    assert_string_equal(sc_op_str(SC_OP_UPDATE), "update");
    assert_string_equal(sc_op_str(SC_OP_DELETE), "delete");
    assert_string_equal(sc_op_str((sc_op)99), "unknown");
    assert_string_equal(sc_author_type_str(SC_AUTHOR_USER), "user");
    assert_string_equal(sc_author_type_str(SC_AUTHOR_BOT), "bot");
    assert_string_equal(sc_author_type_str(SC_AUTHOR_WEBHOOK), "webhook");
    assert_int_equal(sc_author_type_parse("webhook", &t), SC_OK);
    assert_int_equal(t, SC_AUTHOR_WEBHOOK);
    assert_int_equal(sc_author_type_parse("bot", &t), SC_OK);
    assert_int_equal(t, SC_AUTHOR_BOT);
    assert_int_equal(sc_author_type_parse("user", &t), SC_OK);
    assert_int_equal(t, SC_AUTHOR_USER);
    assert_int_equal(sc_author_type_parse("Bot", &t), SC_EINVAL);
    assert_int_equal(sc_author_type_parse(NULL, &t), SC_EINVAL);
}

/* ------------------------------------------------------------------ */
/* serialising                                                         */

static void test_round_trip(void **state)
{
    sc_event ev;
    sc_buf out;
    (void)state;
    round_trip(FULL_CREATE);
    round_trip("{\"op\":\"update\",\"version\":2,\"message\":{\"id\":\"10\",\"channel_id\":\"20\","
               "\"author_id\":\"30\",\"author_type\":\"webhook\","
               "\"content\":\"q\\\" b\\\\ n\\n t\\t c\\u0001 \xe6\xbc\xa2\xe5\xad\x97 "
               "\xf0\x9f\x98\x80\"}}");
    round_trip("{\"op\":\"delete\",\"version\":5,\"message\":{\"id\":\"9223372036854775807\","
               "\"channel_id\":\"20\",\"guild_id\":\"18446744073709551\"}}");
    /* versions beyond 2^53 travel as strings */
    round_trip("{\"op\":\"update\",\"version\":\"9007199254740993\",\"message\":{\"id\":\"10\","
               "\"channel_id\":\"20\",\"author_id\":\"30\",\"content\":\"\"}}");

    /* ids appear as exact strings in the event form */
    parse_ok(FULL_CREATE, &ev);
    sc_buf_init(&out, 0);
    assert_int_equal(sc_event_to_json(&ev, &out), SC_OK);
    assert_non_null(strstr(out.data, "\"id\":\"1234567890123456789\""));
    assert_non_null(strstr(out.data, "\"author_id\":\"9007199254740993\""));
    assert_non_null(strstr(out.data, "\"op\":\"create\""));
    /* bad op is refused, buffer untouched */
    sc_buf_reset(&out);
    ev.op = (sc_op)0;
    assert_int_equal(sc_event_to_json(&ev, &out), SC_EINVAL);
    assert_int_equal(out.len, 0);
    sc_event_clear(&ev);
    sc_buf_free(&out);
}

/* ------------------------------------------------------------------ */
/* the document                                                        */

static void test_doc_full(void **state)
{
    sc_event ev;
    cJSON *d;
    char *text = NULL;
    const cJSON *it;
    (void)state;
    parse_ok(FULL_CREATE, &ev);
    d = doc_of(&ev.msg, &text);
    /* _source ids are exact decimal strings (cJSON's double would round numbers) */
    assert_non_null(strstr(text, "\"id\":\"1234567890123456789\","));
    assert_non_null(strstr(text, "\"channel_id\":\"987654321098765432\","));
    assert_non_null(strstr(text, "\"guild_id\":\"111111111111111111\","));
    assert_non_null(strstr(text, "\"author_id\":9007199254740993,"));
    assert_non_null(strstr(text, "\"mentions\":[9007199254740993,2]"));
    assert_string_equal(cJSON_GetObjectItem(d, "author_type")->valuestring, "bot");
    assert_string_equal(cJSON_GetObjectItem(d, "content")->valuestring,
                        "hello https://Foo.Bar.com/x");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(d, "mention_everyone")));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(d, "pinned")));
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(d, "deleted")));
    assert_true(cJSON_GetObjectItem(d, "version")->valuedouble == 1.0);
    it = cJSON_GetObjectItem(d, "timestamp");
    assert_true(cJSON_IsNumber(it));
    {
        char want[40];
        snprintf(want, sizeof(want), "\"timestamp\":%" PRId64 ",",
                 sc_snowflake_to_ms(1234567890123456789ULL));
        assert_non_null(strstr(text, want));
    }
    /* has: link (content + embed url), embed, file, image, sticker */
    assert_true(arr_has(d, "has", "link"));
    assert_true(arr_has(d, "has", "embed"));
    assert_true(arr_has(d, "has", "file"));
    assert_true(arr_has(d, "has", "image"));
    assert_true(arr_has(d, "has", "sticker"));
    assert_false(arr_has(d, "has", "video"));
    assert_false(arr_has(d, "has", "sound"));
    assert_int_equal(arr_len(d, "has"), 5);
    /* hosts from content and embed url, lowercased and expanded */
    assert_true(arr_has(d, "link_hostnames", "foo.bar.com"));
    assert_true(arr_has(d, "link_hostnames", "bar.com"));
    assert_true(arr_has(d, "link_hostnames", "www.youtube.com"));
    assert_true(arr_has(d, "link_hostnames", "youtube.com"));
    assert_int_equal(arr_len(d, "link_hostnames"), 4);
    assert_true(arr_has(d, "attachment_filenames", "Cat.PNG"));
    assert_true(arr_has(d, "attachment_filenames", "notes"));
    assert_true(arr_has(d, "attachment_extensions", "png"));
    assert_int_equal(arr_len(d, "attachment_extensions"), 1); /* "notes" has none */
    assert_true(arr_has(d, "embed_types", "video"));
    assert_true(arr_has(d, "embed_types", "rich"));
    assert_true(arr_has(d, "embed_providers", "YouTube"));
    assert_int_equal(arr_len(d, "embed_providers"), 1);
    /* only the mapping's fields (the index is dynamic:strict) */
    {
        static const char *const allowed[] = {"id",
                                              "channel_id",
                                              "guild_id",
                                              "author_id",
                                              "author_type",
                                              "timestamp",
                                              "content",
                                              "mentions",
                                              "mention_everyone",
                                              "has",
                                              "pinned",
                                              "link_hostnames",
                                              "attachment_filenames",
                                              "attachment_extensions",
                                              "embed_types",
                                              "embed_providers",
                                              "version",
                                              "deleted",
                                              "digest",
                                              NULL};
        const cJSON *f;
        int nfields = 0;
        cJSON_ArrayForEach(f, d)
        {
            int ok = 0, k;
            for (k = 0; allowed[k]; k++)
                ok |= strcmp(f->string, allowed[k]) == 0;
            if (!ok)
                fail_msg("unexpected field %s", f->string);
            nfields++;
        }
        assert_int_equal(nfields, 19);
    }
    /* the verification digest of (id, version, deleted), as PostgreSQL computes it */
    assert_true(cJSON_IsNumber(cJSON_GetObjectItem(d, "digest")));
    assert_true(cJSON_GetObjectItem(d, "digest")->valuedouble >= 1);
    assert_true(cJSON_GetObjectItem(d, "digest")->valuedouble <= (double)SC_DIGEST_MAX);
    cJSON_Delete(d);
    free(text);
    sc_event_clear(&ev);
}

/* sc_digest equals PostgreSQL's hashint8extended-based SQL expression
 * (values computed by a PostgreSQL 15 server; it_verify checks many more). */
static void test_digest_matches_postgres(void **state)
{
    (void)state;
    assert_int_equal(sc_digest(1400000000000000000ULL, 3, 1), 1803313543ULL);
    assert_int_equal(sc_digest(1400000000000000001ULL, 0, 0), 683577234ULL);
    assert_int_equal(sc_digest(5, 0, 1), 1675496383ULL);
    assert_true(sc_digest(5, 1, 0) != sc_digest(5, 0, 1));
    assert_true(sc_digest(5, 2, 0) != sc_digest(5, 2, 1));
}

static void test_doc_has_flags(void **state)
{
    cJSON *d;
    (void)state;
    /* plain text: nothing */
    d = doc_from_body("\"content\":\"just words, http:/ not a link, ftp://x.com\"", NULL);
    assert_int_equal(arr_len(d, "has"), 0);
    assert_int_equal(arr_len(d, "link_hostnames"), 0);
    assert_int_equal(arr_len(d, "attachment_filenames"), 0);
    assert_int_equal(arr_len(d, "embed_types"), 0);
    cJSON_Delete(d);
    /* link in content, case-insensitive scheme */
    d = doc_from_body("\"content\":\"go HTTPS://EXAMPLE.COM now\"", NULL);
    assert_true(arr_has(d, "has", "link"));
    assert_true(arr_has(d, "link_hostnames", "example.com"));
    assert_int_equal(arr_len(d, "has"), 1);
    cJSON_Delete(d);
    /* embed without url: embed but no link */
    d = doc_from_body("\"content\":\"\",\"embeds\":[{\"type\":\"rich\"}]", NULL);
    assert_true(arr_has(d, "has", "embed"));
    assert_false(arr_has(d, "has", "link"));
    cJSON_Delete(d);
    /* embed url: link */
    d = doc_from_body("\"content\":\"\",\"embeds\":[{\"url\":\"https://a.b.example.org/p\"}]",
                      NULL);
    assert_true(arr_has(d, "has", "embed"));
    assert_true(arr_has(d, "has", "link"));
    assert_true(arr_has(d, "link_hostnames", "a.b.example.org"));
    assert_true(arr_has(d, "link_hostnames", "b.example.org"));
    assert_true(arr_has(d, "link_hostnames", "example.org"));
    assert_int_equal(arr_len(d, "link_hostnames"), 3);
    cJSON_Delete(d);
    /* kinds from content_type */
    d = doc_from_body("\"content\":\"\",\"attachments\":[{\"filename\":\"x\","
                      "\"content_type\":\"video/mp4\"},{\"filename\":\"y\",\"content_type\":"
                      "\"AUDIO/ogg\"}]",
                      NULL);
    assert_true(arr_has(d, "has", "file"));
    assert_true(arr_has(d, "has", "video"));
    assert_true(arr_has(d, "has", "sound"));
    assert_false(arr_has(d, "has", "image"));
    cJSON_Delete(d);
    /* kinds from the extension when content_type is absent */
    d = doc_from_body("\"content\":\"\",\"attachments\":[{\"filename\":\"clip.MKV\"},"
                      "{\"filename\":\"song.flac\"},{\"filename\":\"pic.webp\"}]",
                      NULL);
    assert_true(arr_has(d, "has", "video"));
    assert_true(arr_has(d, "has", "sound"));
    assert_true(arr_has(d, "has", "image"));
    cJSON_Delete(d);
    /* a present content_type wins over the extension */
    d = doc_from_body("\"content\":\"\",\"attachments\":[{\"filename\":\"fake.png\","
                      "\"content_type\":\"application/octet-stream\"},{\"filename\":\"doc.txt\"}]",
                      NULL);
    assert_true(arr_has(d, "has", "file"));
    assert_false(arr_has(d, "has", "image"));
    assert_int_equal(arr_len(d, "has"), 1);
    cJSON_Delete(d);
    /* sticker */
    d = doc_from_body("\"content\":\"\",\"sticker_ids\":[\"7\"]", NULL);
    assert_true(arr_has(d, "has", "sticker"));
    assert_int_equal(arr_len(d, "has"), 1);
    cJSON_Delete(d);
}

static void test_doc_link_hostnames(void **state)
{
    cJSON *d;
    int i;
    sc_buf b;
    (void)state;
    d = doc_from_body("\"content\":\"https://user@Sub.Example.co.uk:8080/x\"", NULL);
    assert_true(arr_has(d, "link_hostnames", "sub.example.co.uk"));
    assert_true(arr_has(d, "link_hostnames", "example.co.uk"));
    assert_true(arr_has(d, "link_hostnames", "co.uk"));
    assert_int_equal(arr_len(d, "link_hostnames"), 3);
    cJSON_Delete(d);

    d = doc_from_body("\"content\":\"see https://bar.com and https://bar.com/again\"", NULL);
    assert_true(arr_has(d, "link_hostnames", "bar.com"));
    assert_int_equal(arr_len(d, "link_hostnames"), 1);
    cJSON_Delete(d);

    d = doc_from_body("\"content\":\"a https://foo.bar.com b http://bar.com/\"", NULL);
    assert_true(arr_has(d, "link_hostnames", "foo.bar.com"));
    assert_true(arr_has(d, "link_hostnames", "bar.com"));
    assert_int_equal(arr_len(d, "link_hostnames"), 2);
    cJSON_Delete(d);

    /* IPs as they are; single labels; punctuation around URLs */
    d = doc_from_body("\"content\":\"http://192.168.1.10:8080/a http://[::1]:80/ "
                      "http://localhost/ (https://paren.example.com). <https://angle.io>, "
                      "https://dot.example.net. https://u:p@auth.example.com?q=1\"",
                      NULL);
    assert_true(arr_has(d, "link_hostnames", "192.168.1.10"));
    assert_false(arr_has(d, "link_hostnames", "168.1.10"));
    assert_true(arr_has(d, "link_hostnames", "[::1]"));
    assert_true(arr_has(d, "link_hostnames", "localhost"));
    assert_true(arr_has(d, "link_hostnames", "paren.example.com"));
    assert_true(arr_has(d, "link_hostnames", "angle.io"));
    assert_true(arr_has(d, "link_hostnames", "dot.example.net"));
    assert_true(arr_has(d, "link_hostnames", "auth.example.com"));
    assert_true(arr_has(d, "link_hostnames", "example.com"));
    assert_int_equal(arr_len(d, "link_hostnames"), 9);
    cJSON_Delete(d);

    /* no host: not a link */
    d = doc_from_body("\"content\":\"https:// and https:///x and http://..a\"", NULL);
    assert_false(arr_has(d, "has", "link"));
    assert_int_equal(arr_len(d, "link_hostnames"), 0);
    cJSON_Delete(d);

    /* bounded */
    sc_buf_init(&b, 0);
    assert_int_equal(sc_buf_puts(&b, "\"content\":\""), SC_OK);
    for (i = 0; i < 60; i++)
        assert_int_equal(sc_buf_printf(&b, "https://h%d.example%d.com ", i, i), SC_OK);
    assert_int_equal(sc_buf_puts(&b, "\""), SC_OK);
    d = doc_from_body(b.data, NULL);
    assert_int_equal(arr_len(d, "link_hostnames"), 32);
    assert_true(arr_has(d, "link_hostnames", "h0.example0.com"));
    assert_true(arr_has(d, "link_hostnames", "example0.com"));
    cJSON_Delete(d);
    sc_buf_free(&b);
}

static void test_doc_extensions(void **state)
{
    cJSON *d;
    (void)state;
    d = doc_from_body("\"content\":\"\",\"attachments\":[{\"filename\":\"Photo.JPEG\"},"
                      "{\"filename\":\"archive.tar.gz\"},{\"filename\":\"README\"},"
                      "{\"filename\":\"trailingdot.\"},{\"filename\":\"b.jpeg\"},"
                      "{\"filename\":\".bashrc\"}]",
                      NULL);
    assert_true(arr_has(d, "attachment_extensions", "jpeg"));
    assert_true(arr_has(d, "attachment_extensions", "gz"));
    assert_true(arr_has(d, "attachment_extensions", "bashrc"));
    assert_false(arr_has(d, "attachment_extensions", "JPEG"));
    assert_false(arr_has(d, "attachment_extensions", "tar.gz"));
    assert_int_equal(arr_len(d, "attachment_extensions"), 3);      /* deduplicated */
    assert_true(arr_has(d, "attachment_filenames", "Photo.JPEG")); /* as given */
    assert_true(arr_has(d, "attachment_filenames", "README"));
    assert_int_equal(arr_len(d, "attachment_filenames"), 6);
    assert_true(arr_has(d, "has", "image"));
    cJSON_Delete(d);
}

static void test_doc_tombstone_and_dm(void **state)
{
    sc_event ev;
    cJSON *d;
    char *text = NULL;
    const cJSON *f;
    int n = 0;
    (void)state;
    parse_ok("{\"op\":\"delete\",\"version\":9,\"message\":{\"id\":\"175928847299117063\","
             "\"channel_id\":\"20\",\"guild_id\":\"40\",\"author_id\":\"30\"}}",
             &ev);
    d = doc_of(&ev.msg, &text);
    assert_string_equal(text,
                        "{\"id\":\"175928847299117063\",\"channel_id\":\"20\",\"guild_id\":\"40\","
                        "\"author_id\":30,\"timestamp\":1462015105796,\"version\":9,"
                        "\"deleted\":true,\"digest\":1832351499}");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(d, "deleted")));
    cJSON_ArrayForEach(f, d) n++;
    assert_int_equal(n, 8);
    assert_null(cJSON_GetObjectItem(d, "content"));
    cJSON_Delete(d);
    free(text);
    sc_event_clear(&ev);

    /* tombstone in a DM without author: guild_id and author_id omitted */
    parse_ok("{\"op\":\"delete\",\"version\":2,\"message\":{\"id\":\"10\",\"channel_id\":\"20\"}}",
             &ev);
    d = doc_of(&ev.msg, &text);
    assert_null(cJSON_GetObjectItem(d, "guild_id"));
    assert_null(cJSON_GetObjectItem(d, "author_id"));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(d, "deleted")));
    cJSON_Delete(d);
    free(text);
    sc_event_clear(&ev);

    /* live DM message: no guild_id */
    d = doc_from_body("\"content\":\"hi\"", NULL);
    assert_null(cJSON_GetObjectItem(d, "guild_id"));
    assert_non_null(cJSON_GetObjectItem(d, "channel_id"));
    cJSON_Delete(d);
}

static void test_doc_escaping(void **state)
{
    /* Built directly (not via parse) so raw control characters reach the builder. */
    const char *nasty = "q\"uote b\\ack nl\n cr\r tab\t ctl\x01\x1f"
                        " del\x7f "
                        "\xe6\xbc\xa2\xe5\xad\x97 \xf0\x9f\x98\x80 </script>";
    sc_message m;
    sc_attachment a;
    sc_embed e;
    cJSON *d;
    char *text = NULL;
    (void)state;
    memset(&m, 0, sizeof(m));
    m.id = 175928847299117063ULL;
    m.channel_id = 1;
    m.author_id = 2;
    m.version = 1;
    m.content = (char *)nasty;
    a.filename = (char *)"we\"ird\\name\n.PnG";
    a.content_type = NULL;
    a.size = 1;
    m.attachments = &a;
    m.n_attachments = 1;
    e.type = (char *)"rich";
    e.provider = (char *)"Pro\"vider\x02";
    e.url = NULL;
    m.embeds = &e;
    m.n_embeds = 1;
    d = doc_of(&m, &text);
    assert_string_equal(cJSON_GetObjectItem(d, "content")->valuestring, nasty);
    assert_true(arr_has(d, "attachment_filenames", "we\"ird\\name\n.PnG"));
    assert_true(arr_has(d, "attachment_extensions", "png"));
    assert_true(arr_has(d, "embed_providers", "Pro\"vider\x02"));
    assert_null(strchr(text, '\n')); /* one line: safe for NDJSON bulk bodies */
    assert_null(strchr(text, '\x01'));
    cJSON_Delete(d);
    free(text);

    /* the same through a real event with JSON escapes */
    d = doc_from_body("\"content\":\"a\\\"b\\\\c\\nd\\u0001e\\u6f22\\ud83d\\ude00\"", NULL);
    assert_string_equal(cJSON_GetObjectItem(d, "content")->valuestring,
                        "a\"b\\c\nd\x01"
                        "e\xe6\xbc\xa2\xf0\x9f\x98\x80");
    cJSON_Delete(d);
}

static void test_doc_buffer_limit(void **state)
{
    sc_event ev;
    sc_buf b;
    (void)state;
    parse_ok(FULL_CREATE, &ev);
    sc_buf_init(&b, 200); /* too small for the document */
    assert_int_equal(sc_buf_puts(&b, "prefix"), SC_OK);
    assert_int_equal(sc_message_to_doc(&ev.msg, &b), SC_ENOMEM);
    assert_int_equal(b.len, 6); /* partial output rolled back */
    assert_string_equal(b.data, "prefix");
    assert_int_equal(sc_event_to_json(&ev, &b), SC_ENOMEM);
    assert_string_equal(b.data, "prefix");
    sc_buf_free(&b);
    sc_event_clear(&ev);
}

/* ------------------------------------------------------------------ */
/* snowflake time (sc.h)                                               */

static void test_snowflake_time(void **state)
{
    const uint64_t id = 175928847299117063ULL; /* Discord's documentation example */
    int64_t ms = sc_snowflake_to_ms(id);
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    char iso[40];
    (void)state;
    assert_true(ms == 1462015105796LL);
    assert_non_null(gmtime_r(&secs, &tm));
    assert_true(strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%S", &tm) > 0);
    assert_string_equal(iso, "2016-04-30T11:18:25");
    assert_int_equal(ms % 1000, 796);
    assert_true(sc_snowflake_from_ms(ms) == (id & ~(uint64_t)0x3FFFFF));
    assert_true(sc_snowflake_to_ms(sc_snowflake_from_ms(ms)) == ms);
    assert_true(sc_snowflake_to_ms(0) == SC_SNOWFLAKE_EPOCH_MS);
    assert_true(sc_snowflake_from_ms(SC_SNOWFLAKE_EPOCH_MS - 1) == 0);
    assert_true(sc_snowflake_from_ms(0) == 0);
}

/* ------------------------------------------------------------------ */
/* hostile inputs                                                      */

/* Parse; if accepted, build both outputs. Must never crash or leak; a
 * rejection always carries a reason. Returns the parse status. */
static sc_status chew(const char *data, size_t len)
{
    sc_event ev;
    sc_buf b;
    char err[SC_ERRLEN] = "";
    sc_status st = parse_exact(data, len, &ev, err, sizeof(err));
    if (st == SC_OK) {
        sc_buf_init(&b, 0);
        assert_int_equal(sc_message_to_doc(&ev.msg, &b), SC_OK);
        assert_int_equal(sc_event_to_json(&ev, &b), SC_OK);
        sc_buf_free(&b);
    } else {
        assert_int_equal(st, SC_EINVAL);
        assert_true(err[0] != '\0');
    }
    sc_event_clear(&ev);
    return st;
}

static void test_hostile_inputs(void **state)
{
    static const char *const bad[] = {
        "",
        " ",
        "{",
        "}",
        "null",
        "true",
        "\"string\"",
        "123",
        "{\"op\":",
        "{\"op\":\"create\",\"version\":1,\"message\":{\"id\":\"1\"",
        "{\"op\":\"create\",\"version\":1,\"message\":{\"id\":\"1\",\"channel_id\":\"2\","
        "\"author_id\":\"3\",\"content\":\"abc",
        "{\"op\":\"create\",\"version\":1e999,\"message\":{}}",
        "{\"op\":\"create\",\"version\":-1e999,\"message\":{}}",
        "{\"op\":\"create\",\"version\":99999999999999999999999999999999,\"message\":{}}",
        "{\"op\":\"create\",\"version\":-0,\"message\":{}}",
        "{\"op\":\"create\",\"version\":NaN,\"message\":{}}",
        "{\"op\":\"create\",\"version\":1,\"message\":{\"id\":1e400,\"channel_id\":\"2\"}}",
        "{\"op\":\"create\",\"version\":1,\"message\":{\"id\":\"184467440737095516160\"}}",
        "{\"op\":\"create\",\"version\":1,\"message\":{\"id\":\"1\",\"channel_id\":\"2\","
        "\"author_id\":\"3\",\"content\":\"\xff\xfe\xfd\"}}",
        "{\"op\":\"create\",\"version\":1,\"message\":{\"id\":\"1\",\"channel_id\":\"2\","
        "\"author_id\":\"3\",\"content\":\"\\ud800\"}}",
        "{\"op\":\"create\",\"version\":1,\"message\":{\"id\":\"1\",\"channel_id\":\"2\","
        "\"author_id\":\"3\",\"content\":\"\\x41\"}}",
        "{\"op\":\"create\",\"version\":1,\"message\":{\"id\":\"1\",\"channel_id\":\"2\","
        "\"author_id\":\"3\",\"content\":\"\",\"attachments\":[{\"filename\":\"\xc3\"}]}}",
        "{\"op\":\"cr\xc3\x28\x61te\",\"version\":1,\"message\":{}}",
        "{\"op\":\"create\",\"version\":1,\"message\":{\"id\":[\"1\"],\"channel_id\":{}}}",
        "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
        "\xef\xbb\xbf{}",
    };
    size_t i, n;
    char *deep;
    sc_buf b;
    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (chew(bad[i], strlen(bad[i])) != SC_EINVAL)
            fail_msg("hostile input %zu was accepted: %s", i, bad[i]);
    }
    /* embedded NUL bytes in the middle of the text */
    {
        static const char nul[] = "{\"op\":\"create\"\0,\"version\":1}";
        assert_int_equal(chew(nul, sizeof(nul) - 1), SC_EINVAL);
    }
    /* nesting far beyond cJSON's limit, as the root and inside an unknown field */
    n = 200000;
    deep = malloc(2 * n + 200);
    assert_non_null(deep);
    memset(deep, '[', n);
    memset(deep + n, ']', n);
    assert_int_equal(chew(deep, 2 * n), SC_EINVAL);
    {
        sc_buf_init(&b, 0);
        assert_int_equal(sc_buf_puts(&b, "{\"op\":\"delete\",\"version\":1,\"x\":"), SC_OK);
        assert_int_equal(sc_buf_append(&b, deep, n), SC_OK);
        assert_int_equal(sc_buf_append(&b, deep + n, n), SC_OK);
        assert_int_equal(sc_buf_puts(&b, ",\"message\":{\"id\":\"1\",\"channel_id\":\"2\"}}"),
                         SC_OK);
        assert_int_equal(chew(b.data, b.len), SC_EINVAL);
        /* moderate nesting in an unknown field is fine (forward compatible) */
        sc_buf_reset(&b);
        assert_int_equal(sc_buf_puts(&b, "{\"op\":\"delete\",\"version\":1,\"x\":"), SC_OK);
        assert_int_equal(sc_buf_append(&b, deep, 100), SC_OK);
        assert_int_equal(sc_buf_append(&b, deep + n, 100), SC_OK);
        assert_int_equal(sc_buf_puts(&b, ",\"message\":{\"id\":\"1\",\"channel_id\":\"2\"}}"),
                         SC_OK);
        assert_int_equal(chew(b.data, b.len), SC_OK);
        sc_buf_free(&b);
    }
    free(deep);
    /* oversized input is refused before parsing */
    {
        size_t big = (1u << 20) + 10;
        char *huge = malloc(big);
        assert_non_null(huge);
        memset(huge, ' ', big);
        huge[0] = '{';
        huge[big - 1] = '}';
        assert_int_equal(chew(huge, big), SC_EINVAL);
        free(huge);
    }
    /* every prefix of a valid event: no crash, no leak, all but the full one rejected */
    n = strlen(FULL_CREATE);
    for (i = 0; i < n; i++)
        assert_int_equal(chew(FULL_CREATE, i), SC_EINVAL);
    assert_int_equal(chew(FULL_CREATE, n), SC_OK);
    /* every single-byte corruption of a valid event: no crash, no leak */
    {
        char *mut = malloc(n);
        static const char subst[] = {'\0', '"', '\\', '{', ']', '9', '\xff', 'x'};
        size_t k;
        assert_non_null(mut);
        for (i = 0; i < n; i++) {
            for (k = 0; k < sizeof(subst); k++) {
                memcpy(mut, FULL_CREATE, n);
                mut[i] = subst[k];
                (void)chew(mut, n);
            }
        }
        free(mut);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_full_create),
        cmocka_unit_test(test_parse_minimal_update_and_defaults),
        cmocka_unit_test(test_parse_delete),
        cmocka_unit_test(test_parse_rejects_envelope),
        cmocka_unit_test(test_parse_rejects_ids),
        cmocka_unit_test(test_parse_rejects_fields_and_limits),
        cmocka_unit_test(test_parse_rejects_nul),
        cmocka_unit_test(test_parse_fast_arrays),
        cmocka_unit_test(test_parse_error_buffer_edge),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_doc_full),
        cmocka_unit_test(test_doc_has_flags),
        cmocka_unit_test(test_digest_matches_postgres),
        cmocka_unit_test(test_doc_link_hostnames),
        cmocka_unit_test(test_doc_extensions),
        cmocka_unit_test(test_doc_tombstone_and_dm),
        cmocka_unit_test(test_doc_escaping),
        cmocka_unit_test(test_doc_buffer_limit),
        cmocka_unit_test(test_snowflake_time),
        cmocka_unit_test(test_hostile_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
