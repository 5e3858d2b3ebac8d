/*
 * config_int.h - what config.c (the table), config_value.c (one value),
 * config_validate.c (cross-field rules), config_load.c (file, environment,
 * command line, secret files) and config_help.c (--help, --check-config)
 * share; nothing else includes it.
 */
#ifndef SC_CONFIG_INT_H
#define SC_CONFIG_INT_H

#include "config.h"

#define CFG_MAX_FILE (1024 * 1024) /* bytes of config file we accept */
#define CFG_MAX_NAME 128           /* longest option name we look up */
#define CFG_SHOW 64                /* bytes of a bad value quoted in errors */

int cfg_norm_name(const char *in, size_t n, char *out, size_t outlen);
const sc_config_row *cfg_find_n(const char *name, size_t n);
const char *cfg_fmt_bytes(uint64_t v, char *buf, size_t len);
void cfg_enum_list(const sc_config_row *r, const char *sep, char *buf, size_t len);
sc_status cfg_set_value(sc_config *c, const sc_config_row *r, const char *t, char *msg,
                        size_t msglen);
sc_status cfg_defaults(sc_config *c);
/* Row r's bounds for v (shown = v as the user wrote it): SC_EINVAL with
 * "<shown> is below the minimum X" style text in msg. */
sc_status cfg_check_range(const sc_config_row *r, int64_t v, const char *shown, char *msg,
                          size_t msglen);
/* A string value's length bound and the absence of control characters. */
sc_status cfg_check_string(const sc_config_row *r, const char *t, char *msg, size_t msglen);
int64_t cfg_get_int(const sc_config *c, const sc_config_row *r);
const char *cfg_get_str(const sc_config *c, const sc_config_row *r);
const sc_config_row *cfg_file_twin(const sc_config_row *r);
int cfg_dsn_password(const char *dsn, size_t *at, size_t *len);

#endif
