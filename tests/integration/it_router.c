/*
 * it_router.c - the router program end to end against the real stack:
 * build/router is spawned on a free port with a unique namespace and a static
 * cluster list (c1, c2 = the stack's first two clusters); data is seeded
 * directly (PostgreSQL rows and bindings via db.h, documents via bulk into
 * the real clusters, then refresh) and every answer is checked over HTTP.
 *
 * Covers: each filter and q operator (exact ids); sorting and paging across
 * two clusters equal to one cluster holding the same data; a permission
 * property test over random memberships; malformed requests (400 naming the
 * parameter), 401s, 404/405/414; 202 while a channel is building (with the
 * reindex job's documents_indexed); hydration (edited text and
 * edited_timestamp shown, deleted hidden, context around a hit, also across
 * a long run of deleted messages); and a cluster
 * killed mid-service (fast partial answer). The last one is destructive: it
 * is skipped with SC_TEST_NO_DESTRUCTIVE=1 and always restarts the cluster.
 */
#include "testlib.h"

#include <arpa/inet.h>
#include <openssl/evp.h>
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base64.h"
#include "binding.h"
#include "bulk.h"
#include "cluster.h"
#include "db.h"
#include "es.h"
#include "jwt.h"
#include "esdoc.h"
#include "redis.h"

#define SECRET "it-router-secret-0123456789"
#define QUERY_TIMEOUT_MS 1500

static char ns[64];
static char idx[64];  /* split index: on c1 and c2 */
static char idx1[80]; /* single-cluster copy, on c1 */
static int port;
static int router_pid;
static es_client *es[2];
static sc_db *db;
static sc_bulk bulk[2]; /* pending docs per cluster */
static char *schema;
static char logpath[128];
static int64_t base_ms; /* random day, so reruns never reuse ids */

/* ------------------------------------------------------------ helpers */

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    long n;
    char *p;
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    p = malloc((size_t)n + 1);
    assert_non_null(p);
    assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
    p[n] = '\0';
    fclose(f);
    return p;
}

/* A snowflake at base + day days + ms, with random even low bits. */
static uint64_t sf(int day, int64_t ms)
{
    return sc_snowflake_from_ms(base_ms + day * 86400000LL + ms) | ((t_rand_id() & 0x1FFFFF) << 1);
}

static void must(sc_status st, const char *what)
{
    if (st != SC_OK && st != SC_ECONFLICT)
        fail_msg("%s: %s (%s)", what, sc_status_str(st), db ? sc_db_errstr(db) : "");
}

static void guild(uint64_t g) { must(sc_db_upsert_guild(db, g, "g", 0), "guild"); }

static void channel(uint64_t g, uint64_t c, const char *vis, const char *cluster, const char *index,
                    sc_binding_state state)
{
    sc_binding w;
    must(sc_db_upsert_channel(db, c, g, "c", g ? "text" : "dm", vis), "channel");
    if (cluster != NULL)
        must(sc_db_binding_insert_if_absent(db, c, cluster, index, state, &w), "binding");
}

static void member(uint64_t g, uint64_t u) { must(sc_db_upsert_member(db, g, u), "member"); }

/* Message spec for seeding. */
typedef struct mspec {
    uint64_t id, channel, guild, author;
    sc_author_type atype;
    const char *content;
    uint64_t mention; /* 0 = none */
    int everyone, pinned;
    const char *att_name; /* NULL = none */
    const char *att_type;
    const char *embed_type; /* NULL = none */
    const char *embed_provider;
} mspec;

/* Write to PG (version v, deleted flag) and, when cl >= 0, queue the doc. */
static void seed(const mspec *s, int64_t v, int deleted, int cl, const char *index)
{
    sc_message m;
    sc_attachment a;
    sc_embed e;
    uint64_t men = s->mention;
    sc_buf doc;
    memset(&m, 0, sizeof(m));
    m.id = s->id;
    m.channel_id = s->channel;
    m.guild_id = s->guild;
    m.author_id = s->author ? s->author : 7;
    m.author_type = s->atype;
    m.content = (char *)(s->content ? s->content : "");
    if (men) {
        m.mentions = &men;
        m.n_mentions = 1;
    }
    m.mention_everyone = s->everyone;
    m.pinned = s->pinned;
    if (s->att_name) {
        a.filename = (char *)s->att_name;
        a.content_type = (char *)s->att_type;
        a.size = 1234;
        m.attachments = &a;
        m.n_attachments = 1;
    }
    if (s->embed_type) {
        e.type = (char *)s->embed_type;
        e.provider = (char *)s->embed_provider;
        e.url = NULL; /* an embed URL would count as a link */
        m.embeds = &e;
        m.n_embeds = 1;
    }
    m.version = v;
    m.deleted = deleted;
    must(sc_db_upsert_message(db, &m), "upsert message");
    if (cl < 0)
        return;
    sc_buf_init(&doc, 0);
    assert_int_equal(sc_message_to_doc(&m, &doc), SC_OK);
    assert_int_equal(sc_bulk_add_index(&bulk[cl], index, m.id, v, doc.data, doc.len), SC_OK);
    sc_buf_free(&doc);
}

static void flush(void)
{
    for (int i = 0; i < 2; i++) {
        sc_buf resp;
        long code = 0;
        sc_bulk_result br;
        char err[256];
        if (sc_bulk_count(&bulk[i]) == 0)
            continue;
        sc_buf_init(&resp, 0);
        assert_int_equal(es_bulk(es[i], bulk[i].body.data, bulk[i].body.len, &resp, &code), SC_OK);
        assert_int_equal(
            sc_bulk_parse(resp.data, resp.len, sc_bulk_count(&bulk[i]), &br, err, sizeof(err)),
            SC_OK);
        if (br.n_ok + br.n_conflict != br.n)
            fail_msg("bulk: %zu rejected: %s", br.n_reject + br.n_retry, resp.data);
        sc_bulk_result_free(&br);
        sc_buf_free(&resp);
        sc_bulk_reset(&bulk[i]);
        assert_int_equal(es_refresh(es[i], idx), SC_OK);
        if (i == 0)
            assert_int_equal(es_refresh(es[i], idx1), SC_OK);
        {
            /* One search straight to the engine first: a just-started JVM
             * can take longer than the router's QUERY_TIMEOUT_MS over its
             * first query of a new index, which is not what the tests are
             * about (seen on a loaded machine with Elasticsearch 7.10). */
            sc_buf warm;
            long wcode = 0;
            sc_buf_init(&warm, 0);
            assert_int_equal(es_search(es[i], idx, "{\"query\":{\"match\":{\"content\":\"warm\"}}}",
                                       &warm, &wcode),
                             SC_OK);
            sc_buf_free(&warm);
        }
    }
}

static char *token_for(uint64_t user, int64_t exp_delta, const char *secret)
{
    sc_buf b;
    sc_buf_init(&b, 0);
    assert_int_equal(sc_jwt_sign_hs256(user, secret, (int64_t)time(NULL) + exp_delta, &b), SC_OK);
    return sc_buf_steal(&b);
}

/* GET path (with query) as user (0 = no token); returns status, JSON in *out. */
static long get_as(uint64_t user, const char *pathq, cJSON **out)
{
    char url[8192], auth[1200];
    const char *hdrs[2] = {NULL, NULL};
    char *resp = NULL;
    long code;
    if (user != 0) {
        char *tok = token_for(user, 600, SECRET);
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
        free(tok);
        hdrs[0] = auth;
    }
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, pathq);
    code = t_http("GET", url, NULL, hdrs[0] ? hdrs : NULL, &resp);
    if (out != NULL) {
        *out = resp ? cJSON_Parse(resp) : NULL;
        if (*out == NULL) {
            fprintf(stderr, "body: %.300s\nrouter log: %s\n", resp ? resp : "(none)", logpath);
            free(resp);
            fail_msg("GET %s -> %ld, body not JSON", pathq, code);
        }
    }
    free(resp);
    return code;
}

static uint64_t id_of(const cJSON *o, const char *field)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, field);
    assert_true(cJSON_IsString(v));
    return strtoull(v->valuestring, NULL, 10);
}

/* The hit of each result entry, in order. Returns the count. */
static size_t hits_of(const cJSON *j, uint64_t *ids, size_t max, const cJSON **hitobj)
{
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(j, "messages"), *entry;
    size_t n = 0;
    assert_true(cJSON_IsArray(msgs));
    cJSON_ArrayForEach(entry, msgs)
    {
        const cJSON *m;
        assert_true(cJSON_IsArray(entry));
        cJSON_ArrayForEach(m, entry)
        {
            if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "hit")) && n < max) {
                if (hitobj)
                    hitobj[n] = m;
                ids[n++] = id_of(m, "id");
            }
        }
    }
    return n;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Search and compare the hit set (order-free) with the expected ids. */
static void expect_ids(uint64_t user, const char *pathq, const uint64_t *want, size_t nwant)
{
    cJSON *j;
    uint64_t got[64], w[64];
    long code = get_as(user, pathq, &j);
    size_t n;
    char *txt;
    if (code != 200) {
        txt = cJSON_PrintUnformatted(j);
        fail_msg("GET %s -> %ld %s", pathq, code, txt);
    }
    n = hits_of(j, got, 64, NULL);
    if (nwant > 0)
        memcpy(w, want, nwant * sizeof(uint64_t));
    qsort(got, n, sizeof(uint64_t), cmp_u64);
    qsort(w, nwant, sizeof(uint64_t), cmp_u64);
    if (n != nwant || memcmp(got, w, n * sizeof(uint64_t)) != 0) {
        txt = cJSON_PrintUnformatted(j);
        fail_msg("GET %s: got %zu hits, want %zu: %s", pathq, n, nwant, txt);
    }
    cJSON_Delete(j);
}

static int router_up(void *arg)
{
    char url[128];
    (void)arg;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/healthz", port);
    return t_http("GET", url, NULL, NULL, NULL) == 200;
}

/* ------------------------------------------------------------ setup */

static int setup(void **state)
{
    char err[256], dsn[1024], clusters[600], a_port[32], a_redis[32], a_ns[96], a_cl[640],
        a_dsn[1100], a_etcd[300], a_redis_host[300];
    const char *tpl;
    (void)state;
    t_unique(ns, sizeof(ns), "itrouter");
    snprintf(idx, sizeof(idx), "rt-%d-%08x", (int)getpid(), (unsigned)(t_rand_id() & 0xffffffff));
    snprintf(idx1, sizeof(idx1), "%s-one", idx);
    base_ms = 1577836800000LL + (int64_t)(t_rand_id() % 1500) * 86400000LL; /* 2020 + ~4 y */
    schema = slurp(t_repo_path("schemas/elasticsearch/messages.json"));
    for (int i = 0; i < 2; i++) {
        es_opts o;
        memset(&o, 0, sizeof(o));
        o.url = t_es_url(i);
        o.timeout_ms = 20000;
        o.replicas = 0;
        es[i] = es_client_create(&o, err, sizeof(err));
        assert_non_null(es[i]);
        assert_int_equal(es_ensure_index(es[i], idx, schema), SC_OK);
        sc_bulk_init(&bulk[i], 0);
    }
    assert_int_equal(es_ensure_index(es[0], idx1, schema), SC_OK);
    snprintf(dsn, sizeof(dsn), "%s", t_env("SC_PG_DSN"));
    db = sc_db_create(dsn, err, sizeof(err));
    if (db == NULL)
        fail_msg("db: %s", err);

    port = t_free_port();
    snprintf(clusters, sizeof(clusters), "c1=%s,c2=%s", t_es_url(0), t_es_url(1));
    snprintf(a_port, sizeof(a_port), "--listen-port=%d", port);
    snprintf(a_redis, sizeof(a_redis), "--redis-port=%s", t_env("SC_REDIS_PORT"));
    tpl = t_env_opt("SC_REDIS_HOST");
    snprintf(a_redis_host, sizeof(a_redis_host), "--redis-host=%s", tpl ? tpl : "127.0.0.1");
    snprintf(a_ns, sizeof(a_ns), "--namespace=%s", ns);
    snprintf(a_cl, sizeof(a_cl), "--clusters=%s", clusters);
    snprintf(a_dsn, sizeof(a_dsn), "--pg-dsn=%s", dsn);
    snprintf(a_etcd, sizeof(a_etcd), "--etcd-url=%s", t_env("SC_ETCD_URL"));
    snprintf(logpath, sizeof(logpath), "/tmp/it_router-%d.log", (int)getpid());
    {
        char qt[64];
        snprintf(qt, sizeof(qt), "--query-timeout-ms=%d", QUERY_TIMEOUT_MS);
        char *argv[] = {(char *)t_bin_path("router"),
                        "--jwt-secret=" SECRET,
                        a_port,
                        a_redis,
                        a_redis_host,
                        a_ns,
                        a_cl,
                        a_dsn,
                        a_etcd,
                        qt,
                        "--perm-cache-ttl-ms=2000",
                        "--threads=4",
                        "--log-level=warn",
                        "--rate-limit-user=0",
                        "--rate-limit-ip=0",
                        NULL};
        router_pid = t_spawn(argv, logpath);
    }
    if (!t_wait_until(router_up, NULL, 10000))
        fail_msg("router did not come up; log %s", logpath);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (router_pid > 0)
        t_stop(router_pid, SIGTERM, 5000);
    for (int i = 0; i < 2; i++) {
        if (es[i] != NULL) {
            if (es_delete_index(es[i], idx) != SC_OK) {
                /* best effort */
            }
            if (i == 0 && es_delete_index(es[i], idx1) != SC_OK) {
            }
            es_client_free(es[i]);
        }
        sc_bulk_free(&bulk[i]);
    }
    sc_db_free(db);
    free(schema);
    return 0;
}

/* ------------------------------------------------------------ tests */

/* Each filter and each q operator returns exactly the expected ids. */
static void test_filters(void **state)
{
    uint64_t G = t_rand_id(), A = t_rand_id(), B = t_rand_id(), U = t_rand_id();
    uint64_t X = t_rand_id(), Y = t_rand_id(), Z = t_rand_id();
    uint64_t m[7];
    char p[1024], base[128];
    (void)state;
    guild(G);
    member(G, U);
    channel(G, A, "public", "c1", idx, SC_BINDING_ACTIVE);
    channel(G, B, "public", "c2", idx, SC_BINDING_ACTIVE);
    for (int i = 1; i <= 6; i++)
        m[i] = sf(i - 1, 3600000);
    mspec s[7] = {
        {0},
        {m[1], A, G, X, SC_AUTHOR_USER, "hello world apples", 0, 0, 0, NULL, NULL, NULL, NULL},
        {m[2], A, G, Y, SC_AUTHOR_BOT, "Hello there banana", X, 0, 1, NULL, NULL, NULL, NULL},
        {m[3], B, G, X, SC_AUTHOR_USER, "world peace in our time", 0, 0, 0, "report.pdf",
         "application/pdf", NULL, NULL},
        {m[4], B, G, Z, SC_AUTHOR_WEBHOOK, "check https://www.example.com/page apples", 0, 0, 0,
         NULL, NULL, NULL, NULL},
        {m[5], A, G, X, SC_AUTHOR_USER, "bananas and apples", 0, 1, 0, NULL, NULL, "video",
         "YouTube"},
        {m[6], B, G, Y, SC_AUTHOR_BOT, "the quick brown fox", 0, 0, 0, "cat.png", "image/png", NULL,
         NULL},
    };
    for (int i = 1; i <= 6; i++)
        seed(&s[i], 1, 0, s[i].channel == A ? 0 : 1, idx);
    flush();
    snprintf(base, sizeof(base), "/api/v1/guilds/%" PRIu64 "/messages/search", G);
#define E(q, ...)                                                 \
    do {                                                          \
        uint64_t w_[] = {0, __VA_ARGS__};                         \
        snprintf(p, sizeof(p), "%s?%s", base, q);                 \
        expect_ids(U, p, w_ + 1, sizeof(w_) / sizeof(w_[0]) - 1); \
    } while (0)
#define E0(q)                                     \
    do {                                          \
        snprintf(p, sizeof(p), "%s?%s", base, q); \
        expect_ids(U, p, NULL, 0);                \
    } while (0)
    char q[512];
    E("content=apples", m[1], m[4], m[5]);
    E("q=apples", m[1], m[4], m[5]);
    E("content=apples&sort_by=relevance", m[1], m[4], m[5]);
    E("content=apples&limit=2&offset=1&sort_order=asc", m[4], m[5]);
    E("content=%22world+peace%22", m[3]);
    E("q=ban*", m[2], m[5]);
    E("q=apples+-bananas", m[1], m[4]);
    E("q=apples+-%22hello+world%22", m[4], m[5]);
    E("q=hello", m[1], m[2]);
    E0("q=nonexistentword");
    snprintf(q, sizeof(q), "author_id=%" PRIu64, X);
    E(q, m[1], m[3], m[5]);
    snprintf(q, sizeof(q), "author_id=-%" PRIu64, X);
    E(q, m[2], m[4], m[6]);
    snprintf(q, sizeof(q), "q=from:%" PRIu64, Y);
    E(q, m[2], m[6]);
    snprintf(q, sizeof(q), "q=from:%%3C%%40%" PRIu64 "%%3E+apples", X);
    E(q, m[1], m[5]);
    snprintf(q, sizeof(q), "q=-from:%" PRIu64 "+-from:%" PRIu64, X, Y);
    E(q, m[4]);
    E("author_type=bot", m[2], m[6]);
    E("author_type=webhook", m[4]);
    E("q=author_type:user", m[1], m[3], m[5]);
    E("q=-author_type:user", m[2], m[4], m[6]);
    snprintf(q, sizeof(q), "mentions=%" PRIu64, X);
    E(q, m[2]);
    snprintf(q, sizeof(q), "q=mentions:%" PRIu64, X);
    E(q, m[2]);
    E("mention_everyone=true", m[5]);
    E("has=file", m[3], m[6]);
    E("has=image", m[6]);
    E("has=link", m[4]);
    E("has=embed", m[5]);
    E("q=has:link", m[4]);
    E("q=-has:file", m[1], m[2], m[4], m[5]);
    E("pinned=true", m[2]);
    E("q=pinned:true", m[2]);
    E("pinned=false", m[1], m[3], m[4], m[5], m[6]);
    snprintf(q, sizeof(q), "channel_id=%" PRIu64, B);
    E(q, m[3], m[4], m[6]);
    snprintf(q, sizeof(q), "q=in:%%3C%%23%" PRIu64 "%%3E", A);
    E(q, m[1], m[2], m[5]);
    snprintf(q, sizeof(q), "channel_id[]=%" PRIu64 "&channel_id[]=%" PRIu64 "&content=apples", A,
             B);
    E(q, m[1], m[4], m[5]);
    E("link_hostname=example.com", m[4]);
    E("link_hostnames=www.example.com", m[4]);
    E("attachment_extension=pdf", m[3]);
    E("attachment_filename=report", m[3]);
    E("embed_provider=youtube", m[5]);
    E("embed_type=video", m[5]);
    snprintf(q, sizeof(q), "min_id=%" PRIu64, m[3]);
    E(q, m[4], m[5], m[6]);
    snprintf(q, sizeof(q), "max_id=%" PRIu64, m[3]);
    E(q, m[1], m[2]);
    {
        char day[16];
        time_t t = (time_t)((base_ms + 2 * 86400000LL) / 1000);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(day, sizeof(day), "%Y-%m-%d", &tm);
        snprintf(q, sizeof(q), "q=during:%s", day);
        E(q, m[3]);
        snprintf(q, sizeof(q), "q=before:%s", day);
        E(q, m[1], m[2]);
        snprintf(q, sizeof(q), "q=after:%s", day);
        E(q, m[4], m[5], m[6]);
    }
    /* the channel endpoint searches one channel */
    snprintf(p, sizeof(p), "/api/v1/channels/%" PRIu64 "/messages/search?content=apples", A);
    {
        uint64_t w[] = {m[1], m[5]};
        expect_ids(U, p, w, 2);
    }
    /* order: timestamp desc by default, asc on request; highlights */
    {
        cJSON *j;
        const cJSON *ho[8];
        uint64_t got[8];
        size_t n;
        snprintf(p, sizeof(p), "%s?content=apples&sort_order=asc", base);
        assert_int_equal(get_as(U, p, &j), 200);
        n = hits_of(j, got, 8, ho);
        assert_int_equal(n, 3);
        assert_true(got[0] == m[1] && got[1] == m[4] && got[2] == m[5]);
        assert_int_equal(cJSON_GetObjectItem(j, "total_results")->valueint, 3);
        assert_string_equal(
            cJSON_GetArrayItem(cJSON_GetObjectItem(ho[0], "highlights"), 0)->valuestring, "apples");
        assert_int_equal(id_of(cJSON_GetObjectItem(ho[0], "author"), "id"), X);
        assert_string_equal(cJSON_GetObjectItem(ho[1], "author_type")->valuestring, "webhook");
        assert_null(cJSON_GetObjectItem(j, "partial"));
        cJSON_Delete(j);
        snprintf(p, sizeof(p), "%s?content=apples", base);
        assert_int_equal(get_as(U, p, &j), 200);
        n = hits_of(j, got, 8, NULL);
        assert_true(n == 3 && got[0] == m[5] && got[2] == m[1]);
        cJSON_Delete(j);
    }
#undef E
#undef E0
}

/* Paging across two clusters equals one cluster with the same data. */
static void test_paging_split_vs_single(void **state)
{
    enum { N = 60 };
    uint64_t G2 = t_rand_id(), G3 = t_rand_id(), U = t_rand_id();
    uint64_t P[4], Q[4], ids[N];
    char p[512];
    (void)state;
    guild(G2);
    guild(G3);
    member(G2, U);
    member(G3, U);
    for (int i = 0; i < 4; i++) {
        P[i] = t_rand_id();
        Q[i] = t_rand_id();
        channel(G2, P[i], "public", i < 2 ? "c1" : "c2", idx, SC_BINDING_ACTIVE);
        channel(G3, Q[i], "public", "c1", idx1, SC_BINDING_ACTIVE);
    }
    for (int i = 0; i < N; i++) {
        int ch = (int)(t_rand_id() % 4);
        char text[64];
        mspec s;
        memset(&s, 0, sizeof(s));
        ids[i] = sf(10 + (int)(t_rand_id() % 20), (int64_t)(t_rand_id() % 86400000));
        snprintf(text, sizeof(text), "paging common word %d", i);
        s.id = ids[i];
        s.channel = P[ch];
        s.guild = G2;
        s.content = text;
        seed(&s, 1, 0, ch < 2 ? 0 : 1, idx);
        s.id = ids[i] + 1; /* the copy: same order, same text */
        s.channel = Q[ch];
        s.guild = G3;
        seed(&s, 1, 0, 0, idx1);
    }
    flush();
    qsort(ids, N, sizeof(uint64_t), cmp_u64);
    static const int offsets[] = {0, 5, 17, 25, 40, 55};
    for (int order = 0; order < 2; order++) {
        for (size_t k = 0; k < sizeof(offsets) / sizeof(offsets[0]); k++) {
            cJSON *a, *b;
            uint64_t ga[25], gb[25];
            size_t na, nb, want = N - offsets[k] < 25 ? (size_t)(N - offsets[k]) : 25;
            const char *ord = order ? "asc" : "desc";
            snprintf(p, sizeof(p),
                     "/api/v1/guilds/%" PRIu64 "/messages/search?content=common&sort_order=%s"
                     "&offset=%d&limit=25",
                     G2, ord, offsets[k]);
            assert_int_equal(get_as(U, p, &a), 200);
            snprintf(p, sizeof(p),
                     "/api/v1/guilds/%" PRIu64 "/messages/search?content=common&sort_order=%s"
                     "&offset=%d&limit=25",
                     G3, ord, offsets[k]);
            assert_int_equal(get_as(U, p, &b), 200);
            na = hits_of(a, ga, 25, NULL);
            nb = hits_of(b, gb, 25, NULL);
            assert_int_equal(na, want);
            assert_int_equal(nb, want);
            assert_int_equal(cJSON_GetObjectItem(a, "total_results")->valueint, N);
            assert_int_equal(cJSON_GetObjectItem(b, "total_results")->valueint, N);
            for (size_t i = 0; i < na; i++) {
                size_t pos = order ? (size_t)offsets[k] + i : (size_t)(N - 1 - offsets[k]) - i;
                assert_true(ga[i] == gb[i] - 1);
                assert_true(ga[i] == ids[pos]);
            }
            cJSON_Delete(a);
            cJSON_Delete(b);
        }
    }
}

/* Random memberships: never a message from an unreadable channel, and the
 * channel endpoint answers 403 exactly for unreadable channels. */
static void test_permissions_property(void **state)
{
    enum { TRIALS = 30, CH = 4, US = 3 };
    struct trial {
        uint64_t g, ch[CH], users[US], msg[CH];
        int readable[US][CH];
        char word[32];
    } tr[TRIALS];
    (void)state;
    for (int t = 0; t < TRIALS; t++) {
        struct trial *T = &tr[t];
        int pub[CH], gm[US];
        T->g = t_rand_id();
        guild(T->g);
        snprintf(T->word, sizeof(T->word), "perm%llx",
                 (unsigned long long)(t_rand_id() & 0xffffffffffULL));
        for (int u = 0; u < US; u++) {
            T->users[u] = t_rand_id();
            gm[u] = (int)(t_rand_id() % 4) != 0; /* 3/4 are members */
            if (gm[u])
                member(T->g, T->users[u]);
        }
        for (int c = 0; c < CH; c++) {
            int cl = (int)(t_rand_id() % 2);
            mspec s;
            T->ch[c] = t_rand_id();
            pub[c] = (int)(t_rand_id() % 2);
            channel(T->g, T->ch[c], pub[c] ? "public" : "private", cl ? "c2" : "c1", idx,
                    SC_BINDING_ACTIVE);
            for (int u = 0; u < US; u++) {
                int r = (int)(t_rand_id() % 3); /* 0 default, 1 member row, 2 deny row */
                if (r == 1)
                    must(sc_db_set_channel_access(db, T->ch[c], T->users[u], SC_ACCESS_MEMBER),
                         "access");
                else if (r == 2)
                    must(sc_db_set_channel_access(db, T->ch[c], T->users[u], SC_ACCESS_DENY),
                         "access");
                T->readable[u][c] = gm[u] && ((pub[c] && r != 2) || r == 1);
            }
            memset(&s, 0, sizeof(s));
            T->msg[c] = s.id = sf(40, (int64_t)(t_rand_id() % 86400000));
            s.channel = T->ch[c];
            s.guild = T->g;
            s.content = T->word;
            seed(&s, 1, 0, cl, idx);
        }
    }
    flush();
    for (int t = 0; t < TRIALS; t++) {
        struct trial *T = &tr[t];
        for (int u = 0; u < US; u++) {
            char p[256];
            uint64_t want[CH];
            size_t nw = 0;
            for (int c = 0; c < CH; c++)
                if (T->readable[u][c])
                    want[nw++] = T->msg[c];
            snprintf(p, sizeof(p), "/api/v1/guilds/%" PRIu64 "/messages/search?content=%s", T->g,
                     T->word);
            expect_ids(T->users[u], p, want, nw);
            /* filters cannot widen the scope */
            snprintf(p, sizeof(p),
                     "/api/v1/guilds/%" PRIu64 "/messages/search?content=%s&channel_id=%" PRIu64
                     "&channel_id=%" PRIu64,
                     T->g, T->word, T->ch[0], T->ch[1]);
            nw = 0;
            for (int c = 0; c < 2; c++)
                if (T->readable[u][c])
                    want[nw++] = T->msg[c];
            expect_ids(T->users[u], p, want, nw);
            for (int c = 0; c < CH; c++) {
                cJSON *j;
                long code;
                snprintf(p, sizeof(p), "/api/v1/channels/%" PRIu64 "/messages/search?content=%s",
                         T->ch[c], T->word);
                code = get_as(T->users[u], p, &j);
                if (T->readable[u][c]) {
                    uint64_t got[4];
                    assert_int_equal(code, 200);
                    assert_int_equal(hits_of(j, got, 4, NULL), 1);
                    assert_true(got[0] == T->msg[c]);
                } else {
                    assert_int_equal(code, 403);
                    assert_int_equal(cJSON_GetObjectItem(j, "code")->valueint, 50001);
                    assert_string_equal(cJSON_GetObjectItem(j, "message")->valuestring,
                                        "Missing Access");
                }
                cJSON_Delete(j);
            }
        }
    }
}

/* Malformed requests -> 400 naming the parameter; auth -> 401; routing. */
static void test_malformed_and_auth(void **state)
{
    uint64_t G = t_rand_id(), C = t_rand_id(), U = t_rand_id();
    char gb[128], cb[128], p[8192];
    (void)state;
    guild(G);
    member(G, U);
    channel(G, C, "public", "c1", idx, SC_BINDING_ACTIVE);
    snprintf(gb, sizeof(gb), "/api/v1/guilds/%" PRIu64 "/messages/search", G);
    snprintf(cb, sizeof(cb), "/api/v1/channels/%" PRIu64 "/messages/search", C);
    static const struct {
        int chan;          /* 1 = channel endpoint */
        const char *q;     /* query string */
        const char *param; /* expected key in errors */
    } bad[] = {
        {0, "limit=0", "limit"},
        {0, "limit=26", "limit"},
        {0, "limit=abc", "limit"},
        {0, "offset=-1", "offset"},
        {0, "offset=99999", "offset"},
        {0, "sort_by=size", "sort_by"},
        {0, "sort_order=up", "sort_order"},
        {0, "author_id=abc", "author_id"},
        {0, "author_id=", "author_id"},
        {0, "author_type=alien", "author_type"},
        {0, "mentions=1x", "mentions"},
        {0, "has=gif", "has"},
        {0, "mention_everyone=maybe", "mention_everyone"},
        {0, "pinned=perhaps", "pinned"},
        {0, "min_id=x", "min_id"},
        {0, "max_id=18446744073709551616", "max_id"},
        {0, "channel_id=zz", "channel_id"},
        {1, "channel_id=1", "channel_id"},
        {1, "q=in:123", "q"},
        {0, "q=foo:bar", "q"},
        {0, "q=%22unterminated", "q"},
        {0, "q=from:", "q"},
        {0, "q=during:2020-13-45", "q"},
        {0, "q=%ff%fe", "q"},
        {0, "q=a%00b", "q"},
        {0, "limit=5&limit=6", "limit"},
        {0, "frobnicate=1", "frobnicate"},
        {0, "context=sometimes", "context"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cJSON *j, *errs;
        long code;
        snprintf(p, sizeof(p), "%s?%s", bad[i].chan ? cb : gb, bad[i].q);
        code = get_as(U, p, &j);
        if (code != 400)
            fail_msg("%s -> %ld (want 400)", p, code);
        assert_int_equal(cJSON_GetObjectItem(j, "code")->valueint, 50035);
        errs = cJSON_GetObjectItem(j, "errors");
        if (!cJSON_IsObject(errs) || cJSON_GetObjectItem(errs, bad[i].param) == NULL)
            fail_msg("%s: errors does not name %s: %s", p, bad[i].param, cJSON_PrintUnformatted(j));
        cJSON_Delete(j);
    }
    /* a too-long content value and too many parameters */
    {
        cJSON *j;
        int k = snprintf(p, sizeof(p), "%s?content=", gb);
        memset(p + k, 'a', 2000);
        p[k + 2000] = '\0';
        assert_int_equal(get_as(U, p, &j), 400);
        assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "errors"), "content"));
        cJSON_Delete(j);
        k = snprintf(p, sizeof(p), "%s?", gb);
        for (int i = 0; i < 80; i++)
            k += snprintf(p + k, sizeof(p) - (size_t)k, "has=link&");
        assert_int_equal(get_as(U, p, &j), 400);
        cJSON_Delete(j);
    }
    /* bad ids in the path */
    {
        cJSON *j;
        assert_int_equal(get_as(U, "/api/v1/guilds/abc/messages/search", &j), 400);
        assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "errors"), "guild_id"));
        cJSON_Delete(j);
        assert_int_equal(get_as(U, "/api/v1/channels/99999999999999999999/messages/search", &j),
                         400);
        assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "errors"), "channel_id"));
        cJSON_Delete(j);
    }
    /* 401s */
    {
        char url[256], auth[1200], *tok, *resp = NULL;
        const char *h[2] = {auth, NULL};
        snprintf(url, sizeof(url), "http://127.0.0.1:%d%s?content=x", port, gb);
        assert_int_equal(t_http("GET", url, NULL, NULL, &resp), 401);
        assert_non_null(strstr(resp, "\"message\""));
        free(resp);
        snprintf(auth, sizeof(auth), "Authorization: Bearer not.a.token");
        assert_int_equal(t_http("GET", url, NULL, h, NULL), 401);
        tok = token_for(U, 600, "another-secret-of-sufficient-length");
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
        free(tok);
        assert_int_equal(t_http("GET", url, NULL, h, NULL), 401);
        tok = token_for(U, -3600, SECRET);
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
        free(tok);
        assert_int_equal(t_http("GET", url, NULL, h, NULL), 401);
        tok = token_for(U, 600, SECRET);
        snprintf(auth, sizeof(auth), "Authorization: Basic %s", tok);
        free(tok);
        assert_int_equal(t_http("GET", url, NULL, h, NULL), 401);
        /* and the good token works */
        tok = token_for(U, 600, SECRET);
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
        free(tok);
        assert_int_equal(t_http("GET", url, NULL, h, NULL), 200);
        /* routing */
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/nothing", port);
        resp = NULL;
        assert_int_equal(t_http("GET", url, NULL, h, &resp), 404);
        assert_non_null(strstr(resp, "\"code\""));
        free(resp);
        snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, gb);
        assert_int_equal(t_http("POST", url, "{}", h, NULL), 405);
        assert_int_equal(t_http("DELETE", url, NULL, h, NULL), 405);
    }
    /* request line over max_request_bytes (16384 by default) */
    {
        size_t big = 20000;
        char *url = malloc(big + 200);
        int k = snprintf(url, big + 200, "http://127.0.0.1:%d%s?content=", port, gb);
        memset(url + k, 'b', big);
        url[k + big] = '\0';
        assert_int_equal(t_http("GET", url, NULL, NULL, NULL), 414);
        free(url);
    }
}

/* A running reindex job in its own pool listing chans, each channel with
 * `per` rows copied (the job's done = per x n).
 * A reindex worker of another test on a shared stack claims any queued job,
 * so a job stolen between create and claim is given up and made again. */
static int64_t running_job(const char *pool, const uint64_t *chans, size_t n, int64_t per)
{
    for (int tries = 0; tries < 5; tries++) {
        int64_t id;
        sc_job jb;
        sc_status st;
        must(sc_db_job_create(db, "guild", "it-router", pool, 0, &id), "job create");
        must(sc_db_job_channels_add(db, id, chans, n), "job channels");
        st = sc_db_job_claim(db, "it-router", pool, 0, &jb);
        if (st == SC_ENOTFOUND)
            continue; /* stolen */
        must(st, "job claim");
        assert_true(jb.id == id);
        for (size_t i = 0; i < n; i++)
            must(sc_db_job_checkpoint(db, id, chans[i], 1, per), "job checkpoint");
        return id;
    }
    fail_msg("could not keep a job of pool %s", pool);
    return 0;
}

/* 202 while a channel in scope is building (documents_indexed = progress of
 * its reindex job); 200 once it is active. */
/* Change channel c's binding as the reindexer does: through a binder in the
 * router's namespace, PostgreSQL and Redis cache. cluster NULL: set only
 * history_from (to history); else set (cluster, idx, state). */
static void binder_change(uint64_t c, const char *cluster, sc_binding_state st, uint64_t history)
{
    char err[256];
    sc_redis_opts ro;
    sc_redis *rd;
    sc_cluster_view_opts vo;
    sc_cluster_view *v;
    sc_binder_opts bo;
    sc_binder *b;
    sc_binding cur, upd;
    char cl[600];
    memset(&ro, 0, sizeof(ro));
    ro.port = atoi(t_env("SC_REDIS_PORT"));
    rd = sc_redis_create(&ro, err, sizeof(err));
    assert_non_null(rd);
    snprintf(cl, sizeof(cl), "c1=%s,c2=%s", t_es_url(0), t_es_url(1));
    memset(&vo, 0, sizeof(vo));
    vo.ns = ns;
    vo.static_list = cl;
    v = sc_cluster_view_create(&vo, err, sizeof(err));
    assert_non_null(v);
    memset(&bo, 0, sizeof(bo));
    bo.ns = ns;
    bo.index_name = idx;
    bo.cache_ttl_s = 60;
    bo.redis = rd;
    bo.db = db;
    bo.view = v;
    b = sc_binder_create(&bo, err, sizeof(err));
    assert_non_null(b);
    assert_int_equal(sc_db_binding_get(db, c, &cur), SC_OK);
    if (cluster != NULL)
        assert_int_equal(sc_binder_update(b, &cur, cluster, idx, st, &upd), SC_OK);
    else
        assert_int_equal(sc_binder_set_history(b, &cur, history, &upd), SC_OK);
    sc_binder_free(b);
    sc_cluster_view_free(v);
    sc_redis_free(rd);
}

static void rebind(uint64_t c, const char *cluster, sc_binding_state st)
{
    binder_change(c, cluster, st, 0);
}

/* The value of one unlabelled-or-labelled sample line of /metrics; -1 when
 * the line is absent. */
static double metric_value(const char *sample)
{
    char url[128], *resp = NULL, *at;
    double v = -1;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", port);
    assert_int_equal(t_http("GET", url, NULL, NULL, &resp), 200);
    at = strstr(resp, sample);
    if (at != NULL && at[strlen(sample)] == ' ')
        v = strtod(at + strlen(sample) + 1, NULL);
    free(resp);
    return v;
}

/* The router asks clusters before it has read the bindings (where they last
 * were); a binding that changed in between must still take effect on the
 * very next search, with the early answer thrown away. */
static void test_rebinding_takes_effect_at_once(void **state)
{
    uint64_t G = t_rand_id(), C = t_rand_id(), U = t_rand_id();
    uint64_t on1[] = {sf(55, 1000)}, on2[] = {sf(55, 2000)};
    const char *kept = "scour_router_early_requests_total{outcome=\"kept\"}";
    const char *dropped = "scour_router_early_requests_total{outcome=\"dropped\"}";
    double kept0, dropped0;
    char p[256];
    mspec s;
    (void)state;
    guild(G);
    member(G, U);
    channel(G, C, "public", "c1", idx, SC_BINDING_ACTIVE);
    /* one copy of the channel on each cluster, each with its own message */
    memset(&s, 0, sizeof(s));
    s.channel = C;
    s.guild = G;
    s.content = "rebindword";
    s.id = on1[0];
    seed(&s, 1, 0, 0, idx);
    s.id = on2[0];
    seed(&s, 1, 0, 1, idx);
    flush();
    snprintf(p, sizeof(p), "/api/v1/channels/%" PRIu64 "/messages/search?content=rebindword", C);
    kept0 = metric_value(kept);
    dropped0 = metric_value(dropped);
    for (int i = 0; i < 3; i++)
        expect_ids(U, p, on1, 1);
    /* searches after the first were sent early and kept */
    assert_true(metric_value(kept) >= (kept0 < 0 ? 0 : kept0) + 2);
    rebind(C, "c2", SC_BINDING_ACTIVE);
    expect_ids(U, p, on2, 1);
    expect_ids(U, p, on2, 1);
    rebind(C, "c1", SC_BINDING_MOVING); /* moving to c1: still read from c2, same question */
    expect_ids(U, p, on2, 1);
    rebind(C, "c1", SC_BINDING_ACTIVE);
    expect_ids(U, p, on1, 1);
    /* a cluster the router does not know: the search is partial, counted
     * once; the early request that still goes there after the channel came
     * back (asked nobody) is not counted against it */
    {
        const char *c9err = "scour_router_cluster_errors_total{cluster=\"c9\"}";
        double e0 = metric_value(c9err);
        cJSON *j;
        rebind(C, "c9", SC_BINDING_ACTIVE);
        assert_int_equal(get_as(U, p, &j), 200);
        assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "partial")));
        cJSON_Delete(j);
        rebind(C, "c1", SC_BINDING_ACTIVE);
        expect_ids(U, p, on1, 1);
        assert_true(metric_value(c9err) == (e0 < 0 ? 0 : e0) + 1);
    }
    rebind(C, "c1", SC_BINDING_BUILDING);
    {
        cJSON *j;
        assert_int_equal(get_as(U, p, &j), 202);
        cJSON_Delete(j);
    }
    /* each switch that changed the question threw one early request away:
     * to c2, back to c1, to c9, back to c1, building */
    assert_true(metric_value(dropped) >= (dropped0 < 0 ? 0 : dropped0) + 5);
}

static void test_building_202(void **state)
{
    uint64_t G = t_rand_id(), C = t_rand_id(), D = t_rand_id(), U = t_rand_id();
    uint64_t G2 = t_rand_id(), E1 = t_rand_id(), E2 = t_rand_id(), F = t_rand_id();
    uint64_t jchans[3] = {C, E1, E2};
    char p[256], pool[64];
    cJSON *j;
    mspec s;
    int64_t job;
    (void)state;
    guild(G);
    member(G, U);
    channel(G, C, "public", "c1", idx, SC_BINDING_BUILDING);
    channel(G, D, "public", "c2", idx, SC_BINDING_ACTIVE);
    /* G2: two building channels of one job (counted once), F building with no job */
    guild(G2);
    member(G2, U);
    channel(G2, E1, "public", "c1", idx, SC_BINDING_BUILDING);
    channel(G2, E2, "public", "c2", idx, SC_BINDING_BUILDING);
    channel(G2, F, "public", "c2", idx, SC_BINDING_BUILDING);
    t_unique(pool, sizeof(pool), "itrouter-pool");
    job = running_job(pool, jchans, 3, 41);
    memset(&s, 0, sizeof(s));
    s.id = sf(50, 1000);
    s.channel = C;
    s.guild = G;
    s.content = "buildingword";
    seed(&s, 1, 0, 0, idx);
    flush();
    snprintf(p, sizeof(p), "/api/v1/guilds/%" PRIu64 "/messages/search?content=buildingword", G);
    assert_int_equal(get_as(U, p, &j), 202);
    assert_int_equal(cJSON_GetObjectItem(j, "code")->valueint, 110000);
    assert_string_equal(cJSON_GetObjectItem(j, "message")->valuestring,
                        "Index not yet available. Try again later");
    assert_true(cJSON_IsNumber(cJSON_GetObjectItem(j, "documents_indexed")));
    assert_int_equal(cJSON_GetObjectItem(j, "documents_indexed")->valueint,
                     41); /* C's rows of the job */
    assert_true(cJSON_GetObjectItem(j, "retry_after")->valueint > 0);
    cJSON_Delete(j);
    snprintf(p, sizeof(p), "/api/v1/channels/%" PRIu64 "/messages/search?content=buildingword", C);
    assert_int_equal(get_as(U, p, &j), 202);
    assert_int_equal(cJSON_GetObjectItem(j, "documents_indexed")->valueint, 41);
    cJSON_Delete(j);
    /* per channel: two building channels of one job count their own rows; no job adds 0 */
    snprintf(p, sizeof(p), "/api/v1/guilds/%" PRIu64 "/messages/search?content=buildingword", G2);
    assert_int_equal(get_as(U, p, &j), 202);
    assert_int_equal(cJSON_GetObjectItem(j, "documents_indexed")->valueint, 82);
    cJSON_Delete(j);
    snprintf(p, sizeof(p), "/api/v1/channels/%" PRIu64 "/messages/search?content=buildingword", F);
    assert_int_equal(get_as(U, p, &j), 202);
    assert_int_equal(cJSON_GetObjectItem(j, "documents_indexed")->valueint, 0);
    cJSON_Delete(j);
    /* the job ends: what it copied still counts (documents_indexed never
     * goes down while a scope is building) */
    must(sc_db_job_finish(db, job, SC_JOB_DONE, NULL), "job finish");
    snprintf(p, sizeof(p), "/api/v1/channels/%" PRIu64 "/messages/search?content=buildingword", E1);
    assert_int_equal(get_as(U, p, &j), 202);
    assert_int_equal(cJSON_GetObjectItem(j, "documents_indexed")->valueint, 41);
    cJSON_Delete(j);
    snprintf(p, sizeof(p), "/api/v1/guilds/%" PRIu64 "/messages/search?content=buildingword", G2);
    assert_int_equal(get_as(U, p, &j), 202);
    assert_int_equal(cJSON_GetObjectItem(j, "documents_indexed")->valueint, 82);
    cJSON_Delete(j);
    /* the other channel alone is searchable */
    snprintf(p, sizeof(p), "/api/v1/channels/%" PRIu64 "/messages/search?content=buildingword", D);
    assert_int_equal(get_as(U, p, &j), 200);
    cJSON_Delete(j);
    /* switch to active through a binder in the router's namespace (cache too) */
    rebind(C, "c1", SC_BINDING_ACTIVE);
    snprintf(p, sizeof(p), "/api/v1/guilds/%" PRIu64 "/messages/search?content=buildingword", G);
    {
        uint64_t w[] = {s.id};
        expect_ids(U, p, w, 1);
    }
}

/* 1 when the JSON array arr holds the string want. */
static int has_str(const cJSON *arr, const char *want)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, arr)
    {
        if (cJSON_IsString(e) && strcmp(e->valuestring, want) == 0)
            return 1;
    }
    return 0;
}

/* A rebuilt channel that is active with only its recent days copied
 * (history_from > 0): answers are 200 with what is there, marked partial
 * with "history_incomplete", documents_indexed and indexed_fraction, never
 * as complete; a query entirely above history_from is complete; so is
 * every answer once the history is all there. */
static void test_history_incomplete_partial(void **state)
{
    uint64_t G = t_rand_id(), H = t_rand_id(), K = t_rand_id(), U = t_rand_id();
    uint64_t jch[1] = {H};
    uint64_t recent, old_missing, other, bound;
    char p[256], pool[64];
    cJSON *j;
    mspec s;
    int64_t job;
    (void)state;
    guild(G);
    member(G, U);
    channel(G, H, "public", "c1", idx, SC_BINDING_ACTIVE);
    channel(G, K, "public", "c2", idx, SC_BINDING_ACTIVE);
    old_missing = sf(70, 1000); /* in PostgreSQL, not yet copied */
    bound = sf(70, 5000);
    recent = sf(70, 9000);
    other = sf(70, 9500);
    memset(&s, 0, sizeof(s));
    s.guild = G;
    s.content = "histword";
    s.channel = H;
    s.id = recent;
    seed(&s, 1, 0, 0, idx);
    s.channel = K;
    s.id = other;
    seed(&s, 1, 0, 1, idx);
    flush();
    (void)old_missing;
    t_unique(pool, sizeof(pool), "itrouter-hist");
    job = running_job(pool, jch, 1, 123);
    must(sc_db_job_channel_total(db, job, H, 200), "channel total");
    binder_change(H, NULL, SC_BINDING_ACTIVE, bound);

    snprintf(p, sizeof(p), "/api/v1/channels/%" PRIu64 "/messages/search?content=histword", H);
    assert_int_equal(get_as(U, p, &j), 200);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "partial")));
    assert_true(has_str(cJSON_GetObjectItem(j, "partial_reasons"), "history_incomplete"));
    assert_false(has_str(cJSON_GetObjectItem(j, "partial_reasons"), "clusters_failed"));
    assert_int_equal(cJSON_GetObjectItem(j, "failed_clusters")->valueint, 0);
    assert_int_equal(cJSON_GetObjectItem(j, "history_incomplete_channels")->valueint, 1);
    assert_int_equal(cJSON_GetObjectItem(j, "documents_indexed")->valueint, 123);
    assert_true(cJSON_GetObjectItem(j, "indexed_fraction")->valuedouble > 0.6 &&
                cJSON_GetObjectItem(j, "indexed_fraction")->valuedouble < 0.62);
    assert_int_equal(cJSON_GetObjectItem(j, "total_results")->valueint, 1);
    cJSON_Delete(j);
    /* the guild: the complete channel's hits too, still partial */
    snprintf(p, sizeof(p), "/api/v1/guilds/%" PRIu64 "/messages/search?content=histword", G);
    assert_int_equal(get_as(U, p, &j), 200);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "partial")));
    assert_int_equal(cJSON_GetObjectItem(j, "history_incomplete_channels")->valueint, 1);
    assert_int_equal(cJSON_GetObjectItem(j, "total_results")->valueint, 2);
    cJSON_Delete(j);
    /* only K: complete */
    snprintf(p, sizeof(p), "/api/v1/channels/%" PRIu64 "/messages/search?content=histword", K);
    assert_int_equal(get_as(U, p, &j), 200);
    assert_null(cJSON_GetObjectItem(j, "partial"));
    cJSON_Delete(j);
    /* a query above the missing range is complete */
    snprintf(p, sizeof(p),
             "/api/v1/channels/%" PRIu64 "/messages/search?content=histword&min_id=%" PRIu64, H,
             bound);
    assert_int_equal(get_as(U, p, &j), 200);
    assert_null(cJSON_GetObjectItem(j, "partial"));
    cJSON_Delete(j);
    /* one below it is not */
    snprintf(p, sizeof(p),
             "/api/v1/channels/%" PRIu64 "/messages/search?content=histword&min_id=%" PRIu64, H,
             bound - 10);
    assert_int_equal(get_as(U, p, &j), 200);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "partial")));
    cJSON_Delete(j);
    /* the whole history copied */
    binder_change(H, NULL, SC_BINDING_ACTIVE, 0);
    must(sc_db_job_finish(db, job, SC_JOB_DONE, NULL), "job finish");
    snprintf(p, sizeof(p), "/api/v1/guilds/%" PRIu64 "/messages/search?content=histword", G);
    assert_int_equal(get_as(U, p, &j), 200);
    assert_null(cJSON_GetObjectItem(j, "partial"));
    assert_null(cJSON_GetObjectItem(j, "partial_reasons"));
    cJSON_Delete(j);
}

/* Bodies come from PostgreSQL: edited text shows, deleted never; context. */
static void test_hydration_and_context(void **state)
{
    uint64_t G = t_rand_id(), C = t_rand_id(), U = t_rand_id();
    uint64_t e1 = sf(60, 1000), d1 = sf(60, 2000);
    uint64_t k[6];
    mspec s;
    char p[256];
    cJSON *j;
    uint64_t got[8];
    const cJSON *ho[8];
    (void)state;
    guild(G);
    member(G, U);
    channel(G, C, "public", "c2", idx, SC_BINDING_ACTIVE);
    memset(&s, 0, sizeof(s));
    s.channel = C;
    s.guild = G;
    s.id = e1;
    s.content = "original zebra text";
    seed(&s, 1, 0, 1, idx);
    s.id = d1;
    s.content = "doomed zebra text";
    seed(&s, 1, 0, 1, idx);
    /* context: k0 < k1 < (k2 deleted) < k3 = hit < k4 < k5 */
    for (int i = 0; i < 6; i++) {
        k[i] = sf(61, 1000 * (i + 1));
        s.id = k[i];
        s.content = i == 3 ? "the unicorn appears" : "filler line";
        seed(&s, 1, 0, 1, idx);
    }
    flush();
    /* edit e1 and delete d1 in PostgreSQL only (the index is stale) */
    s.id = e1;
    s.content = "changed zebra words";
    seed(&s, 2, 0, -1, NULL);
    s.id = d1;
    s.content = "";
    seed(&s, 2, 1, -1, NULL);
    s.id = k[2];
    seed(&s, 2, 1, -1, NULL);
    s.id = k[1]; /* a context message edited: its edit time shows too */
    s.content = "filler line, edited";
    seed(&s, 2, 0, -1, NULL);

    snprintf(p, sizeof(p), "/api/v1/channels/%" PRIu64 "/messages/search?content=zebra", C);
    assert_int_equal(get_as(U, p, &j), 200);
    assert_int_equal(hits_of(j, got, 8, ho), 1);
    assert_true(got[0] == e1);
    assert_string_equal(cJSON_GetObjectItem(ho[0], "content")->valuestring, "changed zebra words");
    assert_string_equal(
        cJSON_GetArrayItem(cJSON_GetObjectItem(ho[0], "highlights"), 0)->valuestring, "zebra");
    {
        /* edited in PostgreSQL: ISO 8601 edit time, after the creation time */
        const cJSON *et = cJSON_GetObjectItem(ho[0], "edited_timestamp");
        const char *ts = cJSON_GetObjectItem(ho[0], "timestamp")->valuestring;
        assert_true(cJSON_IsString(et));
        assert_int_equal(strlen(et->valuestring), strlen("2026-11-23T10:00:00.123000+00:00"));
        assert_non_null(strstr(et->valuestring, "+00:00"));
        assert_true(et->valuestring[4] == '-' && et->valuestring[10] == 'T');
        assert_true(strcmp(et->valuestring, ts) > 0);
    }
    assert_int_equal(cJSON_GetObjectItem(j, "total_results")->valueint, 2); /* as ES says */
    cJSON_Delete(j);

    snprintf(p, sizeof(p),
             "/api/v1/channels/%" PRIu64 "/messages/search?content=unicorn&context=true", C);
    assert_int_equal(get_as(U, p, &j), 200);
    {
        const cJSON *entry = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "messages"), 0), *m;
        uint64_t want[] = {k[5], k[4], k[3], k[1], k[0]};
        size_t n = 0;
        assert_int_equal(cJSON_GetArraySize(entry), 5);
        cJSON_ArrayForEach(m, entry)
        {
            const cJSON *et = cJSON_GetObjectItem(m, "edited_timestamp");
            assert_true(id_of(m, "id") == want[n]);
            assert_int_equal(cJSON_IsTrue(cJSON_GetObjectItem(m, "hit")), n == 2);
            /* present on every message: a string once edited (k1), else null */
            assert_non_null(et);
            if (n == 3)
                assert_true(cJSON_IsString(et) && strstr(et->valuestring, "+00:00") != NULL);
            else
                assert_true(cJSON_IsNull(et));
            assert_null(cJSON_GetObjectItem(m, "edited"));
            n++;
        }
        /* the timestamp is ISO 8601 from the snowflake */
        assert_non_null(strstr(
            cJSON_GetObjectItem(cJSON_GetArrayItem(entry, 2), "timestamp")->valuestring, "+00:00"));
    }
    cJSON_Delete(j);
}

/* context=true: exactly the 2 live messages before and the 2 after a hit,
 * the entry in descending id order (docs/router.md: newest first, hit in the
 * middle), however far back they lie and however many deleted messages sit
 * between them and the hit. */
static void test_context_far_and_tombstones(void **state)
{
    enum { TOMBS = 260 };
    uint64_t G = t_rand_id(), C = t_rand_id(), U = t_rand_id();
    uint64_t b0 = sf(100, 1000), b1 = sf(100, 2000), b2 = sf(100, 3000);
    uint64_t hit = sf(400, 500000);
    uint64_t a0 = sf(400, 600000), a1 = sf(400, 700000), a2 = sf(401, 1000), a3 = sf(402, 1000);
    mspec s;
    char p[256];
    cJSON *j;
    (void)state;
    guild(G);
    member(G, U);
    channel(G, C, "public", "c1", idx, SC_BINDING_ACTIVE);
    memset(&s, 0, sizeof(s));
    s.channel = C;
    s.guild = G;
    s.content = "older line";
    s.id = b0;
    seed(&s, 1, 0, -1, NULL);
    s.id = b1;
    seed(&s, 1, 0, -1, NULL);
    s.id = b2;
    seed(&s, 1, 0, -1, NULL);
    /* 300 days later: a long run of deleted messages right before the hit */
    for (int i = 0; i < TOMBS; i++) {
        s.id = sf(400, 1000 * (i + 1));
        s.content = "";
        seed(&s, 1, 1, -1, NULL);
    }
    s.id = hit;
    s.content = "the narwhal surfaces";
    seed(&s, 1, 0, 0, idx);
    s.content = "newer line";
    s.id = a0;
    seed(&s, 1, 1, -1, NULL); /* deleted right after the hit */
    s.id = a1;
    seed(&s, 1, 0, -1, NULL);
    s.id = a2;
    seed(&s, 1, 0, -1, NULL);
    s.id = a3;
    seed(&s, 1, 0, -1, NULL);
    flush();

    snprintf(p, sizeof(p),
             "/api/v1/channels/%" PRIu64 "/messages/search?content=narwhal&context=true", C);
    assert_int_equal(get_as(U, p, &j), 200);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "messages")), 1);
    {
        const cJSON *entry = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "messages"), 0), *m;
        uint64_t want[] = {a2, a1, hit, b2, b1};
        size_t n = 0;
        if (cJSON_GetArraySize(entry) != 5) {
            char *txt = cJSON_PrintUnformatted(entry);
            fail_msg("context entry: %s", txt);
        }
        cJSON_ArrayForEach(m, entry)
        {
            assert_true(id_of(m, "id") == want[n]);
            assert_int_equal(cJSON_IsTrue(cJSON_GetObjectItem(m, "hit")), n == 2);
            assert_true(id_of(m, "channel_id") == C);
            n++;
        }
    }
    cJSON_Delete(j);
    /* without context: the hit alone */
    snprintf(p, sizeof(p), "/api/v1/channels/%" PRIu64 "/messages/search?content=narwhal", C);
    assert_int_equal(get_as(U, p, &j), 200);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "messages"), 0)),
                     1);
    cJSON_Delete(j);
}

/* health, readiness and metrics */
static void test_health_metrics(void **state)
{
    char url[128], *resp = NULL;
    (void)state;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/readyz", port);
    assert_int_equal(t_http("GET", url, NULL, NULL, &resp), 200);
    assert_non_null(strstr(resp, "\"ready\""));
    free(resp);
    resp = NULL;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", port);
    assert_int_equal(t_http("GET", url, NULL, NULL, &resp), 200);
    assert_non_null(strstr(resp, "scour_router_requests_total{status=\"200\"}"));
    assert_non_null(strstr(resp, "scour_router_request_seconds_bucket"));
    free(resp);
}

static int destructive_ok(void)
{
    const char *no = getenv("SC_TEST_NO_DESTRUCTIVE");
    return !(no != NULL && no[0] == '1');
}

static int cluster2_restart(void **state)
{
    (void)state;
    if (destructive_ok())
        t_stack("es-start 2");
    return 0;
}

/* Kill cluster 2: the answer comes fast, partial, with cluster 1's hits. */
/* ---- asymmetric tokens end to end (issue #18) ---- */

static int port2;

static int router2_up(void *arg)
{
    char url[128];
    (void)arg;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/healthz", port2);
    return t_http("GET", url, NULL, NULL, NULL) == 200;
}

/* An EdDSA token for user signed by k, with kid and aud. */
static char *ed_token(EVP_PKEY *k, const char *kid, uint64_t user, const char *aud)
{
    char hdr[96], pl[160];
    unsigned char sig[64];
    size_t siglen = sizeof(sig);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    sc_buf b;
    snprintf(hdr, sizeof(hdr), "{\"alg\":\"EdDSA\",\"kid\":\"%s\"}", kid);
    snprintf(pl, sizeof(pl), "{\"sub\":\"%" PRIu64 "\",\"exp\":%lld,\"aud\":\"%s\"}", user,
             (long long)time(NULL) + 600, aud);
    sc_buf_init(&b, 0);
    assert_int_equal(sc_b64url_encode_buf(&b, hdr, strlen(hdr)), SC_OK);
    assert_int_equal(sc_buf_puts(&b, "."), SC_OK);
    assert_int_equal(sc_b64url_encode_buf(&b, pl, strlen(pl)), SC_OK);
    assert_non_null(ctx);
    assert_int_equal(EVP_DigestSignInit(ctx, NULL, NULL, NULL, k), 1);
    assert_int_equal(EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)b.data, b.len), 1);
    EVP_MD_CTX_free(ctx);
    assert_int_equal(sc_buf_puts(&b, "."), SC_OK);
    assert_int_equal(sc_b64url_encode_buf(&b, sig, siglen), SC_OK);
    return sc_buf_steal(&b);
}

/* Write a JWKS of keys[0..n) with kids[0..n) to path. */
static void write_jwks(const char *path, EVP_PKEY *const *keys, const char *const *kids, int n)
{
    sc_buf b;
    FILE *f;
    sc_buf_init(&b, 0);
    assert_int_equal(sc_buf_puts(&b, "{\"keys\":["), SC_OK);
    for (int i = 0; i < n; i++) {
        unsigned char x[32];
        size_t xl = sizeof(x);
        assert_int_equal(EVP_PKEY_get_raw_public_key(keys[i], x, &xl), 1);
        assert_int_equal(sc_buf_printf(&b,
                                       "%s{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"%s\","
                                       "\"x\":\"",
                                       i ? "," : "", kids[i]),
                         SC_OK);
        assert_int_equal(sc_b64url_encode_buf(&b, x, xl), SC_OK);
        assert_int_equal(sc_buf_puts(&b, "\"}"), SC_OK);
    }
    assert_int_equal(sc_buf_puts(&b, "]}"), SC_OK);
    f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(b.data, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
    sc_buf_free(&b);
}

/* Status of GET url with "Authorization: Bearer tok". */
static long get_with(const char *url, const char *tok)
{
    char auth[1200];
    const char *hdrs[2] = {auth, NULL};
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
    return t_http("GET", url, NULL, hdrs, NULL);
}

/* Poll until GET url with tok answers want (SIGHUP is asynchronous). */
static void expect_status_soon(const char *url, const char *tok, long want)
{
    int64_t until = sc_now_ms() + 10000;
    long got;
    while ((got = get_with(url, tok)) != want && sc_now_ms() < until)
        usleep(100 * 1000);
    if (got != want)
        fail_msg("GET %s: %ld, want %ld (router log /tmp/it_router-jwks-%d.log)", url, got, want,
                 (int)getpid());
}

/* A router taking only EdDSA tokens from a JWKS file, with an audience:
 * a member's token finds the message; another audience, an unknown key and
 * an HS256 token are 401; SIGHUP adds a key, then withdraws the old one
 * (its token is refused at once), and a broken file keeps the keys. */
static void test_jwks_tokens_and_rotation(void **state)
{
    uint64_t G = t_rand_id(), C = t_rand_id(), U = t_rand_id(), m1 = sf(0, 7200000);
    char jwks[128], log[128], url[512], a_jwks[200], a_port[32], a_redis[32], a_host[300], a_ns[96],
        a_cl[640], a_dsn[1100], a_etcd[300], *tok_a, *tok_b, *tok_other, *tok_hs;
    EVP_PKEY *ka = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    EVP_PKEY *kb = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    EVP_PKEY *both[2];
    const char *kids[2] = {"2026-a", "2026-b"};
    const char *tpl;
    int pid, st;
    (void)state;
    assert_true(ka != NULL && kb != NULL);
    both[0] = ka;
    both[1] = kb;
    guild(G);
    member(G, U);
    channel(G, C, "public", "c1", idx, SC_BINDING_ACTIVE);
    {
        mspec s = {m1, C, G, U, SC_AUTHOR_USER, "rotation keys", 0, 0, 0, NULL, NULL, NULL, NULL};
        seed(&s, 1, 0, 0, idx);
    }
    flush();

    snprintf(jwks, sizeof(jwks), "/tmp/it_router-jwks-%d.json", (int)getpid());
    snprintf(log, sizeof(log), "/tmp/it_router-jwks-%d.log", (int)getpid());
    write_jwks(jwks, both, kids, 1);
    port2 = t_free_port();
    snprintf(a_jwks, sizeof(a_jwks), "--jwt-jwks-file=%s", jwks);
    snprintf(a_port, sizeof(a_port), "--listen-port=%d", port2);
    snprintf(a_redis, sizeof(a_redis), "--redis-port=%s", t_env("SC_REDIS_PORT"));
    tpl = t_env_opt("SC_REDIS_HOST");
    snprintf(a_host, sizeof(a_host), "--redis-host=%s", tpl ? tpl : "127.0.0.1");
    snprintf(a_ns, sizeof(a_ns), "--namespace=%s", ns);
    snprintf(a_cl, sizeof(a_cl), "--clusters=c1=%s,c2=%s", t_es_url(0), t_es_url(1));
    snprintf(a_dsn, sizeof(a_dsn), "--pg-dsn=%s", t_env("SC_PG_DSN"));
    snprintf(a_etcd, sizeof(a_etcd), "--etcd-url=%s", t_env("SC_ETCD_URL"));
    {
        char *argv[] = {(char *)t_bin_path("router"),
                        a_jwks,
                        "--jwt-audience=scour-it",
                        a_port,
                        a_redis,
                        a_host,
                        a_ns,
                        a_cl,
                        a_dsn,
                        a_etcd,
                        "--log-level=info",
                        "--rate-limit-user=0",
                        "--rate-limit-ip=0",
                        NULL};
        pid = t_spawn(argv, log);
    }
    if (!t_wait_until(router2_up, NULL, 10000))
        fail_msg("router with a JWKS did not come up; log %s", log);
    snprintf(url, sizeof(url),
             "http://127.0.0.1:%d/api/v1/guilds/%" PRIu64 "/messages/search?content=rotation",
             port2, G);
    tok_a = ed_token(ka, "2026-a", U, "scour-it");
    tok_b = ed_token(kb, "2026-b", U, "scour-it");
    tok_other = ed_token(ka, "2026-a", U, "someone-else");
    tok_hs = token_for(U, 600, SECRET);
    {
        char auth[1200], *resp = NULL;
        const char *hdrs[2] = {auth, NULL};
        cJSON *j;
        uint64_t ids[4];
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok_a);
        assert_int_equal(t_http("GET", url, NULL, hdrs, &resp), 200);
        j = resp ? cJSON_Parse(resp) : NULL;
        free(resp);
        assert_non_null(j);
        assert_int_equal(hits_of(j, ids, 4, NULL), 1);
        assert_true(ids[0] == m1);
        cJSON_Delete(j);
    }
    assert_int_equal(get_with(url, tok_other), 401);
    assert_int_equal(get_with(url, tok_b), 401);  /* unknown kid */
    assert_int_equal(get_with(url, tok_hs), 401); /* no shared secret configured */

    /* rotation: publish b next to a, then withdraw a */
    write_jwks(jwks, both, kids, 2);
    assert_int_equal(kill(pid, SIGHUP), 0);
    expect_status_soon(url, tok_b, 200);
    assert_int_equal(get_with(url, tok_a), 200);
    write_jwks(jwks, both + 1, kids + 1, 1);
    assert_int_equal(kill(pid, SIGHUP), 0);
    expect_status_soon(url, tok_a, 401);
    assert_int_equal(get_with(url, tok_b), 200);
    /* a broken file keeps the keys */
    {
        FILE *f = fopen(jwks, "w");
        assert_non_null(f);
        assert_int_equal(fputs("{\"keys\":[", f) >= 0, 1);
        assert_int_equal(fclose(f), 0);
    }
    assert_int_equal(kill(pid, SIGHUP), 0);
    usleep(500 * 1000);
    assert_int_equal(get_with(url, tok_b), 200);
    assert_int_equal(get_with(url, tok_a), 401);

    st = t_stop(pid, SIGTERM, 10000);
    assert_true(st != -1); /* it stopped on SIGTERM, not SIGKILL */
    {
        char *text = slurp(log);
        assert_non_null(strstr(text, "router: SIGHUP: reloaded"));
        assert_non_null(strstr(text, "router: SIGHUP: keeping the previous token keys"));
        free(text);
    }
    unlink(jwks);
    unlink(log);
    free(tok_a);
    free(tok_b);
    free(tok_other);
    free(tok_hs);
    EVP_PKEY_free(ka);
    EVP_PKEY_free(kb);
}

static void test_cluster_down(void **state)
{
    uint64_t G = t_rand_id(), A = t_rand_id(), B = t_rand_id(), U = t_rand_id();
    uint64_t a1 = sf(70, 1000), b1 = sf(70, 2000);
    mspec s;
    char p[256], url[128], *resp = NULL;
    cJSON *j;
    uint64_t got[4];
    int64_t t0, dt;
    (void)state;
    if (!destructive_ok()) {
        skip();
        return;
    }
    guild(G);
    member(G, U);
    channel(G, A, "public", "c1", idx, SC_BINDING_ACTIVE);
    channel(G, B, "public", "c2", idx, SC_BINDING_ACTIVE);
    memset(&s, 0, sizeof(s));
    s.guild = G;
    s.content = "downtest";
    s.id = a1;
    s.channel = A;
    seed(&s, 1, 0, 0, idx);
    s.id = b1;
    s.channel = B;
    seed(&s, 1, 0, 1, idx);
    flush();
    snprintf(p, sizeof(p), "/api/v1/guilds/%" PRIu64 "/messages/search?content=downtest", G);
    {
        uint64_t w[] = {a1, b1};
        expect_ids(U, p, w, 2);
    }
    t_stack("es-kill 2");
    t0 = sc_now_ms();
    assert_int_equal(get_as(U, p, &j), 200);
    dt = sc_now_ms() - t0;
    assert_true(dt < QUERY_TIMEOUT_MS + 1000);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "partial")));
    assert_int_equal(cJSON_GetObjectItem(j, "failed_clusters")->valueint, 1);
    assert_int_equal(hits_of(j, got, 4, NULL), 1);
    assert_true(got[0] == a1);
    cJSON_Delete(j);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", port);
    assert_int_equal(t_http("GET", url, NULL, NULL, &resp), 200);
    assert_non_null(strstr(resp, "scour_router_cluster_errors_total{cluster=\"c2\"}"));
    assert_non_null(strstr(resp, "scour_router_partial_total"));
    free(resp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_filters),
        cmocka_unit_test(test_paging_split_vs_single),
        cmocka_unit_test(test_permissions_property),
        cmocka_unit_test(test_malformed_and_auth),
        cmocka_unit_test(test_building_202),
        cmocka_unit_test(test_history_incomplete_partial),
        cmocka_unit_test(test_rebinding_takes_effect_at_once),
        cmocka_unit_test(test_hydration_and_context),
        cmocka_unit_test(test_context_far_and_tombstones),
        cmocka_unit_test(test_health_metrics),
        cmocka_unit_test(test_jwks_tokens_and_rotation),
        cmocka_unit_test_teardown(test_cluster_down, cluster2_restart),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
