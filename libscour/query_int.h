/*
 * query_int.h - what query.c (parser), query_build.c (query body) and
 * highlight.c share: the ASCII character classes, so the parser and the
 * highlighter split words alike, and TRY for the JSON writers.
 */
#ifndef SC_QUERY_INT_H
#define SC_QUERY_INT_H

#include "query.h"

/* The values of has: and author_type:, in bit order (query.c). */
extern const char *const sc_query_has_names[SC_HAS_KINDS];
extern const char *const sc_query_author_type_names[3];

static inline int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static inline int is_alnum(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static inline unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

/* Return the status of x unless it is SC_OK. */
#define TRY(x)                   \
    do {                         \
        sc_status try_st_ = (x); \
        if (try_st_ != SC_OK)    \
            return try_st_;      \
    } while (0)

#endif
