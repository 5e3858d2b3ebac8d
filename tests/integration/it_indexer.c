/*
 * it_indexer.c - end-to-end tests of the real `indexer` binary against the
 * stack: events published with libscour/publish.c end in the right state in
 * OpenSearch (versions in and out of order, tombstones), nothing is lost or
 * duplicated across a kill -9 and restart, a stopped cluster stalls only its
 * own channels, poison goes to the dead-letter stream, /metrics counts every
 * stage, and SIGTERM exits 0 with nothing pending.
 *
 * Every test uses its own stream, group, namespace, index name and random
 * channel ids, and deletes its index, streams and binding rows at the end.
 * The cluster-stop test is destructive (es-kill 2); it is skipped when
 * SC_TEST_NO_DESTRUCTIVE=1 or when the stack has fewer than 2 clusters.
 */
#include "testlib.h"

#include "db.h"
#include "es.h"
#include "event.h"
#include "publish.h"
#include "queue.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAXCH 16

/* One test's world. */
typedef struct world {
    char name[64]; /* unique prefix */
    char stream[96], group[96], ns[96], index[96], dead[128];
    char clusters[512]; /* static list given to the indexer */
    int n_clusters;     /* clusters used */
    es_client *es[2];   /* owned, one per cluster */
    sc_publisher *pub;  /* owned */
    sc_queue *q;        /* owned; inspection (lag, dead stream) */
    sc_db *db;          /* owned */
    uint64_t ch[MAXCH]; /* channels used (bindings deleted at end) */
    int n_ch;
    int metrics_port;
    char log[256]; /* indexer log file */
} world;

static int n_stack_clusters(void)
{
    const char *s = t_env_opt("SC_ES_CLUSTERS");
    return s ? atoi(s) : 1;
}

static void world_open(world *w, int n_clusters)
{
    char err[256] = "";
    sc_publisher_opts po;
    sc_queue_opts qo;
    int i;
    memset(w, 0, sizeof *w);
    t_unique(w->name, sizeof w->name, "itix");
    snprintf(w->stream, sizeof w->stream, "%s:events", w->name);
    snprintf(w->group, sizeof w->group, "%s-g", w->name);
    snprintf(w->ns, sizeof w->ns, "%s", w->name);
    snprintf(w->index, sizeof w->index, "%s-idx", w->name);
    snprintf(w->dead, sizeof w->dead, "%s:dead", w->stream);
    snprintf(w->log, sizeof w->log, "/tmp/%s.log", w->name);
    w->n_clusters = n_clusters;
    w->clusters[0] = '\0';
    for (i = 0; i < n_clusters; i++) {
        size_t l = strlen(w->clusters);
        snprintf(w->clusters + l, sizeof w->clusters - l, "%six%d=%s", i ? "," : "", i + 1,
                 t_es_url(i));
        w->es[i] = t_es_open(t_es_url(i));
    }
    w->metrics_port = 30000 + (int)(t_rand_id() % 20000);
    memset(&po, 0, sizeof po);
    po.redis.host = t_env("SC_REDIS_HOST");
    po.redis.port = atoi(t_env("SC_REDIS_PORT"));
    po.stream = w->stream;
    w->pub = sc_publisher_create(&po, err, sizeof err);
    if (w->pub == NULL)
        fail_msg("publisher: %s", err);
    memset(&qo, 0, sizeof qo);
    qo.redis = po.redis;
    qo.stream = w->stream;
    qo.group = w->group;
    qo.consumer = "inspector";
    w->q = sc_queue_create(&qo, err, sizeof err);
    if (w->q == NULL)
        fail_msg("queue: %s", err);
    w->db = sc_db_create(t_env("SC_PG_DSN"), err, sizeof err);
    if (w->db == NULL)
        fail_msg("db: %s", err);
}

static void world_close(world *w)
{
    PGconn *c = PQconnectdb(t_env("SC_PG_DSN"));
    const char *keys[2];
    char sql[256];
    int i;
    for (i = 0; i < w->n_ch; i++) {
        snprintf(sql, sizeof sql, "DELETE FROM channel_bindings WHERE channel_id = %" PRIu64,
                 w->ch[i]);
        PQclear(PQexec(c, sql));
    }
    PQfinish(c);
    keys[0] = w->stream;
    keys[1] = w->dead;
    if (sc_redis_del(sc_queue_redis(w->q), keys, 2, NULL) != SC_OK) {
    }
    for (i = 0; i < w->n_clusters; i++) {
        if (es_delete_index(w->es[i], w->index) != SC_OK) {
        }
        es_client_free(w->es[i]);
    }
    sc_publisher_free(w->pub);
    sc_queue_free(w->q);
    sc_db_free(w->db);
    unlink(w->log);
}

/* A new channel bound to cluster ixK (1-based) on the world's index. */
static uint64_t bound_channel(world *w, int k, const char *index)
{
    sc_binding b;
    char cl[16];
    uint64_t ch = t_rand_id();
    snprintf(cl, sizeof cl, "ix%d", k);
    assert_true(w->n_ch < MAXCH);
    w->ch[w->n_ch++] = ch;
    assert_int_equal(sc_db_binding_insert_if_absent(w->db, ch, cl, index ? index : w->index,
                                                    SC_BINDING_ACTIVE, &b),
                     SC_OK);
    return ch;
}

/* Start the indexer. extra: NULL-terminated extra arguments. */
static int start_indexer(world *w, const char *consumer, const char *const *extra)
{
    char a[24][600];
    char *argv[48];
    int n = 0, i;
#define ARG(...) snprintf(a[n], sizeof a[n], __VA_ARGS__), argv[n] = a[n], n++
    ARG("%s", t_bin_path("indexer"));
    ARG("--namespace=%s", w->ns);
    ARG("--stream=%s", w->stream);
    ARG("--group=%s", w->group);
    ARG("--redis-host=%s", t_env("SC_REDIS_HOST"));
    ARG("--redis-port=%s", t_env("SC_REDIS_PORT"));
    ARG("--pg-dsn=%s", t_env("SC_PG_DSN"));
    ARG("--etcd-url=%s", t_env("SC_ETCD_URL"));
    ARG("--clusters=%s", w->clusters);
    ARG("--index-name=%s", w->index);
    ARG("--index-schema=%s", t_repo_path("schemas/elasticsearch/messages.json"));
    ARG("--consumer=%s", consumer);
    ARG("--metrics-port=%d", w->metrics_port);
    ARG("--workers=2");
    ARG("--linger-ms=20");
    ARG("--read-block-ms=200");
    ARG("--retry-base-ms=50");
    ARG("--retry-max-ms=1000");
    ARG("--es-request-timeout-ms=5000");
    ARG("--es-connect-timeout-ms=1000");
#undef ARG
    for (i = 0; extra != NULL && extra[i] != NULL; i++)
        argv[n++] = (char *)extra[i];
    argv[n] = NULL;
    return t_spawn(argv, w->log);
}

static void publish(world *w, sc_op op, uint64_t id, uint64_t ch, int64_t version,
                    const char *content)
{
    sc_event ev;
    char buf[256];
    memset(&ev, 0, sizeof ev);
    snprintf(buf, sizeof buf, "%s", content ? content : "");
    ev.op = op;
    ev.msg.id = id;
    ev.msg.channel_id = ch;
    ev.msg.guild_id = 4242;
    ev.msg.author_id = 77;
    ev.msg.content = buf;
    ev.msg.version = version;
    ev.msg.deleted = op == SC_OP_DELETE;
    if (sc_publish_event(w->pub, &ev, NULL) != SC_OK)
        fail_msg("publish: %s", sc_publisher_errstr(w->pub));
}

/* _count of query on cluster k (0-based) after a refresh; -1 on error. */
static int64_t es_count(world *w, int k, const char *index, const char *query)
{
    sc_buf resp;
    char path[256];
    cJSON *j, *c;
    int64_t n = -1;
    sc_buf_init(&resp, 0);
    if (es_refresh(w->es[k], index) != SC_OK) {
    }
    snprintf(path, sizeof path, "/%s/_count", index);
    if (es_request(w->es[k], "POST", path, query, strlen(query), &resp, NULL) == SC_OK &&
        resp.data != NULL) {
        j = cJSON_Parse(resp.data);
        c = cJSON_GetObjectItem(j, "count");
        if (cJSON_IsNumber(c))
            n = (int64_t)c->valuedouble;
        cJSON_Delete(j);
    }
    sc_buf_free(&resp);
    return n;
}

/* Live (not deleted) docs of channel ch on cluster k. */
static int64_t live_docs(world *w, int k, uint64_t ch)
{
    char q[512];
    snprintf(q, sizeof q,
             "{\"query\":{\"bool\":{\"filter\":[{\"term\":{\"channel_id\":%" PRIu64 "}},"
             "{\"term\":{\"deleted\":false}}]}}}",
             ch);
    return es_count(w, k, w->index, q);
}

/* 1 if message id on cluster k matches extra filter (JSON clause) and has
 * external version `version`. */
static int doc_is(world *w, int k, uint64_t id, const char *clause, int64_t version)
{
    char q[768], path[256];
    sc_buf resp;
    cJSON *j, *hits, *h, *v;
    int ok = 0;
    snprintf(q, sizeof q,
             "{\"version\":true,\"query\":{\"bool\":{\"filter\":[{\"ids\":{\"values\":[\"%" PRIu64
             "\"]}}%s%s]}}}",
             id, clause ? "," : "", clause ? clause : "");
    sc_buf_init(&resp, 0);
    if (es_refresh(w->es[k], w->index) != SC_OK) {
    }
    snprintf(path, sizeof path, "/%s/_search", w->index);
    if (es_request(w->es[k], "POST", path, q, strlen(q), &resp, NULL) == SC_OK &&
        resp.data != NULL) {
        j = cJSON_Parse(resp.data);
        hits = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "hits"), "hits");
        if (cJSON_GetArraySize(hits) == 1) {
            h = cJSON_GetArrayItem(hits, 0);
            v = cJSON_GetObjectItem(h, "_version");
            ok = cJSON_IsNumber(v) && (int64_t)v->valuedouble == version;
        }
        cJSON_Delete(j);
    }
    sc_buf_free(&resp);
    return ok;
}

static int64_t group_pending(world *w)
{
    int64_t lag = -1, pend = -1;
    if (sc_queue_lag(w->q, &lag, &pend) != SC_OK)
        return -1;
    return pend + (lag > 0 ? lag : 0);
}

static void stop_ok(world *w, int pid)
{
    int st = t_stop(pid, SIGTERM, 30000);
    if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
        char *out = NULL;
        (void)t_run(&out, "tail -30 %s", w->log);
        fail_msg("indexer did not exit 0 on SIGTERM (status %d); log:\n%s", st, out ? out : "");
    }
    assert_int_equal(group_pending(w), 0);
}

/* ------------------------------------------------------------- tests */

typedef struct versions_ctx {
    world *w;
    uint64_t m1, m2, m3, m4;
} versions_ctx;

static int versions_done(void *arg)
{
    versions_ctx *c = arg;
    world *w = c->w;
    return doc_is(w, 0, c->m1, "{\"match\":{\"content\":\"two\"}}", 2) &&
           doc_is(w, 0, c->m2, "{\"term\":{\"deleted\":true}}", 3) &&
           doc_is(w, 0, c->m3, "{\"match\":{\"content\":\"fresh\"}}", 2) &&
           doc_is(w, 0, c->m4, "{\"term\":{\"deleted\":false}}", 1);
}

/* Create / edit / delete in order and out of order end in the right final
 * state; /metrics shows every stage; SIGTERM exits 0 with nothing pending. */
static void test_versions_and_metrics(void **state)
{
    world w;
    versions_ctx c;
    uint64_t ch;
    int pid;
    char url[128], *body = NULL;
    long code;
    SC_UNUSED(state);
    world_open(&w, 1);
    ch = bound_channel(&w, 1, NULL);
    c.w = &w;
    c.m1 = t_snowflake_ago(60000);
    c.m2 = t_snowflake_ago(50000);
    c.m3 = t_snowflake_ago(40000);
    c.m4 = t_snowflake_ago(30000);
    /* in order */
    publish(&w, SC_OP_CREATE, c.m1, ch, 1, "alpha one");
    publish(&w, SC_OP_UPDATE, c.m1, ch, 2, "alpha two");
    /* delete before create/edit */
    publish(&w, SC_OP_DELETE, c.m2, ch, 3, NULL);
    publish(&w, SC_OP_CREATE, c.m2, ch, 1, "beta original");
    publish(&w, SC_OP_UPDATE, c.m2, ch, 2, "beta edited");
    /* edit before create */
    publish(&w, SC_OP_UPDATE, c.m3, ch, 2, "gamma fresh");
    publish(&w, SC_OP_CREATE, c.m3, ch, 1, "gamma stale");
    publish(&w, SC_OP_CREATE, c.m4, ch, 1, "delta");
    pid = start_indexer(&w, "cv", NULL);
    if (!t_wait_until(versions_done, &c, 30000)) {
        char *out = NULL;
        (void)t_run(&out, "tail -30 %s", w.log);
        fail_msg("final state not reached; indexer log:\n%s", out ? out : "");
    }
    /* the stale versions never overwrote anything */
    assert_false(doc_is(&w, 0, c.m1, "{\"match\":{\"content\":\"one\"}}", 2));
    assert_false(doc_is(&w, 0, c.m3, "{\"match\":{\"content\":\"stale\"}}", 2));
    assert_false(doc_is(&w, 0, c.m2, "{\"match\":{\"content\":\"beta\"}}", 3));
    assert_int_equal(live_docs(&w, 0, ch), 3);

    /* metrics: every stage counted; 8 events read and acked */
    snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", w.metrics_port);
    {
        int64_t deadline = sc_now_ms() + 5000;
        for (;;) {
            free(body);
            body = NULL;
            code = t_http("GET", url, NULL, NULL, &body);
            if (code == 200 && body &&
                strstr(body, "scour_indexer_events_total{stage=\"acked\"} 8"))
                break;
            if (sc_now_ms() > deadline)
                fail_msg("metrics: %ld %s", code, body ? body : "");
            usleep(100000);
        }
    }
    assert_non_null(strstr(body, "scour_indexer_events_total{stage=\"read\"} 8"));
    assert_non_null(strstr(body, "scour_indexer_events_total{stage=\"parsed\"} 8"));
    assert_non_null(strstr(body, "scour_indexer_events_total{stage=\"bound\"} 8"));
    assert_non_null(strstr(body, "scour_indexer_events_total{stage=\"sent\"}"));
    assert_non_null(strstr(body, "scour_indexer_bulk_seconds_bucket{cluster=\"ix1\""));
    assert_non_null(strstr(body, "scour_indexer_queue_lag"));
    assert_non_null(strstr(body, "scour_indexer_redis_up 1"));
    free(body);
    /* readiness: the stream is readable */
    body = NULL;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/readyz", w.metrics_port);
    assert_int_equal(t_http("GET", url, NULL, NULL, &body), 200);
    assert_non_null(strstr(body, "\"redis\":true"));
    free(body);
    stop_ok(&w, pid);
    world_close(&w);
}

/* ---- poison ---- */

typedef struct count_ctx {
    world *w;
    int k;       /* cluster */
    uint64_t ch; /* channel */
    const char *index;
    int64_t want;
} count_ctx;

static int count_reached(void *arg)
{
    count_ctx *c = arg;
    char q[256];
    snprintf(q, sizeof q, "{\"query\":{\"term\":{\"channel_id\":%" PRIu64 "}}}", c->ch);
    return es_count(c->w, c->k, c->index, q) == c->want;
}

static int dead_two(void *arg)
{
    world *w = arg;
    int64_t n = 0;
    return sc_queue_dead_count(w->q, &n) == SC_OK && n == 2;
}

/* Malformed JSON and a document the index rejects (400) are dead-lettered
 * with their reason and payload; everything else keeps flowing and is
 * acked. */
static void test_poison(void **state)
{
    world w;
    char pidx[128], path[160];
    const char *mapping = "{\"mappings\":{\"properties\":{\"content\":{\"type\":\"long\"},"
                          "\"deleted\":{\"type\":\"boolean\"}}}}";
    uint64_t ch;
    count_ctx cc;
    int pid, i;
    redisReply *rep = NULL;
    const char *argv[4];
    SC_UNUSED(state);
    world_open(&w, 1);
    /* an index where content must be a number: "hello" is a 400 */
    snprintf(pidx, sizeof pidx, "%s-strict", w.index);
    snprintf(path, sizeof path, "/%s", pidx);
    assert_int_equal(es_request(w.es[0], "PUT", path, mapping, strlen(mapping), NULL, NULL), SC_OK);
    ch = bound_channel(&w, 1, pidx);
    assert_int_equal(sc_publish_raw(w.pub, "{\"op\":\"create\", not json", 24), SC_OK);
    for (i = 0; i < 10; i++)
        publish(&w, SC_OP_CREATE, t_snowflake_ago(1000 + i), ch, 1, "12345");
    publish(&w, SC_OP_CREATE, t_snowflake_ago(500), ch, 1, "hello");
    for (i = 0; i < 10; i++)
        publish(&w, SC_OP_CREATE, t_snowflake_ago(100 + i), ch, 1, "678");
    pid = start_indexer(&w, "cp", NULL);
    cc.w = &w;
    cc.k = 0;
    cc.ch = ch;
    cc.index = pidx;
    cc.want = 20;
    assert_true(t_wait_until(count_reached, &cc, 30000));
    assert_true(t_wait_until(dead_two, &w, 10000));
    argv[0] = "XRANGE";
    argv[1] = w.dead;
    argv[2] = "-";
    argv[3] = "+";
    assert_int_equal(sc_redis_command_argv(sc_queue_redis(w.q), 4, argv, NULL, &rep), SC_OK);
    assert_int_equal(rep->type, REDIS_REPLY_ARRAY);
    assert_int_equal(rep->elements, 2);
    {
        int saw_malformed = 0, saw_rejected = 0;
        size_t e, f;
        for (e = 0; e < rep->elements; e++) {
            redisReply *fields = rep->element[e]->element[1];
            const char *reason = "", *payload = "";
            for (f = 0; f + 1 < fields->elements; f += 2) {
                if (strcmp(fields->element[f]->str, "reason") == 0)
                    reason = fields->element[f + 1]->str;
                if (strcmp(fields->element[f]->str, "e") == 0)
                    payload = fields->element[f + 1]->str;
            }
            if (strstr(reason, "malformed") && strstr(payload, "not json"))
                saw_malformed = 1;
            if (strstr(reason, "rejected") && strstr(reason, "400") && strstr(payload, "hello"))
                saw_rejected = 1;
        }
        assert_true(saw_malformed);
        assert_true(saw_rejected);
    }
    freeReplyObject(rep);
    stop_ok(&w, pid);
    if (es_delete_index(w.es[0], pidx) != SC_OK) {
    }
    world_close(&w);
}

/* Events holding a NUL - a raw NUL byte and garbage after the JSON value,
 * or \u0000 inside the content (it would cut the indexed text) - are
 * dead-lettered with the parser's reason and their payload; nothing of them
 * is indexed, and the valid event behind them on the same channel is. */
static void test_nul_events(void **state)
{
    world w;
    uint64_t ch, bad1 = t_snowflake_ago(3000), bad2 = t_snowflake_ago(2000);
    uint64_t good = t_snowflake_ago(1000);
    char e1[512], e2[512];
    int n1, n2, pid, saw_trailing = 0, saw_escape = 0;
    count_ctx cc;
    redisReply *rep = NULL;
    const char *argv[4];
    SC_UNUSED(state);
    world_open(&w, 1);
    ch = bound_channel(&w, 1, NULL);
    n1 = snprintf(e1, sizeof e1,
                  "{\"op\":\"create\",\"version\":1,\"message\":{\"id\":\"%" PRIu64 "\","
                  "\"channel_id\":\"%" PRIu64
                  "\",\"author_id\":\"77\",\"content\":\"valid then nul\"}}",
                  bad1, ch);
    memcpy(e1 + n1, "\0garbage", 8);
    n1 += 8;
    n2 = snprintf(e2, sizeof e2,
                  "{\"op\":\"create\",\"version\":1,\"message\":{\"id\":\"%" PRIu64 "\","
                  "\"channel_id\":\"%" PRIu64
                  "\",\"author_id\":\"77\",\"content\":\"cut\\u0000here\"}}",
                  bad2, ch);
    assert_int_equal(sc_publish_raw(w.pub, e1, (size_t)n1), SC_OK);
    assert_int_equal(sc_publish_raw(w.pub, e2, (size_t)n2), SC_OK);
    publish(&w, SC_OP_CREATE, good, ch, 1, "after the nul events");
    pid = start_indexer(&w, "cn", NULL);
    cc.w = &w;
    cc.k = 0;
    cc.ch = ch;
    cc.index = w.index;
    cc.want = 1;
    assert_true(t_wait_until(count_reached, &cc, 30000));
    assert_true(t_wait_until(dead_two, &w, 10000));
    argv[0] = "XRANGE";
    argv[1] = w.dead;
    argv[2] = "-";
    argv[3] = "+";
    assert_int_equal(sc_redis_command_argv(sc_queue_redis(w.q), 4, argv, NULL, &rep), SC_OK);
    assert_int_equal(rep->type, REDIS_REPLY_ARRAY);
    assert_int_equal(rep->elements, 2);
    for (size_t e = 0; e < rep->elements; e++) {
        redisReply *fields = rep->element[e]->element[1];
        const char *reason = "";
        redisReply *payload = NULL;
        for (size_t f = 0; f + 1 < fields->elements; f += 2) {
            if (strcmp(fields->element[f]->str, "reason") == 0)
                reason = fields->element[f + 1]->str;
            if (strcmp(fields->element[f]->str, "e") == 0)
                payload = fields->element[f + 1];
        }
        assert_non_null(payload);
        if (strstr(reason, "malformed event: event: trailing data after the JSON value") &&
            strstr(reason, "(a NUL byte)") && payload->len == (size_t)n1 &&
            memcmp(payload->str, e1, (size_t)n1) == 0)
            saw_trailing = 1;
        if (strstr(reason, "malformed event: event: a string holds \\u0000") &&
            payload->len == (size_t)n2 && memcmp(payload->str, e2, (size_t)n2) == 0)
            saw_escape = 1;
    }
    freeReplyObject(rep);
    if (!saw_trailing || !saw_escape)
        fail_msg("dead letters lack a NUL reason (trailing %d, escape %d)", saw_trailing,
                 saw_escape);
    /* only the valid event is indexed: neither NUL event, cut or whole */
    assert_true(doc_is(&w, 0, good, NULL, 1));
    assert_false(doc_is(&w, 0, bad1, NULL, 1));
    assert_false(doc_is(&w, 0, bad2, NULL, 1));
    assert_int_equal(live_docs(&w, 0, ch), 1);
    stop_ok(&w, pid);
    world_close(&w);
}

/* ---- kill -9 and restart ---- */

#define KILL_N 3000
#define KILL_CH 4

typedef struct total_ctx {
    world *w;
    uint64_t *ch;
    int n;
    int64_t want; /* >= want (if exact == 0) or == want */
    int exact;
} total_ctx;

static int64_t total_live(world *w, const uint64_t *ch, int n)
{
    int64_t t = 0, c;
    int i, k;
    for (i = 0; i < n; i++)
        for (k = 0; k < w->n_clusters; k++) {
            c = live_docs(w, k, ch[i]);
            if (c < 0)
                c = 0; /* index not created there (yet) */
            t += c;
        }
    return t;
}

static int total_reached(void *arg)
{
    total_ctx *c = arg;
    int64_t t = total_live(c->w, c->ch, c->n);
    return c->exact ? t == c->want : t >= c->want;
}

/* kill -9 in the middle of a large backlog, restart with the same consumer
 * name, then kill again and finish with another consumer that claims the
 * dead one's entries: every message is searchable exactly once. */
static void test_kill_restart(void **state)
{
    world w;
    uint64_t ch[KILL_CH];
    total_ctx tc;
    int pid, i, st;
    const char *small[] = {"--batch-count=50", "--claim-idle-ms=1500", NULL};
    SC_UNUSED(state);
    world_open(&w, n_stack_clusters() >= 2 ? 2 : 1);
    for (i = 0; i < KILL_CH; i++)
        ch[i] = bound_channel(&w, 1 + i % w.n_clusters, NULL);
    {
        /* publish in pipelined chunks */
        sc_buf b;
        sc_buf_init(&b, 0);
        for (i = 0; i < KILL_N; i++)
            publish(&w, SC_OP_CREATE, t_snowflake_ago(100000 - i), ch[i % KILL_CH], 1,
                    "kill restart body");
        sc_buf_free(&b);
    }
    tc.w = &w;
    tc.ch = ch;
    tc.n = KILL_CH;
    tc.exact = 0;

    pid = start_indexer(&w, "ck", small);
    tc.want = 300;
    assert_true(t_wait_until(total_reached, &tc, 30000));
    kill(pid, SIGKILL);
    st = t_stop(pid, SIGKILL, 5000);
    SC_UNUSED(st);
    assert_true(total_live(&w, ch, KILL_CH) < KILL_N);

    /* same consumer name: its own pending entries come first */
    pid = start_indexer(&w, "ck", small);
    tc.want = total_live(&w, ch, KILL_CH) + 300;
    if (tc.want < KILL_N) {
        assert_true(t_wait_until(total_reached, &tc, 30000));
        kill(pid, SIGKILL);
        (void)t_stop(pid, SIGKILL, 5000);
        /* another consumer: claims ck's idle entries after claim_idle_ms */
        pid = start_indexer(&w, "ck2", small);
    }
    tc.want = KILL_N;
    tc.exact = 1;
    if (!t_wait_until(total_reached, &tc, 40000)) {
        char *out = NULL;
        (void)t_run(&out, "tail -20 %s", w.log);
        fail_msg("have %" PRId64 " of %d; log:\n%s", total_live(&w, ch, KILL_CH), KILL_N,
                 out ? out : "");
    }
    /* no duplicates: _id = message id, so the count is exact */
    assert_int_equal(total_live(&w, ch, KILL_CH), KILL_N);
    {
        int64_t deadline = sc_now_ms() + 10000;
        while (group_pending(&w) != 0 && sc_now_ms() < deadline)
            usleep(100000);
    }
    stop_ok(&w, pid);
    world_close(&w);
}

/* ---- a cluster stops ---- */

/* Channels bound to ix1 and ix2; cluster 2 is killed while events flow:
 * ix1's channels keep being indexed (and acked) while ix2 is down; after
 * ix2 comes back nothing bound to it is lost. */
static void test_cluster_down(void **state)
{
    world w;
    uint64_t c1, c2;
    count_ctx cc;
    int pid, i;
    const char *no = getenv("SC_TEST_NO_DESTRUCTIVE");
    SC_UNUSED(state);
    if ((no != NULL && strcmp(no, "1") == 0) || n_stack_clusters() < 2) {
        print_message("skipped: needs >= 2 clusters and destructive tests allowed\n");
        skip();
    }
    world_open(&w, 2);
    c1 = bound_channel(&w, 1, NULL);
    c2 = bound_channel(&w, 2, NULL);
    pid = start_indexer(&w, "cd", NULL);
    /* both clusters work: the index exists on both */
    publish(&w, SC_OP_CREATE, t_snowflake_ago(9000), c1, 1, "before one");
    publish(&w, SC_OP_CREATE, t_snowflake_ago(9000), c2, 1, "before two");
    cc.w = &w;
    cc.index = w.index;
    cc.want = 1;
    cc.k = 1;
    cc.ch = c2;
    assert_true(t_wait_until(count_reached, &cc, 20000));

    t_stack("es-kill 2");
    for (i = 0; i < 200; i++) {
        publish(&w, SC_OP_CREATE, t_snowflake_ago(8000 - i), c1, 1, "while down one");
        publish(&w, SC_OP_CREATE, t_snowflake_ago(8000 - i), c2, 1, "while down two");
    }
    /* cluster 1 keeps indexing while cluster 2 is down */
    cc.k = 0;
    cc.ch = c1;
    cc.want = 201;
    assert_true(t_wait_until(count_reached, &cc, 20000));
    /* and cluster 2's entries are still pending, not acked */
    assert_true(group_pending(&w) >= 200);

    t_stack("es-start 2");
    es_client_free(w.es[1]);
    w.es[1] = t_es_open(t_es_url(1));
    cc.k = 1;
    cc.ch = c2;
    cc.want = 201;
    if (!t_wait_until(count_reached, &cc, 40000)) {
        char *out = NULL;
        (void)t_run(&out, "tail -20 %s", w.log);
        fail_msg("cluster 2 did not catch up; log:\n%s", out ? out : "");
    }
    {
        int64_t deadline = sc_now_ms() + 10000;
        while (group_pending(&w) != 0 && sc_now_ms() < deadline)
            usleep(100000);
    }
    stop_ok(&w, pid);
    world_close(&w);
}

/* The publisher CLI: bad lines are reported with their number and make the
 * exit code 1, the good ones are still published (and written to PG with
 * --write-db). */
static void test_publish_cli(void **state)
{
    world w;
    char path[128], *out = NULL;
    FILE *f;
    uint64_t id = t_snowflake_ago(1000), ch = t_rand_id();
    int rc;
    redisReply *rep = NULL;
    const char *argv[2];
    sc_message *rows = NULL;
    size_t nrows = 0;
    SC_UNUSED(state);
    world_open(&w, 1);
    snprintf(path, sizeof path, "/tmp/%s.jsonl", w.name);
    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f,
            "{\"op\":\"create\",\"version\":1,\"message\":{\"id\":\"%" PRIu64
            "\",\"channel_id\":\"%" PRIu64 "\",\"author_id\":\"7\",\"content\":\"cli hello\"}}\n"
            "{\"op\":\"create\",\"version\":1,\"message\":{\"id\":\"oops\"}}\n"
            "\n"
            "{\"op\":\"update\",\"version\":2,\"message\":{\"id\":\"%" PRIu64
            "\",\"channel_id\":\"%" PRIu64 "\",\"author_id\":\"7\",\"content\":\"cli edited\"}}\n",
            id, ch, id, ch);
    fclose(f);
    rc = t_run(
        &out,
        "%s --input=%s --stream=%s --redis-host=%s --redis-port=%s --write-db --pg-dsn='%s' 2>&1",
        t_bin_path("scour-publish"), path, w.stream, t_env("SC_REDIS_HOST"), t_env("SC_REDIS_PORT"),
        t_env("SC_PG_DSN"));
    unlink(path);
    assert_int_equal(rc, 1);
    assert_non_null(out);
    assert_non_null(strstr(out, "line 2:"));
    assert_non_null(strstr(out, "published 2, invalid 1"));
    free(out);
    argv[0] = "XLEN";
    argv[1] = w.stream;
    assert_int_equal(sc_redis_command_argv(sc_queue_redis(w.q), 2, argv, NULL, &rep), SC_OK);
    assert_int_equal(rep->integer, 2);
    freeReplyObject(rep);
    assert_int_equal(sc_db_fetch_messages(w.db, &id, 1, &rows, &nrows), SC_OK);
    assert_int_equal(nrows, 1);
    assert_string_equal(rows[0].content, "cli edited");
    assert_int_equal(rows[0].version, 2);
    sc_message_clear(&rows[0]);
    free(rows);
    {
        PGconn *c = PQconnectdb(t_env("SC_PG_DSN"));
        char sql[128];
        snprintf(sql, sizeof sql, "DELETE FROM messages WHERE id = %" PRIu64, id);
        PQclear(PQexec(c, sql));
        PQfinish(c);
    }
    world_close(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_versions_and_metrics), cmocka_unit_test(test_poison),
        cmocka_unit_test(test_nul_events),           cmocka_unit_test(test_kill_restart),
        cmocka_unit_test(test_cluster_down),         cmocka_unit_test(test_publish_cli),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
