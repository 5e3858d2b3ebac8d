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

#endif
