/*
 * etcd.c - the etcd v3 JSON-gateway client of etcd.h: unary calls (one POST
 * each on a reused curl easy handle) and the parsers of etcd's answers
 * (range, watch-stream lines). JSON is cJSON; every int64 is accepted as a
 * string (what the gateway sends) or as an exact JSON number.
 *
 * Not here: the watcher thread (etcd_watch.c), which uses the helpers
 * declared in etcd_int.h.
 */
#include "etcd.h"
#include "etcd_int.h"

#include "base64.h"
#include "buf.h"
#include "http.h"
#include "log.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ETCD_DEF_CONNECT_MS 2000
#define ETCD_DEF_REQUEST_MS 5000
#define ETCD_DEF_MAX_RESPONSE (16u * 1024 * 1024)
#define ETCD_DEF_BACKOFF_MIN_MS 100
#define ETCD_DEF_BACKOFF_MAX_MS 5000
#define ETCD_DEF_IDLE_MS 660000

struct etcd_client {
    char *endpoint;                /* owned copy of opts.endpoint, no trailing '/' */
    etcd_opts o;                   /* normalised options; o.endpoint == endpoint */
    CURL *curl;                    /* owned; reused so the connection is kept */
    etcd_sec sec;                  /* owned: TLS files, credentials, token, headers */
    sc_buf req;                    /* request body being built */
    sc_buf resp;                   /* response body, capped at o.max_response */
    char curlerr[CURL_ERROR_SIZE]; /* curl's detail for the last transfer */
    char errstr[SC_ERRLEN];        /* detail of the last failure */
    CURLM *multi;                  /* borrowed from a watcher: run transfers there
                                          so a stop can interrupt them; NULL = easy_perform */
    atomic_int *stop;              /* borrowed from a watcher; abort when set */
};

/* ------------------------------------------------------------ helpers */


/* Validate o and fill defaults into *out; endpoint is left pointing at o's. */
sc_status etcd_opts_norm(const etcd_opts *o, etcd_opts *out, char *err, size_t errlen)
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
char *etcd_endpoint_dup(const char *ep)
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
sc_status etcd_append_range_end(sc_buf *b, const char *prefix)
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
sc_status etcd_append_key(sc_buf *b, const char *key, int is_prefix)
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
CURLcode etcd_run_transfer(CURL *e, CURLM *multi, atomic_int *stop)
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
    if (etcd_opts_norm(o, &n, err, errlen) != SC_OK)
        return NULL;
    if (sc_http_init(err, errlen) != SC_OK)
        return NULL;
    h = calloc(1, sizeof(*h));
    if (h == NULL) {
        sc_seterr(err, errlen, "etcd: out of memory");
        return NULL;
    }
    h->o = n;
    h->endpoint = etcd_endpoint_dup(n.endpoint);
    h->o.endpoint = h->endpoint;
    sc_buf_init(&h->req, n.max_response);
    sc_buf_init(&h->resp, n.max_response);
    h->curl = curl_easy_init();
    if (h->endpoint == NULL || h->curl == NULL || etcd_sec_init(&h->sec, &n) != SC_OK) {
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
    etcd_sec_clear(&h->sec);
    sc_buf_free(&h->req);
    sc_buf_free(&h->resp);
    free(h->endpoint);
    free(h);
}

const char *etcd_errstr(const etcd_client *h) { return h != NULL ? h->errstr : "no client"; }

void etcd_client_interruptible(etcd_client *h, CURLM *multi, atomic_int *stop)
{
    h->multi = multi;
    h->stop = stop;
}

/* POST body (len bytes) to path with h's headers and TLS options; on SC_OK
 * *out owns the parsed JSON answer (free with cJSON_Delete). Errors from
 * curl, HTTP and the gateway's {"error","code"} body are mapped and
 * described in h->errstr; *grpc gets the gateway's code (-1 when none). */
static sc_status post_raw(etcd_client *h, const char *path, const char *body, size_t len,
                          cJSON **out, long *grpc)
{
    char url[ETCD_MAX_ENDPOINT + 64];
    CURLcode rc;
    long http = 0;
    cJSON *root;
    sc_status st;
    sc_http_sink sink;

    *out = NULL;
    *grpc = -1;
    h->errstr[0] = '\0';
    h->curlerr[0] = '\0';
    sc_buf_reset(&h->resp);
    snprintf(url, sizeof(url), "%s%s", h->endpoint, path);
    curl_easy_reset(h->curl);
    curl_easy_setopt(h->curl, CURLOPT_URL, url);
    curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, h->sec.hdrs);
    curl_easy_setopt(h->curl, CURLOPT_POST, 1L);
    curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, body != NULL ? body : "");
    curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE, (long)len);
    etcd_sec_tls(&h->sec, h->curl);
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
    rc = etcd_run_transfer(h->curl, h->multi, h->stop);
    curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, NULL); /* sink is on this stack frame */
    if (rc != CURLE_OK) {
        if (sink.overflow) {
            sc_seterr(h->errstr, sizeof(h->errstr), "etcd %s: response larger than %zu bytes", path,
                      h->o.max_response);
            return SC_EPROTO;
        }
        sc_seterr(h->errstr, sizeof(h->errstr), "etcd %s%s: %s%s", h->endpoint, path,
                  h->curlerr[0] ? h->curlerr : curl_easy_strerror(rc), sc_http_tls_hint(rc));
        return sc_http_status(rc);
    }
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &http);
    root = etcd_json_parse_exact(h->resp.data != NULL ? h->resp.data : "", h->resp.len);
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
        const char *msg = cJSON_IsString(m)   ? m->valuestring
                          : cJSON_IsString(e) ? e->valuestring
                                              : "";
        long code = cJSON_IsNumber(c) ? (long)sc_i64_from_double(c->valuedouble) : -1;
        *grpc = code;
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

/* Wipe then free a buffer that held a secret. */
static void buf_wipe_free(sc_buf *b)
{
    if (b->data != NULL)
        explicit_bzero(b->data, b->len);
    sc_buf_free(b);
}

/* v3 auth/authenticate as h's user: on SC_OK h->sec holds the new token.
 * The request goes out without the old token; its body is wiped after. */
static sc_status login(etcd_client *h)
{
    sc_buf body;
    cJSON *root = NULL;
    const cJSON *tok;
    long code;
    char why[SC_ERRLEN];
    sc_status st = etcd_sec_set_token(&h->sec, NULL);
    sc_buf_init(&body, 64 * 1024);
    if (st == SC_OK)
        st = etcd_sec_login_body(&h->sec, &body);
    if (st != SC_OK) {
        buf_wipe_free(&body);
        sc_seterr(h->errstr, sizeof(h->errstr), "etcd: out of memory");
        return st;
    }
    st = post_raw(h, "/v3/auth/authenticate", body.data, body.len, &root, &code);
    buf_wipe_free(&body);
    if (st != SC_OK) {
        snprintf(why, sizeof why, "%s", h->errstr);
        sc_seterr(h->errstr, sizeof(h->errstr), "etcd: authenticate as user %s failed: %s",
                  h->sec.user, why);
        return st;
    }
    tok = cJSON_GetObjectItemCaseSensitive(root, "token");
    if (!cJSON_IsString(tok) || tok->valuestring[0] == '\0') {
        sc_seterr(h->errstr, sizeof(h->errstr),
                  "etcd %s: authenticate as user %s: no token in the answer (is auth enabled "
                  "on the server?)",
                  h->endpoint, h->sec.user);
        cJSON_Delete(root);
        return SC_EPROTO;
    }
    st = etcd_sec_set_token(&h->sec, tok->valuestring);
    explicit_bzero(tok->valuestring, strlen(tok->valuestring));
    cJSON_Delete(root);
    if (st != SC_OK)
        sc_seterr(h->errstr, sizeof(h->errstr), "etcd: out of memory");
    return st;
}

/* POST h->req to path (see post_raw), authenticated when h has a user: log
 * in first when there is no token, and once more when etcd answers
 * Unauthenticated (16: the token expired or the server forgot it). */
static sc_status http_post(etcd_client *h, const char *path, cJSON **out)
{
    long code;
    sc_status st;
    *out = NULL;
    if (h->sec.user != NULL && h->sec.token == NULL && (st = login(h)) != SC_OK)
        return st;
    st = post_raw(h, path, h->req.data, h->req.len, out, &code);
    if (st != SC_OK && code == 16 && h->sec.user != NULL) {
        log_debug("etcd %s: %s; authenticating again", h->endpoint, h->errstr);
        if ((st = login(h)) != SC_OK)
            return st;
        st = post_raw(h, path, h->req.data, h->req.len, out, &code);
    }
    return st;
}

const char *etcd_client_token(etcd_client *h, CURL *e, struct curl_slist **hdrs)
{
    h->errstr[0] = '\0';
    etcd_sec_tls(&h->sec, e);
    if (h->sec.user != NULL && login(h) != SC_OK)
        return NULL;
    *hdrs = h->sec.hdrs;
    return h->sec.token != NULL ? h->sec.token : "";
}

/* Start h->req as "{"; callers append members and "}". */
static sc_status req_begin(etcd_client *h)
{
    sc_buf_reset(&h->req);
    return sc_buf_puts(&h->req, "{");
}

static sc_status req_fail(etcd_client *h, sc_status st)
{
    sc_seterr(h->errstr, sizeof(h->errstr), "etcd: cannot build request: %s", sc_status_str(st));
    return st;
}

/* Append the members of a put request: "key", "value" and "lease" (when
 * not 0), without braces. */
static sc_status append_put(sc_buf *b, const char *key, const void *value, size_t vlen,
                            int64_t lease_id)
{
    sc_status st = etcd_append_key(b, key, 0);
    if (st == SC_OK)
        st = sc_buf_puts(b, ",\"value\":\"");
    if (st == SC_OK)
        st = sc_b64_encode_buf(b, value, vlen);
    if (st == SC_OK)
        st = sc_buf_puts(b, "\"");
    if (st == SC_OK && lease_id != 0)
        st = sc_buf_printf(b, ",\"lease\":\"%lld\"", (long long)lease_id);
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
    if (h == NULL || key == NULL || key[0] == '\0' || (value == NULL && vlen > 0) || lease_id < 0) {
        if (h != NULL)
            sc_seterr(h->errstr, sizeof(h->errstr), "etcd_put: bad arguments");
        return SC_EINVAL;
    }
    st = req_begin(h);
    if (st == SC_OK)
        st = append_put(&h->req, key, value, vlen, lease_id);
    if (st == SC_OK)
        st = sc_buf_puts(&h->req, "}");
    if (st != SC_OK)
        return req_fail(h, st);
    st = http_post(h, "/v3/kv/put", &root);
    if (st != SC_OK)
        return st;
    if (etcd_json_header_rev(root, &rev) != 0 || rev <= 0) {
        sc_seterr(h->errstr, sizeof(h->errstr), "etcd put: answer has no header revision");
        cJSON_Delete(root);
        return SC_EPROTO;
    }
    if (revision_out != NULL)
        *revision_out = rev;
    cJSON_Delete(root);
    return SC_OK;
}

sc_status etcd_put_if(etcd_client *h, const char *key, const void *value, size_t vlen,
                      int64_t lease_id, int64_t expect_mod_rev, int *done)
{
    sc_status st;
    cJSON *root;
    int ok = 0;
    if (done != NULL)
        *done = 0;
    if (h == NULL || key == NULL || key[0] == '\0' || (value == NULL && vlen > 0) || lease_id < 0 ||
        expect_mod_rev < 0) {
        if (h != NULL)
            sc_seterr(h->errstr, sizeof(h->errstr), "etcd_put_if: bad arguments");
        return SC_EINVAL;
    }
    /* compare: the key's mod_revision, or (0) its create_revision = absent */
    st = req_begin(h);
    if (st == SC_OK)
        st = sc_buf_puts(&h->req, "\"compare\":[{");
    if (st == SC_OK)
        st = etcd_append_key(&h->req, key, 0);
    if (st == SC_OK)
        st = expect_mod_rev == 0
                 ? sc_buf_puts(
                       &h->req,
                       ",\"target\":\"CREATE\",\"result\":\"EQUAL\",\"create_revision\":\"0\"}]")
                 : sc_buf_printf(
                       &h->req,
                       ",\"target\":\"MOD\",\"result\":\"EQUAL\",\"mod_revision\":\"%lld\"}]",
                       (long long)expect_mod_rev);
    if (st == SC_OK)
        st = sc_buf_puts(&h->req, ",\"success\":[{\"request_put\":{");
    if (st == SC_OK)
        st = append_put(&h->req, key, value, vlen, lease_id);
    if (st == SC_OK)
        st = sc_buf_puts(&h->req, "}}]}");
    if (st != SC_OK)
        return req_fail(h, st);
    st = http_post(h, "/v3/kv/txn", &root);
    if (st != SC_OK)
        return st;
    ok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "succeeded")); /* omitted when false */
    cJSON_Delete(root);
    if (done != NULL)
        *done = ok;
    return SC_OK;
}

static sc_status do_range(etcd_client *h, const char *key, int is_prefix, etcd_kv_list *out)
{
    sc_status st;
    cJSON *root;
    char why[SC_ERRLEN];
    st = req_begin(h);
    if (st == SC_OK)
        st = etcd_append_key(&h->req, key, is_prefix);
    if (st == SC_OK && is_prefix)
        st = etcd_append_range_end(&h->req, key);
    if (st == SC_OK)
        st = sc_buf_puts(&h->req, "}");
    if (st != SC_OK)
        return req_fail(h, st);
    st = http_post(h, "/v3/kv/range", &root);
    if (st != SC_OK)
        return st;
    st = etcd_json_range(root, out, why, sizeof(why));
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
        st = etcd_append_key(&h->req, key, is_prefix);
    if (st == SC_OK && is_prefix)
        st = etcd_append_range_end(&h->req, key);
    if (st == SC_OK)
        st = sc_buf_puts(&h->req, "}");
    if (st != SC_OK)
        return req_fail(h, st);
    st = http_post(h, "/v3/kv/deleterange", &root);
    if (st != SC_OK)
        return st;
    if (etcd_json_i64(root, "deleted", &n) != 0) {
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
static sc_status post_one_int64(etcd_client *h, const char *what, const char *path,
                                const char *field, int64_t v, cJSON **out)
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
    if (etcd_json_i64(root, "ID", &id) != 0 || etcd_json_i64(root, "TTL", &ttl) != 0 || id == 0) {
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
    if (!cJSON_IsObject(res) || etcd_json_i64(res, "TTL", &ttl) != 0) {
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
