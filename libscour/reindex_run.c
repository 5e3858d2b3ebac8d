/*
 * reindex_run.c - running one claimed reindex job (see reindex.h): load or
 * attach its channels, phase 1 (recent days) then phase 2 (deep history)
 * over every channel, a move's switch and purge, and the job's end (done,
 * failed with its reason, or left running when stopped).
 */
#include "reindex_int.h"

#include "index_name.h"
#include "log.h"
#include "promote_job.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static sc_status load_channels(sc_reindexer *r, const sc_job *job, rx_chan **out, size_t *n)
{
    sc_job_channel *rows = NULL;
    size_t nrows = 0, i;
    sc_status st = sc_db_job_channels(r->db, job->id, &rows, &nrows);
    if (st == SC_OK && nrows == 0) {
        uint64_t *ids = NULL;
        size_t nids = 0;
        st = sc_reindex_job_channels(r, job->kind, job->target, &ids, &nids);
        if (st != SC_OK)
            return st;
        if (nids > 0)
            st = sc_db_job_channels_add(r->db, job->id, ids, nids);
        free(ids);
        if (st == SC_OK)
            st = sc_db_job_channels(r->db, job->id, &rows, &nrows);
    }
    if (st != SC_OK) {
        sc_seterr(r->errstr, sizeof r->errstr, "channels of job %" PRId64 ": %s", job->id,
                  sc_db_errstr(r->db));
        return st;
    }
    *out = calloc(nrows ? nrows : 1, sizeof **out);
    if (*out == NULL) {
        free(rows);
        return SC_ENOMEM;
    }
    for (i = 0; i < nrows; i++)
        (*out)[i].c = rows[i];
    *n = nrows;
    free(rows);
    return SC_OK;
}

static sc_status run_job(sc_reindexer *r, const sc_job *job, rx_chan *ch, size_t n)
{
    const char *to = job->to_cluster[0] ? job->to_cluster : NULL;
    uint64_t min_id = sc_reindex_phase1_min_id(job->created_ms, job->recent_days);
    int64_t total = 0;
    size_t i;
    int phase, any_purge = 0;
    sc_status st;

    r->run_index[0] = '\0';
    r->run_shards = r->big_shards;
    if (strcmp(job->kind, SC_PROMOTE_KIND) == 0) {
        /* a promotion: a move to the channel's own index with N shards */
        uint64_t cid;
        int shards;
        if (sc_promote_target_parse(job->target, &cid, &shards) != SC_OK || to == NULL ||
            sc_index_name_channel(r->index_name, cid, r->run_index, sizeof r->run_index, r->errstr,
                                  sizeof r->errstr) != SC_OK) {
            if (to == NULL)
                sc_seterr(r->errstr, sizeof r->errstr,
                          "promotion job %" PRId64 " has no destination cluster", job->id);
            else if (r->errstr[0] == '\0')
                sc_seterr(r->errstr, sizeof r->errstr, "bad promotion target '%s'", job->target);
            r->run_index[0] = '\0';
            return SC_EINVAL;
        }
        r->run_shards = shards;
    }

    for (i = 0; i < n; i++) {
        int64_t c = 0;
        if (sc_db_count_messages(r->db, ch[i].c.channel_id, 0, &c) == SC_OK) {
            total += c;
            if (sc_db_job_channel_total(r->db, job->id, ch[i].c.channel_id, c) != SC_OK)
                log_warn("reindex: job %" PRId64 " channel %" PRIu64 ": total: %s", job->id,
                         ch[i].c.channel_id, sc_db_errstr(r->db));
        }
    }
    r->prog.total = total;
    for (phase = 1; phase <= 2; phase++) {
        if ((st = sc_db_job_progress(r->db, job->id, phase, total)) != SC_OK) {
            if (st == SC_ECONFLICT) {
                r->res.lost = 1;
                return SC_OK;
            }
            sc_seterr(r->errstr, sizeof r->errstr, "job %" PRId64 ": %s", job->id,
                      sc_db_errstr(r->db));
            return st;
        }
        r->prog.phase = phase;
        for (i = 0; i < n; i++) {
            rx_chan *c = &ch[i];
            if (c->c.done || c->c.phase != phase)
                continue;
            if (rxe_stopped(r) || r->res.lost)
                return SC_OK;
            r->prog.channel_id = c->c.channel_id;
            r->prog.channel_index = i;
            if (!c->prepared && (st = rxe_prepare_channel(r, c, to)) != SC_OK)
                return st;
            if (phase == 1) {
                st = rxe_copy_range(r, job, c, min_id > 0 ? min_id - 1 : 0, 0);
                if (st != SC_OK || rxe_stopped(r) || r->res.lost)
                    return st;
                /* searchable with recent history from now on; answers say the
                 * rest is missing until phase 2 has copied it */
                if (min_id > 0 &&
                    (st = rxe_set_history_if(r, c, SC_BINDING_BUILDING, min_id)) != SC_OK)
                    return st;
                if ((st = rxe_activate_if(r, c, SC_BINDING_BUILDING, NULL)) != SC_OK)
                    return st;
                if (min_id > 0) {
                    if ((st = rxe_set_cursor(r, job, c, 2, 0)) != SC_OK)
                        return st;
                    continue;
                }
            } else {
                st = rxe_copy_range(r, job, c, 0, min_id);
                if (st != SC_OK || rxe_stopped(r) || r->res.lost)
                    return st;
            }
            /* the whole history is there */
            if ((st = rxe_activate_if(r, c, SC_BINDING_BUILDING, NULL)) != SC_OK ||
                (st = rxe_set_history_if(r, c, SC_BINDING_ACTIVE, 0)) != SC_OK)
                return st;
            if (to != NULL) {
                sc_binding b;
                if ((st = rxe_activate_if(r, c, SC_BINDING_MOVING, &b)) != SC_OK ||
                    (st = rxe_set_history_if(r, c, SC_BINDING_ACTIVE, 0)) != SC_OK)
                    return st;
                if (b.prev_cluster[0] != '\0' && (strcmp(b.prev_cluster, b.cluster) != 0 ||
                                                  strcmp(b.prev_index, b.index) != 0)) {
                    c->purge = 1;
                    any_purge = 1;
                    snprintf(c->old_cluster, sizeof c->old_cluster, "%s", b.prev_cluster);
                    snprintf(c->old_index, sizeof c->old_index, "%s", b.prev_index);
                    continue; /* done after the purge */
                }
            }
            if ((st = rxe_set_cursor(r, job, c, c->c.phase, 1)) != SC_OK)
                return st;
            r->res.channels++;
        }
    }
    if (any_purge) {
        /* searches that read the old place just before the switch finish first */
        r->prog.channel_id = 0;
        if (rxe_nap(r, r->purge_delay_ms))
            return SC_OK;
        for (i = 0; i < n; i++) {
            if (!ch[i].purge)
                continue;
            rxe_purge_old(r, &ch[i]);
            if ((st = rxe_set_cursor(r, job, &ch[i], ch[i].c.phase, 1)) != SC_OK)
                return st;
            r->res.channels++;
        }
    }
    return SC_OK;
}

sc_status sc_reindex_run_job(sc_reindexer *r, const sc_job *job, sc_reindex_result *res)
{
    rx_chan *ch = NULL;
    size_t n = 0;
    sc_status st;

    if (r == NULL || job == NULL)
        return SC_EINVAL;
    memset(&r->res, 0, sizeof r->res);
    memset(&r->prog, 0, sizeof r->prog);
    r->errstr[0] = '\0';
    r->run_t0_us = sc_now_us();
    r->run_sent = 0;
    r->prog.job_id = job->id;
    r->prog.done = job->done;
    r->prog.phase = job->phase;
    st = load_channels(r, job, &ch, &n);
    if (st == SC_OK) {
        r->prog.n_channels = n;
        r->res.job_channels = (int64_t)n;
        st = run_job(r, job, ch, n);
    }
    free(ch);
    if (st == SC_OK && rxe_stopped(r) && !r->res.lost) {
        r->res.interrupted = 1;
        sc_seterr(r->errstr, sizeof r->errstr,
                  "interrupted; resume with `reindex resume %" PRId64 "`", job->id);
    } else if (st == SC_OK && !r->res.lost) {
        sc_status fs = sc_db_job_finish(r->db, job->id, SC_JOB_DONE, NULL);
        if (fs == SC_ECONFLICT || fs == SC_ENOTFOUND)
            r->res.lost = 1;
        else if (fs != SC_OK) {
            sc_seterr(r->errstr, sizeof r->errstr, "finish job %" PRId64 ": %s", job->id,
                      sc_db_errstr(r->db));
            st = fs;
        }
    } else if (st != SC_OK) {
        log_error("reindex: job %" PRId64 " failed: %s", job->id, r->errstr);
        if (sc_db_job_finish(r->db, job->id, SC_JOB_FAILED, r->errstr) != SC_OK)
            log_warn("reindex: job %" PRId64 ": could not record the failure: %s", job->id,
                     sc_db_errstr(r->db));
    }
    r->res.job_done = r->prog.done;
    rxe_report(r, 1);
    if (res != NULL)
        *res = r->res;
    return st;
}
