/*
 * indexer/main.c - the `indexer` program: parse config, build the cluster
 * view and the metrics registry/server, run `workers` worker threads
 * (libscour/ingest_worker.c, around the engine in libscour/ingest.c) until
 * SIGTERM/SIGINT, then let them drain and exit 0.
 *
 * Exit codes: 0 clean stop, 1 runtime failure (a backend unreachable at
 * start), 2 usage/config error.
 */
#include "cluster.h"
#include "config.h"
#include "ingest_worker.h"
#include "log.h"
#include "metrics.h"
#include "prog.h"
#include "sc.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* One worker thread's arguments and result. */
typedef struct ix_thread {
    sc_ingest_worker_opts o; /* what the worker runs with */
    char consumer[320];      /* "<base>-<i>", o.consumer points here */
    int failed;              /* out: 1 if the worker could not start */
    char err[SC_ERRLEN];     /* out: why */
} ix_thread;

static void *worker_thread(void *arg)
{
    ix_thread *t = arg;
    if (sc_ingest_worker_run(&t->o, t->err, sizeof t->err) != SC_OK) {
        t->failed = 1;
        sc_prog_stop(); /* the process cannot run short of a worker */
    }
    return NULL;
}

/* Read a whole file (schema). NULL with the reason in err. */
static char *read_file(const char *path, char *err, size_t errlen)
{
    sc_buf b;
    sc_status st;
    sc_buf_init(&b, 16u << 20);
    st = sc_buf_read_file(&b, path);
    if (st != SC_OK) {
        if (st == SC_ENOMEM)
            sc_seterr(err, errlen, "%s: too large", path);
        else
            sc_seterr(err, errlen, "%s: %s", path, strerror(errno));
        sc_buf_free(&b);
        return NULL;
    }
    if (b.len == 0) {
        sc_seterr(err, errlen, "%s: empty", path);
        sc_buf_free(&b);
        return NULL;
    }
    return sc_buf_steal(&b);
}

static int add_metrics(sc_metrics *reg, sc_ingest_metrics *m)
{
    m->events = sc_metrics_add(
        reg, SC_METRIC_COUNTER, "scour_indexer_events_total",
        "Events through each stage (read, parsed, bound, sent, acked, dead_lettered, parked)",
        "stage");
    m->bulk_secs = sc_metrics_add(reg, SC_METRIC_HISTOGRAM, "scour_indexer_bulk_seconds",
                                  "Latency of _bulk requests per cluster", "cluster");
    m->errors = sc_metrics_add(reg, SC_METRIC_COUNTER, "scour_indexer_bulk_errors_total",
                               "Failed bulk requests or requests with items to retry, per cluster",
                               "cluster");
    m->retries = sc_metrics_add(reg, SC_METRIC_COUNTER, "scour_indexer_retries_total",
                                "Operations scheduled to be sent again, per cluster", "cluster");
    m->dead = sc_metrics_add(reg, SC_METRIC_COUNTER, "scour_indexer_dead_letters_total",
                             "Entries written to the dead-letter stream", NULL);
    m->lag = sc_metrics_add(reg, SC_METRIC_GAUGE, "scour_indexer_queue_lag",
                            "Stream entries not yet delivered to the consumer group", NULL);
    m->pending = sc_metrics_add(reg, SC_METRIC_GAUGE, "scour_indexer_queue_pending",
                                "Stream entries delivered to the group but not acknowledged", NULL);
    m->inflight = sc_metrics_add(reg, SC_METRIC_GAUGE, "scour_indexer_inflight_bytes",
                                 "Event bytes read and not yet acknowledged by this process", NULL);
    m->redis_up = sc_metrics_add(reg, SC_METRIC_GAUGE, "scour_indexer_redis_up",
                                 "1 when the last read from the stream worked, else 0", NULL);
    return m->events && m->bulk_secs && m->errors && m->retries && m->dead && m->lag &&
           m->pending && m->inflight && m->redis_up;
}

/* /readyz: ready while the workers can read the stream. */
static int ready(void *ud, sc_buf *body)
{
    const sc_ingest_metrics *m = ud;
    int up = sc_metric_value(m->redis_up, NULL) >= 1;
    if (sc_buf_printf(body, "{\"ready\":%s,\"redis\":%s}\n", up ? "true" : "false",
                      up ? "true" : "false") != SC_OK)
        return 0;
    return up;
}

int main(int argc, char **argv)
{
    sc_config cfg;
    sc_buf msg;
    sc_prog_action act;
    static const sc_prog_opts prog = {
        .name = "indexer",
        .program = SC_PROG_INDEXER,
        .usage = "usage: indexer [options]\n"
                 "Drain the message event stream into the search clusters.\n",
        .version = "indexer (scour) 0.1",
        .no_args = true,
        .args_hint = " (see --help)",
        .check_dump = true,
        .signals = SC_PROG_SIGNALS_FLAG,
    };
    char err[1024] = "";
    char consumer[300];
    char *schema = NULL;
    sc_cluster_view *view = NULL;
    sc_cluster_view_opts vo;
    sc_metrics *reg = NULL;
    sc_metrics_server *srv = NULL;
    sc_ingest_metrics m;
    ix_thread *args = NULL;
    pthread_t *th = NULL;
    int i, rc = 0, started = 0;

    act = sc_prog_start(&prog, argc, argv, &cfg, NULL, &msg);
    fputs(msg.data != NULL ? msg.data : "", act == SC_PROG_EXIT_OK ? stdout : stderr);
    sc_buf_free(&msg);
    if (act != SC_PROG_RUN)
        return (int)act;

    schema = read_file(cfg.index_schema, err, sizeof err);
    if (schema == NULL) {
        fprintf(stderr, "indexer: index_schema: %s\n", err);
        sc_config_free(&cfg);
        return 2;
    }
    if (cfg.consumer[0] != '\0') {
        snprintf(consumer, sizeof consumer, "%s", cfg.consumer);
    } else {
        char host[200] = "host";
        (void)gethostname(host, sizeof host - 1);
        snprintf(consumer, sizeof consumer, "%s-%d", host, (int)getpid());
    }

    memset(&vo, 0, sizeof vo);
    vo.etcd_url = cfg.etcd_url;
    vo.ns = cfg.namespace;
    vo.static_list = cfg.clusters;
    vo.etcd_timeout_ms = cfg.es_connect_timeout_ms > 1000 ? cfg.es_connect_timeout_ms : 1000;
    view = sc_cluster_view_create(&vo, err, sizeof err);
    if (view == NULL) {
        fprintf(stderr, "indexer: cluster view: %s\n", err);
        rc = 1;
        goto out;
    }
    reg = sc_metrics_create();
    memset(&m, 0, sizeof m);
    if (reg == NULL || !add_metrics(reg, &m)) {
        fprintf(stderr, "indexer: cannot create metrics\n");
        rc = 1;
        goto out;
    }
    if (cfg.metrics_port > 0) {
        int bound = 0;
        srv = sc_metrics_server_start(reg, "0.0.0.0", cfg.metrics_port, &bound, err, sizeof err);
        if (srv == NULL) {
            fprintf(stderr, "indexer: metrics server on port %d: %s\n", cfg.metrics_port, err);
            rc = 1;
            goto out;
        }
        sc_metrics_server_set_ready(srv, ready, &m);
        log_info("indexer: metrics on port %d", bound);
    }


    args = calloc((size_t)cfg.workers, sizeof *args);
    th = calloc((size_t)cfg.workers, sizeof *th);
    if (args == NULL || th == NULL) {
        fprintf(stderr, "indexer: out of memory\n");
        rc = 1;
        goto out;
    }
    log_info("indexer: %d workers, consumer %s, stream %s, group %s", cfg.workers, consumer,
             cfg.stream, cfg.group);
    for (i = 0; i < cfg.workers; i++) {
        snprintf(args[i].consumer, sizeof args[i].consumer, "%s-%d", consumer, i);
        args[i].o.cfg = &cfg;
        args[i].o.view = view;
        args[i].o.metrics = &m;
        args[i].o.schema_json = schema;
        args[i].o.consumer = args[i].consumer;
        args[i].o.index = i;
        args[i].o.stop = sc_prog_stop_flag();
        if (pthread_create(&th[i], NULL, worker_thread, &args[i]) != 0) {
            fprintf(stderr, "indexer: cannot start worker %d\n", i);
            sc_prog_stop();
            rc = 1;
            break;
        }
        started++;
    }
    for (i = 0; i < started; i++) {
        pthread_join(th[i], NULL);
        if (args[i].failed) {
            fprintf(stderr, "indexer: worker %d: %s\n", i, args[i].err);
            sc_prog_stop();
            rc = 1;
        }
    }
    log_info("indexer: stopped");
out:
    sc_metrics_server_stop(srv);
    sc_metrics_free(reg);
    sc_cluster_view_free(view);
    free(args);
    free(th);
    free(schema);
    sc_config_free(&cfg);
    return rc;
}
