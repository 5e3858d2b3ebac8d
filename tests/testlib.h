/*
 * testlib.h - helpers shared by unit and integration tests (cmocka).
 * Integration tests find the real local stack through the environment that
 * `tests/stack env` prints (read from $SC_STACK_DIR/env or <repo>/.stack/env
 * when the variables are not already set). testlib.c: environment,
 * processes, HTTP; testlib_prog.c: scour's programs and a reindex test's
 * world on the stack.
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

/* ---- scour's programs on the stack (testlib_prog.c) ---- */

/* Where a test's indexer or router runs. Strings are borrowed; NULL
 * clusters = none given (the program discovers them in etcd). */
typedef struct t_svc {
    const char *ns;       /* --namespace */
    const char *clusters; /* --clusters NAME=URL,... or NULL */
    const char *index;    /* indexer --index-name */
    const char *stream;   /* indexer --stream */
    const char *consumer; /* indexer --consumer */
    int linger_ms;        /* indexer --linger-ms */
    int port;             /* router --listen-port */
    const char *secret;   /* router --jwt-secret */
} t_svc;
/* Start an indexer on the stack (Redis, PostgreSQL, etcd of the env; group
 * ix, one worker, --read-block-ms=200, no metrics port, log level warn,
 * the repo's index schema), then the flags of extra (NULL-terminated, may
 * be NULL). Output appended to logfile (NULL = /dev/null). The pid. */
int t_spawn_indexer(const t_svc *s, const char *const *extra, const char *logfile);
/* Start a router likewise (rate limits off, log level warn), then extra. */
int t_spawn_router(const t_svc *s, const char *const *extra, const char *logfile);
/* Poll http://127.0.0.1:port/healthz for up to 10 s: 1 once it answers 200,
 * 0 if it never did. */
int t_wait_healthy(int port);
/* GET http://127.0.0.1:<port><pathq> as user, with an HS256 token of
 * secret valid 10 minutes. The HTTP status; resp as for t_http. */
long t_search(int port, const char *secret, uint64_t user, const char *pathq, char **resp);
/* total_results of a 200 answer to the channel's search for content=word;
 * -1 for any other answer. */
long t_search_total(int port, const char *secret, uint64_t user, uint64_t channel,
                    const char *word);

/* The world of a `reindex` test (it_reindex.c, it_verify.c): its own
 * PostgreSQL handle, a unique namespace, two cluster names on the stack's
 * first two URLs (a static `clusters` list), a unique index and the
 * command-line options every run of the program takes. */
struct sc_db;
typedef struct t_rxfx {
    struct sc_db *db;    /* the test's own PG handle (owned) */
    char ns[64];         /* etcd / Redis namespace */
    char ca[64], cb[64]; /* cluster names -> t_es_url(0), t_es_url(1) */
    char index[64];      /* unique index name */
    char args[2048];     /* common command-line options */
    uint64_t guild;      /* guild of the test channels */
} t_rxfx;
/* Fill f: names "<tag>ns-...", "<tag>a-...", "<tag>b-...", "<tag>-idx-...",
 * a guild named "<tag> guild". Fails the test when PostgreSQL is away. */
void t_rxfx_setup(t_rxfx *f, const char *tag);
/* Delete the index on both clusters and close the handle. */
void t_rxfx_teardown(t_rxfx *f);
/* The URL of cluster (cb: the second, anything else: the first). */
const char *t_rxfx_url(const t_rxfx *f, const char *cluster);
/* _refresh the world's index on cluster. */
void t_rxfx_refresh(const t_rxfx *f, const char *cluster);
/* m = message id of channel in the world's guild, by user 42, with this
 * version, deleted flag and content (borrowed). */
struct sc_message;
void t_rxfx_msg(const t_rxfx *f, struct sc_message *m, uint64_t channel, uint64_t id,
                int64_t version, int deleted, const char *content);
/* The same message upserted into PostgreSQL (fails the test otherwise). */
void t_rxfx_put(const t_rxfx *f, uint64_t channel, uint64_t id, int64_t version, int deleted,
                const char *content);

#endif
