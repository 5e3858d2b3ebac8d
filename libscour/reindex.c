/*
 * reindex.c - the reindex engine's handle (see reindex.h for the job model):
 * create and free, the cluster clients it writes through, and the pacing
 * every part of a run shares (stop flag, naps, progress reports).
 *
 * The engine is written in layers, each file one concern, arrows running
 * down only: reindex_run.c (a job's phases) over reindex_plan.c (which
 * channels a job covers, what it would do), reindex_move.c (the binding
 * through building/moving -> active, purging an old copy) and
 * reindex_copy.c (PostgreSQL pages -> _bulk, checkpoints), all over this
 * file. It never prints; the program shows progress through the callback.
 */
#include "reindex_int.h"

#include "index_name.h"
#include "promote_job.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

sc_reindexer *sc_reindexer_create(const sc_reindex_opts *o, char *err, size_t errlen)
{
    sc_reindexer *r;
    if (o == NULL || o->db == NULL || o->binder == NULL || o->view == NULL || o->es == NULL ||
        o->index_name == NULL || o->schema_json == NULL) {
        sc_seterr(err, errlen,
                  "reindex: db, binder, view, es, index_name and schema_json are required");
        return NULL;
    }
    if (!es_index_name_ok(o->index_name, 0)) {
        sc_seterr(err, errlen, "reindex: bad index name '%s'", o->index_name);
        return NULL;
    }
    if (o->batch < 0 || o->batch > 10000 || o->rate < 0) {
        sc_seterr(err, errlen, "reindex: batch must be 1..10000 and rate >= 0");
        return NULL;
    }
    r = calloc(1, sizeof *r);
    if (r == NULL) {
        sc_seterr(err, errlen, "reindex: out of memory");
        return NULL;
    }
    r->db = o->db;
    r->binder = o->binder;
    r->view = o->view;
    {
        sc_clients_opts co;
        memset(&co, 0, sizeof co);
        co.base = o->es;
        co.view = o->view;
        co.keep_gone = 1; /* purging an old copy on a cluster that left */
        r->clients = sc_clients_create(&co, err, errlen);
        if (r->clients == NULL) {
            free(r);
            return NULL;
        }
    }
    r->index_name = strdup(o->index_name);
    r->schema = strdup(o->schema_json);
    r->worker = strdup(o->worker != NULL && *o->worker ? o->worker : "reindex");
    r->batch = o->batch > 0 ? o->batch : 1000;
    r->rate = o->rate;
    r->purge_delay_ms = o->purge_delay_ms < 0 ? 0 : o->purge_delay_ms;
    r->big_shards =
        o->big_shards >= 1 && o->big_shards <= SC_PROMOTE_SHARDS_MAX ? o->big_shards : 1;
    r->stop = o->stop;
    r->progress = o->progress;
    r->progress_arg = o->progress_arg;
    if (r->index_name == NULL || r->schema == NULL || r->worker == NULL) {
        sc_reindexer_free(r);
        sc_seterr(err, errlen, "reindex: out of memory");
        return NULL;
    }
    return r;
}

void sc_reindexer_free(sc_reindexer *r)
{
    if (r == NULL)
        return;
    sc_clients_free(r->clients);
    free(r->index_name);
    free(r->schema);
    free(r->worker);
    free(r);
}

const char *sc_reindexer_errstr(const sc_reindexer *r)
{
    return r != NULL ? r->errstr : "reindex: no handle";
}

uint64_t sc_reindex_phase1_min_id(int64_t created_ms, int recent_days)
{
    if (recent_days <= 0)
        return 0;
    return sc_snowflake_from_ms(created_ms - (int64_t)recent_days * 86400000LL);
}

int rxe_stopped(const sc_reindexer *r) { return r->stop != NULL && *r->stop != 0; }

/* Sleep ms in short slices; returns non-zero when asked to stop. */
int rxe_nap(const sc_reindexer *r, int64_t ms)
{
    while (ms > 0 && !rxe_stopped(r)) {
        int64_t s = ms > 100 ? 100 : ms;
        struct timespec ts = {(time_t)(s / 1000), (long)(s % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        ms -= s;
    }
    return rxe_stopped(r);
}

/* The client for cluster name (a cluster that left the view keeps the one
 * it had: purging an old copy). */
sc_status rxe_client(sc_reindexer *r, const char *name, es_client **out)
{
    sc_status st = sc_clients_get(r->clients, name, out);
    if (st == SC_ECONN)
        sc_seterr(r->errstr, sizeof r->errstr,
                  "cluster '%s' is not live (to rebuild its channels elsewhere, use --to)", name);
    else if (st == SC_ENOTFOUND)
        sc_seterr(r->errstr, sizeof r->errstr, "cluster '%s' is unknown", name);
    else if (st != SC_OK)
        sc_seterr(r->errstr, sizeof r->errstr, "%s", sc_clients_errstr(r->clients));
    return st;
}

/* Create index on cluster name unless this run saw it there already. A
 * channel's own index ("<base>-ch-<id>") gets run_shards primary shards. */
sc_status rxe_ensure_index(sc_reindexer *r, const char *name, const char *index)
{
    sc_status st;
    char *schema = NULL;
    if (sc_index_name_is_channel(index, r->index_name, NULL)) {
        schema = sc_promote_schema(r->schema, r->run_shards > 0 ? r->run_shards : r->big_shards);
        if (schema == NULL) {
            sc_seterr(r->errstr, sizeof r->errstr, "index schema with %d shards: out of memory",
                      r->run_shards);
            return SC_ENOMEM;
        }
    }
    st = sc_clients_ensure_index(r->clients, name, index, schema != NULL ? schema : r->schema);
    free(schema);
    if (st == SC_ECONN || st == SC_ENOTFOUND) {
        es_client *es;
        return rxe_client(r, name, &es); /* the same status, with our wording */
    }
    if (st != SC_OK)
        sc_seterr(r->errstr, sizeof r->errstr, "%s", sc_clients_errstr(r->clients));
    return st;
}

void rxe_report(sc_reindexer *r, int final)
{
    r->prog.elapsed_ms = (sc_now_us() - r->run_t0_us) / 1000;
    r->prog.final = final;
    if (r->progress != NULL)
        r->progress(&r->prog, r->progress_arg);
}

sc_status sc_reindex_client(sc_reindexer *r, const char *cluster, es_client **out)
{
    *out = NULL;
    return rxe_client(r, cluster, out);
}
