/* jscan.c - see jscan.h. */
#include "jscan.h"

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
        unsigned char c = (unsigned char)*q;
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

int sc_js_skip(sc_jscan *j, int depth)
{
    const char *s;
    size_t n;
    int esc, c = sc_js_peek(j);
    if (c < 0 || depth > SC_JS_MAX_DEPTH)
        return -1;
    switch (c) {
    case '"': return sc_js_string(j, &s, &n, &esc);
    case 't': return sc_js_literal(j, "true", 4) == 0 && sc_js_ended(j) ? 0 : -1;
    case 'f': return sc_js_literal(j, "false", 5) == 0 && sc_js_ended(j) ? 0 : -1;
    case 'n': return sc_js_literal(j, "null", 4) == 0 && sc_js_ended(j) ? 0 : -1;
    case '{':
    case '[': {
        char close = c == '{' ? '}' : ']';
        j->p++;
        if (sc_js_peek(j) == close) {
            j->p++;
            return 0;
        }
        for (;;) {
            if (close == '}' && (sc_js_string(j, &s, &n, &esc) != 0 || sc_js_eat(j, ':') != 0))
                return -1;
            if (sc_js_skip(j, depth + 1) != 0)
                return -1;
            c = sc_js_peek(j);
            if (c == close) {
                j->p++;
                return 0;
            }
            if (c != ',')
                return -1;
            j->p++;
        }
    }
    default: {
        const char *q = j->p;
        if (*q == '-')
            q++;
        while (q < j->end && *q >= '0' && *q <= '9')
            q++;
        if (q == j->p || q[-1] == '-')
            return -1;
        j->p = q;
        return sc_js_ended(j) ? 0 : -1; /* fractions/exponents: give up */
    }
    }
}
