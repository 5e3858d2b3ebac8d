/*
 * verify_channel.c - verifying one channel (see verify.h): the copies its
 * binding names (both while it moves), a first pass over them and the stale
 * copies, a confirming pass after a refresh when drift was seen, and with
 * repair the repairing pass and the pass that checks it.
 */
#include "verify_int.h"

#include "log.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* One pass over every copy and the stale copies; writing = repair. */
static sc_status one_pass(sc_verifier *v, sc_verify_result *r, int writing)
{
    int i;
    sc_status st;
    v->writing = writing;
    for (i = 0; i < r->n_copies; i++) {
        sc_verify_copy *c = &r->copies[i];
        c->missing = c->extra = c->stale = c->no_digest = 0;
        c->index_missing = 0;
        if ((st = vf_compare_copy(v, c)) != SC_OK)
            return st;
    }
    r->n_stale_copies = 0;
    r->stale_copy_docs = 0;
    return vf_find_stale_copies(v);
}

static int64_t drift_of(const sc_verify_result *r)
{
    int64_t d = r->stale_copy_docs;
    int i;
    for (i = 0; i < r->n_copies; i++)
        d += r->copies[i].missing + r->copies[i].extra + r->copies[i].stale;
    return d;
}

static void sum_drift(sc_verify_result *r)
{
    int i;
    r->missing = r->extra = r->stale = r->no_digest = 0;
    for (i = 0; i < r->n_copies; i++) {
        r->missing += r->copies[i].missing;
        r->extra += r->copies[i].extra;
        r->stale += r->copies[i].stale;
        r->no_digest += r->copies[i].no_digest;
    }
}

/* Refresh every copy's index so the next pass sees every write. */
static void refresh_copies(sc_verifier *v, sc_verify_result *r)
{
    int i;
    for (i = 0; i < r->n_copies; i++) {
        es_client *es;
        if (sc_reindex_client(v->rx, r->copies[i].cluster, &es) == SC_OK) {
            r->es_requests++;
            if (es_refresh(es, r->copies[i].index) != SC_OK)
                log_debug("verify: refresh %s/%s: %s", r->copies[i].cluster, r->copies[i].index,
                          es_errstr(es));
        }
    }
}

sc_status sc_verify_channel(sc_verifier *v, uint64_t channel_id, sc_verify_result *out)
{
    sc_binding b;
    sc_status st;
    int64_t t0 = sc_now_ms();
    int i;
    if (v == NULL || out == NULL)
        return SC_EINVAL;
    memset(out, 0, sizeof *out);
    v->errstr[0] = '\0';
    v->res = out;
    v->channel = channel_id;
    out->channel_id = channel_id;
    out->pg_queries++;
    st = sc_db_binding_get(v->db, channel_id, &b);
    if (st == SC_ENOTFOUND) {
        int64_t n = 0;
        if ((st = vf_pg_total(v, &n)) != SC_OK)
            return st;
        if (n == 0) {
            sc_seterr(v->errstr, sizeof v->errstr,
                      "channel %" PRIu64 " has no binding and no messages", channel_id);
            return SC_ENOTFOUND;
        }
        /* rows nobody indexes: all missing (a reindex binds and builds it) */
        out->missing = n;
        out->outcome = SC_VERIFY_DRIFT;
        out->elapsed_ms = sc_now_ms() - t0;
        return SC_OK;
    }
    if (st != SC_OK) {
        sc_seterr(v->errstr, sizeof v->errstr, "binding of %" PRIu64 ": %s", channel_id,
                  sc_db_errstr(v->db));
        return st;
    }
    out->bound = 1;
    snprintf(out->state, sizeof out->state, "%s", sc_binding_state_str(b.state));
    snprintf(out->copies[0].cluster, sizeof out->copies[0].cluster, "%s", b.cluster);
    snprintf(out->copies[0].index, sizeof out->copies[0].index, "%s", b.index);
    out->n_copies = 1;
    if (b.state == SC_BINDING_MOVING && b.prev_cluster[0] != '\0' &&
        (strcmp(b.prev_cluster, b.cluster) != 0 || strcmp(b.prev_index, b.index) != 0)) {
        snprintf(out->copies[1].cluster, sizeof out->copies[1].cluster, "%s", b.prev_cluster);
        snprintf(out->copies[1].index, sizeof out->copies[1].index, "%s", b.prev_index);
        out->n_copies = 2;
    }

    if ((st = one_pass(v, out, 0)) != SC_OK)
        goto out;
    if (drift_of(out) > 0) {
        /* confirm: writes of the last refresh interval are not visible yet */
        refresh_copies(v, out);
        if ((st = one_pass(v, out, 0)) != SC_OK)
            goto out;
    }
    sum_drift(out);
    if (drift_of(out) == 0) {
        out->outcome = SC_VERIFY_AGREE;
    } else if (!v->repair) {
        out->outcome = SC_VERIFY_DRIFT;
    } else {
        sc_verify_result check;
        if ((st = one_pass(v, out, 1)) != SC_OK)
            goto out;
        sum_drift(out); /* what the repair pass found (and fixed) */
        refresh_copies(v, out);
        /* the second pass counts into a scratch result: the drift reported is
         * what was found, the outcome what is left */
        check = *out;
        v->res = &check;
        for (i = 0; i < check.n_copies; i++)
            check.copies[i].missing = check.copies[i].extra = check.copies[i].stale = 0;
        st = one_pass(v, &check, 0);
        v->res = out;
        out->es_requests = check.es_requests;
        out->pg_queries = check.pg_queries;
        out->listed = check.listed;
        if (st != SC_OK)
            goto out;
        out->outcome = drift_of(&check) == 0 ? SC_VERIFY_REPAIRED : SC_VERIFY_DRIFT;
        for (i = 0; i < out->n_copies; i++) {
            out->copies[i].pg_docs = check.copies[i].pg_docs;
            out->copies[i].es_docs = check.copies[i].es_docs;
        }
        if (out->outcome == SC_VERIFY_DRIFT)
            log_warn("verify: channel %" PRIu64 ": %" PRId64 " documents still differ after repair",
                     channel_id, drift_of(&check));
    }
out:
    out->elapsed_ms = sc_now_ms() - t0;
    v->res = NULL;
    return st;
}
