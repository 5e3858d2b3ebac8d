/*
 * reindex_int.h - what the reindex engine's files share inside the library,
 * and nothing outside it includes: the handle's layout, a channel's run
 * state, and the helpers each layer offers the one above it. The public
 * contract is reindex.h.
 *
 * Layers (arrows run down only):
 *   reindex_run.c   a job's phases, switch and end
 *   reindex_plan.c  which channels a job covers, what a job would do
 *   reindex_move.c  the binding through the job, purging an old copy
 *   reindex_copy.c  PostgreSQL pages -> _bulk, checkpoints, rate limit
 *   reindex.c       the handle, its cluster clients, stop/nap/progress
 */
#ifndef SC_REINDEX_INT_H
#define SC_REINDEX_INT_H

#include "clients.h"
#include "reindex.h"

/* Runtime state of one channel of the job being run. */
typedef struct rx_chan {
    sc_job_channel c;                      /* cursor row (phase, checkpoint, done) */
    char cluster[SC_CLUSTER_NAME_MAX];     /* destination of the copy */
    char index[128];                       /* index there */
    int prepared;                          /* destination decided this run */
    int purge;                             /* a move to purge at the end (prev differs) */
    char old_cluster[SC_CLUSTER_NAME_MAX]; /* copy to purge (move) */
    char old_index[128];                   /* index of the copy to purge */
} rx_chan;

struct sc_reindexer {
    sc_db *db;                         /* ref */
    sc_binder *binder;                 /* ref */
    sc_cluster_view *view;             /* ref */
    sc_clients *clients;               /* owned: es_client per cluster */
    char *index_name;                  /* owned */
    char *schema;                      /* owned */
    char *worker;                      /* owned */
    int batch;                         /* rows per page */
    int64_t rate;                      /* messages/s, 0 = unlimited */
    int purge_delay_ms;                /* wait before purging a move's old copy */
    int big_shards;                    /* shards of a channel's own index made outside a
                                          promotion (a move or rebuild of a promoted channel) */
    const volatile sig_atomic_t *stop; /* ref, may be NULL */
    sc_reindex_progress_fn progress;   /* may be NULL */
    void *progress_arg;                /* for progress */
    /* per run */
    int run_shards;           /* shards of a channel index this run creates */
    char run_index[128];      /* a promotion's destination index, "" = none */
    int64_t run_t0_us;        /* run start (monotonic) */
    int64_t run_sent;         /* messages sent this run (throttle) */
    sc_reindex_progress prog; /* last progress reported */
    sc_reindex_result res;    /* counters of this run */
    char errstr[SC_ERRLEN];   /* last failure */
};

/* ---- reindex.c ---- */

/* Non-zero when the caller's stop flag is set. */
int rxe_stopped(const sc_reindexer *r);
/* Sleep ms in short slices; returns non-zero when asked to stop. */
int rxe_nap(const sc_reindexer *r, int64_t ms);
/* The client for cluster name (a cluster that left the view keeps the one
 * it had: purging an old copy). *out is owned by r. SC_ECONN not live,
 * SC_ENOTFOUND unknown, with the reason in r->errstr. */
sc_status rxe_client(sc_reindexer *r, const char *name, es_client **out);
/* Create index on cluster name unless this run saw it there already. A
 * channel's own index ("<base>-ch-<id>") gets run_shards primary shards. */
sc_status rxe_ensure_index(sc_reindexer *r, const char *name, const char *index);
/* Pass r->prog to the progress callback (final = 1 on a run's last call). */
void rxe_report(sc_reindexer *r, int final);

/* ---- reindex_copy.c ---- */

/* Copy the rows after_id < id < before_id (0 = no bound) of ch, starting
 * from its cursor, checkpointing after each bulk. Returns SC_OK when the
 * range is exhausted or the run stopped (check rxe_stopped()/res.lost). */
sc_status rxe_copy_range(sc_reindexer *r, const sc_job *job, rx_chan *ch, uint64_t after_id,
                         uint64_t before_id);
/* Write ch's cursor row: phase, checkpoint reset unless done, done flag. */
sc_status rxe_set_cursor(sc_reindexer *r, const sc_job *job, rx_chan *ch, int phase, int done);

/* ---- reindex_move.c ---- */

/* Decide where channel ch is copied and put its binding in the state the
 * copy needs. to = destination of a move or NULL. */
sc_status rxe_prepare_channel(sc_reindexer *r, rx_chan *ch, const char *to);
/* When the binding is in state `from` at the copy's destination, refresh
 * the index and make it active; *after (may be NULL) gets the binding. */
sc_status rxe_activate_if(sc_reindexer *r, rx_chan *ch, sc_binding_state from, sc_binding *after);
/* Set history_from of ch's binding to value when the binding is at ch's
 * destination in state `in`. */
sc_status rxe_set_history_if(sc_reindexer *r, rx_chan *ch, sc_binding_state in, uint64_t value);
/* Delete the old copy of a moved channel (failures are only logged). */
void rxe_purge_old(sc_reindexer *r, rx_chan *ch);

#endif
