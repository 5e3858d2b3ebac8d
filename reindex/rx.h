/*
 * rx.h - shared declarations of the `reindex` program. Its files, from the
 * ground up: progress.c (the progress display), ctx.c (a thread's handles,
 * the worker name, claiming and running one job), periodic.c (the worker's
 * background threads); the commands start.c, status.c, verify.c,
 * promote.c (with the big-channel check), sweep.c (the verify sweep),
 * worker.c; main.c on top. Each calls only files below it.
 * Program-only: nothing in libscour includes this.
 */
#ifndef RX_H
#define RX_H

#include "binding.h"
#include "cluster.h"
#include "config.h"
#include "db.h"
#include "metrics.h"
#include "prog.h"
#include "redis.h"
#include "reindex.h"
#include "sc.h"

#include <stdint.h>

/* Stopping: SIGINT/SIGTERM set the process's stop flag (sc_prog_stopping,
 * prog.h); every command and thread finishes its current bulk,
 * checkpoints and stops. */

/* Command line and config of one invocation. */
typedef struct rx_args {
    sc_config cfg;      /* loaded + validated config (owned) */
    char **words;       /* borrowed from argv: positional words */
    int nwords;         /* entries in words */
    int once;           /* worker --once: process what is queued, then exit */
    int purge_delay_ms; /* --purge-delay-ms: wait between a move's switch and purge */
    int repair;         /* verify --repair: fix what is found */
    int json;           /* verify --json: one JSON object per channel on stdout */
    int shards;         /* promote --shards N; 0 = big_channel_shards */
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

/* ---- ctx.c ---- */

/* Open the handles of ctx for cfg with the shared view and schema text;
 * with progress, the job's progress is shown on stderr (progress.c).
 * Returns 0, or 1 with a message on stderr. */
int rx_ctx_open(rx_ctx *ctx, const rx_args *a, sc_cluster_view *view, const char *schema,
                const char *worker, int progress);
/* Close what rx_ctx_open opened (NULL-safe members). */
void rx_ctx_close(rx_ctx *ctx);

/* "<hostname>-<pid>[-<thread>]" (thread 0: none) into buf. */
void rx_worker_name(char *buf, size_t len, int thread);
/* Claim job id for this process and run it: the exit code. */
int rx_claim_and_run(rx_ctx *ctx, int64_t id);
/* 0 when name is a valid cluster name the view knows (and live, with
 * need_live); else 2 (unknown, invalid) or 1 (not live), with a message on
 * stderr naming what (e.g. "--to"). */
int rx_check_cluster(sc_cluster_view *view, const char *name, int need_live, const char *what);

/* ---- progress.c ---- */

/* Show the progress of the jobs xo runs on stderr: a bar redrawn in place
 * on a terminal, plain lines otherwise. One display per process (the
 * calling thread's). */
void rx_progress_attach(sc_reindex_opts *xo);

/* ---- periodic.c ---- */

/* What one background thread of the worker does: rounds, each returning
 * the monotonic ms at which the next is due. arg is the owner's state. */
typedef struct rx_periodic_ops {
    const char *role;       /* worker name "<host>-<pid>-<role>" of its handles */
    int64_t first_delay_ms; /* before the first round */
    /* after the handles are open: 0 to go on, else the thread ends (may be NULL) */
    int (*init)(void *arg, rx_ctx *ctx);
    int64_t (*round)(void *arg, rx_ctx *ctx);
    /* after the last round, before the handles close (may be NULL) */
    void (*fini)(void *arg, rx_ctx *ctx);
} rx_periodic_ops;
typedef struct rx_periodic rx_periodic;
/* Start the thread (ops, a, schema, view and arg are refs that must outlive
 * it); it ends when the program stops. NULL when it cannot start. */
rx_periodic *rx_periodic_start(const rx_periodic_ops *ops, const rx_args *a, const char *schema,
                               sc_cluster_view *view, void *arg);
/* Wait for the thread (call sc_prog_stop first) and free it. NULL-safe. */
void rx_periodic_stop(rx_periodic *p);
/* Sleep until monotonic ms until, waking early when the program stops. */
void rx_sleep_until(int64_t until);

/* ---- the commands ---- */

/* Commands; each returns the exit code (0 ok, 1 runtime failure, 2 usage). */
/* channel|guild|cluster|all, and resume JOB (start.c) */
int rx_cmd_start(const rx_args *a, const char *schema, sc_cluster_view *view);
int rx_cmd_resume(const rx_args *a, const char *schema, sc_cluster_view *view);
/* worker [--once] (worker.c) */
int rx_cmd_worker(const rx_args *a, const char *schema, sc_cluster_view *view);
/* status [JOB] (status.c); view (may be NULL) for the promoted channels of
 * the list. */
int rx_cmd_status(const rx_args *a, sc_cluster_view *view);
/* verify channel ID...|guild ID|cluster NAME|all: 0 all agree, 3 drift found
 * (repaired or not), 1 failure, 2 usage (verify.c). */
int rx_cmd_verify(const rx_args *a, const char *schema, sc_cluster_view *view);

/* promote CHANNEL [--shards N] [--to CLUSTER] (promote.c): queue the
 * channel's promotion to an index of its own and run it. */
int rx_cmd_promote(const rx_args *a, const char *schema, sc_cluster_view *view);

/* The worker's big-channel check (promote.c): a thread (periodic.c) that
 * every big_channel_check_s queues a promotion for each channel past
 * big_channel_docs, for the worker's job threads to run. NULL when
 * big_channel_docs is 0 or on failure. */
typedef struct rx_promoter rx_promoter;
rx_promoter *rx_promoter_start(const rx_args *a, const char *schema, sc_cluster_view *view,
                               sc_metrics *m);
/* One check now, in the calling thread (worker --once): the number of
 * promotions queued, or -1 on failure (logged). */
int rx_promote_check_once(const rx_args *a, const char *schema, sc_cluster_view *view);
/* Wait for the thread (it ends when the program stops) and free it.
 * NULL-safe. */
void rx_promoter_stop(rx_promoter *p);

/* The continuous verify sweep of the worker (sweep.c): a thread
 * (periodic.c) verifying and repairing verify_rate channels per second
 * until the program stops. NULL when verify_rate is 0 or on failure.
 * Metrics go to m. */
typedef struct rx_sweep rx_sweep;
rx_sweep *rx_sweep_start(const rx_args *a, const char *schema, sc_cluster_view *view,
                         sc_metrics *m);
/* Wait for the sweep thread (it ends when the program stops) and free it.
 * NULL-safe. */
void rx_sweep_stop(rx_sweep *s);

#endif
