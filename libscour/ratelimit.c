/*
 * ratelimit.c - shared token buckets (see ratelimit.h): the Lua script run
 * in Redis, the local fallback table, and the bucket arithmetic both use.
 */
#include "ratelimit.h"

#include <math.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* KEYS: the buckets; ARGV: limit, window_ms per bucket. Refills each bucket
 * on Redis's clock, takes a token from all when every one has a whole
 * token, and returns {allowed, denied_by, then per bucket: remaining,
 * reset_after_ms, retry_after_ms}. State: hash {t = tokens, s = stamp ms},
 * expiring once it would be full anyway. */
static const char SCRIPT[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local n = #KEYS\n"
    "local tk = {}\n"
    "local ok, worst, worst_wait = 1, 0, -1\n"
    "for i = 1, n do\n"
    "  local limit, win = tonumber(ARGV[2*i-1]), tonumber(ARGV[2*i])\n"
    "  local v = redis.call('HMGET', KEYS[i], 't', 's')\n"
    "  local x, s = tonumber(v[1]), tonumber(v[2])\n"
    "  if x == nil or s == nil then x = limit; s = now end\n"
    "  if now > s then x = math.min(limit, x + (now - s) * limit / win) end\n"
    "  tk[i] = x\n"
    "  if x < 1 then\n"
    "    ok = 0\n"
    "    local wait = math.ceil((1 - x) * win / limit)\n"
    "    if wait > worst_wait then worst_wait = wait; worst = i - 1 end\n"
    "  end\n"
    "end\n"
    "local out = {ok, worst}\n"
    "for i = 1, n do\n"
    "  local limit, win = tonumber(ARGV[2*i-1]), tonumber(ARGV[2*i])\n"
    "  local x = tk[i]\n"
    "  if ok == 1 then x = x - 1 end\n"
    "  redis.call('HSET', KEYS[i], 't', tostring(x), 's', tostring(now))\n"
    "  redis.call('PEXPIRE', KEYS[i], win + 1000)\n"
    "  local retry = 0\n"
    "  if x < 1 then retry = math.ceil((1 - x) * win / limit) end\n"
    "  out[#out+1] = math.floor(x)\n"
    "  out[#out+1] = math.ceil((limit - x) * win / limit)\n"
    "  out[#out+1] = retry\n"
    "end\n"
    "return out\n";

/* One bucket of the local table. */
typedef struct local_slot {
    uint64_t hash;    /* FNV-1a of the key; 0 = empty */
    double tokens;    /* tokens at stamp_ms */
    int64_t stamp_ms; /* last refill */
} local_slot;

struct sc_ratelimit {
    char sha[41];            /* SHA-1 of SCRIPT, hex (EVALSHA) */
    int64_t redis_off_until; /* sc_now_ms before which Redis is not asked (atomic) */
    pthread_mutex_t mu;      /* guards slots */
    local_slot *slots;       /* owned; SC_RL_LOCAL_SLOTS */
};

sc_ratelimit *sc_ratelimit_create(void)
{
    sc_ratelimit *rl = calloc(1, sizeof(*rl));
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (rl == NULL)
        return NULL;
    rl->slots = calloc(SC_RL_LOCAL_SLOTS, sizeof(local_slot));
    if (rl->slots == NULL ||
        EVP_Digest(SCRIPT, sizeof(SCRIPT) - 1, md, &mdlen, EVP_sha1(), NULL) != 1 || mdlen != 20) {
        free(rl->slots);
        free(rl);
        return NULL;
    }
    for (unsigned i = 0; i < 20; i++)
        snprintf(rl->sha + 2 * i, 3, "%02x", md[i]);
    pthread_mutex_init(&rl->mu, NULL);
    return rl;
}

void sc_ratelimit_free(sc_ratelimit *rl)
{
    if (rl == NULL)
        return;
    pthread_mutex_destroy(&rl->mu);
    free(rl->slots);
    free(rl);
}

static void state_of(double tokens, int limit, int window_ms, sc_rl_state *st)
{
    double per_ms = (double)limit / (double)window_ms;
    st->limit = limit;
    st->remaining = tokens < 0 ? 0 : (int)floor(tokens);
    st->reset_after_ms = (int64_t)ceil(((double)limit - tokens) / per_ms);
    st->retry_after_ms = tokens < 1 ? (int64_t)ceil((1 - tokens) / per_ms) : 0;
}

int sc_rl_bucket_take(double *tokens, int64_t *stamp_ms, int limit, int window_ms, int64_t now_ms,
                      int take, sc_rl_state *st)
{
    int taken = 0;
    if (now_ms > *stamp_ms) {
        *tokens += (double)(now_ms - *stamp_ms) * (double)limit / (double)window_ms;
        if (*tokens > limit)
            *tokens = limit;
        *stamp_ms = now_ms;
    }
    if (take && *tokens >= 1) {
        *tokens -= 1;
        taken = 1;
    }
    state_of(*tokens, limit, window_ms, st);
    return taken;
}

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s != '\0'; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h != 0 ? h : 1;
}

static void take_local(sc_ratelimit *rl, const sc_rl_bucket *b, size_t n, int64_t now_ms,
                       sc_rl_result *out)
{
    local_slot *s[SC_RL_MAX_BUCKETS];
    int64_t worst = -1;
    pthread_mutex_lock(&rl->mu);
    out->allowed = 1;
    for (size_t i = 0; i < n; i++) {
        uint64_t h = fnv1a(b[i].key);
        s[i] = &rl->slots[h % SC_RL_LOCAL_SLOTS];
        if (s[i]->hash != h) { /* new key, or it takes over a colliding one */
            s[i]->hash = h;
            s[i]->tokens = b[i].limit;
            s[i]->stamp_ms = now_ms;
        }
        sc_rl_bucket_take(&s[i]->tokens, &s[i]->stamp_ms, b[i].limit, b[i].window_ms, now_ms, 0,
                          &out->st[i]);
        if (s[i]->tokens < 1) {
            out->allowed = 0;
            if (out->st[i].retry_after_ms > worst) {
                worst = out->st[i].retry_after_ms;
                out->denied_by = i;
            }
        }
    }
    if (out->allowed)
        for (size_t i = 0; i < n; i++)
            sc_rl_bucket_take(&s[i]->tokens, &s[i]->stamp_ms, b[i].limit, b[i].window_ms, now_ms, 1,
                              &out->st[i]);
    pthread_mutex_unlock(&rl->mu);
}

/* Fill out from the script's reply; 0 when the reply is not its shape. */
static int parse_reply(const redisReply *rp, const sc_rl_bucket *b, size_t n, sc_rl_result *out)
{
    if (rp == NULL || rp->type != REDIS_REPLY_ARRAY || rp->elements != 2 + 3 * n)
        return 0;
    for (size_t i = 0; i < rp->elements; i++)
        if (rp->element[i]->type != REDIS_REPLY_INTEGER)
            return 0;
    out->allowed = rp->element[0]->integer == 1;
    out->denied_by = (size_t)rp->element[1]->integer < n ? (size_t)rp->element[1]->integer : 0;
    for (size_t i = 0; i < n; i++) {
        long long rem = rp->element[2 + 3 * i]->integer;
        out->st[i].limit = b[i].limit;
        out->st[i].remaining = rem < 0 ? 0 : (int)rem;
        out->st[i].reset_after_ms = rp->element[3 + 3 * i]->integer;
        out->st[i].retry_after_ms = rp->element[4 + 3 * i]->integer;
    }
    return 1;
}

/* The script in Redis; 1 when it decided. */
static int take_redis(sc_ratelimit *rl, sc_redis *redis, const sc_rl_bucket *b, size_t n,
                      sc_rl_result *out)
{
    const char *argv[3 + 3 * SC_RL_MAX_BUCKETS];
    char nk[8], nums[2 * SC_RL_MAX_BUCKETS][16];
    int argc = 0, ok;
    redisReply *rp = NULL;
    sc_status st;
    snprintf(nk, sizeof(nk), "%zu", n);
    argv[argc++] = "EVALSHA";
    argv[argc++] = rl->sha;
    argv[argc++] = nk;
    for (size_t i = 0; i < n; i++)
        argv[argc++] = b[i].key;
    for (size_t i = 0; i < n; i++) {
        snprintf(nums[2 * i], sizeof(nums[0]), "%d", b[i].limit);
        snprintf(nums[2 * i + 1], sizeof(nums[0]), "%d", b[i].window_ms);
        argv[argc++] = nums[2 * i];
        argv[argc++] = nums[2 * i + 1];
    }
    st = sc_redis_command_argv_ex(redis, 0, SC_RL_REDIS_TIMEOUT_MS, argc, argv, NULL, &rp);
    if (st == SC_ERR && strncmp(sc_redis_errstr(redis), "NOSCRIPT", 8) == 0) {
        argv[0] = "EVAL"; /* first call on this Redis (or after SCRIPT FLUSH) */
        argv[1] = SCRIPT;
        st = sc_redis_command_argv_ex(redis, 0, SC_RL_REDIS_TIMEOUT_MS, argc, argv, NULL, &rp);
    }
    if (st != SC_OK)
        return 0;
    ok = parse_reply(rp, b, n, out);
    freeReplyObject(rp);
    return ok;
}

void sc_ratelimit_take(sc_ratelimit *rl, sc_redis *redis, const sc_rl_bucket *b, size_t n,
                       int64_t now_ms, sc_rl_result *out)
{
    memset(out, 0, sizeof(*out));
    out->allowed = 1;
    if (rl == NULL || n == 0 || n > SC_RL_MAX_BUCKETS)
        return;
    for (size_t i = 0; i < n; i++)
        if (b[i].key == NULL || b[i].limit <= 0 || b[i].window_ms <= 0)
            return;
    if (redis != NULL && now_ms >= __atomic_load_n(&rl->redis_off_until, __ATOMIC_RELAXED)) {
        if (take_redis(rl, redis, b, n, out)) {
            out->from_redis = 1;
            return;
        }
        __atomic_store_n(&rl->redis_off_until, now_ms + SC_RL_REDIS_BACKOFF_MS, __ATOMIC_RELAXED);
        memset(out, 0, sizeof(*out));
    }
    take_local(rl, b, n, now_ms, out);
}
