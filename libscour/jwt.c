/*
 * jwt.c - JWT verification (HS256, RS256, ES256, EdDSA) and HS256 signing
 * with OpenSSL 3 libcrypto, and the JWKS loader; see jwt.h for the rules.
 * The key is picked and its algorithm compared with the header's before any
 * signature is computed, and the signature is checked before the payload is
 * parsed, so unauthenticated bytes only ever go through the base64url
 * decoder and the header parser.
 */
#include "jwt.h"

#include "base64.h"

#include <cjson/cJSON.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHA256_LEN 32
#define MAX_JSON_INT 9007199254740991.0 /* 2^53 - 1 */
#define RSA_MIN_BITS 2048
#define RSA_MAX_BYTES 1024 /* 8192-bit modulus */
#define P256_LEN 32        /* bytes of a P-256 coordinate / scalar */
#define ED25519_LEN 32     /* bytes of an Ed25519 public key */
#define EDSIG_LEN 64       /* Ed25519 and raw ES256 signatures */

/* The algorithms a key can have; a key has exactly one. */
typedef enum jwt_alg { ALG_NONE = 0, ALG_HS256, ALG_RS256, ALG_ES256, ALG_EDDSA } jwt_alg;

static const char *const alg_names[] = {"", "HS256", "RS256", "ES256", "EdDSA"};

static jwt_alg alg_parse(const char *s)
{
    for (int i = ALG_HS256; i <= ALG_EDDSA; i++)
        if (strcmp(s, alg_names[i]) == 0)
            return (jwt_alg)i;
    return ALG_NONE;
}

/* One JWKS key. */
typedef struct jwk {
    char kid[SC_JWT_KID_MAX + 1]; /* "" when the key has none */
    jwt_alg alg;                  /* bound by kty/crv at load */
    EVP_PKEY *pkey;               /* owned public key */
} jwk;

struct sc_jwt_keys {
    const char *secret; /* HS256 secret (owned copy, or borrowed in sc_jwt_verify); NULL = none */
    size_t secret_len;  /* strlen(secret) */
    int own_secret;     /* 1: secret is malloc'd here */
    jwk *keys;          /* owned array of n JWKS keys */
    size_t n;           /* keys used */
};

/* ---- key loading ---- */

/* Decode base64url member `name` of o into buf (cap bytes); *len gets the
 * length. 0 with a reason in why on error. */
static int b64_member(const cJSON *o, const char *name, unsigned char *buf, size_t cap, size_t *len,
                      char *why, size_t whylen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    size_t n;
    if (!cJSON_IsString(v)) {
        sc_seterr(why, whylen, "missing or non-string \"%s\"", name);
        return 0;
    }
    n = strlen(v->valuestring);
    if (n == 0 || sc_b64url_decode(v->valuestring, n, buf, cap, len) != SC_OK || *len == 0) {
        sc_seterr(why, whylen, "\"%s\" is not base64url of a plausible size", name);
        return 0;
    }
    return 1;
}

static EVP_PKEY *pkey_fromdata(const char *type, OSSL_PARAM_BLD *bld)
{
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    EVP_PKEY *pkey = NULL;
    if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
        pkey = NULL;
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return pkey;
}

/* 1 when pkey passes OpenSSL's public key check (EC: point on the curve). */
static int pkey_check(EVP_PKEY *pkey)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    int ok = ctx != NULL && EVP_PKEY_public_check(ctx) == 1;
    EVP_PKEY_CTX_free(ctx);
    return ok;
}

static EVP_PKEY *rsa_key(const cJSON *o, char *why, size_t whylen)
{
    unsigned char nb[RSA_MAX_BYTES + 1], eb[16];
    size_t nl = 0, el = 0;
    BIGNUM *n = NULL, *e = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    EVP_PKEY *pkey = NULL;

    if (!b64_member(o, "n", nb, sizeof(nb), &nl, why, whylen) ||
        !b64_member(o, "e", eb, sizeof(eb), &el, why, whylen))
        return NULL;
    if (el > 8 || !(eb[el - 1] & 1) || (el == 1 && eb[0] < 3)) {
        sc_seterr(why, whylen, "\"e\" is not a plausible RSA exponent");
        return NULL;
    }
    n = BN_bin2bn(nb, (int)nl, NULL);
    e = BN_bin2bn(eb, (int)el, NULL);
    bld = OSSL_PARAM_BLD_new();
    if (n == NULL || e == NULL || bld == NULL ||
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) != 1 ||
        (pkey = pkey_fromdata("RSA", bld)) == NULL)
        sc_seterr(why, whylen, "OpenSSL refused the RSA key");
    else if (EVP_PKEY_get_bits(pkey) < RSA_MIN_BITS) {
        sc_seterr(why, whylen, "RSA key of %d bits; at least %d required", EVP_PKEY_get_bits(pkey),
                  RSA_MIN_BITS);
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
    return pkey;
}

static EVP_PKEY *ec_key(const cJSON *o, char *why, size_t whylen)
{
    unsigned char pub[1 + 2 * P256_LEN], x[P256_LEN + 1], y[P256_LEN + 1];
    size_t xl = 0, yl = 0;
    OSSL_PARAM_BLD *bld;
    EVP_PKEY *pkey = NULL;

    if (!b64_member(o, "x", x, sizeof(x), &xl, why, whylen) ||
        !b64_member(o, "y", y, sizeof(y), &yl, why, whylen))
        return NULL;
    if (xl != P256_LEN || yl != P256_LEN) {
        sc_seterr(why, whylen, "\"x\" and \"y\" must be %d bytes each for P-256", P256_LEN);
        return NULL;
    }
    pub[0] = 0x04; /* uncompressed point */
    memcpy(pub + 1, x, P256_LEN);
    memcpy(pub + 1 + P256_LEN, y, P256_LEN);
    bld = OSSL_PARAM_BLD_new();
    if (bld == NULL ||
        OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) != 1 ||
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub)) != 1 ||
        (pkey = pkey_fromdata("EC", bld)) == NULL || !pkey_check(pkey)) {
        sc_seterr(why, whylen, "not a point on P-256");
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    OSSL_PARAM_BLD_free(bld);
    return pkey;
}

static EVP_PKEY *ed_key(const cJSON *o, char *why, size_t whylen)
{
    unsigned char x[ED25519_LEN + 1];
    size_t xl = 0;
    EVP_PKEY *pkey;
    if (!b64_member(o, "x", x, sizeof(x), &xl, why, whylen))
        return NULL;
    if (xl != ED25519_LEN) {
        sc_seterr(why, whylen, "\"x\" must be %d bytes for Ed25519", ED25519_LEN);
        return NULL;
    }
    pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, x, xl);
    if (pkey == NULL)
        sc_seterr(why, whylen, "OpenSSL refused the Ed25519 key");
    return pkey;
}

/* String member name of o: its value, NULL when absent, "" (and *bad = 1)
 * when present but not a string. */
static const char *str_member(const cJSON *o, const char *name, int *bad)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (v == NULL)
        return NULL;
    if (!cJSON_IsString(v)) {
        *bad = 1;
        return "";
    }
    return v->valuestring;
}

/* Fill *k from JWK object o. Returns 1 (key made), 0 (skipped: "use":"enc")
 * or -1 with the reason in why. */
static int jwk_parse(const cJSON *o, jwk *k, char *why, size_t whylen)
{
    static const char *const priv[] = {"d", "p", "q", "dp", "dq", "qi", "k", NULL};
    int bad = 0;
    const char *kty, *crv, *use, *alg, *kid;

    if (!cJSON_IsObject(o)) {
        sc_seterr(why, whylen, "not an object");
        return -1;
    }
    kty = str_member(o, "kty", &bad);
    crv = str_member(o, "crv", &bad);
    use = str_member(o, "use", &bad);
    alg = str_member(o, "alg", &bad);
    kid = str_member(o, "kid", &bad);
    if (bad || kty == NULL) {
        sc_seterr(why, whylen, "kty missing, or kty/crv/use/alg/kid not a string");
        return -1;
    }
    if (use != NULL && strcmp(use, "enc") == 0)
        return 0;
    if (use != NULL && strcmp(use, "sig") != 0) {
        sc_seterr(why, whylen, "\"use\" must be \"sig\"");
        return -1;
    }
    if (kid != NULL && (kid[0] == '\0' || strlen(kid) > SC_JWT_KID_MAX)) {
        sc_seterr(why, whylen, "kid empty or longer than %d bytes", SC_JWT_KID_MAX);
        return -1;
    }
    for (int i = 0; priv[i]; i++)
        if (cJSON_GetObjectItemCaseSensitive(o, priv[i]) != NULL) {
            sc_seterr(why, whylen,
                      "holds private or symmetric key material (\"%s\"); "
                      "publish only the public key",
                      priv[i]);
            return -1;
        }
    if (strcmp(kty, "RSA") == 0) {
        k->alg = ALG_RS256;
        k->pkey = rsa_key(o, why, whylen);
    } else if (strcmp(kty, "EC") == 0 && crv != NULL && strcmp(crv, "P-256") == 0) {
        k->alg = ALG_ES256;
        k->pkey = ec_key(o, why, whylen);
    } else if (strcmp(kty, "OKP") == 0 && crv != NULL && strcmp(crv, "Ed25519") == 0) {
        k->alg = ALG_EDDSA;
        k->pkey = ed_key(o, why, whylen);
    } else {
        sc_seterr(why, whylen, "unsupported key type (RSA, EC P-256 or OKP Ed25519)");
        return -1;
    }
    if (k->pkey == NULL)
        return -1;
    if (alg != NULL && strcmp(alg, alg_names[k->alg]) != 0) {
        sc_seterr(why, whylen, "alg \"%.16s\" does not fit the key type (it verifies %s only)", alg,
                  alg_names[k->alg]);
        EVP_PKEY_free(k->pkey);
        k->pkey = NULL;
        return -1;
    }
    snprintf(k->kid, sizeof(k->kid), "%s", kid != NULL ? kid : "");
    return 1;
}

static sc_status jwks_parse(sc_jwt_keys *ks, const char *src, const char *text, size_t len,
                            char *err, size_t errlen)
{
    cJSON *root = cJSON_ParseWithLength(text, len), *arr, *o;
    char why[SC_ERRLEN];
    size_t i = 0;
    sc_status st = SC_OK;

    arr = cJSON_GetObjectItemCaseSensitive(root, "keys");
    if (!cJSON_IsObject(root) || !cJSON_IsArray(arr)) {
        sc_seterr(err, errlen, "%s: not a JWKS (a JSON object with a \"keys\" array)", src);
        cJSON_Delete(root);
        return SC_EINVAL;
    }
    if (cJSON_GetArraySize(arr) > SC_JWT_MAX_KEYS) {
        sc_seterr(err, errlen, "%s: more than %d keys", src, SC_JWT_MAX_KEYS);
        cJSON_Delete(root);
        return SC_EINVAL;
    }
    ks->keys = calloc(SC_JWT_MAX_KEYS, sizeof(*ks->keys));
    if (ks->keys == NULL) {
        cJSON_Delete(root);
        sc_seterr(err, errlen, "out of memory");
        return SC_ENOMEM;
    }
    cJSON_ArrayForEach(o, arr)
    {
        jwk *k = &ks->keys[ks->n];
        const char *kid = cJSON_IsObject(o) && cJSON_IsString(cJSON_GetObjectItem(o, "kid"))
                              ? cJSON_GetObjectItem(o, "kid")->valuestring
                              : NULL;
        int r = jwk_parse(o, k, why, sizeof(why));
        i++;
        if (r < 0) {
            if (kid != NULL)
                sc_seterr(err, errlen, "%s: key %zu (kid \"%.64s\"): %s", src, i, kid, why);
            else
                sc_seterr(err, errlen, "%s: key %zu: %s", src, i, why);
            st = SC_EINVAL;
            break;
        }
        if (r == 1)
            ks->n++;
    }
    cJSON_Delete(root);
    if (st != SC_OK)
        return st;
    if (ks->n > 1)
        for (i = 0; i < ks->n; i++) {
            if (ks->keys[i].kid[0] == '\0') {
                sc_seterr(err, errlen,
                          "%s: %zu signing keys, so each needs a kid (key %zu has "
                          "none)",
                          src, ks->n, i + 1);
                return SC_EINVAL;
            }
            for (size_t j = 0; j < i; j++)
                if (strcmp(ks->keys[i].kid, ks->keys[j].kid) == 0) {
                    sc_seterr(err, errlen, "%s: kid \"%.64s\" appears twice", src, ks->keys[i].kid);
                    return SC_EINVAL;
                }
        }
    if (ks->n == 0) {
        sc_seterr(err, errlen, "%s: no signing key", src);
        return SC_EINVAL;
    }
    return SC_OK;
}

sc_jwt_keys *sc_jwt_keys_create(const sc_jwt_keys_opts *o, char *err, size_t errlen)
{
    sc_jwt_keys *ks = calloc(1, sizeof(*ks));
    sc_status st = SC_OK;

    if (ks == NULL) {
        sc_seterr(err, errlen, "out of memory");
        return NULL;
    }
    if (o->secret != NULL && o->secret[0] != '\0') {
        ks->secret = strdup(o->secret);
        ks->own_secret = 1;
        if (ks->secret == NULL) {
            sc_seterr(err, errlen, "out of memory");
            sc_jwt_keys_free(ks);
            return NULL;
        }
        ks->secret_len = strlen(ks->secret);
    }
    if (o->jwks != NULL)
        st = jwks_parse(ks, "jwks", o->jwks, o->jwks_len, err, errlen);
    else if (o->jwks_file != NULL && o->jwks_file[0] != '\0') {
        sc_buf file;
        sc_buf_init(&file, SC_JWT_MAX_JWKS);
        st = sc_buf_read_file(&file, o->jwks_file);
        if (st == SC_ENOTFOUND)
            sc_seterr(err, errlen, "%s: cannot open: %s", o->jwks_file, strerror(errno));
        else if (st != SC_OK)
            sc_seterr(err, errlen, "%s: larger than %u bytes", o->jwks_file, SC_JWT_MAX_JWKS);
        else
            st = jwks_parse(ks, o->jwks_file, file.data != NULL ? file.data : "", file.len, err,
                            errlen);
        sc_buf_free(&file);
    } else if (ks->secret == NULL) {
        sc_seterr(err, errlen, "no HS256 secret and no JWKS");
        st = SC_EINVAL;
    }
    if (st != SC_OK) {
        sc_jwt_keys_free(ks);
        return NULL;
    }
    return ks;
}

void sc_jwt_keys_free(sc_jwt_keys *k)
{
    if (k == NULL)
        return;
    for (size_t i = 0; i < k->n; i++)
        EVP_PKEY_free(k->keys[i].pkey);
    free(k->keys);
    if (k->own_secret && k->secret != NULL) {
        OPENSSL_cleanse((char *)k->secret, k->secret_len);
        free((char *)k->secret);
    }
    free(k);
}

size_t sc_jwt_keys_count(const sc_jwt_keys *k) { return k != NULL ? k->n : 0; }

/* ---- verification ---- */

static int hmac_sha256(const char *secret, size_t klen, const char *data, size_t len,
                       unsigned char md[SHA256_LEN])
{
    unsigned int mdlen = 0;
    if (klen > INT_MAX)
        return 0;
    if (HMAC(EVP_sha256(), secret, (int)klen, (const unsigned char *)data, len, md, &mdlen) ==
            NULL ||
        mdlen != SHA256_LEN)
        return 0;
    return 1;
}

/* Raw r||s (2 x 32 bytes) to the DER ECDSA-Sig-Value OpenSSL verifies.
 * Returns the DER length (into *der, OPENSSL_free), or 0. */
static int es256_der(const unsigned char *sig, unsigned char **der)
{
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, P256_LEN, NULL), *s = BN_bin2bn(sig + P256_LEN, P256_LEN, NULL);
    int n = 0;
    *der = NULL;
    if (es != NULL && r != NULL && s != NULL && ECDSA_SIG_set0(es, r, s) == 1) {
        r = s = NULL; /* owned by es now */
        n = i2d_ECDSA_SIG(es, der);
        if (n <= 0) {
            n = 0;
            *der = NULL;
        }
    }
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(es);
    return n;
}

/* 1 valid, 0 mismatch, -1 crypto failure. */
static int pkey_verify(const jwk *k, const unsigned char *sig, size_t siglen, const char *data,
                       size_t len)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char *der = NULL;
    int r = -1;
    if (ctx == NULL)
        return -1;
    if (k->alg == ALG_ES256) {
        int n;
        if (siglen != 2 * P256_LEN) {
            EVP_MD_CTX_free(ctx);
            return 0;
        }
        n = es256_der(sig, &der);
        if (n == 0) {
            EVP_MD_CTX_free(ctx);
            return -1;
        }
        sig = der;
        siglen = (size_t)n;
    } else if (k->alg == ALG_EDDSA && siglen != EDSIG_LEN) {
        EVP_MD_CTX_free(ctx);
        return 0;
    } else if (k->alg == ALG_RS256 && siglen != (size_t)EVP_PKEY_get_size(k->pkey)) {
        EVP_MD_CTX_free(ctx);
        return 0;
    }
    if (EVP_DigestVerifyInit(ctx, NULL, k->alg == ALG_EDDSA ? NULL : EVP_sha256(), NULL, k->pkey) ==
        1) {
        int v = EVP_DigestVerify(ctx, sig, siglen, (const unsigned char *)data, len);
        r = v == 1 ? 1 : 0;
    }
    ERR_clear_error(); /* a mismatch leaves reasons on this thread's queue */
    OPENSSL_free(der);
    EVP_MD_CTX_free(ctx);
    return r;
}

/* Decode a base64url JSON segment and parse it as an object; NULL on error. */
static cJSON *segment_json(const char *s, size_t n)
{
    unsigned char *raw;
    size_t m = 0;
    cJSON *j;
    raw = malloc(n + 1);
    if (raw == NULL)
        return NULL;
    if (sc_b64url_decode(s, n, raw, n, &m) != SC_OK || m == 0) {
        free(raw);
        return NULL;
    }
    j = cJSON_ParseWithLength((const char *)raw, m);
    free(raw);
    if (j != NULL && !cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

/* A NumericDate claim: integer-valued number within +-2^53. 0 = absent,
 * 1 = ok, -1 = malformed. */
static int numeric_date(const cJSON *obj, const char *name, int64_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (v == NULL)
        return 0;
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= -MAX_JSON_INT) ||
        !(v->valuedouble <= MAX_JSON_INT))
        return -1;
    *out = (int64_t)v->valuedouble;
    return 1;
}

/* The key for a header's alg and kid (NULL kid = none): *k the JWKS key, or
 * *k NULL and *secret 1 for the HS256 secret. 0 with the reason in err. */
static int pick_key(const sc_jwt_keys *ks, jwt_alg alg, const char *kid, const jwk **k, char *err,
                    size_t errlen)
{
    *k = NULL;
    if (kid != NULL) {
        for (size_t i = 0; i < ks->n; i++)
            if (strcmp(ks->keys[i].kid, kid) == 0) {
                *k = &ks->keys[i];
                break;
            }
        if (*k == NULL) {
            sc_seterr(err, errlen, "unknown kid");
            return 0;
        }
    } else if (alg == ALG_HS256) {
        if (ks->secret == NULL) {
            sc_seterr(err, errlen, "HS256 tokens are not accepted (no secret configured)");
            return 0;
        }
        return 1;
    } else if (ks->n == 0) {
        sc_seterr(err, errlen, "%s tokens are not accepted (no JWKS key)", alg_names[alg]);
        return 0;
    } else if (ks->n > 1) {
        sc_seterr(err, errlen, "token has no kid and there are %zu keys", ks->n);
        return 0;
    } else
        *k = &ks->keys[0];
    if ((*k)->alg != alg) {
        sc_seterr(err, errlen, "alg %s does not match the key (it verifies %s only)",
                  alg_names[alg], alg_names[(*k)->alg]);
        return 0;
    }
    return 1;
}

/* The aud claim names want: a string equal to it or an array holding one. */
static int aud_has(const cJSON *aud, const char *want)
{
    const cJSON *e;
    if (cJSON_IsString(aud))
        return strcmp(aud->valuestring, want) == 0;
    if (!cJSON_IsArray(aud))
        return 0;
    cJSON_ArrayForEach(e, aud) if (cJSON_IsString(e) && strcmp(e->valuestring, want) == 0) return 1;
    return 0;
}

/* Claims of a payload whose signature was checked. */
static sc_status check_claims(const cJSON *pl, const sc_jwt_policy *p, int64_t now_s,
                              sc_jwt_claims *c, char *err, size_t errlen)
{
    const cJSON *sub = cJSON_GetObjectItemCaseSensitive(pl, "sub");
    int r;
    if (!cJSON_IsString(sub) || sc_parse_u64(sub->valuestring, &c->user_id) != SC_OK) {
        sc_seterr(err, errlen, "missing or bad sub (decimal user id string)");
        return SC_EINVAL;
    }
    r = numeric_date(pl, "exp", &c->exp);
    if (r != 1) {
        sc_seterr(err, errlen, r == 0 ? "missing exp" : "bad exp");
        return SC_EINVAL;
    }
    if (numeric_date(pl, "nbf", &c->nbf) < 0 || numeric_date(pl, "iat", &c->iat) < 0) {
        sc_seterr(err, errlen, "bad nbf or iat");
        return SC_EINVAL;
    }
    if (now_s > c->exp + p->leeway_s) {
        sc_seterr(err, errlen, "token expired");
        return SC_EINVAL;
    }
    if (c->nbf != 0 && c->nbf > now_s + p->leeway_s) {
        sc_seterr(err, errlen, "token not yet valid (nbf)");
        return SC_EINVAL;
    }
    if (p->issuer != NULL && p->issuer[0] != '\0') {
        const cJSON *iss = cJSON_GetObjectItemCaseSensitive(pl, "iss");
        if (!cJSON_IsString(iss) || strcmp(iss->valuestring, p->issuer) != 0) {
            sc_seterr(err, errlen, iss == NULL ? "missing iss" : "iss not accepted");
            return SC_EINVAL;
        }
    }
    if (p->audience != NULL && p->audience[0] != '\0') {
        const cJSON *aud = cJSON_GetObjectItemCaseSensitive(pl, "aud");
        if (!aud_has(aud, p->audience)) {
            sc_seterr(err, errlen, aud == NULL ? "missing aud" : "aud not accepted");
            return SC_EINVAL;
        }
    }
    return SC_OK;
}

sc_status sc_jwt_verify_keys(const sc_jwt_keys *ks, const sc_jwt_policy *policy, const char *token,
                             int64_t now_s, sc_jwt_claims *out, char *err, size_t errlen)
{
    static const sc_jwt_policy defpol = {NULL, NULL, SC_JWT_LEEWAY_S};
    const char *d1, *d2, *s;
    char kid[SC_JWT_KID_MAX + 1];
    size_t tlen, siglen = 0;
    unsigned char sig[(SC_JWT_MAX_LEN / 4) * 3 + 3], md[SHA256_LEN];
    cJSON *hdr, *pl, *alg_j, *kid_j;
    sc_jwt_claims c = {0, 0, 0, 0};
    const jwk *k = NULL;
    jwt_alg alg;
    int has_kid = 0;
    sc_status st;

    if (policy == NULL)
        policy = &defpol;
    if (token == NULL || ks == NULL) {
        sc_seterr(err, errlen, "no token or no keys");
        return SC_EINVAL;
    }
    tlen = strnlen(token, SC_JWT_MAX_LEN + 1);
    if (tlen > SC_JWT_MAX_LEN) {
        sc_seterr(err, errlen, "token too long");
        return SC_EINVAL;
    }
    d1 = memchr(token, '.', tlen);
    d2 = d1 ? memchr(d1 + 1, '.', tlen - (size_t)(d1 + 1 - token)) : NULL;
    if (d1 == NULL || d2 == NULL || memchr(d2 + 1, '.', tlen - (size_t)(d2 + 1 - token))) {
        sc_seterr(err, errlen, "malformed token: expected three segments");
        return SC_EINVAL;
    }
    if (d1 == token || d2 == d1 + 1) {
        sc_seterr(err, errlen, "malformed token: empty segment");
        return SC_EINVAL;
    }

    hdr = segment_json(token, (size_t)(d1 - token));
    if (hdr == NULL) {
        sc_seterr(err, errlen, "malformed token: bad header");
        return SC_EINVAL;
    }
    alg_j = cJSON_GetObjectItemCaseSensitive(hdr, "alg");
    kid_j = cJSON_GetObjectItemCaseSensitive(hdr, "kid");
    alg = cJSON_IsString(alg_j) ? alg_parse(alg_j->valuestring) : ALG_NONE;
    if (alg == ALG_NONE) {
        sc_seterr(err, errlen, "unsupported alg (HS256, RS256, ES256 or EdDSA)");
        cJSON_Delete(hdr);
        return SC_EINVAL;
    }
    if (cJSON_GetObjectItemCaseSensitive(hdr, "crit") != NULL) {
        sc_seterr(err, errlen, "unsupported critical header");
        cJSON_Delete(hdr);
        return SC_EINVAL;
    }
    if (kid_j != NULL) {
        if (!cJSON_IsString(kid_j) || kid_j->valuestring[0] == '\0' ||
            strlen(kid_j->valuestring) > SC_JWT_KID_MAX) {
            sc_seterr(err, errlen, "malformed token: bad kid");
            cJSON_Delete(hdr);
            return SC_EINVAL;
        }
        snprintf(kid, sizeof(kid), "%s", kid_j->valuestring);
        has_kid = 1;
    }
    cJSON_Delete(hdr);
    if (!pick_key(ks, alg, has_kid ? kid : NULL, &k, err, errlen))
        return SC_EINVAL;

    s = d2 + 1;
    if (sc_b64url_decode(s, tlen - (size_t)(s - token), sig, sizeof(sig), &siglen) != SC_OK ||
        siglen == 0) {
        sc_seterr(err, errlen, "malformed token: bad signature encoding");
        return SC_EINVAL;
    }
    if (k == NULL) { /* HS256 with the shared secret */
        if (siglen != SHA256_LEN) {
            sc_seterr(err, errlen, "malformed token: bad signature encoding");
            return SC_EINVAL;
        }
        if (!hmac_sha256(ks->secret, ks->secret_len, token, (size_t)(d2 - token), md)) {
            sc_seterr(err, errlen, "hmac failed");
            return SC_ERR;
        }
        if (CRYPTO_memcmp(md, sig, SHA256_LEN) != 0) {
            sc_seterr(err, errlen, "signature mismatch");
            return SC_EINVAL;
        }
    } else {
        int v = pkey_verify(k, sig, siglen, token, (size_t)(d2 - token));
        if (v < 0) {
            sc_seterr(err, errlen, "%s verification failed in OpenSSL", alg_names[alg]);
            return SC_ERR;
        }
        if (v == 0) {
            sc_seterr(err, errlen, "signature mismatch");
            return SC_EINVAL;
        }
    }

    pl = segment_json(d1 + 1, (size_t)(d2 - d1 - 1));
    if (pl == NULL) {
        sc_seterr(err, errlen, "malformed token: bad payload");
        return SC_EINVAL;
    }
    st = check_claims(pl, policy, now_s, &c, err, errlen);
    cJSON_Delete(pl);
    if (st != SC_OK)
        return st;
    *out = c;
    return SC_OK;
}

sc_status sc_jwt_verify(const char *token, const char *secret, int64_t now_s, sc_jwt_claims *out,
                        char *err, size_t errlen)
{
    sc_jwt_keys ks;
    if (secret == NULL || secret[0] == '\0') {
        sc_seterr(err, errlen, "no token or no secret");
        return SC_EINVAL;
    }
    memset(&ks, 0, sizeof(ks));
    ks.secret = secret; /* borrowed: own_secret stays 0 */
    ks.secret_len = strlen(secret);
    return sc_jwt_verify_keys(&ks, NULL, token, now_s, out, err, errlen);
}

sc_status sc_jwt_sign_hs256(uint64_t user_id, const char *secret, int64_t exp_s, sc_buf *out)
{
    static const char hdr[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
    char pl[96];
    unsigned char md[SHA256_LEN];
    size_t start = out->len;
    int n;
    sc_status st;

    if (secret == NULL || secret[0] == '\0')
        return SC_EINVAL;
    n = snprintf(pl, sizeof(pl), "{\"sub\":\"%llu\",\"exp\":%lld}", (unsigned long long)user_id,
                 (long long)exp_s);
    if (n < 0 || (size_t)n >= sizeof(pl))
        return SC_ERR;
    if ((st = sc_b64url_encode_buf(out, (const unsigned char *)hdr, sizeof(hdr) - 1)) != SC_OK ||
        (st = sc_buf_append(out, ".", 1)) != SC_OK ||
        (st = sc_b64url_encode_buf(out, (const unsigned char *)pl, (size_t)n)) != SC_OK)
        return st;
    if (!hmac_sha256(secret, strlen(secret), out->data + start, out->len - start, md))
        return SC_ERR;
    if ((st = sc_buf_append(out, ".", 1)) != SC_OK)
        return st;
    return sc_b64url_encode_buf(out, md, SHA256_LEN);
}
