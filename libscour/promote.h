/*
 * promote.h - big channels get an index of their own. A channel whose
 * document count passes big_channel_docs is promoted, with nobody involved,
 * from the shared single-shard index of its cluster to an index of its own,
 * "<base>-ch-<channel_id>" (index_name.h), created with big_channel_shards
 * primary shards on the cluster with the most free room (binding.h
 * sc_binder_pick_free) or on one given by hand.
 *
 * The promotion itself is a reindex job (reindex.h) of kind "promote" with
 * target "<channel_id> shards=<N>" and to_cluster the destination: the same
 * move machinery as any move (binding moving -> dual writes by the indexer,
 * backfill from PostgreSQL, switch, purge of the old copy), so it has no
 * downtime and resumes from its cursors after kill -9.
 *
 * Here: the check whether a channel can be promoted, queueing the job, the pass that finds big
 * channels (one terms aggregation per cluster on the shared index) and the
 * listing of promoted channels (_cat/indices of each live cluster).
 * Not here: the job's target text and the schema with N shards
 * (promote_job.h, which the reindex engine shares), running the job
 * (reindex_run.c), the programs' threads and output.
 * Thread-safety: none of its own; the handles passed are one thread's.
 */
#ifndef SC_PROMOTE_H
#define SC_PROMOTE_H

#include "binding.h"
#include "clients.h"
#include "cluster.h"
#include "db.h"
#include "promote_job.h"
#include "reindex.h"
#include "sc.h"

#include <stddef.h>
#include <stdint.h>

/* Whether the channel bound as b (NULL: no binding) can be promoted under
 * base index name base. */
typedef enum sc_promote_check {
    SC_PROMOTE_GO = 0,  /* active on a shared index: promote it */
    SC_PROMOTE_UNBOUND, /* no binding: nothing indexed to promote */
    SC_PROMOTE_ALREADY, /* already on its own index (state active) */
    SC_PROMOTE_BUSY     /* being moved or rebuilt (state moving/building) */
} sc_promote_check;

sc_promote_check sc_promote_classify(const sc_binding *b, const char *base);
/* Static text of a check ("go", "unbound", "already", "busy"). */
const char *sc_promote_check_str(sc_promote_check c);

/* What sc_promote_queue needs. */
typedef struct sc_promote_req {
    sc_db *db;         /* ref: the caller's */
    sc_binder *binder; /* ref: the caller's, for the pick by free room */
    const char *base;  /* shared index name (config index_name) */
    uint64_t channel_id;
    int shards;      /* 1..SC_PROMOTE_SHARDS_MAX */
    const char *to;  /* destination cluster; NULL/"" = the one with most free room */
    int64_t docs;    /* documents the channel holds now (credited to its cluster
                           in the pick: they leave it); 0 if unknown */
    int recent_days; /* phase 1 size of the job (reindex.h) */
} sc_promote_req;

/* What sc_promote_queue did. */
typedef struct sc_promote_out {
    sc_promote_check check;            /* SC_PROMOTE_GO when a job was queued */
    sc_binding binding;                /* the channel's binding (when bound) */
    int64_t job_id;                    /* queued job (check GO), or the job that
                                          moves it (BUSY, 0 if none is known) */
    char cluster[SC_CLUSTER_NAME_MAX]; /* destination */
    char index[128];                   /* the channel's own index */
} sc_promote_out;

/* Check the channel's binding and, when it can be promoted, queue a
 * promotion job (state queued, the channel attached) for a reindex worker
 * or the caller to claim. A channel that already has a queued or running
 * job is BUSY too (nothing is queued). SC_OK with out->check telling what
 * happened; SC_ENOTFOUND when no live active cluster can take it (reason
 * in err); db statuses. */
sc_status sc_promote_queue(const sc_promote_req *req, sc_promote_out *out, char *err,
                           size_t errlen) SC_MUST_USE;

/* A channel found past the threshold. */
typedef struct sc_big_channel {
    uint64_t channel_id;
    int64_t docs; /* documents in the shared index */
} sc_big_channel;

/* The channels holding at least min_docs documents (deleted ones' tombstones
 * included) in index on es: one terms aggregation on channel_id with
 * min_doc_count (exact on a single-shard index), largest first, at most
 * max. *out malloc'd (free()), NULL when *n is 0. SC_ENOTFOUND when the
 * index does not exist; es_request errors, SC_EPROTO (detail in err). */
sc_status sc_promote_find_big(es_client *es, const char *index, int64_t min_docs, size_t max,
                              sc_big_channel **out, size_t *n, char *err,
                              size_t errlen) SC_MUST_USE;

/* One pass of the automatic promotion. */
typedef struct sc_promote_pass_opts {
    sc_db *db;             /* ref */
    sc_binder *binder;     /* ref */
    sc_reindexer *rx;      /* ref: its cluster clients are used */
    sc_cluster_view *view; /* ref */
    const char *base;      /* shared index name */
    int64_t min_docs;      /* big_channel_docs (> 0) */
    int shards;            /* big_channel_shards */
    int recent_days;       /* phase 1 of the jobs */
} sc_promote_pass_opts;

/* For every live cluster, find the channels of its shared index past
 * min_docs and queue a promotion for each that can be promoted (bound there,
 * active, no job running). *queued (may be NULL) gets the number of jobs
 * queued. A cluster that cannot be asked is skipped (logged). SC_OK, or a
 * db status when queueing failed (detail in err). */
sc_status sc_promote_pass(const sc_promote_pass_opts *o, int *queued, char *err,
                          size_t errlen) SC_MUST_USE;

/* A channel's own index found on a live cluster. */
typedef struct sc_promoted {
    uint64_t channel_id;
    char cluster[SC_CLUSTER_NAME_MAX];
    char index[128];
    int shards;     /* primary shards */
    int64_t docs;   /* documents (docs.count of _cat/indices) */
    char state[16]; /* the channel's binding here: "active", "moving" (being
                        filled), "building", or "stale" (the binding is
                        elsewhere: a copy left behind); "?" unknown */
} sc_promoted;

/* Every index named "<base>-ch-<id>" on every live cluster of view, by
 * cluster then channel, with the binding state from db (may be NULL: "?").
 * clients: a cache whose view is view. *out malloc'd (free()), NULL when
 * *n is 0. A cluster that cannot be asked is skipped. SC_OK or SC_ENOMEM. */
sc_status sc_promote_list(sc_cluster_view *view, sc_clients *clients, sc_db *db, const char *base,
                          sc_promoted **out, size_t *n) SC_MUST_USE;

#endif
