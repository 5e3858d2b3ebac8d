/*
 * ratelimit.h - token buckets shared by every router through Redis, shaped
 * like Discord's rate limits, with a local fallback.
 *
 * A bucket holds up to `limit` tokens and refills at limit / window_ms per
 * ms; a request takes one token from each bucket it is subject to (the
 * client IP's and, once authenticated, the user's), all or none. In Redis
 * one Lua script reads, refills and takes every bucket of a request in one
 * round trip (EVALSHA; EVAL once after NOSCRIPT), on Redis's own clock, so
 * routers agree on the buckets whatever their clocks. When Redis cannot be
 * reached the limiter uses a bucket table in this process (the limit then
 * holds per router, not across them) and tries Redis again after
 * SC_RL_REDIS_BACKOFF_MS; a limiter failure never fails a request.
 *
 * Not here: which buckets a request has and the HTTP answer (router).
 */
#ifndef SC_RATELIMIT_H
#define SC_RATELIMIT_H

#include "redis.h"
#include "sc.h"

#include <stddef.h>
#include <stdint.h>

/* Buckets of one request, at most. */
#define SC_RL_MAX_BUCKETS 4
/* After a Redis failure, local buckets only for this long. */
#define SC_RL_REDIS_BACKOFF_MS 1000
/* Socket timeout of the script call. */
#define SC_RL_REDIS_TIMEOUT_MS 200
/* Slots of the local fallback table (a colliding key takes the slot over). */
#define SC_RL_LOCAL_SLOTS 8192

/* One bucket a request takes a token from. */
typedef struct sc_rl_bucket {
    const char *key; /* borrowed; Redis key, also names the bucket */
    int limit;       /* tokens when full (> 0) */
    int window_ms;   /* time to refill from empty to full (> 0) */
} sc_rl_bucket;

/* The state of one bucket after the take. */
typedef struct sc_rl_state {
    int limit;              /* the bucket's limit */
    int remaining;          /* whole tokens left after this request */
    int64_t reset_after_ms; /* until the bucket is full again */
    int64_t retry_after_ms; /* denied: until one token is back; else 0 */
} sc_rl_state;

typedef struct sc_rl_result {
    int allowed;      /* 1: a token was taken from every bucket */
    size_t denied_by; /* !allowed: index of the bucket that needs the longest wait */
    int from_redis;   /* 1: decided in Redis, 0: by the local fallback */
    sc_rl_state st[SC_RL_MAX_BUCKETS]; /* per bucket, in request order */
} sc_rl_result;

typedef struct sc_ratelimit sc_ratelimit;

/* A limiter (its local table and Redis back-off state; thread-safe).
 * NULL on out of memory. Free with sc_ratelimit_free (NULL is a no-op). */
sc_ratelimit *sc_ratelimit_create(void);
void sc_ratelimit_free(sc_ratelimit *rl);

/* Take one token from each of b[0..n) (n <= SC_RL_MAX_BUCKETS) and fill
 * *out. redis (the calling thread's handle, may be NULL) is asked first;
 * on failure, or while backing off, the local table decides. now_ms is
 * the caller's monotonic clock (local buckets only). Never fails: a bad
 * argument (n out of range, a limit or window <= 0) allows the request. */
void sc_ratelimit_take(sc_ratelimit *rl, sc_redis *redis, const sc_rl_bucket *b, size_t n,
                       int64_t now_ms, sc_rl_result *out);

/* The local bucket arithmetic, exposed for tests: refill *tokens (at
 * *stamp_ms) to now_ms and take one if a whole one is there; fills *st.
 * Returns 1 when taken. */
int sc_rl_bucket_take(double *tokens, int64_t *stamp_ms, int limit, int window_ms, int64_t now_ms,
                      int take, sc_rl_state *st);

#endif
