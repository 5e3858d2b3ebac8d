/*
 * etcd_auth.c - the TLS files and user/password credentials of the etcd
 * client (etcd.c, etcd_watch.c): the process defaults the programs set from
 * their config, each client's owned copy, the curl TLS options, and the
 * headers that carry the auth token. The login call itself is etcd.c's
 * (it is one more POST).
 */
#include "etcd_int.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

/* Set once by etcd_set_defaults before threads start; read-only after. */
static etcd_sec g_defaults;

static sc_status dup_opt(char **dst, const char *s)
{
    *dst = NULL;
    if (s == NULL || s[0] == '\0')
        return SC_OK;
    *dst = strdup(s);
    return *dst != NULL ? SC_OK : SC_ENOMEM;
}

static void wipe_free(char *s)
{
    if (s != NULL)
        explicit_bzero(s, strlen(s));
    free(s);
}

void etcd_sec_clear(etcd_sec *s)
{
    free(s->ca_file);
    free(s->cert_file);
    free(s->key_file);
    free(s->user);
    wipe_free(s->password);
    wipe_free(s->token);
    curl_slist_free_all(s->hdrs);
    memset(s, 0, sizeof *s);
}

sc_status etcd_set_defaults(const etcd_opts *d)
{
    etcd_sec n;
    memset(&n, 0, sizeof n);
    if (d != NULL &&
        (dup_opt(&n.ca_file, d->ca_file) != SC_OK || dup_opt(&n.cert_file, d->cert_file) != SC_OK ||
         dup_opt(&n.key_file, d->key_file) != SC_OK || dup_opt(&n.user, d->user) != SC_OK ||
         dup_opt(&n.password, d->password) != SC_OK)) {
        etcd_sec_clear(&n);
        return SC_ENOMEM;
    }
    etcd_sec_clear(&g_defaults);
    g_defaults = n;
    return SC_OK;
}

/* o's value when set (even ""), else the default's. */
static const char *pick(const char *mine, const char *def) { return mine != NULL ? mine : def; }

sc_status etcd_sec_init(etcd_sec *s, const etcd_opts *o)
{
    memset(s, 0, sizeof *s);
    if (dup_opt(&s->ca_file, pick(o->ca_file, g_defaults.ca_file)) != SC_OK ||
        dup_opt(&s->cert_file, pick(o->cert_file, g_defaults.cert_file)) != SC_OK ||
        dup_opt(&s->key_file, pick(o->key_file, g_defaults.key_file)) != SC_OK ||
        dup_opt(&s->user, pick(o->user, g_defaults.user)) != SC_OK ||
        dup_opt(&s->password, pick(o->password, g_defaults.password)) != SC_OK ||
        etcd_sec_set_token(s, NULL) != SC_OK) {
        etcd_sec_clear(s);
        return SC_ENOMEM;
    }
    return SC_OK;
}

void etcd_sec_tls(const etcd_sec *s, CURL *e)
{
    if (s->ca_file != NULL)
        curl_easy_setopt(e, CURLOPT_CAINFO, s->ca_file);
    if (s->cert_file != NULL) {
        curl_easy_setopt(e, CURLOPT_SSLCERT, s->cert_file);
        curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
    }
    if (s->key_file != NULL)
        curl_easy_setopt(e, CURLOPT_SSLKEY, s->key_file);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
}

sc_status etcd_sec_set_token(etcd_sec *s, const char *token)
{
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    char *t = NULL;
    if (h != NULL && token != NULL) {
        size_t n = strlen(token) + sizeof("Authorization: ");
        char *line = malloc(n);
        t = strdup(token);
        if (line != NULL && t != NULL) {
            struct curl_slist *h2;
            snprintf(line, n, "Authorization: %s", token);
            h2 = curl_slist_append(h, line);
            if (h2 == NULL) {
                curl_slist_free_all(h);
                h = NULL;
            }
        }
        wipe_free(line);
        if (line == NULL || t == NULL) {
            curl_slist_free_all(h);
            h = NULL;
        }
    }
    if (h == NULL) {
        wipe_free(t);
        return SC_ENOMEM;
    }
    curl_slist_free_all(s->hdrs);
    wipe_free(s->token);
    s->hdrs = h;
    s->token = t;
    return SC_OK;
}

sc_status etcd_sec_login_body(const etcd_sec *s, sc_buf *b)
{
    cJSON *o = cJSON_CreateObject();
    char *text;
    sc_status st = SC_ENOMEM;
    if (o == NULL)
        return SC_ENOMEM;
    if (cJSON_AddStringToObject(o, "name", s->user) != NULL &&
        cJSON_AddStringToObject(o, "password", s->password != NULL ? s->password : "") != NULL &&
        (text = cJSON_PrintUnformatted(o)) != NULL) {
        st = sc_buf_puts(b, text);
        wipe_free(text);
    }
    /* the tree holds a copy of the password too */
    cJSON *pw = cJSON_GetObjectItemCaseSensitive(o, "password");
    if (cJSON_IsString(pw))
        explicit_bzero(pw->valuestring, strlen(pw->valuestring));
    cJSON_Delete(o);
    return st;
}
