/*
 * reindex.c - the historical reindex engine (see reindex.h for the job
 * model). Reads PostgreSQL pages, writes external-versioned _bulk requests,
 * checkpoints after every bulk, and drives the binding through
 * building/moving -> active. It never prints; the program shows progress
 * through the callback.
 */
#include "reindex.h"

#include "bulk.h"
#include "clients.h"
#include "esdoc.h"
#include "index_name.h"
#include "log.h"
#include "promote.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RX_MAX_ATTEMPTS 6      /* bulk attempts before a job fails */
#define RX_BACKOFF_MS 200      /* first retry wait, doubled per attempt */
#define RX_BACKOFF_MAX_MS 5000 /* retry wait ceiling */
#define RX_BINDING_TRIES 4     /* compare-and-set attempts on a binding */

/* Runtime state of one channel of the job being run. */
typedef struct rx_chan {
    sc_job_channel c;                      /* cursor row (phase, checkpoint, done) */
    char cluster[SC_CLUSTER_NAME_MAX];     /* destination of the copy */
    char index[128];                       /* index there */
    int prepared;                          /* destination decided this run */
    int purge;                             /* a move to purge at the end (prev differs) */
    char old_cluster[SC_CLUSTER_NAME_MAX]; /* copy to purge (move) */
    char old_index[128];                   /* index of the copy to purge */
} rx_chan;

struct sc_reindexer {
    sc_db *db;                         /* ref */
    sc_binder *binder;                 /* ref */
    sc_cluster_view *view;             /* ref */
    sc_clients *clients;               /* owned: es_client per cluster */
    char *index_name;                  /* owned */
    char *schema;                      /* owned */
    char *worker;                      /* owned */
    int batch;                         /* rows per page */
    int64_t rate;                      /* messages/s, 0 = unlimited */
    int purge_delay_ms;                /* wait before purging a move's old copy */
    int big_shards;                    /* shards of a channel's own index made outside a
                                          promotion (a move or rebuild of a promoted channel) */
    const volatile sig_atomic_t *stop; /* ref, may be NULL */
    sc_reindex_progress_fn progress;   /* may be NULL */
    void *progress_arg;                /* for progress */
    /* per run */
    int run_shards;           /* shards of a channel index this run creates */
    char run_index[128];      /* a promotion's destination index, "" = none */
    int64_t run_t0_us;        /* run start (monotonic) */
    int64_t run_sent;         /* messages sent this run (throttle) */
    sc_reindex_progress prog; /* last progress reported */
    sc_reindex_result res;    /* counters of this run */
    char errstr[SC_ERRLEN];   /* last failure */
};

sc_reindexer *sc_reindexer_create(const sc_reindex_opts *o, char *err, size_t errlen)
{
    sc_reindexer *r;
    if (o == NULL || o->db == NULL || o->binder == NULL || o->view == NULL || o->es == NULL ||
        o->index_name == NULL || o->schema_json == NULL) {
        sc_seterr(err, errlen,
                  "reindex: db, binder, view, es, index_name and schema_json are required");
        return NULL;
    }
    if (!es_index_name_ok(o->index_name, 0)) {
        sc_seterr(err, errlen, "reindex: bad index name '%s'", o->index_name);
        return NULL;
    }
    if (o->batch < 0 || o->batch > 10000 || o->rate < 0) {
        sc_seterr(err, errlen, "reindex: batch must be 1..10000 and rate >= 0");
        return NULL;
    }
    r = calloc(1, sizeof *r);
    if (r == NULL) {
        sc_seterr(err, errlen, "reindex: out of memory");
        return NULL;
    }
    r->db = o->db;
    r->binder = o->binder;
    r->view = o->view;
    {
        sc_clients_opts co;
        memset(&co, 0, sizeof co);
        co.base = o->es;
        co.view = o->view;
        co.keep_gone = 1; /* purging an old copy on a cluster that left */
        r->clients = sc_clients_create(&co, err, errlen);
        if (r->clients == NULL) {
            free(r);
            return NULL;
        }
    }
    r->index_name = strdup(o->index_name);
    r->schema = strdup(o->schema_json);
    r->worker = strdup(o->worker != NULL && *o->worker ? o->worker : "reindex");
    r->batch = o->batch > 0 ? o->batch : 1000;
    r->rate = o->rate;
    r->purge_delay_ms = o->purge_delay_ms < 0 ? 0 : o->purge_delay_ms;
    r->big_shards =
        o->big_shards >= 1 && o->big_shards <= SC_PROMOTE_SHARDS_MAX ? o->big_shards : 1;
    r->stop = o->stop;
    r->progress = o->progress;
    r->progress_arg = o->progress_arg;
    if (r->index_name == NULL || r->schema == NULL || r->worker == NULL) {
        sc_reindexer_free(r);
        sc_seterr(err, errlen, "reindex: out of memory");
        return NULL;
    }
    return r;
}

void sc_reindexer_free(sc_reindexer *r)
{
    if (r == NULL)
        return;
    sc_clients_free(r->clients);
    free(r->index_name);
    free(r->schema);
    free(r->worker);
    free(r);
}

const char *sc_reindexer_errstr(const sc_reindexer *r)
{
    return r != NULL ? r->errstr : "reindex: no handle";
}

uint64_t sc_reindex_phase1_min_id(int64_t created_ms, int recent_days)
{
    if (recent_days <= 0)
        return 0;
    return sc_snowflake_from_ms(created_ms - (int64_t)recent_days * 86400000LL);
}

static int stopped(const sc_reindexer *r) { return r->stop != NULL && *r->stop != 0; }

/* Sleep ms in short slices; returns non-zero when asked to stop. */
static int nap(const sc_reindexer *r, int64_t ms)
{
    while (ms > 0 && !stopped(r)) {
        int64_t s = ms > 100 ? 100 : ms;
        struct timespec ts = {(time_t)(s / 1000), (long)(s % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        ms -= s;
    }
    return stopped(r);
}

/* ------------------------------------------------------------ clusters */

/* The client for cluster name (a cluster that left the view keeps the one
 * it had: purging an old copy). */
static sc_status get_client(sc_reindexer *r, const char *name, es_client **out)
{
    sc_status st = sc_clients_get(r->clients, name, out);
    if (st == SC_ECONN)
        sc_seterr(r->errstr, sizeof r->errstr,
                  "cluster '%s' is not live (to rebuild its channels elsewhere, use --to)", name);
    else if (st == SC_ENOTFOUND)
        sc_seterr(r->errstr, sizeof r->errstr, "cluster '%s' is unknown", name);
    else if (st != SC_OK)
        sc_seterr(r->errstr, sizeof r->errstr, "%s", sc_clients_errstr(r->clients));
    return st;
}

/* Create index on cluster name unless this run saw it there already. A
 * channel's own index ("<base>-ch-<id>") gets run_shards primary shards. */
static sc_status ensure_index(sc_reindexer *r, const char *name, const char *index)
{
    sc_status st;
    char *schema = NULL;
    if (sc_index_name_is_channel(index, r->index_name, NULL)) {
        schema = sc_promote_schema(r->schema, r->run_shards > 0 ? r->run_shards : r->big_shards);
        if (schema == NULL) {
            sc_seterr(r->errstr, sizeof r->errstr, "index schema with %d shards: out of memory",
                      r->run_shards);
            return SC_ENOMEM;
        }
    }
    st = sc_clients_ensure_index(r->clients, name, index, schema != NULL ? schema : r->schema);
    free(schema);
    if (st == SC_ECONN || st == SC_ENOTFOUND) {
        es_client *es;
        return get_client(r, name, &es); /* the same status, with our wording */
    }
    if (st != SC_OK)
        sc_seterr(r->errstr, sizeof r->errstr, "%s", sc_clients_errstr(r->clients));
    return st;
}

/* ------------------------------------------------------------ channels */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static size_t sort_unique(uint64_t *v, size_t n)
{
    size_t i, o = 0;
    if (n == 0)
        return 0;
    qsort(v, n, sizeof *v, cmp_u64);
    for (i = 0; i < n; i++)
        if (o == 0 || v[o - 1] != v[i])
            v[o++] = v[i];
    return o;
}

static sc_status parse_id_list(sc_reindexer *r, const char *s, uint64_t **out, size_t *n)
{
    size_t cap = 1, k = 0;
    const char *p;
    uint64_t *v;
    for (p = s; *p; p++)
        if (*p == ',')
            cap++;
    v = calloc(cap, sizeof *v);
    if (v == NULL)
        return SC_ENOMEM;
    p = s;
    while (*p) {
        char tok[32];
        const char *e = strchr(p, ',');
        size_t len = e != NULL ? (size_t)(e - p) : strlen(p);
        if (len == 0 || len >= sizeof tok) {
            free(v);
            sc_seterr(r->errstr, sizeof r->errstr, "bad channel list '%s'", s);
            return SC_EINVAL;
        }
        memcpy(tok, p, len);
        tok[len] = '\0';
        if (sc_parse_u64(tok, &v[k]) != SC_OK || v[k] == 0) {
            free(v);
            sc_seterr(r->errstr, sizeof r->errstr, "bad channel id '%s'", tok);
            return SC_EINVAL;
        }
        k++;
        p += len;
        if (*p == ',')
            p++;
    }
    *n = sort_unique(v, k);
    if (*n == 0) {
        free(v);
        v = NULL;
    }
    *out = v;
    return SC_OK;
}

sc_status sc_reindex_job_channels(sc_reindexer *r, const char *kind, const char *target,
                                  uint64_t **out, size_t *n)
{
    sc_status st;
    *out = NULL;
    *n = 0;
    if (kind == NULL)
        return SC_EINVAL;
    if (target == NULL)
        target = "";
    if (strcmp(kind, "channel") == 0)
        return parse_id_list(r, target, out, n);
    if (strcmp(kind, SC_PROMOTE_KIND) == 0) {
        uint64_t ch;
        int shards;
        if (sc_promote_target_parse(target, &ch, &shards) != SC_OK) {
            sc_seterr(r->errstr, sizeof r->errstr, "bad promotion target '%s'", target);
            return SC_EINVAL;
        }
        if ((*out = malloc(sizeof **out)) == NULL)
            return SC_ENOMEM;
        **out = ch;
        *n = 1;
        return SC_OK;
    }
    if (strcmp(kind, "guild") == 0) {
        uint64_t g;
        if (sc_parse_u64(target, &g) != SC_OK) {
            sc_seterr(r->errstr, sizeof r->errstr, "bad guild id '%s'", target);
            return SC_EINVAL;
        }
        st = sc_db_guild_channels(r->db, g, out, n);
    } else if (strcmp(kind, "cluster") == 0) {
        st = sc_db_bindings_on_cluster(r->db, target, out, n);
    } else if (strcmp(kind, "all") == 0) {
        sc_cluster_count *cc = NULL;
        size_t ncc = 0, i;
        uint64_t *all = NULL;
        size_t nall = 0;
        st = sc_db_binding_counts(r->db, &cc, &ncc);
        for (i = 0; st == SC_OK && i < ncc; i++) {
            uint64_t *ch = NULL, *grown;
            size_t nch = 0;
            st = sc_db_bindings_on_cluster(r->db, cc[i].cluster, &ch, &nch);
            if (st != SC_OK)
                break;
            if (nch > 0) {
                grown = realloc(all, (nall + nch) * sizeof *all);
                if (grown == NULL) {
                    free(ch);
                    st = SC_ENOMEM;
                    break;
                }
                all = grown;
                memcpy(all + nall, ch, nch * sizeof *ch);
                nall += nch;
            }
            free(ch);
        }
        free(cc);
        if (st != SC_OK) {
            free(all);
            if (st != SC_ENOMEM)
                sc_seterr(r->errstr, sizeof r->errstr, "list bindings: %s", sc_db_errstr(r->db));
            return st;
        }
        *out = all;
        *n = nall;
        return SC_OK;
    } else {
        sc_seterr(r->errstr, sizeof r->errstr, "unknown job kind '%s'", kind);
        return SC_EINVAL;
    }
    if (st != SC_OK)
        sc_seterr(r->errstr, sizeof r->errstr, "list channels of %s %s: %s", kind, target,
                  sc_db_errstr(r->db));
    else
        *n = sort_unique(*out, *n);
    return st;
}

sc_reindex_move_check sc_reindex_classify_move(const sc_binding *b, const char *to_cluster)
{
    if (b == NULL || to_cluster == NULL)
        return SC_MOVE_GO;
    if (b->state == SC_BINDING_MOVING)
        return strcmp(b->cluster, to_cluster) == 0 ? SC_MOVE_GO : SC_MOVE_CONFLICT;
    if (strcmp(b->cluster, to_cluster) == 0 && b->state == SC_BINDING_ACTIVE)
        return SC_MOVE_ALREADY_THERE;
    return SC_MOVE_GO;
}

sc_status sc_reindex_plan_channel(sc_reindexer *r, uint64_t channel_id, const char *to_cluster,
                                  uint64_t min_id, sc_reindex_plan *out)
{
    sc_status st;
    int move = to_cluster != NULL && *to_cluster != '\0';
    memset(out, 0, sizeof *out);
    out->channel_id = channel_id;
    st = sc_db_binding_get(r->db, channel_id, &out->binding);
    if (st == SC_OK) {
        out->bound = 1;
    } else if (st != SC_ENOTFOUND) {
        sc_seterr(r->errstr, sizeof r->errstr, "binding of %" PRIu64 ": %s", channel_id,
                  sc_db_errstr(r->db));
        return st;
    }
    if (!out->bound) {
        out->action = "bind+build";
        if (move) {
            snprintf(out->cluster, sizeof out->cluster, "%s", to_cluster);
            snprintf(out->index, sizeof out->index, "%s", r->index_name);
        } else {
            snprintf(out->index, sizeof out->index, "%s", r->index_name);
        }
    } else if (move &&
               (out->move = sc_reindex_classify_move(&out->binding, to_cluster)) != SC_MOVE_GO) {
        out->action = out->move == SC_MOVE_ALREADY_THERE ? "already-there" : "conflict";
        snprintf(out->cluster, sizeof out->cluster, "%s", out->binding.cluster);
        snprintf(out->index, sizeof out->index, "%s", out->binding.index);
    } else if (!move || strcmp(out->binding.cluster, to_cluster) == 0) {
        out->action = out->binding.state == SC_BINDING_MOVING && move ? "resume-move" : "rebuild";
        snprintf(out->cluster, sizeof out->cluster, "%s", out->binding.cluster);
        snprintf(out->index, sizeof out->index, "%s", out->binding.index);
    } else {
        out->action = "move";
        snprintf(out->cluster, sizeof out->cluster, "%s", to_cluster);
        snprintf(out->index, sizeof out->index, "%s", r->index_name);
    }
    st = sc_db_count_messages(r->db, channel_id, 0, &out->total);
    if (st == SC_OK)
        st = sc_db_count_messages(r->db, channel_id, min_id, &out->recent);
    if (st != SC_OK)
        sc_seterr(r->errstr, sizeof r->errstr, "count messages of %" PRIu64 ": %s", channel_id,
                  sc_db_errstr(r->db));
    return st;
}

/* ------------------------------------------------------------ bindings */

static sc_status binding_set(sc_reindexer *r, const sc_binding *cur, const char *cluster,
                             const char *index, sc_binding_state state, sc_binding *out)
{
    sc_status st = sc_binder_update(r->binder, cur, cluster, index, state, out);
    if (st != SC_OK && st != SC_ECONFLICT)
        sc_seterr(r->errstr, sizeof r->errstr, "%s", sc_binder_errstr(r->binder));
    return st;
}

/* Decide where channel ch is copied and put its binding in the state the
 * copy needs (see reindex.h). to = destination of a move or NULL; the
 * destination index is the run's promotion index (run_index), else the
 * channel's own index when it has one already (a promoted channel moves
 * with it), else the shared index_name. */
static sc_status prepare_channel(sc_reindexer *r, rx_chan *ch, const char *to)
{
    int tries;
    uint64_t id = ch->c.channel_id;
    const char *to_index = r->run_index[0] ? r->run_index : NULL;
    for (tries = 0; tries < RX_BINDING_TRIES; tries++) {
        sc_binding b, nb;
        char pick[SC_CLUSTER_NAME_MAX];
        const char *dest_index = to_index != NULL ? to_index : r->index_name;
        sc_status st = sc_db_binding_get(r->db, id, &b);
        if (st == SC_ENOTFOUND) {
            /* never indexed anywhere: bind it, building, where it should go */
            if (to != NULL) {
                snprintf(pick, sizeof pick, "%s", to);
            } else {
                st = sc_binder_pick_cluster(r->binder, NULL, pick);
                if (st != SC_OK) {
                    sc_seterr(r->errstr, sizeof r->errstr,
                              "channel %" PRIu64
                              " has no binding and no live cluster can take it: %s",
                              id, sc_binder_errstr(r->binder));
                    return st;
                }
            }
            if ((st = ensure_index(r, pick, dest_index)) != SC_OK)
                return st;
            st = sc_db_binding_insert_if_absent(r->db, id, pick, dest_index, SC_BINDING_BUILDING,
                                                &nb);
            if (st != SC_OK) {
                sc_seterr(r->errstr, sizeof r->errstr, "bind %" PRIu64 ": %s", id,
                          sc_db_errstr(r->db));
                return st;
            }
            if (sc_binder_invalidate(r->binder, id) != SC_OK)
                log_warn("reindex: channel %" PRIu64 ": cache invalidate failed", id);
            continue; /* re-read: a racer may have bound it elsewhere */
        }
        if (st != SC_OK) {
            sc_seterr(r->errstr, sizeof r->errstr, "binding of %" PRIu64 ": %s", id,
                      sc_db_errstr(r->db));
            return st;
        }
        if (to == NULL ||
            (strcmp(b.cluster, to) == 0 && (to_index == NULL || strcmp(b.index, to_index) == 0))) {
            /* rebuild in place, or the move already switched/started */
            snprintf(ch->cluster, sizeof ch->cluster, "%s", b.cluster);
            snprintf(ch->index, sizeof ch->index, "%s", b.index);
            if ((st = ensure_index(r, ch->cluster, ch->index)) != SC_OK)
                return st;
            ch->prepared = 1;
            return SC_OK;
        }
        if (b.state == SC_BINDING_MOVING) {
            sc_seterr(r->errstr, sizeof r->errstr,
                      "channel %" PRIu64 " is being moved to %s/%s by another job; resume that job",
                      id, b.cluster, b.index);
            return SC_ECONFLICT;
        }
        if (to_index == NULL && sc_index_name_is_channel(b.index, r->index_name, NULL))
            dest_index = b.index; /* a promoted channel keeps its own index */
        /* The destination index must exist before the indexer starts
         * writing there (else it would be auto-created without our mapping). */
        if ((st = ensure_index(r, to, dest_index)) != SC_OK)
            return st;
        /* building elsewhere: nothing serves it yet, just build at `to`;
         * active elsewhere: dual-write while the copy runs */
        st = binding_set(r, &b, to, dest_index,
                         b.state == SC_BINDING_BUILDING ? SC_BINDING_BUILDING : SC_BINDING_MOVING,
                         &nb);
        if (st == SC_ECONFLICT)
            continue;
        if (st != SC_OK)
            return st;
        log_info("reindex: channel %" PRIu64 ": %s %s/%s -> %s/%s", id,
                 sc_binding_state_str(nb.state), b.cluster, b.index, nb.cluster, nb.index);
        snprintf(ch->cluster, sizeof ch->cluster, "%s", nb.cluster);
        snprintf(ch->index, sizeof ch->index, "%s", nb.index);
        ch->prepared = 1;
        return SC_OK;
    }
    sc_seterr(r->errstr, sizeof r->errstr, "binding of %" PRIu64 " keeps changing under us", id);
    return SC_ECONFLICT;
}

/* Refresh the copy's destination index, so what was written is searchable. */
static sc_status refresh_dest(sc_reindexer *r, rx_chan *ch)
{
    es_client *es;
    sc_status st = get_client(r, ch->cluster, &es);
    if (st != SC_OK)
        return st;
    if (es_refresh(es, ch->index) != SC_OK) {
        sc_seterr(r->errstr, sizeof r->errstr, "refresh %s on %s: %s", ch->index, ch->cluster,
                  es_errstr(es));
        return SC_ERR;
    }
    return SC_OK;
}

/* When the binding is in state `from` at the copy's destination, refresh
 * the index (so what we wrote is searchable) and make it active. */
static sc_status activate_if(sc_reindexer *r, rx_chan *ch, sc_binding_state from, sc_binding *after)
{
    int tries;
    for (tries = 0; tries < RX_BINDING_TRIES; tries++) {
        sc_binding b;
        sc_status st = sc_db_binding_get(r->db, ch->c.channel_id, &b);
        if (st != SC_OK) {
            sc_seterr(r->errstr, sizeof r->errstr, "binding of %" PRIu64 ": %s", ch->c.channel_id,
                      sc_db_errstr(r->db));
            return st;
        }
        if (after != NULL)
            *after = b;
        if (b.state != from || strcmp(b.cluster, ch->cluster) != 0 ||
            strcmp(b.index, ch->index) != 0)
            return SC_OK;
        if ((st = refresh_dest(r, ch)) != SC_OK)
            return st;
        st = binding_set(r, &b, b.cluster, b.index, SC_BINDING_ACTIVE, after);
        if (st == SC_ECONFLICT)
            continue;
        if (st == SC_OK)
            log_info("reindex: channel %" PRIu64 ": %s -> active on %s/%s", ch->c.channel_id,
                     sc_binding_state_str(from), b.cluster, b.index);
        return st;
    }
    sc_seterr(r->errstr, sizeof r->errstr, "binding of %" PRIu64 " keeps changing under us",
              ch->c.channel_id);
    return SC_ECONFLICT;
}

/* Set history_from of ch's binding to value when the binding is at ch's
 * destination in state `in`: min_id just before a building channel turns
 * active with only its recent days (the router then answers partial), 0
 * once the whole history is there. Marking early and clearing late means
 * an answer may say partial a moment too long, never complete too soon. */
static sc_status set_history_if(sc_reindexer *r, rx_chan *ch, sc_binding_state in, uint64_t value)
{
    int tries;
    for (tries = 0; tries < RX_BINDING_TRIES; tries++) {
        sc_binding b;
        sc_status st = sc_db_binding_get(r->db, ch->c.channel_id, &b);
        if (st != SC_OK) {
            sc_seterr(r->errstr, sizeof r->errstr, "binding of %" PRIu64 ": %s", ch->c.channel_id,
                      sc_db_errstr(r->db));
            return st;
        }
        if (b.state != in || b.history_from == value || strcmp(b.cluster, ch->cluster) != 0 ||
            strcmp(b.index, ch->index) != 0)
            return SC_OK;
        /* what phase 2 wrote must be searchable before answers say complete */
        if (value == 0 && (st = refresh_dest(r, ch)) != SC_OK)
            return st;
        st = sc_binder_set_history(r->binder, &b, value, NULL);
        if (st == SC_ECONFLICT)
            continue;
        if (st != SC_OK) {
            sc_seterr(r->errstr, sizeof r->errstr, "%s", sc_binder_errstr(r->binder));
            return st;
        }
        if (value > 0)
            log_info("reindex: channel %" PRIu64 ": history below %" PRIu64 " still to copy",
                     ch->c.channel_id, value);
        else
            log_info("reindex: channel %" PRIu64 ": whole history copied", ch->c.channel_id);
        return SC_OK;
    }
    sc_seterr(r->errstr, sizeof r->errstr, "binding of %" PRIu64 " keeps changing under us",
              ch->c.channel_id);
    return SC_ECONFLICT;
}

/* ------------------------------------------------------------ writing */

static void report(sc_reindexer *r, int final)
{
    r->prog.elapsed_ms = (sc_now_us() - r->run_t0_us) / 1000;
    r->prog.final = final;
    if (r->progress != NULL)
        r->progress(&r->prog, r->progress_arg);
}

/* Wait so that this run stays under rate messages per second. */
static int throttle(sc_reindexer *r, size_t n)
{
    int64_t due_us, now;
    r->run_sent += (int64_t)n;
    if (r->rate <= 0)
        return stopped(r);
    due_us = r->run_t0_us + (int64_t)((double)r->run_sent * 1e6 / (double)r->rate);
    now = sc_now_us();
    return due_us > now ? nap(r, (due_us - now + 999) / 1000) : stopped(r);
}

static int retryable(sc_status st, long http)
{
    if (st == SC_ECONN || st == SC_ETIMEOUT || st == SC_EPROTO)
        return 1;
    return st == SC_ERR && (http == 429 || http >= 500);
}

/* Write msgs[0..n) to index on cluster (client es), retrying transient failures.
 * Conflicts are success; rejects are counted and logged. */
static sc_status write_docs(sc_reindexer *r, const char *cluster, es_client *es, const char *index,
                            const sc_message *msgs, size_t n, int gte)
{
    size_t *pend = malloc((n ? n : 1) * sizeof *pend);
    size_t npend = n, i;
    sc_bulk bulk;
    sc_buf doc, resp;
    sc_status st = SC_OK;
    int attempt;
    int64_t backoff = RX_BACKOFF_MS;

    if (pend == NULL)
        return SC_ENOMEM;
    for (i = 0; i < n; i++)
        pend[i] = i;
    sc_bulk_init(&bulk, 0);
    bulk.gte = gte;
    sc_buf_init(&doc, 0);
    sc_buf_init(&resp, 0);
    for (attempt = 0; npend > 0; attempt++) {
        sc_bulk_result br;
        long http = 0;
        size_t keep = 0;
        char perr[SC_ERRLEN];
        if (attempt >= RX_MAX_ATTEMPTS) {
            st = SC_ERR;
            break;
        }
        if (attempt > 0) {
            if (nap(r, backoff)) {
                st = SC_ERR;
                sc_seterr(r->errstr, sizeof r->errstr, "interrupted while retrying a bulk request");
                break;
            }
            backoff = backoff * 2 > RX_BACKOFF_MAX_MS ? RX_BACKOFF_MAX_MS : backoff * 2;
        }
        sc_bulk_reset(&bulk);
        for (i = 0; i < npend; i++) {
            const sc_message *m = &msgs[pend[i]];
            sc_buf_reset(&doc);
            st = sc_message_to_doc(m, &doc);
            if (st == SC_OK)
                st = sc_bulk_add_index(&bulk, index, m->id, m->version, doc.data, doc.len);
            if (st != SC_OK) {
                sc_seterr(r->errstr, sizeof r->errstr, "build document %" PRIu64 ": %s", m->id,
                          sc_status_str(st));
                goto out;
            }
        }
        st = es_bulk(es, bulk.body.data, bulk.body.len, &resp, &http);
        if (st != SC_OK) {
            sc_seterr(r->errstr, sizeof r->errstr, "bulk to %s: %s", cluster, es_errstr(es));
            if (!retryable(st, http))
                goto out;
            log_warn("reindex: %s (attempt %d, retrying)", r->errstr, attempt + 1);
            continue;
        }
        st = sc_bulk_parse(resp.data != NULL ? resp.data : "", resp.len, npend, &br, perr,
                           sizeof perr);
        if (st != SC_OK) {
            int again = st == SC_EPROTO || br.req_cls == SC_BULK_RETRY;
            sc_seterr(r->errstr, sizeof r->errstr, "bulk to %s: %s", cluster, perr);
            sc_bulk_result_free(&br);
            if (!again)
                goto out;
            log_warn("reindex: %s (attempt %d, retrying)", r->errstr, attempt + 1);
            continue;
        }
        for (i = 0; i < br.n; i++) {
            switch (br.items[i].cls) {
            case SC_BULK_OK:
                r->res.written++;
                break;
            case SC_BULK_CONFLICT:
                r->res.conflicts++;
                break;
            case SC_BULK_REJECT:
                r->res.rejected++;
                log_warn("reindex: %s/%s rejected message %" PRIu64 ": %s: %s", cluster, index,
                         msgs[pend[i]].id, br.items[i].error_type, br.items[i].reason);
                break;
            case SC_BULK_RETRY:
            default:
                pend[keep++] = pend[i];
                break;
            }
        }
        if (keep > 0)
            sc_seterr(r->errstr, sizeof r->errstr, "bulk to %s: %zu documents still failing",
                      cluster, keep);
        sc_bulk_result_free(&br);
        npend = keep;
        st = SC_OK;
    }
    if (npend > 0 && st == SC_OK)
        st = SC_ERR;
out:
    sc_bulk_free(&bulk);
    sc_buf_free(&doc);
    sc_buf_free(&resp);
    free(pend);
    return st;
}

static void free_msgs(sc_message *m, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        sc_message_clear(&m[i]);
    free(m);
}

/* Copy the rows after_id < id < before_id (0 = no bound) of ch, starting
 * from its cursor, checkpointing after each bulk. Returns SC_OK when the
 * range is exhausted or the run stopped (check stopped()/res.lost). */
static sc_status copy_range(sc_reindexer *r, const sc_job *job, rx_chan *ch, uint64_t after_id,
                            uint64_t before_id)
{
    es_client *cl;
    sc_status st;
    int page = r->batch;
    uint64_t cursor = ch->c.checkpoint_id > after_id ? ch->c.checkpoint_id : after_id;

    if (r->rate > 0 && (int64_t)page > r->rate / 4)
        page = r->rate / 4 > 0 ? (int)(r->rate / 4) : 1; /* ~4 checkpoints per second */
    if ((st = get_client(r, ch->cluster, &cl)) != SC_OK)
        return st;
    for (;;) {
        sc_message *msgs = NULL;
        size_t n = 0;
        if (stopped(r))
            return SC_OK;
        st = sc_db_page_messages(r->db, ch->c.channel_id, cursor, before_id, page, &msgs, &n);
        if (st != SC_OK) {
            sc_seterr(r->errstr, sizeof r->errstr, "read channel %" PRIu64 ": %s", ch->c.channel_id,
                      sc_db_errstr(r->db));
            return st;
        }
        if (n == 0)
            return SC_OK;
        st = write_docs(r, ch->cluster, cl, ch->index, msgs, n, 0);
        if (st != SC_OK) {
            free_msgs(msgs, n);
            return st;
        }
        cursor = msgs[n - 1].id;
        free_msgs(msgs, n);
        st = sc_db_job_checkpoint(r->db, job->id, ch->c.channel_id, cursor, (int64_t)n);
        if (st == SC_ECONFLICT || st == SC_ENOTFOUND) {
            r->res.lost = 1;
            sc_seterr(r->errstr, sizeof r->errstr, "job %" PRId64 " is no longer running here",
                      job->id);
            return SC_OK;
        }
        if (st != SC_OK) {
            sc_seterr(r->errstr, sizeof r->errstr, "checkpoint job %" PRId64 ": %s", job->id,
                      sc_db_errstr(r->db));
            return st;
        }
        ch->c.checkpoint_id = cursor;
        r->prog.done += (int64_t)n;
        r->prog.run_done += (int64_t)n;
        report(r, 0);
        if (n < (size_t)page)
            return SC_OK; /* short page: nothing more right now */
        if (throttle(r, n))
            return SC_OK;
    }
}

static sc_status set_cursor(sc_reindexer *r, const sc_job *job, rx_chan *ch, int phase, int done)
{
    sc_status st;
    ch->c.phase = phase;
    ch->c.checkpoint_id = done ? ch->c.checkpoint_id : 0;
    ch->c.done = done;
    st = sc_db_job_channel_set(r->db, job->id, &ch->c);
    if (st != SC_OK)
        sc_seterr(r->errstr, sizeof r->errstr, "job %" PRId64 " channel %" PRIu64 ": %s", job->id,
                  ch->c.channel_id, sc_db_errstr(r->db));
    return st;
}

/* Delete every document of channel in index on cluster (client es;
 * _delete_by_query, terms channel_id, refresh). *deleted (may be NULL) gets
 * the count. An absent index is SC_ENOTFOUND. */
static sc_status purge_copy(sc_reindexer *r, const char *cluster, es_client *es, uint64_t channel,
                            const char *index, int64_t *deleted)
{
    sc_buf body, resp, path;
    sc_status st;
    if (deleted != NULL)
        *deleted = 0;
    if (!es_index_name_ok(index, 0)) {
        sc_seterr(r->errstr, sizeof r->errstr, "bad index name '%s'", index);
        return SC_EINVAL;
    }
    sc_buf_init(&body, 0);
    sc_buf_init(&resp, 0);
    sc_buf_init(&path, 0);
    if (sc_buf_printf(&path, "/%s/_delete_by_query?conflicts=proceed&refresh=true", index) !=
            SC_OK ||
        sc_buf_printf(&body, "{\"query\":{\"terms\":{\"channel_id\":[%" PRIu64 "]}}}", channel) !=
            SC_OK) {
        st = SC_ENOMEM;
        goto out;
    }
    st = es_request(es, "POST", path.data, body.data, body.len, &resp, NULL);
    if (st == SC_OK) {
        cJSON *j = cJSON_ParseWithLength(resp.data, resp.len);
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "deleted");
        if (cJSON_IsNumber(d) && deleted != NULL)
            *deleted = sc_i64_from_double(d->valuedouble);
        cJSON_Delete(j);
    } else {
        sc_seterr(r->errstr, sizeof r->errstr, "purge channel %" PRIu64 " on %s/%s: %s", channel,
                  cluster, index, es_errstr(es));
    }
out:
    sc_buf_free(&body);
    sc_buf_free(&resp);
    sc_buf_free(&path);
    return st;
}

/* Delete the old copy of a moved channel. An unreachable old cluster is only
 * a warning: the binding no longer points there. */
static void purge_old(sc_reindexer *r, rx_chan *ch)
{
    es_client *cl;
    int64_t deleted = 0;
    sc_status st;
    if (get_client(r, ch->old_cluster, &cl) != SC_OK) {
        log_warn("reindex: channel %" PRIu64 ": old copy on %s/%s not purged: %s", ch->c.channel_id,
                 ch->old_cluster, ch->old_index, r->errstr);
        return;
    }
    st = purge_copy(r, ch->old_cluster, cl, ch->c.channel_id, ch->old_index, &deleted);
    if (st == SC_OK) {
        r->res.purged += deleted;
        log_info("reindex: channel %" PRIu64 ": purged old copy on %s/%s", ch->c.channel_id,
                 ch->old_cluster, ch->old_index);
    } else if (st != SC_ENOTFOUND) {
        log_warn("reindex: channel %" PRIu64 ": old copy on %s/%s not purged: %s", ch->c.channel_id,
                 ch->old_cluster, ch->old_index, r->errstr);
    }
}

/* ------------------------------------------------------------ jobs */

static sc_status load_channels(sc_reindexer *r, const sc_job *job, rx_chan **out, size_t *n)
{
    sc_job_channel *rows = NULL;
    size_t nrows = 0, i;
    sc_status st = sc_db_job_channels(r->db, job->id, &rows, &nrows);
    if (st == SC_OK && nrows == 0) {
        uint64_t *ids = NULL;
        size_t nids = 0;
        st = sc_reindex_job_channels(r, job->kind, job->target, &ids, &nids);
        if (st != SC_OK)
            return st;
        if (nids > 0)
            st = sc_db_job_channels_add(r->db, job->id, ids, nids);
        free(ids);
        if (st == SC_OK)
            st = sc_db_job_channels(r->db, job->id, &rows, &nrows);
    }
    if (st != SC_OK) {
        sc_seterr(r->errstr, sizeof r->errstr, "channels of job %" PRId64 ": %s", job->id,
                  sc_db_errstr(r->db));
        return st;
    }
    *out = calloc(nrows ? nrows : 1, sizeof **out);
    if (*out == NULL) {
        free(rows);
        return SC_ENOMEM;
    }
    for (i = 0; i < nrows; i++)
        (*out)[i].c = rows[i];
    *n = nrows;
    free(rows);
    return SC_OK;
}

static sc_status run_job(sc_reindexer *r, const sc_job *job, rx_chan *ch, size_t n)
{
    const char *to = job->to_cluster[0] ? job->to_cluster : NULL;
    uint64_t min_id = sc_reindex_phase1_min_id(job->created_ms, job->recent_days);
    int64_t total = 0;
    size_t i;
    int phase, any_purge = 0;
    sc_status st;

    r->run_index[0] = '\0';
    r->run_shards = r->big_shards;
    if (strcmp(job->kind, SC_PROMOTE_KIND) == 0) {
        /* a promotion: a move to the channel's own index with N shards */
        uint64_t cid;
        int shards;
        if (sc_promote_target_parse(job->target, &cid, &shards) != SC_OK || to == NULL ||
            sc_index_name_channel(r->index_name, cid, r->run_index, sizeof r->run_index, r->errstr,
                                  sizeof r->errstr) != SC_OK) {
            if (to == NULL)
                sc_seterr(r->errstr, sizeof r->errstr,
                          "promotion job %" PRId64 " has no destination cluster", job->id);
            else if (r->errstr[0] == '\0')
                sc_seterr(r->errstr, sizeof r->errstr, "bad promotion target '%s'", job->target);
            r->run_index[0] = '\0';
            return SC_EINVAL;
        }
        r->run_shards = shards;
    }

    for (i = 0; i < n; i++) {
        int64_t c = 0;
        if (sc_db_count_messages(r->db, ch[i].c.channel_id, 0, &c) == SC_OK) {
            total += c;
            if (sc_db_job_channel_total(r->db, job->id, ch[i].c.channel_id, c) != SC_OK)
                log_warn("reindex: job %" PRId64 " channel %" PRIu64 ": total: %s", job->id,
                         ch[i].c.channel_id, sc_db_errstr(r->db));
        }
    }
    r->prog.total = total;
    for (phase = 1; phase <= 2; phase++) {
        if ((st = sc_db_job_progress(r->db, job->id, phase, total)) != SC_OK) {
            if (st == SC_ECONFLICT) {
                r->res.lost = 1;
                return SC_OK;
            }
            sc_seterr(r->errstr, sizeof r->errstr, "job %" PRId64 ": %s", job->id,
                      sc_db_errstr(r->db));
            return st;
        }
        r->prog.phase = phase;
        for (i = 0; i < n; i++) {
            rx_chan *c = &ch[i];
            if (c->c.done || c->c.phase != phase)
                continue;
            if (stopped(r) || r->res.lost)
                return SC_OK;
            r->prog.channel_id = c->c.channel_id;
            r->prog.channel_index = i;
            if (!c->prepared && (st = prepare_channel(r, c, to)) != SC_OK)
                return st;
            if (phase == 1) {
                st = copy_range(r, job, c, min_id > 0 ? min_id - 1 : 0, 0);
                if (st != SC_OK || stopped(r) || r->res.lost)
                    return st;
                /* searchable with recent history from now on; answers say the
                 * rest is missing until phase 2 has copied it */
                if (min_id > 0 && (st = set_history_if(r, c, SC_BINDING_BUILDING, min_id)) != SC_OK)
                    return st;
                if ((st = activate_if(r, c, SC_BINDING_BUILDING, NULL)) != SC_OK)
                    return st;
                if (min_id > 0) {
                    if ((st = set_cursor(r, job, c, 2, 0)) != SC_OK)
                        return st;
                    continue;
                }
            } else {
                st = copy_range(r, job, c, 0, min_id);
                if (st != SC_OK || stopped(r) || r->res.lost)
                    return st;
            }
            /* the whole history is there */
            if ((st = activate_if(r, c, SC_BINDING_BUILDING, NULL)) != SC_OK ||
                (st = set_history_if(r, c, SC_BINDING_ACTIVE, 0)) != SC_OK)
                return st;
            if (to != NULL) {
                sc_binding b;
                if ((st = activate_if(r, c, SC_BINDING_MOVING, &b)) != SC_OK ||
                    (st = set_history_if(r, c, SC_BINDING_ACTIVE, 0)) != SC_OK)
                    return st;
                if (b.prev_cluster[0] != '\0' && (strcmp(b.prev_cluster, b.cluster) != 0 ||
                                                  strcmp(b.prev_index, b.index) != 0)) {
                    c->purge = 1;
                    any_purge = 1;
                    snprintf(c->old_cluster, sizeof c->old_cluster, "%s", b.prev_cluster);
                    snprintf(c->old_index, sizeof c->old_index, "%s", b.prev_index);
                    continue; /* done after the purge */
                }
            }
            if ((st = set_cursor(r, job, c, c->c.phase, 1)) != SC_OK)
                return st;
            r->res.channels++;
        }
    }
    if (any_purge) {
        /* searches that read the old place just before the switch finish first */
        r->prog.channel_id = 0;
        if (nap(r, r->purge_delay_ms))
            return SC_OK;
        for (i = 0; i < n; i++) {
            if (!ch[i].purge)
                continue;
            purge_old(r, &ch[i]);
            if ((st = set_cursor(r, job, &ch[i], ch[i].c.phase, 1)) != SC_OK)
                return st;
            r->res.channels++;
        }
    }
    return SC_OK;
}

sc_status sc_reindex_run_job(sc_reindexer *r, const sc_job *job, sc_reindex_result *res)
{
    rx_chan *ch = NULL;
    size_t n = 0;
    sc_status st;

    if (r == NULL || job == NULL)
        return SC_EINVAL;
    memset(&r->res, 0, sizeof r->res);
    memset(&r->prog, 0, sizeof r->prog);
    r->errstr[0] = '\0';
    r->run_t0_us = sc_now_us();
    r->run_sent = 0;
    r->prog.job_id = job->id;
    r->prog.done = job->done;
    r->prog.phase = job->phase;
    st = load_channels(r, job, &ch, &n);
    if (st == SC_OK) {
        r->prog.n_channels = n;
        r->res.job_channels = (int64_t)n;
        st = run_job(r, job, ch, n);
    }
    free(ch);
    if (st == SC_OK && stopped(r) && !r->res.lost) {
        r->res.interrupted = 1;
        sc_seterr(r->errstr, sizeof r->errstr,
                  "interrupted; resume with `reindex resume %" PRId64 "`", job->id);
    } else if (st == SC_OK && !r->res.lost) {
        sc_status fs = sc_db_job_finish(r->db, job->id, SC_JOB_DONE, NULL);
        if (fs == SC_ECONFLICT || fs == SC_ENOTFOUND)
            r->res.lost = 1;
        else if (fs != SC_OK) {
            sc_seterr(r->errstr, sizeof r->errstr, "finish job %" PRId64 ": %s", job->id,
                      sc_db_errstr(r->db));
            st = fs;
        }
    } else if (st != SC_OK) {
        log_error("reindex: job %" PRId64 " failed: %s", job->id, r->errstr);
        if (sc_db_job_finish(r->db, job->id, SC_JOB_FAILED, r->errstr) != SC_OK)
            log_warn("reindex: job %" PRId64 ": could not record the failure: %s", job->id,
                     sc_db_errstr(r->db));
    }
    r->res.job_done = r->prog.done;
    report(r, 1);
    if (res != NULL)
        *res = r->res;
    return st;
}

/* ------------------------------------------------------------ for verify */

sc_status sc_reindex_client(sc_reindexer *r, const char *cluster, es_client **out)
{
    *out = NULL;
    return get_client(r, cluster, out);
}

sc_status sc_reindex_write(sc_reindexer *r, const char *cluster, const char *index,
                           const sc_message *msgs, size_t n, int gte, sc_reindex_result *res)
{
    es_client *es;
    sc_reindex_result before = r->res;
    sc_status st;
    if (n == 0)
        return SC_OK;
    if ((st = ensure_index(r, cluster, index)) != SC_OK ||
        (st = get_client(r, cluster, &es)) != SC_OK)
        return st;
    st = write_docs(r, cluster, es, index, msgs, n, gte);
    if (res != NULL) {
        res->written += r->res.written - before.written;
        res->conflicts += r->res.conflicts - before.conflicts;
        res->rejected += r->res.rejected - before.rejected;
    }
    return st;
}

sc_status sc_reindex_purge_copy(sc_reindexer *r, uint64_t channel_id, const char *cluster,
                                const char *index, int64_t *deleted)
{
    es_client *es;
    sc_status st;
    if (deleted != NULL)
        *deleted = 0;
    if ((st = get_client(r, cluster, &es)) != SC_OK)
        return st;
    return purge_copy(r, cluster, es, channel_id, index, deleted);
}
