/* index_name.c - the index-name rule of index_name.h (one whitelist for
 * config validation and runtime). No state, no I/O. */
#include "index_name.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define SHOW 64 /* bytes of a bad name quoted in errors */

static int name_char(char c, int pattern)
{
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' ||
        c == '+')
        return 1;
    return pattern && (c == '*' || c == ',');
}

sc_status sc_index_name_check(const char *name, int pattern, char *err, size_t errlen)
{
    size_t n;
    char tmp[1];
    if (err == NULL) {
        err = tmp;
        errlen = sizeof tmp;
    }
    if (name == NULL || name[0] == '\0') {
        sc_seterr(err, errlen, "an index name cannot be empty");
        return SC_EINVAL;
    }
    n = strlen(name);
    if (n > SC_INDEX_NAME_MAX) {
        sc_seterr(err, errlen, "'%.*s...' is not a valid index name: longer than %d bytes", SHOW,
                  name, SC_INDEX_NAME_MAX);
        return SC_EINVAL;
    }
    if (name[0] == '_' || name[0] == '-' || name[0] == '+') {
        sc_seterr(err, errlen, "'%.*s' is not a valid index name: it starts with '%c'", SHOW, name,
                  name[0]);
        return SC_EINVAL;
    }
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
        sc_seterr(err, errlen, "'%s' is not a valid index name", name);
        return SC_EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (name_char((char)c, pattern))
            continue;
        if (c > 0x20 && c < 0x7f)
            sc_seterr(err, errlen,
                      "'%.*s' is not a valid index name: '%c' not allowed (only a-z 0-9 . _ - +)",
                      SHOW, name, c);
        else
            sc_seterr(
                err, errlen,
                "'%.*s' is not a valid index name: byte 0x%02x not allowed (only a-z 0-9 . _ - +)",
                SHOW, name, c);
        return SC_EINVAL;
    }
    return SC_OK;
}

#define CH_INFIX "-ch-" /* between the base name and a channel id */

sc_status sc_index_name_channel(const char *base, uint64_t channel_id, char *out, size_t outlen,
                                char *err, size_t errlen)
{
    char name[SC_INDEX_NAME_MAX + 2];
    int w;
    if (channel_id == 0) {
        sc_seterr(err, errlen, "channel id 0 has no index of its own");
        return SC_EINVAL;
    }
    if (sc_index_name_check(base, 0, err, errlen) != SC_OK)
        return SC_EINVAL;
    w = snprintf(name, sizeof name, "%s" CH_INFIX "%" PRIu64, base, channel_id);
    if (w < 0 || (size_t)w >= sizeof name || (size_t)w > SC_INDEX_NAME_MAX) {
        sc_seterr(err, errlen, "index name '%.*s...' of channel %" PRIu64 " is too long", SHOW,
                  base, channel_id);
        return SC_EINVAL;
    }
    if (sc_index_name_check(name, 0, err, errlen) != SC_OK)
        return SC_EINVAL;
    if (out == NULL || (size_t)w >= outlen) {
        sc_seterr(err, errlen, "index name of channel %" PRIu64 " does not fit in %zu bytes",
                  channel_id, outlen);
        return SC_EINVAL;
    }
    memcpy(out, name, (size_t)w + 1);
    return SC_OK;
}

int sc_index_name_is_channel(const char *name, const char *base, uint64_t *channel_id)
{
    size_t bl;
    const char *p;
    uint64_t v = 0;
    if (name == NULL || base == NULL)
        return 0;
    bl = strlen(base);
    if (strncmp(name, base, bl) != 0 || strncmp(name + bl, CH_INFIX, strlen(CH_INFIX)) != 0)
        return 0;
    p = name + bl + strlen(CH_INFIX);
    if (*p < '1' || *p > '9')
        return 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9' || v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
            return 0;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (channel_id != NULL)
        *channel_id = v;
    return 1;
}
