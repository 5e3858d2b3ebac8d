/*
 * binding.c - channel -> (cluster, index) resolution: Redis cache, then
 * PostgreSQL, then (when allowed) assignment to the least-loaded live active
 * cluster. See binding.h for the contract.
 *
 * Cache value ("<ns>:binding:<channel_id>"), one line, '|' separated:
 *   "b2|<generation>|<state>|<cluster>|<index>|<prev_cluster>|<prev_index>|<history_from>"
 * Cluster names are [A-Za-z0-9_.-] and Elasticsearch index names cannot hold
 * '|', so the separator is unambiguous. A value that does not parse counts
 * as a miss (PostgreSQL is the source of truth and the entry is rewritten);
 * so does an older "b1" value, which cannot say whether history is missing.
 *
 * The cache is an optimisation: when Redis fails, resolution still answers
 * from PostgreSQL (the failure is logged at warn), and assignment picks a
 * live active cluster at random when the load set cannot be read.
 *
 * Not here: the cluster view (cluster.c), the SQL (db.c), refreshing load
 * from document counts (the agent calls sc_binder_set_load).
 */
#include "binding.h"

#include "log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_MAX 256
#define VAL_MAX 512

struct sc_binder {
    char ns[128];           /* key namespace (copied) */
    char index_name[128];   /* index for new bindings (copied) */
    int cache_ttl_s;        /* TTL of cache entries; <= 0 = no expiry */
    sc_redis *redis;        /* ref: caller's, this thread only */
    sc_db *db;              /* ref: caller's, this thread only */
    sc_cluster_view *view;  /* ref: shared, thread-safe */
    unsigned int rng;       /* rand_r state for tie-breaking */
    char errstr[SC_ERRLEN]; /* detail of the last failure */
};

/* The live active clusters with their load, for a run of assignments. */
typedef struct load_table {
    sc_cluster_info *info; /* owned (free()), from sc_cluster_view_list */
    size_t n;              /* entries in info */
    double *score;         /* owned, score[i] for info[i]; only eligible ones matter */
    int *eligible;         /* owned, 1 if info[i] is live, active and not excluded */
} load_table;

static void load_table_free(load_table *t)
{
    free(t->info);
    free(t->score);
    free(t->eligible);
    memset(t, 0, sizeof *t);
}

void sc_binder_opts_from_config(const sc_config *cfg, sc_redis *redis, sc_db *db,
                                sc_cluster_view *view, sc_binder_opts *out)
{
    memset(out, 0, sizeof *out);
    out->ns = cfg->namespace;
    out->index_name = cfg->index_name;
    out->cache_ttl_s = cfg->binding_cache_ttl_s;
    out->redis = redis;
    out->db = db;
    out->view = view;
}

sc_binder *sc_binder_create(const sc_binder_opts *o, char *err, size_t errlen)
{
    sc_binder *b;
    if (o == NULL || o->ns == NULL || o->ns[0] == '\0' || o->index_name == NULL ||
        o->index_name[0] == '\0' || o->redis == NULL || o->db == NULL || o->view == NULL) {
        sc_seterr(err, errlen, "binder: ns, index_name, redis, db and view are required");
        return NULL;
    }
    if (strlen(o->ns) >= sizeof(b->ns) || strlen(o->index_name) >= sizeof(b->index_name) ||
        strlen(o->index_name) >= sizeof(((sc_binding *)0)->index)) {
        sc_seterr(err, errlen, "binder: ns or index_name too long");
        return NULL;
    }
    if (strchr(o->index_name, '|') != NULL) {
        sc_seterr(err, errlen, "binder: index_name must not contain '|'");
        return NULL;
    }
    b = calloc(1, sizeof *b);
    if (b == NULL) {
        sc_seterr(err, errlen, "binder: out of memory");
        return NULL;
    }
    snprintf(b->ns, sizeof b->ns, "%s", o->ns);
    snprintf(b->index_name, sizeof b->index_name, "%s", o->index_name);
    b->cache_ttl_s = o->cache_ttl_s;
    b->redis = o->redis;
    b->db = o->db;
    b->view = o->view;
    b->rng = (unsigned int)(sc_now_us() ^ (int64_t)(uintptr_t)b);
    return b;
}

void sc_binder_free(sc_binder *b) { free(b); }

const char *sc_binder_errstr(const sc_binder *b)
{
    return b != NULL ? b->errstr : "binder: NULL handle";
}

static void cache_key(const sc_binder *b, uint64_t channel, char *buf, size_t len)
{
    snprintf(buf, len, "%s:binding:%" PRIu64, b->ns, channel);
}

static void load_key(const sc_binder *b, char *buf, size_t len)
{
    snprintf(buf, len, "%s:load", b->ns);
}

static void encode_binding(const sc_binding *x, char *buf, size_t len)
{
    snprintf(buf, len, "b2|%d|%s|%s|%s|%s|%s|%" PRIu64, x->generation,
             sc_binding_state_str(x->state), x->cluster, x->index, x->prev_cluster, x->prev_index,
             x->history_from);
}

/* Copy field [s, e) into dst (size dstlen). 0 when it does not fit. */
static int copy_field(char *dst, size_t dstlen, const char *s, const char *e)
{
    size_t n = (size_t)(e - s);
    if (n >= dstlen)
        return 0;
    memcpy(dst, s, n);
    dst[n] = '\0';
    return 1;
}

/* Parse a cache value; 1 on success. */
static int decode_binding(const char *v, uint64_t channel, sc_binding *out)
{
    const char *f[8];
    const char *p = v;
    size_t nf = 0;
    char gen[16];
    char state[16];
    char hist[24];
    char *end;
    long g;
    memset(out, 0, sizeof *out);
    f[nf++] = p;
    while (*p != '\0') {
        if (*p == '|') {
            if (nf == 8)
                return 0;
            f[nf++] = p + 1;
        }
        p++;
    }
    if (nf != 8)
        return 0;
        /* field i spans f[i] .. f[i+1]-1 (the '|'), the last one to p */
#define FEND(i) ((i) + 1 < 8 ? f[(i) + 1] - 1 : p)
    if (FEND(0) - f[0] != 2 || strncmp(f[0], "b2", 2) != 0)
        return 0;
    if (!copy_field(hist, sizeof hist, f[7], FEND(7)) ||
        sc_parse_u64(hist, &out->history_from) != SC_OK)
        return 0;
    if (!copy_field(gen, sizeof gen, f[1], FEND(1)) ||
        !copy_field(state, sizeof state, f[2], FEND(2)) ||
        !copy_field(out->cluster, sizeof out->cluster, f[3], FEND(3)) ||
        !copy_field(out->index, sizeof out->index, f[4], FEND(4)) ||
        !copy_field(out->prev_cluster, sizeof out->prev_cluster, f[5], FEND(5)) ||
        !copy_field(out->prev_index, sizeof out->prev_index, f[6], FEND(6)))
        return 0;
#undef FEND
    g = strtol(gen, &end, 10);
    if (end == gen || *end != '\0' || g < 0 || g > 1000000000L)
        return 0;
    if (out->cluster[0] == '\0' || out->index[0] == '\0')
        return 0;
    if (sc_binding_state_parse(state, &out->state) != SC_OK)
        return 0;
    out->generation = (int)g;
    out->channel_id = channel;
    return 1;
}

/* Build the table of clusters that may take a new channel, with their load.
 * SC_ENOTFOUND (reason in errstr) when none is eligible. */
static sc_status load_table_build(sc_binder *b, const char *exclude, load_table *t)
{
    char lk[KEY_MAX];
    sc_redis_zentry *z = NULL;
    size_t nz = 0, i, j, n_ok = 0;
    sc_status st;
    memset(t, 0, sizeof *t);
    st = sc_cluster_view_list(b->view, &t->info, &t->n);
    if (st != SC_OK) {
        sc_seterr(b->errstr, sizeof b->errstr, "binder: cluster view: %s", sc_status_str(st));
        return st;
    }
    if (t->n > 0) {
        t->score = calloc(t->n, sizeof *t->score);
        t->eligible = calloc(t->n, sizeof *t->eligible);
        if (t->score == NULL || t->eligible == NULL) {
            load_table_free(t);
            sc_seterr(b->errstr, sizeof b->errstr, "binder: out of memory");
            return SC_ENOMEM;
        }
    }
    for (i = 0; i < t->n; i++) {
        t->eligible[i] = t->info[i].live && t->info[i].state == SC_CLUSTER_ACTIVE &&
                         (exclude == NULL || strcmp(t->info[i].name, exclude) != 0);
        n_ok += (size_t)t->eligible[i];
    }
    if (n_ok == 0) {
        load_table_free(t);
        sc_seterr(b->errstr, sizeof b->errstr, "binder: no live active cluster%s%s",
                  exclude != NULL ? " other than " : "", exclude != NULL ? exclude : "");
        return SC_ENOTFOUND;
    }
    load_key(b, lk, sizeof lk);
    st = sc_redis_zrange_withscores(b->redis, lk, 0, -1, &z, &nz);
    if (st != SC_OK) {
        /* Without load, spread at random: better than refusing to bind. */
        log_warn("binder: load set %s unreadable (%s), picking at random", lk,
                 sc_redis_errstr(b->redis));
        for (i = 0; i < t->n; i++)
            t->score[i] = 0;
        return SC_OK;
    }
    for (i = 0; i < nz; i++)
        for (j = 0; j < t->n; j++)
            if (strcmp(z[i].member, t->info[j].name) == 0)
                t->score[j] = z[i].score;
    sc_redis_zentries_free(z, nz);
    return SC_OK;
}

/* Index of the least-loaded eligible entry; ties broken at random so racing
 * processes spread out. The table has at least one eligible entry. */
static size_t load_table_pick(sc_binder *b, const load_table *t)
{
    size_t i, best = 0, ties = 0;
    int have = 0;
    for (i = 0; i < t->n; i++) {
        if (!t->eligible[i])
            continue;
        if (!have || t->score[i] < t->score[best]) {
            best = i;
            ties = 1;
            have = 1;
        } else if (t->score[i] == t->score[best]) {
            ties++;
            if ((size_t)rand_r(&b->rng) % ties == 0)
                best = i;
        }
    }
    return best;
}

/* Add delta to a cluster's load in Redis; a failure is only logged (the
 * agent's periodic refresh corrects the score). */
static void add_load(sc_binder *b, const char *cluster, double delta)
{
    char lk[KEY_MAX];
    load_key(b, lk, sizeof lk);
    if (sc_redis_zincrby(b->redis, lk, cluster, delta, NULL) != SC_OK)
        log_warn("binder: ZINCRBY %s %s failed: %s", lk, cluster, sc_redis_errstr(b->redis));
}

static void cache_put(sc_binder *b, const sc_binding *x)
{
    char k[KEY_MAX], v[VAL_MAX];
    cache_key(b, x->channel_id, k, sizeof k);
    encode_binding(x, v, sizeof v);
    if (sc_redis_set(b->redis, k, v, b->cache_ttl_s) != SC_OK)
        log_warn("binder: cache SET %s failed: %s", k, sc_redis_errstr(b->redis));
}

sc_status sc_binder_pick_cluster(sc_binder *b, const char *exclude, char name[SC_CLUSTER_NAME_MAX])
{
    load_table t;
    sc_status st;
    if (b == NULL || name == NULL)
        return SC_EINVAL;
    st = load_table_build(b, exclude, &t);
    if (st != SC_OK)
        return st;
    snprintf(name, SC_CLUSTER_NAME_MAX, "%s", t.info[load_table_pick(b, &t)].name);
    load_table_free(&t);
    return SC_OK;
}

sc_status sc_binder_pick_free(sc_binder *b, const char *credit_cluster, double credit,
                              char name[SC_CLUSTER_NAME_MAX])
{
    load_table t;
    sc_status st;
    size_t i, best = 0, ties = 0;
    double best_free = 0;
    int have = 0;
    if (b == NULL || name == NULL)
        return SC_EINVAL;
    st = load_table_build(b, NULL, &t);
    if (st != SC_OK)
        return st;
    for (i = 0; i < t.n; i++) {
        double used = t.score[i], room;
        if (!t.eligible[i])
            continue;
        if (credit_cluster != NULL && strcmp(t.info[i].name, credit_cluster) == 0)
            used -= credit; /* what leaves it when the channel moves away */
        room = (double)t.info[i].capacity - used;
        if (!have || room > best_free) {
            best = i;
            best_free = room;
            ties = 1;
            have = 1;
        } else if (room == best_free) {
            ties++;
            if ((size_t)rand_r(&b->rng) % ties == 0)
                best = i;
        }
    }
    snprintf(name, SC_CLUSTER_NAME_MAX, "%s", t.info[best].name);
    load_table_free(&t);
    return SC_OK;
}

/* Index j < i of an earlier, already resolved occurrence of channels[i], or
 * (size_t)-1. */
static size_t earlier_same(const uint64_t *channels, const int *found, size_t i)
{
    size_t j;
    for (j = 0; j < i; j++)
        if (channels[j] == channels[i] && found[j])
            return j;
    return (size_t)-1;
}

static sc_status resolve(sc_binder *b, const uint64_t *channels, size_t n, int assign,
                         sc_binding *out, int *found, const char *const *extra, size_t nextra,
                         char **extra_vals);

sc_status sc_binder_resolve(sc_binder *b, const uint64_t *channels, size_t n, int assign,
                            sc_binding *out, int *found)
{
    return resolve(b, channels, n, assign, out, found, NULL, 0, NULL);
}

sc_status sc_binder_resolve_with(sc_binder *b, const uint64_t *channels, size_t n, sc_binding *out,
                                 int *found, const char *const *extra, size_t nextra,
                                 char **extra_vals)
{
    if (nextra > 0 && (extra == NULL || extra_vals == NULL))
        return SC_EINVAL;
    for (size_t i = 0; i < nextra; i++)
        extra_vals[i] = NULL;
    return resolve(b, channels, n, 0, out, found, extra, nextra, extra_vals);
}

static sc_status resolve(sc_binder *b, const uint64_t *channels, size_t n, int assign,
                         sc_binding *out, int *found, const char *const *extra, size_t nextra,
                         char **extra_vals)
{
    char **keys = NULL, **vals = NULL, *keybuf = NULL;
    load_table t;
    int have_table = 0;
    sc_status st = SC_OK;
    size_t i;
    if (b == NULL || (n > 0 && (channels == NULL || out == NULL || found == NULL)))
        return SC_EINVAL;
    if (n == 0 && nextra == 0)
        return SC_OK;
    memset(&t, 0, sizeof t);
    keys = calloc(n + nextra, sizeof *keys);
    vals = calloc(n + nextra, sizeof *vals);
    keybuf = malloc((n ? n : 1) * KEY_MAX);
    if (keys == NULL || vals == NULL || keybuf == NULL) {
        sc_seterr(b->errstr, sizeof b->errstr, "binder: out of memory");
        st = SC_ENOMEM;
        goto done;
    }
    for (i = 0; i < n; i++) {
        keys[i] = keybuf + i * KEY_MAX;
        cache_key(b, channels[i], keys[i], KEY_MAX);
        found[i] = 0;
        memset(&out[i], 0, sizeof out[i]);
    }
    for (i = 0; i < nextra; i++)
        keys[n + i] = (char *)extra[i];
    /* 1. cache: one MGET for the batch (and the caller's extra keys) */
    if (sc_redis_mget(b->redis, (const char *const *)keys, n + nextra, vals) != SC_OK) {
        log_warn("binder: cache MGET failed (%s), reading PostgreSQL", sc_redis_errstr(b->redis));
    } else {
        for (i = 0; i < n; i++)
            if (vals[i] != NULL && decode_binding(vals[i], channels[i], &out[i]))
                found[i] = 1;
        for (i = 0; i < nextra; i++) {
            extra_vals[i] = vals[n + i]; /* handed over */
            vals[n + i] = NULL;
        }
    }
    /* 2. PostgreSQL, then 3. assignment, for the misses */
    for (i = 0; i < n; i++) {
        size_t j;
        if (found[i])
            continue;
        j = earlier_same(channels, found, i);
        if (j != (size_t)-1) {
            out[i] = out[j];
            found[i] = 1;
            continue;
        }
        st = sc_db_binding_get(b->db, channels[i], &out[i]);
        if (st == SC_OK) {
            found[i] = 1;
            cache_put(b, &out[i]);
            continue;
        }
        if (st != SC_ENOTFOUND) {
            sc_seterr(b->errstr, sizeof b->errstr, "binder: binding of channel %" PRIu64 ": %s",
                      channels[i], sc_db_errstr(b->db));
            goto done;
        }
        st = SC_OK;
        memset(&out[i], 0, sizeof out[i]);
        if (!assign)
            continue;
        if (!have_table) {
            st = load_table_build(b, NULL, &t);
            if (st != SC_OK)
                goto done;
            have_table = 1;
        }
        {
            size_t k = load_table_pick(b, &t);
            st = sc_db_binding_insert_if_absent(b->db, channels[i], t.info[k].name, b->index_name,
                                                SC_BINDING_ACTIVE, &out[i]);
            if (st != SC_OK) {
                sc_seterr(b->errstr, sizeof b->errstr, "binder: bind channel %" PRIu64 " to %s: %s",
                          channels[i], t.info[k].name, sc_db_errstr(b->db));
                goto done;
            }
            found[i] = 1;
            /* A racer may have won with another cluster; count the load
             * where the channel really went only if it is ours. */
            if (strcmp(out[i].cluster, t.info[k].name) == 0 && out[i].generation == 1) {
                t.score[k] += SC_CHANNEL_WEIGHT;
                add_load(b, t.info[k].name, SC_CHANNEL_WEIGHT);
            }
            log_debug("binder: channel %" PRIu64 " bound to %s/%s", channels[i], out[i].cluster,
                      out[i].index);
            cache_put(b, &out[i]);
        }
    }
done:
    if (vals != NULL)
        for (i = 0; i < n; i++)
            free(vals[i]);
    free(vals);
    free(keys);
    free(keybuf);
    if (have_table)
        load_table_free(&t);
    return st;
}

sc_status sc_binder_update(sc_binder *b, const sc_binding *cur, const char *cluster,
                           const char *index, sc_binding_state state, sc_binding *updated)
{
    sc_binding nb;
    sc_status st;
    if (b == NULL || cur == NULL || cluster == NULL || index == NULL ||
        !sc_binding_state_valid(state))
        return SC_EINVAL;
    if (strchr(index, '|') != NULL || !sc_cluster_name_ok(cluster)) {
        sc_seterr(b->errstr, sizeof b->errstr, "binder: bad cluster or index name");
        return SC_EINVAL;
    }
    st = sc_db_binding_update(b->db, cur->channel_id, cluster, index, state, cur->generation, &nb);
    if (st != SC_OK) {
        sc_seterr(b->errstr, sizeof b->errstr, "binder: update channel %" PRIu64 ": %s",
                  cur->channel_id, sc_db_errstr(b->db));
        if (st == SC_ECONFLICT) {
            /* our view was stale: make the next resolve read PG */
            if (sc_binder_invalidate(b, cur->channel_id) != SC_OK)
                log_warn("binder: invalidate %" PRIu64 " failed", cur->channel_id);
        }
        return st;
    }
    cache_put(b, &nb);
    if (strcmp(cur->cluster, nb.cluster) != 0) {
        add_load(b, nb.cluster, SC_CHANNEL_WEIGHT);
        add_load(b, cur->cluster, -(double)SC_CHANNEL_WEIGHT);
    }
    if (updated != NULL)
        *updated = nb;
    return SC_OK;
}

sc_status sc_binder_set_history(sc_binder *b, const sc_binding *cur, uint64_t history_from,
                                sc_binding *updated)
{
    sc_binding nb;
    sc_status st;
    if (b == NULL || cur == NULL)
        return SC_EINVAL;
    st = sc_db_binding_set_history(b->db, cur->channel_id, history_from, cur->generation, &nb);
    if (st != SC_OK) {
        sc_seterr(b->errstr, sizeof b->errstr, "binder: history of channel %" PRIu64 ": %s",
                  cur->channel_id, sc_db_errstr(b->db));
        if (st == SC_ECONFLICT && sc_binder_invalidate(b, cur->channel_id) != SC_OK)
            log_warn("binder: invalidate %" PRIu64 " failed", cur->channel_id);
        return st;
    }
    cache_put(b, &nb);
    if (updated != NULL)
        *updated = nb;
    return SC_OK;
}

sc_status sc_binder_invalidate(sc_binder *b, uint64_t channel_id)
{
    char k[KEY_MAX];
    const char *keys[1];
    sc_status st;
    if (b == NULL)
        return SC_EINVAL;
    cache_key(b, channel_id, k, sizeof k);
    keys[0] = k;
    st = sc_redis_del(b->redis, keys, 1, NULL);
    if (st != SC_OK)
        sc_seterr(b->errstr, sizeof b->errstr, "binder: DEL %s: %s", k, sc_redis_errstr(b->redis));
    return st;
}

sc_status sc_binder_set_load(sc_binder *b, const char *cluster, double score)
{
    char lk[KEY_MAX];
    sc_status st;
    if (b == NULL || cluster == NULL)
        return SC_EINVAL;
    load_key(b, lk, sizeof lk);
    st = sc_redis_zadd(b->redis, lk, cluster, score);
    if (st != SC_OK)
        sc_seterr(b->errstr, sizeof b->errstr, "binder: ZADD %s %s: %s", lk, cluster,
                  sc_redis_errstr(b->redis));
    return st;
}
