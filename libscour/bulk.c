/*
 * bulk.c - NDJSON _bulk body builder and _bulk response parser; see bulk.h.
 * Pure logic: no I/O, no logging, no globals.
 */
#include "bulk.h"
#include "jscan.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ builder */

void sc_bulk_init(sc_bulk *b, size_t limit)
{
    sc_buf_init(&b->body, limit);
    b->ops = 0;
    b->gte = 0;
}

void sc_bulk_free(sc_bulk *b)
{
    if (b == NULL)
        return;
    sc_buf_free(&b->body);
    b->ops = 0;
}

void sc_bulk_reset(sc_bulk *b)
{
    sc_buf_reset(&b->body);
    b->ops = 0;
}

/* Count the action just appended, or on failure roll the body back to mark
 * so it stays valid NDJSON. Returns st. */
static sc_status finish_action(sc_bulk *b, size_t mark, sc_status st)
{
    if (st != SC_OK) {
        b->body.len = mark;
        if (b->body.data != NULL)
            b->body.data[mark] = '\0';
        return st;
    }
    b->ops++;
    return SC_OK;
}

sc_status sc_bulk_add_index(sc_bulk *b, const char *index, uint64_t id, int64_t version,
                            const char *doc, size_t doc_len)
{
    size_t mark = b->body.len;
    sc_status st;

    if (index == NULL || index[0] == '\0' || version < 0 || doc == NULL || doc_len == 0)
        return SC_EINVAL;
    if (memchr(doc, '\n', doc_len) != NULL || memchr(doc, '\r', doc_len) != NULL)
        return SC_EINVAL;

    st = sc_buf_puts(&b->body, "{\"index\":{\"_index\":");
    if (st == SC_OK)
        st = sc_buf_json_str(&b->body, index);
    /* appended piece by piece: sc_buf_printf was 8% of the indexer's instructions */
    if (st == SC_OK)
        st = sc_buf_puts(&b->body, ",\"_id\":\"");
    if (st == SC_OK)
        st = sc_buf_put_u64(&b->body, id);
    if (st == SC_OK)
        st = sc_buf_puts(&b->body, "\",\"version\":");
    if (st == SC_OK)
        st = sc_buf_put_i64(&b->body, version);
    if (st == SC_OK)
        st = sc_buf_puts(&b->body, b->gte ? ",\"version_type\":\"external_gte\"}}\n"
                                          : ",\"version_type\":\"external\"}}\n");
    if (st == SC_OK)
        st = sc_buf_append(&b->body, doc, doc_len);
    if (st == SC_OK)
        st = sc_buf_append(&b->body, "\n", 1);
    return finish_action(b, mark, st);
}

sc_status sc_bulk_add_delete_if(sc_bulk *b, const char *index, uint64_t id, int64_t seq_no,
                                int64_t primary_term)
{
    size_t mark = b->body.len;
    sc_status st;
    if (index == NULL || index[0] == '\0' || seq_no < 0 || primary_term < 0)
        return SC_EINVAL;
    st = sc_buf_puts(&b->body, "{\"delete\":{\"_index\":");
    if (st == SC_OK)
        st = sc_buf_json_str(&b->body, index);
    if (st == SC_OK)
        st = sc_buf_printf(&b->body,
                           ",\"_id\":\"%" PRIu64 "\",\"if_seq_no\":%" PRId64
                           ",\"if_primary_term\":%" PRId64 "}}\n",
                           id, seq_no, primary_term);
    return finish_action(b, mark, st);
}

size_t sc_bulk_count(const sc_bulk *b) { return b->ops; }

size_t sc_bulk_bytes(const sc_bulk *b) { return b->body.len; }

int sc_bulk_full(const sc_bulk *b, size_t max_ops, size_t max_bytes)
{
    return (max_ops > 0 && b->ops >= max_ops) || (max_bytes > 0 && b->body.len >= max_bytes);
}

/* ------------------------------------------------------------ parser */

sc_bulk_class sc_bulk_classify(int http_status)
{
    if (http_status >= 200 && http_status <= 299)
        return SC_BULK_OK;
    if (http_status == 409)
        return SC_BULK_CONFLICT;
    if (http_status == 429 || (http_status >= 500 && http_status <= 599))
        return SC_BULK_RETRY;
    return SC_BULK_REJECT;
}

const char *sc_bulk_class_str(sc_bulk_class c)
{
    switch (c) {
    case SC_BULK_OK:
        return "ok";
    case SC_BULK_CONFLICT:
        return "conflict";
    case SC_BULK_RETRY:
        return "retry";
    case SC_BULK_REJECT:
        return "reject";
    }
    return "unknown";
}

void sc_bulk_result_free(sc_bulk_result *r)
{
    if (r == NULL)
        return;
    free(r->items);
    memset(r, 0, sizeof(*r));
}

/* Copy error.type / error.reason out of an "error" member that is either
 * an object (ES 5+) or a plain string (very old servers, proxies). */
static void copy_error(const cJSON *error, char *type, size_t typelen, char *reason,
                       size_t reasonlen)
{
    const cJSON *t, *r;
    type[0] = '\0';
    reason[0] = '\0';
    if (error == NULL)
        return;
    if (cJSON_IsString(error)) {
        snprintf(reason, reasonlen, "%s", error->valuestring);
        return;
    }
    t = cJSON_GetObjectItemCaseSensitive(error, "type");
    r = cJSON_GetObjectItemCaseSensitive(error, "reason");
    if (cJSON_IsString(t))
        snprintf(type, typelen, "%s", t->valuestring);
    if (cJSON_IsString(r))
        snprintf(reason, reasonlen, "%s", r->valuestring);
}

/* Read an integral JSON number in [lo, hi] into *out; 0 on success. */
static int get_int(const cJSON *obj, const char *name, int lo, int hi, int *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!cJSON_IsNumber(v) || v->valuedouble < lo || v->valuedouble > hi ||
        v->valuedouble != (double)(int)v->valuedouble)
        return -1;
    *out = (int)v->valuedouble;
    return 0;
}

/* Parse one element of "items": {"<action>":{"_id":..,"status":..,"error":..}}.
 * Returns 0 on success, -1 if the element is malformed. */
static int parse_item(const cJSON *elem, int fast, sc_bulk_item *it)
{
    const cJSON *act, *idv;
    memset(it, 0, sizeof(*it));
    if (!cJSON_IsObject(elem))
        return -1;
    act = elem->child; /* the action name (index/create/update/delete) varies */
    if (act == NULL || !cJSON_IsObject(act))
        return -1;
    if (get_int(act, "status", 100, 599, &it->status) != 0)
        return -1;
    it->cls = sc_bulk_classify(it->status);
    idv = cJSON_GetObjectItemCaseSensitive(act, "_id");
    if (cJSON_IsString(idv) && sc_parse_u64(idv->valuestring, &it->id) != SC_OK)
        it->id = 0;
    /* errors:false promises no item failed; skip the error lookup then */
    if (!fast || it->cls != SC_BULK_OK)
        copy_error(cJSON_GetObjectItemCaseSensitive(act, "error"), it->error_type,
                   sizeof(it->error_type), it->reason, sizeof(it->reason));
    return 0;
}

/* ------------------------------------------------- fast path (no errors) */

/* Almost every response says "errors":false, and building a cJSON tree of
 * it (a dozen nodes and strings per item, for fields nobody reads) was a
 * fifth of the indexer's CPU. This scanner walks the text once without
 * allocating and accepts only that common case: a well-formed object with
 * "errors":false and exactly `expected` items, each {"<action>":{...}} with
 * an integral 2xx "status". Anything else (errors:true, a whole-request
 * error, odd shapes, escapes in "_id") makes it give up, and the cJSON path
 * below decides, with its full checks and messages. */

#define KEY_IS SC_JS_KEY

/* One item {"<action>":{"_id":"..","status":2xx,...}} into it; 0 on
 * success, -1 to give up. */
static int fast_item(sc_jscan *j, sc_bulk_item *it)
{
    const char *s;
    size_t n;
    int esc, r, have_status = 0;
    memset(it, 0, sizeof(*it));
    if (sc_js_eat(j, '{') != 0 || sc_js_string(j, &s, &n, &esc) != 0 || sc_js_eat(j, ':') != 0 ||
        sc_js_eat(j, '{') != 0)
        return -1;
    sc_js_ws(j);
    if (j->p < j->end && *j->p == '}')
        return -1; /* no status */
    for (;;) {
        if (sc_js_string(j, &s, &n, &esc) != 0 || sc_js_eat(j, ':') != 0)
            return -1;
        if (KEY_IS(s, n, "status")) {
            int v = 0, digits = 0;
            sc_js_ws(j);
            while (j->p < j->end && *j->p >= '0' && *j->p <= '9' && digits < 4) {
                v = v * 10 + (*j->p - '0');
                j->p++;
                digits++;
            }
            if (digits != 3 || (j->p < j->end && (*j->p == '.' || *j->p == 'e' || *j->p == 'E' ||
                                                  (*j->p >= '0' && *j->p <= '9'))))
                return -1;
            it->status = v;
            have_status = 1;
        } else if (KEY_IS(s, n, "_id")) {
            char buf[24];
            sc_js_ws(j);
            if (j->p < j->end && *j->p == '"') {
                if (sc_js_string(j, &s, &n, &esc) != 0 || esc)
                    return -1;
                it->id = 0;
                if (n > 0 && n < sizeof(buf)) {
                    memcpy(buf, s, n);
                    buf[n] = '\0';
                    if (sc_parse_u64(buf, &it->id) != SC_OK)
                        it->id = 0;
                }
            } else if (sc_js_skip(j, 2) != 0) {
                return -1;
            }
        } else if (KEY_IS(s, n, "error")) {
            return -1; /* an item error: the full parser copies it */
        } else if (sc_js_skip(j, 2) != 0) {
            return -1;
        }
        if ((r = sc_js_more(j, '}')) < 0)
            return -1;
        if (r > 0)
            break;
    }
    /* the action object must be the element's only member */
    if (!have_status || sc_js_eat(j, '}') != 0)
        return -1;
    it->cls = sc_bulk_classify(it->status);
    return it->cls == SC_BULK_OK ? 0 : -1;
}

/* The fast path; 0 with *out filled (all items OK), -1 to give up (out is
 * then zeroed and owns nothing). */
static int fast_parse(const char *body, size_t len, size_t expected, sc_bulk_result *out)
{
    sc_jscan j = {body, body + len};
    const char *s;
    size_t n, i = 0;
    int esc, r, errors = -1, items_seen = 0;
    sc_bulk_item *items;
    if (expected == 0)
        return -1;
    items = malloc(expected * sizeof(*items));
    if (items == NULL)
        return -1;
    if (sc_js_eat(&j, '{') != 0)
        goto fail;
    for (;;) {
        if (sc_js_string(&j, &s, &n, &esc) != 0 || esc || sc_js_eat(&j, ':') != 0)
            goto fail;
        if (KEY_IS(s, n, "errors")) {
            sc_js_ws(&j);
            if (sc_js_literal(&j, "false", 5) != 0)
                goto fail; /* true (or not a bool): the full parser */
            errors = 0;
        } else if (KEY_IS(s, n, "items")) {
            if (items_seen++ || sc_js_eat(&j, '[') != 0)
                goto fail;
            sc_js_ws(&j);
            if (j.p < j.end && *j.p == ']') {
                j.p++;
            } else {
                for (;;) {
                    if (i >= expected || fast_item(&j, &items[i]) != 0)
                        goto fail;
                    i++;
                    if ((r = sc_js_more(&j, ']')) < 0)
                        goto fail;
                    if (r > 0)
                        break;
                }
            }
        } else if (KEY_IS(s, n, "error")) {
            goto fail; /* whole-request failure */
        } else if (sc_js_skip(&j, 1) != 0) {
            goto fail;
        }
        if ((r = sc_js_more(&j, '}')) < 0)
            goto fail;
        if (r > 0)
            break;
    }
    sc_js_ws(&j);
    while (j.p < j.end && *j.p == '\0')
        j.p++;
    if (j.p != j.end || errors != 0 || !items_seen || i != expected)
        goto fail;
    out->items = items;
    out->n = expected;
    out->n_ok = expected;
    return 0;
fail:
    free(items);
    return -1;
}

sc_status sc_bulk_parse(const char *body, size_t len, size_t expected, sc_bulk_result *out,
                        char *err, size_t errlen)
{
    cJSON *root;
    const cJSON *errors, *items, *elem;
    size_t n, i = 0;
    sc_status st = SC_OK;

    memset(out, 0, sizeof(*out));
    if (body == NULL || len == 0) {
        sc_seterr(err, errlen, "bulk response: empty body");
        return SC_EPROTO;
    }
    if (fast_parse(body, len, expected, out) == 0)
        return SC_OK;
    root = cJSON_ParseWithLength(body, len);
    if (root == NULL || !cJSON_IsObject(root)) {
        sc_seterr(err, errlen, "bulk response: not a JSON object (starts \"%.*s\")",
                  (int)(len < 40 ? len : 40), body);
        cJSON_Delete(root);
        return SC_EPROTO;
    }

    /* whole-request failure: {"error":{...},"status":N} */
    if (cJSON_GetObjectItemCaseSensitive(root, "error") != NULL) {
        if (get_int(root, "status", 100, 599, &out->req_status) != 0)
            out->req_status = 0;
        out->req_cls = sc_bulk_classify(out->req_status);
        copy_error(cJSON_GetObjectItemCaseSensitive(root, "error"), out->error_type,
                   sizeof(out->error_type), out->reason, sizeof(out->reason));
        sc_seterr(err, errlen, "bulk request failed: status %d (%s): %s: %s", out->req_status,
                  sc_bulk_class_str(out->req_cls), out->error_type, out->reason);
        cJSON_Delete(root);
        return SC_ERR;
    }

    errors = cJSON_GetObjectItemCaseSensitive(root, "errors");
    items = cJSON_GetObjectItemCaseSensitive(root, "items");
    if (!cJSON_IsBool(errors) || !cJSON_IsArray(items)) {
        sc_seterr(err, errlen, "bulk response: missing \"errors\" or \"items\"");
        cJSON_Delete(root);
        return SC_EPROTO;
    }
    n = (size_t)cJSON_GetArraySize(items);
    if (n != expected) {
        sc_seterr(err, errlen, "bulk response: %zu items for %zu actions", n, expected);
        cJSON_Delete(root);
        return SC_EPROTO;
    }
    out->errors = cJSON_IsTrue(errors);
    if (n > 0) {
        out->items = calloc(n, sizeof(*out->items));
        if (out->items == NULL) {
            sc_seterr(err, errlen, "bulk response: out of memory for %zu items", n);
            cJSON_Delete(root);
            return SC_ENOMEM;
        }
    }
    cJSON_ArrayForEach(elem, items)
    {
        sc_bulk_item *it = &out->items[i];
        if (parse_item(elem, !out->errors, it) != 0) {
            sc_seterr(err, errlen, "bulk response: item %zu is malformed", i);
            st = SC_EPROTO;
            break;
        }
        if (!out->errors && it->cls != SC_BULK_OK) {
            sc_seterr(err, errlen, "bulk response: errors:false but item %zu has status %d", i,
                      it->status);
            st = SC_EPROTO;
            break;
        }
        switch (it->cls) {
        case SC_BULK_OK:
            out->n_ok++;
            break;
        case SC_BULK_CONFLICT:
            out->n_conflict++;
            break;
        case SC_BULK_RETRY:
            out->n_retry++;
            break;
        case SC_BULK_REJECT:
            out->n_reject++;
            break;
        }
        i++;
    }
    cJSON_Delete(root);
    if (st != SC_OK) {
        sc_bulk_result_free(out);
        return st;
    }
    out->n = n;
    return SC_OK;
}
