/*
 * rx.h - shared declarations of the `reindex` program (main.c, run.c).
 * Program-only: nothing in libscour includes this.
 */
#ifndef RX_H
#define RX_H

#include "binding.h"
#include "cluster.h"
#include "config.h"
#include "db.h"
#include "metrics.h"
#include "redis.h"
#include "reindex.h"
#include "sc.h"

#include <signal.h>
#include <stdint.h>

/* Set by SIGINT/SIGTERM: finish the current bulk, checkpoint, stop. */
extern volatile sig_atomic_t rx_stop;

/* Command line and config of one invocation. */
typedef struct rx_args {
    sc_config cfg;      /* loaded + validated config (owned) */
    char **words;       /* borrowed from argv: positional words */
    int nwords;         /* entries in words */
    int once;           /* worker --once: process what is queued, then exit */
    int purge_delay_ms; /* --purge-delay-ms: wait between a move's switch and purge */
    int repair;         /* verify --repair: fix what is found */
    int json;           /* verify --json: one JSON object per channel on stdout */
} rx_args;

/* Handles of one thread: PG, Redis, binder and engine (owned), view (ref). */
typedef struct rx_ctx {
    sc_db *db;             /* owned */
    sc_redis *redis;       /* owned */
    sc_binder *binder;     /* owned */
    sc_reindexer *rx;      /* owned */
    sc_cluster_view *view; /* ref: shared by every thread, owned by main */
    char worker[128];      /* "<hostname>-<pid>[-<thread>]" */
} rx_ctx;

/* Open the handles of ctx for cfg with the shared view and schema text.
 * progress may be NULL. Returns 0, or 1 with a message on stderr. */
int rx_ctx_open(rx_ctx *ctx, const rx_args *a, sc_cluster_view *view, const char *schema,
                const char *worker, int progress);
/* Close what rx_ctx_open opened (NULL-safe members). */
void rx_ctx_close(rx_ctx *ctx);

/* Syntax of the command words and flags, before any I/O: 0, or 2 with a
 * message on stderr. */
int rx_args_check(const rx_args *a);
/* Commands; each returns the exit code (0 ok, 1 runtime failure, 2 usage). */
int rx_cmd_start(const rx_args *a, const char *schema,
                 sc_cluster_view *view); /* channel|guild|cluster|all */
int rx_cmd_resume(const rx_args *a, const char *schema, sc_cluster_view *view);
int rx_cmd_worker(const rx_args *a, const char *schema, sc_cluster_view *view);
int rx_cmd_status(const rx_args *a);
/* verify channel ID...|guild ID|cluster NAME|all: 0 all agree, 3 drift found
 * (repaired or not), 1 failure, 2 usage (verify.c). */
int rx_cmd_verify(const rx_args *a, const char *schema, sc_cluster_view *view);

/* The continuous verify sweep of the worker (sweep.c): a thread verifying
 * and repairing verify_rate channels per second until rx_stop. NULL when
 * verify_rate is 0 or on failure. Metrics go to m. */
typedef struct rx_sweep rx_sweep;
rx_sweep *rx_sweep_start(const rx_args *a, const char *schema, sc_cluster_view *view,
                         sc_metrics *m);
/* Wait for the sweep thread (it ends when rx_stop is set) and free it. NULL-safe. */
void rx_sweep_stop(rx_sweep *s);

#endif
