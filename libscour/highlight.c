/*
 * highlight.c - the terms of a search that the router marks in a hit's
 * content, and the marking itself (sc_query_highlight_terms, sc_highlight;
 * see query.h).
 */
#include "query_int.h"

#include <string.h>

#define HL_MAX_MATCHES 64

size_t sc_query_highlight_terms(const sc_search_req *r, sc_hl_term *out, size_t max)
{
    size_t k = 0;
    if (r == NULL || out == NULL)
        return 0;
    for (size_t i = 0; i < r->terms.n && k < max; i++)
        out[k++] = (sc_hl_term){r->terms.v[i], 0};
    for (size_t i = 0; i < r->phrases.n && k < max; i++)
        out[k++] = (sc_hl_term){r->phrases.v[i], 0};
    for (size_t i = 0; i < r->prefixes.n && k < max; i++)
        out[k++] = (sc_hl_term){r->prefixes.v[i], 1};
    return k;
}

/* Length of the match of t at s (0 = none); whitespace in t matches runs. */
static size_t match_at(const unsigned char *s, const unsigned char *t)
{
    const unsigned char *s0 = s;
    while (*t) {
        if (is_space(*t)) {
            if (!is_space(*s))
                return 0;
            while (is_space(*t))
                t++;
            while (is_space(*s))
                s++;
            continue;
        }
        if (*s == '\0' || lower(*s) != lower(*t))
            return 0;
        s++;
        t++;
    }
    return (size_t)(s - s0);
}

sc_status sc_highlight(const char *content, const sc_hl_term *terms, size_t n, sc_buf *out)
{
    const unsigned char *s = (const unsigned char *)content;
    size_t len = content ? strlen(content) : 0;
    size_t off[HL_MAX_MATCHES], mlen[HL_MAX_MATCHES], nm = 0;
    unsigned char first[256]; /* 1 for a byte a term can start with, either case */

    memset(first, 0, sizeof(first));
    for (size_t k = 0; k < n; k++) {
        unsigned char c = terms[k].text != NULL ? (unsigned char)terms[k].text[0] : 0;
        if (is_space(c)) /* a leading space matches any run of spaces */
            first[' '] = first['\t'] = first['\n'] = first['\r'] = first['\f'] = first['\v'] = 1;
        else if (c != 0)
            first[lower(c)] = first[(c >= 'a' && c <= 'z') ? c - 32 : c] = 1;
    }
    /* scan content left to right so matches come out in order */
    for (size_t i = 0; i < len && nm < HL_MAX_MATCHES; i++) {
        size_t best = 0;
        if (!first[s[i]])
            continue; /* no term starts with this byte */
        if (i > 0 && is_alnum(s[i - 1]) && is_alnum(s[i]))
            continue; /* mid-word: no ASCII word starts here */
        for (size_t k = 0; k < n; k++) {
            const unsigned char *t = (const unsigned char *)terms[k].text;
            size_t tl, m;
            if (t == NULL || *t == '\0')
                continue;
            if (lower(*t) != lower(s[i]) && !is_space(*t))
                continue; /* cheap first-byte test before the full match */
            tl = strlen((const char *)t);
            m = match_at(s + i, t);
            if (m == 0)
                continue;
            if (terms[k].prefix) {
                while (i + m < len && is_alnum(s[i + m]))
                    m++;
            } else if (is_alnum(t[tl - 1]) && i + m < len && is_alnum(s[i + m])) {
                continue; /* ends mid-word */
            }
            if (m > best)
                best = m;
        }
        if (best == 0)
            continue;
        {
            int dup = 0;
            for (size_t j = 0; j < nm && !dup; j++)
                dup = mlen[j] == best && memcmp(s + off[j], s + i, best) == 0;
            if (!dup) {
                off[nm] = i;
                mlen[nm] = best;
                nm++;
            }
        }
        i += best - 1;
    }
    TRY(sc_buf_append(out, "[", 1));
    for (size_t j = 0; j < nm; j++) {
        if (j)
            TRY(sc_buf_append(out, ",", 1));
        TRY(sc_buf_json_strn(out, content + off[j], mlen[j]));
    }
    return sc_buf_append(out, "]", 1);
}
