/*
 * it_promote.c - big channels get an index of their own, end to end against
 * the real stack (docs/reindex.md, "Big channels"):
 *   - `reindex promote B --shards 3 --to cb` while the `indexer` drains live
 *     creates, edits and deletes of B and a thread keeps asking the `router`
 *     for fixed pages of a guild search (B promoted beside a normal channel)
 *     and of a channel search: every answer before, during and after the
 *     move has the same ids in the same order; afterwards the channel's own
 *     index has 3 primary shards and exactly PostgreSQL's rows (reindex
 *     verify agrees, counts equal), the shared copy is purged, every live
 *     write is there (no lost edit, no resurrected delete), and
 *     `reindex status` / `admin clusters list` show the promoted channel;
 *   - the worker's check promotes a channel past --big-channel-docs by
 *     itself and leaves a small one alone;
 *   - a promotion killed with SIGKILL mid-copy resumes (`reindex resume`)
 *     and ends with the right count and the old copy purged;
 *   - bad input: exit 2 with a clear message, nothing queued.
 */
#include "testlib.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "db.h"
#include "event.h"
#include "message.h"
#include "publish.h"

#define SECRET "it-promote-secret-0123456789abcd"
#define NQ 4 /* fixed queries the searcher repeats */
#define PAGE_MAX 25

static int g_pids[3]; /* indexer, router, worker */

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < 3; i++)
        if (g_pids[i] > 0)
            (void)t_stop(g_pids[i], SIGTERM, 10000);
    memset(g_pids, 0, sizeof g_pids);
    return 0;
}

typedef struct world {
    char ns[64], idx[64], ca[48], cb[48], stream[96], clusters[600], common[2400];
    uint64_t guild, user;
    int port;
    sc_db *db;
} world;

static void world_init(world *w, const char *tag)
{
    char err[SC_ERRLEN], pfx[32];
    memset(w, 0, sizeof *w);
    snprintf(pfx, sizeof pfx, "%s", tag);
    t_unique(w->ns, sizeof w->ns, pfx);
    snprintf(pfx, sizeof pfx, "%s-idx", tag);
    t_unique(w->idx, sizeof w->idx, pfx);
    snprintf(pfx, sizeof pfx, "%sa", tag);
    t_unique(w->ca, sizeof w->ca, pfx);
    snprintf(pfx, sizeof pfx, "%sb", tag);
    t_unique(w->cb, sizeof w->cb, pfx);
    snprintf(w->stream, sizeof w->stream, "%s:events", w->ns);
    snprintf(w->clusters, sizeof w->clusters, "%s=%s,%s=%s", w->ca, t_es_url(0), w->cb,
             t_es_url(1));
    snprintf(w->common, sizeof w->common,
             "--namespace=%s --redis-port=%s --pg-dsn='%s' --etcd-url=%s --clusters=%s "
             "--index-name=%s --index-schema=%s --log-level=warn",
             w->ns, t_env("SC_REDIS_PORT"), t_env("SC_PG_DSN"), t_env("SC_ETCD_URL"), w->clusters,
             w->idx, t_repo_path("schemas/elasticsearch/messages.json"));
    w->db = sc_db_create(t_env("SC_PG_DSN"), err, sizeof err);
    assert_non_null(w->db);
    w->guild = t_rand_id();
    w->user = t_rand_id();
    assert_int_equal(sc_db_upsert_user(w->db, w->user, "promote"), SC_OK);
    assert_int_equal(sc_db_upsert_guild(w->db, w->guild, "promote", w->user), SC_OK);
    assert_int_equal(sc_db_upsert_member(w->db, w->guild, w->user), SC_OK);
}

/* Delete the world's indices on both clusters. */
static void world_free(world *w, const uint64_t *chans, size_t n)
{
    char url[512];
    for (int k = 0; k < 2; k++) {
        snprintf(url, sizeof url, "%s/%s", t_es_url(k), w->idx);
        t_http("DELETE", url, NULL, NULL, NULL);
        for (size_t i = 0; i < n; i++) {
            snprintf(url, sizeof url, "%s/%s-ch-%" PRIu64, t_es_url(k), w->idx, chans[i]);
            t_http("DELETE", url, NULL, NULL, NULL);
        }
    }
    sc_db_free(w->db);
    w->db = NULL;
}

/* A channel with n history messages "<word> history i" (one a minute, the
 * newest a minute ago), bound active to ca and copied there. *ids (may be
 * NULL) gets the message ids (malloc'd). */
static uint64_t make_channel(world *w, int n, const char *word, uint64_t **ids)
{
    uint64_t ch = t_rand_id();
    sc_binding b;
    char *out = NULL;
    int rc;
    assert_int_equal(sc_db_upsert_channel(w->db, ch, w->guild, word, "text", "public"), SC_OK);
    if (ids != NULL)
        *ids = calloc((size_t)n, sizeof **ids);
    for (int i = 0; i < n; i++) {
        sc_message m;
        char text[96];
        memset(&m, 0, sizeof m);
        m.id = t_snowflake_ago((int64_t)(n - i) * 60000 + 60000);
        m.channel_id = ch;
        m.guild_id = w->guild;
        m.author_id = w->user;
        snprintf(text, sizeof text, "%s history %d", word, i);
        m.content = text;
        m.version = 1;
        assert_int_equal(sc_db_upsert_message(w->db, &m), SC_OK);
        if (ids != NULL)
            (*ids)[i] = m.id;
    }
    assert_int_equal(
        sc_db_binding_insert_if_absent(w->db, ch, w->ca, w->idx, SC_BINDING_ACTIVE, &b), SC_OK);
    rc = t_run(&out, "%s %s --recent-days=0 channel %" PRIu64 " 2>&1", t_bin_path("reindex"),
               w->common, ch);
    if (rc != 0)
        fail_msg("initial copy of %" PRIu64 ": %d: %s", ch, rc, out);
    free(out);
    return ch;
}

/* Documents of channel in index on cluster k after a refresh; -1 if none. */
static long es_count(int k, const char *index, uint64_t channel)
{
    char url[512], body[160], *resp = NULL;
    long n = -1;
    cJSON *j;
    snprintf(url, sizeof url, "%s/%s/_refresh", t_es_url(k), index);
    t_http("POST", url, NULL, NULL, NULL);
    snprintf(url, sizeof url, "%s/%s/_count", t_es_url(k), index);
    snprintf(body, sizeof body, "{\"query\":{\"term\":{\"channel_id\":%" PRIu64 "}}}", channel);
    if (t_http("POST", url, body, NULL, &resp) == 200 && (j = cJSON_Parse(resp)) != NULL) {
        const cJSON *c = cJSON_GetObjectItem(j, "count");
        n = cJSON_IsNumber(c) ? (long)c->valuedouble : -1;
        cJSON_Delete(j);
    }
    free(resp);
    return n;
}

/* Primary shards of index on cluster k (0 if absent). */
static int es_shards(int k, const char *index)
{
    char url[512], *resp = NULL;
    int n = 0;
    cJSON *j;
    snprintf(url, sizeof url, "%s/_cat/indices/%s?format=json&h=pri", t_es_url(k), index);
    if (t_http("GET", url, NULL, NULL, &resp) == 200 && (j = cJSON_Parse(resp)) != NULL) {
        const cJSON *p = cJSON_GetObjectItem(cJSON_GetArrayItem(j, 0), "pri");
        n = cJSON_IsString(p) ? atoi(p->valuestring) : 0;
        cJSON_Delete(j);
    }
    free(resp);
    return n;
}

static int64_t pg_rows(world *w, uint64_t ch)
{
    int64_t n = -1;
    assert_int_equal(sc_db_count_messages(w->db, ch, 0, &n), SC_OK);
    return n;
}

static void own_index(const world *w, uint64_t ch, char *buf, size_t len)
{
    snprintf(buf, len, "%s-ch-%" PRIu64, w->idx, ch);
}

/* ------------------------------------------------------------ router */

/* Ask the router; ids[] get the hits in order, *total the total. HTTP status. */
static long search(world *w, const char *pathq, uint64_t *ids, int *nids, long *total)
{
    char *resp = NULL;
    long code = t_search(w->port, SECRET, w->user, pathq, &resp);
    cJSON *j;
    *nids = 0;
    *total = -1;
    if (code == 200 && resp != NULL && (j = cJSON_Parse(resp)) != NULL) {
        const cJSON *t = cJSON_GetObjectItem(j, "total_results"), *entry, *m;
        *total = cJSON_IsNumber(t) ? (long)t->valuedouble : -1;
        cJSON_ArrayForEach(entry, cJSON_GetObjectItem(j, "messages"))
        {
            cJSON_ArrayForEach(m, entry)
            {
                const cJSON *id = cJSON_GetObjectItem(m, "id");
                if (cJSON_IsTrue(cJSON_GetObjectItem(m, "hit")) && cJSON_IsString(id) &&
                    *nids < PAGE_MAX)
                    ids[(*nids)++] = strtoull(id->valuestring, NULL, 10);
            }
        }
        cJSON_Delete(j);
    }
    free(resp);
    return code;
}

static long count_of(world *w, const char *pathq)
{
    uint64_t ids[PAGE_MAX];
    int n;
    long total;
    return search(w, pathq, ids, &n, &total) == 200 ? total : -1;
}

static void start_services(world *w, int indexer)
{
    char logf[128];
    t_svc v;
    memset(&v, 0, sizeof v);
    v.ns = w->ns;
    v.clusters = w->clusters;
    v.index = w->idx;
    v.stream = w->stream;
    v.consumer = "prm";
    v.linger_ms = 20;
    v.secret = SECRET;
    if (indexer) {
        snprintf(logf, sizeof logf, "/tmp/it_promote-ix-%d.log", (int)getpid());
        g_pids[0] = t_spawn_indexer(&v, NULL, logf);
    }
    v.port = w->port = t_free_port();
    snprintf(logf, sizeof logf, "/tmp/it_promote-rt-%d.log", (int)getpid());
    g_pids[1] = t_spawn_router(&v, NULL, logf);
    if (!t_wait_healthy(w->port))
        fail_msg("router did not come up");
}

/* ------------------------------------------------------------ test 1 */

typedef struct searcher {
    world *w;
    char q[NQ][300]; /* path + query */
    uint64_t want[NQ][PAGE_MAX];
    int nwant[NQ];
    long want_total[NQ];
    volatile int stop;
    int asked, bad_status, bad_page; /* answers, non-200, different page */
    char first_diff[300];
} searcher;

static void *search_loop(void *p)
{
    searcher *s = p;
    while (!s->stop) {
        for (int q = 0; q < NQ && !s->stop; q++) {
            uint64_t ids[PAGE_MAX];
            int n;
            long total, code = search(s->w, s->q[q], ids, &n, &total);
            s->asked++;
            if (code != 200) {
                s->bad_status++;
                continue;
            }
            if (n != s->nwant[q] || total != s->want_total[q] ||
                memcmp(ids, s->want[q], (size_t)n * sizeof ids[0]) != 0) {
                if (s->bad_page++ == 0)
                    snprintf(s->first_diff, sizeof s->first_diff,
                             "%s: %d hits total %ld, want %d total %ld", s->q[q], n, total,
                             s->nwant[q], s->want_total[q]);
            }
        }
        usleep(20000);
    }
    return NULL;
}

static void publish(sc_publisher *pub, world *w, uint64_t ch, uint64_t id, sc_op op, int64_t v,
                    const char *text)
{
    sc_event ev;
    memset(&ev, 0, sizeof ev);
    ev.op = op;
    ev.msg.id = id;
    ev.msg.channel_id = ch;
    ev.msg.guild_id = w->guild;
    ev.msg.author_id = w->user;
    ev.msg.content = (char *)text;
    ev.msg.version = v;
    ev.msg.deleted = op == SC_OP_DELETE;
    if (sc_publish_message_and_event(pub, &ev, NULL) != SC_OK)
        fail_msg("publish: %s", sc_publisher_errstr(pub));
}

#define NMUT 40  /* messages of B edited (first half) or deleted (a quarter) during the move */
#define NLIVE 20 /* messages created during the move */

static void test_promote_while_searching(void **state)
{
    static world w;
    static searcher s;
    char err[SC_ERRLEN], cmd[3200], own[200], *out = NULL, q[300];
    uint64_t big, small, *mut = NULL, live[NLIVE];
    pthread_t th;
    sc_publisher_opts po;
    sc_publisher *pub;
    sc_binding b;
    int pid, st, i, saw_moving = 0;
    int64_t t_end;
    (void)state;
    world_init(&w, "prm");
    big = make_channel(&w, 1200, "hist", NULL);
    small = make_channel(&w, 150, "hist", NULL);
    {
        /* the messages edited and deleted during the move, in B */
        sc_message m;
        mut = calloc(NMUT, sizeof *mut);
        for (i = 0; i < NMUT; i++) {
            char text[64];
            memset(&m, 0, sizeof m);
            m.id = t_snowflake_ago(30000 + (int64_t)i * 100);
            m.channel_id = big;
            m.guild_id = w.guild;
            m.author_id = w.user;
            snprintf(text, sizeof text, "mutable number %d", i);
            m.content = text;
            m.version = 1;
            assert_int_equal(sc_db_upsert_message(w.db, &m), SC_OK);
            mut[i] = m.id;
        }
        assert_int_equal(t_run(NULL, "%s %s --recent-days=0 channel %" PRIu64 " >/dev/null 2>&1",
                               t_bin_path("reindex"), w.common, big),
                         0);
    }
    own_index(&w, big, own, sizeof own);
    start_services(&w, 1);

    /* the fixed pages: a guild search over B (to be promoted) and S, three
     * pages deep, and a channel search of B */
    memset(&s, 0, sizeof s);
    s.w = &w;
    for (i = 0; i < 3; i++)
        snprintf(s.q[i], sizeof s.q[i],
                 "/api/v1/guilds/%" PRIu64 "/messages/search?content=history&offset=%d", w.guild,
                 i * PAGE_MAX);
    snprintf(s.q[3], sizeof s.q[3],
             "/api/v1/channels/%" PRIu64 "/messages/search?content=history&offset=100", big);
    for (i = 0; i < NQ; i++) {
        /* the baseline is taken once the router answers whole: its first
         * search of a just-built index can pass the query deadline on a cold
         * engine and come back partial (seen once in a clean CI run: 0 hits),
         * which says nothing about the promotion under test */
        long want_total = i < 3 ? 1350 : 1200, code = 0;
        int64_t until = sc_now_ms() + 30000;
        do {
            code = search(&w, s.q[i], s.want[i], &s.nwant[i], &s.want_total[i]);
            if (code == 200 && s.nwant[i] == PAGE_MAX && s.want_total[i] == want_total)
                break;
            usleep(200000);
        } while (sc_now_ms() < until);
        assert_int_equal(code, 200);
        assert_int_equal(s.nwant[i], PAGE_MAX);
    }
    assert_int_equal(s.want_total[0], 1350);
    assert_int_equal(s.want_total[3], 1200);
    assert_int_equal(pthread_create(&th, NULL, search_loop, &s), 0);

    memset(&po, 0, sizeof po);
    po.redis.port = atoi(t_env("SC_REDIS_PORT"));
    po.stream = w.stream;
    po.pg_dsn = t_env("SC_PG_DSN");
    pub = sc_publisher_create(&po, err, sizeof err);
    assert_non_null(pub);

    usleep(1500000); /* before */
    {
        char *argv[] = {"/bin/sh", "-c", cmd, NULL};
        snprintf(cmd, sizeof cmd,
                 "exec %s %s --rate=400 --purge-delay-ms=1500 promote %" PRIu64
                 " --shards 3 --to %s",
                 t_bin_path("reindex"), w.common, big, w.cb);
        pid = t_spawn(argv, "/tmp/it_promote-rx.log");
    }
    /* during: live creates, edits and deletes of B while it is moving */
    for (i = 0; i < 200 && !saw_moving; i++) {
        if (sc_db_binding_get(w.db, big, &b) == SC_OK && b.state == SC_BINDING_MOVING)
            saw_moving = 1;
        else
            usleep(20000);
    }
    assert_true(saw_moving);
    assert_string_equal(b.cluster, w.cb);
    assert_string_equal(b.index, own);
    assert_string_equal(b.prev_index, w.idx);
    for (i = 0; i < NLIVE; i++) {
        char text[64];
        live[i] = t_snowflake_ago(0);
        snprintf(text, sizeof text, "livenew %d", i);
        publish(pub, &w, big, live[i], SC_OP_CREATE, 1, text);
        if (i < NMUT / 2) {
            snprintf(text, sizeof text, "edited number %d", i);
            publish(pub, &w, big, mut[i], SC_OP_UPDATE, 2, text);
        }
        if (i < NMUT / 4)
            publish(pub, &w, big, mut[NMUT / 2 + i], SC_OP_DELETE, 2, NULL);
        usleep(60000);
    }
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        char *log = NULL;
        (void)t_run(&log, "cat /tmp/it_promote-rx.log");
        fail_msg("reindex promote failed: %s", log);
    }
    /* after: a few more seconds of the same pages */
    t_end = sc_now_ms() + 3000;
    while (sc_now_ms() < t_end)
        usleep(100000);
    s.stop = 1;
    pthread_join(th, NULL);
    fprintf(stderr, "# %d answers during the promotion: %d non-200, %d different pages\n", s.asked,
            s.bad_status, s.bad_page);
    if (s.bad_page > 0 || s.bad_status > 0)
        fail_msg("%d of %d answers differed (%d non-200); first: %s", s.bad_page, s.asked,
                 s.bad_status, s.first_diff);
    assert_true(s.asked > 20);

    /* the binding, the new index, the old copy */
    assert_int_equal(sc_db_binding_get(w.db, big, &b), SC_OK);
    assert_int_equal(b.state, SC_BINDING_ACTIVE);
    assert_string_equal(b.cluster, w.cb);
    assert_string_equal(b.index, own);
    assert_int_equal(es_shards(1, own), 3);
    /* the indexer's writes of the move have all landed (searchable) */
    for (i = 0; i < 100; i++) {
        if (count_of(&w,
                     (snprintf(q, sizeof q,
                               "/api/v1/channels/%" PRIu64 "/messages/search?content=livenew", big),
                      q)) == NLIVE &&
            count_of(&w,
                     (snprintf(q, sizeof q,
                               "/api/v1/channels/%" PRIu64 "/messages/search?content=edited", big),
                      q)) == NMUT / 2)
            break;
        usleep(100000);
    }
    snprintf(q, sizeof q, "/api/v1/channels/%" PRIu64 "/messages/search?content=livenew", big);
    assert_int_equal(count_of(&w, q), NLIVE);
    snprintf(q, sizeof q, "/api/v1/channels/%" PRIu64 "/messages/search?content=edited", big);
    assert_int_equal(count_of(&w, q), NMUT / 2);
    /* neither the old text of an edit nor a deleted message comes back */
    snprintf(q, sizeof q, "/api/v1/channels/%" PRIu64 "/messages/search?content=mutable", big);
    assert_int_equal(count_of(&w, q), NMUT - NMUT / 2 - NMUT / 4);
    assert_int_equal(es_count(1, own, big), pg_rows(&w, big));
    assert_int_equal(pg_rows(&w, big), 1200 + NMUT + NLIVE);
    assert_int_equal(es_count(0, w.idx, big), 0);     /* purged */
    assert_int_equal(es_count(0, w.idx, small), 150); /* the neighbour stays */
    assert_int_equal(t_run(&out, "%s %s verify channel %" PRIu64 " %" PRIu64 " 2>&1",
                           t_bin_path("reindex"), w.common, big, small),
                     0);
    free(out);

    /* visible: reindex status and admin clusters list */
    assert_int_equal(t_run(&out, "%s %s status 2>&1", t_bin_path("reindex"), w.common), 0);
    if (strstr(out, own) == NULL || strstr(out, "promote") == NULL)
        fail_msg("reindex status does not show %s:\n%s", own, out);
    free(out);
    assert_int_equal(t_run(&out, "%s %s clusters list 2>&1", t_bin_path("admin"), w.common), 0);
    if (strstr(out, own) == NULL || strstr(out, "promoted channels") == NULL)
        fail_msg("admin clusters list does not show %s:\n%s", own, out);
    free(out);

    /* promoting it again is refused, nothing queued */
    assert_int_equal(
        t_run(&out, "%s %s promote %" PRIu64 " 2>&1", t_bin_path("reindex"), w.common, big), 2);
    assert_non_null(strstr(out, "already has its own index"));
    free(out);

    sc_publisher_free(pub);
    teardown(NULL);
    free(mut);
    unlink("/tmp/it_promote-rx.log");
    {
        uint64_t chans[] = {big, small};
        world_free(&w, chans, 2);
    }
}

/* ------------------------------------------------------------ test 2 */

static void test_worker_promotes_by_itself(void **state)
{
    static world w;
    char own[200], own_small[200], cmd[3200];
    uint64_t big, small;
    sc_binding b;
    int i, ok = 0;
    (void)state;
    world_init(&w, "pra");
    big = make_channel(&w, 300, "auto", NULL);
    small = make_channel(&w, 50, "auto", NULL);
    own_index(&w, big, own, sizeof own);
    own_index(&w, small, own_small, sizeof own_small);
    {
        char *argv[] = {"/bin/sh", "-c", cmd, NULL};
        snprintf(cmd, sizeof cmd,
                 "exec %s %s --big-channel-docs=200 --big-channel-shards=2 "
                 "--big-channel-check-s=1 --verify-rate=0 --purge-delay-ms=200 worker",
                 t_bin_path("reindex"), w.common);
        g_pids[2] = t_spawn(argv, "/tmp/it_promote-worker.log");
    }
    for (i = 0; i < 600 && !ok; i++) {
        ok = sc_db_binding_get(w.db, big, &b) == SC_OK && b.state == SC_BINDING_ACTIVE &&
             strcmp(b.index, own) == 0 && es_count(0, w.idx, big) == 0;
        if (!ok)
            usleep(100000);
    }
    if (!ok) {
        char *log = NULL;
        (void)t_run(&log, "cat /tmp/it_promote-worker.log");
        fail_msg("the worker did not promote %" PRIu64 " in 60 s:\n%s", big, log);
    }
    usleep(1500000); /* a later check leaves both channels alone */
    (void)t_stop(g_pids[2], SIGTERM, 10000);
    g_pids[2] = 0;
    /* both clusters have the same room: it went to either; 2 shards there */
    {
        int k = strcmp(b.cluster, w.ca) == 0 ? 0 : 1;
        assert_int_equal(es_shards(k, own), 2);
        assert_int_equal(es_count(k, own, big), 300);
    }
    assert_int_equal(sc_db_binding_get(w.db, small, &b), SC_OK);
    assert_string_equal(b.index, w.idx);
    assert_int_equal(es_shards(0, own_small) + es_shards(1, own_small), 0);
    assert_int_equal(t_run(NULL, "%s %s verify channel %" PRIu64 " >/dev/null 2>&1",
                           t_bin_path("reindex"), w.common, big),
                     0);
    unlink("/tmp/it_promote-worker.log");
    {
        uint64_t chans[] = {big, small};
        world_free(&w, chans, 2);
    }
}

/* ------------------------------------------------------------ test 3 */

static void test_kill9_resumes(void **state)
{
    static world w;
    char own[200], cmd[3200], *out = NULL;
    uint64_t ch;
    sc_job job;
    sc_binding b;
    int pid, i, st;
    (void)state;
    world_init(&w, "prk");
    ch = make_channel(&w, 2500, "kill", NULL);
    own_index(&w, ch, own, sizeof own);
    {
        char *argv[] = {"/bin/sh", "-c", cmd, NULL};
        snprintf(cmd, sizeof cmd,
                 "exec %s %s --rate=300 --reindex-batch=100 --purge-delay-ms=200 promote %" PRIu64
                 " --shards 2 --to %s",
                 t_bin_path("reindex"), w.common, ch, w.cb);
        pid = t_spawn(argv, "/tmp/it_promote-kill.log");
    }
    for (i = 0; i < 300; i++) {
        if (sc_db_job_for_channel(w.db, ch, &job) == SC_OK && job.done >= 500)
            break;
        usleep(50000);
    }
    assert_true(i < 300);
    assert_int_equal(kill(pid, SIGKILL), 0);
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFSIGNALED(st));
    /* mid-way: dual writes, searches on the old copy, the job running */
    assert_int_equal(sc_db_binding_get(w.db, ch, &b), SC_OK);
    assert_int_equal(b.state, SC_BINDING_MOVING);
    assert_string_equal(b.index, own);
    assert_int_equal(sc_db_job_get(w.db, job.id, &job), SC_OK);
    assert_string_equal(job.kind, "promote");
    assert_int_equal(job.state, SC_JOB_RUNNING);
    assert_true(job.done < 2500);
    assert_int_equal(es_count(0, w.idx, ch), 2500);

    st = t_run(&out, "%s %s resume %" PRId64 " 2>&1", t_bin_path("reindex"), w.common, job.id);
    if (st != 0)
        fail_msg("resume: %d: %s", st, out);
    free(out);
    assert_int_equal(sc_db_job_get(w.db, job.id, &job), SC_OK);
    assert_int_equal(job.state, SC_JOB_DONE);
    assert_int_equal(sc_db_binding_get(w.db, ch, &b), SC_OK);
    assert_int_equal(b.state, SC_BINDING_ACTIVE);
    assert_string_equal(b.cluster, w.cb);
    assert_string_equal(b.index, own);
    assert_int_equal(es_shards(1, own), 2);
    assert_int_equal(es_count(1, own, ch), 2500);
    assert_int_equal(es_count(0, w.idx, ch), 0);
    assert_int_equal(t_run(NULL, "%s %s verify channel %" PRIu64 " >/dev/null 2>&1",
                           t_bin_path("reindex"), w.common, ch),
                     0);
    unlink("/tmp/it_promote-kill.log");
    world_free(&w, &ch, 1);
}

/* ------------------------------------------------------------ test 4 */

static void expect_usage(world *w, const char *args, const char *want)
{
    char *out = NULL;
    int rc = t_run(&out, "%s %s %s 2>&1", t_bin_path("reindex"), w->common, args);
    if (rc != 2 || strstr(out, want) == NULL)
        fail_msg("reindex %s: exit %d (want 2), output without '%s':\n%s", args, rc, want, out);
    free(out);
}

static void test_bad_input(void **state)
{
    static world w;
    char args[300];
    uint64_t unbound = t_rand_id();
    sc_job j;
    (void)state;
    world_init(&w, "prx");
    expect_usage(&w, "promote", "give exactly one channel id");
    expect_usage(&w, "promote abc", "give exactly one channel id");
    expect_usage(&w, "promote 1 2", "give exactly one channel id");
    expect_usage(&w, "promote 12 --shards 0", "not a shard count 1..1024");
    expect_usage(&w, "promote 12 --shards 1025", "not a shard count 1..1024");
    expect_usage(&w, "promote 12 --shards", "missing value");
    expect_usage(&w, "promote 12 --to 'bad name!'", "not a valid cluster name");
    expect_usage(&w, "promote 12 --to nosuchcluster", "unknown cluster");
    expect_usage(&w, "channel 12 --shards 3", "--shards applies only to promote");
    snprintf(args, sizeof args, "promote %" PRIu64, unbound);
    expect_usage(&w, args, "has no binding");
    assert_int_equal(sc_db_job_for_channel(w.db, unbound, &j), SC_ENOTFOUND);
    world_free(&w, NULL, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test_teardown(test_promote_while_searching, teardown),
        cmocka_unit_test_teardown(test_worker_promotes_by_itself, teardown),
        cmocka_unit_test_teardown(test_kill9_resumes, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
