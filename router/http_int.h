/*
 * http_int.h - what the router's HTTP files share (http.c: loop, accept,
 * write, workers' answers; http_parse.c: llhttp callbacks; route.c: paths
 * and methods), and nothing else includes: a request, a connection, an
 * answer on the wire and the server, with the calls between those files.
 * Everything here runs on the loop thread, except a request's task while a
 * worker holds it.
 */
#ifndef SC_ROUTER_HTTP_INT_H
#define SC_ROUTER_HTTP_INT_H

#include "router.h"

#include <arpa/inet.h>
#include <llhttp.h>
#include <netinet/in.h>
#include <uv.h>

/* Bytes read per read callback. */
#define READ_CHUNK 65536

typedef struct conn conn;

/* What a request is, once routed. */
typedef enum req_kind { REQ_SEARCH, REQ_READYZ } req_kind;

/* One request from start to its written answer. Owned by its connection
 * (conn.cur while read, conn.busy while a worker or the write has it); when
 * the connection dies while a worker has it, it is freed on its return. */
typedef struct req {
    rt_task task;                /* pool link; first member (container of task) */
    conn *c;                     /* ref: the connection; NULL once it is gone */
    req_kind kind;               /* search or readyz */
    int64_t t0_us;               /* sc_now_us at the first byte */
    sc_buf url;                  /* raw request target (owned) */
    sc_buf auth;                 /* Authorization header value (owned) */
    char field[32];              /* current header name, lower case ("" = too long) */
    size_t field_len;            /* bytes in field */
    int in_auth;                 /* the current header is Authorization */
    size_t header_bytes;         /* bytes of header names and values */
    size_t n_headers;            /* header lines */
    size_t body_bytes;           /* body bytes read (and dropped) */
    int err_status;              /* != 0: answer this protocol error and close */
    char *decoded;               /* owned: decoded path + '\0' + query (params point here) */
    sc_query_param *params;      /* owned array */
    size_t n_params;             /* pairs */
    sc_search_endpoint endpoint; /* for REQ_SEARCH */
    uint64_t target_id;          /* guild or channel id */
    const char *label;           /* static: endpoint label for the latency metric */
    int head;                    /* 1: HEAD, send no body */
    char ip[INET6_ADDRSTRLEN];   /* peer address, copied for the worker */
    rt_reply rep;                /* the answer */
} req;

/* One client connection. */
struct conn {
    uv_tcp_t tcp;              /* the socket; tcp.data = this */
    rt_http *h;                /* ref: the server */
    llhttp_t parser;           /* request parser; parser.data = this */
    conn *prev, *next;         /* links of rt_http.conns */
    int64_t last_ms;           /* last read or write, sc_now_ms */
    char ip[INET6_ADDRSTRLEN]; /* peer address */
    req *cur;                  /* owned: request being read, NULL between requests */
    req *busy;                 /* owned: request handed to a worker or being written */
    char *pending;             /* owned: bytes read past the last complete request */
    size_t n_pending;          /* bytes in pending */
    int reading;               /* uv_read_start is active */
    int keep_alive;            /* the request being answered allows another one */
    int lingering;             /* answer sent, write side shut: dropping input */
    int closed;                /* uv_close called */
    uv_shutdown_t shut;        /* for the graceful close */
};

/* One answer on the wire. */
typedef struct wreq {
    uv_write_t w;    /* libuv write request; w.data = conn */
    char *head;      /* owned: status line and headers */
    char *body;      /* owned: body (NULL when none) */
    req *rq;         /* owned: the request answered (freed with the write) */
    int close_after; /* 1: close the connection once written */
} wreq;

struct rt_http {
    router *r;                  /* ref: owned by main */
    rt_pool *pool;              /* owned: workers and admission queue */
    uv_loop_t loop;             /* the event loop, run by thread */
    uv_thread_t thread;         /* runs the loop */
    uv_tcp_t server;            /* listening socket */
    uv_async_t wake;            /* workers finished tasks: see done list */
    uv_async_t stop_async;      /* rt_http_stop was called */
    uv_timer_t expire;          /* admission deadlines */
    uv_timer_t sweep;           /* idle and lingering connections */
    uv_timer_t drain;           /* hard deadline of the drain at stop */
    llhttp_settings_t settings; /* parser callbacks */
    conn *conns;                /* list of open connections (links prev/next) */
    size_t n_conns;             /* connections in conns */
    size_t outstanding;         /* tasks submitted and not yet back (loop thread only) */
    int stopping;               /* 1 after rt_http_stop */
    int loop_done;              /* 1 when every handle is closed */
    uv_mutex_t done_mu;         /* guards done_head */
    req *done_head;             /* tasks back from workers (links: task.next) */
    char rbuf[READ_CHUNK];      /* read buffer: the loop is one thread and copies out */
};

/* ---- http.c */

/* A fresh request (NULL when out of memory); free with rt_req_free. */
req *rt_req_new(void);
void rt_req_free(req *rq);
/* rep = the JSON error of a protocol-level status (message "NNN: Text"). */
void rt_reply_status(rt_reply *rep, int status);
/* Put rq's answer on the wire; rq becomes the write's (c->busy). close:
 * "Connection: close" and a graceful close once written. */
void rt_conn_answer(conn *c, req *rq, int close);
/* Answer a protocol error (status) and close; the request being read, if
 * any, is dropped. Reading stops. */
void rt_conn_fail(conn *c, int status);
/* Close after the last answer: shut the write side, then linger. */
void rt_conn_finish(conn *c);
/* Close now (also detaches a request a worker holds). */
void rt_conn_close(conn *c);
/* Hand rq (kind) to the workers; a full queue is answered 503 at once. */
void rt_submit(conn *c, req *rq, req_kind kind);

/* ---- http_parse.c */

/* The llhttp callbacks of every connection's parser. */
void rt_parse_settings(llhttp_settings_t *st);
/* Parse n bytes of data; on a complete request stop reading, keep the rest
 * pending and rt_dispatch it. */
void rt_conn_feed(conn *c, const char *data, size_t n);

/* ---- route.c */

/* Route the complete request rq (taken over): answer it or rt_submit it. */
void rt_dispatch(conn *c, req *rq);
/* What a worker runs for a submitted request (rt_task.run). */
void rt_route_run(router *r, rt_thread *t, rt_task *task);

#endif
