/*
 * config_load.c - where an sc_config's values come from: a config file,
 * SCOUR_* environment variables, the command line, and the *_file twins of
 * secret options, in that order over the defaults (sc_config_load; see
 * config.h). Every value goes through sc_config_set_row (config.c).
 */
#include "config_int.h"

#include <openssl/crypto.h>

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- sources ---- */

static int is_key_char(int ch) { return isalnum(ch) || ch == '_' || ch == '-'; }

/* Parse one line (NUL-terminated, modified in place). Sets *key and *val to
 * NULL for blank and comment lines. Returns 0 and a message on bad syntax. */
static int parse_line(char *s, char **key, size_t *keylen, char **val, char *msg, size_t msglen)
{
    char *p = s, *v;
    *key = *val = NULL;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == '\0' || *p == '#')
        return 1;
    *key = p;
    while (is_key_char((unsigned char)*p))
        p++;
    *keylen = (size_t)(p - *key);
    while (*p == ' ' || *p == '\t')
        p++;
    if (*keylen == 0 || *p != '=') {
        sc_seterr(msg, msglen, "expected 'key = value'");
        return 0;
    }
    p++;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == '"') {
        char *w;
        v = w = ++p;
        for (;;) {
            if (*p == '\0') {
                sc_seterr(msg, msglen, "unterminated quoted value");
                return 0;
            }
            if (*p == '"')
                break;
            if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
                p++;
            *w++ = *p++;
        }
        p++;
        *w = '\0';
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p != '\0' && *p != '#') {
            sc_seterr(msg, msglen, "unexpected text after the closing quote");
            return 0;
        }
    } else {
        char *end;
        v = p;
        /* '#' starts a comment at the value's start or after whitespace, so
         * "a#b" stays a value (DSN passwords, URL fragments). */
        for (; *p; p++)
            if (*p == '#' && (p == v || p[-1] == ' ' || p[-1] == '\t'))
                break;
        end = p;
        while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        *end = '\0';
    }
    *val = v;
    return 1;
}

static sc_status load_file(sc_config *c, const char *path, char *err, size_t errlen)
{
    FILE *f;
    char *data, *line, *next, msg[SC_ERRLEN];
    size_t n;
    int lineno = 0;
    sc_status st = SC_OK;

    f = fopen(path, "r");
    if (f == NULL) {
        sc_seterr(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return SC_ENOTFOUND;
    }
    data = malloc(CFG_MAX_FILE + 1);
    if (data == NULL) {
        fclose(f);
        sc_seterr(err, errlen, "%s: out of memory", path);
        return SC_ENOMEM;
    }
    n = fread(data, 1, CFG_MAX_FILE + 1, f);
    if (ferror(f)) {
        sc_seterr(err, errlen, "%s: read error", path);
        st = SC_ENOTFOUND;
    } else if (n > CFG_MAX_FILE) {
        sc_seterr(err, errlen, "%s: larger than %d bytes", path, CFG_MAX_FILE);
        st = SC_EINVAL;
    } else if (memchr(data, '\0', n) != NULL) {
        sc_seterr(err, errlen, "%s: contains a NUL byte", path);
        st = SC_EINVAL;
    }
    fclose(f);
    if (st != SC_OK) {
        free(data);
        return st;
    }
    data[n] = '\0';

    for (line = data; line != NULL && st == SC_OK; line = next) {
        char *key, *val, *nl = strchr(line, '\n');
        size_t keylen = 0;
        const sc_config_row *r;
        lineno++;
        next = NULL;
        if (nl) {
            *nl = '\0';
            next = nl + 1;
            if (*next == '\0')
                next = NULL;
        }
        if (nl != NULL && nl > line && nl[-1] == '\r')
            nl[-1] = '\0';
        else if (nl == NULL && *line && line[strlen(line) - 1] == '\r')
            line[strlen(line) - 1] = '\0';
        if (!parse_line(line, &key, &keylen, &val, msg, sizeof(msg))) {
            sc_seterr(err, errlen, "%s:%d: %s", path, lineno, msg);
            st = SC_EINVAL;
            break;
        }
        if (key == NULL)
            continue;
        r = cfg_find_n(key, keylen);
        if (r == NULL) {
            sc_seterr(err, errlen, "%s:%d: unknown option '%.*s'", path, lineno,
                      (int)(keylen > CFG_SHOW ? CFG_SHOW : keylen), key);
            st = SC_EINVAL;
            break;
        }
        st = cfg_set_value(c, r, val, msg, sizeof(msg));
        if (st != SC_OK)
            sc_seterr(err, errlen, "%s:%d: %s: %s", path, lineno, r->name, msg);
    }
    free(data);
    return st;
}

extern char **environ; /* POSIX; declared by unistd.h only with _GNU_SOURCE */

#define ENV_PREFIX "SCOUR_"
#define ENV_CONFIG "SCOUR_CONFIG"

static sc_status load_env(sc_config *c, char *err, size_t errlen)
{
    char **e, msg[SC_ERRLEN];
    for (e = environ; e && *e; e++) {
        const char *var = *e, *eq = strchr(var, '=');
        const sc_config_row *r;
        size_t plen = strlen(ENV_PREFIX), nlen;
        sc_status st;
        if (eq == NULL || strncmp(var, ENV_PREFIX, plen) != 0)
            continue;
        nlen = (size_t)(eq - var);
        if (nlen == strlen(ENV_CONFIG) && strncmp(var, ENV_CONFIG, nlen) == 0)
            continue;
        r = cfg_find_n(var + plen, nlen - plen);
        if (r == NULL) {
            sc_seterr(err, errlen, "env %.*s: unknown option", (int)(nlen > 100 ? 100 : nlen), var);
            return SC_EINVAL;
        }
        st = cfg_set_value(c, r, eq + 1, msg, sizeof(msg));
        if (st != SC_OK) {
            sc_seterr(err, errlen, "env %.*s: %s: %s", (int)(nlen > 100 ? 100 : nlen), var, r->name,
                      msg);
            return st;
        }
    }
    return SC_OK;
}

/* One option value taken from the command line, applied last. */
typedef struct cli_set {
    const sc_config_row *row; /* static table row */
    const char *value;        /* borrowed from argv (or a static "true"/"false") */
    const char *arg;          /* borrowed: the argv word naming the option */
    size_t arglen;            /* length of the name part of arg (before '=') */
} cli_set;

static int name_is(const char *canon, const char *want) { return strcmp(canon, want) == 0; }

/* First pass over argv: flags, positional words and pending values. */
static sc_status scan_args(int argc, char **argv, sc_config_cli *cli, cli_set *sets, int *nsets,
                           char *err, size_t errlen)
{
    int i, after_dd = 0;
    for (i = 1; i < argc; i++) {
        char *a = argv[i], canon[CFG_MAX_NAME];
        const char *eq, *val = NULL;
        const sc_config_row *r;
        size_t nlen;
        int neg = 0;

        if (after_dd || a[0] != '-' || a[1] == '\0') {
            cli->args[cli->nargs++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            after_dd = 1;
            continue;
        }
        if (a[1] != '-') {
            if (strcmp(a, "-h") == 0)
                cli->help = true;
            else if (strcmp(a, "-V") == 0)
                cli->version = true;
            else {
                sc_seterr(err, errlen, "%.*s: unknown option", CFG_SHOW, a);
                return SC_EINVAL;
            }
            continue;
        }
        eq = strchr(a + 2, '=');
        nlen = eq ? (size_t)(eq - (a + 2)) : strlen(a + 2);
        if (!cfg_norm_name(a + 2, nlen, canon, sizeof(canon))) {
            sc_seterr(err, errlen, "%.*s: unknown option", CFG_SHOW, a);
            return SC_EINVAL;
        }
        if (name_is(canon, "help") || name_is(canon, "version") || name_is(canon, "check_config")) {
            if (eq) {
                sc_seterr(err, errlen, "%.*s: takes no value", (int)nlen + 2, a);
                return SC_EINVAL;
            }
            if (name_is(canon, "help"))
                cli->help = true;
            else if (name_is(canon, "version"))
                cli->version = true;
            else
                cli->check_config = true;
            continue;
        }
        if (name_is(canon, "config")) {
            if (eq)
                cli->config_path = eq + 1;
            else if (i + 1 < argc)
                cli->config_path = argv[++i];
            else {
                sc_seterr(err, errlen, "%s: missing value", a);
                return SC_EINVAL;
            }
            continue;
        }
        r = cfg_find_n(canon, strlen(canon));
        if (r == NULL && strncmp(canon, "no_", 3) == 0 && eq == NULL) {
            r = cfg_find_n(canon + 3, strlen(canon + 3));
            if (r != NULL && r->type != SC_CFG_BOOL)
                r = NULL;
            neg = 1;
        }
        if (r == NULL) {
            sc_seterr(err, errlen, "%.*s: unknown option",
                      (int)(nlen + 2 > CFG_SHOW ? CFG_SHOW : nlen + 2), a);
            return SC_EINVAL;
        }
        if (eq)
            val = eq + 1;
        else if (r->type == SC_CFG_BOOL)
            val = neg ? "false" : "true";
        else if (i + 1 < argc)
            val = argv[++i];
        else {
            sc_seterr(err, errlen, "%.*s: missing value", CFG_SHOW, a);
            return SC_EINVAL;
        }
        sets[*nsets].row = r;
        sets[*nsets].value = val;
        sets[*nsets].arg = a;
        sets[*nsets].arglen = nlen + 2;
        (*nsets)++;
    }
    return SC_OK;
}

/* ---- secrets ---- */

#define SECRET_FILE_MAX (64 * 1024) /* bytes of a secret file we read */

/* The row "<r->name>_file" of secret row r, or NULL. */
const sc_config_row *cfg_file_twin(const sc_config_row *r)
{
    char name[CFG_MAX_NAME];
    int n = snprintf(name, sizeof(name), "%s_file", r->name);
    if (n < 0 || (size_t)n >= sizeof(name))
        return NULL;
    return cfg_find_n(name, (size_t)n);
}

/* Read every "<secret>_file" that is set into its secret. */
static sc_status load_secret_files(sc_config *c, char *err, size_t errlen)
{
    char msg[SC_ERRLEN];
    const sc_config_row *rows;
    size_t i, nrows = sc_config_table(&rows);
    for (i = 0; i < nrows; i++) {
        const sc_config_row *f = &rows[i], *r;
        const char *path = cfg_get_str(c, f), *cur;
        char target[CFG_MAX_NAME];
        size_t n;
        sc_buf b;
        sc_status st;
        if (!(f->flags & SC_CFG_SECRET_FILE) || path == NULL || path[0] == '\0')
            continue;
        n = strlen(f->name) - 5; /* without "_file" */
        snprintf(target, sizeof(target), "%.*s", (int)n, f->name);
        r = cfg_find_n(target, n);
        cur = r != NULL ? cfg_get_str(c, r) : NULL;
        if (r == NULL || cur == NULL) {
            sc_seterr(err, errlen, "%s: no secret option %s", f->name, target);
            return SC_EINVAL;
        }
        if (cur[0] != '\0') {
            sc_seterr(err, errlen, "%s: %s is set too; give the secret one way only", f->name,
                      r->name);
            return SC_EINVAL;
        }
        sc_buf_init(&b, SECRET_FILE_MAX);
        st = sc_buf_read_file(&b, path);
        if (st == SC_ENOTFOUND)
            sc_seterr(err, errlen, "%s: cannot read %s: %s", f->name, path, strerror(errno));
        else if (st != SC_OK) {
            sc_seterr(err, errlen, "%s: %s is larger than %d bytes", f->name, path,
                      SECRET_FILE_MAX);
            st = SC_EINVAL;
        } else if (b.len > 0 && memchr(b.data, '\0', b.len) != NULL) {
            sc_seterr(err, errlen, "%s: %s contains a NUL byte", f->name, path);
            st = SC_EINVAL;
        } else {
            if (b.len > 0 && b.data[b.len - 1] == '\n')
                b.data[--b.len] = '\0';
            if (b.len > 0 && b.data[b.len - 1] == '\r')
                b.data[--b.len] = '\0';
            if (b.len == 0) {
                sc_seterr(err, errlen, "%s: %s is empty", f->name, path);
                st = SC_EINVAL;
            } else if ((st = cfg_set_value(c, r, b.data, msg, sizeof(msg))) != SC_OK)
                sc_seterr(err, errlen, "%s: %s: %s", f->name, path, msg);
        }
        if (b.data != NULL)
            OPENSSL_cleanse(b.data, b.cap);
        sc_buf_free(&b);
        if (st != SC_OK)
            return SC_EINVAL;
    }
    return SC_OK;
}

/* Where the password of a libpq DSN starts and how long it is: keyword
 * form "... password = value ..." (value bare or '...' quoted) or URI form
 * "postgres[ql]://user:password@...". Returns 0 when there is none. */
int cfg_dsn_password(const char *dsn, size_t *at, size_t *len)
{
    const char *p = dsn;
    if (strncmp(p, "postgresql://", 13) == 0 || strncmp(p, "postgres://", 11) == 0) {
        const char *u = strstr(p, "://") + 3, *end = u + strcspn(u, "/?#"), *atc, *colon;
        atc = memchr(u, '@', (size_t)(end - u));
        colon = atc ? memchr(u, ':', (size_t)(atc - u)) : NULL;
        if (colon == NULL || colon + 1 == atc)
            return 0;
        *at = (size_t)(colon + 1 - dsn);
        *len = (size_t)(atc - colon - 1);
        return 1;
    }
    while (*p) {
        const char *k, *v;
        while (*p == ' ' || *p == '\t')
            p++;
        k = p;
        while (*p && *p != '=' && *p != ' ' && *p != '\t')
            p++;
        v = p;
        while (*v == ' ' || *v == '\t')
            v++;
        if (*v != '=')
            return 0; /* not a keyword/value DSN: leave it alone */
        v++;
        while (*v == ' ' || *v == '\t')
            v++;
        p = v;
        if (*p == '\'') {
            for (p++; *p && *p != '\''; p++)
                if (*p == '\\' && p[1])
                    p++;
            if (*p)
                p++;
        } else
            while (*p && *p != ' ' && *p != '\t')
                p++;
        if ((size_t)(v - k) >= 9 && strncmp(k, "password", 8) == 0 &&
            (k[8] == '=' || k[8] == ' ' || k[8] == '\t') && p > v) {
            *at = (size_t)(v - dsn);
            *len = (size_t)(p - v);
            return 1;
        }
    }
    return 0;
}

/* Warn about secrets given as command-line words (they show in ps). */
static void warn_cli_secrets(const cli_set *sets, int nsets, sc_config_cli *cli)
{
    size_t used = strlen(cli->warnings);
    for (int i = 0; i < nsets; i++) {
        const sc_config_row *r = sets[i].row, *twin;
        size_t at, len;
        int n = 0;
        if ((r->flags & SC_CFG_SECRET) && sets[i].value[0] != '\0') {
            twin = cfg_file_twin(r);
            n = snprintf(cli->warnings + used, sizeof(cli->warnings) - used,
                         "warning: %.*s on the command line shows the secret to every local "
                         "user (ps, /proc/PID/cmdline); use %s or a config file\n",
                         (int)sets[i].arglen, sets[i].arg, twin ? twin->name : "a config file");
        } else if (strcmp(r->name, "pg_dsn") == 0 && cfg_dsn_password(sets[i].value, &at, &len))
            n = snprintf(cli->warnings + used, sizeof(cli->warnings) - used,
                         "warning: %.*s on the command line holds a password that every local "
                         "user can see; use passfile= (or PGPASSFILE) or a config file\n",
                         (int)sets[i].arglen, sets[i].arg);
        if (n > 0)
            used += (size_t)n < sizeof(cli->warnings) - used ? (size_t)n
                                                             : sizeof(cli->warnings) - 1 - used;
    }
}

void sc_config_cli_free(sc_config_cli *cli)
{
    if (cli == NULL)
        return;
    free(cli->args);
    cli->args = NULL;
    cli->nargs = 0;
}

sc_status sc_config_load(sc_config *c, int argc, char **argv, sc_config_cli *cli, char *err,
                         size_t errlen)
{
    sc_config_cli local;
    cli_set *sets = NULL;
    int nsets = 0, i;
    const char *path;
    char msg[SC_ERRLEN];
    sc_status st;

    if (err && errlen)
        err[0] = '\0';
    st = cfg_defaults(c);
    if (cli == NULL)
        cli = &local;
    memset(cli, 0, sizeof(*cli));
    if (st != SC_OK) {
        sc_seterr(err, errlen, "out of memory");
        return st;
    }
    if (argc < 1)
        argc = 1;
    cli->args = calloc((size_t)argc, sizeof(*cli->args));
    sets = calloc((size_t)argc, sizeof(*sets));
    if (cli->args == NULL || sets == NULL) {
        sc_seterr(err, errlen, "out of memory");
        st = SC_ENOMEM;
        goto out;
    }
    st = scan_args(argc, argv, cli, sets, &nsets, err, errlen);
    if (st != SC_OK)
        goto out;
    if (cli == &local && cli->nargs > 0) {
        sc_seterr(err, errlen, "unexpected argument '%.*s'", CFG_SHOW, cli->args[0]);
        st = SC_EINVAL;
        goto out;
    }
    if (cli->help || cli->version)
        goto out;

    path = cli->config_path;
    if (path == NULL) {
        const char *envp = getenv(ENV_CONFIG);
        if (envp != NULL && *envp != '\0')
            path = cli->config_path = envp;
    }
    if (path != NULL && (st = load_file(c, path, err, errlen)) != SC_OK)
        goto out;
    if ((st = load_env(c, err, errlen)) != SC_OK)
        goto out;
    for (i = 0; i < nsets; i++) {
        st = cfg_set_value(c, sets[i].row, sets[i].value, msg, sizeof(msg));
        if (st != SC_OK) {
            sc_seterr(err, errlen, "%.*s: %s: %s", (int)sets[i].arglen, sets[i].arg,
                      sets[i].row->name, msg);
            goto out;
        }
    }
    warn_cli_secrets(sets, nsets, cli);
    st = load_secret_files(c, err, errlen);
out:
    free(sets);
    if (cli == &local)
        sc_config_cli_free(&local);
    return st;
}
