/* log.c - the sink behind log.h: timestamped single lines on stderr. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

_Atomic int sc_log_level_cur = SC_LOG_INFO;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

sc_status sc_log_parse_level(const char *s, sc_log_level *out)
{
    for (int i = 0; i < 4; i++) {
        if (s != NULL && strcmp(s, level_names[i]) == 0) {
            *out = (sc_log_level)i;
            return SC_OK;
        }
    }
    return SC_EINVAL;
}

void sc_log_set_level(sc_log_level lvl)
{
    atomic_store_explicit(&sc_log_level_cur, (int)lvl, memory_order_relaxed);
}

void sc_log_write(sc_log_level lvl, const char *file, int line, const char *fmt, ...)
{
    char msg[1024];
    char ts[32];
    struct timespec now;
    struct tm tm;
    va_list ap;
    const char *base = strrchr(file, '/');

    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* One fprintf per line so concurrent threads do not interleave. */
    fprintf(stderr, "%s.%03ldZ %-5s %s:%d %s\n", ts, now.tv_nsec / 1000000, level_names[lvl],
            base ? base + 1 : file, line, msg);
}
