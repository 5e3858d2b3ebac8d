/* test_promtext.c - the Prometheus text reader the console scrapes with:
 * what scour's own registry renders (metrics.c) reads back exactly,
 * escapes, +Inf, and lines that are skipped rather than misread. */
#include "testlib.h"

#include "metrics.h"
#include "promtext.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void test_roundtrip_of_our_registry(void **state)
{
    sc_metrics *m = sc_metrics_create();
    sc_metric *c = sc_metrics_add(m, SC_METRIC_COUNTER, "scour_indexer_events_total", "x", "stage");
    sc_metric *h =
        sc_metrics_add(m, SC_METRIC_HISTOGRAM, "scour_indexer_bulk_seconds", "y", "cluster");
    sc_metric *g = sc_metrics_add(m, SC_METRIC_GAUGE, "scour_indexer_queue_lag", "z", NULL);
    sc_prom_sample *s = NULL;
    size_t n = 0, bad = 9;
    sc_buf b;
    (void)state;
    sc_metric_add(c, "read", 10);
    sc_metric_add(c, "acked", 7);
    sc_metric_add(c, "we\"ird", 1);
    sc_metric_observe(h, "c1", 0.003);
    sc_metric_observe(h, "c1", 0.2);
    sc_metric_set(g, NULL, 42);
    sc_buf_init(&b, 0);
    assert_int_equal(sc_metrics_render(m, &b), SC_OK);
    assert_int_equal(sc_prom_parse(b.data, b.len, &s, &n, &bad), SC_OK);
    assert_int_equal(bad, 0);
    assert_true(sc_prom_sum(s, n, "scour_indexer_events_total", "stage", "read") == 10);
    assert_true(sc_prom_sum(s, n, "scour_indexer_events_total", NULL, NULL) == 18);
    assert_true(sc_prom_sum(s, n, "scour_indexer_events_total", "stage", "we\"ird") == 1);
    assert_true(sc_prom_sum(s, n, "scour_indexer_queue_lag", NULL, NULL) == 42);
    assert_true(sc_prom_sum(s, n, "scour_indexer_bulk_seconds_count", "cluster", "c1") == 2);
    assert_true(sc_prom_sum(s, n, "scour_indexer_bulk_seconds_bucket", "le", "0.005") == 1);
    assert_true(sc_prom_sum(s, n, "scour_indexer_bulk_seconds_bucket", "le", "+Inf") == 2);
    assert_true(sc_prom_sum(s, n, "nothing", NULL, NULL) == 0);
    free(s);
    sc_buf_free(&b);
    sc_metrics_free(m);
}

static void test_edge_lines(void **state)
{
    static const char text[] = "# HELP a b\n"
                               "\n"
                               "  plain 1.5\r\n"
                               "inf{le=\"+Inf\"} +Inf\n"
                               "esc{a=\"x\\\\y\\n\",b=\"2\",} 3 1700000000000\n"
                               "bad{a=\"unterminated} 1\n"
                               "noval\n"
                               "1digitfirst 2\n"
                               "trail 4x\n"
                               "last 7";
    sc_prom_sample *s = NULL;
    size_t n = 0, bad = 0;
    (void)state;
    assert_int_equal(sc_prom_parse(text, strlen(text), &s, &n, &bad), SC_OK);
    assert_int_equal(n, 4);
    assert_int_equal(bad, 4);
    assert_string_equal(s[0].name, "plain");
    assert_true(s[0].value == 1.5);
    assert_true(isinf(s[1].value));
    assert_string_equal(sc_prom_label(&s[2], "a"), "x\\y\n");
    assert_string_equal(sc_prom_label(&s[2], "b"), "2");
    assert_null(sc_prom_label(&s[2], "c"));
    assert_true(s[2].value == 3);
    assert_string_equal(s[3].name, "last");
    free(s);
    assert_int_equal(sc_prom_parse("", 0, &s, &n, NULL), SC_OK);
    assert_int_equal(n, 0);
    assert_null(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_of_our_registry),
        cmocka_unit_test(test_edge_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
