/*
 * reindex/verify.c - `reindex verify channel ID...|guild ID|cluster NAME|all
 * [--repair] [--json]`: run the verify engine (libscour/verify.h) over the
 * channels and print one line (or one JSON object) per channel on stdout,
 * then a summary line on stderr. Exit 0 when every channel agrees, 3 when
 * drift was found (repaired or not), 1 on a failure, 2 on usage errors.
 */
#include "rx.h"

#include "buf.h"
#include "verify.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ADD(x)           \
    do {                 \
        if (st == SC_OK) \
            st = (x);    \
    } while (0)

static void print_json(const sc_verify_result *r, const char *error)
{
    sc_buf b;
    sc_status st = SC_OK;
    int i;
    sc_buf_init(&b, 0);
    ADD(sc_buf_printf(&b, "{\"channel_id\":\"%" PRIu64 "\",\"result\":\"%s\"", r->channel_id,
                      error != NULL ? "error" : sc_verify_outcome_str(r->outcome)));
    if (error != NULL) {
        ADD(sc_buf_puts(&b, ",\"error\":"));
        ADD(sc_buf_json_str(&b, error));
    }
    ADD(sc_buf_printf(&b,
                      ",\"bound\":%s,\"state\":\"%s\",\"missing\":%" PRId64 ",\"extra\":%" PRId64
                      ",\"stale\":%" PRId64 ",\"no_digest\":%" PRId64
                      ",\"stale_copy_docs\":%" PRId64 ",\"rewritten\":%" PRId64
                      ",\"already_newer\":%" PRId64 ",\"purged\":%" PRId64
                      ",\"es_requests\":%" PRId64 ",\"pg_queries\":%" PRId64 ",\"listed\":%" PRId64
                      ",\"elapsed_ms\":%" PRId64 ",\"copies\":[",
                      r->bound ? "true" : "false", r->state, r->missing, r->extra, r->stale,
                      r->no_digest, r->stale_copy_docs, r->rewritten, r->newer, r->purged,
                      r->es_requests, r->pg_queries, r->listed, r->elapsed_ms));
    for (i = 0; i < r->n_copies; i++) {
        const sc_verify_copy *c = &r->copies[i];
        ADD(sc_buf_printf(&b,
                          "%s{\"cluster\":\"%s\",\"index\":\"%s\",\"pg_docs\":%" PRId64
                          ",\"es_docs\":%" PRId64 ",\"missing\":%" PRId64 ",\"extra\":%" PRId64
                          ",\"stale\":%" PRId64 ",\"no_digest\":%" PRId64 ",\"index_missing\":%s}",
                          i ? "," : "", c->cluster, c->index, c->pg_docs, c->es_docs, c->missing,
                          c->extra, c->stale, c->no_digest, c->index_missing ? "true" : "false"));
    }
    ADD(sc_buf_puts(&b, "],\"stale_copies\":["));
    for (i = 0; i < r->n_stale_copies; i++)
        ADD(sc_buf_printf(&b, "%s{\"cluster\":\"%s\",\"index\":\"%s\",\"docs\":%" PRId64 "}",
                          i ? "," : "", r->stale_copies[i].cluster, r->stale_copies[i].index,
                          r->stale_copies[i].docs));
    ADD(sc_buf_puts(&b, "]}"));
    puts(st == SC_OK && b.data != NULL ? b.data
                                       : "{\"result\":\"error\",\"error\":\"out of memory\"}");
    sc_buf_free(&b);
}

#undef ADD

static void print_text(const sc_verify_result *r)
{
    int i;
    if (!r->bound) {
        printf("channel %" PRIu64 ": drift: no binding, %" PRId64
               " rows in PostgreSQL are not indexed"
               " (run `reindex channel %" PRIu64 "`)\n",
               r->channel_id, r->missing, r->channel_id);
        return;
    }
    if (r->outcome == SC_VERIFY_AGREE) {
        printf("channel %" PRIu64 ": agrees (%s/%s, %" PRId64 " documents, %" PRId64 " requests)\n",
               r->channel_id, r->copies[0].cluster, r->copies[0].index, r->copies[0].pg_docs,
               r->es_requests + r->pg_queries);
        return;
    }
    printf("channel %" PRIu64 ": %s: %" PRId64 " missing, %" PRId64 " extra, %" PRId64 " stale",
           r->channel_id, r->outcome == SC_VERIFY_REPAIRED ? "drift repaired" : "drift", r->missing,
           r->extra, r->stale);
    if (r->stale_copy_docs > 0)
        printf(", %" PRId64 " in stale copies", r->stale_copy_docs);
    if (r->outcome == SC_VERIFY_REPAIRED || r->rewritten > 0 || r->purged > 0)
        printf(" (%" PRId64 " rewritten, %" PRId64 " already newer, %" PRId64 " purged)",
               r->rewritten, r->newer, r->purged);
    putchar('\n');
    for (i = 0; i < r->n_copies; i++) {
        const sc_verify_copy *c = &r->copies[i];
        if (c->index_missing)
            printf("  %s/%s: index does not exist (%" PRId64 " rows missing)\n", c->cluster,
                   c->index, c->missing);
        else if (c->missing + c->extra + c->stale > 0)
            printf("  %s/%s: %" PRId64 " missing, %" PRId64 " extra, %" PRId64 " stale\n",
                   c->cluster, c->index, c->missing, c->extra, c->stale);
        if (c->no_digest > 0)
            printf("  %s/%s: %" PRId64
                   " documents have no digest: written before mapping version 2;"
                   " they cannot be verified until rewritten (--repair does it)\n",
                   c->cluster, c->index, c->no_digest);
    }
    for (i = 0; i < r->n_stale_copies; i++)
        printf("  stale copy on %s/%s: %" PRId64 " documents (the channel is not bound there)\n",
               r->stale_copies[i].cluster, r->stale_copies[i].index, r->stale_copies[i].docs);
}

/* The channels named by the command words (after "verify"). */
static int resolve(rx_ctx *ctx, const rx_args *a, uint64_t **ch, size_t *n)
{
    const char *what = a->words[1];
    char target[128] = "";
    sc_status st;
    int i;
    *ch = NULL;
    *n = 0;
    if (strcmp(what, "channel") == 0) {
        *ch = calloc((size_t)a->nwords, sizeof **ch);
        if (*ch == NULL)
            return 1;
        for (i = 2; i < a->nwords; i++)
            if (sc_parse_u64(a->words[i], &(*ch)[*n]) == SC_OK)
                (*n)++;
        return 0;
    }
    if (a->nwords >= 3)
        snprintf(target, sizeof target, "%s", a->words[2]);
    st = sc_reindex_job_channels(ctx->rx, what, target, ch, n);
    if (st != SC_OK) {
        fprintf(stderr, "reindex verify: %s\n", sc_reindexer_errstr(ctx->rx));
        return st == SC_EINVAL ? 2 : 1;
    }
    if (*n == 0 && strcmp(what, "guild") == 0) {
        fprintf(stderr, "reindex verify: unknown guild %s (no channels)\n", target);
        return 2;
    }
    if (*n == 0 && strcmp(what, "cluster") == 0) {
        sc_cluster_info info;
        if (sc_cluster_view_get(ctx->view, target, &info) != SC_OK) {
            fprintf(stderr,
                    "reindex verify: unknown cluster '%s' (not registered, no channels bound)\n",
                    target);
            return 2;
        }
    }
    return 0;
}

int rx_cmd_verify(const rx_args *a, const char *schema, sc_cluster_view *view)
{
    char worker[128], host[64], err[SC_ERRLEN];
    rx_ctx ctx;
    sc_verifier *v = NULL;
    sc_verify_opts vo;
    uint64_t *ch = NULL;
    size_t n = 0, i, agree = 0, drift = 0, repaired = 0, failed = 0;
    int64_t t0 = sc_now_ms(), docs = 0;
    int rc;

    if (gethostname(host, sizeof host) != 0)
        snprintf(host, sizeof host, "localhost");
    host[sizeof host - 1] = '\0';
    snprintf(worker, sizeof worker, "%s-%ld-verify", host, (long)getpid());
    if ((rc = rx_ctx_open(&ctx, a, view, schema, worker, 0)) != 0)
        return rc;
    if ((rc = resolve(&ctx, a, &ch, &n)) != 0)
        goto out;
    memset(&vo, 0, sizeof vo);
    vo.db = ctx.db;
    vo.rx = ctx.rx;
    vo.view = view;
    vo.repair = a->repair;
    vo.stop = sc_prog_stop_flag();
    v = sc_verifier_create(&vo, err, sizeof err);
    if (v == NULL) {
        fprintf(stderr, "reindex verify: %s\n", err);
        rc = 1;
        goto out;
    }
    for (i = 0; i < n && !sc_prog_stopping(); i++) {
        sc_verify_result r;
        sc_status st = sc_verify_channel(v, ch[i], &r);
        if (st == SC_ENOTFOUND && strcmp(a->words[1], "channel") == 0) {
            fprintf(stderr,
                    "reindex verify: unknown channel %" PRIu64 " (no binding, no messages)\n",
                    ch[i]);
            rc = 2;
            goto out;
        }
        if (st != SC_OK) {
            failed++;
            if (a->json)
                print_json(&r, sc_verifier_errstr(v));
            else
                printf("channel %" PRIu64 ": error: %s\n", ch[i], sc_verifier_errstr(v));
            fflush(stdout);
            continue;
        }
        docs += r.n_copies > 0 ? r.copies[0].pg_docs : r.missing;
        if (r.outcome == SC_VERIFY_AGREE)
            agree++;
        else if (r.outcome == SC_VERIFY_REPAIRED)
            repaired++;
        else
            drift++;
        if (a->json)
            print_json(&r, NULL);
        else
            print_text(&r);
        fflush(stdout);
    }
    fprintf(stderr,
            "reindex verify: %zu channel(s), %" PRId64
            " messages: %zu agree, %zu drift, %zu repaired, %zu failed,"
            " %.1f s\n",
            n, docs, agree, drift, repaired, failed, (double)(sc_now_ms() - t0) / 1000.0);
    if (sc_prog_stopping())
        rc = 1;
    else if (failed > 0)
        rc = 1;
    else if (drift + repaired > 0)
        rc = 3;
    else
        rc = 0;
out:
    sc_verifier_free(v);
    free(ch);
    rx_ctx_close(&ctx);
    return rc;
}
