/*
 * etcd_json.c - the parsers of etcd's JSON-gateway answers (etcd.h): range
 * responses (etcd_parse_range), watch-stream lines (etcd_watch_parse_line)
 * and the pieces the client reads (int64 fields, header.revision). Every
 * int64 is accepted as a string (what the gateway sends) or as an exact JSON
 * number; keys and values arrive base64-encoded.
 *
 * Not here: any I/O (etcd.c makes the calls, etcd_watch.c runs the stream).
 * No global state; every function is thread-safe.
 */
#include "etcd.h"
#include "etcd_int.h"

#include "base64.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parse exactly len bytes as one JSON value: trailing bytes other than
 * whitespace make it fail (cJSON alone stops after the first value). */
cJSON *etcd_json_parse_exact(const char *p, size_t len)
{
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(p, len, &end, 0);
    if (root == NULL)
        return NULL;
    for (; end != NULL && end < p + len; end++) {
        if (*end != ' ' && *end != '\t' && *end != '\r' && *end != '\n') {
            cJSON_Delete(root);
            return NULL;
        }
    }
    return root;
}

/* Read an int64 member: a decimal string ("-12") or an exact JSON number.
 * Absent or null leaves *out = 0 and succeeds; anything else fails (-1). */
int etcd_json_i64(const cJSON *obj, const char *name, int64_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    *out = 0;
    if (v == NULL || cJSON_IsNull(v))
        return 0;
    if (cJSON_IsString(v) && v->valuestring != NULL) {
        const char *s = v->valuestring;
        char *end = NULL;
        long long x;
        if (*s == '-')
            s++;
        if (*s < '0' || *s > '9')
            return -1;
        errno = 0;
        x = strtoll(v->valuestring, &end, 10);
        if (errno != 0 || end == NULL || *end != '\0')
            return -1;
        *out = (int64_t)x;
        return 0;
    }
    if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (!isfinite(d) || d != floor(d) || fabs(d) > 9007199254740992.0)
            return -1;
        *out = (int64_t)d;
        return 0;
    }
    return -1;
}

/* Read a bool member; absent means false. Returns -1 on a non-bool. */
static int j_bool(const cJSON *obj, const char *name, int *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    *out = 0;
    if (v == NULL || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsBool(v))
        return -1;
    *out = cJSON_IsTrue(v) ? 1 : 0;
    return 0;
}

static void kv_clear(etcd_kv *kv)
{
    free(kv->key);
    free(kv->value);
    memset(kv, 0, sizeof(*kv));
}

/* Decode a base64 member into a fresh NUL-terminated buffer. Absent gives ""
 * unless required. */
static sc_status j_b64(const cJSON *obj, const char *name, int required, char **out, size_t *len,
                       char *err, size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    const char *s = "";
    sc_status st;
    *out = NULL;
    *len = 0;
    if (v != NULL && !cJSON_IsNull(v)) {
        if (!cJSON_IsString(v) || v->valuestring == NULL) {
            sc_seterr(err, errlen, "\"%s\" is not a string", name);
            return SC_EPROTO;
        }
        s = v->valuestring;
    } else if (required) {
        sc_seterr(err, errlen, "\"%s\" is missing", name);
        return SC_EPROTO;
    }
    if (required && *s == '\0') {
        sc_seterr(err, errlen, "\"%s\" is empty", name);
        return SC_EPROTO;
    }
    st = sc_b64_decode_alloc(s, strlen(s), out, len);
    if (st == SC_EINVAL) {
        sc_seterr(err, errlen, "\"%s\" is not valid base64", name);
        return SC_EPROTO;
    }
    if (st != SC_OK)
        sc_seterr(err, errlen, "out of memory");
    return st;
}

/* Parse one mvccpb.KeyValue object. On failure kv is cleared. */
static sc_status parse_kv(const cJSON *o, etcd_kv *kv, char *err, size_t errlen)
{
    sc_status st;
    memset(kv, 0, sizeof(*kv));
    if (!cJSON_IsObject(o)) {
        sc_seterr(err, errlen, "kv is not an object");
        return SC_EPROTO;
    }
    st = j_b64(o, "key", 1, &kv->key, &kv->key_len, err, errlen);
    if (st == SC_OK)
        st = j_b64(o, "value", 0, &kv->value, &kv->value_len, err, errlen);
    if (st == SC_OK && (etcd_json_i64(o, "create_revision", &kv->create_revision) != 0 ||
                        etcd_json_i64(o, "mod_revision", &kv->mod_revision) != 0 ||
                        etcd_json_i64(o, "version", &kv->version) != 0 ||
                        etcd_json_i64(o, "lease", &kv->lease) != 0)) {
        sc_seterr(err, errlen, "kv has a malformed integer field");
        st = SC_EPROTO;
    }
    if (st != SC_OK)
        kv_clear(kv);
    return st;
}

/* header.revision of a response object (0 when absent). */
int etcd_json_header_rev(const cJSON *root, int64_t *rev)
{
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(root, "header");
    *rev = 0;
    if (h == NULL)
        return 0;
    if (!cJSON_IsObject(h))
        return -1;
    return etcd_json_i64(h, "revision", rev);
}

/* ------------------------------------------------------------ range */

void etcd_kv_list_free(etcd_kv_list *l)
{
    if (l == NULL)
        return;
    for (size_t i = 0; i < l->n; i++)
        kv_clear(&l->kvs[i]);
    free(l->kvs);
    memset(l, 0, sizeof(*l));
}

/* Fill out from a parsed range answer. */
sc_status etcd_json_range(const cJSON *root, etcd_kv_list *out, char *err, size_t errlen)
{
    const cJSON *kvs;
    size_t n;
    memset(out, 0, sizeof(*out));
    if (!cJSON_IsObject(root)) {
        sc_seterr(err, errlen, "range answer is not an object");
        return SC_EPROTO;
    }
    if (cJSON_GetObjectItemCaseSensitive(root, "error") != NULL) {
        sc_seterr(err, errlen, "range answer is an error");
        return SC_EPROTO;
    }
    if (etcd_json_header_rev(root, &out->revision) != 0 ||
        etcd_json_i64(root, "count", &out->count) != 0 || j_bool(root, "more", &out->more) != 0) {
        sc_seterr(err, errlen, "range answer has a malformed header, count or more");
        return SC_EPROTO;
    }
    kvs = cJSON_GetObjectItemCaseSensitive(root, "kvs");
    if (kvs == NULL || cJSON_IsNull(kvs))
        return SC_OK;
    if (!cJSON_IsArray(kvs)) {
        sc_seterr(err, errlen, "\"kvs\" is not an array");
        return SC_EPROTO;
    }
    n = (size_t)cJSON_GetArraySize(kvs);
    if (n == 0)
        return SC_OK;
    out->kvs = calloc(n, sizeof(*out->kvs));
    if (out->kvs == NULL) {
        sc_seterr(err, errlen, "out of memory");
        return SC_ENOMEM;
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, kvs)
    {
        char why[SC_ERRLEN];
        sc_status st = parse_kv(it, &out->kvs[out->n], why, sizeof(why));
        if (st != SC_OK) {
            sc_seterr(err, errlen, "kvs[%zu]: %s", out->n, why);
            etcd_kv_list_free(out);
            return st;
        }
        out->n++;
    }
    return SC_OK;
}

sc_status etcd_parse_range(const char *json, size_t len, etcd_kv_list *out, char *err,
                           size_t errlen)
{
    cJSON *root;
    sc_status st;
    memset(out, 0, sizeof(*out));
    if (json == NULL) {
        sc_seterr(err, errlen, "no input");
        return SC_EPROTO;
    }
    root = etcd_json_parse_exact(json, len);
    if (root == NULL) {
        sc_seterr(err, errlen, "range answer is not JSON");
        return SC_EPROTO;
    }
    st = etcd_json_range(root, out, err, errlen);
    cJSON_Delete(root);
    return st;
}

/* ------------------------------------------------------------ watch parser */

void etcd_watch_batch_free(etcd_watch_batch *b)
{
    if (b == NULL)
        return;
    for (size_t i = 0; i < b->n; i++)
        kv_clear(&b->events[i].kv);
    free(b->events);
    memset(b, 0, sizeof(*b));
}

static sc_status parse_events(const cJSON *evs, etcd_watch_batch *out)
{
    size_t n;
    const cJSON *it;
    if (evs == NULL || cJSON_IsNull(evs))
        return SC_OK;
    if (!cJSON_IsArray(evs)) {
        sc_seterr(out->err, sizeof(out->err), "\"events\" is not an array");
        return SC_EPROTO;
    }
    n = (size_t)cJSON_GetArraySize(evs);
    if (n == 0)
        return SC_OK;
    out->events = calloc(n, sizeof(*out->events));
    if (out->events == NULL) {
        sc_seterr(out->err, sizeof(out->err), "out of memory");
        return SC_ENOMEM;
    }
    cJSON_ArrayForEach(it, evs)
    {
        etcd_event *ev = &out->events[out->n];
        const cJSON *t;
        char why[SC_ERRLEN];
        sc_status st;
        if (!cJSON_IsObject(it)) {
            sc_seterr(out->err, sizeof(out->err), "events[%zu] is not an object", out->n);
            return SC_EPROTO;
        }
        /* PUT is enum value 0, so the gateway omits "type" for it */
        t = cJSON_GetObjectItemCaseSensitive(it, "type");
        if (t == NULL || cJSON_IsNull(t) ||
            (cJSON_IsString(t) && strcmp(t->valuestring, "PUT") == 0) ||
            (cJSON_IsNumber(t) && t->valuedouble == 0)) {
            ev->type = ETCD_EV_PUT;
        } else if ((cJSON_IsString(t) && strcmp(t->valuestring, "DELETE") == 0) ||
                   (cJSON_IsNumber(t) && t->valuedouble == 1)) {
            ev->type = ETCD_EV_DELETE;
        } else {
            sc_seterr(out->err, sizeof(out->err), "events[%zu] has an unknown type", out->n);
            return SC_EPROTO;
        }
        st = parse_kv(cJSON_GetObjectItemCaseSensitive(it, "kv"), &ev->kv, why, sizeof(why));
        if (st != SC_OK) {
            sc_seterr(out->err, sizeof(out->err), "events[%zu]: %s", out->n, why);
            return st;
        }
        ev->revision = ev->kv.mod_revision;
        out->n++;
    }
    return SC_OK;
}

sc_status etcd_watch_parse_line(const char *line, size_t len, etcd_watch_batch *out)
{
    cJSON *root;
    const cJSON *res, *e, *reason;
    sc_status st;
    if (out == NULL)
        return SC_EINVAL;
    memset(out, 0, sizeof(*out));
    if (line == NULL || len == 0) {
        sc_seterr(out->err, sizeof(out->err), "empty line");
        return SC_EPROTO;
    }
    root = etcd_json_parse_exact(line, len);
    if (root == NULL || !cJSON_IsObject(root)) {
        /* line need not be NUL-terminated: print at most len bytes of it */
        sc_seterr(out->err, sizeof(out->err), "not a JSON object: %.*s", (int)(len < 60 ? len : 60),
                  line);
        cJSON_Delete(root);
        return SC_EPROTO;
    }
    e = cJSON_GetObjectItemCaseSensitive(root, "error");
    if (e != NULL) {
        const cJSON *m = cJSON_IsObject(e) ? cJSON_GetObjectItemCaseSensitive(e, "message") : e;
        sc_seterr(out->err, sizeof(out->err), "%.200s",
                  cJSON_IsString(m) && m->valuestring[0] != '\0' ? m->valuestring
                                                                 : "watch stream error");
        cJSON_Delete(root);
        return SC_ERR;
    }
    res = cJSON_GetObjectItemCaseSensitive(root, "result");
    if (!cJSON_IsObject(res)) {
        sc_seterr(out->err, sizeof(out->err), "no \"result\" object");
        cJSON_Delete(root);
        return SC_EPROTO;
    }
    if (etcd_json_header_rev(res, &out->revision) != 0 ||
        etcd_json_i64(res, "watch_id", &out->watch_id) != 0 ||
        etcd_json_i64(res, "compact_revision", &out->compact_revision) != 0 ||
        j_bool(res, "created", &out->created) != 0 ||
        j_bool(res, "canceled", &out->canceled) != 0) {
        sc_seterr(out->err, sizeof(out->err), "malformed header or flags");
        cJSON_Delete(root);
        return SC_EPROTO;
    }
    reason = cJSON_GetObjectItemCaseSensitive(res, "cancel_reason");
    if (cJSON_IsString(reason))
        sc_seterr(out->err, sizeof(out->err), "%.200s", reason->valuestring);
    st = parse_events(cJSON_GetObjectItemCaseSensitive(res, "events"), out);
    cJSON_Delete(root);
    if (st != SC_OK) {
        char keep[SC_ERRLEN];
        memcpy(keep, out->err, sizeof(keep));
        etcd_watch_batch_free(out);
        memcpy(out->err, keep, sizeof(keep));
    }
    return st;
}
