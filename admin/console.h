/*
 * console.h - the pieces of `admin console` (docs/console.md): the HTTP
 * server and its authentication (console.c), the JSON admin API
 * (console_api.c) and the metrics sampler behind the pipeline and router
 * panels (console_stats.c).
 *
 * Program-only, like admin.h.
 */
#ifndef SC_ADMIN_CONSOLE_H
#define SC_ADMIN_CONSOLE_H

#include "admin.h"
#include "buf.h"

#include <microhttpd.h>

/* ---- the metrics sampler (console_stats.c) ---- */

typedef struct cs_stats cs_stats;

/* Start a thread that scrapes the indexers' metrics URLs (comma-separated,
 * may be empty) and router_url + "/metrics" every interval_ms and keeps the
 * last 10 minutes. NULL with the reason in err. */
cs_stats *cs_stats_start(const char *indexer_urls, const char *router_url, int interval_ms,
                         char *err, size_t errlen);
void cs_stats_stop(cs_stats *s); /* NULL-safe; joins the thread */

/* The pipeline panel's JSON (rates per stage, queue, bulk latency per
 * cluster, the series of the last minutes) into out. */
sc_status cs_stats_pipeline_json(cs_stats *s, sc_buf *out) SC_MUST_USE;
/* The router panel's JSON (QPS, p50/p99, 202/429/503/partial counts). */
sc_status cs_stats_router_json(cs_stats *s, sc_buf *out) SC_MUST_USE;

/* GET url with optional extra header lines (NULL-terminated list, may be
 * NULL) into out (capped at out's limit); *status = HTTP status. SC_OK when
 * an answer came, else a transfer error with the reason in err. */
sc_status cs_http_get(const char *url, const char *const *headers, long timeout_ms, sc_buf *out,
                      long *status, char *err, size_t errlen) SC_MUST_USE;

/* ---- the API (console_api.c) ---- */

/* One API request, as the server hands it over. */
typedef struct cs_req {
    const sc_config *cfg;       /* ref: the program's config */
    cs_stats *stats;            /* ref: the sampler */
    const char *demo_users;     /* ref: demo users JSON, NULL when off */
    struct MHD_Connection *con; /* ref: for query arguments and headers */
    const char *method;         /* "GET", "POST", ... */
    const char *path;           /* below /api, e.g. "/clusters/c1/drain" */
    const char *body;           /* request body (NUL-terminated), "" when none */
    size_t body_len;            /* bytes of body */
} cs_req;

/* Answer req: *status and a JSON body in out (errors are
 * {"message": ..., "code": ...} with a 4xx/5xx status). */
void cs_api(const cs_req *req, int *status, sc_buf *out);

/* Append {"message":msg,"code":code} to out. */
sc_status cs_json_error(sc_buf *out, const char *msg, int code) SC_MUST_USE;

#endif
