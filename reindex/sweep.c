/*
 * reindex/sweep.c - the continuous verify sweep of `reindex worker`: a
 * thread (periodic.c) that claims the longest-unverified channels bound to
 * the clusters this worker knows (sc_db_verify_next), verifies and repairs
 * each with the verify engine (libscour/verify.h) at verify_rate channels
 * per second, records the result in PostgreSQL (sc_db_verify_mark) and
 * counts it in the metrics. Why the worker and not the agent: a repair is a
 * reindex of a few ranges through the same writer, PostgreSQL connection and
 * cluster clients the worker already has, and it may take seconds; the
 * agent keeps etcd leases alive and must stay light and punctual.
 */
#include "rx.h"

#include "log.h"
#include "verify.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SWEEP_CLAIM_S 300   /* a claimed channel is free again after this */
#define SWEEP_BATCH_MAX 100 /* channels claimed at once */

struct rx_sweep {
    sc_metric *channels;   /* ref: scour_verify_channels_total{result} */
    sc_metric *drift;      /* ref: scour_verify_drift_docs_total{kind} */
    sc_metric *seconds;    /* ref: scour_verify_sweep_seconds */
    sc_cluster_view *view; /* ref */
    int rate;              /* verify_rate: channels per second */
    sc_verifier *v;        /* owned by the thread (sweep_init .. sweep_fini) */
    int64_t started;       /* wall ms the thread started at */
    rx_periodic *thread;   /* owned */
};

/* Names of the live clusters of the view (malloc'd array of pointers into
 * *infos; free both). */
static size_t live_clusters(sc_cluster_view *view, sc_cluster_info **infos, const char ***names)
{
    size_t n = 0, i, k = 0;
    *infos = NULL;
    *names = NULL;
    if (sc_cluster_view_list(view, infos, &n) != SC_OK)
        return 0;
    *names = calloc(n + 1, sizeof **names);
    if (*names == NULL)
        return 0;
    for (i = 0; i < n; i++)
        if ((*infos)[i].live)
            (*names)[k++] = (*infos)[i].name;
    return k;
}

static void record(rx_sweep *s, const sc_verify_result *r)
{
    sc_metric_add(s->channels, sc_verify_outcome_str(r->outcome), 1);
    sc_metric_add(s->drift, "missing", (double)r->missing);
    sc_metric_add(s->drift, "extra", (double)r->extra);
    sc_metric_add(s->drift, "stale", (double)r->stale);
    sc_metric_add(s->drift, "stale_copy", (double)r->stale_copy_docs);
}

/* The verifier over the thread's handles, once they are open. */
static int sweep_init(void *arg, rx_ctx *ctx)
{
    rx_sweep *s = arg;
    char err[SC_ERRLEN];
    sc_verify_opts vo;
    s->started = sc_wall_ms();
    memset(&vo, 0, sizeof vo);
    vo.db = ctx->db;
    vo.rx = ctx->rx;
    vo.view = s->view;
    vo.repair = 1;
    vo.stop = sc_prog_stop_flag();
    s->v = sc_verifier_create(&vo, err, sizeof err);
    if (s->v == NULL) {
        log_error("verify sweep: %s", err);
        return 1;
    }
    log_info("verify sweep: %d channel(s) per second", s->rate);
    return 0;
}

/* One batch: claim up to rate channels, verify and repair each, no faster
 * than rate per second. Returns when the next batch is due. */
static int64_t sweep_round(void *arg, rx_ctx *ctx)
{
    rx_sweep *s = arg;
    sc_verifier *v = s->v;
    int rate = s->rate;
    sc_cluster_info *infos = NULL;
    const char **names = NULL;
    uint64_t *ch = NULL;
    size_t nch = 0, i, ncl = live_clusters(s->view, &infos, &names);
    int64_t t0 = sc_now_ms();
    sc_verify_progress pr;
    sc_status st = SC_OK;
    if (ncl > 0)
        st = sc_db_verify_next(ctx->db, names, ncl, rate < SWEEP_BATCH_MAX ? rate : SWEEP_BATCH_MAX,
                               SWEEP_CLAIM_S, &ch, &nch);
    free(names);
    free(infos);
    if (st != SC_OK)
        log_warn("verify sweep: claim: %s", sc_db_errstr(ctx->db));
    for (i = 0; i < nch && !sc_prog_stopping(); i++) {
        sc_verify_result r;
        /* channel i of the batch starts no earlier than i/rate s after t0 */
        rx_sleep_until(t0 + (int64_t)i * 1000 / rate);
        if (sc_prog_stopping())
            break;
        st = sc_verify_channel(v, ch[i], &r);
        if (st != SC_OK) {
            sc_metric_add(s->channels, "error", 1);
            log_warn("verify sweep: channel %" PRIu64 ": %s", ch[i], sc_verifier_errstr(v));
            if (sc_db_verify_mark(ctx->db, ch[i], "error", 0, sc_verifier_errstr(v)) != SC_OK)
                log_warn("verify sweep: record: %s", sc_db_errstr(ctx->db));
            continue;
        }
        record(s, &r);
        if (r.outcome != SC_VERIFY_AGREE)
            log_info("verify sweep: channel %" PRIu64 ": %s: %" PRId64 " missing, %" PRId64
                     " extra, %" PRId64 " stale, %" PRId64 " in stale copies; %" PRId64
                     " rewritten, %" PRId64 " purged",
                     ch[i], sc_verify_outcome_str(r.outcome), r.missing, r.extra, r.stale,
                     r.stale_copy_docs, r.rewritten, r.purged);
        if (sc_db_verify_mark(ctx->db, ch[i], sc_verify_outcome_str(r.outcome),
                              r.missing + r.extra + r.stale + r.stale_copy_docs, NULL) != SC_OK)
            log_warn("verify sweep: record: %s", sc_db_errstr(ctx->db));
    }
    free(ch);
    /* the period of a full sweep: age of the oldest verification (since
     * this sweep started while some channel was never verified) */
    if (sc_db_verify_progress(ctx->db, 86400, &pr) == SC_OK && pr.channels > 0) {
        int64_t oldest =
            pr.verified_ever < pr.channels || pr.oldest_ms == 0 ? s->started : pr.oldest_ms;
        sc_metric_set(s->seconds, NULL, (double)(sc_wall_ms() - oldest) / 1000.0);
    }
    /* a short batch: wait out the rest of its second (nothing to do) */
    return t0 + (nch > 0 ? (int64_t)nch * 1000 / rate : 1000);
}

static void sweep_fini(void *arg, rx_ctx *ctx)
{
    rx_sweep *s = arg;
    (void)ctx;
    sc_verifier_free(s->v);
    s->v = NULL;
}

static const rx_periodic_ops sweep_ops = {
    .role = "sweep",
    .init = sweep_init,
    .round = sweep_round,
    .fini = sweep_fini,
};

rx_sweep *rx_sweep_start(const rx_args *a, const char *schema, sc_cluster_view *view, sc_metrics *m)
{
    rx_sweep *s;
    if (a->cfg.verify_rate <= 0)
        return NULL;
    s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->view = view;
    s->rate = a->cfg.verify_rate;
    s->channels = sc_metrics_add(
        m, SC_METRIC_COUNTER, "scour_verify_channels_total",
        "channels verified by the sweep, by result (agree, drift, repaired, error)", "result");
    s->drift = sc_metrics_add(
        m, SC_METRIC_COUNTER, "scour_verify_drift_docs_total",
        "documents found drifting by the sweep, by kind (missing, extra, stale, stale_copy)",
        "kind");
    s->seconds = sc_metrics_add(
        m, SC_METRIC_GAUGE, "scour_verify_sweep_seconds",
        "age of the oldest verification of a bound channel: the period of a full sweep", NULL);
    if (s->channels == NULL || s->drift == NULL || s->seconds == NULL) {
        free(s);
        return NULL;
    }
    if ((s->thread = rx_periodic_start(&sweep_ops, a, schema, view, s)) == NULL) {
        free(s);
        return NULL;
    }
    return s;
}

void rx_sweep_stop(rx_sweep *s)
{
    if (s == NULL)
        return;
    rx_periodic_stop(s->thread);
    free(s);
}
