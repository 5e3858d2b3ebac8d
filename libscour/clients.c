/*
 * clients.c - es_client per cluster, made from config and the cluster's
 * registration, cached per thread; see clients.h.
 */
#include "clients.h"

#include "log.h"

#include <stdlib.h>
#include <string.h>

#define CL_ENSURED_MAX 64 /* indices remembered as present per cluster */

/* One cluster's client and what it was made for. */
typedef struct cl_entry {
    char name[SC_CLUSTER_NAME_MAX]; /* cluster name */
    char url[SC_CLUSTER_URL_MAX];   /* url es was made for ("" after a failure) */
    char cred[128];                 /* credentials reference es was made for (or failed with) */
    int cred_warned;                /* the failure of cred was logged */
    es_client *es;                  /* owned, may be NULL */
    char (*ensured)[128];           /* owned array: indices known to exist at url */
    int n_ensured;                  /* used entries of ensured */
} cl_entry;

struct sc_clients {
    es_opts base; /* template; strings are the owned copies below */
    char *user, *password, *api_key, *ca_file, *refresh; /* owned, may be NULL */
    sc_cluster_view *view;                               /* ref, may be NULL */
    int keep_gone;                                       /* see sc_clients_opts */
    cl_entry *e;                                         /* owned array */
    size_t n, cap;                                       /* used / allocated entries of e */
    char errstr[SC_ERRLEN];                              /* last failure */
};

static const char *nonempty(const char *s) { return s != NULL && *s != '\0' ? s : NULL; }

void sc_clients_base_opts(const sc_config *cfg, es_opts *out)
{
    memset(out, 0, sizeof *out);
    out->user = nonempty(cfg->es_user);
    out->password = cfg->es_password;
    out->api_key = nonempty(cfg->es_api_key);
    out->ca_file = nonempty(cfg->es_ca_file);
    out->connect_timeout_ms = cfg->es_connect_timeout_ms;
    out->timeout_ms = cfg->es_request_timeout_ms;
    out->replicas = cfg->es_replicas;
    out->refresh_interval = nonempty(cfg->es_refresh_interval);
}

/* sc_clients_make with a status: SC_ENOMEM, or SC_EINVAL for a reference
 * that cannot be resolved or options es_client_create refuses. */
static sc_status make(const sc_cluster_info *ci, const es_opts *base, es_client **out, char *err,
                      size_t errlen)
{
    es_opts o;
    char secrets[SC_CLUSTER_SECRET_BUF];
    sc_status st = sc_cluster_es_opts(ci, base, &o, secrets, sizeof secrets, err, errlen);
    *out = NULL;
    if (st == SC_OK && (*out = es_client_create(&o, err, errlen)) == NULL)
        st = SC_EINVAL;
    explicit_bzero(secrets, sizeof secrets);
    return st == SC_OK || st == SC_ENOMEM ? st : SC_EINVAL;
}

es_client *sc_clients_make(const sc_cluster_info *ci, const es_opts *base, char *err, size_t errlen)
{
    es_client *es;
    return make(ci, base, &es, err, errlen) == SC_OK ? es : NULL;
}

static char *dup_opt(const char *s, int *oom)
{
    char *d;
    if (s == NULL)
        return NULL;
    if ((d = strdup(s)) == NULL)
        *oom = 1;
    return d;
}

sc_clients *sc_clients_create(const sc_clients_opts *o, char *err, size_t errlen)
{
    sc_clients *c;
    int oom = 0;
    if (o == NULL || o->base == NULL) {
        sc_seterr(err, errlen, "clients: base options are required");
        return NULL;
    }
    if ((c = calloc(1, sizeof *c)) == NULL) {
        sc_seterr(err, errlen, "clients: out of memory");
        return NULL;
    }
    c->base = *o->base;
    c->base.url = NULL;
    c->base.user = c->user = dup_opt(o->base->user, &oom);
    c->base.password = c->password = dup_opt(o->base->password, &oom);
    c->base.api_key = c->api_key = dup_opt(o->base->api_key, &oom);
    c->base.ca_file = c->ca_file = dup_opt(o->base->ca_file, &oom);
    c->base.refresh_interval = c->refresh = dup_opt(o->base->refresh_interval, &oom);
    c->view = o->view;
    c->keep_gone = o->keep_gone;
    if (oom) {
        sc_clients_free(c);
        sc_seterr(err, errlen, "clients: out of memory");
        return NULL;
    }
    return c;
}

static void entry_clear(cl_entry *e)
{
    es_client_free(e->es);
    free(e->ensured);
}

void sc_clients_free(sc_clients *c)
{
    size_t i;
    if (c == NULL)
        return;
    for (i = 0; i < c->n; i++)
        entry_clear(&c->e[i]);
    free(c->e);
    free(c->user);
    free(c->password);
    free(c->api_key);
    free(c->ca_file);
    free(c->refresh);
    free(c);
}

const char *sc_clients_errstr(const sc_clients *c)
{
    return c != NULL ? c->errstr : "clients: no cache";
}

static cl_entry *find(sc_clients *c, const char *name)
{
    size_t i;
    for (i = 0; i < c->n; i++)
        if (strcmp(c->e[i].name, name) == 0)
            return &c->e[i];
    return NULL;
}

static cl_entry *find_or_add(sc_clients *c, const char *name)
{
    cl_entry *e = find(c, name);
    if (e != NULL)
        return e;
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 8;
        cl_entry *ne = realloc(c->e, nc * sizeof *ne);
        if (ne == NULL)
            return NULL;
        c->e = ne;
        c->cap = nc;
    }
    e = &c->e[c->n++];
    memset(e, 0, sizeof *e);
    snprintf(e->name, sizeof e->name, "%s", name);
    return e;
}

sc_status sc_clients_for(sc_clients *c, const sc_cluster_info *ci, es_client **out)
{
    cl_entry *e;
    char err[SC_ERRLEN] = "";
    sc_status st;
    *out = NULL;
    c->errstr[0] = '\0';
    if ((e = find_or_add(c, ci->name)) == NULL) {
        sc_seterr(c->errstr, sizeof c->errstr, "cluster %s: out of memory", ci->name);
        return SC_ENOMEM;
    }
    if (e->es != NULL && strcmp(e->url, ci->url) == 0 && strcmp(e->cred, ci->credentials) == 0) {
        *out = e->es;
        return SC_OK;
    }
    es_client_free(e->es);
    st = make(ci, &c->base, &e->es, err, sizeof err);
    if (st != SC_OK) {
        /* a configuration error, not an outage: say it once per reference */
        if (!e->cred_warned || strcmp(e->cred, ci->credentials) != 0)
            log_warn("cluster %s: %s", ci->name, err);
        e->cred_warned = 1;
        snprintf(e->cred, sizeof e->cred, "%s", ci->credentials);
        e->url[0] = '\0';
        sc_seterr(c->errstr, sizeof c->errstr, "cluster %s: %s", ci->name, err);
        return st;
    }
    if (strcmp(e->url, ci->url) != 0)
        e->n_ensured = 0; /* another server: its indices are unknown */
    snprintf(e->url, sizeof e->url, "%s", ci->url);
    snprintf(e->cred, sizeof e->cred, "%s", ci->credentials);
    e->cred_warned = 0;
    *out = e->es;
    return SC_OK;
}

sc_status sc_clients_get(sc_clients *c, const char *name, es_client **out)
{
    sc_cluster_info ci;
    cl_entry *e;
    sc_status st;
    *out = NULL;
    c->errstr[0] = '\0';
    st = c->view != NULL ? sc_cluster_view_get(c->view, name, &ci) : SC_ENOTFOUND;
    if (st == SC_OK && ci.live)
        return sc_clients_for(c, &ci, out);
    if (c->keep_gone && (e = find(c, name)) != NULL && e->es != NULL) {
        *out = e->es;
        return SC_OK;
    }
    if (st != SC_OK) {
        sc_seterr(c->errstr, sizeof c->errstr, "cluster %s is unknown", name);
        return st == SC_ENOTFOUND ? SC_ENOTFOUND : st;
    }
    sc_seterr(c->errstr, sizeof c->errstr, "cluster %s is not live", name);
    return SC_ECONN;
}

sc_status sc_clients_ensure_index(sc_clients *c, const char *name, const char *index,
                                  const char *schema_json)
{
    es_client *es;
    cl_entry *e;
    int i;
    sc_status st = sc_clients_get(c, name, &es);
    if (st != SC_OK)
        return st;
    e = find(c, name);
    for (i = 0; i < e->n_ensured; i++)
        if (strcmp(e->ensured[i], index) == 0)
            return SC_OK;
    st = es_ensure_index(es, index, schema_json);
    if (st != SC_OK) {
        sc_seterr(c->errstr, sizeof c->errstr, "ensure index %s on %s: %s", index, name,
                  es_errstr(es));
        return st;
    }
    if (e->ensured == NULL)
        e->ensured = calloc(CL_ENSURED_MAX, sizeof *e->ensured);
    if (e->ensured != NULL && e->n_ensured < CL_ENSURED_MAX)
        snprintf(e->ensured[e->n_ensured++], sizeof e->ensured[0], "%s", index);
    return SC_OK;
}

void sc_clients_drop(sc_clients *c, const char *name)
{
    cl_entry *e = c != NULL ? find(c, name) : NULL;
    if (e == NULL)
        return;
    entry_clear(e);
    *e = c->e[--c->n];
}
