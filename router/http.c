/*
 * http.c - the router's HTTP/1.1 surface: one libuv event loop thread that
 * accepts, reads and writes every client connection, the JSON answer to
 * every protocol error, and start/stop with the drain. Requests are parsed
 * in http_parse.c and routed in route.c; searches and /readyz are handed to
 * the worker pool (pool.c) and their answers written back here.
 *
 * Why libuv + llhttp rather than libmicrohttpd: libmicrohttpd 0.9.75 answers
 * oversized request lines and headers (414/431) and malformed requests (400)
 * with its own HTML pages and offers no hook to replace them, sends a broken
 * double answer for a bad Content-Length, and its thread-per-connection mode
 * is what capped the router at 512 connections. llhttp (Node.js's parser)
 * reports every such error to us, so every answer here is the documented
 * JSON; libuv gives the epoll loop, writes and timers.
 *
 * A connection serves one request at a time: once a request is complete
 * the parser pauses and reading stops until its answer is written (bytes
 * already read for the next request wait in `pending`), so pipelined
 * requests are answered in order and a client cannot queue work without
 * reading answers. Every error answer closes the connection gracefully
 * (shutdown, then the rest of the input is read and dropped), so the
 * client reads the answer instead of a reset.
 *
 * Not here: parsing (http_parse.c), paths and methods (route.c), the search
 * itself (search.c), error bodies (reply.c), workers and the queue (pool.c).
 */
#include "http_int.h"

#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A connection that is being closed gracefully reads for this long at most. */
#define LINGER_MS 2000
/* Period of the admission-deadline check (503 past queue_timeout_ms). */
#define EXPIRE_TICK_MS 5
/* Period of the idle-connection sweep. */
#define SWEEP_TICK_MS 1000

static void conn_continue(conn *c);

/* ------------------------------------------------------------ requests */

req *rt_req_new(void)
{
    req *rq = calloc(1, sizeof(*rq));
    if (rq == NULL)
        return NULL;
    sc_buf_init(&rq->url, 0);
    sc_buf_init(&rq->auth, 0);
    rt_reply_init(&rq->rep);
    rq->t0_us = sc_now_us();
    rq->label = "other";
    return rq;
}

void rt_req_free(req *rq)
{
    if (rq == NULL)
        return;
    sc_buf_free(&rq->url);
    sc_buf_free(&rq->auth);
    free(rq->decoded);
    free(rq->params);
    rt_reply_clear(&rq->rep);
    free(rq);
}

static const char *status_text(int s)
{
    switch (s) {
    case 200:
        return "OK";
    case 202:
        return "Accepted";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    default:
        return "Unknown";
    }
}

/* The JSON error of a protocol-level status (message "NNN: Text"). */
void rt_reply_status(rt_reply *rep, int status)
{
    char msg[64];
    snprintf(msg, sizeof(msg), "%d: %s", status, status_text(status));
    rt_reply_error(rep, status, msg, RT_CODE_GENERAL);
}

/* ------------------------------------------------------------ writing */

static void on_closed(uv_handle_t *hd)
{
    conn *c = hd->data; /* conn_close detached c->busy: nothing else refers to c */
    rt_req_free(c->cur);
    free(c->pending);
    free(c);
}

void rt_conn_close(conn *c)
{
    rt_http *h = c->h;
    if (c->closed)
        return;
    c->closed = 1;
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        h->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    h->n_conns--;
    sc_metric_set(h->r->m_conns, NULL, (double)h->n_conns);
    if (c->busy != NULL) {
        /* a worker or the queue still holds the request: detach it */
        c->busy->c = NULL;
        if (rt_pool_cancel(h->pool, &c->busy->task)) {
            h->outstanding--;
            rt_req_free(c->busy);
        }
        c->busy = NULL; /* freed when it comes back (done) or just now */
    }
    uv_close((uv_handle_t *)&c->tcp, on_closed);
}

static void on_linger_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    conn *c = s->data;
    (void)buf;
    if (nread < 0)
        rt_conn_close(c); /* EOF: the client read the answer and closed */
}

static void alloc_cb(uv_handle_t *hd, size_t suggested, uv_buf_t *buf)
{
    conn *c = hd->data;
    (void)suggested;
    buf->base = c->h->rbuf;
    buf->len = sizeof(c->h->rbuf);
}

static void on_shutdown(uv_shutdown_t *sr, int status)
{
    conn *c = sr->data;
    if (c->closed)
        return;
    if (status != 0) {
        rt_conn_close(c);
        return;
    }
    /* read and drop what the client still sends, until it closes or the
     * sweep's LINGER_MS: closing with unread input would send a reset */
    c->lingering = 1;
    c->last_ms = sc_now_ms();
    uv_read_stop((uv_stream_t *)&c->tcp);
    if (uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, on_linger_read) != 0)
        rt_conn_close(c);
}

/* Close after the last answer: shut the write side, then linger. */
void rt_conn_finish(conn *c)
{
    if (c->closed || c->lingering)
        return;
    c->lingering = 1;
    c->shut.data = c;
    if (uv_shutdown(&c->shut, (uv_stream_t *)&c->tcp, on_shutdown) != 0)
        rt_conn_close(c);
}

static void on_written(uv_write_t *w, int status)
{
    wreq *wr = (wreq *)w;
    conn *c = w->data;
    int close_after = wr->close_after;
    free(wr->head);
    free(wr->body);
    if (c->busy == wr->rq)
        c->busy = NULL;
    rt_req_free(wr->rq);
    free(wr);
    if (c->closed)
        return; /* cancelled by uv_close; on_closed (after this) frees c */
    c->last_ms = sc_now_ms();
    if (status != 0) {
        rt_conn_close(c);
        return;
    }
    if (close_after || c->h->stopping) {
        rt_conn_finish(c);
        return;
    }
    conn_continue(c);
}

/* Put rq's answer on the wire; rq becomes the write's (c->busy). close:
 * "Connection: close" and a graceful close once written. */
void rt_conn_answer(conn *c, req *rq, int close)
{
    rt_http *h = c->h;
    rt_reply *rep = &rq->rep;
    sc_buf head;
    wreq *wr;
    uv_buf_t bufs[2];
    unsigned nb = 1;
    char status_s[8];

    if (rep->status == 0)
        rt_reply_status(rep, 500);
    if (h->stopping || !c->keep_alive)
        close = 1;
    sc_buf_init(&head, 0);
    if (sc_buf_printf(&head, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s",
                      rep->status, status_text(rep->status),
                      rep->content_type != NULL ? rep->content_type
                                                : "application/json; charset=utf-8",
                      rep->body.len, close ? "Connection: close\r\n" : "") != SC_OK ||
        (rep->status == 405 && sc_buf_puts(&head, "Allow: GET, HEAD\r\n") != SC_OK) ||
        (rep->retry_after > 0 &&
         sc_buf_printf(&head, "Retry-After: %d\r\n", rep->retry_after) != SC_OK) ||
        (rep->headers.len > 0 &&
         sc_buf_append(&head, rep->headers.data, rep->headers.len) != SC_OK) ||
        sc_buf_puts(&head, "\r\n") != SC_OK) {
        sc_buf_free(&head);
        rt_req_free(rq);
        rt_conn_close(c);
        return;
    }
    wr = calloc(1, sizeof(*wr));
    if (wr == NULL) {
        sc_buf_free(&head);
        rt_req_free(rq);
        rt_conn_close(c);
        return;
    }
    snprintf(status_s, sizeof(status_s), "%d", rep->status);
    sc_metric_add(h->r->m_requests, status_s, 1);
    sc_metric_observe(h->r->m_latency, rq->label, (double)(sc_now_us() - rq->t0_us) / 1e6);
    bufs[0].len = head.len;
    wr->head = sc_buf_steal(&head);
    bufs[0].base = wr->head;
    if (rep->body.len > 0 && !rq->head) {
        bufs[1].len = rep->body.len;
        wr->body = sc_buf_steal(&rep->body);
        bufs[1].base = wr->body;
        nb = 2;
    }
    wr->rq = rq;
    wr->close_after = close;
    wr->w.data = c;
    c->busy = rq;
    rq->c = c;
    if (uv_write(&wr->w, (uv_stream_t *)&c->tcp, bufs, nb, on_written) != 0) {
        free(wr->head);
        free(wr->body);
        free(wr);
        c->busy = NULL;
        rt_req_free(rq);
        rt_conn_close(c);
    }
}

/* Answer a protocol error (status) and close; the request being read, if
 * any, is dropped. Reading stops. */
void rt_conn_fail(conn *c, int status)
{
    req *rq = c->cur != NULL ? c->cur : rt_req_new();
    c->cur = NULL;
    if (rq == NULL) {
        rt_conn_close(c);
        return;
    }
    if (c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = 0;
    }
    free(c->pending);
    c->pending = NULL;
    c->n_pending = 0;
    rt_reply_status(&rq->rep, status);
    rt_conn_answer(c, rq, 1);
}

/* ------------------------------------------------------------ handing to workers */

static void on_expire(uv_timer_t *t);

/* Hand rq to the workers; a full queue is answered 503 at once. */
void rt_submit(conn *c, req *rq, req_kind kind)
{
    rt_http *h = c->h;
    rq->kind = kind;
    rq->task.run = rt_route_run;
    snprintf(rq->ip, sizeof(rq->ip), "%s", c->ip);
    rq->c = c;
    c->busy = rq;
    if (rt_pool_submit(h->pool, &rq->task) != SC_OK) {
        c->busy = NULL;
        sc_metric_add(h->r->m_rejected, "queue_full", 1);
        rt_reply_busy(&rq->rep);
        rt_conn_answer(c, rq, 0);
        return;
    }
    h->outstanding++;
    /* the deadline check runs only while tasks wait (no idle wake-ups) */
    if (!uv_is_active((uv_handle_t *)&h->expire))
        uv_timer_start(&h->expire, on_expire, EXPIRE_TICK_MS, EXPIRE_TICK_MS);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    conn *c = s->data;
    if (c->closed)
        return;
    if (nread < 0) {
        /* EOF or error. A request not yet whole is not answerable: the
         * client went away. */
        rt_conn_close(c);
        return;
    }
    c->last_ms = sc_now_ms();
    rt_conn_feed(c, buf->base, (size_t)nread);
}

/* After an answer: parse what is pending, else read again. */
static void conn_continue(conn *c)
{
    if (c->closed || c->busy != NULL)
        return;
    if (c->n_pending > 0) {
        char *p = c->pending;
        size_t n = c->n_pending;
        c->pending = NULL;
        c->n_pending = 0;
        rt_conn_feed(c, p, n);
        free(p);
        if (c->closed || c->busy != NULL || c->lingering)
            return;
    }
    if (!c->reading && !c->lingering) {
        if (uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, on_read) != 0) {
            rt_conn_close(c);
            return;
        }
        c->reading = 1;
    }
}

/* ------------------------------------------------------------ accepting */

static void free_handle(uv_handle_t *hd) { free(hd->data); }

static void on_connection(uv_stream_t *server, int status)
{
    rt_http *h = server->data;
    conn *c;
    struct sockaddr_storage ss;
    int sl = sizeof(ss);
    if (status != 0) {
        log_warn("router: accept: %s", uv_strerror(status));
        return;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return; /* the connection stays in the backlog and is retried */
    c->h = h;
    uv_tcp_init(&h->loop, &c->tcp);
    c->tcp.data = c;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        uv_close((uv_handle_t *)&c->tcp, free_handle);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET)
            uv_ip4_name((struct sockaddr_in *)&ss, c->ip, sizeof(c->ip));
        else if (ss.ss_family == AF_INET6)
            uv_ip6_name((struct sockaddr_in6 *)&ss, c->ip, sizeof(c->ip));
    }
    llhttp_init(&c->parser, HTTP_REQUEST, &h->settings);
    c->parser.data = c;
    c->keep_alive = 1;
    c->last_ms = sc_now_ms();
    c->next = h->conns;
    if (h->conns != NULL)
        h->conns->prev = c;
    h->conns = c;
    h->n_conns++;
    sc_metric_set(h->r->m_conns, NULL, (double)h->n_conns);
    if (h->n_conns > (size_t)h->r->cfg->max_connections) {
        /* over the cap: an answer rather than a refused or reset socket */
        req *rq = rt_req_new();
        sc_metric_add(h->r->m_rejected, "connections", 1);
        if (rq == NULL) {
            rt_conn_close(c);
            return;
        }
        rt_reply_busy(&rq->rep);
        rt_conn_answer(c, rq, 1);
        return;
    }
    if (uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, on_read) != 0) {
        rt_conn_close(c);
        return;
    }
    c->reading = 1;
}

/* ------------------------------------------------------------ workers' answers */

/* Worker thread: hand the task back to the loop. */
static void on_task_done(void *arg, rt_task *task, int outcome)
{
    rt_http *h = arg;
    req *rq = (req *)task;
    if (outcome == RT_TASK_EXPIRED)
        rq->rep.status = -1; /* marks "answer 503" for the loop */
    uv_mutex_lock(&h->done_mu);
    task->next = (rt_task *)h->done_head; /* task is req's first member */
    h->done_head = rq;
    uv_mutex_unlock(&h->done_mu);
    uv_async_send(&h->wake);
}

static void maybe_end(rt_http *h);

/* A task is back (ran, or expired in the queue): write its answer. */
static void task_back(rt_http *h, req *rq)
{
    conn *c = rq->c;
    h->outstanding--;
    if (rq->rep.status == -1) {
        rq->rep.status = 0;
        sc_metric_add(h->r->m_rejected, "deadline", 1);
        rt_reply_busy(&rq->rep);
    }
    if (c == NULL) { /* the connection closed meanwhile (conn_close detached rq) */
        rt_req_free(rq);
        return;
    }
    c->busy = NULL;
    rt_conn_answer(c, rq, 0);
}

static void on_wake(uv_async_t *a)
{
    rt_http *h = a->data;
    req *list, *rev = NULL;
    uv_mutex_lock(&h->done_mu);
    list = h->done_head;
    h->done_head = NULL;
    uv_mutex_unlock(&h->done_mu);
    while (list != NULL) { /* oldest first */
        req *next = (req *)list->task.next;
        list->task.next = (rt_task *)rev;
        rev = list;
        list = next;
    }
    while (rev != NULL) {
        req *next = (req *)rev->task.next;
        rev->task.next = NULL;
        task_back(h, rev);
        rev = next;
    }
    maybe_end(h);
}

static void on_expire(uv_timer_t *t)
{
    rt_http *h = t->data;
    rt_task *out[256];
    size_t n, queued = 0, running = 0;
    while ((n = rt_pool_expire(h->pool, sc_now_ms(), out, 256)) > 0) {
        for (size_t i = 0; i < n; i++) {
            req *rq = (req *)out[i];
            rq->rep.status = -1;
            task_back(h, rq);
        }
        if (n < 256)
            break;
    }
    rt_pool_stats(h->pool, &queued, &running);
    if (queued == 0)
        uv_timer_stop(t); /* submit starts it again */
}

static void on_sweep(uv_timer_t *t)
{
    rt_http *h = t->data;
    int64_t now = sc_now_ms();
    conn *c = h->conns;
    while (c != NULL) {
        conn *next = c->next;
        if (c->lingering) {
            if (now - c->last_ms > LINGER_MS)
                rt_conn_close(c);
        } else if (c->busy == NULL && c->cur != NULL) {
            /* a request begun and not finished in time, however slowly
             * its bytes trickle in */
            if (now - c->cur->t0_us / 1000 > RT_IDLE_TIMEOUT_MS)
                rt_conn_fail(c, 408);
        } else if (c->busy == NULL && now - c->last_ms > RT_IDLE_TIMEOUT_MS) {
            rt_conn_close(c); /* idle keep-alive: a normal close */
        }
        c = next;
    }
}

/* ------------------------------------------------------------ start / stop */

static void on_handle_closed(uv_handle_t *hd) { (void)hd; }

/* While stopping: once no connection and no task is left, close the loop's
 * own handles so uv_run returns. */
static void maybe_end(rt_http *h)
{
    if (!h->stopping || h->loop_done || h->n_conns > 0 || h->outstanding > 0)
        return;
    h->loop_done = 1;
    uv_close((uv_handle_t *)&h->wake, on_handle_closed);
    uv_close((uv_handle_t *)&h->stop_async, on_handle_closed);
    uv_close((uv_handle_t *)&h->expire, on_handle_closed);
    uv_close((uv_handle_t *)&h->sweep, on_handle_closed);
    uv_close((uv_handle_t *)&h->drain, on_handle_closed);
}

static void on_drain_deadline(uv_timer_t *t)
{
    rt_http *h = t->data;
    /* answers not written by now are given up: close what is left */
    for (conn *c = h->conns, *next; c != NULL; c = next) {
        next = c->next;
        rt_conn_close(c);
    }
    maybe_end(h);
}

static void on_drain_tick(uv_timer_t *t)
{
    rt_http *h = t->data;
    on_sweep(t);
    maybe_end(h);
}

static void on_stop(uv_async_t *a)
{
    rt_http *h = a->data;
    if (h->stopping)
        return;
    h->stopping = 1;
    uv_close((uv_handle_t *)&h->server, on_handle_closed);
    /* idle connections close now; ones with a request finish it first */
    for (conn *c = h->conns, *next; c != NULL; c = next) {
        next = c->next;
        if (c->busy == NULL && !c->lingering) {
            if (c->cur != NULL)
                rt_conn_fail(c, 503);
            else
                rt_conn_close(c);
        }
    }
    uv_timer_start(
        &h->drain, on_drain_deadline,
        (uint64_t)(h->r->cfg->queue_timeout_ms + h->r->cfg->query_timeout_ms + LINGER_MS), 0);
    uv_timer_stop(&h->sweep);
    uv_timer_start(&h->sweep, on_drain_tick, 50, 50);
    maybe_end(h);
}

static void loop_main(void *arg)
{
    rt_http *h = arg;
    uv_run(&h->loop, UV_RUN_DEFAULT);
}

rt_http *rt_http_start(router *r, int *bound_port, char *err, size_t errlen)
{
    rt_http *h;
    struct sockaddr_in sa;
    struct sockaddr_storage ss;
    int sl = sizeof(ss), rc;
    rt_pool_opts po;

    if (uv_ip4_addr(r->cfg->listen_addr, r->cfg->listen_port, &sa) != 0) {
        sc_seterr(err, errlen, "listen_addr: '%s' is not an IPv4 address", r->cfg->listen_addr);
        return NULL;
    }
    h = calloc(1, sizeof(*h));
    if (h == NULL) {
        sc_seterr(err, errlen, "out of memory");
        return NULL;
    }
    h->r = r;
    rt_parse_settings(&h->settings);
    uv_mutex_init(&h->done_mu);
    if (uv_loop_init(&h->loop) != 0) {
        uv_mutex_destroy(&h->done_mu);
        free(h);
        sc_seterr(err, errlen, "cannot create the event loop");
        return NULL;
    }
    uv_tcp_init(&h->loop, &h->server);
    h->server.data = h;
    rc = uv_tcp_bind(&h->server, (const struct sockaddr *)&sa, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&h->server, 4096, on_connection);
    if (rc != 0) {
        sc_seterr(err, errlen, "cannot listen on %s:%d: %s", r->cfg->listen_addr,
                  r->cfg->listen_port, uv_strerror(rc));
        uv_close((uv_handle_t *)&h->server, NULL);
        uv_run(&h->loop, UV_RUN_DEFAULT);
        uv_loop_close(&h->loop);
        uv_mutex_destroy(&h->done_mu);
        free(h);
        return NULL;
    }
    *bound_port = r->cfg->listen_port;
    if (uv_tcp_getsockname(&h->server, (struct sockaddr *)&ss, &sl) == 0 && ss.ss_family == AF_INET)
        *bound_port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    memset(&po, 0, sizeof(po));
    po.workers = r->cfg->threads;
    po.queue_max = r->cfg->queue_max;
    po.queue_timeout_ms = r->cfg->queue_timeout_ms;
    po.done = on_task_done;
    po.done_arg = h;
    h->pool = rt_pool_create(r, &po, err, errlen);
    uv_async_init(&h->loop, &h->wake, on_wake);
    h->wake.data = h;
    uv_async_init(&h->loop, &h->stop_async, on_stop);
    h->stop_async.data = h;
    uv_timer_init(&h->loop, &h->expire);
    h->expire.data = h;
    uv_timer_init(&h->loop, &h->sweep);
    h->sweep.data = h;
    uv_timer_init(&h->loop, &h->drain);
    h->drain.data = h;
    if (h->pool == NULL || uv_timer_start(&h->sweep, on_sweep, SWEEP_TICK_MS, SWEEP_TICK_MS) != 0 ||
        uv_thread_create(&h->thread, loop_main, h) != 0) {
        if (h->pool != NULL)
            sc_seterr(err, errlen, "cannot start the event loop");
        h->stopping = 1;
        uv_close((uv_handle_t *)&h->server, on_handle_closed);
        maybe_end(h);
        uv_run(&h->loop, UV_RUN_DEFAULT);
        uv_loop_close(&h->loop);
        rt_pool_free(h->pool);
        uv_mutex_destroy(&h->done_mu);
        free(h);
        return NULL;
    }
    return h;
}

void rt_http_stop(rt_http *h)
{
    if (h == NULL)
        return;
    uv_async_send(&h->stop_async);
    uv_thread_join(&h->thread);
    /* every task came back before the loop ended: the workers are idle */
    rt_pool_free(h->pool);
    uv_loop_close(&h->loop);
    uv_mutex_destroy(&h->done_mu);
    free(h);
}
