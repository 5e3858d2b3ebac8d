/*
 * verify.h - anti-entropy between PostgreSQL (the truth) and the search
 * index: compare a channel's rows with the documents of the index its
 * binding names (both copies while it is moving), find what drifted, and
 * optionally repair it. Used by `reindex verify` and by the continuous
 * sweep of `reindex worker`.
 *
 * Comparing. The snowflake id space [0, 2^63-1) is cut into `fanout`
 * buckets. For each bucket PostgreSQL answers count(*) and the sum of the
 * rows' digests (digest.h, computed in SQL), and the engine answers doc_count
 * and the sum of the documents' "digest" field (a `filters` aggregation of
 * `range` queries on id with a `sum` and a `missing` sub-aggregation: the
 * same request on Elasticsearch 7/8 and OpenSearch 2). A bucket agrees when
 * counts and sums are equal and no document lacks the digest; an agreeing
 * channel therefore costs one SQL query and one _search, and no message is
 * read. A differing bucket is split again, down to ranges of at most `leaf`
 * documents, whose ids are then listed on both sides and compared one by
 * one: missing (row without document), extra (document without row) and
 * stale (other version or deleted flag, or no digest: written before the
 * mapping had one). Documents the engine holds "ahead" of PostgreSQL (a
 * higher version than the row's) are stale too. Found drift is confirmed
 * once after a refresh of the index, so writes not yet visible to search
 * are not reported.
 *
 * Copies elsewhere. Every live cluster of the view is asked (one terms
 * aggregation on _index) which indices hold documents of the channel; any
 * index the binding does not name holds a stale copy.
 *
 * Repairing (opts.repair). Only the drifting leaf ranges are rewritten:
 * rows re-read from PostgreSQL after the engine's list are written through
 * the reindex writer (sc_reindex_write) with version_type external_gte, so
 * an equal version is rewritten (documents without a digest) and a newer
 * one written by live indexing in the meantime is never overwritten (409,
 * counted as already newer). Documents PostgreSQL does not have become
 * tombstones at their own version with digest 0 (SC_DIGEST_ORPHAN, left out
 * of both sides' sums). A document ahead of PostgreSQL is deleted only if it
 * is still the very one listed (if_seq_no/if_primary_term) and the row is
 * written again; when a delete's remembered version refuses a rewrite
 * (index.gc_deletes), the index gets gc_deletes 1s and the rewrite is
 * retried for a few seconds. A deleted index is recreated and refilled.
 * Stale copies are purged (_delete_by_query). The channel is then verified
 * again; result "repaired" means that second pass agreed.
 *
 * Not here: choosing channels (the program: kind/target as for jobs, or the
 * sweep's order, db.h sc_db_verify_next), printing, metrics.
 * Thread-safety: one sc_verifier per thread (its db and reindexer handles
 * are single-threaded).
 */
#ifndef SC_VERIFY_H
#define SC_VERIFY_H

#include "cluster.h"
#include "db.h"
#include "reindex.h"
#include "sc.h"

#include <signal.h>
#include <stdint.h>

/* Copies (bound places) compared per channel: current and, while moving, prev. */
#define SC_VERIFY_MAX_COPIES 2
/* Stale copies remembered per channel (more are counted, not named). */
#define SC_VERIFY_MAX_STALE 8

typedef struct sc_verify_opts {
    sc_db *db;             /* ref: caller's; read rows, bindings */
    sc_reindexer *rx;      /* ref: caller's; cluster clients, the writer, purges */
    sc_cluster_view *view; /* ref: clusters searched for stale copies */
    int repair;            /* 1: repair what is found */
    int fanout;            /* buckets per split, 2..64 [16] */
    int leaf;              /* list ids of ranges with at most this many docs, 1..5000 [100] */
    const volatile sig_atomic_t *stop; /* ref, may be NULL */
} sc_verify_opts;

/* One compared copy: the binding's place, or prev while moving. */
typedef struct sc_verify_copy {
    char cluster[SC_CLUSTER_NAME_MAX];
    char index[128];
    int64_t pg_docs;   /* rows in PostgreSQL */
    int64_t es_docs;   /* documents there (orphan tombstones excluded) */
    int64_t missing;   /* rows without a document */
    int64_t extra;     /* documents without a row */
    int64_t stale;     /* documents with another version / deleted flag / digest */
    int64_t no_digest; /* of stale: documents without the digest field (older mapping) */
    int index_missing; /* 1: the index does not exist */
} sc_verify_copy;

/* A copy of the channel on an index it is not bound to. */
typedef struct sc_verify_stale_copy {
    char cluster[SC_CLUSTER_NAME_MAX];
    char index[128];
    int64_t docs;
} sc_verify_stale_copy;

typedef enum sc_verify_outcome {
    SC_VERIFY_AGREE = 0,    /* every copy equals PostgreSQL, no stale copies */
    SC_VERIFY_DRIFT = 1,    /* drift found (and not repaired, or repair left some) */
    SC_VERIFY_REPAIRED = 2, /* drift found, repaired, a second pass agreed */
} sc_verify_outcome;

/* "agree", "drift", "repaired". Static storage. */
const char *sc_verify_outcome_str(sc_verify_outcome o);

typedef struct sc_verify_result {
    uint64_t channel_id;
    sc_verify_outcome outcome;
    int bound;      /* 0: no binding (nothing compared) */
    char state[16]; /* binding state */
    sc_verify_copy copies[SC_VERIFY_MAX_COPIES];
    int n_copies;
    sc_verify_stale_copy stale_copies[SC_VERIFY_MAX_STALE];
    int n_stale_copies;            /* named in stale_copies */
    int64_t stale_copy_docs;       /* documents in all stale copies */
    int64_t missing, extra, stale; /* found, over all copies (first pass) */
    int64_t no_digest;             /* of stale: documents without digest */
    int64_t rewritten;             /* repair: documents written (incl. tombstones) */
    int64_t newer;                 /* repair: writes refused as already newer (409) */
    int64_t purged;                /* repair: stale-copy documents deleted */
    int64_t es_requests;           /* engine requests made (cost) */
    int64_t pg_queries;            /* PostgreSQL queries made (cost) */
    int64_t listed;                /* ids listed (both sides): 0 for an agreeing channel */
    int64_t elapsed_ms;
} sc_verify_result;

typedef struct sc_verifier sc_verifier;

/* Create a verifier; NULL with the reason in err on bad options (db, rx,
 * view required). No I/O. Free with sc_verifier_free. */
sc_verifier *sc_verifier_create(const sc_verify_opts *o, char *err, size_t errlen);
/* NULL is a no-op. */
void sc_verifier_free(sc_verifier *v);
/* Detail of the last failure ("" if none). Owned by v. */
const char *sc_verifier_errstr(const sc_verifier *v);

/* Verify (and with opts.repair, repair) channel_id; *out gets what was found.
 * SC_OK when the comparison finished (see out->outcome); SC_ENOTFOUND when
 * the channel has no binding and no rows; other statuses when a server
 * failed (detail in sc_verifier_errstr): unreachable cluster, bad answer. */
sc_status sc_verify_channel(sc_verifier *v, uint64_t channel_id, sc_verify_result *out) SC_MUST_USE;

#endif
