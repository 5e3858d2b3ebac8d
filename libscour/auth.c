/*
 * auth.c - who is asking: the bearer token of a request, checked against a
 * key set (jwt.c: the HS256 secret and the JWKS) under an aud/iss/leeway
 * policy, and the key set's reload (the router's SIGHUP) for key rotation;
 * see auth.h.
 *
 * The key set is swapped whole under a rwlock: a reload builds the new set
 * first and keeps the old one when the new file is invalid, so a bad edit of
 * the JWKS never locks users out. Each thread remembers the last token it
 * verified (clients send the same token on every request); the memory is
 * tied to the key set's generation, so a key removed by a reload stops
 * working at once, cached or not.
 *
 * Not here: the token rules (jwt.h), signals and HTTP (router/).
 */
#include "auth.h"

#include "jwt.h"
#include "log.h"

#include <pthread.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

struct sc_auth {
    pthread_rwlock_t lock; /* guards keys and gen */
    sc_jwt_keys *keys;     /* owned; never NULL after create */
    uint64_t gen;          /* generation of keys (unique in the process) */
    char *secret;          /* owned copy of jwt_secret ("" = none) */
    char *jwks_file;       /* owned copy of jwt_jwks_file ("" = none) */
    char *audience;        /* owned copy of jwt_audience */
    char *issuer;          /* owned copy of jwt_issuer */
    int leeway_s;          /* jwt_leeway_s */
};

static uint64_t next_gen; /* atomic: the last generation handed out */

static sc_jwt_keys *load_keys(const sc_auth *a, char *err, size_t errlen)
{
    sc_jwt_keys_opts o;
    memset(&o, 0, sizeof(o));
    o.secret = a->secret;
    o.jwks_file = a->jwks_file;
    return sc_jwt_keys_create(&o, err, errlen);
}

sc_auth *sc_auth_create(const sc_auth_opts *o, char *err, size_t errlen)
{
    sc_auth *a = calloc(1, sizeof(*a));
    if (a == NULL) {
        sc_seterr(err, errlen, "out of memory");
        return NULL;
    }
    pthread_rwlock_init(&a->lock, NULL);
    a->secret = strdup(o->secret != NULL ? o->secret : "");
    a->jwks_file = strdup(o->jwks_file != NULL ? o->jwks_file : "");
    a->audience = strdup(o->audience != NULL ? o->audience : "");
    a->issuer = strdup(o->issuer != NULL ? o->issuer : "");
    a->leeway_s = o->leeway_s;
    if (a->secret == NULL || a->jwks_file == NULL || a->audience == NULL || a->issuer == NULL) {
        sc_seterr(err, errlen, "out of memory");
        sc_auth_free(a);
        return NULL;
    }
    a->keys = load_keys(a, err, errlen);
    if (a->keys == NULL) {
        sc_auth_free(a);
        return NULL;
    }
    a->gen = __atomic_add_fetch(&next_gen, 1, __ATOMIC_RELAXED);
    return a;
}

void sc_auth_free(sc_auth *a)
{
    if (a == NULL)
        return;
    sc_jwt_keys_free(a->keys);
    pthread_rwlock_destroy(&a->lock);
    if (a->secret != NULL)
        memset(a->secret, 0, strlen(a->secret));
    free(a->secret);
    free(a->jwks_file);
    free(a->audience);
    free(a->issuer);
    free(a);
}

sc_status sc_auth_reload(sc_auth *a, size_t *nkeys, char *err, size_t errlen)
{
    sc_jwt_keys *next, *old;
    if (a->jwks_file[0] == '\0') {
        sc_seterr(err, errlen, "no jwt_jwks_file to reload");
        return SC_ENOTFOUND;
    }
    next = load_keys(a, err, errlen);
    if (next == NULL)
        return SC_EINVAL; /* the old keys stay */
    pthread_rwlock_wrlock(&a->lock);
    old = a->keys;
    a->keys = next;
    a->gen = __atomic_add_fetch(&next_gen, 1, __ATOMIC_RELAXED);
    pthread_rwlock_unlock(&a->lock);
    sc_jwt_keys_free(old);
    if (nkeys != NULL)
        *nkeys = sc_jwt_keys_count(next);
    return SC_OK;
}

/* The last token this thread verified: a hit needs the same bytes (compared
 * in constant time), the same key generation and a token not yet past its
 * exp. */
#define AUTH_CACHE_TOKEN 2048
static __thread struct {
    char token[AUTH_CACHE_TOKEN]; /* last verified token, NUL-terminated; "" = none */
    size_t len;                   /* strlen(token) */
    uint64_t gen;                 /* key generation it was verified with */
    uint64_t user;                /* its "sub" */
    int64_t exp;                  /* its "exp", Unix seconds */
} auth_cache;

static int auth_cached(const char *tok, size_t len, uint64_t gen, int64_t now_s, uint64_t *user)
{
    unsigned char diff = 0;
    if (auth_cache.len == 0 || auth_cache.len != len || auth_cache.gen != gen ||
        now_s > auth_cache.exp)
        return 0;
    for (size_t i = 0; i < len; i++)
        diff |= (unsigned char)(auth_cache.token[i] ^ tok[i]);
    if (diff != 0)
        return 0;
    *user = auth_cache.user;
    return 1;
}

uint64_t sc_auth_user(sc_auth *a, const char *h)
{
    sc_jwt_claims cl;
    sc_jwt_policy pol;
    char err[SC_ERRLEN];
    int64_t now_s = (int64_t)time(NULL);
    size_t len;
    uint64_t user, gen;
    sc_status st;

    if (h == NULL)
        return 0;
    while (*h == ' ')
        h++;
    if (strncasecmp(h, "Bearer ", 7) != 0)
        return 0;
    h += 7;
    while (*h == ' ')
        h++;
    len = strlen(h);
    pol.audience = a->audience;
    pol.issuer = a->issuer;
    pol.leeway_s = a->leeway_s;
    pthread_rwlock_rdlock(&a->lock);
    gen = a->gen;
    if (auth_cached(h, len, gen, now_s, &user)) {
        pthread_rwlock_unlock(&a->lock);
        return user;
    }
    st = sc_jwt_verify_keys(a->keys, &pol, h, now_s, &cl, err, sizeof(err));
    pthread_rwlock_unlock(&a->lock);
    if (st != SC_OK) {
        log_debug("auth: token rejected: %s", err);
        return 0;
    }
    if (len < AUTH_CACHE_TOKEN) {
        memcpy(auth_cache.token, h, len + 1);
        auth_cache.len = len;
        auth_cache.gen = gen;
        auth_cache.user = cl.user_id;
        auth_cache.exp = cl.exp;
    }
    return cl.user_id;
}
