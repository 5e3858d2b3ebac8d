/*
 * config_help.c - the option table as text: --help (sc_config_help) and
 * --check-config's dump of the effective values with secrets masked
 * (sc_config_dump); see config.h.
 */
#include "config_int.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- help and dump ---- */

static sc_status put_dashed(sc_buf *out, const char *name)
{
    const char *p;
    for (p = name; *p; p++)
        if (sc_buf_append(out, *p == '_' ? "-" : p, 1) != SC_OK)
            return SC_ENOMEM;
    return SC_OK;
}

sc_status sc_config_help(sc_buf *out, unsigned mask)
{
    static const char std[] =
        "  --config=PATH                    read options from PATH (key = value lines)\n"
        "  --check-config                   validate the configuration and exit\n"
        "  --help, -h                       print this help and exit\n"
        "  --version, -V                    print the version and exit\n";
    const sc_config_row *rows;
    size_t i, nrows = sc_config_table(&rows);
    if (sc_buf_puts(out, std) != SC_OK)
        return SC_ENOMEM;
    for (i = 0; i < nrows; i++) {
        const sc_config_row *r = &rows[i];
        char type[128], range[80], lo[32], hi[32];
        size_t start;
        if (!(r->programs & mask))
            continue;
        range[0] = '\0';
        switch (r->type) {
        case SC_CFG_INT:
            snprintf(type, sizeof(type), "=INT");
            snprintf(range, sizeof(range), " [%" PRId64 "..%" PRId64 "]", r->min, r->max);
            break;
        case SC_CFG_BYTES:
            snprintf(type, sizeof(type), "=BYTES");
            snprintf(range, sizeof(range), " [%s..%s]",
                     cfg_fmt_bytes((uint64_t)r->min, lo, sizeof(lo)),
                     cfg_fmt_bytes((uint64_t)r->max, hi, sizeof(hi)));
            break;
        case SC_CFG_BOOL:
            snprintf(type, sizeof(type), "[=BOOL]");
            break;
        case SC_CFG_ENUM:
            type[0] = '=';
            cfg_enum_list(r, "|", type + 1, sizeof(type) - 1);
            break;
        default:
            snprintf(type, sizeof(type), "=STRING");
            break;
        }
        start = out->len;
        if (sc_buf_puts(out, "  --") != SC_OK || put_dashed(out, r->name) != SC_OK ||
            sc_buf_puts(out, type) != SC_OK)
            return SC_ENOMEM;
        if (sc_buf_printf(out, "%*s", out->len - start < 34 ? (int)(34 - (out->len - start)) : 1,
                          "") != SC_OK)
            return SC_ENOMEM;
        if (sc_buf_printf(out, "%s%s (default: %s)\n", r->help, range,
                          r->def[0] ? r->def : "\"\"") != SC_OK)
            return SC_ENOMEM;
    }
    return SC_OK;
}

static sc_status put_quoted(sc_buf *out, const char *s)
{
    if (sc_buf_puts(out, "\"") != SC_OK)
        return SC_ENOMEM;
    for (; *s; s++) {
        if ((*s == '"' || *s == '\\') && sc_buf_puts(out, "\\") != SC_OK)
            return SC_ENOMEM;
        if (sc_buf_append(out, s, 1) != SC_OK)
            return SC_ENOMEM;
    }
    return sc_buf_puts(out, "\"");
}

sc_status sc_config_dump(const sc_config *c, sc_buf *out, unsigned mask)
{
    const sc_config_row *rows;
    size_t i, nrows = sc_config_table(&rows);
    for (i = 0; i < nrows; i++) {
        const sc_config_row *r = &rows[i];
        char tmp[32];
        sc_status st = SC_OK;
        if (!(r->programs & mask))
            continue;
        if (sc_buf_printf(out, "%s = ", r->name) != SC_OK)
            return SC_ENOMEM;
        switch (r->type) {
        case SC_CFG_INT:
            st = sc_buf_printf(out, "%" PRId64, cfg_get_int(c, r));
            break;
        case SC_CFG_BYTES:
            st = sc_buf_puts(out, cfg_fmt_bytes((uint64_t)cfg_get_int(c, r), tmp, sizeof(tmp)));
            break;
        case SC_CFG_BOOL:
            st = sc_buf_puts(out, cfg_get_int(c, r) ? "true" : "false");
            break;
        case SC_CFG_ENUM: {
            int64_t v = cfg_get_int(c, r), n = 0;
            while (r->enum_vals[n])
                n++;
            st = sc_buf_puts(out, v >= 0 && v < n ? r->enum_vals[v] : "?");
            break;
        }
        default: {
            const char *s = cfg_get_str(c, r);
            const sc_config_row *twin = (r->flags & SC_CFG_SECRET) ? cfg_file_twin(r) : NULL;
            const char *path = twin != NULL ? cfg_get_str(c, twin) : NULL;
            size_t at, len;
            if (s == NULL)
                s = "";
            if ((r->flags & SC_CFG_SECRET) && s[0] && path != NULL && path[0]) {
                st = sc_buf_printf(out, "\"\" # read from %s", twin->name);
                break;
            }
            if ((r->flags & SC_CFG_SECRET) && s[0])
                s = "<hidden>";
            if (strcmp(r->name, "pg_dsn") == 0 && cfg_dsn_password(s, &at, &len)) {
                sc_buf m;
                sc_buf_init(&m, 0);
                st = sc_buf_append(&m, s, at);
                if (st == SC_OK)
                    st = sc_buf_puts(&m, "<hidden>");
                if (st == SC_OK)
                    st = sc_buf_puts(&m, s + at + len);
                if (st == SC_OK)
                    st = put_quoted(out, m.data);
                sc_buf_free(&m);
                break;
            }
            st = put_quoted(out, s);
            break;
        }
        }
        if (st != SC_OK || sc_buf_puts(out, "\n") != SC_OK)
            return SC_ENOMEM;
    }
    return SC_OK;
}
