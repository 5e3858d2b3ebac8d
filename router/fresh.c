/*
 * fresh.c - refresh on read: before a search asks a (cluster, index)
 * whose dirty mark (libscour/dirty.h) says writes were accepted since its
 * last refresh, refresh that index, then turn the mark clean with a
 * compare-and-set so a bulk accepted meanwhile keeps its own mark.
 *
 * Coalescing: one table per router (shared by the workers, one mutex and
 * one condition variable). At most one refresh per index is in flight in
 * this router; a search that read the same mark value as the one the
 * refresh in flight was started for waits for it instead of sending its
 * own (that refresh started after the mark was written, so it covers the
 * writes the mark stands for), and a search whose mark value was already
 * refreshed sends nothing. A search that read a newer mark waits for the
 * refresh in flight to end, then starts the next one.
 *
 * Bounds: every wait and every refresh ends by refresh_timeout_ms (and the
 * search's deadline). A refresh that fails or times out does not fail the
 * search: it runs anyway and may miss what was written since the index was
 * last refreshed (counted in scour_router_refreshes_total{outcome="failed"}).
 * A mark older than refresh_mark_ttl_s is ignored (outcome "stale").
 *
 * Early requests (search.c): an early answer may be kept only when every
 * group is clean and its mark value is the one this router read the last
 * time; a changed value means a refresh may have ended between the early
 * request and the bindings read.
 *
 * Not here: the mark format (dirty.c), the indexer's side (ingest_worker.c).
 */
#include "router.h"

#include "dirty.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FRESH_SLOTS 1024 /* (cluster, index) pairs one router tracks */

typedef struct fentry {
    char cluster[SC_CLUSTER_NAME_MAX]; /* "" = empty slot */
    char index[128];
    char seen[SC_DIRTY_VAL_MAX];   /* last mark value read ("" = no key) */
    char flight[SC_DIRTY_VAL_MAX]; /* the mark the refresh in flight covers */
    char done[SC_DIRTY_VAL_MAX];   /* the mark whose refresh last succeeded */
    int in_flight;                 /* a worker is refreshing this index */
    uint64_t ends;                 /* refreshes ended (ok or not): wake-up count */
} fentry;

struct rt_fresh {
    pthread_mutex_t mu;  /* guards slots */
    pthread_cond_t cond; /* broadcast when a refresh ends (CLOCK_MONOTONIC) */
    fentry *slots;       /* owned, FRESH_SLOTS */
    int full_logged;     /* the table filled up once (logged) */
};

rt_fresh *rt_fresh_create(void)
{
    rt_fresh *f = calloc(1, sizeof(*f));
    pthread_condattr_t ca;
    if (f == NULL || (f->slots = calloc(FRESH_SLOTS, sizeof(fentry))) == NULL) {
        free(f);
        return NULL;
    }
    pthread_mutex_init(&f->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&f->cond, &ca);
    pthread_condattr_destroy(&ca);
    return f;
}

void rt_fresh_free(rt_fresh *f)
{
    if (f == NULL)
        return;
    pthread_cond_destroy(&f->cond);
    pthread_mutex_destroy(&f->mu);
    free(f->slots);
    free(f);
}

/* The entry of (cluster, index), added when absent; NULL when the table is
 * full (that index then gets no coalescing: each search refreshes alone).
 * Called with mu held. */
static fentry *entry_of(rt_fresh *f, const char *cluster, const char *index)
{
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = cluster; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    h = (h ^ '/') * 1099511628211ULL;
    for (const char *p = index; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    for (size_t i = 0; i < FRESH_SLOTS; i++) {
        fentry *e = &f->slots[(h + i) % FRESH_SLOTS];
        if (e->cluster[0] == '\0') {
            snprintf(e->cluster, sizeof(e->cluster), "%s", cluster);
            snprintf(e->index, sizeof(e->index), "%s", index);
            return e;
        }
        if (strcmp(e->cluster, cluster) == 0 && strcmp(e->index, index) == 0)
            return e;
    }
    if (!f->full_logged) {
        f->full_logged = 1;
        log_warn("router: refresh table full (%d indices): refreshes no longer coalesced",
                 FRESH_SLOTS);
    }
    return NULL;
}

/* Wait on the condition until *ends moves past gen or deadline (sc_now_ms
 * clock) passes. 1 when it moved. Called with mu held. */
static int wait_end(rt_fresh *f, const uint64_t *ends, uint64_t gen, int64_t deadline_ms)
{
    while (*ends == gen) {
        int64_t left = deadline_ms - sc_now_ms();
        struct timespec ts;
        if (left <= 0)
            return 0;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += (time_t)(left / 1000);
        ts.tv_nsec += (long)(left % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        if (pthread_cond_timedwait(&f->cond, &f->mu, &ts) == ETIMEDOUT && *ends == gen)
            return 0;
    }
    return 1;
}

/* POST /<index>/_refresh on the group's cluster, then the mark's
 * compare-and-set to clean. 1 when the refresh succeeded. */
static int do_refresh(router *r, rt_thread *t, const rt_group *g, const char *val, int *cleaned)
{
    es_client *es;
    char key[SC_DIRTY_KEY_MAX], ttl[24];
    const char *argv[6];
    redisReply *rep = NULL;
    int64_t t0 = sc_now_us();
    sc_status st = sc_clients_get(t->clients, g->cluster, &es);
    *cleaned = 0;
    if (st == SC_OK && (st = es_refresh(es, g->index)) != SC_OK)
        log_warn("router: refresh of %s/%s failed, searching without it: %s", g->cluster, g->index,
                 es_errstr(es));
    else if (st != SC_OK)
        log_warn("router: refresh of %s/%s: %s", g->cluster, g->index,
                 sc_clients_errstr(t->clients));
    sc_metric_observe(r->m_refresh_lat, g->cluster, (double)(sc_now_us() - t0) / 1e6);
    if (st != SC_OK)
        return 0;
    sc_dirty_key(r->cfg->namespace, g->cluster, g->index, key, sizeof(key));
    snprintf(ttl, sizeof(ttl), "%d", r->cfg->refresh_mark_ttl_s);
    argv[0] = "EVAL";
    argv[1] = SC_DIRTY_CLEAN_LUA;
    argv[2] = "1";
    argv[3] = key;
    argv[4] = val;
    argv[5] = ttl;
    if (sc_redis_command_argv_ex(t->redis, SC_REDIS_IDEMPOTENT, 0, 6, argv, NULL, &rep) == SC_OK) {
        *cleaned = rep->type == REDIS_REPLY_INTEGER && rep->integer == 1;
        freeReplyObject(rep);
    } else {
        /* the mark stays dirty: the next search refreshes again */
        log_warn("router: clearing the mark of %s/%s: %s", g->cluster, g->index,
                 sc_redis_errstr(t->redis));
    }
    return 1;
}

/* Make group g fresh for mark value val (dirty). Returns the outcome label. */
static const char *refresh_group(router *r, rt_thread *t, const rt_group *g, const char *val,
                                 int64_t deadline_ms)
{
    rt_fresh *f = r->fresh;
    fentry *e;
    int ok, cleaned;
    pthread_mutex_lock(&f->mu);
    e = entry_of(f, g->cluster, g->index);
    while (e != NULL) {
        uint64_t gen = e->ends;
        if (strcmp(e->done, val) == 0) {
            pthread_mutex_unlock(&f->mu);
            return "covered";
        }
        if (!e->in_flight)
            break;
        if (strcmp(e->flight, val) == 0) {
            /* the refresh in flight started after our mark: wait for it */
            ok = wait_end(f, &e->ends, gen, deadline_ms) && strcmp(e->done, val) == 0;
            pthread_mutex_unlock(&f->mu);
            return ok ? "joined" : "failed";
        }
        /* one for an older mark: let it end, then look again */
        if (!wait_end(f, &e->ends, gen, deadline_ms)) {
            pthread_mutex_unlock(&f->mu);
            return "failed";
        }
    }
    if (e != NULL) {
        e->in_flight = 1;
        snprintf(e->flight, sizeof(e->flight), "%s", val);
    }
    pthread_mutex_unlock(&f->mu);
    ok = do_refresh(r, t, g, val, &cleaned);
    pthread_mutex_lock(&f->mu);
    if (e != NULL) {
        e->in_flight = 0;
        e->ends++;
        if (ok)
            snprintf(e->done, sizeof(e->done), "%s", val);
        if (cleaned) /* what the key holds now: our mark's clean twin */
            snprintf(e->seen, sizeof(e->seen), "c%s", val + 1);
        pthread_cond_broadcast(&f->cond);
    }
    pthread_mutex_unlock(&f->mu);
    return ok ? "refreshed" : "failed";
}

int rt_fresh_prepare(router *r, rt_thread *t, const rt_group *gs, size_t ng, char *const *vals,
                     int64_t deadline_ms)
{
    int64_t now = sc_wall_ms();
    int64_t until = sc_now_ms() + r->cfg->refresh_timeout_ms;
    int keep = 1;
    if (until > deadline_ms)
        until = deadline_ms;
    /* remember what was read; an early answer needs every value unchanged */
    pthread_mutex_lock(&r->fresh->mu);
    for (size_t i = 0; i < ng; i++) {
        fentry *e = entry_of(r->fresh, gs[i].cluster, gs[i].index);
        const char *v = vals[i] != NULL ? vals[i] : "";
        if (e == NULL || strcmp(e->seen, v) != 0)
            keep = 0;
        if (e != NULL && strlen(v) < sizeof(e->seen))
            snprintf(e->seen, sizeof(e->seen), "%s", v);
    }
    pthread_mutex_unlock(&r->fresh->mu);
    for (size_t i = 0; i < ng; i++) {
        switch (sc_dirty_parse(vals[i], now, r->cfg->refresh_mark_ttl_s)) {
        case SC_DIRTY_CLEAN:
            break;
        case SC_DIRTY_STALE:
            sc_metric_add(r->m_refresh, "stale", 1);
            break;
        case SC_DIRTY_DIRTY:
            keep = 0;
            if (strlen(vals[i]) >= SC_DIRTY_VAL_MAX) {
                sc_metric_add(r->m_refresh, "failed", 1); /* not ours: cannot be matched */
                break;
            }
            sc_metric_add(r->m_refresh, refresh_group(r, t, &gs[i], vals[i], until), 1);
            break;
        }
    }
    return keep;
}
