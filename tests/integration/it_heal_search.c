/*
 * it_heal_search.c - what searches answer while a cluster dies and its
 * channels are healed, end to end on the real stack: an `admin agent`
 * holding two clusters, a `reindex worker`, the `router` reading the etcd
 * view, and a searcher asking every ~100 ms. The cluster holding a guild's
 * channels is killed (tests/stack es-kill); every answer must be 202, or
 * 200 marked partial with a reason, or 200 complete with exactly the
 * messages PostgreSQL holds - never silently short. documents_indexed of
 * consecutive 202 answers never goes down. When the dead cluster comes
 * back with its stale copy, nothing of that copy is ever served.
 *
 * Destructive (kills and restarts the stack's last cluster; the worker
 * claims every queued job of the database): skipped with
 * SC_TEST_NO_DESTRUCTIVE=1.
 */
#include "testlib.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "binding.h"
#include "cluster.h"
#include "db.h"
#include "es.h"
#include "message.h"

#include <libpq-fe.h>

#define SECRET "it-heal-search-secret-0123456789"
#define K 3    /* channels */
#define M 300  /* messages per channel */
#define NDEL 6 /* messages of channel 0 deleted while its cluster is down */

static int g_pids[3];        /* agent, worker, router */
static int g_killed;         /* 1-based cluster killed, 0 when none */
static pthread_t g_th;       /* the searcher thread */
static volatile int *g_stop; /* its stop flag while it runs, else NULL */

static int teardown(void **state)
{
    (void)state;
    if (g_stop != NULL) {
        *g_stop = 1;
        pthread_join(g_th, NULL);
        g_stop = NULL;
    }
    for (int i = 0; i < 3; i++)
        if (g_pids[i] > 0)
            (void)t_stop(g_pids[i], SIGTERM, 10000);
    memset(g_pids, 0, sizeof g_pids);
    if (g_killed > 0)
        t_stack("es-start %d", g_killed);
    g_killed = 0;
    return 0;
}

/* What the searcher saw. Written by the searcher thread only, read by the
 * main thread after a join or as monotone counters. */
typedef struct searcher {
    int port;
    uint64_t user, guild, ch0;
    volatile long expect_guild, expect_ch0; /* non-deleted messages in PostgreSQL */
    volatile int stop;
    volatile int complete_run; /* consecutive complete answers (both scopes) */
    int n202, n_hist, n_clusters, n_complete, n_other;
    int short_answers; /* complete but not equal to PostgreSQL: the bug */
    int docs_down;     /* documents_indexed went down between two 202s */
    long last_docs;    /* documents_indexed of the last 202 (guild) */
    char last_bad[512];
} searcher;

static long ask(searcher *s, const char *path, cJSON **out)
{
    char *resp = NULL;
    long code = t_search(s->port, SECRET, s->user, path, &resp);
    *out = resp != NULL ? cJSON_Parse(resp) : NULL;
    free(resp);
    return code;
}

static int has_reason(const cJSON *j, const char *why)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(j, "partial_reasons"))
    {
        if (cJSON_IsString(e) && strcmp(e->valuestring, why) == 0)
            return 1;
    }
    return 0;
}

/* Classify one answer; 1 when it was complete. */
static int judge(searcher *s, const char *what, long code, const cJSON *j, long expect, int guild)
{
    if (code == 202) {
        const cJSON *d = cJSON_GetObjectItem(j, "documents_indexed");
        s->n202++;
        if (guild && cJSON_IsNumber(d)) {
            if ((long)d->valuedouble < s->last_docs) {
                s->docs_down++;
                snprintf(s->last_bad, sizeof s->last_bad, "%s: documents_indexed %ld after %ld",
                         what, (long)d->valuedouble, s->last_docs);
            }
            s->last_docs = (long)d->valuedouble;
        }
        return 0;
    }
    if (code != 200 || j == NULL) {
        s->n_other++;
        snprintf(s->last_bad, sizeof s->last_bad, "%s: HTTP %ld", what, code);
        return 0;
    }
    if (cJSON_IsTrue(cJSON_GetObjectItem(j, "partial"))) {
        int h = has_reason(j, "history_incomplete"), c = has_reason(j, "clusters_failed");
        s->n_hist += h;
        s->n_clusters += c;
        if (!h && !c) {
            s->n_other++;
            snprintf(s->last_bad, sizeof s->last_bad, "%s: partial without a reason", what);
        }
        return 0;
    }
    s->n_complete++;
    {
        const cJSON *t = cJSON_GetObjectItem(j, "total_results");
        long got = cJSON_IsNumber(t) ? (long)t->valuedouble : -1;
        if (got != expect) {
            s->short_answers++;
            snprintf(s->last_bad, sizeof s->last_bad,
                     "%s: complete answer with %ld results, PostgreSQL has %ld", what, got, expect);
            return 0;
        }
    }
    return 1;
}

static void *searcher_main(void *p)
{
    searcher *s = p;
    char gpath[256], cpath[256];
    snprintf(gpath, sizeof gpath, "/api/v1/guilds/%" PRIu64 "/messages/search?content=healsearch",
             s->guild);
    snprintf(cpath, sizeof cpath, "/api/v1/channels/%" PRIu64 "/messages/search?content=healsearch",
             s->ch0);
    while (!s->stop) {
        cJSON *j = NULL;
        long code;
        int ok;
        code = ask(s, gpath, &j);
        ok = judge(s, "guild", code, j, s->expect_guild, 1);
        cJSON_Delete(j);
        code = ask(s, cpath, &j);
        ok &= judge(s, "channel", code, j, s->expect_ch0, 0);
        cJSON_Delete(j);
        s->complete_run = ok ? s->complete_run + 1 : 0;
        usleep(100000);
    }
    return NULL;
}

typedef struct bwait {
    sc_db *db;
    const uint64_t *ch;
    const char *cluster;
} bwait;

/* All channels active on cluster with their whole history. */
static int healed(void *arg)
{
    bwait *w = arg;
    for (int i = 0; i < K; i++) {
        sc_binding b;
        if (sc_db_binding_get(w->db, w->ch[i], &b) != SC_OK || b.state != SC_BINDING_ACTIVE ||
            strcmp(b.cluster, w->cluster) != 0 || b.history_from != 0)
            return 0;
    }
    return 1;
}

static int runs_complete(void *arg) { return ((searcher *)arg)->complete_run >= 5; }

static long es_docs(const char *url, const char *index, uint64_t ch)
{
    char u[512], body[160], *resp = NULL;
    long n = -1;
    cJSON *j;
    snprintf(u, sizeof u, "%s/%s/_count", url, index);
    snprintf(body, sizeof body, "{\"query\":{\"term\":{\"channel_id\":%" PRIu64 "}}}", ch);
    if (t_http("POST", u, body, NULL, &resp) == 200 && (j = cJSON_Parse(resp)) != NULL) {
        n = (long)cJSON_GetObjectItem(j, "count")->valuedouble;
        cJSON_Delete(j);
    }
    free(resp);
    return n;
}

static void test_search_through_heal(void **state)
{
    char ns[64], idx[64], ca[48], cb[48], logf[3][128], err[SC_ERRLEN];
    char nsopt[96], etcdopt[300], redisopt[64], pgopt[1100], idxopt[96], schemaopt[600], cla[300],
        clb[300];
    char url[256], *out = NULL;
    int nclusters = atoi(t_env("SC_ES_CLUSTERS")), i, j, rc;
    uint64_t guild = t_rand_id(), ch[K], ids0[M];
    long alive_guild = 0, alive0 = 0;
    sc_db *db;
    static searcher s; /* outlives a failed test until teardown joins the thread */
    bwait w;
    sc_cluster_view_opts vo;
    sc_cluster_view *v;
    (void)state;
    if (nclusters < 2 || getenv("SC_TEST_NO_DESTRUCTIVE"))
        skip();
    t_unique(ns, sizeof ns, "heals");
    t_unique(idx, sizeof idx, "heals-idx");
    t_unique(ca, sizeof ca, "hsa");
    t_unique(cb, sizeof cb, "hsb");
    snprintf(nsopt, sizeof nsopt, "--namespace=%s", ns);
    snprintf(etcdopt, sizeof etcdopt, "--etcd-url=%s", t_env("SC_ETCD_URL"));
    snprintf(redisopt, sizeof redisopt, "--redis-port=%s", t_env("SC_REDIS_PORT"));
    snprintf(pgopt, sizeof pgopt, "--pg-dsn=%s", t_env("SC_PG_DSN"));
    snprintf(idxopt, sizeof idxopt, "--index-name=%s", idx);
    snprintf(schemaopt, sizeof schemaopt, "--index-schema=%s",
             t_repo_path("schemas/elasticsearch/messages.json"));
    snprintf(cla, sizeof cla, "--cluster=%s=%s", ca, t_es_url(0));
    snprintf(clb, sizeof clb, "--cluster=%s=%s", cb, t_es_url(nclusters - 1));
    for (i = 0; i < 3; i++)
        snprintf(logf[i], sizeof logf[i], "/tmp/it_heal_search-%d-%d.log", i, (int)getpid());

    /* chat data: K channels of M messages over 30 days, bound to cb */
    db = sc_db_create(t_env("SC_PG_DSN"), err, sizeof err);
    assert_non_null(db);
    memset(&s, 0, sizeof s);
    s.user = t_rand_id();
    s.guild = guild;
    assert_int_equal(sc_db_upsert_user(db, s.user, "heals"), SC_OK);
    assert_int_equal(sc_db_upsert_guild(db, guild, "heal-search", s.user), SC_OK);
    assert_int_equal(sc_db_upsert_member(db, guild, s.user), SC_OK);
    for (i = 0; i < K; i++) {
        sc_binding bnd;
        ch[i] = t_rand_id();
        assert_int_equal(sc_db_upsert_channel(db, ch[i], guild, "heals", "text", "public"), SC_OK);
        for (j = 0; j < M; j++) {
            sc_message m;
            char text[64];
            memset(&m, 0, sizeof m);
            m.id = t_snowflake_ago((int64_t)(M - j) * (30LL * 86400000LL / M));
            m.channel_id = ch[i];
            m.guild_id = guild;
            m.author_id = s.user;
            snprintf(text, sizeof text, "healsearch message %d of channel %d", j, i);
            m.content = text;
            m.version = 1;
            m.deleted = j % 50 == 7;
            alive_guild += !m.deleted;
            if (i == 0) {
                ids0[j] = m.id;
                alive0 += !m.deleted;
            }
            assert_int_equal(sc_db_upsert_message(db, &m), SC_OK);
        }
        assert_int_equal(
            sc_db_binding_insert_if_absent(db, ch[i], cb, idx, SC_BINDING_ACTIVE, &bnd), SC_OK);
    }
    s.ch0 = ch[0];
    s.expect_guild = alive_guild;
    s.expect_ch0 = alive0;

    /* the agent holds both clusters; heal after 2 s (rebuild jobs copy the
     * last 7 days first, recent_days' default) */
    {
        char *argv[] = {(char *)t_bin_path("admin"),
                        nsopt,
                        etcdopt,
                        redisopt,
                        pgopt,
                        idxopt,
                        cla,
                        clb,
                        "--health-interval-ms=300",
                        "--lease-ttl-s=2",
                        "--grace-period-s=2",
                        "agent",
                        NULL};
        g_pids[0] = t_spawn(argv, logf[0]);
    }
    memset(&vo, 0, sizeof vo);
    vo.etcd_url = t_env("SC_ETCD_URL");
    vo.ns = ns;
    vo.etcd_timeout_ms = 3000;
    v = sc_cluster_view_create(&vo, err, sizeof err);
    assert_non_null(v);
    for (i = 0; i < 100; i++) {
        sc_cluster_info a, b;
        if (sc_cluster_view_get(v, ca, &a) == SC_OK && a.live &&
            sc_cluster_view_get(v, cb, &b) == SC_OK && b.live)
            break;
        usleep(100000);
    }
    assert_true(i < 100);

    /* the initial copy on cb */
    rc = t_run(&out,
               "%s %s '%s' %s '%s' %s %s --recent-days=0 --log-level=warn channel %" PRIu64
               " %" PRIu64 " %" PRIu64 " 2>&1",
               t_bin_path("reindex"), nsopt, etcdopt, redisopt, pgopt, idxopt, schemaopt, ch[0],
               ch[1], ch[2]);
    if (rc != 0)
        fail_msg("initial reindex: %d: %s", rc, out);
    free(out);
    snprintf(url, sizeof url, "%s/%s/_refresh", t_es_url(nclusters - 1), idx);
    t_http("POST", url, NULL, NULL, NULL);

    /* a worker at 200 messages/s, so the phases last long enough to be seen */
    {
        char *argv[] = {(char *)t_bin_path("reindex"),
                        nsopt,
                        etcdopt,
                        redisopt,
                        pgopt,
                        idxopt,
                        schemaopt,
                        "--rate=200",
                        "--log-level=info",
                        "worker",
                        NULL};
        g_pids[1] = t_spawn(argv, logf[1]);
    }
    s.port = t_free_port();
    {
        t_svc rv;
        const char *more[] = {"--query-timeout-ms=1500", "--perm-cache-ttl-ms=2000", NULL};
        memset(&rv, 0, sizeof rv);
        rv.ns = ns; /* no --clusters: the agent registers them in etcd */
        rv.port = s.port;
        rv.secret = SECRET;
        g_pids[2] = t_spawn_router(&rv, more, logf[2]);
    }
    assert_true(t_wait_healthy(s.port));
    assert_int_equal(pthread_create(&g_th, NULL, searcher_main, &s), 0);
    g_stop = &s.stop;
    if (!t_wait_until(runs_complete, &s, 15000))
        fail_msg("no complete answers before the kill: %s", s.last_bad);

    /* kill cb; while it is down, delete some of channel 0's messages */
    g_killed = nclusters;
    t_stack("es-kill %d", nclusters);
    for (i = 0; i < 100; i++) {
        sc_cluster_info b;
        if (sc_cluster_view_get(v, cb, &b) != SC_OK || !b.live)
            break;
        usleep(100000);
    }
    assert_true(i < 100);
    for (j = 0, i = 0; j < M && i < NDEL; j += 37) {
        sc_message m;
        if (j % 50 == 7)
            continue;
        memset(&m, 0, sizeof m);
        m.id = ids0[j];
        m.channel_id = ch[0];
        m.guild_id = guild;
        m.author_id = s.user;
        m.content = "";
        m.version = 2;
        m.deleted = 1;
        assert_int_equal(sc_db_upsert_message(db, &m), SC_OK);
        i++;
    }
    s.expect_guild = alive_guild - NDEL;
    s.expect_ch0 = alive0 - NDEL;

    /* healed onto ca, then complete answers again */
    w.db = db;
    w.ch = ch;
    w.cluster = ca;
    if (!t_wait_until(healed, &w, 60000))
        fail_msg("channels not healed onto %s (agent log %s, worker log %s)", ca, logf[0], logf[1]);
    s.complete_run = 0;
    if (!t_wait_until(runs_complete, &s, 15000))
        fail_msg("no complete answers after the heal: %s", s.last_bad);

    /* cb comes back with its stale copy (the deleted messages still live there) */
    t_stack("es-start %d", nclusters);
    g_killed = 0;
    for (i = 0; i < 300; i++) {
        sc_cluster_info b;
        if (sc_cluster_view_get(v, cb, &b) == SC_OK && b.live)
            break;
        usleep(100000);
    }
    assert_true(i < 300);
    snprintf(url, sizeof url, "%s/%s/_refresh", t_es_url(nclusters - 1), idx);
    t_http("POST", url, NULL, NULL, NULL);
    assert_true(es_docs(t_es_url(nclusters - 1), idx, ch[0]) == M); /* the old copy is there */
    s.complete_run = 0;
    if (!t_wait_until(runs_complete, &s, 15000))
        fail_msg("no complete answers after the revival: %s", s.last_bad);
    usleep(1500000);
    s.stop = 1;
    pthread_join(g_th, NULL);
    g_stop = NULL;

    fprintf(stderr,
            "# answers: %d complete, %d 202, %d partial history_incomplete, %d partial "
            "clusters_failed, "
            "%d other\n",
            s.n_complete, s.n202, s.n_hist, s.n_clusters, s.n_other);
    if (s.short_answers != 0 || s.docs_down != 0 || s.n_other != 0)
        fail_msg("%d silently short answers, %d documents_indexed drops, %d bad answers; last: %s",
                 s.short_answers, s.docs_down, s.n_other, s.last_bad);
    assert_true(s.n202 + s.n_hist + s.n_clusters > 0); /* the outage was seen, and said so */
    for (i = 0; i < K; i++) {
        sc_binding b;
        assert_int_equal(sc_db_binding_get(db, ch[i], &b), SC_OK);
        assert_string_equal(b.cluster, ca);
    }

    teardown(NULL);
    {
        PGconn *pc = PQconnectdb(t_env("SC_PG_DSN"));
        char q[256];
        for (i = 0; i < K && PQstatus(pc) == CONNECTION_OK; i++) {
            snprintf(q, sizeof q,
                     "DELETE FROM reindex_jobs WHERE kind = 'channel' AND target = '%" PRIu64 "'",
                     ch[i]);
            PQclear(PQexec(pc, q));
            snprintf(q, sizeof q, "DELETE FROM channel_bindings WHERE channel_id = %" PRIu64,
                     ch[i]);
            PQclear(PQexec(pc, q));
            snprintf(q, sizeof q, "DELETE FROM messages WHERE channel_id = %" PRIu64, ch[i]);
            PQclear(PQexec(pc, q));
        }
        PQfinish(pc);
    }
    snprintf(url, sizeof url, "%s/%s", t_es_url(0), idx);
    t_http("DELETE", url, NULL, NULL, NULL);
    snprintf(url, sizeof url, "%s/%s", t_es_url(nclusters - 1), idx);
    t_http("DELETE", url, NULL, NULL, NULL);
    for (i = 0; i < 3; i++)
        unlink(logf[i]);
    sc_cluster_view_free(v);
    sc_db_free(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_search_through_heal, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
