/*
 * router - the search API (issue #4): a libmicrohttpd server that answers
 * Discord-shaped message searches by fanning out to the search clusters
 * holding the channels in scope. See docs/router.md and schemas/openapi.yaml.
 *
 * main() parses the config (--help, --check-config), builds the shared state
 * (cluster view, metrics, permission cache), starts the HTTP server and
 * waits for SIGINT/SIGTERM. Sets of PostgreSQL/Redis/binder/curl handles are
 * pooled (rt_thread_get/rt_thread_put, at most `threads` of them), created
 * lazily and freed after the server stopped.
 * Exit codes: 0 clean stop, 1 runtime failure at start-up, 2 usage/config.
 */
#include "router.h"

#include "log.h"
#include "prog.h"

#include <microhttpd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void thread_free(rt_thread *t)
{
    if (t == NULL)
        return;
    sc_binder_free(t->binder);
    sc_redis_free(t->redis);
    sc_db_free(t->db);
    for (size_t i = 0; i < t->n_idle; i++)
        curl_easy_cleanup(t->idle[i]);
    if (t->multi != NULL)
        curl_multi_cleanup(t->multi);
    free(t);
}

rt_thread *rt_thread_get(router *r, char *err, size_t errlen)
{
    rt_thread *t = NULL;
    sc_redis_opts ro;
    sc_binder_opts bo;
    char e[SC_ERRLEN];
    struct timespec until;
    int rc = 0;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += r->cfg->query_timeout_ms / 1000;
    until.tv_nsec += (long)(r->cfg->query_timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&r->threads_mu);
    while (r->idle == NULL && r->n_threads >= r->cfg->threads && rc == 0)
        rc = pthread_cond_timedwait(&r->threads_cv, &r->threads_mu, &until);
    if (r->idle != NULL) {
        t = r->idle;
        r->idle = t->idle_next;
        t->idle_next = NULL;
        pthread_mutex_unlock(&r->threads_mu);
        return t;
    }
    if (r->n_threads >= r->cfg->threads) {
        pthread_mutex_unlock(&r->threads_mu);
        sc_seterr(err, errlen, "all %d handle sets busy for %d ms", r->cfg->threads,
                  r->cfg->query_timeout_ms);
        return NULL;
    }
    r->n_threads++; /* reserve the slot; set up outside the lock */
    pthread_mutex_unlock(&r->threads_mu);
    t = calloc(1, sizeof(*t));
    if (t == NULL) {
        sc_seterr(err, errlen, "out of memory");
        goto fail;
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
    t->multi = curl_multi_init();
    if (t->multi == NULL) {
        sc_seterr(err, errlen, "curl_multi_init failed");
        goto fail;
    }
    pthread_mutex_lock(&r->threads_mu);
    t->next = r->threads;
    r->threads = t;
    pthread_mutex_unlock(&r->threads_mu);
    return t;
fail:
    thread_free(t);
    pthread_mutex_lock(&r->threads_mu);
    r->n_threads--; /* give the slot back: another waiter may try */
    pthread_cond_signal(&r->threads_cv);
    pthread_mutex_unlock(&r->threads_mu);
    return NULL;
}

void rt_thread_put(router *r, rt_thread *t)
{
    if (t == NULL)
        return;
    pthread_mutex_lock(&r->threads_mu);
    t->idle_next = r->idle;
    r->idle = t;
    pthread_cond_signal(&r->threads_cv);
    pthread_mutex_unlock(&r->threads_mu);
}

void rt_threads_free(router *r)
{
    pthread_mutex_lock(&r->threads_mu);
    while (r->threads != NULL) {
        rt_thread *t = r->threads;
        r->threads = t->next;
        thread_free(t);
    }
    r->idle = NULL;
    r->n_threads = 0;
    pthread_mutex_unlock(&r->threads_mu);
}

static int register_metrics(router *r)
{
    sc_metrics *m = r->metrics;
    r->m_requests = sc_metrics_add(m, SC_METRIC_COUNTER, "scour_router_requests_total",
                                   "HTTP requests answered, by status", "status");
    r->m_latency = sc_metrics_add(m, SC_METRIC_HISTOGRAM, "scour_router_request_seconds",
                                  "HTTP request latency, by endpoint", "endpoint");
    r->m_partial = sc_metrics_add(m, SC_METRIC_COUNTER, "scour_router_partial_total",
                                  "search answers missing at least one cluster", NULL);
    r->m_cluster_err =
        sc_metrics_add(m, SC_METRIC_COUNTER, "scour_router_cluster_errors_total",
                       "cluster queries that failed, timed out or were incomplete", "cluster");
    r->m_cluster_lat = sc_metrics_add(m, SC_METRIC_HISTOGRAM, "scour_router_cluster_seconds",
                                      "latency of one cluster query", "cluster");
    r->m_building = sc_metrics_add(m, SC_METRIC_COUNTER, "scour_router_not_ready_total",
                                   "202 answers: a channel in scope was being rebuilt", NULL);
    r->m_dropped = sc_metrics_add(m, SC_METRIC_COUNTER, "scour_router_hits_dropped_total",
                                  "hits dropped at hydration (deleted or gone from PostgreSQL)",
                                  NULL);
    r->m_early = sc_metrics_add(m, SC_METRIC_COUNTER, "scour_router_early_requests_total",
                                "searches sent to clusters before the bindings were read: "
                                "kept (bindings unchanged) or dropped (asked again)",
                                "outcome");
    return r->m_requests && r->m_latency && r->m_partial && r->m_cluster_err &&
           r->m_cluster_lat && r->m_building && r->m_dropped && r->m_early;
}

int main(int argc, char **argv)
{
    sc_config cfg;
    sc_buf msg;
    sc_prog_action act;
    static const sc_prog_opts prog = {
        .name = "router",
        .program = SC_PROG_ROUTER,
        .usage = "usage: router [options]\n\nServe the message search API.\n\n",
        .version = "router (scour)",
        .no_args = true,
        .check_dump = true,
    };
    char err[1024];
    router r;
    sc_cluster_view_opts vo;
    struct MHD_Daemon *d = NULL;
    sc_metrics_server *ms = NULL;
    sigset_t set;
    int sig = 0, port = 0, rc = 1;

    act = sc_prog_config(&prog, argc, argv, &cfg, NULL, &msg);
    fputs(msg.data != NULL ? msg.data : "", act == SC_PROG_EXIT_OK ? stdout : stderr);
    sc_buf_free(&msg);
    if (act != SC_PROG_RUN)
        return (int)act;
    sc_log_set_level((sc_log_level)cfg.log_level);

    /* signals are taken by sigwait below; every thread inherits the mask */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (sc_http_init(err, sizeof err) != SC_OK) {
        fprintf(stderr, "router: %s\n", err);
        sc_config_free(&cfg);
        return 1;
    }
    memset(&r, 0, sizeof(r));
    pthread_mutex_init(&r.threads_mu, NULL);
    pthread_cond_init(&r.threads_cv, NULL);
    r.cfg = &cfg;
    sc_clients_base_opts(&cfg, &r.es);
    r.es.url = "http://unused";
    r.es.timeout_ms = cfg.query_timeout_ms;
    r.metrics = sc_metrics_create();
    r.perms = rt_perm_cache_create(cfg.perm_cache_ttl_ms);
    r.binds = rt_bind_cache_create();
    if (r.metrics == NULL || r.perms == NULL || r.binds == NULL || !register_metrics(&r)) {
        fprintf(stderr, "router: out of memory\n");
        goto out;
    }
    memset(&vo, 0, sizeof(vo));
    vo.etcd_url = cfg.etcd_url;
    vo.ns = cfg.namespace;
    vo.static_list = cfg.clusters[0] ? cfg.clusters : NULL;
    vo.etcd_timeout_ms = 2000;
    r.view = sc_cluster_view_create(&vo, err, sizeof(err));
    if (r.view == NULL) {
        fprintf(stderr, "router: cluster view: %s\n", err);
        goto out;
    }
    d = rt_http_start(&r, &port, err, sizeof(err));
    if (d == NULL) {
        fprintf(stderr, "router: %s\n", err);
        goto out;
    }
    if (cfg.metrics_port > 0) {
        int mp = 0;
        ms = sc_metrics_server_start(r.metrics, cfg.listen_addr, cfg.metrics_port, &mp, err,
                                     sizeof(err));
        if (ms == NULL) {
            fprintf(stderr, "router: metrics server: %s\n", err);
            goto out;
        }
    }
    log_info("router: listening on %s:%d (%d threads, namespace %s)", cfg.listen_addr, port,
             cfg.threads, cfg.namespace);
    while (sigwait(&set, &sig) != 0)
        ;
    log_info("router: signal %d, stopping", sig);
    rc = 0;
out:
    if (d != NULL)
        MHD_stop_daemon(d);
    sc_metrics_server_stop(ms);
    rt_threads_free(&r);
    sc_cluster_view_free(r.view);
    rt_perm_cache_free(r.perms);
    rt_bind_cache_free(r.binds);
    sc_metrics_free(r.metrics);
    pthread_mutex_destroy(&r.threads_mu);
    pthread_cond_destroy(&r.threads_cv);
    curl_global_cleanup();
    sc_config_free(&cfg);
    return rc;
}
