/*
 * test_merge.c - unit tests for merge.c: parsing real-shaped Elasticsearch
 * _search responses, and the exactness property of merging (randomized
 * splits of one data set across 1..4 clusters must give the same pages as a
 * single cluster holding everything), plus failed/partial clusters and ties.
 */
#include "merge.h"
#include "testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static sc_status parse(const char *json, sc_cluster_result *r, char *err)
{
    return sc_cluster_result_parse(json, strlen(json), r, err, SC_ERRLEN);
}

static void test_parse_response(void **state)
{
    const char *body =
        "{\"took\":3,\"timed_out\":false,\"_shards\":{\"total\":1,\"successful\":1,"
        "\"skipped\":0,\"failed\":0},\"hits\":{\"total\":{\"value\":1234,\"relation\":\"eq\"},"
        "\"max_score\":null,\"hits\":["
        "{\"_index\":\"messages\",\"_id\":\"1175928847299117063\",\"_score\":null,"
        "\"_source\":{\"id\":\"1175928847299117063\",\"channel_id\":\"1009999999999999999\"},"
        "\"sort\":[1175928847299117063]},"
        "{\"_index\":\"messages\",\"_id\":\"1175928847299117000\",\"_score\":2.5,"
        "\"_source\":{\"id\":\"1175928847299117000\",\"channel_id\":12345}}]}}";
    sc_cluster_result r;
    char err[SC_ERRLEN] = "";
    (void)state;
    assert_int_equal(parse(body, &r, err), SC_OK);
    assert_int_equal(r.n, 2);
    assert_true(r.total == 1234);
    assert_false(r.total_gte);
    assert_false(r.incomplete);
    assert_false(r.failed);
    assert_true(r.hits[0].id == 1175928847299117063ULL);
    assert_true(r.hits[0].channel_id == 1009999999999999999ULL);
    assert_true(r.hits[0].score == 0.0);
    assert_true(r.hits[1].id == 1175928847299117000ULL);
    assert_true(r.hits[1].channel_id == 12345);
    assert_true(r.hits[1].score == 2.5);
    sc_cluster_result_clear(&r);
    assert_null(r.hits);
    sc_cluster_result_clear(NULL);
}

static void test_parse_variants(void **state)
{
    sc_cluster_result r;
    char err[SC_ERRLEN] = "";
    (void)state;
    /* id only in _source (no _id), empty hits, timed out, gte relation */
    assert_int_equal(parse("{\"timed_out\":true,\"hits\":{\"total\":{\"value\":10000,"
                           "\"relation\":\"gte\"},\"hits\":[{\"_source\":{\"id\":\"77\"}}]}}",
                           &r, err),
                     SC_OK);
    assert_int_equal(r.n, 1);
    assert_true(r.hits[0].id == 77);
    assert_true(r.hits[0].channel_id == 0);
    assert_true(r.total_gte);
    assert_true(r.incomplete);
    sc_cluster_result_clear(&r);
    /* shard failure marks incomplete */
    assert_int_equal(parse("{\"_shards\":{\"failed\":1},\"hits\":{\"total\":{\"value\":0},"
                           "\"hits\":[]}}",
                           &r, err),
                     SC_OK);
    assert_int_equal(r.n, 0);
    assert_true(r.incomplete);
    sc_cluster_result_clear(&r);
}

/* Both parsers give one answer for b; returns what the fast path did. */
static int same_answer(const char *b)
{
    sc_cluster_result f, c;
    char ef[SC_ERRLEN] = "", ec[SC_ERRLEN] = "";
    sc_status sf, sc;
    int fast;
    memset(&f, 0, sizeof f);
    fast = sc_cluster_result_parse_fast(b, strlen(b), &f);
    sc_cluster_result_clear(&f);
    sf = sc_cluster_result_parse(b, strlen(b), &f, ef, sizeof ef);
    sc = sc_cluster_result_parse_cjson(b, strlen(b), &c, ec, sizeof ec);
    assert_int_equal(sf, sc);
    assert_string_equal(ef, ec);
    assert_int_equal(f.n, c.n);
    assert_true(f.total == c.total);
    assert_int_equal(f.total_gte, c.total_gte);
    assert_int_equal(f.incomplete, c.incomplete);
    assert_int_equal(f.failed, c.failed);
    for (size_t i = 0; i < f.n; i++) {
        assert_true(f.hits[i].id == c.hits[i].id);
        assert_true(f.hits[i].channel_id == c.hits[i].channel_id);
        assert_memory_equal(&f.hits[i].score, &c.hits[i].score, sizeof(double));
    }
    sc_cluster_result_clear(&f);
    sc_cluster_result_clear(&c);
    return fast;
}

/* The usual OpenSearch answers take the fast path; anything odd falls back
 * to cJSON; either way the answer is the reference's. */
static void test_parse_fast_path(void **state)
{
    static const struct {
        int fast; /* expected from sc_cluster_result_parse_fast */
        const char *body;
    } cases[] = {
        /* as OpenSearch 2.19 answers a channel search sorted by id */
        {0, "{\"took\":5,\"timed_out\":false,\"_shards\":{\"total\":1,\"successful\":1,"
            "\"skipped\":0,\"failed\":0},\"hits\":{\"total\":{\"value\":86,\"relation\":"
            "\"eq\"},\"max_score\":null,\"hits\":[{\"_index\":\"ix\",\"_id\":"
            "\"1577828082661293702\",\"_score\":null,\"_source\":{\"id\":"
            "\"1577828082661293702\",\"channel_id\":\"1545327572159131857\"},\"sort\":"
            "[1577828082661293702]}]}}"},
        /* sorted by relevance: fractional scores and sort values */
        {0, "{\"took\":20,\"timed_out\":false,\"_shards\":{\"failed\":0},\"hits\":{\"total\":"
            "{\"value\":86,\"relation\":\"eq\"},\"max_score\":5.6600866,\"hits\":[{\"_id\":"
            "\"1571160289480111699\",\"_score\":5.6600866,\"_source\":{\"id\":"
            "\"1571160289480111699\",\"channel_id\":\"1\"},\"sort\":[5.6600866,"
            "1571160289480111699]},{\"_id\":\"3\",\"_score\":-1.5e-3,\"_source\":{}}]}}"},
        {0, "{\"hits\":{\"total\":{\"value\":0,\"relation\":\"eq\"},\"max_score\":null,"
            "\"hits\":[]}}"},
        {0, " { \"hits\" : { \"hits\" : [ { \"_source\" : { \"channel_id\" : null , \"id\" : "
            "9007199254740992 } } ] , \"total\" : { \"relation\" : \"gte\" , \"value\" : 1e4 } "
            "} , \"timed_out\" : true } "},
        {0, "{\"hits\":{\"total\":3,\"hits\":[{\"_id\":\"abc\",\"_source\":{\"id\":\"42\"},"
            "\"_score\":0}]},\"_shards\":{\"failed\":\"x\"}}"},
        {0, "{\"_shards\":{\"failed\":2},\"hits\":{\"total\":{\"value\":1},\"hits\":"
            "[{\"_id\":7,\"_score\":1E2}]}}"},
        /* not the usual shape: cJSON decides */
        {-1, "{\"error\":{\"type\":\"parsing_exception\"},\"status\":400}"},
        {-1, "{\"hits\":{\"total\":{\"value\":1},\"hits\":[{\"_id\":\"1\\u0032\"}]}}"},
        {-1, "{\"hits\":{\"total\":{\"value\":1},\"hits\":[{\"_id\":\"1\",\"_id\":\"2\"}]}}"},
        {-1, "{\"hits\":{\"total\":{\"value\":1},\"hits\":[]}} trailing"},
        {-1, "{\"hits\":{\"total\":{\"value\":-1},\"hits\":[]}}"},
        {-1, "{\"hits\":{\"hits\":[]}}"},
        {-1, "{\"hits\":{\"total\":{\"value\":1},\"hits\":[{\"_id\":\"x\"}]}}"},
        {-1, "{\"hits\":{\"total\":{\"value\":1},\"hits\":[{\"_id\":1.5}]}}"},
        {-1, "{\"hits\":{\"total\":{\"value\":1},\"hits\":[{\"_id\":\"1\",\"_source\":"
             "{\"channel_id\":true}}]}}"},
        {-1, "{\"hits\":{\"total\":{\"value\":1},\"hits\":[{\"_id\":\"1\",\"_score\":01}]}}"},
        {-1, "{\"hits\":{\"total\":{\"value\":1},\"hits\":[1]}}"},
        {-1, "[]"},
        {-1, ""},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int fast = same_answer(cases[i].body);
        if (fast != cases[i].fast)
            fail_msg("case %zu: fast path %d, expected %d: %s", i, fast, cases[i].fast,
                     cases[i].body);
    }
}

static void test_parse_errors(void **state)
{
    static const struct {
        const char *body;
        const char *err;
    } cases[] = {
        {"", "response is not a JSON object"},
        {"[1]", "response is not a JSON object"},
        {"{\"hits\":{", "response is not a JSON object"},
        {"{\"error\":{\"type\":\"index_not_found_exception\"},\"status\":404}",
         "cluster returned an error"},
        {"{\"took\":1}", "no hits.hits array"},
        {"{\"hits\":{\"hits\":[]}}", "no hits.total"},
        {"{\"hits\":{\"total\":{\"value\":\"x\"},\"hits\":[]}}", "bad hits.total.value"},
        {"{\"hits\":{\"total\":{\"value\":1},\"hits\":[{\"_id\":\"abc\"}]}}",
         "hit 0: no usable _id or _source.id"},
        {"{\"hits\":{\"total\":{\"value\":1},\"hits\":[{\"_id\":\"1\"},{\"_id\":-5}]}}",
         "hit 1: no usable _id or _source.id"},
        {"{\"hits\":{\"total\":{\"value\":1},\"hits\":[{\"_id\":\"1\",\"_source\":"
         "{\"channel_id\":1175928847299117063}}]}}",
         "hit 0: _source.channel_id is not an exact id (index ids as strings)"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sc_cluster_result r;
        char err[SC_ERRLEN] = "";
        assert_int_equal(parse(cases[i].body, &r, err), SC_EPROTO);
        assert_string_equal(err, cases[i].err);
        assert_true(r.failed);
        assert_null(r.hits);
        assert_int_equal(r.n, 0);
    }
}

/* ---- exactness ---- */

static sc_sort_by g_by;
static sc_sort_order g_order;

/* Independent reference ordering (written separately from merge.c's). */
static int ref_cmp(const void *pa, const void *pb)
{
    const sc_hit *a = pa, *b = pb;
    if (g_by == SC_SORT_RELEVANCE) {
        if (a->score > b->score)
            return -1;
        if (a->score < b->score)
            return 1;
        return (a->id > b->id) ? -1 : (a->id < b->id);
    }
    if (g_order == SC_ORDER_ASC)
        return (a->id < b->id) ? -1 : (a->id > b->id);
    return (a->id > b->id) ? -1 : (a->id < b->id);
}

static uint64_t rnd64(void)
{
    return ((uint64_t)(unsigned)rand() << 33) ^ ((uint64_t)(unsigned)rand() << 11) ^
           (uint64_t)(unsigned)rand();
}

static void check_split(const sc_hit *all, size_t n, size_t k, size_t offset, size_t limit)
{
    sc_cluster_result res[4];
    sc_merge_page page;
    size_t want = n > offset ? (n - offset < limit ? n - offset : limit) : 0;
    memset(res, 0, sizeof(res));
    for (size_t c = 0; c < k; c++) {
        res[c].hits = calloc(n + 1, sizeof(sc_hit));
        assert_non_null(res[c].hits);
    }
    /* deal hits at random; each cluster knows its own total */
    for (size_t i = 0; i < n; i++) {
        size_t c = (size_t)rand() % k;
        res[c].hits[res[c].n++] = all[i];
        res[c].total++;
    }
    /* each cluster answers its own top offset+limit, sorted */
    for (size_t c = 0; c < k; c++) {
        qsort(res[c].hits, res[c].n, sizeof(sc_hit), ref_cmp);
        if (res[c].n > offset + limit)
            res[c].n = offset + limit;
    }
    assert_int_equal(sc_merge(res, k, g_by, g_order, offset, limit, &page), SC_OK);
    assert_true(page.total == n);
    assert_false(page.partial);
    assert_int_equal(page.failed, 0);
    assert_int_equal(page.n, want);
    for (size_t i = 0; i < want; i++) {
        assert_true(page.hits[i].id == all[offset + i].id);
        assert_true(page.hits[i].score == all[offset + i].score);
        assert_true(page.hits[i].channel_id == all[offset + i].channel_id);
    }
    sc_merge_page_clear(&page);
    for (size_t c = 0; c < k; c++)
        sc_cluster_result_clear(&res[c]);
}

static void test_merge_exactness_randomized(void **state)
{
    size_t checks = 0;
    (void)state;
    srand(12345);
    for (int round = 0; round < 60; round++) {
        size_t n = (size_t)(rand() % 120);
        sc_hit *all = calloc(n + 1, sizeof(sc_hit));
        assert_non_null(all);
        for (size_t i = 0; i < n; i++) {
            int dup;
            do { /* unique ids */
                all[i].id = rnd64() & ((1ULL << 62) - 1);
                dup = 0;
                for (size_t j = 0; j < i; j++)
                    dup |= all[j].id == all[i].id;
            } while (dup);
            all[i].channel_id = 1000 + (uint64_t)(rand() % 7);
            /* few distinct scores, so ties (broken by id) are common */
            all[i].score = (double)(rand() % 6) * 0.75;
        }
        for (int mode = 0; mode < 3; mode++) {
            g_by = mode == 2 ? SC_SORT_RELEVANCE : SC_SORT_TIMESTAMP;
            g_order = mode == 1 ? SC_ORDER_ASC : SC_ORDER_DESC;
            qsort(all, n, sizeof(sc_hit), ref_cmp); /* ground truth */
            for (size_t offset = 0; offset <= n + 3; offset += 1 + (size_t)(rand() % 7)) {
                size_t limit = 1 + (size_t)(rand() % 25);
                size_t k = 1 + (size_t)(rand() % 4);
                check_split(all, n, k, offset, limit);
                checks++;
            }
        }
        free(all);
    }
    assert_true(checks > 500);
}

static void test_merge_failed_and_partial(void **state)
{
    sc_cluster_result res[3];
    sc_merge_page page;
    sc_hit a[] = {{30, 1, 0}, {10, 1, 0}};
    sc_hit b[] = {{20, 2, 0}};
    (void)state;
    memset(res, 0, sizeof(res));
    res[0].hits = a;
    res[0].n = 2;
    res[0].total = 2;
    res[1].failed = 1;
    res[1].total = 99; /* ignored: a failed cluster contributes nothing */
    res[2].hits = b;
    res[2].n = 1;
    res[2].total = 1;
    assert_int_equal(sc_merge(res, 3, SC_SORT_TIMESTAMP, SC_ORDER_DESC, 0, 25, &page), SC_OK);
    assert_true(page.partial);
    assert_int_equal(page.failed, 1);
    assert_true(page.total == 3);
    assert_int_equal(page.n, 3);
    assert_true(page.hits[0].id == 30 && page.hits[1].id == 20 && page.hits[2].id == 10);
    sc_merge_page_clear(&page);

    /* incomplete (timed out) cluster: partial but not failed */
    res[1].failed = 0;
    res[1].incomplete = 1;
    res[1].total = 0;
    assert_int_equal(sc_merge(res, 3, SC_SORT_TIMESTAMP, SC_ORDER_ASC, 1, 1, &page), SC_OK);
    assert_true(page.partial);
    assert_int_equal(page.failed, 0);
    assert_int_equal(page.n, 1);
    assert_true(page.hits[0].id == 20);
    sc_merge_page_clear(&page);

    /* all failed: empty page, not an error */
    res[0].failed = res[1].failed = res[2].failed = 1;
    assert_int_equal(sc_merge(res, 3, SC_SORT_RELEVANCE, SC_ORDER_DESC, 0, 25, &page), SC_OK);
    assert_int_equal(page.failed, 3);
    assert_int_equal(page.n, 0);
    assert_true(page.total == 0);
    sc_merge_page_clear(&page);
    sc_merge_page_clear(NULL);

    /* offset past the end */
    res[0].failed = res[1].failed = res[2].failed = 0;
    assert_int_equal(sc_merge(res, 3, SC_SORT_TIMESTAMP, SC_ORDER_DESC, 3, 25, &page), SC_OK);
    assert_int_equal(page.n, 0);
    assert_true(page.total == 3);
    sc_merge_page_clear(&page);
}

static void test_merge_ties_and_duplicates(void **state)
{
    sc_cluster_result res[2];
    sc_merge_page page;
    /* equal scores: id desc decides; id 5 seen on both clusters (migration) */
    sc_hit a[] = {{5, 1, 1.0}, {9, 1, 1.0}, {1, 1, 3.0}};
    sc_hit b[] = {{5, 1, 2.0}, {7, 2, 1.0}};
    (void)state;
    memset(res, 0, sizeof(res));
    res[0].hits = a;
    res[0].n = 3;
    res[0].total = 3;
    res[1].hits = b;
    res[1].n = 2;
    res[1].total = 2;
    assert_int_equal(sc_merge(res, 2, SC_SORT_RELEVANCE, SC_ORDER_DESC, 0, 25, &page), SC_OK);
    assert_int_equal(page.n, 4);
    assert_true(page.hits[0].id == 1);
    assert_true(page.hits[1].id == 5 && page.hits[1].score == 2.0); /* best copy kept */
    assert_true(page.hits[2].id == 9);
    assert_true(page.hits[3].id == 7);
    sc_merge_page_clear(&page);
    /* same input in the other cluster order gives the same page */
    {
        sc_cluster_result sw[2] = {res[1], res[0]};
        assert_int_equal(sc_merge(sw, 2, SC_SORT_RELEVANCE, SC_ORDER_DESC, 0, 25, &page), SC_OK);
        assert_true(page.hits[0].id == 1 && page.hits[1].id == 5 && page.hits[2].id == 9 &&
                    page.hits[3].id == 7);
        sc_merge_page_clear(&page);
    }
}

/* Parse two real-shaped bodies and merge them end to end. */
static void test_parse_then_merge(void **state)
{
    const char *c1 = "{\"hits\":{\"total\":{\"value\":3,\"relation\":\"eq\"},\"hits\":["
                     "{\"_id\":\"300\",\"_source\":{\"id\":\"300\",\"channel_id\":\"1\"}},"
                     "{\"_id\":\"100\",\"_source\":{\"id\":\"100\",\"channel_id\":\"1\"}}]}}";
    const char *c2 = "{\"hits\":{\"total\":{\"value\":1,\"relation\":\"eq\"},\"hits\":["
                     "{\"_id\":\"200\",\"_source\":{\"id\":\"200\",\"channel_id\":\"2\"}}]}}";
    sc_cluster_result res[3];
    sc_merge_page page;
    char err[SC_ERRLEN];
    (void)state;
    assert_int_equal(parse(c1, &res[0], err), SC_OK);
    assert_int_equal(parse(c2, &res[1], err), SC_OK);
    assert_int_equal(parse("{\"error\":\"boom\"}", &res[2], err), SC_EPROTO);
    assert_int_equal(sc_merge(res, 3, SC_SORT_TIMESTAMP, SC_ORDER_DESC, 1, 2, &page), SC_OK);
    assert_true(page.total == 4);
    assert_true(page.partial);
    assert_int_equal(page.failed, 1);
    assert_int_equal(page.n, 2);
    assert_true(page.hits[0].id == 200 && page.hits[0].channel_id == 2);
    assert_true(page.hits[1].id == 100 && page.hits[1].channel_id == 1);
    sc_merge_page_clear(&page);
    for (int i = 0; i < 3; i++)
        sc_cluster_result_clear(&res[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_response),
        cmocka_unit_test(test_parse_variants),
        cmocka_unit_test(test_parse_fast_path),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_merge_exactness_randomized),
        cmocka_unit_test(test_merge_failed_and_partial),
        cmocka_unit_test(test_merge_ties_and_duplicates),
        cmocka_unit_test(test_parse_then_merge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
