/*
 * db.h - the PostgreSQL client: chat-side reads and seeding (messages,
 * channels, membership), hydration of search hits, the readability rule,
 * channel -> cluster bindings and reindex jobs. The tables are defined in
 * schemas/postgres/ (the contract, documented in its README.md).
 *
 * One sc_db handle is one libpq connection. A handle is NOT thread-safe: use
 * one per thread. Every statement is prepared once per connection (lazily, on
 * first use, under a constant name) and prepared again after a reconnect.
 * When a call finds the connection broken it resets it once (PQreset) and
 * retries the statement once; a write whose reply was lost may therefore run
 * twice (all writes here are idempotent except sc_db_job_create and the
 * done counter of sc_db_job_checkpoint, which is advisory progress).
 *
 * Ids are uint64_t in C and bigint in SQL; an id above INT64_MAX is rejected
 * by the server and reported as SC_EINVAL. On failure every function returns
 * a status and leaves the libpq (or local) reason in sc_db_errstr().
 * Status mapping: connection lost and not recoverable -> SC_ECONN; statement
 * timeout -> SC_ETIMEOUT; bad data / constraint violation -> SC_EINVAL;
 * serialization failure or deadlock -> SC_ECONFLICT; other -> SC_ERR.
 *
 * Not here: the Redis cache of bindings (binding.c), Elasticsearch (es.c).
 */
#ifndef SC_DB_H
#define SC_DB_H

#include "message.h"
#include "sc.h"
#include "states.h"

#include <stddef.h>
#include <stdint.h>

typedef struct sc_db sc_db;

/* Default statement_timeout set on every (re)connect. */
#define SC_DB_DEFAULT_STATEMENT_TIMEOUT_MS 10000

/* Connect with a libpq conninfo string ("host=... port=... dbname=..." or a
 * postgres:// URI). Defaults that the conninfo may override: connect_timeout=5,
 * TCP keepalives (idle 5 s, interval 2 s, count 3), application_name=scour.
 * Sets statement_timeout to SC_DB_DEFAULT_STATEMENT_TIMEOUT_MS.
 * Returns a handle (free with sc_db_free) or NULL with the reason in err. */
sc_db *sc_db_create(const char *conninfo, char *err, size_t errlen);
/* Same with an explicit statement_timeout in ms (0 = none, not advised). */
sc_db *sc_db_create_opts(const char *conninfo, int statement_timeout_ms, char *err, size_t errlen);
/* Close the connection and free the handle. NULL is a no-op. */
void sc_db_free(sc_db *db);
/* Reason of the last failure on this handle. Owned by the handle. */
const char *sc_db_errstr(const sc_db *db);
/* Server process id of the current connection (changes after a reconnect);
 * 0 when not connected. For tests and diagnostics. */
int sc_db_backend_pid(const sc_db *db);
/* Number of automatic reconnects this handle has made. */
uint64_t sc_db_reconnects(const sc_db *db);

/* ---- chat side: seeding (publisher CLI playing the chat service, tests) ---- */

/* Insert message m, or update the stored row with the same id, but only if
 * m->version is higher than the stored version, so replays never regress.
 * m->deleted sets deleted_at and purges content, mentions, attachments,
 * embeds and stickers (the row stays as a tombstone). A non-deleted version
 * above 1 sets edited_at. Returns SC_OK when the row was written,
 * SC_ECONFLICT when the stored version is equal or newer (nothing changed;
 * a replay - callers usually treat it as success), SC_EINVAL for bad data. */
sc_status sc_db_upsert_message(sc_db *db, const sc_message *m) SC_MUST_USE;

/* Insert or replace a user / guild row. */
sc_status sc_db_upsert_user(sc_db *db, uint64_t id, const char *name) SC_MUST_USE;
sc_status sc_db_upsert_guild(sc_db *db, uint64_t id, const char *name,
                             uint64_t owner_id) SC_MUST_USE;
/* Insert or replace a channel. guild_id 0 makes a DM: kind must then be "dm"
 * or "group_dm" (and a guild channel must not be), else SC_EINVAL.
 * kind: text|voice|announcement|forum|thread|dm|group_dm; visibility:
 * public|private (NULL = public). The guild row must exist (SC_EINVAL). */
sc_status sc_db_upsert_channel(sc_db *db, uint64_t id, uint64_t guild_id, const char *name,
                               const char *kind, const char *visibility) SC_MUST_USE;
/* Make user a member of guild (idempotent). The guild must exist. */
sc_status sc_db_upsert_member(sc_db *db, uint64_t guild_id, uint64_t user_id) SC_MUST_USE;

/* Per-user access to one channel, see sc_db_set_channel_access. */
typedef enum sc_channel_access {
    SC_ACCESS_DEFAULT = 0, /* neither member nor denied: removes both rows */
    SC_ACCESS_MEMBER = 1,  /* channel_members row (private channel / DM) */
    SC_ACCESS_DENY = 2     /* channel_denies row (public channel) */
} sc_channel_access;

/* Set user's explicit access to channel (idempotent). The channel must exist. */
sc_status sc_db_set_channel_access(sc_db *db, uint64_t channel_id, uint64_t user_id,
                                   sc_channel_access access) SC_MUST_USE;

/* ---- hydration (router) ---- */

/* Current rows for ids[0..n), skipping absent and deleted ones; order not
 * guaranteed. On SC_OK *out is a malloc'd array of *nout messages (NULL when
 * 0): free each with sc_message_clear() and the array with free(). On error
 * nothing is allocated. */
sc_status sc_db_fetch_messages(sc_db *db, const uint64_t *ids, size_t n, sc_message **out,
                               size_t *nout) SC_MUST_USE;
/* Same, plus each row's edit time: on SC_OK, when edited_ms is non-NULL,
 * *edited_ms is a malloc'd array parallel to *out ((*edited_ms)[i] belongs to
 * (*out)[i]): Unix ms of the last edit (edited_at), 0 if never edited; NULL
 * when *nout is 0. Free it with free(). On error nothing is allocated.
 * sc_db_fetch_messages is this call with edited_ms NULL. */
sc_status sc_db_fetch_messages_ex(sc_db *db, const uint64_t *ids, size_t n, sc_message **out,
                                  size_t *nout, int64_t **edited_ms) SC_MUST_USE;
/* The newest live messages of a channel strictly before before_id (0 = no
 * upper bound), newest first (ORDER BY id DESC), at most limit (1..10000):
 * one keyset page for reading a channel backwards, e.g. the context shown
 * before a search hit. Unlike sc_db_page_messages it EXCLUDES deleted rows
 * (a reader never shows tombstones), so a page of `limit` rows holds
 * `limit` visible messages however many deletions lie between them. Pass
 * the last (smallest) id of a page as before_id of the next.
 * *out as for sc_db_fetch_messages. */
sc_status sc_db_page_messages_desc(sc_db *db, uint64_t channel_id, uint64_t before_id, int limit,
                                   sc_message **out, size_t *n) SC_MUST_USE;

/* ---- permissions ----
 * Readability rule (schemas/postgres/README.md): user U may read channel C iff
 *   (C has a guild, U is a member of it, and ((C is public and U has no deny
 *    row) or U has a channel_members row))
 *   or (C is a DM and U has a channel_members row). */

/* The subset of channels user_id may read, ascending. guild_id 0 = any guild
 * (and DMs); n_candidates 0 = every channel (of guild_id, or of every guild
 * the user belongs to plus their DMs when guild_id is 0). Unknown channel ids
 * are dropped. On SC_OK *out is malloc'd (free()), NULL when *nout is 0. */
sc_status sc_db_readable_channels(sc_db *db, uint64_t user_id, uint64_t guild_id,
                                  const uint64_t *candidates, size_t n_candidates, uint64_t **out,
                                  size_t *nout) SC_MUST_USE;
/* Every DM and group DM user_id is a recipient of (channels without a guild
 * where the user has a channel_members row), ascending (db_dm.c). On SC_OK
 * *out is malloc'd (free()), NULL when *nout is 0. */
sc_status sc_db_dm_channels(sc_db *db, uint64_t user_id, uint64_t **out, size_t *nout) SC_MUST_USE;
/* Guild of a channel into *guild_id (0 for a DM). SC_ENOTFOUND if no channel. */
sc_status sc_db_channel_guild(sc_db *db, uint64_t channel_id, uint64_t *guild_id) SC_MUST_USE;
/* Every channel of a guild, ascending. *ids malloc'd (free()), NULL when 0. */
sc_status sc_db_guild_channels(sc_db *db, uint64_t guild_id, uint64_t **ids, size_t *n) SC_MUST_USE;

/* ---- reindex reading ---- */

/* One keyset page of a channel: messages with after_id < id < before_id
 * (before_id 0 = no upper bound), ascending id, at most limit (1..10000).
 * INCLUDES deleted rows (deleted = 1, content purged) so a rebuild writes
 * tombstones. Pass the last id of a page as after_id of the next.
 * *out as for sc_db_fetch_messages. */
sc_status sc_db_page_messages(sc_db *db, uint64_t channel_id, uint64_t after_id, uint64_t before_id,
                              int limit, sc_message **out, size_t *n) SC_MUST_USE;
/* Number of rows (deleted included, as paged) of channel with id >= min_id. */
sc_status sc_db_count_messages(sc_db *db, uint64_t channel_id, uint64_t min_id,
                               int64_t *count) SC_MUST_USE;

/* ---- verify (verify.h) ---- */

/* Count and digest sum (digest.h, SC_DIGEST_SQL; deleted rows included) of
 * channel_id's rows in each of k buckets: bucket i holds the ids in
 * [bounds[i], bounds[i+1]); bounds has k+1 strictly increasing entries,
 * all <= INT64_MAX. counts[k] and sums[k] are filled (0 for empty buckets).
 * SC_EINVAL for bad bounds; db statuses. */
sc_status sc_db_verify_buckets(sc_db *db, uint64_t channel_id, const uint64_t *bounds, size_t k,
                               int64_t *counts, uint64_t *sums) SC_MUST_USE;

/* Record the end of a verification of channel_id (table
 * channel_verifications): result "agree", "drift", "repaired" or "error";
 * drift_docs found; error text (may be NULL). */
sc_status sc_db_verify_mark(sc_db *db, uint64_t channel_id, const char *result, int64_t drift_docs,
                            const char *error) SC_MUST_USE;

/* Claim up to limit channels bound to one of clusters[0..nclusters) for a
 * verification: never-verified first, then by oldest verification, skipping
 * channels another sweep claimed less than claim_s seconds ago (two sweeps
 * never take the same channel at once). sc_db_verify_mark ends the claim.
 * *channels malloc'd (free()), NULL when *n is 0. */
sc_status sc_db_verify_next(sc_db *db, const char *const *clusters, size_t nclusters, int limit,
                            int claim_s, uint64_t **channels, size_t *n) SC_MUST_USE;

/* The sweep's progress over the bound channels. */
typedef struct sc_verify_progress {
    int64_t channels;        /* bound channels */
    int64_t verified_ever;   /* of them, verified at least once */
    int64_t verified_recent; /* verified within the window */
    int64_t drift_recent;    /* verified within the window with drift found */
    int64_t errors;          /* whose last verification failed */
    int64_t oldest_ms;       /* oldest last verification (epoch ms), 0 if none */
    int64_t newest_ms;       /* newest verification (epoch ms), 0 if none */
} sc_verify_progress;

/* Progress of the sweep; window_s bounds "recent". */
sc_status sc_db_verify_progress(sc_db *db, int64_t window_s, sc_verify_progress *out) SC_MUST_USE;

/* ---- bindings ---- */

typedef struct sc_binding {
    uint64_t channel_id;
    char cluster[64];       /* cluster the channel is indexed on */
    char index[128];        /* index name on that cluster */
    sc_binding_state state; /* active | building | moving */
    char prev_cluster[64];  /* before the last move; "" if never moved */
    char prev_index[128];   /* "" if never moved */
    int generation;         /* compare-and-set token, +1 per update */
    uint64_t history_from;  /* messages with id below it are not yet in the copy searches
                               read (a rebuild's phase 2 still running); 0 = complete */
} sc_binding;

/* Binding of channel_id into *out. SC_ENOTFOUND if none. */
sc_status sc_db_binding_get(sc_db *db, uint64_t channel_id, sc_binding *out) SC_MUST_USE;
/* Create the binding unless one exists (INSERT ... ON CONFLICT DO NOTHING,
 * then SELECT), and return the row that is stored - ours or the one a racer
 * inserted first - in *winner, so every racer agrees. cluster/index longer
 * than the struct fields, or a state outside the enum, are SC_EINVAL. */
sc_status sc_db_binding_insert_if_absent(sc_db *db, uint64_t channel_id, const char *cluster,
                                         const char *index, sc_binding_state state,
                                         sc_binding *winner) SC_MUST_USE;
/* Compare-and-set: set cluster/index/state if the stored generation is still
 * expected_generation; bumps generation. When cluster or index change, the
 * old ones become prev_cluster/prev_index; otherwise prev_* are kept.
 * The new row goes to *out (may be NULL). SC_ECONFLICT on a stale
 * generation, SC_ENOTFOUND if the channel has no binding. */
sc_status sc_db_binding_update(sc_db *db, uint64_t channel_id, const char *cluster,
                               const char *index, sc_binding_state state, int expected_generation,
                               sc_binding *out) SC_MUST_USE;
/* Compare-and-set history_from alone (see sc_binding); bumps generation.
 * Same results as sc_db_binding_update. */
sc_status sc_db_binding_set_history(sc_db *db, uint64_t channel_id, uint64_t history_from,
                                    int expected_generation, sc_binding *out) SC_MUST_USE;
/* Channels bound to cluster (current cluster, not previous), ascending.
 * *channels malloc'd (free()), NULL when *n is 0. */
sc_status sc_db_bindings_on_cluster(sc_db *db, const char *cluster, uint64_t **channels,
                                    size_t *n) SC_MUST_USE;

/* Bindings per cluster, for the admin CLI. */
typedef struct sc_cluster_count {
    char cluster[64];
    int64_t total;    /* all bindings on the cluster */
    int64_t active;   /* state = active */
    int64_t building; /* state = building */
    int64_t moving;   /* state = moving */
} sc_cluster_count;

/* One entry per cluster with bindings, by cluster name. *out malloc'd
 * (free()), NULL when *n is 0. */
sc_status sc_db_binding_counts(sc_db *db, sc_cluster_count **out, size_t *n) SC_MUST_USE;

/* ---- reindex jobs ---- */

typedef struct sc_job {
    int64_t id;
    char kind[16];          /* channel | guild | cluster | all */
    char target[128];       /* channel id, guild id or cluster name; "" for all */
    char to_cluster[64];    /* destination; "" = rebuild in place */
    sc_job_state state;     /* queued | running | done | failed | cancelled */
    int phase;              /* 1 = recent messages, 2 = deep history */
    int recent_days;        /* size of phase 1 in days */
    int64_t total;          /* messages to write (estimate) */
    int64_t done;           /* messages written so far */
    uint64_t checkpoint_id; /* last message id written (keyset cursor) */
    char error[256];        /* reason when failed, else "" (truncated) */
    char worker[64];        /* claimer, "" if never claimed */
    int64_t created_ms;     /* Unix ms */
    int64_t updated_ms;     /* Unix ms */
    int64_t heartbeat_ms;   /* Unix ms, 0 if never */
} sc_job;

/* Per-channel cursor of a job. */
typedef struct sc_job_channel {
    uint64_t channel_id;
    int phase;              /* 1 or 2 */
    uint64_t checkpoint_id; /* last message id written for this channel */
    int done;               /* channel finished */
} sc_job_channel;

/* Queue a job (state queued, phase 1). target/to_cluster may be NULL.
 * The new id goes to *id. */
sc_status sc_db_job_create(sc_db *db, const char *kind, const char *target, const char *to_cluster,
                           int recent_days, int64_t *id) SC_MUST_USE;
/* Claim the oldest queued job - or a running one whose heartbeat is older
 * than stale_s seconds (stale_s 0: never steal) - with SELECT ... FOR UPDATE
 * SKIP LOCKED in one statement, so concurrent claimers never get the same
 * job. Marks it running with worker and a fresh heartbeat; *out gets the row
 * (with its checkpoint, for resume). to_cluster non-NULL restricts to jobs
 * with that destination. SC_ENOTFOUND when nothing is claimable. */
sc_status sc_db_job_claim(sc_db *db, const char *worker, const char *to_cluster, int stale_s,
                          sc_job *out) SC_MUST_USE;
/* Record progress of a running job atomically: job checkpoint_id =
 * checkpoint_id, done += done_delta, heartbeat; and when channel_id != 0 the
 * channel's cursor (row created if missing, with the job's phase).
 * SC_ECONFLICT if the job is no longer running (cancelled, finished):
 * the worker should stop. SC_ENOTFOUND if there is no such job. */
sc_status sc_db_job_checkpoint(sc_db *db, int64_t job_id, uint64_t channel_id,
                               uint64_t checkpoint_id, int64_t done_delta) SC_MUST_USE;
/* Set phase (1|2) and total (< 0: keep) of a running job, with a heartbeat.
 * SC_ECONFLICT if not running. */
sc_status sc_db_job_progress(sc_db *db, int64_t job_id, int phase, int64_t total) SC_MUST_USE;
/* End a job: state SC_JOB_DONE | SC_JOB_FAILED | SC_JOB_CANCELLED (else
 * SC_EINVAL), error may be NULL. Only a queued or running job can end:
 * SC_ECONFLICT if it already ended, SC_ENOTFOUND if absent. */
sc_status sc_db_job_finish(sc_db *db, int64_t job_id, sc_job_state state,
                           const char *error) SC_MUST_USE;
/* Read a job. SC_ENOTFOUND if absent. */
sc_status sc_db_job_get(sc_db *db, int64_t job_id, sc_job *out) SC_MUST_USE;
/* Attach channels to a job (phase 1, cursor 0); existing rows are kept. */
sc_status sc_db_job_channels_add(sc_db *db, int64_t job_id, const uint64_t *channels,
                                 size_t n) SC_MUST_USE;
/* Set one channel's cursor explicitly (phase change, done flag). Creates the
 * row if missing. */
sc_status sc_db_job_channel_set(sc_db *db, int64_t job_id, const sc_job_channel *c) SC_MUST_USE;
/* The job's channels, ascending. *out malloc'd (free()), NULL when *n is 0. */
sc_status sc_db_job_channels(sc_db *db, int64_t job_id, sc_job_channel **out,
                             size_t *n) SC_MUST_USE;
/* The newest (highest id) queued or running job that lists channel_id in
 * its channels (reindex_job_channels), into *out - e.g. to report how far
 * the rebuild of a "building" channel has got (out->done counts the whole
 * job, every channel of it). SC_ENOTFOUND if no such job. */
sc_status sc_db_job_for_channel(sc_db *db, uint64_t channel_id, sc_job *out) SC_MUST_USE;
/* Progress of the rebuilds in a scope, in one statement, from the
 * per-channel counters of each channel's newest job that was not cancelled
 * (reindex_job_channels.copied / total). channels[0..n) are the scope's
 * bound channels, rebuilding[0..nr) those of them being rebuilt (building,
 * or history still missing). Counted: every rebuilding channel, plus every
 * other channel whose job finished after the oldest still queued/running
 * job of the scope was created (it was rebuilt in this same wave: a channel
 * that finishes keeps its count, so the sum only grows while the scope is
 * building; a rebuild long ago is not counted). *done gets the rows copied,
 * *total the rows to copy (at least *done); 0 and 0 when there is nothing. */
sc_status sc_db_rebuild_progress(sc_db *db, const uint64_t *channels, size_t n,
                                 const uint64_t *rebuilding, size_t nr, int64_t *done,
                                 int64_t *total) SC_MUST_USE;
/* Record the rows channel_id has to copy in job_id (when a run starts). */
sc_status sc_db_job_channel_total(sc_db *db, int64_t job_id, uint64_t channel_id,
                                  int64_t total) SC_MUST_USE;
/* Claim job job_id for worker (e.g. `reindex resume JOB`): it is claimable
 * when queued or failed, or running with no heartbeat, a heartbeat older
 * than stale_s seconds, or held by dead_worker (non-NULL: a claimer known to
 * be dead; NULL = none). Marks it running with worker, a fresh heartbeat and
 * no error; *out gets the claimed row. SC_ENOTFOUND if there is no such job,
 * SC_ECONFLICT if it exists but is not claimable (done, cancelled, or running
 * with a live owner), SC_EINVAL if worker is NULL or too long. */
sc_status sc_db_job_claim_id(sc_db *db, int64_t job_id, const char *worker, int stale_s,
                             const char *dead_worker, sc_job *out) SC_MUST_USE;
/* The newest `limit` (1..10000) jobs, newest first (highest id). *out
 * malloc'd (free()), NULL when *n is 0. */
sc_status sc_db_job_list(sc_db *db, int limit, sc_job **out, size_t *n) SC_MUST_USE;

#endif
