/*
 * query.c - search request parsing for the router: the parameters and the
 * user's q syntax into an sc_search_req; see query.h for the contract. The
 * Elasticsearch query is built in query_build.c, highlights in highlight.c.
 *
 * The parser is a table of known parameters plus a small tokenizer for the
 * user's q syntax; every value is length-capped and UTF-8 checked before it
 * is looked at.
 */
#include "query_int.h"

#include "message.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_SNOWFLAKE ((uint64_t)INT64_MAX) /* Elasticsearch long is signed */
#define MS_PER_DAY 86400000LL

/* Parameter kinds, one handler each. */
typedef enum pkind {
    P_CONTENT,
    P_Q,
    P_AUTHOR_ID,
    P_AUTHOR_TYPE,
    P_MENTIONS,
    P_MENTION_EVERYONE,
    P_HAS,
    P_CHANNEL_ID,
    P_MIN_ID,
    P_MAX_ID,
    P_PINNED,
    P_LINK_HOSTNAME,
    P_ATT_EXT,
    P_ATT_FILENAME,
    P_EMBED_TYPE,
    P_EMBED_PROVIDER,
    P_SORT_BY,
    P_SORT_ORDER,
    P_OFFSET,
    P_LIMIT,
    P_CONTEXT,
    P_COUNT
} pkind;

/* One known parameter. */
typedef struct pdef {
    const char *name; /* key without "[]" */
    pkind kind;       /* handler */
    size_t maxlen;    /* max value bytes */
    int repeat;       /* 1 = list parameter, may repeat */
} pdef;

static const pdef ptab[] = {
    {"content", P_CONTENT, SC_QUERY_MAX_TEXT, 0},
    {"q", P_Q, SC_QUERY_MAX_TEXT, 0},
    {"author_id", P_AUTHOR_ID, SC_QUERY_MAX_VALUE, 1},
    {"author_type", P_AUTHOR_TYPE, SC_QUERY_MAX_VALUE, 1},
    {"mentions", P_MENTIONS, SC_QUERY_MAX_VALUE, 1},
    {"mention_everyone", P_MENTION_EVERYONE, SC_QUERY_MAX_VALUE, 0},
    {"has", P_HAS, SC_QUERY_MAX_VALUE, 1},
    {"channel_id", P_CHANNEL_ID, SC_QUERY_MAX_VALUE, 1},
    {"min_id", P_MIN_ID, SC_QUERY_MAX_VALUE, 0},
    {"max_id", P_MAX_ID, SC_QUERY_MAX_VALUE, 0},
    {"pinned", P_PINNED, SC_QUERY_MAX_VALUE, 0},
    {"link_hostname", P_LINK_HOSTNAME, SC_QUERY_MAX_KEYWORD, 1},
    {"link_hostnames", P_LINK_HOSTNAME, SC_QUERY_MAX_KEYWORD, 1},
    {"attachment_extension", P_ATT_EXT, SC_QUERY_MAX_KEYWORD, 1},
    {"attachment_extensions", P_ATT_EXT, SC_QUERY_MAX_KEYWORD, 1},
    {"attachment_filename", P_ATT_FILENAME, SC_QUERY_MAX_KEYWORD, 1},
    {"attachment_filenames", P_ATT_FILENAME, SC_QUERY_MAX_KEYWORD, 1},
    {"embed_type", P_EMBED_TYPE, SC_QUERY_MAX_KEYWORD, 1},
    {"embed_types", P_EMBED_TYPE, SC_QUERY_MAX_KEYWORD, 1},
    {"embed_provider", P_EMBED_PROVIDER, SC_QUERY_MAX_KEYWORD, 1},
    {"embed_providers", P_EMBED_PROVIDER, SC_QUERY_MAX_KEYWORD, 1},
    {"sort_by", P_SORT_BY, SC_QUERY_MAX_VALUE, 0},
    {"sort_order", P_SORT_ORDER, SC_QUERY_MAX_VALUE, 0},
    {"offset", P_OFFSET, SC_QUERY_MAX_VALUE, 0},
    {"limit", P_LIMIT, SC_QUERY_MAX_VALUE, 0},
    {"context", P_CONTEXT, SC_QUERY_MAX_VALUE, 0},
    {"include_context", P_CONTEXT, SC_QUERY_MAX_VALUE, 0},
};

const char *const sc_query_has_names[SC_HAS_KINDS] = {"link",  "embed", "file",   "image",
                                                      "video", "sound", "sticker"};
const char *const sc_query_author_type_names[3] = {"user", "bot", "webhook"};

/* Parse state. */
typedef struct pctx {
    sc_search_req *r;    /* request being filled (owned by the caller) */
    char *err;           /* caller's error buffer */
    size_t errlen;       /* its size */
    size_t max_channels; /* channel_ids cap */
    size_t n_text;       /* text items so far (cap SC_QUERY_MAX_TERMS) */
} pctx;

/* ---- owned lists ---- */

static void strlist_clear(sc_strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

/* Append a copy of s[0..len) unless already present. SC_EINVAL when full. */
static sc_status strlist_add(sc_strlist *l, const char *s, size_t len, size_t max, int *added)
{
    char *c, **nv;
    *added = 0;
    for (size_t i = 0; i < l->n; i++)
        if (strlen(l->v[i]) == len && memcmp(l->v[i], s, len) == 0)
            return SC_OK;
    if (l->n >= max)
        return SC_EINVAL;
    c = malloc(len + 1);
    if (c == NULL)
        return SC_ENOMEM;
    memcpy(c, s, len);
    c[len] = '\0';
    nv = realloc(l->v, (l->n + 1) * sizeof(*nv));
    if (nv == NULL) {
        free(c);
        return SC_ENOMEM;
    }
    l->v = nv;
    l->v[l->n++] = c;
    *added = 1;
    return SC_OK;
}

static sc_status idlist_add(sc_idlist *l, uint64_t id, size_t max)
{
    uint64_t *nv;
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i] == id)
            return SC_OK;
    if (l->n >= max)
        return SC_EINVAL;
    nv = realloc(l->v, (l->n + 1) * sizeof(*nv));
    if (nv == NULL)
        return SC_ENOMEM;
    l->v = nv;
    l->v[l->n++] = id;
    return SC_OK;
}

void sc_search_req_free(sc_search_req *r)
{
    if (r == NULL)
        return;
    strlist_clear(&r->terms);
    strlist_clear(&r->phrases);
    strlist_clear(&r->prefixes);
    strlist_clear(&r->not_terms);
    strlist_clear(&r->not_phrases);
    strlist_clear(&r->link_hostnames);
    strlist_clear(&r->attachment_extensions);
    strlist_clear(&r->attachment_filenames);
    strlist_clear(&r->embed_types);
    strlist_clear(&r->embed_providers);
    free(r->author_ids.v);
    free(r->not_author_ids.v);
    free(r->mentions.v);
    free(r->channel_ids.v);
    free(r);
}

/* ---- value parsers (pname names the parameter in errors) ---- */

static sc_status parse_snowflake(pctx *c, const char *pname, const char *v, uint64_t *out)
{
    if (sc_parse_u64(v, out) != SC_OK || *out > MAX_SNOWFLAKE) {
        sc_seterr(c->err, c->errlen, "%s: not a snowflake id", pname);
        return SC_EINVAL;
    }
    return SC_OK;
}

/* Strip a "<@ID>", "<@!ID>" or "<#ID>" wrapper into buf (bounded). */
static const char *unwrap_mention(const char *v, char sigil, char *buf, size_t buflen)
{
    size_t n = strlen(v), skip;
    if (n < 3 || v[0] != '<' || v[1] != sigil || v[n - 1] != '>')
        return v;
    skip = (sigil == '@' && v[2] == '!') ? 3 : 2;
    if (n - skip - 1 >= buflen)
        return v;
    memcpy(buf, v + skip, n - skip - 1);
    buf[n - skip - 1] = '\0';
    return buf;
}

static sc_status parse_bool(pctx *c, const char *pname, const char *v, int *out)
{
    if (strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0) {
        *out = 1;
    } else if (strcasecmp(v, "false") == 0 || strcmp(v, "0") == 0) {
        *out = 0;
    } else {
        sc_seterr(c->err, c->errlen, "%s: expected true or false", pname);
        return SC_EINVAL;
    }
    return SC_OK;
}

static sc_status parse_range(pctx *c, const char *pname, const char *v, uint32_t lo, uint32_t hi,
                             uint32_t *out)
{
    uint64_t x;
    if (strlen(v) > 9 || sc_parse_u64(v, &x) != SC_OK || x < lo || x > hi) {
        sc_seterr(c->err, c->errlen, "%s: must be between %u and %u", pname, (unsigned)lo,
                  (unsigned)hi);
        return SC_EINVAL;
    }
    *out = (uint32_t)x;
    return SC_OK;
}

static sc_status list_full(pctx *c, const char *pname, sc_status st, size_t max)
{
    if (st == SC_EINVAL)
        sc_seterr(c->err, c->errlen, "%s: too many values (max %zu)", pname, max);
    else if (st == SC_ENOMEM)
        sc_seterr(c->err, c->errlen, "out of memory");
    return st;
}

static sc_status add_author(pctx *c, const char *pname, const char *v, int neg)
{
    char tmp[SC_QUERY_MAX_VALUE + 1];
    uint64_t id;
    sc_status st;
    v = unwrap_mention(v, '@', tmp, sizeof(tmp));
    if ((st = parse_snowflake(c, pname, v, &id)) != SC_OK)
        return st;
    st = idlist_add(neg ? &c->r->not_author_ids : &c->r->author_ids, id, SC_QUERY_MAX_IDS);
    return st == SC_OK ? st : list_full(c, pname, st, SC_QUERY_MAX_IDS);
}

static sc_status add_mention(pctx *c, const char *pname, const char *v)
{
    char tmp[SC_QUERY_MAX_VALUE + 1];
    uint64_t id;
    sc_status st;
    v = unwrap_mention(v, '@', tmp, sizeof(tmp));
    if ((st = parse_snowflake(c, pname, v, &id)) != SC_OK)
        return st;
    st = idlist_add(&c->r->mentions, id, SC_QUERY_MAX_IDS);
    return st == SC_OK ? st : list_full(c, pname, st, SC_QUERY_MAX_IDS);
}

static sc_status add_channel(pctx *c, const char *pname, const char *v)
{
    char tmp[SC_QUERY_MAX_VALUE + 1];
    uint64_t id;
    sc_status st;
    if (c->r->endpoint == SC_SEARCH_CHANNEL) {
        sc_seterr(c->err, c->errlen, "%s: not allowed when searching a channel", pname);
        return SC_EINVAL;
    }
    v = unwrap_mention(v, '#', tmp, sizeof(tmp));
    if ((st = parse_snowflake(c, pname, v, &id)) != SC_OK)
        return st;
    st = idlist_add(&c->r->channel_ids, id, c->max_channels);
    if (st == SC_EINVAL) {
        sc_seterr(c->err, c->errlen, "%s: too many channels (max %zu)", pname, c->max_channels);
        return st;
    }
    return st == SC_OK ? st : list_full(c, pname, st, c->max_channels);
}

static sc_status add_author_type(pctx *c, const char *pname, const char *v, int neg)
{
    for (int i = 0; i < 3; i++) {
        if (strcasecmp(v, sc_query_author_type_names[i]) == 0) {
            if (neg)
                c->r->not_author_types |= SC_AUTHOR_BIT(i);
            else
                c->r->author_types |= SC_AUTHOR_BIT(i);
            return SC_OK;
        }
    }
    sc_seterr(c->err, c->errlen, "%s: expected user, bot or webhook", pname);
    return SC_EINVAL;
}

static sc_status add_has(pctx *c, const char *pname, const char *v, int neg)
{
    for (int i = 0; i < SC_HAS_KINDS; i++) {
        if (strcasecmp(v, sc_query_has_names[i]) == 0) {
            if (neg)
                c->r->not_has |= 1u << i;
            else
                c->r->has |= 1u << i;
            return SC_OK;
        }
    }
    sc_seterr(c->err, c->errlen,
              "%s: expected one of link, embed, file, image, video, sound, sticker", pname);
    return SC_EINVAL;
}

/* Keyword list value: trimmed, optionally lowercased / dot-stripped. */
static sc_status add_keyword(pctx *c, const char *pname, const char *v, sc_strlist *l, int lc,
                             int strip_dot)
{
    char tmp[SC_QUERY_MAX_KEYWORD + 1];
    size_t n = strlen(v), b = 0;
    int added;
    sc_status st;
    while (b < n && is_space((unsigned char)v[b]))
        b++;
    while (n > b && is_space((unsigned char)v[n - 1]))
        n--;
    if (strip_dot && b < n && v[b] == '.')
        b++;
    if (n == b) {
        sc_seterr(c->err, c->errlen, "%s: empty value", pname);
        return SC_EINVAL;
    }
    if (n - b > SC_QUERY_MAX_KEYWORD) {
        sc_seterr(c->err, c->errlen, "%s: value longer than %d bytes", pname, SC_QUERY_MAX_KEYWORD);
        return SC_EINVAL;
    }
    for (size_t i = b; i < n; i++) {
        unsigned char ch = (unsigned char)v[i];
        if (ch < 0x20 || ch == 0x7f) {
            sc_seterr(c->err, c->errlen, "%s: control character in value", pname);
            return SC_EINVAL;
        }
        tmp[i - b] = (char)(lc ? lower(ch) : ch);
    }
    st = strlist_add(l, tmp, n - b, SC_QUERY_MAX_KEYWORDS, &added);
    return st == SC_OK ? st : list_full(c, pname, st, SC_QUERY_MAX_KEYWORDS);
}

/* ---- dates ---- */

/* Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    unsigned yoe, doy, doe;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* "YYYY-MM-DD" (1970..9999, real calendar day) -> Unix ms at 00:00 UTC. */
static int parse_date(const char *s, int64_t *ms)
{
    static const unsigned mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    unsigned y = 0, m, d;
    int leap;
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return 0;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return 0;
    for (int i = 0; i < 4; i++)
        y = y * 10 + (unsigned)(s[i] - '0');
    m = (unsigned)((s[5] - '0') * 10 + (s[6] - '0'));
    d = (unsigned)((s[8] - '0') * 10 + (s[9] - '0'));
    if (y < 1970 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
        return 0;
    leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (m == 2 && d == 29 && !leap)
        return 0;
    *ms = days_from_civil(y, m, d) * MS_PER_DAY;
    return 1;
}

/* Smallest snowflake at unix_ms, clamped to the signed 64-bit range. */
static uint64_t snowflake_at(int64_t unix_ms)
{
    if (unix_ms - SC_SNOWFLAKE_EPOCH_MS > (int64_t)(MAX_SNOWFLAKE >> 22))
        return MAX_SNOWFLAKE;
    return sc_snowflake_from_ms(unix_ms);
}

static void bound_gte(sc_search_req *r, uint64_t v)
{
    if (v > r->id_gte)
        r->id_gte = v;
}

static void bound_lt(sc_search_req *r, uint64_t v)
{
    if (!r->has_id_lt || v < r->id_lt) {
        r->id_lt = v;
        r->has_id_lt = 1;
    }
}

/* ---- the q syntax ---- */

static sc_status add_text(pctx *c, const char *pname, sc_strlist *l, const char *s, size_t len)
{
    int added;
    sc_status st;
    if (c->n_text >= SC_QUERY_MAX_TERMS) {
        /* only fail if this would be a new item */
        for (size_t i = 0; i < l->n; i++)
            if (strlen(l->v[i]) == len && memcmp(l->v[i], s, len) == 0)
                return SC_OK;
        sc_seterr(c->err, c->errlen, "%s: too many terms (max %d)", pname, SC_QUERY_MAX_TERMS);
        return SC_EINVAL;
    }
    st = strlist_add(l, s, len, SC_QUERY_MAX_TERMS, &added);
    if (st != SC_OK)
        return list_full(c, pname, st, SC_QUERY_MAX_TERMS);
    c->n_text += (size_t)added;
    return SC_OK;
}

/* Handle "op:val" (op already known to be letters/underscore). */
static sc_status do_operator(pctx *c, const char *pname, const char *op, size_t oplen,
                             const char *val, int neg)
{
    char name[40];
    char full[64];
    int64_t ms;
    int b;
    if (oplen >= sizeof(name))
        oplen = sizeof(name) - 1;
    for (size_t i = 0; i < oplen; i++)
        name[i] = (char)lower((unsigned char)op[i]);
    name[oplen] = '\0';
    /* errors read "q: from: not a snowflake id" */
    snprintf(full, sizeof(full), "%s: %s", pname, name);
    if (strcmp(name, "from") == 0 || strcmp(name, "has") == 0 || strcmp(name, "author_type") == 0) {
        if (*val == '\0') {
            sc_seterr(c->err, c->errlen, "%s: needs a value", full);
            return SC_EINVAL;
        }
        if (name[0] == 'f')
            return add_author(c, full, val, neg);
        if (name[0] == 'h')
            return add_has(c, full, val, neg);
        return add_author_type(c, full, val, neg);
    }
    if (strcmp(name, "mentions") != 0 && strcmp(name, "in") != 0 && strcmp(name, "pinned") != 0 &&
        strcmp(name, "before") != 0 && strcmp(name, "after") != 0 && strcmp(name, "during") != 0) {
        sc_seterr(c->err, c->errlen, "%s: unknown search operator '%s'", pname, name);
        return SC_EINVAL;
    }
    if (neg) {
        sc_seterr(c->err, c->errlen, "%s: operator '%s' cannot be negated", pname, name);
        return SC_EINVAL;
    }
    if (*val == '\0') {
        sc_seterr(c->err, c->errlen, "%s: needs a value", full);
        return SC_EINVAL;
    }
    if (strcmp(name, "mentions") == 0)
        return add_mention(c, full, val);
    if (strcmp(name, "in") == 0)
        return add_channel(c, full, val);
    if (strcmp(name, "pinned") == 0) {
        if (parse_bool(c, full, val, &b) != SC_OK)
            return SC_EINVAL;
        if (c->r->pinned != SC_TRI_UNSET && c->r->pinned != (b ? SC_TRI_TRUE : SC_TRI_FALSE)) {
            sc_seterr(c->err, c->errlen, "%s: conflicts with another pinned value", full);
            return SC_EINVAL;
        }
        c->r->pinned = b ? SC_TRI_TRUE : SC_TRI_FALSE;
        return SC_OK;
    }
    if (!parse_date(val, &ms)) {
        sc_seterr(c->err, c->errlen, "%s: expected a date YYYY-MM-DD", full);
        return SC_EINVAL;
    }
    if (name[0] == 'b') {
        bound_lt(c->r, snowflake_at(ms));
    } else if (name[0] == 'a') {
        bound_gte(c->r, snowflake_at(ms + MS_PER_DAY));
    } else {
        bound_gte(c->r, snowflake_at(ms));
        bound_lt(c->r, snowflake_at(ms + MS_PER_DAY));
    }
    return SC_OK;
}

static sc_status parse_text(pctx *c, const char *pname, const char *s)
{
    const char *p = s;
    char val[SC_QUERY_MAX_TEXT + 1];
    sc_status st;
    for (;;) {
        const char *w, *colon;
        size_t len;
        int neg = 0;
        while (is_space((unsigned char)*p))
            p++;
        if (*p == '\0')
            return SC_OK;
        if (*p == '-') {
            neg = 1;
            p++;
            if (*p == '\0' || is_space((unsigned char)*p))
                continue; /* a lone '-' means nothing */
        }
        if (*p == '"') {
            const char *q = strchr(p + 1, '"');
            const char *a = p + 1, *e;
            if (q == NULL) {
                sc_seterr(c->err, c->errlen, "%s: unterminated quote", pname);
                return SC_EINVAL;
            }
            e = q;
            p = q + 1;
            while (a < e && is_space((unsigned char)*a))
                a++;
            while (e > a && is_space((unsigned char)e[-1]))
                e--;
            if (e == a)
                continue; /* "" is nothing */
            st = add_text(c, pname, neg ? &c->r->not_phrases : &c->r->phrases, a, (size_t)(e - a));
            if (st != SC_OK)
                return st;
            continue;
        }
        w = p;
        while (*p && !is_space((unsigned char)*p))
            p++;
        len = (size_t)(p - w);
        colon = memchr(w, ':', len);
        if (colon != NULL && colon > w && !(colon + 2 < p && colon[1] == '/' && colon[2] == '/')) {
            int opish = 1;
            for (const char *k = w; k < colon; k++)
                if (!(((*k | 32) >= 'a' && (*k | 32) <= 'z') || *k == '_'))
                    opish = 0;
            if (opish) {
                size_t vl = (size_t)(p - colon - 1);
                memcpy(val, colon + 1, vl); /* vl < len <= SC_QUERY_MAX_TEXT */
                val[vl] = '\0';
                st = do_operator(c, pname, w, (size_t)(colon - w), val, neg);
                if (st != SC_OK)
                    return st;
                continue;
            }
        }
        if (len > 1 && w[len - 1] == '*') {
            size_t stem = len;
            while (stem > 0 && w[stem - 1] == '*')
                stem--;
            if (stem > 0) {
                if (neg) {
                    sc_seterr(c->err, c->errlen, "%s: a prefix (word*) cannot be excluded", pname);
                    return SC_EINVAL;
                }
                st = add_text(c, pname, &c->r->prefixes, w, stem);
                if (st != SC_OK)
                    return st;
                continue;
            }
        }
        st = add_text(c, pname, neg ? &c->r->not_terms : &c->r->terms, w, len);
        if (st != SC_OK)
            return st;
    }
}

/* ---- the parameter loop ---- */

/* Printable copy of an outside key for error messages. */
static void safe_key(const char *k, char *buf, size_t len)
{
    size_t i;
    for (i = 0; i + 1 < len && k[i]; i++)
        buf[i] = (k[i] >= 0x20 && k[i] < 0x7f) ? k[i] : '?';
    buf[i] = '\0';
}

static const pdef *find_param(const char *key)
{
    size_t n = strlen(key);
    if (n >= 2 && key[n - 2] == '[' && key[n - 1] == ']')
        n -= 2;
    for (size_t i = 0; i < sizeof(ptab) / sizeof(ptab[0]); i++)
        if (strlen(ptab[i].name) == n && memcmp(ptab[i].name, key, n) == 0)
            return &ptab[i];
    return NULL;
}

static sc_status apply_param(pctx *c, const pdef *d, const char *v)
{
    sc_search_req *r = c->r;
    const char *pn = d->name;
    uint64_t id;
    int b;
    switch (d->kind) {
    case P_CONTENT:
    case P_Q:
        return parse_text(c, pn, v);
    case P_AUTHOR_ID:
        return v[0] == '-' ? add_author(c, pn, v + 1, 1) : add_author(c, pn, v, 0);
    case P_AUTHOR_TYPE:
        return v[0] == '-' ? add_author_type(c, pn, v + 1, 1) : add_author_type(c, pn, v, 0);
    case P_MENTIONS:
        return add_mention(c, pn, v);
    case P_HAS:
        return v[0] == '-' ? add_has(c, pn, v + 1, 1) : add_has(c, pn, v, 0);
    case P_CHANNEL_ID:
        return add_channel(c, pn, v);
    case P_MIN_ID:
        if (parse_snowflake(c, pn, v, &id) != SC_OK)
            return SC_EINVAL;
        bound_gte(r, id >= MAX_SNOWFLAKE ? MAX_SNOWFLAKE : id + 1);
        return SC_OK;
    case P_MAX_ID:
        if (parse_snowflake(c, pn, v, &id) != SC_OK)
            return SC_EINVAL;
        bound_lt(r, id);
        return SC_OK;
    case P_MENTION_EVERYONE:
    case P_PINNED:
    case P_CONTEXT:
        if (parse_bool(c, pn, v, &b) != SC_OK)
            return SC_EINVAL;
        if (d->kind == P_CONTEXT) {
            r->include_context = b;
        } else {
            sc_tristate *t = d->kind == P_PINNED ? &r->pinned : &r->mention_everyone;
            if (*t != SC_TRI_UNSET && *t != (b ? SC_TRI_TRUE : SC_TRI_FALSE)) {
                sc_seterr(c->err, c->errlen, "%s: conflicts with another %s value", pn, pn);
                return SC_EINVAL;
            }
            *t = b ? SC_TRI_TRUE : SC_TRI_FALSE;
        }
        return SC_OK;
    case P_LINK_HOSTNAME:
        return add_keyword(c, pn, v, &r->link_hostnames, 1, 0);
    case P_ATT_EXT:
        return add_keyword(c, pn, v, &r->attachment_extensions, 1, 1);
    case P_ATT_FILENAME:
        return add_keyword(c, pn, v, &r->attachment_filenames, 0, 0);
    case P_EMBED_TYPE:
        return add_keyword(c, pn, v, &r->embed_types, 0, 0);
    case P_EMBED_PROVIDER:
        return add_keyword(c, pn, v, &r->embed_providers, 1, 0);
    case P_SORT_BY:
        if (strcmp(v, "timestamp") == 0) {
            r->sort_by = SC_SORT_TIMESTAMP;
        } else if (strcmp(v, "relevance") == 0) {
            r->sort_by = SC_SORT_RELEVANCE;
        } else {
            sc_seterr(c->err, c->errlen, "sort_by: expected timestamp or relevance");
            return SC_EINVAL;
        }
        return SC_OK;
    case P_SORT_ORDER:
        if (strcmp(v, "asc") == 0) {
            r->sort_order = SC_ORDER_ASC;
        } else if (strcmp(v, "desc") == 0) {
            r->sort_order = SC_ORDER_DESC;
        } else {
            sc_seterr(c->err, c->errlen, "sort_order: expected asc or desc");
            return SC_EINVAL;
        }
        return SC_OK;
    case P_OFFSET:
        return parse_range(c, pn, v, 0, SC_QUERY_MAX_OFFSET, &r->offset);
    case P_LIMIT:
        return parse_range(c, pn, v, 1, SC_QUERY_MAX_LIMIT, &r->limit);
    case P_COUNT:
        break;
    }
    return SC_ERR;
}

sc_status sc_search_req_parse(const sc_query_param *params, size_t n, sc_search_endpoint ep,
                              const sc_search_opts *opts, sc_search_req **out, char *err,
                              size_t errlen)
{
    pctx c;
    int seen[P_COUNT] = {0};
    size_t n_other = 0, n_chan = 0;
    sc_status st = SC_OK;
    sc_search_req *r;

    *out = NULL;
    if (params == NULL && n > 0) {
        sc_seterr(err, errlen, "no parameters");
        return SC_EINVAL;
    }
    r = calloc(1, sizeof(*r));
    if (r == NULL) {
        sc_seterr(err, errlen, "out of memory");
        return SC_ENOMEM;
    }
    r->endpoint = ep;
    r->mention_everyone = SC_TRI_UNSET;
    r->pinned = SC_TRI_UNSET;
    r->sort_by = SC_SORT_TIMESTAMP;
    r->sort_order = SC_ORDER_DESC;
    r->limit = SC_QUERY_MAX_LIMIT;
    c.r = r;
    c.err = err;
    c.errlen = errlen;
    c.max_channels =
        (opts && opts->max_channel_ids) ? opts->max_channel_ids : SC_QUERY_MAX_CHANNELS;
    c.n_text = 0;

    for (size_t i = 0; i < n && st == SC_OK; i++) {
        const char *k = params[i].key, *v = params[i].value;
        const pdef *d;
        char kb[48];
        size_t vl;
        if (k == NULL || v == NULL) {
            sc_seterr(err, errlen, "parameter %zu: missing key or value", i);
            st = SC_EINVAL;
            break;
        }
        d = find_param(k);
        if (d == NULL) {
            safe_key(k, kb, sizeof(kb));
            sc_seterr(err, errlen, "unknown parameter '%s'", kb);
            st = SC_EINVAL;
            break;
        }
        if (d->kind == P_CHANNEL_ID ? ++n_chan > c.max_channels : ++n_other > SC_QUERY_MAX_PARAMS) {
            if (d->kind == P_CHANNEL_ID)
                sc_seterr(err, errlen, "channel_id: too many channels (max %zu)", c.max_channels);
            else
                sc_seterr(err, errlen, "too many parameters (max %d)", SC_QUERY_MAX_PARAMS);
            st = SC_EINVAL;
            break;
        }
        if (!d->repeat && seen[d->kind]) {
            sc_seterr(err, errlen, "%s: given more than once", d->name);
            st = SC_EINVAL;
            break;
        }
        seen[d->kind] = 1;
        vl = strlen(v);
        if (vl > d->maxlen) {
            sc_seterr(err, errlen, "%s: value longer than %zu bytes", d->name, d->maxlen);
            st = SC_EINVAL;
            break;
        }
        if (!sc_utf8_valid(v, vl)) {
            sc_seterr(err, errlen, "%s: not valid UTF-8", d->name);
            st = SC_EINVAL;
            break;
        }
        st = apply_param(&c, d, v);
    }
    if (st != SC_OK) {
        sc_search_req_free(r);
        return st;
    }
    *out = r;
    return SC_OK;
}
