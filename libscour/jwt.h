/*
 * jwt.h - JSON Web Tokens: the router checks the bearer token of each search
 * request; the chat service (and tests, the demo) mint them.
 *
 * Algorithms: HS256 with a shared secret, and RS256, ES256 (P-256) and
 * EdDSA (Ed25519) with public keys from a JWKS (RFC 7517) document. The key
 * decides the check, never the token: each key has exactly one algorithm,
 * bound by its type when it is loaded (RSA -> RS256, EC P-256 -> ES256,
 * OKP Ed25519 -> EdDSA, the shared secret -> HS256), and a token whose
 * header names another algorithm than its key's is refused. So "none",
 * HS512, an HS256 token "signed" with an RSA public key's bytes, or an RS256
 * token for an EC key are all rejected before any signature math.
 *
 * Picking the key: a token with a "kid" header uses the JWKS key of that
 * kid (unknown kid: refused; the shared secret has no kid, so an HS256 token
 * that carries a kid is refused too). A token without a kid uses the shared
 * secret for HS256, and for the other algorithms the JWKS's only key: when
 * the JWKS holds several keys a kid-less asymmetric token is refused, rather
 * than trying each key.
 *
 * Not here: reading the Authorization header and reloading on SIGHUP
 * (router/auth.c), minting asymmetric tokens (the issuer's job; tests sign
 * with OpenSSL directly).
 */
#ifndef SC_JWT_H
#define SC_JWT_H

#include "buf.h"
#include "sc.h"

#include <stddef.h>
#include <stdint.h>

#define SC_JWT_LEEWAY_S 30         /* default clock skew allowed on exp / nbf */
#define SC_JWT_MAX_LEN 4096        /* longer tokens are rejected unread */
#define SC_JWT_MAX_KEYS 64         /* keys in one JWKS */
#define SC_JWT_MAX_JWKS (1u << 20) /* bytes of a JWKS document */
#define SC_JWT_KID_MAX 128         /* bytes of a kid */

/* Claims of a verified token. */
typedef struct sc_jwt_claims {
    uint64_t user_id; /* "sub", a decimal user id */
    int64_t exp;      /* "exp", Unix seconds */
    int64_t nbf;      /* "nbf", Unix seconds; 0 when absent */
    int64_t iat;      /* "iat", Unix seconds; 0 when absent */
} sc_jwt_claims;

/* The keys tokens are checked against; immutable once made, so any number
 * of threads may verify with one set at once. */
typedef struct sc_jwt_keys sc_jwt_keys;

/* Where the keys come from. Strings are borrowed for the create call only. */
typedef struct sc_jwt_keys_opts {
    const char *secret;    /* HS256 shared secret; NULL or "" = no HS256 */
    const char *jwks;      /* JWKS JSON text ({"keys":[...]}); NULL = none */
    size_t jwks_len;       /* bytes of jwks */
    const char *jwks_file; /* path of a JWKS file, used when jwks is NULL;
                              NULL or "" = none */
} sc_jwt_keys_opts;

/*
 * Build a key set. Each JWKS key must be a public signing key: kty RSA
 * (n, e; at least 2048 bits), EC (crv P-256, x, y on the curve) or OKP (crv
 * Ed25519, x); an "alg" member, if present, must be that type's algorithm;
 * keys with "use":"enc" are skipped; a private member ("d") is refused; with
 * several keys each needs a distinct kid. At least one key or the secret is
 * required. Returns the set (free with sc_jwt_keys_free) or NULL with the
 * reason in err, naming the file and the key ("jwks.json: key 2 (kid
 * "k2"): ...").
 */
sc_jwt_keys *sc_jwt_keys_create(const sc_jwt_keys_opts *o, char *err, size_t errlen);

/* Free a key set; NULL is a no-op. */
void sc_jwt_keys_free(sc_jwt_keys *k);

/* Number of JWKS keys in k (the shared secret not counted). */
size_t sc_jwt_keys_count(const sc_jwt_keys *k);

/* What a token must say besides a valid signature. Strings borrowed. */
typedef struct sc_jwt_policy {
    const char *audience; /* required "aud" (a string, or an array holding
                             it); NULL or "" = not checked */
    const char *issuer;   /* required "iss", exactly; NULL or "" = not checked */
    int leeway_s;         /* clock skew allowed on exp and nbf, >= 0 */
} sc_jwt_policy;

/*
 * Verify `token` (compact JWS "h.p.s", base64url without padding) with keys
 * at time now_s (Unix seconds): the header's alg must be the picked key's
 * (see the top of this file), no "crit"; the signature must match
 * (HMAC compared in constant time; ES256 as raw r||s of 64 bytes); then
 * "sub" must be a decimal id string, "exp" must be present and
 * now_s <= exp + leeway, "nbf" if present nbf <= now_s + leeway, and aud /
 * iss as the policy asks (policy NULL: no aud/iss check, SC_JWT_LEEWAY_S).
 * Returns SC_OK and fills *out, SC_EINVAL with the reason in err ("signature
 * mismatch", "unknown kid", "token expired", ...), or SC_ENOMEM / SC_ERR
 * (crypto failure). *out is untouched on failure.
 */
sc_status sc_jwt_verify_keys(const sc_jwt_keys *keys, const sc_jwt_policy *policy,
                             const char *token, int64_t now_s, sc_jwt_claims *out, char *err,
                             size_t errlen) SC_MUST_USE;

/*
 * sc_jwt_verify_keys with only the HS256 secret `secret` and the default
 * policy (no aud/iss, SC_JWT_LEEWAY_S): for callers that have no key set.
 */
sc_status sc_jwt_verify(const char *token, const char *secret, int64_t now_s, sc_jwt_claims *out,
                        char *err, size_t errlen) SC_MUST_USE;

/*
 * Append an HS256 token {"alg":"HS256","typ":"JWT"}.{"sub":"<user_id>",
 * "exp":exp_s} signed with secret to out. Deterministic. Returns SC_OK,
 * SC_EINVAL (empty secret) or SC_ENOMEM / SC_ERR (crypto failure).
 */
sc_status sc_jwt_sign_hs256(uint64_t user_id, const char *secret, int64_t exp_s,
                            sc_buf *out) SC_MUST_USE;

#endif
