/*
 * router - the search API (issue #4): an HTTP server that answers
 * Discord-shaped message searches by fanning out to the search clusters
 * holding the channels in scope. See docs/router.md and schemas/openapi.yaml.
 *
 * main() parses the config (--help, --check-config), raises the open-file
 * limit for the client connections, builds the shared state (cluster view,
 * metrics, permission cache, rate limiter), starts the HTTP server (its
 * event loop and search workers, http.c) and waits for SIGINT/SIGTERM; then
 * the server drains the requests in flight and everything is freed. SIGHUP
 * rereads the token JWKS (libscour/auth.c) and keeps serving.
 * Exit codes: 0 clean stop, 1 runtime failure at start-up, 2 usage/config.
 */
#include "router.h"

#include "log.h"
#include "prog.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

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
    r->m_dropped =
        sc_metrics_add(m, SC_METRIC_COUNTER, "scour_router_hits_dropped_total",
                       "hits dropped at hydration (deleted or gone from PostgreSQL)", NULL);
    r->m_early = sc_metrics_add(m, SC_METRIC_COUNTER, "scour_router_early_requests_total",
                                "searches sent to clusters before the bindings were read: "
                                "kept (bindings unchanged) or dropped (asked again)",
                                "outcome");
    r->m_rejected = sc_metrics_add(m, SC_METRIC_COUNTER, "scour_router_rejected_total",
                                   "503 answers of admission control: queue_full, deadline "
                                   "(no worker in queue_timeout_ms), connections (over "
                                   "max_connections)",
                                   "reason");
    r->m_conns = sc_metrics_add(m, SC_METRIC_GAUGE, "scour_router_connections",
                                "client connections open", NULL);
    r->m_limited = sc_metrics_add(m, SC_METRIC_COUNTER, "scour_router_rate_limited_total",
                                  "429 answers, by bucket (search.ip, search.user)", "bucket");
    r->m_limit_local =
        sc_metrics_add(m, SC_METRIC_COUNTER, "scour_router_rate_limit_local_total",
                       "rate-limit decisions made by the local buckets (Redis unreachable)", NULL);
    r->m_refresh = sc_metrics_add(m, SC_METRIC_COUNTER, "scour_router_refreshes_total",
                                  "dirty indices met by searches, by outcome: refreshed (this "
                                  "search refreshed), joined (waited for another's refresh), "
                                  "covered (already refreshed), failed (error or timeout: "
                                  "searched without it), stale (mark older than its TTL, ignored)",
                                  "outcome");
    r->m_refresh_lat = sc_metrics_add(m, SC_METRIC_HISTOGRAM, "scour_router_refresh_seconds",
                                      "refresh-on-read _refresh latency", "cluster");
    return r->m_refresh && r->m_refresh_lat && r->m_limited && r->m_limit_local && r->m_requests &&
           r->m_latency && r->m_partial && r->m_cluster_err && r->m_cluster_lat && r->m_building &&
           r->m_dropped && r->m_early && r->m_rejected && r->m_conns;
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
        .signals = SC_PROG_SIGNALS_WAIT, /* taken below, in this thread */
    };
    char err[1024];
    router r;
    sc_cluster_view_opts vo;
    sc_auth_opts ao;
    rt_http *d = NULL;
    struct rlimit rl;
    sc_metrics_server *ms = NULL;
    int sig = 0, port = 0, rc = 1;

    act = sc_prog_start(&prog, argc, argv, &cfg, NULL, &msg);
    fputs(msg.data != NULL ? msg.data : "", act == SC_PROG_EXIT_OK ? stdout : stderr);
    sc_buf_free(&msg);
    if (act != SC_PROG_RUN)
        return (int)act;

    if (sc_http_init(err, sizeof err) != SC_OK) {
        fprintf(stderr, "router: %s\n", err);
        sc_config_free(&cfg);
        return 1;
    }
    /* every client connection is a descriptor: allow max_connections plus
     * the backend ones, as far as the hard limit lets us */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rlim_t want = (rlim_t)cfg.max_connections + 64 + (rlim_t)cfg.threads * 16;
        if (rl.rlim_cur < want) {
            rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || want < rl.rlim_max ? want : rl.rlim_max;
            if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < want)
                log_warn("router: open-file limit %llu is below max_connections %d + backends",
                         (unsigned long long)rl.rlim_cur, cfg.max_connections);
        }
    }
    memset(&r, 0, sizeof(r));
    r.cfg = &cfg;
    sc_clients_base_opts(&cfg, &r.es);
    r.es.url = "http://unused";
    r.es.timeout_ms = cfg.query_timeout_ms;
    r.metrics = sc_metrics_create();
    r.perms = rt_perm_cache_create(cfg.perm_cache_ttl_ms);
    r.binds = rt_bind_cache_create();
    r.fresh = rt_fresh_create();
    memset(&ao, 0, sizeof(ao));
    ao.secret = cfg.jwt_secret;
    ao.jwks_file = cfg.jwt_jwks_file;
    ao.audience = cfg.jwt_audience;
    ao.issuer = cfg.jwt_issuer;
    ao.leeway_s = cfg.jwt_leeway_s;
    r.auth = sc_auth_create(&ao, err, sizeof(err));
    if (r.auth == NULL) {
        fprintf(stderr, "router: tokens: %s\n", err);
        rc = 2;
        goto out;
    }
    r.limits = sc_ratelimit_create();
    if (r.metrics == NULL || r.perms == NULL || r.binds == NULL || r.fresh == NULL ||
        r.limits == NULL || !register_metrics(&r)) {
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
    log_info("router: listening on %s:%d (%d workers, queue %d, namespace %s)", cfg.listen_addr,
             port, cfg.threads, cfg.queue_max, cfg.namespace);
    while ((sig = sc_prog_wait_signal()) == SIGHUP) {
        size_t nk = 0;
        if (sc_auth_reload(r.auth, &nk, err, sizeof(err)) == SC_OK)
            log_info("router: SIGHUP: reloaded %s (%zu keys)", cfg.jwt_jwks_file, nk);
        else
            log_error("router: SIGHUP: keeping the previous token keys: %s", err);
    }
    log_info("router: signal %d, stopping", sig);
    rc = 0;
out:
    rt_http_stop(d); /* drains the searches in flight */
    sc_metrics_server_stop(ms);
    sc_cluster_view_free(r.view);
    rt_perm_cache_free(r.perms);
    rt_bind_cache_free(r.binds);
    rt_fresh_free(r.fresh);
    sc_auth_free(r.auth);
    sc_ratelimit_free(r.limits);
    sc_metrics_free(r.metrics);
    curl_global_cleanup();
    sc_config_free(&cfg);
    return rc;
}
