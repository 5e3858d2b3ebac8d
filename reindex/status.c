/*
 * reindex/status.c - `reindex status [JOB]`: the newest jobs with their
 * progress, the verify sweep's progress over the bound channels and the
 * promoted channels (index, shards, docs, state) as tables on stdout; or
 * one job with its channels and their cursors.
 */
#include "rx.h"

#include "clients.h"
#include "promote.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The verify sweep's progress over the bound channels (one line). */
static void print_sweep(sc_db *db)
{
    sc_verify_progress p;
    int64_t now = sc_wall_ms();
    if (sc_db_verify_progress(db, 86400, &p) != SC_OK) {
        fprintf(stderr, "reindex: verify progress: %s\n", sc_db_errstr(db));
        return;
    }
    printf("verify sweep: %" PRId64 "/%" PRId64 " bound channels verified at least once",
           p.verified_ever, p.channels);
    if (p.verified_ever > 0)
        printf(", oldest verification %.0f s ago, newest %.0f s ago",
               (double)(now - p.oldest_ms) / 1000.0, (double)(now - p.newest_ms) / 1000.0);
    printf("; last 24 h: %" PRId64 " verified, %" PRId64 " with drift; %" PRId64 " failing\n",
           p.verified_recent, p.drift_recent, p.errors);
}

/* The promoted channels (own index past big_channel_docs) as a table. */
static void print_promoted(const rx_args *a, sc_cluster_view *view, sc_db *db)
{
    char err[SC_ERRLEN];
    es_opts base;
    sc_clients_opts co;
    sc_clients *cl;
    sc_promoted *rows = NULL;
    size_t n = 0, i;
    sc_clients_base_opts(&a->cfg, &base);
    base.timeout_ms = 3000;
    memset(&co, 0, sizeof co);
    co.base = &base;
    co.view = view;
    if ((cl = sc_clients_create(&co, err, sizeof err)) == NULL) {
        fprintf(stderr, "reindex: promoted channels: %s\n", err);
        return;
    }
    if (sc_promote_list(view, cl, db, a->cfg.index_name, &rows, &n) != SC_OK) {
        fprintf(stderr, "reindex: promoted channels: out of memory\n");
        sc_clients_free(cl);
        return;
    }
    printf("promoted channels (own index past big_channel_docs %" PRId64 "): %zu\n",
           a->cfg.big_channel_docs, n);
    if (n > 0)
        printf("%-20s %-16s %-40s %6s %12s %s\n", "CHANNEL", "CLUSTER", "INDEX", "SHARDS", "DOCS",
               "STATE");
    for (i = 0; i < n; i++)
        printf("%-20" PRIu64 " %-16s %-40s %6d %12" PRId64 " %s\n", rows[i].channel_id,
               rows[i].cluster, rows[i].index, rows[i].shards, rows[i].docs, rows[i].state);
    free(rows);
    sc_clients_free(cl);
}

/* `reindex status`: the newest 50 jobs as a table on stdout, then the
 * sweep and the promoted channels (view may be NULL). */
static int print_job_list(const rx_args *a, sc_cluster_view *view)
{
    char err[SC_ERRLEN];
    sc_job *jobs = NULL;
    size_t n = 0, i;
    int64_t now = sc_wall_ms();
    sc_db *db = sc_db_create(a->cfg.pg_dsn, err, sizeof err);
    if (db == NULL) {
        fprintf(stderr, "reindex: postgres: %s\n", err);
        return 1;
    }
    if (sc_db_job_list(db, 50, &jobs, &n) != SC_OK) {
        fprintf(stderr, "reindex: list jobs: %s\n", sc_db_errstr(db));
        sc_db_free(db);
        return 1;
    }
    printf("%-8s %-8s %-24s %-12s %-10s %-5s %-22s %-24s %-6s %s\n", "JOB", "KIND", "TARGET", "TO",
           "STATE", "PHASE", "DONE/TOTAL", "WORKER", "BEAT", "ERROR");
    for (i = 0; i < n; i++) {
        const sc_job *j = &jobs[i];
        char prog[64], beat[24];
        snprintf(prog, sizeof prog, "%" PRId64 "/%" PRId64 " (%.0f%%)", j->done, j->total,
                 j->total > 0
                     ? 100.0 * (double)(j->done > j->total ? j->total : j->done) / (double)j->total
                     : 0.0);
        if (j->heartbeat_ms != 0)
            snprintf(beat, sizeof beat, "%" PRId64, (now - j->heartbeat_ms) / 1000);
        else
            snprintf(beat, sizeof beat, "-");
        printf("%-8" PRId64 " %-8s %-24.24s %-12.12s %-10s %-5d %-22s %-24.24s %-6s %s\n", j->id,
               j->kind, j->target, j->to_cluster, sc_job_state_str(j->state), j->phase, prog,
               j->worker, beat, j->error);
    }
    if (n == 0)
        printf("(no jobs)\n");
    free(jobs);
    print_sweep(db);
    if (view != NULL)
        print_promoted(a, view, db);
    sc_db_free(db);
    return 0;
}

int rx_cmd_status(const rx_args *a, sc_cluster_view *view)
{
    char err[SC_ERRLEN];
    uint64_t id;
    sc_db *db;
    sc_job job;
    sc_job_channel *chs = NULL;
    size_t n = 0, i;
    sc_status st;
    if (a->nwords > 2) {
        fprintf(stderr, "reindex status: at most one job id\n");
        return 2;
    }
    if (a->nwords == 1)
        return print_job_list(a, view);
    if (sc_parse_u64(a->words[1], &id) != SC_OK || id == 0 || id > INT64_MAX) {
        fprintf(stderr, "reindex status: '%s' is not a job id\n", a->words[1]);
        return 2;
    }
    db = sc_db_create(a->cfg.pg_dsn, err, sizeof err);
    if (db == NULL) {
        fprintf(stderr, "reindex: postgres: %s\n", err);
        return 1;
    }
    st = sc_db_job_get(db, (int64_t)id, &job);
    if (st == SC_OK)
        st = sc_db_job_channels(db, (int64_t)id, &chs, &n);
    if (st != SC_OK) {
        fprintf(stderr, "reindex: job %" PRIu64 ": %s\n", id,
                st == SC_ENOTFOUND ? "no such job" : sc_db_errstr(db));
        sc_db_free(db);
        return st == SC_ENOTFOUND ? 2 : 1;
    }
    printf("job %" PRId64 ": %s %s%s%s\n", job.id, job.kind, job.target,
           job.to_cluster[0] ? " --to " : "", job.to_cluster);
    printf("state %s, phase %d, %" PRId64 "/%" PRId64
           " (%.1f%%), recent_days %d, checkpoint %" PRIu64 "\n",
           sc_job_state_str(job.state), job.phase, job.done, job.total,
           job.total > 0
               ? 100.0 * (double)(job.done > job.total ? job.total : job.done) / (double)job.total
               : 0.0,
           job.recent_days, job.checkpoint_id);
    printf("worker %s, heartbeat %s%.0f s ago%s%s\n", job.worker[0] ? job.worker : "-",
           job.heartbeat_ms ? "" : "never, ",
           job.heartbeat_ms ? (double)(sc_wall_ms() - job.heartbeat_ms) / 1000.0 : 0.0,
           job.error[0] ? ", error: " : "", job.error);
    printf("%-20s %-5s %-20s %s\n", "CHANNEL", "PHASE", "CHECKPOINT", "DONE");
    for (i = 0; i < n; i++)
        printf("%-20" PRIu64 " %-5d %-20" PRIu64 " %s\n", chs[i].channel_id, chs[i].phase,
               chs[i].checkpoint_id, chs[i].done ? "yes" : "no");
    free(chs);
    sc_db_free(db);
    return 0;
}
