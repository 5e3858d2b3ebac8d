/*
 * metrics.h - Prometheus metrics: counters, gauges and histograms, each
 * optionally with one label (e.g. cluster="c1"), updated lock-free from any
 * thread and rendered in the text exposition format. Plus a small HTTP
 * server (libmicrohttpd) that serves /metrics and /healthz for programs that
 * have no HTTP server of their own (the indexer).
 *
 * Not here: what to measure; each program registers its own metrics.
 */
#ifndef SC_METRICS_H
#define SC_METRICS_H

#include "buf.h"
#include "sc.h"

#include <stdint.h>

typedef struct sc_metrics sc_metrics; /* a registry */
typedef struct sc_metric sc_metric;   /* one family (name + type + help) */

typedef enum sc_metric_type {
    SC_METRIC_COUNTER = 0,
    SC_METRIC_GAUGE = 1,
    SC_METRIC_HISTOGRAM = 2
} sc_metric_type;

/* Create / free a registry. Families are owned by the registry. */
sc_metrics *sc_metrics_create(void);
void sc_metrics_free(sc_metrics *m);

/* Register a family. label_name may be NULL for an unlabelled metric.
 * Histograms use fixed latency buckets in seconds (1 ms .. 10 s).
 * Returns NULL on allocation failure or a duplicate name. The pointer stays
 * valid until sc_metrics_free. Register at start-up, before threads run. */
sc_metric *sc_metrics_add(sc_metrics *m, sc_metric_type type, const char *name, const char *help,
                          const char *label_name);

/* Updates. label is ignored (may be NULL) for unlabelled families; a new
 * label value creates a series (at most 256 per family; extra ones are
 * folded into label "other"). Thread-safe. */
void sc_metric_add(sc_metric *f, const char *label, double v);           /* counters, gauges */
void sc_metric_set(sc_metric *f, const char *label, double v);           /* gauges */
void sc_metric_observe(sc_metric *f, const char *label, double seconds); /* histograms */
/* Current value of a counter/gauge series (0 if absent); for tests. */
double sc_metric_value(sc_metric *f, const char *label);

/* Render every family in Prometheus text format 0.0.4. */
sc_status sc_metrics_render(sc_metrics *m, sc_buf *out) SC_MUST_USE;

/* Serve GET /metrics and /healthz on addr:port in a background thread pool.
 * port 0 picks a free port; *bound_port gets the real one. */
typedef struct sc_metrics_server sc_metrics_server;
sc_metrics_server *sc_metrics_server_start(sc_metrics *m, const char *addr, int port,
                                           int *bound_port, char *err, size_t errlen);
void sc_metrics_server_stop(sc_metrics_server *s); /* NULL-safe */
/* Readiness: GET /readyz answers 200 when fn returns non-zero, else 503,
 * with the JSON object fn wrote into body. Without one /readyz is 404. fn
 * runs on the server's thread; set it before anyone asks (right after
 * start). ud is borrowed. */
typedef int (*sc_ready_fn)(void *ud, sc_buf *body);
void sc_metrics_server_set_ready(sc_metrics_server *s, sc_ready_fn fn, void *ud);

#endif
