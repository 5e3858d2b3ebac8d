/*
 * base64.c - see base64.h. Table driven, no allocation except in
 * sc_b64_decode_alloc. The URL-safe variant shares the encoder (another
 * alphabet, no padding). Not constant-time: nothing here handles secrets.
 */
#include "base64.h"

#include <stdint.h>
#include <stdlib.h>

static const char b64_alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64url_alpha[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Value of a character of alphabet alpha (b64_alpha or b64url_alpha: they
 * differ only in the last two), or -1. */
static int b64_val_in(unsigned char c, const char *alpha)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == (unsigned char)alpha[62])
        return 62;
    if (c == (unsigned char)alpha[63])
        return 63;
    return -1;
}

static int b64_val(unsigned char c) { return b64_val_in(c, b64_alpha); }

size_t sc_b64_encoded_len(size_t n) { return (n / 3 + (n % 3 != 0)) * 4; }

size_t sc_b64_decoded_max(size_t n) { return n / 4 * 3; }

/* Encode into dst with alphabet alpha, which the caller guarantees holds
 * sc_b64_encoded_len(n); pad: fill the last group with '='. Returns the
 * characters written. */
static size_t b64_encode_raw(const unsigned char *s, size_t n, char *dst, const char *alpha,
                             int pad)
{
    size_t i = 0, o = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = ((uint32_t)s[i] << 16) | ((uint32_t)s[i + 1] << 8) | s[i + 2];
        dst[o++] = alpha[(v >> 18) & 63];
        dst[o++] = alpha[(v >> 12) & 63];
        dst[o++] = alpha[(v >> 6) & 63];
        dst[o++] = alpha[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)s[i] << 16;
        dst[o++] = alpha[(v >> 18) & 63];
        dst[o++] = alpha[(v >> 12) & 63];
        if (pad) {
            dst[o++] = '=';
            dst[o++] = '=';
        }
    } else if (n - i == 2) {
        uint32_t v = ((uint32_t)s[i] << 16) | ((uint32_t)s[i + 1] << 8);
        dst[o++] = alpha[(v >> 18) & 63];
        dst[o++] = alpha[(v >> 12) & 63];
        dst[o++] = alpha[(v >> 6) & 63];
        if (pad)
            dst[o++] = '=';
    }
    return o;
}

sc_status sc_b64_encode(const void *src, size_t n, char *dst, size_t dstlen, size_t *outlen)
{
    size_t need;
    if (dst == NULL || dstlen == 0)
        return SC_EINVAL;
    dst[0] = '\0';
    if (src == NULL && n > 0)
        return SC_EINVAL;
    if (n > (SIZE_MAX - 1) / 4 * 3 - 3)
        return SC_EINVAL;
    need = sc_b64_encoded_len(n);
    if (dstlen < need + 1)
        return SC_EINVAL;
    if (n > 0)
        b64_encode_raw(src, n, dst, b64_alpha, 1);
    dst[need] = '\0';
    if (outlen != NULL)
        *outlen = need;
    return SC_OK;
}

/* Append the encoding of src[0..n) in alphabet alpha (padded or not) to b;
 * on failure b keeps what it had. */
static sc_status b64_encode_buf(sc_buf *b, const void *src, size_t n, const char *alpha, int pad)
{
    char chunk[4 * 256];
    const unsigned char *s = src;
    size_t start = b->len;
    if (src == NULL && n > 0)
        return SC_EINVAL;
    /* 768 input bytes -> 1024 characters per chunk; only the last chunk pads */
    while (n > 0) {
        size_t take = n > 768 ? 768 : n;
        size_t len = b64_encode_raw(s, take, chunk, alpha, pad);
        sc_status st = sc_buf_append(b, chunk, len);
        if (st != SC_OK) {
            b->len = start;
            if (b->data != NULL)
                b->data[start] = '\0';
            return st;
        }
        s += take;
        n -= take;
    }
    return SC_OK;
}

sc_status sc_b64_encode_buf(sc_buf *b, const void *src, size_t n)
{
    return b64_encode_buf(b, src, n, b64_alpha, 1);
}

sc_status sc_b64url_encode_buf(sc_buf *b, const void *src, size_t n)
{
    return b64_encode_buf(b, src, n, b64url_alpha, 0);
}

sc_status sc_b64url_decode(const char *src, size_t n, void *dst, size_t dstlen, size_t *outlen)
{
    unsigned char *d = dst;
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    if ((src == NULL && n > 0) || (dst == NULL && dstlen > 0) || n % 4 == 1)
        return SC_EINVAL;
    for (size_t i = 0; i < n; i++) {
        int v = b64_val_in((unsigned char)src[i], b64url_alpha);
        if (v < 0)
            return SC_EINVAL;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= dstlen)
                return SC_EINVAL;
            d[o++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0) /* stray bits in the unused part of the last group */
        return SC_EINVAL;
    if (o < dstlen)
        d[o] = '\0';
    if (outlen != NULL)
        *outlen = o;
    return SC_OK;
}

sc_status sc_b64_decode(const char *src, size_t n, void *dst, size_t dstlen, size_t *outlen)
{
    unsigned char *d = dst;
    size_t o = 0, pad = 0, need;
    if ((src == NULL && n > 0) || (dst == NULL && dstlen > 0) || n % 4 != 0)
        return SC_EINVAL;
    if (n > 0 && src[n - 1] == '=')
        pad = (n > 1 && src[n - 2] == '=') ? 2 : 1;
    need = sc_b64_decoded_max(n) - pad;
    if (dstlen < need)
        return SC_EINVAL;
    for (size_t i = 0; i < n; i += 4) {
        int v[4];
        int last = (i + 4 == n);
        for (int k = 0; k < 4; k++) {
            unsigned char c = (unsigned char)src[i + k];
            if (c == '=' && last && k >= 4 - (int)pad) {
                v[k] = 0;
                continue;
            }
            v[k] = b64_val(c);
            if (v[k] < 0)
                return SC_EINVAL;
        }
        uint32_t w = ((uint32_t)v[0] << 18) | ((uint32_t)v[1] << 12) | ((uint32_t)v[2] << 6) |
                     (uint32_t)v[3];
        if (last && pad == 2) {
            if (w & 0xFFFF) /* stray bits in the unused part of the group */
                return SC_EINVAL;
            d[o++] = (unsigned char)(w >> 16);
        } else if (last && pad == 1) {
            if (w & 0xFF)
                return SC_EINVAL;
            d[o++] = (unsigned char)(w >> 16);
            d[o++] = (unsigned char)(w >> 8);
        } else {
            d[o++] = (unsigned char)(w >> 16);
            d[o++] = (unsigned char)(w >> 8);
            d[o++] = (unsigned char)w;
        }
    }
    if (o < dstlen)
        d[o] = '\0';
    if (outlen != NULL)
        *outlen = o;
    return SC_OK;
}

sc_status sc_b64_decode_alloc(const char *src, size_t n, char **out, size_t *outlen)
{
    size_t cap = sc_b64_decoded_max(n) + 1;
    sc_status st;
    *out = NULL;
    if (src == NULL && n > 0)
        return SC_EINVAL;
    if (n % 4 != 0)
        return SC_EINVAL;
    char *p = malloc(cap);
    if (p == NULL)
        return SC_ENOMEM;
    st = sc_b64_decode(src, n, p, cap, outlen);
    if (st != SC_OK) {
        free(p);
        return st;
    }
    *out = p;
    return SC_OK;
}
