/*
 * etcd_int.h - what the three files of the etcd client share and nobody
 * else: option defaults, request-body pieces and a transfer runner a stop
 * flag can interrupt (etcd.c), and the JSON readers (etcd_json.c).
 * Not a public API: programs and other modules use etcd.h.
 */
#ifndef SC_ETCD_INT_H
#define SC_ETCD_INT_H

#include "buf.h"
#include "etcd.h"
#include "sc.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdatomic.h>

#define ETCD_MAX_ENDPOINT 512 /* bytes of an endpoint URL, NUL included */

/* Validate o and fill defaults into *out; endpoint is left pointing at o's.
 * SC_EINVAL with the reason in err. */
sc_status etcd_opts_norm(const etcd_opts *o, etcd_opts *out, char *err, size_t errlen) SC_MUST_USE;
/* Heap copy of endpoint without trailing slashes (free()); NULL on ENOMEM. */
char *etcd_endpoint_dup(const char *ep);
/* Append "key":"<b64>" (the empty prefix means key "\0": from the start). */
sc_status etcd_append_key(sc_buf *b, const char *key, int is_prefix) SC_MUST_USE;
/* Append ,"range_end":"<b64>" covering every key under prefix. */
sc_status etcd_append_range_end(sc_buf *b, const char *prefix) SC_MUST_USE;
/* Run one prepared transfer, on multi when given (checking *stop between
 * waits, woken by curl_multi_wakeup) or with curl_easy_perform. */
CURLcode etcd_run_transfer(CURL *e, CURLM *multi, atomic_int *stop);
/* Run h's transfers on multi (borrowed) and abort them once *stop (borrowed)
 * is set, so a watcher's stop interrupts its snapshot reads. */
void etcd_client_interruptible(etcd_client *h, CURLM *multi, atomic_int *stop);

/* ---- etcd_auth.c ---- */

/* A client's TLS files and credentials (owned copies) and its current
 * token. Zero-initialised = nothing. */
typedef struct etcd_sec {
    char *ca_file, *cert_file, *key_file; /* owned, NULL = not set */
    char *user, *password;                /* owned, NULL = no auth; password wiped on clear */
    char *token;                          /* owned, NULL = none yet (or dropped) */
    struct curl_slist *hdrs;              /* owned: Content-Type [+ Authorization: token] */
} etcd_sec;

/* Fill s from o's fields, or the process defaults where o's are NULL.
 * SC_ENOMEM or SC_OK. */
sc_status etcd_sec_init(etcd_sec *s, const etcd_opts *o) SC_MUST_USE;
/* Release and wipe what s owns; zero it. */
void etcd_sec_clear(etcd_sec *s);
/* Set the TLS options of s on e (after curl_easy_reset). */
void etcd_sec_tls(const etcd_sec *s, CURL *e);
/* Take token (NULL: drop the current one) and rebuild s->hdrs. SC_ENOMEM. */
sc_status etcd_sec_set_token(etcd_sec *s, const char *token) SC_MUST_USE;
/* Append the body of auth/authenticate ({"name":..,"password":..}) to b. */
sc_status etcd_sec_login_body(const etcd_sec *s, sc_buf *b) SC_MUST_USE;
/* The token of the current login of h (logging in when it has none), with
 * h's TLS options set on e: for the watcher's stream. NULL with the reason
 * in etcd_errstr(h) when the login fails; "" when h has no user. */
const char *etcd_client_token(etcd_client *h, CURL *e, struct curl_slist **hdrs);

/* ---- etcd_json.c ---- */

/* Parse exactly len bytes as one JSON value: trailing bytes other than
 * whitespace make it fail. Free with cJSON_Delete; NULL on failure. */
cJSON *etcd_json_parse_exact(const char *p, size_t len);
/* Member name of obj as an int64 (a decimal string or an exact number) into
 * *out: 0 (absent or null: *out = 0), or -1 when it is anything else. */
int etcd_json_i64(const cJSON *obj, const char *name, int64_t *out);
/* header.revision of a response object into *rev (0 when absent): 0, or -1
 * when malformed. */
int etcd_json_header_rev(const cJSON *root, int64_t *rev);
/* Fill out from a parsed range answer (see etcd_parse_range). */
sc_status etcd_json_range(const cJSON *root, etcd_kv_list *out, char *err,
                          size_t errlen) SC_MUST_USE;

#endif
