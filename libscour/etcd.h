/*
 * etcd.h - an etcd v3 client over the JSON gateway (/v3/...), with libcurl.
 * It is how scour discovers its Elasticsearch clusters: plain key/value
 * calls, leases for liveness, and a background watcher that keeps a caller's
 * view of a key prefix current across disconnects and compactions.
 *
 * Wire facts it copes with: keys and values are base64, int64s arrive as JSON
 * strings, and fields that are zero/false/empty are omitted (a PUT event has
 * no "type", a canceled watch has no header revision).
 *
 * Threads: an etcd_client is used by one thread at a time (it owns one curl
 * handle and its errstr); make one per thread. The pure parsers are
 * reentrant. A watcher runs its own thread and its own connection; see
 * etcd_watch_start for the callback contract.
 *
 * TLS and authentication (etcd_auth.c): an https endpoint is verified
 * against ca_file (or the system store), a client certificate is sent when
 * given, and with a user every call carries the token of v3
 * auth/authenticate, fetched on first use and fetched again (once per
 * call) when etcd calls it invalid or expired. Options left NULL take the
 * process defaults of etcd_set_defaults (what the programs' config says).
 *
 * Not here: transactions beyond one compare-and-put (etcd_put_if),
 * multiple endpoints.
 */
#ifndef SC_ETCD_H
#define SC_ETCD_H

#include "sc.h"

#include <stddef.h>
#include <stdint.h>

/* Connection options. Zero fields take the default in brackets. The struct is
 * copied at create/start time; the caller keeps ownership of endpoint. */
typedef struct etcd_opts {
    const char *endpoint;       /* borrowed; "http://127.0.0.1:2379", no trailing path */
    long connect_timeout_ms;    /* TCP connect deadline [2000] */
    long request_timeout_ms;    /* whole-request deadline for unary calls [5000] */
    size_t max_response;        /* cap on a response body / one watch line [16 MiB] */
    long watch_backoff_min_ms;  /* first reconnect delay of a watcher [100] */
    long watch_backoff_max_ms;  /* reconnect delay ceiling, doubled per failure [5000] */
    long watch_idle_timeout_ms; /* reconnect a watch stream silent this long [660000];
                                      etcd sends a progress notice every 10 min, so a
                                      healthy idle stream is never cut */
    /* TLS and authentication; NULL takes etcd_set_defaults' value (none). All
     * borrowed and copied at create/start time. */
    const char *ca_file;   /* PEM CA bundle for https (NULL/"" = system store) */
    const char *cert_file; /* PEM client certificate (NULL/"" = none) */
    const char *key_file;  /* its PEM private key */
    const char *user;      /* etcd user (NULL/"" = no authentication) */
    const char *password;  /* secret: its password */
} etcd_opts;

/* Process-wide defaults for the TLS/auth fields of every etcd_opts that
 * leaves them NULL: the programs set them once from their config
 * (sc_prog_start), before any thread or client exists. Only those five
 * fields of d are read (copied); NULL d clears the defaults. SC_ENOMEM. */
sc_status etcd_set_defaults(const etcd_opts *d) SC_MUST_USE;

typedef struct etcd_client etcd_client;

/* One key/value as etcd reports it. */
typedef struct etcd_kv {
    char *key;               /* owned; decoded bytes, NUL-terminated */
    size_t key_len;          /* bytes in key, excluding the NUL */
    char *value;             /* owned; decoded bytes, NUL-terminated ("" when empty) */
    size_t value_len;        /* bytes in value, excluding the NUL */
    int64_t create_revision; /* revision of the put that created the key */
    int64_t mod_revision;    /* revision of the last change (the delete, for DELETE events) */
    int64_t version;         /* puts since creation; 0 after a delete */
    int64_t lease;           /* attached lease id, 0 for none */
} etcd_kv;

/* The answer of a range read. Free with etcd_kv_list_free. */
typedef struct etcd_kv_list {
    etcd_kv *kvs;     /* owned array of n entries, sorted by key */
    size_t n;         /* entries in kvs */
    int64_t revision; /* store revision the read was served at (header.revision) */
    int64_t count;    /* keys in the range (may exceed n only if etcd truncated) */
    int more;         /* 1 when etcd says more keys follow */
} etcd_kv_list;

/* Create a client for o->endpoint. Does no I/O. Returns NULL with a reason in
 * err on bad options or allocation failure. Free with etcd_client_free. */
etcd_client *etcd_client_create(const etcd_opts *o, char *err, size_t errlen);
/* Release the client; NULL is a no-op. */
void etcd_client_free(etcd_client *h);
/* Detail of the last failure on h (static to h, valid until the next call). */
const char *etcd_errstr(const etcd_client *h);

/*
 * Unary calls. All return SC_OK on success; on failure: SC_ECONN (endpoint not
 * reachable), SC_ETIMEOUT (deadline passed), SC_EPROTO (answer not
 * understood), SC_ENOTFOUND (etcd said not found, e.g. unknown lease),
 * SC_EINVAL (bad arguments, or etcd rejected them), SC_ECONFLICT (revision
 * already compacted), SC_ENOMEM, SC_ERR (other server error); detail in
 * etcd_errstr(h). Output parameters may be NULL when not wanted.
 */

/* Put key=value (vlen bytes), attached to lease_id (0 = none). *revision_out
 * gets the revision of the write. */
sc_status etcd_put(etcd_client *h, const char *key, const void *value, size_t vlen,
                   int64_t lease_id, int64_t *revision_out) SC_MUST_USE;

/* Compare-and-put in one transaction: put key=value on lease_id (0 = none)
 * only if the key's mod_revision is still expect_mod_rev, or, with
 * expect_mod_rev 0, only if the key does not exist. SC_OK with *done = 1
 * when the put happened, *done = 0 when the compare failed (someone else
 * wrote or deleted the key meanwhile: read it again). */
sc_status etcd_put_if(etcd_client *h, const char *key, const void *value, size_t vlen,
                      int64_t lease_id, int64_t expect_mod_rev, int *done) SC_MUST_USE;

/* Read one key / every key starting with prefix ("" = the whole keyspace)
 * into *out (zeroed first). An absent key is SC_OK with out->n == 0. On
 * success the caller frees *out with etcd_kv_list_free; on failure *out is
 * empty and needs no free (freeing it is harmless). */
sc_status etcd_get(etcd_client *h, const char *key, etcd_kv_list *out) SC_MUST_USE;
sc_status etcd_get_prefix(etcd_client *h, const char *prefix, etcd_kv_list *out) SC_MUST_USE;
/* Free what a list owns and zero it; NULL-safe. */
void etcd_kv_list_free(etcd_kv_list *l);

/* Delete one key / every key under prefix; *deleted gets the number removed
 * (0 when nothing matched, which is still SC_OK). */
sc_status etcd_delete(etcd_client *h, const char *key, int64_t *deleted) SC_MUST_USE;
sc_status etcd_delete_prefix(etcd_client *h, const char *prefix, int64_t *deleted) SC_MUST_USE;

/* Grant a lease of ttl_seconds (>0). *lease_id gets its id, *granted_ttl the
 * TTL etcd chose (it may raise tiny TTLs). */
sc_status etcd_lease_grant(etcd_client *h, int64_t ttl_seconds, int64_t *lease_id,
                           int64_t *granted_ttl) SC_MUST_USE;
/* One keepalive round for lease id: *ttl_left gets the renewed TTL.
 * SC_ENOTFOUND when the lease has expired or was revoked. Call it well within
 * the TTL (e.g. every TTL/3); this client does not schedule it. */
sc_status etcd_lease_keepalive(etcd_client *h, int64_t id, int64_t *ttl_left) SC_MUST_USE;
/* Revoke lease id, deleting every key attached to it. SC_ENOTFOUND when the
 * lease does not exist (any more). */
sc_status etcd_lease_revoke(etcd_client *h, int64_t id) SC_MUST_USE;

/* Compact the key history up to revision rev (admin/tests). Watches that
 * start before rev then get a compaction notice. SC_ECONFLICT when rev is
 * already compacted, SC_EINVAL when rev is in the future. */
sc_status etcd_compact(etcd_client *h, int64_t rev) SC_MUST_USE;

/* ------------------------------------------------------------------ watch */

typedef enum etcd_event_type {
    ETCD_EV_PUT = 0,    /* kv was created or changed */
    ETCD_EV_DELETE = 1, /* kv.key was deleted (or its lease expired); kv.value is "" */
    ETCD_EV_RESYNC = 2, /* watcher only: forget everything known under the prefix;
                           the PUTs up to the next ETCD_EV_SYNCED are the full state */
    ETCD_EV_SYNCED = 3  /* watcher only: end of the snapshot that RESYNC began */
} etcd_event_type;

/* One change. For RESYNC/SYNCED kv is all zero/NULL. */
typedef struct etcd_event {
    etcd_event_type type; /* what happened */
    etcd_kv kv;           /* the key after the change (owned by whoever holds the event) */
    int64_t revision;     /* kv.mod_revision for PUT/DELETE; the snapshot's store
                             revision for RESYNC/SYNCED */
} etcd_event;

/* One parsed line of the /v3/watch stream. Free with etcd_watch_batch_free. */
typedef struct etcd_watch_batch {
    etcd_event *events;       /* owned array of n events, in revision order */
    size_t n;                 /* entries in events */
    int64_t revision;         /* header.revision; 0 when omitted */
    int64_t watch_id;         /* watch_id; 0 when omitted */
    int64_t compact_revision; /* >0: start revision was compacted, resume from here */
    int created;              /* 1 on the "watch created" answer */
    int canceled;             /* 1 when etcd ended this watch */
    char err[SC_ERRLEN];      /* why parsing failed, or the server's error/cancel reason */
} etcd_watch_batch;

/* Parse one line (len bytes, NUL not needed, trailing whitespace allowed) of
 * the watch stream into *out (zeroed first). SC_OK for a {"result":...}
 * object; SC_ERR for a stream error object {"error":...} (message in out->err);
 * SC_EPROTO for anything else (reason in out->err); SC_ENOMEM. *out must be
 * freed with etcd_watch_batch_free whatever the result. */
sc_status etcd_watch_parse_line(const char *line, size_t len, etcd_watch_batch *out) SC_MUST_USE;
/* Free what a batch owns and zero it; NULL-safe. */
void etcd_watch_batch_free(etcd_watch_batch *b);

/* Parse a /v3/kv/range answer (pure; for tests and tools). Same ownership
 * as etcd_get. SC_EPROTO with a reason in err on malformed input. */
sc_status etcd_parse_range(const char *json, size_t len, etcd_kv_list *out, char *err,
                           size_t errlen) SC_MUST_USE;

/* Called on the watcher's thread, one event at a time, in revision order.
 * ev and everything it points to are borrowed for the duration of the call;
 * copy what you keep. It must not block for long (it holds up the stream) and
 * must not call etcd_watch_stop on its own watcher. */
typedef void (*etcd_watch_cb)(void *ctx, const etcd_event *ev);

typedef struct etcd_watch etcd_watch;

/*
 * Start a watcher on every key under prefix ("" = everything) in a new
 * thread with its own connection.
 *
 * start_revision > 0: deliver every change from that revision on.
 * start_revision <= 0: first read the range and deliver it as a snapshot
 *   (RESYNC, one PUT per key, SYNCED), then every change after it - the usual
 *   "list then watch" that never misses an update.
 *
 * On a dropped connection it reconnects with exponential backoff and resumes
 * at the revision after the last one delivered, so no event is lost or
 * repeated. When etcd has compacted that revision, the changes in between are
 * gone: the watcher then reads the range again and delivers a new snapshot
 * (RESYNC, PUTs, SYNCED) before carrying on, so a caller that rebuilds its
 * view on RESYNC always converges. Events of one snapshot all carry the
 * snapshot revision.
 *
 * ctx is borrowed and must outlive the watcher. Returns NULL with a reason in
 * err on bad arguments or when the thread cannot start; no network I/O is
 * done before returning (an unreachable endpoint just keeps it retrying).
 * Stop and free with etcd_watch_stop.
 */
etcd_watch *etcd_watch_start(const etcd_opts *o, const char *prefix, int64_t start_revision,
                             etcd_watch_cb cb, void *ctx, char *err, size_t errlen);

/* Stop the thread (promptly: it interrupts an idle stream, a connect or a
 * backoff wait within tens of ms), join it and free the watcher. After it
 * returns the callback is not running and will not run again. NULL is a
 * no-op. Must not be called from the callback. */
void etcd_watch_stop(etcd_watch *w);

/* Counters, safe to read from any thread while the watcher runs. */
typedef struct etcd_watch_stats {
    int64_t next_revision; /* revision the next (re)connect resumes from */
    int64_t connects;      /* watch streams opened successfully (created answers) */
    int64_t failures;      /* failed connects and dropped streams */
    int64_t resyncs;       /* snapshots delivered (the initial one included) */
    int64_t events;        /* PUT/DELETE events delivered */
} etcd_watch_stats;
void etcd_watch_get_stats(etcd_watch *w, etcd_watch_stats *out);

#endif
