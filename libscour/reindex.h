/*
 * reindex.h - the historical reindex engine: copy a channel's messages from
 * PostgreSQL (the source of truth) into its search cluster, resumably, while
 * live indexing goes on. Used by the `reindex` program's one-shot commands and
 * by its worker mode (jobs queued by the CLI or by self-healing, heal.h).
 *
 * A job (db.h: reindex_jobs + per-channel cursors) lists channels. Running it:
 *   - prepare each channel: rebuild in place (onto its current binding; a
 *     channel with no binding is bound "building" to the least-loaded live
 *     cluster), or move (job to_cluster set): the binding becomes "moving"
 *     with cluster/index = destination and prev = old place, so the indexer
 *     writes new events to both and searches keep reading prev;
 *   - phase 1, every channel: messages with id >= snowflake(job created -
 *     recent_days) (recent_days 0: the whole history), then a "building"
 *     binding becomes "active" (searchable with recent history);
 *   - phase 2, after phase 1 of all channels: the deep history (id below the
 *     phase 1 bound);
 *   - a move then switches the binding to "active" at the destination, waits
 *     purge_delay_ms (searches that read prev just before the switch finish),
 *     and purges the old copy with _delete_by_query (terms channel_id).
 * Reading is keyset pagination on message id (sc_db_page_messages), deleted
 * rows included as tombstones. Writing is _bulk with external version = the
 * row's version, exactly as the indexer does, so a 409 means "a newer or equal
 * version is already there" and the copy can never undo a live edit or delete.
 * After each bulk the channel cursor and the job's done counter are written
 * (sc_db_job_checkpoint), which is also the job's heartbeat: a job killed at
 * any point resumes from its cursors.
 *
 * A job of kind "promote" (promote.h) is a move of one channel to its own
 * index "<index_name>-ch-<id>" with N primary shards on its to_cluster,
 * which may be the cluster it is on. A move of a channel that already has
 * its own index keeps that index.
 *
 * Not here: claiming jobs (db.h sc_db_job_claim, the program), printing
 * progress (the program, through the progress callback), config parsing.
 * Thread-safety: one sc_reindexer per thread (it uses the caller's db and
 * binder handles, which are single-threaded).
 */
#ifndef SC_REINDEX_H
#define SC_REINDEX_H

#include "binding.h"
#include "cluster.h"
#include "db.h"
#include "es.h"
#include "message.h"
#include "sc.h"

#include <signal.h>
#include <stdint.h>

/* A worker steals a running job whose heartbeat is older than this. */
#define SC_REINDEX_STALE_S 60

/* Progress of a running job, passed to the progress callback after every
 * bulk request and once at the end (final = 1). */
typedef struct sc_reindex_progress {
    int64_t job_id;       /* job being run */
    int phase;            /* 1 recent, 2 deep history */
    int64_t total;        /* messages in the job's channels (estimate) */
    int64_t done;         /* messages written, job-wide, this run and earlier ones */
    int64_t run_done;     /* messages written by this run */
    int64_t elapsed_ms;   /* since this run started */
    uint64_t channel_id;  /* channel being copied (0 when between channels) */
    size_t channel_index; /* 0-based position of channel_id in the job */
    size_t n_channels;    /* channels in the job */
    int final;            /* 1 on the last call of a run */
} sc_reindex_progress;

typedef void (*sc_reindex_progress_fn)(const sc_reindex_progress *p, void *arg);

typedef struct sc_reindex_opts {
    sc_db *db;               /* ref: caller's, used only by the calling thread */
    sc_binder *binder;       /* ref: caller's; binding changes go through it (PG + cache) */
    sc_cluster_view *view;   /* ref: shared; cluster name -> URL */
    const es_opts *es;       /* ref: template for cluster clients (timeouts, replicas,
                                  refresh, and the auth of clusters registered without a
                                  credentials reference: see sc_cluster_es_opts); url is
                                  ignored. Copied at create. */
    const char *index_name;  /* index on the destination of a move / new bindings (copied) */
    const char *schema_json; /* index settings+mappings JSON text (copied) */
    int batch;               /* rows per page and bulk request, 1..10000 [1000] */
    int64_t rate;            /* messages per second, 0 = unlimited */
    int purge_delay_ms;      /* wait between a move's switch and its purge [2000]; <0 = 0 */
    int big_shards;          /* primary shards of a channel's own index ("<index_name>-ch-<id>",
                                promote.h) that a move or rebuild must create [1]; a promotion
                                job says its own */
    const char *worker;      /* name recorded as the job's claimer (copied) ["reindex"] */
    const volatile sig_atomic_t *stop; /* ref, may be NULL: non-zero asks the run to stop */
    sc_reindex_progress_fn progress;   /* may be NULL */
    void *progress_arg;                /* passed to progress */
} sc_reindex_opts;

/* What one sc_reindex_run_job call did. */
typedef struct sc_reindex_result {
    int64_t written;      /* documents accepted (2xx) */
    int64_t conflicts;    /* documents already newer or equal there (409): fine */
    int64_t rejected;     /* documents the cluster refused (mapping etc.), logged */
    int64_t channels;     /* channels finished by this run */
    int64_t purged;       /* old-copy documents deleted by moves */
    int64_t job_channels; /* channels in the whole job */
    int64_t job_done;     /* messages copied by the whole job, this run and earlier ones */
    int interrupted;      /* 1 when the stop flag ended the run (job left running) */
    int lost;             /* 1 when the job stopped being ours (cancelled / finished elsewhere) */
} sc_reindex_result;

typedef struct sc_reindexer sc_reindexer;

/* Create an engine. NULL with the reason in err on bad options (db, binder,
 * view, es, index_name and schema_json are required). Does no I/O.
 * Free with sc_reindexer_free. */
sc_reindexer *sc_reindexer_create(const sc_reindex_opts *o, char *err, size_t errlen);
/* Free the engine and its cluster clients. NULL is a no-op. */
void sc_reindexer_free(sc_reindexer *r);
/* Detail of the last failure ("" if none). Owned by r. */
const char *sc_reindexer_errstr(const sc_reindexer *r);

/* The channels a job covers, from its kind and target, ascending and
 * without duplicates: "channel" - the comma-separated ids in target;
 * "guild" - every channel of the guild (sc_db_guild_channels); "cluster" -
 * the channels bound to that cluster now; "all" - every bound channel.
 * *out malloc'd (free()), NULL when *n is 0. SC_EINVAL for an unknown kind
 * or a malformed target; db statuses otherwise. */
sc_status sc_reindex_job_channels(sc_reindexer *r, const char *kind, const char *target,
                                  uint64_t **out, size_t *n) SC_MUST_USE;

/* Lower message-id bound of phase 1 for a job created at created_ms:
 * snowflake(created_ms - recent_days days); 0 when recent_days <= 0. */
uint64_t sc_reindex_phase1_min_id(int64_t created_ms, int recent_days);

/* What a move of one channel to a cluster would do (sc_reindex_check_move). */
typedef enum sc_reindex_move_check {
    SC_MOVE_GO = 0, /* something to do: move, bind+build there, rebuild a building copy there,
                              or continue a move to that cluster */
    SC_MOVE_ALREADY_THERE, /* active on that cluster already: nothing to move */
    SC_MOVE_CONFLICT       /* being moved to another cluster (another job's move) */
} sc_reindex_move_check;

/* Classify a move of the channel bound as b (NULL: no binding) to
 * to_cluster. Pure: reads nothing. */
sc_reindex_move_check sc_reindex_classify_move(const sc_binding *b, const char *to_cluster);

/* One channel's plan, for --dry-run and for the CLI's checks. */
typedef struct sc_reindex_plan {
    uint64_t channel_id;
    int bound;                         /* 1 when the channel has a binding */
    sc_binding binding;                /* current binding when bound */
    char cluster[SC_CLUSTER_NAME_MAX]; /* where the copy goes ("" = to be picked) */
    char index[128];                   /* index there */
    const char *action;                /* static: "rebuild", "move", "resume-move", "bind+build",
                               "already-there", "conflict" (see sc_reindex_move_check) */
    int64_t recent;                    /* rows in phase 1 */
    int64_t total;                     /* all rows (deleted included) */
    sc_reindex_move_check move;        /* for a move: whether there is anything to do */
} sc_reindex_plan;

/* Plan channel_id for a job with destination to_cluster (NULL/"" = rebuild
 * in place) and phase 1 bound min_id: reads the binding and counts rows.
 * Changes nothing. SC_OK, or a db status. */
sc_status sc_reindex_plan_channel(sc_reindexer *r, uint64_t channel_id, const char *to_cluster,
                                  uint64_t min_id, sc_reindex_plan *out) SC_MUST_USE;

/* Run a job the caller has claimed (state running, worker = ours), from its
 * cursors, to the end. Attaches the channels from kind/target when the job
 * has none yet. Returns:
 *   SC_OK       - the job is done (state done) or was stopped: see
 *                 res->interrupted (job left running, resumable) and
 *                 res->lost (someone else ended it; nothing more written);
 *   other       - the job failed; it has been marked failed with the reason
 *                 (also in sc_reindexer_errstr), and can be resumed.
 * res (may be NULL) gets the counts of this run. */
sc_status sc_reindex_run_job(sc_reindexer *r, const sc_job *job,
                             sc_reindex_result *res) SC_MUST_USE;

/* ---- the writer and clients, shared with verify's repair (verify.h) ---- */

/* The engine's client for cluster (created on first use from the view; a
 * cluster that left the view keeps the client it had). *out is owned by r,
 * valid until sc_reindexer_free. SC_ENOTFOUND unknown, SC_ECONN not live. */
sc_status sc_reindex_client(sc_reindexer *r, const char *cluster, es_client **out) SC_MUST_USE;

/* Write msgs[0..n) (documents built by sc_message_to_doc) to index on
 * cluster exactly as a job does: the index is ensured first, _bulk with the
 * rows' versions as external versions (gte non-zero: external_gte, so an
 * equal version is rewritten), transient failures retried. The counts of
 * written / already newer / rejected documents are added to res (may be
 * NULL). SC_OK when every document was written, conflicted or rejected. */
sc_status sc_reindex_write(sc_reindexer *r, const char *cluster, const char *index,
                           const sc_message *msgs, size_t n, int gte,
                           sc_reindex_result *res) SC_MUST_USE;

/* Delete every document of channel_id from index on cluster
 * (_delete_by_query, refreshed). *deleted (may be NULL) gets the count.
 * SC_ENOTFOUND when the index does not exist; es_request errors. */
sc_status sc_reindex_purge_copy(sc_reindexer *r, uint64_t channel_id, const char *cluster,
                                const char *index, int64_t *deleted) SC_MUST_USE;

#endif
