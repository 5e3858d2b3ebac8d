/* index_name.c - the index-name rule of index_name.h (one whitelist for
 * config validation and runtime). No state, no I/O. */
#include "index_name.h"

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
