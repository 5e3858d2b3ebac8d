/*
 * reindex/periodic.c - the scaffolding of the worker's background threads
 * (the verify sweep, sweep.c; the big-channel check, promote.c): a thread
 * with handles of its own (rx_ctx, worker name "<host>-<pid>-<role>") that
 * runs one round, sleeps until the round says the next one is due, and ends
 * when the program is asked to stop. What a round does is its owner's.
 */
#include "rx.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

struct rx_periodic {
    const rx_periodic_ops *ops; /* ref: static */
    const rx_args *a;           /* ref */
    const char *schema;         /* ref */
    sc_cluster_view *view;      /* ref */
    void *arg;                  /* ref: the owner's state, passed to ops */
    pthread_t thread;
};

void rx_sleep_until(int64_t until)
{
    for (;;) {
        int64_t left = until - sc_now_ms();
        struct timespec ts;
        if (left <= 0 || sc_prog_stopping())
            return;
        if (left > 100)
            left = 100;
        ts.tv_sec = 0;
        ts.tv_nsec = (long)left * 1000000L;
        nanosleep(&ts, NULL);
    }
}

static void *periodic_main(void *arg)
{
    rx_periodic *p = arg;
    const rx_periodic_ops *o = p->ops;
    char base[128], worker[160];
    rx_ctx ctx;
    int64_t next = sc_now_ms() + o->first_delay_ms;

    rx_worker_name(base, sizeof base, 0);
    snprintf(worker, sizeof worker, "%s-%s", base, o->role);
    if (rx_ctx_open(&ctx, p->a, p->view, p->schema, worker, 0) != 0)
        return NULL;
    if (o->init != NULL && o->init(p->arg, &ctx) != 0) {
        rx_ctx_close(&ctx);
        return NULL;
    }
    while (!sc_prog_stopping()) {
        rx_sleep_until(next);
        if (sc_prog_stopping())
            break;
        next = o->round(p->arg, &ctx);
    }
    if (o->fini != NULL)
        o->fini(p->arg, &ctx);
    rx_ctx_close(&ctx);
    return NULL;
}

rx_periodic *rx_periodic_start(const rx_periodic_ops *ops, const rx_args *a, const char *schema,
                               sc_cluster_view *view, void *arg)
{
    rx_periodic *p = calloc(1, sizeof *p);
    if (p == NULL)
        return NULL;
    p->ops = ops;
    p->a = a;
    p->schema = schema;
    p->view = view;
    p->arg = arg;
    if (pthread_create(&p->thread, NULL, periodic_main, p) != 0) {
        free(p);
        return NULL;
    }
    return p;
}

void rx_periodic_stop(rx_periodic *p)
{
    if (p == NULL)
        return;
    pthread_join(p->thread, NULL);
    free(p);
}
