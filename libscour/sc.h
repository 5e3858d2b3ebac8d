/*
 * sc.h - project-wide basics for scour: the status type, error-buffer
 * helpers and attribute macros. Every module in libscour includes this.
 * It holds no state and no I/O.
 */
#ifndef SC_H
#define SC_H

#include <stddef.h>
#include <stdint.h>

/* Status returned by every fallible function. Detail lives in the handle
 * (h->errstr) or in a caller-supplied error buffer, never in globals. */
typedef enum sc_status {
    SC_OK = 0,
    SC_ERR = -1,       /* generic failure; see errstr */
    SC_ENOTFOUND = -2, /* key / row / index absent */
    SC_ETIMEOUT = -3,  /* deadline passed */
    SC_ECONN = -4,     /* could not reach the backend */
    SC_EINVAL = -5,    /* bad input from caller or outside */
    SC_ENOMEM = -6,
    SC_ECONFLICT = -7, /* version conflict / lost race */
    SC_EPROTO = -8     /* backend answered something we cannot parse */
} sc_status;

#define SC_MUST_USE __attribute__((warn_unused_result))
#define SC_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define SC_UNUSED(x) ((void)(x))

/* Size of every errstr buffer kept in a handle. */
#define SC_ERRLEN 256

/* Human name of a status ("ok", "timeout", ...). Static storage. */
const char *sc_status_str(sc_status st);

/* Format into a bounded error buffer (always NUL-terminated, truncates). */
void sc_seterr(char *buf, size_t len, const char *fmt, ...) SC_PRINTF(3, 4);

/* Monotonic clock in milliseconds / microseconds. */
int64_t sc_now_ms(void);
int64_t sc_now_us(void);
/* Wall clock in milliseconds since the Unix epoch. */
int64_t sc_wall_ms(void);

/* Parse a decimal uint64 (snowflake ids). Rejects empty, signs, junk and
 * overflow. Returns SC_OK or SC_EINVAL. */
sc_status sc_parse_u64(const char *s, uint64_t *out) SC_MUST_USE;

/* A JSON number (a double) as a count or a signed integer, saturating:
 * NaN and negatives give 0 (u64), values past the type's range give its
 * limit. A plain cast of such a double is undefined behaviour. */
uint64_t sc_u64_from_double(double d);
int64_t sc_i64_from_double(double d);

/* Discord epoch: 2015-01-01T00:00:00Z in Unix ms. */
#define SC_SNOWFLAKE_EPOCH_MS 1420070400000LL

/* Snowflake <-> Unix milliseconds. sc_snowflake_from_ms gives the smallest
 * id at that millisecond (worker/sequence bits zero); times before the epoch
 * give 0. */
int64_t sc_snowflake_to_ms(uint64_t id);
uint64_t sc_snowflake_from_ms(int64_t unix_ms);

/* 1 when s[0..n) is well-formed UTF-8 (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF; NUL bytes count as valid), else 0.
 * s may be NULL only when n is 0. */
int sc_utf8_valid(const char *s, size_t n);

/* Bytes at the start of s[0..n) that a JSON string holds as they are: none
 * is a control character (< 0x20), '"' or '\\'. Eight bytes a step (the
 * indexer scans and escapes every event's text with it). */
size_t sc_json_plain_len(const char *s, size_t n);

#endif
