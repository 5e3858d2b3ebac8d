/*
 * test_bulk.c - unit tests for bulk.c: NDJSON building (escaping, limits,
 * rollback, counters) and _bulk response parsing/classification. No I/O.
 */
#include "testlib.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bulk.h"

/* Split body into lines; returns count, lines point into a copy the caller frees. */
static size_t split_lines(const char *body, size_t len, char **copy, char *lines[], size_t max)
{
    size_t n = 0;
    char *p, *nl;
    *copy = malloc(len + 1);
    assert_non_null(*copy);
    memcpy(*copy, body, len);
    (*copy)[len] = '\0';
    p = *copy;
    while (*p != '\0' && n < max) {
        nl = strchr(p, '\n');
        assert_non_null(nl); /* every line must end in '\n' */
        *nl = '\0';
        lines[n++] = p;
        p = nl + 1;
    }
    return n;
}

static void test_build_basic(void **state)
{
    sc_bulk b;
    char *copy, *lines[8];
    const char *doc = "{\"id\":12345678901234567890,\"content\":\"hi\"}";
    (void)state;
    sc_bulk_init(&b, 0);
    assert_int_equal(sc_bulk_count(&b), 0);
    assert_int_equal(sc_bulk_bytes(&b), 0);
    assert_int_equal(
        sc_bulk_add_index(&b, "messages-1", 12345678901234567890ULL, 7, doc, strlen(doc)), SC_OK);
    assert_int_equal(sc_bulk_count(&b), 1);
    assert_int_equal(sc_bulk_bytes(&b), b.body.len);
    assert_int_equal(split_lines(b.body.data, b.body.len, &copy, lines, 8), 2);
    assert_string_equal(lines[0],
                        "{\"index\":{\"_index\":\"messages-1\",\"_id\":\"12345678901234567890\","
                        "\"version\":7,\"version_type\":\"external\"}}");
    assert_string_equal(lines[1], doc);
    free(copy);
    /* the body is exactly what was counted */
    assert_int_equal(strlen(b.body.data), sc_bulk_bytes(&b));
    assert_int_equal(b.body.data[b.body.len - 1], '\n');
    sc_bulk_free(&b);
    sc_bulk_free(NULL);
}

/* verify's repair: external_gte writes and conditional deletes */
static void test_build_gte_and_delete_if(void **state)
{
    sc_bulk b;
    char *copy, *lines[8];
    (void)state;
    sc_bulk_init(&b, 0);
    b.gte = 1;
    assert_int_equal(sc_bulk_add_index(&b, "m", 5, 3, "{}", 2), SC_OK);
    assert_int_equal(sc_bulk_add_delete_if(&b, "m", 6, 41, 2), SC_OK);
    assert_int_equal(sc_bulk_add_delete_if(&b, "", 6, 41, 2), SC_EINVAL);
    assert_int_equal(sc_bulk_add_delete_if(&b, "m", 6, -1, 2), SC_EINVAL);
    assert_int_equal(sc_bulk_count(&b), 2);
    assert_int_equal(split_lines(b.body.data, b.body.len, &copy, lines, 8), 3);
    assert_string_equal(lines[0], "{\"index\":{\"_index\":\"m\",\"_id\":\"5\",\"version\":3,"
                                  "\"version_type\":\"external_gte\"}}");
    assert_string_equal(lines[2], "{\"delete\":{\"_index\":\"m\",\"_id\":\"6\",\"if_seq_no\":41,"
                                  "\"if_primary_term\":2}}");
    free(copy);
    sc_bulk_free(&b);
}

static void test_build_escaping(void **state)
{
    sc_bulk b;
    char *copy, *lines[8];
    /* quote, backslash, control chars and UTF-8 in the index name */
    const char *index = "we\"ird\\ix\x01\x1f\ttab-日本-ü";
    const char *doc = "{\"content\":\"\\\"q\\\" \\\\ \\n 東京 ü\"}";
    cJSON *action, *meta, *v, *d;
    (void)state;
    sc_bulk_init(&b, 0);
    assert_int_equal(sc_bulk_add_index(&b, index, 1, 0, doc, strlen(doc)), SC_OK);
    assert_int_equal(split_lines(b.body.data, b.body.len, &copy, lines, 8), 2);
    /* raw control characters must not survive into the action line */
    for (const char *p = lines[0]; *p; p++)
        assert_true((unsigned char)*p >= 0x20);
    assert_non_null(strstr(lines[0], "\\u0001"));
    assert_non_null(strstr(lines[0], "\\u001f"));
    assert_non_null(strstr(lines[0], "\\t"));
    action = cJSON_Parse(lines[0]);
    assert_non_null(action);
    meta = cJSON_GetObjectItemCaseSensitive(action, "index");
    assert_non_null(meta);
    v = cJSON_GetObjectItemCaseSensitive(meta, "_index");
    assert_true(cJSON_IsString(v));
    assert_string_equal(v->valuestring, index); /* round-trips exactly, UTF-8 intact */
    v = cJSON_GetObjectItemCaseSensitive(meta, "_id");
    assert_string_equal(v->valuestring, "1");
    v = cJSON_GetObjectItemCaseSensitive(meta, "version");
    assert_true(cJSON_IsNumber(v));
    assert_int_equal((int)v->valuedouble, 0);
    v = cJSON_GetObjectItemCaseSensitive(meta, "version_type");
    assert_string_equal(v->valuestring, "external");
    cJSON_Delete(action);
    /* the document is copied verbatim and is still valid JSON */
    assert_string_equal(lines[1], doc);
    d = cJSON_Parse(lines[1]);
    assert_non_null(d);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(d, "content")->valuestring,
                        "\"q\" \\ \n 東京 ü");
    cJSON_Delete(d);
    free(copy);
    sc_bulk_free(&b);
}

static void test_build_rejects_bad_input(void **state)
{
    sc_bulk b;
    const char *ok = "{\"a\":1}";
    (void)state;
    sc_bulk_init(&b, 0);
    assert_int_equal(sc_bulk_add_index(&b, "", 1, 1, ok, strlen(ok)), SC_EINVAL);
    assert_int_equal(sc_bulk_add_index(&b, NULL, 1, 1, ok, strlen(ok)), SC_EINVAL);
    assert_int_equal(sc_bulk_add_index(&b, "i", 1, -1, ok, strlen(ok)), SC_EINVAL);
    assert_int_equal(sc_bulk_add_index(&b, "i", 1, 1, ok, 0), SC_EINVAL);
    assert_int_equal(sc_bulk_add_index(&b, "i", 1, 1, "{\"a\":\n1}", 8), SC_EINVAL);
    assert_int_equal(sc_bulk_add_index(&b, "i", 1, 1, "{\"a\":\r1}", 8), SC_EINVAL);
    assert_int_equal(sc_bulk_count(&b), 0);
    assert_int_equal(sc_bulk_bytes(&b), 0);
    /* doc_len is honoured: trailing bytes beyond it are not copied */
    assert_int_equal(sc_bulk_add_index(&b, "i", 1, 1, "{\"a\":1}GARBAGE", 7), SC_OK);
    assert_null(strstr(b.body.data, "GARBAGE"));
    sc_bulk_free(&b);
}

static void test_build_counts_and_limit(void **state)
{
    sc_bulk b;
    char doc[64];
    size_t before, last_ok_bytes = 0, added = 0;
    (void)state;
    sc_bulk_init(&b, 1000);
    for (int i = 0; i < 100; i++) {
        int n = snprintf(doc, sizeof(doc), "{\"id\":%d,\"content\":\"message %d\"}", i, i);
        sc_status st;
        before = sc_bulk_bytes(&b);
        st = sc_bulk_add_index(&b, "idx", (uint64_t)i + 1, i, doc, (size_t)n);
        if (st == SC_ENOMEM) {
            /* rollback: nothing of the failed pair remains */
            assert_int_equal(sc_bulk_bytes(&b), before);
            assert_int_equal(strlen(b.body.data), before);
            break;
        }
        assert_int_equal(st, SC_OK);
        added++;
        assert_true(sc_bulk_bytes(&b) > before);
        last_ok_bytes = sc_bulk_bytes(&b);
    }
    assert_true(added > 3 && added < 100);
    assert_int_equal(sc_bulk_count(&b), added);
    assert_true(sc_bulk_bytes(&b) <= 1000);
    assert_int_equal(sc_bulk_bytes(&b), last_ok_bytes);
    /* every action line is followed by its doc: 2 lines per op */
    {
        size_t nl = 0;
        for (size_t k = 0; k < b.body.len; k++)
            nl += b.body.data[k] == '\n';
        assert_int_equal(nl, 2 * added);
    }
    /* flush thresholds */
    assert_true(sc_bulk_full(&b, added, 0));
    assert_false(sc_bulk_full(&b, added + 1, 0));
    assert_true(sc_bulk_full(&b, 0, sc_bulk_bytes(&b)));
    assert_false(sc_bulk_full(&b, 0, sc_bulk_bytes(&b) + 1));
    assert_false(sc_bulk_full(&b, 0, 0));
    sc_bulk_reset(&b);
    assert_int_equal(sc_bulk_count(&b), 0);
    assert_int_equal(sc_bulk_bytes(&b), 0);
    assert_false(sc_bulk_full(&b, 1, 1));
    assert_int_equal(sc_bulk_add_index(&b, "idx", 9, 9, "{}", 2), SC_OK);
    assert_int_equal(sc_bulk_count(&b), 1);
    sc_bulk_free(&b);
}

static void test_classify(void **state)
{
    (void)state;
    assert_int_equal(sc_bulk_classify(200), SC_BULK_OK);
    assert_int_equal(sc_bulk_classify(201), SC_BULK_OK);
    assert_int_equal(sc_bulk_classify(409), SC_BULK_CONFLICT);
    assert_int_equal(sc_bulk_classify(429), SC_BULK_RETRY);
    assert_int_equal(sc_bulk_classify(500), SC_BULK_RETRY);
    assert_int_equal(sc_bulk_classify(503), SC_BULK_RETRY);
    assert_int_equal(sc_bulk_classify(400), SC_BULK_REJECT);
    assert_int_equal(sc_bulk_classify(404), SC_BULK_REJECT);
    assert_int_equal(sc_bulk_classify(413), SC_BULK_REJECT);
    assert_string_equal(sc_bulk_class_str(SC_BULK_RETRY), "retry");
}

static void test_parse_all_ok(void **state)
{
    const char *resp =
        "{\"took\":3,\"errors\":false,\"items\":["
        "{\"index\":{\"_index\":\"m\",\"_id\":\"11\",\"_version\":5,\"result\":\"created\","
        "\"status\":201}},"
        "{\"index\":{\"_index\":\"m\",\"_id\":\"12\",\"_version\":6,\"result\":\"updated\","
        "\"status\":200}},"
        "{\"index\":{\"_index\":\"m\",\"_id\":\"18446744073709551615\",\"status\":201}}]}";
    sc_bulk_result r;
    char err[256] = "";
    (void)state;
    assert_int_equal(sc_bulk_parse(resp, strlen(resp), 3, &r, err, sizeof(err)), SC_OK);
    assert_int_equal(r.n, 3);
    assert_int_equal(r.errors, 0);
    assert_int_equal(r.n_ok, 3);
    assert_int_equal(r.n_conflict + r.n_retry + r.n_reject, 0);
    assert_int_equal(r.items[0].status, 201);
    assert_int_equal(r.items[0].id, 11);
    assert_int_equal(r.items[1].status, 200);
    assert_int_equal(r.items[1].id, 12);
    assert_true(r.items[2].id == UINT64_MAX);
    assert_int_equal(r.items[2].cls, SC_BULK_OK);
    assert_string_equal(r.items[1].error_type, "");
    sc_bulk_result_free(&r);
    assert_null(r.items);
    sc_bulk_result_free(NULL);
}

static void test_parse_partial_failures(void **state)
{
    /* real-shaped errors for each class, in a deliberate order */
    const char *resp =
        "{\"took\":30,\"errors\":true,\"items\":["
        "{\"index\":{\"_index\":\"m\",\"_id\":\"1\",\"_version\":3,\"result\":\"created\","
        "\"status\":201}},"
        "{\"index\":{\"_index\":\"m\",\"_id\":\"2\",\"status\":409,\"error\":{\"type\":"
        "\"version_conflict_engine_exception\",\"reason\":\"[2]: version conflict, current version "
        "[9] "
        "is higher or equal to the one provided [4]\",\"index\":\"m\"}}},"
        "{\"index\":{\"_index\":\"m\",\"_id\":\"3\",\"status\":429,\"error\":{\"type\":"
        "\"es_rejected_execution_exception\",\"reason\":\"rejected execution of coordinating "
        "operation\"}}},"
        "{\"index\":{\"_index\":\"m\",\"_id\":\"4\",\"status\":400,\"error\":{\"type\":"
        "\"strict_dynamic_mapping_exception\",\"reason\":\"mapping set to strict, dynamic "
        "introduction of "
        "[bogus] within [_doc] is not allowed\"}}},"
        "{\"index\":{\"_index\":\"m\",\"_id\":\"5\",\"status\":503,\"error\":{\"type\":"
        "\"unavailable_shards_exception\",\"reason\":\"primary shard is not active\"}}},"
        "{\"create\":{\"_index\":\"m\",\"_id\":\"6\",\"status\":404,\"error\":\"legacy string "
        "error\"}}]}";
    sc_bulk_result r;
    char err[256] = "";
    (void)state;
    assert_int_equal(sc_bulk_parse(resp, strlen(resp), 6, &r, err, sizeof(err)), SC_OK);
    assert_int_equal(r.n, 6);
    assert_int_equal(r.errors, 1);
    assert_int_equal(r.n_ok, 1);
    assert_int_equal(r.n_conflict, 1);
    assert_int_equal(r.n_retry, 2);
    assert_int_equal(r.n_reject, 2);
    assert_int_equal(r.items[0].cls, SC_BULK_OK);
    assert_int_equal(r.items[1].cls, SC_BULK_CONFLICT);
    assert_int_equal(r.items[1].status, 409);
    assert_int_equal(r.items[1].id, 2);
    assert_string_equal(r.items[1].error_type, "version_conflict_engine_exception");
    assert_non_null(strstr(r.items[1].reason, "version conflict"));
    assert_int_equal(r.items[2].cls, SC_BULK_RETRY);
    assert_string_equal(r.items[2].error_type, "es_rejected_execution_exception");
    assert_int_equal(r.items[3].cls, SC_BULK_REJECT);
    assert_int_equal(r.items[3].status, 400);
    assert_string_equal(r.items[3].error_type, "strict_dynamic_mapping_exception");
    assert_int_equal(r.items[4].cls, SC_BULK_RETRY);
    assert_int_equal(r.items[4].status, 503);
    assert_int_equal(r.items[5].cls, SC_BULK_REJECT);
    assert_string_equal(r.items[5].error_type, "");
    assert_string_equal(r.items[5].reason, "legacy string error");
    sc_bulk_result_free(&r);
}

static void test_parse_long_reason_truncated(void **state)
{
    char reason[2000], resp[2600];
    sc_bulk_result r;
    (void)state;
    memset(reason, 'x', sizeof(reason) - 1);
    reason[sizeof(reason) - 1] = '\0';
    snprintf(resp, sizeof(resp),
             "{\"errors\":true,\"items\":[{\"index\":{\"_id\":\"1\",\"status\":400,"
             "\"error\":{\"type\":\"mapper_parsing_exception\",\"reason\":\"%s\"}}}]}",
             reason);
    assert_int_equal(sc_bulk_parse(resp, strlen(resp), 1, &r, NULL, 0), SC_OK);
    assert_int_equal(strlen(r.items[0].reason), SC_BULK_REASON_LEN - 1);
    assert_int_equal(r.items[0].cls, SC_BULK_REJECT);
    sc_bulk_result_free(&r);
}

static void test_parse_count_mismatch(void **state)
{
    const char *resp = "{\"errors\":false,\"items\":[{\"index\":{\"_id\":\"1\",\"status\":201}},"
                       "{\"index\":{\"_id\":\"2\",\"status\":201}}]}";
    sc_bulk_result r;
    char err[256] = "";
    (void)state;
    assert_int_equal(sc_bulk_parse(resp, strlen(resp), 3, &r, err, sizeof(err)), SC_EPROTO);
    assert_non_null(strstr(err, "2 items for 3 actions"));
    assert_null(r.items);
    assert_int_equal(r.n, 0);
    sc_bulk_result_free(&r);
    assert_int_equal(sc_bulk_parse(resp, strlen(resp), 1, &r, err, sizeof(err)), SC_EPROTO);
    sc_bulk_result_free(&r);
    /* empty bulk answer for an empty request is fine */
    assert_int_equal(sc_bulk_parse("{\"errors\":false,\"items\":[]}", 27, 0, &r, err, sizeof(err)),
                     SC_OK);
    assert_int_equal(r.n, 0);
    sc_bulk_result_free(&r);
}

static void test_parse_garbage(void **state)
{
    sc_bulk_result r;
    char err[256];
    const char *cases[] = {
        "<html><body>502 Bad Gateway</body></html>",
        "{\"errors\":false,\"items\":[{\"index\":{\"_id\":\"1\",\"status\":201}}", /* truncated */
        "[1,2,3]",
        "{\"took\":1}",                                              /* no items */
        "{\"errors\":\"no\",\"items\":[]}",                          /* wrong type */
        "{\"errors\":true,\"items\":[{\"index\":{\"_id\":\"1\"}}]}", /* no status */
        "{\"errors\":true,\"items\":[{\"index\":{\"_id\":\"1\",\"status\":\"201\"}}]}",
        "{\"errors\":true,\"items\":[42]}",
        "{\"errors\":false,\"items\":[{\"index\":{\"_id\":\"1\",\"status\":400}}]}", /* lies */
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        err[0] = '\0';
        assert_int_equal(sc_bulk_parse(cases[i], strlen(cases[i]), 1, &r, err, sizeof(err)),
                         SC_EPROTO);
        assert_true(err[0] != '\0');
        assert_null(r.items);
        sc_bulk_result_free(&r);
    }
    assert_int_equal(sc_bulk_parse("", 0, 1, &r, err, sizeof(err)), SC_EPROTO);
    sc_bulk_result_free(&r);
    assert_int_equal(sc_bulk_parse(NULL, 0, 1, &r, err, sizeof(err)), SC_EPROTO);
    sc_bulk_result_free(&r);
    /* not NUL-terminated: only len bytes are read */
    {
        char raw[8] = {'{', '"', 'e', 'r', 'r', 'o', 'r', 's'};
        assert_int_equal(sc_bulk_parse(raw, sizeof(raw), 1, &r, err, sizeof(err)), SC_EPROTO);
        sc_bulk_result_free(&r);
    }
}

static void test_parse_top_level_error(void **state)
{
    const char *bad =
        "{\"error\":{\"root_cause\":[{\"type\":\"illegal_argument_exception\","
        "\"reason\":\"The bulk request must be terminated by a newline [\\n]\"}],"
        "\"type\":\"illegal_argument_exception\",\"reason\":\"The bulk request must be "
        "terminated by a newline [\\n]\"},\"status\":400}";
    const char *busy = "{\"error\":{\"type\":\"circuit_breaking_exception\",\"reason\":\"[parent] "
                       "Data too large\"},\"status\":429}";
    sc_bulk_result r;
    char err[256] = "";
    (void)state;
    assert_int_equal(sc_bulk_parse(bad, strlen(bad), 2, &r, err, sizeof(err)), SC_ERR);
    assert_int_equal(r.req_status, 400);
    assert_int_equal(r.req_cls, SC_BULK_REJECT);
    assert_string_equal(r.error_type, "illegal_argument_exception");
    assert_non_null(strstr(r.reason, "terminated by a newline"));
    assert_null(r.items);
    assert_non_null(strstr(err, "400"));
    sc_bulk_result_free(&r);
    assert_int_equal(sc_bulk_parse(busy, strlen(busy), 2, &r, err, sizeof(err)), SC_ERR);
    assert_int_equal(r.req_status, 429);
    assert_int_equal(r.req_cls, SC_BULK_RETRY);
    assert_string_equal(r.error_type, "circuit_breaking_exception");
    sc_bulk_result_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_basic),
        cmocka_unit_test(test_build_escaping),
        cmocka_unit_test(test_build_gte_and_delete_if),
        cmocka_unit_test(test_build_rejects_bad_input),
        cmocka_unit_test(test_build_counts_and_limit),
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_parse_all_ok),
        cmocka_unit_test(test_parse_partial_failures),
        cmocka_unit_test(test_parse_long_reason_truncated),
        cmocka_unit_test(test_parse_count_mismatch),
        cmocka_unit_test(test_parse_garbage),
        cmocka_unit_test(test_parse_top_level_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
