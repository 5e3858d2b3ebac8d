/*
 * prog.c - the shared start-up of scour programs (config, --help,
 * --version, --check-config, log level, stop signals) and the process's
 * stop flag; see prog.h. Fills a buffer, never prints.
 */
#include "prog.h"

#include "etcd.h"

#include "log.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

/* The process's stop flag (sc_prog_stop_flag): set once, never cleared. */
static volatile sig_atomic_t stop_flag;

/* "<name>: <msg>\n" into out; EXIT_USAGE. */
static sc_prog_action usage_error(const sc_prog_opts *o, sc_buf *out, const char *msg)
{
    if (sc_buf_printf(out, "%s: %s\n", o->name, msg) != SC_OK) {
        /* out of memory: the action stands, with less text */
    }
    return SC_PROG_EXIT_USAGE;
}

sc_status sc_prog_usage(const sc_prog_opts *o, sc_buf *out)
{
    if (o->usage != NULL && sc_buf_puts(out, o->usage) != SC_OK)
        return SC_ENOMEM;
    return sc_config_help(out, o->program);
}

/* Put "<prefix><name>: <line>" for each line of warnings before out's text
 * (prefix "# " keeps a --check-config dump loadable as a config file). */
static void prepend_warnings(const sc_prog_opts *o, const char *warnings, const char *prefix,
                             sc_buf *out)
{
    sc_buf w;
    const char *p = warnings;
    sc_status st = SC_OK;
    sc_buf_init(&w, 0);
    while (*p && st == SC_OK) {
        size_t n = strcspn(p, "\n");
        st = sc_buf_printf(&w, "%s%s: %.*s\n", prefix, o->name, (int)n, p);
        p += n + (p[n] == '\n');
    }
    if (st == SC_OK && out->len > 0)
        st = sc_buf_append(&w, out->data, out->len);
    if (st == SC_OK) {
        sc_buf_free(out);
        *out = w;
    } else
        sc_buf_free(&w); /* out of memory: the action stands, without the warnings */
}

/* The decision of sc_prog_config, on a zeroed cli it fills. */
static sc_prog_action decide(const sc_prog_opts *o, int argc, char **argv, sc_config *cfg,
                             sc_config_cli *cli, sc_buf *out)
{
    char err[1024] = "";

    if (sc_config_load(cfg, argc, argv, cli, err, sizeof(err)) != SC_OK)
        return usage_error(o, out, err);
    if (cli->help)
        return sc_prog_usage(o, out) == SC_OK ? SC_PROG_EXIT_OK : SC_PROG_EXIT_USAGE;
    if (cli->version) {
        if (sc_buf_printf(out, "%s\n", o->version != NULL ? o->version : o->name) != SC_OK)
            return SC_PROG_EXIT_USAGE;
        return SC_PROG_EXIT_OK;
    }
    if (o->no_args && cli->nargs > 0) {
        char what[512];
        snprintf(what, sizeof(what), "unexpected argument '%s'%s", cli->args[0],
                 o->args_hint != NULL ? o->args_hint : "");
        return usage_error(o, out, what);
    }
    if (sc_config_validate(cfg, o->program, err, sizeof(err)) != SC_OK)
        return usage_error(o, out, err);
    if (cli->check_config) {
        sc_status st = o->check_dump ? sc_config_dump(cfg, out, o->program)
                                     : sc_buf_printf(out, "%s: config ok\n", o->name);
        return st == SC_OK ? SC_PROG_EXIT_OK : SC_PROG_EXIT_USAGE;
    }
    if (o->need_args && cli->nargs < 1) {
        if (o->missing_args != NULL)
            (void)usage_error(o, out, o->missing_args);
        if (sc_prog_usage(o, out) != SC_OK) {
            /* out of memory: the action stands, with less text */
        }
        return SC_PROG_EXIT_USAGE;
    }
    return SC_PROG_RUN;
}

sc_prog_action sc_prog_config(const sc_prog_opts *o, int argc, char **argv, sc_config *cfg,
                              sc_config_cli *cli, sc_buf *out)
{
    sc_config_cli own;
    sc_config_cli *c = cli != NULL ? cli : &own;
    sc_prog_action act;

    sc_buf_init(out, 0);
    memset(c, 0, sizeof(*c));
    act = decide(o, argc, argv, cfg, c, out);
    if (c->warnings[0] != '\0')
        prepend_warnings(o, c->warnings, act == SC_PROG_EXIT_OK ? "# " : "", out);
    if (cli == NULL)
        sc_config_cli_free(&own);
    if (act != SC_PROG_RUN)
        sc_config_free(cfg);
    return act;
}

static void on_stop_signal(int sig)
{
    (void)sig;
    sc_prog_stop();
}

/* The signals SC_PROG_SIGNALS_WAIT blocks and sc_prog_wait_signal takes. */
static void wait_set(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGHUP);
}

/* Install what mode says for SIGINT/SIGTERM (a flag handler: no
 * SA_RESTART, empty mask; or blocked for sigwait); ignore SIGPIPE. */
static void take_signals(sc_prog_signals mode)
{
    if (mode == SC_PROG_SIGNALS_FLAG) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_stop_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
    } else if (mode == SC_PROG_SIGNALS_WAIT) {
        sigset_t set;
        wait_set(&set);
        pthread_sigmask(SIG_BLOCK, &set, NULL);
    }
    if (mode != SC_PROG_SIGNALS_NONE)
        signal(SIGPIPE, SIG_IGN);
}

sc_prog_action sc_prog_start(const sc_prog_opts *o, int argc, char **argv, sc_config *cfg,
                             sc_config_cli *cli, sc_buf *out)
{
    sc_prog_action act = sc_prog_config(o, argc, argv, cfg, cli, out);
    if (act != SC_PROG_RUN)
        return act;
    sc_log_set_level((sc_log_level)cfg->log_level);
    {
        /* every etcd client and watcher of the program takes these */
        etcd_opts d;
        memset(&d, 0, sizeof d);
        d.ca_file = cfg->etcd_ca_file;
        d.cert_file = cfg->etcd_cert_file;
        d.key_file = cfg->etcd_key_file;
        d.user = cfg->etcd_user;
        d.password = cfg->etcd_password;
        if (etcd_set_defaults(&d) != SC_OK) {
            sc_buf_reset(out);
            if (sc_buf_printf(out, "%s: out of memory\n", o->name) != SC_OK)
                sc_buf_reset(out);
            return SC_PROG_EXIT_USAGE;
        }
    }
    take_signals(o->signals);
    return act;
}

const volatile sig_atomic_t *sc_prog_stop_flag(void) { return &stop_flag; }

int sc_prog_stopping(void) { return stop_flag != 0; }

void sc_prog_stop(void) { stop_flag = 1; }

int sc_prog_wait_signal(void)
{
    sigset_t set;
    int sig = 0;
    wait_set(&set);
    while (sigwait(&set, &sig) != 0) {
        /* only EINVAL, which this set cannot cause: wait again */
    }
    if (sig != SIGHUP)
        sc_prog_stop();
    return sig;
}
