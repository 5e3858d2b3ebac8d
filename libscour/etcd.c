/*
 * etcd.c - see etcd.h. Unary calls are one POST each on a reused curl easy
 * handle; the watcher is a thread driving one streaming POST /v3/watch
 * through a curl multi handle, so etcd_watch_stop can wake it at once with
 * curl_multi_wakeup. JSON is cJSON; every int64 is accepted as a string
 * (what the gateway sends) or as an exact JSON number.
 */
#include "etcd.h"

#include "base64.h"
#include "buf.h"
#include "http.h"
#include "log.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ETCD_MAX_ENDPOINT 512
#define ETCD_DEF_CONNECT_MS 2000
#define ETCD_DEF_REQUEST_MS 5000
#define ETCD_DEF_MAX_RESPONSE (16u * 1024 * 1024)
#define ETCD_DEF_BACKOFF_MIN_MS 100
#define ETCD_DEF_BACKOFF_MAX_MS 5000
#define ETCD_DEF_IDLE_MS 660000

struct etcd_client {
    char *endpoint;                    /* owned copy of opts.endpoint, no trailing '/' */
    etcd_opts o;                       /* normalised options; o.endpoint == endpoint */
    CURL *curl;                        /* owned; reused so the connection is kept */
    struct curl_slist *hdrs;           /* owned; Content-Type header */
    sc_buf req;                        /* request body being built */
    sc_buf resp;                       /* response body, capped at o.max_response */
    char curlerr[CURL_ERROR_SIZE];     /* curl's detail for the last transfer */
    char errstr[SC_ERRLEN];            /* detail of the last failure */
    CURLM *multi;                      /* borrowed from a watcher: run transfers there
                                          so a stop can interrupt them; NULL = easy_perform */
    atomic_int *stop;                  /* borrowed from a watcher; abort when set */
};

/* ------------------------------------------------------------ helpers */


/* Validate o and fill defaults into *out; endpoint is left pointing at o's. */
static sc_status opts_norm(const etcd_opts *o, etcd_opts *out, char *err, size_t errlen)
{
    if (o == NULL || o->endpoint == NULL || o->endpoint[0] == '\0') {
        sc_seterr(err, errlen, "etcd: endpoint is required");
        return SC_EINVAL;
    }
    if (strncmp(o->endpoint, "http://", 7) != 0 && strncmp(o->endpoint, "https://", 8) != 0) {
        sc_seterr(err, errlen, "etcd: endpoint must start with http:// or https://: %.100s",
                  o->endpoint);
        return SC_EINVAL;
    }
    if (strlen(o->endpoint) >= ETCD_MAX_ENDPOINT) {
        sc_seterr(err, errlen, "etcd: endpoint longer than %d bytes", ETCD_MAX_ENDPOINT - 1);
        return SC_EINVAL;
    }
    if (o->connect_timeout_ms < 0 || o->request_timeout_ms < 0 || o->watch_backoff_min_ms < 0 ||
        o->watch_backoff_max_ms < 0 || o->watch_idle_timeout_ms < 0) {
        sc_seterr(err, errlen, "etcd: timeouts must not be negative");
        return SC_EINVAL;
    }
    *out = *o;
    if (out->connect_timeout_ms == 0)
        out->connect_timeout_ms = ETCD_DEF_CONNECT_MS;
    if (out->request_timeout_ms == 0)
        out->request_timeout_ms = ETCD_DEF_REQUEST_MS;
    if (out->max_response == 0)
        out->max_response = ETCD_DEF_MAX_RESPONSE;
    if (out->watch_backoff_min_ms == 0)
        out->watch_backoff_min_ms = ETCD_DEF_BACKOFF_MIN_MS;
    if (out->watch_backoff_max_ms == 0)
        out->watch_backoff_max_ms = ETCD_DEF_BACKOFF_MAX_MS;
    if (out->watch_backoff_max_ms < out->watch_backoff_min_ms)
        out->watch_backoff_max_ms = out->watch_backoff_min_ms;
    if (out->watch_idle_timeout_ms == 0)
        out->watch_idle_timeout_ms = ETCD_DEF_IDLE_MS;
    if (out->watch_idle_timeout_ms < 1000)
        out->watch_idle_timeout_ms = 1000;
    return SC_OK;
}

/* Heap copy of endpoint without trailing slashes; NULL on ENOMEM. */
static char *endpoint_dup(const char *ep)
{
    size_t n = strlen(ep);
    char *p;
    while (n > 0 && ep[n - 1] == '/')
        n--;
    p = malloc(n + 1);
    if (p == NULL)
        return NULL;
    memcpy(p, ep, n);
    p[n] = '\0';
    return p;
}

/* Parse exactly len bytes as one JSON value: trailing bytes other than
 * whitespace make it fail (cJSON alone stops after the first value). */
static cJSON *json_parse_exact(const char *p, size_t len)
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
static int j_i64(const cJSON *obj, const char *name, int64_t *out)
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
    if (st == SC_OK &&
        (j_i64(o, "create_revision", &kv->create_revision) != 0 ||
         j_i64(o, "mod_revision", &kv->mod_revision) != 0 ||
         j_i64(o, "version", &kv->version) != 0 || j_i64(o, "lease", &kv->lease) != 0)) {
        sc_seterr(err, errlen, "kv has a malformed integer field");
        st = SC_EPROTO;
    }
    if (st != SC_OK)
        kv_clear(kv);
    return st;
}

/* header.revision of a response object (0 when absent). */
static int header_rev(const cJSON *root, int64_t *rev)
{
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(root, "header");
    *rev = 0;
    if (h == NULL)
        return 0;
    if (!cJSON_IsObject(h))
        return -1;
    return j_i64(h, "revision", rev);
}

/* range_end for a prefix: the prefix with its last non-0xff byte incremented
 * and what follows dropped; "\0" (all keys from the prefix on) when there is
 * no such byte, which is also what etcd means by "every key" for "". Writes
 * into out (cap > plen) and returns the length. */
static size_t prefix_end(const char *prefix, size_t plen, unsigned char *out)
{
    memcpy(out, prefix, plen);
    for (size_t i = plen; i > 0; i--) {
        if (out[i - 1] < 0xff) {
            out[i - 1]++;
            return i;
        }
    }
    out[0] = 0;
    return 1;
}

/* Append ,"range_end":"<b64>" for prefix to b. An empty prefix also needs key
 * "\0"; the caller handles that via prefix_key. */
static sc_status append_range_end(sc_buf *b, const char *prefix)
{
    size_t plen = strlen(prefix);
    unsigned char *end = malloc(plen + 1);
    sc_status st;
    if (end == NULL)
        return SC_ENOMEM;
    size_t elen = prefix_end(prefix, plen, end);
    st = sc_buf_puts(b, ",\"range_end\":\"");
    if (st == SC_OK)
        st = sc_b64_encode_buf(b, end, elen);
    if (st == SC_OK)
        st = sc_buf_puts(b, "\"");
    free(end);
    return st;
}

/* Append "key":"<b64>" (the empty prefix means key "\0": from the start). */
static sc_status append_key(sc_buf *b, const char *key, int is_prefix)
{
    sc_status st = sc_buf_puts(b, "\"key\":\"");
    if (st != SC_OK)
        return st;
    if (is_prefix && key[0] == '\0')
        st = sc_b64_encode_buf(b, "", 1);
    else
        st = sc_b64_encode_buf(b, key, strlen(key));
    if (st == SC_OK)
        st = sc_buf_puts(b, "\"");
    return st;
}

/* Map a gRPC status code (+message) from the gateway to ours. */
static sc_status grpc_status(long code, const char *msg)
{
    switch (code) {
    case 0:
        return SC_OK;
    case 3: /* InvalidArgument */
        return SC_EINVAL;
    case 4: /* DeadlineExceeded */
        return SC_ETIMEOUT;
    case 5: /* NotFound */
        return SC_ENOTFOUND;
    case 11: /* OutOfRange: compacted, or future revision */
        return (msg != NULL && strstr(msg, "compacted") != NULL) ? SC_ECONFLICT : SC_EINVAL;
    case 14: /* Unavailable */
        return SC_ECONN;
    default:
        return SC_ERR;
    }
}

/* Run one prepared transfer, on multi when given (checking *stop between
 * waits, woken by curl_multi_wakeup) or with curl_easy_perform. */
static CURLcode run_transfer(CURL *e, CURLM *multi, atomic_int *stop)
{
    CURLcode res = CURLE_OK;
    int done = 0;
    if (multi == NULL)
        return curl_easy_perform(e);
    if (curl_multi_add_handle(multi, e) != CURLM_OK)
        return CURLE_FAILED_INIT;
    while (!done) {
        int running = 0, q = 0;
        CURLMsg *m;
        if (stop != NULL && atomic_load(stop)) {
            res = CURLE_ABORTED_BY_CALLBACK;
            break;
        }
        if (curl_multi_perform(multi, &running) != CURLM_OK) {
            res = CURLE_FAILED_INIT;
            break;
        }
        while ((m = curl_multi_info_read(multi, &q)) != NULL) {
            if (m->msg == CURLMSG_DONE && m->easy_handle == e) {
                res = m->data.result;
                done = 1;
            }
        }
        if (done)
            break;
        if (curl_multi_poll(multi, NULL, 0, 1000, NULL) != CURLM_OK) {
            res = CURLE_FAILED_INIT;
            break;
        }
    }
    curl_multi_remove_handle(multi, e);
    return res;
}

/* Abort a transfer when its stop flag (clientp) is set. */
static int xfer_stop_cb(void *clientp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                        curl_off_t ulnow)
{
    atomic_int *stop = clientp;
    SC_UNUSED(dltotal);
    SC_UNUSED(dlnow);
    SC_UNUSED(ultotal);
    SC_UNUSED(ulnow);
    return (stop != NULL && atomic_load(stop)) ? 1 : 0;
}

/* ------------------------------------------------------------ client */

etcd_client *etcd_client_create(const etcd_opts *o, char *err, size_t errlen)
{
    etcd_opts n;
    etcd_client *h;
    if (opts_norm(o, &n, err, errlen) != SC_OK)
        return NULL;
    {
        char why[SC_ERRLEN];
        if (sc_http_init(why, sizeof why) != SC_OK) {
            sc_seterr(err, errlen, "etcd: %s", why);
            return NULL;
        }
    }
    h = calloc(1, sizeof(*h));
    if (h == NULL) {
        sc_seterr(err, errlen, "etcd: out of memory");
        return NULL;
    }
    h->o = n;
    h->endpoint = endpoint_dup(n.endpoint);
    h->o.endpoint = h->endpoint;
    sc_buf_init(&h->req, n.max_response);
    sc_buf_init(&h->resp, n.max_response);
    h->curl = curl_easy_init();
    if (h->endpoint != NULL && h->curl != NULL)
        h->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    if (h->endpoint == NULL || h->curl == NULL || h->hdrs == NULL) {
        sc_seterr(err, errlen, "etcd: out of memory");
        etcd_client_free(h);
        return NULL;
    }
    return h;
}

void etcd_client_free(etcd_client *h)
{
    if (h == NULL)
        return;
    if (h->curl != NULL)
        curl_easy_cleanup(h->curl);
    curl_slist_free_all(h->hdrs);
    sc_buf_free(&h->req);
    sc_buf_free(&h->resp);
    free(h->endpoint);
    free(h);
}

const char *etcd_errstr(const etcd_client *h) { return h != NULL ? h->errstr : "no client"; }

/* POST h->req to path; on SC_OK *out owns the parsed JSON answer (free with
 * cJSON_Delete). Errors from curl, HTTP and the gateway's {"error","code"}
 * body are mapped and described in h->errstr. */
static sc_status http_post(etcd_client *h, const char *path, cJSON **out)
{
    char url[ETCD_MAX_ENDPOINT + 64];
    CURLcode rc;
    long http = 0;
    cJSON *root;
    sc_status st;
    sc_http_sink sink;

    *out = NULL;
    h->errstr[0] = '\0';
    h->curlerr[0] = '\0';
    sc_buf_reset(&h->resp);
    snprintf(url, sizeof(url), "%s%s", h->endpoint, path);
    curl_easy_reset(h->curl);
    curl_easy_setopt(h->curl, CURLOPT_URL, url);
    curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, h->hdrs);
    curl_easy_setopt(h->curl, CURLOPT_POST, 1L);
    curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, h->req.data != NULL ? h->req.data : "");
    curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE, (long)h->req.len);
    sc_http_sink_init(&sink, &h->resp, 0);
    curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, sc_http_write);
    curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(h->curl, CURLOPT_ERRORBUFFER, h->curlerr);
    (void)sc_http_setup(h->curl, h->o.connect_timeout_ms, h->o.request_timeout_ms);
    if (h->stop != NULL) {
        curl_easy_setopt(h->curl, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(h->curl, CURLOPT_XFERINFOFUNCTION, xfer_stop_cb);
        curl_easy_setopt(h->curl, CURLOPT_XFERINFODATA, h->stop);
    }
    rc = run_transfer(h->curl, h->multi, h->stop);
    curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, NULL); /* sink is on this stack frame */
    if (rc != CURLE_OK) {
        if (sink.overflow) {
            sc_seterr(h->errstr, sizeof(h->errstr), "etcd %s: response larger than %zu bytes",
                      path, h->o.max_response);
            return SC_EPROTO;
        }
        sc_seterr(h->errstr, sizeof(h->errstr), "etcd %s: %s", path,
                  h->curlerr[0] ? h->curlerr : curl_easy_strerror(rc));
        return sc_http_status(rc);
    }
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &http);
    root = json_parse_exact(h->resp.data != NULL ? h->resp.data : "", h->resp.len);
    if (root == NULL || !cJSON_IsObject(root)) {
        sc_seterr(h->errstr, sizeof(h->errstr), "etcd %s: HTTP %ld, unparseable answer: %.80s",
                  path, http, h->resp.data != NULL ? h->resp.data : "");
        cJSON_Delete(root);
        return http >= 500 ? SC_ERR : SC_EPROTO;
    }
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "error");
    if (http != 200 || e != NULL) {
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(root, "code");
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "message");
        const char *msg = cJSON_IsString(m) ? m->valuestring
                          : cJSON_IsString(e) ? e->valuestring
                                              : "";
        long code = cJSON_IsNumber(c) ? (long)c->valuedouble : -1;
        st = code >= 0 ? grpc_status(code, msg) : SC_ERR;
        if (st == SC_OK)
            st = SC_ERR;
        sc_seterr(h->errstr, sizeof(h->errstr), "etcd %s: HTTP %ld code %ld: %.160s", path, http,
                  code, msg);
        cJSON_Delete(root);
        return st;
    }
    *out = root;
    return SC_OK;
}

/* Start h->req as "{"; callers append members and "}". */
static sc_status req_begin(etcd_client *h)
{
    sc_buf_reset(&h->req);
    return sc_buf_puts(&h->req, "{");
}

static sc_status req_fail(etcd_client *h, sc_status st)
{
    sc_seterr(h->errstr, sizeof(h->errstr), "etcd: cannot build request: %s",
              sc_status_str(st));
    return st;
}

sc_status etcd_put(etcd_client *h, const char *key, const void *value, size_t vlen,
                   int64_t lease_id, int64_t *revision_out)
{
    sc_status st;
    cJSON *root;
    int64_t rev;
    if (revision_out != NULL)
        *revision_out = 0;
    if (h == NULL || key == NULL || key[0] == '\0' || (value == NULL && vlen > 0) ||
        lease_id < 0) {
        if (h != NULL)
            sc_seterr(h->errstr, sizeof(h->errstr), "etcd_put: bad arguments");
        return SC_EINVAL;
    }
    st = req_begin(h);
    if (st == SC_OK)
        st = append_key(&h->req, key, 0);
    if (st == SC_OK)
        st = sc_buf_puts(&h->req, ",\"value\":\"");
    if (st == SC_OK)
        st = sc_b64_encode_buf(&h->req, value, vlen);
    if (st == SC_OK)
        st = sc_buf_puts(&h->req, "\"");
    if (st == SC_OK && lease_id != 0)
        st = sc_buf_printf(&h->req, ",\"lease\":\"%lld\"", (long long)lease_id);
    if (st == SC_OK)
        st = sc_buf_puts(&h->req, "}");
    if (st != SC_OK)
        return req_fail(h, st);
    st = http_post(h, "/v3/kv/put", &root);
    if (st != SC_OK)
        return st;
    if (header_rev(root, &rev) != 0 || rev <= 0) {
        sc_seterr(h->errstr, sizeof(h->errstr), "etcd put: answer has no header revision");
        cJSON_Delete(root);
        return SC_EPROTO;
    }
    if (revision_out != NULL)
        *revision_out = rev;
    cJSON_Delete(root);
    return SC_OK;
}

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
static sc_status range_from_json(const cJSON *root, etcd_kv_list *out, char *err, size_t errlen)
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
    if (header_rev(root, &out->revision) != 0 || j_i64(root, "count", &out->count) != 0 ||
        j_bool(root, "more", &out->more) != 0) {
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
    root = json_parse_exact(json, len);
    if (root == NULL) {
        sc_seterr(err, errlen, "range answer is not JSON");
        return SC_EPROTO;
    }
    st = range_from_json(root, out, err, errlen);
    cJSON_Delete(root);
    return st;
}

static sc_status do_range(etcd_client *h, const char *key, int is_prefix, etcd_kv_list *out)
{
    sc_status st;
    cJSON *root;
    char why[SC_ERRLEN];
    st = req_begin(h);
    if (st == SC_OK)
        st = append_key(&h->req, key, is_prefix);
    if (st == SC_OK && is_prefix)
        st = append_range_end(&h->req, key);
    if (st == SC_OK)
        st = sc_buf_puts(&h->req, "}");
    if (st != SC_OK)
        return req_fail(h, st);
    st = http_post(h, "/v3/kv/range", &root);
    if (st != SC_OK)
        return st;
    st = range_from_json(root, out, why, sizeof(why));
    if (st != SC_OK)
        sc_seterr(h->errstr, sizeof(h->errstr), "etcd range: %s", why);
    cJSON_Delete(root);
    return st;
}

sc_status etcd_get(etcd_client *h, const char *key, etcd_kv_list *out)
{
    if (out != NULL)
        memset(out, 0, sizeof(*out));
    if (h == NULL || key == NULL || key[0] == '\0' || out == NULL) {
        if (h != NULL)
            sc_seterr(h->errstr, sizeof(h->errstr), "etcd_get: bad arguments");
        return SC_EINVAL;
    }
    return do_range(h, key, 0, out);
}

sc_status etcd_get_prefix(etcd_client *h, const char *prefix, etcd_kv_list *out)
{
    if (out != NULL)
        memset(out, 0, sizeof(*out));
    if (h == NULL || prefix == NULL || out == NULL) {
        if (h != NULL)
            sc_seterr(h->errstr, sizeof(h->errstr), "etcd_get_prefix: bad arguments");
        return SC_EINVAL;
    }
    return do_range(h, prefix, 1, out);
}

static sc_status do_delete(etcd_client *h, const char *key, int is_prefix, int64_t *deleted)
{
    sc_status st;
    cJSON *root;
    int64_t n = 0;
    if (deleted != NULL)
        *deleted = 0;
    if (h == NULL || key == NULL || (!is_prefix && key[0] == '\0')) {
        if (h != NULL)
            sc_seterr(h->errstr, sizeof(h->errstr), "etcd_delete: bad arguments");
        return SC_EINVAL;
    }
    st = req_begin(h);
    if (st == SC_OK)
        st = append_key(&h->req, key, is_prefix);
    if (st == SC_OK && is_prefix)
        st = append_range_end(&h->req, key);
    if (st == SC_OK)
        st = sc_buf_puts(&h->req, "}");
    if (st != SC_OK)
        return req_fail(h, st);
    st = http_post(h, "/v3/kv/deleterange", &root);
    if (st != SC_OK)
        return st;
    if (j_i64(root, "deleted", &n) != 0) {
        sc_seterr(h->errstr, sizeof(h->errstr), "etcd deleterange: malformed \"deleted\"");
        cJSON_Delete(root);
        return SC_EPROTO;
    }
    if (deleted != NULL)
        *deleted = n;
    cJSON_Delete(root);
    return SC_OK;
}

sc_status etcd_delete(etcd_client *h, const char *key, int64_t *deleted)
{
    return do_delete(h, key, 0, deleted);
}

sc_status etcd_delete_prefix(etcd_client *h, const char *prefix, int64_t *deleted)
{
    return do_delete(h, prefix, 1, deleted);
}

/* POST {"<field>":"<v>"} to path: the calls whose whole request is one
 * positive int64 (sent as a string, as etcd's JSON gateway expects for
 * int64). `what` names the call in errors. The parsed answer goes to *out
 * (caller deletes it with cJSON_Delete), or is discarded when out is NULL. */
static sc_status post_one_int64(etcd_client *h, const char *what, const char *path, const char *field,
                                int64_t v, cJSON **out)
{
    sc_status st;
    cJSON *root;
    if (h == NULL || v <= 0) {
        if (h != NULL)
            sc_seterr(h->errstr, sizeof(h->errstr), "%s: bad arguments", what);
        return SC_EINVAL;
    }
    st = req_begin(h);
    if (st == SC_OK)
        st = sc_buf_printf(&h->req, "\"%s\":\"%lld\"}", field, (long long)v);
    if (st != SC_OK)
        return req_fail(h, st);
    st = http_post(h, path, &root);
    if (st != SC_OK)
        return st;
    if (out != NULL)
        *out = root;
    else
        cJSON_Delete(root);
    return SC_OK;
}

sc_status etcd_lease_grant(etcd_client *h, int64_t ttl_seconds, int64_t *lease_id,
                           int64_t *granted_ttl)
{
    sc_status st;
    cJSON *root;
    int64_t id = 0, ttl = 0;
    if (lease_id != NULL)
        *lease_id = 0;
    if (granted_ttl != NULL)
        *granted_ttl = 0;
    st = post_one_int64(h, "etcd_lease_grant", "/v3/lease/grant", "TTL", ttl_seconds, &root);
    if (st != SC_OK)
        return st;
    if (j_i64(root, "ID", &id) != 0 || j_i64(root, "TTL", &ttl) != 0 || id == 0) {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "error");
        sc_seterr(h->errstr, sizeof(h->errstr), "etcd lease grant: no lease in answer%s%.100s",
                  cJSON_IsString(e) ? ": " : "", cJSON_IsString(e) ? e->valuestring : "");
        cJSON_Delete(root);
        return SC_EPROTO;
    }
    if (lease_id != NULL)
        *lease_id = id;
    if (granted_ttl != NULL)
        *granted_ttl = ttl;
    cJSON_Delete(root);
    return SC_OK;
}

sc_status etcd_lease_keepalive(etcd_client *h, int64_t id, int64_t *ttl_left)
{
    sc_status st;
    cJSON *root;
    const cJSON *res;
    int64_t ttl = 0;
    if (ttl_left != NULL)
        *ttl_left = 0;
    /* a streaming RPC: the gateway answers one {"result":{...}} per request
     * object and closes when the request body ends */
    st = post_one_int64(h, "etcd_lease_keepalive", "/v3/lease/keepalive", "ID", id, &root);
    if (st != SC_OK)
        return st;
    res = cJSON_GetObjectItemCaseSensitive(root, "result");
    if (!cJSON_IsObject(res) || j_i64(res, "TTL", &ttl) != 0) {
        sc_seterr(h->errstr, sizeof(h->errstr), "etcd keepalive: malformed answer");
        cJSON_Delete(root);
        return SC_EPROTO;
    }
    cJSON_Delete(root);
    if (ttl <= 0) {
        sc_seterr(h->errstr, sizeof(h->errstr), "etcd keepalive: lease %lld not found",
                  (long long)id);
        return SC_ENOTFOUND;
    }
    if (ttl_left != NULL)
        *ttl_left = ttl;
    return SC_OK;
}

sc_status etcd_lease_revoke(etcd_client *h, int64_t id)
{
    return post_one_int64(h, "etcd_lease_revoke", "/v3/lease/revoke", "ID", id, NULL);
}

sc_status etcd_compact(etcd_client *h, int64_t rev)
{
    return post_one_int64(h, "etcd_compact", "/v3/kv/compaction", "revision", rev, NULL);
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
        if (t == NULL || cJSON_IsNull(t) || (cJSON_IsString(t) && strcmp(t->valuestring, "PUT") == 0) ||
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
    root = json_parse_exact(line, len);
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
    if (header_rev(res, &out->revision) != 0 || j_i64(res, "watch_id", &out->watch_id) != 0 ||
        j_i64(res, "compact_revision", &out->compact_revision) != 0 ||
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

/* ------------------------------------------------------------ watcher */

/* Why a stream ended. */
enum stream_end { END_NONE = 0, END_STOP, END_COMPACTED, END_FAIL };

struct etcd_watch {
    etcd_opts o;               /* normalised; o.endpoint == endpoint */
    char *endpoint;            /* owned */
    char *prefix;              /* owned; NUL-terminated key prefix */
    etcd_watch_cb cb;          /* called on the thread */
    void *ctx;                 /* borrowed; passed to cb */
    pthread_t thread;          /* the watcher thread */
    atomic_int stop;           /* set by etcd_watch_stop */
    pthread_mutex_t mu;        /* guards the backoff wait */
    pthread_cond_t cv;         /* signalled by etcd_watch_stop */
    CURLM *multi;              /* owned; every transfer runs here so stop can wake it */
    CURL *stream;              /* owned; the /v3/watch transfer */
    struct curl_slist *hdrs;   /* owned */
    etcd_client *snap;         /* owned; range reads for snapshots, driven via multi */
    sc_buf body;               /* request body of the stream */
    sc_buf line;               /* bytes of the stream not yet split into lines */
    int need_snapshot;         /* thread only: deliver a snapshot before watching */
    enum stream_end end;       /* thread only: set by the line handler to end a stream */
    int created;               /* thread only: this stream got its created answer */
    int64_t stream_start_ms;   /* thread only: when the current stream was opened */
    int create_timed_out;      /* thread only: no created answer within request_timeout_ms */
    uint64_t rng;              /* thread only: xorshift state for backoff jitter */
    int quiet;                 /* thread only: already failing; log retries at debug */
    _Atomic int64_t next_rev;  /* next revision to ask for */
    _Atomic int64_t n_connects, n_failures, n_resyncs, n_events; /* stats */
};

/* Handle one line of the stream; may set w->end. */
static void watch_line(etcd_watch *w, const char *p, size_t n)
{
    etcd_watch_batch b;
    sc_status st;
    while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    if (n == 0)
        return;
    st = etcd_watch_parse_line(p, n, &b);
    if (st != SC_OK) {
        log_warn("etcd watch %s: %s: %s", w->prefix, st == SC_ERR ? "stream error" : "bad line",
                 b.err);
        etcd_watch_batch_free(&b);
        w->end = END_FAIL;
        return;
    }
    if (b.created && !w->created) {
        w->created = 1;
        atomic_fetch_add(&w->n_connects, 1);
    }
    if (b.canceled) {
        if (b.compact_revision > 0) {
            log_info("etcd watch %s: revision %lld compacted (now %lld); resyncing", w->prefix,
                     (long long)atomic_load(&w->next_rev), (long long)b.compact_revision);
            w->end = END_COMPACTED;
        } else {
            log_warn("etcd watch %s: canceled by etcd: %s", w->prefix, b.err);
            w->end = END_FAIL;
        }
        etcd_watch_batch_free(&b);
        return;
    }
    for (size_t i = 0; i < b.n && !atomic_load(&w->stop); i++) {
        const etcd_event *ev = &b.events[i];
        w->cb(w->ctx, ev);
        atomic_fetch_add(&w->n_events, 1);
        if (ev->kv.mod_revision >= atomic_load(&w->next_rev))
            atomic_store(&w->next_rev, ev->kv.mod_revision + 1);
    }
    etcd_watch_batch_free(&b);
}

static size_t watch_write_cb(char *p, size_t size, size_t nmemb, void *ud)
{
    etcd_watch *w = ud;
    size_t n = size * nmemb, start = 0;
    if (atomic_load(&w->stop) || w->end != END_NONE)
        return 0;
    if (sc_buf_append(&w->line, p, n) != SC_OK) {
        log_error("etcd watch %s: a stream line exceeds %zu bytes", w->prefix, w->o.max_response);
        w->end = END_FAIL;
        return 0;
    }
    for (size_t i = 0; i < w->line.len; i++) {
        if (w->line.data[i] != '\n')
            continue;
        watch_line(w, w->line.data + start, i - start);
        start = i + 1;
        if (w->end != END_NONE || atomic_load(&w->stop))
            return 0;
    }
    if (start > 0) {
        memmove(w->line.data, w->line.data + start, w->line.len - start);
        w->line.len -= start;
        w->line.data[w->line.len] = '\0';
    }
    return n;
}

/* Progress callback of the stream: abort on stop, and when etcd has not
 * confirmed the watch within the request timeout (a peer that accepts but
 * never answers would otherwise hold us until the idle timeout). */
static int watch_xfer_cb(void *clientp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                         curl_off_t ulnow)
{
    etcd_watch *w = clientp;
    SC_UNUSED(dltotal);
    SC_UNUSED(dlnow);
    SC_UNUSED(ultotal);
    SC_UNUSED(ulnow);
    if (atomic_load(&w->stop))
        return 1;
    if (!w->created && sc_now_ms() - w->stream_start_ms > w->o.request_timeout_ms) {
        w->create_timed_out = 1;
        return 1;
    }
    return 0;
}

/* Read the range and deliver it as RESYNC, PUT..., SYNCED. */
static sc_status watch_snapshot(etcd_watch *w)
{
    etcd_kv_list l;
    etcd_event ev;
    sc_status st = etcd_get_prefix(w->snap, w->prefix, &l);
    if (st != SC_OK) {
        if (!atomic_load(&w->stop))
            SC_LOG(w->quiet ? SC_LOG_DEBUG : SC_LOG_WARN, "etcd watch %s: snapshot failed: %s",
                   w->prefix, etcd_errstr(w->snap));
        return st;
    }
    memset(&ev, 0, sizeof(ev));
    ev.type = ETCD_EV_RESYNC;
    ev.revision = l.revision;
    w->cb(w->ctx, &ev);
    for (size_t i = 0; i < l.n; i++) {
        ev.type = ETCD_EV_PUT;
        ev.kv = l.kvs[i];
        w->cb(w->ctx, &ev);
    }
    memset(&ev, 0, sizeof(ev));
    ev.type = ETCD_EV_SYNCED;
    ev.revision = l.revision;
    w->cb(w->ctx, &ev);
    atomic_store(&w->next_rev, l.revision + 1);
    atomic_fetch_add(&w->n_resyncs, 1);
    etcd_kv_list_free(&l);
    return SC_OK;
}

/* Open one watch stream from next_rev and run it until it ends. */
static enum stream_end watch_stream(etcd_watch *w)
{
    char url[ETCD_MAX_ENDPOINT + 16];
    sc_status st;
    CURLcode rc;
    long http = 0;

    sc_buf_reset(&w->body);
    sc_buf_reset(&w->line);
    w->end = END_NONE;
    w->created = 0;
    st = sc_buf_puts(&w->body, "{\"create_request\":{");
    if (st == SC_OK)
        st = append_key(&w->body, w->prefix, 1);
    if (st == SC_OK)
        st = append_range_end(&w->body, w->prefix);
    if (st == SC_OK)
        st = sc_buf_printf(&w->body, ",\"start_revision\":\"%lld\",\"progress_notify\":true}}",
                           (long long)atomic_load(&w->next_rev));
    if (st != SC_OK) {
        log_error("etcd watch %s: cannot build request", w->prefix);
        return END_FAIL;
    }
    snprintf(url, sizeof(url), "%s/v3/watch", w->endpoint);
    curl_easy_reset(w->stream);
    curl_easy_setopt(w->stream, CURLOPT_URL, url);
    curl_easy_setopt(w->stream, CURLOPT_HTTPHEADER, w->hdrs);
    curl_easy_setopt(w->stream, CURLOPT_POST, 1L);
    curl_easy_setopt(w->stream, CURLOPT_POSTFIELDS, w->body.data);
    curl_easy_setopt(w->stream, CURLOPT_POSTFIELDSIZE, (long)w->body.len);
    curl_easy_setopt(w->stream, CURLOPT_WRITEFUNCTION, watch_write_cb);
    curl_easy_setopt(w->stream, CURLOPT_WRITEDATA, w);
    curl_easy_setopt(w->stream, CURLOPT_CONNECTTIMEOUT_MS, w->o.connect_timeout_ms);
    /* no overall timeout: the stream lives until it breaks; a silent one is
     * cut after watch_idle_timeout_ms (etcd's progress notices keep a healthy
     * one above 1 byte/s in curl's sliding window) */
    curl_easy_setopt(w->stream, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(w->stream, CURLOPT_LOW_SPEED_TIME, (long)(w->o.watch_idle_timeout_ms / 1000));
    curl_easy_setopt(w->stream, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(w->stream, CURLOPT_TCP_KEEPIDLE, 30L);
    curl_easy_setopt(w->stream, CURLOPT_TCP_KEEPINTVL, 10L);
    curl_easy_setopt(w->stream, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(w->stream, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(w->stream, CURLOPT_XFERINFOFUNCTION, watch_xfer_cb);
    curl_easy_setopt(w->stream, CURLOPT_XFERINFODATA, w);
    w->stream_start_ms = sc_now_ms();
    w->create_timed_out = 0;

    rc = run_transfer(w->stream, w->multi, &w->stop);
    if (atomic_load(&w->stop))
        return END_STOP;
    if (w->end == END_NONE && w->line.len > 0) /* a last line without newline */
        watch_line(w, w->line.data, w->line.len);
    if (w->end != END_NONE)
        return w->end;
    curl_easy_getinfo(w->stream, CURLINFO_RESPONSE_CODE, &http);
    if (w->create_timed_out) {
        SC_LOG(w->quiet ? SC_LOG_DEBUG : SC_LOG_WARN, "etcd watch %s: no answer within %ld ms",
               w->prefix, w->o.request_timeout_ms);
        return END_FAIL;
    }
    SC_LOG(w->quiet && !w->created ? SC_LOG_DEBUG : SC_LOG_WARN,
           "etcd watch %s: stream ended (HTTP %ld): %s", w->prefix, http,
             rc == CURLE_OK ? "closed by server" : curl_easy_strerror(rc));
    return END_FAIL;
}

/* Sleep ms unless stopped first. */
static void watch_sleep(etcd_watch *w, long ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&w->mu);
    while (!atomic_load(&w->stop)) {
        if (pthread_cond_timedwait(&w->cv, &w->mu, &ts) != 0)
            break;
    }
    pthread_mutex_unlock(&w->mu);
}

static void *watch_main(void *arg)
{
    etcd_watch *w = arg;
    long backoff = w->o.watch_backoff_min_ms;
    while (!atomic_load(&w->stop)) {
        int ok;
        if (w->need_snapshot) {
            ok = watch_snapshot(w) == SC_OK;
            if (ok)
                w->need_snapshot = 0;
        } else {
            enum stream_end e = watch_stream(w);
            if (e == END_STOP)
                break;
            if (e == END_COMPACTED) {
                w->need_snapshot = 1;
                backoff = w->o.watch_backoff_min_ms;
                continue;
            }
            ok = 0;
            if (w->created) { /* it worked for a while: start the backoff over */
                backoff = w->o.watch_backoff_min_ms;
                w->quiet = 0;
            }
        }
        if (ok || atomic_load(&w->stop)) {
            w->quiet = 0;
            continue;
        }
        if (!w->quiet)
            log_info("etcd watch %s: retrying with backoff (further failures at debug level)",
                     w->prefix);
        w->quiet = 1;
        atomic_fetch_add(&w->n_failures, 1);
        /* +-25% jitter so many watchers do not reconnect in step */
        w->rng ^= w->rng << 13;
        w->rng ^= w->rng >> 7;
        w->rng ^= w->rng << 17;
        long d = backoff - backoff / 4 + (long)(w->rng % (uint64_t)(backoff / 2 + 1));
        watch_sleep(w, d);
        backoff = backoff * 2 > w->o.watch_backoff_max_ms ? w->o.watch_backoff_max_ms : backoff * 2;
    }
    return NULL;
}

static void watch_free(etcd_watch *w)
{
    if (w == NULL)
        return;
    if (w->stream != NULL)
        curl_easy_cleanup(w->stream);
    etcd_client_free(w->snap);
    if (w->multi != NULL)
        curl_multi_cleanup(w->multi);
    curl_slist_free_all(w->hdrs);
    sc_buf_free(&w->body);
    sc_buf_free(&w->line);
    free(w->endpoint);
    free(w->prefix);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w);
}

etcd_watch *etcd_watch_start(const etcd_opts *o, const char *prefix, int64_t start_revision,
                             etcd_watch_cb cb, void *ctx, char *err, size_t errlen)
{
    etcd_watch *w;
    etcd_opts n;
    if (prefix == NULL || cb == NULL) {
        sc_seterr(err, errlen, "etcd watch: prefix and callback are required");
        return NULL;
    }
    if (opts_norm(o, &n, err, errlen) != SC_OK)
        return NULL;
    w = calloc(1, sizeof(*w));
    if (w == NULL) {
        sc_seterr(err, errlen, "etcd watch: out of memory");
        return NULL;
    }
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    atomic_init(&w->stop, 0);
    w->o = n;
    w->cb = cb;
    w->ctx = ctx;
    sc_buf_init(&w->body, n.max_response);
    sc_buf_init(&w->line, n.max_response);
    w->snap = etcd_client_create(&n, err, errlen);
    if (w->snap == NULL) {
        watch_free(w);
        return NULL;
    }
    w->endpoint = endpoint_dup(n.endpoint);
    w->o.endpoint = w->endpoint;
    w->prefix = strdup(prefix);
    w->multi = curl_multi_init();
    w->stream = curl_easy_init();
    w->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    if (w->endpoint == NULL || w->prefix == NULL || w->multi == NULL || w->stream == NULL ||
        w->hdrs == NULL) {
        sc_seterr(err, errlen, "etcd watch: out of memory");
        watch_free(w);
        return NULL;
    }
    w->rng = (uint64_t)(uintptr_t)w ^ (uint64_t)sc_now_us() ^ 0x9E3779B97F4A7C15ULL;
    if (w->rng == 0)
        w->rng = 1;
    w->snap->multi = w->multi;
    w->snap->stop = &w->stop;
    if (start_revision > 0) {
        atomic_init(&w->next_rev, start_revision);
    } else {
        atomic_init(&w->next_rev, 0);
        w->need_snapshot = 1;
    }
    if (pthread_create(&w->thread, NULL, watch_main, w) != 0) {
        sc_seterr(err, errlen, "etcd watch: cannot start thread");
        watch_free(w);
        return NULL;
    }
    return w;
}

void etcd_watch_stop(etcd_watch *w)
{
    if (w == NULL)
        return;
    atomic_store(&w->stop, 1);
    pthread_mutex_lock(&w->mu);
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    curl_multi_wakeup(w->multi);
    pthread_join(w->thread, NULL);
    watch_free(w);
}

void etcd_watch_get_stats(etcd_watch *w, etcd_watch_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (w == NULL)
        return;
    out->next_revision = atomic_load(&w->next_rev);
    out->connects = atomic_load(&w->n_connects);
    out->failures = atomic_load(&w->n_failures);
    out->resyncs = atomic_load(&w->n_resyncs);
    out->events = atomic_load(&w->n_events);
}
