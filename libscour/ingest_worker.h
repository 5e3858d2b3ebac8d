/*
 * ingest_worker.h - one indexer worker: a consumer of the event stream
 * that feeds the delivery engine (ingest.h) and gives it its real outputs
 * (binder, per-cluster es_clients, queue ack and dead letters). The
 * indexer program runs one per thread. See docs/indexer.md.
 *
 * Not here: what happens to an entry once read (ingest.c), config
 * parsing, signals and the metrics server (indexer/main.c).
 */
#ifndef SC_INGEST_WORKER_H
#define SC_INGEST_WORKER_H

#include "cluster.h"
#include "config.h"
#include "ingest.h"
#include "sc.h"

#include <signal.h>

typedef struct sc_ingest_worker_opts {
    const sc_config *cfg;              /* ref: validated config */
    sc_cluster_view *view;             /* ref: shared, thread-safe */
    const sc_ingest_metrics *metrics;  /* ref, may be NULL */
    const char *schema_json;           /* ref: index settings+mappings */
    const char *consumer;              /* consumer name in the group (copied) */
    int index;                         /* worker number (log context); worker 0
                                           also updates the lag/pending gauges */
    const volatile sig_atomic_t *stop; /* ref: non-zero asks the worker to stop */
} sc_ingest_worker_opts;

/* Run one worker until *stop, then keep delivering what it holds for up
 * to 15 s and return (what is left stays pending for a later run).
 * Each worker owns its Redis, PostgreSQL, binder and es_client handles.
 * Returns SC_OK, or the status of a backend that could not be set up at
 * start with the reason in err. */
sc_status sc_ingest_worker_run(const sc_ingest_worker_opts *o, char *err,
                               size_t errlen) SC_MUST_USE;

#endif
