/*
 * buf.h - a growable byte buffer with a hard cap, used for NDJSON bodies,
 * HTTP responses and JSON output. Appends fail (SC_ENOMEM) rather than grow
 * past the cap, so a hostile or runaway peer cannot exhaust memory.
 */
#ifndef SC_BUF_H
#define SC_BUF_H

#include "sc.h"

#include <stdarg.h>

typedef struct sc_buf {
    char *data;   /* owned; always NUL-terminated when len > 0 */
    size_t len;   /* bytes used, excluding the NUL */
    size_t cap;   /* bytes allocated */
    size_t limit; /* hard maximum for len; 0 means 64 MiB */
} sc_buf;

/* Initialise an empty buffer (no allocation). */
void sc_buf_init(sc_buf *b, size_t limit);
/* Release storage; the buffer may be reused after sc_buf_init. */
void sc_buf_free(sc_buf *b);
/* Set len to 0, keep the storage. */
void sc_buf_reset(sc_buf *b);
sc_status sc_buf_append(sc_buf *b, const void *p, size_t n) SC_MUST_USE;
sc_status sc_buf_puts(sc_buf *b, const char *s) SC_MUST_USE;
sc_status sc_buf_printf(sc_buf *b, const char *fmt, ...) SC_PRINTF(2, 3) SC_MUST_USE;
/* Append v in decimal (no printf: the indexer writes several per event). */
sc_status sc_buf_put_u64(sc_buf *b, uint64_t v) SC_MUST_USE;
sc_status sc_buf_put_i64(sc_buf *b, int64_t v) SC_MUST_USE;

/* Append s as a JSON string literal, quotes included, escaping control
 * characters, quote and backslash. Invalid UTF-8 is passed through. */
sc_status sc_buf_json_str(sc_buf *b, const char *s) SC_MUST_USE;
sc_status sc_buf_json_strn(sc_buf *b, const char *s, size_t n) SC_MUST_USE;
/* Append the whole file at path. SC_OK; SC_ENOTFOUND when it cannot be
 * opened or read (errno says why); SC_ENOMEM past the buffer's limit. The
 * buffer keeps what was read before a failure; the caller frees it. */
sc_status sc_buf_read_file(sc_buf *b, const char *path) SC_MUST_USE;
/* Take ownership of the data (caller frees with free()); buffer becomes empty. */
char *sc_buf_steal(sc_buf *b);

#endif
