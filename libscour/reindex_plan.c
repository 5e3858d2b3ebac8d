/*
 * reindex_plan.c - what a reindex job covers and what it would do (see
 * reindex.h): the channels of a job from its kind and target, the check of a
 * move, and one channel's plan for --dry-run and the CLI's checks. Reads
 * PostgreSQL, changes nothing.
 */
#include "reindex_int.h"

#include "promote_job.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static size_t sort_unique(uint64_t *v, size_t n)
{
    size_t i, o = 0;
    if (n == 0)
        return 0;
    qsort(v, n, sizeof *v, cmp_u64);
    for (i = 0; i < n; i++)
        if (o == 0 || v[o - 1] != v[i])
            v[o++] = v[i];
    return o;
}

static sc_status parse_id_list(sc_reindexer *r, const char *s, uint64_t **out, size_t *n)
{
    size_t cap = 1, k = 0;
    const char *p;
    uint64_t *v;
    for (p = s; *p; p++)
        if (*p == ',')
            cap++;
    v = calloc(cap, sizeof *v);
    if (v == NULL)
        return SC_ENOMEM;
    p = s;
    while (*p) {
        char tok[32];
        const char *e = strchr(p, ',');
        size_t len = e != NULL ? (size_t)(e - p) : strlen(p);
        if (len == 0 || len >= sizeof tok) {
            free(v);
            sc_seterr(r->errstr, sizeof r->errstr, "bad channel list '%s'", s);
            return SC_EINVAL;
        }
        memcpy(tok, p, len);
        tok[len] = '\0';
        if (sc_parse_u64(tok, &v[k]) != SC_OK || v[k] == 0) {
            free(v);
            sc_seterr(r->errstr, sizeof r->errstr, "bad channel id '%s'", tok);
            return SC_EINVAL;
        }
        k++;
        p += len;
        if (*p == ',')
            p++;
    }
    *n = sort_unique(v, k);
    if (*n == 0) {
        free(v);
        v = NULL;
    }
    *out = v;
    return SC_OK;
}

sc_status sc_reindex_job_channels(sc_reindexer *r, const char *kind, const char *target,
                                  uint64_t **out, size_t *n)
{
    sc_status st;
    *out = NULL;
    *n = 0;
    if (kind == NULL)
        return SC_EINVAL;
    if (target == NULL)
        target = "";
    if (strcmp(kind, "channel") == 0)
        return parse_id_list(r, target, out, n);
    if (strcmp(kind, SC_PROMOTE_KIND) == 0) {
        uint64_t ch;
        int shards;
        if (sc_promote_target_parse(target, &ch, &shards) != SC_OK) {
            sc_seterr(r->errstr, sizeof r->errstr, "bad promotion target '%s'", target);
            return SC_EINVAL;
        }
        if ((*out = malloc(sizeof **out)) == NULL)
            return SC_ENOMEM;
        **out = ch;
        *n = 1;
        return SC_OK;
    }
    if (strcmp(kind, "guild") == 0) {
        uint64_t g;
        if (sc_parse_u64(target, &g) != SC_OK) {
            sc_seterr(r->errstr, sizeof r->errstr, "bad guild id '%s'", target);
            return SC_EINVAL;
        }
        st = sc_db_guild_channels(r->db, g, out, n);
    } else if (strcmp(kind, "cluster") == 0) {
        st = sc_db_bindings_on_cluster(r->db, target, out, n);
    } else if (strcmp(kind, "all") == 0) {
        sc_cluster_count *cc = NULL;
        size_t ncc = 0, i;
        uint64_t *all = NULL;
        size_t nall = 0;
        st = sc_db_binding_counts(r->db, &cc, &ncc);
        for (i = 0; st == SC_OK && i < ncc; i++) {
            uint64_t *ch = NULL, *grown;
            size_t nch = 0;
            st = sc_db_bindings_on_cluster(r->db, cc[i].cluster, &ch, &nch);
            if (st != SC_OK)
                break;
            if (nch > 0) {
                grown = realloc(all, (nall + nch) * sizeof *all);
                if (grown == NULL) {
                    free(ch);
                    st = SC_ENOMEM;
                    break;
                }
                all = grown;
                memcpy(all + nall, ch, nch * sizeof *ch);
                nall += nch;
            }
            free(ch);
        }
        free(cc);
        if (st != SC_OK) {
            free(all);
            if (st != SC_ENOMEM)
                sc_seterr(r->errstr, sizeof r->errstr, "list bindings: %s", sc_db_errstr(r->db));
            return st;
        }
        *out = all;
        *n = nall;
        return SC_OK;
    } else {
        sc_seterr(r->errstr, sizeof r->errstr, "unknown job kind '%s'", kind);
        return SC_EINVAL;
    }
    if (st != SC_OK)
        sc_seterr(r->errstr, sizeof r->errstr, "list channels of %s %s: %s", kind, target,
                  sc_db_errstr(r->db));
    else
        *n = sort_unique(*out, *n);
    return st;
}

sc_reindex_move_check sc_reindex_classify_move(const sc_binding *b, const char *to_cluster)
{
    if (b == NULL || to_cluster == NULL)
        return SC_MOVE_GO;
    if (b->state == SC_BINDING_MOVING)
        return strcmp(b->cluster, to_cluster) == 0 ? SC_MOVE_GO : SC_MOVE_CONFLICT;
    if (strcmp(b->cluster, to_cluster) == 0 && b->state == SC_BINDING_ACTIVE)
        return SC_MOVE_ALREADY_THERE;
    return SC_MOVE_GO;
}

sc_status sc_reindex_plan_channel(sc_reindexer *r, uint64_t channel_id, const char *to_cluster,
                                  uint64_t min_id, sc_reindex_plan *out)
{
    sc_status st;
    int move = to_cluster != NULL && *to_cluster != '\0';
    memset(out, 0, sizeof *out);
    out->channel_id = channel_id;
    st = sc_db_binding_get(r->db, channel_id, &out->binding);
    if (st == SC_OK) {
        out->bound = 1;
    } else if (st != SC_ENOTFOUND) {
        sc_seterr(r->errstr, sizeof r->errstr, "binding of %" PRIu64 ": %s", channel_id,
                  sc_db_errstr(r->db));
        return st;
    }
    if (!out->bound) {
        out->action = "bind+build";
        if (move) {
            snprintf(out->cluster, sizeof out->cluster, "%s", to_cluster);
            snprintf(out->index, sizeof out->index, "%s", r->index_name);
        } else {
            snprintf(out->index, sizeof out->index, "%s", r->index_name);
        }
    } else if (move &&
               (out->move = sc_reindex_classify_move(&out->binding, to_cluster)) != SC_MOVE_GO) {
        out->action = out->move == SC_MOVE_ALREADY_THERE ? "already-there" : "conflict";
        snprintf(out->cluster, sizeof out->cluster, "%s", out->binding.cluster);
        snprintf(out->index, sizeof out->index, "%s", out->binding.index);
    } else if (!move || strcmp(out->binding.cluster, to_cluster) == 0) {
        out->action = out->binding.state == SC_BINDING_MOVING && move ? "resume-move" : "rebuild";
        snprintf(out->cluster, sizeof out->cluster, "%s", out->binding.cluster);
        snprintf(out->index, sizeof out->index, "%s", out->binding.index);
    } else {
        out->action = "move";
        snprintf(out->cluster, sizeof out->cluster, "%s", to_cluster);
        snprintf(out->index, sizeof out->index, "%s", r->index_name);
    }
    st = sc_db_count_messages(r->db, channel_id, 0, &out->total);
    if (st == SC_OK)
        st = sc_db_count_messages(r->db, channel_id, min_id, &out->recent);
    if (st != SC_OK)
        sc_seterr(r->errstr, sizeof r->errstr, "count messages of %" PRIu64 ": %s", channel_id,
                  sc_db_errstr(r->db));
    return st;
}
