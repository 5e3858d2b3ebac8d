/* test_cluster.c - the pure parts of the cluster view: registration JSON in
 * and out, static lists, keys and names, and a static-only view (no etcd). */
#include "testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"

static void test_parse_value_full(void **state)
{
    sc_cluster_info ci;
    char err[SC_ERRLEN];
    const char *js = "{\"url\":\"https://es1.example:9200\",\"credentials\":\"env:ES1_KEY\","
                     "\"capacity\":5000000,\"state\":\"draining\",\"extra\":[1,2]}";
    (void)state;
    assert_int_equal(sc_cluster_parse_value("c1", js, strlen(js), &ci, err, sizeof err), SC_OK);
    assert_string_equal(ci.name, "c1");
    assert_string_equal(ci.url, "https://es1.example:9200");
    assert_string_equal(ci.credentials, "env:ES1_KEY");
    assert_true(ci.capacity == 5000000);
    assert_int_equal(ci.state, SC_CLUSTER_DRAINING);
    assert_int_equal(ci.live, 1);
    assert_true(ci.mod_revision == 0 && ci.gone_since_ms == 0);
}

static void test_parse_value_defaults_and_string_capacity(void **state)
{
    sc_cluster_info ci;
    char err[SC_ERRLEN];
    const char *a = "{\"url\":\"http://127.0.0.1:9201\"}";
    const char *b = "{\"url\":\"http://h:1\",\"capacity\":\"42\",\"credentials\":null}";
    (void)state;
    assert_int_equal(sc_cluster_parse_value("x", a, strlen(a), &ci, err, sizeof err), SC_OK);
    assert_int_equal(ci.state, SC_CLUSTER_ACTIVE);
    assert_true(ci.capacity == 0);
    assert_string_equal(ci.credentials, "");
    assert_int_equal(sc_cluster_parse_value("x", b, strlen(b), &ci, err, sizeof err), SC_OK);
    assert_true(ci.capacity == 42);
}

static void test_parse_value_rejects(void **state)
{
    static const char *bad[] = {
        "",
        "not json",
        "[1]",
        "{}",
        "{\"url\":\"ftp://x\"}",
        "{\"url\":\"http://\"}",
        "{\"url\":7}",
        "{\"url\":\"http://h\",\"state\":\"gone\"}",
        "{\"url\":\"http://h\",\"state\":1}",
        "{\"url\":\"http://h\",\"capacity\":-1}",
        "{\"url\":\"http://h\",\"capacity\":1.5}",
        "{\"url\":\"http://h\",\"capacity\":\"12x\"}",
        "{\"url\":\"http://h\",\"credentials\":5}",
    };
    sc_cluster_info ci;
    char err[SC_ERRLEN];
    size_t i;
    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        assert_int_equal(sc_cluster_parse_value("c1", bad[i], strlen(bad[i]), &ci, err, sizeof err),
                         SC_EINVAL);
        assert_true(err[0] != '\0');
        assert_string_equal(ci.url, "");
    }
    /* a bad name is refused even with a good value */
    assert_int_equal(sc_cluster_parse_value("a/b", "{\"url\":\"http://h\"}", 18, &ci, err, sizeof err),
                     SC_EINVAL);
}

static void test_format_roundtrip(void **state)
{
    sc_cluster_info in, out;
    sc_buf b;
    char err[SC_ERRLEN];
    (void)state;
    memset(&in, 0, sizeof in);
    snprintf(in.name, sizeof in.name, "%s", "c-2");
    snprintf(in.url, sizeof in.url, "%s", "https://user@h:9200/pre\"fix");
    snprintf(in.credentials, sizeof in.credentials, "%s", "file:/etc/scour/c2.key");
    in.capacity = 123456789012LL;
    in.state = SC_CLUSTER_DRAINING;
    sc_buf_init(&b, 0);
    assert_int_equal(sc_cluster_format_value(&in, &b), SC_OK);
    assert_int_equal(sc_cluster_parse_value("c-2", b.data, b.len, &out, err, sizeof err), SC_OK);
    assert_string_equal(out.url, in.url);
    assert_string_equal(out.credentials, in.credentials);
    assert_true(out.capacity == in.capacity);
    assert_int_equal(out.state, SC_CLUSTER_DRAINING);
    sc_buf_free(&b);
}

static void test_static_list(void **state)
{
    sc_cluster_info *l = NULL;
    size_t n = 99;
    char err[SC_ERRLEN];
    (void)state;
    assert_int_equal(sc_cluster_parse_static("", &l, &n, err, sizeof err), SC_OK);
    assert_int_equal(n, 0);
    assert_null(l);
    assert_int_equal(sc_cluster_parse_static(NULL, &l, &n, err, sizeof err), SC_OK);
    assert_int_equal(n, 0);
    assert_int_equal(sc_cluster_parse_static("a=http://h1:9200,b.2=https://h2", &l, &n, err, sizeof err),
                     SC_OK);
    assert_int_equal(n, 2);
    assert_string_equal(l[0].name, "a");
    assert_string_equal(l[0].url, "http://h1:9200");
    assert_string_equal(l[1].name, "b.2");
    assert_string_equal(l[1].url, "https://h2");
    assert_int_equal(l[1].live, 1);
    assert_int_equal(l[1].state, SC_CLUSTER_ACTIVE);
    free(l);
    assert_int_equal(sc_cluster_parse_static("a=http://h,a=http://g", &l, &n, err, sizeof err), SC_EINVAL);
    assert_non_null(strstr(err, "twice"));
    assert_int_equal(sc_cluster_parse_static("a", &l, &n, err, sizeof err), SC_EINVAL);
    assert_int_equal(sc_cluster_parse_static("=http://h", &l, &n, err, sizeof err), SC_EINVAL);
    assert_int_equal(sc_cluster_parse_static("a=h:9200", &l, &n, err, sizeof err), SC_EINVAL);
    assert_int_equal(sc_cluster_parse_static("a=http://h,", &l, &n, err, sizeof err), SC_EINVAL);
    assert_int_equal(sc_cluster_parse_static("a b=http://h", &l, &n, err, sizeof err), SC_EINVAL);
    assert_null(l);
}

static void test_names_keys_states(void **state)
{
    char k[64];
    sc_cluster_state s;
    char longname[80];
    (void)state;
    assert_true(sc_cluster_name_ok("es-1_a.b"));
    assert_false(sc_cluster_name_ok(""));
    assert_false(sc_cluster_name_ok("a/b"));
    assert_false(sc_cluster_name_ok(NULL));
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    assert_false(sc_cluster_name_ok(longname));
    assert_int_equal(sc_cluster_key("scour", "c1", k, sizeof k), SC_OK);
    assert_string_equal(k, "scour/clusters/c1");
    assert_int_equal(sc_cluster_drain_key("ns", "c1", k, sizeof k), SC_OK);
    assert_string_equal(k, "ns/drain/c1");
    assert_int_equal(sc_cluster_key("scour", "c1", k, 10), SC_EINVAL);
    assert_int_equal(sc_cluster_key("scour", "../x", k, sizeof k), SC_EINVAL);
    assert_int_equal(sc_cluster_state_parse("draining", &s), SC_OK);
    assert_int_equal(s, SC_CLUSTER_DRAINING);
    assert_int_equal(sc_cluster_state_parse("Active", &s), SC_EINVAL);
    assert_string_equal(sc_cluster_state_str(SC_CLUSTER_ACTIVE), "active");
}

static void test_static_view(void **state)
{
    sc_cluster_view_opts o = {.etcd_url = NULL, .ns = "t", .static_list = "s1=http://a:1,s2=http://b:2",
                              .etcd_timeout_ms = 1000};
    char err[SC_ERRLEN];
    sc_cluster_view *v = sc_cluster_view_create(&o, err, sizeof err);
    sc_cluster_info ci, *l = NULL;
    size_t n = 0;
    uint64_t g;
    int64_t t0;
    (void)state;
    assert_non_null(v);
    assert_int_equal(sc_cluster_view_get(v, "s2", &ci), SC_OK);
    assert_string_equal(ci.url, "http://b:2");
    assert_int_equal(ci.live, 1);
    assert_true(ci.mod_revision == 0);
    assert_int_equal(sc_cluster_view_get(v, "nope", &ci), SC_ENOTFOUND);
    assert_int_equal(sc_cluster_view_list(v, &l, &n), SC_OK);
    assert_int_equal(n, 2);
    free(l);
    g = sc_cluster_view_generation(v);
    t0 = sc_now_ms();
    assert_true(sc_cluster_view_wait(v, g, 150) == g); /* nothing changes: times out */
    assert_true(sc_now_ms() - t0 >= 140);
    sc_cluster_view_free(v);
    sc_cluster_view_free(NULL);

    o.static_list = "bad";
    assert_null(sc_cluster_view_create(&o, err, sizeof err));
    assert_true(err[0] != '\0');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_value_full),
        cmocka_unit_test(test_parse_value_defaults_and_string_capacity),
        cmocka_unit_test(test_parse_value_rejects),
        cmocka_unit_test(test_format_roundtrip),
        cmocka_unit_test(test_static_list),
        cmocka_unit_test(test_names_keys_states),
        cmocka_unit_test(test_static_view),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
