/*
 * admin/console.c - `admin console`: the operator's web console (issue 14,
 * docs/console.md). Serves the static page from console_dir (index.html,
 * console.js, console.css: plain files of the project, no build step, no
 * CDN) and the JSON admin API under /api/ (console_api.c) on
 * console_listen_addr:console_listen_port with libmicrohttpd, one thread
 * per connection so a handler may block on PostgreSQL, etcd or a cluster.
 *
 * Why a command of `admin` and not a path of the router: the router is the
 * public search API, written for many cheap requests on one event loop and
 * reachable by every client; the console's calls are privileged (drain,
 * replay, start rebuilds), slow (they probe every cluster) and belong to the
 * operator, who runs `admin` already. Kept apart, a console bug or load
 * cannot touch search latency and the admin surface is never on the
 * search port. The search page reaches the router through /api/search.
 *
 * Authentication: every /api/ call but none of the static files needs
 * `Authorization: Bearer <console_secret>` (compared in constant time). The
 * console refuses to start without a secret of at least 16 bytes: it is
 * never open. The page keeps the secret in sessionStorage and sends it as a
 * header, never as a cookie, so another site cannot make the browser act
 * (no CSRF).
 */
#include "console.h"

#include "http.h"
#include "log.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CS_MAX_BODY (64 * 1024)

/* One static file, read at start-up. */
typedef struct cs_file {
    const char *name;  /* path below / ("index.html") */
    const char *ctype; /* Content-Type */
    char *data;        /* owned */
    size_t len;        /* bytes */
} cs_file;

typedef struct console {
    const sc_config *cfg; /* ref: the program's */
    cs_stats *stats;      /* owned */
    char *demo_users;     /* owned: demo users JSON, NULL when off */
    cs_file files[3];     /* the page */
} console;

/* Per-connection state of a request with a body. */
typedef struct cs_conn {
    sc_buf body; /* request body so far */
    int too_big; /* body beyond CS_MAX_BODY */
} cs_conn;

static int secret_ok(const console *cs, const char *hdr)
{
    const char *want = cs->cfg->console_secret;
    size_t n, wn = strlen(want);
    unsigned char diff = 0;
    if (hdr == NULL || strncmp(hdr, "Bearer ", 7) != 0)
        return 0;
    hdr += 7;
    n = strlen(hdr);
    /* constant time over the secret's length */
    for (size_t i = 0; i < wn; i++)
        diff |= (unsigned char)(want[i] ^ (i < n ? hdr[i] : 0));
    return diff == 0 && n == wn;
}

static enum MHD_Result reply(struct MHD_Connection *c, int status, const char *ctype,
                             const char *data, size_t len, int copy)
{
    struct MHD_Response *r;
    enum MHD_Result ret;
    r = MHD_create_response_from_buffer(len, (void *)(data ? data : ""),
                                        copy ? MHD_RESPMEM_MUST_COPY : MHD_RESPMEM_PERSISTENT);
    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", ctype);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Content-Security-Policy",
                            "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'");
    ret = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *c, int status, const char *msg)
{
    sc_buf b;
    enum MHD_Result ret;
    sc_buf_init(&b, 0);
    if (cs_json_error(&b, msg, status) != SC_OK)
        return MHD_NO;
    ret = reply(c, status, "application/json", b.data, b.len, 1);
    sc_buf_free(&b);
    return ret;
}

static enum MHD_Result serve(void *cls, struct MHD_Connection *c, const char *url,
                             const char *method, const char *version, const char *upload,
                             size_t *upload_len, void **ptr)
{
    console *cs = cls;
    cs_conn *cc = *ptr;
    (void)version;
    if (cc == NULL) { /* first call: headers only */
        if ((cc = calloc(1, sizeof(*cc))) == NULL)
            return MHD_NO;
        sc_buf_init(&cc->body, CS_MAX_BODY);
        *ptr = cc;
        return MHD_YES;
    }
    if (*upload_len > 0) {
        if (!cc->too_big && sc_buf_append(&cc->body, upload, *upload_len) != SC_OK)
            cc->too_big = 1;
        *upload_len = 0;
        return MHD_YES;
    }
    if (cc->too_big)
        return send_error(c, 413, "request body above 64 KiB");
    if (strncmp(url, "/api/", 5) == 0) {
        cs_req rq;
        sc_buf out;
        int status = 500;
        enum MHD_Result ret;
        if (!secret_ok(cs, MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization")))
            return send_error(c, 401, "give the console secret: Authorization: Bearer <secret>");
        memset(&rq, 0, sizeof rq);
        rq.cfg = cs->cfg;
        rq.stats = cs->stats;
        rq.demo_users = cs->demo_users;
        rq.con = c;
        rq.method = method;
        rq.path = url + 4;
        rq.body = cc->body.data ? cc->body.data : "";
        rq.body_len = cc->body.len;
        sc_buf_init(&out, 0);
        cs_api(&rq, &status, &out);
        log_debug("console: %s %s -> %d", method, url, status);
        ret = reply(c, status, "application/json", out.data, out.len, 1);
        sc_buf_free(&out);
        return ret;
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return send_error(c, 405, "method not allowed");
    for (size_t i = 0; i < sizeof cs->files / sizeof cs->files[0]; i++) {
        const cs_file *f = &cs->files[i];
        if (strcmp(url + 1, f->name) == 0 || (strcmp(url, "/") == 0 && i == 0))
            return reply(c, 200, f->ctype, f->data, f->len, 0);
    }
    return send_error(c, 404, "not found");
}

static void done(void *cls, struct MHD_Connection *c, void **ptr, enum MHD_RequestTerminationCode t)
{
    cs_conn *cc = *ptr;
    (void)cls;
    (void)c;
    (void)t;
    if (cc != NULL) {
        sc_buf_free(&cc->body);
        free(cc);
        *ptr = NULL;
    }
}

static int load_files(console *cs, char *err, size_t errlen)
{
    static const char *const names[3] = {"index.html", "console.js", "console.css"};
    static const char *const types[3] = {
        "text/html; charset=utf-8", "text/javascript; charset=utf-8", "text/css; charset=utf-8"};
    for (int i = 0; i < 3; i++) {
        char path[4200];
        sc_buf b;
        snprintf(path, sizeof path, "%s/%s", cs->cfg->console_dir, names[i]);
        sc_buf_init(&b, 1 << 20);
        if (sc_buf_read_file(&b, path) != SC_OK || b.len == 0) {
            sc_seterr(err, errlen,
                      "console_dir: cannot read %s (run from the source tree, or "
                      "set console_dir)",
                      path);
            sc_buf_free(&b);
            return 0;
        }
        cs->files[i].name = names[i];
        cs->files[i].ctype = types[i];
        cs->files[i].len = b.len;
        cs->files[i].data = sc_buf_steal(&b);
    }
    return 1;
}

static void console_free(console *cs)
{
    cs_stats_stop(cs->stats);
    free(cs->demo_users);
    for (int i = 0; i < 3; i++)
        free(cs->files[i].data);
}

int admin_console(admin_args *a)
{
    console cs;
    char err[SC_ERRLEN];
    struct sockaddr_in sa;
    struct MHD_Daemon *d;
    const union MHD_DaemonInfo *info;
    int port;
    memset(&cs, 0, sizeof cs);
    cs.cfg = &a->cfg;
    if (a->nwords != 1) {
        fprintf(stderr, "admin console: unexpected argument '%s'\n", a->words[1]);
        return 2;
    }
    if (strlen(a->cfg.console_secret) < 16) {
        fprintf(stderr, "admin console: console_secret: give at least 16 bytes "
                        "(console_secret_file, or SCOUR_CONSOLE_SECRET); the console is never "
                        "open without one\n");
        return 2;
    }
    if (sc_http_init(err, sizeof err) != SC_OK) {
        fprintf(stderr, "admin console: %s\n", err);
        return 1;
    }
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)a->cfg.console_listen_port);
    if (inet_pton(AF_INET, a->cfg.console_listen_addr, &sa.sin_addr) != 1) {
        fprintf(stderr, "admin console: console_listen_addr: '%s' is not an IPv4 address\n",
                a->cfg.console_listen_addr);
        return 2;
    }
    if (!load_files(&cs, err, sizeof err)) {
        fprintf(stderr, "admin console: %s\n", err);
        console_free(&cs);
        return 2;
    }
    if (a->cfg.console_demo_users[0] != '\0') {
        sc_buf b;
        sc_buf_init(&b, 1 << 20);
        if (sc_buf_read_file(&b, a->cfg.console_demo_users) != SC_OK || b.len == 0) {
            fprintf(stderr, "admin console: console_demo_users: cannot read %s\n",
                    a->cfg.console_demo_users);
            sc_buf_free(&b);
            console_free(&cs);
            return 2;
        }
        cs.demo_users = sc_buf_steal(&b);
    }
    cs.stats = cs_stats_start(a->cfg.console_indexer_metrics, a->cfg.console_router_url,
                              a->cfg.console_sample_ms, err, sizeof err);
    if (cs.stats == NULL) {
        fprintf(stderr, "admin console: %s\n", err);
        console_free(&cs);
        return 2;
    }
    d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG,
        (uint16_t)a->cfg.console_listen_port, NULL, NULL, serve, &cs, MHD_OPTION_SOCK_ADDR, &sa,
        MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_CONNECTION_LIMIT, 64u,
        MHD_OPTION_NOTIFY_COMPLETED, done, NULL, MHD_OPTION_END);
    if (d == NULL) {
        fprintf(stderr, "admin console: cannot listen on %s:%d\n", a->cfg.console_listen_addr,
                a->cfg.console_listen_port);
        console_free(&cs);
        return 1;
    }
    info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    port = info != NULL ? (int)info->port : a->cfg.console_listen_port;
    printf("console: listening on http://%s:%d/\n", a->cfg.console_listen_addr, port);
    fflush(stdout);
    log_info("console: listening on %s:%d, router %s, %s", a->cfg.console_listen_addr, port,
             a->cfg.console_router_url,
             a->cfg.console_indexer_metrics[0] ? a->cfg.console_indexer_metrics
                                               : "no indexer metrics URLs");
    while (!sc_prog_stopping())
        usleep(100 * 1000);
    MHD_stop_daemon(d);
    console_free(&cs);
    return 0;
}
