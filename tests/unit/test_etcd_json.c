/*
 * test_etcd_json.c - unit tests for base64.c and etcd_json.c's pure parsers: base64
 * round trips and rejects, /v3/kv/range answers with omitted zero fields and
 * int64s as strings, /v3/watch stream lines (PUT without "type", DELETE,
 * created-only, compacted+canceled, errors) and garbage that must be refused
 * without crashing. No network.
 */
#include "testlib.h"

#include "base64.h"
#include "etcd.h"
#include "sc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ base64 */

static void check_round_trip(const void *data, size_t n, const char *expect)
{
    char enc[256], dec[256];
    size_t elen = 0, dlen = 0;
    assert_int_equal(sc_b64_encode(data, n, enc, sizeof(enc), &elen), SC_OK);
    assert_int_equal(elen, sc_b64_encoded_len(n));
    if (expect != NULL)
        assert_string_equal(enc, expect);
    assert_int_equal(sc_b64_decode(enc, elen, dec, sizeof(dec), &dlen), SC_OK);
    assert_int_equal(dlen, n);
    assert_memory_equal(dec, data, n);
    assert_int_equal(dec[dlen], '\0');
}

static void test_b64_vectors(void **state)
{
    (void)state;
    /* RFC 4648 section 10 */
    check_round_trip("", 0, "");
    check_round_trip("f", 1, "Zg==");
    check_round_trip("fo", 2, "Zm8=");
    check_round_trip("foo", 3, "Zm9v");
    check_round_trip("foob", 4, "Zm9vYg==");
    check_round_trip("fooba", 5, "Zm9vYmE=");
    check_round_trip("foobar", 6, "Zm9vYmFy");
    /* every byte value, both '+' and '/' */
    unsigned char all[256];
    char *enc = malloc(sc_b64_encoded_len(sizeof(all)) + 1);
    char *back = NULL;
    size_t elen = 0, blen = 0;
    for (int i = 0; i < 256; i++)
        all[i] = (unsigned char)i;
    assert_non_null(enc);
    assert_int_equal(
        sc_b64_encode(all, sizeof(all), enc, sc_b64_encoded_len(sizeof(all)) + 1, &elen), SC_OK);
    assert_non_null(strchr(enc, '+'));
    assert_non_null(strchr(enc, '/'));
    assert_int_equal(sc_b64_decode_alloc(enc, elen, &back, &blen), SC_OK);
    assert_int_equal(blen, sizeof(all));
    assert_memory_equal(back, all, sizeof(all));
    free(back);
    free(enc);
    check_round_trip("\xff\xfe\x00\x01", 4, "//4AAQ==");
}

static void test_b64_buf_long(void **state)
{
    /* longer than sc_b64_encode_buf's internal chunk, not a multiple of 3 */
    size_t n = 5000 + 2;
    unsigned char *src = malloc(n);
    char *flat = malloc(sc_b64_encoded_len(n) + 1);
    sc_buf b;
    (void)state;
    assert_non_null(src);
    assert_non_null(flat);
    for (size_t i = 0; i < n; i++)
        src[i] = (unsigned char)(i * 7 + 3);
    sc_buf_init(&b, 0);
    assert_int_equal(sc_buf_puts(&b, "x"), SC_OK);
    assert_int_equal(sc_b64_encode_buf(&b, src, n), SC_OK);
    assert_int_equal(sc_b64_encode(src, n, flat, sc_b64_encoded_len(n) + 1, NULL), SC_OK);
    assert_int_equal(b.len, 1 + sc_b64_encoded_len(n));
    assert_string_equal(b.data + 1, flat);
    sc_buf_free(&b);
    /* a capped buffer fails cleanly and keeps what it had */
    sc_buf_init(&b, 10);
    assert_int_equal(sc_buf_puts(&b, "ab"), SC_OK);
    assert_int_equal(sc_b64_encode_buf(&b, src, n), SC_ENOMEM);
    assert_int_equal(b.len, 2);
    assert_string_equal(b.data, "ab");
    sc_buf_free(&b);
    free(src);
    free(flat);
}

static void test_b64_rejects(void **state)
{
    char out[64];
    size_t n = 99;
    const char *bad[] = {
        "Zg=",                /* length not a multiple of 4 */
        "Zg",                 /* unpadded */
        "Zm9v!A==",           /* outside the alphabet */
        "Zm 9v",              /* whitespace */
        "Zm9v\nYmFy", "Z===", /* three pads */
        "====",               /* only padding */
        "Zg==Zm9v",           /* padding in the middle */
        "Zm=v",               /* pad then data */
        "Zh==",               /* stray bits after the last byte */
        "Zm9=",               /* stray bits with one pad */
        "Zm9v-_==",           /* URL-safe alphabet */
    };
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *p = (char *)0x1;
        assert_int_equal(sc_b64_decode(bad[i], strlen(bad[i]), out, sizeof(out), &n), SC_EINVAL);
        assert_int_equal(sc_b64_decode_alloc(bad[i], strlen(bad[i]), &p, &n), SC_EINVAL);
        assert_null(p);
    }
    /* NUL inside the claimed length */
    assert_int_equal(sc_b64_decode("Zm\0v", 4, out, sizeof(out), &n), SC_EINVAL);
    /* output too small: "foobar" needs 6 bytes */
    assert_int_equal(sc_b64_decode("Zm9vYmFy", 8, out, 5, &n), SC_EINVAL);
    assert_int_equal(sc_b64_decode("Zm9vYmFy", 8, out, 6, &n), SC_OK);
    assert_int_equal(n, 6);
    /* encode into a too small buffer leaves an empty string */
    assert_int_equal(sc_b64_encode("foo", 3, out, 4, &n), SC_EINVAL);
    assert_string_equal(out, "");
    assert_int_equal(sc_b64_encode("foo", 3, out, 5, &n), SC_OK);
    assert_string_equal(out, "Zm9v");
    assert_int_equal(sc_b64_encode(NULL, 3, out, sizeof(out), &n), SC_EINVAL);
}

/* ------------------------------------------------------------ range */

/* base64url without padding (JWT segments): RFC 4648 vectors with the
 * URL alphabet, the '-'/'_' characters, and the same strictness. */
static void test_b64url(void **state)
{
    static const struct {
        const char *plain, *enc;
    } vec[] = {{"", ""},           {"f", "Zg"},          {"fo", "Zm8"},         {"foo", "Zm9v"},
               {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"}};
    static const char *bad[] = {"Zm9v=", "Zg==",    "Z",  "Zm9vY", "Zm+v",
                                "Zm/v",  "Zm9v Yg", "Zh", "Zm9",   "Zm\n9"};
    const unsigned char odd[] = {0xfb, 0xff, 0xbf, 0xfe};
    unsigned char out[64];
    size_t n = 0;
    sc_buf b;
    (void)state;

    for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
        sc_buf_init(&b, 0);
        assert_int_equal(sc_b64url_encode_buf(&b, vec[i].plain, strlen(vec[i].plain)), SC_OK);
        assert_int_equal(b.len, strlen(vec[i].enc));
        if (b.len > 0)
            assert_memory_equal(b.data, vec[i].enc, b.len);
        sc_buf_free(&b);
        assert_int_equal(sc_b64url_decode(vec[i].enc, strlen(vec[i].enc), out, sizeof(out), &n),
                         SC_OK);
        assert_int_equal(n, strlen(vec[i].plain));
        assert_string_equal((const char *)out, vec[i].plain); /* NUL-terminated */
    }
    /* the URL alphabet: 0xfb 0xff 0xbf -> "-_-_" where standard has "+/+/" */
    sc_buf_init(&b, 0);
    assert_int_equal(sc_b64url_encode_buf(&b, odd, sizeof(odd)), SC_OK);
    assert_string_equal(b.data, "-_-__g");
    assert_int_equal(sc_b64url_decode(b.data, b.len, out, sizeof(out), &n), SC_OK);
    assert_int_equal(n, sizeof(odd));
    assert_memory_equal(out, odd, sizeof(odd));
    sc_buf_free(&b);
    /* padding, bad length, standard alphabet, whitespace, stray bits */
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(sc_b64url_decode(bad[i], strlen(bad[i]), out, sizeof(out), &n), SC_EINVAL);
    /* bounded output: exactly enough is fine, one byte less is not */
    assert_int_equal(sc_b64url_decode("Zm9vYmFy", 8, out, 6, &n), SC_OK);
    assert_int_equal(sc_b64url_decode("Zm9vYmFy", 8, out, 5, &n), SC_EINVAL);
    assert_int_equal(sc_b64url_encode_buf(&b, NULL, 3), SC_EINVAL);
    /* long input crosses the encoder's chunks without padding in between */
    {
        unsigned char big[2000];
        unsigned char *back = malloc(sizeof(big));
        assert_non_null(back);
        for (size_t i = 0; i < sizeof(big); i++)
            big[i] = (unsigned char)(i * 7 + 3);
        sc_buf_init(&b, 0);
        assert_int_equal(sc_b64url_encode_buf(&b, big, sizeof(big)), SC_OK);
        assert_null(strchr(b.data, '='));
        assert_int_equal(b.len, (sizeof(big) * 4 + 2) / 3);
        assert_int_equal(sc_b64url_decode(b.data, b.len, back, sizeof(big), &n), SC_OK);
        assert_int_equal(n, sizeof(big));
        assert_memory_equal(back, big, sizeof(big));
        free(back);
        sc_buf_free(&b);
    }
}

static void test_range_omitted_fields(void **state)
{
    /* second kv: empty value, version/lease omitted; revision beyond 2^53 */
    const char *j =
        "{\"header\":{\"cluster_id\":\"1\",\"member_id\":\"2\",\"revision\":\"9007199254740993\","
        "\"raft_term\":\"2\"},\"kvs\":[{\"key\":\"c2MvYQ==\",\"create_revision\":\"7\","
        "\"mod_revision\":\"9007199254740993\",\"version\":\"3\",\"value\":\"aGVsbG8=\","
        "\"lease\":\"7587869061227454211\"},{\"key\":\"c2MvYg==\",\"create_revision\":\"8\","
        "\"mod_revision\":\"8\"}],\"count\":\"2\"}";
    etcd_kv_list l;
    char err[SC_ERRLEN] = "";
    (void)state;
    assert_int_equal(etcd_parse_range(j, strlen(j), &l, err, sizeof(err)), SC_OK);
    assert_int_equal(l.revision, 9007199254740993LL);
    assert_int_equal(l.count, 2);
    assert_int_equal(l.more, 0);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.kvs[0].key, "sc/a");
    assert_int_equal(l.kvs[0].key_len, 4);
    assert_string_equal(l.kvs[0].value, "hello");
    assert_int_equal(l.kvs[0].value_len, 5);
    assert_int_equal(l.kvs[0].create_revision, 7);
    assert_int_equal(l.kvs[0].mod_revision, 9007199254740993LL);
    assert_int_equal(l.kvs[0].version, 3);
    assert_int_equal(l.kvs[0].lease, 7587869061227454211LL);
    assert_string_equal(l.kvs[1].key, "sc/b");
    assert_non_null(l.kvs[1].value);
    assert_string_equal(l.kvs[1].value, "");
    assert_int_equal(l.kvs[1].value_len, 0);
    assert_int_equal(l.kvs[1].version, 0);
    assert_int_equal(l.kvs[1].lease, 0);
    etcd_kv_list_free(&l);
    assert_null(l.kvs);
    assert_int_equal(l.n, 0);
    etcd_kv_list_free(&l); /* twice is harmless */
    etcd_kv_list_free(NULL);
}

static void test_range_empty_and_numbers(void **state)
{
    etcd_kv_list l;
    char err[SC_ERRLEN];
    const char *none = "{\"header\":{\"revision\":\"12\"}}"; /* no kvs, no count */
    const char *nums = "{\"header\":{\"revision\":12},\"kvs\":[{\"key\":\"YQ==\",\"version\":1}],"
                       "\"count\":1,\"more\":true}";
    (void)state;
    assert_int_equal(etcd_parse_range(none, strlen(none), &l, err, sizeof(err)), SC_OK);
    assert_int_equal(l.n, 0);
    assert_null(l.kvs);
    assert_int_equal(l.count, 0);
    assert_int_equal(l.revision, 12);
    etcd_kv_list_free(&l);
    /* exact JSON numbers are accepted too */
    assert_int_equal(etcd_parse_range(nums, strlen(nums), &l, err, sizeof(err)), SC_OK);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.more, 1);
    assert_int_equal(l.kvs[0].version, 1);
    assert_string_equal(l.kvs[0].key, "a");
    etcd_kv_list_free(&l);
}

static void test_range_rejects(void **state)
{
    const char *bad[] = {
        "",
        "[]",
        "{\"header\":{\"revision\":\"12\"",                                  /* truncated */
        "{\"header\":{\"revision\":\"1x\"}}",                                /* junk int */
        "{\"header\":{\"revision\":\"\"}}",                                  /* empty int */
        "{\"header\":{\"revision\":\"+5\"}}",                                /* sign */
        "{\"header\":{\"revision\":\"99999999999999999999\"}}",              /* overflow */
        "{\"header\":{\"revision\":1.5}}",                                   /* fraction */
        "{\"header\":{\"revision\":1e300}}",                                 /* inexact */
        "{\"header\":\"x\"}",                                                /* header type */
        "{\"kvs\":{}}",                                                      /* kvs type */
        "{\"kvs\":[1]}",                                                     /* kv type */
        "{\"kvs\":[{\"value\":\"YQ==\"}]}",                                  /* key missing */
        "{\"kvs\":[{\"key\":\"\"}]}",                                        /* key empty */
        "{\"kvs\":[{\"key\":\"YQ=\"}]}",                                     /* bad base64 */
        "{\"kvs\":[{\"key\":\"YQ==\",\"value\":7}]}",                        /* value type */
        "{\"kvs\":[{\"key\":\"YQ==\"},{\"key\":\"YQ==\",\"lease\":\"x\"}]}", /* 2nd bad */
        "{\"more\":\"yes\"}",
        "{\"error\":\"boom\",\"code\":2}",
    };
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        etcd_kv_list l;
        char err[SC_ERRLEN] = "";
        sc_status st = etcd_parse_range(bad[i], strlen(bad[i]), &l, err, sizeof(err));
        if (st != SC_EPROTO)
            fail_msg("case %zu (%s) gave %d", i, bad[i], st);
        assert_true(err[0] != '\0');
        assert_int_equal(l.n, 0);
        assert_null(l.kvs);
    }
}

/* ------------------------------------------------------------ watch lines */

static void test_watch_put_delete(void **state)
{
    /* as etcd 3.4 sends them: PUT has no "type"; DELETE has no value/version */
    const char *j =
        "{\"result\":{\"header\":{\"cluster_id\":\"1\",\"revision\":\"9007199254740995\"},"
        "\"watch_id\":\"0\",\"events\":[{\"kv\":{\"key\":\"c2MvYQ==\",\"create_revision\":\"5\","
        "\"mod_revision\":\"9007199254740994\",\"version\":\"2\",\"value\":\"djI=\"}},"
        "{\"type\":\"DELETE\",\"kv\":{\"key\":\"c2MvYg==\",\"mod_revision\":\"9007199254740995\"}}]"
        "}}\n";
    etcd_watch_batch b;
    (void)state;
    assert_int_equal(etcd_watch_parse_line(j, strlen(j), &b), SC_OK);
    assert_int_equal(b.n, 2);
    assert_int_equal(b.revision, 9007199254740995LL);
    assert_int_equal(b.created, 0);
    assert_int_equal(b.canceled, 0);
    assert_int_equal(b.compact_revision, 0);
    assert_int_equal(b.events[0].type, ETCD_EV_PUT);
    assert_string_equal(b.events[0].kv.key, "sc/a");
    assert_string_equal(b.events[0].kv.value, "v2");
    assert_int_equal(b.events[0].kv.version, 2);
    assert_int_equal(b.events[0].revision, 9007199254740994LL);
    assert_int_equal(b.events[1].type, ETCD_EV_DELETE);
    assert_string_equal(b.events[1].kv.key, "sc/b");
    assert_string_equal(b.events[1].kv.value, "");
    assert_int_equal(b.events[1].kv.version, 0);
    assert_int_equal(b.events[1].revision, 9007199254740995LL);
    etcd_watch_batch_free(&b);
    assert_null(b.events);
    etcd_watch_batch_free(&b);
    etcd_watch_batch_free(NULL);
    /* explicit "PUT" and numeric enums are accepted too */
    const char *k =
        "{\"result\":{\"events\":[{\"type\":\"PUT\",\"kv\":{\"key\":\"YQ==\"}},"
        "{\"type\":1,\"kv\":{\"key\":\"YQ==\"}},{\"type\":0,\"kv\":{\"key\":\"YQ==\"}}]}}";
    assert_int_equal(etcd_watch_parse_line(k, strlen(k), &b), SC_OK);
    assert_int_equal(b.n, 3);
    assert_int_equal(b.events[0].type, ETCD_EV_PUT);
    assert_int_equal(b.events[1].type, ETCD_EV_DELETE);
    assert_int_equal(b.events[2].type, ETCD_EV_PUT);
    etcd_watch_batch_free(&b);
}

static void test_watch_created_compacted(void **state)
{
    etcd_watch_batch b;
    const char *created = "{\"result\":{\"header\":{\"cluster_id\":\"1\",\"revision\":\"5\","
                          "\"raft_term\":\"2\"},\"created\":true}}";
    /* verbatim from etcd 3.4.23: the canceled answer has no header revision */
    const char *compacted =
        "{\"result\":{\"header\":{\"cluster_id\":\"10144879847569953045\",\"member_id\":"
        "\"12428976124636271536\",\"raft_term\":\"2\"},\"canceled\":true,"
        "\"compact_revision\":\"5\"}}";
    const char *cancel = "{\"result\":{\"watch_id\":\"3\",\"canceled\":true,\"cancel_reason\":"
                         "\"permission denied\"}}";
    const char *progress = "{\"result\":{\"header\":{\"revision\":\"77\"}}}";
    (void)state;
    assert_int_equal(etcd_watch_parse_line(created, strlen(created), &b), SC_OK);
    assert_int_equal(b.created, 1);
    assert_int_equal(b.canceled, 0);
    assert_int_equal(b.n, 0);
    assert_null(b.events);
    assert_int_equal(b.revision, 5);
    etcd_watch_batch_free(&b);

    assert_int_equal(etcd_watch_parse_line(compacted, strlen(compacted), &b), SC_OK);
    assert_int_equal(b.canceled, 1);
    assert_int_equal(b.created, 0);
    assert_int_equal(b.compact_revision, 5);
    assert_int_equal(b.revision, 0);
    assert_int_equal(b.n, 0);
    etcd_watch_batch_free(&b);

    assert_int_equal(etcd_watch_parse_line(cancel, strlen(cancel), &b), SC_OK);
    assert_int_equal(b.canceled, 1);
    assert_int_equal(b.compact_revision, 0);
    assert_int_equal(b.watch_id, 3);
    assert_string_equal(b.err, "permission denied");
    etcd_watch_batch_free(&b);

    assert_int_equal(etcd_watch_parse_line(progress, strlen(progress), &b), SC_OK);
    assert_int_equal(b.revision, 77);
    assert_int_equal(b.n, 0);
    assert_int_equal(b.created + b.canceled, 0);
    etcd_watch_batch_free(&b);
}

static void test_watch_errors_and_garbage(void **state)
{
    etcd_watch_batch b;
    const char *err_obj = "{\"error\":{\"grpc_code\":14,\"http_code\":503,\"message\":"
                          "\"etcdserver: no leader\",\"http_status\":\"Service Unavailable\"}}";
    const char *err_str = "{\"error\":\"boom\",\"message\":\"boom\",\"code\":2}";
    const char *garbage[] = {
        "{",
        "}",
        "null",
        "\"result\"",
        "{\"result\":1}",
        "{\"res\":{}}",
        "{\"result\":{\"events\":{}}}",
        "{\"result\":{\"events\":[1]}}",
        "{\"result\":{\"events\":[{}]}}",          /* no kv */
        "{\"result\":{\"events\":[{\"kv\":{}}]}}", /* no key */
        "{\"result\":{\"events\":[{\"type\":\"MOVE\",\"kv\":{\"key\":\"YQ==\"}}]}}",
        "{\"result\":{\"events\":[{\"kv\":{\"key\":\"YQ==\"}},{\"kv\":{\"key\":\"#\"}}]}}",
        "{\"result\":{\"created\":\"true\"}}",
        "{\"result\":{\"compact_revision\":\"12a\"}}",
        "{\"result\":{\"header\":{\"revision\":{}}}}",
        "{\"result\":{}}garbage",
        "\xff\xfe\x01",
    };
    (void)state;
    assert_int_equal(etcd_watch_parse_line(err_obj, strlen(err_obj), &b), SC_ERR);
    assert_string_equal(b.err, "etcdserver: no leader");
    etcd_watch_batch_free(&b);
    assert_int_equal(etcd_watch_parse_line(err_str, strlen(err_str), &b), SC_ERR);
    assert_string_equal(b.err, "boom");
    etcd_watch_batch_free(&b);
    assert_int_equal(etcd_watch_parse_line("", 0, &b), SC_EPROTO);
    etcd_watch_batch_free(&b);
    assert_int_equal(etcd_watch_parse_line(NULL, 5, &b), SC_EPROTO);
    etcd_watch_batch_free(&b);
    for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
        sc_status st = etcd_watch_parse_line(garbage[i], strlen(garbage[i]), &b);
        if (st != SC_EPROTO)
            fail_msg("garbage %zu (%s) gave %d", i, garbage[i], st);
        assert_true(b.err[0] != '\0');
        assert_int_equal(b.n, 0);
        assert_null(b.events);
        etcd_watch_batch_free(&b);
    }
    /* only the first len bytes count: a valid line followed by junk */
    const char *two = "{\"result\":{\"created\":true}}{{{{";
    assert_int_equal(etcd_watch_parse_line(two, strlen(two) - 4, &b), SC_OK);
    assert_int_equal(b.created, 1);
    etcd_watch_batch_free(&b);
    /* every prefix of a real line is either refused or parsed, never a crash */
    const char *full = "{\"result\":{\"header\":{\"revision\":\"9\"},\"events\":[{\"type\":"
                       "\"DELETE\",\"kv\":{\"key\":\"c2MvYg==\",\"mod_revision\":\"9\"}}]}}";
    for (size_t n = 1; n < strlen(full); n++) {
        assert_int_equal(etcd_watch_parse_line(full, n, &b), SC_EPROTO);
        etcd_watch_batch_free(&b);
    }
}

static void test_opts_validation(void **state)
{
    char err[SC_ERRLEN] = "";
    etcd_opts o = {0};
    etcd_client *h;
    (void)state;
    assert_null(etcd_client_create(&o, err, sizeof(err)));
    assert_true(err[0] != '\0');
    o.endpoint = "127.0.0.1:2379"; /* scheme missing */
    err[0] = '\0';
    assert_null(etcd_client_create(&o, err, sizeof(err)));
    assert_non_null(strstr(err, "http"));
    o.endpoint = "http://127.0.0.1:2379/";
    o.request_timeout_ms = -1;
    assert_null(etcd_client_create(&o, err, sizeof(err)));
    o.request_timeout_ms = 0;
    h = etcd_client_create(&o, err, sizeof(err));
    assert_non_null(h);
    /* argument checks need no network */
    etcd_kv_list l;
    assert_int_equal(etcd_get(h, "", &l), SC_EINVAL);
    assert_int_equal(etcd_put(h, NULL, "x", 1, 0, NULL), SC_EINVAL);
    assert_int_equal(etcd_lease_grant(h, 0, NULL, NULL), SC_EINVAL);
    assert_true(etcd_errstr(h)[0] != '\0');
    etcd_client_free(h);
    etcd_client_free(NULL);
    assert_null(etcd_watch_start(&o, "p/", 0, NULL, NULL, err, sizeof(err)));
    etcd_watch_stop(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_b64_vectors),
        cmocka_unit_test(test_b64_buf_long),
        cmocka_unit_test(test_b64_rejects),
        cmocka_unit_test(test_b64url),
        cmocka_unit_test(test_range_omitted_fields),
        cmocka_unit_test(test_range_empty_and_numbers),
        cmocka_unit_test(test_range_rejects),
        cmocka_unit_test(test_watch_put_delete),
        cmocka_unit_test(test_watch_created_compacted),
        cmocka_unit_test(test_watch_errors_and_garbage),
        cmocka_unit_test(test_opts_validation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
