/*
 * heal.c - self-healing passes (see heal.h): advisory lock, dead-cluster
 * detection with a grace period, re-binding channels to live clusters and
 * queueing their rebuild jobs.
 *
 * The lock lives on a dedicated libpq connection (db.h has no advisory lock
 * call, and a session lock must not share a connection that may reset).
 */
#include "heal.h"

#include "log.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEAL_MAX_MISSING 64
#define HEAL_MAX_MANAGED 256

/* A cluster with bindings that this healer noticed missing from the view. */
typedef struct heal_missing {
    char name[SC_CLUSTER_NAME_MAX]; /* cluster name */
    int64_t since_ms;               /* wall ms when first noticed missing */
} heal_missing;

struct sc_healer {
    char *pg_dsn;                                        /* owned copy */
    PGconn *lock_conn;                                   /* owned; NULL until (re)connected */
    sc_cluster_view *view;                               /* ref: shared */
    sc_binder *binder;                                   /* ref: caller's */
    sc_db *db;                                           /* ref: caller's */
    int grace_period_s;                                  /* from the options */
    int recent_days;                                     /* from the options */
    heal_missing missing[HEAL_MAX_MISSING];              /* clusters the view never saw live */
    size_t nmissing;                                     /* entries in missing */
    int adopt_unknown;                                   /* from the options */
    char managed[HEAL_MAX_MANAGED][SC_CLUSTER_NAME_MAX]; /* sc_healer_manage names */
    size_t nmanaged;                                     /* entries in managed */
    char errstr[SC_ERRLEN];                              /* last failure */
};

static sc_status lock_connect(sc_healer *h)
{
    if (h->lock_conn != NULL && PQstatus(h->lock_conn) == CONNECTION_OK)
        return SC_OK;
    if (h->lock_conn != NULL)
        PQfinish(h->lock_conn);
    h->lock_conn = PQconnectdb(h->pg_dsn);
    if (h->lock_conn == NULL || PQstatus(h->lock_conn) != CONNECTION_OK) {
        sc_seterr(h->errstr, sizeof h->errstr, "heal lock connection: %s",
                  h->lock_conn ? PQerrorMessage(h->lock_conn) : "out of memory");
        if (h->lock_conn != NULL)
            PQfinish(h->lock_conn);
        h->lock_conn = NULL;
        return SC_ECONN;
    }
    return SC_OK;
}

sc_healer *sc_healer_create(const sc_healer_opts *o, char *err, size_t errlen)
{
    sc_healer *h;
    if (o == NULL || o->pg_dsn == NULL || o->view == NULL || o->binder == NULL || o->db == NULL ||
        o->grace_period_s < 0 || o->recent_days < 0) {
        sc_seterr(err, errlen, "healer: missing or bad options");
        return NULL;
    }
    h = calloc(1, sizeof *h);
    if (h == NULL || (h->pg_dsn = strdup(o->pg_dsn)) == NULL) {
        free(h);
        sc_seterr(err, errlen, "healer: out of memory");
        return NULL;
    }
    h->view = o->view;
    h->binder = o->binder;
    h->db = o->db;
    h->grace_period_s = o->grace_period_s;
    h->recent_days = o->recent_days;
    h->adopt_unknown = o->adopt_unknown;
    if (lock_connect(h) != SC_OK) {
        sc_seterr(err, errlen, "%s", h->errstr);
        sc_healer_free(h);
        return NULL;
    }
    return h;
}

void sc_healer_free(sc_healer *h)
{
    if (h == NULL)
        return;
    if (h->lock_conn != NULL)
        PQfinish(h->lock_conn);
    free(h->pg_dsn);
    free(h);
}

const char *sc_healer_errstr(const sc_healer *h) { return h->errstr; }

static int is_managed(const sc_healer *h, const char *name)
{
    size_t i;
    for (i = 0; i < h->nmanaged; i++)
        if (strcmp(h->managed[i], name) == 0)
            return 1;
    return 0;
}

sc_status sc_healer_manage(sc_healer *h, const char *name)
{
    if (!sc_cluster_name_ok(name))
        return SC_EINVAL;
    if (is_managed(h, name))
        return SC_OK;
    if (h->nmanaged >= HEAL_MAX_MANAGED)
        return SC_ENOMEM;
    snprintf(h->managed[h->nmanaged++], SC_CLUSTER_NAME_MAX, "%s", name);
    return SC_OK;
}

/* 1 = locked, 0 = held elsewhere, <0 = error. */
static int try_lock(sc_healer *h, int unlock)
{
    char q[96];
    PGresult *r;
    int rc;
    snprintf(q, sizeof q, "SELECT %s(%lld)", unlock ? "pg_advisory_unlock" : "pg_try_advisory_lock",
             (long long)SC_HEAL_LOCK_KEY);
    r = PQexec(h->lock_conn, q);
    if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        sc_seterr(h->errstr, sizeof h->errstr, "heal lock: %s", PQerrorMessage(h->lock_conn));
        PQclear(r);
        return -1;
    }
    rc = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    return rc;
}

/* When the cluster went away, or -1 if it is live (or static) or unknown to
 * this healer. */
static int64_t gone_since(sc_healer *h, const char *name, int64_t now)
{
    sc_cluster_info ci;
    size_t i;
    if (sc_cluster_view_get(h->view, name, &ci) == SC_OK) {
        if (ci.live)
            goto live;
        if (ci.gone_since_ms > 0)
            return ci.gone_since_ms;
    }
    for (i = 0; i < h->nmissing; i++)
        if (strcmp(h->missing[i].name, name) == 0)
            return h->missing[i].since_ms;
    if (!h->adopt_unknown && !is_managed(h, name) &&
        !(sc_cluster_view_get(h->view, name, &ci) == SC_OK))
        return -1; /* never seen, not ours: leave it alone */
    if (h->nmissing < HEAL_MAX_MISSING) {
        snprintf(h->missing[h->nmissing].name, SC_CLUSTER_NAME_MAX, "%s", name);
        h->missing[h->nmissing].since_ms = now;
        h->nmissing++;
    }
    return now;
live:
    for (i = 0; i < h->nmissing; i++) {
        if (strcmp(h->missing[i].name, name) == 0) {
            h->missing[i] = h->missing[--h->nmissing];
            break;
        }
    }
    return -1;
}

/* Move one channel off dead; counts into rep. */
static void move_channel(sc_healer *h, const char *dead, uint64_t ch, sc_heal_report *rep)
{
    sc_binding cur, upd;
    char to[SC_CLUSTER_NAME_MAX];
    char target[32];
    int64_t job = 0;
    int attempt;
    sc_status st;
    for (attempt = 0; attempt < 2; attempt++) {
        st = sc_db_binding_get(h->db, ch, &cur);
        if (st == SC_ENOTFOUND || (st == SC_OK && strcmp(cur.cluster, dead) != 0))
            return; /* moved (or unbound) meanwhile: nothing to do */
        if (st != SC_OK) {
            log_warn("heal: channel %llu: read binding: %s", (unsigned long long)ch,
                     sc_db_errstr(h->db));
            rep->channels_failed++;
            return;
        }
        if (sc_binder_pick_cluster(h->binder, dead, to) != SC_OK) {
            log_warn(
                "heal: channel %llu on dead cluster %s: no live active cluster to move it to: %s",
                (unsigned long long)ch, dead, sc_binder_errstr(h->binder));
            rep->channels_failed++;
            return;
        }
        st = sc_binder_update(h->binder, &cur, to, cur.index, SC_BINDING_BUILDING, &upd);
        if (st == SC_ECONFLICT)
            continue; /* someone changed it: re-read */
        break;
    }
    if (st != SC_OK) {
        log_warn("heal: channel %llu: rebind %s -> %s: %s", (unsigned long long)ch, dead, to,
                 sc_binder_errstr(h->binder));
        rep->channels_failed++;
        return;
    }
    rep->channels_moved++;
    snprintf(target, sizeof target, "%llu", (unsigned long long)ch);
    st = sc_db_job_create(h->db, "channel", target, NULL, h->recent_days, &job);
    if (st == SC_OK)
        st = sc_db_job_channels_add(h->db, job, &ch, 1);
    if (st != SC_OK) {
        log_error(
            "heal: channel %llu moved to %s (building) but its rebuild job was not queued: %s; "
            "run `reindex channel %llu`",
            (unsigned long long)ch, to, sc_db_errstr(h->db), (unsigned long long)ch);
        rep->channels_failed++;
        return;
    }
    rep->jobs_queued++;
    log_info("heal: channel %llu moved from dead cluster %s to %s (building), rebuild job %lld",
             (unsigned long long)ch, dead, to, (long long)job);
}

sc_status sc_healer_pass(sc_healer *h, sc_heal_report *rep_out)
{
    sc_heal_report rep;
    sc_cluster_count *counts = NULL;
    size_t ncounts = 0, i, j;
    sc_status st;
    int64_t now = sc_wall_ms();
    int lk;
    memset(&rep, 0, sizeof rep);
    if (rep_out != NULL)
        memset(rep_out, 0, sizeof *rep_out);
    if ((st = lock_connect(h)) != SC_OK)
        return st;
    lk = try_lock(h, 0);
    if (lk < 0) {
        PQfinish(h->lock_conn);
        h->lock_conn = NULL;
        return SC_ECONN;
    }
    if (lk == 0) {
        log_debug("heal: another healer holds the lock; skipping");
        return SC_OK;
    }
    rep.locked = 1;
    st = sc_db_binding_counts(h->db, &counts, &ncounts);
    if (st != SC_OK) {
        sc_seterr(h->errstr, sizeof h->errstr, "heal: binding counts: %s", sc_db_errstr(h->db));
        goto out;
    }
    for (i = 0; i < ncounts; i++) {
        int64_t since;
        uint64_t *chans = NULL;
        size_t nch = 0;
        if (counts[i].total <= 0)
            continue;
        since = gone_since(h, counts[i].cluster, now);
        if (since < 0)
            continue;
        if (now - since < (int64_t)h->grace_period_s * 1000) {
            rep.waiting_clusters++;
            log_debug("heal: cluster %s gone for %lld ms, grace %d s", counts[i].cluster,
                      (long long)(now - since), h->grace_period_s);
            continue;
        }
        rep.dead_clusters++;
        log_warn("heal: cluster %s gone for %lld s with %lld channels bound; moving them",
                 counts[i].cluster, (long long)((now - since) / 1000), (long long)counts[i].total);
        if (sc_db_bindings_on_cluster(h->db, counts[i].cluster, &chans, &nch) != SC_OK) {
            log_warn("heal: channels on %s: %s", counts[i].cluster, sc_db_errstr(h->db));
            rep.channels_failed += counts[i].total;
            continue;
        }
        for (j = 0; j < nch; j++)
            move_channel(h, counts[i].cluster, chans[j], &rep);
        free(chans);
    }
out:
    free(counts);
    if (try_lock(h, 1) < 0) {
        /* Dropping the connection releases the lock anyway. */
        PQfinish(h->lock_conn);
        h->lock_conn = NULL;
    }
    if (rep_out != NULL)
        *rep_out = rep;
    return st;
}
