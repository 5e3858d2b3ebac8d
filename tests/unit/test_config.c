/*
 * test_config.c - unit tests of libscour/config.c: defaults, the file /
 * environment / command-line sources and their precedence, every bound of
 * every option, value syntax, unknown keys, positional arguments, help,
 * dump, cross-field validation, and that docs/config.md matches the table.
 * No stack needed. Each test removes the SCOUR_* variables it sets.
 */
#include "buf.h"
#include "config.h"
#include "es.h"
#include "index_name.h"
#include "testlib.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])))

static char errbuf[SC_ERRLEN];

/* Remove every SCOUR_* variable so the host environment cannot leak in. */
static void clear_scour_env(void)
{
    extern char **environ;
    char name[256];
    int again = 1;
    while (again) {
        char **e;
        again = 0;
        for (e = environ; e && *e; e++) {
            const char *eq = strchr(*e, '=');
            size_t n = eq ? (size_t)(eq - *e) : strlen(*e);
            if (strncmp(*e, "SCOUR_", 6) == 0 && n < sizeof(name)) {
                memcpy(name, *e, n);
                name[n] = '\0';
                unsetenv(name);
                again = 1;
                break;
            }
        }
    }
}

static int group_setup(void **state)
{
    (void)state;
    clear_scour_env();
    return 0;
}

/* Write content to a fresh temp file; path receives its name. */
static void write_tmp(char *path, size_t len, const char *content)
{
    int fd;
    FILE *f;
    snprintf(path, len, "/tmp/test_config-%d-XXXXXX", (int)getpid());
    fd = mkstemp(path);
    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    assert_non_null(f);
    assert_int_equal(fputs(content, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

/* Load from a file only; returns status, err in errbuf. */
static sc_status load_file_only(sc_config *c, const char *content, char *path, size_t plen)
{
    char arg[300];
    char *argv[] = {"prog", arg};
    write_tmp(path, plen, content);
    snprintf(arg, sizeof(arg), "--config=%s", path);
    return sc_config_load(c, ARGC(argv), argv, NULL, errbuf, sizeof(errbuf));
}

static void defaults_load(void **state)
{
    sc_config c, d;
    const sc_config_row *rows;
    size_t n = sc_config_table(&rows), i;
    char *argv[] = {"prog"};
    sc_buf a, b;
    (void)state;

    assert_true(n >= 50);
    sc_config_defaults(&c);
    assert_int_equal(c.log_level, 2);
    assert_string_equal(c.namespace, "scour");
    assert_string_equal(c.etcd_url, "http://127.0.0.1:2379");
    assert_string_equal(c.redis_host, "127.0.0.1");
    assert_int_equal(c.redis_port, 6379);
    assert_string_equal(c.redis_password, "");
    assert_string_equal(c.pg_dsn, "host=127.0.0.1 dbname=scour");
    assert_int_equal(c.es_connect_timeout_ms, 2000);
    assert_int_equal(c.es_request_timeout_ms, 30000);
    assert_string_equal(c.es_refresh_interval, "1s");
    assert_string_equal(c.index_name, "messages-v1");
    assert_string_equal(c.index_schema, "schemas/elasticsearch/messages.json");
    assert_string_equal(c.stream, "scour:events");
    assert_string_equal(c.group, "indexers");
    assert_true(c.stream_maxlen == 10000000);
    assert_int_equal(c.workers, 4);
    assert_int_equal(c.batch_count, 500);
    assert_true(c.batch_bytes == 4u << 20);
    assert_int_equal(c.linger_ms, 50);
    assert_true(c.inflight_bytes_max == 64u << 20);
    assert_int_equal(c.claim_idle_ms, 30000);
    assert_int_equal(c.listen_port, 8080);
    assert_string_equal(c.jwt_secret, "");
    assert_int_equal(c.max_request_bytes, 16384);
    assert_int_equal(c.recent_days, 7);
    assert_true(c.rate == 0);
    assert_false(c.dry_run);
    assert_string_equal(c.to, "");
    assert_int_equal(c.lease_ttl_s, 10);
    assert_true(c.capacity == 1000000);

    /* each default is valid user input and each int field can hold its max */
    for (i = 0; i < n; i++) {
        assert_int_equal(sc_config_set(&c, rows[i].name, rows[i].def, errbuf, sizeof(errbuf)),
                         SC_OK);
        if (rows[i].type == SC_CFG_INT && rows[i].size == sizeof(int))
            assert_true(rows[i].max <= INT_MAX && rows[i].min >= INT_MIN);
        assert_non_null(rows[i].help);
        assert_true(rows[i].programs != 0);
        assert_ptr_equal(sc_config_find(rows[i].name), &rows[i]);
    }

    /* a load with no sources gives exactly the defaults */
    assert_int_equal(sc_config_load(&d, ARGC(argv), argv, NULL, errbuf, sizeof(errbuf)), SC_OK);
    sc_buf_init(&a, 0);
    sc_buf_init(&b, 0);
    assert_int_equal(sc_config_dump(&c, &a, SC_PROG_ALL), SC_OK);
    assert_int_equal(sc_config_dump(&d, &b, SC_PROG_ALL), SC_OK);
    assert_string_equal(a.data, b.data);
    assert_non_null(strstr(a.data, "batch_bytes = 4m\n"));
    assert_non_null(strstr(a.data, "log_level = info\n"));
    assert_non_null(strstr(a.data, "namespace = \"scour\"\n"));

    /* defaults are valid for every program except the router (no secret) */
    assert_int_equal(sc_config_validate(&d, SC_PROG_INDEXER | SC_PROG_REINDEX | SC_PROG_ADMIN,
                                        errbuf, sizeof(errbuf)),
                     SC_OK);
    assert_int_equal(sc_config_validate(&d, SC_PROG_ROUTER, errbuf, sizeof(errbuf)), SC_EINVAL);
    assert_non_null(strstr(errbuf, "jwt_secret"));

    sc_buf_free(&a);
    sc_buf_free(&b);
    sc_config_free(&c);
    sc_config_free(&d);
    sc_config_free(&d); /* zeroed: second free is harmless */
    sc_config_free(NULL);
}

static void file_parsing(void **state)
{
    sc_config c;
    char path[128];
    sc_status st;
    (void)state;
    st = load_file_only(&c,
                        "# a comment\n"
                        "\n"
                        "   \t\n"
                        "  batch_count   =   42   \n"
                        "redis-port=7000\n"
                        "es_ca_file = \"quoted # not a comment\"   # but this is\n"
                        "pg_dsn = host=db password=a#b   # trailing comment\n"
                        "es_user = \"say \\\"hi\\\" \\\\o/\"\n"
                        "to = \"\"\n"
                        "log_level = DEBUG\r\n"
                        "consumer = c1 # comment\n"
                        "consumer = c2\n"
                        "dry_run = yes\n"
                        "batch_bytes = 512k",
                        path, sizeof(path));
    if (st != SC_OK)
        fail_msg("load: %s", errbuf);
    assert_int_equal(c.batch_count, 42);
    assert_int_equal(c.redis_port, 7000);
    assert_string_equal(c.es_ca_file, "quoted # not a comment");
    assert_string_equal(c.pg_dsn, "host=db password=a#b");
    assert_string_equal(c.es_user, "say \"hi\" \\o/");
    assert_string_equal(c.to, "");
    assert_int_equal(c.log_level, 3);
    assert_string_equal(c.consumer, "c2"); /* later line wins */
    assert_true(c.dry_run);
    assert_true(c.batch_bytes == 512 * 1024);
    sc_config_free(&c);
    unlink(path);

    /* an empty file is fine */
    assert_int_equal(load_file_only(&c, "", path, sizeof(path)), SC_OK);
    assert_int_equal(c.batch_count, 500);
    sc_config_free(&c);
    unlink(path);
}

static void file_errors_name_line(void **state)
{
    static const struct {
        const char *content;
        const char *want; /* after "<path>:" */
    } cases[] = {
        {"# c\n\n\n\n\n\n\n\n\n\nworkers = 2\nbatch_count = 0\n",
         "12: batch_count: 0 is below the minimum 1"},
        {"workers 4\n", "1: expected 'key = value'"},
        {"\n= 4\n", "2: expected 'key = value'"},
        {"a.b = 4\n", "1: expected 'key = value'"},
        {"\n\nnamespace = \"abc\n", "3: unterminated quoted value"},
        {"namespace = \"abc\" junk\n", "1: unexpected text after the closing quote"},
        {"workers = 2\nbach_count = 4\n", "2: unknown option 'bach_count'"},
        {"redis_port = 65536\n", "1: redis_port: 65536 is above the maximum 65535"},
        {"workers = four\n", "1: workers: 'four' is not an integer"},
        {"workers =\n", "1: workers: '' is not an integer"},
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sc_config c;
        char path[128], want[400];
        assert_int_equal(load_file_only(&c, cases[i].content, path, sizeof(path)), SC_EINVAL);
        snprintf(want, sizeof(want), "%s:%s", path, cases[i].want);
        assert_string_equal(errbuf, want);
        sc_config_free(&c);
        unlink(path);
    }

    /* missing file */
    {
        sc_config c;
        char *argv[] = {"prog", "--config", "/nonexistent/scour.conf"};
        assert_int_equal(sc_config_load(&c, ARGC(argv), argv, NULL, errbuf, sizeof(errbuf)),
                         SC_ENOTFOUND);
        assert_non_null(strstr(errbuf, "/nonexistent/scour.conf"));
        sc_config_free(&c);
    }
}

static void precedence(void **state)
{
    sc_config c;
    sc_config_cli cli;
    char path[128], arg[300];
    (void)state;
    write_tmp(path, sizeof(path), "redis_port = 1111\nworkers = 7\nbatch_count = 8\n");
    snprintf(arg, sizeof(arg), "--config=%s", path);

    /* env beats file */
    setenv("SCOUR_REDIS_PORT", "2222", 1);
    setenv("SCOUR_BATCH_COUNT", "9", 1);
    {
        char *argv[] = {"prog", arg};
        assert_int_equal(sc_config_load(&c, ARGC(argv), argv, &cli, errbuf, sizeof(errbuf)), SC_OK);
        assert_int_equal(c.redis_port, 2222);
        assert_int_equal(c.workers, 7); /* file only */
        assert_int_equal(c.batch_count, 9);
        assert_string_equal(cli.config_path, path);
        sc_config_free(&c);
        sc_config_cli_free(&cli);
    }
    /* CLI beats env, in both spellings, last CLI word wins */
    {
        char *argv[] = {"prog", "--redis-port", "3333", arg, "--batch_count=10", "--batch-count",
                        "11"};
        assert_int_equal(sc_config_load(&c, ARGC(argv), argv, NULL, errbuf, sizeof(errbuf)), SC_OK);
        assert_int_equal(c.redis_port, 3333);
        assert_int_equal(c.batch_count, 11);
        assert_int_equal(c.workers, 7);
        sc_config_free(&c);
    }
    /* $SCOUR_CONFIG names the file when --config is absent */
    unsetenv("SCOUR_REDIS_PORT");
    unsetenv("SCOUR_BATCH_COUNT");
    setenv("SCOUR_CONFIG", path, 1);
    {
        char *argv[] = {"prog"};
        assert_int_equal(sc_config_load(&c, ARGC(argv), argv, &cli, errbuf, sizeof(errbuf)), SC_OK);
        assert_int_equal(c.redis_port, 1111);
        assert_string_equal(cli.config_path, path);
        sc_config_free(&c);
        sc_config_cli_free(&cli);
    }
    unsetenv("SCOUR_CONFIG");
    unlink(path);
}

/* Expect name=value to fail in all three sources with the key and source named. */
static void expect_bad_everywhere(const char *name, const char *value, const char *reason)
{
    sc_config c;
    char envname[160], arg[300], want[600], path[128], content[300];
    size_t i;
    char *argv[] = {"prog", arg};
    char *noargv[] = {"prog"};

    /* sc_config_set */
    sc_config_defaults(&c);
    assert_int_not_equal(sc_config_set(&c, name, value, errbuf, sizeof(errbuf)), SC_OK);
    snprintf(want, sizeof(want), "%s: %s", name, reason);
    assert_string_equal(errbuf, want);
    sc_config_free(&c);

    /* file */
    snprintf(content, sizeof(content), "\n%s = \"%s\"\n", name, value);
    assert_int_equal(load_file_only(&c, content, path, sizeof(path)), SC_EINVAL);
    snprintf(want, sizeof(want), "%s:2: %s: %s", path, name, reason);
    assert_string_equal(errbuf, want);
    sc_config_free(&c);
    unlink(path);

    /* environment */
    snprintf(envname, sizeof(envname), "SCOUR_%s", name);
    for (i = 6; envname[i]; i++)
        envname[i] = (char)(envname[i] >= 'a' && envname[i] <= 'z' ? envname[i] - 32 : envname[i]);
    setenv(envname, value, 1);
    assert_int_equal(sc_config_load(&c, ARGC(noargv), noargv, NULL, errbuf, sizeof(errbuf)),
                     SC_EINVAL);
    snprintf(want, sizeof(want), "env %s: %s: %s", envname, name, reason);
    assert_string_equal(errbuf, want);
    unsetenv(envname);
    sc_config_free(&c);

    /* command line, dashed */
    {
        char dashed[160];
        snprintf(dashed, sizeof(dashed), "%s", name);
        for (i = 0; dashed[i]; i++)
            if (dashed[i] == '_')
                dashed[i] = '-';
        snprintf(arg, sizeof(arg), "--%s=%s", dashed, value);
        assert_int_equal(sc_config_load(&c, ARGC(argv), argv, NULL, errbuf, sizeof(errbuf)),
                         SC_EINVAL);
        snprintf(want, sizeof(want), "--%s: %s: %s", dashed, name, reason);
        assert_string_equal(errbuf, want);
        sc_config_free(&c);
    }
}

static void fmt_size(int64_t v, char *buf, size_t len)
{
    if (v % (1LL << 30) == 0)
        snprintf(buf, len, "%" PRId64 "g", v >> 30);
    else if (v % (1LL << 20) == 0)
        snprintf(buf, len, "%" PRId64 "m", v >> 20);
    else if (v % 1024 == 0)
        snprintf(buf, len, "%" PRId64 "k", v >> 10);
    else
        snprintf(buf, len, "%" PRId64, v);
}

static void every_bound_enforced(void **state)
{
    const sc_config_row *rows;
    size_t n = sc_config_table(&rows), i, checked = 0;
    (void)state;
    for (i = 0; i < n; i++) {
        const sc_config_row *r = &rows[i];
        char v[64], reason[200], lim[32];
        sc_config c;
        if (r->type != SC_CFG_INT && r->type != SC_CFG_BYTES)
            continue;
        /* the bounds themselves are accepted */
        sc_config_defaults(&c);
        snprintf(v, sizeof(v), "%" PRId64, r->min);
        assert_int_equal(sc_config_set(&c, r->name, v, errbuf, sizeof(errbuf)), SC_OK);
        snprintf(v, sizeof(v), "%" PRId64, r->max);
        assert_int_equal(sc_config_set(&c, r->name, v, errbuf, sizeof(errbuf)), SC_OK);
        sc_config_free(&c);

        if (r->type == SC_CFG_INT) {
            snprintf(v, sizeof(v), "%" PRId64, r->min - 1);
            snprintf(reason, sizeof(reason), "%s is below the minimum %" PRId64, v, r->min);
            expect_bad_everywhere(r->name, v, reason);
            snprintf(v, sizeof(v), "%" PRId64, r->max + 1);
            snprintf(reason, sizeof(reason), "%s is above the maximum %" PRId64, v, r->max);
            expect_bad_everywhere(r->name, v, reason);
        } else {
            fmt_size(r->min, lim, sizeof(lim));
            snprintf(v, sizeof(v), "%" PRId64, r->min - 1);
            snprintf(reason, sizeof(reason), "%s is below the minimum %s", v, lim);
            expect_bad_everywhere(r->name, v, reason);
            fmt_size(r->max, lim, sizeof(lim));
            snprintf(v, sizeof(v), "%" PRId64, r->max + 1);
            snprintf(reason, sizeof(reason), "%s is above the maximum %s", v, lim);
            expect_bad_everywhere(r->name, v, reason);
        }
        checked++;
    }
    assert_true(checked >= 30);

    /* string lengths */
    for (i = 0; i < n; i++) {
        const sc_config_row *r = &rows[i];
        char *big, reason[200];
        sc_config c;
        if (r->type != SC_CFG_STRING)
            continue;
        big = malloc((size_t)r->max + 2);
        assert_non_null(big);
        memset(big, 'a', (size_t)r->max + 1);
        big[r->max + 1] = '\0';
        sc_config_defaults(&c);
        assert_int_equal(sc_config_set(&c, r->name, big, errbuf, sizeof(errbuf)), SC_EINVAL);
        snprintf(reason, sizeof(reason),
                 "%s: value is %" PRId64 " bytes, longer than the maximum %" PRId64, r->name,
                 r->max + 1, r->max);
        assert_string_equal(errbuf, reason);
        sc_config_free(&c);
        free(big);
    }
}

static void value_syntax(void **state)
{
    sc_config c;
    static const struct {
        const char *v;
        uint64_t want;
    } sizes[] = {{"4k", 4096},   {"4K", 4096},  {"64m", 64ULL << 20}, {"1g", 1ULL << 30},
                 {"2048", 2048}, {"8kb", 8192}, {"4MB", 4ULL << 20},  {"4g", 4ULL << 30}};
    static const char *const bad_sizes[] = {"4x",  "4kk", "k",    "-4k",
                                            "4 k", "",    "1.5m", "99999999999999999999999k"};
    size_t i;
    (void)state;
    sc_config_defaults(&c);

    /* bytes */
    for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        assert_int_equal(
            sc_config_set(&c, "inflight_bytes_max", sizes[i].v, errbuf, sizeof(errbuf)),
            sizes[i].want >= 65536 ? SC_OK : SC_EINVAL);
        if (sizes[i].want >= 65536)
            assert_true(c.inflight_bytes_max == sizes[i].want);
    }
    assert_int_equal(sc_config_set(&c, "batch_bytes", "1k", errbuf, sizeof(errbuf)), SC_OK);
    assert_true(c.batch_bytes == 1024);
    for (i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++) {
        char want[200];
        assert_int_equal(sc_config_set(&c, "batch_bytes", bad_sizes[i], errbuf, sizeof(errbuf)),
                         SC_EINVAL);
        snprintf(want, sizeof(want),
                 "batch_bytes: '%s' is not a size (a number with an optional k, m or g suffix)",
                 bad_sizes[i]);
        assert_string_equal(errbuf, want);
        assert_true(c.batch_bytes == 1024); /* unchanged on error */
    }
    assert_int_equal(sc_config_set(&c, "batch_bytes", "65m", errbuf, sizeof(errbuf)), SC_EINVAL);
    assert_string_equal(errbuf, "batch_bytes: 65m is above the maximum 64m");
    assert_int_equal(sc_config_set(&c, "inflight_bytes_max", "5g", errbuf, sizeof(errbuf)),
                     SC_EINVAL);
    assert_string_equal(errbuf, "inflight_bytes_max: 5g is above the maximum 4g");

    /* ints */
    assert_int_equal(sc_config_set(&c, "workers", "+8", errbuf, sizeof(errbuf)), SC_OK);
    assert_int_equal(c.workers, 8);
    assert_int_equal(sc_config_set(&c, "workers", " 8", errbuf, sizeof(errbuf)), SC_EINVAL);
    assert_int_equal(sc_config_set(&c, "workers", "8x", errbuf, sizeof(errbuf)), SC_EINVAL);
    assert_string_equal(errbuf, "workers: '8x' is not an integer");
    assert_int_equal(sc_config_set(&c, "capacity", "99999999999999999999", errbuf, sizeof(errbuf)),
                     SC_EINVAL);
    assert_int_equal(sc_config_set(&c, "capacity", "1000000000000", errbuf, sizeof(errbuf)), SC_OK);
    assert_true(c.capacity == 1000000000000LL);
    assert_int_equal(sc_config_set(&c, "stream_maxlen", "999", errbuf, sizeof(errbuf)), SC_EINVAL);
    assert_string_equal(errbuf, "stream_maxlen: 999 is below the minimum 1000");

    /* enum */
    assert_int_equal(sc_config_set(&c, "log_level", "warn", errbuf, sizeof(errbuf)), SC_OK);
    assert_int_equal(c.log_level, 1);
    assert_int_equal(sc_config_set(&c, "log-level", "Error", errbuf, sizeof(errbuf)), SC_OK);
    assert_int_equal(c.log_level, 0);
    assert_int_equal(sc_config_set(&c, "log_level", "verbose", errbuf, sizeof(errbuf)), SC_EINVAL);
    assert_string_equal(errbuf, "log_level: 'verbose' is not one of error, warn, info, debug");
    assert_int_equal(c.log_level, 0);

    /* bool */
    {
        static const char *const t[] = {"true", "TRUE", "yes", "on", "1"};
        static const char *const f[] = {"false", "no", "off", "0", "False"};
        for (i = 0; i < 5; i++) {
            assert_int_equal(sc_config_set(&c, "dry_run", t[i], errbuf, sizeof(errbuf)), SC_OK);
            assert_true(c.dry_run);
            assert_int_equal(sc_config_set(&c, "dry_run", f[i], errbuf, sizeof(errbuf)), SC_OK);
            assert_false(c.dry_run);
        }
        assert_int_equal(sc_config_set(&c, "dry_run", "maybe", errbuf, sizeof(errbuf)), SC_EINVAL);
        assert_non_null(strstr(errbuf, "dry_run: 'maybe' is not a boolean"));
    }

    /* strings: control characters and per-option validators */
    {
        static const struct {
            const char *name, *value;
            int ok;
        } s[] = {
            {"namespace", "prod-eu.1", 1},
            {"namespace", "", 0},
            {"namespace", "a/b", 0},
            {"namespace", "a:b", 0},
            {"etcd_url", "https://etcd:2379", 1},
            {"etcd_url", "etcd:2379", 0},
            {"es_refresh_interval", "-1", 1},
            {"es_refresh_interval", "500ms", 1},
            {"es_refresh_interval", "30s", 1},
            {"es_refresh_interval", "1x", 0},
            {"es_refresh_interval", "s", 0},
            {"index_name", "messages-v2", 1},
            {"index_name", "Messages", 0},
            {"index_name", "_x", 0},
            {"index_name", "a b", 0},
            {"index_name", "msg!v1", 0}, /* passed the old blacklist, failed at runtime */
            {"index_name", "msg$v1", 0},
            {"index_name", "a.b+c_d-1", 1},
            {"index_name", "..", 0},
            {"clusters", "c1=http://127.0.0.1:9201,c2=https://h:9202", 1},
            {"clusters", "c1=http://127.0.0.1:9201,", 0},
            {"clusters", "c1", 0},
            {"clusters", "=http://x", 0},
            {"clusters", "c1=ftp://x", 0},
            {"redis_host", "", 0},
            {"pg_dsn", "line\nbreak", 0},
            {"to", "c2", 1},
            {"to", "", 1},
        };
        for (i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
            sc_status st = sc_config_set(&c, s[i].name, s[i].value, errbuf, sizeof(errbuf));
            if (s[i].ok) {
                assert_int_equal(st, SC_OK);
            } else {
                assert_int_equal(st, SC_EINVAL);
                assert_true(strncmp(errbuf, s[i].name, strlen(s[i].name)) == 0);
            }
        }
        assert_string_equal(c.namespace, "prod-eu.1");
        assert_string_equal(c.etcd_url, "https://etcd:2379");
        assert_string_equal(c.clusters, "c1=http://127.0.0.1:9201,c2=https://h:9202");
    }

    /* unknown name through sc_config_set */
    assert_int_equal(sc_config_set(&c, "nope", "1", errbuf, sizeof(errbuf)), SC_ENOTFOUND);
    assert_string_equal(errbuf, "unknown option 'nope'");
    sc_config_free(&c);
}

static void unknown_keys(void **state)
{
    sc_config c;
    char path[128];
    (void)state;

    assert_int_equal(load_file_only(&c, "workers = 2\nworker = 3\n", path, sizeof(path)),
                     SC_EINVAL);
    assert_non_null(strstr(errbuf, ":2: unknown option 'worker'"));
    sc_config_free(&c);
    unlink(path);

    /* non-SCOUR_ variables are ignored, SCOUR_ ones must be known */
    setenv("REDIS_PORT", "1", 1);
    setenv("SCOURX_WORKERS", "0", 1);
    setenv("NOT_SCOUR_WORKERS", "0", 1);
    {
        char *argv[] = {"prog"};
        assert_int_equal(sc_config_load(&c, ARGC(argv), argv, NULL, errbuf, sizeof(errbuf)), SC_OK);
        assert_int_equal(c.redis_port, 6379);
        assert_int_equal(c.workers, 4);
        sc_config_free(&c);
        setenv("SCOUR_WORKERZ", "3", 1);
        assert_int_equal(sc_config_load(&c, ARGC(argv), argv, NULL, errbuf, sizeof(errbuf)),
                         SC_EINVAL);
        assert_string_equal(errbuf, "env SCOUR_WORKERZ: unknown option");
        sc_config_free(&c);
    }
    unsetenv("SCOUR_WORKERZ");
    unsetenv("REDIS_PORT");
    unsetenv("SCOURX_WORKERS");
    unsetenv("NOT_SCOUR_WORKERS");

    {
        char *argv[] = {"prog", "--workers=2", "--wrokers=3"};
        assert_int_equal(sc_config_load(&c, ARGC(argv), argv, NULL, errbuf, sizeof(errbuf)),
                         SC_EINVAL);
        assert_string_equal(errbuf, "--wrokers: unknown option");
        sc_config_free(&c);
    }
    {
        char *argv[] = {"prog", "-x"};
        assert_int_equal(sc_config_load(&c, ARGC(argv), argv, NULL, errbuf, sizeof(errbuf)),
                         SC_EINVAL);
        assert_string_equal(errbuf, "-x: unknown option");
        sc_config_free(&c);
    }
    {
        char *argv[] = {"prog", "--no-workers"}; /* --no- only for booleans */
        assert_int_equal(sc_config_load(&c, ARGC(argv), argv, NULL, errbuf, sizeof(errbuf)),
                         SC_EINVAL);
        assert_string_equal(errbuf, "--no-workers: unknown option");
        sc_config_free(&c);
    }
    {
        char *argv[] = {"prog", "--workers"}; /* missing value */
        assert_int_equal(sc_config_load(&c, ARGC(argv), argv, NULL, errbuf, sizeof(errbuf)),
                         SC_EINVAL);
        assert_string_equal(errbuf, "--workers: missing value");
        sc_config_free(&c);
    }
}

static void cli_flags_and_positional(void **state)
{
    sc_config c;
    sc_config_cli cli;
    (void)state;
    {
        char *argv[] = {"reindex",         "channel", "--rate",         "5", "123",
                        "--dry-run",       "456",     "--check-config", "-", "--",
                        "--not-an-option", "789"};
        assert_int_equal(sc_config_load(&c, ARGC(argv), argv, &cli, errbuf, sizeof(errbuf)), SC_OK);
        assert_true(c.rate == 5);
        assert_true(c.dry_run);
        assert_true(cli.check_config);
        assert_false(cli.help);
        assert_false(cli.version);
        assert_null(cli.config_path);
        assert_int_equal(cli.nargs, 6);
        assert_string_equal(cli.args[0], "channel");
        assert_string_equal(cli.args[1], "123");
        assert_string_equal(cli.args[2], "456");
        assert_string_equal(cli.args[3], "-");
        assert_string_equal(cli.args[4], "--not-an-option");
        assert_string_equal(cli.args[5], "789");
        assert_ptr_equal(cli.args[0], argv[1]); /* borrowed */
        sc_config_free(&c);
        sc_config_cli_free(&cli);
    }
    {
        char *argv[] = {"reindex", "--dry-run", "--no-dry-run", "--dry-run=off", "x"};
        assert_int_equal(sc_config_load(&c, ARGC(argv), argv, &cli, errbuf, sizeof(errbuf)), SC_OK);
        assert_false(c.dry_run);
        assert_int_equal(cli.nargs, 1);
        sc_config_free(&c);
        sc_config_cli_free(&cli);
    }
    /* --help skips broken sources so help always works */
    setenv("SCOUR_WORKERS", "0", 1);
    {
        char *argv[] = {"prog", "--config", "/nonexistent", "--help", "--workers", "0"};
        assert_int_equal(sc_config_load(&c, ARGC(argv), argv, &cli, errbuf, sizeof(errbuf)), SC_OK);
        assert_true(cli.help);
        assert_string_equal(cli.config_path, "/nonexistent");
        assert_int_equal(c.workers, 4);
        sc_config_free(&c);
        sc_config_cli_free(&cli);
    }
    {
        char *argv[] = {"prog", "-V"};
        assert_int_equal(sc_config_load(&c, ARGC(argv), argv, &cli, errbuf, sizeof(errbuf)), SC_OK);
        assert_true(cli.version);
        sc_config_free(&c);
        sc_config_cli_free(&cli);
    }
    {
        char *argv[] = {"prog", "--help=yes"};
        assert_int_equal(sc_config_load(&c, ARGC(argv), argv, &cli, errbuf, sizeof(errbuf)),
                         SC_EINVAL);
        assert_string_equal(errbuf, "--help: takes no value");
        sc_config_free(&c);
        sc_config_cli_free(&cli);
    }
    unsetenv("SCOUR_WORKERS");
    /* without a cli struct, positional words are an error */
    {
        char *argv[] = {"prog", "stray"};
        assert_int_equal(sc_config_load(&c, ARGC(argv), argv, NULL, errbuf, sizeof(errbuf)),
                         SC_EINVAL);
        assert_string_equal(errbuf, "unexpected argument 'stray'");
        sc_config_free(&c);
    }
    /* the program name alone, and argc == 0 */
    {
        char *argv[] = {"prog"};
        assert_int_equal(sc_config_load(&c, ARGC(argv), argv, &cli, errbuf, sizeof(errbuf)), SC_OK);
        assert_int_equal(cli.nargs, 0);
        sc_config_free(&c);
        sc_config_cli_free(&cli);
        assert_int_equal(sc_config_load(&c, 0, argv, &cli, errbuf, sizeof(errbuf)), SC_OK);
        assert_int_equal(cli.nargs, 0);
        sc_config_free(&c);
        sc_config_cli_free(&cli);
        sc_config_cli_free(NULL);
    }
}

/* Does help contain the line for option name (dashed)? */
static int help_has(const char *help, const char *name)
{
    char pat[160];
    size_t i, n;
    const char *p;
    n = (size_t)snprintf(pat, sizeof(pat), "\n  --%s", name);
    for (i = 0; i < n; i++)
        if (pat[i] == '_')
            pat[i] = '-';
    for (p = strstr(help, pat); p; p = strstr(p + 1, pat))
        if (p[n] == '=' || p[n] == '[')
            return 1;
    return 0;
}

static void help_lists_program_options(void **state)
{
    static const unsigned progs[] = {SC_PROG_INDEXER, SC_PROG_ROUTER, SC_PROG_REINDEX,
                                     SC_PROG_ADMIN, SC_PROG_ALL};
    const sc_config_row *rows;
    size_t n = sc_config_table(&rows), i, p;
    (void)state;
    for (p = 0; p < sizeof(progs) / sizeof(progs[0]); p++) {
        sc_buf b;
        sc_buf_init(&b, 0);
        assert_int_equal(sc_config_help(&b, progs[p]), SC_OK);
        assert_non_null(strstr(b.data, "--check-config"));
        assert_non_null(strstr(b.data, "--config=PATH"));
        for (i = 0; i < n; i++)
            assert_int_equal(help_has(b.data, rows[i].name), (rows[i].programs & progs[p]) != 0);
        sc_buf_free(&b);
    }
    {
        sc_buf b;
        sc_buf_init(&b, 0);
        assert_int_equal(sc_config_help(&b, SC_PROG_INDEXER), SC_OK);
        assert_non_null(strstr(b.data, "  --batch-bytes=BYTES"));
        assert_non_null(strstr(b.data, "[1k..64m] (default: 4m)\n"));
        assert_non_null(strstr(b.data, "  --redis-port=INT"));
        assert_non_null(strstr(b.data, "[1..65535] (default: 6379)\n"));
        assert_non_null(strstr(b.data, "  --log-level=error|warn|info|debug"));
        assert_null(strstr(b.data, "--jwt-secret"));
        sc_buf_free(&b);
        sc_buf_init(&b, 0);
        assert_int_equal(sc_config_help(&b, SC_PROG_REINDEX), SC_OK);
        assert_non_null(strstr(b.data, "  --dry-run[=BOOL]"));
        sc_buf_free(&b);
        /* a full buffer is reported, not overrun */
        sc_buf_init(&b, 100);
        assert_int_equal(sc_config_help(&b, SC_PROG_ALL), SC_ENOMEM);
        sc_buf_free(&b);
    }
}

static void dump_masks_and_round_trips(void **state)
{
    sc_config c, d;
    sc_buf a, b;
    char path[128], arg[300];
    char *argv[] = {"prog", arg};
    (void)state;
    sc_config_defaults(&c);
    assert_int_equal(
        sc_config_set(&c, "jwt_secret", "0123456789abcdef-top", errbuf, sizeof(errbuf)), SC_OK);
    assert_int_equal(sc_config_set(&c, "es_user", "u \"q\" \\", errbuf, sizeof(errbuf)), SC_OK);
    assert_int_equal(sc_config_set(&c, "batch_bytes", "3000", errbuf, sizeof(errbuf)), SC_OK);
    assert_int_equal(sc_config_set(&c, "dry_run", "on", errbuf, sizeof(errbuf)), SC_OK);
    assert_int_equal(sc_config_set(&c, "capacity", "123456789012", errbuf, sizeof(errbuf)), SC_OK);
    sc_buf_init(&a, 0);
    assert_int_equal(sc_config_dump(&c, &a, SC_PROG_ALL), SC_OK);
    assert_null(strstr(a.data, "0123456789abcdef"));
    assert_non_null(strstr(a.data, "jwt_secret = \"<hidden>\"\n"));
    assert_non_null(strstr(a.data, "redis_password = \"\"\n"));
    assert_non_null(strstr(a.data, "batch_bytes = 3000\n"));
    assert_non_null(strstr(a.data, "dry_run = true\n"));
    assert_non_null(strstr(a.data, "capacity = 123456789012\n"));

    /* dump only the router's options */
    sc_buf_init(&b, 0);
    assert_int_equal(sc_config_dump(&c, &b, SC_PROG_ROUTER), SC_OK);
    assert_non_null(strstr(b.data, "listen_port = 8080\n"));
    assert_null(strstr(b.data, "batch_bytes"));
    sc_buf_free(&b);

    /* without secrets set, the dump reads back to the same config */
    assert_int_equal(sc_config_set(&c, "jwt_secret", "", errbuf, sizeof(errbuf)), SC_OK);
    sc_buf_reset(&a);
    assert_int_equal(sc_config_dump(&c, &a, SC_PROG_ALL), SC_OK);
    write_tmp(path, sizeof(path), a.data);
    snprintf(arg, sizeof(arg), "--config=%s", path);
    assert_int_equal(sc_config_load(&d, ARGC(argv), argv, NULL, errbuf, sizeof(errbuf)), SC_OK);
    assert_string_equal(d.es_user, "u \"q\" \\");
    sc_buf_init(&b, 0);
    assert_int_equal(sc_config_dump(&d, &b, SC_PROG_ALL), SC_OK);
    assert_string_equal(a.data, b.data);
    unlink(path);
    sc_buf_free(&a);
    sc_buf_free(&b);
    sc_config_free(&c);
    sc_config_free(&d);
}

static void validate_cross_field(void **state)
{
    static const struct {
        unsigned prog;
        const char *name, *value, *want_prefix;
    } cases[] = {
        {SC_PROG_ROUTER, "jwt_secret", "short", "jwt_secret: the router requires at least 16"},
        {SC_PROG_INDEXER, "inflight_bytes_max", "1m",
         "inflight_bytes_max: 1m is below batch_bytes 4m"},
        {SC_PROG_INDEXER, "retry_base_ms", "20000",
         "retry_base_ms: 20000 is above retry_max_ms 10000"},
        {SC_PROG_INDEXER, "claim_idle_ms", "1050", "claim_idle_ms: 1050 must exceed"},
        {SC_PROG_ALL, "es_request_timeout_ms", "1000", "es_request_timeout_ms: 1000 is below"},
        {SC_PROG_ALL, "es_password", "pw", "es_password: set but es_user is empty"},
        {SC_PROG_ALL, "dead_stream", "scour:events", "dead_stream: must differ"},
        {SC_PROG_ADMIN, "health_interval_ms", "10000", "health_interval_ms: 10000 must be below"},
        {SC_PROG_ROUTER, "metrics_port", "8080", "metrics_port: 8080 is also listen_port"},
    };
    sc_config c;
    char dead[64];
    size_t i;
    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sc_config_defaults(&c);
        assert_int_equal(
            sc_config_set(&c, "jwt_secret", "0123456789abcdef", errbuf, sizeof(errbuf)), SC_OK);
        assert_int_equal(sc_config_validate(&c, SC_PROG_ALL, errbuf, sizeof(errbuf)), SC_OK);
        assert_int_equal(sc_config_set(&c, cases[i].name, cases[i].value, errbuf, sizeof(errbuf)),
                         SC_OK);
        assert_int_equal(sc_config_validate(&c, cases[i].prog, errbuf, sizeof(errbuf)), SC_EINVAL);
        if (strncmp(errbuf, cases[i].want_prefix, strlen(cases[i].want_prefix)) != 0)
            fail_msg("case %zu: got '%s', want prefix '%s'", i, errbuf, cases[i].want_prefix);
        /* a rule of one program does not fail another */
        if (cases[i].prog != SC_PROG_ALL) {
            unsigned other = cases[i].prog == SC_PROG_REINDEX ? SC_PROG_ROUTER : SC_PROG_REINDEX;
            assert_int_equal(sc_config_validate(&c, other, errbuf, sizeof(errbuf)), SC_OK);
        }
        sc_config_free(&c);
    }

    /* api key and user together */
    sc_config_defaults(&c);
    assert_int_equal(sc_config_set(&c, "es_user", "u", errbuf, sizeof(errbuf)), SC_OK);
    assert_int_equal(sc_config_set(&c, "es_password", "p", errbuf, sizeof(errbuf)), SC_OK);
    assert_int_equal(sc_config_validate(&c, SC_PROG_INDEXER, errbuf, sizeof(errbuf)), SC_OK);
    assert_int_equal(sc_config_set(&c, "es_api_key", "k", errbuf, sizeof(errbuf)), SC_OK);
    assert_int_equal(sc_config_validate(&c, SC_PROG_INDEXER, errbuf, sizeof(errbuf)), SC_EINVAL);
    assert_non_null(strstr(errbuf, "es_api_key"));
    sc_config_free(&c);

    /* fields edited in code are re-checked against their row bounds */
    sc_config_defaults(&c);
    c.workers = 0;
    assert_int_equal(sc_config_validate(&c, SC_PROG_INDEXER, errbuf, sizeof(errbuf)), SC_EINVAL);
    assert_string_equal(errbuf, "workers: 0 is below the minimum 1");
    assert_int_equal(sc_config_validate(&c, SC_PROG_REINDEX, errbuf, sizeof(errbuf)), SC_OK);
    c.workers = 4;
    c.log_level = 9;
    assert_int_equal(sc_config_validate(&c, SC_PROG_INDEXER, errbuf, sizeof(errbuf)), SC_EINVAL);
    assert_non_null(strstr(errbuf, "log_level"));
    sc_config_free(&c);

    /* effective dead-letter stream */
    sc_config_defaults(&c);
    assert_string_equal(sc_config_dead_stream(&c, dead, sizeof(dead)), "scour:events:dead");
    assert_int_equal(sc_config_set(&c, "dead_stream", "dlq", errbuf, sizeof(errbuf)), SC_OK);
    assert_string_equal(sc_config_dead_stream(&c, dead, sizeof(dead)), "dlq");
    sc_config_free(&c);
}

static void reload_keeps_old_on_error(void **state)
{
    sc_config cur, next;
    char path[128], arg[300];
    char *argv[] = {"prog", arg};
    sc_status st;
    (void)state;
    write_tmp(path, sizeof(path), "workers = 6\n");
    snprintf(arg, sizeof(arg), "--config=%s", path);
    assert_int_equal(sc_config_load(&cur, ARGC(argv), argv, NULL, errbuf, sizeof(errbuf)), SC_OK);
    assert_int_equal(cur.workers, 6);
    unlink(path);

    /* bad new file: keep cur */
    write_tmp(path, sizeof(path), "workers = 0\n");
    snprintf(arg, sizeof(arg), "--config=%s", path);
    st = sc_config_load(&next, ARGC(argv), argv, NULL, errbuf, sizeof(errbuf));
    assert_int_equal(st, SC_EINVAL);
    sc_config_free(&next);
    assert_int_equal(cur.workers, 6);
    unlink(path);

    /* good new file: swap */
    write_tmp(path, sizeof(path), "workers = 9\n");
    snprintf(arg, sizeof(arg), "--config=%s", path);
    assert_int_equal(sc_config_load(&next, ARGC(argv), argv, NULL, errbuf, sizeof(errbuf)), SC_OK);
    assert_int_equal(sc_config_validate(&next, SC_PROG_INDEXER, errbuf, sizeof(errbuf)), SC_OK);
    {
        sc_config old = cur;
        cur = next;
        sc_config_free(&old);
    }
    assert_int_equal(cur.workers, 9);
    assert_string_equal(cur.namespace, "scour");
    sc_config_free(&cur);
    unlink(path);
}

/* Text of a markdown cell, trimmed, with one pair of backticks removed and
 * `""` meaning empty. */
static void cell(const char *s, size_t n, char *out, size_t outlen)
{
    while (n && (*s == ' ' || *s == '\t'))
        s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n >= 2 && s[0] == '`' && s[n - 1] == '`')
        s++, n -= 2;
    if (n == 2 && s[0] == '"' && s[1] == '"')
        n = 0;
    if (n >= outlen)
        n = outlen - 1;
    memcpy(out, s, n);
    out[n] = '\0';
}

static void docs_match_table(void **state)
{
    const sc_config_row *rows;
    size_t n = sc_config_table(&rows), i, found = 0;
    int *seen = calloc(n, sizeof(int));
    FILE *f = fopen(t_repo_path("docs/config.md"), "r");
    char line[1024];
    int in_table = 0;
    (void)state;
    assert_non_null(seen);
    if (f == NULL)
        fail_msg("cannot open %s", t_repo_path("docs/config.md"));
    while (fgets(line, sizeof(line), f) != NULL) {
        char cells[6][512];
        const char *p = line;
        int k = 0;
        if (strncmp(line, "| name | type | default |", 25) == 0) {
            in_table = 1;
            continue;
        }
        if (!in_table || line[0] != '|' || strncmp(line, "|---", 4) == 0)
            continue;
        p = line + 1;
        while (k < 6) {
            const char *bar = strchr(p, '|');
            if (bar == NULL)
                break;
            cell(p, (size_t)(bar - p), cells[k], sizeof(cells[k]));
            k++;
            p = bar + 1;
        }
        if (k != 6)
            fail_msg("docs/config.md: malformed table row: %s", line);
        {
            const sc_config_row *r = sc_config_find(cells[0]);
            if (r == NULL || strcmp(r->name, cells[0]) != 0)
                fail_msg("docs/config.md documents '%s', which is not in the table", cells[0]);
            if (seen[r - rows])
                fail_msg("docs/config.md documents '%s' twice", cells[0]);
            seen[r - rows] = 1;
            if (strcmp(r->def, cells[2]) != 0)
                fail_msg("docs/config.md: %s default '%s', table says '%s'", r->name, cells[2],
                         r->def);
            if (cells[5][0] == '\0')
                fail_msg("docs/config.md: %s has no description", r->name);
            found++;
        }
    }
    fclose(f);
    for (i = 0; i < n; i++)
        if (!seen[i])
            fail_msg("option '%s' is missing from docs/config.md", rows[i].name);
    assert_int_equal(found, n);
    free(seen);
}

/* The one index-name rule (index_name.h) that config validation and the
 * clients share: a whitelist of [a-z0-9._+-], 1-255 bytes, no leading _ - +,
 * not . or ..; '*' and ',' only for search patterns. */
static void index_name_rule(void **state)
{
    static const struct {
        const char *name;
        int pattern;
        int ok;
    } cases[] = {
        {"messages-v1", 0, 1}, {"a", 0, 1},        {"a.b+c_d-9", 0, 1}, {".hidden", 0, 1},
        {"msg!v1", 0, 0},      {"Messages", 0, 0}, {"a b", 0, 0},       {"a/b", 0, 0},
        {"a\\b", 0, 0},        {"a:b", 0, 0},      {"a#b", 0, 0},       {"a\"b", 0, 0},
        {"a<b", 0, 0},         {"a|b", 0, 0},      {"a?b", 0, 0},       {"caf\xc3\xa9", 0, 0},
        {"_x", 0, 0},          {"-x", 0, 0},       {"+x", 0, 0},        {".", 0, 0},
        {"..", 0, 0},          {"", 0, 0},         {"a*", 0, 0},        {"a,b", 0, 0},
        {"a*", 1, 1},          {"a,b*", 1, 1},     {"a!*", 1, 0},
    };
    char err[256];
    char longname[SC_INDEX_NAME_MAX + 2];
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sc_status st = sc_index_name_check(cases[i].name, cases[i].pattern, err, sizeof err);
        if (st != (cases[i].ok ? SC_OK : SC_EINVAL))
            fail_msg("'%s' (pattern %d): got %s", cases[i].name, cases[i].pattern,
                     sc_status_str(st));
        /* the runtime client applies the same rule */
        assert_int_equal(es_index_name_ok(cases[i].name, cases[i].pattern), cases[i].ok);
    }
    assert_int_equal(sc_index_name_check(NULL, 0, NULL, 0), SC_EINVAL);
    assert_int_equal(sc_index_name_check("msg!v1", 0, err, sizeof err), SC_EINVAL);
    assert_string_equal(
        err, "'msg!v1' is not a valid index name: '!' not allowed (only a-z 0-9 . _ - +)");
    memset(longname, 'a', sizeof longname);
    longname[SC_INDEX_NAME_MAX] = '\0';
    assert_int_equal(sc_index_name_check(longname, 0, err, sizeof err), SC_OK);
    longname[SC_INDEX_NAME_MAX] = 'a';
    longname[SC_INDEX_NAME_MAX + 1] = '\0';
    assert_int_equal(sc_index_name_check(longname, 0, err, sizeof err), SC_EINVAL);
    assert_non_null(strstr(err, "longer than 255 bytes"));
}

/* --check-config of the real programs rejects a name the clusters would
 * refuse, before anything runs: exit 2 and a message naming the key, from
 * a flag and from a config file (with its line number). */
static void check_config_rejects_bad_index_name(void **state)
{
    static const char *const progs[] = {"indexer", "router", "reindex"};
    char path[] = "/tmp/scour-test-cfg-XXXXXX";
    char *out = NULL;
    int fd, rc;
    (void)state;
    for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
        rc = t_run(&out, "env -u SCOUR_INDEX_NAME %s --check-config --index-name='msg!v1' 2>&1",
                   t_bin_path(progs[i]));
        if (rc != 2 || strstr(out, "index_name") == NULL || strstr(out, "msg!v1") == NULL)
            fail_msg("%s: exit %d, output: %s", progs[i], rc, out);
        free(out);
    }
    fd = mkstemp(path);
    assert_true(fd >= 0);
    {
        static const char text[] = "# bad\nindex_name = msg!v1\n";
        assert_true(write(fd, text, sizeof text - 1) == (ssize_t)(sizeof text - 1));
    }
    close(fd);
    rc = t_run(&out, "env -u SCOUR_INDEX_NAME %s --check-config --config %s 2>&1",
               t_bin_path("indexer"), path);
    unlink(path);
    if (rc != 2 || strstr(out, ":2: index_name: 'msg!v1'") == NULL)
        fail_msg("config file: exit %d, output: %s", rc, out);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_load),
        cmocka_unit_test(file_parsing),
        cmocka_unit_test(file_errors_name_line),
        cmocka_unit_test(precedence),
        cmocka_unit_test(every_bound_enforced),
        cmocka_unit_test(value_syntax),
        cmocka_unit_test(unknown_keys),
        cmocka_unit_test(cli_flags_and_positional),
        cmocka_unit_test(help_lists_program_options),
        cmocka_unit_test(dump_masks_and_round_trips),
        cmocka_unit_test(validate_cross_field),
        cmocka_unit_test(reload_keeps_old_on_error),
        cmocka_unit_test(docs_match_table),
        cmocka_unit_test(index_name_rule),
        cmocka_unit_test(check_config_rejects_bad_index_name),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
