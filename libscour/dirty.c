/*
 * dirty.c - key and value format of the dirty marks of refresh on read;
 * see dirty.h.
 */
#include "dirty.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void sc_dirty_key(const char *ns, const char *cluster, const char *index, char *buf, size_t len)
{
    snprintf(buf, len, "%s:dirty:%s:%s", ns, cluster, index);
}

void sc_dirty_value(int64_t wall_ms, uint64_t token, char *buf, size_t len)
{
    snprintf(buf, len, "d%" PRId64 ".%016" PRIx64, wall_ms, token);
}

sc_dirty_state sc_dirty_parse(const char *v, int64_t now_ms, int ttl_s)
{
    int64_t ms = 0;
    const char *p;
    if (v == NULL || v[0] != 'd')
        return SC_DIRTY_CLEAN;
    for (p = v + 1; *p >= '0' && *p <= '9' && p - v < 19; p++) /* <= 18 digits */
        ms = ms * 10 + (*p - '0');
    if (p == v + 1 || *p != '.')
        return SC_DIRTY_CLEAN;
    if (now_ms - ms > (int64_t)ttl_s * 1000)
        return SC_DIRTY_STALE;
    return SC_DIRTY_DIRTY;
}

const char SC_DIRTY_CLEAN_LUA[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then "
    "redis.call('SET', KEYS[1], 'c' .. string.sub(ARGV[1], 2), 'EX', tonumber(ARGV[2])) "
    "return 1 end return 0";
