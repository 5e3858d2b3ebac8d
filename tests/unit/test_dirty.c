/*
 * test_dirty.c - the dirty-mark format of refresh on read (libscour/dirty.c):
 * keys, unique values, and how a value reads (clean, dirty, stale).
 */
#include "testlib.h"

#include <string.h>

#include "dirty.h"

static void test_key_and_values(void **state)
{
    char k[SC_DIRTY_KEY_MAX], a[SC_DIRTY_VAL_MAX], b[SC_DIRTY_VAL_MAX];
    (void)state;
    sc_dirty_key("scour", "c1", "messages-v1", k, sizeof k);
    assert_string_equal(k, "scour:dirty:c1:messages-v1");
    sc_dirty_value(1700000000123LL, 1, a, sizeof a);
    sc_dirty_value(1700000000123LL, 2, b, sizeof b);
    assert_string_equal(a, "d1700000000123.0000000000000001");
    assert_string_not_equal(a, b); /* same millisecond, other token */
    assert_true(strlen(a) < SC_DIRTY_VAL_MAX);
}

static void test_parse(void **state)
{
    char v[SC_DIRTY_VAL_MAX];
    int64_t now = 1700000100000LL;
    (void)state;
    assert_int_equal(sc_dirty_parse(NULL, now, 60), SC_DIRTY_CLEAN);
    sc_dirty_value(now - 1000, 7, v, sizeof v);
    assert_int_equal(sc_dirty_parse(v, now, 60), SC_DIRTY_DIRTY);
    v[0] = 'c'; /* its clean twin */
    assert_int_equal(sc_dirty_parse(v, now, 60), SC_DIRTY_CLEAN);
    sc_dirty_value(now - 61000, 7, v, sizeof v);
    assert_int_equal(sc_dirty_parse(v, now, 60), SC_DIRTY_STALE);
    /* what does not parse reads clean (never blocks a search) */
    assert_int_equal(sc_dirty_parse("d", now, 60), SC_DIRTY_CLEAN);
    assert_int_equal(sc_dirty_parse("dabc.1", now, 60), SC_DIRTY_CLEAN);
    assert_int_equal(sc_dirty_parse("d123", now, 60), SC_DIRTY_CLEAN);
    assert_int_equal(sc_dirty_parse("", now, 60), SC_DIRTY_CLEAN);
    assert_int_equal(sc_dirty_parse("d99999999999999999999999.1", now, 60), SC_DIRTY_CLEAN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_and_values),
        cmocka_unit_test(test_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
