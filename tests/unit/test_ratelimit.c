/*
 * test_ratelimit.c - the token-bucket arithmetic and the local fallback of
 * libscour/ratelimit.c (no Redis handle: the local table decides), and
 * form.c's decoding. The Redis script is tested against a real Redis in
 * it_router_load.
 */
#include "testlib.h"

#include "form.h"
#include "ratelimit.h"

#include <string.h>

static void test_bucket_refill(void **state)
{
    double tok = 5;
    int64_t stamp = 1000;
    sc_rl_state st;
    (void)state;
    for (int i = 0; i < 5; i++)
        assert_int_equal(sc_rl_bucket_take(&tok, &stamp, 5, 1000, 1000, 1, &st), 1);
    assert_int_equal(st.remaining, 0);
    assert_int_equal(st.limit, 5);
    assert_int_equal(st.reset_after_ms, 1000); /* 5 tokens at 5/s */
    assert_int_equal(sc_rl_bucket_take(&tok, &stamp, 5, 1000, 1000, 1, &st), 0);
    assert_int_equal(st.retry_after_ms, 200); /* one token takes 200 ms */
    assert_int_equal(sc_rl_bucket_take(&tok, &stamp, 5, 1000, 1199, 1, &st), 0);
    assert_int_equal(sc_rl_bucket_take(&tok, &stamp, 5, 1000, 1200, 1, &st), 1);
    /* never above the limit however long it rested */
    assert_int_equal(sc_rl_bucket_take(&tok, &stamp, 5, 1000, 100000, 0, &st), 0);
    assert_int_equal(st.remaining, 5);
    assert_int_equal(st.reset_after_ms, 0);
}

static void test_local_all_or_none(void **state)
{
    sc_ratelimit *rl = sc_ratelimit_create();
    sc_rl_bucket b[2] = {{"t:ip:1", 10, 10000}, {"t:user:1", 2, 10000}};
    sc_rl_result r;
    (void)state;
    assert_non_null(rl);
    sc_ratelimit_take(rl, NULL, b, 2, 0, &r);
    assert_true(r.allowed);
    assert_false(r.from_redis);
    assert_int_equal(r.st[0].remaining, 9);
    assert_int_equal(r.st[1].remaining, 1);
    sc_ratelimit_take(rl, NULL, b, 2, 0, &r);
    assert_true(r.allowed);
    sc_ratelimit_take(rl, NULL, b, 2, 0, &r);
    assert_false(r.allowed);
    assert_int_equal(r.denied_by, 1);
    assert_int_equal(r.st[1].retry_after_ms, 5000);
    /* the refused request took nothing from the IP bucket */
    assert_int_equal(r.st[0].remaining, 8);
    /* another user on the same IP still goes through */
    b[1].key = "t:user:2";
    sc_ratelimit_take(rl, NULL, b, 2, 0, &r);
    assert_true(r.allowed);
    assert_int_equal(r.st[0].remaining, 7);
    /* bad arguments allow (the limiter never fails a request) */
    b[0].limit = 0;
    sc_ratelimit_take(rl, NULL, b, 2, 0, &r);
    assert_true(r.allowed);
    sc_ratelimit_free(rl);
    sc_ratelimit_free(NULL);
}

static void test_form(void **state)
{
    char s[] = "a+b=%41%42+c&&x&%00k=v&z=1";
    char p[] = "/x%2Fy%7f";
    sc_query_param v[8];
    size_t n = 0;
    char bad[64];
    int ctl = 0;
    (void)state;
    assert_int_equal(sc_form_decode(p, strlen(p), 0, &ctl), 5);
    assert_string_equal(p, "/x/y\x7f");
    assert_int_equal(ctl, 1);
    assert_int_equal(sc_form_split(s, v, 8, &n, bad, sizeof(bad)), SC_EINVAL);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].key, "a b");
    assert_string_equal(v[0].value, "AB c");
    assert_string_equal(v[1].key, "x");
    assert_string_equal(v[1].value, "");
    assert_string_equal(bad, "");
    {
        char t[] = "a=1&b=2&c=3";
        assert_int_equal(sc_form_split(t, v, 2, &n, bad, sizeof(bad)), SC_ERR);
    }
    {
        char t[] = "limit=5&q=%zz%4";
        assert_int_equal(sc_form_split(t, v, 8, &n, bad, sizeof(bad)), SC_OK);
        assert_int_equal(n, 2);
        assert_string_equal(v[1].value, "%zz%4"); /* malformed escapes stay */
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bucket_refill),
        cmocka_unit_test(test_local_all_or_none),
        cmocka_unit_test(test_form),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
