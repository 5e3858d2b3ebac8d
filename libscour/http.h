/*
 * http.h - the libcurl glue every HTTP client of scour shares (es.c,
 * etcd.c, the router's fan-out): the one-time global init, the options
 * every transfer gets, the capped write callback, and the map from a
 * failed transfer to an sc_status.
 *
 * Not here: any protocol (URLs, bodies, auth: es.c, etcd.c), any handle
 * or connection state. It holds no state except curl's global init.
 */
#ifndef SC_HTTP_H
#define SC_HTTP_H

#include "buf.h"
#include "sc.h"

#include <curl/curl.h>
#include <stddef.h>

/* curl_global_init once per process, thread-safe; later calls return the
 * first result. SC_OK, or SC_ERR with the reason in err (may be NULL). */
sc_status sc_http_init(char *err, size_t errlen) SC_MUST_USE;

/* Options every transfer of ours gets: http/https only, no signals, TCP
 * keep-alive, no redirects, and the two deadlines (a value <= 0 leaves
 * curl's: none). Returns CURLE_OK or the first setopt error. */
CURLcode sc_http_setup(CURL *easy, long connect_timeout_ms, long timeout_ms);

/* Where a transfer's body goes, with a cap (see sc_http_write). */
typedef struct sc_http_sink {
    sc_buf *buf;  /* borrowed; the body is appended here */
    size_t max;   /* cap on buf->len for this transfer */
    int overflow; /* set when the cap (or memory) stopped the transfer */
} sc_http_sink;

/* Point s at buf with a cap of max bytes (0: buf's own limit). */
void sc_http_sink_init(sc_http_sink *s, sc_buf *buf, size_t max);

/* CURLOPT_WRITEFUNCTION for an sc_http_sink passed as CURLOPT_WRITEDATA.
 * Past the cap it sets overflow and makes curl fail the transfer with
 * CURLE_WRITE_ERROR. */
size_t sc_http_write(char *ptr, size_t size, size_t nmemb, void *sink);

/* Map a transfer's result: SC_OK; SC_ECONN (cannot resolve, connect,
 * send, receive, TLS handshake or verification); SC_ETIMEOUT; SC_ENOMEM;
 * SC_ERR for the rest. A sink overflow is the caller's to report. */
sc_status sc_http_status(CURLcode rc);

/* What a failed TLS transfer most likely means, to append to its error
 * ("" for other results): a handshake that failed outright is a server
 * without TLS or one that refused the client certificate; a failed
 * verification is the wrong CA, an expired certificate or the wrong host
 * name (curl's detail says which). */
const char *sc_http_tls_hint(CURLcode rc);

#endif
