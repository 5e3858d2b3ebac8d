/*
 * it_verify.c - integration tests of `reindex verify` (reindex/verify.c +
 * libscour/verify.c) against the real stack. Each test builds a channel with
 * `reindex channel`, makes one kind of drift by hand (in OpenSearch, in
 * PostgreSQL, in the Redis stream, by deleting the index, or by leaving a
 * stale copy on another cluster), then checks that verify reports it with
 * exit code 3, that one `verify --repair` brings the search side back to
 * PostgreSQL (ids, versions, tombstones, current text), and that verify then
 * agrees (exit 0). Also: an agreeing channel costs a few aggregation
 * requests and lists no id; the digest SQL equals sc_digest; repair racing
 * live writes never puts an older version back; usage and failure exits.
 *
 * Isolation as in it_reindex.c: random ids, a unique namespace, unique
 * cluster names (a static `clusters` list) and a unique index per test.
 */
#include "testlib.h"

#include "bulk.h"
#include "db.h"
#include "digest.h"
#include "esdoc.h"
#include "message.h"
#include "publish.h"
#include "redis.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static t_rxfx F; /* the test's world (testlib.h) */

static int setup(void **state)
{
    (void)state;
    t_rxfx_setup(&F, "vf");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    t_rxfx_teardown(&F);
    return 0;
}

/* ------------------------------------------------------------ helpers */

static int run(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int run(char **out, const char *fmt, ...)
{
    char words[1024];
    va_list ap;
    int rc;
    char *o = NULL;
    va_start(ap, fmt);
    vsnprintf(words, sizeof words, fmt, ap);
    va_end(ap);
    rc = t_run(&o, "%s %s %s 2>&1", t_bin_path("reindex"), words, F.args);
    if (out != NULL)
        *out = o;
    else
        free(o);
    return rc;
}

/* n rows over the last 20 days, content "w<id>", some edited / deleted. */
static uint64_t seed_rows(int n, uint64_t *ids)
{
    uint64_t ch = t_rand_id(), prev = 0;
    int64_t span = 20LL * 86400000LL;
    int i;
    assert_int_equal(sc_db_upsert_channel(F.db, ch, F.guild, "vf", "text", NULL), SC_OK);
    for (i = 0; i < n; i++) {
        char content[64];
        uint64_t id = t_snowflake_ago(span - (span / n) * i);
        if (id <= prev)
            id = prev + 1;
        prev = id;
        snprintf(content, sizeof content, "w%" PRIu64 " verify test", id);
        t_rxfx_put(&F, ch, id, i % 5 == 0 ? 3 : 1, i % 13 == 0, content);
        if (ids != NULL)
            ids[i] = id;
    }
    return ch;
}

/* A channel of n rows bound to cluster and built there by `reindex`. */
static uint64_t built_channel(int n, uint64_t *ids, const char *cluster)
{
    sc_binding b;
    char *out = NULL;
    uint64_t ch = seed_rows(n, ids);
    int rc;
    assert_int_equal(
        sc_db_binding_insert_if_absent(F.db, ch, cluster, F.index, SC_BINDING_ACTIVE, &b), SC_OK);
    rc = run(&out, "channel %" PRIu64, ch);
    if (rc != 0)
        fail_msg("reindex rc %d: %s", rc, out);
    free(out);
    return ch;
}

/* The first JSON line of out. cJSON_Delete. */
static cJSON *first_json(const char *out)
{
    const char *p = strchr(out, '{');
    const char *e = p != NULL ? strchr(p, '\n') : NULL;
    cJSON *j = p != NULL ? cJSON_ParseWithLength(p, e != NULL ? (size_t)(e - p) : strlen(p)) : NULL;
    if (j == NULL)
        fail_msg("no JSON in output: %s", out);
    return j;
}

static int64_t jnum(const cJSON *j, const char *k)
{
    const cJSON *n = cJSON_GetObjectItem(j, k);
    if (!cJSON_IsNumber(n))
        fail_msg("no number '%s'", k);
    return (int64_t)n->valuedouble;
}

static const char *jstr(const cJSON *j, const char *k)
{
    const cJSON *n = cJSON_GetObjectItem(j, k);
    if (!cJSON_IsString(n))
        fail_msg("no string '%s'", k);
    return n->valuestring;
}

/* verify --json CH [extra]: exit code, and the channel's JSON in *j. */
static int verify_json(uint64_t ch, const char *extra, cJSON **j)
{
    char *out = NULL;
    int rc = run(&out, "verify channel %" PRIu64 " --json %s", ch, extra != NULL ? extra : "");
    *j = first_json(out);
    free(out);
    return rc;
}

/* Search equals PostgreSQL for ch on cluster: every row has its document
 * with the row's external version and deleted flag; every other document is
 * an orphan tombstone (deleted, digest 0); live rows are found by their
 * current text, deleted ones are not. */
static void assert_equal_pg(const char *cluster, uint64_t ch)
{
    sc_message *rows = NULL;
    size_t n = 0, i, seen = 0;
    char url[256], body[512];
    char *resp = NULL;
    cJSON *j, *h;
    t_rxfx_refresh(&F, cluster);
    assert_int_equal(sc_db_page_messages(F.db, ch, 0, 0, 10000, &rows, &n), SC_OK);
    snprintf(url, sizeof url, "%s/%s/_search", t_rxfx_url(&F, cluster), F.index);
    snprintf(body, sizeof body,
             "{\"size\":10000,\"version\":true,\"_source\":false,\"docvalue_fields\":[\"deleted\","
             "\"digest\"],"
             "\"sort\":[{\"id\":\"asc\"}],\"query\":{\"term\":{\"channel_id\":\"%" PRIu64 "\"}}}",
             ch);
    assert_int_equal(t_http("POST", url, body, NULL, &resp), 200);
    j = cJSON_Parse(resp);
    free(resp);
    assert_non_null(j);
    cJSON_ArrayForEach(h, cJSON_GetObjectItem(cJSON_GetObjectItem(j, "hits"), "hits"))
    {
        uint64_t id;
        const cJSON *f = cJSON_GetObjectItem(h, "fields");
        int del = cJSON_IsTrue(cJSON_GetArrayItem(cJSON_GetObjectItem(f, "deleted"), 0));
        const cJSON *dg = cJSON_GetArrayItem(cJSON_GetObjectItem(f, "digest"), 0);
        int64_t ver = (int64_t)cJSON_GetObjectItem(h, "_version")->valuedouble;
        assert_int_equal(sc_parse_u64(cJSON_GetObjectItem(h, "_id")->valuestring, &id), SC_OK);
        while (seen < n && rows[seen].id < id)
            fail_msg("row %" PRIu64 " has no document", rows[seen].id);
        if (seen < n && rows[seen].id == id) {
            if (ver != rows[seen].version || del != (rows[seen].deleted != 0))
                fail_msg("doc %" PRIu64 ": version %" PRId64 " deleted %d, row: %" PRId64 " %d", id,
                         ver, del, rows[seen].version, rows[seen].deleted);
            if (!cJSON_IsNumber(dg) ||
                (uint64_t)dg->valuedouble != sc_digest(id, rows[seen].version, rows[seen].deleted))
                fail_msg("doc %" PRIu64 ": digest wrong or missing", id);
            seen++;
        } else if (!del || !cJSON_IsNumber(dg) || dg->valuedouble != 0) {
            fail_msg("doc %" PRIu64 " has no row and is not an orphan tombstone", id);
        }
    }
    if (seen != n)
        fail_msg("%zu of %zu rows have documents", seen, n);
    cJSON_Delete(j);
    /* current text: each live row found by its words, deleted ones never */
    for (i = 0; i < n; i += (n > 40 ? n / 40 : 1)) {
        long hits;
        char *r2 = NULL;
        cJSON *k;
        snprintf(body, sizeof body,
                 "{\"size\":0,\"query\":{\"bool\":{\"filter\":[{\"term\":{\"channel_id\":\"%" PRIu64
                 "\"}},{\"term\":{\"deleted\":false}},{\"match\":{\"content\":\"%s\"}}]}}}",
                 ch, rows[i].deleted ? "verify" : rows[i].content);
        assert_int_equal(t_http("POST", url, body, NULL, &r2), 200);
        k = cJSON_Parse(r2);
        hits = (long)cJSON_GetObjectItem(
                   cJSON_GetObjectItem(cJSON_GetObjectItem(k, "hits"), "total"), "value")
                   ->valuedouble;
        if (!rows[i].deleted && hits < 1)
            fail_msg("row %" PRIu64 " not found by its text '%s'", rows[i].id, rows[i].content);
        cJSON_Delete(k);
        free(r2);
    }
    for (i = 0; i < n; i++)
        sc_message_clear(&rows[i]);
    free(rows);
}

/* Drift is reported (3), one --repair fixes it (3, "repaired"), then verify
 * agrees (0) and search equals PostgreSQL. */
static void repair_and_check(uint64_t ch, const char *cluster)
{
    cJSON *j;
    int rc = verify_json(ch, "--repair", &j);
    if (rc != 3 || strcmp(jstr(j, "result"), "repaired") != 0) {
        char *dbg = cJSON_PrintUnformatted(j);
        fail_msg("repair: rc %d: %s", rc, dbg);
    }
    cJSON_Delete(j);
    assert_equal_pg(cluster, ch);
    rc = verify_json(ch, NULL, &j);
    if (rc != 0)
        fail_msg("after repair: rc %d result %s missing %" PRId64 " extra %" PRId64
                 " stale %" PRId64,
                 rc, jstr(j, "result"), jnum(j, "missing"), jnum(j, "extra"), jnum(j, "stale"));
    assert_string_equal(jstr(j, "result"), "agree");
    cJSON_Delete(j);
}

static long http_doc(const char *method, const char *cluster, uint64_t id, const char *query,
                     const char *body)
{
    char url[512];
    snprintf(url, sizeof url, "%s/%s/_doc/%" PRIu64 "%s", t_rxfx_url(&F, cluster), F.index, id,
             query);
    return t_http(method, url, body, NULL, NULL);
}

/* ------------------------------------------------------------ tests */

/* The SQL digest is sc_digest, for many ids/versions, live and deleted. */
static void test_digest_sql_matches_c(void **state)
{
    uint64_t ch = t_rand_id();
    uint64_t ids[64];
    int i;
    (void)state;
    for (i = 0; i < 64; i++) {
        ids[i] = t_snowflake_ago(100000 - i * 1000) + (uint64_t)i;
        t_rxfx_put(&F, ch, ids[i], (int64_t)(i * 7919 % 1000) + 1, i % 3 == 0, "d");
    }
    for (i = 0; i < 64; i++) {
        uint64_t bounds[2] = {ids[i], ids[i] + 1}, sum = 0;
        int64_t cnt = 0;
        assert_int_equal(sc_db_verify_buckets(F.db, ch, bounds, 1, &cnt, &sum), SC_OK);
        assert_int_equal(cnt, 1);
        if (sum != sc_digest(ids[i], (int64_t)(i * 7919 % 1000) + 1, i % 3 == 0))
            fail_msg("id %" PRIu64 ": sql %" PRIu64 " != c %" PRIu64, ids[i], sum,
                     sc_digest(ids[i], (int64_t)(i * 7919 % 1000) + 1, i % 3 == 0));
    }
}

/* An agreeing channel: exit 0, no id listed, a few requests only. */
static void test_agree_costs_few_requests(void **state)
{
    cJSON *j;
    char *out = NULL;
    uint64_t ch;
    int rc;
    (void)state;
    ch = built_channel(1500, NULL, F.ca);
    t_rxfx_refresh(&F, F.ca);
    rc = verify_json(ch, NULL, &j);
    if (rc != 0)
        fail_msg("rc %d result %s", rc, jstr(j, "result"));
    assert_string_equal(jstr(j, "result"), "agree");
    assert_int_equal(jnum(j, "listed"), 0);
    /* one aggregation on the bound index + one stale-copy check per cluster */
    assert_true(jnum(j, "es_requests") <= 3);
    /* the binding + one aggregation */
    assert_true(jnum(j, "pg_queries") <= 2);
    assert_int_equal(jnum(j, "missing") + jnum(j, "extra") + jnum(j, "stale"), 0);
    assert_int_equal(jnum(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "copies"), 0), "pg_docs"),
                     1500);
    assert_int_equal(jnum(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "copies"), 0), "es_docs"),
                     1500);
    cJSON_Delete(j);
    rc = run(&out, "verify channel %" PRIu64, ch);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "agrees"));
    free(out);
    /* guild and cluster forms reach it too */
    rc = run(&out, "verify cluster %s", F.ca);
    assert_int_equal(rc, 0);
    free(out);
}

/* (b) documents deleted, overwritten (lower version field, garbage text,
 * internal and external versions ahead of PostgreSQL) in OpenSearch. */
static void test_drift_in_opensearch(void **state)
{
    enum { N = 600 };
    uint64_t ids[N];
    uint64_t ch;
    cJSON *j;
    char doc[512];
    int rc, i;
    (void)state;
    ch = built_channel(N, ids, F.ca);
    for (i = 10; i < 20; i++) /* deleted by hand */
        assert_int_equal(http_doc("DELETE", F.ca, ids[i], "", NULL), 200);
    /* overwritten with internal versioning: version ahead, stale fields */
    snprintf(doc, sizeof doc,
             "{\"id\":\"%" PRIu64 "\",\"channel_id\":\"%" PRIu64
             "\",\"content\":\"garbage\",\"version\":1,"
             "\"deleted\":false,\"digest\":5}",
             ids[301], ch);
    assert_true(http_doc("PUT", F.ca, ids[301], "", doc) / 100 == 2);
    /* overwritten with an external version far ahead, marked deleted */
    snprintf(doc, sizeof doc,
             "{\"id\":\"%" PRIu64 "\",\"channel_id\":\"%" PRIu64
             "\",\"version\":99,\"deleted\":true,\"digest\":7}",
             ids[402], ch);
    assert_true(http_doc("PUT", F.ca, ids[402], "?version=99&version_type=external", doc) / 100 ==
                2);
    /* a document PostgreSQL never had */
    snprintf(doc, sizeof doc,
             "{\"id\":\"%" PRIu64 "\",\"channel_id\":\"%" PRIu64
             "\",\"content\":\"ghost\",\"version\":1,"
             "\"deleted\":false,\"digest\":9}",
             ids[500] + 1, ch);
    assert_true(
        http_doc("PUT", F.ca, ids[500] + 1, "?version=1&version_type=external", doc) / 100 == 2);
    t_rxfx_refresh(&F, F.ca);
    rc = verify_json(ch, NULL, &j);
    assert_int_equal(rc, 3);
    assert_string_equal(jstr(j, "result"), "drift");
    assert_int_equal(jnum(j, "missing"), 10);
    assert_int_equal(jnum(j, "stale"), 2);
    assert_int_equal(jnum(j, "extra"), 1);
    assert_true(jnum(j, "listed") < N); /* only the drifting ranges were listed */
    cJSON_Delete(j);
    repair_and_check(ch, F.ca);
}

static void exec_sql(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void exec_sql(const char *fmt, ...)
{
    char sql[512];
    char *out = NULL;
    va_list ap;
    int rc;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    rc = t_run(&out, "psql '%s' -qAtc \"%s\" 2>&1", t_env("SC_PG_DSN"), sql);
    if (rc != 0)
        fail_msg("psql %s: %s", sql, out);
    free(out);
}

/* (c) PostgreSQL rows inserted, edited, soft- and hard-deleted without events. */
static void test_drift_in_postgres(void **state)
{
    enum { N = 500 };
    uint64_t ids[N];
    uint64_t ch;
    cJSON *j;
    int rc, i;
    (void)state;
    ch = built_channel(N, ids, F.ca);
    for (i = 0; i < 5; i++) /* inserted */
        t_rxfx_put(&F, ch, ids[100 + i] + 1, 1, 0, "inserted quietly");
    t_rxfx_put(&F, ch, ids[200], 9, 0, "edited quietly"); /* edited */
    t_rxfx_put(&F, ch, ids[201], 9, 0, "edited quietly again");
    t_rxfx_put(&F, ch, ids[202], 9, 1, "");                         /* deleted */
    exec_sql("DELETE FROM messages WHERE id = %" PRIu64, ids[300]); /* hard-deleted */
    rc = verify_json(ch, NULL, &j);
    assert_int_equal(rc, 3);
    assert_int_equal(jnum(j, "missing"), 5);
    assert_int_equal(jnum(j, "stale"), 3);
    assert_int_equal(jnum(j, "extra"), 1);
    cJSON_Delete(j);
    repair_and_check(ch, F.ca);
}

/* (d) the whole index deleted. */
static void test_index_deleted(void **state)
{
    uint64_t ch;
    cJSON *j;
    char url[256];
    int rc;
    (void)state;
    ch = built_channel(300, NULL, F.ca);
    snprintf(url, sizeof url, "%s/%s", t_es_url(0), F.index);
    assert_int_equal(t_http("DELETE", url, NULL, NULL, NULL), 200);
    rc = verify_json(ch, NULL, &j);
    assert_int_equal(rc, 3);
    assert_int_equal(jnum(j, "missing"), 300);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(
        cJSON_GetArrayItem(cJSON_GetObjectItem(j, "copies"), 0), "index_missing")));
    cJSON_Delete(j);
    repair_and_check(ch, F.ca);
}

/* (e) a stale copy on a cluster that came back after its channel was re-bound. */
static void test_stale_copy(void **state)
{
    uint64_t ch;
    cJSON *j;
    sc_binding b, nb;
    char *out = NULL;
    int rc;
    (void)state;
    ch = built_channel(250, NULL, F.ca);
    /* re-bound elsewhere (as self-healing does while ca is away), rebuilt there */
    assert_int_equal(sc_db_binding_get(F.db, ch, &b), SC_OK);
    assert_int_equal(
        sc_db_binding_update(F.db, ch, F.cb, F.index, SC_BINDING_ACTIVE, b.generation, &nb), SC_OK);
    rc = run(&out, "channel %" PRIu64, ch);
    if (rc != 0)
        fail_msg("reindex rc %d: %s", rc, out);
    free(out);
    t_rxfx_refresh(&F, F.ca);
    t_rxfx_refresh(&F, F.cb);
    rc = verify_json(ch, NULL, &j);
    if (rc != 3) {
        char *dbg = cJSON_PrintUnformatted(j);
        fail_msg("rc %d: %s", rc, dbg);
    }
    assert_int_equal(jnum(j, "stale_copy_docs"), 250);
    assert_int_equal(jnum(j, "missing") + jnum(j, "extra") + jnum(j, "stale"), 0);
    cJSON_Delete(j);
    rc = run(&out, "verify channel %" PRIu64, ch);
    assert_int_equal(rc, 3);
    assert_non_null(strstr(out, "stale copy on"));
    free(out);
    repair_and_check(ch, F.cb);
    t_rxfx_refresh(&F, F.ca);
    {
        char url[256], body[160], *resp = NULL;
        snprintf(url, sizeof url, "%s/%s/_count", t_es_url(0), F.index);
        snprintf(body, sizeof body, "{\"query\":{\"term\":{\"channel_id\":\"%" PRIu64 "\"}}}", ch);
        assert_int_equal(t_http("POST", url, body, NULL, &resp), 200);
        assert_non_null(strstr(resp, "\"count\":0"));
        free(resp);
    }
}

/* (a) stream entries XDELed before any worker read them: the indexer never
 * sees them; verify finds the rows missing and repair writes them. */
static void test_stream_entries_lost(void **state)
{
    enum { N = 120 };
    char stream[64], group[64], path[128], *out = NULL, clusters[512], idxlog[128];
    uint64_t ch = t_rand_id(), ids[N];
    sc_redis_opts ro;
    sc_redis *r;
    redisReply *rep = NULL;
    FILE *f;
    sc_binding b;
    int rc, i, pid, lost = 0;
    cJSON *j;
    (void)state;
    t_unique(stream, sizeof stream, "vfstream");
    t_unique(group, sizeof group, "vfgroup");
    assert_int_equal(sc_db_upsert_channel(F.db, ch, F.guild, "vf", "text", NULL), SC_OK);
    assert_int_equal(sc_db_binding_insert_if_absent(F.db, ch, F.ca, F.index, SC_BINDING_ACTIVE, &b),
                     SC_OK);
    snprintf(path, sizeof path, "/tmp/%s.jsonl", stream);
    f = fopen(path, "w");
    assert_non_null(f);
    for (i = 0; i < N; i++) {
        ids[i] = t_snowflake_ago(600000 - i * 1000);
        fprintf(f,
                "{\"op\":\"create\",\"version\":1,\"message\":{\"id\":\"%" PRIu64
                "\",\"channel_id\":\"%" PRIu64 "\",\"guild_id\":\"%" PRIu64
                "\",\"author_id\":\"7\",\"content\":\"w%" PRIu64 " streamed\"}}\n",
                ids[i], ch, F.guild, ids[i]);
    }
    fclose(f);
    rc = t_run(
        &out,
        "%s --input=%s --stream=%s --redis-host=%s --redis-port=%s --write-db --pg-dsn='%s' 2>&1",
        t_bin_path("scour-publish"), path, stream, t_env("SC_REDIS_HOST"), t_env("SC_REDIS_PORT"),
        t_env("SC_PG_DSN"));
    unlink(path);
    if (rc != 0)
        fail_msg("publish rc %d: %s", rc, out);
    free(out);
    /* lose every 7th entry before any worker reads the stream */
    memset(&ro, 0, sizeof ro);
    ro.host = t_env("SC_REDIS_HOST");
    ro.port = atoi(t_env("SC_REDIS_PORT"));
    r = sc_redis_create(&ro, NULL, 0);
    assert_non_null(r);
    {
        const char *argv[4] = {"XRANGE", stream, "-", "+"};
        assert_int_equal(sc_redis_command_argv(r, 4, argv, NULL, &rep), SC_OK);
        assert_int_equal(rep->type, REDIS_REPLY_ARRAY);
        for (i = 0; i < (int)rep->elements; i += 7) {
            const char *dv[3] = {"XDEL", stream, rep->element[i]->element[0]->str};
            redisReply *d = NULL;
            assert_int_equal(sc_redis_command_argv(r, 3, dv, NULL, &d), SC_OK);
            freeReplyObject(d);
            lost++;
        }
        freeReplyObject(rep);
    }
    /* the indexer drains what is left */
    snprintf(clusters, sizeof clusters, "--clusters=%s=%s,%s=%s", F.ca, t_es_url(0), F.cb,
             t_es_url(1));
    snprintf(idxlog, sizeof idxlog, "/tmp/%s-indexer.log", stream);
    {
        char a[20][600];
        char *argv[24];
        int n = 0, tries;
#define ARG(...) snprintf(a[n], sizeof a[n], __VA_ARGS__), argv[n] = a[n], n++
        ARG("%s", t_bin_path("indexer"));
        ARG("--namespace=%s", F.ns);
        ARG("--stream=%s", stream);
        ARG("--group=%s", group);
        ARG("--redis-host=%s", t_env("SC_REDIS_HOST"));
        ARG("--redis-port=%s", t_env("SC_REDIS_PORT"));
        ARG("--pg-dsn=%s", t_env("SC_PG_DSN"));
        ARG("--etcd-url=%s", t_env("SC_ETCD_URL"));
        ARG("%s", clusters);
        ARG("--index-name=%s", F.index);
        ARG("--index-schema=%s", t_repo_path("schemas/elasticsearch/messages.json"));
        ARG("--consumer=vf");
        ARG("--metrics-port=0");
        ARG("--linger-ms=20");
        ARG("--read-block-ms=200");
#undef ARG
        argv[n] = NULL;
        pid = t_spawn(argv, idxlog);
        assert_true(pid > 0);
        for (tries = 0; tries < 300; tries++) {
            char url[256], body[160], *resp = NULL;
            cJSON *c;
            long cnt = -1;
            t_rxfx_refresh(&F, F.ca);
            snprintf(url, sizeof url, "%s/%s/_count", t_es_url(0), F.index);
            snprintf(body, sizeof body, "{\"query\":{\"term\":{\"channel_id\":\"%" PRIu64 "\"}}}",
                     ch);
            if (t_http("POST", url, body, NULL, &resp) == 200 && (c = cJSON_Parse(resp)) != NULL) {
                cnt = (long)cJSON_GetObjectItem(c, "count")->valuedouble;
                cJSON_Delete(c);
            }
            free(resp);
            if (cnt == N - lost)
                break;
            usleep(100000);
        }
        t_stop(pid, SIGTERM, 5000);
        unlink(idxlog);
    }
    {
        const char *dv[2] = {"DEL", stream};
        redisReply *d = NULL;
        if (sc_redis_command_argv(r, 2, dv, NULL, &d) == SC_OK)
            freeReplyObject(d);
    }
    sc_redis_free(r);
    rc = verify_json(ch, NULL, &j);
    assert_int_equal(rc, 3);
    assert_int_equal(jnum(j, "missing"), lost);
    assert_int_equal(jnum(j, "extra") + jnum(j, "stale"), 0);
    cJSON_Delete(j);
    repair_and_check(ch, F.ca);
}

/* An index created from the schema before the digest (mapping version 1):
 * verify says so and does not agree; repair rewrites the documents. */
static void test_index_without_digest(void **state)
{
    uint64_t ch, ids[80];
    sc_binding b;
    char url[256], *out = NULL;
    sc_bulk bulk;
    cJSON *j;
    int rc;
    (void)state;
    ch = seed_rows(80, ids);
    assert_int_equal(sc_db_binding_insert_if_absent(F.db, ch, F.ca, F.index, SC_BINDING_ACTIVE, &b),
                     SC_OK);
    {
        /* the schema as it was before the digest: mapping version 1 */
        sc_buf sb;
        cJSON *schema, *m;
        char *text;
        sc_buf_init(&sb, 0);
        assert_int_equal(sc_buf_read_file(&sb, t_repo_path("schemas/elasticsearch/messages.json")),
                         SC_OK);
        schema = cJSON_Parse(sb.data);
        sc_buf_free(&sb);
        assert_non_null(schema);
        m = cJSON_GetObjectItem(schema, "mappings");
        cJSON_DeleteItemFromObject(cJSON_GetObjectItem(m, "properties"), "digest");
        cJSON_DeleteItemFromObject(m, "_meta");
        text = cJSON_PrintUnformatted(schema);
        cJSON_Delete(schema);
        snprintf(url, sizeof url, "%s/%s", t_es_url(0), F.index);
        assert_int_equal(t_http("PUT", url, text, NULL, NULL), 200);
        free(text);
    }
    sc_bulk_init(&bulk, 0);
    {
        sc_message *rows = NULL;
        size_t n = 0, k;
        sc_buf doc;
        sc_buf_init(&doc, 0);
        assert_int_equal(sc_db_page_messages(F.db, ch, 0, 0, 1000, &rows, &n), SC_OK);
        for (k = 0; k < n; k++) {
            cJSON *d;
            char *text;
            sc_buf_reset(&doc);
            assert_int_equal(sc_message_to_doc(&rows[k], &doc), SC_OK);
            d = cJSON_Parse(doc.data);
            cJSON_DeleteItemFromObject(d, "digest");
            text = cJSON_PrintUnformatted(d);
            cJSON_Delete(d);
            assert_int_equal(
                sc_bulk_add_index(&bulk, F.index, rows[k].id, rows[k].version, text, strlen(text)),
                SC_OK);
            free(text);
            sc_message_clear(&rows[k]);
        }
        free(rows);
        sc_buf_free(&doc);
    }
    snprintf(url, sizeof url, "%s/_bulk?refresh=true", t_es_url(0));
    assert_int_equal(t_http("POST", url, bulk.body.data, NULL, NULL), 200);
    sc_bulk_free(&bulk);
    rc = run(&out, "verify channel %" PRIu64, ch);
    assert_int_equal(rc, 3);
    assert_non_null(strstr(out, "have no digest"));
    free(out);
    rc = verify_json(ch, NULL, &j);
    assert_int_equal(rc, 3);
    assert_int_equal(jnum(j, "no_digest"), 80);
    cJSON_Delete(j);
    repair_and_check(ch, F.ca);
}

/* Repair racing live writes (PostgreSQL first, then the engine with
 * external versions, as the chat service and the indexer do): the repair
 * never puts an older version back; the end state equals PostgreSQL. */
typedef struct live_arg {
    uint64_t ch;
    const uint64_t *ids;
    int n;
    volatile int stop;
    int writes;
} live_arg;

static void *live_main(void *p)
{
    live_arg *a = p;
    char err[256];
    sc_db *db = sc_db_create(t_env("SC_PG_DSN"), err, sizeof err);
    int64_t version = 10;
    char url[256];
    snprintf(url, sizeof url, "%s/_bulk", t_es_url(0));
    while (!a->stop && db != NULL) {
        sc_bulk bulk;
        sc_buf doc;
        int i;
        sc_bulk_init(&bulk, 0);
        sc_buf_init(&doc, 0);
        for (i = 0; i < a->n; i++) {
            sc_message m;
            char content[64];
            memset(&m, 0, sizeof m);
            m.id = a->ids[i];
            m.channel_id = a->ch;
            m.guild_id = F.guild;
            m.author_id = 42;
            m.author_type = SC_AUTHOR_USER;
            snprintf(content, sizeof content, "w%" PRIu64 " live v%" PRId64, m.id, version);
            m.content = content;
            m.version = version;
            if (sc_db_upsert_message(db, &m) != SC_OK)
                continue;
            sc_buf_reset(&doc);
            if (sc_message_to_doc(&m, &doc) == SC_OK &&
                sc_bulk_add_index(&bulk, F.index, m.id, m.version, doc.data, doc.len) != SC_OK)
                break;
        }
        if (bulk.body.data != NULL)
            t_http("POST", url, bulk.body.data, NULL, NULL);
        sc_bulk_free(&bulk);
        sc_buf_free(&doc);
        a->writes++;
        version++;
    }
    sc_db_free(db);
    return NULL;
}

static void test_repair_races_live_writes(void **state)
{
    enum { N = 400 };
    uint64_t ids[N];
    uint64_t ch;
    live_arg la;
    pthread_t t;
    cJSON *j;
    int i, rc, rounds;
    (void)state;
    ch = built_channel(N, ids, F.ca);
    memset(&la, 0, sizeof la);
    la.ch = ch;
    la.ids = ids + 100; /* the live writer edits 30 messages over and over */
    la.n = 30;
    assert_int_equal(pthread_create(&t, NULL, live_main, &la), 0);
    for (rounds = 0; rounds < 3; rounds++) {
        /* drift in and around the live range, then repair while writes go on */
        for (i = 95; i < 140; i += 3)
            http_doc("DELETE", F.ca, ids[i], "", NULL);
        t_rxfx_refresh(&F, F.ca);
        rc = verify_json(ch, "--repair", &j);
        if (rc != 3 && rc != 0)
            fail_msg("repair rc %d", rc);
        cJSON_Delete(j);
    }
    la.stop = 1;
    pthread_join(t, NULL);
    assert_true(la.writes > 0);
    /* the live writer's last versions are what the index holds (one more
     * repair pass mends the documents deleted in the last round) */
    (void)verify_json(ch, "--repair", &j);
    cJSON_Delete(j);
    assert_equal_pg(F.ca, ch);
    {
        sc_message *rows = NULL;
        size_t n = 0, k;
        assert_int_equal(sc_db_fetch_messages(F.db, la.ids, (size_t)la.n, &rows, &n), SC_OK);
        for (k = 0; k < n; k++) {
            assert_true(rows[k].version >= 10);
            sc_message_clear(&rows[k]);
        }
        free(rows);
    }
    rc = verify_json(ch, NULL, &j);
    assert_int_equal(rc, 0);
    cJSON_Delete(j);
}

/* Exit codes: usage 2, unknown channel 2, unreachable cluster 1. */
static void test_exit_codes(void **state)
{
    static const char *const bad[] = {
        "verify",        "verify channel",     "verify channel abc",
        "verify guild",  "verify all extra",   "verify cluster 'bad name!'",
        "verify frob 1", "channel 1 --repair", "verify all --to x"};
    char *out = NULL, args[2048];
    size_t i;
    uint64_t ch;
    sc_binding b;
    int rc;
    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rc = run(&out, "%s", bad[i]);
        if (rc != 2)
            fail_msg("'%s': rc %d: %s", bad[i], rc, out);
        free(out);
    }
    rc = run(&out, "verify channel %" PRIu64, t_rand_id());
    assert_int_equal(rc, 2);
    assert_non_null(strstr(out, "unknown channel"));
    free(out);
    /* bound to a cluster nobody answers at: a failure, not drift */
    ch = seed_rows(5, NULL);
    assert_int_equal(
        sc_db_binding_insert_if_absent(F.db, ch, "vfdead", F.index, SC_BINDING_ACTIVE, &b), SC_OK);
    snprintf(args, sizeof args, "%s", F.args);
    if (snprintf(F.args, sizeof F.args,
                 "%s --clusters=vfdead=http://127.0.0.1:1 --es-connect-timeout-ms=300",
                 args) >= (int)sizeof F.args)
        fail_msg("options too long");
    rc = run(&out, "verify channel %" PRIu64, ch);
    snprintf(F.args, sizeof F.args, "%s", args);
    if (rc != 1)
        fail_msg("dead cluster: rc %d: %s", rc, out);
    free(out);
}

/* Verifications recorded for these channels with one of the results in
 * `results` (SQL list); -1 on error. */
static long count_verified(const uint64_t *ch, int n, const char *results)
{
    char sql[1024], *out = NULL;
    size_t off;
    long v = -1;
    int i;
    off = (size_t)snprintf(sql, sizeof sql,
                           "SELECT count(*) FROM channel_verifications WHERE result IN (%s)"
                           " AND channel_id IN (",
                           results);
    for (i = 0; i < n && off < sizeof sql; i++)
        off += (size_t)snprintf(sql + off, sizeof sql - off, "%s%" PRIu64, i ? "," : "", ch[i]);
    if (off + 2 >= sizeof sql)
        return -1;
    snprintf(sql + off, sizeof sql - off, ")");
    if (t_run(&out, "psql '%s' -qAtc \"%s\" 2>&1", t_env("SC_PG_DSN"), sql) == 0 && out != NULL)
        v = strtol(out, NULL, 10);
    free(out);
    return v;
}

/* The continuous sweep of `reindex worker`: channels with each kind of drift
 * are found and repaired without anyone running verify, at most
 * verify_rate channels per second; results land in PostgreSQL, the
 * metrics and `reindex status`. Runs a worker that claims every queued job
 * of the database, so not on a shared stack. */
static void test_sweep_repairs(void **state)
{
    enum { NCH = 8, RATE = 4 };
    uint64_t ch[NCH], ids[300];
    char log[128], port[16], *out = NULL, url[128], *metrics = NULL, words[2400];
    char a[24][700];
    char *argv[32];
    int n = 0, pid, i, tries;
    int64_t t0, all_ms = 0;
    sc_binding b, nb;
    (void)state;
    if (getenv("SC_TEST_NO_DESTRUCTIVE"))
        skip();
    /* 0: documents deleted in OpenSearch; 1: rows edited without events;
     * 2: a stale copy on ca; 3..7: agreeing */
    ch[0] = built_channel(300, ids, F.ca);
    for (i = 50; i < 60; i++)
        assert_int_equal(http_doc("DELETE", F.ca, ids[i], "", NULL), 200);
    ch[1] = built_channel(200, ids, F.cb);
    t_rxfx_put(&F, ch[1], ids[10], 8, 0, "edited behind our back");
    t_rxfx_put(&F, ch[1], ids[11] + 1, 1, 0, "inserted behind our back");
    ch[2] = built_channel(100, NULL, F.ca);
    assert_int_equal(sc_db_binding_get(F.db, ch[2], &b), SC_OK);
    assert_int_equal(
        sc_db_binding_update(F.db, ch[2], F.cb, F.index, SC_BINDING_ACTIVE, b.generation, &nb),
        SC_OK);
    assert_int_equal(run(NULL, "channel %" PRIu64, ch[2]), 0);
    for (i = 3; i < NCH; i++)
        ch[i] = built_channel(50, NULL, i % 2 ? F.ca : F.cb);
    t_rxfx_refresh(&F, F.ca);
    t_rxfx_refresh(&F, F.cb);

    snprintf(port, sizeof port, "%d", 20000 + (int)(t_rand_id() % 20000));
    snprintf(log, sizeof log, "/tmp/%s-sweep.log", F.index);
    snprintf(words, sizeof words, "%s", F.args);
#define ARG(...) snprintf(a[n], sizeof a[n], __VA_ARGS__), argv[n] = a[n], n++
    ARG("%s", t_bin_path("reindex"));
    ARG("worker");
    ARG("--pg-dsn=%s", t_env("SC_PG_DSN"));
    ARG("--etcd-url=%s", t_env("SC_ETCD_URL"));
    ARG("--redis-host=%s", t_env_opt("SC_REDIS_HOST") ? t_env_opt("SC_REDIS_HOST") : "127.0.0.1");
    ARG("--redis-port=%s", t_env("SC_REDIS_PORT"));
    ARG("--namespace=%s", F.ns);
    ARG("--clusters=%s=%s,%s=%s", F.ca, t_es_url(0), F.cb, t_es_url(1));
    ARG("--index-name=%s", F.index);
    ARG("--index-schema=%s", t_repo_path("schemas/elasticsearch/messages.json"));
    ARG("--verify-rate=%d", RATE);
    ARG("--metrics-port=%s", port);
    ARG("--log-level=info");
#undef ARG
    argv[n] = NULL;
    t0 = sc_now_ms();
    pid = t_spawn(argv, log);
    assert_true(pid > 0);
    for (tries = 0; tries < 600; tries++) {
        if (count_verified(ch, NCH, "'agree','repaired'") == NCH) {
            all_ms = sc_now_ms() - t0;
            break;
        }
        usleep(100000);
    }
    snprintf(url, sizeof url, "http://127.0.0.1:%s/metrics", port);
    assert_int_equal(t_http("GET", url, NULL, NULL, &metrics), 200);
    t_stop(pid, SIGTERM, 10000);
    if (all_ms == 0) {
        char *l = NULL;
        (void)t_run(&l, "tail -30 %s", log);
        fail_msg("the sweep did not verify every channel: %s", l);
    }
    unlink(log);
    /* drift found and repaired, by the sweep alone (the sweep goes on after
     * the first round, so a repaired channel may since have agreed again:
     * the counters tell) */
    if (strstr(metrics, "scour_verify_channels_total{result=\"repaired\"} 3\n") == NULL)
        fail_msg("expected 3 repaired channels: %s", metrics);
    assert_null(strstr(metrics, "scour_verify_channels_total{result=\"drift\"}"));
    assert_null(strstr(metrics, "scour_verify_channels_total{result=\"error\"}"));
    /* at most RATE channels per second: NCH channels take >= (NCH-1)/RATE s */
    if (all_ms < (NCH - 1) * 1000 / RATE)
        fail_msg("%d channels verified in %" PRId64 " ms, faster than %d/s", NCH, all_ms, RATE);
    assert_non_null(strstr(metrics, "scour_verify_drift_docs_total{kind=\"missing\"}"));
    assert_non_null(strstr(metrics, "scour_verify_sweep_seconds"));
    free(metrics);
    assert_equal_pg(F.ca, ch[0]);
    assert_equal_pg(F.cb, ch[1]);
    assert_equal_pg(F.cb, ch[2]);
    assert_int_equal(run(&out, "status"), 0);
    assert_non_null(strstr(out, "verify sweep:"));
    free(out);
    for (i = 0; i < 3; i++) {
        cJSON *j;
        assert_int_equal(verify_json(ch[i], NULL, &j), 0);
        cJSON_Delete(j);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_digest_sql_matches_c, setup, teardown),
        cmocka_unit_test_setup_teardown(test_agree_costs_few_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drift_in_opensearch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drift_in_postgres, setup, teardown),
        cmocka_unit_test_setup_teardown(test_index_deleted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_copy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_entries_lost, setup, teardown),
        cmocka_unit_test_setup_teardown(test_index_without_digest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_repair_races_live_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exit_codes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sweep_repairs, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
