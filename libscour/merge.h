/*
 * merge.h - turn the per-cluster _search answers for one request into one
 * page: parse each cluster's response, merge the sorted hit lists, skip the
 * offset, take the limit, and say whether any cluster was missing.
 *
 * Exactness: when every cluster returns its own top offset+limit hits in the
 * request's order, the merged page equals what a single cluster holding all
 * the data would return. Ties are broken by id, so the result is
 * deterministic. Pure logic: no I/O. Not here: sending requests (es.c),
 * building them (query.c).
 */
#ifndef SC_MERGE_H
#define SC_MERGE_H

#include "query.h"
#include "sc.h"

#include <stddef.h>
#include <stdint.h>

/* One search hit. */
typedef struct sc_hit {
    uint64_t id;         /* message id (from _id, else _source.id) */
    uint64_t channel_id; /* from _source.channel_id; 0 when absent */
    double score;        /* _score; 0 when null (sorted by id) */
} sc_hit;

/* One cluster's answer. Fill with sc_cluster_result_parse, or zero it and
 * set failed = 1 when the cluster could not be asked; release with
 * sc_cluster_result_clear. */
typedef struct sc_cluster_result {
    sc_hit *hits;   /* owned array, in the order the cluster returned */
    size_t n;       /* number of hits */
    uint64_t total; /* hits.total.value */
    int total_gte;  /* 1 when hits.total.relation was "gte" (a lower bound) */
    int incomplete; /* 1 when the cluster timed out or a shard failed */
    int failed;     /* 1 when the cluster contributed nothing (error) */
} sc_cluster_result;

/* The merged page. Release with sc_merge_page_clear. */
typedef struct sc_merge_page {
    sc_hit *hits;   /* owned array, at most limit entries, in request order */
    size_t n;       /* number of hits */
    uint64_t total; /* sum of the clusters' totals */
    int total_gte;  /* 1 when any total was a lower bound */
    int partial;    /* 1 when a cluster failed or answered incompletely */
    size_t failed;  /* number of failed clusters */
} sc_merge_page;

/*
 * Parse one cluster's _search response body (json[0..len)). On success fills
 * *out (owned; sc_cluster_result_clear) and returns SC_OK. An error body
 * ({"error":...}), a missing hits object, or a hit without a usable id gives
 * SC_EPROTO with the reason in err, and *out is left zeroed with failed = 1,
 * ready to be passed to sc_merge as a failed cluster. SC_ENOMEM likewise.
 * Ids may be strings or JSON integers up to 2^53 (larger numbers cannot be
 * read exactly and are rejected).
 */
sc_status sc_cluster_result_parse(const char *json, size_t len, sc_cluster_result *out, char *err,
                                  size_t errlen) SC_MUST_USE;

/* sc_cluster_result_parse is these two: the fast path (0 with *out filled,
 * or -1 leaving *out to be cleared: "not the usual success shape, let cJSON
 * decide"), then the cJSON parser. Both are exposed for the tests that hold
 * them to the same answers. */
int sc_cluster_result_parse_fast(const char *json, size_t len, sc_cluster_result *out) SC_MUST_USE;
sc_status sc_cluster_result_parse_cjson(const char *json, size_t len, sc_cluster_result *out,
                                        char *err, size_t errlen) SC_MUST_USE;

/* Free the hits and zero *r; NULL is a no-op. */
void sc_cluster_result_clear(sc_cluster_result *r);

/*
 * Merge k cluster results into *out: all hits sorted by (sort_by, order)
 * -- timestamp: id in `order`; relevance: score desc, then id desc --
 * duplicates by id dropped (best-ranked kept), then `offset` skipped and at
 * most `limit` taken. Failed clusters are skipped and counted. The inputs
 * need not be sorted. Returns SC_OK, or SC_ENOMEM (*out left empty).
 */
sc_status sc_merge(const sc_cluster_result *res, size_t k, sc_sort_by sort_by, sc_sort_order order,
                   size_t offset, size_t limit, sc_merge_page *out) SC_MUST_USE;

/* Free the hits and zero *p; NULL is a no-op. */
void sc_merge_page_clear(sc_merge_page *p);

#endif
