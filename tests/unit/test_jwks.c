/*
 * test_jwks.c - unit tests for the asymmetric half of jwt.c and for auth.c:
 * RS256, ES256 and EdDSA tokens checked against a JWKS, with real keys made
 * at test time (EVP_PKEY_Q_keygen) and tokens signed here with OpenSSL, so
 * the verifier is checked against an independent signer. Covers every
 * algorithm, the algorithm-confusion cases (alg none, HS256 "signed" with an
 * RSA public key's bytes, an algorithm that is not the key's, an unknown or
 * missing kid), aud/iss/nbf/exp with a configured leeway, the JWKS loader's
 * refusals, and key rotation through sc_auth_reload (old keys kept when the
 * new file is invalid).
 */
#include "auth.h"
#include "base64.h"
#include "buf.h"
#include "jwt.h"
#include "testlib.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NOW 1790000000LL
#define PAYLOAD "{\"sub\":\"42\",\"exp\":1790000600}"

static EVP_PKEY *rsa1, *rsa2, *ec1, *ec2, *ed1;
static char tmpdir[64];

static int setup(void **state)
{
    (void)state;
    rsa1 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    rsa2 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    ec1 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    ec2 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    ed1 = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/scour-jwks-XXXXXX");
    return rsa1 && rsa2 && ec1 && ec2 && ed1 && mkdtemp(tmpdir) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];
    (void)state;
    EVP_PKEY_free(rsa1);
    EVP_PKEY_free(rsa2);
    EVP_PKEY_free(ec1);
    EVP_PKEY_free(ec2);
    EVP_PKEY_free(ed1);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void b64(sc_buf *b, const void *p, size_t n)
{
    assert_int_equal(sc_b64url_encode_buf(b, p, n), SC_OK);
}

/* Append the public JWK of pkey (kid may be NULL; extra is appended raw
 * inside the object, e.g. ",\"alg\":\"RS256\""). */
static void jwk(sc_buf *b, EVP_PKEY *pkey, const char *kid, const char *extra)
{
    unsigned char buf[1024];
    size_t n = 0;
    assert_int_equal(sc_buf_puts(b, "{"), SC_OK);
    if (EVP_PKEY_is_a(pkey, "RSA")) {
        BIGNUM *bn = NULL;
        assert_int_equal(sc_buf_puts(b, "\"kty\":\"RSA\",\"n\":\""), SC_OK);
        assert_int_equal(EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &bn), 1);
        n = (size_t)BN_bn2bin(bn, buf);
        b64(b, buf, n);
        BN_free(bn);
        bn = NULL;
        assert_int_equal(sc_buf_puts(b, "\",\"e\":\""), SC_OK);
        assert_int_equal(EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &bn), 1);
        n = (size_t)BN_bn2bin(bn, buf);
        b64(b, buf, n);
        BN_free(bn);
    } else if (EVP_PKEY_is_a(pkey, "EC")) {
        assert_int_equal(
            EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, buf, sizeof(buf), &n),
            1);
        assert_int_equal(n, 65);
        assert_int_equal(sc_buf_puts(b, "\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\""), SC_OK);
        b64(b, buf + 1, 32);
        assert_int_equal(sc_buf_puts(b, "\",\"y\":\""), SC_OK);
        b64(b, buf + 33, 32);
    } else {
        n = sizeof(buf);
        assert_int_equal(EVP_PKEY_get_raw_public_key(pkey, buf, &n), 1);
        assert_int_equal(sc_buf_puts(b, "\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\""), SC_OK);
        b64(b, buf, n);
    }
    assert_int_equal(sc_buf_puts(b, "\""), SC_OK);
    if (kid != NULL)
        assert_int_equal(sc_buf_printf(b, ",\"kid\":\"%s\"", kid), SC_OK);
    if (extra != NULL)
        assert_int_equal(sc_buf_puts(b, extra), SC_OK);
    assert_int_equal(sc_buf_puts(b, "}"), SC_OK);
}

/* A JWKS of up to 4 keys; kids[i] NULL = no kid. Returns malloc'd text. */
static char *jwks(EVP_PKEY *const *keys, const char *const *kids, size_t n)
{
    sc_buf b;
    sc_buf_init(&b, 0);
    assert_int_equal(sc_buf_puts(&b, "{\"keys\":["), SC_OK);
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            assert_int_equal(sc_buf_puts(&b, ","), SC_OK);
        jwk(&b, keys[i], kids[i], NULL);
    }
    assert_int_equal(sc_buf_puts(&b, "]}"), SC_OK);
    return sc_buf_steal(&b);
}

static sc_jwt_keys *keys_of(const char *text, const char *secret)
{
    sc_jwt_keys_opts o;
    char err[SC_ERRLEN] = "";
    sc_jwt_keys *k;
    memset(&o, 0, sizeof(o));
    o.secret = secret;
    o.jwks = text;
    o.jwks_len = text != NULL ? strlen(text) : 0;
    k = sc_jwt_keys_create(&o, err, sizeof(err));
    if (k == NULL)
        fail_msg("keys: %s", err);
    return k;
}

/* The reason a JWKS is refused (static buffer). */
static const char *refusal(const char *text)
{
    static char err[SC_ERRLEN];
    sc_jwt_keys_opts o;
    sc_jwt_keys *k;
    memset(&o, 0, sizeof(o));
    o.jwks = text;
    o.jwks_len = strlen(text);
    err[0] = '\0';
    k = sc_jwt_keys_create(&o, err, sizeof(err));
    if (k != NULL) {
        sc_jwt_keys_free(k);
        fail_msg("JWKS accepted: %s", text);
    }
    assert_true(err[0] != '\0');
    return err;
}

/* "b64(hdr).b64(payload)." then the signature: with pkey (alg by key type;
 * md NULL for Ed25519; ES256 converted to raw r||s unless der), or HMAC
 * with hkey[0..hlen) when pkey is NULL. Returns malloc'd text. */
static char *sign_token(const char *hdr, const char *payload, EVP_PKEY *pkey, const void *hkey,
                        size_t hlen, int der)
{
    sc_buf b;
    unsigned char sig[1024];
    size_t siglen = sizeof(sig);
    sc_buf_init(&b, 0);
    b64(&b, hdr, strlen(hdr));
    assert_int_equal(sc_buf_puts(&b, "."), SC_OK);
    b64(&b, payload, strlen(payload));
    if (pkey == NULL) {
        unsigned int ml = 0;
        assert_non_null(
            HMAC(EVP_sha256(), hkey, (int)hlen, (const unsigned char *)b.data, b.len, sig, &ml));
        siglen = ml;
    } else {
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        const EVP_MD *md = EVP_PKEY_is_a(pkey, "ED25519") ? NULL : EVP_sha256();
        assert_non_null(ctx);
        assert_int_equal(EVP_DigestSignInit(ctx, NULL, md, NULL, pkey), 1);
        assert_int_equal(EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)b.data, b.len),
                         1);
        EVP_MD_CTX_free(ctx);
        if (EVP_PKEY_is_a(pkey, "EC") && !der) {
            const unsigned char *p = sig;
            ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)siglen);
            unsigned char raw[64];
            assert_non_null(es);
            assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, 32), 32);
            assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + 32, 32), 32);
            ECDSA_SIG_free(es);
            memcpy(sig, raw, 64);
            siglen = 64;
        }
    }
    assert_int_equal(sc_buf_puts(&b, "."), SC_OK);
    b64(&b, sig, siglen);
    return sc_buf_steal(&b);
}

static sc_status check(const sc_jwt_keys *k, const sc_jwt_policy *p, const char *tok, int64_t now,
                       char *err)
{
    sc_jwt_claims c;
    err[0] = '\0';
    return sc_jwt_verify_keys(k, p, tok, now, &c, err, SC_ERRLEN);
}

/* Every algorithm, picked by kid, verifies; a flipped payload or signature
 * byte does not. */
static void test_each_algorithm(void **state)
{
    EVP_PKEY *ks[] = {rsa1, ec1, ed1};
    const char *kids[] = {"r1", "e1", "d1"};
    const char *hdrs[] = {"{\"alg\":\"RS256\",\"kid\":\"r1\",\"typ\":\"JWT\"}",
                          "{\"alg\":\"ES256\",\"kid\":\"e1\"}",
                          "{\"alg\":\"EdDSA\",\"kid\":\"d1\"}"};
    char *text = jwks(ks, kids, 3), err[SC_ERRLEN];
    sc_jwt_keys *k = keys_of(text, NULL);
    (void)state;
    assert_int_equal(sc_jwt_keys_count(k), 3);
    for (int i = 0; i < 3; i++) {
        sc_jwt_claims c = {0, 0, 0, 0};
        char *t = sign_token(hdrs[i], PAYLOAD, ks[i], NULL, 0, 0);
        char *dot = strrchr(t, '.');
        assert_int_equal(sc_jwt_verify_keys(k, NULL, t, NOW, &c, err, sizeof(err)), SC_OK);
        assert_true(c.user_id == 42);
        assert_int_equal(c.exp, 1790000600LL);
        /* a flipped signature character */
        dot[5] = dot[5] == 'A' ? 'B' : 'A';
        assert_int_equal(check(k, NULL, t, NOW, err), SC_EINVAL);
        assert_string_equal(err, "signature mismatch");
        free(t);
        /* the same signature over another payload */
        t = sign_token(hdrs[i], PAYLOAD, ks[i], NULL, 0, 0);
        {
            char *t2 =
                sign_token(hdrs[i], "{\"sub\":\"43\",\"exp\":1790000600}", ks[i], NULL, 0, 0);
            char *s1 = strrchr(t, '.'), *s2 = strrchr(t2, '.');
            sc_buf f;
            sc_buf_init(&f, 0);
            assert_int_equal(sc_buf_append(&f, t2, (size_t)(s2 - t2)), SC_OK);
            assert_int_equal(sc_buf_puts(&f, s1), SC_OK);
            assert_int_equal(check(k, NULL, f.data, NOW, err), SC_EINVAL);
            assert_string_equal(err, "signature mismatch");
            sc_buf_free(&f);
            free(t2);
        }
        free(t);
    }
    /* ES256 in DER (as OpenSSL emits it) instead of JWS's raw r||s */
    {
        char *t = sign_token(hdrs[1], PAYLOAD, ec1, NULL, 0, 1);
        assert_int_equal(check(k, NULL, t, NOW, err), SC_EINVAL);
        assert_string_equal(err, "signature mismatch");
        free(t);
    }
    sc_jwt_keys_free(k);
    free(text);
}

/* The algorithm in the header can never pick a weaker check. */
static void test_algorithm_confusion(void **state)
{
    EVP_PKEY *ks[] = {rsa1, ec1, ed1};
    const char *kids[] = {"r1", "e1", "d1"};
    char *text = jwks(ks, kids, 3), err[SC_ERRLEN], *t;
    const char *secret = "0123456789abcdef-shared";
    sc_jwt_keys *k = keys_of(text, secret), *k_nosecret = keys_of(text, NULL);
    unsigned char *der = NULL;
    int derlen;
    BIO *bio = BIO_new(BIO_s_mem());
    char *pem = NULL;
    long pemlen;
    (void)state;

    /* alg none, with and without a kid, with an empty or a real signature */
    t = sign_token("{\"alg\":\"none\"}", PAYLOAD, NULL, "x", 1, 0);
    assert_int_equal(check(k, NULL, t, NOW, err), SC_EINVAL);
    assert_string_equal(err, "unsupported alg (HS256, RS256, ES256 or EdDSA)");
    *(strrchr(t, '.') + 1) = '\0';
    assert_int_equal(check(k, NULL, t, NOW, err), SC_EINVAL);
    free(t);
    t = sign_token("{\"alg\":\"none\",\"kid\":\"r1\"}", PAYLOAD, rsa1, NULL, 0, 0);
    assert_int_equal(check(k, NULL, t, NOW, err), SC_EINVAL);
    assert_string_equal(err, "unsupported alg (HS256, RS256, ES256 or EdDSA)");
    free(t);
    /* other algorithm names: RS512, PS256, ES384, HS512, Ed25519, lowercase */
    {
        static const char *const algs[] = {"RS512",   "PS256", "ES384", "HS512",
                                           "Ed25519", "rs256", "eddsa", ""};
        for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
            char hdr[64];
            snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\",\"kid\":\"r1\"}", algs[i]);
            t = sign_token(hdr, PAYLOAD, rsa1, NULL, 0, 0);
            assert_int_equal(check(k, NULL, t, NOW, err), SC_EINVAL);
            assert_string_equal(err, "unsupported alg (HS256, RS256, ES256 or EdDSA)");
            free(t);
        }
    }

    /* HS256 "signed" with the RSA public key's bytes: PEM, DER and raw n */
    assert_int_equal(PEM_write_bio_PUBKEY(bio, rsa1), 1);
    pemlen = BIO_get_mem_data(bio, &pem);
    derlen = i2d_PUBKEY(rsa1, &der);
    assert_true(derlen > 0 && pemlen > 0);
    {
        const void *mats[] = {pem, der};
        size_t lens[] = {(size_t)pemlen, (size_t)derlen};
        for (int i = 0; i < 2; i++) {
            /* with the RSA key's kid: HS256 is not that key's algorithm */
            t = sign_token("{\"alg\":\"HS256\",\"kid\":\"r1\"}", PAYLOAD, NULL, mats[i], lens[i],
                           0);
            assert_int_equal(check(k, NULL, t, NOW, err), SC_EINVAL);
            assert_string_equal(err, "alg HS256 does not match the key (it verifies RS256 only)");
            free(t);
            /* without a kid: HS256 means the shared secret, which it is not */
            t = sign_token("{\"alg\":\"HS256\"}", PAYLOAD, NULL, mats[i], lens[i], 0);
            assert_int_equal(check(k, NULL, t, NOW, err), SC_EINVAL);
            assert_string_equal(err, "signature mismatch");
            assert_int_equal(check(k_nosecret, NULL, t, NOW, err), SC_EINVAL);
            assert_string_equal(err, "HS256 tokens are not accepted (no secret configured)");
            free(t);
        }
    }
    OPENSSL_free(der);
    BIO_free(bio);
    /* the shared secret itself still works, kid-less */
    t = sign_token("{\"alg\":\"HS256\"}", PAYLOAD, NULL, secret, strlen(secret), 0);
    assert_int_equal(check(k, NULL, t, NOW, err), SC_OK);
    free(t);
    /* ... but not with a kid: the secret has none */
    t = sign_token("{\"alg\":\"HS256\",\"kid\":\"hs\"}", PAYLOAD, NULL, secret, strlen(secret), 0);
    assert_int_equal(check(k, NULL, t, NOW, err), SC_EINVAL);
    assert_string_equal(err, "unknown kid");
    free(t);

    /* a header alg that is not the picked key's, each signed by the right key */
    {
        static const struct {
            const char *hdr;
            int key;
            const char *why;
        } cases[] = {
            {"{\"alg\":\"ES256\",\"kid\":\"r1\"}", 0,
             "alg ES256 does not match the key (it verifies RS256 only)"},
            {"{\"alg\":\"EdDSA\",\"kid\":\"r1\"}", 0,
             "alg EdDSA does not match the key (it verifies RS256 only)"},
            {"{\"alg\":\"RS256\",\"kid\":\"e1\"}", 1,
             "alg RS256 does not match the key (it verifies ES256 only)"},
            {"{\"alg\":\"EdDSA\",\"kid\":\"e1\"}", 1,
             "alg EdDSA does not match the key (it verifies ES256 only)"},
            {"{\"alg\":\"ES256\",\"kid\":\"d1\"}", 2,
             "alg ES256 does not match the key (it verifies EdDSA only)"},
            {"{\"alg\":\"RS256\",\"kid\":\"d1\"}", 2,
             "alg RS256 does not match the key (it verifies EdDSA only)"},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            t = sign_token(cases[i].hdr, PAYLOAD, ks[cases[i].key], NULL, 0, 0);
            assert_int_equal(check(k, NULL, t, NOW, err), SC_EINVAL);
            assert_string_equal(err, cases[i].why);
            free(t);
        }
    }
    /* unknown kid; a bad kid; a valid signature under another key's kid */
    t = sign_token("{\"alg\":\"RS256\",\"kid\":\"r9\"}", PAYLOAD, rsa1, NULL, 0, 0);
    assert_int_equal(check(k, NULL, t, NOW, err), SC_EINVAL);
    assert_string_equal(err, "unknown kid");
    free(t);
    t = sign_token("{\"alg\":\"RS256\",\"kid\":7}", PAYLOAD, rsa1, NULL, 0, 0);
    assert_int_equal(check(k, NULL, t, NOW, err), SC_EINVAL);
    assert_string_equal(err, "malformed token: bad kid");
    free(t);
    t = sign_token("{\"alg\":\"RS256\",\"kid\":\"r1\"}", PAYLOAD, rsa2, NULL, 0, 0);
    assert_int_equal(check(k, NULL, t, NOW, err), SC_EINVAL);
    assert_string_equal(err, "signature mismatch");
    free(t);
    /* kid-less asymmetric token while several keys exist */
    t = sign_token("{\"alg\":\"RS256\"}", PAYLOAD, rsa1, NULL, 0, 0);
    assert_int_equal(check(k, NULL, t, NOW, err), SC_EINVAL);
    assert_string_equal(err, "token has no kid and there are 3 keys");
    free(t);
    sc_jwt_keys_free(k);
    sc_jwt_keys_free(k_nosecret);
    free(text);
}

/* With a single key, a kid-less token of that key's algorithm verifies,
 * and the key needs no kid. */
static void test_single_key_without_kid(void **state)
{
    EVP_PKEY *ks[] = {ec1};
    const char *kids[] = {NULL};
    char *text = jwks(ks, kids, 1), err[SC_ERRLEN], *t;
    sc_jwt_keys *k = keys_of(text, NULL);
    (void)state;
    t = sign_token("{\"alg\":\"ES256\"}", PAYLOAD, ec1, NULL, 0, 0);
    assert_int_equal(check(k, NULL, t, NOW, err), SC_OK);
    free(t);
    t = sign_token("{\"alg\":\"ES256\"}", PAYLOAD, ec2, NULL, 0, 0);
    assert_int_equal(check(k, NULL, t, NOW, err), SC_EINVAL);
    assert_string_equal(err, "signature mismatch");
    free(t);
    t = sign_token("{\"alg\":\"RS256\"}", PAYLOAD, rsa1, NULL, 0, 0);
    assert_int_equal(check(k, NULL, t, NOW, err), SC_EINVAL);
    assert_string_equal(err, "alg RS256 does not match the key (it verifies ES256 only)");
    free(t);
    t = sign_token("{\"alg\":\"ES256\",\"kid\":\"x\"}", PAYLOAD, ec1, NULL, 0, 0);
    assert_int_equal(check(k, NULL, t, NOW, err), SC_EINVAL);
    assert_string_equal(err, "unknown kid");
    free(t);
    sc_jwt_keys_free(k);
    free(text);
}

/* aud, iss, exp and nbf with a configured leeway. */
static void test_claims_policy(void **state)
{
    EVP_PKEY *ks[] = {ed1};
    const char *kids[] = {"d1"};
    char *text = jwks(ks, kids, 1), err[SC_ERRLEN];
    sc_jwt_keys *k = keys_of(text, NULL);
    sc_jwt_policy p = {"search-api", "https://chat.example", 5};
    static const struct {
        const char *payload;
        int64_t now;
        const char *why; /* NULL = accepted */
    } cases[] = {
        {"{\"sub\":\"1\",\"exp\":1790000000,\"aud\":\"search-api\",\"iss\":\"https://"
         "chat.example\"}",
         NOW, NULL},
        {"{\"sub\":\"1\",\"exp\":1790000000,\"aud\":[\"x\",\"search-api\"],\"iss\":\"https://"
         "chat.example\"}",
         NOW + 5, NULL},
        {"{\"sub\":\"1\",\"exp\":1790000000,\"aud\":\"search-api\",\"iss\":\"https://"
         "chat.example\"}",
         NOW + 6, "token expired"},
        {"{\"sub\":\"1\",\"exp\":1790000100,\"nbf\":1790000005,\"aud\":\"search-api\",\"iss\":"
         "\"https://chat.example\"}",
         NOW, NULL},
        {"{\"sub\":\"1\",\"exp\":1790000100,\"nbf\":1790000006,\"aud\":\"search-api\",\"iss\":"
         "\"https://chat.example\"}",
         NOW, "token not yet valid (nbf)"},
        {"{\"sub\":\"1\",\"exp\":1790000100,\"iss\":\"https://chat.example\"}", NOW, "missing aud"},
        {"{\"sub\":\"1\",\"exp\":1790000100,\"aud\":\"other\",\"iss\":\"https://chat.example\"}",
         NOW, "aud not accepted"},
        {"{\"sub\":\"1\",\"exp\":1790000100,\"aud\":[\"other\",7],\"iss\":\"https://"
         "chat.example\"}",
         NOW, "aud not accepted"},
        {"{\"sub\":\"1\",\"exp\":1790000100,\"aud\":\"search-api\"}", NOW, "missing iss"},
        {"{\"sub\":\"1\",\"exp\":1790000100,\"aud\":\"search-api\",\"iss\":\"https://chat.example/"
         "\"}",
         NOW, "iss not accepted"},
        {"{\"sub\":\"1\",\"exp\":1790000100,\"aud\":\"search-api\",\"iss\":1}", NOW,
         "iss not accepted"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *t =
            sign_token("{\"alg\":\"EdDSA\",\"kid\":\"d1\"}", cases[i].payload, ed1, NULL, 0, 0);
        sc_status st = check(k, &p, t, cases[i].now, err);
        if (cases[i].why == NULL && st != SC_OK)
            fail_msg("case %zu refused: %s", i, err);
        if (cases[i].why != NULL) {
            assert_int_equal(st, SC_EINVAL);
            assert_string_equal(err, cases[i].why);
        }
        free(t);
    }
    /* without aud/iss in the policy they are not required */
    {
        sc_jwt_policy loose = {NULL, "", 0};
        char *t = sign_token("{\"alg\":\"EdDSA\",\"kid\":\"d1\"}", PAYLOAD, ed1, NULL, 0, 0);
        assert_int_equal(check(k, &loose, t, NOW, err), SC_OK);
        assert_int_equal(check(k, &loose, t, 1790000601LL, err), SC_EINVAL); /* leeway 0 */
        assert_string_equal(err, "token expired");
        free(t);
    }
    sc_jwt_keys_free(k);
    free(text);
}

/* JWKS documents the loader refuses, each with a reason naming the key. */
static void test_jwks_refusals(void **state)
{
    sc_buf b;
    (void)state;
    assert_non_null(strstr(refusal("not json"), "not a JWKS"));
    assert_non_null(strstr(refusal("{\"keys\":{}}"), "not a JWKS"));
    assert_non_null(strstr(refusal("{\"keys\":[]}"), "no signing key"));
    assert_non_null(strstr(refusal("{\"keys\":[7]}"), "key 1: not an object"));
    assert_non_null(strstr(refusal("{\"keys\":[{\"kty\":\"oct\",\"k\":\"c2VjcmV0\"}]}"),
                           "private or symmetric key material (\"k\")"));
    assert_non_null(strstr(refusal("{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-384\",\"x\":\"AA\","
                                   "\"y\":\"AA\"}]}"),
                           "unsupported key type"));
    assert_non_null(strstr(refusal("{\"keys\":[{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\","
                                   "\"kid\":\"small\"}]}"),
                           "key 1 (kid \"small\"): RSA key of 17 bits; at least 2048 required"));
    /* a point that is not on P-256 */
    assert_non_null(strstr(refusal("{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\","
                                   "\"x\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE\","
                                   "\"y\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE\"}]}"),
                           "not a point on P-256"));
    assert_non_null(
        strstr(refusal("{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"AAAA\"}]}"),
               "must be 32 bytes"));
    /* alg members that contradict the key type; private key material */
    sc_buf_init(&b, 0);
    assert_int_equal(sc_buf_puts(&b, "{\"keys\":["), SC_OK);
    jwk(&b, ec1, "e1", ",\"alg\":\"RS256\"");
    assert_int_equal(sc_buf_puts(&b, "]}"), SC_OK);
    assert_non_null(
        strstr(refusal(b.data), "key 1 (kid \"e1\"): alg \"RS256\" does not fit the key type"));
    sc_buf_free(&b);
    sc_buf_init(&b, 0);
    assert_int_equal(sc_buf_puts(&b, "{\"keys\":["), SC_OK);
    jwk(&b, rsa1, "r1", ",\"alg\":\"HS256\"");
    assert_int_equal(sc_buf_puts(&b, "]}"), SC_OK);
    assert_non_null(strstr(refusal(b.data), "does not fit the key type (it verifies RS256 only)"));
    sc_buf_free(&b);
    sc_buf_init(&b, 0);
    assert_int_equal(sc_buf_puts(&b, "{\"keys\":["), SC_OK);
    jwk(&b, ed1, "d1", ",\"d\":\"AAAA\"");
    assert_int_equal(sc_buf_puts(&b, "]}"), SC_OK);
    assert_non_null(strstr(refusal(b.data), "private or symmetric key material (\"d\")"));
    sc_buf_free(&b);
    /* several keys: each needs a kid, and distinct ones */
    {
        EVP_PKEY *ks[] = {rsa1, ec1};
        const char *nokid[] = {"a", NULL}, *dup[] = {"a", "a"};
        char *t = jwks(ks, nokid, 2);
        assert_non_null(strstr(refusal(t), "2 signing keys, so each needs a kid (key 2 has none)"));
        free(t);
        t = jwks(ks, dup, 2);
        assert_non_null(strstr(refusal(t), "kid \"a\" appears twice"));
        free(t);
    }
    /* an encryption key is skipped, not refused, and "alg" that fits is fine */
    sc_buf_init(&b, 0);
    assert_int_equal(sc_buf_puts(&b, "{\"keys\":["), SC_OK);
    jwk(&b, rsa2, "enc1", ",\"use\":\"enc\"");
    assert_int_equal(sc_buf_puts(&b, ","), SC_OK);
    jwk(&b, rsa1, "r1", ",\"use\":\"sig\",\"alg\":\"RS256\"");
    assert_int_equal(sc_buf_puts(&b, "]}"), SC_OK);
    {
        sc_jwt_keys *k = keys_of(b.data, NULL);
        assert_int_equal(sc_jwt_keys_count(k), 1);
        sc_jwt_keys_free(k);
    }
    sc_buf_free(&b);
    /* neither a secret nor a JWKS */
    {
        sc_jwt_keys_opts o;
        char err[SC_ERRLEN];
        memset(&o, 0, sizeof(o));
        assert_null(sc_jwt_keys_create(&o, err, sizeof(err)));
        assert_string_equal(err, "no HS256 secret and no JWKS");
        o.jwks_file = "/nonexistent/jwks.json";
        assert_null(sc_jwt_keys_create(&o, err, sizeof(err)));
        assert_string_equal(err, "/nonexistent/jwks.json: cannot open: No such file or directory");
    }
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static char *bearer(const char *tok)
{
    sc_buf b;
    sc_buf_init(&b, 0);
    assert_int_equal(sc_buf_printf(&b, "Bearer %s", tok), SC_OK);
    return sc_buf_steal(&b);
}

/* Key rotation through sc_auth: add a key, drop the old one (its cached
 * token stops working at once), and keep the keys when the new file is bad. */
static void test_rotation(void **state)
{
    char path[128], err[SC_ERRLEN], *text, *ta, *tb, *ha, *hb;
    EVP_PKEY *k1[] = {rsa1}, *k2[] = {rsa1, ec1}, *k3[] = {ec1};
    const char *n1[] = {"2026-01"}, *n2[] = {"2026-01", "2026-02"}, *n3[] = {"2026-02"};
    int64_t exp = (int64_t)time(NULL) + 600;
    char pl[96];
    sc_auth_opts o;
    sc_auth *a;
    size_t nk = 0;
    (void)state;

    snprintf(path, sizeof(path), "%s/jwks.json", tmpdir);
    snprintf(pl, sizeof(pl), "{\"sub\":\"7\",\"exp\":%lld,\"aud\":\"s\"}", (long long)exp);
    ta = sign_token("{\"alg\":\"RS256\",\"kid\":\"2026-01\"}", pl, rsa1, NULL, 0, 0);
    tb = sign_token("{\"alg\":\"ES256\",\"kid\":\"2026-02\"}", pl, ec1, NULL, 0, 0);
    ha = bearer(ta);
    hb = bearer(tb);
    text = jwks(k1, n1, 1);
    write_file(path, text);
    free(text);
    memset(&o, 0, sizeof(o));
    o.jwks_file = path;
    o.audience = "s";
    o.leeway_s = 30;
    a = sc_auth_create(&o, err, sizeof(err));
    if (a == NULL)
        fail_msg("sc_auth_create: %s", err);
    assert_true(sc_auth_user(a, ha) == 7);
    assert_true(sc_auth_user(a, ha) == 7); /* from the per-thread memory */
    assert_true(sc_auth_user(a, hb) == 0);
    assert_true(sc_auth_user(a, NULL) == 0);
    assert_true(sc_auth_user(a, "Basic xyz") == 0);
    assert_true(sc_auth_user(a, ta) == 0); /* no "Bearer " */
    /* step 1: the new key is published next to the old one */
    text = jwks(k2, n2, 2);
    write_file(path, text);
    free(text);
    assert_int_equal(sc_auth_reload(a, &nk, err, sizeof(err)), SC_OK);
    assert_int_equal(nk, 2);
    assert_true(sc_auth_user(a, ha) == 7);
    assert_true(sc_auth_user(a, hb) == 7);
    /* step 2: the old key is withdrawn; its token (just verified, so in the
     * thread's memory) is refused at once */
    assert_true(sc_auth_user(a, ha) == 7);
    text = jwks(k3, n3, 1);
    write_file(path, text);
    free(text);
    assert_int_equal(sc_auth_reload(a, &nk, err, sizeof(err)), SC_OK);
    assert_int_equal(nk, 1);
    assert_true(sc_auth_user(a, ha) == 0);
    assert_true(sc_auth_user(a, hb) == 7);
    /* a broken file (truncated JSON, then a missing file) keeps the keys */
    write_file(path, "{\"keys\":[{\"kty\":\"EC\",");
    assert_int_equal(sc_auth_reload(a, &nk, err, sizeof(err)), SC_EINVAL);
    assert_non_null(strstr(err, "not a JWKS"));
    assert_true(sc_auth_user(a, hb) == 7);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(sc_auth_reload(a, &nk, err, sizeof(err)), SC_EINVAL);
    assert_non_null(strstr(err, "cannot open"));
    assert_true(sc_auth_user(a, hb) == 7);
    assert_true(sc_auth_user(a, ha) == 0);
    sc_auth_free(a);
    /* without a JWKS file there is nothing to reload */
    memset(&o, 0, sizeof(o));
    o.secret = "0123456789abcdef";
    a = sc_auth_create(&o, err, sizeof(err));
    assert_non_null(a);
    assert_int_equal(sc_auth_reload(a, &nk, err, sizeof(err)), SC_ENOTFOUND);
    sc_auth_free(a);
    o.jwks_file = path; /* missing now */
    assert_null(sc_auth_create(&o, err, sizeof(err)));
    free(ha);
    free(hb);
    free(ta);
    free(tb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_algorithm),         cmocka_unit_test(test_algorithm_confusion),
        cmocka_unit_test(test_single_key_without_kid), cmocka_unit_test(test_claims_policy),
        cmocka_unit_test(test_jwks_refusals),          cmocka_unit_test(test_rotation),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
