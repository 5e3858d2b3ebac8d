/*
 * test_ingest.c - unit tests for the delivery engine (ingest.c) against a
 * fake of its outputs: bindings, clusters (_bulk answers chosen per
 * message), queue ack and dead letters. They cover when an entry is acked,
 * what is sent again after a failure, how a destination whose cluster is
 * down waits without stalling the others, the dead-letter rules, and
 * parking. No server is contacted.
 */
#include "testlib.h"

#include "ingest.h"
#include "sc.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAXID 128  /* message ids used by the tests are < MAXID */
#define MAXREC 256 /* records kept by the fake */

/* The fake outputs and what they saw. */
typedef struct fake {
    /* bindings: channel 1 -> c1/msg, channel 2 -> c2/msg, channel 3 ->
     * moving to c2/msg from c1/msg; after rebind, channel 2 -> c1/msg */
    int rebind;
    int resolve_fail; /* resolve fails this many more times */
    int resolves;     /* resolve calls */
    /* clusters */
    int down[3];             /* down[1]: c1 has no client, down[2]: c2 */
    int ensures;             /* ensure_index calls */
    int status[MAXID];       /* item status for message id, 0 = 201 */
    int fail_times[MAXID];   /* answer 503 for the id this many more times */
    long whole_http;         /* next _bulk fails whole with this status (once) */
    uint64_t sent[MAXREC];   /* message ids of every action sent, in order */
    char sent_to[MAXREC][8]; /* cluster each went to */
    size_t n_sent;
    int bulks; /* _bulk calls */
    /* queue */
    int ack_fail; /* ack fails this many more times */
    char acked[MAXREC][SC_QUEUE_IDLEN];
    size_t n_acked;
    char dead[MAXREC][SC_QUEUE_IDLEN];
    char dead_reason[MAXREC][300];
    size_t n_dead;
    int64_t deliveries;     /* delivery count reported for every id */
    char marks[MAXREC][16]; /* "cluster/index" of every dirty mark written */
    size_t n_marks;
    int mark_calls; /* ack_mark calls */
    int touches;    /* ids touched */
} fake;

static int cluster_no(const char *cluster) { return strcmp(cluster, "c1") == 0 ? 1 : 2; }

static void bind_to(sc_binding *b, uint64_t ch, const char *cluster)
{
    memset(b, 0, sizeof *b);
    b->channel_id = ch;
    snprintf(b->cluster, sizeof b->cluster, "%s", cluster);
    snprintf(b->index, sizeof b->index, "msg");
    b->state = SC_BINDING_ACTIVE;
}

static sc_status f_resolve(void *ctx, const uint64_t *ch, size_t n, sc_binding *out, int *found,
                           char *err, size_t errlen)
{
    fake *f = ctx;
    size_t i;
    f->resolves++;
    if (f->resolve_fail > 0) {
        f->resolve_fail--;
        sc_seterr(err, errlen, "postgres down");
        return SC_ECONN;
    }
    for (i = 0; i < n; i++) {
        found[i] = 1;
        if (ch[i] == 1)
            bind_to(&out[i], 1, "c1");
        else if (ch[i] == 2)
            bind_to(&out[i], 2, f->rebind ? "c1" : "c2");
        else {
            bind_to(&out[i], ch[i], "c2");
            out[i].state = SC_BINDING_MOVING;
            snprintf(out[i].prev_cluster, sizeof out[i].prev_cluster, "c1");
            snprintf(out[i].prev_index, sizeof out[i].prev_index, "msg");
        }
    }
    return SC_OK;
}

static sc_status f_counts(void *ctx, const char *const *ids, size_t n, int64_t *counts)
{
    fake *f = ctx;
    size_t i;
    SC_UNUSED(ids);
    for (i = 0; i < n; i++)
        counts[i] = f->deliveries;
    return SC_OK;
}

static sc_status f_connect(void *ctx, const char *cluster, char *err, size_t errlen)
{
    fake *f = ctx;
    if (f->down[cluster_no(cluster)]) {
        sc_seterr(err, errlen, "cluster %s is not live", cluster);
        return SC_ECONN;
    }
    return SC_OK;
}

static sc_status f_ensure(void *ctx, const char *cluster, const char *index, char *err,
                          size_t errlen)
{
    fake *f = ctx;
    SC_UNUSED(cluster);
    SC_UNUSED(index);
    SC_UNUSED(err);
    SC_UNUSED(errlen);
    f->ensures++;
    return SC_OK;
}

/* Answer a _bulk body: one item per action, status from f->status /
 * f->fail_times, or the whole request failing with f->whole_http. */
static sc_status f_bulk(void *ctx, const char *cluster, const char *body, size_t len, sc_buf *resp,
                        long *http, char *err, size_t errlen)
{
    fake *f = ctx;
    const char *p = body, *end = body + len;
    int first = 1, errors = 0;
    sc_buf items;
    f->bulks++;
    if (f->whole_http != 0) {
        *http = f->whole_http;
        f->whole_http = 0;
        sc_seterr(err, errlen, "HTTP %ld", *http);
        return SC_ERR;
    }
    sc_buf_init(&items, 0);
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *idp = strstr(p, "\"_id\":\"");
        uint64_t id = 0;
        int st;
        assert_non_null(nl);
        assert_true(idp != NULL && idp < nl);
        id = strtoull(idp + 7, NULL, 10);
        assert_true(id < MAXID);
        assert_true(f->n_sent < MAXREC);
        f->sent[f->n_sent] = id;
        snprintf(f->sent_to[f->n_sent++], sizeof f->sent_to[0], "%s", cluster);
        st = f->status[id] != 0 ? f->status[id] : 201;
        if (f->fail_times[id] > 0) {
            f->fail_times[id]--;
            st = 503;
        }
        if (st >= 300)
            errors = 1;
        assert_int_equal(sc_buf_printf(&items,
                                       "%s{\"index\":{\"_index\":\"msg\",\"_id\":\"%" PRIu64 "\","
                                       "\"status\":%d%s}}",
                                       first ? "" : ",", id, st,
                                       st >= 300
                                           ? ",\"error\":{\"type\":\"mapper_parsing_exception\","
                                             "\"reason\":\"bad field\"}"
                                           : ""),
                         SC_OK);
        first = 0;
        nl = memchr(nl + 1, '\n', (size_t)(end - nl - 1)); /* skip the document line */
        assert_non_null(nl);
        p = nl + 1;
    }
    sc_buf_reset(resp);
    assert_int_equal(sc_buf_printf(resp, "{\"took\":1,\"errors\":%s,\"items\":[%s]}",
                                   errors ? "true" : "false", items.data != NULL ? items.data : ""),
                     SC_OK);
    sc_buf_free(&items);
    *http = 200;
    return SC_OK;
}

static sc_status f_ack(void *ctx, const char *const *ids, size_t n, char *err, size_t errlen)
{
    fake *f = ctx;
    size_t i;
    if (f->ack_fail > 0) {
        f->ack_fail--;
        sc_seterr(err, errlen, "redis down");
        return SC_ECONN;
    }
    for (i = 0; i < n; i++) {
        assert_true(f->n_acked < MAXREC);
        snprintf(f->acked[f->n_acked++], SC_QUEUE_IDLEN, "%s", ids[i]);
    }
    return SC_OK;
}

static sc_status f_dead(void *ctx, const char *id, const char *payload, size_t len,
                        const char *reason, char *err, size_t errlen)
{
    fake *f = ctx;
    SC_UNUSED(payload);
    SC_UNUSED(len);
    SC_UNUSED(err);
    SC_UNUSED(errlen);
    assert_true(f->n_dead < MAXREC);
    snprintf(f->dead[f->n_dead], SC_QUEUE_IDLEN, "%s", id);
    snprintf(f->dead_reason[f->n_dead++], sizeof f->dead_reason[0], "%s", reason);
    return SC_OK;
}

static void f_touch(void *ctx, const char *const *ids, size_t n)
{
    fake *f = ctx;
    SC_UNUSED(ids);
    f->touches += (int)n;
}

/* ack_mark: the marks, then the ack (failing together, as one pipeline). */
static sc_status f_ack_mark(void *ctx, const char *const *ids, size_t n, const sc_ingest_mark *m,
                            size_t nm, char *err, size_t errlen)
{
    fake *f = ctx;
    size_t i;
    f->mark_calls++;
    if (f->ack_fail > 0) {
        f->ack_fail--;
        sc_seterr(err, errlen, "redis down");
        return SC_ECONN;
    }
    for (i = 0; i < nm; i++) {
        assert_true(f->n_marks < MAXREC);
        snprintf(f->marks[f->n_marks++], sizeof f->marks[0], "%s/%s", m[i].cluster, m[i].index);
    }
    return n > 0 ? f_ack(ctx, ids, n, err, errlen) : SC_OK;
}

static size_t marks_of(const fake *f, const char *dest)
{
    size_t i, k = 0;
    for (i = 0; i < f->n_marks; i++)
        k += strcmp(f->marks[i], dest) == 0;
    return k;
}

/* An engine over f with small retry times; with marks, the fake also
 * takes the dirty marks with the ack (ack_mark). f and qb are zeroed
 * first: each test starts from nothing. */
static sc_ingest *engine(fake *f, sc_queue_batch *qb, uint64_t inflight_max, int marks)
{
    static sc_ingest_io io;
    sc_ingest_opts o;
    char err[SC_ERRLEN];
    sc_ingest *g;
    memset(f, 0, sizeof *f);
    memset(qb, 0, sizeof *qb);
    io = (sc_ingest_io){.ctx = f,
                        .resolve = f_resolve,
                        .delivery_counts = f_counts,
                        .connect = f_connect,
                        .ensure_index = f_ensure,
                        .bulk = f_bulk,
                        .ack = f_ack,
                        .dead_letter = f_dead,
                        .touch = f_touch,
                        .ack_mark = marks ? f_ack_mark : NULL};
    memset(&o, 0, sizeof o);
    o.io = &io;
    o.name = "test";
    o.batch_count = 100;
    o.batch_bytes = 1u << 20;
    o.retry_base_ms = 10;
    o.retry_max_ms = 40;
    o.max_deliveries = 5;
    o.inflight_max = inflight_max;
    g = sc_ingest_create(&o, err, sizeof err);
    if (g == NULL)
        fail_msg("sc_ingest_create: %s", err);
    return g;
}

/* The payload of a create event of message id in channel ch. */
static char *event(uint64_t id, uint64_t ch)
{
    char buf[400];
    snprintf(buf, sizeof buf,
             "{\"op\":\"create\",\"version\":1,\"message\":{\"id\":\"%" PRIu64
             "\",\"channel_id\":\"%" PRIu64
             "\",\"guild_id\":\"7\",\"author_id\":\"8\",\"content\":\"hello %" PRIu64 "\"}}",
             id, ch, id);
    return strdup(buf);
}

/* Append an entry with stream id "<n>-0" and payload p (taken, may be NULL). */
static void add(sc_queue_batch *qb, int n, char *p)
{
    sc_queue_entry *e;
    qb->entries = realloc(qb->entries, (qb->n + 1) * sizeof *qb->entries);
    assert_non_null(qb->entries);
    e = &qb->entries[qb->n++];
    memset(e, 0, sizeof *e);
    snprintf(e->id, sizeof e->id, "%d-0", n);
    e->payload = p;
    e->len = p != NULL ? strlen(p) : 0;
}

static void take(sc_ingest *g, sc_queue_batch *qb, int check_counts)
{
    sc_ingest_take(g, qb, check_counts);
    sc_queue_batch_free(qb);
    memset(qb, 0, sizeof *qb);
}

/* One loop turn as the worker runs it. */
static void turn(sc_ingest *g)
{
    sc_ingest_flush(g);
    sc_ingest_complete(g);
}

/* Turn until nothing is held or timeout_ms passes. */
static void settle(sc_ingest *g, int timeout_ms)
{
    int64_t end = sc_now_ms() + timeout_ms, next;
    do {
        turn(g);
        if (!sc_ingest_ready(g, &next) && next == INT64_MAX && sc_ingest_entries(g) == 0)
            return;
        usleep(2000);
    } while (sc_now_ms() < end);
}

static int acked(const fake *f, const char *id)
{
    size_t i;
    for (i = 0; i < f->n_acked; i++)
        if (strcmp(f->acked[i], id) == 0)
            return 1;
    return 0;
}

static int times_sent(const fake *f, uint64_t id, const char *cluster)
{
    size_t i;
    int n = 0;
    for (i = 0; i < f->n_sent; i++)
        if (f->sent[i] == id && (cluster == NULL || strcmp(f->sent_to[i], cluster) == 0))
            n++;
    return n;
}

/* ------------------------------------------------------------------ */

/* Refresh on read: a destination that accepted writes is marked once, in
 * the ack's call; one whose cluster is down is not, until it accepts; a
 * failed call keeps the marks for the next one. */
static void test_dirty_marks_with_ack(void **state)
{
    fake f;
    sc_queue_batch qb;
    sc_ingest *g;
    SC_UNUSED(state);
    g = engine(&f, &qb, 1u << 20, 1);
    f.down[2] = 1;
    add(&qb, 1, event(70, 1));
    add(&qb, 2, event(71, 1));
    add(&qb, 3, event(72, 2));
    take(g, &qb, 0);
    turn(g);
    assert_int_equal(marks_of(&f, "c1/msg"), 1); /* one mark for the bulk of two */
    assert_int_equal(marks_of(&f, "c2/msg"), 0); /* nothing written there */
    assert_true(acked(&f, "1-0") && acked(&f, "2-0"));
    /* the ack fails: the mark of the next write is sent again after */
    f.ack_fail = 1;
    add(&qb, 4, event(73, 1));
    take(g, &qb, 0);
    turn(g);
    assert_int_equal(marks_of(&f, "c1/msg"), 1);
    assert_false(acked(&f, "4-0"));
    turn(g);
    assert_int_equal(marks_of(&f, "c1/msg"), 2);
    assert_true(acked(&f, "4-0"));
    f.down[2] = 0;
    settle(g, 2000);
    assert_int_equal(marks_of(&f, "c2/msg"), 1);
    assert_true(acked(&f, "3-0"));
    assert_int_equal(marks_of(&f, "c1/msg"), 2); /* no write, no mark */
    sc_ingest_free(g);
}

/* Accepted (201) and conflicting (409) items are done: acked after the
 * bulk, nothing dead-lettered, one bulk per destination. */
static void test_ack_after_accept_and_conflict(void **state)
{
    fake f;
    sc_queue_batch qb;
    sc_ingest *g;
    SC_UNUSED(state);
    g = engine(&f, &qb, 1u << 20, 0);
    f.status[11] = 409;
    add(&qb, 1, event(10, 1));
    add(&qb, 2, event(11, 1));
    add(&qb, 3, event(12, 2));
    take(g, &qb, 0);
    assert_int_equal(f.n_acked, 0); /* nothing acked before it was sent */
    assert_int_equal(sc_ingest_entries(g), 3);
    turn(g);
    assert_int_equal(f.bulks, 2); /* c1 and c2, never mixed */
    assert_int_equal(f.n_acked, 3);
    assert_true(acked(&f, "1-0") && acked(&f, "2-0") && acked(&f, "3-0"));
    assert_int_equal(f.n_dead, 0);
    assert_int_equal(f.ensures, 2);
    assert_int_equal(sc_ingest_entries(g), 0);
    assert_int_equal(sc_ingest_inflight(g), 0);
    sc_ingest_free(g);
}

/* A 503 item is sent again alone after a backoff; its entry is acked only
 * then, the others at once. A failed XACK leaves entries for the next
 * round. */
static void test_retry_failed_items_alone(void **state)
{
    fake f;
    sc_queue_batch qb;
    sc_ingest *g;
    int64_t next = 0, t0;
    SC_UNUSED(state);
    g = engine(&f, &qb, 1u << 20, 0);
    f.fail_times[21] = 2;
    add(&qb, 1, event(20, 1));
    add(&qb, 2, event(21, 1));
    add(&qb, 3, event(22, 1));
    take(g, &qb, 0);
    t0 = sc_now_ms();
    turn(g);
    assert_int_equal(f.n_acked, 2);
    assert_true(acked(&f, "1-0") && acked(&f, "3-0") && !acked(&f, "2-0"));
    assert_false(sc_ingest_ready(g, &next)); /* backing off */
    assert_true(next >= t0 + 5 && next <= sc_now_ms() + 10);
    turn(g); /* not due yet: nothing sent */
    assert_int_equal(times_sent(&f, 21, NULL), 1);
    f.ack_fail = 1;
    settle(g, 2000);
    assert_int_equal(times_sent(&f, 20, NULL), 1);
    assert_int_equal(times_sent(&f, 22, NULL), 1);
    assert_int_equal(times_sent(&f, 21, NULL), 3); /* two 503s, then accepted */
    assert_true(acked(&f, "2-0"));
    assert_int_equal(f.n_acked, 3);
    assert_int_equal(f.n_dead, 0);
    assert_int_equal(sc_ingest_entries(g), 0);
    sc_ingest_free(g);
}

/* A whole request failing (429) retries every operation of it. */
static void test_whole_bulk_failure_retries_all(void **state)
{
    fake f;
    sc_queue_batch qb;
    sc_ingest *g;
    SC_UNUSED(state);
    g = engine(&f, &qb, 1u << 20, 0);
    f.whole_http = 429;
    add(&qb, 1, event(30, 1));
    add(&qb, 2, event(31, 1));
    take(g, &qb, 0);
    turn(g);
    assert_int_equal(f.n_acked, 0);
    settle(g, 2000);
    assert_int_equal(f.bulks, 2);
    assert_int_equal(times_sent(&f, 30, NULL), 1); /* the failed request recorded nothing */
    assert_int_equal(f.n_acked, 2);
    sc_ingest_free(g);
}

/* c2 is down: its channels wait (no ack, no send), c1's flow and are
 * acked; held entries are touched; when c2 comes back they go through.
 * When the healer re-binds the channel to c1, the waiting operation is
 * re-routed there. */
static void test_down_cluster_stalls_only_its_channels(void **state)
{
    fake f;
    sc_queue_batch qb;
    sc_ingest *g;
    int i;
    SC_UNUSED(state);
    g = engine(&f, &qb, 1u << 20, 0);
    f.down[2] = 1;
    add(&qb, 1, event(40, 2));
    add(&qb, 2, event(41, 1));
    add(&qb, 3, event(42, 2));
    take(g, &qb, 0);
    for (i = 0; i < 5; i++) {
        turn(g);
        usleep(15000);
    }
    assert_true(acked(&f, "2-0"));
    assert_false(acked(&f, "1-0"));
    assert_false(acked(&f, "3-0"));
    assert_int_equal(times_sent(&f, 40, NULL), 0);
    sc_ingest_touch(g);
    assert_int_equal(f.touches, 2); /* the two held entries stay ours */
    /* more c1 traffic keeps flowing while c2 is down */
    add(&qb, 4, event(43, 1));
    take(g, &qb, 0);
    turn(g);
    assert_true(acked(&f, "4-0"));
    f.down[2] = 0;
    settle(g, 2000);
    assert_true(acked(&f, "1-0") && acked(&f, "3-0"));
    assert_int_equal(times_sent(&f, 40, "c2"), 1);

    /* re-bound while down: the operation moves to the new cluster */
    f.down[2] = 1;
    add(&qb, 5, event(44, 2));
    take(g, &qb, 0);
    turn(g);
    assert_false(acked(&f, "5-0"));
    f.rebind = 1;
    settle(g, 2000);
    assert_true(acked(&f, "5-0"));
    assert_int_equal(times_sent(&f, 44, "c1"), 1);
    assert_int_equal(times_sent(&f, 44, "c2"), 0);
    sc_ingest_free(g);
}

/* A channel being moved is written to both copies; its entry is acked
 * only when both accepted. */
static void test_moving_writes_both(void **state)
{
    fake f;
    sc_queue_batch qb;
    sc_ingest *g;
    SC_UNUSED(state);
    g = engine(&f, &qb, 1u << 20, 0);
    f.down[1] = 1; /* the old copy's cluster is down */
    add(&qb, 1, event(50, 3));
    take(g, &qb, 0);
    turn(g);
    assert_int_equal(times_sent(&f, 50, "c2"), 1);
    assert_false(acked(&f, "1-0"));
    f.down[1] = 0;
    settle(g, 2000);
    assert_int_equal(times_sent(&f, 50, "c1"), 1);
    assert_true(acked(&f, "1-0"));
    sc_ingest_free(g);
}

/* Poison entries (no payload, malformed, rejected with a 4xx) are
 * dead-lettered with their reason, then acked; good ones are unaffected. */
static void test_dead_letter_poison(void **state)
{
    fake f;
    sc_queue_batch qb;
    sc_ingest *g;
    size_t i;
    SC_UNUSED(state);
    g = engine(&f, &qb, 1u << 20, 0);
    f.status[61] = 400;
    add(&qb, 1, NULL);
    add(&qb, 2, strdup("{\"op\":\"create\",\"version\":1,\"message\":{\"id\":\"x\"}}"));
    add(&qb, 3, event(60, 1));
    add(&qb, 4, event(61, 1));
    take(g, &qb, 0);
    turn(g);
    assert_int_equal(f.n_dead, 3);
    assert_int_equal(f.n_acked, 4);
    for (i = 0; i < f.n_dead; i++) {
        if (strcmp(f.dead[i], "1-0") == 0)
            assert_non_null(strstr(f.dead_reason[i], "no 'e' field"));
        else if (strcmp(f.dead[i], "2-0") == 0)
            assert_non_null(strstr(f.dead_reason[i], "malformed event"));
        else if (strcmp(f.dead[i], "4-0") == 0)
            assert_non_null(
                strstr(f.dead_reason[i], "rejected by c1/msg: 400 mapper_parsing_exception"));
        else
            fail_msg("dead-lettered %s", f.dead[i]);
    }
    assert_int_equal(times_sent(&f, 60, NULL), 1);
    assert_int_equal(times_sent(&f, 61, NULL), 1); /* never retried */
    sc_ingest_free(g);
}

/* Entries read again (pending/claimed) that were delivered more than
 * max_deliveries times are dead-lettered without being sent; with fewer
 * deliveries they are processed. */
static void test_delivery_cap(void **state)
{
    fake f;
    sc_queue_batch qb;
    sc_ingest *g;
    SC_UNUSED(state);
    g = engine(&f, &qb, 1u << 20, 0);
    f.deliveries = 6;
    add(&qb, 1, event(70, 1));
    take(g, &qb, 1);
    turn(g);
    assert_int_equal(f.n_dead, 1);
    assert_non_null(strstr(f.dead_reason[0], "delivered 6 times, more than max_deliveries"));
    assert_true(acked(&f, "1-0"));
    assert_int_equal(times_sent(&f, 70, NULL), 0);
    f.deliveries = 5;
    add(&qb, 2, event(71, 1));
    take(g, &qb, 1);
    turn(g);
    assert_int_equal(f.n_dead, 1);
    assert_int_equal(times_sent(&f, 71, NULL), 1);
    sc_ingest_free(g);
}

/* In-flight full while a cluster is down: the oldest held entries are
 * parked (forgotten, not acked, not sent) until held bytes fall under 3/4;
 * an entry read again is not filtered as known once parked. */
static void test_park_oldest(void **state)
{
    fake f;
    sc_queue_batch qb;
    sc_ingest *g;
    uint64_t limit;
    char *p = event(80, 2);
    SC_UNUSED(state);
    limit = 4 * strlen(p) - 1; /* four entries overflow it */
    free(p);
    g = engine(&f, &qb, limit, 0);
    f.down[2] = 1;
    add(&qb, 1, event(80, 2));
    add(&qb, 2, event(81, 2));
    add(&qb, 3, event(82, 2));
    add(&qb, 4, event(83, 2));
    take(g, &qb, 0);
    turn(g);
    assert_true(sc_ingest_inflight(g) > limit);
    sc_ingest_park_oldest(g);
    assert_true(sc_ingest_inflight(g) <= limit * 3 / 4);
    f.down[2] = 0;
    settle(g, 2000);
    assert_int_equal(f.n_acked, 2); /* the two newest */
    assert_false(acked(&f, "1-0"));
    assert_false(acked(&f, "2-0"));
    assert_true(acked(&f, "3-0") && acked(&f, "4-0"));
    assert_int_equal(times_sent(&f, 80, NULL), 0);
    assert_int_equal(sc_ingest_entries(g), 0);
    /* redelivered later, a parked entry is taken again and delivered */
    add(&qb, 1, event(80, 2));
    sc_ingest_filter_known(g, &qb, NULL);
    assert_int_equal(qb.n, 1);
    take(g, &qb, 1);
    settle(g, 2000);
    assert_true(acked(&f, "1-0"));
    sc_ingest_free(g);
}

/* Bindings that cannot be resolved are retried with backoff. */
static void test_resolve_retries(void **state)
{
    fake f;
    sc_queue_batch qb;
    sc_ingest *g;
    SC_UNUSED(state);
    g = engine(&f, &qb, 1u << 20, 0);
    f.resolve_fail = 2;
    add(&qb, 1, event(90, 1));
    take(g, &qb, 0);
    assert_int_equal(f.resolves, 3);
    turn(g);
    assert_true(acked(&f, "1-0"));
    sc_ingest_free(g);
}

/* Already-held ids and ids at or before a cursor are filtered out; bad
 * options are refused. */
static void test_filter_and_options(void **state)
{
    fake f;
    sc_queue_batch qb;
    sc_ingest *g;
    sc_ingest_opts o;
    char err[SC_ERRLEN];
    SC_UNUSED(state);
    g = engine(&f, &qb, 1u << 20, 0);
    f.down[1] = 1;
    add(&qb, 5, event(1, 1));
    take(g, &qb, 0);
    add(&qb, 3, event(2, 1));
    add(&qb, 5, event(1, 1));
    add(&qb, 7, event(3, 1));
    sc_ingest_filter_known(g, &qb, "4-0");
    assert_int_equal(qb.n, 1);
    assert_string_equal(qb.entries[0].id, "7-0");
    sc_queue_batch_free(&qb);
    assert_int_equal(sc_ingest_id_cmp("10-0", "9-5"), 1);
    assert_int_equal(sc_ingest_id_cmp("9-5", "9-5"), 0);
    assert_int_equal(sc_ingest_id_cmp("9-4", "9-5"), -1);
    sc_ingest_free(g); /* still holding one entry: freed, not acked */
    assert_int_equal(f.n_acked, 0);
    memset(&o, 0, sizeof o);
    assert_null(sc_ingest_create(&o, err, sizeof err));
    assert_non_null(strstr(err, "required"));
    sc_ingest_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ack_after_accept_and_conflict),
        cmocka_unit_test(test_dirty_marks_with_ack),
        cmocka_unit_test(test_retry_failed_items_alone),
        cmocka_unit_test(test_whole_bulk_failure_retries_all),
        cmocka_unit_test(test_down_cluster_stalls_only_its_channels),
        cmocka_unit_test(test_moving_writes_both),
        cmocka_unit_test(test_dead_letter_poison),
        cmocka_unit_test(test_delivery_cap),
        cmocka_unit_test(test_park_oldest),
        cmocka_unit_test(test_resolve_retries),
        cmocka_unit_test(test_filter_and_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
