/*
 * reindex_move.c - a channel's binding through a reindex job (see
 * reindex.h): deciding where the copy goes and putting the binding in the
 * state the copy needs (building, or moving with dual writes), turning it
 * active once the copy is searchable, its history mark, and purging the old
 * copy after a move's switch.
 */
#include "reindex_int.h"

#include "index_name.h"
#include "log.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define RX_BINDING_TRIES 4 /* compare-and-set attempts on a binding */

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
sc_status rxe_prepare_channel(sc_reindexer *r, rx_chan *ch, const char *to)
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
            if ((st = rxe_ensure_index(r, pick, dest_index)) != SC_OK)
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
            if ((st = rxe_ensure_index(r, ch->cluster, ch->index)) != SC_OK)
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
        if ((st = rxe_ensure_index(r, to, dest_index)) != SC_OK)
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
    sc_status st = rxe_client(r, ch->cluster, &es);
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
sc_status rxe_activate_if(sc_reindexer *r, rx_chan *ch, sc_binding_state from, sc_binding *after)
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
sc_status rxe_set_history_if(sc_reindexer *r, rx_chan *ch, sc_binding_state in, uint64_t value)
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
void rxe_purge_old(sc_reindexer *r, rx_chan *ch)
{
    es_client *cl;
    int64_t deleted = 0;
    sc_status st;
    if (rxe_client(r, ch->old_cluster, &cl) != SC_OK) {
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

sc_status sc_reindex_purge_copy(sc_reindexer *r, uint64_t channel_id, const char *cluster,
                                const char *index, int64_t *deleted)
{
    es_client *es;
    sc_status st;
    if (deleted != NULL)
        *deleted = 0;
    if ((st = rxe_client(r, cluster, &es)) != SC_OK)
        return st;
    return purge_copy(r, cluster, es, channel_id, index, deleted);
}
