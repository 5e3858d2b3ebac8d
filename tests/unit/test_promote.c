/*
 * test_promote.c - unit tests of the pure parts of big-channel promotion:
 * the channel index name of index_name.c (made and recognised), the
 * promotion job's target text and the N-shard schema (promote_job.c) and the
 * check of a binding. No stack needed (the rest is in it_promote).
 */
#include "index_name.h"
#include "promote.h"
#include "testlib.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_channel_index_name(void **state)
{
    char out[300], err[200];
    uint64_t id = 0;
    (void)state;
    assert_int_equal(sc_index_name_channel("messages", 123, out, sizeof out, err, sizeof err),
                     SC_OK);
    assert_string_equal(out, "messages-ch-123");
    assert_true(sc_index_name_is_channel(out, "messages", &id));
    assert_true(id == 123);
    /* the largest id, and the name passes the one rule */
    assert_int_equal(sc_index_name_channel("m", UINT64_MAX, out, sizeof out, NULL, 0), SC_OK);
    assert_string_equal(out, "m-ch-18446744073709551615");
    assert_int_equal(sc_index_name_check(out, 0, NULL, 0), SC_OK);
    /* refused: id 0, a bad base, too long, a buffer too small */
    assert_int_equal(sc_index_name_channel("messages", 0, out, sizeof out, err, sizeof err),
                     SC_EINVAL);
    assert_int_equal(sc_index_name_channel("Messages", 1, out, sizeof out, err, sizeof err),
                     SC_EINVAL);
    assert_non_null(strstr(err, "not allowed"));
    {
        char base[256];
        memset(base, 'a', 251);
        base[251] = '\0';
        assert_int_equal(sc_index_name_channel(base, 1, out, sizeof out, err, sizeof err),
                         SC_EINVAL);
        assert_non_null(strstr(err, "too long"));
    }
    assert_int_equal(sc_index_name_channel("messages", 123, out, 10, err, sizeof err), SC_EINVAL);
    /* recognised only exactly */
    assert_false(sc_index_name_is_channel("messages", "messages", NULL));
    assert_false(sc_index_name_is_channel("messages-ch-", "messages", NULL));
    assert_false(sc_index_name_is_channel("messages-ch-0", "messages", NULL));
    assert_false(sc_index_name_is_channel("messages-ch-012", "messages", NULL));
    assert_false(sc_index_name_is_channel("messages-ch-12x", "messages", NULL));
    assert_false(sc_index_name_is_channel("messages-ch-18446744073709551616", "messages", NULL));
    assert_false(sc_index_name_is_channel("other-ch-12", "messages", NULL));
    assert_false(sc_index_name_is_channel("messages-v2-ch-12", "messages", NULL));
    assert_true(sc_index_name_is_channel("messages-v2-ch-12", "messages-v2", &id));
    assert_true(id == 12);
}

static void test_target(void **state)
{
    char t[64];
    uint64_t ch = 0;
    int shards = 0;
    (void)state;
    assert_int_equal(sc_promote_target(987654321012345678ULL, 4, t, sizeof t), SC_OK);
    assert_string_equal(t, "987654321012345678 shards=4");
    assert_int_equal(sc_promote_target_parse(t, &ch, &shards), SC_OK);
    assert_true(ch == 987654321012345678ULL);
    assert_int_equal(shards, 4);
    assert_int_equal(sc_promote_target(1, 0, t, sizeof t), SC_EINVAL);
    assert_int_equal(sc_promote_target(1, 1025, t, sizeof t), SC_EINVAL);
    assert_int_equal(sc_promote_target(0, 1, t, sizeof t), SC_EINVAL);
    assert_int_equal(sc_promote_target(123, 2, t, 5), SC_EINVAL);
    {
        static const char *const bad[] = {"",
                                          "123",
                                          "123 shards=",
                                          "123 shards=0",
                                          "123 shards=1025",
                                          "0 shards=2",
                                          "0123 shards=2",
                                          "123 shards=02",
                                          "123  shards=2",
                                          "123 shards=2 ",
                                          "123 shard=2",
                                          "-1 shards=2",
                                          "9223372036854775808 shards=2",
                                          NULL};
        for (int i = 0; bad[i] != NULL; i++) {
            if (sc_promote_target_parse(bad[i], &ch, &shards) != SC_EINVAL)
                fail_msg("'%s' was accepted", bad[i]);
        }
    }
    assert_int_equal(sc_promote_target_parse(NULL, &ch, &shards), SC_EINVAL);
}

static int shards_of(const char *schema)
{
    cJSON *j = cJSON_Parse(schema);
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "settings"), "index"),
        "number_of_shards");
    int v = cJSON_IsNumber(n) ? n->valueint : -1;
    cJSON_Delete(j);
    return v;
}

static void test_schema(void **state)
{
    char *s;
    (void)state;
    s = sc_promote_schema("{\"settings\":{\"index\":{\"number_of_shards\":1,"
                          "\"number_of_replicas\":0}},\"mappings\":{\"dynamic\":\"strict\"}}",
                          6);
    assert_non_null(s);
    assert_int_equal(shards_of(s), 6);
    assert_non_null(strstr(s, "\"number_of_replicas\":0"));
    assert_non_null(strstr(s, "\"dynamic\":\"strict\""));
    free(s);
    /* the flat form is replaced, a missing settings object is made */
    s = sc_promote_schema("{\"settings\":{\"number_of_shards\":1},\"mappings\":{}}", 3);
    assert_non_null(s);
    assert_int_equal(shards_of(s), 3);
    assert_null(strstr(s, "\"number_of_shards\":1"));
    free(s);
    s = sc_promote_schema("{\"mappings\":{}}", 2);
    assert_non_null(s);
    assert_int_equal(shards_of(s), 2);
    free(s);
    /* the real schema of the project */
    {
        FILE *f = fopen(t_repo_path("schemas/elasticsearch/messages.json"), "rb");
        char buf[65536];
        size_t n;
        assert_non_null(f);
        n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = '\0';
        s = sc_promote_schema(buf, 8);
        assert_non_null(s);
        assert_int_equal(shards_of(s), 8);
        assert_non_null(strstr(s, "\"channel_id\""));
        free(s);
    }
    assert_null(sc_promote_schema("[1]", 2));
    assert_null(sc_promote_schema("{\"settings\":3}", 2));
    assert_null(sc_promote_schema("not json", 2));
    assert_null(sc_promote_schema("{}", 0));
    assert_null(sc_promote_schema("{}", 1025));
}

static void test_classify(void **state)
{
    sc_binding b;
    (void)state;
    memset(&b, 0, sizeof b);
    snprintf(b.cluster, sizeof b.cluster, "c1");
    snprintf(b.index, sizeof b.index, "messages");
    b.state = SC_BINDING_ACTIVE;
    assert_int_equal(sc_promote_classify(NULL, "messages"), SC_PROMOTE_UNBOUND);
    assert_int_equal(sc_promote_classify(&b, "messages"), SC_PROMOTE_GO);
    b.state = SC_BINDING_MOVING;
    assert_int_equal(sc_promote_classify(&b, "messages"), SC_PROMOTE_BUSY);
    b.state = SC_BINDING_BUILDING;
    assert_int_equal(sc_promote_classify(&b, "messages"), SC_PROMOTE_BUSY);
    b.state = SC_BINDING_ACTIVE;
    snprintf(b.index, sizeof b.index, "messages-ch-77");
    assert_int_equal(sc_promote_classify(&b, "messages"), SC_PROMOTE_ALREADY);
    assert_string_equal(sc_promote_check_str(SC_PROMOTE_ALREADY), "already");
    /* an index of another base is a shared index of this one */
    assert_int_equal(sc_promote_classify(&b, "other"), SC_PROMOTE_GO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_channel_index_name),
        cmocka_unit_test(test_target),
        cmocka_unit_test(test_schema),
        cmocka_unit_test(test_classify),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
