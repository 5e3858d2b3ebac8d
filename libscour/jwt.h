/*
 * jwt.h - HS256 JSON Web Tokens: the router checks the bearer token of each
 * search request; the chat service (and tests, the demo) mint them.
 *
 * Only HS256 is accepted (the header's alg must be exactly "HS256"; "none",
 * HS512, RS256... are rejected), so a token cannot choose its own check.
 * Not here: reading the Authorization header (router/), key rotation.
 */
#ifndef SC_JWT_H
#define SC_JWT_H

#include "buf.h"
#include "sc.h"

#include <stdint.h>

#define SC_JWT_LEEWAY_S 30    /* clock skew allowed on exp / nbf */
#define SC_JWT_MAX_LEN 4096   /* longer tokens are rejected unread */

/* Claims of a verified token. */
typedef struct sc_jwt_claims {
    uint64_t user_id; /* "sub", a decimal user id */
    int64_t exp;      /* "exp", Unix seconds */
    int64_t nbf;      /* "nbf", Unix seconds; 0 when absent */
    int64_t iat;      /* "iat", Unix seconds; 0 when absent */
} sc_jwt_claims;

/*
 * Verify `token` (compact JWS "h.p.s", base64url without padding) against
 * `secret` at time now_s (Unix seconds): alg must be "HS256", the HMAC-SHA256
 * signature must match (constant-time compare), "sub" must be a decimal id
 * string, "exp" must be present and now_s <= exp + leeway, and "nbf" if
 * present must satisfy nbf <= now_s + leeway. Returns SC_OK and fills *out,
 * or SC_EINVAL with the reason in err ("signature mismatch", "token expired",
 * ...), or SC_ENOMEM. *out is untouched on failure.
 */
sc_status sc_jwt_verify(const char *token, const char *secret, int64_t now_s,
                        sc_jwt_claims *out, char *err, size_t errlen) SC_MUST_USE;

/*
 * Append an HS256 token {"alg":"HS256","typ":"JWT"}.{"sub":"<user_id>",
 * "exp":exp_s} signed with secret to out. Deterministic. Returns SC_OK,
 * SC_EINVAL (empty secret) or SC_ENOMEM / SC_ERR (crypto failure).
 */
sc_status sc_jwt_sign_hs256(uint64_t user_id, const char *secret, int64_t exp_s,
                            sc_buf *out) SC_MUST_USE;

#endif
