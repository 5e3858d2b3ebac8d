/*
 * redis.c - see redis.h. A thin, bounded layer over a blocking hiredis
 * context: connect with a deadline, a socket timeout on every command,
 * stale-socket detection before sending, one reconnect-and-resend for
 * idempotent calls, and errors mapped to sc_status with detail in errstr.
 */
#include "redis.h"

#include "log.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

struct sc_redis {
    redisContext *c;        /* owned; NULL while disconnected */
    char *host;             /* owned copy of opts.host */
    int port;               /* TCP port */
    char *password;         /* owned copy, NULL when no AUTH */
    char *user;             /* owned copy, NULL for the default user */
    int connect_timeout_ms; /* connect deadline */
    int command_timeout_ms; /* default socket timeout per command */
    int cur_timeout_ms;     /* timeout currently set on c's socket */
    uint64_t connects;      /* successful connections so far */
    char errstr[SC_ERRLEN]; /* detail of the last failure */
};

static struct timeval ms_to_tv(int ms)
{
    struct timeval tv;
    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    return tv;
}

void sc_redis_opts_from_config(const sc_config *cfg, sc_redis_opts *out)
{
    memset(out, 0, sizeof *out);
    out->host = cfg->redis_host;
    out->port = cfg->redis_port;
    out->password = cfg->redis_password;
    out->user = cfg->redis_user;
}

sc_redis *sc_redis_create(const sc_redis_opts *o, char *err, size_t errlen)
{
    sc_redis *h;
    const char *host;
    if (o == NULL) {
        sc_seterr(err, errlen, "redis: no options");
        return NULL;
    }
    if (o->port < 0 || o->port > 65535) {
        sc_seterr(err, errlen, "redis: port %d out of range 1-65535", o->port);
        return NULL;
    }
    if (o->connect_timeout_ms < 0 || o->command_timeout_ms < 0) {
        sc_seterr(err, errlen, "redis: timeouts must not be negative");
        return NULL;
    }
    host = (o->host != NULL && o->host[0] != '\0') ? o->host : "127.0.0.1";
    h = calloc(1, sizeof(*h));
    if (h == NULL)
        goto oom;
    h->host = strdup(host);
    if (h->host == NULL)
        goto oom;
    if (o->password != NULL && o->password[0] != '\0') {
        h->password = strdup(o->password);
        if (h->password == NULL)
            goto oom;
    }
    if (o->user != NULL && o->user[0] != '\0') {
        if (h->password == NULL) {
            sc_redis_free(h);
            sc_seterr(err, errlen, "redis: user %.100s given without a password", o->user);
            return NULL;
        }
        if ((h->user = strdup(o->user)) == NULL)
            goto oom;
    }
    h->port = o->port != 0 ? o->port : SC_REDIS_DEFAULT_PORT;
    h->connect_timeout_ms =
        o->connect_timeout_ms != 0 ? o->connect_timeout_ms : SC_REDIS_DEFAULT_CONNECT_TIMEOUT_MS;
    h->command_timeout_ms =
        o->command_timeout_ms != 0 ? o->command_timeout_ms : SC_REDIS_DEFAULT_COMMAND_TIMEOUT_MS;
    return h;
oom:
    sc_redis_free(h);
    sc_seterr(err, errlen, "redis: out of memory");
    return NULL;
}

static void drop_conn(sc_redis *h)
{
    if (h->c != NULL) {
        redisFree(h->c);
        h->c = NULL;
    }
    h->cur_timeout_ms = 0;
}

void sc_redis_free(sc_redis *h)
{
    if (h == NULL)
        return;
    drop_conn(h);
    free(h->host);
    if (h->password != NULL)
        explicit_bzero(h->password, strlen(h->password));
    free(h->password);
    free(h->user);
    free(h);
}

const char *sc_redis_errstr(const sc_redis *h)
{
    return h != NULL ? h->errstr : "redis: no handle";
}

int sc_redis_command_timeout_ms(const sc_redis *h) { return h->command_timeout_ms; }

uint64_t sc_redis_connects(const sc_redis *h) { return h->connects; }

static sc_status do_connect(sc_redis *h)
{
    redisContext *c = redisConnectWithTimeout(h->host, h->port, ms_to_tv(h->connect_timeout_ms));
    if (c == NULL) {
        sc_seterr(h->errstr, sizeof(h->errstr), "redis %s:%d: out of memory", h->host, h->port);
        return SC_ENOMEM;
    }
    if (c->err != 0) {
        sc_seterr(h->errstr, sizeof(h->errstr), "redis %s:%d: connect: %s", h->host, h->port,
                  c->errstr);
        redisFree(c);
        return SC_ECONN;
    }
    if (redisSetTimeout(c, ms_to_tv(h->command_timeout_ms)) != REDIS_OK) {
        sc_seterr(h->errstr, sizeof(h->errstr), "redis %s:%d: set timeout: %s", h->host, h->port,
                  c->errstr);
        redisFree(c);
        return SC_ECONN;
    }
    (void)redisEnableKeepAlive(c); /* detects a vanished peer on long idle */
    if (h->password != NULL) {
        const char *argv[3] = {"AUTH", h->user != NULL ? h->user : h->password, h->password};
        redisReply *r = redisCommandArgv(c, h->user != NULL ? 3 : 2, argv, NULL);
        if (r == NULL || r->type == REDIS_REPLY_ERROR) {
            sc_seterr(h->errstr, sizeof(h->errstr), "redis %s:%d: AUTH%s%s: %s", h->host, h->port,
                      h->user != NULL ? " as user " : "", h->user != NULL ? h->user : "",
                      r != NULL ? r->str : c->errstr);
            if (r != NULL)
                freeReplyObject(r);
            redisFree(c);
            return r != NULL ? SC_ERR : SC_ECONN;
        }
        freeReplyObject(r);
    }
    h->c = c;
    h->cur_timeout_ms = h->command_timeout_ms;
    if (h->connects > 0)
        log_info("redis %s:%d: reconnected", h->host, h->port);
    h->connects++;
    return SC_OK;
}

/* An idle connection (request/reply, nothing outstanding) must have nothing
 * to read: readable means EOF/reset from a restarted server or garbage. */
static void drop_if_stale(sc_redis *h)
{
    struct pollfd p;
    if (h->c == NULL)
        return;
    p.fd = h->c->fd;
    p.events = POLLIN;
    p.revents = 0;
    if (poll(&p, 1, 0) != 0) {
        log_debug("redis %s:%d: idle connection closed by peer, reconnecting", h->host, h->port);
        drop_conn(h);
    }
}

static sc_status ensure_conn(sc_redis *h, int timeout_ms)
{
    sc_status st;
    drop_if_stale(h);
    if (h->c == NULL) {
        st = do_connect(h);
        if (st != SC_OK)
            return st;
    }
    if (timeout_ms != h->cur_timeout_ms) {
        if (redisSetTimeout(h->c, ms_to_tv(timeout_ms)) != REDIS_OK) {
            sc_seterr(h->errstr, sizeof(h->errstr), "redis %s:%d: set timeout: %s", h->host,
                      h->port, h->c->errstr);
            drop_conn(h);
            return SC_ECONN;
        }
        h->cur_timeout_ms = timeout_ms;
    }
    return SC_OK;
}

/* Map the context error after a failed call, record it, drop the context. */
static sc_status ctx_failure(sc_redis *h, int saved_errno)
{
    sc_status st;
    redisContext *c = h->c;
    switch (c->err) {
    case REDIS_ERR_IO:
        if (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK || saved_errno == ETIMEDOUT ||
            strstr(c->errstr, "temporarily unavailable") != NULL)
            st = SC_ETIMEOUT;
        else
            st = SC_ECONN;
        break;
    case REDIS_ERR_EOF:
        st = SC_ECONN;
        break;
    case REDIS_ERR_PROTOCOL:
        st = SC_EPROTO;
        break;
    case REDIS_ERR_OOM:
        st = SC_ENOMEM;
        break;
    default:
        st = SC_ERR;
        break;
    }
    if (st == SC_ETIMEOUT)
        sc_seterr(h->errstr, sizeof(h->errstr), "redis %s:%d: no reply within %d ms", h->host,
                  h->port, h->cur_timeout_ms);
    else
        sc_seterr(h->errstr, sizeof(h->errstr), "redis %s:%d: %s", h->host, h->port, c->errstr);
    drop_conn(h);
    return st;
}

void sc_redis_replies_free(redisReply **replies, size_t n)
{
    if (replies == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        if (replies[i] != NULL)
            freeReplyObject(replies[i]);
        replies[i] = NULL;
    }
}

sc_status sc_redis_pipeline(sc_redis *h, int flags, int timeout_ms, size_t n,
                            const sc_redis_cmd *cmds, redisReply **replies)
{
    sc_status st = SC_ERR;
    if (h == NULL || (n > 0 && (cmds == NULL || replies == NULL)) || timeout_ms < 0)
        return SC_EINVAL;
    for (size_t i = 0; i < n; i++)
        replies[i] = NULL;
    if (n == 0)
        return SC_OK;
    if (timeout_ms == 0)
        timeout_ms = h->command_timeout_ms;
    for (int attempt = 0; attempt < 2; attempt++) {
        size_t got = 0;
        int fail_errno = 0;
        st = ensure_conn(h, timeout_ms);
        if (st != SC_OK)
            return st; /* the connect itself failed: resending cannot help now */
        for (size_t i = 0; i < n; i++) {
            if (cmds[i].argc <= 0 || cmds[i].argv == NULL) {
                sc_seterr(h->errstr, sizeof(h->errstr), "redis: command %zu has no arguments", i);
                drop_conn(h); /* earlier commands sit in the output buffer */
                return SC_EINVAL;
            }
            if (redisAppendCommandArgv(h->c, cmds[i].argc, cmds[i].argv, cmds[i].argvlen) !=
                REDIS_OK)
                return ctx_failure(h, errno);
        }
        for (; got < n; got++) {
            void *r = NULL;
            errno = 0;
            if (redisGetReply(h->c, &r) != REDIS_OK || r == NULL) {
                fail_errno = errno;
                if (r != NULL)
                    freeReplyObject(r);
                break;
            }
            replies[got] = r;
        }
        if (got == n)
            return SC_OK;
        sc_redis_replies_free(replies, got);
        st = ctx_failure(h, fail_errno);
        if (st != SC_ECONN || !(flags & SC_REDIS_IDEMPOTENT) || attempt > 0)
            return st;
        log_warn("%s; reconnecting and resending", h->errstr);
    }
    return st;
}

sc_status sc_redis_command_argv_ex(sc_redis *h, int flags, int timeout_ms, int argc,
                                   const char **argv, const size_t *argvlen, redisReply **out)
{
    sc_redis_cmd cmd;
    redisReply *r = NULL;
    sc_status st;
    if (out == NULL)
        return SC_EINVAL;
    *out = NULL;
    cmd.argc = argc;
    cmd.argv = argv;
    cmd.argvlen = argvlen;
    st = sc_redis_pipeline(h, flags, timeout_ms, 1, &cmd, &r);
    if (st != SC_OK)
        return st;
    if (r->type == REDIS_REPLY_ERROR) {
        sc_seterr(h->errstr, sizeof(h->errstr), "%.*s", (int)r->len, r->str);
        freeReplyObject(r);
        return SC_ERR;
    }
    *out = r;
    return SC_OK;
}

sc_status sc_redis_command_argv(sc_redis *h, int argc, const char **argv, const size_t *argvlen,
                                redisReply **out)
{
    return sc_redis_command_argv_ex(h, 0, 0, argc, argv, argvlen, out);
}

sc_status sc_redis_ping(sc_redis *h)
{
    const char *argv[1] = {"PING"};
    redisReply *r = NULL;
    sc_status st = sc_redis_command_argv_ex(h, SC_REDIS_IDEMPOTENT, 0, 1, argv, NULL, &r);
    if (st == SC_OK)
        freeReplyObject(r);
    return st;
}

static sc_status unexpected(sc_redis *h, const char *cmd, const redisReply *r)
{
    sc_seterr(h->errstr, sizeof(h->errstr), "redis: unexpected reply type %d to %s", r->type, cmd);
    return SC_EPROTO;
}

/* Send "CMD key1 .. keyN" (idempotent: resent once after a lost reply). */
static sc_status keys_command(sc_redis *h, const char *cmd, const char *const *keys, size_t n,
                              redisReply **r)
{
    const char **argv = malloc((n + 1) * sizeof(*argv));
    sc_status st;
    if (argv == NULL)
        return SC_ENOMEM;
    argv[0] = cmd;
    for (size_t i = 0; i < n; i++)
        argv[i + 1] = keys[i];
    st = sc_redis_command_argv_ex(h, SC_REDIS_IDEMPOTENT, 0, (int)(n + 1), argv, NULL, r);
    free(argv);
    return st;
}

sc_status sc_redis_mget(sc_redis *h, const char *const *keys, size_t n, char **vals_out)
{
    redisReply *r = NULL;
    sc_status st;
    if (h == NULL || (n > 0 && (keys == NULL || vals_out == NULL)) || n >= INT_MAX)
        return SC_EINVAL;
    for (size_t i = 0; i < n; i++)
        vals_out[i] = NULL;
    if (n == 0)
        return SC_OK;
    st = keys_command(h, "MGET", keys, n, &r);
    if (st != SC_OK)
        return st;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != n) {
        st = unexpected(h, "MGET", r);
        freeReplyObject(r);
        return st;
    }
    for (size_t i = 0; i < n; i++) {
        const redisReply *e = r->element[i];
        if (e->type != REDIS_REPLY_STRING)
            continue;
        vals_out[i] = malloc(e->len + 1);
        if (vals_out[i] == NULL) {
            for (size_t k = 0; k < i; k++) {
                free(vals_out[k]);
                vals_out[k] = NULL;
            }
            freeReplyObject(r);
            return SC_ENOMEM;
        }
        memcpy(vals_out[i], e->str, e->len);
        vals_out[i][e->len] = '\0';
    }
    freeReplyObject(r);
    return SC_OK;
}

sc_status sc_redis_set_many(sc_redis *h, const char *const *keys, const char *const *vals, size_t n,
                            int ttl_s)
{
    sc_redis_cmd *cmds;
    const char **argvs;
    redisReply **replies;
    char ttl[24];
    int argc = ttl_s > 0 ? 5 : 3;
    sc_status st;
    if (h == NULL || (n > 0 && (keys == NULL || vals == NULL)))
        return SC_EINVAL;
    if (n == 0)
        return SC_OK;
    snprintf(ttl, sizeof(ttl), "%d", ttl_s);
    cmds = calloc(n, sizeof(*cmds));
    argvs = calloc(n * 5, sizeof(*argvs));
    replies = calloc(n, sizeof(*replies));
    if (cmds == NULL || argvs == NULL || replies == NULL) {
        free(cmds);
        free(argvs);
        free(replies);
        return SC_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        const char **a = argvs + i * 5;
        a[0] = "SET";
        a[1] = keys[i];
        a[2] = vals[i];
        a[3] = "EX";
        a[4] = ttl;
        cmds[i].argc = argc;
        cmds[i].argv = a;
        cmds[i].argvlen = NULL;
    }
    st = sc_redis_pipeline(h, SC_REDIS_IDEMPOTENT, 0, n, cmds, replies);
    if (st == SC_OK) {
        for (size_t i = 0; i < n; i++) {
            if (replies[i]->type == REDIS_REPLY_ERROR) {
                sc_seterr(h->errstr, sizeof(h->errstr), "SET %s: %s", keys[i], replies[i]->str);
                st = SC_ERR;
                break;
            }
        }
        sc_redis_replies_free(replies, n);
    }
    free(cmds);
    free(argvs);
    free(replies);
    return st;
}

sc_status sc_redis_set(sc_redis *h, const char *key, const char *val, int ttl_s)
{
    return sc_redis_set_many(h, &key, &val, 1, ttl_s);
}

static sc_status parse_double(sc_redis *h, const redisReply *r, double *out)
{
    char tmp[64], *end;
    if (r->type != REDIS_REPLY_STRING || r->len == 0 || r->len >= sizeof(tmp))
        return unexpected(h, "score", r);
    memcpy(tmp, r->str, r->len);
    tmp[r->len] = '\0';
    errno = 0;
    *out = strtod(tmp, &end);
    if (*end != '\0') {
        sc_seterr(h->errstr, sizeof(h->errstr), "redis: bad score '%s'", tmp);
        return SC_EPROTO;
    }
    return SC_OK;
}

sc_status sc_redis_zincrby(sc_redis *h, const char *key, const char *member, double incr,
                           double *new_score)
{
    char num[40];
    const char *argv[4] = {"ZINCRBY", key, num, member};
    redisReply *r = NULL;
    double v;
    sc_status st;
    if (h == NULL || key == NULL || member == NULL)
        return SC_EINVAL;
    snprintf(num, sizeof(num), "%.17g", incr);
    st = sc_redis_command_argv_ex(h, 0, 0, 4, argv, NULL, &r);
    if (st != SC_OK)
        return st;
    st = parse_double(h, r, &v);
    freeReplyObject(r);
    if (st == SC_OK && new_score != NULL)
        *new_score = v;
    return st;
}

sc_status sc_redis_zadd(sc_redis *h, const char *key, const char *member, double score)
{
    char num[40];
    const char *argv[4] = {"ZADD", key, num, member};
    redisReply *r = NULL;
    sc_status st;
    if (h == NULL || key == NULL || member == NULL)
        return SC_EINVAL;
    snprintf(num, sizeof(num), "%.17g", score);
    st = sc_redis_command_argv_ex(h, SC_REDIS_IDEMPOTENT, 0, 4, argv, NULL, &r);
    if (st != SC_OK)
        return st;
    if (r->type != REDIS_REPLY_INTEGER)
        st = unexpected(h, "ZADD", r);
    freeReplyObject(r);
    return st;
}

void sc_redis_zentries_free(sc_redis_zentry *z, size_t n)
{
    if (z == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        free(z[i].member);
    free(z);
}

sc_status sc_redis_zrange_withscores(sc_redis *h, const char *key, int64_t start, int64_t stop,
                                     sc_redis_zentry **out, size_t *n)
{
    char a[24], b[24];
    const char *argv[5] = {"ZRANGE", key, a, b, "WITHSCORES"};
    redisReply *r = NULL;
    sc_redis_zentry *z = NULL;
    size_t cnt;
    sc_status st;
    if (h == NULL || key == NULL || out == NULL || n == NULL)
        return SC_EINVAL;
    *out = NULL;
    *n = 0;
    snprintf(a, sizeof(a), "%lld", (long long)start);
    snprintf(b, sizeof(b), "%lld", (long long)stop);
    st = sc_redis_command_argv_ex(h, SC_REDIS_IDEMPOTENT, 0, 5, argv, NULL, &r);
    if (st != SC_OK)
        return st;
    if (r->type != REDIS_REPLY_ARRAY || r->elements % 2 != 0) {
        st = unexpected(h, "ZRANGE", r);
        goto done;
    }
    cnt = r->elements / 2;
    if (cnt == 0)
        goto done;
    z = calloc(cnt, sizeof(*z));
    if (z == NULL) {
        st = SC_ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < cnt; i++) {
        const redisReply *m = r->element[2 * i];
        if (m->type != REDIS_REPLY_STRING) {
            st = unexpected(h, "ZRANGE member", m);
            break;
        }
        st = parse_double(h, r->element[2 * i + 1], &z[i].score);
        if (st != SC_OK)
            break;
        z[i].member = malloc(m->len + 1);
        if (z[i].member == NULL) {
            st = SC_ENOMEM;
            break;
        }
        memcpy(z[i].member, m->str, m->len);
        z[i].member[m->len] = '\0';
    }
    if (st != SC_OK) {
        sc_redis_zentries_free(z, cnt);
        goto done;
    }
    *out = z;
    *n = cnt;
done:
    freeReplyObject(r);
    return st;
}

sc_status sc_redis_del(sc_redis *h, const char *const *keys, size_t n, int64_t *deleted)
{
    redisReply *r = NULL;
    sc_status st;
    if (deleted != NULL)
        *deleted = 0;
    if (h == NULL || (n > 0 && keys == NULL) || n >= INT_MAX)
        return SC_EINVAL;
    if (n == 0)
        return SC_OK;
    st = keys_command(h, "DEL", keys, n, &r);
    if (st != SC_OK)
        return st;
    if (r->type != REDIS_REPLY_INTEGER)
        st = unexpected(h, "DEL", r);
    else if (deleted != NULL)
        *deleted = r->integer;
    freeReplyObject(r);
    return st;
}
