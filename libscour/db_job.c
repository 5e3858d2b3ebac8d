/*
 * db_job.c - reindex_jobs and reindex_job_channels: create, claim, progress,
 * checkpoint and finish a job, and the rebuild progress the router reports.
 * See db.h for the contract.
 */
#include "db_int.h"

#include <inttypes.h>
#include <stdio.h>

#include <stdlib.h>
#include <string.h>

#define JOB_COLS                                                              \
    "id, kind, coalesce(target, ''), coalesce(to_cluster, ''), state, phase," \
    " recent_days, total, done, checkpoint_id, coalesce(error, ''),"          \
    " coalesce(worker, ''), (extract(epoch FROM created_at) * 1000)::bigint," \
    " (extract(epoch FROM updated_at) * 1000)::bigint,"                       \
    " coalesce((extract(epoch FROM heartbeat_at) * 1000)::bigint, 0)"

static const sc_db_stmt ST_JOB_CREATE = {
    "sc_job_create", 4,
    "INSERT INTO reindex_jobs (kind, target, to_cluster, recent_days)"
    " VALUES ($1::text, $2::text, $3::text, $4::int) RETURNING id"};

static const sc_db_stmt ST_JOB_CLAIM = {
    "sc_job_claim", 3,
    "UPDATE reindex_jobs SET state = 'running', worker = $1::text, heartbeat_at = now(),"
    " updated_at = now()"
    " WHERE id = (SELECT id FROM reindex_jobs"
    "   WHERE (state = 'queued' OR ($3::int > 0 AND state = 'running'"
    "          AND heartbeat_at < now() - make_interval(secs => $3::int)))"
    "     AND ($2::text IS NULL OR to_cluster = $2::text)"
    "   ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)"
    " RETURNING " JOB_COLS};

static const sc_db_stmt ST_JOB_CHECKPOINT = {
    "sc_job_checkpoint", 4,
    "WITH j AS (UPDATE reindex_jobs SET checkpoint_id = $3::bigint,"
    "   done = done + $4::bigint, heartbeat_at = now(), updated_at = now()"
    "   WHERE id = $1::bigint AND state = 'running' RETURNING id, phase),"
    " c AS (INSERT INTO reindex_job_channels (job_id, channel_id, phase, checkpoint_id, "
    "copied)"
    "   SELECT j.id, $2::bigint, j.phase, $3::bigint, $4::bigint FROM j WHERE $2::bigint <> 0"
    "   ON CONFLICT (job_id, channel_id) DO UPDATE SET checkpoint_id = EXCLUDED.checkpoint_id,"
    "   copied = reindex_job_channels.copied + EXCLUDED.copied"
    "   RETURNING 1)"
    " SELECT (SELECT count(*) FROM j), (SELECT count(*) FROM c),"
    " EXISTS (SELECT 1 FROM reindex_jobs WHERE id = $1::bigint)"};

static const sc_db_stmt ST_JOB_PROGRESS = {
    "sc_job_progress", 3,
    "UPDATE reindex_jobs SET phase = $2::int,"
    " total = CASE WHEN $3::bigint < 0 THEN total ELSE $3::bigint END,"
    " heartbeat_at = now(), updated_at = now()"
    " WHERE id = $1::bigint AND state = 'running'"};

static const sc_db_stmt ST_JOB_FINISH = {
    "sc_job_finish", 3,
    "UPDATE reindex_jobs SET state = $2::text, error = $3::text, updated_at = now()"
    " WHERE id = $1::bigint AND state IN ('queued', 'running')"};

static const sc_db_stmt ST_JOB_GET = {
    "sc_job_get", 1, "SELECT " JOB_COLS " FROM reindex_jobs WHERE id = $1::bigint"};

static const sc_db_stmt ST_JOB_CHANNELS_ADD = {
    "sc_job_channels_add", 2,
    "INSERT INTO reindex_job_channels (job_id, channel_id)"
    " SELECT $1::bigint, unnest($2::bigint[]) ON CONFLICT DO NOTHING"};

static const sc_db_stmt ST_JOB_CHANNEL_SET = {
    "sc_job_channel_set", 5,
    "INSERT INTO reindex_job_channels (job_id, channel_id, phase, checkpoint_id, done)"
    " VALUES ($1::bigint, $2::bigint, $3::int, $4::bigint, $5::boolean)"
    " ON CONFLICT (job_id, channel_id) DO UPDATE SET phase = EXCLUDED.phase,"
    " checkpoint_id = EXCLUDED.checkpoint_id, done = EXCLUDED.done"};

static const sc_db_stmt ST_JOB_CHANNELS = {
    "sc_job_channels", 1,
    "SELECT channel_id, phase, checkpoint_id, done FROM reindex_job_channels"
    " WHERE job_id = $1::bigint ORDER BY channel_id"};

static const sc_db_stmt ST_REBUILD_PROGRESS = {
    "sc_rebuild_progress", 2,
    "WITH n AS (SELECT DISTINCT ON (jc.channel_id) jc.channel_id, jc.copied, jc.total, "
    "k.state,"
    "             k.created_at, k.updated_at"
    "           FROM reindex_job_channels jc JOIN reindex_jobs k ON k.id = jc.job_id"
    "           WHERE jc.channel_id = ANY($1::bigint[]) AND k.state <> 'cancelled'"
    "           ORDER BY jc.channel_id, jc.job_id DESC),"
    " w AS (SELECT min(created_at) AS t FROM n WHERE state IN ('queued', 'running'))"
    " SELECT coalesce(sum(n.copied), 0), coalesce(sum(greatest(n.total, n.copied)), 0) FROM "
    "n, w"
    " WHERE n.channel_id = ANY($2::bigint[])"
    "    OR (n.state NOT IN ('queued', 'running') AND w.t IS NOT NULL AND n.updated_at >= "
    "w.t)"};

static const sc_db_stmt ST_JOB_CHANNEL_TOTAL = {
    "sc_job_channel_total", 3,
    "UPDATE reindex_job_channels SET total = $3::bigint"
    " WHERE job_id = $1::bigint AND channel_id = $2::bigint"};

static const sc_db_stmt ST_JOB_FOR_CHANNEL = {
    "sc_job_for_channel", 1,
    "SELECT " JOB_COLS " FROM reindex_jobs j"
    " WHERE j.state IN ('queued', 'running')"
    "   AND EXISTS (SELECT 1 FROM reindex_job_channels jc"
    "               WHERE jc.job_id = j.id AND jc.channel_id = $1::bigint)"
    " ORDER BY j.id DESC LIMIT 1"};

/* $4 NULL: no dead owner known */
static const sc_db_stmt ST_JOB_CLAIM_ID = {
    "sc_job_claim_id", 4,
    "UPDATE reindex_jobs SET state = 'running', worker = $2::text, error = NULL,"
    " heartbeat_at = now(), updated_at = now()"
    " WHERE id = $1::bigint AND (state IN ('queued', 'failed')"
    "   OR (state = 'running' AND (heartbeat_at IS NULL"
    "       OR heartbeat_at < now() - make_interval(secs => $3::int)"
    "       OR worker = $4::text)))"
    " RETURNING " JOB_COLS};

static const sc_db_stmt ST_JOB_LIST = {
    "sc_job_list", 1, "SELECT " JOB_COLS " FROM reindex_jobs ORDER BY id DESC LIMIT $1::int"};

/* ---- jobs ---- */

static sc_status row_to_job(sc_db *db, const PGresult *r, int i, sc_job *j)
{
    memset(j, 0, sizeof(*j));
    col_str(r, i, 1, j->kind, sizeof(j->kind));
    col_str(r, i, 2, j->target, sizeof(j->target));
    col_str(r, i, 3, j->to_cluster, sizeof(j->to_cluster));
    col_str(r, i, 10, j->error, sizeof(j->error));
    col_str(r, i, 11, j->worker, sizeof(j->worker));
    if (col_i64(db, r, i, 0, &j->id) != SC_OK || col_int(db, r, i, 5, &j->phase) != SC_OK ||
        col_int(db, r, i, 6, &j->recent_days) != SC_OK ||
        col_i64(db, r, i, 7, &j->total) != SC_OK || col_i64(db, r, i, 8, &j->done) != SC_OK ||
        col_u64(db, r, i, 9, &j->checkpoint_id) != SC_OK ||
        col_i64(db, r, i, 12, &j->created_ms) != SC_OK ||
        col_i64(db, r, i, 13, &j->updated_ms) != SC_OK ||
        col_i64(db, r, i, 14, &j->heartbeat_ms) != SC_OK)
        return SC_EPROTO;
    if (sc_job_state_parse(PQgetvalue(r, i, 4), &j->state) != SC_OK) {
        sc_seterr(db->errstr, sizeof(db->errstr), "job %" PRId64 ": unknown state '%.32s'", j->id,
                  PQgetvalue(r, i, 4));
        return SC_EPROTO;
    }
    return SC_OK;
}

static sc_status read_job(sc_db *db, const PGresult *r, void *out)
{
    return row_to_job(db, r, 0, out);
}

static sc_status check_len(sc_db *db, const char *what, const char *s, size_t cap)
{
    if (s != NULL && strlen(s) >= cap) {
        sc_seterr(db->errstr, sizeof(db->errstr), "%s longer than %zu bytes", what, cap - 1);
        return SC_EINVAL;
    }
    return SC_OK;
}

sc_status sc_db_job_create(sc_db *db, const char *kind, const char *target, const char *to_cluster,
                           int recent_days, int64_t *id)
{
    sc_job j;
    idbuf d;
    const char *p[4] = {kind, target, to_cluster, i64s(&d, recent_days)};
    if (kind == NULL || check_len(db, "kind", kind, sizeof(j.kind)) != SC_OK ||
        check_len(db, "target", target, sizeof(j.target)) != SC_OK ||
        check_len(db, "to_cluster", to_cluster, sizeof(j.to_cluster)) != SC_OK) {
        if (kind == NULL)
            sc_seterr(db->errstr, sizeof(db->errstr), "job kind is NULL");
        return SC_EINVAL;
    }
    return db_one(db, &ST_JOB_CREATE, p, read_i64, id, "job create returned no id");
}

sc_status sc_db_job_claim(sc_db *db, const char *worker, const char *to_cluster, int stale_s,
                          sc_job *out)
{
    sc_job j;
    idbuf s;
    const char *p[3] = {worker, to_cluster, i64s(&s, stale_s < 0 ? 0 : stale_s)};
    if (worker == NULL || check_len(db, "worker", worker, sizeof(j.worker)) != SC_OK) {
        if (worker == NULL)
            sc_seterr(db->errstr, sizeof(db->errstr), "worker is NULL");
        return SC_EINVAL;
    }
    return db_one(db, &ST_JOB_CLAIM, p, read_job, out, "no claimable job");
}

/* After an UPDATE ... WHERE state = 'running' touched nothing: why? */
static sc_status job_not_running(sc_db *db, int64_t job_id)
{
    sc_job j;
    sc_status st = sc_db_job_get(db, job_id, &j);
    if (st != SC_OK)
        return st;
    sc_seterr(db->errstr, sizeof(db->errstr), "job %" PRId64 " is %s", job_id,
              sc_job_state_str(j.state));
    return SC_ECONFLICT;
}

sc_status sc_db_job_checkpoint(sc_db *db, int64_t job_id, uint64_t channel_id,
                               uint64_t checkpoint_id, int64_t done_delta)
{
    idbuf a, b, c, d;
    const char *p[4] = {i64s(&a, job_id), u64s(&b, channel_id), u64s(&c, checkpoint_id),
                        i64s(&d, done_delta)};
    PGresult *r = NULL;
    sc_status st = db_run(db, &ST_JOB_CHECKPOINT, p, &r);
    if (st == SC_OK && strcmp(PQgetvalue(r, 0, 0), "1") != 0) {
        if (!col_bool(r, 0, 2)) {
            sc_seterr(db->errstr, sizeof(db->errstr), "job %" PRId64 " not found", job_id);
            st = SC_ENOTFOUND;
        } else {
            st = job_not_running(db, job_id);
        }
    }
    PQclear(r);
    return st;
}

sc_status sc_db_job_progress(sc_db *db, int64_t job_id, int phase, int64_t total)
{
    idbuf a, b, c;
    const char *p[3] = {i64s(&a, job_id), i64s(&b, phase), i64s(&c, total)};
    PGresult *r = NULL;
    sc_status st = db_run(db, &ST_JOB_PROGRESS, p, &r);
    if (st == SC_OK && cmd_rows(r) == 0)
        st = job_not_running(db, job_id);
    PQclear(r);
    return st;
}

sc_status sc_db_job_finish(sc_db *db, int64_t job_id, sc_job_state state, const char *error)
{
    idbuf a;
    const char *p[3] = {i64s(&a, job_id), sc_job_state_str(state), error};
    PGresult *r = NULL;
    sc_status st;
    if (state != SC_JOB_DONE && state != SC_JOB_FAILED && state != SC_JOB_CANCELLED) {
        sc_seterr(db->errstr, sizeof(db->errstr), "job end state must be done|failed|cancelled");
        return SC_EINVAL;
    }
    st = db_run(db, &ST_JOB_FINISH, p, &r);
    if (st == SC_OK && cmd_rows(r) == 0) {
        sc_job j;
        st = sc_db_job_get(db, job_id, &j);
        if (st == SC_OK) {
            sc_seterr(db->errstr, sizeof(db->errstr), "job %" PRId64 " already %s", job_id,
                      sc_job_state_str(j.state));
            st = SC_ECONFLICT;
        }
    }
    PQclear(r);
    return st;
}

sc_status sc_db_job_get(sc_db *db, int64_t job_id, sc_job *out)
{
    idbuf a;
    const char *p[1] = {i64s(&a, job_id)};
    return db_one(db, &ST_JOB_GET, p, read_job, out, "job %" PRId64 " not found", job_id);
}

sc_status sc_db_job_channels_add(sc_db *db, int64_t job_id, const uint64_t *channels, size_t n)
{
    idbuf a;
    sc_buf arr;
    const char *p[2];
    sc_status st;
    if (n == 0)
        return SC_OK;
    if (id_array_param(db, &arr, channels, n) != SC_OK) {
        sc_buf_free(&arr);
        return SC_ENOMEM;
    }
    p[0] = i64s(&a, job_id);
    p[1] = arr.data;
    st = db_run(db, &ST_JOB_CHANNELS_ADD, p, NULL);
    sc_buf_free(&arr);
    return st;
}

sc_status sc_db_job_channel_set(sc_db *db, int64_t job_id, const sc_job_channel *c)
{
    idbuf a, b, ph, cp;
    const char *p[5] = {i64s(&a, job_id), u64s(&b, c->channel_id), i64s(&ph, c->phase),
                        u64s(&cp, c->checkpoint_id), c->done ? "t" : "f"};
    return db_run(db, &ST_JOB_CHANNEL_SET, p, NULL);
}

sc_status sc_db_job_channels(sc_db *db, int64_t job_id, sc_job_channel **out, size_t *n)
{
    idbuf a;
    const char *p[1] = {i64s(&a, job_id)};
    PGresult *r = NULL;
    sc_job_channel *jc = NULL;
    int rows;
    sc_status st;
    *out = NULL;
    *n = 0;
    st = db_run(db, &ST_JOB_CHANNELS, p, &r);
    if (st != SC_OK)
        return st;
    rows = PQntuples(r);
    if (rows > 0 && (jc = calloc((size_t)rows, sizeof(*jc))) == NULL) {
        sc_seterr(db->errstr, sizeof(db->errstr), "out of memory");
        st = SC_ENOMEM;
    }
    for (int i = 0; st == SC_OK && i < rows; i++) {
        if (col_u64(db, r, i, 0, &jc[i].channel_id) != SC_OK ||
            col_int(db, r, i, 1, &jc[i].phase) != SC_OK ||
            col_u64(db, r, i, 2, &jc[i].checkpoint_id) != SC_OK)
            st = SC_EPROTO;
        jc[i].done = col_bool(r, i, 3);
    }
    PQclear(r);
    if (st != SC_OK) {
        free(jc);
        return st;
    }
    *out = jc;
    *n = (size_t)rows;
    return SC_OK;
}

sc_status sc_db_job_for_channel(sc_db *db, uint64_t channel_id, sc_job *out)
{
    idbuf a;
    const char *p[1] = {u64s(&a, channel_id)};
    return db_one(db, &ST_JOB_FOR_CHANNEL, p, read_job, out,
                  "no queued or running job lists channel %" PRIu64, channel_id);
}

sc_status sc_db_rebuild_progress(sc_db *db, const uint64_t *channels, size_t n,
                                 const uint64_t *rebuilding, size_t nr, int64_t *done,
                                 int64_t *total)
{
    sc_buf arr, arr2;
    const char *p[2];
    PGresult *r = NULL;
    sc_status st;
    *done = 0;
    *total = 0;
    if (n == 0)
        return SC_OK;
    st = id_array_param(db, &arr, channels, n);
    if (id_array_param(db, &arr2, rebuilding, nr) != SC_OK || st != SC_OK) {
        sc_buf_free(&arr);
        sc_buf_free(&arr2);
        return SC_ENOMEM;
    }
    p[0] = arr.data;
    p[1] = arr2.data;
    st = db_run(db, &ST_REBUILD_PROGRESS, p, &r);
    if (st == SC_OK && PQntuples(r) == 1)
        st = col_i64(db, r, 0, 0, done) == SC_OK && col_i64(db, r, 0, 1, total) == SC_OK
                 ? SC_OK
                 : SC_EPROTO;
    PQclear(r);
    sc_buf_free(&arr);
    sc_buf_free(&arr2);
    return st;
}

sc_status sc_db_job_channel_total(sc_db *db, int64_t job_id, uint64_t channel_id, int64_t total)
{
    idbuf a, b, c;
    const char *p[3] = {i64s(&a, job_id), u64s(&b, channel_id), i64s(&c, total)};
    return db_run(db, &ST_JOB_CHANNEL_TOTAL, p, NULL);
}

sc_status sc_db_job_claim_id(sc_db *db, int64_t job_id, const char *worker, int stale_s,
                             const char *dead_worker, sc_job *out)
{
    sc_job j;
    idbuf a, s;
    const char *p[4] = {i64s(&a, job_id), worker, i64s(&s, stale_s), dead_worker};
    sc_status st;
    if (worker == NULL || check_len(db, "worker", worker, sizeof(j.worker)) != SC_OK) {
        if (worker == NULL)
            sc_seterr(db->errstr, sizeof(db->errstr), "worker is NULL");
        return SC_EINVAL;
    }
    st = db_one(db, &ST_JOB_CLAIM_ID, p, read_job, out, NULL);
    if (st == SC_ENOTFOUND) {
        /* absent, or present but not claimable: tell which */
        st = sc_db_job_get(db, job_id, &j);
        if (st == SC_OK) {
            sc_seterr(db->errstr, sizeof(db->errstr), "job %" PRId64 " is %s%s%s", job_id,
                      sc_job_state_str(j.state), j.worker[0] != '\0' ? " by " : "", j.worker);
            st = SC_ECONFLICT;
        }
    }
    return st;
}

sc_status sc_db_job_list(sc_db *db, int limit, sc_job **out, size_t *n)
{
    idbuf a;
    const char *p[1];
    PGresult *r = NULL;
    sc_job *jobs = NULL;
    int rows;
    sc_status st;
    *out = NULL;
    *n = 0;
    if (limit < 1 || limit > 10000) {
        sc_seterr(db->errstr, sizeof(db->errstr), "job list limit %d not in 1..10000", limit);
        return SC_EINVAL;
    }
    p[0] = i64s(&a, limit);
    st = db_run(db, &ST_JOB_LIST, p, &r);
    if (st != SC_OK)
        return st;
    rows = PQntuples(r);
    if (rows > 0 && (jobs = calloc((size_t)rows, sizeof(*jobs))) == NULL) {
        sc_seterr(db->errstr, sizeof(db->errstr), "out of memory");
        st = SC_ENOMEM;
    }
    for (int i = 0; st == SC_OK && i < rows; i++)
        st = row_to_job(db, r, i, &jobs[i]);
    PQclear(r);
    if (st != SC_OK) {
        free(jobs);
        return st;
    }
    *out = jobs;
    *n = (size_t)rows;
    return SC_OK;
}
