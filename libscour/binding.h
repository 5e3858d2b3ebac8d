/*
 * binding.h - which cluster and index hold a channel, and how a new channel
 * picks one.
 *
 * Resolution order: Redis cache (one MGET per batch), then PostgreSQL (the
 * source of truth), then - only when the caller allows it - assignment:
 * the least-loaded ACTIVE cluster that is live in the cluster view, by the
 * Redis sorted set "<ns>:load" (score = documents + SC_CHANNEL_WEIGHT x bound
 * channels; the agent refreshes it, an assignment adds SC_CHANNEL_WEIGHT at
 * once so a burst of new channels spreads out). The binding is stored with
 * INSERT ... ON CONFLICT DO NOTHING and read back, so racing workers agree,
 * and cached as "<ns>:binding:<channel_id>".
 *
 * States: active (serve + index at cluster/index); building (being rebuilt at
 * cluster/index after its old cluster died: index there, searches answer 202);
 * moving (index at BOTH cluster/index and prev_cluster/prev_index; searches
 * read prev until the move switches to active). Any state may carry
 * history_from > 0: the copy searches read lacks the messages below it (a
 * rebuilt channel is active after its recent days; the router then answers
 * partial, "history_incomplete").
 *
 * Thread-safety: one sc_binder per thread (it owns a Redis and a PG handle).
 */
#ifndef SC_BINDING_H
#define SC_BINDING_H

#include "cluster.h"
#include "config.h"
#include "db.h"
#include "redis.h"
#include "sc.h"

#include <stdint.h>

#define SC_CHANNEL_WEIGHT 1000

typedef struct sc_binder sc_binder;

typedef struct sc_binder_opts {
    const char *ns;         /* key namespace */
    const char *index_name; /* index for new bindings, e.g. "messages-v1" */
    int cache_ttl_s;        /* Redis cache TTL */
    sc_redis *redis;        /* ref: owned by caller, used only by this thread */
    sc_db *db;              /* ref: owned by caller, used only by this thread */
    sc_cluster_view *view;  /* ref: shared, thread-safe */
} sc_binder_opts;

/* The binder options of every program from the validated config (namespace,
 * index_name, binding_cache_ttl_s) and the caller's handles (refs, as in
 * sc_binder_opts). The strings are borrowed from cfg. */
void sc_binder_opts_from_config(const sc_config *cfg, sc_redis *redis, sc_db *db,
                                sc_cluster_view *view, sc_binder_opts *out);

sc_binder *sc_binder_create(const sc_binder_opts *o, char *err, size_t errlen);
void sc_binder_free(sc_binder *b);
/* Detail of the last failure. */
const char *sc_binder_errstr(const sc_binder *b);

/* Resolve n channels. out[i] is filled for each; found[i] = 1 when a binding
 * exists (or was assigned, when assign != 0). With assign == 0 a channel with
 * no binding gets found[i] = 0 and is not created (the router's case).
 * Duplicated channel ids in the input are fine. */
sc_status sc_binder_resolve(sc_binder *b, const uint64_t *channels, size_t n, int assign,
                            sc_binding *out, int *found) SC_MUST_USE;

/* sc_binder_resolve without assignment, reading Redis keys extra[0..nextra)
 * in the same MGET as the cached bindings (the router's dirty marks, so a
 * clean index costs no extra round trip). extra_vals[i] gets a heap copy of
 * each value (free()), NULL when missing or when Redis failed. */
sc_status sc_binder_resolve_with(sc_binder *b, const uint64_t *channels, size_t n, sc_binding *out,
                                 int *found, const char *const *extra, size_t nextra,
                                 char **extra_vals) SC_MUST_USE;

/* Choose the least-loaded live active cluster (without binding anything).
 * `exclude` (may be NULL) names a cluster to skip. SC_ENOTFOUND if none. */
sc_status sc_binder_pick_cluster(sc_binder *b, const char *exclude,
                                 char name[SC_CLUSTER_NAME_MAX]) SC_MUST_USE;

/* Choose the live active cluster with the most free room: capacity (the
 * cluster's registered documents, cluster.h) minus its load score, where
 * credit is taken off credit_cluster's score first (the documents that
 * leave it when a channel moves away; credit_cluster may be NULL). Clusters
 * without a capacity count as capacity 0, so with equal capacities this is
 * the least loaded. Ties at random. SC_ENOTFOUND if none is eligible. Used
 * to place a promoted big channel (promote.h). */
sc_status sc_binder_pick_free(sc_binder *b, const char *credit_cluster, double credit,
                              char name[SC_CLUSTER_NAME_MAX]) SC_MUST_USE;

/* Change a binding (compare-and-set on generation in PG), then update the
 * cache and the load scores. Used by moves and self-healing. */
sc_status sc_binder_update(sc_binder *b, const sc_binding *cur, const char *cluster,
                           const char *index, sc_binding_state state,
                           sc_binding *updated) SC_MUST_USE;

/* Set history_from (see sc_binding: history the copy searches read still
 * lacks, 0 = complete), compare-and-set on cur's generation, then update
 * the cache. Used by reindex around a rebuild's phase 2. SC_ECONFLICT on a
 * stale generation. */
sc_status sc_binder_set_history(sc_binder *b, const sc_binding *cur, uint64_t history_from,
                                sc_binding *updated) SC_MUST_USE;

/* Drop the cached entry (after an out-of-band change). */
sc_status sc_binder_invalidate(sc_binder *b, uint64_t channel_id) SC_MUST_USE;

/* Set a cluster's load score outright (agent refresh). */
sc_status sc_binder_set_load(sc_binder *b, const char *cluster, double score) SC_MUST_USE;

#endif
