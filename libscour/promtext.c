/*
 * promtext.c - see promtext.h. A line is
 *   name [ "{" label="value" ("," label="value")* [","] "}" ] value [timestamp]
 * with \\, \" and \n escapes in label values.
 */
#include "promtext.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int name_char(char c, int first)
{
    return isalpha((unsigned char)c) || c == '_' || c == ':' ||
           (!first && isdigit((unsigned char)c));
}

/* Parse one line [p, e) into s; 1 on success. */
static int parse_line(const char *p, const char *e, sc_prom_sample *s)
{
    size_t k = 0;
    char num[64];
    char *end;
    memset(s, 0, sizeof(*s));
    if (p >= e || !name_char(*p, 1))
        return 0;
    while (p < e && name_char(*p, 0)) {
        if (k + 1 >= sizeof(s->name))
            return 0;
        s->name[k++] = *p++;
    }
    if (p < e && *p == '{') {
        p++;
        for (;;) {
            size_t ln = 0, vn = 0;
            char lname[32], lval[64];
            while (p < e && *p == ' ')
                p++;
            if (p < e && *p == '}') {
                p++;
                break;
            }
            if (p >= e || !name_char(*p, 1))
                return 0;
            while (p < e && name_char(*p, 0)) {
                if (ln + 1 >= sizeof(lname))
                    return 0;
                lname[ln++] = *p++;
            }
            lname[ln] = '\0';
            if (p + 1 >= e || p[0] != '=' || p[1] != '"')
                return 0;
            p += 2;
            while (p < e && *p != '"') {
                char c = *p++;
                if (c == '\\') {
                    if (p >= e)
                        return 0;
                    c = *p++;
                    if (c == 'n')
                        c = '\n';
                }
                if (vn + 1 < sizeof(lval))
                    lval[vn++] = c;
            }
            if (p >= e)
                return 0;
            p++; /* closing quote */
            lval[vn] = '\0';
            if (s->nlabels < SC_PROM_MAX_LABELS) {
                memcpy(s->label[s->nlabels], lname, ln + 1);
                memcpy(s->value_of[s->nlabels], lval, vn + 1);
                s->nlabels++;
            }
            if (p < e && *p == ',')
                p++;
            else if (p < e && *p == '}') {
                p++;
                break;
            } else
                return 0;
        }
    }
    if (p >= e || (*p != ' ' && *p != '\t'))
        return 0;
    while (p < e && (*p == ' ' || *p == '\t'))
        p++;
    k = 0;
    while (p < e && *p != ' ' && *p != '\t') {
        if (k + 1 >= sizeof(num))
            return 0;
        num[k++] = *p++;
    }
    num[k] = '\0';
    if (k == 0)
        return 0;
    if (strcasecmp(num, "+Inf") == 0 || strcasecmp(num, "Inf") == 0)
        s->value = INFINITY;
    else if (strcasecmp(num, "-Inf") == 0)
        s->value = -INFINITY;
    else if (strcasecmp(num, "NaN") == 0)
        s->value = NAN;
    else {
        s->value = strtod(num, &end);
        if (*end != '\0')
            return 0;
    }
    return 1;
}

sc_status sc_prom_parse(const char *text, size_t len, sc_prom_sample **out, size_t *n, size_t *bad)
{
    const char *p = text, *e = text + len;
    size_t cap = 0, cnt = 0, nbad = 0;
    sc_prom_sample *arr = NULL;
    *out = NULL;
    *n = 0;
    while (p < e) {
        const char *nl = memchr(p, '\n', (size_t)(e - p));
        const char *le = nl != NULL ? nl : e;
        const char *q = p;
        while (q < le && (*q == ' ' || *q == '\t'))
            q++;
        if (q < le && *q != '#') {
            const char *t = le;
            if (t > q && t[-1] == '\r')
                t--;
            if (cnt == cap) {
                size_t nc = cap ? cap * 2 : 64;
                sc_prom_sample *na = realloc(arr, nc * sizeof(*na));
                if (na == NULL) {
                    free(arr);
                    return SC_ENOMEM;
                }
                arr = na;
                cap = nc;
            }
            if (parse_line(q, t, &arr[cnt]))
                cnt++;
            else
                nbad++;
        }
        p = nl != NULL ? nl + 1 : e;
    }
    if (cnt == 0) {
        free(arr);
        arr = NULL;
    }
    *out = arr;
    *n = cnt;
    if (bad != NULL)
        *bad = nbad;
    return SC_OK;
}

const char *sc_prom_label(const sc_prom_sample *s, const char *name)
{
    for (int i = 0; i < s->nlabels; i++)
        if (strcmp(s->label[i], name) == 0)
            return s->value_of[i];
    return NULL;
}

double sc_prom_sum(const sc_prom_sample *s, size_t n, const char *name, const char *lname,
                   const char *lvalue)
{
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        const char *v;
        if (strcmp(s[i].name, name) != 0)
            continue;
        if (lname != NULL && ((v = sc_prom_label(&s[i], lname)) == NULL || strcmp(v, lvalue) != 0))
            continue;
        sum += s[i].value;
    }
    return sum;
}
