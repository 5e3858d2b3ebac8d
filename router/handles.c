/*
 * handles.c - one search worker's set of backend handles (rt_thread):
 * a PostgreSQL connection, a Redis connection, a binder over both, and a
 * curl multi handle that keeps the cluster connections alive between
 * searches; and the readiness check (/readyz) run on such a set.
 *
 * Each worker of the pool (pool.c) owns one set, created on its first task
 * and kept while the worker lives, so `threads` bounds the backend
 * connections. Not here: who runs what when (pool.c), the search (search.c).
 */
#include "router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rt_handles_free(rt_thread *t)
{
    if (t == NULL)
        return;
    sc_clients_free(t->clients);
    sc_binder_free(t->binder);
    sc_redis_free(t->redis);
    sc_db_free(t->db);
    for (size_t i = 0; i < t->n_idle; i++)
        curl_easy_cleanup(t->idle[i]);
    if (t->multi != NULL)
        curl_multi_cleanup(t->multi);
    free(t);
}

rt_thread *rt_handles_create(router *r, char *err, size_t errlen)
{
    rt_thread *t;
    sc_redis_opts ro;
    sc_binder_opts bo;
    char e[SC_ERRLEN];

    t = calloc(1, sizeof(*t));
    if (t == NULL) {
        sc_seterr(err, errlen, "out of memory");
        return NULL;
    }
    t->db = sc_db_create(r->cfg->pg_dsn, e, sizeof(e));
    if (t->db == NULL) {
        sc_seterr(err, errlen, "postgres: %s", e);
        goto fail;
    }
    memset(&ro, 0, sizeof(ro));
    ro.host = r->cfg->redis_host;
    ro.port = r->cfg->redis_port;
    ro.password = r->cfg->redis_password;
    ro.user = r->cfg->redis_user;
    t->redis = sc_redis_create(&ro, e, sizeof(e));
    if (t->redis == NULL) {
        sc_seterr(err, errlen, "redis: %s", e);
        goto fail;
    }
    memset(&bo, 0, sizeof(bo));
    bo.ns = r->cfg->namespace;
    bo.index_name = r->cfg->index_name;
    bo.cache_ttl_s = r->cfg->binding_cache_ttl_s;
    bo.redis = t->redis;
    bo.db = t->db;
    bo.view = r->view;
    t->binder = sc_binder_create(&bo, e, sizeof(e));
    if (t->binder == NULL) {
        sc_seterr(err, errlen, "binder: %s", e);
        goto fail;
    }
    {
        es_opts eo;
        sc_clients_opts co;
        sc_clients_base_opts(r->cfg, &eo);
        eo.timeout_ms = r->cfg->refresh_timeout_ms;
        if (eo.connect_timeout_ms > eo.timeout_ms)
            eo.connect_timeout_ms = eo.timeout_ms;
        memset(&co, 0, sizeof(co));
        co.base = &eo;
        co.view = r->view;
        t->clients = sc_clients_create(&co, e, sizeof(e));
        if (t->clients == NULL) {
            sc_seterr(err, errlen, "clients: %s", e);
            goto fail;
        }
    }
    t->multi = curl_multi_init();
    if (t->multi == NULL) {
        sc_seterr(err, errlen, "curl_multi_init failed");
        goto fail;
    }
    return t;
fail:
    rt_handles_free(t);
    return NULL;
}

void rt_readyz(router *r, rt_thread *t, rt_reply *rep)
{
    int pg = 0, rd = 0, view = 0;
    sc_cluster_info *cl = NULL;
    size_t n = 0;
    if (t != NULL) {
        uint64_t g;
        sc_status st = sc_db_channel_guild(t->db, 0, &g);
        pg = st == SC_OK || st == SC_ENOTFOUND;
        rd = sc_redis_ping(t->redis) == SC_OK;
    }
    if (sc_cluster_view_list(r->view, &cl, &n) == SC_OK) {
        for (size_t i = 0; i < n; i++)
            view |= cl[i].live;
        free(cl);
    }
    rep->status = pg && rd && view ? 200 : 503;
    sc_buf_reset(&rep->body);
    if (sc_buf_printf(&rep->body,
                      "{\"status\":\"%s\",\"checks\":{\"postgres\":%s,\"redis\":%s,"
                      "\"clusters\":%s}}",
                      rep->status == 200 ? "ready" : "not ready", pg ? "true" : "false",
                      rd ? "true" : "false", view ? "true" : "false") != SC_OK)
        rt_reply_error(rep, 500, "500: Internal Server Error", RT_CODE_GENERAL);
}
