/*
 * bindcache.c - the router's last known binding of each channel, used only
 * to send a search to its clusters early, while the current bindings are
 * read from Redis (search.c). Nothing is ever answered from it: an answer is
 * kept only when the groups derived from the bindings read afterwards are
 * the ones the early request asked, so a stale entry costs a wasted cluster
 * query and never a wrong or late answer (202s and moves still take effect
 * on the next search).
 *
 * Direct-mapped by channel id, RT_BIND_CACHE_SLOTS entries, one mutex: a
 * colliding channel simply replaces the older entry. Memory is calloc'd
 * once; untouched slots cost no resident memory.
 * Not here: reading bindings (binding.c), deciding what to ask (search.c).
 */
#include "router.h"

#include <stdlib.h>
#include <string.h>

typedef struct slot {
    uint64_t channel; /* 0 = empty (channel ids are never 0) */
    int found;        /* 0: the channel had no binding */
    sc_binding b;     /* valid when found */
} slot;

struct rt_bind_cache {
    pthread_mutex_t mu; /* guards slots */
    slot *slots;        /* owned, RT_BIND_CACHE_SLOTS */
};

static size_t slot_of(uint64_t ch)
{
    uint64_t h = ch * 0x9E3779B97F4A7C15ULL;
    return (size_t)(h >> 32) % RT_BIND_CACHE_SLOTS;
}

rt_bind_cache *rt_bind_cache_create(void)
{
    rt_bind_cache *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->slots = calloc(RT_BIND_CACHE_SLOTS, sizeof(slot));
    if (c->slots == NULL) {
        free(c);
        return NULL;
    }
    pthread_mutex_init(&c->mu, NULL);
    return c;
}

void rt_bind_cache_free(rt_bind_cache *c)
{
    if (c == NULL)
        return;
    pthread_mutex_destroy(&c->mu);
    free(c->slots);
    free(c);
}

int rt_bind_cache_get(rt_bind_cache *c, const uint64_t *ch, size_t n, sc_binding *b, int *found)
{
    size_t i;
    pthread_mutex_lock(&c->mu);
    for (i = 0; i < n; i++) {
        const slot *s = &c->slots[slot_of(ch[i])];
        if (s->channel != ch[i])
            break;
        found[i] = s->found;
        if (s->found)
            b[i] = s->b;
    }
    pthread_mutex_unlock(&c->mu);
    return i == n;
}

void rt_bind_cache_put(rt_bind_cache *c, const uint64_t *ch, size_t n, const sc_binding *b,
                       const int *found)
{
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < n; i++) {
        slot *s = &c->slots[slot_of(ch[i])];
        s->channel = ch[i];
        s->found = found[i];
        if (found[i])
            s->b = b[i];
    }
    pthread_mutex_unlock(&c->mu);
}
