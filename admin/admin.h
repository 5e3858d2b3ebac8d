/*
 * admin.h - shared pieces of the `admin` program: the parsed command line,
 * the commands (clusters add/drain/undrain/remove/list, heal, agent) and
 * small helpers they share (etcd client, ES client for a cluster).
 *
 * Program-only: nothing in libscour includes this.
 */
#ifndef SC_ADMIN_H
#define SC_ADMIN_H

#include "clients.h"
#include "cluster.h"
#include "config.h"
#include "es.h"
#include "etcd.h"
#include "prog.h"
#include "sc.h"

#define ADMIN_MAX_FLAG_CLUSTERS 64

/* Everything main() parsed. */
typedef struct admin_args {
    sc_config cfg;                                      /* loaded + validated config (owned) */
    char **words;                                       /* borrowed from argv: positional words */
    int nwords;                                         /* entries in words */
    const char *flag_clusters[ADMIN_MAX_FLAG_CLUSTERS]; /* --cluster name=url values (borrowed) */
    int nflag_clusters;                                 /* entries in flag_clusters */
    const char *credentials; /* --credentials REF for `clusters add` (borrowed) or NULL */
    int capacity_set;        /* --capacity given on the command line */
    int is_static;           /* --static: `clusters add` registers without lease */
    int force;               /* --force: `clusters remove` with channels still bound */
    int once;                /* --once: agent runs one round and exits */
    int adopt;               /* --adopt: agent also holds every desired record */
} admin_args;

/* SIGINT/SIGTERM set the process's stop flag: the agent and console loops
 * end when sc_prog_stopping() (prog.h). */

/* Commands. Each returns the process exit code (0 ok, 1 runtime failure,
 * 2 usage error) after printing its result or a clear error. */
int admin_clusters(admin_args *a);
int admin_heal(admin_args *a);
int admin_agent(admin_args *a);
int admin_console(admin_args *a);

/* One cluster as `clusters list` and the console show it. */
typedef struct admin_cluster_row {
    sc_cluster_info ci; /* registration, else desired record (state from the drain marker) */
    int live;           /* registration present in etcd */
    int64_t lease;      /* lease id of the registration, 0 = none (static) */
    double load;        /* score in <ns>:load, -1 if none */
    int64_t channels;   /* bindings, -1 if unknown */
    int64_t docs;       /* live docs in index_name, -1 if unknown */
    char health[16];    /* green|yellow|red|unreachable; "" when not probed */
    char version[32];   /* engine version.number; "" when unknown */
} admin_cluster_row;

/* Every known cluster (desired records, registrations, drain markers,
 * clusters with bindings) with load, channels and docs; probe != 0 also asks
 * each live cluster for its health and version. *out malloc'd (free()).
 * A missing PostgreSQL or Redis leaves those columns unknown and says so in
 * warn; etcd unreachable is an error (SC_ERR, reason in err). */
sc_status admin_cluster_rows(const sc_config *cfg, int probe, admin_cluster_row **out, size_t *n,
                             char *warn, size_t warnlen, char *err, size_t errlen) SC_MUST_USE;

/* Drain (on = 1) or undrain a cluster: the marker plus the live
 * registration's state. *found = 1 when it was registered. SC_EINVAL for a
 * bad name, else an etcd error; reason in err. */
sc_status admin_cluster_drain(const sc_config *cfg, const char *name, int on, int *found, char *err,
                              size_t errlen) SC_MUST_USE;

/* "<ns>/desired/<name>": a cluster added with `admin clusters add` for the
 * agent to health-check and register (same JSON as a registration). */
sc_status admin_desired_key(const char *ns, const char *name, char *buf, size_t len) SC_MUST_USE;

/* An etcd client for cfg->etcd_url; NULL with the reason in err. */
etcd_client *admin_etcd(const sc_config *cfg, char *err, size_t errlen);

/* The base options of the admin's ES clients (sc_clients_base_opts of
 * cfg, no replica override); timeout_ms > 0 caps the request timeout.
 * A cluster's client is then sc_clients_make or an sc_clients cache. */
void admin_es_base(const sc_config *cfg, long timeout_ms, es_opts *out);

#endif
