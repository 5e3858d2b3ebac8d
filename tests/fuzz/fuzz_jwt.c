/*
 * fuzz_jwt.c - fuzz target for the token verifier and the JWKS loader
 * (libscour/jwt.c). The first input byte picks the target (mod 3); the rest
 * is its input:
 *   0  token: the bytes are a compact JWS, verified against a fixed key set
 *      (an HS256 secret and a JWKS with an Ed25519 key of kid "ed", a P-256
 *      key "ec" and an RSA key "rsa") under an aud/iss policy.
 *   1  signed claims: "HEADER\nPAYLOAD" (raw JSON, no base64); the second
 *      byte picks a signer (HS256 secret, Ed25519, P-256, RSA) that signs the
 *      two as given, so the claim checks behind the signature are reached.
 *   2  JWKS: the bytes are a JWKS document for sc_jwt_keys_create.
 *
 * Beyond "no crash, no leak, no UB" it aborts when an invariant of jwt.h
 * breaks: every rejection carries a reason; an accepted token's header names
 * its signer's algorithm (a header can never pick another check), and its
 * claims satisfy exp/nbf with the leeway, the issuer and the audience; an
 * accepted JWKS holds 1..SC_JWT_MAX_KEYS keys.
 */
#include "base64.h"
#include "buf.h"
#include "jwt.h"
#include "replay.h"
#include "sc.h"

#include <cjson/cJSON.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOW 1790000000LL
#define LEEWAY 30
#define SECRET "fuzz-secret-0123456789"
#define AUD "search"
#define ISS "chat"

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_jwt: invariant broken: %s\n", what);
        abort();
    }
}

/* Fixed Ed25519 private key, so seed tokens signed with it stay valid. */
static const unsigned char ED_PRIV[32] = {
    0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
    0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60};

static EVP_PKEY *ed, *ec, *rsa;
static sc_jwt_keys *keys;

static void b64(sc_buf *b, const void *p, size_t n)
{
    check(sc_b64url_encode_buf(b, p, n) == SC_OK, "b64");
}

static void init(void)
{
    unsigned char buf[600];
    size_t n = sizeof(buf);
    BIGNUM *bn = NULL;
    sc_buf j;
    sc_jwt_keys_opts o;
    char err[SC_ERRLEN];

    ed = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, ED_PRIV, sizeof(ED_PRIV));
    ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    check(ed && ec && rsa, "keygen");
    sc_buf_init(&j, 0);
    check(sc_buf_puts(&j,
                      "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"ed\",\"x\":\"") ==
              SC_OK,
          "buf");
    check(EVP_PKEY_get_raw_public_key(ed, buf, &n) == 1, "ed pub");
    b64(&j, buf, n);
    check(EVP_PKEY_get_octet_string_param(ec, OSSL_PKEY_PARAM_PUB_KEY, buf, sizeof(buf), &n) == 1 &&
              n == 65,
          "ec pub");
    check(sc_buf_puts(&j, "\"},{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"ec\",\"x\":\"") == SC_OK,
          "buf");
    b64(&j, buf + 1, 32);
    check(sc_buf_puts(&j, "\",\"y\":\"") == SC_OK, "buf");
    b64(&j, buf + 33, 32);
    check(sc_buf_puts(&j, "\"},{\"kty\":\"RSA\",\"kid\":\"rsa\",\"e\":\"AQAB\",\"n\":\"") == SC_OK,
          "buf");
    check(EVP_PKEY_get_bn_param(rsa, OSSL_PKEY_PARAM_RSA_N, &bn) == 1, "rsa n");
    n = (size_t)BN_bn2bin(bn, buf);
    BN_free(bn);
    b64(&j, buf, n);
    check(sc_buf_puts(&j, "\"}]}") == SC_OK, "buf");
    memset(&o, 0, sizeof(o));
    o.secret = SECRET;
    o.jwks = j.data;
    o.jwks_len = j.len;
    keys = sc_jwt_keys_create(&o, err, sizeof(err));
    if (keys == NULL)
        fprintf(stderr, "fuzz_jwt: %s\n", err);
    check(keys != NULL && sc_jwt_keys_count(keys) == 3, "fixed key set loads");
    sc_buf_free(&j);
}

/* The claims of an accepted token meet the policy. */
static void check_accepted(const char *payload_b64, size_t n, const sc_jwt_claims *c)
{
    unsigned char *raw = malloc(n + 1);
    size_t m = 0;
    cJSON *pl, *iss, *aud, *e;
    int aud_ok = 0;
    check(raw != NULL, "malloc");
    check(sc_b64url_decode(payload_b64, n, raw, n + 1, &m) == SC_OK, "payload decodes");
    pl = cJSON_ParseWithLength((const char *)raw, m);
    check(cJSON_IsObject(pl), "payload is an object");
    check(NOW <= c->exp + LEEWAY, "exp honoured");
    check(c->nbf == 0 || c->nbf <= NOW + LEEWAY, "nbf honoured");
    check(c->user_id ==
              strtoull(cJSON_GetObjectItemCaseSensitive(pl, "sub")->valuestring, NULL, 10),
          "sub is the user");
    iss = cJSON_GetObjectItemCaseSensitive(pl, "iss");
    check(cJSON_IsString(iss) && strcmp(iss->valuestring, ISS) == 0, "iss honoured");
    aud = cJSON_GetObjectItemCaseSensitive(pl, "aud");
    if (cJSON_IsString(aud))
        aud_ok = strcmp(aud->valuestring, AUD) == 0;
    else
        cJSON_ArrayForEach(e, aud) if (cJSON_IsString(e) && strcmp(e->valuestring, AUD) == 0)
            aud_ok = 1;
    check(aud_ok, "aud honoured");
    cJSON_Delete(pl);
    free(raw);
}

/* Verify tok; on success check the header names want_alg (NULL: any of
 * ours) and the claims meet the policy. */
static void verify(const char *tok, const char *want_alg)
{
    static const sc_jwt_policy pol = {AUD, ISS, LEEWAY};
    sc_jwt_claims c;
    char err[SC_ERRLEN] = "";
    sc_status st = sc_jwt_verify_keys(keys, &pol, tok, NOW, &c, err, sizeof(err));
    if (st == SC_OK) {
        const char *d1 = strchr(tok, '.'), *d2 = strchr(d1 + 1, '.');
        unsigned char hraw[SC_JWT_MAX_LEN];
        size_t hl = 0;
        cJSON *h, *alg;
        check(sc_b64url_decode(tok, (size_t)(d1 - tok), hraw, sizeof(hraw), &hl) == SC_OK,
              "header decodes");
        h = cJSON_ParseWithLength((const char *)hraw, hl);
        alg = cJSON_GetObjectItemCaseSensitive(h, "alg");
        check(cJSON_IsString(alg), "accepted header has an alg");
        if (want_alg != NULL)
            check(strcmp(alg->valuestring, want_alg) == 0, "accepted alg is the signer's");
        cJSON_Delete(h);
        check_accepted(d1 + 1, (size_t)(d2 - d1 - 1), &c);
    } else {
        check(st == SC_EINVAL || st == SC_ENOMEM || st == SC_ERR, "status");
        check(err[0] != '\0', "rejection without a reason");
    }
}

/* Sign "header\npayload" with signer s (0 HS256, 1 Ed25519, 2 P-256, 3 RSA). */
static void fuzz_signed(const char *s, size_t n)
{
    static const char *const algs[] = {"HS256", "EdDSA", "ES256", "RS256"};
    const char *nl;
    int who;
    sc_buf b;
    unsigned char sig[600];
    size_t siglen = sizeof(sig);
    if (n < 1)
        return;
    who = (unsigned char)s[0] % 4;
    s++;
    n--;
    nl = memchr(s, '\n', n);
    if (nl == NULL || n > SC_JWT_MAX_LEN)
        return;
    sc_buf_init(&b, 0);
    b64(&b, s, (size_t)(nl - s));
    check(sc_buf_puts(&b, ".") == SC_OK, "buf");
    b64(&b, nl + 1, n - (size_t)(nl + 1 - s));
    if (who == 0) {
        unsigned int ml = 0;
        check(HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), (const unsigned char *)b.data, b.len,
                   sig, &ml) != NULL,
              "hmac");
        siglen = ml;
    } else {
        EVP_PKEY *k = who == 1 ? ed : who == 2 ? ec : rsa;
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        check(ctx != NULL &&
                  EVP_DigestSignInit(ctx, NULL, who == 1 ? NULL : EVP_sha256(), NULL, k) == 1 &&
                  EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)b.data, b.len) == 1,
              "sign");
        EVP_MD_CTX_free(ctx);
        if (who == 2) {
            const unsigned char *p = sig;
            ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)siglen);
            check(es != NULL, "ecdsa der");
            check(BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, 32) == 32 &&
                      BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + 32, 32) == 32,
                  "ecdsa raw");
            ECDSA_SIG_free(es);
            siglen = 64;
        }
    }
    check(sc_buf_puts(&b, ".") == SC_OK, "buf");
    b64(&b, sig, siglen);
    verify(b.data, algs[who]);
    sc_buf_free(&b);
}

static void fuzz_jwks(const char *s, size_t n)
{
    sc_jwt_keys_opts o;
    char err[SC_ERRLEN] = "";
    sc_jwt_keys *k;
    memset(&o, 0, sizeof(o));
    o.jwks = s;
    o.jwks_len = n;
    k = sc_jwt_keys_create(&o, err, sizeof(err));
    if (k != NULL)
        check(sc_jwt_keys_count(k) >= 1 && sc_jwt_keys_count(k) <= SC_JWT_MAX_KEYS, "key count");
    else
        check(err[0] != '\0', "rejection without a reason");
    sc_jwt_keys_free(k);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s;
    if (keys == NULL)
        init();
    if (size == 0)
        return 0;
    s = (const char *)data + 1;
    switch (data[0] % 3) {
    case 0: {
        char *tok = malloc(size);
        check(tok != NULL, "malloc");
        memcpy(tok, s, size - 1);
        tok[size - 1] = '\0';
        verify(tok, NULL);
        free(tok);
        break;
    }
    case 1:
        fuzz_signed(s, size - 1);
        break;
    default:
        fuzz_jwks(s, size - 1);
        break;
    }
    return 0;
}

#ifndef SC_LIBFUZZER
int main(int argc, char **argv)
{
    int rc = sc_fuzz_replay("fuzz_jwt", argc, argv);
    sc_jwt_keys_free(keys);
    EVP_PKEY_free(ed);
    EVP_PKEY_free(ec);
    EVP_PKEY_free(rsa);
    return rc;
}
#endif
