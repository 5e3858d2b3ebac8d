/*
 * redis.h - one blocking connection to Redis over hiredis 0.14 (RESP2), with
 * timeouts on connect and on every command, lazy reconnection, and the few
 * pipelined helpers the binding cache and the cluster-load sorted set need.
 *
 * Not here: the event stream (queue.c), what the keys mean (binding.c).
 *
 * Threading: a handle is one hiredis context; use it from one thread at a
 * time (one handle per thread).
 *
 * Connection policy: sc_redis_create does not connect. Every command
 * connects first if there is no live connection, so a Redis that was down at
 * start-up or restarted is picked up by the next call. Before a command is
 * sent on an idle connection, the socket is checked: if the server closed it
 * (restart, idle timeout) the handle reconnects first, so even a
 * non-idempotent command is not lost to a stale socket. If a command still
 * fails with an I/O error or EOF, the connection is dropped; a call marked
 * SC_REDIS_IDEMPOTENT then reconnects and sends it once more, any other call
 * returns SC_ECONN (the next call reconnects). A command timeout also drops
 * the connection (a late reply would desynchronise it) and is never retried.
 */
#ifndef SC_REDIS_H
#define SC_REDIS_H

#include "config.h"
#include "sc.h"

#include <hiredis/hiredis.h>
#include <stddef.h>
#include <stdint.h>

#define SC_REDIS_DEFAULT_PORT 6379
#define SC_REDIS_DEFAULT_CONNECT_TIMEOUT_MS 1000
#define SC_REDIS_DEFAULT_COMMAND_TIMEOUT_MS 2000

typedef struct sc_redis_opts {
    const char *host;       /* borrowed, copied at create; NULL means "127.0.0.1" */
    int port;               /* TCP port; 0 means 6379 */
    const char *password;   /* borrowed, copied; NULL or "" means no AUTH */
    const char *user;       /* borrowed, copied; ACL user for AUTH user password;
                               NULL or "" means the default user (AUTH password) */
    int connect_timeout_ms; /* TCP connect deadline; 0 means 1000 */
    int command_timeout_ms; /* per socket read/write (redisSetTimeout); 0 means 2000 */
} sc_redis_opts;

/* The connection options of every program from the validated config
 * (redis_host, redis_port, redis_user, redis_password); timeouts stay at
 * their defaults. The strings are borrowed from cfg, which must outlive the
 * sc_redis_create call (it copies them). */
void sc_redis_opts_from_config(const sc_config *cfg, sc_redis_opts *out);

typedef struct sc_redis sc_redis;

/* Flags for sc_redis_pipeline / sc_redis_command_argv_ex. */
#define SC_REDIS_IDEMPOTENT 0x1 /* safe to send again after a broken connection */

/* One command of a pipeline; every pointer is borrowed for the call. */
typedef struct sc_redis_cmd {
    int argc;              /* number of arguments, command name included */
    const char **argv;     /* argc arguments (binary-safe with argvlen) */
    const size_t *argvlen; /* argc lengths; NULL means strlen of each argv */
} sc_redis_cmd;

/* One member of a sorted set with its score. */
typedef struct sc_redis_zentry {
    char *member; /* owned by the array; freed by sc_redis_zentries_free */
    double score; /* ZSET score */
} sc_redis_zentry;

/* Allocate a handle; does not connect. Returns NULL only on bad options
 * (port out of range, negative timeouts) or out of memory, with the reason
 * in err. Release with sc_redis_free. */
sc_redis *sc_redis_create(const sc_redis_opts *o, char *err, size_t errlen);
/* Close the connection and free the handle. NULL is a no-op. */
void sc_redis_free(sc_redis *h);
/* Detail of the last failure (static inside the handle, never NULL). When the
 * server answered an error reply, errstr starts with its text verbatim
 * (e.g. "BUSYGROUP ..."). */
const char *sc_redis_errstr(const sc_redis *h);
/* Effective per-command socket timeout in ms (after defaults). */
int sc_redis_command_timeout_ms(const sc_redis *h);
/* Number of successful connections made so far (the first one included). */
uint64_t sc_redis_connects(const sc_redis *h);

/* PING (idempotent). SC_OK, SC_ECONN (unreachable), SC_ETIMEOUT, SC_ERR. */
sc_status sc_redis_ping(sc_redis *h) SC_MUST_USE;

/* Send one command and wait for its reply; not retried after a broken
 * connection (see sc_redis_command_argv_ex). argvlen may be NULL (strlen).
 * On SC_OK *out is the reply (never an error reply); the caller frees it
 * with freeReplyObject. On failure *out is NULL and errstr has the detail:
 * SC_ERR for a Redis error reply (errstr = its text), SC_ECONN, SC_ETIMEOUT,
 * SC_EPROTO, SC_ENOMEM, SC_EINVAL. */
sc_status sc_redis_command_argv(sc_redis *h, int argc, const char **argv, const size_t *argvlen,
                                redisReply **out) SC_MUST_USE;
/* Same with flags (SC_REDIS_IDEMPOTENT) and a socket timeout for this call
 * in ms (0 = the handle's command timeout; use block time + margin for
 * blocking commands such as XREADGROUP BLOCK). */
sc_status sc_redis_command_argv_ex(sc_redis *h, int flags, int timeout_ms, int argc,
                                   const char **argv, const size_t *argvlen,
                                   redisReply **out) SC_MUST_USE;

/* Send n commands in one write and read the n replies. On SC_OK replies[i]
 * holds each reply (which may be an error reply: check ->type); the caller
 * frees each with freeReplyObject (or sc_redis_replies_free). On failure no
 * reply is returned (all NULL) and errstr has the detail; with
 * SC_REDIS_IDEMPOTENT the whole pipeline is sent once more after a broken
 * connection. timeout_ms as for sc_redis_command_argv_ex. */
sc_status sc_redis_pipeline(sc_redis *h, int flags, int timeout_ms, size_t n,
                            const sc_redis_cmd *cmds, redisReply **replies) SC_MUST_USE;
/* freeReplyObject on each non-NULL replies[i] and set it to NULL. */
void sc_redis_replies_free(redisReply **replies, size_t n);

/* MGET keys[0..n). vals_out[i] is a NUL-terminated heap copy of the value,
 * or NULL when the key is missing (or not a string); the caller frees each
 * with free(). On failure every vals_out[i] is NULL. Idempotent. */
sc_status sc_redis_mget(sc_redis *h, const char *const *keys, size_t n,
                        char **vals_out) SC_MUST_USE;
/* SET key val, with EX ttl_s when ttl_s > 0. Idempotent. */
sc_status sc_redis_set(sc_redis *h, const char *key, const char *val, int ttl_s) SC_MUST_USE;
/* Pipelined SET of n key/value pairs, same ttl for all. Idempotent. SC_ERR
 * if any SET was refused (errstr names the first). */
sc_status sc_redis_set_many(sc_redis *h, const char *const *keys, const char *const *vals, size_t n,
                            int ttl_s) SC_MUST_USE;
/* ZINCRBY key incr member; new_score (may be NULL) gets the new score.
 * Not idempotent: not resent after a broken connection. */
sc_status sc_redis_zincrby(sc_redis *h, const char *key, const char *member, double incr,
                           double *new_score) SC_MUST_USE;
/* ZADD key score member (insert or overwrite). Idempotent. */
sc_status sc_redis_zadd(sc_redis *h, const char *key, const char *member, double score) SC_MUST_USE;
/* ZRANGE key start stop WITHSCORES (ranks, lowest score first; -1 = last).
 * *out is an array of *n entries (NULL when empty); the caller frees it with
 * sc_redis_zentries_free. A missing key gives *n == 0 and SC_OK. Idempotent. */
sc_status sc_redis_zrange_withscores(sc_redis *h, const char *key, int64_t start, int64_t stop,
                                     sc_redis_zentry **out, size_t *n) SC_MUST_USE;
/* Free what sc_redis_zrange_withscores returned. NULL is a no-op. */
void sc_redis_zentries_free(sc_redis_zentry *z, size_t n);
/* DEL keys[0..n); *deleted (may be NULL) gets how many existed. Idempotent. */
sc_status sc_redis_del(sc_redis *h, const char *const *keys, size_t n,
                       int64_t *deleted) SC_MUST_USE;

#endif
