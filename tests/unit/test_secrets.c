/*
 * test_secrets.c - secrets from files (config.c: the "<secret>_file" twin of
 * every SECRET option) and keeping secrets out of sight: the twins' rules
 * (content less one trailing newline, unreadable / empty / both given ->
 * an error naming the option and the path), the command-line warning, the
 * --check-config and --help output, pg_dsn's password masked in dumps; and,
 * with a running router (tests/fake_etcd.py stands in for etcd, so no stack
 * is needed), that no secret shows in /proc/PID/cmdline, /proc/PID/environ
 * or the log, and that SIGHUP rereads the JWKS and keeps the old keys when
 * the new file is invalid.
 */
#include "base64.h"
#include "buf.h"
#include "config.h"
#include "prog.h"
#include "testlib.h"

#include <openssl/evp.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])))

static char dir[64];
static char errbuf[1024];

static const char *const SECRETS[] = {"jwt-0123456789abcdef-S1", "redis-S2-pw", "es-S3-pw",
                                      "apikey-S4"};

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/scour-secrets-XXXXXX");
    /* the host's SCOUR_* variables must not leak in */
    unsetenv("SCOUR_CONFIG");
    return mkdtemp(dir) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Write n bytes to <dir>/name; returns the path (static, per slot). */
static const char *put(int slot, const char *name, const char *data, size_t n)
{
    static char paths[8][128];
    FILE *f;
    snprintf(paths[slot], sizeof(paths[slot]), "%s/%s", dir, name);
    f = fopen(paths[slot], "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
    return paths[slot];
}

static const char *puts_file(int slot, const char *name, const char *text)
{
    return put(slot, name, text, strlen(text));
}

static sc_status load(sc_config *c, int argc, char **argv)
{
    errbuf[0] = '\0';
    return sc_config_load(c, argc, argv, NULL, errbuf, sizeof(errbuf));
}

/* Every SECRET row has a SECRET_FILE twin "<name>_file" for the same
 * programs, and every twin belongs to a secret. */
static void test_every_secret_has_a_file_twin(void **state)
{
    const sc_config_row *rows;
    size_t n = sc_config_table(&rows), secrets = 0, twins = 0;
    (void)state;
    for (size_t i = 0; i < n; i++) {
        char name[160];
        const sc_config_row *t;
        if (rows[i].flags & SC_CFG_SECRET) {
            secrets++;
            snprintf(name, sizeof(name), "%s_file", rows[i].name);
            t = sc_config_find(name);
            if (t == NULL || !(t->flags & SC_CFG_SECRET_FILE))
                fail_msg("secret %s has no %s", rows[i].name, name);
            assert_int_equal(t->programs, rows[i].programs);
            assert_int_equal(t->type, SC_CFG_STRING);
        }
        if (rows[i].flags & SC_CFG_SECRET_FILE) {
            size_t len = strlen(rows[i].name);
            twins++;
            assert_true(len > 5 && strcmp(rows[i].name + len - 5, "_file") == 0);
            snprintf(name, sizeof(name), "%.*s", (int)(len - 5), rows[i].name);
            t = sc_config_find(name);
            assert_non_null(t);
            assert_true(t->flags & SC_CFG_SECRET);
        }
    }
    assert_true(secrets >= 4); /* jwt_secret, redis_password, es_password, es_api_key */
    assert_int_equal(secrets, twins);
}

/* The file's content less one trailing newline becomes the secret, from
 * the command line, a config file or the environment. */
static void test_content_becomes_the_secret(void **state)
{
    static const char *const twins[] = {"jwt_secret_file", "redis_password_file",
                                        "es_password_file", "es_api_key_file"};
    sc_config c;
    char a1[256], a2[256], a3[256], a4[256];
    char *argv[] = {"x", a1, a2, a3, a4};
    (void)state;
    snprintf(a1, sizeof(a1), "--jwt-secret-file=%s",
             puts_file(0, "j", "jwt-0123456789abcdef-S1\n"));
    snprintf(a2, sizeof(a2), "--redis-password-file=%s", puts_file(1, "r", "redis-S2-pw\r\n"));
    snprintf(a3, sizeof(a3), "--es_password_file=%s", puts_file(2, "e", "es-S3-pw"));
    snprintf(a4, sizeof(a4), "--es-api-key-file=%s", puts_file(3, "k", "apikey-S4\n"));
    assert_int_equal(load(&c, ARGC(argv), argv), SC_OK);
    assert_string_equal(c.jwt_secret, SECRETS[0]);
    assert_string_equal(c.redis_password, SECRETS[1]);
    assert_string_equal(c.es_password, SECRETS[2]);
    assert_string_equal(c.es_api_key, SECRETS[3]);
    assert_non_null(strstr(c.jwt_secret_file, "/j"));
    sc_config_free(&c);
    (void)twins;
    /* from a config file and from the environment */
    {
        char conf[512];
        char *argv2[] = {"x", "--config", conf};
        snprintf(conf, sizeof(conf), "%s", "");
        {
            char text[300];
            snprintf(text, sizeof(text), "redis_password_file = %s\n",
                     put(4, "r2", "pw-file\n", 8));
            snprintf(conf, sizeof(conf), "%s", puts_file(5, "c.conf", text));
        }
        setenv("SCOUR_JWT_SECRET_FILE", put(6, "j2", "env-secret-0123456789\n", 22), 1);
        assert_int_equal(load(&c, ARGC(argv2), argv2), SC_OK);
        unsetenv("SCOUR_JWT_SECRET_FILE");
        assert_string_equal(c.redis_password, "pw-file");
        assert_string_equal(c.jwt_secret, "env-secret-0123456789");
        sc_config_free(&c);
    }
}

/* Refusals name the option and the path. */
static void test_refusals(void **state)
{
    static const struct {
        const char *content; /* NULL: no such file */
        size_t n;
        const char *want; /* substring of the error, after "jwt_secret_file: " */
    } cases[] = {
        {NULL, 0, "cannot read %s: No such file or directory"},
        {"", 0, "%s is empty"},
        {"\n", 1, "%s is empty"},
        {"a\0b", 3, "%s contains a NUL byte"},
        {"two\nlines\n", 10, "%s: value contains a control character"},
        {"x\n\n", 3, "%s: value contains a control character"},
    };
    sc_config c;
    char arg[256], want[512], *big;
    char *argv[] = {"x", arg};
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *path = cases[i].content != NULL ? put(0, "bad", cases[i].content, cases[i].n)
                                                    : "/nonexistent/scour-secret";
        snprintf(arg, sizeof(arg), "--jwt-secret-file=%s", path);
        assert_int_equal(load(&c, ARGC(argv), argv), SC_EINVAL);
        sc_config_free(&c);
        assert_true(strncmp(errbuf, "jwt_secret_file: ", 17) == 0);
        snprintf(want, sizeof(want), cases[i].want, path);
        if (strstr(errbuf, want) == NULL)
            fail_msg("case %zu: '%s' lacks '%s'", i, errbuf, want);
    }
    /* longer than the secret's maximum, and larger than a secret file may be */
    big = malloc(70000);
    assert_non_null(big);
    memset(big, 'a', 70000);
    snprintf(arg, sizeof(arg), "--jwt-secret-file=%s", put(0, "big", big, 1025));
    assert_int_equal(load(&c, ARGC(argv), argv), SC_EINVAL);
    sc_config_free(&c);
    assert_non_null(strstr(errbuf, "value is 1025 bytes, longer than the maximum 1024"));
    snprintf(arg, sizeof(arg), "--jwt-secret-file=%s", put(0, "big", big, 70000));
    assert_int_equal(load(&c, ARGC(argv), argv), SC_EINVAL);
    sc_config_free(&c);
    assert_non_null(strstr(errbuf, "is larger than 65536 bytes"));
    free(big);
    /* both the secret and its file, whichever source gives which */
    {
        char a2[256];
        char *both[] = {"x", "--redis-password=inline", a2};
        snprintf(a2, sizeof(a2), "--redis-password-file=%s", puts_file(1, "r", "f\n"));
        assert_int_equal(load(&c, ARGC(both), both), SC_EINVAL);
        sc_config_free(&c);
        assert_string_equal(errbuf, "redis_password_file: redis_password is set too; give the "
                                    "secret one way only");
        setenv("SCOUR_REDIS_PASSWORD", "from-env", 1);
        both[1] = a2;
        assert_int_equal(load(&c, 2, both), SC_EINVAL);
        unsetenv("SCOUR_REDIS_PASSWORD");
        sc_config_free(&c);
        assert_non_null(strstr(errbuf, "redis_password is set too"));
        assert_null(strstr(errbuf, "from-env"));
    }
}

/* Through sc_prog_config as a program sees it: exit 2 and the message for a
 * bad file at start-up and at --check-config; a secret on the command line
 * is warned about without its value; --check-config and --help print none. */
static void test_program_output(void **state)
{
    static const sc_prog_opts rtr = {.name = "router",
                                     .program = SC_PROG_ROUTER,
                                     .version = "router",
                                     .no_args = true,
                                     .check_dump = true};
    sc_config c;
    sc_buf out;
    char a1[256], a2[256];
    (void)state;
    snprintf(a1, sizeof(a1), "--jwt-secret-file=%s/none", dir);
    {
        char *argv[] = {"router", a1};
        char *check[] = {"router", a1, "--check-config"};
        assert_int_equal(sc_prog_config(&rtr, ARGC(argv), argv, &c, NULL, &out),
                         SC_PROG_EXIT_USAGE);
        snprintf(a2, sizeof(a2),
                 "router: jwt_secret_file: cannot read %s/none: No such file or "
                 "directory\n",
                 dir);
        assert_string_equal(out.data, a2);
        sc_buf_free(&out);
        assert_int_equal(sc_prog_config(&rtr, ARGC(check), check, &c, NULL, &out),
                         SC_PROG_EXIT_USAGE);
        assert_string_equal(out.data, a2);
        sc_buf_free(&out);
    }
    /* a file-borne secret: the dump says where it came from and reloads */
    snprintf(a1, sizeof(a1), "--jwt-secret-file=%s",
             puts_file(0, "j", "jwt-0123456789abcdef-S1\n"));
    {
        char *check[] = {"router", a1, "--pg-dsn=host=db password='p S5 q' dbname=s",
                         "--check-config"};
        assert_int_equal(sc_prog_config(&rtr, ARGC(check), check, &c, NULL, &out), SC_PROG_EXIT_OK);
        assert_non_null(strstr(out.data, "jwt_secret = \"\" # read from jwt_secret_file\n"));
        assert_non_null(strstr(out.data, "pg_dsn = \"host=db password=<hidden> dbname=s\"\n"));
        assert_non_null(strstr(out.data, "# router: warning: --pg-dsn on the command line holds "
                                         "a password"));
        assert_null(strstr(out.data, "S1"));
        assert_null(strstr(out.data, "S5"));
        sc_buf_free(&out);
    }
    /* on the command line: works, warned, never echoed */
    {
        char *argv[] = {"router", "--jwt-secret=jwt-0123456789abcdef-S1", "--es-user=u",
                        "--es-password", "es-S3-pw"};
        char *check[] = {"router", "--jwt-secret=jwt-0123456789abcdef-S1", "--check-config"};
        char *help[] = {"router", "--jwt-secret=jwt-0123456789abcdef-S1", "--help"};
        assert_int_equal(sc_prog_config(&rtr, ARGC(argv), argv, &c, NULL, &out), SC_PROG_RUN);
        assert_string_equal(c.jwt_secret, SECRETS[0]);
        assert_string_equal(out.data,
                            "router: warning: --jwt-secret on the command line shows the secret "
                            "to every local user (ps, /proc/PID/cmdline); use jwt_secret_file or "
                            "a config file\n"
                            "router: warning: --es-password on the command line shows the secret "
                            "to every local user (ps, /proc/PID/cmdline); use es_password_file or "
                            "a config file\n");
        sc_config_free(&c);
        sc_buf_free(&out);
        assert_int_equal(sc_prog_config(&rtr, ARGC(check), check, &c, NULL, &out), SC_PROG_EXIT_OK);
        assert_non_null(strstr(out.data, "jwt_secret = \"<hidden>\"\n"));
        assert_true(strncmp(out.data, "# router: warning: --jwt-secret", 31) == 0);
        assert_null(strstr(out.data, "S1"));
        sc_buf_free(&out);
        assert_int_equal(sc_prog_config(&rtr, ARGC(help), help, &c, NULL, &out), SC_PROG_EXIT_OK);
        assert_non_null(strstr(out.data, "--jwt-secret-file=STRING"));
        assert_null(strstr(out.data, "S1"));
        sc_buf_free(&out);
    }
}

/* pg_dsn's password is masked in dumps in every spelling libpq takes. */
static void test_dsn_password_masked(void **state)
{
    static const char *const cases[][2] = {
        {"host=db password=hunter2 dbname=s", "host=db password=<hidden> dbname=s"},
        {"password = 'a b\\' c' host=db", "password = <hidden> host=db"},
        {"host=db password=x", "host=db password=<hidden>"},
        {"postgresql://u:hunter2@db:5432/s?sslmode=verify-full",
         "postgresql://u:<hidden>@db:5432/s?sslmode=verify-full"},
        {"postgres://u@db/s", "postgres://u@db/s"},
        {"host=db dbname=s passfile=/run/pgpass", "host=db dbname=s passfile=/run/pgpass"},
        {"host=db password=", "host=db password="},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sc_config c;
        sc_buf out;
        char want[300];
        sc_config_defaults(&c);
        assert_int_equal(sc_config_set(&c, "pg_dsn", cases[i][0], errbuf, sizeof(errbuf)), SC_OK);
        sc_buf_init(&out, 0);
        assert_int_equal(sc_config_dump(&c, &out, SC_PROG_ALL), SC_OK);
        snprintf(want, sizeof(want), "pg_dsn = \"%s\"\n", cases[i][1]);
        {
            /* the dump quotes backslashes and quotes */
            sc_buf q;
            sc_buf_init(&q, 0);
            assert_int_equal(sc_buf_puts(&q, "pg_dsn = \""), SC_OK);
            for (const char *p = cases[i][1]; *p; p++) {
                if (*p == '"' || *p == '\\')
                    assert_int_equal(sc_buf_puts(&q, "\\"), SC_OK);
                assert_int_equal(sc_buf_append(&q, p, 1), SC_OK);
            }
            assert_int_equal(sc_buf_puts(&q, "\"\n"), SC_OK);
            if (strstr(out.data, q.data) == NULL)
                fail_msg("case %zu: dump lacks %s", i, q.data);
            sc_buf_free(&q);
        }
        assert_null(strstr(out.data, "hunter2"));
        sc_buf_free(&out);
        sc_config_free(&c);
    }
}

/* ---- a running router ---- */

static int read_file(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY);
    ssize_t n, total = 0;
    if (fd < 0)
        return -1;
    while ((size_t)total < len - 1 && (n = read(fd, buf + total, len - 1 - (size_t)total)) > 0)
        total += n;
    close(fd);
    for (ssize_t i = 0; i < total; i++)
        if (buf[i] == '\0')
            buf[i] = ' '; /* cmdline and environ are NUL-separated */
    buf[total] = '\0';
    return (int)total;
}

typedef struct wait_log {
    const char *path; /* log file */
    const char *want; /* substring awaited */
    int count;        /* occurrences wanted */
} wait_log;

static int log_has(void *arg)
{
    wait_log *w = arg;
    static char buf[65536];
    int n = 0;
    const char *p;
    if (read_file(w->path, buf, sizeof(buf)) < 0)
        return 0;
    for (p = buf; (p = strstr(p, w->want)) != NULL; p++)
        n++;
    return n >= w->count;
}

static void wait_for(const char *log, const char *want, int count)
{
    wait_log w = {log, want, count};
    static char buf[65536];
    if (!t_wait_until(log_has, &w, 20000)) {
        read_file(log, buf, sizeof(buf));
        fail_msg("no '%s' (x%d) in %s:\n%s", want, count, log, buf);
    }
}

/* A JWKS with n Ed25519 keys "k0".."k{n-1}". */
static char *jwks(int n)
{
    sc_buf b;
    sc_buf_init(&b, 0);
    assert_int_equal(sc_buf_puts(&b, "{\"keys\":["), SC_OK);
    for (int i = 0; i < n; i++) {
        EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
        unsigned char x[32];
        size_t xl = sizeof(x);
        assert_non_null(k);
        assert_int_equal(EVP_PKEY_get_raw_public_key(k, x, &xl), 1);
        assert_int_equal(sc_buf_printf(&b,
                                       "%s{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"k%d\","
                                       "\"x\":\"",
                                       i ? "," : "", i),
                         SC_OK);
        assert_int_equal(sc_b64url_encode_buf(&b, x, xl), SC_OK);
        assert_int_equal(sc_buf_puts(&b, "\"}"), SC_OK);
        EVP_PKEY_free(k);
    }
    assert_int_equal(sc_buf_puts(&b, "]}"), SC_OK);
    return sc_buf_steal(&b);
}

static void test_running_router(void **state)
{
    char etcd_log[128], rlog[128], url[64], buf[65536], proc[64];
    char a_jwt[200], a_redis[200], a_es[200], a_jwks[200], a_etcd[100];
    char *py[] = {"/usr/bin/python3", (char *)t_repo_path("tests/fake_etcd.py"), NULL};
    char *text;
    const char *jwks_path;
    int epid, rpid, st, port = 0;
    wait_log w;
    (void)state;

    snprintf(etcd_log, sizeof(etcd_log), "%s/etcd.log", dir);
    snprintf(rlog, sizeof(rlog), "%s/router.log", dir);
    epid = t_spawn(py, etcd_log);
    w.path = etcd_log;
    w.want = "\n";
    w.count = 1;
    assert_true(t_wait_until(log_has, &w, 10000));
    assert_true(read_file(etcd_log, buf, sizeof(buf)) > 0 && sscanf(buf, "%d", &port) == 1);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);

    text = jwks(1);
    jwks_path = puts_file(3, "jwks.json", text);
    free(text);
    snprintf(a_jwt, sizeof(a_jwt), "--jwt-secret-file=%s",
             puts_file(0, "j", "jwt-0123456789abcdef-S1\n"));
    snprintf(a_redis, sizeof(a_redis), "--redis-password-file=%s",
             puts_file(1, "r", "redis-S2-pw\n"));
    snprintf(a_es, sizeof(a_es), "--es-password-file=%s", puts_file(2, "e", "es-S3-pw\n"));
    snprintf(a_jwks, sizeof(a_jwks), "--jwt-jwks-file=%s", jwks_path);
    snprintf(a_etcd, sizeof(a_etcd), "--etcd-url=%s", url);
    {
        char *argv[] = {(char *)t_bin_path("router"),
                        a_jwt,
                        a_redis,
                        "--es-user=u",
                        a_es,
                        a_jwks,
                        a_etcd,
                        "--listen-port=0",
                        "--redis-port=1",
                        "--log-level=debug",
                        "--pg-dsn=host=127.0.0.1 port=1 dbname=none connect_timeout=1",
                        NULL};
        rpid = t_spawn(argv, rlog);
    }
    wait_for(rlog, "router: listening on", 1);

    /* nothing secret in the process's argv or environment */
    snprintf(proc, sizeof(proc), "/proc/%d/cmdline", rpid);
    assert_true(read_file(proc, buf, sizeof(buf)) > 0);
    assert_non_null(strstr(buf, "--jwt-secret-file=")); /* it is the router */
    for (size_t i = 0; i < 3; i++)
        if (strstr(buf, SECRETS[i]) != NULL)
            fail_msg("secret %zu in %s: %s", i, proc, buf);
    snprintf(proc, sizeof(proc), "/proc/%d/environ", rpid);
    assert_true(read_file(proc, buf, sizeof(buf)) >= 0);
    for (size_t i = 0; i < 3; i++)
        assert_null(strstr(buf, SECRETS[i]));

    /* key rotation: a second key, then a broken file (old keys stay) */
    text = jwks(2);
    puts_file(3, "jwks.json", text);
    free(text);
    assert_int_equal(kill(rpid, SIGHUP), 0);
    wait_for(rlog, "(2 keys)", 1);
    puts_file(3, "jwks.json", "{\"keys\":[");
    assert_int_equal(kill(rpid, SIGHUP), 0);
    wait_for(rlog, "router: SIGHUP: keeping the previous token keys", 1);
    assert_int_equal(unlink(jwks_path), 0);
    assert_int_equal(kill(rpid, SIGHUP), 0);
    wait_for(rlog, "router: SIGHUP: keeping the previous token keys", 2);

    st = t_stop(rpid, SIGTERM, 15000);
    assert_true(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    t_stop(epid, SIGTERM, 5000);

    /* and nothing secret in its log */
    assert_true(read_file(rlog, buf, sizeof(buf)) > 0);
    for (size_t i = 0; i < 3; i++)
        if (strstr(buf, SECRETS[i]) != NULL)
            fail_msg("secret %zu in the router's log:\n%s", i, buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_secret_has_a_file_twin),
        cmocka_unit_test(test_content_becomes_the_secret),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_program_output),
        cmocka_unit_test(test_dsn_password_masked),
        cmocka_unit_test(test_running_router),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
