/*
 * it_tls.c - TLS and authentication on every link, against the stack's
 * TLS half (tests/stack_tls.sh: its own CA, etcd-tls with client
 * certificates and auth, Redis's ACL user behind a stunnel TLS client,
 * PostgreSQL with a TLS-only password role, nginx terminating TLS and
 * checking basic auth / API key in front of cluster 1).
 *
 * Each backend: it works with the right CA, certificate and credentials,
 * and each failure - wrong CA, expired certificate, bad password, a
 * server without TLS, a missing client certificate - is a bounded error
 * that names the backend and the cause. The etcd token is renewed after it
 * expires (etcd-tls issues 5 s tokens). Last, the README's picture end to
 * end with all of it on: `admin agent`, `indexer`, `router` and `reindex`
 * over TLS with credentials from files; a published message and a
 * reindexed one are found through the router.
 */
#include "testlib.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "es.h"
#include "etcd.h"
#include "jwt.h"
#include "message.h"
#include "publish.h"
#include "redis.h"

#define SECRET "it-tls-jwt-secret-0123456789abcdef"

static char g_tmp[256]; /* per-run scratch dir */
static int g_pids[4];   /* agent, indexer, router, reindex worker */

/* A file of the stack's TLS dir (static storage, one per call site kind). */
static const char *tls_file(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", t_env("SC_TLS_DIR"), name);
    return buf;
}

/* The content of a stack password file, without newline (static). */
static const char *pw(const char *name)
{
    static char v[8][128];
    static int k;
    char path[512], *s = v[k++ % 8];
    FILE *f = fopen(tls_file(path, sizeof path, name), "r");
    assert_non_null(f);
    assert_non_null(fgets(s, 128, f));
    fclose(f);
    s[strcspn(s, "\r\n")] = '\0';
    return s;
}

static void assert_contains(const char *hay, const char *needle)
{
    if (hay == NULL || strstr(hay, needle) == NULL)
        fail_msg("expected \"%s\" in: %s", needle, hay != NULL ? hay : "(null)");
}

static int setup(void **state)
{
    (void)state;
    if (t_env_opt("SC_TLS_DIR") == NULL) {
        print_message("stack without its TLS half (SC_TLS_DIR unset): restart the stack\n");
        return -1;
    }
    snprintf(g_tmp, sizeof g_tmp, "/tmp/it_tls-%d", (int)getpid());
    mkdir(g_tmp, 0700);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < 4; i++)
        if (g_pids[i] > 0)
            (void)t_stop(g_pids[i], SIGTERM, 10000);
    memset(g_pids, 0, sizeof g_pids);
    return 0;
}

/* ------------------------------------------------------------ etcd */

static etcd_opts etcd_tls_opts(char bufs[3][512])
{
    etcd_opts o;
    memset(&o, 0, sizeof o);
    o.endpoint = t_env("SC_ETCD_TLS_URL");
    o.ca_file = tls_file(bufs[0], 512, "ca.pem");
    o.cert_file = tls_file(bufs[1], 512, "client.pem");
    o.key_file = tls_file(bufs[2], 512, "client.key");
    o.user = "scour";
    o.password = pw("etcd.pw");
    o.connect_timeout_ms = 2000;
    o.request_timeout_ms = 4000;
    return o;
}

/* One get with o; returns the status and copies the error into err. */
static sc_status etcd_try(const etcd_opts *o, char *err, size_t errlen, int64_t *ms)
{
    etcd_client *c = etcd_client_create(o, err, errlen);
    etcd_kv_list l;
    sc_status st;
    int64_t t0 = sc_now_ms();
    assert_non_null(c);
    st = etcd_get(c, "it-tls/probe", &l);
    *ms = sc_now_ms() - t0;
    snprintf(err, errlen, "%s", etcd_errstr(c));
    if (st == SC_OK)
        etcd_kv_list_free(&l);
    etcd_client_free(c);
    return st;
}

typedef struct wseen {
    volatile int n;  /* PUT events */
    volatile int v2; /* the PUT of "v2" arrived */
} wseen;

static void on_event(void *ctx, const etcd_event *ev)
{
    wseen *w = ctx;
    if (ev->type != ETCD_EV_PUT || ev->kv.value == NULL)
        return; /* snapshot markers */
    w->n++;
    if (strcmp(ev->kv.value, "v2") == 0)
        w->v2 = 1;
}

static int seen_v2(void *p) { return ((wseen *)p)->v2; }

static void test_etcd(void **state)
{
    char f[3][512], err[SC_ERRLEN], key[96], other[512], expired[300];
    etcd_opts o = etcd_tls_opts(f), b;
    etcd_client *c;
    etcd_kv_list l;
    etcd_watch *w;
    static wseen seen;
    int64_t ms;
    (void)state;

    /* the good path: TLS with a client certificate, a token, a watch */
    c = etcd_client_create(&o, err, sizeof err);
    assert_non_null(c);
    t_unique(key, sizeof key, "it-tls/k");
    assert_int_equal(etcd_put(c, key, "v1", 2, 0, NULL), SC_OK);
    assert_int_equal(etcd_get(c, key, &l), SC_OK);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.kvs[0].value, "v1");
    etcd_kv_list_free(&l);
    memset(&seen, 0, sizeof seen);
    w = etcd_watch_start(&o, key, 0, on_event, &seen, err, sizeof err);
    assert_non_null(w);
    /* etcd-tls' tokens live 5 s: idle past that, the next call must log in
     * again (the first answer is Unauthenticated), and so must the watch */
    sleep(7);
    assert_int_equal(etcd_put(c, key, "v2", 2, 0, NULL), SC_OK);
    if (!t_wait_until(seen_v2, &seen, 8000))
        fail_msg("watch over TLS+auth saw %d PUT events, not v2", seen.n);
    etcd_watch_stop(w);
    assert_int_equal(etcd_delete(c, key, NULL), SC_OK);
    etcd_client_free(c);

    /* a bad password */
    b = o;
    b.password = "not-the-password";
    assert_int_not_equal(etcd_try(&b, err, sizeof err, &ms), SC_OK);
    assert_contains(err, "authenticate as user scour failed");
    assert_contains(err, "invalid user ID or password");
    /* no user on a server with auth on */
    b = o;
    b.user = "";
    assert_int_not_equal(etcd_try(&b, err, sizeof err, &ms), SC_OK);
    assert_contains(err, "user name is empty");
    /* the wrong CA */
    b = o;
    b.ca_file = tls_file(other, sizeof other, "other-ca.pem");
    assert_int_equal(etcd_try(&b, err, sizeof err, &ms), SC_ECONN);
    assert_contains(err, "etcd");
    assert_contains(err, "certificate");
    assert_true(ms < 5000);
    /* no client certificate: the server refuses the handshake */
    b = o;
    b.cert_file = "";
    b.key_file = "";
    assert_int_not_equal(etcd_try(&b, err, sizeof err, &ms), SC_OK);
    assert_contains(err, "etcd");
    assert_true(ms < 5000);
    /* an expired server certificate (nginx's second port) */
    b = o;
    snprintf(expired, sizeof expired, "%s", t_env("SC_ES_TLS_EXPIRED_URL"));
    b.endpoint = expired;
    assert_int_equal(etcd_try(&b, err, sizeof err, &ms), SC_ECONN);
    assert_contains(err, "expired");
    /* a server without TLS: the plain etcd asked for https */
    b = o;
    snprintf(expired, sizeof expired, "https://%s", t_env("SC_ETCD_URL") + 7);
    b.endpoint = expired;
    assert_int_equal(etcd_try(&b, err, sizeof err, &ms), SC_ECONN);
    assert_contains(err, "etcd");
    assert_true(ms < 5000);
    print_message("etcd failures: %s\n", err);
}

/* The start-up checks of the etcd and Redis options, as a user meets them. */
static void test_startup_checks(void **state)
{
    char *out = NULL, ca[512];
    (void)state;
    assert_int_equal(t_run(&out, "%s --redis-tls --check-config 2>&1", t_bin_path("indexer")), 2);
    assert_contains(out, "redis_tls: this build's hiredis");
    assert_contains(out, "stunnel");
    free(out);
    assert_int_equal(t_run(&out, "%s --etcd-ca-file=%s --check-config 2>&1", t_bin_path("router"),
                           tls_file(ca, sizeof ca, "ca.pem")),
                     2);
    assert_contains(out, "etcd_ca_file: set but etcd_url is not https://");
    free(out);
    assert_int_equal(t_run(&out,
                           "%s --etcd-url=https://127.0.0.1:1 --etcd-ca-file=/nonexistent "
                           "--check-config 2>&1",
                           t_bin_path("router")),
                     2);
    assert_contains(out, "etcd_ca_file: cannot read /nonexistent");
    free(out);
    assert_int_equal(t_run(&out, "%s --etcd-user=scour --check-config 2>&1", t_bin_path("reindex")),
                     2);
    assert_contains(out, "etcd_user: set without etcd_password");
    free(out);
    assert_int_equal(t_run(&out, "%s --redis-user=scour --check-config 2>&1", t_bin_path("admin")),
                     2);
    assert_contains(out, "redis_user: set without redis_password");
    free(out);
}

/* ------------------------------------------------------------ Redis */

static void test_redis(void **state)
{
    sc_redis_opts o;
    sc_redis *r;
    char err[SC_ERRLEN];
    int64_t t0;
    (void)state;
    memset(&o, 0, sizeof o);
    o.host = "127.0.0.1";
    o.port = atoi(t_env("SC_REDIS_STUNNEL_PORT"));
    o.user = "scour";
    o.password = pw("redis.pw");
    /* through the TLS sidecar, as the ACL user */
    r = sc_redis_create(&o, err, sizeof err);
    assert_non_null(r);
    assert_int_equal(sc_redis_ping(r), SC_OK);
    assert_int_equal(sc_redis_set(r, "it-tls:probe", "1", 10), SC_OK);
    sc_redis_free(r);
    /* a bad password for the user */
    o.password = "wrong-password";
    r = sc_redis_create(&o, err, sizeof err);
    assert_non_null(r);
    assert_int_not_equal(sc_redis_ping(r), SC_OK);
    assert_contains(sc_redis_errstr(r), "AUTH as user scour");
    assert_contains(sc_redis_errstr(r), "WRONGPASS");
    sc_redis_free(r);
    /* plain TCP to the TLS port: a bounded failure, not a hang */
    o.port = atoi(t_env("SC_REDIS_TLS_PORT"));
    o.password = pw("redis.pw");
    o.command_timeout_ms = 1500;
    r = sc_redis_create(&o, err, sizeof err);
    assert_non_null(r);
    t0 = sc_now_ms();
    assert_int_not_equal(sc_redis_ping(r), SC_OK);
    assert_true(sc_now_ms() - t0 < 5000);
    assert_contains(sc_redis_errstr(r), "redis 127.0.0.1:");
    print_message("redis without TLS on the TLS port: %s\n", sc_redis_errstr(r));
    sc_redis_free(r);
}

/* ------------------------------------------------------------ PostgreSQL */

/* A libpq passfile for the scour_tls role (path in out). */
static const char *pg_passfile(char *out, size_t len)
{
    FILE *f;
    snprintf(out, len, "%s/pgpass", g_tmp);
    f = fopen(out, "w");
    assert_non_null(f);
    fprintf(f, "*:*:*:scour_tls:%s\n", pw("pg.pw"));
    fclose(f);
    chmod(out, 0600);
    return out;
}

static char *pg_try(const char *dsn, int *ssl)
{
    PGconn *c = PQconnectdb(dsn);
    char *e = NULL;
    *ssl = 0;
    if (PQstatus(c) == CONNECTION_OK)
        *ssl = PQsslInUse(c);
    else
        e = strdup(PQerrorMessage(c));
    PQfinish(c);
    return e;
}

static void test_pg(void **state)
{
    char dsn[2048], pass[512], other[512], err[SC_ERRLEN];
    const char *base = t_env("SC_PG_TLS_DSN");
    char *e;
    int ssl;
    sc_db *db;
    (void)state;
    pg_passfile(pass, sizeof pass);
    /* verify-full by name and by address, password from the passfile */
    snprintf(dsn, sizeof dsn, "%s passfile=%s", base, pass);
    e = pg_try(dsn, &ssl);
    if (e != NULL)
        fail_msg("verify-full: %s", e);
    assert_int_equal(ssl, 1);
    db = sc_db_create(dsn, err, sizeof err);
    if (db == NULL)
        fail_msg("sc_db_create over TLS: %s", err);
    sc_db_free(db);
    snprintf(dsn, sizeof dsn, "%s passfile=%s host=127.0.0.1", base, pass);
    e = pg_try(dsn, &ssl);
    if (e != NULL)
        fail_msg("verify-full by address: %s", e);
    /* the wrong CA */
    snprintf(dsn, sizeof dsn, "%s passfile=%s sslrootcert=%s", base, pass,
             tls_file(other, sizeof other, "other-ca.pem"));
    e = pg_try(dsn, &ssl);
    assert_non_null(e);
    assert_contains(e, "certificate verify failed");
    free(e);
    db = sc_db_create(dsn, err, sizeof err);
    assert_null(db);
    assert_contains(err, "certificate verify failed");
    /* a bad password */
    snprintf(dsn, sizeof dsn, "%s password=wrong-password", base);
    e = pg_try(dsn, &ssl);
    assert_non_null(e);
    assert_contains(e, "password authentication failed for user \"scour_tls\"");
    free(e);
    /* without TLS the role is refused */
    snprintf(dsn, sizeof dsn, "%s passfile=%s sslmode=disable", base, pass);
    e = pg_try(dsn, &ssl);
    assert_non_null(e);
    assert_contains(e, "no encryption");
    free(e);
}

/* ------------------------------------------------------------ clusters over https */

static es_client *es_for(const char *url, const char *ca, const char *user, const char *pass,
                         const char *key)
{
    es_opts o;
    char err[SC_ERRLEN];
    es_client *c;
    memset(&o, 0, sizeof o);
    o.url = url;
    o.ca_file = ca;
    o.user = user;
    o.password = pass;
    o.api_key = key;
    o.connect_timeout_ms = 2000;
    o.timeout_ms = 5000;
    c = es_client_create(&o, err, sizeof err);
    if (c == NULL)
        fail_msg("es_client_create: %s", err);
    return c;
}

/* es_health through c: the status, the error in err, the time in *ms. */
static sc_status es_try(es_client *c, char *err, size_t errlen, int64_t *ms)
{
    es_health_info h;
    int64_t t0 = sc_now_ms();
    sc_status st = es_health(c, &h);
    *ms = sc_now_ms() - t0;
    snprintf(err, errlen, "%s", es_errstr(c));
    if (st == SC_OK)
        assert_string_equal(h.cluster_name, "scour-c1");
    es_client_free(c);
    return st;
}

static void test_es_https(void **state)
{
    char ca[512], other[512], err[SC_ERRLEN], plain[128];
    const char *url = t_env("SC_ES_TLS_URL");
    int64_t ms;
    (void)state;
    tls_file(ca, sizeof ca, "ca.pem");
    tls_file(other, sizeof other, "other-ca.pem");
    /* basic auth and API key, each checked by the TLS proxy */
    assert_int_equal(es_try(es_for(url, ca, "scour", pw("es.pw"), NULL), err, sizeof err, &ms),
                     SC_OK);
    assert_int_equal(es_try(es_for(url, ca, NULL, NULL, pw("es-apikey.pw")), err, sizeof err, &ms),
                     SC_OK);
    /* a bad password, a bad key, none */
    assert_int_not_equal(
        es_try(es_for(url, ca, "scour", "wrong-password", NULL), err, sizeof err, &ms), SC_OK);
    assert_contains(err, "401");
    assert_contains(err, "unauthorized");
    assert_int_not_equal(es_try(es_for(url, ca, NULL, NULL, "wrong-key"), err, sizeof err, &ms),
                         SC_OK);
    assert_contains(err, "401");
    assert_int_not_equal(es_try(es_for(url, ca, NULL, NULL, NULL), err, sizeof err, &ms), SC_OK);
    assert_contains(err, "401");
    /* the wrong CA */
    assert_int_equal(es_try(es_for(url, other, "scour", pw("es.pw"), NULL), err, sizeof err, &ms),
                     SC_ECONN);
    assert_contains(err, "SSL certificate problem");
    assert_contains(err, url);
    assert_true(ms < 5000);
    /* an expired certificate */
    assert_int_equal(es_try(es_for(t_env("SC_ES_TLS_EXPIRED_URL"), ca, "scour", pw("es.pw"), NULL),
                            err, sizeof err, &ms),
                     SC_ECONN);
    assert_contains(err, "certificate has expired");
    /* a server without TLS */
    snprintf(plain, sizeof plain, "https://127.0.0.1:%s", t_env("SC_ES_TLS_PLAIN_PORT"));
    assert_int_equal(es_try(es_for(plain, ca, "scour", pw("es.pw"), NULL), err, sizeof err, &ms),
                     SC_ECONN);
    assert_contains(err, plain);
    assert_true(ms < 5000);
    print_message("es over https without TLS: %s\n", err);
}

/* ------------------------------------------------------------ end to end */

typedef struct probe {
    int port;
    uint64_t user, ch;
    const char *word;
} probe;

static long found(const probe *p)
{
    char url[512], auth[1200], *resp = NULL;
    const char *hdrs[2] = {NULL, NULL};
    sc_buf tok;
    long n = -1;
    cJSON *j;
    sc_buf_init(&tok, 0);
    assert_int_equal(sc_jwt_sign_hs256(p->user, SECRET, (int64_t)time(NULL) + 600, &tok), SC_OK);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", tok.data);
    sc_buf_free(&tok);
    hdrs[0] = auth;
    snprintf(url, sizeof url,
             "http://127.0.0.1:%d/api/v1/channels/%" PRIu64 "/messages/search?content=%s", p->port,
             p->ch, p->word);
    if (t_http("GET", url, NULL, hdrs, &resp) == 200 && (j = cJSON_Parse(resp)) != NULL) {
        const cJSON *t = cJSON_GetObjectItem(j, "total_results");
        if (cJSON_IsNumber(t) && !cJSON_IsTrue(cJSON_GetObjectItem(j, "partial")))
            n = (long)t->valuedouble;
        cJSON_Delete(j);
    }
    free(resp);
    return n;
}

static int is_found(void *p) { return found(p) == 1; }

/* Write s to <g_tmp>/name, 0600; the path goes to out. */
static const char *secret_file(char *out, size_t len, const char *name, const char *s)
{
    FILE *f;
    snprintf(out, len, "%s/%s", g_tmp, name);
    f = fopen(out, "w");
    assert_non_null(f);
    fprintf(f, "%s\n", s);
    fclose(f);
    chmod(out, 0600);
    return out;
}

static void test_all_links_tls(void **state)
{
    char ns[64], idx[64], cl[48], stream[80], pass[512], dsn[2048], logf[4][128], err[SC_ERRLEN];
    char o_ns[96], o_etcd[300], o_eca[600], o_ecert[600], o_ekey[600], o_epw[600], o_rport[48],
        o_rpw[600], o_pg[2200], o_idx[96], o_sch[600], o_cl[400], o_eca2[600], o_espw[600],
        o_st[128], o_port[32], o_jwt[600], path[512], f[512];
    const char *common[32];
    int nc = 0, i;
    uint64_t guild = t_rand_id(), user = t_rand_id(), ch = t_rand_id();
    sc_db *db;
    sc_publisher_opts po;
    sc_publisher *pub;
    sc_event ev;
    sc_message m;
    probe pr;
    (void)state;
    t_unique(ns, sizeof ns, "tls");
    t_unique(idx, sizeof idx, "tls-idx");
    t_unique(cl, sizeof cl, "tlsc");
    t_unique(stream, sizeof stream, "tls:events");
    snprintf(dsn, sizeof dsn, "%s passfile=%s", t_env("SC_PG_TLS_DSN"),
             pg_passfile(pass, sizeof pass));
    for (i = 0; i < 4; i++)
        snprintf(logf[i], sizeof logf[i], "%.100s/prog-%d.log", g_tmp, i);

    /* every option a program needs for every link, secrets from files */
    snprintf(o_ns, sizeof o_ns, "--namespace=%s", ns);
    snprintf(o_etcd, sizeof o_etcd, "--etcd-url=%s", t_env("SC_ETCD_TLS_URL"));
    snprintf(o_eca, sizeof o_eca, "--etcd-ca-file=%s", tls_file(f, sizeof f, "ca.pem"));
    snprintf(o_ecert, sizeof o_ecert, "--etcd-cert-file=%s", tls_file(f, sizeof f, "client.pem"));
    snprintf(o_ekey, sizeof o_ekey, "--etcd-key-file=%s", tls_file(f, sizeof f, "client.key"));
    snprintf(o_epw, sizeof o_epw, "--etcd-password-file=%s", tls_file(f, sizeof f, "etcd.pw"));
    snprintf(o_rport, sizeof o_rport, "--redis-port=%s", t_env("SC_REDIS_STUNNEL_PORT"));
    snprintf(o_rpw, sizeof o_rpw, "--redis-password-file=%s", tls_file(f, sizeof f, "redis.pw"));
    snprintf(o_pg, sizeof o_pg, "--pg-dsn=%s", dsn);
    snprintf(o_idx, sizeof o_idx, "--index-name=%s", idx);
    snprintf(o_sch, sizeof o_sch, "--index-schema=%s",
             t_repo_path("schemas/elasticsearch/messages.json"));
    snprintf(o_eca2, sizeof o_eca2, "--es-ca-file=%s", tls_file(f, sizeof f, "ca.pem"));
    snprintf(o_espw, sizeof o_espw, "--es-password-file=%s", tls_file(f, sizeof f, "es.pw"));
    snprintf(o_st, sizeof o_st, "--stream=%s", stream);
    const char *all[] = {o_ns,
                         o_etcd,
                         o_eca,
                         o_ecert,
                         o_ekey,
                         o_epw,
                         o_rport,
                         o_rpw,
                         o_pg,
                         o_idx,
                         o_sch,
                         o_eca2,
                         o_espw,
                         o_st,
                         "--etcd-user=scour",
                         "--redis-user=scour",
                         "--es-user=scour",
                         "--log-level=info"};
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++)
        common[nc++] = all[k];

#define SPAWN(slot, prog, ...)                                                  \
    do {                                                                        \
        const char *extra[] = {__VA_ARGS__};                                    \
        char *argv[48];                                                         \
        int a = 0;                                                              \
        argv[a++] = (char *)t_bin_path(prog);                                   \
        for (int q = 0; q < nc; q++)                                            \
            argv[a++] = (char *)common[q];                                      \
        for (size_t q = 0; q < sizeof extra / sizeof extra[0] && extra[q]; q++) \
            argv[a++] = (char *)extra[q];                                       \
        argv[a] = NULL;                                                         \
        g_pids[slot] = t_spawn(argv, logf[slot]);                               \
    } while (0)

    /* the chat data: a guild, a member, a channel */
    db = sc_db_create(dsn, err, sizeof err);
    if (db == NULL)
        fail_msg("pg over TLS: %s", err);
    assert_int_equal(sc_db_upsert_user(db, user, "tls"), SC_OK);
    assert_int_equal(sc_db_upsert_guild(db, guild, "tls", user), SC_OK);
    assert_int_equal(sc_db_upsert_member(db, guild, user), SC_OK);
    assert_int_equal(sc_db_upsert_channel(db, ch, guild, "tls", "text", "public"), SC_OK);

    /* the agent registers the https cluster in etcd-tls and checks it */
    snprintf(o_cl, sizeof o_cl, "--cluster=%s=%s", cl, t_env("SC_ES_TLS_URL"));
    SPAWN(0, "admin", o_cl, "--health-interval-ms=500", "--lease-ttl-s=5", "agent", NULL);
    SPAWN(1, "indexer", "--group=ix", "--consumer=tls", "--workers=1", "--linger-ms=20",
          "--read-block-ms=200", NULL);
    pr.port = t_free_port();
    snprintf(o_port, sizeof o_port, "--listen-port=%d", pr.port);
    snprintf(o_jwt, sizeof o_jwt, "--jwt-secret-file=%s",
             secret_file(path, sizeof path, "jwt", SECRET));
    SPAWN(2, "router", o_port, o_jwt, "--rate-limit-user=0", "--rate-limit-ip=0", NULL);
    SPAWN(3, "reindex", "worker", NULL);
    for (i = 0; i < 150; i++) {
        char hu[64];
        snprintf(hu, sizeof hu, "http://127.0.0.1:%d/healthz", pr.port);
        if (t_http("GET", hu, NULL, NULL, NULL) == 200)
            break;
        usleep(100000);
    }
    if (i >= 150)
        fail_msg("router not healthy; log %s", logf[2]);

    /* publish through the TLS sidecar as the ACL user, the row over TLS */
    memset(&po, 0, sizeof po);
    po.redis.port = atoi(t_env("SC_REDIS_STUNNEL_PORT"));
    po.redis.user = "scour";
    po.redis.password = pw("redis.pw");
    po.stream = stream;
    po.pg_dsn = dsn;
    pub = sc_publisher_create(&po, err, sizeof err);
    if (pub == NULL)
        fail_msg("publisher: %s", err);
    memset(&ev, 0, sizeof ev);
    ev.op = SC_OP_CREATE;
    ev.msg.id = t_snowflake_ago(0);
    ev.msg.channel_id = ch;
    ev.msg.guild_id = guild;
    ev.msg.author_id = user;
    ev.msg.content = "tlsprobe published over every encrypted link";
    ev.msg.version = 1;
    assert_int_equal(sc_publish_message_and_event(pub, &ev, NULL), SC_OK);
    sc_publisher_free(pub);
    pr.user = user;
    pr.ch = ch;
    pr.word = "tlsprobe";
    if (!t_wait_until(is_found, &pr, 30000))
        fail_msg("published message not found (found=%ld); logs %s %s %s", found(&pr), logf[0],
                 logf[1], logf[2]);

    /* an older message only PostgreSQL has, then `reindex channel` over TLS */
    memset(&m, 0, sizeof m);
    m.id = t_snowflake_ago(3600 * 1000);
    m.channel_id = ch;
    m.guild_id = guild;
    m.author_id = user;
    m.content = "tlshistory written before scour saw it";
    m.version = 1;
    assert_int_equal(sc_db_upsert_message(db, &m), SC_OK);
    {
        char cmd[8192], *out = NULL, chs[32];
        size_t off = 0;
        off += (size_t)snprintf(cmd + off, sizeof cmd - off, "%s", t_bin_path("reindex"));
        for (int q = 0; q < nc; q++)
            off += (size_t)snprintf(cmd + off, sizeof cmd - off, " '%s'", common[q]);
        snprintf(chs, sizeof chs, "%" PRIu64, ch);
        snprintf(cmd + off, sizeof cmd - off, " --recent-days=0 channel %s 2>&1", chs);
        int rc = t_run(&out, "%s", cmd);
        if (rc != 0)
            fail_msg("reindex channel over TLS: %d: %s", rc, out);
        free(out);
    }
    pr.word = "tlshistory";
    if (!t_wait_until(is_found, &pr, 20000))
        fail_msg("reindexed message not found (found=%ld)", found(&pr));
    pr.word = "tlsprobe";
    assert_int_equal(found(&pr), 1);
    sc_db_free(db);

    /* no secret in any log */
    for (i = 0; i < 4; i++) {
        char *out = NULL;
        const char *secrets[] = {pw("etcd.pw"), pw("redis.pw"), pw("es.pw"), pw("pg.pw"), SECRET};
        (void)t_run(&out, "cat %s", logf[i]);
        for (size_t k = 0; k < sizeof secrets / sizeof secrets[0]; k++)
            if (out != NULL && strstr(out, secrets[k]) != NULL)
                fail_msg("secret %zu in %s", k, logf[i]);
        free(out);
    }
#undef SPAWN
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_startup_checks),
        cmocka_unit_test(test_etcd),
        cmocka_unit_test(test_redis),
        cmocka_unit_test(test_pg),
        cmocka_unit_test(test_es_https),
        cmocka_unit_test_teardown(test_all_links_tls, teardown),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
