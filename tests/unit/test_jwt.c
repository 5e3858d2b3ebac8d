/*
 * test_jwt.c - unit tests for jwt.c: HS256 sign/verify, a known vector
 * computed with Python's hmac/hashlib, and the ways a token must be refused
 * (bad signature, alg none / HS512, expiry, nbf, missing sub, malformed).
 * The asymmetric algorithms and the JWKS are in test_jwks.c.
 */
#include "jwt.h"
#include "testlib.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOW 1790000000LL

/* Known vector (python3: hmac.new(b"s3cret-key", signing_input, sha256)). */
static const char *const VECTOR = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
                                  "eyJzdWIiOiIxNzU5Mjg4NDcyOTkxMTcwNjMiLCJleHAiOjE4MDAwMDAwMDB9."
                                  "bzMk_F2Rfny-KvoHPU4ZgDOa5DioVv_oEH3_LAF56co";

static void b64(sc_buf *b, const unsigned char *p, size_t n)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        acc = (acc << 8) | p[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            assert_int_equal(sc_buf_append(b, &t[(acc >> bits) & 63], 1), SC_OK);
        }
    }
    if (bits > 0)
        assert_int_equal(sc_buf_append(b, &t[(acc << (6 - bits)) & 63], 1), SC_OK);
}

/* Build "b64(hdr).b64(payload).b64(HMAC-SHA256)" (or an empty signature). */
static char *make_token(const char *hdr, const char *payload, const char *secret, int sign)
{
    sc_buf b;
    unsigned char md[32];
    unsigned int mdlen = 0;
    sc_buf_init(&b, 0);
    b64(&b, (const unsigned char *)hdr, strlen(hdr));
    assert_int_equal(sc_buf_append(&b, ".", 1), SC_OK);
    b64(&b, (const unsigned char *)payload, strlen(payload));
    assert_non_null(HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)b.data,
                         b.len, md, &mdlen));
    assert_int_equal(sc_buf_append(&b, ".", 1), SC_OK);
    if (sign)
        b64(&b, md, mdlen);
    return sc_buf_steal(&b);
}

static sc_status verify(const char *tok, const char *secret, int64_t now, sc_jwt_claims *c,
                        char *err)
{
    return sc_jwt_verify(tok, secret, now, c, err, SC_ERRLEN);
}

static void test_known_vector(void **state)
{
    sc_jwt_claims c;
    char err[SC_ERRLEN] = "";
    sc_buf b;
    (void)state;
    assert_int_equal(verify(VECTOR, "s3cret-key", NOW, &c, err), SC_OK);
    assert_true(c.user_id == 175928847299117063ULL);
    assert_int_equal(c.exp, 1800000000LL);
    assert_int_equal(c.nbf, 0);
    /* our signer produces byte-identical output */
    sc_buf_init(&b, 0);
    assert_int_equal(sc_jwt_sign_hs256(175928847299117063ULL, "s3cret-key", 1800000000LL, &b),
                     SC_OK);
    assert_string_equal(b.data, VECTOR);
    sc_buf_free(&b);
}

static void test_sign_verify_roundtrip(void **state)
{
    sc_jwt_claims c;
    char err[SC_ERRLEN] = "";
    sc_buf b;
    (void)state;
    sc_buf_init(&b, 0);
    assert_int_equal(sc_jwt_sign_hs256(42, "k", NOW + 60, &b), SC_OK);
    assert_int_equal(verify(b.data, "k", NOW, &c, err), SC_OK);
    assert_true(c.user_id == 42);
    assert_int_equal(c.exp, NOW + 60);
    /* wrong secret */
    assert_int_equal(verify(b.data, "K", NOW, &c, err), SC_EINVAL);
    assert_string_equal(err, "signature mismatch");
    assert_int_equal(sc_jwt_sign_hs256(1, "", NOW, &b), SC_EINVAL);
    sc_buf_free(&b);
}

static void test_bad_signature(void **state)
{
    sc_jwt_claims c = {7, 7, 7, 7};
    char err[SC_ERRLEN] = "";
    char *t = strdup(VECTOR);
    size_t n = strlen(t);
    (void)state;
    /* flip one signature char */
    t[n - 5] = t[n - 5] == 'A' ? 'B' : 'A';
    assert_int_equal(verify(t, "s3cret-key", NOW, &c, err), SC_EINVAL);
    assert_string_equal(err, "signature mismatch");
    assert_true(c.user_id == 7); /* untouched */
    free(t);
    /* tampered payload: sub changed, signature kept */
    t = make_token("{\"alg\":\"HS256\"}", "{\"sub\":\"1\",\"exp\":1800000000}", "s3cret-key", 1);
    {
        char *forged = make_token("{\"alg\":\"HS256\"}", "{\"sub\":\"2\",\"exp\":1800000000}",
                                  "s3cret-key", 1);
        char *sig = strrchr(t, '.'), *fsig = strrchr(forged, '.');
        assert_int_equal(strlen(sig), strlen(fsig));
        memcpy(fsig, sig, strlen(sig));
        assert_int_equal(verify(forged, "s3cret-key", NOW, &c, err), SC_EINVAL);
        assert_string_equal(err, "signature mismatch");
        free(forged);
    }
    assert_int_equal(verify(t, "s3cret-key", NOW, &c, err), SC_OK);
    assert_true(c.user_id == 1);
    free(t);
    /* signature truncated / padded / non-canonical */
    assert_int_equal(verify("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.AAAA", "k", NOW, &c, err),
                     SC_EINVAL);
    assert_string_equal(err, "malformed token: bad signature encoding");
}

static void test_alg_none_and_others(void **state)
{
    sc_jwt_claims c;
    char err[SC_ERRLEN] = "";
    static const char *const hdrs[] = {"{\"alg\":\"none\",\"typ\":\"JWT\"}",
                                       "{\"alg\":\"HS512\"}",
                                       "{\"alg\":\"hs256\"}",
                                       "{\"alg\":\"RS256\"}",
                                       "{\"typ\":\"JWT\"}",
                                       "{\"alg\":256}",
                                       "{\"alg\":\"HS256 \"}"};
    const char *hs512 =
        "eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI0MiIsImV4cCI6MTgwMDAwMDAwMH0."
        "9fLtLRLOL1O2HHs_hlGP_HfFUv4Sm0COvHOKVYRTIlnsMV54dtMl82K6fWoaaLO3NI2hIkzPlS9bcXdqJ2i87A";
    (void)state;
    for (size_t i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
        /* even correctly HMAC-SHA256-signed, a non-HS256 header is refused */
        char *t = make_token(hdrs[i], "{\"sub\":\"42\",\"exp\":1800000000}", "k", 1);
        assert_int_equal(verify(t, "k", NOW, &c, err), SC_EINVAL);
        /* RS256 is a known algorithm, but only for JWKS keys (test_jwks.c) */
        if (strcmp(err, "RS256 tokens are not accepted (no JWKS key)") != 0)
            assert_string_equal(err, "unsupported alg (HS256, RS256, ES256 or EdDSA)");
        free(t);
        t = make_token(hdrs[i], "{\"sub\":\"42\",\"exp\":1800000000}", "k", 0);
        assert_int_equal(verify(t, "k", NOW, &c, err), SC_EINVAL);
        free(t);
    }
    /* a real HS512 token (python) */
    assert_int_equal(verify(hs512, "k", NOW, &c, err), SC_EINVAL);
    assert_string_equal(err, "unsupported alg (HS256, RS256, ES256 or EdDSA)");
    /* alg none with empty signature: "h.p." */
    {
        char *t = make_token("{\"alg\":\"none\"}", "{\"sub\":\"42\",\"exp\":1800000000}", "k", 0);
        assert_int_equal(verify(t, "k", NOW, &c, err), SC_EINVAL);
        free(t);
    }
    /* crit header refused */
    {
        char *t = make_token("{\"alg\":\"HS256\",\"crit\":[\"x\"]}",
                             "{\"sub\":\"42\",\"exp\":1800000000}", "k", 1);
        assert_int_equal(verify(t, "k", NOW, &c, err), SC_EINVAL);
        assert_string_equal(err, "unsupported critical header");
        free(t);
    }
}

static void test_expiry_and_nbf(void **state)
{
    sc_jwt_claims c;
    char err[SC_ERRLEN] = "";
    char *t;
    const char *nbf_vec = "eyJhbGciOiJIUzI1NiJ9."
                          "eyJzdWIiOiI0MiIsImV4cCI6MTgwMDAwMDAwMCwibmJmIjoxNzkwMDAwMDAwLCJpYXQiOjE3"
                          "ODk5OTk5OTl9.Vyd_Qk414XdnESmaiyYlyqKAygBuCcW4xKvNRcxSEsA";
    (void)state;
    t = make_token("{\"alg\":\"HS256\"}", "{\"sub\":\"9\",\"exp\":1790000000}", "k", 1);
    assert_int_equal(verify(t, "k", NOW, &c, err), SC_OK);
    assert_int_equal(verify(t, "k", NOW + 30, &c, err), SC_OK); /* leeway */
    assert_int_equal(verify(t, "k", NOW + 31, &c, err), SC_EINVAL);
    assert_string_equal(err, "token expired");
    free(t);
    /* missing exp */
    t = make_token("{\"alg\":\"HS256\"}", "{\"sub\":\"9\"}", "k", 1);
    assert_int_equal(verify(t, "k", NOW, &c, err), SC_EINVAL);
    assert_string_equal(err, "missing exp");
    free(t);
    t = make_token("{\"alg\":\"HS256\"}", "{\"sub\":\"9\",\"exp\":\"1800000000\"}", "k", 1);
    assert_int_equal(verify(t, "k", NOW, &c, err), SC_EINVAL);
    assert_string_equal(err, "bad exp");
    free(t);
    /* nbf in the future beyond leeway; python vector has nbf = NOW */
    assert_int_equal(verify(nbf_vec, "k", NOW - 30, &c, err), SC_OK);
    assert_int_equal(c.nbf, 1790000000LL);
    assert_int_equal(c.iat, 1789999999LL);
    assert_int_equal(verify(nbf_vec, "k", NOW - 31, &c, err), SC_EINVAL);
    assert_string_equal(err, "token not yet valid (nbf)");
}

static void test_missing_or_bad_sub(void **state)
{
    sc_jwt_claims c;
    char err[SC_ERRLEN] = "";
    static const char *const payloads[] = {
        "{\"exp\":1800000000}",
        "{\"sub\":42,\"exp\":1800000000}",
        "{\"sub\":\"\",\"exp\":1800000000}",
        "{\"sub\":\"-1\",\"exp\":1800000000}",
        "{\"sub\":\"12a\",\"exp\":1800000000}",
        "{\"sub\":\"99999999999999999999999\",\"exp\":1800000000}"};
    (void)state;
    for (size_t i = 0; i < sizeof(payloads) / sizeof(payloads[0]); i++) {
        char *t = make_token("{\"alg\":\"HS256\"}", payloads[i], "k", 1);
        assert_int_equal(verify(t, "k", NOW, &c, err), SC_EINVAL);
        assert_string_equal(err, "missing or bad sub (decimal user id string)");
        free(t);
    }
}

static void test_malformed(void **state)
{
    sc_jwt_claims c;
    char err[SC_ERRLEN] = "";
    char big[SC_JWT_MAX_LEN + 10];
    char *t;
    static const char *const bad[] = {
        "",
        "abc",
        "a.b",
        "a.b.c.d",
        ".eyJzdWIiOiIxIn0.xx",
        "eyJhbGciOiJIUzI1NiJ9..xx",
        "eyJhbGciOiJIUzI1NiJ9=.eyJzdWIiOiIxIn0.xx", /* padding */
        "e$JhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.xx",  /* bad char */
        "eyJhbGciOiJIUzI1NiJ9X.eyJzdWIiOiIxIn0.xx", /* impossible length */
        "WyJIUzI1NiJd.eyJzdWIiOiIxIn0.xx",          /* header is an array */
        "bm90IGpzb24.eyJzdWIiOiIxIn0.xx",           /* header not JSON */
    };
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(verify(bad[i], "k", NOW, &c, err), SC_EINVAL);
        assert_true(strncmp(err, "malformed token", 15) == 0);
    }
    assert_int_equal(verify(NULL, "k", NOW, &c, err), SC_EINVAL);
    assert_int_equal(verify(VECTOR, "", NOW, &c, err), SC_EINVAL);
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(verify(big, "k", NOW, &c, err), SC_EINVAL);
    assert_string_equal(err, "token too long");
    /* correctly signed payload that is not JSON / not an object */
    t = make_token("{\"alg\":\"HS256\"}", "[1,2]", "k", 1);
    assert_int_equal(verify(t, "k", NOW, &c, err), SC_EINVAL);
    assert_string_equal(err, "malformed token: bad payload");
    free(t);
    t = make_token("{\"alg\":\"HS256\"}", "{\"sub\":\"1\",", "k", 1);
    assert_int_equal(verify(t, "k", NOW, &c, err), SC_EINVAL);
    assert_string_equal(err, "malformed token: bad payload");
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_vector),   cmocka_unit_test(test_sign_verify_roundtrip),
        cmocka_unit_test(test_bad_signature),  cmocka_unit_test(test_alg_none_and_others),
        cmocka_unit_test(test_expiry_and_nbf), cmocka_unit_test(test_missing_or_bad_sub),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
