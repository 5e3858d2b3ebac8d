/* sc.c - status names, error buffers, clocks, number parsing. */
#include "sc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

const char *sc_status_str(sc_status st)
{
    switch (st) {
    case SC_OK: return "ok";
    case SC_ERR: return "error";
    case SC_ENOTFOUND: return "not found";
    case SC_ETIMEOUT: return "timeout";
    case SC_ECONN: return "connection failed";
    case SC_EINVAL: return "invalid input";
    case SC_ENOMEM: return "out of memory";
    case SC_ECONFLICT: return "conflict";
    case SC_EPROTO: return "protocol error";
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

sc_status sc_parse_u64(const char *s, uint64_t *out)
{
    char *end = NULL;
    unsigned long long v;
    if (s == NULL || *s < '0' || *s > '9')
        return SC_EINVAL;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0')
        return SC_EINVAL;
    *out = (uint64_t)v;
    return SC_OK;
}

int64_t sc_snowflake_to_ms(uint64_t id) { return (int64_t)(id >> 22) + SC_SNOWFLAKE_EPOCH_MS; }

uint64_t sc_snowflake_from_ms(int64_t unix_ms)
{
    if (unix_ms <= SC_SNOWFLAKE_EPOCH_MS)
        return 0;
    return (uint64_t)(unix_ms - SC_SNOWFLAKE_EPOCH_MS) << 22;
}
