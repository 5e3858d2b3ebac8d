/*
 * cluster.h - the live view of the search clusters, shared by every program.
 *
 * Clusters are registered in etcd under "<namespace>/clusters/<name>" with a
 * JSON value {"url":..., "credentials":..., "capacity":N, "state":"active"|
 * "draining"} attached to a lease that a health agent keeps alive. A key that
 * exists means the cluster is live; when the lease lapses the key is deleted.
 * The view is built from a range read plus a watch that resumes from the last
 * revision seen and rebuilds from a fresh range read after a compaction.
 *
 * A static list (config `clusters`, "name=url,...") can seed the view for
 * deployments without etcd registration; such entries are always live.
 *
 * Not here: load (binding.c keeps it in Redis), health checking (admin/agent).
 * Thread-safety: every function may be called from any thread.
 */
#ifndef SC_CLUSTER_H
#define SC_CLUSTER_H

#include "sc.h"

#include <stdint.h>

#define SC_CLUSTER_NAME_MAX 64
#define SC_CLUSTER_URL_MAX 256

typedef enum sc_cluster_state {
    SC_CLUSTER_ACTIVE = 0,  /* takes new channels */
    SC_CLUSTER_DRAINING = 1 /* serves and indexes its channels, takes no new ones */
} sc_cluster_state;

typedef struct sc_cluster_info {
    char name[SC_CLUSTER_NAME_MAX];
    char url[SC_CLUSTER_URL_MAX];
    char credentials[128];   /* a reference (e.g. "env:ES_C1_KEY"), never a secret */
    int64_t capacity;        /* documents the cluster should hold */
    sc_cluster_state state;
    int live;                /* registered (lease alive) or static */
    int64_t mod_revision;    /* etcd revision of the registration, 0 for static */
    int64_t gone_since_ms;   /* wall ms when it left the view (0 while live) */
} sc_cluster_info;

typedef struct sc_cluster_view sc_cluster_view;

typedef struct sc_cluster_view_opts {
    const char *etcd_url;       /* NULL/"" = no etcd, static list only */
    const char *ns;             /* key namespace, e.g. "scour" */
    const char *static_list;    /* "name=url,name=url" or NULL */
    int etcd_timeout_ms;        /* per request */
} sc_cluster_view_opts;

/* Build the view (range read) and start watching. Fails when etcd cannot be
 * read at start. Free with sc_cluster_view_free. */
sc_cluster_view *sc_cluster_view_create(const sc_cluster_view_opts *o, char *err, size_t errlen);
void sc_cluster_view_free(sc_cluster_view *v);

/* Copy the entry for name (live or remembered as gone). SC_ENOTFOUND if the
 * view never saw it. */
sc_status sc_cluster_view_get(sc_cluster_view *v, const char *name, sc_cluster_info *out) SC_MUST_USE;

/* Snapshot of every known cluster (live and gone). *out is malloc'd; caller
 * frees with free(). */
sc_status sc_cluster_view_list(sc_cluster_view *v, sc_cluster_info **out, size_t *n) SC_MUST_USE;

/* Increases on every change to the view; lets callers cache derived data. */
uint64_t sc_cluster_view_generation(sc_cluster_view *v);

/* Block until the view's generation passes `after` or timeout_ms elapses;
 * returns the current generation. For tests and the healer. */
uint64_t sc_cluster_view_wait(sc_cluster_view *v, uint64_t after, int timeout_ms);

/* Registration helpers (admin CLI and agent). The value JSON is built from
 * info; lease_id 0 = no lease (static/manual). */
sc_status sc_cluster_register(const char *etcd_url, const char *ns, const sc_cluster_info *info,
                              int64_t lease_id, char *err, size_t errlen) SC_MUST_USE;
sc_status sc_cluster_unregister(const char *etcd_url, const char *ns, const char *name, char *err,
                                size_t errlen) SC_MUST_USE;

#endif
