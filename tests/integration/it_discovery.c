/* it_discovery.c - cluster discovery through etcd against the real stack:
 * live views following registrations (lease expiry seen by two views, etcd
 * compaction), draining, the admin CLI, and self-healing after an
 * OpenSearch cluster dies (rebind, rebuild jobs, reindex worker, counts). */
#include "testlib.h"

#include <signal.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "binding.h"
#include "cluster.h"
#include "db.h"
#include "es.h"
#include "etcd.h"
#include "redis.h"

#include <libpq-fe.h>

/* ------------------------------------------------------------------ helpers */

static etcd_client *etcd_for_test(void)
{
    etcd_opts o;
    char err[SC_ERRLEN];
    etcd_client *c;
    memset(&o, 0, sizeof o);
    o.endpoint = t_env("SC_ETCD_URL");
    c = etcd_client_create(&o, err, sizeof err);
    assert_non_null(c);
    return c;
}

static sc_cluster_view *view_for(const char *ns)
{
    sc_cluster_view_opts o = {
        .etcd_url = t_env("SC_ETCD_URL"), .ns = ns, .static_list = NULL, .etcd_timeout_ms = 3000};
    char err[SC_ERRLEN];
    sc_cluster_view *v = sc_cluster_view_create(&o, err, sizeof err);
    if (v == NULL)
        fail_msg("view: %s", err);
    return v;
}

/* Wait until cluster name's live flag in v equals want; returns 1 on success. */
static int wait_live(sc_cluster_view *v, const char *name, int want, int timeout_ms)
{
    int64_t end = sc_now_ms() + timeout_ms;
    for (;;) {
        sc_cluster_info ci;
        uint64_t g = sc_cluster_view_generation(v);
        int live = sc_cluster_view_get(v, name, &ci) == SC_OK ? ci.live : 0;
        int64_t left = end - sc_now_ms();
        if (live == want)
            return 1;
        if (left <= 0)
            return 0;
        (void)sc_cluster_view_wait(v, g, (int)(left > 500 ? 500 : left));
    }
}

static void info_init(sc_cluster_info *ci, const char *name, const char *url)
{
    memset(ci, 0, sizeof *ci);
    snprintf(ci->name, sizeof ci->name, "%s", name);
    snprintf(ci->url, sizeof ci->url, "%s", url);
    ci->capacity = 1000;
    ci->state = SC_CLUSTER_ACTIVE;
}

static void cleanup_ns(const char *ns)
{
    etcd_client *c = etcd_for_test();
    char pfx[128];
    int64_t d;
    snprintf(pfx, sizeof pfx, "%s/", ns);
    assert_int_equal(etcd_delete_prefix(c, pfx, &d), SC_OK);
    etcd_client_free(c);
}

/* ------------------------------------------------------------------ views */

/* A registration under a lease shows in two independent views; when the
 * lease lapses (no keepalive) both views see the cluster go, remembered as
 * gone with a timestamp. */
static void test_lease_expiry_two_views(void **state)
{
    char ns[64];
    etcd_client *c = etcd_for_test();
    sc_cluster_view *v1, *v2;
    sc_cluster_info ci;
    int64_t lease = 0, ttl = 0, before;
    char err[SC_ERRLEN];
    (void)state;
    t_unique(ns, sizeof ns, "disc-lease");
    v1 = view_for(ns);
    v2 = view_for(ns);
    assert_int_equal(sc_cluster_view_get(v1, "c1", &ci), SC_ENOTFOUND);

    assert_int_equal(etcd_lease_grant(c, 2, &lease, &ttl), SC_OK);
    info_init(&ci, "c1", "http://127.0.0.1:1");
    assert_int_equal(sc_cluster_register(t_env("SC_ETCD_URL"), ns, &ci, lease, err, sizeof err),
                     SC_OK);
    assert_true(wait_live(v1, "c1", 1, 5000));
    assert_true(wait_live(v2, "c1", 1, 5000));
    assert_int_equal(sc_cluster_view_get(v2, "c1", &ci), SC_OK);
    assert_string_equal(ci.url, "http://127.0.0.1:1");
    assert_true(ci.mod_revision > 0);
    assert_true(ci.capacity == 1000);

    before = sc_wall_ms();
    /* no keepalive: etcd deletes the key when the lease lapses */
    assert_true(wait_live(v1, "c1", 0, 15000));
    assert_true(wait_live(v2, "c1", 0, 5000));
    assert_int_equal(sc_cluster_view_get(v1, "c1", &ci), SC_OK);
    assert_int_equal(ci.live, 0);
    assert_true(ci.gone_since_ms >= before - 1000 && ci.gone_since_ms <= sc_wall_ms());

    /* registering again brings it back */
    info_init(&ci, "c1", "http://127.0.0.1:2");
    assert_int_equal(sc_cluster_register(t_env("SC_ETCD_URL"), ns, &ci, 0, err, sizeof err), SC_OK);
    assert_true(wait_live(v2, "c1", 1, 5000));
    assert_int_equal(sc_cluster_view_get(v2, "c1", &ci), SC_OK);
    assert_true(ci.gone_since_ms == 0);
    assert_string_equal(ci.url, "http://127.0.0.1:2");
    assert_int_equal(sc_cluster_unregister(t_env("SC_ETCD_URL"), ns, "c1", err, sizeof err), SC_OK);
    assert_int_equal(sc_cluster_unregister(t_env("SC_ETCD_URL"), ns, "c1", err, sizeof err),
                     SC_ENOTFOUND);
    assert_true(wait_live(v1, "c1", 0, 5000));

    sc_cluster_view_free(v1);
    sc_cluster_view_free(v2);
    etcd_client_free(c);
    cleanup_ns(ns);
}

/* The view keeps following changes after etcd compacts its history, and a
 * view created after the compaction sees the current state. */
static void test_watch_survives_compaction(void **state)
{
    char ns[64];
    etcd_client *c = etcd_for_test();
    sc_cluster_view *v;
    sc_cluster_info ci;
    int64_t rev = 0;
    char err[SC_ERRLEN];
    int i;
    (void)state;
    t_unique(ns, sizeof ns, "disc-compact");
    v = view_for(ns);
    info_init(&ci, "a", "http://127.0.0.1:1");
    assert_int_equal(sc_cluster_register(t_env("SC_ETCD_URL"), ns, &ci, 0, err, sizeof err), SC_OK);
    assert_true(wait_live(v, "a", 1, 5000));
    /* churn, then compact everything up to now */
    for (i = 0; i < 5; i++) {
        ci.capacity = 2000 + i;
        assert_int_equal(sc_cluster_register(t_env("SC_ETCD_URL"), ns, &ci, 0, err, sizeof err),
                         SC_OK);
    }
    assert_int_equal(etcd_put(c, "disc-compact-probe", "x", 1, 0, &rev), SC_OK);
    {
        sc_status cs = etcd_compact(c, rev);
        assert_true(cs == SC_OK || cs == SC_ECONFLICT); /* someone may have compacted past it */
    }
    /* changes still arrive */
    info_init(&ci, "b", "http://127.0.0.1:3");
    ci.state = SC_CLUSTER_DRAINING;
    assert_int_equal(sc_cluster_register(t_env("SC_ETCD_URL"), ns, &ci, 0, err, sizeof err), SC_OK);
    assert_true(wait_live(v, "b", 1, 5000));
    assert_int_equal(sc_cluster_view_get(v, "b", &ci), SC_OK);
    assert_int_equal(ci.state, SC_CLUSTER_DRAINING);
    assert_int_equal(sc_cluster_view_get(v, "a", &ci), SC_OK);
    assert_true(ci.capacity == 2004);
    assert_int_equal(sc_cluster_unregister(t_env("SC_ETCD_URL"), ns, "a", err, sizeof err), SC_OK);
    assert_true(wait_live(v, "a", 0, 5000));
    sc_cluster_view_free(v);

    /* a fresh view after the compaction starts from the current state */
    v = view_for(ns);
    assert_int_equal(sc_cluster_view_get(v, "a", &ci), SC_ENOTFOUND);
    assert_int_equal(sc_cluster_view_get(v, "b", &ci), SC_OK);
    assert_int_equal(ci.live, 1);
    sc_cluster_view_free(v);
    {
        int64_t d;
        assert_int_equal(etcd_delete(c, "disc-compact-probe", &d), SC_OK);
    }
    etcd_client_free(c);
    cleanup_ns(ns);
}

/* A static entry is live; an etcd registration of the same name overrides it
 * while it exists; without etcd reachable at start, create fails. */
static void test_static_overridden_by_etcd(void **state)
{
    char ns[64], list[128];
    sc_cluster_view_opts o;
    sc_cluster_view *v;
    sc_cluster_info ci;
    char err[SC_ERRLEN];
    (void)state;
    t_unique(ns, sizeof ns, "disc-static");
    snprintf(list, sizeof list, "s1=http://127.0.0.1:5");
    memset(&o, 0, sizeof o);
    o.etcd_url = t_env("SC_ETCD_URL");
    o.ns = ns;
    o.static_list = list;
    o.etcd_timeout_ms = 3000;
    v = sc_cluster_view_create(&o, err, sizeof err);
    assert_non_null(v);
    assert_int_equal(sc_cluster_view_get(v, "s1", &ci), SC_OK);
    assert_int_equal(ci.live, 1);
    info_init(&ci, "s1", "http://127.0.0.1:6");
    assert_int_equal(sc_cluster_register(t_env("SC_ETCD_URL"), ns, &ci, 0, err, sizeof err), SC_OK);
    {
        int64_t end = sc_now_ms() + 5000;
        do {
            uint64_t g = sc_cluster_view_generation(v);
            assert_int_equal(sc_cluster_view_get(v, "s1", &ci), SC_OK);
            if (ci.mod_revision > 0)
                break;
            (void)sc_cluster_view_wait(v, g, 200);
        } while (sc_now_ms() < end);
    }
    assert_string_equal(ci.url, "http://127.0.0.1:6");
    assert_int_equal(sc_cluster_unregister(t_env("SC_ETCD_URL"), ns, "s1", err, sizeof err), SC_OK);
    {
        int64_t end = sc_now_ms() + 5000;
        do {
            uint64_t g = sc_cluster_view_generation(v);
            assert_int_equal(sc_cluster_view_get(v, "s1", &ci), SC_OK);
            if (ci.mod_revision == 0)
                break;
            (void)sc_cluster_view_wait(v, g, 200);
        } while (sc_now_ms() < end);
    }
    assert_string_equal(ci.url, "http://127.0.0.1:5");
    assert_int_equal(ci.live, 1);
    sc_cluster_view_free(v);

    o.etcd_url = "http://127.0.0.1:1";
    o.etcd_timeout_ms = 500;
    assert_null(sc_cluster_view_create(&o, err, sizeof err));
    assert_non_null(strstr(err, "etcd"));
    cleanup_ns(ns);
}


/* ------------------------------------------------------------------ draining */

static const char *ns_opt(char *buf, size_t len, const char *ns)
{
    snprintf(buf, len, "--namespace=%s", ns);
    return buf;
}

/* `admin clusters drain` marks a live cluster draining in every view, and a
 * binder then never assigns new channels to it; undrain lets it take some
 * again. Also covers the admin CLI's exit codes. */
static void test_drain_stops_new_bindings(void **state)
{
    char ns[64], nsopt[96], err[SC_ERRLEN];
    sc_cluster_view *v;
    sc_cluster_info ci;
    sc_db *db;
    sc_redis *r;
    sc_redis_opts ro;
    sc_binder_opts bo;
    sc_binder *b;
    uint64_t ch[20];
    sc_binding out[20];
    int found[20], i, rc;
    uint64_t extra = 0;
    char *o = NULL;
    (void)state;
    t_unique(ns, sizeof ns, "disc-drain");
    ns_opt(nsopt, sizeof nsopt, ns);
    v = view_for(ns);
    info_init(&ci, "ca", t_es_url(0));
    assert_int_equal(sc_cluster_register(t_env("SC_ETCD_URL"), ns, &ci, 0, err, sizeof err), SC_OK);
    info_init(&ci, "cb", t_es_url(1));
    assert_int_equal(sc_cluster_register(t_env("SC_ETCD_URL"), ns, &ci, 0, err, sizeof err), SC_OK);
    assert_true(wait_live(v, "ca", 1, 5000) && wait_live(v, "cb", 1, 5000));

    rc = t_run(&o, "%s %s --etcd-url=%s clusters drain ca", t_bin_path("admin"), nsopt,
               t_env("SC_ETCD_URL"));
    assert_int_equal(rc, 0);
    free(o);
    {
        int64_t end = sc_now_ms() + 5000;
        for (;;) {
            uint64_t g = sc_cluster_view_generation(v);
            assert_int_equal(sc_cluster_view_get(v, "ca", &ci), SC_OK);
            if (ci.state == SC_CLUSTER_DRAINING || sc_now_ms() > end)
                break;
            (void)sc_cluster_view_wait(v, g, 200);
        }
    }
    assert_int_equal(ci.state, SC_CLUSTER_DRAINING);
    assert_int_equal(ci.live, 1);

    db = sc_db_create(t_env("SC_PG_DSN"), err, sizeof err);
    assert_non_null(db);
    memset(&ro, 0, sizeof ro);
    ro.host = "127.0.0.1";
    ro.port = atoi(t_env("SC_REDIS_PORT"));
    r = sc_redis_create(&ro, err, sizeof err);
    assert_non_null(r);
    memset(&bo, 0, sizeof bo);
    bo.ns = ns;
    bo.index_name = "disc-drain";
    bo.cache_ttl_s = 60;
    bo.redis = r;
    bo.db = db;
    bo.view = v;
    b = sc_binder_create(&bo, err, sizeof err);
    assert_non_null(b);
    /* make the draining cluster look far less loaded: it must still not be picked */
    assert_int_equal(sc_binder_set_load(b, "ca", 0), SC_OK);
    assert_int_equal(sc_binder_set_load(b, "cb", 1e9), SC_OK);
    for (i = 0; i < 20; i++)
        ch[i] = t_rand_id();
    assert_int_equal(sc_binder_resolve(b, ch, 20, 1, out, found), SC_OK);
    for (i = 0; i < 20; i++) {
        assert_int_equal(found[i], 1);
        assert_string_equal(out[i].cluster, "cb");
    }
    /* undrain: the idle cluster takes the next new channel */
    rc = t_run(&o, "%s %s --etcd-url=%s clusters undrain ca", t_bin_path("admin"), nsopt,
               t_env("SC_ETCD_URL"));
    assert_int_equal(rc, 0);
    free(o);
    {
        int64_t end = sc_now_ms() + 5000;
        for (;;) {
            uint64_t g = sc_cluster_view_generation(v);
            assert_int_equal(sc_cluster_view_get(v, "ca", &ci), SC_OK);
            if (ci.state == SC_CLUSTER_ACTIVE || sc_now_ms() > end)
                break;
            (void)sc_cluster_view_wait(v, g, 200);
        }
    }
    assert_int_equal(ci.state, SC_CLUSTER_ACTIVE);
    {
        uint64_t c1 = t_rand_id();
        sc_binding one;
        int f1;
        assert_int_equal(sc_binder_resolve(b, &c1, 1, 1, &one, &f1), SC_OK);
        assert_string_equal(one.cluster, "ca");
        extra = c1;
    }
    /* admin CLI errors */
    rc = t_run(&o, "%s %s --etcd-url=%s clusters drain 'bad/name'", t_bin_path("admin"), nsopt,
               t_env("SC_ETCD_URL"));
    assert_int_equal(rc, 2);
    free(o);
    rc = t_run(&o, "%s %s --etcd-url=%s clusters frobnicate", t_bin_path("admin"), nsopt,
               t_env("SC_ETCD_URL"));
    assert_int_equal(rc, 2);
    free(o);
    rc = t_run(&o, "%s %s --etcd-url=http://127.0.0.1:1 clusters drain ca 2>&1",
               t_bin_path("admin"), nsopt);
    assert_int_equal(rc, 1);
    assert_non_null(o);
    free(o);

    {
        PGconn *pc = PQconnectdb(t_env("SC_PG_DSN"));
        char q[256];
        assert_int_equal(PQstatus(pc), CONNECTION_OK);
        for (i = 0; i < 20; i++) {
            snprintf(q, sizeof q, "DELETE FROM channel_bindings WHERE channel_id = %llu",
                     (unsigned long long)ch[i]);
            PQclear(PQexec(pc, q));
        }
        snprintf(q, sizeof q, "DELETE FROM channel_bindings WHERE channel_id = %llu",
                 (unsigned long long)extra);
        PQclear(PQexec(pc, q));
        PQfinish(pc);
    }
    sc_binder_free(b);
    sc_redis_free(r);
    sc_db_free(db);
    sc_cluster_view_free(v);
    cleanup_ns(ns);
}

/* ------------------------------------------------------------------ healing */

typedef struct heal_wait {
    sc_db *db;              /* test handle */
    const uint64_t *ch;     /* channels */
    int n;                  /* channels */
    const char *to;         /* expected cluster */
    sc_binding_state state; /* expected state */
} heal_wait;

static int bindings_are(void *arg)
{
    heal_wait *w = arg;
    int i;
    for (i = 0; i < w->n; i++) {
        sc_binding b;
        if (sc_db_binding_get(w->db, w->ch[i], &b) != SC_OK || strcmp(b.cluster, w->to) != 0 ||
            b.state != w->state)
            return 0;
    }
    return 1;
}

static long long pg_count(PGconn *pc, const char *q)
{
    PGresult *r = PQexec(pc, q);
    long long v = -1;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
        v = atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    return v;
}

/* Documents of channel ch in index on the cluster at url (tombstones included). */
static long long es_channel_count(const char *url, const char *index, uint64_t ch)
{
    es_opts o;
    es_client *es;
    sc_buf resp;
    char q[256], err[SC_ERRLEN];
    long long n = -1;
    const char *p;
    memset(&o, 0, sizeof o);
    o.url = url;
    o.replicas = -1;
    es = es_client_create(&o, err, sizeof err);
    assert_non_null(es);
    assert_int_equal(es_refresh(es, index), SC_OK);
    snprintf(q, sizeof q,
             "{\"size\":0,\"track_total_hits\":true,\"query\":{\"term\":{\"channel_id\":%llu}}}",
             (unsigned long long)ch);
    sc_buf_init(&resp, 0);
    if (es_search(es, index, q, &resp, NULL) == SC_OK &&
        (p = strstr(resp.data, "\"value\":")) != NULL)
        n = atoll(p + 8);
    sc_buf_free(&resp);
    es_client_free(es);
    return n;
}

static int g_agent_pid = 0; /* agent of the heal test, 0 when stopped */
static int g_killed = 0;    /* cluster number killed by the heal test, 0 when none */

/* Runs even when the heal test fails: stop its agent, restart its cluster. */
static int heal_teardown(void **state)
{
    (void)state;
    if (g_agent_pid > 0)
        (void)t_stop(g_agent_pid, SIGTERM, 10000);
    g_agent_pid = 0;
    if (g_killed > 0)
        t_stack("es-start %d", g_killed);
    g_killed = 0;
    return 0;
}

/* Kill the OpenSearch cluster that holds some channels: the agent drops its
 * registration, and after the grace period re-binds the channels to the
 * other cluster in state "building" and queues one rebuild job each. Then
 * the reindex worker (if built) rebuilds them: documents on the new cluster
 * match PostgreSQL and the bindings are active. Destructive: kills the last
 * cluster of the stack and starts it again. */
static void test_heal_after_cluster_kill(void **state)
{
    enum { K = 3, M = 25 };
    char ns[64], nsopt[96], idx[64], cl_a[300], cl_b[300], err[SC_ERRLEN], q[512];
    char ca[48], cb[48];
    char etcdopt[300], redisopt[64], pgopt[512], idxopt[96], logf[128];
    int nclusters = atoi(t_env("SC_ES_CLUSTERS")), i, j;
    uint64_t guild = t_rand_id(), user = t_rand_id(), ch[K];
    sc_cluster_view *v;
    sc_db *db;
    PGconn *pc;
    heal_wait w;
    (void)state;
    if (nclusters < 2)
        skip();
    t_unique(ns, sizeof ns, "disc-heal");
    t_unique(ca, sizeof ca, "ha");
    t_unique(cb, sizeof cb, "hb");
    t_unique(idx, sizeof idx, "disc-heal-idx");
    snprintf(cl_a, sizeof cl_a, "--cluster=%s=%s", ca, t_es_url(0));
    snprintf(cl_b, sizeof cl_b, "--cluster=%s=%s", cb, t_es_url(nclusters - 1));
    ns_opt(nsopt, sizeof nsopt, ns);
    snprintf(etcdopt, sizeof etcdopt, "--etcd-url=%s", t_env("SC_ETCD_URL"));
    snprintf(redisopt, sizeof redisopt, "--redis-port=%s", t_env("SC_REDIS_PORT"));
    snprintf(pgopt, sizeof pgopt, "--pg-dsn=%s", t_env("SC_PG_DSN"));
    snprintf(idxopt, sizeof idxopt, "--index-name=%s", idx);
    snprintf(logf, sizeof logf, "/tmp/it_discovery-agent-%d.log", (int)getpid());
    {
        char *argv[] = {(char *)t_bin_path("admin"),
                        nsopt,
                        etcdopt,
                        redisopt,
                        pgopt,
                        idxopt,
                        cl_a,
                        cl_b,
                        "--health-interval-ms=300",
                        "--lease-ttl-s=2",
                        "--grace-period-s=2",
                        "agent",
                        NULL};
        g_agent_pid = t_spawn(argv, logf);
    }
    v = view_for(ns);
    assert_true(wait_live(v, ca, 1, 10000));
    assert_true(wait_live(v, cb, 1, 10000));

    /* chat data in PostgreSQL, channels bound to cb */
    db = sc_db_create(t_env("SC_PG_DSN"), err, sizeof err);
    assert_non_null(db);
    assert_int_equal(sc_db_upsert_user(db, user, "disc"), SC_OK);
    assert_int_equal(sc_db_upsert_guild(db, guild, "disc-heal", user), SC_OK);
    for (i = 0; i < K; i++) {
        sc_binding bnd;
        ch[i] = t_rand_id();
        assert_int_equal(sc_db_upsert_channel(db, ch[i], guild, "heal", "text", "public"), SC_OK);
        for (j = 0; j < M; j++) {
            sc_message m;
            char text[64];
            memset(&m, 0, sizeof m);
            m.id = t_snowflake_ago((int64_t)(M - j) * 3600 * 1000);
            m.channel_id = ch[i];
            m.guild_id = guild;
            m.author_id = user;
            snprintf(text, sizeof text, "heal message %d of channel %d", j, i);
            m.content = text;
            m.version = 1;
            m.deleted = j == 3;
            assert_int_equal(sc_db_upsert_message(db, &m), SC_OK);
        }
        assert_int_equal(
            sc_db_binding_insert_if_absent(db, ch[i], cb, idx, SC_BINDING_ACTIVE, &bnd), SC_OK);
        assert_string_equal(bnd.cluster, cb);
    }

    /* kill cb: it leaves the view at once (lease revoked), then heals */
    g_killed = nclusters;
    t_stack("es-kill %d", nclusters);
    assert_true(wait_live(v, cb, 0, 10000));
    w.db = db;
    w.ch = ch;
    w.n = K;
    w.to = ca;
    w.state = SC_BINDING_BUILDING;
    assert_true(t_wait_until(bindings_are, &w, 20000));
    pc = PQconnectdb(t_env("SC_PG_DSN"));
    assert_int_equal(PQstatus(pc), CONNECTION_OK);
    for (i = 0; i < K; i++) {
        snprintf(q, sizeof q,
                 "SELECT count(*) FROM reindex_jobs WHERE kind = 'channel' AND target = '%llu' AND "
                 "to_cluster IS NULL",
                 (unsigned long long)ch[i]);
        assert_true(pg_count(pc, q) == 1); /* exactly one job per channel, not one per pass */
    }

    /* the reindex worker rebuilds them on ca */
    if (access(t_bin_path("reindex"), X_OK) != 0)
        fail_msg("%s is not built: the rebuild step of self-healing cannot be checked",
                 t_bin_path("reindex"));
    {
        char *out = NULL;
        int rc = t_run(&out, "%s %s '%s' %s '%s' %s --index-schema=%s worker --once 2>&1",
                       t_bin_path("reindex"), nsopt, etcdopt, redisopt, pgopt, idxopt,
                       t_repo_path("schemas/elasticsearch/messages.json"));
        if (rc != 0)
            fail_msg("reindex worker --once: exit %d: %s", rc, out ? out : "");
        free(out);
        w.state = SC_BINDING_ACTIVE;
        assert_true(t_wait_until(bindings_are, &w, 30000));
        for (i = 0; i < K; i++) {
            int64_t pgn = 0;
            assert_int_equal(sc_db_count_messages(db, ch[i], 0, &pgn), SC_OK);
            assert_true(pgn == M);
            assert_true(es_channel_count(t_es_url(0), idx, ch[i]) == pgn);
        }
    }

    /* bring cb back: it registers again, but its channels stay on ca */
    t_stack("es-start %d", nclusters);
    g_killed = 0;
    assert_true(wait_live(v, cb, 1, 30000));
    for (i = 0; i < K; i++) {
        sc_binding bnd;
        assert_int_equal(sc_db_binding_get(db, ch[i], &bnd), SC_OK);
        assert_string_equal(bnd.cluster, ca);
    }

    assert_true(WIFEXITED(t_stop(g_agent_pid, SIGTERM, 10000)));
    g_agent_pid = 0;
    assert_true(wait_live(v, ca, 0, 8000)); /* a stopped agent's leases lapse (2 s TTL) */
    for (i = 0; i < K; i++) {
        snprintf(q, sizeof q, "DELETE FROM reindex_jobs WHERE kind = 'channel' AND target = '%llu'",
                 (unsigned long long)ch[i]);
        PQclear(PQexec(pc, q));
        snprintf(q, sizeof q, "DELETE FROM channel_bindings WHERE channel_id = %llu",
                 (unsigned long long)ch[i]);
        PQclear(PQexec(pc, q));
        snprintf(q, sizeof q, "DELETE FROM messages WHERE channel_id = %llu",
                 (unsigned long long)ch[i]);
        PQclear(PQexec(pc, q));
    }
    snprintf(q, sizeof q, "DELETE FROM guilds WHERE id = %llu", (unsigned long long)guild);
    PQclear(PQexec(pc, q));
    PQfinish(pc);
    {
        es_opts o;
        es_client *es;
        memset(&o, 0, sizeof o);
        o.url = t_es_url(0);
        o.replicas = -1;
        es = es_client_create(&o, err, sizeof err);
        assert_int_equal(es_delete_index(es, idx), SC_OK);
        es_client_free(es);
    }
    sc_db_free(db);
    sc_cluster_view_free(v);
    cleanup_ns(ns);
}

/* ------------------------------------------------------------ agents */

/* One registration as etcd holds it (0s when absent). */
typedef struct reg_snap {
    int present;
    int64_t lease, mod_revision, create_revision, version;
} reg_snap;

static reg_snap reg_of(const char *ns, const char *name)
{
    etcd_client *c = etcd_for_test();
    char key[256];
    etcd_kv_list l;
    reg_snap r;
    memset(&r, 0, sizeof r);
    snprintf(key, sizeof key, "%s/clusters/%s", ns, name);
    assert_int_equal(etcd_get(c, key, &l), SC_OK);
    if (l.n > 0) {
        r.present = 1;
        r.lease = l.kvs[0].lease;
        r.mod_revision = l.kvs[0].mod_revision;
        r.create_revision = l.kvs[0].create_revision;
        r.version = l.kvs[0].version;
    }
    etcd_kv_list_free(&l);
    etcd_client_free(c);
    return r;
}

/* Wait until the registration's presence equals want. */
static int wait_reg(const char *ns, const char *name, int want, int timeout_ms)
{
    int64_t end = sc_now_ms() + timeout_ms;
    while (sc_now_ms() < end) {
        if (reg_of(ns, name).present == want)
            return 1;
        usleep(100000);
    }
    return 0;
}

static void assert_same_reg(const char *what, const char *name, reg_snap a, reg_snap b)
{
    if (a.present != b.present || a.lease != b.lease || a.mod_revision != b.mod_revision)
        fail_msg("%s: registration of %s changed: present %d->%d, lease %llx->%llx, mod_revision "
                 "%lld->%lld",
                 what, name, a.present, b.present, (unsigned long long)a.lease,
                 (unsigned long long)b.lease, (long long)a.mod_revision, (long long)b.mod_revision);
}

#define AG_N 3
static int g_ag_pid[AG_N + 1]; /* the per-cluster agents, [AG_N] = the second claimant */

static int agents_teardown(void **state)
{
    int i;
    (void)state;
    for (i = 0; i <= AG_N; i++)
        if (g_ag_pid[i] > 0)
            (void)t_stop(g_ag_pid[i], SIGKILL, 5000);
    memset(g_ag_pid, 0, sizeof g_ag_pid);
    return 0;
}

static int spawn_agent(const char *ns, const char *name, const char *url, const char *logf)
{
    char nsopt[96], etcdopt[300], redisopt[64], pgopt[512], cl[400];
    ns_opt(nsopt, sizeof nsopt, ns);
    snprintf(etcdopt, sizeof etcdopt, "--etcd-url=%s", t_env("SC_ETCD_URL"));
    snprintf(redisopt, sizeof redisopt, "--redis-port=%s", t_env("SC_REDIS_PORT"));
    snprintf(pgopt, sizeof pgopt, "--pg-dsn=%s", t_env("SC_PG_DSN"));
    snprintf(cl, sizeof cl, "--cluster=%s=%s", name, url);
    {
        char *argv[] = {(char *)t_bin_path("admin"),
                        nsopt,
                        etcdopt,
                        redisopt,
                        pgopt,
                        cl,
                        "--health-interval-ms=300",
                        "--lease-ttl-s=4",
                        "--log-level=info",
                        "agent",
                        NULL};
        return t_spawn(argv, logf);
    }
}

static int file_has(const char *path, const char *needle)
{
    char *out = NULL;
    int found;
    t_run(&out, "cat %s 2>/dev/null", path);
    found = out != NULL && strstr(out, needle) != NULL;
    free(out);
    return found;
}

/* One agent per cluster, every cluster also added with `admin clusters add`
 * (as the README shows): each agent holds only its own cluster, so in steady
 * state no registration changes at all (same lease, same mod_revision over
 * the window; SC_TEST_AGENT_WINDOW_S, default 5 s = 16 rounds of each
 * agent); a second agent claiming a held cluster stands by without writing;
 * an agent restarted on the host takes over its lease (the key is never
 * deleted, at most one put); killing one agent removes only its cluster's
 * registration, after the lease TTL; then the standby takes its cluster. */
static void test_agents_hold_only_their_own(void **state)
{
    char ns[64], name[AG_N][48], logf[AG_N + 1][128], nsopt[96], *out = NULL;
    const char *url[AG_N];
    reg_snap s0[AG_N], s1[AG_N], r;
    int nclusters = atoi(t_env("SC_ES_CLUSTERS")), i, window_s = 5;
    sc_cluster_view *v;
    (void)state;
    if (nclusters < AG_N)
        skip();
    if (getenv("SC_TEST_AGENT_WINDOW_S") != NULL && atoi(getenv("SC_TEST_AGENT_WINDOW_S")) > 0)
        window_s = atoi(getenv("SC_TEST_AGENT_WINDOW_S"));
    t_unique(ns, sizeof ns, "disc-agents");
    ns_opt(nsopt, sizeof nsopt, ns);
    v = view_for(ns);
    for (i = 0; i < AG_N; i++) {
        char p[16];
        snprintf(p, sizeof p, "ag%d", i);
        t_unique(name[i], sizeof name[i], p);
        url[i] = t_es_url(i);
        assert_int_equal(t_run(&out, "%s %s --etcd-url=%s clusters add %s %s 2>&1",
                               t_bin_path("admin"), nsopt, t_env("SC_ETCD_URL"), name[i], url[i]),
                         0);
        free(out);
        snprintf(logf[i], sizeof logf[i], "/tmp/it_discovery-ag%d-%d.log", i, (int)getpid());
        g_ag_pid[i] = spawn_agent(ns, name[i], url[i], logf[i]);
    }
    snprintf(logf[AG_N], sizeof logf[AG_N], "/tmp/it_discovery-ag-dup-%d.log", (int)getpid());
    for (i = 0; i < AG_N; i++)
        assert_true(wait_live(v, name[i], 1, 15000));

    /* steady state: nothing changes */
    usleep(1000000);
    for (i = 0; i < AG_N; i++)
        s0[i] = reg_of(ns, name[i]);
    usleep((useconds_t)window_s * 1000000);
    for (i = 0; i < AG_N; i++) {
        s1[i] = reg_of(ns, name[i]);
        assert_true(s1[i].present);
        assert_same_reg("steady state", name[i], s0[i], s1[i]);
    }

    /* a second agent claims cluster 0: it stands by and never writes */
    g_ag_pid[AG_N] = spawn_agent(ns, name[0], url[0], logf[AG_N]);
    for (i = 0; i < 100 && !file_has(logf[AG_N], "standing by"); i++)
        usleep(100000);
    if (!file_has(logf[AG_N], "standing by"))
        fail_msg("the second agent for %s did not stand by", name[0]);
    usleep(3000000);
    assert_same_reg("second claimant", name[0], s0[0], reg_of(ns, name[0]));

    /* restart the agent of cluster 2 (killed, started again): same lease,
     * never deleted, at most one put */
    assert_true(t_stop(g_ag_pid[2], SIGKILL, 5000) != -1);
    g_ag_pid[2] = spawn_agent(ns, name[2], url[2], logf[2]);
    for (i = 0; i < 100 && !file_has(logf[2], "taking over lease"); i++)
        usleep(100000);
    usleep(1500000);
    r = reg_of(ns, name[2]);
    assert_true(r.present);
    if (r.lease != s0[2].lease || r.create_revision != s0[2].create_revision ||
        r.version > s0[2].version + 1)
        fail_msg("restart: lease %llx->%llx, create_revision %lld->%lld, version %lld->%lld",
                 (unsigned long long)s0[2].lease, (unsigned long long)r.lease,
                 (long long)s0[2].create_revision, (long long)r.create_revision,
                 (long long)s0[2].version, (long long)r.version);
    s0[2] = r;

    /* kill the agent of cluster 1: only its registration goes, after the TTL */
    s0[0] = reg_of(ns, name[0]);
    assert_true(t_stop(g_ag_pid[1], SIGKILL, 5000) != -1);
    g_ag_pid[1] = 0;
    assert_true(reg_of(ns, name[1]).present); /* the lease is still running */
    assert_true(wait_reg(ns, name[1], 0, 4000 + 4000));
    assert_same_reg("after killing another agent", name[0], s0[0], reg_of(ns, name[0]));
    assert_same_reg("after killing another agent", name[2], s0[2], reg_of(ns, name[2]));

    /* kill the holder of cluster 0: the standby takes it (on this host it
     * takes the dead holder's lease over at once; elsewhere it would wait for
     * the lease to lapse), then holds it still */
    assert_true(t_stop(g_ag_pid[0], SIGKILL, 5000) != -1);
    g_ag_pid[0] = 0;
    for (i = 0; i < 120; i++) {
        r = reg_of(ns, name[0]);
        if (r.present && (r.lease != s0[0].lease || r.mod_revision != s0[0].mod_revision))
            break;
        usleep(100000);
    }
    if (!(r.present && (r.lease != s0[0].lease || r.mod_revision != s0[0].mod_revision)))
        fail_msg("the standby agent did not take %s over", name[0]);
    if (!file_has(logf[AG_N], "taking"))
        fail_msg("the standby agent did not log the take-over");
    usleep(1500000);
    assert_same_reg("after the take-over", name[0], r, reg_of(ns, name[0]));

    agents_teardown(NULL);
    for (i = 0; i <= AG_N; i++)
        unlink(logf[i]);
    sc_cluster_view_free(v);
    cleanup_ns(ns);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lease_expiry_two_views),
        cmocka_unit_test(test_watch_survives_compaction),
        cmocka_unit_test(test_static_overridden_by_etcd),
        cmocka_unit_test(test_drain_stops_new_bindings),
        cmocka_unit_test_teardown(test_agents_hold_only_their_own, agents_teardown),
        cmocka_unit_test_teardown(test_heal_after_cluster_kill, heal_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
