/*
 * test_prog.c - unit tests of libscour/prog.c: the start-up decision every
 * program takes (run / exit 0 / exit 2) and the text it returns for --help,
 * --version, a load error, a stray word, a validation error and
 * --check-config. No stack needed; SCOUR_* variables are cleared first.
 */
#include "buf.h"
#include "config.h"
#include "log.h"
#include "prog.h"
#include "testlib.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* A program like the indexer: no positional words, dumps on check. */
static const sc_prog_opts ix = {
    .name = "ix",
    .program = SC_PROG_INDEXER,
    .usage = "usage: ix [options]\nDo things.\n",
    .version = "ix (scour) 9.9",
    .no_args = true,
    .args_hint = " (see --help)",
    .check_dump = true,
};

/* A program like reindex: takes command words, "config ok" on check. */
static const sc_prog_opts rx = {
    .name = "rx",
    .program = SC_PROG_REINDEX,
    .usage = "usage: rx COMMAND\n",
    .version = "rx (scour) 0.1",
};

/* Run sc_prog_config on argv; the text goes to *text (malloc'd, "" if
 * none; free()), the args seen to *nargs / first_arg (copied). */
static sc_prog_action run(const sc_prog_opts *o, int argc, char **argv, char **text, int *nargs,
                          char *first_arg, size_t cap)
{
    sc_config cfg;
    sc_config_cli cli;
    sc_buf out;
    sc_prog_action act;
    extern char **environ;

    for (int again = 1; again;) { /* no SCOUR_* from the host */
        again = 0;
        for (char **e = environ; e && *e; e++)
            if (strncmp(*e, "SCOUR_", 6) == 0) {
                char name[256];
                size_t n = strcspn(*e, "=");
                if (n >= sizeof(name))
                    continue;
                memcpy(name, *e, n);
                name[n] = '\0';
                unsetenv(name);
                again = 1;
                break;
            }
    }
    act = sc_prog_config(o, argc, argv, &cfg, &cli, &out);
    *text = strdup(out.data != NULL ? out.data : "");
    assert_non_null(*text);
    if (nargs != NULL)
        *nargs = cli.nargs;
    if (first_arg != NULL && cap > 0) {
        first_arg[0] = '\0';
        if (cli.nargs > 0)
            snprintf(first_arg, cap, "%s", cli.args[0]);
    }
    sc_buf_free(&out);
    sc_config_cli_free(&cli);
    sc_config_free(&cfg);
    return act;
}

static void test_run_plain(void **state)
{
    char *argv[] = {"ix", "--batch-count=7"};
    char *text;
    int n = -1;
    (void)state;
    assert_int_equal(run(&ix, ARGC(argv), argv, &text, &n, NULL, 0), SC_PROG_RUN);
    assert_string_equal(text, "");
    assert_int_equal(n, 0);
    free(text);
}

static void test_help_and_version(void **state)
{
    char *help[] = {"ix", "--help"};
    char *ver[] = {"ix", "--version"};
    char *rxver[] = {"rx", "-V"};
    char *text;
    (void)state;

    assert_int_equal(run(&ix, ARGC(help), help, &text, NULL, NULL, 0), SC_PROG_EXIT_OK);
    /* the program's usage first, then the option list of its mask */
    assert_true(strncmp(text, "usage: ix [options]\nDo things.\n", 31) == 0);
    assert_non_null(strstr(text, "--check-config"));
    assert_true(strstr(text, "--batch-count") != NULL || strstr(text, "--batch_count") != NULL);
    free(text);

    /* --help wins over a broken value: help works with a broken config */
    {
        char *bad[] = {"ix", "--redis-port=nope", "--help"};
        assert_int_equal(run(&ix, ARGC(bad), bad, &text, NULL, NULL, 0), SC_PROG_EXIT_OK);
        assert_true(strncmp(text, "usage: ix", 9) == 0);
        free(text);
    }

    assert_int_equal(run(&ix, ARGC(ver), ver, &text, NULL, NULL, 0), SC_PROG_EXIT_OK);
    assert_string_equal(text, "ix (scour) 9.9\n");
    free(text);
    assert_int_equal(run(&rx, ARGC(rxver), rxver, &text, NULL, NULL, 0), SC_PROG_EXIT_OK);
    assert_string_equal(text, "rx (scour) 0.1\n");
    free(text);
}

static void test_load_error(void **state)
{
    char *argv[] = {"ix", "--redis-port=70000"};
    char *unknown[] = {"rx", "--no-such-option=1"};
    char *text;
    (void)state;
    assert_int_equal(run(&ix, ARGC(argv), argv, &text, NULL, NULL, 0), SC_PROG_EXIT_USAGE);
    assert_true(strncmp(text, "ix: ", 4) == 0);
    assert_non_null(strstr(text, "redis_port"));
    assert_int_equal(text[strlen(text) - 1], '\n');
    free(text);
    assert_int_equal(run(&rx, ARGC(unknown), unknown, &text, NULL, NULL, 0), SC_PROG_EXIT_USAGE);
    assert_true(strncmp(text, "rx: ", 4) == 0);
    free(text);
}

static void test_positional_words(void **state)
{
    char *argv[] = {"x", "status", "17"};
    char first[32];
    char *text;
    int n = 0;
    (void)state;
    /* refused where the program takes none, with its hint */
    assert_int_equal(run(&ix, ARGC(argv), argv, &text, NULL, NULL, 0), SC_PROG_EXIT_USAGE);
    assert_string_equal(text, "ix: unexpected argument 'status' (see --help)\n");
    free(text);
    /* passed through to a program with commands */
    assert_int_equal(run(&rx, ARGC(argv), argv, &text, &n, first, sizeof(first)), SC_PROG_RUN);
    assert_string_equal(text, "");
    assert_int_equal(n, 2);
    assert_string_equal(first, "status");
    free(text);
    /* no hint configured: the bare message */
    {
        sc_prog_opts o = ix;
        o.args_hint = NULL;
        assert_int_equal(run(&o, ARGC(argv), argv, &text, NULL, NULL, 0), SC_PROG_EXIT_USAGE);
        assert_string_equal(text, "ix: unexpected argument 'status'\n");
        free(text);
    }
}

static void test_validation_error(void **state)
{
    char *argv[] = {"x", "--es-api-key=k", "--es-user=u"};
    char *check[] = {"x", "--es-api-key=k", "--es-user=u", "--check-config"};
    char *text;
    (void)state;
    assert_int_equal(run(&rx, ARGC(argv), argv, &text, NULL, NULL, 0), SC_PROG_EXIT_USAGE);
    /* the secret on the command line is warned about first, without its value */
    assert_string_equal(text, "rx: warning: --es-api-key on the command line shows the secret to "
                              "every local user (ps, /proc/PID/cmdline); use es_api_key_file or "
                              "a config file\n"
                              "rx: es_api_key: cannot be combined with es_user; pick one\n");
    free(text);
    /* --check-config on an invalid config is the same error */
    assert_int_equal(run(&ix, ARGC(check), check, &text, NULL, NULL, 0), SC_PROG_EXIT_USAGE);
    assert_non_null(strstr(text, "\nix: es_api_key:"));
    free(text);
}

static void test_check_config(void **state)
{
    char *argv[] = {"x", "--check-config", "--batch-count=7"};
    char *text;
    (void)state;
    /* dump: the effective values as config lines */
    assert_int_equal(run(&ix, ARGC(argv), argv, &text, NULL, NULL, 0), SC_PROG_EXIT_OK);
    assert_non_null(strstr(text, "batch_count = 7\n"));
    free(text);
    /* no dump: one line */
    assert_int_equal(run(&rx, ARGC(argv), argv, &text, NULL, NULL, 0), SC_PROG_EXIT_OK);
    assert_string_equal(text, "rx: config ok\n");
    free(text);
}

/* A program of commands: no word is a usage error showing the usage on
 * stderr, with an optional first line; sc_prog_usage is the --help text. */
static void test_need_args(void **state)
{
    char *none[] = {"x", "--batch-count=7"};
    char *help[] = {"x", "--help"};
    char *text, *helptext;
    sc_prog_opts o = rx;
    sc_buf u;
    (void)state;
    o.need_args = true;
    assert_int_equal(run(&o, ARGC(help), help, &helptext, NULL, NULL, 0), SC_PROG_EXIT_OK);
    sc_buf_init(&u, 0);
    assert_int_equal(sc_prog_usage(&o, &u), SC_OK);
    assert_string_equal(u.data, helptext);
    sc_buf_free(&u);

    assert_int_equal(run(&o, ARGC(none), none, &text, NULL, NULL, 0), SC_PROG_EXIT_USAGE);
    assert_string_equal(text, helptext);
    free(text);
    o.missing_args = "no command given";
    assert_int_equal(run(&o, ARGC(none), none, &text, NULL, NULL, 0), SC_PROG_EXIT_USAGE);
    assert_true(strncmp(text, "rx: no command given\n", 21) == 0);
    assert_string_equal(text + 21, helptext);
    free(text);
    free(helptext);
}

/* cli NULL: the helper keeps (and frees) the words itself; on an exit the
 * config is already freed and zeroed. */
static void test_cli_null_and_ownership(void **state)
{
    char *ok[] = {"ix", "--batch-count=7"};
    char *ver[] = {"ix", "--version"};
    sc_config cfg;
    sc_buf out;
    (void)state;
    assert_int_equal(sc_prog_config(&ix, ARGC(ok), ok, &cfg, NULL, &out), SC_PROG_RUN);
    assert_int_equal(out.len, 0);
    assert_int_equal(cfg.batch_count, 7);
    assert_non_null(cfg.namespace);
    sc_buf_free(&out);
    sc_config_free(&cfg);
    assert_int_equal(sc_prog_config(&ix, ARGC(ver), ver, &cfg, NULL, &out), SC_PROG_EXIT_OK);
    assert_null(cfg.namespace); /* freed and zeroed: nothing left to leak */
    sc_buf_free(&out);
    sc_config_free(&cfg); /* harmless */
}

/* sc_prog_start: the start-up decision, then (on RUN only) the log level of
 * the config and the stop signals of the program: with
 * SC_PROG_SIGNALS_FLAG, SIGTERM sets the process's stop flag instead of
 * ending us. */
static void test_start_sets_level_and_signals(void **state)
{
    char *argv[] = {"x", "--log-level=debug"};
    char *help[] = {"x", "--help", "--log-level=error"};
    sc_prog_opts o = ix;
    sc_config cfg;
    sc_buf out;
    (void)state;
    o.signals = SC_PROG_SIGNALS_FLAG;
    sc_log_set_level(SC_LOG_INFO);
    /* an exit leaves level and signals alone */
    assert_int_equal(sc_prog_start(&o, 3, help, &cfg, NULL, &out), SC_PROG_EXIT_OK);
    sc_buf_free(&out);
    assert_int_equal(atomic_load(&sc_log_level_cur), SC_LOG_INFO);
    assert_false(sc_prog_stopping());
    /* RUN: debug level, and SIGTERM reaches the stop flag */
    assert_int_equal(sc_prog_start(&o, 2, argv, &cfg, NULL, &out), SC_PROG_RUN);
    assert_int_equal(out.len, 0);
    sc_buf_free(&out);
    assert_int_equal(atomic_load(&sc_log_level_cur), SC_LOG_DEBUG);
    assert_false(sc_prog_stopping());
    assert_int_equal(*sc_prog_stop_flag(), 0);
    assert_int_equal(raise(SIGTERM), 0);
    assert_true(sc_prog_stopping());
    assert_int_equal(*sc_prog_stop_flag(), 1);
    sc_config_free(&cfg);
    sc_log_set_level(SC_LOG_INFO);
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
}

/* SC_PROG_SIGNALS_WAIT: the stop signals and SIGHUP are blocked, so they
 * wait (pending) for sc_prog_wait_signal, which returns each by number. */
static void test_start_blocks_signals_for_wait(void **state)
{
    char *argv[] = {"x"};
    sc_prog_opts o = ix;
    sc_config cfg;
    sc_buf out;
    sigset_t cur, set;
    (void)state;
    o.signals = SC_PROG_SIGNALS_WAIT;
    assert_int_equal(sc_prog_start(&o, 1, argv, &cfg, NULL, &out), SC_PROG_RUN);
    sc_buf_free(&out);
    assert_int_equal(pthread_sigmask(SIG_BLOCK, NULL, &cur), 0);
    assert_true(sigismember(&cur, SIGINT) && sigismember(&cur, SIGTERM) &&
                sigismember(&cur, SIGHUP));
    assert_int_equal(raise(SIGHUP), 0); /* blocked: pending, we live on */
    assert_int_equal(sc_prog_wait_signal(), SIGHUP);
    assert_int_equal(raise(SIGINT), 0);
    assert_int_equal(sc_prog_wait_signal(), SIGINT);
    assert_true(sc_prog_stopping());
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    assert_int_equal(pthread_sigmask(SIG_UNBLOCK, &set, NULL), 0);
    sc_config_free(&cfg);
    sc_log_set_level(SC_LOG_INFO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_run_plain),
        cmocka_unit_test(test_help_and_version),
        cmocka_unit_test(test_load_error),
        cmocka_unit_test(test_positional_words),
        cmocka_unit_test(test_validation_error),
        cmocka_unit_test(test_check_config),
        cmocka_unit_test(test_need_args),
        cmocka_unit_test(test_cli_null_and_ownership),
        cmocka_unit_test(test_start_sets_level_and_signals),
        cmocka_unit_test(test_start_blocks_signals_for_wait),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
