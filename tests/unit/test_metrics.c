/* test_metrics.c - the Prometheus registry, its text format, concurrent
 * updates, and the /metrics HTTP endpoint (served for real on loopback). */
#include "testlib.h"

#include <curl/curl.h>
#include <pthread.h>
#include <string.h>

#include "metrics.h"

static void test_counter_labels_and_render(void **state)
{
    sc_metrics *m = sc_metrics_create();
    sc_metric *c =
        sc_metrics_add(m, SC_METRIC_COUNTER, "scour_bulk_errors_total", "Bulk errors", "cluster");
    sc_metric *g = sc_metrics_add(m, SC_METRIC_GAUGE, "scour_lag", "Lag", NULL);
    sc_buf b;
    (void)state;
    assert_non_null(c);
    assert_null(sc_metrics_add(m, SC_METRIC_GAUGE, "scour_lag", "dup", NULL));
    sc_metric_add(c, "c1", 2);
    sc_metric_add(c, "c1", 3);
    sc_metric_add(c, "c\"2", 1);
    sc_metric_set(g, NULL, 42);
    assert_true(sc_metric_value(c, "c1") == 5);
    assert_true(sc_metric_value(c, "nope") == 0);
    sc_buf_init(&b, 0);
    assert_int_equal(sc_metrics_render(m, &b), SC_OK);
    assert_non_null(strstr(b.data, "# TYPE scour_bulk_errors_total counter\n"));
    assert_non_null(strstr(b.data, "scour_bulk_errors_total{cluster=\"c1\"} 5\n"));
    assert_non_null(strstr(b.data, "scour_bulk_errors_total{cluster=\"c\\\"2\"} 1\n"));
    assert_non_null(strstr(b.data, "scour_lag 42\n"));
    sc_buf_free(&b);
    sc_metrics_free(m);
}

static void test_histogram(void **state)
{
    sc_metrics *m = sc_metrics_create();
    sc_metric *h =
        sc_metrics_add(m, SC_METRIC_HISTOGRAM, "scour_bulk_seconds", "Bulk latency", "cluster");
    sc_buf b;
    (void)state;
    sc_metric_observe(h, "c1", 0.0005);
    sc_metric_observe(h, "c1", 0.02);
    sc_metric_observe(h, "c1", 100);
    sc_buf_init(&b, 0);
    assert_int_equal(sc_metrics_render(m, &b), SC_OK);
    assert_non_null(strstr(b.data, "scour_bulk_seconds_bucket{cluster=\"c1\",le=\"0.001\"} 1\n"));
    assert_non_null(strstr(b.data, "scour_bulk_seconds_bucket{cluster=\"c1\",le=\"0.025\"} 2\n"));
    assert_non_null(strstr(b.data, "scour_bulk_seconds_bucket{cluster=\"c1\",le=\"30\"} 2\n"));
    assert_non_null(strstr(b.data, "scour_bulk_seconds_bucket{cluster=\"c1\",le=\"+Inf\"} 3\n"));
    assert_non_null(strstr(b.data, "scour_bulk_seconds_count{cluster=\"c1\"} 3\n"));
    sc_buf_free(&b);
    sc_metrics_free(m);
}

static void *bump(void *arg)
{
    sc_metric *c = arg;
    char lbl[16];
    for (int i = 0; i < 20000; i++) {
        snprintf(lbl, sizeof(lbl), "l%d", i % 4);
        sc_metric_add(c, lbl, 1);
    }
    return NULL;
}

static void test_concurrent_updates(void **state)
{
    sc_metrics *m = sc_metrics_create();
    sc_metric *c = sc_metrics_add(m, SC_METRIC_COUNTER, "x_total", "x", "l");
    pthread_t t[4];
    (void)state;
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, bump, c);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < 4; i++) {
        char lbl[16];
        snprintf(lbl, sizeof(lbl), "l%d", i);
        assert_true(sc_metric_value(c, lbl) == 20000);
    }
    sc_metrics_free(m);
}

static size_t collect(char *p, size_t sz, size_t n, void *ud)
{
    sc_buf *b = ud;
    return sc_buf_append(b, p, sz * n) == SC_OK ? sz * n : 0;
}

static long http_get(const char *url, sc_buf *body)
{
    CURL *e = curl_easy_init();
    long code = 0;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 5000L);
    if (curl_easy_perform(e) == CURLE_OK)
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(e);
    return code;
}

static volatile int g_ready;

static int ready_fn(void *ud, sc_buf *body)
{
    int up = *(volatile int *)ud;
    return sc_buf_printf(body, "{\"ready\":%s}", up ? "true" : "false") == SC_OK && up;
}

static void test_http_endpoint(void **state)
{
    sc_metrics *m = sc_metrics_create();
    sc_metric *c = sc_metrics_add(m, SC_METRIC_COUNTER, "scour_events_in_total", "in", "stage");
    char err[SC_ERRLEN], url[128];
    int port = 0;
    sc_buf b;
    sc_metrics_server *s;
    (void)state;
    sc_metric_add(c, "read", 7);
    s = sc_metrics_server_start(m, "127.0.0.1", 0, &port, err, sizeof(err));
    assert_non_null(s);
    assert_true(port > 0);
    sc_buf_init(&b, 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", port);
    assert_int_equal(http_get(url, &b), 200);
    assert_non_null(strstr(b.data, "scour_events_in_total{stage=\"read\"} 7"));
    sc_buf_reset(&b);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/nope", port);
    assert_int_equal(http_get(url, &b), 404);
    /* /readyz: 404 until a readiness function is set, then 503 / 200 with its body */
    sc_buf_reset(&b);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/readyz", port);
    assert_int_equal(http_get(url, &b), 404);
    sc_metrics_server_set_ready(s, ready_fn, (void *)&g_ready);
    g_ready = 0;
    sc_buf_reset(&b);
    assert_int_equal(http_get(url, &b), 503);
    assert_non_null(strstr(b.data, "\"ready\":false"));
    g_ready = 1;
    sc_buf_reset(&b);
    assert_int_equal(http_get(url, &b), 200);
    assert_non_null(strstr(b.data, "\"ready\":true"));
    sc_buf_free(&b);
    sc_metrics_server_stop(s);
    assert_null(sc_metrics_server_start(m, "not-an-ip", 0, &port, err, sizeof(err)));
    assert_non_null(strstr(err, "bad listen address"));
    sc_metrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counter_labels_and_render),
        cmocka_unit_test(test_histogram),
        cmocka_unit_test(test_concurrent_updates),
        cmocka_unit_test(test_http_endpoint),
    };
    curl_global_init(CURL_GLOBAL_ALL);
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
