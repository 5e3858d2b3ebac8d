/*
 * it_deadletter.c - listing and replaying the dead-letter stream
 * (libscour/deadletter.c) against the real Redis of the stack: entries
 * written by sc_queue_dead_letter come back newest first with reason,
 * source id and payload, page with before_id, replay one puts the payload
 * back on the event stream where a consumer reads it, replay all skips
 * entries without payload, and bad ids are refused without touching Redis.
 * Every test uses its own stream names and deletes them at the end.
 */
#include "testlib.h"

#include "deadletter.h"
#include "queue.h"
#include "redis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static sc_queue *mkq(const char *stream)
{
    sc_queue_opts o;
    char err[SC_ERRLEN] = "";
    sc_queue *q;
    memset(&o, 0, sizeof(o));
    o.redis.host = "127.0.0.1";
    o.redis.port = atoi(t_env("SC_REDIS_PORT"));
    o.stream = stream;
    o.group = "indexers";
    o.consumer = "it";
    o.block_ms = 100;
    q = sc_queue_create(&o, err, sizeof(err));
    if (q == NULL)
        fail_msg("sc_queue_create: %s", err);
    assert_int_equal(sc_queue_ensure_group(q), SC_OK);
    return q;
}

static void drop_q(sc_queue *q)
{
    const char *keys[2] = {sc_queue_stream(q), sc_queue_dead_stream(q)};
    assert_int_equal(sc_redis_del(sc_queue_redis(q), keys, 2, NULL), SC_OK);
    sc_queue_free(q);
}

static void test_list_page_replay(void **state)
{
    char name[64], err[SC_ERRLEN], nid[SC_QUEUE_IDLEN], src[3][SC_QUEUE_IDLEN];
    sc_queue *q = mkq(t_unique(name, sizeof name, "it-dead"));
    sc_dead_entry *e = NULL;
    sc_queue_batch b;
    size_t n = 0;
    int64_t cnt = 0;
    (void)state;
    for (int i = 0; i < 3; i++) {
        char p[32];
        snprintf(p, sizeof p, "{\"n\":%d}", i);
        snprintf(src[i], sizeof src[i], "%d-0", 100 + i);
        assert_int_equal(
            sc_queue_dead_letter(q, src[i], p, strlen(p), i == 1 ? "rejected: 400" : "bad"), SC_OK);
    }
    assert_int_equal(sc_dead_list(q, NULL, 2, &e, &n, err, sizeof err), SC_OK);
    assert_int_equal(n, 2);
    assert_string_equal(e[0].payload, "{\"n\":2}"); /* newest first */
    assert_string_equal(e[0].src_id, "102-0");
    assert_string_equal(e[1].reason, "rejected: 400");
    assert_true(e[1].ts_ms > 0);
    {
        char before[SC_QUEUE_IDLEN], mid[SC_QUEUE_IDLEN];
        snprintf(before, sizeof before, "%s", e[1].id);
        snprintf(mid, sizeof mid, "%s", e[1].id);
        sc_dead_entries_free(e, n);
        assert_int_equal(sc_dead_list(q, before, 10, &e, &n, err, sizeof err), SC_OK);
        assert_int_equal(n, 1);
        assert_string_equal(e[0].payload, "{\"n\":0}");
        sc_dead_entries_free(e, n);
        /* replay the middle one: gone from the dead stream, read by a consumer */
        assert_int_equal(sc_dead_replay(q, mid, nid, err, sizeof err), SC_OK);
        assert_int_equal(sc_queue_dead_count(q, &cnt), SC_OK);
        assert_int_equal(cnt, 2);
        memset(&b, 0, sizeof b);
        assert_int_equal(sc_queue_read(q, 10, 100, &b), SC_OK);
        assert_int_equal(b.n, 1);
        assert_string_equal(b.entries[0].payload, "{\"n\":1}");
        assert_string_equal(b.entries[0].id, nid);
        sc_queue_batch_free(&b);
        /* again: no longer there */
        assert_int_equal(sc_dead_replay(q, mid, nid, err, sizeof err), SC_ENOTFOUND);
        assert_non_null(strstr(err, mid));
    }
    drop_q(q);
}

static void test_replay_all_and_bad_input(void **state)
{
    char name[64], err[SC_ERRLEN];
    sc_queue *q = mkq(t_unique(name, sizeof name, "it-dead-all"));
    sc_dead_entry *e = NULL;
    size_t n = 0;
    int64_t done = 0, skipped = 0, cnt = 0;
    sc_queue_batch b;
    (void)state;
    for (int i = 0; i < 250; i++) {
        char p[32];
        snprintf(p, sizeof p, "{\"n\":%d}", i);
        assert_int_equal(sc_queue_dead_letter(q, "1-1", p, strlen(p), "r"), SC_OK);
    }
    assert_int_equal(sc_queue_dead_letter(q, "1-2", NULL, 0, "no payload"), SC_OK);
    assert_int_equal(sc_dead_replay_all(q, &done, &skipped, err, sizeof err), SC_OK);
    assert_int_equal(done, 250);
    assert_int_equal(skipped, 1);
    assert_int_equal(sc_queue_dead_count(q, &cnt), SC_OK);
    assert_int_equal(cnt, 1); /* the one without payload stays */
    memset(&b, 0, sizeof b);
    assert_int_equal(sc_queue_read(q, 1000, 100, &b), SC_OK);
    assert_int_equal(b.n, 250);
    assert_string_equal(b.entries[0].payload, "{\"n\":0}"); /* oldest first */
    assert_string_equal(b.entries[249].payload, "{\"n\":249}");
    sc_queue_batch_free(&b);
    assert_int_equal(sc_dead_list(q, NULL, 5, &e, &n, err, sizeof err), SC_OK);
    assert_int_equal(n, 1);
    assert_int_equal(e[0].payload_len, 0); /* written with an empty e field */
    assert_int_equal(sc_dead_replay(q, e[0].id, NULL, err, sizeof err), SC_EINVAL);
    sc_dead_entries_free(e, n);
    assert_int_equal(sc_dead_list(q, "x-1", 5, &e, &n, err, sizeof err), SC_EINVAL);
    assert_int_equal(sc_dead_list(q, NULL, 0, &e, &n, err, sizeof err), SC_EINVAL);
    assert_int_equal(sc_dead_replay(q, "1-", NULL, err, sizeof err), SC_EINVAL);
    assert_int_equal(sc_dead_replay(q, "", NULL, err, sizeof err), SC_EINVAL);
    assert_true(sc_dead_id_ok("1700000000000-12"));
    assert_false(sc_dead_id_ok("-1"));
    assert_false(sc_dead_id_ok("1-1-1"));
    drop_q(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_page_replay),
        cmocka_unit_test(test_replay_all_and_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
