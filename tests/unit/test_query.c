/*
 * test_query.c - unit tests for query.c: every request parameter and every q
 * operator (with negations and dates), limits and error messages naming the
 * parameter, the exact shape of the Elasticsearch body (parsed back with
 * cJSON), hostile user text that must stay a JSON string value, and
 * highlighting.
 */
#include "query.h"
#include "testlib.h"

#include <cjson/cJSON.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_MS 86400000LL

/* ---- helpers ---- */

/* Parse n key/value pairs given as kv[2*i], kv[2*i+1]. */
static sc_status parse_kv(const char *const *kv, size_t n, sc_search_endpoint ep,
                          const sc_search_opts *o, sc_search_req **r, char *err)
{
    sc_query_param p[600];
    assert_true(n <= 600);
    for (size_t i = 0; i < n; i++) {
        p[i].key = kv[2 * i];
        p[i].value = kv[2 * i + 1];
    }
    return sc_search_req_parse(p, n, ep, o, r, err, SC_ERRLEN);
}

#define KV(...) ((const char *const[]){__VA_ARGS__})
#define NKV(...) (sizeof((const char *const[]){__VA_ARGS__}) / sizeof(char *) / 2)
/* Parse for the guild endpoint and expect success. */
#define OK_REQ(...) ok_req(KV(__VA_ARGS__), NKV(__VA_ARGS__))
/* Parse for the guild endpoint and expect SC_EINVAL with this message. */
#define BAD_REQ(msg, ...) bad_req(msg, KV(__VA_ARGS__), NKV(__VA_ARGS__))

static sc_search_req *ok_req(const char *const *kv, size_t n)
{
    sc_search_req *r = NULL;
    char err[SC_ERRLEN] = "";
    sc_status st = parse_kv(kv, n, SC_SEARCH_GUILD, NULL, &r, err);
    if (st != SC_OK)
        fail_msg("unexpected parse error: %s", err);
    assert_non_null(r);
    return r;
}

static void bad_req(const char *msg, const char *const *kv, size_t n)
{
    sc_search_req *r = (sc_search_req *)1;
    char err[SC_ERRLEN] = "";
    assert_int_equal(parse_kv(kv, n, SC_SEARCH_GUILD, NULL, &r, err), SC_EINVAL);
    assert_null(r);
    assert_string_equal(err, msg);
}

static const uint64_t CHANS[] = {111, 222};

/* Build r's body for CHANS with size 75 and parse it back. */
static cJSON *build(const sc_search_req *r)
{
    sc_buf b;
    cJSON *j;
    sc_buf_init(&b, 0);
    assert_int_equal(sc_query_build(r, CHANS, 2, 75, &b), SC_OK);
    j = cJSON_Parse(b.data);
    if (j == NULL)
        fail_msg("built body is not JSON: %s", b.data);
    sc_buf_free(&b);
    return j;
}

static cJSON *boolpart(cJSON *root, const char *part)
{
    cJSON *q = cJSON_GetObjectItemCaseSensitive(root, "query");
    cJSON *b = cJSON_GetObjectItemCaseSensitive(q, "bool");
    cJSON *a = cJSON_GetObjectItemCaseSensitive(b, part);
    assert_true(cJSON_IsArray(a));
    return a;
}

/* The clause in arr whose kind is `kind` and whose field is `field` (the
 * idx-th such), or NULL. */
static cJSON *clause(cJSON *arr, const char *kind, const char *field, int idx)
{
    cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        cJSON *k = cJSON_GetObjectItemCaseSensitive(it, kind);
        if (k == NULL)
            continue;
        if (field != NULL && cJSON_GetObjectItemCaseSensitive(k, field) == NULL)
            continue;
        if (idx-- == 0)
            return field ? cJSON_GetObjectItemCaseSensitive(k, field) : k;
    }
    return NULL;
}

/* Array of strings equals the NULL-terminated list. */
static void assert_strs(const cJSON *a, const char *const *want)
{
    size_t n = 0;
    const cJSON *it;
    assert_true(cJSON_IsArray(a));
    cJSON_ArrayForEach(it, a)
    {
        assert_non_null(want[n]);
        assert_true(cJSON_IsString(it));
        assert_string_equal(it->valuestring, want[n]);
        n++;
    }
    assert_null(want[n]);
}
#define STRS(...) ((const char *const[]){__VA_ARGS__, NULL})

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    assert_true(cJSON_IsString(v));
    return v->valuestring;
}

/* Keys allowed anywhere in the body: any other key (query_string, regexp,
 * wildcard, script, a user-chosen field...) fails the test. */
static const char *const ALLOWED_KEYS[] = {"query",
                                           "bool",
                                           "filter",
                                           "must",
                                           "must_not",
                                           "should",
                                           "minimum_should_match",
                                           "terms",
                                           "term",
                                           "range",
                                           "gte",
                                           "lt",
                                           "multi_match",
                                           "match",
                                           "match_phrase_prefix",
                                           "fields",
                                           "type",
                                           "operator",
                                           "from",
                                           "size",
                                           "track_total_hits",
                                           "_source",
                                           "sort",
                                           "id",
                                           "channel_id",
                                           "author_id",
                                           "author_type",
                                           "mentions",
                                           "mention_everyone",
                                           "has",
                                           "pinned",
                                           "deleted",
                                           "link_hostnames",
                                           "attachment_extensions",
                                           "attachment_filenames.text",
                                           "embed_types",
                                           "embed_providers",
                                           "content",
                                           NULL};

/* Walk the body: every key allowed, and every string that holds user text
 * sits directly under a "query" key of a match-type clause or inside a
 * term/terms value. Counts the "query" strings seen. */
static void walk_safe(const cJSON *n, const char *parent, int *n_query)
{
    const cJSON *c;
    if (cJSON_IsObject(n)) {
        cJSON_ArrayForEach(c, n)
        {
            int ok = 0;
            for (int i = 0; ALLOWED_KEYS[i]; i++)
                ok |= strcmp(c->string, ALLOWED_KEYS[i]) == 0;
            if (!ok)
                fail_msg("unexpected key '%s' in built query", c->string);
            if (strcmp(c->string, "query") == 0 && cJSON_IsString(c))
                (*n_query)++;
            walk_safe(c, c->string, n_query);
        }
    } else if (cJSON_IsArray(n)) {
        cJSON_ArrayForEach(c, n) walk_safe(c, parent, n_query);
    }
}

/* ---- defaults and body shape ---- */

static void test_defaults_and_shape(void **state)
{
    sc_search_req *r;
    cJSON *j, *f, *mn, *s;
    (void)state;
    r = ok_req(NULL, 0);
    assert_int_equal(r->sort_by, SC_SORT_TIMESTAMP);
    assert_int_equal(r->sort_order, SC_ORDER_DESC);
    assert_int_equal(r->offset, 0);
    assert_int_equal(r->limit, 25);
    assert_int_equal(r->pinned, SC_TRI_UNSET);
    assert_int_equal(r->mention_everyone, SC_TRI_UNSET);
    assert_int_equal(r->include_context, 0);
    assert_int_equal(r->terms.n + r->phrases.n + r->prefixes.n, 0);
    j = build(r);
    f = boolpart(j, "filter");
    assert_int_equal(cJSON_GetArraySize(f), 1);
    assert_strs(clause(f, "terms", "channel_id", 0), STRS("111", "222"));
    assert_int_equal(cJSON_GetArraySize(boolpart(j, "must")), 0);
    mn = boolpart(j, "must_not");
    assert_int_equal(cJSON_GetArraySize(mn), 1);
    assert_true(cJSON_IsTrue(clause(mn, "term", "deleted", 0)));
    assert_int_equal(cJSON_GetObjectItem(j, "from")->valueint, 0);
    assert_int_equal(cJSON_GetObjectItem(j, "size")->valueint, 75);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "track_total_hits")));
    assert_strs(cJSON_GetObjectItem(j, "_source"), STRS("id", "channel_id"));
    s = cJSON_GetObjectItem(j, "sort");
    assert_int_equal(cJSON_GetArraySize(s), 1);
    assert_string_equal(jstr(cJSON_GetArrayItem(s, 0), "id"), "desc");
    cJSON_Delete(j);
    sc_search_req_free(r);
    sc_search_req_free(NULL);
}

static void test_sort_offset_limit_context(void **state)
{
    sc_search_req *r;
    cJSON *j, *s;
    (void)state;
    r = OK_REQ("sort_by", "relevance", "sort_order", "asc", "offset", "9975", "limit", "1",
               "context", "true");
    assert_int_equal(r->sort_by, SC_SORT_RELEVANCE);
    assert_int_equal(r->sort_order, SC_ORDER_ASC);
    assert_int_equal(r->offset, 9975);
    assert_int_equal(r->limit, 1);
    assert_int_equal(r->include_context, 1);
    j = build(r);
    s = cJSON_GetObjectItem(j, "sort");
    assert_int_equal(cJSON_GetArraySize(s), 2);
    assert_string_equal(cJSON_GetArrayItem(s, 0)->valuestring, "_score");
    assert_string_equal(jstr(cJSON_GetArrayItem(s, 1), "id"), "desc");
    cJSON_Delete(j);
    sc_search_req_free(r);

    r = OK_REQ("sort_order", "asc", "include_context", "0", "offset", "0", "limit", "25");
    assert_int_equal(r->include_context, 0);
    j = build(r);
    s = cJSON_GetObjectItem(j, "sort");
    assert_string_equal(jstr(cJSON_GetArrayItem(s, 0), "id"), "asc");
    cJSON_Delete(j);
    sc_search_req_free(r);
    r = OK_REQ("include_context", "1", "sort_by", "timestamp", "sort_order", "desc");
    assert_int_equal(r->include_context, 1);
    sc_search_req_free(r);
}

/* ---- parameters ---- */

static void test_id_params(void **state)
{
    sc_search_req *r;
    cJSON *j, *f, *mn;
    (void)state;
    r = OK_REQ("author_id", "175928847299117063", "author_id[]", "42", "author_id", "42",
               "author_id", "-7", "mentions[]", "9223372036854775807", "mentions", "5",
               "channel_id", "111", "channel_id[]", "333");
    assert_int_equal(r->author_ids.n, 2); /* duplicate dropped */
    assert_true(r->author_ids.v[0] == 175928847299117063ULL);
    assert_int_equal(r->not_author_ids.n, 1);
    assert_true(r->not_author_ids.v[0] == 7);
    assert_int_equal(r->mentions.n, 2);
    assert_int_equal(r->channel_ids.n, 2);
    assert_true(r->channel_ids.v[1] == 333);
    j = build(r);
    f = boolpart(j, "filter");
    mn = boolpart(j, "must_not");
    assert_strs(clause(f, "terms", "author_id", 0), STRS("175928847299117063", "42"));
    assert_strs(clause(f, "terms", "mentions", 0), STRS("9223372036854775807", "5"));
    assert_strs(clause(mn, "terms", "author_id", 0), STRS("7"));
    /* the request's channel_ids are for the router; the body uses the given list */
    assert_strs(clause(f, "terms", "channel_id", 0), STRS("111", "222"));
    cJSON_Delete(j);
    sc_search_req_free(r);
}

static void test_enum_and_bool_params(void **state)
{
    sc_search_req *r;
    cJSON *j, *f, *mn;
    (void)state;
    r = OK_REQ("author_type", "bot", "author_type[]", "user", "author_type", "-webhook", "has",
               "image", "has[]", "link", "has", "-video", "has", "-sticker", "pinned", "true",
               "mention_everyone", "false");
    assert_int_equal(r->has, SC_HAS_IMAGE | SC_HAS_LINK);
    assert_int_equal(r->not_has, SC_HAS_VIDEO | SC_HAS_STICKER);
    assert_int_equal(r->pinned, SC_TRI_TRUE);
    assert_int_equal(r->mention_everyone, SC_TRI_FALSE);
    j = build(r);
    f = boolpart(j, "filter");
    mn = boolpart(j, "must_not");
    assert_strs(clause(f, "terms", "author_type", 0), STRS("user", "bot"));
    assert_strs(clause(mn, "terms", "author_type", 0), STRS("webhook"));
    /* each has-kind is its own filter: all must hold */
    assert_strs(clause(f, "terms", "has", 0), STRS("link"));
    assert_strs(clause(f, "terms", "has", 1), STRS("image"));
    assert_null(clause(f, "terms", "has", 2));
    assert_strs(clause(mn, "terms", "has", 0), STRS("video", "sticker"));
    assert_true(cJSON_IsTrue(clause(f, "term", "pinned", 0)));
    assert_true(cJSON_IsFalse(clause(f, "term", "mention_everyone", 0)));
    cJSON_Delete(j);
    sc_search_req_free(r);

    r = OK_REQ("pinned", "0", "mention_everyone", "TRUE");
    j = build(r);
    f = boolpart(j, "filter");
    assert_true(cJSON_IsFalse(clause(f, "term", "pinned", 0)));
    assert_true(cJSON_IsTrue(clause(f, "term", "mention_everyone", 0)));
    cJSON_Delete(j);
    sc_search_req_free(r);
}

static void test_keyword_params(void **state)
{
    sc_search_req *r;
    cJSON *j, *f, *fn;
    (void)state;
    r = OK_REQ("link_hostnames", "GitHub.com", "link_hostname", " example.org ",
               "attachment_extensions", ".PNG", "attachment_extension[]", "tar.gz",
               "attachment_filenames", "Cat Photo.png", "attachment_filename", "report",
               "embed_types", "video", "embed_type", "rich", "embed_providers", "YouTube");
    assert_string_equal(r->link_hostnames.v[0], "github.com");
    assert_string_equal(r->link_hostnames.v[1], "example.org");
    assert_string_equal(r->attachment_extensions.v[0], "png");
    assert_string_equal(r->embed_providers.v[0], "youtube");
    j = build(r);
    f = boolpart(j, "filter");
    assert_strs(clause(f, "terms", "link_hostnames", 0), STRS("github.com", "example.org"));
    assert_strs(clause(f, "terms", "attachment_extensions", 0), STRS("png", "tar.gz"));
    assert_strs(clause(f, "terms", "embed_types", 0), STRS("video", "rich"));
    assert_strs(clause(f, "terms", "embed_providers", 0), STRS("youtube"));
    /* filenames: any of, each a text match on the .text sub-field */
    fn = clause(f, "bool", "should", 0);
    assert_int_equal(cJSON_GetArraySize(fn), 2);
    {
        cJSON *m0 = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(fn, 0), "match"),
                                        "attachment_filenames.text");
        assert_string_equal(jstr(m0, "query"), "Cat Photo.png");
        assert_string_equal(jstr(m0, "operator"), "and");
    }
    assert_int_equal(
        cJSON_GetObjectItem(clause(f, "bool", NULL, 0), "minimum_should_match")->valueint, 1);
    cJSON_Delete(j);
    sc_search_req_free(r);
}

static void test_min_max_id(void **state)
{
    sc_search_req *r;
    cJSON *j, *rg;
    (void)state;
    r = OK_REQ("min_id", "1000", "max_id", "5000");
    assert_true(r->id_gte == 1001 && r->has_id_lt && r->id_lt == 5000);
    j = build(r);
    rg = clause(boolpart(j, "filter"), "range", "id", 0);
    assert_string_equal(jstr(rg, "gte"), "1001");
    assert_string_equal(jstr(rg, "lt"), "5000");
    cJSON_Delete(j);
    sc_search_req_free(r);
    r = OK_REQ("max_id", "5000");
    j = build(r);
    rg = clause(boolpart(j, "filter"), "range", "id", 0);
    assert_null(cJSON_GetObjectItem(rg, "gte"));
    assert_string_equal(jstr(rg, "lt"), "5000");
    cJSON_Delete(j);
    sc_search_req_free(r);
}

/* ---- the q syntax ---- */

static void test_q_text(void **state)
{
    sc_search_req *r;
    cJSON *j, *must, *mn, *mm;
    (void)state;
    r = OK_REQ("q", "  hello \"exact phrase\" -spam -\"not this\" deplo* https://example.com/a?b=1 "
                    "hello 12:30 -  \"\" wor** ");
    assert_int_equal(r->terms.n, 3);
    assert_string_equal(r->terms.v[0], "hello");
    assert_string_equal(r->terms.v[1], "https://example.com/a?b=1");
    assert_string_equal(r->terms.v[2], "12:30");
    assert_int_equal(r->phrases.n, 1);
    assert_string_equal(r->phrases.v[0], "exact phrase");
    assert_int_equal(r->not_terms.n, 1);
    assert_string_equal(r->not_terms.v[0], "spam");
    assert_int_equal(r->not_phrases.n, 1);
    assert_string_equal(r->not_phrases.v[0], "not this");
    assert_int_equal(r->prefixes.n, 2);
    assert_string_equal(r->prefixes.v[0], "deplo");
    assert_string_equal(r->prefixes.v[1], "wor");
    j = build(r);
    must = boolpart(j, "must");
    mn = boolpart(j, "must_not");
    mm = clause(must, "multi_match", NULL, 0);
    assert_string_equal(jstr(mm, "query"), "hello");
    assert_strs(cJSON_GetObjectItem(mm, "fields"), STRS("content", "content.en", "content.cjk"));
    assert_string_equal(jstr(mm, "type"), "best_fields");
    assert_string_equal(jstr(mm, "operator"), "and");
    mm = clause(must, "multi_match", NULL, 3); /* terms first, then phrases */
    assert_string_equal(jstr(mm, "query"), "exact phrase");
    assert_string_equal(jstr(mm, "type"), "phrase");
    assert_strs(cJSON_GetObjectItem(mm, "fields"), STRS("content", "content.cjk"));
    assert_string_equal(jstr(clause(must, "match_phrase_prefix", "content", 0), "query"), "deplo");
    assert_string_equal(jstr(clause(must, "match_phrase_prefix", "content", 1), "query"), "wor");
    assert_int_equal(cJSON_GetArraySize(must), 6);
    assert_string_equal(jstr(clause(mn, "multi_match", NULL, 0), "query"), "spam");
    assert_string_equal(jstr(clause(mn, "multi_match", NULL, 1), "query"), "not this");
    assert_string_equal(jstr(clause(mn, "multi_match", NULL, 1), "type"), "phrase");
    assert_int_equal(cJSON_GetArraySize(mn), 3); /* + deleted */
    cJSON_Delete(j);
    sc_search_req_free(r);

    /* content uses the same syntax and adds to q's terms */
    r = OK_REQ("content", "alpha \"b c\"", "q", "delta");
    assert_int_equal(r->terms.n, 2);
    assert_int_equal(r->phrases.n, 1);
    sc_search_req_free(r);
}

static void test_q_operators(void **state)
{
    sc_search_req *r;
    cJSON *j, *f, *mn;
    (void)state;
    r = OK_REQ("q", "from:42 from:<@43> FROM:<@!44> -from:45 mentions:46 mentions:<@47> "
                    "has:image -has:link in:111 in:<#112> pinned:false author_type:bot "
                    "-author_type:webhook word");
    assert_int_equal(r->author_ids.n, 3);
    assert_true(r->author_ids.v[0] == 42 && r->author_ids.v[1] == 43 && r->author_ids.v[2] == 44);
    assert_int_equal(r->not_author_ids.n, 1);
    assert_true(r->not_author_ids.v[0] == 45);
    assert_int_equal(r->mentions.n, 2);
    assert_true(r->mentions.v[1] == 47);
    assert_int_equal(r->has, SC_HAS_IMAGE);
    assert_int_equal(r->not_has, SC_HAS_LINK);
    assert_int_equal(r->channel_ids.n, 2);
    assert_true(r->channel_ids.v[1] == 112);
    assert_int_equal(r->pinned, SC_TRI_FALSE);
    assert_int_equal(r->author_types, 2u);
    assert_int_equal(r->not_author_types, 4u);
    assert_int_equal(r->terms.n, 1);
    j = build(r);
    f = boolpart(j, "filter");
    mn = boolpart(j, "must_not");
    assert_strs(clause(f, "terms", "author_id", 0), STRS("42", "43", "44"));
    assert_strs(clause(mn, "terms", "author_id", 0), STRS("45"));
    assert_strs(clause(f, "terms", "has", 0), STRS("image"));
    assert_strs(clause(mn, "terms", "has", 0), STRS("link"));
    assert_strs(clause(f, "terms", "author_type", 0), STRS("bot"));
    assert_strs(clause(mn, "terms", "author_type", 0), STRS("webhook"));
    assert_true(cJSON_IsFalse(clause(f, "term", "pinned", 0)));
    cJSON_Delete(j);
    sc_search_req_free(r);
}

static uint64_t sf(int64_t ms) { return (uint64_t)(ms - SC_SNOWFLAKE_EPOCH_MS) << 22; }

static void test_q_dates(void **state)
{
    const int64_t d2020 = 1577836800000LL; /* 2020-01-01T00:00:00Z */
    const int64_t d2024feb29 = 1709164800000LL;
    sc_search_req *r;
    cJSON *j, *rg;
    char buf[32];
    (void)state;
    r = OK_REQ("q", "during:2020-01-01");
    assert_true(r->id_gte == sf(d2020));
    assert_true(r->has_id_lt && r->id_lt == sf(d2020 + DAY_MS));
    j = build(r);
    rg = clause(boolpart(j, "filter"), "range", "id", 0);
    snprintf(buf, sizeof(buf), "%llu", (unsigned long long)sf(d2020));
    assert_string_equal(jstr(rg, "gte"), buf);
    snprintf(buf, sizeof(buf), "%llu", (unsigned long long)sf(d2020 + DAY_MS));
    assert_string_equal(jstr(rg, "lt"), buf);
    cJSON_Delete(j);
    sc_search_req_free(r);

    /* before: strictly before D 00:00; after: from D+1 00:00 on */
    r = OK_REQ("q", "after:2020-01-01 before:2024-02-29");
    assert_true(r->id_gte == sf(d2020 + DAY_MS));
    assert_true(r->id_lt == sf(d2024feb29));
    sc_search_req_free(r);

    /* intersected with min_id/max_id: the tighter bound wins either way */
    r = OK_REQ("min_id", "5", "max_id", "999999999999999999", "q", "before:2020-01-01");
    assert_true(r->id_gte == 6);
    assert_true(r->id_lt == sf(d2020)); /* date is tighter than max_id */
    sc_search_req_free(r);
    snprintf(buf, sizeof(buf), "%llu", (unsigned long long)sf(d2020 + 5 * DAY_MS));
    {
        const char *kv[] = {"q", "after:2020-01-01", "min_id", buf};
        char err[SC_ERRLEN];
        assert_int_equal(parse_kv(kv, 2, SC_SEARCH_GUILD, NULL, &r, err), SC_OK);
        assert_true(r->id_gte == sf(d2020 + 5 * DAY_MS) + 1); /* min_id is tighter */
        sc_search_req_free(r);
    }
    /* dates before the Discord epoch: before: matches nothing, after: everything */
    r = OK_REQ("q", "before:2014-06-01");
    assert_true(r->has_id_lt && r->id_lt == 0);
    sc_search_req_free(r);
    r = OK_REQ("q", "after:1999-12-31");
    assert_true(r->id_gte == 0);
    sc_search_req_free(r);
    /* far future is clamped to the signed 64-bit id range */
    r = OK_REQ("q", "during:9999-12-31");
    assert_true(r->id_gte == (uint64_t)INT64_MAX && r->id_lt == (uint64_t)INT64_MAX);
    sc_search_req_free(r);
}

/* ---- errors ---- */

static void test_param_errors(void **state)
{
    (void)state;
    BAD_REQ("unknown parameter 'foo'", "foo", "1");
    BAD_REQ("unknown parameter 'author_id[][]'", "author_id[][]", "1");
    BAD_REQ("unknown parameter 'a?b'",
            "a\x01"
            "b",
            "1");
    BAD_REQ("author_id: not a snowflake id", "author_id", "12x");
    BAD_REQ("author_id: not a snowflake id", "author_id", "");
    BAD_REQ("author_id: not a snowflake id", "author_id", "+5");
    BAD_REQ("author_id: not a snowflake id", "author_id", "9223372036854775808");
    BAD_REQ("author_id: not a snowflake id", "author_id", "--5");
    BAD_REQ("mentions: not a snowflake id", "mentions", "-5");
    BAD_REQ("channel_id: not a snowflake id", "channel_id", "general");
    BAD_REQ("min_id: not a snowflake id", "min_id", "1.5");
    BAD_REQ("max_id: not a snowflake id", "max_id", " 1");
    BAD_REQ("author_type: expected user, bot or webhook", "author_type", "robot");
    BAD_REQ("has: expected one of link, embed, file, image, video, sound, sticker", "has", "poll");
    BAD_REQ("pinned: expected true or false", "pinned", "yes");
    BAD_REQ("mention_everyone: expected true or false", "mention_everyone", "");
    BAD_REQ("context: expected true or false", "context", "2");
    BAD_REQ("include_context: expected true or false", "include_context", "on");
    BAD_REQ("sort_by: expected timestamp or relevance", "sort_by", "score");
    BAD_REQ("sort_order: expected asc or desc", "sort_order", "DESC");
    BAD_REQ("limit: must be between 1 and 25", "limit", "0");
    BAD_REQ("limit: must be between 1 and 25", "limit", "26");
    BAD_REQ("limit: must be between 1 and 25", "limit", "-1");
    BAD_REQ("limit: must be between 1 and 25", "limit", "1e1");
    BAD_REQ("offset: must be between 0 and 9975", "offset", "9976");
    BAD_REQ("offset: must be between 0 and 9975", "offset", "99999999999999999999");
    BAD_REQ("limit: given more than once", "limit", "5", "limit", "5");
    BAD_REQ("include_context: given more than once", "context", "1", "include_context", "1");
    BAD_REQ("q: given more than once", "q", "a", "q", "b");
    BAD_REQ("pinned: conflicts with another pinned value", "q", "pinned:true", "pinned", "false");
    BAD_REQ("link_hostnames: empty value", "link_hostnames", "  ");
    BAD_REQ("attachment_extensions: empty value", "attachment_extensions", ".");
    BAD_REQ("embed_types: control character in value", "embed_types", "a\tb");
    BAD_REQ("q: not valid UTF-8", "q", "caf\xc3");
    BAD_REQ("content: not valid UTF-8", "content", "\xed\xa0\x80"); /* surrogate */
    BAD_REQ("author_id: value longer than 64 bytes", "author_id",
            "00000000000000000000000000000000000000000000000000000000000000001");
}

static void test_q_errors(void **state)
{
    (void)state;
    BAD_REQ("q: unknown search operator 'foo'", "q", "hello foo:bar");
    BAD_REQ("content: unknown search operator 'content'", "content", "content:*");
    BAD_REQ("q: unknown search operator 'http'", "q", "http:/x"); /* not a URL */
    BAD_REQ("q: unterminated quote", "q", "hello \"world");
    BAD_REQ("q: unterminated quote", "q", "-\"x");
    BAD_REQ("q: from: not a snowflake id", "q", "from:bob");
    BAD_REQ("q: from: not a snowflake id", "q", "from:<@bob>");
    BAD_REQ("q: from: needs a value", "q", "from:");
    BAD_REQ("q: mentions: not a snowflake id", "q", "mentions:<#1>");
    BAD_REQ("q: in: not a snowflake id", "q", "in:general");
    BAD_REQ("q: has: expected one of link, embed, file, image, video, sound, sticker", "q",
            "has:poll");
    BAD_REQ("q: author_type: expected user, bot or webhook", "q", "author_type:human");
    BAD_REQ("q: pinned: expected true or false", "q", "pinned:maybe");
    BAD_REQ("q: before: expected a date YYYY-MM-DD", "q", "before:2020-13-01");
    BAD_REQ("q: after: expected a date YYYY-MM-DD", "q", "after:2021-02-29");
    BAD_REQ("q: during: expected a date YYYY-MM-DD", "q", "during:yesterday");
    BAD_REQ("q: during: expected a date YYYY-MM-DD", "q", "during:2020-1-1");
    BAD_REQ("q: operator 'in' cannot be negated", "q", "-in:5");
    BAD_REQ("q: operator 'before' cannot be negated", "q", "-before:2020-01-01");
    BAD_REQ("q: a prefix (word*) cannot be excluded", "q", "-foo*");
}

static void test_limits(void **state)
{
    const char *kv[2 * 600];
    char ids[600][24];
    char big[SC_QUERY_MAX_TEXT + 2];
    char terms[33 * 4 + 1];
    sc_search_req *r = NULL;
    sc_search_opts o = {3};
    char err[SC_ERRLEN];
    (void)state;
    /* 64 parameters fine, 65 not (channel_id does not count) */
    for (int i = 0; i < 65; i++) {
        kv[2 * i] = "author_id";
        snprintf(ids[i], sizeof(ids[i]), "%d", i + 1);
        kv[2 * i + 1] = ids[i];
    }
    assert_int_equal(parse_kv(kv, 64, SC_SEARCH_GUILD, NULL, &r, err), SC_OK);
    sc_search_req_free(r);
    assert_int_equal(parse_kv(kv, 65, SC_SEARCH_GUILD, NULL, &r, err), SC_EINVAL);
    assert_string_equal(err, "too many parameters (max 64)");
    /* 500 channels fine, 501 not; a configured cap applies */
    for (int i = 0; i < 501; i++) {
        kv[2 * i] = "channel_id[]";
        snprintf(ids[i], sizeof(ids[i]), "%d", 1000 + i);
        kv[2 * i + 1] = ids[i];
    }
    assert_int_equal(parse_kv(kv, 500, SC_SEARCH_GUILD, NULL, &r, err), SC_OK);
    assert_int_equal(r->channel_ids.n, 500);
    sc_search_req_free(r);
    assert_int_equal(parse_kv(kv, 501, SC_SEARCH_GUILD, NULL, &r, err), SC_EINVAL);
    assert_string_equal(err, "channel_id: too many channels (max 500)");
    assert_int_equal(parse_kv(kv, 4, SC_SEARCH_GUILD, &o, &r, err), SC_EINVAL);
    assert_string_equal(err, "channel_id: too many channels (max 3)");
    {
        const char *kq[] = {"q", "in:1 in:2 in:3 in:4"};
        assert_int_equal(parse_kv(kq, 1, SC_SEARCH_GUILD, &o, &r, err), SC_EINVAL);
        assert_string_equal(err, "q: in: too many channels (max 3)");
    }
    /* channel endpoint: channel comes from the path */
    assert_int_equal(parse_kv(kv, 1, SC_SEARCH_CHANNEL, NULL, &r, err), SC_EINVAL);
    assert_string_equal(err, "channel_id: not allowed when searching a channel");
    {
        const char *kq[] = {"q", "hi in:5"};
        assert_int_equal(parse_kv(kq, 1, SC_SEARCH_CHANNEL, NULL, &r, err), SC_EINVAL);
        assert_string_equal(err, "q: in: not allowed when searching a channel");
        kq[1] = "hi from:5";
        assert_int_equal(parse_kv(kq, 1, SC_SEARCH_CHANNEL, NULL, &r, err), SC_OK);
        assert_int_equal(r->endpoint, SC_SEARCH_CHANNEL);
        sc_search_req_free(r);
    }
    /* DM endpoint: channel_id / in: narrow the user's DMs; mention_everyone
     * (@everyone exists only in guilds) is refused */
    assert_int_equal(parse_kv(kv, 2, SC_SEARCH_DMS, NULL, &r, err), SC_OK);
    assert_int_equal(r->endpoint, SC_SEARCH_DMS);
    assert_int_equal(r->channel_ids.n, 2);
    sc_search_req_free(r);
    {
        const char *kq[] = {"q", "hi in:<#5>", "mention_everyone", "true"};
        assert_int_equal(parse_kv(kq, 1, SC_SEARCH_DMS, NULL, &r, err), SC_OK);
        assert_true(r->channel_ids.n == 1 && r->channel_ids.v[0] == 5);
        sc_search_req_free(r);
        assert_int_equal(parse_kv(kq, 2, SC_SEARCH_DMS, NULL, &r, err), SC_EINVAL);
        assert_string_equal(err, "mention_everyone: only when searching a guild or a channel");
        assert_null(r);
        assert_int_equal(parse_kv(kq + 2, 1, SC_SEARCH_CHANNEL, NULL, &r, err), SC_OK);
        assert_int_equal(r->mention_everyone, SC_TRI_TRUE);
        sc_search_req_free(r);
    }
    /* q of 1024 bytes fine, 1025 not */
    memset(big, 'a', sizeof(big));
    big[SC_QUERY_MAX_TEXT] = '\0';
    {
        const char *kq[] = {"q", big};
        assert_int_equal(parse_kv(kq, 1, SC_SEARCH_GUILD, NULL, &r, err), SC_OK);
        sc_search_req_free(r);
        big[SC_QUERY_MAX_TEXT] = 'a';
        big[SC_QUERY_MAX_TEXT + 1] = '\0';
        assert_int_equal(parse_kv(kq, 1, SC_SEARCH_GUILD, NULL, &r, err), SC_EINVAL);
        assert_string_equal(err, "q: value longer than 1024 bytes");
        kq[0] = "content";
        assert_int_equal(parse_kv(kq, 1, SC_SEARCH_GUILD, NULL, &r, err), SC_EINVAL);
        assert_string_equal(err, "content: value longer than 1024 bytes");
    }
    /* 32 terms fine (repeats do not count), 33 not, across q and content */
    terms[0] = '\0';
    for (int i = 0; i < 32; i++) {
        size_t l = strlen(terms);
        snprintf(terms + l, sizeof(terms) - l, "t%02d ", i);
    }
    {
        const char *kq[] = {"q", terms, "content", "t00 -t00"};
        assert_int_equal(parse_kv(kq, 1, SC_SEARCH_GUILD, NULL, &r, err), SC_OK);
        assert_int_equal(r->terms.n, 32);
        sc_search_req_free(r);
        assert_int_equal(parse_kv(kq, 2, SC_SEARCH_GUILD, NULL, &r, err), SC_EINVAL);
        assert_string_equal(err, "content: too many terms (max 32)");
    }
    /* more than 100 author ids through q */
    {
        char q[SC_QUERY_MAX_TEXT + 1] = "";
        const char *kq[] = {"q", q};
        for (int i = 0; i < 101; i++) {
            size_t l = strlen(q);
            snprintf(q + l, sizeof(q) - l, "from:%d ", i);
        }
        assert_int_equal(parse_kv(kq, 1, SC_SEARCH_GUILD, NULL, &r, err), SC_EINVAL);
        assert_string_equal(err, "q: from: too many values (max 100)");
    }
    /* NULL value */
    {
        sc_query_param p = {"q", NULL};
        assert_int_equal(sc_search_req_parse(&p, 1, SC_SEARCH_GUILD, NULL, &r, err, sizeof(err)),
                         SC_EINVAL);
        assert_null(r);
    }
}

/* ---- hostile input ---- */

static void test_hostile_input_stays_string(void **state)
{
    static const char *const hostile[] = {
        "\"content:*\"",
        "*:*",
        "/.*/",
        "/regex[a-z]+/",
        "{\"script\":{\"source\":\"System.exit(0)\"}}",
        "\"}},{\"script\":{\"source\":\"x\"}},{\"x\":\"",
        "back\\\\slash\\\" quote",
        "a\\\"b",
        "OR AND NOT ( ) [ ] ^ ~ ? && || !",
        "\"\\u0000\"",
        "caf\xc3\xa9 \xe4\xb8\xad\xe6\x96\x87",
        "]}}],\"size\":10000,\"x\":[{",
        "\"_all:*\" *",
        "\"a b\\nc\"",
    };
    (void)state;
    for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
        sc_search_req *r = NULL;
        char err[SC_ERRLEN] = "";
        const char *kv[] = {"q",        hostile[i],       "attachment_filenames",
                            hostile[i], "link_hostnames", hostile[i]};
        cJSON *j;
        int nq = 0;
        size_t total_text;
        if (parse_kv(kv, 3, SC_SEARCH_GUILD, NULL, &r, err) != SC_OK)
            fail_msg("hostile input %zu rejected: %s", i, err);
        total_text = r->terms.n + r->phrases.n + r->prefixes.n + r->not_terms.n + r->not_phrases.n;
        assert_true(total_text > 0);
        j = build(r);
        walk_safe(j, "", &nq);
        /* one "query" string per text item, plus one per filename */
        assert_int_equal((size_t)nq, total_text + 1);
        /* the filename went through byte for byte as a string value */
        {
            cJSON *fn = clause(boolpart(j, "filter"), "bool", "should", 0);
            cJSON *m = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(fn, 0), "match"),
                                           "attachment_filenames.text");
            assert_string_equal(jstr(m, "query"), hostile[i]);
        }
        assert_int_equal(cJSON_GetObjectItem(j, "size")->valueint, 75);
        assert_int_equal(cJSON_GetArraySize(boolpart(j, "filter")), 3);
        cJSON_Delete(j);
        sc_search_req_free(r);
    }
    /* control characters in q end up JSON-escaped inside the string */
    {
        sc_search_req *r = OK_REQ("q", "\"a\tb\x01c\"");
        cJSON *j = build(r);
        int nq = 0;
        walk_safe(j, "", &nq);
        assert_int_equal(nq, 1);
        assert_string_equal(jstr(clause(boolpart(j, "must"), "multi_match", NULL, 0), "query"),
                            "a\tb\x01c");
        cJSON_Delete(j);
        sc_search_req_free(r);
    }
    /* a quoted operator is just a phrase */
    {
        sc_search_req *r = OK_REQ("q", "\"content:*\" \"from:1\"");
        assert_int_equal(r->phrases.n, 2);
        assert_string_equal(r->phrases.v[0], "content:*");
        assert_int_equal(r->author_ids.n, 0);
        sc_search_req_free(r);
    }
}

static void test_build_errors(void **state)
{
    sc_search_req *r = OK_REQ("q", "hello world");
    sc_buf b;
    (void)state;
    sc_buf_init(&b, 0);
    assert_int_equal(sc_query_build(r, CHANS, 0, 25, &b), SC_EINVAL);
    assert_int_equal(sc_query_build(r, NULL, 2, 25, &b), SC_EINVAL);
    assert_int_equal(sc_query_build(r, CHANS, 2, 0, &b), SC_EINVAL);
    sc_buf_free(&b);
    sc_buf_init(&b, 64); /* cap too small */
    assert_int_equal(sc_query_build(r, CHANS, 2, 25, &b), SC_ENOMEM);
    sc_buf_free(&b);
    sc_search_req_free(r);
}

/* ---- highlighting ---- */

static void hl(const char *q, const char *content, const char *want)
{
    sc_search_req *r = OK_REQ("q", q);
    sc_hl_term t[SC_QUERY_MAX_TERMS];
    size_t n = sc_query_highlight_terms(r, t, SC_QUERY_MAX_TERMS);
    sc_buf b;
    sc_buf_init(&b, 0);
    assert_int_equal(sc_highlight(content, t, n, &b), SC_OK);
    assert_string_equal(b.data, want);
    {
        cJSON *j = cJSON_Parse(b.data);
        assert_true(cJSON_IsArray(j));
        cJSON_Delete(j);
    }
    sc_buf_free(&b);
    sc_search_req_free(r);
}

static void test_highlight(void **state)
{
    sc_search_req *r;
    sc_hl_term t[2];
    (void)state;
    hl("hello", "Hello world, HELLO again; othello", "[\"Hello\",\"HELLO\"]");
    hl("deplo*", "We deployed; redeploy later. Deployment!", "[\"deployed\",\"Deployment\"]");
    hl("\"big  cat\" -dog", "a BIG\tcat and a dog", "[\"BIG\\tcat\"]");
    hl("caf\xc3\xa9", "CAF\xc3\xa9 caf\xc3\x89", "[\"CAF\xc3\xa9\"]"); /* non-ASCII exact */
    hl("\xe4\xb8\xad\xe6\x96\x87", "\xe6\x88\x91\xe8\xaf\xb4\xe4\xb8\xad\xe6\x96\x87",
       "[\"\xe4\xb8\xad\xe6\x96\x87\"]"); /* CJK inside a run */
    hl("quote\"s", "say quote\"s", "[\"quote\\\"s\"]");
    hl("nothing", "no match here", "[]");
    hl("WoRLD 9lives", "hello world, 9LIVES", "[\"world\",\"9LIVES\"]"); /* either case starts */
    hl("from:5", "anything", "[]");
    hl("a b", "b a a b", "[\"b\",\"a\"]"); /* distinct, in order of appearance */
    /* exclusions are not highlighted; limits respected */
    r = OK_REQ("q", "x -y \"p q\" z*");
    assert_int_equal(sc_query_highlight_terms(r, t, 2), 2);
    assert_string_equal(t[0].text, "x");
    assert_int_equal(t[0].prefix, 0);
    assert_string_equal(t[1].text, "p q");
    sc_search_req_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_shape),
        cmocka_unit_test(test_sort_offset_limit_context),
        cmocka_unit_test(test_id_params),
        cmocka_unit_test(test_enum_and_bool_params),
        cmocka_unit_test(test_keyword_params),
        cmocka_unit_test(test_min_max_id),
        cmocka_unit_test(test_q_text),
        cmocka_unit_test(test_q_operators),
        cmocka_unit_test(test_q_dates),
        cmocka_unit_test(test_param_errors),
        cmocka_unit_test(test_q_errors),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_hostile_input_stays_string),
        cmocka_unit_test(test_build_errors),
        cmocka_unit_test(test_highlight),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
