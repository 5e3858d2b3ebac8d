/*
 * auth.h - the bearer token of a request: which user it names, checked with
 * a key set (jwt.h) that can be reloaded while requests are being verified,
 * for key rotation (the router rereads its JWKS on SIGHUP).
 *
 * Thread-safe: any number of threads call sc_auth_user while one calls
 * sc_auth_reload. A reload builds the new key set first and swaps it in only
 * when it loaded, so an invalid file keeps the old keys. Each thread
 * remembers the last token it verified; that memory is tied to the key set,
 * so a key dropped by a reload stops working at once.
 *
 * Not here: the token format and rules (jwt.h), signals and HTTP (router/).
 */
#ifndef SC_AUTH_H
#define SC_AUTH_H

#include "sc.h"

#include <stddef.h>
#include <stdint.h>

typedef struct sc_auth sc_auth;

/* Keys and policy. Strings are copied by sc_auth_create. */
typedef struct sc_auth_opts {
    const char *secret;    /* HS256 shared secret; NULL or "" = none */
    const char *jwks_file; /* JWKS path; NULL or "" = none */
    const char *audience;  /* required aud; NULL or "" = not checked */
    const char *issuer;    /* required iss; NULL or "" = not checked */
    int leeway_s;          /* clock skew on exp/nbf, >= 0 */
} sc_auth_opts;

/* Load the keys (sc_jwt_keys_create). NULL with the reason in err when they
 * do not load. Free with sc_auth_free. */
sc_auth *sc_auth_create(const sc_auth_opts *o, char *err, size_t errlen);

/* NULL is a no-op. */
void sc_auth_free(sc_auth *a);

/* Read the JWKS file again and swap it in. SC_OK (*nkeys, may be NULL, gets
 * the new key count), SC_ENOTFOUND when there is no JWKS file, or SC_EINVAL
 * with the reason in err: the old keys then stay in use. */
sc_status sc_auth_reload(sc_auth *a, size_t *nkeys, char *err, size_t errlen) SC_MUST_USE;

/* The user ("sub") of an Authorization header value "Bearer <jwt>" (scheme
 * case-insensitive); 0 when it is missing or the token is refused (the
 * reason logged at debug level). */
uint64_t sc_auth_user(sc_auth *a, const char *authorization);

#endif
