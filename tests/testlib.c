/* testlib.c - see testlib.h. */
#include "testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "message.h"
#include "sc.h"

#define T_MAX_VARS 32
static char t_names[T_MAX_VARS][64];
static char t_values[T_MAX_VARS][512];
static int t_nvars = -1;

static const char *repo_root(void)
{
    static char root[1024];
    if (root[0] == '\0') {
        const char *r = getenv("SC_REPO");
        if (r != NULL) {
            snprintf(root, sizeof(root), "%s", r);
        } else {
            /* tests run from the repo root (make) */
            if (getcwd(root, sizeof(root)) == NULL)
                snprintf(root, sizeof(root), ".");
        }
    }
    return root;
}

const char *t_repo_path(const char *rel)
{
    static char p[2048];
    snprintf(p, sizeof(p), "%s/%s", repo_root(), rel);
    return p;
}

static void load_env_file(void)
{
    char path[1100], line[700];
    const char *dir = getenv("SC_STACK_DIR");
    FILE *f;
    t_nvars = 0;
    if (dir != NULL)
        snprintf(path, sizeof(path), "%s/env", dir);
    else
        snprintf(path, sizeof(path), "%s/.stack/env", repo_root());
    f = fopen(path, "r");
    if (f == NULL)
        return;
    while (fgets(line, sizeof(line), f) != NULL && t_nvars < T_MAX_VARS) {
        char *eq = strchr(line, '=');
        char *v;
        size_t n;
        if (eq == NULL)
            continue;
        *eq = '\0';
        v = eq + 1;
        n = strlen(v);
        while (n > 0 && (v[n - 1] == '\n' || v[n - 1] == '\r'))
            v[--n] = '\0';
        if (n >= 2 && v[0] == '\'' && v[n - 1] == '\'') {
            v[n - 1] = '\0';
            v++;
        }
        snprintf(t_names[t_nvars], sizeof(t_names[0]), "%.63s", line);
        snprintf(t_values[t_nvars], sizeof(t_values[0]), "%.511s", v);
        t_nvars++;
    }
    fclose(f);
}

const char *t_env_opt(const char *name)
{
    const char *v = getenv(name);
    if (v != NULL && *v != '\0')
        return v;
    if (t_nvars < 0)
        load_env_file();
    for (int i = 0; i < t_nvars; i++)
        if (strcmp(t_names[i], name) == 0)
            return t_values[i];
    return NULL;
}

const char *t_env(const char *name)
{
    const char *v = t_env_opt(name);
    if (v == NULL)
        fail_msg("stack variable %s is not set: is the stack running? (tests/stack start)", name);
    return v;
}

const char *t_es_url(int i)
{
    static char url[8][256];
    const char *all = t_env("SC_ES_URLS");
    const char *p = all;
    for (int k = 0; k < i && p != NULL; k++) {
        p = strchr(p, ',');
        if (p != NULL)
            p++;
    }
    if (p == NULL || i < 0 || i >= 8)
        fail_msg("SC_ES_URLS has no cluster %d: %s", i, all);
    snprintf(url[i], sizeof(url[i]), "%.*s", (int)strcspn(p, ","), p);
    return url[i];
}

void t_stack(const char *fmt, ...)
{
    char args[512], cmd[2048];
    va_list ap;
    int rc;
    va_start(ap, fmt);
    vsnprintf(args, sizeof(args), fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof(cmd), "%s/tests/stack %s", repo_root(), args);
    rc = system(cmd);
    if (rc != 0)
        fail_msg("`%s` exited %d", cmd, rc);
}

static uint64_t rng_state;

static uint64_t next_rand(void)
{
    if (rng_state == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        rng_state = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)getpid() ^ (uint64_t)ts.tv_sec;
        if (rng_state == 0)
            rng_state = 88172645463325252ULL;
    }
    /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ULL;
}

uint64_t t_rand_id(void) { return (next_rand() >> 2) | 1; }

uint64_t t_snowflake_ago(int64_t ago_ms)
{
    return sc_snowflake_from_ms(sc_wall_ms() - ago_ms) | (next_rand() & 0x3FFFFF);
}

const char *t_unique(char *buf, size_t len, const char *prefix)
{
    static int counter;
    snprintf(buf, len, "%s-%d-%d-%u", prefix, (int)getpid(), ++counter,
             (unsigned)(next_rand() & 0xFFFF));
    return buf;
}

int t_wait_until(int (*pred)(void *), void *arg, int timeout_ms)
{
    int64_t deadline = sc_now_ms() + timeout_ms;
    int v;
    for (;;) {
        v = pred(arg);
        if (v || sc_now_ms() >= deadline)
            return v;
        usleep(50 * 1000);
    }
}
