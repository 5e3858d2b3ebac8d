/* jscan.c - see jscan.h. */
#include "jscan.h"

#include "sc.h"

#include <stdlib.h>

void sc_js_ws(sc_jscan *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

int sc_js_eat(sc_jscan *j, char c)
{
    sc_js_ws(j);
    if (j->p >= j->end || *j->p != c)
        return -1;
    j->p++;
    return 0;
}

int sc_js_peek(sc_jscan *j)
{
    sc_js_ws(j);
    return j->p < j->end ? (unsigned char)*j->p : -1;
}

int sc_js_string(sc_jscan *j, const char **s, size_t *n, int *esc)
{
    const char *q;
    *esc = 0;
    if (sc_js_eat(j, '"') != 0)
        return -1;
    for (q = j->p; q < j->end; q++) {
        unsigned char c;
        q += sc_json_plain_len(q, (size_t)(j->end - q));
        if (q >= j->end)
            break;
        c = (unsigned char)*q;
        if (c == '"') {
            *s = j->p;
            *n = (size_t)(q - j->p);
            j->p = q + 1;
            return 0;
        }
        if (c < 0x20)
            return -1;
        if (c == '\\') {
            /* simple escapes only: \u (and its surrogate rules) is left
             * to cJSON, as is any invalid escape */
            *esc = 1;
            if (++q >= j->end || strchr("\"\\/bfnrt", *q) == NULL || *q == '\0')
                return -1;
        }
    }
    return -1;
}

int sc_js_open(sc_jscan *j, char open)
{
    if (sc_js_eat(j, open) != 0)
        return -1;
    if (sc_js_peek(j) != (open == '{' ? '}' : ']'))
        return 0;
    j->p++;
    return 1;
}

int sc_js_more(sc_jscan *j, char close)
{
    int c = sc_js_peek(j);
    if (c != close && c != ',')
        return -1;
    j->p++;
    return c == close;
}

int sc_js_literal(sc_jscan *j, const char *lit, size_t n)
{
    sc_js_ws(j);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n) != 0)
        return -1;
    j->p += n;
    return 0;
}

int sc_js_ended(const sc_jscan *j)
{
    char c;
    if (j->p >= j->end)
        return 1;
    c = *j->p;
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',' || c == '}' || c == ']';
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* Past the run of digits starting at q (at most end). */
static const char *digits(const char *q, const char *end)
{
    while (q < end && is_digit(*q))
        q++;
    return q;
}

int sc_js_number(sc_jscan *j, double *out)
{
    char tmp[64];
    const char *q, *end = j->end;
    size_t n;
    sc_js_ws(j);
    q = j->p;
    if (q < end && *q == '-')
        q++;
    if (q >= end || !is_digit(*q))
        return -1;
    q = *q == '0' ? q + 1 : digits(q, end); /* no leading zeros */
    if (q < end && *q == '.') {
        if (++q >= end || !is_digit(*q))
            return -1;
        q = digits(q, end);
    }
    if (q < end && (*q == 'e' || *q == 'E')) {
        if (++q < end && (*q == '+' || *q == '-'))
            q++;
        if (q >= end || !is_digit(*q))
            return -1;
        q = digits(q, end);
    }
    n = (size_t)(q - j->p);
    {
        sc_jscan after = {q, j->end};
        if (n >= sizeof(tmp) || !sc_js_ended(&after))
            return -1;
    }
    {
        /* a plain integer of at most 15 digits is exact in a double: no
         * strtod (the bulk responses the indexer reads are full of them) */
        const char *d = j->p + (*j->p == '-');
        size_t nd = (size_t)(q - d), i;
        if (nd <= 15 && memchr(d, '.', nd) == NULL && memchr(d, 'e', nd) == NULL &&
            memchr(d, 'E', nd) == NULL) {
            uint64_t v = 0;
            for (i = 0; i < nd; i++)
                v = v * 10 + (uint64_t)(d[i] - '0');
            *out = *j->p == '-' ? -(double)v : (double)v;
            j->p = q;
            return 0;
        }
    }
    memcpy(tmp, j->p, n);
    tmp[n] = '\0';
    j->p = q;
    *out = strtod(tmp, NULL);
    return 0;
}

int sc_js_skip(sc_jscan *j, int depth)
{
    const char *s;
    size_t n;
    int esc, c = sc_js_peek(j);
    if (c < 0 || depth > SC_JS_MAX_DEPTH)
        return -1;
    switch (c) {
    case '"':
        return sc_js_string(j, &s, &n, &esc);
    case 't':
        return sc_js_literal(j, "true", 4) == 0 && sc_js_ended(j) ? 0 : -1;
    case 'f':
        return sc_js_literal(j, "false", 5) == 0 && sc_js_ended(j) ? 0 : -1;
    case 'n':
        return sc_js_literal(j, "null", 4) == 0 && sc_js_ended(j) ? 0 : -1;
    case '{':
    case '[': {
        char close = c == '{' ? '}' : ']';
        if (sc_js_open(j, (char)c) != 0)
            return 0; /* empty */
        for (;;) {
            if (close == '}' && (sc_js_string(j, &s, &n, &esc) != 0 || sc_js_eat(j, ':') != 0))
                return -1;
            if (sc_js_skip(j, depth + 1) != 0)
                return -1;
            if ((c = sc_js_more(j, close)) != 0)
                return c > 0 ? 0 : -1;
        }
    }
    default: {
        double d;
        return sc_js_number(j, &d);
    }
    }
}
