/*
 * etcd_watch.c - the watcher of etcd.h (etcd_watch_start/stop): a thread
 * driving one streaming POST /v3/watch through a curl multi handle, so
 * etcd_watch_stop can wake it at once with curl_multi_wakeup. It delivers a
 * snapshot (RESYNC, PUT..., SYNCED) first and after a compaction, then the
 * stream's events, reconnecting with jittered backoff.
 *
 * Not here: parsing the stream's lines (etcd_watch_parse_line in etcd.c)
 * and unary calls (etcd.c; the snapshot reads go through an etcd_client).
 */
#include "etcd.h"
#include "etcd_int.h"

#include "buf.h"
#include "log.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------ watcher */

/* Why a stream ended. */
enum stream_end { END_NONE = 0, END_STOP, END_COMPACTED, END_FAIL };

struct etcd_watch {
    etcd_opts o;              /* normalised; o.endpoint == endpoint */
    char *endpoint;           /* owned */
    char *prefix;             /* owned; NUL-terminated key prefix */
    etcd_watch_cb cb;         /* called on the thread */
    void *ctx;                /* borrowed; passed to cb */
    pthread_t thread;         /* the watcher thread */
    atomic_int stop;          /* set by etcd_watch_stop */
    pthread_mutex_t mu;       /* guards the backoff wait */
    pthread_cond_t cv;        /* signalled by etcd_watch_stop */
    CURLM *multi;             /* owned; every transfer runs here so stop can wake it */
    CURL *stream;             /* owned; the /v3/watch transfer */
    struct curl_slist *hdrs;  /* owned */
    etcd_client *snap;        /* owned; range reads for snapshots, driven via multi */
    sc_buf body;              /* request body of the stream */
    sc_buf line;              /* bytes of the stream not yet split into lines */
    int need_snapshot;        /* thread only: deliver a snapshot before watching */
    enum stream_end end;      /* thread only: set by the line handler to end a stream */
    int created;              /* thread only: this stream got its created answer */
    int64_t stream_start_ms;  /* thread only: when the current stream was opened */
    int create_timed_out;     /* thread only: no created answer within request_timeout_ms */
    uint64_t rng;             /* thread only: xorshift state for backoff jitter */
    int quiet;                /* thread only: already failing; log retries at debug */
    _Atomic int64_t next_rev; /* next revision to ask for */
    _Atomic int64_t n_connects, n_failures, n_resyncs, n_events; /* stats */
};

/* Handle one line of the stream; may set w->end. */
static void watch_line(etcd_watch *w, const char *p, size_t n)
{
    etcd_watch_batch b;
    sc_status st;
    while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    if (n == 0)
        return;
    st = etcd_watch_parse_line(p, n, &b);
    if (st != SC_OK) {
        log_warn("etcd watch %s: %s: %s", w->prefix, st == SC_ERR ? "stream error" : "bad line",
                 b.err);
        etcd_watch_batch_free(&b);
        w->end = END_FAIL;
        return;
    }
    if (b.created && !w->created) {
        w->created = 1;
        atomic_fetch_add(&w->n_connects, 1);
    }
    if (b.canceled) {
        if (b.compact_revision > 0) {
            log_info("etcd watch %s: revision %lld compacted (now %lld); resyncing", w->prefix,
                     (long long)atomic_load(&w->next_rev), (long long)b.compact_revision);
            w->end = END_COMPACTED;
        } else {
            log_warn("etcd watch %s: canceled by etcd: %s", w->prefix, b.err);
            w->end = END_FAIL;
        }
        etcd_watch_batch_free(&b);
        return;
    }
    for (size_t i = 0; i < b.n && !atomic_load(&w->stop); i++) {
        const etcd_event *ev = &b.events[i];
        w->cb(w->ctx, ev);
        atomic_fetch_add(&w->n_events, 1);
        if (ev->kv.mod_revision >= atomic_load(&w->next_rev))
            atomic_store(&w->next_rev, ev->kv.mod_revision + 1);
    }
    etcd_watch_batch_free(&b);
}

static size_t watch_write_cb(char *p, size_t size, size_t nmemb, void *ud)
{
    etcd_watch *w = ud;
    size_t n = size * nmemb, start = 0;
    if (atomic_load(&w->stop) || w->end != END_NONE)
        return 0;
    if (sc_buf_append(&w->line, p, n) != SC_OK) {
        log_error("etcd watch %s: a stream line exceeds %zu bytes", w->prefix, w->o.max_response);
        w->end = END_FAIL;
        return 0;
    }
    for (size_t i = 0; i < w->line.len; i++) {
        if (w->line.data[i] != '\n')
            continue;
        watch_line(w, w->line.data + start, i - start);
        start = i + 1;
        if (w->end != END_NONE || atomic_load(&w->stop))
            return 0;
    }
    if (start > 0) {
        memmove(w->line.data, w->line.data + start, w->line.len - start);
        w->line.len -= start;
        w->line.data[w->line.len] = '\0';
    }
    return n;
}

/* Progress callback of the stream: abort on stop, and when etcd has not
 * confirmed the watch within the request timeout (a peer that accepts but
 * never answers would otherwise hold us until the idle timeout). */
static int watch_xfer_cb(void *clientp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                         curl_off_t ulnow)
{
    etcd_watch *w = clientp;
    SC_UNUSED(dltotal);
    SC_UNUSED(dlnow);
    SC_UNUSED(ultotal);
    SC_UNUSED(ulnow);
    if (atomic_load(&w->stop))
        return 1;
    if (!w->created && sc_now_ms() - w->stream_start_ms > w->o.request_timeout_ms) {
        w->create_timed_out = 1;
        return 1;
    }
    return 0;
}

/* Read the range and deliver it as RESYNC, PUT..., SYNCED. */
static sc_status watch_snapshot(etcd_watch *w)
{
    etcd_kv_list l;
    etcd_event ev;
    sc_status st = etcd_get_prefix(w->snap, w->prefix, &l);
    if (st != SC_OK) {
        if (!atomic_load(&w->stop))
            SC_LOG(w->quiet ? SC_LOG_DEBUG : SC_LOG_WARN, "etcd watch %s: snapshot failed: %s",
                   w->prefix, etcd_errstr(w->snap));
        return st;
    }
    memset(&ev, 0, sizeof(ev));
    ev.type = ETCD_EV_RESYNC;
    ev.revision = l.revision;
    w->cb(w->ctx, &ev);
    for (size_t i = 0; i < l.n; i++) {
        ev.type = ETCD_EV_PUT;
        ev.kv = l.kvs[i];
        w->cb(w->ctx, &ev);
    }
    memset(&ev, 0, sizeof(ev));
    ev.type = ETCD_EV_SYNCED;
    ev.revision = l.revision;
    w->cb(w->ctx, &ev);
    atomic_store(&w->next_rev, l.revision + 1);
    atomic_fetch_add(&w->n_resyncs, 1);
    etcd_kv_list_free(&l);
    return SC_OK;
}

/* Open one watch stream from next_rev and run it until it ends. */
static enum stream_end watch_stream(etcd_watch *w)
{
    char url[ETCD_MAX_ENDPOINT + 16];
    sc_status st;
    CURLcode rc;
    long http = 0;
    struct curl_slist *hdrs;

    sc_buf_reset(&w->body);
    sc_buf_reset(&w->line);
    w->end = END_NONE;
    w->created = 0;
    st = sc_buf_puts(&w->body, "{\"create_request\":{");
    if (st == SC_OK)
        st = etcd_append_key(&w->body, w->prefix, 1);
    if (st == SC_OK)
        st = etcd_append_range_end(&w->body, w->prefix);
    if (st == SC_OK)
        st = sc_buf_printf(&w->body, ",\"start_revision\":\"%lld\",\"progress_notify\":true}}",
                           (long long)atomic_load(&w->next_rev));
    if (st != SC_OK) {
        log_error("etcd watch %s: cannot build request", w->prefix);
        return END_FAIL;
    }
    snprintf(url, sizeof(url), "%s/v3/watch", w->endpoint);
    curl_easy_reset(w->stream);
    /* TLS options, and a fresh token when etcd wants one: it checks the
     * token when the watch is created, not while the stream lasts */
    hdrs = w->hdrs;
    if (etcd_client_token(w->snap, w->stream, &hdrs) == NULL) {
        SC_LOG(w->quiet ? SC_LOG_DEBUG : SC_LOG_WARN, "etcd watch %s: %s", w->prefix,
               etcd_errstr(w->snap));
        return END_FAIL;
    }
    curl_easy_setopt(w->stream, CURLOPT_URL, url);
    curl_easy_setopt(w->stream, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(w->stream, CURLOPT_POST, 1L);
    curl_easy_setopt(w->stream, CURLOPT_POSTFIELDS, w->body.data);
    curl_easy_setopt(w->stream, CURLOPT_POSTFIELDSIZE, (long)w->body.len);
    curl_easy_setopt(w->stream, CURLOPT_WRITEFUNCTION, watch_write_cb);
    curl_easy_setopt(w->stream, CURLOPT_WRITEDATA, w);
    curl_easy_setopt(w->stream, CURLOPT_CONNECTTIMEOUT_MS, w->o.connect_timeout_ms);
    /* no overall timeout: the stream lives until it breaks; a silent one is
     * cut after watch_idle_timeout_ms (etcd's progress notices keep a healthy
     * one above 1 byte/s in curl's sliding window) */
    curl_easy_setopt(w->stream, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(w->stream, CURLOPT_LOW_SPEED_TIME, (long)(w->o.watch_idle_timeout_ms / 1000));
    curl_easy_setopt(w->stream, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(w->stream, CURLOPT_TCP_KEEPIDLE, 30L);
    curl_easy_setopt(w->stream, CURLOPT_TCP_KEEPINTVL, 10L);
    curl_easy_setopt(w->stream, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(w->stream, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(w->stream, CURLOPT_XFERINFOFUNCTION, watch_xfer_cb);
    curl_easy_setopt(w->stream, CURLOPT_XFERINFODATA, w);
    w->stream_start_ms = sc_now_ms();
    w->create_timed_out = 0;

    rc = etcd_run_transfer(w->stream, w->multi, &w->stop);
    if (atomic_load(&w->stop))
        return END_STOP;
    if (w->end == END_NONE && w->line.len > 0) /* a last line without newline */
        watch_line(w, w->line.data, w->line.len);
    if (w->end != END_NONE)
        return w->end;
    curl_easy_getinfo(w->stream, CURLINFO_RESPONSE_CODE, &http);
    if (w->create_timed_out) {
        SC_LOG(w->quiet ? SC_LOG_DEBUG : SC_LOG_WARN, "etcd watch %s: no answer within %ld ms",
               w->prefix, w->o.request_timeout_ms);
        return END_FAIL;
    }
    SC_LOG(w->quiet && !w->created ? SC_LOG_DEBUG : SC_LOG_WARN,
           "etcd watch %s: stream ended (HTTP %ld): %s", w->prefix, http,
           rc == CURLE_OK ? "closed by server" : curl_easy_strerror(rc));
    return END_FAIL;
}

/* Sleep ms unless stopped first. */
static void watch_sleep(etcd_watch *w, long ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&w->mu);
    while (!atomic_load(&w->stop)) {
        if (pthread_cond_timedwait(&w->cv, &w->mu, &ts) != 0)
            break;
    }
    pthread_mutex_unlock(&w->mu);
}

static void *watch_main(void *arg)
{
    etcd_watch *w = arg;
    long backoff = w->o.watch_backoff_min_ms;
    while (!atomic_load(&w->stop)) {
        int ok;
        if (w->need_snapshot) {
            ok = watch_snapshot(w) == SC_OK;
            if (ok)
                w->need_snapshot = 0;
        } else {
            enum stream_end e = watch_stream(w);
            if (e == END_STOP)
                break;
            if (e == END_COMPACTED) {
                w->need_snapshot = 1;
                backoff = w->o.watch_backoff_min_ms;
                continue;
            }
            ok = 0;
            if (w->created) { /* it worked for a while: start the backoff over */
                backoff = w->o.watch_backoff_min_ms;
                w->quiet = 0;
            }
        }
        if (ok || atomic_load(&w->stop)) {
            w->quiet = 0;
            continue;
        }
        if (!w->quiet)
            log_info("etcd watch %s: retrying with backoff (further failures at debug level)",
                     w->prefix);
        w->quiet = 1;
        atomic_fetch_add(&w->n_failures, 1);
        /* +-25% jitter so many watchers do not reconnect in step */
        w->rng ^= w->rng << 13;
        w->rng ^= w->rng >> 7;
        w->rng ^= w->rng << 17;
        long d = backoff - backoff / 4 + (long)(w->rng % (uint64_t)(backoff / 2 + 1));
        watch_sleep(w, d);
        backoff = backoff * 2 > w->o.watch_backoff_max_ms ? w->o.watch_backoff_max_ms : backoff * 2;
    }
    return NULL;
}

static void watch_free(etcd_watch *w)
{
    if (w == NULL)
        return;
    if (w->stream != NULL)
        curl_easy_cleanup(w->stream);
    etcd_client_free(w->snap);
    if (w->multi != NULL)
        curl_multi_cleanup(w->multi);
    curl_slist_free_all(w->hdrs);
    sc_buf_free(&w->body);
    sc_buf_free(&w->line);
    free(w->endpoint);
    free(w->prefix);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w);
}

etcd_watch *etcd_watch_start(const etcd_opts *o, const char *prefix, int64_t start_revision,
                             etcd_watch_cb cb, void *ctx, char *err, size_t errlen)
{
    etcd_watch *w;
    etcd_opts n;
    if (prefix == NULL || cb == NULL) {
        sc_seterr(err, errlen, "etcd watch: prefix and callback are required");
        return NULL;
    }
    if (etcd_opts_norm(o, &n, err, errlen) != SC_OK)
        return NULL;
    w = calloc(1, sizeof(*w));
    if (w == NULL) {
        sc_seterr(err, errlen, "etcd watch: out of memory");
        return NULL;
    }
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    atomic_init(&w->stop, 0);
    w->o = n;
    w->cb = cb;
    w->ctx = ctx;
    sc_buf_init(&w->body, n.max_response);
    sc_buf_init(&w->line, n.max_response);
    w->snap = etcd_client_create(&n, err, errlen);
    if (w->snap == NULL) {
        watch_free(w);
        return NULL;
    }
    w->endpoint = etcd_endpoint_dup(n.endpoint);
    w->o.endpoint = w->endpoint;
    w->prefix = strdup(prefix);
    w->multi = curl_multi_init();
    w->stream = curl_easy_init();
    w->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    if (w->endpoint == NULL || w->prefix == NULL || w->multi == NULL || w->stream == NULL ||
        w->hdrs == NULL) {
        sc_seterr(err, errlen, "etcd watch: out of memory");
        watch_free(w);
        return NULL;
    }
    w->rng = (uint64_t)(uintptr_t)w ^ (uint64_t)sc_now_us() ^ 0x9E3779B97F4A7C15ULL;
    if (w->rng == 0)
        w->rng = 1;
    etcd_client_interruptible(w->snap, w->multi, &w->stop);
    if (start_revision > 0) {
        atomic_init(&w->next_rev, start_revision);
    } else {
        atomic_init(&w->next_rev, 0);
        w->need_snapshot = 1;
    }
    if (pthread_create(&w->thread, NULL, watch_main, w) != 0) {
        sc_seterr(err, errlen, "etcd watch: cannot start thread");
        watch_free(w);
        return NULL;
    }
    return w;
}

void etcd_watch_stop(etcd_watch *w)
{
    if (w == NULL)
        return;
    atomic_store(&w->stop, 1);
    pthread_mutex_lock(&w->mu);
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    curl_multi_wakeup(w->multi);
    pthread_join(w->thread, NULL);
    watch_free(w);
}

void etcd_watch_get_stats(etcd_watch *w, etcd_watch_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (w == NULL)
        return;
    out->next_revision = atomic_load(&w->next_rev);
    out->connects = atomic_load(&w->n_connects);
    out->failures = atomic_load(&w->n_failures);
    out->resyncs = atomic_load(&w->n_resyncs);
    out->events = atomic_load(&w->n_events);
}
