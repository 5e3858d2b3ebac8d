/*
 * perm.c - the router's permission cache: which channels a user may read,
 * from PostgreSQL (sc_db_readable_channels, the readability rule of
 * schemas/postgres/README.md), kept per (user, guild) - or per (user, DM
 * channel), or per user for the list of all their DMs - for perm_cache_ttl_ms so a burst of searches costs one query;
 * the guild of each channel is cached the same way (a channel search then
 * needs no permission query at all while both entries are fresh).
 *
 * A stale entry can grant or deny for at most the TTL after a permission
 * change; that is the documented trade-off (TTL 0 disables the cache).
 * Not here: deciding the search scope (search.c).
 */
#include "router.h"

#include <stdlib.h>
#include <string.h>

#define PERM_BUCKETS 1024
#define PERM_MAX_ENTRIES 20000

/* One cached readable set. */
typedef struct perm_entry {
    uint64_t user;           /* user id */
    uint64_t scope;          /* guild id, DM channel id, or (kind 2) any channel id */
    int dm;                  /* 0: scope is a guild; 1: a DM channel; 2: channel ->
                                guild entry (user 0, channels[0] = guild id, 0 = DM);
                                3: every DM of the user (scope 0) */
    int64_t expires_ms;      /* sc_now_ms clock */
    uint64_t *channels;      /* owned, ascending */
    size_t n;                /* entries in channels */
    struct perm_entry *next; /* bucket chain */
} perm_entry;

struct rt_perm_cache {
    int ttl_ms;                        /* 0 = no caching */
    pthread_mutex_t mu;                /* guards everything below */
    perm_entry *buckets[PERM_BUCKETS]; /* owned chains */
    size_t count;                      /* entries cached */
};

rt_perm_cache *rt_perm_cache_create(int ttl_ms)
{
    rt_perm_cache *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->ttl_ms = ttl_ms;
    pthread_mutex_init(&c->mu, NULL);
    return c;
}

static void entry_free(perm_entry *e)
{
    free(e->channels);
    free(e);
}

void rt_perm_cache_free(rt_perm_cache *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < PERM_BUCKETS; i++) {
        perm_entry *e = c->buckets[i];
        while (e != NULL) {
            perm_entry *nx = e->next;
            entry_free(e);
            e = nx;
        }
    }
    pthread_mutex_destroy(&c->mu);
    free(c);
}

static size_t bucket_of(uint64_t user, uint64_t scope, int dm)
{
    uint64_t h = user * 0x9E3779B97F4A7C15ULL ^ (scope + (uint64_t)dm) * 0xC2B2AE3D27D4EB4FULL;
    h ^= h >> 29;
    return (size_t)(h % PERM_BUCKETS);
}

/* Drop expired entries; if still over the cap, drop everything (a burst of
 * distinct users; the cache refills). Caller holds mu. */
static void evict(rt_perm_cache *c, int64_t now)
{
    for (size_t i = 0; i < PERM_BUCKETS; i++) {
        perm_entry **pp = &c->buckets[i];
        while (*pp != NULL) {
            perm_entry *e = *pp;
            if (e->expires_ms <= now || c->count >= PERM_MAX_ENTRIES) {
                *pp = e->next;
                entry_free(e);
                c->count--;
            } else {
                pp = &e->next;
            }
        }
    }
}

/* Copy of a cached set into *out; 1 when found and fresh. */
static int lookup(rt_perm_cache *c, uint64_t user, uint64_t scope, int dm, uint64_t **out,
                  size_t *n, int *oom)
{
    int found = 0;
    int64_t now = sc_now_ms();
    *oom = 0;
    if (c->ttl_ms <= 0)
        return 0;
    pthread_mutex_lock(&c->mu);
    for (perm_entry *e = c->buckets[bucket_of(user, scope, dm)]; e != NULL; e = e->next) {
        if (e->user == user && e->scope == scope && e->dm == dm && e->expires_ms > now) {
            *n = e->n;
            *out = NULL;
            if (e->n > 0) {
                *out = malloc(e->n * sizeof(uint64_t));
                if (*out == NULL) {
                    *oom = 1;
                    break;
                }
                memcpy(*out, e->channels, e->n * sizeof(uint64_t));
            }
            found = 1;
            break;
        }
    }
    pthread_mutex_unlock(&c->mu);
    return found;
}

static void store(rt_perm_cache *c, uint64_t user, uint64_t scope, int dm, const uint64_t *ch,
                  size_t n)
{
    perm_entry *e;
    size_t b;
    int64_t now = sc_now_ms();
    if (c->ttl_ms <= 0)
        return;
    e = calloc(1, sizeof(*e));
    if (e == NULL)
        return;
    if (n > 0) {
        e->channels = malloc(n * sizeof(uint64_t));
        if (e->channels == NULL) {
            free(e);
            return;
        }
        memcpy(e->channels, ch, n * sizeof(uint64_t));
    }
    e->n = n;
    e->user = user;
    e->scope = scope;
    e->dm = dm;
    e->expires_ms = now + c->ttl_ms;
    b = bucket_of(user, scope, dm);
    pthread_mutex_lock(&c->mu);
    if (c->count >= PERM_MAX_ENTRIES)
        evict(c, now);
    /* replace an older entry for the same key */
    for (perm_entry **pp = &c->buckets[b]; *pp != NULL; pp = &(*pp)->next) {
        perm_entry *o = *pp;
        if (o->user == user && o->scope == scope && o->dm == dm) {
            *pp = o->next;
            entry_free(o);
            c->count--;
            break;
        }
    }
    e->next = c->buckets[b];
    c->buckets[b] = e;
    c->count++;
    pthread_mutex_unlock(&c->mu);
}

sc_status rt_perm_guild(rt_perm_cache *c, sc_db *db, uint64_t user, uint64_t guild_id,
                        uint64_t **out, size_t *n)
{
    int oom;
    sc_status st;
    *out = NULL;
    *n = 0;
    if (guild_id == 0)
        return SC_EINVAL;
    if (lookup(c, user, guild_id, 0, out, n, &oom))
        return SC_OK;
    if (oom)
        return SC_ENOMEM;
    st = sc_db_readable_channels(db, user, guild_id, NULL, 0, out, n);
    if (st != SC_OK)
        return st;
    store(c, user, guild_id, 0, *out, *n);
    return SC_OK;
}

sc_status rt_perm_dms(rt_perm_cache *c, sc_db *db, uint64_t user, uint64_t **out, size_t *n)
{
    int oom;
    sc_status st;
    *out = NULL;
    *n = 0;
    if (lookup(c, user, 0, 3, out, n, &oom))
        return SC_OK;
    if (oom)
        return SC_ENOMEM;
    st = sc_db_dm_channels(db, user, out, n);
    if (st != SC_OK)
        return st;
    store(c, user, 0, 3, *out, *n);
    return SC_OK;
}

static int contains(const uint64_t *v, size_t n, uint64_t x)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] == x)
            return 1;
        if (v[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

sc_status rt_perm_channel(rt_perm_cache *c, sc_db *db, uint64_t user, uint64_t channel_id, int *ok,
                          uint64_t *guild_id)
{
    uint64_t *v = NULL;
    size_t n = 0;
    int oom;
    sc_status st;
    *ok = 0;
    *guild_id = 0;
    /* A channel never changes guild, so its guild is cached like the
     * readable sets (one PostgreSQL round trip less per search). */
    if (lookup(c, 0, channel_id, 2, &v, &n, &oom)) {
        *guild_id = n == 1 ? v[0] : 0;
        free(v);
        v = NULL;
        n = 0;
    } else if (oom) {
        return SC_ENOMEM;
    } else {
        st = sc_db_channel_guild(db, channel_id, guild_id);
        if (st == SC_ENOTFOUND)
            return SC_OK; /* unknown channel: unreadable (not cached: it may appear) */
        if (st != SC_OK)
            return st;
        store(c, 0, channel_id, 2, guild_id, 1);
    }
    if (*guild_id != 0) {
        st = rt_perm_guild(c, db, user, *guild_id, &v, &n);
        if (st != SC_OK)
            return st;
        *ok = contains(v, n, channel_id);
        free(v);
        return SC_OK;
    }
    /* a DM: cache the one-channel answer */
    if (lookup(c, user, channel_id, 1, &v, &n, &oom)) {
        *ok = n == 1 && v[0] == channel_id;
        free(v);
        return SC_OK;
    }
    if (oom)
        return SC_ENOMEM;
    st = sc_db_readable_channels(db, user, 0, &channel_id, 1, &v, &n);
    if (st != SC_OK)
        return st;
    store(c, user, channel_id, 1, v, n);
    *ok = n == 1 && v[0] == channel_id;
    free(v);
    return SC_OK;
}
