/*
 * event_fast.c - the indexer's fast path for the usual event shape: a
 * scanner (jscan.h) that reads an event without building a cJSON tree, and
 * gives up on anything unusual so that event_parse.c's full parser decides. See
 * event.h for sc_event_parse_fast's contract.
 */
#include "event_int.h"
#include "jscan.h"

#include <stdlib.h>
#include <string.h>

/* The indexer parses every event, and building a cJSON tree for it (a
 * node and a string copy per member) was a quarter of its CPU. This
 * scanner reads the common shape directly: ids, author_type, content,
 * the two flags, mentions, attachments, embeds and sticker_ids.
 * It only ever says "yes, and here is the message" for input the cJSON
 * path would accept with the same result; for anything else (escapes other
 * than the simple ones, \u, duplicate or null-in-odd-places members,
 * array members other than the plain ones, numbers that are not plain integers, any invalid
 * field) it gives up and the cJSON path below decides, with its full
 * checks and messages. */

#define FKEY SC_JS_KEY

/* A plain decimal integer: 1..maxdigits digits, no leading zero. */
static int fs_digits(const char *s, size_t n, size_t maxdigits, uint64_t *out)
{
    uint64_t v = 0;
    size_t i;
    if (n == 0 || n > maxdigits || s[0] < '1' || s[0] > '9')
        return -1;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return 0;
}

/* What the scan found in "message". */
typedef struct fmsg {
    unsigned seen;     /* FM_* bits of members met (no duplicates) */
    unsigned have;     /* FM_* bits of members with a non-null value */
    uint64_t ids[4];   /* id, channel_id, guild_id, author_id */
    const char *atype; /* raw author_type (no escapes) */
    size_t atype_n;
    const char *content; /* raw content between the quotes */
    size_t content_n;
    int content_esc; /* content holds backslash escapes */
    int mention_everyone, pinned;
} fmsg;

enum {
    FM_ID = 1u << 0,
    FM_CHANNEL = 1u << 1,
    FM_GUILD = 1u << 2,
    FM_AUTHOR = 1u << 3,
    FM_ATYPE = 1u << 4,
    FM_CONTENT = 1u << 5,
    FM_MENTION_EVERYONE = 1u << 6,
    FM_PINNED = 1u << 7,
    FM_MENTIONS = 1u << 8,
    FM_ATTACHMENTS = 1u << 9,
    FM_EMBEDS = 1u << 10,
    FM_STICKERS = 1u << 11
};

/* The value of a boolean member (null = false). */
static int fs_flag(sc_jscan *j, int *out)
{
    int c = sc_js_peek(j);
    if (c == 't' && sc_js_literal(j, "true", 4) == 0 && sc_js_ended(j))
        *out = 1;
    else if (c == 'f' && sc_js_literal(j, "false", 5) == 0 && sc_js_ended(j))
        *out = 0;
    else if (c == 'n' && sc_js_literal(j, "null", 4) == 0 && sc_js_ended(j))
        *out = -1;
    else
        return -1;
    return 0;
}

static char *fs_unescape(const char *raw, size_t n, size_t *outlen);

/* A string value copied out (simple escapes undone), at most max bytes of
 * valid UTF-8 as str_field wants; NULL: give up (or out of memory). */
static char *fs_str(sc_jscan *j, size_t max)
{
    const char *s;
    size_t n;
    int esc;
    char *o;
    if (sc_js_string(j, &s, &n, &esc) != 0)
        return NULL;
    if (esc) {
        o = fs_unescape(s, n, &n);
    } else if ((o = malloc(n + 1)) != NULL) {
        memcpy(o, s, n);
        o[n] = '\0';
    }
    if (o != NULL && (n > max || !sc_utf8_valid(o, n))) {
        free(o);
        o = NULL;
    }
    return o;
}

/* The elements of the array at j (after its '['), counted on a copy of the
 * scanner; -1 when it is not well formed or holds more than max. */
static long fs_count(const sc_jscan *j, size_t max, int depth)
{
    sc_jscan k = *j;
    long n = 0;
    int c;
    if ((c = sc_js_open(&k, '[')) != 0)
        return c > 0 ? 0 : -1;
    for (;;) {
        if (sc_js_skip(&k, depth) != 0 || (size_t)++n > max)
            return -1;
        if ((c = sc_js_more(&k, ']')) != 0)
            return c > 0 ? n : -1;
    }
}

/* mentions / sticker_ids: an array of snowflake strings, as id_array. */
static int fs_ids(sc_jscan *j, size_t max, uint64_t **out, size_t *nout)
{
    long n = fs_count(j, max, 3);
    const char *s;
    size_t len;
    int esc, c;
    if (n < 0 || *out != NULL)
        return -1;
    if (sc_js_open(j, '[') != 0) /* empty: nothing to keep */
        return 0;
    if ((*out = calloc((size_t)n, sizeof(**out))) == NULL)
        return -1;
    for (;;) {
        uint64_t v;
        if (sc_js_string(j, &s, &len, &esc) != 0 || esc || fs_digits(s, len, 19, &v) != 0 ||
            v > MAX_ID)
            return -1;
        (*out)[(*nout)++] = v;
        if ((c = sc_js_more(j, ']')) != 0)
            return c > 0 ? 0 : -1;
    }
}

/* One object of attachments[] (kind 0) or embeds[] (kind 1): its known
 * string members (and an attachment's size), as parse_attachments and
 * parse_embeds take them; duplicates and odd values give up. */
static int fs_item(sc_jscan *j, int kind, sc_attachment *a, sc_embed *e)
{
    const char *s;
    size_t n;
    int esc, c, have_name = 0;
    unsigned seen = 0;
    if ((c = sc_js_open(j, '{')) != 0)
        return c > 0 && kind == 1 ? 0 : -1; /* {} lacks an attachment's filename */
    for (;;) {
        char **dst = NULL;
        size_t max = 0;
        unsigned bit = 0;
        if (sc_js_string(j, &s, &n, &esc) != 0 || esc || sc_js_eat(j, ':') != 0)
            return -1;
        if (kind == 0 && FKEY(s, n, "filename"))
            bit = 1, dst = &a->filename, max = MAX_FILENAME;
        else if (kind == 0 && FKEY(s, n, "content_type"))
            bit = 2, dst = &a->content_type, max = MAX_CONTENT_TYPE;
        else if (kind == 0 && FKEY(s, n, "size"))
            bit = 4;
        else if (kind == 1 && FKEY(s, n, "type"))
            bit = 1, dst = &e->type, max = MAX_EMBED_WORD;
        else if (kind == 1 && FKEY(s, n, "provider"))
            bit = 2, dst = &e->provider, max = MAX_EMBED_WORD;
        else if (kind == 1 && FKEY(s, n, "url"))
            bit = 4, dst = &e->url, max = MAX_URL;
        if (bit & seen)
            return -1;
        seen |= bit;
        if (bit == 0) {
            if (sc_js_skip(j, 4) != 0)
                return -1;
        } else if (sc_js_peek(j) == 'n') { /* null: absent */
            if (sc_js_literal(j, "null", 4) != 0 || !sc_js_ended(j))
                return -1;
        } else if (dst != NULL) {
            if ((*dst = fs_str(j, max)) == NULL)
                return -1;
            have_name |= kind == 0 && bit == 1;
        } else { /* size: a plain integer, exact in a double */
            const char *q = j->p;
            while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
                j->p++;
            if (!sc_js_ended(j))
                return -1;
            if (j->p - q == 1 && *q == '0')
                a->size = 0;
            else if (fs_digits(q, (size_t)(j->p - q), 15, &a->size) != 0)
                return -1;
        }
        if ((c = sc_js_more(j, '}')) != 0) {
            if (c < 0)
                return -1;
            return kind == 1 || have_name ? 0 : -1;
        }
    }
}

/* attachments[] / embeds[] into m, as parse_attachments / parse_embeds. */
static int fs_items(sc_jscan *j, int kind, sc_message *m)
{
    long n = fs_count(j, kind == 0 ? SC_MAX_ATTACHMENTS : SC_MAX_EMBEDS, 3);
    size_t i = 0;
    int c;
    if (n < 0 || (kind == 0 ? (void *)m->attachments : (void *)m->embeds) != NULL)
        return -1;
    if (sc_js_open(j, '[') != 0)
        return 0;
    if (kind == 0) {
        if ((m->attachments = calloc((size_t)n, sizeof(*m->attachments))) == NULL)
            return -1;
        m->n_attachments = (size_t)n; /* zeroed entries are safe to clear */
    } else {
        if ((m->embeds = calloc((size_t)n, sizeof(*m->embeds))) == NULL)
            return -1;
        m->n_embeds = (size_t)n;
    }
    for (;;) {
        if (i >= (size_t)n || fs_item(j, kind, kind == 0 ? &m->attachments[i] : NULL,
                                      kind == 1 ? &m->embeds[i] : NULL) != 0)
            return -1;
        i++;
        if ((c = sc_js_more(j, ']')) != 0)
            return c > 0 ? 0 : -1;
    }
}

static int fs_message(sc_jscan *j, fmsg *m, sc_message *msg)
{
    static const char *const id_keys[4] = {"id", "channel_id", "guild_id", "author_id"};
    const char *s;
    size_t n, k;
    int esc, c;
    memset(m, 0, sizeof(*m));
    if ((c = sc_js_open(j, '{')) != 0)
        return c > 0 ? 0 : -1;
    for (;;) {
        unsigned bit = 0;
        if (sc_js_string(j, &s, &n, &esc) != 0 || esc || sc_js_eat(j, ':') != 0)
            return -1;
        for (k = 0; k < 4; k++)
            if (n == strlen(id_keys[k]) && memcmp(s, id_keys[k], n) == 0)
                bit = 1u << k;
        if (bit == 0) {
            if (FKEY(s, n, "author_type"))
                bit = FM_ATYPE;
            else if (FKEY(s, n, "content"))
                bit = FM_CONTENT;
            else if (FKEY(s, n, "mention_everyone"))
                bit = FM_MENTION_EVERYONE;
            else if (FKEY(s, n, "pinned"))
                bit = FM_PINNED;
            else if (FKEY(s, n, "mentions"))
                bit = FM_MENTIONS;
            else if (FKEY(s, n, "attachments"))
                bit = FM_ATTACHMENTS;
            else if (FKEY(s, n, "embeds"))
                bit = FM_EMBEDS;
            else if (FKEY(s, n, "sticker_ids"))
                bit = FM_STICKERS;
        }
        if (bit != 0 && (m->seen & bit))
            return -1; /* duplicate: cJSON takes the first; let it */
        m->seen |= bit;
        c = sc_js_peek(j);
        if (bit == 0) {
            if (sc_js_skip(j, 2) != 0)
                return -1;
        } else if (c == 'n') { /* null: the same as absent */
            if (sc_js_literal(j, "null", 4) != 0 || !sc_js_ended(j))
                return -1;
        } else if (bit <= FM_AUTHOR) {
            if (sc_js_string(j, &s, &n, &esc) != 0 || esc ||
                fs_digits(s, n, 19, &m->ids[__builtin_ctz(bit)]) != 0 ||
                m->ids[__builtin_ctz(bit)] > MAX_ID)
                return -1;
            m->have |= bit;
        } else if (bit == FM_ATYPE) {
            if (sc_js_string(j, &m->atype, &m->atype_n, &esc) != 0 || esc)
                return -1;
            m->have |= bit;
        } else if (bit == FM_CONTENT) {
            if (sc_js_string(j, &m->content, &m->content_n, &m->content_esc) != 0)
                return -1;
            m->have |= bit;
        } else if (bit == FM_MENTION_EVERYONE || bit == FM_PINNED) {
            int v;
            if (fs_flag(j, &v) != 0)
                return -1;
            if (bit == FM_PINNED)
                m->pinned = v > 0;
            else
                m->mention_everyone = v > 0;
        } else if (bit == FM_MENTIONS) {
            if (fs_ids(j, SC_MAX_MENTIONS, &msg->mentions, &msg->n_mentions) != 0)
                return -1;
        } else if (bit == FM_STICKERS) {
            if (fs_ids(j, SC_MAX_STICKERS, &msg->sticker_ids, &msg->n_stickers) != 0)
                return -1;
        } else if (fs_items(j, bit == FM_ATTACHMENTS ? 0 : 1, msg) != 0) {
            return -1;
        }
        if ((c = sc_js_more(j, '}')) != 0)
            return c > 0 ? 0 : -1;
    }
}

/* Unescape the simple JSON escapes of raw[0..n) into a new string; NULL
 * (give up) on \u or anything unknown, or out of memory. */
static char *fs_unescape(const char *raw, size_t n, size_t *outlen)
{
    char *o = malloc(n + 1);
    size_t i, k = 0;
    if (o == NULL)
        return NULL;
    for (i = 0; i < n; i++) {
        char c = raw[i];
        if (c == '\\') {
            switch (raw[++i]) { /* fs_string guarantees a byte follows */
            case '"':
                c = '"';
                break;
            case '\\':
                c = '\\';
                break;
            case '/':
                c = '/';
                break;
            case 'b':
                c = '\b';
                break;
            case 'f':
                c = '\f';
                break;
            case 'n':
                c = '\n';
                break;
            case 'r':
                c = '\r';
                break;
            case 't':
                c = '\t';
                break;
            default:
                free(o);
                return NULL;
            }
        }
        o[k++] = c;
    }
    o[k] = '\0';
    *outlen = k;
    return o;
}

int sc_event_parse_fast(const char *json, size_t len, sc_event *out)
{
    sc_jscan j = {json, json + len};
    fmsg fm;
    const char *s, *op_s = NULL;
    size_t n, op_n = 0;
    int esc, c, have_msg = 0, have_ver = 0;
    uint64_t ver = 0;
    sc_op op;
    sc_message *m = &out->msg;
    memset(out, 0, sizeof(*out));
    if (json == NULL || len == 0 || len > MAX_EVENT_BYTES || sc_js_eat(&j, '{') != 0)
        return -1;
    for (;;) {
        if (sc_js_string(&j, &s, &n, &esc) != 0 || esc || sc_js_eat(&j, ':') != 0)
            return -1;
        if (FKEY(s, n, "op")) {
            if (op_s != NULL || sc_js_string(&j, &op_s, &op_n, &esc) != 0 || esc)
                return -1;
        } else if (FKEY(s, n, "version")) {
            if (have_ver++)
                return -1;
            c = sc_js_peek(&j);
            if (c == '"') {
                if (sc_js_string(&j, &s, &n, &esc) != 0 || esc || fs_digits(s, n, 19, &ver) != 0 ||
                    ver > (uint64_t)INT64_MAX)
                    return -1;
            } else {
                const char *q = j.p;
                while (j.p < j.end && *j.p >= '0' && *j.p <= '9')
                    j.p++;
                /* at most 15 digits: always below 2^53, exact in a double */
                if (!sc_js_ended(&j) || fs_digits(q, (size_t)(j.p - q), 15, &ver) != 0)
                    return -1;
            }
        } else if (FKEY(s, n, "message")) {
            if (have_msg++ || fs_message(&j, &fm, m) != 0)
                return -1;
        } else if (sc_js_skip(&j, 1) != 0) {
            return -1;
        }
        if ((c = sc_js_more(&j, '}')) < 0)
            return -1;
        if (c > 0)
            break;
    }
    sc_js_ws(&j);
    if (j.p < j.end) /* only whitespace may follow; a NUL byte is not */
        return -1;
    if (op_s == NULL || !have_ver || !have_msg || ver < 1)
        return -1;
    if (FKEY(op_s, op_n, "create"))
        op = SC_OP_CREATE;
    else if (FKEY(op_s, op_n, "update"))
        op = SC_OP_UPDATE;
    else if (FKEY(op_s, op_n, "delete"))
        op = SC_OP_DELETE;
    else
        return -1;
    if (!(fm.have & FM_ID) || !(fm.have & FM_CHANNEL) ||
        (op != SC_OP_DELETE && !(fm.have & FM_AUTHOR)))
        return -1;
    out->op = op;
    m->version = (int64_t)ver;
    m->id = fm.ids[0];
    m->channel_id = fm.ids[1];
    m->guild_id = fm.ids[2];
    m->author_id = fm.ids[3];
    if (op == SC_OP_DELETE) {
        /* a tombstone keeps only the routing keys, as the cJSON path */
        uint64_t id = m->id, ch = m->channel_id, g = m->guild_id, au = m->author_id;
        sc_event_clear(out);
        out->op = op;
        m->version = (int64_t)ver;
        m->id = id;
        m->channel_id = ch;
        m->guild_id = g;
        m->author_id = au;
        m->deleted = 1;
        m->content = strdup("");
        return m->content != NULL ? 0 : -1;
    }
    m->author_type = SC_AUTHOR_USER;
    if (fm.have & FM_ATYPE) {
        char at[16];
        if (fm.atype_n >= sizeof(at))
            return -1;
        memcpy(at, fm.atype, fm.atype_n);
        at[fm.atype_n] = '\0';
        if (sc_author_type_parse(at, &m->author_type) != SC_OK)
            return -1;
    }
    if (!(fm.have & FM_CONTENT))
        return -1;
    if (fm.content_esc) {
        m->content = fs_unescape(fm.content, fm.content_n, &n);
    } else {
        n = fm.content_n;
        m->content = malloc(n + 1);
        if (m->content != NULL) {
            memcpy(m->content, fm.content, n);
            m->content[n] = '\0';
        }
    }
    if (m->content == NULL || n > SC_MAX_CONTENT || !sc_utf8_valid(m->content, n)) {
        free(m->content);
        m->content = NULL;
        return -1;
    }
    m->mention_everyone = fm.mention_everyone;
    m->pinned = fm.pinned;
    return 0;
}
