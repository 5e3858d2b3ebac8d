/*
 * config_value.c - one option's value (see config.h): parsing text of each
 * type (integer, byte size, boolean, choice, string), the row's bounds and
 * check, storing it in the struct, and reading a stored value back. It knows
 * a row, not the table (config.c) nor where the text came from
 * (config_load.c).
 */
#include "config_int.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int parse_int(const char *t, int64_t *out)
{
    char *end;
    long long v;
    if (!(isdigit((unsigned char)t[0]) ||
          ((t[0] == '-' || t[0] == '+') && isdigit((unsigned char)t[1]))))
        return 0;
    errno = 0;
    v = strtoll(t, &end, 10);
    if (errno != 0 || *end != '\0')
        return 0;
    *out = v;
    return 1;
}

/* Digits with an optional k/m/g/t suffix (x1024 each), optionally followed
 * by 'b'; case-insensitive. */
static int parse_bytes(const char *t, uint64_t *out)
{
    uint64_t v = 0, mul = 1;
    const char *p = t;
    if (!isdigit((unsigned char)*p))
        return 0;
    for (; isdigit((unsigned char)*p); p++) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return 0;
        v = v * 10 + d;
    }
    switch (tolower((unsigned char)*p)) {
    case 'k':
        mul = 1ULL << 10;
        p++;
        break;
    case 'm':
        mul = 1ULL << 20;
        p++;
        break;
    case 'g':
        mul = 1ULL << 30;
        p++;
        break;
    case 't':
        mul = 1ULL << 40;
        p++;
        break;
    default:
        break;
    }
    if (tolower((unsigned char)*p) == 'b')
        p++;
    if (*p != '\0')
        return 0;
    if (v > UINT64_MAX / mul)
        return 0;
    *out = v * mul;
    return 1;
}

static int parse_bool(const char *t, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1", NULL};
    static const char *const no[] = {"false", "no", "off", "0", NULL};
    int i;
    for (i = 0; yes[i]; i++)
        if (strcasecmp(t, yes[i]) == 0) {
            *out = true;
            return 1;
        }
    for (i = 0; no[i]; i++)
        if (strcasecmp(t, no[i]) == 0) {
            *out = false;
            return 1;
        }
    return 0;
}

/* Shortest exact form of a byte count: "64m", "1k", "1000". */
const char *cfg_fmt_bytes(uint64_t v, char *buf, size_t len)
{
    if (v != 0 && v % (1ULL << 30) == 0)
        snprintf(buf, len, "%" PRIu64 "g", v >> 30);
    else if (v != 0 && v % (1ULL << 20) == 0)
        snprintf(buf, len, "%" PRIu64 "m", v >> 20);
    else if (v != 0 && v % (1ULL << 10) == 0)
        snprintf(buf, len, "%" PRIu64 "k", v >> 10);
    else
        snprintf(buf, len, "%" PRIu64, v);
    return buf;
}

void cfg_enum_list(const sc_config_row *r, const char *sep, char *buf, size_t len)
{
    size_t used = 0;
    int i;
    buf[0] = '\0';
    for (i = 0; r->enum_vals[i] && used < len; i++) {
        int n = snprintf(buf + used, len - used, "%s%s", i ? sep : "", r->enum_vals[i]);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

/* Check a bound; writes "<shown> is below the minimum X" style messages. */
sc_status cfg_check_range(const sc_config_row *r, int64_t v, const char *shown, char *msg,
                          size_t msglen)
{
    char lo[32], hi[32];
    if (v >= r->min && v <= r->max)
        return SC_OK;
    if (r->type == SC_CFG_BYTES) {
        cfg_fmt_bytes((uint64_t)r->min, lo, sizeof(lo));
        cfg_fmt_bytes((uint64_t)r->max, hi, sizeof(hi));
    } else {
        snprintf(lo, sizeof(lo), "%" PRId64, r->min);
        snprintf(hi, sizeof(hi), "%" PRId64, r->max);
    }
    if (v < r->min)
        sc_seterr(msg, msglen, "%.*s is below the minimum %s", CFG_SHOW, shown, lo);
    else
        sc_seterr(msg, msglen, "%.*s is above the maximum %s", CFG_SHOW, shown, hi);
    return SC_EINVAL;
}

sc_status cfg_check_string(const sc_config_row *r, const char *t, char *msg, size_t msglen)
{
    size_t n = strlen(t), i;
    if ((int64_t)n > r->max) {
        sc_seterr(msg, msglen, "value is %zu bytes, longer than the maximum %" PRId64, n, r->max);
        return SC_EINVAL;
    }
    for (i = 0; i < n; i++) {
        if ((unsigned char)t[i] < 0x20 || t[i] == 0x7f) {
            sc_seterr(msg, msglen, "value contains a control character");
            return SC_EINVAL;
        }
    }
    return SC_OK;
}

/* Parse text for row r and store it in c. On error c is unchanged and msg
 * holds the reason without the key. */
sc_status cfg_set_value(sc_config *c, const sc_config_row *r, const char *t, char *msg,
                        size_t msglen)
{
    char *field = (char *)c + r->offset;
    int64_t iv = 0;
    uint64_t bv = 0;
    bool b = false;
    int ev = 0;
    char list[128];

    switch (r->type) {
    case SC_CFG_INT:
        if (!parse_int(t, &iv)) {
            sc_seterr(msg, msglen, "'%.*s' is not an integer", CFG_SHOW, t);
            return SC_EINVAL;
        }
        if (cfg_check_range(r, iv, t, msg, msglen) != SC_OK)
            return SC_EINVAL;
        break;
    case SC_CFG_BYTES:
        if (!parse_bytes(t, &bv)) {
            sc_seterr(msg, msglen,
                      "'%.*s' is not a size (a number with an optional k, m or g suffix)", CFG_SHOW,
                      t);
            return SC_EINVAL;
        }
        if (bv > (uint64_t)INT64_MAX) {
            sc_seterr(msg, msglen, "%.*s is above the maximum", CFG_SHOW, t);
            return SC_EINVAL;
        }
        if (cfg_check_range(r, (int64_t)bv, t, msg, msglen) != SC_OK)
            return SC_EINVAL;
        break;
    case SC_CFG_BOOL:
        if (!parse_bool(t, &b)) {
            sc_seterr(msg, msglen, "'%.*s' is not a boolean (true/false, yes/no, on/off, 1/0)",
                      CFG_SHOW, t);
            return SC_EINVAL;
        }
        break;
    case SC_CFG_ENUM:
        for (ev = 0; r->enum_vals[ev]; ev++)
            if (strcasecmp(t, r->enum_vals[ev]) == 0)
                break;
        if (r->enum_vals[ev] == NULL) {
            cfg_enum_list(r, ", ", list, sizeof(list));
            sc_seterr(msg, msglen, "'%.*s' is not one of %s", CFG_SHOW, t, list);
            return SC_EINVAL;
        }
        break;
    case SC_CFG_STRING:
        if (cfg_check_string(r, t, msg, msglen) != SC_OK)
            return SC_EINVAL;
        break;
    default:
        sc_seterr(msg, msglen, "bad option type");
        return SC_EINVAL;
    }
    if (r->check && r->check(t, msg, msglen) != SC_OK)
        return SC_EINVAL;

    switch (r->type) {
    case SC_CFG_INT:
        if (r->size == sizeof(int64_t)) {
            int64_t v64 = iv;
            memcpy(field, &v64, sizeof(v64));
        } else {
            int v32 = (int)iv;
            memcpy(field, &v32, sizeof(v32));
        }
        break;
    case SC_CFG_BYTES:
        memcpy(field, &bv, sizeof(bv));
        break;
    case SC_CFG_BOOL:
        memcpy(field, &b, sizeof(b));
        break;
    case SC_CFG_ENUM:
        memcpy(field, &ev, sizeof(ev));
        break;
    case SC_CFG_STRING: {
        char *dup = strdup(t), *old;
        if (dup == NULL) {
            sc_seterr(msg, msglen, "out of memory");
            return SC_ENOMEM;
        }
        memcpy(&old, field, sizeof(old));
        free(old);
        memcpy(field, &dup, sizeof(dup));
        break;
    }
    }
    return SC_OK;
}

int64_t cfg_get_int(const sc_config *c, const sc_config_row *r)
{
    const char *field = (const char *)c + r->offset;
    if (r->type == SC_CFG_BYTES) {
        uint64_t v;
        memcpy(&v, field, sizeof(v));
        return v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v;
    }
    if (r->type == SC_CFG_BOOL) {
        bool b;
        memcpy(&b, field, sizeof(b));
        return b;
    }
    if (r->size == sizeof(int64_t)) {
        int64_t v;
        memcpy(&v, field, sizeof(v));
        return v;
    } else {
        int v;
        memcpy(&v, field, sizeof(v));
        return v;
    }
}

const char *cfg_get_str(const sc_config *c, const sc_config_row *r)
{
    const char *p;
    memcpy(&p, (const char *)c + r->offset, sizeof(p));
    return p;
}
