/*
 * test_queue.c - unit tests for the stream reply parser
 * (sc_queue_parse_entries) on hand-built RESP2 replies, and for option
 * checking in sc_queue_create / sc_redis_create. No server is contacted.
 */
#include "testlib.h"

#include "queue.h"
#include "redis.h"
#include "sc.h"

#include <stdlib.h>
#include <string.h>

/* Tiny builders for hiredis reply trees on the heap (freed with
 * freeReplyObject, which frees str and element arrays with free()). */
static redisReply *mk(int type)
{
    redisReply *r = calloc(1, sizeof(*r));
    assert_non_null(r);
    r->type = type;
    return r;
}

static redisReply *s(const char *p, size_t n)
{
    redisReply *r = mk(REDIS_REPLY_STRING);
    r->str = malloc(n + 1);
    assert_non_null(r->str);
    memcpy(r->str, p, n);
    r->str[n] = '\0';
    r->len = n;
    return r;
}

static redisReply *z(const char *p) { return s(p, strlen(p)); }

static redisReply *arr(size_t n, ...)
{
    va_list ap;
    redisReply *r = mk(REDIS_REPLY_ARRAY);
    r->elements = n;
    r->element = calloc(n ? n : 1, sizeof(*r->element));
    assert_non_null(r->element);
    va_start(ap, n);
    for (size_t i = 0; i < n; i++)
        r->element[i] = va_arg(ap, redisReply *);
    va_end(ap);
    return r;
}

static void test_parse_entries(void **state)
{
    char err[SC_ERRLEN] = "";
    sc_queue_batch b = {0};
    const char bin[] = {'x', '\0', 'y'};
    redisReply *r = arr(5, arr(2, z("1-0"), arr(2, z("e"), z("{\"a\":1}"))),
                        /* extra fields around "e" are ignored, binary kept */
                        arr(2, z("1-1"), arr(4, z("trace"), z("t"), z("e"), s(bin, sizeof(bin)))),
                        /* deleted pending entry: id with nil fields */
                        arr(2, z("2-0"), mk(REDIS_REPLY_NIL)),
                        /* not ours: no "e" field */
                        arr(2, z("3-0"), arr(2, z("other"), z("v"))),
                        /* a nil entry without id (older XAUTOCLAIM) is skipped */
                        mk(REDIS_REPLY_NIL));
    (void)state;
    assert_int_equal(sc_queue_parse_entries(r, &b, err, sizeof(err)), SC_OK);
    assert_int_equal(b.n, 3);
    assert_string_equal(b.entries[0].id, "1-0");
    assert_int_equal(b.entries[0].len, 7);
    assert_string_equal(b.entries[0].payload, "{\"a\":1}");
    assert_string_equal(b.entries[1].id, "1-1");
    assert_int_equal(b.entries[1].len, 3);
    assert_memory_equal(b.entries[1].payload, bin, 3);
    assert_int_equal(b.entries[1].payload[3], '\0');
    assert_string_equal(b.entries[2].id, "3-0");
    assert_null(b.entries[2].payload);
    assert_int_equal(b.entries[2].len, 0);
    assert_int_equal(b.n_gone, 1);
    assert_string_equal(b.gone[0], "2-0");
    /* the payloads were taken out of the reply, not copied */
    assert_null(r->element[0]->element[1]->element[1]->str);

    /* appending a second reply keeps the first */
    {
        redisReply *r2 = arr(1, arr(2, z("4-0"), arr(2, z("e"), z(""))));
        assert_int_equal(sc_queue_parse_entries(r2, &b, err, sizeof(err)), SC_OK);
        assert_int_equal(b.n, 4);
        assert_string_equal(b.entries[3].id, "4-0");
        assert_int_equal(b.entries[3].len, 0);
        assert_string_equal(b.entries[3].payload, "");
        freeReplyObject(r2);
    }
    freeReplyObject(r);
    sc_queue_batch_free(&b);
    assert_null(b.entries);
    assert_int_equal(b.n, 0);
    sc_queue_batch_free(NULL);
}

static void test_parse_rejects_bad_shapes(void **state)
{
    char err[SC_ERRLEN];
    sc_queue_batch b = {0};
    char longid[64];
    redisReply *bad[5];
    (void)state;
    memset(longid, '7', sizeof(longid) - 1);
    longid[sizeof(longid) - 1] = '\0';
    bad[0] = z("not an array");
    bad[1] = arr(1, arr(1, z("1-0")));                          /* [id] only */
    bad[2] = arr(1, arr(2, z("1-0"), arr(1, z("e"))));          /* odd field list */
    bad[3] = arr(1, arr(2, z(longid), arr(2, z("e"), z("v")))); /* id too long */
    bad[4] = arr(1, arr(2, z("1-0"), arr(2, z("e"), mk(REDIS_REPLY_INTEGER))));
    /* a good entry first: on failure the batch must be left as it was */
    {
        redisReply *good = arr(1, arr(2, z("9-0"), arr(2, z("e"), z("keep"))));
        assert_int_equal(sc_queue_parse_entries(good, &b, err, sizeof(err)), SC_OK);
        freeReplyObject(good);
    }
    for (int i = 0; i < 5; i++) {
        redisReply *mixed = bad[i];
        err[0] = '\0';
        assert_int_equal(sc_queue_parse_entries(mixed, &b, err, sizeof(err)), SC_EPROTO);
        assert_true(err[0] != '\0');
        assert_int_equal(b.n, 1);
        assert_string_equal(b.entries[0].payload, "keep");
        freeReplyObject(mixed);
    }
    /* a failure after a good entry in the same reply rolls that one back */
    {
        redisReply *half = arr(2, arr(2, z("10-0"), arr(2, z("e"), z("a"))), z("junk"));
        assert_int_equal(sc_queue_parse_entries(half, &b, err, sizeof(err)), SC_EPROTO);
        assert_int_equal(b.n, 1);
        assert_int_equal(b.n_gone, 0);
        freeReplyObject(half);
    }
    sc_queue_batch_free(&b);
}

static void test_create_checks_options(void **state)
{
    char err[SC_ERRLEN];
    sc_queue_opts o;
    sc_redis_opts ro;
    sc_queue *q;
    (void)state;
    memset(&o, 0, sizeof(o));
    assert_null(sc_queue_create(NULL, err, sizeof(err)));
    o.stream = "s";
    o.group = "g";
    assert_null(sc_queue_create(&o, err, sizeof(err))); /* no consumer */
    assert_non_null(strstr(err, "consumer"));
    o.consumer = "c";
    o.maxlen = -1;
    assert_null(sc_queue_create(&o, err, sizeof(err)));
    assert_non_null(strstr(err, "maxlen"));
    o.maxlen = 0;
    o.redis.port = 70000;
    assert_null(sc_queue_create(&o, err, sizeof(err)));
    assert_non_null(strstr(err, "port"));
    o.redis.port = 0;
    q = sc_queue_create(&o, err, sizeof(err)); /* defaults; does not connect */
    assert_non_null(q);
    assert_string_equal(sc_queue_stream(q), "s");
    assert_string_equal(sc_queue_dead_stream(q), "s:dead");
    assert_int_equal(sc_redis_command_timeout_ms(sc_queue_redis(q)),
                     SC_REDIS_DEFAULT_COMMAND_TIMEOUT_MS);
    assert_int_equal(sc_redis_connects(sc_queue_redis(q)), 0);
    sc_queue_free(q);
    o.dead_stream = "dlq";
    q = sc_queue_create(&o, err, sizeof(err));
    assert_non_null(q);
    assert_string_equal(sc_queue_dead_stream(q), "dlq");
    sc_queue_free(q);

    memset(&ro, 0, sizeof(ro));
    ro.command_timeout_ms = -5;
    assert_null(sc_redis_create(&ro, err, sizeof(err)));
    assert_non_null(strstr(err, "timeout"));
    sc_redis_free(NULL);
    sc_queue_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_entries),
        cmocka_unit_test(test_parse_rejects_bad_shapes),
        cmocka_unit_test(test_create_checks_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
