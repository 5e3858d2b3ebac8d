/* buf.c - capped growable buffer; see buf.h. */
#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SC_BUF_DEFAULT_LIMIT ((size_t)64 << 20)

void sc_buf_init(sc_buf *b, size_t limit)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->limit = limit ? limit : SC_BUF_DEFAULT_LIMIT;
}

void sc_buf_free(sc_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void sc_buf_reset(sc_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

static sc_status reserve(sc_buf *b, size_t extra)
{
    size_t need, ncap;
    char *p;
    if (extra > b->limit || b->len > b->limit - extra)
        return SC_ENOMEM;
    need = b->len + extra + 1;
    if (need <= b->cap)
        return SC_OK;
    ncap = b->cap ? b->cap : 256;
    while (ncap < need)
        ncap *= 2;
    p = realloc(b->data, ncap);
    if (p == NULL)
        return SC_ENOMEM;
    b->data = p;
    b->cap = ncap;
    return SC_OK;
}

sc_status sc_buf_append(sc_buf *b, const void *p, size_t n)
{
    if (reserve(b, n) != SC_OK)
        return SC_ENOMEM;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return SC_OK;
}

sc_status sc_buf_puts(sc_buf *b, const char *s) { return sc_buf_append(b, s, strlen(s)); }

sc_status sc_buf_read_file(sc_buf *b, const char *path)
{
    char chunk[16384];
    size_t n;
    sc_status st = SC_OK;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return SC_ENOTFOUND;
    while (st == SC_OK && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        st = sc_buf_append(b, chunk, n);
    if (st == SC_OK && ferror(f))
        st = SC_ENOTFOUND;
    fclose(f);
    return st;
}

sc_status sc_buf_printf(sc_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || reserve(b, (size_t)n) != SC_OK)
        return SC_ENOMEM;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return SC_OK;
}

sc_status sc_buf_json_strn(sc_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t i, run = 0;
    if (sc_buf_append(b, "\"", 1) != SC_OK)
        return SC_ENOMEM;
    for (i = 0; i < n; i++) {
        unsigned char c;
        const char *esc = NULL;
        char u[6];
        i += sc_json_plain_len(s + i, n - i);
        if (i >= n)
            break;
        c = (unsigned char)s[i];
        if (i > run && sc_buf_append(b, s + run, i - run) != SC_OK)
            return SC_ENOMEM;
        run = i + 1;
        switch (c) {
        case '"':
            esc = "\\\"";
            break;
        case '\\':
            esc = "\\\\";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\r':
            esc = "\\r";
            break;
        case '\t':
            esc = "\\t";
            break;
        default:
            u[0] = '\\';
            u[1] = 'u';
            u[2] = '0';
            u[3] = '0';
            u[4] = hex[c >> 4];
            u[5] = hex[c & 15];
            if (sc_buf_append(b, u, 6) != SC_OK)
                return SC_ENOMEM;
            continue;
        }
        if (sc_buf_puts(b, esc) != SC_OK)
            return SC_ENOMEM;
    }
    if (n > run && sc_buf_append(b, s + run, n - run) != SC_OK)
        return SC_ENOMEM;
    return sc_buf_append(b, "\"", 1);
}

sc_status sc_buf_put_u64(sc_buf *b, uint64_t v)
{
    /* two digits a step: every document carries a dozen snowflakes */
    static const char pairs[201] = "00010203040506070809101112131415161718192021222324"
                                   "25262728293031323334353637383940414243444546474849"
                                   "50515253545556575859606162636465666768697071727374"
                                   "75767778798081828384858687888990919293949596979899";
    char d[24];
    size_t i = sizeof(d);
    while (v >= 100) {
        unsigned k = (unsigned)(v % 100) * 2;
        v /= 100;
        d[--i] = pairs[k + 1];
        d[--i] = pairs[k];
    }
    if (v >= 10) {
        d[--i] = pairs[v * 2 + 1];
        d[--i] = pairs[v * 2];
    } else {
        d[--i] = (char)('0' + v);
    }
    return sc_buf_append(b, d + i, sizeof(d) - i);
}

sc_status sc_buf_put_i64(sc_buf *b, int64_t v)
{
    sc_status st;
    if (v >= 0)
        return sc_buf_put_u64(b, (uint64_t)v);
    if ((st = sc_buf_append(b, "-", 1)) != SC_OK)
        return st;
    return sc_buf_put_u64(b, (uint64_t)0 - (uint64_t)v);
}

sc_status sc_buf_json_str(sc_buf *b, const char *s) { return sc_buf_json_strn(b, s, strlen(s)); }

char *sc_buf_steal(sc_buf *b)
{
    char *p = b->data;
    if (p == NULL)
        p = calloc(1, 1);
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}
