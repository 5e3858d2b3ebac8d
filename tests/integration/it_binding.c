/*
 * it_binding.c - integration tests of libscour/binding.c against the real
 * Redis, PostgreSQL and etcd of the stack: assignment to the least-loaded
 * live active cluster, the cache path, racing binders, draining clusters and
 * the balance of a burst of new channels.
 *
 * Safe on a shared stack: every test uses a unique key namespace and random
 * channel ids, and deletes its binding rows, cache keys and registrations.
 * Cluster URLs in static views are never contacted (binding does not talk to
 * the clusters).
 */
#include "testlib.h"

#include "binding.h"
#include "cluster.h"
#include "db.h"
#include "redis.h"

#include <inttypes.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Everything one thread needs to resolve bindings. */
typedef struct fixture {
    char ns[96];       /* unique key namespace */
    sc_redis *redis;   /* owned */
    sc_db *db;         /* owned */
    sc_binder *binder; /* owned */
} fixture;

static sc_redis *open_redis(void)
{
    char err[256] = "";
    sc_redis_opts o;
    sc_redis *r;
    memset(&o, 0, sizeof o);
    o.host = t_env("SC_REDIS_HOST");
    o.port = atoi(t_env("SC_REDIS_PORT"));
    r = sc_redis_create(&o, err, sizeof err);
    if (r == NULL)
        fail_msg("sc_redis_create: %s", err);
    return r;
}

static void fixture_open(fixture *f, const char *ns, sc_cluster_view *view)
{
    char err[256] = "";
    sc_binder_opts o;
    snprintf(f->ns, sizeof f->ns, "%s", ns);
    f->redis = open_redis();
    f->db = sc_db_create(t_env("SC_PG_DSN"), err, sizeof err);
    if (f->db == NULL)
        fail_msg("sc_db_create: %s", err);
    memset(&o, 0, sizeof o);
    o.ns = f->ns;
    o.index_name = "messages-v1";
    o.cache_ttl_s = 600;
    o.redis = f->redis;
    o.db = f->db;
    o.view = view;
    f->binder = sc_binder_create(&o, err, sizeof err);
    if (f->binder == NULL)
        fail_msg("sc_binder_create: %s", err);
}

static void fixture_close(fixture *f)
{
    sc_binder_free(f->binder);
    sc_db_free(f->db);
    sc_redis_free(f->redis);
    memset(f, 0, sizeof *f);
}

static sc_cluster_view *static_view(const char *list)
{
    char err[256] = "";
    sc_cluster_view_opts o;
    sc_cluster_view *v;
    memset(&o, 0, sizeof o);
    o.ns = "unused";
    o.static_list = list;
    o.etcd_timeout_ms = 2000;
    v = sc_cluster_view_create(&o, err, sizeof err);
    if (v == NULL)
        fail_msg("sc_cluster_view_create: %s", err);
    return v;
}

/* Delete the binding rows and cache keys of channels, and the load key. */
static void cleanup(fixture *f, const uint64_t *ch, size_t n)
{
    PGconn *c = PQconnectdb(t_env("SC_PG_DSN"));
    char sql[256], key[256];
    size_t i;
    const char *keys[1];
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    for (i = 0; i < n; i++) {
        snprintf(sql, sizeof sql, "DELETE FROM channel_bindings WHERE channel_id = %" PRIu64,
                 ch[i]);
        PQclear(PQexec(c, sql));
        snprintf(key, sizeof key, "%s:binding:%" PRIu64, f->ns, ch[i]);
        keys[0] = key;
        assert_int_equal(sc_redis_del(f->redis, keys, 1, NULL), SC_OK);
    }
    snprintf(key, sizeof key, "%s:load", f->ns);
    keys[0] = key;
    assert_int_equal(sc_redis_del(f->redis, keys, 1, NULL), SC_OK);
    PQfinish(c);
}

static double load_of(fixture *f, const char *cluster)
{
    char key[256];
    sc_redis_zentry *z = NULL;
    size_t n = 0, i;
    double s = -1;
    snprintf(key, sizeof key, "%s:load", f->ns);
    assert_int_equal(sc_redis_zrange_withscores(f->redis, key, 0, -1, &z, &n), SC_OK);
    for (i = 0; i < n; i++)
        if (strcmp(z[i].member, cluster) == 0)
            s = z[i].score;
    sc_redis_zentries_free(z, n);
    return s;
}

/* A new channel goes to the least-loaded cluster, the binding is stored in
 * PG and cached, and the cluster's load rises by SC_CHANNEL_WEIGHT. */
static void test_assign_least_loaded(void **state)
{
    char ns[64];
    fixture f;
    sc_cluster_view *v =
        static_view("ca=http://127.0.0.1:1,cb=http://127.0.0.1:2,cc=http://127.0.0.1:3");
    uint64_t ch[2] = {t_rand_id(), t_rand_id()};
    sc_binding out[2], row;
    int found[2] = {0, 0};
    char name[SC_CLUSTER_NAME_MAX];
    SC_UNUSED(state);
    fixture_open(&f, t_unique(ns, sizeof ns, "itb"), v);
    assert_int_equal(sc_binder_set_load(f.binder, "ca", 5000), SC_OK);
    assert_int_equal(sc_binder_set_load(f.binder, "cb", 100), SC_OK);
    assert_int_equal(sc_binder_set_load(f.binder, "cc", 3000), SC_OK);

    assert_int_equal(sc_binder_pick_cluster(f.binder, NULL, name), SC_OK);
    assert_string_equal(name, "cb");
    assert_int_equal(sc_binder_pick_cluster(f.binder, "cb", name), SC_OK);
    assert_string_equal(name, "cc");

    /* With assign = 0 nothing is created. */
    assert_int_equal(sc_binder_resolve(f.binder, ch, 1, 0, out, found), SC_OK);
    assert_int_equal(found[0], 0);
    assert_int_equal(sc_db_binding_get(f.db, ch[0], &row), SC_ENOTFOUND);

    /* Two new channels (and a duplicate of the first) in one call: cb, then
     * cb again (1100 < 3000), and the duplicate agrees. */
    {
        uint64_t in[3] = {ch[0], ch[1], ch[0]};
        sc_binding o3[3];
        int f3[3];
        assert_int_equal(sc_binder_resolve(f.binder, in, 3, 1, o3, f3), SC_OK);
        assert_true(f3[0] && f3[1] && f3[2]);
        assert_string_equal(o3[0].cluster, "cb");
        assert_string_equal(o3[1].cluster, "cb");
        assert_string_equal(o3[2].cluster, "cb");
        assert_string_equal(o3[0].index, "messages-v1");
        assert_int_equal(o3[0].state, SC_BINDING_ACTIVE);
        assert_int_equal(o3[0].channel_id, ch[0]);
        assert_int_equal(o3[2].channel_id, ch[0]);
    }
    assert_true(load_of(&f, "cb") == 100 + 2 * SC_CHANNEL_WEIGHT);
    assert_true(load_of(&f, "ca") == 5000);
    assert_int_equal(sc_db_binding_get(f.db, ch[0], &row), SC_OK);
    assert_string_equal(row.cluster, "cb");

    /* Resolving again changes nothing (cache hit) and adds no load. */
    assert_int_equal(sc_binder_resolve(f.binder, ch, 2, 1, out, found), SC_OK);
    assert_true(found[0] && found[1]);
    assert_string_equal(out[0].cluster, "cb");
    assert_true(load_of(&f, "cb") == 100 + 2 * SC_CHANNEL_WEIGHT);

    cleanup(&f, ch, 2);
    fixture_close(&f);
    sc_cluster_view_free(v);
}

/* The cache answers before PG: a planted cache entry wins, a corrupt one is
 * ignored, and after invalidation PG is read (and re-cached). */
static void test_cache_path(void **state)
{
    char ns[64], key[256], *val[1] = {NULL};
    const char *keys[1];
    fixture f;
    sc_cluster_view *v = static_view("ca=http://127.0.0.1:1");
    uint64_t ch[1] = {t_rand_id()};
    sc_binding out[1], upd;
    int found[1];
    SC_UNUSED(state);
    fixture_open(&f, t_unique(ns, sizeof ns, "itb"), v);
    snprintf(key, sizeof key, "%s:binding:%" PRIu64, f.ns, ch[0]);
    keys[0] = key;

    /* planted entry for a channel PG does not know: served from the cache */
    assert_int_equal(sc_redis_set(f.redis, key, "b2|7|moving|zz|idx-z|yy|idx-y|12345", 60), SC_OK);
    assert_int_equal(sc_binder_resolve(f.binder, ch, 1, 0, out, found), SC_OK);
    assert_int_equal(found[0], 1);
    assert_string_equal(out[0].cluster, "zz");
    assert_string_equal(out[0].index, "idx-z");
    assert_int_equal(out[0].state, SC_BINDING_MOVING);
    assert_string_equal(out[0].prev_cluster, "yy");
    assert_string_equal(out[0].prev_index, "idx-y");
    assert_int_equal(out[0].generation, 7);
    assert_true(out[0].history_from == 12345);

    /* an older "b1" value cannot say whether history is missing: a miss */
    assert_int_equal(sc_redis_set(f.redis, key, "b1|7|moving|zz|idx-z|yy|idx-y", 60), SC_OK);
    assert_int_equal(sc_binder_resolve(f.binder, ch, 1, 0, out, found), SC_OK);
    assert_int_equal(found[0], 0);

    /* a corrupt entry is a miss: PG has nothing, assign = 0 -> not found */
    assert_int_equal(sc_redis_set(f.redis, key, "garbage|x", 60), SC_OK);
    assert_int_equal(sc_binder_resolve(f.binder, ch, 1, 0, out, found), SC_OK);
    assert_int_equal(found[0], 0);

    /* assign: PG row created and the cache rewritten in our format */
    assert_int_equal(sc_binder_resolve(f.binder, ch, 1, 1, out, found), SC_OK);
    assert_int_equal(found[0], 1);
    assert_string_equal(out[0].cluster, "ca");
    assert_int_equal(sc_redis_mget(f.redis, keys, 1, val), SC_OK);
    assert_non_null(val[0]);
    assert_string_equal(val[0], "b2|1|active|ca|messages-v1|||0");
    free(val[0]);

    /* history_from: CAS in PG, cache follows */
    assert_int_equal(sc_binder_set_history(f.binder, &out[0], 777, &upd), SC_OK);
    assert_int_equal(upd.generation, 2);
    assert_true(upd.history_from == 777);
    assert_int_equal(sc_binder_resolve(f.binder, ch, 1, 0, out, found), SC_OK);
    assert_true(out[0].history_from == 777);
    assert_int_equal(sc_binder_set_history(f.binder, &upd, 0, &upd), SC_OK);
    assert_int_equal(sc_binder_resolve(f.binder, ch, 1, 0, out, found), SC_OK);
    assert_true(out[0].history_from == 0);
    assert_int_equal(out[0].generation, 3);

    /* update: CAS in PG, cache follows at once */
    assert_int_equal(
        sc_binder_update(f.binder, &out[0], "cb", "messages-v2", SC_BINDING_MOVING, &upd), SC_OK);
    assert_int_equal(upd.generation, 4);
    assert_string_equal(upd.prev_cluster, "ca");
    assert_int_equal(sc_binder_resolve(f.binder, ch, 1, 0, out, found), SC_OK);
    assert_string_equal(out[0].cluster, "cb");
    assert_int_equal(out[0].state, SC_BINDING_MOVING);
    assert_string_equal(out[0].prev_cluster, "ca");
    assert_string_equal(out[0].prev_index, "messages-v1");
    /* a stale generation is refused and drops the cache entry */
    {
        sc_binding stale = upd;
        stale.generation = 1;
        assert_int_equal(
            sc_binder_update(f.binder, &stale, "ca", "messages-v1", SC_BINDING_ACTIVE, NULL),
            SC_ECONFLICT);
        assert_int_equal(sc_redis_mget(f.redis, keys, 1, val), SC_OK);
        assert_null(val[0]);
    }
    /* after invalidation PG is read again */
    assert_int_equal(sc_binder_invalidate(f.binder, ch[0]), SC_OK);
    assert_int_equal(sc_binder_resolve(f.binder, ch, 1, 0, out, found), SC_OK);
    assert_int_equal(found[0], 1);
    assert_string_equal(out[0].cluster, "cb");
    assert_int_equal(out[0].generation, 4);

    cleanup(&f, ch, 1);
    fixture_close(&f);
    sc_cluster_view_free(v);
}

/* ---- racing binders ---- */

#define RACE_CHANNELS 30

typedef struct racer {
    fixture f;                     /* own Redis/PG/binder */
    const uint64_t *ch;            /* ref: channels to resolve */
    pthread_barrier_t *bar;        /* ref: start line */
    sc_binding out[RACE_CHANNELS]; /* result */
    int found[RACE_CHANNELS];      /* result */
    sc_status st;                  /* result */
} racer;

static void *race_main(void *arg)
{
    racer *r = arg;
    int i;
    r->st = SC_OK;
    for (i = 0; i < RACE_CHANNELS && r->st == SC_OK; i++) {
        pthread_barrier_wait(r->bar);
        r->st = sc_binder_resolve(r->f.binder, &r->ch[i], 1, 1, &r->out[i], &r->found[i]);
    }
    for (; i < RACE_CHANNELS; i++)
        pthread_barrier_wait(r->bar);
    return NULL;
}

/* Two threads bind the same new channels at the same moment: each channel
 * is bound once and both threads see the same winner. Loads are equal so the
 * racers pick at random and often disagree before the insert. */
static void test_race(void **state)
{
    char ns[64];
    sc_cluster_view *v =
        static_view("ra=http://127.0.0.1:1,rb=http://127.0.0.1:2,rc=http://127.0.0.1:3");
    uint64_t ch[RACE_CHANNELS];
    racer r[2];
    pthread_t th[2];
    pthread_barrier_t bar;
    PGconn *c;
    int i;
    SC_UNUSED(state);
    t_unique(ns, sizeof ns, "itb");
    for (i = 0; i < RACE_CHANNELS; i++)
        ch[i] = t_rand_id();
    pthread_barrier_init(&bar, NULL, 2);
    memset(r, 0, sizeof r);
    for (i = 0; i < 2; i++) {
        fixture_open(&r[i].f, ns, v);
        r[i].ch = ch;
        r[i].bar = &bar;
    }
    for (i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, race_main, &r[i]), 0);
    for (i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(r[0].st, SC_OK);
    assert_int_equal(r[1].st, SC_OK);
    c = PQconnectdb(t_env("SC_PG_DSN"));
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    for (i = 0; i < RACE_CHANNELS; i++) {
        char sql[256];
        PGresult *res;
        assert_true(r[0].found[i] && r[1].found[i]);
        assert_string_equal(r[0].out[i].cluster, r[1].out[i].cluster);
        snprintf(sql, sizeof sql,
                 "SELECT count(*), min(cluster) FROM channel_bindings WHERE channel_id = %" PRIu64,
                 ch[i]);
        res = PQexec(c, sql);
        assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
        assert_string_equal(PQgetvalue(res, 0, 0), "1");
        assert_string_equal(PQgetvalue(res, 0, 1), r[0].out[i].cluster);
        PQclear(res);
    }
    PQfinish(c);
    cleanup(&r[0].f, ch, RACE_CHANNELS);
    fixture_close(&r[0].f);
    fixture_close(&r[1].f);
    pthread_barrier_destroy(&bar);
    sc_cluster_view_free(v);
}

/* ---- draining clusters (etcd registrations) ---- */

typedef struct view_wait {
    sc_cluster_view *v; /* ref */
    const char *name;   /* cluster that must be live */
    int draining;       /* expected state */
} view_wait;

static int view_has(void *arg)
{
    view_wait *w = arg;
    sc_cluster_info ci;
    if (sc_cluster_view_get(w->v, w->name, &ci) != SC_OK)
        return 0;
    return ci.live && ci.state == (w->draining ? SC_CLUSTER_DRAINING : SC_CLUSTER_ACTIVE);
}

static void reg(const char *ns, const char *name, sc_cluster_state st)
{
    char err[256] = "";
    sc_cluster_info ci;
    memset(&ci, 0, sizeof ci);
    snprintf(ci.name, sizeof ci.name, "%s", name);
    snprintf(ci.url, sizeof ci.url, "http://127.0.0.1:9");
    ci.capacity = 1000000;
    ci.state = st;
    if (sc_cluster_register(t_env("SC_ETCD_URL"), ns, &ci, 0, err, sizeof err) != SC_OK)
        fail_msg("register %s: %s", name, err);
}

/* A draining cluster gets no new channel even when it is the least loaded;
 * when it is the only live one, assignment fails with SC_ENOTFOUND. Channels
 * already bound there keep resolving to it. */
static void test_draining(void **state)
{
    char ns[64], err[256] = "", name[SC_CLUSTER_NAME_MAX];
    sc_cluster_view_opts vo;
    sc_cluster_view *v;
    fixture f;
    uint64_t ch[12];
    sc_binding out[12];
    int found[12], i;
    view_wait w;
    SC_UNUSED(state);
    t_unique(ns, sizeof ns, "itbd");
    reg(ns, "dact", SC_CLUSTER_ACTIVE);
    reg(ns, "ddrain", SC_CLUSTER_DRAINING);
    memset(&vo, 0, sizeof vo);
    vo.etcd_url = t_env("SC_ETCD_URL");
    vo.ns = ns;
    vo.etcd_timeout_ms = 2000;
    v = sc_cluster_view_create(&vo, err, sizeof err);
    if (v == NULL)
        fail_msg("view: %s", err);
    w.v = v;
    w.name = "ddrain";
    w.draining = 1;
    assert_true(t_wait_until(view_has, &w, 5000));
    w.name = "dact";
    w.draining = 0;
    assert_true(t_wait_until(view_has, &w, 5000));
    fixture_open(&f, ns, v);
    assert_int_equal(sc_binder_set_load(f.binder, "dact", 1e9), SC_OK);
    assert_int_equal(sc_binder_set_load(f.binder, "ddrain", 0), SC_OK);
    for (i = 0; i < 12; i++)
        ch[i] = t_rand_id();
    assert_int_equal(sc_binder_resolve(f.binder, ch, 10, 1, out, found), SC_OK);
    for (i = 0; i < 10; i++) {
        assert_int_equal(found[i], 1);
        assert_string_equal(out[i].cluster, "dact");
    }
    assert_int_equal(sc_binder_pick_cluster(f.binder, "dact", name), SC_ENOTFOUND);

    /* a channel bound to the draining cluster before it drained stays there */
    assert_int_equal(sc_db_binding_insert_if_absent(f.db, ch[10], "ddrain", "messages-v1",
                                                    SC_BINDING_ACTIVE, &out[10]),
                     SC_OK);
    assert_int_equal(sc_binder_resolve(f.binder, &ch[10], 1, 1, &out[10], &found[10]), SC_OK);
    assert_string_equal(out[10].cluster, "ddrain");

    /* only the draining one left: nothing to assign to */
    assert_int_equal(sc_cluster_unregister(t_env("SC_ETCD_URL"), ns, "dact", err, sizeof err),
                     SC_OK);
    {
        sc_cluster_info ci;
        int64_t deadline = sc_now_ms() + 5000;
        while (sc_now_ms() < deadline && sc_cluster_view_get(v, "dact", &ci) == SC_OK && ci.live)
            (void)sc_cluster_view_wait(v, sc_cluster_view_generation(v), 200);
    }
    assert_int_equal(sc_binder_resolve(f.binder, &ch[11], 1, 1, &out[11], &found[11]),
                     SC_ENOTFOUND);
    assert_int_equal(sc_cluster_unregister(t_env("SC_ETCD_URL"), ns, "ddrain", err, sizeof err),
                     SC_OK);
    cleanup(&f, ch, 12);
    fixture_close(&f);
    sc_cluster_view_free(v);
}

/* 1000 new channels over the live clusters land within +-10% of even. Half
 * are resolved in one call, half one by one (as separate batches would). */
static void test_balance(void **state)
{
    enum { N = 1000 };
    char ns[64];
    fixture f;
    sc_cluster_view *v =
        static_view("b1=http://127.0.0.1:1,b2=http://127.0.0.1:2,b3=http://127.0.0.1:3");
    uint64_t *ch = calloc(N, sizeof *ch);
    sc_binding *out = calloc(N, sizeof *out);
    int *found = calloc(N, sizeof *found);
    int cnt[3] = {0, 0, 0}, i, k;
    SC_UNUSED(state);
    assert_non_null(ch);
    assert_non_null(out);
    assert_non_null(found);
    fixture_open(&f, t_unique(ns, sizeof ns, "itb"), v);
    for (i = 0; i < N; i++)
        ch[i] = t_rand_id();
    assert_int_equal(sc_binder_resolve(f.binder, ch, N / 2, 1, out, found), SC_OK);
    for (i = N / 2; i < N; i++)
        assert_int_equal(sc_binder_resolve(f.binder, &ch[i], 1, 1, &out[i], &found[i]), SC_OK);
    for (i = 0; i < N; i++) {
        assert_int_equal(found[i], 1);
        k = out[i].cluster[1] - '1';
        assert_true(k >= 0 && k < 3);
        cnt[k]++;
    }
    for (k = 0; k < 3; k++) {
        print_message("cluster b%d: %d channels\n", k + 1, cnt[k]);
        assert_true(cnt[k] >= (N / 3) * 9 / 10 && cnt[k] <= (N / 3) * 11 / 10 + 1);
    }
    cleanup(&f, ch, N);
    fixture_close(&f);
    sc_cluster_view_free(v);
    free(ch);
    free(out);
    free(found);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_assign_least_loaded),
        cmocka_unit_test(test_cache_path),
        cmocka_unit_test(test_race),
        cmocka_unit_test(test_draining),
        cmocka_unit_test(test_balance),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
