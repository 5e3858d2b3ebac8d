/* sc.c - status names, error buffers, clocks, number parsing. */
#include "sc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *sc_status_str(sc_status st)
{
    switch (st) {
    case SC_OK:
        return "ok";
    case SC_ERR:
        return "error";
    case SC_ENOTFOUND:
        return "not found";
    case SC_ETIMEOUT:
        return "timeout";
    case SC_ECONN:
        return "connection failed";
    case SC_EINVAL:
        return "invalid input";
    case SC_ENOMEM:
        return "out of memory";
    case SC_ECONFLICT:
        return "conflict";
    case SC_EPROTO:
        return "protocol error";
    }
    return "unknown";
}

void sc_seterr(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    if (buf == NULL || len == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
}

int64_t sc_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t sc_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t sc_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* By hand rather than strtoull: the router parses some 90 ids per search
 * (PostgreSQL columns, engine hits), and strtoull's locale-aware loop was 7%
 * of its instructions. Same contract: digits only, the whole string,
 * leading zeros allowed, no overflow. */
sc_status sc_parse_u64(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    size_t n = 0, k;
    if (s == NULL || *s < '0' || *s > '9')
        return SC_EINVAL;
    while (s[0] == '0' && s[1] >= '0' && s[1] <= '9')
        s++; /* leading zeros */
    while (s[n] >= '0' && s[n] <= '9')
        n++;
    if (s[n] != '\0' || n > 20)
        return SC_EINVAL;
    /* 19 digits always fit in 64 bits; only a 20th can overflow */
    k = n < 20 ? n : 19;
    for (size_t i = 0; i < k; i++)
        v = v * 10 + (unsigned)(s[i] - '0');
    if (n == 20) {
        unsigned d = (unsigned)(s[19] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return SC_EINVAL;
        v = v * 10 + d;
    }
    *out = v;
    return SC_OK;
}

int64_t sc_snowflake_to_ms(uint64_t id) { return (int64_t)(id >> 22) + SC_SNOWFLAKE_EPOCH_MS; }

uint64_t sc_snowflake_from_ms(int64_t unix_ms)
{
    if (unix_ms <= SC_SNOWFLAKE_EPOCH_MS)
        return 0;
    return (uint64_t)(unix_ms - SC_SNOWFLAKE_EPOCH_MS) << 22;
}

/* SWAR (eight bytes in a uint64_t): a byte of x is below k (k <= 0x80) /
 * equal to k; "any byte" tests, exact. */
#define SWAR_ONES 0x0101010101010101ull
#define SWAR_HIGH 0x8080808080808080ull
#define SWAR_LESS(x, k) (((x)-SWAR_ONES * (k)) & ~(x)&SWAR_HIGH)
#define SWAR_HAS(x, k) SWAR_LESS((x) ^ (SWAR_ONES * (k)), 1)

static uint64_t load8(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

size_t sc_json_plain_len(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t v = load8(s + i);
        if (SWAR_LESS(v, 0x20) | SWAR_HAS(v, '"') | SWAR_HAS(v, '\\'))
            break;
    }
    while (i < n && s[i] >= 0x20 && s[i] != '"' && s[i] != '\\')
        i++;
    return i;
}

int sc_utf8_valid(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        size_t need;
        uint32_t cp;
        if (c < 0x80) {
            /* ASCII: skip it eight bytes a step */
            i++;
            while (i + 8 <= n && (load8(s + i) & SWAR_HIGH) == 0)
                i += 8;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            cp = c & 0x07;
        } else {
            return 0; /* continuation byte, C0/C1 overlong lead, or > U+13FFFF */
        }
        if (n - i - 1 < need)
            return 0;
        for (size_t k = 1; k <= need; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += need + 1;
    }
    return 1;
}

uint64_t sc_u64_from_double(double d)
{
    if (!(d > 0))
        return 0;
    if (d >= 18446744073709551616.0)
        return UINT64_MAX;
    return (uint64_t)d;
}

int64_t sc_i64_from_double(double d)
{
    if (d != d)
        return 0;
    if (d >= 9223372036854775808.0)
        return INT64_MAX;
    if (d <= -9223372036854775808.0)
        return INT64_MIN;
    return (int64_t)d;
}
