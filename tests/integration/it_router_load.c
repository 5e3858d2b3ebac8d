/*
 * it_router_load.c - the router's connection model, admission control, rate
 * limits and protocol edges, end to end against the real stack: build/router
 * is spawned (once per configuration) with a unique namespace; the clients
 * are raw sockets, so what is checked is exactly what goes over the wire.
 *
 * Covers: every protocol edge answered once, as JSON (414, 431 by size and
 * by count, 400 for a request line without a version, a header without a
 * colon, Content-Length -1 / abc, NUL or control bytes in the path or a
 * parameter, 405 with Allow, 413, thousands of parameters, pipelining);
 * 2,000 concurrent keep-alive connections and a burst of 1,000 new ones,
 * every request answered 200 or the documented 429/503 with no reset;
 * admission control (a full queue and a queue deadline both give a JSON
 * 503 with Retry-After, in well under a second, while a slow search holds
 * the only worker: its cluster is a listener that never answers); the
 * per-user and per-IP limits (429 with the Discord body and headers,
 * X-RateLimit-* on every search answer, recovery after the refill) shared
 * by two router processes through Redis, and the local fallback when
 * Redis is unreachable; SIGTERM with a search in flight (answered, exit 0,
 * which under ASan also means no leak).
 */
#include "testlib.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "jwt.h"

#define SECRET "it-router-load-secret-0123456789"

static char ns[64];
static sc_db *db;
static uint64_t G, C, CSLOW, U, U2;
static int blackhole_fd = -1; /* listens, never accepts: a cluster that never answers */
static int blackhole_port;
static char token[1024], token2[1024];

/* ------------------------------------------------------------ helpers */

static void must(sc_status st, const char *what)
{
    if (st != SC_OK && st != SC_ECONFLICT)
        fail_msg("%s: %s (%s)", what, sc_status_str(st), db ? sc_db_errstr(db) : "");
}

static void make_token(uint64_t user, char *out, size_t len)
{
    sc_buf b;
    sc_buf_init(&b, 0);
    assert_int_equal(sc_jwt_sign_hs256(user, SECRET, (int64_t)time(NULL) + 3600, &b), SC_OK);
    snprintf(out, len, "%s", b.data);
    sc_buf_free(&b);
}

/* A running router and its port / log. */
typedef struct rtr {
    int pid, port;
    char log[128];
} rtr;

static int up_port;
static int router_up(void *arg)
{
    char url[128];
    (void)arg;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/healthz", up_port);
    return t_http("GET", url, NULL, NULL, NULL) == 200;
}

/* Spawn a router with the common flags plus extra (NULL-terminated). */
static void router_start(rtr *r, const char *redis_port, const char *clusters,
                         const char *const *extra)
{
    char a_port[32], a_redis[48], a_ns[96], a_cl[600], a_dsn[1100], a_etcd[300];
    char *argv[40];
    int n = 0;
    r->port = t_free_port();
    snprintf(a_port, sizeof(a_port), "--listen-port=%d", r->port);
    snprintf(a_redis, sizeof(a_redis), "--redis-port=%s", redis_port);
    snprintf(a_ns, sizeof(a_ns), "--namespace=%s", ns);
    snprintf(a_cl, sizeof(a_cl), "--clusters=%s", clusters);
    snprintf(a_dsn, sizeof(a_dsn), "--pg-dsn=%s", t_env("SC_PG_DSN"));
    snprintf(a_etcd, sizeof(a_etcd), "--etcd-url=%s", t_env("SC_ETCD_URL"));
    snprintf(r->log, sizeof(r->log), "/tmp/it_router_load-%d-%d.log", (int)getpid(), r->port);
    argv[n++] = (char *)t_bin_path("router");
    argv[n++] = "--jwt-secret=" SECRET;
    argv[n++] = a_port;
    argv[n++] = a_redis;
    argv[n++] = a_ns;
    argv[n++] = a_cl;
    argv[n++] = a_dsn;
    argv[n++] = a_etcd;
    argv[n++] = "--log-level=warn";
    for (size_t i = 0; extra != NULL && extra[i] != NULL && n < 38; i++)
        argv[n++] = (char *)extra[i];
    argv[n] = NULL;
    r->pid = t_spawn(argv, r->log);
    up_port = r->port;
    if (!t_wait_until(router_up, NULL, 15000))
        fail_msg("router did not come up; log %s", r->log);
}

/* SIGTERM; the router must exit 0 (under ASan: no leak either). */
static void router_stop(rtr *r)
{
    int st;
    if (r->pid <= 0)
        return;
    st = t_stop(r->pid, SIGTERM, 15000);
    r->pid = 0;
    if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fail_msg("router did not exit 0 on SIGTERM (status %d); log %s", st, r->log);
}

static int connect_to(int port)
{
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

/* Send req on a new connection and read until the router closes it or
 * timeout_ms passes. *reset = 1 when the connection was reset. Returns the
 * bytes read (NUL-terminated, free()). */
static char *exchange(int port, const char *req, size_t len, int timeout_ms, int *reset)
{
    int fd = connect_to(port);
    sc_buf out;
    int64_t deadline = sc_now_ms() + timeout_ms;
    size_t off = 0;
    *reset = 0;
    sc_buf_init(&out, 0);
    while (off < len) {
        ssize_t w = send(fd, req + off, len - off, MSG_NOSIGNAL);
        if (w <= 0)
            break; /* the router may answer and close before reading it all */
        off += (size_t)w;
    }
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        char buf[65536];
        ssize_t r;
        int left = (int)(deadline - sc_now_ms());
        if (left <= 0 || poll(&p, 1, left) <= 0)
            break;
        r = recv(fd, buf, sizeof(buf), 0);
        if (r < 0 && errno == ECONNRESET)
            *reset = 1;
        if (r <= 0)
            break;
        assert_int_equal(sc_buf_append(&out, buf, (size_t)r), SC_OK);
    }
    close(fd);
    if (out.data == NULL)
        assert_int_equal(sc_buf_puts(&out, ""), SC_OK);
    return sc_buf_steal(&out);
}

/* Status lines in a byte stream of answers. */
static int count_answers(const char *s)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, "HTTP/1.1 ")) != NULL; p += 9)
        n++;
    return n;
}

static int status_of(const char *s) { return strncmp(s, "HTTP/1.1 ", 9) == 0 ? atoi(s + 9) : 0; }

/* Value of header name in the first answer of s, into out ("" if none). */
static void header_of(const char *s, const char *name, char *out, size_t len)
{
    const char *end = strstr(s, "\r\n\r\n"), *p = s;
    size_t nl = strlen(name);
    out[0] = '\0';
    while (end != NULL && (p = strstr(p, "\r\n")) != NULL && p < end) {
        p += 2;
        if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1, *e = strstr(v, "\r\n");
            while (*v == ' ')
                v++;
            snprintf(out, len, "%.*s", (int)(e - v), v);
            return;
        }
    }
}

/* The JSON body of the first answer of s (cJSON_Delete). */
static cJSON *body_of(const char *s)
{
    const char *b = strstr(s, "\r\n\r\n");
    char cl[32];
    header_of(s, "Content-Length", cl, sizeof(cl));
    if (b == NULL)
        return NULL;
    return cJSON_ParseWithLength(b + 4, (size_t)atol(cl));
}

/* One request over HTTP/1.1 with an optional token, Connection: close. */
static char *get(int port, const char *path, const char *tok, int *reset)
{
    char req[4096];
    int n =
        snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: t\r\n%s%s%sConnection: close\r\n\r\n",
                 path, tok ? "Authorization: Bearer " : "", tok ? tok : "", tok ? "\r\n" : "");
    return exchange(port, req, (size_t)n, 10000, reset);
}

/* ------------------------------------------------------------ load client */

typedef struct lconn {
    int fd;
    size_t sent;   /* bytes of the current request sent */
    int left;      /* requests still to send, this one included */
    char in[8192]; /* answer being read */
    size_t nin;
    int waiting; /* a request is out */
    int done;    /* no more to do on this connection */
} lconn;

typedef struct lresult {
    int n200, n429, n503, nother, resets, unanswered, connect_failed;
} lresult;

/* Complete answer in c->in: returns its length (and status) or 0. */
static size_t answer_len(const lconn *c, int *status)
{
    const char *e;
    char cl[32];
    size_t hl;
    char tmp[8193];
    memcpy(tmp, c->in, c->nin);
    tmp[c->nin] = '\0';
    e = strstr(tmp, "\r\n\r\n");
    if (e == NULL)
        return 0;
    hl = (size_t)(e - tmp) + 4;
    header_of(tmp, "Content-Length", cl, sizeof(cl));
    if (hl + (size_t)atol(cl) > c->nin)
        return 0;
    *status = status_of(tmp);
    return hl + (size_t)atol(cl);
}

/* nconn connections to port at once, each sending `each` requests one after
 * another (keep-alive, or a new connection per request when !keepalive the
 * connection carries one request with Connection: close). Bounded by
 * timeout_ms. */
static void load(int port, int nconn, int each, const char *path, const char *tok, int keepalive,
                 int timeout_ms, lresult *res)
{
    char req[2048];
    size_t rlen;
    int ep = epoll_create1(0);
    lconn *cs = calloc((size_t)nconn, sizeof(*cs));
    int active = nconn;
    int64_t deadline = sc_now_ms() + timeout_ms;
    struct sockaddr_in sa;
    memset(res, 0, sizeof(*res));
    assert_non_null(cs);
    rlen = (size_t)snprintf(req, sizeof(req),
                            "GET %s HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\n%s\r\n",
                            path, tok, keepalive ? "" : "Connection: close\r\n");
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < nconn; i++) {
        struct epoll_event ev;
        lconn *c = &cs[i];
        c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        assert_true(c->fd >= 0);
        c->left = keepalive ? each : 1;
        if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 && errno != EINPROGRESS) {
            res->connect_failed++;
            c->done = 1;
            active--;
            continue;
        }
        ev.events = EPOLLIN | EPOLLOUT;
        ev.data.ptr = c;
        assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev), 0);
    }
    while (active > 0 && sc_now_ms() < deadline) {
        struct epoll_event evs[256];
        int n = epoll_wait(ep, evs, 256, 100);
        for (int k = 0; k < n; k++) {
            lconn *c = evs[k].data.ptr;
            if (c->done)
                continue;
            if ((evs[k].events & EPOLLOUT) && !c->waiting) {
                ssize_t w = send(c->fd, req + c->sent, rlen - c->sent, MSG_NOSIGNAL);
                if (w > 0)
                    c->sent += (size_t)w;
                else if (w < 0 && errno != EAGAIN) {
                    if (errno == ECONNRESET || errno == EPIPE)
                        res->resets++;
                    else
                        res->connect_failed++;
                    c->done = 1;
                    active--;
                    continue;
                }
                if (c->sent == rlen) {
                    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
                    c->waiting = 1;
                    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
                }
            }
            if (evs[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                ssize_t r = recv(c->fd, c->in + c->nin, sizeof(c->in) - c->nin, 0);
                int st = 0;
                size_t al;
                if (r <= 0) {
                    if (r < 0 && errno == EAGAIN)
                        continue;
                    if (r < 0 && errno == ECONNRESET)
                        res->resets++;
                    else
                        res->unanswered++;
                    c->done = 1;
                    active--;
                    continue;
                }
                c->nin += (size_t)r;
                al = answer_len(c, &st);
                if (al == 0) {
                    if (c->nin == sizeof(c->in)) {
                        c->nin = 0; /* a big body: only the status matters */
                    }
                    continue;
                }
                if (st == 200)
                    res->n200++;
                else if (st == 429)
                    res->n429++;
                else if (st == 503)
                    res->n503++;
                else
                    res->nother++;
                memmove(c->in, c->in + al, c->nin - al);
                c->nin -= al;
                c->waiting = 0;
                c->sent = 0;
                if (--c->left == 0) {
                    c->done = 1;
                    active--;
                } else {
                    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
                    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
                }
            }
        }
    }
    for (int i = 0; i < nconn; i++) {
        if (!cs[i].done)
            res->unanswered++;
        close(cs[i].fd);
    }
    close(ep);
    free(cs);
}

/* ------------------------------------------------------------ setup */

static rtr main_rtr; /* no limits, real clusters, default queue */

static int setup(void **state)
{
    char err[256], clusters[600];
    struct rlimit rl;
    struct sockaddr_in sa;
    socklen_t sl = sizeof(sa);
    sc_binding w;
    (void)state;
    /* 2,000 client sockets in this process */
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_cur < 8192) {
        rl.rlim_cur = rl.rlim_max < 8192 ? rl.rlim_max : 8192;
        assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
    }
    t_unique(ns, sizeof(ns), "itrload");
    db = sc_db_create(t_env("SC_PG_DSN"), err, sizeof(err));
    if (db == NULL)
        fail_msg("db: %s", err);
    G = t_rand_id();
    C = t_rand_id();
    CSLOW = t_rand_id();
    U = t_rand_id();
    U2 = t_rand_id();
    must(sc_db_upsert_guild(db, G, "g", 0), "guild");
    must(sc_db_upsert_channel(db, C, G, "c", "text", "public"), "channel");
    must(sc_db_upsert_channel(db, CSLOW, G, "slow", "text", "public"), "channel");
    must(sc_db_binding_insert_if_absent(db, CSLOW, "hole", "messages-v1", SC_BINDING_ACTIVE, &w),
         "binding");
    must(sc_db_upsert_member(db, G, U), "member");
    must(sc_db_upsert_member(db, G, U2), "member");
    make_token(U, token, sizeof(token));
    make_token(U2, token2, sizeof(token2));

    blackhole_fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(blackhole_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(blackhole_fd, 64), 0);
    assert_int_equal(getsockname(blackhole_fd, (struct sockaddr *)&sa, &sl), 0);
    blackhole_port = ntohs(sa.sin_port);

    snprintf(clusters, sizeof(clusters), "c1=%s,hole=http://127.0.0.1:%d", t_es_url(0),
             blackhole_port);
    {
        static const char *extra[] = {"--rate-limit-user=0", "--rate-limit-ip=0", "--threads=4",
                                      NULL};
        router_start(&main_rtr, t_env("SC_REDIS_PORT"), clusters, extra);
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (main_rtr.pid > 0)
        t_stop(main_rtr.pid, SIGTERM, 15000);
    if (blackhole_fd >= 0)
        close(blackhole_fd);
    sc_db_free(db);
    return 0;
}

/* ------------------------------------------------------------ tests */

static char *big_request(const char *pre, char fill, size_t n, const char *post)
{
    size_t a = strlen(pre), b = strlen(post);
    char *s = malloc(a + n + b + 1);
    assert_non_null(s);
    memcpy(s, pre, a);
    memset(s + a, fill, n);
    memcpy(s + a + n, post, b + 1);
    return s;
}

/* Every protocol edge: one answer, JSON, the right status. */
static void test_edges(void **state)
{
    char path[256], hdr[128];
    int port = main_rtr.port, reset;
    (void)state;
    snprintf(path, sizeof(path), "/api/v1/channels/%" PRIu64 "/messages/search", C);
    struct {
        const char *name;
        char *req;
        int status;
    } cases[16];
    size_t n = 0;
    sc_buf b;
#define CASE(nm, st, s)         \
    do {                        \
        cases[n].name = (nm);   \
        cases[n].status = (st); \
        cases[n++].req = (s);   \
    } while (0)
    CASE("414 long target", 414,
         big_request("GET /healthz?a=", 'a', 70000, " HTTP/1.1\r\nHost: t\r\n\r\n"));
    CASE("431 big header", 431,
         big_request("GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: ", 'b', 20000, "\r\n\r\n"));
    sc_buf_init(&b, 0);
    assert_int_equal(sc_buf_puts(&b, "GET /healthz HTTP/1.1\r\n"), SC_OK);
    for (int i = 0; i < 300; i++)
        assert_int_equal(sc_buf_printf(&b, "X-H%d: 1\r\n", i), SC_OK);
    assert_int_equal(sc_buf_puts(&b, "\r\n"), SC_OK);
    CASE("431 many headers", 431, sc_buf_steal(&b));
    CASE("no version", 400, strdup("GET /healthz\r\n\r\n"));
    CASE("no colon", 400, strdup("GET /healthz HTTP/1.1\r\nHost t\r\n\r\n"));
    CASE("content-length -1", 400,
         strdup("GET /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n"));
    CASE("content-length abc", 400,
         strdup("GET /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: abc\r\n\r\n"));
    CASE("NUL in path", 400,
         strdup("GET /healthz%00 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
    {
        char s[2048];
        snprintf(s, sizeof(s),
                 "GET %s%%00?content=a HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\n"
                 "Connection: close\r\n\r\n",
                 path, token);
        CASE("NUL after search path", 400, strdup(s));
        snprintf(s, sizeof(s),
                 "GET %s?content=a%%01b HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\n"
                 "Connection: close\r\n\r\n",
                 path, token);
        CASE("control byte in a parameter", 400, strdup(s));
    }
    CASE("POST", 405,
         strdup("POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\nConnection: "
                "close\r\n\r\n{}"));
    CASE("unknown method", 405, strdup("FROB /healthz HTTP/1.1\r\nHost: t\r\n\r\n"));
    CASE("413 body", 413,
         strdup("GET /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999\r\n\r\n"));
    {
        sc_buf q;
        sc_buf_init(&q, 0);
        assert_int_equal(sc_buf_printf(&q, "GET %s?", path), SC_OK);
        for (int i = 0; i < 3000; i++)
            assert_int_equal(sc_buf_puts(&q, "x=1&"), SC_OK);
        assert_int_equal(sc_buf_printf(&q,
                                       " HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\n"
                                       "Connection: close\r\n\r\n",
                                       token),
                         SC_OK);
        CASE("thousands of pairs", 400, sc_buf_steal(&q));
        sc_buf_init(&q, 0);
        assert_int_equal(sc_buf_printf(&q, "GET %s?content=a", path), SC_OK);
        for (int i = 0; i < 3000; i++)
            assert_int_equal(sc_buf_puts(&q, "&"), SC_OK);
        assert_int_equal(sc_buf_printf(&q,
                                       " HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\n"
                                       "Connection: close\r\n\r\n",
                                       token),
                         SC_OK);
        CASE("thousands of ampersands", 200, sc_buf_steal(&q));
    }
#undef CASE
    for (size_t i = 0; i < n; i++) {
        char *ans = exchange(port, cases[i].req, strlen(cases[i].req), 5000, &reset);
        cJSON *j = body_of(ans);
        if (reset || count_answers(ans) != 1 || status_of(ans) != cases[i].status || j == NULL ||
            (cases[i].status != 200 && !cJSON_IsString(cJSON_GetObjectItem(j, "message"))))
            fail_msg("%s: reset %d, %d answers, want one %d as JSON: %.400s", cases[i].name, reset,
                     count_answers(ans), cases[i].status, ans);
        header_of(ans, "Content-Type", hdr, sizeof(hdr));
        assert_non_null(strstr(hdr, "application/json"));
        if (cases[i].status == 405) {
            header_of(ans, "Allow", hdr, sizeof(hdr));
            assert_string_equal(hdr, "GET, HEAD");
        }
        cJSON_Delete(j);
        free(ans);
        free(cases[i].req);
    }
    /* pipelined requests are answered in order on one connection */
    {
        static const char pipe_req[] =
            "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"
            "GET /nothing HTTP/1.1\r\nHost: t\r\n\r\n"
            "GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
        char *ans = exchange(port, pipe_req, sizeof(pipe_req) - 1, 5000, &reset);
        const char *second = strstr(ans + 1, "HTTP/1.1 "), *third;
        assert_int_equal(count_answers(ans), 3);
        assert_int_equal(status_of(ans), 200);
        assert_non_null(second);
        assert_int_equal(status_of(second), 404);
        third = strstr(second + 1, "HTTP/1.1 ");
        assert_non_null(third);
        assert_int_equal(status_of(third), 200);
        free(ans);
    }
}

/* 2,000 keep-alive connections at once, two searches each. */
static void test_keepalive_2000(void **state)
{
    char path[256];
    lresult r;
    int64_t t0 = sc_now_ms();
    (void)state;
    snprintf(path, sizeof(path), "/api/v1/channels/%" PRIu64 "/messages/search?content=x", C);
    load(main_rtr.port, 2000, 2, path, token, 1, 90000, &r);
    fprintf(stderr,
            "  2000 keep-alive x2: 200=%d 429=%d 503=%d other=%d resets=%d "
            "unanswered=%d connect_failed=%d in %lld ms\n",
            r.n200, r.n429, r.n503, r.nother, r.resets, r.unanswered, r.connect_failed,
            (long long)(sc_now_ms() - t0));
    assert_int_equal(r.resets, 0);
    assert_int_equal(r.unanswered, 0);
    assert_int_equal(r.connect_failed, 0);
    assert_int_equal(r.nother, 0);
    assert_int_equal(r.n200 + r.n429 + r.n503, 4000);
    assert_true(r.n200 > 0);
}

/* 1,000 new connections at once, one search each. */
static void test_burst_1000(void **state)
{
    char path[256];
    lresult r;
    int64_t t0 = sc_now_ms();
    (void)state;
    snprintf(path, sizeof(path), "/api/v1/channels/%" PRIu64 "/messages/search?content=y", C);
    load(main_rtr.port, 1000, 1, path, token, 0, 90000, &r);
    fprintf(stderr,
            "  1000 new connections: 200=%d 429=%d 503=%d other=%d resets=%d "
            "unanswered=%d in %lld ms\n",
            r.n200, r.n429, r.n503, r.nother, r.resets, r.unanswered,
            (long long)(sc_now_ms() - t0));
    assert_int_equal(r.resets, 0);
    assert_int_equal(r.unanswered, 0);
    assert_int_equal(r.connect_failed, 0);
    assert_int_equal(r.nother, 0);
    assert_int_equal(r.n200 + r.n429 + r.n503, 1000);
    assert_true(r.n200 > 0);
}

/* One worker held by a search whose cluster never answers; a queue of 2
 * with a 200 ms deadline: the next two wait and get 503 at the deadline,
 * the three after them 503 at once; all JSON with Retry-After, none slower
 * than a second; the slow one is answered (partial) at its query deadline. */
static void test_admission(void **state)
{
    rtr a;
    char clusters[256], req[2048];
    int fds[6], n;
    int64_t sent[6];
    static const char *extra[] = {"--threads=1",
                                  "--queue-max=2",
                                  "--queue-timeout-ms=200",
                                  "--query-timeout-ms=1500",
                                  "--rate-limit-user=0",
                                  "--rate-limit-ip=0",
                                  NULL};
    (void)state;
    snprintf(clusters, sizeof(clusters), "hole=http://127.0.0.1:%d", blackhole_port);
    router_start(&a, t_env("SC_REDIS_PORT"), clusters, extra);
    n = snprintf(req, sizeof(req),
                 "GET /api/v1/channels/%" PRIu64 "/messages/search?content=z HTTP/1.1\r\n"
                 "Host: t\r\nAuthorization: Bearer %s\r\n\r\n",
                 CSLOW, token);
    fds[0] = connect_to(a.port);
    sent[0] = sc_now_ms();
    assert_int_equal(send(fds[0], req, (size_t)n, MSG_NOSIGNAL), n);
    usleep(300 * 1000); /* the worker has it by now */
    for (int i = 1; i < 6; i++) {
        fds[i] = connect_to(a.port);
        sent[i] = sc_now_ms();
        assert_int_equal(send(fds[i], req, (size_t)n, MSG_NOSIGNAL), n);
    }
    {
        int n503 = 0, n200 = 0;
        for (int i = 5; i >= 0; i--) {
            char buf[4096], ra[16];
            ssize_t r;
            struct pollfd p = {fds[i], POLLIN, 0};
            int64_t took;
            assert_int_equal(poll(&p, 1, 5000), 1);
            r = recv(fds[i], buf, sizeof(buf) - 1, 0);
            took = sc_now_ms() - sent[i];
            assert_true(r > 0);
            buf[r] = '\0';
            if (status_of(buf) == 503) {
                cJSON *j = body_of(buf);
                n503++;
                header_of(buf, "Retry-After", ra, sizeof(ra));
                assert_true(atoi(ra) >= 1);
                assert_non_null(j);
                assert_string_equal(cJSON_GetObjectItem(j, "message")->valuestring,
                                    "503: Service Unavailable");
                cJSON_Delete(j);
                if (took > 1000)
                    fail_msg("503 after %lld ms", (long long)took);
            } else if (status_of(buf) == 200) {
                n200++;
                assert_non_null(strstr(buf, "\"partial\":true"));
            } else {
                fail_msg("unexpected answer %.300s", buf);
            }
            close(fds[i]);
        }
        assert_int_equal(n503, 5);
        assert_int_equal(n200, 1);
    }
    router_stop(&a);
}

/* SIGTERM with a search in flight: it is answered, the router exits 0. */
static void test_sigterm_drains(void **state)
{
    rtr a;
    char clusters[256], req[2048], buf[8192];
    int fd, n;
    ssize_t r;
    struct pollfd p;
    static const char *extra[] = {"--threads=2", "--query-timeout-ms=1500", "--rate-limit-user=0",
                                  "--rate-limit-ip=0", NULL};
    (void)state;
    snprintf(clusters, sizeof(clusters), "hole=http://127.0.0.1:%d", blackhole_port);
    router_start(&a, t_env("SC_REDIS_PORT"), clusters, extra);
    n = snprintf(req, sizeof(req),
                 "GET /api/v1/channels/%" PRIu64 "/messages/search?content=w HTTP/1.1\r\n"
                 "Host: t\r\nAuthorization: Bearer %s\r\n\r\n",
                 CSLOW, token);
    fd = connect_to(a.port);
    assert_int_equal(send(fd, req, (size_t)n, MSG_NOSIGNAL), n);
    usleep(300 * 1000);
    kill(a.pid, SIGTERM);
    p = (struct pollfd){fd, POLLIN, 0};
    assert_int_equal(poll(&p, 1, 5000), 1);
    r = recv(fd, buf, sizeof(buf) - 1, 0);
    assert_true(r > 0);
    buf[r] = '\0';
    assert_int_equal(status_of(buf), 200);
    assert_non_null(strstr(buf, "Connection: close"));
    close(fd);
    router_stop(&a); /* already stopping: waits for exit 0 */
}

/* Rate-limit headers of an answer. */
static void expect_rl_headers(const char *ans, const char *bucket, int limit)
{
    char v[64];
    header_of(ans, "X-RateLimit-Limit", v, sizeof(v));
    assert_int_equal(atoi(v), limit);
    header_of(ans, "X-RateLimit-Remaining", v, sizeof(v));
    assert_true(v[0] != '\0');
    header_of(ans, "X-RateLimit-Reset", v, sizeof(v));
    assert_true(atof(v) > (double)time(NULL) - 1);
    header_of(ans, "X-RateLimit-Reset-After", v, sizeof(v));
    assert_true(v[0] != '\0' && atof(v) >= 0);
    header_of(ans, "X-RateLimit-Bucket", v, sizeof(v));
    assert_string_equal(v, bucket);
}

/* A user limit of 5 per 2 s shared by two routers: 5 answered (remaining
 * counting down across both), the 6th 429 with the Discord body and
 * headers, and a search goes through again after retry_after. */
static void test_user_limit_shared(void **state)
{
    rtr a, b;
    char path[256], v[64];
    int reset;
    double retry;
    /* 5 per 10 s: a token comes back every 2 s, so the sixth search is
     * refused even when the machine is slow to send the first five. */
    static const char *extra[] = {"--rate-limit-user=5", "--rate-limit-user-window-ms=10000",
                                  "--rate-limit-ip=0", NULL};
    (void)state;
    router_start(&a, t_env("SC_REDIS_PORT"), "c1=http://127.0.0.1:1", extra);
    router_start(&b, t_env("SC_REDIS_PORT"), "c1=http://127.0.0.1:1", extra);
    snprintf(path, sizeof(path), "/api/v1/channels/%" PRIu64 "/messages/search?content=q", C);
    for (int i = 0; i < 5; i++) {
        char *ans = get(i % 2 ? b.port : a.port, path, token2, &reset);
        if (status_of(ans) != 200)
            fail_msg("search %d: %.400s", i, ans);
        expect_rl_headers(ans, "search.user", 5);
        header_of(ans, "X-RateLimit-Remaining", v, sizeof(v));
        /* refill adds at most a token in the few ms between requests */
        assert_true(atoi(v) <= 4 - i + 1 && atoi(v) >= 4 - i);
        free(ans);
    }
    {
        char *ans = get(b.port, path, token2, &reset);
        cJSON *j = body_of(ans);
        assert_int_equal(status_of(ans), 429);
        assert_non_null(j);
        assert_string_equal(cJSON_GetObjectItem(j, "message")->valuestring,
                            "You are being rate limited.");
        assert_true(cJSON_IsFalse(cJSON_GetObjectItem(j, "global")));
        assert_int_equal(cJSON_GetObjectItem(j, "code")->valueint, 0);
        retry = cJSON_GetObjectItem(j, "retry_after")->valuedouble;
        assert_true(retry > 0 && retry <= 2.0 + 0.05);
        header_of(ans, "Retry-After", v, sizeof(v));
        assert_true(atoi(v) >= 1 && atoi(v) <= 2); /* whole seconds, rounded up */
        header_of(ans, "X-RateLimit-Scope", v, sizeof(v));
        assert_string_equal(v, "user");
        expect_rl_headers(ans, "search.user", 5);
        header_of(ans, "X-RateLimit-Remaining", v, sizeof(v));
        assert_int_equal(atoi(v), 0);
        cJSON_Delete(j);
        free(ans);
    }
    usleep((useconds_t)(retry * 1e6) + 50000);
    {
        char *ans = get(a.port, path, token2, &reset);
        assert_int_equal(status_of(ans), 200);
        free(ans);
    }
    router_stop(&a);
    router_stop(&b);
}

/* The per-IP limit applies before authentication. */
static void test_ip_limit(void **state)
{
    rtr a;
    char path[256], v[64];
    int reset;
    static const char *extra[] = {"--rate-limit-ip=3", "--rate-limit-ip-window-ms=60000",
                                  "--rate-limit-user=0", NULL};
    (void)state;
    router_start(&a, t_env("SC_REDIS_PORT"), "c1=http://127.0.0.1:1", extra);
    snprintf(path, sizeof(path), "/api/v1/channels/%" PRIu64 "/messages/search?content=q", C);
    for (int i = 0; i < 3; i++) {
        char *ans = get(a.port, path, NULL, &reset);
        assert_int_equal(status_of(ans), 401);
        expect_rl_headers(ans, "search.ip", 3);
        free(ans);
    }
    {
        char *ans = get(a.port, path, token, &reset);
        assert_int_equal(status_of(ans), 429);
        header_of(ans, "X-RateLimit-Scope", v, sizeof(v));
        assert_string_equal(v, "ip");
        expect_rl_headers(ans, "search.ip", 3);
        free(ans);
    }
    router_stop(&a);
}

/* Redis unreachable: local buckets keep limiting and the router serves. */
static void test_limit_without_redis(void **state)
{
    rtr a;
    char path[256], port_s[16];
    int reset, n200 = 0, n429 = 0;
    static const char *extra[] = {"--rate-limit-user=3", "--rate-limit-user-window-ms=60000",
                                  "--rate-limit-ip=0", NULL};
    (void)state;
    snprintf(port_s, sizeof(port_s), "%d", t_free_port()); /* nothing listens there */
    router_start(&a, port_s, "c1=http://127.0.0.1:1", extra);
    snprintf(path, sizeof(path), "/api/v1/channels/%" PRIu64 "/messages/search?content=q", C);
    for (int i = 0; i < 5; i++) {
        char *ans = get(a.port, path, token, &reset);
        int st = status_of(ans);
        if (st == 429)
            n429++;
        else if (st == 200)
            n200++;
        else
            fail_msg("without Redis: %.300s", ans);
        expect_rl_headers(ans, "search.user", 3);
        free(ans);
    }
    assert_int_equal(n200, 3);
    assert_int_equal(n429, 2);
    router_stop(&a);
}

/* The router that took all the load above stops clean (exit 0, no leak). */
static void test_clean_exit(void **state)
{
    (void)state;
    router_stop(&main_rtr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edges),          cmocka_unit_test(test_keepalive_2000),
        cmocka_unit_test(test_burst_1000),     cmocka_unit_test(test_admission),
        cmocka_unit_test(test_sigterm_drains), cmocka_unit_test(test_user_limit_shared),
        cmocka_unit_test(test_ip_limit),       cmocka_unit_test(test_limit_without_redis),
        cmocka_unit_test(test_clean_exit),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
