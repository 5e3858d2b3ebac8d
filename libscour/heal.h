/*
 * heal.h - self-healing: move the channels of a search cluster that has been
 * gone for longer than a grace period onto live clusters, and queue the
 * rebuild of their history.
 *
 * A pass (sc_healer_pass), run by the health agent every few seconds:
 *   1. takes a PostgreSQL session advisory lock (SC_HEAL_LOCK_KEY) on its own
 *      connection with pg_try_advisory_lock, so only one agent heals at a
 *      time (if another holds it the pass does nothing); the lock is released
 *      at the end of the pass, or by PostgreSQL if the agent dies;
 *   2. finds dead clusters: every cluster that has bindings
 *      (sc_db_binding_counts), is not live in the view, and has been gone
 *      for grace_period_s - measured from the view's gone_since_ms, or, for a
 *      cluster the view never saw live, from when this healer first noticed
 *      it missing. A cluster the view never saw is only considered when the
 *      caller manages it (sc_healer_manage) or adopt_unknown is set, so an
 *      agent never moves channels of clusters it knows nothing about (e.g.
 *      bindings written under another namespace sharing the database);
 *   3. for each channel bound there (sc_db_bindings_on_cluster): picks the
 *      least-loaded live active cluster (sc_binder_pick_cluster, excluding
 *      the dead one) and re-binds the channel there in state "building"
 *      (sc_binder_update: compare-and-set in PG, Redis cache and load updated
 *      at once, so the indexer sends new events to the new place at its next
 *      batch and the router answers 202 for the channel);
 *   4. queues one reindex job per channel: kind "channel", target = the
 *      channel id, to_cluster NULL (rebuild in place, i.e. onto the channel's
 *      current binding, which is now the new cluster), recent_days from the
 *      options, with the channel attached (sc_db_job_channels_add). The
 *      reindex worker (`reindex worker`) runs it and, when the rebuild is
 *      done, switches the binding from "building" to "active".
 *
 * If the dead cluster comes back later, its bindings no longer point at it,
 * so nothing is written there for those channels (its stale copy is simply
 * unused; `reindex`'s purge or deleting the index cleans it).
 *
 * Not here: health checks and leases (admin/agent.c), running the rebuild
 * (reindex), the view (cluster.c).
 * Thread-safety: one sc_healer per thread (it uses the caller's binder and db).
 */
#ifndef SC_HEAL_H
#define SC_HEAL_H

#include "binding.h"
#include "cluster.h"
#include "db.h"
#include "sc.h"

#include <stdint.h>

/* pg_try_advisory_lock key of the healer ("scour-hl" in ASCII). */
#define SC_HEAL_LOCK_KEY 0x73636f75722d686cLL

typedef struct sc_healer_opts {
    const char *pg_dsn;    /* libpq conninfo for the lock connection (copied) */
    sc_cluster_view *view; /* ref: shared, thread-safe */
    sc_binder *binder;     /* ref: caller's, used only by the calling thread */
    sc_db *db;             /* ref: caller's, used only by the calling thread */
    int grace_period_s;    /* how long a cluster must be gone before its channels move */
    int recent_days;       /* recent_days of the queued rebuild jobs */
    int adopt_unknown;     /* 1: also heal clusters with bindings that the view never
                                saw and nobody declared with sc_healer_manage
                                (`admin heal`, an operator's explicit request) */
} sc_healer_opts;

/* What one pass did. */
typedef struct sc_heal_report {
    int locked;              /* 1 if this pass held the lock (0: another healer has it) */
    int dead_clusters;       /* clusters with bindings gone past the grace period */
    int waiting_clusters;    /* clusters with bindings gone, still within the grace period */
    int64_t channels_moved;  /* bindings switched to a live cluster ("building") */
    int64_t jobs_queued;     /* rebuild jobs created */
    int64_t channels_failed; /* channels left in place (no live target, conflict, error) */
} sc_heal_report;

typedef struct sc_healer sc_healer;

/* Create a healer; connects the lock connection at once. NULL with the
 * reason in err on bad options or when PostgreSQL cannot be reached.
 * Free with sc_healer_free. */
sc_healer *sc_healer_create(const sc_healer_opts *o, char *err, size_t errlen);
/* Close the lock connection (releasing the lock) and free. NULL is a no-op. */
void sc_healer_free(sc_healer *h);
/* Detail of the last failure. */
const char *sc_healer_errstr(const sc_healer *h);

/* Declare that the caller looks after cluster name (the agent calls it for
 * every cluster it health-checks), so it is healed even if this process's
 * view never saw it live. Idempotent; at most 256 names (SC_ENOMEM beyond). */
sc_status sc_healer_manage(sc_healer *h, const char *name) SC_MUST_USE;

/* Run one pass (see the top of this file). *rep (may be NULL) gets what it
 * did. SC_OK when the pass ran or was skipped because another healer holds
 * the lock (rep->locked = 0); SC_ECONN when the lock connection or the
 * database failed (the lock connection is re-established on the next pass);
 * another status when a read failed before anything was moved. A channel
 * that cannot be moved is counted in channels_failed and retried by the next
 * pass; that alone does not fail the pass. */
sc_status sc_healer_pass(sc_healer *h, sc_heal_report *rep) SC_MUST_USE;

#endif
