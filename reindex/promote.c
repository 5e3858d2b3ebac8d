/*
 * reindex/promote.c - big channels in the `reindex` program:
 *   - `reindex promote CHANNEL [--shards N] [--to CLUSTER]` queues the
 *     channel's promotion to an index of its own (promote.h) and runs it;
 *   - the worker's check, a thread (periodic.c) that every
 *     big_channel_check_s looks for channels past big_channel_docs and
 *     queues their promotions, which the worker's job threads then run like
 *     any job.
 * The promoted channels that `reindex status` shows are status.c's.
 * Why the worker and not the agent: a promotion is a reindex job, and the
 * worker already holds the engine, the cluster clients and the job queue;
 * the agent keeps etcd leases alive and must stay light and punctual.
 */
#include "rx.h"

#include "index_name.h"
#include "log.h"
#include "promote.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ by hand */

int rx_cmd_promote(const rx_args *a, const char *schema, sc_cluster_view *view)
{
    const char *to = a->cfg.to[0] ? a->cfg.to : NULL;
    int shards = a->shards > 0 ? a->shards : a->cfg.big_channel_shards;
    char worker[128], err[SC_ERRLEN];
    uint64_t ch;
    int64_t docs = 0;
    sc_promote_req rq;
    sc_promote_out po;
    rx_ctx ctx;
    int rc;

    if (a->nwords != 2 || sc_parse_u64(a->words[1], &ch) != SC_OK || ch == 0 || ch > INT64_MAX) {
        fprintf(stderr, "reindex promote: give exactly one channel id (reindex promote CHANNEL "
                        "[--shards N] [--to CLUSTER])\n");
        return 2;
    }
    if (to != NULL && (rc = rx_check_cluster(view, to, 1, "--to")) != 0)
        return rc;
    rx_worker_name(worker, sizeof worker, 0);
    if ((rc = rx_ctx_open(&ctx, a, view, schema, worker, 1)) != 0)
        return rc;
    if (sc_db_count_messages(ctx.db, ch, 0, &docs) != SC_OK)
        docs = 0; /* only the pick's credit */
    if (a->cfg.dry_run) {
        sc_binding b;
        sc_status st = sc_db_binding_get(ctx.db, ch, &b);
        char own[128];
        if (st != SC_OK && st != SC_ENOTFOUND) {
            fprintf(stderr, "reindex: binding of %" PRIu64 ": %s\n", ch, sc_db_errstr(ctx.db));
            rc = 1;
            goto out;
        }
        if (sc_index_name_channel(a->cfg.index_name, ch, own, sizeof own, err, sizeof err) !=
            SC_OK) {
            fprintf(stderr, "reindex promote: %s\n", err);
            rc = 2;
            goto out;
        }
        printf(
            "dry run: promote channel %" PRIu64 " (%s%s%s%s%s), %" PRId64
            " messages, to %s/%s with %d primary shards (%s); nothing was changed\n",
            ch, st == SC_OK ? b.cluster : "unbound", st == SC_OK ? "/" : "",
            st == SC_OK ? b.index : "", st == SC_OK ? ", " : "",
            st == SC_OK ? sc_binding_state_str(b.state) : "", docs,
            to != NULL ? to : "(most free room)", own, shards,
            sc_promote_check_str(sc_promote_classify(st == SC_OK ? &b : NULL, a->cfg.index_name)));
        rc = 0;
        goto out;
    }
    memset(&rq, 0, sizeof rq);
    rq.db = ctx.db;
    rq.binder = ctx.binder;
    rq.base = a->cfg.index_name;
    rq.channel_id = ch;
    rq.shards = shards;
    rq.to = to;
    rq.docs = docs;
    rq.recent_days = a->cfg.recent_days;
    if (sc_promote_queue(&rq, &po, err, sizeof err) != SC_OK) {
        fprintf(stderr, "reindex promote: %s\n", err);
        rc = 1;
        goto out;
    }
    switch (po.check) {
    case SC_PROMOTE_UNBOUND:
        fprintf(stderr,
                "reindex promote: channel %" PRIu64
                " has no binding (nothing indexed): nothing to promote; no job created\n",
                ch);
        rc = 2;
        goto out;
    case SC_PROMOTE_ALREADY:
        fprintf(stderr,
                "reindex promote: channel %" PRIu64
                " already has its own index %s on %s: nothing to promote; no job created\n",
                ch, po.binding.index, po.binding.cluster);
        rc = 2;
        goto out;
    case SC_PROMOTE_BUSY:
        if (po.job_id > 0)
            fprintf(stderr,
                    "reindex promote: channel %" PRIu64 " (%s on %s/%s) is in job %" PRId64
                    "; let it finish or resume it (`reindex resume %" PRId64 "`); no job created\n",
                    ch, sc_binding_state_str(po.binding.state), po.binding.cluster,
                    po.binding.index, po.job_id, po.job_id);
        else
            fprintf(stderr,
                    "reindex promote: channel %" PRIu64
                    " is %s on %s/%s (no live job): finish that first; no job created\n",
                    ch, sc_binding_state_str(po.binding.state), po.binding.cluster,
                    po.binding.index);
        rc = 1;
        goto out;
    case SC_PROMOTE_GO:
    default:
        break;
    }
    fprintf(stderr,
            "reindex: job %" PRId64 " created: promote channel %" PRIu64 " from %s/%s to %s/%s"
            " with %d primary shards\n",
            po.job_id, ch, po.binding.cluster, po.binding.index, po.cluster, po.index, shards);
    printf("job %" PRId64 "\n", po.job_id);
    fflush(stdout);
    rc = rx_claim_and_run(&ctx, po.job_id);
out:
    rx_ctx_close(&ctx);
    return rc;
}

/* ------------------------------------------------------------ the check */

struct rx_promoter {
    const rx_args *a;    /* ref */
    sc_metric *queued;   /* ref: scour_promotions_queued_total */
    rx_periodic *thread; /* owned */
};

/* One pass with ctx's handles: promotions queued, or -1. */
static int check_pass(const rx_args *a, rx_ctx *ctx)
{
    sc_promote_pass_opts po;
    char err[SC_ERRLEN] = "";
    int queued = 0;
    memset(&po, 0, sizeof po);
    po.db = ctx->db;
    po.binder = ctx->binder;
    po.rx = ctx->rx;
    po.view = ctx->view;
    po.base = a->cfg.index_name;
    po.min_docs = a->cfg.big_channel_docs;
    po.shards = a->cfg.big_channel_shards;
    po.recent_days = a->cfg.recent_days;
    if (sc_promote_pass(&po, &queued, err, sizeof err) != SC_OK) {
        log_warn("promote check: %s", err);
        return -1;
    }
    if (queued > 0)
        log_info("promote check: %d promotion(s) queued (channels past %" PRId64 " documents)",
                 queued, a->cfg.big_channel_docs);
    return queued;
}

int rx_promote_check_once(const rx_args *a, const char *schema, sc_cluster_view *view)
{
    char worker[160];
    rx_ctx ctx;
    int n;
    if (a->cfg.big_channel_docs <= 0)
        return 0;
    rx_worker_name(worker, sizeof worker, 0);
    if (rx_ctx_open(&ctx, a, view, schema, worker, 0) != 0)
        return -1;
    n = check_pass(a, &ctx);
    rx_ctx_close(&ctx);
    return n;
}

static int promoter_init(void *arg, rx_ctx *ctx)
{
    rx_promoter *s = arg;
    (void)ctx;
    log_info("promote check: every %d s, channels past %" PRId64 " documents get %d shards",
             s->a->cfg.big_channel_check_s, s->a->cfg.big_channel_docs,
             s->a->cfg.big_channel_shards);
    return 0;
}

/* One pass; the next is due big_channel_check_s after it ends. */
static int64_t promoter_round(void *arg, rx_ctx *ctx)
{
    rx_promoter *s = arg;
    int n = check_pass(s->a, ctx);
    if (n > 0)
        sc_metric_add(s->queued, NULL, (double)n);
    return sc_now_ms() + (int64_t)s->a->cfg.big_channel_check_s * 1000;
}

static const rx_periodic_ops promoter_ops = {
    .role = "promote",
    .first_delay_ms = 1000, /* the first check soon after start */
    .init = promoter_init,
    .round = promoter_round,
};

rx_promoter *rx_promoter_start(const rx_args *a, const char *schema, sc_cluster_view *view,
                               sc_metrics *m)
{
    rx_promoter *s;
    if (a->cfg.big_channel_docs <= 0)
        return NULL;
    s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->a = a;
    s->queued = sc_metrics_add(m, SC_METRIC_COUNTER, "scour_promotions_queued_total",
                               "big channels whose promotion to an index of their own the "
                               "worker's check queued",
                               NULL);
    if (s->queued == NULL) {
        free(s);
        return NULL;
    }
    if ((s->thread = rx_periodic_start(&promoter_ops, a, schema, view, s)) == NULL) {
        free(s);
        return NULL;
    }
    return s;
}

void rx_promoter_stop(rx_promoter *p)
{
    if (p == NULL)
        return;
    rx_periodic_stop(p->thread);
    free(p);
}
