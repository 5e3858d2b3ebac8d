/*
 * reindex/run.c - the commands of the `reindex` program: start a job
 * (channel/guild/cluster/all, with --dry-run and --to), resume one, run the
 * worker, show status; and the progress display (a bar redrawn in place on a
 * terminal, plain lines otherwise). Progress goes to stderr, results and
 * tables to stdout.
 */
#include "rx.h"

#include "clients.h"
#include "log.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------ progress */

/* State of the progress display (one per thread that shows progress). */
typedef struct rx_display {
    int tty;           /* stderr is a terminal: redraw a bar in place */
    int64_t last_ms;   /* monotonic ms of the last line/redraw */
    int64_t last_done; /* done at the last plain line */
} rx_display;

static void fmt_eta(char *buf, size_t len, double s)
{
    if (s < 0 || s > 1e7)
        snprintf(buf, len, "--:--");
    else if (s >= 3600)
        snprintf(buf, len, "%d:%02d:%02d", (int)(s / 3600), (int)((long)s % 3600) / 60,
                 (int)((long)s % 60));
    else
        snprintf(buf, len, "%d:%02d", (int)(s / 60), (int)((long)s % 60));
}

static void show_progress(const sc_reindex_progress *p, void *arg)
{
    rx_display *d = arg;
    int64_t now = sc_now_ms();
    double rate = p->elapsed_ms > 0 ? (double)p->run_done * 1000.0 / (double)p->elapsed_ms : 0.0;
    int64_t left = p->total > p->done ? p->total - p->done : 0;
    double pct = p->total > 0
                     ? 100.0 * (double)(p->done > p->total ? p->total : p->done) / (double)p->total
                     : 100.0;
    char eta[32];
    fmt_eta(eta, sizeof eta, rate > 0 ? (double)left / rate : (left == 0 ? 0 : -1));
    if (d->tty) {
        char bar[31];
        int i, fill = (int)(pct * 30 / 100);
        if (!p->final && now - d->last_ms < 200)
            return;
        for (i = 0; i < 30; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[30] = '\0';
        fprintf(stderr,
                "\r[%s] %" PRId64 "/%" PRId64
                " %5.1f%% phase %d ch %zu/%zu %.0f msg/s ETA %s\033[K",
                bar, p->done, p->total, pct, p->phase, p->channel_index + (p->n_channels > 0),
                p->n_channels, rate, eta);
        if (p->final)
            fputc('\n', stderr);
        fflush(stderr);
        d->last_ms = now;
        return;
    }
    if (!p->final && now - d->last_ms < 1000 && p->done - d->last_done < 10000)
        return;
    fprintf(stderr,
            "reindex: job %" PRId64 " phase %d: %" PRId64 "/%" PRId64
            " (%.1f%%) channel %zu/%zu, %.0f msg/s, eta %s\n",
            p->job_id, p->phase, p->done, p->total, pct, p->channel_index + (p->n_channels > 0),
            p->n_channels, rate, eta);
    d->last_ms = now;
    d->last_done = p->done;
}

/* ------------------------------------------------------------ handles */

int rx_ctx_open(rx_ctx *ctx, const rx_args *a, sc_cluster_view *view, const char *schema,
                const char *worker, int progress)
{
    char err[SC_ERRLEN];
    sc_redis_opts ro;
    sc_binder_opts bo;
    sc_reindex_opts xo;
    es_opts eo;
    static rx_display display; /* only the main thread shows progress */

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
    xo.stop = &rx_stop;
    if (progress) {
        memset(&display, 0, sizeof display);
        display.tty = isatty(STDERR_FILENO);
        xo.progress = show_progress;
        xo.progress_arg = &display;
    }
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

/* ------------------------------------------------------------ running */

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

/* ------------------------------------------------------------ start */

static int id_ok(const char *s)
{
    uint64_t v;
    return sc_parse_u64(s, &v) == SC_OK && v != 0 && v <= INT64_MAX;
}

int rx_args_check(const rx_args *a)
{
    const char *cmd = a->words[0];
    int i;
    if (strcmp(cmd, "channel") == 0) {
        if (a->nwords < 2) {
            fprintf(stderr, "reindex channel: give at least one channel id\n");
            return 2;
        }
        for (i = 1; i < a->nwords; i++) {
            if (!id_ok(a->words[i])) {
                fprintf(stderr, "reindex channel: '%s' is not a channel id\n", a->words[i]);
                return 2;
            }
        }
    } else if (strcmp(cmd, "promote") == 0) {
        if (a->nwords != 2 || !id_ok(a->words[1])) {
            fprintf(stderr, "reindex promote: give exactly one channel id (reindex promote "
                            "CHANNEL [--shards N] [--to CLUSTER])\n");
            return 2;
        }
    } else if (strcmp(cmd, "guild") == 0 || strcmp(cmd, "resume") == 0) {
        if (a->nwords != 2 || !id_ok(a->words[1])) {
            fprintf(stderr, "reindex %s: give exactly one %s id\n", cmd,
                    cmd[0] == 'g' ? "guild" : "job");
            return 2;
        }
    } else if (strcmp(cmd, "cluster") == 0) {
        if (a->nwords != 2 || !sc_cluster_name_ok(a->words[1])) {
            fprintf(stderr, "reindex cluster: give exactly one valid cluster name\n");
            return 2;
        }
    } else if ((strcmp(cmd, "all") == 0 || strcmp(cmd, "worker") == 0) && a->nwords != 1) {
        fprintf(stderr, "reindex %s: unexpected argument '%s'\n", cmd, a->words[1]);
        return 2;
    } else if (strcmp(cmd, "verify") == 0) {
        const char *what = a->nwords >= 2 ? a->words[1] : "";
        int ok = 0;
        if (strcmp(what, "channel") == 0) {
            ok = a->nwords >= 3;
            for (i = 2; i < a->nwords; i++)
                ok &= id_ok(a->words[i]);
        } else if (strcmp(what, "guild") == 0) {
            ok = a->nwords == 3 && id_ok(a->words[2]);
        } else if (strcmp(what, "cluster") == 0) {
            ok = a->nwords == 3 && sc_cluster_name_ok(a->words[2]);
        } else if (strcmp(what, "all") == 0) {
            ok = a->nwords == 2;
        }
        if (!ok) {
            fprintf(stderr, "reindex verify: give channel ID..., guild ID, cluster NAME or all\n");
            return 2;
        }
        if (a->cfg.to[0] != '\0' || a->cfg.dry_run) {
            fprintf(stderr, "reindex verify: --to and --dry-run do not apply (verify changes "
                            "nothing without --repair)\n");
            return 2;
        }
    }
    if (a->cfg.to[0] != '\0' && !sc_cluster_name_ok(a->cfg.to)) {
        fprintf(stderr, "reindex: --to: '%s' is not a valid cluster name\n", a->cfg.to);
        return 2;
    }
    if (a->cfg.to[0] != '\0' && (strcmp(cmd, "worker") == 0 || strcmp(cmd, "resume") == 0)) {
        fprintf(stderr, "reindex %s: --to applies only when starting a job\n", cmd);
        return 2;
    }
    return 0;
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

static int dry_run(rx_ctx *ctx, const rx_args *a, const uint64_t *ch, size_t n)
{
    const char *to = a->cfg.to[0] ? a->cfg.to : NULL;
    uint64_t min_id = sc_reindex_phase1_min_id(sc_wall_ms(), a->cfg.recent_days);
    int64_t total = 0, recent = 0;
    size_t i;
    printf("dry run: %zu channel(s), destination %s, recent_days %d (phase 1: id >= %" PRIu64 ")\n",
           n, to != NULL ? to : "current binding", a->cfg.recent_days, min_id);
    printf("%-20s %-11s %-40s %-32s %10s %10s\n", "CHANNEL", "ACTION", "FROM", "TO", "RECENT",
           "TOTAL");
    for (i = 0; i < n; i++) {
        sc_reindex_plan p;
        char from[256], dst[256];
        if (sc_reindex_plan_channel(ctx->rx, ch[i], to, min_id, &p) != SC_OK) {
            fprintf(stderr, "reindex: %s\n", sc_reindexer_errstr(ctx->rx));
            return 1;
        }
        if (p.bound)
            snprintf(from, sizeof from, "%s/%s (%s)", p.binding.cluster, p.binding.index,
                     sc_binding_state_str(p.binding.state));
        else
            snprintf(from, sizeof from, "(unbound)");
        snprintf(dst, sizeof dst, "%s/%s", p.cluster[0] ? p.cluster : "(least loaded)", p.index);
        printf("%-20" PRIu64 " %-11s %-40s %-32s %10" PRId64 " %10" PRId64 "\n", p.channel_id,
               p.action, from, dst, p.recent, p.total);
        total += p.total;
        recent += p.recent;
    }
    printf("total: %zu channel(s), %" PRId64 " messages (%" PRId64
           " recent); nothing was changed\n",
           n, total, recent);
    return 0;
}

/* Target text of a "channel" job: the ids comma-joined, or "" when they do
 * not fit (the channels are attached to the job anyway). */
static void channel_target(char *buf, size_t len, const uint64_t *ch, size_t n)
{
    size_t i, off = 0;
    buf[0] = '\0';
    for (i = 0; i < n; i++) {
        int w = snprintf(buf + off, len - off, "%s%" PRIu64, i ? "," : "", ch[i]);
        if (w < 0 || (size_t)w >= len - off) {
            snprintf(buf, len, "%" PRIu64 "+%zu", ch[0], n - 1);
            return;
        }
        off += (size_t)w;
    }
}

/* Before a move's job exists: leave out the channels already active on
 * `to` (said on stderr), refuse when a channel is being moved elsewhere.
 * Compacts ch[0..*n). Returns 0 when something is left to move; 2 when every
 * channel is already there; 1 on a conflicting move or a database failure.
 * A refusal creates no job and changes nothing. */
static int keep_movable(rx_ctx *ctx, const char *to, uint64_t *ch, size_t *n)
{
    size_t i, k = 0, there = 0, conflicts = 0;
    for (i = 0; i < *n; i++) {
        sc_binding b;
        sc_job j;
        sc_status st = sc_db_binding_get(ctx->db, ch[i], &b);
        if (st != SC_OK && st != SC_ENOTFOUND) {
            fprintf(stderr, "reindex: binding of %" PRIu64 ": %s\n", ch[i], sc_db_errstr(ctx->db));
            return 1;
        }
        switch (sc_reindex_classify_move(st == SC_OK ? &b : NULL, to)) {
        case SC_MOVE_ALREADY_THERE:
            fprintf(stderr,
                    "reindex: channel %" PRIu64 " is already on %s (index %s): nothing to move\n",
                    ch[i], b.cluster, b.index);
            there++;
            break;
        case SC_MOVE_CONFLICT:
            if (sc_db_job_for_channel(ctx->db, ch[i], &j) == SC_OK)
                fprintf(stderr,
                        "reindex: channel %" PRIu64 " is being moved to %s by job %" PRId64
                        " (%s); let it finish or resume it (`reindex resume %" PRId64 "`)\n",
                        ch[i], b.cluster, j.id, sc_job_state_str(j.state), j.id);
            else
                fprintf(stderr,
                        "reindex: channel %" PRIu64
                        " is being moved to %s (binding moving, no live job); "
                        "finish that move first (`reindex channel %" PRIu64 " --to %s`)\n",
                        ch[i], b.cluster, ch[i], b.cluster);
            conflicts++;
            break;
        case SC_MOVE_GO:
        default:
            ch[k++] = ch[i];
            break;
        }
    }
    if (conflicts > 0) {
        fprintf(stderr, "reindex: %zu channel(s) are being moved elsewhere: no job created\n",
                conflicts);
        return 1;
    }
    if (k == 0) {
        fprintf(stderr, "reindex: every channel (%zu) is already on %s: no job created\n", there,
                to);
        return 2;
    }
    *n = k;
    return 0;
}

int rx_cmd_start(const rx_args *a, const char *schema, sc_cluster_view *view)
{
    const char *kind = a->words[0];
    const char *to = a->cfg.to[0] ? a->cfg.to : NULL;
    char target[128] = "", worker[128];
    uint64_t *ch = NULL;
    size_t n = 0, i;
    int64_t job_id = 0;
    rx_ctx ctx;
    int rc;
    sc_status st;

    /* ---- arguments (no I/O yet) ---- */
    if (strcmp(kind, "channel") == 0) {
        if (a->nwords < 2) {
            fprintf(stderr, "reindex channel: give at least one channel id\n");
            return 2;
        }
        ch = calloc((size_t)a->nwords, sizeof *ch);
        if (ch == NULL)
            return 1;
        for (i = 1; i < (size_t)a->nwords; i++) {
            if (sc_parse_u64(a->words[i], &ch[n]) != SC_OK || ch[n] == 0 || ch[n] > INT64_MAX) {
                fprintf(stderr, "reindex channel: '%s' is not a channel id\n", a->words[i]);
                free(ch);
                return 2;
            }
            n++;
        }
    } else if (strcmp(kind, "guild") == 0) {
        uint64_t g;
        if (a->nwords != 2 || sc_parse_u64(a->words[1], &g) != SC_OK || g == 0 || g > INT64_MAX) {
            fprintf(stderr, "reindex guild: give exactly one guild id\n");
            return 2;
        }
        snprintf(target, sizeof target, "%" PRIu64, g);
    } else if (strcmp(kind, "cluster") == 0) {
        if (a->nwords != 2) {
            fprintf(stderr, "reindex cluster: give exactly one cluster name\n");
            return 2;
        }
        if (!sc_cluster_name_ok(a->words[1])) {
            fprintf(stderr, "reindex cluster: '%s' is not a valid cluster name\n", a->words[1]);
            return 2;
        }
        snprintf(target, sizeof target, "%s", a->words[1]);
    } else if (a->nwords != 1) {
        fprintf(stderr, "reindex all: unexpected argument '%s'\n", a->words[1]);
        return 2;
    }
    if (to != NULL && (rc = rx_check_cluster(view, to, 1, "--to")) != 0) {
        free(ch);
        return rc;
    }

    rx_worker_name(worker, sizeof worker, 0);
    if ((rc = rx_ctx_open(&ctx, a, view, schema, worker, 1)) != 0) {
        free(ch);
        return rc;
    }

    /* ---- resolve and check the channels ---- */
    if (strcmp(kind, "channel") == 0) {
        size_t k;
        for (k = 0; k < n; k++) {
            sc_binding b;
            uint64_t g;
            int64_t cnt = 0;
            if (sc_db_binding_get(ctx.db, ch[k], &b) == SC_OK)
                continue;
            st = sc_db_channel_guild(ctx.db, ch[k], &g);
            if (st == SC_ENOTFOUND && sc_db_count_messages(ctx.db, ch[k], 0, &cnt) == SC_OK &&
                cnt > 0)
                st = SC_OK;
            if (st == SC_ENOTFOUND) {
                fprintf(stderr,
                        "reindex: unknown channel %" PRIu64
                        " (no binding, no channel row, no messages)\n",
                        ch[k]);
                rc = 2;
                goto out;
            }
            if (st != SC_OK) {
                fprintf(stderr, "reindex: channel %" PRIu64 ": %s\n", ch[k], sc_db_errstr(ctx.db));
                rc = 1;
                goto out;
            }
        }
        channel_target(target, sizeof target, ch, n);
    }
    if (strcmp(kind, "channel") != 0) {
        st = sc_reindex_job_channels(ctx.rx, kind, target, &ch, &n);
        if (st != SC_OK) {
            fprintf(stderr, "reindex: %s\n", sc_reindexer_errstr(ctx.rx));
            rc = st == SC_EINVAL ? 2 : 1;
            goto out;
        }
        if (n == 0) {
            if (strcmp(kind, "guild") == 0) {
                fprintf(stderr, "reindex: unknown guild %s (no channels)\n", target);
                rc = 2;
            } else if (strcmp(kind, "cluster") == 0) {
                sc_cluster_info info;
                if (sc_cluster_view_get(view, target, &info) != SC_OK) {
                    fprintf(stderr,
                            "reindex: unknown cluster '%s' (not registered, no channels bound)\n",
                            target);
                    rc = 2;
                } else {
                    printf("no channels are bound to %s: nothing to do\n", target);
                    rc = 0;
                }
            } else {
                printf("no channels are bound: nothing to do\n");
                rc = 0;
            }
            goto out;
        }
    }

    if (a->cfg.dry_run) {
        rc = dry_run(&ctx, a, ch, n);
        goto out;
    }
    if (to != NULL && (rc = keep_movable(&ctx, to, ch, &n)) != 0)
        goto out;
    if (strcmp(kind, "channel") == 0)
        channel_target(target, sizeof target, ch, n); /* the channels left */

    /* ---- create, attach, claim, run ---- */
    st = sc_db_job_create(ctx.db, kind, target[0] ? target : NULL, to, a->cfg.recent_days, &job_id);
    if (st == SC_OK)
        st = sc_db_job_channels_add(ctx.db, job_id, ch, n);
    if (st != SC_OK) {
        fprintf(stderr, "reindex: create job: %s\n", sc_db_errstr(ctx.db));
        rc = 1;
        goto out;
    }
    fprintf(stderr, "reindex: job %" PRId64 " created: %s %s, %zu channel(s)%s%s\n", job_id, kind,
            target, n, to != NULL ? ", to " : "", to != NULL ? to : "");
    printf("job %" PRId64 "\n", job_id);
    fflush(stdout);
    rc = rx_claim_and_run(&ctx, job_id);
out:
    free(ch);
    rx_ctx_close(&ctx);
    return rc;
}

/* ------------------------------------------------------------ resume */

int rx_cmd_resume(const rx_args *a, const char *schema, sc_cluster_view *view)
{
    uint64_t id;
    char worker[128];
    rx_ctx ctx;
    int rc;
    if (a->nwords != 2 || sc_parse_u64(a->words[1], &id) != SC_OK || id == 0 || id > INT64_MAX) {
        fprintf(stderr, "reindex resume: give exactly one job id\n");
        return 2;
    }
    rx_worker_name(worker, sizeof worker, 0);
    if ((rc = rx_ctx_open(&ctx, a, view, schema, worker, 1)) != 0)
        return rc;
    rc = rx_claim_and_run(&ctx, (int64_t)id);
    rx_ctx_close(&ctx);
    return rc;
}

/* ------------------------------------------------------------ worker */

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
    while (!rx_stop) {
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
            rx_stop = 1;
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
    rx_stop = 1; /* the jobs are over (signal or --once): the sweep too */
    rx_sweep_stop(sweep);
    rx_promoter_stop(promoter);
    sc_metrics_server_stop(srv);
    sc_metrics_free(reg);
    free(w);
    free(t);
    return rc;
}

/* ------------------------------------------------------------ status */

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
        rx_print_promoted(a, view, db);
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
