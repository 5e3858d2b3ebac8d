/*
 * reindex_copy.c - copying a channel's rows into its cluster (see
 * reindex.h): keyset pages from PostgreSQL, external-versioned _bulk
 * requests with retries, a checkpoint of the channel's cursor after every
 * bulk, and the rate limit. Also the writer verify's repair uses.
 */
#include "reindex_int.h"

#include "bulk.h"
#include "esdoc.h"
#include "log.h"

#include <inttypes.h>
#include <stdlib.h>

#define RX_MAX_ATTEMPTS 6      /* bulk attempts before a job fails */
#define RX_BACKOFF_MS 200      /* first retry wait, doubled per attempt */
#define RX_BACKOFF_MAX_MS 5000 /* retry wait ceiling */

/* Wait so that this run stays under rate messages per second. */
static int throttle(sc_reindexer *r, size_t n)
{
    int64_t due_us, now;
    r->run_sent += (int64_t)n;
    if (r->rate <= 0)
        return rxe_stopped(r);
    due_us = r->run_t0_us + (int64_t)((double)r->run_sent * 1e6 / (double)r->rate);
    now = sc_now_us();
    return due_us > now ? rxe_nap(r, (due_us - now + 999) / 1000) : rxe_stopped(r);
}

static int retryable(sc_status st, long http)
{
    if (st == SC_ECONN || st == SC_ETIMEOUT || st == SC_EPROTO)
        return 1;
    return st == SC_ERR && (http == 429 || http >= 500);
}

/* Write msgs[0..n) to index on cluster (client es), retrying transient failures.
 * Conflicts are success; rejects are counted and logged. */
static sc_status write_docs(sc_reindexer *r, const char *cluster, es_client *es, const char *index,
                            const sc_message *msgs, size_t n, int gte)
{
    size_t *pend = malloc((n ? n : 1) * sizeof *pend);
    size_t npend = n, i;
    sc_bulk bulk;
    sc_buf doc, resp;
    sc_status st = SC_OK;
    int attempt;
    int64_t backoff = RX_BACKOFF_MS;

    if (pend == NULL)
        return SC_ENOMEM;
    for (i = 0; i < n; i++)
        pend[i] = i;
    sc_bulk_init(&bulk, 0);
    bulk.gte = gte;
    sc_buf_init(&doc, 0);
    sc_buf_init(&resp, 0);
    for (attempt = 0; npend > 0; attempt++) {
        sc_bulk_result br;
        long http = 0;
        size_t keep = 0;
        char perr[SC_ERRLEN];
        if (attempt >= RX_MAX_ATTEMPTS) {
            st = SC_ERR;
            break;
        }
        if (attempt > 0) {
            if (rxe_nap(r, backoff)) {
                st = SC_ERR;
                sc_seterr(r->errstr, sizeof r->errstr, "interrupted while retrying a bulk request");
                break;
            }
            backoff = backoff * 2 > RX_BACKOFF_MAX_MS ? RX_BACKOFF_MAX_MS : backoff * 2;
        }
        sc_bulk_reset(&bulk);
        for (i = 0; i < npend; i++) {
            const sc_message *m = &msgs[pend[i]];
            sc_buf_reset(&doc);
            st = sc_message_to_doc(m, &doc);
            if (st == SC_OK)
                st = sc_bulk_add_index(&bulk, index, m->id, m->version, doc.data, doc.len);
            if (st != SC_OK) {
                sc_seterr(r->errstr, sizeof r->errstr, "build document %" PRIu64 ": %s", m->id,
                          sc_status_str(st));
                goto out;
            }
        }
        st = es_bulk(es, bulk.body.data, bulk.body.len, &resp, &http);
        if (st != SC_OK) {
            sc_seterr(r->errstr, sizeof r->errstr, "bulk to %s: %s", cluster, es_errstr(es));
            if (!retryable(st, http))
                goto out;
            log_warn("reindex: %s (attempt %d, retrying)", r->errstr, attempt + 1);
            continue;
        }
        st = sc_bulk_parse(resp.data != NULL ? resp.data : "", resp.len, npend, &br, perr,
                           sizeof perr);
        if (st != SC_OK) {
            int again = st == SC_EPROTO || br.req_cls == SC_BULK_RETRY;
            sc_seterr(r->errstr, sizeof r->errstr, "bulk to %s: %s", cluster, perr);
            sc_bulk_result_free(&br);
            if (!again)
                goto out;
            log_warn("reindex: %s (attempt %d, retrying)", r->errstr, attempt + 1);
            continue;
        }
        for (i = 0; i < br.n; i++) {
            switch (br.items[i].cls) {
            case SC_BULK_OK:
                r->res.written++;
                break;
            case SC_BULK_CONFLICT:
                r->res.conflicts++;
                break;
            case SC_BULK_REJECT:
                r->res.rejected++;
                log_warn("reindex: %s/%s rejected message %" PRIu64 ": %s: %s", cluster, index,
                         msgs[pend[i]].id, br.items[i].error_type, br.items[i].reason);
                break;
            case SC_BULK_RETRY:
            default:
                pend[keep++] = pend[i];
                break;
            }
        }
        if (keep > 0)
            sc_seterr(r->errstr, sizeof r->errstr, "bulk to %s: %zu documents still failing",
                      cluster, keep);
        sc_bulk_result_free(&br);
        npend = keep;
        st = SC_OK;
    }
    if (npend > 0 && st == SC_OK)
        st = SC_ERR;
out:
    sc_bulk_free(&bulk);
    sc_buf_free(&doc);
    sc_buf_free(&resp);
    free(pend);
    return st;
}

/* Copy the rows after_id < id < before_id (0 = no bound) of ch, starting
 * from its cursor, checkpointing after each bulk. Returns SC_OK when the
 * range is exhausted or the run stopped (check rxe_stopped()/res.lost). */
sc_status rxe_copy_range(sc_reindexer *r, const sc_job *job, rx_chan *ch, uint64_t after_id,
                         uint64_t before_id)
{
    es_client *cl;
    sc_status st;
    int page = r->batch;
    uint64_t cursor = ch->c.checkpoint_id > after_id ? ch->c.checkpoint_id : after_id;

    if (r->rate > 0 && (int64_t)page > r->rate / 4)
        page = r->rate / 4 > 0 ? (int)(r->rate / 4) : 1; /* ~4 checkpoints per second */
    if ((st = rxe_client(r, ch->cluster, &cl)) != SC_OK)
        return st;
    for (;;) {
        sc_message *msgs = NULL;
        size_t n = 0;
        if (rxe_stopped(r))
            return SC_OK;
        st = sc_db_page_messages(r->db, ch->c.channel_id, cursor, before_id, page, &msgs, &n);
        if (st != SC_OK) {
            sc_seterr(r->errstr, sizeof r->errstr, "read channel %" PRIu64 ": %s", ch->c.channel_id,
                      sc_db_errstr(r->db));
            return st;
        }
        if (n == 0)
            return SC_OK;
        st = write_docs(r, ch->cluster, cl, ch->index, msgs, n, 0);
        if (st != SC_OK) {
            sc_messages_free(msgs, n);
            return st;
        }
        cursor = msgs[n - 1].id;
        sc_messages_free(msgs, n);
        st = sc_db_job_checkpoint(r->db, job->id, ch->c.channel_id, cursor, (int64_t)n);
        if (st == SC_ECONFLICT || st == SC_ENOTFOUND) {
            r->res.lost = 1;
            sc_seterr(r->errstr, sizeof r->errstr, "job %" PRId64 " is no longer running here",
                      job->id);
            return SC_OK;
        }
        if (st != SC_OK) {
            sc_seterr(r->errstr, sizeof r->errstr, "checkpoint job %" PRId64 ": %s", job->id,
                      sc_db_errstr(r->db));
            return st;
        }
        ch->c.checkpoint_id = cursor;
        r->prog.done += (int64_t)n;
        r->prog.run_done += (int64_t)n;
        rxe_report(r, 0);
        if (n < (size_t)page)
            return SC_OK; /* short page: nothing more right now */
        if (throttle(r, n))
            return SC_OK;
    }
}

sc_status rxe_set_cursor(sc_reindexer *r, const sc_job *job, rx_chan *ch, int phase, int done)
{
    sc_status st;
    ch->c.phase = phase;
    ch->c.checkpoint_id = done ? ch->c.checkpoint_id : 0;
    ch->c.done = done;
    st = sc_db_job_channel_set(r->db, job->id, &ch->c);
    if (st != SC_OK)
        sc_seterr(r->errstr, sizeof r->errstr, "job %" PRId64 " channel %" PRIu64 ": %s", job->id,
                  ch->c.channel_id, sc_db_errstr(r->db));
    return st;
}

sc_status sc_reindex_write(sc_reindexer *r, const char *cluster, const char *index,
                           const sc_message *msgs, size_t n, int gte, sc_reindex_result *res)
{
    es_client *es;
    sc_reindex_result before = r->res;
    sc_status st;
    if (n == 0)
        return SC_OK;
    if ((st = rxe_ensure_index(r, cluster, index)) != SC_OK ||
        (st = rxe_client(r, cluster, &es)) != SC_OK)
        return st;
    st = write_docs(r, cluster, es, index, msgs, n, gte);
    if (res != NULL) {
        res->written += r->res.written - before.written;
        res->conflicts += r->res.conflicts - before.conflicts;
        res->rejected += r->res.rejected - before.rejected;
    }
    return st;
}
