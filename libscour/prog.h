/*
 * prog.h - the start-up every scour program shares: load the config
 * (sc_config_load), answer --help and --version, refuse stray positional
 * words (programs that take none), validate (sc_config_validate), answer
 * --check-config, then set the log level and the stop signals. One call in
 * main() (sc_prog_start) replaces the same ladder that each program used
 * to carry, and the process's stop flag (sc_prog_stopping) replaces the
 * flag and handler each program kept of its own.
 *
 * Not here: printing or exiting. sc_prog_config fills a buffer with the text
 * to show and returns what main should do; main prints it (stdout for an
 * exit 0, stderr for an exit 2) and returns the exit code.
 */
#ifndef SC_PROG_H
#define SC_PROG_H

#include "buf.h"
#include "config.h"

#include <signal.h>
#include <stdbool.h>

/* What main does after sc_prog_config. The exit values are the exit codes. */
typedef enum sc_prog_action {
    SC_PROG_RUN = -1,      /* config loaded and valid: run the program */
    SC_PROG_EXIT_OK = 0,   /* --help/--version/--check-config answered: print
                               the text on stdout, exit 0 */
    SC_PROG_EXIT_USAGE = 2 /* usage or config error: print the text on
                               stderr, exit 2 */
} sc_prog_action;

/* How a program takes SIGINT and SIGTERM (every mode ignores SIGPIPE, so a
 * closed peer socket is an error return, not a death). */
typedef enum sc_prog_signals {
    SC_PROG_SIGNALS_NONE = 0, /* leave the signals alone */
    SC_PROG_SIGNALS_FLAG,     /* a handler sets the stop flag (sc_prog_stopping);
                                 threads and loops poll it */
    SC_PROG_SIGNALS_WAIT      /* SIGINT, SIGTERM and SIGHUP blocked in every thread
                                 started afterwards; main takes them with
                                 sc_prog_wait_signal */
} sc_prog_signals;

/* How one program presents itself. Strings are borrowed. */
typedef struct sc_prog_opts {
    const char *name;         /* "indexer": prefix of error lines */
    unsigned program;         /* SC_PROG_* mask: options shown, rules checked */
    const char *usage;        /* --help: text before the option list (may be NULL) */
    const char *version;      /* --version: the line, without newline */
    bool no_args;             /* positional words are a usage error */
    const char *args_hint;    /* appended to the stray-word error, e.g.
                               " (see --help)"; NULL = nothing */
    bool check_dump;          /* --check-config prints the effective config
                               (sc_config_dump); false: "<name>: config ok" */
    bool need_args;           /* no positional word is a usage error (a
                               program of commands) */
    const char *missing_args; /* with need_args: the line before the usage,
                                 e.g. "no command given"; NULL = usage only */
    sc_prog_signals signals;  /* what sc_prog_start does with the stop signals */
} sc_prog_opts;

/* Load cfg (and cli) from argv (sc_config_load; cfg treated as
 * uninitialised) and decide:
 *   load error           -> EXIT_USAGE, out "<name>: <reason>\n"
 *   --help               -> EXIT_OK, out = usage + option help
 *   --version            -> EXIT_OK, out "<version>\n"
 *   stray word (no_args) -> EXIT_USAGE, out "<name>: unexpected argument 'W'<hint>\n"
 *   validation error     -> EXIT_USAGE, out "<name>: <reason>\n"
 *   --check-config       -> EXIT_OK, out = config dump or "<name>: config ok\n"
 *   no word (need_args)  -> EXIT_USAGE, out = ["<name>: <missing_args>\n"] usage + help
 *   otherwise            -> RUN, out empty.
 * Warnings of the load (cli->warnings: a secret on the command line) come
 * first in out as "<name>: warning: ...\n" lines, whatever the action
 * ("# <name>: warning: ..." before a --check-config answer, so a dump
 * stays loadable); main prints them with the rest.
 * out is initialised here; free it with sc_buf_free whatever the result.
 * cfg: on RUN the caller owns it (sc_config_free); on an exit it is already
 * freed (and zeroed, so another sc_config_free is harmless).
 * cli: NULL when the program wants no positional words (handled and freed
 * here); otherwise it is filled and the caller releases it with
 * sc_config_cli_free whatever the result.
 * Out of memory while filling out is reported as EXIT_USAGE. */
sc_prog_action sc_prog_config(const sc_prog_opts *o, int argc, char **argv, sc_config *cfg,
                              sc_config_cli *cli, sc_buf *out) SC_MUST_USE;

/* The whole start-up: sc_prog_config, and when it says RUN, the log level
 * of cfg (sc_log_set_level), the etcd client defaults of cfg, and the stop
 * signals as o->signals says. Call it before starting any thread (the
 * signal mask is inherited). Same contract for cfg, cli and out as
 * sc_prog_config; main prints out (stdout for EXIT_OK, stderr otherwise)
 * and returns the action as its exit code unless it is RUN. */
sc_prog_action sc_prog_start(const sc_prog_opts *o, int argc, char **argv, sc_config *cfg,
                             sc_config_cli *cli, sc_buf *out) SC_MUST_USE;

/* Append the --help text of the program (usage, then the option help) to
 * out, e.g. to show it on stderr after a usage error. SC_ENOMEM if out is
 * full. */
sc_status sc_prog_usage(const sc_prog_opts *o, sc_buf *out) SC_MUST_USE;

/* The process's stop flag: 0 until SIGINT or SIGTERM arrives (with
 * SC_PROG_SIGNALS_FLAG) or sc_prog_stop is called, then 1 for good. Give
 * it to the engines' `stop` options; it lives as long as the process. */
const volatile sig_atomic_t *sc_prog_stop_flag(void);
/* Non-zero once the program was asked to stop. */
int sc_prog_stopping(void);
/* Ask the program to stop, as a signal would (e.g. a thread that cannot go
 * on). Async-signal-safe. */
void sc_prog_stop(void);

/* With SC_PROG_SIGNALS_WAIT: wait for SIGINT, SIGTERM or SIGHUP and return
 * its number (sets the stop flag too for SIGINT and SIGTERM). */
int sc_prog_wait_signal(void);

#endif
