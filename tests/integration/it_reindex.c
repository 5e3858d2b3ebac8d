/*
 * it_reindex.c - integration tests of the `reindex` program (reindex/ +
 * libscour/reindex.c) against the real stack: PostgreSQL as the source,
 * two OpenSearch clusters as destinations, Redis for the binding cache and
 * etcd for the cluster view. The program is run as a process (t_run /
 * t_spawn) exactly as an operator would.
 *
 * Isolation on a shared stack: random channel/guild ids, a unique etcd/Redis
 * namespace, unique cluster names (a static `clusters` list pointing at the
 * stack's URLs) and a unique index per test, deleted at the end.
 * The test that wipes a cluster and the worker test (which claims every
 * queued job in the database) are skipped when SC_TEST_NO_DESTRUCTIVE is set.
 */
#include "testlib.h"

#include "db.h"
#include "es.h"
#include "bulk.h"
#include "esdoc.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static t_rxfx F; /* the test's world (testlib.h) */

static int setup(void **state)
{
    (void)state;
    t_rxfx_setup(&F, "rx");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    t_rxfx_teardown(&F);
    return 0;
}

/* ------------------------------------------------------------ data */

/* A channel with n messages spread over the last 30 days (so both phases
 * of a 7-day split have work), some edited (version 3), some deleted.
 * ids[] (may be NULL) receives the ids, ascending. */
static uint64_t seed_channel(int n, uint64_t *ids)
{
    uint64_t ch = t_rand_id();
    int64_t span = 30LL * 86400000LL;
    uint64_t prev = 0;
    int i;
    assert_int_equal(sc_db_upsert_channel(F.db, ch, F.guild, "rx", "text", NULL), SC_OK);
    for (i = 0; i < n; i++) {
        char content[64];
        uint64_t id = t_snowflake_ago(span - (span / n) * i);
        if (id <= prev)
            id = prev + 1;
        prev = id;
        snprintf(content, sizeof content, "message %d of the reindex test", i);
        /* deleted rows at version 2, else some edited (3) */
        t_rxfx_put(&F, ch, id, i % 11 == 0 ? 2 : i % 7 == 0 ? 3 : 1, i % 11 == 0, content);
        if (ids != NULL)
            ids[i] = id;
    }
    return ch;
}

static void bind_ch(uint64_t ch, const char *cluster, sc_binding_state state)
{
    sc_binding w;
    assert_int_equal(sc_db_binding_insert_if_absent(F.db, ch, cluster, F.index, state, &w), SC_OK);
    assert_string_equal(w.cluster, cluster);
}

/* ------------------------------------------------------------ checks */

/* Documents of channel on cluster (all, tombstones included); -1 on error. */
static long es_count(const char *cluster, const char *index, uint64_t ch)
{
    char url[256], body[160];
    char *resp = NULL;
    long code, n = -1;
    cJSON *j;
    snprintf(url, sizeof url, "%s/%s/_count", t_rxfx_url(&F, cluster), index);
    snprintf(body, sizeof body, "{\"query\":{\"term\":{\"channel_id\":%" PRIu64 "}}}", ch);
    code = t_http("POST", url, body, NULL, &resp);
    if (code == 200 && (j = cJSON_Parse(resp)) != NULL) {
        const cJSON *c = cJSON_GetObjectItem(j, "count");
        if (cJSON_IsNumber(c))
            n = (long)c->valuedouble;
        cJSON_Delete(j);
    } else if (code == 404) {
        n = 0;
    }
    free(resp);
    return n;
}

/* ES holds exactly PostgreSQL's rows of ch: same ids, version and deleted. */
static void assert_matches_pg(const char *cluster, uint64_t ch)
{
    sc_message *rows = NULL;
    size_t n = 0, i;
    char url[256], body[256];
    char *resp = NULL;
    cJSON *j, *hits, *h;
    long code;
    size_t seen = 0;

    t_rxfx_refresh(&F, cluster);
    assert_int_equal(sc_db_page_messages(F.db, ch, 0, 0, 10000, &rows, &n), SC_OK);
    snprintf(url, sizeof url, "%s/%s/_search", t_rxfx_url(&F, cluster), F.index);
    snprintf(body, sizeof body,
             "{\"size\":10000,\"version\":true,\"_source\":[\"id\"],\"docvalue_fields\":["
             "\"deleted\"],\"sort\":[{\"id\":\"asc\"}],"
             "\"query\":{\"term\":{\"channel_id\":%" PRIu64 "}}}",
             ch);
    code = t_http("POST", url, body, NULL, &resp);
    assert_int_equal(code, 200);
    j = cJSON_Parse(resp);
    assert_non_null(j);
    hits = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "hits"), "hits");
    assert_non_null(hits);
    assert_int_equal((size_t)cJSON_GetArraySize(hits), n);
    cJSON_ArrayForEach(h, hits)
    {
        const cJSON *id = cJSON_GetObjectItem(h, "_id");
        const cJSON *ver = cJSON_GetObjectItem(h, "_version");
        const cJSON *del =
            cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(h, "fields"), "deleted"), 0);
        uint64_t v;
        assert_true(cJSON_IsString(id));
        assert_int_equal(sc_parse_u64(id->valuestring, &v), SC_OK);
        assert_true(seen < n);
        if (rows[seen].id != v)
            fail_msg("doc %zu: id %" PRIu64 " != pg %" PRIu64, seen, v, rows[seen].id);
        if ((int64_t)ver->valuedouble != rows[seen].version)
            fail_msg("doc %" PRIu64 ": version %.0f != pg %" PRId64, v, ver->valuedouble,
                     rows[seen].version);
        if (cJSON_IsTrue(del) != (rows[seen].deleted != 0))
            fail_msg("doc %" PRIu64 ": deleted %d != pg %d", v, cJSON_IsTrue(del),
                     rows[seen].deleted);
        seen++;
    }
    assert_int_equal(seen, n);
    cJSON_Delete(j);
    free(resp);
    for (i = 0; i < n; i++)
        sc_message_clear(&rows[i]);
    free(rows);
}

static int64_t job_of_output(const char *out)
{
    const char *p = strstr(out, "job ");
    while (p != NULL) {
        long long v;
        if (sscanf(p, "job %lld", &v) == 1)
            return (int64_t)v;
        p = strstr(p + 1, "job ");
    }
    fail_msg("no job id in output: %s", out);
    return 0;
}

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

/* ------------------------------------------------------------ tests */

/* Rebuild after the index was lost: the copy equals PostgreSQL. */
static void test_rebuild_after_index_loss(void **state)
{
    char *out = NULL, url[256];
    uint64_t ch;
    int rc;
    sc_binding b;
    (void)state;
    ch = seed_channel(400, NULL);
    bind_ch(ch, F.ca, SC_BINDING_ACTIVE);
    rc = run(&out, "channel %" PRIu64, ch);
    if (rc != 0)
        fail_msg("reindex rc %d: %s", rc, out);
    assert_non_null(strstr(out, "done"));
    free(out);
    assert_matches_pg(F.ca, ch);

    /* lose the index, rebuild */
    snprintf(url, sizeof url, "%s/%s", t_es_url(0), F.index);
    assert_int_equal(t_http("DELETE", url, NULL, NULL, NULL), 200);
    assert_int_equal(es_count(F.ca, F.index, ch), 0);
    rc = run(&out, "channel %" PRIu64 " --reindex-batch=64", ch);
    if (rc != 0)
        fail_msg("reindex rc %d: %s", rc, out);
    free(out);
    assert_matches_pg(F.ca, ch);
    assert_int_equal(sc_db_binding_get(F.db, ch, &b), SC_OK);
    assert_int_equal(b.state, SC_BINDING_ACTIVE);
    assert_string_equal(b.cluster, F.ca);
}

/* A "building" binding (as self-healing leaves it) becomes active, and
 * `status JOB` reports the finished job with its channel. */
static void test_building_becomes_active_and_status(void **state)
{
    char *out = NULL;
    uint64_t ch;
    int64_t job;
    sc_binding b;
    sc_job j;
    int rc;
    (void)state;
    ch = seed_channel(150, NULL);
    bind_ch(ch, F.cb, SC_BINDING_BUILDING);
    rc = run(&out, "channel %" PRIu64 " --recent-days=3", ch);
    if (rc != 0)
        fail_msg("reindex rc %d: %s", rc, out);
    job = job_of_output(out);
    free(out);
    assert_int_equal(sc_db_binding_get(F.db, ch, &b), SC_OK);
    assert_int_equal(b.state, SC_BINDING_ACTIVE);
    assert_matches_pg(F.cb, ch);
    assert_int_equal(sc_db_job_get(F.db, job, &j), SC_OK);
    assert_int_equal(j.state, SC_JOB_DONE);
    assert_int_equal(j.phase, 2);
    assert_int_equal(j.done, 150);
    rc = run(&out, "status %" PRId64, job);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "state done"));
    free(out);
}

/* Channels of job marked done in its cursors. */
static int job_channels_done(int64_t job)
{
    sc_job_channel *c = NULL;
    size_t n = 0, i;
    int d = 0;
    if (sc_db_job_channels(F.db, job, &c, &n) != SC_OK)
        return -1;
    for (i = 0; i < n; i++)
        d += c[i].done != 0;
    free(c);
    return d;
}

/* Split the shared options into argv[*argc...] (quotes removed); words is
 * modified and must outlive argv. */
static void split_args(char *words, char **argv, int *argc, int max)
{
    char *p = words;
    while (*p && *argc < max) {
        char *w, *o;
        int q = 0;
        while (*p == ' ')
            p++;
        w = o = p;
        while (*p && (q || *p != ' ')) {
            if (*p == '\'')
                q = !q;
            else
                *o++ = *p;
            p++;
        }
        if (*p)
            p++;
        *o = '\0';
        if (*w)
            argv[(*argc)++] = w;
    }
    argv[*argc] = NULL;
}

/* kill -9 in the middle of a two-channel job, after one channel is done,
 * then resume: completes from the checkpoint, no duplicates, nothing
 * rewritten from scratch, and the final line gives the whole job's totals
 * (2 channels, every message) next to this run's own counts. */
static void test_kill_and_resume(void **state)
{
    enum { N = 1500 };
    char log[128], *out = NULL;
    char *argv[64];
    char opt_words[2048];
    uint64_t ch, ch2;
    int pid, i, argc = 0, rc;
    int64_t job = 0;
    sc_job j;
    uint64_t ckpt;
    int64_t done_before;
    char chs[32], chs2[32];
    (void)state;
    ch = seed_channel(N, NULL);
    ch2 = seed_channel(N, NULL);
    bind_ch(ch, F.ca, SC_BINDING_ACTIVE);
    bind_ch(ch2, F.ca, SC_BINDING_ACTIVE);
    snprintf(log, sizeof log, "/tmp/it_reindex-%d.log", (int)getpid());
    unlink(log);
    snprintf(opt_words, sizeof opt_words, "%s", F.args);
    argv[argc++] = (char *)t_bin_path("reindex");
    argv[argc++] = "channel";
    snprintf(chs, sizeof chs, "%" PRIu64, ch);
    snprintf(chs2, sizeof chs2, "%" PRIu64, ch2);
    argv[argc++] = chs;
    argv[argc++] = chs2;
    argv[argc++] = "--rate=600";
    argv[argc++] = "--recent-days=0"; /* one phase: channels finish one after the other */
    split_args(opt_words, argv, &argc, 62);
    pid = t_spawn(argv, log);
    /* wait for the job id and for the first channel to be finished */
    for (i = 0; i < 200 && job == 0; i++) {
        FILE *f = fopen(log, "r");
        char line[512];
        usleep(50000);
        while (f != NULL && fgets(line, sizeof line, f) != NULL) {
            long long v;
            const char *p = strstr(line, "job ");
            if (p != NULL && sscanf(p, "job %lld", &v) == 1) {
                job = v;
                break;
            }
        }
        if (f != NULL)
            fclose(f);
    }
    if (job == 0)
        fail_msg("no job id in the log");
    for (i = 0; i < 400; i++) {
        assert_int_equal(sc_db_job_get(F.db, job, &j), SC_OK);
        if (job_channels_done(job) >= 1 && j.done >= N)
            break;
        usleep(25000);
    }
    assert_int_equal(t_stop(pid, SIGKILL, 5000) != -1, 1);
    assert_int_equal(sc_db_job_get(F.db, job, &j), SC_OK);
    assert_int_equal(j.state, SC_JOB_RUNNING);
    ckpt = j.checkpoint_id;
    done_before = j.done;
    assert_true(ckpt > 0);
    assert_int_equal(job_channels_done(job), 1);
    assert_true(done_before >= N && done_before < 2 * N);

    rc = run(&out, "resume %" PRId64, job);
    if (rc != 0)
        fail_msg("resume rc %d: %s", rc, out);
    {
        const char *p = strstr(out, "done: ");
        long long chans = -1, copied = -1, written = -1, newer = -1, run_chans = -1;
        assert_non_null(p);
        if (sscanf(p,
                   "done: %lld channels, %lld messages copied; this run: %lld written, %lld "
                   "already newer, "
                   "%*d rejected, %lld channels",
                   &chans, &copied, &written, &newer, &run_chans) != 5)
            fail_msg("final line: %s", out);
        assert_int_equal(chans, 2);     /* the whole job, not only this run's */
        assert_int_equal(run_chans, 1); /* this run finished the second one */
        assert_true(copied >= 2 * N && copied <= 2 * N + 500);
        /* only what was left (plus at most the page in flight at the kill) */
        assert_true(written + newer <= 2 * N - done_before + 500);
        assert_true(written + newer >= 2 * N - done_before - 500);
    }
    free(out);
    assert_int_equal(sc_db_job_get(F.db, job, &j), SC_OK);
    assert_int_equal(j.state, SC_JOB_DONE);
    assert_int_equal(job_channels_done(job), 2);
    (void)ckpt; /* the job's checkpoint is the last id of whichever channel ran last */
    t_rxfx_refresh(&F, F.ca);
    assert_int_equal(es_count(F.ca, F.index, ch), N);
    assert_int_equal(es_count(F.ca, F.index, ch2), N);
    assert_matches_pg(F.ca, ch);
    assert_matches_pg(F.ca, ch2);
    unlink(log);
}

/* Live edits and deletes (PostgreSQL row, then an external-versioned write
 * to the index, as the indexer does) while the reindex runs: nothing is
 * lost or turned back. */
static void test_concurrent_live_edits(void **state)
{
    enum { N = 2000 };
    static uint64_t ids[N];
    static int64_t ver[N];
    static int del[N];
    char *argv[64], opt_words[2048], chs[32], log[128];
    int argc = 0, pid, status = 0, edits = 0, i, exited = 0;
    uint64_t ch;
    es_client *es;
    es_opts eo;
    char err[256];
    sc_bulk bulk;
    sc_buf doc, resp;
    (void)state;
    ch = seed_channel(N, ids);
    for (i = 0; i < N; i++) {
        ver[i] = i % 11 == 0 ? 2 : (i % 7 == 0 ? 3 : 1);
        del[i] = i % 11 == 0;
    }
    bind_ch(ch, F.ca, SC_BINDING_ACTIVE);
    memset(&eo, 0, sizeof eo);
    eo.url = t_es_url(0);
    eo.replicas = 0;
    es = es_client_create(&eo, err, sizeof err);
    assert_non_null(es);
    {
        char *schema = NULL;
        FILE *f = fopen(t_repo_path("schemas/elasticsearch/messages.json"), "rb");
        size_t len;
        assert_non_null(f);
        schema = calloc(1, 1 << 20);
        len = fread(schema, 1, (1 << 20) - 1, f);
        fclose(f);
        assert_true(len > 0);
        assert_int_equal(es_ensure_index(es, F.index, schema), SC_OK);
        free(schema);
    }
    snprintf(opt_words, sizeof opt_words, "%s", F.args);
    snprintf(chs, sizeof chs, "%" PRIu64, ch);
    argv[argc++] = (char *)t_bin_path("reindex");
    argv[argc++] = "channel";
    argv[argc++] = chs;
    argv[argc++] = "--rate=1000";
    split_args(opt_words, argv, &argc, 62);
    snprintf(log, sizeof log, "/tmp/it_reindex-live-%d.log", (int)getpid());
    pid = t_spawn(argv, log);
    sc_bulk_init(&bulk, 0);
    sc_buf_init(&doc, 0);
    sc_buf_init(&resp, 0);
    srand((unsigned)getpid());
    while (!exited) {
        int k;
        sc_bulk_reset(&bulk);
        for (k = 0; k < 20; k++) {
            int x = rand() % N;
            sc_message m;
            char content[64];
            if (del[x])
                continue;
            ver[x]++;
            del[x] = rand() % 4 == 0;
            snprintf(content, sizeof content, "live edit v%" PRId64, ver[x]);
            t_rxfx_msg(&F, &m, ch, ids[x], ver[x], del[x], del[x] ? "" : content);
            assert_int_equal(sc_db_upsert_message(F.db, &m), SC_OK);
            sc_buf_reset(&doc);
            assert_int_equal(sc_message_to_doc(&m, &doc), SC_OK);
            assert_int_equal(sc_bulk_add_index(&bulk, F.index, m.id, m.version, doc.data, doc.len),
                             SC_OK);
            edits++;
        }
        if (bulk.ops > 0) {
            long http = 0;
            assert_int_equal(es_bulk(es, bulk.body.data, bulk.body.len, &resp, &http), SC_OK);
        }
        usleep(20000);
        if (waitpid(pid, &status, WNOHANG) == pid)
            exited = 1;
    }
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) != 0) {
        char cmd[256];
        snprintf(cmd, sizeof cmd, "cat %s", log);
        if (system(cmd) != 0)
            fail_msg("reindex exited %d", WEXITSTATUS(status));
        fail_msg("reindex exited %d", WEXITSTATUS(status));
    }
    assert_true(edits > 100);
    sc_bulk_free(&bulk);
    sc_buf_free(&doc);
    sc_buf_free(&resp);
    es_client_free(es);
    assert_matches_pg(F.ca, ch);
    unlink(log);
}

/* Reader of the move test: counts the channel's documents where the binding
 * says to read (prev while moving, the binding's place otherwise). */
typedef struct reader {
    uint64_t ch;
    long expect;
    volatile int stop;
    int queries, misses, moving_seen, new_seen, errors;
    char last_err[256];
} reader;

static void *reader_main(void *p)
{
    reader *r = p;
    char err[256];
    sc_db *db = sc_db_create(t_env("SC_PG_DSN"), err, sizeof err);
    if (db == NULL) {
        r->errors++;
        return NULL;
    }
    while (!r->stop) {
        sc_binding b;
        const char *cl, *ix;
        long n;
        if (sc_db_binding_get(db, r->ch, &b) != SC_OK) {
            r->errors++;
            continue;
        }
        if (b.state == SC_BINDING_MOVING) {
            cl = b.prev_cluster;
            ix = b.prev_index;
            r->moving_seen++;
        } else {
            cl = b.cluster;
            ix = b.index;
            if (strcmp(cl, F.cb) == 0)
                r->new_seen++;
        }
        n = es_count(cl, ix, r->ch);
        r->queries++;
        if (n < 0)
            r->errors++;
        else if (n != r->expect) {
            r->misses++;
            snprintf(r->last_err, sizeof r->last_err, "%s on %s/%s: %ld of %ld",
                     sc_binding_state_str(b.state), cl, ix, n, r->expect);
        }
        usleep(5000);
    }
    sc_db_free(db);
    return NULL;
}

/* Move with --to while a reader keeps querying through the binding: no
 * query fails or misses a message; the old copy is purged at the end. */
static void test_move_zero_downtime(void **state)
{
    enum { N = 1500 };
    char *out = NULL;
    uint64_t ch;
    int rc;
    sc_binding b;
    pthread_t t;
    reader rd;
    (void)state;
    ch = seed_channel(N, NULL);
    bind_ch(ch, F.ca, SC_BINDING_ACTIVE);
    rc = run(&out, "channel %" PRIu64, ch);
    if (rc != 0)
        fail_msg("initial reindex rc %d: %s", rc, out);
    free(out);
    t_rxfx_refresh(&F, F.ca);
    memset(&rd, 0, sizeof rd);
    rd.ch = ch;
    rd.expect = N;
    assert_int_equal(pthread_create(&t, NULL, reader_main, &rd), 0);
    usleep(200000);
    rc = run(&out, "channel %" PRIu64 " --to %s --rate=1500 --purge-delay-ms=500", ch, F.cb);
    usleep(300000);
    rd.stop = 1;
    pthread_join(t, NULL);
    if (rc != 0)
        fail_msg("move rc %d: %s", rc, out);
    if (strstr(out, "1500 old-copy documents purged") == NULL)
        fail_msg("move output: %s", out);
    free(out);
    if (rd.misses != 0 || rd.errors != 0)
        fail_msg("%d misses, %d errors in %d queries; last: %s", rd.misses, rd.errors, rd.queries,
                 rd.last_err);
    assert_true(rd.moving_seen > 0);
    assert_true(rd.new_seen > 0);
    assert_int_equal(sc_db_binding_get(F.db, ch, &b), SC_OK);
    assert_int_equal(b.state, SC_BINDING_ACTIVE);
    assert_string_equal(b.cluster, F.cb);
    assert_string_equal(b.prev_cluster, F.ca);
    assert_matches_pg(F.cb, ch);
    t_rxfx_refresh(&F, F.ca);
    assert_int_equal(es_count(F.ca, F.index, ch), 0);
}

/* --dry-run prints the plan and changes nothing. */
static void test_dry_run_changes_nothing(void **state)
{
    char *out = NULL, url[256], line[64];
    uint64_t ch;
    sc_binding before, after;
    int rc;
    (void)state;
    ch = seed_channel(120, NULL);
    bind_ch(ch, F.ca, SC_BINDING_ACTIVE);
    assert_int_equal(sc_db_binding_get(F.db, ch, &before), SC_OK);
    rc = run(&out, "channel %" PRIu64 " --to %s --dry-run --recent-days=7", ch, F.cb);
    if (rc != 0)
        fail_msg("dry run rc %d: %s", rc, out);
    snprintf(line, sizeof line, "%" PRIu64, ch);
    assert_non_null(strstr(out, line));
    assert_non_null(strstr(out, "move"));
    assert_non_null(strstr(out, "120 messages"));
    assert_non_null(strstr(out, "nothing was changed"));
    assert_null(strstr(out, "job "));
    free(out);
    assert_int_equal(sc_db_binding_get(F.db, ch, &after), SC_OK);
    assert_int_equal(after.generation, before.generation);
    assert_string_equal(after.cluster, F.ca);
    /* no index was created on either cluster */
    snprintf(url, sizeof url, "%s/%s", t_es_url(1), F.index);
    assert_int_equal(t_http("GET", url, NULL, NULL, NULL), 404);
    snprintf(url, sizeof url, "%s/%s", t_es_url(0), F.index);
    assert_int_equal(t_http("GET", url, NULL, NULL, NULL), 404);
}

/* Bad arguments: exit 2 with a message naming the problem. */
static void test_bad_arguments(void **state)
{
    static const struct {
        const char *words;
        const char *msg;
    } cases[] = {
        {"", "no command"},
        {"frobnicate", "unknown command"},
        {"channel", "at least one channel"},
        {"channel abc", "not a channel id"},
        {"channel 0", "not a channel id"},
        {"guild", "exactly one guild"},
        {"cluster 'bad name!'", "valid cluster name"},
        {"resume xyz", "exactly one job"},
        {"all extra", "unexpected argument"},
        {"status 1 2", "at most one job"},
        {"channel 1 --rate=-5", "rate"},
        {"channel 1 --bogus-option=1", "bogus"},
        {"channel 1 --purge-delay-ms=x", "purge-delay-ms"},
    };
    char *out = NULL;
    size_t i;
    int rc;
    uint64_t ch;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rc = run(&out, "%s", cases[i].words);
        if (rc != 2 || strstr(out, cases[i].msg) == NULL)
            fail_msg("'%s': rc %d, output: %s", cases[i].words, rc, out);
        free(out);
    }
    /* well-formed but unknown things */
    rc = run(&out, "channel %" PRIu64, t_rand_id());
    assert_int_equal(rc, 2);
    assert_non_null(strstr(out, "unknown channel"));
    free(out);
    ch = seed_channel(3, NULL);
    bind_ch(ch, F.ca, SC_BINDING_ACTIVE);
    rc = run(&out, "channel %" PRIu64 " --to no-such-cluster", ch);
    assert_int_equal(rc, 2);
    assert_non_null(strstr(out, "unknown cluster"));
    free(out);
    rc = run(&out, "cluster no-such-cluster-%d", (int)getpid());
    assert_int_equal(rc, 2);
    assert_non_null(strstr(out, "unknown cluster"));
    free(out);
    rc = run(&out, "resume %lld", (long long)INT64_MAX - 7);
    assert_int_equal(rc, 2);
    assert_non_null(strstr(out, "no job"));
    free(out);
}

/* Ids of the newest jobs, as `reindex status` lists them (first column). */
static void status_ids(char *buf, size_t len)
{
    char *out = NULL, *line, *save = NULL;
    size_t off = 0;
    assert_int_equal(run(&out, "status"), 0);
    buf[0] = '\0';
    for (line = strtok_r(out, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        char first[32];
        if (sscanf(line, "%31s", first) == 1 && off + strlen(first) + 2 < len)
            off += (size_t)snprintf(buf + off, len - off, "%s,", first);
    }
    free(out);
}

/* Refused moves change nothing: `--to` the cluster a channel is already on
 * is exit 2, a move while another job moves the channel elsewhere is exit 1;
 * neither creates a job (`reindex status` shows nothing new) nor touches the
 * binding. A job naming both kinds moves only what has somewhere to go. */
static void test_refusals_leave_no_trace(void **state)
{
    char before[4096], after[4096], *out = NULL;
    uint64_t here, moving, other;
    sc_binding b0, b1, b2;
    sc_job_channel *jc = NULL;
    size_t njc = 0;
    int64_t job;
    int rc;
    (void)state;
    here = seed_channel(20, NULL);
    bind_ch(here, F.ca, SC_BINDING_ACTIVE);
    moving = seed_channel(20, NULL);
    bind_ch(moving, F.cb, SC_BINDING_MOVING); /* another job's move to cb, in flight */
    other = seed_channel(20, NULL);
    bind_ch(other, F.cb, SC_BINDING_ACTIVE);
    status_ids(before, sizeof before);

    /* already there: a channel, then a whole cluster */
    assert_int_equal(sc_db_binding_get(F.db, here, &b0), SC_OK);
    rc = run(&out, "channel %" PRIu64 " --to %s", here, F.ca);
    if (rc != 2 || strstr(out, "already on") == NULL || strstr(out, "no job created") == NULL)
        fail_msg("--to its own cluster: rc %d: %s", rc, out);
    assert_null(strstr(out, "created:"));
    free(out);
    rc = run(&out, "cluster %s --to %s", F.ca, F.ca);
    if (rc != 2 || strstr(out, "already on") == NULL)
        fail_msg("cluster --to itself: rc %d: %s", rc, out);
    free(out);
    assert_int_equal(sc_db_binding_get(F.db, here, &b1), SC_OK);
    assert_int_equal(b1.generation, b0.generation);

    /* conflicting move */
    assert_int_equal(sc_db_binding_get(F.db, moving, &b0), SC_OK);
    rc = run(&out, "channel %" PRIu64 " --to %s", moving, F.ca);
    if (rc != 1 || strstr(out, "being moved to") == NULL || strstr(out, "no job created") == NULL)
        fail_msg("conflicting move: rc %d: %s", rc, out);
    free(out);
    /* one conflicting channel refuses the whole request */
    assert_int_equal(sc_db_binding_get(F.db, other, &b2), SC_OK);
    rc = run(&out, "channel %" PRIu64 " %" PRIu64 " --to %s", other, moving, F.ca);
    if (rc != 1 || strstr(out, "being moved to") == NULL)
        fail_msg("mixed with a conflict: rc %d: %s", rc, out);
    free(out);
    assert_int_equal(sc_db_binding_get(F.db, other, &b1), SC_OK);
    assert_int_equal(b1.generation, b2.generation);
    assert_string_equal(b1.cluster, F.cb);
    assert_int_equal(sc_db_binding_get(F.db, moving, &b1), SC_OK);
    assert_int_equal(b1.generation, b0.generation);
    assert_int_equal(b1.state, SC_BINDING_MOVING);

    /* dry run names both */
    rc = run(&out, "channel %" PRIu64 " %" PRIu64 " --to %s --dry-run", here, moving, F.ca);
    if (rc != 0 || strstr(out, "already-there") == NULL || strstr(out, "conflict") == NULL)
        fail_msg("dry run: rc %d: %s", rc, out);
    free(out);

    status_ids(after, sizeof after);
    if (strcmp(before, after) != 0)
        fail_msg("reindex status changed after refusals:\nbefore %s\nafter  %s", before, after);

    /* one already there, one to move: only the second is in the job */
    rc = run(&out, "channel %" PRIu64 " %" PRIu64 " --to %s --purge-delay-ms=0", here, other, F.ca);
    if (rc != 0 || strstr(out, "already on") == NULL)
        fail_msg("partly there: rc %d: %s", rc, out);
    if (strstr(out, "created") == NULL)
        fail_msg("partly there: no job created: %s", out);
    job = job_of_output(strstr(out, "created"));
    free(out);
    assert_int_equal(sc_db_job_channels(F.db, job, &jc, &njc), SC_OK);
    assert_int_equal(njc, 1);
    assert_true(jc[0].channel_id == other);
    free(jc);
    assert_int_equal(sc_db_binding_get(F.db, other, &b1), SC_OK);
    assert_string_equal(b1.cluster, F.ca);
    assert_int_equal(b1.state, SC_BINDING_ACTIVE);
    assert_matches_pg(F.ca, other);
}

/* The worker finishes a queued job as self-healing creates it (kind
 * channel, binding building) and exits with --once. Claims every queued job
 * of the database, so not on a shared stack. */
static void test_worker_runs_queued_job(void **state)
{
    char *out = NULL, target[32];
    uint64_t ch;
    int64_t job;
    sc_job j;
    sc_binding b;
    (void)state;
    if (getenv("SC_TEST_NO_DESTRUCTIVE"))
        skip();
    ch = seed_channel(250, NULL);
    bind_ch(ch, F.ca, SC_BINDING_BUILDING);
    snprintf(target, sizeof target, "%" PRIu64, ch);
    assert_int_equal(sc_db_job_create(F.db, "channel", target, NULL, 7, &job), SC_OK);
    assert_int_equal(sc_db_job_channels_add(F.db, job, &ch, 1), SC_OK);
    (void)run(&out, "worker --once");
    assert_int_equal(sc_db_job_get(F.db, job, &j), SC_OK);
    if (j.state != SC_JOB_DONE)
        fail_msg("job %s (%s): %s", sc_job_state_str(j.state), j.error, out);
    free(out);
    assert_int_equal(sc_db_binding_get(F.db, ch, &b), SC_OK);
    assert_int_equal(b.state, SC_BINDING_ACTIVE);
    assert_matches_pg(F.ca, ch);
}

/* A whole cluster wiped (data gone, node restarted): `reindex cluster NAME`
 * rebuilds every channel bound there. Destructive: private stack only. */
static void test_rebuild_wiped_cluster(void **state)
{
    char *out = NULL;
    uint64_t c1, c2;
    int rc;
    (void)state;
    if (getenv("SC_TEST_NO_DESTRUCTIVE"))
        skip();
    c1 = seed_channel(200, NULL);
    c2 = seed_channel(100, NULL);
    bind_ch(c1, F.cb, SC_BINDING_ACTIVE);
    bind_ch(c2, F.cb, SC_BINDING_ACTIVE);
    rc = run(&out, "channel %" PRIu64 " %" PRIu64, c1, c2);
    if (rc != 0)
        fail_msg("reindex rc %d: %s", rc, out);
    free(out);
    t_stack("es-wipe 2");
    t_stack("es-start 2");
    assert_int_equal(es_count(F.cb, F.index, c1), 0);
    rc = run(&out, "cluster %s", F.cb);
    if (rc != 0)
        fail_msg("reindex cluster rc %d: %s", rc, out);
    free(out);
    assert_matches_pg(F.cb, c1);
    assert_matches_pg(F.cb, c2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dry_run_changes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals_leave_no_trace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rebuild_after_index_loss, setup, teardown),
        cmocka_unit_test_setup_teardown(test_building_becomes_active_and_status, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kill_and_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_live_edits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_move_zero_downtime, setup, teardown),
        cmocka_unit_test_setup_teardown(test_worker_runs_queued_job, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rebuild_wiped_cluster, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
