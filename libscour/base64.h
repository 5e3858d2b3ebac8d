/*
 * base64.h - RFC 4648 base64 (standard alphabet, '=' padding), as etcd's
 * JSON gateway uses for keys and values. Bounded: every function is told the
 * size of its output and fails rather than overrun it. Decoding is strict:
 * the length must be a multiple of 4, padding only at the end, no whitespace,
 * no characters outside the alphabet and no stray bits in the last group, so
 * one byte string has exactly one accepted encoding.
 *
 * The URL-safe variant (RFC 4648 section 5: '-' and '_' for '+' and '/',
 * no padding), as JWTs use, has an encoder into an sc_buf and a decoder just
 * as strict (no '=', no length of 4k+1, no stray bits).
 *
 * Not here: line wrapping, streaming.
 */
#ifndef SC_BASE64_H
#define SC_BASE64_H

#include "buf.h"
#include "sc.h"

#include <stddef.h>

/* Characters needed to encode n bytes, excluding the NUL (4 * ceil(n / 3)). */
size_t sc_b64_encoded_len(size_t n);

/* Upper bound of the bytes that decoding n characters yields (3 * n / 4). */
size_t sc_b64_decoded_max(size_t n);

/* Encode n bytes of src into dst (dstlen bytes, room for the NUL included).
 * On SC_OK dst holds the NUL-terminated text and *outlen (may be NULL) its
 * length. SC_EINVAL when dst is too small (dst is then an empty string when
 * dstlen > 0) or when src is NULL with n > 0. */
sc_status sc_b64_encode(const void *src, size_t n, char *dst, size_t dstlen,
                        size_t *outlen) SC_MUST_USE;

/* Append the encoding of n bytes of src to b. SC_ENOMEM when b's limit is hit
 * (b keeps what it had), SC_EINVAL when src is NULL with n > 0. */
sc_status sc_b64_encode_buf(sc_buf *b, const void *src, size_t n) SC_MUST_USE;

/* Decode n characters of src into dst (dstlen bytes). On SC_OK *outlen holds
 * the decoded length. dst is NUL-terminated when there is room for it, so
 * dstlen = sc_b64_decoded_max(n) + 1 always gives a C string (binary data may
 * still contain NULs). SC_EINVAL on malformed input or when dst is too small;
 * dst's content is then unspecified. */
sc_status sc_b64_decode(const char *src, size_t n, void *dst, size_t dstlen,
                        size_t *outlen) SC_MUST_USE;

/* Decode into a fresh heap buffer (NUL-terminated; free with free()). On
 * SC_OK *out owns it and *outlen holds the decoded length. SC_EINVAL on
 * malformed input, SC_ENOMEM when allocation fails; *out is NULL then. */
sc_status sc_b64_decode_alloc(const char *src, size_t n, char **out, size_t *outlen) SC_MUST_USE;

/* Append the unpadded base64url encoding of n bytes of src to b (4 chars
 * per 3 bytes, 2 or 3 for a last partial group). SC_ENOMEM when b's limit is
 * hit (b keeps what it had), SC_EINVAL when src is NULL with n > 0. */
sc_status sc_b64url_encode_buf(sc_buf *b, const void *src, size_t n) SC_MUST_USE;

/* Decode n characters of unpadded base64url src into dst (dstlen bytes).
 * On SC_OK *outlen (may be NULL) holds the decoded length (3 * n / 4 at
 * most); dst is NUL-terminated when there is room. SC_EINVAL on '=' or any
 * other character outside the alphabet, n % 4 == 1, non-zero unused bits in
 * the last group, or when dst is too small. */
sc_status sc_b64url_decode(const char *src, size_t n, void *dst, size_t dstlen,
                           size_t *outlen) SC_MUST_USE;

#endif
