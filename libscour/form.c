/*
 * form.c - %XX decoding and query-string splitting (see form.h). Kept free
 * of any HTTP library so the router's request-target handling is fuzzed on
 * its own.
 */
#include "form.h"

#include <stdio.h>
#include <string.h>

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

size_t sc_form_decode(char *s, size_t n, int plus_is_space, int *ctl)
{
    size_t r = 0, w = 0;
    while (r < n) {
        unsigned char c = (unsigned char)s[r];
        if (c == '+' && plus_is_space) {
            c = ' ';
            r++;
        } else if (c == '%' && r + 2 < n && hexval(s[r + 1]) >= 0 && hexval(s[r + 2]) >= 0) {
            c = (unsigned char)(hexval(s[r + 1]) * 16 + hexval(s[r + 2]));
            r += 3;
        } else {
            r++;
        }
        if (c < 0x20 || c == 0x7f)
            *ctl = 1;
        s[w++] = (char)c;
    }
    s[w] = '\0';
    return w;
}

sc_status sc_form_split(char *qs, sc_query_param *out, size_t cap, size_t *n, char *bad_key,
                        size_t keylen)
{
    char *p = qs;
    *n = 0;
    if (keylen > 0)
        bad_key[0] = '\0';
    while (*p != '\0') {
        char *amp = strchr(p, '&'), *eq, *end;
        int kctl = 0, vctl = 0;
        size_t klen;
        end = amp != NULL ? amp : p + strlen(p);
        if (end == p) { /* empty piece: "a=1&&b=2" */
            p = end + 1;
            continue;
        }
        if (*n == cap)
            return SC_ERR;
        *end = '\0';
        eq = memchr(p, '=', (size_t)(end - p));
        if (eq != NULL) {
            *eq = '\0';
            klen = sc_form_decode(p, (size_t)(eq - p), 1, &kctl);
            sc_form_decode(eq + 1, (size_t)(end - eq - 1), 1, &vctl);
            out[*n].value = eq + 1;
        } else {
            klen = sc_form_decode(p, (size_t)(end - p), 1, &kctl);
            out[*n].value = "";
        }
        out[*n].key = p;
        if (kctl || vctl) {
            if (keylen > 0) {
                /* the key's text up to its first control byte */
                size_t k = 0;
                while (k < klen && k + 1 < keylen && (unsigned char)p[k] >= 0x20 && p[k] != 0x7f)
                    k++;
                memcpy(bad_key, p, k);
                bad_key[k] = '\0';
            }
            return SC_EINVAL;
        }
        (*n)++;
        if (amp == NULL)
            break;
        p = amp + 1;
    }
    return SC_OK;
}
