/* testlib.c - see testlib.h. */
#include "testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <signal.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>

#include "buf.h"
#include "es.h"
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

const char *t_bin_path(const char *name)
{
    static char paths[8][1024];
    static int next;
    char exe[900];
    char *p = paths[next++ % 8];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    char *slash;
    if (n <= 0)
        fail_msg("readlink /proc/self/exe failed");
    exe[n] = '\0';
    slash = strrchr(exe, '/'); /* <build>/tests/x -> <build>/tests */
    if (slash != NULL)
        *slash = '\0';
    slash = strrchr(exe, '/'); /* -> <build> */
    if (slash != NULL)
        *slash = '\0';
    snprintf(p, 1024, "%s/%s", exe, name);
    return p;
}

static void export_stack_env(void)
{
    static const char *const names[] = {"SC_ETCD_URL", "SC_REDIS_HOST", "SC_REDIS_PORT",
                                        "SC_PG_DSN",   "SC_ES_URLS",    "SC_ES_CLUSTERS",
                                        "SC_STACK_DIR"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const char *v = t_env_opt(names[i]);
        if (v != NULL)
            setenv(names[i], v, 0);
    }
}

int t_spawn(char *const argv[], const char *logfile)
{
    pid_t pid;
    export_stack_env();
    fflush(NULL);
    pid = fork();
    if (pid < 0)
        fail_msg("fork failed");
    if (pid == 0) {
        int fd = open(logfile ? logfile : "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        setpgid(0, 0);
        execv(argv[0], argv);
        _exit(127);
    }
    return (int)pid;
}

int t_stop(int pid, int sig, int timeout_ms)
{
    int status = 0;
    int64_t deadline = sc_now_ms() + timeout_ms;
    if (pid <= 0)
        return -1;
    kill(pid, sig);
    while (sc_now_ms() < deadline) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return status;
        usleep(20 * 1000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

int t_run(char **out, const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    FILE *p;
    sc_buf b;
    char chunk[4096];
    size_t n;
    int st;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    export_stack_env();
    fflush(NULL);
    p = popen(cmd, "r");
    if (p == NULL)
        return -1;
    sc_buf_init(&b, 0);
    while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0)
        if (sc_buf_append(&b, chunk, n) != SC_OK)
            break;
    st = pclose(p);
    if (out != NULL)
        *out = sc_buf_steal(&b);
    sc_buf_free(&b);
    if (st == -1 || !WIFEXITED(st))
        return -1;
    return WEXITSTATUS(st);
}

static size_t t_collect(char *p, size_t sz, size_t n, void *ud)
{
    return sc_buf_append(ud, p, sz * n) == SC_OK ? sz * n : 0;
}

long t_http(const char *method, const char *url, const char *body, const char *const *headers,
            char **resp)
{
    CURL *e = curl_easy_init();
    struct curl_slist *hl = NULL;
    long code = 0;
    sc_buf b;
    sc_buf_init(&b, 0);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, t_collect);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    if (body != NULL) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
        hl = curl_slist_append(hl, "Content-Type: application/json");
    }
    for (size_t i = 0; headers != NULL && headers[i] != NULL; i++)
        hl = curl_slist_append(hl, headers[i]);
    if (hl != NULL)
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, hl);
    if (curl_easy_perform(e) == CURLE_OK)
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(hl);
    curl_easy_cleanup(e);
    if (resp != NULL)
        *resp = sc_buf_steal(&b);
    sc_buf_free(&b);
    return code;
}

int t_free_port(void)
{
    struct sockaddr_in sa;
    socklen_t sl = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0), p;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    p = ntohs(sa.sin_port);
    close(fd);
    return p;
}

es_client *t_es_open(const char *url)
{
    char err[256] = "";
    es_opts o;
    es_client *c;
    memset(&o, 0, sizeof o);
    o.url = url;
    o.timeout_ms = 10000;
    o.replicas = 0;
    c = es_client_create(&o, err, sizeof err);
    if (c == NULL)
        fail_msg("es_client_create: %s", err);
    return c;
}
