/*
 * test_sc.c - unit tests of libscour/sc.c: sc_utf8_valid, the one UTF-8
 * check that event parsing (event.c) and query parameters (query.c)
 * share; buf.c's sc_buf_read_file, the one whole-file reader of the
 * programs and tools; and the state name tables of states.c. No stack
 * needed.
 */
#include "buf.h"
#include "sc.h"
#include "states.h"
#include "testlib.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int valid(const char *s) { return sc_utf8_valid(s, strlen(s)); }

static void test_utf8_accepts(void **state)
{
    (void)state;
    assert_true(sc_utf8_valid(NULL, 0));
    assert_true(valid(""));
    assert_true(valid("plain ascii"));
    assert_true(valid("caf\xc3\xa9"));      /* U+00E9, 2 bytes */
    assert_true(valid("\xe2\x82\xac"));     /* U+20AC, 3 bytes */
    assert_true(valid("\xf0\x9f\x98\x80")); /* U+1F600, 4 bytes */
    assert_true(valid("\xc2\x80"));         /* U+0080, smallest 2-byte */
    assert_true(valid("\xe0\xa0\x80"));     /* U+0800, smallest 3-byte */
    assert_true(valid("\xed\x9f\xbf"));     /* U+D7FF, below surrogates */
    assert_true(valid("\xee\x80\x80"));     /* U+E000, above surrogates */
    assert_true(valid("\xef\xbf\xbf"));     /* U+FFFF */
    assert_true(valid("\xf0\x90\x80\x80")); /* U+10000, smallest 4-byte */
    assert_true(valid("\xf4\x8f\xbf\xbf")); /* U+10FFFF, the last */
    assert_true(sc_utf8_valid("a\0b", 3));  /* NUL is a character */
}

static void test_utf8_rejects(void **state)
{
    (void)state;
    assert_false(valid("\x80")); /* lone continuation */
    assert_false(valid("abc\xbf"));
    assert_false(valid("\xc0\xaf"));         /* overlong '/' */
    assert_false(valid("\xc1\xbf"));         /* overlong */
    assert_false(valid("\xe0\x80\xaf"));     /* overlong 3-byte */
    assert_false(valid("\xe0\x9f\xbf"));     /* overlong U+07FF */
    assert_false(valid("\xf0\x80\x80\xaf")); /* overlong 4-byte */
    assert_false(valid("\xf0\x8f\xbf\xbf")); /* overlong U+FFFF */
    assert_false(valid("\xed\xa0\x80"));     /* U+D800 surrogate */
    assert_false(valid("\xed\xbf\xbf"));     /* U+DFFF surrogate */
    assert_false(valid("\xf4\x90\x80\x80")); /* U+110000 */
    assert_false(valid("\xf5\x80\x80\x80")); /* lead above F4 */
    assert_false(valid("\xff"));
    assert_false(valid("\xc3")); /* truncated at the end */
    assert_false(valid("\xe2\x82"));
    assert_false(valid("\xf0\x9f\x98"));
    assert_false(valid("\xc3(")); /* continuation missing mid-string */
    assert_false(valid("\xe2(\xa1"));
    /* the length is respected: a valid prefix of an invalid buffer passes */
    assert_true(sc_utf8_valid("ab\xc3\xa9\xff", 4));
    assert_false(sc_utf8_valid("ab\xc3\xa9\xff", 5));
    assert_false(sc_utf8_valid("\xc3\xa9", 1)); /* cut inside a character */
}

static void test_buf_read_file(void **state)
{
    char path[] = "/tmp/scour-test-sc-XXXXXX";
    char big[40000];
    sc_buf b;
    FILE *f;
    int fd = mkstemp(path);
    (void)state;
    assert_true(fd >= 0);
    f = fdopen(fd, "wb");
    assert_non_null(f);
    memset(big, 'x', sizeof big); /* more than one read chunk */
    assert_int_equal(fwrite(big, 1, sizeof big, f), sizeof big);
    fclose(f);
    sc_buf_init(&b, 0);
    assert_int_equal(sc_buf_puts(&b, "head:"), SC_OK);
    assert_int_equal(sc_buf_read_file(&b, path), SC_OK); /* appends */
    assert_int_equal(b.len, 5 + sizeof big);
    assert_memory_equal(b.data, "head:x", 6);
    assert_int_equal(b.data[b.len], '\0');
    sc_buf_free(&b);
    sc_buf_init(&b, 1000); /* past the limit */
    assert_int_equal(sc_buf_read_file(&b, path), SC_ENOMEM);
    sc_buf_free(&b);
    unlink(path);
    sc_buf_init(&b, 0);
    assert_int_equal(sc_buf_read_file(&b, path), SC_ENOTFOUND);
    assert_int_equal(b.len, 0);
    sc_buf_free(&b);
}

/* The state enums and their one name table (states.h): each name parses
 * back to its value, the texts are the PostgreSQL ones, others are refused. */
/* JSON numbers become counts without the undefined behaviour of a plain
 * cast: the fuzzer found a 47-digit hits.total reaching (uint64_t)d. */
static void test_double_conversions(void **state)
{
    (void)state;
    assert_true(sc_u64_from_double(0.0) == 0);
    assert_true(sc_u64_from_double(-1.0) == 0);
    assert_true(sc_u64_from_double(0.0 / 0.0) == 0);
    assert_true(sc_u64_from_double(42.9) == 42);
    assert_true(sc_u64_from_double(9007199254740992.0) == 9007199254740992ULL);
    assert_true(sc_u64_from_double(1.1e46) == UINT64_MAX);
    assert_true(sc_i64_from_double(-5.5) == -5);
    assert_true(sc_i64_from_double(1e300) == INT64_MAX);
    assert_true(sc_i64_from_double(-1e300) == INT64_MIN);
    assert_true(sc_i64_from_double(0.0 / 0.0) == 0);
}

/* sc_parse_u64: the whole string in decimal, nothing else, no overflow. */
static void test_parse_u64(void **state)
{
    static const struct {
        const char *in;
        int ok;
        uint64_t want;
    } cases[] = {
        {"0", 1, 0},
        {"7", 1, 7},
        {"007", 1, 7},
        {"1545478567101350097", 1, UINT64_C(1545478567101350097)},
        {"9223372036854775807", 1, UINT64_C(9223372036854775807)},
        {"18446744073709551615", 1, UINT64_MAX},
        {"18446744073709551616", 0, 0},
        {"99999999999999999999", 0, 0},
        {"184467440737095516150", 0, 0},
        {"", 0, 0},
        {"-1", 0, 0},
        {"+1", 0, 0},
        {" 1", 0, 0},
        {"1 ", 0, 0},
        {"1a", 0, 0},
        {"0x10", 0, 0},
        {"1.0", 0, 0},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint64_t v = 12345;
        sc_status st = sc_parse_u64(cases[i].in, &v);
        if (cases[i].ok) {
            assert_int_equal(st, SC_OK);
            assert_true(v == cases[i].want);
        } else {
            assert_int_equal(st, SC_EINVAL);
            assert_true(v == 12345); /* untouched on error */
        }
    }
    assert_int_equal(sc_parse_u64(NULL, NULL), SC_EINVAL);
}

static void check_put_u64(uint64_t v)
{
    char want[32];
    sc_buf a;
    sc_buf_init(&a, 0);
    assert_int_equal(sc_buf_put_u64(&a, v), SC_OK);
    snprintf(want, sizeof want, "%" PRIu64, v);
    assert_string_equal(a.data, want);
    sc_buf_free(&a);
}

/* sc_buf_put_u64 writes what "%" PRIu64 writes. */
static void test_buf_put_u64(void **state)
{
    static const uint64_t vals[] = {
        0,         1, 9, 10, 99, 100, UINT64_C(1545478567101350097), UINT64_C(9223372036854775807),
        UINT64_MAX};
    (void)state;
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        sc_buf a, b;
        sc_buf_init(&a, 0);
        sc_buf_init(&b, 0);
        assert_int_equal(sc_buf_puts(&a, "x"), SC_OK);
        assert_int_equal(sc_buf_put_u64(&a, vals[i]), SC_OK);
        assert_int_equal(sc_buf_printf(&b, "x%" PRIu64, vals[i]), SC_OK);
        assert_int_equal(a.len, b.len);
        assert_memory_equal(a.data, b.data, a.len);
        sc_buf_free(&a);
        sc_buf_free(&b);
    }
    /* every digit pair (0..100,000) and every length (each power of ten, +-1) */
    for (uint64_t v = 0; v <= 100000; v++)
        check_put_u64(v);
    for (uint64_t p = 10; p <= UINT64_C(10000000000000000000); p *= 10) {
        check_put_u64(p - 1);
        check_put_u64(p);
        check_put_u64(p + 1);
        if (p == UINT64_C(10000000000000000000))
            break;
    }
}

static void test_state_names(void **state)
{
    static const char *const bnames[] = {"active", "building", "moving"};
    static const char *const jnames[] = {"queued", "running", "done", "failed", "cancelled"};
    sc_binding_state b = SC_BINDING_MOVING;
    sc_job_state j = SC_JOB_DONE;
    (void)state;
    assert_int_equal(SC_BINDING_STATE_COUNT, 3);
    assert_int_equal(SC_JOB_STATE_COUNT, 5);
    for (int i = 0; i < SC_BINDING_STATE_COUNT; i++) {
        assert_string_equal(sc_binding_state_str((sc_binding_state)i), bnames[i]);
        assert_int_equal(sc_binding_state_parse(bnames[i], &b), SC_OK);
        assert_int_equal(b, i);
        assert_true(sc_binding_state_valid((sc_binding_state)i));
    }
    for (int i = 0; i < SC_JOB_STATE_COUNT; i++) {
        assert_string_equal(sc_job_state_str((sc_job_state)i), jnames[i]);
        assert_int_equal(sc_job_state_parse(jnames[i], &j), SC_OK);
        assert_int_equal(j, i);
        assert_true(sc_job_state_valid((sc_job_state)i));
    }
    b = SC_BINDING_BUILDING;
    assert_int_equal(sc_binding_state_parse("Active", &b), SC_EINVAL);
    assert_int_equal(sc_binding_state_parse("done", &b), SC_EINVAL);
    assert_int_equal(sc_binding_state_parse(NULL, &b), SC_EINVAL);
    assert_int_equal(b, SC_BINDING_BUILDING); /* untouched on error */
    assert_int_equal(sc_job_state_parse("active", &j), SC_EINVAL);
    assert_int_equal(sc_job_state_parse("", &j), SC_EINVAL);
    assert_string_equal(sc_binding_state_str(SC_BINDING_STATE_COUNT), "?");
    assert_string_equal(sc_job_state_str((sc_job_state)-1), "?");
    assert_false(sc_binding_state_valid(SC_BINDING_STATE_COUNT));
    assert_false(sc_job_state_valid((sc_job_state)-1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_accepts),       cmocka_unit_test(test_state_names),
        cmocka_unit_test(test_utf8_rejects),       cmocka_unit_test(test_buf_read_file),
        cmocka_unit_test(test_double_conversions), cmocka_unit_test(test_parse_u64),
        cmocka_unit_test(test_buf_put_u64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
