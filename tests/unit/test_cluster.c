/* test_cluster.c - the pure parts of the cluster view: registration JSON in
 * and out, static lists, keys and names, a static-only view (no etcd), and
 * the credentials resolver (sc_cluster_es_opts). */
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
    assert_int_equal(
        sc_cluster_parse_value("a/b", "{\"url\":\"http://h\"}", 18, &ci, err, sizeof err),
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
    assert_int_equal(
        sc_cluster_parse_static("a=http://h1:9200,b.2=https://h2", &l, &n, err, sizeof err), SC_OK);
    assert_int_equal(n, 2);
    assert_string_equal(l[0].name, "a");
    assert_string_equal(l[0].url, "http://h1:9200");
    assert_string_equal(l[1].name, "b.2");
    assert_string_equal(l[1].url, "https://h2");
    assert_int_equal(l[1].live, 1);
    assert_int_equal(l[1].state, SC_CLUSTER_ACTIVE);
    free(l);
    assert_int_equal(sc_cluster_parse_static("a=http://h,a=http://g", &l, &n, err, sizeof err),
                     SC_EINVAL);
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
    sc_cluster_view_opts o = {.etcd_url = NULL,
                              .ns = "t",
                              .static_list = "s1=http://a:1,s2=http://b:2",
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

/* ------------------------------------------------------------ credentials */

static void cred_info(sc_cluster_info *ci, const char *cred)
{
    memset(ci, 0, sizeof *ci);
    snprintf(ci->name, sizeof ci->name, "%s", "cx");
    snprintf(ci->url, sizeof ci->url, "%s", "https://cx.example:9200");
    snprintf(ci->credentials, sizeof ci->credentials, "%s", cred);
    ci->live = 1;
}

static void cred_base(es_opts *b)
{
    memset(b, 0, sizeof *b);
    b->url = "http://base-ignored:1";
    b->user = "global-user";
    b->password = "global-pass";
    b->api_key = "global-key";
    b->ca_file = "/etc/ca.pem";
    b->connect_timeout_ms = 1234;
    b->timeout_ms = 5678;
    b->replicas = 2;
    b->refresh_interval = "7s";
}

static void test_es_opts_env_api_key(void **state)
{
    sc_cluster_info ci;
    es_opts b, o;
    char buf[SC_CLUSTER_SECRET_BUF], err[SC_ERRLEN];
    (void)state;
    assert_int_equal(setenv("TC_CRED_KEY", "s3cr3t-api-key", 1), 0);
    cred_base(&b);
    cred_info(&ci, "env:TC_CRED_KEY");
    assert_int_equal(sc_cluster_es_opts(&ci, &b, &o, buf, sizeof buf, err, sizeof err), SC_OK);
    assert_string_equal(o.url, "https://cx.example:9200");
    assert_string_equal(o.api_key, "s3cr3t-api-key");
    assert_null(o.user);
    assert_null(o.password);
    /* everything else comes from base */
    assert_string_equal(o.ca_file, "/etc/ca.pem");
    assert_true(o.connect_timeout_ms == 1234 && o.timeout_ms == 5678 && o.replicas == 2);
    assert_string_equal(o.refresh_interval, "7s");
    /* the key is a copy in buf: later changes of the environment do not move it */
    assert_true(o.api_key >= buf && o.api_key < buf + sizeof buf);
    assert_int_equal(setenv("TC_CRED_KEY", "other", 1), 0);
    assert_string_equal(o.api_key, "s3cr3t-api-key");
    /* and a new call reads the variable again */
    assert_int_equal(sc_cluster_es_opts(&ci, &b, &o, buf, sizeof buf, err, sizeof err), SC_OK);
    assert_string_equal(o.api_key, "other");
    /* an empty key is refused, naming the variable */
    assert_int_equal(setenv("TC_CRED_KEY", "", 1), 0);
    assert_int_equal(sc_cluster_es_opts(&ci, &b, &o, buf, sizeof buf, err, sizeof err),
                     SC_ENOTFOUND);
    assert_non_null(strstr(err, "TC_CRED_KEY"));
    assert_non_null(strstr(err, "empty"));
    unsetenv("TC_CRED_KEY");
}

static void test_es_opts_basic_env(void **state)
{
    sc_cluster_info ci;
    es_opts b, o;
    char buf[SC_CLUSTER_SECRET_BUF], err[SC_ERRLEN];
    (void)state;
    assert_int_equal(setenv("TC_CRED_U", "alice", 1), 0);
    assert_int_equal(setenv("TC_CRED_P", "pa:ss word", 1), 0);
    cred_base(&b);
    cred_info(&ci, "basic-env:TC_CRED_U:TC_CRED_P");
    assert_int_equal(sc_cluster_es_opts(&ci, &b, &o, buf, sizeof buf, err, sizeof err), SC_OK);
    assert_string_equal(o.url, "https://cx.example:9200");
    assert_string_equal(o.user, "alice");
    assert_string_equal(o.password, "pa:ss word");
    assert_null(o.api_key); /* the global key would win over basic auth */
    /* an empty password is allowed */
    assert_int_equal(setenv("TC_CRED_P", "", 1), 0);
    assert_int_equal(sc_cluster_es_opts(&ci, &b, &o, buf, sizeof buf, err, sizeof err), SC_OK);
    assert_string_equal(o.password, "");
    /* too small a buffer */
    assert_int_equal(setenv("TC_CRED_P", "pw", 1), 0);
    assert_int_equal(sc_cluster_es_opts(&ci, &b, &o, buf, 7, err, sizeof err), SC_ENOMEM);
    assert_null(o.user);
    assert_null(o.api_key);
    assert_null(strstr(err, "alice"));
    unsetenv("TC_CRED_U");
    unsetenv("TC_CRED_P");
}

static void test_es_opts_empty_falls_back(void **state)
{
    sc_cluster_info ci;
    es_opts b, o;
    char buf[64], err[SC_ERRLEN];
    (void)state;
    cred_base(&b);
    cred_info(&ci, "");
    assert_int_equal(sc_cluster_es_opts(&ci, &b, &o, buf, sizeof buf, err, sizeof err), SC_OK);
    assert_string_equal(o.url, "https://cx.example:9200");
    assert_ptr_equal(o.user, b.user);
    assert_ptr_equal(o.password, b.password);
    assert_ptr_equal(o.api_key, b.api_key);
    assert_ptr_equal(o.ca_file, b.ca_file);
    /* no global auth either: none */
    b.user = NULL;
    b.password = NULL;
    b.api_key = NULL;
    assert_int_equal(sc_cluster_es_opts(&ci, &b, &o, NULL, 0, err, sizeof err), SC_OK);
    assert_null(o.user);
    assert_null(o.api_key);
}

static void test_es_opts_unset_variable(void **state)
{
    sc_cluster_info ci;
    es_opts b, o;
    char buf[SC_CLUSTER_SECRET_BUF], err[SC_ERRLEN];
    (void)state;
    cred_base(&b);
    unsetenv("TC_CRED_NOPE");
    cred_info(&ci, "env:TC_CRED_NOPE");
    assert_int_equal(sc_cluster_es_opts(&ci, &b, &o, buf, sizeof buf, err, sizeof err),
                     SC_ENOTFOUND);
    assert_non_null(strstr(err, "TC_CRED_NOPE"));
    assert_non_null(strstr(err, "not set"));
    assert_non_null(strstr(err, "cx"));
    /* no fallback to the global options on failure */
    assert_null(o.api_key);
    assert_null(o.user);

    /* basic-env: the user is set (a secret), the password variable is not;
     * the message names the missing variable and shows no value */
    assert_int_equal(setenv("TC_CRED_U2", "topsecretuser", 1), 0);
    unsetenv("TC_CRED_P2");
    cred_info(&ci, "basic-env:TC_CRED_U2:TC_CRED_P2");
    assert_int_equal(sc_cluster_es_opts(&ci, &b, &o, buf, sizeof buf, err, sizeof err),
                     SC_ENOTFOUND);
    assert_non_null(strstr(err, "TC_CRED_P2"));
    assert_null(strstr(err, "topsecretuser"));
    assert_null(o.user);
    /* and the other way round */
    assert_int_equal(setenv("TC_CRED_P2", "topsecretpass", 1), 0);
    unsetenv("TC_CRED_U2");
    assert_int_equal(sc_cluster_es_opts(&ci, &b, &o, buf, sizeof buf, err, sizeof err),
                     SC_ENOTFOUND);
    assert_non_null(strstr(err, "TC_CRED_U2"));
    assert_null(strstr(err, "topsecretpass"));
    unsetenv("TC_CRED_P2");
}

static void test_es_opts_malformed(void **state)
{
    static const char *bad[] = {
        "env:",        "env:1ABC",        "env:A-B",      "env:A B",         "basic-env:",
        "basic-env:U", "basic-env:U:",    "basic-env::P", "basic-env:U:P:Q", "file:/etc/key",
        "ENV:X",       "apikey-in-clear",
    };
    sc_cluster_info ci;
    es_opts b, o;
    char buf[SC_CLUSTER_SECRET_BUF], err[SC_ERRLEN];
    size_t i;
    (void)state;
    cred_base(&b);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cred_info(&ci, bad[i]);
        err[0] = '\0';
        if (sc_cluster_es_opts(&ci, &b, &o, buf, sizeof buf, err, sizeof err) != SC_EINVAL)
            fail_msg("reference '%s' accepted", bad[i]);
        assert_true(err[0] != '\0');
        assert_non_null(strstr(err, "cx"));
        assert_null(o.api_key);
        assert_null(o.user);
    }
    assert_int_equal(sc_cluster_es_opts(NULL, &b, &o, buf, sizeof buf, err, sizeof err), SC_EINVAL);
    cred_info(&ci, "");
    assert_int_equal(sc_cluster_es_opts(&ci, NULL, &o, buf, sizeof buf, err, sizeof err),
                     SC_EINVAL);
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
        cmocka_unit_test(test_es_opts_env_api_key),
        cmocka_unit_test(test_es_opts_basic_env),
        cmocka_unit_test(test_es_opts_empty_falls_back),
        cmocka_unit_test(test_es_opts_unset_variable),
        cmocka_unit_test(test_es_opts_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
