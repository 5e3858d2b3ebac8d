/*
 * cluster.c - the live view of the search clusters (see cluster.h).
 *
 * The view is one array of entries under a mutex. An entry comes from the
 * static list (always live), from etcd (live while its key exists), or both:
 * an etcd registration overrides the static entry of the same name while it
 * exists, and when the key goes away the static entry shows again. An etcd
 * entry whose key is deleted stays in the array with live = 0 and
 * gone_since_ms set, so the healer can apply a grace period.
 *
 * Updates come from etcd_watch (etcd.c) on its own thread, which reconnects
 * and resumes from the last revision and, after a compaction, replays a full
 * snapshot between RESYNC and SYNCED; entries not seen in a snapshot are
 * treated as deleted at SYNCED.
 *
 * Also here: turning a cluster's credentials reference into es_opts
 * (sc_cluster_es_opts), the one place every program resolves it.
 *
 * Not here: health checking or writing leases (admin/agent.c), load (binding.c).
 */
#include "cluster.h"

#include "etcd.h"
#include "log.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define VIEW_KEY_MAX 512

/* One cluster the view knows. */
typedef struct view_entry {
    sc_cluster_info info;        /* what callers see */
    int has_static;              /* the static list names it */
    sc_cluster_info static_info; /* the static list's entry (valid if has_static) */
    int from_etcd;               /* info currently comes from an etcd key */
    int seen;                    /* seen in the snapshot being replayed */
} view_entry;

struct sc_cluster_view {
    pthread_mutex_t mu;          /* guards everything below */
    pthread_cond_t cond;         /* signalled when generation changes */
    view_entry *e;               /* owned array of n entries */
    size_t n;                    /* entries in e */
    size_t cap;                  /* allocated entries */
    uint64_t generation;         /* +1 per change */
    int in_resync;               /* between RESYNC and SYNCED */
    sc_cluster_view_stats stats; /* watcher counters */
    char prefix[VIEW_KEY_MAX];   /* "<ns>/clusters/" */
    char *etcd_url;              /* owned copy; NULL for static only */
    etcd_watch *watch;           /* owned; NULL for static only */
};

/* ------------------------------------------------------------------ helpers */

int sc_cluster_name_ok(const char *name)
{
    size_t i, n;
    if (name == NULL)
        return 0;
    n = strlen(name);
    if (n == 0 || n >= SC_CLUSTER_NAME_MAX)
        return 0;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return 0;
    }
    return 1;
}

const char *sc_cluster_state_str(sc_cluster_state s)
{
    return s == SC_CLUSTER_DRAINING ? "draining" : "active";
}

sc_status sc_cluster_state_parse(const char *s, sc_cluster_state *out)
{
    if (s != NULL && strcmp(s, "active") == 0) {
        *out = SC_CLUSTER_ACTIVE;
        return SC_OK;
    }
    if (s != NULL && strcmp(s, "draining") == 0) {
        *out = SC_CLUSTER_DRAINING;
        return SC_OK;
    }
    return SC_EINVAL;
}

static sc_status make_key(const char *ns, const char *kind, const char *name, char *buf, size_t len)
{
    int w;
    if (ns == NULL || buf == NULL || len == 0)
        return SC_EINVAL;
    if (name != NULL && !sc_cluster_name_ok(name))
        return SC_EINVAL;
    w = snprintf(buf, len, "%s/%s/%s", ns, kind, name ? name : "");
    if (w < 0 || (size_t)w >= len)
        return SC_EINVAL;
    return SC_OK;
}

sc_status sc_cluster_key(const char *ns, const char *name, char *buf, size_t len)
{
    return make_key(ns, "clusters", name, buf, len);
}

sc_status sc_cluster_drain_key(const char *ns, const char *name, char *buf, size_t len)
{
    return make_key(ns, "drain", name, buf, len);
}

static int url_ok(const char *u, size_t n)
{
    if (n >= 8 && strncmp(u, "https://", 8) == 0)
        return n > 8;
    if (n >= 7 && strncmp(u, "http://", 7) == 0)
        return n > 7;
    return 0;
}

sc_status sc_cluster_parse_value(const char *name, const char *json, size_t len,
                                 sc_cluster_info *out, char *err, size_t errlen)
{
    cJSON *root, *it;
    sc_status st = SC_EINVAL;
    memset(out, 0, sizeof *out);
    if (!sc_cluster_name_ok(name)) {
        sc_seterr(err, errlen, "bad cluster name");
        return SC_EINVAL;
    }
    if (json == NULL) {
        sc_seterr(err, errlen, "%s: empty registration", name);
        return SC_EINVAL;
    }
    root = cJSON_ParseWithLength(json, len);
    if (root == NULL || !cJSON_IsObject(root)) {
        sc_seterr(err, errlen, "%s: registration is not a JSON object", name);
        goto out;
    }
    snprintf(out->name, sizeof out->name, "%s", name);
    it = cJSON_GetObjectItemCaseSensitive(root, "url");
    if (!cJSON_IsString(it) || !url_ok(it->valuestring, strlen(it->valuestring))) {
        sc_seterr(err, errlen, "%s: \"url\" must be an http(s):// URL", name);
        goto out;
    }
    if (strlen(it->valuestring) >= sizeof out->url) {
        sc_seterr(err, errlen, "%s: \"url\" longer than %d bytes", name, SC_CLUSTER_URL_MAX - 1);
        goto out;
    }
    snprintf(out->url, sizeof out->url, "%s", it->valuestring);
    it = cJSON_GetObjectItemCaseSensitive(root, "credentials");
    if (it != NULL && !cJSON_IsNull(it)) {
        if (!cJSON_IsString(it) || strlen(it->valuestring) >= sizeof out->credentials) {
            sc_seterr(err, errlen, "%s: \"credentials\" must be a string under %zu bytes", name,
                      sizeof out->credentials);
            goto out;
        }
        snprintf(out->credentials, sizeof out->credentials, "%s", it->valuestring);
    }
    it = cJSON_GetObjectItemCaseSensitive(root, "capacity");
    if (it != NULL && !cJSON_IsNull(it)) {
        if (cJSON_IsNumber(it)) {
            double d = it->valuedouble;
            if (!(d >= 0) || d > 9.0e18 || floor(d) != d) {
                sc_seterr(err, errlen, "%s: \"capacity\" must be a non-negative integer", name);
                goto out;
            }
            out->capacity = (int64_t)d;
        } else if (cJSON_IsString(it)) {
            uint64_t v;
            if (sc_parse_u64(it->valuestring, &v) != SC_OK || v > (uint64_t)INT64_MAX) {
                sc_seterr(err, errlen, "%s: \"capacity\" must be a non-negative integer", name);
                goto out;
            }
            out->capacity = (int64_t)v;
        } else {
            sc_seterr(err, errlen, "%s: \"capacity\" must be a non-negative integer", name);
            goto out;
        }
    }
    it = cJSON_GetObjectItemCaseSensitive(root, "state");
    out->state = SC_CLUSTER_ACTIVE;
    if (it != NULL && !cJSON_IsNull(it)) {
        if (!cJSON_IsString(it) || sc_cluster_state_parse(it->valuestring, &out->state) != SC_OK) {
            sc_seterr(err, errlen, "%s: \"state\" must be \"active\" or \"draining\"", name);
            goto out;
        }
    }
    out->live = 1;
    st = SC_OK;
out:
    cJSON_Delete(root);
    if (st != SC_OK)
        memset(out, 0, sizeof *out);
    return st;
}

sc_status sc_cluster_format_value(const sc_cluster_info *info, sc_buf *out)
{
    if (sc_buf_puts(out, "{\"url\":") != SC_OK || sc_buf_json_str(out, info->url) != SC_OK ||
        sc_buf_puts(out, ",\"credentials\":") != SC_OK ||
        sc_buf_json_str(out, info->credentials) != SC_OK ||
        sc_buf_printf(out, ",\"capacity\":%lld,\"state\":\"%s\"}", (long long)info->capacity,
                      sc_cluster_state_str(info->state)) != SC_OK)
        return SC_ENOMEM;
    return SC_OK;
}

sc_status sc_cluster_parse_static(const char *list, sc_cluster_info **out, size_t *n, char *err,
                                  size_t errlen)
{
    const char *p = list;
    sc_cluster_info *arr = NULL;
    size_t cnt = 0, cap = 0, i;
    *out = NULL;
    *n = 0;
    if (list == NULL || *list == '\0')
        return SC_OK;
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        size_t nlen, ulen;
        sc_cluster_info *e;
        if (eq == NULL) {
            sc_seterr(err, errlen, "static cluster '%.*s' is not name=url",
                      (int)(len > 80 ? 80 : len), p);
            goto bad;
        }
        nlen = (size_t)(eq - p);
        ulen = len - nlen - 1;
        if (cnt == cap) {
            size_t nc = cap ? cap * 2 : 4;
            sc_cluster_info *na = realloc(arr, nc * sizeof *na);
            if (na == NULL) {
                free(arr);
                sc_seterr(err, errlen, "out of memory");
                return SC_ENOMEM;
            }
            arr = na;
            cap = nc;
        }
        e = &arr[cnt];
        memset(e, 0, sizeof *e);
        if (nlen == 0 || nlen >= sizeof e->name) {
            sc_seterr(err, errlen, "static cluster name '%.*s' is empty or too long",
                      (int)(nlen > 80 ? 80 : nlen), p);
            goto bad;
        }
        memcpy(e->name, p, nlen);
        e->name[nlen] = '\0';
        if (!sc_cluster_name_ok(e->name)) {
            sc_seterr(err, errlen, "static cluster name '%s' has characters outside [A-Za-z0-9_.-]",
                      e->name);
            goto bad;
        }
        if (!url_ok(eq + 1, ulen) || ulen >= sizeof e->url) {
            sc_seterr(err, errlen, "static cluster %s: '%.*s' is not an http(s):// URL", e->name,
                      (int)(ulen > 120 ? 120 : ulen), eq + 1);
            goto bad;
        }
        memcpy(e->url, eq + 1, ulen);
        e->url[ulen] = '\0';
        for (i = 0; i < cnt; i++) {
            if (strcmp(arr[i].name, e->name) == 0) {
                sc_seterr(err, errlen, "static cluster %s listed twice", e->name);
                goto bad;
            }
        }
        e->state = SC_CLUSTER_ACTIVE;
        e->live = 1;
        cnt++;
        if (end == NULL)
            break;
        p = end + 1;
    }
    *out = arr;
    *n = cnt;
    return SC_OK;
bad:
    free(arr);
    return SC_EINVAL;
}

/* ------------------------------------------------------------ credentials */

/* Non-zero if s[0..n) is an environment variable name we accept. */
static int var_name_ok(const char *s, size_t n)
{
    size_t i;
    if (n == 0 || n >= SC_CLUSTER_NAME_MAX * 2 || (s[0] >= '0' && s[0] <= '9'))
        return 0;
    for (i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return 0;
    }
    return 1;
}

/* Copy s (with its NUL) to buf at *pos; NULL when it does not fit. */
static const char *stash(char *buf, size_t buflen, size_t *pos, const char *s)
{
    size_t n = strlen(s) + 1;
    char *at;
    if (buf == NULL || *pos > buflen || buflen - *pos < n)
        return NULL;
    at = buf + *pos;
    memcpy(at, s, n);
    *pos += n;
    return at;
}

sc_status sc_cluster_es_opts(const sc_cluster_info *ci, const es_opts *base, es_opts *out,
                             char *buf, size_t buflen, char *err, size_t errlen)
{
    const char *cred, *val;
    char uvar[SC_CLUSTER_NAME_MAX * 2], pvar[SC_CLUSTER_NAME_MAX * 2];
    size_t pos = 0;
    if (ci == NULL || base == NULL || out == NULL) {
        sc_seterr(err, errlen, "cluster credentials: missing argument");
        return SC_EINVAL;
    }
    *out = *base;
    out->url = ci->url;
    cred = ci->credentials;
    if (*cred == '\0')
        return SC_OK; /* the program's global options */
    out->user = NULL;
    out->password = NULL;
    out->api_key = NULL;
    if (strncmp(cred, "env:", 4) == 0) {
        const char *var = cred + 4;
        if (!var_name_ok(var, strlen(var))) {
            sc_seterr(err, errlen,
                      "cluster %s: credentials '%s': expected env:VAR with VAR a variable name",
                      ci->name, cred);
            return SC_EINVAL;
        }
        val = getenv(var);
        if (val == NULL || *val == '\0') {
            sc_seterr(err, errlen, "cluster %s: credentials %s: environment variable %s is %s",
                      ci->name, cred, var, val == NULL ? "not set" : "empty");
            return SC_ENOTFOUND;
        }
        if ((out->api_key = stash(buf, buflen, &pos, val)) == NULL) {
            sc_seterr(err, errlen, "cluster %s: credentials %s: the API key does not fit %zu bytes",
                      ci->name, cred, buflen);
            return SC_ENOMEM;
        }
        return SC_OK;
    }
    if (strncmp(cred, "basic-env:", 10) == 0) {
        const char *u = cred + 10, *colon = strchr(u, ':');
        size_t ul = colon != NULL ? (size_t)(colon - u) : 0;
        size_t pl = colon != NULL ? strlen(colon + 1) : 0;
        const char *user, *pass;
        if (colon == NULL || !var_name_ok(u, ul) || !var_name_ok(colon + 1, pl)) {
            sc_seterr(err, errlen,
                      "cluster %s: credentials '%s': expected basic-env:USERVAR:PASSVAR", ci->name,
                      cred);
            return SC_EINVAL;
        }
        memcpy(uvar, u, ul);
        uvar[ul] = '\0';
        memcpy(pvar, colon + 1, pl + 1);
        user = getenv(uvar);
        pass = getenv(pvar);
        if (user == NULL || *user == '\0' || pass == NULL) {
            const char *which = (user == NULL || *user == '\0') ? uvar : pvar;
            sc_seterr(err, errlen, "cluster %s: credentials %s: environment variable %s is %s",
                      ci->name, cred, which, (which == uvar && user != NULL) ? "empty" : "not set");
            return SC_ENOTFOUND;
        }
        if ((out->user = stash(buf, buflen, &pos, user)) == NULL ||
            (out->password = stash(buf, buflen, &pos, pass)) == NULL) {
            out->user = NULL;
            out->password = NULL;
            sc_seterr(err, errlen,
                      "cluster %s: credentials %s: user and password do not fit %zu bytes",
                      ci->name, cred, buflen);
            return SC_ENOMEM;
        }
        return SC_OK;
    }
    sc_seterr(err, errlen,
              "cluster %s: unknown credentials reference '%s' (expected env:VAR or "
              "basic-env:USERVAR:PASSVAR)",
              ci->name, cred);
    return SC_EINVAL;
}

/* ------------------------------------------------------------------ view */

static view_entry *find_locked(sc_cluster_view *v, const char *name)
{
    size_t i;
    for (i = 0; i < v->n; i++)
        if (strcmp(v->e[i].info.name, name) == 0)
            return &v->e[i];
    return NULL;
}

static view_entry *add_locked(sc_cluster_view *v, const char *name)
{
    view_entry *e;
    if (v->n == v->cap) {
        size_t nc = v->cap ? v->cap * 2 : 8;
        view_entry *na = realloc(v->e, nc * sizeof *na);
        if (na == NULL)
            return NULL;
        v->e = na;
        v->cap = nc;
    }
    e = &v->e[v->n++];
    memset(e, 0, sizeof *e);
    snprintf(e->info.name, sizeof e->info.name, "%s", name);
    return e;
}

static void bump_locked(sc_cluster_view *v)
{
    v->generation++;
    pthread_cond_broadcast(&v->cond);
}

static int info_equal(const sc_cluster_info *a, const sc_cluster_info *b)
{
    return strcmp(a->url, b->url) == 0 && strcmp(a->credentials, b->credentials) == 0 &&
           a->capacity == b->capacity && a->state == b->state && a->live == b->live &&
           a->mod_revision == b->mod_revision && a->gone_since_ms == b->gone_since_ms;
}

/* Name under the prefix, or NULL when the key is not a registration. */
static const char *key_name(const sc_cluster_view *v, const char *key)
{
    size_t pl = strlen(v->prefix);
    if (strncmp(key, v->prefix, pl) != 0)
        return NULL;
    key += pl;
    return sc_cluster_name_ok(key) ? key : NULL;
}

static void apply_delete_locked(sc_cluster_view *v, view_entry *e)
{
    if (!e->from_etcd)
        return;
    e->from_etcd = 0;
    if (e->has_static) {
        e->info = e->static_info;
    } else {
        e->info.live = 0;
        e->info.gone_since_ms = sc_wall_ms();
    }
    bump_locked(v);
}

static void apply_put_locked(sc_cluster_view *v, const etcd_kv *kv)
{
    const char *name = key_name(v, kv->key);
    char err[SC_ERRLEN];
    sc_cluster_info ni;
    view_entry *e;
    if (name == NULL) {
        log_debug("cluster view: ignoring key %s", kv->key);
        return;
    }
    e = find_locked(v, name);
    if (sc_cluster_parse_value(name, kv->value, kv->value_len, &ni, err, sizeof err) != SC_OK) {
        /* A bad registration is not a live cluster: treat it as absent. */
        log_warn("cluster view: ignoring registration: %s", err);
        if (e != NULL)
            apply_delete_locked(v, e);
        return;
    }
    ni.mod_revision = kv->mod_revision;
    if (e == NULL && (e = add_locked(v, name)) == NULL) {
        log_error("cluster view: out of memory adding %s", name);
        return;
    }
    e->seen = 1;
    e->from_etcd = 1;
    if (!info_equal(&e->info, &ni)) {
        e->info = ni;
        bump_locked(v);
    }
}

static void on_event(void *ctx, const etcd_event *ev)
{
    sc_cluster_view *v = ctx;
    size_t i;
    pthread_mutex_lock(&v->mu);
    switch (ev->type) {
    case ETCD_EV_PUT:
        apply_put_locked(v, &ev->kv);
        v->stats.events++;
        break;
    case ETCD_EV_DELETE: {
        const char *name = key_name(v, ev->kv.key);
        view_entry *e = name ? find_locked(v, name) : NULL;
        if (e != NULL)
            apply_delete_locked(v, e);
        v->stats.events++;
        break;
    }
    case ETCD_EV_RESYNC:
        v->in_resync = 1;
        for (i = 0; i < v->n; i++)
            v->e[i].seen = 0;
        break;
    case ETCD_EV_SYNCED:
        for (i = 0; i < v->n && v->in_resync; i++)
            if (v->e[i].from_etcd && !v->e[i].seen)
                apply_delete_locked(v, &v->e[i]);
        v->in_resync = 0;
        v->stats.resyncs++;
        break;
    }
    if (ev->revision > v->stats.revision)
        v->stats.revision = ev->revision;
    pthread_mutex_unlock(&v->mu);
}

static sc_status init_locks(sc_cluster_view *v)
{
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) != 0)
        return SC_ERR;
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (pthread_cond_init(&v->cond, &ca) != 0) {
        pthread_condattr_destroy(&ca);
        return SC_ERR;
    }
    pthread_condattr_destroy(&ca);
    if (pthread_mutex_init(&v->mu, NULL) != 0) {
        pthread_cond_destroy(&v->cond);
        return SC_ERR;
    }
    return SC_OK;
}

sc_cluster_view *sc_cluster_view_create(const sc_cluster_view_opts *o, char *err, size_t errlen)
{
    sc_cluster_view *v;
    sc_cluster_info *st = NULL;
    size_t nst = 0, i;
    const char *ns;
    int w;
    if (o == NULL) {
        sc_seterr(err, errlen, "cluster view: no options");
        return NULL;
    }
    ns = (o->ns && *o->ns) ? o->ns : "scour";
    if (sc_cluster_parse_static(o->static_list, &st, &nst, err, errlen) != SC_OK)
        return NULL;
    v = calloc(1, sizeof *v);
    if (v == NULL || init_locks(v) != SC_OK) {
        free(v);
        free(st);
        sc_seterr(err, errlen, "cluster view: out of memory");
        return NULL;
    }
    w = snprintf(v->prefix, sizeof v->prefix, "%s/clusters/", ns);
    if (w < 0 || (size_t)w >= sizeof v->prefix) {
        sc_seterr(err, errlen, "cluster view: namespace too long");
        free(st);
        sc_cluster_view_free(v);
        return NULL;
    }
    for (i = 0; i < nst; i++) {
        view_entry *e = add_locked(v, st[i].name);
        if (e == NULL) {
            free(st);
            sc_seterr(err, errlen, "cluster view: out of memory");
            sc_cluster_view_free(v);
            return NULL;
        }
        e->info = st[i];
        e->has_static = 1;
        e->static_info = st[i];
    }
    free(st);
    v->generation = 1;

    if (o->etcd_url != NULL && *o->etcd_url != '\0') {
        etcd_opts eo;
        etcd_client *c;
        etcd_kv_list l;
        sc_status rs;
        char cerr[SC_ERRLEN];
        memset(&eo, 0, sizeof eo);
        eo.endpoint = o->etcd_url;
        eo.request_timeout_ms = o->etcd_timeout_ms > 0 ? o->etcd_timeout_ms : 0;
        eo.connect_timeout_ms =
            o->etcd_timeout_ms > 0 && o->etcd_timeout_ms < 2000 ? o->etcd_timeout_ms : 0;
        v->etcd_url = strdup(o->etcd_url);
        c = etcd_client_create(&eo, cerr, sizeof cerr);
        if (v->etcd_url == NULL || c == NULL) {
            sc_seterr(err, errlen, "cluster view: etcd client: %s", c ? "out of memory" : cerr);
            etcd_client_free(c);
            sc_cluster_view_free(v);
            return NULL;
        }
        rs = etcd_get_prefix(c, v->prefix, &l);
        if (rs != SC_OK) {
            sc_seterr(err, errlen, "cluster view: cannot read %s from etcd %s: %s", v->prefix,
                      o->etcd_url, etcd_errstr(c));
            etcd_client_free(c);
            sc_cluster_view_free(v);
            return NULL;
        }
        etcd_client_free(c);
        pthread_mutex_lock(&v->mu);
        for (i = 0; i < l.n; i++)
            apply_put_locked(v, &l.kvs[i]);
        v->stats.revision = l.revision;
        pthread_mutex_unlock(&v->mu);
        v->watch = etcd_watch_start(&eo, v->prefix, l.revision + 1, on_event, v, cerr, sizeof cerr);
        etcd_kv_list_free(&l);
        if (v->watch == NULL) {
            sc_seterr(err, errlen, "cluster view: watch: %s", cerr);
            sc_cluster_view_free(v);
            return NULL;
        }
    }
    return v;
}

void sc_cluster_view_free(sc_cluster_view *v)
{
    if (v == NULL)
        return;
    etcd_watch_stop(v->watch);
    pthread_mutex_destroy(&v->mu);
    pthread_cond_destroy(&v->cond);
    free(v->e);
    free(v->etcd_url);
    free(v);
}

sc_status sc_cluster_view_get(sc_cluster_view *v, const char *name, sc_cluster_info *out)
{
    view_entry *e;
    sc_status st = SC_ENOTFOUND;
    if (v == NULL || name == NULL || out == NULL)
        return SC_EINVAL;
    pthread_mutex_lock(&v->mu);
    e = find_locked(v, name);
    if (e != NULL) {
        *out = e->info;
        st = SC_OK;
    }
    pthread_mutex_unlock(&v->mu);
    return st;
}

sc_status sc_cluster_view_list(sc_cluster_view *v, sc_cluster_info **out, size_t *n)
{
    size_t i;
    if (v == NULL || out == NULL || n == NULL)
        return SC_EINVAL;
    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&v->mu);
    if (v->n > 0) {
        *out = malloc(v->n * sizeof **out);
        if (*out == NULL) {
            pthread_mutex_unlock(&v->mu);
            return SC_ENOMEM;
        }
        for (i = 0; i < v->n; i++)
            (*out)[i] = v->e[i].info;
        *n = v->n;
    }
    pthread_mutex_unlock(&v->mu);
    return SC_OK;
}

uint64_t sc_cluster_view_generation(sc_cluster_view *v)
{
    uint64_t g;
    pthread_mutex_lock(&v->mu);
    g = v->generation;
    pthread_mutex_unlock(&v->mu);
    return g;
}

uint64_t sc_cluster_view_wait(sc_cluster_view *v, uint64_t after, int timeout_ms)
{
    struct timespec dl;
    uint64_t g;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    if (timeout_ms > 0) {
        dl.tv_sec += timeout_ms / 1000;
        dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (dl.tv_nsec >= 1000000000L) {
            dl.tv_sec++;
            dl.tv_nsec -= 1000000000L;
        }
    }
    pthread_mutex_lock(&v->mu);
    while (v->generation <= after && timeout_ms > 0) {
        if (pthread_cond_timedwait(&v->cond, &v->mu, &dl) == ETIMEDOUT)
            break;
    }
    g = v->generation;
    pthread_mutex_unlock(&v->mu);
    return g;
}

void sc_cluster_view_get_stats(sc_cluster_view *v, sc_cluster_view_stats *out)
{
    pthread_mutex_lock(&v->mu);
    *out = v->stats;
    pthread_mutex_unlock(&v->mu);
}

/* ------------------------------------------------------------------ registration */

static etcd_client *reg_client(const char *etcd_url, char *err, size_t errlen)
{
    etcd_opts eo;
    if (etcd_url == NULL || *etcd_url == '\0') {
        sc_seterr(err, errlen, "no etcd URL");
        return NULL;
    }
    memset(&eo, 0, sizeof eo);
    eo.endpoint = etcd_url;
    return etcd_client_create(&eo, err, errlen);
}

sc_status sc_cluster_register(const char *etcd_url, const char *ns, const sc_cluster_info *info,
                              int64_t lease_id, char *err, size_t errlen)
{
    char key[VIEW_KEY_MAX];
    etcd_client *c;
    sc_buf b;
    sc_status st;
    if (info == NULL || ns == NULL || sc_cluster_key(ns, info->name, key, sizeof key) != SC_OK) {
        sc_seterr(err, errlen, "bad cluster name '%s'", info ? info->name : "(null)");
        return SC_EINVAL;
    }
    if (!url_ok(info->url, strlen(info->url))) {
        sc_seterr(err, errlen, "cluster %s: '%s' is not an http(s):// URL", info->name, info->url);
        return SC_EINVAL;
    }
    if ((c = reg_client(etcd_url, err, errlen)) == NULL)
        return SC_EINVAL;
    sc_buf_init(&b, 4096);
    st = sc_cluster_format_value(info, &b);
    if (st != SC_OK) {
        sc_seterr(err, errlen, "cluster %s: registration too large", info->name);
    } else {
        st = etcd_put(c, key, b.data, b.len, lease_id, NULL);
        if (st != SC_OK)
            sc_seterr(err, errlen, "etcd put %s: %s", key, etcd_errstr(c));
    }
    sc_buf_free(&b);
    etcd_client_free(c);
    return st;
}

sc_status sc_cluster_unregister(const char *etcd_url, const char *ns, const char *name, char *err,
                                size_t errlen)
{
    char key[VIEW_KEY_MAX];
    etcd_client *c;
    sc_status st;
    int64_t deleted = 0;
    if (ns == NULL || sc_cluster_key(ns, name, key, sizeof key) != SC_OK) {
        sc_seterr(err, errlen, "bad cluster name '%s'", name ? name : "(null)");
        return SC_EINVAL;
    }
    if ((c = reg_client(etcd_url, err, errlen)) == NULL)
        return SC_EINVAL;
    st = etcd_delete(c, key, &deleted);
    if (st != SC_OK)
        sc_seterr(err, errlen, "etcd delete %s: %s", key, etcd_errstr(c));
    else if (deleted == 0) {
        sc_seterr(err, errlen, "cluster %s is not registered", name);
        st = SC_ENOTFOUND;
    }
    etcd_client_free(c);
    return st;
}
