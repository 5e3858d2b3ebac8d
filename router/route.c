/*
 * route.c - which request is which: the router's paths and methods, the
 * request target decoded and split into parameters, and what a worker runs
 * for each routed request. http.c calls rt_dispatch with a whole request;
 * every answer goes back through rt_conn_answer or rt_submit (http.c).
 *
 *   GET /api/v1/guilds/{guild_id}/messages/search
 *   GET /api/v1/channels/{channel_id}/messages/search
 *   GET /healthz   (process up)      GET /readyz (PG, Redis, cluster view)
 *   GET /metrics   (Prometheus text)
 */
#include "http_int.h"

#include "form.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parse "/api/v1/<kind>/<id>/messages/search". 1 = matched, the id's text
 * in [*id_start, +*id_len). */
static int match_search(const char *path, const char *kind, const char **id_start, size_t *id_len)
{
    static const char pre[] = "/api/v1/";
    static const char suf[] = "/messages/search";
    size_t kl = strlen(kind);
    const char *p, *slash;
    if (strncmp(path, pre, sizeof(pre) - 1) != 0)
        return 0;
    p = path + sizeof(pre) - 1;
    if (strncmp(p, kind, kl) != 0 || p[kl] != '/')
        return 0;
    p += kl + 1;
    slash = strchr(p, '/');
    if (slash == NULL || strcmp(slash, suf) != 0)
        return 0;
    *id_start = p;
    *id_len = (size_t)(slash - p);
    return 1;
}

void rt_route_run(router *r, rt_thread *t, rt_task *task)
{
    req *rq = (req *)task;
    if (rq->kind == REQ_READYZ) {
        rt_readyz(r, t, &rq->rep);
    } else {
        rt_search_in in;
        memset(&in, 0, sizeof(in));
        in.endpoint = rq->endpoint;
        in.target_id = rq->target_id;
        in.authorization = rq->auth.len > 0 ? rq->auth.data : NULL;
        in.client_ip = rq->ip; /* rq->c belongs to the loop thread */
        in.params = rq->params;
        in.n_params = rq->n_params;
        rt_search(r, t, &in, &rq->rep);
    }
}

/* Route the complete request rq (c->cur, taken over here). */
void rt_dispatch(conn *c, req *rq)
{
    rt_http *h = c->h;
    router *r = h->r;
    rt_reply *rep = &rq->rep;
    char *q, *path;
    size_t plen;
    int ctl = 0, is_get;
    const char *id_s = NULL;
    size_t id_len = 0;
    uint8_t m = llhttp_get_method(&c->parser);

    c->keep_alive = llhttp_should_keep_alive(&c->parser) && !llhttp_get_upgrade(&c->parser);
    is_get = m == HTTP_GET || m == HTTP_HEAD;
    rq->head = m == HTTP_HEAD;
    if (rq->url.len == 0 || rq->url.data[0] != '/') { /* "*" or absolute-form */
        rt_reply_status(rep, 400);
        rt_conn_answer(c, rq, 1);
        return;
    }
    rq->decoded = malloc(rq->url.len + 2);
    if (rq->decoded == NULL) {
        rt_reply_status(rep, 500);
        rt_conn_answer(c, rq, 1);
        return;
    }
    memcpy(rq->decoded, rq->url.data, rq->url.len + 1);
    q = strchr(rq->decoded, '?');
    plen = q != NULL ? (size_t)(q - rq->decoded) : rq->url.len;
    if (q != NULL)
        *q++ = '\0';
    else
        q = rq->decoded + rq->url.len; /* "" */
    {
        char *hash = strchr(q, '#'); /* a fragment is not the server's */
        if (hash != NULL)
            *hash = '\0';
    }
    path = rq->decoded;
    plen = sc_form_decode(path, plen, 0, &ctl);
    (void)plen;
    if (ctl) {
        rt_reply_error(rep, 400, "400: Bad Request: control byte in the path", RT_CODE_GENERAL);
        rt_conn_answer(c, rq, 0);
        return;
    }
    if (match_search(path, "guilds", &id_s, &id_len) ||
        match_search(path, "channels", &id_s, &id_len)) {
        sc_search_endpoint ep = path[8] == 'g' ? SC_SEARCH_GUILD : SC_SEARCH_CHANNEL;
        const char *pname = ep == SC_SEARCH_GUILD ? "guild_id" : "channel_id";
        char idbuf[32], bad[64];
        uint64_t id = 0;
        size_t cap = SC_QUERY_MAX_PARAMS + (size_t)r->cfg->max_channels + 1;
        sc_status st;
        rq->label = ep == SC_SEARCH_GUILD ? "guild" : "channel";
        if (!is_get) {
            rt_reply_status(rep, 405);
            rt_conn_answer(c, rq, 0);
            return;
        }
        if (id_len == 0 || id_len >= sizeof(idbuf)) {
            rt_reply_invalid(rep, pname, "not a snowflake id");
            rt_conn_answer(c, rq, 0);
            return;
        }
        memcpy(idbuf, id_s, id_len);
        idbuf[id_len] = '\0';
        if (sc_parse_u64(idbuf, &id) != SC_OK || id == 0 || id > (uint64_t)INT64_MAX) {
            rt_reply_invalid(rep, pname, "not a snowflake id");
            rt_conn_answer(c, rq, 0);
            return;
        }
        rq->params = calloc(cap, sizeof(*rq->params));
        if (rq->params == NULL) {
            rt_reply_status(rep, 500);
            rt_conn_answer(c, rq, 0);
            return;
        }
        st = sc_form_split(q, rq->params, cap, &rq->n_params, bad, sizeof(bad));
        if (st == SC_EINVAL) {
            size_t k = strlen(bad);
            if (k > 2 && strcmp(bad + k - 2, "[]") == 0)
                bad[k - 2] = '\0';
            rt_reply_invalid(rep, bad[0] != '\0' ? bad : "_query", "control byte in key or value");
            rt_conn_answer(c, rq, 0);
            return;
        }
        if (st != SC_OK) {
            rt_reply_invalid(rep, "_query", "too many parameters");
            rt_conn_answer(c, rq, 0);
            return;
        }
        rq->endpoint = ep;
        rq->target_id = id;
        rt_submit(c, rq, REQ_SEARCH);
        return;
    }
    if (strcmp(path, "/healthz") == 0 || strcmp(path, "/readyz") == 0 ||
        strcmp(path, "/metrics") == 0) {
        if (!is_get) {
            rt_reply_status(rep, 405);
        } else if (path[1] == 'h') {
            rep->status = 200;
            if (sc_buf_puts(&rep->body, "{\"status\":\"ok\"}") != SC_OK)
                rt_reply_status(rep, 500);
        } else if (path[1] == 'r') {
            rt_submit(c, rq, REQ_READYZ);
            return;
        } else {
            rep->status = 200;
            rep->content_type = "text/plain; version=0.0.4";
            if (sc_metrics_render(r->metrics, &rep->body) != SC_OK)
                rt_reply_status(rep, 500);
        }
        rt_conn_answer(c, rq, 0);
        return;
    }
    rt_reply_status(rep, 404);
    rt_conn_answer(c, rq, 0);
}
