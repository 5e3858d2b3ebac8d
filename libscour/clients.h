/*
 * clients.h - the one place a program gets an es_client for a cluster:
 * the base options every program derives from config, a client made for a
 * cluster's registration (URL + credentials reference), and a per-cluster
 * cache that follows the registration when its URL or credentials change.
 * The indexer's workers, the reindex engine and the admin agent each keep
 * one cache; the router uses the base options for its own curl multi
 * fan-out (es_apply_auth).
 *
 * Threads: an sc_clients cache is NOT thread-safe (its clients are not
 * either): one per thread.
 *
 * Not here: the HTTP calls (es.h), resolving a credentials reference
 * (sc_cluster_es_opts in cluster.h), the cluster view (cluster.h).
 */
#ifndef SC_CLIENTS_H
#define SC_CLIENTS_H

#include "cluster.h"
#include "config.h"
#include "es.h"
#include "sc.h"

/* The es_* options of cfg as a template: global user/password/api_key and
 * CA file (empty strings become NULL), connect and request timeouts,
 * replicas and refresh interval for created indices; url NULL.
 * Strings are borrowed from cfg. */
void sc_clients_base_opts(const sc_config *cfg, es_opts *out);

/* A new client for cluster ci: base with ci's URL and the authentication
 * its credentials reference chooses (sc_cluster_es_opts); secrets are
 * wiped from the stack once the client holds its copies. NULL with the
 * reason in err (never a secret). Free with es_client_free. */
es_client *sc_clients_make(const sc_cluster_info *ci, const es_opts *base, char *err,
                           size_t errlen);

typedef struct sc_clients_opts {
    const es_opts *base;   /* template; copied (url ignored) */
    sc_cluster_view *view; /* ref, may be NULL: needed only by sc_clients_get */
    int keep_gone;         /* sc_clients_get: a cluster that left the view or is
                              not live keeps the client it had (the reindexer
                              purges old copies there); else it is an error */
} sc_clients_opts;

typedef struct sc_clients sc_clients;

/* An empty cache. NULL with the reason in err. Free with sc_clients_free. */
sc_clients *sc_clients_create(const sc_clients_opts *o, char *err, size_t errlen);
/* Free every cached client. NULL is a no-op. */
void sc_clients_free(sc_clients *c);
/* Detail of the last failure ("" if none). Valid until the next call. */
const char *sc_clients_errstr(const sc_clients *c);

/* The cached client for ci->name, made again when ci's URL or credentials
 * reference differ from what it was made for. *out is owned by the cache
 * (valid until the next call for that name, sc_clients_drop or free).
 * Returns SC_OK; SC_EINVAL when the credentials reference cannot be
 * resolved or the options are bad (logged at warn once per reference);
 * SC_ENOMEM. */
sc_status sc_clients_for(sc_clients *c, const sc_cluster_info *ci, es_client **out) SC_MUST_USE;

/* As sc_clients_for with the registration the view shows for name.
 * SC_ENOTFOUND when the view does not know it, SC_ECONN when it is not
 * live (with keep_gone, either returns the client it had, if any). */
sc_status sc_clients_get(sc_clients *c, const char *name, es_client **out) SC_MUST_USE;

/* es_ensure_index on cluster name's client (sc_clients_get) unless this
 * cache saw index created or present there since the client was last made
 * for another URL. Returns sc_clients_get's or es_ensure_index's status
 * (detail in sc_clients_errstr). */
sc_status sc_clients_ensure_index(sc_clients *c, const char *name, const char *index,
                                  const char *schema_json) SC_MUST_USE;

/* Forget cluster name and free its client (a cluster no longer looked
 * after). Unknown names and a NULL cache are a no-op. */
void sc_clients_drop(sc_clients *c, const char *name);

#endif
