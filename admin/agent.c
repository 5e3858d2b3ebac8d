/*
 * admin/agent.c - `admin agent`: the health agent.
 *
 * Every health_interval_ms, for each cluster it holds - the ones it is given
 * (--cluster name=url, config `clusters`), plus, with --adopt only, every
 * "<ns>/desired/<name>" record written by `admin clusters add` (a given
 * cluster takes its credentials reference and capacity from the desired
 * record of the same name, when there is one):
 *   - probes GET /_cluster/health; reachable and not red = healthy;
 *   - healthy: keeps "<ns>/clusters/<name>" registered on a lease of
 *     lease_ttl_s (grant + put the first time, keepalive after; re-put when
 *     the key vanished or its value changed, e.g. a drain marker appeared);
 *     the state is "draining" while "<ns>/drain/<name>" exists. Every put is
 *     a compare-and-put (etcd_put_if), and a registration on someone else's
 *     lease is never overwritten: a second agent claiming the same cluster
 *     stands by (logged once) until the key disappears. The registration
 *     names its holder ("agent": "<host>/<pid>"), so an agent restarted on
 *     the same host takes over its dead predecessor's lease instead of
 *     waiting for it to lapse (one registration change);
 *   - unhealthy: revokes the lease, so the key disappears at once and every
 *     view sees the cluster go; it registers again when healthy;
 *   - refreshes the cluster's load in Redis: docs in index_name and in the
 *     promoted channels' own indices (index_name-ch-*) + SC_CHANNEL_WEIGHT x
 *     channels bound;
 * then runs one healing pass (heal.h) under the PostgreSQL advisory lock.
 * On exit (SIGINT/SIGTERM) it leaves its leases to lapse after lease_ttl_s:
 * a stopped agent is not a dead cluster, and a restart within the TTL keeps
 * the registration (see above).
 */
#include "admin.h"

#include "binding.h"
#include "db.h"
#include "heal.h"
#include "log.h"
#include "metrics.h"
#include "redis.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define AGENT_MAX 256

/* One cluster the agent looks after. */
typedef struct agent_cluster {
    sc_cluster_info info; /* name, url, credentials, capacity (state from the marker) */
    int from_desired;     /* came from a <ns>/desired record (else flag/config) */
    int wanted;           /* still wanted in this round */
    int64_t lease;        /* our lease, 0 when not registered by us */
    int healthy;          /* result of the last probe (-1 before the first) */
    int standby;          /* held by someone else: we stand by (logged once) */
} agent_cluster;

/* The agent's state. */
typedef struct agent {
    admin_args *a;               /* ref */
    etcd_client *etcd;           /* owned */
    agent_cluster cl[AGENT_MAX]; /* clusters looked after */
    size_t n;                    /* entries in cl */
    sc_clients *clients;         /* owned: es_client per cluster, following url/credentials */
    sc_cluster_view *view;       /* owned */
    sc_db *db;                   /* owned, may be NULL when PG is down at start */
    sc_redis *redis;             /* owned */
    sc_binder *binder;           /* owned, may be NULL */
    sc_healer *healer;           /* owned, may be NULL */
    sc_metrics *metrics;         /* owned, NULL when metrics_port is 0 */
    sc_metric *m_healthy;        /* gauge per cluster: last probe healthy (1) or not (0) */
    sc_metric *m_gone;           /* gauge: clusters with bindings that are not live */
    sc_metrics_server *msrv;     /* owned: /metrics on metrics_port */
    char id[128];                /* "<host>/<pid>": the holder named in our registrations */
    char host[64];               /* our host name */
} agent;

static agent_cluster *find_or_add(agent *g, const char *name)
{
    size_t i;
    for (i = 0; i < g->n; i++)
        if (strcmp(g->cl[i].info.name, name) == 0)
            return &g->cl[i];
    if (g->n >= AGENT_MAX)
        return NULL;
    memset(&g->cl[g->n], 0, sizeof g->cl[g->n]);
    snprintf(g->cl[g->n].info.name, sizeof g->cl[g->n].info.name, "%s", name);
    g->cl[g->n].healthy = -1;
    return &g->cl[g->n++];
}

static void drop_cluster(agent *g, size_t i)
{
    agent_cluster *c = &g->cl[i];
    if (c->lease != 0) {
        if (etcd_lease_revoke(g->etcd, c->lease) != SC_OK)
            log_warn("agent: %s: revoke lease: %s", c->info.name, etcd_errstr(g->etcd));
        c->lease = 0;
    }
    sc_clients_drop(g->clients, c->info.name);
    g->cl[i] = g->cl[--g->n];
}

/* Refresh the list of clusters: the given ones (flags, config), with their
 * credentials and capacity from a desired record of the same name, plus -
 * with --adopt only - every desired record. */
static void refresh_wanted(agent *g)
{
    char pfx[512], err[SC_ERRLEN];
    etcd_kv_list l;
    size_t i, pl;
    for (i = 0; i < g->n; i++)
        g->cl[i].wanted = !g->cl[i].from_desired;
    snprintf(pfx, sizeof pfx, "%s/desired/", g->a->cfg.namespace);
    pl = strlen(pfx);
    if (etcd_get_prefix(g->etcd, pfx, &l) != SC_OK) {
        log_warn("agent: read %s: %s", pfx, etcd_errstr(g->etcd));
        for (i = 0; i < g->n; i++)
            g->cl[i].wanted = 1; /* keep what we have */
        return;
    }
    for (i = 0; i < l.n; i++) {
        sc_cluster_info ci;
        agent_cluster *c = NULL;
        const char *name = l.kvs[i].key + pl;
        size_t k;
        if (l.kvs[i].key_len <= pl || !sc_cluster_name_ok(name))
            continue;
        for (k = 0; k < g->n && c == NULL; k++)
            if (strcmp(g->cl[k].info.name, name) == 0)
                c = &g->cl[k];
        if (c == NULL && !g->a->adopt)
            continue; /* someone else's cluster */
        if (sc_cluster_parse_value(name, l.kvs[i].value, l.kvs[i].value_len, &ci, err,
                                   sizeof err) != SC_OK) {
            log_warn("agent: desired record: %s", err);
            if (c != NULL)
                c->wanted = 1;
            continue;
        }
        if (c == NULL && (c = find_or_add(g, name)) == NULL) {
            log_warn("agent: too many clusters (max %d); ignoring %s", AGENT_MAX, name);
            continue;
        }
        if (c->from_desired || c->info.url[0] == '\0') {
            c->from_desired = 1;
            snprintf(c->info.url, sizeof c->info.url, "%s", ci.url);
        }
        /* the given URL stays; the reference and capacity come from the record */
        snprintf(c->info.credentials, sizeof c->info.credentials, "%s", ci.credentials);
        if (ci.capacity > 0)
            c->info.capacity = ci.capacity;
        c->wanted = 1;
    }
    etcd_kv_list_free(&l);
    for (i = g->n; i-- > 0;) {
        if (!g->cl[i].wanted) {
            log_info("agent: %s no longer wanted; unregistering", g->cl[i].info.name);
            drop_cluster(g, i);
        }
    }
}

static int probe(agent *g, agent_cluster *c)
{
    es_client *es;
    es_health_info hi;
    sc_status st;
    if (sc_clients_for(g->clients, &c->info, &es) != SC_OK) {
        log_warn("agent: %s", sc_clients_errstr(g->clients));
        return 0;
    }
    st = es_health(es, &hi);
    if (st != SC_OK) {
        if (c->healthy != 0)
            log_warn("agent: %s (%s) unreachable: %s", c->info.name, c->info.url, es_errstr(es));
        return 0;
    }
    if (hi.status == ES_HEALTH_RED) {
        if (c->healthy != 0)
            log_warn("agent: %s is red", c->info.name);
        return 0;
    }
    return 1;
}

/* The holder ("agent") named in a registration value, into buf ("" when
 * none). */
static void value_holder(const char *v, size_t len, char *buf, size_t blen)
{
    cJSON *j = cJSON_ParseWithLength(v, len);
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(j, "agent");
    snprintf(buf, blen, "%s", cJSON_IsString(h) ? h->valuestring : "");
    cJSON_Delete(j);
}

/* 1 when holder ("<host>/<pid>") is an agent process of this host that no
 * longer exists (our predecessor, killed or restarted): its lease may be
 * taken over. */
static int holder_dead_here(const agent *g, const char *holder)
{
    size_t hl = strlen(g->host);
    char *end;
    long pid;
    if (strncmp(holder, g->host, hl) != 0 || holder[hl] != '/')
        return 0;
    errno = 0;
    pid = strtol(holder + hl + 1, &end, 10);
    if (errno != 0 || *end != '\0' || pid <= 0 || pid == (long)getpid())
        return 0;
    return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

/* Our registration value: the cluster's record plus "agent": our id. */
static sc_status agent_value(const agent *g, const agent_cluster *c, sc_buf *b)
{
    if (sc_cluster_format_value(&c->info, b) != SC_OK || b->len == 0 || b->data[b->len - 1] != '}')
        return SC_ENOMEM;
    b->len--; /* reopen the object */
    if (sc_buf_puts(b, ",\"agent\":") != SC_OK || sc_buf_json_str(b, g->id) != SC_OK ||
        sc_buf_puts(b, "}") != SC_OK)
        return SC_ENOMEM;
    return SC_OK;
}

/* Keep the registration of a healthy cluster on our lease, never taking
 * it from another live holder. */
static void keep_registered(agent *g, agent_cluster *c)
{
    char key[512], holder[160];
    etcd_kv_list l;
    int64_t ttl = 0, cur_lease = 0, cur_rev = 0;
    int present, done = 0;
    sc_buf b;
    sc_status st;
    if (sc_cluster_drain_key(g->a->cfg.namespace, c->info.name, key, sizeof key) == SC_OK &&
        etcd_get(g->etcd, key, &l) == SC_OK) {
        c->info.state = l.n > 0 ? SC_CLUSTER_DRAINING : SC_CLUSTER_ACTIVE;
        etcd_kv_list_free(&l);
    }
    if (sc_cluster_key(g->a->cfg.namespace, c->info.name, key, sizeof key) != SC_OK)
        return;
    if (etcd_get(g->etcd, key, &l) != SC_OK) {
        log_warn("agent: %s: read registration: %s", c->info.name, etcd_errstr(g->etcd));
        return;
    }
    present = l.n > 0;
    holder[0] = '\0';
    if (present) {
        cur_lease = l.kvs[0].lease;
        cur_rev = l.kvs[0].mod_revision;
        value_holder(l.kvs[0].value, l.kvs[0].value_len, holder, sizeof holder);
    }
    if (present && cur_lease != c->lease) {
        if (c->lease == 0 && cur_lease != 0 && holder_dead_here(g, holder)) {
            log_info("agent: %s: taking over lease %llx of %s (no longer running)", c->info.name,
                     (unsigned long long)cur_lease, holder);
            c->lease = cur_lease;
        } else {
            if (!c->standby)
                log_warn(
                    "agent: %s is already registered by %s (%s); standing by until that "
                    "registration goes (two agents claim this cluster: give it to one of them)",
                    c->info.name, holder[0] ? holder : "another writer",
                    cur_lease != 0 ? "on its own lease" : "without lease, static");
            c->standby = 1;
            if (c->lease != 0) { /* ours lost its key: do not leak it */
                if (etcd_lease_revoke(g->etcd, c->lease) != SC_OK)
                    log_debug("agent: %s: revoke: %s", c->info.name, etcd_errstr(g->etcd));
                c->lease = 0;
            }
            etcd_kv_list_free(&l);
            return;
        }
    }
    if (c->standby) {
        log_info("agent: %s: the other registration is gone; taking the cluster", c->info.name);
        c->standby = 0;
    }
    if (c->lease != 0) {
        st = etcd_lease_keepalive(g->etcd, c->lease, &ttl);
        if (st == SC_ENOTFOUND) {
            log_warn("agent: %s: lease %llx expired; registering again", c->info.name,
                     (unsigned long long)c->lease);
            c->lease = 0;
        } else if (st != SC_OK) {
            log_warn("agent: %s: keepalive: %s", c->info.name, etcd_errstr(g->etcd));
            etcd_kv_list_free(&l);
            return;
        }
    }
    if (c->lease == 0) {
        if (etcd_lease_grant(g->etcd, g->a->cfg.lease_ttl_s, &c->lease, &ttl) != SC_OK) {
            log_warn("agent: %s: lease grant: %s", c->info.name, etcd_errstr(g->etcd));
            c->lease = 0;
            etcd_kv_list_free(&l);
            return;
        }
    }
    sc_buf_init(&b, 4096);
    if (agent_value(g, c, &b) != SC_OK) {
        sc_buf_free(&b);
        etcd_kv_list_free(&l);
        return;
    }
    if (!present || cur_lease != c->lease || l.kvs[0].value_len != b.len ||
        memcmp(l.kvs[0].value, b.data, b.len) != 0) {
        /* put only over what we read: a racer's write makes this a no-op */
        if (etcd_put_if(g->etcd, key, b.data, b.len, c->lease, present ? cur_rev : 0, &done) !=
            SC_OK)
            log_warn("agent: %s: register: %s", c->info.name, etcd_errstr(g->etcd));
        else if (done)
            log_info("agent: %s registered (%s, %s, lease %llx)", c->info.name, c->info.url,
                     sc_cluster_state_str(c->info.state), (unsigned long long)c->lease);
        else
            log_info("agent: %s: registration changed under us; looking again next round",
                     c->info.name);
    }
    sc_buf_free(&b);
    etcd_kv_list_free(&l);
}

static void round_once(agent *g)
{
    size_t i, j;
    sc_cluster_count *cc = NULL;
    size_t nc = 0;
    int have_counts;
    refresh_wanted(g);
    have_counts = g->db != NULL && sc_db_binding_counts(g->db, &cc, &nc) == SC_OK;
    if (g->db != NULL && !have_counts)
        log_warn("agent: binding counts: %s", sc_db_errstr(g->db));
    for (i = 0; i < g->n && !sc_prog_stopping(); i++) {
        agent_cluster *c = &g->cl[i];
        int ok = probe(g, c);
        if (g->healer != NULL && sc_healer_manage(g->healer, c->info.name) != SC_OK)
            log_warn("agent: heal: cannot track %s (too many clusters)", c->info.name);
        if (ok && c->healthy != 1)
            log_info("agent: %s healthy", c->info.name);
        c->healthy = ok;
        if (g->m_healthy != NULL)
            sc_metric_set(g->m_healthy, c->info.name, ok ? 1 : 0);
        if (!ok) {
            if (c->lease != 0) {
                if (etcd_lease_revoke(g->etcd, c->lease) != SC_OK)
                    log_warn("agent: %s: revoke: %s (the lease lapses by itself)", c->info.name,
                             etcd_errstr(g->etcd));
                else
                    log_warn("agent: %s unregistered (unhealthy)", c->info.name);
                c->lease = 0;
            }
            continue;
        }
        keep_registered(g, c);
        if (g->binder != NULL && have_counts) {
            es_stats_info si;
            es_client *es;
            double docs = 0, chans = 0;
            sc_status st = sc_clients_for(g->clients, &c->info, &es); /* the probe's client */
            if (st == SC_OK) {
                /* the shared index and the promoted channels' own indices */
                char ix[300];
                snprintf(ix, sizeof ix, "%s,%s-ch-*", g->a->cfg.index_name, g->a->cfg.index_name);
                st = es_stats(es, ix, &si);
            }
            if (st == SC_OK)
                docs = (double)si.doc_count;
            else if (st != SC_ENOTFOUND) {
                log_warn("agent: %s: stats: %s", c->info.name,
                         es != NULL ? es_errstr(es) : sc_clients_errstr(g->clients));
                continue;
            }
            for (j = 0; j < nc; j++)
                if (strcmp(cc[j].cluster, c->info.name) == 0)
                    chans = (double)cc[j].total;
            if (sc_binder_set_load(g->binder, c->info.name, docs + SC_CHANNEL_WEIGHT * chans) !=
                SC_OK)
                log_warn("agent: %s: set load: %s", c->info.name, sc_binder_errstr(g->binder));
        }
    }
    if (g->m_gone != NULL && have_counts) {
        double gone = 0;
        for (j = 0; j < nc; j++) {
            sc_cluster_info ci;
            if (cc[j].total > 0 && sc_cluster_view_get(g->view, cc[j].cluster, &ci) != SC_OK)
                gone++;
            else if (cc[j].total > 0 && !ci.live)
                gone++;
        }
        sc_metric_set(g->m_gone, NULL, gone);
    }
    free(cc);
    if (g->healer != NULL && !sc_prog_stopping()) {
        sc_heal_report rep;
        if (sc_healer_pass(g->healer, &rep) != SC_OK)
            log_warn("agent: heal: %s", sc_healer_errstr(g->healer));
        else if (rep.channels_moved > 0 || rep.channels_failed > 0)
            log_info(
                "agent: heal: %d dead clusters, %lld channels moved, %lld jobs queued, %lld failed",
                rep.dead_clusters, (long long)rep.channels_moved, (long long)rep.jobs_queued,
                (long long)rep.channels_failed);
    }
}

static int add_fixed(agent *g, const char *list, const char *what)
{
    sc_cluster_info *st = NULL;
    size_t n = 0, i;
    char err[SC_ERRLEN];
    if (sc_cluster_parse_static(list, &st, &n, err, sizeof err) != SC_OK) {
        fprintf(stderr, "admin agent: %s: %s\n", what, err);
        return 2;
    }
    for (i = 0; i < n; i++) {
        agent_cluster *c = find_or_add(g, st[i].name);
        if (c == NULL) {
            free(st);
            fprintf(stderr, "admin agent: too many clusters (max %d)\n", AGENT_MAX);
            return 2;
        }
        snprintf(c->info.url, sizeof c->info.url, "%s", st[i].url);
        c->info.capacity = g->a->cfg.capacity;
        c->wanted = 1;
    }
    free(st);
    return 0;
}

static void sleep_ms(int ms)
{
    while (ms > 0 && !sc_prog_stopping()) {
        int step = ms > 50 ? 50 : ms;
        struct timespec ts = {0, (long)step * 1000000L};
        nanosleep(&ts, NULL);
        ms -= step;
    }
}

int admin_agent(admin_args *a)
{
    static agent g; /* large; one per process */
    char err[SC_ERRLEN];
    sc_cluster_view_opts vo;
    sc_redis_opts ro;
    sc_binder_opts bo;
    sc_healer_opts ho;
    sc_clients_opts co;
    es_opts eb;
    int rc, i;
    size_t k;
    memset(&g, 0, sizeof g);
    g.a = a;
    if (gethostname(g.host, sizeof g.host) != 0)
        snprintf(g.host, sizeof g.host, "localhost");
    g.host[sizeof g.host - 1] = '\0';
    snprintf(g.id, sizeof g.id, "%s/%ld", g.host, (long)getpid());
    if (*a->cfg.clusters && (rc = add_fixed(&g, a->cfg.clusters, "clusters")) != 0)
        return rc;
    for (i = 0; i < a->nflag_clusters; i++)
        if ((rc = add_fixed(&g, a->flag_clusters[i], "--cluster")) != 0)
            return rc;
    if ((g.etcd = admin_etcd(&a->cfg, err, sizeof err)) == NULL) {
        fprintf(stderr, "admin agent: etcd: %s\n", err);
        return 2;
    }
    memset(&vo, 0, sizeof vo);
    vo.etcd_url = a->cfg.etcd_url;
    vo.ns = a->cfg.namespace;
    vo.etcd_timeout_ms = 5000;
    rc = 1;
    /* a probe must answer within one round */
    admin_es_base(&a->cfg, a->cfg.health_interval_ms < 1000 ? 1000 : a->cfg.health_interval_ms,
                  &eb);
    memset(&co, 0, sizeof co);
    co.base = &eb;
    if ((g.clients = sc_clients_create(&co, err, sizeof err)) == NULL) {
        fprintf(stderr, "admin agent: %s\n", err);
        goto out;
    }
    if ((g.view = sc_cluster_view_create(&vo, err, sizeof err)) == NULL) {
        fprintf(stderr, "admin agent: %s\n", err);
        goto out;
    }
    sc_redis_opts_from_config(&a->cfg, &ro);
    if ((g.redis = sc_redis_create(&ro, err, sizeof err)) == NULL) {
        fprintf(stderr, "admin agent: redis: %s\n", err);
        goto out;
    }
    if ((g.db = sc_db_create(a->cfg.pg_dsn, err, sizeof err)) == NULL) {
        fprintf(stderr, "admin agent: postgres: %s\n", err);
        goto out;
    }
    sc_binder_opts_from_config(&a->cfg, g.redis, g.db, g.view, &bo);
    if ((g.binder = sc_binder_create(&bo, err, sizeof err)) == NULL) {
        fprintf(stderr, "admin agent: binder: %s\n", err);
        goto out;
    }
    memset(&ho, 0, sizeof ho);
    ho.pg_dsn = a->cfg.pg_dsn;
    ho.view = g.view;
    ho.binder = g.binder;
    ho.db = g.db;
    ho.grace_period_s = a->cfg.grace_period_s;
    ho.recent_days = a->cfg.recent_days;
    if ((g.healer = sc_healer_create(&ho, err, sizeof err)) == NULL) {
        fprintf(stderr, "admin agent: %s\n", err);
        goto out;
    }
    if (a->cfg.metrics_port != 0) {
        int port = 0;
        g.metrics = sc_metrics_create();
        if (g.metrics != NULL) {
            g.m_healthy = sc_metrics_add(g.metrics, SC_METRIC_GAUGE, "scour_agent_cluster_healthy",
                                         "last health probe of each held cluster: 1 healthy, 0 not",
                                         "cluster");
            g.m_gone =
                sc_metrics_add(g.metrics, SC_METRIC_GAUGE, "scour_agent_clusters_gone",
                               "clusters with channels bound that are not live in etcd", NULL);
        }
        if (g.m_healthy == NULL || g.m_gone == NULL ||
            (g.msrv = sc_metrics_server_start(g.metrics, "0.0.0.0", a->cfg.metrics_port, &port, err,
                                              sizeof err)) == NULL) {
            fprintf(stderr, "admin agent: metrics: %s\n", g.metrics ? err : "out of memory");
            goto out;
        }
    }
    if (g.n == 0 && !a->adopt)
        log_warn(
            "agent: holds no cluster (give --cluster NAME=URL, or --adopt for every cluster added "
            "with `admin clusters add`); healing and load only");
    log_info("agent: started as %s (namespace %s, %zu clusters from flags/config%s, interval %d "
             "ms, lease %d s, "
             "grace %d s)",
             g.id, a->cfg.namespace, g.n, a->adopt ? " + every desired record" : "",
             a->cfg.health_interval_ms, a->cfg.lease_ttl_s, a->cfg.grace_period_s);
    while (!sc_prog_stopping()) {
        int64_t t0 = sc_now_ms(), spent;
        round_once(&g);
        if (a->once)
            break;
        spent = sc_now_ms() - t0;
        if (spent < a->cfg.health_interval_ms)
            sleep_ms((int)(a->cfg.health_interval_ms - spent));
    }
    rc = 0;
out:
    /* Leases are left to lapse (lease_ttl_s): a stopped agent is not a dead
     * cluster, and an agent restarted on this host takes them over. */
    for (k = g.n; k-- > 0;) {
        g.cl[k].lease = 0;
        drop_cluster(&g, k);
    }
    sc_metrics_server_stop(g.msrv);
    sc_metrics_free(g.metrics);
    sc_healer_free(g.healer);
    sc_binder_free(g.binder);
    sc_db_free(g.db);
    sc_redis_free(g.redis);
    sc_cluster_view_free(g.view);
    sc_clients_free(g.clients);
    etcd_client_free(g.etcd);
    if (rc == 0)
        log_info("agent: stopped");
    return rc;
}
