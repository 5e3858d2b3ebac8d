/*
 * reindex/start.c - starting a job from the command line: `reindex channel
 * ID...|guild ID|cluster NAME|all [--to CLUSTER] [--dry-run]` resolves and
 * checks the channels, refuses a move that conflicts with another, prints
 * the plan of a dry run, or creates the job and runs it here; `reindex
 * resume JOB` runs a stopped or failed job on from its cursors.
 */
#include "rx.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --dry-run: what each channel's job would do, as a table on stdout. */
static int print_plan(rx_ctx *ctx, const rx_args *a, const uint64_t *ch, size_t n)
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
        rc = print_plan(&ctx, a, ch, n);
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
