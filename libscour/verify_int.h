/*
 * verify_int.h - what the verify engine's files share inside the library,
 * and nothing outside it includes: the handle's layout, the bucket and
 * listed-document types, and the helpers each layer offers the one above.
 * The public contract is verify.h.
 *
 * Layers (arrows run down only):
 *   verify_channel.c  one channel's passes
 *   verify_compare.c  one copy against PostgreSQL: buckets, splits, leaf diff
 *   verify_stale.c    copies on indices the binding does not name
 *   verify_repair.c   the writes of a repairing pass
 *   verify_es.c       the engine's side: _search, buckets, id listings
 *   verify.c          the handle
 */
#ifndef SC_VERIFY_INT_H
#define SC_VERIFY_INT_H

#include "buf.h"
#include "verify.h"

#include <cjson/cJSON.h>

#define VF_SPACE_END ((uint64_t)INT64_MAX) /* ids are in [0, VF_SPACE_END) */
#define VF_MAX_LIST 10000                  /* hits one listing may return */

struct sc_verifier {
    sc_db *db;                         /* ref */
    sc_reindexer *rx;                  /* ref */
    sc_cluster_view *view;             /* ref */
    int repair;                        /* repair what is found */
    int fanout;                        /* buckets per split */
    int leaf;                          /* list ranges with at most this many docs */
    const volatile sig_atomic_t *stop; /* ref, may be NULL */
    /* per copy being compared */
    es_client *es;          /* ref: rx's client of the copy's cluster */
    const char *index;      /* ref: the copy's index */
    sc_verify_copy *copy;   /* ref: counters of the copy */
    sc_verify_result *res;  /* ref: the channel's result */
    uint64_t channel;       /* channel being verified */
    int writing;            /* this pass repairs */
    sc_buf body, resp;      /* scratch request/response */
    char gc_done[128];      /* index whose gc_deletes was shortened */
    char errstr[SC_ERRLEN]; /* last failure */
};

/* Per bucket of one split, on both sides. */
typedef struct vf_bucket {
    uint64_t lo, hi;    /* ids [lo, hi) */
    int64_t pg_count;   /* rows */
    uint64_t pg_sum;    /* sum of their digests */
    int64_t es_count;   /* documents (orphan tombstones excluded) */
    uint64_t es_sum;    /* sum of their digests (exact when es_count <= SC_DIGEST_MAX_DOCS) */
    int64_t es_missing; /* documents without a digest */
} vf_bucket;

/* One document as listed by the engine. */
typedef struct vf_doc {
    uint64_t id;
    int64_t es_version; /* _version (the external version) */
    int64_t version;    /* the "version" field */
    int deleted;        /* the "deleted" field */
    int has_digest;     /* the "digest" field is there */
    uint64_t digest;    /* its value */
    int64_t seq_no;     /* for a conditional delete */
    int64_t primary_term;
} vf_doc;

/* What a repairing pass found in one leaf range (arrays borrowed from the
 * leaf's listing: the rows and documents stay owned by diff_leaf). */
typedef struct vf_repairs {
    const sc_message *fix; /* rows whose document is stale behind them */
    size_t nfix;
    const vf_doc *const *orph; /* documents without a row: tombstoned */
    size_t norph;
    const vf_doc *const *ahead; /* documents ahead of their row: deleted if unchanged */
    size_t nahead;
    const sc_message *again; /* missing rows and rows of ahead documents */
    size_t nagain;
} vf_repairs;

/* ---- verify_es.c ---- */

/* POST /<index>/_search with v->body on v->es; the parsed answer in *out
 * (cJSON_Delete). A missing index is SC_ENOTFOUND. Counts one request. */
sc_status vf_search(sc_verifier *v, const char *index, cJSON **out);
/* Member k of object o, or NULL. */
const cJSON *vf_jget(const cJSON *o, const char *k);
/* 1 and *out when n is a JSON number that is a non-negative integer below 2^53. */
int vf_json_u53(const cJSON *n, uint64_t *out);
/* The engine's side of buckets b[0..k) of v's copy: one filters aggregation. */
sc_status vf_es_buckets(sc_verifier *v, vf_bucket *b, size_t k);
/* Every document of the channel in [lo, hi) of v's copy, orphan tombstones
 * included, sorted by id. *out malloc'd (free()). */
sc_status vf_es_list(sc_verifier *v, uint64_t lo, uint64_t hi, vf_doc **out, size_t *n);

/* ---- verify_repair.c ---- */

/* Write what rp lists to v's copy: stale rows again, tombstones for the
 * orphans, conditional deletes of the documents ahead, then the missing rows
 * (retried while a delete's version refuses them). */
sc_status vf_repair_leaf(sc_verifier *v, const vf_repairs *rp);
/* Write every row of the channel into v's copy, whose index was gone. */
sc_status vf_refill(sc_verifier *v);

/* ---- verify_compare.c ---- */

/* Rows of the channel in PostgreSQL. Counts one query. */
sc_status vf_pg_total(sc_verifier *v, int64_t *n);
/* Compare one copy (with v->writing, repair it); an index that is gone
 * counts every row as missing, and repair recreates it. */
sc_status vf_compare_copy(sc_verifier *v, sc_verify_copy *c);

/* ---- verify_stale.c ---- */

/* Ask every live cluster which indices hold documents of the channel; those
 * the binding does not name go to v->res (purged when v->writing). */
sc_status vf_find_stale_copies(sc_verifier *v);

#endif
