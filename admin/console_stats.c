/*
 * admin/console_stats.c - the console's metrics sampler: a thread scrapes
 * the indexers' and the router's Prometheus text (libscour/promtext.c)
 * every console_sample_ms, keeps the last 300 samples (10 minutes at the
 * default 2 s) and turns counter deltas into rates and histogram bucket
 * deltas into p50/p99, the way Prometheus' rate() and histogram_quantile()
 * would over the same window. Counter resets (a restarted indexer) count
 * from zero, as rate() does.
 *
 * Not here: the HTTP side (console.c), which metrics the programs expose
 * (indexer/main.c, router/main.c; docs/indexer.md, docs/router.md).
 */
#include "console.h"

#include "http.h"
#include "promtext.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CS_RING 300 /* samples kept */
#define CS_NB 15    /* histogram buckets: metrics.c's 14 bounds + +Inf */
#define CS_MAXCL 16 /* clusters tracked for bulk latency */
#define CS_NSTAGE 6 /* pipeline stages shown */
#define CS_WINDOW 5 /* samples in a "now" window (10 s at 2 s) */

static const char *const stages[CS_NSTAGE] = {"read", "parsed", "bound",
                                              "sent", "acked",  "dead_lettered"};
static const double bounds[CS_NB - 1] = {0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1,
                                         0.25,  0.5,   1,     2.5,  5,     10,   30};

typedef struct cs_hist {
    double b[CS_NB]; /* cumulative bucket counts, the last one +Inf */
    double count;    /* _count */
} cs_hist;

typedef struct cs_sample {
    int64_t t_ms;            /* wall ms of the scrape */
    int idx_up;              /* indexers that answered */
    int rt_up;               /* router answered */
    double stage[CS_NSTAGE]; /* scour_indexer_events_total per stage, summed */
    double retries;          /* scour_indexer_retries_total, summed */
    double bulk_errors;      /* scour_indexer_bulk_errors_total, summed */
    double lag;              /* scour_indexer_queue_lag (max over indexers) */
    double pending;          /* scour_indexer_queue_pending (max over indexers) */
    int ncl;                 /* clusters in cl[] */
    char cl[CS_MAXCL][64];   /* cluster names of bulk[] */
    cs_hist bulk[CS_MAXCL];  /* scour_indexer_bulk_seconds per cluster */
    double req[5];           /* scour_router_requests_total: all, 202, 429, 503, 200 */
    double partial;          /* scour_router_partial_total */
    cs_hist search;          /* scour_router_request_seconds, guild + channel */
} cs_sample;

struct cs_stats {
    pthread_t th;            /* the sampler thread */
    pthread_mutex_t lock;    /* guards ring, n, head */
    pthread_cond_t cond;     /* wakes the thread to stop */
    int stop;                /* set by cs_stats_stop */
    int interval_ms;         /* between scrapes */
    char **idx_urls;         /* owned: indexer metrics URLs */
    size_t nidx;             /* entries of idx_urls */
    char *router_metrics;    /* owned: router_url + "/metrics" */
    cs_sample ring[CS_RING]; /* samples, oldest at (head - n) */
    size_t n;                /* samples held */
    size_t head;             /* next slot to write */
};

sc_status cs_http_get(const char *url, const char *const *headers, long timeout_ms, sc_buf *out,
                      long *status, char *err, size_t errlen)
{
    CURL *e = curl_easy_init();
    struct curl_slist *hl = NULL;
    sc_http_sink sink;
    CURLcode rc;
    sc_status st;
    *status = 0;
    if (e == NULL) {
        sc_seterr(err, errlen, "curl: out of memory");
        return SC_ENOMEM;
    }
    for (size_t i = 0; headers != NULL && headers[i] != NULL; i++)
        hl = curl_slist_append(hl, headers[i]);
    sc_http_sink_init(&sink, out, 0);
    rc = sc_http_setup(e, timeout_ms < 1000 ? timeout_ms : 1000, timeout_ms);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(e, CURLOPT_URL, url);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sc_http_write);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(e, CURLOPT_WRITEDATA, &sink);
    if (rc == CURLE_OK && hl != NULL)
        rc = curl_easy_setopt(e, CURLOPT_HTTPHEADER, hl);
    if (rc == CURLE_OK)
        rc = curl_easy_perform(e);
    if (rc == CURLE_OK) {
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, status);
        st = SC_OK;
    } else {
        st = sink.overflow ? SC_ENOMEM : sc_http_status(rc);
        sc_seterr(err, errlen, "GET %s: %s", url,
                  sink.overflow ? "answer too large" : curl_easy_strerror(rc));
    }
    curl_slist_free_all(hl);
    curl_easy_cleanup(e);
    return st;
}

/* Bucket index of an le label value. */
static int bucket_of(const char *le)
{
    double v;
    if (le == NULL)
        return -1;
    if (strcmp(le, "+Inf") == 0)
        return CS_NB - 1;
    v = strtod(le, NULL);
    for (int i = 0; i < CS_NB - 1; i++)
        if (fabs(v - bounds[i]) < bounds[i] * 1e-6)
            return i;
    return -1;
}

static cs_hist *cluster_hist(cs_sample *s, const char *name)
{
    for (int i = 0; i < s->ncl; i++)
        if (strcmp(s->cl[i], name) == 0)
            return &s->bulk[i];
    if (s->ncl >= CS_MAXCL)
        return NULL;
    snprintf(s->cl[s->ncl], sizeof s->cl[0], "%s", name);
    memset(&s->bulk[s->ncl], 0, sizeof s->bulk[0]);
    return &s->bulk[s->ncl++];
}

/* Add one indexer's samples to s. */
static void take_indexer(cs_sample *s, const sc_prom_sample *p, size_t n)
{
    for (int i = 0; i < CS_NSTAGE; i++)
        s->stage[i] += sc_prom_sum(p, n, "scour_indexer_events_total", "stage", stages[i]);
    s->retries += sc_prom_sum(p, n, "scour_indexer_retries_total", NULL, NULL);
    s->bulk_errors += sc_prom_sum(p, n, "scour_indexer_bulk_errors_total", NULL, NULL);
    s->lag = fmax(s->lag, sc_prom_sum(p, n, "scour_indexer_queue_lag", NULL, NULL));
    s->pending = fmax(s->pending, sc_prom_sum(p, n, "scour_indexer_queue_pending", NULL, NULL));
    for (size_t i = 0; i < n; i++) {
        const char *cl = sc_prom_label(&p[i], "cluster");
        cs_hist *h;
        int b;
        if (cl == NULL || strncmp(p[i].name, "scour_indexer_bulk_seconds", 26) != 0 ||
            (h = cluster_hist(s, cl)) == NULL)
            continue;
        if (strcmp(p[i].name + 26, "_bucket") == 0 &&
            (b = bucket_of(sc_prom_label(&p[i], "le"))) >= 0)
            h->b[b] += p[i].value;
        else if (strcmp(p[i].name + 26, "_count") == 0)
            h->count += p[i].value;
    }
}

static void take_router(cs_sample *s, const sc_prom_sample *p, size_t n)
{
    s->req[0] = sc_prom_sum(p, n, "scour_router_requests_total", NULL, NULL);
    s->req[1] = sc_prom_sum(p, n, "scour_router_requests_total", "status", "202");
    s->req[2] = sc_prom_sum(p, n, "scour_router_requests_total", "status", "429");
    s->req[3] = sc_prom_sum(p, n, "scour_router_requests_total", "status", "503");
    s->req[4] = sc_prom_sum(p, n, "scour_router_requests_total", "status", "200");
    s->partial = sc_prom_sum(p, n, "scour_router_partial_total", NULL, NULL);
    for (size_t i = 0; i < n; i++) {
        const char *ep = sc_prom_label(&p[i], "endpoint");
        int b;
        if (ep == NULL || (strcmp(ep, "guild") != 0 && strcmp(ep, "channel") != 0))
            continue;
        if (strcmp(p[i].name, "scour_router_request_seconds_bucket") == 0 &&
            (b = bucket_of(sc_prom_label(&p[i], "le"))) >= 0)
            s->search.b[b] += p[i].value;
        else if (strcmp(p[i].name, "scour_router_request_seconds_count") == 0)
            s->search.count += p[i].value;
    }
}

/* Scrape url and parse it; 1 when it answered 200. */
static int scrape(const char *url, sc_prom_sample **p, size_t *n)
{
    sc_buf b;
    long code = 0;
    char err[SC_ERRLEN];
    int ok = 0;
    *p = NULL;
    *n = 0;
    sc_buf_init(&b, 8u << 20);
    if (cs_http_get(url, NULL, 1500, &b, &code, err, sizeof err) == SC_OK && code == 200 &&
        sc_prom_parse(b.data ? b.data : "", b.len, p, n, NULL) == SC_OK)
        ok = 1;
    sc_buf_free(&b);
    return ok;
}

static void sample_once(cs_stats *s)
{
    cs_sample smp;
    sc_prom_sample *p;
    size_t n;
    memset(&smp, 0, sizeof smp);
    smp.t_ms = sc_wall_ms();
    for (size_t i = 0; i < s->nidx; i++) {
        if (scrape(s->idx_urls[i], &p, &n)) {
            smp.idx_up++;
            take_indexer(&smp, p, n);
        }
        free(p);
    }
    if (s->router_metrics != NULL && scrape(s->router_metrics, &p, &n)) {
        smp.rt_up = 1;
        take_router(&smp, p, n);
    }
    if (s->router_metrics != NULL)
        free(p);
    pthread_mutex_lock(&s->lock);
    s->ring[s->head] = smp;
    s->head = (s->head + 1) % CS_RING;
    if (s->n < CS_RING)
        s->n++;
    pthread_mutex_unlock(&s->lock);
}

static void *run(void *arg)
{
    cs_stats *s = arg;
    pthread_mutex_lock(&s->lock);
    while (!s->stop) {
        struct timespec ts;
        pthread_mutex_unlock(&s->lock);
        sample_once(s);
        pthread_mutex_lock(&s->lock);
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += s->interval_ms / 1000;
        ts.tv_nsec += (long)(s->interval_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        while (!s->stop && pthread_cond_timedwait(&s->cond, &s->lock, &ts) == 0)
            ;
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

static void free_urls(cs_stats *s)
{
    for (size_t i = 0; i < s->nidx; i++)
        free(s->idx_urls[i]);
    free(s->idx_urls);
    free(s->router_metrics);
}

cs_stats *cs_stats_start(const char *indexer_urls, const char *router_url, int interval_ms,
                         char *err, size_t errlen)
{
    cs_stats *s = calloc(1, sizeof(*s));
    const char *p = indexer_urls != NULL ? indexer_urls : "";
    if (s == NULL) {
        sc_seterr(err, errlen, "out of memory");
        return NULL;
    }
    s->interval_ms = interval_ms > 0 ? interval_ms : 2000;
    while (*p != '\0') {
        const char *c = strchr(p, ',');
        size_t len = c != NULL ? (size_t)(c - p) : strlen(p);
        char **nu;
        if (len > 0) {
            if (strncmp(p, "http://", 7) != 0 && strncmp(p, "https://", 8) != 0) {
                sc_seterr(err, errlen, "console_indexer_metrics: '%.*s' is not an http(s):// URL",
                          (int)len, p);
                free_urls(s);
                free(s);
                return NULL;
            }
            nu = realloc(s->idx_urls, (s->nidx + 1) * sizeof(*nu));
            if (nu == NULL || (nu[s->nidx] = strndup(p, len)) == NULL) {
                if (nu != NULL)
                    s->idx_urls = nu;
                sc_seterr(err, errlen, "out of memory");
                free_urls(s);
                free(s);
                return NULL;
            }
            s->idx_urls = nu;
            s->nidx++;
        }
        p += len + (c != NULL);
    }
    if (router_url != NULL && router_url[0] != '\0') {
        size_t l = strlen(router_url);
        s->router_metrics = malloc(l + 9);
        if (s->router_metrics == NULL) {
            sc_seterr(err, errlen, "out of memory");
            free_urls(s);
            free(s);
            return NULL;
        }
        snprintf(s->router_metrics, l + 9, "%.*s/metrics",
                 (int)(l > 0 && router_url[l - 1] == '/' ? l - 1 : l), router_url);
    }
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    if (pthread_create(&s->th, NULL, run, s) != 0) {
        sc_seterr(err, errlen, "cannot start the sampler thread");
        pthread_mutex_destroy(&s->lock);
        pthread_cond_destroy(&s->cond);
        free_urls(s);
        free(s);
        return NULL;
    }
    return s;
}

void cs_stats_stop(cs_stats *s)
{
    if (s == NULL)
        return;
    pthread_mutex_lock(&s->lock);
    s->stop = 1;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->th, NULL);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->cond);
    free_urls(s);
    free(s);
}

/* ---------------------------------------------------------------- math */

/* Increase of a counter from a to b (a reset counts from 0). */
static double delta(double a, double b) { return b >= a ? b - a : b; }

/* q-quantile (0..1) in ms of the observations between histograms a and b;
 * NAN when there were none. Linear inside a bucket, as histogram_quantile. */
static double quantile_ms(const cs_hist *a, const cs_hist *b, double q)
{
    double d[CS_NB], total, rank, lo = 0, prev = 0;
    int reset = b->b[CS_NB - 1] < a->b[CS_NB - 1];
    for (int i = 0; i < CS_NB; i++)
        d[i] = reset ? b->b[i] : b->b[i] - a->b[i];
    total = d[CS_NB - 1];
    if (total <= 0)
        return NAN;
    rank = q * total;
    for (int i = 0; i < CS_NB; i++) {
        if (d[i] >= rank) {
            double hi;
            if (i == CS_NB - 1)
                return bounds[CS_NB - 2] * 1000.0;
            hi = bounds[i];
            if (d[i] - prev <= 0)
                return hi * 1000.0;
            return (lo + (hi - lo) * (rank - prev) / (d[i] - prev)) * 1000.0;
        }
        prev = d[i];
        lo = bounds[i];
    }
    return bounds[CS_NB - 2] * 1000.0;
}

/* Sample k back from the newest (0 = newest); caller holds the lock and
 * k < s->n. */
static const cs_sample *back(const cs_stats *s, size_t k)
{
    return &s->ring[(s->head + CS_RING - 1 - k) % CS_RING];
}

static const cs_hist *hist_of(const cs_sample *s, const char *name)
{
    for (int i = 0; i < s->ncl; i++)
        if (strcmp(s->cl[i], name) == 0)
            return &s->bulk[i];
    return NULL;
}

static sc_status put_num(sc_buf *out, double v)
{
    if (!isfinite(v))
        return sc_buf_puts(out, "null");
    return sc_buf_printf(out, "%.3f", v);
}

/* "name":[v0,v1,...] over the ring, each from f (which gets adjacent
 * samples a -> b). */
typedef double (*cs_point_fn)(const cs_sample *a, const cs_sample *b, int arg);

static sc_status series(const cs_stats *s, sc_buf *out, const char *name, cs_point_fn f, int arg,
                        int first)
{
    sc_status st = sc_buf_printf(out, "%s\"%s\":[", first ? "" : ",", name);
    for (size_t k = s->n - 1; st == SC_OK && k >= 1; k--) {
        const cs_sample *a = back(s, k), *b = back(s, k - 1);
        if (k != s->n - 1)
            st = sc_buf_puts(out, ",");
        if (st == SC_OK)
            st = put_num(out, f(a, b, arg));
        if (k == 1)
            break;
    }
    if (st == SC_OK)
        st = sc_buf_puts(out, "]");
    return st;
}

static double dt_s(const cs_sample *a, const cs_sample *b)
{
    double d = (double)(b->t_ms - a->t_ms) / 1000.0;
    return d > 0 ? d : 1;
}
static double pt_time(const cs_sample *a, const cs_sample *b, int arg)
{
    (void)a;
    (void)arg;
    return (double)b->t_ms;
}
static double pt_stage(const cs_sample *a, const cs_sample *b, int i)
{
    if (!a->idx_up || !b->idx_up)
        return NAN;
    return delta(a->stage[i], b->stage[i]) / dt_s(a, b);
}
static double pt_retries(const cs_sample *a, const cs_sample *b, int arg)
{
    (void)arg;
    return a->idx_up && b->idx_up ? delta(a->retries, b->retries) / dt_s(a, b) : NAN;
}
static double pt_lag(const cs_sample *a, const cs_sample *b, int which)
{
    (void)a;
    return !b->idx_up ? NAN : which ? b->pending : b->lag;
}
static double pt_qps(const cs_sample *a, const cs_sample *b, int arg)
{
    (void)arg;
    return a->rt_up && b->rt_up ? delta(a->search.count, b->search.count) / dt_s(a, b) : NAN;
}
static double pt_p99(const cs_sample *a, const cs_sample *b, int arg)
{
    (void)arg;
    if (!a->rt_up || !b->rt_up)
        return NAN;
    return quantile_ms(&a->search, &b->search, 0.99);
}

sc_status cs_stats_pipeline_json(cs_stats *s, sc_buf *out)
{
    sc_status st;
    const cs_sample *now, *then;
    size_t w;
    double dt;
    pthread_mutex_lock(&s->lock);
    st = sc_buf_printf(out, "{\"interval_ms\":%d,\"indexers\":{\"configured\":%zu,\"up\":%d}",
                       s->interval_ms, s->nidx, s->n > 0 ? back(s, 0)->idx_up : 0);
    if (st != SC_OK || s->n < 2 || s->nidx == 0 || back(s, 0)->idx_up == 0) {
        if (st == SC_OK)
            st = sc_buf_puts(out, ",\"rates\":null,\"series\":null,\"clusters\":[]}");
        pthread_mutex_unlock(&s->lock);
        return st;
    }
    w = s->n - 1 < CS_WINDOW ? s->n - 1 : CS_WINDOW;
    now = back(s, 0);
    then = back(s, w);
    dt = dt_s(then, now);
    st = sc_buf_puts(out, ",\"rates\":{");
    for (int i = 0; st == SC_OK && i < CS_NSTAGE; i++)
        st = sc_buf_printf(out, "%s\"%s\":%.2f", i ? "," : "", stages[i],
                           delta(then->stage[i], now->stage[i]) / dt);
    if (st == SC_OK)
        st = sc_buf_printf(out, ",\"retries\":%.2f,\"bulk_errors\":%.2f},\"totals\":{",
                           delta(then->retries, now->retries) / dt,
                           delta(then->bulk_errors, now->bulk_errors) / dt);
    for (int i = 0; st == SC_OK && i < CS_NSTAGE; i++)
        st = sc_buf_printf(out, "%s\"%s\":%.0f", i ? "," : "", stages[i], now->stage[i]);
    if (st == SC_OK)
        st = sc_buf_printf(out, ",\"retries\":%.0f},\"queue\":{\"lag\":%.0f,\"pending\":%.0f}",
                           now->retries, now->lag, now->pending);
    if (st == SC_OK)
        st = sc_buf_puts(out, ",\"clusters\":[");
    for (int i = 0; st == SC_OK && i < now->ncl; i++) {
        const cs_hist *b = &now->bulk[i], *a = hist_of(then, now->cl[i]);
        cs_hist zero;
        memset(&zero, 0, sizeof zero);
        if (a == NULL)
            a = &zero;
        st = sc_buf_printf(out, "%s{\"name\":", i ? "," : "");
        if (st == SC_OK)
            st = sc_buf_json_str(out, now->cl[i]);
        if (st == SC_OK)
            st = sc_buf_printf(out,
                               ",\"bulk_per_s\":%.2f,\"p50_ms\":", delta(a->count, b->count) / dt);
        if (st == SC_OK)
            st = put_num(out, quantile_ms(a, b, 0.5));
        if (st == SC_OK)
            st = sc_buf_puts(out, ",\"p99_ms\":");
        if (st == SC_OK)
            st = put_num(out, quantile_ms(a, b, 0.99));
        if (st == SC_OK)
            st = sc_buf_puts(out, "}");
    }
    if (st == SC_OK)
        st = sc_buf_puts(out, "],\"series\":{");
    if (st == SC_OK)
        st = series(s, out, "t", pt_time, 0, 1);
    for (int i = 0; st == SC_OK && i < CS_NSTAGE; i++)
        st = series(s, out, stages[i], pt_stage, i, 0);
    if (st == SC_OK)
        st = series(s, out, "retries", pt_retries, 0, 0);
    if (st == SC_OK)
        st = series(s, out, "lag", pt_lag, 0, 0);
    if (st == SC_OK)
        st = series(s, out, "pending", pt_lag, 1, 0);
    if (st == SC_OK)
        st = sc_buf_puts(out, "}}");
    pthread_mutex_unlock(&s->lock);
    return st;
}

/* ,"name":{"all":..,"200":..,"202":..,"429":..,"503":..,"partial":..}: the
 * router's answer counts at b, or their increase since a (a non-NULL). */
static sc_status put_counts(sc_buf *out, const char *name, const cs_sample *a, const cs_sample *b)
{
    static const char *const keys[5] = {"all", "202", "429", "503", "200"};
    sc_status st = sc_buf_printf(out, ",\"%s\":{", name);
    for (int i = 0; i < 5 && st == SC_OK; i++)
        st = sc_buf_printf(out, "\"%s\":%.0f,", keys[i],
                           a ? delta(a->req[i], b->req[i]) : b->req[i]);
    if (st == SC_OK)
        st =
            sc_buf_printf(out, "\"partial\":%.0f}", a ? delta(a->partial, b->partial) : b->partial);
    return st;
}

sc_status cs_stats_router_json(cs_stats *s, sc_buf *out)
{
    sc_status st;
    const cs_sample *now, *then, *minute;
    size_t w, wm;
    double dt;
    pthread_mutex_lock(&s->lock);
    st = sc_buf_printf(out, "{\"interval_ms\":%d,\"up\":%s", s->interval_ms,
                       s->n > 0 && back(s, 0)->rt_up ? "true" : "false");
    if (st != SC_OK || s->n < 2 || !back(s, 0)->rt_up) {
        if (st == SC_OK)
            st = sc_buf_puts(out, ",\"qps\":null,\"series\":null}");
        pthread_mutex_unlock(&s->lock);
        return st;
    }
    w = s->n - 1 < CS_WINDOW ? s->n - 1 : CS_WINDOW;
    wm = (size_t)(60000 / s->interval_ms);
    if (wm > s->n - 1)
        wm = s->n - 1;
    now = back(s, 0);
    then = back(s, w);
    minute = back(s, wm);
    dt = dt_s(then, now);
    st = sc_buf_printf(
        out, ",\"qps\":%.2f,\"p50_ms\":", delta(then->search.count, now->search.count) / dt);
    if (st == SC_OK)
        st = put_num(out, quantile_ms(&minute->search, &now->search, 0.5));
    if (st == SC_OK)
        st = sc_buf_puts(out, ",\"p99_ms\":");
    if (st == SC_OK)
        st = put_num(out, quantile_ms(&minute->search, &now->search, 0.99));
    if (st == SC_OK)
        st = put_counts(out, "counts", NULL, now);
    if (st == SC_OK)
        st = put_counts(out, "last_minute", minute, now);
    if (st == SC_OK)
        st = sc_buf_puts(out, ",\"series\":{");
    if (st == SC_OK)
        st = series(s, out, "t", pt_time, 0, 1);
    if (st == SC_OK)
        st = series(s, out, "qps", pt_qps, 0, 0);
    if (st == SC_OK)
        st = series(s, out, "p99_ms", pt_p99, 0, 0);
    if (st == SC_OK)
        st = sc_buf_puts(out, "}}");
    pthread_mutex_unlock(&s->lock);
    return st;
}
