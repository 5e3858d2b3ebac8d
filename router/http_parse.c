/*
 * http_parse.c - reading requests off a connection with llhttp: the parser
 * callbacks that collect the target and the one header the API reads
 * (Authorization), the request limits (414/431/413) and malformed input
 * (400/405), and rt_conn_feed, which hands a whole request to rt_dispatch
 * (route.c) and keeps bytes of the next one pending. One request at a time:
 * the parser pauses on each complete request until it is answered.
 */
#include "http_int.h"

#include <stdlib.h>
#include <string.h>

static req *cur_req(llhttp_t *p)
{
    conn *c = p->data;
    if (c->cur == NULL)
        c->cur = rt_req_new();
    return c->cur;
}

static int on_message_begin(llhttp_t *p) { return cur_req(p) != NULL ? HPE_OK : HPE_USER; }

static int on_url(llhttp_t *p, const char *at, size_t n)
{
    conn *c = p->data;
    req *rq = cur_req(p);
    if (rq == NULL)
        return HPE_USER;
    if (rq->url.len + n > (size_t)c->h->r->cfg->max_request_bytes) {
        rq->err_status = 414;
        return HPE_USER;
    }
    return sc_buf_append(&rq->url, at, n) == SC_OK ? HPE_OK : HPE_USER;
}

/* Count header bytes against the limit; 431 beyond it. */
static int header_budget(conn *c, req *rq, size_t n)
{
    rq->header_bytes += n;
    if (rq->header_bytes > (size_t)c->h->r->cfg->max_request_bytes) {
        rq->err_status = 431;
        return HPE_USER;
    }
    return HPE_OK;
}

static int on_header_field(llhttp_t *p, const char *at, size_t n)
{
    conn *c = p->data;
    req *rq = cur_req(p);
    if (rq == NULL)
        return HPE_USER;
    if (header_budget(c, rq, n) != HPE_OK)
        return HPE_USER;
    for (size_t i = 0; i < n; i++) {
        if (rq->field_len + 1 < sizeof(rq->field)) {
            char ch = at[i];
            rq->field[rq->field_len++] = (ch >= 'A' && ch <= 'Z') ? (char)(ch + 32) : ch;
            rq->field[rq->field_len] = '\0';
        } else {
            rq->field[0] = '\0'; /* longer than any header we read */
            rq->field_len = sizeof(rq->field);
        }
    }
    return HPE_OK;
}

static int on_header_field_complete(llhttp_t *p)
{
    conn *c = p->data;
    req *rq = cur_req(p);
    if (rq == NULL)
        return HPE_USER;
    if (++rq->n_headers > RT_MAX_HEADERS) {
        rq->err_status = 431;
        return HPE_USER;
    }
    rq->in_auth = rq->field_len < sizeof(rq->field) && strcmp(rq->field, "authorization") == 0;
    if (rq->in_auth)
        sc_buf_reset(&rq->auth); /* the last Authorization wins */
    rq->field_len = 0;
    rq->field[0] = '\0';
    (void)c;
    return HPE_OK;
}

static int on_header_value(llhttp_t *p, const char *at, size_t n)
{
    conn *c = p->data;
    req *rq = cur_req(p);
    if (rq == NULL || header_budget(c, rq, n) != HPE_OK)
        return HPE_USER;
    if (rq->in_auth && sc_buf_append(&rq->auth, at, n) != SC_OK)
        return HPE_USER;
    return HPE_OK;
}

static int on_headers_complete(llhttp_t *p)
{
    conn *c = p->data;
    req *rq = cur_req(p);
    if (rq == NULL)
        return HPE_USER;
    if (llhttp_get_http_major(p) != 1) { /* HTTP/0.9: a request line without a version */
        rq->err_status = 400;
        return HPE_USER;
    }
    if ((p->flags & F_CONTENT_LENGTH) &&
        p->content_length > (uint64_t)c->h->r->cfg->max_request_bytes) {
        rq->err_status = 413;
        return HPE_USER;
    }
    if (rq->auth.len > 0 && memchr(rq->auth.data, '\0', rq->auth.len) != NULL) {
        rq->err_status = 400;
        return HPE_USER;
    }
    return HPE_OK;
}

static int on_body(llhttp_t *p, const char *at, size_t n)
{
    conn *c = p->data;
    req *rq = cur_req(p);
    (void)at;
    if (rq == NULL)
        return HPE_USER;
    rq->body_bytes += n; /* never read: the API takes no bodies */
    if (rq->body_bytes > (size_t)c->h->r->cfg->max_request_bytes) {
        rq->err_status = 413;
        return HPE_USER;
    }
    return HPE_OK;
}

static int on_message_complete(llhttp_t *p)
{
    (void)p;
    return HPE_PAUSED; /* answered by rt_conn_feed, one request at a time */
}

/* The status of a parse error. */
static int error_status(llhttp_errno_t e, const req *rq)
{
    if (rq != NULL && rq->err_status != 0)
        return rq->err_status;
    switch (e) {
    case HPE_INVALID_METHOD:
        return 405;
    default:
        return 400; /* malformed line or header, bad Content-Length, bad chunk */
    }
}

/* Parse data (n bytes); on a complete request stop reading, keep the rest
 * in pending and dispatch. */
void rt_conn_feed(conn *c, const char *data, size_t n)
{
    llhttp_errno_t e;
    if (n == 0)
        return;
    if (c->cur == NULL && c->h->stopping) {
        rt_conn_finish(c); /* no new requests while draining */
        return;
    }
    e = llhttp_execute(&c->parser, data, n);
    if (e == HPE_OK)
        return; /* need more */
    if (e == HPE_PAUSED || e == HPE_PAUSED_UPGRADE) {
        const char *pos = llhttp_get_error_pos(&c->parser);
        size_t used = pos != NULL && pos >= data && pos <= data + n ? (size_t)(pos - data) : n;
        req *rq = c->cur;
        char *rest = NULL;
        if (e == HPE_PAUSED)
            llhttp_resume(&c->parser);
        if (used < n) {
            rest = malloc(n - used);
            if (rest == NULL) {
                rt_conn_close(c);
                return;
            }
            memcpy(rest, data + used, n - used);
        }
        free(c->pending);
        c->pending = rest;
        c->n_pending = rest != NULL ? n - used : 0;
        if (c->reading) {
            uv_read_stop((uv_stream_t *)&c->tcp);
            c->reading = 0;
        }
        c->cur = NULL;
        if (rq == NULL) {
            rt_conn_close(c);
            return;
        }
        if (e == HPE_PAUSED_UPGRADE) {
            free(c->pending); /* no protocol switch here: answer and close */
            c->pending = NULL;
            c->n_pending = 0;
        }
        rt_dispatch(c, rq);
        return;
    }
    rt_conn_fail(c, error_status(e, c->cur));
}

/* The parser callbacks above, for rt_http_start. */
void rt_parse_settings(llhttp_settings_t *st)
{
    llhttp_settings_init(st);
    st->on_message_begin = on_message_begin;
    st->on_url = on_url;
    st->on_header_field = on_header_field;
    st->on_header_field_complete = on_header_field_complete;
    st->on_header_value = on_header_value;
    st->on_headers_complete = on_headers_complete;
    st->on_body = on_body;
    st->on_message_complete = on_message_complete;
}
