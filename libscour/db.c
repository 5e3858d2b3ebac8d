/*
 * db.c - PostgreSQL client over libpq; see db.h for the contract and
 * schemas/postgres/README.md for the tables.
 *
 * Every statement lives in the table stmts[] below with a constant name and
 * is prepared lazily once per connection (a bit in db->prepared). db_run()
 * is the only place that talks to the server for statements: it prepares,
 * executes, and on a lost connection resets once and retries once.
 * All parameters are sent as text with explicit casts in the SQL; results are
 * read in text format.
 *
 * Not here: caching (binding.c), the readability rule's callers (router).
 */
#include "db.h"
#include "db_int.h"

#include "buf.h"
#include "digest.h"
#include "log.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sc_db {
    PGconn *conn;             /* owned; the one connection of this handle */
    int statement_timeout_ms; /* applied on every (re)connect */
    uint64_t prepared;        /* bit i set: stmts[i] is prepared on conn */
    uint64_t reconnects;      /* automatic resets made so far */
    char errstr[SC_ERRLEN];   /* reason of the last failure */
};

/* Columns of a message row, in the order row_to_message() reads them. */
#define MSG_COLS                                                              \
    "id, channel_id, coalesce(guild_id, 0), author_id, author_type, content," \
    " array_to_string(mentions, ','), mention_everyone, attachments::text,"   \
    " embeds::text, array_to_string(sticker_ids, ','), pinned, version,"      \
    " deleted_at IS NOT NULL"

#define BINDING_COLS                                                          \
    "channel_id, cluster, index_name, state, coalesce(previous_cluster, '')," \
    " coalesce(previous_index, ''), generation, history_from"

#define JOB_COLS                                                              \
    "id, kind, coalesce(target, ''), coalesce(to_cluster, ''), state, phase," \
    " recent_days, total, done, checkpoint_id, coalesce(error, ''),"          \
    " coalesce(worker, ''), (extract(epoch FROM created_at) * 1000)::bigint," \
    " (extract(epoch FROM updated_at) * 1000)::bigint,"                       \
    " coalesce((extract(epoch FROM heartbeat_at) * 1000)::bigint, 0)"

/* The readability rule of README.md, for channel alias c and user $1. */
#define READABLE_PRED                                                                \
    "((c.guild_id IS NOT NULL"                                                       \
    "  AND EXISTS (SELECT 1 FROM guild_members gm"                                   \
    "              WHERE gm.guild_id = c.guild_id AND gm.user_id = $1::bigint)"      \
    "  AND ((c.visibility = 'public'"                                                \
    "        AND NOT EXISTS (SELECT 1 FROM channel_denies d"                         \
    "                        WHERE d.channel_id = c.id AND d.user_id = $1::bigint))" \
    "       OR EXISTS (SELECT 1 FROM channel_members cm"                             \
    "                  WHERE cm.channel_id = c.id AND cm.user_id = $1::bigint)))"    \
    " OR (c.guild_id IS NULL"                                                        \
    "  AND EXISTS (SELECT 1 FROM channel_members cm"                                 \
    "              WHERE cm.channel_id = c.id AND cm.user_id = $1::bigint)))"

enum stmt_id {
    ST_UPSERT_MESSAGE,
    ST_UPSERT_USER,
    ST_UPSERT_GUILD,
    ST_UPSERT_CHANNEL,
    ST_UPSERT_MEMBER,
    ST_CHANNEL_ACCESS,
    ST_READABLE_CANDIDATES,
    ST_READABLE_GUILD,
    ST_READABLE_ALL,
    ST_CHANNEL_GUILD,
    ST_GUILD_CHANNELS,
    ST_PAGE_MESSAGES,
    ST_COUNT_MESSAGES,
    ST_BINDING_GET,
    ST_BINDING_INSERT,
    ST_BINDING_UPDATE,
    ST_BINDING_SET_HISTORY,
    ST_BINDING_EXISTS,
    ST_BINDINGS_ON_CLUSTER,
    ST_BINDING_COUNTS,
    ST_JOB_CREATE,
    ST_JOB_CLAIM,
    ST_JOB_CHECKPOINT,
    ST_JOB_PROGRESS,
    ST_JOB_FINISH,
    ST_JOB_GET,
    ST_JOB_CHANNELS_ADD,
    ST_JOB_CHANNEL_SET,
    ST_JOB_CHANNELS,
    ST_FETCH_MESSAGES_EX,
    ST_PAGE_MESSAGES_DESC,
    ST_JOB_FOR_CHANNEL,
    ST_REBUILD_PROGRESS,
    ST_JOB_CHANNEL_TOTAL,
    ST_JOB_CLAIM_ID,
    ST_JOB_LIST,
    ST_VERIFY_BUCKETS,
    ST_VERIFY_MARK,
    ST_VERIFY_NEXT,
    ST_VERIFY_PROGRESS,
    ST__COUNT
};

typedef struct stmt_def {
    const char *name; /* prepared statement name, constant */
    int nparams;      /* number of $n parameters */
    const char *sql;
} stmt_def;

static const stmt_def stmts[ST__COUNT] = {
    [ST_UPSERT_MESSAGE] =
        {"sc_upsert_message", 14,
         "INSERT INTO messages AS m (id, channel_id, guild_id, author_id, author_type, content,"
         " mentions, mention_everyone, attachments, embeds, sticker_ids, pinned, version,"
         " edited_at, deleted_at)"
         " VALUES ($1::bigint, $2::bigint, NULLIF($3::bigint, 0), $4::bigint, $5::text, $6::text,"
         " $7::bigint[], $8::boolean, $9::jsonb, $10::jsonb, $11::bigint[], $12::boolean,"
         " $13::bigint,"
         " CASE WHEN $13::bigint > 1 AND NOT $14::boolean THEN now() END,"
         " CASE WHEN $14::boolean THEN now() END)"
         " ON CONFLICT (id) DO UPDATE SET channel_id = EXCLUDED.channel_id,"
         " guild_id = EXCLUDED.guild_id, author_id = EXCLUDED.author_id,"
         " author_type = EXCLUDED.author_type, content = EXCLUDED.content,"
         " mentions = EXCLUDED.mentions, mention_everyone = EXCLUDED.mention_everyone,"
         " attachments = EXCLUDED.attachments, embeds = EXCLUDED.embeds,"
         " sticker_ids = EXCLUDED.sticker_ids, pinned = EXCLUDED.pinned,"
         " version = EXCLUDED.version,"
         " edited_at = CASE WHEN $14::boolean THEN m.edited_at ELSE now() END,"
         " deleted_at = CASE WHEN $14::boolean THEN coalesce(m.deleted_at, now()) END"
         " WHERE m.version < EXCLUDED.version"},
    [ST_UPSERT_USER] = {"sc_upsert_user", 2,
                        "INSERT INTO users (id, name) VALUES ($1::bigint, $2::text)"
                        " ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name"},
    [ST_UPSERT_GUILD] =
        {"sc_upsert_guild", 3,
         "INSERT INTO guilds (id, name, owner_id) VALUES ($1::bigint, $2::text,"
         " NULLIF($3::bigint, 0))"
         " ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, owner_id = EXCLUDED.owner_id"},
    [ST_UPSERT_CHANNEL] =
        {"sc_upsert_channel", 5,
         "INSERT INTO channels (id, guild_id, name, kind, visibility)"
         " VALUES ($1::bigint, NULLIF($2::bigint, 0), $3::text, $4::text, $5::text)"
         " ON CONFLICT (id) DO UPDATE SET guild_id = EXCLUDED.guild_id, name = EXCLUDED.name,"
         " kind = EXCLUDED.kind, visibility = EXCLUDED.visibility"},
    [ST_UPSERT_MEMBER] =
        {"sc_upsert_member", 2,
         "INSERT INTO guild_members (guild_id, user_id) VALUES ($1::bigint, $2::bigint)"
         " ON CONFLICT DO NOTHING"},
    [ST_CHANNEL_ACCESS] =
        {"sc_channel_access", 3,
         "WITH dm AS (DELETE FROM channel_members WHERE channel_id = $1::bigint"
         "            AND user_id = $2::bigint AND $3::int <> 1),"
         " dd AS (DELETE FROM channel_denies WHERE channel_id = $1::bigint"
         "        AND user_id = $2::bigint AND $3::int <> 2),"
         " im AS (INSERT INTO channel_members (channel_id, user_id)"
         "        SELECT $1::bigint, $2::bigint WHERE $3::int = 1 ON CONFLICT DO NOTHING),"
         " idn AS (INSERT INTO channel_denies (channel_id, user_id)"
         "        SELECT $1::bigint, $2::bigint WHERE $3::int = 2 ON CONFLICT DO NOTHING)"
         " SELECT 1"},
    [ST_READABLE_CANDIDATES] =
        {"sc_readable_candidates", 3,
         "SELECT c.id FROM channels c WHERE c.id = ANY($2::bigint[])"
         " AND ($3::bigint = 0 OR c.guild_id = $3::bigint) AND " READABLE_PRED " ORDER BY c.id"},
    [ST_READABLE_GUILD] =
        {"sc_readable_guild", 2,
         "SELECT c.id FROM channels c WHERE c.guild_id = $2::bigint AND " READABLE_PRED
         " ORDER BY c.id"},
    [ST_READABLE_ALL] =
        {"sc_readable_all", 1,
         "SELECT c.id FROM channels c"
         " WHERE (c.guild_id IN (SELECT guild_id FROM guild_members WHERE user_id = $1::bigint)"
         "  OR c.id IN (SELECT channel_id FROM channel_members WHERE user_id = $1::bigint))"
         " AND " READABLE_PRED " ORDER BY c.id"},
    [ST_CHANNEL_GUILD] = {"sc_channel_guild", 1,
                          "SELECT coalesce(guild_id, 0) FROM channels WHERE id = $1::bigint"},
    [ST_GUILD_CHANNELS] = {"sc_guild_channels", 1,
                           "SELECT id FROM channels WHERE guild_id = $1::bigint ORDER BY id"},
    [ST_PAGE_MESSAGES] = {"sc_page_messages", 4,
                          "SELECT " MSG_COLS " FROM messages"
                          " WHERE channel_id = $1::bigint AND id > $2::bigint AND id < $3::bigint"
                          " ORDER BY id LIMIT $4::int"},
    [ST_COUNT_MESSAGES] =
        {"sc_count_messages", 2,
         "SELECT count(*) FROM messages WHERE channel_id = $1::bigint AND id >= $2::bigint"},
    [ST_BINDING_GET] = {"sc_binding_get", 1,
                        "SELECT " BINDING_COLS
                        " FROM channel_bindings WHERE channel_id = $1::bigint"},
    [ST_BINDING_INSERT] =
        {"sc_binding_insert", 4,
         "INSERT INTO channel_bindings (channel_id, cluster, index_name, state)"
         " VALUES ($1::bigint, $2::text, $3::text, $4::text) ON CONFLICT (channel_id) DO NOTHING"},
    [ST_BINDING_UPDATE] =
        {"sc_binding_update", 5,
         "UPDATE channel_bindings b SET"
         " previous_cluster = CASE WHEN b.cluster <> $2::text OR b.index_name <> $3::text"
         "   THEN b.cluster ELSE b.previous_cluster END,"
         " previous_index = CASE WHEN b.cluster <> $2::text OR b.index_name <> $3::text"
         "   THEN b.index_name ELSE b.previous_index END,"
         " cluster = $2::text, index_name = $3::text, state = $4::text,"
         " generation = b.generation + 1, updated_at = now()"
         " WHERE b.channel_id = $1::bigint AND b.generation = $5::int"
         " RETURNING " BINDING_COLS},
    [ST_BINDING_SET_HISTORY] = {"sc_binding_set_history", 3,
                                "UPDATE channel_bindings b SET history_from = $2::bigint,"
                                " generation = b.generation + 1, updated_at = now()"
                                " WHERE b.channel_id = $1::bigint AND b.generation = $3::int"
                                " RETURNING " BINDING_COLS},
    [ST_BINDING_EXISTS] = {"sc_binding_exists", 1,
                           "SELECT 1 FROM channel_bindings WHERE channel_id = $1::bigint"},
    [ST_BINDINGS_ON_CLUSTER] =
        {"sc_bindings_on_cluster", 1,
         "SELECT channel_id FROM channel_bindings WHERE cluster = $1::text ORDER BY channel_id"},
    [ST_BINDING_COUNTS] =
        {"sc_binding_counts", 0,
         "SELECT cluster, count(*), count(*) FILTER (WHERE state = 'active'),"
         " count(*) FILTER (WHERE state = 'building'), count(*) FILTER (WHERE state = 'moving')"
         " FROM channel_bindings GROUP BY cluster ORDER BY cluster"},
    [ST_JOB_CREATE] = {"sc_job_create", 4,
                       "INSERT INTO reindex_jobs (kind, target, to_cluster, recent_days)"
                       " VALUES ($1::text, $2::text, $3::text, $4::int) RETURNING id"},
    [ST_JOB_CLAIM] =
        {"sc_job_claim", 3,
         "UPDATE reindex_jobs SET state = 'running', worker = $1::text, heartbeat_at = now(),"
         " updated_at = now()"
         " WHERE id = (SELECT id FROM reindex_jobs"
         "   WHERE (state = 'queued' OR ($3::int > 0 AND state = 'running'"
         "          AND heartbeat_at < now() - make_interval(secs => $3::int)))"
         "     AND ($2::text IS NULL OR to_cluster = $2::text)"
         "   ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)"
         " RETURNING " JOB_COLS},
    [ST_JOB_CHECKPOINT] =
        {"sc_job_checkpoint", 4,
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
         " EXISTS (SELECT 1 FROM reindex_jobs WHERE id = $1::bigint)"},
    [ST_JOB_PROGRESS] = {"sc_job_progress", 3,
                         "UPDATE reindex_jobs SET phase = $2::int,"
                         " total = CASE WHEN $3::bigint < 0 THEN total ELSE $3::bigint END,"
                         " heartbeat_at = now(), updated_at = now()"
                         " WHERE id = $1::bigint AND state = 'running'"},
    [ST_JOB_FINISH] =
        {"sc_job_finish", 3,
         "UPDATE reindex_jobs SET state = $2::text, error = $3::text, updated_at = now()"
         " WHERE id = $1::bigint AND state IN ('queued', 'running')"},
    [ST_JOB_GET] = {"sc_job_get", 1, "SELECT " JOB_COLS " FROM reindex_jobs WHERE id = $1::bigint"},
    [ST_JOB_CHANNELS_ADD] = {"sc_job_channels_add", 2,
                             "INSERT INTO reindex_job_channels (job_id, channel_id)"
                             " SELECT $1::bigint, unnest($2::bigint[]) ON CONFLICT DO NOTHING"},
    [ST_JOB_CHANNEL_SET] =
        {"sc_job_channel_set", 5,
         "INSERT INTO reindex_job_channels (job_id, channel_id, phase, checkpoint_id, done)"
         " VALUES ($1::bigint, $2::bigint, $3::int, $4::bigint, $5::boolean)"
         " ON CONFLICT (job_id, channel_id) DO UPDATE SET phase = EXCLUDED.phase,"
         " checkpoint_id = EXCLUDED.checkpoint_id, done = EXCLUDED.done"},
    [ST_JOB_CHANNELS] = {"sc_job_channels", 1,
                         "SELECT channel_id, phase, checkpoint_id, done FROM reindex_job_channels"
                         " WHERE job_id = $1::bigint ORDER BY channel_id"},
    /* MSG_COLS then the edit time in ms (column 14, 0 = never edited) */
    [ST_FETCH_MESSAGES_EX] =
        {"sc_fetch_messages_ex", 1,
         "SELECT " MSG_COLS ","
         " coalesce((extract(epoch FROM edited_at) * 1000)::bigint, 0) FROM messages"
         " WHERE id = ANY($1::bigint[]) AND deleted_at IS NULL"},
    [ST_PAGE_MESSAGES_DESC] =
        {"sc_page_messages_desc", 3,
         "SELECT " MSG_COLS " FROM messages"
         " WHERE channel_id = $1::bigint AND id < $2::bigint AND deleted_at IS NULL"
         " ORDER BY id DESC LIMIT $3::int"},
    [ST_REBUILD_PROGRESS] =
        {"sc_rebuild_progress", 2,
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
         "w.t)"},
    [ST_JOB_CHANNEL_TOTAL] = {"sc_job_channel_total", 3,
                              "UPDATE reindex_job_channels SET total = $3::bigint"
                              " WHERE job_id = $1::bigint AND channel_id = $2::bigint"},
    [ST_JOB_FOR_CHANNEL] = {"sc_job_for_channel", 1,
                            "SELECT " JOB_COLS " FROM reindex_jobs j"
                            " WHERE j.state IN ('queued', 'running')"
                            "   AND EXISTS (SELECT 1 FROM reindex_job_channels jc"
                            "               WHERE jc.job_id = j.id AND jc.channel_id = $1::bigint)"
                            " ORDER BY j.id DESC LIMIT 1"},
    /* $4 NULL: no dead owner known */
    [ST_JOB_CLAIM_ID] =
        {"sc_job_claim_id", 4,
         "UPDATE reindex_jobs SET state = 'running', worker = $2::text, error = NULL,"
         " heartbeat_at = now(), updated_at = now()"
         " WHERE id = $1::bigint AND (state IN ('queued', 'failed')"
         "   OR (state = 'running' AND (heartbeat_at IS NULL"
         "       OR heartbeat_at < now() - make_interval(secs => $3::int)"
         "       OR worker = $4::text)))"
         " RETURNING " JOB_COLS},
    [ST_JOB_LIST] = {"sc_job_list", 1,
                     "SELECT " JOB_COLS " FROM reindex_jobs ORDER BY id DESC LIMIT $1::int"},
    /* $2 = k+1 increasing bounds; bucket i (0-based) = [$2[i+1], $2[i+2]) */
    [ST_VERIFY_BUCKETS] =
        {"sc_verify_buckets", 4,
         "SELECT width_bucket(m.id, $2::bigint[]) - 1, count(*), coalesce(sum(" SC_DIGEST_SQL
         "), 0)"
         " FROM messages m WHERE m.channel_id = $1::bigint AND m.id >= $3::bigint AND m.id < "
         "$4::bigint"
         " GROUP BY 1"},
    [ST_VERIFY_MARK] =
        {"sc_verify_mark", 4,
         "INSERT INTO channel_verifications (channel_id, verified_at, result, drift_docs, error)"
         " VALUES ($1::bigint, now(), $2::text, $3::bigint, $4::text)"
         " ON CONFLICT (channel_id) DO UPDATE SET verified_at = now(), claimed_at = NULL,"
         " result = EXCLUDED.result, drift_docs = EXCLUDED.drift_docs, error = EXCLUDED.error"},
    /* claim: bound channels on the given clusters, never verified first, then
     * the longest-unverified, skipping those another sweep claimed less than
     * $3 s ago */
    [ST_VERIFY_NEXT] =
        {"sc_verify_next", 3,
         "WITH pick AS (SELECT b.channel_id FROM channel_bindings b"
         "   LEFT JOIN channel_verifications v ON v.channel_id = b.channel_id"
         "   WHERE b.cluster = ANY ($2::text[])"
         "     AND (v.claimed_at IS NULL OR v.claimed_at < now() - make_interval(secs => $3::int))"
         "   ORDER BY v.verified_at ASC NULLS FIRST, b.channel_id LIMIT $1::int"
         "   FOR UPDATE OF b SKIP LOCKED)"
         " INSERT INTO channel_verifications (channel_id, claimed_at) SELECT channel_id, now() "
         "FROM pick"
         " ON CONFLICT (channel_id) DO UPDATE SET claimed_at = now()"
         " RETURNING channel_id"},
    [ST_VERIFY_PROGRESS] =
        {"sc_verify_progress", 1,
         "SELECT count(*), count(v.verified_at),"
         " count(*) FILTER (WHERE v.verified_at >= now() - make_interval(secs => $1::int)),"
         " count(*) FILTER (WHERE v.result IN ('drift', 'repaired')"
         "   AND v.verified_at >= now() - make_interval(secs => $1::int)),"
         " count(*) FILTER (WHERE v.result = 'error'),"
         " coalesce((extract(epoch FROM min(v.verified_at)) * 1000)::bigint, 0),"
         " coalesce((extract(epoch FROM max(v.verified_at)) * 1000)::bigint, 0)"
         " FROM channel_bindings b LEFT JOIN channel_verifications v ON v.channel_id = "
         "b.channel_id"},
};

_Static_assert(ST__COUNT <= 64, "prepared bitmask is 64 bits");

/* ---- connection ---- */

static void db_seterr_msg(sc_db *db, const char *prefix, const char *msg)
{
    size_t n;
    sc_seterr(db->errstr, sizeof(db->errstr), "%s%s", prefix, msg != NULL ? msg : "");
    n = strlen(db->errstr);
    while (n > 0 && (db->errstr[n - 1] == '\n' || db->errstr[n - 1] == ' '))
        db->errstr[--n] = '\0';
}

/* libpq prints notices to stderr by default; library code must not print. */
static void notice_to_log(void *arg, const char *message)
{
    SC_UNUSED(arg);
    log_debug("postgres: %s", message);
}

static sc_status session_setup(sc_db *db)
{
    char sql[64];
    PGresult *r;
    snprintf(sql, sizeof(sql), "SET statement_timeout = %d", db->statement_timeout_ms);
    r = PQexec(db->conn, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        db_seterr_msg(db, "session setup: ", PQerrorMessage(db->conn));
        PQclear(r);
        return SC_ECONN;
    }
    PQclear(r);
    return SC_OK;
}

sc_db *sc_db_create_opts(const char *conninfo, int statement_timeout_ms, char *err, size_t errlen)
{
    /* dbname comes last and is expanded, so the caller's conninfo overrides
     * every default before it. */
    static const char *const keys[] = {
        "connect_timeout",     "keepalives",       "keepalives_idle",
        "keepalives_interval", "keepalives_count", "tcp_user_timeout",
        "application_name",    "dbname",           NULL};
    const char *vals[9] = {"5", "1", "5", "2", "3", "20000", "scour", NULL, NULL};
    sc_db *db;

    if (conninfo == NULL || statement_timeout_ms < 0) {
        sc_seterr(err, errlen, "db: conninfo missing or negative statement timeout");
        return NULL;
    }
    db = calloc(1, sizeof(*db));
    if (db == NULL) {
        sc_seterr(err, errlen, "db: out of memory");
        return NULL;
    }
    db->statement_timeout_ms = statement_timeout_ms;
    vals[7] = conninfo;
    db->conn = PQconnectdbParams(keys, vals, 1);
    if (db->conn == NULL) {
        sc_seterr(err, errlen, "db: out of memory");
        free(db);
        return NULL;
    }
    PQsetNoticeProcessor(db->conn, notice_to_log, NULL);
    if (PQstatus(db->conn) != CONNECTION_OK) {
        db_seterr_msg(db, "db: connect: ", PQerrorMessage(db->conn));
        sc_seterr(err, errlen, "%s", db->errstr);
        sc_db_free(db);
        return NULL;
    }
    if (session_setup(db) != SC_OK) {
        sc_seterr(err, errlen, "db: %s", db->errstr);
        sc_db_free(db);
        return NULL;
    }
    return db;
}

sc_db *sc_db_create(const char *conninfo, char *err, size_t errlen)
{
    return sc_db_create_opts(conninfo, SC_DB_DEFAULT_STATEMENT_TIMEOUT_MS, err, errlen);
}

void sc_db_free(sc_db *db)
{
    if (db == NULL)
        return;
    if (db->conn != NULL)
        PQfinish(db->conn);
    free(db);
}

const char *sc_db_errstr(const sc_db *db) { return db != NULL ? db->errstr : "no handle"; }

int sc_db_backend_pid(const sc_db *db)
{
    if (db == NULL || PQstatus(db->conn) != CONNECTION_OK)
        return 0;
    return PQbackendPID(db->conn);
}

uint64_t sc_db_reconnects(const sc_db *db) { return db != NULL ? db->reconnects : 0; }

static sc_status db_reset(sc_db *db)
{
    db->prepared = 0;
    db->reconnects++;
    log_warn("db: connection lost, reconnecting");
    PQreset(db->conn);
    if (PQstatus(db->conn) != CONNECTION_OK) {
        db_seterr_msg(db, "reconnect: ", PQerrorMessage(db->conn));
        return SC_ECONN;
    }
    return session_setup(db);
}

/* Did this failure come from a broken connection (worth a reset)? */
static int conn_lost(const sc_db *db, const PGresult *r)
{
    const char *ss;
    if (PQstatus(db->conn) == CONNECTION_BAD)
        return 1;
    ss = r != NULL ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    if (ss == NULL)
        return r == NULL || PQresultStatus(r) == PGRES_FATAL_ERROR;
    /* 08xxx connection exception; 57P01-03 admin/crash shutdown, cannot connect now */
    return strncmp(ss, "08", 2) == 0 || strncmp(ss, "57P0", 4) == 0;
}

static sc_status status_of(const PGresult *r)
{
    const char *ss = r != NULL ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    if (ss == NULL)
        return SC_ERR;
    if (strcmp(ss, "57014") == 0)
        return SC_ETIMEOUT; /* query_canceled: statement_timeout */
    if (strncmp(ss, "22", 2) == 0 || strncmp(ss, "23", 2) == 0)
        return SC_EINVAL; /* data exception, integrity constraint */
    if (strcmp(ss, "40001") == 0 || strcmp(ss, "40P01") == 0)
        return SC_ECONFLICT;
    if (strncmp(ss, "08", 2) == 0 || strncmp(ss, "57P0", 4) == 0)
        return SC_ECONN;
    return SC_ERR;
}

static int result_ok(const PGresult *r)
{
    ExecStatusType s = PQresultStatus(r);
    return r != NULL && (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK);
}

/* Execute statement d with text params: prepared once per connection when
 * st >= 0 (bit st of db->prepared), sent unprepared when st < 0. On SC_OK
 * *out (if non-NULL) owns the result (PQclear); otherwise nothing is
 * returned and errstr is set. Resets a broken connection once and retries. */
static sc_status db_exec(sc_db *db, const stmt_def *d, int st, const char *const *params,
                         PGresult **out)
{
    int reset_done = 0;
    PGresult *r;
    sc_status rc;

    if (out != NULL)
        *out = NULL;
    for (;;) {
        if (PQstatus(db->conn) != CONNECTION_OK) {
            if (reset_done) {
                db_seterr_msg(db, "connection lost again: ", PQerrorMessage(db->conn));
                return SC_ECONN;
            }
            reset_done = 1;
            if ((rc = db_reset(db)) != SC_OK)
                return rc;
        }
        r = NULL;
        if (st >= 0 && !(db->prepared & (UINT64_C(1) << st))) {
            r = PQprepare(db->conn, d->name, d->sql, d->nparams, NULL);
            if (!result_ok(r))
                goto failed;
            PQclear(r);
            db->prepared |= UINT64_C(1) << st;
        }
        if (st >= 0)
            r = PQexecPrepared(db->conn, d->name, d->nparams, params, NULL, NULL, 0);
        else
            r = PQexecParams(db->conn, d->sql, d->nparams, NULL, params, NULL, NULL, 0);
        if (result_ok(r)) {
            if (out != NULL)
                *out = r;
            else
                PQclear(r);
            return SC_OK;
        }
    failed:
        if (!reset_done && conn_lost(db, r)) {
            PQclear(r);
            reset_done = 1;
            if ((rc = db_reset(db)) != SC_OK)
                return rc;
            continue;
        }
        db_seterr_msg(db, "", r != NULL ? PQresultErrorMessage(r) : PQerrorMessage(db->conn));
        if (db->errstr[0] == '\0')
            db_seterr_msg(db, "", PQerrorMessage(db->conn));
        rc = conn_lost(db, r) ? SC_ECONN : status_of(r);
        PQclear(r);
        return rc;
    }
}

/* A statement of the table stmts[], prepared once per connection. */
static sc_status db_run(sc_db *db, enum stmt_id st, const char *const *params, PGresult **out)
{
    return db_exec(db, &stmts[st], (int)st, params, out);
}

/* Rows affected by a command result. */
static long cmd_rows(PGresult *r)
{
    const char *s = PQcmdTuples(r);
    return s != NULL && *s != '\0' ? strtol(s, NULL, 10) : 0;
}

/* ---- parameter and column helpers ---- */

typedef struct idbuf {
    char s[24]; /* decimal uint64 / int64 with NUL */
} idbuf;

static const char *u64s(idbuf *b, uint64_t v)
{
    snprintf(b->s, sizeof(b->s), "%" PRIu64, v);
    return b->s;
}

static const char *i64s(idbuf *b, int64_t v)
{
    snprintf(b->s, sizeof(b->s), "%" PRId64, v);
    return b->s;
}

/* "{1,2,3}" as a bigint[] literal. */
static sc_status id_array(sc_buf *b, const uint64_t *ids, size_t n)
{
    if (sc_buf_puts(b, "{") != SC_OK)
        return SC_ENOMEM;
    for (size_t i = 0; i < n; i++)
        if (sc_buf_printf(b, "%s%" PRIu64, i > 0 ? "," : "", ids[i]) != SC_OK)
            return SC_ENOMEM;
    return sc_buf_puts(b, "}") == SC_OK ? SC_OK : SC_ENOMEM;
}

/* arr = a fresh bigint[] literal of ids (the caller frees arr either way);
 * SC_ENOMEM with the reason in db's errstr. */
static sc_status id_array_param(sc_db *db, sc_buf *arr, const uint64_t *ids, size_t n)
{
    sc_buf_init(arr, 0);
    if (id_array(arr, ids, n) != SC_OK) {
        sc_seterr(db->errstr, sizeof(db->errstr), "out of memory");
        return SC_ENOMEM;
    }
    return SC_OK;
}

static sc_status col_u64(sc_db *db, const PGresult *r, int row, int col, uint64_t *out)
{
    if (PQgetisnull(r, row, col)) {
        *out = 0;
        return SC_OK;
    }
    if (sc_parse_u64(PQgetvalue(r, row, col), out) != SC_OK) {
        sc_seterr(db->errstr, sizeof(db->errstr), "bad id '%s' in column %d",
                  PQgetvalue(r, row, col), col);
        return SC_EPROTO;
    }
    return SC_OK;
}

static sc_status col_i64(sc_db *db, const PGresult *r, int row, int col, int64_t *out)
{
    const char *s = PQgetvalue(r, row, col);
    char *end = NULL;
    long long v;
    if (PQgetisnull(r, row, col)) {
        *out = 0;
        return SC_OK;
    }
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0') {
        sc_seterr(db->errstr, sizeof(db->errstr), "bad integer '%s' in column %d", s, col);
        return SC_EPROTO;
    }
    *out = (int64_t)v;
    return SC_OK;
}

static sc_status col_int(sc_db *db, const PGresult *r, int row, int col, int *out)
{
    int64_t v;
    sc_status st = col_i64(db, r, row, col, &v);
    if (st == SC_OK && (v < INT32_MIN || v > INT32_MAX)) {
        sc_seterr(db->errstr, sizeof(db->errstr), "integer out of range in column %d", col);
        return SC_EPROTO;
    }
    *out = (int)v;
    return st;
}

static int col_bool(const PGresult *r, int row, int col)
{
    return !PQgetisnull(r, row, col) && PQgetvalue(r, row, col)[0] == 't';
}

static void col_str(const PGresult *r, int row, int col, char *dst, size_t cap)
{
    snprintf(dst, cap, "%s", PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col));
}

/* ---- the one-row lookup ---- */

/* How db_one reads row 0 of a result into out. */
typedef sc_status (*db_row_fn)(sc_db *db, const PGresult *r, void *out);

static sc_status read_u64(sc_db *db, const PGresult *r, void *out)
{
    return col_u64(db, r, 0, 0, out);
}

static sc_status read_i64(sc_db *db, const PGresult *r, void *out)
{
    return col_i64(db, r, 0, 0, out);
}

/* Run statement st and read its first row with read into out: SC_OK, the
 * db_run or read status, or SC_ENOTFOUND when no row came back - with the
 * reason formatted from fmt, or (fmt NULL) errstr untouched for a caller
 * that works out why itself. */
static sc_status db_one(sc_db *db, enum stmt_id st, const char *const *params, db_row_fn read,
                        void *out, const char *fmt, ...) SC_PRINTF(6, 7);
static sc_status db_one(sc_db *db, enum stmt_id st, const char *const *params, db_row_fn read,
                        void *out, const char *fmt, ...)
{
    PGresult *r = NULL;
    sc_status rc = db_run(db, st, params, &r);
    if (rc == SC_OK && PQntuples(r) > 0) {
        rc = read(db, r, out);
    } else if (rc == SC_OK) {
        rc = SC_ENOTFOUND;
        if (fmt != NULL) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(db->errstr, sizeof(db->errstr), fmt, ap);
            va_end(ap);
        }
    }
    PQclear(r);
    return rc;
}

/* Every row's column 0 as ids; *out malloc'd or NULL when no rows. */
static sc_status rows_to_ids(sc_db *db, const PGresult *r, uint64_t **out, size_t *n)
{
    int rows = PQntuples(r);
    uint64_t *ids = NULL;
    *out = NULL;
    *n = 0;
    if (rows == 0)
        return SC_OK;
    ids = malloc((size_t)rows * sizeof(*ids));
    if (ids == NULL) {
        sc_seterr(db->errstr, sizeof(db->errstr), "out of memory");
        return SC_ENOMEM;
    }
    for (int i = 0; i < rows; i++) {
        if (col_u64(db, r, i, 0, &ids[i]) != SC_OK) {
            free(ids);
            return SC_EPROTO;
        }
    }
    *out = ids;
    *n = (size_t)rows;
    return SC_OK;
}

/* "1,2,3" (array_to_string) into a malloc'd array. */
static sc_status parse_id_list(sc_db *db, const char *s, uint64_t **out, size_t *n)
{
    size_t count = 1, k = 0;
    uint64_t *ids;
    *out = NULL;
    *n = 0;
    if (s == NULL || *s == '\0')
        return SC_OK;
    for (const char *p = s; *p != '\0'; p++)
        count += *p == ',';
    ids = malloc(count * sizeof(*ids));
    if (ids == NULL)
        return SC_ENOMEM;
    while (*s != '\0') {
        char tok[24];
        size_t len = strcspn(s, ",");
        if (len == 0 || len >= sizeof(tok))
            goto bad;
        memcpy(tok, s, len);
        tok[len] = '\0';
        if (sc_parse_u64(tok, &ids[k]) != SC_OK)
            goto bad;
        k++;
        s += len;
        if (*s == ',')
            s++;
    }
    *out = ids;
    *n = k;
    return SC_OK;
bad:
    free(ids);
    sc_seterr(db->errstr, sizeof(db->errstr), "bad id list from server");
    return SC_EPROTO;
}

static char *json_dup_str(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) && v->valuestring != NULL ? strdup(v->valuestring) : NULL;
}

static sc_status parse_attachments(sc_db *db, const char *text, sc_message *m)
{
    cJSON *arr = cJSON_Parse(text);
    int n;
    sc_status st = SC_OK;
    if (!cJSON_IsArray(arr)) {
        cJSON_Delete(arr);
        sc_seterr(db->errstr, sizeof(db->errstr), "attachments is not a JSON array");
        return SC_EPROTO;
    }
    n = cJSON_GetArraySize(arr);
    if (n > 0) {
        m->attachments = calloc((size_t)n, sizeof(*m->attachments));
        if (m->attachments == NULL) {
            st = SC_ENOMEM;
            goto out;
        }
    }
    for (int i = 0; i < n; i++) {
        const cJSON *o = cJSON_GetArrayItem(arr, i);
        const cJSON *size = cJSON_GetObjectItemCaseSensitive(o, "size");
        sc_attachment *a = &m->attachments[m->n_attachments++];
        a->filename = json_dup_str(o, "filename");
        if (a->filename == NULL)
            a->filename = strdup("");
        a->content_type = json_dup_str(o, "content_type");
        a->size = cJSON_IsNumber(size) ? sc_u64_from_double(size->valuedouble) : 0;
        if (a->filename == NULL) {
            st = SC_ENOMEM;
            goto out;
        }
    }
out:
    cJSON_Delete(arr);
    if (st == SC_ENOMEM)
        sc_seterr(db->errstr, sizeof(db->errstr), "out of memory");
    return st;
}

static sc_status parse_embeds(sc_db *db, const char *text, sc_message *m)
{
    cJSON *arr = cJSON_Parse(text);
    int n;
    if (!cJSON_IsArray(arr)) {
        cJSON_Delete(arr);
        sc_seterr(db->errstr, sizeof(db->errstr), "embeds is not a JSON array");
        return SC_EPROTO;
    }
    n = cJSON_GetArraySize(arr);
    if (n > 0) {
        m->embeds = calloc((size_t)n, sizeof(*m->embeds));
        if (m->embeds == NULL) {
            cJSON_Delete(arr);
            sc_seterr(db->errstr, sizeof(db->errstr), "out of memory");
            return SC_ENOMEM;
        }
    }
    for (int i = 0; i < n; i++) {
        const cJSON *o = cJSON_GetArrayItem(arr, i);
        sc_embed *e = &m->embeds[m->n_embeds++];
        e->type = json_dup_str(o, "type");
        e->provider = json_dup_str(o, "provider");
        e->url = json_dup_str(o, "url");
    }
    cJSON_Delete(arr);
    return SC_OK;
}

/* Row i of a MSG_COLS result into *m (zeroed first). On error *m is cleared. */
static sc_status row_to_message(sc_db *db, const PGresult *r, int i, sc_message *m)
{
    sc_status st;
    memset(m, 0, sizeof(*m));
    if ((st = col_u64(db, r, i, 0, &m->id)) != SC_OK ||
        (st = col_u64(db, r, i, 1, &m->channel_id)) != SC_OK ||
        (st = col_u64(db, r, i, 2, &m->guild_id)) != SC_OK ||
        (st = col_u64(db, r, i, 3, &m->author_id)) != SC_OK)
        goto fail;
    if (sc_author_type_parse(PQgetvalue(r, i, 4), &m->author_type) != SC_OK) {
        sc_seterr(db->errstr, sizeof(db->errstr), "bad author_type '%s'", PQgetvalue(r, i, 4));
        st = SC_EPROTO;
        goto fail;
    }
    m->content = strdup(PQgetvalue(r, i, 5));
    if (m->content == NULL) {
        st = SC_ENOMEM;
        goto fail;
    }
    if ((st = parse_id_list(db, PQgetvalue(r, i, 6), &m->mentions, &m->n_mentions)) != SC_OK)
        goto fail;
    m->mention_everyone = col_bool(r, i, 7);
    if ((st = parse_attachments(db, PQgetvalue(r, i, 8), m)) != SC_OK ||
        (st = parse_embeds(db, PQgetvalue(r, i, 9), m)) != SC_OK ||
        (st = parse_id_list(db, PQgetvalue(r, i, 10), &m->sticker_ids, &m->n_stickers)) != SC_OK)
        goto fail;
    m->pinned = col_bool(r, i, 11);
    if ((st = col_i64(db, r, i, 12, &m->version)) != SC_OK)
        goto fail;
    m->deleted = col_bool(r, i, 13);
    return SC_OK;
fail:
    if (st == SC_ENOMEM)
        sc_seterr(db->errstr, sizeof(db->errstr), "out of memory");
    sc_message_clear(m);
    return st;
}

/* Every row of a MSG_COLS result into a malloc'd array. */
static sc_status rows_to_messages(sc_db *db, const PGresult *r, sc_message **out, size_t *nout)
{
    int rows = PQntuples(r);
    sc_message *msgs;
    if (rows == 0)
        return SC_OK;
    msgs = calloc((size_t)rows, sizeof(*msgs));
    if (msgs == NULL) {
        sc_seterr(db->errstr, sizeof(db->errstr), "out of memory");
        return SC_ENOMEM;
    }
    for (int i = 0; i < rows; i++) {
        sc_status st = row_to_message(db, r, i, &msgs[i]);
        if (st != SC_OK) {
            for (int k = 0; k < i; k++)
                sc_message_clear(&msgs[k]);
            free(msgs);
            return st;
        }
    }
    *out = msgs;
    *nout = (size_t)rows;
    return SC_OK;
}

/* ---- chat side ---- */

static sc_status attachments_json(const sc_message *m, char **out)
{
    cJSON *arr = cJSON_CreateArray();
    if (arr == NULL)
        return SC_ENOMEM;
    for (size_t i = 0; i < m->n_attachments; i++) {
        const sc_attachment *a = &m->attachments[i];
        cJSON *o = cJSON_CreateObject();
        if (o == NULL || !cJSON_AddItemToArray(arr, o) ||
            cJSON_AddStringToObject(o, "filename", a->filename != NULL ? a->filename : "") ==
                NULL ||
            (a->content_type != NULL &&
             cJSON_AddStringToObject(o, "content_type", a->content_type) == NULL) ||
            cJSON_AddNumberToObject(o, "size", (double)a->size) == NULL) {
            cJSON_Delete(arr);
            return SC_ENOMEM;
        }
    }
    *out = cJSON_PrintUnformatted(arr);
    cJSON_Delete(arr);
    return *out != NULL ? SC_OK : SC_ENOMEM;
}

static sc_status embeds_json(const sc_message *m, char **out)
{
    cJSON *arr = cJSON_CreateArray();
    if (arr == NULL)
        return SC_ENOMEM;
    for (size_t i = 0; i < m->n_embeds; i++) {
        const sc_embed *e = &m->embeds[i];
        cJSON *o = cJSON_CreateObject();
        if (o == NULL || !cJSON_AddItemToArray(arr, o) ||
            (e->type != NULL && cJSON_AddStringToObject(o, "type", e->type) == NULL) ||
            (e->provider != NULL && cJSON_AddStringToObject(o, "provider", e->provider) == NULL) ||
            (e->url != NULL && cJSON_AddStringToObject(o, "url", e->url) == NULL)) {
            cJSON_Delete(arr);
            return SC_ENOMEM;
        }
    }
    *out = cJSON_PrintUnformatted(arr);
    cJSON_Delete(arr);
    return *out != NULL ? SC_OK : SC_ENOMEM;
}

sc_status sc_db_upsert_message(sc_db *db, const sc_message *m)
{
    idbuf id, ch, g, au, ver;
    sc_buf mentions, stickers;
    char *att = NULL, *emb = NULL;
    const char *p[14];
    PGresult *r = NULL;
    sc_status st;

    if (m == NULL || m->id == 0 || m->channel_id == 0 || m->version <= 0) {
        sc_seterr(db->errstr, sizeof(db->errstr), "message needs id, channel_id and version > 0");
        return SC_EINVAL;
    }
    sc_buf_init(&mentions, 0);
    sc_buf_init(&stickers, 0);
    if (m->deleted) {
        /* A tombstone keeps its identity, not its content. */
        static const sc_message empty;
        if (id_array(&mentions, NULL, 0) != SC_OK || id_array(&stickers, NULL, 0) != SC_OK ||
            attachments_json(&empty, &att) != SC_OK || embeds_json(&empty, &emb) != SC_OK) {
            st = SC_ENOMEM;
            goto out;
        }
    } else if (id_array(&mentions, m->mentions, m->n_mentions) != SC_OK ||
               id_array(&stickers, m->sticker_ids, m->n_stickers) != SC_OK ||
               attachments_json(m, &att) != SC_OK || embeds_json(m, &emb) != SC_OK) {
        st = SC_ENOMEM;
        goto out;
    }
    p[0] = u64s(&id, m->id);
    p[1] = u64s(&ch, m->channel_id);
    p[2] = u64s(&g, m->guild_id);
    p[3] = u64s(&au, m->author_id);
    p[4] = sc_author_type_str(m->author_type);
    p[5] = m->deleted || m->content == NULL ? "" : m->content;
    p[6] = mentions.data;
    p[7] = m->mention_everyone && !m->deleted ? "t" : "f";
    p[8] = att;
    p[9] = emb;
    p[10] = stickers.data;
    p[11] = m->pinned && !m->deleted ? "t" : "f";
    p[12] = i64s(&ver, m->version);
    p[13] = m->deleted ? "t" : "f";
    st = db_run(db, ST_UPSERT_MESSAGE, p, &r);
    if (st == SC_OK && cmd_rows(r) == 0) {
        sc_seterr(db->errstr, sizeof(db->errstr),
                  "message %" PRIu64 ": stored version is newer or equal to %" PRId64, m->id,
                  m->version);
        st = SC_ECONFLICT;
    }
out:
    if (st == SC_ENOMEM)
        sc_seterr(db->errstr, sizeof(db->errstr), "out of memory");
    PQclear(r);
    cJSON_free(att);
    cJSON_free(emb);
    sc_buf_free(&mentions);
    sc_buf_free(&stickers);
    return st;
}

sc_status sc_db_upsert_user(sc_db *db, uint64_t id, const char *name)
{
    idbuf a;
    const char *p[2] = {u64s(&a, id), name != NULL ? name : ""};
    return db_run(db, ST_UPSERT_USER, p, NULL);
}

sc_status sc_db_upsert_guild(sc_db *db, uint64_t id, const char *name, uint64_t owner_id)
{
    idbuf a, b;
    const char *p[3] = {u64s(&a, id), name != NULL ? name : "", u64s(&b, owner_id)};
    return db_run(db, ST_UPSERT_GUILD, p, NULL);
}

sc_status sc_db_upsert_channel(sc_db *db, uint64_t id, uint64_t guild_id, const char *name,
                               const char *kind, const char *visibility)
{
    idbuf a, b;
    const char *p[5] = {u64s(&a, id), u64s(&b, guild_id), name != NULL ? name : "",
                        kind != NULL ? kind : (guild_id == 0 ? "dm" : "text"),
                        visibility != NULL ? visibility : "public"};
    return db_run(db, ST_UPSERT_CHANNEL, p, NULL);
}

sc_status sc_db_upsert_member(sc_db *db, uint64_t guild_id, uint64_t user_id)
{
    idbuf a, b;
    const char *p[2] = {u64s(&a, guild_id), u64s(&b, user_id)};
    return db_run(db, ST_UPSERT_MEMBER, p, NULL);
}

sc_status sc_db_set_channel_access(sc_db *db, uint64_t channel_id, uint64_t user_id,
                                   sc_channel_access access)
{
    idbuf a, b, c;
    const char *p[3];
    if (access != SC_ACCESS_DEFAULT && access != SC_ACCESS_MEMBER && access != SC_ACCESS_DENY) {
        sc_seterr(db->errstr, sizeof(db->errstr), "bad channel access %d", (int)access);
        return SC_EINVAL;
    }
    p[0] = u64s(&a, channel_id);
    p[1] = u64s(&b, user_id);
    p[2] = i64s(&c, (int64_t)access);
    return db_run(db, ST_CHANNEL_ACCESS, p, NULL);
}

/* ---- hydration ---- */

sc_status sc_db_fetch_messages(sc_db *db, const uint64_t *ids, size_t n, sc_message **out,
                               size_t *nout)
{
    return sc_db_fetch_messages_ex(db, ids, n, out, nout, NULL);
}

sc_status sc_db_fetch_messages_ex(sc_db *db, const uint64_t *ids, size_t n, sc_message **out,
                                  size_t *nout, int64_t **edited_ms)
{
    sc_buf arr;
    const char *p[1];
    PGresult *r = NULL;
    int64_t *ed = NULL;
    sc_status st;

    *out = NULL;
    *nout = 0;
    if (edited_ms != NULL)
        *edited_ms = NULL;
    if (n == 0)
        return SC_OK;
    if (id_array_param(db, &arr, ids, n) != SC_OK) {
        sc_buf_free(&arr);
        return SC_ENOMEM;
    }
    p[0] = arr.data;
    st = db_run(db, ST_FETCH_MESSAGES_EX, p, &r);
    sc_buf_free(&arr);
    if (st == SC_OK && edited_ms != NULL && PQntuples(r) > 0) {
        int rows = PQntuples(r);
        ed = calloc((size_t)rows, sizeof(*ed));
        if (ed == NULL) {
            sc_seterr(db->errstr, sizeof(db->errstr), "out of memory");
            st = SC_ENOMEM;
        }
        for (int i = 0; st == SC_OK && i < rows; i++)
            st = col_i64(db, r, i, 14, &ed[i]);
    }
    if (st == SC_OK)
        st = rows_to_messages(db, r, out, nout);
    PQclear(r);
    if (st != SC_OK) {
        free(ed);
        return st;
    }
    if (edited_ms != NULL)
        *edited_ms = ed;
    return SC_OK;
}

/* ---- permissions ---- */

sc_status sc_db_readable_channels(sc_db *db, uint64_t user_id, uint64_t guild_id,
                                  const uint64_t *candidates, size_t n_candidates, uint64_t **out,
                                  size_t *nout)
{
    idbuf u, g;
    sc_buf arr;
    const char *p[3];
    PGresult *r = NULL;
    sc_status st;

    *out = NULL;
    *nout = 0;
    sc_buf_init(&arr, 0);
    p[0] = u64s(&u, user_id);
    if (n_candidates > 0) {
        if (id_array(&arr, candidates, n_candidates) != SC_OK) {
            sc_buf_free(&arr);
            sc_seterr(db->errstr, sizeof(db->errstr), "out of memory");
            return SC_ENOMEM;
        }
        p[1] = arr.data;
        p[2] = u64s(&g, guild_id);
        st = db_run(db, ST_READABLE_CANDIDATES, p, &r);
    } else if (guild_id != 0) {
        p[1] = u64s(&g, guild_id);
        st = db_run(db, ST_READABLE_GUILD, p, &r);
    } else {
        st = db_run(db, ST_READABLE_ALL, p, &r);
    }
    sc_buf_free(&arr);
    if (st == SC_OK)
        st = rows_to_ids(db, r, out, nout);
    PQclear(r);
    return st;
}

sc_status sc_db_channel_guild(sc_db *db, uint64_t channel_id, uint64_t *guild_id)
{
    idbuf a;
    const char *p[1] = {u64s(&a, channel_id)};
    return db_one(db, ST_CHANNEL_GUILD, p, read_u64, guild_id, "channel %" PRIu64 " not found",
                  channel_id);
}

sc_status sc_db_guild_channels(sc_db *db, uint64_t guild_id, uint64_t **ids, size_t *n)
{
    idbuf a;
    const char *p[1] = {u64s(&a, guild_id)};
    PGresult *r = NULL;
    sc_status st;
    *ids = NULL;
    *n = 0;
    st = db_run(db, ST_GUILD_CHANNELS, p, &r);
    if (st == SC_OK)
        st = rows_to_ids(db, r, ids, n);
    PQclear(r);
    return st;
}

/* ---- reindex reading ---- */

/* Run a keyset page statement (limit 1..10000) into messages. */
static sc_status run_page(sc_db *db, enum stmt_id stmt, const char *const *p, int limit,
                          sc_message **out, size_t *n)
{
    PGresult *r = NULL;
    sc_status st;
    *out = NULL;
    *n = 0;
    if (limit < 1 || limit > 10000) {
        sc_seterr(db->errstr, sizeof(db->errstr), "page limit %d outside 1..10000", limit);
        return SC_EINVAL;
    }
    st = db_run(db, stmt, p, &r);
    if (st == SC_OK)
        st = rows_to_messages(db, r, out, n);
    PQclear(r);
    return st;
}

sc_status sc_db_page_messages(sc_db *db, uint64_t channel_id, uint64_t after_id, uint64_t before_id,
                              int limit, sc_message **out, size_t *n)
{
    idbuf a, b, c, d;
    const char *p[4];

    p[0] = u64s(&a, channel_id);
    p[1] = u64s(&b, after_id);
    p[2] = before_id != 0 ? u64s(&c, before_id) : i64s(&c, INT64_MAX);
    p[3] = i64s(&d, limit);
    return run_page(db, ST_PAGE_MESSAGES, p, limit, out, n);
}

sc_status sc_db_page_messages_desc(sc_db *db, uint64_t channel_id, uint64_t before_id, int limit,
                                   sc_message **out, size_t *n)
{
    idbuf a, b, c;
    const char *p[3];

    p[0] = u64s(&a, channel_id);
    p[1] = before_id != 0 ? u64s(&b, before_id) : i64s(&b, INT64_MAX);
    p[2] = i64s(&c, limit);
    return run_page(db, ST_PAGE_MESSAGES_DESC, p, limit, out, n);
}

sc_status sc_db_count_messages(sc_db *db, uint64_t channel_id, uint64_t min_id, int64_t *count)
{
    idbuf a, b;
    const char *p[2] = {u64s(&a, channel_id), u64s(&b, min_id)};
    return db_one(db, ST_COUNT_MESSAGES, p, read_i64, count, "count of channel %" PRIu64 ": no row",
                  channel_id);
}

/* ---- verify ---- */

sc_status sc_db_verify_buckets(sc_db *db, uint64_t channel_id, const uint64_t *bounds, size_t k,
                               int64_t *counts, uint64_t *sums)
{
    idbuf a, lo, hi;
    sc_buf arr;
    const char *p[4];
    PGresult *r = NULL;
    sc_status st;
    int i, n;
    if (k == 0 || bounds == NULL || counts == NULL || sums == NULL) {
        sc_seterr(db->errstr, sizeof(db->errstr), "verify buckets: no buckets");
        return SC_EINVAL;
    }
    for (size_t j = 0; j < k; j++) {
        counts[j] = 0;
        sums[j] = 0;
        if (bounds[j] >= bounds[j + 1] || bounds[j + 1] > (uint64_t)INT64_MAX) {
            sc_seterr(db->errstr, sizeof(db->errstr), "verify buckets: bounds not increasing");
            return SC_EINVAL;
        }
    }
    sc_buf_init(&arr, 0);
    if (id_array(&arr, bounds, k + 1) != SC_OK) {
        sc_buf_free(&arr);
        return SC_ENOMEM;
    }
    p[0] = u64s(&a, channel_id);
    p[1] = arr.data;
    p[2] = u64s(&lo, bounds[0]);
    p[3] = u64s(&hi, bounds[k]);
    st = db_run(db, ST_VERIFY_BUCKETS, p, &r);
    sc_buf_free(&arr);
    if (st != SC_OK) {
        PQclear(r);
        return st;
    }
    n = PQntuples(r);
    for (i = 0; i < n && st == SC_OK; i++) {
        int64_t b = 0, c = 0;
        uint64_t sum = 0;
        if ((st = col_i64(db, r, i, 0, &b)) != SC_OK || (st = col_i64(db, r, i, 1, &c)) != SC_OK ||
            (st = col_u64(db, r, i, 2, &sum)) != SC_OK)
            break;
        if (b < 0 || (size_t)b >= k) {
            sc_seterr(db->errstr, sizeof(db->errstr),
                      "verify buckets: bucket %" PRId64 " out of range", b);
            st = SC_EPROTO;
            break;
        }
        counts[b] = c;
        sums[b] = sum;
    }
    PQclear(r);
    return st;
}

sc_status sc_db_verify_mark(sc_db *db, uint64_t channel_id, const char *result, int64_t drift_docs,
                            const char *error)
{
    idbuf a, d;
    const char *p[4] = {u64s(&a, channel_id), result, i64s(&d, drift_docs),
                        error != NULL && *error ? error : NULL};
    PGresult *r = NULL;
    sc_status st;
    if (result == NULL) {
        sc_seterr(db->errstr, sizeof(db->errstr), "verify mark: no result");
        return SC_EINVAL;
    }
    st = db_run(db, ST_VERIFY_MARK, p, &r);
    PQclear(r);
    return st;
}

sc_status sc_db_verify_next(sc_db *db, const char *const *clusters, size_t nclusters, int limit,
                            int claim_s, uint64_t **channels, size_t *n)
{
    idbuf l, c;
    sc_buf arr;
    const char *p[3];
    PGresult *r = NULL;
    sc_status st = SC_OK;
    size_t i;
    *channels = NULL;
    *n = 0;
    sc_buf_init(&arr, 0);
    /* a text[] literal: names are [A-Za-z0-9._-] (sc_cluster_name_ok), quoted anyway */
    if (sc_buf_puts(&arr, "{") != SC_OK)
        st = SC_ENOMEM;
    for (i = 0; st == SC_OK && i < nclusters; i++) {
        if (strpbrk(clusters[i], "\"\\{},") != NULL) {
            sc_seterr(db->errstr, sizeof(db->errstr), "verify next: bad cluster name");
            st = SC_EINVAL;
        } else if (sc_buf_printf(&arr, "%s\"%s\"", i ? "," : "", clusters[i]) != SC_OK) {
            st = SC_ENOMEM;
        }
    }
    if (st == SC_OK && sc_buf_puts(&arr, "}") != SC_OK)
        st = SC_ENOMEM;
    if (st != SC_OK) {
        sc_buf_free(&arr);
        return st;
    }
    p[0] = i64s(&l, limit);
    p[1] = arr.data;
    p[2] = i64s(&c, claim_s);
    st = db_run(db, ST_VERIFY_NEXT, p, &r);
    sc_buf_free(&arr);
    if (st == SC_OK)
        st = rows_to_ids(db, r, channels, n);
    PQclear(r);
    return st;
}

sc_status sc_db_verify_progress(sc_db *db, int64_t window_s, sc_verify_progress *out)
{
    idbuf w;
    const char *p[1] = {i64s(&w, window_s)};
    PGresult *r = NULL;
    sc_status st;
    memset(out, 0, sizeof *out);
    st = db_run(db, ST_VERIFY_PROGRESS, p, &r);
    if (st == SC_OK) {
        int64_t *cols[7] = {&out->channels,     &out->verified_ever, &out->verified_recent,
                            &out->drift_recent, &out->errors,        &out->oldest_ms,
                            &out->newest_ms};
        for (int c = 0; c < 7 && st == SC_OK; c++)
            st = col_i64(db, r, 0, c, cols[c]);
    }
    PQclear(r);
    return st;
}

/* ---- bindings ---- */

static sc_status row_to_binding(sc_db *db, const PGresult *r, int i, sc_binding *b)
{
    memset(b, 0, sizeof(*b));
    if (col_u64(db, r, i, 0, &b->channel_id) != SC_OK)
        return SC_EPROTO;
    col_str(r, i, 1, b->cluster, sizeof(b->cluster));
    col_str(r, i, 2, b->index, sizeof(b->index));
    if (sc_binding_state_parse(PQgetvalue(r, i, 3), &b->state) != SC_OK) {
        sc_seterr(db->errstr, sizeof(db->errstr),
                  "binding of channel %" PRIu64 ": unknown state '%.32s'", b->channel_id,
                  PQgetvalue(r, i, 3));
        return SC_EPROTO;
    }
    col_str(r, i, 4, b->prev_cluster, sizeof(b->prev_cluster));
    col_str(r, i, 5, b->prev_index, sizeof(b->prev_index));
    if (col_u64(db, r, i, 7, &b->history_from) != SC_OK)
        return SC_EPROTO;
    return col_int(db, r, i, 6, &b->generation);
}

static sc_status read_binding(sc_db *db, const PGresult *r, void *out)
{
    return row_to_binding(db, r, 0, out);
}

/* cluster/index must fit sc_binding's fields so a read-back is exact. */
static sc_status check_binding_args(sc_db *db, const char *cluster, const char *index,
                                    sc_binding_state state)
{
    sc_binding b;
    if (cluster == NULL || *cluster == '\0' || strlen(cluster) >= sizeof(b.cluster) ||
        index == NULL || *index == '\0' || strlen(index) >= sizeof(b.index) ||
        !sc_binding_state_valid(state)) {
        sc_seterr(db->errstr, sizeof(db->errstr),
                  "binding: empty or too long cluster/index, or bad state");
        return SC_EINVAL;
    }
    return SC_OK;
}

sc_status sc_db_binding_get(sc_db *db, uint64_t channel_id, sc_binding *out)
{
    idbuf a;
    const char *p[1] = {u64s(&a, channel_id)};
    return db_one(db, ST_BINDING_GET, p, read_binding, out, "channel %" PRIu64 " has no binding",
                  channel_id);
}

sc_status sc_db_binding_insert_if_absent(sc_db *db, uint64_t channel_id, const char *cluster,
                                         const char *index, sc_binding_state state,
                                         sc_binding *winner)
{
    idbuf a;
    const char *p[4];
    sc_status st = check_binding_args(db, cluster, index, state);
    if (st != SC_OK)
        return st;
    p[0] = u64s(&a, channel_id);
    p[1] = cluster;
    p[2] = index;
    p[3] = sc_binding_state_str(state);
    /* Two statements on purpose: the SELECT takes a fresh snapshot, so it
     * sees a racer's row that our ON CONFLICT waited for. */
    if ((st = db_run(db, ST_BINDING_INSERT, p, NULL)) != SC_OK)
        return st;
    st = sc_db_binding_get(db, channel_id, winner);
    if (st == SC_ENOTFOUND) {
        sc_seterr(db->errstr, sizeof(db->errstr),
                  "binding of channel %" PRIu64 " vanished right after insert", channel_id);
        st = SC_ECONFLICT;
    }
    return st;
}

/* Run compare-and-set statement `which` (params p, p[0] = the channel id)
 * and read back the row: SC_ECONFLICT on a stale generation, SC_ENOTFOUND
 * when the channel has no binding. */
static sc_status binding_cas(sc_db *db, int which, const char *const *p, uint64_t channel_id,
                             int expected_generation, sc_binding *out)
{
    sc_binding tmp;
    sc_status st = db_one(db, which, p, read_binding, out != NULL ? out : &tmp, NULL);
    if (st != SC_ENOTFOUND)
        return st;
    /* nothing updated: no binding, or a stale generation */
    st = db_one(db, ST_BINDING_EXISTS, p, read_u64, &tmp.channel_id,
                "channel %" PRIu64 " has no binding", channel_id);
    if (st == SC_OK) {
        sc_seterr(db->errstr, sizeof(db->errstr),
                  "binding of channel %" PRIu64 " changed: generation is no longer %d", channel_id,
                  expected_generation);
        st = SC_ECONFLICT;
    }
    return st;
}

sc_status sc_db_binding_update(sc_db *db, uint64_t channel_id, const char *cluster,
                               const char *index, sc_binding_state state, int expected_generation,
                               sc_binding *out)
{
    idbuf a, g;
    const char *p[5];
    sc_status st = check_binding_args(db, cluster, index, state);
    if (st != SC_OK)
        return st;
    p[0] = u64s(&a, channel_id);
    p[1] = cluster;
    p[2] = index;
    p[3] = sc_binding_state_str(state);
    p[4] = i64s(&g, expected_generation);
    return binding_cas(db, ST_BINDING_UPDATE, p, channel_id, expected_generation, out);
}

sc_status sc_db_binding_set_history(sc_db *db, uint64_t channel_id, uint64_t history_from,
                                    int expected_generation, sc_binding *out)
{
    idbuf a, h, g;
    const char *p[3];
    if (history_from > INT64_MAX) {
        sc_seterr(db->errstr, sizeof(db->errstr), "binding: history_from out of range");
        return SC_EINVAL;
    }
    p[0] = u64s(&a, channel_id);
    p[1] = u64s(&h, history_from);
    p[2] = i64s(&g, expected_generation);
    return binding_cas(db, ST_BINDING_SET_HISTORY, p, channel_id, expected_generation, out);
}

sc_status sc_db_bindings_on_cluster(sc_db *db, const char *cluster, uint64_t **channels, size_t *n)
{
    const char *p[1] = {cluster};
    PGresult *r = NULL;
    sc_status st;
    *channels = NULL;
    *n = 0;
    if (cluster == NULL) {
        sc_seterr(db->errstr, sizeof(db->errstr), "cluster is NULL");
        return SC_EINVAL;
    }
    st = db_run(db, ST_BINDINGS_ON_CLUSTER, p, &r);
    if (st == SC_OK)
        st = rows_to_ids(db, r, channels, n);
    PQclear(r);
    return st;
}

sc_status sc_db_binding_counts(sc_db *db, sc_cluster_count **out, size_t *n)
{
    PGresult *r = NULL;
    sc_cluster_count *cc = NULL;
    int rows;
    sc_status st;
    *out = NULL;
    *n = 0;
    st = db_run(db, ST_BINDING_COUNTS, NULL, &r);
    if (st != SC_OK)
        return st;
    rows = PQntuples(r);
    if (rows > 0 && (cc = calloc((size_t)rows, sizeof(*cc))) == NULL) {
        sc_seterr(db->errstr, sizeof(db->errstr), "out of memory");
        st = SC_ENOMEM;
    }
    for (int i = 0; st == SC_OK && i < rows; i++) {
        col_str(r, i, 0, cc[i].cluster, sizeof(cc[i].cluster));
        if (col_i64(db, r, i, 1, &cc[i].total) != SC_OK ||
            col_i64(db, r, i, 2, &cc[i].active) != SC_OK ||
            col_i64(db, r, i, 3, &cc[i].building) != SC_OK ||
            col_i64(db, r, i, 4, &cc[i].moving) != SC_OK)
            st = SC_EPROTO;
    }
    PQclear(r);
    if (st != SC_OK) {
        free(cc);
        return st;
    }
    *out = cc;
    *n = (size_t)rows;
    return SC_OK;
}

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
    return db_one(db, ST_JOB_CREATE, p, read_i64, id, "job create returned no id");
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
    return db_one(db, ST_JOB_CLAIM, p, read_job, out, "no claimable job");
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
    sc_status st = db_run(db, ST_JOB_CHECKPOINT, p, &r);
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
    sc_status st = db_run(db, ST_JOB_PROGRESS, p, &r);
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
    st = db_run(db, ST_JOB_FINISH, p, &r);
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
    return db_one(db, ST_JOB_GET, p, read_job, out, "job %" PRId64 " not found", job_id);
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
    st = db_run(db, ST_JOB_CHANNELS_ADD, p, NULL);
    sc_buf_free(&arr);
    return st;
}

sc_status sc_db_job_channel_set(sc_db *db, int64_t job_id, const sc_job_channel *c)
{
    idbuf a, b, ph, cp;
    const char *p[5] = {i64s(&a, job_id), u64s(&b, c->channel_id), i64s(&ph, c->phase),
                        u64s(&cp, c->checkpoint_id), c->done ? "t" : "f"};
    return db_run(db, ST_JOB_CHANNEL_SET, p, NULL);
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
    st = db_run(db, ST_JOB_CHANNELS, p, &r);
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
    return db_one(db, ST_JOB_FOR_CHANNEL, p, read_job, out,
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
    st = db_run(db, ST_REBUILD_PROGRESS, p, &r);
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
    return db_run(db, ST_JOB_CHANNEL_TOTAL, p, NULL);
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
    st = db_one(db, ST_JOB_CLAIM_ID, p, read_job, out, NULL);
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
    st = db_run(db, ST_JOB_LIST, p, &r);
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

/* ---- for the other db_*.c files (db_int.h) ---- */

sc_status sc_db_sql_ids(sc_db *db, const char *sql, int nparams, const char *const *params,
                        uint64_t **out, size_t *n)
{
    const stmt_def d = {"", nparams, sql};
    PGresult *r = NULL;
    sc_status st;
    *out = NULL;
    *n = 0;
    st = db_exec(db, &d, -1, params, &r);
    if (st == SC_OK)
        st = rows_to_ids(db, r, out, n);
    PQclear(r);
    return st;
}
