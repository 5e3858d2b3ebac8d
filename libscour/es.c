/*
 * es.c - blocking Elasticsearch/OpenSearch client over one reused libcurl
 * easy handle; see es.h for the contract. Every transfer has a connect and
 * a total deadline, and response bodies are capped.
 */
#include "es.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "index_name.h"
#include "log.h"

#define ES_DEFAULT_CONNECT_MS 2000L
#define ES_DEFAULT_TIMEOUT_MS 30000L
#define ES_DEFAULT_MAX_RESPONSE ((size_t)64 << 20)
#define ES_URL_MAX 2048

struct es_client {
    es_opts opts;           /* copy of the caller's options; strings point at the fields below */
    char *url;              /* owned; base URL without trailing '/' */
    char *user;             /* owned, may be NULL */
    char *password;         /* owned, may be NULL */
    char *api_key;          /* owned, may be NULL */
    char *ca_file;          /* owned, may be NULL */
    char *refresh_interval; /* owned, may be NULL */
    CURL *curl;             /* owned; reused across calls for keep-alive */
    sc_buf scratch;         /* owned; body sink when the caller passes no resp */
    char errstr[SC_ERRLEN]; /* detail of the last failure */
    char curl_err[CURL_ERROR_SIZE]; /* libcurl's message for the last transfer */
};

static char *dup_opt(const char *s, int *oom)
{
    char *d;
    if (s == NULL)
        return NULL;
    d = strdup(s);
    if (d == NULL)
        *oom = 1;
    return d;
}

es_client *es_client_create(const es_opts *opts, char *err, size_t errlen)
{
    es_client *h;
    int oom = 0;
    size_t n;

    if (opts == NULL || opts->url == NULL ||
        (strncmp(opts->url, "http://", 7) != 0 && strncmp(opts->url, "https://", 8) != 0)) {
        sc_seterr(err, errlen, "es: url must start with http:// or https:// (got %s)",
                  opts && opts->url ? opts->url : "(null)");
        return NULL;
    }
    if (strlen(opts->url) > ES_URL_MAX / 2) {
        sc_seterr(err, errlen, "es: url too long");
        return NULL;
    }
    if (opts->connect_timeout_ms < 0 || opts->timeout_ms < 0) {
        sc_seterr(err, errlen, "es: timeouts must not be negative");
        return NULL;
    }
    if (opts->refresh_interval != NULL &&
        (opts->refresh_interval[0] == '\0' || strlen(opts->refresh_interval) > 32)) {
        sc_seterr(err, errlen, "es: bad refresh_interval");
        return NULL;
    }
    if (sc_http_init(err, errlen) != SC_OK)
        return NULL;
    h = calloc(1, sizeof(*h));
    if (h == NULL) {
        sc_seterr(err, errlen, "es: out of memory");
        return NULL;
    }
    h->url = dup_opt(opts->url, &oom);
    h->user = dup_opt(opts->user, &oom);
    h->password = dup_opt(opts->password, &oom);
    h->api_key = dup_opt(opts->api_key, &oom);
    h->ca_file = dup_opt(opts->ca_file, &oom);
    h->refresh_interval = dup_opt(opts->refresh_interval, &oom);
    h->curl = curl_easy_init();
    if (oom || h->curl == NULL) {
        sc_seterr(err, errlen, "es: out of memory");
        es_client_free(h);
        return NULL;
    }
    n = strlen(h->url);
    while (n > 0 && h->url[n - 1] == '/')
        h->url[--n] = '\0';
    sc_buf_init(&h->scratch, 0);

    h->opts = *opts;
    h->opts.url = h->url;
    h->opts.user = h->user;
    h->opts.password = h->password;
    h->opts.api_key = h->api_key;
    h->opts.ca_file = h->ca_file;
    h->opts.refresh_interval = h->refresh_interval;
    if (h->opts.connect_timeout_ms == 0)
        h->opts.connect_timeout_ms = ES_DEFAULT_CONNECT_MS;
    if (h->opts.timeout_ms == 0)
        h->opts.timeout_ms = ES_DEFAULT_TIMEOUT_MS;
    if (h->opts.max_response == 0)
        h->opts.max_response = ES_DEFAULT_MAX_RESPONSE;
    return h;
}

void es_client_free(es_client *h)
{
    if (h == NULL)
        return;
    if (h->curl != NULL)
        curl_easy_cleanup(h->curl);
    sc_buf_free(&h->scratch);
    free(h->url);
    free(h->user);
    free(h->password);
    free(h->api_key);
    free(h->ca_file);
    free(h->refresh_interval);
    free(h);
}

const char *es_errstr(const es_client *h) { return h ? h->errstr : "es: no client"; }

const es_opts *es_client_opts(const es_client *h) { return &h->opts; }

sc_status es_apply_auth(CURL *easy, const es_opts *opts, struct curl_slist **headers)
{
    CURLcode rc = CURLE_OK;
    if (easy == NULL || opts == NULL)
        return SC_EINVAL;
    if (opts->api_key != NULL && headers == NULL)
        return SC_EINVAL;
#define SETOPT(o, v)                           \
    do {                                       \
        if (rc == CURLE_OK)                    \
            rc = curl_easy_setopt(easy, o, v); \
    } while (0)
    rc = sc_http_setup(
        easy, opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms : ES_DEFAULT_CONNECT_MS,
        opts->timeout_ms > 0 ? opts->timeout_ms : ES_DEFAULT_TIMEOUT_MS);
    if (opts->ca_file != NULL)
        SETOPT(CURLOPT_CAINFO, opts->ca_file);
    if (opts->api_key == NULL && opts->user != NULL) {
        SETOPT(CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        SETOPT(CURLOPT_USERNAME, opts->user);
        SETOPT(CURLOPT_PASSWORD, opts->password ? opts->password : "");
    }
#undef SETOPT
    if (rc != CURLE_OK)
        return rc == CURLE_OUT_OF_MEMORY ? SC_ENOMEM : SC_EINVAL;
    if (opts->api_key != NULL) {
        struct curl_slist *l;
        char *line;
        size_t n = strlen(opts->api_key) + sizeof("Authorization: ApiKey ");
        line = malloc(n);
        if (line == NULL)
            return SC_ENOMEM;
        snprintf(line, n, "Authorization: ApiKey %s", opts->api_key);
        l = curl_slist_append(*headers, line);
        free(line);
        if (l == NULL)
            return SC_ENOMEM;
        *headers = l;
    }
    return SC_OK;
}

int es_index_name_ok(const char *name, int pattern)
{
    return sc_index_name_check(name, pattern, NULL, 0) == SC_OK;
}

/* Append " type: reason" (or a body excerpt) from an error response. */
static void describe_error_body(const sc_buf *b, char *out, size_t outlen)
{
    cJSON *root, *e, *t, *r;
    out[0] = '\0';
    if (b == NULL || b->len == 0)
        return;
    root = cJSON_ParseWithLength(b->data, b->len);
    e = root ? cJSON_GetObjectItemCaseSensitive(root, "error") : NULL;
    if (cJSON_IsObject(e)) {
        t = cJSON_GetObjectItemCaseSensitive(e, "type");
        r = cJSON_GetObjectItemCaseSensitive(e, "reason");
        sc_seterr(out, outlen, ": %s: %s", cJSON_IsString(t) ? t->valuestring : "?",
                  cJSON_IsString(r) ? r->valuestring : "?");
    } else if (cJSON_IsString(e)) {
        sc_seterr(out, outlen, ": %s", e->valuestring);
    } else {
        sc_seterr(out, outlen, ": %.*s", (int)(b->len < 120 ? b->len : 120), b->data);
    }
    cJSON_Delete(root);
}

/* One HTTP exchange; see es_request. content_type is used when body != NULL. */
static sc_status do_request(es_client *h, const char *method, const char *path,
                            const char *content_type, const char *body, size_t len, sc_buf *resp,
                            long *http_status)
{
    char url[ES_URL_MAX], detail[200];
    struct curl_slist *hdrs = NULL, *l;
    sc_http_sink sink;
    CURLcode rc = CURLE_OK;
    long status = 0;
    sc_status st;
    int is_head, shown;

    if (http_status != NULL)
        *http_status = 0;
    h->errstr[0] = '\0';
    if (method == NULL || path == NULL || path[0] != '/' || (body == NULL && len > 0)) {
        sc_seterr(h->errstr, sizeof(h->errstr), "es: bad request arguments");
        return SC_EINVAL;
    }
    if ((size_t)snprintf(url, sizeof(url), "%s%s", h->url, path) >= sizeof(url)) {
        sc_seterr(h->errstr, sizeof(h->errstr), "es: %s %s: URL too long", method, h->url);
        return SC_EINVAL;
    }
    shown = (int)strcspn(url, "?"); /* messages leave the query (filter_path) out */
    is_head = strcmp(method, "HEAD") == 0;
    if (!is_head && strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0 &&
        strcmp(method, "PUT") != 0 && strcmp(method, "DELETE") != 0) {
        sc_seterr(h->errstr, sizeof(h->errstr), "es: unsupported method %s", method);
        return SC_EINVAL;
    }
    if (resp == NULL)
        resp = &h->scratch;
    sc_buf_reset(resp);
    sc_http_sink_init(&sink, resp,
                      resp->limit < h->opts.max_response ? resp->limit : h->opts.max_response);

    /* reset keeps the live connection, DNS and TLS session caches */
    curl_easy_reset(h->curl);
    h->curl_err[0] = '\0';
    st = es_apply_auth(h->curl, &h->opts, &hdrs);
    if (st != SC_OK) {
        sc_seterr(h->errstr, sizeof(h->errstr), "es: %s %.*s: cannot configure curl: %s", method,
                  shown, url, sc_status_str(st));
        curl_slist_free_all(hdrs);
        return st;
    }
    /* no "Expect: 100-continue" round trip for big bulk bodies */
    l = curl_slist_append(hdrs, "Expect:");
    if (l != NULL) {
        hdrs = l;
        if (body != NULL || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0) {
            char ct[96];
            snprintf(ct, sizeof(ct), "Content-Type: %s", content_type);
            l = curl_slist_append(hdrs, ct);
        }
    }
    if (l == NULL) {
        curl_slist_free_all(hdrs);
        sc_seterr(h->errstr, sizeof(h->errstr), "es: %s %.*s: out of memory", method, shown, url);
        return SC_ENOMEM;
    }
#define SETOPT(o, v)                              \
    do {                                          \
        if (rc == CURLE_OK)                       \
            rc = curl_easy_setopt(h->curl, o, v); \
    } while (0)
    SETOPT(CURLOPT_URL, url);
    SETOPT(CURLOPT_HTTPHEADER, hdrs);
    SETOPT(CURLOPT_ERRORBUFFER, h->curl_err);
    SETOPT(CURLOPT_WRITEFUNCTION, sc_http_write);
    SETOPT(CURLOPT_WRITEDATA, &sink);
    if (is_head) {
        SETOPT(CURLOPT_NOBODY, 1L);
    } else if (strcmp(method, "GET") != 0) {
        SETOPT(CURLOPT_CUSTOMREQUEST, method);
        if (body != NULL || strcmp(method, "DELETE") != 0) {
            SETOPT(CURLOPT_POSTFIELDS, body ? body : "");
            SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
        }
    } else if (body != NULL) {
        SETOPT(CURLOPT_POSTFIELDS, body);
        SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
        SETOPT(CURLOPT_CUSTOMREQUEST, "GET");
    }
#undef SETOPT
    if (rc == CURLE_OK)
        rc = curl_easy_perform(h->curl);
    curl_slist_free_all(hdrs);
    /* never leave a pointer to our stack frame in the reused handle */
    curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, NULL);

    if (rc != CURLE_OK) {
        if (sink.overflow) {
            sc_seterr(h->errstr, sizeof(h->errstr), "es: %s %s: response larger than %zu bytes",
                      method, url, sink.max);
            return SC_ENOMEM;
        }
        st = sc_http_status(rc);
        sc_seterr(h->errstr, sizeof(h->errstr), "es: %s %.*s: %s: %s%s", method, shown, url,
                  sc_status_str(st), h->curl_err[0] ? h->curl_err : curl_easy_strerror(rc),
                  sc_http_tls_hint(rc));
        log_debug("%s", h->errstr);
        return st;
    }
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
    if (http_status != NULL)
        *http_status = status;
    if (status >= 200 && status <= 299)
        return SC_OK;
    describe_error_body(resp, detail, sizeof(detail));
    sc_seterr(h->errstr, sizeof(h->errstr), "es: %s %.*s: HTTP %ld%s", method, shown, url, status,
              detail);
    return status == 404 ? SC_ENOTFOUND : SC_ERR;
}

sc_status es_request(es_client *h, const char *method, const char *path, const char *body,
                     size_t len, sc_buf *resp, long *http_status)
{
    if (h == NULL)
        return SC_EINVAL;
    return do_request(h, method, path, "application/json", body, len, resp, http_status);
}

/* Set settings.index.<key> in a schema, creating objects as needed, and drop
 * spellings of the same setting elsewhere in "settings" so ours wins. */
static int override_setting(cJSON *root, const char *key, cJSON *val)
{
    char flat[64];
    cJSON *settings = cJSON_GetObjectItemCaseSensitive(root, "settings");
    cJSON *index;
    if (settings == NULL) {
        settings = cJSON_AddObjectToObject(root, "settings");
        if (settings == NULL)
            goto fail;
    } else if (!cJSON_IsObject(settings)) {
        goto fail;
    }
    snprintf(flat, sizeof(flat), "index.%s", key);
    cJSON_DeleteItemFromObjectCaseSensitive(settings, flat);
    cJSON_DeleteItemFromObjectCaseSensitive(settings, key);
    index = cJSON_GetObjectItemCaseSensitive(settings, "index");
    if (index == NULL) {
        index = cJSON_AddObjectToObject(settings, "index");
        if (index == NULL)
            goto fail;
    } else if (!cJSON_IsObject(index)) {
        goto fail;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(index, key);
    cJSON_AddItemToObject(index, key, val);
    return 0;
fail:
    cJSON_Delete(val);
    return -1;
}

/* An existing index gets the schema's fields it lacks (and its _meta, the
 * mapping version): PUT /<index>/_mapping with the schema's properties. Fields
 * it already has are sent unchanged, which the server accepts as a no-op;
 * adding a field is the one mapping change allowed in place. So documents of
 * a newer builder (a new field under dynamic:strict) are never refused by an
 * index created from an older schema. */
static sc_status upgrade_mapping(es_client *h, const char *index, const char *schema_json)
{
    char path[300];
    cJSON *root = cJSON_Parse(schema_json), *body = NULL;
    const cJSON *mappings = cJSON_GetObjectItemCaseSensitive(root, "mappings");
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(mappings, "properties");
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(mappings, "_meta");
    char *text = NULL;
    long status = 0;
    sc_status st;
    if (!cJSON_IsObject(props)) {
        cJSON_Delete(root);
        return SC_OK; /* nothing to add */
    }
    body = cJSON_CreateObject();
    if (body == NULL || !cJSON_AddItemToObject(body, "properties", cJSON_Duplicate(props, 1)) ||
        (cJSON_IsObject(meta) && !cJSON_AddItemToObject(body, "_meta", cJSON_Duplicate(meta, 1))) ||
        (text = cJSON_PrintUnformatted(body)) == NULL) {
        cJSON_Delete(body);
        cJSON_Delete(root);
        sc_seterr(h->errstr, sizeof(h->errstr), "es: ensure_index %s: out of memory", index);
        return SC_ENOMEM;
    }
    cJSON_Delete(body);
    cJSON_Delete(root);
    snprintf(path, sizeof(path), "/%s/_mapping", index);
    st = do_request(h, "PUT", path, "application/json", text, strlen(text), NULL, &status);
    free(text);
    /* an index whose mapping contradicts the schema (made by hand, or an
     * incompatible older one) is left as it is: writes it refuses are
     * rejected one by one, as before the upgrade existed; the reason stays
     * in errstr */
    return st == SC_ERR && status == 400 ? SC_OK : st;
}

sc_status es_ensure_index(es_client *h, const char *index, const char *schema_json)
{
    char path[300];
    cJSON *root;
    char *body;
    long status = 0;
    sc_status st;

    if (h == NULL)
        return SC_EINVAL;
    if (!es_index_name_ok(index, 0) || schema_json == NULL) {
        sc_seterr(h->errstr, sizeof(h->errstr), "es: ensure_index: bad index name \"%s\"",
                  index ? index : "(null)");
        return SC_EINVAL;
    }
    snprintf(path, sizeof(path), "/%s", index);
    st = do_request(h, "HEAD", path, NULL, NULL, 0, NULL, &status);
    if (st == SC_OK)
        return upgrade_mapping(h, index, schema_json);
    if (st != SC_ENOTFOUND)
        return st;

    root = cJSON_Parse(schema_json);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        sc_seterr(h->errstr, sizeof(h->errstr), "es: ensure_index %s: schema is not a JSON object",
                  index);
        return SC_EINVAL;
    }
    if ((h->opts.replicas >= 0 &&
         override_setting(root, "number_of_replicas", cJSON_CreateNumber(h->opts.replicas)) != 0) ||
        (h->opts.refresh_interval != NULL &&
         override_setting(root, "refresh_interval", cJSON_CreateString(h->opts.refresh_interval)) !=
             0)) {
        cJSON_Delete(root);
        sc_seterr(h->errstr, sizeof(h->errstr),
                  "es: ensure_index %s: schema \"settings\" is malformed", index);
        return SC_EINVAL;
    }
    body = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (body == NULL) {
        sc_seterr(h->errstr, sizeof(h->errstr), "es: ensure_index %s: out of memory", index);
        return SC_ENOMEM;
    }
    st = do_request(h, "PUT", path, "application/json", body, strlen(body), NULL, &status);
    free(body);
    if (st == SC_ERR && status == 400 && h->scratch.len > 0 &&
        strstr(h->scratch.data, "resource_already_exists_exception") != NULL) {
        h->errstr[0] = '\0';
        return SC_OK; /* lost a creation race: the index is there */
    }
    return st;
}

sc_status es_bulk(es_client *h, const char *body, size_t len, sc_buf *resp, long *http_status)
{
    sc_status st;
    if (h == NULL)
        return SC_EINVAL;
    if (body == NULL || len == 0 || body[len - 1] != '\n') {
        sc_seterr(h->errstr, sizeof(h->errstr),
                  "es: bulk body must be non-empty NDJSON ending in \\n");
        return SC_EINVAL;
    }
    /* only what sc_bulk_parse reads: per item _id, status and error (the
     * engine then sends ~40 bytes an item instead of ~230, and the answer
     * to 1,000 documents is parsed in a fifth of the time); a whole-request
     * failure keeps its error and status */
    st = do_request(h, "POST",
                    "/_bulk?filter_path=errors,error,status,items.*._id,items.*.status,"
                    "items.*.error",
                    "application/x-ndjson", body, len, resp, http_status);
    return st == SC_ENOTFOUND ? SC_ERR : st;
}

sc_status es_search(es_client *h, const char *index_or_pattern, const char *query_json,
                    sc_buf *resp, long *http_status)
{
    char path[600];
    if (h == NULL)
        return SC_EINVAL;
    if (!es_index_name_ok(index_or_pattern, 1) || query_json == NULL) {
        sc_seterr(h->errstr, sizeof(h->errstr), "es: search: bad index pattern \"%s\"",
                  index_or_pattern ? index_or_pattern : "(null)");
        return SC_EINVAL;
    }
    snprintf(path, sizeof(path), "/%s/_search", index_or_pattern);
    return do_request(h, "POST", path, "application/json", query_json, strlen(query_json), resp,
                      http_status);
}

sc_status es_refresh(es_client *h, const char *index)
{
    char path[300];
    if (h == NULL)
        return SC_EINVAL;
    if (!es_index_name_ok(index, 1)) {
        sc_seterr(h->errstr, sizeof(h->errstr), "es: refresh: bad index \"%s\"",
                  index ? index : "(null)");
        return SC_EINVAL;
    }
    snprintf(path, sizeof(path), "/%s/_refresh", index);
    return do_request(h, "POST", path, "application/json", NULL, 0, NULL, NULL);
}

sc_status es_delete_index(es_client *h, const char *index)
{
    char path[300];
    sc_status st;
    if (h == NULL)
        return SC_EINVAL;
    if (!es_index_name_ok(index, 0)) {
        sc_seterr(h->errstr, sizeof(h->errstr), "es: delete_index: bad index \"%s\"",
                  index ? index : "(null)");
        return SC_EINVAL;
    }
    snprintf(path, sizeof(path), "/%s", index);
    st = do_request(h, "DELETE", path, "application/json", NULL, 0, NULL, NULL);
    if (st == SC_ENOTFOUND) {
        h->errstr[0] = '\0';
        return SC_OK;
    }
    return st;
}

const char *es_health_str(es_health_status s)
{
    switch (s) {
    case ES_HEALTH_GREEN:
        return "green";
    case ES_HEALTH_YELLOW:
        return "yellow";
    case ES_HEALTH_RED:
        return "red";
    }
    return "unknown";
}

static int json_int(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsNumber(v) ? v->valueint : 0;
}

static uint64_t json_u64(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsNumber(v) ? sc_u64_from_double(v->valuedouble) : 0;
}

/* Parse h->scratch as a JSON object or set an EPROTO error naming what. */
static cJSON *parse_scratch(es_client *h, const char *what)
{
    cJSON *root = cJSON_ParseWithLength(h->scratch.data ? h->scratch.data : "", h->scratch.len);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        sc_seterr(h->errstr, sizeof(h->errstr), "es: %s %s: answer is not a JSON object", what,
                  h->url);
        return NULL;
    }
    return root;
}

sc_status es_health(es_client *h, es_health_info *out)
{
    cJSON *root;
    const cJSON *s, *name;
    sc_status st;

    if (h == NULL || out == NULL)
        return SC_EINVAL;
    memset(out, 0, sizeof(*out));
    st = do_request(h, "GET", "/_cluster/health", NULL, NULL, 0, NULL, NULL);
    if (st != SC_OK)
        return st;
    root = parse_scratch(h, "_cluster/health");
    if (root == NULL)
        return SC_EPROTO;
    s = cJSON_GetObjectItemCaseSensitive(root, "status");
    name = cJSON_GetObjectItemCaseSensitive(root, "cluster_name");
    st = SC_OK;
    if (cJSON_IsString(s) && strcmp(s->valuestring, "green") == 0)
        out->status = ES_HEALTH_GREEN;
    else if (cJSON_IsString(s) && strcmp(s->valuestring, "yellow") == 0)
        out->status = ES_HEALTH_YELLOW;
    else if (cJSON_IsString(s) && strcmp(s->valuestring, "red") == 0)
        out->status = ES_HEALTH_RED;
    else
        st = SC_EPROTO;
    if (st == SC_OK) {
        if (cJSON_IsString(name))
            snprintf(out->cluster_name, sizeof(out->cluster_name), "%s", name->valuestring);
        out->number_of_nodes = json_int(root, "number_of_nodes");
        out->active_shards = json_int(root, "active_shards");
        out->unassigned_shards = json_int(root, "unassigned_shards");
    } else {
        sc_seterr(h->errstr, sizeof(h->errstr), "es: _cluster/health %s: no known status", h->url);
    }
    cJSON_Delete(root);
    return st;
}

sc_status es_stats(es_client *h, const char *index, es_stats_info *out)
{
    char path[300];
    cJSON *root;
    const cJSON *all, *prim, *docs, *store;
    sc_status st;

    if (h == NULL || out == NULL)
        return SC_EINVAL;
    memset(out, 0, sizeof(*out));
    if (index == NULL) {
        snprintf(path, sizeof(path), "/_stats/docs,store");
    } else if (es_index_name_ok(index, 1)) {
        snprintf(path, sizeof(path), "/%s/_stats/docs,store", index);
    } else {
        sc_seterr(h->errstr, sizeof(h->errstr), "es: stats: bad index \"%s\"", index);
        return SC_EINVAL;
    }
    st = do_request(h, "GET", path, NULL, NULL, 0, NULL, NULL);
    if (st != SC_OK)
        return st;
    root = parse_scratch(h, "_stats");
    if (root == NULL)
        return SC_EPROTO;
    all = cJSON_GetObjectItemCaseSensitive(root, "_all");
    prim = cJSON_GetObjectItemCaseSensitive(all, "primaries");
    if (!cJSON_IsObject(prim)) {
        cJSON_Delete(root);
        sc_seterr(h->errstr, sizeof(h->errstr), "es: _stats %s: no _all.primaries", h->url);
        return SC_EPROTO;
    }
    /* an empty cluster reports "primaries":{} : all zero */
    docs = cJSON_GetObjectItemCaseSensitive(prim, "docs");
    store = cJSON_GetObjectItemCaseSensitive(prim, "store");
    out->doc_count = json_u64(docs, "count");
    out->docs_deleted = json_u64(docs, "deleted");
    out->store_size_bytes = json_u64(store, "size_in_bytes");
    cJSON_Delete(root);
    return SC_OK;
}
