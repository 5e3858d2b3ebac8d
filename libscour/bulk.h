/*
 * bulk.h - the Elasticsearch/OpenSearch _bulk wire format, without I/O:
 * an NDJSON body builder for external-versioned `index` actions, and a
 * parser that turns a _bulk response into one classified result per item,
 * in request order.
 *
 * Not here: sending the body (es.c: es_bulk), deciding what to do with a
 * RETRY or REJECT item (the indexer), building documents (esdoc.c).
 *
 * Why external versions: every event carries a per-message version that
 * only grows, so replaying a batch (after a crash or a retry) can never
 * overwrite a newer document with an older one; the stale write comes back
 * as 409, which the parser classifies SC_BULK_CONFLICT ("already done").
 */
#ifndef SC_BULK_H
#define SC_BULK_H

#include "buf.h"
#include "sc.h"

#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------ builder */

/* An NDJSON _bulk body under construction. Plain value type: the caller
 * owns the struct, sc_bulk_init/sc_bulk_free manage its storage. Fields
 * are readable by callers (to decide when to flush); change them only
 * through the functions below. */
typedef struct sc_bulk {
    sc_buf body; /* owned; the NDJSON text, every line ends in '\n' */
    size_t ops;  /* number of actions added since init/reset */
    int gte;     /* 1: actions use version_type external_gte (an equal version is
                    rewritten: verify's repair), 0 [init]: external */
} sc_bulk;

/* Initialise an empty body whose size may not exceed limit bytes
 * (0 means the sc_buf default, 64 MiB). No allocation. */
void sc_bulk_init(sc_bulk *b, size_t limit);
/* Release storage. NULL-safe; the struct may be re-initialised afterwards. */
void sc_bulk_free(sc_bulk *b);
/* Forget every action but keep the storage (after a flush). */
void sc_bulk_reset(sc_bulk *b);

/* Append one action pair:
 *   {"index":{"_index":<index>,"_id":"<id>","version":<version>,"version_type":"external"}}\n
 * ("external_gte" when b->gte is set)
 *   <doc>\n
 * index is JSON-escaped; doc is copied verbatim and must be one complete
 * JSON object on one line (no '\n' or '\r' bytes: a raw newline would split
 * the NDJSON record), doc_len bytes long. version must be >= 0.
 * Returns SC_OK; SC_EINVAL for an empty index, a negative version or an
 * empty/multi-line doc; SC_ENOMEM when the body would pass its limit.
 * On any error the body is left exactly as before the call. */
sc_status sc_bulk_add_index(sc_bulk *b, const char *index, uint64_t id, int64_t version,
                            const char *doc, size_t doc_len) SC_MUST_USE;

/* Append a conditional delete (verify's repair of a document written out
 * of band):
 *   {"delete":{"_index":<index>,"_id":"<id>","if_seq_no":S,"if_primary_term":T}}\n
 * It succeeds only while the document is still the one read with that
 * sequence number (else 409). SC_OK, SC_EINVAL (empty index, negative
 * numbers), SC_ENOMEM; on error the body is unchanged. */
sc_status sc_bulk_add_delete_if(sc_bulk *b, const char *index, uint64_t id, int64_t seq_no,
                                int64_t primary_term) SC_MUST_USE;

/* Number of actions / bytes of body so far. */
size_t sc_bulk_count(const sc_bulk *b);
size_t sc_bulk_bytes(const sc_bulk *b);
/* Non-zero when the body has reached max_ops actions or max_bytes bytes
 * (either limit 0 means "no limit of that kind"): time to flush. */
int sc_bulk_full(const sc_bulk *b, size_t max_ops, size_t max_bytes);

/* ------------------------------------------------------------ parser */

/* What the caller should do with one item (or with the whole request). */
typedef enum sc_bulk_class {
    SC_BULK_OK = 0,       /* 2xx: written */
    SC_BULK_CONFLICT = 1, /* 409: a newer or equal version is already there; done */
    SC_BULK_RETRY = 2,    /* 429 or 5xx: transient; send again later */
    SC_BULK_REJECT = 3    /* any other status: the document is bad; dead-letter it */
} sc_bulk_class;

/* Classify an HTTP status as above (anything not 2xx/409/429/5xx is REJECT). */
sc_bulk_class sc_bulk_classify(int http_status);
/* "ok", "conflict", "retry", "reject". Static storage. */
const char *sc_bulk_class_str(sc_bulk_class c);

#define SC_BULK_ERRTYPE_LEN 64 /* bytes kept of error.type (with NUL) */
#define SC_BULK_REASON_LEN 256 /* bytes kept of error.reason (with NUL) */

/* Outcome of one action, at the same position as in the request. */
typedef struct sc_bulk_item {
    int status;                           /* HTTP status of this item */
    sc_bulk_class cls;                    /* classification of status */
    uint64_t id;                          /* _id echoed back; 0 if absent or not a number */
    char error_type[SC_BULK_ERRTYPE_LEN]; /* error.type, "" when ok; truncated */
    char reason[SC_BULK_REASON_LEN];      /* error.reason, "" when ok; truncated */
} sc_bulk_item;

/* A parsed _bulk response. */
typedef struct sc_bulk_result {
    sc_bulk_item *items; /* owned (free with sc_bulk_result_free); n entries, request order */
    size_t n;            /* number of items */
    int errors;          /* the response's top-level "errors" flag */
    size_t n_ok, n_conflict, n_retry, n_reject; /* items per class */
    /* Whole-request failure ({"error":...,"status":N}); set only when
     * sc_bulk_parse returned SC_ERR, otherwise 0 / SC_BULK_OK / "". */
    int req_status;                       /* top-level "status" */
    sc_bulk_class req_cls;                /* classification of req_status */
    char error_type[SC_BULK_ERRTYPE_LEN]; /* top-level error.type */
    char reason[SC_BULK_REASON_LEN];      /* top-level error.reason */
} sc_bulk_result;

/* Parse the _bulk response body (len bytes, need not be NUL-terminated)
 * for a request that carried `expected` actions. On return *out is always
 * initialised and must be released with sc_bulk_result_free.
 * Returns:
 *   SC_OK     - out->items holds exactly `expected` results (some may be
 *               CONFLICT/RETRY/REJECT: look at the counters);
 *   SC_ERR    - the whole request failed: out->req_status/req_cls/
 *               error_type/reason say why; no items;
 *   SC_EPROTO - not JSON, not a bulk response, or the item count differs
 *               from `expected` (treat the whole batch as RETRY: external
 *               versions make resending safe); no items.
 * err (may be NULL) gets a one-line description on any failure. */
sc_status sc_bulk_parse(const char *body, size_t len, size_t expected, sc_bulk_result *out,
                        char *err, size_t errlen) SC_MUST_USE;

/* Free what a result owns and zero it. NULL-safe. */
void sc_bulk_result_free(sc_bulk_result *r);

#endif
