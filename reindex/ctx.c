/*
 * reindex/ctx.c - what every command and thread of the `reindex` program
 * shares: the handles of one thread (PostgreSQL, Redis, binder, engine:
 * rx_ctx_open/close), the worker name recorded on the jobs it claims, the
 * check of a cluster named on the command line, and claiming one job by id
 * and running it to its end (rx_claim_and_run). The commands (start.c,
 * promote.c, verify.c, worker.c) and the worker's threads (periodic.c)
 * stand on it; it calls none of them.
 */
#include "rx.h"

#include "clients.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int rx_ctx_open(rx_ctx *ctx, const rx_args *a, sc_cluster_view *view, const char *schema,
                const char *worker, int progress)
{
    char err[SC_ERRLEN];
    sc_redis_opts ro;
    sc_binder_opts bo;
    sc_reindex_opts xo;
    es_opts eo;

    memset(ctx, 0, sizeof *ctx);
    ctx->view = view;
    snprintf(ctx->worker, sizeof ctx->worker, "%s", worker);
    ctx->db = sc_db_create(a->cfg.pg_dsn, err, sizeof err);
    if (ctx->db == NULL) {
        fprintf(stderr, "reindex: postgres: %s\n", err);
        return 1;
    }
    sc_redis_opts_from_config(&a->cfg, &ro);
    ctx->redis = sc_redis_create(&ro, err, sizeof err);
    if (ctx->redis == NULL) {
        fprintf(stderr, "reindex: redis: %s\n", err);
        rx_ctx_close(ctx);
        return 1;
    }
    sc_binder_opts_from_config(&a->cfg, ctx->redis, ctx->db, view, &bo);
    ctx->binder = sc_binder_create(&bo, err, sizeof err);
    if (ctx->binder == NULL) {
        fprintf(stderr, "reindex: binder: %s\n", err);
        rx_ctx_close(ctx);
        return 1;
    }
    sc_clients_base_opts(&a->cfg, &eo);
    memset(&xo, 0, sizeof xo);
    xo.db = ctx->db;
    xo.binder = ctx->binder;
    xo.view = view;
    xo.es = &eo;
    xo.index_name = a->cfg.index_name;
    xo.schema_json = schema;
    xo.batch = a->cfg.reindex_batch;
    xo.rate = a->cfg.rate;
    xo.purge_delay_ms = a->purge_delay_ms;
    xo.big_shards = a->cfg.big_channel_shards;
    xo.worker = ctx->worker;
    xo.stop = sc_prog_stop_flag();
    if (progress)
        rx_progress_attach(&xo);
    ctx->rx = sc_reindexer_create(&xo, err, sizeof err);
    if (ctx->rx == NULL) {
        fprintf(stderr, "reindex: %s\n", err);
        rx_ctx_close(ctx);
        return 1;
    }
    return 0;
}

void rx_ctx_close(rx_ctx *ctx)
{
    sc_reindexer_free(ctx->rx);
    sc_binder_free(ctx->binder);
    sc_redis_free(ctx->redis);
    sc_db_free(ctx->db);
    memset(ctx, 0, sizeof *ctx);
}

void rx_worker_name(char *buf, size_t len, int thread)
{
    char host[64];
    if (gethostname(host, sizeof host) != 0)
        snprintf(host, sizeof host, "localhost");
    host[sizeof host - 1] = '\0';
    if (thread > 0)
        snprintf(buf, len, "%s-%ld-%d", host, (long)getpid(), thread);
    else
        snprintf(buf, len, "%s-%ld", host, (long)getpid());
}

/* Non-zero when worker ("<host>-<pid>[-<n>]") names a process of this host
 * that no longer exists: its job can be taken over at once. */
static int worker_dead_here(const char *worker)
{
    char host[64], rest[128];
    size_t hl;
    char *end;
    long pid;
    if (gethostname(host, sizeof host) != 0)
        return 0;
    host[sizeof host - 1] = '\0';
    hl = strlen(host);
    if (strncmp(worker, host, hl) != 0 || worker[hl] != '-')
        return 0;
    snprintf(rest, sizeof rest, "%s", worker + hl + 1);
    errno = 0;
    pid = strtol(rest, &end, 10);
    if (errno != 0 || end == rest || (*end != '\0' && *end != '-') || pid <= 0)
        return 0;
    return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

static int run_claimed(rx_ctx *ctx, const sc_job *job)
{
    sc_reindex_result res;
    sc_status st;
    int64_t t0 = sc_now_ms();
    memset(&res, 0, sizeof res);
    st = sc_reindex_run_job(ctx->rx, job, &res);
    if (st != SC_OK) {
        fprintf(stderr,
                "reindex: job %" PRId64 " failed: %s (resume with `reindex resume %" PRId64 "`)\n",
                job->id, sc_reindexer_errstr(ctx->rx), job->id);
        return 1;
    }
    if (res.lost) {
        fprintf(stderr, "reindex: job %" PRId64 " was ended elsewhere (cancelled or taken over)\n",
                job->id);
        return 1;
    }
    if (res.interrupted) {
        fprintf(stderr, "reindex: job %" PRId64 " %s\n", job->id, sc_reindexer_errstr(ctx->rx));
        return 1;
    }
    /* the job's totals first (a resumed job finished channels in earlier runs too) */
    printf("job %" PRId64 " done: %" PRId64 " channels, %" PRId64
           " messages copied; this run: %" PRId64 " written, %" PRId64 " already newer, %" PRId64
           " rejected, %" PRId64 " channels, %" PRId64 " old-copy documents purged, %.1f s\n",
           job->id, res.job_channels, res.job_done, res.written, res.conflicts, res.rejected,
           res.channels, res.purged, (double)(sc_now_ms() - t0) / 1000.0);
    fflush(stdout);
    return res.rejected > 0 ? 1 : 0;
}

int rx_claim_and_run(rx_ctx *ctx, int64_t id)
{
    sc_job job;
    sc_status st = sc_db_job_get(ctx->db, id, &job);
    if (st == SC_ENOTFOUND) {
        fprintf(stderr, "reindex: no job %" PRId64 "\n", id);
        return 2;
    }
    if (st != SC_OK) {
        fprintf(stderr, "reindex: job %" PRId64 ": %s\n", id, sc_db_errstr(ctx->db));
        return 1;
    }
    if (job.state == SC_JOB_DONE) {
        printf("job %" PRId64 " is already done\n", id);
        return 0;
    }
    if (job.state == SC_JOB_CANCELLED) {
        fprintf(stderr, "reindex: job %" PRId64 " was cancelled\n", id);
        return 2;
    }
    st =
        sc_db_job_claim_id(ctx->db, id, ctx->worker, SC_REINDEX_STALE_S,
                           job.worker[0] && worker_dead_here(job.worker) ? job.worker : NULL, &job);
    if (st == SC_ECONFLICT) {
        fprintf(stderr,
                "reindex: job %" PRId64 " is being run by %s (heartbeat less than %d s old)\n", id,
                job.worker, SC_REINDEX_STALE_S);
        return 1;
    }
    if (st != SC_OK) {
        fprintf(stderr, "reindex: claim job %" PRId64 ": %s\n", id, sc_db_errstr(ctx->db));
        return 1;
    }
    fprintf(stderr, "reindex: job %" PRId64 " running (%s %s%s%s, phase %d, %" PRId64 " done)\n",
            id, job.kind, job.target, job.to_cluster[0] ? " --to " : "", job.to_cluster, job.phase,
            job.done);
    return run_claimed(ctx, &job);
}

/* Exit code 2 with a message when a named thing does not exist. */
int rx_check_cluster(sc_cluster_view *view, const char *name, int need_live, const char *what)
{
    sc_cluster_info info;
    if (!sc_cluster_name_ok(name)) {
        fprintf(stderr, "reindex: %s: '%s' is not a valid cluster name\n", what, name);
        return 2;
    }
    if (sc_cluster_view_get(view, name, &info) != SC_OK) {
        fprintf(stderr, "reindex: %s: unknown cluster '%s'\n", what, name);
        return 2;
    }
    if (need_live && !info.live) {
        fprintf(stderr, "reindex: %s: cluster '%s' is not live\n", what, name);
        return 1;
    }
    return 0;
}
