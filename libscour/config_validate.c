/*
 * config_validate.c - sc_config_validate (see config.h): every row's own
 * bounds once more (for structs filled or edited in code), then the rules
 * that tie options together (timeouts, auth pairs, TLS files, per-program
 * limits), each refusal naming the option.
 */
#include "config_int.h"
#include "jwt.h"

#include <hiredis/hiredis.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Re-check each row's own bounds, for structs filled or edited in code. */
static sc_status validate_rows(const sc_config *c, unsigned mask, char *err, size_t errlen)
{
    char msg[SC_ERRLEN], shown[32];
    const sc_config_row *rows;
    size_t i, nrows = sc_config_table(&rows);
    for (i = 0; i < nrows; i++) {
        const sc_config_row *r = &rows[i];
        int64_t v;
        if (!(r->programs & mask))
            continue;
        switch (r->type) {
        case SC_CFG_INT:
        case SC_CFG_BYTES:
            v = cfg_get_int(c, r);
            if (r->type == SC_CFG_BYTES)
                cfg_fmt_bytes((uint64_t)v, shown, sizeof(shown));
            else
                snprintf(shown, sizeof(shown), "%" PRId64, v);
            if (cfg_check_range(r, v, shown, msg, sizeof(msg)) != SC_OK) {
                sc_seterr(err, errlen, "%s: %s", r->name, msg);
                return SC_EINVAL;
            }
            break;
        case SC_CFG_ENUM: {
            int n = 0;
            v = cfg_get_int(c, r);
            while (r->enum_vals[n])
                n++;
            if (v < 0 || v >= n) {
                sc_seterr(err, errlen, "%s: %" PRId64 " is not a valid choice", r->name, v);
                return SC_EINVAL;
            }
            break;
        }
        case SC_CFG_STRING: {
            const char *s = cfg_get_str(c, r);
            if (s == NULL) {
                sc_seterr(err, errlen, "%s: not set", r->name);
                return SC_EINVAL;
            }
            if (cfg_check_string(r, s, msg, sizeof(msg)) != SC_OK ||
                (r->check && r->check(s, msg, sizeof(msg)) != SC_OK)) {
                sc_seterr(err, errlen, "%s: %s", r->name, msg);
                return SC_EINVAL;
            }
            break;
        }
        default:
            break;
        }
    }
    return SC_OK;
}

/* The etcd and Redis TLS/auth options: pairs that need each other, files
 * that must be readable, and what this build cannot do. */
static sc_status validate_tls_auth(const sc_config *c, char *err, size_t errlen)
{
    const struct {
        const char *name, *path;
    } files[] = {{"etcd_ca_file", c->etcd_ca_file},
                 {"etcd_cert_file", c->etcd_cert_file},
                 {"etcd_key_file", c->etcd_key_file}};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        if (files[i].path[0] && access(files[i].path, R_OK) != 0) {
            sc_seterr(err, errlen, "%s: cannot read %.200s: %s", files[i].name, files[i].path,
                      strerror(errno));
            return SC_EINVAL;
        }
    }
    if (!c->etcd_cert_file[0] != !c->etcd_key_file[0]) {
        sc_seterr(err, errlen, "%s: set without %s; give both",
                  c->etcd_cert_file[0] ? "etcd_cert_file" : "etcd_key_file",
                  c->etcd_cert_file[0] ? "etcd_key_file" : "etcd_cert_file");
        return SC_EINVAL;
    }
    if ((c->etcd_ca_file[0] || c->etcd_cert_file[0]) && strncmp(c->etcd_url, "https://", 8) != 0) {
        sc_seterr(err, errlen, "%s: set but etcd_url is not https:// (%.200s)",
                  c->etcd_ca_file[0] ? "etcd_ca_file" : "etcd_cert_file", c->etcd_url);
        return SC_EINVAL;
    }
    if (c->etcd_user[0] != '\0' && c->etcd_password[0] == '\0') {
        sc_seterr(err, errlen, "etcd_user: set without etcd_password (or etcd_password_file)");
        return SC_EINVAL;
    }
    if (c->etcd_password[0] != '\0' && c->etcd_user[0] == '\0') {
        sc_seterr(err, errlen, "etcd_password: set but etcd_user is empty");
        return SC_EINVAL;
    }
    if (c->redis_user[0] != '\0' && c->redis_password[0] == '\0') {
        sc_seterr(err, errlen, "redis_user: set without redis_password (or redis_password_file)");
        return SC_EINVAL;
    }
    if (c->redis_tls || c->redis_ca_file[0] || c->redis_cert_file[0] || c->redis_key_file[0]) {
        sc_seterr(err, errlen,
                  "%s: this build's hiredis (%d.%d.%d) has no TLS support; run a TLS sidecar "
                  "(stunnel) on loopback and point redis_host/redis_port at it "
                  "(docs/security.md)",
                  c->redis_tls            ? "redis_tls"
                  : c->redis_ca_file[0]   ? "redis_ca_file"
                  : c->redis_cert_file[0] ? "redis_cert_file"
                                          : "redis_key_file",
                  HIREDIS_MAJOR, HIREDIS_MINOR, HIREDIS_PATCH);
        return SC_EINVAL;
    }
    return SC_OK;
}

sc_status sc_config_validate(const sc_config *c, unsigned mask, char *err, size_t errlen)
{
    char dead[300];
    char a[32], b[32];

    if (mask == 0)
        mask = SC_PROG_ALL;
    if (validate_rows(c, mask, err, errlen) != SC_OK)
        return SC_EINVAL;

    /* every program talks to Elasticsearch and Redis */
    if (c->es_request_timeout_ms < c->es_connect_timeout_ms) {
        sc_seterr(err, errlen,
                  "es_request_timeout_ms: %d is below es_connect_timeout_ms %d; a request "
                  "includes its connect",
                  c->es_request_timeout_ms, c->es_connect_timeout_ms);
        return SC_EINVAL;
    }
    if (c->es_api_key[0] && c->es_user[0]) {
        sc_seterr(err, errlen, "es_api_key: cannot be combined with es_user; pick one");
        return SC_EINVAL;
    }
    if (c->es_password[0] && !c->es_user[0]) {
        sc_seterr(err, errlen, "es_password: set but es_user is empty");
        return SC_EINVAL;
    }
    if (validate_tls_auth(c, err, errlen) != SC_OK)
        return SC_EINVAL;
    if (strcmp(sc_config_dead_stream(c, dead, sizeof(dead)), c->stream) == 0) {
        sc_seterr(err, errlen, "dead_stream: must differ from stream '%s'", c->stream);
        return SC_EINVAL;
    }

    if (mask & SC_PROG_INDEXER) {
        if (c->inflight_bytes_max < c->batch_bytes) {
            sc_seterr(err, errlen,
                      "inflight_bytes_max: %s is below batch_bytes %s; one batch must fit",
                      cfg_fmt_bytes(c->inflight_bytes_max, a, sizeof(a)),
                      cfg_fmt_bytes(c->batch_bytes, b, sizeof(b)));
            return SC_EINVAL;
        }
        if (c->retry_base_ms > c->retry_max_ms) {
            sc_seterr(err, errlen, "retry_base_ms: %d is above retry_max_ms %d", c->retry_base_ms,
                      c->retry_max_ms);
            return SC_EINVAL;
        }
        if (c->claim_idle_ms <= c->read_block_ms + c->linger_ms) {
            sc_seterr(err, errlen,
                      "claim_idle_ms: %d must exceed read_block_ms + linger_ms (%d), or live "
                      "consumers lose their events to claims",
                      c->claim_idle_ms, c->read_block_ms + c->linger_ms);
            return SC_EINVAL;
        }
    }
    if (mask & SC_PROG_ROUTER) {
        size_t n = strlen(c->jwt_secret);
        if (n < 16 && (n > 0 || c->jwt_jwks_file[0] == '\0')) {
            sc_seterr(err, errlen, "jwt_secret: the router requires at least 16 bytes (got %zu)%s",
                      n, n == 0 ? ", or a jwt_jwks_file" : "");
            return SC_EINVAL;
        }
        if (c->jwt_jwks_file[0] != '\0') {
            sc_jwt_keys_opts ko;
            sc_jwt_keys *k;
            char msg[SC_ERRLEN];
            memset(&ko, 0, sizeof(ko));
            ko.jwks_file = c->jwt_jwks_file;
            k = sc_jwt_keys_create(&ko, msg, sizeof(msg));
            if (k == NULL) {
                sc_seterr(err, errlen, "jwt_jwks_file: %s", msg);
                return SC_EINVAL;
            }
            sc_jwt_keys_free(k);
        }
        if (c->metrics_port != 0 && c->metrics_port == c->listen_port) {
            sc_seterr(err, errlen, "metrics_port: %d is also listen_port", c->metrics_port);
            return SC_EINVAL;
        }
    }
    if (mask & SC_PROG_ADMIN) {
        if ((int64_t)c->health_interval_ms >= (int64_t)c->lease_ttl_s * 1000) {
            sc_seterr(err, errlen,
                      "health_interval_ms: %d must be below lease_ttl_s (%d s), or healthy "
                      "clusters' leases expire between probes",
                      c->health_interval_ms, c->lease_ttl_s);
            return SC_EINVAL;
        }
    }
    return SC_OK;
}
