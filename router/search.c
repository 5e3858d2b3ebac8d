/*
 * search.c - one message search, from an authenticated request to a
 * Discord-shaped answer:
 *
 *   token (auth.c, jwt.c) -> parameters (query.c) -> scope = channels the user may
 *   read (perm.c; channel endpoint: 403 if not readable; guild endpoint:
 *   readable channels of the guild, DM endpoint: every DM and group DM the
 *   user is a recipient of; both intersected with channel_id filters)
 *   -> bindings (binding.c, never assigning; unbound channels hold nothing;
 *   "building" anywhere -> 202; "moving" reads the previous place; a
 *   channel whose older history is still being copied makes the answer
 *   partial, "history_incomplete")
 *   -> one query per (cluster, index) group, concurrently (fanout.c); sent
 *   early, before the bindings are read, where the last known bindings
 *   (bindcache.c) point, and kept only if the bindings read give the same
 *   groups (otherwise dropped and asked again: never a stale answer)
 *   -> merge (merge.c: exact offset/limit across clusters)
 *   -> bodies from PostgreSQL (deleted or vanished hits dropped; a hit whose
 *   row is outside the scope is dropped too) -> highlights and context.
 *
 * Not here: HTTP framing and limits (http.c), error bodies (reply.c).
 */
#include "router.h"

#include "dirty.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>


static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int has_u64(const uint64_t *v, size_t n, uint64_t x)
{
    return n > 0 && bsearch(&x, v, n, sizeof(uint64_t), cmp_u64) != NULL;
}

/* Add channel ch to the group (cluster, index), creating it. */
static sc_status group_add(rt_group **gs, size_t *ng, size_t *gcap, const char *cluster,
                           const char *index, uint64_t ch)
{
    rt_group *g = NULL;
    for (size_t i = 0; i < *ng; i++)
        if (strcmp((*gs)[i].cluster, cluster) == 0 && strcmp((*gs)[i].index, index) == 0) {
            g = &(*gs)[i];
            break;
        }
    if (g == NULL) {
        if (*ng == *gcap) {
            size_t nc = *gcap ? *gcap * 2 : 4;
            rt_group *p = realloc(*gs, nc * sizeof(*p));
            if (p == NULL)
                return SC_ENOMEM;
            *gs = p;
            *gcap = nc;
        }
        g = &(*gs)[(*ng)++];
        memset(g, 0, sizeof(*g));
        snprintf(g->cluster, sizeof(g->cluster), "%s", cluster);
        snprintf(g->index, sizeof(g->index), "%s", index);
    }
    if (g->n == g->cap) {
        size_t nc = g->cap ? g->cap * 2 : 8;
        uint64_t *p = realloc(g->channels, nc * sizeof(*p));
        if (p == NULL)
            return SC_ENOMEM;
        g->channels = p;
        g->cap = nc;
    }
    g->channels[g->n++] = ch;
    return SC_OK;
}

static void groups_free(rt_group *gs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(gs[i].channels);
    free(gs);
}

/* Render one result entry: [context after (newest first), hit, context
 * before (newest first)] - the channel's timeline, newest on top.
 * edited_ms: the hit's edit time (0 = never). */
static sc_status render_entry(sc_buf *out, rt_thread *t, const sc_search_req *req,
                              const sc_message *m, int64_t edited_ms, const sc_hl_term *hl,
                              size_t nhl)
{
    sc_message *before = NULL, *after = NULL;
    size_t nb = 0, na = 0;
    /* edit times of the context: before[0..nb) then after[0..na) */
    uint64_t cids[2 * RT_CONTEXT_EACH_SIDE];
    int64_t ced[2 * RT_CONTEXT_EACH_SIDE];
    sc_status st = SC_OK;
    memset(ced, 0, sizeof(ced));
    if (req->include_context) {
        st = rt_context(t->db, m->channel_id, m->id, RT_CONTEXT_EACH_SIDE, &before, &nb, &after,
                        &na);
        if (st != SC_OK) {
            log_warn("router: context of %llu: %s", (unsigned long long)m->id, sc_db_errstr(t->db));
            nb = na = 0; /* answer without context rather than fail */
            st = SC_OK;
        }
        for (size_t i = 0; i < nb; i++)
            cids[i] = before[i].id;
        for (size_t i = 0; i < na; i++)
            cids[nb + i] = after[i].id;
        if (nb + na > 0 && rt_edited_times(t->db, cids, nb + na, ced) != SC_OK)
            log_warn("router: edit times of context of %llu: %s", (unsigned long long)m->id,
                     sc_db_errstr(t->db)); /* shown as null rather than fail */
    }
    st = sc_buf_puts(out, "[");
    for (size_t i = na; i-- > 0 && st == SC_OK;) {
        st = rt_render_message(out, &after[i], ced[nb + i], 0, NULL, 0);
        if (st == SC_OK)
            st = sc_buf_puts(out, ",");
    }
    if (st == SC_OK)
        st = rt_render_message(out, m, edited_ms, 1, hl, nhl);
    for (size_t i = 0; i < nb && st == SC_OK; i++) {
        st = sc_buf_puts(out, ",");
        if (st == SC_OK)
            st = rt_render_message(out, &before[i], ced[i], 0, NULL, 0);
    }
    if (st == SC_OK)
        st = sc_buf_puts(out, "]");
    for (size_t i = 0; i < nb; i++)
        sc_message_clear(&before[i]);
    for (size_t i = 0; i < na; i++)
        sc_message_clear(&after[i]);
    free(before);
    free(after);
    return st;
}

/* Why a 200 answer is partial (docs/router.md "Partial answers"). */
typedef struct rt_partial {
    size_t failed_clusters;       /* clusters that failed or answered incompletely */
    size_t incomplete;            /* channels in scope whose older history is still being copied */
    int64_t docs_done;            /* their rebuilds' progress (sc_db_rebuild_progress) */
    int64_t docs_total;           /* messages those rebuilds copy; 0 when unknown */
    const rt_group *gs;           /* ref: the groups asked (for "clusters"), may be NULL */
    const sc_cluster_result *res; /* ref: their answers, parallel to gs */
    size_t ng;                    /* entries of gs and res */
} rt_partial;

/* ,"clusters":[{"name":..,"ok":..},...]: every cluster asked, once, ok
 * when none of its groups failed or answered incompletely. */
static sc_status render_clusters(sc_buf *out, const rt_partial *p)
{
    size_t shown = 0;
    sc_status st = sc_buf_puts(out, ",\"clusters\":[");
    for (size_t i = 0; i < p->ng && st == SC_OK; i++) {
        int seen = 0, ok = 1;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(p->gs[j].cluster, p->gs[i].cluster) == 0;
        if (seen)
            continue;
        for (size_t j = i; j < p->ng; j++)
            if (strcmp(p->gs[j].cluster, p->gs[i].cluster) == 0 &&
                (p->res[j].failed || p->res[j].incomplete))
                ok = 0;
        st = sc_buf_puts(out, shown++ ? ",{\"name\":" : "{\"name\":");
        if (st == SC_OK)
            st = sc_buf_json_str(out, p->gs[i].cluster);
        if (st == SC_OK)
            st = sc_buf_printf(out, ",\"ok\":%s}", ok ? "true" : "false");
    }
    if (st == SC_OK)
        st = sc_buf_puts(out, "]");
    return st;
}

/* Append the partial-answer members (nothing when the answer is complete). */
static sc_status render_partial(sc_buf *out, const rt_partial *p)
{
    sc_status st;
    if (p->failed_clusters == 0 && p->incomplete == 0)
        return SC_OK;
    st = sc_buf_printf(out, ",\"partial\":true,\"partial_reasons\":[%s%s%s]",
                       p->failed_clusters > 0 ? "\"clusters_failed\"" : "",
                       p->failed_clusters > 0 && p->incomplete > 0 ? "," : "",
                       p->incomplete > 0 ? "\"history_incomplete\"" : "");
    if (st == SC_OK)
        st = sc_buf_printf(out, ",\"failed_clusters\":%zu", p->failed_clusters);
    if (st == SC_OK && p->incomplete > 0)
        st = sc_buf_printf(out, ",\"history_incomplete_channels\":%zu,\"documents_indexed\":%lld",
                           p->incomplete, (long long)p->docs_done);
    if (st == SC_OK && p->incomplete > 0 && p->docs_total > 0)
        st = sc_buf_printf(
            out, ",\"indexed_fraction\":%.3f",
            p->docs_done >= p->docs_total ? 0.999 : (double)p->docs_done / (double)p->docs_total);
    return st;
}

/* Hydrate the page and write the 200 body. */
static sc_status render_page(router *r, rt_thread *t, const sc_search_req *req,
                             const sc_merge_page *page, const uint64_t *scope, size_t nscope,
                             const rt_partial *partial, sc_buf *out)
{
    uint64_t *ids = NULL;
    sc_message *rows = NULL;
    int64_t *edited = NULL; /* parallel to rows */
    size_t nrows = 0, shown = 0;
    sc_hl_term hl[SC_QUERY_MAX_TERMS];
    size_t nhl = sc_query_highlight_terms(req, hl, SC_QUERY_MAX_TERMS);
    sc_status st;

    if (page->n > 0) {
        ids = malloc(page->n * sizeof(uint64_t));
        if (ids == NULL)
            return SC_ENOMEM;
        for (size_t i = 0; i < page->n; i++)
            ids[i] = page->hits[i].id;
        st = sc_db_fetch_messages_ex(t->db, ids, page->n, &rows, &nrows, &edited);
        free(ids);
        if (st != SC_OK)
            return st;
    }
    st = sc_buf_printf(out, "{\"total_results\":%llu,\"messages\":[",
                       (unsigned long long)page->total);
    for (size_t i = 0; i < page->n && st == SC_OK; i++) {
        const sc_message *m = NULL;
        int64_t ed = 0;
        for (size_t k = 0; k < nrows; k++)
            if (rows[k].id == page->hits[i].id) {
                m = &rows[k];
                ed = edited[k];
                break;
            }
        if (m == NULL || m->deleted || !has_u64(scope, nscope, m->channel_id)) {
            sc_metric_add(r->m_dropped, NULL, 1);
            continue;
        }
        if (shown++ > 0)
            st = sc_buf_puts(out, ",");
        if (st == SC_OK)
            st = render_entry(out, t, req, m, ed, hl, nhl);
    }
    if (st == SC_OK)
        st = sc_buf_puts(out, "]");
    if (st == SC_OK)
        st = render_partial(out, partial);
    if (st == SC_OK && partial->gs != NULL && partial->res != NULL)
        st = render_clusters(out, partial);
    if (st == SC_OK)
        st = sc_buf_puts(out, "}");
    for (size_t k = 0; k < nrows; k++)
        sc_message_clear(&rows[k]);
    free(rows);
    free(edited);
    return st;
}

/* Progress of the rebuilds in a scope (the 202's documents_indexed, a
 * partial answer's documents_indexed and indexed_fraction), from the
 * per-channel counters of each channel's newest rebuild job
 * (sc_db_rebuild_progress: the channels being rebuilt, plus those rebuilt
 * in the same wave that already finished, so the figure only grows while
 * the scope is building). A failed lookup is logged and reads 0 (the 202 or
 * the partial flag is still right). */
static void rebuild_progress(rt_thread *t, const uint64_t *scope, const sc_binding *b,
                             const int *found, size_t nscope, int64_t *done, int64_t *total)
{
    uint64_t *ids = malloc((nscope ? nscope : 1) * 2 * sizeof(uint64_t));
    size_t n = 0, nr = 0;
    *done = *total = 0;
    if (ids == NULL)
        return;
    for (size_t i = 0; i < nscope; i++) {
        if (!found[i])
            continue;
        ids[n++] = scope[i];
        if (b[i].state == SC_BINDING_BUILDING || b[i].history_from > 0)
            ids[nscope + nr++] = scope[i];
    }
    if (sc_db_rebuild_progress(t->db, ids, n, ids + nscope, nr, done, total) != SC_OK)
        log_warn("router: rebuild progress of %zu channels: %s", n, sc_db_errstr(t->db));
    free(ids);
}

/* Channels of the scope that are searched while their older history is
 * still being copied (history_from above the query's lower id bound). */
static size_t history_incomplete(const sc_search_req *req, const sc_binding *b, const int *found,
                                 size_t nscope)
{
    size_t k = 0;
    for (size_t i = 0; i < nscope; i++)
        k += found[i] && b[i].state != SC_BINDING_BUILDING && b[i].history_from > 0 &&
             req->id_gte < b[i].history_from;
    return k;
}

/* Distinct cluster names among failed groups. */
static size_t count_failed(const rt_group *gs, const sc_cluster_result *res, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++) {
        int seen = 0;
        if (!res[i].failed && !res[i].incomplete)
            continue;
        for (size_t j = 0; j < i && !seen; j++)
            seen =
                (res[j].failed || res[j].incomplete) && strcmp(gs[j].cluster, gs[i].cluster) == 0;
        c += !seen;
    }
    return c;
}

/* The (cluster, index) groups to ask for scope[0..n) under bindings b/found:
 * unbound channels hold nothing; a moving channel is read where it was.
 * *building is set (and grouping stops) when a channel is being rebuilt. */
static sc_status make_groups(const uint64_t *scope, const sc_binding *b, const int *found, size_t n,
                             rt_group **gs, size_t *ng, int *building)
{
    size_t gcap = 0;
    *gs = NULL;
    *ng = 0;
    *building = 0;
    for (size_t i = 0; i < n; i++) {
        const char *cl = b[i].cluster, *ix = b[i].index;
        if (!found[i])
            continue; /* never bound: nothing indexed */
        if (b[i].state == SC_BINDING_BUILDING) {
            *building = 1;
            return SC_OK; /* the answer is a 202: no need to group the rest */
        }
        if (b[i].state == SC_BINDING_MOVING && b[i].prev_cluster[0] != '\0' &&
            b[i].prev_index[0] != '\0') {
            cl = b[i].prev_cluster;
            ix = b[i].prev_index;
        }
        if (group_add(gs, ng, &gcap, cl, ix, scope[i]) != SC_OK)
            return SC_ENOMEM;
    }
    return SC_OK;
}

/* 1 when both group lists ask exactly the same questions. */
static int groups_equal(const rt_group *a, size_t na, const rt_group *b, size_t nb)
{
    if (na != nb)
        return 0;
    for (size_t i = 0; i < na; i++)
        if (a[i].n != b[i].n || strcmp(a[i].cluster, b[i].cluster) != 0 ||
            strcmp(a[i].index, b[i].index) != 0 ||
            memcmp(a[i].channels, b[i].channels, a[i].n * sizeof(uint64_t)) != 0)
            return 0;
    return 1;
}

static void results_free(sc_cluster_result *res, size_t n)
{
    if (res != NULL)
        for (size_t i = 0; i < n; i++)
            sc_cluster_result_clear(&res[i]);
    free(res);
}

/* Start the search where the last known bindings of the scope point, so the
 * clusters work while the current bindings are read; the run is kept only if
 * those give the same groups (search_scope). NULL when there is no guess. */
static rt_fanout_run *ask_early(router *r, rt_thread *t, const sc_search_req *req,
                                const uint64_t *scope, size_t nscope, int64_t deadline_ms,
                                rt_group **egs, size_t *eng, sc_cluster_result **eres)
{
    sc_binding *eb = malloc(nscope * sizeof(*eb));
    int *efound = malloc(nscope * sizeof(*efound)), building = 1;
    rt_fanout_run *run = NULL;
    if (eb != NULL && efound != NULL && rt_bind_cache_get(r->binds, scope, nscope, eb, efound) &&
        make_groups(scope, eb, efound, nscope, egs, eng, &building) == SC_OK && !building &&
        *eng > 0 && (*eres = calloc(*eng, sizeof(**eres))) != NULL &&
        rt_fanout_start(r, t, req, *egs, *eng, deadline_ms, *eres, &run) != SC_OK)
        run = NULL;
    free(eb);
    free(efound);
    return run;
}

/* Dirty-mark keys of groups gs[0..n) into one buffer (keys[i] points into
 * *buf, free() both). 0 on out of memory. */
static int mark_keys(router *r, const rt_group *gs, size_t n, char ***keys, char **buf)
{
    *keys = calloc(n ? n : 1, sizeof(**keys));
    *buf = malloc((n ? n : 1) * SC_DIRTY_KEY_MAX);
    if (*keys == NULL || *buf == NULL) {
        free(*keys);
        free(*buf);
        *keys = NULL;
        *buf = NULL;
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        (*keys)[i] = *buf + i * SC_DIRTY_KEY_MAX;
        sc_dirty_key(r->cfg->namespace, gs[i].cluster, gs[i].index, (*keys)[i], SC_DIRTY_KEY_MAX);
    }
    return 1;
}

/* The mark values of groups gs[0..ng) into vals[] (heap copies, NULL = no
 * key): taken over from the early groups' values read with the bindings
 * (evals, parallel to egs) when the group was guessed, the rest with one
 * more MGET. A Redis failure leaves them NULL (searched without refresh). */
static void mark_values(router *r, rt_thread *t, const rt_group *gs, size_t ng, const rt_group *egs,
                        size_t eng, char **evals, char **vals)
{
    char **keys = NULL, *buf = NULL, **miss = NULL, **mv = NULL;
    size_t *at = calloc(ng ? ng : 1, sizeof(*at)), nm = 0;
    if (at == NULL)
        return;
    for (size_t i = 0; i < ng; i++) {
        int got = 0;
        vals[i] = NULL;
        for (size_t j = 0; j < eng && !got; j++)
            if (strcmp(gs[i].cluster, egs[j].cluster) == 0 &&
                strcmp(gs[i].index, egs[j].index) == 0) {
                vals[i] = evals[j];
                evals[j] = NULL;
                got = 1;
            }
        if (!got)
            at[nm++] = i; /* not guessed: read below */
    }
    if (nm == 0)
        goto out;
    miss = calloc(nm, sizeof(*miss));
    mv = calloc(nm, sizeof(*mv));
    if (miss == NULL || mv == NULL || !mark_keys(r, gs, ng, &keys, &buf))
        goto out;
    for (size_t k = 0; k < nm; k++)
        miss[k] = keys[at[k]];
    if (sc_redis_mget(t->redis, (const char *const *)miss, nm, mv) != SC_OK) {
        log_warn("router: dirty marks unreadable (%s): searching without refresh",
                 sc_redis_errstr(t->redis));
        goto out;
    }
    for (size_t k = 0; k < nm; k++)
        vals[at[k]] = mv[k];
out:
    free(at);
    free(mv);
    free(miss);
    free(keys);
    free(buf);
}

/* 1 when some group's mark asks for a refresh first. */
static int any_dirty(router *r, char *const *vals, size_t n)
{
    int64_t now = sc_wall_ms();
    for (size_t i = 0; i < n; i++)
        if (sc_dirty_parse(vals[i], now, r->cfg->refresh_mark_ttl_s) == SC_DIRTY_DIRTY)
            return 1;
    return 0;
}

static void vals_free(char **v, size_t n)
{
    if (v != NULL)
        for (size_t i = 0; i < n; i++)
            free(v[i]);
    free(v);
}

/* Everything after the scope is known. */
static void search_scope(router *r, rt_thread *t, const sc_search_req *req, const uint64_t *scope,
                         size_t nscope, rt_reply *rep, int64_t deadline_ms)
{
    sc_binding *b = NULL;
    int *found = NULL;
    rt_group *gs = NULL, *egs = NULL; /* groups now / as asked early */
    size_t ng = 0, eng = 0;
    sc_cluster_result *res = NULL, *eres = NULL;
    rt_fanout_run *early = NULL;
    sc_merge_page page;
    rt_partial partial;
    int building = 0, fresh_ok = 1;
    int ror = r->cfg->refresh_on_read; /* refresh on read (fresh.c) */
    char **ekeys = NULL, *ekbuf = NULL, **evals = NULL, **vals = NULL;
    sc_status st;

    memset(&page, 0, sizeof(page));
    if (nscope == 0) {
        rep->status = 200;
        sc_buf_reset(&rep->body);
        if (sc_buf_puts(&rep->body, "{\"total_results\":0,\"messages\":[]}") != SC_OK)
            rt_reply_error(rep, 500, "500: Internal Server Error", RT_CODE_GENERAL);
        return;
    }
    early = ask_early(r, t, req, scope, nscope, deadline_ms, &egs, &eng, &eres);
    b = calloc(nscope, sizeof(*b));
    found = calloc(nscope, sizeof(*found));
    if (b == NULL || found == NULL) {
        rt_reply_error(rep, 500, "500: Internal Server Error", RT_CODE_GENERAL);
        goto out;
    }
    /* the dirty marks of the guessed groups ride on the bindings' MGET */
    if (ror && eng > 0 && mark_keys(r, egs, eng, &ekeys, &ekbuf) &&
        (evals = calloc(eng, sizeof(*evals))) != NULL)
        st = sc_binder_resolve_with(t->binder, scope, nscope, b, found, (const char *const *)ekeys,
                                    eng, evals);
    else
        st = sc_binder_resolve(t->binder, scope, nscope, 0, b, found);
    if (st != SC_OK) {
        log_error("router: binding resolution failed: %s", sc_binder_errstr(t->binder));
        rt_reply_error(rep, 503, "503: Service Unavailable", RT_CODE_GENERAL);
        goto out;
    }
    rt_bind_cache_put(r->binds, scope, nscope, b, found);
    if (make_groups(scope, b, found, nscope, &gs, &ng, &building) != SC_OK) {
        rt_reply_error(rep, 500, "500: Internal Server Error", RT_CODE_GENERAL);
        goto out;
    }
    if (ror && !building && ng > 0) {
        if ((vals = calloc(ng, sizeof(*vals))) == NULL) {
            rt_reply_error(rep, 500, "500: Internal Server Error", RT_CODE_GENERAL);
            goto out;
        }
        mark_values(r, t, gs, ng, egs, evals != NULL ? eng : 0, evals, vals);
        if (early != NULL && any_dirty(r, vals, ng)) {
            /* the index must be refreshed first: the early answer cannot stand */
            sc_metric_add(r->m_early, "dropped", 1);
            rt_fanout_cancel(r, t, early);
            early = NULL;
        }
        fresh_ok = rt_fresh_prepare(r, t, gs, ng, vals, deadline_ms);
    }
    if (early != NULL) {
        int keep = !building && fresh_ok && groups_equal(egs, eng, gs, ng);
        sc_metric_add(r->m_early, keep ? "kept" : "dropped", 1);
        if (keep) {
            rt_fanout_wait(r, t, early);
            res = eres; /* parallel to egs, which equals gs */
            eres = NULL;
        } else {
            rt_fanout_cancel(r, t, early);
        }
        early = NULL;
    }
    if (building) {
        int64_t done, total;
        rebuild_progress(t, scope, b, found, nscope, &done, &total);
        sc_metric_add(r->m_building, NULL, 1);
        rep->status = 202;
        rep->retry_after = RT_RETRY_AFTER_S;
        sc_buf_reset(&rep->body);
        if (sc_buf_printf(&rep->body,
                          "{\"message\":\"Index not yet available. Try again later\","
                          "\"code\":%d,\"documents_indexed\":%lld,\"retry_after\":%d}",
                          RT_CODE_INDEX_NOT_READY, (long long)done, RT_RETRY_AFTER_S) != SC_OK)
            rt_reply_error(rep, 500, "500: Internal Server Error", RT_CODE_GENERAL);
        goto out;
    }
    if (ng > 0 && res == NULL) {
        res = calloc(ng, sizeof(*res));
        if (res == NULL || rt_fanout(r, t, req, gs, ng, deadline_ms, res) != SC_OK) {
            rt_reply_error(rep, 500, "500: Internal Server Error", RT_CODE_GENERAL);
            goto out;
        }
    }
    if (sc_merge(res, ng, req->sort_by, req->sort_order, req->offset, req->limit, &page) != SC_OK) {
        rt_reply_error(rep, 500, "500: Internal Server Error", RT_CODE_GENERAL);
        goto out;
    }
    memset(&partial, 0, sizeof(partial));
    partial.gs = gs;
    partial.res = res;
    partial.ng = ng;
    if (page.partial)
        partial.failed_clusters = count_failed(gs, res, ng);
    partial.incomplete = history_incomplete(req, b, found, nscope);
    if (partial.incomplete > 0)
        rebuild_progress(t, scope, b, found, nscope, &partial.docs_done, &partial.docs_total);
    if (page.partial || partial.incomplete > 0)
        sc_metric_add(r->m_partial, NULL, 1);
    sc_buf_reset(&rep->body);
    st = render_page(r, t, req, &page, scope, nscope, &partial, &rep->body);
    if (st != SC_OK) {
        log_error("router: hydration failed: %s: %s", sc_status_str(st), sc_db_errstr(t->db));
        rt_reply_error(rep, st == SC_ENOMEM ? 500 : 503,
                       st == SC_ENOMEM ? "500: Internal Server Error" : "503: Service Unavailable",
                       RT_CODE_GENERAL);
        goto out;
    }
    rep->status = 200;
out:
    rt_fanout_cancel(r, t, early); /* still set only on an early exit */
    vals_free(evals, evals != NULL ? eng : 0);
    vals_free(vals, ng);
    free(ekeys);
    free(ekbuf);
    results_free(eres, eng);
    results_free(res, ng);
    sc_merge_page_clear(&page);
    groups_free(gs, ng);
    groups_free(egs, eng);
    free(b);
    free(found);
}

/* Take a token from the client IP's bucket and, for an authenticated user,
 * the user's (one Redis round trip), and add the X-RateLimit-* headers of
 * the user's bucket (the IP's before authentication, the denying one on a
 * 429). Returns 1 when the request may go on, 0 when rep is the 429. */
static int rate_limited_ok(router *r, rt_thread *t, const char *ip, uint64_t user, rt_reply *rep)
{
    const sc_config *cfg = r->cfg;
    sc_rl_bucket b[2];
    const char *names[2];
    char kip[320], kuser[320];
    size_t n = 0, show;
    sc_rl_result res;
    if (cfg->rate_limit_ip > 0 && ip != NULL && ip[0] != '\0') {
        snprintf(kip, sizeof(kip), "%s:rl:ip:%s", cfg->namespace, ip);
        b[n] = (sc_rl_bucket){kip, cfg->rate_limit_ip, cfg->rate_limit_ip_window_ms};
        names[n++] = "search.ip";
    }
    if (cfg->rate_limit_user > 0 && user != 0) {
        snprintf(kuser, sizeof(kuser), "%s:rl:user:%llu", cfg->namespace, (unsigned long long)user);
        b[n] = (sc_rl_bucket){kuser, cfg->rate_limit_user, cfg->rate_limit_user_window_ms};
        names[n++] = "search.user";
    }
    if (n == 0)
        return 1;
    sc_ratelimit_take(r->limits, t != NULL ? t->redis : NULL, b, n, sc_now_ms(), &res);
    if (!res.from_redis)
        sc_metric_add(r->m_limit_local, NULL, 1);
    show = res.allowed ? n - 1 : res.denied_by;
    if (!res.allowed)
        sc_metric_add(r->m_limited, names[show], 1);
    rt_reply_rate_limit(rep, &res.st[show], names[show], !res.allowed);
    return res.allowed;
}

void rt_search(router *r, rt_thread *t, const rt_search_in *in, rt_reply *rep)
{
    char err[SC_ERRLEN];
    sc_search_req *req = NULL;
    sc_search_opts so;
    uint64_t user;
    uint64_t *scope = NULL;
    size_t nscope = 0;
    int64_t deadline_ms = sc_now_ms() + r->cfg->query_timeout_ms;
    sc_status st;

    user = sc_auth_user(r->auth, in->authorization);
    if (!rate_limited_ok(r, t, in->client_ip, user, rep))
        return;
    if (user == 0) {
        rt_reply_error(rep, 401, "401: Unauthorized", RT_CODE_GENERAL);
        return;
    }
    memset(&so, 0, sizeof(so));
    so.max_channel_ids = (size_t)r->cfg->max_channels;
    err[0] = '\0';
    st = sc_search_req_parse(in->params, in->n_params, in->endpoint, &so, &req, err, sizeof(err));
    if (st != SC_OK) {
        char param[64];
        if (st == SC_ENOMEM) {
            rt_reply_error(rep, 500, "500: Internal Server Error", RT_CODE_GENERAL);
            return;
        }
        rt_param_of_error(err, param, sizeof(param));
        rt_reply_invalid(rep, param, err);
        return;
    }
    if (t == NULL) {
        rt_reply_busy(rep); /* the worker's handles could not be set up: logged */
        goto out;
    }
    if (in->endpoint == SC_SEARCH_CHANNEL) {
        int ok = 0;
        uint64_t guild = 0;
        st = rt_perm_channel(r->perms, t->db, user, in->target_id, &ok, &guild);
        if (st != SC_OK)
            goto dberr;
        if (!ok) {
            rt_reply_error(rep, 403, "Missing Access", RT_CODE_MISSING_ACCESS);
            goto out;
        }
        scope = malloc(sizeof(uint64_t));
        if (scope == NULL)
            goto oom;
        scope[0] = in->target_id;
        nscope = 1;
    } else {
        /* the readable channels of the guild, or every DM of the user */
        if (in->endpoint == SC_SEARCH_DMS)
            st = rt_perm_dms(r->perms, t->db, user, &scope, &nscope);
        else
            st = rt_perm_guild(r->perms, t->db, user, in->target_id, &scope, &nscope);
        if (st != SC_OK)
            goto dberr;
        if (req->channel_ids.n > 0) {
            /* keep only the filtered channels the user may read */
            size_t k = 0;
            uint64_t *f = malloc(req->channel_ids.n * sizeof(uint64_t));
            if (f == NULL)
                goto oom;
            for (size_t i = 0; i < req->channel_ids.n; i++)
                if (has_u64(scope, nscope, req->channel_ids.v[i]))
                    f[k++] = req->channel_ids.v[i];
            if (k > 1)
                qsort(f, k, sizeof(uint64_t), cmp_u64);
            free(scope);
            scope = f;
            nscope = k;
        }
    }
    search_scope(r, t, req, scope, nscope, rep, deadline_ms);
    goto out;
dberr:
    log_error("router: permission lookup failed: %s: %s", sc_status_str(st), sc_db_errstr(t->db));
    rt_reply_error(rep, 503, "503: Service Unavailable", RT_CODE_GENERAL);
    goto out;
oom:
    rt_reply_error(rep, 500, "500: Internal Server Error", RT_CODE_GENERAL);
out:
    free(scope);
    sc_search_req_free(req);
}
