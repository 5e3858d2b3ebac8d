/*
 * it_es.c - es.c + bulk.c against real OpenSearch clusters from tests/stack:
 * index creation from schemas/elasticsearch/messages.json, external-version
 * bulk writes (conflict / reject classification), search (standard, english,
 * cjk sub-fields), health, stats, and failure paths (closed port, a black
 * hole that never answers, response cap, a cluster killed and restarted).
 *
 * The kill/restart test runs only when the stack has >= 2 clusters, and
 * can be skipped with SC_TEST_NO_DESTRUCTIVE=1 (for a shared dev stack).
 * It always restarts the cluster in its teardown, even on failure.
 */
#include "testlib.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bulk.h"
#include "es.h"

static char *schema_text;
/* Index created by the running test and the cluster URL it lives on; the
 * per-test teardown deletes it even when an assertion aborted the test. */
static char cur_index[96];
static const char *cur_url;

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *p;
    long n;
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n > 0);
    rewind(f);
    p = malloc((size_t)n + 1);
    assert_non_null(p);
    assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
    p[n] = '\0';
    fclose(f);
    return p;
}

static es_client *client_for(const char *url, long connect_ms, long timeout_ms)
{
    es_opts o;
    char err[256] = "";
    es_client *h;
    memset(&o, 0, sizeof(o));
    o.url = url;
    o.connect_timeout_ms = connect_ms;
    o.timeout_ms = timeout_ms;
    o.replicas = 0;
    o.refresh_interval = "2s";
    h = es_client_create(&o, err, sizeof(err));
    if (h == NULL)
        fail_msg("es_client_create(%s): %s", url, err);
    return h;
}

#define ES_OK(h, call)                                                         \
    do {                                                                       \
        sc_status st_ = (call);                                                \
        if (st_ != SC_OK)                                                      \
            fail_msg("%s -> %s: %s", #call, sc_status_str(st_), es_errstr(h)); \
    } while (0)

/* A document in the strict mapping's shape (what esdoc.c produces). */
static void make_doc(char *out, size_t len, uint64_t id, uint64_t channel, int64_t version,
                     const char *content)
{
    sc_buf b;
    sc_buf_init(&b, 0);
    assert_int_equal(sc_buf_printf(&b,
                                   "{\"id\":%" PRIu64 ",\"channel_id\":%" PRIu64
                                   ",\"guild_id\":%" PRIu64 ",\"author_id\":42,\"author_type\":"
                                   "\"user\",\"timestamp\":%" PRId64 ",\"content\":",
                                   id, channel, channel + 1, sc_snowflake_to_ms(id)),
                     SC_OK);
    assert_int_equal(sc_buf_json_str(&b, content), SC_OK);
    assert_int_equal(
        sc_buf_printf(&b,
                      ",\"mentions\":[7,8],\"mention_everyone\":false,\"has\":"
                      "[\"link\"],\"pinned\":false,\"link_hostnames\":[\"Example.COM\"],"
                      "\"attachment_filenames\":[\"Cat Photo.PNG\"],"
                      "\"attachment_extensions\":[\"PNG\"],\"embed_types\":[\"link\"],"
                      "\"embed_providers\":[\"YouTube\"],\"version\":%" PRId64
                      ",\"deleted\":false}",
                      version),
        SC_OK);
    assert_true(b.len < len);
    snprintf(out, len, "%s", b.data);
    sc_buf_free(&b);
}

/* Number of hits of a query on index; ids of the first hits into ids[]. */
static int search_count(es_client *h, const char *index, const char *query, uint64_t *ids,
                        int max_ids)
{
    sc_buf resp;
    long status = 0;
    cJSON *root, *hits, *total, *arr, *hit;
    int n, k = 0;
    sc_buf_init(&resp, 0);
    ES_OK(h, es_search(h, index, query, &resp, &status));
    assert_int_equal(status, 200);
    root = cJSON_Parse(resp.data);
    assert_non_null(root);
    hits = cJSON_GetObjectItemCaseSensitive(root, "hits");
    total = cJSON_GetObjectItemCaseSensitive(hits, "total");
    assert_true(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(total, "value")));
    n = cJSON_GetObjectItemCaseSensitive(total, "value")->valueint;
    arr = cJSON_GetObjectItemCaseSensitive(hits, "hits");
    cJSON_ArrayForEach(hit, arr)
    {
        cJSON *src = cJSON_GetObjectItemCaseSensitive(hit, "_source");
        /* _source keeps only the ids: bodies live in PostgreSQL */
        assert_non_null(cJSON_GetObjectItemCaseSensitive(src, "id"));
        assert_non_null(cJSON_GetObjectItemCaseSensitive(src, "channel_id"));
        assert_null(cJSON_GetObjectItemCaseSensitive(src, "content"));
        /* ids above 2^53 do not survive a double: read the string _id */
        cJSON *idv = cJSON_GetObjectItemCaseSensitive(hit, "_id");
        assert_true(cJSON_IsString(idv));
        if (k < max_ids)
            assert_int_equal(sc_parse_u64(idv->valuestring, &ids[k++]), SC_OK);
    }
    cJSON_Delete(root);
    sc_buf_free(&resp);
    return n;
}

static int match_count(es_client *h, const char *index, uint64_t channel, const char *field,
                       const char *text, uint64_t *ids, int max_ids)
{
    char q[1024];
    sc_buf esc;
    int n;
    sc_buf_init(&esc, 0);
    assert_int_equal(sc_buf_json_str(&esc, text), SC_OK);
    snprintf(q, sizeof(q),
             "{\"query\":{\"bool\":{\"filter\":[{\"term\":{\"channel_id\":%" PRIu64 "}}],"
             "\"must\":[{\"match\":{\"%s\":{\"query\":%s,\"operator\":\"and\"}}}]}}}",
             channel, field, esc.data);
    sc_buf_free(&esc);
    n = search_count(h, index, q, ids, max_ids);
    return n;
}

static void test_ensure_index(void **state)
{
    char index[96], path[160];
    es_client *h = client_for(t_es_url(0), 2000, 15000);
    sc_buf resp;
    long status = 0;
    cJSON *root, *settings;
    (void)state;
    t_unique(index, sizeof(index), "it-es-ensure");
    snprintf(cur_index, sizeof(cur_index), "%s", index);
    cur_url = t_es_url(0);
    ES_OK(h, es_ensure_index(h, index, schema_text));
    ES_OK(h, es_ensure_index(h, index, schema_text)); /* idempotent */
    /* overrides from the options reached the index */
    snprintf(path, sizeof(path), "/%s/_settings", index);
    sc_buf_init(&resp, 0);
    ES_OK(h, es_request(h, "GET", path, NULL, 0, &resp, &status));
    assert_int_equal(status, 200);
    root = cJSON_Parse(resp.data);
    settings = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, index), "settings"),
        "index");
    assert_non_null(settings);
    assert_string_equal(
        cJSON_GetObjectItemCaseSensitive(settings, "number_of_replicas")->valuestring, "0");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(settings, "number_of_shards")->valuestring,
                        "1");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(settings, "refresh_interval")->valuestring,
                        "2s");
    cJSON_Delete(root);
    /* strict mapping and trimmed _source came from the schema file */
    snprintf(path, sizeof(path), "/%s/_mapping", index);
    ES_OK(h, es_request(h, "GET", path, NULL, 0, &resp, &status));
    assert_non_null(strstr(resp.data, "\"dynamic\":\"strict\""));
    assert_non_null(strstr(resp.data, "\"cjk\""));
    sc_buf_free(&resp);
    /* a PUT racing past the HEAD check is still success */
    snprintf(path, sizeof(path), "/%s", index);
    assert_int_equal(es_request(h, "PUT", path, schema_text, strlen(schema_text), NULL, &status),
                     SC_ERR);
    assert_int_equal(status, 400);
    assert_non_null(strstr(es_errstr(h), "resource_already_exists_exception"));
    /* bad names never reach the server */
    assert_int_equal(es_ensure_index(h, "Bad/Name", schema_text), SC_EINVAL);
    assert_int_equal(es_ensure_index(h, "_all", schema_text), SC_EINVAL);
    assert_int_equal(es_delete_index(h, "it-es-*"), SC_EINVAL);
    /* schema that is not JSON */
    {
        char other[96];
        t_unique(other, sizeof(other), "it-es-badschema");
        assert_int_equal(es_ensure_index(h, other, "{not json"), SC_EINVAL);
    }
    ES_OK(h, es_delete_index(h, index));
    ES_OK(h, es_delete_index(h, index)); /* absent is fine */
    snprintf(path, sizeof(path), "/%s", index);
    assert_int_equal(es_request(h, "HEAD", path, NULL, 0, NULL, &status), SC_ENOTFOUND);
    assert_int_equal(status, 404);
    es_client_free(h);
    es_client_free(NULL);
}

static void test_bulk_versions_search_stats(void **state)
{
    char index[96], doc[2048], err[256];
    es_client *h = client_for(t_es_url(0), 2000, 15000);
    uint64_t channel = t_rand_id(), ids[3], got[4];
    sc_bulk b;
    sc_bulk_result r;
    sc_buf resp;
    long status = 0;
    es_stats_info stats;
    const char *texts[3] = {"the cats were running in the garden", "original second message",
                            "東京タワーで会いましょう"};
    (void)state;
    t_unique(index, sizeof(index), "it-es-bulk");
    snprintf(cur_index, sizeof(cur_index), "%s", index);
    cur_url = t_es_url(0);
    ES_OK(h, es_ensure_index(h, index, schema_text));
    for (int i = 0; i < 3; i++)
        ids[i] = t_snowflake_ago(60000 * (i + 1));

    /* first write: three documents at version 5 */
    sc_bulk_init(&b, 0);
    sc_buf_init(&resp, 0);
    for (int i = 0; i < 3; i++) {
        make_doc(doc, sizeof(doc), ids[i], channel, 5, texts[i]);
        assert_int_equal(sc_bulk_add_index(&b, index, ids[i], 5, doc, strlen(doc)), SC_OK);
    }
    ES_OK(h, es_bulk(h, b.body.data, b.body.len, &resp, &status));
    assert_int_equal(status, 200);
    assert_int_equal(sc_bulk_parse(resp.data, resp.len, 3, &r, err, sizeof(err)), SC_OK);
    assert_int_equal(r.errors, 0);
    assert_int_equal(r.n_ok, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(r.items[i].status, 201);
        assert_true(r.items[i].id == ids[i]);
    }
    sc_bulk_result_free(&r);

    /* replay: older version of doc 0 (conflict), newer doc 1 (wins),
     * doc 2 with a field the strict mapping does not know (reject) */
    sc_bulk_reset(&b);
    make_doc(doc, sizeof(doc), ids[0], channel, 3, "stale replay must not win");
    assert_int_equal(sc_bulk_add_index(&b, index, ids[0], 3, doc, strlen(doc)), SC_OK);
    make_doc(doc, sizeof(doc), ids[1], channel, 9, "edited second message");
    assert_int_equal(sc_bulk_add_index(&b, index, ids[1], 9, doc, strlen(doc)), SC_OK);
    snprintf(doc, sizeof(doc),
             "{\"id\":%" PRIu64 ",\"channel_id\":%" PRIu64 ",\"bogus\":1,\"version\":6}", ids[2],
             channel);
    assert_int_equal(sc_bulk_add_index(&b, index, ids[2], 6, doc, strlen(doc)), SC_OK);
    make_doc(doc, sizeof(doc), ids[0], channel, 5, "same version replay");
    assert_int_equal(sc_bulk_add_index(&b, index, ids[0], 5, doc, strlen(doc)), SC_OK);
    assert_int_equal(sc_bulk_count(&b), 4);
    ES_OK(h, es_bulk(h, b.body.data, b.body.len, &resp, &status));
    assert_int_equal(status, 200);
    assert_int_equal(sc_bulk_parse(resp.data, resp.len, 4, &r, err, sizeof(err)), SC_OK);
    assert_int_equal(r.errors, 1);
    assert_int_equal(r.items[0].status, 409);
    assert_int_equal(r.items[0].cls, SC_BULK_CONFLICT);
    assert_string_equal(r.items[0].error_type, "version_conflict_engine_exception");
    assert_int_equal(r.items[1].cls, SC_BULK_OK);
    assert_int_equal(r.items[1].status, 200);
    assert_int_equal(r.items[2].cls, SC_BULK_REJECT);
    assert_int_equal(r.items[2].status, 400);
    assert_string_equal(r.items[2].error_type, "strict_dynamic_mapping_exception");
    assert_int_equal(r.items[3].cls, SC_BULK_CONFLICT); /* equal version is also done */
    assert_int_equal(r.n_ok, 1);
    assert_int_equal(r.n_conflict, 2);
    assert_int_equal(r.n_reject, 1);
    sc_bulk_result_free(&r);

    /* the whole request rejected: body that is not bulk NDJSON */
    ES_OK(h, es_refresh(h, index));
    assert_int_equal(es_bulk(h, "{\"nope\":1}\n", 11, &resp, &status), SC_ERR);
    assert_int_equal(status, 400);
    assert_non_null(strstr(es_errstr(h), "/_bulk: HTTP 400"));
    assert_int_equal(sc_bulk_parse(resp.data, resp.len, 1, &r, err, sizeof(err)), SC_ERR);
    assert_int_equal(r.req_status, 400);
    assert_int_equal(r.req_cls, SC_BULK_REJECT);
    sc_bulk_result_free(&r);
    assert_int_equal(es_bulk(h, "{}", 2, &resp, &status), SC_EINVAL); /* no final newline */

    /* newest versions are what search sees */
    assert_int_equal(match_count(h, index, channel, "content", "edited second", got, 4), 1);
    assert_true(got[0] == ids[1]);
    assert_int_equal(match_count(h, index, channel, "content", "original second", got, 4), 0);
    assert_int_equal(match_count(h, index, channel, "content", "stale replay", got, 4), 0);
    assert_int_equal(match_count(h, index, channel, "content", "cats running", got, 4), 1);
    assert_true(got[0] == ids[0]);
    /* english stemming only on content.en */
    assert_int_equal(match_count(h, index, channel, "content", "cat runs", got, 4), 0);
    assert_int_equal(match_count(h, index, channel, "content.en", "cat runs", got, 4), 1);
    /* CJK bigrams on content.cjk */
    assert_int_equal(match_count(h, index, channel, "content.cjk", "東京タワー", got, 4), 1);
    assert_true(got[0] == ids[2]);
    assert_int_equal(match_count(h, index, channel, "content.cjk", "大阪城", got, 4), 0);
    /* keyword normalizer lc and filename text sub-field */
    assert_int_equal(match_count(h, index, channel, "link_hostnames", "example.com", got, 4), 3);
    assert_int_equal(
        match_count(h, index, channel, "attachment_filenames", "cat photo.png", got, 4), 3);
    assert_int_equal(match_count(h, index, channel, "attachment_filenames.text", "photo", got, 4),
                     3);
    assert_int_equal(match_count(h, index, channel, "embed_providers", "youtube", got, 4), 3);
    /* the pattern form of es_search works too */
    {
        char pattern[128], q[256];
        snprintf(pattern, sizeof(pattern), "%s*,it-es-none-*", index);
        snprintf(q, sizeof(q), "{\"query\":{\"term\":{\"channel_id\":%" PRIu64 "}}}", channel);
        assert_int_equal(search_count(h, pattern, q, got, 4), 3);
    }

    /* stats after refresh: three live documents */
    ES_OK(h, es_stats(h, index, &stats));
    assert_int_equal(stats.doc_count, 3);
    assert_true(stats.store_size_bytes > 0);
    ES_OK(h, es_stats(h, NULL, &stats));
    assert_true(stats.doc_count >= 3);

    /* a missing index is SC_ENOTFOUND for search */
    assert_int_equal(es_search(h, "it-es-does-not-exist", "{}", &resp, &status), SC_ENOTFOUND);
    assert_int_equal(status, 404);
    assert_non_null(strstr(es_errstr(h), "index_not_found_exception"));

    sc_buf_free(&resp);
    sc_bulk_free(&b);
    ES_OK(h, es_delete_index(h, index));
    es_client_free(h);
}

static void test_health(void **state)
{
    es_client *h = client_for(t_es_url(0), 2000, 10000);
    es_health_info hi;
    (void)state;
    ES_OK(h, es_health(h, &hi));
    assert_true(hi.status == ES_HEALTH_GREEN || hi.status == ES_HEALTH_YELLOW);
    assert_string_equal(hi.cluster_name, "scour-c1");
    assert_int_equal(hi.number_of_nodes, 1);
    assert_string_equal(es_health_str(hi.status),
                        hi.status == ES_HEALTH_GREEN ? "green" : "yellow");
    /* the handle is reused (keep-alive) across many calls */
    for (int i = 0; i < 20; i++)
        ES_OK(h, es_health(h, &hi));
    es_client_free(h);
}

static void test_options(void **state)
{
    es_opts o;
    char err[256];
    es_client *h;
    const es_opts *got;
    sc_buf resp;
    long status = 7;
    (void)state;
    memset(&o, 0, sizeof(o));
    err[0] = '\0';
    assert_null(es_client_create(&o, err, sizeof(err)));
    assert_true(err[0] != '\0');
    o.url = "ftp://127.0.0.1:9200";
    assert_null(es_client_create(&o, err, sizeof(err)));
    o.url = t_es_url(0);
    o.timeout_ms = -1;
    assert_null(es_client_create(&o, err, sizeof(err)));
    o.timeout_ms = 0;
    o.user = "u";
    o.password = "p";
    o.api_key = "abc";
    o.max_response = 100;
    h = es_client_create(&o, err, sizeof(err));
    assert_non_null(h);
    got = es_client_opts(h);
    assert_string_equal(got->url, t_es_url(0));
    assert_true(got->url != o.url); /* copied */
    assert_string_equal(got->api_key, "abc");
    assert_int_equal(got->connect_timeout_ms, 2000);
    assert_int_equal(got->timeout_ms, 30000);
    /* response cap: GET / answers ~500 bytes > 100 */
    sc_buf_init(&resp, 0);
    assert_int_equal(es_request(h, "GET", "/", NULL, 0, &resp, &status), SC_ENOMEM);
    assert_true(resp.len <= 100);
    assert_non_null(strstr(es_errstr(h), "larger than 100"));
    assert_int_equal(es_request(h, "PATCH", "/", NULL, 0, &resp, &status), SC_EINVAL);
    assert_int_equal(es_request(h, "GET", "no-slash", NULL, 0, &resp, &status), SC_EINVAL);
    sc_buf_free(&resp);
    /* es_apply_auth on a foreign easy handle */
    {
        CURL *e = curl_easy_init();
        struct curl_slist *hdrs = NULL;
        assert_non_null(e);
        assert_int_equal(es_apply_auth(e, got, NULL), SC_EINVAL); /* api key needs a list */
        assert_int_equal(es_apply_auth(e, got, &hdrs), SC_OK);
        assert_non_null(hdrs);
        assert_string_equal(hdrs->data, "Authorization: ApiKey abc");
        curl_slist_free_all(hdrs);
        curl_easy_cleanup(e);
    }
    es_client_free(h);
}

static void test_closed_port_fails_fast(void **state)
{
    es_client *h = client_for("http://127.0.0.1:9", 2000, 5000);
    es_health_info hi;
    long status = 9;
    int64_t t0 = sc_now_ms();
    sc_status st;
    (void)state;
    st = es_health(h, &hi);
    assert_int_equal(st, SC_ECONN);
    assert_true(sc_now_ms() - t0 < 1000);
    assert_non_null(strstr(es_errstr(h), "127.0.0.1:9/_cluster/health"));
    assert_int_equal(es_bulk(h, "{}\n{}\n", 6, NULL, &status), SC_ECONN);
    assert_int_equal(status, 0);
    es_client_free(h);
}

static void test_black_hole_times_out(void **state)
{
    struct sockaddr_in sa;
    socklen_t sl = sizeof(sa);
    char url[64];
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    es_client *h;
    es_health_info hi;
    int64_t t0, el;
    sc_status st;
    (void)state;
    assert_true(fd >= 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(fd, 8), 0); /* the kernel completes handshakes; nobody answers */
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u", (unsigned)ntohs(sa.sin_port));
    h = client_for(url, 1000, 800);
    t0 = sc_now_ms();
    st = es_health(h, &hi);
    el = sc_now_ms() - t0;
    assert_int_equal(st, SC_ETIMEOUT);
    assert_true(el >= 700);
    assert_true(el < 800 + 1000);
    assert_non_null(strstr(es_errstr(h), "timeout"));
    /* a second call on the same handle behaves the same (no stuck state) */
    t0 = sc_now_ms();
    assert_int_equal(es_search(h, "x", "{}", NULL, NULL), SC_ETIMEOUT);
    assert_true(sc_now_ms() - t0 < 800 + 1000);
    es_client_free(h);
    close(fd);
}

/* ---- destructive: kill cluster 2 and bring it back ---- */

static int cluster2_killed;

static int cluster_answers(void *arg)
{
    es_client *h = arg;
    es_health_info hi;
    return es_health(h, &hi) == SC_OK;
}

static void test_kill_and_restart_cluster(void **state)
{
    const char *n = t_env_opt("SC_ES_CLUSTERS");
    const char *no = getenv("SC_TEST_NO_DESTRUCTIVE");
    char index[96], doc[2048], err[256];
    es_client *h;
    es_health_info hi;
    sc_bulk b;
    sc_bulk_result r;
    sc_buf resp;
    long status;
    uint64_t id = t_snowflake_ago(1000), channel = t_rand_id(), got[2];
    int64_t t0;
    sc_status st;
    (void)state;
    if (n == NULL || atoi(n) < 2 || (no != NULL && *no == '1')) {
        skip();
        return;
    }
    h = client_for(t_es_url(1), 1000, 5000);
    ES_OK(h, es_health(h, &hi));
    assert_string_equal(hi.cluster_name, "scour-c2");
    /* write one document that must survive the crash (translog is fsynced per request) */
    t_unique(index, sizeof(index), "it-es-kill");
    snprintf(cur_index, sizeof(cur_index), "%s", index);
    cur_url = t_es_url(1);
    ES_OK(h, es_ensure_index(h, index, schema_text));
    sc_bulk_init(&b, 0);
    sc_buf_init(&resp, 0);
    make_doc(doc, sizeof(doc), id, channel, 1, "survives a crash");
    assert_int_equal(sc_bulk_add_index(&b, index, id, 1, doc, strlen(doc)), SC_OK);
    ES_OK(h, es_bulk(h, b.body.data, b.body.len, &resp, &status));

    cluster2_killed = 1;
    t_stack("es-kill 2");
    /* the kept-alive connection is dead: every call fails quickly, no hang */
    t0 = sc_now_ms();
    st = es_health(h, &hi);
    assert_true(st == SC_ECONN || st == SC_ETIMEOUT);
    st = es_bulk(h, b.body.data, b.body.len, &resp, &status);
    assert_true(st == SC_ECONN || st == SC_ETIMEOUT);
    assert_true(sc_now_ms() - t0 < 2 * 5000 + 1000);
    assert_non_null(strstr(es_errstr(h), t_es_url(1)));

    t_stack("es-start 2");
    cluster2_killed = 0;
    /* same handle recovers: reconnects by itself */
    assert_true(t_wait_until(cluster_answers, h, 30000));
    ES_OK(h, es_health(h, &hi));
    assert_string_equal(hi.cluster_name, "scour-c2");
    /* replaying the batch after the crash is a conflict, not a duplicate */
    ES_OK(h, es_bulk(h, b.body.data, b.body.len, &resp, &status));
    assert_int_equal(sc_bulk_parse(resp.data, resp.len, 1, &r, err, sizeof(err)), SC_OK);
    assert_int_equal(r.items[0].cls, SC_BULK_CONFLICT);
    sc_bulk_result_free(&r);
    ES_OK(h, es_refresh(h, index));
    assert_int_equal(match_count(h, index, channel, "content", "survives crash", got, 2), 1);
    assert_true(got[0] == id);
    ES_OK(h, es_delete_index(h, index));
    sc_buf_free(&resp);
    sc_bulk_free(&b);
    es_client_free(h);
}

/* Delete the test's index (if any) on its cluster; ignores failures. */
static int drop_index_teardown(void **state)
{
    (void)state;
    if (cur_index[0] != '\0' && cur_url != NULL) {
        es_client *h = client_for(cur_url, 2000, 10000);
        if (es_delete_index(h, cur_index) != SC_OK)
            fprintf(stderr, "cleanup: %s\n", es_errstr(h));
        es_client_free(h);
    }
    cur_index[0] = '\0';
    cur_url = NULL;
    return 0;
}

static int kill_teardown(void **state)
{
    if (cluster2_killed) {
        cluster2_killed = 0;
        t_stack("es-start 2");
    }
    return drop_index_teardown(state);
}

static int group_setup(void **state)
{
    (void)state;
    schema_text = read_file(t_repo_path("schemas/elasticsearch/messages.json"));
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    free(schema_text);
    schema_text = NULL;
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_options),
        cmocka_unit_test_teardown(test_ensure_index, drop_index_teardown),
        cmocka_unit_test_teardown(test_bulk_versions_search_stats, drop_index_teardown),
        cmocka_unit_test(test_health),
        cmocka_unit_test(test_closed_port_fails_fast),
        cmocka_unit_test(test_black_hole_times_out),
        cmocka_unit_test_teardown(test_kill_and_restart_cluster, kill_teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
