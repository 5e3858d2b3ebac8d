/*
 * es.h - a small blocking HTTP client for one Elasticsearch/OpenSearch
 * cluster, over libcurl: index creation from a schema, _bulk, _search,
 * refresh, health and stats, plus the raw request primitive they share.
 *
 * Only APIs that are identical in Elasticsearch 7/8 and OpenSearch 2 are
 * used (no mapping types, no distribution-specific endpoints).
 *
 * Not here: building bulk bodies or parsing bulk responses (bulk.h),
 * building queries (query.c), fan-out to many clusters (the router drives
 * its own curl multi handle, configured with es_apply_auth).
 *
 * Threads: an es_client is NOT thread-safe. It owns one CURL easy handle
 * that is reused for every call so the TCP connection stays alive; use a
 * handle from one thread at a time (one client per worker thread).
 */
#ifndef SC_ES_H
#define SC_ES_H

#include "buf.h"
#include "sc.h"

#include <curl/curl.h>
#include <stddef.h>
#include <stdint.h>

/* Client options. Strings are borrowed only during es_client_create, which
 * copies them. Zero/NULL fields take the default in brackets. */
typedef struct es_opts {
    const char *url;              /* base URL, e.g. "http://127.0.0.1:9201" (required) */
    const char *user;             /* basic-auth user [none] */
    const char *password;         /* basic-auth password [""], used only with user */
    const char *api_key;          /* "Authorization: ApiKey <api_key>" [none]; wins over user */
    const char *ca_file;          /* PEM bundle to verify https servers [system store] */
    long connect_timeout_ms;      /* TCP+TLS connect deadline [2000] */
    long timeout_ms;              /* whole-request deadline [30000] */
    int replicas;                 /* number_of_replicas for es_ensure_index; <0 keeps the schema's.
                                     NOTE 0 is a real value: set -1 to keep the schema's */
    const char *refresh_interval; /* e.g. "1s", "-1" for es_ensure_index [schema's] */
    size_t max_response;          /* response body cap in bytes [64 MiB] */
} es_opts;

/* Opaque client for one cluster. */
typedef struct es_client es_client;

/* Create a client. Does no I/O (the first call connects). Returns NULL on
 * bad options or out of memory, with the reason in err (may be NULL).
 * Free with es_client_free. */
es_client *es_client_create(const es_opts *opts, char *err, size_t errlen);
/* Free the client and close its connection. NULL is a no-op. */
void es_client_free(es_client *h);
/* Detail of the last failure ("" if none): method, URL, HTTP status or
 * transport error, and the server's error type/reason when it sent one.
 * Valid until the next call on h. */
const char *es_errstr(const es_client *h);
/* The client's options (copies owned by h, defaults filled in; replicas as
 * given). Valid until es_client_free. */
const es_opts *es_client_opts(const es_client *h);

/* Configure any easy handle like the client's own: protocols (http/https
 * only), connect/request timeouts, no signals, basic auth, CA file. When
 * opts->api_key is set, appends "Authorization: ApiKey ..." to *headers,
 * which the caller must pass to CURLOPT_HTTPHEADER after adding its own
 * headers and free with curl_slist_free_all after the transfer. headers may
 * be NULL only when there is no api_key.
 * Returns SC_OK, SC_EINVAL (headers NULL with an api key) or SC_ENOMEM. */
sc_status es_apply_auth(CURL *easy, const es_opts *opts, struct curl_slist **headers) SC_MUST_USE;

/* Non-zero if name is an index name this client accepts: the one rule of
 * index_name.h (sc_index_name_check), which config validation uses too.
 * With pattern non-zero, '*' and ',' are also allowed (search targets). */
int es_index_name_ok(const char *name, int pattern);

/* The raw primitive. method: "GET", "HEAD", "POST", "PUT" or "DELETE";
 * path starts with '/' and is appended to the base URL as given (the
 * caller escapes it); body (len bytes, may be NULL/0) is sent as
 * application/json. The response body is appended to resp after it is
 * reset (resp may be NULL to discard it). *http_status (may be NULL) gets
 * the status, 0 when no response arrived.
 * Returns SC_OK for 2xx; SC_ENOTFOUND for 404; SC_ERR for other statuses
 * (resp still holds the body); SC_ECONN when the server cannot be reached
 * or drops the connection; SC_ETIMEOUT when connect_timeout_ms/timeout_ms
 * passes; SC_ENOMEM when the response exceeds the cap; SC_EINVAL for bad
 * arguments. Detail in es_errstr(h). */
sc_status es_request(es_client *h, const char *method, const char *path, const char *body,
                     size_t len, sc_buf *resp, long *http_status) SC_MUST_USE;

/* Create index `index` from schema_json (a {"settings":..,"mappings":..}
 * document such as schemas/elasticsearch/messages.json) unless it exists,
 * overriding settings.index.number_of_replicas / refresh_interval from
 * the options. An index that already exists (including one created by a
 * racing caller) gets the schema's mappings.properties and _meta with
 * PUT /<index>/_mapping, which adds the fields it lacks (mapping upgrade,
 * schemas/elasticsearch/README.md) and leaves the others as they are. An
 * index whose mapping contradicts the schema (the server answers 400) is
 * left unchanged and still counts as ensured (SC_OK, the reason in
 * es_errstr): documents it refuses are rejected item by item.
 * Returns SC_OK, SC_EINVAL (bad name or schema not a JSON object), or an
 * es_request error. */
sc_status es_ensure_index(es_client *h, const char *index, const char *schema_json) SC_MUST_USE;

/* POST /_bulk with an NDJSON body (must end in '\n'). resp receives the
 * response to parse with sc_bulk_parse; a 2xx answer can still carry
 * per-item failures. Returns SC_OK for 2xx, SC_ERR for any other status
 * (*http_status says which: 429/5xx are worth retrying), SC_ECONN,
 * SC_ETIMEOUT, SC_ENOMEM, SC_EINVAL. */
sc_status es_bulk(es_client *h, const char *body, size_t len, sc_buf *resp,
                  long *http_status) SC_MUST_USE;

/* POST /{index_or_pattern}/_search with query_json (NUL-terminated).
 * index_or_pattern may hold '*' and ','. resp receives the response.
 * Returns as es_request (SC_ENOTFOUND when a named index is missing). */
sc_status es_search(es_client *h, const char *index_or_pattern, const char *query_json,
                    sc_buf *resp, long *http_status) SC_MUST_USE;

/* POST /{index}/_refresh: make recent writes searchable (tests, reindex). */
sc_status es_refresh(es_client *h, const char *index) SC_MUST_USE;

/* DELETE /{index}. An absent index is success. Wildcards are refused. */
sc_status es_delete_index(es_client *h, const char *index) SC_MUST_USE;

typedef enum es_health_status {
    ES_HEALTH_GREEN = 0,
    ES_HEALTH_YELLOW = 1,
    ES_HEALTH_RED = 2
} es_health_status;

/* "green", "yellow", "red". Static storage. */
const char *es_health_str(es_health_status s);

typedef struct es_health_info {
    es_health_status status; /* cluster colour */
    char cluster_name[128];  /* as reported; truncated */
    int number_of_nodes;     /* nodes in the cluster */
    int active_shards;       /* started shards (primaries + replicas) */
    int unassigned_shards;   /* shards without a node */
} es_health_info;

/* GET /_cluster/health. Returns SC_OK, SC_EPROTO if the answer lacks a
 * known status, or an es_request error. */
sc_status es_health(es_client *h, es_health_info *out) SC_MUST_USE;

typedef struct es_stats_info {
    uint64_t doc_count;        /* _all.primaries.docs.count (live documents) */
    uint64_t docs_deleted;     /* _all.primaries.docs.deleted (not yet merged away) */
    uint64_t store_size_bytes; /* _all.primaries.store.size_in_bytes */
} es_stats_info;

/* GET /[index/]_stats/docs,store and read _all.primaries. index may be
 * NULL for the whole cluster, or a name/pattern. Counts are as of the last
 * refresh. Returns SC_OK, SC_EPROTO, or an es_request error. */
sc_status es_stats(es_client *h, const char *index, es_stats_info *out) SC_MUST_USE;

#endif
