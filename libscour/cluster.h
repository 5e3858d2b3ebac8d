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
 * deployments without etcd registration; such entries are always live. An
 * etcd registration of the same name overrides the static entry while it
 * exists; when it goes away the static entry shows again. A registration
 * whose value does not parse counts as absent (logged at warn).
 *
 * Not here: load (binding.c keeps it in Redis), health checking (admin/agent).
 * Thread-safety: every function may be called from any thread.
 */
#ifndef SC_CLUSTER_H
#define SC_CLUSTER_H

#include "buf.h"
#include "es.h"
#include "sc.h"

#include <stddef.h>
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
    char credentials[128]; /* a reference (e.g. "env:ES_C1_KEY"), never a secret */
    int64_t capacity;      /* documents the cluster should hold */
    sc_cluster_state state;
    int live;              /* registered (lease alive) or static */
    int64_t mod_revision;  /* etcd revision of the registration, 0 for static */
    int64_t gone_since_ms; /* wall ms when it left the view (0 while live) */
} sc_cluster_info;

typedef struct sc_cluster_view sc_cluster_view;

typedef struct sc_cluster_view_opts {
    const char *etcd_url;    /* NULL/"" = no etcd, static list only */
    const char *ns;          /* key namespace, e.g. "scour" */
    const char *static_list; /* "name=url,name=url" or NULL */
    int etcd_timeout_ms;     /* per request */
} sc_cluster_view_opts;

/* Build the view (range read) and start watching. Fails when etcd cannot be
 * read at start. Free with sc_cluster_view_free. */
sc_cluster_view *sc_cluster_view_create(const sc_cluster_view_opts *o, char *err, size_t errlen);
void sc_cluster_view_free(sc_cluster_view *v);

/* Copy the entry for name (live or remembered as gone). SC_ENOTFOUND if the
 * view never saw it. */
sc_status sc_cluster_view_get(sc_cluster_view *v, const char *name,
                              sc_cluster_info *out) SC_MUST_USE;

/* Snapshot of every known cluster (live and gone). *out is malloc'd; caller
 * frees with free(). */
sc_status sc_cluster_view_list(sc_cluster_view *v, sc_cluster_info **out, size_t *n) SC_MUST_USE;

/* Increases on every change to the view; lets callers cache derived data. */
uint64_t sc_cluster_view_generation(sc_cluster_view *v);

/* Block until the view's generation passes `after` or timeout_ms elapses;
 * returns the current generation. For tests and the healer. */
uint64_t sc_cluster_view_wait(sc_cluster_view *v, uint64_t after, int timeout_ms);

/* Registration helpers (admin CLI and agent). The value JSON is built from
 * info (sc_cluster_format_value); lease_id 0 = no lease (static/manual).
 * Each call opens its own short-lived etcd connection (default timeouts).
 * register: SC_OK, SC_EINVAL (bad name/URL), or an etcd_put status
 * (SC_ENOTFOUND when lease_id is unknown/expired). unregister: SC_OK,
 * SC_ENOTFOUND when no such key, or an etcd status. Reason in err. */
sc_status sc_cluster_register(const char *etcd_url, const char *ns, const sc_cluster_info *info,
                              int64_t lease_id, char *err, size_t errlen) SC_MUST_USE;
sc_status sc_cluster_unregister(const char *etcd_url, const char *ns, const char *name, char *err,
                                size_t errlen) SC_MUST_USE;

/* ------------------------------------------------------------------------
 * Helpers (pure unless noted; used by the view, the admin CLI and the agent,
 * and unit-tested on their own).
 */

/* Non-zero if name is a valid cluster name: 1..63 bytes of [A-Za-z0-9_.-]. */
int sc_cluster_name_ok(const char *name);

/* "active" / "draining". Static storage. */
const char *sc_cluster_state_str(sc_cluster_state s);
/* Parse "active" / "draining"; SC_EINVAL otherwise. */
sc_status sc_cluster_state_parse(const char *s, sc_cluster_state *out) SC_MUST_USE;

/* "<ns>/clusters/<name>" into buf. SC_EINVAL on a bad name or when it does
 * not fit. */
sc_status sc_cluster_key(const char *ns, const char *name, char *buf, size_t len) SC_MUST_USE;
/* "<ns>/drain/<name>": the persistent drain marker written by `admin
 * clusters drain` (no lease); the agent registers a cluster as draining
 * while the marker exists, so draining survives lease loss. */
sc_status sc_cluster_drain_key(const char *ns, const char *name, char *buf, size_t len) SC_MUST_USE;

/* Parse a registration value (len bytes of JSON) for cluster name into *out
 * (zeroed first; live = 1, mod_revision/gone_since_ms 0). "url" is required
 * (http:// or https://), "credentials" optional, "capacity" a non-negative
 * number (or numeric string; absent = 0), "state" "active" (default) or
 * "draining". Unknown fields are ignored. SC_EINVAL with a reason in err. */
sc_status sc_cluster_parse_value(const char *name, const char *json, size_t len,
                                 sc_cluster_info *out, char *err, size_t errlen) SC_MUST_USE;

/* Build the registration JSON of info into out (appended). Fields:
 * url, credentials, capacity, state. SC_ENOMEM when out is full. */
sc_status sc_cluster_format_value(const sc_cluster_info *info, sc_buf *out) SC_MUST_USE;

/* Parse a static list "name=url,name=url" (as config `clusters`; "" or NULL
 * gives 0 entries). Entries are live, active, capacity 0. Duplicate names
 * are SC_EINVAL. *out is malloc'd (free()), NULL when *n is 0. */
sc_status sc_cluster_parse_static(const char *list, sc_cluster_info **out, size_t *n, char *err,
                                  size_t errlen) SC_MUST_USE;

/* Room for the secrets sc_cluster_es_opts copies out of the environment
 * (user + password, or one API key, with their NULs). */
#define SC_CLUSTER_SECRET_BUF 4096

/* The client options for talking to cluster ci: a copy of base (CA file,
 * timeouts, replicas, refresh interval, and the program's global es_user/
 * es_password/es_api_key) with url = ci->url and the authentication chosen
 * by ci->credentials, a reference that is never a secret itself:
 *   ""                          keep base's user/password/api_key;
 *   "env:VAR"                   API key from environment variable VAR
 *                               ("Authorization: ApiKey ..."); base's
 *                               user/password are dropped;
 *   "basic-env:USERVAR:PASSVAR" basic auth from two variables (the password
 *                               may be empty, the user may not); base's
 *                               api_key is dropped.
 * Variable names are [A-Za-z_][A-Za-z0-9_]*. The variables are read at
 * each call (callers call it whenever they create a client or configure a
 * request for the cluster, so a changed reference in etcd applies then).
 * The secrets are copied into buf (buflen bytes; SC_CLUSTER_SECRET_BUF is
 * enough for usual keys) so they stay valid whatever the environment does;
 * out's strings point into ci, base and buf and are valid while those are.
 * Callers should wipe buf (explicit_bzero) once the client is created. The
 * function never logs and never puts a secret in err (only the cluster name,
 * the reference and variable names).
 * Returns SC_OK; SC_EINVAL for a malformed or unknown reference (or NULL
 * arguments); SC_ENOTFOUND when a variable it names is not set (or, for the
 * API key and the user, empty); SC_ENOMEM when the secrets do not fit buf.
 * On failure *out is still base with ci's url and no authentication. */
sc_status sc_cluster_es_opts(const sc_cluster_info *ci, const es_opts *base, es_opts *out,
                             char *buf, size_t buflen, char *err, size_t errlen) SC_MUST_USE;

/* Counters of the view's watcher (all 0 for a static-only view). */
typedef struct sc_cluster_view_stats {
    int64_t resyncs;  /* snapshots applied (initial range read excluded) */
    int64_t events;   /* PUT/DELETE events applied */
    int64_t revision; /* last etcd revision applied */
} sc_cluster_view_stats;
void sc_cluster_view_get_stats(sc_cluster_view *v, sc_cluster_view_stats *out);

#endif
