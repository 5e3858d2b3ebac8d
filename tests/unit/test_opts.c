/*
 * test_opts.c - unit tests of the option builders every program uses to
 * wire its handles from the validated config: sc_redis_opts_from_config,
 * sc_binder_opts_from_config and sc_clients_base_opts. Each option set in
 * the config must arrive in the options struct, and what the config leaves
 * out must arrive as the struct's "unset". No stack needed.
 */
#include "binding.h"
#include "clients.h"
#include "config.h"
#include "redis.h"
#include "testlib.h"

#include <string.h>

static void set(sc_config *c, const char *name, const char *value)
{
    char err[SC_ERRLEN];
    if (sc_config_set(c, name, value, err, sizeof err) != SC_OK)
        fail_msg("set %s=%s: %s", name, value, err);
}

static void test_redis_opts(void **state)
{
    sc_config c;
    sc_redis_opts ro;
    (void)state;
    sc_config_defaults(&c);
    memset(&ro, 0x5a, sizeof ro); /* every field must be written */
    sc_redis_opts_from_config(&c, &ro);
    assert_string_equal(ro.host, "127.0.0.1");
    assert_int_equal(ro.port, 6379);
    assert_string_equal(ro.password, "");
    assert_string_equal(ro.user, "");
    assert_int_equal(ro.connect_timeout_ms, 0); /* sc_redis's defaults */
    assert_int_equal(ro.command_timeout_ms, 0);

    set(&c, "redis_host", "redis.internal");
    set(&c, "redis_port", "7001");
    set(&c, "redis_user", "indexer");
    set(&c, "redis_password", "s3cret");
    sc_redis_opts_from_config(&c, &ro);
    assert_string_equal(ro.host, "redis.internal");
    assert_int_equal(ro.port, 7001);
    assert_string_equal(ro.user, "indexer");
    assert_string_equal(ro.password, "s3cret");
    assert_ptr_equal(ro.host, c.redis_host); /* borrowed, not copied */
    sc_config_free(&c);
}

static void test_binder_opts(void **state)
{
    sc_config c;
    sc_binder_opts bo;
    char handles[3]; /* stand-ins: the builder only passes the refs on */
    sc_redis *redis = (sc_redis *)(void *)&handles[0];
    sc_db *db = (sc_db *)(void *)&handles[1];
    sc_cluster_view *view = (sc_cluster_view *)(void *)&handles[2];
    (void)state;
    sc_config_defaults(&c);
    set(&c, "namespace", "scourtest");
    set(&c, "index_name", "msgs-v2");
    set(&c, "binding_cache_ttl_s", "120");
    memset(&bo, 0x5a, sizeof bo);
    sc_binder_opts_from_config(&c, redis, db, view, &bo);
    assert_string_equal(bo.ns, "scourtest");
    assert_string_equal(bo.index_name, "msgs-v2");
    assert_int_equal(bo.cache_ttl_s, 120);
    assert_ptr_equal(bo.redis, redis);
    assert_ptr_equal(bo.db, db);
    assert_ptr_equal(bo.view, view);
    sc_config_free(&c);
}

static void test_es_base_opts(void **state)
{
    sc_config c;
    es_opts eo;
    (void)state;
    sc_config_defaults(&c);
    sc_clients_base_opts(&c, &eo);
    assert_null(eo.user); /* "" in the config is "none" for the client */
    assert_null(eo.api_key);
    assert_null(eo.ca_file);
    set(&c, "es_user", "scour");
    set(&c, "es_request_timeout_ms", "4321");
    sc_clients_base_opts(&c, &eo);
    assert_string_equal(eo.user, "scour");
    assert_int_equal(eo.timeout_ms, 4321);
    sc_config_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redis_opts),
        cmocka_unit_test(test_binder_opts),
        cmocka_unit_test(test_es_base_opts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
