/*
 * testlib.h - helpers shared by unit and integration tests (cmocka).
 * Integration tests find the real local stack through the environment that
 * `tests/stack env` prints (read from $SC_STACK_DIR/env or <repo>/.stack/env
 * when the variables are not already set).
 */
#ifndef SC_TESTLIB_H
#define SC_TESTLIB_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* Value of a stack variable (SC_ES_URLS, SC_REDIS_PORT, SC_PG_DSN,
 * SC_ETCD_URL, ...). Fails the test when absent. Static storage. */
const char *t_env(const char *name);
/* Like t_env but returns NULL when absent. */
const char *t_env_opt(const char *name);
/* The i-th (0-based) Elasticsearch URL from SC_ES_URLS. Static storage. */
const char *t_es_url(int i);
/* Run `tests/stack <args>`; fails the test on non-zero exit. */
void t_stack(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A random 62-bit id, unique enough to isolate test data on a shared stack. */
uint64_t t_rand_id(void);
/* A snowflake for "now minus ago_ms" with random low bits. */
uint64_t t_snowflake_ago(int64_t ago_ms);
/* "<prefix>-<pid>-<counter>" into buf. */
const char *t_unique(char *buf, size_t len, const char *prefix);
/* Poll pred(arg) every 50 ms until it returns non-zero or timeout_ms passes.
 * Returns the last value of pred. */
int t_wait_until(int (*pred)(void *), void *arg, int timeout_ms);
/* Path of a file in the repo (static storage, overwritten by next call). */
const char *t_repo_path(const char *rel);

/* Path of a program built next to the test binaries: <build>/NAME
 * (the test binary lives in <build>/tests/). Static storage per call site. */
const char *t_bin_path(const char *name);
/* Start a program in the background with the stack environment, stdout and
 * stderr appended to logfile (NULL = /dev/null). argv[0] is the program path;
 * argv is NULL-terminated. Returns the pid (fails the test on error). */
int t_spawn(char *const argv[], const char *logfile);
/* Send sig to pid and wait up to timeout_ms for it to exit. Returns the
 * exit status as from waitpid, or -1 if it did not exit (it is then
 * SIGKILLed and reaped). */
int t_stop(int pid, int sig, int timeout_ms);
/* Run a command line with /bin/sh; returns its exit code (or -1). Output
 * goes to *out when out is non-NULL (caller frees with free()). */
int t_run(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* An es_client for url (10 s timeout, 0 replicas); fails the test on error.
 * Free with es_client_free. */
struct es_client;
struct es_client *t_es_open(const char *url);
/* A TCP port on 127.0.0.1 that was free a moment ago (bound, read, closed). */
int t_free_port(void);
/* HTTP request with libcurl; returns the status code (0 when no answer).
 * body may be NULL; resp (may be NULL) receives the body, caller frees with
 * free(). headers: NULL-terminated "Name: value" lines or NULL. */
long t_http(const char *method, const char *url, const char *body, const char *const *headers,
            char **resp);

#endif
