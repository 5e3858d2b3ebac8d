/*
 * http.c - the libcurl glue shared by every HTTP client; see http.h.
 */
#include "http.h"

#include <pthread.h>

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static CURLcode init_rc = CURLE_OK;

static void init_curl(void) { init_rc = curl_global_init(CURL_GLOBAL_DEFAULT); }

sc_status sc_http_init(char *err, size_t errlen)
{
    pthread_once(&init_once, init_curl);
    if (init_rc != CURLE_OK) {
        sc_seterr(err, errlen, "curl_global_init: %s", curl_easy_strerror(init_rc));
        return SC_ERR;
    }
    return SC_OK;
}

CURLcode sc_http_setup(CURL *easy, long connect_timeout_ms, long timeout_ms)
{
    CURLcode rc = CURLE_OK;
#define SETOPT(o, v)                           \
    do {                                       \
        if (rc == CURLE_OK)                    \
            rc = curl_easy_setopt(easy, o, v); \
    } while (0)
    SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
    SETOPT(CURLOPT_NOSIGNAL, 1L);
    SETOPT(CURLOPT_TCP_KEEPALIVE, 1L);
    SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
    if (connect_timeout_ms > 0)
        SETOPT(CURLOPT_CONNECTTIMEOUT_MS, connect_timeout_ms);
    if (timeout_ms > 0)
        SETOPT(CURLOPT_TIMEOUT_MS, timeout_ms);
#undef SETOPT
    return rc;
}

void sc_http_sink_init(sc_http_sink *s, sc_buf *buf, size_t max)
{
    s->buf = buf;
    s->max = max;
    s->overflow = 0;
}

size_t sc_http_write(char *ptr, size_t size, size_t nmemb, void *sink)
{
    sc_http_sink *s = sink;
    size_t n = size * nmemb;
    if ((s->max > 0 && n > s->max - (s->buf->len < s->max ? s->buf->len : s->max)) ||
        sc_buf_append(s->buf, ptr, n) != SC_OK) {
        s->overflow = 1;
        return 0; /* curl fails the transfer with CURLE_WRITE_ERROR */
    }
    return n;
}

const char *sc_http_tls_hint(CURLcode rc)
{
    switch (rc) {
    case CURLE_SSL_CONNECT_ERROR:
        return " (TLS handshake failed: no TLS on this port, or our client certificate refused?)";
    case CURLE_PEER_FAILED_VERIFICATION:
        return " (server certificate not verified: check the CA file, its dates, host names)";
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
        return " (a CA, certificate or key file is unusable)";
    default:
        return "";
    }
}

sc_status sc_http_status(CURLcode rc)
{
    switch (rc) {
    case CURLE_OK:
        return SC_OK;
    case CURLE_OPERATION_TIMEDOUT:
        return SC_ETIMEOUT;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
        return SC_ECONN;
    case CURLE_OUT_OF_MEMORY:
        return SC_ENOMEM;
    default:
        return SC_ERR;
    }
}
