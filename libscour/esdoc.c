/*
 * esdoc.c - the Elasticsearch document of a message (esdoc.h): the one JSON
 * object a bulk "index" line carries, in the shape of
 * schemas/elasticsearch/messages.json, with the derived fields search
 * filters on (has[], link_hostnames, attachment extensions, embed types).
 *
 * Not here: the bulk framing (bulk.c), parsing events (event_parse.c).
 * No I/O, no global state; every function is thread-safe.
 */
#include "esdoc.h"

#include "digest.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Doc builder bounds. */
#define MAX_HOSTNAMES 32
#define MAX_HOST 253
#define MAX_EXT 32

/* Chain appends; jump to out on the first failure. */
#define PUT(expr)                   \
    do {                            \
        if ((st = (expr)) != SC_OK) \
            goto out;               \
    } while (0)

static const char *nz(const char *s) { return s ? s : ""; }

/* ------------------------------------------------------------------ */
/* the Elasticsearch document                                          */

/* Deduplicated, bounded set of lowercase hostnames. */
typedef struct hostset {
    char names[MAX_HOSTNAMES][MAX_HOST + 1]; /* NUL-terminated, lowercase */
    size_t n;                                /* entries used */
} hostset;

static void hostset_add(hostset *hs, const char *h, size_t n)
{
    size_t i;
    if (n == 0 || n > MAX_HOST || hs->n >= MAX_HOSTNAMES)
        return;
    for (i = 0; i < hs->n; i++)
        if (strlen(hs->names[i]) == n && memcmp(hs->names[i], h, n) == 0)
            return;
    memcpy(hs->names[hs->n], h, n);
    hs->names[hs->n][n] = '\0';
    hs->n++;
}

static int is_host_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c >= 0x80;
}

/* Characters that end a URL's authority when scanning free text. */
static int ends_authority(unsigned char c)
{
    return c <= 0x20 || c == 0x7f || strchr("/?#\\<>\"'`(){}|^,;", c) != NULL;
}

/* Add host h (raw, any case) and its parent domains down to two labels.
 * IP literals are added as they are. */
static void add_host_expanded(hostset *hs, const char *h, size_t n)
{
    char low[MAX_HOST + 1];
    size_t i;
    int ip = 1;
    if (n == 0 || n > MAX_HOST)
        return;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)h[i];
        low[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
        if (!((c >= '0' && c <= '9') || c == '.'))
            ip = 0;
    }
    low[n] = '\0';
    if (low[0] == '[' || ip) {
        hostset_add(hs, low, n);
        return;
    }
    hostset_add(hs, low, n);
    for (i = 0; i < n; i++) {
        if (low[i] == '.' && memchr(low + i + 1, '.', n - i - 1) != NULL)
            hostset_add(hs, low + i + 1, n - i - 1);
    }
}

/* s[0..n) starts right after "scheme://". Extract the host (no userinfo,
 * no port) into hs. Returns 1 when a plausible host was found; *used is the
 * length of the authority. */
static int take_authority(const char *s, size_t n, hostset *hs, size_t *used)
{
    size_t alen = 0, h0 = 0, hlen = 0, i;
    while (alen < n && !ends_authority((unsigned char)s[alen]))
        alen++;
    *used = alen;
    for (i = alen; i > 0; i--)
        if (s[i - 1] == '@') {
            h0 = i;
            break;
        }
    if (h0 < alen && s[h0] == '[') { /* IPv6 literal */
        for (i = h0 + 1; i < alen && s[i] != ']'; i++)
            if (!(strchr("0123456789abcdefABCDEF:.", s[i]) != NULL))
                return 0;
        if (i >= alen || i == h0 + 1)
            return 0;
        add_host_expanded(hs, s + h0, i + 1 - h0);
        return 1;
    }
    while (h0 + hlen < alen && is_host_char((unsigned char)s[h0 + hlen]))
        hlen++;
    while (hlen > 0 && s[h0 + hlen - 1] == '.') /* "example.com." or end of sentence */
        hlen--;
    if (hlen == 0 || hlen > MAX_HOST || s[h0] == '.')
        return 0;
    for (i = h0 + 1; i < h0 + hlen; i++)
        if (s[i] == '.' && s[i - 1] == '.')
            return 0;
    add_host_expanded(hs, s + h0, hlen);
    return 1;
}

/* Find http:// and https:// URLs in free text; returns 1 if any had a host. */
static int scan_urls(const char *s, size_t n, hostset *hs)
{
    size_t i = 0, used, skip;
    int found = 0;
    while (i + 7 <= n) {
        skip = 0;
        if ((s[i] == 'h' || s[i] == 'H')) {
            if (strncasecmp(s + i, "http://", 7) == 0)
                skip = 7;
            else if (n - i >= 8 && strncasecmp(s + i, "https://", 8) == 0)
                skip = 8;
        }
        if (skip == 0) {
            i++;
            continue;
        }
        i += skip;
        if (take_authority(s + i, n - i, hs, &used))
            found = 1;
        i += used;
    }
    return found;
}

/* Extension of a filename: after the last dot, lowercased into buf.
 * Returns its length, 0 when there is none (or it is implausibly long). */
static size_t file_ext(const char *name, char *buf, size_t buflen)
{
    const char *dot;
    size_t n, i;
    if (name == NULL || (dot = strrchr(name, '.')) == NULL)
        return 0;
    dot++;
    n = strlen(dot);
    if (n == 0 || n >= buflen || strchr(dot, '/') != NULL)
        return 0;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)dot[i];
        buf[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    buf[n] = '\0';
    return n;
}

enum { KIND_NONE = 0, KIND_IMAGE = 1, KIND_VIDEO = 2, KIND_SOUND = 3 };

static int kind_of_ext(const char *ext)
{
    static const char *const img[] = {"png", "jpg", "jpeg", "gif", "webp", NULL};
    static const char *const vid[] = {"mp4", "webm", "mov", "mkv", NULL};
    static const char *const snd[] = {"mp3", "ogg", "wav", "flac", "m4a", NULL};
    size_t i;
    for (i = 0; img[i]; i++)
        if (strcmp(ext, img[i]) == 0)
            return KIND_IMAGE;
    for (i = 0; vid[i]; i++)
        if (strcmp(ext, vid[i]) == 0)
            return KIND_VIDEO;
    for (i = 0; snd[i]; i++)
        if (strcmp(ext, snd[i]) == 0)
            return KIND_SOUND;
    return KIND_NONE;
}

static int kind_of_attachment(const sc_attachment *a)
{
    char ext[MAX_EXT + 1];
    const char *ct = a->content_type;
    if (ct != NULL && ct[0] != '\0') {
        if (strncasecmp(ct, "image/", 6) == 0)
            return KIND_IMAGE;
        if (strncasecmp(ct, "video/", 6) == 0)
            return KIND_VIDEO;
        if (strncasecmp(ct, "audio/", 6) == 0)
            return KIND_SOUND;
        return KIND_NONE;
    }
    if (file_ext(a->filename, ext, sizeof(ext)) == 0)
        return KIND_NONE;
    return kind_of_ext(ext);
}

/* Append a JSON array of the distinct non-empty strings get(m, i). */
typedef const char *(*str_getter)(const sc_message *m, size_t i);
static const char *get_filename(const sc_message *m, size_t i)
{
    return m->attachments[i].filename;
}
static const char *get_etype(const sc_message *m, size_t i) { return m->embeds[i].type; }
static const char *get_provider(const sc_message *m, size_t i) { return m->embeds[i].provider; }

static sc_status put_str_array(sc_buf *b, const char *key, const sc_message *m, size_t n,
                               str_getter g, int dedup)
{
    size_t i, j, k = 0;
    sc_status st;
    if ((st = sc_buf_puts(b, ",\"")) != SC_OK || (st = sc_buf_puts(b, key)) != SC_OK ||
        (st = sc_buf_puts(b, "\":[")) != SC_OK)
        return st;
    for (i = 0; i < n; i++) {
        const char *s = g(m, i);
        int dup = 0;
        if (s == NULL || s[0] == '\0')
            continue;
        for (j = 0; dedup && j < i && !dup; j++)
            dup = g(m, j) != NULL && strcmp(g(m, j), s) == 0;
        if (dup)
            continue;
        if ((k++ && (st = sc_buf_puts(b, ",")) != SC_OK) || (st = sc_buf_json_str(b, s)) != SC_OK)
            return st;
    }
    return sc_buf_puts(b, "]");
}

static sc_status put_extensions(sc_buf *b, const sc_message *m)
{
    char ext[MAX_EXT + 1], prev[MAX_EXT + 1];
    size_t i, j, k = 0, n;
    sc_status st;
    if ((st = sc_buf_puts(b, ",\"attachment_extensions\":[")) != SC_OK)
        return st;
    for (i = 0; i < m->n_attachments; i++) {
        int dup = 0;
        if ((n = file_ext(m->attachments[i].filename, ext, sizeof(ext))) == 0)
            continue;
        for (j = 0; j < i && !dup; j++)
            dup = file_ext(m->attachments[j].filename, prev, sizeof(prev)) == n &&
                  memcmp(prev, ext, n) == 0;
        if (dup)
            continue;
        if ((k++ && (st = sc_buf_puts(b, ",")) != SC_OK) ||
            (st = sc_buf_json_strn(b, ext, n)) != SC_OK)
            return st;
    }
    return sc_buf_puts(b, "]");
}

/* Hot-path appenders for the document builder: the indexer builds one
 * document per event, and sc_buf_printf (two vsnprintf passes) used to be a
 * fifth of its CPU. */
#define PUTLIT(b, lit) sc_buf_append((b), (lit), sizeof(lit) - 1)

#define put_u64 sc_buf_put_u64
#define put_i64 sc_buf_put_i64

/* ,"key":"<v>" (an id written as a string) */
static sc_status put_key_id(sc_buf *b, const char *lit_key, size_t key_len, uint64_t v)
{
    sc_status st;
    if ((st = sc_buf_append(b, lit_key, key_len)) != SC_OK || (st = sc_buf_put_u64(b, v)) != SC_OK)
        return st;
    return PUTLIT(b, "\"");
}

/* 1 when content may hold a URL (scan_urls only matches "http[s]://"). */
static int may_have_url(const char *s) { return strstr(s, "://") != NULL; }

sc_status sc_message_to_doc(const sc_message *m, sc_buf *out)
{
    hostset *hs = NULL;
    const char *content;
    size_t start, i, k, nhosts = 0;
    int link = 0, file = 0, image = 0, video = 0, sound = 0;
    sc_status st = SC_OK;
    if (m == NULL || out == NULL)
        return SC_EINVAL;
    start = out->len;
    /* Ids the search side reads back from _source (id, channel_id,
     * guild_id) are written as strings: snowflakes exceed 2^53 and JSON
     * parsers that use doubles (cJSON) would round them. Elasticsearch
     * coerces the strings into the long fields of the mapping. */
    PUT(put_key_id(out, "{\"id\":\"", sizeof("{\"id\":\"") - 1, m->id));
    PUT(put_key_id(out, ",\"channel_id\":\"", sizeof(",\"channel_id\":\"") - 1, m->channel_id));
    if (m->guild_id != 0)
        PUT(put_key_id(out, ",\"guild_id\":\"", sizeof(",\"guild_id\":\"") - 1, m->guild_id));
    if (m->deleted) {
        if (m->author_id != 0) {
            PUT(PUTLIT(out, ",\"author_id\":"));
            PUT(sc_buf_put_u64(out, m->author_id));
        }
        PUT(PUTLIT(out, ",\"timestamp\":"));
        PUT(put_i64(out, sc_snowflake_to_ms(m->id)));
        PUT(PUTLIT(out, ",\"version\":"));
        PUT(put_i64(out, m->version));
        PUT(PUTLIT(out, ",\"deleted\":true,\"digest\":"));
        PUT(sc_buf_put_u64(out, sc_digest(m->id, m->version, 1)));
        PUT(PUTLIT(out, "}"));
        goto out;
    }
    content = nz(m->content);
    /* the host set is 8 KiB: allocate it only when there can be a URL, and
     * keep it off small thread stacks */
    if (m->n_embeds > 0 || may_have_url(content)) {
        hs = malloc(sizeof(*hs));
        if (hs == NULL) {
            st = SC_ENOMEM;
            goto out;
        }
        hs->n = 0;
        link = scan_urls(content, strlen(content), hs);
        for (i = 0; i < m->n_embeds; i++) {
            const char *u = m->embeds[i].url;
            size_t used, skip = 0;
            if (u == NULL || u[0] == '\0')
                continue;
            link = 1;
            if (strncasecmp(u, "http://", 7) == 0)
                skip = 7;
            else if (strncasecmp(u, "https://", 8) == 0)
                skip = 8;
            if (skip)
                (void)take_authority(u + skip, strlen(u + skip), hs, &used);
        }
        nhosts = hs->n;
    }
    for (i = 0; i < m->n_attachments; i++) {
        file = 1;
        switch (kind_of_attachment(&m->attachments[i])) {
        case KIND_IMAGE:
            image = 1;
            break;
        case KIND_VIDEO:
            video = 1;
            break;
        case KIND_SOUND:
            sound = 1;
            break;
        default:
            break;
        }
    }

    PUT(PUTLIT(out, ",\"author_id\":"));
    PUT(sc_buf_put_u64(out, m->author_id));
    PUT(PUTLIT(out, ",\"author_type\":\""));
    PUT(sc_buf_puts(out, sc_author_type_str(m->author_type)));
    PUT(PUTLIT(out, "\",\"timestamp\":"));
    PUT(put_i64(out, sc_snowflake_to_ms(m->id)));
    PUT(PUTLIT(out, ",\"content\":"));
    PUT(sc_buf_json_str(out, content));
    PUT(PUTLIT(out, ",\"mentions\":["));
    for (i = 0; i < m->n_mentions; i++) {
        if (i)
            PUT(PUTLIT(out, ","));
        PUT(sc_buf_put_u64(out, m->mentions[i]));
    }
    PUT(m->mention_everyone ? PUTLIT(out, "],\"mention_everyone\":true,\"has\":[")
                            : PUTLIT(out, "],\"mention_everyone\":false,\"has\":["));
    {
        const char *flags[7];
        size_t nf = 0;
        if (link)
            flags[nf++] = "\"link\"";
        if (m->n_embeds > 0)
            flags[nf++] = "\"embed\"";
        if (file)
            flags[nf++] = "\"file\"";
        if (image)
            flags[nf++] = "\"image\"";
        if (video)
            flags[nf++] = "\"video\"";
        if (sound)
            flags[nf++] = "\"sound\"";
        if (m->n_stickers > 0)
            flags[nf++] = "\"sticker\"";
        for (k = 0; k < nf; k++) {
            if (k)
                PUT(PUTLIT(out, ","));
            PUT(sc_buf_puts(out, flags[k]));
        }
    }
    PUT(m->pinned ? PUTLIT(out, "],\"pinned\":true,\"link_hostnames\":[")
                  : PUTLIT(out, "],\"pinned\":false,\"link_hostnames\":["));
    for (k = 0; k < nhosts; k++) {
        if (k)
            PUT(PUTLIT(out, ","));
        PUT(sc_buf_json_str(out, hs->names[k]));
    }
    PUT(PUTLIT(out, "]"));
    PUT(put_str_array(out, "attachment_filenames", m, m->n_attachments, get_filename, 0));
    PUT(put_extensions(out, m));
    PUT(put_str_array(out, "embed_types", m, m->n_embeds, get_etype, 1));
    PUT(put_str_array(out, "embed_providers", m, m->n_embeds, get_provider, 1));
    PUT(PUTLIT(out, ",\"version\":"));
    PUT(put_i64(out, m->version));
    PUT(PUTLIT(out, ",\"deleted\":false,\"digest\":"));
    PUT(sc_buf_put_u64(out, sc_digest(m->id, m->version, 0)));
    PUT(PUTLIT(out, "}"));
out:
    free(hs);
    if (st != SC_OK && out->data != NULL) {
        out->len = start;
        out->data[start] = '\0';
    }
    return st;
}
