/*
 * verify_stale.c - copies of a channel on indices its binding does not name
 * (see verify.h): every live cluster is asked, with one terms aggregation on
 * _index, which indices hold the channel's documents; a repairing pass
 * purges them.
 */
#include "verify_int.h"

#include "log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_bound_place(const sc_verify_result *r, const char *cluster, const char *index)
{
    int i;
    for (i = 0; i < r->n_copies; i++)
        if (strcmp(r->copies[i].cluster, cluster) == 0 && strcmp(r->copies[i].index, index) == 0)
            return 1;
    return 0;
}

/* Ask every live cluster which indices hold documents of the channel. */
sc_status vf_find_stale_copies(sc_verifier *v)
{
    sc_cluster_info *cl = NULL;
    size_t ncl = 0, i;
    sc_status st = sc_cluster_view_list(v->view, &cl, &ncl);
    if (st != SC_OK) {
        sc_seterr(v->errstr, sizeof v->errstr, "cluster view: %s", sc_status_str(st));
        return st;
    }
    for (i = 0; i < ncl; i++) {
        cJSON *j = NULL;
        const cJSON *it;
        if (!cl[i].live)
            continue;
        if (sc_reindex_client(v->rx, cl[i].name, &v->es) != SC_OK) {
            log_warn("verify: channel %" PRIu64 ": cluster %s not checked for stale copies: %s",
                     v->channel, cl[i].name, sc_reindexer_errstr(v->rx));
            continue;
        }
        sc_buf_reset(&v->body);
        if (sc_buf_printf(&v->body,
                          "{\"size\":0,\"query\":{\"term\":{\"channel_id\":\"%" PRIu64 "\"}},"
                          "\"aggs\":{\"i\":{\"terms\":{\"field\":\"_index\",\"size\":100}}}}",
                          v->channel) != SC_OK) {
            free(cl);
            return SC_ENOMEM;
        }
        st = vf_search(v, "*", &j);
        if (st != SC_OK) {
            log_warn("verify: channel %" PRIu64 ": cluster %s not checked for stale copies: %s",
                     v->channel, cl[i].name, v->errstr);
            v->errstr[0] = '\0';
            continue;
        }
        cJSON_ArrayForEach(it, vf_jget(vf_jget(vf_jget(j, "aggregations"), "i"), "buckets"))
        {
            const cJSON *key = vf_jget(it, "key");
            uint64_t docs = 0;
            if (!cJSON_IsString(key) || !vf_json_u53(vf_jget(it, "doc_count"), &docs) ||
                docs == 0 || is_bound_place(v->res, cl[i].name, key->valuestring))
                continue;
            v->res->stale_copy_docs += (int64_t)docs;
            if (v->res->n_stale_copies < SC_VERIFY_MAX_STALE) {
                sc_verify_stale_copy *s = &v->res->stale_copies[v->res->n_stale_copies++];
                snprintf(s->cluster, sizeof s->cluster, "%s", cl[i].name);
                snprintf(s->index, sizeof s->index, "%s", key->valuestring);
                s->docs = (int64_t)docs;
            }
            if (v->writing) {
                int64_t del = 0;
                v->res->es_requests++;
                if (sc_reindex_purge_copy(v->rx, v->channel, cl[i].name, key->valuestring, &del) ==
                    SC_OK)
                    v->res->purged += del;
                else
                    log_warn("verify: channel %" PRIu64 ": stale copy on %s/%s not purged: %s",
                             v->channel, cl[i].name, key->valuestring, sc_reindexer_errstr(v->rx));
            }
        }
        cJSON_Delete(j);
    }
    free(cl);
    return SC_OK;
}
