/*
 * router.h - the search router's internal interfaces, shared by the files of
 * the `router` program (main.c wires them, http.c serves HTTP, search.c runs
 * one search, fanout.c asks the clusters, perm.c caches permissions,
 * render.c writes Discord-shaped message JSON).
 *
 * Threads: one event loop thread (http.c, libuv + llhttp) accepts, parses
 * and writes every client connection, so an idle keep-alive connection costs
 * a small struct and a socket, not a thread. Searches (and /readyz) are
 * tasks handed to `threads` workers (pool.c) through a bounded queue with a
 * deadline (admission control: beyond it 503 + Retry-After). Each worker
 * owns one set of PostgreSQL, Redis, binder and curl multi handles
 * (rt_thread, handles.c), so `threads` bounds the searches running at once
 * and the backend connections. Everything in `router` is shared and either
 * read-only after start-up or thread-safe.
 *
 * Files and their arrows (no circle): main.c -> http.c -> pool.c,
 * search.c, reply.c, handles.c; search.c -> reply.c, ratelimit.c,
 * fanout.c, perm.c, bindcache.c, render.c; pool.c -> handles.c.
 *
 * Not here: search syntax (libscour/query.c), merging (merge.c), tokens
 * (auth.c, jwt.c), bindings (binding.c), the cluster view (cluster.c).
 */
#ifndef SC_ROUTER_H
#define SC_ROUTER_H

#include "auth.h"
#include "binding.h"
#include "buf.h"
#include "clients.h"
#include "cluster.h"
#include "config.h"
#include "db.h"
#include "es.h"
#include "http.h"
#include "merge.h"
#include "metrics.h"
#include "query.h"
#include "ratelimit.h"
#include "redis.h"
#include "sc.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdint.h>

/* Discord-style error codes. */
#define RT_CODE_GENERAL 0
#define RT_CODE_MISSING_ACCESS 50001
#define RT_CODE_INVALID_FORM 50035
#define RT_CODE_INDEX_NOT_READY 110000

/* Context messages returned on each side of a hit when context is asked. */
#define RT_CONTEXT_EACH_SIDE 2
/* Seconds a client should wait after a 202 (index being built). */
#define RT_RETRY_AFTER_S 5
/* Seconds a client should wait after a 503 for a full queue. */
#define RT_BUSY_RETRY_AFTER_S 1
/* Idle keep-alive connections close after this; a request that has not
 * arrived whole by then is answered 408. */
#define RT_IDLE_TIMEOUT_MS 30000
/* Header lines of one request (more: 431). */
#define RT_MAX_HEADERS 100
/* Easy handles a handle set keeps between searches (one per group in flight). */
#define RT_IDLE_EASY 8
/* Cap of one JSON response body / one cluster response body. */
#define RT_MAX_RESPONSE (8u << 20)
#define RT_MAX_CLUSTER_RESPONSE (16u << 20)
#define RT_BIND_CACHE_SLOTS 4096

typedef struct rt_perm_cache rt_perm_cache;
typedef struct rt_bind_cache rt_bind_cache;
typedef struct rt_thread rt_thread;
typedef struct rt_pool rt_pool;
typedef struct rt_fresh rt_fresh;

/* The shared state of a running router. */
typedef struct router {
    const sc_config *cfg;  /* ref: owned by main, read-only while serving */
    sc_cluster_view *view; /* owned by main; thread-safe */
    sc_metrics *metrics;   /* owned by main; thread-safe updates */
    rt_perm_cache *perms;  /* owned by main; thread-safe */
    rt_bind_cache *binds;  /* owned by main; thread-safe */
    sc_auth *auth;         /* owned by main; thread-safe, reloaded on SIGHUP */
    sc_ratelimit *limits;  /* owned by main; thread-safe */
    rt_fresh *fresh;       /* owned by main; thread-safe: refresh on read (fresh.c) */
    es_opts es;            /* base for cluster requests (CA, timeouts, global auth), each
                                 cluster's credentials applied by sc_cluster_es_opts; strings ref cfg */
    /* metric families (owned by metrics) */
    sc_metric *m_requests;    /* counter, label status */
    sc_metric *m_latency;     /* histogram, label endpoint */
    sc_metric *m_partial;     /* counter: answers missing a cluster */
    sc_metric *m_cluster_err; /* counter, label cluster */
    sc_metric *m_cluster_lat; /* histogram, label cluster */
    sc_metric *m_building;    /* counter: 202 answers */
    sc_metric *m_dropped;     /* counter: hits dropped at hydration (deleted/gone) */
    sc_metric *m_early;       /* counter, label outcome: early cluster requests kept/dropped */
    sc_metric *m_rejected;    /* counter, label reason: 503s of admission control */
    sc_metric *m_conns;       /* gauge: open client connections */
    sc_metric *m_limited;     /* counter, label bucket: 429 answers */
    sc_metric *m_limit_local; /* counter: limiter decisions made locally (Redis unreachable) */
    sc_metric *m_refresh;     /* counter, label outcome: dirty indices met by searches */
    sc_metric *m_refresh_lat; /* histogram, label cluster: _refresh latency */
} router;

/* One worker's set of backend handles (handles.c), used by one task at a time. */
struct rt_thread {
    sc_db *db;                /* owned; NULL until connected */
    sc_redis *redis;          /* owned */
    sc_binder *binder;        /* owned; uses db and redis */
    CURLM *multi;             /* owned; keeps cluster connections alive */
    sc_clients *clients;      /* owned; blocking clients for refresh on read (fresh.c) */
    CURL *idle[RT_IDLE_EASY]; /* owned easy handles kept for reuse by fanout.c */
    size_t n_idle;            /* handles in idle */
};

/* ---- handle sets (handles.c) ---- */

/* A new handle set (connects to PostgreSQL; Redis connects lazily). NULL
 * with the reason in err. Free with rt_handles_free (NULL is a no-op). */
rt_thread *rt_handles_create(router *r, char *err, size_t errlen);
void rt_handles_free(rt_thread *t);

/* ---- HTTP answer under construction (reply.c) ---- */
typedef struct rt_reply {
    int status;               /* HTTP status */
    sc_buf body;              /* JSON body (owned) */
    sc_buf headers;           /* extra "Name: value\r\n" lines (owned; rt_reply_header) */
    int retry_after;          /* > 0: send a Retry-After header */
    const char *content_type; /* static; NULL = application/json */
} rt_reply;

/* An empty reply (status 0); release with rt_reply_clear. */
void rt_reply_init(rt_reply *rep);
void rt_reply_clear(rt_reply *rep);
/* Add the header line "name: value" (both borrowed, copied). */
void rt_reply_header(rt_reply *rep, const char *name, const char *value);
/* 503 with the JSON error and Retry-After: no worker or queue slot. */
void rt_reply_busy(rt_reply *rep);
/* The X-RateLimit-* headers of bucket st (named bucket, static), and when
 * denied the 429 {"message": "You are being rate limited.", "retry_after":
 * s, "global": false, "code": 0} with Retry-After and X-RateLimit-Scope. */
void rt_reply_rate_limit(rt_reply *rep, const sc_rl_state *st, const char *bucket, int denied);
/* Replace the reply with {"message": msg, "code": code}. */
void rt_reply_error(rt_reply *rep, int status, const char *msg, int code);
/* Replace the reply with a 400 {"message": "Invalid Form Body", "code": 50035,
 * "errors": {param: {"_errors": [{"code": "INVALID", "message": detail}]}}}. */
void rt_reply_invalid(rt_reply *rep, const char *param, const char *detail);
/* The parameter named by a query.h error message ("limit: must be ..."
 * -> "limit", "unknown parameter 'x'" -> "x"), copied into out. */
void rt_param_of_error(const char *err, char *out, size_t len);

/* /readyz on a worker's handle set t (NULL: could not be set up). */
void rt_readyz(router *r, rt_thread *t, rt_reply *rep);

/* ---- workers and admission queue (pool.c) ---- */

#define RT_TASK_RAN 1     /* done: the task ran on a worker */
#define RT_TASK_EXPIRED 0 /* done: its deadline passed before a worker took it */

/* One unit of work for a worker; embedded in the caller's request. */
typedef struct rt_task rt_task;
struct rt_task {
    rt_task *next;       /* queue link; the pool's while queued */
    int64_t deadline_ms; /* sc_now_ms clock; set by rt_pool_submit */
    /* runs on a worker; t is the worker's handle set, NULL when it could
     * not be set up (answer 503) */
    void (*run)(router *r, rt_thread *t, rt_task *task);
};

typedef struct rt_pool_opts {
    int workers;          /* worker threads (each owns a handle set) */
    int queue_max;        /* tasks waiting for a worker, at most */
    int queue_timeout_ms; /* longest wait for a worker */
    /* called on the worker after run (RT_TASK_RAN) or instead of it when the
     * worker took it past its deadline (RT_TASK_EXPIRED); the task is the
     * caller's again */
    void (*done)(void *arg, rt_task *task, int outcome);
    void *done_arg; /* ref: passed to done */
} rt_pool_opts;

/* Start the workers. NULL with the reason in err. */
rt_pool *rt_pool_create(router *r, const rt_pool_opts *o, char *err, size_t errlen);
/* Queue task (borrowed until done, rt_pool_expire or rt_pool_cancel hands
 * it back). SC_ERR when the queue is full or stopping: answer 503. */
sc_status rt_pool_submit(rt_pool *p, rt_task *task) SC_MUST_USE;
/* Take out up to max tasks whose deadline is before now_ms into out[];
 * returns how many (the caller answers them 503). */
size_t rt_pool_expire(rt_pool *p, int64_t now_ms, rt_task **out, size_t max);
/* Take task out of the queue: 1 if it was still queued (it is the caller's
 * again), 0 if a worker has it (done will be called). */
int rt_pool_cancel(rt_pool *p, rt_task *task);
/* Tasks queued and running now. */
void rt_pool_stats(rt_pool *p, size_t *queued, size_t *running);
/* Let the workers finish every queued task, join them and free. NULL: no-op. */
void rt_pool_free(rt_pool *p);

/* ---- HTTP server (http.c) ---- */

typedef struct rt_http rt_http;
/* Start the HTTP server on listen_addr:listen_port (0 = any free port) in
 * its own event-loop thread, with the worker pool. Returns the server and
 * the bound port in *bound_port, or NULL with the reason in err. */
rt_http *rt_http_start(router *r, int *bound_port, char *err, size_t errlen);
/* Stop accepting, answer every request already read (drain, bounded by the
 * queue and query deadlines), close every connection, stop the workers and
 * free. NULL is a no-op. */
void rt_http_stop(rt_http *h);

/* ---- search (search.c) ---- */

/* One search request as the HTTP layer hands it over. */
typedef struct rt_search_in {
    sc_search_endpoint endpoint;  /* guild, channel or DM endpoint */
    uint64_t target_id;           /* guild id or channel id from the path; 0 for DMs */
    const char *authorization;    /* Authorization header, may be NULL */
    const char *client_ip;        /* peer address, text (rate limits) */
    const sc_query_param *params; /* decoded query pairs (borrowed) */
    size_t n_params;
} rt_search_in;

/* Run one search on the worker's handle set t (NULL: answer 503) and fill
 * rep (status, body, headers). Never fails: every outcome is an HTTP answer. */
void rt_search(router *r, rt_thread *t, const rt_search_in *in, rt_reply *rep);

/* ---- fan-out (fanout.c) ---- */

/* One (cluster, index) group of channels to query. */
typedef struct rt_group {
    char cluster[SC_CLUSTER_NAME_MAX]; /* cluster name from the binding */
    char index[128];                   /* index name */
    uint64_t *channels;                /* owned array */
    size_t n;                          /* channels used */
    size_t cap;                        /* channels allocated */
} rt_group;

/* Query every group concurrently over t->multi with req restricted to the
 * group's channels, size offset+limit, each within deadline_ms (absolute,
 * sc_now_ms clock). res[i] gets group i's answer (failed = 1 when the cluster
 * is unknown, unreachable, slow or answered an error; counted in metrics).
 * Returns SC_OK, or SC_ENOMEM when nothing could be started. */
sc_status rt_fanout(router *r, rt_thread *t, const sc_search_req *req, const rt_group *groups,
                    size_t n, int64_t deadline_ms, sc_cluster_result *res) SC_MUST_USE;

/* rt_fanout in two steps, so the caller can do something else while the
 * clusters work: start sends every group's request (res[i] is group i's,
 * groups and res stay the caller's and must outlive the run); wait collects
 * the answers as rt_fanout does and frees the run; cancel drops the run
 * instead, without counting anything against the clusters, and leaves
 * whatever res[] already holds for the caller to clear. */
typedef struct rt_fanout_run rt_fanout_run;
sc_status rt_fanout_start(router *r, rt_thread *t, const sc_search_req *req, const rt_group *groups,
                          size_t n, int64_t deadline_ms, sc_cluster_result *res,
                          rt_fanout_run **run) SC_MUST_USE;
void rt_fanout_wait(router *r, rt_thread *t, rt_fanout_run *run);
void rt_fanout_cancel(router *r, rt_thread *t, rt_fanout_run *run);

/* ---- refresh on read (fresh.c) ---- */

/* The router's table of dirty-index refreshes. NULL when out of memory.
 * rt_fresh_free(NULL) is a no-op. */
rt_fresh *rt_fresh_create(void);
void rt_fresh_free(rt_fresh *f);
/* Before asking groups gs[0..ng): vals[i] is the dirty-mark value read for
 * group i (NULL = no key). Refreshes every dirty group (coalesced with the
 * other workers, bounded by refresh_timeout_ms and deadline_ms) and clears
 * its mark; a failure is counted and the search goes on. Returns 1 when an
 * early answer for these groups may be kept (all clean, values unchanged
 * since this router last read them), else 0. */
int rt_fresh_prepare(router *r, rt_thread *t, const rt_group *gs, size_t ng, char *const *vals,
                     int64_t deadline_ms);

/* ---- permissions (perm.c) ---- */

/* bindcache.c: last known bindings, only to start cluster requests early.
 * get fills b[0..n) and found[0..n) and returns 1 when every channel has an
 * entry (0: no guess; the arrays are then partly written). */
rt_bind_cache *rt_bind_cache_create(void);
void rt_bind_cache_free(rt_bind_cache *c);
int rt_bind_cache_get(rt_bind_cache *c, const uint64_t *ch, size_t n, sc_binding *b, int *found);
void rt_bind_cache_put(rt_bind_cache *c, const uint64_t *ch, size_t n, const sc_binding *b,
                       const int *found);

rt_perm_cache *rt_perm_cache_create(int ttl_ms);
void rt_perm_cache_free(rt_perm_cache *c);
/* Channels user may read in guild (guild_id != 0): every readable channel of
 * the guild, ascending, cached per (user, guild) for the TTL. *out malloc'd
 * (free()), NULL when *n is 0. Returns a db.h status. */
sc_status rt_perm_guild(rt_perm_cache *c, sc_db *db, uint64_t user, uint64_t guild_id,
                        uint64_t **out, size_t *n) SC_MUST_USE;
/* Every DM and group DM user is a recipient of (sc_db_dm_channels),
 * ascending, cached per user for the TTL, so a recipient removed from a
 * group DM stops seeing it within perm_cache_ttl_ms. *out malloc'd (free()),
 * NULL when *n is 0. Returns a db.h status. */
sc_status rt_perm_dms(rt_perm_cache *c, sc_db *db, uint64_t user, uint64_t **out,
                      size_t *n) SC_MUST_USE;
/* Whether user may read channel (any kind, DMs included): *ok = 1/0. Uses
 * the (user, guild) list for guild channels, a (user, channel) entry for
 * DMs; an unknown channel is unreadable. The channel's guild is cached for
 * the TTL too. Returns a db.h status. */
sc_status rt_perm_channel(rt_perm_cache *c, sc_db *db, uint64_t user, uint64_t channel_id, int *ok,
                          uint64_t *guild_id) SC_MUST_USE;

/* ---- rendering (render.c) ---- */

/* Append the message object for m ({id, channel_id, guild_id, author,
 * author_type, content, mentions, mention_everyone, attachments, embeds,
 * pinned, timestamp, edited_timestamp}) and, when hit, "hit": true and
 * "highlights" computed from hl[0..nhl). edited_ms: Unix ms of the last
 * edit (sc_db_fetch_messages_ex), 0 = never edited -> "edited_timestamp": null. */
sc_status rt_render_message(sc_buf *out, const sc_message *m, int64_t edited_ms, int hit,
                            const sc_hl_term *hl, size_t nhl) SC_MUST_USE;
/* ISO 8601 UTC time of a snowflake, "2026-11-23T10:00:00.123000+00:00". */
void rt_snowflake_iso(uint64_t id, char *buf, size_t len);
/* The same format for Unix ms. */
void rt_ms_iso(int64_t ms, char *buf, size_t len);
/* Edit times of messages ids[0..n) into edited_ms[0..n) (0 = never edited,
 * or the row is gone/deleted by now), read with one sc_db_fetch_messages_ex.
 * Returns a db.h status (edited_ms all 0 on error). */
sc_status rt_edited_times(sc_db *db, const uint64_t *ids, size_t n, int64_t *edited_ms) SC_MUST_USE;
/* Up to `each` non-deleted messages of the hit's channel right before
 * (*before, newest first; one sc_db_page_messages_desc keyset page) and
 * right after (*after, oldest first) hit id.
 * Arrays malloc'd (free each with sc_message_clear, the array with free()). */
sc_status rt_context(sc_db *db, uint64_t channel_id, uint64_t hit_id, size_t each,
                     sc_message **before, size_t *nbefore, sc_message **after,
                     size_t *nafter) SC_MUST_USE;

#endif
