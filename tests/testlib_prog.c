/*
 * testlib_prog.c - the integration tests' helpers around scour's own
 * programs and data (see testlib.h): start an `indexer` or a `router` on
 * the stack with a test's namespace and clusters, wait for the router,
 * search through it as a user, and the world of a `reindex` test (its
 * PostgreSQL handle, namespace, two clusters, index and command line).
 * The process, HTTP and environment basics are testlib.c's.
 */
#include "testlib.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "db.h"
#include "jwt.h"
#include "message.h"
#include "sc.h"

#define T_ARGV_MAX 48

/* argv under construction: fixed flags formatted into own storage, then
 * borrowed extras. */
typedef struct t_argv {
    char *v[T_ARGV_MAX + 1];
    char own[16][1200];
    int n, nown;
} t_argv;

static void argv_add(t_argv *a, const char *s)
{
    if (a->n >= T_ARGV_MAX)
        fail_msg("too many program arguments");
    a->v[a->n++] = (char *)s;
    a->v[a->n] = NULL;
}

static void argv_fmt(t_argv *a, const char *fmt, const char *val)
    __attribute__((format(printf, 2, 0)));
static void argv_fmt(t_argv *a, const char *fmt, const char *val)
{
    char *p;
    if (a->nown >= 16)
        fail_msg("too many formatted program arguments");
    p = a->own[a->nown++];
    snprintf(p, sizeof a->own[0], fmt, val);
    argv_add(a, p);
}

/* The program, then what every test run of it takes: namespace, Redis,
 * PostgreSQL, etcd and (when given) the static cluster list. */
static void argv_common(t_argv *a, const char *prog, const t_svc *s)
{
    memset(a, 0, sizeof *a);
    argv_add(a, t_bin_path(prog));
    argv_fmt(a, "--namespace=%s", s->ns);
    argv_fmt(a, "--redis-port=%s", t_env("SC_REDIS_PORT"));
    argv_fmt(a, "--pg-dsn=%s", t_env("SC_PG_DSN"));
    argv_fmt(a, "--etcd-url=%s", t_env("SC_ETCD_URL"));
    if (s->clusters != NULL)
        argv_fmt(a, "--clusters=%s", s->clusters);
}

static void argv_extra(t_argv *a, const char *const *extra)
{
    for (size_t i = 0; extra != NULL && extra[i] != NULL; i++)
        argv_add(a, extra[i]);
}

int t_spawn_indexer(const t_svc *s, const char *const *extra, const char *logfile)
{
    t_argv a;
    char linger[32];
    argv_common(&a, "indexer", s);
    argv_fmt(&a, "--index-name=%s", s->index);
    argv_fmt(&a, "--index-schema=%s", t_repo_path("schemas/elasticsearch/messages.json"));
    argv_fmt(&a, "--stream=%s", s->stream);
    argv_add(&a, "--group=ix");
    argv_fmt(&a, "--consumer=%s", s->consumer);
    argv_add(&a, "--workers=1");
    snprintf(linger, sizeof linger, "%d", s->linger_ms);
    argv_fmt(&a, "--linger-ms=%s", linger);
    argv_add(&a, "--read-block-ms=200");
    argv_add(&a, "--metrics-port=0");
    argv_add(&a, "--log-level=warn");
    argv_extra(&a, extra);
    return t_spawn(a.v, logfile);
}

int t_spawn_router(const t_svc *s, const char *const *extra, const char *logfile)
{
    t_argv a;
    char port[32];
    argv_common(&a, "router", s);
    snprintf(port, sizeof port, "%d", s->port);
    argv_fmt(&a, "--listen-port=%s", port);
    argv_fmt(&a, "--jwt-secret=%s", s->secret);
    argv_add(&a, "--rate-limit-user=0");
    argv_add(&a, "--rate-limit-ip=0");
    argv_add(&a, "--log-level=warn");
    argv_extra(&a, extra);
    return t_spawn(a.v, logfile);
}

int t_wait_healthy(int port)
{
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/healthz", port);
    for (int i = 0; i < 100; i++) {
        if (t_http("GET", url, NULL, NULL, NULL) == 200)
            return 1;
        usleep(100000);
    }
    return 0;
}

long t_search(int port, const char *secret, uint64_t user, const char *pathq, char **resp)
{
    char url[1200], auth[1200];
    const char *hdrs[2] = {NULL, NULL};
    sc_buf tok;
    sc_buf_init(&tok, 0);
    assert_int_equal(sc_jwt_sign_hs256(user, secret, (int64_t)time(NULL) + 600, &tok), SC_OK);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", tok.data);
    sc_buf_free(&tok);
    hdrs[0] = auth;
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, pathq);
    return t_http("GET", url, NULL, hdrs, resp);
}

long t_search_total(int port, const char *secret, uint64_t user, uint64_t channel, const char *word)
{
    char pathq[512], *resp = NULL;
    long total = -1;
    cJSON *j;
    snprintf(pathq, sizeof pathq, "/api/v1/channels/%" PRIu64 "/messages/search?content=%s",
             channel, word);
    if (t_search(port, secret, user, pathq, &resp) == 200 && resp != NULL &&
        (j = cJSON_Parse(resp)) != NULL) {
        const cJSON *t = cJSON_GetObjectItem(j, "total_results");
        total = cJSON_IsNumber(t) ? (long)t->valuedouble : -1;
        cJSON_Delete(j);
    }
    free(resp);
    return total;
}

/* ------------------------------------------------------------ reindex world */

void t_rxfx_setup(t_rxfx *f, const char *tag)
{
    char err[256] = "", pfx[32];
    memset(f, 0, sizeof *f);
    f->db = sc_db_create(t_env("SC_PG_DSN"), err, sizeof err);
    if (f->db == NULL)
        fail_msg("sc_db_create: %s", err);
    snprintf(pfx, sizeof pfx, "%sns", tag);
    t_unique(f->ns, sizeof f->ns, pfx);
    snprintf(pfx, sizeof pfx, "%sa", tag);
    t_unique(f->ca, sizeof f->ca, pfx);
    snprintf(pfx, sizeof pfx, "%sb", tag);
    t_unique(f->cb, sizeof f->cb, pfx);
    snprintf(pfx, sizeof pfx, "%s-idx", tag);
    t_unique(f->index, sizeof f->index, pfx);
    f->guild = t_rand_id();
    snprintf(pfx, sizeof pfx, "%s guild", tag);
    assert_int_equal(sc_db_upsert_guild(f->db, f->guild, pfx, 1), SC_OK);
    snprintf(f->args, sizeof f->args,
             "--pg-dsn='%s' --etcd-url=%s --redis-host=%s --redis-port=%s --namespace=%s"
             " --clusters=%s=%s,%s=%s --index-name=%s --index-schema=%s --log-level=warn",
             t_env("SC_PG_DSN"), t_env("SC_ETCD_URL"),
             t_env_opt("SC_REDIS_HOST") ? t_env_opt("SC_REDIS_HOST") : "127.0.0.1",
             t_env("SC_REDIS_PORT"), f->ns, f->ca, t_es_url(0), f->cb, t_es_url(1), f->index,
             t_repo_path("schemas/elasticsearch/messages.json"));
}

void t_rxfx_teardown(t_rxfx *f)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", t_es_url(0), f->index);
    t_http("DELETE", path, NULL, NULL, NULL);
    snprintf(path, sizeof path, "%s/%s", t_es_url(1), f->index);
    t_http("DELETE", path, NULL, NULL, NULL);
    sc_db_free(f->db);
    f->db = NULL;
}

const char *t_rxfx_url(const t_rxfx *f, const char *cluster)
{
    return strcmp(cluster, f->cb) == 0 ? t_es_url(1) : t_es_url(0);
}

void t_rxfx_refresh(const t_rxfx *f, const char *cluster)
{
    char url[256];
    snprintf(url, sizeof url, "%s/%s/_refresh", t_rxfx_url(f, cluster), f->index);
    t_http("POST", url, NULL, NULL, NULL);
}

void t_rxfx_msg(const t_rxfx *f, sc_message *m, uint64_t channel, uint64_t id, int64_t version,
                int deleted, const char *content)
{
    memset(m, 0, sizeof *m);
    m->id = id;
    m->channel_id = channel;
    m->guild_id = f->guild;
    m->author_id = 42;
    m->author_type = SC_AUTHOR_USER;
    m->content = (char *)content;
    m->version = version;
    m->deleted = deleted;
}

void t_rxfx_put(const t_rxfx *f, uint64_t channel, uint64_t id, int64_t version, int deleted,
                const char *content)
{
    sc_message m;
    t_rxfx_msg(f, &m, channel, id, version, deleted, content);
    assert_int_equal(sc_db_upsert_message(f->db, &m), SC_OK);
}
