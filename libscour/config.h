/*
 * config.h - every option of every scour program (indexer, router, reindex,
 * admin/agent) as one validated table, in the style of redis
 * createIntConfig / twemproxy conf_commands[]: each row names the option,
 * its type and bounds, the sc_config field it fills (offsetof), its default
 * (as text, parsed by the same code as user input), its help text, the
 * programs that use it and an optional validator.
 *
 * Sources, later wins: defaults < file (--config PATH, or $SCOUR_CONFIG)
 * < environment (SCOUR_<UPPERCASE_NAME>) < command line (--name=value,
 * --name value, bare --name for booleans; dashes and underscores are
 * interchangeable in names). Errors name the source and the key:
 *   "config.conf:12: batch_count: 0 is below the minimum 1"
 *   "env SCOUR_REDIS_PORT: redis_port: 70000 is above the maximum 65535"
 *   "--redis-port: redis_port: 'x' is not an integer"
 *
 * Not here: printing, exiting, or acting on the options. The library fills
 * buffers and returns statuses; main() decides what to print and whether to
 * die. docs/config.md documents every row; tests/unit/test_config.c checks
 * the two agree.
 *
 * Reload: load into a fresh struct, validate it, and swap only if both
 * succeed; the old struct is then freed. Nothing is shared between two
 * sc_config values, so this is safe as long as no thread still borrows a
 * string from the old one:
 *
 *     sc_config next;
 *     if (sc_config_load(&next, argc, argv, NULL, err, sizeof err) == SC_OK &&
 *         sc_config_validate(&next, SC_PROG_INDEXER, err, sizeof err) == SC_OK) {
 *         sc_config old = *cur; *cur = next; sc_config_free(&old);
 *     } else {
 *         sc_config_free(&next);  // keep running on *cur, log err
 *     }
 */
#ifndef SC_CONFIG_H
#define SC_CONFIG_H

#include "buf.h"
#include "sc.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Program masks: which programs read an option / which rules apply. */
#define SC_PROG_INDEXER 0x1u
#define SC_PROG_ROUTER 0x2u
#define SC_PROG_REINDEX 0x4u
#define SC_PROG_ADMIN 0x8u
#define SC_PROG_ALL (~0u)

/* Every option of every program. Strings are owned by the struct (strdup),
 * never NULL once loaded, and released by sc_config_free. */
typedef struct sc_config {
    /* --- common --- */
    int log_level;             /* sc_log_level value: 0 error .. 3 debug */
    char *namespace;           /* etcd and Redis key prefix */
    char *etcd_url;            /* etcd v3 JSON gateway base URL */
    char *redis_host;          /* Redis host name or address */
    int redis_port;            /* Redis TCP port */
    char *redis_password;      /* secret; "" = no AUTH */
    char *redis_password_file; /* path redis_password was read from; "" = none */
    char *pg_dsn;              /* libpq connection string */
    char *es_user;             /* basic-auth user; "" = none */
    char *es_password;         /* secret; basic-auth password */
    char *es_password_file;    /* path es_password was read from; "" = none */
    char *es_api_key;          /* secret; "ApiKey" auth, exclusive with es_user */
    char *es_api_key_file;     /* path es_api_key was read from; "" = none */
    char *es_ca_file;          /* PEM CA bundle for https; "" = system default */
    int es_connect_timeout_ms; /* TCP/TLS connect timeout per ES request */
    int es_request_timeout_ms; /* whole-request timeout per ES request */
    int es_replicas;           /* number_of_replicas for created indices */
    char *es_refresh_interval; /* index.refresh_interval for created indices */
    char *index_name;          /* index name (or alias) on every cluster */
    char *index_schema;        /* path of the mapping/settings JSON */
    char *stream;              /* Redis Stream carrying message events */
    char *group;               /* consumer group of the indexers */
    char *dead_stream;         /* dead-letter stream; "" = "<stream>:dead" */
    int64_t stream_maxlen;     /* approximate MAXLEN for XADD trimming */
    int metrics_port;          /* Prometheus text port; 0 = off */
    char *clusters;            /* static "name=url,..." used if etcd has none */
    /* --- indexer --- */
    int workers;                 /* indexer worker threads */
    int batch_count;             /* max documents per bulk request */
    uint64_t batch_bytes;        /* max NDJSON bytes per bulk request */
    int linger_ms;               /* max wait to fill a batch */
    int read_block_ms;           /* XREADGROUP BLOCK timeout */
    uint64_t inflight_bytes_max; /* cap on bytes read but not yet acked */
    int max_deliveries;          /* deliveries before dead-lettering */
    int claim_idle_ms;           /* idle time before XAUTOCLAIM takes over */
    int retry_base_ms;           /* first backoff after a retryable failure */
    int retry_max_ms;            /* backoff ceiling */
    char *consumer;              /* consumer name; "" = "<hostname>-<pid>" */
    int binding_cache_ttl_s;     /* Redis TTL of cached channel->cluster binding */
    /* --- router --- */
    char *listen_addr;     /* HTTP listen address */
    int listen_port;       /* HTTP port; 0 = pick a free port */
    int threads;           /* search workers, each with its backend connections */
    char *jwt_secret;      /* secret; HS256 key, router requires >= 16 bytes unless a JWKS */
    char *jwt_secret_file; /* path jwt_secret was read from; "" = none */
    char *jwt_jwks_file;   /* JWKS of RS256/ES256/EdDSA public keys; "" = none */
    char *jwt_audience;    /* required "aud" of tokens; "" = not checked */
    char *jwt_issuer;      /* required "iss" of tokens; "" = not checked */
    int jwt_leeway_s;      /* clock skew allowed on exp / nbf, s */
    int query_timeout_ms;  /* deadline for a whole search fan-out */
    int perm_cache_ttl_ms; /* permission cache TTL; 0 = no cache */
    int max_request_bytes; /* max HTTP request target, header block or body */
    int max_channels;      /* max channels in one search */
    int max_connections;   /* client connections held at once (more: 503) */
    int queue_max;         /* searches waiting for a worker (more: 503) */
    int queue_timeout_ms;  /* longest wait for a worker (then 503) */
    int rate_limit_user;   /* searches per user per window; 0 = no limit */
    int rate_limit_user_window_ms; /* refill window of the per-user bucket */
    int rate_limit_ip;             /* requests per client IP per window; 0 = no limit */
    int rate_limit_ip_window_ms;   /* refill window of the per-IP bucket */
    /* --- reindex --- */
    int recent_days;          /* "recent" window for reindex of hot data */
    int reindex_batch;        /* rows per PostgreSQL page / bulk request */
    int64_t rate;             /* messages per second; 0 = unlimited */
    bool dry_run;             /* plan only, write nothing */
    char *to;                 /* target cluster for moves; "" = none */
    int job_workers;          /* parallel reindex jobs */
    int verify_rate;          /* worker: channels/s the verify sweep takes; 0 = off */
    int64_t big_channel_docs; /* promote a channel past this many documents; 0 = never */
    int big_channel_shards;   /* primary shards of a promoted channel's own index */
    int big_channel_check_s;  /* worker: period of the big-channel check */
    /* --- admin / agent --- */
    int lease_ttl_s;        /* etcd lease TTL of a cluster registration */
    int health_interval_ms; /* cluster health probe interval */
    int grace_period_s;     /* time a cluster may be unhealthy before drain */
    int64_t capacity;       /* documents a cluster should hold */
} sc_config;

typedef enum sc_config_type {
    SC_CFG_INT = 1,    /* int or int64_t field (row.size), bounds min..max */
    SC_CFG_BOOL = 2,   /* bool: true/false, yes/no, on/off, 1/0 */
    SC_CFG_STRING = 3, /* char * owned; max = max length in bytes */
    SC_CFG_ENUM = 4,   /* int index into row.enum_vals */
    SC_CFG_BYTES = 5   /* uint64_t; k/m/g suffixes (x1024), bounds min..max */
} sc_config_type;

typedef struct sc_config_row sc_config_row;

/* Optional per-row validator, called with the user's text after the type
 * check passed and before the value is stored. Returns SC_OK or SC_EINVAL
 * with a message (without the key) in err. */
typedef sc_status (*sc_config_check_fn)(const char *text, char *err, size_t errlen);

/* Option flags. */
#define SC_CFG_SECRET \
    0x1u /* masked by sc_config_dump; a command-line value is warned
                                   about (it shows in ps); has a "<name>_file" twin */
#define SC_CFG_SECRET_FILE \
    0x2u /* "<secret>_file": a path whose content (one trailing
                                   newline dropped) becomes the secret */

struct sc_config_row {
    const char *name;             /* canonical name, lower_snake_case */
    sc_config_type type;          /* how the text is parsed */
    size_t offset;                /* offsetof(sc_config, field) */
    size_t size;                  /* sizeof the field (INT: 4 or 8) */
    const char *def;              /* default, as text (static) */
    int64_t min;                  /* INT/BYTES lower bound */
    int64_t max;                  /* INT/BYTES upper bound; STRING max length */
    const char *const *enum_vals; /* ENUM: NULL-terminated values (static) */
    unsigned programs;            /* SC_PROG_* mask of programs using it */
    unsigned flags;               /* SC_CFG_SECRET ... */
    const char *help;             /* one-line description (static) */
    sc_config_check_fn check;     /* optional extra validation, may be NULL */
};

/* What the command line asked for besides option values. */
typedef struct sc_config_cli {
    bool help;               /* --help or -h */
    bool version;            /* --version or -V */
    bool check_config;       /* --check-config: validate and exit */
    const char *config_path; /* borrowed (argv or environ); NULL = no file */
    char **args;             /* owned array (sc_config_cli_free), entries
                                borrowed from argv: positional words and
                                everything after "--", in order */
    int nargs;               /* number of entries in args */
    char warnings[1024];     /* lines ("warning: ...\n") worth showing the user
                                that are not errors, e.g. a secret given on the
                                command line; "" = none */
} sc_config_cli;

/* Reset c to the defaults. c is treated as uninitialised (not freed first);
 * call sc_config_free on a loaded config before reusing it. On allocation
 * failure some strings may be NULL; sc_config_load reports that case. */
void sc_config_defaults(sc_config *c);

/* Fill c (treated as uninitialised) from defaults, then the config file
 * (--config PATH, else $SCOUR_CONFIG), then SCOUR_* environment variables,
 * then the command line argv[1..argc-1], then the secret files: each
 * "<secret>_file" option that is set is read and its content, less one
 * trailing "\n" or "\r\n", becomes <secret> (an unreadable or empty file, a
 * NUL byte, or <secret> also being set is SC_EINVAL naming the option and
 * the path). A secret given on the command line, or a pg_dsn there holding
 * password=, adds a line to cli->warnings naming what to use instead (the
 * value itself is never repeated). cli (may be NULL, then positional
 * words are an error) receives the flags and positional words; its args
 * array must be released with sc_config_cli_free whatever the status.
 * With --help or --version the file, environment and option values are not
 * applied (so help works with a broken config) and SC_OK is returned.
 * Returns SC_OK, SC_EINVAL (bad key/value/syntax; message in err naming the
 * source and key), SC_ENOTFOUND (config file unreadable) or SC_ENOMEM. In
 * every case c holds owned strings: call sc_config_free(c) afterwards.
 * Cross-field rules are not checked here: call sc_config_validate.
 * Reads environ: do not run concurrently with setenv/unsetenv. */
sc_status sc_config_load(sc_config *c, int argc, char **argv, sc_config_cli *cli, char *err,
                         size_t errlen) SC_MUST_USE;

/* Release cli->args; cli may be NULL. */
void sc_config_cli_free(sc_config_cli *cli);

/* Set one option from text, as if read from a file. name may use dashes or
 * underscores. Returns SC_OK, SC_ENOTFOUND (unknown option), SC_EINVAL (bad
 * value; c unchanged) or SC_ENOMEM; err gets "name: reason". */
sc_status sc_config_set(sc_config *c, const char *name, const char *value, char *err,
                        size_t errlen) SC_MUST_USE;

/* Cross-field checks for the programs in program_mask (SC_PROG_ALL or 0
 * checks every rule), after re-checking each option's own bounds (so a
 * struct edited in code is caught too): e.g. router needs jwt_secret >= 16 bytes or a JWKS
 * (jwt_jwks_file is loaded to check it: the only rule that reads a file); indexer needs
 * inflight_bytes_max >= batch_bytes and retry_base_ms <= retry_max_ms.
 * Returns SC_OK or SC_EINVAL with the first violation in err. */
sc_status sc_config_validate(const sc_config *c, unsigned program_mask, char *err,
                             size_t errlen) SC_MUST_USE;

/* Append usage lines "  --name=TYPE  help [range] (default: X)" for every
 * option whose program mask intersects program_mask, after the standard
 * flags (--config, --check-config, --help, --version). SC_ENOMEM if out is
 * full. */
sc_status sc_config_help(sc_buf *out, unsigned program_mask) SC_MUST_USE;

/* Append the effective values as config-file lines "name = value" for the
 * options of program_mask. Secrets print as "<hidden>" when set, "" when
 * empty, and as "" with a comment when they were read from their _file
 * (so the dump loads again); a password= in pg_dsn prints as <hidden> too.
 * The output is never a copy of a secret. SC_ENOMEM if out is full. */
sc_status sc_config_dump(const sc_config *c, sc_buf *out, unsigned program_mask) SC_MUST_USE;

/* Free the owned strings and zero c; sc_config_free(NULL) is a no-op. */
void sc_config_free(sc_config *c);

/* The option table (static storage) and its length. rows may be NULL. */
size_t sc_config_table(const sc_config_row **rows);

/* The row named name (dashes or underscores), or NULL. Static storage. */
const sc_config_row *sc_config_find(const char *name);

/* Effective dead-letter stream: dead_stream, or "<stream>:dead" when empty.
 * Writes into buf (truncating) and returns buf. */
const char *sc_config_dead_stream(const sc_config *c, char *buf, size_t len);

#endif
