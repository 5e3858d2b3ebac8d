/*
 * db_chat.c - the chat side's small tables (users, guilds, channels, guild
 * members, explicit channel access) and the readability rule of
 * schemas/postgres/README.md over them. See db.h for the contract.
 */
#include "db_int.h"

#include <inttypes.h>
#include <stdio.h>

#include <stdlib.h>
#include <string.h>

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

static const sc_db_stmt ST_UPSERT_USER = {
    "sc_upsert_user", 2,
    "INSERT INTO users (id, name) VALUES ($1::bigint, $2::text)"
    " ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name"};

static const sc_db_stmt ST_UPSERT_GUILD = {
    "sc_upsert_guild", 3,
    "INSERT INTO guilds (id, name, owner_id) VALUES ($1::bigint, $2::text,"
    " NULLIF($3::bigint, 0))"
    " ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, owner_id = EXCLUDED.owner_id"};

static const sc_db_stmt ST_UPSERT_CHANNEL = {
    "sc_upsert_channel", 5,
    "INSERT INTO channels (id, guild_id, name, kind, visibility)"
    " VALUES ($1::bigint, NULLIF($2::bigint, 0), $3::text, $4::text, $5::text)"
    " ON CONFLICT (id) DO UPDATE SET guild_id = EXCLUDED.guild_id, name = EXCLUDED.name,"
    " kind = EXCLUDED.kind, visibility = EXCLUDED.visibility"};

static const sc_db_stmt ST_UPSERT_MEMBER = {
    "sc_upsert_member", 2,
    "INSERT INTO guild_members (guild_id, user_id) VALUES ($1::bigint, $2::bigint)"
    " ON CONFLICT DO NOTHING"};

static const sc_db_stmt ST_CHANNEL_ACCESS = {
    "sc_channel_access", 3,
    "WITH dm AS (DELETE FROM channel_members WHERE channel_id = $1::bigint"
    "            AND user_id = $2::bigint AND $3::int <> 1),"
    " dd AS (DELETE FROM channel_denies WHERE channel_id = $1::bigint"
    "        AND user_id = $2::bigint AND $3::int <> 2),"
    " im AS (INSERT INTO channel_members (channel_id, user_id)"
    "        SELECT $1::bigint, $2::bigint WHERE $3::int = 1 ON CONFLICT DO NOTHING),"
    " idn AS (INSERT INTO channel_denies (channel_id, user_id)"
    "        SELECT $1::bigint, $2::bigint WHERE $3::int = 2 ON CONFLICT DO NOTHING)"
    " SELECT 1"};

static const sc_db_stmt ST_READABLE_CANDIDATES = {
    "sc_readable_candidates", 3,
    "SELECT c.id FROM channels c WHERE c.id = ANY($2::bigint[])"
    " AND ($3::bigint = 0 OR c.guild_id = $3::bigint) AND " READABLE_PRED " ORDER BY c.id"};

static const sc_db_stmt ST_READABLE_GUILD = {
    "sc_readable_guild", 2,
    "SELECT c.id FROM channels c WHERE c.guild_id = $2::bigint AND " READABLE_PRED
    " ORDER BY c.id"};

static const sc_db_stmt ST_READABLE_ALL = {
    "sc_readable_all", 1,
    "SELECT c.id FROM channels c"
    " WHERE (c.guild_id IN (SELECT guild_id FROM guild_members WHERE user_id = $1::bigint)"
    "  OR c.id IN (SELECT channel_id FROM channel_members WHERE user_id = $1::bigint))"
    " AND " READABLE_PRED " ORDER BY c.id"};

static const sc_db_stmt ST_CHANNEL_GUILD = {
    "sc_channel_guild", 1, "SELECT coalesce(guild_id, 0) FROM channels WHERE id = $1::bigint"};

static const sc_db_stmt ST_GUILD_CHANNELS = {
    "sc_guild_channels", 1, "SELECT id FROM channels WHERE guild_id = $1::bigint ORDER BY id"};

/* ---- chat side ---- */

sc_status sc_db_upsert_user(sc_db *db, uint64_t id, const char *name)
{
    idbuf a;
    const char *p[2] = {u64s(&a, id), name != NULL ? name : ""};
    return db_run(db, &ST_UPSERT_USER, p, NULL);
}

sc_status sc_db_upsert_guild(sc_db *db, uint64_t id, const char *name, uint64_t owner_id)
{
    idbuf a, b;
    const char *p[3] = {u64s(&a, id), name != NULL ? name : "", u64s(&b, owner_id)};
    return db_run(db, &ST_UPSERT_GUILD, p, NULL);
}

sc_status sc_db_upsert_channel(sc_db *db, uint64_t id, uint64_t guild_id, const char *name,
                               const char *kind, const char *visibility)
{
    idbuf a, b;
    const char *p[5] = {u64s(&a, id), u64s(&b, guild_id), name != NULL ? name : "",
                        kind != NULL ? kind : (guild_id == 0 ? "dm" : "text"),
                        visibility != NULL ? visibility : "public"};
    return db_run(db, &ST_UPSERT_CHANNEL, p, NULL);
}

sc_status sc_db_upsert_member(sc_db *db, uint64_t guild_id, uint64_t user_id)
{
    idbuf a, b;
    const char *p[2] = {u64s(&a, guild_id), u64s(&b, user_id)};
    return db_run(db, &ST_UPSERT_MEMBER, p, NULL);
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
    return db_run(db, &ST_CHANNEL_ACCESS, p, NULL);
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
        if (id_array_param(db, &arr, candidates, n_candidates) != SC_OK) {
            sc_buf_free(&arr);
            return SC_ENOMEM;
        }
        p[1] = arr.data;
        p[2] = u64s(&g, guild_id);
        st = db_run(db, &ST_READABLE_CANDIDATES, p, &r);
    } else if (guild_id != 0) {
        p[1] = u64s(&g, guild_id);
        st = db_run(db, &ST_READABLE_GUILD, p, &r);
    } else {
        st = db_run(db, &ST_READABLE_ALL, p, &r);
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
    return db_one(db, &ST_CHANNEL_GUILD, p, read_u64, guild_id, "channel %" PRIu64 " not found",
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
    st = db_run(db, &ST_GUILD_CHANNELS, p, &r);
    if (st == SC_OK)
        st = rows_to_ids(db, r, ids, n);
    PQclear(r);
    return st;
}
