/*
 * admin/clusters.c - `admin clusters ...` and `admin heal`, plus helpers
 * shared with the agent. Keys in etcd (all under the namespace):
 *   <ns>/clusters/<name>  registration (leased by the agent, or unleased if
 *                         added with --static); its presence = live
 *   <ns>/desired/<name>   a cluster the agent should check and register
 *                         (written by `clusters add`, no lease)
 *   <ns>/drain/<name>     drain marker (no lease); the agent registers the
 *                         cluster as "draining" while it exists
 */
#include "admin.h"

#include "binding.h"
#include "db.h"
#include "heal.h"
#include "log.h"
#include "promote.h"
#include "redis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

sc_status admin_desired_key(const char *ns, const char *name, char *buf, size_t len)
{
    int w;
    if (!sc_cluster_name_ok(name))
        return SC_EINVAL;
    w = snprintf(buf, len, "%s/desired/%s", ns, name);
    return (w < 0 || (size_t)w >= len) ? SC_EINVAL : SC_OK;
}

etcd_client *admin_etcd(const sc_config *cfg, char *err, size_t errlen)
{
    etcd_opts o;
    memset(&o, 0, sizeof o);
    o.endpoint = cfg->etcd_url;
    o.connect_timeout_ms = 2000;
    o.request_timeout_ms = 5000;
    return etcd_client_create(&o, err, errlen);
}

void admin_es_base(const sc_config *cfg, long timeout_ms, es_opts *out)
{
    sc_clients_base_opts(cfg, out);
    if (timeout_ms > 0 && timeout_ms < out->timeout_ms)
        out->timeout_ms = timeout_ms;
    if (out->connect_timeout_ms > out->timeout_ms)
        out->connect_timeout_ms = out->timeout_ms;
    out->replicas = -1;
}

/* ------------------------------------------------------------------ commands */

static int need_words(const admin_args *a, int n, const char *use)
{
    if (a->nwords != n) {
        fprintf(stderr, "admin: usage: admin %s\n", use);
        return 0;
    }
    if (n >= 3 && !sc_cluster_name_ok(a->words[2])) {
        fprintf(stderr, "admin: '%s' is not a valid cluster name (1-63 of [A-Za-z0-9_.-])\n",
                a->words[2]);
        return 0;
    }
    return 1;
}

static int cmd_add(admin_args *a)
{
    sc_cluster_info ci;
    char key[512], err[SC_ERRLEN];
    etcd_client *c;
    sc_buf b;
    sc_status st;
    if (!need_words(a, 4, "clusters add NAME URL [--capacity N] [--credentials REF] [--static]"))
        return 2;
    memset(&ci, 0, sizeof ci);
    snprintf(ci.name, sizeof ci.name, "%s", a->words[2]);
    if ((strncmp(a->words[3], "http://", 7) != 0 && strncmp(a->words[3], "https://", 8) != 0) ||
        strlen(a->words[3]) >= sizeof ci.url) {
        fprintf(stderr, "admin: '%s' is not an http(s):// URL\n", a->words[3]);
        return 2;
    }
    snprintf(ci.url, sizeof ci.url, "%s", a->words[3]);
    if (a->credentials != NULL) {
        if (strlen(a->credentials) >= sizeof ci.credentials) {
            fprintf(stderr, "admin: --credentials too long\n");
            return 2;
        }
        snprintf(ci.credentials, sizeof ci.credentials, "%s", a->credentials);
    }
    ci.capacity = a->cfg.capacity;
    ci.state = SC_CLUSTER_ACTIVE;
    if (a->is_static) {
        if (sc_cluster_register(a->cfg.etcd_url, a->cfg.namespace, &ci, 0, err, sizeof err) !=
            SC_OK) {
            fprintf(stderr, "admin: register %s: %s\n", ci.name, err);
            return 1;
        }
        printf("registered %s (%s) without lease: live until `admin clusters remove %s`\n", ci.name,
               ci.url, ci.name);
        return 0;
    }
    if ((c = admin_etcd(&a->cfg, err, sizeof err)) == NULL) {
        fprintf(stderr, "admin: etcd: %s\n", err);
        return 1;
    }
    if (admin_desired_key(a->cfg.namespace, ci.name, key, sizeof key) != SC_OK) {
        etcd_client_free(c);
        fprintf(stderr, "admin: bad cluster name\n");
        return 2;
    }
    sc_buf_init(&b, 4096);
    st = sc_cluster_format_value(&ci, &b);
    if (st == SC_OK)
        st = etcd_put(c, key, b.data, b.len, 0, NULL);
    sc_buf_free(&b);
    if (st != SC_OK) {
        fprintf(stderr, "admin: etcd put %s: %s\n", key, etcd_errstr(c));
        etcd_client_free(c);
        return 1;
    }
    etcd_client_free(c);
    printf("added %s (%s, capacity %lld): the agent registers it once it is healthy\n", ci.name,
           ci.url, (long long)ci.capacity);
    return 0;
}

/* Rewrite the live registration (keeping its lease) with state s. */
static sc_status restate(etcd_client *c, const char *ns, const char *name, sc_cluster_state s,
                         int *found)
{
    char key[512], err[SC_ERRLEN];
    etcd_kv_list l;
    sc_cluster_info ci;
    sc_buf b;
    sc_status st;
    *found = 0;
    if (sc_cluster_key(ns, name, key, sizeof key) != SC_OK)
        return SC_EINVAL;
    if ((st = etcd_get(c, key, &l)) != SC_OK)
        return st;
    if (l.n == 0 || sc_cluster_parse_value(name, l.kvs[0].value, l.kvs[0].value_len, &ci, err,
                                           sizeof err) != SC_OK) {
        etcd_kv_list_free(&l);
        return SC_OK;
    }
    *found = 1;
    ci.state = s;
    sc_buf_init(&b, 4096);
    st = sc_cluster_format_value(&ci, &b);
    if (st == SC_OK)
        st = etcd_put(c, key, b.data, b.len, l.kvs[0].lease, NULL);
    /* A lease that expired meanwhile: the agent re-registers with the marker. */
    if (st == SC_ENOTFOUND)
        st = SC_OK;
    sc_buf_free(&b);
    etcd_kv_list_free(&l);
    return st;
}

sc_status admin_cluster_drain(const sc_config *cfg, const char *name, int on, int *found, char *err,
                              size_t errlen)
{
    char key[512];
    etcd_client *c;
    sc_status st;
    int64_t d;
    *found = 0;
    if (!sc_cluster_name_ok(name)) {
        sc_seterr(err, errlen, "'%s' is not a valid cluster name (1-63 of [A-Za-z0-9_.-])", name);
        return SC_EINVAL;
    }
    if ((c = admin_etcd(cfg, err, errlen)) == NULL)
        return SC_ERR;
    if (sc_cluster_drain_key(cfg->namespace, name, key, sizeof key) != SC_OK) {
        etcd_client_free(c);
        sc_seterr(err, errlen, "bad cluster name");
        return SC_EINVAL;
    }
    st = on ? etcd_put(c, key, "1", 1, 0, NULL) : etcd_delete(c, key, &d);
    if (st == SC_OK)
        st = restate(c, cfg->namespace, name, on ? SC_CLUSTER_DRAINING : SC_CLUSTER_ACTIVE, found);
    if (st != SC_OK)
        sc_seterr(err, errlen, "%s %s: %s", on ? "drain" : "undrain", name, etcd_errstr(c));
    etcd_client_free(c);
    return st;
}

static int cmd_drain(admin_args *a, int on)
{
    char err[SC_ERRLEN];
    int found = 0;
    if (!need_words(a, 3, on ? "clusters drain NAME" : "clusters undrain NAME"))
        return 2;
    if (admin_cluster_drain(&a->cfg, a->words[2], on, &found, err, sizeof err) != SC_OK) {
        fprintf(stderr, "admin: %s\n", err);
        return 1;
    }
    printf("%s %s%s\n", on ? "draining" : "undrained", a->words[2],
           found ? "" : " (not registered now; applies when it registers)");
    return 0;
}

static int cmd_remove(admin_args *a)
{
    char key[512], err[SC_ERRLEN];
    etcd_client *c;
    int64_t d1 = 0, d2 = 0, d3 = 0;
    const char *name;
    sc_status st;
    if (!need_words(a, 3, "clusters remove NAME [--force]"))
        return 2;
    name = a->words[2];
    if (!a->force) {
        sc_db *db = sc_db_create(a->cfg.pg_dsn, err, sizeof err);
        uint64_t *ch = NULL;
        size_t n = 0;
        if (db == NULL) {
            fprintf(stderr,
                    "admin: postgres: %s (use --force to remove without checking bindings)\n", err);
            return 1;
        }
        st = sc_db_bindings_on_cluster(db, name, &ch, &n);
        if (st != SC_OK) {
            fprintf(stderr, "admin: bindings on %s: %s\n", name, sc_db_errstr(db));
            sc_db_free(db);
            return 1;
        }
        free(ch);
        sc_db_free(db);
        if (n > 0) {
            fprintf(
                stderr,
                "admin: %zu channels are still bound to %s; move them first (`reindex cluster %s "
                "--to OTHER`) or pass --force (its channels are then healed after the grace "
                "period)\n",
                n, name, name);
            return 1;
        }
    }
    if ((c = admin_etcd(&a->cfg, err, sizeof err)) == NULL) {
        fprintf(stderr, "admin: etcd: %s\n", err);
        return 1;
    }
    st = admin_desired_key(a->cfg.namespace, name, key, sizeof key);
    if (st == SC_OK)
        st = etcd_delete(c, key, &d1);
    if (st == SC_OK &&
        (st = sc_cluster_drain_key(a->cfg.namespace, name, key, sizeof key)) == SC_OK)
        st = etcd_delete(c, key, &d2);
    if (st == SC_OK && (st = sc_cluster_key(a->cfg.namespace, name, key, sizeof key)) == SC_OK)
        st = etcd_delete(c, key, &d3);
    if (st != SC_OK) {
        fprintf(stderr, "admin: remove %s: %s\n", name, etcd_errstr(c));
        etcd_client_free(c);
        return 1;
    }
    etcd_client_free(c);
    if (d1 + d3 == 0) {
        fprintf(stderr, "admin: cluster %s is not known (no registration, no desired record)\n",
                name);
        return 1;
    }
    printf("removed %s%s\n", name,
           d1 == 0 && d3 > 0 ? " (if an agent runs with --cluster for it, it registers it again)"
                             : "");
    return 0;
}

static admin_cluster_row *row_for(admin_cluster_row **rows, size_t *n, const char *name)
{
    size_t i;
    admin_cluster_row *nr;
    for (i = 0; i < *n; i++)
        if (strcmp((*rows)[i].ci.name, name) == 0)
            return &(*rows)[i];
    nr = realloc(*rows, (*n + 1) * sizeof *nr);
    if (nr == NULL)
        return NULL;
    *rows = nr;
    memset(&nr[*n], 0, sizeof nr[*n]);
    snprintf(nr[*n].ci.name, sizeof nr[*n].ci.name, "%s", name);
    nr[*n].load = -1;
    nr[*n].channels = -1;
    nr[*n].docs = -1;
    return &nr[(*n)++];
}

/* version.number of GET / into out ("" when unknown). */
static void engine_version(es_client *es, char *out, size_t len)
{
    sc_buf b;
    long code = 0;
    const char *p;
    out[0] = '\0';
    sc_buf_init(&b, 1 << 16);
    if (es_request(es, "GET", "/", NULL, 0, &b, &code) == SC_OK && code == 200 && b.data != NULL &&
        (p = strstr(b.data, "\"number\"")) != NULL && (p = strchr(p + 8, '"')) != NULL) {
        size_t k = 0;
        for (p++; *p && *p != '"' && k + 1 < len; p++)
            out[k++] = *p;
        out[k] = '\0';
    }
    sc_buf_free(&b);
}

sc_status admin_cluster_rows(const sc_config *cfg, int probe, admin_cluster_row **out, size_t *nout,
                             char *warn, size_t warnlen, char *err, size_t errlen)
{
    char pfx[512], zkey[300], e2[SC_ERRLEN];
    etcd_client *c;
    etcd_kv_list regs, des, drains;
    admin_cluster_row *rows = NULL;
    size_t n = 0, i, j;
    int pass;
    sc_db *db;
    sc_redis *r;
    sc_redis_opts ro;
    es_opts base;
    *out = NULL;
    *nout = 0;
    if (warn != NULL && warnlen > 0)
        warn[0] = '\0';
    if ((c = admin_etcd(cfg, err, errlen)) == NULL)
        return SC_ERR;
    memset(&regs, 0, sizeof regs);
    memset(&des, 0, sizeof des);
    memset(&drains, 0, sizeof drains);
    snprintf(pfx, sizeof pfx, "%s/clusters/", cfg->namespace);
    if (etcd_get_prefix(c, pfx, &regs) != SC_OK) {
        sc_seterr(err, errlen, "etcd read %s: %s", pfx, etcd_errstr(c));
        etcd_client_free(c);
        return SC_ERR;
    }
    snprintf(pfx, sizeof pfx, "%s/desired/", cfg->namespace);
    if (etcd_get_prefix(c, pfx, &des) != SC_OK)
        memset(&des, 0, sizeof des);
    snprintf(pfx, sizeof pfx, "%s/drain/", cfg->namespace);
    if (etcd_get_prefix(c, pfx, &drains) != SC_OK)
        memset(&drains, 0, sizeof drains);
    etcd_client_free(c);
    /* desired first, then registrations override (they are what is live) */
    for (pass = 0; pass < 2; pass++) {
        etcd_kv_list *l = pass == 0 ? &des : &regs;
        size_t pl = strlen(cfg->namespace) + (pass == 0 ? 9 : 10);
        for (i = 0; i < l->n; i++) {
            const char *name = l->kvs[i].key + pl;
            sc_cluster_info ci;
            admin_cluster_row *row;
            if (l->kvs[i].key_len <= pl || !sc_cluster_name_ok(name) ||
                sc_cluster_parse_value(name, l->kvs[i].value, l->kvs[i].value_len, &ci, e2,
                                       sizeof e2) != SC_OK)
                continue;
            if ((row = row_for(&rows, &n, name)) == NULL)
                break;
            row->ci = ci;
            row->live = pass == 1;
            if (pass == 1)
                row->lease = l->kvs[i].lease;
        }
    }
    for (i = 0; i < drains.n; i++) {
        size_t pl = strlen(cfg->namespace) + 7;
        admin_cluster_row *row =
            drains.kvs[i].key_len > pl ? row_for(&rows, &n, drains.kvs[i].key + pl) : NULL;
        if (row != NULL && !row->live)
            row->ci.state = SC_CLUSTER_DRAINING;
    }
    /* bindings per cluster (clusters with bindings but no record show too) */
    db = sc_db_create(cfg->pg_dsn, e2, sizeof e2);
    if (db != NULL) {
        sc_cluster_count *cc = NULL;
        size_t nc = 0;
        if (sc_db_binding_counts(db, &cc, &nc) == SC_OK) {
            for (i = 0; i < n; i++)
                rows[i].channels = 0;
            for (j = 0; j < nc; j++) {
                admin_cluster_row *row = row_for(&rows, &n, cc[j].cluster);
                if (row != NULL)
                    row->channels = cc[j].total;
            }
        }
        free(cc);
        sc_db_free(db);
    } else if (warn != NULL) {
        sc_seterr(warn, warnlen, "postgres: %s (channel counts unknown)", e2);
    }
    sc_redis_opts_from_config(cfg, &ro);
    r = sc_redis_create(&ro, e2, sizeof e2);
    if (r != NULL) {
        sc_redis_zentry *z = NULL;
        size_t nz = 0;
        snprintf(zkey, sizeof zkey, "%s:load", cfg->namespace);
        if (sc_redis_zrange_withscores(r, zkey, 0, -1, &z, &nz) == SC_OK) {
            for (j = 0; j < nz; j++)
                for (i = 0; i < n; i++)
                    if (strcmp(rows[i].ci.name, z[j].member) == 0)
                        rows[i].load = z[j].score;
        } else if (warn != NULL) {
            sc_seterr(warn, warnlen, "redis: %s (load unknown)", sc_redis_errstr(r));
        }
        sc_redis_zentries_free(z, nz);
        sc_redis_free(r);
    }
    admin_es_base(cfg, 3000, &base);
    for (i = 0; i < n; i++) {
        es_client *es;
        es_stats_info si;
        es_health_info hi;
        if (!rows[i].live || rows[i].ci.url[0] == '\0')
            continue;
        es = sc_clients_make(&rows[i].ci, &base, e2, sizeof e2);
        if (es != NULL) {
            sc_status st = es_stats(es, cfg->index_name, &si);
            if (st == SC_OK)
                rows[i].docs = (int64_t)si.doc_count;
            else if (st == SC_ENOTFOUND)
                rows[i].docs = 0;
            if (probe) {
                if (es_health(es, &hi) == SC_OK)
                    snprintf(rows[i].health, sizeof rows[i].health, "%s", es_health_str(hi.status));
                else
                    snprintf(rows[i].health, sizeof rows[i].health, "unreachable");
                engine_version(es, rows[i].version, sizeof rows[i].version);
            }
        }
        es_client_free(es);
    }
    etcd_kv_list_free(&regs);
    etcd_kv_list_free(&des);
    etcd_kv_list_free(&drains);
    *out = rows;
    *nout = n;
    return SC_OK;
}

/* The promoted channels of every live cluster (promote.h): their docs are
 * added to their cluster's row; then the table, and the promoted channels
 * after the clusters. */
static void print_list(admin_args *a, admin_cluster_row *rows, size_t nrows)
{
    char err[SC_ERRLEN];
    sc_cluster_view_opts vo;
    sc_cluster_view *v;
    sc_clients_opts co;
    sc_clients *cl = NULL;
    es_opts base;
    sc_promoted *p = NULL;
    sc_db *db = NULL;
    size_t n = 0, i, j;
    memset(&vo, 0, sizeof vo);
    vo.etcd_url = a->cfg.etcd_url;
    vo.ns = a->cfg.namespace;
    vo.static_list = a->cfg.clusters;
    vo.etcd_timeout_ms = 3000;
    if ((v = sc_cluster_view_create(&vo, err, sizeof err)) == NULL)
        fprintf(stderr, "admin: warning: cluster view: %s (promoted channels unknown)\n", err);
    if (v != NULL && (db = sc_db_create(a->cfg.pg_dsn, err, sizeof err)) != NULL) {
        admin_es_base(&a->cfg, 3000, &base);
        memset(&co, 0, sizeof co);
        co.base = &base;
        co.view = v;
        if ((cl = sc_clients_create(&co, err, sizeof err)) == NULL ||
            sc_promote_list(v, cl, db, a->cfg.index_name, &p, &n) != SC_OK) {
            fprintf(stderr, "admin: warning: promoted channels unknown\n");
            n = 0;
        }
    }
    for (i = 0; i < n; i++)
        for (j = 0; j < nrows; j++)
            if (strcmp(rows[j].ci.name, p[i].cluster) == 0 && rows[j].docs >= 0 && p[i].docs > 0)
                rows[j].docs += p[i].docs;
    printf("%-20s %-32s %-9s %-4s %12s %9s %12s\n", "NAME", "URL", "STATE", "LIVE", "LOAD",
           "CHANNELS", "DOCS");
    for (i = 0; i < nrows; i++) {
        char load[32], chans[32], docs[32];
        if (rows[i].load >= 0)
            snprintf(load, sizeof load, "%.0f", rows[i].load);
        else
            snprintf(load, sizeof load, "-");
        if (rows[i].channels >= 0)
            snprintf(chans, sizeof chans, "%lld", (long long)rows[i].channels);
        else
            snprintf(chans, sizeof chans, "-");
        if (rows[i].docs >= 0)
            snprintf(docs, sizeof docs, "%lld", (long long)rows[i].docs);
        else
            snprintf(docs, sizeof docs, "-");
        printf("%-20s %-32s %-9s %-4s %12s %9s %12s\n", rows[i].ci.name,
               rows[i].ci.url[0] ? rows[i].ci.url : "-", sc_cluster_state_str(rows[i].ci.state),
               rows[i].live ? "yes" : "no", load, chans, docs);
    }
    if (n > 0) {
        printf("\npromoted channels (an index of their own):\n");
        printf("%-20s %-20s %-40s %6s %12s %s\n", "CHANNEL", "CLUSTER", "INDEX", "SHARDS", "DOCS",
               "STATE");
        for (i = 0; i < n; i++)
            printf("%-20llu %-20s %-40s %6d %12lld %s\n", (unsigned long long)p[i].channel_id,
                   p[i].cluster, p[i].index, p[i].shards, (long long)p[i].docs, p[i].state);
    }
    free(p);
    sc_clients_free(cl);
    sc_db_free(db);
    sc_cluster_view_free(v);
}

static int cmd_list(admin_args *a)
{
    char err[SC_ERRLEN], warn[SC_ERRLEN];
    admin_cluster_row *rows = NULL;
    size_t n = 0;
    if (!need_words(a, 2, "clusters list"))
        return 2;
    if (admin_cluster_rows(&a->cfg, 0, &rows, &n, warn, sizeof warn, err, sizeof err) != SC_OK) {
        fprintf(stderr, "admin: %s\n", err);
        return 1;
    }
    if (warn[0] != '\0')
        fprintf(stderr, "admin: warning: %s\n", warn);
    print_list(a, rows, n);
    free(rows);
    return 0;
}

int admin_clusters(admin_args *a)
{
    const char *sub = a->nwords >= 2 ? a->words[1] : "";
    if (strcmp(sub, "add") == 0)
        return cmd_add(a);
    if (strcmp(sub, "drain") == 0)
        return cmd_drain(a, 1);
    if (strcmp(sub, "undrain") == 0)
        return cmd_drain(a, 0);
    if (strcmp(sub, "remove") == 0)
        return cmd_remove(a);
    if (strcmp(sub, "list") == 0)
        return cmd_list(a);
    fprintf(stderr,
            "admin: usage: admin clusters add|drain|undrain|remove|list ... (try --help)\n");
    return 2;
}

/* ------------------------------------------------------------------ heal */

int admin_heal(admin_args *a)
{
    char err[SC_ERRLEN];
    sc_cluster_view_opts vo;
    sc_cluster_view *v = NULL;
    sc_db *db = NULL;
    sc_redis *r = NULL;
    sc_redis_opts ro;
    sc_binder *b = NULL;
    sc_binder_opts bo;
    sc_healer *h = NULL;
    sc_healer_opts ho;
    sc_heal_report rep;
    int rc = 1;
    memset(&vo, 0, sizeof vo);
    vo.etcd_url = a->cfg.etcd_url;
    vo.ns = a->cfg.namespace;
    vo.static_list = a->cfg.clusters;
    vo.etcd_timeout_ms = 5000;
    if ((v = sc_cluster_view_create(&vo, err, sizeof err)) == NULL) {
        fprintf(stderr, "admin heal: %s\n", err);
        goto out;
    }
    if ((db = sc_db_create(a->cfg.pg_dsn, err, sizeof err)) == NULL) {
        fprintf(stderr, "admin heal: postgres: %s\n", err);
        goto out;
    }
    sc_redis_opts_from_config(&a->cfg, &ro);
    if ((r = sc_redis_create(&ro, err, sizeof err)) == NULL) {
        fprintf(stderr, "admin heal: redis: %s\n", err);
        goto out;
    }
    sc_binder_opts_from_config(&a->cfg, r, db, v, &bo);
    if ((b = sc_binder_create(&bo, err, sizeof err)) == NULL) {
        fprintf(stderr, "admin heal: binder: %s\n", err);
        goto out;
    }
    memset(&ho, 0, sizeof ho);
    ho.pg_dsn = a->cfg.pg_dsn;
    ho.view = v;
    ho.binder = b;
    ho.db = db;
    ho.grace_period_s = 0; /* an operator's one-shot: not live now = dead */
    ho.adopt_unknown = 1;
    ho.recent_days = a->cfg.recent_days;
    if ((h = sc_healer_create(&ho, err, sizeof err)) == NULL) {
        fprintf(stderr, "admin heal: %s\n", err);
        goto out;
    }
    if (sc_healer_pass(h, &rep) != SC_OK) {
        fprintf(stderr, "admin heal: %s\n", sc_healer_errstr(h));
        goto out;
    }
    if (!rep.locked) {
        fprintf(stderr, "admin heal: another healer (an agent) holds the lock; nothing done\n");
        goto out;
    }
    printf("dead clusters: %d, channels moved: %lld, rebuild jobs queued: %lld, channels failed: "
           "%lld\n",
           rep.dead_clusters, (long long)rep.channels_moved, (long long)rep.jobs_queued,
           (long long)rep.channels_failed);
    rc = rep.channels_failed > 0 ? 1 : 0;
out:
    sc_healer_free(h);
    sc_binder_free(b);
    sc_redis_free(r);
    sc_db_free(db);
    sc_cluster_view_free(v);
    return rc;
}
