/*
 * pool.c - the search workers and their admission queue.
 *
 * `workers` threads each own one backend handle set (handles.c) and run one
 * task at a time. A task that finds every worker busy waits in a FIFO of at
 * most `queue_max` tasks; a task still waiting at its deadline is taken out
 * by rt_pool_expire (the HTTP loop calls it every few ms) and answered 503
 * by the caller, as is one that finds the queue full. So the router never
 * holds more than workers + queue_max searches, and nothing waits longer
 * than queue_timeout_ms for a worker.
 *
 * Not here: what a task does (http.c builds it, search.c runs searches).
 */
#include "router.h"

#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rt_pool {
    router *r;            /* ref: owned by main */
    rt_pool_opts o;       /* copy of the options */
    pthread_mutex_t mu;   /* guards everything below */
    pthread_cond_t cv;    /* a task was queued, or stop */
    rt_task *head, *tail; /* FIFO of queued tasks (links: next); not owned */
    size_t queued;        /* tasks in the FIFO */
    size_t running;       /* tasks a worker is running */
    int stop;             /* 1: workers exit once the FIFO is empty */
    pthread_t *tids;      /* owned; o.workers threads */
    int n_started;        /* threads started */
};

static void *worker_main(void *arg)
{
    rt_pool *p = arg;
    rt_thread *t = NULL; /* this worker's handle set, created on first use */
    char err[SC_ERRLEN];
    for (;;) {
        rt_task *task;
        int expired;
        pthread_mutex_lock(&p->mu);
        while (p->head == NULL && !p->stop)
            pthread_cond_wait(&p->cv, &p->mu);
        if (p->head == NULL) {
            pthread_mutex_unlock(&p->mu);
            break;
        }
        task = p->head;
        p->head = task->next;
        if (p->head == NULL)
            p->tail = NULL;
        task->next = NULL;
        p->queued--;
        p->running++;
        pthread_mutex_unlock(&p->mu);

        expired = sc_now_ms() > task->deadline_ms;
        if (!expired) {
            if (t == NULL) {
                t = rt_handles_create(p->r, err, sizeof(err));
                if (t == NULL)
                    log_error("router: worker handles: %s", err);
            }
            task->run(p->r, t, task);
        }
        pthread_mutex_lock(&p->mu);
        p->running--;
        pthread_mutex_unlock(&p->mu);
        p->o.done(p->o.done_arg, task, expired ? RT_TASK_EXPIRED : RT_TASK_RAN);
    }
    rt_handles_free(t);
    return NULL;
}

rt_pool *rt_pool_create(router *r, const rt_pool_opts *o, char *err, size_t errlen)
{
    rt_pool *p;
    if (o->workers < 1 || o->done == NULL) {
        sc_seterr(err, errlen, "pool: need at least one worker and a done callback");
        return NULL;
    }
    p = calloc(1, sizeof(*p));
    if (p == NULL || (p->tids = calloc((size_t)o->workers, sizeof(pthread_t))) == NULL) {
        free(p);
        sc_seterr(err, errlen, "out of memory");
        return NULL;
    }
    p->r = r;
    p->o = *o;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    for (int i = 0; i < o->workers; i++) {
        if (pthread_create(&p->tids[i], NULL, worker_main, p) != 0) {
            sc_seterr(err, errlen, "pool: cannot start worker %d", i);
            rt_pool_free(p);
            return NULL;
        }
        p->n_started++;
    }
    return p;
}

sc_status rt_pool_submit(rt_pool *p, rt_task *task)
{
    pthread_mutex_lock(&p->mu);
    /* room: a worker free now, or a queue slot */
    if (p->stop || p->queued + p->running >= (size_t)p->o.workers + (size_t)p->o.queue_max) {
        pthread_mutex_unlock(&p->mu);
        return SC_ERR;
    }
    task->next = NULL;
    task->deadline_ms = sc_now_ms() + p->o.queue_timeout_ms;
    if (p->tail != NULL)
        p->tail->next = task;
    else
        p->head = task;
    p->tail = task;
    p->queued++;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return SC_OK;
}

size_t rt_pool_expire(rt_pool *p, int64_t now_ms, rt_task **out, size_t max)
{
    size_t n = 0;
    pthread_mutex_lock(&p->mu);
    /* FIFO with one timeout: the oldest task expires first */
    while (p->head != NULL && n < max && p->head->deadline_ms < now_ms) {
        rt_task *task = p->head;
        p->head = task->next;
        if (p->head == NULL)
            p->tail = NULL;
        task->next = NULL;
        p->queued--;
        out[n++] = task;
    }
    pthread_mutex_unlock(&p->mu);
    return n;
}

int rt_pool_cancel(rt_pool *p, rt_task *task)
{
    int found = 0;
    pthread_mutex_lock(&p->mu);
    for (rt_task **pp = &p->head, *prev = NULL; *pp != NULL; prev = *pp, pp = &(*pp)->next) {
        if (*pp == task) {
            *pp = task->next;
            if (p->tail == task)
                p->tail = prev;
            task->next = NULL;
            p->queued--;
            found = 1;
            break;
        }
    }
    pthread_mutex_unlock(&p->mu);
    return found;
}

void rt_pool_stats(rt_pool *p, size_t *queued, size_t *running)
{
    pthread_mutex_lock(&p->mu);
    *queued = p->queued;
    *running = p->running;
    pthread_mutex_unlock(&p->mu);
}

void rt_pool_free(rt_pool *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->n_started; i++)
        pthread_join(p->tids[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->tids);
    free(p);
}
