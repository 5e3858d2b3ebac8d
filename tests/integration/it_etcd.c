/*
 * it_etcd.c - etcd.c and etcd_watch.c against the real etcd of the local stack
 * (t_env("SC_ETCD_URL")): key/value calls, leases and keepalive, the watcher
 * (lease expiry seen as DELETE, reconnect after the connection is cut by a
 * small TCP proxy in this file, RESYNC after compaction, prompt stop) and the
 * unreachable-endpoint path. Every test works under its own unique key prefix
 * and deletes it at the end.
 *
 * Note: test_watch_compacted compacts the shared etcd up to the current
 * revision; that only drops history, never live keys.
 */
#include "testlib.h"

#include "etcd.h"
#include "sc.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ------------------------------------------------------------ helpers */

static etcd_opts opts_for(const char *url)
{
    etcd_opts o;
    memset(&o, 0, sizeof(o));
    o.endpoint = url;
    o.connect_timeout_ms = 1000;
    o.request_timeout_ms = 3000;
    o.watch_backoff_min_ms = 50;
    o.watch_backoff_max_ms = 300;
    return o;
}

static etcd_client *client(void)
{
    char err[SC_ERRLEN];
    etcd_opts o = opts_for(t_env("SC_ETCD_URL"));
    etcd_client *h = etcd_client_create(&o, err, sizeof(err));
    if (h == NULL)
        fail_msg("etcd_client_create: %s", err);
    return h;
}

#define OK(h, call)                                                              \
    do {                                                                         \
        sc_status st_ = (call);                                                  \
        if (st_ != SC_OK)                                                        \
            fail_msg("%s -> %s: %s", #call, sc_status_str(st_), etcd_errstr(h)); \
    } while (0)

static void put_str(etcd_client *h, const char *key, const char *val, int64_t lease, int64_t *rev)
{
    OK(h, etcd_put(h, key, val, strlen(val), lease, rev));
}

static void cleanup_prefix(const char *prefix)
{
    etcd_client *h = client();
    int64_t n;
    OK(h, etcd_delete_prefix(h, prefix, &n));
    etcd_client_free(h);
}

/* Events a watcher delivered, copied out of the callback. */
#define REC_MAX 256
typedef struct rec_event {
    etcd_event_type type;
    char key[128];
    char value[128];
    int64_t revision;
} rec_event;

typedef struct recorder {
    pthread_mutex_t mu;
    rec_event ev[REC_MAX];
    int n;
} recorder;

static void rec_init(recorder *r)
{
    memset(r, 0, sizeof(*r));
    pthread_mutex_init(&r->mu, NULL);
}

static void rec_cb(void *ctx, const etcd_event *ev)
{
    recorder *r = ctx;
    pthread_mutex_lock(&r->mu);
    if (r->n < REC_MAX) {
        rec_event *e = &r->ev[r->n++];
        e->type = ev->type;
        e->revision = ev->revision;
        snprintf(e->key, sizeof(e->key), "%s", ev->kv.key != NULL ? ev->kv.key : "");
        snprintf(e->value, sizeof(e->value), "%s", ev->kv.value != NULL ? ev->kv.value : "");
    }
    pthread_mutex_unlock(&r->mu);
}

/* Index of the first event at or after from with this type and key ("" =
 * any key), or -1. */
static int rec_find(recorder *r, int from, etcd_event_type type, const char *key)
{
    int found = -1;
    pthread_mutex_lock(&r->mu);
    for (int i = from; i < r->n; i++) {
        if (r->ev[i].type == type && (key[0] == '\0' || strcmp(r->ev[i].key, key) == 0)) {
            found = i;
            break;
        }
    }
    pthread_mutex_unlock(&r->mu);
    return found;
}

static int rec_count(recorder *r, etcd_event_type type, const char *key)
{
    int c = 0;
    pthread_mutex_lock(&r->mu);
    for (int i = 0; i < r->n; i++)
        if (r->ev[i].type == type && (key[0] == '\0' || strcmp(r->ev[i].key, key) == 0))
            c++;
    pthread_mutex_unlock(&r->mu);
    return c;
}

typedef struct wait_arg {
    recorder *r;
    etcd_event_type type;
    const char *key;
    int count;
} wait_arg;

static int pred_seen(void *p)
{
    wait_arg *a = p;
    return rec_count(a->r, a->type, a->key) >= a->count;
}

/* Wait until count events of this type and key ("" = any) were delivered. */
static void wait_count(recorder *r, etcd_event_type type, const char *key, int count,
                       int timeout_ms)
{
    wait_arg a = {r, type, key, count};
    if (!t_wait_until(pred_seen, &a, timeout_ms))
        fail_msg("not %d events type %d for key '%s' within %d ms (%d events seen)", count, type,
                 key, timeout_ms, r->n);
}

static void wait_event(recorder *r, etcd_event_type type, const char *key, int timeout_ms)
{
    wait_count(r, type, key, 1, timeout_ms);
}

static etcd_watch *watch(const char *url, const char *prefix, int64_t rev, recorder *r)
{
    char err[SC_ERRLEN];
    etcd_opts o = opts_for(url);
    etcd_watch *w = etcd_watch_start(&o, prefix, rev, rec_cb, r, err, sizeof(err));
    if (w == NULL)
        fail_msg("etcd_watch_start: %s", err);
    return w;
}

/* ------------------------------------------------------------ TCP proxy */

/* A one-thread TCP relay to etcd that a test can cut (close every open
 * connection) and make refuse new connections, to break a watch stream the
 * way a network failure would. */
#define PX_MAX 16
typedef struct proxy {
    int lfd;            /* listening socket */
    int port;           /* its port */
    int up_port;        /* etcd's port */
    atomic_int refuse;  /* close new connections at once */
    atomic_int cut;     /* set to close every open pair */
    atomic_int stop;    /* end the thread */
    int fds[PX_MAX][2]; /* client, upstream; -1 when free */
    pthread_t th;       /* relay thread */
    char url[64];       /* http://127.0.0.1:port */
} proxy;

static void px_close(proxy *p, int i)
{
    close(p->fds[i][0]);
    close(p->fds[i][1]);
    p->fds[i][0] = p->fds[i][1] = -1;
}

static int px_connect_up(int port)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

static void *px_main(void *arg)
{
    proxy *p = arg;
    char buf[16384];
    while (!atomic_load(&p->stop)) {
        struct pollfd pf[1 + 2 * PX_MAX];
        int map[1 + 2 * PX_MAX], np = 1;
        if (atomic_exchange(&p->cut, 0))
            for (int i = 0; i < PX_MAX; i++)
                if (p->fds[i][0] >= 0)
                    px_close(p, i);
        pf[0].fd = p->lfd;
        pf[0].events = POLLIN;
        for (int i = 0; i < PX_MAX; i++) {
            if (p->fds[i][0] < 0)
                continue;
            for (int k = 0; k < 2; k++) {
                pf[np].fd = p->fds[i][k];
                pf[np].events = POLLIN;
                map[np++] = i * 2 + k;
            }
        }
        if (poll(pf, (nfds_t)np, 20) <= 0)
            continue;
        if (pf[0].revents & POLLIN) {
            int c = accept(p->lfd, NULL, NULL);
            int slot = -1;
            for (int i = 0; i < PX_MAX && slot < 0; i++)
                if (p->fds[i][0] < 0)
                    slot = i;
            if (c >= 0 && (atomic_load(&p->refuse) || slot < 0)) {
                close(c);
            } else if (c >= 0) {
                int u = px_connect_up(p->up_port);
                if (u < 0) {
                    close(c);
                } else {
                    p->fds[slot][0] = c;
                    p->fds[slot][1] = u;
                }
            }
        }
        for (int j = 1; j < np; j++) {
            int i = map[j] / 2, k = map[j] % 2;
            if (!(pf[j].revents & (POLLIN | POLLHUP | POLLERR)) || p->fds[i][0] < 0)
                continue;
            ssize_t n = read(p->fds[i][k], buf, sizeof(buf));
            if (n <= 0) {
                px_close(p, i);
                continue;
            }
            for (ssize_t off = 0; off < n;) {
                ssize_t m = write(p->fds[i][1 - k], buf + off, (size_t)(n - off));
                if (m <= 0)
                    break;
                off += m;
            }
        }
    }
    for (int i = 0; i < PX_MAX; i++)
        if (p->fds[i][0] >= 0)
            px_close(p, i);
    return NULL;
}

static void px_start(proxy *p)
{
    struct sockaddr_in a;
    socklen_t al = sizeof(a);
    const char *url = t_env("SC_ETCD_URL");
    const char *colon = strrchr(url, ':');
    memset(p, 0, sizeof(*p));
    assert_non_null(colon);
    p->up_port = atoi(colon + 1);
    assert_true(p->up_port > 0);
    for (int i = 0; i < PX_MAX; i++)
        p->fds[i][0] = p->fds[i][1] = -1;
    p->lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(p->lfd >= 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(p->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(p->lfd, 16), 0);
    assert_int_equal(getsockname(p->lfd, (struct sockaddr *)&a, &al), 0);
    p->port = ntohs(a.sin_port);
    snprintf(p->url, sizeof(p->url), "http://127.0.0.1:%d", p->port);
    assert_int_equal(pthread_create(&p->th, NULL, px_main, p), 0);
}

static void px_stop(proxy *p)
{
    atomic_store(&p->stop, 1);
    pthread_join(p->th, NULL);
    close(p->lfd);
}

/* ------------------------------------------------------------ tests */

static void test_kv_roundtrip(void **state)
{
    char base[64], k[160], sib[160];
    etcd_client *h = client();
    etcd_kv_list l;
    int64_t r1 = 0, r2 = 0, n = -1;
    const unsigned char bin[] = {0x00, 0xff, 0x10, 'x', 0x00};
    (void)state;
    t_unique(base, sizeof(base), "it-etcd-kv");
    snprintf(sib, sizeof(sib), "%s0", base); /* sorts right after "<base>/..." */
    put_str(h, sib, "outside", 0, NULL);

    snprintf(k, sizeof(k), "%s/a", base);
    put_str(h, k, "one", 0, &r1);
    assert_true(r1 > 0);
    put_str(h, k, "two", 0, &r2);
    assert_true(r2 > r1);
    OK(h, etcd_get(h, k, &l));
    assert_int_equal(l.n, 1);
    assert_string_equal(l.kvs[0].key, k);
    assert_string_equal(l.kvs[0].value, "two");
    assert_int_equal(l.kvs[0].create_revision, r1);
    assert_int_equal(l.kvs[0].mod_revision, r2);
    assert_int_equal(l.kvs[0].version, 2);
    assert_int_equal(l.kvs[0].lease, 0);
    assert_true(l.revision >= r2);
    etcd_kv_list_free(&l);

    snprintf(k, sizeof(k), "%s/b", base);
    OK(h, etcd_put(h, k, bin, sizeof(bin), 0, NULL)); /* binary with NULs */
    snprintf(k, sizeof(k), "%s/c/d", base);
    OK(h, etcd_put(h, k, "", 0, 0, NULL)); /* empty value */

    char pfx[80];
    snprintf(pfx, sizeof(pfx), "%s/", base);
    OK(h, etcd_get_prefix(h, pfx, &l));
    assert_int_equal(l.n, 3);
    assert_int_equal(l.count, 3);
    assert_non_null(strstr(l.kvs[0].key, "/a"));
    assert_non_null(strstr(l.kvs[1].key, "/b"));
    assert_int_equal(l.kvs[1].value_len, sizeof(bin));
    assert_memory_equal(l.kvs[1].value, bin, sizeof(bin));
    assert_non_null(strstr(l.kvs[2].key, "/c/d"));
    assert_int_equal(l.kvs[2].value_len, 0);
    assert_string_equal(l.kvs[2].value, "");
    etcd_kv_list_free(&l);

    /* an absent key is an empty answer, not an error */
    snprintf(k, sizeof(k), "%s/nope", base);
    OK(h, etcd_get(h, k, &l));
    assert_int_equal(l.n, 0);
    assert_true(l.revision > 0);
    etcd_kv_list_free(&l);

    snprintf(k, sizeof(k), "%s/a", base);
    OK(h, etcd_delete(h, k, &n));
    assert_int_equal(n, 1);
    OK(h, etcd_delete(h, k, &n));
    assert_int_equal(n, 0);
    OK(h, etcd_delete_prefix(h, pfx, &n));
    assert_int_equal(n, 2);
    OK(h, etcd_get_prefix(h, pfx, &l));
    assert_int_equal(l.n, 0);
    etcd_kv_list_free(&l);
    /* the sibling outside the prefix survived */
    OK(h, etcd_get(h, sib, &l));
    assert_int_equal(l.n, 1);
    assert_string_equal(l.kvs[0].value, "outside");
    etcd_kv_list_free(&l);
    OK(h, etcd_delete(h, sib, &n));
    assert_int_equal(n, 1);
    etcd_client_free(h);
}

static void test_lease_keepalive(void **state)
{
    char base[64], k[128];
    etcd_client *h = client();
    etcd_kv_list l;
    int64_t id = 0, ttl = 0, left = 0;
    (void)state;
    t_unique(base, sizeof(base), "it-etcd-lease");
    snprintf(k, sizeof(k), "%s/alive", base);
    OK(h, etcd_lease_grant(h, 2, &id, &ttl));
    assert_true(id > 0);
    assert_true(ttl >= 2);
    put_str(h, k, "x", id, NULL);
    OK(h, etcd_get(h, k, &l));
    assert_int_equal(l.n, 1);
    assert_int_equal(l.kvs[0].lease, id);
    etcd_kv_list_free(&l);

    /* keep it alive for twice its TTL */
    int64_t until = sc_now_ms() + 2 * ttl * 1000 + 500;
    while (sc_now_ms() < until) {
        OK(h, etcd_lease_keepalive(h, id, &left));
        assert_true(left >= 1 && left <= ttl);
        usleep(500 * 1000);
    }
    OK(h, etcd_get(h, k, &l));
    assert_int_equal(l.n, 1);
    etcd_kv_list_free(&l);

    /* revoking deletes the key; the lease is then unknown */
    OK(h, etcd_lease_revoke(h, id));
    OK(h, etcd_get(h, k, &l));
    assert_int_equal(l.n, 0);
    etcd_kv_list_free(&l);
    assert_int_equal(etcd_lease_keepalive(h, id, &left), SC_ENOTFOUND);
    assert_int_equal(left, 0);
    assert_int_equal(etcd_lease_revoke(h, id), SC_ENOTFOUND);
    etcd_client_free(h);
}

static void test_watch_lease_expiry(void **state)
{
    char base[64], pfx[80], k[128];
    recorder r;
    etcd_client *h = client();
    int64_t id = 0;
    (void)state;
    rec_init(&r);
    t_unique(base, sizeof(base), "it-etcd-expire");
    snprintf(pfx, sizeof(pfx), "%s/", base);
    snprintf(k, sizeof(k), "%s/node1", base);
    put_str(h, k, "pre", 0, NULL); /* in the initial snapshot */

    etcd_watch *w = watch(t_env("SC_ETCD_URL"), pfx, 0, &r);
    wait_event(&r, ETCD_EV_SYNCED, "", 5000);
    assert_int_equal(r.ev[0].type, ETCD_EV_RESYNC);
    assert_int_equal(r.ev[1].type, ETCD_EV_PUT);
    assert_string_equal(r.ev[1].value, "pre");
    assert_int_equal(r.ev[2].type, ETCD_EV_SYNCED);

    OK(h, etcd_lease_grant(h, 2, &id, NULL));
    put_str(h, k, "leased", id, NULL);
    int64_t t0 = sc_now_ms();
    wait_event(&r, ETCD_EV_DELETE, k, 8000);
    int64_t took = sc_now_ms() - t0;
    assert_true(took >= 1000); /* it was the expiry, not something else */
    int put = rec_find(&r, 3, ETCD_EV_PUT, k);
    int del = rec_find(&r, 0, ETCD_EV_DELETE, k);
    assert_true(put >= 3 && put < del);
    assert_string_equal(r.ev[put].value, "leased");
    assert_true(r.ev[del].revision > r.ev[put].revision);

    etcd_watch_stats s;
    etcd_watch_get_stats(w, &s);
    assert_int_equal(s.resyncs, 1);
    assert_true(s.connects >= 1);
    assert_int_equal(s.next_revision, r.ev[del].revision + 1);
    etcd_watch_stop(w);
    etcd_client_free(h);
    cleanup_prefix(pfx);
}

static void test_watch_reconnect(void **state)
{
    char base[64], pfx[80], k1[128], k2[128], k3[128];
    recorder r;
    proxy px;
    etcd_client *h = client();
    etcd_watch_stats s;
    int64_t n;
    (void)state;
    rec_init(&r);
    px_start(&px);
    t_unique(base, sizeof(base), "it-etcd-recon");
    snprintf(pfx, sizeof(pfx), "%s/", base);
    snprintf(k1, sizeof(k1), "%s/k1", base);
    snprintf(k2, sizeof(k2), "%s/k2", base);
    snprintf(k3, sizeof(k3), "%s/k3", base);

    etcd_watch *w = watch(px.url, pfx, 0, &r);
    wait_event(&r, ETCD_EV_SYNCED, "", 5000);
    put_str(h, k1, "v1", 0, NULL);
    wait_event(&r, ETCD_EV_PUT, k1, 5000);

    /* break the stream and keep etcd unreachable while things change */
    atomic_store(&px.refuse, 1);
    atomic_store(&px.cut, 1);
    usleep(300 * 1000);
    put_str(h, k2, "v2", 0, NULL);
    put_str(h, k3, "v3", 0, NULL);
    OK(h, etcd_delete(h, k1, &n));
    assert_int_equal(n, 1);
    usleep(500 * 1000);
    etcd_watch_get_stats(w, &s);
    assert_true(s.failures >= 1);
    assert_int_equal(rec_find(&r, 0, ETCD_EV_PUT, k2), -1); /* nothing got through */
    atomic_store(&px.refuse, 0);

    /* it reconnects from the revision after k1's put and misses nothing */
    wait_event(&r, ETCD_EV_DELETE, k1, 5000);
    int i2 = rec_find(&r, 0, ETCD_EV_PUT, k2), i3 = rec_find(&r, 0, ETCD_EV_PUT, k3);
    int id1 = rec_find(&r, 0, ETCD_EV_DELETE, k1);
    assert_true(i2 >= 0 && i2 < i3 && i3 < id1);
    assert_string_equal(r.ev[i3].value, "v3");
    assert_int_equal(rec_count(&r, ETCD_EV_PUT, k1), 1);    /* no replay */
    assert_int_equal(rec_count(&r, ETCD_EV_RESYNC, ""), 1); /* no resync needed */
    etcd_watch_get_stats(w, &s);
    assert_true(s.connects >= 2);
    assert_int_equal(s.events, 4);

    /* a burst after the reconnect arrives whole and in order */
    for (int i = 0; i < 40; i++) {
        char k[160], v[16];
        snprintf(k, sizeof(k), "%s/burst%02d", base, i);
        snprintf(v, sizeof(v), "%d", i);
        put_str(h, k, v, 0, NULL);
    }
    char last[160];
    snprintf(last, sizeof(last), "%s/burst39", base);
    wait_event(&r, ETCD_EV_PUT, last, 5000);
    int prev = -1;
    for (int i = 0; i < 40; i++) {
        char k[160];
        snprintf(k, sizeof(k), "%s/burst%02d", base, i);
        int at = rec_find(&r, 0, ETCD_EV_PUT, k);
        assert_true(at > prev);
        assert_true(prev < 0 || r.ev[at].revision > r.ev[prev].revision);
        prev = at;
    }

    int64_t t0 = sc_now_ms();
    etcd_watch_stop(w);
    assert_true(sc_now_ms() - t0 < 1000);
    px_stop(&px);
    etcd_client_free(h);
    cleanup_prefix(pfx);
}

static void test_watch_resume_from_revision(void **state)
{
    /* stop a watcher, change things, start a new one at the old next revision */
    char base[64], pfx[80], k[128];
    recorder r1, r2;
    etcd_client *h = client();
    etcd_watch_stats s;
    (void)state;
    rec_init(&r1);
    rec_init(&r2);
    t_unique(base, sizeof(base), "it-etcd-resume");
    snprintf(pfx, sizeof(pfx), "%s/", base);
    snprintf(k, sizeof(k), "%s/x", base);
    etcd_watch *w = watch(t_env("SC_ETCD_URL"), pfx, 0, &r1);
    wait_event(&r1, ETCD_EV_SYNCED, "", 5000);
    put_str(h, k, "1", 0, NULL);
    wait_event(&r1, ETCD_EV_PUT, k, 5000);
    etcd_watch_get_stats(w, &s);
    etcd_watch_stop(w);

    put_str(h, k, "2", 0, NULL);
    put_str(h, k, "3", 0, NULL);
    w = watch(t_env("SC_ETCD_URL"), pfx, s.next_revision, &r2);
    wait_count(&r2, ETCD_EV_PUT, k, 2, 5000);
    usleep(200 * 1000); /* nothing more may follow */
    pthread_mutex_lock(&r2.mu);
    assert_int_equal(r2.n, 2);
    assert_string_equal(r2.ev[0].value, "2");
    assert_string_equal(r2.ev[1].value, "3");
    pthread_mutex_unlock(&r2.mu);
    etcd_watch_stop(w);
    etcd_client_free(h);
    cleanup_prefix(pfx);
}

static void test_watch_compacted(void **state)
{
    char base[64], pfx[80], k[128], gone[128];
    recorder r;
    etcd_client *h = client();
    int64_t r0 = 0, rev = 0, n;
    (void)state;
    rec_init(&r);
    t_unique(base, sizeof(base), "it-etcd-compact");
    snprintf(pfx, sizeof(pfx), "%s/", base);
    snprintf(k, sizeof(k), "%s/k", base);
    snprintf(gone, sizeof(gone), "%s/gone", base);
    put_str(h, k, "v1", 0, &r0);
    put_str(h, gone, "tmp", 0, NULL);
    put_str(h, k, "v2", 0, NULL);
    OK(h, etcd_delete(h, gone, &n));
    put_str(h, k, "v3", 0, &rev);
    OK(h, etcd_compact(h, rev));
    assert_int_equal(etcd_compact(h, rev), SC_ECONFLICT);           /* already compacted */
    assert_int_equal(etcd_compact(h, rev + 1000000000), SC_EINVAL); /* future */

    /* watching from before the compaction: a snapshot instead of silence */
    etcd_watch *w = watch(t_env("SC_ETCD_URL"), pfx, r0, &r);
    wait_event(&r, ETCD_EV_SYNCED, "", 5000);
    pthread_mutex_lock(&r.mu);
    assert_int_equal(r.n, 3);
    assert_int_equal(r.ev[0].type, ETCD_EV_RESYNC);
    assert_true(r.ev[0].revision >= rev);
    assert_int_equal(r.ev[1].type, ETCD_EV_PUT);
    assert_string_equal(r.ev[1].key, k);
    assert_string_equal(r.ev[1].value, "v3");
    assert_int_equal(r.ev[2].type, ETCD_EV_SYNCED);
    assert_int_equal(r.ev[2].revision, r.ev[0].revision);
    pthread_mutex_unlock(&r.mu);
    /* and it watches on from there */
    put_str(h, k, "v4", 0, NULL);
    wait_count(&r, ETCD_EV_PUT, k, 2, 5000);
    int i4 = rec_find(&r, 3, ETCD_EV_PUT, k);
    assert_true(i4 == 3);
    assert_string_equal(r.ev[i4].value, "v4");
    etcd_watch_stats s;
    etcd_watch_get_stats(w, &s);
    assert_int_equal(s.resyncs, 1);
    assert_int_equal(s.failures, 0);
    etcd_watch_stop(w);
    etcd_client_free(h);
    cleanup_prefix(pfx);
}

static void test_unreachable(void **state)
{
    char err[SC_ERRLEN];
    etcd_opts o = opts_for("http://127.0.0.1:9");
    etcd_client *h = etcd_client_create(&o, err, sizeof(err));
    etcd_kv_list l;
    recorder r;
    int64_t rev = 7;
    (void)state;
    assert_non_null(h);
    int64_t t0 = sc_now_ms();
    assert_int_equal(etcd_get(h, "x", &l), SC_ECONN);
    assert_int_equal(l.n, 0);
    assert_int_equal(etcd_put(h, "x", "y", 1, 0, &rev), SC_ECONN);
    assert_int_equal(rev, 0);
    assert_true(sc_now_ms() - t0 < 1000);
    assert_true(etcd_errstr(h)[0] != '\0');
    etcd_client_free(h);

    /* a watcher keeps retrying, delivers nothing, and stops at once */
    rec_init(&r);
    etcd_watch *w = watch("http://127.0.0.1:9", "p/", 0, &r);
    usleep(700 * 1000);
    etcd_watch_stats s;
    etcd_watch_get_stats(w, &s);
    assert_true(s.failures >= 2);
    assert_int_equal(s.connects, 0);
    t0 = sc_now_ms();
    etcd_watch_stop(w);
    assert_true(sc_now_ms() - t0 < 500);
    assert_int_equal(r.n, 0);
}

static void test_watch_stop_idle(void **state)
{
    char base[64], pfx[80];
    recorder r;
    (void)state;
    rec_init(&r);
    t_unique(base, sizeof(base), "it-etcd-idle");
    snprintf(pfx, sizeof(pfx), "%s/", base);
    etcd_watch *w = watch(t_env("SC_ETCD_URL"), pfx, 0, &r);
    wait_event(&r, ETCD_EV_SYNCED, "", 5000);
    usleep(300 * 1000); /* the stream is open and silent now */
    int64_t t0 = sc_now_ms();
    etcd_watch_stop(w);
    assert_true(sc_now_ms() - t0 < 300);
    assert_int_equal(r.n, 2); /* RESYNC, SYNCED of an empty prefix */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kv_roundtrip),
        cmocka_unit_test(test_lease_keepalive),
        cmocka_unit_test(test_watch_lease_expiry),
        cmocka_unit_test(test_watch_reconnect),
        cmocka_unit_test(test_watch_resume_from_revision),
        cmocka_unit_test(test_watch_compacted),
        cmocka_unit_test(test_unreachable),
        cmocka_unit_test(test_watch_stop_idle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
