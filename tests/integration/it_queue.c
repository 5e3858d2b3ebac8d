/*
 * it_queue.c - the event stream and the Redis helpers against the real
 * Redis of the stack: publish/read/ack, pending entries, a consumer killed
 * with SIGKILL and its entries reclaimed, delivery counts, dead letters,
 * pipelined publish order, trimmed pending entries, durability across a
 * Redis restart (AOF), and no hang on an unreachable or silent server.
 * Every test uses its own stream names and deletes them at the end.
 * Destructive: test_redis_restart restarts Redis (t_stack("redis-restart")).
 */
#include "testlib.h"

#include "queue.h"
#include "redis.h"
#include "sc.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static sc_redis_opts redis_opts(int cmd_timeout_ms)
{
    sc_redis_opts o;
    memset(&o, 0, sizeof(o));
    o.host = t_env_opt("SC_REDIS_HOST") ? t_env("SC_REDIS_HOST") : "127.0.0.1";
    o.port = atoi(t_env("SC_REDIS_PORT"));
    o.connect_timeout_ms = 1000;
    o.command_timeout_ms = cmd_timeout_ms;
    return o;
}

static sc_queue *mkq(const char *stream, const char *consumer, int cmd_timeout_ms)
{
    sc_queue_opts o;
    char err[SC_ERRLEN] = "";
    sc_queue *q;
    memset(&o, 0, sizeof(o));
    o.redis = redis_opts(cmd_timeout_ms);
    o.stream = stream;
    o.group = "indexers";
    o.consumer = consumer;
    o.block_ms = 200;
    q = sc_queue_create(&o, err, sizeof(err));
    if (q == NULL)
        fail_msg("sc_queue_create: %s", err);
    return q;
}

/* Delete the stream and its dead-letter stream, then free the handle. */
static void drop_q(sc_queue *q)
{
    const char *keys[2] = {sc_queue_stream(q), sc_queue_dead_stream(q)};
    assert_int_equal(sc_redis_del(sc_queue_redis(q), keys, 2, NULL), SC_OK);
    sc_queue_free(q);
}

#define OK(q, expr)                                                                  \
    do {                                                                             \
        sc_status st_ = (expr);                                                      \
        if (st_ != SC_OK)                                                            \
            fail_msg("%s -> %s: %s", #expr, sc_status_str(st_), sc_queue_errstr(q)); \
    } while (0)

static void test_publish_read_ack(void **state)
{
    char stream[64], ids[3][SC_QUEUE_IDLEN];
    const char bin[] = {'a', '\0', 'b', '\n', 'c'}; /* payload bytes are kept whole */
    const void *payloads[3] = {"{\"op\":\"create\"}", bin, ""};
    size_t lens[3] = {15, sizeof(bin), 0};
    const char *ackids[3];
    sc_queue_batch b = {0};
    int64_t lag = -7, pending = -7, acked = 0;
    sc_queue *q;
    (void)state;
    q = mkq(t_unique(stream, sizeof(stream), "itq-basic"), "w1", 0);
    OK(q, sc_queue_ensure_group(q));
    OK(q, sc_queue_ensure_group(q)); /* BUSYGROUP is fine */
    for (int i = 0; i < 3; i++)
        OK(q, sc_queue_publish(q, payloads[i], lens[i], ids[i]));
    OK(q, sc_queue_lag(q, &lag, &pending));
    assert_int_equal(lag, 3);
    assert_int_equal(pending, 0);

    OK(q, sc_queue_read(q, 10, 0, &b));
    assert_int_equal(b.n, 3);
    assert_int_equal(b.n_gone, 0);
    for (int i = 0; i < 3; i++) {
        assert_string_equal(b.entries[i].id, ids[i]);
        assert_int_equal(b.entries[i].len, lens[i]);
        assert_non_null(b.entries[i].payload);
        assert_memory_equal(b.entries[i].payload, payloads[i], lens[i]);
        ackids[i] = b.entries[i].id;
    }
    OK(q, sc_queue_lag(q, &lag, &pending));
    assert_int_equal(lag, 0);
    assert_int_equal(pending, 3);

    OK(q, sc_queue_ack(q, ackids, 3, &acked));
    assert_int_equal(acked, 3);
    OK(q, sc_queue_ack(q, ackids, 3, &acked)); /* acking twice is harmless */
    assert_int_equal(acked, 0);
    OK(q, sc_queue_lag(q, &lag, &pending));
    assert_int_equal(pending, 0);
    sc_queue_batch_free(&b);

    /* nothing new: a blocking read returns empty after about BLOCK */
    {
        int64_t t0 = sc_now_ms();
        OK(q, sc_queue_read(q, 10, 150, &b));
        assert_int_equal(b.n, 0);
        assert_true(sc_now_ms() - t0 >= 140);
    }
    drop_q(q);
}

/* BLOCK longer than the command timeout must not be taken for a dead server,
 * and an entry published during the wait wakes the reader. */
static void test_block_longer_than_timeout(void **state)
{
    char stream[64];
    sc_queue_batch b = {0};
    sc_queue *q;
    int64_t t0;
    (void)state;
    t_unique(stream, sizeof(stream), "itq-block");
    q = mkq(stream, "w1", 200);
    OK(q, sc_queue_ensure_group(q));
    t0 = sc_now_ms();
    OK(q, sc_queue_read(q, 10, 700, &b));
    assert_int_equal(b.n, 0);
    assert_true(sc_now_ms() - t0 >= 650);
    assert_int_equal(sc_redis_connects(sc_queue_redis(q)), 1); /* no reconnect happened */

    /* a producer in a child process publishes while the parent is blocked */
    {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            sc_queue *c;
            int rc;
            usleep(300 * 1000);
            c = mkq(stream, "producer", 0);
            rc = sc_queue_publish(c, "late", 4, NULL) == SC_OK ? 0 : 1;
            sc_queue_free(c);
            _exit(rc);
        }
        t0 = sc_now_ms();
        OK(q, sc_queue_read(q, 10, 3000, &b));
        assert_int_equal(b.n, 1);
        assert_memory_equal(b.entries[0].payload, "late", 4);
        assert_true(sc_now_ms() - t0 < 2500);
        {
            int ws = 0;
            assert_int_equal(waitpid(pid, &ws, 0), pid);
            assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
        }
    }
    sc_queue_batch_free(&b);
    drop_q(q);
}

static void test_unacked_stay_pending(void **state)
{
    char stream[64], ids[2][SC_QUEUE_IDLEN];
    sc_queue_batch b = {0};
    sc_queue *q, *q2;
    int64_t pending = 0;
    const char *ackids[2];
    (void)state;
    t_unique(stream, sizeof(stream), "itq-pending");
    q = mkq(stream, "w1", 0);
    OK(q, sc_queue_ensure_group(q));
    OK(q, sc_queue_publish(q, "one", 3, ids[0]));
    OK(q, sc_queue_publish(q, "two", 3, ids[1]));
    OK(q, sc_queue_read(q, 10, 0, &b));
    assert_int_equal(b.n, 2);
    /* not acked: no new entries for the group, but both stay pending */
    OK(q, sc_queue_read(q, 10, 0, &b));
    assert_int_equal(b.n, 0);
    OK(q, sc_queue_lag(q, NULL, &pending));
    assert_int_equal(pending, 2);

    /* the same consumer after a "restart" (new handle) finds them */
    q2 = mkq(stream, "w1", 0);
    OK(q2, sc_queue_read_pending(q2, 10, &b));
    assert_int_equal(b.n, 2);
    assert_string_equal(b.entries[0].id, ids[0]);
    assert_string_equal(b.entries[1].id, ids[1]);
    assert_memory_equal(b.entries[1].payload, "two", 3);
    /* another consumer's pending list is its own */
    {
        sc_queue *other = mkq(stream, "w2", 0);
        sc_queue_batch ob = {0};
        OK(other, sc_queue_read_pending(other, 10, &ob));
        assert_int_equal(ob.n, 0);
        sc_queue_free(other);
    }
    /* after acking the first, only the second is pending */
    ackids[0] = ids[0];
    OK(q2, sc_queue_ack(q2, ackids, 1, NULL));
    OK(q2, sc_queue_read_pending(q2, 10, &b));
    assert_int_equal(b.n, 1);
    assert_string_equal(b.entries[0].id, ids[1]);
    ackids[1] = ids[1];
    OK(q2, sc_queue_ack(q2, ackids + 1, 1, NULL));
    OK(q2, sc_queue_read_pending(q2, 10, &b));
    assert_int_equal(b.n, 0);
    sc_queue_batch_free(&b);
    sc_queue_free(q2);
    drop_q(q);
}

#define VICTIM_N 5

static void test_killed_consumer_reclaimed(void **state)
{
    char stream[64], ids[VICTIM_N + 2][SC_QUEUE_IDLEN], cursor[SC_QUEUE_IDLEN];
    const char *idp[VICTIM_N];
    int64_t counts[VICTIM_N], pending = -1, acked = 0;
    sc_queue_batch b = {0};
    sc_queue *q;
    int pfd[2];
    pid_t pid;
    char got = 0;
    (void)state;
    t_unique(stream, sizeof(stream), "itq-victim");
    q = mkq(stream, "rescuer", 0);
    OK(q, sc_queue_ensure_group(q));
    for (int i = 0; i < VICTIM_N + 2; i++) {
        char p[32];
        int n = snprintf(p, sizeof(p), "event-%d", i);
        OK(q, sc_queue_publish(q, p, (size_t)n, ids[i]));
    }
    assert_int_equal(pipe(pfd), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* the victim: its own connection, reads N, never acks */
        sc_queue *v;
        sc_queue_batch vb = {0};
        char n;
        close(pfd[0]);
        v = mkq(stream, "victim", 0);
        n = sc_queue_read(v, VICTIM_N, 0, &vb) == SC_OK ? (char)vb.n : (char)-1;
        if (write(pfd[1], &n, 1) != 1)
            _exit(2);
        for (;;)
            pause();
    }
    close(pfd[1]);
    assert_int_equal(read(pfd[0], &got, 1), 1);
    close(pfd[0]);
    assert_int_equal(kill(pid, SIGKILL), 0);
    {
        int ws = 0;
        assert_int_equal(waitpid(pid, &ws, 0), pid);
        assert_true(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL);
    }
    assert_int_equal(got, VICTIM_N);
    OK(q, sc_queue_lag(q, NULL, &pending));
    assert_int_equal(pending, VICTIM_N);
    for (int i = 0; i < VICTIM_N; i++)
        idp[i] = ids[i];
    OK(q, sc_queue_delivery_counts(q, idp, VICTIM_N, counts));
    for (int i = 0; i < VICTIM_N; i++)
        assert_int_equal(counts[i], 1);

    /* not idle long enough yet: nothing is claimed */
    snprintf(cursor, sizeof(cursor), "0-0");
    OK(q, sc_queue_autoclaim(q, 5000, 100, cursor, &b));
    assert_int_equal(b.n, 0);

    usleep(400 * 1000);
    snprintf(cursor, sizeof(cursor), "0-0");
    OK(q, sc_queue_autoclaim(q, 300, 100, cursor, &b));
    assert_string_equal(cursor, "0-0"); /* whole pending list scanned */
    assert_int_equal(b.n, VICTIM_N);
    assert_int_equal(b.n_gone, 0);
    for (int i = 0; i < VICTIM_N; i++) {
        char p[32];
        int n = snprintf(p, sizeof(p), "event-%d", i);
        assert_string_equal(b.entries[i].id, ids[i]);
        assert_int_equal(b.entries[i].len, n);
        assert_memory_equal(b.entries[i].payload, p, (size_t)n);
    }
    OK(q, sc_queue_delivery_counts(q, idp, VICTIM_N, counts));
    for (int i = 0; i < VICTIM_N; i++)
        assert_int_equal(counts[i], 2);
    /* claimed entries now belong to the rescuer */
    {
        sc_queue_batch pb = {0};
        OK(q, sc_queue_read_pending(q, 100, &pb));
        assert_int_equal(pb.n, VICTIM_N);
        sc_queue_batch_free(&pb);
    }
    OK(q, sc_queue_ack(q, idp, VICTIM_N, &acked));
    assert_int_equal(acked, VICTIM_N);
    OK(q, sc_queue_lag(q, NULL, &pending));
    assert_int_equal(pending, 0);
    OK(q, sc_queue_delivery_counts(q, idp, VICTIM_N, counts));
    assert_int_equal(counts[0], 0); /* no longer pending */
    /* the two entries the victim never read are still there for the group */
    OK(q, sc_queue_read(q, 10, 0, &b));
    assert_int_equal(b.n, 2);
    assert_string_equal(b.entries[0].id, ids[VICTIM_N]);
    sc_queue_batch_free(&b);
    drop_q(q);
}

static void test_dead_letter(void **state)
{
    char stream[64], id[SC_QUEUE_IDLEN];
    const char *argv[4];
    const char *ackid;
    redisReply *r = NULL;
    sc_queue_batch b = {0};
    int64_t n = -1;
    int64_t before = sc_wall_ms();
    sc_queue *q;
    int seen = 0;
    (void)state;
    q = mkq(t_unique(stream, sizeof(stream), "itq-dead"), "w1", 0);
    OK(q, sc_queue_ensure_group(q));
    OK(q, sc_queue_dead_count(q, &n));
    assert_int_equal(n, 0);
    OK(q, sc_queue_publish(q, "{not json", 9, id));
    OK(q, sc_queue_read(q, 10, 0, &b));
    assert_int_equal(b.n, 1);
    OK(q, sc_queue_dead_letter(q, b.entries[0].id, b.entries[0].payload, b.entries[0].len,
                               "parse: unexpected end of input"));
    ackid = b.entries[0].id;
    OK(q, sc_queue_ack(q, &ackid, 1, NULL));
    OK(q, sc_queue_dead_count(q, &n));
    assert_int_equal(n, 1);

    argv[0] = "XRANGE";
    argv[1] = sc_queue_dead_stream(q);
    argv[2] = "-";
    argv[3] = "+";
    assert_int_equal(sc_redis_command_argv(sc_queue_redis(q), 4, argv, NULL, &r), SC_OK);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 1);
    {
        const redisReply *f = r->element[0]->element[1];
        assert_int_equal(f->elements, 8);
        for (size_t k = 0; k + 1 < f->elements; k += 2) {
            const char *key = f->element[k]->str, *v = f->element[k + 1]->str;
            if (strcmp(key, "e") == 0) {
                assert_string_equal(v, "{not json");
                seen |= 1;
            } else if (strcmp(key, "reason") == 0) {
                assert_string_equal(v, "parse: unexpected end of input");
                seen |= 2;
            } else if (strcmp(key, "src_id") == 0) {
                assert_string_equal(v, id);
                seen |= 4;
            } else if (strcmp(key, "ts") == 0) {
                long long ts = atoll(v);
                assert_true(ts >= before && ts <= sc_wall_ms());
                seen |= 8;
            }
        }
    }
    assert_int_equal(seen, 15);
    freeReplyObject(r);
    sc_queue_batch_free(&b);
    drop_q(q);
}

#define MANY 300

static void test_publish_many_order(void **state)
{
    char stream[64];
    static char bufs[MANY][32];
    static char ids[MANY][SC_QUEUE_IDLEN];
    const void *payloads[MANY];
    size_t lens[MANY];
    sc_queue_batch b = {0};
    const char *idp[MANY];
    int64_t acked = 0;
    size_t seen = 0;
    sc_queue *q;
    (void)state;
    q = mkq(t_unique(stream, sizeof(stream), "itq-many"), "w1", 0);
    OK(q, sc_queue_ensure_group(q));
    for (int i = 0; i < MANY; i++) {
        lens[i] = (size_t)snprintf(bufs[i], sizeof(bufs[i]), "payload-%04d", i);
        payloads[i] = bufs[i];
    }
    OK(q, sc_queue_publish_many(q, payloads, lens, MANY, ids));
    for (int i = 1; i < MANY; i++) {
        unsigned long long a1, a2, s1, s2;
        assert_int_equal(sscanf(ids[i - 1], "%llu-%llu", &a1, &s1), 2);
        assert_int_equal(sscanf(ids[i], "%llu-%llu", &a2, &s2), 2);
        assert_true(a2 > a1 || (a2 == a1 && s2 > s1));
    }
    /* read in pages of 128: stream order = publish order */
    while (seen < MANY) {
        OK(q, sc_queue_read(q, 128, 0, &b));
        assert_true(b.n > 0);
        for (size_t i = 0; i < b.n; i++, seen++) {
            assert_string_equal(b.entries[i].id, ids[seen]);
            assert_int_equal(b.entries[i].len, lens[seen]);
            assert_memory_equal(b.entries[i].payload, bufs[seen], lens[seen]);
        }
    }
    for (int i = 0; i < MANY; i++)
        idp[i] = ids[i];
    OK(q, sc_queue_ack(q, idp, MANY, &acked));
    assert_int_equal(acked, MANY);
    sc_queue_batch_free(&b);
    drop_q(q);
}

/* Pending entries that were deleted (trimmed) come back as "gone" ids. */
static void test_trimmed_pending(void **state)
{
    char stream[64], ids[3][SC_QUEUE_IDLEN], cursor[SC_QUEUE_IDLEN] = "0-0";
    const char *argv[3];
    redisReply *r = NULL;
    sc_queue_batch b = {0};
    sc_queue *a, *c;
    int64_t pending = -1;
    (void)state;
    t_unique(stream, sizeof(stream), "itq-trim");
    a = mkq(stream, "a", 0);
    c = mkq(stream, "c", 0);
    OK(a, sc_queue_ensure_group(a));
    for (int i = 0; i < 3; i++)
        OK(a, sc_queue_publish(a, "x", 1, ids[i]));
    OK(a, sc_queue_read(a, 10, 0, &b));
    assert_int_equal(b.n, 3);
    argv[0] = "XDEL";
    argv[1] = stream;
    argv[2] = ids[1];
    assert_int_equal(sc_redis_command_argv(sc_queue_redis(a), 3, argv, NULL, &r), SC_OK);
    assert_int_equal(r->integer, 1);
    freeReplyObject(r);

    /* the owner reading its pending list: 2 entries, 1 gone (and acked) */
    OK(a, sc_queue_read_pending(a, 10, &b));
    assert_int_equal(b.n, 2);
    assert_int_equal(b.n_gone, 1);
    assert_string_equal(b.gone[0], ids[1]);
    OK(a, sc_queue_lag(a, NULL, &pending));
    assert_int_equal(pending, 2);

    /* delete another and let a second consumer claim: Redis 7 reports it */
    argv[2] = ids[2];
    assert_int_equal(sc_redis_command_argv(sc_queue_redis(a), 3, argv, NULL, &r), SC_OK);
    freeReplyObject(r);
    usleep(150 * 1000);
    OK(c, sc_queue_autoclaim(c, 100, 10, cursor, &b));
    assert_int_equal(b.n, 1);
    assert_string_equal(b.entries[0].id, ids[0]);
    assert_int_equal(b.n_gone, 1);
    assert_string_equal(b.gone[0], ids[2]);
    OK(c, sc_queue_lag(c, NULL, &pending));
    assert_int_equal(pending, 1);
    {
        const char *idp = ids[0];
        OK(c, sc_queue_ack(c, &idp, 1, NULL));
    }
    sc_queue_batch_free(&b);
    sc_queue_free(c);
    drop_q(a);
}

/* Entries and their pending state survive a Redis restart (AOF), and the
 * handle reconnects by itself - even for a non-idempotent first command. */
static void test_redis_restart(void **state)
{
    char stream[64], ids[3][SC_QUEUE_IDLEN], id4[SC_QUEUE_IDLEN];
    sc_queue_batch b = {0};
    const char *idp[4];
    int64_t pending = -1, acked = 0;
    sc_queue *q;
    (void)state;
    q = mkq(t_unique(stream, sizeof(stream), "itq-restart"), "w1", 0);
    OK(q, sc_queue_ensure_group(q));
    for (int i = 0; i < 3; i++)
        OK(q, sc_queue_publish(q, "durable", 7, ids[i]));
    OK(q, sc_queue_read(q, 10, 0, &b));
    assert_int_equal(b.n, 3);
    assert_int_equal(sc_redis_connects(sc_queue_redis(q)), 1);
    usleep(1200 * 1000); /* appendfsync everysec */
    t_stack("redis-restart");

    /* first command after the restart is an XADD: sent on a fresh connection */
    OK(q, sc_queue_publish(q, "after", 5, id4));
    assert_int_equal(sc_redis_connects(sc_queue_redis(q)), 2);
    OK(q, sc_queue_read_pending(q, 10, &b));
    assert_int_equal(b.n, 3);
    for (int i = 0; i < 3; i++) {
        assert_string_equal(b.entries[i].id, ids[i]);
        assert_memory_equal(b.entries[i].payload, "durable", 7);
    }
    OK(q, sc_queue_lag(q, NULL, &pending));
    assert_int_equal(pending, 3);
    OK(q, sc_queue_read(q, 10, 0, &b));
    assert_int_equal(b.n, 1);
    assert_string_equal(b.entries[0].id, id4);
    for (int i = 0; i < 3; i++)
        idp[i] = ids[i];
    idp[3] = id4;
    OK(q, sc_queue_ack(q, idp, 4, &acked));
    assert_int_equal(acked, 4);
    sc_queue_batch_free(&b);

    /* a second restart while idle: the next (idempotent) call just works */
    t_stack("redis-restart");
    OK(q, sc_queue_lag(q, NULL, &pending));
    assert_int_equal(pending, 0);
    assert_int_equal(sc_redis_connects(sc_queue_redis(q)), 3);
    drop_q(q);
}

/* Kill our connection from outside while a command waits for its reply:
 * an idempotent call is resent on a new connection, any other one fails
 * with SC_ECONN and the next call reconnects. */
static void killer_child(long long client_id)
{
    sc_redis_opts o = redis_opts(0);
    char err[SC_ERRLEN], idbuf[24];
    const char *argv[4] = {"CLIENT", "KILL", "ID", idbuf};
    redisReply *r = NULL;
    sc_redis *k;
    int rc;
    usleep(300 * 1000);
    snprintf(idbuf, sizeof(idbuf), "%lld", client_id);
    k = sc_redis_create(&o, err, sizeof(err));
    rc = (k != NULL && sc_redis_command_argv(k, 4, argv, NULL, &r) == SC_OK) ? 0 : 1;
    if (r != NULL)
        freeReplyObject(r);
    sc_redis_free(k);
    _exit(rc);
}

static void blpop_with_killer(sc_redis *h, const char *key, int flags, sc_status want)
{
    const char *idargv[2] = {"CLIENT", "ID"};
    const char *argv[3] = {"BLPOP", key, "1"};
    redisReply *r = NULL;
    long long cid;
    int ws = 0;
    pid_t pid;
    assert_int_equal(sc_redis_command_argv(h, 2, idargv, NULL, &r), SC_OK);
    cid = r->integer;
    freeReplyObject(r);
    r = NULL;
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        killer_child(cid);
    assert_int_equal(sc_redis_command_argv_ex(h, flags, 3000, 3, argv, NULL, &r), want);
    if (r != NULL) {
        assert_int_equal(r->type, REDIS_REPLY_NIL); /* the resent BLPOP timed out */
        freeReplyObject(r);
    }
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
}

static void test_resend_idempotent(void **state)
{
    sc_redis_opts o = redis_opts(0);
    char err[SC_ERRLEN], key[64];
    sc_redis *h = sc_redis_create(&o, err, sizeof(err));
    (void)state;
    assert_non_null(h);
    t_unique(key, sizeof(key), "itq-blpop");
    blpop_with_killer(h, key, SC_REDIS_IDEMPOTENT, SC_OK);
    assert_int_equal(sc_redis_connects(h), 2);
    blpop_with_killer(h, key, 0, SC_ECONN);
    assert_non_null(strstr(sc_redis_errstr(h), "127.0.0.1"));
    assert_int_equal(sc_redis_ping(h), SC_OK); /* reconnects lazily */
    assert_int_equal(sc_redis_connects(h), 3);
    sc_redis_free(h);
}

static void test_unreachable(void **state)
{
    sc_queue_opts o;
    char err[SC_ERRLEN] = "";
    sc_queue *q;
    int64_t t0;
    sc_status st;
    (void)state;
    memset(&o, 0, sizeof(o));
    o.redis.host = "127.0.0.1";
    o.redis.port = 1;
    o.redis.connect_timeout_ms = 500;
    o.stream = "itq-nowhere";
    o.group = "g";
    o.consumer = "c";
    q = sc_queue_create(&o, err, sizeof(err)); /* lazy: creating does not connect */
    assert_non_null(q);
    t0 = sc_now_ms();
    st = sc_queue_publish(q, "x", 1, NULL);
    assert_int_equal(st, SC_ECONN);
    assert_non_null(strstr(sc_queue_errstr(q), "connect"));
    assert_int_equal(sc_queue_ensure_group(q), SC_ECONN);
    {
        sc_queue_batch b = {0};
        assert_int_equal(sc_queue_read(q, 10, 1000, &b), SC_ECONN);
        assert_int_equal(b.n, 0);
    }
    assert_int_equal(sc_redis_ping(sc_queue_redis(q)), SC_ECONN);
    assert_true(sc_now_ms() - t0 < 1000);
    sc_queue_free(q);

    /* bad options are refused at create */
    memset(&o, 0, sizeof(o));
    o.stream = "s";
    o.group = "g";
    assert_null(sc_queue_create(&o, err, sizeof(err)));
    assert_non_null(strstr(err, "consumer"));
    sc_queue_free(NULL);
    sc_redis_free(NULL);
}

/* A server that accepts but never answers: the command times out. */
static void test_silent_server_times_out(void **state)
{
    struct sockaddr_in sa;
    socklen_t sl = sizeof(sa);
    sc_redis_opts o;
    char err[SC_ERRLEN];
    sc_redis *h;
    int64_t t0;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    (void)state;
    assert_true(fd >= 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(fd, 8), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    memset(&o, 0, sizeof(o));
    o.host = "127.0.0.1";
    o.port = ntohs(sa.sin_port);
    o.command_timeout_ms = 300;
    h = sc_redis_create(&o, err, sizeof(err));
    assert_non_null(h);
    t0 = sc_now_ms();
    assert_int_equal(sc_redis_ping(h), SC_ETIMEOUT);
    assert_true(sc_now_ms() - t0 >= 250);
    assert_true(sc_now_ms() - t0 < 1500);
    assert_non_null(strstr(sc_redis_errstr(h), "300 ms"));
    sc_redis_free(h);
    close(fd);
}

static void test_redis_helpers(void **state)
{
    char k1[64], k2[64], k3[64], z[64];
    const char *keys[3], *vals[2];
    char *got[3];
    sc_redis_opts o = redis_opts(0);
    char err[SC_ERRLEN];
    sc_redis_zentry *ze = NULL;
    size_t zn = 0;
    double score = 0;
    int64_t deleted = 0;
    redisReply *r = NULL;
    sc_redis *h = sc_redis_create(&o, err, sizeof(err));
    (void)state;
    assert_non_null(h);
    assert_int_equal(sc_redis_ping(h), SC_OK);
    keys[0] = t_unique(k1, sizeof(k1), "itq-k");
    keys[1] = t_unique(k2, sizeof(k2), "itq-k");
    keys[2] = t_unique(k3, sizeof(k3), "itq-k");
    vals[0] = "cluster-a";
    vals[1] = "cluster-b";
    assert_int_equal(sc_redis_set(h, keys[0], vals[0], 0), SC_OK);
    assert_int_equal(sc_redis_set_many(h, keys + 1, vals + 1, 1, 60), SC_OK);
    assert_int_equal(sc_redis_mget(h, keys, 3, got), SC_OK);
    assert_string_equal(got[0], "cluster-a");
    assert_string_equal(got[1], "cluster-b");
    assert_null(got[2]);
    free(got[0]);
    free(got[1]);
    {
        const char *argv[2] = {"TTL", keys[1]};
        assert_int_equal(sc_redis_command_argv(h, 2, argv, NULL, &r), SC_OK);
        assert_true(r->integer > 50 && r->integer <= 60);
        freeReplyObject(r);
        argv[0] = "TTL";
        argv[1] = keys[0];
        assert_int_equal(sc_redis_command_argv(h, 2, argv, NULL, &r), SC_OK);
        assert_int_equal(r->integer, -1);
        freeReplyObject(r);
    }
    /* an error reply: SC_ERR, text in errstr, no reply object */
    {
        const char *argv[2] = {"ZINCRBY", keys[0]};
        assert_int_equal(sc_redis_command_argv(h, 2, argv, NULL, &r), SC_ERR);
        assert_null(r);
        assert_non_null(strstr(sc_redis_errstr(h), "ERR"));
    }

    t_unique(z, sizeof(z), "itq-load");
    assert_int_equal(sc_redis_zadd(h, z, "c1", 10), SC_OK);
    assert_int_equal(sc_redis_zadd(h, z, "c2", 5), SC_OK);
    assert_int_equal(sc_redis_zadd(h, z, "c3", 7.5), SC_OK);
    assert_int_equal(sc_redis_zincrby(h, z, "c2", 4.25, &score), SC_OK);
    assert_true(score == 9.25);
    assert_int_equal(sc_redis_zincrby(h, z, "c4", 1, NULL), SC_OK);
    assert_int_equal(sc_redis_zrange_withscores(h, z, 0, -1, &ze, &zn), SC_OK);
    assert_int_equal(zn, 4);
    assert_string_equal(ze[0].member, "c4");
    assert_true(ze[0].score == 1);
    assert_string_equal(ze[1].member, "c3");
    assert_string_equal(ze[2].member, "c2");
    assert_true(ze[2].score == 9.25);
    assert_string_equal(ze[3].member, "c1");
    sc_redis_zentries_free(ze, zn);
    assert_int_equal(sc_redis_zrange_withscores(h, "itq-no-such-zset", 0, -1, &ze, &zn), SC_OK);
    assert_int_equal(zn, 0);
    assert_null(ze);

    {
        const char *all[4] = {keys[0], keys[1], keys[2], z};
        assert_int_equal(sc_redis_del(h, all, 4, &deleted), SC_OK);
        assert_int_equal(deleted, 3);
    }
    assert_int_equal(sc_redis_connects(h), 1);
    sc_redis_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_publish_read_ack),
        cmocka_unit_test(test_block_longer_than_timeout),
        cmocka_unit_test(test_unacked_stay_pending),
        cmocka_unit_test(test_killed_consumer_reclaimed),
        cmocka_unit_test(test_dead_letter),
        cmocka_unit_test(test_publish_many_order),
        cmocka_unit_test(test_trimmed_pending),
        cmocka_unit_test(test_redis_restart),
        cmocka_unit_test(test_resend_idempotent),
        cmocka_unit_test(test_unreachable),
        cmocka_unit_test(test_silent_server_times_out),
        cmocka_unit_test(test_redis_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
