/*
 * http.c - the router's HTTP surface on libmicrohttpd: routing of paths and
 * methods, request limits, query-string decoding, JSON error answers, and
 * the health, readiness and metrics endpoints.
 *
 *   GET /api/v1/guilds/{guild_id}/messages/search
 *   GET /api/v1/channels/{channel_id}/messages/search
 *   GET /healthz   (process up)      GET /readyz (PG, Redis, cluster view)
 *   GET /metrics   (Prometheus text)
 *
 * Every answer is JSON (except /metrics); unknown paths are 404, other
 * methods 405, a request line longer than max_request_bytes 414, a body
 * larger than max_request_bytes 413. Searches run in the connection's own
 * thread with a pooled handle set (see router.h).
 * Not here: the search itself (search.c).
 */
#include "router.h"

#include "log.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Per-request state created by the URI log callback. */
typedef struct rt_req {
    size_t uri_len; /* bytes of the raw request target */
    int seen;       /* 1 once on_request ran for this request (headers call) */
} rt_req;

/* Collected query arguments. */
typedef struct args {
    sc_query_param *v; /* owned array; key/value borrowed from MHD */
    size_t n;          /* used */
    size_t cap;        /* allocated (hard cap on the count) */
    char bad_key[64];  /* key of a value with a NUL byte, "" if none */
    int overflow;      /* more arguments than cap */
} args;

void rt_reply_error(rt_reply *rep, int status, const char *msg, int code)
{
    rep->status = status;
    sc_buf_reset(&rep->body);
    if (sc_buf_puts(&rep->body, "{\"message\":") != SC_OK ||
        sc_buf_json_str(&rep->body, msg) != SC_OK ||
        sc_buf_printf(&rep->body, ",\"code\":%d}", code) != SC_OK)
        sc_buf_reset(&rep->body);
}

void rt_reply_invalid(rt_reply *rep, const char *param, const char *detail)
{
    rep->status = 400;
    sc_buf_reset(&rep->body);
    if (sc_buf_printf(&rep->body,
                      "{\"message\":\"Invalid Form Body\",\"code\":%d,\"errors\":{",
                      RT_CODE_INVALID_FORM) != SC_OK ||
        sc_buf_json_str(&rep->body, param) != SC_OK ||
        sc_buf_puts(&rep->body, ":{\"_errors\":[{\"code\":\"INVALID\",\"message\":") != SC_OK ||
        sc_buf_json_str(&rep->body, detail) != SC_OK || sc_buf_puts(&rep->body, "}]}}}") != SC_OK)
        sc_buf_reset(&rep->body);
}

static int ident_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '[' || c == ']' || c == '.' || c == '-';
}

void rt_param_of_error(const char *err, char *out, size_t len)
{
    const char *p;
    size_t k = 0;
    static const char unk[] = "unknown parameter '";
    snprintf(out, len, "_query");
    if (err == NULL)
        return;
    if (strncmp(err, unk, sizeof(unk) - 1) == 0) {
        p = err + sizeof(unk) - 1;
        while (p[k] != '\0' && p[k] != '\'' && k + 1 < len)
            k++;
        snprintf(out, len, "%.*s", (int)k, p);
        return;
    }
    while (err[k] != '\0' && ident_char(err[k]))
        k++;
    if (k > 0 && k + 1 < len && err[k] == ':')
        snprintf(out, len, "%.*s", (int)k, err);
}

/* Decode %XX and '+' (as a space) in place; returns the new length. A
 * malformed escape is kept literally. */
static size_t unescape(void *cls, struct MHD_Connection *c, char *s)
{
    char *w = s;
    const char *rd = s;
    (void)cls;
    (void)c;
    while (*rd != '\0') {
        if (*rd == '+') {
            *w++ = ' ';
            rd++;
        } else if (*rd == '%' && rd[1] != '\0' && rd[2] != '\0') {
            int hi, lo;
            char a = rd[1], b = rd[2];
            hi = (a >= '0' && a <= '9') ? a - '0'
                 : (a >= 'a' && a <= 'f') ? a - 'a' + 10
                 : (a >= 'A' && a <= 'F') ? a - 'A' + 10
                                          : -1;
            lo = (b >= '0' && b <= '9') ? b - '0'
                 : (b >= 'a' && b <= 'f') ? b - 'a' + 10
                 : (b >= 'A' && b <= 'F') ? b - 'A' + 10
                                          : -1;
            if (hi < 0 || lo < 0) {
                *w++ = *rd++;
            } else {
                *w++ = (char)(hi * 16 + lo);
                rd += 3;
            }
        } else {
            *w++ = *rd++;
        }
    }
    *w = '\0';
    return (size_t)(w - s);
}

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   size_t key_size, const char *value, size_t value_size)
{
    args *a = cls;
    (void)kind;
    if (key == NULL)
        return MHD_YES;
    if (strlen(key) != key_size || (value != NULL && strlen(value) != value_size)) {
        if (a->bad_key[0] == '\0') {
            size_t k = strlen(key);
            snprintf(a->bad_key, sizeof(a->bad_key), "%.*s", (int)(k < 48 ? k : 48), key);
        }
        return MHD_YES;
    }
    if (a->n == a->cap) {
        a->overflow = 1;
        return MHD_NO;
    }
    a->v[a->n].key = key;
    a->v[a->n].value = value != NULL ? value : "";
    a->n++;
    return MHD_YES;
}

/* Parse "/api/v1/<kind>/<id>/messages/search". 1 = matched (id may be bad:
 * *id_ok says), 0 = another path. */
static int match_search(const char *url, const char *kind, const char **id_start,
                        size_t *id_len)
{
    static const char pre[] = "/api/v1/";
    static const char suf[] = "/messages/search";
    size_t kl = strlen(kind), ul = strlen(url);
    const char *p, *slash;
    if (strncmp(url, pre, sizeof(pre) - 1) != 0)
        return 0;
    p = url + sizeof(pre) - 1;
    if (strncmp(p, kind, kl) != 0 || p[kl] != '/')
        return 0;
    p += kl + 1;
    slash = strchr(p, '/');
    if (slash == NULL || (size_t)(url + ul - slash) != sizeof(suf) - 1 ||
        strcmp(slash, suf) != 0)
        return 0;
    *id_start = p;
    *id_len = (size_t)(slash - p);
    return 1;
}

static void handle_search(router *r, struct MHD_Connection *conn, sc_search_endpoint ep,
                          const char *id_s, size_t id_len, rt_reply *rep)
{
    char idbuf[32];
    uint64_t id = 0;
    rt_search_in in;
    args a;
    size_t cap = SC_QUERY_MAX_PARAMS + (size_t)r->cfg->max_channels + 1;
    const char *pname = ep == SC_SEARCH_GUILD ? "guild_id" : "channel_id";

    if (id_len == 0 || id_len >= sizeof(idbuf)) {
        rt_reply_invalid(rep, pname, "not a snowflake id");
        return;
    }
    memcpy(idbuf, id_s, id_len);
    idbuf[id_len] = '\0';
    if (sc_parse_u64(idbuf, &id) != SC_OK || id == 0 || id > (uint64_t)INT64_MAX) {
        rt_reply_invalid(rep, pname, "not a snowflake id");
        return;
    }
    memset(&a, 0, sizeof(a));
    a.cap = cap;
    a.v = calloc(cap, sizeof(*a.v));
    if (a.v == NULL) {
        rt_reply_error(rep, 500, "500: Internal Server Error", RT_CODE_GENERAL);
        return;
    }
    MHD_get_connection_values_n(conn, MHD_GET_ARGUMENT_KIND, collect_arg, &a);
    if (a.bad_key[0] != '\0') {
        char pn[64];
        snprintf(pn, sizeof(pn), "%s", a.bad_key);
        {
            size_t k = strlen(pn);
            if (k > 2 && strcmp(pn + k - 2, "[]") == 0)
                pn[k - 2] = '\0';
        }
        rt_reply_invalid(rep, pn, "NUL byte in key or value");
    } else if (a.overflow) {
        rt_reply_invalid(rep, "_query", "too many parameters");
    } else {
        memset(&in, 0, sizeof(in));
        in.endpoint = ep;
        in.target_id = id;
        in.authorization = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
        in.params = a.v;
        in.n_params = a.n;
        rt_search(r, &in, rep);
    }
    free(a.v);
}

static void handle_readyz(router *r, rt_reply *rep)
{
    char err[SC_ERRLEN];
    rt_thread *t = rt_thread_get(r, err, sizeof(err));
    int pg = 0, rd = 0, view = 0;
    sc_cluster_info *cl = NULL;
    size_t n = 0;
    if (t != NULL) {
        uint64_t g;
        sc_status st = sc_db_channel_guild(t->db, 0, &g);
        pg = st == SC_OK || st == SC_ENOTFOUND;
        rd = sc_redis_ping(t->redis) == SC_OK;
        rt_thread_put(r, t);
    }
    if (sc_cluster_view_list(r->view, &cl, &n) == SC_OK) {
        for (size_t i = 0; i < n; i++)
            view |= cl[i].live;
        free(cl);
    }
    rep->status = pg && rd && view ? 200 : 503;
    sc_buf_reset(&rep->body);
    if (sc_buf_printf(&rep->body,
                      "{\"status\":\"%s\",\"checks\":{\"postgres\":%s,\"redis\":%s,"
                      "\"clusters\":%s}}",
                      rep->status == 200 ? "ready" : "not ready", pg ? "true" : "false",
                      rd ? "true" : "false", view ? "true" : "false") != SC_OK)
        rt_reply_error(rep, 500, "500: Internal Server Error", RT_CODE_GENERAL);
}

static const char *endpoint_label(const char *url)
{
    if (strncmp(url, "/api/v1/guilds/", 15) == 0)
        return "guild";
    if (strncmp(url, "/api/v1/channels/", 17) == 0)
        return "channel";
    return "other";
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **req_cls)
{
    router *r = cls;
    rt_req *rq = *req_cls;
    rt_reply rep;
    struct MHD_Response *resp;
    enum MHD_Result ret;
    int64_t t0 = sc_now_us();
    const char *id_s = NULL;
    size_t id_len = 0;
    int is_get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    const char *allow = "GET, HEAD";
    char status_s[8];
    const char *cl;
    (void)version;
    (void)upload_data;

    cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
    /* A response queued on the first (headers) call makes libmicrohttpd
     * close the connection after it ("Connection: close"), so every client
     * request would cost a new TCP connection. A request without a body is
     * therefore answered on the second call; one with a body is answered at
     * once (its body is never read, so that connection has to close). */
    if (rq != NULL && !rq->seen && (cl == NULL || strtoull(cl, NULL, 10) == 0) &&
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Transfer-Encoding") == NULL) {
        rq->seen = 1;
        return MHD_YES;
    }
    memset(&rep, 0, sizeof(rep));
    sc_buf_init(&rep.body, RT_MAX_RESPONSE);
    if (rq != NULL && rq->uri_len > (size_t)r->cfg->max_request_bytes) {
        rt_reply_error(&rep, 414, "414: Request-URI Too Long", RT_CODE_GENERAL);
    } else if (cl != NULL && strtoull(cl, NULL, 10) > (unsigned long long)r->cfg->max_request_bytes) {
        rt_reply_error(&rep, 413, "413: Request Entity Too Large", RT_CODE_GENERAL);
    } else if (match_search(url, "guilds", &id_s, &id_len) ||
               match_search(url, "channels", &id_s, &id_len)) {
        if (!is_get)
            rt_reply_error(&rep, 405, "405: Method Not Allowed", RT_CODE_GENERAL);
        else
            handle_search(r, conn,
                          url[8] == 'g' ? SC_SEARCH_GUILD : SC_SEARCH_CHANNEL, id_s, id_len,
                          &rep);
    } else if (strcmp(url, "/healthz") == 0 || strcmp(url, "/readyz") == 0 ||
               strcmp(url, "/metrics") == 0) {
        if (!is_get) {
            rt_reply_error(&rep, 405, "405: Method Not Allowed", RT_CODE_GENERAL);
        } else if (url[1] == 'h') {
            rep.status = 200;
            if (sc_buf_puts(&rep.body, "{\"status\":\"ok\"}") != SC_OK)
                rep.status = 500;
        } else if (url[1] == 'r') {
            handle_readyz(r, &rep);
        } else {
            rep.status = 200;
            rep.content_type = "text/plain; version=0.0.4";
            if (sc_metrics_render(r->metrics, &rep.body) != SC_OK)
                rt_reply_error(&rep, 500, "500: Internal Server Error", RT_CODE_GENERAL);
        }
    } else {
        rt_reply_error(&rep, 404, "404: Not Found", RT_CODE_GENERAL);
    }
    /* ignore any body of the request (answered before it is read) */
    *upload_data_size = 0;

    if (rep.status == 0)
        rt_reply_error(&rep, 500, "500: Internal Server Error", RT_CODE_GENERAL);
    {
        size_t len = rep.body.len;
        char *data = sc_buf_steal(&rep.body);
        resp = MHD_create_response_from_buffer(len, data != NULL ? data : (char *)"",
                                               data != NULL ? MHD_RESPMEM_MUST_FREE
                                                            : MHD_RESPMEM_PERSISTENT);
        if (resp == NULL) {
            free(data);
            sc_buf_free(&rep.body);
            return MHD_NO;
        }
    }
    MHD_add_response_header(resp, "Content-Type",
                            rep.content_type != NULL ? rep.content_type
                                                     : "application/json; charset=utf-8");
    if (rep.status == 405)
        MHD_add_response_header(resp, "Allow", allow);
    if (rep.retry_after > 0) {
        char ra[16];
        snprintf(ra, sizeof(ra), "%d", rep.retry_after);
        MHD_add_response_header(resp, "Retry-After", ra);
    }
    ret = MHD_queue_response(conn, (unsigned)rep.status, resp);
    MHD_destroy_response(resp);
    sc_buf_free(&rep.body);
    snprintf(status_s, sizeof(status_s), "%d", rep.status);
    sc_metric_add(r->m_requests, status_s, 1);
    sc_metric_observe(r->m_latency, endpoint_label(url), (double)(sc_now_us() - t0) / 1e6);
    return ret;
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
    rt_req *rq = calloc(1, sizeof(*rq));
    (void)cls;
    (void)c;
    if (rq != NULL)
        rq->uri_len = strlen(uri);
    return rq;
}

static void on_done(void *cls, struct MHD_Connection *c, void **req_cls,
                    enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    free(*req_cls);
    *req_cls = NULL;
}

struct MHD_Daemon *rt_http_start(router *r, int *bound_port, char *err, size_t errlen)
{
    struct sockaddr_in sa;
    struct MHD_Daemon *d;
    const union MHD_DaemonInfo *info;
    size_t mem = (size_t)r->cfg->max_request_bytes * 4;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)r->cfg->listen_port);
    if (inet_pton(AF_INET, r->cfg->listen_addr, &sa.sin_addr) != 1) {
        sc_seterr(err, errlen, "listen_addr: '%s' is not an IPv4 address", r->cfg->listen_addr);
        return NULL;
    }
    if (mem < 64 * 1024)
        mem = 64 * 1024;
    /* One thread per connection: with a fixed pool, keep-alive connections
     * stick to the thread that accepted them and two busy ones on the same
     * thread wait for each other's searches (head-of-line blocking). The
     * backend handles are pooled separately (rt_thread_get), `threads` sets. */
    d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                             MHD_USE_POLL | MHD_USE_ERROR_LOG,
                         0, NULL, NULL, on_request, r, MHD_OPTION_SOCK_ADDR,
                         (struct sockaddr *)&sa, MHD_OPTION_CONNECTION_LIMIT,
                         (unsigned)RT_MAX_CONNECTIONS, MHD_OPTION_CONNECTION_MEMORY_LIMIT, mem,
                         MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
                         MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL,
                         MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL,
                         MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL, MHD_OPTION_END);
    if (d == NULL) {
        sc_seterr(err, errlen, "cannot listen on %s:%d", r->cfg->listen_addr,
                  r->cfg->listen_port);
        return NULL;
    }
    info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    *bound_port = info != NULL ? (int)info->port : r->cfg->listen_port;
    return d;
}
