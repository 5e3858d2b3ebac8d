/*
 * indexer.h - shared declarations of the indexer program: the metrics every
 * worker updates and the per-worker entry point. See docs/indexer.md for the
 * design (delivery, retries, parking, shutdown).
 *
 * Not here: config parsing and process wiring (main.c).
 */
#ifndef SC_INDEXER_H
#define SC_INDEXER_H

#include "cluster.h"
#include "config.h"
#include "metrics.h"
#include "sc.h"

#include <signal.h>
#include <stdint.h>

/* Metric families (owned by the registry in main.c). */
typedef struct ix_metrics {
    sc_metric *events;      /* counter, label stage: read|parsed|bound|sent|acked|dead_lettered|parked */
    sc_metric *bulk_secs;   /* histogram, label cluster: _bulk latency */
    sc_metric *errors;      /* counter, label cluster: failed bulk requests / items to retry */
    sc_metric *retries;     /* counter, label cluster: operations scheduled again */
    sc_metric *dead;        /* counter: entries written to the dead-letter stream */
    sc_metric *lag;         /* gauge: entries not yet delivered to the group */
    sc_metric *pending;     /* gauge: entries delivered but not acked (whole group) */
    sc_metric *inflight;    /* gauge: event bytes read and not yet acked (this process) */
} ix_metrics;

/* What every worker shares (read-only after start, except stop). */
typedef struct ix_shared {
    const sc_config *cfg;         /* ref: validated config */
    sc_cluster_view *view;        /* ref: thread-safe */
    ix_metrics *m;                /* ref */
    const char *schema_json;      /* ref: index settings+mappings */
    const char *consumer_base;    /* ref: consumer name prefix; worker i is "<base>-<i>" */
    volatile sig_atomic_t *stop;  /* ref: set by the signal handler */
} ix_shared;

/* One worker thread's arguments and result. */
typedef struct ix_worker_arg {
    const ix_shared *sh;  /* ref */
    int index;            /* 0-based worker number */
    int failed;           /* out: 1 if the worker could not start */
    char err[SC_ERRLEN];  /* out: why */
} ix_worker_arg;

/* Thread entry: runs until *sh->stop, then drains and returns. */
void *ix_worker_main(void *arg);

#endif
