/*
 * event_parse.c - the gate every queue event goes through: sc_event_parse
 * tries the fast scanner (event_fast.c) and falls back to the cJSON parser
 * here, which validates an event (JSON text, schemas/events/event.schema.json
 * and its README) into an sc_event and decides every error and its message.
 *
 * The parser is the gate between the outside world and the indexer, so it
 * is strict: every required field must be present with its exact type, ids
 * must be decimal strings (JSON numbers lose precision above 2^53), strings
 * must be valid UTF-8 and within the limits of event_int.h, and the text
 * holds no NUL byte. Unknown fields are ignored so producers can add fields
 * before consumers know them.
 *
 * Not here: the event type, its names and its encoder (event.c), the fast
 * path (event_fast.c), the message type (message.c), transport (queue.c).
 * No I/O, no global state; every function is thread-safe.
 */
#include "event_int.h"

#include <cJSON.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parser state: where to write the reason. */
typedef struct pctx {
    char *err;     /* borrowed; caller's buffer, may be NULL */
    size_t errlen; /* size of err */
} pctx;

static sc_status fail(pctx *p, sc_status st, const char *fmt, ...) SC_PRINTF(3, 4);
static sc_status fail(pctx *p, sc_status st, const char *fmt, ...)
{
    va_list ap;
    if (p->err != NULL && p->errlen > 0) {
        va_start(ap, fmt);
        vsnprintf(p->err, p->errlen, fmt, ap);
        va_end(ap);
    }
    return st;
}

static sc_status oom(pctx *p) { return fail(p, SC_ENOMEM, "out of memory"); }

/* Item named key in obj; NULL when absent or JSON null (optional = nullable). */
static const cJSON *get(const cJSON *obj, const char *key)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (it == NULL || cJSON_IsNull(it))
        return NULL;
    return it;
}

/* A snowflake from a JSON item: a decimal string, 1 .. 2^63-1, no leading
 * zeros (one spelling per id keeps the wire form canonical). */
static sc_status id_from_item(pctx *p, const cJSON *it, const char *path, uint64_t *out)
{
    const char *s;
    size_t i, n;
    if (cJSON_IsNumber(it))
        return fail(p, SC_EINVAL,
                    "%s: expected a decimal string, got a number (ids are strings because "
                    "JSON numbers lose precision above 2^53)",
                    path);
    if (!cJSON_IsString(it) || it->valuestring == NULL)
        return fail(p, SC_EINVAL, "%s: expected a decimal string", path);
    s = it->valuestring;
    n = strlen(s);
    if (n == 0 || n > 20)
        return fail(p, SC_EINVAL, "%s: expected a decimal string", path);
    for (i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return fail(p, SC_EINVAL, "%s: expected a decimal string", path);
    if (n == 1 && s[0] == '0')
        return fail(p, SC_EINVAL, "%s: id 0 is not a valid snowflake", path);
    if (s[0] == '0')
        return fail(p, SC_EINVAL, "%s: expected a decimal string without leading zeros", path);
    if (sc_parse_u64(s, out) != SC_OK || *out > MAX_ID)
        return fail(p, SC_EINVAL, "%s: id out of range (max 2^63-1)", path);
    return SC_OK;
}

/* The common case of id_from_item without building a reason: 1 and *out
 * set when it is a valid snowflake string, 0 otherwise (then id_from_item
 * says why). */
static int id_ok(const cJSON *it, uint64_t *out)
{
    const char *s;
    uint64_t v = 0;
    size_t i;
    if (!cJSON_IsString(it) || it->valuestring == NULL)
        return 0;
    s = it->valuestring;
    if (s[0] < '1' || s[0] > '9')
        return 0;
    for (i = 0; s[i] != '\0'; i++) {
        if (s[i] < '0' || s[i] > '9' || i >= 19)
            return 0; /* 19 digits hold any value <= 2^63-1; longer goes the slow way */
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > MAX_ID)
        return 0;
    *out = v;
    return 1;
}

/* Id field key of obj. required: absent/null is an error; otherwise 0. */
static sc_status id_field(pctx *p, const cJSON *obj, const char *key, int required, uint64_t *out)
{
    char path[64];
    const cJSON *it = get(obj, key);
    *out = 0;
    if (it == NULL)
        return required ? fail(p, SC_EINVAL, "message.%s: required field is missing", key) : SC_OK;
    if (id_ok(it, out))
        return SC_OK;
    /* the path is only needed for the reason: build it on failure */
    snprintf(path, sizeof(path), "message.%s", key);
    return id_from_item(p, it, path, out);
}

/* Optional string field key of obj copied into *out (NULL when absent/null).
 * required: absent/null is an error. */
static sc_status str_field(pctx *p, const cJSON *obj, const char *parent, const char *key,
                           int required, size_t maxlen, char **out)
{
    const cJSON *it = get(obj, key);
    size_t n;
    *out = NULL;
    if (it == NULL)
        return required ? fail(p, SC_EINVAL, "%s.%s: required field is missing", parent, key)
                        : SC_OK;
    if (!cJSON_IsString(it) || it->valuestring == NULL)
        return fail(p, SC_EINVAL, "%s.%s: expected a string", parent, key);
    n = strlen(it->valuestring);
    if (n > maxlen)
        return fail(p, SC_EINVAL, "%s.%s: longer than %zu bytes", parent, key, maxlen);
    if (!sc_utf8_valid(it->valuestring, n))
        return fail(p, SC_EINVAL, "%s.%s: not valid UTF-8", parent, key);
    *out = strdup(it->valuestring);
    return *out ? SC_OK : oom(p);
}

static sc_status bool_field(pctx *p, const cJSON *obj, const char *key, int *out)
{
    const cJSON *it = get(obj, key);
    *out = 0;
    if (it == NULL)
        return SC_OK;
    if (!cJSON_IsBool(it))
        return fail(p, SC_EINVAL, "message.%s: expected true or false", key);
    *out = cJSON_IsTrue(it) ? 1 : 0;
    return SC_OK;
}

/* A non-negative integer that a double holds exactly. */
static int exact_uint(const cJSON *it, uint64_t *out)
{
    double d;
    if (!cJSON_IsNumber(it))
        return 0;
    d = it->valuedouble;
    if (!(d >= 0.0 && d <= (double)MAX_EXACT_INT))
        return 0; /* also rejects NaN */
    if ((double)(uint64_t)d != d)
        return 0;
    *out = (uint64_t)d;
    return 1;
}

static sc_status parse_version(pctx *p, const cJSON *root, int64_t *out)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(root, "version");
    uint64_t v = 0;
    const char *s;
    size_t i;
    if (it == NULL || cJSON_IsNull(it))
        return fail(p, SC_EINVAL, "version: required field is missing");
    if (cJSON_IsNumber(it)) {
        if (!exact_uint(it, &v) || v < 1)
            return fail(p, SC_EINVAL,
                        "version: expected an integer >= 1 (at most 2^53-1 as a "
                        "number; send larger versions as a decimal string)");
    } else if (cJSON_IsString(it) && it->valuestring != NULL) {
        s = it->valuestring;
        for (i = 0; s[i] != '\0'; i++)
            if (s[i] < '0' || s[i] > '9')
                break;
        if (i == 0 || s[i] != '\0' || sc_parse_u64(s, &v) != SC_OK || v > (uint64_t)INT64_MAX)
            return fail(p, SC_EINVAL, "version: expected an integer >= 1 or a decimal string");
        if (v < 1)
            return fail(p, SC_EINVAL, "version: must be >= 1");
    } else {
        return fail(p, SC_EINVAL, "version: expected an integer >= 1 or a decimal string");
    }
    *out = (int64_t)v;
    return SC_OK;
}

/* Optional array field; *arr is NULL when absent/null, *n its size. */
static sc_status array_field(pctx *p, const cJSON *obj, const char *key, size_t max,
                             const cJSON **arr, size_t *n)
{
    const cJSON *it = get(obj, key);
    int sz;
    *arr = NULL;
    *n = 0;
    if (it == NULL)
        return SC_OK;
    if (!cJSON_IsArray(it))
        return fail(p, SC_EINVAL, "message.%s: expected an array", key);
    sz = cJSON_GetArraySize(it);
    if (sz < 0 || (size_t)sz > max)
        return fail(p, SC_EINVAL, "message.%s: more than %zu items", key, max);
    *arr = it;
    *n = (size_t)sz;
    return SC_OK;
}

static sc_status id_array(pctx *p, const cJSON *obj, const char *key, size_t max, uint64_t **out,
                          size_t *nout)
{
    const cJSON *arr, *el;
    size_t n, i = 0;
    char path[64];
    sc_status st;
    if ((st = array_field(p, obj, key, max, &arr, &n)) != SC_OK || n == 0)
        return st;
    *out = calloc(n, sizeof(**out));
    if (*out == NULL)
        return oom(p);
    cJSON_ArrayForEach(el, arr)
    {
        if (i >= n)
            break;
        if (!id_ok(el, &(*out)[i])) {
            snprintf(path, sizeof(path), "message.%s[%zu]", key, i);
            if ((st = id_from_item(p, el, path, &(*out)[i])) != SC_OK)
                return st;
        }
        *nout = ++i;
    }
    return SC_OK;
}

static sc_status parse_attachments(pctx *p, const cJSON *obj, sc_message *m)
{
    const cJSON *arr, *el, *sz;
    size_t n, i = 0;
    char path[48];
    sc_status st;
    if ((st = array_field(p, obj, "attachments", SC_MAX_ATTACHMENTS, &arr, &n)) != SC_OK || n == 0)
        return st;
    m->attachments = calloc(n, sizeof(*m->attachments));
    if (m->attachments == NULL)
        return oom(p);
    m->n_attachments = n; /* zeroed entries are safe to clear */
    cJSON_ArrayForEach(el, arr)
    {
        sc_attachment *a = &m->attachments[i];
        if (i >= n)
            break;
        snprintf(path, sizeof(path), "message.attachments[%zu]", i);
        if (!cJSON_IsObject(el))
            return fail(p, SC_EINVAL, "%s: expected an object", path);
        if ((st = str_field(p, el, path, "filename", 1, MAX_FILENAME, &a->filename)) != SC_OK ||
            (st = str_field(p, el, path, "content_type", 0, MAX_CONTENT_TYPE, &a->content_type)) !=
                SC_OK)
            return st;
        sz = get(el, "size");
        if (sz != NULL && !exact_uint(sz, &a->size))
            return fail(p, SC_EINVAL, "%s.size: expected an integer >= 0", path);
        i++;
    }
    return SC_OK;
}

static sc_status parse_embeds(pctx *p, const cJSON *obj, sc_message *m)
{
    const cJSON *arr, *el;
    size_t n, i = 0;
    char path[48];
    sc_status st;
    if ((st = array_field(p, obj, "embeds", SC_MAX_EMBEDS, &arr, &n)) != SC_OK || n == 0)
        return st;
    m->embeds = calloc(n, sizeof(*m->embeds));
    if (m->embeds == NULL)
        return oom(p);
    m->n_embeds = n;
    cJSON_ArrayForEach(el, arr)
    {
        sc_embed *e = &m->embeds[i];
        if (i >= n)
            break;
        snprintf(path, sizeof(path), "message.embeds[%zu]", i);
        if (!cJSON_IsObject(el))
            return fail(p, SC_EINVAL, "%s: expected an object", path);
        if ((st = str_field(p, el, path, "type", 0, MAX_EMBED_WORD, &e->type)) != SC_OK ||
            (st = str_field(p, el, path, "provider", 0, MAX_EMBED_WORD, &e->provider)) != SC_OK ||
            (st = str_field(p, el, path, "url", 0, MAX_URL, &e->url)) != SC_OK)
            return st;
        i++;
    }
    return SC_OK;
}

static sc_status parse_message(pctx *p, const cJSON *mo, sc_op op, sc_message *m)
{
    const cJSON *at;
    sc_status st;
    if ((st = id_field(p, mo, "id", 1, &m->id)) != SC_OK ||
        (st = id_field(p, mo, "channel_id", 1, &m->channel_id)) != SC_OK ||
        (st = id_field(p, mo, "guild_id", 0, &m->guild_id)) != SC_OK ||
        (st = id_field(p, mo, "author_id", op != SC_OP_DELETE, &m->author_id)) != SC_OK)
        return st;
    if (op == SC_OP_DELETE) {
        /* A tombstone needs only the routing keys; the rest is ignored. */
        m->deleted = 1;
        m->content = strdup("");
        return m->content ? SC_OK : oom(p);
    }
    at = get(mo, "author_type");
    m->author_type = SC_AUTHOR_USER;
    if (at != NULL) {
        if (!cJSON_IsString(at) || at->valuestring == NULL)
            return fail(p, SC_EINVAL, "message.author_type: expected a string");
        if (sc_author_type_parse(at->valuestring, &m->author_type) != SC_OK)
            return fail(p, SC_EINVAL,
                        "message.author_type: unknown value (expected user, bot or webhook)");
    }
    if ((st = str_field(p, mo, "message", "content", 1, SC_MAX_CONTENT, &m->content)) != SC_OK)
        return st;
    if ((st = id_array(p, mo, "mentions", SC_MAX_MENTIONS, &m->mentions, &m->n_mentions)) !=
            SC_OK ||
        (st = bool_field(p, mo, "mention_everyone", &m->mention_everyone)) != SC_OK ||
        (st = parse_attachments(p, mo, m)) != SC_OK || (st = parse_embeds(p, mo, m)) != SC_OK ||
        (st = id_array(p, mo, "sticker_ids", SC_MAX_STICKERS, &m->sticker_ids, &m->n_stickers)) !=
            SC_OK ||
        (st = bool_field(p, mo, "pinned", &m->pinned)) != SC_OK)
        return st;
    return SC_OK;
}

/* Where the JSON text s[0..n) holds a \u0000 escape inside a string (cJSON
 * would decode it into a NUL that cuts the C string there): 1 with the
 * offset of its backslash in *at, else 0. Raw NUL bytes are found apart. */
static int find_nul_escape(const char *s, size_t n, size_t *at)
{
    int in_str = 0;
    for (size_t i = 0; i < n; i++) {
        if (!in_str) {
            in_str = s[i] == '"';
        } else if (s[i] == '"') {
            in_str = 0;
        } else if (s[i] == '\\' && i + 1 < n) {
            if (s[i + 1] == 'u' && n - i >= 6 && memcmp(s + i + 2, "0000", 4) == 0) {
                *at = i;
                return 1;
            }
            i++; /* the escaped character cannot end the string */
        }
    }
    return 0;
}

sc_status sc_event_parse(const char *json, size_t len, sc_event *out, char *err, size_t errlen)
{
    if (out != NULL && sc_event_parse_fast(json, len, out) == 0) {
        if (err != NULL && errlen > 0)
            err[0] = '\0';
        return SC_OK;
    }
    sc_event_clear(out); /* whatever the fast path left */
    return sc_event_parse_cjson(json, len, out, err, errlen);
}

sc_status sc_event_parse_cjson(const char *json, size_t len, sc_event *out, char *err,
                               size_t errlen)
{
    pctx p = {err, errlen};
    cJSON *root = NULL;
    const cJSON *it, *mo;
    const char *end = NULL;
    sc_status st;
    size_t i;

    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (out == NULL)
        return fail(&p, SC_EINVAL, "event: no output");
    memset(out, 0, sizeof(*out));
    if (json == NULL || len == 0)
        return fail(&p, SC_EINVAL, "event: empty input");
    if (len > MAX_EVENT_BYTES)
        return fail(&p, SC_EINVAL, "event: larger than %u bytes", MAX_EVENT_BYTES);

    root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
    if (root == NULL)
        return fail(&p, SC_EINVAL, "event: invalid JSON near byte %zu",
                    end && end >= json ? (size_t)(end - json) : (size_t)0);
    /* Only whitespace may follow the value: not a NUL byte, nor anything
     * after one (schemas/events/README.md). */
    for (i = (size_t)(end - json); i < len; i++) {
        char c = json[i];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            st = fail(&p, SC_EINVAL, "event: trailing data after the JSON value at byte %zu%s", i,
                      c == '\0' ? " (a NUL byte)" : "");
            goto out;
        }
    }
    /* No NUL inside the value either, raw or escaped: the message's strings
     * are C strings, so the content indexed would be cut at it. */
    {
        const char *nul = memchr(json, '\0', (size_t)(end - json));
        if (nul != NULL) {
            st = fail(&p, SC_EINVAL, "event: NUL byte at byte %zu", (size_t)(nul - json));
            goto out;
        }
        if (find_nul_escape(json, (size_t)(end - json), &i)) {
            st = fail(&p, SC_EINVAL, "event: a string holds \\u0000 (a NUL character) at byte %zu",
                      i);
            goto out;
        }
    }
    if (!cJSON_IsObject(root)) {
        st = fail(&p, SC_EINVAL, "event: expected a JSON object");
        goto out;
    }

    it = cJSON_GetObjectItemCaseSensitive(root, "op");
    if (it == NULL || cJSON_IsNull(it)) {
        st = fail(&p, SC_EINVAL, "op: required field is missing");
        goto out;
    }
    if (!cJSON_IsString(it) || it->valuestring == NULL) {
        st = fail(&p, SC_EINVAL, "op: expected a string");
        goto out;
    }
    if (strcmp(it->valuestring, "create") == 0)
        out->op = SC_OP_CREATE;
    else if (strcmp(it->valuestring, "update") == 0)
        out->op = SC_OP_UPDATE;
    else if (strcmp(it->valuestring, "delete") == 0)
        out->op = SC_OP_DELETE;
    else {
        st = fail(&p, SC_EINVAL, "op: unknown value (expected create, update or delete)");
        goto out;
    }

    if ((st = parse_version(&p, root, &out->msg.version)) != SC_OK)
        goto out;

    mo = cJSON_GetObjectItemCaseSensitive(root, "message");
    if (mo == NULL || cJSON_IsNull(mo)) {
        st = fail(&p, SC_EINVAL, "message: required field is missing");
        goto out;
    }
    if (!cJSON_IsObject(mo)) {
        st = fail(&p, SC_EINVAL, "message: expected an object");
        goto out;
    }
    st = parse_message(&p, mo, out->op, &out->msg);

out:
    cJSON_Delete(root);
    if (st != SC_OK)
        sc_event_clear(out);
    return st;
}
