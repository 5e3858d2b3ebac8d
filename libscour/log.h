/*
 * log.h - leveled, one-line-per-event logging to stderr for the programs.
 * The level is checked before any formatting. Library code logs only
 * through these macros and never prints otherwise; programs set the level.
 */
#ifndef SC_LOG_H
#define SC_LOG_H

#include "sc.h"

#include <stdatomic.h>

typedef enum sc_log_level {
    SC_LOG_ERROR = 0,
    SC_LOG_WARN = 1,
    SC_LOG_INFO = 2,
    SC_LOG_DEBUG = 3
} sc_log_level;

/* Current level; default INFO. Atomic because any thread may log while a
 * program (or a test) changes the level: readers use a relaxed load, which is
 * enough for a threshold that need not order other memory. */
extern _Atomic int sc_log_level_cur;

/* Parse "error|warn|info|debug"; SC_EINVAL otherwise. */
sc_status sc_log_parse_level(const char *s, sc_log_level *out) SC_MUST_USE;
/* Set the level seen by every thread from now on. */
void sc_log_set_level(sc_log_level lvl);
void sc_log_write(sc_log_level lvl, const char *file, int line, const char *fmt, ...)
    SC_PRINTF(4, 5);

#define SC_LOG(lvl, ...)                                                                 \
    do {                                                                                 \
        if ((int)(lvl) <= atomic_load_explicit(&sc_log_level_cur, memory_order_relaxed)) \
            sc_log_write((lvl), __FILE__, __LINE__, __VA_ARGS__);                        \
    } while (0)
#define log_error(...) SC_LOG(SC_LOG_ERROR, __VA_ARGS__)
#define log_warn(...) SC_LOG(SC_LOG_WARN, __VA_ARGS__)
#define log_info(...) SC_LOG(SC_LOG_INFO, __VA_ARGS__)
#define log_debug(...) SC_LOG(SC_LOG_DEBUG, __VA_ARGS__)

#endif
