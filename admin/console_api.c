/*
 * admin/console_api.c - the console's JSON admin API (schemas/console-api.yaml,
 * docs/console.md). Every handler opens the backend clients it needs for
 * the one request and closes them (an operator's page polls every few
 * seconds; a fresh connection per call keeps no state to go stale), and
 * answers errors as {"message": ..., "code": ...} with a 4xx/5xx status,
 * as the router does.
 *
 *   GET  /api/session                      the secret is right
 *   GET  /api/clusters                     every cluster: state, lease, load, channels, docs, health, version
 *   POST /api/clusters/{name}/drain        drain / undrain
 *   POST /api/clusters/{name}/undrain
 *   GET  /api/pipeline                     indexer stage rates, queue, bulk latency, series
 *   GET  /api/router                       router QPS, p50/p99, 202/429/503/partial
 *   GET  /api/dead-letters?before=&limit=  newest dead letters with reason and payload
 *   POST /api/dead-letters/{id}/replay     one back to the event stream
 *   POST /api/dead-letters/replay-all      all of them
 *   GET  /api/jobs?limit=                  reindex jobs with progress, rate, ETA
 *   POST /api/jobs {"kind","target"}       queue a channel or guild rebuild
 *   GET  /api/demo-users                   demo mode: users and their tokens
 *   GET  /api/search?scope=&id=&...        the router's search, token in X-Scour-Token
 */
#include "console.h"

#include "db.h"
#include "deadletter.h"
#include "queue.h"
#include "states.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

sc_status cs_json_error(sc_buf *out, const char *msg, int code)
{
    sc_status st;
    sc_buf_reset(out);
    st = sc_buf_puts(out, "{\"message\":");
    if (st == SC_OK)
        st = sc_buf_json_str(out, msg);
    if (st == SC_OK)
        st = sc_buf_printf(out, ",\"code\":%d}", code);
    return st;
}

/* Set an error answer. */
static void fail(int *status, sc_buf *out, int http, const char *msg)
{
    *status = http;
    if (cs_json_error(out, msg, http) != SC_OK)
        *status = 500;
}

static void fail_st(int *status, sc_buf *out, sc_status st, const char *msg)
{
    int http = st == SC_EINVAL ? 400 : st == SC_ENOTFOUND ? 404 : st == SC_ECONFLICT ? 409 : 503;
    fail(status, out, http, msg);
}

static const char *arg(const cs_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->con, MHD_GET_ARGUMENT_KIND, name);
}

/* An optional integer argument in lo..hi (def when absent); 0 on a bad one. */
static int int_arg(const cs_req *r, const char *name, int lo, int hi, int def, int *out)
{
    const char *v = arg(r, name);
    uint64_t u;
    if (v == NULL || v[0] == '\0') {
        *out = def;
        return 1;
    }
    if (sc_parse_u64(v, &u) != SC_OK || u < (uint64_t)lo || u > (uint64_t)hi)
        return 0;
    *out = (int)u;
    return 1;
}

/* ------------------------------------------------------------ clusters */

static void api_clusters(const cs_req *r, int *status, sc_buf *out)
{
    char err[SC_ERRLEN], warn[SC_ERRLEN];
    admin_cluster_row *rows = NULL;
    size_t n = 0;
    sc_status st;
    if (admin_cluster_rows(r->cfg, 1, &rows, &n, warn, sizeof warn, err, sizeof err) != SC_OK) {
        fail(status, out, 503, err);
        return;
    }
    st = sc_buf_puts(out, "{\"clusters\":[");
    for (size_t i = 0; i < n && st == SC_OK; i++) {
        const admin_cluster_row *c = &rows[i];
        char lease[24];
        snprintf(lease, sizeof lease, "%" PRIx64, (uint64_t)c->lease);
        st = sc_buf_printf(out, "%s{\"name\":", i ? "," : "");
        if (st == SC_OK)
            st = sc_buf_json_str(out, c->ci.name);
        if (st == SC_OK)
            st = sc_buf_puts(out, ",\"url\":");
        if (st == SC_OK)
            st = sc_buf_json_str(out, c->ci.url);
        if (st == SC_OK)
            st = sc_buf_printf(
                out,
                ",\"state\":\"%s\",\"live\":%s,\"lease\":%s%s%s,\"capacity\":%lld,\"load\":%.0f,"
                "\"channels\":%lld,\"docs\":%lld,\"health\":",
                c->live ? sc_cluster_state_str(c->ci.state) : "gone", c->live ? "true" : "false",
                c->lease ? "\"" : "", c->lease ? lease : "null", c->lease ? "\"" : "",
                (long long)c->ci.capacity, c->load, (long long)c->channels, (long long)c->docs);
        if (st == SC_OK)
            st = c->health[0] ? sc_buf_json_str(out, c->health) : sc_buf_puts(out, "null");
        if (st == SC_OK)
            st = sc_buf_puts(out, ",\"version\":");
        if (st == SC_OK)
            st = c->version[0] ? sc_buf_json_str(out, c->version) : sc_buf_puts(out, "null");
        if (st == SC_OK)
            st = sc_buf_printf(out, ",\"registered_state\":\"%s\"}",
                               sc_cluster_state_str(c->ci.state));
    }
    if (st == SC_OK)
        st = sc_buf_puts(out, "],\"warning\":");
    if (st == SC_OK)
        st = warn[0] ? sc_buf_json_str(out, warn) : sc_buf_puts(out, "null");
    if (st == SC_OK)
        st = sc_buf_puts(out, "}");
    free(rows);
    *status = st == SC_OK ? 200 : 500;
}

static void api_drain(const cs_req *r, const char *name, int on, int *status, sc_buf *out)
{
    char err[SC_ERRLEN];
    int found = 0;
    sc_status st = admin_cluster_drain(r->cfg, name, on, &found, err, sizeof err);
    if (st != SC_OK) {
        fail_st(status, out, st, err);
        return;
    }
    st = sc_buf_puts(out, "{\"name\":");
    if (st == SC_OK)
        st = sc_buf_json_str(out, name);
    if (st == SC_OK)
        st = sc_buf_printf(out, ",\"state\":\"%s\",\"registered\":%s}", on ? "draining" : "active",
                           found ? "true" : "false");
    *status = st == SC_OK ? 200 : 500;
}

/* ------------------------------------------------------------ dead letters */

static sc_queue *open_queue(const sc_config *cfg, char *err, size_t errlen)
{
    sc_queue_opts o;
    char dead[300];
    memset(&o, 0, sizeof o);
    sc_redis_opts_from_config(cfg, &o.redis);
    o.stream = cfg->stream;
    o.group = cfg->group;
    o.consumer = "console";
    o.maxlen = cfg->stream_maxlen;
    o.dead_stream = sc_config_dead_stream(cfg, dead, sizeof dead);
    return sc_queue_create(&o, err, errlen);
}

static void api_dead_list(const cs_req *r, int *status, sc_buf *out)
{
    char err[SC_ERRLEN];
    sc_queue *q;
    sc_dead_entry *e = NULL;
    size_t n = 0;
    int64_t total = 0;
    int limit;
    sc_status st;
    if (!int_arg(r, "limit", 1, 1000, 50, &limit)) {
        fail(status, out, 400, "limit: give an integer in 1..1000");
        return;
    }
    if ((q = open_queue(r->cfg, err, sizeof err)) == NULL) {
        fail(status, out, 503, err);
        return;
    }
    st = sc_dead_list(q, arg(r, "before"), limit, &e, &n, err, sizeof err);
    if (st == SC_OK && sc_queue_dead_count(q, &total) != SC_OK)
        total = -1;
    if (st != SC_OK) {
        fail_st(status, out, st, err);
        sc_queue_free(q);
        return;
    }
    st = sc_buf_puts(out, "{\"stream\":");
    if (st == SC_OK)
        st = sc_buf_json_str(out, sc_queue_dead_stream(q));
    if (st == SC_OK)
        st = sc_buf_printf(out, ",\"total\":%lld,\"entries\":[", (long long)total);
    for (size_t i = 0; i < n && st == SC_OK; i++) {
        st = sc_buf_printf(out, "%s{\"id\":\"%s\",\"src_id\":\"%s\",\"ts_ms\":%lld,\"reason\":",
                           i ? "," : "", e[i].id, e[i].src_id, (long long)e[i].ts_ms);
        if (st == SC_OK)
            st = sc_buf_json_str(out, e[i].reason);
        if (st == SC_OK)
            st = sc_buf_puts(out, ",\"payload\":");
        if (st == SC_OK)
            st = e[i].payload != NULL && e[i].payload_len > 0
                     ? sc_buf_json_strn(out, e[i].payload, e[i].payload_len)
                     : sc_buf_puts(out, "null");
        if (st == SC_OK)
            st = sc_buf_puts(out, "}");
    }
    if (st == SC_OK)
        st = sc_buf_puts(out, "],\"next_before\":");
    if (st == SC_OK)
        st = n == (size_t)limit ? sc_buf_json_str(out, e[n - 1].id) : sc_buf_puts(out, "null");
    if (st == SC_OK)
        st = sc_buf_puts(out, "}");
    sc_dead_entries_free(e, n);
    sc_queue_free(q);
    *status = st == SC_OK ? 200 : 500;
}

static void api_dead_replay(const cs_req *r, const char *id, int *status, sc_buf *out)
{
    char err[SC_ERRLEN], nid[SC_QUEUE_IDLEN];
    sc_queue *q;
    sc_status st;
    int64_t done = 0, skipped = 0;
    if (id != NULL && !sc_dead_id_ok(id)) {
        fail(status, out, 400, "not a stream id (<ms>-<seq>)");
        return;
    }
    if ((q = open_queue(r->cfg, err, sizeof err)) == NULL) {
        fail(status, out, 503, err);
        return;
    }
    st = id != NULL ? sc_dead_replay(q, id, nid, err, sizeof err)
                    : sc_dead_replay_all(q, &done, &skipped, err, sizeof err);
    if (st != SC_OK) {
        /* replay-all may have replayed some before the error: say how many */
        if (id == NULL && done > 0) {
            char msg[SC_ERRLEN + 64];
            snprintf(msg, sizeof msg, "%s (after %lld replayed)", err, (long long)done);
            fail_st(status, out, st, msg);
        } else {
            fail_st(status, out, st, err);
        }
        sc_queue_free(q);
        return;
    }
    if (id != NULL)
        st = sc_buf_printf(out, "{\"replayed\":1,\"id\":\"%s\",\"new_id\":\"%s\",\"stream\":", id,
                           nid);
    else
        st = sc_buf_printf(out, "{\"replayed\":%lld,\"skipped\":%lld,\"stream\":", (long long)done,
                           (long long)skipped);
    if (st == SC_OK)
        st = sc_buf_json_str(out, sc_queue_stream(q));
    if (st == SC_OK)
        st = sc_buf_puts(out, "}");
    sc_queue_free(q);
    *status = st == SC_OK ? 200 : 500;
}

/* ------------------------------------------------------------ jobs */

/* First sighting of each running job, for its rate: (done, when). */
#define CS_JOBS_SEEN 128
static struct {
    int64_t id, done, t_ms;
} seen[CS_JOBS_SEEN];
static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;

/* Messages per second of a job: since the console first saw it running (at
 * least 2 s ago), else its average since it was created. */
static double job_rate(const sc_job *j, int64_t now)
{
    double rate = 0;
    size_t slot = (size_t)j->id % CS_JOBS_SEEN;
    if (j->state != SC_JOB_RUNNING) {
        double secs = (double)(j->updated_ms - j->created_ms) / 1000.0;
        return secs > 0 ? (double)j->done / secs : 0;
    }
    pthread_mutex_lock(&seen_lock);
    if (seen[slot].id != j->id || seen[slot].done > j->done) {
        seen[slot].id = j->id;
        seen[slot].done = j->done;
        seen[slot].t_ms = now;
    }
    if (now - seen[slot].t_ms >= 2000 && j->done > seen[slot].done)
        rate = (double)(j->done - seen[slot].done) * 1000.0 / (double)(now - seen[slot].t_ms);
    pthread_mutex_unlock(&seen_lock);
    if (rate <= 0 && j->updated_ms > j->created_ms)
        rate = (double)j->done * 1000.0 / (double)(j->updated_ms - j->created_ms);
    return rate;
}

static void api_jobs(const cs_req *r, int *status, sc_buf *out)
{
    char err[SC_ERRLEN];
    sc_db *db;
    sc_job *jobs = NULL;
    size_t n = 0;
    int limit;
    int64_t now = sc_wall_ms();
    sc_status st;
    if (!int_arg(r, "limit", 1, 1000, 20, &limit)) {
        fail(status, out, 400, "limit: give an integer in 1..1000");
        return;
    }
    if ((db = sc_db_create(r->cfg->pg_dsn, err, sizeof err)) == NULL) {
        fail(status, out, 503, err);
        return;
    }
    if (sc_db_job_list(db, limit, &jobs, &n) != SC_OK) {
        fail(status, out, 503, sc_db_errstr(db));
        sc_db_free(db);
        return;
    }
    sc_db_free(db);
    st = sc_buf_puts(out, "{\"jobs\":[");
    for (size_t i = 0; i < n && st == SC_OK; i++) {
        const sc_job *j = &jobs[i];
        double rate = job_rate(j, now), pct = 0;
        int64_t left = j->total > j->done ? j->total - j->done : 0;
        if (j->total > 0)
            pct = 100.0 * (double)(j->done > j->total ? j->total : j->done) / (double)j->total;
        if (j->state == SC_JOB_DONE)
            pct = 100.0;
        st = sc_buf_printf(out, "%s{\"id\":%lld,\"kind\":", i ? "," : "", (long long)j->id);
        if (st == SC_OK)
            st = sc_buf_json_str(out, j->kind);
        if (st == SC_OK)
            st = sc_buf_puts(out, ",\"target\":");
        if (st == SC_OK)
            st = sc_buf_json_str(out, j->target);
        if (st == SC_OK)
            st = sc_buf_puts(out, ",\"to_cluster\":");
        if (st == SC_OK)
            st = sc_buf_json_str(out, j->to_cluster);
        if (st == SC_OK)
            st = sc_buf_printf(out,
                               ",\"state\":\"%s\",\"phase\":%d,\"done\":%lld,\"total\":%lld,"
                               "\"percent\":%.1f,\"rate_per_s\":%.1f,\"eta_s\":",
                               sc_job_state_str(j->state), j->phase, (long long)j->done,
                               (long long)j->total, pct, rate);
        if (st == SC_OK)
            st = j->state == SC_JOB_RUNNING && rate > 0 && j->total > 0
                     ? sc_buf_printf(out, "%.0f", (double)left / rate)
                     : sc_buf_puts(out, "null");
        if (st == SC_OK)
            st = sc_buf_puts(out, ",\"error\":");
        if (st == SC_OK)
            st = sc_buf_json_str(out, j->error);
        if (st == SC_OK)
            st = sc_buf_puts(out, ",\"worker\":");
        if (st == SC_OK)
            st = sc_buf_json_str(out, j->worker);
        if (st == SC_OK)
            st = sc_buf_printf(
                out, ",\"created_ms\":%lld,\"updated_ms\":%lld,\"heartbeat_ms\":%lld}",
                (long long)j->created_ms, (long long)j->updated_ms, (long long)j->heartbeat_ms);
    }
    if (st == SC_OK)
        st = sc_buf_puts(out, "]}");
    free(jobs);
    *status = st == SC_OK ? 200 : 500;
}

static void api_job_create(const cs_req *r, int *status, sc_buf *out)
{
    char err[SC_ERRLEN];
    cJSON *root = cJSON_ParseWithLength(r->body, r->body_len);
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(root, "kind");
    const cJSON *target = cJSON_GetObjectItemCaseSensitive(root, "target");
    uint64_t id = 0, guild = 0;
    int64_t job = 0;
    sc_db *db;
    sc_status st;
    if (root == NULL || !cJSON_IsObject(root)) {
        fail(status, out, 400,
             "body: give a JSON object {\"kind\":\"channel\"|\"guild\",\"target\":\"<id>\"}");
        cJSON_Delete(root);
        return;
    }
    if (!cJSON_IsString(kind) ||
        (strcmp(kind->valuestring, "channel") != 0 && strcmp(kind->valuestring, "guild") != 0)) {
        fail(status, out, 400, "kind: must be \"channel\" or \"guild\"");
        cJSON_Delete(root);
        return;
    }
    if (!cJSON_IsString(target) || sc_parse_u64(target->valuestring, &id) != SC_OK || id == 0 ||
        id > INT64_MAX) {
        fail(status, out, 400,
             "target: must be a channel or guild id (a decimal snowflake string)");
        cJSON_Delete(root);
        return;
    }
    if ((db = sc_db_create(r->cfg->pg_dsn, err, sizeof err)) == NULL) {
        fail(status, out, 503, err);
        cJSON_Delete(root);
        return;
    }
    if (strcmp(kind->valuestring, "channel") == 0) {
        st = sc_db_channel_guild(db, id, &guild);
        if (st == SC_ENOTFOUND) {
            fail(status, out, 404, "unknown channel");
            goto out;
        }
        if (st != SC_OK) {
            fail(status, out, 503, sc_db_errstr(db));
            goto out;
        }
    }
    st = sc_db_job_create(db, kind->valuestring, target->valuestring, NULL, r->cfg->recent_days,
                          &job);
    if (st != SC_OK) {
        fail(status, out, 503, sc_db_errstr(db));
        goto out;
    }
    *status = sc_buf_printf(out,
                            "{\"id\":%lld,\"kind\":\"%s\",\"target\":\"%" PRIu64
                            "\",\"state\":\"queued\"}",
                            (long long)job, kind->valuestring, id) == SC_OK
                  ? 201
                  : 500;
out:
    sc_db_free(db);
    cJSON_Delete(root);
}

/* ------------------------------------------------------------ search */

/* Re-encode the query arguments except scope and id. */
typedef struct qs_ctx {
    sc_buf *b;    /* borrowed: the query string being built */
    CURL *curl;   /* borrowed: for curl_easy_escape */
    sc_status st; /* first failure */
} qs_ctx;

static enum MHD_Result qs_add(void *cls, enum MHD_ValueKind kind, const char *key,
                              const char *value)
{
    qs_ctx *c = cls;
    char *k, *v;
    (void)kind;
    if (strcmp(key, "scope") == 0 || strcmp(key, "id") == 0 || c->st != SC_OK)
        return MHD_YES;
    k = curl_easy_escape(c->curl, key, 0);
    v = curl_easy_escape(c->curl, value ? value : "", 0);
    if (k == NULL || v == NULL)
        c->st = SC_ENOMEM;
    else
        c->st = sc_buf_printf(c->b, "%s%s=%s", c->b->len ? "&" : "", k, v);
    curl_free(k);
    curl_free(v);
    return MHD_YES;
}

static void api_search(const cs_req *r, int *status, sc_buf *out)
{
    const char *scope = arg(r, "scope"), *id = arg(r, "id");
    const char *tok = MHD_lookup_connection_value(r->con, MHD_HEADER_KIND, "X-Scour-Token");
    char err[SC_ERRLEN], auth[4200];
    const char *headers[2] = {auth, NULL};
    uint64_t u;
    sc_buf qs, url;
    qs_ctx c;
    long code = 0;
    size_t rl = strlen(r->cfg->console_router_url);
    sc_status st;
    if (scope == NULL || (strcmp(scope, "guild") != 0 && strcmp(scope, "channel") != 0)) {
        fail(status, out, 400, "scope: must be guild or channel");
        return;
    }
    if (id == NULL || sc_parse_u64(id, &u) != SC_OK || u == 0) {
        fail(status, out, 400, "id: must be a guild or channel id");
        return;
    }
    if (tok == NULL || tok[0] == '\0' || strlen(tok) > 4096 || strpbrk(tok, "\r\n") != NULL) {
        fail(status, out, 401, "give the user's token in X-Scour-Token");
        return;
    }
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", tok);
    sc_buf_init(&qs, 1 << 16);
    sc_buf_init(&url, 1 << 17);
    c.b = &qs;
    c.curl = curl_easy_init();
    c.st = c.curl != NULL ? SC_OK : SC_ENOMEM;
    MHD_get_connection_values(r->con, MHD_GET_ARGUMENT_KIND, qs_add, &c);
    if (c.curl != NULL)
        curl_easy_cleanup(c.curl);
    st = c.st;
    if (st == SC_OK)
        st = sc_buf_printf(&url, "%.*s/api/v1/%s/%" PRIu64 "/messages/search?%s",
                           (int)(rl > 0 && r->cfg->console_router_url[rl - 1] == '/' ? rl - 1 : rl),
                           r->cfg->console_router_url,
                           strcmp(scope, "guild") == 0 ? "guilds" : "channels", u,
                           qs.data ? qs.data : "");
    if (st != SC_OK) {
        fail(status, out, 400, "query too long");
    } else if (cs_http_get(url.data, headers, 10000, out, &code, err, sizeof err) != SC_OK) {
        fail(status, out, 502, err);
    } else {
        *status = (int)code;
    }
    sc_buf_free(&qs);
    sc_buf_free(&url);
}

/* ------------------------------------------------------------ dispatch */

/* Split "/clusters/NAME/ACTION" style paths: 1 when path is
 * prefix + one segment + "/" + action; the segment goes to seg. */
static int match(const char *path, const char *prefix, const char *action, char *seg, size_t len)
{
    size_t pl = strlen(prefix), al = strlen(action), n;
    const char *s;
    if (strncmp(path, prefix, pl) != 0)
        return 0;
    s = path + pl;
    n = strlen(s);
    if (n <= al + 1 || strcmp(s + n - al, action) != 0 || s[n - al - 1] != '/')
        return 0;
    n -= al + 1;
    if (n == 0 || n >= len || memchr(s, '/', n) != NULL)
        return 0;
    memcpy(seg, s, n);
    seg[n] = '\0';
    return 1;
}

void cs_api(const cs_req *r, int *status, sc_buf *out)
{
    char seg[128];
    int get = strcmp(r->method, "GET") == 0, post = strcmp(r->method, "POST") == 0;
    const char *p = r->path;
    int known = 1;
    if (strcmp(p, "/session") == 0) {
        if (get)
            *status = sc_buf_puts(out, "{\"authenticated\":true}") == SC_OK ? 200 : 500;
        else
            known = 0;
    } else if (strcmp(p, "/clusters") == 0 && get) {
        api_clusters(r, status, out);
    } else if (match(p, "/clusters/", "drain", seg, sizeof seg) && post) {
        api_drain(r, seg, 1, status, out);
    } else if (match(p, "/clusters/", "undrain", seg, sizeof seg) && post) {
        api_drain(r, seg, 0, status, out);
    } else if (strcmp(p, "/pipeline") == 0 && get) {
        *status = cs_stats_pipeline_json(r->stats, out) == SC_OK ? 200 : 500;
    } else if (strcmp(p, "/router") == 0 && get) {
        *status = cs_stats_router_json(r->stats, out) == SC_OK ? 200 : 500;
    } else if (strcmp(p, "/dead-letters") == 0 && get) {
        api_dead_list(r, status, out);
    } else if (strcmp(p, "/dead-letters/replay-all") == 0 && post) {
        api_dead_replay(r, NULL, status, out);
    } else if (match(p, "/dead-letters/", "replay", seg, sizeof seg) && post) {
        api_dead_replay(r, seg, status, out);
    } else if (strcmp(p, "/jobs") == 0 && get) {
        api_jobs(r, status, out);
    } else if (strcmp(p, "/jobs") == 0 && post) {
        api_job_create(r, status, out);
    } else if (strcmp(p, "/demo-users") == 0 && get) {
        if (r->demo_users == NULL)
            fail(status, out, 404, "demo mode is off (console_demo_users is not set)");
        else
            *status = sc_buf_puts(out, r->demo_users) == SC_OK ? 200 : 500;
    } else if (strcmp(p, "/search") == 0 && get) {
        api_search(r, status, out);
    } else {
        known = 0;
    }
    if (!known) {
        /* a known path with the wrong method is a 405, anything else a 404 */
        static const char *const paths[] = {"/session",    "/clusters",     "/pipeline",
                                            "/router",     "/dead-letters", "/jobs",
                                            "/demo-users", "/search",       NULL};
        int path_known = match(p, "/clusters/", "drain", seg, sizeof seg) ||
                         match(p, "/clusters/", "undrain", seg, sizeof seg) ||
                         match(p, "/dead-letters/", "replay", seg, sizeof seg);
        for (int i = 0; paths[i] != NULL && !path_known; i++)
            path_known = strcmp(p, paths[i]) == 0;
        if (path_known)
            fail(status, out, 405, "method not allowed");
        else
            fail(status, out, 404, "no such API endpoint");
    }
}
