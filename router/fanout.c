/*
 * fanout.c - ask every (cluster, index) group of a search at once over one
 * curl multi handle, under one deadline, and parse each answer into an
 * sc_cluster_result for merge.c. Easy handles are kept in the handle set
 * between searches (rt_thread.idle) and its multi handle keeps the cluster
 * connections alive, so a search costs no TCP or TLS handshake and no
 * handle set-up. Each request authenticates with its cluster's credentials
 * reference as the view shows it at that search (sc_cluster_es_opts).
 *
 * Failure is per cluster and never blocks the others: an unknown cluster,
 * a refused connection, an HTTP error or a missed deadline marks that group
 * failed (the answer becomes partial) and is counted in
 * scour_router_cluster_errors_total{cluster}. The multi handle belongs to the
 * handle set the request checked out (rt_thread_get).
 * Not here: which clusters to ask (search.c), the query body (query.c).
 */
#include "router.h"

#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One in-flight cluster request. */
typedef struct xfer {
    CURL *easy;                         /* owned */
    struct curl_slist *headers;         /* owned */
    sc_buf body;                        /* request body (owned) */
    sc_buf resp;                        /* response body (owned, capped) */
    sc_http_sink sink;                  /* writes into resp */
    char url[SC_CLUSTER_URL_MAX + 160]; /* request URL */
    int active;                         /* 1 while added to the multi handle */
    int done;                           /* 1 once finished (ok or not) */
    int64_t started_us;                 /* for the latency histogram */
    int prep_failed;                    /* 1: never sent; why says why (reported by wait) */
    char why[SC_ERRLEN];                /* reason of a prep_failed */
} xfer;

static void fail(router *r, const rt_group *g, sc_cluster_result *res, const char *why)
{
    sc_cluster_result_clear(res);
    res->failed = 1;
    sc_metric_add(r->m_cluster_err, g->cluster, 1);
    log_warn("router: cluster %s index %s: %s", g->cluster, g->index, why);
}

/* A request that cannot even be sent: res failed now, the reason kept in x.
 * It is counted and logged only when the run is waited for (a cancelled
 * early run asked nobody). Returns 0 for prepare. */
static int prep_fail(xfer *x, sc_cluster_result *res, const char *why)
{
    sc_cluster_result_clear(res);
    res->failed = 1;
    x->prep_failed = 1;
    snprintf(x->why, sizeof(x->why), "%s", why);
    return 0;
}

/* Prepare group g's request; returns 0 when it failed already (res set,
 * reason in x). */
static int prepare(router *r, rt_thread *t, const sc_search_req *req, const rt_group *g, xfer *x,
                   sc_cluster_result *res, long timeout_ms)
{
    sc_cluster_info info;
    struct curl_slist *l;
    size_t size = (size_t)req->offset + req->limit;
    CURLcode rc = CURLE_OK;
    char why[SC_ERRLEN];
    es_opts eo;
    char secrets[SC_CLUSTER_SECRET_BUF];
    sc_status st;

    if (sc_cluster_view_get(r->view, g->cluster, &info) != SC_OK)
        return prep_fail(x, res, "cluster unknown to the view");
    if (!es_index_name_ok(g->index, 0))
        return prep_fail(x, res, "bad index name in binding");
    {
        size_t ul = strlen(info.url);
        while (ul > 0 && info.url[ul - 1] == '/')
            info.url[--ul] = '\0';
    }
    if ((size_t)snprintf(x->url, sizeof(x->url), "%s/%s/_search", info.url, g->index) >=
        sizeof(x->url))
        return prep_fail(x, res, "URL too long");
    sc_buf_init(&x->body, 1u << 20);
    sc_buf_init(&x->resp, RT_MAX_CLUSTER_RESPONSE);
    if (sc_query_build(req, g->channels, g->n, size, &x->body) != SC_OK)
        return prep_fail(x, res, "cannot build the query");
    if (t->n_idle > 0) {
        /* a handle of an earlier search: no allocation of its buffers again */
        x->easy = t->idle[--t->n_idle];
        curl_easy_reset(x->easy);
    } else {
        x->easy = curl_easy_init();
    }
    if (x->easy == NULL)
        return prep_fail(x, res, "out of memory");
    /* the cluster's own credentials, resolved from the view at every search */
    if (sc_cluster_es_opts(&info, &r->es, &eo, secrets, sizeof secrets, why, sizeof(why)) !=
        SC_OK) {
        explicit_bzero(secrets, sizeof secrets);
        return prep_fail(x, res, why);
    }
    st = es_apply_auth(x->easy, &eo, &x->headers); /* curl copies the strings */
    explicit_bzero(secrets, sizeof secrets);
    if (st != SC_OK)
        return prep_fail(x, res, "cannot configure curl");
    l = curl_slist_append(x->headers, "Content-Type: application/json");
    if (l != NULL) {
        x->headers = l;
        l = curl_slist_append(x->headers, "Expect:");
    }
    if (l == NULL)
        return prep_fail(x, res, "out of memory");
    x->headers = l;
    long ct = r->es.connect_timeout_ms > 0 && r->es.connect_timeout_ms < timeout_ms
                  ? r->es.connect_timeout_ms
                  : timeout_ms;
#define SETOPT(o, v)                              \
    do {                                          \
        if (rc == CURLE_OK)                       \
            rc = curl_easy_setopt(x->easy, o, v); \
    } while (0)
    SETOPT(CURLOPT_URL, x->url);
    SETOPT(CURLOPT_HTTPHEADER, x->headers);
    SETOPT(CURLOPT_POST, 1L);
    SETOPT(CURLOPT_POSTFIELDS, x->body.data);
    SETOPT(CURLOPT_POSTFIELDSIZE, (long)x->body.len);
    sc_http_sink_init(&x->sink, &x->resp, 0);
    SETOPT(CURLOPT_WRITEFUNCTION, sc_http_write);
    SETOPT(CURLOPT_WRITEDATA, &x->sink);
    SETOPT(CURLOPT_TIMEOUT_MS, timeout_ms);
    SETOPT(CURLOPT_CONNECTTIMEOUT_MS, ct);
    SETOPT(CURLOPT_PRIVATE, (void *)x);
#undef SETOPT
    if (rc != CURLE_OK) {
        sc_seterr(why, sizeof(why), "curl setup: %s", curl_easy_strerror(rc));
        return prep_fail(x, res, why);
    }
    return 1;
}

/* A transfer ended (CURLMSG_DONE): parse or fail. */
static void finish(router *r, const rt_group *g, xfer *x, CURLcode result, sc_cluster_result *res)
{
    long code = 0;
    char why[SC_ERRLEN];
    x->done = 1;
    sc_metric_observe(r->m_cluster_lat, g->cluster, (double)(sc_now_us() - x->started_us) / 1e6);
    if (result != CURLE_OK) {
        sc_seterr(why, sizeof(why), "%s", curl_easy_strerror(result));
        fail(r, g, res, why);
        return;
    }
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
    if (code != 200) {
        sc_seterr(why, sizeof(why), "HTTP %ld: %.160s", code,
                  x->resp.data != NULL ? x->resp.data : "");
        fail(r, g, res, why);
        return;
    }
    if (sc_cluster_result_parse(x->resp.data != NULL ? x->resp.data : "", x->resp.len, res, why,
                                sizeof(why)) != SC_OK) {
        fail(r, g, res, why);
        return;
    }
    if (res->incomplete)
        sc_metric_add(r->m_cluster_err, g->cluster, 1);
}

/* Searches sent and not yet collected (rt_fanout_start). */
struct rt_fanout_run {
    xfer *xs;               /* owned, one per group */
    size_t n;               /* groups */
    size_t pending;         /* transfers still in the multi handle */
    const rt_group *groups; /* borrowed from the caller until wait/cancel */
    sc_cluster_result *res; /* borrowed likewise */
    int64_t deadline_ms;    /* sc_now_ms clock */
};

sc_status rt_fanout_start(router *r, rt_thread *t, const sc_search_req *req, const rt_group *groups,
                          size_t n, int64_t deadline_ms, sc_cluster_result *res,
                          rt_fanout_run **out)
{
    rt_fanout_run *run;
    long timeout_ms = (long)(deadline_ms - sc_now_ms());
    int running = 0;
    *out = NULL;
    if (timeout_ms < 1)
        timeout_ms = 1;
    run = calloc(1, sizeof(*run));
    if (run == NULL || (n > 0 && (run->xs = calloc(n, sizeof(*run->xs))) == NULL)) {
        free(run);
        return SC_ENOMEM;
    }
    run->n = n;
    run->groups = groups;
    run->res = res;
    run->deadline_ms = deadline_ms;
    for (size_t i = 0; i < n; i++) {
        xfer *x = &run->xs[i];
        memset(&res[i], 0, sizeof(res[i]));
        if (!prepare(r, t, req, &groups[i], x, &res[i], timeout_ms)) {
            x->done = 1;
            continue;
        }
        x->started_us = sc_now_us();
        if (curl_multi_add_handle(t->multi, x->easy) != CURLM_OK) {
            x->done = 1;
            prep_fail(x, &res[i], "curl_multi_add_handle failed");
            continue;
        }
        x->active = 1;
        run->pending++;
    }
    /* put the requests on the wire now: the caller may block on something
     * else (the binding lookup) before it waits for the answers */
    if (run->pending > 0)
        (void)curl_multi_perform(t->multi, &running);
    *out = run;
    return SC_OK;
}

/* Detach and keep (or free) every handle of run, then free run. report: a
 * transfer still running counts as a failed cluster ("deadline passed");
 * otherwise it is dropped unreported. */
static void run_end(router *r, rt_thread *t, rt_fanout_run *run, int report)
{
    for (size_t i = 0; i < run->n; i++) {
        xfer *x = &run->xs[i];
        if (x->active) {
            curl_multi_remove_handle(t->multi, x->easy);
            x->active = 0;
            if (!x->done && report)
                fail(r, &run->groups[i], &run->res[i], "deadline passed");
        }
        if (x->easy != NULL) {
            if (t->n_idle < RT_IDLE_EASY)
                t->idle[t->n_idle++] = x->easy; /* kept for the next search */
            else
                curl_easy_cleanup(x->easy);
        }
        curl_slist_free_all(x->headers);
        sc_buf_free(&x->body);
        sc_buf_free(&x->resp);
    }
    free(run->xs);
    free(run);
}

void rt_fanout_wait(router *r, rt_thread *t, rt_fanout_run *run)
{
    for (size_t i = 0; i < run->n; i++)
        if (run->xs[i].prep_failed)
            fail(r, &run->groups[i], &run->res[i], run->xs[i].why);
    while (run->pending > 0) {
        int running = 0, left = 0;
        CURLMsg *msg;
        int64_t now = sc_now_ms();
        if (curl_multi_perform(t->multi, &running) != CURLM_OK)
            break;
        while ((msg = curl_multi_info_read(t->multi, &left)) != NULL) {
            xfer *x = NULL;
            size_t i;
            if (msg->msg != CURLMSG_DONE)
                continue;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
            if (x == NULL || x->done)
                continue;
            i = (size_t)(x - run->xs);
            finish(r, &run->groups[i], x, msg->data.result, &run->res[i]);
            curl_multi_remove_handle(t->multi, x->easy);
            x->active = 0;
            run->pending--;
        }
        if (run->pending == 0 || now >= run->deadline_ms)
            break;
        {
            int64_t wait = run->deadline_ms - now;
            curl_multi_poll(t->multi, NULL, 0, wait > 100 ? 100 : (int)wait, NULL);
        }
    }
    run_end(r, t, run, 1); /* whatever is still running missed the deadline */
}

void rt_fanout_cancel(router *r, rt_thread *t, rt_fanout_run *run)
{
    if (run != NULL)
        run_end(r, t, run, 0); /* not a failure of any cluster: the answer is unwanted */
}

sc_status rt_fanout(router *r, rt_thread *t, const sc_search_req *req, const rt_group *groups,
                    size_t n, int64_t deadline_ms, sc_cluster_result *res)
{
    rt_fanout_run *run;
    sc_status st;
    if (n == 0)
        return SC_OK;
    st = rt_fanout_start(r, t, req, groups, n, deadline_ms, res, &run);
    if (st == SC_OK)
        rt_fanout_wait(r, t, run);
    return st;
}
