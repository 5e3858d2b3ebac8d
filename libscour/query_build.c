/*
 * query_build.c - the Elasticsearch/OpenSearch query body of one search
 * (sc_query_build, see query.h) from a parsed sc_search_req. JSON is
 * written with sc_buf_json_str only, so user text can only ever become a
 * JSON string value.
 */
#include "query_int.h"

#include <stdio.h>
#include <string.h>


/* Comma before every element but the first. */
static sc_status sep(sc_buf *b, int *first)
{
    if (*first) {
        *first = 0;
        return SC_OK;
    }
    return sc_buf_append(b, ",", 1);
}

static sc_status put_id(sc_buf *b, uint64_t id)
{
    return sc_buf_printf(b, "\"%llu\"", (unsigned long long)id);
}

static sc_status terms_ids(sc_buf *b, int *first, const char *field, const uint64_t *v, size_t n)
{
    if (n == 0)
        return SC_OK;
    TRY(sep(b, first));
    TRY(sc_buf_printf(b, "{\"terms\":{\"%s\":[", field));
    for (size_t i = 0; i < n; i++) {
        if (i)
            TRY(sc_buf_append(b, ",", 1));
        TRY(put_id(b, v[i]));
    }
    return sc_buf_puts(b, "]}}");
}

static sc_status terms_strs(sc_buf *b, int *first, const char *field, const char *const *v,
                            size_t n)
{
    if (n == 0)
        return SC_OK;
    TRY(sep(b, first));
    TRY(sc_buf_printf(b, "{\"terms\":{\"%s\":[", field));
    for (size_t i = 0; i < n; i++) {
        if (i)
            TRY(sc_buf_append(b, ",", 1));
        TRY(sc_buf_json_str(b, v[i]));
    }
    return sc_buf_puts(b, "]}}");
}

static sc_status terms_bits(sc_buf *b, int *first, const char *field, unsigned bits,
                            const char *const *names, int nnames)
{
    const char *v[8];
    size_t n = 0;
    for (int i = 0; i < nnames; i++)
        if (bits & (1u << i))
            v[n++] = names[i];
    return terms_strs(b, first, field, v, n);
}

static sc_status term_bool(sc_buf *b, int *first, const char *field, sc_tristate t)
{
    if (t == SC_TRI_UNSET)
        return SC_OK;
    TRY(sep(b, first));
    return sc_buf_printf(b, "{\"term\":{\"%s\":%s}}", field, t == SC_TRI_TRUE ? "true" : "false");
}

static sc_status mm_words(sc_buf *b, int *first, const char *text)
{
    TRY(sep(b, first));
    TRY(sc_buf_puts(b, "{\"multi_match\":{\"query\":"));
    TRY(sc_buf_json_str(b, text));
    return sc_buf_puts(b, ",\"fields\":[\"content\",\"content.en\",\"content.cjk\"],"
                          "\"type\":\"best_fields\",\"operator\":\"and\"}}");
}

static sc_status mm_phrase(sc_buf *b, int *first, const char *text)
{
    TRY(sep(b, first));
    TRY(sc_buf_puts(b, "{\"multi_match\":{\"query\":"));
    TRY(sc_buf_json_str(b, text));
    return sc_buf_puts(b, ",\"fields\":[\"content\",\"content.cjk\"],\"type\":\"phrase\"}}");
}

static sc_status prefix_q(sc_buf *b, int *first, const char *text)
{
    TRY(sep(b, first));
    TRY(sc_buf_puts(b, "{\"match_phrase_prefix\":{\"content\":{\"query\":"));
    TRY(sc_buf_json_str(b, text));
    return sc_buf_puts(b, "}}}");
}

#define SL(l) ((const char *const *)(l).v), (l).n

sc_status sc_query_build(const sc_search_req *r, const uint64_t *channel_ids, size_t n, size_t size,
                         sc_buf *out)
{
    int f = 1;
    if (r == NULL || channel_ids == NULL || n == 0 || size == 0 || out == NULL)
        return SC_EINVAL;

    TRY(sc_buf_puts(out, "{\"query\":{\"bool\":{\"filter\":["));
    TRY(terms_ids(out, &f, "channel_id", channel_ids, n));
    if (r->id_gte > 0 || r->has_id_lt) {
        TRY(sep(out, &f));
        TRY(sc_buf_puts(out, "{\"range\":{\"id\":{"));
        if (r->id_gte > 0) {
            TRY(sc_buf_puts(out, "\"gte\":"));
            TRY(put_id(out, r->id_gte));
        }
        if (r->has_id_lt) {
            TRY(sc_buf_puts(out, r->id_gte > 0 ? ",\"lt\":" : "\"lt\":"));
            TRY(put_id(out, r->id_lt));
        }
        TRY(sc_buf_puts(out, "}}}"));
    }
    TRY(term_bool(out, &f, "pinned", r->pinned));
    TRY(terms_ids(out, &f, "author_id", r->author_ids.v, r->author_ids.n));
    TRY(terms_bits(out, &f, "author_type", r->author_types, sc_query_author_type_names, 3));
    TRY(terms_ids(out, &f, "mentions", r->mentions.v, r->mentions.n));
    TRY(term_bool(out, &f, "mention_everyone", r->mention_everyone));
    for (int i = 0; i < SC_HAS_KINDS; i++)
        if (r->has & (1u << i))
            TRY(terms_bits(out, &f, "has", 1u << i, sc_query_has_names, SC_HAS_KINDS));
    TRY(terms_strs(out, &f, "link_hostnames", SL(r->link_hostnames)));
    TRY(terms_strs(out, &f, "attachment_extensions", SL(r->attachment_extensions)));
    if (r->attachment_filenames.n > 0) {
        int g = 1;
        TRY(sep(out, &f));
        TRY(sc_buf_puts(out, "{\"bool\":{\"should\":["));
        for (size_t i = 0; i < r->attachment_filenames.n; i++) {
            TRY(sep(out, &g));
            TRY(sc_buf_puts(out, "{\"match\":{\"attachment_filenames.text\":{\"query\":"));
            TRY(sc_buf_json_str(out, r->attachment_filenames.v[i]));
            TRY(sc_buf_puts(out, ",\"operator\":\"and\"}}}"));
        }
        TRY(sc_buf_puts(out, "],\"minimum_should_match\":1}}"));
    }
    TRY(terms_strs(out, &f, "embed_types", SL(r->embed_types)));
    TRY(terms_strs(out, &f, "embed_providers", SL(r->embed_providers)));

    f = 1;
    TRY(sc_buf_puts(out, "],\"must\":["));
    for (size_t i = 0; i < r->terms.n; i++)
        TRY(mm_words(out, &f, r->terms.v[i]));
    for (size_t i = 0; i < r->phrases.n; i++)
        TRY(mm_phrase(out, &f, r->phrases.v[i]));
    for (size_t i = 0; i < r->prefixes.n; i++)
        TRY(prefix_q(out, &f, r->prefixes.v[i]));

    f = 0; /* deleted comes first */
    TRY(sc_buf_puts(out, "],\"must_not\":[{\"term\":{\"deleted\":true}}"));
    for (size_t i = 0; i < r->not_terms.n; i++)
        TRY(mm_words(out, &f, r->not_terms.v[i]));
    for (size_t i = 0; i < r->not_phrases.n; i++)
        TRY(mm_phrase(out, &f, r->not_phrases.v[i]));
    TRY(terms_bits(out, &f, "has", r->not_has, sc_query_has_names, SC_HAS_KINDS));
    TRY(terms_ids(out, &f, "author_id", r->not_author_ids.v, r->not_author_ids.n));
    TRY(terms_bits(out, &f, "author_type", r->not_author_types, sc_query_author_type_names, 3));

    TRY(sc_buf_printf(out,
                      "]}},\"from\":0,\"size\":%zu,\"track_total_hits\":true,"
                      "\"_source\":[\"id\",\"channel_id\"],\"sort\":",
                      size));
    if (r->sort_by == SC_SORT_RELEVANCE)
        TRY(sc_buf_puts(out, "[\"_score\",{\"id\":\"desc\"}]}"));
    else
        TRY(sc_buf_puts(out, r->sort_order == SC_ORDER_ASC ? "[{\"id\":\"asc\"}]}"
                                                           : "[{\"id\":\"desc\"}]}"));
    return SC_OK;
}
