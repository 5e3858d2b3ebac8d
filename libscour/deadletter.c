/*
 * deadletter.c - see deadletter.h. Plain XREVRANGE / XRANGE / XDEL on the
 * dead-letter stream; the publish goes through sc_queue_publish so a replayed
 * event is written exactly as the chat service's events are.
 */
#include "deadletter.h"

#include "redis.h"

#include <ctype.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sc_dead_id_ok(const char *s)
{
    size_t i = 0, n;
    if (s == NULL)
        return 0;
    n = strlen(s);
    if (n == 0 || n >= SC_QUEUE_IDLEN)
        return 0;
    while (isdigit((unsigned char)s[i]))
        i++;
    if (i == 0 || s[i] != '-')
        return 0;
    i++;
    if (!isdigit((unsigned char)s[i]))
        return 0;
    while (isdigit((unsigned char)s[i]))
        i++;
    return s[i] == '\0';
}

void sc_dead_entries_free(sc_dead_entry *e, size_t n)
{
    if (e == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        free(e[i].reason);
        free(e[i].payload);
    }
    free(e);
}

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d != NULL) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static int is_str(const redisReply *r)
{
    return r != NULL && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS);
}

/* One [id, [field, value, ...]] element into e. */
static sc_status parse_entry(const redisReply *el, sc_dead_entry *e)
{
    const redisReply *f;
    memset(e, 0, sizeof(*e));
    if (el->type != REDIS_REPLY_ARRAY || el->elements != 2 || !is_str(el->element[0]) ||
        el->element[0]->len >= SC_QUEUE_IDLEN)
        return SC_EPROTO;
    memcpy(e->id, el->element[0]->str, el->element[0]->len);
    f = el->element[1];
    if (f->type != REDIS_REPLY_ARRAY)
        return SC_EPROTO;
    for (size_t k = 0; k + 1 < f->elements; k += 2) {
        const redisReply *key = f->element[k], *val = f->element[k + 1];
        if (!is_str(key) || !is_str(val))
            return SC_EPROTO;
        if (strcmp(key->str, SC_QUEUE_FIELD) == 0 && e->payload == NULL) {
            if ((e->payload = dup_n(val->str, val->len)) == NULL)
                return SC_ENOMEM;
            e->payload_len = val->len;
        } else if (strcmp(key->str, "reason") == 0 && e->reason == NULL) {
            if ((e->reason = dup_n(val->str, val->len)) == NULL)
                return SC_ENOMEM;
        } else if (strcmp(key->str, "src_id") == 0 && val->len < SC_QUEUE_IDLEN) {
            memcpy(e->src_id, val->str, val->len);
            e->src_id[val->len] = '\0';
        } else if (strcmp(key->str, "ts") == 0) {
            e->ts_ms = strtoll(val->str, NULL, 10);
        }
    }
    if (e->reason == NULL && (e->reason = dup_n("", 0)) == NULL)
        return SC_ENOMEM;
    return SC_OK;
}

/* Run an XRANGE-shaped command and parse its entries. */
static sc_status range(sc_queue *q, const char **argv, int argc, sc_dead_entry **out, size_t *n,
                       char *err, size_t errlen)
{
    sc_redis *r = sc_queue_redis(q);
    redisReply *rep = NULL;
    sc_dead_entry *es = NULL;
    sc_status st;
    *out = NULL;
    *n = 0;
    st = sc_redis_command_argv_ex(r, SC_REDIS_IDEMPOTENT, 0, argc, argv, NULL, &rep);
    if (st != SC_OK) {
        sc_seterr(err, errlen, "dead letters %s: %s: %s", sc_queue_dead_stream(q), argv[0],
                  sc_redis_errstr(r));
        return st;
    }
    if (rep->type != REDIS_REPLY_ARRAY) {
        sc_seterr(err, errlen, "dead letters %s: %s: unexpected reply type %d",
                  sc_queue_dead_stream(q), argv[0], rep->type);
        freeReplyObject(rep);
        return SC_EPROTO;
    }
    if (rep->elements > 0 && (es = calloc(rep->elements, sizeof(*es))) == NULL) {
        freeReplyObject(rep);
        sc_seterr(err, errlen, "dead letters: out of memory");
        return SC_ENOMEM;
    }
    for (size_t i = 0; i < rep->elements; i++) {
        st = parse_entry(rep->element[i], &es[i]);
        if (st != SC_OK) {
            sc_dead_entries_free(es, i + 1);
            freeReplyObject(rep);
            sc_seterr(err, errlen, "dead letters %s: %s: %s", sc_queue_dead_stream(q), argv[0],
                      st == SC_ENOMEM ? "out of memory" : "malformed entry");
            return st;
        }
    }
    *out = es;
    *n = rep->elements;
    freeReplyObject(rep);
    return SC_OK;
}

sc_status sc_dead_list(sc_queue *q, const char *before_id, int count, sc_dead_entry **out,
                       size_t *n, char *err, size_t errlen)
{
    char end[SC_QUEUE_IDLEN + 2], cnt[16];
    const char *argv[6];
    *out = NULL;
    *n = 0;
    if (count < 1 || count > 1000) {
        sc_seterr(err, errlen, "count: %d is not in 1..1000", count);
        return SC_EINVAL;
    }
    if (before_id != NULL && before_id[0] != '\0') {
        if (!sc_dead_id_ok(before_id)) {
            sc_seterr(err, errlen, "'%s' is not a stream id (<ms>-<seq>)", before_id);
            return SC_EINVAL;
        }
        snprintf(end, sizeof end, "(%s", before_id); /* exclusive (Redis >= 6.2) */
    } else {
        snprintf(end, sizeof end, "+");
    }
    snprintf(cnt, sizeof cnt, "%d", count);
    argv[0] = "XREVRANGE";
    argv[1] = sc_queue_dead_stream(q);
    argv[2] = end;
    argv[3] = "-";
    argv[4] = "COUNT";
    argv[5] = cnt;
    return range(q, argv, 6, out, n, err, errlen);
}

/* Publish e's payload to the event stream and delete e from the dead one. */
static sc_status replay_entry(sc_queue *q, const sc_dead_entry *e, char new_id[SC_QUEUE_IDLEN],
                              char *err, size_t errlen)
{
    char idbuf[SC_QUEUE_IDLEN];
    const char *argv[3];
    redisReply *rep = NULL;
    sc_status st;
    if (e->payload == NULL || e->payload_len == 0) {
        sc_seterr(err, errlen, "dead letter %s has no payload to replay", e->id);
        return SC_EINVAL;
    }
    st = sc_queue_publish(q, e->payload, e->payload_len, new_id != NULL ? new_id : idbuf);
    if (st != SC_OK) {
        sc_seterr(err, errlen, "replay %s: %s", e->id, sc_queue_errstr(q));
        return st;
    }
    argv[0] = "XDEL";
    argv[1] = sc_queue_dead_stream(q);
    argv[2] = e->id;
    st = sc_redis_command_argv_ex(sc_queue_redis(q), SC_REDIS_IDEMPOTENT, 0, 3, argv, NULL, &rep);
    if (st != SC_OK) {
        sc_seterr(err, errlen, "replay %s: published, but XDEL failed: %s", e->id,
                  sc_redis_errstr(sc_queue_redis(q)));
        return st;
    }
    freeReplyObject(rep);
    return SC_OK;
}

sc_status sc_dead_replay(sc_queue *q, const char *id, char new_id[SC_QUEUE_IDLEN], char *err,
                         size_t errlen)
{
    const char *argv[4];
    sc_dead_entry *e = NULL;
    size_t n = 0;
    sc_status st;
    if (!sc_dead_id_ok(id)) {
        sc_seterr(err, errlen, "'%s' is not a stream id (<ms>-<seq>)", id ? id : "");
        return SC_EINVAL;
    }
    argv[0] = "XRANGE";
    argv[1] = sc_queue_dead_stream(q);
    argv[2] = id;
    argv[3] = id;
    if ((st = range(q, argv, 4, &e, &n, err, errlen)) != SC_OK)
        return st;
    if (n == 0) {
        sc_seterr(err, errlen, "no dead letter %s in %s", id, sc_queue_dead_stream(q));
        return SC_ENOTFOUND;
    }
    st = replay_entry(q, &e[0], new_id, err, errlen);
    sc_dead_entries_free(e, n);
    return st;
}

sc_status sc_dead_replay_all(sc_queue *q, int64_t *replayed, int64_t *skipped, char *err,
                             size_t errlen)
{
    char start[SC_QUEUE_IDLEN + 2] = "-";
    const char *argv[6];
    *replayed = *skipped = 0;
    for (;;) {
        sc_dead_entry *e = NULL;
        size_t n = 0;
        sc_status st;
        argv[0] = "XRANGE";
        argv[1] = sc_queue_dead_stream(q);
        argv[2] = start;
        argv[3] = "+";
        argv[4] = "COUNT";
        argv[5] = "100";
        if ((st = range(q, argv, 6, &e, &n, err, errlen)) != SC_OK)
            return st;
        if (n == 0)
            return SC_OK;
        for (size_t i = 0; i < n; i++) {
            if (e[i].payload == NULL || e[i].payload_len == 0) {
                (*skipped)++;
                continue;
            }
            if ((st = replay_entry(q, &e[i], NULL, err, errlen)) != SC_OK) {
                sc_dead_entries_free(e, n);
                return st;
            }
            (*replayed)++;
        }
        snprintf(start, sizeof start, "(%s", e[n - 1].id);
        sc_dead_entries_free(e, n);
    }
}
