/*
 * config.c - the option table: each option's type, default, range and
 * check, looking an option up by name, and the table-wide defaults, set and
 * free; see config.h for the contract and docs/config.md for the options.
 * Parsing and storing one value is config_value.c; the cross-field
 * validation is config_validate.c; where values come from (file,
 * environment, command line, secret files) is config_load.c; --help and
 * --check-config's dump are config_help.c.
 *
 * Every value, defaults included, goes through cfg_set_value(), so a default
 * can never be something a user could not have typed. Not here: printing,
 * exiting, watching the file for changes (reload is the caller's loop).
 */
#include "config_int.h"
#include "index_name.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KIB 1024LL
#define MIB (1024LL * 1024)
#define GIB (1024LL * 1024 * 1024)


/* ---- validators (text already passed the type check) ---- */

static sc_status check_nonempty(const char *t, char *err, size_t errlen)
{
    if (*t == '\0') {
        sc_seterr(err, errlen, "must not be empty");
        return SC_EINVAL;
    }
    return SC_OK;
}

static int is_name_char(int ch) { return isalnum(ch) || ch == '_' || ch == '-' || ch == '.'; }

/* A key prefix / cluster name: [A-Za-z0-9_.-]+ so it is safe in etcd keys,
 * Redis keys and URLs without escaping. */
static sc_status check_ident(const char *t, char *err, size_t errlen)
{
    const char *p;
    if (check_nonempty(t, err, errlen) != SC_OK)
        return SC_EINVAL;
    for (p = t; *p; p++) {
        if (!is_name_char((unsigned char)*p)) {
            sc_seterr(err, errlen, "'%.*s' may only contain letters, digits, '_', '-' and '.'",
                      CFG_SHOW, t);
            return SC_EINVAL;
        }
    }
    return SC_OK;
}

static int has_http_scheme(const char *t, size_t n)
{
    return (n > 7 && strncmp(t, "http://", 7) == 0) || (n > 8 && strncmp(t, "https://", 8) == 0);
}

static sc_status check_url(const char *t, char *err, size_t errlen)
{
    if (!has_http_scheme(t, strlen(t))) {
        sc_seterr(err, errlen, "'%.*s' is not an http:// or https:// URL", CFG_SHOW, t);
        return SC_EINVAL;
    }
    return SC_OK;
}

/* Elasticsearch time value: "-1" (disabled) or digits + nanos|micros|ms|s|m|h|d. */
static sc_status check_es_time(const char *t, char *err, size_t errlen)
{
    static const char *const units[] = {"nanos", "micros", "ms", "s", "m", "h", "d", NULL};
    const char *p = t;
    int i;
    if (strcmp(t, "-1") == 0)
        return SC_OK;
    while (isdigit((unsigned char)*p))
        p++;
    if (p != t)
        for (i = 0; units[i]; i++)
            if (strcmp(p, units[i]) == 0)
                return SC_OK;
    sc_seterr(err, errlen, "'%.*s' is not an Elasticsearch time value (e.g. 1s, 500ms, -1)",
              CFG_SHOW, t);
    return SC_EINVAL;
}

/* Index names: the rule the clients apply at runtime (index_name.h), so a
 * name that passes --check-config never fails at the cluster. */
static sc_status check_index_name(const char *t, char *err, size_t errlen)
{
    return sc_index_name_check(t, 0, err, errlen);
}

/* "name=url,name=url" or empty. */
static sc_status check_clusters(const char *t, char *err, size_t errlen)
{
    const char *p = t;
    if (*t == '\0')
        return SC_OK;
    while (*p) {
        const char *end = strchr(p, ',');
        const char *eq;
        size_t n = end ? (size_t)(end - p) : strlen(p);
        const char *q;
        eq = memchr(p, '=', n);
        if (eq == NULL || eq == p)
            goto bad;
        for (q = p; q < eq; q++)
            if (!is_name_char((unsigned char)*q))
                goto bad;
        if (!has_http_scheme(eq + 1, n - (size_t)(eq + 1 - p)))
            goto bad;
        if (end == NULL)
            break;
        p = end + 1;
        if (*p == '\0')
            goto bad;
    }
    return SC_OK;
bad:
    sc_seterr(err, errlen, "'%.*s' is not a list of name=http(s)://url separated by commas",
              CFG_SHOW, t);
    return SC_EINVAL;
}

/* ---- the table ---- */

static const char *const log_levels[] = {"error", "warn", "info", "debug", NULL};

#define FLD(f) offsetof(sc_config, f), sizeof(((sc_config *)0)->f)
/* clang-format off: brace initialisers in macros confuse it */
#define R_INT(n, d, lo, hi, p, h)                              \
    {                                                          \
#n, SC_CFG_INT, FLD(n), d, lo, hi, NULL, p, 0, h, NULL \
    }
#define R_BYTES(n, d, lo, hi, p, h)                              \
    {                                                            \
#n, SC_CFG_BYTES, FLD(n), d, lo, hi, NULL, p, 0, h, NULL \
    }
#define R_BOOL(n, d, p, h)                                    \
    {                                                         \
#n, SC_CFG_BOOL, FLD(n), d, 0, 1, NULL, p, 0, h, NULL \
    }
#define R_ENUM(n, d, v, p, h)                              \
    {                                                      \
#n, SC_CFG_ENUM, FLD(n), d, 0, 0, v, p, 0, h, NULL \
    }
#define R_STR(n, d, len, p, fl, h, chk)                           \
    {                                                             \
#n, SC_CFG_STRING, FLD(n), d, 0, len, NULL, p, fl, h, chk \
    }
/* clang-format on */

#define ALL SC_PROG_ALL
#define IDX SC_PROG_INDEXER
#define RTR SC_PROG_ROUTER
#define RDX SC_PROG_REINDEX
#define ADM SC_PROG_ADMIN
#define SECRET SC_CFG_SECRET
#define SECFILE SC_CFG_SECRET_FILE

static const sc_config_row rows[] = {
    /* common */
    R_ENUM(log_level, "info", log_levels, ALL, "log verbosity"),
    R_STR(namespace, "scour", 128, ALL, 0, "prefix of every etcd key and Redis key", check_ident),
    R_STR(etcd_url, "http://127.0.0.1:2379", 4096, ALL, 0, "etcd v3 JSON gateway URL", check_url),
    R_STR(redis_host, "127.0.0.1", 1024, ALL, 0, "Redis host", check_nonempty),
    R_INT(redis_port, "6379", 1, 65535, ALL, "Redis port"),
    R_STR(redis_password, "", 1024, ALL, SECRET, "Redis AUTH password (empty = no AUTH)", NULL),
    R_STR(redis_password_file, "", 4096, ALL, SECFILE,
          "file holding redis_password (one trailing newline dropped)", NULL),
    R_STR(pg_dsn, "host=127.0.0.1 dbname=scour", 4096, ALL, 0,
          "PostgreSQL connection string (libpq)", check_nonempty),
    R_STR(es_user, "", 1024, ALL, 0, "Elasticsearch basic-auth user (empty = none)", NULL),
    R_STR(es_password, "", 1024, ALL, SECRET, "Elasticsearch basic-auth password", NULL),
    R_STR(es_password_file, "", 4096, ALL, SECFILE,
          "file holding es_password (one trailing newline dropped)", NULL),
    R_STR(es_api_key, "", 1024, ALL, SECRET, "Elasticsearch API key (exclusive with es_user)",
          NULL),
    R_STR(es_api_key_file, "", 4096, ALL, SECFILE,
          "file holding es_api_key (one trailing newline dropped)", NULL),
    R_STR(es_ca_file, "", 4096, ALL, 0, "CA bundle for https clusters (empty = system CAs)", NULL),
    /* TLS and authentication of etcd and Redis (docs/security.md) */
    R_STR(etcd_ca_file, "", 4096, ALL, 0, "CA bundle for an https etcd_url (empty = system CAs)",
          NULL),
    R_STR(etcd_cert_file, "", 4096, ALL, 0, "client certificate (PEM) for etcd (empty = none)",
          NULL),
    R_STR(etcd_key_file, "", 4096, ALL, 0, "private key (PEM) of etcd_cert_file", NULL),
    R_STR(etcd_user, "", 256, ALL, 0, "etcd user for auth/authenticate (empty = no auth)", NULL),
    R_STR(etcd_password, "", 1024, ALL, SECRET, "password of etcd_user", NULL),
    R_STR(etcd_password_file, "", 4096, ALL, SECFILE,
          "file holding etcd_password (one trailing newline dropped)", NULL),
    R_STR(redis_user, "", 256, ALL, 0, "Redis ACL user for AUTH user password (empty = default)",
          NULL),
    R_BOOL(redis_tls, "false", ALL,
           "TLS to Redis; this build's hiredis has none: refused, use a TLS sidecar"),
    R_STR(redis_ca_file, "", 4096, ALL, 0, "CA bundle for redis_tls (refused like it)", NULL),
    R_STR(redis_cert_file, "", 4096, ALL, 0, "client certificate for redis_tls (refused like it)",
          NULL),
    R_STR(redis_key_file, "", 4096, ALL, 0, "private key for redis_tls (refused like it)", NULL),
    R_INT(es_connect_timeout_ms, "2000", 10, 60000, ALL, "Elasticsearch connect timeout, ms"),
    R_INT(es_request_timeout_ms, "30000", 100, 600000, ALL,
          "Elasticsearch whole-request timeout, ms"),
    R_INT(es_replicas, "0", 0, 5, ALL, "number_of_replicas of created indices"),
    R_STR(es_refresh_interval, "1s", 32, ALL, 0,
          "refresh_interval of the indices scour creates or ensures (e.g. 1s, 30s, -1)",
          check_es_time),
    /* refresh on read (indexer marks, router refreshes; docs/router.md) */
    R_BOOL(refresh_on_read, "true", IDX | RTR,
           "indexer marks written indices dirty, router refreshes a dirty index before searching"),
    R_INT(refresh_mark_ttl_s, "3600", 1, 604800, IDX | RTR,
          "life of a dirty mark: an older mark is ignored and never delays a search, s"),
    R_INT(refresh_timeout_ms, "1000", 1, 60000, RTR,
          "longest a search waits for the refresh of a dirty index, ms"),
    R_STR(index_name, "messages-v1", 255, ALL, 0, "index (or alias) name on every cluster",
          check_index_name),
    R_STR(index_schema, "schemas/elasticsearch/messages.json", 4096, ALL, 0,
          "path of the index settings+mappings JSON", check_nonempty),
    R_STR(stream, "scour:events", 256, ALL, 0, "Redis Stream of message events", check_nonempty),
    R_STR(group, "indexers", 256, ALL, 0, "consumer group of the indexers", check_nonempty),
    R_STR(dead_stream, "", 256, ALL, 0, "dead-letter stream (empty = <stream>:dead)", NULL),
    R_INT(stream_maxlen, "10000000", 1000, 1000000000000LL, ALL,
          "approximate max length of the stream (XADD MAXLEN ~)"),
    R_INT(metrics_port, "0", 0, 65535, ALL, "metrics HTTP port (0 = off)"),
    R_STR(clusters, "", 65536, ALL, 0,
          "static clusters name=url,... used when etcd has none registered", check_clusters),
    /* indexer */
    R_INT(workers, "4", 1, 64, IDX, "indexer worker threads"),
    R_INT(batch_count, "500", 1, 10000, IDX, "max documents per bulk request"),
    R_BYTES(batch_bytes, "4m", KIB, 64 * MIB, IDX, "max bytes per bulk request"),
    R_INT(linger_ms, "50", 0, 10000, IDX, "max wait to fill a batch, ms"),
    R_INT(read_block_ms, "1000", 1, 60000, IDX, "XREADGROUP BLOCK timeout, ms"),
    R_BYTES(inflight_bytes_max, "64m", 64 * KIB, 4 * GIB, IDX,
            "max event bytes read but not yet acknowledged"),
    R_INT(max_deliveries, "10", 1, 1000, IDX, "deliveries before an event is dead-lettered"),
    R_INT(claim_idle_ms, "30000", 100, 86400000, IDX,
          "idle time before another consumer claims a pending event, ms"),
    R_INT(retry_base_ms, "100", 1, 60000, IDX, "first retry backoff, ms"),
    R_INT(retry_max_ms, "10000", 1, 600000, IDX, "retry backoff ceiling, ms"),
    R_STR(consumer, "", 256, IDX, 0, "consumer name (empty = <hostname>-<pid>)", NULL),
    R_INT(binding_cache_ttl_s, "3600", 1, 604800, IDX,
          "TTL of channel->cluster bindings cached in Redis, s"),
    /* router */
    R_STR(listen_addr, "127.0.0.1", 256, RTR, 0, "HTTP listen address", check_nonempty),
    R_INT(listen_port, "8080", 0, 65535, RTR, "HTTP listen port (0 = pick a free port)"),
    R_INT(threads, "4", 1, 256, RTR,
          "search worker threads (each with its PostgreSQL, Redis and cluster connections)"),
    R_STR(jwt_secret, "", 1024, RTR, SECRET,
          "HS256 key for request tokens (>= 16 bytes; may be empty with a JWKS)", NULL),
    R_STR(jwt_secret_file, "", 4096, RTR, SECFILE,
          "file holding jwt_secret (one trailing newline dropped)", NULL),
    R_STR(jwt_jwks_file, "", 4096, RTR, 0,
          "JWKS file of RS256/ES256/EdDSA token keys (empty = none; reread on SIGHUP)", NULL),
    R_STR(jwt_audience, "", 1024, RTR, 0, "required token aud (empty = not checked)", NULL),
    R_STR(jwt_issuer, "", 1024, RTR, 0, "required token iss (empty = not checked)", NULL),
    R_INT(jwt_leeway_s, "30", 0, 3600, RTR, "clock skew allowed on token exp and nbf, s"),
    R_INT(query_timeout_ms, "2000", 10, 60000, RTR, "deadline of one search fan-out, ms"),
    R_INT(perm_cache_ttl_ms, "5000", 0, 600000, RTR, "permission cache TTL, ms (0 = no cache)"),
    R_INT(max_request_bytes, "16384", 1024, 1048576, RTR,
          "max HTTP request target, header block or body, bytes"),
    R_INT(max_channels, "500", 1, 5000, RTR, "max channels in one search"),
    R_INT(max_connections, "10000", 1, 1000000, RTR,
          "client connections held at once (more are answered 503 and closed)"),
    R_INT(queue_max, "1024", 0, 1000000, RTR,
          "searches waiting for a free worker (more are answered 503)"),
    R_INT(queue_timeout_ms, "2000", 1, 60000, RTR,
          "longest wait of a search for a free worker before a 503, ms"),
    R_INT(rate_limit_user, "50", 0, 1000000, RTR,
          "searches per user (token sub) per window; 0 = no limit"),
    R_INT(rate_limit_user_window_ms, "10000", 1, 3600000, RTR,
          "window of the per-user limit (bucket refills fully in it), ms"),
    R_INT(rate_limit_ip, "200", 0, 1000000, RTR,
          "requests per client IP per window, before authentication; 0 = no limit"),
    R_INT(rate_limit_ip_window_ms, "10000", 1, 3600000, RTR,
          "window of the per-IP limit (bucket refills fully in it), ms"),
    /* reindex */
    R_INT(recent_days, "7", 0, 36500, RDX, "days of recent messages reindexed first"),
    R_INT(reindex_batch, "1000", 1, 10000, RDX, "messages per read page and bulk request"),
    R_INT(rate, "0", 0, 1000000000, RDX, "messages per second (0 = unlimited)"),
    R_BOOL(dry_run, "false", RDX, "plan and count, write nothing"),
    R_STR(to, "", 256, RDX, 0, "target cluster of a move (empty = none)", NULL),
    R_INT(job_workers, "1", 1, 32, RDX, "parallel reindex jobs"),
    R_INT(verify_rate, "1", 0, 10000, RDX,
          "worker: channels per second the verify sweep checks and repairs (0 = no sweep)"),
    /* big channels: promotion to an index of their own (docs/reindex.md) */
    R_INT(big_channel_docs, "20000000", 0, 2000000000, RDX,
          "documents after which a channel is promoted to an index of its own (0 = never)"),
    R_INT(big_channel_shards, "4", 1, 1024, ALL, "primary shards of a promoted channel's index"),
    R_INT(big_channel_check_s, "300", 1, 86400, RDX,
          "worker: seconds between two checks for channels past big_channel_docs"),
    /* admin / agent */
    R_INT(lease_ttl_s, "10", 2, 3600, ADM, "etcd lease TTL of a cluster registration, s"),
    R_INT(health_interval_ms, "2000", 100, 600000, ADM, "cluster health probe interval, ms"),
    R_INT(grace_period_s, "30", 0, 86400, ADM,
          "time a cluster may stay unhealthy before its channels are moved, s"),
    R_INT(capacity, "1000000", 1, 1000000000000LL, ADM, "documents a cluster should hold"),
    /* admin console (`admin console`, docs/console.md) */
    R_STR(console_listen_addr, "127.0.0.1", 256, ADM, 0, "admin console HTTP listen address",
          check_nonempty),
    R_INT(console_listen_port, "8090", 0, 65535, ADM,
          "admin console HTTP port (0 = pick a free port)"),
    R_STR(console_secret, "", 1024, ADM, SECRET,
          "admin secret the console asks for (>= 16 bytes; required by admin console)", NULL),
    R_STR(console_secret_file, "", 4096, ADM, SECFILE,
          "file holding console_secret (one trailing newline dropped)", NULL),
    R_STR(console_dir, "console", 4096, ADM, 0, "folder of the console's static files",
          check_nonempty),
    R_STR(console_router_url, "http://127.0.0.1:8080", 4096, ADM, 0,
          "router base URL (the search page's proxy and the router's /metrics)", check_url),
    R_STR(console_indexer_metrics, "", 65536, ADM, 0,
          "indexers' /metrics URLs, comma-separated (empty = no pipeline panel)", NULL),
    R_STR(console_demo_users, "", 4096, ADM, 0,
          "JSON file of demo users with tokens for the search page (empty = off)", NULL),
    R_INT(console_sample_ms, "2000", 200, 60000, ADM, "console metrics sampling interval, ms"),
};

#define NROWS (sizeof(rows) / sizeof(rows[0]))

size_t sc_config_table(const sc_config_row **out)
{
    if (out)
        *out = rows;
    return NROWS;
}

/* Canonical form of a user-written name: lowercase, '-' -> '_'. Returns 0
 * when it does not fit. */
int cfg_norm_name(const char *in, size_t n, char *out, size_t outlen)
{
    size_t i;
    if (n + 1 > outlen)
        return 0;
    for (i = 0; i < n; i++)
        out[i] = in[i] == '-' ? '_' : (char)tolower((unsigned char)in[i]);
    out[n] = '\0';
    return 1;
}

const sc_config_row *cfg_find_n(const char *name, size_t n)
{
    char canon[CFG_MAX_NAME];
    size_t i;
    if (!cfg_norm_name(name, n, canon, sizeof(canon)))
        return NULL;
    for (i = 0; i < NROWS; i++)
        if (strcmp(rows[i].name, canon) == 0)
            return &rows[i];
    return NULL;
}

const sc_config_row *sc_config_find(const char *name) { return cfg_find_n(name, strlen(name)); }

/* ---- public: defaults, set, free ---- */

sc_status cfg_defaults(sc_config *c)
{
    char msg[SC_ERRLEN];
    sc_status st = SC_OK;
    size_t i;
    memset(c, 0, sizeof(*c));
    for (i = 0; i < NROWS; i++) {
        sc_status s = cfg_set_value(c, &rows[i], rows[i].def, msg, sizeof(msg));
        if (s != SC_OK && st == SC_OK)
            st = s;
    }
    return st;
}

void sc_config_defaults(sc_config *c) { (void)cfg_defaults(c); }

void sc_config_free(sc_config *c)
{
    size_t i;
    if (c == NULL)
        return;
    for (i = 0; i < NROWS; i++) {
        if (rows[i].type == SC_CFG_STRING) {
            char *p;
            memcpy(&p, (char *)c + rows[i].offset, sizeof(p));
            free(p);
        }
    }
    memset(c, 0, sizeof(*c));
}

sc_status sc_config_set(sc_config *c, const char *name, const char *value, char *err, size_t errlen)
{
    char msg[SC_ERRLEN];
    const sc_config_row *r = sc_config_find(name);
    sc_status st;
    if (r == NULL) {
        sc_seterr(err, errlen, "unknown option '%.*s'", CFG_SHOW, name);
        return SC_ENOTFOUND;
    }
    st = cfg_set_value(c, r, value, msg, sizeof(msg));
    if (st != SC_OK)
        sc_seterr(err, errlen, "%s: %s", r->name, msg);
    return st;
}

const char *sc_config_dead_stream(const sc_config *c, char *buf, size_t len)
{
    if (len == 0)
        return buf;
    if (c->dead_stream && c->dead_stream[0])
        snprintf(buf, len, "%s", c->dead_stream);
    else
        snprintf(buf, len, "%s:dead", c->stream ? c->stream : "");
    return buf;
}
