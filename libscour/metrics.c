/*
 * metrics.c - see metrics.h. Series values are doubles stored as atomics
 * (compare-and-swap on the bit pattern) so hot paths never take a lock; the
 * series list of a family grows under a mutex and is append-only.
 */
#include "metrics.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define SC_MAX_SERIES 256
#define SC_NBUCKETS 14
static const double bucket_bounds[SC_NBUCKETS] = {0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                  0.25,  0.5,   1,     2.5,  5,     10,   30};

typedef struct series {
    char label[64];                        /* label value, "" when unlabelled */
    _Atomic uint64_t value;                /* double bits: counter/gauge value, histogram sum */
    _Atomic uint64_t count;                /* histogram observation count */
    _Atomic uint64_t buckets[SC_NBUCKETS]; /* histogram cumulative-by-render counts */
} series;

struct sc_metric {
    sc_metric_type type;
    char name[96];
    char help[160];
    char label_name[32];           /* "" when unlabelled */
    pthread_mutex_t lock;          /* guards growth of series[] */
    _Atomic size_t nseries;        /* published count; entries below are immutable labels */
    series *series[SC_MAX_SERIES]; /* owned */
    struct sc_metric *next;        /* registry list */
};

struct sc_metrics {
    sc_metric *head; /* owned list, in registration order (tail append) */
    sc_metric *tail;
};

sc_metrics *sc_metrics_create(void) { return calloc(1, sizeof(sc_metrics)); }

void sc_metrics_free(sc_metrics *m)
{
    sc_metric *f, *next;
    if (m == NULL)
        return;
    for (f = m->head; f != NULL; f = next) {
        next = f->next;
        for (size_t i = 0; i < f->nseries; i++)
            free(f->series[i]);
        pthread_mutex_destroy(&f->lock);
        free(f);
    }
    free(m);
}

sc_metric *sc_metrics_add(sc_metrics *m, sc_metric_type type, const char *name, const char *help,
                          const char *label_name)
{
    sc_metric *f;
    for (f = m->head; f != NULL; f = f->next)
        if (strcmp(f->name, name) == 0)
            return NULL;
    f = calloc(1, sizeof(*f));
    if (f == NULL)
        return NULL;
    f->type = type;
    snprintf(f->name, sizeof(f->name), "%s", name);
    snprintf(f->help, sizeof(f->help), "%s", help ? help : "");
    snprintf(f->label_name, sizeof(f->label_name), "%s", label_name ? label_name : "");
    pthread_mutex_init(&f->lock, NULL);
    if (m->tail)
        m->tail->next = f;
    else
        m->head = f;
    m->tail = f;
    return f;
}

static series *find_series(sc_metric *f, const char *label)
{
    size_t n, i;
    series *s;
    if (f->label_name[0] == '\0' || label == NULL)
        label = "";
    n = atomic_load(&f->nseries);
    for (i = 0; i < n; i++)
        if (strcmp(f->series[i]->label, label) == 0)
            return f->series[i];
    pthread_mutex_lock(&f->lock);
    n = atomic_load(&f->nseries);
    for (i = 0; i < n; i++) {
        if (strcmp(f->series[i]->label, label) == 0) {
            pthread_mutex_unlock(&f->lock);
            return f->series[i];
        }
    }
    if (n >= SC_MAX_SERIES - 1 && strcmp(label, "other") != 0) {
        pthread_mutex_unlock(&f->lock);
        return find_series(f, "other");
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        pthread_mutex_unlock(&f->lock);
        return NULL;
    }
    snprintf(s->label, sizeof(s->label), "%s", label);
    f->series[n] = s;
    atomic_store(&f->nseries, n + 1);
    pthread_mutex_unlock(&f->lock);
    return s;
}

static double bits_to_d(uint64_t b)
{
    double d;
    memcpy(&d, &b, sizeof(d));
    return d;
}

static uint64_t d_to_bits(double d)
{
    uint64_t b;
    memcpy(&b, &d, sizeof(b));
    return b;
}

static void atomic_add_double(_Atomic uint64_t *p, double v)
{
    uint64_t old = atomic_load(p), nw;
    do {
        nw = d_to_bits(bits_to_d(old) + v);
    } while (!atomic_compare_exchange_weak(p, &old, nw));
}

void sc_metric_add(sc_metric *f, const char *label, double v)
{
    series *s;
    if (f == NULL || (s = find_series(f, label)) == NULL)
        return;
    atomic_add_double(&s->value, v);
}

void sc_metric_set(sc_metric *f, const char *label, double v)
{
    series *s;
    if (f == NULL || (s = find_series(f, label)) == NULL)
        return;
    atomic_store(&s->value, d_to_bits(v));
}

void sc_metric_observe(sc_metric *f, const char *label, double seconds)
{
    series *s;
    int i;
    if (f == NULL || (s = find_series(f, label)) == NULL)
        return;
    for (i = 0; i < SC_NBUCKETS; i++) {
        if (seconds <= bucket_bounds[i]) {
            atomic_fetch_add(&s->buckets[i], 1);
            break;
        }
    }
    atomic_fetch_add(&s->count, 1);
    atomic_add_double(&s->value, seconds);
}

double sc_metric_value(sc_metric *f, const char *label)
{
    size_t n, i;
    if (f == NULL)
        return 0;
    if (f->label_name[0] == '\0' || label == NULL)
        label = "";
    n = atomic_load(&f->nseries);
    for (i = 0; i < n; i++)
        if (strcmp(f->series[i]->label, label) == 0)
            return f->type == SC_METRIC_HISTOGRAM ? (double)atomic_load(&f->series[i]->count)
                                                  : bits_to_d(atomic_load(&f->series[i]->value));
    return 0;
}

/* Label values are escaped per the exposition format. */
static sc_status put_labels(sc_buf *out, const sc_metric *f, const series *s, const char *le)
{
    int have = f->label_name[0] != '\0';
    if (!have && le == NULL)
        return SC_OK;
    if (sc_buf_puts(out, "{") != SC_OK)
        return SC_ENOMEM;
    if (have) {
        if (sc_buf_printf(out, "%s=", f->label_name) != SC_OK ||
            sc_buf_json_str(out, s->label) != SC_OK)
            return SC_ENOMEM;
    }
    if (le != NULL && sc_buf_printf(out, "%sle=\"%s\"", have ? "," : "", le) != SC_OK)
        return SC_ENOMEM;
    return sc_buf_puts(out, "}");
}

sc_status sc_metrics_render(sc_metrics *m, sc_buf *out)
{
    static const char *const tnames[] = {"counter", "gauge", "histogram"};
    for (sc_metric *f = m->head; f != NULL; f = f->next) {
        size_t n = atomic_load(&f->nseries);
        if (sc_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name,
                          tnames[f->type]) != SC_OK)
            return SC_ENOMEM;
        if (n == 0 && f->label_name[0] == '\0' && f->type != SC_METRIC_HISTOGRAM) {
            if (sc_buf_printf(out, "%s 0\n", f->name) != SC_OK)
                return SC_ENOMEM;
            continue;
        }
        for (size_t i = 0; i < n; i++) {
            series *s = f->series[i];
            if (f->type != SC_METRIC_HISTOGRAM) {
                if (sc_buf_puts(out, f->name) != SC_OK || put_labels(out, f, s, NULL) != SC_OK ||
                    sc_buf_printf(out, " %.17g\n", bits_to_d(atomic_load(&s->value))) != SC_OK)
                    return SC_ENOMEM;
                continue;
            }
            uint64_t cum = 0;
            char le[32];
            for (int b = 0; b < SC_NBUCKETS; b++) {
                cum += atomic_load(&s->buckets[b]);
                snprintf(le, sizeof(le), "%g", bucket_bounds[b]);
                if (sc_buf_printf(out, "%s_bucket", f->name) != SC_OK ||
                    put_labels(out, f, s, le) != SC_OK ||
                    sc_buf_printf(out, " %llu\n", (unsigned long long)cum) != SC_OK)
                    return SC_ENOMEM;
            }
            uint64_t cnt = atomic_load(&s->count);
            if (sc_buf_printf(out, "%s_bucket", f->name) != SC_OK ||
                put_labels(out, f, s, "+Inf") != SC_OK ||
                sc_buf_printf(out, " %llu\n%s_sum", (unsigned long long)cnt, f->name) != SC_OK ||
                put_labels(out, f, s, NULL) != SC_OK ||
                sc_buf_printf(out, " %.17g\n%s_count", bits_to_d(atomic_load(&s->value)),
                              f->name) != SC_OK ||
                put_labels(out, f, s, NULL) != SC_OK ||
                sc_buf_printf(out, " %llu\n", (unsigned long long)cnt) != SC_OK)
                return SC_ENOMEM;
        }
    }
    return SC_OK;
}

struct sc_metrics_server {
    struct MHD_Daemon *d; /* owned */
    sc_metrics *m;        /* ref: owned by the program */
    sc_ready_fn ready;    /* /readyz, or NULL (404) */
    void *ready_ud;       /* ref: its argument */
};

static enum MHD_Result serve(void *cls, struct MHD_Connection *c, const char *url,
                             const char *method, const char *version, const char *upload,
                             size_t *upload_len, void **ptr)
{
    sc_metrics_server *s = cls;
    struct MHD_Response *r;
    enum MHD_Result ret;
    sc_buf b;
    unsigned code = MHD_HTTP_OK;
    SC_UNUSED(version);
    SC_UNUSED(upload);
    SC_UNUSED(upload_len);
    SC_UNUSED(ptr);
    sc_status st;
    sc_buf_init(&b, 0);
    if (strcmp(method, "GET") != 0) {
        code = MHD_HTTP_METHOD_NOT_ALLOWED;
        st = sc_buf_puts(&b, "{\"message\":\"method not allowed\",\"code\":405}\n");
    } else if (strcmp(url, "/metrics") == 0) {
        st = sc_metrics_render(s->m, &b);
    } else if (strcmp(url, "/healthz") == 0) {
        st = sc_buf_puts(&b, "{\"status\":\"ok\"}\n");
    } else if (strcmp(url, "/readyz") == 0 && s->ready != NULL) {
        st = SC_OK;
        if (!s->ready(s->ready_ud, &b))
            code = MHD_HTTP_SERVICE_UNAVAILABLE;
    } else {
        code = MHD_HTTP_NOT_FOUND;
        st = sc_buf_puts(&b, "{\"message\":\"not found\",\"code\":404}\n");
    }
    if (st != SC_OK) {
        code = MHD_HTTP_INTERNAL_SERVER_ERROR;
        sc_buf_reset(&b);
    }
    r = MHD_create_response_from_buffer(b.len, b.data ? b.data : (char *)"", MHD_RESPMEM_MUST_COPY);
    sc_buf_free(&b);
    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type",
                            strcmp(url, "/metrics") == 0 ? "text/plain; version=0.0.4"
                                                         : "application/json");
    ret = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return ret;
}

sc_metrics_server *sc_metrics_server_start(sc_metrics *m, const char *addr, int port,
                                           int *bound_port, char *err, size_t errlen)
{
    struct sockaddr_in sa;
    sc_metrics_server *s = calloc(1, sizeof(*s));
    const union MHD_DaemonInfo *info;
    if (s == NULL) {
        sc_seterr(err, errlen, "out of memory");
        return NULL;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, addr ? addr : "127.0.0.1", &sa.sin_addr) != 1) {
        sc_seterr(err, errlen, "metrics: bad listen address '%s'", addr);
        free(s);
        return NULL;
    }
    s->m = m;
    s->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, (uint16_t)port, NULL,
                            NULL, serve, s, MHD_OPTION_SOCK_ADDR, &sa,
                            MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
    if (s->d == NULL) {
        sc_seterr(err, errlen, "metrics: cannot listen on %s:%d", addr ? addr : "127.0.0.1", port);
        free(s);
        return NULL;
    }
    info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    if (bound_port)
        *bound_port = info ? (int)info->port : port;
    return s;
}

void sc_metrics_server_set_ready(sc_metrics_server *s, sc_ready_fn fn, void *ud)
{
    if (s == NULL)
        return;
    s->ready_ud = ud;
    s->ready = fn;
}

void sc_metrics_server_stop(sc_metrics_server *s)
{
    if (s == NULL)
        return;
    MHD_stop_daemon(s->d);
    free(s);
}
