/*
 * reindex/worker.c - `reindex worker [--once]`: job_workers threads that
 * claim queued jobs (also those queued by self-healing and by the
 * big-channel check) and run them until the program is asked to stop, or
 * with --once until the queue is empty; beside them the verify sweep
 * (sweep.c), the big-channel check (promote.c) and the metrics server.
 * The worker's threads log; they show no progress.
 */
#include "rx.h"

#include "log.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* One job thread's arguments and result. */
typedef struct rx_worker_arg {
    const rx_args *a;      /* ref */
    const char *schema;    /* ref */
    sc_cluster_view *view; /* ref */
    int thread;            /* 1-based thread number */
    int rc;                /* result: 0 ok, 1 setup failed or a job failed */
} rx_worker_arg;

static void *worker_main(void *p)
{
    rx_worker_arg *w = p;
    char name[128];
    rx_ctx ctx;
    int64_t idle_logged = 0;
    rx_worker_name(name, sizeof name, w->a->cfg.job_workers > 1 ? w->thread : 0);
    if (rx_ctx_open(&ctx, w->a, w->view, w->schema, name, 0) != 0) {
        w->rc = 1;
        return NULL;
    }
    while (!sc_prog_stopping()) {
        sc_job job;
        sc_reindex_result res;
        sc_status st = sc_db_job_claim(ctx.db, ctx.worker, NULL, SC_REINDEX_STALE_S, &job);
        if (st == SC_ENOTFOUND) {
            if (w->a->once)
                break;
            if (sc_now_ms() - idle_logged > 60000) {
                log_debug("reindex worker %s: no queued jobs", ctx.worker);
                idle_logged = sc_now_ms();
            }
            sleep(1);
            continue;
        }
        if (st != SC_OK) {
            log_error("reindex worker %s: claim: %s", ctx.worker, sc_db_errstr(ctx.db));
            if (w->a->once) {
                w->rc = 1;
                break;
            }
            sleep(2);
            continue;
        }
        log_info("reindex worker %s: job %" PRId64 " (%s %s%s%s) claimed", ctx.worker, job.id,
                 job.kind, job.target, job.to_cluster[0] ? " to " : "", job.to_cluster);
        st = sc_reindex_run_job(ctx.rx, &job, &res);
        if (st != SC_OK) {
            log_error("reindex worker %s: job %" PRId64 " failed: %s", ctx.worker, job.id,
                      sc_reindexer_errstr(ctx.rx));
            w->rc = 1;
        } else if (!res.interrupted && !res.lost) {
            log_info("reindex worker %s: job %" PRId64 " done: %" PRId64 " channels, %" PRId64
                     " messages copied; this run: %" PRId64 " written, %" PRId64
                     " already newer, %" PRId64 " channels",
                     ctx.worker, job.id, res.job_channels, res.job_done, res.written, res.conflicts,
                     res.channels);
        }
    }
    rx_ctx_close(&ctx);
    return NULL;
}

int rx_cmd_worker(const rx_args *a, const char *schema, sc_cluster_view *view)
{
    int n = a->cfg.job_workers, i, rc = 0;
    rx_worker_arg *w;
    pthread_t *t;
    sc_metrics *reg = NULL;
    sc_metrics_server *srv = NULL;
    rx_sweep *sweep = NULL;
    rx_promoter *promoter = NULL;
    if (a->nwords != 1) {
        fprintf(stderr, "reindex worker: unexpected argument '%s'\n", a->words[1]);
        return 2;
    }
    w = calloc((size_t)n, sizeof *w);
    t = calloc((size_t)n, sizeof *t);
    reg = sc_metrics_create();
    if (w == NULL || t == NULL || reg == NULL) {
        free(w);
        free(t);
        sc_metrics_free(reg);
        return 1;
    }
    /* the verify sweep runs beside the jobs (not with --once, which ends
     * when the queue is empty) */
    if (!a->once && a->cfg.verify_rate > 0) {
        sweep = rx_sweep_start(a, schema, view, reg);
        if (sweep == NULL)
            fprintf(stderr, "reindex worker: the verify sweep could not start\n");
    }
    /* the big-channel check: a thread beside the jobs, or (--once) one
     * check now so that what it queues runs in this same call */
    if (a->cfg.big_channel_docs > 0) {
        if (!a->once) {
            promoter = rx_promoter_start(a, schema, view, reg);
            if (promoter == NULL)
                fprintf(stderr, "reindex worker: the big-channel check could not start\n");
        } else if (rx_promote_check_once(a, schema, view) < 0) {
            fprintf(stderr, "reindex worker: the big-channel check failed (see the log)\n");
        }
    }
    if (a->cfg.metrics_port != 0) {
        char err[SC_ERRLEN];
        int bound = 0;
        srv = sc_metrics_server_start(reg, "0.0.0.0", a->cfg.metrics_port, &bound, err, sizeof err);
        if (srv == NULL)
            fprintf(stderr, "reindex worker: metrics: %s\n", err);
    }
    for (i = 0; i < n; i++) {
        w[i].a = a;
        w[i].schema = schema;
        w[i].view = view;
        w[i].thread = i + 1;
        if (n == 1) {
            worker_main(&w[i]);
        } else if (pthread_create(&t[i], NULL, worker_main, &w[i]) != 0) {
            fprintf(stderr, "reindex worker: cannot start thread %d\n", i + 1);
            sc_prog_stop();
            n = i;
            rc = 1;
            break;
        }
    }
    if (a->cfg.job_workers > 1)
        for (i = 0; i < n; i++)
            pthread_join(t[i], NULL);
    for (i = 0; i < n; i++)
        if (w[i].rc != 0)
            rc = 1;
    sc_prog_stop(); /* the jobs are over (signal or --once): the sweep too */
    rx_sweep_stop(sweep);
    rx_promoter_stop(promoter);
    sc_metrics_server_stop(srv);
    sc_metrics_free(reg);
    free(w);
    free(t);
    return rc;
}
