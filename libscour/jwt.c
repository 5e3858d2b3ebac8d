/*
 * jwt.c - HS256 JWT verify/sign with OpenSSL libcrypto; see jwt.h.
 * The signature is checked before the payload is parsed, so unauthenticated
 * bytes only ever go through the base64url decoder and the header parser.
 */
#include "jwt.h"

#include "base64.h"

#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHA256_LEN 32
#define MAX_JSON_INT 9007199254740991.0 /* 2^53 - 1 */

static int hmac_sha256(const char *secret, const char *data, size_t len,
                       unsigned char md[SHA256_LEN])
{
    unsigned int mdlen = 0;
    size_t klen = strlen(secret);
    if (klen > INT_MAX)
        return 0;
    if (HMAC(EVP_sha256(), secret, (int)klen, (const unsigned char *)data, len, md, &mdlen) ==
            NULL ||
        mdlen != SHA256_LEN)
        return 0;
    return 1;
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

sc_status sc_jwt_verify(const char *token, const char *secret, int64_t now_s,
                        sc_jwt_claims *out, char *err, size_t errlen)
{
    const char *d1, *d2;
    size_t tlen;
    unsigned char sig[SHA256_LEN + 3], md[SHA256_LEN];
    size_t siglen = 0;
    cJSON *hdr, *pl, *alg, *sub;
    sc_jwt_claims c = {0, 0, 0, 0};
    int r;

    if (token == NULL || secret == NULL || secret[0] == '\0') {
        sc_seterr(err, errlen, "no token or no secret");
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
    alg = cJSON_GetObjectItemCaseSensitive(hdr, "alg");
    if (!cJSON_IsString(alg) || strcmp(alg->valuestring, "HS256") != 0) {
        sc_seterr(err, errlen, "unsupported alg (only HS256)");
        cJSON_Delete(hdr);
        return SC_EINVAL;
    }
    if (cJSON_GetObjectItemCaseSensitive(hdr, "crit") != NULL) {
        sc_seterr(err, errlen, "unsupported critical header");
        cJSON_Delete(hdr);
        return SC_EINVAL;
    }
    cJSON_Delete(hdr);

    if (sc_b64url_decode(d2 + 1, tlen - (size_t)(d2 + 1 - token), sig, sizeof(sig), &siglen) !=
            SC_OK ||
        siglen != SHA256_LEN) {
        sc_seterr(err, errlen, "malformed token: bad signature encoding");
        return SC_EINVAL;
    }
    if (!hmac_sha256(secret, token, (size_t)(d2 - token), md)) {
        sc_seterr(err, errlen, "hmac failed");
        return SC_ERR;
    }
    if (CRYPTO_memcmp(md, sig, SHA256_LEN) != 0) {
        sc_seterr(err, errlen, "signature mismatch");
        return SC_EINVAL;
    }

    pl = segment_json(d1 + 1, (size_t)(d2 - d1 - 1));
    if (pl == NULL) {
        sc_seterr(err, errlen, "malformed token: bad payload");
        return SC_EINVAL;
    }
    sub = cJSON_GetObjectItemCaseSensitive(pl, "sub");
    if (!cJSON_IsString(sub) || sc_parse_u64(sub->valuestring, &c.user_id) != SC_OK) {
        sc_seterr(err, errlen, "missing or bad sub (decimal user id string)");
        cJSON_Delete(pl);
        return SC_EINVAL;
    }
    r = numeric_date(pl, "exp", &c.exp);
    if (r != 1) {
        sc_seterr(err, errlen, r == 0 ? "missing exp" : "bad exp");
        cJSON_Delete(pl);
        return SC_EINVAL;
    }
    if (numeric_date(pl, "nbf", &c.nbf) < 0 || numeric_date(pl, "iat", &c.iat) < 0) {
        sc_seterr(err, errlen, "bad nbf or iat");
        cJSON_Delete(pl);
        return SC_EINVAL;
    }
    cJSON_Delete(pl);
    if (now_s > c.exp + SC_JWT_LEEWAY_S) {
        sc_seterr(err, errlen, "token expired");
        return SC_EINVAL;
    }
    if (c.nbf != 0 && c.nbf > now_s + SC_JWT_LEEWAY_S) {
        sc_seterr(err, errlen, "token not yet valid (nbf)");
        return SC_EINVAL;
    }
    *out = c;
    return SC_OK;
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
    if (!hmac_sha256(secret, out->data + start, out->len - start, md))
        return SC_ERR;
    if ((st = sc_buf_append(out, ".", 1)) != SC_OK)
        return st;
    return sc_b64url_encode_buf(out, md, SHA256_LEN);
}
