/*
 * queue.c - see queue.h. Builds the stream commands, sizes the socket
 * timeout of blocking reads above their BLOCK time, and turns RESP2 stream
 * replies into owned batches.
 */
#include "queue.h"

#include "log.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sc_queue {
    sc_redis *r;            /* owned connection */
    char *stream;           /* owned; stream key */
    char *group;            /* owned; consumer group */
    char *consumer;         /* owned; this consumer's name */
    char *dead;             /* owned; dead-letter stream key */
    int64_t maxlen;         /* approximate trim length for XADD */
    char maxlen_s[24];      /* maxlen as text for argv */
    int block_ms;           /* default BLOCK */
    int count;              /* default COUNT */
    char errstr[SC_ERRLEN]; /* detail of the last failure */
};

sc_queue *sc_queue_create(const sc_queue_opts *o, char *err, size_t errlen)
{
    sc_queue *q;
    char rerr[SC_ERRLEN];
    if (o == NULL || o->stream == NULL || o->stream[0] == '\0' || o->group == NULL ||
        o->group[0] == '\0' || o->consumer == NULL || o->consumer[0] == '\0') {
        sc_seterr(err, errlen, "queue: stream, group and consumer are required");
        return NULL;
    }
    if (o->maxlen < 0 || o->block_ms < 0 || o->count < 0) {
        sc_seterr(err, errlen, "queue: maxlen, block_ms and count must not be negative");
        return NULL;
    }
    q = calloc(1, sizeof(*q));
    if (q == NULL) {
        sc_seterr(err, errlen, "queue: out of memory");
        return NULL;
    }
    q->r = sc_redis_create(&o->redis, rerr, sizeof(rerr));
    if (q->r == NULL) {
        sc_seterr(err, errlen, "queue: %s", rerr);
        sc_queue_free(q);
        return NULL;
    }
    q->stream = strdup(o->stream);
    q->group = strdup(o->group);
    q->consumer = strdup(o->consumer);
    if (o->dead_stream != NULL && o->dead_stream[0] != '\0') {
        q->dead = strdup(o->dead_stream);
    } else {
        size_t n = strlen(o->stream) + sizeof(":dead");
        q->dead = malloc(n);
        if (q->dead != NULL)
            snprintf(q->dead, n, "%s:dead", o->stream);
    }
    if (q->stream == NULL || q->group == NULL || q->consumer == NULL || q->dead == NULL) {
        sc_seterr(err, errlen, "queue: out of memory");
        sc_queue_free(q);
        return NULL;
    }
    q->maxlen = o->maxlen != 0 ? o->maxlen : SC_QUEUE_DEFAULT_MAXLEN;
    snprintf(q->maxlen_s, sizeof(q->maxlen_s), "%" PRId64, q->maxlen);
    q->block_ms = o->block_ms != 0 ? o->block_ms : SC_QUEUE_DEFAULT_BLOCK_MS;
    q->count = o->count != 0 ? o->count : SC_QUEUE_DEFAULT_COUNT;
    return q;
}

void sc_queue_free(sc_queue *q)
{
    if (q == NULL)
        return;
    sc_redis_free(q->r);
    free(q->stream);
    free(q->group);
    free(q->consumer);
    free(q->dead);
    free(q);
}

const char *sc_queue_errstr(const sc_queue *q)
{
    return q != NULL ? q->errstr : "queue: no handle";
}

sc_redis *sc_queue_redis(sc_queue *q) { return q->r; }

const char *sc_queue_stream(const sc_queue *q) { return q->stream; }

const char *sc_queue_dead_stream(const sc_queue *q) { return q->dead; }

/* Copy the connection's error into the queue's, with a prefix. */
static sc_status rfail(sc_queue *q, const char *what, sc_status st)
{
    sc_seterr(q->errstr, sizeof(q->errstr), "queue %s: %s: %s", q->stream, what,
              sc_redis_errstr(q->r));
    return st;
}

static sc_status proto(sc_queue *q, const char *what, const redisReply *r)
{
    sc_seterr(q->errstr, sizeof(q->errstr), "queue %s: %s: unexpected reply type %d", q->stream,
              what, r != NULL ? r->type : -1);
    return SC_EPROTO;
}

void sc_queue_batch_free(sc_queue_batch *b)
{
    if (b == NULL)
        return;
    for (size_t i = 0; i < b->n; i++)
        free(b->entries[i].payload);
    free(b->entries);
    free(b->gone);
    memset(b, 0, sizeof(*b));
}

static int copy_id(char dst[SC_QUEUE_IDLEN], const redisReply *r)
{
    if (r == NULL || r->type != REDIS_REPLY_STRING || r->len == 0 || r->len >= SC_QUEUE_IDLEN)
        return -1;
    memcpy(dst, r->str, r->len);
    dst[r->len] = '\0';
    return 0;
}

static sc_status add_gone(sc_queue_batch *out, const redisReply *idr, size_t *cap, char *err,
                          size_t errlen)
{
    if (out->n_gone == *cap) {
        size_t nc = *cap ? *cap * 2 : 8;
        char(*g)[SC_QUEUE_IDLEN] = realloc(out->gone, nc * sizeof(*g));
        if (g == NULL) {
            sc_seterr(err, errlen, "out of memory");
            return SC_ENOMEM;
        }
        out->gone = g;
        *cap = nc;
    }
    if (copy_id(out->gone[out->n_gone], idr) != 0) {
        sc_seterr(err, errlen, "bad stream id in reply");
        return SC_EPROTO;
    }
    out->n_gone++;
    return SC_OK;
}

sc_status sc_queue_parse_entries(redisReply *arr, sc_queue_batch *out, char *err, size_t errlen)
{
    size_t n0 = out->n, g0 = out->n_gone, gcap = out->n_gone, cap;
    sc_status st = SC_OK;
    sc_queue_entry *ne;
    if (arr == NULL || arr->type != REDIS_REPLY_ARRAY) {
        sc_seterr(err, errlen, "entries: expected an array, got type %d",
                  arr != NULL ? arr->type : -1);
        return SC_EPROTO;
    }
    if (arr->elements == 0)
        return SC_OK;
    cap = n0 + arr->elements;
    ne = realloc(out->entries, cap * sizeof(*ne));
    if (ne == NULL) {
        sc_seterr(err, errlen, "out of memory");
        return SC_ENOMEM;
    }
    out->entries = ne;
    for (size_t i = 0; i < arr->elements && st == SC_OK; i++) {
        const redisReply *e = arr->element[i];
        redisReply *f;
        sc_queue_entry *x;
        if (e->type == REDIS_REPLY_NIL)
            continue; /* deleted entry without an id (pre-7 XAUTOCLAIM): nothing to ack */
        if (e->type != REDIS_REPLY_ARRAY || e->elements != 2) {
            sc_seterr(err, errlen, "entry %zu: expected [id, fields], got type %d", i, e->type);
            st = SC_EPROTO;
            break;
        }
        f = e->element[1];
        if (f->type == REDIS_REPLY_NIL) {
            st = add_gone(out, e->element[0], &gcap, err, errlen);
            continue;
        }
        if (f->type != REDIS_REPLY_ARRAY || f->elements % 2 != 0) {
            sc_seterr(err, errlen, "entry %zu: field list has type %d", i, f->type);
            st = SC_EPROTO;
            break;
        }
        x = &out->entries[out->n];
        memset(x, 0, sizeof(*x));
        if (copy_id(x->id, e->element[0]) != 0) {
            sc_seterr(err, errlen, "entry %zu: bad stream id", i);
            st = SC_EPROTO;
            break;
        }
        for (size_t k = 0; k + 1 < f->elements; k += 2) {
            const redisReply *fk = f->element[k];
            redisReply *fv = f->element[k + 1];
            if (fk->type != REDIS_REPLY_STRING || fv->type != REDIS_REPLY_STRING) {
                sc_seterr(err, errlen, "entry %s: non-string field", x->id);
                st = SC_EPROTO;
                break;
            }
            if (fk->len != 1 || fk->str[0] != SC_QUEUE_FIELD[0] || x->payload != NULL)
                continue;
            /* take hiredis's copy (malloc'd, NUL-terminated: hiredis keeps
             * its default allocators here) instead of copying it again */
            x->payload = fv->str;
            x->len = fv->len;
            fv->str = NULL;
        }
        if (st != SC_OK) {
            free(x->payload);
            break;
        }
        out->n++;
    }
    if (st != SC_OK) {
        for (size_t i = n0; i < out->n; i++)
            free(out->entries[i].payload);
        out->n = n0;
        out->n_gone = g0;
    }
    return st;
}

sc_status sc_queue_ensure_group(sc_queue *q)
{
    const char *argv[6] = {"XGROUP", "CREATE", q->stream, q->group, "0", "MKSTREAM"};
    redisReply *r = NULL;
    sc_status st = sc_redis_command_argv_ex(q->r, SC_REDIS_IDEMPOTENT, 0, 6, argv, NULL, &r);
    if (st == SC_OK) {
        freeReplyObject(r);
        return SC_OK;
    }
    if (st == SC_ERR && strncmp(sc_redis_errstr(q->r), "BUSYGROUP", 9) == 0)
        return SC_OK;
    return rfail(q, "XGROUP CREATE", st);
}

static void xadd_argv(sc_queue *q, const char **argv, size_t *argvlen, const void *payload,
                      size_t len)
{
    static const char *const head[] = {"XADD", NULL, "MAXLEN", "~", NULL, "*", SC_QUEUE_FIELD};
    for (int i = 0; i < 7; i++)
        argv[i] = head[i];
    argv[1] = q->stream;
    argv[4] = q->maxlen_s;
    for (int i = 0; i < 7; i++)
        argvlen[i] = strlen(argv[i]);
    argv[7] = payload != NULL ? payload : "";
    argvlen[7] = payload != NULL ? len : 0;
}

sc_status sc_queue_publish(sc_queue *q, const void *payload, size_t len,
                           char id_out[SC_QUEUE_IDLEN])
{
    const void *p[1] = {payload};
    size_t l[1] = {len};
    return sc_queue_publish_many(q, p, l, 1, (char(*)[SC_QUEUE_IDLEN])id_out);
}

sc_status sc_queue_publish_many(sc_queue *q, const void *const *payloads, const size_t *lens,
                                size_t n, char (*ids_out)[SC_QUEUE_IDLEN])
{
    sc_redis_cmd *cmds;
    const char **argv;
    size_t *argvlen;
    redisReply **rep;
    sc_status st;
    if (q == NULL || (n > 0 && (payloads == NULL || lens == NULL)))
        return SC_EINVAL;
    if (n == 0)
        return SC_OK;
    cmds = calloc(n, sizeof(*cmds));
    argv = calloc(n * 8, sizeof(*argv));
    argvlen = calloc(n * 8, sizeof(*argvlen));
    rep = calloc(n, sizeof(*rep));
    if (cmds == NULL || argv == NULL || argvlen == NULL || rep == NULL) {
        st = SC_ENOMEM;
        sc_seterr(q->errstr, sizeof(q->errstr), "queue %s: XADD: out of memory", q->stream);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        xadd_argv(q, argv + 8 * i, argvlen + 8 * i, payloads[i], lens[i]);
        cmds[i].argc = 8;
        cmds[i].argv = argv + 8 * i;
        cmds[i].argvlen = argvlen + 8 * i;
    }
    st = sc_redis_pipeline(q->r, 0, 0, n, cmds, rep);
    if (st != SC_OK) {
        rfail(q, "XADD", st);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        if (rep[i]->type == REDIS_REPLY_ERROR) {
            sc_seterr(q->errstr, sizeof(q->errstr), "queue %s: XADD #%zu: %s", q->stream, i,
                      rep[i]->str);
            st = SC_ERR;
            break;
        }
        if (rep[i]->type != REDIS_REPLY_STRING || rep[i]->len >= SC_QUEUE_IDLEN) {
            st = proto(q, "XADD", rep[i]);
            break;
        }
        if (ids_out != NULL) {
            memcpy(ids_out[i], rep[i]->str, rep[i]->len);
            ids_out[i][rep[i]->len] = '\0';
        }
    }
    sc_redis_replies_free(rep, n);
done:
    free(cmds);
    free(argv);
    free(argvlen);
    free(rep);
    return st;
}

/* XACK ids that turned out to be gone so they leave the pending list. A
 * failure is only logged: the batch is still valid and the ids will show up
 * again on the next pending read or claim. */
static void ack_gone(sc_queue *q, const sc_queue_batch *b, size_t from)
{
    const char **ids;
    sc_status st;
    if (b->n_gone <= from)
        return;
    ids = malloc((b->n_gone - from) * sizeof(*ids));
    if (ids == NULL)
        return;
    for (size_t i = from; i < b->n_gone; i++)
        ids[i - from] = b->gone[i];
    st = sc_queue_ack(q, ids, b->n_gone - from, NULL);
    free(ids);
    if (st == SC_OK)
        log_warn("queue %s: %zu pending entries were trimmed before processing; acked", q->stream,
                 b->n_gone - from);
    else
        log_warn("queue %s: acking trimmed entries: %s", q->stream, q->errstr);
}

/* Parse an XREADGROUP reply (nil, or [[stream, entries]]) into out. */
static sc_status parse_xread(sc_queue *q, redisReply *r, sc_queue_batch *out)
{
    char err[SC_ERRLEN];
    sc_status st;
    if (r->type == REDIS_REPLY_NIL)
        return SC_OK;
    if (r->type != REDIS_REPLY_ARRAY)
        return proto(q, "XREADGROUP", r);
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *s = r->element[i];
        if (s->type != REDIS_REPLY_ARRAY || s->elements != 2)
            return proto(q, "XREADGROUP stream", s);
        st = sc_queue_parse_entries(s->element[1], out, err, sizeof(err));
        if (st != SC_OK) {
            sc_seterr(q->errstr, sizeof(q->errstr), "queue %s: XREADGROUP: %s", q->stream, err);
            return st;
        }
    }
    return SC_OK;
}

static sc_status xreadgroup(sc_queue *q, int count, int block_ms, const char *from,
                            sc_queue_batch *out)
{
    char cnt[16], blk[16];
    const char *argv[12];
    int argc = 0, flags = 0, timeout_ms = 0;
    redisReply *r = NULL;
    sc_status st;
    if (q == NULL || out == NULL)
        return SC_EINVAL;
    sc_queue_batch_free(out);
    if (count <= 0)
        count = q->count;
    snprintf(cnt, sizeof(cnt), "%d", count);
    argv[argc++] = "XREADGROUP";
    argv[argc++] = "GROUP";
    argv[argc++] = q->group;
    argv[argc++] = q->consumer;
    argv[argc++] = "COUNT";
    argv[argc++] = cnt;
    if (block_ms > 0) {
        snprintf(blk, sizeof(blk), "%d", block_ms);
        argv[argc++] = "BLOCK";
        argv[argc++] = blk;
        /* the server holds the reply up to block_ms: keep the socket
         * timeout above it so an empty wait is not taken for a dead server */
        timeout_ms = block_ms + sc_redis_command_timeout_ms(q->r);
    }
    argv[argc++] = "STREAMS";
    argv[argc++] = q->stream;
    argv[argc++] = from;
    /* reading history ("0") is idempotent; reading new entries (">") is not */
    if (strcmp(from, ">") != 0)
        flags = SC_REDIS_IDEMPOTENT;
    for (int attempt = 0; attempt < 2; attempt++) {
        st = sc_redis_command_argv_ex(q->r, flags, timeout_ms, argc, argv, NULL, &r);
        if (st == SC_ERR && attempt == 0 && strncmp(sc_redis_errstr(q->r), "NOGROUP", 7) == 0) {
            log_warn("queue %s: group %s missing, creating it", q->stream, q->group);
            st = sc_queue_ensure_group(q);
            if (st != SC_OK)
                return st;
            continue;
        }
        break;
    }
    if (st != SC_OK)
        return rfail(q, "XREADGROUP", st);
    st = parse_xread(q, r, out);
    freeReplyObject(r);
    if (st != SC_OK) {
        sc_queue_batch_free(out);
        return st;
    }
    ack_gone(q, out, 0);
    return SC_OK;
}

sc_status sc_queue_read(sc_queue *q, int count, int block_ms, sc_queue_batch *out)
{
    if (q != NULL && block_ms < 0)
        block_ms = q->block_ms;
    return xreadgroup(q, count, block_ms, ">", out);
}

sc_status sc_queue_read_pending(sc_queue *q, int count, sc_queue_batch *out)
{
    return xreadgroup(q, count, 0, "0", out);
}

sc_status sc_queue_ack(sc_queue *q, const char *const *ids, size_t n, int64_t *acked)
{
    const char **argv;
    redisReply *r = NULL;
    sc_status st;
    if (acked != NULL)
        *acked = 0;
    if (q == NULL || (n > 0 && ids == NULL) || n > (size_t)INT_MAX - 3)
        return SC_EINVAL;
    if (n == 0)
        return SC_OK;
    argv = malloc((n + 3) * sizeof(*argv));
    if (argv == NULL)
        return SC_ENOMEM;
    argv[0] = "XACK";
    argv[1] = q->stream;
    argv[2] = q->group;
    for (size_t i = 0; i < n; i++)
        argv[i + 3] = ids[i];
    st = sc_redis_command_argv_ex(q->r, SC_REDIS_IDEMPOTENT, 0, (int)(n + 3), argv, NULL, &r);
    free(argv);
    if (st != SC_OK)
        return rfail(q, "XACK", st);
    if (r->type != REDIS_REPLY_INTEGER)
        st = proto(q, "XACK", r);
    else if (acked != NULL)
        *acked = r->integer;
    freeReplyObject(r);
    return st;
}

sc_status sc_queue_autoclaim(sc_queue *q, int64_t min_idle_ms, int count,
                             char start_id_inout[SC_QUEUE_IDLEN], sc_queue_batch *out)
{
    char idle[24], cnt[16], err[SC_ERRLEN];
    const char *argv[8];
    redisReply *r = NULL;
    sc_status st;
    size_t nil_gone;
    if (q == NULL || out == NULL || start_id_inout == NULL || min_idle_ms < 0)
        return SC_EINVAL;
    sc_queue_batch_free(out);
    if (count <= 0)
        count = q->count;
    snprintf(idle, sizeof(idle), "%" PRId64, min_idle_ms);
    snprintf(cnt, sizeof(cnt), "%d", count);
    argv[0] = "XAUTOCLAIM";
    argv[1] = q->stream;
    argv[2] = q->group;
    argv[3] = q->consumer;
    argv[4] = idle;
    argv[5] = start_id_inout[0] != '\0' ? start_id_inout : "0-0";
    argv[6] = "COUNT";
    argv[7] = cnt;
    st = sc_redis_command_argv_ex(q->r, 0, 0, 8, argv, NULL, &r);
    if (st != SC_OK)
        return rfail(q, "XAUTOCLAIM", st);
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 2 ||
        r->element[0]->type != REDIS_REPLY_STRING || r->element[0]->len >= SC_QUEUE_IDLEN) {
        st = proto(q, "XAUTOCLAIM", r);
        goto done;
    }
    st = sc_queue_parse_entries(r->element[1], out, err, sizeof(err));
    if (st != SC_OK) {
        sc_seterr(q->errstr, sizeof(q->errstr), "queue %s: XAUTOCLAIM: %s", q->stream, err);
        goto done;
    }
    /* [id, nil] entries (older servers) are still pending: ack those */
    nil_gone = out->n_gone;
    ack_gone(q, out, 0);
    if (r->elements >= 3) { /* Redis 7: ids it found deleted and dropped itself */
        const redisReply *d = r->element[2];
        size_t cap = out->n_gone;
        if (d->type != REDIS_REPLY_ARRAY) {
            st = proto(q, "XAUTOCLAIM deleted ids", d);
            goto done;
        }
        for (size_t i = 0; i < d->elements && st == SC_OK; i++)
            st = add_gone(out, d->element[i], &cap, err, sizeof(err));
        if (st != SC_OK) {
            sc_seterr(q->errstr, sizeof(q->errstr), "queue %s: XAUTOCLAIM: %s", q->stream, err);
            goto done;
        }
        if (out->n_gone > nil_gone)
            log_warn("queue %s: %zu pending entries were trimmed before processing", q->stream,
                     out->n_gone - nil_gone);
    }
    memcpy(start_id_inout, r->element[0]->str, r->element[0]->len);
    start_id_inout[r->element[0]->len] = '\0';
done:
    freeReplyObject(r);
    if (st != SC_OK)
        sc_queue_batch_free(out);
    return st;
}

sc_status sc_queue_delivery_counts(sc_queue *q, const char *const *ids, size_t n,
                                   int64_t *counts_out)
{
    sc_redis_cmd *cmds;
    const char **argv;
    redisReply **rep;
    sc_status st;
    if (q == NULL || (n > 0 && (ids == NULL || counts_out == NULL)))
        return SC_EINVAL;
    for (size_t i = 0; i < n; i++)
        counts_out[i] = 0;
    if (n == 0)
        return SC_OK;
    cmds = calloc(n, sizeof(*cmds));
    argv = calloc(n * 6, sizeof(*argv));
    rep = calloc(n, sizeof(*rep));
    if (cmds == NULL || argv == NULL || rep == NULL) {
        st = SC_ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        const char **a = argv + 6 * i;
        a[0] = "XPENDING";
        a[1] = q->stream;
        a[2] = q->group;
        a[3] = ids[i];
        a[4] = ids[i];
        a[5] = "1";
        cmds[i].argc = 6;
        cmds[i].argv = a;
    }
    st = sc_redis_pipeline(q->r, SC_REDIS_IDEMPOTENT, 0, n, cmds, rep);
    if (st != SC_OK) {
        rfail(q, "XPENDING", st);
        goto done;
    }
    for (size_t i = 0; i < n && st == SC_OK; i++) {
        const redisReply *x = rep[i];
        if (x->type == REDIS_REPLY_ERROR) {
            sc_seterr(q->errstr, sizeof(q->errstr), "queue %s: XPENDING %s: %s", q->stream, ids[i],
                      x->str);
            st = strncmp(x->str, "NOGROUP", 7) == 0 ? SC_ENOTFOUND : SC_ERR;
        } else if (x->type != REDIS_REPLY_ARRAY) {
            st = proto(q, "XPENDING", x);
        } else if (x->elements == 1) {
            const redisReply *p = x->element[0];
            if (p->type != REDIS_REPLY_ARRAY || p->elements != 4 ||
                p->element[3]->type != REDIS_REPLY_INTEGER)
                st = proto(q, "XPENDING entry", p);
            else
                counts_out[i] = p->element[3]->integer;
        }
    }
    sc_redis_replies_free(rep, n);
done:
    if (st == SC_ENOMEM)
        sc_seterr(q->errstr, sizeof(q->errstr), "queue %s: XPENDING: out of memory", q->stream);
    free(cmds);
    free(argv);
    free(rep);
    return st;
}

sc_status sc_queue_dead_letter(sc_queue *q, const char *entry_id, const void *payload, size_t len,
                               const char *reason)
{
    char ts[24];
    const char *argv[14];
    size_t argvlen[14];
    redisReply *r = NULL;
    sc_status st;
    if (q == NULL || entry_id == NULL)
        return SC_EINVAL;
    snprintf(ts, sizeof(ts), "%" PRId64, sc_wall_ms());
    argv[0] = "XADD";
    argv[1] = q->dead;
    argv[2] = "MAXLEN";
    argv[3] = "~";
    argv[4] = q->maxlen_s;
    argv[5] = "*";
    argv[6] = SC_QUEUE_FIELD;
    argv[7] = payload != NULL ? payload : "";
    argv[8] = "reason";
    argv[9] = reason != NULL ? reason : "";
    argv[10] = "src_id";
    argv[11] = entry_id;
    argv[12] = "ts";
    argv[13] = ts;
    for (int i = 0; i < 14; i++)
        argvlen[i] = strlen(argv[i]);
    argvlen[7] = payload != NULL ? len : 0;
    st = sc_redis_command_argv_ex(q->r, 0, 0, 14, argv, argvlen, &r);
    if (st != SC_OK)
        return rfail(q, "dead-letter XADD", st);
    freeReplyObject(r);
    log_warn("queue %s: entry %s dead-lettered to %s: %s", q->stream, entry_id, q->dead,
             reason != NULL ? reason : "");
    return SC_OK;
}

static int str_is(const redisReply *r, const char *s)
{
    size_t n = strlen(s);
    return r->type == REDIS_REPLY_STRING && r->len == n && memcmp(r->str, s, n) == 0;
}

sc_status sc_queue_lag(sc_queue *q, int64_t *lag, int64_t *pending)
{
    const char *argv[3] = {"XINFO", "GROUPS", q->stream};
    redisReply *r = NULL;
    sc_status st;
    st = sc_redis_command_argv_ex(q->r, SC_REDIS_IDEMPOTENT, 0, 3, argv, NULL, &r);
    if (st == SC_ERR && strstr(sc_redis_errstr(q->r), "no such key") != NULL)
        return rfail(q, "XINFO GROUPS", SC_ENOTFOUND);
    if (st != SC_OK)
        return rfail(q, "XINFO GROUPS", st);
    if (r->type != REDIS_REPLY_ARRAY) {
        st = proto(q, "XINFO GROUPS", r);
        goto done;
    }
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *g = r->element[i];
        int64_t lg = -1, pd = -1;
        int mine = 0;
        if (g->type != REDIS_REPLY_ARRAY || g->elements % 2 != 0) {
            st = proto(q, "XINFO GROUPS entry", g);
            goto done;
        }
        for (size_t k = 0; k + 1 < g->elements; k += 2) {
            const redisReply *key = g->element[k], *v = g->element[k + 1];
            if (str_is(key, "name"))
                mine = v->type == REDIS_REPLY_STRING && str_is(v, q->group);
            else if (str_is(key, "pending") && v->type == REDIS_REPLY_INTEGER)
                pd = v->integer;
            else if (str_is(key, "lag") && v->type == REDIS_REPLY_INTEGER)
                lg = v->integer;
        }
        if (mine) {
            if (lag != NULL)
                *lag = lg;
            if (pending != NULL)
                *pending = pd;
            goto done;
        }
    }
    sc_seterr(q->errstr, sizeof(q->errstr), "queue %s: no group %s", q->stream, q->group);
    st = SC_ENOTFOUND;
done:
    freeReplyObject(r);
    return st;
}

sc_status sc_queue_dead_count(sc_queue *q, int64_t *n)
{
    const char *argv[2] = {"XLEN", q->dead};
    redisReply *r = NULL;
    sc_status st = sc_redis_command_argv_ex(q->r, SC_REDIS_IDEMPOTENT, 0, 2, argv, NULL, &r);
    if (st != SC_OK)
        return rfail(q, "XLEN", st);
    if (r->type != REDIS_REPLY_INTEGER)
        st = proto(q, "XLEN", r);
    else if (n != NULL)
        *n = r->integer;
    freeReplyObject(r);
    return st;
}
